//! Wire types of the users API: what a client sends and sees. Stored items never appear here;
//! these never reach the store. No password or hash is ever part of a response, except the
//! one-time temporary password of a generated reset.

use serde::Serialize;
use serde_json::{Map, Value};
use shared::error::{Error, Result};
use shared::hierarchy::{IdentitySource, User, UserStatus};
use shared::ids::{TenantId, UserId};
use shared::membership::{GroupOfUser, MembershipKind};
use shared::pagination::Pagination;
use shared::time::Timestamp;
use shared::validation::{self, Fields, Patch, Problem};
pub use shared::validation::{partner_ref, tenant_ref, user_ref};
use shared::values::{Email, JsonObject};
use utoipa::ToSchema;

use crate::operations::{NewPassword, NewUser, Reset, UserPatch, parse_custom_attributes};

/// A user as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct UserResponse {
    id: String,
    tenant_id: String,
    email: String,
    first_name: Option<String>,
    last_name: Option<String>,
    display_name: Option<String>,
    title: Option<String>,
    department: Option<String>,
    manager_id: Option<String>,
    phone: Option<String>,
    status: UserStatus,
    identity_source: IdentitySource,
    email_verified: bool,
    mfa_enabled: bool,
    #[schema(value_type = Object)]
    custom_attributes: Map<String, Value>,
    last_login_at: Option<Timestamp>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl From<User> for UserResponse {
    fn from(u: User) -> Self {
        Self {
            id: u.id.to_string(),
            tenant_id: u.tenant_id.to_string(),
            email: u.email,
            first_name: u.first_name,
            last_name: u.last_name,
            display_name: u.display_name,
            title: u.title,
            department: u.department,
            manager_id: u.manager_id.map(|m| m.to_string()),
            phone: u.phone,
            status: u.status,
            identity_source: u.identity_source,
            email_verified: u.email_verified,
            mfa_enabled: u.mfa_enabled,
            custom_attributes: u.custom_attributes,
            last_login_at: u.last_login_at,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct UserList {
    pub items: Vec<UserResponse>,
    pub pagination: Pagination,
}

/// A group the user is in, and how (`GET /users/{user_id}/groups`).
#[derive(Serialize, ToSchema)]
pub struct UserGroup {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub description: Option<String>,
    /// `SECURITY` | `DISTRIBUTION_LIST`
    pub group_type: String,
    pub membership: MembershipKind,
}

impl From<GroupOfUser> for UserGroup {
    fn from(found: GroupOfUser) -> Self {
        let group = found.group;
        Self {
            id: group.id.to_string(),
            tenant_id: group.tenant_id.to_string(),
            name: group.name,
            description: group.description,
            group_type: group.group_type,
            membership: found.membership,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct UserGroupList {
    pub items: Vec<UserGroup>,
    pub pagination: Pagination,
}

fn name_text(value: &Value) -> std::result::Result<String, Problem> {
    validation::text(value, 1, 200)
}

fn phone(value: &Value) -> std::result::Result<String, Problem> {
    validation::text(value, 1, 50)
}

/// A password as given: not trimmed (spaces are characters of it), bounded so argon2's work
/// stays bounded. The tenant's policy is checked once the tenant is read.
pub fn password(value: &Value) -> std::result::Result<String, Problem> {
    let raw = validation::string(value)?;
    let len = raw.chars().count();
    if len == 0 {
        return Err(Problem::new(
            "string_too_short",
            "String should have at least 1 character",
        ));
    }
    if len > 1024 {
        return Err(Problem::new(
            "string_too_long",
            "String should have at most 1024 characters",
        ));
    }
    Ok(raw.to_owned())
}

const NOT_ON_UPDATE: &str =
    "`password` cannot be changed here; use POST /users/{user_id}/reset-password";

// The one definition of the body: the handler parses into it (every problem at once,
// FastAPI-shaped) and the OpenAPI schema is derived from it.
/// Body of Create User.
#[derive(ToSchema)]
pub struct UserCreate {
    #[schema(value_type = String, pattern = "^tnt_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$")]
    pub tenant_id: TenantId,
    /// Unique within the tenant, case-insensitive (stored lower-cased).
    #[schema(value_type = String, format = Email, pattern = "^[^@\\s\\x00-\\x1f\\x7f-\\x9f.]+(\\.[^@\\s\\x00-\\x1f\\x7f-\\x9f.]+)*@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$", max_length = 254)]
    pub email: Email,
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub first_name: Option<String>,
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub last_name: Option<String>,
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub display_name: Option<String>,
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub title: Option<String>,
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub department: Option<String>,
    /// A live user of the same tenant (else 422).
    #[schema(value_type = Option<String>, pattern = "^usr_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$")]
    pub manager_id: Option<UserId>,
    #[schema(min_length = 1, max_length = 50, pattern = "\\S")]
    pub phone: Option<String>,
    /// Default `ACTIVE`.
    pub status: Option<UserStatus>,
    /// Default `LOCAL`.
    pub identity_source: Option<IdentitySource>,
    /// Default `false`.
    pub email_verified: Option<bool>,
    /// Default `false`.
    pub mfa_enabled: Option<bool>,
    /// ≤ 16 KiB.
    #[schema(value_type = Option<JsonObject>)]
    pub custom_attributes: Option<Map<String, Value>>,
    /// Checked against the tenant's `settings.password_policy` (at least its `min_length`, 8
    /// to 128, default 12); never returned. Without it the user cannot sign in until a reset.
    #[schema(min_length = 8, max_length = 1024, format = Password)]
    pub password: Option<String>,
}

impl TryFrom<Fields> for UserCreate {
    type Error = Error;

    fn try_from(mut body: Fields) -> Result<Self> {
        let tenant_id = body.required("tenant_id", tenant_ref);
        let email = body.required("email", Email::parse);
        let first_name = body.optional("first_name", name_text);
        let last_name = body.optional("last_name", name_text);
        let display_name = body.optional("display_name", name_text);
        let title = body.optional("title", name_text);
        let department = body.optional("department", name_text);
        let manager_id = body.optional("manager_id", user_ref);
        let phone = body.optional("phone", phone);
        let status = body.optional("status", UserStatus::parse_settable);
        let identity_source = body.optional("identity_source", IdentitySource::parse);
        let email_verified = body.optional("email_verified", validation::boolean);
        let mfa_enabled = body.optional("mfa_enabled", validation::boolean);
        let custom_attributes = body.optional("custom_attributes", parse_custom_attributes);
        let password = body.optional("password", password);
        body.finish(|| {
            Some(Self {
                tenant_id: tenant_id?,
                email: email?,
                first_name,
                last_name,
                display_name,
                title,
                department,
                manager_id,
                phone,
                status,
                identity_source,
                email_verified,
                mfa_enabled,
                custom_attributes,
                password,
            })
        })
    }
}

impl From<UserCreate> for NewUser {
    fn from(body: UserCreate) -> Self {
        Self {
            tenant_id: body.tenant_id,
            email: body.email,
            first_name: body.first_name,
            last_name: body.last_name,
            display_name: body.display_name,
            title: body.title,
            department: body.department,
            manager_id: body.manager_id,
            phone: body.phone,
            status: body.status.unwrap_or(UserStatus::Active),
            identity_source: body.identity_source.unwrap_or_default(),
            email_verified: body.email_verified.unwrap_or(false),
            mfa_enabled: body.mfa_enabled.unwrap_or(false),
            custom_attributes: body.custom_attributes.unwrap_or_default(),
            password: body.password,
        }
    }
}

/// Body of Update User: only fields present change; `null` clears a nullable field.
/// `password` is refused (422): passwords change through Reset User Password.
#[derive(ToSchema)]
pub struct UserUpdate {
    /// A new email moves the user's claim on it (409 if taken in the tenant).
    #[schema(value_type = Option<String>, format = Email, pattern = "^[^@\\s\\x00-\\x1f\\x7f-\\x9f.]+(\\.[^@\\s\\x00-\\x1f\\x7f-\\x9f.]+)*@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$", max_length = 254, nullable = false)]
    pub email: Option<Email>,
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200, pattern = "\\S")]
    pub first_name: Patch<String>,
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200, pattern = "\\S")]
    pub last_name: Patch<String>,
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200, pattern = "\\S")]
    pub display_name: Patch<String>,
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200, pattern = "\\S")]
    pub title: Patch<String>,
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200, pattern = "\\S")]
    pub department: Patch<String>,
    /// A live user of the same tenant, not the user itself (else 422).
    #[schema(value_type = Option<String>, pattern = "^usr_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$")]
    pub manager_id: Patch<UserId>,
    #[schema(value_type = Option<String>, min_length = 1, max_length = 50, pattern = "\\S")]
    pub phone: Patch<String>,
    #[schema(nullable = false)]
    pub status: Option<UserStatus>,
    #[schema(nullable = false)]
    pub identity_source: Option<IdentitySource>,
    #[schema(nullable = false)]
    pub email_verified: Option<bool>,
    #[schema(nullable = false)]
    pub mfa_enabled: Option<bool>,
    /// Replaces the whole object; ≤ 16 KiB.
    #[schema(value_type = Option<JsonObject>, nullable = false)]
    pub custom_attributes: Option<Map<String, Value>>,
}

