//! Audit events: written inside the transaction of the write they record.

use super::items::{encode, set, with_keys};
use super::tx::{Tx, n};
use super::{Store, StoreError, keys};
use crate::domain::audit::AuditEvent;

impl Store {
    /// Adds the event to a transaction; it expires after the retention period.
    pub(crate) fn add_event(&self, tx: &mut Tx, event: &AuditEvent) -> Result<(), StoreError> {
        let mut item = with_keys(encode(event)?, &keys::event(&event.id), "AUDIT_EVENT");
        if let Some(tenant) = &event.tenant_id {
            set(&mut item, keys::GSI1PK, keys::audit_of_tenant(tenant));
            set(&mut item, keys::GSI1SK, event.id.to_string());
        }
        if let Some(partner) = &event.partner_id {
            set(&mut item, keys::GSI2PK, keys::audit_of_partner(partner));
            set(&mut item, keys::GSI2SK, event.id.to_string());
        }
        item.insert(
            keys::TTL.into(),
            n(event.timestamp.unix() + self.audit_retention_seconds),
        );
        tx.put_new(item)?;
        Ok(())
    }

    /// An event with no other write (a refused login).
    pub async fn put_event(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let mut tx = Tx::new(self.table());
        self.add_event(&mut tx, event)?;
        self.transact(tx.into_actions()).await
    }
}
