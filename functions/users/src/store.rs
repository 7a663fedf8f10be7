//! User items and transactions: `USER#<id>` / `USER`, listed through GSI1
//! `TENANT#<tnt>#USERS` (per tenant) and GSI2 `USERS#<0..7>` (platform-wide, spread over
//! `keys::USER_SHARDS` partitions so user writes never share one hot index key). The tenant's
//! `user_count` moves in the same transaction as the user, under the partner's
//! `max_users_per_tenant`, and so does the partner's count of its live tenants' users
//! (`tally::PartnerCount::Users`): under the partner the tenant was read with, held by the same
//! action's condition, or not at all in a deleted tenant (whose share its delete moved out of
//! the partner). A password reset takes the sessions it revokes off the active-session tallies.

use shared::admin_grants;
use shared::audit::AuditEvent;
use shared::hierarchy::{AdminEmailOwner, Session, Tenant, User};
use shared::ids::{PartnerId, RoleId, TenantId, UserId};
use shared::lifecycle::Lifecycle;
use shared::membership::{self, Attachment, DETACHED_GROUP, detach_user};
use shared::store::counters::Counter;
use shared::store::emails;
use shared::store::tally::{EndedSessions, PartnerCount, TenantNow};
use shared::store::write::{claim_expiry, lifecycle_item};
use shared::store::{Expr, Guard, Item, Store, StoreError, Tx, encode, keys, n, s, with_keys};
use shared::time::Timestamp;

/// The guard of the per-tenant email claim.
pub const EMAIL: Guard = emails::TAKEN;
/// The guard of the platform-wide admin-email claim (users holding admin roles).
pub const ADMIN_EMAIL: Guard = Guard::Unique("admin email");
/// The tenant gaining a user: live, still under the partner it was read under, and below the
/// partner's `max_users_per_tenant`; losing one (or sessions): live under that partner, or
/// deleted, as it was read.
pub const TENANT: Guard = Guard::Parent("tenant");
/// The partner whose `max_users_per_tenant` was read: unchanged since.
pub const PARTNER: Guard = Guard::Parent("partner");
/// The manager: a live user of the same tenant.
pub const MANAGER: Guard = Guard::Parent("manager");

/// The stored item; a deleted user (`purge_at`) leaves both list indexes.
pub fn user_item(user: &User, purge_at: Option<Timestamp>) -> Result<Item, StoreError> {
    let mut item = lifecycle_item(
        user,
        purge_at,
        &[
            (keys::GSI1PK, keys::users_of_tenant(&user.tenant_id)),
            (keys::GSI1SK, user.id.to_string()),
            (keys::GSI2PK, keys::users_shard_of(&user.id)),
            (keys::GSI2SK, user.id.to_string()),
        ],
    )?;
    item.insert("search_text".into(), s(user.search_text()));
    Ok(item)
}

/// The admin-email claim of a user holding admin roles; it also routes admin login.
fn admin_email_item(user: &User, partner: &PartnerId) -> Result<Item, StoreError> {
    let owner = AdminEmailOwner {
        user_id: user.id.clone(),
        tenant_id: user.tenant_id.clone(),
        partner_id: partner.clone(),
    };
    Ok(with_keys(
        encode(&owner)?,
        &keys::admin_email(&user.email),
        AdminEmailOwner::NAME,
    ))
}

/// The partner's `max_users_per_tenant` as it was read (`None` = unlimited).
#[derive(Clone, Copy, Debug)]
pub struct Limit(pub Option<u32>);

/// A tenant as a write that changes its share of the partner counts read it: where that share
/// counts — under its partner, or (`None`) nowhere once the tenant is deleted.
#[derive(Clone, Debug)]
pub struct TenantAsRead {
    pub id: TenantId,
    pub partner: Option<PartnerId>,
}

impl TenantAsRead {
    pub fn of(tenant: &Tenant) -> Self {
        Self {
            id: tenant.id.clone(),
            partner: (!tenant.is_deleted()).then(|| tenant.partner_id.clone()),
        }
    }
}

