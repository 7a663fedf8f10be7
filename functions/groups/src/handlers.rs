//! Group handlers: authorize (in the operation's session check) → validate → call → map.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use shared::applications::assignments::ReachedApplicationList;
use shared::audit::RequestMeta;
use shared::http::{ErrorBody, HttpValidationError, QueryFields, path_id};
use shared::ids::GroupId;
use shared::pagination::PageRequest;
use shared::session::Caller;
use shared::validation::{self, Fields};
use shared::{AppState, Result};

use crate::members::{self, MemberRef};
use crate::operations::{self as groups, GroupFilter, GroupPatch};
use crate::store::GroupType;
use crate::wire::{
    EffectiveMemberList, GroupCreate, GroupList, GroupResponse, GroupUpdate, MemberAdd, MemberList,
    MemberResponse, group_type, partner_ref, tenant_ref,
};

fn group_id(raw: &str) -> Result<GroupId> {
    path_id(raw, "Group", GroupId::parse)
}

/// List Groups. **super_admin: all; partner_admin: its partner's tenants'; tenant_admin: its
/// tenant's.** Newest first. 200; 401; 403 (a `tenant_id`/`partner_id` filter outside reach); 422.
#[utoipa::path(get, path = "/api/v1/admin/groups", operation_id = "list_groups", summary = "List Groups", tag = "Groups",
    params(("page" = Option<u32>, Query, minimum = 1, maximum = 10000, description = "1-based page; page × per_page ≤ 10,000 (deeper: `cursor`); ignored with `cursor`"),
           ("per_page" = Option<u32>, Query, minimum = 1, maximum = 100, description = "default 20"),
           ("cursor" = Option<String>, Query, description = "`pagination.next_cursor` of the previous page, unchanged (opaque and signed: any other value is a 422)"),
           ("search" = Option<String>, Query, max_length = 200, pattern = "^$|\\S", description = "case-insensitive substring of name or description; empty = no filter"),
           ("tenant_id" = Option<String>, Query, pattern = "^tnt_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$"),
           ("partner_id" = Option<String>, Query, pattern = "^prt_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$"),
           ("group_type" = Option<GroupType>, Query)),
    responses((status = 200, body = GroupList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = HttpValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn list_groups(
    State(state): State<AppState>,
    caller: Caller,
    QueryFields(mut query): QueryFields,
) -> Result<Json<GroupList>> {
    let page = PageRequest::read(&mut query);
    let filter = GroupFilter {
        search: query.optional("search", |v| validation::text(v, 1, 200)),
        tenant_id: query.optional("tenant_id", tenant_ref),
        partner_id: query.optional("partner_id", partner_ref),
        group_type: query.optional("group_type", group_type),
    };
    let page = query.finish(|| page)?;
    let found = groups::list(&state, &caller, &filter, &page).await?;
    Ok(Json(GroupList {
        items: found.items.into_iter().map(Into::into).collect(),
        pagination: found.pagination,
    }))
}

/// Create Group in a tenant within reach. 201; 401; 403 tenant outside reach; 404 tenant; 409
/// name in use in the tenant; 422.
#[utoipa::path(post, path = "/api/v1/admin/groups", operation_id = "create_group", summary = "Create Group", tag = "Groups",
    request_body = GroupCreate,
    responses((status = 201, body = GroupResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = HttpValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn create_group(
    State(state): State<AppState>,
    caller: Caller,
    meta: RequestMeta,
    body: Result<Fields>,
) -> Result<(StatusCode, Json<GroupResponse>)> {
    let new = GroupCreate::try_from(body?)?.into();
    let group = groups::create(&state, &caller, new, &meta).await?;
    Ok((StatusCode::CREATED, Json(group.into())))
}

/// Get Group. **Within reach.** 200; 401; 403 outside reach; 404.
#[utoipa::path(get, path = "/api/v1/admin/groups/{group_id}", operation_id = "get_group", summary = "Get Group", tag = "Groups",
    params(("group_id" = String, Path)),
    responses((status = 200, body = GroupResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn get_group(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<GroupResponse>> {
    let id = group_id(&raw)?;
    Ok(Json(groups::get(&state, &caller, &id).await?.into()))
}

/// Update Group. **Within reach.** 200; 401; 403; 404; 409 name in use in the tenant; 422.
#[utoipa::path(patch, path = "/api/v1/admin/groups/{group_id}", operation_id = "update_group", summary = "Update Group", tag = "Groups",
    params(("group_id" = String, Path)), request_body = GroupUpdate,
    responses((status = 200, body = GroupResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = HttpValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn update_group(
    State(state): State<AppState>,
    caller: Caller,
    meta: RequestMeta,
    Path(raw): Path<String>,
    body: Fields,
) -> Result<Json<GroupResponse>> {
    let id = group_id(&raw)?;
    let patch: GroupPatch = GroupUpdate::try_from(body)?.into();
    Ok(Json(
        groups::update(&state, &caller, &id, &patch, &meta)
            .await?
            .into(),
    ))
}

/// Delete Group (soft; it leaves every group it was in and every effective membership at once;
/// its name is free again). **Within reach.** 204; 401; 403; 404.
#[utoipa::path(delete, path = "/api/v1/admin/groups/{group_id}", operation_id = "delete_group", summary = "Delete Group", tag = "Groups",
    params(("group_id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn delete_group(
    State(state): State<AppState>,
    caller: Caller,
    meta: RequestMeta,
    Path(raw): Path<String>,
) -> Result<StatusCode> {
    let id = group_id(&raw)?;
    groups::delete(&state, &caller, &id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List Group Members: direct members, users first then groups, each newest first. **Within
/// reach.** 200; 401; 403; 404; 422.
#[utoipa::path(get, path = "/api/v1/admin/groups/{group_id}/members", operation_id = "list_group_members", summary = "List Group Members", tag = "Groups",
    params(("group_id" = String, Path),
           ("page" = Option<u32>, Query, minimum = 1, maximum = 10000, description = "1-based page; page × per_page ≤ 10,000 (deeper: `cursor`); ignored with `cursor`"),
           ("per_page" = Option<u32>, Query, minimum = 1, maximum = 100, description = "default 20"),
           ("cursor" = Option<String>, Query, description = "`pagination.next_cursor` of the previous page, unchanged (opaque and signed: any other value is a 422)")),
    responses((status = 200, body = MemberList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = HttpValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn list_group_members(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    QueryFields(mut query): QueryFields,
) -> Result<Json<MemberList>> {
    let id = group_id(&raw)?;
    let page = PageRequest::read(&mut query);
    let page = query.finish(|| page)?;
    let found = members::list(&state, &caller, &id, &page).await?;
    Ok(Json(MemberList {
        items: found.items.into_iter().map(Into::into).collect(),
        pagination: found.pagination,
    }))
}

/// Add Group Member: `{user_id}` or `{group_id}` of the group's own tenant. **Within reach.**
/// 201; 401; 403; 404 group, or a user/group not live in the group's tenant; 409 already a
/// member, a cycle, or a nesting limit; 422.
#[utoipa::path(post, path = "/api/v1/admin/groups/{group_id}/members", operation_id = "add_group_member", summary = "Add Group Member", tag = "Groups",
    params(("group_id" = String, Path)), request_body = MemberAdd,
    responses((status = 201, body = MemberResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = HttpValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn add_group_member(
    State(state): State<AppState>,
    caller: Caller,
    meta: RequestMeta,
    Path(raw): Path<String>,
    body: Result<Fields>,
) -> Result<(StatusCode, Json<MemberResponse>)> {
    let id = group_id(&raw)?;
    let member = MemberRef::try_from(body?)?;
    let added = members::add(&state, &caller, &id, &member, &meta).await?;
    Ok((StatusCode::CREATED, Json(added.into())))
}

/// Remove Group Member (a user or group id). **Within reach.** 204; 401; 403; 404 group or
/// member.
#[utoipa::path(delete, path = "/api/v1/admin/groups/{group_id}/members/{member_id}", operation_id = "remove_group_member", summary = "Remove Group Member", tag = "Groups",
    params(("group_id" = String, Path), ("member_id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn remove_group_member(
    State(state): State<AppState>,
    caller: Caller,
    meta: RequestMeta,
    Path((raw, member)): Path<(String, String)>,
) -> Result<StatusCode> {
    let id = group_id(&raw)?;
    let member = if member.starts_with(shared::ids::UserId::PREFIX) {
        path_id(&member, "Member", shared::ids::UserId::parse)?.to_string()
    } else {
        path_id(&member, "Member", GroupId::parse)?.to_string()
    };
    members::remove(&state, &caller, &id, &member, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List Effective Members: every user in the group or nested in it at any depth, once, with
/// the shortest path of group ids it came through. **Within reach.** 200; 401; 403; 404; 422.
#[utoipa::path(get, path = "/api/v1/admin/groups/{group_id}/effective-members", operation_id = "list_effective_members", summary = "List Effective Members", tag = "Groups",
    params(("group_id" = String, Path),
           ("page" = Option<u32>, Query, minimum = 1, maximum = 10000, description = "1-based page; page × per_page ≤ 10,000 (deeper: `cursor`); ignored with `cursor`"),
           ("per_page" = Option<u32>, Query, minimum = 1, maximum = 100, description = "default 20"),
           ("cursor" = Option<String>, Query, description = "`pagination.next_cursor` of the previous page, unchanged (opaque and signed: any other value is a 422)")),
    responses((status = 200, body = EffectiveMemberList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = HttpValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn list_effective_members(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    QueryFields(mut query): QueryFields,
) -> Result<Json<EffectiveMemberList>> {
    let id = group_id(&raw)?;
    let page = PageRequest::read(&mut query);
    let page = query.finish(|| page)?;
    let found = members::effective(&state, &caller, &id, &page).await?;
    Ok(Json(EffectiveMemberList {
        items: found.items.into_iter().map(Into::into).collect(),
        pagination: found.pagination,
    }))
}

/// List Group Applications: the applications the group's members reach through it — assigned
/// to the group itself (`via: "direct"`) or to a group containing it at any depth (`via`: the
/// path from that group down to this one). **Within reach.** 200; 401; 403; 404; 422.
#[utoipa::path(get, path = "/api/v1/admin/groups/{group_id}/applications", operation_id = "list_group_applications", summary = "List Group Applications", tag = "Groups",
    params(("group_id" = String, Path),
           ("page" = Option<u32>, Query, minimum = 1, maximum = 10000, description = "1-based page; ignored with `cursor`"),
           ("per_page" = Option<u32>, Query, minimum = 1, maximum = 100, description = "default 20"),
           ("cursor" = Option<String>, Query, description = "`pagination.next_cursor` of the previous page, unchanged")),
    responses((status = 200, body = ReachedApplicationList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = HttpValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn list_group_applications(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    QueryFields(mut query): QueryFields,
) -> Result<Json<ReachedApplicationList>> {
    let id = group_id(&raw)?;
    let page = PageRequest::read(&mut query);
    let page = query.finish(|| page)?;
    let found = crate::applications::of_group(&state, &caller, &id, &page).await?;
    Ok(Json(ReachedApplicationList {
        items: found.items.into_iter().map(Into::into).collect(),
        pagination: found.pagination,
    }))
}
