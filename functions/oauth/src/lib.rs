//! Platform and tenant OAuth (SPEC §4.14): the `client_credentials` token endpoints, OpenID
//! discovery and the tenant JWKS. A GLOBAL application's token is a platform token, accepted on
//! the admin API within its scopes (`shared::session`); a TENANT or PARTNER application's is
//! issued at its tenant's endpoint and refused by the admin API.
//!
//! `token` (the grant), `error` (RFC 6749 error bodies). The platform JWKS is admin-auth's
//! (`/api/v1/platform/.well-known/jwks.json`); one key set signs every token of a deployment.

pub mod agent;
mod cors;
mod error;
pub mod exchange;
pub mod token;
pub mod user_tokens;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{Value, json};
use shared::AppState;
use shared::audit::RequestMeta;
use utoipa::{OpenApi, ToSchema};

pub use error::OAuthError;
use token::{Issuer, TokenRequest};
use user_tokens::{At, Realm};

const PLATFORM_TOKEN: &str = "/api/v1/platform/oauth/token";
const PLATFORM_DISCOVERY: &str = "/api/v1/platform/oauth/.well-known/openid-configuration";
const PLATFORM_JWKS: &str = "/api/v1/platform/.well-known/jwks.json";
const PLATFORM_USERINFO: &str = "/api/v1/platform/oauth/userinfo";
const PLATFORM_REVOKE: &str = "/api/v1/platform/oauth/revoke";
const PLATFORM_INTROSPECT: &str = "/api/v1/platform/oauth/introspect";
/// The platform's logout, served by the sign-in function (listed in discovery here).
const PLATFORM_LOGOUT: &str = "/api/v1/platform/oauth/logout";
/// The platform's authorize, served by the sign-in function (listed in discovery here).
const PLATFORM_AUTHORIZE: &str = "/api/v1/platform/oauth/authorize";
const TENANT_BASE: &str = "/api/v1/auth/tenants";

/// The scopes a platform token may carry (SPEC §3.1); other names are the clients' own.
const PLATFORM_SCOPES: [&str; 4] = ["admin:read", "admin:write", "users:read", "groups:read"];

/// Token grants are not audited one by one (see README); a code or refresh token used twice is.
pub const ACTIONS: &[shared::audit::AuditAction] = &[user_tokens::TOKEN_REUSE];

#[derive(OpenApi)]
#[openapi(paths(
    platform_token,
    platform_userinfo,
    platform_userinfo_post,
    platform_revoke,
    platform_introspect,
    tenant_token,
    tenant_userinfo,
    tenant_userinfo_post,
    tenant_revoke,
    tenant_introspect,
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
            PLATFORM_USERINFO,
            get(platform_userinfo).post(platform_userinfo_post),
        )
        .route(PLATFORM_REVOKE, post(platform_revoke))
        .route(PLATFORM_INTROSPECT, post(platform_introspect))
        .route(
            &format!("{TENANT_BASE}/{{tenant_slug}}/oauth/token"),
            post(tenant_token),
        )
        .route(
            &format!("{TENANT_BASE}/{{tenant_slug}}/oauth/userinfo"),
            get(tenant_userinfo).post(tenant_userinfo_post),
        )
        .route(
            &format!("{TENANT_BASE}/{{tenant_slug}}/oauth/revoke"),
            post(tenant_revoke),
        )
        .route(
            &format!("{TENANT_BASE}/{{tenant_slug}}/oauth/introspect"),
            post(tenant_introspect),
        )
        .route(
            &format!("{TENANT_BASE}/{{tenant_slug}}/.well-known/openid-configuration"),
            get(tenant_discovery),
        )
        .route(
            &format!("{TENANT_BASE}/{{tenant_slug}}/.well-known/jwks.json"),
            get(tenant_jwks),
        )
        .layer(axum::middleware::from_fn(cors::allow_any_origin))
}

pub fn router(state: AppState) -> Router {
    shared::http::finish(routes(), state)
}

