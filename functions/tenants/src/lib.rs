//! Tenants (SPEC §4.3): `/api/v1/admin/tenants`. super_admin writes; partner admins read their
//! partner's tenants, tenant admins their own.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{Map, Value};
use shared::domain::RequestMeta;
use shared::domain::auth::Caller;
use shared::domain::tenants::{
    self, NewTenant, Tenant, TenantFilter, TenantPatch, parse_branding, parse_settings,
};
use shared::domain::values::{Email, Name, Slug, Status};
use shared::http::{ErrorBody, QueryFields, path_id};
use shared::ids::{PartnerId, TenantId};
use shared::pagination::{PageRequest, Pagination};
use shared::time::Timestamp;
use shared::validation::{self, Fields, Problem};
use shared::{AppState, Result};
use utoipa::{OpenApi, ToSchema};

const BASE: &str = "/api/v1/admin/tenants";

/// A tenant as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct TenantResponse {
    id: String,
    name: String,
    slug: String,
    status: Status,
    contact_email: Option<String>,
    partner_id: String,
    #[schema(value_type = Object)]
    settings: Map<String, Value>,
    #[schema(value_type = Object)]
    branding: Map<String, Value>,
    user_count: u64,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl From<Tenant> for TenantResponse {
    fn from(t: Tenant) -> Self {
        Self {
            id: t.id.to_string(),
            name: t.name,
            slug: t.slug,
            status: t.status,
            contact_email: t.contact_email,
            partner_id: t.partner_id.to_string(),
            settings: t.settings,
            branding: t.branding,
            user_count: t.user_count,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TenantList {
    items: Vec<TenantResponse>,
    pagination: Pagination,
}

/// Body of Create Tenant.
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct TenantCreate {
    name: String,
    /// `^[a-z0-9]+(-[a-z0-9]+)*$`, 2–63, unique platform-wide.
    slug: String,
    partner_id: String,
    status: Option<Status>,
    contact_email: Option<String>,
    /// ≤ 32 KiB. Interpreted keys: `password_policy {min_length, require_upper, require_lower,
    /// require_digit, require_symbol}`, `session_timeout_minutes`, `mfa_required`.
    #[schema(value_type = Option<Object>)]
    settings: Option<Value>,
    /// ≤ 32 KiB.
    #[schema(value_type = Option<Object>)]
    branding: Option<Value>,
}

/// Body of Update Tenant: only fields present change. A new `partner_id` transfers the tenant.
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct TenantUpdate {
    name: Option<String>,
    slug: Option<String>,
    partner_id: Option<String>,
    status: Option<Status>,
    contact_email: Option<String>,
    #[schema(value_type = Option<Object>)]
    settings: Option<Value>,
    #[schema(value_type = Option<Object>)]
    branding: Option<Value>,
}

fn tenant_id(raw: &str) -> Result<TenantId> {
    path_id(raw, "Tenant", TenantId::parse)
}

fn partner_ref(value: &Value) -> std::result::Result<PartnerId, Problem> {
    PartnerId::parse(validation::string(value)?)
        .map_err(|_| Problem::value_error("not a partner id"))
}

/// List Tenants. **super_admin: all; partner_admin: own partner's; tenant_admin: own.** 200;
/// 401; 403 (a `partner_id` filter outside reach); 422.
#[utoipa::path(get, path = "/api/v1/admin/tenants", operation_id = "list_tenants", summary = "List Tenants", tag = "Tenants",
    params(("page" = Option<u32>, Query), ("per_page" = Option<u32>, Query), ("cursor" = Option<String>, Query),
           ("search" = Option<String>, Query, description = "substring of name or slug"), ("status" = Option<Status>, Query),
           ("partner_id" = Option<String>, Query)),
    responses((status = 200, body = TenantList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_tenants(
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
    responses((status = 201, body = TenantResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_tenant(
    State(state): State<AppState>,
    caller: Caller,
    meta: RequestMeta,
    mut body: Fields,
) -> Result<(StatusCode, Json<TenantResponse>)> {
    let name = body.required("name", Name::parse);
    let slug = body.required("slug", Slug::parse);
    let partner_id = body.required("partner_id", partner_ref);
    let status = body
        .optional("status", Status::parse_settable)
        .unwrap_or(Status::Active);
    let contact_email = body.optional("contact_email", Email::parse);
    let settings = body
        .optional("settings", parse_settings)
        .unwrap_or_default();
    let branding = body
        .optional("branding", parse_branding)
        .unwrap_or_default();
    let new = body.finish(|| {
        Some(NewTenant {
            partner_id: partner_id?,
            name: name?,
            slug: slug?,
            status,
            contact_email,
            settings,
            branding,
        })
    })?;
    let tenant = tenants::create(&state, &caller, new, &meta).await?;
    Ok((StatusCode::CREATED, Json(tenant.into())))
}

/// Get Tenant. **Within reach.** 200; 401; 403 outside reach; 404.
#[utoipa::path(get, path = "/api/v1/admin/tenants/{tenant_id}", operation_id = "get_tenant", summary = "Get Tenant", tag = "Tenants",
    params(("tenant_id" = String, Path)),
    responses((status = 200, body = TenantResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_tenant(
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
    responses((status = 200, body = TenantResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn update_tenant(
    State(state): State<AppState>,
    caller: Caller,
    meta: RequestMeta,
    Path(raw): Path<String>,
    mut body: Fields,
) -> Result<Json<TenantResponse>> {
    let id = tenant_id(&raw)?;
    let patch = TenantPatch {
        partner_id: body.patch_required("partner_id", partner_ref),
        name: body.patch_required("name", Name::parse),
        slug: body.patch_required("slug", Slug::parse),
        status: body.patch_required("status", Status::parse_settable),
        contact_email: body.patch("contact_email", Email::parse),
        settings: body.patch_required("settings", parse_settings),
        branding: body.patch_required("branding", parse_branding),
    };
    body.check()?;
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
async fn delete_tenant(
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
async fn restore_tenant(
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

#[derive(OpenApi)]
#[openapi(paths(
    list_tenants,
    create_tenant,
    get_tenant,
    update_tenant,
    delete_tenant,
    restore_tenant
))]
pub struct TenantsApi;

pub fn routes() -> Router<AppState> {
    let router =
        shared::http::collection(Router::new(), BASE, get(list_tenants).post(create_tenant));
    router
        .route(
            &format!("{BASE}/{{tenant_id}}"),
            get(get_tenant).patch(update_tenant).delete(delete_tenant),
        )
        .route(
            &format!("{BASE}/{{tenant_id}}/restore"),
            post(restore_tenant),
        )
}

pub fn router(state: AppState) -> Router {
    shared::http::finish(routes(), state)
}
