//! Sign in with ScaiKey (SPEC §6): a tenant's OpenID Provider driven as a browser and a relying
//! party would — authorize, the hosted login, the SSO cookie, the code exchange with PKCE, ID
//! and access tokens, userinfo, refresh rotation and reuse, revocation, introspection, logout —
//! and the unhappy paths: unknown clients and redirect URIs, replayed codes, other tenants'
//! tokens, forged flows, revoked sessions.

use std::collections::HashMap;

use api_tests::*;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use data_encoding::{BASE64, BASE64URL_NOPAD};
use serde_json::{Value, json};

const PASSWORD: &str = "a-long-enough-password";
const CALLBACK: &str = "https://app.example/cb";
const AFTER_LOGOUT: &str = "https://app.example/bye";
const PUBLIC_URL: &str = "http://127.0.0.1:3000";
// RFC 7636, appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn issuer(slug: &str) -> String {
    format!("{PUBLIC_URL}/api/v1/auth/tenants/{slug}")
}

/// A browser: its cookies (name → value), sent with every request.
#[derive(Default, Clone)]
struct Browser {
    cookies: HashMap<String, String>,
}

impl Browser {
    fn absorb(&mut self, reply: &Reply) {
        for value in reply.headers.get_all("set-cookie") {
            let text = value.to_str().unwrap();
            let (pair, attributes) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    fn header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn get(&mut self, app: &TestApp, url: &str) -> Reply {
        let path = url.strip_prefix(PUBLIC_URL).unwrap_or(url);
        let request = Request::builder()
            .method(Method::GET)
            .uri(path)
            .header("cookie", self.header())
            .body(Body::empty())
            .unwrap();
        let reply = app.send(request).await;
        self.absorb(&reply);
        reply
    }

    async fn post_form(&mut self, app: &TestApp, url: &str, form: &[(&str, &str)]) -> Reply {
        let path = url.strip_prefix(PUBLIC_URL).unwrap_or(url);
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header("cookie", self.header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        let reply = app.send(request).await;
        self.absorb(&reply);
        reply
    }
}

fn location(reply: &Reply) -> String {
    reply.headers["location"].to_str().unwrap().to_owned()
}

/// The query of a redirect, as a map.
fn query_of(url: &str) -> HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn claims(token: &str) -> Value {
    serde_json::from_slice(
        &BASE64URL_NOPAD
            .decode(token.split('.').nth(1).unwrap().as_bytes())
            .unwrap(),
    )
    .unwrap()
}

/// The hidden `flow` of a login page.
fn flow_of(page: &Reply) -> String {
    let html = page.body.as_str().unwrap();
    let start = html.find("name=\"flow\" value=\"").unwrap() + "name=\"flow\" value=\"".len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_owned()
}

struct Rp {
    client_id: String,
    secret: String,
}

struct SignIn {
    w: World,
    rp: Rp,
    user: String,
}

async fn setup() -> Option<SignIn> {
    let w = world().await?;
    let root = w.root.clone();
    let user = w
        .app
        .post(
            "/api/v1/admin/users",
            &root,
            json!({"tenant_id": w.acme_hq, "email": "ann@acme.test", "password": PASSWORD,
                   "first_name": "Ann", "last_name": "Lee", "email_verified": true}),
        )
        .await;
    assert_eq!(user.status, StatusCode::CREATED, "{}", user.body);
    let created = w
        .app
        .post(
            "/api/v1/admin/applications",
            &root,
            json!({"name": "Portal", "scope": "TENANT", "tenant_id": w.acme_hq,
                   "application_type": "WEB", "redirect_uris": [CALLBACK],
                   "post_logout_redirect_uris": [AFTER_LOGOUT],
                   "allowed_scopes": ["openid", "profile", "email", "groups", "offline_access"],
                   "grant_types": ["authorization_code", "refresh_token"]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    Some(SignIn {
        rp: Rp {
            client_id: created.id(),
            secret: created.body["client_secret"].as_str().unwrap().to_owned(),
        },
        user: user.id(),
        w,
    })
}

fn authorize_url(slug: &str, client: &str, extra: &str) -> String {
    format!(
        "{}/oauth/authorize?response_type=code&client_id={client}&redirect_uri={}&scope=openid%20profile%20email&state=st-1&nonce=n-1&code_challenge={CHALLENGE}&code_challenge_method=S256{extra}",
        issuer(slug),
        url::form_urlencoded::byte_serialize(CALLBACK.as_bytes()).collect::<String>()
    )
}

/// Authorize → the login page → the form posted: the redirect to the callback.
async fn sign_in(app: &TestApp, browser: &mut Browser, client: &str, password: &str) -> Reply {
    let to_login = browser
        .get(app, &authorize_url("acme-hq", client, ""))
        .await;
    assert_eq!(to_login.status, StatusCode::SEE_OTHER, "{}", to_login.body);
    let page = browser.get(app, &location(&to_login)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let flow = flow_of(&page);
    browser
        .post_form(
            app,
            &format!("{}/login", issuer("acme-hq")),
            &[
                ("flow", &flow),
                ("email", "Ann@Acme.test"),
                ("password", password),
            ],
        )
        .await
}

fn basic(rp: &Rp) -> String {
    format!(
        "Basic {}",
        BASE64.encode(format!("{}:{}", rp.client_id, rp.secret).as_bytes())
    )
}

async fn token(app: &TestApp, rp: &Rp, form: &[(&str, &str)]) -> Reply {
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/auth/tenants/acme-hq/oauth/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", basic(rp))
        .body(Body::from(body))
        .unwrap();
    app.send(request).await
}

async fn exchange(app: &TestApp, rp: &Rp, code: &str) -> Reply {
    token(
        app,
        rp,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", VERIFIER),
        ],
    )
    .await
}

async fn userinfo(app: &TestApp, slug: &str, access: &str) -> Reply {
    app.call(
        Method::GET,
        &format!("/api/v1/auth/tenants/{slug}/oauth/userinfo"),
        Some(access),
        None,
    )
    .await
}

#[tokio::test]
async fn a_user_signs_in_refreshes_reads_userinfo_and_signs_out() {
    let Some(s) = setup().await else { return };
    let app = &s.w.app;
    let mut browser = Browser::default();
    let done = sign_in(app, &mut browser, &s.rp.client_id, PASSWORD).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let back = location(&done);
    assert!(back.starts_with(CALLBACK), "{back}");
    let answer = query_of(&back);
    assert_eq!(answer["state"], "st-1");
    assert_eq!(answer["iss"], issuer("acme-hq"), "RFC 9207");
    let sso = done
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("scaikey_sso="))
        .expect("the SSO cookie");
    assert!(
        sso.contains("HttpOnly") && sso.contains("SameSite=Lax"),
        "{sso}"
    );
    assert!(sso.contains("Path=/api/v1/auth/tenants/acme-hq"), "{sso}");
    assert!(
        !browser.cookies.contains_key("scaikey_flow"),
        "the flow cookie is cleared"
    );

    // The code exchange: two round trips (batch; transaction).
    let calls = app.calls();
    let tokens = exchange(app, &s.rp, &answer["code"]).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    assert_eq!(
        app.calls() - calls,
        2,
        "code + client batch, then one transaction"
    );
    assert_eq!(tokens.headers["cache-control"], "no-store");
    let id = claims(tokens.body["id_token"].as_str().unwrap());
    assert_eq!(id["iss"], issuer("acme-hq"));
    assert_eq!(id["aud"], s.rp.client_id.as_str());
    assert_eq!(id["sub"], s.user.as_str());
    assert_eq!(id["nonce"], "n-1");
    assert_eq!(id["email"], "ann@acme.test");
    assert_eq!(id["given_name"], "Ann");
    assert_eq!(id["tenant_id"], s.w.acme_hq.as_str());
    assert!(id["auth_time"].is_i64() && id["sid"].is_string());
    let access = tokens.body["access_token"].as_str().unwrap().to_owned();
    let access_claims = claims(&access);
    assert_eq!(access_claims["aud"], s.rp.client_id.as_str());
    assert_eq!(access_claims["scope"], "openid profile email");
    // The admin API takes no user token.
    assert_eq!(
        app.get("/api/v1/admin/tenants", &access).await.status,
        StatusCode::FORBIDDEN
    );

    let info = userinfo(app, "acme-hq", &access).await;
    assert_eq!(info.status, StatusCode::OK, "{}", info.body);
    assert_eq!(info.body["sub"], s.user.as_str());
    assert_eq!(info.body["email_verified"], true);
    assert_eq!(info.body["name"], "Ann Lee");
    // Another tenant's issuer does not know the token.
    let foreign = userinfo(app, "globex-hq", &access).await;
    assert_eq!(foreign.status, StatusCode::UNAUTHORIZED);
    assert!(
        foreign.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );

    // Refresh: rotated, two round trips; the old token used again ends the chain.
    let first_refresh = tokens.body["refresh_token"].as_str().unwrap().to_owned();
    let calls = app.calls();
    let refreshed = token(
        app,
        &s.rp,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &first_refresh),
        ],
    )
    .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    assert_eq!(app.calls() - calls, 2);
    let second_refresh = refreshed.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second_refresh, first_refresh);
    let reused = token(
        app,
        &s.rp,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &first_refresh),
        ],
    )
    .await;
    assert_eq!(reused.status, StatusCode::BAD_REQUEST);
    assert_eq!(reused.body["error"], "invalid_grant");
    let after_reuse = token(
        app,
        &s.rp,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &second_refresh),
        ],
    )
    .await;
    assert_eq!(
        after_reuse.body["error"], "invalid_grant",
        "the whole chain ended"
    );
    assert_eq!(
        userinfo(app, "acme-hq", &access).await.status,
        StatusCode::UNAUTHORIZED,
        "its access tokens too"
    );

    // A returning browser: the SSO cookie answers at once — one batch and one write.
    let calls = app.calls();
    let again = browser
        .get(app, &authorize_url("acme-hq", &s.rp.client_id, ""))
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert!(
        location(&again).starts_with(CALLBACK),
        "{}",
        location(&again)
    );
    assert_eq!(app.calls() - calls, 2, "one batch, one transaction");
    let tokens = exchange(app, &s.rp, &query_of(&location(&again))["code"]).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);

    // RP-initiated logout with the ID token as hint: the session ends, the cookie goes, the
    // browser returns to the registered URI with its state.
    let hint = tokens.body["id_token"].as_str().unwrap();
    let bye = browser
        .get(
            app,
            &format!(
                "{}/oauth/logout?id_token_hint={hint}&post_logout_redirect_uri={}&state=bye-1",
                issuer("acme-hq"),
                url::form_urlencoded::byte_serialize(AFTER_LOGOUT.as_bytes()).collect::<String>()
            ),
        )
        .await;
    assert_eq!(bye.status, StatusCode::SEE_OTHER, "{}", bye.body);
    assert_eq!(location(&bye), format!("{AFTER_LOGOUT}?state=bye-1"));
    assert!(!browser.cookies.contains_key("scaikey_sso"));
    let access = tokens.body["access_token"].as_str().unwrap();
    assert_eq!(
        userinfo(app, "acme-hq", access).await.status,
        StatusCode::UNAUTHORIZED
    );
    let refresh = tokens.body["refresh_token"].as_str().unwrap();
    let ended = token(
        app,
        &s.rp,
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await;
    assert_eq!(
        ended.body["error"], "invalid_grant",
        "refresh tokens end with the session"
    );
    // Signing in again asks for the password.
    let again = browser
        .get(app, &authorize_url("acme-hq", &s.rp.client_id, ""))
        .await;
    assert!(
        location(&again).contains("/login?flow="),
        "{}",
        location(&again)
    );
}

