//! Wire types of the identity providers API: what a client sends and sees. A client secret is
//! accepted here and never shown: responses say `client_secret_set` instead.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use shared::applications::schema::ScopeToken;
use shared::error::Result;
use shared::pagination::Pagination;
use shared::time::Timestamp;
pub use shared::validation::tenant_ref;
use shared::validation::{self, Fields, Problem};
use shared::values::{Name, Status};
use utoipa::ToSchema;

use crate::operations::{
    self, IdentityProviderPatch, NewIdentityProvider, SecretChange, parse_config,
};
use crate::store::{IdentityProvider, ProviderConfig, ProviderType};

/// An identity provider as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct IdentityProviderResponse {
    id: String,
    tenant_id: String,
    name: String,
    provider_type: ProviderType,
    status: Status,
    /// Email domains routed to this provider (lower-cased).
    domains: Vec<String>,
    /// Users signing in through it for the first time are created on the fly.
    jit_provisioning: bool,
    config: ConfigResponse,
    created_at: Timestamp,
    updated_at: Timestamp,
}

/// The provider's settings, of its type.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum ConfigResponse {
    Oidc(OidcConfigResponse),
    Saml(SamlConfigResponse),
}

/// An OpenID Connect provider's settings; the client secret is write-only.
#[derive(Serialize, ToSchema)]
pub struct OidcConfigResponse {
    issuer: String,
    client_id: String,
    /// Whether a client secret is stored (it is never returned).
    client_secret_set: bool,
    scopes: Vec<String>,
    claim_mappings: BTreeMap<String, String>,
}

#[derive(Serialize, ToSchema)]
pub struct SamlConfigResponse {
    entity_id: String,
    sso_url: String,
    /// PEM.
    x509_certificate: String,
    name_id_format: String,
    attribute_mappings: BTreeMap<String, String>,
}

impl From<IdentityProvider> for IdentityProviderResponse {
    fn from(idp: IdentityProvider) -> Self {
        let client_secret_set = idp.client_secret_set();
        Self {
            id: idp.id.to_string(),
            tenant_id: idp.tenant_id.to_string(),
            name: idp.name,
            provider_type: idp.provider_type,
            status: idp.status,
            domains: idp.domains,
            jit_provisioning: idp.jit_provisioning,
            config: match idp.config {
                ProviderConfig::Oidc(c) => ConfigResponse::Oidc(OidcConfigResponse {
                    issuer: c.issuer,
                    client_id: c.client_id,
                    client_secret_set,
                    scopes: c.scopes,
                    claim_mappings: c.claim_mappings,
                }),
                ProviderConfig::Saml(c) => ConfigResponse::Saml(SamlConfigResponse {
                    entity_id: c.entity_id,
                    sso_url: c.sso_url,
                    x509_certificate: c.x509_certificate,
                    name_id_format: c.name_id_format,
                    attribute_mappings: c.attribute_mappings,
                }),
            },
            created_at: idp.created_at,
            updated_at: idp.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct IdentityProviderList {
    pub items: Vec<IdentityProviderResponse>,
    pub pagination: Pagination,
}

pub fn provider_type(value: &Value) -> std::result::Result<ProviderType, Problem> {
    validation::one_of(value, &ProviderType::ALL)
}

fn config_object(value: &Value) -> std::result::Result<Value, Problem> {
    validation::object(value).map(|_| value.clone())
}

// ---- request bodies (schemas; the handlers parse `Fields` straight into the operations' types)

/// An absolute https URL with a host (`https_url`), as an OIDC issuer (no query) or a SAML SSO
/// URL (a query allowed).
const HTTPS_URL: &str = r"^https://[a-z][a-z0-9-]*(?:\.[a-z][a-z0-9-]*)*(?::[1-9][0-9]{0,3})?(?:/[A-Za-z0-9._~!$&'()+,;=:@-]*)*";

shared::string_schema!(
    /// An OpenID Connect issuer.
    IssuerUrl,
    pattern = format!("{HTTPS_URL}$"),
    max_length = operations::MAX_URL_LENGTH,
    description = "An absolute https URL without query or fragment.",
);

shared::string_schema!(
    /// A SAML single sign-on URL.
    SsoUrl,
    pattern = format!(r"{HTTPS_URL}(?:\?[A-Za-z0-9._~!$&'()+,;=:@/?-]*)?$"),
    max_length = operations::MAX_URL_LENGTH,
    description = "An absolute https URL without fragment.",
);

/// The email domains routed to a provider (`operations::domains`): DNS names of two labels or
/// more, lower-case, none twice.
pub struct EmailDomains;

impl utoipa::PartialSchema for EmailDomains {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
        let domain = ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::String))
            .pattern(Some(
                r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$",
            ))
            .max_length(Some(253));
        ArrayBuilder::new()
            .items(domain)
            .max_items(Some(operations::MAX_DOMAINS))
            .unique_items(true)
            .description(Some(
                "Email domains routed to this provider: DNS names (`example.com`), lower-cased, \
                 none twice, at most 50; a domain routes to at most one provider per tenant (409).",
            ))
            .into()
    }
}

