//! Identity provider operations (SPEC §4.9): every tier manages the providers within its reach
//! (super_admin: all; partner_admin: its partner's tenants', as they are now; tenant_admin: its
//! own tenant's), reads and writes alike — the rule of groups. Also the rules of a provider's
//! settings (`parse_config`, `domains`), which the wire types and PATCH share.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Value, json};
use shared::access::{self, Principal};
use shared::audit::{self, Actor, Attempt, AuditAction, AuditEvent, RequestMeta};
use shared::error::{Error, FieldProblem, Result};
use shared::hierarchy::Tenant;
use shared::ids::{IdentityProviderId, PartnerId, TenantId};
use shared::lifecycle::{self, Attempts, Lifecycle, live};
use shared::lists::TenantScopedList;
use shared::pagination::{Page, PageRequest};
use shared::sealing::{Kek, SealError};
use shared::session::{self, Caller};
use shared::state::AppState;
use shared::store::{StoreError, keys};
use shared::time::Timestamp;
use shared::validation::{self, Fields, Fixed, Patch, Problem};
use shared::values::{Name, Status};
use tokio::sync::OnceCell;
use url::Url;

use crate::store::{
    self, DOMAIN, IdentityProvider, MAX_ACTIONS, OidcConfig, ProviderConfig, ProviderType,
    SECRET_PURPOSE, SamlConfig, SealedSecret, TENANT, UPDATE_FIXED_ACTIONS,
};

pub const CREATE: AuditAction = AuditAction::new("identity_provider.create", "identity_provider");
pub const UPDATE: AuditAction = AuditAction::new("identity_provider.update", "identity_provider");
pub const DELETE: AuditAction = AuditAction::new("identity_provider.delete", "identity_provider");
/// Every action this group records: its part of the audit catalogue.
pub const ACTIONS: &[AuditAction] = &[CREATE, UPDATE, DELETE];

pub(crate) const RESOURCE: &str = "Identity provider";
pub const DOMAIN_TAKEN: &str = "Domain already routed to another identity provider in this tenant";

pub const MAX_DOMAINS: usize = 50;
pub const MAX_URL_LENGTH: usize = 2000;
pub const MAX_MAPPINGS: usize = 100;
pub const MAX_CERTIFICATE_LENGTH: usize = 16_384;
pub const MAX_SECRET_LENGTH: usize = 2000;
pub const DEFAULT_SCOPES: [&str; 3] = ["openid", "profile", "email"];
pub const DEFAULT_NAME_ID_FORMAT: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";

// ---- settings rules -------------------------------------------------------------------------

/// A client secret as sent: it is sealed before it is stored and never printed.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

/// What a config says about the client secret: absent keeps the stored one, `null` clears
/// it, a value replaces it.
#[derive(Debug)]
pub enum SecretChange {
    Keep,
    Clear,
    Set(Secret),
}

/// A config as sent, parsed for its provider type.
#[derive(Debug)]
pub struct ParsedConfig {
    pub config: ProviderConfig,
    pub secret: SecretChange,
}

fn client_secret(value: &Value) -> std::result::Result<Secret, Problem> {
    // Not trimmed: a secret is used exactly as given.
    let text = validation::string(value)?;
    let len = text.chars().count();
    if len == 0 || len > MAX_SECRET_LENGTH {
        return Err(Problem::value_error(format!(
            "a client secret is 1 to {MAX_SECRET_LENGTH} characters"
        )));
    }
    Ok(Secret(text.to_owned()))
}

/// An absolute `https` URL with a host and no fragment, at most 2,000 characters; with
/// `issuer`, also without a query (OpenID Connect Discovery §3). Stored exactly as given.
fn https_url(value: &Value, issuer: bool) -> std::result::Result<String, Problem> {
    let text = validation::string(value)?;
    let bad = |msg: &str| Err(Problem::value_error(msg));
    if text.len() > MAX_URL_LENGTH {
        return bad("at most 2000 characters");
    }
    if text.chars().any(char::is_whitespace) {
        return bad("must not contain whitespace");
    }
    let Ok(url) = Url::parse(text) else {
        return bad("must be an absolute https URL");
    };
    if url.scheme() != "https" || url.host_str().is_none_or(str::is_empty) {
        return bad("must be an absolute https URL");
    }
    if url.fragment().is_some() || text.contains('#') {
        return bad("must not contain a fragment");
    }
    if issuer && url.query().is_some() {
        return bad("an issuer has no query");
    }
    Ok(text.to_owned())
}

