//! Session index queries and revocation transactions. The items are admin-auth's
//! (`SESSION#<ses>` / `SESSION`, written at login), indexed three ways:
//!
//! - GSI1 `USER#<usr>#SESSIONS` / `<ses>`: a user's sessions (also read by reset-password and
//!   admin-roles);
//! - GSI2 `TENANT#<tnt>#SESSIONS` / `<ses>`: a tenant's sessions (its users' home tenant);
//! - GSI3 `SESSIONS#<0..7>` / `<ses>`: every session, in 8 shards (FNV-1a of the id).
//!
//! Sessions created before GSI2 and GSI3 were written have only GSI1: they are missing from
//! tenant, partner and platform lists (not from a `user_id` list, nor from `GET`/`DELETE` by
//! id) until they expire, within the session lifetime (12 h by default).
//!
//! Revoked and expired sessions stay in every index until the TTL purges them (a day after
//! expiry); lists keep out what is not active with a filter (`status = ACTIVE`,
//! `expires_at > now`).
//!
//! Revoking takes a session off the active-session tallies (`shared::store::tally`) of its
//! tenant, the tenant's partner now and the platform, in the write that moves it from ACTIVE
//! to REVOKED (conditioned on ACTIVE: exactly once), when it counts ([`counts_now`]).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::Deserialize;
use shared::access::{GrantReach, Tier};
use shared::audit::AuditEvent;
use shared::hierarchy::{Session, SessionStatus, Tenant};
use shared::ids::TenantId;
use shared::lists::Merged;
use shared::store::tally::{self, EndedSessions};
use shared::store::{
    ANY_OF_SEPARATOR, Comparison, Guard, Key, QuerySpec, Store, StoreError, Tx, keys,
};
use shared::time::Timestamp;

/// A revoked session is still ACTIVE when the write lands, and its tenant is where the request
/// read it: a concurrent revocation (logout, reset, another admin) or a transfer, delete or
/// restore of the tenant refuses it, and the retry reads again.
pub const STILL_ACTIVE: Guard = Guard::Item;

/// DynamoDB takes at most 100 actions in one TransactWriteItems; a revoke-all puts at most 99
/// in each: per session its revocation; per tenant whose sessions leave the tallies its hold,
/// its fence and its tally windows (one per day, its own and its partner's); the platform's
/// windows; in the first, the audit event.
pub const ACTIONS_PER_TRANSACTION: usize = 99;
/// Revoke-all transactions in flight at once after the first (which carries the event).
pub const CONCURRENT_TRANSACTIONS: usize = 4;
/// Times a later revoke-all transaction is read again and retried after a refusal.
const LATER_ATTEMPTS: usize = 5;

/// Where the tenant of revoked sessions counts its share, as the request read it (or, for a
/// super admin's single revoke, as the session says: the write checks it).
pub use shared::store::tally::TenantNow;

/// Whether revoking the session at `now` takes it off the tallies.
pub fn counts_now(session: &Session, now: Timestamp) -> bool {
    tally::session_counts_at(session.expires_at, now)
}

/// The tenants of revoked sessions, by id, as read.
pub type Tenants = BTreeMap<TenantId, TenantNow>;

/// A session as lists merge it: ids are time-ordered, so every index sorts its sessions by id.
#[derive(Deserialize)]
#[serde(transparent)]
pub struct Listed(pub Session);

impl Merged for Listed {
    fn merge_id(&self) -> &str {
        self.0.id.as_str()
    }

    fn key_for(id: &str) -> Option<Key> {
        shared::ids::SessionId::parse(id)
            .ok()
            .map(|id| keys::session(&id))
    }
}

/// One index partition of sessions, only those active at `now` (`status = ACTIVE` and
/// `expires_at > now`: expiry times have microseconds, so `≥ now + 1 µs`).
pub fn active_in(index: &'static str, partition: String, now: Timestamp) -> QuerySpec {
    let pk = match index {
        keys::GSI1 => keys::GSI1PK,
        keys::GSI2 => keys::GSI2PK,
        _ => keys::GSI3PK,
    };
    QuerySpec {
        index: Some(index),
        partition: (pk, partition),
        equals: vec![("status", "ACTIVE".to_owned())],
        contains: None,
        compare: vec![(
            "expires_at",
            Comparison::AtLeast,
            now.plus(Duration::from_micros(1)).to_string(),
        )],
    }
}

