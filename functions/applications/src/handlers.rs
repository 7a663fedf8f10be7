//! Application handlers: authorize (in the operation's session check) → validate → call → map.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use shared::audit::RequestMeta;
use shared::http::{ErrorBody, HttpValidationError, QueryFields, path_id};
use shared::ids::ApplicationId;
use shared::pagination::PageRequest;
use shared::session::Caller;
use shared::validation::{self, Fields};
use shared::{AppState, Result};

use shared::membership::UserOrGroup;

use crate::assignments;
use crate::operations::{self as applications, ApplicationFilter, ApplicationPatch};
use crate::wire::{
    ApplicationCreate, ApplicationCreated, ApplicationList, ApplicationResponse, ApplicationUpdate,
    AssignmentCreate, AssignmentList, AssignmentResponse, EffectiveUserList, RotateSecret,
    SecretRotated, application_type, grace_period, new_application, partner_ref, scope, tenant_ref,
};

fn application_id(raw: &str) -> Result<ApplicationId> {
    path_id(raw, applications::RESOURCE, ApplicationId::parse)
}

/// List Applications. **super_admin: all; partner_admin: GLOBAL, its own PARTNER apps and its
/// tenants' TENANT apps; tenant_admin: GLOBAL, its partner's PARTNER apps and its own TENANT
/// apps.** Newest first. `tenant_id`: that tenant's TENANT apps; `partner_id`: that partner's
/// PARTNER apps and its tenants' TENANT apps. 200; 401; 403 (a filter outside reach); 422.
#[utoipa::path(get, path = "/api/v1/admin/applications", operation_id = "list_applications", summary = "List Applications", tag = "Applications",
    params(("page" = Option<u32>, Query, minimum = 1, maximum = 10000, description = "1-based page; page × per_page ≤ 10,000 (deeper: `cursor`); ignored with `cursor`"),
           ("per_page" = Option<u32>, Query, minimum = 1, maximum = 100, description = "default 20"),
           ("cursor" = Option<String>, Query, description = "`pagination.next_cursor` of the previous page, unchanged (opaque and signed: any other value is a 422)"),
           ("search" = Option<String>, Query, max_length = 200, pattern = "^$|\\S", description = "case-insensitive substring of name or description; empty = no filter"),
           ("tenant_id" = Option<String>, Query, pattern = "^tnt_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$"),
           ("partner_id" = Option<String>, Query, pattern = "^prt_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$"),
           ("scope" = Option<shared::hierarchy::AppScope>, Query),
           ("application_type" = Option<shared::hierarchy::AppType>, Query)),
    responses((status = 200, body = ApplicationList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = HttpValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn list_applications(
    State(state): State<AppState>,
    caller: Caller,
    QueryFields(mut query): QueryFields,
) -> Result<Json<ApplicationList>> {
    let page = PageRequest::read(&mut query);
    let filter = ApplicationFilter {
        search: query.optional("search", |v| validation::text(v, 1, 200)),
        tenant_id: query.optional("tenant_id", tenant_ref),
        partner_id: query.optional("partner_id", partner_ref),
        scope: query.optional("scope", scope),
        application_type: query.optional("application_type", application_type),
    };
    let page = query.finish(|| page)?;
    let found = applications::list(&state, &caller, &filter, &page).await?;
    Ok(Json(ApplicationList {
        items: found.items.into_iter().map(Into::into).collect(),
        pagination: found.pagination,
    }))
}

/// Create Application. **super_admin: any scope; partner_admin: PARTNER (its own) and TENANT
/// (its tenants); tenant_admin: TENANT (its own).** Confidential types (WEB, SERVICE, SAML_SP)
/// get a `client_secret`, shown this once. 201; 401; 403 outside reach; 404 tenant or partner;
/// 409 `max_applications_per_tenant` reached; 422.
#[utoipa::path(post, path = "/api/v1/admin/applications", operation_id = "create_application", summary = "Create Application", tag = "Applications",
    request_body = ApplicationCreate,
    responses((status = 201, body = ApplicationCreated), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = HttpValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn create_application(
    State(state): State<AppState>,
    caller: Caller,
    meta: RequestMeta,
    body: Result<Fields>,
) -> Result<(StatusCode, Json<ApplicationCreated>)> {
    let new = new_application(body?)?;
    let (app, secret) = applications::create(&state, &caller, new, &meta).await?;
    Ok((
        StatusCode::CREATED,
        Json(ApplicationCreated {
            application: app.into(),
            client_secret: secret,
        }),
    ))
}

/// Get Application. **Within reach (see List).** 200; 401; 403; 404.
#[utoipa::path(get, path = "/api/v1/admin/applications/{application_id}", operation_id = "get_application", summary = "Get Application", tag = "Applications",
    params(("application_id" = String, Path)),
    responses((status = 200, body = ApplicationResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn get_application(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<ApplicationResponse>> {
    let id = application_id(&raw)?;
    Ok(Json(applications::get(&state, &caller, &id).await?.into()))
}

/// Update Application. **Writable by the caller (see Create).** Lists replace; `scope`,
/// `partner_id`, `tenant_id` cannot change; the result is checked as a whole (a public type
/// cannot keep `client_credentials`; becoming SPA/NATIVE drops the secret). 200; 401; 403;
/// 404; 422.
#[utoipa::path(patch, path = "/api/v1/admin/applications/{application_id}", operation_id = "update_application", summary = "Update Application", tag = "Applications",
    params(("application_id" = String, Path)), request_body = ApplicationUpdate,
    responses((status = 200, body = ApplicationResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = HttpValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn update_application(
    State(state): State<AppState>,
    caller: Caller,
    meta: RequestMeta,
    Path(raw): Path<String>,
    body: Result<Fields>,
) -> Result<Json<ApplicationResponse>> {
    let id = application_id(&raw)?;
    let patch = ApplicationPatch::try_from(body?)?;
    Ok(Json(
        applications::update(&state, &caller, &id, &patch, &meta)
            .await?
            .into(),
    ))
}

/// Delete Application (soft: it leaves lists and counts at once; its tenant's slot is free
/// again). **Writable by the caller.** 204; 401; 403; 404.
#[utoipa::path(delete, path = "/api/v1/admin/applications/{application_id}", operation_id = "delete_application", summary = "Delete Application", tag = "Applications",
    params(("application_id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn delete_application(
    State(state): State<AppState>,
    caller: Caller,
    meta: RequestMeta,
    Path(raw): Path<String>,
) -> Result<StatusCode> {
    let id = application_id(&raw)?;
    applications::delete(&state, &caller, &id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Rotate Application Secret: a new secret, shown this once; the previous one keeps working for
/// `grace_period_seconds` (default 0, at most 7 days) so a fleet can roll over. The body is
/// optional. **Writable by the caller.** 200; 401; 403; 404; 409 a public (SPA, NATIVE) app;
/// 422.
#[utoipa::path(post, path = "/api/v1/admin/applications/{application_id}/rotate-secret", operation_id = "rotate_application_secret", summary = "Rotate Application Secret", tag = "Applications",
    params(("application_id" = String, Path)), request_body(content = Option<RotateSecret>),
    responses((status = 200, body = SecretRotated), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = HttpValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn rotate_secret(
    State(state): State<AppState>,
    caller: Caller,
    meta: RequestMeta,
    Path(raw): Path<String>,
    body: Bytes,
) -> Result<Json<SecretRotated>> {
    let id = application_id(&raw)?;
    let body = shared::http::optional_body(validation::absent_if_null(&body))?;
    let grace = grace_period(body)?;
    let (app, secret) = applications::rotate_secret(&state, &caller, &id, grace, &meta).await?;
    Ok(Json(SecretRotated {
        previous_secret_expires_at: app.previous_secret_expires_at,
        application: app.into(),
        client_secret: secret,
    }))
}

/// List Application Assignments: the users and groups the application is assigned to, within
/// the caller's reach (a tenant admin sees its own tenant's), newest first. **Whoever may read
/// the application.** 200; 401; 403; 404.
#[utoipa::path(get, path = "/api/v1/admin/applications/{application_id}/assignments", operation_id = "list_application_assignments", summary = "List Application Assignments", tag = "Applications",
    params(("application_id" = String, Path),
           ("page" = Option<u32>, Query, minimum = 1, maximum = 10000, description = "1-based page; page × per_page ≤ 10,000 (deeper: `cursor`); ignored with `cursor`"),
           ("per_page" = Option<u32>, Query, minimum = 1, maximum = 100, description = "default 20"),
           ("cursor" = Option<String>, Query, description = "`pagination.next_cursor` of the previous page, unchanged (opaque and signed: any other value is a 422)")),
    responses((status = 200, body = AssignmentList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = HttpValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn list_assignments(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    QueryFields(mut query): QueryFields,
) -> Result<Json<AssignmentList>> {
    let id = application_id(&raw)?;
    let page = PageRequest::read(&mut query);
    let page = query.finish(|| page)?;
    let found = assignments::list(&state, &caller, &id, &page).await?;
    Ok(Json(AssignmentList {
        items: found.items.into_iter().map(Into::into).collect(),
        pagination: found.pagination,
    }))
}

/// Assign Application: to a user or a group (`user_id` or `group_id`) within the caller's reach
/// (else 404) and in a tenant the application covers — GLOBAL: any, PARTNER: its partner's,
/// TENANT: its own (else 422). **Whoever may read the application, for assignees in its own
/// reach.** 201; 401; 403; 404; 409 already assigned; 422.
#[utoipa::path(post, path = "/api/v1/admin/applications/{application_id}/assignments", operation_id = "create_application_assignment", summary = "Assign Application", tag = "Applications",
    params(("application_id" = String, Path)), request_body = AssignmentCreate,
    responses((status = 201, body = AssignmentResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = HttpValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn create_assignment(
    State(state): State<AppState>,
    caller: Caller,
    meta: RequestMeta,
    Path(raw): Path<String>,
    body: Result<Fields>,
) -> Result<(StatusCode, Json<AssignmentResponse>)> {
    let id = application_id(&raw)?;
    let assignee = UserOrGroup::try_from(body?)?;
    let made = assignments::add(&state, &caller, &id, &assignee, &meta).await?;
    Ok((StatusCode::CREATED, Json(made.into())))
}

/// Remove Application Assignment (`assignment_id`: the assignee's user or group id). **As
/// Assign.** 204; 401; 403; 404.
#[utoipa::path(delete, path = "/api/v1/admin/applications/{application_id}/assignments/{assignment_id}", operation_id = "delete_application_assignment", summary = "Remove Application Assignment", tag = "Applications",
    params(("application_id" = String, Path), ("assignment_id" = String, Path, description = "the assignee's id (`usr_…` or `grp_…`)")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn delete_assignment(
    State(state): State<AppState>,
    caller: Caller,
    meta: RequestMeta,
    Path((raw, assignment_id)): Path<(String, String)>,
) -> Result<StatusCode> {
    let id = application_id(&raw)?;
    assignments::remove(&state, &caller, &id, &assignment_id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Get Application Effective Users: every user the application reaches — assigned directly or
/// in an assigned group at any nesting depth — each once, with `via` (`"direct"` or the group
/// path), in the tenants it covers and the caller may see. **Whoever may read the application;
/// the application itself with its own platform token, no admin scope needed.** Cost grows with
/// the assigned groups' memberships (see docs/data-model.md). 200; 401; 403; 404; 422.
#[utoipa::path(get, path = "/api/v1/admin/applications/{application_id}/effective-users", operation_id = "list_application_effective_users", summary = "Get Application Effective Users", tag = "Applications",
    params(("application_id" = String, Path),
           ("tenant_id" = Option<String>, Query, pattern = "^tnt_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$"),
           ("page" = Option<u32>, Query, minimum = 1, maximum = 10000, description = "1-based page; page × per_page ≤ 10,000 (deeper: `cursor`); ignored with `cursor`"),
           ("per_page" = Option<u32>, Query, minimum = 1, maximum = 100, description = "default 20"),
           ("cursor" = Option<String>, Query, description = "`pagination.next_cursor` of the previous page, unchanged (opaque and signed: any other value is a 422)")),
    responses((status = 200, body = EffectiveUserList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = HttpValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn list_effective_users(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    QueryFields(mut query): QueryFields,
) -> Result<Json<EffectiveUserList>> {
    let id = application_id(&raw)?;
    let page = PageRequest::read(&mut query);
    let tenant = query.optional("tenant_id", tenant_ref);
    let page = query.finish(|| page)?;
    let found = assignments::effective(&state, &caller, &id, tenant.as_ref(), &page).await?;
    Ok(Json(EffectiveUserList {
        items: found.items.into_iter().map(Into::into).collect(),
        pagination: found.pagination,
    }))
}
