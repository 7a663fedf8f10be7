//! Wire types of the agents API: what a client sends and sees. The client secret is shown in
//! the create and rotate-secret answers only; no hash ever leaves the store.

use serde::Serialize;
use serde_json::Value;
use shared::applications::schema::ScopeToken;
use shared::error::Result;
use shared::pagination::Pagination;
use shared::time::Timestamp;
pub use shared::validation::tenant_ref;
use shared::validation::{self, Fields, Problem};
use shared::values::{Name, Status};
use utoipa::ToSchema;

use crate::operations::{
    self, AgentPatch, MAX_GRACE_SECONDS, NewAgent, agent_type, description, owner_ref, rate_limit,
    tools,
};
use crate::store::{Agent, AgentType};

/// An agent as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct AgentResponse {
    id: String,
    /// The OAuth `client_id` of the agent: its id.
    client_id: String,
    tenant_id: String,
    name: String,
    description: Option<String>,
    agent_type: AgentType,
    status: Status,
    /// Tool names; a trailing `*` allows every tool starting with what precedes it.
    allowed_tools: Vec<String>,
    allowed_scopes: Vec<String>,
    /// Token requests per minute at the token endpoint (429 beyond); null: no limit.
    rate_limit_rpm: Option<u32>,
    owner_user_id: Option<String>,
    token_exchange_allowed: bool,
    created_at: Timestamp,
    updated_at: Timestamp,
    /// The last successful token grant (recorded at most once a minute).
    last_used_at: Option<Timestamp>,
}

impl From<Agent> for AgentResponse {
    fn from(agent: Agent) -> Self {
        Self {
            id: agent.id.to_string(),
            client_id: agent.id.to_string(),
            tenant_id: agent.tenant_id.to_string(),
            name: agent.name,
            description: agent.description,
            agent_type: agent.agent_type,
            status: agent.status,
            allowed_tools: agent.allowed_tools,
            allowed_scopes: agent.allowed_scopes,
            rate_limit_rpm: agent.rate_limit_rpm,
            owner_user_id: agent.owner_user_id.map(|u| u.to_string()),
            token_exchange_allowed: agent.token_exchange_allowed,
            created_at: agent.created_at,
            updated_at: agent.updated_at,
            last_used_at: agent.last_used_at,
        }
    }
}

/// A new agent with its client secret, shown this once.
#[derive(Serialize, ToSchema)]
pub struct AgentCreated {
    #[serde(flatten)]
    pub agent: AgentResponse,
    /// Store it now: it is never shown again (`rotate-secret` makes a new one).
    pub client_secret: String,
}

/// A rotated secret, shown this once, and until when the previous one still works.
#[derive(Serialize, ToSchema)]
pub struct AgentSecretRotated {
    #[serde(flatten)]
    pub agent: AgentResponse,
    pub client_secret: String,
    /// Null: the previous secret stopped working at once (`grace_period_seconds` 0).
    pub previous_secret_expires_at: Option<Timestamp>,
}

#[derive(Serialize, ToSchema)]
pub struct AgentList {
    pub items: Vec<AgentResponse>,
    pub pagination: Pagination,
}

pub fn status_filter(value: &Value) -> std::result::Result<Status, Problem> {
    Status::parse_filter(value)
}

pub use operations::agent_type as agent_type_filter;

// ---- request bodies (schemas; the handlers parse `Fields` straight into the operations' types)

shared::string_schema!(
    /// A tool an agent may call (`operations::tools`).
    ToolName,
    pattern = r"^[A-Za-z0-9_.:-]{1,128}\*?$",
    max_length = operations::MAX_TOOL_LENGTH + 1,
    description = "1 to 128 characters of `A-Z a-z 0-9 _ . : -`, with an optional trailing `*` \
                   (a prefix wildcard: `files.*` allows every tool whose name starts with \
                   `files.`).",
);

/// Body of Create Agent.
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct AgentCreate {
    #[schema(value_type = String, pattern = "^tnt_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$")]
    pub tenant_id: String,
    #[schema(value_type = String, min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: String,
    #[schema(max_length = 1000)]
    pub description: Option<String>,
    /// Default `ASSISTANT`.
    pub agent_type: Option<AgentType>,
    /// Default `ACTIVE`.
    pub status: Option<Status>,
    /// At most 100 tool names. Default: none.
    #[schema(max_items = 100)]
    pub allowed_tools: Option<Vec<ToolName>>,
    /// RFC 6749 scope tokens, at most 50. Default: none.
    #[schema(max_items = 50)]
    pub allowed_scopes: Option<Vec<ScopeToken>>,
    #[schema(minimum = 1, maximum = 100000)]
    pub rate_limit_rpm: Option<u32>,
    /// A live user of the agent's tenant.
    #[schema(pattern = "^usr_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$")]
    pub owner_user_id: Option<String>,
    /// Default `false`: may the agent exchange a user's token for one acting for that user
    /// (RFC 8693).
    pub token_exchange_allowed: Option<bool>,
}

