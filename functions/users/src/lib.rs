//! Users (SPEC §4.4): `/api/v1/admin/users`. Every admin tier manages the users within its
//! reach: super admins all, partner admins those of their partner's tenants, tenant admins
//! their own tenant's.
//!
//! `handlers` (HTTP: validate → call → map), `wire` (request and response types),
//! `operations` (rules, with the session check), `store` (items and transactions; the CLI
//! creates its admins through `operations::create_as`).

mod applications;
mod groups;
mod handlers;
pub mod operations;
pub mod store;
mod wire;

use axum::Router;
use axum::routing::{get, post};
use shared::AppState;
use utoipa::OpenApi;

use handlers::*;

pub use operations::ACTIONS;

const BASE: &str = "/api/v1/admin/users";

#[derive(OpenApi)]
#[openapi(paths(
    list_users,
    create_user,
    get_user,
    update_user,
    delete_user,
    restore_user,
    reset_user_password,
    list_user_groups,
    list_user_applications
))]
pub struct UsersApi;

pub fn routes() -> Router<AppState> {
    let router = shared::http::collection(Router::new(), BASE, get(list_users).post(create_user));
    router
        .route(
            &format!("{BASE}/{{user_id}}"),
            get(get_user).patch(update_user).delete(delete_user),
        )
        .route(&format!("{BASE}/{{user_id}}/restore"), post(restore_user))
        .route(
            &format!("{BASE}/{{user_id}}/reset-password"),
            post(reset_user_password),
        )
        .route(&format!("{BASE}/{{user_id}}/groups"), get(list_user_groups))
        .route(
            &format!("{BASE}/{{user_id}}/applications"),
            get(list_user_applications),
        )
}

pub fn router(state: AppState) -> Router {
    shared::http::finish(routes(), state)
}