/// `spec` narrowed to the sessions a caller of `tier` may see: those whose holder's grants lie
/// within its reach as they stood at sign-in (SPEC §5; `Session::holder_reach`).
pub fn visible_to(mut spec: QuerySpec, tier: &Tier) -> QuerySpec {
    if let Some(allowed) = GrantReach::manageable_by(tier) {
        let values = allowed.join(&ANY_OF_SEPARATOR.to_string());
        spec.compare
            .push((shared::hierarchy::HOLDER_REACH, Comparison::AnyOf, values));
    }
    spec
}

/// Every session of a partition active at `now`, newest first (all pages).
pub async fn all_active(store: &Store, spec: &QuerySpec) -> Result<Vec<Session>, StoreError> {
    Ok(store
        .list::<Session>(spec, None, usize::MAX / 2)
        .await?
        .into_iter()
        .map(|(session, _)| session)
        .collect())
}

fn revoke_action(
    tx: &mut Tx,
    session: &Session,
    by: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    session.revoke_in(tx, Some(by), now, STILL_ACTIVE)
}

/// Adds to `tx` the sessions revoked (each only while ACTIVE) and, of those that count now,
/// their removal from the tallies: one set of deltas (a window touched by several is one
/// action), and per tenant one hold where it was read and one fence. Every counted session's
/// tenant is in `tenants`.
fn end_sessions(
    tx: &mut Tx,
    sessions: &[&Session],
    tenants: &Tenants,
    by: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    let mut ended = EndedSessions::default();
    for session in sessions {
        revoke_action(tx, session, by, now)?;
        end(&mut ended, session, tenants, now)?;
    }
    ended.apply(tx, STILL_ACTIVE)
}

/// Counts `session` among those `ended` when it counts now (its tenant then read, in `tenants`).
fn end(
    ended: &mut EndedSessions,
    session: &Session,
    tenants: &Tenants,
    now: Timestamp,
) -> Result<(), StoreError> {
    if counts_now(session, now) {
        let place = tenant_of(tenants, session)?;
        ended.add(&session.tenant_id, place, session.expires_at, now);
    }
    Ok(())
}

fn tenant_of<'a>(tenants: &'a Tenants, session: &Session) -> Result<&'a TenantNow, StoreError> {
    tenants
        .get(&session.tenant_id)
        .ok_or_else(|| StoreError::Other(format!("tenant {} not read", session.tenant_id)))
}

/// The sessions in transactions of at most [`ACTIONS_PER_TRANSACTION`] actions, in order; the
/// first leaves room for the event when `with_event` (and is there, empty, when there are no
/// sessions).
fn batches<'a>(
    sessions: &'a [Session],
    tenants: &Tenants,
    now: Timestamp,
    with_event: bool,
) -> Result<Vec<Vec<&'a Session>>, StoreError> {
    let mut out = Vec::new();
    let mut batch: Vec<&Session> = Vec::new();
    let mut fixed = usize::from(with_event);
    let mut ended = EndedSessions::default();
    for session in sessions {
        let mut next = ended.clone();
        end(&mut next, session, tenants, now)?;
        if fixed + batch.len() + 1 + next.actions() > ACTIONS_PER_TRANSACTION && !batch.is_empty() {
            out.push(std::mem::take(&mut batch));
            fixed = 0;
            next = EndedSessions::default();
            end(&mut next, session, tenants, now)?;
        }
        ended = next;
        batch.push(session);
    }
    if !batch.is_empty() || (with_event && out.is_empty()) {
        out.push(batch);
    }
    Ok(out)
}

