//! Agent items and transactions.
//!
//! - the agent: `AGENT#<agt>` / `AGENT`, listed per tenant (GSI1 `TENANT#<tnt>#AGENTS`) and
//!   platform-wide (GSI2 `AGENTS`), live only; its client secret only as a keyed hash
//!   (`secret_hash`, and `previous_secret_hash` during a rotation's grace period);
//! - counters of live agents per tenant (`COUNTER#AGENTS#<tnt>`) and (8 shards) platform-wide,
//!   and the partner's count of its live tenants' agents (`tally::PartnerCount::Agents`, with
//!   the tenant's fence);
//! - the token endpoint (`functions/oauth`) also writes in the agent's partition: its
//!   `last_used_at` (at most once a minute) and the per-minute rate counters
//!   `AGENT#<agt>` / `RATE#<minute>` (TTL), never through these transactions.
//!
//! As with identity providers, no index names the agent's partner: a partner's agents are its
//! tenants' as they are now. The agent's `partner_id` is a hint every write checks against the
//! tenant (`tenant_still_with`).

use serde::{Deserialize, Serialize};
use shared::audit::AuditEvent;
use shared::ids::{AgentId, PartnerId, TenantId, UserId};
use shared::store::counters::SHARDS;
use shared::store::tally::{self, PartnerCount};
use shared::store::write::lifecycle_item;
use shared::store::{Entity, Expr, Guard, Item, Key, Store, StoreError, Tx, keys, s};
use shared::time::Timestamp;
use shared::values::Status;

/// The tenant an agent is created in: it must exist, not be deleted, and be the partner's.
pub const TENANT: Guard = Guard::Parent("tenant");
/// The owner: a live user of the agent's tenant until the write commits.
pub const OWNER: Guard = Guard::Parent("owner");

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum AgentType {
    Assistant,
    Autonomous,
    Workflow,
}

impl AgentType {
    pub const ALL: [(&'static str, AgentType); 3] = [
        ("ASSISTANT", AgentType::Assistant),
        ("AUTONOMOUS", AgentType::Autonomous),
        ("WORKFLOW", AgentType::Workflow),
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Assistant => "ASSISTANT",
            Self::Autonomous => "AUTONOMOUS",
            Self::Workflow => "WORKFLOW",
        }
    }
}

/// An agent as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    pub id: AgentId,
    pub tenant_id: TenantId,
    /// A hint: the partner of the tenant at the agent's last write. A write assumes it and its
    /// transaction checks the tenant still belongs to it; reads and lists never rely on it.
    pub partner_id: PartnerId,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub agent_type: AgentType,
    pub status: Status,
    pub allowed_tools: Vec<String>,
    pub allowed_scopes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_rpm: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_user_id: Option<UserId>,
    pub token_exchange_allowed: bool,
    /// HMAC-SHA256 of the client secret (`shared::client_secret`); never leaves the store.
    pub secret_hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_secret_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_secret_expires_at: Option<Timestamp>,
    /// Set by the token endpoint on successful grants, at most once a minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<Timestamp>,
    pub version: u64,
}

impl Agent {
    /// The lower-cased text `search` matches: name and description.
    pub fn search_text(&self) -> String {
        match &self.description {
            Some(d) => format!("{}\n{}", self.name, d).to_lowercase(),
            None => self.name.to_lowercase(),
        }
    }

    /// What the agent looks like in an audit event's `changes`: no secret hash, ever.
    pub fn audit_view(&self) -> serde_json::Value {
        let mut view = self.clone();
        view.secret_hash = String::new();
        view.previous_secret_hash = None;
        let mut value = shared::audit::snapshot(&view);
        if let Some(map) = value.as_object_mut() {
            map.remove("secret_hash");
        }
        value
    }
}

impl Entity for Agent {
    const NAME: &'static str = "AGENT";

    fn key(&self) -> Key {
        keys::agent(&self.id)
    }
}

shared::lifecycle_fields!(Agent);

/// The stored agent; a deleted one (`purge_at`) leaves both list indexes.
pub fn agent_item(agent: &Agent, purge_at: Option<Timestamp>) -> Result<Item, StoreError> {
    let mut item = lifecycle_item(
        agent,
        purge_at,
        &[
            (keys::GSI1PK, keys::agents_of_tenant(&agent.tenant_id)),
            (keys::GSI1SK, agent.id.to_string()),
            (keys::GSI2PK, keys::ALL_AGENTS.to_owned()),
            (keys::GSI2SK, agent.id.to_string()),
        ],
    )?;
    item.insert("search_text".into(), s(agent.search_text()));
    Ok(item)
}

