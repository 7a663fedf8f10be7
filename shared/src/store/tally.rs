//! The counts the dashboard reads in O(1) (`functions/dashboard`), kept by the writes of the
//! groups that own the counted things, in the transaction that changes them:
//!
//! - [`PartnerCount`] — live users, groups, TENANT applications and agents of a partner's live
//!   tenants (`COUNTER#<KIND>#PARTNER#<prt>` / `COUNT`), beside each tenant's own counter. A
//!   write adds to its tenant's partner as it read it and holds that with a condition on the
//!   tenant (`partner_id = :p`, not deleted). A tenant's transfer, delete and restore move the
//!   tenant's whole share at once ([`TenantShare`]).
//! - [`Expiring`] — active sessions and pending registration requests, which stop counting when
//!   they expire, without any write. Each is added at its expiry minute to a day window
//!   (`TALLY#<KIND>#<scope>` / `DAY#<unix day>`, one number attribute `m<minute of the day>` per
//!   minute something expires in) of its tenant, its tenant's partner and the platform; the count
//!   at `now` sums the minutes after `now` over the windows up to the horizon. Expiries are whole
//!   minutes (a session ends on the minute before its lifetime is up, a request on the minute
//!   after its 30 days), so the sum is exact to the second.
//!
//! Every write that changes a tenant's share also moves the tenant's fence
//! (`TALLY#TENANT#<tnt>` / `FENCE`): a transfer reads the share and the fence in one isolated
//! read and commits only if the fence has not moved, so no write slips between the read and the
//! move. (Users need no fence: their counter is on the tenant item, whose version the transfer
//! checks.)

use std::collections::BTreeMap;

use super::tx::{Expr, Guard, Tx, n};
use super::{Key, Loaded, StoreError};
use crate::ids::{PartnerId, TenantId};
use crate::time::Timestamp;

const DAY_SECONDS: i64 = 86_400;

/// A window is purged by TTL a day after its last minute has passed.
const PURGE_GRACE_SECONDS: i64 = DAY_SECONDS;

/// A refused move: the tenant's share changed since it was read — like a versioned write that
/// lost its race, re-read and retry.
pub const FENCE: Guard = Guard::Item;

/// Things counted per partner, beside each tenant's own counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartnerCount {
    Users,
    Groups,
    TenantApps,
    Agents,
}

impl PartnerCount {
    pub const ALL: [Self; 4] = [Self::Users, Self::Groups, Self::TenantApps, Self::Agents];

    fn name(self) -> &'static str {
        match self {
            Self::Users => "USERS",
            Self::Groups => "GROUPS",
            Self::TenantApps => "TENANT_APPS",
            Self::Agents => "AGENTS",
        }
    }

    pub fn key(self, partner: &PartnerId) -> Key {
        Key::new(
            format!("COUNTER#{}#PARTNER#{partner}", self.name()),
            "COUNT",
        )
    }

    /// The tenant's own counter (users count on the tenant item: `user_count`).
    fn tenant_key(self, tenant: &TenantId) -> Option<Key> {
        match self {
            Self::Users => None,
            Self::Groups => Some(super::keys::group_count_of_tenant(tenant)),
            Self::TenantApps => Some(super::keys::app_count_of_tenant(tenant)),
            Self::Agents => Some(super::keys::agent_count_of_tenant(tenant)),
        }
    }

    /// Counts one more (`delta` 1) or one less (-1) live thing of `tenant`, whose platform total
    /// is sharded under `platform_shard`: the tenant's counter, one platform shard picked at
    /// random, the partner's count when the tenant is live under `partner` (the caller holds
    /// it there), and the tenant's fence. For groups and agents (TENANT applications keep
    /// their owner counters in `shared::applications`).
    pub fn count_in_tenant(
        self,
        tx: &mut Tx,
        tenant: &TenantId,
        platform_shard: fn(u64) -> Key,
        partner: Option<&PartnerId>,
        delta: i64,
    ) -> Result<(), StoreError> {
        let tenant_key = self
            .tenant_key(tenant)
            .ok_or_else(|| StoreError::Corrupt("users count on the tenant item".into()))?;
        let shard = crate::secrets::random_below(super::counters::SHARDS);
        for key in [tenant_key, platform_shard(shard)] {
            tx.update(
                &key,
                "ADD #count :delta",
                Expr::default()
                    .name("#count", "count")
                    .value(":delta", n(delta)),
            )?;
        }
        if let Some(p) = partner {
            self.add(tx, p, delta)?;
        }
        fence(tx, tenant)
    }

    pub fn total(self, partner: &PartnerId, loaded: &Loaded) -> u64 {
        loaded.number(&self.key(partner), "count").max(0) as u64
    }

    /// Adds `delta` to the partner's count. The caller holds the tenant under `partner` in the
    /// same transaction (and, but for users, moves the tenant's [`fence`]).
    pub fn add(self, tx: &mut Tx, partner: &PartnerId, delta: i64) -> Result<(), StoreError> {
        tx.update(
            &self.key(partner),
            "ADD #count :delta",
            Expr::default()
                .name("#count", "count")
                .value(":delta", n(delta)),
        )?;
        Ok(())
    }
}

