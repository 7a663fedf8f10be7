//! The authorization endpoint (SPEC §6.2): `GET {issuer}/oauth/authorize`. With a live SSO
//! session in the browser it answers the client at once — one batch (the session, its user, the
//! tenant, its partner and the client, all named by the cookie and the request) and one write
//! (the code, the session's list of applications, the event). Without one, the browser goes to
//! the hosted login with the request signed into a flow bound to a cookie of its own.

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use shared::audit::{Actor, ActorType, AuditEvent, AuditResult, RequestMeta};
use shared::credentials::CredentialKeys;
use shared::hierarchy::{
    AppScope, Application, Partner, Session, SessionType, Tenant, User, UserStatus,
};
use shared::ids::ApplicationId;
use shared::sign_in::{self, AuthorizationRequest, SsoCookie};
use shared::state::AppState;
use shared::store::{Key, Loaded, keys};
use shared::time::Timestamp;
use shared::values::Status;

use crate::codes::{self, Issue};
use crate::pages::{self, Branding};
use crate::request::{self, Checked, Params, Prompt, Refusal};
use crate::web::{self, Page};

/// The tenant, the client and what the SSO cookie names, as one request read them.
pub struct Resolved {
    pub tenant: Tenant,
    pub partner: Option<Partner>,
    pub app: Option<Application>,
    /// The cookie's session and user, when the cookie was this service's and both exist.
    pub signed_in: Option<(Session, User)>,
    /// The browser sent an SSO cookie that names nothing live here: it is cleared.
    pub stale_cookie: bool,
}

/// A page refusing the request (no redirect anywhere), in the tenant's branding if known.
pub fn refusal_page(branding: &Branding, status: StatusCode, message: &str) -> Response {
    let nonce = web::nonce();
    Page {
        status,
        html: pages::error(branding, &nonce, "Sign-in unavailable", message),
        nonce,
        form_target: None,
        cookies: Vec::new(),
    }
    .into_response()
}

/// A server-side failure, as a page that says nothing internal.
pub fn failure_page(err: shared::Error) -> Response {
    tracing::error!(error = %err, "sign-in failed");
    refusal_page(
        &Branding::plain(),
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong on our side. Please try again in a moment.",
    )
}

/// The tenant holding `slug` (two reads: its slug claim, then it), read with `extra`.
async fn tenant_by_slug(
    state: &AppState,
    slug: &str,
    extra: &[Key],
) -> Result<Option<(Tenant, Loaded)>, shared::Error> {
    let Ok(slug) = shared::values::Slug::parse_str(&slug.to_lowercase()) else {
        return Ok(None);
    };
    let marker = keys::tenant_slug(slug.as_str());
    let loaded = state.store().load(std::slice::from_ref(&marker)).await?;
    let owner: Option<serde_json::Value> = loaded.get(&marker)?;
    let Some(id) = owner
        .as_ref()
        .and_then(|m| m.get("owner_id"))
        .and_then(|v| v.as_str())
        .and_then(|id| shared::ids::TenantId::parse(id).ok())
    else {
        return Ok(None);
    };
    let mut wanted = vec![keys::tenant(&id)];
    wanted.extend_from_slice(extra);
    let loaded = state.store().load(&wanted).await?;
    let tenant = loaded.get::<Tenant>(&keys::tenant(&id))?;
    if let Some(t) = &tenant {
        state.slugs().record(t);
    }
    Ok(tenant.map(|t| (t, loaded)))
}