/// A PEM document holding exactly one `CERTIFICATE` that parses as an X.509 v3 certificate
/// (rustls-webpki's parser, which every binary already links for TLS). Stored trimmed.
fn certificate(value: &Value) -> std::result::Result<String, Problem> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::{PemObject, SectionKind};
    let text = validation::string(value)?.trim();
    if text.len() > MAX_CERTIFICATE_LENGTH {
        return Err(Problem::value_error(format!(
            "at most {MAX_CERTIFICATE_LENGTH} characters"
        )));
    }
    let sections: std::result::Result<Vec<(SectionKind, Vec<u8>)>, _> =
        <(SectionKind, Vec<u8>)>::pem_slice_iter(text.as_bytes()).collect();
    let der = match sections.as_deref() {
        Ok([(SectionKind::Certificate, der)]) => der.clone(),
        Ok([_, _, ..]) => {
            return Err(Problem::value_error(
                "must hold exactly one PEM section, a CERTIFICATE",
            ));
        }
        _ => {
            return Err(Problem::value_error(
                "must be a PEM certificate (-----BEGIN CERTIFICATE-----)",
            ));
        }
    };
    let der = CertificateDer::from(der);
    webpki::EndEntityCert::try_from(&der)
        .map_err(|_| Problem::value_error("does not parse as an X.509 certificate"))?;
    Ok(text.to_owned())
}

/// An object of strings to strings (claim or attribute mappings): at most 100 entries, keys 1
/// to 200 characters, values 1 to 500.
fn mappings(value: &Value) -> std::result::Result<BTreeMap<String, String>, Problem> {
    let map = validation::object(value)?;
    if map.len() > MAX_MAPPINGS {
        return Err(Problem::value_error(format!(
            "at most {MAX_MAPPINGS} mappings"
        )));
    }
    let mut out = BTreeMap::new();
    for (key, v) in map {
        let at = |p: Problem| p.under(key);
        let len = key.chars().count();
        if len == 0 || len > 200 {
            return Err(at(Problem::value_error("a key is 1 to 200 characters")));
        }
        out.insert(key.clone(), validation::text(v, 1, 500).map_err(at)?);
    }
    Ok(out)
}

/// A config of `provider_type`, every problem located below it (`["issuer"]`, `["scopes", 2]`).
/// OIDC: `issuer` and `client_id` required, `client_secret` write-only (absent: keep, `null`:
/// clear), `scopes` default `openid profile email`. SAML: `entity_id`, `sso_url` and
/// `x509_certificate` required (a SAML provider cannot sign anyone in without them),
/// `name_id_format` default `…:emailAddress`, no client secret.
pub fn parse_config(
    provider_type: ProviderType,
    value: &Value,
) -> std::result::Result<ParsedConfig, Vec<Problem>> {
    if let Err(problem) = validation::object(value) {
        return Err(vec![problem]);
    }
    let mut f = Fields::body(value.clone()).map_err(below_config)?;
    let parsed = match provider_type {
        ProviderType::Oidc => {
            let issuer = f.required("issuer", |v| https_url(v, true));
            let client_id = f.required("client_id", |v| validation::text(v, 1, 500));
            let secret = f.patch("client_secret", client_secret);
            let scopes = f.optional("scopes", shared::applications::rules::scopes);
            let claim_mappings = f.optional("claim_mappings", mappings);
            f.finish(|| {
                Some(ParsedConfig {
                    config: ProviderConfig::Oidc(OidcConfig {
                        issuer: issuer?,
                        client_id: client_id?,
                        scopes: scopes.unwrap_or_else(|| {
                            DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect()
                        }),
                        claim_mappings: claim_mappings.unwrap_or_default(),
                    }),
                    secret: match secret {
                        Patch::Keep => SecretChange::Keep,
                        Patch::Clear => SecretChange::Clear,
                        Patch::Set(s) => SecretChange::Set(s),
                    },
                })
            })
        }
        ProviderType::Saml => {
            let entity_id = f.required("entity_id", |v| validation::text(v, 1, 1000));
            let sso_url = f.required("sso_url", |v| https_url(v, false));
            let certificate = f.required("x509_certificate", certificate);
            let name_id_format = f.optional("name_id_format", |v| validation::text(v, 1, 500));
            let attribute_mappings = f.optional("attribute_mappings", mappings);
            f.forbid("client_secret", "SAML providers have no client secret");
            f.finish(|| {
                Some(ParsedConfig {
                    config: ProviderConfig::Saml(SamlConfig {
                        entity_id: entity_id?,
                        sso_url: sso_url?,
                        x509_certificate: certificate?,
                        name_id_format: name_id_format
                            .unwrap_or_else(|| DEFAULT_NAME_ID_FORMAT.to_owned()),
                        attribute_mappings: attribute_mappings.unwrap_or_default(),
                    }),
                    secret: SecretChange::Keep,
                })
            })
        }
    };
    parsed.map_err(below_config)
}

