use serde::{Deserialize, Serialize};

use crate::ids::PartnerId;
use crate::store::{Entity, Key, keys};
use crate::time::Timestamp;
use crate::values::Status;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerLimits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tenants: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_users_per_tenant: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_applications_per_tenant: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Partner {
    pub id: PartnerId,
    pub name: String,
    pub slug: String,
    pub status: Status,
    pub contact_email: String,
    #[serde(flatten)]
    pub limits: PartnerLimits,
    pub tenant_count: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<Timestamp>,
    pub version: u64,
}

impl Partner {
    /// The lower-cased text `search` matches.
    pub fn search_text(&self) -> String {
        format!("{} {}", self.name, self.slug).to_lowercase()
    }

    /// Whether one more tenant would exceed `max_tenants`.
    pub fn is_full(&self) -> bool {
        self.limits
            .max_tenants
            .is_some_and(|max| self.tenant_count >= u64::from(max))
    }
}

impl Entity for Partner {
    const NAME: &'static str = "PARTNER";

    fn key(&self) -> Key {
        keys::partner(&self.id)
    }
}

super::lifecycle_fields!(Partner);
