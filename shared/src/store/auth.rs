//! Sessions, login failures, users and admin roles.

use super::counters::Counter;
use super::items::{encode, set, with_keys};
use super::partners::marker;
use super::tx::{Expr, Tx, n, s};
use super::{Store, StoreError, keys};
use crate::domain::audit::AuditEvent;
use crate::domain::auth::{AdminEmailOwner, LoginFailures, RoleGrant, Session, User};
use crate::domain::tenants::Tenant;
use crate::ids::{SessionId, UserId};
use crate::time::Timestamp;

/// Sessions and failure windows outlive their expiry by a day before TTL purges them.
const PURGE_GRACE_SECONDS: i64 = 86_400;

impl Store {
    /// Actions: session, user's `last_login_at`, audit.
    pub async fn create_session(
        &self,
        session: &Session,
        user: &UserId,
        now: Timestamp,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = Tx::new(self.table());
        let mut item = with_keys(encode(session)?, &keys::session(&session.id), "SESSION");
        set(
            &mut item,
            keys::GSI1PK,
            keys::sessions_of_user(&session.user_id),
        );
        set(&mut item, keys::GSI1SK, session.id.to_string());
        item.insert(
            keys::TTL.into(),
            n(session.expires_at.unix() + PURGE_GRACE_SECONDS),
        );
        tx.put_new(item)?;
        tx.update(
            &keys::user(user),
            "SET last_login_at = :now",
            Some("attribute_exists(PK)"),
            Expr::default().value(":now", s(now.to_string())),
        )?;
        self.add_event(&mut tx, event)?;
        self.transact(tx.into_actions()).await
    }

    /// Actions: the email's failure window (only if unchanged since read), audit. A concurrent
    /// failure that wins the race is retried by the caller's next attempt; the audit event is
    /// written either way.
    pub async fn record_login_failure(
        &self,
        email: &str,
        before: &LoginFailures,
        after: &LoginFailures,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let key = keys::login_failures(email);
        let mut item = with_keys(encode(after)?, &key, "LOGIN_FAILURES");
        item.insert("count_before".into(), n(before.failures.len()));
        let newest = after.failures.last().copied().unwrap_or_default();
        item.insert(
            keys::TTL.into(),
            n(newest + crate::domain::auth::LOCKOUT_WINDOW.as_secs() as i64 + PURGE_GRACE_SECONDS),
        );
        let mut tx = Tx::new(self.table());
        tx.put(item, None, Expr::default())?;
        self.add_event(&mut tx, event)?;
        self.transact(tx.into_actions()).await
    }

    /// Replaces the refresh hash, only if it is still the one presented and the session live.
    pub async fn rotate_refresh(
        &self,
        session: &Session,
        new_hash: &str,
    ) -> Result<(), StoreError> {
        let mut tx = Tx::new(self.table());
        tx.update(
            &keys::session(&session.id),
            "SET refresh_hash = :new, used_refresh_hashes = list_append(if_not_exists(used_refresh_hashes, :empty), :old_list)",
            Some("refresh_hash = :old AND #status = :active"),
            Expr::default()
                .name("#status", "status")
                .value(":new", s(new_hash))
                .value(":old", s(session.refresh_hash.clone()))
                .value(":old_list", aws_sdk_dynamodb::types::AttributeValue::L(vec![s(session.refresh_hash.clone())]))
                .value(":empty", aws_sdk_dynamodb::types::AttributeValue::L(Vec::new()))
                .value(":active", s("ACTIVE")),
        )?;
        self.transact(tx.into_actions()).await
    }

    /// Actions: session revoked, audit.
    pub async fn revoke_session(
        &self,
        id: &SessionId,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = Tx::new(self.table());
        tx.update(
            &keys::session(id),
            "SET #status = :revoked, revoked_at = :now",
            Some("attribute_exists(PK)"),
            Expr::default()
                .name("#status", "status")
                .value(":revoked", s("REVOKED"))
                .value(":now", s(Timestamp::now().to_string())),
        )?;
        self.add_event(&mut tx, event)?;
        self.transact(tx.into_actions()).await
    }

    /// Creates a user holding one admin role. Actions: user, tenant email marker, admin email
    /// marker, role item, tenant `user_count`, users shard, audit.
    pub async fn create_admin_user(
        &self,
        user: &User,
        tenant: &Tenant,
        grant: &RoleGrant,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = Tx::new(self.table());
        let mut item = with_keys(encode(user)?, &keys::user(&user.id), "USER");
        set(
            &mut item,
            keys::GSI1PK,
            keys::users_of_tenant(&user.tenant_id),
        );
        set(&mut item, keys::GSI1SK, user.id.to_string());
        tx.put_new(item)?;
        tx.put_new(marker(
            &keys::user_email(&user.tenant_id, &user.email),
            user.id.as_str(),
        ))?;
        let owner = AdminEmailOwner {
            user_id: user.id.clone(),
            tenant_id: tenant.id.clone(),
            partner_id: tenant.partner_id.clone(),
        };
        tx.put_new(with_keys(
            encode(&owner)?,
            &keys::admin_email(&user.email),
            "ADMIN_EMAIL",
        ))?;
        let mut role = with_keys(
            encode(grant)?,
            &keys::admin_role(&user.id, &grant.id),
            "ADMIN_ROLE",
        );
        set(&mut role, "user_id", user.id.to_string());
        tx.put_new(role)?;
        tx.update(
            &keys::tenant(&tenant.id),
            "ADD user_count :one, version :one",
            Some("attribute_exists(PK) AND #status = :active"),
            Expr::default()
                .name("#status", "status")
                .value(":one", n(1))
                .value(":active", s("ACTIVE")),
        )?;
        Counter::Users.add(&mut tx, 1)?;
        self.add_event(&mut tx, event)?;
        self.transact(tx.into_actions()).await
    }
}
