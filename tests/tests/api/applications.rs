//! Applications (SPEC §3.2, §4.7; notes/apps-contract.md): CRUD of OAuth clients at three
//! tiers (GLOBAL, PARTNER, TENANT), who sees and writes which, validation of URIs, origins,
//! scopes and grant types, client secrets and their rotation, the per-tenant limit (also under
//! a race), lists, round trips and audit events.

use std::collections::BTreeSet;

use api_tests::*;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use shared::access::AdminRole;
use shared::time::Timestamp;

const BASE: &str = "/api/v1/admin/applications";
const PARTNERS: &str = "/api/v1/admin/partners";

/// Every field of an ApplicationResponse (a created or rotated one adds `client_secret`, a
/// rotated one `previous_secret_expires_at`).
const FIELDS: [&str; 19] = [
    "id",
    "client_id",
    "name",
    "description",
    "scope",
    "partner_id",
    "tenant_id",
    "application_type",
    "redirect_uris",
    "post_logout_redirect_uris",
    "allowed_origins",
    "allowed_scopes",
    "grant_types",
    "token_lifetime",
    "token_exchange_allowed",
    "assignment_required",
    "status",
    "created_at",
    "updated_at",
];

fn app_path(id: &str) -> String {
    format!("{BASE}/{id}")
}

fn rotate_path(id: &str) -> String {
    format!("{BASE}/{id}/rotate-secret")
}

fn ids(reply: &Reply) -> Vec<String> {
    reply.body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a list: {}", reply.body))
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

fn total(reply: &Reply) -> Value {
    reply.body["pagination"]["total"].clone()
}

/// The smallest body of a GLOBAL application.
fn global(name: &str, kind: &str) -> Value {
    json!({"name": name, "scope": "GLOBAL", "application_type": kind})
}

/// The smallest body of a partner's PARTNER application.
fn partner_app(name: &str, partner: &str, kind: &str) -> Value {
    json!({"name": name, "scope": "PARTNER", "partner_id": partner, "application_type": kind})
}

/// The smallest body of a tenant's TENANT application.
fn tenant_app(name: &str, tenant: &str, kind: &str) -> Value {
    json!({"name": name, "scope": "TENANT", "tenant_id": tenant, "application_type": kind})
}

/// `body` with the fields of `extra` set (or replaced).
fn with(mut body: Value, extra: Value) -> Value {
    let fields = body.as_object_mut().expect("an object body");
    for (k, v) in extra.as_object().expect("an object") {
        fields.insert(k.clone(), v.clone());
    }
    body
}

/// Creates an application, asserting 201; the reply (it holds the secret, if any).
async fn create(app: &TestApp, token: &str, body: Value) -> Reply {
    let reply = app.post(BASE, token, body.clone()).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{body}: {}", reply.body);
    reply
}

/// A rotate-secret request without any body (the body is optional).
async fn rotate_without_body(app: &TestApp, token: &str, id: &str) -> Reply {
    app.call(Method::POST, &rotate_path(id), Some(token), None)
        .await
}

fn keys(body: &Value) -> BTreeSet<String> {
    body.as_object()
        .unwrap_or_else(|| panic!("an object: {body}"))
        .keys()
        .cloned()
        .collect()
}

fn fields_and(extra: &[&str]) -> BTreeSet<String> {
    FIELDS
        .iter()
        .chain(extra)
        .map(|f| (*f).to_owned())
        .collect()
}

/// The stored application item, as the table holds it.
async fn stored(app: &TestApp, id: &str) -> Value {
    app.snapshot()
        .await
        .remove(&format!("APP#{id} APP"))
        .unwrap_or_else(|| panic!("APP#{id} is stored"))
}

/// The values of a stored application's attributes that hold a secret's hash: named for a
/// secret or hash, and long enough for an HMAC-SHA256 (timestamps are 27 characters).
fn hashes(item: &Value) -> Vec<String> {
    item.as_object()
        .unwrap()
        .iter()
        .filter(|(name, _)| name.contains("hash") || name.contains("secret"))
        .filter_map(|(_, v)| v.as_str().map(str::to_owned))
        .filter(|v| v.len() >= 32)
        .collect()
}

/// The three-tier view of `world()` most tests here start from: a GLOBAL app, a PARTNER app
/// of each partner and a TENANT app of each tenant, all WEB (confidential), created by the
/// super admin.
struct Apps {
    global: String,
    acme: String,
    globex: String,
    acme_hq: String,
    acme_lab: String,
    globex_hq: String,
}

async fn apps(w: &World) -> Apps {
    let app = &w.app;
    let root = &w.root;
    Apps {
        global: create(app, root, global("Global", "WEB")).await.id(),
        acme: create(app, root, partner_app("Acme Partner", &w.acme, "WEB"))
            .await
            .id(),
        globex: create(app, root, partner_app("Globex Partner", &w.globex, "WEB"))
            .await
            .id(),
        acme_hq: create(app, root, tenant_app("Acme HQ", &w.acme_hq, "WEB"))
            .await
            .id(),
        acme_lab: create(app, root, tenant_app("Acme Lab", &w.acme_lab, "WEB"))
            .await
            .id(),
        globex_hq: create(app, root, tenant_app("Globex HQ", &w.globex_hq, "WEB"))
            .await
            .id(),
    }
}

/// A super admin's GLOBAL WEB app with the smallest body: every field of the response and
/// every default, `client_id` equal to the id, a URL-safe secret of at least 256 bits shown
/// once — absent from GET, the list and the table (only its hash is kept).
#[tokio::test]
async fn an_application_is_created_with_its_defaults_and_its_secret_shown_once() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let created = create(app, &w.root, global("Portal", "WEB")).await;
    let id = created.id();
    assert!(id.starts_with("app_") && id.len() == 30, "{id}");
    assert_eq!(keys(&created.body), fields_and(&["client_secret"]));
    let secret = assert_client_secret(&created.body["client_secret"]);
    let b = &created.body;
    assert_eq!(b["client_id"], id.as_str());
    assert_eq!(b["name"], "Portal");
    assert_eq!(b["description"], Value::Null);
    assert_eq!(b["scope"], "GLOBAL");
    assert_eq!(b["partner_id"], Value::Null);
    assert_eq!(b["tenant_id"], Value::Null);
    assert_eq!(b["application_type"], "WEB");
    assert_eq!(b["redirect_uris"], json!([]));
    assert_eq!(b["post_logout_redirect_uris"], json!([]));
    assert_eq!(b["allowed_origins"], json!([]));
    assert_eq!(b["allowed_scopes"], json!(["openid", "profile", "email"]));
    assert_eq!(
        b["grant_types"],
        json!(["authorization_code", "refresh_token", "client_credentials"]),
        "a WEB app's default grants"
    );
    assert_eq!(b["token_lifetime"], 3600);
    assert_eq!(b["token_exchange_allowed"], false);
    assert_eq!(b["assignment_required"], false);
    assert_eq!(b["status"], "ACTIVE");
    assert_eq!(b["created_at"], b["updated_at"]);
    assert!(Timestamp::parse(b["created_at"].as_str().unwrap()).is_some());

    let read = app.get(&app_path(&id), &w.root).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert_eq!(keys(&read.body), fields_and(&[]));
    let mut without_secret = created.body.clone();
    without_secret
        .as_object_mut()
        .unwrap()
        .remove("client_secret");
    assert_eq!(read.body, without_secret);

    let list = app.get(BASE, &w.root).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert_eq!(ids(&list), vec![id.clone()]);
    assert_eq!(list.body["items"][0], without_secret);
    assert_eq!(total(&list), 1);

    let table = serde_json::to_string(&app.snapshot().await).unwrap();
    assert!(!table.contains(&secret), "the secret is stored in clear");

    // Every field given; a second app's secret is another.
    let full = create(
        app,
        &w.root,
        json!({
            "name": "Full", "description": "Every field", "scope": "GLOBAL",
            "application_type": "WEB",
            "redirect_uris": ["https://full.example.com/cb"],
            "post_logout_redirect_uris": ["https://full.example.com/bye"],
            "allowed_origins": ["https://full.example.com"],
            "allowed_scopes": ["openid", "api:read"],
            "grant_types": ["authorization_code", "urn:ietf:params:oauth:grant-type:token-exchange"],
            "token_lifetime": 600, "token_exchange_allowed": true, "status": "SUSPENDED"
        }),
    )
    .await;
    let b = &full.body;
    assert_eq!(b["description"], "Every field");
    assert_eq!(b["redirect_uris"], json!(["https://full.example.com/cb"]));
    assert_eq!(
        b["post_logout_redirect_uris"],
        json!(["https://full.example.com/bye"])
    );
    assert_eq!(b["allowed_origins"], json!(["https://full.example.com"]));
    assert_eq!(b["allowed_scopes"], json!(["openid", "api:read"]));
    assert_eq!(
        b["grant_types"],
        json!([
            "authorization_code",
            "urn:ietf:params:oauth:grant-type:token-exchange"
        ])
    );
    assert_eq!(b["token_lifetime"], 600);
    assert_eq!(b["token_exchange_allowed"], true);
    assert_eq!(b["status"], "SUSPENDED");
    assert_ne!(assert_client_secret(&b["client_secret"]), secret);
    let _ = (&w.acme, &w.globex, &w.acme_hq, &w.acme_lab, &w.globex_hq);
}

/// Confidential types (WEB, SERVICE, SAML_SP) get a secret at creation; public ones (SPA,
/// NATIVE) get none — the field is absent, not null.
#[tokio::test]
async fn only_confidential_application_types_get_a_client_secret() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    for kind in ["WEB", "SERVICE", "SAML_SP"] {
        let created = create(app, &w.root, tenant_app(kind, &w.acme_hq, kind)).await;
        assert_eq!(created.body["application_type"], kind);
        assert_eq!(
            keys(&created.body),
            fields_and(&["client_secret"]),
            "{kind}"
        );
        assert_client_secret(&created.body["client_secret"]);
        let read = app.get(&app_path(&created.id()), &w.root).await;
        assert_eq!(keys(&read.body), fields_and(&[]), "{kind}");
    }
    for kind in ["SPA", "NATIVE"] {
        let created = create(app, &w.root, tenant_app(kind, &w.acme_hq, kind)).await;
        assert_eq!(created.body["application_type"], kind);
        assert_eq!(keys(&created.body), fields_and(&[]), "{kind}");
    }
    let list = app.get(BASE, &w.root).await;
    assert_eq!(total(&list), 5);
    for item in list.body["items"].as_array().unwrap() {
        assert_eq!(keys(item), fields_and(&[]));
    }
}