/// The fence of a tenant's share (see the module doc).
pub fn fence_key(tenant: &TenantId) -> Key {
    Key::new(format!("TALLY#TENANT#{tenant}"), "FENCE")
}

/// Moves the tenant's fence: every write that changes the tenant's share of a partner count
/// (but users) or of an expiring tally calls it once.
pub fn fence(tx: &mut Tx, tenant: &TenantId) -> Result<(), StoreError> {
    tx.update(
        &fence_key(tenant),
        "ADD v :one",
        Expr::default().value(":one", n(1)),
    )?;
    Ok(())
}

/// Holds, in `tx`, where a tenant's share counts as the write read it: under `partner` (the
/// tenant live and still that partner's) or, with `None`, nowhere (the tenant deleted). For
/// writes with no other action on the tenant item; the others fold the same condition into
/// theirs. Refused with `guard` when a transfer, delete or restore came between.
pub fn hold_tenant(
    tx: &mut Tx,
    tenant: &TenantId,
    partner: Option<&PartnerId>,
    guard: Guard,
) -> Result<(), StoreError> {
    let key = super::keys::tenant(tenant);
    let expr = Expr::default()
        .name("#status", "status")
        .value(":deleted", super::tx::s("DELETED"));
    match partner {
        Some(p) => tx.check(
            &key,
            guard,
            "attribute_exists(PK) AND #status <> :deleted AND partner_id = :partner",
            expr.value(":partner", super::tx::s(p.to_string())),
        )?,
        None => tx.check(&key, guard, "#status = :deleted", expr)?,
    };
    Ok(())
}

/// The deltas of a session that starts (`delta` 1) or ends before its expiry (-1, on the one
/// write that ends it): its tenant, the tenant's partner as read (`None`: tenant deleted), the
/// platform. The caller also holds the tenant ([`hold_tenant`]) and moves its [`fence`].
pub fn session_delta(
    deltas: &mut TallyDeltas,
    tenant: &TenantId,
    partner: Option<&PartnerId>,
    expires_at: Timestamp,
    delta: i64,
) {
    deltas.add(Expiring::Sessions, Scope::Tenant(tenant), expires_at, delta);
    if let Some(p) = partner {
        deltas.add(Expiring::Sessions, Scope::Partner(p), expires_at, delta);
    }
    deltas.add(Expiring::Sessions, Scope::Platform, expires_at, delta);
}

/// Whether a session with this expiry is counted in the active-session tallies: sessions issued
/// since the tallies are kept end on a whole minute ([`minute_at_or_before`]); one issued before
/// (seconds or microseconds in its expiry) never was, so its end takes nothing off.
pub fn session_counted(expires_at: Timestamp) -> bool {
    minute_at_or_before(expires_at) == expires_at
}

/// Whether ending a session at `now` takes it off the tallies: counted, and not over yet (past
/// its minute it no longer counts anyway).
pub fn session_counts_at(expires_at: Timestamp, now: Timestamp) -> bool {
    session_counted(expires_at) && expires_at > now
}