/// Reads the tenant of `slug`, the client and, with a cookie, its session and user in one batch;
/// the tenant's partner with them when the cookie says where it is (else one more read).
pub async fn resolve(
    state: &AppState,
    slug: &str,
    client: Option<&ApplicationId>,
    cookie: Option<&SsoCookie>,
) -> Result<Option<Resolved>, shared::Error> {
    let extra: Vec<Key> = client.iter().map(|c| keys::application(c)).collect();
    let (tenant, loaded, mut stale_cookie) = match cookie {
        Some(cookie) => {
            let mut wanted = vec![
                keys::tenant(&cookie.tenant),
                keys::session(&cookie.session),
                keys::user(&cookie.user),
                keys::partner(&cookie.partner),
            ];
            wanted.extend(extra.iter().cloned());
            let loaded = state.store().load(&wanted).await?;
            match loaded.get::<Tenant>(&keys::tenant(&cookie.tenant))? {
                Some(tenant) if tenant.slug == slug => (tenant, loaded, false),
                // Another tenant's cookie (a renamed slug, a shared browser): ignored.
                _ => match tenant_by_slug(state, slug, &extra).await? {
                    Some((tenant, loaded)) => (tenant, loaded, true),
                    None => return Ok(None),
                },
            }
        }
        None => match tenant_by_slug(state, slug, &extra).await? {
            Some((tenant, loaded)) => (tenant, loaded, false),
            None => return Ok(None),
        },
    };
    let app = match client {
        Some(c) => loaded.get::<Application>(&keys::application(c))?,
        None => None,
    };
    let partner_key = keys::partner(&tenant.partner_id);
    let partner = if loaded.has(&partner_key) {
        loaded.get::<Partner>(&partner_key)?
    } else {
        state
            .store()
            .load(std::slice::from_ref(&partner_key))
            .await?
            .get(&partner_key)?
    };
    let signed_in = match cookie.filter(|_| !stale_cookie) {
        Some(cookie) => {
            let session: Option<Session> = loaded.get(&keys::session(&cookie.session))?;
            let user: Option<User> = loaded.get(&keys::user(&cookie.user))?;
            let now = Timestamp::now();
            match (session, user) {
                (Some(session), Some(user))
                    if session.session_type == SessionType::Sso
                        && session.is_live(now)
                        && session.user_id == user.id
                        && session.tenant_id == tenant.id
                        && user.tenant_id == tenant.id
                        && user.status == UserStatus::Active =>
                {
                    Some((session, user))
                }
                _ => {
                    stale_cookie = true;
                    None
                }
            }
        }
        None => None,
    };
    Ok(Some(Resolved {
        tenant,
        partner,
        app,
        signed_in,
        stale_cookie,
    }))
}

/// Whether the tenant and its partner may sign anyone in now.
pub fn open_for_sign_in(resolved: &Resolved) -> bool {
    resolved.tenant.status == Status::Active
        && resolved
            .partner
            .as_ref()
            .is_some_and(|p| p.status == Status::Active)
}

/// The client, if it may sign this tenant's users in: live, ACTIVE, and covering the tenant.
pub fn serving_client(resolved: &Resolved) -> Option<&Application> {
    resolved
        .app
        .as_ref()
        .filter(|app| app.status == Status::Active && sign_in::serves(app, &resolved.tenant))
}

/// The SSO cookie the browser sent, if this service issued it; and whether a cookie of that
/// name must be cleared (unreadable). Two different cookies of the name (one planted at a
/// longer path, say) name no session: the browser signs in afresh.
pub fn sso_cookie(
    config: &shared::config::Config,
    headers: &HeaderMap,
    keys: &CredentialKeys,
) -> (Option<SsoCookie>, bool) {
    let name = web::cookie_name(config, sign_in::SSO_COOKIE);
    let mut values = web::cookies_named(headers, &name);
    values.sort_unstable();
    values.dedup();
    let decoded = match values.as_slice() {
        [one] => SsoCookie::decode(one, keys),
        _ => None,
    };
    let unreadable = decoded.is_none() && !values.is_empty();
    (decoded, unreadable)
}

/// The redirect of an answer to the client: `params` then `iss` (RFC 9207) and `state`.
pub fn answer(
    redirect_uri: &str,
    issuer: &str,
    state: Option<&str>,
    params: &[(&str, &str)],
    cookies: Vec<String>,
) -> Response {
    let mut all: Vec<(&str, &str)> = params.to_vec();
    if let Some(state) = state {
        all.push(("state", state));
    }
    all.push(("iss", issuer));
    web::see_other(&web::with_query(redirect_uri, &all), cookies)
}

/// Where a sign-in happens: a tenant's issuer (by its slug), or the platform's (GLOBAL
/// applications; the user's email finds the tenant).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Realm<'a> {
    Tenant(&'a str),
    Platform,
}

