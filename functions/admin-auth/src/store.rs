//! Sessions and login attempt slots: the transactions that sign admins in and out. A session
//! counts in the active-session tallies (`shared::store::tally`) of its tenant, the tenant's
//! partner and the platform from its login until its `expires_at` (a whole minute), or until the
//! one write that revokes it while it is ACTIVE.

use shared::audit::AuditEvent;
use shared::hierarchy::Session;
use shared::store::sessions;
use shared::store::{Expr, Guard, Key, Store, StoreError, keys, n, s};
use shared::time::Timestamp;

pub use sessions::{TENANT_MOVED, USER_CHANGED};

/// A new admin session (`shared::store::sessions::start_in`: the session, its tallies, the
/// user's `last_login_at`, the attempt slots given back), with its audit event.
pub async fn create_session(
    store: &Store,
    session: &Session,
    user_version: u64,
    now: Timestamp,
    slots: &[Key],
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = store.tx();
    sessions::start_in(&mut tx, session, user_version, now, slots)?;
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

pub use sessions::revoke_session;

#[cfg(test)]
mod tests {
    use super::*;
    use shared::access::AdminRole;
    use shared::hierarchy::SessionStatus;
    use shared::ids::{PartnerId, SessionId, TenantId, UserId};
    use shared::store::Tx;
    use shared::store::describe;
    use shared::store::sessions::{PURGE_GRACE_SECONDS, session_item};
    use shared::store::tally::TenantNow;

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
            sessions::end_in(&mut tx, &session, tenant, now).unwrap();
            tx.len()
        };
        let moved = TenantNow::Live(PartnerId::generate());
        assert_eq!(actions(Some(&moved)), 1 + 3 + 2, "windows, hold, fence");
        assert_eq!(actions(Some(&TenantNow::Deleted)), 1 + 2 + 2);
        assert_eq!(actions(Some(&TenantNow::Gone)), 1 + 2 + 1);
        assert_eq!(actions(None), 1, "not counted");
    }
}