/// A tenant's user counter down by one (its version too, so full-item writes of the tenant
/// see the change), and its partner's with it while the tenant is live — held by the same
/// condition: the tenant still as it was read (a transfer, delete or restore since → refused).
fn lose_user(tx: &mut Tx, tenant: &TenantAsRead) -> Result<(), StoreError> {
    let mut expr = Expr::default()
        .name("#status", "status")
        .value(":minus", n(-1))
        .value(":one", n(1))
        .value(":deleted", s("DELETED"));
    let condition = match &tenant.partner {
        Some(p) => {
            expr = expr.value(":partner", s(p.to_string()));
            "attribute_exists(PK) AND #status <> :deleted AND partner_id = :partner"
        }
        None => "#status = :deleted",
    };
    tx.update_if(
        &keys::tenant(&tenant.id),
        "ADD user_count :minus, version :one",
        TENANT,
        Some(condition),
        expr,
    )?;
    if let Some(p) = &tenant.partner {
        PartnerCount::Users.add(tx, p, -1)?;
    }
    Ok(())
}

/// A tenant's user counter up by one, and its partner's: the tenant live, still under
/// `partner`, below `limit`, and the partner's limit unchanged since it was read (else the
/// limit may have been lowered in between).
fn gain_user(
    tx: &mut Tx,
    tenant: &TenantId,
    partner: &PartnerId,
    limit: Limit,
) -> Result<(), StoreError> {
    let mut values = Expr::default()
        .name("#status", "status")
        .value(":one", n(1))
        .value(":deleted", s("DELETED"))
        .value(":partner", s(partner.to_string()));
    let (under_limit, partner_check, partner_values) = match limit.0 {
        Some(max) => {
            values = values.value(":max", n(max));
            (
                " AND user_count < :max",
                "attribute_exists(PK) AND max_users_per_tenant = :max",
                Expr::default().value(":max", n(max)),
            )
        }
        None => (
            "",
            "attribute_exists(PK) AND attribute_not_exists(max_users_per_tenant)",
            Expr::default(),
        ),
    };
    tx.update_if(
        &keys::tenant(tenant),
        "ADD user_count :one, version :one",
        TENANT,
        Some(&format!(
            "attribute_exists(PK) AND #status <> :deleted AND partner_id = :partner{under_limit}"
        )),
        values,
    )?;
    tx.check(
        &keys::partner(partner),
        PARTNER,
        partner_check,
        partner_values,
    )?;
    PartnerCount::Users.add(tx, partner, 1)?;
    Ok(())
}

/// The manager must stay a live user of the same tenant until the write commits.
fn check_manager(tx: &mut Tx, user: &User) -> Result<(), StoreError> {
    if let Some(manager) = &user.manager_id {
        tx.check(
            &keys::user(manager),
            MANAGER,
            "attribute_exists(PK) AND tenant_id = :tenant AND #status <> :deleted",
            Expr::default()
                .name("#status", "status")
                .value(":tenant", s(user.tenant_id.to_string()))
                .value(":deleted", s("DELETED")),
        )?;
    }
    Ok(())
}

/// Item (new), email claim, [manager live], tenant and partner counters (under the partner's
/// limit, which must be unchanged), platform counter, audit.
pub async fn create(
    store: &Store,
    user: &User,
    partner: &PartnerId,
    limit: Limit,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = store.tx();
    tx.put_new(user_item(user, None)?, Guard::Item)?;
    emails::claim(&mut tx, &user.tenant_id, &user.email, user.id.as_str())?;
    check_manager(&mut tx, user)?;
    gain_user(&mut tx, &user.tenant_id, partner, limit)?;
    Counter::Users.add(&mut tx, 1)?;
    store.add_event(&mut tx, event)?;
    store.transact(tx).await
}

/// Item (versioned), [email claim moved; for an admin also the admin-email claim], [manager
/// live], audit.
pub async fn update(
    store: &Store,
    before: &User,
    after: &User,
    partner: &PartnerId,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = store.tx();
    tx.put_versioned(user_item(after, None)?, before.version)?;
    if before.email != after.email {
        tx.delete(&keys::user_email(&before.tenant_id, &before.email))?;
        emails::claim(&mut tx, &after.tenant_id, &after.email, after.id.as_str())?;
        if !after.admin_roles.is_empty() {
            tx.delete(&keys::admin_email(&before.email))?;
            tx.put_new(admin_email_item(after, partner)?, ADMIN_EMAIL)?;
        }
    }
    if after.manager_id.is_some() && after.manager_id != before.manager_id {
        check_manager(&mut tx, after)?;
    }
    store.add_event(&mut tx, event)?;
    store.transact(tx).await
}