/// Body of Update Agent: only fields present change; `null` clears `description`,
/// `rate_limit_rpm` and `owner_user_id`. The tenant and the client id never change and are not
/// part of it, but a client may send back what it read: `tenant_id` and `client_id` with the
/// agent's own values are accepted and ignored, as is any field it does not know (`id`,
/// `created_at`, …); another tenant or client id is a 422 naming it.
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct AgentUpdate {
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200, pattern = "\\S", nullable = false)]
    pub name: Option<String>,
    #[schema(max_length = 1000)]
    pub description: Option<String>,
    #[schema(nullable = false)]
    pub agent_type: Option<AgentType>,
    #[schema(nullable = false)]
    pub status: Option<Status>,
    #[schema(max_items = 100, nullable = false)]
    pub allowed_tools: Option<Vec<ToolName>>,
    #[schema(max_items = 50, nullable = false)]
    pub allowed_scopes: Option<Vec<ScopeToken>>,
    #[schema(minimum = 1, maximum = 100000)]
    pub rate_limit_rpm: Option<u32>,
    #[schema(pattern = "^usr_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$")]
    pub owner_user_id: Option<String>,
    #[schema(nullable = false)]
    pub token_exchange_allowed: Option<bool>,
}

/// Body of Rotate Agent Secret (optional).
#[derive(ToSchema)]
#[allow(dead_code)] // The schema of the body; the handler reads the one field.
pub struct RotateAgentSecret {
    /// How long the previous secret keeps working, in seconds: 0 (default) to 604800 (7 days).
    #[schema(minimum = 0, maximum = 604800)]
    grace_period_seconds: Option<u32>,
}

/// A client never picks its secret or id.
const GENERATED: &str = "generated by the server; use rotate-secret for a new secret";
const NO_TENANT_CHANGE: &str = "an agent never changes tenant; create another agent";

/// Reads a create body: every problem at once.
pub fn new_agent(mut body: Fields) -> Result<NewAgent> {
    let tenant_id = body.required("tenant_id", tenant_ref);
    let name = body.required("name", Name::parse);
    let description = body.optional("description", description);
    let agent_type = body.optional("agent_type", agent_type);
    let status = body.optional("status", Status::parse_settable);
    let allowed_tools = body.optional("allowed_tools", tools);
    let allowed_scopes = body.optional("allowed_scopes", shared::applications::rules::scopes);
    let rate_limit_rpm = body.optional("rate_limit_rpm", rate_limit);
    let owner_user_id = body.optional("owner_user_id", owner_ref);
    let token_exchange_allowed = body.optional("token_exchange_allowed", validation::boolean);
    body.forbid("client_secret", GENERATED);
    body.forbid("client_id", GENERATED);
    body.finish(|| {
        Some(NewAgent {
            tenant_id: tenant_id?,
            name: name?,
            description: description.filter(|d| !d.is_empty()),
            agent_type: agent_type.unwrap_or(AgentType::Assistant),
            status: status.unwrap_or(Status::Active),
            allowed_tools: allowed_tools.unwrap_or_default(),
            allowed_scopes: allowed_scopes.unwrap_or_default(),
            rate_limit_rpm,
            owner_user_id,
            token_exchange_allowed: token_exchange_allowed.unwrap_or(false),
        })
    })
}

/// Reads an update body.
pub fn agent_patch(mut body: Fields) -> Result<AgentPatch> {
    let patch = AgentPatch {
        tenant_id: body.fixed("tenant_id", NO_TENANT_CHANGE, tenant_ref),
        client_id: body.fixed("client_id", GENERATED, |v| {
            validation::string(v).map(str::to_owned)
        }),
        name: body.patch_required("name", Name::parse),
        description: body.patch("description", description),
        agent_type: body.patch_required("agent_type", agent_type),
        status: body.patch_required("status", Status::parse_settable),
        allowed_tools: body.patch_required("allowed_tools", tools),
        allowed_scopes: body.patch_required("allowed_scopes", shared::applications::rules::scopes),
        rate_limit_rpm: body.patch("rate_limit_rpm", rate_limit),
        owner_user_id: body.patch("owner_user_id", owner_ref),
        token_exchange_allowed: body.patch_required("token_exchange_allowed", validation::boolean),
    };
    body.forbid("client_secret", GENERATED);
    body.check()?;
    Ok(patch)
}

/// The grace period of a rotation (0 when absent).
pub fn grace_period(mut body: Fields) -> Result<i64> {
    let grace = body.optional("grace_period_seconds", |v| {
        validation::integer_in(v, 0, MAX_GRACE_SECONDS)
    });
    body.finish(|| Some(grace.unwrap_or(0)))
}