/// A token request (`application/x-www-form-urlencoded`). The client authenticates with HTTP
/// Basic or with `client_id` and `client_secret` here — one of the two; a public client (SPA,
/// NATIVE) sends only `client_id`.
#[derive(ToSchema)]
#[allow(dead_code)] // The schema of the form; `TokenRequest` reads it.
struct TokenForm {
    grant_type: GrantTypeName,
    /// Space-separated; a subset of the client's `allowed_scopes` (default: all of them; a token
    /// exchange's also within the subject token's).
    scope: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    /// `authorization_code`: the code the authorize redirect carried.
    code: Option<String>,
    /// `authorization_code`: the authorize request's `redirect_uri`, exactly.
    redirect_uri: Option<String>,
    /// `authorization_code`: the PKCE verifier (RFC 7636) of the authorize request's challenge.
    code_verifier: Option<String>,
    /// `refresh_token`: the refresh token (rotated: the answer carries the next one).
    refresh_token: Option<String>,
    /// Token exchange: a user's access token of this tenant (or, for an agent, a user's admin
    /// access token of the agent's tenant).
    subject_token: Option<String>,
    /// Token exchange: `urn:ietf:params:oauth:token-type:access_token`.
    subject_token_type: Option<String>,
}

/// The grant types a token endpoint knows: the platform's takes all but token exchange.
#[derive(ToSchema)]
#[allow(dead_code)] // A schema only.
enum GrantTypeName {
    #[schema(rename = "authorization_code")]
    AuthorizationCode,
    #[schema(rename = "refresh_token")]
    RefreshToken,
    #[schema(rename = "client_credentials")]
    ClientCredentials,
    #[schema(rename = "urn:ietf:params:oauth:grant-type:token-exchange")]
    TokenExchange,
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
/// a refresh token. And the sign-in grants of GLOBAL applications, whose users signed in at the
/// platform's issuer: `authorization_code` and `refresh_token`, as at a tenant's endpoint, their
/// tokens of the platform's issuer (`tenant_id` says which tenant signed in; refused by the
/// admin API). 200; 400 `invalid_request` / `unauthorized_client` /
/// `unsupported_grant_type` / `invalid_scope`; 401 `invalid_client`; 503.
#[utoipa::path(post, path = "/api/v1/platform/oauth/token", operation_id = "platform_token", summary = "Platform Token", tag = "OAuth",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = TokenResponse), (status = 400, body = OAuthErrorBody), (status = 401, body = OAuthErrorBody), (status = 503, body = OAuthErrorBody)),
    security((), ("client_basic" = [])))]
async fn platform_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    meta: RequestMeta,
    body: Bytes,
) -> Response {
    let result = async {
        let request = TokenRequest::read(&headers, &body)?;
        // The sign-in of GLOBAL applications: their users' grants (SPEC §6.1).
        match request.param("grant_type") {
            Some("authorization_code") => {
                let grant =
                    user_tokens::exchange_code(&state, Realm::Platform, &request, &meta).await?;
                return Ok(user_granted(grant));
            }
            Some("refresh_token") => {
                let grant = user_tokens::refresh(&state, Realm::Platform, &request, &meta).await?;
                return Ok(user_granted(grant));
            }
            _ => {}
        }
        token::grant(&state, &Issuer::Platform, &request)
            .await
            .map(granted)
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// Tenant Token: the tenant's users' sign-in grants — `authorization_code` (with PKCE; public
/// SPA and NATIVE clients send `client_id` and `code_verifier`, confidential ones authenticate)
/// and `refresh_token` (rotated on every use; a reused one revokes its grant) — answered with
/// `access_token`, `id_token` (scope `openid`), `refresh_token` (WEB and NATIVE apps, or
/// `offline_access`). And `client_credentials` for the tenant's TENANT applications and its
/// partner's PARTNER applications (their tokens carry `tenant_id` and are refused by the admin
/// API), and for the tenant's agents (`client_id` = the agent id): `client_credentials` (claims
/// `sub` = the agent, `scope`, `tools`, `rate_limit_rpm`, `tenant_id`) or, when the agent has
/// `token_exchange_allowed`, RFC 8693 token exchange of a user's access token (or admin access
/// token) of the tenant (`sub` = the user, `act.sub` = the agent). Confidential applications
/// with `token_exchange_allowed` exchange a user's access token of this tenant the same way
/// (`aud` = `act.sub` = the application; scopes within both; never outliving the subject, and
/// ending with its session). An agent with `rate_limit_rpm` gets at
/// most that many tokens per minute across all instances: beyond, 429 `slow_down` with
/// `Retry-After`. Every token's `iss` is the tenant's issuer and its `aud` the client. 200; 400
/// (also `invalid_grant`); 401; 404 no tenant with this slug; 429; 503.
#[utoipa::path(post, path = "/api/v1/auth/tenants/{tenant_slug}/oauth/token", operation_id = "tenant_token", summary = "Tenant Token", tag = "OAuth",
    params(("tenant_slug" = String, Path, description = "The tenant's slug")),
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = TokenResponse), (status = 400, body = OAuthErrorBody), (status = 401, body = OAuthErrorBody), (status = 404, body = OAuthErrorBody), (status = 429, body = OAuthErrorBody), (status = 503, body = OAuthErrorBody)),
    security((), ("client_basic" = [])))]
