//! Applications (SPEC §4.7): `/api/v1/admin/applications` — OAuth clients at three levels
//! (GLOBAL, PARTNER, TENANT), each tier managing those within its reach.
//!
//! `handlers` (HTTP: validate → call → map), `wire` (request and response types),
//! `operations` (the tier rules and the lifecycle). What registration approval and the OAuth
//! token endpoint share with it is in the kernel: `shared::applications` (the create core, the
//! rules of redirect URIs, origins, scopes and grant types, the items and transactions),
//! `shared::client_secret`, `shared::hierarchy::Application`.

mod assignments;
mod handlers;
pub mod operations;
mod wire;

use axum::Router;
use axum::routing::{delete, get, post};
use shared::AppState;
use utoipa::OpenApi;

use handlers::*;

pub use operations::ACTIONS;

const BASE: &str = "/api/v1/admin/applications";

#[derive(OpenApi)]
#[openapi(paths(
    list_applications,
    create_application,
    get_application,
    update_application,
    delete_application,
    rotate_secret,
    list_assignments,
    create_assignment,
    delete_assignment,
    list_effective_users
))]
pub struct ApplicationsApi;

pub fn routes() -> Router<AppState> {
    shared::http::collection(
        Router::new(),
        BASE,
        get(list_applications).post(create_application),
    )
    .route(
        &format!("{BASE}/{{application_id}}"),
        get(get_application)
            .patch(update_application)
            .delete(delete_application),
    )
    .route(
        &format!("{BASE}/{{application_id}}/rotate-secret"),
        post(rotate_secret),
    )
    .route(
        &format!("{BASE}/{{application_id}}/assignments"),
        get(list_assignments).post(create_assignment),
    )
    .route(
        &format!("{BASE}/{{application_id}}/assignments/{{assignment_id}}"),
        delete(delete_assignment),
    )
    .route(
        &format!("{BASE}/{{application_id}}/effective-users"),
        get(list_effective_users),
    )
}

pub fn router(state: AppState) -> Router {
    shared::http::finish(routes(), state)
}
