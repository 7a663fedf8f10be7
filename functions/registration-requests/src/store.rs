//! Registration request items: `RRQ#<rrq>` / `RRQ`, listed by the owner of the application
//! asked for on GSI1 (`RRQS#GLOBAL`, `PARTNER#<prt>#RRQS`, `TENANT#<tnt>#RRQS`) and
//! platform-wide on GSI2 (`RRQS`). Every decision is a versioned write; an approval is one
//! transaction with the application's create (`shared::applications`).
//!
//! A request filed with the tallies (`tallied`) counts in the pending-request tallies
//! (`shared::store::tally`, `TALLY#RRQS#…`) from its create until its expiry minute: the
//! platform's, and its partner's (PARTNER) or its tenant's and the tenant's partner's (TENANT).
//! The one decision that ends it before then takes it off again, in its transaction.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use shared::audit::AuditEvent;
use shared::hierarchy::{AppScope, AppType};
use shared::ids::{ApplicationId, PartnerId, RegistrationRequestId, TenantId};
use shared::store::tally::{self, Expiring, Scope, TallyDeltas, TenantNow};
use shared::store::{Entity, Guard, Item, Key, Store, StoreError, Tx, keys, s};
use shared::time::Timestamp;

/// How long a request waits for a decision before it reads as `EXPIRED`.
const PENDING: Duration = Duration::from_secs(tally::PENDING_REQUEST_DAYS * 86_400);

/// The tenant of a TENANT request where its tally counts (live under the partner read, or
/// deleted) — a refusal means a transfer, delete or restore came between: read again.
pub const TENANT: Guard = Guard::Parent("tenant");

/// The stored status; `EXPIRED` is computed (a PENDING request past its expiry minute).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Decision {
    Pending,
    Approved,
    Rejected,
    Cancelled,
}

impl Decision {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Approved => "APPROVED",
            Self::Rejected => "REJECTED",
            Self::Cancelled => "CANCELLED",
        }
    }
}

/// A registration request as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegistrationRequest {
    pub id: RegistrationRequestId,
    pub scope: AppScope,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<PartnerId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<TenantId>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub application_type: AppType,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    #[serde(default)]
    pub requested_scopes: Vec<String>,
    #[serde(default)]
    pub grant_types: Vec<String>,
    pub contact_email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website_url: Option<String>,
    pub status: Decision,
    pub requested_by: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_notes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_id: Option<ApplicationId>,
    pub version: u64,
    /// Counted in the pending tallies while PENDING: set on requests filed since the tallies
    /// exist (absent on older ones, which were never counted and so are never taken off).
    /// Stored by [`request_item`] only: kept out of audit snapshots.
    #[serde(default, skip_serializing)]
    pub tallied: bool,
}

impl RegistrationRequest {
    /// When a request created at `created_at` expires: the first whole minute at or after its
    /// 30 days, the minute its tally stops counting it.
    pub fn expires_at(created_at: Timestamp) -> Timestamp {
        tally::minute_at_or_after(created_at.plus(PENDING))
    }

    /// The earliest `created_at` of a request not yet expired at `now`: expired iff created
    /// before it — the one test of expiry, for a request read (`is_expired`) and for the list
    /// filters (a `created_at` bound). Of a `created_at` with whole milliseconds (every tallied
    /// request) it says exactly `expires_at(created_at) <= now`: the expiry, a whole minute, is
    /// at or before `now` iff it is at or before `now`'s minute, iff `created_at + 30 d` is; a
    /// stored `created_at` has microseconds, so "at or before" is "before the next microsecond".
    pub fn pending_since(now: Timestamp) -> Timestamp {
        tally::minute_at_or_before(now)
            .minus(PENDING)
            .plus(Duration::from_micros(1))
    }