/// Where a tenant counts its share of the tallies, as a write just read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TenantNow {
    /// Live under this partner: the write holds it there.
    Live(PartnerId),
    /// Deleted: its share counts under no partner; the write holds it deleted.
    Deleted,
    /// Not in the table (tenants are only ever marked deleted, then purged): nothing can move
    /// its share any more, so nothing is held.
    Gone,
}

impl TenantNow {
    pub fn of(tenant: Option<&crate::hierarchy::Tenant>) -> Self {
        match tenant {
            None => Self::Gone,
            Some(t) if t.status == crate::values::Status::Deleted => Self::Deleted,
            Some(t) => Self::Live(t.partner_id.clone()),
        }
    }

    pub fn partner(&self) -> Option<&PartnerId> {
        match self {
            Self::Live(p) => Some(p),
            Self::Deleted | Self::Gone => None,
        }
    }
}

/// Sessions one transaction ends, taken off the tallies together: one set of deltas (a window
/// several touch is one action), and per tenant one hold where it was read and one fence.
#[derive(Clone, Debug, Default)]
pub struct EndedSessions {
    deltas: TallyDeltas,
    tenants: BTreeMap<TenantId, TenantNow>,
}

impl EndedSessions {
    /// Counts a session of `tenant` (as read: `place`) ending at `now`, if it counts then
    /// ([`session_counts_at`]). Returns whether it did.
    pub fn add(
        &mut self,
        tenant: &TenantId,
        place: &TenantNow,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> bool {
        if !session_counts_at(expires_at, now) {
            return false;
        }
        session_delta(&mut self.deltas, tenant, place.partner(), expires_at, -1);
        self.tenants.insert(tenant.clone(), place.clone());
        true
    }

    /// The actions [`apply`](Self::apply) adds.
    pub fn actions(&self) -> usize {
        let windows = self
            .deltas
            .windows
            .values()
            .filter(|minutes| minutes.values().any(|d| *d != 0))
            .count();
        let holds = self
            .tenants
            .values()
            .filter(|t| **t != TenantNow::Gone)
            .count();
        windows + holds + self.tenants.len()
    }

    /// Adds the deltas, the holds (refused with `guard`) and the fences to `tx`.
    pub fn apply(self, tx: &mut Tx, guard: Guard) -> Result<(), StoreError> {
        self.deltas.apply(tx)?;
        for (tenant, place) in &self.tenants {
            if *place != TenantNow::Gone {
                hold_tenant(tx, tenant, place.partner(), guard)?;
            }
            fence(tx, tenant)?;
        }
        Ok(())
    }
}

/// Things that stop counting at their expiry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiring {
    /// Admin sessions not revoked, until `expires_at`.
    Sessions,
    /// Registration requests still PENDING, until their 30 days are up.
    PendingRequests,
}

/// Where an expiring thing counts: every one counts for the platform, and for the tenant (and
/// the tenant's partner) or the partner it belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope<'a> {
    Platform,
    Partner(&'a PartnerId),
    Tenant(&'a TenantId),
}

impl Scope<'_> {
    fn label(&self) -> String {
        match self {
            Self::Platform => "PLATFORM".to_owned(),
            Self::Partner(p) => format!("PARTNER#{p}"),
            Self::Tenant(t) => format!("TENANT#{t}"),
        }
    }
}

impl Expiring {
    const ALL: [Self; 2] = [Self::Sessions, Self::PendingRequests];

    fn name(self) -> &'static str {
        match self {
            Self::Sessions => "SESSIONS",
            Self::PendingRequests => "RRQS",
        }
    }

    /// The window of `scope` holding the minutes of unix day `day`.
    pub fn window_key(self, scope: Scope<'_>, day: i64) -> Key {
        Key::new(
            format!("TALLY#{}#{}", self.name(), scope.label()),
            format!("DAY#{day}"),
        )
    }

    /// The windows a count at `now` reads: from today's to the one of `now + horizon` (the
    /// longest anything counted may still live: a session's lifetime, a request's 30 days).
    pub fn keys(self, scope: Scope<'_>, now: Timestamp, horizon: std::time::Duration) -> Vec<Key> {
        let first = now.unix().div_euclid(DAY_SECONDS);
        let last = (now.unix() + horizon.as_secs() as i64).div_euclid(DAY_SECONDS);
        (first..=last)
            .map(|day| self.window_key(scope, day))
            .collect()
    }

    /// How many of `scope` are counted at `now`: the minutes after `now` in the windows read.
    pub fn count(
        self,
        scope: Scope<'_>,
        now: Timestamp,
        horizon: std::time::Duration,
        loaded: &Loaded,
    ) -> u64 {
        let total: i64 = self
            .keys(scope, now, horizon)
            .iter()
            .filter_map(|key| Some((window_day(key)?, loaded.item(key)?)))
            .flat_map(|(day, item)| future_minutes(day, item, now))
            .map(|(_, count)| count)
            .sum();
        total.max(0) as u64
    }
}