/// The problems of a nested `Fields` (located `["body", field, …]`) as problems below the
/// config (`[field, …]`).
fn below_config(err: Error) -> Vec<Problem> {
    match err {
        Error::Validation(problems) => problems
            .into_iter()
            .map(|p| Problem {
                kind: p.kind,
                msg: p.msg,
                below: p.loc.into_iter().skip(1).collect(),
            })
            .collect(),
        other => vec![Problem::value_error(other)],
    }
}

/// Problems below `config` as a 422 (for PATCH, where the config is parsed once the stored
/// provider type is known).
fn config_error(problems: Vec<Problem>) -> Error {
    Error::Validation(
        problems
            .into_iter()
            .map(|p| {
                let mut loc = vec![json!("body"), json!("config")];
                loc.extend(p.below);
                FieldProblem::new(loc, p.kind, p.msg)
            })
            .collect(),
    )
}

fn field_error(field: &str, msg: &str) -> Error {
    Error::Validation(vec![FieldProblem::new(
        vec![json!("body"), json!(field)],
        "value_error",
        format!("Value error, {msg}"),
    )])
}

/// An email domain: a DNS name of at least two labels, each 1 to 63 letters, digits or
/// hyphens (no leading or trailing hyphen; internationalised names as A-labels, `xn--…`), at
/// most 253 characters, not ending in an all-numeric label (not an IP address). Lower-cased.
fn domain(text: &str) -> std::result::Result<String, String> {
    let domain = text.trim().to_ascii_lowercase();
    let labels: Vec<&str> = domain.split('.').collect();
    let valid = domain.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|label| {
            (1..=63).contains(&label.len())
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
        && labels
            .last()
            .is_some_and(|tld| !tld.bytes().all(|b| b.is_ascii_digit()));
    if valid {
        Ok(domain)
    } else {
        Err("not a valid domain name (e.g. example.com)".into())
    }
}

/// The email domains routed to a provider: at most 50 valid DNS names, lower-cased, none twice.
pub fn domains(value: &Value) -> std::result::Result<Vec<String>, Problem> {
    let Value::Array(items) = value else {
        return Err(Problem::new("list_type", "Input should be a valid list"));
    };
    if items.len() > MAX_DOMAINS {
        return Err(Problem::new(
            "too_long",
            format!("List should have at most {MAX_DOMAINS} items"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = |mut problem: Problem| {
            problem.below.insert(0, json!(i));
            problem
        };
        let parsed = domain(validation::string(item).map_err(at)?)
            .map_err(|msg| at(Problem::value_error(msg)))?;
        if out.contains(&parsed) {
            return Err(at(Problem::value_error(format!(
                "{parsed} is listed twice"
            ))));
        }
        out.push(parsed);
    }
    Ok(out)
}

// ---- the resource ---------------------------------------------------------------------------

pub struct NewIdentityProvider {
    pub tenant_id: TenantId,
    pub name: Name,
    pub status: Status,
    pub domains: Vec<String>,
    pub jit_provisioning: bool,
    pub config: ProviderConfig,
    pub client_secret: Option<Secret>,
}

/// A partial update: only what is present changes. `config`, when present, replaces the
/// whole config object (fields it omits take their defaults again), except the client secret:
/// an absent `client_secret` keeps the stored one, `null` clears it, a value replaces it. It
/// is parsed against the stored provider type, which never changes (`provider_type` and
/// `tenant_id` may be sent only with the stored value, so a client may send back what it
/// read).
#[derive(Default)]
pub struct IdentityProviderPatch {
    pub name: Option<Name>,
    pub status: Option<Status>,
    pub domains: Option<Vec<String>>,
    pub jit_provisioning: Option<bool>,
    pub provider_type: Option<ProviderType>,
    /// Cannot change: accepted as read, else a 422.
    pub tenant_id: Fixed<TenantId>,
    pub config: Option<Value>,
}

#[derive(Default, Clone)]
pub struct IdentityProviderFilter {
    pub search: Option<String>,
    pub tenant_id: Option<TenantId>,
    pub provider_type: Option<ProviderType>,
}

/// What a provider looks like in an audit event's `changes`: the stored form without the
/// sealed secret, with `client_secret_set` instead.
pub(crate) fn audit_view(idp: &IdentityProvider) -> Value {
    let mut view = audit::snapshot(idp);
    if let Some(map) = view.as_object_mut() {
        map.remove("client_secret_sealed");
        map.insert("client_secret_set".into(), json!(idp.client_secret_set()));
    }
    view
}

/// Seals a client secret for provider `id` once per request (a retried write reuses it).
async fn sealed_secret(
    cell: &OnceCell<SealedSecret>,
    kek: Option<&Kek>,
    id: &IdentityProviderId,
    secret: &Secret,
) -> Result<SealedSecret> {
    cell.get_or_try_init(|| async {
        let Some(kek) = kek else {
            tracing::error!(
                idp = %id,
                "no key-encryption key configured (SCAIKEY_KMS_KEY_ID or SCAIKEY_LOCAL_KEK_FILE): \
                 a client secret is never stored unsealed, so the write is refused"
            );
            return Err(Error::internal(
                "no key-encryption key to seal a client secret",
            ));
        };
        match kek
            .seal_for(SECRET_PURPOSE, id.as_str(), secret.expose())
            .await
        {
            Ok(sealed) => Ok(SealedSecret::of(sealed)),
            Err(SealError::Unavailable(why)) => {
                tracing::error!(idp = %id, error = %why, "could not seal a client secret");
                Err(Error::Unavailable(StoreError::Unavailable(why)))
            }
            Err(err) => Err(Error::internal(format!(
                "could not seal a client secret: {err}"
            ))),
        }
    })
    .await
    .cloned()
}

/// What the tenant-owned tier rules (`shared::tenant_owned`) judge.
fn owned(idp: &IdentityProvider) -> shared::tenant_owned::Owned<'_> {
    shared::tenant_owned::Owned {
        id: idp.id.as_str(),
        tenant: &idp.tenant_id,
        partner_hint: &idp.partner_id,
        resource: RESOURCE,
    }
}

/// The tier rule for reads: the rule of the tenant the provider belongs to, judged by the
/// tenant's partner as it is now (read from the tenant for a partner admin; the provider's
/// `partner_id` is only a hint).
async fn within_reach(
    state: &AppState,
    principal: &Principal,
    idp: &IdentityProvider,
) -> Result<()> {
    shared::tenant_owned::within_reach(state, principal, owned(idp)).await
}

/// A write to a provider: within reach, or refused and recorded (DENIED). Returns the partner
/// the write assumes (its event is filed under it; its transaction checks the tenant still
/// belongs to it): a tenant admin's own, else the provider's hint; the tenant is read only on
/// a retry or before refusing on the hint.
async fn may_write(
    state: &AppState,
    principal: &Principal,
    idp: &IdentityProvider,
    action: AuditAction,
    meta: &RequestMeta,
    retry: bool,
) -> Result<PartnerId> {
    shared::tenant_owned::may_write(state, principal, owned(idp), action, meta, retry).await
}

/// A live provider within the caller's session check (one round trip).
async fn checked(
    state: &AppState,
    caller: &Caller,
    id: &IdentityProviderId,
) -> Result<(Principal, IdentityProvider)> {
    let key = keys::identity_provider(id);
    let (principal, loaded) = session::check(state, caller, std::slice::from_ref(&key)).await?;
    let idp: IdentityProvider = live(loaded.get(&key)?, RESOURCE)?;
    Ok((principal, idp))
}

fn event_for(
    principal: &Principal,
    action: AuditAction,
    idp: &IdentityProvider,
    partner: &PartnerId,
    meta: &RequestMeta,
) -> AuditEvent {
    AuditEvent::new(
        Actor::admin(principal),
        action,
        Some(idp.id.to_string()),
        meta,
    )
    .in_tenant(partner, &idp.tenant_id)
}

/// Creates a provider in a live tenant within reach, its domains claimed in the tenant, under
/// the partner the tenant has in the same transaction. A client secret is sealed under `kek`
/// first (none configured → 500, nothing stored).
pub async fn create(
    state: &AppState,
    caller: &Caller,
    new: NewIdentityProvider,
    kek: Option<&Kek>,
    meta: &RequestMeta,
) -> Result<IdentityProvider> {
    let id = IdentityProviderId::generate();
    let sealed = OnceCell::new();
    lifecycle::retry_stale("tenant", || {
        create_once(state, caller, &new, &id, kek, &sealed, meta)
    })
    .await
}

async fn create_once(
    state: &AppState,
    caller: &Caller,
    new: &NewIdentityProvider,
    id: &IdentityProviderId,
    kek: Option<&Kek>,
    sealed: &OnceCell<SealedSecret>,
    meta: &RequestMeta,
) -> Result<IdentityProvider> {
    let tenant_key = keys::tenant(&new.tenant_id);
    let (principal, loaded) =
        session::check(state, caller, std::slice::from_ref(&tenant_key)).await?;
    let attempt = || Attempt {
        action: CREATE,
        resource_id: None,
    };
    let tenant: Option<Tenant> = loaded.get(&tenant_key)?;
    let tenant = match tenant.filter(|t| !t.is_deleted()) {
        Some(t) => t,
        // An unknown tenant is outside every reach but the super admin's.
        None if principal.is_super() => return Err(Error::NotFound("Tenant")),
        None => {
            audit::check_write(state, &principal, Err(Error::AccessDenied), attempt(), meta)
                .await?;
            return Err(Error::AccessDenied);
        }
    };
    let verdict = access::tenants::read(&principal, &tenant.partner_id, &tenant.id);
    audit::check_write(state, &principal, verdict, attempt(), meta).await?;
    let client_secret_sealed = match &new.client_secret {
        Some(secret) => Some(sealed_secret(sealed, kek, id, secret).await?),
        None => None,
    };
    let now = Timestamp::now();
    let idp = IdentityProvider {
        id: id.clone(),
        tenant_id: tenant.id.clone(),
        partner_id: tenant.partner_id.clone(),
        name: new.name.as_str().to_owned(),
        provider_type: new.config.provider_type(),
        status: new.status,
        domains: new.domains.clone(),
        jit_provisioning: new.jit_provisioning,
        config: new.config.clone(),
        client_secret_sealed,
        created_at: now,
        updated_at: now,
        deleted_at: None,
        version: 1,
    };
    let event = event_for(&principal, CREATE, &idp, &tenant.partner_id, meta)
        .with_changes(&json!({}), &audit_view(&idp));
    match store::create(state.store(), &idp, &event).await {
        Ok(()) => Ok(idp),
        Err(err) => match err.refused_by() {
            Some(DOMAIN) => Err(Error::conflict(DOMAIN_TAKEN)),
            // Deleted or moved since the session check read it: the retry reads it again.
            Some(TENANT) => Err(Error::Stale),
            _ => Err(err.into()),
        },
    }
}

pub async fn get(
    state: &AppState,
    caller: &Caller,
    id: &IdentityProviderId,
) -> Result<IdentityProvider> {
    let (principal, idp) = checked(state, caller, id).await?;
    within_reach(state, &principal, &idp).await?;
    Ok(idp)
}

/// The next version of `before` under `patch` (its config parsed against the stored type),
/// and the secret to seal, if the patch sets one.
fn apply(
    before: &IdentityProvider,
    patch: &IdentityProviderPatch,
) -> Result<(IdentityProvider, Option<Secret>)> {
    if patch
        .provider_type
        .is_some_and(|t| t != before.provider_type)
    {
        return Err(field_error(
            "provider_type",
            "the provider type cannot be changed; create another identity provider",
        ));
    }
    validation::unchanged([patch.tenant_id.changed(Some(&before.tenant_id))])?;
    let mut next = before.clone();
    let mut new_secret = None;
    if let Some(raw) = &patch.config {
        let parsed = parse_config(before.provider_type, raw).map_err(config_error)?;
        next.config = parsed.config;
        match parsed.secret {
            SecretChange::Keep => {}
            SecretChange::Clear => next.client_secret_sealed = None,
            SecretChange::Set(secret) => new_secret = Some(secret),
        }
    }
    if let Some(name) = &patch.name {
        next.name = name.as_str().to_owned();
    }
    if let Some(status) = patch.status {
        next.status = status;
    }
    if let Some(domains) = &patch.domains {
        next.domains = domains.clone();
    }
    if let Some(jit) = patch.jit_provisioning {
        next.jit_provisioning = jit;
    }
    let (added, removed) = store::domain_moves(before, &next);
    if added.len() + removed.len() > MAX_ACTIONS - UPDATE_FIXED_ACTIONS {
        return Err(field_error(
            "domains",
            &format!(
                "at most {} domains may be added and removed in one update; change fewer at once",
                MAX_ACTIONS - UPDATE_FIXED_ACTIONS
            ),
        ));
    }
    Ok((next, new_secret))
}

pub async fn update(
    state: &AppState,
    caller: &Caller,
    id: &IdentityProviderId,
    patch: &IdentityProviderPatch,
    kek: Option<&Kek>,
    meta: &RequestMeta,
) -> Result<IdentityProvider> {
    let attempts = Attempts::default();
    let sealed = OnceCell::new();
    lifecycle::retry_stale("identity provider", || async {
        let (principal, before) = checked(state, caller, id).await?;
        let retry = attempts.next_is_retry();
        let partner = may_write(state, &principal, &before, UPDATE, meta, retry).await?;
        let (next, new_secret) = apply(&before, patch)?;
        let mut after = lifecycle::next_version(&before, next);
        after.partner_id = partner.clone();
        if let Some(secret) = &new_secret {
            after.client_secret_sealed = Some(sealed_secret(&sealed, kek, id, secret).await?);
        }
        let mut event = event_for(&principal, UPDATE, &after, &partner, meta)
            .with_changes(&audit_view(&before), &audit_view(&after));
        // A replaced secret is a change even when one was set before (never its value).
        if new_secret.is_some()
            && let Some(changes) = event.changes.as_mut()
        {
            changes.insert(
                "client_secret_set".into(),
                json!({"from": before.client_secret_set(), "to": true}),
            );
        }
        match store::update(state.store(), &before, &after, &event).await {
            Ok(()) => Ok(after),
            Err(err) if err.refused_by() == Some(DOMAIN) => Err(Error::conflict(DOMAIN_TAKEN)),
            Err(err) => Err(err.into()),
        }
    })
    .await
}

/// Soft-deletes a provider: it leaves lists and counts at once and its domains are free again
/// (providers have no restore).
pub async fn delete(
    state: &AppState,
    caller: &Caller,
    id: &IdentityProviderId,
    meta: &RequestMeta,
) -> Result<()> {
    let attempts = Attempts::default();
    lifecycle::retry_stale("identity provider", || async {
        let (principal, before) = checked(state, caller, id).await?;
        let retry = attempts.next_is_retry();
        let partner = may_write(state, &principal, &before, DELETE, meta, retry).await?;
        let (mut after, purge_at) = lifecycle::deleted(&before);
        after.partner_id = partner.clone();
        let event = event_for(&principal, DELETE, &before, &partner, meta);
        Ok(store::delete(state.store(), &before, &after, purge_at, &event).await?)
    })
    .await
}

/// List Identity Providers within the caller's reach, newest first (`shared::lists::TenantScopedList`).
pub async fn list(
    state: &AppState,
    caller: &Caller,
    filter: &IdentityProviderFilter,
    page: &PageRequest,
) -> Result<Page<IdentityProvider>> {
    let list = TenantScopedList {
        name: "identity_providers",
        tenant_filter: filter.tenant_id.as_ref(),
        partner_filter: None,
        of_tenant: keys::idps_of_tenant,
        tenant_counter: keys::idp_count_of_tenant,
        all: keys::ALL_IDPS,
        platform_counters: store::platform_count_keys(),
        equals: filter
            .provider_type
            .iter()
            .map(|t| ("provider_type", t.as_str().to_owned()))
            .collect(),
        contains: filter.search.as_ref().map(|s| s.to_lowercase()),
    };
    let (principal, loaded) = session::check(state, caller, &list.keys_to_check(caller)?).await?;
    list.page(state, &principal, &loaded, page).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem_locs(result: std::result::Result<ParsedConfig, Vec<Problem>>) -> Vec<Vec<Value>> {
        result
            .expect_err("refused")
            .into_iter()
            .map(|p| p.below)
            .collect()
    }

    #[test]
    fn domains_are_dns_names_lower_cased_and_listed_once() {
        assert_eq!(
            domains(&json!([
                " Acme.Example ",
                "xn--bcher-kva.example",
                "a-b.c0.io"
            ]))
            .unwrap(),
            vec!["acme.example", "xn--bcher-kva.example", "a-b.c0.io"]
        );
        for bad in [
            "localhost",
            "acme..example",
            "-acme.example",
            "acme-.example",
            "acme.example.",
            "10.0.0.1",
            "bücher.example",
            "a b.example",
            "*.acme.example",
            "user@acme.example",
        ] {
            assert!(domains(&json!([bad])).is_err(), "{bad}");
        }
        let twice = domains(&json!(["acme.example", "ACME.example"])).unwrap_err();
        assert_eq!(twice.below, vec![json!(1)]);
        let many: Vec<String> = (0..51).map(|i| format!("d{i}.example")).collect();
        assert_eq!(domains(&json!(many)).unwrap_err().kind, "too_long");
    }

    #[test]
    fn an_oidc_config_needs_an_https_issuer_and_a_client_id() {
        let parsed = parse_config(
            ProviderType::Oidc,
            &json!({"issuer": "https://login.acme.example", "client_id": "abc", "client_secret": "s3cret"}),
        )
        .unwrap();
        let ProviderConfig::Oidc(config) = parsed.config else {
            panic!("an OIDC config")
        };
        assert_eq!(config.scopes, vec!["openid", "profile", "email"]);
        assert!(matches!(parsed.secret, SecretChange::Set(_)));
        assert_eq!(
            problem_locs(parse_config(
                ProviderType::Oidc,
                &json!({"issuer": "http://login.acme.example"})
            )),
            vec![vec![json!("issuer")], vec![json!("client_id")]]
        );
        for bad in [
            "login.acme.example",
            "https://",
            "https://a.example/#x",
            "https://a.example/?q=1",
            "ftp://a.example",
        ] {
            assert!(
                parse_config(
                    ProviderType::Oidc,
                    &json!({"issuer": bad, "client_id": "c"})
                )
                .is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_secret_never_shows_in_debug_output() {
        let parsed = parse_config(
            ProviderType::Oidc,
            &json!({"issuer": "https://a.example", "client_id": "c", "client_secret": "hunter2"}),
        )
        .unwrap();
        assert!(!format!("{parsed:?}").contains("hunter2"));
    }

    #[test]
    fn a_saml_config_has_no_client_secret_and_a_real_certificate() {
        let problems = problem_locs(parse_config(
            ProviderType::Saml,
            &json!({"sso_url": "https://idp.example/sso", "x509_certificate": "not pem", "client_secret": "x"}),
        ));
        assert_eq!(
            problems,
            vec![
                vec![json!("entity_id")],
                vec![json!("x509_certificate")],
                vec![json!("client_secret")]
            ]
        );
        let garbage = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----";
        assert!(certificate(&json!(garbage)).is_err());
    }
}