async fn tenant_token(
    State(state): State<AppState>,
    Path(tenant_slug): Path<String>,
    headers: HeaderMap,
    meta: RequestMeta,
    body: Bytes,
) -> Response {
    let result = async {
        let request = TokenRequest::read(&headers, &body)?;
        // A user's grants read the tenant in their own batch (one round trip less).
        match request.param("grant_type") {
            Some("authorization_code") => {
                let realm = Realm::Tenant(&tenant_slug);
                let grant = user_tokens::exchange_code(&state, realm, &request, &meta).await?;
                return Ok(user_granted(grant));
            }
            Some("refresh_token") => {
                let realm = Realm::Tenant(&tenant_slug);
                let grant = user_tokens::refresh(&state, realm, &request, &meta).await?;
                return Ok(user_granted(grant));
            }
            Some(exchange::TOKEN_EXCHANGE) if !is_agent(&request) => {
                let grant = exchange::for_application(&state, &tenant_slug, &request).await?;
                return Ok(granted(grant));
            }
            _ => {}
        }
        let tenant = active_tenant(&state, &tenant_slug, &request).await?;
        let (client_id, secret, basic) = request.credentials()?;
        if is_agent(&request) {
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
            return agent::grant(&state, &tenant, &request, client)
                .await
                .map(granted);
        }
        token::grant(&state, &Issuer::tenant(tenant), &request)
            .await
            .map(granted)
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// Whether the request's client is an agent (its id is an agent id).
fn is_agent(request: &TokenRequest) -> bool {
    request
        .client()
        .is_ok_and(|(id, _, _)| id.starts_with(shared::ids::AgentId::PREFIX))
}

/// The tenant of a token-family request: a slug nobody holds is 404; a suspended or deleted
/// tenant issues nothing, its clients refused as any client would be (SPEC §4.14).
async fn active_tenant(
    state: &AppState,
    slug: &str,
    request: &TokenRequest,
) -> Result<shared::hierarchy::Tenant, OAuthError> {
    match token::tenant_holding_slug(state, slug).await? {
        None => Err(OAuthError::UnknownTenant),
        Some(t) if t.status != shared::values::Status::Active => Err(OAuthError::InvalidClient {
            basic: request.client().is_ok_and(|(_, _, basic)| basic),
        }),
        Some(t) => Ok(t),
    }
}

/// A user grant's answer (OpenID Connect Core §3.1.3.3), never cached.
fn user_granted(grant: user_tokens::UserGranted) -> Response {
    let mut body = json!({
        "access_token": grant.access_token,
        "token_type": "Bearer",
        "expires_in": grant.expires_in,
        "scope": grant.scope,
    });
    if let Some(id_token) = grant.id_token {
        body["id_token"] = json!(id_token);
    }
    if let Some(refresh_token) = grant.refresh_token {
        body["refresh_token"] = json!(refresh_token);
    }
    no_store(Json(body).into_response())
}

fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// The bearer token of a request (`Authorization: Bearer …`, or a form's `access_token`,
/// RFC 6750 §2.2).
fn bearer(headers: &HeaderMap, body: &[u8]) -> Option<String> {
    let header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_owned());
    header.or_else(|| {
        url::form_urlencoded::parse(body)
            .find(|(name, _)| name == "access_token")
            .map(|(_, value)| value.into_owned())
    })
}

/// UserInfo (OpenID Connect Core §5.3): `GET` or `POST` with a user's access token of this
/// issuer → `sub` and the identity claims its scope opens, as the user is now. 401
/// `invalid_token` (with `WWW-Authenticate: Bearer error="invalid_token"`) for anything not
/// live: expired, revoked (its session or grant), its user no longer active, another issuer's.
#[utoipa::path(get, path = "/api/v1/auth/tenants/{tenant_slug}/oauth/userinfo", operation_id = "tenant_userinfo", summary = "UserInfo", tag = "OAuth",
    params(("tenant_slug" = String, Path, description = "The tenant's slug")),
    responses((status = 200, body = Object), (status = 401, body = OAuthErrorBody), (status = 404, body = OAuthErrorBody)),
    security(("bearer" = [])))]
