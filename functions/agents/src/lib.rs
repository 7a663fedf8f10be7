//! AI agents (SPEC §4.10): `/api/v1/admin/agents`, the non-human clients of a tenant. An agent
//! is an OAuth client of its tenant (its id is its `client_id`): it gets `client_credentials`
//! tokens at its tenant's token endpoint (`functions/oauth`), carrying its scopes, its allowed
//! tools and its rate limit. Every tier manages the agents within its reach, as with identity
//! providers: super_admin all, partner_admin its partner's tenants' (as they are now),
//! tenant_admin its own tenant's.
//!
//! `handlers` (HTTP: validate → call → map), `wire` (request and response types),
//! `operations` (rules and the tier checks), `store` (items and transactions). The client
//! secret is shown once (create, rotate-secret) and stored only as a keyed hash
//! (`shared::client_secret`).

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

const BASE: &str = "/api/v1/admin/agents";

#[derive(OpenApi)]
#[openapi(paths(
    list_agents,
    create_agent,
    get_agent,
    update_agent,
    delete_agent,
    rotate_agent_secret
))]
pub struct AgentsApi;

pub fn routes() -> Router<AppState> {
    let router = shared::http::collection(Router::new(), BASE, get(list_agents).post(create_agent));
    router
        .route(
            &format!("{BASE}/{{agent_id}}"),
            get(get_agent).patch(update_agent).delete(delete_agent),
        )
        .route(
            &format!("{BASE}/{{agent_id}}/rotate-secret"),
            post(rotate_agent_secret),
        )
}

pub fn router(state: AppState) -> Router {
    shared::http::finish(routes(), state)
}