/// The unix day of a window key (`DAY#<day>`).
fn window_day(key: &Key) -> Option<i64> {
    key.sk.strip_prefix("DAY#")?.parse().ok()
}

/// The minutes of a window (as minutes of its day) whose instant is after `now`, with their
/// counts.
fn future_minutes(day: i64, item: &super::Item, now: Timestamp) -> Vec<(i64, i64)> {
    item.iter()
        .filter_map(|(name, value)| {
            let minute: i64 = name.strip_prefix('m')?.parse().ok()?;
            let count: i64 = value.as_n().ok()?.parse().ok()?;
            (day * DAY_SECONDS + minute * 60 > now.unix() && count != 0).then_some((minute, count))
        })
        .collect()
}

/// The last whole minute at or before `at`: when a session issued until `at` ends.
pub fn minute_at_or_before(at: Timestamp) -> Timestamp {
    Timestamp::from_unix(at.unix().div_euclid(60) * 60).unwrap_or(at)
}

/// The first whole minute at or after `at`: when a request pending until `at` expires.
pub fn minute_at_or_after(at: Timestamp) -> Timestamp {
    let floor = at.unix().div_euclid(60) * 60;
    let whole = floor == at.unix() && at.is_whole_second();
    let seconds = if whole { floor } else { floor + 60 };
    Timestamp::from_unix(seconds).unwrap_or(at)
}

/// Additions to expiring tallies gathered for one transaction: a window touched twice (two
/// sessions of one tenant ending on the same day) is still one action.
#[derive(Clone, Default, Debug)]
pub struct TallyDeltas {
    windows: BTreeMap<(String, String), BTreeMap<i64, i64>>,
}

impl TallyDeltas {
    /// Counts one more (`delta` 1) or one less (-1) of `kind` in `scope`, ending at `expires_at`
    /// (a whole minute: [`minute_at_or_before`], [`minute_at_or_after`]).
    pub fn add(&mut self, kind: Expiring, scope: Scope<'_>, expires_at: Timestamp, delta: i64) {
        let day = expires_at.unix().div_euclid(DAY_SECONDS);
        let minute = expires_at.unix().rem_euclid(DAY_SECONDS) / 60;
        self.add_minute(kind.window_key(scope, day), minute, delta);
    }

    fn add_minute(&mut self, window: Key, minute: i64, delta: i64) {
        *self
            .windows
            .entry((window.pk, window.sk))
            .or_default()
            .entry(minute)
            .or_default() += delta;
    }

    pub fn is_empty(&self) -> bool {
        self.windows
            .values()
            .all(|minutes| minutes.values().all(|d| *d == 0))
    }

    /// One `ADD` per window touched, each setting the window's purge time.
    pub fn apply(self, tx: &mut Tx) -> Result<(), StoreError> {
        for ((pk, sk), minutes) in self.windows {
            let minutes: Vec<(i64, i64)> = minutes.into_iter().filter(|(_, d)| *d != 0).collect();
            if minutes.is_empty() {
                continue;
            }
            let key = Key::new(pk, sk);
            let day = window_day(&key).ok_or_else(|| StoreError::Corrupt("tally window".into()))?;
            if minutes.len() > MAX_MINUTES_PER_ACTION {
                return Err(StoreError::TooLarge(TOO_LARGE));
            }
            // Deltas share placeholders (most are ±1): the expression stays under DynamoDB's
            // 4 KB with a few hundred minutes.
            let mut expr = Expr::default()
                .name("#ttl", super::keys::TTL)
                .value(":ttl", n((day + 1) * DAY_SECONDS + PURGE_GRACE_SECONDS));
            let mut placeholders: BTreeMap<i64, String> = BTreeMap::new();
            let mut adds = Vec::with_capacity(minutes.len());
            for (minute, delta) in minutes {
                let next = placeholders.len();
                let placeholder = placeholders
                    .entry(delta)
                    .or_insert_with(|| format!(":d{next}"))
                    .clone();
                expr = expr.value(&placeholder, n(delta));
                adds.push(format!("m{minute} {placeholder}"));
            }
            tx.update(
                &key,
                &format!("ADD {} SET #ttl = :ttl", adds.join(", ")),
                expr,
            )?;
        }
        Ok(())
    }
}