    /// PENDING and past its expiry minute.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.status == Decision::Pending && self.created_at < Self::pending_since(now)
    }

    /// Counted in the pending tallies at `now`: filed with them, PENDING and not expired. A
    /// decision takes one off only then (an expired request's minute has passed already).
    pub fn counted(&self, now: Timestamp) -> bool {
        self.tallied && self.status == Decision::Pending && !self.is_expired(now)
    }

    fn owner_partition(&self) -> String {
        match (self.scope, &self.partner_id, &self.tenant_id) {
            (AppScope::Tenant, _, Some(t)) => keys::rrqs_of_tenant(t),
            (AppScope::Partner, Some(p), _) => keys::rrqs_of_partner(p),
            _ => keys::GLOBAL_RRQS.to_owned(),
        }
    }

    pub fn search_text(&self) -> String {
        self.name.to_lowercase()
    }
}

impl Entity for RegistrationRequest {
    const NAME: &'static str = "REGISTRATION_REQUEST";

    fn key(&self) -> Key {
        keys::registration_request(&self.id)
    }
}

impl shared::lists::Merged for RegistrationRequest {
    fn merge_id(&self) -> &str {
        self.id.as_str()
    }

    fn key_for(id: &str) -> Option<Key> {
        RegistrationRequestId::parse(id)
            .ok()
            .map(|id| keys::registration_request(&id))
    }
}

fn request_item(request: &RegistrationRequest) -> Result<Item, StoreError> {
    let mut item = request.to_item()?;
    for (name, value) in [
        (keys::GSI1PK, request.owner_partition()),
        (keys::GSI1SK, request.id.to_string()),
        (keys::GSI2PK, keys::ALL_RRQS.to_owned()),
        (keys::GSI2SK, request.id.to_string()),
        ("search_text", request.search_text()),
    ] {
        item.insert(name.into(), s(value));
    }
    if request.tallied {
        item.extend(shared::store::encode(
            &serde_json::json!({ "tallied": true }),
        )?);
    }
    Ok(item)
}

/// `delta` (1: filed; -1: ended while counted) at the request's expiry: the platform, and the
/// partner of a PARTNER request, or the tenant of a TENANT request and — live — the tenant's
/// partner as read.
fn pending_deltas(
    request: &RegistrationRequest,
    standing: Option<&TenantNow>,
    delta: i64,
) -> TallyDeltas {
    let kind = Expiring::PendingRequests;
    let at = RegistrationRequest::expires_at(request.created_at);
    let mut deltas = TallyDeltas::default();
    deltas.add(kind, Scope::Platform, at, delta);
    match (request.scope, &request.partner_id, &request.tenant_id) {
        (AppScope::Partner, Some(p), _) => deltas.add(kind, Scope::Partner(p), at, delta),
        (AppScope::Tenant, _, Some(t)) => {
            deltas.add(kind, Scope::Tenant(t), at, delta);
            if let Some(p) = standing.and_then(TenantNow::partner) {
                deltas.add(kind, Scope::Partner(p), at, delta);
            }
        }
        _ => {}
    }
    deltas
}

/// Adds `delta` to a request's tallies and, for a TENANT request, holds its tenant where
/// `standing` says and moves its fence (not once purged: a purged tenant's share never moves).
fn count(
    tx: &mut Tx,
    request: &RegistrationRequest,
    standing: Option<&TenantNow>,
    delta: i64,
) -> Result<(), StoreError> {
    if let (AppScope::Tenant, Some(t)) = (request.scope, &request.tenant_id) {
        match standing {
            Some(TenantNow::Gone) => {}
            Some(held) => {
                tally::hold_tenant(tx, t, held.partner(), TENANT)?;
                tally::fence(tx, t)?;
            }
            None => {
                return Err(StoreError::Corrupt(
                    "a TENANT request's tally unheld".into(),
                ));
            }
        }
    }
    pending_deltas(request, standing, delta).apply(tx)
}

