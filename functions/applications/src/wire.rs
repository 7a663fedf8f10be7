//! Wire types of the applications API: what a client sends and sees. Stored items never appear
//! here (no secret hash ever leaves the store); these never reach the store.

use serde::Serialize;
use serde_json::Value;
use shared::error::{Error, Result};
use shared::ids::{PartnerId, TenantId};
use shared::pagination::Pagination;
use shared::time::Timestamp;
use shared::validation::{self, Fields, Patch, Problem};
pub use shared::validation::{partner_ref, tenant_ref};
use shared::values::{Name, Status};
use utoipa::ToSchema;

use crate::assignments::{AssignmentView, EffectiveUserView};
use crate::operations::{ApplicationPatch, NewApplication, Owner, Settings};
use shared::applications::assignments::{AssigneeType, ViaResponse};
use shared::applications::rules;
use shared::applications::schema::{
    GlobalScope, GrantType, Origin, PartnerScope, RedirectUri, ScopeToken, TenantScope,
};
use shared::hierarchy::UserStatus;
use shared::hierarchy::{AppScope, AppType};

pub const DESCRIPTION_MAX: usize = 1000;

pub use shared::applications::ApplicationResponse;

/// A new application, with its client secret (confidential types only), shown this once.
#[derive(Serialize, ToSchema)]
pub struct ApplicationCreated {
    #[serde(flatten)]
    pub application: ApplicationResponse,
    /// Confidential types (WEB, SERVICE, SAML_SP) only; store it now: it is never shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

/// A rotated secret, shown this once, and until when the previous one still works.
#[derive(Serialize, ToSchema)]
pub struct SecretRotated {
    #[serde(flatten)]
    pub application: ApplicationResponse,
    pub client_secret: String,
    /// Null: the previous secret stopped working at once (`grace_period_seconds` 0).
    pub previous_secret_expires_at: Option<Timestamp>,
}

#[derive(Serialize, ToSchema)]
pub struct ApplicationList {
    pub items: Vec<ApplicationResponse>,
    pub pagination: Pagination,
}

pub fn scope(value: &Value) -> std::result::Result<AppScope, Problem> {
    validation::one_of(value, &AppScope::ALL)
}

pub fn application_type(value: &Value) -> std::result::Result<AppType, Problem> {
    validation::one_of(value, &AppType::ALL)
}

/// A description; empty means none.
fn description(value: &Value) -> std::result::Result<String, Problem> {
    validation::text(value, 0, DESCRIPTION_MAX)
}

const NO_OWNER_CHANGE: &str = "cannot be changed";
/// A client never picks its secret (a generated one has 256 bits; `rotate-secret` replaces it).
const NO_CHOSEN_SECRET: &str = "the client secret is generated; use rotate-secret for a new one";

/// The settings of a new application, at any scope (each variant of `ApplicationCreate` adds its
/// scope and owner).
#[derive(ToSchema)]
#[allow(dead_code)] // The schema of the body; `new_application` reads it.
pub struct ApplicationSettingsCreate {
    #[schema(value_type = String, min_length = 1, max_length = 200, pattern = "\\S")]
    name: Name,
    #[schema(max_length = 1000)]
    description: Option<String>,
    application_type: AppType,
    /// Matched exactly. At most 20.
    #[schema(max_items = 20)]
    redirect_uris: Option<Vec<RedirectUri>>,
    #[schema(max_items = 20)]
    post_logout_redirect_uris: Option<Vec<RedirectUri>>,
    /// Origins allowed for browser calls. At most 20.
    #[schema(max_items = 20)]
    allowed_origins: Option<Vec<Origin>>,
    /// Default `["openid", "profile", "email"]`.
    #[schema(max_items = 50)]
    allowed_scopes: Option<Vec<ScopeToken>>,
    /// Default by `application_type`: SERVICE `["client_credentials"]`; WEB
    /// `["authorization_code", "refresh_token", "client_credentials"]`; SPA and NATIVE
    /// `["authorization_code", "refresh_token"]`; SAML_SP none. SPA and NATIVE apps cannot
    /// have `client_credentials`.
    #[schema(max_items = 4)]
    grant_types: Option<Vec<GrantType>>,
    /// Seconds, default 3600.
    #[schema(minimum = 60, maximum = 86400)]
    token_lifetime: Option<u32>,
    /// Default false.
    token_exchange_allowed: Option<bool>,
    /// Only the app's effective users (assigned directly or through nested groups) may sign in
    /// to it; everyone else gets `access_denied`. Default false.
    assignment_required: Option<bool>,
    /// Default `ACTIVE`.
    status: Option<Status>,
}

/// A GLOBAL application (super_admin only): it belongs to no partner or tenant.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct GlobalApplicationCreate {
    scope: GlobalScope,
    #[serde(flatten)]
    settings: ApplicationSettingsCreate,
}