/// DynamoDB's limit on the actions of one transaction.
const MAX_TRANSACTION_ACTIONS: usize = 100;

/// The most minutes one window's move may carry (DynamoDB's 4 KB expression limit).
pub const MAX_MINUTES_PER_ACTION: usize = 300;

const TOO_LARGE: &str = "The tenant has too many active sessions or pending registration requests ending on one day to move them in one transaction; revoke or decide some first";

/// How many end in one minute of a window's day: (minute of the day, count).
type MinuteCount = (i64, i64);

/// A tenant's share of every partner count and expiring tally, read in one isolated read.
#[derive(Debug)]
pub struct TenantShare {
    fence: Option<i64>,
    counts: Vec<(PartnerCount, i64)>,
    expiring: Vec<(Expiring, i64, Vec<MinuteCount>)>,
}

impl TenantShare {
    /// The keys of a tenant's share (≤ 100 with a session lifetime of up to 30 days).
    pub fn keys(
        tenant: &TenantId,
        now: Timestamp,
        session_horizon: std::time::Duration,
    ) -> Vec<Key> {
        let mut keys = vec![fence_key(tenant)];
        keys.extend(
            PartnerCount::ALL
                .iter()
                .filter_map(|c| c.tenant_key(tenant)),
        );
        for kind in Expiring::ALL {
            keys.extend(kind.keys(Scope::Tenant(tenant), now, horizon(kind, session_horizon)));
        }
        keys
    }

    /// Reads the share of `tenant` (whose `user_count` the caller read on the tenant item,
    /// whose version its write checks).
    pub async fn read(
        store: &super::Store,
        tenant: &TenantId,
        user_count: u64,
        now: Timestamp,
        session_horizon: std::time::Duration,
    ) -> Result<Self, StoreError> {
        let loaded = store
            .load_isolated(&Self::keys(tenant, now, session_horizon))
            .await?;
        let mut counts = vec![(PartnerCount::Users, user_count as i64)];
        for kind in PartnerCount::ALL {
            if let Some(key) = kind.tenant_key(tenant) {
                counts.push((kind, loaded.number(&key, "count")));
            }
        }
        let mut expiring = Vec::new();
        for kind in Expiring::ALL {
            for key in kind.keys(Scope::Tenant(tenant), now, horizon(kind, session_horizon)) {
                if let (Some(day), Some(item)) = (window_day(&key), loaded.item(&key)) {
                    expiring.push((kind, day, future_minutes(day, item, now)));
                }
            }
        }
        Ok(Self {
            fence: loaded
                .item(&fence_key(tenant))
                .map(|_| loaded.number(&fence_key(tenant), "v")),
            counts,
            expiring,
        })
    }

