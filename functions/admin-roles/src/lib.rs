//! Admin roles (SPEC §4.5): `/api/v1/admin/admin-roles`. super_admin grants anything; a partner
//! admin grants and revokes TENANT_ADMIN for its own partner's tenants; tenant admins neither
//! grant nor read.
//!
//! `handlers` (HTTP: validate → call → map), `wire` (request and response types),
//! `operations` (rules, with the session check, and the stored grant the CLI reuses), `store`
//! (items and transactions).

mod handlers;
pub mod operations;
mod store;
mod wire;

use axum::Router;
use axum::routing::get;
use shared::AppState;
use utoipa::OpenApi;

use handlers::*;

pub use operations::ACTIONS;

const BASE: &str = "/api/v1/admin/admin-roles";

#[derive(OpenApi)]
#[openapi(paths(
    list_admin_roles,
    grant_admin_role,
    get_admin_role,
    revoke_admin_role,
    get_user_admin_roles
))]
pub struct AdminRolesApi;

pub fn routes() -> Router<AppState> {
    let router = shared::http::collection(
        Router::new(),
        BASE,
        get(list_admin_roles).post(grant_admin_role),
    );
    router
        .route(
            &format!("{BASE}/{{role_id}}"),
            get(get_admin_role).delete(revoke_admin_role),
        )
        .route(
            &format!("{BASE}/user/{{user_id}}"),
            get(get_user_admin_roles),
        )
}

pub fn router(state: AppState) -> Router {
    shared::http::finish(routes(), state)
}
