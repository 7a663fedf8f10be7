//! Platform and tenant OAuth (SPEC §3.1, §4.14): the `client_credentials` token endpoints
//! (client authentication, RFC 6749 errors, scope down-selection), discovery, and platform
//! tokens on the admin API within their scopes — stopped at once when their application is
//! suspended or deleted.

use api_tests::*;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use data_encoding::{BASE64, BASE64URL_NOPAD};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};

const APPS: &str = "/api/v1/admin/applications";
const PLATFORM_TOKEN: &str = "/api/v1/platform/oauth/token";
const SCOPE_MISSING: &str = "Platform token requires admin:read or admin:write scope";

/// A GLOBAL SERVICE application allowed `client_credentials` and `scopes`: (id, secret).
async fn service_app(app: &TestApp, root: &str, scopes: &[&str]) -> (String, String) {
    let created = app
        .post(
            APPS,
            root,
            json!({"name": "Fleet", "scope": "GLOBAL", "application_type": "SERVICE",
                   "grant_types": ["client_credentials"], "allowed_scopes": scopes}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    (
        created.id(),
        created.body["client_secret"].as_str().unwrap().to_owned(),
    )
}

/// A token request: a form body, and HTTP Basic when `basic` names the client.
async fn token_request(
    app: &TestApp,
    path: &str,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> Reply {
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let mut builder = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some((id, secret)) = basic {
        let encode =
            |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let pair = format!("{}:{}", encode(id), encode(secret));
        builder = builder.header(
            "authorization",
            format!("Basic {}", BASE64.encode(pair.as_bytes())),
        );
    }
    app.send(builder.body(Body::from(body)).unwrap()).await
}

async fn platform_token(app: &TestApp, id: &str, secret: &str, scope: Option<&str>) -> Reply {
    let mut form = vec![("grant_type", "client_credentials")];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    token_request(app, PLATFORM_TOKEN, &form, Some((id, secret))).await
}

fn claims(token: &str) -> (Value, Value) {
    let part = |i: usize| -> Value {
        serde_json::from_slice(
            &BASE64URL_NOPAD
                .decode(token.split('.').nth(i).unwrap().as_bytes())
                .unwrap(),
        )
        .unwrap()
    };
    (part(0), part(1))
}

fn oauth_error(reply: &Reply) -> &str {
    reply.body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("{}", reply.body))
}

/// A GLOBAL confidential client gets a platform token by HTTP Basic or by form fields: RS256
/// with a `kid` that the JWKS verifies, the claims of SPEC §3.1, `no-store`, no refresh token —
/// in one DynamoDB call.
#[tokio::test]
async fn a_global_client_gets_a_platform_token_that_the_jwks_verifies() {
    let Some(app) = spawn_app().await else { return };
    let root = app.root_token().await;
    let (id, secret) = service_app(&app, &root, &["admin:read", "users:read"]).await;

    let calls = app.calls();
    let reply = platform_token(&app, &id, &secret, None).await;
    assert_eq!(app.calls() - calls, 1, "one read of the client");
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.headers["cache-control"], "no-store");
    assert_eq!(reply.body["token_type"], "Bearer");
    assert_eq!(reply.body["expires_in"], 3600);
    assert_eq!(reply.body["scope"], "admin:read users:read");
    assert!(reply.body.get("refresh_token").is_none());
    let token = reply.body["access_token"].as_str().unwrap();
    let (header, body) = claims(token);
    assert_eq!(header["alg"], "RS256");
    for (name, value) in [
        ("sub", json!(id)),
        ("client_id", json!(id)),
        ("scope", json!("admin:read users:read")),
        ("app_scope", json!("GLOBAL")),
        ("platform_token", json!(true)),
        ("token_type", json!("client_credentials")),
    ] {
        assert_eq!(body[name], value, "{name}");
    }
    assert_eq!(
        body["exp"].as_i64().unwrap() - body["iat"].as_i64().unwrap(),
        3600
    );

    // Verified by the published keys, as any relying party would.
    let jwks = app.jwks().await.body;
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("the token's key is published");
    let decoding =
        DecodingKey::from_rsa_components(key["n"].as_str().unwrap(), key["e"].as_str().unwrap())
            .unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[body["aud"].as_str().unwrap()]);
    jsonwebtoken::decode::<Value>(token, &decoding, &validation).expect("verifies");

    // client_secret_post, and a narrower scope.
    let posted = token_request(
        &app,
        PLATFORM_TOKEN,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("scope", "users:read"),
        ],
        None,
    )
    .await;
    assert_eq!(posted.status, StatusCode::OK, "{}", posted.body);
    assert_eq!(posted.body["scope"], "users:read");
}

