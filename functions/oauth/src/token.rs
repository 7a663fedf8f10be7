//! The `client_credentials` grant (RFC 6749 §4.4, SPEC §4.14): the request's form and client
//! authentication, the client's standing, scope down-selection, and the signed token.

use std::collections::HashMap;

use axum::http::HeaderMap;
use data_encoding::BASE64;
use shared::client_secret;
use shared::hierarchy::{AppScope, Application, Tenant};
use shared::ids::{ApplicationId, PartnerId, TenantId};
use shared::state::AppState;
use shared::store::keys;
use shared::time::Timestamp;
use shared::tokens::ClientClaims;
use shared::values::Status;

use crate::error::OAuthError;

/// The parameters of a token request, each at most once (RFC 6749 §3.2).
pub struct TokenRequest {
    params: HashMap<String, String>,
    /// Client credentials from HTTP Basic, if the client used it.
    basic: Option<(String, String)>,
}

impl TokenRequest {
    /// Reads an `application/x-www-form-urlencoded` body and the `Authorization` header.
    pub fn read(headers: &HeaderMap, body: &[u8]) -> Result<Self, OAuthError> {
        let form = headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                v.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !form {
            return Err(OAuthError::InvalidRequest(
                "the body must be application/x-www-form-urlencoded",
            ));
        }
        let mut params = HashMap::new();
        for (name, value) in url::form_urlencoded::parse(body) {
            // Empty values are omitted parameters (RFC 6749 §3.1).
            if value.is_empty() {
                continue;
            }
            if params
                .insert(name.into_owned(), value.into_owned())
                .is_some()
            {
                return Err(OAuthError::InvalidRequest("a parameter is repeated"));
            }
        }
        let basic = match headers.get(axum::http::header::AUTHORIZATION) {
            None => None,
            Some(value) => Some(
                basic_credentials(value.to_str().ok())
                    .ok_or(OAuthError::InvalidClient { basic: true })?,
            ),
        };
        Ok(Self { params, basic })
    }

    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// The client id and secret, from exactly one method.
    pub(crate) fn credentials(&self) -> Result<(&str, &str, bool), OAuthError> {
        match (
            &self.basic,
            self.param("client_id"),
            self.param("client_secret"),
        ) {
            (Some(_), _, Some(_)) => Err(OAuthError::InvalidRequest(
                "use one client authentication method, not two",
            )),
            (Some((id, secret)), form_id, None) => {
                if form_id.is_some_and(|f| f != id) {
                    return Err(OAuthError::InvalidRequest(
                        "client_id differs from the authenticated client",
                    ));
                }
                Ok((id, secret, true))
            }
            (None, Some(id), Some(secret)) => Ok((id, secret, false)),
            _ => Err(OAuthError::InvalidClient { basic: false }),
        }
    }
}

impl TokenRequest {
    /// The client: its id and, for a confidential client, its secret — from exactly one method.
    /// A public client (SPA, NATIVE) names itself with the `client_id` field alone (RFC 6749
    /// §2.3, §3.2.1).
    pub(crate) fn client(&self) -> Result<(&str, Option<&str>, bool), OAuthError> {
        match (
            &self.basic,
            self.param("client_id"),
            self.param("client_secret"),
        ) {
            (None, Some(id), None) => Ok((id, None, false)),
            _ => self
                .credentials()
                .map(|(id, secret, basic)| (id, Some(secret), basic)),
        }
    }
}

/// Authenticates a client of the sign-in at the token, revocation or introspection endpoint:
/// live, ACTIVE and serving `tenant`; a confidential one with its (current or, within the
/// grace period, previous) secret, a public one with none. Anything else is `invalid_client`.
pub async fn authenticate(
    state: &AppState,
    app: Option<Application>,
    tenant: &Tenant,
    secret: Option<&str>,
    basic: bool,
) -> Result<Application, OAuthError> {
    let app = app.filter(|a| shared::sign_in::serves(a, tenant));
    authenticate_served(state, app, secret, basic).await
}

/// [`authenticate`] of a client the caller has found serving where it asks (or `None`).
pub async fn authenticate_served(
    state: &AppState,
    app: Option<Application>,
    secret: Option<&str>,
    basic: bool,
) -> Result<Application, OAuthError> {
    let refused = || OAuthError::InvalidClient { basic };
    let app = app
        .filter(|a| a.status == Status::Active)
        .ok_or_else(refused)?;
    let authenticated = match (app.application_type.is_confidential(), secret) {
        (true, Some(secret)) => secret_holds(state, &app, secret).await?,
        (false, None) => true,
        _ => false,
    };
    if authenticated {
        Ok(app)
    } else {
        Err(refused())
    }
}

/// `Basic base64(urlencoded id ":" urlencoded secret)` (RFC 6749 §2.3.1).
fn basic_credentials(value: Option<&str>) -> Option<(String, String)> {
    let (scheme, encoded) = value?.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = BASE64.decode(encoded.trim().as_bytes()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?))
}

