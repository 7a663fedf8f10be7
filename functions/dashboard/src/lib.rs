//! Dashboard (SPEC §4.13): `/api/v1/admin/dashboard` — what the caller's reach holds now, read
//! in O(1), and its latest events.
//!
//! `handlers` (HTTP), `wire` (response types), `operations` (which counters each tier reads).
//! Every number is a counter the writes of the owning groups keep in their transactions
//! (`shared::store::counters`, `shared::store::tally`): this group only reads.

mod handlers;
pub mod operations;
mod wire;

use axum::Router;
use axum::routing::get;
use shared::AppState;
use utoipa::OpenApi;

use handlers::*;

const BASE: &str = "/api/v1/admin/dashboard";

#[derive(OpenApi)]
#[openapi(paths(get_stats, get_activity))]
pub struct DashboardApi;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(&format!("{BASE}/stats"), get(get_stats))
        .route(&format!("{BASE}/activity"), get(get_activity))
}

pub fn router(state: AppState) -> Router {
    shared::http::finish(routes(), state)
}