/// DynamoDB's bound on the actions of one TransactWriteItems.
const MAX_ACTIONS: usize = 100;
/// Group detachments per follow-up transaction (two actions each).
const GROUPS_PER_FOLLOW_UP: usize = MAX_ACTIONS / 2;
/// Re-reads of the remaining memberships when a follow-up is refused by a concurrent
/// membership change of one of its groups.
const FOLLOW_UP_ATTEMPTS: usize = 5;

/// What goes with a deleted user: its grants are revoked (by `revoked_by`) and it leaves the
/// groups it is directly in.
pub struct Detach<'a> {
    pub revoked_by: &'a str,
    pub groups: &'a [Attachment],
}

/// Item (versioned) out of the lists with its purge time and without its grant summaries,
/// tenant counter (held as `tenant` was read) [and its partner's, the tenant live], email claim
/// expiring with it, platform counter, audit; the admin-email marker released and every grant
/// revoked; then the user's group memberships (membership deleted, `member_count` −1 under the
/// version read) — all in one transaction while they fit in its 100 actions: 5 to 7 fixed
/// actions, one per grant, two per group. What does not fit (more than ~45 groups, or more
/// than ~90 grants) follows in transactions of its own once the delete has committed (no new
/// membership or grant can reach a deleted user meanwhile); the memberships are then read once
/// more (one index query) to catch a group joined between the read and the commit.
pub async fn delete(
    store: &Store,
    before: &User,
    after: &User,
    purge_at: Timestamp,
    tenant: &TenantAsRead,
    detach: &Detach<'_>,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let now = Timestamp::now();
    let mut tx = store.tx();
    tx.put_versioned(user_item(after, Some(purge_at))?, before.version)?;
    lose_user(&mut tx, tenant)?;
    emails::retire(&mut tx, &before.tenant_id, &before.email, purge_at)?;
    if !before.admin_roles.is_empty() {
        // Released now, not at the purge: the grants go with the delete and a restore does not
        // bring them back, so the email may hold admin roles elsewhere at once.
        tx.delete(&keys::admin_email(&before.email))?;
    }
    Counter::Users.add(&mut tx, -1)?;
    store.add_event(&mut tx, event)?;
    let grants: Vec<&RoleId> = before.admin_roles.iter().map(|g| &g.id).collect();
    let room = MAX_ACTIONS - tx.len();
    let (first_grants, later_grants) = grants.split_at(grants.len().min(room));
    for id in first_grants {
        admin_grants::revoke(&mut tx, id, detach.revoked_by, now)?;
    }
    let room = (MAX_ACTIONS - tx.len()) / 2;
    let first_groups = &detach.groups[..detach.groups.len().min(room)];
    detach_user(&mut tx, &before.id, first_groups)?;
    store.transact(tx).await?;
    for chunk in later_grants.chunks(MAX_ACTIONS) {
        let mut tx = store.tx();
        for id in chunk {
            admin_grants::revoke(&mut tx, id, detach.revoked_by, now)?;
        }
        store.transact(tx).await?;
    }
    // Then the memberships read too late or left out: a group joined between the read and the
    // commit (no group can be joined once the user is deleted), and the rest of a long list.
    detach_rest(store, &before.id).await?;
    // And its sessions: the session check refuses them from the commit on (the user is
    // deleted); revoking them takes them out of the session lists and the active-session
    // counts at once instead of when they expire. Read after the commit, so a sign-in that
    // raced the delete is among them.
    let sessions = active_sessions(store, &before.id).await?;
    revoke_sessions(store, &before.id, &sessions, tenant, now).await
}

/// Detaches a deleted user from the groups it is still in, reading them again (consistently)
/// before each round, so a membership changed concurrently is neither missed nor counted twice.
async fn detach_rest(store: &Store, user: &UserId) -> Result<(), StoreError> {
    let mut refused = None;
    for _ in 0..FOLLOW_UP_ATTEMPTS {
        let groups = membership::attachments(store, user).await?;
        refused = None;
        for chunk in groups.chunks(GROUPS_PER_FOLLOW_UP) {
            let mut tx = store.tx();
            detach_user(&mut tx, user, chunk)?;
            match store.transact(tx).await {
                Ok(()) => {}
                Err(err) if err.refused_by() == Some(DETACHED_GROUP) => refused = Some(err),
                Err(err) => return Err(err),
            }
        }
        if refused.is_none() {
            return Ok(());
        }
    }
    // The delete has committed: not a conflict to retry (that would answer 404), an error.
    Err(StoreError::Other(format!(
        "user {user} deleted, but its groups kept changing while it was detached from them: {}",
        refused.map_or_else(String::new, |e| e.to_string())
    )))
}