/// Each tier creates what it may, and reads it back: the super admin all three scopes, a
/// partner admin its partner's PARTNER app and TENANT apps of its tenants, a tenant admin its
/// tenant's. A TENANT app names its tenant's partner, given or not.
#[tokio::test]
async fn every_tier_creates_and_reads_the_applications_within_its_reach() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let pa = app
        .admin_token("pa@acme.test", AdminRole::PartnerAdmin, Some(&w.acme), None)
        .await;
    let ta = app
        .admin_token(
            "ta@acme.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_hq),
        )
        .await;
    // (token, body, scope, partner_id, tenant_id)
    let cases = [
        (&w.root, global("G", "WEB"), "GLOBAL", None, None),
        (
            &w.root,
            partner_app("P", &w.globex, "SERVICE"),
            "PARTNER",
            Some(&w.globex),
            None,
        ),
        (
            &w.root,
            tenant_app("T", &w.globex_hq, "SPA"),
            "TENANT",
            Some(&w.globex),
            Some(&w.globex_hq),
        ),
        (
            &w.root,
            with(
                tenant_app("T2", &w.acme_lab, "NATIVE"),
                json!({"partner_id": w.acme}),
            ),
            "TENANT",
            Some(&w.acme),
            Some(&w.acme_lab),
        ),
        (
            &pa,
            partner_app("PA", &w.acme, "WEB"),
            "PARTNER",
            Some(&w.acme),
            None,
        ),
        (
            &pa,
            tenant_app("PA-HQ", &w.acme_hq, "WEB"),
            "TENANT",
            Some(&w.acme),
            Some(&w.acme_hq),
        ),
        (
            &pa,
            tenant_app("PA-Lab", &w.acme_lab, "SAML_SP"),
            "TENANT",
            Some(&w.acme),
            Some(&w.acme_lab),
        ),
        (
            &ta,
            tenant_app("TA", &w.acme_hq, "WEB"),
            "TENANT",
            Some(&w.acme),
            Some(&w.acme_hq),
        ),
    ];
    for (token, body, scope, partner, tenant) in cases {
        let created = create(app, token, body.clone()).await;
        let b = &created.body;
        // A TENANT app names no partner: its partner is its tenant's, which a transfer moves.
        let partner = if scope == "TENANT" { None } else { partner };
        assert_eq!(b["scope"], scope, "{body}");
        assert_eq!(b["partner_id"], json!(partner), "{body}");
        assert_eq!(b["tenant_id"], json!(tenant), "{body}");
        assert_eq!(b["client_id"], created.id().as_str());
        let read = app.get(&app_path(&created.id()), token).await;
        assert_eq!(read.status, StatusCode::OK, "{body}: {}", read.body);
        assert_eq!(read.body["scope"], scope);
        assert_eq!(read.body["partner_id"], json!(partner));
        assert_eq!(read.body["tenant_id"], json!(tenant));
        let list = app.get(BASE, token).await;
        assert!(ids(&list).contains(&created.id()), "{body}");
    }
    assert_eq!(total(&app.get(BASE, &w.root).await), 8);
}

/// Who sees what (SPEC §3.2): a tenant admin GLOBAL apps, its partner's PARTNER apps and its
/// tenant's TENANT apps; a partner admin GLOBAL apps, its own PARTNER apps and the TENANT apps
/// of its tenants. Anything else is 403 by id, absent from lists (and their totals), and a
/// filter naming it is 403. Unknown and malformed ids are 404.
#[tokio::test]
async fn each_tier_sees_global_apps_and_the_apps_of_its_own_partner_and_tenants_only() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let a = apps(&w).await;
    let pa = app
        .admin_token("pa@acme.test", AdminRole::PartnerAdmin, Some(&w.acme), None)
        .await;
    let ta = app
        .admin_token(
            "ta@acme.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_hq),
        )
        .await;
    // (token, visible apps newest first, invisible apps, tenants within, tenants outside,
    //  partners outside)
    let cases = [
        (
            &ta,
            vec![&a.acme_hq, &a.acme, &a.global],
            vec![&a.globex, &a.acme_lab, &a.globex_hq],
            vec![&w.acme_hq],
            vec![&w.acme_lab, &w.globex_hq],
            vec![&w.globex],
        ),
        (
            &pa,
            vec![&a.acme_lab, &a.acme_hq, &a.acme, &a.global],
            vec![&a.globex, &a.globex_hq],
            vec![&w.acme_hq, &w.acme_lab],
            vec![&w.globex_hq],
            vec![&w.globex],
        ),
    ];
    for (token, visible, invisible, own_tenants, foreign_tenants, foreign_partners) in cases {
        let list = app.get(BASE, token).await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.body);
        let visible: Vec<String> = visible.into_iter().cloned().collect();
        assert_eq!(ids(&list), visible);
        assert_eq!(total(&list), visible.len());
        // Filtered lists count only what the caller sees, too (every app here is WEB).
        let typed = app
            .get(&format!("{BASE}?application_type=WEB"), token)
            .await;
        assert_eq!(ids(&typed), visible);
        assert_eq!(total(&typed), visible.len());
        let globals = app.get(&format!("{BASE}?scope=GLOBAL"), token).await;
        assert_eq!(ids(&globals), vec![a.global.clone()]);
        let partners = app.get(&format!("{BASE}?scope=PARTNER"), token).await;
        assert_eq!(ids(&partners), vec![a.acme.clone()]);
        assert_eq!(total(&partners), 1);
        for id in &visible {
            let read = app.get(&app_path(id), token).await;
            assert_eq!(read.status, StatusCode::OK, "{id}: {}", read.body);
            assert_eq!(keys(&read.body), fields_and(&[]));
        }
        for id in &invisible {
            let read = app.get(&app_path(id), token).await;
            assert_eq!(
                (read.status, read.body),
                (StatusCode::FORBIDDEN, detail("Access denied")),
                "{id}"
            );
        }
        for t in &own_tenants {
            let own = app.get(&format!("{BASE}?tenant_id={t}"), token).await;
            assert_eq!(own.status, StatusCode::OK, "{}", own.body);
            for id in ids(&own) {
                assert!(visible.contains(&id), "{t}: {id}");
            }
            assert_eq!(total(&own), 1, "{t}");
        }
        for t in &foreign_tenants {
            let r = app.get(&format!("{BASE}?tenant_id={t}"), token).await;
            assert_eq!(
                (r.status, r.body),
                (StatusCode::FORBIDDEN, detail("Access denied")),
                "tenant {t}"
            );
        }
        for p in &foreign_partners {
            let r = app.get(&format!("{BASE}?partner_id={p}"), token).await;
            assert_eq!(
                (r.status, r.body),
                (StatusCode::FORBIDDEN, detail("Access denied")),
                "partner {p}"
            );
        }
    }
    // The partner admin's own partner filter: its PARTNER app and its tenants' apps.
    let own_partner = app.get(&format!("{BASE}?partner_id={}", w.acme), &pa).await;
    assert_eq!(own_partner.status, StatusCode::OK, "{}", own_partner.body);
    assert_eq!(
        ids(&own_partner),
        vec![a.acme_lab.clone(), a.acme_hq.clone(), a.acme.clone()]
    );
    // The super admin sees all six.
    let all = app.get(BASE, &w.root).await;
    assert_eq!(total(&all), 6);
    for token in [&w.root, &pa, &ta] {
        let unknown = app
            .get(&app_path("app_00000000000000000000000000"), token)
            .await;
        assert_eq!(
            (unknown.status, unknown.body),
            (StatusCode::NOT_FOUND, detail("Application not found"))
        );
        for malformed in ["not-an-id", "grp_00000000000000000000000000", "app_x"] {
            let reply = app.get(&app_path(malformed), token).await;
            assert_eq!(reply.status, StatusCode::NOT_FOUND, "{malformed}");
        }
    }
    for path in [
        app_path("app_00000000000000000000000000"),
        rotate_path("app_00000000000000000000000000"),
    ] {
        let reply = if path.ends_with("rotate-secret") {
            app.post(&path, &w.root, json!({})).await
        } else {
            app.patch(&path, &w.root, json!({"name": "x"})).await
        };
        assert_eq!(
            (reply.status, reply.body),
            (StatusCode::NOT_FOUND, detail("Application not found")),
            "{path}"
        );
    }
    let gone = app
        .delete(&app_path("app_00000000000000000000000000"), &w.root)
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