    /// Adds to `tx` the move of this share from one partner to another (`None`: the tenant is
    /// deleted, or was), held by the fence as read: the last action before the audit event. Refused with [`FENCE`] if the share changed
    /// since; an error if the move is larger than one transaction can carry.
    pub fn move_between(
        &self,
        tx: &mut Tx,
        tenant: &TenantId,
        from: Option<&PartnerId>,
        to: Option<&PartnerId>,
    ) -> Result<(), StoreError> {
        if from == to {
            return Ok(());
        }
        match self.fence {
            Some(v) => tx.check(
                &fence_key(tenant),
                FENCE,
                "v = :v",
                Expr::default().value(":v", n(v)),
            )?,
            None => tx.check(
                &fence_key(tenant),
                FENCE,
                "attribute_not_exists(v)",
                Expr::default(),
            )?,
        };
        for (kind, count) in &self.counts {
            if *count == 0 {
                continue;
            }
            if let Some(p) = from {
                kind.add(tx, p, -count)?;
            }
            if let Some(p) = to {
                kind.add(tx, p, *count)?;
            }
        }
        let mut deltas = TallyDeltas::default();
        for (kind, day, minutes) in &self.expiring {
            for (minute, count) in minutes {
                if let Some(p) = from {
                    deltas.add_minute(kind.window_key(Scope::Partner(p), *day), *minute, -count);
                }
                if let Some(p) = to {
                    deltas.add_minute(kind.window_key(Scope::Partner(p), *day), *minute, *count);
                }
            }
        }
        deltas.apply(tx)?;
        // Refused before it is sent rather than rejected by DynamoDB as a 500. The caller adds
        // only its audit event after the move.
        if tx.len() + 1 > MAX_TRANSACTION_ACTIONS {
            return Err(StoreError::TooLarge(TOO_LARGE));
        }
        Ok(())
    }
}

/// How far ahead a kind's windows go: sessions as long as they may live (the configured
/// lifetime), requests their 30 days.
pub fn horizon(kind: Expiring, session_lifetime: std::time::Duration) -> std::time::Duration {
    match kind {
        Expiring::Sessions => session_lifetime,
        Expiring::PendingRequests => std::time::Duration::from_secs(PENDING_REQUEST_DAYS * 86_400),
    }
}