#[tokio::test]
async fn a_replayed_code_is_refused_and_revokes_what_it_issued() {
    let Some(s) = setup().await else { return };
    let app = &s.w.app;
    let mut browser = Browser::default();
    let done = sign_in(app, &mut browser, &s.rp.client_id, PASSWORD).await;
    let code = query_of(&location(&done))["code"].clone();
    let tokens = exchange(app, &s.rp, &code).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    let access = tokens.body["access_token"].as_str().unwrap();
    let replay = exchange(app, &s.rp, &code).await;
    assert_eq!(
        (replay.status, replay.body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    assert_eq!(
        userinfo(app, "acme-hq", access).await.status,
        StatusCode::UNAUTHORIZED
    );
    let events = app.snapshot().await;
    assert!(
        events.values().any(|i| i["action"] == "auth.token_reuse"),
        "the reuse is audited"
    );
}

#[tokio::test]
async fn codes_are_bound_to_their_client_redirect_uri_and_verifier() {
    let Some(s) = setup().await else { return };
    let app = &s.w.app;
    let mut browser = Browser::default();
    let done = sign_in(app, &mut browser, &s.rp.client_id, PASSWORD).await;
    let code = query_of(&location(&done))["code"].clone();
    for (form, why) in [
        (
            vec![
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", CALLBACK),
                ("code_verifier", "x".repeat(43).as_str()),
            ],
            "wrong verifier",
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", "https://app.example/other"),
                ("code_verifier", VERIFIER),
            ],
            "wrong redirect_uri",
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", CALLBACK),
            ],
            "no verifier",
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("code", "forged"),
                ("redirect_uri", CALLBACK),
                ("code_verifier", VERIFIER),
            ],
            "forged code",
        ),
    ] {
        let reply = token(app, &s.rp, &form).await;
        assert_eq!(
            reply.body["error"], "invalid_grant",
            "{why}: {}",
            reply.body
        );
    }
    // A wrong secret is the client's failure, not the code's.
    let wrong = Rp {
        client_id: s.rp.client_id.clone(),
        secret: "not-the-secret".into(),
    };
    let reply = exchange(app, &wrong, &code).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    // The failures above did not use the code up.
    assert_eq!(exchange(app, &s.rp, &code).await.status, StatusCode::OK);
}

#[tokio::test]
async fn unknown_clients_and_redirect_uris_get_a_page_and_the_rest_a_redirect() {
    let Some(s) = setup().await else { return };
    let app = &s.w.app;
    let mut browser = Browser::default();
    for url in [
        authorize_url("acme-hq", "app_01kb2z8hqv3m4n5p6r7s8t9w0g", ""),
        authorize_url("acme-hq", "not-an-id", ""),
        authorize_url("acme-hq", &s.rp.client_id, "")
            .replace("app.example%2Fcb", "evil.example%2Fcb"),
        // A TENANT app of acme-hq is not globex's.
        authorize_url("globex-hq", &s.rp.client_id, ""),
        // No tenant at all, or no slug.
        authorize_url("nowhere", &s.rp.client_id, ""),
        authorize_url(&"x".repeat(3_000), &s.rp.client_id, ""),
    ] {
        let reply = browser.get(app, &url).await;
        assert!(reply.status.is_client_error(), "{url}: {}", reply.status);
        assert!(
            reply.headers.get("location").is_none(),
            "never redirected: {url}"
        );
        let csp = reply.headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(reply.body.as_str().unwrap().contains("<html lang=\"en\">"));
    }
    for (extra, error) in [
        ("&prompt=none", "login_required"),
        ("&scope=admin:write", "invalid_scope"),
    ] {
        let url = authorize_url("acme-hq", &s.rp.client_id, extra).replace(
            "&scope=openid%20profile%20email",
            if extra.contains("scope") {
                ""
            } else {
                "&scope=openid"
            },
        );
        let reply = browser.get(app, &url).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{extra}");
        let answer = query_of(&location(&reply));
        assert_eq!(answer["error"], error, "{extra}");
        assert_eq!(answer["state"], "st-1");
        assert_eq!(answer["iss"], issuer("acme-hq"));
    }
}