/// Every write outside the caller's reach — a visible app it may not write (GLOBAL, its
/// partner's PARTNER app for a tenant admin) included — is 403 and leaves the table as it was
/// but for one DENIED event per refusal. Non-super admins never write GLOBAL apps.
#[tokio::test]
async fn writes_outside_reach_are_refused_and_leave_only_their_denied_events() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let a = apps(&w).await;
    let pa = app
        .admin_token("pa@acme.test", AdminRole::PartnerAdmin, Some(&w.acme), None)
        .await;
    let ta = app
        .admin_token(
            "ta@acme.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_hq),
        )
        .await;
    // (token, apps it may not write, bodies it may not create)
    let cases = [
        (
            &ta,
            vec![&a.global, &a.acme, &a.globex, &a.acme_lab, &a.globex_hq],
            vec![
                global("X", "WEB"),
                partner_app("X", &w.acme, "WEB"),
                partner_app("X", &w.globex, "WEB"),
                tenant_app("X", &w.acme_lab, "WEB"),
                tenant_app("X", &w.globex_hq, "WEB"),
            ],
        ),
        (
            &pa,
            vec![&a.global, &a.globex, &a.globex_hq],
            vec![
                global("X", "WEB"),
                partner_app("X", &w.globex, "WEB"),
                tenant_app("X", &w.globex_hq, "WEB"),
            ],
        ),
    ];
    for (token, targets, bodies) in cases {
        let before = app.snapshot().await;
        let mut expected = Vec::new();
        for body in bodies {
            let reply = app.post(BASE, token, body.clone()).await;
            assert_eq!(
                (reply.status, &reply.body),
                (StatusCode::FORBIDDEN, &detail("Access denied")),
                "{body}"
            );
            expected.push("application.create");
        }
        for id in targets {
            let refused = [
                (
                    app.patch(&app_path(id), token, json!({"name": "Taken"}))
                        .await,
                    "application.update",
                ),
                (
                    app.post(&rotate_path(id), token, json!({"grace_period_seconds": 0}))
                        .await,
                    "application.rotate_secret",
                ),
                (app.delete(&app_path(id), token).await, "application.delete"),
            ];
            for (reply, action) in refused {
                assert_eq!(
                    (reply.status, &reply.body),
                    (StatusCode::FORBIDDEN, &detail("Access denied")),
                    "{action} on {id}"
                );
                expected.push(action);
            }
        }
        let new = added_since(app, &before).await;
        assert!(
            new.iter()
                .all(|i| i["SK"] == "EVENT" && i["result"] == "DENIED"),
            "{new:?}"
        );
        let mut actions: Vec<&str> = new.iter().map(|e| e["action"].as_str().unwrap()).collect();
        actions.sort_unstable();
        expected.sort_unstable();
        assert_eq!(actions, expected, "one DENIED event per refused write");
    }
    // Nothing refused was written: every app reads back as created.
    for id in [&a.global, &a.acme, &a.globex, &a.acme_lab, &a.globex_hq] {
        let read = app.get(&app_path(id), &w.root).await;
        assert_eq!(read.status, StatusCode::OK);
        assert_ne!(read.body["name"], "Taken");
    }
    assert_eq!(total(&app.get(BASE, &w.root).await), 6);
    // Within reach, every write works.
    for (token, id) in [(&ta, &a.acme_hq), (&pa, &a.acme), (&pa, &a.acme_lab)] {
        let patched = app
            .patch(&app_path(id), token, json!({"name": "Mine"}))
            .await;
        assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
        let rotated = app.post(&rotate_path(id), token, json!({})).await;
        assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    }
    assert_eq!(
        app.delete(&app_path(&a.acme_hq), &ta).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.delete(&app_path(&a.acme), &pa).await.status,
        StatusCode::NO_CONTENT
    );
}

/// Required fields, the owners each scope needs (and forbids), and every field's bounds:
/// each bad body is 422 naming the field, and writes nothing.
#[tokio::test]
async fn invalid_create_bodies_are_refused_naming_the_field_and_write_nothing() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let before = app.snapshot().await;
    let missing = app.post(BASE, &w.root, json!({})).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    let named: BTreeSet<String> = locs(&missing).iter().map(|l| l.to_string()).collect();
    let expected: BTreeSet<String> = ["name", "scope", "application_type"]
        .iter()
        .map(|f| json!(["body", f]).to_string())
        .collect();
    assert_eq!(named, expected, "{}", missing.body);
    assert_eq!(app.snapshot().await, before);

    let post = |body: Value, field: &'static str| {
        let root = w.root.clone();
        async move { assert_invalid(app, Method::POST, BASE, &root, body, field).await }
    };
    post(
        json!({"scope": "GLOBAL", "application_type": "WEB"}),
        "name",
    )
    .await;
    post(json!({"name": "X", "application_type": "WEB"}), "scope").await;
    post(json!({"name": "X", "scope": "GLOBAL"}), "application_type").await;
    post(global("   ", "WEB"), "name").await;
    post(global("", "WEB"), "name").await;
    post(global(&"n".repeat(201), "WEB"), "name").await;
    post(
        with(global("X", "WEB"), json!({"description": "d".repeat(1001)})),
        "description",
    )
    .await;
    post(
        json!({"name": "X", "scope": "PLATFORM", "application_type": "WEB"}),
        "scope",
    )
    .await;
    post(global("X", "DESKTOP"), "application_type").await;
    // The owners a scope needs, and those it forbids.
    post(
        with(global("X", "WEB"), json!({"partner_id": w.acme})),
        "partner_id",
    )
    .await;
    post(
        with(global("X", "WEB"), json!({"tenant_id": w.acme_hq})),
        "tenant_id",
    )
    .await;
    post(
        json!({"name": "X", "scope": "PARTNER", "application_type": "WEB"}),
        "partner_id",
    )
    .await;
    // A required owner given as null is missing too (it was a 500, found by schemathesis).
    post(
        json!({"name": "X", "scope": "PARTNER", "application_type": "SPA", "partner_id": null}),
        "partner_id",
    )
    .await;
    post(
        json!({"name": "X", "scope": "TENANT", "application_type": "SPA", "tenant_id": null}),
        "tenant_id",
    )
    .await;
    post(
        with(
            partner_app("X", &w.acme, "WEB"),
            json!({"tenant_id": w.acme_hq}),
        ),
        "tenant_id",
    )
    .await;
    post(
        json!({"name": "X", "scope": "TENANT", "application_type": "WEB"}),
        "tenant_id",
    )
    .await;
    post(
        with(
            tenant_app("X", &w.acme_hq, "WEB"),
            json!({"partner_id": w.globex}),
        ),
        "partner_id",
    )
    .await;
    // Lists, scopes and grant types.
    post(
        with(global("X", "WEB"), json!({"allowed_scopes": ["bad scope"]})),
        "allowed_scopes",
    )
    .await;
    post(
        with(global("X", "WEB"), json!({"allowed_scopes": ["a\\b"]})),
        "allowed_scopes",
    )
    .await;
    post(
        with(global("X", "WEB"), json!({"allowed_scopes": [""]})),
        "allowed_scopes",
    )
    .await;
    post(
        with(
            global("X", "WEB"),
            json!({"allowed_scopes": ["s".repeat(101)]}),
        ),
        "allowed_scopes",
    )
    .await;
    let many: Vec<String> = (0..51).map(|i| format!("scope{i}")).collect();
    post(
        with(global("X", "WEB"), json!({ "allowed_scopes": many })),
        "allowed_scopes",
    )
    .await;
    post(
        with(global("X", "WEB"), json!({"grant_types": ["implicit"]})),
        "grant_types",
    )
    .await;
    post(
        with(global("X", "WEB"), json!({"grant_types": ["password"]})),
        "grant_types",
    )
    .await;
    for kind in ["SPA", "NATIVE"] {
        post(
            with(
                global("X", kind),
                json!({"grant_types": ["authorization_code", "client_credentials"]}),
            ),
            "grant_types",
        )
        .await;
    }
    post(
        with(global("X", "WEB"), json!({"token_exchange_allowed": "yes"})),
        "token_exchange_allowed",
    )
    .await;
    post(
        with(global("X", "WEB"), json!({"assignment_required": "no"})),
        "assignment_required",
    )
    .await;
    post(
        with(global("X", "WEB"), json!({"status": "DELETED"})),
        "status",
    )
    .await;
    post(
        with(
            global("X", "WEB"),
            json!({"redirect_uris": "https://a.test/cb"}),
        ),
        "redirect_uris",
    )
    .await;
    let too_many: Vec<String> = (0..21).map(|i| format!("https://a.test/cb{i}")).collect();
    post(
        with(global("X", "WEB"), json!({ "redirect_uris": too_many })),
        "redirect_uris",
    )
    .await;

    // Grant types and scopes that are fine: duplicates of a scope collapse, the first kept.
    let ok = create(
        app,
        &w.root,
        with(
            global("Service", "SERVICE"),
            json!({
                "allowed_scopes": ["openid", "api:write", "openid", "x!#[]~"],
                "grant_types": ["client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"]
            }),
        ),
    )
    .await;
    assert_eq!(
        ok.body["allowed_scopes"],
        json!(["openid", "api:write", "x!#[]~"])
    );

    // Owners that do not exist: not found, for the super admin.
    let before = app.snapshot().await;
    let unknown_tenant = app
        .post(
            BASE,
            &w.root,
            tenant_app("X", "tnt_00000000000000000000000000", "WEB"),
        )
        .await;
    assert_eq!(
        (unknown_tenant.status, unknown_tenant.body),
        (StatusCode::NOT_FOUND, detail("Tenant not found"))
    );
    let unknown_partner = app
        .post(
            BASE,
            &w.root,
            partner_app("X", "prt_00000000000000000000000000", "WEB"),
        )
        .await;
    assert_eq!(
        (unknown_partner.status, unknown_partner.body),
        (StatusCode::NOT_FOUND, detail("Partner not found"))
    );
    assert_eq!(app.snapshot().await, before);
    let _ = &w.acme_lab;
}