/// How long a registration request waits for a decision before it expires.
pub const PENDING_REQUEST_DAYS: u64 = 30;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_unix(seconds).unwrap()
    }

    #[test]
    fn only_sessions_ending_on_a_whole_minute_are_counted() {
        assert!(session_counted(at(1_800_000_000)));
        assert!(!session_counted(at(1_800_000_001)));
        let with_micros = Timestamp::parse("2027-01-15T08:00:00.000001Z").unwrap();
        assert_eq!(with_micros.unix() % 60, 0);
        assert!(!session_counted(with_micros));
        let now = at(1_800_000_000);
        assert!(session_counts_at(at(1_800_000_060), now));
        assert!(!session_counts_at(now, now), "over at its minute");
    }

    #[test]
    fn ended_sessions_count_their_actions_before_they_add_them() {
        let now = at(1_800_000_000);
        let (a, b) = (TenantId::generate(), TenantId::generate());
        let live = TenantNow::Live(PartnerId::generate());
        let mut ended = EndedSessions::default();
        assert!(ended.add(&a, &live, at(1_800_003_600), now));
        assert!(ended.add(&a, &live, at(1_800_003_660), now), "same windows");
        assert!(
            !ended.add(&b, &TenantNow::Gone, at(1_800_003_601), now),
            "legacy"
        );
        assert!(ended.add(&b, &TenantNow::Gone, at(1_800_090_000), now));
        // a: 3 windows + hold + fence; b: 2 windows (other day: tenant, platform) + fence.
        assert_eq!(ended.actions(), 3 + 2 + 2 + 1);
        let mut tx = Tx::new("t");
        let counted = ended.actions();
        ended.apply(&mut tx, Guard::Item).unwrap();
        assert_eq!(tx.len(), counted);
    }

    #[test]
    fn whole_minutes_round_the_safe_way() {
        assert_eq!(minute_at_or_before(at(119)).unix(), 60);
        assert_eq!(minute_at_or_before(at(120)).unix(), 120);
        assert_eq!(minute_at_or_after(at(61)).unix(), 120);
        assert_eq!(minute_at_or_after(at(120)).unix(), 120);
    }

    fn loaded_of(deltas: TallyDeltas) -> Loaded {
        let mut items = HashMap::new();
        for ((pk, sk), minutes) in deltas.windows {
            let mut item = super::super::Item::new();
            for (minute, count) in minutes {
                item.insert(format!("m{minute}"), n(count));
            }
            items.insert(Key::new(pk, sk), item);
        }
        Loaded::new(items)
    }

    #[test]
    fn a_count_sums_the_minutes_after_now_to_the_second() {
        let day = 20_000 * DAY_SECONDS;
        let tenant = TenantId::generate();
        let scope = Scope::Tenant(&tenant);
        let mut deltas = TallyDeltas::default();
        // Ends at day+600 s (x2, one revoked), day+660 s, and on the next day.
        deltas.add(Expiring::Sessions, scope, at(day + 600), 1);
        deltas.add(Expiring::Sessions, scope, at(day + 600), 1);
        deltas.add(Expiring::Sessions, scope, at(day + 600), -1);
        deltas.add(Expiring::Sessions, scope, at(day + 660), 1);
        deltas.add(
            Expiring::Sessions,
            scope,
            at(day + DAY_SECONDS + 30 * 60),
            1,
        );
        let loaded = loaded_of(deltas);
        let horizon = std::time::Duration::from_secs(2 * 86_400);
        let count = |now| Expiring::Sessions.count(scope, at(now), horizon, &loaded);
        assert_eq!(count(day), 3);
        assert_eq!(count(day + 599), 3);
        assert_eq!(count(day + 600), 2, "a session ending now no longer counts");
        assert_eq!(count(day + 660), 1);
        assert_eq!(count(day + DAY_SECONDS), 1, "the next day's window is read");
        assert_eq!(count(day + DAY_SECONDS + 1800), 0);
        assert_eq!(
            Expiring::PendingRequests.count(scope, at(day), horizon, &loaded),
            0
        );
    }

    #[test]
    fn a_window_touched_twice_is_one_action() {
        let tenant = TenantId::generate();
        let mut deltas = TallyDeltas::default();
        deltas.add(Expiring::Sessions, Scope::Tenant(&tenant), at(600), 1);
        deltas.add(Expiring::Sessions, Scope::Tenant(&tenant), at(660), 1);
        deltas.add(Expiring::Sessions, Scope::Platform, at(660), 1);
        let mut tx = Tx::new("t");
        deltas.apply(&mut tx).unwrap();
        assert_eq!(tx.len(), 2);
    }

    fn share(minutes_on_one_day: i64) -> TenantShare {
        TenantShare {
            fence: Some(7),
            counts: vec![(PartnerCount::Users, 3), (PartnerCount::Groups, 0)],
            expiring: vec![(
                Expiring::Sessions,
                20_000,
                (0..minutes_on_one_day).map(|m| (m, 1)).collect(),
            )],
        }
    }

    #[test]
    fn a_move_checks_the_fence_and_moves_every_nonzero_count_and_window() {
        let tenant = TenantId::generate();
        let (from, to) = (PartnerId::generate(), PartnerId::generate());
        let mut tx = Tx::new("t");
        share(2)
            .move_between(&mut tx, &tenant, Some(&from), Some(&to))
            .unwrap();
        // fence check + users −/+ + the sessions window −/+ (groups are 0: nothing).
        assert_eq!(tx.len(), 5);
        let mut out = Tx::new("t");
        share(2)
            .move_between(&mut out, &tenant, Some(&from), None)
            .unwrap();
        assert_eq!(out.len(), 3, "a delete only takes out");
        let mut same = Tx::new("t");
        share(2)
            .move_between(&mut same, &tenant, Some(&from), Some(&from))
            .unwrap();
        assert!(same.is_empty());
    }

    #[test]
    fn a_move_larger_than_a_transaction_is_refused_before_it_is_sent() {
        let tenant = TenantId::generate();
        let (from, to) = (PartnerId::generate(), PartnerId::generate());
        let mut tx = Tx::new("t");
        let err = share(MAX_MINUTES_PER_ACTION as i64 + 1)
            .move_between(&mut tx, &tenant, Some(&from), Some(&to))
            .unwrap_err();
        assert!(matches!(err, StoreError::TooLarge(_)), "{err}");
        let mut crowded = Tx::new("t");
        for _ in 0..96 {
            fence(&mut crowded, &TenantId::generate()).unwrap();
        }
        let err = share(1)
            .move_between(&mut crowded, &tenant, Some(&from), Some(&to))
            .unwrap_err();
        assert!(matches!(err, StoreError::TooLarge(_)), "{err}");
    }
}