async fn tenant_userinfo(
    State(state): State<AppState>,
    Path(tenant_slug): Path<String>,
    headers: HeaderMap,
) -> Response {
    userinfo_answer(&state, Realm::Tenant(&tenant_slug), &headers, &[]).await
}

/// UserInfo by `POST` (the same; the token may also come as the form's `access_token`).
#[utoipa::path(post, path = "/api/v1/auth/tenants/{tenant_slug}/oauth/userinfo", operation_id = "tenant_userinfo_post", summary = "UserInfo (POST)", tag = "OAuth",
    params(("tenant_slug" = String, Path, description = "The tenant's slug")),
    request_body(content = UserinfoForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = Object), (status = 401, body = OAuthErrorBody), (status = 404, body = OAuthErrorBody)),
    security(("bearer" = [])))]
async fn tenant_userinfo_post(
    State(state): State<AppState>,
    Path(tenant_slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    userinfo_answer(&state, Realm::Tenant(&tenant_slug), &headers, &body).await
}

/// A platform-issued user access token, live: verified as the platform's, then judged as its
/// tenant's (the tenant it names read first: one more round trip than a tenant's userinfo).
async fn platform_live_token(
    state: &AppState,
    token: &str,
) -> Result<Option<user_tokens::LiveToken>, OAuthError> {
    let issuer = state.config().token_issuer.clone();
    let Some(claims) = user_tokens::access_claims(state, &issuer, token).await else {
        return Ok(None);
    };
    let key = shared::store::keys::tenant(&claims.tenant_id);
    let tenant: Option<shared::hierarchy::Tenant> = state
        .store()
        .load(std::slice::from_ref(&key))
        .await?
        .get(&key)?;
    match tenant.filter(|t| t.status == shared::values::Status::Active) {
        Some(tenant) => user_tokens::live_for(state, &tenant, claims).await,
        None => Ok(None),
    }
}

/// Platform UserInfo: the same as a tenant's, for the users GLOBAL applications signed in at
/// the platform's issuer (tokens of the platform's issuer only).
#[utoipa::path(get, path = "/api/v1/platform/oauth/userinfo", operation_id = "platform_userinfo", summary = "Platform UserInfo", tag = "OAuth",
    responses((status = 200, body = Object), (status = 401, body = OAuthErrorBody)),
    security(("bearer" = [])))]
async fn platform_userinfo(State(state): State<AppState>, headers: HeaderMap) -> Response {
    userinfo_answer(&state, Realm::Platform, &headers, &[]).await
}

/// Platform UserInfo by `POST`.
#[utoipa::path(post, path = "/api/v1/platform/oauth/userinfo", operation_id = "platform_userinfo_post", summary = "Platform UserInfo (POST)", tag = "OAuth",
    request_body(content = UserinfoForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = Object), (status = 401, body = OAuthErrorBody)),
    security(("bearer" = [])))]
async fn platform_userinfo_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    userinfo_answer(&state, Realm::Platform, &headers, &body).await
}

/// UserInfo's form (RFC 6750 §2.2).
#[derive(ToSchema)]
#[allow(dead_code)] // The schema of the form; `bearer` reads it.
struct UserinfoForm {
    access_token: Option<String>,
}

async fn userinfo_answer(
    state: &AppState,
    realm: Realm<'_>,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let result = async {
        let live = match realm {
            Realm::Tenant(slug) => {
                let tenant = token::tenant_by_slug(state, slug).await?;
                let token = bearer(headers, body).ok_or(OAuthError::InvalidToken)?;
                user_tokens::live_access_token(state, &tenant, &token).await?
            }
            Realm::Platform => {
                let token = bearer(headers, body).ok_or(OAuthError::InvalidToken)?;
                platform_live_token(state, &token).await?
            }
        };
        let live = live.ok_or(OAuthError::InvalidToken)?;
        let mut claims = user_tokens::userinfo(state, &live).await?;
        if realm.is_platform() {
            shared::sign_in::unvouched(&mut claims);
        }
        Ok::<_, OAuthError>(no_store(Json(claims).into_response()))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// A revocation or introspection request's form.
#[derive(ToSchema)]
#[allow(dead_code)] // The schema of the form; `TokenRequest` reads it.
struct TokenHintForm {
    token: String,
    token_type_hint: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// Revocation (RFC 7009): `token` (a refresh or access token of the calling client) — its grant
/// ends, and every token issued under it. 200 whatever the token was; 401 `invalid_client`.
#[utoipa::path(post, path = "/api/v1/auth/tenants/{tenant_slug}/oauth/revoke", operation_id = "tenant_revoke", summary = "Revoke Token", tag = "OAuth",
    params(("tenant_slug" = String, Path, description = "The tenant's slug")),
    request_body(content = TokenHintForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "Revoked (or nothing to revoke)"), (status = 400, body = OAuthErrorBody), (status = 401, body = OAuthErrorBody), (status = 404, body = OAuthErrorBody)),
    security((), ("client_basic" = [])))]