/// Every refusal is an RFC 6749 error with its status: nothing about the client leaks beyond
/// `invalid_client`, and HTTP Basic failures name the scheme.
#[tokio::test]
async fn token_requests_are_refused_with_rfc_6749_errors() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let (id, secret) = service_app(app, &w.root, &["admin:read"]).await;
    let unknown = shared::ids::ApplicationId::generate().to_string();
    let cc = ("grant_type", "client_credentials");

    let wrong = platform_token(app, &id, "not-the-secret", None).await;
    assert_eq!(
        (wrong.status, oauth_error(&wrong)),
        (StatusCode::UNAUTHORIZED, "invalid_client")
    );
    assert_eq!(wrong.headers["www-authenticate"], "Basic realm=\"scaikey\"");
    for reply in [
        platform_token(app, &unknown, &secret, None).await,
        platform_token(app, "not-an-id", &secret, None).await,
        token_request(app, PLATFORM_TOKEN, &[cc], None).await,
        token_request(
            app,
            PLATFORM_TOKEN,
            &[cc, ("client_id", &id), ("client_secret", "x")],
            None,
        )
        .await,
    ] {
        assert_eq!(
            (reply.status, oauth_error(&reply)),
            (StatusCode::UNAUTHORIZED, "invalid_client"),
            "{}",
            reply.body
        );
    }
    let cases: Vec<(Reply, &str)> = vec![
        (
            token_request(app, PLATFORM_TOKEN, &[], Some((&id, &secret))).await,
            "invalid_request",
        ),
        (
            token_request(
                app,
                PLATFORM_TOKEN,
                &[("grant_type", "password")],
                Some((&id, &secret)),
            )
            .await,
            "unsupported_grant_type",
        ),
        (
            platform_token(app, &id, &secret, Some("admin:write")).await,
            "invalid_scope",
        ),
        (
            platform_token(app, &id, &secret, Some("admin:read openid")).await,
            "invalid_scope",
        ),
        // Two authentication methods at once.
        (
            token_request(
                app,
                PLATFORM_TOKEN,
                &[cc, ("client_secret", &secret)],
                Some((&id, &secret)),
            )
            .await,
            "invalid_request",
        ),
        // A repeated parameter.
        (
            token_request(
                app,
                PLATFORM_TOKEN,
                &[cc, ("scope", "a"), ("scope", "b")],
                Some((&id, &secret)),
            )
            .await,
            "invalid_request",
        ),
    ];
    for (reply, error) in cases {
        assert_eq!(
            (reply.status, oauth_error(&reply)),
            (StatusCode::BAD_REQUEST, error),
            "{}",
            reply.body
        );
    }
    // JSON is not a token request.
    let json = app
        .call(
            Method::POST,
            PLATFORM_TOKEN,
            None,
            Some(json!({"grant_type": "client_credentials"})),
        )
        .await;
    assert_eq!(
        (json.status, oauth_error(&json)),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );

    // A public client, a client without the grant, a tenant's client at the platform.
    let spa = app
        .post(
            APPS,
            &w.root,
            json!({"name": "Spa", "scope": "GLOBAL", "application_type": "SPA"}),
        )
        .await
        .id();
    let reply = platform_token(app, &spa, "anything", None).await;
    assert_eq!(oauth_error(&reply), "invalid_client");
    let web = app
        .post(
            APPS,
            &w.root,
            json!({"name": "Web", "scope": "GLOBAL", "application_type": "WEB",
                   "grant_types": ["authorization_code"]}),
        )
        .await;
    let reply = platform_token(
        app,
        &web.id(),
        web.body["client_secret"].as_str().unwrap(),
        None,
    )
    .await;
    assert_eq!(
        (reply.status, oauth_error(&reply)),
        (StatusCode::BAD_REQUEST, "unauthorized_client")
    );
    let tenant_app = app
        .post(APPS, &w.root, json!({"name": "T", "scope": "TENANT", "tenant_id": w.acme_hq,
                                     "application_type": "SERVICE", "grant_types": ["client_credentials"]}))
        .await;
    let reply = platform_token(
        app,
        &tenant_app.id(),
        tenant_app.body["client_secret"].as_str().unwrap(),
        None,
    )
    .await;
    assert_eq!(
        (reply.status, oauth_error(&reply)),
        (StatusCode::UNAUTHORIZED, "invalid_client")
    );
}

