//! The hosted login (SPEC §6.2): `GET {issuer}/login` shows the form of a flow `authorize`
//! started; `POST {issuer}/login` signs the user in with the admin login's protections —
//! throttled per (email, address) and per email before the password is checked, the same work
//! for unknown emails, one message for every failure — then starts the SSO session and answers
//! the client with a code, in one transaction (session, tallies, code, event).
//!
//! The form is bound to the browser that asked for it: its flow names the SHA-256 of a random
//! value only the flow cookie holds (`SameSite=Lax`, `HttpOnly`), so a form posted from another
//! site, or another browser, is refused (CSRF).

use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use shared::access::GrantReach;
use shared::audit::{Actor, ActorType, AuditEvent, AuditResult, RequestMeta};
use shared::hierarchy::{
    Application, Partner, Session, SessionStatus, SessionType, Tenant, User, UserStatus,
};
use shared::ids::{SessionId, UserId};
use shared::sign_in::{self, AuthorizationRequest, SsoCookie};
use shared::state::AppState;
use shared::store::tally;
use shared::store::{Key, keys};
use shared::throttle::{self, THROTTLED, Throttle};
use shared::time::Timestamp;
use shared::values::{Email, Status};

use crate::authorize::{self, failure_page, refusal_page, sign_in_event};
use crate::codes::{self, Issue};
use crate::pages::{self, Branding};
use crate::request::{Checked, Prompt};
use crate::web::{self, Page};

/// The one message every failed attempt shows (SPEC §6.2).
pub const WRONG: &str = "The email address or password is incorrect.";
pub const EXPIRED: &str = "This sign-in form has expired or was opened in another browser. Go back to the application and sign in again.";
/// The longest email and password considered (as the admin login).
pub const MAX_EMAIL_CHARS: usize = 320;
const MAX_PASSWORD_CHARS: usize = 1024;

/// The flow a request carries, if this service signed it for this browser and it is still
/// valid.
pub fn flow_of(
    config: &shared::config::Config,
    headers: &HeaderMap,
    value: &str,
    keys: &shared::credentials::CredentialKeys,
    now: Timestamp,
) -> Option<AuthorizationRequest> {
    let flow = AuthorizationRequest::decode(value, keys, now)?;
    web::cookies_named(headers, &web::cookie_name(config, sign_in::FLOW_COOKIE))
        .iter()
        .any(|cookie| flow.is_bound_to(cookie))
        .then_some(flow)
}

/// The form, in the tenant's branding.
fn form_page(
    state: &AppState,
    tenant: &Tenant,
    flow: &AuthorizationRequest,
    flow_token: &str,
    email: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let nonce = web::nonce();
    let action = format!("{}/login", state.config().tenant_issuer(&tenant.slug));
    Page {
        status,
        html: pages::login(
            &Branding::of(tenant),
            &nonce,
            &action,
            flow_token,
            email,
            error,
        ),
        nonce,
        form_target: web::origin_of(&flow.redirect_uri),
        cookies: Vec::new(),
    }
    .into_response()
}

/// `GET {issuer}/login?flow=…`.
pub async fn page(state: &AppState, slug: &str, headers: &HeaderMap, flow_token: &str) -> Response {
    let result = async {
        let keys = state.credentials().keys().await?;
        let Some(flow) = flow_of(state.config(), headers, flow_token, &keys, Timestamp::now())
        else {
            return Ok(refusal_page(
                &Branding::plain(),
                StatusCode::BAD_REQUEST,
                EXPIRED,
            ));
        };
        let Some(tenant_id) = flow.tenant.as_ref() else {
            return Ok(refusal_page(
                &Branding::plain(),
                StatusCode::NOT_FOUND,
                "There is no sign-in at this address.",
            ));
        };
        let key = keys::tenant(tenant_id);
        let tenant: Option<Tenant> = state
            .store()
            .load(std::slice::from_ref(&key))
            .await?
            .get(&key)?;
        let Some(tenant) = tenant.filter(|t| t.slug == slug && t.status == Status::Active) else {
            return Ok(refusal_page(
                &Branding::plain(),
                StatusCode::NOT_FOUND,
                "There is no sign-in at this address.",
            ));
        };
        Ok::<_, shared::Error>(form_page(
            state,
            &tenant,
            &flow,
            flow_token,
            flow.login_hint.as_deref(),
            None,
            StatusCode::OK,
        ))
    }
    .await;
    result.unwrap_or_else(failure_page)
}