/// Redirect URIs (and post-logout ones): absolute, no fragment, no wildcard, https — or http
/// on a loopback host; a NATIVE app may also use a private-use scheme. The 422 names the
/// offending entry's index.
#[tokio::test]
async fn redirect_uris_are_https_or_loopback_http_and_natives_may_use_private_schemes() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    for uri in [
        "/callback",
        "callback",
        "https://app.example.com/cb#frag",
        "http://example.com/cb",
        "https://*.example.com/cb",
        "https://app.example.com/*",
        "ftp://example.com/cb",
        "com.example.app:/cb",
    ] {
        let reply = assert_invalid(
            app,
            Method::POST,
            BASE,
            &w.root,
            with(
                global("Web", "WEB"),
                json!({"redirect_uris": ["https://ok.example.com/cb", uri]}),
            ),
            "redirect_uris",
        )
        .await;
        assert_eq!(
            locs(&reply)[0],
            json!(["body", "redirect_uris", 1]),
            "{uri}"
        );
        let reply = assert_invalid(
            app,
            Method::POST,
            BASE,
            &w.root,
            with(
                global("Web", "WEB"),
                json!({"post_logout_redirect_uris": [uri]}),
            ),
            "post_logout_redirect_uris",
        )
        .await;
        assert_eq!(
            locs(&reply)[0],
            json!(["body", "post_logout_redirect_uris", 0]),
            "{uri}"
        );
    }
    let long = format!("https://app.example.com/{}", "a".repeat(2000));
    assert_invalid(
        app,
        Method::POST,
        BASE,
        &w.root,
        with(global("Web", "WEB"), json!({ "redirect_uris": [long] })),
        "redirect_uris",
    )
    .await;
    let fine = [
        "https://app.example.com/cb",
        "http://localhost:8080/cb",
        "http://127.0.0.1/cb",
        "http://[::1]:3000/cb",
    ];
    let web = create(
        app,
        &w.root,
        with(
            global("Web", "WEB"),
            json!({"redirect_uris": fine, "post_logout_redirect_uris": fine}),
        ),
    )
    .await;
    assert_eq!(web.body["redirect_uris"], json!(fine));
    assert_eq!(web.body["post_logout_redirect_uris"], json!(fine));
    let native = create(
        app,
        &w.root,
        with(
            global("Mobile", "NATIVE"),
            json!({"redirect_uris": ["com.example.app:/cb", "http://127.0.0.1:51000/cb"]}),
        ),
    )
    .await;
    assert_eq!(
        native.body["redirect_uris"],
        json!(["com.example.app:/cb", "http://127.0.0.1:51000/cb"])
    );
    // The same URI on a PATCH of the WEB app: refused; of the NATIVE app: accepted.
    assert_invalid(
        app,
        Method::PATCH,
        &app_path(&web.id()),
        &w.root,
        json!({"redirect_uris": ["com.example.app:/cb"]}),
        "redirect_uris",
    )
    .await;
    let patched = app
        .patch(
            &app_path(&native.id()),
            &w.root,
            json!({"redirect_uris": ["com.example.other:/done"]}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(
        patched.body["redirect_uris"],
        json!(["com.example.other:/done"])
    );
}

/// Allowed origins are bare origins (`scheme://host[:port]`), https or loopback http; the
/// token lifetime is 60..=86400 seconds, both bounds included.
#[tokio::test]
async fn origins_are_bare_and_token_lifetimes_stay_within_a_minute_and_a_day() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    for origin in [
        "https://app.example.com/path",
        "https://app.example.com?x=1",
        "http://app.example.com",
        "app.example.com",
        "https://app.example.com/cb#f",
    ] {
        assert_invalid(
            app,
            Method::POST,
            BASE,
            &w.root,
            with(global("Spa", "SPA"), json!({ "allowed_origins": [origin] })),
            "allowed_origins",
        )
        .await;
    }
    let origins = [
        "https://app.example.com",
        "https://app.example.com:8443",
        "http://localhost:3000",
    ];
    let spa = create(
        app,
        &w.root,
        with(global("Spa", "SPA"), json!({ "allowed_origins": origins })),
    )
    .await;
    assert_eq!(spa.body["allowed_origins"], json!(origins));

    for lifetime in [59, 86401, 0, -1] {
        assert_invalid(
            app,
            Method::POST,
            BASE,
            &w.root,
            with(global("Web", "WEB"), json!({ "token_lifetime": lifetime })),
            "token_lifetime",
        )
        .await;
    }
    // (A numeric string such as "3600" is an integer here, as in every body: pydantic's lax
    // mode, see `shared::validation::integer`.)
    for lifetime in [60, 86400] {
        let created = create(
            app,
            &w.root,
            with(global("Web", "WEB"), json!({ "token_lifetime": lifetime })),
        )
        .await;
        assert_eq!(created.body["token_lifetime"], lifetime);
    }
    for lifetime in [59, 86401] {
        assert_invalid(
            app,
            Method::PATCH,
            &app_path(&spa.id()),
            &w.root,
            json!({ "token_lifetime": lifetime }),
            "token_lifetime",
        )
        .await;
    }
    let patched = app
        .patch(
            &app_path(&spa.id()),
            &w.root,
            json!({"token_lifetime": 86400}),
        )
        .await;
    assert_eq!(patched.body["token_lifetime"], 86400);
}

/// A PATCH changes only what it names: lists are replaced whole, `description: null` clears
/// it, `updated_at` moves and nothing else does; it never shows a secret.
#[tokio::test]
async fn a_patch_replaces_lists_clears_the_description_and_moves_updated_at() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let created = create(
        app,
        &w.root,
        with(
            tenant_app("Shop", &w.acme_hq, "WEB"),
            json!({
                "description": "The shop",
                "redirect_uris": ["https://shop.example.com/a", "https://shop.example.com/b"],
                "post_logout_redirect_uris": ["https://shop.example.com/out"],
                "allowed_origins": ["https://shop.example.com"],
                "allowed_scopes": ["openid", "orders"],
            }),
        ),
    )
    .await;
    let id = created.id();
    let path = app_path(&id);
    let patched = app
        .patch(
            &path,
            &w.root,
            json!({
                "name": "Shop 2",
                "description": null,
                "redirect_uris": ["https://shop.example.com/c"],
                "post_logout_redirect_uris": [],
                "allowed_origins": ["https://shop2.example.com"],
                "allowed_scopes": ["openid"],
                "grant_types": ["authorization_code"],
                "token_lifetime": 900,
                "token_exchange_allowed": true,
                "assignment_required": true,
                "status": "SUSPENDED",
            }),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(keys(&patched.body), fields_and(&[]), "no secret shown");
    let b = &patched.body;
    assert_eq!(b["name"], "Shop 2");
    assert_eq!(b["description"], Value::Null);
    assert_eq!(b["redirect_uris"], json!(["https://shop.example.com/c"]));
    assert_eq!(b["post_logout_redirect_uris"], json!([]));
    assert_eq!(b["allowed_origins"], json!(["https://shop2.example.com"]));
    assert_eq!(b["allowed_scopes"], json!(["openid"]));
    assert_eq!(b["grant_types"], json!(["authorization_code"]));
    assert_eq!(b["token_lifetime"], 900);
    assert_eq!(b["token_exchange_allowed"], true);
    assert_eq!(b["assignment_required"], true);
    assert_eq!(b["status"], "SUSPENDED");
    for unchanged in [
        "id",
        "client_id",
        "scope",
        "partner_id",
        "tenant_id",
        "application_type",
        "created_at",
    ] {
        assert_eq!(b[unchanged], created.body[unchanged], "{unchanged}");
    }
    let (was, now) = (
        created.body["updated_at"].as_str().unwrap(),
        b["updated_at"].as_str().unwrap(),
    );
    assert!(now > was, "updated_at moved: {was} → {now}");
    assert_eq!(app.get(&path, &w.root).await.body, patched.body);

    // A field left out stays; a description can be set again.
    let again = app
        .patch(&path, &w.root, json!({"description": "Back"}))
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.body["description"], "Back");
    assert_eq!(
        again.body["redirect_uris"],
        json!(["https://shop.example.com/c"])
    );
    assert_eq!(again.body["name"], "Shop 2");
    assert!(again.body["updated_at"].as_str().unwrap() > now);
}

/// A PATCH may not move an application (`scope`, `partner_id`, `tenant_id`), and its result is
/// validated as a whole: a SERVICE app holding `client_credentials` cannot become an SPA, nor
/// an SPA take `client_credentials`. Each refusal writes nothing.
#[tokio::test]
async fn patches_are_validated_as_a_whole_and_never_move_an_application() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let service = create(
        app,
        &w.root,
        with(
            tenant_app("Batch", &w.acme_hq, "SERVICE"),
            json!({"grant_types": ["client_credentials"]}),
        ),
    )
    .await
    .id();
    let spa = create(app, &w.root, tenant_app("Spa", &w.acme_hq, "SPA"))
        .await
        .id();
    let patch = |id: &str, body: Value, field: &'static str| {
        let (root, path) = (w.root.clone(), app_path(id));
        async move { assert_invalid(app, Method::PATCH, &path, &root, body, field).await }
    };
    patch(&service, json!({"scope": "GLOBAL"}), "scope").await;
    patch(&service, json!({"scope": "PARTNER"}), "scope").await;
    patch(&service, json!({"partner_id": w.globex}), "partner_id").await;
    patch(&service, json!({"tenant_id": w.acme_lab}), "tenant_id").await;
    patch(&service, json!({"name": ""}), "name").await;
    patch(
        &service,
        json!({"application_type": "DESKTOP"}),
        "application_type",
    )
    .await;
    patch(
        &service,
        json!({"grant_types": ["implicit"]}),
        "grant_types",
    )
    .await;
    patch(
        &service,
        json!({"redirect_uris": ["http://example.com/cb"]}),
        "redirect_uris",
    )
    .await;
    // Validated as a whole: the problem is the pair, named at either field.
    for (id, body) in [
        (&service, json!({"application_type": "SPA"})),
        (&service, json!({"application_type": "NATIVE"})),
        (&spa, json!({"grant_types": ["client_credentials"]})),
    ] {
        let before = app.snapshot().await;
        let reply = app.patch(&app_path(id), &w.root, body.clone()).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            reply.body
        );
        assert!(
            locs(&reply)
                .iter()
                .any(|l| l[1] == "grant_types" || l[1] == "application_type"),
            "{}",
            reply.body
        );
        assert_eq!(app.snapshot().await, before, "{body} wrote something");
    }
    // Both at once is fine.
    let both = app
        .patch(
            &app_path(&service),
            &w.root,
            json!({"application_type": "SPA", "grant_types": ["authorization_code"]}),
        )
        .await;
    assert_eq!(both.status, StatusCode::OK, "{}", both.body);
    assert_eq!(both.body["application_type"], "SPA");
    assert_eq!(both.body["scope"], "TENANT");
    assert_eq!(both.body["tenant_id"], w.acme_hq.as_str());
}

