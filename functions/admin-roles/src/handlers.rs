//! Admin-role handlers: authorize (in the operation's session check) → validate → call → map.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use shared::audit::RequestMeta;
use shared::http::{ErrorBody, HttpValidationError, QueryFields, path_id};
use shared::ids::{RoleId, UserId};
use shared::pagination::PageRequest;
use shared::session::Caller;
use shared::validation::{self, Fields};
use shared::{AppState, Result};

use crate::operations::{self as roles, GRANT, NewGrant, REVOKE, RoleFilter};
use crate::wire::{
    AdminRoleCreate, AdminRoleList, AdminRoleResponse, RoleName, parse_role, user_ref,
};

fn role_id(raw: &str) -> Result<RoleId> {
    path_id(raw, "Admin role", RoleId::parse)
}

fn list_reply(found: shared::pagination::Page<roles::AdminRoleGrant>) -> Json<AdminRoleList> {
    Json(AdminRoleList {
        items: found.items.into_iter().map(Into::into).collect(),
        pagination: found.pagination,
    })
}

/// List Admin Roles, newest first, revoked ones included. **super_admin: all; partner_admin:
/// grants held by users of its partner's tenants; tenant_admin: 403.** 200; 401; 403 (a
/// `user_id` filter outside reach); 422.
#[utoipa::path(get, path = "/api/v1/admin/admin-roles", operation_id = "list_admin_roles", summary = "List Admin Roles", tag = "Admin Roles",
    params(("page" = Option<u32>, Query, minimum = 1, maximum = 10000, description = "1-based page; page × per_page ≤ 10,000 (deeper: `cursor`); ignored with `cursor`"),
           ("per_page" = Option<u32>, Query, minimum = 1, maximum = 100, description = "default 20"),
           ("cursor" = Option<String>, Query, description = "`pagination.next_cursor` of the previous page, unchanged (opaque and signed: any other value is a 422)"),
           ("role" = Option<RoleName>, Query),
           ("user_id" = Option<String>, Query, pattern = "^usr_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$"),
           ("is_active" = Option<bool>, Query, description = "`true` or `false` (also `True`/`False`, `1`/`0`)")),
    responses((status = 200, body = AdminRoleList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = HttpValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn list_admin_roles(
    State(state): State<AppState>,
    caller: Caller,
    QueryFields(mut query): QueryFields,
) -> Result<Json<AdminRoleList>> {
    let page = PageRequest::read(&mut query);
    let filter = RoleFilter {
        role: query.optional("role", parse_role),
        user_id: query.optional("user_id", user_ref),
        is_active: query.optional("is_active", validation::boolean),
    };
    let page = query.finish(|| page)?;
    Ok(list_reply(
        roles::list(&state, &caller, &filter, &page).await?,
    ))
}

/// Grant Admin Role. **super_admin: any role; partner_admin: TENANT_ADMIN for its partner's
/// tenants, to their users; nobody to themselves.** 201; 401; 403; 404 user, tenant or partner;
/// 409 the user already holds the role, is not active, or its email holds admin roles in
/// another tenant; 422.
#[utoipa::path(post, path = "/api/v1/admin/admin-roles", operation_id = "grant_admin_role", summary = "Grant Admin Role", tag = "Admin Roles",
    request_body = AdminRoleCreate,
    responses((status = 201, body = AdminRoleResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = HttpValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn grant_admin_role(
    State(state): State<AppState>,
    caller: Caller,
    meta: RequestMeta,
    body: Result<Fields>,
) -> Result<(StatusCode, Json<AdminRoleResponse>)> {
    roles::may_write(&state, &caller, GRANT, None, &meta).await?;
    let new = NewGrant::try_from(body?)?;
    let grant = roles::grant(&state, &caller, &new, &meta).await?;
    Ok((StatusCode::CREATED, Json(grant.into())))
}

/// Get Admin Role (revoked ones too: `is_active` false). **Within reach.** 200; 401; 403; 404.
#[utoipa::path(get, path = "/api/v1/admin/admin-roles/{role_id}", operation_id = "get_admin_role", summary = "Get Admin Role", tag = "Admin Roles",
    params(("role_id" = String, Path)),
    responses((status = 200, body = AdminRoleResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn get_admin_role(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<AdminRoleResponse>> {
    let id = role_id(&raw)?;
    Ok(Json(roles::get(&state, &caller, &id).await?.into()))
}

/// Revoke Admin Role: the grant becomes inactive and the sessions issued under it end at once.
/// **super_admin: any; partner_admin: TENANT_ADMIN grants of its partner's tenants; nobody
/// their own.** 204; 401; 403; 404; 409 already revoked.
#[utoipa::path(delete, path = "/api/v1/admin/admin-roles/{role_id}", operation_id = "revoke_admin_role", summary = "Revoke Admin Role", tag = "Admin Roles",
    params(("role_id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn revoke_admin_role(
    State(state): State<AppState>,
    caller: Caller,
    meta: RequestMeta,
    Path(raw): Path<String>,
) -> Result<StatusCode> {
    roles::may_write(&state, &caller, REVOKE, Some(raw.clone()), &meta).await?;
    let id = role_id(&raw)?;
    roles::revoke(&state, &caller, &id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Get User Admin Roles: one user's grants, newest first, revoked ones included. **Users
/// within reach.** 200; 401; 403; 404 user; 422.
#[utoipa::path(get, path = "/api/v1/admin/admin-roles/user/{user_id}", operation_id = "get_user_admin_roles", summary = "Get User Admin Roles", tag = "Admin Roles",
    params(("user_id" = String, Path),
           ("page" = Option<u32>, Query, minimum = 1, maximum = 10000, description = "1-based page; page × per_page ≤ 10,000 (deeper: `cursor`); ignored with `cursor`"),
           ("per_page" = Option<u32>, Query, minimum = 1, maximum = 100, description = "default 20"),
           ("cursor" = Option<String>, Query, description = "`pagination.next_cursor` of the previous page, unchanged (opaque and signed: any other value is a 422)")),
    responses((status = 200, body = AdminRoleList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = HttpValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn get_user_admin_roles(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    QueryFields(mut query): QueryFields,
) -> Result<Json<AdminRoleList>> {
    let user_id = path_id(&raw, "User", UserId::parse)?;
    let page = PageRequest::read(&mut query);
    let page = query.finish(|| page)?;
    Ok(list_reply(
        roles::of_user(&state, &caller, &user_id, &page).await?,
    ))
}
