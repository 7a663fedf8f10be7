//! The platform's hosted login (SPEC §6.1): GLOBAL applications sign in users of any tenant at
//! the platform's issuer, `{public_url}/api/v1/platform/oauth`. The form asks for the email
//! first, then for the password — the same second page whatever the email, so nothing tells
//! whether an account exists. The password is then tried in each tenant holding the email (one
//! Query of the email claims' index, `shared::store::emails`): one match signs in there; several
//! let the browser pick among them (and only them: the choice is offered after the password
//! proved each). The session, its cookie (the platform's path) and the code are the tenant
//! login's, with the platform's issuer.
//!
//! Protections as the tenant login's: throttled per (email, address) and per email (counted
//! under the platform's own partition), one message for every failure, a placeholder password
//! check when no tenant holds the email, suspended users, tenants and partners refused, the
//! form bound to the browser's flow cookie.

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use shared::audit::{Actor, ActorType, AuditEvent, AuditResult, RequestMeta};
use shared::credentials::CredentialKeys;
use shared::hierarchy::{AppScope, Application, Partner, Tenant, User, UserStatus};
use shared::ids::TenantId;
use shared::sign_in::{self, AuthorizationRequest, TenantChoice};
use shared::state::AppState;
use shared::store::emails::{self, Holders};
use shared::store::{Key, keys};
use shared::throttle::{self, THROTTLED, Throttle};
use shared::time::Timestamp;
use shared::values::Status;

use crate::authorize::{failure_page, refusal_page};
use crate::login::{self, Answering, EXPIRED, WRONG};
use crate::pages::{self, Branding};
use crate::web::{self, Page};

/// The platform login's form, as posted: the email step (`flow`, `email`), the password step
/// (with `password`), or the choice of tenant (`choice`, `tenant`).
pub struct Posted {
    pub flow: String,
    pub email: String,
    pub password: Option<String>,
    pub choice: Option<String>,
    pub tenant: Option<String>,
}

impl Posted {
    /// `None` when the flow is missing or a field is repeated.
    pub fn parse(body: &[u8]) -> Option<Self> {
        let [flow, email, password, choice, tenant] =
            web::form_fields(body, ["flow", "email", "password", "choice", "tenant"])?;
        Some(Self {
            flow: flow?,
            email: email.unwrap_or_default(),
            password,
            choice,
            tenant,
        })
    }
}

fn action(state: &AppState) -> String {
    format!("{}/login", state.config().platform_base())
}

fn answering(state: &AppState) -> Answering {
    Answering {
        issuer: state.config().token_issuer.clone(),
        path: state.config().platform_issuer_path(),
        platform: true,
    }
}

fn page_of(
    status: StatusCode,
    html: impl FnOnce(&str) -> maud::Markup,
    flow: &AuthorizationRequest,
) -> Response {
    let nonce = web::nonce();
    Page {
        status,
        html: html(&nonce),
        nonce,
        form_target: web::origin_of(&flow.redirect_uri),
        cookies: Vec::new(),
    }
    .into_response()
}

/// The platform's flow the request carries, if signed for this browser and still open.
fn platform_flow(
    state: &AppState,
    headers: &HeaderMap,
    token: &str,
    keys: &CredentialKeys,
) -> Option<AuthorizationRequest> {
    login::flow_of(state.config(), headers, token, keys, Timestamp::now())
        .filter(|flow| flow.platform && flow.tenant.is_none())
}

fn expired() -> Response {
    refusal_page(&Branding::plain(), StatusCode::BAD_REQUEST, EXPIRED)
}

/// `GET {platform issuer}/login?flow=…`: the email step.
pub async fn page(state: &AppState, headers: &HeaderMap, flow_token: &str) -> Response {
    let result = async {
        let keys = state.credentials().keys().await?;
        let Some(flow) = platform_flow(state, headers, flow_token, &keys) else {
            return Ok(expired());
        };
        let action = action(state);
        Ok::<_, shared::Error>(page_of(
            StatusCode::OK,
            |nonce| {
                pages::email_step(
                    &Branding::plain(),
                    nonce,
                    &action,
                    flow_token,
                    flow.login_hint.as_deref(),
                )
            },
            &flow,
        ))
    }
    .await;
    result.unwrap_or_else(failure_page)
}