/// Rotate-secret gives a new secret each time (the body optional); with a grace period the
/// previous one's end is announced, without one it is null. Grace is 0..=604800 seconds.
/// Public apps have no secret to rotate (409); a change to a public type drops the secret, and
/// a change back has none until the next rotation.
#[tokio::test]
async fn rotating_a_secret_gives_a_new_one_with_an_optional_grace_period() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let created = create(app, &w.root, tenant_app("Web", &w.acme_hq, "WEB")).await;
    let id = created.id();
    let first = assert_client_secret(&created.body["client_secret"]);

    let rotated = app
        .post(
            &rotate_path(&id),
            &w.root,
            json!({"grace_period_seconds": 0}),
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    assert_eq!(
        keys(&rotated.body),
        fields_and(&["client_secret", "previous_secret_expires_at"])
    );
    let second = assert_client_secret(&rotated.body["client_secret"]);
    assert_ne!(second, first);
    assert_eq!(rotated.body["previous_secret_expires_at"], Value::Null);
    assert_eq!(rotated.body["id"], id.as_str());
    assert_eq!(rotated.body["client_id"], id.as_str());

    let asked = Timestamp::now().unix();
    let graced = app
        .post(
            &rotate_path(&id),
            &w.root,
            json!({"grace_period_seconds": 3600}),
        )
        .await;
    assert_eq!(graced.status, StatusCode::OK, "{}", graced.body);
    let third = assert_client_secret(&graced.body["client_secret"]);
    assert!(third != first && third != second);
    let ends = graced.body["previous_secret_expires_at"]
        .as_str()
        .and_then(Timestamp::parse)
        .unwrap_or_else(|| panic!("a timestamp: {}", graced.body))
        .unix();
    assert!(
        (ends - (asked + 3600)).abs() <= 60,
        "the previous secret ends about an hour from now: {ends} vs {asked}"
    );

    // No body at all, and an empty object: grace 0.
    for reply in [
        rotate_without_body(app, &w.root, &id).await,
        app.post(&rotate_path(&id), &w.root, json!({})).await,
    ] {
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.body["previous_secret_expires_at"], Value::Null);
        let secret = assert_client_secret(&reply.body["client_secret"]);
        assert!(![&first, &second, &third].contains(&&secret));
    }
    // The secret is never shown again, and never stored in clear.
    let read = app.get(&app_path(&id), &w.root).await;
    assert_eq!(keys(&read.body), fields_and(&[]));
    let table = serde_json::to_string(&app.snapshot().await).unwrap();
    for secret in [&first, &second, &third] {
        assert!(!table.contains(secret.as_str()), "a secret stored in clear");
    }

    for grace in [json!(604801), json!(-1), json!("soon"), json!(1.5)] {
        assert_invalid(
            app,
            Method::POST,
            &rotate_path(&id),
            &w.root,
            json!({ "grace_period_seconds": grace }),
            "grace_period_seconds",
        )
        .await;
    }
    let longest = app
        .post(
            &rotate_path(&id),
            &w.root,
            json!({"grace_period_seconds": 604800}),
        )
        .await;
    assert_eq!(longest.status, StatusCode::OK, "{}", longest.body);

    // Public apps: nothing to rotate.
    for kind in ["SPA", "NATIVE"] {
        let public = create(app, &w.root, tenant_app(kind, &w.acme_hq, kind))
            .await
            .id();
        let before = app.snapshot().await;
        let refused = app.post(&rotate_path(&public), &w.root, json!({})).await;
        assert_eq!(
            (refused.status, refused.body),
            (
                StatusCode::CONFLICT,
                detail("Public applications have no client secret")
            ),
            "{kind}"
        );
        assert_eq!(app.snapshot().await, before);
    }

    // Confidential → public drops the secret's hash; back to confidential, there is still none
    // until a rotation makes one.
    // (Browser grants only: a public type cannot keep a WEB app's default client_credentials.)
    let web = create(
        app,
        &w.root,
        with(
            tenant_app("Turncoat", &w.acme_hq, "WEB"),
            json!({"grant_types": ["authorization_code", "refresh_token"]}),
        ),
    )
    .await
    .id();
    let held = hashes(&stored(app, &web).await);
    assert!(
        !held.is_empty(),
        "a confidential app stores its secret's hash"
    );
    let public = app
        .patch(&app_path(&web), &w.root, json!({"application_type": "SPA"}))
        .await;
    assert_eq!(public.status, StatusCode::OK, "{}", public.body);
    assert_eq!(keys(&public.body), fields_and(&[]));
    let item = stored(app, &web).await;
    for hash in &held {
        assert!(
            !item.to_string().contains(hash.as_str()),
            "the secret's hash stays after the change to SPA: {item}"
        );
    }
    assert_eq!(
        app.post(&rotate_path(&web), &w.root, json!({}))
            .await
            .status,
        StatusCode::CONFLICT
    );
    let back = app
        .patch(&app_path(&web), &w.root, json!({"application_type": "WEB"}))
        .await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.body);
    assert_eq!(
        keys(&back.body),
        fields_and(&[]),
        "no secret made by a PATCH"
    );
    let fresh = app.post(&rotate_path(&web), &w.root, json!({})).await;
    assert_eq!(fresh.status, StatusCode::OK, "{}", fresh.body);
    assert_client_secret(&fresh.body["client_secret"]);
}

/// A deleted application is gone: 204, then 404 on every route, out of the lists and their
/// totals.
#[tokio::test]
async fn a_deleted_application_is_gone_from_reads_lists_and_totals() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let keep = create(app, &w.root, tenant_app("Keep", &w.acme_hq, "WEB"))
        .await
        .id();
    let doomed = create(app, &w.root, tenant_app("Doomed", &w.acme_hq, "WEB"))
        .await
        .id();
    let partner_doomed = create(app, &w.root, partner_app("Doomed Partner", &w.acme, "SPA"))
        .await
        .id();
    let by_tenant = format!("{BASE}?tenant_id={}", w.acme_hq);
    assert_eq!(total(&app.get(&by_tenant, &w.root).await), 2);
    assert_eq!(total(&app.get(BASE, &w.root).await), 3);

    let deleted = app.delete(&app_path(&doomed), &w.root).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    assert_eq!(deleted.body, Value::Null);
    let gone = [
        app.get(&app_path(&doomed), &w.root).await,
        app.patch(&app_path(&doomed), &w.root, json!({"name": "x"}))
            .await,
        app.post(&rotate_path(&doomed), &w.root, json!({})).await,
        app.delete(&app_path(&doomed), &w.root).await,
    ];
    for (i, reply) in gone.into_iter().enumerate() {
        assert_eq!(
            (reply.status, reply.body),
            (StatusCode::NOT_FOUND, detail("Application not found")),
            "route {i}"
        );
    }
    let list = app.get(&by_tenant, &w.root).await;
    assert_eq!(ids(&list), vec![keep.clone()]);
    assert_eq!(total(&list), 1);
    let all = app.get(BASE, &w.root).await;
    assert_eq!(ids(&all), vec![partner_doomed.clone(), keep.clone()]);
    assert_eq!(total(&all), 2);
    let searched = app.get(&format!("{BASE}?search=doomed"), &w.root).await;
    assert_eq!(ids(&searched), vec![partner_doomed.clone()]);
    assert_eq!(total(&searched), 1);

    // A PARTNER app too, by its partner's admin.
    let pa = app
        .admin_token("pa@acme.test", AdminRole::PartnerAdmin, Some(&w.acme), None)
        .await;
    assert_eq!(
        app.delete(&app_path(&partner_doomed), &pa).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&app_path(&partner_doomed), &pa).await.status,
        StatusCode::NOT_FOUND
    );
    let all = app.get(BASE, &pa).await;
    assert_eq!(ids(&all), vec![keep]);
    assert_eq!(total(&all), 1);
}

/// `max_applications_per_tenant` of the tenant's partner bounds the live TENANT apps of each
/// tenant (PARTNER and GLOBAL apps do not count); a delete frees a slot.
#[tokio::test]
async fn max_applications_per_tenant_bounds_live_tenant_apps_and_a_delete_frees_a_slot() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let limited = app
        .patch(
            &format!("{PARTNERS}/{}", w.acme),
            &w.root,
            json!({"max_applications_per_tenant": 2}),
        )
        .await;
    assert_eq!(limited.status, StatusCode::OK, "{}", limited.body);
    assert_eq!(limited.body["max_applications_per_tenant"], 2);
    let ta = app
        .admin_token(
            "ta@acme.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_hq),
        )
        .await;
    let first = create(app, &w.root, tenant_app("One", &w.acme_hq, "WEB"))
        .await
        .id();
    create(app, &ta, tenant_app("Two", &w.acme_hq, "SPA")).await;
    for token in [&w.root, &ta] {
        let before = app.snapshot().await;
        let full = app
            .post(BASE, token, tenant_app("Three", &w.acme_hq, "WEB"))
            .await;
        assert_eq!(
            (full.status, full.body),
            (
                StatusCode::CONFLICT,
                detail("Application limit reached for this tenant")
            )
        );
        assert_eq!(
            app.snapshot().await,
            before,
            "a refused create wrote nothing"
        );
    }
    // Per tenant; PARTNER and GLOBAL apps are not bounded by it.
    create(app, &w.root, tenant_app("Lab", &w.acme_lab, "WEB")).await;
    create(app, &w.root, partner_app("P", &w.acme, "WEB")).await;
    create(app, &w.root, global("G", "WEB")).await;
    let hq = app
        .get(&format!("{BASE}?tenant_id={}", w.acme_hq), &w.root)
        .await;
    assert_eq!(total(&hq), 2);

    assert_eq!(
        app.delete(&app_path(&first), &ta).await.status,
        StatusCode::NO_CONTENT
    );
    create(app, &ta, tenant_app("Three", &w.acme_hq, "WEB")).await;
    assert_eq!(
        app.post(BASE, &ta, tenant_app("Four", &w.acme_hq, "WEB"))
            .await
            .status,
        StatusCode::CONFLICT
    );
    // Lifting the limit lifts the bound.
    let lifted = app
        .patch(
            &format!("{PARTNERS}/{}", w.acme),
            &w.root,
            json!({"max_applications_per_tenant": null}),
        )
        .await;
    assert_eq!(lifted.status, StatusCode::OK, "{}", lifted.body);
    create(app, &ta, tenant_app("Four", &w.acme_hq, "WEB")).await;
    assert_eq!(
        total(
            &app.get(&format!("{BASE}?tenant_id={}", w.acme_hq), &w.root)
                .await
        ),
        3
    );
    let _ = &w.globex_hq;
}

/// Ten concurrent creates in a tenant whose partner allows three: exactly three are created,
/// the others are refused by the limit, and the table holds three apps and three events.
#[tokio::test]
async fn concurrent_creates_never_pass_the_application_limit() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let limited = app
        .patch(
            &format!("{PARTNERS}/{}", w.globex),
            &w.root,
            json!({"max_applications_per_tenant": 3}),
        )
        .await;
    assert_eq!(limited.status, StatusCode::OK, "{}", limited.body);
    let replies = join_all(
        (0..10)
            .map(|i| {
                app.post(
                    BASE,
                    &w.root,
                    tenant_app(&format!("Racer {i}"), &w.globex_hq, "WEB"),
                )
            })
            .collect(),
    )
    .await;
    let created = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    assert_eq!(
        created,
        3,
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for r in replies.iter().filter(|r| r.status != StatusCode::CREATED) {
        assert_eq!(
            (r.status, &r.body),
            (
                StatusCode::CONFLICT,
                &detail("Application limit reached for this tenant")
            )
        );
    }
    let list = app
        .get(&format!("{BASE}?tenant_id={}", w.globex_hq), &w.root)
        .await;
    assert_eq!(total(&list), 3);
    assert_eq!(ids(&list).len(), 3);
    let table = app.snapshot().await;
    let stored_apps = table
        .values()
        .filter(|i| i["SK"] == "APP" && i["tenant_id"] == w.globex_hq.as_str())
        .count();
    assert_eq!(stored_apps, 3);
    let events = table
        .values()
        .filter(|i| i["SK"] == "EVENT" && i["action"] == "application.create")
        .count();
    assert_eq!(events, 3);
}

