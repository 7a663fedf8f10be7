//! Platform and tenant OAuth (SPEC §4.14): the `client_credentials` token endpoints, OpenID
//! discovery and the tenant JWKS. A GLOBAL application's token is a platform token, accepted on
//! the admin API within its scopes (`shared::session`); a TENANT or PARTNER application's is
//! issued at its tenant's endpoint and refused by the admin API.
//!
//! `token` (the grant), `error` (RFC 6749 error bodies). The platform JWKS is admin-auth's
//! (`/api/v1/platform/.well-known/jwks.json`); one key set signs every token of a deployment.

pub mod agent;
mod error;
pub mod token;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{Value, json};
use shared::AppState;
use utoipa::{OpenApi, ToSchema};

pub use error::OAuthError;
use token::{Issuer, TokenRequest};

const PLATFORM_TOKEN: &str = "/api/v1/platform/oauth/token";
const PLATFORM_DISCOVERY: &str = "/api/v1/platform/oauth/.well-known/openid-configuration";
const PLATFORM_JWKS: &str = "/api/v1/platform/.well-known/jwks.json";
const TENANT_BASE: &str = "/api/v1/auth/tenants";

/// The scopes a platform token may carry (SPEC §3.1); other names are the clients' own.
const PLATFORM_SCOPES: [&str; 4] = ["admin:read", "admin:write", "users:read", "groups:read"];

/// What nobody else needs: audit actions (token grants are not audited one by one; see README).
pub const ACTIONS: &[shared::audit::AuditAction] = &[];

#[derive(OpenApi)]
#[openapi(paths(
    platform_token,
    tenant_token,
    platform_discovery,
    tenant_discovery,
    tenant_jwks
))]
pub struct OAuthApi;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(PLATFORM_TOKEN, post(platform_token))
        .route(PLATFORM_DISCOVERY, get(platform_discovery))
        .route(
            &format!("{TENANT_BASE}/{{tenant_slug}}/oauth/token"),
            post(tenant_token),
        )
        .route(
            &format!("{TENANT_BASE}/{{tenant_slug}}/.well-known/openid-configuration"),
            get(tenant_discovery),
        )
        .route(
            &format!("{TENANT_BASE}/{{tenant_slug}}/.well-known/jwks.json"),
            get(tenant_jwks),
        )
}

pub fn router(state: AppState) -> Router {
    shared::http::finish(routes(), state)
}

/// A token request (`application/x-www-form-urlencoded`). The client authenticates with HTTP
/// Basic or with `client_id` and `client_secret` here — one of the two.
#[derive(ToSchema)]
#[allow(dead_code)] // The schema of the form; `TokenRequest` reads it.
struct TokenForm {
    /// `client_credentials`; at a tenant's endpoint, agents allowed it may also use
    /// `urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693).
    grant_type: String,
    /// Space-separated; a subset of the client's `allowed_scopes` (default: all of them).
    scope: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    /// Token exchange: an admin access token of a user of the agent's tenant.
    subject_token: Option<String>,
    /// Token exchange: `urn:ietf:params:oauth:token-type:access_token`.
    subject_token_type: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct TokenResponse {
    access_token: String,
    /// `Bearer`.
    token_type: &'static str,
    expires_in: u32,
    scope: String,
    /// Token exchange only: `urn:ietf:params:oauth:token-type:access_token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    issued_token_type: Option<&'static str>,
}

/// RFC 6749 §5.2.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // The schema of `OAuthError`'s body.
struct OAuthErrorBody {
    /// `invalid_request`, `invalid_client`, `invalid_grant`, `unauthorized_client`,
    /// `unsupported_grant_type`, `invalid_scope`, `slow_down` (429: an agent's rate limit),
    /// `temporarily_unavailable` or `server_error`.
    error: String,
    error_description: Option<String>,
}

fn granted(grant: token::Granted) -> Response {
    let mut response = Json(TokenResponse {
        access_token: grant.access_token,
        token_type: "Bearer",
        expires_in: grant.expires_in,
        scope: grant.scope,
        issued_token_type: grant.issued_token_type,
    })
    .into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// Platform Token: `client_credentials` for GLOBAL confidential applications; the token is a
/// platform token (`platform_token: true`), accepted on the admin API within its scopes. Never
/// a refresh token. 200; 400 `invalid_request` / `unauthorized_client` /
/// `unsupported_grant_type` / `invalid_scope`; 401 `invalid_client`; 503.
#[utoipa::path(post, path = "/api/v1/platform/oauth/token", operation_id = "platform_token", summary = "Platform Token", tag = "OAuth",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = TokenResponse), (status = 400, body = OAuthErrorBody), (status = 401, body = OAuthErrorBody), (status = 503, body = OAuthErrorBody)),
    security((), ("client_basic" = [])))]
