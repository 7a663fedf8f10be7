//! Audit events: written inside the transaction of the write they record.

use super::entity::{encode, with_keys};
use super::tx::{Guard, Tx, n, s};
use super::{Item, Store, StoreError, keys};
use crate::audit::AuditEvent;
use aws_sdk_dynamodb::types::AttributeValue;

/// The stored event: listed under its tenant (GSI1), its partner (GSI2) and its day's shard of
/// the platform-wide index (GSI3), expiring after the retention period.
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
    item.insert(keys::GSI3PK.into(), s(keys::audit_shard_of(&event.id)));
    item.insert(keys::GSI3SK.into(), s(event.id.to_string()));
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

/// One index partition of events to read newest first: the ids in `from..=upto` (time bounds
/// as ids: ids sort as their time does), `upto` itself excluded when `upto_exclusive`, and
/// only events whose attributes equal the filters (a filter's name may be a path:
/// `actor.id`).
#[derive(Clone, Debug)]
pub struct EventScan {
    pub index: &'static str,
    pub partition: String,
    pub from: String,
    pub upto: String,
    pub upto_exclusive: bool,
    pub filters: Vec<(&'static str, String)>,
}

/// What one scan of a partition read.
#[derive(Debug, Default)]
pub struct EventScanPage {
    /// The matching events, newest first.
    pub items: Vec<Item>,
    /// Where the scan stopped with more of the range unread: the id of the last event it
    /// examined (every event above it, down to and including it, was examined).
    pub stopped_at: Option<String>,
}

impl Store {
    /// Reads matching events of one partition, newest first: at most `want` of them, in at
    /// most `max_calls` Query calls, each examining at most `per_call` events (and 1 MB). A
    /// rare filter therefore costs a bounded read per request, and the caller resumes below
    /// `stopped_at`.
    #[tracing::instrument(skip_all, fields(partition = %scan.partition, want))]
    pub async fn scan_events(
        &self,
        scan: &EventScan,
        want: usize,
        max_calls: u32,
        per_call: usize,
    ) -> Result<EventScanPage, StoreError> {
        let (pk_name, sk_name) = match scan.index {
            keys::GSI1 => (keys::GSI1PK, keys::GSI1SK),
            keys::GSI2 => (keys::GSI2PK, keys::GSI2SK),
            _ => (keys::GSI3PK, keys::GSI3SK),
        };
        let mut page = EventScanPage::default();
        let mut start: Option<Item> = None;
        for _ in 0..max_calls {
            self.count_call();
            let mut q = self
                .client
                .query()
                .table_name(self.table())
                .index_name(scan.index)
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :from AND :upto")
                .expression_attribute_names("#pk", pk_name)
                .expression_attribute_names("#sk", sk_name)
                .expression_attribute_values(":pk", AttributeValue::S(scan.partition.clone()))
                .expression_attribute_values(":from", AttributeValue::S(scan.from.clone()))
                .expression_attribute_values(":upto", AttributeValue::S(scan.upto.clone()))
                .scan_index_forward(false)
                .set_exclusive_start_key(start.take());
            let mut conditions = Vec::new();
            for (i, (path, value)) in scan.filters.iter().enumerate() {
                let mut names = Vec::new();
                for (j, part) in path.split('.').enumerate() {
                    let name = format!("#f{i}_{j}");
                    q = q.expression_attribute_names(&name, part);
                    names.push(name);
                }
                q = q.expression_attribute_values(
                    format!(":f{i}"),
                    AttributeValue::S(value.clone()),
                );
                conditions.push(format!("{} = :f{i}", names.join(".")));
            }
            if scan.upto_exclusive {
                q = q.expression_attribute_names("#id", "id");
                conditions.push("#id <> :upto".to_owned());
            }
            // DynamoDB's `Limit` counts the events it examines, before the filter.
            let missing = (want - page.items.len()).max(1);
            if conditions.is_empty() {
                q = q.limit(missing.min(per_call) as i32);
            } else {
                q = q.filter_expression(conditions.join(" AND "));
                q = q.limit(per_call as i32);
            }
            let out = q.send().await.map_err(StoreError::from_sdk)?;
            page.items.extend(out.items.unwrap_or_default());
            let sort_key = |item: &Item| item.get(sk_name).and_then(|v| v.as_s().ok()).cloned();
            if page.items.len() >= want {
                page.items.truncate(want);
                page.stopped_at = page.items.last().and_then(sort_key);
                return Ok(page);
            }
            match out.last_evaluated_key {
                Some(last) => {
                    page.stopped_at = sort_key(&last);
                    start = Some(last);
                }
                None => {
                    page.stopped_at = None;
                    return Ok(page);
                }
            }
        }
        Ok(page)
    }
}

/// Where the events a caller may read are filed: its tenant (GSI1), its partner (GSI2, its
/// tenants' included) or, for the platform, every shard of GSI3.
#[derive(Clone, Copy, Debug)]
pub enum EventReach<'a> {
    Tenant(&'a crate::ids::TenantId),
    Partner(&'a crate::ids::PartnerId),
    Platform,
}

/// Above every event id: the top of an open id range.
pub const AFTER_EVERY_EVENT_ID: &str = "evt_~";

impl Store {
    /// The newest `limit` events of a reach, newest first: one Query of at most `limit` events
    /// per partition (the platform's shards read in parallel), merged.
    pub async fn newest_events(
        &self,
        reach: EventReach<'_>,
        limit: usize,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let partitions: Vec<(&'static str, String)> = match reach {
            EventReach::Tenant(t) => vec![(keys::GSI1, keys::audit_of_tenant(t))],
            EventReach::Partner(p) => vec![(keys::GSI2, keys::audit_of_partner(p))],
            EventReach::Platform => (0..keys::AUDIT_SHARDS)
                .map(|shard| (keys::GSI3, keys::audit_shard(shard)))
                .collect(),
        };
        let mut reads = tokio::task::JoinSet::new();
        for (index, partition) in partitions {
            let store = self.clone();
            let scan = EventScan {
                index,
                partition,
                from: crate::ids::EventId::PREFIX.to_owned(),
                upto: AFTER_EVERY_EVENT_ID.to_owned(),
                upto_exclusive: false,
                filters: Vec::new(),
            };
            reads.spawn(async move { store.scan_events(&scan, limit, 1, limit).await });
        }
        let mut events = Vec::new();
        while let Some(joined) = reads.join_next().await {
            let page = joined.map_err(|e| StoreError::Other(e.to_string()))??;
            for item in page.items {
                events.push(super::decode::<AuditEvent>(item)?);
            }
        }
        // Ids sort as their time does.
        events.sort_by(|a, b| b.id.as_str().cmp(a.id.as_str()));
        events.truncate(limit);
        Ok(events)
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
            ("GSI3PK", "S:AUDIT#8".to_owned()),
            ("GSI3SK", format!("S:{evt}")),
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