/// The form as posted.
pub struct Submitted {
    pub flow: String,
    pub email: String,
    pub password: String,
}

impl Submitted {
    /// An `application/x-www-form-urlencoded` body; `None` when a field is missing or repeated.
    pub fn parse(body: &[u8]) -> Option<Self> {
        let [flow, email, password] = web::form_fields(body, ["flow", "email", "password"])?;
        Some(Self {
            flow: flow?,
            email: email.unwrap_or_default(),
            password: password.unwrap_or_default(),
        })
    }
}

/// `POST {issuer}/login`.
pub async fn submit(
    state: &AppState,
    slug: &str,
    headers: &HeaderMap,
    body: &[u8],
    meta: &RequestMeta,
) -> Response {
    submit_inner(state, slug, headers, body, meta)
        .await
        .unwrap_or_else(failure_page)
}

async fn submit_inner(
    state: &AppState,
    slug: &str,
    headers: &HeaderMap,
    body: &[u8],
    meta: &RequestMeta,
) -> Result<Response, shared::Error> {
    let now = Timestamp::now();
    let keys = state.credentials().keys().await?;
    let Some(form) = Submitted::parse(body) else {
        return Ok(refusal_page(
            &Branding::plain(),
            StatusCode::BAD_REQUEST,
            EXPIRED,
        ));
    };
    let Some(flow) = flow_of(state.config(), headers, &form.flow, &keys, now) else {
        return Ok(refusal_page(
            &Branding::plain(),
            StatusCode::BAD_REQUEST,
            EXPIRED,
        ));
    };
    let Some(flow_tenant) = flow.tenant.clone() else {
        return Ok(refusal_page(
            &Branding::plain(),
            StatusCode::NOT_FOUND,
            "There is no sign-in at this address.",
        ));
    };
    let (email, bounded) = normalised(&form.email, &form.password);
    let email_key = keys::user_email(&flow_tenant, if bounded { &email } else { "" });
    let throttle = Throttle::new(
        keys::sign_in_partition(&flow_tenant, if bounded { &email } else { "" }),
        meta.ip_address.as_deref(),
        now.unix(),
    );
    let mut wanted = vec![
        keys::tenant(&flow_tenant),
        keys::application(&flow.client_id),
        email_key.clone(),
    ];
    wanted.extend(throttle.keys());
    let first = state.store().load(&wanted).await?;
    let Some(tenant) = first
        .get::<Tenant>(&keys::tenant(&flow_tenant))?
        .filter(|t| t.slug == slug && t.status == Status::Active)
    else {
        return Ok(refusal_page(
            &Branding::plain(),
            StatusCode::FORBIDDEN,
            "Sign-in is not available for this organisation.",
        ));
    };
    let app: Option<Application> = first.get(&keys::application(&flow.client_id))?;
    let owner: Option<UserId> = first
        .get::<serde_json::Value>(&email_key)?
        .and_then(|m| {
            m.get("owner_id")
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        })
        .and_then(|id| UserId::parse(&id).ok())
        .filter(|_| bounded);
    let counts = throttle.counts(&first);
    // The user (a placeholder for an unknown email: every failure makes the same calls) and the
    // tenant's partner, read while the attempt takes its slot.
    let user_key = match &owner {
        Some(id) => keys::user(id),
        None => Key::new("USER#none", "USER"),
    };
    let second_keys = [user_key.clone(), keys::partner(&tenant.partner_id)];
    let (reserved, second) = tokio::join!(
        throttle.reserve(state.store(), &counts),
        state.store().load(&second_keys)
    );
    let retry = |message: &str, status| {
        form_page(
            state,
            &tenant,
            &flow,
            &form.flow,
            Some(&email),
            Some(message),
            status,
        )
    };
    match reserved {
        Ok(()) => {}
        Err(err) if err.refused_by() == Some(THROTTLED) => {
            let seconds = throttle.retry_after(state.store(), &counts).await?;
            let response = retry(
                &format!(
                    "Too many attempts. Try again in {} minutes.",
                    seconds.div_ceil(60)
                ),
                StatusCode::TOO_MANY_REQUESTS,
            );
            return Ok(web::retry_after(response, seconds));
        }
        Err(err) => return Err(err.into()),
    }
    let second = second?;
    let user: Option<User> = second.get(&user_key)?;
    let partner: Option<Partner> = second.get(&keys::partner(&tenant.partner_id))?;
    let password_ok = shared::password::verify_blocking(
        form.password.clone(),
        user.as_ref().and_then(|u| u.password_hash.clone()),
    )
    .await;
    // The client as it is now, and the flow still within it: a redirect URI removed or a scope
    // withdrawn since the flow began stops it.
    let serving = app.as_ref().filter(|a| still_serves(a, &tenant, &flow));
    let allowed = password_ok
        && bounded
        && user
            .as_ref()
            .is_some_and(|u| u.status == UserStatus::Active && u.tenant_id == tenant.id)
        && partner.as_ref().is_some_and(|p| p.status == Status::Active)
        && serving.is_some();
    let (Some(user), Some(app), true) = (user, serving, allowed) else {
        // The failure keeps its slot; recorded once per email and window when no user holds
        // the email (a flood of unknown emails adds no event per request).
        if owner.is_some() || counts.first_in_window() {
            let event = failure_event(&tenant, owner.as_ref(), &email, meta);
            state.store().put_event(&event).await?;
        } else if let Some(counter) = counts.email_counter() {
            throttle::count_unrecorded(state.store(), counter).await?;
        }
        return Ok(retry(WRONG, StatusCode::UNAUTHORIZED));
    };
    let to = Answering {
        issuer: state.config().tenant_issuer(&tenant.slug),
        path: state.config().tenant_issuer_path(&tenant.slug),
        platform: false,
    };
    let signed_in = start_session(
        state,
        &keys,
        (&tenant, &user, app),
        &flow,
        &counts.slots(),
        &to,
        meta,
    )
    .await?;
    Ok(signed_in.unwrap_or_else(|| retry(WRONG, StatusCode::SERVICE_UNAVAILABLE)))
}

