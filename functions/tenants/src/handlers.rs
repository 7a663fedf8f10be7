//! Tenant handlers: authorize (in the operation's session check) → validate → call → map.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use shared::audit::RequestMeta;
use shared::http::{ErrorBody, HttpValidationError, QueryFields, path_id};
use shared::ids::TenantId;
use shared::pagination::PageRequest;
use shared::session::Caller;
use shared::validation::{self, Fields};
use shared::values::Status;
use shared::{AppState, Result};

use crate::operations::{self as tenants, TenantFilter, TenantPatch};
use crate::wire::{TenantCreate, TenantList, TenantResponse, TenantUpdate, partner_ref};

fn tenant_id(raw: &str) -> Result<TenantId> {
    path_id(raw, "Tenant", TenantId::parse)
}

/// List Tenants. **super_admin: all; partner_admin: own partner's; tenant_admin: own.** 200;
/// 401; 403 (a `partner_id` filter outside reach); 422.
#[utoipa::path(get, path = "/api/v1/admin/tenants", operation_id = "list_tenants", summary = "List Tenants", tag = "Tenants",
    params(("page" = Option<u32>, Query, minimum = 1, maximum = 10000, description = "1-based page; page × per_page ≤ 10,000 (deeper: `cursor`); ignored with `cursor`"),
           ("per_page" = Option<u32>, Query, minimum = 1, maximum = 100, description = "default 20"),
           ("cursor" = Option<String>, Query, description = "`pagination.next_cursor` of the previous page, unchanged (opaque and signed: any other value is a 422)"),
           ("search" = Option<String>, Query, max_length = 200, pattern = "^$|\\S", description = "case-insensitive substring of name or slug; empty = no filter"), ("status" = Option<Status>, Query),
           ("partner_id" = Option<String>, Query, pattern = "^prt_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$")),
    responses((status = 200, body = TenantList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = HttpValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn list_tenants(
    State(state): State<AppState>,
    caller: Caller,
    QueryFields(mut query): QueryFields,
) -> Result<Json<TenantList>> {
    let page = PageRequest::read(&mut query);
    let filter = TenantFilter {
        search: query.optional("search", |v| validation::text(v, 1, 200)),
        status: query.optional("status", Status::parse_filter),
        partner_id: query.optional("partner_id", partner_ref),
    };
    let page = query.finish(|| page)?;
    let found = tenants::list(&state, &caller, &filter, &page).await?;
    Ok(Json(TenantList {
        items: found.items.into_iter().map(Into::into).collect(),
        pagination: found.pagination,
    }))
}

/// Create Tenant. **super_admin.** 201; 401; 403; 404 partner; 409 slug in use or partner's
/// `max_tenants` reached; 422.
#[utoipa::path(post, path = "/api/v1/admin/tenants", operation_id = "create_tenant", summary = "Create Tenant", tag = "Tenants",
    request_body = TenantCreate,
    responses((status = 201, body = TenantResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = HttpValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn create_tenant(
    State(state): State<AppState>,
    caller: Caller,
    meta: RequestMeta,
    body: Result<Fields>,
) -> Result<(StatusCode, Json<TenantResponse>)> {
    tenants::may_create(&state, &caller, &meta).await?;
    let new = TenantCreate::try_from(body?)?.into();
    let tenant = tenants::create(&state, &caller, new, &meta).await?;
    Ok((StatusCode::CREATED, Json(tenant.into())))
}

/// Get Tenant. **Within reach.** 200; 401; 403 outside reach; 404.
#[utoipa::path(get, path = "/api/v1/admin/tenants/{tenant_id}", operation_id = "get_tenant", summary = "Get Tenant", tag = "Tenants",
    params(("tenant_id" = String, Path)),
    responses((status = 200, body = TenantResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn get_tenant(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<TenantResponse>> {
    let id = tenant_id(&raw)?;
    Ok(Json(tenants::get(&state, &caller, &id).await?.into()))
}

/// Update Tenant (and cross-partner transfer by `partner_id`). **super_admin.** 200; 401; 403;
/// 404; 409 slug in use or the new partner's limit reached; 422.
#[utoipa::path(patch, path = "/api/v1/admin/tenants/{tenant_id}", operation_id = "update_tenant", summary = "Update Tenant", tag = "Tenants",
    params(("tenant_id" = String, Path)), request_body = TenantUpdate,
    responses((status = 200, body = TenantResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = HttpValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn update_tenant(
    State(state): State<AppState>,
    caller: Caller,
    meta: RequestMeta,
    Path(raw): Path<String>,
    body: Fields,
) -> Result<Json<TenantResponse>> {
    let id = tenant_id(&raw)?;
    let patch: TenantPatch = TenantUpdate::try_from(body)?.into();
    Ok(Json(
        tenants::update(&state, &caller, &id, &patch, &meta)
            .await?
            .into(),
    ))
}

/// Delete Tenant (soft; its admins' sessions end at once). **super_admin.** 204; 401; 403; 404.
#[utoipa::path(delete, path = "/api/v1/admin/tenants/{tenant_id}", operation_id = "delete_tenant", summary = "Delete Tenant", tag = "Tenants",
    params(("tenant_id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn delete_tenant(
    State(state): State<AppState>,
    caller: Caller,
    meta: RequestMeta,
    Path(raw): Path<String>,
) -> Result<StatusCode> {
    let id = tenant_id(&raw)?;
    tenants::delete(&state, &caller, &id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Restore Tenant within 30 days of deletion. **super_admin.** 200; 401; 403; 404; 409 not
/// deleted or the partner's limit reached.
#[utoipa::path(post, path = "/api/v1/admin/tenants/{tenant_id}/restore", operation_id = "restore_tenant", summary = "Restore Tenant", tag = "Tenants",
    params(("tenant_id" = String, Path)),
    responses((status = 200, body = TenantResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn restore_tenant(
    State(state): State<AppState>,
    caller: Caller,
    meta: RequestMeta,
    Path(raw): Path<String>,
) -> Result<Json<TenantResponse>> {
    let id = tenant_id(&raw)?;
    Ok(Json(
        tenants::restore(&state, &caller, &id, &meta).await?.into(),
    ))
}