/// Lists are newest first, narrowed by `scope`, `application_type`, `search` (name or
/// description, any case), `tenant_id` and `partner_id`, with totals of what matched; pages by
/// cursor (and by page number) reach every app once — for a tenant or partner admin too, whose
/// lists merge several owners.
#[tokio::test]
async fn lists_are_newest_first_filtered_and_paged_by_cursor() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let g1 = create(
        app,
        &w.root,
        with(
            global("Portal", "WEB"),
            json!({"description": "Customer site"}),
        ),
    )
    .await
    .id();
    let p1 = create(app, &w.root, partner_app("Acme Dashboard", &w.acme, "SPA"))
        .await
        .id();
    let t1 = create(
        app,
        &w.root,
        with(
            tenant_app("Billing Sync", &w.acme_hq, "SERVICE"),
            json!({"description": "nightly PORTAL export"}),
        ),
    )
    .await
    .id();
    let t2 = create(
        app,
        &w.root,
        tenant_app("Lab Mobile", &w.acme_lab, "NATIVE"),
    )
    .await
    .id();
    let t3 = create(
        app,
        &w.root,
        tenant_app("Globex Portal", &w.globex_hq, "WEB"),
    )
    .await
    .id();
    let p2 = create(
        app,
        &w.root,
        partner_app("Globex Batch", &w.globex, "SERVICE"),
    )
    .await
    .id();

    let all = app.get(BASE, &w.root).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    let everything = vec![
        p2.clone(),
        t3.clone(),
        t2.clone(),
        t1.clone(),
        p1.clone(),
        g1.clone(),
    ];
    assert_eq!(ids(&all), everything);
    assert_eq!(total(&all), 6);

    let cases: Vec<(String, Vec<&String>)> = vec![
        ("scope=GLOBAL".into(), vec![&g1]),
        ("scope=PARTNER".into(), vec![&p2, &p1]),
        ("scope=TENANT".into(), vec![&t3, &t2, &t1]),
        ("application_type=SERVICE".into(), vec![&p2, &t1]),
        ("application_type=NATIVE".into(), vec![&t2]),
        ("application_type=SAML_SP".into(), vec![]),
        ("search=portal".into(), vec![&t3, &t1, &g1]),
        ("search=PORTAL".into(), vec![&t3, &t1, &g1]),
        ("search=customer".into(), vec![&g1]),
        ("search=nothing-like-it".into(), vec![]),
        ("scope=TENANT&search=portal".into(), vec![&t3, &t1]),
        (format!("tenant_id={}", w.acme_hq), vec![&t1]),
        (format!("tenant_id={}", w.acme_lab), vec![&t2]),
        (format!("partner_id={}", w.acme), vec![&t2, &t1, &p1]),
        (format!("partner_id={}", w.globex), vec![&p2, &t3]),
        (
            format!("partner_id={}&scope=TENANT", w.acme),
            vec![&t2, &t1],
        ),
        (format!("partner_id={}&scope=PARTNER", w.acme), vec![&p1]),
        (
            format!("partner_id={}&application_type=NATIVE", w.acme),
            vec![&t2],
        ),
        (
            format!("partner_id={}&tenant_id={}", w.acme, w.acme_hq),
            vec![&t1],
        ),
    ];
    for (query, expected) in cases {
        let reply = app.get(&format!("{BASE}?{query}"), &w.root).await;
        assert_eq!(reply.status, StatusCode::OK, "{query}: {}", reply.body);
        let expected: Vec<String> = expected.into_iter().cloned().collect();
        assert_eq!(ids(&reply), expected, "{query}");
        assert_eq!(total(&reply), expected.len(), "{query}");
    }
    for bad in ["scope=PLATFORM", "application_type=DESKTOP", "per_page=0"] {
        let reply = app.get(&format!("{BASE}?{bad}"), &w.root).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }

    // Pages by cursor reach every app once, in order.
    let walk = |query: String, token: String| async move {
        let mut seen = Vec::new();
        let mut path = format!("{BASE}?per_page=2{query}");
        let mut totals = Vec::new();
        loop {
            let page = app.get(&path, &token).await;
            assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
            assert!(ids(&page).len() <= 2);
            totals.push(total(&page));
            seen.extend(ids(&page));
            match page.body["pagination"]["next_cursor"].as_str() {
                Some(c) => path = format!("{BASE}?per_page=2{query}&cursor={c}"),
                None => break,
            }
        }
        (seen, totals)
    };
    let (seen, totals) = walk(String::new(), w.root.clone()).await;
    assert_eq!(seen, everything);
    assert!(totals.iter().all(|t| *t == 6), "{totals:?}");
    let (seen, totals) = walk("&scope=TENANT".into(), w.root.clone()).await;
    assert_eq!(seen, vec![t3.clone(), t2.clone(), t1.clone()]);
    assert!(totals.iter().all(|t| *t == 3), "{totals:?}");
    let (seen, _) = walk(format!("&partner_id={}", w.acme), w.root.clone()).await;
    assert_eq!(seen, vec![t2.clone(), t1.clone(), p1.clone()]);
    let offset = app.get(&format!("{BASE}?page=2&per_page=2"), &w.root).await;
    assert_eq!(ids(&offset), vec![t2.clone(), t1.clone()]);
    let forged = app.get(&format!("{BASE}?cursor=abc.def"), &w.root).await;
    assert_eq!(forged.status, StatusCode::UNPROCESSABLE_ENTITY);

    // A tenant admin's list merges GLOBAL, its partner's and its tenant's apps, newest first.
    let ta = app
        .admin_token(
            "ta@acme.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_hq),
        )
        .await;
    let (seen, totals) = walk(String::new(), ta.clone()).await;
    assert_eq!(seen, vec![t1.clone(), p1.clone(), g1.clone()]);
    assert!(totals.iter().all(|t| *t == 3), "{totals:?}");
    let searched = app.get(&format!("{BASE}?search=portal"), &ta).await;
    assert_eq!(ids(&searched), vec![t1.clone(), g1.clone()]);
    assert_eq!(total(&searched), 2);
    // A partner admin's: GLOBAL, its own and its tenants' apps.
    let pa = app
        .admin_token("pa@acme.test", AdminRole::PartnerAdmin, Some(&w.acme), None)
        .await;
    let (seen, totals) = walk(String::new(), pa.clone()).await;
    assert_eq!(seen, vec![t2.clone(), t1.clone(), p1.clone(), g1.clone()]);
    assert!(totals.iter().all(|t| *t == 4), "{totals:?}");
    let typed = app
        .get(&format!("{BASE}?application_type=SERVICE"), &pa)
        .await;
    assert_eq!(ids(&typed), vec![t1.clone()]);
    assert_eq!(total(&typed), 1);
    // The super admin's cursor does not open another's list.
    let root_cursor =
        app.get(&format!("{BASE}?per_page=1"), &w.root).await.body["pagination"]["next_cursor"]
            .as_str()
            .unwrap()
            .to_owned();
    let stolen = app
        .get(&format!("{BASE}?per_page=1&cursor={root_cursor}"), &ta)
        .await;
    assert_eq!(stolen.status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// Round trips (the contract's storage section): a tenant admin reads its own TENANT app in
/// one (the app rides in the session check's batch) and creates one in two (that batch, with
/// tenant, partner and counters, then one transaction).
#[tokio::test]
async fn a_tenant_admin_reads_its_app_in_one_round_trip_and_creates_in_two() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let ta = app
        .admin_token(
            "ta@acme.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_hq),
        )
        .await;
    let before = app.calls();
    let created = create(app, &ta, tenant_app("Mine", &w.acme_hq, "WEB")).await;
    assert_eq!(
        app.calls() - before,
        2,
        "session batch (tenant, partner, counters) + one transaction"
    );
    let before = app.calls();
    let read = app.get(&app_path(&created.id()), &ta).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert_eq!(
        app.calls() - before,
        1,
        "the app is read in the session batch"
    );
    // The same for the super admin on GLOBAL and PARTNER apps, and its reads of every scope.
    // (Its create of a TENANT app takes 3 today — the tenant is read apart from the session
    // batch; the contract's storage section reads TENANT# in that batch, which would make 2.
    // Left to the lead, so not asserted.)
    for body in [
        global("G", "WEB"),
        partner_app("P", &w.acme, "WEB"),
        tenant_app("T", &w.acme_lab, "WEB"),
    ] {
        let before = app.calls();
        let created = create(app, &w.root, body.clone()).await;
        if body["scope"] != "TENANT" {
            assert_eq!(app.calls() - before, 2, "create {body}");
        }
        let before = app.calls();
        app.get(&app_path(&created.id()), &w.root).await;
        assert_eq!(app.calls() - before, 1, "read {body}");
    }
}

