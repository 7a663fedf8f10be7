//! Session handlers: authorize (in the operation's session check) → validate → call → map.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use shared::audit::RequestMeta;
use shared::http::{ErrorBody, HttpValidationError, QueryFields, path_id};
use shared::ids::SessionId;
use shared::pagination::PageRequest;
use shared::session::Caller;
use shared::time::Timestamp;
use shared::validation::Fields;
use shared::{AppState, Result};

use crate::operations::{self as sessions, Holder, SessionFilter};
use crate::wire::{
    RevokeAll, Revoked, SessionList, SessionResponse, partner_ref, tenant_ref, user_ref,
};

fn session_id(raw: &str) -> Result<SessionId> {
    path_id(raw, "Session", SessionId::parse)
}

/// List Sessions: the active admin sessions (status ACTIVE, not expired) within reach, newest
/// first. **super_admin: all; partner_admin: its partner's tenants'; tenant_admin: its
/// tenant's.** 200; 401; 403 (a `user_id`/`tenant_id`/`partner_id` filter outside reach, or
/// unknown unless super_admin); 422.
#[utoipa::path(get, path = "/api/v1/admin/sessions", operation_id = "list_sessions", summary = "List Sessions", tag = "Sessions",
    params(("page" = Option<u32>, Query, minimum = 1, maximum = 10000, description = "1-based page; page × per_page ≤ 10,000 (deeper: `cursor`); ignored with `cursor`"),
           ("per_page" = Option<u32>, Query, minimum = 1, maximum = 100, description = "default 20"),
           ("cursor" = Option<String>, Query, description = "`pagination.next_cursor` of the previous page, unchanged (opaque and signed: any other value is a 422)"),
           ("user_id" = Option<String>, Query, pattern = "^usr_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$"),
           ("tenant_id" = Option<String>, Query, pattern = "^tnt_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$"),
           ("partner_id" = Option<String>, Query, pattern = "^prt_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$")),
    responses((status = 200, body = SessionList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = HttpValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn list_sessions(
    State(state): State<AppState>,
    caller: Caller,
    QueryFields(mut query): QueryFields,
) -> Result<Json<SessionList>> {
    let page = PageRequest::read(&mut query);
    let filter = SessionFilter {
        user_id: query.optional("user_id", user_ref),
        tenant_id: query.optional("tenant_id", tenant_ref),
        partner_id: query.optional("partner_id", partner_ref),
    };
    let page = query.finish(|| page)?;
    let found = sessions::list(&state, &caller, &filter, &page).await?;
    let now = Timestamp::now();
    Ok(Json(SessionList {
        items: found
            .items
            .into_iter()
            .map(|s| SessionResponse::at(s, now))
            .collect(),
        pagination: found.pagination,
    }))
}

/// Get Session, whatever its status (`EXPIRED`: past its `expires_at`). **Within reach.** 200;
/// 401; 403 outside reach; 404.
#[utoipa::path(get, path = "/api/v1/admin/sessions/{session_id}", operation_id = "get_session", summary = "Get Session", tag = "Sessions",
    params(("session_id" = String, Path)),
    responses((status = 200, body = SessionResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn get_session(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<SessionResponse>> {
    let id = session_id(&raw)?;
    let found = sessions::get(&state, &caller, &id).await?;
    Ok(Json(SessionResponse::at(found, Timestamp::now())))
}

/// Revoke Session: refused on its very next request. A session already revoked or expired:
/// 204 again, nothing written. The caller's own session may be revoked (its next request is a
/// 401). **Within reach.** 204; 401; 403; 404.
#[utoipa::path(delete, path = "/api/v1/admin/sessions/{session_id}", operation_id = "revoke_session", summary = "Revoke Session", tag = "Sessions",
    params(("session_id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn revoke_session(
    State(state): State<AppState>,
    caller: Caller,
    meta: RequestMeta,
    Path(raw): Path<String>,
) -> Result<StatusCode> {
    let id = session_id(&raw)?;
    sessions::revoke(&state, &caller, &id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revoke All Sessions of a user (`{"user_id"}`) or of a tenant's users (`{"tenant_id"}`):
/// every active session, the caller's own included if it is one of them. **Within reach.**
/// 200 `{"revoked": n}`; 401; 403 outside reach (or unknown, unless super_admin); 404 unknown
/// user or tenant (super_admin); 422.
#[utoipa::path(post, path = "/api/v1/admin/sessions/revoke-all", operation_id = "revoke_all_sessions", summary = "Revoke All Sessions", tag = "Sessions",
    request_body = RevokeAll,
    responses((status = 200, body = Revoked), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = HttpValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn revoke_all_sessions(
    State(state): State<AppState>,
    caller: Caller,
    meta: RequestMeta,
    body: Result<Fields>,
) -> Result<Json<Revoked>> {
    let holder = Holder::try_from(body?)?;
    let revoked = sessions::revoke_all(&state, &caller, &holder, &meta).await?;
    Ok(Json(Revoked { revoked }))
}
