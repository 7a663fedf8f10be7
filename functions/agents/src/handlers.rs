//! Agent handlers: authorize (in the operation's session check) → validate → call → map.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use shared::audit::RequestMeta;
use shared::http::{ErrorBody, HttpValidationError, QueryFields, path_id};
use shared::ids::AgentId;
use shared::pagination::PageRequest;
use shared::session::Caller;
use shared::validation::{self, Fields};
use shared::values::Status;
use shared::{AppState, Result};

use crate::operations::{self as agents, AgentFilter};
use crate::store::AgentType;
use crate::wire::{
    AgentCreate, AgentCreated, AgentList, AgentResponse, AgentSecretRotated, AgentUpdate,
    RotateAgentSecret, agent_patch, agent_type_filter, grace_period, new_agent, status_filter,
    tenant_ref,
};

fn agent_id(raw: &str) -> Result<AgentId> {
    path_id(raw, "Agent", AgentId::parse)
}

/// List Agents. **super_admin: all; partner_admin: its partner's tenants'; tenant_admin: its
/// tenant's.** Newest first. 200; 401; 403 (a `tenant_id` filter outside reach); 422.
#[utoipa::path(get, path = "/api/v1/admin/agents", operation_id = "list_agents", summary = "List Agents", tag = "MCP Agents",
    params(("page" = Option<u32>, Query, minimum = 1, maximum = 10000, description = "1-based page; page × per_page ≤ 10,000 (deeper: `cursor`); ignored with `cursor`"),
           ("per_page" = Option<u32>, Query, minimum = 1, maximum = 100, description = "default 20"),
           ("cursor" = Option<String>, Query, description = "`pagination.next_cursor` of the previous page, unchanged (opaque and signed: any other value is a 422)"),
           ("search" = Option<String>, Query, max_length = 200, pattern = "^$|\\S", description = "case-insensitive substring of the name or description; empty = no filter"),
           ("tenant_id" = Option<String>, Query, pattern = "^tnt_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$"),
           ("status" = Option<Status>, Query),
           ("agent_type" = Option<AgentType>, Query)),
    responses((status = 200, body = AgentList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = HttpValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn list_agents(
    State(state): State<AppState>,
    caller: Caller,
    QueryFields(mut query): QueryFields,
) -> Result<Json<AgentList>> {
    let page = PageRequest::read(&mut query);
    let filter = AgentFilter {
        search: query.optional("search", |v| validation::text(v, 1, 200)),
        tenant_id: query.optional("tenant_id", tenant_ref),
        status: query.optional("status", status_filter),
        agent_type: query.optional("agent_type", agent_type_filter),
    };
    let page = query.finish(|| page)?;
    let found = agents::list(&state, &caller, &filter, &page).await?;
    Ok(Json(AgentList {
        items: found.items.into_iter().map(Into::into).collect(),
        pagination: found.pagination,
    }))
}

/// Create Agent in a tenant within reach. The answer carries the agent's `client_secret`, shown
/// this once (256 random bits; stored only as a keyed hash). 201; 401; 403 tenant outside
/// reach; 404 tenant; 422 (also: `owner_user_id` not a live user of the tenant).
#[utoipa::path(post, path = "/api/v1/admin/agents", operation_id = "create_agent", summary = "Create Agent", tag = "MCP Agents",
    request_body = AgentCreate,
    responses((status = 201, body = AgentCreated), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = HttpValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn create_agent(
    State(state): State<AppState>,
    caller: Caller,
    meta: RequestMeta,
    body: Result<Fields>,
) -> Result<(StatusCode, Json<AgentCreated>)> {
    let new = new_agent(body?)?;
    let (agent, secret) = agents::create(&state, &caller, new, &meta).await?;
    Ok((
        StatusCode::CREATED,
        Json(AgentCreated {
            agent: agent.into(),
            client_secret: secret,
        }),
    ))
}

/// Get Agent. **Within reach.** 200; 401; 403 outside reach; 404.
#[utoipa::path(get, path = "/api/v1/admin/agents/{agent_id}", operation_id = "get_agent", summary = "Get Agent", tag = "MCP Agents",
    params(("agent_id" = String, Path)),
    responses((status = 200, body = AgentResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn get_agent(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<AgentResponse>> {
    let id = agent_id(&raw)?;
    Ok(Json(agents::get(&state, &caller, &id).await?.into()))
}

/// Update Agent (partial). **Within reach.** 200; 401; 403; 404; 422 (also: `tenant_id`, or an
/// `owner_user_id` not a live user of the agent's tenant).
#[utoipa::path(patch, path = "/api/v1/admin/agents/{agent_id}", operation_id = "update_agent", summary = "Update Agent", tag = "MCP Agents",
    params(("agent_id" = String, Path)), request_body = AgentUpdate,
    responses((status = 200, body = AgentResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = HttpValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn update_agent(
    State(state): State<AppState>,
    caller: Caller,
    meta: RequestMeta,
    Path(raw): Path<String>,
    body: Fields,
) -> Result<Json<AgentResponse>> {
    let id = agent_id(&raw)?;
    let patch = agent_patch(body)?;
    Ok(Json(
        agents::update(&state, &caller, &id, &patch, &meta)
            .await?
            .into(),
    ))
}

/// Delete Agent (soft; its secret stops working at once, no restore). **Within reach.** 204;
/// 401; 403; 404.
#[utoipa::path(delete, path = "/api/v1/admin/agents/{agent_id}", operation_id = "delete_agent", summary = "Delete Agent", tag = "MCP Agents",
    params(("agent_id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn delete_agent(
    State(state): State<AppState>,
    caller: Caller,
    meta: RequestMeta,
    Path(raw): Path<String>,
) -> Result<StatusCode> {
    let id = agent_id(&raw)?;
    agents::delete(&state, &caller, &id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Rotate Agent Secret: a new secret, shown this once; the previous one keeps working for
/// `grace_period_seconds` (default 0, at most 7 days). The body is optional. **Within reach.**
/// 200; 401; 403; 404; 422.
#[utoipa::path(post, path = "/api/v1/admin/agents/{agent_id}/rotate-secret", operation_id = "rotate_agent_secret", summary = "Rotate Agent Secret", tag = "MCP Agents",
    params(("agent_id" = String, Path)), request_body(content = Option<RotateAgentSecret>),
    responses((status = 200, body = AgentSecretRotated), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = HttpValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn rotate_agent_secret(
    State(state): State<AppState>,
    caller: Caller,
    meta: RequestMeta,
    Path(raw): Path<String>,
    body: Bytes,
) -> Result<Json<AgentSecretRotated>> {
    let id = agent_id(&raw)?;
    let body = shared::http::optional_body(validation::absent_if_null(&body))?;
    let grace = grace_period(body)?;
    let (agent, secret) = agents::rotate_secret(&state, &caller, &id, grace, &meta).await?;
    Ok(Json(AgentSecretRotated {
        previous_secret_expires_at: agent.previous_secret_expires_at,
        agent: agent.into(),
        client_secret: secret,
    }))
}