/// Request (new), counted (a TENANT request's tenant held live under its partner, `standing`),
/// audit.
pub async fn create(
    store: &Store,
    request: &RegistrationRequest,
    standing: Option<&TenantNow>,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = store.tx();
    tx.put_new(request_item(request)?, Guard::Item)?;
    if request.tallied {
        count(&mut tx, request, standing, 1)?;
    }
    store.add_event(&mut tx, event)?;
    store.transact(tx).await
}

/// Adds to `tx` the end of a counted request by a decision without an application (cancel,
/// reject): one less in its tallies, its tenant held where `standing` says.
pub fn uncount(
    tx: &mut Tx,
    request: &RegistrationRequest,
    standing: Option<&TenantNow>,
) -> Result<(), StoreError> {
    count(tx, request, standing, -1)
}

/// Adds to an approval's `tx` the end of a counted request: one less in its tallies, the
/// tenant's partner as the application's create read it (`partner`). The create already holds
/// a TENANT app's tenant under that partner and moves its fence: one transaction touches an
/// item once.
pub fn uncount_approved(
    tx: &mut Tx,
    request: &RegistrationRequest,
    partner: Option<&PartnerId>,
) -> Result<(), StoreError> {
    let standing = partner.cloned().map(TenantNow::Live);
    pending_deltas(request, standing.as_ref(), -1).apply(tx)
}

