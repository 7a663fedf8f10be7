//! Partners (SPEC §4.2): `/api/v1/admin/partners`, super_admin only, reads included.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use shared::domain::RequestMeta;
use shared::domain::auth::Caller;
use shared::domain::partners::{
    self, NewPartner, Partner, PartnerFilter, PartnerLimits, PartnerPatch,
};
use shared::domain::values::{Email, Name, Slug, Status, parse_limit};
use shared::http::{ErrorBody, QueryFields, path_id};
use shared::ids::PartnerId;
use shared::pagination::{PageRequest, Pagination};
use shared::time::Timestamp;
use shared::validation::{self, Fields};
use shared::{AppState, Result};
use utoipa::{OpenApi, ToSchema};

const BASE: &str = "/api/v1/admin/partners";

/// A partner as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct PartnerResponse {
    id: String,
    name: String,
    slug: String,
    status: Status,
    contact_email: String,
    max_tenants: Option<u32>,
    max_users_per_tenant: Option<u32>,
    max_applications_per_tenant: Option<u32>,
    tenant_count: u64,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl From<Partner> for PartnerResponse {
    fn from(p: Partner) -> Self {
        Self {
            id: p.id.to_string(),
            name: p.name,
            slug: p.slug,
            status: p.status,
            contact_email: p.contact_email,
            max_tenants: p.limits.max_tenants,
            max_users_per_tenant: p.limits.max_users_per_tenant,
            max_applications_per_tenant: p.limits.max_applications_per_tenant,
            tenant_count: p.tenant_count,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PartnerList {
    items: Vec<PartnerResponse>,
    pagination: Pagination,
}

/// Body of Create Partner.
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct PartnerCreate {
    /// 1–200 characters.
    name: String,
    /// `^[a-z0-9]+(-[a-z0-9]+)*$`, 2–63, unique among partners.
    slug: String,
    contact_email: String,
    /// `ACTIVE` (default) or `SUSPENDED`.
    status: Option<Status>,
    /// ≥ 0; null = unlimited.
    max_tenants: Option<u32>,
    max_users_per_tenant: Option<u32>,
    max_applications_per_tenant: Option<u32>,
}

/// Body of Update Partner: only fields present change; `null` clears a limit.
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct PartnerUpdate {
    name: Option<String>,
    slug: Option<String>,
    contact_email: Option<String>,
    status: Option<Status>,
    max_tenants: Option<u32>,
    max_users_per_tenant: Option<u32>,
    max_applications_per_tenant: Option<u32>,
}

fn partner_id(raw: &str) -> Result<PartnerId> {
    path_id(raw, "Partner", PartnerId::parse)
}

/// List Partners. **super_admin.** 200; 401; 403; 422 (bad page, filter or cursor).
#[utoipa::path(get, path = "/api/v1/admin/partners", operation_id = "list_partners", summary = "List Partners", tag = "Partners",
    params(("page" = Option<u32>, Query), ("per_page" = Option<u32>, Query), ("cursor" = Option<String>, Query),
           ("search" = Option<String>, Query, description = "substring of name or slug"), ("status" = Option<Status>, Query)),
    responses((status = 200, body = PartnerList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_partners(
    State(state): State<AppState>,
    caller: Caller,
    QueryFields(mut query): QueryFields,
) -> Result<Json<PartnerList>> {
    let page = PageRequest::read(&mut query);
    let search = query.optional("search", |v| validation::text(v, 1, 200));
    let status = query.optional("status", Status::parse_filter);
    let page = query.finish(|| page)?;
    let found = partners::list(&state, &caller, &PartnerFilter { search, status }, &page).await?;
    Ok(Json(PartnerList {
        items: found.items.into_iter().map(Into::into).collect(),
        pagination: found.pagination,
    }))
}

/// Create Partner. **super_admin.** 201; 401; 403; 409 slug in use; 422.
#[utoipa::path(post, path = "/api/v1/admin/partners", operation_id = "create_partner", summary = "Create Partner", tag = "Partners",
    request_body = PartnerCreate,
    responses((status = 201, body = PartnerResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_partner(
    State(state): State<AppState>,
    caller: Caller,
    meta: RequestMeta,
    mut body: Fields,
) -> Result<(StatusCode, Json<PartnerResponse>)> {
    let name = body.required("name", Name::parse);
    let slug = body.required("slug", Slug::parse);
    let contact_email = body.required("contact_email", Email::parse);
    let status = body
        .optional("status", Status::parse_settable)
        .unwrap_or(Status::Active);
    let limits = PartnerLimits {
        max_tenants: body.optional("max_tenants", parse_limit),
        max_users_per_tenant: body.optional("max_users_per_tenant", parse_limit),
        max_applications_per_tenant: body.optional("max_applications_per_tenant", parse_limit),
    };
    let new = body.finish(|| {
        Some(NewPartner {
            name: name?,
            slug: slug?,
            contact_email: contact_email?,
            status,
            limits,
        })
    })?;
    let partner = partners::create(&state, &caller, new, &meta).await?;
    Ok((StatusCode::CREATED, Json(partner.into())))
}

/// Get Partner. **super_admin.** 200; 401; 403; 404.
#[utoipa::path(get, path = "/api/v1/admin/partners/{partner_id}", operation_id = "get_partner", summary = "Get Partner", tag = "Partners",
    params(("partner_id" = String, Path)),
    responses((status = 200, body = PartnerResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_partner(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<PartnerResponse>> {
    let id = partner_id(&raw)?;
    Ok(Json(partners::get(&state, &caller, &id).await?.into()))
}

/// Update Partner. **super_admin.** 200; 401; 403; 404; 409 slug in use; 422.
#[utoipa::path(patch, path = "/api/v1/admin/partners/{partner_id}", operation_id = "update_partner", summary = "Update Partner", tag = "Partners",
    params(("partner_id" = String, Path)), request_body = PartnerUpdate,
    responses((status = 200, body = PartnerResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn update_partner(
    State(state): State<AppState>,
    caller: Caller,
    meta: RequestMeta,
    Path(raw): Path<String>,
    mut body: Fields,
) -> Result<Json<PartnerResponse>> {
    let id = partner_id(&raw)?;
    let patch = PartnerPatch {
        name: body.patch_required("name", Name::parse),
        slug: body.patch_required("slug", Slug::parse),
        contact_email: body.patch_required("contact_email", Email::parse),
        status: body.patch_required("status", Status::parse_settable),
        max_tenants: body.patch("max_tenants", parse_limit),
        max_users_per_tenant: body.patch("max_users_per_tenant", parse_limit),
        max_applications_per_tenant: body.patch("max_applications_per_tenant", parse_limit),
    };
    body.check()?;
    Ok(Json(
        partners::update(&state, &caller, &id, &patch, &meta)
            .await?
            .into(),
    ))
}

/// Delete Partner (soft). **super_admin.** 204; 401; 403; 404; 409 while it has live tenants.
#[utoipa::path(delete, path = "/api/v1/admin/partners/{partner_id}", operation_id = "delete_partner", summary = "Delete Partner", tag = "Partners",
    params(("partner_id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn delete_partner(
    State(state): State<AppState>,
    caller: Caller,
    meta: RequestMeta,
    Path(raw): Path<String>,
) -> Result<StatusCode> {
    let id = partner_id(&raw)?;
    partners::delete(&state, &caller, &id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Restore Partner, within 30 days of its deletion. **super_admin.** 200; 401; 403; 404; 409 not deleted.
#[utoipa::path(post, path = "/api/v1/admin/partners/{partner_id}/restore", operation_id = "restore_partner", summary = "Restore Partner", tag = "Partners",
    params(("partner_id" = String, Path)),
    responses((status = 200, body = PartnerResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn restore_partner(
    State(state): State<AppState>,
    caller: Caller,
    meta: RequestMeta,
    Path(raw): Path<String>,
) -> Result<Json<PartnerResponse>> {
    let id = partner_id(&raw)?;
    Ok(Json(
        partners::restore(&state, &caller, &id, &meta).await?.into(),
    ))
}

#[derive(OpenApi)]
#[openapi(paths(
    list_partners,
    create_partner,
    get_partner,
    update_partner,
    delete_partner,
    restore_partner
))]
pub struct PartnersApi;

/// The group's routes, unfinished (the local server merges several groups before finishing).
pub fn routes() -> Router<AppState> {
    let router =
        shared::http::collection(Router::new(), BASE, get(list_partners).post(create_partner));
    router
        .route(
            &format!("{BASE}/{{partner_id}}"),
            get(get_partner)
                .patch(update_partner)
                .delete(delete_partner),
        )
        .route(
            &format!("{BASE}/{{partner_id}}/restore"),
            post(restore_partner),
        )
}

/// The Lambda's whole router.
pub fn router(state: AppState) -> Router {
    shared::http::finish(routes(), state)
}