impl ToSchema for EmailDomains {}

/// Claim or attribute name → user attribute (`operations::mappings`).
pub struct Mappings;

impl utoipa::PartialSchema for Mappings {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        let text = |min: usize, max: usize| {
            ObjectBuilder::new()
                .schema_type(SchemaType::Type(Type::String))
                .min_length(Some(min))
                .max_length(Some(max))
        };
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::Object))
            .property_names(Some(text(1, 200)))
            .additional_properties(Some(text(1, 500).pattern(Some("\\S"))))
            .max_properties(Some(operations::MAX_MAPPINGS))
            .description(Some(
                "At most 100 entries: names of 1 to 200 characters, values of 1 to 500.",
            ))
            .into()
    }
}

impl ToSchema for Mappings {}

/// `config` of an OIDC provider.
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct OidcConfigInput {
    #[schema(value_type = IssuerUrl)]
    pub issuer: String,
    #[schema(min_length = 1, max_length = 500, pattern = "\\S")]
    pub client_id: String,
    /// Write-only: stored sealed, never returned. In an update: absent keeps the stored one,
    /// `null` clears it.
    #[schema(min_length = 1, max_length = 2000, write_only)]
    pub client_secret: Option<String>,
    /// Default `["openid", "profile", "email"]`.
    #[schema(max_items = 50)]
    pub scopes: Option<Vec<ScopeToken>>,
    /// Claim name → user attribute.
    #[schema(value_type = Option<Mappings>)]
    pub claim_mappings: Option<BTreeMap<String, String>>,
}

/// `config` of a SAML provider.
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct SamlConfigInput {
    #[schema(min_length = 1, max_length = 1000, pattern = "\\S")]
    pub entity_id: String,
    #[schema(value_type = SsoUrl)]
    pub sso_url: String,
    /// The provider's signing certificate: one PEM `CERTIFICATE` (X.509 v3) that parses.
    #[schema(max_length = 16384, pattern = "-----BEGIN CERTIFICATE-----")]
    pub x509_certificate: String,
    /// Default `urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress`.
    #[schema(min_length = 1, max_length = 500, pattern = "\\S")]
    pub name_id_format: Option<String>,
    /// SAML attribute → user attribute.
    #[schema(value_type = Option<Mappings>)]
    pub attribute_mappings: Option<BTreeMap<String, String>>,
}

/// The settings of the provider's type.
#[allow(dead_code)]
#[derive(ToSchema)]
#[serde(untagged)]
pub enum ConfigInput {
    Oidc(OidcConfigInput),
    Saml(SamlConfigInput),
}

/// What every new provider takes (each variant of `IdentityProviderCreate` adds its type and
/// config).
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct IdentityProviderFields {
    #[schema(value_type = String, pattern = "^tnt_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$")]
    pub tenant_id: String,
    #[schema(value_type = String, min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: String,
    /// Default `ACTIVE`.
    pub status: Option<Status>,
    #[schema(value_type = Option<EmailDomains>)]
    pub domains: Option<Vec<String>>,
    /// Default `false`.
    pub jit_provisioning: Option<bool>,
}

/// `provider_type` of an OpenID Connect provider.
#[allow(dead_code)]
#[derive(ToSchema)]
pub enum OidcType {
    #[serde(rename = "OIDC")]
    Oidc,
}

