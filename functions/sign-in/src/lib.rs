//! The hosted sign-in of each tenant's OpenID Provider (SPEC §6.2): the pages a browser sees —
//! `{issuer}/oauth/authorize`, the login form at `{issuer}/login`, and RP-initiated logout at
//! `{issuer}/oauth/logout`, with `{issuer}` = `{public_url}/api/v1/auth/tenants/{tenant_slug}`.
//! The token family (code exchange, refresh, userinfo, revocation, introspection, discovery)
//! is `functions/oauth`'s; both stand on `shared::sign_in`.
//!
//! `authorize` (the request, the SSO session, the code), `login` (the form and its post),
//! `logout`, `request` (parsing and judging an authorization request), `codes` (issuing a
//! code), `pages` (the HTML, maud), `web` (headers, cookies, redirects).

pub mod authorize;
mod codes;
pub mod login;
pub mod logout;
mod pages;
pub mod platform;
pub mod request;
mod web;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use shared::AppState;
use shared::audit::{AuditAction, RequestMeta};
use utoipa::OpenApi;

use request::Params;

const TENANT_BASE: &str = "/api/v1/auth/tenants";
const PLATFORM_AUTHORIZE: &str = "/api/v1/platform/oauth/authorize";
const PLATFORM_LOGIN: &str = "/api/v1/platform/oauth/login";
const PLATFORM_LOGOUT: &str = "/api/v1/platform/oauth/logout";

/// The login form's fields.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // The schema of the form; `login::Submitted` reads it.
struct LoginForm {
    /// The signed sign-in flow the page carries.
    flow: String,
    email: String,
    password: String,
}

/// RP-initiated logout's parameters, posted.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // The schema of the form; `request::Params` reads it.
struct LogoutForm {
    id_token_hint: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
    client_id: Option<String>,
    /// `yes`: the confirmation page's answer.
    confirm: Option<String>,
}

/// The actions this group records beyond those it shares with the admin login (`auth.login`,
/// `auth.logout`: listed once, in admin-auth's catalogue).
pub const ACTIONS: &[AuditAction] = &[];

#[derive(OpenApi)]
#[openapi(paths(
    authorize_page,
    login_page,
    login_submit,
    logout_get,
    logout_post,
    platform_authorize_page,
    platform_login_page,
    platform_login_submit,
    platform_logout_get,
    platform_logout_post
))]
pub struct SignInApi;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            &format!("{TENANT_BASE}/{{tenant_slug}}/oauth/authorize"),
            get(authorize_page),
        )
        .route(
            &format!("{TENANT_BASE}/{{tenant_slug}}/login"),
            get(login_page).post(login_submit),
        )
        .route(
            &format!("{TENANT_BASE}/{{tenant_slug}}/oauth/logout"),
            get(logout_get).post(logout_post),
        )
        .route(PLATFORM_AUTHORIZE, get(platform_authorize_page))
        .route(
            PLATFORM_LOGIN,
            get(platform_login_page).post(platform_login_submit),
        )
        .route(
            PLATFORM_LOGOUT,
            get(platform_logout_get).post(platform_logout_post),
        )
}

pub fn router(state: AppState) -> Router {
    shared::http::finish(routes(), state)
}

/// Authorize (an HTML flow, for browsers): `response_type=code`, `client_id`, `redirect_uri`
/// (exact match), `scope`, `state`, `nonce`, `code_challenge` + `code_challenge_method=S256`
/// (required of SPA and NATIVE clients), `prompt` (`none`, `login`), `max_age`, `login_hint`.
/// With a live SSO session: 303 to the redirect URI with `code`, `state` and `iss` (RFC 9207).
/// Without: 303 to the login page (`prompt=none`: `error=login_required`). Errors go to the
/// redirect URI as `error`, `error_description`, `state`, `iss` — except an unknown client or
/// redirect URI: an HTML error page (400), never a redirect.
#[utoipa::path(get, path = "/api/v1/auth/tenants/{tenant_slug}/oauth/authorize", operation_id = "tenant_authorize", summary = "Authorize (HTML)", tag = "Sign-in",
    params(("tenant_slug" = String, Path, description = "The tenant's slug")),
    responses((status = 303, description = "To the redirect URI (code or error), or to the login page"),
               (status = 400, description = "HTML error page: unknown client or redirect URI", content_type = "text/html"),
               (status = 403, description = "HTML error page: the tenant or its partner is not active", content_type = "text/html"),
               (status = 404, description = "HTML error page: no such tenant", content_type = "text/html")),
    security(()))]
async fn authorize_page(
    State(state): State<AppState>,
    Path(tenant_slug): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    meta: RequestMeta,
) -> Response {
    authorize::authorize(
        &state,
        authorize::Realm::Tenant(&tenant_slug),
        &headers,
        query.as_deref().unwrap_or(""),
        &meta,
    )
    .await
}