/// Create, update, rotate-secret and delete each file one SUCCESS event, under the TENANT
/// app's tenant and partner or the PARTNER app's partner; no event holds a secret, its hash,
/// or a `secret_hash` field.
#[tokio::test]
async fn every_application_write_files_one_event_under_its_partner_without_secrets() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let ta = app
        .admin_token(
            "ta@acme.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_hq),
        )
        .await;
    let pa = app
        .admin_token(
            "pa@globex.test",
            AdminRole::PartnerAdmin,
            Some(&w.globex),
            None,
        )
        .await;
    // (token, body, partner the events go under, tenant they name)
    let cases = [
        (
            &ta,
            tenant_app("Tenant app", &w.acme_hq, "WEB"),
            &w.acme,
            Some(&w.acme_hq),
        ),
        (
            &w.root,
            tenant_app("Root's", &w.acme_lab, "SERVICE"),
            &w.acme,
            Some(&w.acme_lab),
        ),
        (
            &pa,
            partner_app("Partner app", &w.globex, "WEB"),
            &w.globex,
            None,
        ),
        (
            &w.root,
            partner_app("Root's P", &w.globex, "SAML_SP"),
            &w.globex,
            None,
        ),
    ];
    for (token, body, partner, tenant) in cases {
        let created = create(app, token, body.clone()).await;
        let id = created.id();
        let mut secrets = vec![assert_client_secret(&created.body["client_secret"])];
        let path = app_path(&id);
        let updated = app
            .patch(
                &path,
                token,
                json!({"name": "Renamed", "token_lifetime": 120}),
            )
            .await;
        assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
        let rotated = app
            .post(
                &rotate_path(&id),
                token,
                json!({"grace_period_seconds": 3600}),
            )
            .await;
        assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
        secrets.push(assert_client_secret(&rotated.body["client_secret"]));
        let mut forbidden = hashes(&stored(app, &id).await);
        forbidden.extend(secrets);
        assert_eq!(
            app.delete(&path, token).await.status,
            StatusCode::NO_CONTENT
        );

        let events = app.audit_events_of_partner(partner).await;
        let mine: Vec<&Value> = events
            .iter()
            .filter(|e| e["resource_id"] == id.as_str())
            .collect();
        let actions: Vec<&str> = mine.iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(
            actions,
            vec![
                "application.create",
                "application.update",
                "application.rotate_secret",
                "application.delete"
            ],
            "{body}"
        );
        for event in &mine {
            assert_eq!(event["result"], "SUCCESS");
            assert_eq!(event["partner_id"], partner.as_str());
            assert_eq!(event["tenant_id"], json!(tenant), "{body}");
            // The `<resource>.<verb>` convention of every group's catalogue.
            assert_eq!(event["resource_type"], "application");
            let text = event.to_string();
            assert!(!text.contains("secret_hash"), "{text}");
            for secret in &forbidden {
                assert!(!text.contains(secret.as_str()), "a secret in {text}");
            }
        }
        assert_eq!(
            mine[1]["changes"]["name"]["to"], "Renamed",
            "the update names what changed"
        );
        // Nothing filed under the other partner.
        let other = if *partner == w.acme {
            &w.globex
        } else {
            &w.acme
        };
        assert!(
            !app.audit_events_of_partner(other)
                .await
                .iter()
                .any(|e| e["resource_id"] == id.as_str())
        );
    }
}

/// A client never picks its secret: `client_secret` in a create or PATCH body is refused
/// (422, nothing written). Other unknown fields are ignored, as in every body of this API (as
/// pydantic's default does for the reference).
#[tokio::test]
async fn a_client_never_picks_its_secret_and_unknown_fields_are_ignored() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let web = create(app, &w.root, tenant_app("Web", &w.acme_hq, "WEB"))
        .await
        .id();
    let cases = [
        (
            Method::POST,
            BASE.to_owned(),
            with(
                global("X", "WEB"),
                json!({"client_secret": "mine-mine-mine"}),
            ),
            "client_secret",
        ),
        (
            Method::PATCH,
            app_path(&web),
            json!({"client_secret": "mine-mine-mine"}),
            "client_secret",
        ),
    ];
    for (method, path, body, field) in cases {
        assert_invalid(app, method, &path, &w.root, body, field).await;
    }
    let created = app
        .post(
            BASE,
            &w.root,
            with(global("X", "WEB"), json!({"color": "red"})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert!(created.body.get("color").is_none());
    let rotated = app
        .post(&rotate_path(&web), &w.root, json!({"grace": 60}))
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    assert_eq!(rotated.body["previous_secret_expires_at"], Value::Null);
    let _ = (&w.acme, &w.globex, &w.acme_lab, &w.globex_hq);
}

/// (Beyond the contract's list, as the groups test it.) A tenant moved to another partner
/// takes its TENANT apps along: the new partner's admin reaches them (which name no partner); the
/// old partner's admin no longer does.
#[tokio::test]
async fn a_tenant_transfer_moves_its_applications_to_the_new_partner() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let lab = create(app, &w.root, tenant_app("Lab", &w.acme_lab, "WEB"))
        .await
        .id();
    let pa_acme = app
        .admin_token("pa@acme.test", AdminRole::PartnerAdmin, Some(&w.acme), None)
        .await;
    let pa_globex = app
        .admin_token(
            "pa@globex.test",
            AdminRole::PartnerAdmin,
            Some(&w.globex),
            None,
        )
        .await;
    assert_eq!(
        app.get(&app_path(&lab), &pa_acme).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get(&app_path(&lab), &pa_globex).await.status,
        StatusCode::FORBIDDEN
    );
    app.move_tenant(&w.root, &w.acme_lab, &w.globex).await;
    for reply in [
        app.get(&app_path(&lab), &pa_acme).await,
        app.patch(&app_path(&lab), &pa_acme, json!({"name": "x"}))
            .await,
    ] {
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    }
    let read = app.get(&app_path(&lab), &pa_globex).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert_eq!(read.body["partner_id"], Value::Null);
    let renamed = app
        .patch(&app_path(&lab), &pa_globex, json!({"name": "Lab 2"}))
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
    for (token, expected) in [(&pa_acme, 0), (&pa_globex, 1)] {
        let list = app.get(BASE, token).await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.body);
        assert_eq!(total(&list), expected);
        assert_eq!(ids(&list).len(), expected);
    }
    let _ = (&w.acme_hq, &w.globex_hq);
}

/// The `applications` binary under a Lambda Runtime API with API Gateway events answers as the
/// local server does (reads, an unknown id, a refused body), and a create through it reads
/// back the same, its event carrying the API Gateway request id.
#[tokio::test]
async fn lambda_the_applications_binary_answers_api_gateway_events_as_the_local_server_does() {
    use api_tests::lambda::{HttpApiEvent, LambdaFunction};
    let Some(app) = api_tests::spawn_app().await else {
        return;
    };
    let Some(mut function) = LambdaFunction::start(&app, "applications").await else {
        return;
    };
    let root = app.root_token().await;
    let collection = "ANY /api/v1/admin/applications";
    let item = "ANY /api/v1/admin/applications/{proxy+}";
    let create = HttpApiEvent::new("POST", collection, BASE)
        .bearer(&root)
        .json_body(
            &json!({"name": "Fleet", "scope": "GLOBAL", "application_type": "SERVICE",
                           "grant_types": ["client_credentials"]}),
        );
    let created = function.invoke(&create).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.headers["x-request-id"], create.request_id.as_str());
    assert!(created.body["client_secret"].is_string());
    let id = created.id();
    let read = HttpApiEvent::new("GET", item, &app_path(&id))
        .path_parameter("proxy", &id)
        .bearer(&root);
    let local = app.get(&app_path(&id), &root).await;
    let through = function.invoke(&read).await;
    assert_eq!((through.status, &through.body), (local.status, &local.body));
    assert!(through.body.get("client_secret").is_none());
    let list = HttpApiEvent::new("GET", collection, BASE).bearer(&root);
    let through = function.invoke(&list).await;
    assert_eq!(through.body, app.get(BASE, &root).await.body);
    let unknown = shared::ids::ApplicationId::generate().to_string();
    let missing = HttpApiEvent::new("GET", item, &app_path(&unknown))
        .path_parameter("proxy", &unknown)
        .bearer(&root);
    let through = function.invoke(&missing).await;
    assert_eq!(
        (through.status, through.body),
        (
            StatusCode::NOT_FOUND,
            json!({"detail": "Application not found"})
        )
    );
    let invalid = HttpApiEvent::new("POST", collection, BASE)
        .bearer(&root)
        .json_body(&json!({"name": "", "scope": "NOWHERE"}));
    assert_eq!(
        function.invoke(&invalid).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

/// A partner's stored count of TENANT apps, and the sum of the app counters of `tenants` (its
/// live ones).
async fn partner_tenant_apps(app: &TestApp, partner: &str, tenants: &[&str]) -> (i64, i64) {
    app.partner_count(
        shared::store::tally::PartnerCount::TenantApps,
        partner,
        tenants,
    )
    .await
}

#[tokio::test]
async fn a_partners_tenant_app_count_is_its_live_tenants_apps_through_every_write() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let limited = app
        .patch(
            &format!("{PARTNERS}/{}", w.acme),
            &w.root,
            json!({"max_applications_per_tenant": 2}),
        )
        .await;
    assert_eq!(limited.status, StatusCode::OK, "{}", limited.body);
    let pa = app
        .admin_token("pa@acme.test", AdminRole::PartnerAdmin, Some(&w.acme), None)
        .await;
    let acme = [w.acme_hq.as_str(), w.acme_lab.as_str()];
    create(app, &pa, tenant_app("One", &w.acme_hq, "WEB")).await;
    let doomed = create(app, &pa, tenant_app("Two", &w.acme_hq, "SPA"))
        .await
        .id();
    let lab = create(app, &pa, tenant_app("Lab", &w.acme_lab, "WEB"))
        .await
        .id();
    // Only TENANT apps count.
    create(app, &pa, partner_app("Acme", &w.acme, "WEB")).await;
    create(app, &w.root, global("Everyone", "WEB")).await;
    assert_eq!(partner_tenant_apps(app, &w.acme, &acme).await, (3, 3));

    // Refused writes count nothing: the tenant's limit, a foreign tenant.
    let full = app
        .post(BASE, &pa, tenant_app("Three", &w.acme_hq, "WEB"))
        .await;
    assert_eq!(full.status, StatusCode::CONFLICT, "{}", full.body);
    let foreign = app
        .post(BASE, &pa, tenant_app("Theirs", &w.globex_hq, "WEB"))
        .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN, "{}", foreign.body);
    assert_eq!(partner_tenant_apps(app, &w.acme, &acme).await, (3, 3));
    assert_eq!(
        partner_tenant_apps(app, &w.globex, &[&w.globex_hq]).await,
        (0, 0)
    );

    assert_eq!(
        app.delete(&app_path(&doomed), &pa).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(partner_tenant_apps(app, &w.acme, &acme).await, (2, 2));
    assert_eq!(
        app.delete(&app_path(&doomed), &pa).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(partner_tenant_apps(app, &w.acme, &acme).await, (2, 2));

    // A deleted tenant's apps count under no partner: deleting one moves only its tenant's
    // counter; the tenant's restore brings back what is left.
    let tenant = format!("/api/v1/admin/tenants/{}", w.acme_lab);
    assert_eq!(
        app.delete(&tenant, &w.root).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        partner_tenant_apps(app, &w.acme, &[&w.acme_hq]).await,
        (1, 1)
    );
    assert_eq!(
        app.delete(&app_path(&lab), &w.root).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        partner_tenant_apps(app, &w.acme, &[&w.acme_hq]).await,
        (1, 1)
    );
    assert_eq!(partner_tenant_apps(app, &w.acme, &[&w.acme_lab]).await.1, 0);
    let back = app
        .post(&format!("{tenant}/restore"), &w.root, json!({}))
        .await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.body);
    assert_eq!(partner_tenant_apps(app, &w.acme, &acme).await, (1, 1));
    create(app, &pa, tenant_app("Lab again", &w.acme_lab, "WEB")).await;
    assert_eq!(partner_tenant_apps(app, &w.acme, &acme).await, (2, 2));
}

