//! Application items and transactions.
//!
//! - the application: `APP#<app>` / `APP`, listed by owner on GSI1 (`APPS#GLOBAL`,
//!   `PARTNER#<prt>#APPS`, `TENANT#<tnt>#APPS`) and platform-wide on GSI2 (`APPS`);
//! - counters of live applications: per tenant (`max_applications_per_tenant` is a condition on
//!   it), per partner (PARTNER apps), GLOBAL, and sharded platform-wide.
//!
//! A TENANT app keeps its tenant's partner only as a hint, as groups do: every write checks the
//! tenant still belongs to it in its own transaction (a tenant transfer moves the app's lists
//! with the tenant, rewriting nothing).

use serde::{Deserialize, Serialize};
use shared::audit::AuditEvent;
use shared::ids::{ApplicationId, PartnerId, TenantId};
use shared::lifecycle::Lifecycle;
use shared::store::counters::Counter;
use shared::store::write::lifecycle_item;
use shared::store::{Entity, Expr, Guard, Item, Key, Store, StoreError, Tx, keys, n, s};
use shared::time::Timestamp;
use shared::values::Status;

/// The tenant of a TENANT app: live, and with the partner the write assumed.
pub const TENANT: Guard = Guard::Parent("tenant");
/// The partner of a PARTNER app, or the partner whose limit a TENANT app is counted under:
/// live, with the limit the write read.
pub const PARTNER: Guard = Guard::Parent("partner");
/// The tenant's live-application counter under the partner's limit.
pub const LIMIT: Guard = Guard::Unique("limit");

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AppScope {
    Global,
    Partner,
    Tenant,
}

