//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0; SPEC §6.3): `GET|POST
//! {issuer}/oauth/logout` with `id_token_hint`, `post_logout_redirect_uri`, `state`,
//! `client_id`. It ends the browser's SSO session (its refresh tokens end with it: a refresh
//! reads the session), clears the cookie, and sends the browser back only to a URI the client
//! registered — else a signed-out page.
//!
//! Logout CSRF: with an `id_token_hint` of the browser's own session it ends at once; without
//! one it asks first (a form posted back here, which only a same-site page can do with the
//! `SameSite=Lax` cookie).
//!
//! An RP's cross-site form POST arrives without the `SameSite=Lax` cookie: it is answered with a
//! 303 to the same logout by GET (a top-level navigation, which carries the cookie), so the
//! session is found and ended as if the RP had used GET.

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde_json::Value;
use shared::audit::{Actor, ActorType, AuditEvent, RequestMeta};
use shared::ids::ApplicationId;
use shared::sign_in;
use shared::state::AppState;
use shared::store::tally::{self, TenantNow};
use shared::time::Timestamp;

use shared::hierarchy::{AppScope, Session, SessionType, Tenant, User};
use shared::sign_in::SsoCookie;
use shared::store::{Key, keys};
use shared::values::Status;

use crate::authorize::{self, Realm, failure_page, refusal_page};
use crate::pages::{self, Branding};
use crate::request::Params;
use crate::web::{self, Page};

/// How a logout request came.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Get,
    /// A form post; `confirmed` when it is the confirmation page's (`confirm=yes`).
    Post {
        confirmed: bool,
    },
}

/// `GET|POST {issuer}/oauth/logout`: `params` from the query, or the form.
pub async fn logout(
    state: &AppState,
    realm: Realm<'_>,
    headers: &HeaderMap,
    params: Params,
    via: Via,
    meta: &RequestMeta,
) -> Response {
    logout_inner(state, realm, headers, params, via, meta)
        .await
        .unwrap_or_else(failure_page)
}

/// The logout parameters an RP sends (and the confirmation page posts back).
const LOGOUT_PARAMETERS: [&str; 4] = [
    "id_token_hint",
    "post_logout_redirect_uri",
    "state",
    "client_id",
];

/// Where a logout happens, as its request read it: the client (if it names one that may sign
/// in here), the browser's session and user, and the session's tenant.
struct Place {
    branding: Branding,
    app: Option<shared::hierarchy::Application>,
    signed_in: Option<(Session, User)>,
    tenant: Option<Tenant>,
    /// The issuer's cookie path.
    path: String,
}

async fn logout_inner(
    state: &AppState,
    realm: Realm<'_>,
    headers: &HeaderMap,
    params: Params,
    via: Via,
    meta: &RequestMeta,
) -> Result<Response, shared::Error> {
    // Slugs are lower case; the issuer is the tenant's, whatever case the path used. A path
    // that cannot be a slug is nobody's sign-in (before anything else is built from it).
    let slug = match realm {
        Realm::Tenant(slug) => match shared::values::Slug::parse_str(&slug.to_lowercase()) {
            Ok(slug) => Some(slug),
            Err(_) => {
                return Ok(refusal_page(
                    &Branding::plain(),
                    StatusCode::NOT_FOUND,
                    "There is no sign-in at this address.",
                ));
            }
        },
        Realm::Platform => None,
    };
    let slug = slug.as_ref().map(|s| s.as_str());
    let keys = state.credentials().keys().await?;
    let (cookie, unreadable) = authorize::sso_cookie(state.config(), headers, &keys);
    let (issuer, endpoint) = match slug {
        Some(slug) => {
            let issuer = state.config().tenant_issuer(slug);
            let endpoint = format!("{issuer}/oauth/logout");
            (issuer, endpoint)
        }
        None => (
            state.config().token_issuer.clone(),
            format!("{}/logout", state.config().platform_base()),
        ),
    };
    if via == (Via::Post { confirmed: false }) && cookie.is_none() && !unreadable {
        // A cross-site POST carries no Lax cookie: the same logout by GET will.
        let query: Vec<(&str, &str)> = LOGOUT_PARAMETERS
            .into_iter()
            .filter_map(|name| params.get(name).map(|v| (name, v)))
            .collect();
        return Ok(web::see_other(
            &web::with_query(&endpoint, &query),
            Vec::new(),
        ));
    }
    // The ID token hint, if ours and of this issuer, expired or not (a hint usually is); one
    // that does not verify names no client and no session.
    let hint: Option<Value> = match params.get("id_token_hint") {
        Some(token) => state.keys().verify_hint(token, &issuer).await.ok(),
        None => None,
    };
    let hinted_client = hint
        .as_ref()
        .and_then(|h| h.get("aud"))
        .and_then(Value::as_str);
    if let (Some(named), Some(hinted)) = (params.get("client_id"), hinted_client)
        && named != hinted
    {
        return Ok(refusal_page(
            &Branding::plain(),
            StatusCode::BAD_REQUEST,
            "The sign-out request names two different applications.",
        ));
    }
    let client = params
        .get("client_id")
        .or(hinted_client)
        .and_then(|c| ApplicationId::parse(c).ok());
    let place = match slug {
        Some(slug) => {
            let Some(resolved) =
                authorize::resolve(state, slug, client.as_ref(), cookie.as_ref()).await?
            else {
                return Ok(refusal_page(
                    &Branding::plain(),
                    StatusCode::NOT_FOUND,
                    "There is no sign-in at this address.",
                ));
            };
            Place {
                branding: Branding::of(&resolved.tenant),
                app: authorize::serving_client(&resolved).cloned(),
                path: state.config().tenant_issuer_path(&resolved.tenant.slug),
                signed_in: resolved.signed_in,
                tenant: Some(resolved.tenant),
            }
        }
        None => at_platform(state, client.as_ref(), cookie.as_ref()).await?,
    };
    let Place {
        branding,
        app,
        signed_in,
        tenant: session_tenant,
        path,
    } = place;
    // Where to go afterwards: only a URI the client registered, else nowhere.
    let back = params
        .get("post_logout_redirect_uri")
        .filter(|uri| {
            app.as_ref()
                .is_some_and(|a| a.post_logout_redirect_uris.iter().any(|r| r == uri))
        })
        .map(str::to_owned);
    if let Some((session, user)) = &signed_in {
        let hinted = hint
            .as_ref()
            .and_then(|h| h.get("sid"))
            .and_then(Value::as_str)
            == Some(session.id.as_str());
        if !hinted && via != (Via::Post { confirmed: true }) {
            return Ok(confirmation(&branding, &endpoint, &params, back.as_deref()));
        }
        let now = Timestamp::now();
        let tenant = tally::session_counts_at(session.expires_at, now)
            .then(|| TenantNow::of(session_tenant.as_ref()));
        let actor = Actor {
            kind: ActorType::User,
            id: Some(user.id.to_string()),
            email: Some(user.email.clone()),
        };
        let event = AuditEvent::new(
            actor,
            shared::audit::AUTH_LOGOUT,
            Some(session.id.to_string()),
            meta,
        )
        .in_tenant(&session.partner_id, &session.tenant_id);
        match shared::store::sessions::revoke_session(
            state.store(),
            session,
            tenant.as_ref(),
            now,
            &event,
        )
        .await
        {
            // Ended meanwhile (revoked, or its tenant moved): nothing is left to end.
            Ok(()) | Err(shared::store::StoreError::Refused(_)) => {}
            Err(err) => return Err(err.into()),
        }
    }
    let mut cookies = Vec::new();
    if cookie.is_some() || unreadable {
        cookies.push(web::cleared(state.config(), sign_in::SSO_COOKIE, &path));
    }
    if let Some(uri) = back {
        let mut query: Vec<(&str, &str)> = Vec::new();
        if let Some(s) = params.get("state") {
            query.push(("state", s));
        }
        return Ok(web::see_other(&web::with_query(&uri, &query), cookies));
    }
    let nonce = web::nonce();
    Ok(Page {
        status: StatusCode::OK,
        html: pages::signed_out(&branding, &nonce),
        nonce,
        form_target: None,
        cookies,
    }
    .into_response())
}