/// Item (versioned) back in the lists, tenant and partner counters (live, under the limit),
/// email claims kept again, platform counter, audit.
pub async fn restore(
    store: &Store,
    before: &User,
    after: &User,
    partner: &PartnerId,
    limit: Limit,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = store.tx();
    tx.put_versioned(user_item(after, None)?, before.version)?;
    gain_user(&mut tx, &after.tenant_id, partner, limit)?;
    emails::revive(&mut tx, &before.tenant_id, &before.email)?;
    if !before.admin_roles.is_empty() {
        claim_expiry(&mut tx, &keys::admin_email(&before.email), None)?;
    }
    Counter::Users.add(&mut tx, 1)?;
    store.add_event(&mut tx, event)?;
    store.transact(tx).await
}

/// A session revoked by a reset is still ACTIVE: one that ended meanwhile (revoked by another
/// write, or deleted by the TTL) is neither written back as a stub item without expiry nor
/// taken off the tallies twice.
pub const SESSION: Guard = Guard::Parent("session");

/// The user's sessions that are still active and unexpired (GSI1 `USER#<usr>#SESSIONS`; an
/// index read, so a session created in the last instant may be missed). Expired ones are dead
/// already and left to the TTL.
pub async fn active_sessions(store: &Store, user: &UserId) -> Result<Vec<Session>, StoreError> {
    Session::active_of_user(store, user).await
}

/// Adds to `tx` the revocation of as many of `sessions` (all of `tenant`: a user's sessions are
/// in its own tenant) as fit beside what `tx` holds: one action each, and for the counted ones
/// one −1 per tally window of their expiry day (the tenant's, the platform's and, the tenant
/// live, its partner's), the tenant held as read and its fence moved. Returns how many it took.
fn add_revocations(
    tx: &mut Tx,
    sessions: &[Session],
    tenant: &TenantAsRead,
    now: Timestamp,
) -> Result<usize, StoreError> {
    let base = tx.len();
    let place = match &tenant.partner {
        Some(p) => TenantNow::Live(p.clone()),
        None => TenantNow::Deleted,
    };
    let mut ended = EndedSessions::default();
    let mut taken = 0;
    for session in sessions {
        if session.tenant_id != tenant.id {
            return Err(StoreError::Corrupt(format!(
                "session {} of user {} is in tenant {}, not the user's {}",
                session.id, session.user_id, session.tenant_id, tenant.id
            )));
        }
        let mut next = ended.clone();
        next.add(&tenant.id, &place, session.expires_at, now);
        if base + taken + 1 + next.actions() > MAX_ACTIONS {
            break;
        }
        session.revoke_in(tx, None, now, SESSION)?;
        ended = next;
        taken += 1;
    }
    ended.apply(tx, TENANT)?;
    Ok(taken)
}

/// Item (versioned, the new password hash), as many sessions revoked as fit, audit — one
/// transaction; then any further sessions in transactions of their own (only a user with some
/// ninety live sessions needs them; one that ended meanwhile, or a tenant moved or deleted,
/// → the rest are read again). Each revoked session leaves the active-session tallies of
/// `tenant` as read.
pub async fn reset_password(
    store: &Store,
    before: &User,
    after: &User,
    tenant: &TenantAsRead,
    sessions: &[Session],
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let now = Timestamp::now();
    let mut tx = store.tx();
    tx.put_versioned(user_item(after, None)?, before.version)?;
    store.add_event(&mut tx, event)?;
    let first = add_revocations(&mut tx, sessions, tenant, now)?;
    store.transact(tx).await?;
    revoke_sessions(store, &after.id, &sessions[first..], tenant, now).await
}