/// The reference's quickstart (SPEC §4.7): a GLOBAL SERVICE app created with only its type,
/// scope, allowed scopes and token lifetime gets a `client_credentials` token at once — its
/// default grant. Every type has its default: WEB the browser grants and `client_credentials`,
/// SPA and NATIVE (public) the browser grants only, SAML_SP none.
#[tokio::test]
async fn the_quickstart_service_app_gets_a_client_credentials_token_at_once() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let created = create(
        app,
        &w.root,
        json!({"name": "Quickstart", "scope": "GLOBAL", "application_type": "SERVICE",
               "allowed_scopes": ["admin:read"], "token_lifetime": 900}),
    )
    .await;
    assert_eq!(created.body["grant_types"], json!(["client_credentials"]));
    let (id, secret) = (
        created.id(),
        assert_client_secret(&created.body["client_secret"]),
    );
    let form: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("grant_type", "client_credentials"),
            ("client_id", id.as_str()),
            ("client_secret", secret.as_str()),
        ])
        .finish();
    let request = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/api/v1/platform/oauth/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(form))
        .unwrap();
    let token = app.send(request).await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.body);
    assert_eq!(token.body["token_type"], "Bearer");
    assert_eq!(token.body["scope"], "admin:read");
    assert_eq!(token.body["expires_in"], 900);
    let access_token = token.body["access_token"].as_str().unwrap();
    let read = app.get(&app_path(&id), access_token).await;
    assert_eq!(
        read.status,
        StatusCode::OK,
        "the token reads: {}",
        read.body
    );

    for (kind, grants) in [
        (
            "WEB",
            json!(["authorization_code", "refresh_token", "client_credentials"]),
        ),
        ("SPA", json!(["authorization_code", "refresh_token"])),
        ("NATIVE", json!(["authorization_code", "refresh_token"])),
        ("SAML_SP", json!([])),
        ("SERVICE", json!(["client_credentials"])),
    ] {
        let made = create(app, &w.root, tenant_app(kind, &w.acme_hq, kind)).await;
        assert_eq!(made.body["grant_types"], grants, "{kind}");
        let read = app.get(&app_path(&made.id()), &w.root).await;
        assert_eq!(read.body["grant_types"], grants, "{kind}");
    }
    // Grants given are kept as given.
    let given = create(
        app,
        &w.root,
        with(
            global("Given", "SERVICE"),
            json!({"grant_types": ["urn:ietf:params:oauth:grant-type:token-exchange"]}),
        ),
    )
    .await;
    assert_eq!(
        given.body["grant_types"],
        json!(["urn:ietf:params:oauth:grant-type:token-exchange"])
    );
}

/// What generated clients send (SPEC §2): every nullable field they were not given, as `null`
/// — a nullable field sent as `null` is left out. A GLOBAL app with null owners and every
/// optional setting null is created with its defaults; a PARTNER app's null `tenant_id` and a
/// TENANT app's null `partner_id` are left out too. An owner the scope requires, sent as null,
/// is still missing (422 naming it), and a real owner where the scope takes none is still
/// refused.
#[tokio::test]
async fn fields_sent_as_null_are_left_out_but_a_required_owner_is_still_required() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let nulls = json!({
        "description": null, "partner_id": null, "tenant_id": null, "redirect_uris": null,
        "post_logout_redirect_uris": null, "allowed_origins": null, "allowed_scopes": null,
        "grant_types": null, "token_lifetime": null, "token_exchange_allowed": null,
        "status": null
    });
    let created = create(
        app,
        &w.root,
        with(global("Generated", "SERVICE"), nulls.clone()),
    )
    .await;
    let b = &created.body;
    assert_eq!(
        (&b["scope"], &b["partner_id"], &b["tenant_id"]),
        (&json!("GLOBAL"), &Value::Null, &Value::Null)
    );
    assert_eq!(b["description"], Value::Null);
    assert_eq!(b["redirect_uris"], json!([]));
    assert_eq!(b["allowed_scopes"], json!(["openid", "profile", "email"]));
    assert_eq!(b["grant_types"], json!(["client_credentials"]));
    assert_eq!(b["token_lifetime"], 3600);
    assert_eq!(b["token_exchange_allowed"], false);
    assert_eq!(b["status"], "ACTIVE");

    let partner = create(
        app,
        &w.root,
        with(
            partner_app("P", &w.acme, "WEB"),
            json!({"tenant_id": null, "description": null}),
        ),
    )
    .await;
    assert_eq!(partner.body["partner_id"], w.acme.as_str());
    assert_eq!(partner.body["tenant_id"], Value::Null);
    let tenant = create(
        app,
        &w.root,
        with(
            tenant_app("T", &w.acme_hq, "SPA"),
            json!({"partner_id": null}),
        ),
    )
    .await;
    assert_eq!(tenant.body["tenant_id"], w.acme_hq.as_str());

    let missing = assert_invalid(
        app,
        Method::POST,
        BASE,
        &w.root,
        with(
            json!({"name": "X", "scope": "PARTNER", "application_type": "WEB"}),
            json!({"partner_id": null, "tenant_id": null}),
        ),
        "partner_id",
    )
    .await;
    assert_eq!(
        missing.body["detail"][0]["type"], "missing",
        "{}",
        missing.body
    );
    assert_eq!(locs(&missing), vec![json!(["body", "partner_id"])]);
    assert_invalid(
        app,
        Method::POST,
        BASE,
        &w.root,
        with(
            global("X", "WEB"),
            json!({"partner_id": null, "tenant_id": w.acme_hq}),
        ),
        "tenant_id",
    )
    .await;
}

/// What you read, you may send back (SPEC §2): the whole GET body of an application, with a new
/// name, PATCHed back is a 200 at every scope — its `scope`, `partner_id` and `tenant_id` as
/// read (or null where they are null) are accepted and ignored, and so are the fields a client
/// never sets (`id`, `client_id`, timestamps). A TENANT app also takes its tenant's partner.
/// Any other scope or owner is a 422 naming it, after the write rule, and writes nothing.
#[tokio::test]
async fn a_patch_may_send_back_what_it_read_and_only_that() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let a = apps(&w).await;
    for id in [&a.global, &a.acme, &a.acme_hq] {
        let read = app.get(&app_path(id), &w.root).await;
        assert_eq!(read.status, StatusCode::OK, "{}", read.body);
        let mut body = read.body.clone();
        body["name"] = json!("Renamed");
        let updated = app.patch(&app_path(id), &w.root, body).await;
        assert_eq!(updated.status, StatusCode::OK, "{id}: {}", updated.body);
        assert_eq!(updated.body["name"], "Renamed");
        for field in FIELDS {
            if !["name", "updated_at"].contains(&field) {
                assert_eq!(updated.body[field], read.body[field], "{id}: {field}");
            }
        }
    }
    let pa = app
        .admin_token("pa@acme.test", AdminRole::PartnerAdmin, Some(&w.acme), None)
        .await;
    let own = app
        .patch(
            &app_path(&a.acme_hq),
            &pa,
            json!({"scope": "TENANT", "tenant_id": w.acme_hq, "partner_id": w.acme, "name": "Mine"}),
        )
        .await;
    assert_eq!(
        own.status,
        StatusCode::OK,
        "the tenant's partner: {}",
        own.body
    );
    assert_eq!(own.body["partner_id"], Value::Null);

    let refused = |id: &String, body: Value, field: &'static str| {
        let (root, path) = (w.root.clone(), app_path(id));
        async move { assert_invalid(app, Method::PATCH, &path, &root, body, field).await }
    };
    refused(&a.global, json!({"scope": "PARTNER"}), "scope").await;
    refused(&a.global, json!({"scope": null}), "scope").await;
    refused(&a.global, json!({"partner_id": w.acme}), "partner_id").await;
    refused(&a.global, json!({"tenant_id": w.acme_hq}), "tenant_id").await;
    refused(&a.acme, json!({"partner_id": w.globex}), "partner_id").await;
    refused(&a.acme, json!({"partner_id": null}), "partner_id").await;
    refused(&a.acme, json!({"tenant_id": w.acme_hq}), "tenant_id").await;
    refused(&a.acme_hq, json!({"tenant_id": w.acme_lab}), "tenant_id").await;
    refused(&a.acme_hq, json!({"tenant_id": null}), "tenant_id").await;
    refused(&a.acme_hq, json!({"partner_id": w.globex}), "partner_id").await;
    refused(&a.acme_hq, json!({"scope": "GLOBAL"}), "scope").await;
    refused(&a.acme_hq, json!({"tenant_id": "tnt_x"}), "tenant_id").await;
    // Every changed one is named at once.
    let both = refused(
        &a.acme_hq,
        json!({"scope": "PARTNER", "tenant_id": w.acme_lab, "name": "Other"}),
        "scope",
    )
    .await;
    assert_eq!(
        locs(&both),
        vec![json!(["body", "scope"]), json!(["body", "tenant_id"])]
    );
    // Outside reach, the 403 comes first: the values of another's app are not probed.
    let ta = app
        .admin_token(
            "ta@globex.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.globex_hq),
        )
        .await;
    let foreign = app
        .patch(
            &app_path(&a.acme_hq),
            &ta,
            json!({"tenant_id": w.globex_hq}),
        )
        .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN, "{}", foreign.body);
}

/// An optional body sent as a literal `null` (what a client sends for "no body") is no body:
/// rotate-secret with `null` rotates without a grace period.
#[tokio::test]
async fn a_null_rotate_secret_body_is_no_body() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let id = create(app, &w.root, global("Rotated", "SERVICE"))
        .await
        .id();
    let rotated = app.post(&rotate_path(&id), &w.root, Value::Null).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    assert_client_secret(&rotated.body["client_secret"]);
    assert_eq!(rotated.body["previous_secret_expires_at"], Value::Null);
    let _ = (&w.acme, &w.globex, &w.acme_hq, &w.acme_lab, &w.globex_hq);
}