async fn tenant_revoke(
    State(state): State<AppState>,
    Path(tenant_slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let slug = Some(tenant_slug.as_str());
    token_hint_answer(&state, slug, &headers, &body, HintOperation::Revoke).await
}

/// Introspection (RFC 7662), for the tenant's confidential clients: `token` → `{"active": true,
/// …}` for a live access or refresh token of this tenant, else `{"active": false}` (revoked,
/// expired, forged, another tenant's). 401 `invalid_client`.
#[utoipa::path(post, path = "/api/v1/auth/tenants/{tenant_slug}/oauth/introspect", operation_id = "tenant_introspect", summary = "Introspect Token", tag = "OAuth",
    params(("tenant_slug" = String, Path, description = "The tenant's slug")),
    request_body(content = TokenHintForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = Object), (status = 400, body = OAuthErrorBody), (status = 401, body = OAuthErrorBody), (status = 404, body = OAuthErrorBody)),
    security((), ("client_basic" = [])))]
async fn tenant_introspect(
    State(state): State<AppState>,
    Path(tenant_slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let slug = Some(tenant_slug.as_str());
    token_hint_answer(&state, slug, &headers, &body, HintOperation::Introspect).await
}

/// What a token-hint request asks for.
#[derive(Clone, Copy)]
enum HintOperation {
    /// RFC 7009.
    Revoke,
    /// RFC 7662.
    Introspect,
}

/// A revocation or introspection at a tenant's endpoint (`slug`: its tenant, ACTIVE, read
/// first) or at the platform's (`None`).
async fn token_hint_answer(
    state: &AppState,
    slug: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
    operation: HintOperation,
) -> Response {
    let result = async {
        let request = TokenRequest::read(headers, body)?;
        let tenant = match slug {
            Some(slug) => Some(active_tenant(state, slug, &request).await?),
            None => None,
        };
        let at = tenant.as_ref().map_or(At::Platform, At::Tenant);
        Ok::<_, OAuthError>(match operation {
            HintOperation::Revoke => {
                user_tokens::revoke(state, at, &request).await?;
                no_store(axum::http::StatusCode::OK.into_response())
            }
            HintOperation::Introspect => {
                let answer = user_tokens::introspect(state, at, &request).await?;
                no_store(Json(answer).into_response())
            }
        })
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// Platform Revocation (RFC 7009): as a tenant's, for the tokens of GLOBAL applications'
/// users signed in at the platform's issuer. 200 whatever the token was; 401 `invalid_client`.
#[utoipa::path(post, path = "/api/v1/platform/oauth/revoke", operation_id = "platform_revoke", summary = "Platform Revoke Token", tag = "OAuth",
    request_body(content = TokenHintForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "Revoked (or nothing to revoke)"), (status = 400, body = OAuthErrorBody), (status = 401, body = OAuthErrorBody)),
    security((), ("client_basic" = [])))]
async fn platform_revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    token_hint_answer(&state, None, &headers, &body, HintOperation::Revoke).await
}

/// Platform Introspection (RFC 7662), for confidential GLOBAL applications: their own tokens
/// of the platform's issuer; `{"active": false}` for anything else. 401 `invalid_client`.
#[utoipa::path(post, path = "/api/v1/platform/oauth/introspect", operation_id = "platform_introspect", summary = "Platform Introspect Token", tag = "OAuth",
    request_body(content = TokenHintForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = Object), (status = 400, body = OAuthErrorBody), (status = 401, body = OAuthErrorBody)),
    security((), ("client_basic" = [])))]
async fn platform_introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    token_hint_answer(&state, None, &headers, &body, HintOperation::Introspect).await
}

/// The algorithms of the key set (what the JWKS publishes: RS256, ES256, or both while a
/// deployment switches).
async fn algorithms(state: &AppState) -> Vec<&'static str> {
    state
        .keys()
        .algorithms()
        .await
        .into_iter()
        .map(|a| a.as_str())
        .collect()
}

