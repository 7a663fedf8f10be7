//! Tenant items: `TENANT#<id>` / `TENANT`, listed through GSI1 `PARTNER#<id>#TENANTS` (per
//! partner) and GSI2 `TENANTS` (platform-wide).

use super::counters::Counter;
use super::items::{encode, set, with_keys};
use super::partners::{marker, marker_expiry, move_marker, put_versioned};
use super::tx::{Tx, n};
use super::{Item, Store, StoreError, keys};
use crate::domain::audit::AuditEvent;
use crate::domain::tenants::Tenant;
use crate::time::Timestamp;

fn tenant_item(tenant: &Tenant, purge_at: Option<Timestamp>) -> Result<Item, StoreError> {
    let mut item = with_keys(encode(tenant)?, &keys::tenant(&tenant.id), "TENANT");
    set(&mut item, "search_text", tenant.search_text());
    match purge_at {
        Some(at) => {
            item.insert(keys::TTL.into(), n(at.unix()));
        }
        None => {
            set(
                &mut item,
                keys::GSI1PK,
                keys::tenants_of_partner(&tenant.partner_id),
            );
            set(&mut item, keys::GSI1SK, tenant.id.to_string());
            set(&mut item, keys::GSI2PK, keys::ALL_TENANTS);
            set(&mut item, keys::GSI2SK, tenant.id.to_string());
        }
    }
    Ok(item)
}

impl Store {
    /// Actions: tenant, slug marker, partner counter (live, under `max_tenants`), shard, audit.
    pub async fn create_tenant(
        &self,
        tenant: &Tenant,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = Tx::new(self.table());
        tx.put_new(tenant_item(tenant, None)?)?;
        tx.put_new(marker(&keys::tenant_slug(&tenant.slug), tenant.id.as_str()))?;
        self.add_tenant_count(&mut tx, &tenant.partner_id, 1, true)?;
        Counter::Tenants.add(&mut tx, 1)?;
        self.add_event(&mut tx, event)?;
        self.transact(tx.into_actions()).await
    }

    /// Actions: tenant (versioned), [old marker, new marker], [old partner, new partner], audit.
    pub async fn update_tenant(
        &self,
        before: &Tenant,
        after: &Tenant,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = Tx::new(self.table());
        put_versioned(&mut tx, tenant_item(after, None)?, before.version)?;
        if before.slug != after.slug {
            move_marker(
                &mut tx,
                &keys::tenant_slug(&before.slug),
                &keys::tenant_slug(&after.slug),
                after.id.as_str(),
            )?;
        }
        if before.partner_id != after.partner_id {
            self.add_tenant_count(&mut tx, &before.partner_id, -1, false)?;
            self.add_tenant_count(&mut tx, &after.partner_id, 1, true)?;
        }
        self.add_event(&mut tx, event)?;
        self.transact(tx.into_actions()).await
    }

    /// Actions: tenant (versioned), partner counter, marker expiry, shard, audit.
    pub async fn delete_tenant(
        &self,
        before: &Tenant,
        after: &Tenant,
        purge_at: Timestamp,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = Tx::new(self.table());
        put_versioned(&mut tx, tenant_item(after, Some(purge_at))?, before.version)?;
        self.add_tenant_count(&mut tx, &before.partner_id, -1, false)?;
        marker_expiry(&mut tx, &keys::tenant_slug(&before.slug), Some(purge_at))?;
        Counter::Tenants.add(&mut tx, -1)?;
        self.add_event(&mut tx, event)?;
        self.transact(tx.into_actions()).await
    }

    /// Actions: tenant (versioned), partner counter (live, under the limit), marker, shard, audit.
    pub async fn restore_tenant(
        &self,
        before: &Tenant,
        after: &Tenant,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = Tx::new(self.table());
        put_versioned(&mut tx, tenant_item(after, None)?, before.version)?;
        self.add_tenant_count(&mut tx, &after.partner_id, 1, true)?;
        marker_expiry(&mut tx, &keys::tenant_slug(&before.slug), None)?;
        Counter::Tenants.add(&mut tx, 1)?;
        self.add_event(&mut tx, event)?;
        self.transact(tx.into_actions()).await
    }
}