/// `POST {platform issuer}/login`.
pub async fn submit(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    meta: &RequestMeta,
) -> Response {
    submit_inner(state, headers, body, meta)
        .await
        .unwrap_or_else(failure_page)
}

async fn submit_inner(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    meta: &RequestMeta,
) -> Result<Response, shared::Error> {
    let keys = state.credentials().keys().await?;
    let Some(form) = Posted::parse(body) else {
        return Ok(expired());
    };
    let Some(flow) = platform_flow(state, headers, &form.flow, &keys) else {
        return Ok(expired());
    };
    if let (Some(choice), Some(tenant)) = (&form.choice, &form.tenant) {
        return picked(state, &keys, &flow, (choice, tenant), meta).await;
    }
    let Some(password) = &form.password else {
        // The email step: the password form, whatever the email (no lookup at all).
        return Ok(password_form(state, &flow, &form, None, StatusCode::OK));
    };
    password_step(state, &keys, &flow, &form, password, meta).await
}

fn password_form(
    state: &AppState,
    flow: &AuthorizationRequest,
    form: &Posted,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let action = action(state);
    let email = form.email.trim();
    page_of(
        status,
        |nonce| {
            pages::login(
                &Branding::plain(),
                nonce,
                &action,
                &form.flow,
                Some(email),
                error,
            )
        },
        flow,
    )
}

/// A user of the email, in its tenant.
type Account = (Tenant, User);

/// Said when an email is held in more tenants than the platform's login tries.
const TOO_MANY: &str = "This email address is used in too many organisations to sign in here. Sign in at your organisation's own sign-in page.";

