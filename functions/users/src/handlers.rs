//! User handlers: authorize (in the operation's session check) → validate → call → map.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use shared::applications::assignments::ReachedApplicationList;
use shared::audit::RequestMeta;
use shared::hierarchy::UserStatus;
use shared::http::{ErrorBody, HttpValidationError, QueryFields, path_id};
use shared::ids::UserId;
use shared::pagination::PageRequest;
use shared::session::Caller;
use shared::validation::{self, Fields};
use shared::{AppState, Result};

use crate::operations::{self as users, NewPassword, UserFilter, UserPatch};
use crate::wire::{
    ResetPassword, ResetPasswordResponse, UserCreate, UserGroupList, UserList, UserResponse,
    UserUpdate, partner_ref, tenant_ref,
};

fn user_id(raw: &str) -> Result<UserId> {
    path_id(raw, "User", UserId::parse)
}

/// List Users. **super_admin: all; partner_admin: the users of its partner's tenants;
/// tenant_admin: its tenant's.** 200; 401; 403 (a `tenant_id`/`partner_id` filter outside
/// reach); 404 (a `tenant_id` filter naming no tenant); 422.
#[utoipa::path(get, path = "/api/v1/admin/users", operation_id = "list_users", summary = "List Users", tag = "Users",
    params(("page" = Option<u32>, Query, minimum = 1, maximum = 10000, description = "1-based page; page × per_page ≤ 10,000 (deeper: `cursor`); ignored with `cursor`"),
           ("per_page" = Option<u32>, Query, minimum = 1, maximum = 100, description = "default 20"),
           ("cursor" = Option<String>, Query, description = "`pagination.next_cursor` of the previous page, unchanged (opaque and signed: any other value is a 422)"),
           ("search" = Option<String>, Query, max_length = 200, pattern = "^$|\\S", description = "case-insensitive substring of email, first, last or display name; empty = no filter"),
           ("status" = Option<UserStatus>, Query),
           ("tenant_id" = Option<String>, Query, pattern = "^tnt_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$"),
           ("partner_id" = Option<String>, Query, pattern = "^prt_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$")),
    responses((status = 200, body = UserList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = HttpValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
    QueryFields(mut query): QueryFields,
) -> Result<Json<UserList>> {
    let page = PageRequest::read(&mut query);
    let filter = UserFilter {
        search: query.optional("search", |v| validation::text(v, 1, 200)),
        status: query.optional("status", UserStatus::parse_settable),
        tenant_id: query.optional("tenant_id", tenant_ref),
        partner_id: query.optional("partner_id", partner_ref),
    };
    let page = query.finish(|| page)?;
    let found = users::list(&state, &caller, &filter, &page).await?;
    Ok(Json(UserList {
        items: found.items.into_iter().map(Into::into).collect(),
        pagination: found.pagination,
    }))
}

/// Create User. **Any admin, in a tenant within its reach.** 201; 401; 403; 404 tenant;
/// 409 email in use in the tenant, or the partner's `max_users_per_tenant` reached; 422
/// (including a password the tenant's policy refuses, naming the rule).
#[utoipa::path(post, path = "/api/v1/admin/users", operation_id = "create_user", summary = "Create User", tag = "Users",
    request_body = UserCreate,
    responses((status = 201, body = UserResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = HttpValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    meta: RequestMeta,
    body: Result<Fields>,
) -> Result<(StatusCode, Json<UserResponse>)> {
    let new = UserCreate::try_from(body?)?.into();
    let user = users::create(&state, &caller, new, &meta).await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// Get User. **Within reach.** 200; 401; 403 outside reach; 404.
#[utoipa::path(get, path = "/api/v1/admin/users/{user_id}", operation_id = "get_user", summary = "Get User", tag = "Users",
    params(("user_id" = String, Path)),
    responses((status = 200, body = UserResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn get_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<UserResponse>> {
    let id = user_id(&raw)?;
    Ok(Json(users::get(&state, &caller, &id).await?.into()))
}

/// Update User. **Within reach** (not a user holding a higher admin role). 200; 401; 403;
/// 404; 409 email in use; 422 (`password` is refused here).
#[utoipa::path(patch, path = "/api/v1/admin/users/{user_id}", operation_id = "update_user", summary = "Update User", tag = "Users",
    params(("user_id" = String, Path)), request_body = UserUpdate,
    responses((status = 200, body = UserResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = HttpValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn update_user(
    State(state): State<AppState>,
    caller: Caller,
    meta: RequestMeta,
    Path(raw): Path<String>,
    body: Fields,
) -> Result<Json<UserResponse>> {
    let id = user_id(&raw)?;
    let patch: UserPatch = UserUpdate::try_from(body)?.into();
    Ok(Json(
        users::update(&state, &caller, &id, &patch, &meta)
            .await?
            .into(),
    ))
}

/// Delete User (soft; restorable for 30 days). **Within reach.** 204; 401; 403; 404; 409
/// deleting yourself.
#[utoipa::path(delete, path = "/api/v1/admin/users/{user_id}", operation_id = "delete_user", summary = "Delete User", tag = "Users",
    params(("user_id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn delete_user(
    State(state): State<AppState>,
    caller: Caller,
    meta: RequestMeta,
    Path(raw): Path<String>,
) -> Result<StatusCode> {
    let id = user_id(&raw)?;
    users::delete(&state, &caller, &id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Restore User within 30 days of deletion. **Within reach.** 200; 401; 403; 404; 409 not
/// deleted or the partner's `max_users_per_tenant` reached.
#[utoipa::path(post, path = "/api/v1/admin/users/{user_id}/restore", operation_id = "restore_user", summary = "Restore User", tag = "Users",
    params(("user_id" = String, Path)),
    responses((status = 200, body = UserResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn restore_user(
    State(state): State<AppState>,
    caller: Caller,
    meta: RequestMeta,
    Path(raw): Path<String>,
) -> Result<Json<UserResponse>> {
    let id = user_id(&raw)?;
    Ok(Json(
        users::restore(&state, &caller, &id, &meta).await?.into(),
    ))
}

/// Reset User Password: `{new_password}` (checked against the tenant's policy) or
/// `{generate: true}` (the temporary password is in this response, once). Revokes every
/// session of the user. **Within reach** (not a user holding a higher admin role). 200; 401;
/// 403; 404; 422.
#[utoipa::path(post, path = "/api/v1/admin/users/{user_id}/reset-password", operation_id = "reset_user_password", summary = "Reset User Password", tag = "Users",
    params(("user_id" = String, Path)), request_body = ResetPassword,
    responses((status = 200, body = ResetPasswordResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = HttpValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn reset_user_password(
    State(state): State<AppState>,
    caller: Caller,
    meta: RequestMeta,
    Path(raw): Path<String>,
    body: Fields,
) -> Result<Json<ResetPasswordResponse>> {
    let id = user_id(&raw)?;
    let new = NewPassword::try_from(body)?;
    Ok(Json(
        users::reset_password(&state, &caller, &id, new, &meta)
            .await?
            .into(),
    ))
}

/// List User Groups. **Whoever may read the user.** Every live group the user is in: `DIRECT`
/// memberships first, then groups reached through nesting (`INHERITED`), nearest first. 200;
/// 401; 403 outside reach; 404; 422.
#[utoipa::path(get, path = "/api/v1/admin/users/{user_id}/groups", operation_id = "list_user_groups", summary = "List User Groups", tag = "Users",
    params(("user_id" = String, Path),
           ("page" = Option<u32>, Query, minimum = 1, maximum = 10000, description = "1-based page; ignored with `cursor`"),
           ("per_page" = Option<u32>, Query, minimum = 1, maximum = 100, description = "default 20"),
           ("cursor" = Option<String>, Query, description = "`pagination.next_cursor` of the previous page, unchanged")),
    responses((status = 200, body = UserGroupList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = HttpValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn list_user_groups(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    QueryFields(mut query): QueryFields,
) -> Result<Json<UserGroupList>> {
    let id = user_id(&raw)?;
    let page = PageRequest::read(&mut query);
    let page = query.finish(|| page)?;
    let found = crate::groups::of_user(&state, &caller, &id, &page).await?;
    Ok(Json(UserGroupList {
        items: found.items.into_iter().map(Into::into).collect(),
        pagination: found.pagination,
    }))
}

/// List User Applications: the applications the user reaches — assigned to the user itself or
/// to a group it is in, at any nesting depth — each once, with `via` (`"direct"` or the group
/// path from the assigned group down to the user's own group). **Whoever may read the user.**
/// 200; 401; 403 outside reach; 404; 422.
#[utoipa::path(get, path = "/api/v1/admin/users/{user_id}/applications", operation_id = "list_user_applications", summary = "List User Applications", tag = "Users",
    params(("user_id" = String, Path),
           ("page" = Option<u32>, Query, minimum = 1, maximum = 10000, description = "1-based page; ignored with `cursor`"),
           ("per_page" = Option<u32>, Query, minimum = 1, maximum = 100, description = "default 20"),
           ("cursor" = Option<String>, Query, description = "`pagination.next_cursor` of the previous page, unchanged")),
    responses((status = 200, body = ReachedApplicationList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = HttpValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn list_user_applications(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    QueryFields(mut query): QueryFields,
) -> Result<Json<ReachedApplicationList>> {
    let id = user_id(&raw)?;
    let page = PageRequest::read(&mut query);
    let page = query.finish(|| page)?;
    let found = crate::applications::of_user(&state, &caller, &id, &page).await?;
    Ok(Json(ReachedApplicationList {
        items: found.items.into_iter().map(Into::into).collect(),
        pagination: found.pagination,
    }))
}
