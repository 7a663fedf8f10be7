//! Tenant items and transactions: `TENANT#<id>` / `TENANT`, listed through GSI1
//! `PARTNER#<id>#TENANTS` (per partner) and GSI2 `TENANTS` (platform-wide). The partner's
//! `tenant_count` moves in the same transaction as the tenant, under `max_tenants`.

use shared::audit::AuditEvent;
use shared::hierarchy::Tenant;
use shared::ids::PartnerId;
use shared::store::counters::Counter;
use shared::store::tally::TenantShare;
use shared::store::write::{claim, claim_expiry, lifecycle_item, move_claim};
use shared::store::{Expr, Guard, Item, Store, StoreError, Tx, keys, n, s};
use shared::time::Timestamp;

/// The guard of the slug claim.
pub const SLUG: Guard = Guard::Unique("slug");
/// The partner gaining a tenant: live and below `max_tenants`.
pub const PARTNER: Guard = Guard::Parent("partner");
/// The partner losing a tenant (it only has to exist).
const OLD_PARTNER: Guard = Guard::Parent("old partner");

/// The stored item; a deleted tenant (`purge_at`) leaves both list indexes.
pub fn tenant_item(tenant: &Tenant, purge_at: Option<Timestamp>) -> Result<Item, StoreError> {
    let mut item = lifecycle_item(
        tenant,
        purge_at,
        &[
            (keys::GSI1PK, keys::tenants_of_partner(&tenant.partner_id)),
            (keys::GSI1SK, tenant.id.to_string()),
            (keys::GSI2PK, keys::ALL_TENANTS.to_owned()),
            (keys::GSI2SK, tenant.id.to_string()),
        ],
    )?;
    item.insert("search_text".into(), s(tenant.search_text()));
    Ok(item)
}

/// Moves a partner's tenant counter (and its version, so full-item writes of the partner see
/// the change). A gain needs the partner live and below `max_tenants`.
fn add_tenant_count(tx: &mut Tx, partner: &PartnerId, delta: i64) -> Result<(), StoreError> {
    let update = "ADD tenant_count :delta, version :one";
    let values = Expr::default()
        .value(":delta", n(delta))
        .value(":one", n(1));
    if delta > 0 {
        tx.update_if(
            &keys::partner(partner),
            update,
            PARTNER,
            Some("attribute_exists(PK) AND #status <> :deleted AND (attribute_not_exists(max_tenants) OR tenant_count < max_tenants)"),
            values
                .name("#status", "status")
                .value(":deleted", s("DELETED")),
        )?;
    } else {
        tx.update_if(
            &keys::partner(partner),
            update,
            OLD_PARTNER,
            Some("attribute_exists(PK)"),
            values,
        )?;
    }
    Ok(())
}

/// Item (new), slug claim, partner counter (live, under `max_tenants`), platform counter, audit.
pub async fn create(store: &Store, tenant: &Tenant, event: &AuditEvent) -> Result<(), StoreError> {
    let mut tx = store.tx();
    tx.put_new(tenant_item(tenant, None)?, Guard::Item)?;
    claim(
        &mut tx,
        &keys::tenant_slug(&tenant.slug),
        tenant.id.as_str(),
        "slug",
    )?;
    add_tenant_count(&mut tx, &tenant.partner_id, 1)?;
    Counter::Tenants.add(&mut tx, 1)?;
    store.add_event(&mut tx, event)?;
    store.transact(tx).await
}

/// Item (versioned), [slug claim moved], [old partner −1, new partner +1 under its limit, the
/// tenant's share of the partner counts and tallies moved with it (`share`, read for a
/// transfer)], audit.
pub async fn update(
    store: &Store,
    before: &Tenant,
    after: &Tenant,
    share: Option<&TenantShare>,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = store.tx();
    tx.put_versioned(tenant_item(after, None)?, before.version)?;
    if before.slug != after.slug {
        move_claim(
            &mut tx,
            &keys::tenant_slug(&before.slug),
            &keys::tenant_slug(&after.slug),
            after.id.as_str(),
            "slug",
        )?;
    }
    if before.partner_id != after.partner_id {
        add_tenant_count(&mut tx, &before.partner_id, -1)?;
        add_tenant_count(&mut tx, &after.partner_id, 1)?;
        let share =
            share.ok_or_else(|| StoreError::Corrupt("a transfer without its share".into()))?;
        share.move_between(
            &mut tx,
            &after.id,
            Some(&before.partner_id),
            Some(&after.partner_id),
        )?;
    }
    store.add_event(&mut tx, event)?;
    store.transact(tx).await
}

