//! Partner items and transactions: `PARTNER#<id>` / `PARTNER`, listed through GSI1 `PARTNERS`.
//! Every write is one transaction holding the item, its slug claim, the platform counter and
//! its audit event.

use shared::audit::AuditEvent;
use shared::hierarchy::Partner;
use shared::store::counters::Counter;
use shared::store::write::{claim, claim_expiry, lifecycle_item, move_claim};
use shared::store::{Expr, Guard, Item, Store, StoreError, keys, n, s};
use shared::time::Timestamp;

/// The guard of the slug claim.
pub const SLUG: Guard = Guard::Unique("slug");

/// The stored item; a deleted partner (`purge_at`) leaves the list index.
pub fn partner_item(partner: &Partner, purge_at: Option<Timestamp>) -> Result<Item, StoreError> {
    let mut item = lifecycle_item(
        partner,
        purge_at,
        &[
            (keys::GSI1PK, keys::ALL_PARTNERS.to_owned()),
            (keys::GSI1SK, partner.id.to_string()),
        ],
    )?;
    item.insert("search_text".into(), s(partner.search_text()));
    Ok(item)
}

/// Item (new), slug claim, platform counter, audit.
pub async fn create(
    store: &Store,
    partner: &Partner,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = store.tx();
    tx.put_new(partner_item(partner, None)?, Guard::Item)?;
    claim(
        &mut tx,
        &keys::partner_slug(&partner.slug),
        partner.id.as_str(),
        "slug",
    )?;
    Counter::Partners.add(&mut tx, 1)?;
    store.add_event(&mut tx, event)?;
    store.transact(tx).await
}

/// Item (versioned), [slug claim moved], audit.
pub async fn update(
    store: &Store,
    before: &Partner,
    after: &Partner,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = store.tx();
    tx.put_versioned(partner_item(after, None)?, before.version)?;
    if before.slug != after.slug {
        move_claim(
            &mut tx,
            &keys::partner_slug(&before.slug),
            &keys::partner_slug(&after.slug),
            after.id.as_str(),
            "slug",
        )?;
    }
    store.add_event(&mut tx, event)?;
    store.transact(tx).await
}

/// Item (versioned, and still without tenants) out of the list with its purge time, slug
/// claim expiring with it, platform counter, audit.
pub async fn delete(
    store: &Store,
    before: &Partner,
    after: &Partner,
    purge_at: Timestamp,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = store.tx();
    tx.put_if(
        partner_item(after, Some(purge_at))?,
        Guard::Item,
        Some("version = :read_version AND tenant_count = :zero"),
        Expr::default()
            .value(":read_version", n(before.version))
            .value(":zero", n(0)),
    )?;
    claim_expiry(&mut tx, &keys::partner_slug(&before.slug), Some(purge_at))?;
    Counter::Partners.add(&mut tx, -1)?;
    store.add_event(&mut tx, event)?;
    store.transact(tx).await
}

/// Item (versioned) back in the list, slug claim kept again, platform counter, audit.
pub async fn restore(
    store: &Store,
    before: &Partner,
    after: &Partner,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = store.tx();
    tx.put_versioned(partner_item(after, None)?, before.version)?;
    claim_expiry(&mut tx, &keys::partner_slug(&before.slug), None)?;
    Counter::Partners.add(&mut tx, 1)?;
    store.add_event(&mut tx, event)?;
    store.transact(tx).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::hierarchy::PartnerLimits;
    use shared::ids::PartnerId;
    use shared::store::describe;
    use shared::values::Status;

    fn partner() -> Partner {
        let at = Timestamp::parse("2026-01-02T03:04:05.000006Z").unwrap();
        Partner {
            id: PartnerId::parse("prt_01kb2z8hqv3m4n5p6r7s8t9w0g").unwrap(),
            name: "Acme Corp".into(),
            slug: "acme".into(),
            status: Status::Active,
            contact_email: "ops@acme.test".into(),
            limits: PartnerLimits {
                max_tenants: Some(3),
                max_users_per_tenant: None,
                max_applications_per_tenant: Some(0),
            },
            tenant_count: 2,
            created_at: at,
            updated_at: at,
            deleted_at: None,
            version: 7,
        }
    }

    /// The stored form is a contract with data already in tables: a renamed field or a
    /// changed type must fail here, not silently in production.
    #[test]
    fn a_live_partner_item_is_pinned() {
        let item = describe(&partner_item(&partner(), None).unwrap());
        let expected: Vec<(&str, &str)> = vec![
            ("GSI1PK", "S:PARTNERS"),
            ("GSI1SK", "S:prt_01kb2z8hqv3m4n5p6r7s8t9w0g"),
            ("PK", "S:PARTNER#prt_01kb2z8hqv3m4n5p6r7s8t9w0g"),
            ("SK", "S:PARTNER"),
            ("contact_email", "S:ops@acme.test"),
            ("created_at", "S:2026-01-02T03:04:05.000006Z"),
            ("entity", "S:PARTNER"),
            ("id", "S:prt_01kb2z8hqv3m4n5p6r7s8t9w0g"),
            ("max_applications_per_tenant", "N:0"),
            ("max_tenants", "N:3"),
            ("name", "S:Acme Corp"),
            ("search_text", "S:acme corp acme"),
            ("slug", "S:acme"),
            ("status", "S:ACTIVE"),
            ("tenant_count", "N:2"),
            ("updated_at", "S:2026-01-02T03:04:05.000006Z"),
            ("version", "N:7"),
        ];
        let expected: std::collections::BTreeMap<String, String> = expected
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        assert_eq!(item, expected);
    }

    #[test]
    fn a_deleted_partner_item_leaves_the_list_and_expires() {
        let mut deleted = partner();
        deleted.status = Status::Deleted;
        deleted.deleted_at = Some(deleted.updated_at);
        let purge = Timestamp::from_unix(1_800_000_000).unwrap();
        let item = describe(&partner_item(&deleted, Some(purge)).unwrap());
        assert_eq!(item.get("ttl").map(String::as_str), Some("N:1800000000"));
        assert_eq!(item.get("status").map(String::as_str), Some("S:DELETED"));
        assert_eq!(
            item.get("deleted_at").map(String::as_str),
            Some("S:2026-01-02T03:04:05.000006Z")
        );
        assert!(!item.contains_key("GSI1PK") && !item.contains_key("GSI1SK"));
    }
}