/// Revokes `sessions` of `user` in transactions of their own (as many as fit in each, each
/// taking its sessions off the tallies of `tenant` as read); a session ended meanwhile, or the
/// tenant moved or deleted, → the user's active sessions are read again and the rest revoked.
async fn revoke_sessions(
    store: &Store,
    user: &UserId,
    sessions: &[Session],
    tenant: &TenantAsRead,
    now: Timestamp,
) -> Result<(), StoreError> {
    let mut rest = sessions.to_vec();
    let mut tenant = tenant.clone();
    for _ in 0..3 {
        let mut refused = false;
        let mut remaining = rest.as_slice();
        while !remaining.is_empty() {
            let mut tx = store.tx();
            let taken = add_revocations(&mut tx, remaining, &tenant, now)?;
            if taken == 0 {
                return Err(StoreError::Other(
                    "no session revocation fits a transaction".into(),
                ));
            }
            remaining = &remaining[taken..];
            match store.transact(tx).await {
                Ok(()) => {}
                Err(err) if err.refused_by() == Some(SESSION) => refused = true,
                Err(err) if err.refused_by() == Some(TENANT) => {
                    refused = true;
                    tenant = tenant_now(store, &tenant.id).await?;
                }
                Err(err) => return Err(err),
            }
        }
        if !refused {
            return Ok(());
        }
        rest = active_sessions(store, user).await?;
    }
    Err(StoreError::Unavailable(
        "sessions kept changing under the revocation".into(),
    ))
}

