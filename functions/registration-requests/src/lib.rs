//! Registration requests (SPEC §4.8): `/api/v1/admin/registration-requests` — an approval
//! queue for applications. Approval creates the application through `shared::applications`,
//! exactly as an admin create does, in one transaction with the decision.
//!
//! `handlers` (HTTP), `wire` (request and response types), `operations` (rules, decisions),
//! `store` (items and transactions).

mod handlers;
pub mod operations;
mod store;
mod wire;

use axum::Router;
use axum::routing::{get, post};
use shared::AppState;
use utoipa::OpenApi;

use handlers::*;

pub use operations::ACTIONS;

const BASE: &str = "/api/v1/admin/registration-requests";

#[derive(OpenApi)]
#[openapi(paths(
    list_requests,
    create_request,
    get_request,
    cancel_request,
    approve_request,
    reject_request
))]
pub struct RegistrationRequestsApi;

pub fn routes() -> Router<AppState> {
    shared::http::collection(Router::new(), BASE, get(list_requests).post(create_request))
        .route(
            &format!("{BASE}/{{request_id}}"),
            get(get_request).delete(cancel_request),
        )
        .route(
            &format!("{BASE}/{{request_id}}/approve"),
            post(approve_request),
        )
        .route(
            &format!("{BASE}/{{request_id}}/reject"),
            post(reject_request),
        )
}

pub fn router(state: AppState) -> Router {
    shared::http::finish(routes(), state)
}
