//! The OpenAPI schemas of what an application's create body takes (the applications group's
//! create and the registration requests group's, which ask for the same application): each
//! value as the `rules` parsers accept it, and the owner each scope needs, so a generated client
//! types these bodies as tightly as the API checks them (SPEC §4.7, §4.8).
//!
//! Schema-only types: the bodies are read field by field (`crate::validation::Fields`).

use utoipa::ToSchema;

use super::rules::{GRANT_TYPES, MAX_SCOPE_LENGTH, MAX_URI_LENGTH};

crate::string_schema!(
    /// A redirect URI (`rules::redirect_uris`).
    RedirectUri,
    pattern = r"^(?:(?:https://[a-z][a-z0-9-]*(?:\.[a-z][a-z0-9-]*)*|http://(?:localhost|127\.0\.0\.1|\[::1\]))(?::[1-9][0-9]{0,3})?(?:/[A-Za-z0-9._~!$&'()+,;=:@-]*)*|[a-z][a-z0-9+-]*(?:\.[a-z][a-z0-9+-]*)+:/(?:[A-Za-z0-9._~!$&'()+,;=@-]+(?:/[A-Za-z0-9._~!$&'()+,;=:@-]*)*)?)(?:\?[A-Za-z0-9._~!$&'()+,;=:@/?-]*)?$",
    max_length = MAX_URI_LENGTH,
    description = "An absolute URI without fragment or wildcard, matched exactly: https, or http to \
                   localhost, 127.0.0.1 or [::1]; a private-use scheme (reverse domain name, \
                   `com.example.app:/cb`) for NATIVE applications only.",
);

crate::string_schema!(
    /// An origin allowed for browser calls (`rules::origins`).
    Origin,
    pattern = r"^(?:https://[a-z][a-z0-9-]*(?:\.[a-z][a-z0-9-]*)*|http://(?:localhost|127\.0\.0\.1|\[::1\]))(?::[1-9][0-9]{0,3})?/?$",
    max_length = MAX_URI_LENGTH,
    description = "`scheme://host[:port]` without path or query: https, or http to localhost, \
                   127.0.0.1 or [::1].",
);

crate::string_schema!(
    /// An OAuth scope (`rules::scopes`).
    ScopeToken,
    pattern = r"^[!#-\[\]-~]+$",
    max_length = MAX_SCOPE_LENGTH,
    description = "An OAuth scope (RFC 6749 §3.3): printable ASCII but space, `\"` and `\\`.",
);

/// An OAuth grant type an application may use (`rules::grant_types`).
pub struct GrantType;

impl utoipa::PartialSchema for GrantType {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::String))
            .enum_values(Some(GRANT_TYPES))
            .into()
    }
}

impl ToSchema for GrantType {}

/// `scope` of a GLOBAL application (or request).
#[derive(ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GlobalScope {
    Global,
}

/// `scope` of a PARTNER application (or request).
#[derive(ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PartnerScope {
    Partner,
}

/// `scope` of a TENANT application (or request).
#[derive(ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TenantScope {
    Tenant,
}
