//! Partner items: `PARTNER#<id>` / `PARTNER`, listed through GSI1 `PARTNERS`.

use super::counters::Counter;
use super::items::{encode, set, with_keys};
use super::tx::{Expr, Tx, n, s};
use super::{Item, Store, StoreError, keys};
use crate::domain::audit::AuditEvent;
use crate::domain::partners::Partner;
use crate::time::Timestamp;

fn partner_item(partner: &Partner, purge_at: Option<Timestamp>) -> Result<Item, StoreError> {
    let mut item = with_keys(encode(partner)?, &keys::partner(&partner.id), "PARTNER");
    set(&mut item, "search_text", partner.search_text());
    match purge_at {
        // A deleted partner leaves the list index and is purged when the restore window ends.
        Some(at) => {
            item.insert(keys::TTL.into(), n(at.unix()));
        }
        None => {
            set(&mut item, keys::GSI1PK, keys::ALL_PARTNERS);
            set(&mut item, keys::GSI1SK, partner.id.to_string());
        }
    }
    Ok(item)
}

/// A uniqueness marker owned by `owner`.
pub(crate) fn marker(key: &keys::Key, owner: &str) -> Item {
    let mut item = key.to_item();
    set(&mut item, "owner_id", owner);
    item
}

/// Puts the full item only if nobody changed it since it was read.
pub(crate) fn put_versioned(tx: &mut Tx, item: Item, read_version: u64) -> Result<(), StoreError> {
    tx.put(
        item,
        Some("version = :read_version"),
        Expr::default().value(":read_version", n(read_version)),
    )?;
    Ok(())
}

/// Moves a marker from one value to another (a slug change).
pub(crate) fn move_marker(
    tx: &mut Tx,
    old: &keys::Key,
    new: &keys::Key,
    owner: &str,
) -> Result<(), StoreError> {
    tx.delete(old, None, Expr::default())?;
    tx.put_new(marker(new, owner))?;
    Ok(())
}

/// Marks a marker to expire with its soft-deleted owner, or keeps it forever again.
pub(crate) fn marker_expiry(
    tx: &mut Tx,
    key: &keys::Key,
    purge_at: Option<Timestamp>,
) -> Result<(), StoreError> {
    match purge_at {
        Some(at) => tx.update(
            key,
            "SET #ttl = :ttl",
            None,
            Expr::default()
                .name("#ttl", keys::TTL)
                .value(":ttl", n(at.unix())),
        )?,
        None => tx.update(
            key,
            "REMOVE #ttl",
            None,
            Expr::default().name("#ttl", keys::TTL),
        )?,
    };
    Ok(())
}

impl Store {
    /// Actions: partner, slug marker, counter shard, audit.
    pub async fn create_partner(
        &self,
        partner: &Partner,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = Tx::new(self.table());
        tx.put_new(partner_item(partner, None)?)?;
        tx.put_new(marker(
            &keys::partner_slug(&partner.slug),
            partner.id.as_str(),
        ))?;
        Counter::Partners.add(&mut tx, 1)?;
        self.add_event(&mut tx, event)?;
        self.transact(tx.into_actions()).await
    }

    /// Actions: partner (versioned), [old marker, new marker], audit.
    pub async fn update_partner(
        &self,
        before: &Partner,
        after: &Partner,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = Tx::new(self.table());
        put_versioned(&mut tx, partner_item(after, None)?, before.version)?;
        if before.slug != after.slug {
            move_marker(
                &mut tx,
                &keys::partner_slug(&before.slug),
                &keys::partner_slug(&after.slug),
                after.id.as_str(),
            )?;
        }
        self.add_event(&mut tx, event)?;
        self.transact(tx.into_actions()).await
    }

    /// Actions: partner (versioned, and still without tenants), marker expiry, counter, audit.
    pub async fn delete_partner(
        &self,
        before: &Partner,
        after: &Partner,
        purge_at: Timestamp,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = Tx::new(self.table());
        tx.put(
            partner_item(after, Some(purge_at))?,
            Some("version = :read_version AND tenant_count = :zero"),
            Expr::default()
                .value(":read_version", n(before.version))
                .value(":zero", n(0)),
        )?;
        marker_expiry(&mut tx, &keys::partner_slug(&before.slug), Some(purge_at))?;
        Counter::Partners.add(&mut tx, -1)?;
        self.add_event(&mut tx, event)?;
        self.transact(tx.into_actions()).await
    }

    /// Actions: partner (versioned), marker kept again, counter, audit.
    pub async fn restore_partner(
        &self,
        before: &Partner,
        after: &Partner,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = Tx::new(self.table());
        put_versioned(&mut tx, partner_item(after, None)?, before.version)?;
        marker_expiry(&mut tx, &keys::partner_slug(&before.slug), None)?;
        Counter::Partners.add(&mut tx, 1)?;
        self.add_event(&mut tx, event)?;
        self.transact(tx.into_actions()).await
    }

    /// Moves a partner's tenant counter (and version, so full-item writes see the change).
    /// With `limit_checked`, the partner must be live and below `max_tenants`.
    pub(crate) fn add_tenant_count(
        &self,
        tx: &mut Tx,
        partner: &crate::ids::PartnerId,
        delta: i64,
        limit_checked: bool,
    ) -> Result<(), StoreError> {
        let expr = Expr::default()
            .name("#status", "status")
            .value(":delta", n(delta))
            .value(":one", n(1));
        let (condition, expr) = if limit_checked {
            (
                "attribute_exists(PK) AND #status <> :deleted AND (attribute_not_exists(max_tenants) OR tenant_count < max_tenants)",
                expr.value(":deleted", s("DELETED")),
            )
        } else {
            ("attribute_exists(PK)", expr)
        };
        let expr = if limit_checked {
            expr
        } else {
            Expr {
                names: Default::default(),
                values: expr.values,
            }
        };
        tx.update(
            &keys::partner(partner),
            "ADD tenant_count :delta, version :one",
            Some(condition),
            expr,
        )?;
        Ok(())
    }
}
