//! Admin-role items and transactions: `ROLE#<rol>` / `ROLE`, listed through GSI2
//! `ADMIN_ROLES` (platform-wide) and GSI1 `TENANT#<tnt>#ADMIN_ROLES` (grants held by users of
//! one tenant; a partner's list merges its tenants'). A grant or revoke writes the grant item, the holder's `admin_roles`
//! summary (under the user's version), the admin-email marker and the audit event in one
//! transaction.

use aws_sdk_dynamodb::types::AttributeValue;
use shared::access::GrantReach;
use shared::audit::AuditEvent;
use shared::hierarchy::{AdminEmailOwner, RoleGrant, Session, User};
use shared::ids::PartnerId;
use shared::store::{
    Entity, Expr, Guard, Item, Store, StoreError, Tx, encode, keys, n, s, with_keys,
};
use shared::time::Timestamp;

use crate::operations::AdminRoleGrant;

/// The guard of the admin-email marker: one email, admin roles in one tenant only.
pub const ADMIN_EMAIL: Guard = Guard::Unique("admin email");
/// The holder's user item, unchanged since it was read (its version).
const USER: Guard = Guard::Item;

/// A derived attribute for the `is_active` filter, defined once with the users group's delete,
/// which revokes the deleted user's grants in its own transaction.
pub use shared::admin_grants::{STATE, state_of};

/// The stored item: in both lists for ever (a revoked grant is still shown, inactive).
pub fn grant_item(grant: &AdminRoleGrant) -> Result<Item, StoreError> {
    let mut item = grant.to_item()?;
    for (name, value) in [
        (
            keys::GSI1PK,
            keys::admin_roles_of_tenant(&grant.holder_tenant_id),
        ),
        (keys::GSI1SK, grant.id.to_string()),
        (keys::GSI2PK, keys::ALL_ADMIN_ROLES.to_owned()),
        (keys::GSI2SK, grant.id.to_string()),
        (STATE, state_of(grant.is_active).to_owned()),
    ] {
        item.insert(name.to_owned(), s(value));
    }
    Ok(item)
}

/// The summaries as the user item stores them.
fn summaries(grants: &[RoleGrant]) -> Result<AttributeValue, StoreError> {
    let list = grants
        .iter()
        .map(|g| encode(g).map(AttributeValue::M))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(AttributeValue::L(list))
}

/// Rewrites only the user's `admin_roles` (and moves its version): whatever else the user item
/// holds is the users group's, and stays as it is.
fn set_summaries(tx: &mut Tx, user: &User, grants: &[RoleGrant]) -> Result<(), StoreError> {
    tx.update_if(
        &keys::user(&user.id),
        "SET admin_roles = :roles, version = :next",
        USER,
        Some("version = :read"),
        Expr::default()
            .value(":roles", summaries(grants)?)
            .value(":next", n(user.version + 1))
            .value(":read", n(user.version)),
    )?;
    Ok(())
}

/// The marker routing admin login to the holder: claimed for this user, or kept if it is
/// already theirs (refreshing where it points); another user's → refused.
fn admin_email_item(
    user: &User,
    grant: &AdminRoleGrant,
    partner: &PartnerId,
) -> Result<Item, StoreError> {
    let owner = AdminEmailOwner {
        user_id: user.id.clone(),
        tenant_id: grant.holder_tenant_id.clone(),
        partner_id: partner.clone(),
    };
    Ok(with_keys(
        encode(&owner)?,
        &keys::admin_email(&user.email),
        AdminEmailOwner::NAME,
    ))
}

/// Grant item (new), the holder's summary (versioned), admin-email marker (free or theirs),
/// audit.
/// The most sessions a grant re-ranks in its own transaction (the rest right after it).
const RERANKED_IN_GRANT: usize = 90;

/// A re-ranked session was gone by the time the grant wrote (TTL): read them again.
pub const RERANKED: Guard = Guard::Parent("session");