/// Adds a decision to `tx`: the request as decided, if it is still the version read (so of
/// two decisions exactly one commits), and its event.
pub fn decide(
    store: &Store,
    tx: &mut Tx,
    before: &RegistrationRequest,
    after: &RegistrationRequest,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    tx.put_versioned(request_item(after)?, before.version)?;
    store.add_event(tx, event)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64, millis: u64) -> Timestamp {
        Timestamp::from_unix(seconds)
            .unwrap()
            .plus(Duration::from_millis(millis))
    }

    fn pending(created_at: Timestamp) -> RegistrationRequest {
        RegistrationRequest {
            id: RegistrationRequestId::generate(),
            scope: AppScope::Global,
            partner_id: None,
            tenant_id: None,
            name: "Portal".into(),
            description: None,
            application_type: AppType::Web,
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            allowed_origins: Vec::new(),
            requested_scopes: Vec::new(),
            grant_types: Vec::new(),
            contact_email: "dev@example.com".into(),
            contact_name: None,
            organization_name: None,
            website_url: None,
            status: Decision::Pending,
            requested_by: "usr".into(),
            created_at,
            updated_at: created_at,
            decided_at: None,
            decided_by: None,
            decision_notes: None,
            rejection_reason: None,
            application_id: None,
            version: 1,
            tallied: true,
        }
    }

    /// As stored: the text has microseconds.
    fn stored(t: Timestamp) -> Timestamp {
        Timestamp::parse(&t.to_string()).unwrap()
    }

    const THIRTY_DAYS: i64 = 30 * 86_400;

    #[test]
    fn the_expiry_is_the_first_whole_minute_at_or_after_thirty_days() {
        let minute = 1_700_000_040; // a whole minute
        assert_eq!(minute % 60, 0);
        let cases = [
            (at(minute, 0), minute + THIRTY_DAYS),
            (at(minute, 1), minute + THIRTY_DAYS + 60),
            (at(minute + 1, 0), minute + THIRTY_DAYS + 60),
            (at(minute + 59, 999), minute + THIRTY_DAYS + 60),
            (at(minute + 60, 0), minute + THIRTY_DAYS + 60),
        ];
        for (created, expires) in cases {
            assert_eq!(
                RegistrationRequest::expires_at(created).unix(),
                expires,
                "{created}"
            );
            assert_eq!(
                RegistrationRequest::expires_at(created).unix_millis() % 60_000,
                0
            );
        }
    }

    /// The list filters and a request read use `pending_since`; the tally counts a request
    /// until `expires_at`: they agree at every boundary, for `created_at`s with whole
    /// milliseconds (every tallied request).
    #[test]
    fn a_request_reads_expired_exactly_from_its_tally_minute() {
        let minute = 1_700_000_040;
        let created_at = [
            at(minute, 0),
            at(minute, 1),
            at(minute + 1, 0),
            at(minute + 30, 500),
            at(minute + 59, 999),
            at(minute - 1, 999),
        ];
        for created in created_at {
            let request = pending(stored(created));
            let expires = RegistrationRequest::expires_at(created);
            let nows = [
                expires.minus(Duration::from_secs(61)),
                expires.minus(Duration::from_secs(1)),
                expires.minus(Duration::from_micros(1)),
                expires,
                expires.plus(Duration::from_micros(1)),
                expires.plus(Duration::from_secs(59)),
                expires.plus(Duration::from_secs(60)),
            ];
            for now in nows {
                let by_tally = expires <= now;
                assert_eq!(
                    request.is_expired(now),
                    by_tally,
                    "created {created}, now {now}"
                );
                assert_eq!(
                    request.created_at < RegistrationRequest::pending_since(now),
                    by_tally,
                    "the list's bound: created {created}, now {now}"
                );
                // The list compares the stored text.
                assert_eq!(
                    request.created_at.to_string()
                        < RegistrationRequest::pending_since(now).to_string(),
                    by_tally,
                    "as text: created {created}, now {now}"
                );
                assert_eq!(request.counted(now), !by_tally);
            }
        }
    }

    #[test]
    fn only_a_tallied_pending_request_is_counted() {
        let now = at(1_700_000_040, 0);
        let mut request = pending(now);
        assert!(request.counted(now));
        request.tallied = false;
        assert!(
            !request.counted(now),
            "filed before the tallies: never counted"
        );
        request.tallied = true;
        request.status = Decision::Cancelled;
        assert!(!request.counted(now));
    }

    #[test]
    fn tallied_is_stored_but_kept_out_of_snapshots() {
        let request = pending(at(1_700_000_040, 0));
        let item = request_item(&request).unwrap();
        assert_eq!(
            shared::store::describe(&item)
                .get("tallied")
                .map(String::as_str),
            Some("BOOL:true")
        );
        let read: RegistrationRequest = shared::store::decode(item).unwrap();
        assert!(read.tallied);
        let snapshot = serde_json::to_value(&request).unwrap();
        assert!(snapshot.get("tallied").is_none());
        let mut untallied = request.clone();
        untallied.tallied = false;
        let item = request_item(&untallied).unwrap();
        assert!(!item.contains_key("tallied"));
        let read: RegistrationRequest = shared::store::decode(item).unwrap();
        assert!(!read.tallied);
    }

    #[test]
    fn a_tenant_request_counts_for_its_tenant_partner_and_the_platform() {
        let tenant = TenantId::generate();
        let partner = PartnerId::generate();
        let mut request = pending(at(1_700_000_040, 0));
        request.scope = AppScope::Tenant;
        request.tenant_id = Some(tenant.clone());
        request.partner_id = Some(partner.clone());
        let mut tx = Tx::new("t");
        count(
            &mut tx,
            &request,
            Some(&TenantNow::Live(partner.clone())),
            1,
        )
        .unwrap();
        // Tenant check, fence, three windows.
        assert_eq!(tx.len(), 5);
        let mut tx = Tx::new("t");
        count(&mut tx, &request, Some(&TenantNow::Deleted), -1).unwrap();
        assert_eq!(tx.len(), 4, "no partner window once deleted");
        let mut tx = Tx::new("t");
        count(&mut tx, &request, Some(&TenantNow::Gone), -1).unwrap();
        assert_eq!(tx.len(), 2, "the tenant's and the platform's windows only");
        let mut tx = Tx::new("t");
        uncount_approved(&mut tx, &request, Some(&partner)).unwrap();
        assert_eq!(tx.len(), 3, "the application's create holds the tenant");
    }
}