/// The session revoked (only if still active) and, when `tenant` is given (the session counts
/// now: [`counts_now`]), taken off the tallies of its tenant as read; with its event.
pub async fn revoke(
    store: &Store,
    session: &Session,
    tenant: Option<&TenantNow>,
    by: &str,
    now: Timestamp,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = store.tx();
    let tenants: Tenants = tenant
        .map(|t| (session.tenant_id.clone(), t.clone()))
        .into_iter()
        .collect();
    end_sessions(&mut tx, &[session], &tenants, by, now)?;
    store.add_event(&mut tx, event)?;
    store.transact(tx).await
}

/// Every session given revoked and taken off the tallies (the tenants of those that count now
/// as read, in `tenants`): the event with the first sessions in one transaction (the event
/// alone when there are none), then the rest, a few transactions at once. The first refused
/// (a session ended meanwhile, a tenant moved) → [`STILL_ACTIVE`], nothing written; a later one
/// refused reads its sessions and their tenants again and ends those still active. A failure
/// after the first leaves the sessions of the committed transactions revoked (and recorded by
/// the event); the request fails and may be repeated (it finds only the rest active).
pub async fn revoke_all(
    store: &Store,
    sessions: &[Session],
    tenants: &Tenants,
    by: &str,
    now: Timestamp,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let mut batches = batches(sessions, tenants, now, true)?.into_iter();
    let mut tx = store.tx();
    end_sessions(
        &mut tx,
        &batches.next().unwrap_or_default(),
        tenants,
        by,
        now,
    )?;
    store.add_event(&mut tx, event)?;
    store.transact(tx).await?;
    let mut later = batches.map(|batch| {
        let tenants: Tenants = batch
            .iter()
            .filter_map(|s| Some((s.tenant_id.clone(), tenants.get(&s.tenant_id)?.clone())))
            .collect();
        let batch: Vec<Session> = batch.into_iter().cloned().collect();
        (batch, tenants)
    });
    loop {
        let mut running = tokio::task::JoinSet::new();
        for (batch, tenants) in later.by_ref().take(CONCURRENT_TRANSACTIONS) {
            let store = store.clone();
            let by = by.to_owned();
            running.spawn(async move { end_later(&store, batch, tenants, &by, now).await });
        }
        if running.is_empty() {
            return Ok(());
        }
        while let Some(done) = running.join_next().await {
            done.map_err(|e| StoreError::Other(e.to_string()))??;
        }
    }
}

/// A later revoke-all transaction: refused, its sessions and their tenants are read again and
/// those still active ended (in as many transactions as they now take).
async fn end_later(
    store: &Store,
    mut sessions: Vec<Session>,
    mut tenants: Tenants,
    by: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    for _ in 0..LATER_ATTEMPTS {
        let mut refused = false;
        for batch in batches(&sessions, &tenants, now, false)? {
            let mut tx = store.tx();
            end_sessions(&mut tx, &batch, &tenants, by, now)?;
            match store.transact(tx).await {
                Ok(()) => {}
                Err(err) if err.refused_by().is_some() => {
                    refused = true;
                    break;
                }
                Err(err) => return Err(err),
            }
        }
        if !refused {
            return Ok(());
        }
        (sessions, tenants) = read_again(store, &sessions).await?;
        if sessions.is_empty() {
            return Ok(());
        }
    }
    Err(StoreError::Refused(STILL_ACTIVE))
}

