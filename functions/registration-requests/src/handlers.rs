//! Registration request handlers: authorize (in the operation's session check) → validate →
//! call → map.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use shared::audit::RequestMeta;
use shared::http::{ErrorBody, HttpValidationError, QueryFields, path_id};
use shared::ids::RegistrationRequestId;
use shared::pagination::PageRequest;
use shared::session::Caller;
use shared::validation::{self, Fields};
use shared::{AppState, Result};

use crate::operations::{self as requests, RequestFilter};
use crate::wire::{
    ApproveBody, Approved, RegistrationRequestCreate, RejectBody, RequestList, RequestResponse,
    RequestStatus, approve_notes, new_request, reject_reason, scope, status_filter,
};

fn request_id(raw: &str) -> Result<RegistrationRequestId> {
    path_id(raw, requests::RESOURCE, RegistrationRequestId::parse)
}

/// List Registration Requests. **super_admin: all; partner_admin: its PARTNER requests and its
/// tenants' TENANT requests; tenant_admin: its tenant's TENANT requests.** Newest first. 200;
/// 401; 403 (not an admin); 422.
#[utoipa::path(get, path = "/api/v1/admin/registration-requests", operation_id = "list_registration_requests", summary = "List Registration Requests", tag = "Registration Requests",
    params(("page" = Option<u32>, Query, minimum = 1, maximum = 10000, description = "1-based page; page × per_page ≤ 10,000 (deeper: `cursor`); ignored with `cursor`"),
           ("per_page" = Option<u32>, Query, minimum = 1, maximum = 100, description = "default 20"),
           ("cursor" = Option<String>, Query, description = "`pagination.next_cursor` of the previous page, unchanged (opaque and signed: any other value is a 422)"),
           ("status" = Option<RequestStatus>, Query),
           ("scope" = Option<shared::hierarchy::AppScope>, Query)),
    responses((status = 200, body = RequestList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = HttpValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn list_requests(
    State(state): State<AppState>,
    caller: Caller,
    QueryFields(mut query): QueryFields,
) -> Result<Json<RequestList>> {
    let page = PageRequest::read(&mut query);
    let filter = RequestFilter {
        status: query.optional("status", status_filter),
        scope: query.optional("scope", scope),
    };
    let page = query.finish(|| page)?;
    let found = requests::list(&state, &caller, &filter, &page).await?;
    Ok(Json(RequestList {
        items: found.items.into_iter().map(Into::into).collect(),
        pagination: found.pagination,
    }))
}

/// Create Registration Request, for an application the caller could create itself (checked by
/// the same rules; the tenant's application limit applies at approval). 201; 401; 403; 404
/// tenant or partner; 422.
#[utoipa::path(post, path = "/api/v1/admin/registration-requests", operation_id = "create_registration_request", summary = "Create Registration Request", tag = "Registration Requests",
    request_body = RegistrationRequestCreate,
    responses((status = 201, body = RequestResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = HttpValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn create_request(
    State(state): State<AppState>,
    caller: Caller,
    meta: RequestMeta,
    body: Result<Fields>,
) -> Result<(StatusCode, Json<RequestResponse>)> {
    let new = new_request(body?)?;
    let request = requests::create(&state, &caller, new, &meta).await?;
    Ok((StatusCode::CREATED, Json(request.into())))
}

/// Get Registration Request. **Within reach (see List).** 200; 401; 403; 404.
#[utoipa::path(get, path = "/api/v1/admin/registration-requests/{request_id}", operation_id = "get_registration_request", summary = "Get Registration Request", tag = "Registration Requests",
    params(("request_id" = String, Path)),
    responses((status = 200, body = RequestResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn get_request(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<RequestResponse>> {
    let id = request_id(&raw)?;
    Ok(Json(requests::get(&state, &caller, &id).await?.into()))
}

/// Cancel Registration Request (PENDING only) → 200 with the request, as the reference does.
/// **Whoever could create the application.** 200; 401; 403; 404; 409 not pending or expired.
#[utoipa::path(delete, path = "/api/v1/admin/registration-requests/{request_id}", operation_id = "cancel_registration_request", summary = "Cancel Registration Request", tag = "Registration Requests",
    params(("request_id" = String, Path)),
    responses((status = 200, body = RequestResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn cancel_request(
    State(state): State<AppState>,
    caller: Caller,
    meta: RequestMeta,
    Path(raw): Path<String>,
) -> Result<Json<RequestResponse>> {
    let id = request_id(&raw)?;
    Ok(Json(
        requests::cancel(&state, &caller, &id, &meta).await?.into(),
    ))
}

/// Approve Registration Request: creates the application exactly as an admin create (same
/// rules, limit, audit), in one transaction with the decision, and answers its `client_id` and
/// `client_secret` (confidential types, shown once). Body optional `{notes}` (absent, empty or
/// `null`: no notes).
/// **Whoever could create the application.** 200; 401; 403; 404; 409 already decided,
/// expired, or the tenant's application limit; 422.
#[utoipa::path(post, path = "/api/v1/admin/registration-requests/{request_id}/approve", operation_id = "approve_registration_request", summary = "Approve Registration Request", tag = "Registration Requests",
    params(("request_id" = String, Path)), request_body(content = Option<ApproveBody>),
    responses((status = 200, body = Approved), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = HttpValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn approve_request(
    State(state): State<AppState>,
    caller: Caller,
    meta: RequestMeta,
    Path(raw): Path<String>,
    body: Bytes,
) -> Result<Json<Approved>> {
    let id = request_id(&raw)?;
    let body = shared::http::optional_body(validation::absent_if_null(&body))?;
    let notes = approve_notes(body)?;
    let (request, app, secret) = requests::approve(&state, &caller, &id, notes, &meta).await?;
    Ok(Json(Approved {
        request: request.into(),
        client_id: app.id.to_string(),
        application: app.into(),
        client_secret: secret,
    }))
}

/// Reject Registration Request with a `reason` (required). **Whoever could create the
/// application.** 200; 401; 403; 404; 409 already decided or expired; 422.
#[utoipa::path(post, path = "/api/v1/admin/registration-requests/{request_id}/reject", operation_id = "reject_registration_request", summary = "Reject Registration Request", tag = "Registration Requests",
    params(("request_id" = String, Path)), request_body = RejectBody,
    responses((status = 200, body = RequestResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = HttpValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn reject_request(
    State(state): State<AppState>,
    caller: Caller,
    meta: RequestMeta,
    Path(raw): Path<String>,
    body: Result<Fields>,
) -> Result<Json<RequestResponse>> {
    let id = request_id(&raw)?;
    let reason = reject_reason(body?)?;
    Ok(Json(
        requests::reject(&state, &caller, &id, &reason, &meta)
            .await?
            .into(),
    ))
}