/// What an authorization request is answered with, once its issuer has read the client and
/// the browser's session.
struct Ready {
    app: Application,
    /// The login form's address.
    login: String,
    signed_in: Option<(Session, User)>,
    stale_cookie: bool,
    /// The tenant whose login the browser goes to; none at the platform's.
    tenant: Option<Tenant>,
    branding: Branding,
    issuer: String,
    /// The issuer's cookie path.
    path: String,
}

/// `GET {issuer}/oauth/authorize`.
pub async fn authorize(
    state: &AppState,
    realm: Realm<'_>,
    headers: &HeaderMap,
    query: &str,
    meta: &RequestMeta,
) -> Response {
    match authorize_inner(state, realm, headers, query, meta).await {
        Ok(response) => response,
        Err(err) => failure_page(err),
    }
}

/// A tenant's request: its tenant (404 page if none, 403 if not open) and a client serving it.
async fn ready_at_tenant(
    state: &AppState,
    slug: &str,
    params: &Params,
    client: Option<&ApplicationId>,
    cookie: Option<&SsoCookie>,
) -> Result<Result<Ready, Response>, shared::Error> {
    let Some(resolved) = resolve(state, slug, client, cookie).await? else {
        return Ok(Err(refusal_page(
            &Branding::plain(),
            StatusCode::NOT_FOUND,
            "There is no sign-in at this address.",
        )));
    };
    let branding = Branding::of(&resolved.tenant);
    if !open_for_sign_in(&resolved) {
        return Ok(Err(refusal_page(
            &branding,
            StatusCode::FORBIDDEN,
            "Sign-in is not available for this organisation.",
        )));
    }
    let Some(app) = serving_client(&resolved).cloned() else {
        return Ok(Err(unknown_client(&branding)));
    };
    if let Some(page) = redirect_page(params, &app, &branding) {
        return Ok(Err(page));
    }
    let Resolved {
        tenant,
        signed_in,
        stale_cookie,
        ..
    } = resolved;
    Ok(Ok(Ready {
        app,
        signed_in,
        stale_cookie,
        login: format!("{}/login", state.config().tenant_issuer(&tenant.slug)),
        issuer: state.config().tenant_issuer(&tenant.slug),
        path: state.config().tenant_issuer_path(&tenant.slug),
        tenant: Some(tenant),
        branding,
    }))
}

/// The platform's request: a GLOBAL client, and the session the platform's cookie names (its
/// user, tenant and partner all still active) — one batch.
async fn ready_at_platform(
    state: &AppState,
    params: &Params,
    client: Option<&ApplicationId>,
    cookie: Option<&SsoCookie>,
) -> Result<Result<Ready, Response>, shared::Error> {
    let branding = Branding::plain();
    let Some(client) = client else {
        return Ok(Err(unknown_client(&branding)));
    };
    let mut wanted = vec![keys::application(client)];
    if let Some(cookie) = cookie {
        wanted.extend([
            keys::session(&cookie.session),
            keys::user(&cookie.user),
            keys::tenant(&cookie.tenant),
            keys::partner(&cookie.partner),
        ]);
    }
    let loaded = state.store().load(&wanted).await?;
    let app: Option<Application> = loaded.get(&keys::application(client))?;
    let Some(app) = app.filter(|a| a.status == Status::Active && a.scope == AppScope::Global)
    else {
        return Ok(Err(unknown_client(&branding)));
    };
    if let Some(page) = redirect_page(params, &app, &branding) {
        return Ok(Err(page));
    }
    let signed_in = match cookie {
        Some(cookie) => {
            let now = Timestamp::now();
            let session: Option<Session> = loaded.get(&keys::session(&cookie.session))?;
            let user: Option<User> = loaded.get(&keys::user(&cookie.user))?;
            let tenant: Option<Tenant> = loaded.get(&keys::tenant(&cookie.tenant))?;
            let partner: Option<Partner> = loaded.get(&keys::partner(&cookie.partner))?;
            match (session, user, tenant, partner) {
                (Some(session), Some(user), Some(tenant), Some(partner))
                    if session.session_type == SessionType::Sso
                        && session.is_live(now)
                        && session.user_id == user.id
                        && session.tenant_id == tenant.id
                        && user.tenant_id == tenant.id
                        && user.status == UserStatus::Active
                        && tenant.status == Status::Active
                        && tenant.partner_id == partner.id
                        && partner.status == Status::Active =>
                {
                    Some((session, user))
                }
                _ => None,
            }
        }
        None => None,
    };
    Ok(Ok(Ready {
        app,
        stale_cookie: cookie.is_some() && signed_in.is_none(),
        signed_in,
        tenant: None,
        branding,
        login: format!("{}/login", state.config().platform_base()),
        issuer: state.config().token_issuer.clone(),
        path: state.config().platform_issuer_path(),
    }))
}

