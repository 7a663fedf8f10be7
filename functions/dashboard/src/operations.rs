//! Which counters each tier reads. Every number comes from one batch of counter items, whatever
//! the size of the reach:
//!
//! | number | super admin | partner admin (partner `p`) | tenant admin (tenant `t` of `p`) |
//! |---|---|---|---|
//! | partners | `COUNTER#PARTNERS` shards | 1 | 0 |
//! | tenants | `COUNTER#TENANTS` shards | `p.tenant_count` | 1 |
//! | users | `COUNTER#USERS` shards | `COUNTER#USERS#PARTNER#p` | `t.user_count` |
//! | groups | `COUNTER#GROUPS` shards | `COUNTER#GROUPS#PARTNER#p` | `COUNTER#GROUPS#t` |
//! | applications | `COUNTER#APPLICATIONS` shards | GLOBAL + `p`'s + `COUNTER#TENANT_APPS#PARTNER#p` | GLOBAL + `p`'s + `t`'s |
//! | agents | `COUNTER#AGENTS` shards | `COUNTER#AGENTS#PARTNER#p` | `COUNTER#AGENTS#t` |
//! | active sessions | `TALLY#SESSIONS#PLATFORM` windows | `…#PARTNER#p` windows | `…#TENANT#t` windows |
//! | pending requests | `TALLY#RRQS#PLATFORM` windows | `…#PARTNER#p` windows | `…#TENANT#t` windows |
//!
//! The windows read are today's up to the one where the longest-lived thing counted may end
//! (the session lifetime; a request's 30 days): 2 + 31 items with the default 12-hour sessions.

use shared::access::Tier;
use shared::audit::AuditEvent;
use shared::error::Result;
use shared::hierarchy::{Partner, Tenant};
use shared::ids::{PartnerId, TenantId};
use shared::session::{self, Caller};
use shared::state::AppState;
use shared::store::audit::EventReach;
use shared::store::counters::{Counter, SHARDS};
use shared::store::tally::{self, Expiring, PartnerCount, Scope};
use shared::store::{Key, Loaded, keys};
use shared::time::Timestamp;

pub const DEFAULT_ACTIVITY: usize = 20;
pub const MAX_ACTIVITY: usize = 100;

/// What a reach holds now.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub partners: u64,
    pub tenants: u64,
    pub users: u64,
    pub groups: u64,
    pub applications: u64,
    pub agents: u64,
    pub active_sessions: u64,
    pub pending_registration_requests: u64,
}

/// The platform-wide totals kept in shards by the groups themselves.
fn shards(key: fn(u64) -> Key) -> Vec<Key> {
    (0..SHARDS).map(key).collect()
}

fn sum(loaded: &Loaded, keys: &[Key]) -> u64 {
    keys.iter()
        .map(|k| loaded.number(k, "count"))
        .sum::<i64>()
        .max(0) as u64
}

fn count(loaded: &Loaded, key: &Key) -> u64 {
    loaded.number(key, "count").max(0) as u64
}

/// The counters of one reach: the keys to read, then the numbers from what was read.
struct Plan<'a> {
    tier: &'a Tier,
    now: Timestamp,
    session_lifetime: std::time::Duration,
}