async fn platform_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = async {
        let request = TokenRequest::read(&headers, &body)?;
        token::grant(&state, &Issuer::Platform, &request).await
    }
    .await;
    match result {
        Ok(grant) => granted(grant),
        Err(err) => err.into_response(),
    }
}

/// Tenant Token: `client_credentials` for the tenant's TENANT applications and its partner's
/// PARTNER applications (their tokens carry `tenant_id` and are refused by the admin API), and
/// for the tenant's agents (`client_id` = the agent id): `client_credentials` (claims `sub` =
/// the agent, `scope`, `tools`, `rate_limit_rpm`, `tenant_id`) or, when the agent has
/// `token_exchange_allowed`, RFC 8693 token exchange of a user's admin access token of the
/// tenant (`sub` = the user, `act.sub` = the agent). An agent with `rate_limit_rpm` gets at
/// most that many tokens per minute across all instances: beyond, 429 `slow_down` with
/// `Retry-After`. 200; 400 (also `invalid_grant`); 401; 404 no active tenant with this slug;
/// 429; 503.
#[utoipa::path(post, path = "/api/v1/auth/tenants/{tenant_slug}/oauth/token", operation_id = "tenant_token", summary = "Tenant Token", tag = "OAuth",
    params(("tenant_slug" = String, Path, description = "The tenant's slug")),
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = TokenResponse), (status = 400, body = OAuthErrorBody), (status = 401, body = OAuthErrorBody), (status = 404, body = OAuthErrorBody), (status = 429, body = OAuthErrorBody), (status = 503, body = OAuthErrorBody)),
    security((), ("client_basic" = [])))]
async fn tenant_token(
    State(state): State<AppState>,
    Path(tenant_slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = async {
        let request = TokenRequest::read(&headers, &body)?;
        let tenant = token::tenant_holding_slug(&state, &tenant_slug).await?;
        let (client_id, secret, basic) = request.credentials()?;
        // A slug nobody holds is 404; a suspended or deleted tenant issues nothing: its
        // clients are refused as any client would be (SPEC §4.14).
        let tenant = match tenant {
            None => return Err(OAuthError::UnknownTenant),
            Some(t) if t.status != shared::values::Status::Active => {
                return Err(OAuthError::InvalidClient { basic });
            }
            Some(t) => t,
        };
        if client_id.starts_with(shared::ids::AgentId::PREFIX) {
            // The agent and the tenant's partner in one batch: a suspended or deleted
            // partner's agents get nothing.
            let agent = shared::ids::AgentId::parse(client_id).ok();
            let mut wanted: Vec<_> = agent.iter().map(shared::store::keys::agent).collect();
            wanted.push(shared::store::keys::partner(&tenant.partner_id));
            let mark = state.keys().signing_revocation_mark().await;
            wanted.extend(mark.clone());
            let loaded = state.store().load(&wanted).await?;
            if !token::partner_is_active(&loaded, &tenant.partner_id)? {
                return Err(OAuthError::InvalidClient { basic });
            }
            let stored = match &agent {
                Some(id) => loaded.get(&shared::store::keys::agent(id))?,
                None => None,
            };
            let client = agent::Client {
                stored,
                secret,
                basic,
                revocation: (mark, loaded),
            };
            return agent::grant(&state, &tenant, &request, client).await;
        }
        token::grant(&state, &Issuer::tenant(tenant), &request).await
    }
    .await;
    match result {
        Ok(grant) => granted(grant),
        Err(err) => err.into_response(),
    }
}

/// The public base URL of this API, from the request: `Host`, and `X-Forwarded-Proto` (API
/// Gateway sets it) or `http` for a loopback host, else `https`.
fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
        })
        .unwrap_or("localhost");
    let forwarded = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .filter(|p| *p == "http" || *p == "https");
    let loopback = ["localhost", "127.0.0.1", "[::1]"]
        .iter()
        .any(|l| host == *l || host.starts_with(&format!("{l}:")));
    let scheme = forwarded.unwrap_or(if loopback { "http" } else { "https" });
    format!("{scheme}://{host}")
}

