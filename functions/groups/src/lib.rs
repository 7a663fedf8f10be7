//! Groups (SPEC §4.6): `/api/v1/admin/groups`. Every tier manages the groups within its reach:
//! super_admin all, partner_admin its partner's tenants', tenant_admin its own tenant's.
//!
//! `handlers` (HTTP: validate → call → map), `wire` (request and response types),
//! `operations` (group rules), `members` (members, nesting without cycles, effective members),
//! `store` (items and transactions). What the users group needs (a user's groups) is in
//! `shared::membership`.

mod applications;
mod handlers;
pub mod members;
pub mod operations;
mod store;
mod wire;

use axum::Router;
use axum::routing::{delete, get};
use shared::AppState;
use utoipa::OpenApi;

use handlers::*;

pub use operations::ACTIONS;

const BASE: &str = "/api/v1/admin/groups";

#[derive(OpenApi)]
#[openapi(paths(
    list_groups,
    create_group,
    get_group,
    update_group,
    delete_group,
    list_group_members,
    add_group_member,
    remove_group_member,
    list_effective_members,
    list_group_applications
))]
pub struct GroupsApi;

pub fn routes() -> Router<AppState> {
    let router = shared::http::collection(Router::new(), BASE, get(list_groups).post(create_group));
    let router = shared::http::collection(
        router,
        &format!("{BASE}/{{group_id}}/members"),
        get(list_group_members).post(add_group_member),
    );
    router
        .route(
            &format!("{BASE}/{{group_id}}"),
            get(get_group).patch(update_group).delete(delete_group),
        )
        .route(
            &format!("{BASE}/{{group_id}}/members/{{member_id}}"),
            delete(remove_group_member),
        )
        .route(
            &format!("{BASE}/{{group_id}}/effective-members"),
            get(list_effective_members),
        )
        .route(
            &format!("{BASE}/{{group_id}}/applications"),
            get(list_group_applications),
        )
}

pub fn router(state: AppState) -> Router {
    shared::http::finish(routes(), state)
}