impl Plan<'_> {
    fn scope(&self) -> Scope<'_> {
        match self.tier {
            Tier::Super => Scope::Platform,
            Tier::Partner(p) => Scope::Partner(p),
            Tier::Tenant { tenant, .. } => Scope::Tenant(tenant),
        }
    }

    fn expiring_keys(&self, kind: Expiring) -> Vec<Key> {
        kind.keys(
            self.scope(),
            self.now,
            tally::horizon(kind, self.session_lifetime),
        )
    }

    fn expiring(&self, kind: Expiring, loaded: &Loaded) -> u64 {
        kind.count(
            self.scope(),
            self.now,
            tally::horizon(kind, self.session_lifetime),
            loaded,
        )
    }

    fn keys(&self) -> Vec<Key> {
        let mut wanted = match self.tier {
            Tier::Super => [
                Counter::Partners.shard_keys(),
                Counter::Tenants.shard_keys(),
                Counter::Users.shard_keys(),
                shards(keys::group_count_shard),
                Counter::Applications.shard_keys(),
                shards(keys::agent_count_shard),
            ]
            .concat(),
            Tier::Partner(p) => vec![
                keys::partner(p),
                PartnerCount::Users.key(p),
                PartnerCount::Groups.key(p),
                keys::app_count_global(),
                keys::app_count_of_partner(p),
                PartnerCount::TenantApps.key(p),
                PartnerCount::Agents.key(p),
            ],
            Tier::Tenant { partner, tenant } => vec![
                keys::tenant(tenant),
                keys::group_count_of_tenant(tenant),
                keys::app_count_global(),
                keys::app_count_of_partner(partner),
                keys::app_count_of_tenant(tenant),
                keys::agent_count_of_tenant(tenant),
            ],
        };
        wanted.extend(self.expiring_keys(Expiring::Sessions));
        wanted.extend(self.expiring_keys(Expiring::PendingRequests));
        wanted
    }

    fn read(&self, loaded: &Loaded) -> Result<Stats> {
        let counts = match self.tier {
            Tier::Super => Stats {
                partners: Counter::Partners.total(loaded),
                tenants: Counter::Tenants.total(loaded),
                users: Counter::Users.total(loaded),
                groups: sum(loaded, &shards(keys::group_count_shard)),
                applications: Counter::Applications.total(loaded),
                agents: sum(loaded, &shards(keys::agent_count_shard)),
                ..Stats::default()
            },
            Tier::Partner(p) => partner_stats(p, loaded)?,
            Tier::Tenant { partner, tenant } => tenant_stats(partner, tenant, loaded)?,
        };
        Ok(Stats {
            active_sessions: self.expiring(Expiring::Sessions, loaded),
            pending_registration_requests: self.expiring(Expiring::PendingRequests, loaded),
            ..counts
        })
    }
}

fn partner_stats(p: &PartnerId, loaded: &Loaded) -> Result<Stats> {
    let partner: Option<Partner> = loaded.get(&keys::partner(p))?;
    Ok(Stats {
        partners: 1,
        tenants: partner.map_or(0, |p| p.tenant_count),
        users: PartnerCount::Users.total(p, loaded),
        groups: PartnerCount::Groups.total(p, loaded),
        applications: count(loaded, &keys::app_count_global())
            + count(loaded, &keys::app_count_of_partner(p))
            + PartnerCount::TenantApps.total(p, loaded),
        agents: PartnerCount::Agents.total(p, loaded),
        ..Stats::default()
    })
}

fn tenant_stats(partner: &PartnerId, t: &TenantId, loaded: &Loaded) -> Result<Stats> {
    let tenant: Option<Tenant> = loaded.get(&keys::tenant(t))?;
    Ok(Stats {
        partners: 0,
        tenants: 1,
        users: tenant.map_or(0, |t| t.user_count),
        groups: count(loaded, &keys::group_count_of_tenant(t)),
        applications: count(loaded, &keys::app_count_global())
            + count(loaded, &keys::app_count_of_partner(partner))
            + count(loaded, &keys::app_count_of_tenant(t)),
        agents: count(loaded, &keys::agent_count_of_tenant(t)),
        ..Stats::default()
    })
}

/// The numbers of the caller's reach: the session check, then one batch of counters.
pub async fn stats(state: &AppState, caller: &Caller) -> Result<Stats> {
    let (principal, _) = session::check(state, caller, &[]).await?;
    let plan = Plan {
        tier: &principal.tier,
        now: Timestamp::now(),
        session_lifetime: state.config().session_ttl,
    };
    let loaded = state.store().load(&plan.keys()).await?;
    plan.read(&loaded)
}

/// The latest `limit` events of the caller's reach (the audit list's partitions: its tenant,
/// its partner, or the platform's shards merged).
pub async fn activity(state: &AppState, caller: &Caller, limit: usize) -> Result<Vec<AuditEvent>> {
    let (principal, _) = session::check(state, caller, &[]).await?;
    let reach = match &principal.tier {
        Tier::Super => EventReach::Platform,
        Tier::Partner(p) => EventReach::Partner(p),
        Tier::Tenant { tenant, .. } => EventReach::Tenant(tenant),
    };
    Ok(state.store().newest_events(reach, limit).await?)
}