/// Item (versioned) out of the lists with its purge time, partner counter, the tenant's share
/// out of its partner, slug claim expiring with it, platform counter, audit.
pub async fn delete(
    store: &Store,
    before: &Tenant,
    after: &Tenant,
    share: &TenantShare,
    purge_at: Timestamp,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = store.tx();
    tx.put_versioned(tenant_item(after, Some(purge_at))?, before.version)?;
    add_tenant_count(&mut tx, &before.partner_id, -1)?;
    claim_expiry(&mut tx, &keys::tenant_slug(&before.slug), Some(purge_at))?;
    Counter::Tenants.add(&mut tx, -1)?;
    share.move_between(&mut tx, &before.id, Some(&before.partner_id), None)?;
    store.add_event(&mut tx, event)?;
    store.transact(tx).await
}

/// Item (versioned) back in the lists, partner counter (live, under the limit), the tenant's
/// share back in its partner, slug claim kept again, platform counter, audit.
pub async fn restore(
    store: &Store,
    before: &Tenant,
    after: &Tenant,
    share: &TenantShare,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = store.tx();
    tx.put_versioned(tenant_item(after, None)?, before.version)?;
    add_tenant_count(&mut tx, &after.partner_id, 1)?;
    claim_expiry(&mut tx, &keys::tenant_slug(&before.slug), None)?;
    Counter::Tenants.add(&mut tx, 1)?;
    share.move_between(&mut tx, &after.id, None, Some(&after.partner_id))?;
    store.add_event(&mut tx, event)?;
    store.transact(tx).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use shared::ids::TenantId;
    use shared::store::describe;
    use shared::values::Status;

    fn tenant() -> Tenant {
        let at = Timestamp::parse("2026-01-02T03:04:05.000006Z").unwrap();
        Tenant {
            id: TenantId::parse("tnt_01kb2z8hqv3m4n5p6r7s8t9w0g").unwrap(),
            partner_id: PartnerId::parse("prt_01kb2z8hqv3m4n5p6r7s8t9w1g").unwrap(),
            name: "Globex".into(),
            slug: "globex".into(),
            status: Status::Suspended,
            contact_email: Some("it@globex.test".into()),
            settings: json!({"password_policy": {"min_length": 14}, "mfa_required": true})
                .as_object()
                .cloned()
                .unwrap(),
            branding: serde_json::Map::new(),
            user_count: 12,
            created_at: at,
            updated_at: at,
            deleted_at: None,
            version: 3,
        }
    }

    /// The stored form is a contract with data already in tables: a renamed field or a
    /// changed type must fail here, not silently in production.
    #[test]
    fn a_live_tenant_item_is_pinned() {
        let item = describe(&tenant_item(&tenant(), None).unwrap());
        let expected: std::collections::BTreeMap<String, String> = [
            ("GSI1PK", "S:PARTNER#prt_01kb2z8hqv3m4n5p6r7s8t9w1g#TENANTS"),
            ("GSI1SK", "S:tnt_01kb2z8hqv3m4n5p6r7s8t9w0g"),
            ("GSI2PK", "S:TENANTS"),
            ("GSI2SK", "S:tnt_01kb2z8hqv3m4n5p6r7s8t9w0g"),
            ("PK", "S:TENANT#tnt_01kb2z8hqv3m4n5p6r7s8t9w0g"),
            ("SK", "S:TENANT"),
            ("branding", "S:{}"),
            ("contact_email", "S:it@globex.test"),
            ("created_at", "S:2026-01-02T03:04:05.000006Z"),
            ("entity", "S:TENANT"),
            ("id", "S:tnt_01kb2z8hqv3m4n5p6r7s8t9w0g"),
            ("name", "S:Globex"),
            ("partner_id", "S:prt_01kb2z8hqv3m4n5p6r7s8t9w1g"),
            ("search_text", "S:globex globex"),
            (
                "settings",
                r#"S:{"mfa_required":true,"password_policy":{"min_length":14}}"#,
            ),
            ("slug", "S:globex"),
            ("status", "S:SUSPENDED"),
            ("updated_at", "S:2026-01-02T03:04:05.000006Z"),
            ("user_count", "N:12"),
            ("version", "N:3"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(item, expected);
    }

    #[test]
    fn a_deleted_tenant_item_leaves_both_lists_and_expires() {
        let purge = Timestamp::from_unix(1_800_000_000).unwrap();
        let item = describe(&tenant_item(&tenant(), Some(purge)).unwrap());
        assert_eq!(item.get("ttl").map(String::as_str), Some("N:1800000000"));
        for index_key in ["GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK"] {
            assert!(!item.contains_key(index_key), "{index_key}");
        }
    }
}