/// Where a token is asked for: the platform, or one tenant's endpoint.
pub enum Issuer {
    Platform,
    /// A tenant's endpoint: the tenant, its partner (whose PARTNER apps answer there too) and
    /// its slug (its issuer's name).
    Tenant {
        id: TenantId,
        partner: PartnerId,
        slug: String,
    },
}

impl Issuer {
    pub fn tenant(tenant: Tenant) -> Self {
        Self::Tenant {
            id: tenant.id,
            partner: tenant.partner_id,
            slug: tenant.slug,
        }
    }

    /// The `iss` of its tokens: the platform issuer, or the tenant's (SPEC §6.1).
    pub fn name(&self, config: &shared::config::Config) -> String {
        match self {
            Self::Platform => config.token_issuer.clone(),
            Self::Tenant { slug, .. } => config.tenant_issuer(slug),
        }
    }
}

/// What the endpoint answers.
pub struct Granted {
    pub access_token: String,
    pub expires_in: u32,
    pub scope: String,
    /// Token exchange only (RFC 8693 §2.2.1).
    pub issued_token_type: Option<&'static str>,
}

/// An active tenant by its slug (two reads: the slug claim, then the tenant); 404 otherwise.
pub async fn tenant_by_slug(state: &AppState, slug: &str) -> Result<Tenant, OAuthError> {
    tenant_holding_slug(state, slug)
        .await?
        .filter(|t| t.status == Status::Active)
        .ok_or(OAuthError::UnknownTenant)
}

/// The tenant of `slug` (whatever its status) and its partner, read in one batch with `keys`
/// when this instance knows where the slug points (checked against what the batch reads: the
/// tenant still holds the slug and the partner); else the slug's claim first (two more reads),
/// remembered. `None`: no tenant holds the slug.
pub async fn with_tenant(
    state: &AppState,
    slug: &str,
    keys: &[shared::store::Key],
) -> Result<Option<(Tenant, shared::store::Loaded)>, OAuthError> {
    let slug = match shared::values::Slug::parse_str(&slug.to_lowercase()) {
        Ok(slug) => slug.as_str().to_owned(),
        Err(_) => return Ok(None),
    };
    if let Some((tenant_id, partner_id)) = state.slugs().get(&slug) {
        let mut wanted = keys.to_vec();
        wanted.push(keys::tenant(&tenant_id));
        wanted.push(keys::partner(&partner_id));
        let loaded = state.store().load(&wanted).await?;
        let tenant: Option<Tenant> = loaded.get(&keys::tenant(&tenant_id))?;
        match tenant {
            Some(t) if t.slug == slug && t.partner_id == partner_id => {
                return Ok(Some((t, loaded)));
            }
            _ => state.slugs().forget(&slug),
        }
    }
    let Some(tenant) = tenant_holding_slug(state, &slug).await? else {
        return Ok(None);
    };
    state.slugs().record(&tenant);
    let mut wanted = keys.to_vec();
    wanted.push(keys::partner(&tenant.partner_id));
    let loaded = state.store().load(&wanted).await?;
    Ok(Some((tenant, loaded)))
}

/// The tenant holding a slug, whatever its status (a suspended tenant's token endpoint refuses
/// its clients rather than answering 404); 404 for a slug nobody holds.
pub async fn tenant_holding_slug(
    state: &AppState,
    slug: &str,
) -> Result<Option<Tenant>, OAuthError> {
    // Only a well-formed slug can name a tenant: anything else (3,000 characters, say) is not
    // found, before it is ever made into a key.
    let slug = shared::values::Slug::parse_str(&slug.to_lowercase())
        .map_err(|_| OAuthError::UnknownTenant)?;
    let marker = keys::tenant_slug(slug.as_str());
    let loaded = state.store().load(std::slice::from_ref(&marker)).await?;
    let owner: Option<serde_json::Value> = loaded.get(&marker)?;
    let id = owner
        .as_ref()
        .and_then(|m| m.get("owner_id"))
        .and_then(|v| v.as_str())
        .and_then(|id| TenantId::parse(id).ok())
        .ok_or(OAuthError::UnknownTenant)?;
    let key = keys::tenant(&id);
    let loaded = state.store().load(std::slice::from_ref(&key)).await?;
    Ok(loaded.get(&key)?)
}

/// Whether the partner read in `loaded` is live and ACTIVE.
pub fn partner_is_active(
    loaded: &shared::store::Loaded,
    partner: &PartnerId,
) -> Result<bool, OAuthError> {
    Ok(loaded
        .get::<shared::hierarchy::Partner>(&keys::partner(partner))?
        .is_some_and(|p| p.status == Status::Active))
}

/// Whether `secret` is the client's current secret, or its previous one within the rotation's
/// grace period.
async fn secret_holds(
    state: &AppState,
    app: &Application,
    secret: &str,
) -> Result<bool, OAuthError> {
    if let Some(current) = &app.secret_hash
        && client_secret::matches(state, secret, current).await?
    {
        return Ok(true);
    }
    match (&app.previous_secret_hash, app.previous_secret_expires_at) {
        (Some(previous), Some(until)) if until > Timestamp::now() => {
            Ok(client_secret::matches(state, secret, previous).await?)
        }
        _ => Ok(false),
    }
}

