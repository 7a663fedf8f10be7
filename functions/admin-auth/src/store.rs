//! Sessions and login attempt slots: the transactions that sign admins in and out. A session
//! counts in the active-session tallies (`shared::store::tally`) of its tenant, the tenant's
//! partner and the platform from its login until its `expires_at` (a whole minute), or until the
//! one write that revokes it while it is ACTIVE.

use shared::audit::AuditEvent;
use shared::hierarchy::Session;
use shared::ids::UserId;
use shared::store::tally::{self, EndedSessions, TallyDeltas, TenantNow};
use shared::store::{Entity, Expr, Guard, Item, Key, Store, StoreError, Tx, keys, n, s};
use shared::time::Timestamp;

/// Sessions and attempt counters outlive their expiry by a day before TTL purges them.
const PURGE_GRACE_SECONDS: i64 = 86_400;

/// The stored session: listed under its user (GSI1), its tenant (GSI2) and one shard of the
/// platform-wide list (GSI3; `functions/sessions` lists them), purged a day after it expires.
fn session_item(session: &Session) -> Result<Item, StoreError> {
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

/// A login raced a transfer or a delete of its tenant: the session would count under a partner
/// that is no longer the tenant's.
pub const TENANT_MOVED: Guard = Guard::Parent("tenant");

/// Session (new, listed under its user) counted in the tallies of its tenant, of the tenant's
/// partner as the login read it (the tenant held there: [`TENANT_MOVED`]) and of the platform,
/// the tenant's fence moved; user's `last_login_at`, the attempt slots given back, audit.
pub async fn create_session(
    store: &Store,
    session: &Session,
    user: &UserId,
    now: Timestamp,
    slots: &[Key],
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = store.tx();
    tx.put_new(session_item(session)?, Guard::Item)?;
    let mut deltas = TallyDeltas::default();
    tally::session_delta(
        &mut deltas,
        &session.tenant_id,
        Some(&session.partner_id),
        session.expires_at,
        1,
    );
    deltas.apply(&mut tx)?;
    tally::hold_tenant(
        &mut tx,
        &session.tenant_id,
        Some(&session.partner_id),
        TENANT_MOVED,
    )?;
    tally::fence(&mut tx, &session.tenant_id)?;
    // A success gives its attempt slots back: only failures count toward the limits.
    for key in slots {
        tx.update(
            key,
            "ADD attempts :minus",
            Expr::default().value(":minus", n(-1)),
        )?;
    }
    tx.update_if(
        &keys::user(user),
        "SET last_login_at = :now",
        Guard::Parent("user"),
        Some("attribute_exists(PK)"),
        Expr::default().value(":now", s(now.to_string())),
    )?;
    store.add_event(&mut tx, event)?;
    store.transact(tx).await
}

/// Moves the session to its next refresh generation, only if it is still at the one presented
/// and live: of two refreshes with the same token, one wins and the other is a reuse.
pub async fn rotate_refresh(store: &Store, session: &Session) -> Result<(), StoreError> {
    let mut tx = store.tx();
    tx.update_if(
        &keys::session(&session.id),
        "SET refresh_generation = :next",
        Guard::Item,
        Some("refresh_generation = :current AND #status = :active"),
        Expr::default()
            .name("#status", "status")
            .value(":next", n(session.refresh_generation + 1))
            .value(":current", n(session.refresh_generation))
            .value(":active", s("ACTIVE")),
    )?;
    store.transact(tx).await
}

/// The session revoked, only while it is ACTIVE (refused with `Guard::Item` otherwise: it
/// ended meanwhile), and taken off the tallies when it counts now (`tally::session_counts_at`): `tenant`
/// says where its tenant counts as just read (held so in the same write, `Guard::Item` when a
/// transfer, delete or restore came between), `None` when the session does not count.
fn end_session(
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

/// Session revoked (only if still ACTIVE) and taken off the tallies ([`end_session`]), audit.
pub async fn revoke_session(
    store: &Store,
    session: &Session,
    tenant: Option<&TenantNow>,
    now: Timestamp,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = store.tx();
    end_session(&mut tx, session, tenant, now)?;
    store.add_event(&mut tx, event)?;
    store.transact(tx).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::access::AdminRole;
    use shared::hierarchy::SessionStatus;
    use shared::ids::{PartnerId, SessionId, TenantId};
    use shared::store::describe;

    /// The stored form is a contract with sessions already in tables: a renamed field or a
    /// changed type must fail here, not silently in production.
    #[test]
    fn a_session_item_is_pinned() {
        let at = Timestamp::parse("2026-01-02T03:04:05.000006Z").unwrap();
        let session = Session {
            id: SessionId::parse("ses_01kb2z8hqv3m4n5p6r7s8t9w0g").unwrap(),
            user_id: UserId::parse("usr_01kb2z8hqv3m4n5p6r7s8t9w1g").unwrap(),
            email: "ann@acme.test".into(),
            tenant_id: TenantId::parse("tnt_01kb2z8hqv3m4n5p6r7s8t9w2g").unwrap(),
            partner_id: PartnerId::parse("prt_01kb2z8hqv3m4n5p6r7s8t9w3g").unwrap(),
            session_type: shared::hierarchy::SessionType::Admin,
            role: Some(AdminRole::PartnerAdmin),
            scope_partner_id: Some(PartnerId::parse("prt_01kb2z8hqv3m4n5p6r7s8t9w4g").unwrap()),
            role_id: Some(shared::ids::RoleId::parse("rol_01kb2z8hqv3m4n5p6r7s8t9w5g").unwrap()),
            status: SessionStatus::Active,
            created_at: at,
            expires_at: at,
            last_active_at: Some(at),
            refresh_generation: 3,
            holder_reach: Some("PARTNER#prt_01kb2z8hqv3m4n5p6r7s8t9w4g".into()),
            applications: Vec::new(),
            ip_address: Some("192.0.2.1".into()),
            user_agent: None,
        };
        let item = describe(&session_item(&session).unwrap());
        let expected: std::collections::BTreeMap<String, String> = [
            (
                "GSI1PK",
                "S:USER#usr_01kb2z8hqv3m4n5p6r7s8t9w1g#SESSIONS".to_owned(),
            ),
            ("GSI1SK", "S:ses_01kb2z8hqv3m4n5p6r7s8t9w0g".to_owned()),
            (
                "GSI2PK",
                "S:TENANT#tnt_01kb2z8hqv3m4n5p6r7s8t9w2g#SESSIONS".to_owned(),
            ),
            ("GSI2SK", "S:ses_01kb2z8hqv3m4n5p6r7s8t9w0g".to_owned()),
            ("GSI3PK", "S:SESSIONS#6".to_owned()),
            ("GSI3SK", "S:ses_01kb2z8hqv3m4n5p6r7s8t9w0g".to_owned()),
            ("PK", "S:SESSION#ses_01kb2z8hqv3m4n5p6r7s8t9w0g".to_owned()),
            ("SK", "S:SESSION".to_owned()),
            ("created_at", "S:2026-01-02T03:04:05.000006Z".to_owned()),
            ("email", "S:ann@acme.test".to_owned()),
            ("entity", "S:SESSION".to_owned()),
            ("expires_at", "S:2026-01-02T03:04:05.000006Z".to_owned()),
            (
                "holder_reach",
                "S:PARTNER#prt_01kb2z8hqv3m4n5p6r7s8t9w4g".to_owned(),
            ),
            ("id", "S:ses_01kb2z8hqv3m4n5p6r7s8t9w0g".to_owned()),
            ("ip_address", "S:192.0.2.1".to_owned()),
            ("last_active_at", "S:2026-01-02T03:04:05.000006Z".to_owned()),
            ("partner_id", "S:prt_01kb2z8hqv3m4n5p6r7s8t9w3g".to_owned()),
            ("refresh_generation", "N:3".to_owned()),
            ("role", "S:partner_admin".to_owned()),
            ("role_id", "S:rol_01kb2z8hqv3m4n5p6r7s8t9w5g".to_owned()),
            (
                "scope_partner_id",
                "S:prt_01kb2z8hqv3m4n5p6r7s8t9w4g".to_owned(),
            ),
            ("session_type", "S:ADMIN".to_owned()),
            ("status", "S:ACTIVE".to_owned()),
            ("tenant_id", "S:tnt_01kb2z8hqv3m4n5p6r7s8t9w2g".to_owned()),
            ("ttl", format!("N:{}", at.unix() + PURGE_GRACE_SECONDS)),
            ("user_id", "S:usr_01kb2z8hqv3m4n5p6r7s8t9w1g".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        assert_eq!(item, expected);
    }

    fn session_until(expires_at: Timestamp) -> Session {
        Session {
            id: SessionId::generate(),
            user_id: UserId::generate(),
            email: "ann@acme.test".into(),
            tenant_id: TenantId::generate(),
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

    #[test]
    fn an_ended_session_leaves_its_tenant_its_partner_now_and_the_platform() {
        let now = Timestamp::from_unix(1_800_000_000).unwrap();
        let session = session_until(Timestamp::from_unix(1_800_003_600).unwrap());
        let actions = |tenant: Option<&TenantNow>| {
            let mut tx = Tx::new("t");
            end_session(&mut tx, &session, tenant, now).unwrap();
            tx.len()
        };
        let moved = TenantNow::Live(PartnerId::generate());
        assert_eq!(actions(Some(&moved)), 1 + 3 + 2, "windows, hold, fence");
        assert_eq!(actions(Some(&TenantNow::Deleted)), 1 + 2 + 2);
        assert_eq!(actions(Some(&TenantNow::Gone)), 1 + 2 + 1);
        assert_eq!(actions(None), 1, "not counted");
    }
}