/// Platform Authorize (an HTML flow, for browsers): the sign-in of GLOBAL applications, for
/// users of any tenant; the parameters and answers of the tenant's authorize, with the
/// platform's issuer as `iss`. Without a live platform SSO session the browser goes to the
/// platform's login, which asks for the email first.
#[utoipa::path(get, path = "/api/v1/platform/oauth/authorize", operation_id = "platform_authorize", summary = "Platform Authorize (HTML)", tag = "Sign-in",
    responses((status = 303, description = "To the redirect URI (code or error), or to the login page"),
               (status = 400, description = "HTML error page: unknown client (or not a GLOBAL one) or redirect URI", content_type = "text/html")),
    security(()))]
async fn platform_authorize_page(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    meta: RequestMeta,
) -> Response {
    authorize::authorize(
        &state,
        authorize::Realm::Platform,
        &headers,
        query.as_deref().unwrap_or(""),
        &meta,
    )
    .await
}

/// Platform Login Page (HTML): the email step of a flow the platform's authorize started.
#[utoipa::path(get, path = "/api/v1/platform/oauth/login", operation_id = "platform_login_page", summary = "Platform Login Page (HTML)", tag = "Sign-in",
    params(("flow" = String, Query, description = "The signed sign-in flow")),
    responses((status = 200, description = "The email form", content_type = "text/html"),
               (status = 400, description = "An expired flow", content_type = "text/html")),
    security(()))]
async fn platform_login_page(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    platform::page(&state, &headers, &flow_param(query.as_deref())).await
}

/// The platform login form's fields: the email step sends `flow` and `email`; the password
/// step adds `password`; the choice of organisation sends `flow`, `choice` and `tenant`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // The schema of the form; `platform::Posted` reads it.
struct PlatformLoginForm {
    flow: String,
    email: Option<String>,
    password: Option<String>,
    /// The signed choice the organisation page carries.
    choice: Option<String>,
    /// The organisation (tenant id) picked.
    tenant: Option<String>,
}

/// Platform Login (the form's posts): the email → the password form (the same whatever the
/// email); the password → tried in each tenant holding the email: one match signs in (303 to
/// the client with a code), several → the choice of organisation (200), none → the form again
/// with one message (401; 429 throttled).
#[utoipa::path(post, path = "/api/v1/platform/oauth/login", operation_id = "platform_login", summary = "Platform Login (HTML form post)", tag = "Sign-in",
    request_body(content = PlatformLoginForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "The next step: the password form, or the choice of organisation", content_type = "text/html"),
               (status = 303, description = "Signed in: to the redirect URI with a code"),
               (status = 400, description = "An expired flow or choice", content_type = "text/html"),
               (status = 401, description = "The form again: wrong email or password", content_type = "text/html"),
               (status = 429, description = "The form again: too many attempts", content_type = "text/html"),
               (status = 503, description = "The form again: the account or tenant changed during the sign-in; try again", content_type = "text/html")),
    security(()))]
async fn platform_login_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    meta: RequestMeta,
    body: Bytes,
) -> Response {
    platform::submit(&state, &headers, &body, &meta).await
}

/// Login page (HTML, works without JavaScript): the form of a sign-in flow `authorize` started
/// (`flow`, signed and bound to the browser's flow cookie), in the tenant's branding. 200; 400
/// an expired flow or one from another browser.
#[utoipa::path(get, path = "/api/v1/auth/tenants/{tenant_slug}/login", operation_id = "tenant_login_page", summary = "Login Page (HTML)", tag = "Sign-in",
    params(("tenant_slug" = String, Path, description = "The tenant's slug"), ("flow" = String, Query, description = "The signed sign-in flow")),
    responses((status = 200, description = "The login form", content_type = "text/html"),
               (status = 400, description = "An expired flow", content_type = "text/html"),
               (status = 404, description = "No such tenant, or the flow is another tenant's", content_type = "text/html")),
    security(()))]
async fn login_page(
    State(state): State<AppState>,
    Path(tenant_slug): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    login::page(
        &state,
        &tenant_slug,
        &headers,
        &flow_param(query.as_deref()),
    )
    .await
}

/// The `flow` a login page's query names (empty: none, or repeated).
fn flow_param(query: Option<&str>) -> String {
    Params::parse(query.unwrap_or(""))
        .and_then(|p| p.get("flow").map(str::to_owned))
        .unwrap_or_default()
}

/// Login (the form's post, `application/x-www-form-urlencoded`: `flow`, `email`, `password`):
/// 303 to the client's redirect URI with a code and the SSO cookie set; the form again with one
/// message on failure (401), or when throttled (429, `Retry-After`).
#[utoipa::path(post, path = "/api/v1/auth/tenants/{tenant_slug}/login", operation_id = "tenant_login", summary = "Login (HTML form post)", tag = "Sign-in",
    params(("tenant_slug" = String, Path, description = "The tenant's slug")),
    request_body(content = LoginForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "Signed in: to the redirect URI with a code"),
               (status = 400, description = "An expired flow", content_type = "text/html"),
               (status = 401, description = "The form again: wrong email or password", content_type = "text/html"),
               (status = 403, description = "The tenant or its partner is not active", content_type = "text/html"),
               (status = 429, description = "The form again: too many attempts", content_type = "text/html"),
               (status = 503, description = "The form again: the account or tenant changed during the sign-in; try again", content_type = "text/html")),
    security(()))]