/// The platform's logout: its client (a GLOBAL application) and the session its cookie names,
/// with the session's user and tenant — one batch.
async fn at_platform(
    state: &AppState,
    client: Option<&ApplicationId>,
    cookie: Option<&SsoCookie>,
) -> Result<Place, shared::Error> {
    let mut wanted: Vec<Key> = client.iter().map(|c| keys::application(c)).collect();
    if let Some(cookie) = cookie {
        wanted.extend([
            keys::session(&cookie.session),
            keys::user(&cookie.user),
            keys::tenant(&cookie.tenant),
        ]);
    }
    let loaded = state.store().load(&wanted).await?;
    let app = match client {
        Some(c) => loaded
            .get::<shared::hierarchy::Application>(&keys::application(c))?
            .filter(|a| a.status == Status::Active && a.scope == AppScope::Global),
        None => None,
    };
    let (signed_in, tenant) = match cookie {
        Some(cookie) => {
            let now = Timestamp::now();
            let session: Option<Session> = loaded.get(&keys::session(&cookie.session))?;
            let user: Option<User> = loaded.get(&keys::user(&cookie.user))?;
            let tenant: Option<Tenant> = loaded.get(&keys::tenant(&cookie.tenant))?;
            let signed_in = match (session, user) {
                (Some(session), Some(user))
                    if session.session_type == SessionType::Sso
                        && session.is_live(now)
                        && session.user_id == user.id
                        && session.tenant_id == cookie.tenant =>
                {
                    Some((session, user))
                }
                _ => None,
            };
            (signed_in, tenant)
        }
        None => (None, None),
    };
    Ok(Place {
        branding: Branding::plain(),
        app,
        signed_in,
        tenant,
        path: state.config().platform_issuer_path(),
    })
}

/// "Sign out?": the request's own parameters posted back with `confirm=yes`.
fn confirmation(
    branding: &Branding,
    endpoint: &str,
    params: &Params,
    back: Option<&str>,
) -> Response {
    let nonce = web::nonce();
    let hidden: Vec<(&str, &str)> = LOGOUT_PARAMETERS
        .into_iter()
        .filter_map(|name| params.get(name).map(|v| (name, v)))
        .collect();
    let body = html! {
        p { "Do you want to sign out of " (branding.name) "?" }
        form method="post" action=(endpoint) {
            @for (name, value) in &hidden {
                input type="hidden" name=(name) value=(value);
            }
            input type="hidden" name="confirm" value="yes";
            button type="submit" { "Sign out" }
        }
    };
    Page {
        status: StatusCode::OK,
        html: pages::confirm(branding, &nonce, "Sign out", body),
        nonce,
        form_target: back.and_then(web::origin_of),
        cookies: Vec::new(),
    }
    .into_response()
}
