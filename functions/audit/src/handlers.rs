//! Audit handlers: authorize (in the operation's session check) → validate → call → map.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::{Path, State};
use serde_json::Value;
use shared::audit::AuditResult;
use shared::http::{ErrorBody, HttpValidationError, QueryFields, path_id};
use shared::ids::EventId;
use shared::pagination::PageRequest;
use shared::session::Caller;
use shared::time::Timestamp;
use shared::validation::{self, Problem};
use shared::{AppState, Error, Result};

use crate::operations::{self as audit, AuditFilter, RESOURCE};
use crate::wire::{
    ActionList, ActionResponse, AuditEventList, AuditEventResponse, ResourceTypeList,
};

fn text(value: &Value) -> std::result::Result<String, Problem> {
    validation::text(value, 1, 500)
}

fn time(value: &Value) -> std::result::Result<Timestamp, Problem> {
    Timestamp::parse(validation::string(value)?)
        .ok_or_else(|| Problem::value_error("an RFC 3339 date-time, e.g. 2026-01-02T03:04:05Z"))
}

fn result(value: &Value) -> std::result::Result<AuditResult, Problem> {
    validation::one_of(
        value,
        &[
            ("SUCCESS", AuditResult::Success),
            ("FAILURE", AuditResult::Failure),
            ("DENIED", AuditResult::Denied),
        ],
    )
}

/// List Audit Events, newest first. **super_admin: platform-wide; partner_admin: events filed
/// under its partner (its tenants' included); tenant_admin: its tenant's.** Every filter is
/// served by an index and the time range, or read within a bounded budget: a page may be short
/// (even empty) with a `next_cursor` when a selective filter has not filled it — follow the
/// cursor. `pagination.total` is a lower bound (the history is not counted). 200; 401; 403 (a
/// filter outside reach); 422.
#[utoipa::path(get, path = "/api/v1/admin/audit", operation_id = "list_audit_events", summary = "List Audit Events", tag = "Audit",
    params(("page" = Option<u32>, Query, minimum = 1, maximum = 10000, description = "1-based page; page × per_page ≤ 10,000 (deeper: `cursor`); ignored with `cursor`"),
           ("per_page" = Option<u32>, Query, minimum = 1, maximum = 100, description = "default 20"),
           ("cursor" = Option<String>, Query, description = "`pagination.next_cursor` of the previous page, unchanged (opaque and signed: any other value is a 422)"),
           ("tenant_id" = Option<String>, Query, pattern = "^tnt_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$"),
           ("partner_id" = Option<String>, Query, pattern = "^prt_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$"),
           ("actor_id" = Option<String>, Query, min_length = 1, max_length = 500),
           ("actor_email" = Option<String>, Query, min_length = 1, max_length = 500),
           ("action" = Option<String>, Query, min_length = 1, max_length = 500, description = "exact, e.g. `tenant.update` (see /audit/actions)"),
           ("resource_type" = Option<String>, Query, min_length = 1, max_length = 500),
           ("resource_id" = Option<String>, Query, min_length = 1, max_length = 500),
           ("result" = Option<AuditResult>, Query),
           ("start_time" = Option<String>, Query, format = DateTime, description = "inclusive"),
           ("end_time" = Option<String>, Query, format = DateTime, description = "inclusive"),
           ("ip_address" = Option<String>, Query, min_length = 1, max_length = 500)),
    responses((status = 200, body = AuditEventList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = HttpValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn list_events(
    State(state): State<AppState>,
    caller: Caller,
    QueryFields(mut query): QueryFields,
) -> Result<Json<AuditEventList>> {
    let page = PageRequest::read(&mut query);
    let filter = AuditFilter {
        tenant_id: query.optional("tenant_id", validation::tenant_ref),
        partner_id: query.optional("partner_id", validation::partner_ref),
        actor_id: query.optional("actor_id", text),
        actor_email: query.optional("actor_email", |v| text(v).map(|e| e.to_lowercase())),
        action: query.optional("action", text),
        resource_type: query.optional("resource_type", text),
        resource_id: query.optional("resource_id", text),
        result: query.optional("result", result),
        start_time: query.optional("start_time", time),
        end_time: query.optional("end_time", time),
        ip_address: query.optional("ip_address", text),
    };
    if let (Some(from), Some(to)) = (filter.start_time, filter.end_time)
        && from > to
    {
        query.reject(
            "end_time",
            Problem::value_error("end_time is before start_time"),
        );
    }
    let page = query.finish(|| page)?;
    let found = audit::list(&state, &caller, &filter, &page).await?;
    Ok(Json(AuditEventList {
        items: found.items.into_iter().map(Into::into).collect(),
        pagination: found.pagination,
    }))
}

/// Get Audit Event. **Within reach (see List).** 200; 401; 403; 404.
#[utoipa::path(get, path = "/api/v1/admin/audit/{event_id}", operation_id = "get_audit_event", summary = "Get Audit Event", tag = "Audit",
    params(("event_id" = String, Path)),
    responses((status = 200, body = AuditEventResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn get_event(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<AuditEventResponse>> {
    let id = path_id(&raw, RESOURCE, EventId::parse)?;
    Ok(Json(audit::get(&state, &caller, &id).await?.into()))
}

fn catalogue() -> Result<Vec<ActionResponse>> {
    serde_json::from_str(crate::CATALOGUE).map_err(Error::internal)
}

/// List Audit Actions: every action an event may record (`<resource>.<verb>`), with its
/// resource type. **Any admin.** 200; 401; 403 (not an admin, or a platform token without
/// `admin:read`).
#[utoipa::path(get, path = "/api/v1/admin/audit/actions", operation_id = "list_audit_actions", summary = "List Audit Actions", tag = "Audit",
    responses((status = 200, body = ActionList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn list_actions(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<ActionList>> {
    shared::session::check(&state, &caller, &[]).await?;
    Ok(Json(ActionList {
        items: catalogue()?,
    }))
}

/// List Audit Resource Types: the resource types events name. **Any admin.** 200; 401; 403
/// (not an admin, or a platform token without `admin:read`).
#[utoipa::path(get, path = "/api/v1/admin/audit/resource-types", operation_id = "list_audit_resource_types", summary = "List Audit Resource Types", tag = "Audit",
    responses((status = 200, body = ResourceTypeList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn list_resource_types(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<ResourceTypeList>> {
    shared::session::check(&state, &caller, &[]).await?;
    let types: BTreeSet<String> = catalogue()?.into_iter().map(|a| a.resource_type).collect();
    Ok(Json(ResourceTypeList {
        items: types.into_iter().collect(),
    }))
}