/// A PARTNER application: it belongs to `partner_id`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PartnerApplicationCreate {
    scope: PartnerScope,
    #[schema(value_type = String, pattern = "^prt_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$")]
    partner_id: PartnerId,
    #[serde(flatten)]
    settings: ApplicationSettingsCreate,
}

/// A TENANT application: it belongs to `tenant_id`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TenantApplicationCreate {
    scope: TenantScope,
    #[schema(value_type = String, pattern = "^tnt_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$")]
    tenant_id: TenantId,
    /// The tenant's partner, if given (another is a 422).
    #[schema(value_type = Option<String>, pattern = "^prt_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$")]
    partner_id: Option<PartnerId>,
    #[serde(flatten)]
    settings: ApplicationSettingsCreate,
}

/// Body of Create Application, by `scope` (immutable): GLOBAL has no owner, PARTNER its
/// `partner_id`, TENANT its `tenant_id`. An owner field sent as `null` is left out.
#[derive(ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum ApplicationCreate {
    Global(GlobalApplicationCreate),
    Partner(PartnerApplicationCreate),
    Tenant(TenantApplicationCreate),
}

fn settings(
    name: Name,
    description: Option<String>,
    application_type: AppType,
    body: &mut Fields,
) -> Option<Settings> {
    let redirect_uris = body.optional("redirect_uris", rules::redirect_uris);
    let post_logout = body.optional("post_logout_redirect_uris", rules::redirect_uris);
    let origins = body.optional("allowed_origins", rules::origins);
    let scopes = body.optional("allowed_scopes", rules::scopes);
    let grants = body.optional("grant_types", rules::grant_types);
    let lifetime = body.optional("token_lifetime", rules::token_lifetime);
    let exchange = body.optional("token_exchange_allowed", validation::boolean);
    let assignment = body.optional("assignment_required", validation::boolean);
    let status = body.optional("status", Status::parse_settable);
    Some(Settings {
        name,
        description: description.filter(|d| !d.is_empty()),
        application_type,
        redirect_uris: redirect_uris.unwrap_or_default(),
        post_logout_redirect_uris: post_logout.unwrap_or_default(),
        allowed_origins: origins.unwrap_or_default(),
        allowed_scopes: scopes.unwrap_or_else(|| rules::DEFAULT_SCOPES.map(str::to_owned).to_vec()),
        grant_types: grants.unwrap_or_else(|| rules::default_grants(application_type)),
        token_lifetime: lifetime.unwrap_or(3600),
        token_exchange_allowed: exchange.unwrap_or(false),
        assignment_required: assignment.unwrap_or(false),
        status: status.unwrap_or(Status::Active),
    })
}