impl TryFrom<Fields> for UserUpdate {
    type Error = Error;

    fn try_from(mut body: Fields) -> Result<Self> {
        body.forbid("password", NOT_ON_UPDATE);
        let update = Self {
            email: body.patch_required("email", Email::parse),
            first_name: body.patch("first_name", name_text),
            last_name: body.patch("last_name", name_text),
            display_name: body.patch("display_name", name_text),
            title: body.patch("title", name_text),
            department: body.patch("department", name_text),
            manager_id: body.patch("manager_id", user_ref),
            phone: body.patch("phone", phone),
            status: body.patch_required("status", UserStatus::parse_settable),
            identity_source: body.patch_required("identity_source", IdentitySource::parse),
            email_verified: body.patch_required("email_verified", validation::boolean),
            mfa_enabled: body.patch_required("mfa_enabled", validation::boolean),
            custom_attributes: body.patch_required("custom_attributes", parse_custom_attributes),
        };
        body.check()?;
        Ok(update)
    }
}

impl From<UserUpdate> for UserPatch {
    fn from(body: UserUpdate) -> Self {
        Self {
            email: body.email,
            first_name: body.first_name,
            last_name: body.last_name,
            display_name: body.display_name,
            title: body.title,
            department: body.department,
            manager_id: body.manager_id,
            phone: body.phone,
            status: body.status,
            identity_source: body.identity_source,
            email_verified: body.email_verified,
            mfa_enabled: body.mfa_enabled,
            custom_attributes: body.custom_attributes,
        }
    }
}