fn unknown_client(branding: &Branding) -> Response {
    refusal_page(
        branding,
        StatusCode::BAD_REQUEST,
        "The application asking you to sign in is not known here.",
    )
}

/// The page refusing a redirect URI the client did not register (or none at all); `None` when
/// it is one of the client's.
fn redirect_page(params: &Params, app: &Application, branding: &Branding) -> Option<Response> {
    match request::registered_redirect(params, app) {
        Ok(_) => None,
        Err(Refusal::Page(message))
        | Err(Refusal::Redirect {
            description: message,
            ..
        }) => Some(refusal_page(branding, StatusCode::BAD_REQUEST, message)),
    }
}

async fn authorize_inner(
    state: &AppState,
    realm: Realm<'_>,
    headers: &HeaderMap,
    query: &str,
    meta: &RequestMeta,
) -> Result<Response, shared::Error> {
    let Some(params) = Params::parse(query) else {
        return Ok(refusal_page(
            &Branding::plain(),
            StatusCode::BAD_REQUEST,
            "The sign-in request repeats a parameter.",
        ));
    };
    let client = params
        .get("client_id")
        .and_then(|c| ApplicationId::parse(c).ok());
    let keys = state.credentials().keys().await?;
    let (cookie, unreadable) = sso_cookie(state.config(), headers, &keys);
    let ready = match realm {
        Realm::Tenant(slug) => {
            ready_at_tenant(state, slug, &params, client.as_ref(), cookie.as_ref()).await?
        }
        Realm::Platform => {
            ready_at_platform(state, &params, client.as_ref(), cookie.as_ref()).await?
        }
    };
    let ready = match ready {
        Ok(ready) => ready,
        Err(page) => return Ok(page),
    };
    let app = &ready.app;
    let issuer = &ready.issuer;
    // Checked by `ready_at_*`: the redirect URI is the client's own.
    let redirect_uri = params.get("redirect_uri").unwrap_or_default().to_owned();
    let mut cookies = Vec::new();
    if ready.stale_cookie || unreadable {
        cookies.push(web::cleared(
            state.config(),
            sign_in::SSO_COOKIE,
            &ready.path,
        ));
    }
    let checked = match request::check(&params, app, redirect_uri.clone()) {
        Ok(checked) => checked,
        Err(Refusal::Redirect { error, description }) => {
            return Ok(answer(
                &redirect_uri,
                issuer,
                params.get("state"),
                &[("error", error), ("error_description", description)],
                cookies,
            ));
        }
        Err(Refusal::Page(message)) => {
            return Ok(refusal_page(
                &ready.branding,
                StatusCode::BAD_REQUEST,
                message,
            ));
        }
    };
    let now = Timestamp::now();
    if let Some((session, user)) = &ready.signed_in {
        // `max_age=0` is `prompt=login` (OpenID Connect Core §3.1.2.1, errata 2).
        let too_old = checked
            .max_age
            .is_some_and(|max| max == 0 || now.unix() - session.created_at.unix() > max);
        if checked.prompt != Prompt::Login && !too_old {
            if !admitted(state, app, user).await? {
                return Ok(not_assigned(&checked, issuer, cookies));
            }
            let issue = Issue {
                app,
                user,
                session,
                request: &checked,
                platform: realm == Realm::Platform,
            };
            if let Some(response) =
                answer_with_code(state, &keys, &issue, issuer, meta, now, cookies.clone()).await?
            {
                return Ok(response);
            }
        }
    }
    if checked.prompt == Prompt::None {
        return Ok(answer(
            &checked.redirect_uri,
            issuer,
            checked.state.as_deref(),
            &[
                ("error", "login_required"),
                (
                    "error_description",
                    "no live session: the user must sign in",
                ),
            ],
            cookies,
        ));
    }
    Ok(to_login(state, &keys, &ready, checked, cookies, now))
}

