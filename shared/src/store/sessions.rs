//! Starting a session, as both sign-ins do (the admin login, `functions/admin-auth`, and the
//! hosted login of a tenant's users, `functions/sign-in`): the session item, listed under its
//! user (GSI1), its tenant (GSI2) and one shard of the platform-wide list (GSI3;
//! `functions/sessions` lists them), counted in the active-session tallies
//! (`crate::store::tally`) of its tenant, the tenant's partner and the platform from its login
//! until its `expires_at` (a whole minute), or until the one write that revokes it while it is
//! ACTIVE.

use crate::audit::AuditEvent;
use crate::hierarchy::Session;
use crate::store::tally::{self, EndedSessions, TallyDeltas, TenantNow};
use crate::store::{Entity, Expr, Guard, Item, Key, Store, StoreError, Tx, keys, n, s};
use crate::time::Timestamp;

/// Sessions outlive their expiry by a day before TTL purges them.
pub const PURGE_GRACE_SECONDS: i64 = 86_400;

/// A login raced a transfer or a delete of its tenant: the session would count under a partner
/// that is no longer the tenant's.
pub const TENANT_MOVED: Guard = Guard::Parent("tenant");

/// The user signing in was deleted (purged) since it was read.
pub const USER_CHANGED: Guard = Guard::Parent("user");

/// The stored session with its index keys and TTL.
pub fn session_item(session: &Session) -> Result<Item, StoreError> {
    let mut item = session.to_item()?;
    item.insert(
        keys::GSI1PK.into(),
        s(keys::sessions_of_user(&session.user_id)),
    );
    item.insert(keys::GSI1SK.into(), s(session.id.to_string()));
    item.insert(
        keys::GSI2PK.into(),
        s(keys::sessions_of_tenant(&session.tenant_id)),
    );
    item.insert(keys::GSI2SK.into(), s(session.id.to_string()));
    item.insert(keys::GSI3PK.into(), s(keys::sessions_shard_of(&session.id)));
    item.insert(keys::GSI3SK.into(), s(session.id.to_string()));
    item.insert(
        keys::TTL.into(),
        n(session.expires_at.unix() + PURGE_GRACE_SECONDS),
    );
    Ok(item)
}

/// Adds to `tx` a new session counted in the tallies of its tenant, of the tenant's partner as
/// the login read it (the tenant held there: [`TENANT_MOVED`]) and of the platform, the
/// tenant's fence moved; the user's `last_login_at`, only while the user is as the login read
/// it (`user_version`: refused with [`USER_CHANGED`] if a password reset, a suspension or a
/// purge came during the password check, so the old password opens nothing after a reset); and
/// the attempt slots given back (a success does not count toward the throttle's limits).
pub fn start_in(
    tx: &mut Tx,
    session: &Session,
    user_version: u64,
    now: Timestamp,
    slots: &[Key],
) -> Result<(), StoreError> {
    tx.put_new(session_item(session)?, Guard::Item)?;
    let mut deltas = TallyDeltas::default();
    tally::session_delta(
        &mut deltas,
        &session.tenant_id,
        Some(&session.partner_id),
        session.expires_at,
        1,
    );
    deltas.apply(tx)?;
    tally::hold_tenant(
        tx,
        &session.tenant_id,
        Some(&session.partner_id),
        TENANT_MOVED,
    )?;
    tally::fence(tx, &session.tenant_id)?;
    crate::throttle::give_back_in(tx, slots)?;
    tx.update_if(
        &keys::user(&session.user_id),
        "SET last_login_at = :now",
        USER_CHANGED,
        Some("version = :read"),
        Expr::default()
            .value(":now", s(now.to_string()))
            .value(":read", n(user_version)),
    )?;
    Ok(())
}

/// The session revoked, only while it is ACTIVE (refused with `Guard::Item` otherwise: it
/// ended meanwhile), and taken off the tallies when it counts now (`tally::session_counts_at`):
/// `tenant` says where its tenant counts as just read (held so in the same write, `Guard::Item`
/// when a transfer, delete or restore came between), `None` when the session does not count.
pub fn end_in(
    tx: &mut Tx,
    session: &Session,
    tenant: Option<&TenantNow>,
    now: Timestamp,
) -> Result<(), StoreError> {
    session.revoke_in(tx, None, now, Guard::Item)?;
    let mut ended = EndedSessions::default();
    if let Some(tenant) = tenant {
        ended.add(&session.tenant_id, tenant, session.expires_at, now);
    }
    ended.apply(tx, Guard::Item)
}

/// Session revoked by its own holder (a logout; only if still ACTIVE) and taken off the
/// tallies ([`end_in`]), with its event.
pub async fn revoke_session(
    store: &Store,
    session: &Session,
    tenant: Option<&TenantNow>,
    now: Timestamp,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = store.tx();
    end_in(&mut tx, session, tenant, now)?;
    store.add_event(&mut tx, event)?;
    store.transact(tx).await
}
