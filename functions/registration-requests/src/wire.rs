//! Wire types of the registration requests API. Stored items never appear here.

use serde::Serialize;
use serde_json::Value;
use shared::applications::schema::{
    GlobalScope, GrantType, Origin, PartnerScope, RedirectUri, ScopeToken, TenantScope,
};
use shared::applications::{ApplicationResponse, Owner, Settings, rules};
use shared::error::{Error, Result};
use shared::hierarchy::{AppScope, AppType};
use shared::ids::{PartnerId, TenantId};
use shared::pagination::Pagination;
use shared::time::Timestamp;
use shared::validation::{self, Fields, Problem};
pub use shared::validation::{partner_ref, tenant_ref};
use shared::values::{Email, Name, Status};
use utoipa::ToSchema;

use crate::operations::{NewRequest, status_now};
use crate::store::RegistrationRequest;

/// A registration request as the API shows it; `status` is `EXPIRED` once it waited 30 days.
#[derive(Serialize, ToSchema)]
pub struct RequestResponse {
    id: String,
    scope: AppScope,
    tenant_id: Option<String>,
    partner_id: Option<String>,
    name: String,
    description: Option<String>,
    application_type: AppType,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    allowed_origins: Vec<String>,
    requested_scopes: Vec<String>,
    grant_types: Vec<String>,
    contact_email: String,
    contact_name: Option<String>,
    organization_name: Option<String>,
    website_url: Option<String>,
    /// `EXPIRED` once it waited 30 days.
    #[schema(value_type = RequestStatus)]
    status: &'static str,
    requested_by: String,
    created_at: Timestamp,
    decided_at: Option<Timestamp>,
    decided_by: Option<String>,
    decision_notes: Option<String>,
    rejection_reason: Option<String>,
    application_id: Option<String>,
}

impl From<RegistrationRequest> for RequestResponse {
    fn from(r: RegistrationRequest) -> Self {
        Self {
            status: status_now(&r, Timestamp::now()),
            id: r.id.to_string(),
            scope: r.scope,
            tenant_id: r.tenant_id.map(|t| t.to_string()),
            partner_id: r.partner_id.map(|p| p.to_string()),
            name: r.name,
            description: r.description,
            application_type: r.application_type,
            redirect_uris: r.redirect_uris,
            post_logout_redirect_uris: r.post_logout_redirect_uris,
            allowed_origins: r.allowed_origins,
            requested_scopes: r.requested_scopes,
            grant_types: r.grant_types,
            contact_email: r.contact_email,
            contact_name: r.contact_name,
            organization_name: r.organization_name,
            website_url: r.website_url,
            requested_by: r.requested_by,
            created_at: r.created_at,
            decided_at: r.decided_at,
            decided_by: r.decided_by,
            decision_notes: r.decision_notes,
            rejection_reason: r.rejection_reason,
            application_id: r.application_id.map(|a| a.to_string()),
        }
    }
}

/// A registration request's status (`EXPIRED`: left PENDING for 30 days).
#[derive(ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(dead_code)] // The schema of `status`; `status_now` names it.
pub enum RequestStatus {
    Pending,
    Approved,
    Rejected,
    Cancelled,
    Expired,
}

#[derive(Serialize, ToSchema)]
pub struct RequestList {
    pub items: Vec<RequestResponse>,
    pub pagination: Pagination,
}

/// An approval: the request, the application it created, its `client_id` and its client secret
/// (confidential types; shown this once) — the reference "returns the created application with
/// client_id and client_secret".
#[derive(Serialize, ToSchema)]
pub struct Approved {
    pub request: RequestResponse,
    /// The application, as `GET /api/v1/admin/applications/{id}` shows it.
    pub application: ApplicationResponse,
    /// The application's OAuth `client_id` (its id, as `application.client_id`).
    pub client_id: String,
    /// Confidential types (WEB, SERVICE, SAML_SP) only, else `null`; store it now: it is never
    /// shown again.
    pub client_secret: Option<String>,
}

pub fn scope(value: &Value) -> std::result::Result<AppScope, Problem> {
    validation::one_of(value, &AppScope::ALL)
}