/// The `client_credentials` grant at `issuer`: one read of the client; its secret checked
/// against the keyed hash; the scopes asked for within its `allowed_scopes` (none asked: all of
/// them); a token signed with the key that signs now.
pub async fn grant(
    state: &AppState,
    issuer: &Issuer,
    request: &TokenRequest,
) -> Result<Granted, OAuthError> {
    let (client_id, secret, basic) = request.credentials()?;
    let refused = || OAuthError::InvalidClient { basic };
    match request.param("grant_type") {
        None => return Err(OAuthError::InvalidRequest("grant_type is required")),
        Some("client_credentials") => {}
        Some(_) => return Err(OAuthError::UnsupportedGrantType),
    }
    let id = ApplicationId::parse(client_id).map_err(|_| refused())?;
    let key = keys::application(&id);
    // At a tenant's endpoint, the tenant's partner is read with the client: a suspended or
    // deleted partner's tenants issue nothing (SPEC §4.14).
    let mut wanted = vec![key.clone()];
    if let Issuer::Tenant { partner, .. } = issuer {
        wanted.push(keys::partner(partner));
    }
    // A key revoked since this instance read the key set does not sign this token.
    let mark = state.keys().signing_revocation_mark().await;
    wanted.extend(mark.clone());
    let loaded = state.store().load(&wanted).await?;
    if let Issuer::Tenant { partner, .. } = issuer
        && !partner_is_active(&loaded, partner)?
    {
        return Err(refused());
    }
    let app: Option<Application> = loaded.get(&key)?;
    let Some(app) = app.filter(|a| a.status == Status::Active) else {
        return Err(refused());
    };
    if !app.application_type.is_confidential() || !secret_holds(state, &app, secret).await? {
        return Err(refused());
    }
    // A client answers only at its own issuer: GLOBAL apps at the platform, TENANT apps at
    // their tenant, PARTNER apps at each of their partner's tenants.
    let here = match (issuer, app.scope) {
        (Issuer::Platform, AppScope::Global) => true,
        (Issuer::Tenant { id, .. }, AppScope::Tenant) => app.tenant_id.as_ref() == Some(id),
        (Issuer::Tenant { partner, .. }, AppScope::Partner) => {
            app.partner_id.as_ref() == Some(partner)
        }
        _ => false,
    };
    if !here {
        return Err(refused());
    }
    if !app.allows_grant("client_credentials") {
        return Err(OAuthError::UnauthorizedClient(
            "this client may not use client_credentials",
        ));
    }
    let scope = match request.param("scope") {
        None => app.allowed_scopes.clone(),
        Some(asked) => {
            let mut granted: Vec<String> = Vec::new();
            for name in asked.split(' ').filter(|s| !s.is_empty()) {
                if !app.allowed_scopes.iter().any(|a| a == name) {
                    return Err(OAuthError::InvalidScope);
                }
                if !granted.iter().any(|g| g == name) {
                    granted.push(name.to_owned());
                }
            }
            granted
        }
    };
    let scope = scope.join(" ");
    let now = Timestamp::now().unix();
    let config = state.config();
    let claims = ClientClaims {
        iss: issuer.name(config),
        // A platform token is for the admin API; a tenant client's token names its client
        // (SPEC §6.1: a tenant's tokens never verify as another's, nor as an admin's).
        aud: match issuer {
            Issuer::Platform => config.token_audience.clone(),
            Issuer::Tenant { .. } => app.id.to_string(),
        },
        sub: app.id.to_string(),
        client_id: app.id.to_string(),
        scope: scope.clone(),
        app_scope: app.scope.as_str().to_owned(),
        platform_token: app.scope == AppScope::Global,
        token_type: "client_credentials".into(),
        tenant_id: match issuer {
            Issuer::Tenant { id, .. } => Some(id.clone()),
            Issuer::Platform => None,
        },
        iat: now,
        nbf: now,
        exp: now + i64::from(app.token_lifetime),
        jti: shared::secrets::random_token(),
    };
    let access_token = state
        .keys()
        .sign_unless_revoked(&claims, mark.as_ref(), &loaded)
        .await?;
    Ok(Granted {
        access_token,
        expires_in: app.token_lifetime,
        scope,
        issued_token_type: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        let header = format!("Basic {}", BASE64.encode(b"app_x:s%3Acret+1"));
        assert_eq!(
            basic_credentials(Some(&header)),
            Some(("app_x".into(), "s:cret 1".into()))
        );
        assert_eq!(basic_credentials(Some("Bearer abc")), None);
        assert_eq!(basic_credentials(Some("Basic !!!")), None);
        let no_colon = format!("Basic {}", BASE64.encode(b"app_x"));
        assert_eq!(basic_credentials(Some(&no_colon)), None);
    }
}