/// Whether the app admits the user: anyone it serves, unless `assignment_required` (then its
/// effective users only, as assigned now).
pub async fn admitted(
    state: &AppState,
    app: &Application,
    user: &User,
) -> Result<bool, shared::Error> {
    if !app.assignment_required {
        return Ok(true);
    }
    Ok(shared::applications::assignments::admits(state.store(), &app.id, &user.id).await?)
}

/// `access_denied` at the redirect URI: the user is not one the app is assigned to.
pub fn not_assigned(request: &Checked, issuer: &str, cookies: Vec<String>) -> Response {
    answer(
        &request.redirect_uri,
        issuer,
        request.state.as_deref(),
        &[
            ("error", "access_denied"),
            (
                "error_description",
                "the user is not assigned to this application",
            ),
        ],
        cookies,
    )
}

/// Issues a code in the signed-in session and sends it to the client; `None` when the session
/// ended between the read and the write (the login form is shown instead).
async fn answer_with_code(
    state: &AppState,
    keys: &CredentialKeys,
    issue: &Issue<'_>,
    issuer: &str,
    meta: &RequestMeta,
    now: Timestamp,
    cookies: Vec<String>,
) -> Result<Option<Response>, shared::Error> {
    let (code, stored) = codes::new_code(state, keys, issue, now).await?;
    let mut tx = state.store().tx();
    codes::add_code(&mut tx, &stored, issue.session, now)?;
    let mut event = sign_in_event(issue.user, issue.session, AuditResult::Success, meta);
    event.changes = Some(codes::sign_in_changes("sso", issue.app));
    state.store().add_event(&mut tx, &event)?;
    match state.store().transact(tx).await {
        Ok(()) => Ok(Some(answer(
            &issue.request.redirect_uri,
            issuer,
            issue.request.state.as_deref(),
            &[("code", &code)],
            cookies,
        ))),
        Err(err) if err.refused_by() == Some(codes::SESSION_ENDED) => Ok(None),
        Err(err) => Err(err.into()),
    }
}

/// A user's sign-in event, filed under the user's tenant and its partner.
pub fn sign_in_event(
    user: &User,
    session: &Session,
    result: AuditResult,
    meta: &RequestMeta,
) -> AuditEvent {
    let actor = Actor {
        kind: ActorType::User,
        id: Some(user.id.to_string()),
        email: Some(user.email.clone()),
    };
    AuditEvent::new(
        actor,
        shared::audit::AUTH_LOGIN,
        Some(session.id.to_string()),
        meta,
    )
    .in_tenant(&session.partner_id, &session.tenant_id)
    .with_result(result)
}

/// Sends the browser to the login form (the tenant's, or the platform's email step): the
/// request signed into a flow, bound to a new flow cookie.
fn to_login(
    state: &AppState,
    keys: &CredentialKeys,
    ready: &Ready,
    checked: Checked,
    mut cookies: Vec<String>,
    now: Timestamp,
) -> Response {
    let binding = shared::secrets::random_token();
    let flow = AuthorizationRequest {
        client_id: ready.app.id.clone(),
        redirect_uri: checked.redirect_uri,
        scope: checked.scope,
        state: checked.state,
        nonce: checked.nonce,
        code_challenge: checked.code_challenge,
        login_hint: checked.login_hint,
        tenant: ready.tenant.as_ref().map(|t| t.id.clone()),
        platform: ready.tenant.is_none(),
        expires_at: now.unix() + sign_in::FLOW_LIFETIME_SECONDS,
        binding: sign_in::binding_of(&binding),
    };
    cookies.push(web::cookie(
        state.config(),
        sign_in::FLOW_COOKIE,
        &binding,
        &ready.path,
        sign_in::FLOW_LIFETIME_SECONDS,
    ));
    web::see_other(
        &web::with_query(&ready.login, &[("flow", &flow.encode(keys))]),
        cookies,
    )
}