fn application_type(value: &Value) -> std::result::Result<AppType, Problem> {
    validation::one_of(value, &AppType::ALL)
}

fn website(value: &Value) -> std::result::Result<String, Problem> {
    let text = validation::text(value, 1, 2000)?;
    match url::Url::parse(&text) {
        Ok(u) if matches!(u.scheme(), "https" | "http") && u.host_str().is_some() => Ok(text),
        _ => Err(Problem::value_error("must be an absolute http(s) URL")),
    }
}

/// `PENDING`, `APPROVED`, `REJECTED`, `CANCELLED` or `EXPIRED`.
pub fn status_filter(value: &Value) -> std::result::Result<String, Problem> {
    const ALL: [(&str, &str); 5] = [
        ("PENDING", "PENDING"),
        ("APPROVED", "APPROVED"),
        ("REJECTED", "REJECTED"),
        ("CANCELLED", "CANCELLED"),
        ("EXPIRED", "EXPIRED"),
    ];
    validation::one_of(value, &ALL).map(str::to_owned)
}

/// What a registration request asks for, at any scope (each variant of
/// `RegistrationRequestCreate` adds its scope and owner).
#[derive(ToSchema)]
#[allow(dead_code)] // The schema of the body; `new_request` reads it.
pub struct RegistrationRequestFields {
    #[schema(value_type = String, min_length = 1, max_length = 200, pattern = "\\S")]
    name: Name,
    #[schema(max_length = 1000)]
    description: Option<String>,
    application_type: AppType,
    /// As an application's. At most 20.
    #[schema(max_items = 20)]
    redirect_uris: Option<Vec<RedirectUri>>,
    #[schema(max_items = 20)]
    post_logout_redirect_uris: Option<Vec<RedirectUri>>,
    #[schema(max_items = 20)]
    allowed_origins: Option<Vec<Origin>>,
    /// Default `["openid", "profile", "email"]`.
    #[schema(max_items = 50)]
    requested_scopes: Option<Vec<ScopeToken>>,
    /// Default `["authorization_code", "refresh_token"]`, whatever the type; SPA and NATIVE
    /// requests cannot ask for `client_credentials`.
    #[schema(max_items = 4)]
    grant_types: Option<Vec<GrantType>>,
    #[schema(value_type = String, format = "email")]
    contact_email: Email,
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    contact_name: Option<String>,
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    organization_name: Option<String>,
    #[schema(value_type = Option<WebsiteUrl>)]
    website_url: Option<String>,
}

shared::string_schema!(
    /// A registration request's `website_url`.
    WebsiteUrl,
    pattern = r"^https?://[a-z][a-z0-9-]*(?:\.[a-z][a-z0-9-]*)*(?::[1-9][0-9]{0,3})?(?:/[A-Za-z0-9._~!$&'()+,;=:@-]*)*(?:\?[A-Za-z0-9._~!$&'()+,;=:@/?-]*)?$",
    max_length = 2000,
    description = "An absolute http(s) URL.",
);

/// A request for a GLOBAL application: it names no partner or tenant.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct GlobalRegistrationRequest {
    scope: GlobalScope,
    #[serde(flatten)]
    fields: RegistrationRequestFields,
}

/// A request for a PARTNER application of `partner_id`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PartnerRegistrationRequest {
    scope: PartnerScope,
    #[schema(value_type = String, pattern = "^prt_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$")]
    partner_id: PartnerId,
    #[serde(flatten)]
    fields: RegistrationRequestFields,
}

/// A request for a TENANT application of `tenant_id`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TenantRegistrationRequest {
    scope: TenantScope,
    #[schema(value_type = String, pattern = "^tnt_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$")]
    tenant_id: TenantId,
    /// The tenant's partner, if given (another is a 422).
    #[schema(value_type = Option<String>, pattern = "^prt_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$")]
    partner_id: Option<PartnerId>,
    #[serde(flatten)]
    fields: RegistrationRequestFields,
}