impl AppScope {
    pub const ALL: [(&'static str, AppScope); 3] = [
        ("GLOBAL", AppScope::Global),
        ("PARTNER", AppScope::Partner),
        ("TENANT", AppScope::Tenant),
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Global => "GLOBAL",
            Self::Partner => "PARTNER",
            Self::Tenant => "TENANT",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AppType {
    Web,
    Spa,
    Native,
    Service,
    SamlSp,
}

impl AppType {
    pub const ALL: [(&'static str, AppType); 5] = [
        ("WEB", AppType::Web),
        ("SPA", AppType::Spa),
        ("NATIVE", AppType::Native),
        ("SERVICE", AppType::Service),
        ("SAML_SP", AppType::SamlSp),
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Web => "WEB",
            Self::Spa => "SPA",
            Self::Native => "NATIVE",
            Self::Service => "SERVICE",
            Self::SamlSp => "SAML_SP",
        }
    }

    /// Confidential clients hold a secret; SPA and NATIVE apps run where none can be kept.
    pub fn is_confidential(&self) -> bool {
        matches!(self, Self::Web | Self::Service | Self::SamlSp)
    }
}

/// An application as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Application {
    pub id: ApplicationId,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub scope: AppScope,
    /// PARTNER apps: the owner. TENANT apps: a hint, the tenant's partner at the last write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<PartnerId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<TenantId>,
    pub application_type: AppType,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    #[serde(default)]
    pub allowed_scopes: Vec<String>,
    #[serde(default)]
    pub grant_types: Vec<String>,
    pub token_lifetime: u32,
    pub token_exchange_allowed: bool,
    pub status: Status,
    /// The client secret's keyed hash (never the secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_hash: Option<String>,
    /// The secret before the last rotation, accepted until `previous_secret_expires_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_secret_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_secret_expires_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<Timestamp>,
    pub version: u64,
}

impl Application {
    /// The lower-cased text `search` matches.
    pub fn search_text(&self) -> String {
        format!(
            "{} {}",
            self.name,
            self.description.as_deref().unwrap_or_default()
        )
        .trim_end()
        .to_lowercase()
    }

    /// What an audit event may show of it: everything but the secrets' hashes.
    pub fn audit_view(&self) -> serde_json::Value {
        let mut view = self.clone();
        view.secret_hash = None;
        view.previous_secret_hash = None;
        shared::audit::snapshot(&view)
    }

    /// The GSI1 partition of its owner.
    fn owner_partition(&self) -> String {
        match (self.scope, &self.partner_id, &self.tenant_id) {
            (AppScope::Tenant, _, Some(t)) => keys::apps_of_tenant(t),
            (AppScope::Partner, Some(p), _) => keys::apps_of_partner(p),
            _ => keys::GLOBAL_APPS.to_owned(),
        }
    }
}

impl Entity for Application {
    const NAME: &'static str = "APPLICATION";

    fn key(&self) -> Key {
        keys::application(&self.id)
    }
}

impl Lifecycle for Application {
    type Status = Status;
    fn status(&self) -> Status {
        self.status
    }
    fn deleted_at(&self) -> Option<Timestamp> {
        self.deleted_at
    }
    fn version(&self) -> u64 {
        self.version
    }
    fn stamp(
        &mut self,
        status: Status,
        deleted_at: Option<Timestamp>,
        now: Timestamp,
        version: u64,
    ) {
        self.status = status;
        self.deleted_at = deleted_at;
        self.updated_at = now;
        self.version = version;
    }
}

impl shared::lists::Merged for Application {
    fn merge_id(&self) -> &str {
        self.id.as_str()
    }

    fn key_for(id: &str) -> Option<Key> {
        ApplicationId::parse(id)
            .ok()
            .map(|id| keys::application(&id))
    }
}

/// The stored application; a deleted one (`purge_at`) leaves both list indexes.
fn application_item(app: &Application, purge_at: Option<Timestamp>) -> Result<Item, StoreError> {
    let mut item = lifecycle_item(
        app,
        purge_at,
        &[
            (keys::GSI1PK, app.owner_partition()),
            (keys::GSI1SK, app.id.to_string()),
            (keys::GSI2PK, keys::ALL_APPS.to_owned()),
            (keys::GSI2SK, app.id.to_string()),
        ],
    )?;
    item.insert("search_text".into(), s(app.search_text()));
    Ok(item)
}

/// The owner's live-application counter.
pub fn owner_count_key(app: &Application) -> Key {
    match (app.scope, &app.partner_id, &app.tenant_id) {
        (AppScope::Tenant, _, Some(t)) => keys::app_count_of_tenant(t),
        (AppScope::Partner, Some(p), _) => keys::app_count_of_partner(p),
        _ => keys::app_count_global(),
    }
}

fn count(tx: &mut Tx, app: &Application, delta: i64) -> Result<(), StoreError> {
    tx.update(
        &owner_count_key(app),
        "ADD #count :delta",
        Expr::default()
            .name("#count", "count")
            .value(":delta", n(delta)),
    )?;
    Counter::Applications.add(tx, delta)
}

/// The tenant of a TENANT app still belongs to the partner the write assumed (and lives).
fn tenant_still_with(tx: &mut Tx, app: &Application) -> Result<(), StoreError> {
    if let (AppScope::Tenant, Some(t), Some(p)) = (app.scope, &app.tenant_id, &app.partner_id) {
        tx.check(
            &keys::tenant(t),
            TENANT,
            "attribute_exists(PK) AND #status <> :deleted AND partner_id = :partner",
            Expr::default()
                .name("#status", "status")
                .value(":deleted", s("DELETED"))
                .value(":partner", s(p.to_string())),
        )?;
    }
    Ok(())
}

/// Application (new); its owner live (a TENANT app: the tenant with the partner read, counted
/// under the partner's `max_applications_per_tenant` as read — `limit`); counters; audit.
pub async fn create(
    store: &Store,
    app: &Application,
    limit: Option<u32>,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = store.tx();
    tx.put_new(application_item(app, None)?, Guard::Item)?;
    match (app.scope, &app.partner_id) {
        (AppScope::Global, _) => count(&mut tx, app, 1)?,
        (AppScope::Partner, Some(p)) => {
            tx.check(
                &keys::partner(p),
                PARTNER,
                "attribute_exists(PK) AND #status <> :deleted",
                Expr::default()
                    .name("#status", "status")
                    .value(":deleted", s("DELETED")),
            )?;
            count(&mut tx, app, 1)?;
        }
        (AppScope::Tenant, Some(p)) => {
            tenant_still_with(&mut tx, app)?;
            let (under_limit, limit_unchanged, values) = match limit {
                Some(max) => (
                    Some("attribute_not_exists(#count) OR #count < :max"),
                    "attribute_exists(PK) AND max_applications_per_tenant = :max",
                    Expr::default().value(":max", n(max)),
                ),
                None => (
                    None,
                    "attribute_exists(PK) AND attribute_not_exists(max_applications_per_tenant)",
                    Expr::default(),
                ),
            };
            let mut counted = Expr::default().name("#count", "count").value(":one", n(1));
            if let Some(max) = limit {
                counted = counted.value(":max", n(max));
            }
            tx.update_if(
                &owner_count_key(app),
                "ADD #count :one",
                LIMIT,
                under_limit,
                counted,
            )?;
            tx.check(&keys::partner(p), PARTNER, limit_unchanged, values)?;
            Counter::Applications.add(&mut tx, 1)?;
        }
        _ => {
            return Err(StoreError::Corrupt(
                "an application without its owner".into(),
            ));
        }
    }
    store.add_event(&mut tx, event)?;
    store.transact(tx).await
}

/// Application (versioned), [its tenant still with the partner assumed], audit: updates and
/// secret rotations.
pub async fn update(
    store: &Store,
    before: &Application,
    after: &Application,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = store.tx();
    tx.put_versioned(application_item(after, None)?, before.version)?;
    tenant_still_with(&mut tx, after)?;
    store.add_event(&mut tx, event)?;
    store.transact(tx).await
}

/// Application (versioned) out of the lists with its purge time, counters, audit.
pub async fn delete(
    store: &Store,
    before: &Application,
    after: &Application,
    purge_at: Timestamp,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = store.tx();
    tx.put_versioned(application_item(after, Some(purge_at))?, before.version)?;
    tenant_still_with(&mut tx, after)?;
    count(&mut tx, before, -1)?;
    store.add_event(&mut tx, event)?;
    store.transact(tx).await
}