/// A password chosen by the admin.
// The body's schemas; the handler parses the body straight into `NewPassword` (the choice).
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct GivenPassword {
    /// Checked against the tenant's `settings.password_policy`: at least its `min_length` (8
    /// to 128, default 12) characters, and its other rules.
    #[schema(min_length = 8, max_length = 1024, format = Password)]
    pub new_password: String,
}

/// A temporary password, generated and returned once.
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct GeneratedPassword {
    #[schema(value_type = AlwaysTrue, inline)]
    pub generate: bool,
}

/// `true`, the only value it takes (JSON Schema's `const`, which utoipa 5 has no builder for:
/// written through the schema object's extensions map, which serializes flat).
pub struct AlwaysTrue;

impl utoipa::PartialSchema for AlwaysTrue {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::extensions::Extensions;
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::Boolean))
            .extensions(Some(Extensions::from_iter([("const", true)])))
            .into()
    }
}

impl ToSchema for AlwaysTrue {}

/// Body of Reset User Password: `new_password`, or `generate: true` for a temporary password.
#[allow(dead_code)]
#[derive(ToSchema)]
#[serde(untagged)]
pub enum ResetPassword {
    Given(GivenPassword),
    Generated(GeneratedPassword),
}

impl TryFrom<Fields> for NewPassword {
    type Error = Error;

    fn try_from(mut body: Fields) -> Result<Self> {
        let given = body.patch_required("new_password", password);
        let generate = body.patch_required("generate", validation::boolean);
        let choice = match (&given, generate) {
            (Some(_), Some(true)) => {
                body.reject(
                    "generate",
                    Problem::value_error(
                        "give either `new_password` or `generate: true`, not both",
                    ),
                );
                None
            }
            (Some(p), None | Some(false)) => Some(NewPassword::Given(p.clone())),
            (None, Some(true)) => Some(NewPassword::Generated),
            (None, _) if body.has("new_password") => None,
            (None, _) => {
                body.reject(
                    "new_password",
                    Problem::new(
                        "missing",
                        "Field required (or `generate: true` for a temporary password)",
                    ),
                );
                None
            }
        };
        body.finish(|| choice)
    }
}

/// The outcome of Reset User Password.
#[derive(Serialize, ToSchema)]
pub struct ResetPasswordResponse {
    user_id: String,
    /// The generated temporary password, shown this once; `null` when one was given.
    temporary_password: Option<String>,
    /// How many of the user's sessions were revoked.
    revoked_sessions: u64,
}

impl From<Reset> for ResetPasswordResponse {
    fn from(reset: Reset) -> Self {
        Self {
            user_id: reset.user.id.to_string(),
            temporary_password: reset.temporary_password,
            revoked_sessions: reset.revoked_sessions as u64,
        }
    }
}