/// A platform token acts platform-wide within its scopes: `admin:read` reads everything and
/// writes nothing; `users:read` reads users only; `admin:write` writes, recorded as the
/// application (a `service` actor). Admin-only routes refuse it. A GET by id costs what an
/// admin's does: one round trip.
#[tokio::test]
async fn a_platform_token_works_on_the_admin_api_within_its_scopes() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let (id, secret) =
        service_app(app, &w.root, &["admin:read", "admin:write", "users:read"]).await;
    let token = |scope: &'static str| {
        let (id, secret) = (id.clone(), secret.clone());
        async move {
            let reply = platform_token(app, &id, &secret, Some(scope)).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            reply.body["access_token"].as_str().unwrap().to_owned()
        }
    };
    let reader = token("admin:read").await;
    let users_only = token("users:read").await;
    let writer = token("admin:write").await;
    let tenant = format!("/api/v1/admin/tenants/{}", w.acme_hq);

    for path in [
        "/api/v1/admin/tenants",
        "/api/v1/admin/partners",
        "/api/v1/admin/users",
        "/api/v1/admin/groups",
        APPS,
        &tenant,
    ] {
        let reply = app.get(path, &reader).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
    }
    let calls = app.calls();
    assert_eq!(app.get(&tenant, &reader).await.status, StatusCode::OK);
    assert_eq!(
        app.calls() - calls,
        1,
        "the application's check rides in the read's batch"
    );

    let partner =
        json!({"name": "Initech", "slug": "initech", "contact_email": "ops@initech.test"});
    let refused = app
        .post("/api/v1/admin/partners", &reader, partner.clone())
        .await;
    assert_eq!(
        (refused.status, refused.body.clone()),
        (StatusCode::FORBIDDEN, detail(SCOPE_MISSING))
    );
    assert_eq!(
        app.get("/api/v1/admin/users", &users_only).await.status,
        StatusCode::OK
    );
    for path in ["/api/v1/admin/groups", "/api/v1/admin/tenants", APPS] {
        let reply = app.get(path, &users_only).await;
        assert_eq!(
            (reply.status, reply.body.clone()),
            (StatusCode::FORBIDDEN, detail(SCOPE_MISSING)),
            "{path}"
        );
    }

    let created = app.post("/api/v1/admin/partners", &writer, partner).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let events = app.audit_events_of_partner(&created.id()).await;
    let create = events
        .iter()
        .find(|e| e["action"] == "partner.create")
        .unwrap_or_else(|| panic!("{events:?}"));
    assert_eq!(
        create["actor"],
        json!({"type": "service", "id": id, "email": null})
    );
    assert_eq!(
        app.get("/api/v1/admin/tenants", &writer).await.status,
        StatusCode::OK,
        "write implies read"
    );

    for (method, path) in [
        (Method::GET, "/api/v1/admin/auth/me"),
        (Method::POST, "/api/v1/admin/auth/logout"),
    ] {
        let reply = app.call(method, path, Some(&writer), None).await;
        assert_eq!(
            (reply.status, reply.body),
            (StatusCode::FORBIDDEN, detail("Access denied")),
            "{path}: admin-only"
        );
    }
    let me = app.get("/api/v1/admin/auth/me", &writer).await;
    assert_eq!(
        (me.status, me.body),
        (StatusCode::FORBIDDEN, detail("Access denied"))
    );
}

