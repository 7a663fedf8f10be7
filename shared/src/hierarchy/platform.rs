use serde::{Deserialize, Serialize};

use crate::ids::{PartnerId, TenantId};
use crate::store::{Entity, Key, keys};

/// The built-in platform partner and tenant, pinned by id when bootstrap creates them: they
/// cannot be suspended, deleted, moved or re-slugged, and bootstrap never makes a second pair.
/// Only the CLI writes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    pub partner_id: PartnerId,
    pub tenant_id: TenantId,
}

impl Platform {
    /// Whether the pin names this partner as the platform's.
    pub fn is_partner(pin: Option<&Self>, partner: &PartnerId) -> bool {
        pin.is_some_and(|p| p.partner_id == *partner)
    }

    /// Whether the pin names this tenant as the platform's.
    pub fn is_tenant(pin: Option<&Self>, tenant: &TenantId) -> bool {
        pin.is_some_and(|p| p.tenant_id == *tenant)
    }
}

impl Entity for Platform {
    const NAME: &'static str = "PLATFORM";

    fn key(&self) -> Key {
        keys::platform()
    }
}