/// The tenant as it is now, for a write whose hold of it was refused.
pub async fn tenant_now(store: &Store, id: &TenantId) -> Result<TenantAsRead, StoreError> {
    let key = keys::tenant(id);
    let found: Option<Tenant> = store.load(std::slice::from_ref(&key)).await?.get(&key)?;
    found
        .map(|t| TenantAsRead::of(&t))
        .ok_or_else(|| StoreError::Corrupt(format!("tenant {id} of a user is gone")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use shared::hierarchy::{IdentitySource, UserStatus};
    use shared::store::describe;

    fn user() -> User {
        let at = Timestamp::parse("2026-01-02T03:04:05.000006Z").unwrap();
        let mut user = User::new(
            UserId::parse("usr_01kb2z8hqv3m4n5p6r7s8t9w3g").unwrap(),
            TenantId::parse("tnt_01kb2z8hqv3m4n5p6r7s8t9w0g").unwrap(),
            "ann@acme.test".into(),
            at,
        );
        user.first_name = Some("Ann".into());
        user.last_name = Some("Lee".into());
        user.title = Some("CTO".into());
        user.department = Some("Engineering".into());
        user.manager_id = Some(UserId::parse("usr_01kb2z8hqv3m4n5p6r7s8t9w4g").unwrap());
        user.phone = Some("+1 555 0100".into());
        user.status = UserStatus::Locked;
        user.identity_source = IdentitySource::Saml;
        user.email_verified = true;
        user.custom_attributes = json!({"cost_center": 42}).as_object().cloned().unwrap();
        user.password_hash = Some("$argon2id$x".into());
        user.version = 2;
        user
    }

    /// The stored form is a contract with data already in tables: a renamed field or a
    /// changed type must fail here, not silently in production.
    #[test]
    fn a_live_user_item_is_pinned() {
        let item = describe(&user_item(&user(), None).unwrap());
        let expected: std::collections::BTreeMap<String, String> = [
            ("GSI1PK", "S:TENANT#tnt_01kb2z8hqv3m4n5p6r7s8t9w0g#USERS"),
            ("GSI1SK", "S:usr_01kb2z8hqv3m4n5p6r7s8t9w3g"),
            ("GSI2PK", "S:USERS#0"),
            ("GSI2SK", "S:usr_01kb2z8hqv3m4n5p6r7s8t9w3g"),
            ("PK", "S:USER#usr_01kb2z8hqv3m4n5p6r7s8t9w3g"),
            ("SK", "S:USER"),
            ("admin_roles", "L:[]"),
            ("created_at", "S:2026-01-02T03:04:05.000006Z"),
            ("custom_attributes", r#"S:{"cost_center":42}"#),
            ("department", "S:Engineering"),
            ("email", "S:ann@acme.test"),
            ("email_verified", "BOOL:true"),
            ("entity", "S:USER"),
            ("first_name", "S:Ann"),
            ("id", "S:usr_01kb2z8hqv3m4n5p6r7s8t9w3g"),
            ("identity_source", "S:SAML"),
            ("last_name", "S:Lee"),
            ("manager_id", "S:usr_01kb2z8hqv3m4n5p6r7s8t9w4g"),
            ("mfa_enabled", "BOOL:false"),
            ("password_hash", "S:$argon2id$x"),
            ("phone", "S:+1 555 0100"),
            ("search_text", "S:ann@acme.test ann lee"),
            ("status", "S:LOCKED"),
            ("tenant_id", "S:tnt_01kb2z8hqv3m4n5p6r7s8t9w0g"),
            ("title", "S:CTO"),
            ("updated_at", "S:2026-01-02T03:04:05.000006Z"),
            ("version", "N:2"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(item, expected);
    }

    #[test]
    fn a_deleted_user_item_leaves_both_lists_and_expires() {
        let purge = Timestamp::from_unix(1_800_000_000).unwrap();
        let mut deleted = user();
        deleted.status = UserStatus::Deleted;
        let item = describe(&user_item(&deleted, Some(purge)).unwrap());
        assert_eq!(item.get("ttl").map(String::as_str), Some("N:1800000000"));
        assert_eq!(item.get("status").map(String::as_str), Some("S:DELETED"));
        for index_key in ["GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK"] {
            assert!(!item.contains_key(index_key), "{index_key}");
        }
    }

    fn session(tenant: &TenantId, expires_at: Timestamp) -> Session {
        Session {
            id: shared::ids::SessionId::generate(),
            user_id: UserId::generate(),
            email: "ann@acme.test".into(),
            tenant_id: tenant.clone(),
            partner_id: PartnerId::generate(),
            session_type: shared::hierarchy::SessionType::Admin,
            role: Some(shared::access::AdminRole::TenantAdmin),
            scope_partner_id: None,
            role_id: None,
            status: shared::hierarchy::SessionStatus::Active,
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

    /// Revocations fill a transaction up to DynamoDB's 100 actions with their tally windows, the
    /// tenant's hold and fence — sessions ending on many days take more windows.
    #[test]
    fn revocations_fill_a_transaction_with_their_tallies() {
        let now = Timestamp::from_unix(30_000_000 * 60).unwrap();
        let live = TenantAsRead {
            id: TenantId::generate(),
            partner: Some(PartnerId::generate()),
        };
        let day = std::time::Duration::from_secs(86_400);
        const MINUTE: std::time::Duration = std::time::Duration::from_secs(60);
        // One a day for 30 days, then 90 more on the last day.
        let sessions: Vec<Session> = (0..120u32)
            .map(|i| session(&live.id, now.plus(day * i.min(29) + MINUTE)))
            .collect();
        let mut tx = Tx::new("t");
        tx.put(Item::new()).unwrap();
        tx.put(Item::new()).unwrap();
        let taken = add_revocations(&mut tx, &sessions, &live, now).unwrap();
        assert!(tx.len() <= MAX_ACTIONS);
        // 2 + n sessions + 3 windows for each of n days + hold + fence ≤ 100: n = 24.
        assert_eq!((taken, tx.len()), (24, 2 + 24 + 3 * 24 + 2));
        let mut tx = Tx::new("t");
        let rest = &sessions[29..];
        let taken = add_revocations(&mut tx, rest, &live, now).unwrap();
        assert_eq!((taken, tx.len()), (91, 91 + 3 + 2));
        // Uncounted sessions take one action each, and no hold.
        let old: Vec<Session> = (0..120u64)
            .map(|i| session(&live.id, now.plus(std::time::Duration::from_micros(i + 1))))
            .collect();
        let mut tx = Tx::new("t");
        assert_eq!(add_revocations(&mut tx, &old, &live, now).unwrap(), 100);
        // A deleted tenant's sessions leave the tenant's and the platform's windows only.
        let deleted = TenantAsRead {
            partner: None,
            ..live.clone()
        };
        let mut tx = Tx::new("t");
        let taken = add_revocations(&mut tx, &sessions[..3], &deleted, now).unwrap();
        assert_eq!((taken, tx.len()), (3, 3 + 2 * 3 + 2));
    }

    #[test]
    fn users_spread_over_every_list_shard() {
        let shards: std::collections::BTreeSet<String> = (0..200)
            .map(|_| keys::users_shard_of(&UserId::generate()))
            .collect();
        assert_eq!(shards.len() as u64, keys::USER_SHARDS);
    }
}