/// Suspending or deleting the application stops its platform tokens on their next request and
/// its token requests at once; a rotated secret keeps working through its grace period only.
#[tokio::test]
async fn a_suspended_or_deleted_client_stops_at_once_and_rotation_honours_its_grace() {
    let Some(app) = spawn_app().await else { return };
    let root = app.root_token().await;
    let (id, secret) = service_app(&app, &root, &["admin:read"]).await;
    let token = platform_token(&app, &id, &secret, None).await.body["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.get("/api/v1/admin/tenants", &token).await.status,
        StatusCode::OK
    );

    let rotated = app
        .post(
            &format!("{APPS}/{id}/rotate-secret"),
            &root,
            json!({"grace_period_seconds": 3600}),
        )
        .await;
    let newer = rotated.body["client_secret"].as_str().unwrap().to_owned();
    for s in [&secret, &newer] {
        assert_eq!(
            platform_token(&app, &id, s, None).await.status,
            StatusCode::OK,
            "within the grace"
        );
    }
    let rotated = app
        .post(&format!("{APPS}/{id}/rotate-secret"), &root, json!({}))
        .await;
    let newest = rotated.body["client_secret"].as_str().unwrap().to_owned();
    for s in [&secret, &newer] {
        assert_eq!(
            platform_token(&app, &id, s, None).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        platform_token(&app, &id, &newest, None).await.status,
        StatusCode::OK
    );

    let suspended = app
        .patch(
            &format!("{APPS}/{id}"),
            &root,
            json!({"status": "SUSPENDED"}),
        )
        .await;
    assert_eq!(suspended.status, StatusCode::OK, "{}", suspended.body);
    assert_eq!(
        app.get("/api/v1/admin/tenants", &token).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        platform_token(&app, &id, &newest, None).await.status,
        StatusCode::UNAUTHORIZED
    );

    app.patch(&format!("{APPS}/{id}"), &root, json!({"status": "ACTIVE"}))
        .await;
    assert_eq!(
        app.get("/api/v1/admin/tenants", &token).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.delete(&format!("{APPS}/{id}"), &root).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get("/api/v1/admin/tenants", &token).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        platform_token(&app, &id, &newest, None).await.status,
        StatusCode::UNAUTHORIZED
    );
}

/// A tenant's endpoint serves its TENANT applications and its partner's PARTNER applications;
/// their tokens name the tenant and are refused by the admin API (403). Foreign clients and
/// unknown tenants are refused.
#[tokio::test]
async fn tenant_tokens_are_issued_per_tenant_and_refused_by_the_admin_api() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let root = w.root.as_str();
    let make = |body: Value| async move {
        let created = app.post(APPS, root, body).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        (
            created.id(),
            created.body["client_secret"].as_str().unwrap().to_owned(),
        )
    };
    let cc = json!(["client_credentials"]);
    let (own, own_secret) = make(json!({"name": "Own", "scope": "TENANT", "tenant_id": w.acme_hq, "application_type": "SERVICE", "grant_types": cc})).await;
    let (partner_app, partner_secret) = make(json!({"name": "P", "scope": "PARTNER", "partner_id": w.acme, "application_type": "SERVICE", "grant_types": cc})).await;
    let (global, global_secret) = make(
        json!({"name": "G", "scope": "GLOBAL", "application_type": "SERVICE", "grant_types": cc}),
    )
    .await;
    let endpoint = |slug: &str| format!("/api/v1/auth/tenants/{slug}/oauth/token");
    let cc_form = [("grant_type", "client_credentials")];

    let reply = token_request(
        app,
        &endpoint("acme-hq"),
        &cc_form,
        Some((&own, &own_secret)),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let token = reply.body["access_token"].as_str().unwrap().to_owned();
    let (_, body) = claims(&token);
    assert_eq!(
        (
            &body["app_scope"],
            &body["platform_token"],
            &body["tenant_id"]
        ),
        (&json!("TENANT"), &json!(false), &json!(w.acme_hq))
    );
    let refused = app.get("/api/v1/admin/tenants", &token).await;
    assert_eq!(
        (refused.status, refused.body),
        (StatusCode::FORBIDDEN, detail("Access denied"))
    );

    for slug in ["acme-hq", "acme-lab"] {
        let reply = token_request(
            app,
            &endpoint(slug),
            &cc_form,
            Some((&partner_app, &partner_secret)),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{slug}: {}", reply.body);
    }
    for (slug, id, secret) in [
        ("globex-hq", &own, &own_secret),
        ("acme-lab", &own, &own_secret),
        ("globex-hq", &partner_app, &partner_secret),
        ("acme-hq", &global, &global_secret),
    ] {
        let reply = token_request(app, &endpoint(slug), &cc_form, Some((id, secret))).await;
        assert_eq!(
            (reply.status, oauth_error(&reply)),
            (StatusCode::UNAUTHORIZED, "invalid_client"),
            "{slug}"
        );
    }
    let unknown = token_request(
        app,
        &endpoint("nowhere"),
        &cc_form,
        Some((&own, &own_secret)),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let jwks = app
        .call(
            Method::GET,
            "/api/v1/auth/tenants/acme-hq/.well-known/jwks.json",
            None,
            None,
        )
        .await;
    assert_eq!(jwks.body, app.jwks().await.body);
}

/// Discovery names the issuer of the tokens, the token endpoint and JWKS on the host asked,
/// the one grant and both client authentication methods.
#[tokio::test]
async fn discovery_documents_describe_the_platform_and_each_tenant() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let get = |path: String| async move {
        let request = Request::builder()
            .uri(path)
            .header("host", "127.0.0.1:3000")
            .body(Body::empty())
            .unwrap();
        app.send(request).await
    };
    let platform = get("/api/v1/platform/oauth/.well-known/openid-configuration".into()).await;
    assert_eq!(platform.status, StatusCode::OK);
    let doc = &platform.body;
    assert_eq!(doc["issuer"], app.state.config().token_issuer.as_str());
    assert_eq!(
        doc["token_endpoint"],
        "http://127.0.0.1:3000/api/v1/platform/oauth/token"
    );
    assert_eq!(
        doc["jwks_uri"],
        "http://127.0.0.1:3000/api/v1/platform/.well-known/jwks.json"
    );
    assert_eq!(
        doc["grant_types_supported"],
        json!(["authorization_code", "refresh_token", "client_credentials"])
    );
    assert_eq!(
        doc["token_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post", "none"])
    );
    // GLOBAL applications' sign-in at the platform's issuer.
    for (field, path) in [
        ("authorization_endpoint", "authorize"),
        ("userinfo_endpoint", "userinfo"),
        ("revocation_endpoint", "revoke"),
        ("introspection_endpoint", "introspect"),
        ("end_session_endpoint", "logout"),
    ] {
        assert_eq!(
            doc[field],
            format!("http://127.0.0.1:3000/api/v1/platform/oauth/{path}")
        );
    }
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );
    let tenant = get("/api/v1/auth/tenants/acme-hq/.well-known/openid-configuration".into()).await;
    assert_eq!(
        tenant.body["token_endpoint"],
        "http://127.0.0.1:3000/api/v1/auth/tenants/acme-hq/oauth/token"
    );
    let missing = get("/api/v1/auth/tenants/nowhere/.well-known/openid-configuration".into()).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

/// In a deployment made with `SCAIKEY_SIGNING_ALGORITHM=ES256`, bootstrap makes a P-256 key:
/// platform tokens are ES256, the platform and tenant JWKS publish that one EC key, discovery
/// names ES256 only, and the admin API accepts the token.
#[tokio::test]
async fn an_es256_deployment_issues_es256_tokens() {
    let Some(app) = spawn_app_with(&[("SCAIKEY_SIGNING_ALGORITHM", "ES256")]).await else {
        return;
    };
    let root = app.root_token().await;
    assert_eq!(claims(&root).0["alg"], "ES256");
    app.create_tenant(&root, app.platform_partner.as_str(), "acme-hq")
        .await;
    let (id, secret) = service_app(&app, &root, &["admin:read"]).await;
    let reply = platform_token(&app, &id, &secret, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let token = reply.body["access_token"].as_str().unwrap();
    let (header, body) = claims(token);
    assert_eq!(header["alg"], "ES256");

    let jwks = app.jwks().await.body;
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "{jwks}");
    let key = &keys[0];
    assert_eq!(
        (&key["kid"], &key["kty"], &key["alg"], &key["crv"]),
        (
            &header["kid"],
            &json!("EC"),
            &json!("ES256"),
            &json!("P-256")
        )
    );
    let decoding =
        DecodingKey::from_ec_components(key["x"].as_str().unwrap(), key["y"].as_str().unwrap())
            .unwrap();
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&[body["aud"].as_str().unwrap()]);
    jsonwebtoken::decode::<Value>(token, &decoding, &validation).expect("verifies");
    let tenant_jwks = app
        .call(
            Method::GET,
            "/api/v1/auth/tenants/acme-hq/.well-known/jwks.json",
            None,
            None,
        )
        .await;
    assert_eq!(tenant_jwks.body, jwks);
    for path in [
        "/api/v1/platform/oauth/.well-known/openid-configuration",
        "/api/v1/auth/tenants/acme-hq/.well-known/openid-configuration",
    ] {
        let doc = app.call(Method::GET, path, None, None).await;
        assert_eq!(
            doc.body["id_token_signing_alg_values_supported"],
            json!(["ES256"]),
            "{path}"
        );
    }
    assert_eq!(
        app.get("/api/v1/admin/tenants", token).await.status,
        StatusCode::OK
    );
}