/// Reads a Create Application body.
pub fn new_application(mut body: Fields) -> Result<NewApplication> {
    body.forbid("client_secret", NO_CHOSEN_SECRET);
    let name = body.required("name", Name::parse);
    let description = body.optional("description", description);
    let scope = body.required("scope", scope);
    let application_type = body.required("application_type", application_type);
    let partner_id = body.optional("partner_id", partner_ref);
    let tenant_id = body.optional("tenant_id", tenant_ref);
    let missing = || Problem::new("missing", "Field required");
    match scope {
        // `null` is left out (SPEC §2): generated clients send every unset field as null.
        Some(AppScope::Global) => {
            body.forbid_value("partner_id", "GLOBAL applications belong to no partner");
            body.forbid_value("tenant_id", "GLOBAL applications belong to no tenant");
        }
        Some(AppScope::Partner) => {
            // Required: absent or null is missing (an invalid value has its own problem).
            if !body.given("partner_id") {
                body.reject("partner_id", missing());
            }
            body.forbid_value("tenant_id", "PARTNER applications belong to no tenant");
        }
        Some(AppScope::Tenant) if !body.given("tenant_id") => body.reject("tenant_id", missing()),
        _ => {}
    }
    let settings = match (name, application_type) {
        (Some(name), Some(kind)) => settings(name, description, kind, &mut body),
        _ => {
            // Still read the rest, so one 422 names every problem.
            let placeholder = Name::parse(&Value::String("x".into())).ok();
            placeholder.and_then(|n| settings(n, None, AppType::Web, &mut body));
            None
        }
    };
    let new = body.finish(|| {
        let owner = match scope? {
            AppScope::Global => Owner::Global,
            AppScope::Partner => Owner::Partner(partner_id?),
            AppScope::Tenant => Owner::Tenant(tenant_id?, partner_id),
        };
        Some(NewApplication {
            owner,
            settings: settings?,
        })
    })?;
    rules::check(&new.settings)?;
    Ok(new)
}

/// Body of Update Application: only fields present change; lists replace. The scope and owners
/// cannot change and are not part of it, but a client may send back what it read: `scope`,
/// `partner_id` and `tenant_id` with the values the application shows (`null` where it shows
/// `null`; a TENANT application also takes its tenant's `partner_id`) are accepted and ignored,
/// as is any field it does not know (`id`, `created_at`, …); another scope or owner is a 422
/// naming it.
#[derive(ToSchema)]
#[allow(dead_code)] // The schema of the body; `TryFrom<Fields>` reads it into a patch.
pub struct ApplicationUpdate {
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200, pattern = "\\S", nullable = false)]
    name: Option<Name>,
    /// `null` clears it.
    #[schema(max_length = 1000)]
    description: Option<String>,
    #[schema(nullable = false)]
    application_type: Option<AppType>,
    #[schema(max_items = 20, nullable = false)]
    redirect_uris: Option<Vec<RedirectUri>>,
    #[schema(max_items = 20, nullable = false)]
    post_logout_redirect_uris: Option<Vec<RedirectUri>>,
    #[schema(max_items = 20, nullable = false)]
    allowed_origins: Option<Vec<Origin>>,
    #[schema(max_items = 50, nullable = false)]
    allowed_scopes: Option<Vec<ScopeToken>>,
    #[schema(max_items = 4, nullable = false)]
    grant_types: Option<Vec<GrantType>>,
    #[schema(minimum = 60, maximum = 86400, nullable = false)]
    token_lifetime: Option<u32>,
    #[schema(nullable = false)]
    token_exchange_allowed: Option<bool>,
    #[schema(nullable = false)]
    assignment_required: Option<bool>,
    #[schema(nullable = false)]
    status: Option<Status>,
}

impl TryFrom<Fields> for ApplicationPatch {
    type Error = Error;

    fn try_from(mut body: Fields) -> Result<Self> {
        body.forbid("client_secret", NO_CHOSEN_SECRET);
        let patch = Self {
            scope: body.fixed("scope", NO_OWNER_CHANGE, scope),
            partner_id: body.fixed("partner_id", NO_OWNER_CHANGE, partner_ref),
            tenant_id: body.fixed("tenant_id", NO_OWNER_CHANGE, tenant_ref),
            name: body.patch_required("name", Name::parse),
            description: match body.patch("description", description) {
                Patch::Set(d) if d.is_empty() => Patch::Clear,
                other => other,
            },
            application_type: body.patch_required("application_type", application_type),
            redirect_uris: body.patch_required("redirect_uris", rules::redirect_uris),
            post_logout_redirect_uris: body
                .patch_required("post_logout_redirect_uris", rules::redirect_uris),
            allowed_origins: body.patch_required("allowed_origins", rules::origins),
            allowed_scopes: body.patch_required("allowed_scopes", rules::scopes),
            grant_types: body.patch_required("grant_types", rules::grant_types),
            token_lifetime: body.patch_required("token_lifetime", rules::token_lifetime),
            token_exchange_allowed: body
                .patch_required("token_exchange_allowed", validation::boolean),
            assignment_required: body.patch_required("assignment_required", validation::boolean),
            status: body.patch_required("status", Status::parse_settable),
        };
        body.check()?;
        Ok(patch)
    }
}

