//! Agent operations (SPEC §4.10): every tier manages the agents within its reach (super_admin:
//! all; partner_admin: its partner's tenants', as they are now; tenant_admin: its own
//! tenant's), reads and writes alike — the rule of identity providers. Also the rules of an
//! agent's settings (`tools`, `rate_limit`), which the wire types share.

use serde_json::{Value, json};
use shared::access::{self, Principal};
use shared::audit::{self, Actor, Attempt, AuditAction, AuditEvent, RequestMeta};
use shared::client_secret;
use shared::error::{Error, FieldProblem, Result};
use shared::hierarchy::{Tenant, User};
use shared::ids::{AgentId, PartnerId, TenantId, UserId};
use shared::lifecycle::{self, Attempts, Lifecycle, live};
use shared::lists::TenantScopedList;
use shared::pagination::{Page, PageRequest};
use shared::session::{self, Caller};
use shared::state::AppState;
use shared::store::{Loaded, keys};
use shared::time::Timestamp;
use shared::validation::{self, Fixed, Patch, Problem};
use shared::values::{Name, Status};

use crate::store::{self, Agent, AgentType, OWNER, TENANT};

pub const CREATE: AuditAction = AuditAction::new("agent.create", "agent");
pub const UPDATE: AuditAction = AuditAction::new("agent.update", "agent");
pub const DELETE: AuditAction = AuditAction::new("agent.delete", "agent");
pub const ROTATE_SECRET: AuditAction = AuditAction::new("agent.rotate_secret", "agent");
/// Every action this group records: its part of the audit catalogue.
pub const ACTIONS: &[AuditAction] = &[CREATE, UPDATE, DELETE, ROTATE_SECRET];

pub(crate) const RESOURCE: &str = "Agent";

pub const MAX_TOOLS: usize = 100;
pub const MAX_TOOL_LENGTH: usize = 128;
pub const RATE_LIMIT_RPM: (i64, i64) = (1, 100_000);
pub const DESCRIPTION_MAX: usize = 1000;
/// The longest a rotated-out secret keeps working (as for applications).
pub const MAX_GRACE_SECONDS: i64 = 7 * 86_400;

const NOT_AN_OWNER: &str = "must be a live user of the agent's tenant";

// ---- settings rules -------------------------------------------------------------------------

/// A tool name: 1 to 128 characters of `[A-Za-z0-9_.:-]`, optionally followed by one `*` (a
/// prefix wildcard: `files.*` allows every tool whose name starts with `files.`).
fn tool(text: &str) -> std::result::Result<String, String> {
    let body = text.strip_suffix('*').unwrap_or(text);
    let valid = (1..=MAX_TOOL_LENGTH).contains(&body.len())
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.:-".contains(&b));
    if valid {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "a tool name is 1 to {MAX_TOOL_LENGTH} characters of A-Z a-z 0-9 _ . : - with an \
             optional trailing *"
        ))
    }
}

