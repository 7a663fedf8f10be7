//! Registration request items: `RRQ#<rrq>` / `RRQ`, listed by the owner of the application
//! asked for on GSI1 (`RRQS#GLOBAL`, `PARTNER#<prt>#RRQS`, `TENANT#<tnt>#RRQS`) and
//! platform-wide on GSI2 (`RRQS`). Every decision is a versioned write; an approval is one
//! transaction with the application's create (`shared::applications`).

use serde::{Deserialize, Serialize};
use shared::audit::AuditEvent;
use shared::hierarchy::{AppScope, AppType};
use shared::ids::{ApplicationId, PartnerId, RegistrationRequestId, TenantId};
use shared::store::{Entity, Item, Key, Store, StoreError, Tx, keys, s};
use shared::time::Timestamp;

/// How long a request waits for a decision before it reads as `EXPIRED`.
pub const PENDING_DAYS: u64 = 30;

/// The stored status; `EXPIRED` is computed (a PENDING request older than 30 days).
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
}

impl RegistrationRequest {
    /// When a PENDING request created at `created_at` expires.
    pub fn expires_at(created_at: Timestamp) -> Timestamp {
        created_at.plus(std::time::Duration::from_secs(PENDING_DAYS * 86_400))
    }

    /// PENDING and past its 30 days.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.status == Decision::Pending && Self::expires_at(self.created_at) <= now
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
    Ok(item)
}

/// Request (new), audit.
pub async fn create(
    store: &Store,
    request: &RegistrationRequest,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = store.tx();
    tx.put_new(request_item(request)?, shared::store::Guard::Item)?;
    store.add_event(&mut tx, event)?;
    store.transact(tx).await
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
