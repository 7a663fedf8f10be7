//! Audit (SPEC §4.12): `/api/v1/admin/audit` — the events every write commits with, read-only.
//! Events are never updated or deleted through the API; they expire by TTL after the retention
//! period (`SCAIKEY_AUDIT_RETENTION_DAYS`, 365 by default).
//!
//! `handlers` (HTTP), `wire` (response types, the catalogue), `operations` (who sees which
//! events, and how each filter is served). The events are written by every group through the
//! kernel (`shared::audit`, `shared::store::audit`).

mod handlers;
pub mod operations;
mod wire;

use axum::Router;
use axum::routing::get;
use shared::AppState;
use utoipa::OpenApi;

use handlers::*;

const BASE: &str = "/api/v1/admin/audit";

#[derive(OpenApi)]
#[openapi(paths(list_events, get_event, list_actions, list_resource_types))]
pub struct AuditApi;

pub fn routes() -> Router<AppState> {
    shared::http::collection(Router::new(), BASE, get(list_events))
        .route(&format!("{BASE}/actions"), get(list_actions))
        .route(&format!("{BASE}/resource-types"), get(list_resource_types))
        .route(&format!("{BASE}/{{event_id}}"), get(get_event))
}

pub fn router(state: AppState) -> Router {
    shared::http::finish(routes(), state)
}

/// The catalogue of audit actions every group records, as `scaikey audit-actions` writes it
/// to `docs/audit-actions.json` (a test keeps the two equal): the audit group depends on no
/// other group, so it serves the generated file.
pub const CATALOGUE: &str = include_str!("../../../docs/audit-actions.json");