#[tokio::test]
async fn the_login_page_is_safe_and_its_form_bound_to_the_browser() {
    let Some(s) = setup().await else { return };
    let app = &s.w.app;
    let mut browser = Browser::default();
    let to_login = browser
        .get(
            app,
            &authorize_url("acme-hq", &s.rp.client_id, "&login_hint=ann%40acme.test"),
        )
        .await;
    let page = browser.get(app, &location(&to_login)).await;
    assert_eq!(page.status, StatusCode::OK);
    for (header, wanted) in [
        ("cache-control", "no-store"),
        ("x-frame-options", "DENY"),
        ("content-type", "text/html; charset=utf-8"),
    ] {
        assert_eq!(page.headers[header], wanted, "{header}");
    }
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    for part in [
        "default-src 'none'",
        "frame-ancestors 'none'",
        "form-action 'self' https://app.example",
    ] {
        assert!(csp.contains(part), "{csp}");
    }
    let html = page.body.as_str().unwrap();
    assert!(html.contains("<html lang=\"en\">"));
    assert!(
        html.contains("value=\"ann@acme.test\""),
        "login_hint prefills the email"
    );
    assert!(!html.contains("<script"));
    let flow = flow_of(&page);

    // Another browser (no flow cookie) posting the same form: refused.
    let mut other = Browser::default();
    let stolen = other
        .post_form(
            app,
            &format!("{}/login", issuer("acme-hq")),
            &[
                ("flow", &flow),
                ("email", "ann@acme.test"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(stolen.status, StatusCode::BAD_REQUEST);
    assert!(stolen.headers.get("location").is_none());
    // A wrong password: the form again, one message, no cookie; the right one then works.
    let wrong = browser
        .post_form(
            app,
            &format!("{}/login", issuer("acme-hq")),
            &[
                ("flow", &flow),
                ("email", "ann@acme.test"),
                ("password", "not-the-password"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(
        wrong
            .body
            .as_str()
            .unwrap()
            .contains("The email address or password is incorrect.")
    );
    let unknown = browser
        .post_form(
            app,
            &format!("{}/login", issuer("acme-hq")),
            &[
                ("flow", &flow),
                ("email", "nobody@acme.test"),
                ("password", "not-the-password"),
            ],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    // The same page (but the email typed and the style nonce): unknown emails are not told.
    let page_without = |reply: &Reply, email: &str| {
        let html = reply.body.as_str().unwrap().replace(email, "EMAIL");
        let start = html.find("nonce=\"").unwrap();
        let end = html[start + 7..].find('"').unwrap() + start + 7;
        format!("{}{}", &html[..start], &html[end..])
    };
    assert_eq!(
        page_without(&unknown, "nobody@acme.test"),
        page_without(&wrong, "ann@acme.test")
    );
    assert!(!browser.cookies.contains_key("scaikey_sso"));
    let right = browser
        .post_form(
            app,
            &format!("{}/login", issuer("acme-hq")),
            &[
                ("flow", &flow),
                ("email", "ann@acme.test"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(right.status, StatusCode::SEE_OTHER, "{}", right.body);
    let events = app.snapshot().await;
    let logins: Vec<&Value> = events
        .values()
        .filter(|i| i["action"] == "auth.login")
        .collect();
    assert!(
        logins
            .iter()
            .any(|e| e["result"] == "FAILURE" && e["actor"]["type"] == "user")
    );
    assert!(logins.iter().any(|e| e["result"] == "SUCCESS"
        && e["actor"]["type"] == "user"
        && e["tenant_id"] == s.w.acme_hq.as_str()));
}

#[tokio::test]
async fn a_suspended_user_or_a_revoked_session_signs_in_no_more() {
    let Some(s) = setup().await else { return };
    let app = &s.w.app;
    let root = s.w.root.as_str();
    let mut browser = Browser::default();
    let done = sign_in(app, &mut browser, &s.rp.client_id, PASSWORD).await;
    let tokens = exchange(app, &s.rp, &query_of(&location(&done))["code"]).await;
    let session = claims(tokens.body["access_token"].as_str().unwrap())["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    // The admin API lists it as an SSO session with the application signed in through it, and
    // the dashboard counts it.
    let listed = app
        .get(
            &format!("/api/v1/admin/sessions?tenant_id={}", s.w.acme_hq),
            root,
        )
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let item = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == session.as_str())
        .cloned()
        .expect("the SSO session is listed");
    assert_eq!(item["session_type"], "SSO");
    assert_eq!(item["applications"], json!([s.rp.client_id]));
    assert_eq!(item["user_email"], "ann@acme.test");
    let stats = app.get("/api/v1/admin/dashboard/stats", root).await;
    assert_eq!(
        stats.body["active_sessions"], 2,
        "the admin's and the SSO session"
    );
    // The admin API ends the SSO session: the browser is asked to sign in again, its cookie
    // cleared, and the refresh token ends.
    let revoked = app
        .delete(&format!("/api/v1/admin/sessions/{session}"), root)
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT, "{}", revoked.body);
    let again = browser
        .get(app, &authorize_url("acme-hq", &s.rp.client_id, ""))
        .await;
    assert!(
        location(&again).contains("/login?flow="),
        "{}",
        location(&again)
    );
    assert!(
        !browser.cookies.contains_key("scaikey_sso"),
        "the cookie is cleared"
    );
    let refresh = tokens.body["refresh_token"].as_str().unwrap();
    let ended = token(
        app,
        &s.rp,
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await;
    assert_eq!(ended.body["error"], "invalid_grant");
    // A suspended user: the same password is refused.
    let user = format!("/api/v1/admin/users/{}", s.user);
    assert_eq!(
        app.patch(&user, root, json!({"status": "SUSPENDED"}))
            .await
            .status,
        StatusCode::OK
    );
    let mut fresh = Browser::default();
    let refused = sign_in(app, &mut fresh, &s.rp.client_id, PASSWORD).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
}

/// The `sign-in` binary under a Lambda Runtime API answers as the local server does: an
/// authorize without a session goes to the login page (with its flow cookie), an unknown tenant
/// gets the HTML page.
#[tokio::test]
async fn lambda_the_sign_in_binary_answers_api_gateway_events_as_the_local_server_does() {
    use api_tests::lambda::{HttpApiEvent, LambdaFunction};
    let Some(s) = setup().await else { return };
    let Some(mut function) = LambdaFunction::start(&s.w.app, "sign-in").await else {
        return;
    };
    let url = authorize_url("acme-hq", &s.rp.client_id, "");
    let (path, query) = url
        .strip_prefix(PUBLIC_URL)
        .unwrap()
        .split_once('?')
        .unwrap();
    let route = "GET /api/v1/auth/tenants/{tenant_slug}/oauth/authorize";
    let reply = function
        .invoke(
            &HttpApiEvent::new("GET", route, &format!("{path}?{query}"))
                .path_parameter("tenant_slug", "acme-hq"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert!(
        location(&reply).starts_with(&format!("{}/login?flow=", issuer("acme-hq"))),
        "{}",
        location(&reply)
    );
    let unknown = function
        .invoke(
            &HttpApiEvent::new("GET", route, "/api/v1/auth/tenants/nowhere/oauth/authorize")
                .path_parameter("tenant_slug", "nowhere"),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.headers["content-type"], "text/html; charset=utf-8");
}

const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// A signed-in user's access token (scope `openid profile email`) from the portal's flow.
async fn users_access_token(s: &SignIn) -> String {
    let app = &s.w.app;
    let mut browser = Browser::default();
    let done = sign_in(app, &mut browser, &s.rp.client_id, PASSWORD).await;
    let code = query_of(&location(&done))["code"].clone();
    let tokens = exchange(app, &s.rp, &code).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    tokens.body["access_token"].as_str().unwrap().to_owned()
}

/// An application of the world, created by the root admin: its client id and secret (if any).
async fn application(w: &World, body: Value) -> Rp {
    let created = w
        .app
        .post("/api/v1/admin/applications", &w.root, body)
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    Rp {
        client_id: created.id(),
        secret: created.body["client_secret"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    }
}

async fn token_exchange(
    app: &TestApp,
    slug: &str,
    client: &Rp,
    subject: &str,
    scope: Option<&str>,
) -> Reply {
    let mut form = vec![
        ("grant_type", TOKEN_EXCHANGE),
        ("subject_token", subject),
        ("subject_token_type", ACCESS_TOKEN_TYPE),
    ];
    form.extend(scope.map(|s| ("scope", s)));
    if client.secret.is_empty() {
        form.push(("client_id", &client.client_id));
    }
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&form)
        .finish();
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/auth/tenants/{slug}/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded");
    if !client.secret.is_empty() {
        request = request.header("authorization", basic(client));
    }
    app.send(request.body(Body::from(body)).unwrap()).await
}

fn oauth_error(reply: &Reply) -> (StatusCode, Option<&str>) {
    (reply.status, reply.body["error"].as_str())
}

#[tokio::test]
async fn an_application_exchanges_a_users_token_within_both_scopes_and_its_life() {
    let Some(s) = setup().await else { return };
    let app = &s.w.app;
    let subject = users_access_token(&s).await;
    let subject_claims = claims(&subject);
    let backend = application(
        &s.w,
        json!({"name": "Backend", "scope": "TENANT", "tenant_id": s.w.acme_hq,
               "application_type": "SERVICE", "token_exchange_allowed": true,
               "allowed_scopes": ["openid", "email", "tickets:read"]}),
    )
    .await;

    // One round trip: client, tenant, partner, the subject's session, user and grant, together.
    let calls = app.calls();
    let reply = token_exchange(app, "acme-hq", &backend, &subject, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(app.calls() - calls, 1, "one batch, no write");
    assert_eq!(reply.body["issued_token_type"], ACCESS_TOKEN_TYPE);
    assert_eq!(reply.body["token_type"], "Bearer");
    assert_eq!(reply.body["scope"], "openid email");
    let exchanged = reply.body["access_token"].as_str().unwrap().to_owned();
    let c = claims(&exchanged);
    assert_eq!(c["sub"], s.user.as_str());
    assert_eq!(c["aud"], backend.client_id.as_str());
    assert_eq!(c["client_id"], backend.client_id.as_str());
    assert_eq!(c["act"]["sub"], backend.client_id.as_str());
    assert_eq!(c["iss"], issuer("acme-hq"));
    assert_eq!(c["sid"], subject_claims["sid"]);
    assert!(c["exp"].as_i64() <= subject_claims["exp"].as_i64());
    let info = userinfo(app, "acme-hq", &exchanged).await;
    assert_eq!(info.status, StatusCode::OK, "{}", info.body);
    assert_eq!(info.body["sub"], s.user.as_str());

    // Narrowed to both: the backend may not have `profile`, the subject has no `tickets:read`.
    for outside in ["profile", "tickets:read", "openid admin:write"] {
        let reply = token_exchange(app, "acme-hq", &backend, &subject, Some(outside)).await;
        assert_eq!(
            oauth_error(&reply),
            (StatusCode::BAD_REQUEST, Some("invalid_scope")),
            "{outside}"
        );
    }
    let reply = token_exchange(app, "acme-hq", &backend, &subject, Some("email")).await;
    assert_eq!(reply.body["scope"], "email", "{}", reply.body);

    // An exchanged token is not exchanged again; forged and foreign tokens are nobody's.
    for bad in [exchanged.as_str(), "not-a-token", &format!("{subject}x")] {
        let reply = token_exchange(app, "acme-hq", &backend, bad, None).await;
        assert_eq!(
            oauth_error(&reply),
            (StatusCode::BAD_REQUEST, Some("invalid_grant")),
            "{}",
            reply.body
        );
    }
    let partner_wide = application(
        &s.w,
        json!({"name": "Partner backend", "scope": "PARTNER", "partner_id": s.w.acme,
               "application_type": "SERVICE", "token_exchange_allowed": true,
               "allowed_scopes": ["openid", "email"]}),
    )
    .await;
    assert_eq!(
        oauth_error(&token_exchange(app, "acme-lab", &partner_wide, &subject, None).await),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "acme-hq's user token is not acme-lab's"
    );
    assert_eq!(
        token_exchange(app, "acme-hq", &partner_wide, &subject, None)
            .await
            .status,
        StatusCode::OK
    );

    // Only confidential clients allowed it: not the portal (not allowed), not a public SPA.
    assert_eq!(
        oauth_error(&token_exchange(app, "acme-hq", &s.rp, &subject, None).await),
        (StatusCode::BAD_REQUEST, Some("unauthorized_client"))
    );
    let spa = application(
        &s.w,
        json!({"name": "Spa", "scope": "TENANT", "tenant_id": s.w.acme_hq,
               "application_type": "SPA", "redirect_uris": [CALLBACK],
               "token_exchange_allowed": true, "allowed_scopes": ["openid"]}),
    )
    .await;
    assert_eq!(
        oauth_error(&token_exchange(app, "acme-hq", &spa, &subject, None).await),
        (StatusCode::BAD_REQUEST, Some("unauthorized_client"))
    );
    // A wrong secret hears invalid_client before anything about the subject.
    let wrong = Rp {
        client_id: backend.client_id.clone(),
        secret: "wrong".into(),
    };
    assert_eq!(
        oauth_error(&token_exchange(app, "acme-hq", &wrong, "junk", None).await),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );

    // The subject's session revoked: the exchanged token is dead, and nothing more is issued.
    let sid = subject_claims["sid"].as_str().unwrap();
    let revoked = app
        .delete(&format!("/api/v1/admin/sessions/{sid}"), &s.w.root)
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT, "{}", revoked.body);
    assert_eq!(
        userinfo(app, "acme-hq", &exchanged).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        oauth_error(&token_exchange(app, "acme-hq", &backend, &subject, None).await),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn an_agent_exchanges_a_users_sign_in_token_within_its_scope() {
    let Some(s) = setup().await else { return };
    let app = &s.w.app;
    let subject = users_access_token(&s).await;
    let created = app
        .post(
            "/api/v1/admin/agents",
            &s.w.root,
            json!({"tenant_id": s.w.acme_hq, "name": "Helper", "token_exchange_allowed": true,
                   "allowed_scopes": ["openid", "email", "tickets:read"], "allowed_tools": ["search"]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let agent = Rp {
        client_id: created.id(),
        secret: created.body["client_secret"].as_str().unwrap().to_owned(),
    };
    let reply = token_exchange(app, "acme-hq", &agent, &subject, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["scope"], "openid email");
    let c = claims(reply.body["access_token"].as_str().unwrap());
    assert_eq!(c["sub"], s.user.as_str());
    assert_eq!(c["act"]["sub"], agent.client_id.as_str());
    assert!(c["exp"].as_i64() <= claims(&subject)["exp"].as_i64());
    assert_eq!(
        oauth_error(&token_exchange(app, "acme-hq", &agent, &subject, Some("tickets:read")).await),
        (StatusCode::BAD_REQUEST, Some("invalid_scope")),
        "the user's token has no tickets:read"
    );
}

/// The authorize URL of `client` at acme-hq, its callback's answer after the browser follows it.
async fn authorize_answer(
    app: &TestApp,
    browser: &mut Browser,
    client: &str,
) -> HashMap<String, String> {
    let reply = browser
        .get(app, &authorize_url("acme-hq", client, ""))
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let to = location(&reply);
    assert!(to.starts_with(CALLBACK), "{to}");
    query_of(&to)
}

#[tokio::test]
async fn an_application_requiring_assignment_admits_its_effective_users_at_every_authorize() {
    let Some(s) = setup().await else { return };
    let app = &s.w.app;
    let root = &s.w.root;
    let payroll = application(
        &s.w,
        json!({"name": "Payroll", "scope": "TENANT", "tenant_id": s.w.acme_hq,
               "application_type": "WEB", "redirect_uris": [CALLBACK],
               "assignment_required": true, "allowed_scopes": ["openid", "profile", "email"],
               "grant_types": ["authorization_code"]}),
    )
    .await;
    let read = app
        .get(
            &format!("/api/v1/admin/applications/{}", payroll.client_id),
            root,
        )
        .await;
    assert_eq!(read.body["assignment_required"], true, "{}", read.body);
    let portal = app
        .get(
            &format!("/api/v1/admin/applications/{}", s.rp.client_id),
            root,
        )
        .await;
    assert_eq!(portal.body["assignment_required"], false, "the default");

    // Right password, not assigned: access_denied at the client, no session, a FAILURE event.
    let mut browser = Browser::default();
    let denied = sign_in(app, &mut browser, &payroll.client_id, PASSWORD).await;
    assert_eq!(denied.status, StatusCode::SEE_OTHER, "{}", denied.body);
    let answer = query_of(&location(&denied));
    assert_eq!(answer["error"], "access_denied");
    assert_eq!(answer["iss"], issuer("acme-hq"));
    assert_eq!(answer["state"], "st-1");
    assert!(!browser.cookies.contains_key("scaikey_sso"), "no session");
    let events = app.snapshot().await;
    assert!(
        events.values().any(|i| i["action"] == "auth.login"
            && i["result"] == "FAILURE"
            && i["changes"].to_string().contains("not_assigned")),
        "the refusal is audited"
    );

    // Signed in to the portal (open to all): the SSO session does not open payroll.
    let done = sign_in(app, &mut browser, &s.rp.client_id, PASSWORD).await;
    assert!(query_of(&location(&done)).contains_key("code"));
    assert_eq!(
        authorize_answer(app, &mut browser, &payroll.client_id).await["error"],
        "access_denied"
    );

    // Assigned through a group nested in an assigned group: admitted.
    let outer = app.create_group(root, &s.w.acme_hq, "Finance").await;
    let inner = app.create_group(root, &s.w.acme_hq, "Payroll clerks").await;
    assert_eq!(
        app.add_member(root, &outer, json!({"group_id": inner}))
            .await
            .status,
        StatusCode::CREATED
    );
    assert_eq!(
        app.add_member(root, &inner, json!({"user_id": s.user}))
            .await
            .status,
        StatusCode::CREATED
    );
    let assignments = format!(
        "/api/v1/admin/applications/{}/assignments",
        payroll.client_id
    );
    let assigned = app
        .post(&assignments, root, json!({"group_id": outer}))
        .await;
    assert_eq!(assigned.status, StatusCode::CREATED, "{}", assigned.body);
    assert!(
        authorize_answer(app, &mut browser, &payroll.client_id)
            .await
            .contains_key("code")
    );

    // Unassigned: the very next authorize is refused, the live session notwithstanding.
    let removed = app.delete(&format!("{assignments}/{outer}"), root).await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.body);
    assert_eq!(
        authorize_answer(app, &mut browser, &payroll.client_id).await["error"],
        "access_denied"
    );
    // Assigned directly: admitted again.
    let direct = app
        .post(&assignments, root, json!({"user_id": s.user}))
        .await;
    assert_eq!(direct.status, StatusCode::CREATED, "{}", direct.body);
    assert!(
        authorize_answer(app, &mut browser, &payroll.client_id)
            .await
            .contains_key("code")
    );
}

/// A form posted to one of acme-hq's token-family endpoints by `client` (Basic).
async fn client_post(app: &TestApp, endpoint: &str, client: &Rp, form: &[(&str, &str)]) -> Reply {
    let path = format!(
        "{}/oauth/{endpoint}",
        issuer("acme-hq").strip_prefix(PUBLIC_URL).unwrap()
    );
    post_as(app, &path, client, form).await
}

/// A form posted to `path` with the client's HTTP Basic credentials.
async fn post_as(app: &TestApp, path: &str, client: &Rp, form: &[(&str, &str)]) -> Reply {
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", basic(client))
        .body(Body::from(body))
        .unwrap();
    app.send(request).await
}

async fn introspect(app: &TestApp, client: &Rp, token: &str) -> Value {
    let reply = client_post(app, "introspect", client, &[("token", token)]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.headers["cache-control"], "no-store");
    reply.body
}

#[tokio::test]
async fn introspection_and_revocation_answer_a_client_about_its_own_live_tokens_only() {
    let Some(s) = setup().await else { return };
    let app = &s.w.app;
    let root = &s.w.root;
    let mut browser = Browser::default();
    let done = sign_in(app, &mut browser, &s.rp.client_id, PASSWORD).await;
    let code = query_of(&location(&done))["code"].clone();
    let tokens = exchange(app, &s.rp, &code).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    let access = tokens.body["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens.body["refresh_token"].as_str().unwrap().to_owned();
    let id_token = tokens.body["id_token"].as_str().unwrap().to_owned();

    let a = introspect(app, &s.rp, &access).await;
    assert_eq!(a["active"], true, "{a}");
    assert_eq!(a["sub"], s.user.as_str());
    assert_eq!(a["client_id"], s.rp.client_id.as_str());
    assert_eq!(a["scope"], "openid profile email");
    let r = introspect(app, &s.rp, &refresh).await;
    assert_eq!(
        (r["active"].clone(), r["token_type"].clone()),
        (json!(true), json!("refresh_token"))
    );
    for nothing in [id_token.as_str(), "junk", &format!("{access}x")] {
        assert_eq!(
            introspect(app, &s.rp, nothing).await,
            json!({"active": false})
        );
    }

    // Another confidential client of the tenant learns nothing of the portal's tokens, and its
    // revocation of them does nothing.
    let other = application(
        &s.w,
        json!({"name": "Reports", "scope": "TENANT", "tenant_id": s.w.acme_hq,
               "application_type": "SERVICE", "allowed_scopes": ["openid"]}),
    )
    .await;
    for token in [&access, &refresh] {
        assert_eq!(
            introspect(app, &other, token).await,
            json!({"active": false})
        );
        let revoked = client_post(app, "revoke", &other, &[("token", token)]).await;
        assert_eq!(revoked.status, StatusCode::OK);
    }
    assert_eq!(introspect(app, &s.rp, &refresh).await["active"], true);
    // A public client may not introspect; a wrong secret is invalid_client.
    let wrong = Rp {
        client_id: s.rp.client_id.clone(),
        secret: "nope".into(),
    };
    let refused = client_post(app, "introspect", &wrong, &[("token", &access)]).await;
    assert_eq!(
        oauth_error(&refused),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );

    // The client suspended: its tokens are dead at userinfo and introspection at once.
    let path = format!("/api/v1/admin/applications/{}", s.rp.client_id);
    let suspended = app.patch(&path, root, json!({"status": "SUSPENDED"})).await;
    assert_eq!(suspended.status, StatusCode::OK, "{}", suspended.body);
    assert_eq!(
        userinfo(app, "acme-hq", &access).await.status,
        StatusCode::UNAUTHORIZED
    );
    let resumed = app.patch(&path, root, json!({"status": "ACTIVE"})).await;
    assert_eq!(resumed.status, StatusCode::OK, "{}", resumed.body);
    assert_eq!(
        userinfo(app, "acme-hq", &access).await.status,
        StatusCode::OK
    );

    // The partner suspended: the same.
    let partner = format!("/api/v1/admin/partners/{}", s.w.acme);
    let suspended = app
        .patch(&partner, root, json!({"status": "SUSPENDED"}))
        .await;
    assert_eq!(suspended.status, StatusCode::OK, "{}", suspended.body);
    assert_eq!(
        userinfo(app, "acme-hq", &access).await.status,
        StatusCode::UNAUTHORIZED
    );
    let resumed = app.patch(&partner, root, json!({"status": "ACTIVE"})).await;
    assert_eq!(resumed.status, StatusCode::OK, "{}", resumed.body);

    // The session revoked: the refresh token is no longer active either.
    let sid = claims(&access)["sid"].as_str().unwrap().to_owned();
    let revoked = app
        .delete(&format!("/api/v1/admin/sessions/{sid}"), root)
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT, "{}", revoked.body);
    assert_eq!(
        introspect(app, &s.rp, &refresh).await,
        json!({"active": false})
    );
    assert_eq!(
        introspect(app, &s.rp, &access).await,
        json!({"active": false})
    );
}

#[tokio::test]
async fn a_client_revokes_its_refresh_token_and_with_it_the_grant() {
    let Some(s) = setup().await else { return };
    let app = &s.w.app;
    let mut browser = Browser::default();
    let done = sign_in(app, &mut browser, &s.rp.client_id, PASSWORD).await;
    let code = query_of(&location(&done))["code"].clone();
    let tokens = exchange(app, &s.rp, &code).await;
    let access = tokens.body["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens.body["refresh_token"].as_str().unwrap().to_owned();
    let revoked = client_post(
        app,
        "revoke",
        &s.rp,
        &[("token", &refresh), ("token_type_hint", "refresh_token")],
    )
    .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
    let again = token(
        app,
        &s.rp,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(
        oauth_error(&again),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    assert_eq!(
        userinfo(app, "acme-hq", &access).await.status,
        StatusCode::UNAUTHORIZED
    );
    // Revoking what is already revoked, or nothing at all: 200.
    for token in [refresh.as_str(), "junk"] {
        assert_eq!(
            client_post(app, "revoke", &s.rp, &[("token", token)])
                .await
                .status,
            StatusCode::OK
        );
    }
    let missing = client_post(app, "revoke", &s.rp, &[]).await;
    assert_eq!(
        oauth_error(&missing),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
}

fn logout_query(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

#[tokio::test]
async fn an_rps_cross_site_logout_post_and_an_expired_hint_still_end_the_session() {
    let Some(s) = setup().await else { return };
    let app = &s.w.app;
    let mut browser = Browser::default();
    let done = sign_in(app, &mut browser, &s.rp.client_id, PASSWORD).await;
    let code = query_of(&location(&done))["code"].clone();
    let tokens = exchange(app, &s.rp, &code).await;
    let id_token = tokens.body["id_token"].as_str().unwrap().to_owned();
    let access = tokens.body["access_token"].as_str().unwrap().to_owned();
    let logout = format!("{}/oauth/logout", issuer("acme-hq"));

    // client_id and the hint's audience disagree: a page, nothing ended.
    let other = application(
        &s.w,
        json!({"name": "Other", "scope": "TENANT", "tenant_id": s.w.acme_hq,
               "application_type": "WEB", "redirect_uris": [CALLBACK],
               "post_logout_redirect_uris": [AFTER_LOGOUT]}),
    )
    .await;
    let mixed = browser
        .get(
            app,
            &format!(
                "{logout}?{}",
                logout_query(&[
                    ("id_token_hint", &id_token),
                    ("client_id", &other.client_id),
                    ("post_logout_redirect_uri", AFTER_LOGOUT),
                ])
            ),
        )
        .await;
    assert_eq!(mixed.status, StatusCode::BAD_REQUEST, "{}", mixed.body);
    assert_eq!(
        userinfo(app, "acme-hq", &access).await.status,
        StatusCode::OK
    );

    // The RP's form posts cross-site: the Lax cookie stays behind, so the post is sent on to
    // the same logout by GET, which the browser makes with its cookie.
    let form = [
        ("id_token_hint", id_token.as_str()),
        ("post_logout_redirect_uri", AFTER_LOGOUT),
        ("state", "bye-2"),
    ];
    let mut cross_site = Browser::default();
    let posted = cross_site.post_form(app, &logout, &form).await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.body);
    let onward = location(&posted);
    assert_eq!(onward, format!("{logout}?{}", logout_query(&sorted(&form))));
    let bye = browser.get(app, &onward).await;
    assert_eq!(bye.status, StatusCode::SEE_OTHER, "{}", bye.body);
    assert_eq!(location(&bye), format!("{AFTER_LOGOUT}?state=bye-2"));
    assert!(!browser.cookies.contains_key("scaikey_sso"));
    assert_eq!(
        userinfo(app, "acme-hq", &access).await.status,
        StatusCode::UNAUTHORIZED
    );

    // A hint past its life still names its session (RP-Initiated Logout §2).
    let done = sign_in(app, &mut browser, &s.rp.client_id, PASSWORD).await;
    let code = query_of(&location(&done))["code"].clone();
    let tokens = exchange(app, &s.rp, &code).await;
    let mut expired = claims(tokens.body["id_token"].as_str().unwrap());
    expired["iat"] = json!(1_700_000_000);
    expired["exp"] = json!(1_700_000_600);
    let expired = app.state.keys().sign(&expired).await.unwrap();
    let bye = browser
        .get(
            app,
            &format!(
                "{logout}?{}",
                logout_query(&[
                    ("id_token_hint", &expired),
                    ("post_logout_redirect_uri", AFTER_LOGOUT),
                ])
            ),
        )
        .await;
    assert_eq!(
        bye.status,
        StatusCode::SEE_OTHER,
        "ended without asking: {}",
        bye.body
    );
    assert_eq!(location(&bye), AFTER_LOGOUT);
    let access = tokens.body["access_token"].as_str().unwrap();
    assert_eq!(
        userinfo(app, "acme-hq", access).await.status,
        StatusCode::UNAUTHORIZED
    );
}

/// The logout parameters in the order the server forwards them.
fn sorted<'a>(form: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    [
        "id_token_hint",
        "post_logout_redirect_uri",
        "state",
        "client_id",
    ]
    .into_iter()
    .filter_map(|name| form.iter().find(|(n, _)| *n == name).copied())
    .collect()
}

#[tokio::test]
async fn two_different_sso_cookies_name_no_session() {
    let Some(s) = setup().await else { return };
    let app = &s.w.app;
    let mut mine = Browser::default();
    sign_in(app, &mut mine, &s.rp.client_id, PASSWORD).await;
    let mut planted = Browser::default();
    sign_in(app, &mut planted, &s.rp.client_id, PASSWORD).await;
    let both = format!(
        "scaikey_sso={}; scaikey_sso={}",
        planted.cookies["scaikey_sso"], mine.cookies["scaikey_sso"]
    );
    let request = Request::builder()
        .method(Method::GET)
        .uri(
            authorize_url("acme-hq", &s.rp.client_id, "")
                .strip_prefix(PUBLIC_URL)
                .unwrap(),
        )
        .header("cookie", both)
        .body(Body::empty())
        .unwrap();
    let reply = app.send(request).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert!(
        location(&reply).contains("/login?flow="),
        "{}",
        location(&reply)
    );
    let cleared = reply
        .headers
        .get_all("set-cookie")
        .iter()
        .any(|c| c.to_str().unwrap().starts_with("scaikey_sso=;"));
    assert!(cleared, "the cookie is cleared");
    assert!(reply.headers.contains_key("strict-transport-security"));
    // Either alone still signs in.
    let alone = mine
        .get(app, &authorize_url("acme-hq", &s.rp.client_id, ""))
        .await;
    assert!(query_of(&location(&alone)).contains_key("code"));
}

#[tokio::test]
async fn a_session_starts_only_while_its_user_is_as_the_login_read_it() {
    use shared::hierarchy::{Session, User};
    use shared::store::{keys, sessions};
    let Some(s) = setup().await else { return };
    let app = &s.w.app;
    let store = app.state.store();
    let mut browser = Browser::default();
    let done = sign_in(app, &mut browser, &s.rp.client_id, PASSWORD).await;
    let code = query_of(&location(&done))["code"].clone();
    let tokens = exchange(app, &s.rp, &code).await;
    let sid = shared::ids::SessionId::parse(
        claims(tokens.body["access_token"].as_str().unwrap())["sid"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let user_id = shared::ids::UserId::parse(&s.user).unwrap();
    let loaded = store
        .load(&[keys::session(&sid), keys::user(&user_id)])
        .await
        .unwrap();
    let session: Session = loaded.get(&keys::session(&sid)).unwrap().unwrap();
    let read: User = loaded.get(&keys::user(&user_id)).unwrap().unwrap();

    // A password reset lands while the login checks the old password: the user's version moves.
    let reset = app
        .post(
            &format!("/api/v1/admin/users/{}/reset-password", s.user),
            &s.w.root,
            json!({"new_password": "another-long-password"}),
        )
        .await;
    assert!(reset.status.is_success(), "{} {}", reset.status, reset.body);
    // The reset ended the SSO session: its tokens are dead.
    let access = tokens.body["access_token"].as_str().unwrap();
    assert_eq!(
        userinfo(app, "acme-hq", access).await.status,
        StatusCode::UNAUTHORIZED
    );
    let start = |version: u64| {
        let mut next = session.clone();
        next.id = shared::ids::SessionId::generate();
        let mut tx = store.tx();
        sessions::start_in(&mut tx, &next, version, shared::time::Timestamp::now(), &[]).unwrap();
        tx
    };
    let refused = store.transact(start(read.version)).await.unwrap_err();
    assert_eq!(refused.refused_by(), Some(sessions::USER_CHANGED));
    let now: User = store
        .load(&[keys::user(&user_id)])
        .await
        .unwrap()
        .get(&keys::user(&user_id))
        .unwrap()
        .unwrap();
    assert!(now.version > read.version);
    store.transact(start(now.version)).await.unwrap();
}

#[tokio::test]
async fn a_single_page_app_may_call_the_providers_machine_endpoints_from_its_origin() {
    let Some(s) = setup().await else { return };
    let app = &s.w.app;
    let spa = "https://spa.example";
    let preflight = Request::builder()
        .method(Method::OPTIONS)
        .uri("/api/v1/auth/tenants/acme-hq/oauth/userinfo")
        .header("origin", spa)
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .body(Body::empty())
        .unwrap();
    let answer = app.send(preflight).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert_eq!(answer.headers["access-control-allow-origin"], spa);
    assert!(
        answer.headers["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("authorization")
    );
    assert!(
        !answer
            .headers
            .contains_key("access-control-allow-credentials")
    );
    for path in [
        "/api/v1/auth/tenants/acme-hq/.well-known/openid-configuration",
        "/api/v1/auth/tenants/acme-hq/.well-known/jwks.json",
    ] {
        let request = Request::builder()
            .uri(path)
            .header("origin", spa)
            .body(Body::empty())
            .unwrap();
        let answer = app.send(request).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}");
        assert_eq!(answer.headers["access-control-allow-origin"], spa, "{path}");
    }
    // The browser flow is navigation: no CORS there.
    let request = Request::builder()
        .uri(
            authorize_url("acme-hq", &s.rp.client_id, "")
                .strip_prefix(PUBLIC_URL)
                .unwrap(),
        )
        .header("origin", spa)
        .body(Body::empty())
        .unwrap();
    assert!(
        !app.send(request)
            .await
            .headers
            .contains_key("access-control-allow-origin")
    );
}

#[tokio::test]
async fn max_age_zero_asks_for_the_password_again_and_refresh_authenticates_the_client_first() {
    let Some(s) = setup().await else { return };
    let app = &s.w.app;
    let mut browser = Browser::default();
    sign_in(app, &mut browser, &s.rp.client_id, PASSWORD).await;
    let fresh = browser
        .get(
            app,
            &authorize_url("acme-hq", &s.rp.client_id, "&max_age=0"),
        )
        .await;
    assert!(
        location(&fresh).contains("/login?flow="),
        "{}",
        location(&fresh)
    );
    let within = browser
        .get(
            app,
            &authorize_url("acme-hq", &s.rp.client_id, "&max_age=600"),
        )
        .await;
    assert!(query_of(&location(&within)).contains_key("code"));

    let wrong = Rp {
        client_id: s.rp.client_id.clone(),
        secret: "wrong".into(),
    };
    let reply = token(
        app,
        &wrong,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "anything"),
        ],
    )
    .await;
    assert_eq!(
        oauth_error(&reply),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
}

// ---- the platform's issuer: GLOBAL applications, users of any tenant ---------------------------

const PLATFORM: &str = "/api/v1/platform/oauth";

fn platform_authorize_url(client: &str) -> String {
    format!(
        "{PUBLIC_URL}{PLATFORM}/authorize?response_type=code&client_id={client}&redirect_uri={}&scope=openid%20profile%20email&state=st-p&nonce=n-p&code_challenge={CHALLENGE}&code_challenge_method=S256",
        url::form_urlencoded::byte_serialize(CALLBACK.as_bytes()).collect::<String>()
    )
}

/// A hidden field's value in a page.
fn hidden(page: &Reply, name: &str) -> String {
    let html = page.body.as_str().unwrap();
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap() + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_owned()
}

async fn platform_token(app: &TestApp, rp: &Rp, form: &[(&str, &str)]) -> Reply {
    post_as(app, &format!("{PLATFORM}/token"), rp, form).await
}

fn code_form(code: &str) -> [(&str, &str); 4] {
    [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", CALLBACK),
        ("code_verifier", VERIFIER),
    ]
}

/// The platform's authorize → its email step → its password step, as a browser.
async fn platform_sign_in(
    app: &TestApp,
    browser: &mut Browser,
    client: &str,
    email: &str,
    password: &str,
) -> Reply {
    let to_login = browser.get(app, &platform_authorize_url(client)).await;
    assert_eq!(to_login.status, StatusCode::SEE_OTHER, "{}", to_login.body);
    assert!(location(&to_login).starts_with(&format!("{PUBLIC_URL}{PLATFORM}/login?flow=")));
    let email_page = browser.get(app, &location(&to_login)).await;
    assert_eq!(email_page.status, StatusCode::OK, "{}", email_page.body);
    let html = email_page.body.as_str().unwrap();
    assert!(html.contains("name=\"email\"") && !html.contains("name=\"password\""));
    let flow = flow_of(&email_page);
    let password_page = browser
        .post_form(
            app,
            &format!("{PUBLIC_URL}{PLATFORM}/login"),
            &[("flow", &flow), ("email", email)],
        )
        .await;
    assert_eq!(
        password_page.status,
        StatusCode::OK,
        "{}",
        password_page.body
    );
    assert!(
        password_page
            .body
            .as_str()
            .unwrap()
            .contains("name=\"password\"")
    );
    browser
        .post_form(
            app,
            &format!("{PUBLIC_URL}{PLATFORM}/login"),
            &[("flow", &flow), ("email", email), ("password", password)],
        )
        .await
}

#[tokio::test]
async fn a_global_application_signs_in_users_of_any_tenant_at_the_platforms_issuer() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let mut ids = Vec::new();
    for (tenant, email, password) in [
        (&w.acme_lab, "bob@example.test", PASSWORD),
        (&w.acme_hq, "ann@example.test", PASSWORD),
        (&w.globex_hq, "ann@example.test", PASSWORD),
        // Globex's admins plant Bob's email with a password of their own.
        (&w.globex_hq, "bob@example.test", "globex-knows-this-one"),
    ] {
        let user = app
            .post(
                "/api/v1/admin/users",
                &w.root,
                json!({"tenant_id": tenant, "email": email, "password": password,
                       "first_name": "U", "email_verified": true}),
            )
            .await;
        assert_eq!(user.status, StatusCode::CREATED, "{}", user.body);
        ids.push(user.id());
    }
    let ann_at_globex = ids[2].clone();
    let login_failures = |tenant: String| async move {
        app.snapshot()
            .await
            .into_values()
            .filter(|i| {
                i["SK"] == "EVENT"
                    && i["action"] == "auth.login"
                    && i["result"] == "FAILURE"
                    && i["tenant_id"] == tenant.as_str()
            })
            .collect::<Vec<_>>()
    };
    let rp = application(
        &w,
        json!({"name": "Everywhere", "scope": "GLOBAL", "application_type": "WEB",
               "redirect_uris": [CALLBACK],
               "allowed_scopes": ["openid", "profile", "email", "offline_access"],
               "grant_types": ["authorization_code", "refresh_token"]}),
    )
    .await;
    let discovery = app
        .call(
            Method::GET,
            &format!("{PLATFORM}/.well-known/openid-configuration"),
            None,
            None,
        )
        .await;
    let issuer = discovery.body["issuer"].as_str().unwrap().to_owned();
    assert_eq!(
        discovery.body["authorization_endpoint"],
        format!("{PUBLIC_URL}{PLATFORM}/authorize")
    );
    assert_eq!(
        discovery.body["userinfo_endpoint"],
        format!("{PUBLIC_URL}{PLATFORM}/userinfo")
    );

    // The password page is the same whoever the email: nothing says whether it exists.
    let mut stranger = Browser::default();
    let refused = platform_sign_in(
        app,
        &mut stranger,
        &rp.client_id,
        "nobody@example.test",
        PASSWORD,
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let mut bob = Browser::default();
    let wrong = platform_sign_in(
        app,
        &mut bob,
        &rp.client_id,
        "bob@example.test",
        "not-the-password-1",
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let message = "The email address or password is incorrect.";
    assert!(refused.body.as_str().unwrap().contains(message));
    assert!(wrong.body.as_str().unwrap().contains(message));
    // A wrong password is recorded in each tenant holding the email, without where it came
    // from (the one typing may be another tenant's user).
    for tenant in [&w.acme_lab, &w.globex_hq] {
        let failures = login_failures(tenant.clone()).await;
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert!(failures[0]["ip_address"].is_null() && failures[0]["user_agent"].is_null());
    }

    // One tenant holds Bob: signed in there, answered with the platform's issuer.
    let signed_in =
        platform_sign_in(app, &mut bob, &rp.client_id, "Bob@Example.test", PASSWORD).await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
    let answer = query_of(&location(&signed_in));
    assert!(location(&signed_in).starts_with(CALLBACK));
    assert_eq!(answer["iss"], issuer);
    assert_eq!(answer["state"], "st-p");
    let cookie = signed_in
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("scaikey_sso="))
        .expect("the SSO cookie");
    assert!(cookie.contains(&format!("Path={PLATFORM}")), "{cookie}");
    let granted = platform_token(app, &rp, &code_form(&answer["code"])).await;
    assert_eq!(granted.status, StatusCode::OK, "{}", granted.body);
    let id = claims(granted.body["id_token"].as_str().unwrap());
    assert_eq!(id["iss"], issuer);
    assert_eq!(id["aud"], rp.client_id);
    assert_eq!(id["tenant_id"], w.acme_lab.as_str());
    assert_eq!(id["nonce"], "n-p");
    assert_eq!(id["email"], "bob@example.test");
    // One issuer speaks for every tenant's admins here: it never vouches for an email.
    assert_eq!(id["email_verified"], false);
    // Bob's password proved in his tenant only: Globex learns nothing of his sign-in.
    assert_eq!(login_failures(w.globex_hq.clone()).await.len(), 1);
    let access = granted.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(claims(&access)["iss"], issuer);
    let info = app
        .call(
            Method::GET,
            &format!("{PLATFORM}/userinfo"),
            Some(&access),
            None,
        )
        .await;
    assert_eq!(info.status, StatusCode::OK, "{}", info.body);
    assert_eq!(info.body["email"], "bob@example.test");
    assert_eq!(info.body["email_verified"], false);
    assert_eq!(info.body["tenant_id"], w.acme_lab.as_str());
    // Not the tenant's issuer's token, and not an admin token.
    assert_eq!(
        userinfo(app, "acme-lab", &access).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("/api/v1/admin/tenants", &access).await.status,
        StatusCode::FORBIDDEN
    );

    // Back at the platform's authorize: the SSO session answers at once (one batch, one write),
    // and its code is the platform's only.
    let before = app.calls();
    let again = bob.get(app, &platform_authorize_url(&rp.client_id)).await;
    assert_eq!(
        app.calls() - before,
        2,
        "authorize with a live platform cookie"
    );
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    let code = query_of(&location(&again))["code"].clone();
    let at_tenant = post_as(
        app,
        "/api/v1/auth/tenants/acme-lab/oauth/token",
        &rp,
        &code_form(&code),
    )
    .await;
    assert_eq!(
        oauth_error(&at_tenant),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let before = app.calls();
    let second = platform_token(app, &rp, &code_form(&code)).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    assert_eq!(
        app.calls() - before,
        4,
        "code exchange at the platform: batch, tenant, partner, transaction"
    );
    let refresh = second.body["refresh_token"].as_str().unwrap().to_owned();
    let at_tenant = post_as(
        app,
        "/api/v1/auth/tenants/acme-lab/oauth/token",
        &rp,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(
        oauth_error(&at_tenant),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let refreshed = platform_token(
        app,
        &rp,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    let refreshed_access = refreshed.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(claims(&refreshed_access)["iss"], issuer);

    // Introspection and revocation at the platform's issuer, about its own tokens only.
    let introspected = post_as(
        app,
        &format!("{PLATFORM}/introspect"),
        &rp,
        &[("token", &refreshed_access)],
    )
    .await;
    assert_eq!(introspected.body["active"], true, "{}", introspected.body);
    assert_eq!(introspected.body["iss"], issuer);
    assert_eq!(introspected.body["tenant_id"], w.acme_lab.as_str());
    let at_tenant = post_as(
        app,
        "/api/v1/auth/tenants/acme-lab/oauth/introspect",
        &rp,
        &[("token", &refreshed_access)],
    )
    .await;
    assert_eq!(at_tenant.body["active"], false, "another issuer's token");
    let next_refresh = refreshed.body["refresh_token"].as_str().unwrap().to_owned();
    let introspected = post_as(
        app,
        &format!("{PLATFORM}/introspect"),
        &rp,
        &[("token", &next_refresh)],
    )
    .await;
    assert_eq!(introspected.body["active"], true, "{}", introspected.body);
    let revoked = post_as(
        app,
        &format!("{PLATFORM}/revoke"),
        &rp,
        &[("token", &next_refresh)],
    )
    .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
    for token in [&refreshed_access, &next_refresh] {
        let introspected = post_as(
            app,
            &format!("{PLATFORM}/introspect"),
            &rp,
            &[("token", token)],
        )
        .await;
        assert_eq!(introspected.body["active"], false, "revoked with its grant");
    }

    // The session is the user's tenant's SSO session, listed and revocable as any.
    let sessions = app
        .get(
            &format!("/api/v1/admin/sessions?tenant_id={}", w.acme_lab),
            &w.root,
        )
        .await;
    let session = sessions.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["session_type"] == "SSO")
        .expect("Bob's SSO session")
        .clone();
    assert_eq!(session["id"], id["sid"]);
    let revoked = app
        .delete(
            &format!("/api/v1/admin/sessions/{}", session["id"].as_str().unwrap()),
            &w.root,
        )
        .await;
    assert!(revoked.status.is_success(), "{}", revoked.body);
    let after = bob.get(app, &platform_authorize_url(&rp.client_id)).await;
    assert!(
        location(&after).starts_with(&format!("{PUBLIC_URL}{PLATFORM}/login")),
        "a revoked session signs in again"
    );
    let info = app
        .call(
            Method::GET,
            &format!("{PLATFORM}/userinfo"),
            Some(&access),
            None,
        )
        .await;
    assert_eq!(info.status, StatusCode::UNAUTHORIZED);

    // Ann is in two tenants: once her password is proved in both, she picks one — and only one
    // of those.
    let mut ann = Browser::default();
    let choice = platform_sign_in(app, &mut ann, &rp.client_id, "ann@example.test", PASSWORD).await;
    assert_eq!(choice.status, StatusCode::OK, "{}", choice.body);
    let html = choice.body.as_str().unwrap();
    assert!(
        html.contains("Tenant acme-hq") && html.contains("Tenant globex-hq"),
        "{html}"
    );
    assert!(!html.contains("Tenant acme-lab"));
    let (flow, token) = (hidden(&choice, "flow"), hidden(&choice, "choice"));
    let login = format!("{PUBLIC_URL}{PLATFORM}/login");
    let outside = ann
        .post_form(
            app,
            &login,
            &[("flow", &flow), ("choice", &token), ("tenant", &w.acme_lab)],
        )
        .await;
    assert_eq!(outside.status, StatusCode::BAD_REQUEST);
    let forged = ann
        .post_form(
            app,
            &login,
            &[
                ("flow", &flow),
                ("choice", &format!("{token}x")),
                ("tenant", &w.globex_hq),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::BAD_REQUEST);
    let mut other_browser = Browser::default();
    let elsewhere = other_browser
        .post_form(
            app,
            &login,
            &[
                ("flow", &flow),
                ("choice", &token),
                ("tenant", &w.globex_hq),
            ],
        )
        .await;
    assert_eq!(
        elsewhere.status,
        StatusCode::BAD_REQUEST,
        "bound to Ann's browser"
    );
    let picked = ann
        .post_form(
            app,
            &login,
            &[
                ("flow", &flow),
                ("choice", &token),
                ("tenant", &w.globex_hq),
            ],
        )
        .await;
    assert_eq!(picked.status, StatusCode::SEE_OTHER, "{}", picked.body);
    let code = query_of(&location(&picked))["code"].clone();
    let granted = platform_token(app, &rp, &code_form(&code)).await;
    assert_eq!(granted.status, StatusCode::OK, "{}", granted.body);
    let id_token = granted.body["id_token"].as_str().unwrap().to_owned();
    assert_eq!(claims(&id_token)["tenant_id"], w.globex_hq.as_str());

    // RP-initiated logout at the platform's issuer ends the session; the browser signs in again.
    let out = ann
        .get(
            app,
            &format!("{PUBLIC_URL}{PLATFORM}/logout?id_token_hint={id_token}"),
        )
        .await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.body);
    assert!(out.body.as_str().unwrap().contains("You are signed out"));
    assert!(
        !ann.cookies.contains_key("scaikey_sso"),
        "the cookie is cleared"
    );
    let access = granted.body["access_token"].as_str().unwrap();
    let info = app
        .call(
            Method::GET,
            &format!("{PLATFORM}/userinfo"),
            Some(access),
            None,
        )
        .await;
    assert_eq!(
        info.status,
        StatusCode::UNAUTHORIZED,
        "the session has ended"
    );
    let again = ann.get(app, &platform_authorize_url(&rp.client_id)).await;
    assert!(location(&again).starts_with(&format!("{PUBLIC_URL}{PLATFORM}/login")));

    // A choice outlives no password reset: proved before it, it opens nothing after.
    let choice = platform_sign_in(app, &mut ann, &rp.client_id, "ann@example.test", PASSWORD).await;
    assert_eq!(choice.status, StatusCode::OK, "{}", choice.body);
    let (flow, token) = (hidden(&choice, "flow"), hidden(&choice, "choice"));
    let reset = app
        .post(
            &format!("/api/v1/admin/users/{ann_at_globex}/reset-password"),
            &w.root,
            json!({"new_password": "another-long-password"}),
        )
        .await;
    assert!(reset.status.is_success(), "{}", reset.body);
    let stale = ann
        .post_form(
            app,
            &login,
            &[
                ("flow", &flow),
                ("choice", &token),
                ("tenant", &w.globex_hq),
            ],
        )
        .await;
    assert_eq!(stale.status, StatusCode::BAD_REQUEST);

    // Only GLOBAL applications sign in at the platform.
    let tenant_app = application(
        &w,
        json!({"name": "Local", "scope": "TENANT", "tenant_id": w.acme_lab,
               "application_type": "WEB", "redirect_uris": [CALLBACK],
               "grant_types": ["authorization_code"]}),
    )
    .await;
    let page = Browser::default()
        .get(app, &platform_authorize_url(&tenant_app.client_id))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
}
