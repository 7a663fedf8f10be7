//! Audit events: written inside the transaction of the write they record.

use super::entity::{encode, with_keys};
use super::tx::{Guard, Tx, n, s};
use super::{Item, Store, StoreError, keys};
use crate::audit::AuditEvent;

/// The stored event: listed under its tenant (GSI1) and its partner (GSI2), expiring after
/// the retention period.
fn event_item(event: &AuditEvent, retention_seconds: i64) -> Result<Item, StoreError> {
    let mut item = with_keys(encode(event)?, &keys::event(&event.id), "AUDIT_EVENT");
    if let Some(tenant) = &event.tenant_id {
        item.insert(keys::GSI1PK.into(), s(keys::audit_of_tenant(tenant)));
        item.insert(keys::GSI1SK.into(), s(event.id.to_string()));
    }
    if let Some(partner) = &event.partner_id {
        item.insert(keys::GSI2PK.into(), s(keys::audit_of_partner(partner)));
        item.insert(keys::GSI2SK.into(), s(event.id.to_string()));
    }
    item.insert(
        keys::TTL.into(),
        n(event.timestamp.unix() + retention_seconds),
    );
    Ok(item)
}

impl Store {
    /// Adds the event to a transaction.
    pub fn add_event(&self, tx: &mut Tx, event: &AuditEvent) -> Result<(), StoreError> {
        tx.put_new(
            event_item(event, self.audit_retention_seconds)?,
            Guard::Item,
        )?;
        Ok(())
    }

    /// An event with no other write (a refused login).
    pub async fn put_event(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let mut tx = Tx::new(self.table());
        self.add_event(&mut tx, event)?;
        self.transact(tx).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Actor, AuditAction, RequestMeta};
    use crate::ids::{EventId, PartnerId, TenantId};
    use crate::store::describe;
    use crate::time::Timestamp;
    use serde_json::json;

    /// The stored form is a contract with events already kept for a year.
    #[test]
    fn an_event_item_is_pinned() {
        let meta = RequestMeta {
            request_id: Some("req-1".into()),
            ip_address: Some("192.0.2.1".into()),
            user_agent: None,
        };
        let mut event = AuditEvent::new(
            Actor::system("scaikey-cli"),
            AuditAction::new("tenant.update", "tenant"),
            Some("tnt_01kb2z8hqv3m4n5p6r7s8t9w0g".into()),
            &meta,
        )
        .in_tenant(
            &PartnerId::parse("prt_01kb2z8hqv3m4n5p6r7s8t9w1g").unwrap(),
            &TenantId::parse("tnt_01kb2z8hqv3m4n5p6r7s8t9w0g").unwrap(),
        )
        .with_changes(&json!({"name": "a"}), &json!({"name": "b"}));
        event.id = EventId::parse("evt_01kb2z8hqv3m4n5p6r7s8t9w2g").unwrap();
        event.timestamp = Timestamp::parse("2026-01-02T03:04:05.000006Z").unwrap();
        let item = describe(&event_item(&event, 100).unwrap());
        let evt = "evt_01kb2z8hqv3m4n5p6r7s8t9w2g";
        let expected: std::collections::BTreeMap<String, String> = [
            (
                "GSI1PK",
                "S:TENANT#tnt_01kb2z8hqv3m4n5p6r7s8t9w0g#AUDIT".to_owned(),
            ),
            ("GSI1SK", format!("S:{evt}")),
            (
                "GSI2PK",
                "S:PARTNER#prt_01kb2z8hqv3m4n5p6r7s8t9w1g#AUDIT".to_owned(),
            ),
            ("GSI2SK", format!("S:{evt}")),
            ("PK", format!("S:EVENT#{evt}")),
            ("SK", "S:EVENT".to_owned()),
            ("action", "S:tenant.update".to_owned()),
            (
                "actor",
                "M:{email=NULL, id=S:scaikey-cli, type=S:system}".to_owned(),
            ),
            ("changes", r#"S:{"name":{"from":"a","to":"b"}}"#.to_owned()),
            ("entity", "S:AUDIT_EVENT".to_owned()),
            ("id", format!("S:{evt}")),
            ("ip_address", "S:192.0.2.1".to_owned()),
            ("partner_id", "S:prt_01kb2z8hqv3m4n5p6r7s8t9w1g".to_owned()),
            ("request_id", "S:req-1".to_owned()),
            ("resource_id", "S:tnt_01kb2z8hqv3m4n5p6r7s8t9w0g".to_owned()),
            ("resource_type", "S:tenant".to_owned()),
            ("result", "S:SUCCESS".to_owned()),
            ("tenant_id", "S:tnt_01kb2z8hqv3m4n5p6r7s8t9w0g".to_owned()),
            ("timestamp", "S:2026-01-02T03:04:05.000006Z".to_owned()),
            ("ttl", format!("N:{}", event.timestamp.unix() + 100)),
            ("user_agent", "NULL".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        assert_eq!(item, expected);
    }
}