/// The password, tried in every tenant holding the email.
async fn password_step(
    state: &AppState,
    keys: &CredentialKeys,
    flow: &AuthorizationRequest,
    form: &Posted,
    password: &str,
    meta: &RequestMeta,
) -> Result<Response, shared::Error> {
    let now = Timestamp::now();
    let (email, bounded) = login::normalised(&form.email, password);
    let throttle = Throttle::new(
        keys::platform_sign_in_partition(if bounded { &email } else { "" }),
        meta.ip_address.as_deref(),
        now.unix(),
    );
    let mut wanted = vec![keys::application(&flow.client_id)];
    wanted.extend(throttle.keys());
    let (first, holders) = tokio::join!(state.store().load(&wanted), async {
        if bounded {
            emails::holders(state.store(), &email).await
        } else {
            Ok(Holders::Found(Vec::new()))
        }
    });
    let (first, holders) = (first?, holders?);
    let app: Option<Application> = first.get(&keys::application(&flow.client_id))?;
    let counts = throttle.counts(&first);
    let (holders, too_many) = match holders {
        Holders::Found(holders) => (holders, false),
        Holders::TooMany => (Vec::new(), true),
    };
    // The holders' users and tenants (a placeholder for an unknown email: every attempt makes
    // the same calls), read while the attempt takes its slot.
    let mut second_keys: Vec<Key> = holders
        .iter()
        .flat_map(|(tenant, user)| [keys::tenant(tenant), keys::user(user)])
        .collect();
    if second_keys.is_empty() {
        second_keys.push(Key::new("USER#none", "USER"));
    }
    let (reserved, second) = tokio::join!(
        throttle.reserve(state.store(), &counts),
        state.store().load(&second_keys)
    );
    match reserved {
        Ok(()) => {}
        Err(err) if err.refused_by() == Some(THROTTLED) => {
            let seconds = throttle.retry_after(state.store(), &counts).await?;
            let message = format!(
                "Too many attempts. Try again in {} minutes.",
                seconds.div_ceil(60)
            );
            let response = password_form(
                state,
                flow,
                form,
                Some(&message),
                StatusCode::TOO_MANY_REQUESTS,
            );
            return Ok(web::retry_after(response, seconds));
        }
        Err(err) => return Err(err.into()),
    }
    if too_many {
        return Ok(password_form(
            state,
            flow,
            form,
            Some(TOO_MANY),
            StatusCode::UNAUTHORIZED,
        ));
    }
    let second = second?;
    // Every account the email names, whatever its state, has its password checked (as at a
    // tenant's login); one placeholder check when there is none.
    let mut accounts: Vec<Account> = Vec::new();
    for (tenant_id, user_id) in &holders {
        let tenant: Option<Tenant> = second.get(&keys::tenant(tenant_id))?;
        let user: Option<User> = second.get(&keys::user(user_id))?;
        if let (Some(tenant), Some(user)) = (tenant, user)
            && user.tenant_id == tenant.id
            && user.email == email
        {
            accounts.push((tenant, user));
        }
    }
    if accounts.is_empty() {
        shared::password::verify_blocking(password.to_owned(), None).await;
    }
    let mut proved = Vec::new();
    let mut refused = Vec::new();
    for (tenant, user) in accounts {
        let ok = shared::password::verify_blocking(password.to_owned(), user.password_hash.clone())
            .await;
        if ok && bounded {
            proved.push((tenant, user));
        } else {
            refused.push((tenant, user));
        }
    }
    let partners = partners_of(state, &proved).await?;
    let (open, closed): (Vec<_>, Vec<_>) = proved.into_iter().partition(|(tenant, user)| {
        user.status == UserStatus::Active
            && tenant.status == Status::Active
            && partners.iter().any(|p| p.id == tenant.partner_id)
            && app.as_ref().is_some_and(|a| {
                a.scope == AppScope::Global && login::still_serves(a, tenant, flow)
            })
    });
    let (Some(app), Some((tenant, user))) = (app.as_ref(), open.first()) else {
        record_failure(state, &email, (&refused, &closed), &counts, meta).await?;
        return Ok(password_form(
            state,
            flow,
            form,
            Some(WRONG),
            StatusCode::UNAUTHORIZED,
        ));
    };
    if open.len() > 1 {
        // The password is proved: the attempt's slots go back now (the session, when the
        // choice is made, starts without them).
        throttle::give_back(state.store(), &counts.slots()).await?;
        let choice = TenantChoice {
            options: open
                .iter()
                .map(|(t, u)| (t.id.clone(), u.id.clone(), u.version))
                .collect(),
            binding: flow.binding.clone(),
            expires_at: now.unix() + sign_in::CHOICE_LIFETIME_SECONDS,
        };
        let organisations: Vec<(String, String)> = open
            .iter()
            .map(|(t, _)| (t.id.to_string(), Branding::of(t).name))
            .collect();
        let action = action(state);
        let token = choice.encode(keys);
        return Ok(page_of(
            StatusCode::OK,
            |nonce| {
                pages::pick_tenant(
                    &Branding::plain(),
                    nonce,
                    &action,
                    (&form.flow, &token),
                    &organisations,
                )
            },
            flow,
        ));
    }
    let signed_in = login::start_session(
        state,
        keys,
        (tenant, user, app),
        flow,
        &counts.slots(),
        &answering(state),
        meta,
    )
    .await?;
    Ok(signed_in.unwrap_or_else(|| {
        password_form(
            state,
            flow,
            form,
            Some(WRONG),
            StatusCode::SERVICE_UNAVAILABLE,
        )
    }))
}

/// A failed platform login, recorded: where the password was right but the account may not
/// sign in (suspended, its tenant or partner not active, the client not serving), in that
/// account's tenant as its own login would; where it was wrong, in each tenant holding the
/// email — but only when no account proved it (the person typing is then nobody's user, and
/// not one tenant's user being watched by another), and without the address and browser it
/// came from. An email no tenant holds: recorded at the platform once per window (a flood of
/// unknown emails adds no event per request).
async fn record_failure(
    state: &AppState,
    email: &str,
    (refused, closed): (&[Account], &[Account]),
    counts: &throttle::Counts,
    meta: &RequestMeta,
) -> Result<(), shared::Error> {
    if refused.is_empty() && closed.is_empty() {
        if counts.first_in_window() {
            state
                .store()
                .put_event(&unknown_email_event(email, meta))
                .await?;
        } else if let Some(counter) = counts.email_counter() {
            throttle::count_unrecorded(state.store(), counter).await?;
        }
        return Ok(());
    }
    for (tenant, user) in closed {
        let event = login::failure_event(tenant, Some(&user.id), email, meta);
        state.store().put_event(&event).await?;
    }
    if closed.is_empty() {
        let anonymous = RequestMeta {
            ip_address: None,
            user_agent: None,
            ..meta.clone()
        };
        for (tenant, user) in refused {
            let event = login::failure_event(tenant, Some(&user.id), email, &anonymous);
            state.store().put_event(&event).await?;
        }
    }
    Ok(())
}