/// Live-agent counters of the tenant and the platform, and of the tenant's partner as the write
/// read it (`None`: the tenant is deleted, its share counted nowhere); the tenant's fence moved.
/// The caller holds the tenant as read in the same transaction.
fn count_agents(
    tx: &mut Tx,
    agent: &Agent,
    partner: Option<&PartnerId>,
    delta: i64,
) -> Result<(), StoreError> {
    PartnerCount::Agents.count_in_tenant(
        tx,
        &agent.tenant_id,
        keys::agent_count_shard,
        partner,
        delta,
    )
}

/// The keys holding the platform-wide total.
pub fn platform_count_keys() -> Vec<Key> {
    (0..SHARDS).map(keys::agent_count_shard).collect()
}

/// The owner stays a live user of the agent's tenant until the write commits.
fn check_owner(tx: &mut Tx, agent: &Agent) -> Result<(), StoreError> {
    if let Some(owner) = &agent.owner_user_id {
        tx.check(
            &keys::user(owner),
            OWNER,
            "attribute_exists(PK) AND tenant_id = :tenant AND #status <> :deleted",
            Expr::default()
                .name("#status", "status")
                .value(":tenant", s(agent.tenant_id.to_string()))
                .value(":deleted", s("DELETED")),
        )?;
    }
    Ok(())
}

/// Agent (new), tenant (exists, not deleted, the partner's), [owner live in the tenant],
/// counters (the partner's too), audit.
pub async fn create(store: &Store, agent: &Agent, event: &AuditEvent) -> Result<(), StoreError> {
    let mut tx = store.tx();
    tx.put_new(agent_item(agent, None)?, Guard::Item)?;
    tx.check(
        &keys::tenant(&agent.tenant_id),
        TENANT,
        "attribute_exists(PK) AND #status <> :deleted AND partner_id = :partner",
        Expr::default()
            .name("#status", "status")
            .value(":deleted", s("DELETED"))
            .value(":partner", s(agent.partner_id.to_string())),
    )?;
    check_owner(&mut tx, agent)?;
    count_agents(&mut tx, agent, Some(&agent.partner_id), 1)?;
    store.add_event(&mut tx, event)?;
    store.transact(tx).await
}

/// Agent (versioned), tenant still with the assumed partner, [a newly named owner live in the
/// tenant], audit. (Also rotate-secret.)
pub async fn update(
    store: &Store,
    before: &Agent,
    after: &Agent,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = store.tx();
    tx.put_versioned(agent_item(after, None)?, before.version)?;
    tenant_still_with(&mut tx, &after.tenant_id, &after.partner_id)?;
    if after.owner_user_id.is_some() && after.owner_user_id != before.owner_user_id {
        check_owner(&mut tx, after)?;
    }
    store.add_event(&mut tx, event)?;
    store.transact(tx).await
}

/// Agent (versioned) out of the lists with its purge time, counters, audit. Its tokens are
/// refused from then on (the token endpoint reads the agent on every grant).
///
/// `counted_under` is the tenant as the write read it: live under that partner (whose count
/// the agent leaves too), or `None`, deleted (its share is out of every partner already). A
/// tenant otherwise since refuses the write (`Guard::Item`: re-read, re-decided).
pub async fn delete(
    store: &Store,
    before: &Agent,
    after: &Agent,
    purge_at: Timestamp,
    counted_under: Option<&PartnerId>,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = store.tx();
    tx.put_versioned(agent_item(after, Some(purge_at))?, before.version)?;
    tally::hold_tenant(&mut tx, &after.tenant_id, counted_under, Guard::Item)?;
    count_agents(&mut tx, before, counted_under, -1)?;
    store.add_event(&mut tx, event)?;
    store.transact(tx).await
}

/// The agent's tenant still belongs to `partner` — the partner the write assumed and files its
/// event under. A transfer since then refuses the write (`Guard::Item`: re-read, re-decided).
fn tenant_still_with(
    tx: &mut Tx,
    tenant: &TenantId,
    partner: &PartnerId,
) -> Result<(), StoreError> {
    tx.check(
        &keys::tenant(tenant),
        Guard::Item,
        "partner_id = :partner",
        Expr::default().value(":partner", s(partner.to_string())),
    )?;
    Ok(())
}

impl shared::lists::Merged for Agent {
    fn merge_id(&self) -> &str {
        self.id.as_str()
    }