/// The `oauth` binary under a Lambda Runtime API answers a token request as the local server
/// does, and signs with the keys it opened with the key-encryption key.
#[tokio::test]
async fn lambda_the_oauth_binary_issues_tokens_the_admin_api_accepts() {
    use api_tests::lambda::{HttpApiEvent, LambdaFunction};
    let Some(app) = spawn_app().await else { return };
    let Some(mut function) = LambdaFunction::start(&app, "oauth").await else {
        return;
    };
    let root = app.root_token().await;
    let (id, secret) = service_app(&app, &root, &["admin:read"]).await;
    let form = format!("grant_type=client_credentials&client_id={id}&client_secret={secret}");
    let event = HttpApiEvent::new("POST", "POST /api/v1/platform/oauth/token", PLATFORM_TOKEN)
        .header("content-type", "application/x-www-form-urlencoded")
        .text_body(&form);
    let reply = function.invoke(&event).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let token = reply.body["access_token"].as_str().unwrap();
    assert_eq!(
        app.get("/api/v1/admin/tenants", token).await.status,
        StatusCode::OK
    );
    let refused = function
        .invoke(
            &HttpApiEvent::new("POST", "POST /api/v1/platform/oauth/token", PLATFORM_TOKEN)
                .header("content-type", "application/x-www-form-urlencoded")
                .text_body("grant_type=client_credentials"),
        )
        .await;
    assert_eq!(
        (refused.status, refused.body["error"].clone()),
        (StatusCode::UNAUTHORIZED, json!("invalid_client"))
    );
}

