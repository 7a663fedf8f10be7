//! Wire types of the admin-roles API: what a client sends and sees. Stored items never appear
//! here; these never reach the store.

use serde::Serialize;
use serde_json::Value;
use shared::access::AdminRole;
use shared::error::{Error, Result};
use shared::ids::{PartnerId, TenantId, UserId};
use shared::pagination::Pagination;
use shared::time::Timestamp;
use shared::validation::{self, Fields, Problem};
pub use shared::validation::{partner_ref, tenant_ref, user_ref};
use utoipa::ToSchema;

use crate::operations::{AdminRoleGrant, NewGrant};

/// A role as the API names it (the reference's Admin Roles group): upper case, unlike the
/// token's `role` claim.
// The variants are the wire names (`SUPER_ADMIN`, …), so they share their suffix.
#[allow(clippy::enum_variant_names)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RoleName {
    SuperAdmin,
    PartnerAdmin,
    TenantAdmin,
}

impl From<AdminRole> for RoleName {
    fn from(role: AdminRole) -> Self {
        match role {
            AdminRole::SuperAdmin => Self::SuperAdmin,
            AdminRole::PartnerAdmin => Self::PartnerAdmin,
            AdminRole::TenantAdmin => Self::TenantAdmin,
        }
    }
}

pub fn parse_role(value: &Value) -> std::result::Result<AdminRole, Problem> {
    validation::one_of(
        value,
        &[
            ("SUPER_ADMIN", AdminRole::SuperAdmin),
            ("PARTNER_ADMIN", AdminRole::PartnerAdmin),
            ("TENANT_ADMIN", AdminRole::TenantAdmin),
        ],
    )
}

/// An RFC 3339 time in the future.
fn future_time(value: &Value) -> std::result::Result<Timestamp, Problem> {
    let at = Timestamp::parse(validation::string(value)?).ok_or_else(|| {
        Problem::new(
            "datetime_from_date_parsing",
            "Input should be a valid datetime (RFC 3339)",
        )
    })?;
    if at <= Timestamp::now() {
        return Err(Problem::value_error("must be in the future"));
    }
    Ok(at)
}

/// An admin role grant as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct AdminRoleResponse {
    id: String,
    user_id: String,
    role: RoleName,
    /// The partner a PARTNER_ADMIN administers; `null` for the other roles.
    partner_id: Option<String>,
    /// The tenant a TENANT_ADMIN administers; `null` for the other roles.
    tenant_id: Option<String>,
    expires_at: Option<Timestamp>,
    /// `false` once revoked (an expired grant stays `true`; see `expires_at`).
    is_active: bool,
    created_at: Timestamp,
    /// The granting admin's user id (`scaikey-cli` for bootstrap grants).
    created_by: Option<String>,
}

impl From<AdminRoleGrant> for AdminRoleResponse {
    fn from(g: AdminRoleGrant) -> Self {
        Self {
            id: g.id.to_string(),
            user_id: g.user_id.to_string(),
            role: g.role.into(),
            partner_id: g.partner_id.map(|p| p.to_string()),
            tenant_id: g.tenant_id.map(|t| t.to_string()),
            expires_at: g.expires_at,
            is_active: g.is_active,
            created_at: g.created_at,
            created_by: g.created_by,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AdminRoleList {
    pub items: Vec<AdminRoleResponse>,
    pub pagination: Pagination,
}

// The body's schemas: a variant per role, as a generated client types it; the handler reads
// the body field by field into a `NewGrant` (every problem at once, FastAPI-shaped).
/// A SUPER_ADMIN grant.
#[derive(ToSchema)]
#[allow(dead_code)] // Schemas of the body; `TryFrom<Fields> for NewGrant` reads it.
pub struct SuperAdminGrant {
    #[schema(value_type = String, pattern = "^usr_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$")]
    user_id: UserId,
    role: SuperAdminRole,
    /// RFC 3339, in the future; `null` or absent = never expires.
    #[schema(value_type = Option<String>, format = DateTime)]
    expires_at: Option<Timestamp>,
}

/// A PARTNER_ADMIN grant, for `partner_id`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PartnerAdminGrant {
    #[schema(value_type = String, pattern = "^usr_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$")]
    user_id: UserId,
    role: PartnerAdminRole,
    #[schema(value_type = String, pattern = "^prt_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$")]
    partner_id: PartnerId,
    /// RFC 3339, in the future; `null` or absent = never expires.
    #[schema(value_type = Option<String>, format = DateTime)]
    expires_at: Option<Timestamp>,
}

/// A TENANT_ADMIN grant, for `tenant_id`: the user's own tenant.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TenantAdminGrant {
    #[schema(value_type = String, pattern = "^usr_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$")]
    user_id: UserId,
    role: TenantAdminRole,
    #[schema(value_type = String, pattern = "^tnt_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$")]
    tenant_id: TenantId,
    /// RFC 3339, in the future; `null` or absent = never expires.
    #[schema(value_type = Option<String>, format = DateTime)]
    expires_at: Option<Timestamp>,
}

/// `role` of a SUPER_ADMIN grant.
#[derive(ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(dead_code)]
pub enum SuperAdminRole {
    SuperAdmin,
}

/// `role` of a PARTNER_ADMIN grant.
#[derive(ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(dead_code)]
pub enum PartnerAdminRole {
    PartnerAdmin,
}

/// `role` of a TENANT_ADMIN grant.
#[derive(ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(dead_code)]
pub enum TenantAdminRole {
    TenantAdmin,
}

/// Body of Grant Admin Role, by `role`: a PARTNER_ADMIN grant names its partner, a TENANT_ADMIN
/// grant its tenant (the user's own), a SUPER_ADMIN grant neither (an owner the role does not
/// take is a 422, but `null` is left out).
#[derive(ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum AdminRoleCreate {
    Super(SuperAdminGrant),
    Partner(PartnerAdminGrant),
    Tenant(TenantAdminGrant),
}

impl TryFrom<Fields> for NewGrant {
    type Error = Error;

    fn try_from(mut body: Fields) -> Result<Self> {
        let user_id = body.required("user_id", user_ref);
        let role = body.required("role", parse_role);
        // The scope a role needs, and only that one.
        let needs_partner = role == Some(AdminRole::PartnerAdmin);
        let needs_tenant = role == Some(AdminRole::TenantAdmin);
        let partner_id = if needs_partner {
            body.required("partner_id", partner_ref)
        } else {
            body.optional("partner_id", partner_ref)
        };
        let tenant_id = if needs_tenant {
            body.required("tenant_id", tenant_ref)
        } else {
            body.optional("tenant_id", tenant_ref)
        };
        let expires_at = body.optional("expires_at", future_time);
        if role.is_some() && !needs_partner && partner_id.is_some() {
            body.reject(
                "partner_id",
                Problem::new("extra_forbidden", "Only allowed with role PARTNER_ADMIN"),
            );
        }
        if role.is_some() && !needs_tenant && tenant_id.is_some() {
            body.reject(
                "tenant_id",
                Problem::new("extra_forbidden", "Only allowed with role TENANT_ADMIN"),
            );
        }
        body.finish(|| {
            Some(Self {
                user_id: user_id?,
                role: role?,
                partner_id,
                tenant_id,
                expires_at,
            })
        })
    }
}