/// Body of Create Registration Request, by `scope`: GLOBAL names no owner, PARTNER its
/// `partner_id`, TENANT its `tenant_id`. An owner field sent as `null` is left out.
#[derive(ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum RegistrationRequestCreate {
    Global(GlobalRegistrationRequest),
    Partner(PartnerRegistrationRequest),
    Tenant(TenantRegistrationRequest),
}

/// Reads a Create Registration Request body; the application it asks for is checked by the
/// rules an application is (so an approval never fails on them).
pub fn new_request(mut body: Fields) -> Result<NewRequest> {
    let scope = body.required("scope", scope);
    let name = body.required("name", Name::parse);
    let description = body.optional("description", |v| validation::text(v, 0, 1000));
    let kind = body.required("application_type", application_type);
    let partner_id = body.optional("partner_id", partner_ref);
    let tenant_id = body.optional("tenant_id", tenant_ref);
    let redirect_uris = body.optional("redirect_uris", rules::redirect_uris);
    let post_logout = body.optional("post_logout_redirect_uris", rules::redirect_uris);
    let origins = body.optional("allowed_origins", rules::origins);
    let scopes = body.optional("requested_scopes", rules::scopes);
    let grants = body.optional("grant_types", rules::grant_types);
    let contact_email = body.required("contact_email", Email::parse);
    let contact_name = body.optional("contact_name", |v| validation::text(v, 1, 200));
    let organization_name = body.optional("organization_name", |v| validation::text(v, 1, 200));
    let website_url = body.optional("website_url", website);
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
    let new = body.finish(|| {
        let owner = match scope? {
            AppScope::Global => Owner::Global,
            AppScope::Partner => Owner::Partner(partner_id?),
            AppScope::Tenant => Owner::Tenant(tenant_id?, partner_id),
        };
        let name = name?;
        let description = description.filter(|d| !d.is_empty());
        Some(NewRequest {
            owner,
            name: name.clone(),
            description: description.clone(),
            settings: Settings {
                name,
                description,
                application_type: kind?,
                redirect_uris: redirect_uris.unwrap_or_default(),
                post_logout_redirect_uris: post_logout.unwrap_or_default(),
                allowed_origins: origins.unwrap_or_default(),
                allowed_scopes: scopes
                    .unwrap_or_else(|| rules::DEFAULT_SCOPES.map(str::to_owned).to_vec()),
                grant_types: grants
                    .unwrap_or_else(|| rules::REQUEST_DEFAULT_GRANTS.map(str::to_owned).to_vec()),
                token_lifetime: 3600,
                token_exchange_allowed: false,
                assignment_required: false,
                status: Status::Active,
            },
            contact_email: contact_email?.as_str().to_owned(),
            contact_name,
            organization_name,
            website_url,
        })
    })?;
    // The requested scopes are checked where an application's allowed scopes are.
    rules::check(&new.settings).map_err(|err| match err {
        Error::Validation(problems) => Error::Validation(
            problems
                .into_iter()
                .map(|mut p| {
                    if p.loc.get(1).and_then(Value::as_str) == Some("allowed_scopes") {
                        p.loc[1] = Value::from("requested_scopes");
                    }
                    p
                })
                .collect(),
        ),
        other => other,
    })?;
    Ok(new)
}

/// Body of Approve (optional).
#[derive(ToSchema)]
#[allow(dead_code)] // The schema of the body; the handler reads the one field.
pub struct ApproveBody {
    #[schema(max_length = 2000)]
    notes: Option<String>,
}

/// Body of Reject.
#[derive(ToSchema)]
#[allow(dead_code)] // The schema of the body; the handler reads the one field.
pub struct RejectBody {
    #[schema(min_length = 1, max_length = 2000)]
    reason: String,
}

pub fn approve_notes(mut body: Fields) -> Result<Option<String>> {
    let notes = body.optional("notes", |v| validation::text(v, 0, 2000));
    body.finish(|| Some(notes.filter(|n| !n.is_empty())))
}

pub fn reject_reason(mut body: Fields) -> Result<String> {
    let reason = body.required("reason", |v| validation::text(v, 1, 2000));
    body.finish(|| reason)
}
