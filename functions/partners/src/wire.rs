//! Wire types of the partners API: what a client sends and sees. Stored items never appear
//! here; these never reach the store.

use serde::Serialize;
use shared::error::{Error, Result};
use shared::hierarchy::{Partner, PartnerLimits};
use shared::pagination::Pagination;
use shared::time::Timestamp;
use shared::validation::{Fields, Patch};
use shared::values::{Email, Name, Slug, Status, parse_limit};
use utoipa::ToSchema;

use crate::operations::{NewPartner, PartnerPatch};

/// A partner as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct PartnerResponse {
    pub id: String,
    name: String,
    slug: String,
    status: Status,
    contact_email: String,
    max_tenants: Option<u32>,
    max_users_per_tenant: Option<u32>,
    max_applications_per_tenant: Option<u32>,
    tenant_count: u64,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl From<Partner> for PartnerResponse {
    fn from(p: Partner) -> Self {
        Self {
            id: p.id.to_string(),
            name: p.name,
            slug: p.slug,
            status: p.status,
            contact_email: p.contact_email,
            max_tenants: p.limits.max_tenants,
            max_users_per_tenant: p.limits.max_users_per_tenant,
            max_applications_per_tenant: p.limits.max_applications_per_tenant,
            tenant_count: p.tenant_count,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PartnerList {
    pub items: Vec<PartnerResponse>,
    pub pagination: Pagination,
}

// The one definition of the body: the handler parses into it (every problem at once,
// FastAPI-shaped) and the OpenAPI schema is derived from it.
/// Body of Create Partner.
#[derive(ToSchema)]
pub struct PartnerCreate {
    #[schema(value_type = String, min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: Name,
    /// Unique among partners.
    #[schema(value_type = String, pattern = "^[a-z0-9]+(-[a-z0-9]+)*$", min_length = 2, max_length = 63)]
    pub slug: Slug,
    #[schema(value_type = String, format = Email, pattern = "^[^@\\s\\x00-\\x1f\\x7f-\\x9f.]+(\\.[^@\\s\\x00-\\x1f\\x7f-\\x9f.]+)*@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$", max_length = 254)]
    pub contact_email: Email,
    /// Default `ACTIVE`.
    pub status: Option<Status>,
    /// ≥ 0; null or absent = unlimited.
    #[schema(format = Int64, minimum = 0, maximum = 4294967295_u32)]
    pub max_tenants: Option<u32>,
    #[schema(format = Int64, minimum = 0, maximum = 4294967295_u32)]
    pub max_users_per_tenant: Option<u32>,
    #[schema(format = Int64, minimum = 0, maximum = 4294967295_u32)]
    pub max_applications_per_tenant: Option<u32>,
}

impl TryFrom<Fields> for PartnerCreate {
    type Error = Error;

    fn try_from(mut body: Fields) -> Result<Self> {
        let name = body.required("name", Name::parse);
        let slug = body.required("slug", Slug::parse);
        let contact_email = body.required("contact_email", Email::parse);
        let status = body.optional("status", Status::parse_settable);
        let max_tenants = body.optional("max_tenants", parse_limit);
        let max_users_per_tenant = body.optional("max_users_per_tenant", parse_limit);
        let max_applications_per_tenant = body.optional("max_applications_per_tenant", parse_limit);
        body.finish(|| {
            Some(Self {
                name: name?,
                slug: slug?,
                contact_email: contact_email?,
                status,
                max_tenants,
                max_users_per_tenant,
                max_applications_per_tenant,
            })
        })
    }
}

impl From<PartnerCreate> for NewPartner {
    fn from(body: PartnerCreate) -> Self {
        Self {
            name: body.name,
            slug: body.slug,
            contact_email: body.contact_email,
            status: body.status.unwrap_or(Status::Active),
            limits: PartnerLimits {
                max_tenants: body.max_tenants,
                max_users_per_tenant: body.max_users_per_tenant,
                max_applications_per_tenant: body.max_applications_per_tenant,
            },
        }
    }
}

/// Body of Update Partner: only fields present change; `null` clears a limit.
#[derive(ToSchema)]
pub struct PartnerUpdate {
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200, pattern = "\\S", nullable = false)]
    pub name: Option<Name>,
    #[schema(value_type = Option<String>, pattern = "^[a-z0-9]+(-[a-z0-9]+)*$", min_length = 2, max_length = 63, nullable = false)]
    pub slug: Option<Slug>,
    #[schema(value_type = Option<String>, format = Email, pattern = "^[^@\\s\\x00-\\x1f\\x7f-\\x9f.]+(\\.[^@\\s\\x00-\\x1f\\x7f-\\x9f.]+)*@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$", max_length = 254, nullable = false)]
    pub contact_email: Option<Email>,
    #[schema(nullable = false)]
    pub status: Option<Status>,
    #[schema(value_type = Option<u32>, format = Int64, minimum = 0, maximum = 4294967295_u32)]
    pub max_tenants: Patch<u32>,
    #[schema(value_type = Option<u32>, format = Int64, minimum = 0, maximum = 4294967295_u32)]
    pub max_users_per_tenant: Patch<u32>,
    #[schema(value_type = Option<u32>, format = Int64, minimum = 0, maximum = 4294967295_u32)]
    pub max_applications_per_tenant: Patch<u32>,
}

impl TryFrom<Fields> for PartnerUpdate {
    type Error = Error;

    fn try_from(mut body: Fields) -> Result<Self> {
        let update = Self {
            name: body.patch_required("name", Name::parse),
            slug: body.patch_required("slug", Slug::parse),
            contact_email: body.patch_required("contact_email", Email::parse),
            status: body.patch_required("status", Status::parse_settable),
            max_tenants: body.patch("max_tenants", parse_limit),
            max_users_per_tenant: body.patch("max_users_per_tenant", parse_limit),
            max_applications_per_tenant: body.patch("max_applications_per_tenant", parse_limit),
        };
        body.check()?;
        Ok(update)
    }
}

impl From<PartnerUpdate> for PartnerPatch {
    fn from(body: PartnerUpdate) -> Self {
        Self {
            name: body.name,
            slug: body.slug,
            contact_email: body.contact_email,
            status: body.status,
            max_tenants: body.max_tenants,
            max_users_per_tenant: body.max_users_per_tenant,
            max_applications_per_tenant: body.max_applications_per_tenant,
        }
    }
}