/// A suspended partner's tenants issue nothing (SPEC §4.14): TENANT and PARTNER applications and
/// agents all get 401 `invalid_client` at once, the partner read with the client; reactivated,
/// they get tokens again. A suspended tenant's clients get the same 401.
#[tokio::test]
async fn a_suspended_partners_tenants_issue_no_tokens() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let root = w.root.as_str();
    let cc = json!(["client_credentials"]);
    let mut clients = Vec::new();
    for body in [
        json!({"name": "Own", "scope": "TENANT", "tenant_id": w.acme_hq, "application_type": "SERVICE", "grant_types": cc}),
        json!({"name": "P", "scope": "PARTNER", "partner_id": w.acme, "application_type": "SERVICE", "grant_types": cc}),
    ] {
        let created = app.post(APPS, root, body).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        clients.push((
            created.id(),
            created.body["client_secret"].as_str().unwrap().to_owned(),
        ));
    }
    let agent = app
        .post(
            "/api/v1/admin/agents",
            root,
            json!({"tenant_id": w.acme_hq, "name": "Bot"}),
        )
        .await;
    assert_eq!(agent.status, StatusCode::CREATED, "{}", agent.body);
    clients.push((
        agent.id(),
        agent.body["client_secret"].as_str().unwrap().to_owned(),
    ));
    let endpoint = "/api/v1/auth/tenants/acme-hq/oauth/token";
    let form = [("grant_type", "client_credentials")];
    let statuses = || async {
        let mut out = Vec::new();
        for (id, secret) in &clients {
            let reply = token_request(app, endpoint, &form, Some((id, secret))).await;
            out.push((
                reply.status,
                reply.body["error"].as_str().unwrap_or("").to_owned(),
            ));
        }
        out
    };
    assert!(
        statuses().await.iter().all(|(s, _)| *s == StatusCode::OK),
        "{:?}",
        statuses().await
    );
    let partner = format!("/api/v1/admin/partners/{}", w.acme);
    let suspended = app
        .patch(&partner, root, json!({"status": "SUSPENDED"}))
        .await;
    assert_eq!(suspended.status, StatusCode::OK, "{}", suspended.body);
    for (status, error) in statuses().await {
        assert_eq!(
            (status, error.as_str()),
            (StatusCode::UNAUTHORIZED, "invalid_client")
        );
    }
    let active = app.patch(&partner, root, json!({"status": "ACTIVE"})).await;
    assert_eq!(active.status, StatusCode::OK, "{}", active.body);
    assert!(statuses().await.iter().all(|(s, _)| *s == StatusCode::OK));
    // A suspended tenant likewise: its clients are refused (401), not told the tenant is gone.
    let tenant = format!("/api/v1/admin/tenants/{}", w.acme_hq);
    let suspended = app
        .patch(&tenant, root, json!({"status": "SUSPENDED"}))
        .await;
    assert_eq!(suspended.status, StatusCode::OK, "{}", suspended.body);
    for (status, error) in statuses().await {
        assert_eq!(
            (status, error.as_str()),
            (StatusCode::UNAUTHORIZED, "invalid_client")
        );
    }
}

