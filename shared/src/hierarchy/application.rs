//! The stored form of an OAuth application (SPEC §4.7). In the kernel because three groups
//! read it: the applications group (its operations), the session check (a platform token's
//! application must still be in force) and the OAuth token endpoint (client authentication).

use serde::{Deserialize, Serialize};

use crate::ids::{ApplicationId, PartnerId, TenantId};
use crate::store::{Entity, Key, keys};
use crate::time::Timestamp;
use crate::values::Status;

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
    /// Only the app's effective users (assigned, directly or through nested groups) sign in.
    #[serde(default)]
    pub assignment_required: bool,
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
    /// Whether `grant_types` lists `grant_type`.
    pub fn allows_grant(&self, grant_type: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant_type)
    }

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
        crate::audit::snapshot(&view)
    }
}

impl Entity for Application {
    const NAME: &'static str = "APPLICATION";

    fn key(&self) -> Key {
        keys::application(&self.id)
    }
}

super::lifecycle_fields!(Application);

impl crate::lists::Merged for Application {
    fn merge_id(&self) -> &str {
        self.id.as_str()
    }

    fn key_for(id: &str) -> Option<Key> {
        ApplicationId::parse(id)
            .ok()
            .map(|id| keys::application(&id))
    }
}
