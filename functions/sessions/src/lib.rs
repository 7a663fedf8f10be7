//! Admin sessions (SPEC §4.11): `/api/v1/admin/sessions`, the sessions admin-auth's login
//! creates. Every tier sees and revokes the sessions within its reach, as for the tenant they
//! belong to (a session's tenant is its holder's home tenant): super_admin all, partner_admin
//! its partner's tenants' (as they are now), tenant_admin its own tenant's.
//!
//! `handlers` (HTTP: validate → call → map), `wire` (request and response types),
//! `operations` (reach, lists, revocations), `store` (index queries and transactions). The
//! session items themselves are written by admin-auth (`session_item`: GSI1 per user, GSI2 per
//! tenant, GSI3 in 8 platform-wide shards); a revoked session is refused by the per-request
//! session check (`shared::session::check`) on its very next request.

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

const BASE: &str = "/api/v1/admin/sessions";

#[derive(OpenApi)]
#[openapi(paths(list_sessions, get_session, revoke_session, revoke_all_sessions))]
pub struct SessionsApi;

pub fn routes() -> Router<AppState> {
    let router = shared::http::collection(Router::new(), BASE, get(list_sessions));
    router
        .route(&format!("{BASE}/revoke-all"), post(revoke_all_sessions))
        .route(
            &format!("{BASE}/{{session_id}}"),
            get(get_session).delete(revoke_session),
        )
}

pub fn router(state: AppState) -> Router {
    shared::http::finish(routes(), state)
}