/// Body of Rotate Secret (optional).
#[derive(ToSchema)]
#[allow(dead_code)] // The schema of the body; the handler reads the one field.
pub struct RotateSecret {
    /// How long the previous secret keeps working, in seconds: 0 (default) to 604800 (7 days).
    #[schema(minimum = 0, maximum = 604800)]
    grace_period_seconds: Option<u32>,
}

/// The grace period of a rotation (0 when absent).
pub fn grace_period(mut body: Fields) -> Result<i64> {
    let grace = body.optional("grace_period_seconds", |v| {
        validation::integer_in(v, 0, crate::operations::MAX_GRACE_SECONDS)
    });
    body.finish(|| Some(grace.unwrap_or(0)))
}

// ---- assignments and effective users -----------------------------------------------------------

/// An assignment of the application to a user or a group. Its `id` is the assignee's id (an
/// application is assigned to a user or group at most once).
#[derive(Serialize, ToSchema)]
pub struct AssignmentResponse {
    id: String,
    application_id: String,
    assignee_type: AssigneeType,
    /// USER assignments.
    user_id: Option<String>,
    /// GROUP assignments.
    group_id: Option<String>,
    /// The assignee's tenant.
    tenant_id: String,
    /// The group's name or the user's display name.
    name: Option<String>,
    /// USER assignments.
    email: Option<String>,
    created_at: Timestamp,
    /// The admin user (`usr_…`) or platform application (`app_…`) that assigned it.
    created_by: String,
}

impl From<AssignmentView> for AssignmentResponse {
    fn from(v: AssignmentView) -> Self {
        let a = v.assignment;
        let (user_id, group_id) = match a.assignee_type {
            AssigneeType::User => (Some(a.assignee_id.clone()), None),
            AssigneeType::Group => (None, Some(a.assignee_id.clone())),
        };
        Self {
            id: a.assignee_id,
            application_id: a.application_id.to_string(),
            assignee_type: a.assignee_type,
            user_id,
            group_id,
            tenant_id: a.tenant_id.to_string(),
            name: v.name,
            email: v.email,
            created_at: a.created_at,
            created_by: a.created_by,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AssignmentList {
    pub items: Vec<AssignmentResponse>,
    pub pagination: Pagination,
}

/// Assign the application to a user.
// Schemas of the body; the handler parses it straight into a `UserOrGroup`.
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct UserAssignment {
    #[schema(value_type = String, pattern = "^usr_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$")]
    pub user_id: String,
}

/// Assign the application to a group (and so to its members, at any nesting depth).
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct GroupAssignment {
    #[schema(value_type = String, pattern = "^grp_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$")]
    pub group_id: String,
}

/// Body of Assign: a user or a group, exactly one (the other absent or `null`).
#[allow(dead_code)]
#[derive(ToSchema)]
#[serde(untagged)]
pub enum AssignmentCreate {
    User(UserAssignment),
    Group(GroupAssignment),
}

/// A user the application reaches, once, with its tenant and how it is reached.
#[derive(Serialize, ToSchema)]
pub struct EffectiveUserResponse {
    id: String,
    email: String,
    first_name: Option<String>,
    last_name: Option<String>,
    display_name: Option<String>,
    #[schema(value_type = String, example = "ACTIVE")]
    status: UserStatus,
    tenant_id: String,
    tenant_slug: String,
    via: ViaResponse,
}

impl From<EffectiveUserView> for EffectiveUserResponse {
    fn from(v: EffectiveUserView) -> Self {
        Self {
            id: v.user.id.to_string(),
            email: v.user.email,
            first_name: v.user.first_name,
            last_name: v.user.last_name,
            display_name: v.user.display_name,
            status: v.user.status,
            tenant_id: v.user.tenant_id.to_string(),
            tenant_slug: v.tenant_slug,
            via: v.via.into(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct EffectiveUserList {
    pub items: Vec<EffectiveUserResponse>,
    pub pagination: Pagination,
}
