//! Dashboard handlers: authorize (in the operation's session check) → validate → call → map.

use axum::Json;
use axum::extract::State;
use shared::http::{ErrorBody, HttpValidationError, QueryFields};
use shared::session::Caller;
use shared::validation;
use shared::{AppState, Result};

use crate::operations::{self as dashboard, DEFAULT_ACTIVITY, MAX_ACTIVITY};
use crate::wire::{ActivityResponse, StatsResponse};

/// Get Dashboard Stats. **Any admin, within its reach: super_admin the platform; partner_admin
/// its partner and its live tenants; tenant_admin its tenant.** Exact counts from counters the
/// writes keep: one batch read whatever the size of the reach. 200; 401; 403 (not an admin).
#[utoipa::path(get, path = "/api/v1/admin/dashboard/stats", operation_id = "get_dashboard_stats", summary = "Get Dashboard Stats", tag = "Dashboard",
    responses((status = 200, body = StatsResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn get_stats(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<StatsResponse>> {
    Ok(Json(dashboard::stats(&state, &caller).await?.into()))
}

/// Get Dashboard Activity: the latest audit events within reach (as `GET /audit` shows them),
/// newest first. **Any admin, within its reach (see stats).** 200; 401; 403 (not an admin); 422.
#[utoipa::path(get, path = "/api/v1/admin/dashboard/activity", operation_id = "get_dashboard_activity", summary = "Get Dashboard Activity", tag = "Dashboard",
    params(("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "default 20")),
    responses((status = 200, body = ActivityResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = HttpValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn get_activity(
    State(state): State<AppState>,
    caller: Caller,
    QueryFields(mut query): QueryFields,
) -> Result<Json<ActivityResponse>> {
    let limit = query.optional("limit", |v| {
        validation::integer_in(v, 1, MAX_ACTIVITY as i64)
    });
    let limit = query.finish(|| Some(limit.map_or(DEFAULT_ACTIVITY, |l| l as usize)))?;
    let events = dashboard::activity(&state, &caller, limit).await?;
    Ok(Json(ActivityResponse {
        items: events.into_iter().map(Into::into).collect(),
    }))
}