pub async fn grant(
    store: &Store,
    grant: &AdminRoleGrant,
    user: &User,
    partner: &PartnerId,
    sessions: &[Session],
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = store.tx();
    tx.put_new(grant_item(grant)?, Guard::Item)?;
    let mut roles = user.admin_roles.clone();
    roles.push(grant.summary());
    set_summaries(&mut tx, user, &roles)?;
    tx.put_if(
        admin_email_item(user, grant, partner)?,
        ADMIN_EMAIL,
        Some("attribute_not_exists(PK) OR user_id = :user"),
        Expr::default().value(":user", s(user.id.to_string())),
    )?;
    // The holder's live sessions are listed (and may be ended) only by callers whose reach
    // covers its grants *now* (who outranks whom): they take the new reach with the grant.
    let reach = GrantReach::of(&roles, &user.tenant_id, Some(partner), Timestamp::now()).stored();
    let (now, later) = sessions.split_at(sessions.len().min(RERANKED_IN_GRANT));
    for session in now {
        session.rerank_in(&mut tx, &reach, RERANKED)?;
    }
    store.add_event(&mut tx, event)?;
    store.transact(tx).await?;
    for session in later {
        let mut tx = store.tx();
        session.rerank_in(&mut tx, &reach, RERANKED)?;
        match store.transact(tx).await {
            // Ended and purged meanwhile: nothing left to re-rank.
            Ok(()) | Err(StoreError::Refused(RERANKED)) => {}
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

/// Grant item inactive (only if still active), the holder's summary without it (versioned),
/// the admin-email marker released with the last active grant, audit.
pub async fn revoke(
    store: &Store,
    after: &AdminRoleGrant,
    user: Option<&User>,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = store.tx();
    tx.put_if(
        grant_item(after)?,
        Guard::Item,
        Some("is_active = :true"),
        Expr::default().value(":true", AttributeValue::Bool(true)),
    )?;
    if let Some(user) = user {
        let remaining: Vec<RoleGrant> = user
            .admin_roles
            .iter()
            .filter(|g| g.id != after.id)
            .cloned()
            .collect();
        set_summaries(&mut tx, user, &remaining)?;
        if !remaining.iter().any(|g| g.is_active) {
            tx.delete(&keys::admin_email(&user.email))?;
        }
    }
    store.add_event(&mut tx, event)?;
    store.transact(tx).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::access::AdminRole;
    use shared::ids::{PartnerId, RoleId, TenantId, UserId};
    use shared::store::describe;
    use shared::time::Timestamp;
    use std::collections::BTreeMap;

    fn grant() -> AdminRoleGrant {
        let at = Timestamp::parse("2026-01-02T03:04:05.000006Z").unwrap();
        AdminRoleGrant {
            id: RoleId::parse("rol_01kb2z8hqv3m4n5p6r7s8t9w0g").unwrap(),
            user_id: UserId::parse("usr_01kb2z8hqv3m4n5p6r7s8t9w1g").unwrap(),
            role: AdminRole::TenantAdmin,
            partner_id: None,
            tenant_id: Some(TenantId::parse("tnt_01kb2z8hqv3m4n5p6r7s8t9w2g").unwrap()),
            expires_at: Some(Timestamp::parse("2027-01-01T00:00:00Z").unwrap()),
            is_active: true,
            created_at: at,
            created_by: Some("usr_01kb2z8hqv3m4n5p6r7s8t9w4g".into()),
            holder_tenant_id: TenantId::parse("tnt_01kb2z8hqv3m4n5p6r7s8t9w2g").unwrap(),
            revoked_at: None,
            revoked_by: None,
        }
    }

    fn pinned(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// The stored form is a contract with data already in tables: a renamed field or a
    /// changed type must fail here, not silently in production.
    #[test]
    fn an_active_grant_item_is_pinned() {
        assert_eq!(
            describe(&grant_item(&grant()).unwrap()),
            pinned(&[
                (
                    "GSI1PK",
                    "S:TENANT#tnt_01kb2z8hqv3m4n5p6r7s8t9w2g#ADMIN_ROLES"
                ),
                ("GSI1SK", "S:rol_01kb2z8hqv3m4n5p6r7s8t9w0g"),
                ("GSI2PK", "S:ADMIN_ROLES"),
                ("GSI2SK", "S:rol_01kb2z8hqv3m4n5p6r7s8t9w0g"),
                ("PK", "S:ROLE#rol_01kb2z8hqv3m4n5p6r7s8t9w0g"),
                ("SK", "S:ROLE"),
                ("created_at", "S:2026-01-02T03:04:05.000006Z"),
                ("created_by", "S:usr_01kb2z8hqv3m4n5p6r7s8t9w4g"),
                ("entity", "S:ADMIN_ROLE"),
                ("expires_at", "S:2027-01-01T00:00:00.000000Z"),
                ("grant_state", "S:ACTIVE"),
                ("holder_tenant_id", "S:tnt_01kb2z8hqv3m4n5p6r7s8t9w2g"),
                ("id", "S:rol_01kb2z8hqv3m4n5p6r7s8t9w0g"),
                ("is_active", "BOOL:true"),
                ("role", "S:tenant_admin"),
                ("tenant_id", "S:tnt_01kb2z8hqv3m4n5p6r7s8t9w2g"),
                ("user_id", "S:usr_01kb2z8hqv3m4n5p6r7s8t9w1g"),
            ])
        );
    }

    /// The admin-email marker routes admin login (`admin-auth` reads it): its form is pinned
    /// here, where grants write it (the CLI's admins get theirs through the same grant).
    #[test]
    fn the_admin_email_marker_is_pinned() {
        let at = Timestamp::parse("2026-01-02T03:04:05.000006Z").unwrap();
        let user = User::new(
            UserId::parse("usr_01kb2z8hqv3m4n5p6r7s8t9w1g").unwrap(),
            TenantId::parse("tnt_01kb2z8hqv3m4n5p6r7s8t9w2g").unwrap(),
            "ann@acme.test".into(),
            at,
        );
        assert_eq!(
            describe(
                &admin_email_item(
                    &user,
                    &grant(),
                    &PartnerId::parse("prt_01kb2z8hqv3m4n5p6r7s8t9w3g").unwrap()
                )
                .unwrap()
            ),
            pinned(&[
                ("PK", "S:UNIQUE#ADMIN_EMAIL#ann@acme.test"),
                ("SK", "S:UNIQUE"),
                ("entity", "S:ADMIN_EMAIL"),
                ("partner_id", "S:prt_01kb2z8hqv3m4n5p6r7s8t9w3g"),
                ("tenant_id", "S:tnt_01kb2z8hqv3m4n5p6r7s8t9w2g"),
                ("user_id", "S:usr_01kb2z8hqv3m4n5p6r7s8t9w1g"),
            ])
        );
    }

    #[test]
    fn a_revoked_grant_item_stays_listed_and_says_who_revoked_it() {
        let at = Timestamp::parse("2026-02-03T04:05:06Z").unwrap();
        let revoked = AdminRoleGrant {
            is_active: false,
            revoked_at: Some(at),
            revoked_by: Some("usr_01kb2z8hqv3m4n5p6r7s8t9w4g".into()),
            ..grant()
        };
        let item = describe(&grant_item(&revoked).unwrap());
        assert_eq!(item["is_active"], "BOOL:false");
        assert_eq!(item["grant_state"], "S:REVOKED");
        assert_eq!(item["revoked_at"], "S:2026-02-03T04:05:06.000000Z");
        assert_eq!(item["revoked_by"], "S:usr_01kb2z8hqv3m4n5p6r7s8t9w4g");
        assert_eq!(item["GSI2PK"], "S:ADMIN_ROLES");
    }

    /// The summary the user item carries is what login and the session check decode.
    #[test]
    fn the_summary_is_the_grant_without_its_holder() {
        let summary = describe(&encode(&grant().summary()).unwrap());
        assert_eq!(
            summary,
            pinned(&[
                ("created_at", "S:2026-01-02T03:04:05.000006Z"),
                ("created_by", "S:usr_01kb2z8hqv3m4n5p6r7s8t9w4g"),
                ("expires_at", "S:2027-01-01T00:00:00.000000Z"),
                ("id", "S:rol_01kb2z8hqv3m4n5p6r7s8t9w0g"),
                ("is_active", "BOOL:true"),
                ("role", "S:tenant_admin"),
                ("tenant_id", "S:tnt_01kb2z8hqv3m4n5p6r7s8t9w2g"),
            ])
        );
    }
}
