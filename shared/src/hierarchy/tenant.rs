use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ids::{PartnerId, TenantId};
use crate::store::{Entity, Key, keys};
use crate::time::Timestamp;
use crate::values::Status;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: TenantId,
    pub partner_id: PartnerId,
    pub name: String,
    pub slug: String,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_email: Option<String>,
    #[serde(default)]
    pub settings: Map<String, Value>,
    #[serde(default)]
    pub branding: Map<String, Value>,
    pub user_count: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<Timestamp>,
    pub version: u64,
}

impl Tenant {
    /// Tenant `id` as it is now (one read), deleted or not. Not found → 404 naming `missing`,
    /// the resource the caller asked about.
    pub async fn now(
        state: &crate::state::AppState,
        id: &TenantId,
        missing: &'static str,
    ) -> crate::error::Result<Tenant> {
        let key = keys::tenant(id);
        let found: Option<Tenant> = state
            .store()
            .load(std::slice::from_ref(&key))
            .await?
            .get(&key)?;
        found.ok_or(crate::error::Error::NotFound(missing))
    }

    /// The partner tenant `id` belongs to now (one read): what decides a partner admin's reach
    /// over the tenant's resources, whose own `partner_id` is at most a hint. A tenant not
    /// found → 404 naming `missing`, the resource the caller asked about.
    pub async fn partner_now(
        state: &crate::state::AppState,
        id: &TenantId,
        missing: &'static str,
    ) -> crate::error::Result<PartnerId> {
        Ok(Self::now(state, id, missing).await?.partner_id)
    }

    /// The lower-cased text `search` matches.
    pub fn search_text(&self) -> String {
        format!("{} {}", self.name, self.slug).to_lowercase()
    }
}

impl Entity for Tenant {
    const NAME: &'static str = "TENANT";

    fn key(&self) -> Key {
        keys::tenant(&self.id)
    }
}

super::lifecycle_fields!(Tenant);