/// `provider_type` of a SAML provider.
#[allow(dead_code)]
#[derive(ToSchema)]
pub enum SamlType {
    #[serde(rename = "SAML")]
    Saml,
}

/// A new OpenID Connect provider.
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct OidcIdentityProviderCreate {
    pub provider_type: OidcType,
    pub config: OidcConfigInput,
    #[serde(flatten)]
    pub fields: IdentityProviderFields,
}

/// A new SAML provider.
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct SamlIdentityProviderCreate {
    pub provider_type: SamlType,
    pub config: SamlConfigInput,
    #[serde(flatten)]
    pub fields: IdentityProviderFields,
}

/// Body of Create Identity Provider, by `provider_type` (immutable once created): its `config`
/// is of that type.
#[allow(dead_code)]
#[derive(ToSchema)]
#[serde(untagged)]
pub enum IdentityProviderCreate {
    Oidc(OidcIdentityProviderCreate),
    Saml(SamlIdentityProviderCreate),
}

/// Body of Update Identity Provider: only fields present change. `config` replaces the whole
/// config — of the stored provider type; omitted fields take their defaults — except the
/// client secret: absent keeps the stored one, `null` clears it, a value replaces it. The
/// provider type never changes and is not part of it, but a client may send back what it read:
/// `provider_type` and `tenant_id` as read are accepted and ignored, as is any field it does
/// not know (`id`, `created_at`, …); another type or tenant is a 422 naming it.
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct IdentityProviderUpdate {
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200, pattern = "\\S", nullable = false)]
    pub name: Option<String>,
    #[schema(nullable = false)]
    pub status: Option<Status>,
    /// Replaces the list: removed domains are released, new ones claimed, in one transaction.
    #[schema(value_type = Option<EmailDomains>, nullable = false)]
    pub domains: Option<Vec<String>>,
    #[schema(nullable = false)]
    pub jit_provisioning: Option<bool>,
    #[schema(nullable = false)]
    pub config: Option<ConfigInput>,
}

/// Reads a create body: every problem at once, config problems located below `config`.
pub fn new_identity_provider(mut body: Fields) -> Result<NewIdentityProvider> {
    let tenant_id = body.required("tenant_id", tenant_ref);
    let name = body.required("name", Name::parse);
    let provider_type = body.required("provider_type", provider_type);
    let status = body.optional("status", Status::parse_settable);
    let domains = body.optional("domains", operations::domains);
    let jit_provisioning = body.optional("jit_provisioning", validation::boolean);
    let raw_config = body.required("config", config_object);
    let config = match (provider_type, &raw_config) {
        (Some(t), Some(raw)) => match parse_config(t, raw) {
            Ok(parsed) => Some(parsed),
            Err(problems) => {
                for problem in problems {
                    body.reject("config", problem);
                }
                None
            }
        },
        _ => None,
    };
    body.finish(|| {
        let parsed = config?;
        Some(NewIdentityProvider {
            tenant_id: tenant_id?,
            name: name?,
            status: status.unwrap_or(Status::Active),
            domains: domains.unwrap_or_default(),
            jit_provisioning: jit_provisioning.unwrap_or(false),
            config: parsed.config,
            client_secret: match parsed.secret {
                SecretChange::Set(secret) => Some(secret),
                SecretChange::Keep | SecretChange::Clear => None,
            },
        })
    })
}

const NO_TENANT_CHANGE: &str = "a provider never changes tenant; create another provider";

/// Reads an update body (the config is parsed by the operation, against the stored type).
pub fn identity_provider_patch(mut body: Fields) -> Result<IdentityProviderPatch> {
    let patch = IdentityProviderPatch {
        name: body.patch_required("name", Name::parse),
        status: body.patch_required("status", Status::parse_settable),
        domains: body.patch_required("domains", operations::domains),
        jit_provisioning: body.patch_required("jit_provisioning", validation::boolean),
        provider_type: body.patch_required("provider_type", provider_type),
        tenant_id: body.fixed("tenant_id", NO_TENANT_CHANGE, tenant_ref),
        config: body.patch_required("config", config_object),
    };
    body.check()?;
    Ok(patch)
}