/// The email as the claims hold it (normalised), and whether the email and password are
/// within bounds (beyond, the attempt fails as any other, without a lookup).
pub fn normalised(typed: &str, password: &str) -> (String, bool) {
    let email = Email::parse_str(typed.trim())
        .map(|e| e.as_str().to_owned())
        .unwrap_or_else(|_| typed.trim().to_lowercase());
    // Whatever fails from here is the same message, in about the same time.
    let bounded =
        email.chars().count() <= MAX_EMAIL_CHARS && password.chars().count() <= MAX_PASSWORD_CHARS;
    (email, bounded)
}

/// The client as it is now, and the flow still within it: a redirect URI removed or a scope
/// withdrawn since the flow began stops it.
pub fn still_serves(app: &Application, tenant: &Tenant, flow: &AuthorizationRequest) -> bool {
    app.status == Status::Active
        && sign_in::serves(app, tenant)
        && app.allows_grant("authorization_code")
        && app.redirect_uris.contains(&flow.redirect_uri)
        && flow.scope.iter().all(|s| app.allowed_scopes.contains(s))
}

/// The issuer a sign-in answers for.
pub struct Answering {
    pub issuer: String,
    /// The issuer's cookie path.
    pub path: String,
    pub platform: bool,
}

/// After the password: the client told `access_denied` if it does not admit the user (no
/// session; the attempt recorded as a failure), else the SSO session started in the user's
/// tenant with a code for the client in one transaction (the attempt's `slots` given back),
/// the SSO cookie set, the browser sent to the client with the code. `None` when the tenant or
/// the user changed during the password check (judged afresh next time).
pub async fn start_session(
    state: &AppState,
    keys: &shared::credentials::CredentialKeys,
    (tenant, user, app): (&Tenant, &User, &Application),
    flow: &AuthorizationRequest,
    slots: &[Key],
    to: &Answering,
    meta: &RequestMeta,
) -> Result<Option<Response>, shared::Error> {
    let now = Timestamp::now();
    let checked = Checked {
        redirect_uri: flow.redirect_uri.clone(),
        scope: flow.scope.clone(),
        state: flow.state.clone(),
        nonce: flow.nonce.clone(),
        code_challenge: flow.code_challenge.clone(),
        prompt: Prompt::Default,
        max_age: None,
        login_hint: None,
    };
    if !authorize::admitted(state, app, user).await? {
        // The password was right, and the app is not for this user: no session, the attempt
        // recorded as a failure with its reason, the client told `access_denied`.
        let mut event = failure_event(tenant, Some(&user.id), &user.email, meta);
        event.changes = Some(codes::sign_in_changes("password", app));
        if let Some(changes) = event.changes.as_mut() {
            changes.insert("reason".into(), "not_assigned".into());
        }
        state.store().put_event(&event).await?;
        let cookies = vec![web::cleared(state.config(), sign_in::FLOW_COOKIE, &to.path)];
        return Ok(Some(authorize::not_assigned(&checked, &to.issuer, cookies)));
    }
    let mut session = sso_session(state, tenant, user, now, meta);
    session.applications.push(app.id.clone());
    let issue = Issue {
        app,
        user,
        session: &session,
        request: &checked,
        platform: to.platform,
    };
    let (code, stored) = codes::new_code(state, keys, &issue, now).await?;
    let mut tx = state.store().tx();
    shared::store::sessions::start_in(&mut tx, &session, user.version, now, slots)?;
    tx.put_new(codes::code_item(&stored)?, shared::store::Guard::Item)?;
    let mut event = sign_in_event(user, &session, AuditResult::Success, meta);
    event.changes = Some(codes::sign_in_changes("password", app));
    state.store().add_event(&mut tx, &event)?;
    match state.store().transact(tx).await {
        Ok(()) => {}
        // The tenant moved or was deleted during the password check: judged afresh next time.
        // Or the user changed (a password reset, a suspension) during it: the same.
        Err(err)
            if matches!(
                err.refused_by(),
                Some(shared::store::sessions::TENANT_MOVED | shared::store::sessions::USER_CHANGED)
            ) =>
        {
            return Ok(None);
        }
        Err(err) => return Err(err.into()),
    }
    let cookie = SsoCookie {
        session: session.id.clone(),
        user: user.id.clone(),
        tenant: tenant.id.clone(),
        partner: tenant.partner_id.clone(),
    };
    let cookies = vec![
        web::cookie(
            state.config(),
            sign_in::SSO_COOKIE,
            &cookie.encode(keys),
            &to.path,
            (session.expires_at.unix() - now.unix()).max(0),
        ),
        web::cleared(state.config(), sign_in::FLOW_COOKIE, &to.path),
    ];
    Ok(Some(authorize::answer(
        &flow.redirect_uri,
        &to.issuer,
        flow.state.as_deref(),
        &[("code", &code)],
        cookies,
    )))
}

