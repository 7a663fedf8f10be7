//! Wire types of the tenants API: what a client sends and sees. Stored items never appear
//! here; these never reach the store.

use serde::Serialize;
use serde_json::{Map, Value};
use shared::error::{Error, Result};
use shared::hierarchy::Tenant;
use shared::ids::PartnerId;
use shared::pagination::Pagination;
use shared::time::Timestamp;
pub use shared::validation::partner_ref;
use shared::validation::{Fields, Patch};
use shared::values::{Email, JsonObject, Name, Slug, Status};
use utoipa::ToSchema;

use crate::operations::{NewTenant, TenantPatch, parse_branding, parse_settings};

/// A tenant as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct TenantResponse {
    id: String,
    name: String,
    slug: String,
    status: Status,
    contact_email: Option<String>,
    partner_id: String,
    #[schema(value_type = Object)]
    settings: Map<String, Value>,
    #[schema(value_type = Object)]
    branding: Map<String, Value>,
    user_count: u64,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl From<Tenant> for TenantResponse {
    fn from(t: Tenant) -> Self {
        Self {
            id: t.id.to_string(),
            name: t.name,
            slug: t.slug,
            status: t.status,
            contact_email: t.contact_email,
            partner_id: t.partner_id.to_string(),
            settings: t.settings,
            branding: t.branding,
            user_count: t.user_count,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TenantList {
    pub items: Vec<TenantResponse>,
    pub pagination: Pagination,
}

// The one definition of the body: the handler parses into it (every problem at once,
// FastAPI-shaped) and the OpenAPI schema is derived from it.
/// Body of Create Tenant.
#[derive(ToSchema)]
pub struct TenantCreate {
    #[schema(value_type = String, min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: Name,
    /// Unique platform-wide.
    #[schema(value_type = String, pattern = "^[a-z0-9]+(-[a-z0-9]+)*$", min_length = 2, max_length = 63)]
    pub slug: Slug,
    #[schema(value_type = String, pattern = "^prt_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$")]
    pub partner_id: PartnerId,
    /// Default `ACTIVE`.
    pub status: Option<Status>,
    #[schema(value_type = Option<String>, format = Email, pattern = "^[^@\\s\\x00-\\x1f\\x7f-\\x9f.]+(\\.[^@\\s\\x00-\\x1f\\x7f-\\x9f.]+)*@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$", max_length = 254)]
    pub contact_email: Option<Email>,
    /// ≤ 32 KiB. Interpreted keys: `password_policy {min_length (8..128), require_upper,
    /// require_lower, require_digit, require_symbol}`, `session_timeout_minutes` (5..43200),
    /// `mfa_required`; others are stored as given.
    #[schema(value_type = Option<JsonObject>)]
    pub settings: Option<Map<String, Value>>,
    /// ≤ 32 KiB.
    #[schema(value_type = Option<JsonObject>)]
    pub branding: Option<Map<String, Value>>,
}

impl TryFrom<Fields> for TenantCreate {
    type Error = Error;

    fn try_from(mut body: Fields) -> Result<Self> {
        let name = body.required("name", Name::parse);
        let slug = body.required("slug", Slug::parse);
        let partner_id = body.required("partner_id", partner_ref);
        let status = body.optional("status", Status::parse_settable);
        let contact_email = body.optional("contact_email", Email::parse);
        let settings = body.optional("settings", parse_settings);
        let branding = body.optional("branding", parse_branding);
        body.finish(|| {
            Some(Self {
                name: name?,
                slug: slug?,
                partner_id: partner_id?,
                status,
                contact_email,
                settings,
                branding,
            })
        })
    }
}

impl From<TenantCreate> for NewTenant {
    fn from(body: TenantCreate) -> Self {
        Self {
            partner_id: body.partner_id,
            name: body.name,
            slug: body.slug,
            status: body.status.unwrap_or(Status::Active),
            contact_email: body.contact_email,
            settings: body.settings.unwrap_or_default(),
            branding: body.branding.unwrap_or_default(),
        }
    }
}

/// Body of Update Tenant: only fields present change. A new `partner_id` transfers the tenant
/// (the new partner's `max_tenants` applies).
#[derive(ToSchema)]
pub struct TenantUpdate {
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200, pattern = "\\S", nullable = false)]
    pub name: Option<Name>,
    #[schema(value_type = Option<String>, pattern = "^[a-z0-9]+(-[a-z0-9]+)*$", min_length = 2, max_length = 63, nullable = false)]
    pub slug: Option<Slug>,
    #[schema(value_type = Option<String>, pattern = "^prt_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$", nullable = false)]
    pub partner_id: Option<PartnerId>,
    #[schema(nullable = false)]
    pub status: Option<Status>,
    /// `null` clears it.
    #[schema(value_type = Option<String>, format = Email, pattern = "^[^@\\s\\x00-\\x1f\\x7f-\\x9f.]+(\\.[^@\\s\\x00-\\x1f\\x7f-\\x9f.]+)*@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$", max_length = 254)]
    pub contact_email: Patch<Email>,
    /// Replaces the whole object; constraints as in Create Tenant.
    #[schema(value_type = Option<JsonObject>, nullable = false)]
    pub settings: Option<Map<String, Value>>,
    /// Replaces the whole object; constraints as in Create Tenant.
    #[schema(value_type = Option<JsonObject>, nullable = false)]
    pub branding: Option<Map<String, Value>>,
}

impl TryFrom<Fields> for TenantUpdate {
    type Error = Error;

    fn try_from(mut body: Fields) -> Result<Self> {
        let update = Self {
            partner_id: body.patch_required("partner_id", partner_ref),
            name: body.patch_required("name", Name::parse),
            slug: body.patch_required("slug", Slug::parse),
            status: body.patch_required("status", Status::parse_settable),
            contact_email: body.patch("contact_email", Email::parse),
            settings: body.patch_required("settings", parse_settings),
            branding: body.patch_required("branding", parse_branding),
        };
        body.check()?;
        Ok(update)
    }
}

impl From<TenantUpdate> for TenantPatch {
    fn from(body: TenantUpdate) -> Self {
        Self {
            partner_id: body.partner_id,
            name: body.name,
            slug: body.slug,
            status: body.status,
            contact_email: body.contact_email,
            settings: body.settings,
            branding: body.branding,
        }
    }
}