/// The platform's discovery document: `client_credentials` for GLOBAL clients. Every URL is
/// built from the configured public URL, never the request's `Host`.
async fn platform_document(state: &AppState) -> Value {
    let base = &state.config().public_url;
    let algorithms = algorithms(state).await;
    let scopes: Vec<&str> = PLATFORM_SCOPES
        .into_iter()
        .chain(shared::sign_in::OIDC_SCOPES)
        .collect();
    json!({
        "issuer": state.keys().issuer(),
        "authorization_endpoint": format!("{base}{PLATFORM_AUTHORIZE}"),
        "token_endpoint": format!("{base}{PLATFORM_TOKEN}"),
        "userinfo_endpoint": format!("{base}{PLATFORM_USERINFO}"),
        "revocation_endpoint": format!("{base}{PLATFORM_REVOKE}"),
        "introspection_endpoint": format!("{base}{PLATFORM_INTROSPECT}"),
        "end_session_endpoint": format!("{base}{PLATFORM_LOGOUT}"),
        "jwks_uri": format!("{base}{PLATFORM_JWKS}"),
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algorithms,
        "token_endpoint_auth_signing_alg_values_supported": algorithms,
        "scopes_supported": scopes,
        "claims_supported": ["iss", "aud", "sub", "client_id", "scope", "app_scope", "platform_token", "token_type", "tenant_id", "iat", "nbf", "exp", "jti", "auth_time", "nonce", "sid", "amr", "azp", "email", "email_verified", "name", "given_name", "family_name", "groups"],
        "prompt_values_supported": ["none", "login"],
        "authorization_response_iss_parameter_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "claims_parameter_supported": false,
    })
}

/// A tenant's OpenID Provider metadata (OpenID Connect Discovery 1.0; SPEC §6.1): its issuer
/// and every endpoint under it, what the sign-in supports.
async fn tenant_document(state: &AppState, slug: &str) -> Value {
    let issuer = state.config().tenant_issuer(slug);
    let algorithms = algorithms(state).await;
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/oauth/authorize"),
        "token_endpoint": format!("{issuer}/oauth/token"),
        "userinfo_endpoint": format!("{issuer}/oauth/userinfo"),
        "revocation_endpoint": format!("{issuer}/oauth/revoke"),
        "introspection_endpoint": format!("{issuer}/oauth/introspect"),
        "end_session_endpoint": format!("{issuer}/oauth/logout"),
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": [
            "authorization_code",
            "refresh_token",
            "client_credentials",
            exchange::TOKEN_EXCHANGE,
        ],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algorithms,
        "scopes_supported": shared::sign_in::OIDC_SCOPES,
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "sid", "amr", "azp", "email", "email_verified", "name", "given_name", "family_name", "groups", "tenant_id"],
        "prompt_values_supported": ["none", "login"],
        "authorization_response_iss_parameter_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "claims_parameter_supported": false,
    })
}

/// Platform OpenID Configuration: issuer, token endpoint, JWKS, grants, scopes and algorithms.
/// 200.
#[utoipa::path(get, path = "/api/v1/platform/oauth/.well-known/openid-configuration", operation_id = "platform_openid_configuration", summary = "Platform OpenID Configuration", tag = "OAuth",
    responses((status = 200, body = Object)), security(()))]
async fn platform_discovery(State(state): State<AppState>) -> Json<Value> {
    Json(platform_document(&state).await)
}

/// Tenant OpenID Configuration: the tenant's issuer (`{public_url}/api/v1/auth/tenants/{slug}`)
/// and every endpoint of its sign-in. 200; 404 no active tenant with this slug.
#[utoipa::path(get, path = "/api/v1/auth/tenants/{tenant_slug}/.well-known/openid-configuration", operation_id = "tenant_openid_configuration", summary = "Tenant OpenID Configuration", tag = "OAuth",
    params(("tenant_slug" = String, Path, description = "The tenant's slug")),
    responses((status = 200, body = Object), (status = 404, body = OAuthErrorBody), (status = 503, body = OAuthErrorBody)), security(()))]
async fn tenant_discovery(
    State(state): State<AppState>,
    Path(tenant_slug): Path<String>,
) -> Result<Json<Value>, OAuthError> {
    let tenant = token::tenant_by_slug(&state, &tenant_slug).await?;
    Ok(Json(tenant_document(&state, &tenant.slug).await))
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
