//! Partner handlers: authorize (in the operation's session check) → validate → call → map.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use shared::audit::RequestMeta;
use shared::http::{ErrorBody, HttpValidationError, QueryFields, path_id};
use shared::ids::PartnerId;
use shared::pagination::PageRequest;
use shared::session::Caller;
use shared::validation::{self, Fields};
use shared::values::Status;
use shared::{AppState, Result};

use crate::operations::{self as partners, PartnerFilter, PartnerPatch};
use crate::wire::{PartnerCreate, PartnerList, PartnerResponse, PartnerUpdate};

fn partner_id(raw: &str) -> Result<PartnerId> {
    path_id(raw, "Partner", PartnerId::parse)
}

/// List Partners. **super_admin.** 200; 401; 403; 422 (bad page, filter or cursor).
#[utoipa::path(get, path = "/api/v1/admin/partners", operation_id = "list_partners", summary = "List Partners", tag = "Partners",
    params(("page" = Option<u32>, Query, minimum = 1, maximum = 10000, description = "1-based page; page × per_page ≤ 10,000 (deeper: `cursor`); ignored with `cursor`"),
           ("per_page" = Option<u32>, Query, minimum = 1, maximum = 100, description = "default 20"),
           ("cursor" = Option<String>, Query, description = "`pagination.next_cursor` of the previous page, unchanged (opaque and signed: any other value is a 422)"),
           ("search" = Option<String>, Query, max_length = 200, pattern = "^$|\\S", description = "case-insensitive substring of name or slug; empty = no filter"), ("status" = Option<Status>, Query)),
    responses((status = 200, body = PartnerList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = HttpValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn list_partners(
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
    responses((status = 201, body = PartnerResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = HttpValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn create_partner(
    State(state): State<AppState>,
    caller: Caller,
    meta: RequestMeta,
    body: Result<Fields>,
) -> Result<(StatusCode, Json<PartnerResponse>)> {
    partners::may_create(&state, &caller, &meta).await?;
    let new = PartnerCreate::try_from(body?)?.into();
    let partner = partners::create(&state, &caller, new, &meta).await?;
    Ok((StatusCode::CREATED, Json(partner.into())))
}

/// Get Partner. **super_admin.** 200; 401; 403; 404.
#[utoipa::path(get, path = "/api/v1/admin/partners/{partner_id}", operation_id = "get_partner", summary = "Get Partner", tag = "Partners",
    params(("partner_id" = String, Path)),
    responses((status = 200, body = PartnerResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn get_partner(
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
    responses((status = 200, body = PartnerResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = HttpValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn update_partner(
    State(state): State<AppState>,
    caller: Caller,
    meta: RequestMeta,
    Path(raw): Path<String>,
    body: Fields,
) -> Result<Json<PartnerResponse>> {
    let id = partner_id(&raw)?;
    let patch: PartnerPatch = PartnerUpdate::try_from(body)?.into();
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
pub(crate) async fn delete_partner(
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
pub(crate) async fn restore_partner(
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