/// The tools an agent may call: at most 100 names (duplicates dropped).
pub fn tools(value: &Value) -> std::result::Result<Vec<String>, Problem> {
    let Value::Array(items) = value else {
        return Err(Problem::new("list_type", "Input should be a valid list"));
    };
    if items.len() > MAX_TOOLS {
        return Err(Problem::new(
            "too_long",
            format!("List should have at most {MAX_TOOLS} items"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = |mut problem: Problem| {
            problem.below.insert(0, json!(i));
            problem
        };
        let parsed = tool(validation::string(item).map_err(at)?)
            .map_err(|msg| at(Problem::value_error(msg)))?;
        if !out.contains(&parsed) {
            out.push(parsed);
        }
    }
    Ok(out)
}

pub fn rate_limit(value: &Value) -> std::result::Result<u32, Problem> {
    validation::integer_in(value, RATE_LIMIT_RPM.0, RATE_LIMIT_RPM.1).map(|n| n as u32)
}

pub fn description(value: &Value) -> std::result::Result<String, Problem> {
    validation::text(value, 0, DESCRIPTION_MAX)
}

pub fn owner_ref(value: &Value) -> std::result::Result<UserId, Problem> {
    UserId::parse(validation::string(value)?).map_err(|_| Problem::value_error("not a user id"))
}

pub fn agent_type(value: &Value) -> std::result::Result<AgentType, Problem> {
    validation::one_of(value, &AgentType::ALL)
}

fn field_error(field: &str, msg: &str) -> Error {
    Error::Validation(vec![FieldProblem::new(
        vec![json!("body"), json!(field)],
        "value_error",
        format!("Value error, {msg}"),
    )])
}

// ---- the resource ---------------------------------------------------------------------------

pub struct NewAgent {
    pub tenant_id: TenantId,
    pub name: Name,
    pub description: Option<String>,
    pub agent_type: AgentType,
    pub status: Status,
    pub allowed_tools: Vec<String>,
    pub allowed_scopes: Vec<String>,
    pub rate_limit_rpm: Option<u32>,
    pub owner_user_id: Option<UserId>,
    pub token_exchange_allowed: bool,
}

/// A partial update: only what is present changes; `null` clears the nullable fields
/// (`description`, `rate_limit_rpm`, `owner_user_id`). The tenant never changes.
#[derive(Default)]
pub struct AgentPatch {
    /// Cannot change: accepted as read, else a 422.
    pub tenant_id: Fixed<TenantId>,
    /// The agent's id: accepted as read, else a 422.
    pub client_id: Fixed<String>,
    pub name: Option<Name>,
    pub description: Patch<String>,
    pub agent_type: Option<AgentType>,
    pub status: Option<Status>,
    pub allowed_tools: Option<Vec<String>>,
    pub allowed_scopes: Option<Vec<String>>,
    pub rate_limit_rpm: Patch<u32>,
    pub owner_user_id: Patch<UserId>,
    pub token_exchange_allowed: Option<bool>,
}

#[derive(Default, Clone)]
pub struct AgentFilter {
    pub search: Option<String>,
    pub tenant_id: Option<TenantId>,
    pub status: Option<Status>,
    pub agent_type: Option<AgentType>,
}

/// What the tenant-owned tier rules (`shared::tenant_owned`) judge.
fn owned(agent: &Agent) -> shared::tenant_owned::Owned<'_> {
    shared::tenant_owned::Owned {
        id: agent.id.as_str(),
        tenant: &agent.tenant_id,
        partner_hint: &agent.partner_id,
        resource: RESOURCE,
    }
}

/// The tier rule for reads: the rule of the tenant the agent belongs to, judged by the tenant's
/// partner as it is now (read from the tenant for a partner admin).
async fn within_reach(state: &AppState, principal: &Principal, agent: &Agent) -> Result<()> {
    shared::tenant_owned::within_reach(state, principal, owned(agent)).await
}

/// A write to an agent: within reach, or refused and recorded (DENIED). Returns the partner
/// the write assumes (its event is filed under it; its transaction checks the tenant still
/// belongs to it): a tenant admin's own, else the agent's hint; the tenant is read only on a
/// retry or before refusing on the hint.
async fn may_write(
    state: &AppState,
    principal: &Principal,
    agent: &Agent,
    action: AuditAction,
    meta: &RequestMeta,
    retry: bool,
) -> Result<PartnerId> {
    shared::tenant_owned::may_write(state, principal, owned(agent), action, meta, retry).await
}

/// A live agent within the caller's session check (one round trip), with `extra` keys.
async fn checked(
    state: &AppState,
    caller: &Caller,
    id: &AgentId,
    extra: Option<&UserId>,
) -> Result<(Principal, Agent, Loaded)> {
    let key = keys::agent(id);
    let mut wanted = vec![key.clone()];
    wanted.extend(extra.map(keys::user));
    let (principal, loaded) = session::check(state, caller, &wanted).await?;
    let agent: Agent = live(loaded.get(&key)?, RESOURCE)?;
    Ok((principal, agent, loaded))
}

/// The owner named by a write is a live user of the agent's tenant (else 422). The transaction
/// checks it again (`OWNER`).
fn check_owner(loaded: &Loaded, tenant: &TenantId, owner: Option<&UserId>) -> Result<()> {
    let Some(owner) = owner else {
        return Ok(());
    };
    let found: Option<User> = loaded.get(&keys::user(owner))?;
    match found {
        Some(user) if user.tenant_id == *tenant && !user.is_deleted() => Ok(()),
        _ => Err(field_error("owner_user_id", NOT_AN_OWNER)),
    }
}

fn event_for(
    principal: &Principal,
    action: AuditAction,
    agent: &Agent,
    partner: &PartnerId,
    meta: &RequestMeta,
) -> AuditEvent {
    AuditEvent::new(
        Actor::admin(principal),
        action,
        Some(agent.id.to_string()),
        meta,
    )
    .in_tenant(partner, &agent.tenant_id)
}

/// Creates an agent in a live tenant within reach, under the partner the tenant has in the same
/// transaction. Returns the agent and its client secret (shown this once).
pub async fn create(
    state: &AppState,
    caller: &Caller,
    new: NewAgent,
    meta: &RequestMeta,
) -> Result<(Agent, String)> {
    let id = AgentId::generate();
    let secret = client_secret::generate();
    let hashed = client_secret::hash(state, &secret).await?;
    let agent = lifecycle::retry_stale("tenant", || {
        create_once(state, caller, &new, &id, &hashed, meta)
    })
    .await?;
    Ok((agent, secret))
}

async fn create_once(
    state: &AppState,
    caller: &Caller,
    new: &NewAgent,
    id: &AgentId,
    hashed: &str,
    meta: &RequestMeta,
) -> Result<Agent> {
    let tenant_key = keys::tenant(&new.tenant_id);
    let mut wanted = vec![tenant_key.clone()];
    wanted.extend(new.owner_user_id.as_ref().map(keys::user));
    let (principal, loaded) = session::check(state, caller, &wanted).await?;
    let attempt = || Attempt {
        action: CREATE,
        resource_id: None,
    };
    let tenant: Option<Tenant> = loaded.get(&tenant_key)?;
    let tenant = match tenant.filter(|t| !t.is_deleted()) {
        Some(t) => t,
        // An unknown tenant is outside every reach but the super admin's.
        None if principal.is_super() => return Err(Error::NotFound("Tenant")),
        None => {
            audit::check_write(state, &principal, Err(Error::AccessDenied), attempt(), meta)
                .await?;
            return Err(Error::AccessDenied);
        }
    };
    let verdict = access::tenants::read(&principal, &tenant.partner_id, &tenant.id);
    audit::check_write(state, &principal, verdict, attempt(), meta).await?;
    check_owner(&loaded, &tenant.id, new.owner_user_id.as_ref())?;
    let now = Timestamp::now();
    let agent = Agent {
        id: id.clone(),
        tenant_id: tenant.id.clone(),
        partner_id: tenant.partner_id.clone(),
        name: new.name.as_str().to_owned(),
        description: new.description.clone(),
        agent_type: new.agent_type,
        status: new.status,
        allowed_tools: new.allowed_tools.clone(),
        allowed_scopes: new.allowed_scopes.clone(),
        rate_limit_rpm: new.rate_limit_rpm,
        owner_user_id: new.owner_user_id.clone(),
        token_exchange_allowed: new.token_exchange_allowed,
        secret_hash: hashed.to_owned(),
        previous_secret_hash: None,
        previous_secret_expires_at: None,
        last_used_at: None,
        created_at: now,
        updated_at: now,
        deleted_at: None,
        version: 1,
    };
    let event = event_for(&principal, CREATE, &agent, &tenant.partner_id, meta)
        .with_changes(&json!({}), &agent.audit_view());
    match store::create(state.store(), &agent, &event).await {
        Ok(()) => Ok(agent),
        Err(err) => match err.refused_by() {
            // Deleted or moved since the session check read it: the retry reads it again.
            Some(TENANT) | Some(OWNER) => Err(Error::Stale),
            _ => Err(err.into()),
        },
    }
}

pub async fn get(state: &AppState, caller: &Caller, id: &AgentId) -> Result<Agent> {
    let (principal, agent, _) = checked(state, caller, id, None).await?;
    within_reach(state, &principal, &agent).await?;
    Ok(agent)
}

/// The next version of `before` under `patch`.
fn apply(before: &Agent, patch: &AgentPatch) -> Agent {
    let mut next = before.clone();
    if let Some(name) = &patch.name {
        next.name = name.as_str().to_owned();
    }
    match &patch.description {
        Patch::Keep => {}
        Patch::Clear => next.description = None,
        Patch::Set(d) => next.description = Some(d.clone()).filter(|d| !d.is_empty()),
    }
    if let Some(t) = patch.agent_type {
        next.agent_type = t;
    }
    if let Some(status) = patch.status {
        next.status = status;
    }
    if let Some(tools) = &patch.allowed_tools {
        next.allowed_tools = tools.clone();
    }
    if let Some(scopes) = &patch.allowed_scopes {
        next.allowed_scopes = scopes.clone();
    }
    match patch.rate_limit_rpm {
        Patch::Keep => {}
        Patch::Clear => next.rate_limit_rpm = None,
        Patch::Set(rpm) => next.rate_limit_rpm = Some(rpm),
    }
    match &patch.owner_user_id {
        Patch::Keep => {}
        Patch::Clear => next.owner_user_id = None,
        Patch::Set(owner) => next.owner_user_id = Some(owner.clone()),
    }
    if let Some(allowed) = patch.token_exchange_allowed {
        next.token_exchange_allowed = allowed;
    }
    next
}

pub async fn update(
    state: &AppState,
    caller: &Caller,
    id: &AgentId,
    patch: &AgentPatch,
    meta: &RequestMeta,
) -> Result<Agent> {
    let attempts = Attempts::default();
    let owner = match &patch.owner_user_id {
        Patch::Set(owner) => Some(owner),
        _ => None,
    };
    lifecycle::retry_stale("agent", || async {
        let (principal, before, loaded) = checked(state, caller, id, owner).await?;
        let retry = attempts.next_is_retry();
        let partner = may_write(state, &principal, &before, UPDATE, meta, retry).await?;
        validation::unchanged([
            patch.tenant_id.changed(Some(&before.tenant_id)),
            patch.client_id.changed(Some(&before.id.to_string())),
        ])?;
        if owner != before.owner_user_id.as_ref() {
            check_owner(&loaded, &before.tenant_id, owner)?;
        }
        let mut after = lifecycle::next_version(&before, apply(&before, patch));
        after.partner_id = partner.clone();
        let event = event_for(&principal, UPDATE, &after, &partner, meta)
            .with_changes(&before.audit_view(), &after.audit_view());
        match store::update(state.store(), &before, &after, &event).await {
            Ok(()) => Ok(after),
            // The owner went since the batch read it: the retry reads it again (→ 422).
            Err(err) if err.refused_by() == Some(OWNER) => Err(Error::Stale),
            Err(err) => Err(err.into()),
        }
    })
    .await
}

/// A new client secret, returned once; the previous one keeps working for `grace_seconds`
/// (0: it stops at once), so a fleet can roll over without downtime.
pub async fn rotate_secret(
    state: &AppState,
    caller: &Caller,
    id: &AgentId,
    grace_seconds: i64,
    meta: &RequestMeta,
) -> Result<(Agent, String)> {
    let attempts = Attempts::default();
    let secret = client_secret::generate();
    let hashed = client_secret::hash(state, &secret).await?;
    let (hashed, attempts) = (&hashed, &attempts);
    let agent = lifecycle::retry_stale("agent", || async move {
        let (principal, before, _) = checked(state, caller, id, None).await?;
        let retry = attempts.next_is_retry();
        let partner = may_write(state, &principal, &before, ROTATE_SECRET, meta, retry).await?;
        let mut after = lifecycle::next_version(&before, before.clone());
        let now = after.updated_at;
        (after.previous_secret_hash, after.previous_secret_expires_at) = if grace_seconds > 0 {
            (
                Some(before.secret_hash.clone()),
                Some(now.plus(std::time::Duration::from_secs(grace_seconds as u64))),
            )
        } else {
            (None, None)
        };
        after.secret_hash = hashed.clone();
        after.partner_id = partner.clone();
        let mut event = event_for(&principal, ROTATE_SECRET, &after, &partner, meta)
            .with_changes(&before.audit_view(), &after.audit_view());
        // The secret changed: say so, never with its value or hash.
        if let Some(changes) = event.changes.as_mut() {
            changes.insert(
                "client_secret".into(),
                json!({"from": "[REDACTED]", "to": "[REDACTED]"}),
            );
        }
        store::update(state.store(), &before, &after, &event).await?;
        Ok(after)
    })
    .await?;
    Ok((agent, secret))
}

/// Soft-deletes an agent: it leaves lists and counts at once and its client secret stops
/// working (agents have no restore).
pub async fn delete(
    state: &AppState,
    caller: &Caller,
    id: &AgentId,
    meta: &RequestMeta,
) -> Result<()> {
    let attempts = Attempts::default();
    lifecycle::retry_stale("agent", || async {
        let (principal, before, _) = checked(state, caller, id, None).await?;
        // The first attempt assumes the tenant live under the agent's hint (its transaction
        // holds that); a retry reads the tenant, which may have been deleted (the agent may
        // still go, counted under no partner) or moved.
        let tenant = match attempts.next_is_retry() {
            true => Some(Tenant::now(state, &before.tenant_id, RESOURCE).await?),
            false => None,
        };
        let partner = match &tenant {
            Some(t) => {
                let owned = shared::tenant_owned::Owned {
                    partner_hint: &t.partner_id,
                    ..owned(&before)
                };
                shared::tenant_owned::may_write(state, &principal, owned, DELETE, meta, false)
                    .await?
            }
            None => may_write(state, &principal, &before, DELETE, meta, false).await?,
        };
        let live = tenant.as_ref().is_none_or(|t| !t.is_deleted());
        let (mut after, purge_at) = lifecycle::deleted(&before);
        after.partner_id = partner.clone();
        let event = event_for(&principal, DELETE, &before, &partner, meta);
        let counted_under = live.then_some(&partner);
        Ok(store::delete(
            state.store(),
            &before,
            &after,
            purge_at,
            counted_under,
            &event,
        )
        .await?)
    })
    .await
}

/// List Agents within the caller's reach, newest first (`shared::lists::TenantScopedList`).
pub async fn list(
    state: &AppState,
    caller: &Caller,
    filter: &AgentFilter,
    page: &PageRequest,
) -> Result<Page<Agent>> {
    let mut equals: Vec<(&'static str, String)> = Vec::new();
    if let Some(status) = filter.status {
        equals.push(("status", status.as_str().to_owned()));
    }
    if let Some(t) = filter.agent_type {
        equals.push(("agent_type", t.as_str().to_owned()));
    }
    let list = TenantScopedList {
        name: "agents",
        tenant_filter: filter.tenant_id.as_ref(),
        partner_filter: None,
        of_tenant: keys::agents_of_tenant,
        tenant_counter: keys::agent_count_of_tenant,
        all: keys::ALL_AGENTS,
        platform_counters: store::platform_count_keys(),
        equals,
        contains: filter.search.as_ref().map(|s| s.to_lowercase()),
    };
    let (principal, loaded) = session::check(state, caller, &list.keys_to_check(caller)?).await?;
    list.page(state, &principal, &loaded, page).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_names_allow_one_trailing_wildcard() {
        assert_eq!(
            tools(&json!([
                "files.*",
                "search",
                "crm:contacts.read",
                "a_b-c",
                "search"
            ]))
            .unwrap(),
            vec!["files.*", "search", "crm:contacts.read", "a_b-c"]
        );
        for bad in [
            "",
            "*",
            "files.**",
            "fi*les",
            "a b",
            "tool/x",
            "é",
            &"x".repeat(129),
        ] {
            assert!(tools(&json!([bad])).is_err(), "{bad:?}");
        }
        assert!(tools(&json!([format!("{}*", "x".repeat(128))])).is_ok());
        let many: Vec<String> = (0..101).map(|i| format!("t{i}")).collect();
        assert_eq!(tools(&json!(many)).unwrap_err().kind, "too_long");
        assert_eq!(tools(&json!("files.*")).unwrap_err().kind, "list_type");
    }

    #[test]
    fn rate_limits_are_1_to_100000() {
        assert_eq!(rate_limit(&json!(1)).unwrap(), 1);
        assert_eq!(rate_limit(&json!(100_000)).unwrap(), 100_000);
        for bad in [
            json!(0),
            json!(100_001),
            json!(-1),
            json!(1.5),
            json!("ten"),
        ] {
            assert!(rate_limit(&bad).is_err(), "{bad}");
        }
    }
}
