use serde::{Deserialize, Serialize};

use crate::access::AdminRole;
use crate::ids::{PartnerId, RoleId, TenantId, UserId};
use crate::store::{Entity, Key, keys};
use crate::time::Timestamp;

/// One admin role a user holds (the full grant lives in its own item; users carry this summary
/// so login reads one item).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoleGrant {
    pub id: RoleId,
    pub role: AdminRole,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<PartnerId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<TenantId>,
    pub is_active: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

impl RoleGrant {
    pub fn is_in_force(&self, now: Timestamp) -> bool {
        self.is_active && self.expires_at.is_none_or(|at| at > now)
    }

    /// The grant's own item (`ROLE#<rol>` / `ROLE`).
    pub fn key(&self) -> Key {
        keys::admin_role(&self.id)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UserStatus {
    Active,
    Suspended,
    Locked,
}

/// A user as admin authentication sees it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub tenant_id: TenantId,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    pub status: UserStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
    #[serde(default)]
    pub admin_roles: Vec<RoleGrant>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_login_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: u64,
}

impl User {
    /// The highest admin role in force, with the partner it is bound to.
    pub fn effective_role(&self, now: Timestamp) -> Option<&RoleGrant> {
        self.admin_roles
            .iter()
            .filter(|g| g.is_in_force(now))
            .max_by_key(|g| g.role.rank())
    }
}

impl Entity for User {
    const NAME: &'static str = "USER";

    fn key(&self) -> Key {
        keys::user(&self.id)
    }
}

/// Where the admin-email marker (`keys::admin_email`) routes a login.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AdminEmailOwner {
    pub user_id: UserId,
    pub tenant_id: TenantId,
    pub partner_id: PartnerId,
}

impl AdminEmailOwner {
    pub const NAME: &'static str = "ADMIN_EMAIL";
}