    fn key_for(id: &str) -> Option<Key> {
        AgentId::parse(id).ok().map(|id| keys::agent(&id))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use shared::store::describe;

    fn at() -> Timestamp {
        Timestamp::parse("2026-01-02T03:04:05.000006Z").unwrap()
    }

    fn agent() -> Agent {
        Agent {
            id: AgentId::parse("agt_01kb2z8hqv3m4n5p6r7s8t9w0g").unwrap(),
            tenant_id: TenantId::parse("tnt_01kb2z8hqv3m4n5p6r7s8t9w0g").unwrap(),
            partner_id: PartnerId::parse("prt_01kb2z8hqv3m4n5p6r7s8t9w1g").unwrap(),
            name: "Support Bot".into(),
            description: Some("Answers Tickets".into()),
            agent_type: AgentType::Autonomous,
            status: Status::Active,
            allowed_tools: vec!["files.*".into(), "search".into()],
            allowed_scopes: vec!["tickets:read".into()],
            rate_limit_rpm: Some(60),
            owner_user_id: Some(UserId::parse("usr_01kb2z8hqv3m4n5p6r7s8t9w0g").unwrap()),
            token_exchange_allowed: true,
            secret_hash: "ab12".into(),
            previous_secret_hash: Some("cd34".into()),
            previous_secret_expires_at: Some(at()),
            last_used_at: Some(at()),
            created_at: at(),
            updated_at: at(),
            deleted_at: None,
            version: 3,
        }
    }

    fn pinned(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// The stored form is a contract with data already in tables (and with the token
    /// endpoint, which reads it).
    #[test]
    fn a_live_agent_item_is_pinned() {
        let item = describe(&agent_item(&agent(), None).unwrap());
        assert_eq!(
            item,
            pinned(&[
                ("GSI1PK", "S:TENANT#tnt_01kb2z8hqv3m4n5p6r7s8t9w0g#AGENTS"),
                ("GSI1SK", "S:agt_01kb2z8hqv3m4n5p6r7s8t9w0g"),
                ("GSI2PK", "S:AGENTS"),
                ("GSI2SK", "S:agt_01kb2z8hqv3m4n5p6r7s8t9w0g"),
                ("PK", "S:AGENT#agt_01kb2z8hqv3m4n5p6r7s8t9w0g"),
                ("SK", "S:AGENT"),
                ("agent_type", "S:AUTONOMOUS"),
                ("allowed_scopes", "L:[S:tickets:read]"),
                ("allowed_tools", "L:[S:files.*, S:search]"),
                ("created_at", "S:2026-01-02T03:04:05.000006Z"),
                ("description", "S:Answers Tickets"),
                ("entity", "S:AGENT"),
                ("id", "S:agt_01kb2z8hqv3m4n5p6r7s8t9w0g"),
                ("last_used_at", "S:2026-01-02T03:04:05.000006Z"),
                ("name", "S:Support Bot"),
                ("owner_user_id", "S:usr_01kb2z8hqv3m4n5p6r7s8t9w0g"),
                ("partner_id", "S:prt_01kb2z8hqv3m4n5p6r7s8t9w1g"),
                (
                    "previous_secret_expires_at",
                    "S:2026-01-02T03:04:05.000006Z"
                ),
                ("previous_secret_hash", "S:cd34"),
                ("rate_limit_rpm", "N:60"),
                ("search_text", "S:support bot\nanswers tickets"),
                ("secret_hash", "S:ab12"),
                ("status", "S:ACTIVE"),
                ("tenant_id", "S:tnt_01kb2z8hqv3m4n5p6r7s8t9w0g"),
                ("token_exchange_allowed", "BOOL:true"),
                ("updated_at", "S:2026-01-02T03:04:05.000006Z"),
                ("version", "N:3"),
            ])
        );
        let back: Agent = shared::store::decode(agent_item(&agent(), None).unwrap()).unwrap();
        assert_eq!(back, agent());
    }

    #[test]
    fn a_deleted_agent_item_leaves_both_lists_and_expires() {
        let purge = Timestamp::from_unix(1_800_000_000).unwrap();
        let item = describe(&agent_item(&agent(), Some(purge)).unwrap());
        assert_eq!(item.get("ttl").map(String::as_str), Some("N:1800000000"));
        for index_key in ["GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK"] {
            assert!(!item.contains_key(index_key), "{index_key}");
        }
    }

    #[test]
    fn the_audit_view_never_carries_a_secret_hash() {
        let view = agent().audit_view().to_string();
        assert!(!view.contains("ab12") && !view.contains("cd34"), "{view}");
        assert!(!view.contains("secret_hash"), "{view}");
    }
}
