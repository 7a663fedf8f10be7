use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::access::AdminRole;
use crate::ids::{PartnerId, RoleId, TenantId, UserId};
use crate::store::{Entity, Key, keys};
use crate::time::Timestamp;
use crate::validation::{self, Problem};

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
    /// Soft-deleted (only through DELETE; never set or filtered on by clients). Anything but
    /// `Active` keeps a user from signing in and ends its sessions' checks.
    Deleted,
}

impl UserStatus {
    /// What a client may set and filter on.
    pub const SETTABLE: [(&'static str, UserStatus); 3] = [
        ("ACTIVE", UserStatus::Active),
        ("SUSPENDED", UserStatus::Suspended),
        ("LOCKED", UserStatus::Locked),
    ];

    pub fn parse_settable(value: &serde_json::Value) -> Result<Self, Problem> {
        validation::one_of(value, &Self::SETTABLE)
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::Suspended => "SUSPENDED",
            Self::Locked => "LOCKED",
            Self::Deleted => "DELETED",
        }
    }
}

impl crate::lifecycle::LifecycleStatus for UserStatus {
    const ACTIVE: Self = UserStatus::Active;
    const DELETED: Self = UserStatus::Deleted;
}

/// The API's view: a deleted user answers 404, so the schema names only the settable states.
impl utoipa::PartialSchema for UserStatus {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::String))
            .enum_values(Some(Self::SETTABLE.map(|(name, _)| name)))
            .into()
    }
}

impl utoipa::ToSchema for UserStatus {}

/// Where a user's identity comes from (SPEC §4.4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IdentitySource {
    #[default]
    Local,
    Oidc,
    Saml,
    Ldap,
}

impl IdentitySource {
    pub const ALL: [(&'static str, IdentitySource); 4] = [
        ("LOCAL", IdentitySource::Local),
        ("OIDC", IdentitySource::Oidc),
        ("SAML", IdentitySource::Saml),
        ("LDAP", IdentitySource::Ldap),
    ];

    pub fn parse(value: &serde_json::Value) -> Result<Self, Problem> {
        validation::one_of(value, &Self::ALL)
    }
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// A user of the same tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager_id: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    pub status: UserStatus,
    #[serde(default)]
    pub identity_source: IdentitySource,
    #[serde(default)]
    pub email_verified: bool,
    #[serde(default)]
    pub mfa_enabled: bool,
    #[serde(default)]
    pub custom_attributes: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
    #[serde(default)]
    pub admin_roles: Vec<RoleGrant>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_login_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<Timestamp>,
    pub version: u64,
}

impl User {
    /// A new local user with only the required fields set (the CLI's admins, tests).
    pub fn new(id: UserId, tenant_id: TenantId, email: String, now: Timestamp) -> Self {
        Self {
            id,
            tenant_id,
            email,
            first_name: None,
            last_name: None,
            display_name: None,
            title: None,
            department: None,
            manager_id: None,
            phone: None,
            status: UserStatus::Active,
            identity_source: IdentitySource::Local,
            email_verified: false,
            mfa_enabled: false,
            custom_attributes: Map::new(),
            password_hash: None,
            admin_roles: Vec::new(),
            last_login_at: None,
            created_at: now,
            updated_at: now,
            deleted_at: None,
            version: 1,
        }
    }

    /// The lower-cased text `search` matches: email and names.
    pub fn search_text(&self) -> String {
        [
            Some(self.email.as_str()),
            self.first_name.as_deref(),
            self.last_name.as_deref(),
            self.display_name.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
    }

    /// The highest admin role in force, with the partner it is bound to.
    pub fn effective_role(&self, now: Timestamp) -> Option<&RoleGrant> {
        self.admin_roles
            .iter()
            .filter(|g| g.is_in_force(now))
            .max_by_key(|g| g.role.rank())
    }
}

impl crate::lists::Merged for User {
    fn merge_id(&self) -> &str {
        self.id.as_str()
    }

    fn key_for(id: &str) -> Option<Key> {
        UserId::parse(id).ok().map(|id| keys::user(&id))
    }
}

impl Entity for User {
    const NAME: &'static str = "USER";

    fn key(&self) -> Key {
        keys::user(&self.id)
    }
}

super::lifecycle_fields!(User, UserStatus);

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