/// The given sessions still active, and their tenants, read again in one batch.
async fn read_again(
    store: &Store,
    sessions: &[Session],
) -> Result<(Vec<Session>, Tenants), StoreError> {
    let tenant_ids: BTreeSet<&TenantId> = sessions.iter().map(|s| &s.tenant_id).collect();
    let mut wanted: Vec<Key> = sessions.iter().map(|s| keys::session(&s.id)).collect();
    wanted.extend(tenant_ids.iter().map(|t| keys::tenant(t)));
    let loaded = store.load(&wanted).await?;
    let mut still = Vec::new();
    for session in sessions {
        if let Some(found) = loaded.get::<Session>(&keys::session(&session.id))?
            && found.status == SessionStatus::Active
        {
            still.push(found);
        }
    }
    let mut tenants = Tenants::new();
    for id in tenant_ids {
        let found: Option<Tenant> = loaded.get(&keys::tenant(id))?;
        tenants.insert(id.clone(), TenantNow::of(found.as_ref()));
    }
    Ok((still, tenants))
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::access::AdminRole;
    use shared::ids::{PartnerId, SessionId, UserId};

    fn session(tenant: &TenantId, expires_at: Timestamp) -> Session {
        Session {
            id: SessionId::generate(),
            user_id: UserId::generate(),
            email: "ann@acme.test".into(),
            tenant_id: tenant.clone(),
            partner_id: PartnerId::generate(),
            session_type: shared::hierarchy::SessionType::Admin,
            role: Some(AdminRole::TenantAdmin),
            scope_partner_id: None,
            role_id: None,
            status: SessionStatus::Active,
            created_at: expires_at,
            expires_at,
            last_active_at: None,
            refresh_generation: 0,
            holder_reach: None,
            applications: Vec::new(),
            ip_address: None,
            user_agent: None,
        }
    }

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_unix(seconds).unwrap()
    }

    #[test]
    fn a_session_leaves_its_tenant_its_partner_now_and_the_platform() {
        let tenant = TenantId::generate();
        let now = at(1_800_000_000);
        let live = session(&tenant, at(1_800_003_600));
        let legacy = session(&tenant, at(1_800_003_601));
        let actions = |s: &Session, t: TenantNow| {
            let tenants: Tenants = [(tenant.clone(), t)].into_iter().collect();
            let mut tx = Tx::new("t");
            end_sessions(&mut tx, &[s], &tenants, "usr", now).unwrap();
            tx.len()
        };
        let partner = PartnerId::generate();
        // Revocation, 3 windows, hold, fence.
        assert_eq!(actions(&live, TenantNow::Live(partner.clone())), 6);
        // No partner window.
        assert_eq!(actions(&live, TenantNow::Deleted), 5);
        // Nothing to hold either.
        assert_eq!(actions(&live, TenantNow::Gone), 4);
        // Never counted: the revocation only.
        assert_eq!(actions(&legacy, TenantNow::Live(partner)), 1);
        let over = session(&tenant, now);
        assert_eq!(actions(&over, TenantNow::Deleted), 1, "past its minute");
    }

    #[test]
    fn revoke_all_batches_stay_under_the_limit_and_merge_windows() {
        let now = at(1_800_000_000);
        let (a, b) = (TenantId::generate(), TenantId::generate());
        let tenants: Tenants = [
            (a.clone(), TenantNow::Live(PartnerId::generate())),
            (b.clone(), TenantNow::Deleted),
        ]
        .into_iter()
        .collect();
        // Sessions of two tenants over three days, some never counted.
        let sessions: Vec<Session> = (0..400)
            .map(|i| {
                let tenant = if i % 3 == 0 { &b } else { &a };
                let minute = 60 * (1 + (i % 7) * 600);
                let expires = now.unix() - now.unix() % 60 + minute + i64::from(i % 11 == 0);
                session(tenant, at(expires))
            })
            .collect();
        for with_event in [true, false] {
            let batches = batches(&sessions, &tenants, now, with_event).unwrap();
            let covered: Vec<&SessionId> = batches.iter().flatten().map(|s| &s.id).collect();
            assert_eq!(covered, sessions.iter().map(|s| &s.id).collect::<Vec<_>>());
            for (i, batch) in batches.iter().enumerate() {
                let mut tx = Tx::new("t");
                end_sessions(&mut tx, batch, &tenants, "usr", now).unwrap();
                let event = usize::from(with_event && i == 0);
                assert!(tx.len() + event <= ACTIONS_PER_TRANSACTION, "{}", tx.len());
                if i + 1 < batches.len() {
                    assert!(tx.len() + event >= ACTIONS_PER_TRANSACTION - 8, "full");
                }
            }
        }
        // None: the event alone.
        assert_eq!(batches(&[], &tenants, now, true).unwrap().len(), 1);
        assert!(batches(&[], &tenants, now, false).unwrap().is_empty());
    }
}