/// The ACTIVE partners of the tenants whose password matched (one batch; none when none did).
async fn partners_of(
    state: &AppState,
    proved: &[(Tenant, User)],
) -> Result<Vec<Partner>, shared::Error> {
    let wanted: Vec<Key> = proved
        .iter()
        .map(|(t, _)| keys::partner(&t.partner_id))
        .collect();
    let loaded = state.store().load(&wanted).await?;
    let mut partners = Vec::new();
    for key in &wanted {
        if let Some(partner) = loaded.get::<Partner>(key)?
            && partner.status == Status::Active
        {
            partners.push(partner);
        }
    }
    Ok(partners)
}

/// The browser picked one of the tenants its password was proved in: everything is judged
/// again as it is now (one batch, then the partner), and the session starts there.
async fn picked(
    state: &AppState,
    keys: &CredentialKeys,
    flow: &AuthorizationRequest,
    (choice, picked): (&str, &str),
    meta: &RequestMeta,
) -> Result<Response, shared::Error> {
    let Some(choice) = TenantChoice::decode(choice, keys, &flow.binding, Timestamp::now()) else {
        return Ok(expired());
    };
    let Some((tenant_id, user_id, version)) = TenantId::parse(picked)
        .ok()
        .and_then(|t| choice.options.into_iter().find(|(id, _, _)| *id == t))
    else {
        return Ok(expired());
    };
    let wanted = [
        keys::tenant(&tenant_id),
        keys::user(&user_id),
        keys::application(&flow.client_id),
    ];
    let loaded = state.store().load(&wanted).await?;
    let tenant: Option<Tenant> = loaded.get(&keys::tenant(&tenant_id))?;
    let user: Option<User> = loaded.get(&keys::user(&user_id))?;
    let app: Option<Application> = loaded.get(&keys::application(&flow.client_id))?;
    let (Some(tenant), Some(user), Some(app)) = (tenant, user, app) else {
        return Ok(expired());
    };
    let partners = partners_of(state, &[(tenant.clone(), user.clone())]).await?;
    // The user as its password was proved: a reset (or any change) since ends the choice.
    let open = user.version == version
        && tenant.status == Status::Active
        && user.status == UserStatus::Active
        && user.tenant_id == tenant.id
        && !partners.is_empty()
        && app.scope == AppScope::Global
        && login::still_serves(&app, &tenant, flow);
    if !open {
        return Ok(expired());
    }
    let signed_in = login::start_session(
        state,
        keys,
        (&tenant, &user, &app),
        flow,
        &[],
        &answering(state),
        meta,
    )
    .await?;
    Ok(signed_in.unwrap_or_else(expired))
}

/// A failed attempt on an email no tenant holds: filed at the platform.
fn unknown_email_event(email: &str, meta: &RequestMeta) -> AuditEvent {
    let actor = Actor {
        kind: ActorType::User,
        id: None,
        email: Some(email.chars().take(login::MAX_EMAIL_CHARS).collect()),
    };
    AuditEvent::new(actor, shared::audit::AUTH_LOGIN, None, meta).with_result(AuditResult::Failure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_tells_its_step_by_its_fields() {
        let email = Posted::parse(b"flow=f&email=a%40b.c").unwrap();
        assert_eq!(email.password, None);
        let password = Posted::parse(b"flow=f&email=a%40b.c&password=").unwrap();
        assert_eq!(password.password.as_deref(), Some(""));
        let pick = Posted::parse(b"flow=f&choice=c&tenant=t").unwrap();
        assert_eq!(
            (pick.choice.as_deref(), pick.tenant.as_deref()),
            (Some("c"), Some("t"))
        );
        assert!(Posted::parse(b"flow=f&tenant=a&tenant=b").is_none());
        assert!(Posted::parse(b"email=a").is_none(), "no flow");
    }
}