/// A platform token's scopes count only as far as its application still allows them (SPEC
/// §4.14): narrowing `allowed_scopes` bites on the token's next request, with no extra read.
#[tokio::test]
async fn narrowing_an_applications_scopes_narrows_its_live_tokens() {
    let Some(app) = spawn_app().await else { return };
    let root = app.root_token().await;
    let (id, secret) = service_app(&app, &root, &["admin:read", "admin:write"]).await;
    let reply = platform_token(&app, &id, &secret, None).await;
    let token = reply.body["access_token"].as_str().unwrap().to_owned();
    let write = || {
        app.post(
            "/api/v1/admin/partners",
            &token,
            json!({"name": "P", "slug": "p-one", "contact_email": "p@p.test"}),
        )
    };
    assert_eq!(write().await.status, StatusCode::CREATED);
    let narrowed = app
        .patch(
            &format!("{APPS}/{id}"),
            &root,
            json!({"allowed_scopes": ["admin:read"]}),
        )
        .await;
    assert_eq!(narrowed.status, StatusCode::OK, "{}", narrowed.body);
    let calls = app.calls();
    let refused = app
        .post(
            "/api/v1/admin/partners",
            &token,
            json!({"name": "P", "slug": "p-two", "contact_email": "p@p.test"}),
        )
        .await;
    assert_eq!(
        app.calls() - calls,
        1,
        "decided in the session check's batch"
    );
    assert_eq!(
        (refused.status, refused.body),
        (StatusCode::FORBIDDEN, detail(SCOPE_MISSING))
    );
    assert_eq!(
        app.get("/api/v1/admin/partners", &token).await.status,
        StatusCode::OK,
        "admin:read still opens the reads"
    );
    let emptied = app
        .patch(
            &format!("{APPS}/{id}"),
            &root,
            json!({"allowed_scopes": []}),
        )
        .await;
    assert_eq!(emptied.status, StatusCode::OK, "{}", emptied.body);
    let reads = app.get("/api/v1/admin/partners", &token).await;
    assert_eq!(
        (reads.status, reads.body),
        (StatusCode::FORBIDDEN, detail(SCOPE_MISSING))
    );
}

/// `users:read` and `groups:read` open the user and group reads, not the application records
/// those show (`/users/{id}/applications`, `/groups/{id}/applications` need `admin:read`).
#[tokio::test]
async fn narrow_read_scopes_do_not_reveal_applications() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let root = w.root.as_str();
    let (id, secret) = service_app(app, root, &["users:read", "groups:read", "admin:read"]).await;
    let narrow = platform_token(app, &id, &secret, Some("users:read groups:read")).await;
    let narrow = narrow.body["access_token"].as_str().unwrap().to_owned();
    let broad = platform_token(app, &id, &secret, Some("admin:read")).await;
    let broad = broad.body["access_token"].as_str().unwrap().to_owned();
    let user = app
        .post(
            "/api/v1/admin/users",
            root,
            json!({"tenant_id": w.acme_hq, "email": "u@acme.test"}),
        )
        .await
        .id();
    let group = app.create_group(root, &w.acme_hq, "Staff").await;
    for (path, opened) in [
        (format!("/api/v1/admin/users/{user}"), true),
        (format!("/api/v1/admin/users/{user}/groups"), true),
        (format!("/api/v1/admin/groups/{group}"), true),
        (format!("/api/v1/admin/users/{user}/applications"), false),
        (format!("/api/v1/admin/groups/{group}/applications"), false),
    ] {
        let reply = app.get(&path, &narrow).await;
        if opened {
            assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
        } else {
            assert_eq!(
                (reply.status, reply.body),
                (StatusCode::FORBIDDEN, detail(SCOPE_MISSING)),
                "{path}"
            );
            assert_eq!(
                app.get(&path, &broad).await.status,
                StatusCode::OK,
                "{path}"
            );
        }
    }
}