/// A new SSO session of `user`: it lasts the tenant's `session_timeout_minutes` (else the
/// deployment's session lifetime), ending on the whole minute at or before (the tallies' unit).
fn sso_session(
    state: &AppState,
    tenant: &Tenant,
    user: &User,
    now: Timestamp,
    meta: &RequestMeta,
) -> Session {
    let lifetime = tenant
        .settings
        .get("session_timeout_minutes")
        .and_then(serde_json::Value::as_u64)
        .map(|m| Duration::from_secs(m * 60))
        .unwrap_or(state.config().session_ttl);
    Session {
        id: SessionId::generate(),
        session_type: SessionType::Sso,
        user_id: user.id.clone(),
        email: user.email.clone(),
        tenant_id: tenant.id.clone(),
        partner_id: tenant.partner_id.clone(),
        role: None,
        scope_partner_id: None,
        role_id: None,
        status: SessionStatus::Active,
        created_at: now,
        expires_at: tally::minute_at_or_before(now.plus(lifetime)),
        last_active_at: Some(now),
        refresh_generation: 0,
        // Who may list and end it: those whose reach covers every grant the user holds.
        holder_reach: Some(
            GrantReach::of(&user.admin_roles, &tenant.id, Some(&tenant.partner_id), now).stored(),
        ),
        ip_address: meta.ip_address.clone(),
        user_agent: meta.user_agent.clone(),
        applications: Vec::new(),
    }
}

/// A failed sign-in's event, filed under the tenant (whose admins see attempts on its users).
pub fn failure_event(
    tenant: &Tenant,
    user: Option<&UserId>,
    email: &str,
    meta: &RequestMeta,
) -> AuditEvent {
    let actor = Actor {
        kind: ActorType::User,
        id: user.map(|u| u.to_string()),
        email: Some(email.chars().take(MAX_EMAIL_CHARS).collect()),
    };
    AuditEvent::new(actor, shared::audit::AUTH_LOGIN, None, meta)
        .in_tenant(&tenant.partner_id, &tenant.id)
        .with_result(AuditResult::Failure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_names_each_field_once() {
        let form = Submitted::parse(b"flow=f&email=a%40b.c&password=p%26q").unwrap();
        assert_eq!(
            (
                form.flow.as_str(),
                form.email.as_str(),
                form.password.as_str()
            ),
            ("f", "a@b.c", "p&q")
        );
        assert!(Submitted::parse(b"flow=f&flow=g").is_none());
        assert!(Submitted::parse(b"email=a").is_none(), "no flow");
    }
}