/// The discovery document. Its signing algorithms are those of the key set the JWKS publishes
/// (RS256, ES256, or both while a deployment switches: `SCAIKEY_SIGNING_ALGORITHM`, then a
/// rotation).
async fn discovery(state: &AppState, base: &str, token_path: &str, jwks_path: &str) -> Value {
    let algorithms: Vec<&str> = state
        .keys()
        .algorithms()
        .await
        .into_iter()
        .map(|a| a.as_str())
        .collect();
    json!({
        "issuer": state.keys().issuer(),
        "token_endpoint": format!("{base}{token_path}"),
        "jwks_uri": format!("{base}{jwks_path}"),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algorithms,
        "token_endpoint_auth_signing_alg_values_supported": algorithms,
        "scopes_supported": PLATFORM_SCOPES,
        "claims_supported": ["iss", "aud", "sub", "client_id", "scope", "app_scope", "platform_token", "token_type", "tenant_id", "iat", "nbf", "exp", "jti"],
    })
}

/// Platform OpenID Configuration: issuer, token endpoint, JWKS, grants, scopes and algorithms.
/// 200.
#[utoipa::path(get, path = "/api/v1/platform/oauth/.well-known/openid-configuration", operation_id = "platform_openid_configuration", summary = "Platform OpenID Configuration", tag = "OAuth",
    responses((status = 200, body = Object)), security(()))]
async fn platform_discovery(State(state): State<AppState>, headers: HeaderMap) -> Json<Value> {
    Json(discovery(&state, &base_url(&headers), PLATFORM_TOKEN, PLATFORM_JWKS).await)
}

/// Tenant OpenID Configuration. 200; 404 no active tenant with this slug.
#[utoipa::path(get, path = "/api/v1/auth/tenants/{tenant_slug}/.well-known/openid-configuration", operation_id = "tenant_openid_configuration", summary = "Tenant OpenID Configuration", tag = "OAuth",
    params(("tenant_slug" = String, Path, description = "The tenant's slug")),
    responses((status = 200, body = Object), (status = 404, body = OAuthErrorBody), (status = 503, body = OAuthErrorBody)), security(()))]
async fn tenant_discovery(
    State(state): State<AppState>,
    Path(tenant_slug): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, OAuthError> {
    let tenant = token::tenant_by_slug(&state, &tenant_slug).await?;
    let base = format!("{TENANT_BASE}/{}", tenant.slug);
    let mut document = discovery(
        &state,
        &base_url(&headers),
        &format!("{base}/oauth/token"),
        &format!("{base}/.well-known/jwks.json"),
    )
    .await;
    document["scopes_supported"] = json!([]);
    Ok(Json(document))
}

/// Tenant JWKS: the public keys that verify the tenant's tokens (the deployment's key set), each
/// with its own `kty` and `alg` (`RSA`/RS256: `n`, `e`; `EC`/ES256: `crv` P-256, `x`, `y`).
/// 200; 404 no active tenant with this slug.
#[utoipa::path(get, path = "/api/v1/auth/tenants/{tenant_slug}/.well-known/jwks.json", operation_id = "tenant_jwks", summary = "Tenant JWKS", tag = "OAuth",
    params(("tenant_slug" = String, Path, description = "The tenant's slug")),
    responses((status = 200, body = Object), (status = 404, body = OAuthErrorBody), (status = 503, body = OAuthErrorBody)), security(()))]
async fn tenant_jwks(
    State(state): State<AppState>,
    Path(tenant_slug): Path<String>,
) -> Result<Json<Value>, OAuthError> {
    token::tenant_by_slug(&state, &tenant_slug).await?;
    Ok(Json(state.keys().jwks().await))
}
