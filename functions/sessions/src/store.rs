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

use std::time::Duration;

use serde::Deserialize;
use shared::audit::AuditEvent;
use shared::hierarchy::Session;
use shared::lists::Merged;
use shared::store::{Comparison, Expr, Guard, Key, QuerySpec, Store, StoreError, Tx, keys, s};
use shared::time::Timestamp;

/// A session revoked by `DELETE /{id}` is still active when the write lands: a concurrent
/// revocation (logout, reset, another admin) refuses it, and the retry finds it revoked.
pub const STILL_ACTIVE: Guard = Guard::Item;
/// A session a revoke-all revokes still exists (the TTL cannot have purged a session read as
/// unexpired; a refusal is retried from a fresh read).
pub const SESSION: Guard = Guard::Parent("session");

/// DynamoDB takes at most 100 actions in one TransactWriteItems; a revoke-all puts at most 99
/// in each: the first carries its audit event and 98 sessions, the rest 99 sessions each.
pub const ACTIONS_PER_TRANSACTION: usize = 99;
/// Revoke-all transactions in flight at once after the first (which carries the event).
pub const CONCURRENT_TRANSACTIONS: usize = 4;

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
    guard: Guard,
) -> Result<(), StoreError> {
    // A revocation that landed meanwhile keeps its own time and author.
    let condition = if guard == STILL_ACTIVE {
        "attribute_exists(PK) AND #status = :active"
    } else {
        "attribute_exists(PK)"
    };
    let mut expr = Expr::default()
        .name("#status", "status")
        .value(":revoked", s("REVOKED"))
        .value(":now", s(now.to_string()))
        .value(":by", s(by));
    if guard == STILL_ACTIVE {
        expr = expr.value(":active", s("ACTIVE"));
    }
    tx.update_if(
        &keys::session(&session.id),
        "SET #status = :revoked, revoked_at = if_not_exists(revoked_at, :now), \
         revoked_by = if_not_exists(revoked_by, :by)",
        guard,
        Some(condition),
        expr,
    )?;
    Ok(())
}

/// The session revoked (only if still active), with its event.
pub async fn revoke(
    store: &Store,
    session: &Session,
    by: &str,
    now: Timestamp,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = store.tx();
    revoke_action(&mut tx, session, by, now, STILL_ACTIVE)?;
    store.add_event(&mut tx, event)?;
    store.transact(tx).await
}

/// Every session given revoked: the event with the first 98 in one transaction (the event
/// alone when there are none), then the rest 99 to a transaction, a few at once. A failure
/// after the first leaves the sessions of the committed transactions revoked (and recorded by
/// the event); the request fails and may be repeated (it finds only the rest active).
pub async fn revoke_all(
    store: &Store,
    sessions: &[Session],
    by: &str,
    now: Timestamp,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let (first, rest) = sessions.split_at(sessions.len().min(ACTIONS_PER_TRANSACTION - 1));
    let mut tx = store.tx();
    for session in first {
        revoke_action(&mut tx, session, by, now, SESSION)?;
    }
    store.add_event(&mut tx, event)?;
    store.transact(tx).await?;
    let mut transactions = Vec::new();
    for chunk in rest.chunks(ACTIONS_PER_TRANSACTION) {
        let mut tx = store.tx();
        for session in chunk {
            revoke_action(&mut tx, session, by, now, SESSION)?;
        }
        transactions.push(tx);
    }
    let mut transactions = transactions.into_iter();
    loop {
        let mut running = tokio::task::JoinSet::new();
        for tx in transactions.by_ref().take(CONCURRENT_TRANSACTIONS) {
            let store = store.clone();
            running.spawn(async move { store.transact(tx).await });
        }
        if running.is_empty() {
            return Ok(());
        }
        while let Some(done) = running.join_next().await {
            done.map_err(|e| StoreError::Other(e.to_string()))??;
        }
    }
}