async fn login_submit(
    State(state): State<AppState>,
    Path(tenant_slug): Path<String>,
    headers: HeaderMap,
    meta: RequestMeta,
    body: Bytes,
) -> Response {
    login::submit(&state, &tenant_slug, &headers, &body, &meta).await
}

/// Logout (RP-initiated, HTML): `id_token_hint`, `post_logout_redirect_uri` (a registered one,
/// else no redirect), `state`, `client_id`. Ends the browser's SSO session and its refresh
/// tokens, clears the cookie; without a hint of this session it asks first.
#[utoipa::path(get, path = "/api/v1/auth/tenants/{tenant_slug}/oauth/logout", operation_id = "tenant_logout", summary = "Logout (HTML)", tag = "Sign-in",
    params(("tenant_slug" = String, Path, description = "The tenant's slug")),
    responses((status = 200, description = "Signed out, or the confirmation", content_type = "text/html"),
               (status = 303, description = "To the registered post-logout redirect URI"),
               (status = 400, description = "client_id and id_token_hint name different applications", content_type = "text/html"),
               (status = 404, description = "No such tenant", content_type = "text/html")),
    security(()))]
async fn logout_get(
    State(state): State<AppState>,
    Path(tenant_slug): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    meta: RequestMeta,
) -> Response {
    let realm = authorize::Realm::Tenant(&tenant_slug);
    logout_by_get(&state, realm, query.as_deref(), &headers, &meta).await
}

/// A logout by GET: its parameters from the query.
async fn logout_by_get(
    state: &AppState,
    realm: authorize::Realm<'_>,
    query: Option<&str>,
    headers: &HeaderMap,
    meta: &RequestMeta,
) -> Response {
    let params = Params::parse(query.unwrap_or("")).unwrap_or_else(Params::empty);
    logout::logout(state, realm, headers, params, logout::Via::Get, meta).await
}

/// A logout by form post: the confirmation page's answer (`confirm=yes`), or an RP's.
async fn logout_by_post(
    state: &AppState,
    realm: authorize::Realm<'_>,
    body: &[u8],
    headers: &HeaderMap,
    meta: &RequestMeta,
) -> Response {
    let params =
        Params::parse(std::str::from_utf8(body).unwrap_or("")).unwrap_or_else(Params::empty);
    let confirmed = params.get("confirm") == Some("yes");
    let via = logout::Via::Post { confirmed };
    logout::logout(state, realm, headers, params, via, meta).await
}

/// Logout by form post: the confirmation's, or an RP's (which, arriving cross-site without the
/// `SameSite=Lax` cookie, is sent on to the same logout by GET: 303).
#[utoipa::path(post, path = "/api/v1/auth/tenants/{tenant_slug}/oauth/logout", operation_id = "tenant_logout_post", summary = "Logout (HTML form post)", tag = "Sign-in",
    params(("tenant_slug" = String, Path, description = "The tenant's slug")),
    request_body(content = LogoutForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "Signed out", content_type = "text/html"),
               (status = 303, description = "To the registered post-logout redirect URI; a post without the SSO cookie: to the same logout by GET"),
               (status = 400, description = "client_id and id_token_hint name different applications", content_type = "text/html"),
               (status = 404, description = "No such tenant", content_type = "text/html")),
    security(()))]
async fn logout_post(
    State(state): State<AppState>,
    Path(tenant_slug): Path<String>,
    headers: HeaderMap,
    meta: RequestMeta,
    body: Bytes,
) -> Response {
    let realm = authorize::Realm::Tenant(&tenant_slug);
    logout_by_post(&state, realm, &body, &headers, &meta).await
}

/// Platform Logout (RP-initiated, HTML): the tenant's logout, for sessions signed in at the
/// platform's issuer (GLOBAL applications).
#[utoipa::path(get, path = "/api/v1/platform/oauth/logout", operation_id = "platform_logout", summary = "Platform Logout (HTML)", tag = "Sign-in",
    responses((status = 200, description = "Signed out, or the confirmation", content_type = "text/html"),
               (status = 303, description = "To the registered post-logout redirect URI"),
               (status = 400, description = "client_id and id_token_hint name different applications", content_type = "text/html")),
    security(()))]
async fn platform_logout_get(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    meta: RequestMeta,
) -> Response {
    let realm = authorize::Realm::Platform;
    logout_by_get(&state, realm, query.as_deref(), &headers, &meta).await
}

/// Platform Logout by form post (as the tenant's).
#[utoipa::path(post, path = "/api/v1/platform/oauth/logout", operation_id = "platform_logout_post", summary = "Platform Logout (HTML form post)", tag = "Sign-in",
    request_body(content = LogoutForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "Signed out", content_type = "text/html"),
               (status = 303, description = "To the registered post-logout redirect URI; a post without the SSO cookie: to the same logout by GET"),
               (status = 400, description = "client_id and id_token_hint name different applications", content_type = "text/html")),
    security(()))]
async fn platform_logout_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    meta: RequestMeta,
    body: Bytes,
) -> Response {
    let realm = authorize::Realm::Platform;
    logout_by_post(&state, realm, &body, &headers, &meta).await
}
