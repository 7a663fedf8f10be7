//! Registration requests (SPEC §3.2; notes/rrq-contract.md): requests for an OAuth application
//! at three tiers (GLOBAL, PARTNER, TENANT), who files, sees and decides which, validation,
//! cancel, approve (the application created in the same transaction as the decision, within
//! the per-tenant limit, once even under a race), reject, expiry after 30 days, lists, round
//! trips and audit events.

use std::collections::BTreeSet;
use std::time::Duration;

use api_tests::*;
use aws_sdk_dynamodb::types::AttributeValue;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use shared::access::AdminRole;
use shared::time::Timestamp;

const BASE: &str = "/api/v1/admin/registration-requests";
const APPS: &str = "/api/v1/admin/applications";
const PARTNERS: &str = "/api/v1/admin/partners";
const UNKNOWN: &str = "rrq_00000000000000000000000000";

const ALREADY_DECIDED: &str = "The request was already decided";
const EXPIRED: &str = "The request has expired";
const NOT_PENDING: &str = "Only a pending request can be cancelled";
const NOT_FOUND: &str = "Registration request not found";

/// Every field of a RequestResponse.
const FIELDS: [&str; 24] = [
    "id",
    "scope",
    "tenant_id",
    "partner_id",
    "name",
    "description",
    "application_type",
    "redirect_uris",
    "post_logout_redirect_uris",
    "allowed_origins",
    "requested_scopes",
    "grant_types",
    "contact_email",
    "contact_name",
    "organization_name",
    "website_url",
    "status",
    "requested_by",
    "created_at",
    "decided_at",
    "decided_by",
    "decision_notes",
    "rejection_reason",
    "application_id",
];

fn rrq_path(id: &str) -> String {
    format!("{BASE}/{id}")
}

fn approve_path(id: &str) -> String {
    format!("{BASE}/{id}/approve")
}

fn reject_path(id: &str) -> String {
    format!("{BASE}/{id}/reject")
}

fn app_path(id: &str) -> String {
    format!("{APPS}/{id}")
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

fn keys(body: &Value) -> BTreeSet<String> {
    body.as_object()
        .unwrap_or_else(|| panic!("an object: {body}"))
        .keys()
        .cloned()
        .collect()
}

fn fields() -> BTreeSet<String> {
    FIELDS.iter().map(|f| (*f).to_owned()).collect()
}

/// Newest first: ids sort by creation time.
fn newest_first(mut ids: Vec<&String>) -> Vec<String> {
    ids.sort();
    ids.into_iter().rev().cloned().collect()
}

/// The smallest body of a GLOBAL request.
fn global(name: &str, kind: &str) -> Value {
    json!({"name": name, "scope": "GLOBAL", "application_type": kind,
           "contact_email": "dev@example.com"})
}

/// The smallest body of a partner's PARTNER request.
fn partner_req(name: &str, partner: &str, kind: &str) -> Value {
    json!({"name": name, "scope": "PARTNER", "partner_id": partner, "application_type": kind,
           "contact_email": "dev@example.com"})
}

/// The smallest body of a tenant's TENANT request.
fn tenant_req(name: &str, tenant: &str, kind: &str) -> Value {
    json!({"name": name, "scope": "TENANT", "tenant_id": tenant, "application_type": kind,
           "contact_email": "dev@example.com"})
}

/// `body` with the fields of `extra` set (or replaced).
fn with(mut body: Value, extra: Value) -> Value {
    let fields = body.as_object_mut().expect("an object body");
    for (k, v) in extra.as_object().expect("an object") {
        fields.insert(k.clone(), v.clone());
    }
    body
}

/// `body` without `field`.
fn without(mut body: Value, field: &str) -> Value {
    body.as_object_mut().expect("an object body").remove(field);
    body
}

/// Files a request, asserting 201.
async fn create(app: &TestApp, token: &str, body: Value) -> Reply {
    let reply = app.post(BASE, token, body.clone()).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{body}: {}", reply.body);
    reply
}

/// An approval; `notes` as the body, or no body at all (it is optional).
async fn approve(app: &TestApp, token: &str, id: &str, notes: Option<&str>) -> Reply {
    let body = notes.map(|n| json!({ "notes": n }));
    app.call(Method::POST, &approve_path(id), Some(token), body)
        .await
}

async fn reject(app: &TestApp, token: &str, id: &str, reason: &str) -> Reply {
    app.post(&reject_path(id), token, json!({ "reason": reason }))
        .await
}

async fn cancel(app: &TestApp, token: &str, id: &str) -> Reply {
    app.delete(&rrq_path(id), token).await
}

/// The request's status as the super admin reads it.
async fn status_of(app: &TestApp, root: &str, id: &str) -> Value {
    let read = app.get(&rrq_path(id), root).await;
    assert_eq!(read.status, StatusCode::OK, "{id}: {}", read.body);
    read.body["status"].clone()
}

/// The user id behind a token (`/auth/me`).
async fn user_id(app: &TestApp, token: &str) -> String {
    let me = app.get("/api/v1/admin/auth/me", token).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    me.body["id"].as_str().expect("an id").to_owned()
}

/// Sends a decision that must be refused with 409 `detail`, and proves it wrote nothing.
async fn assert_conflict<F: std::future::Future<Output = Reply>>(
    app: &TestApp,
    send: F,
    detail_text: &str,
    what: &str,
) {
    let before = app.snapshot().await;
    let reply = send.await;
    assert_eq!(
        (reply.status, &reply.body),
        (StatusCode::CONFLICT, &detail(detail_text)),
        "{what}"
    );
    assert_eq!(app.snapshot().await, before, "{what} wrote something");
}

/// The stored events of `action` on `resource`.
async fn events(app: &TestApp, action: &str, resource: &str) -> Vec<Value> {
    app.snapshot()
        .await
        .into_values()
        .filter(|i| i["SK"] == "EVENT" && i["action"] == action && i["resource_id"] == resource)
        .collect()
}

/// Rewrites a stored request's `created_at` (as if it had been filed then).
async fn backdate(app: &TestApp, id: &str, created_at: &str) {
    let store = app.state.store();
    store
        .client()
        .update_item()
        .table_name(store.table())
        .key("PK", AttributeValue::S(format!("RRQ#{id}")))
        .key("SK", AttributeValue::S("RRQ".into()))
        .condition_expression("attribute_exists(PK)")
        .update_expression("SET #c = :c")
        .expression_attribute_names("#c", "created_at")
        .expression_attribute_values(":c", AttributeValue::S(created_at.into()))
        .send()
        .await
        .expect("the request's created_at rewritten");
}

fn days_ago(days: u64, plus_seconds: u64) -> String {
    Timestamp::now()
        .minus(Duration::from_secs(days * 86_400 + plus_seconds))
        .to_string()
}

/// A partner admin of acme and a tenant admin of acme-hq, with their user ids.
struct Admins {
    pa: String,
    pa_id: String,
    ta: String,
    ta_id: String,
}

async fn admins(w: &World) -> Admins {
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
    Admins {
        pa_id: user_id(app, &pa).await,
        ta_id: user_id(app, &ta).await,
        pa,
        ta,
    }
}

/// One request at each place of `world()`, all WEB, filed by the super admin.
struct Requests {
    global: String,
    acme: String,
    globex: String,
    acme_hq: String,
    acme_lab: String,
    globex_hq: String,
}

async fn requests(w: &World) -> Requests {
    let app = &w.app;
    let root = &w.root;
    Requests {
        global: create(app, root, global("Global", "WEB")).await.id(),
        acme: create(app, root, partner_req("Acme Partner", &w.acme, "WEB"))
            .await
            .id(),
        globex: create(app, root, partner_req("Globex Partner", &w.globex, "WEB"))
            .await
            .id(),
        acme_hq: create(app, root, tenant_req("Acme HQ", &w.acme_hq, "WEB"))
            .await
            .id(),
        acme_lab: create(app, root, tenant_req("Acme Lab", &w.acme_lab, "WEB"))
            .await
            .id(),
        globex_hq: create(app, root, tenant_req("Globex HQ", &w.globex_hq, "WEB"))
            .await
            .id(),
    }
}

/// A super admin's GLOBAL request with the smallest body: every field of the response, the
/// defaults, PENDING, filed by the caller and undecided; it reads back the same by id and in
/// the list, and its `registration_request.create` event is platform-level. A request with
/// every field given echoes each.
#[tokio::test]
async fn a_request_is_created_pending_with_its_defaults_and_read_back_the_same() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let root_id = user_id(app, &w.root).await;
    let asked = Timestamp::now().unix();
    let created = create(app, &w.root, global("Portal", "WEB")).await;
    let id = created.id();
    assert!(id.starts_with("rrq_") && id.len() == 30, "{id}");
    assert_eq!(keys(&created.body), fields());
    let b = &created.body;
    assert_eq!(b["scope"], "GLOBAL");
    assert_eq!(b["partner_id"], Value::Null);
    assert_eq!(b["tenant_id"], Value::Null);
    assert_eq!(b["name"], "Portal");
    assert_eq!(b["description"], Value::Null);
    assert_eq!(b["application_type"], "WEB");
    assert_eq!(b["redirect_uris"], json!([]));
    assert_eq!(b["post_logout_redirect_uris"], json!([]));
    assert_eq!(b["allowed_origins"], json!([]));
    assert_eq!(b["requested_scopes"], json!(["openid", "profile", "email"]));
    assert_eq!(
        b["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(b["contact_email"], "dev@example.com");
    for null in [
        "contact_name",
        "organization_name",
        "website_url",
        "decided_at",
        "decided_by",
        "decision_notes",
        "rejection_reason",
        "application_id",
    ] {
        assert_eq!(b[null], Value::Null, "{null}");
    }
    assert_eq!(b["status"], "PENDING");
    assert_eq!(b["requested_by"], root_id.as_str());
    let at = Timestamp::parse(b["created_at"].as_str().unwrap())
        .unwrap_or_else(|| panic!("a timestamp: {b}"))
        .unix();
    assert!((at - asked).abs() <= 60, "created now: {at} vs {asked}");

    let read = app.get(&rrq_path(&id), &w.root).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert_eq!(read.body, created.body);
    let list = app.get(BASE, &w.root).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert_eq!(ids(&list), vec![id.clone()]);
    assert_eq!(list.body["items"][0], created.body);
    assert_eq!(total(&list), 1);

    let filed = events(app, "registration_request.create", &id).await;
    assert_eq!(filed.len(), 1, "{filed:?}");
    assert_eq!(filed[0]["result"], "SUCCESS");
    assert_eq!(filed[0]["partner_id"], Value::Null, "platform-level");
    assert_eq!(filed[0]["tenant_id"], Value::Null, "platform-level");
    assert_eq!(filed[0]["actor"]["id"], root_id.as_str());
    assert_eq!(filed[0]["resource_type"], "registration_request");

    // Every field given.
    let full_body = json!({
        "scope": "TENANT", "tenant_id": w.acme_hq, "partner_id": w.acme,
        "name": "Shop", "description": "The shop app", "application_type": "NATIVE",
        "redirect_uris": ["com.example.shop:/cb", "http://127.0.0.1:51000/cb"],
        "post_logout_redirect_uris": ["https://shop.example.com/bye"],
        "allowed_origins": ["https://shop.example.com"],
        "requested_scopes": ["openid", "orders:read"],
        "grant_types": ["authorization_code"],
        "contact_email": "dana@shop.test", "contact_name": "Dana Dev",
        "organization_name": "Shop Inc", "website_url": "https://shop.example.com/about"
    });
    let full = create(app, &w.root, full_body.clone()).await;
    assert_eq!(keys(&full.body), fields());
    for (field, value) in full_body.as_object().unwrap() {
        assert_eq!(&full.body[field], value, "{field}");
    }
    assert_eq!(full.body["status"], "PENDING");
    assert_eq!(
        app.get(&rrq_path(&full.id()), &w.root).await.body,
        full.body
    );
}

/// Each tier files the requests within its reach, and reads them back: the super admin all
/// three scopes, a partner admin its partner's PARTNER request and TENANT requests of its
/// tenants, a tenant admin its tenant's. A TENANT request names its tenant's partner, given or
/// not; `requested_by` is the filer, and the event goes under the request's partner and
/// tenant.
#[tokio::test]
async fn every_tier_files_the_requests_within_its_reach() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let a = admins(&w).await;
    let root_id = user_id(app, &w.root).await;
    // (token, its user id, body, scope, partner_id, tenant_id)
    let cases = [
        (&w.root, &root_id, global("G", "WEB"), "GLOBAL", None, None),
        (
            &w.root,
            &root_id,
            partner_req("P", &w.globex, "SERVICE"),
            "PARTNER",
            Some(&w.globex),
            None,
        ),
        (
            &w.root,
            &root_id,
            tenant_req("T", &w.globex_hq, "SPA"),
            "TENANT",
            Some(&w.globex),
            Some(&w.globex_hq),
        ),
        (
            &w.root,
            &root_id,
            with(
                tenant_req("T2", &w.acme_lab, "NATIVE"),
                json!({"partner_id": w.acme}),
            ),
            "TENANT",
            Some(&w.acme),
            Some(&w.acme_lab),
        ),
        (
            &a.pa,
            &a.pa_id,
            partner_req("PA", &w.acme, "WEB"),
            "PARTNER",
            Some(&w.acme),
            None,
        ),
        (
            &a.pa,
            &a.pa_id,
            tenant_req("PA-HQ", &w.acme_hq, "WEB"),
            "TENANT",
            Some(&w.acme),
            Some(&w.acme_hq),
        ),
        (
            &a.pa,
            &a.pa_id,
            tenant_req("PA-Lab", &w.acme_lab, "SAML_SP"),
            "TENANT",
            Some(&w.acme),
            Some(&w.acme_lab),
        ),
        (
            &a.ta,
            &a.ta_id,
            tenant_req("TA", &w.acme_hq, "WEB"),
            "TENANT",
            Some(&w.acme),
            Some(&w.acme_hq),
        ),
        (
            &a.ta,
            &a.ta_id,
            with(
                tenant_req("TA2", &w.acme_hq, "SPA"),
                json!({"partner_id": w.acme}),
            ),
            "TENANT",
            Some(&w.acme),
            Some(&w.acme_hq),
        ),
    ];
    for (token, filer, body, scope, partner, tenant) in cases {
        let created = create(app, token, body.clone()).await;
        let id = created.id();
        let b = &created.body;
        assert_eq!(b["scope"], scope, "{body}");
        assert_eq!(b["partner_id"], json!(partner), "{body}");
        assert_eq!(b["tenant_id"], json!(tenant), "{body}");
        assert_eq!(b["status"], "PENDING", "{body}");
        assert_eq!(b["requested_by"], filer.as_str(), "{body}");
        let read = app.get(&rrq_path(&id), token).await;
        assert_eq!(read.status, StatusCode::OK, "{body}: {}", read.body);
        assert_eq!(read.body, created.body);
        let list = app.get(BASE, token).await;
        assert!(ids(&list).contains(&id), "{body}");

        let filed = events(app, "registration_request.create", &id).await;
        assert_eq!(filed.len(), 1, "{body}: {filed:?}");
        assert_eq!(filed[0]["result"], "SUCCESS");
        assert_eq!(filed[0]["partner_id"], json!(partner), "{body}");
        assert_eq!(filed[0]["tenant_id"], json!(tenant), "{body}");
        assert_eq!(filed[0]["actor"]["id"], filer.as_str());
        if let Some(p) = partner {
            assert!(
                app.audit_events_of_partner(p)
                    .await
                    .iter()
                    .any(|e| e["resource_id"] == id.as_str()),
                "{body}: listed under its partner"
            );
        }
    }
    assert_eq!(total(&app.get(BASE, &w.root).await), 9);
}

/// Requests filed outside the caller's reach are 403 and leave the table as it was but for one
/// DENIED `registration_request.create` event each; decisions (approve, reject, cancel) on
/// requests outside reach are 403 and write nothing but DENIED events — the requests stay
/// PENDING and no application is made. Within reach, every decision works.
#[tokio::test]
async fn requests_and_decisions_outside_reach_are_refused_and_leave_only_denied_events() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let a = admins(&w).await;
    let r = requests(&w).await;
    // (token, bodies it may not file, requests it may not decide)
    let cases = [
        (
            &a.ta,
            vec![
                global("X", "WEB"),
                partner_req("X", &w.acme, "WEB"),
                partner_req("X", &w.globex, "WEB"),
                tenant_req("X", &w.acme_lab, "WEB"),
                tenant_req("X", &w.globex_hq, "WEB"),
            ],
            vec![&r.global, &r.acme, &r.globex, &r.acme_lab, &r.globex_hq],
        ),
        (
            &a.pa,
            vec![
                global("X", "WEB"),
                partner_req("X", &w.globex, "WEB"),
                tenant_req("X", &w.globex_hq, "WEB"),
            ],
            vec![&r.global, &r.globex, &r.globex_hq],
        ),
    ];
    for (token, bodies, targets) in cases {
        let before = app.snapshot().await;
        let refused_creates = bodies.len();
        for body in bodies {
            let reply = app.post(BASE, token, body.clone()).await;
            assert_eq!(
                (reply.status, &reply.body),
                (StatusCode::FORBIDDEN, &detail("Access denied")),
                "{body}"
            );
        }
        let new = added_since(app, &before).await;
        assert_eq!(new.len(), refused_creates, "{new:?}");
        for event in &new {
            assert_eq!(event["SK"], "EVENT", "{event}");
            assert_eq!(event["result"], "DENIED", "{event}");
            assert_eq!(event["action"], "registration_request.create", "{event}");
        }

        let before = app.snapshot().await;
        for id in targets {
            for (reply, what) in [
                (approve(app, token, id, None).await, "approve"),
                (
                    approve(app, token, id, Some("looks fine")).await,
                    "approve with notes",
                ),
                (reject(app, token, id, "no").await, "reject"),
                (cancel(app, token, id).await, "cancel"),
            ] {
                assert_eq!(
                    (reply.status, &reply.body),
                    (StatusCode::FORBIDDEN, &detail("Access denied")),
                    "{what} {id}"
                );
            }
        }
        let new = added_since(app, &before).await;
        assert!(
            new.iter()
                .all(|i| i["SK"] == "EVENT" && i["result"] == "DENIED"),
            "a refused decision wrote more than a DENIED event: {new:?}"
        );
    }
    for id in [&r.global, &r.acme, &r.globex, &r.acme_lab, &r.globex_hq] {
        assert_eq!(status_of(app, &w.root, id).await, "PENDING", "{id}");
    }
    assert_eq!(total(&app.get(APPS, &w.root).await), 0, "no application");
    assert_eq!(total(&app.get(BASE, &w.root).await), 6, "nothing filed");

    // Within reach, every decision works: a tenant admin approves its tenant's request, a
    // partner admin rejects one of its tenants' and cancels its own partner's.
    let approved = approve(app, &a.ta, &r.acme_hq, None).await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    assert_eq!(approved.body["request"]["status"], "APPROVED");
    let rejected = reject(app, &a.pa, &r.acme_lab, "Not now").await;
    assert_eq!(rejected.status, StatusCode::OK, "{}", rejected.body);
    assert_eq!(rejected.body["status"], "REJECTED");
    let cancelled = cancel(app, &a.pa, &r.acme).await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    assert_eq!(cancelled.body["status"], "CANCELLED");
}

/// Required fields, the owners each scope needs (and forbids), and every field's rules: each
/// bad body is 422 naming the field, and writes nothing.
#[tokio::test]
async fn invalid_requests_are_refused_naming_the_field_and_write_nothing() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let before = app.snapshot().await;
    let missing = app.post(BASE, &w.root, json!({})).await;
    assert_eq!(
        missing.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        missing.body
    );
    let named: BTreeSet<String> = locs(&missing).iter().map(|l| l.to_string()).collect();
    let expected: BTreeSet<String> = ["scope", "name", "application_type", "contact_email"]
        .iter()
        .map(|f| json!(["body", f]).to_string())
        .collect();
    assert_eq!(named, expected, "{}", missing.body);
    assert_eq!(app.snapshot().await, before);

    let post = |body: Value, field: &'static str| {
        let root = w.root.clone();
        async move { assert_invalid(app, Method::POST, BASE, &root, body, field).await }
    };
    // Each required field left out.
    for field in ["scope", "name", "application_type", "contact_email"] {
        post(without(global("X", "WEB"), field), field).await;
    }
    post(global("", "WEB"), "name").await;
    post(global(&"n".repeat(201), "WEB"), "name").await;
    post(
        json!({"name": "X", "scope": "PLATFORM", "application_type": "WEB",
               "contact_email": "dev@example.com"}),
        "scope",
    )
    .await;
    post(global("X", "DESKTOP"), "application_type").await;
    post(
        with(global("X", "WEB"), json!({"description": "d".repeat(1001)})),
        "description",
    )
    .await;

    // The owners a scope needs, and those it forbids.
    post(
        with(global("X", "WEB"), json!({"partner_id": w.acme})),
        "partner_id",
    )
    .await;
    // A required owner given as null is missing too.
    post(
        with(
            global("X", "WEB"),
            json!({"scope": "PARTNER", "partner_id": null}),
        ),
        "partner_id",
    )
    .await;
    post(
        with(
            global("X", "WEB"),
            json!({"scope": "TENANT", "tenant_id": null}),
        ),
        "tenant_id",
    )
    .await;
    post(
        with(global("X", "WEB"), json!({"tenant_id": w.acme_hq})),
        "tenant_id",
    )
    .await;
    post(
        without(partner_req("X", &w.acme, "WEB"), "partner_id"),
        "partner_id",
    )
    .await;
    post(
        with(
            partner_req("X", &w.acme, "WEB"),
            json!({"tenant_id": w.acme_hq}),
        ),
        "tenant_id",
    )
    .await;
    post(
        without(tenant_req("X", &w.acme_hq, "WEB"), "tenant_id"),
        "tenant_id",
    )
    .await;
    post(
        with(
            tenant_req("X", &w.acme_hq, "WEB"),
            json!({"partner_id": w.globex}),
        ),
        "partner_id",
    )
    .await;

    // Redirect URIs, origins, scopes and grant types: the rules of applications.
    for uri in [
        "http://example.com/cb",
        "/callback",
        "https://app.example.com/cb#frag",
        "https://*.example.com/cb",
        "com.example.app:/cb",
    ] {
        let reply = post(
            with(
                global("X", "WEB"),
                json!({"redirect_uris": ["https://ok.example.com/cb", uri]}),
            ),
            "redirect_uris",
        )
        .await;
        assert!(
            locs(&reply).contains(&json!(["body", "redirect_uris", 1])),
            "{uri}: {}",
            reply.body
        );
        post(
            with(
                global("X", "WEB"),
                json!({"post_logout_redirect_uris": [uri]}),
            ),
            "post_logout_redirect_uris",
        )
        .await;
    }
    post(
        with(
            global("X", "SPA"),
            json!({"allowed_origins": ["https://app.example.com/path"]}),
        ),
        "allowed_origins",
    )
    .await;
    post(
        with(
            global("X", "SPA"),
            json!({"allowed_origins": ["http://app.example.com"]}),
        ),
        "allowed_origins",
    )
    .await;
    for scopes in [json!(["bad scope"]), json!([""]), json!("openid")] {
        post(
            with(global("X", "WEB"), json!({ "requested_scopes": scopes })),
            "requested_scopes",
        )
        .await;
    }
    post(
        with(global("X", "WEB"), json!({"grant_types": ["implicit"]})),
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

    // Contact and organization.
    for email in ["plain", "@example.com", "a@", "a b@example.com", ""] {
        post(
            with(global("X", "WEB"), json!({ "contact_email": email })),
            "contact_email",
        )
        .await;
    }
    post(
        with(global("X", "WEB"), json!({"contact_email": 5})),
        "contact_email",
    )
    .await;
    post(
        with(global("X", "WEB"), json!({"contact_name": "c".repeat(201)})),
        "contact_name",
    )
    .await;
    post(
        with(
            global("X", "WEB"),
            json!({"organization_name": "o".repeat(201)}),
        ),
        "organization_name",
    )
    .await;
    let long_url = format!("https://example.com/{}", "a".repeat(2000));
    for url in [
        "example.com",
        "/about",
        "ftp://example.com",
        "javascript:alert(1)",
        long_url.as_str(),
    ] {
        post(
            with(global("X", "WEB"), json!({ "website_url": url })),
            "website_url",
        )
        .await;
    }

    // The bounds themselves are fine, as are a SERVICE with client_credentials, an http
    // website and a NATIVE app's private-use scheme.
    let fine = create(
        app,
        &w.root,
        with(
            global(&"n".repeat(200), "SERVICE"),
            json!({
                "description": "d".repeat(1000),
                "grant_types": ["client_credentials"],
                "contact_name": "c".repeat(200),
                "organization_name": "o".repeat(200),
                "website_url": "http://example.com",
            }),
        ),
    )
    .await;
    assert_eq!(fine.body["grant_types"], json!(["client_credentials"]));
    assert_eq!(fine.body["website_url"], "http://example.com");
    let native = create(
        app,
        &w.root,
        with(
            global("Mobile", "NATIVE"),
            json!({"redirect_uris": ["com.example.app:/cb"]}),
        ),
    )
    .await;
    assert_eq!(native.body["redirect_uris"], json!(["com.example.app:/cb"]));
    assert_eq!(total(&app.get(BASE, &w.root).await), 2);
}

/// Who sees what (SPEC §3.2): a tenant admin only its tenant's TENANT requests; a partner
/// admin its partner's PARTNER requests and its tenants' TENANT requests — no GLOBAL ones.
/// Anything else is 403 by id and absent from lists and their totals; unknown ids are 404 on
/// every route.
#[tokio::test]
async fn each_tier_sees_only_the_requests_of_its_own_partner_and_tenants() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let a = admins(&w).await;
    let r = requests(&w).await;
    let mine = create(app, &a.ta, tenant_req("Mine", &w.acme_hq, "SPA"))
        .await
        .id();
    // (token, visible, invisible)
    let cases = [
        (
            &a.ta,
            vec![&r.acme_hq, &mine],
            vec![&r.global, &r.acme, &r.globex, &r.acme_lab, &r.globex_hq],
        ),
        (
            &a.pa,
            vec![&r.acme, &r.acme_hq, &r.acme_lab, &mine],
            vec![&r.global, &r.globex, &r.globex_hq],
        ),
    ];
    for (token, visible, invisible) in cases {
        let visible = newest_first(visible);
        let list = app.get(BASE, token).await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.body);
        assert_eq!(ids(&list), visible);
        assert_eq!(total(&list), visible.len());
        for id in &visible {
            let read = app.get(&rrq_path(id), token).await;
            assert_eq!(read.status, StatusCode::OK, "{id}: {}", read.body);
            assert_eq!(keys(&read.body), fields());
        }
        for id in &invisible {
            let read = app.get(&rrq_path(id), token).await;
            assert_eq!(
                (read.status, read.body),
                (StatusCode::FORBIDDEN, detail("Access denied")),
                "{id}"
            );
        }
        // Filtered lists count only what the caller sees.
        let tenants = app.get(&format!("{BASE}?scope=TENANT"), token).await;
        assert_eq!(tenants.status, StatusCode::OK, "{}", tenants.body);
        let expected: Vec<String> = visible
            .iter()
            .filter(|id| **id != r.acme)
            .cloned()
            .collect();
        assert_eq!(ids(&tenants), expected);
        assert_eq!(total(&tenants), expected.len());
        let globals = app.get(&format!("{BASE}?scope=GLOBAL"), token).await;
        assert_eq!(ids(&globals), Vec::<String>::new());
        assert_eq!(total(&globals), 0);
        let pending = app.get(&format!("{BASE}?status=PENDING"), token).await;
        assert_eq!(ids(&pending), visible);
        assert_eq!(total(&pending), visible.len());
    }
    // The super admin sees all seven.
    let all = app.get(BASE, &w.root).await;
    assert_eq!(total(&all), 7);
    assert_eq!(ids(&all).len(), 7);

    for token in [&w.root, &a.pa, &a.ta] {
        let unknown = app.get(&rrq_path(UNKNOWN), token).await;
        assert_eq!(
            (unknown.status, unknown.body),
            (StatusCode::NOT_FOUND, detail(NOT_FOUND))
        );
        for malformed in ["not-an-id", "app_00000000000000000000000000", "rrq_x"] {
            let reply = app.get(&rrq_path(malformed), token).await;
            assert_eq!(reply.status, StatusCode::NOT_FOUND, "{malformed}");
        }
    }
    let before = app.snapshot().await;
    for (reply, what) in [
        (approve(app, &w.root, UNKNOWN, None).await, "approve"),
        (reject(app, &w.root, UNKNOWN, "no").await, "reject"),
        (cancel(app, &w.root, UNKNOWN).await, "cancel"),
    ] {
        assert_eq!(
            (reply.status, reply.body),
            (StatusCode::NOT_FOUND, detail(NOT_FOUND)),
            "{what}"
        );
    }
    assert_eq!(app.snapshot().await, before);
}

/// A PENDING request is cancelled by DELETE: 200 with the request, now CANCELLED (and read
/// so); a second cancel is 409, as is approving or rejecting it — each refusal writes nothing.
/// The cancel files one `registration_request.cancel` event under the request's tenant.
#[tokio::test]
async fn a_pending_request_is_cancelled_once_and_then_cannot_be_decided() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let a = admins(&w).await;
    let created = create(app, &a.ta, tenant_req("Oops", &w.acme_hq, "WEB")).await;
    let id = created.id();
    let cancelled = cancel(app, &a.ta, &id).await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    assert_eq!(keys(&cancelled.body), fields());
    assert_eq!(cancelled.body["id"], id.as_str());
    assert_eq!(cancelled.body["status"], "CANCELLED");
    assert_eq!(cancelled.body["application_id"], Value::Null);
    for unchanged in [
        "name",
        "scope",
        "tenant_id",
        "partner_id",
        "requested_by",
        "created_at",
    ] {
        assert_eq!(
            cancelled.body[unchanged], created.body[unchanged],
            "{unchanged}"
        );
    }
    let read = app.get(&rrq_path(&id), &a.ta).await;
    assert_eq!(read.body, cancelled.body);

    assert_conflict(app, cancel(app, &a.ta, &id), NOT_PENDING, "cancel again").await;
    assert_conflict(
        app,
        cancel(app, &w.root, &id),
        NOT_PENDING,
        "cancel again (super)",
    )
    .await;
    assert_conflict(
        app,
        approve(app, &a.ta, &id, None),
        ALREADY_DECIDED,
        "approve",
    )
    .await;
    assert_conflict(
        app,
        reject(app, &a.pa, &id, "too late"),
        ALREADY_DECIDED,
        "reject",
    )
    .await;
    assert_eq!(status_of(app, &w.root, &id).await, "CANCELLED");
    assert_eq!(total(&app.get(APPS, &w.root).await), 0);

    let filed = events(app, "registration_request.cancel", &id).await;
    assert_eq!(filed.len(), 1, "{filed:?}");
    assert_eq!(filed[0]["result"], "SUCCESS");
    assert_eq!(filed[0]["partner_id"], w.acme.as_str());
    assert_eq!(filed[0]["tenant_id"], w.acme_hq.as_str());
    assert_eq!(filed[0]["actor"]["id"], a.ta_id.as_str());
}

/// Approving a TENANT WEB request: 200 with the request (APPROVED, decided by the approver,
/// now, with its notes and the application's id), the application (as it then reads at
/// /applications, every setting taken from the request) and its secret, shown once and never
/// stored in clear. The request reads APPROVED; one `registration_request.approve` and one
/// `application.create` event go under the tenant.
#[tokio::test]
async fn approving_a_confidential_request_creates_its_application_and_shows_the_secret_once() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let a = admins(&w).await;
    let body = with(
        tenant_req("Shop", &w.acme_hq, "WEB"),
        json!({
            "description": "The shop",
            "redirect_uris": ["https://shop.example.com/cb"],
            "post_logout_redirect_uris": ["https://shop.example.com/bye"],
            "allowed_origins": ["https://shop.example.com"],
            "requested_scopes": ["openid", "orders:read"],
            "grant_types": ["authorization_code", "client_credentials"],
            "contact_name": "Dana", "organization_name": "Shop Inc",
            "website_url": "https://shop.example.com"
        }),
    );
    let created = create(app, &a.ta, body).await;
    let id = created.id();
    let asked = Timestamp::now().unix();
    let approved = approve(app, &a.pa, &id, Some("Welcome aboard")).await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    assert_eq!(
        keys(&approved.body),
        ["application", "client_id", "client_secret", "request"]
            .iter()
            .map(|k| (*k).to_owned())
            .collect::<BTreeSet<String>>()
    );
    let request = &approved.body["request"];
    let application = &approved.body["application"];
    let secret = assert_client_secret(&approved.body["client_secret"]);

    assert_eq!(keys(request), fields());
    assert_eq!(request["id"], id.as_str());
    assert_eq!(request["status"], "APPROVED");
    assert_eq!(request["decided_by"], a.pa_id.as_str());
    assert_eq!(request["decision_notes"], "Welcome aboard");
    assert_eq!(request["rejection_reason"], Value::Null);
    assert_eq!(request["requested_by"], a.ta_id.as_str());
    let decided = request["decided_at"]
        .as_str()
        .and_then(Timestamp::parse)
        .unwrap_or_else(|| panic!("decided_at: {request}"))
        .unix();
    assert!((decided - asked).abs() <= 60, "{decided} vs {asked}");
    let app_id = application["id"]
        .as_str()
        .unwrap_or_else(|| panic!("an application: {application}"))
        .to_owned();
    assert!(app_id.starts_with("app_"), "{app_id}");
    assert_eq!(request["application_id"], app_id.as_str());
    for unchanged in [
        "name",
        "scope",
        "tenant_id",
        "partner_id",
        "requested_scopes",
        "contact_email",
        "created_at",
    ] {
        assert_eq!(request[unchanged], created.body[unchanged], "{unchanged}");
    }

    // The application, as an admin create would have made it from the request.
    assert_eq!(application["client_id"], app_id.as_str());
    assert_eq!(application["name"], "Shop");
    assert_eq!(application["description"], "The shop");
    assert_eq!(application["scope"], "TENANT");
    assert_eq!(application["tenant_id"], w.acme_hq.as_str());
    assert_eq!(application["application_type"], "WEB");
    for (app_field, rrq_field) in [
        ("redirect_uris", "redirect_uris"),
        ("post_logout_redirect_uris", "post_logout_redirect_uris"),
        ("allowed_origins", "allowed_origins"),
        ("allowed_scopes", "requested_scopes"),
        ("grant_types", "grant_types"),
    ] {
        assert_eq!(
            application[app_field], created.body[rrq_field],
            "{app_field}"
        );
    }
    assert_eq!(application["status"], "ACTIVE");
    let read = app.get(&app_path(&app_id), &a.ta).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert!(read.body.get("client_secret").is_none());
    assert_eq!(&read.body, &without(application.clone(), "client_secret"));
    let listed = app
        .get(&format!("{APPS}?tenant_id={}", w.acme_hq), &w.root)
        .await;
    assert_eq!(ids(&listed), vec![app_id.clone()]);

    // The request reads approved, the same as the reply showed.
    let again = app.get(&rrq_path(&id), &a.ta).await;
    assert_eq!(&again.body, request);
    let table = serde_json::to_string(&app.snapshot().await).unwrap();
    assert!(!table.contains(&secret), "the secret is stored in clear");

    for (action, resource) in [
        ("registration_request.approve", &id),
        ("application.create", &app_id),
    ] {
        let filed = events(app, action, resource).await;
        assert_eq!(filed.len(), 1, "{action}: {filed:?}");
        assert_eq!(filed[0]["result"], "SUCCESS", "{action}");
        assert_eq!(filed[0]["partner_id"], w.acme.as_str(), "{action}");
        assert_eq!(filed[0]["tenant_id"], w.acme_hq.as_str(), "{action}");
        assert_eq!(filed[0]["actor"]["id"], a.pa_id.as_str(), "{action}");
        assert!(!filed[0].to_string().contains(&secret), "{action}");
    }
    let creates = app
        .snapshot()
        .await
        .into_values()
        .filter(|i| i["SK"] == "EVENT" && i["action"] == "application.create")
        .count();
    assert_eq!(creates, 1);
}

/// Every type and scope: confidential types (WEB, SERVICE, SAML_SP) get a secret, public ones
/// (SPA, NATIVE) a null one; GLOBAL and PARTNER requests make GLOBAL and PARTNER applications;
/// the body of an approval is optional (no notes: `decision_notes` null).
#[tokio::test]
async fn approval_gives_a_secret_to_confidential_types_only_at_every_scope() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let a = admins(&w).await;
    let root_id = user_id(app, &w.root).await;
    // (token of the approver, its id, request body, secret expected)
    let cases = [
        (&w.root, &root_id, global("G", "WEB"), true),
        (&w.root, &root_id, global("G-Spa", "SPA"), false),
        (
            &a.pa,
            &a.pa_id,
            with(
                partner_req("P", &w.acme, "SERVICE"),
                json!({"grant_types": ["client_credentials"]}),
            ),
            true,
        ),
        (
            &a.pa,
            &a.pa_id,
            partner_req("P-Native", &w.acme, "NATIVE"),
            false,
        ),
        (
            &a.pa,
            &a.pa_id,
            tenant_req("T-Saml", &w.acme_lab, "SAML_SP"),
            true,
        ),
        (
            &a.ta,
            &a.ta_id,
            tenant_req("T-Spa", &w.acme_hq, "SPA"),
            false,
        ),
        (
            &w.root,
            &root_id,
            tenant_req("T-Globex", &w.globex_hq, "WEB"),
            true,
        ),
    ];
    for (token, approver, body, confidential) in cases {
        let id = create(app, &w.root, body.clone()).await.id();
        // No body at all.
        let approved = approve(app, token, &id, None).await;
        assert_eq!(approved.status, StatusCode::OK, "{body}: {}", approved.body);
        let b = &approved.body;
        assert!(
            b.as_object().unwrap().contains_key("client_secret"),
            "{body}: {b}"
        );
        if confidential {
            assert_client_secret(&b["client_secret"]);
        } else {
            assert_eq!(b["client_secret"], Value::Null, "{body}");
        }
        assert_eq!(b["request"]["status"], "APPROVED");
        assert_eq!(b["request"]["decided_by"], approver.as_str());
        assert_eq!(b["request"]["decision_notes"], Value::Null);
        assert_eq!(b["application"]["scope"], body["scope"]);
        assert_eq!(
            b["application"]["application_type"],
            body["application_type"]
        );
        assert_eq!(b["request"]["application_id"], b["application"]["id"]);
        let app_id = b["application"]["id"].as_str().unwrap();
        let read = app.get(&app_path(app_id), token).await;
        assert_eq!(read.status, StatusCode::OK, "{body}: {}", read.body);
        assert_eq!(
            read.body,
            without(b["application"].clone(), "client_secret")
        );
        if body["scope"] == "PARTNER" {
            assert_eq!(read.body["partner_id"], w.acme.as_str());
        }
        let filed = events(app, "registration_request.approve", &id).await;
        assert_eq!(filed.len(), 1, "{body}");
        if body["scope"] == "GLOBAL" {
            assert_eq!(filed[0]["partner_id"], Value::Null, "platform-level");
        }
    }
    // An empty object is fine, too.
    let id = create(app, &w.root, global("Empty", "WEB")).await.id();
    let approved = app.post(&approve_path(&id), &w.root, json!({})).await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    assert_eq!(total(&app.get(APPS, &w.root).await), 8);
}

/// `max_applications_per_tenant` bounds approvals as it bounds creates: a full tenant's
/// approval is 409, the request stays PENDING and nothing is written; once a slot is free the
/// same request is approved.
#[tokio::test]
async fn approval_honors_max_applications_per_tenant_and_a_refusal_writes_nothing() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let a = admins(&w).await;
    let limited = app
        .patch(
            &format!("{PARTNERS}/{}", w.acme),
            &w.root,
            json!({"max_applications_per_tenant": 1}),
        )
        .await;
    assert_eq!(limited.status, StatusCode::OK, "{}", limited.body);
    let existing = app
        .post(
            APPS,
            &w.root,
            json!({"name": "Existing", "scope": "TENANT", "tenant_id": w.acme_hq,
                   "application_type": "WEB"}),
        )
        .await;
    assert_eq!(existing.status, StatusCode::CREATED, "{}", existing.body);
    let id = create(app, &a.ta, tenant_req("One too many", &w.acme_hq, "WEB"))
        .await
        .id();
    for token in [&a.ta, &a.pa, &w.root] {
        assert_conflict(
            app,
            approve(app, token, &id, Some("ok")),
            "Application limit reached for this tenant",
            "approval over the limit",
        )
        .await;
    }
    let read = app.get(&rrq_path(&id), &a.ta).await;
    assert_eq!(read.body["status"], "PENDING");
    assert_eq!(read.body["application_id"], Value::Null);
    assert_eq!(read.body["decided_at"], Value::Null);
    assert_eq!(read.body["decided_by"], Value::Null);
    assert!(
        events(app, "registration_request.approve", &id)
            .await
            .is_empty()
    );
    let hq = app
        .get(&format!("{APPS}?tenant_id={}", w.acme_hq), &w.root)
        .await;
    assert_eq!(total(&hq), 1);

    // Another tenant of the partner has its own slot.
    let lab = create(app, &a.pa, tenant_req("Lab", &w.acme_lab, "WEB"))
        .await
        .id();
    let approved = approve(app, &a.pa, &lab, None).await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);

    // A delete frees the slot; the same request is then approved.
    let deleted = app.delete(&app_path(&existing.id()), &a.ta).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    let approved = approve(app, &a.ta, &id, None).await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    assert_eq!(approved.body["request"]["status"], "APPROVED");
    let hq = app
        .get(&format!("{APPS}?tenant_id={}", w.acme_hq), &w.root)
        .await;
    assert_eq!(
        ids(&hq),
        vec![
            approved.body["application"]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        ]
    );
}

/// A rejection needs a reason (1..2000 characters; else 422, nothing written) and keeps it:
/// 200 REJECTED, decided by the rejecter, no application. A decided request takes no other
/// decision: reject-then-approve, approve-then-reject, a second reject and a cancel of either
/// are 409, and write nothing.
#[tokio::test]
async fn a_rejection_keeps_its_reason_and_a_decided_request_takes_no_other_decision() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let a = admins(&w).await;
    let id = create(app, &a.ta, tenant_req("Maybe", &w.acme_hq, "WEB"))
        .await
        .id();
    let path = reject_path(&id);
    for (body, what) in [
        (json!({}), "no reason"),
        (json!({"reason": ""}), "an empty reason"),
        (json!({"reason": null}), "a null reason"),
        (json!({"reason": 5}), "a number"),
        (json!({"reason": "r".repeat(2001)}), "a reason too long"),
    ] {
        let reply = assert_invalid(app, Method::POST, &path, &a.pa, body, "reason").await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{what}");
    }
    assert_eq!(status_of(app, &w.root, &id).await, "PENDING");

    let reason = "r".repeat(2000);
    let asked = Timestamp::now().unix();
    let rejected = reject(app, &a.pa, &id, &reason).await;
    assert_eq!(rejected.status, StatusCode::OK, "{}", rejected.body);
    let b = &rejected.body;
    assert_eq!(keys(b), fields());
    assert_eq!(b["status"], "REJECTED");
    assert_eq!(b["rejection_reason"], reason.as_str());
    assert_eq!(b["decided_by"], a.pa_id.as_str());
    assert_eq!(b["application_id"], Value::Null);
    let decided = b["decided_at"]
        .as_str()
        .and_then(Timestamp::parse)
        .unwrap_or_else(|| panic!("decided_at: {b}"))
        .unix();
    assert!((decided - asked).abs() <= 60);
    assert_eq!(app.get(&rrq_path(&id), &a.ta).await.body, rejected.body);
    let filed = events(app, "registration_request.reject", &id).await;
    assert_eq!(filed.len(), 1, "{filed:?}");
    assert_eq!(filed[0]["result"], "SUCCESS");
    assert_eq!(filed[0]["partner_id"], w.acme.as_str());
    assert_eq!(filed[0]["tenant_id"], w.acme_hq.as_str());

    // Reject, then approve (by anyone): 409.
    for token in [&a.ta, &a.pa, &w.root] {
        assert_conflict(
            app,
            approve(app, token, &id, None),
            ALREADY_DECIDED,
            "approve after reject",
        )
        .await;
    }
    assert_conflict(
        app,
        reject(app, &a.pa, &id, "again"),
        ALREADY_DECIDED,
        "reject again",
    )
    .await;
    assert_conflict(
        app,
        cancel(app, &a.ta, &id),
        NOT_PENDING,
        "cancel a rejected",
    )
    .await;
    assert_eq!(total(&app.get(APPS, &w.root).await), 0);

    // Approve, then reject: 409, and the approval stands.
    let other = create(app, &a.ta, tenant_req("Yes", &w.acme_hq, "SPA"))
        .await
        .id();
    let approved = approve(app, &a.ta, &other, None).await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    assert_conflict(
        app,
        reject(app, &a.pa, &other, "changed my mind"),
        ALREADY_DECIDED,
        "reject after approve",
    )
    .await;
    assert_conflict(
        app,
        approve(app, &a.pa, &other, None),
        ALREADY_DECIDED,
        "approve again",
    )
    .await;
    assert_conflict(
        app,
        cancel(app, &a.ta, &other),
        NOT_PENDING,
        "cancel an approved",
    )
    .await;
    let read = app.get(&rrq_path(&other), &a.ta).await;
    assert_eq!(read.body, approved.body["request"]);
    assert_eq!(read.body["rejection_reason"], Value::Null);
    assert_eq!(total(&app.get(APPS, &w.root).await), 1);
}

/// Twenty concurrent approvals of one request: exactly one 200, the rest 409 "already
/// decided"; the tenant holds one application, the table one `application.create` and one
/// `registration_request.approve` event, and the request names the winner's application.
#[tokio::test]
async fn twenty_concurrent_approvals_make_exactly_one_application() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let id = create(app, &w.root, tenant_req("Racer", &w.globex_hq, "WEB"))
        .await
        .id();
    let replies = join_all(
        (0..20)
            .map(|i| {
                let notes = format!("approver {i}");
                let root = w.root.clone();
                let path = approve_path(&id);
                async move { app.post(&path, &root, json!({ "notes": notes })).await }
            })
            .collect(),
    )
    .await;
    let statuses: Vec<StatusCode> = replies.iter().map(|r| r.status).collect();
    let winners: Vec<&Reply> = replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .collect();
    assert_eq!(winners.len(), 1, "{statuses:?}");
    for r in replies.iter().filter(|r| r.status != StatusCode::OK) {
        assert_eq!(
            (r.status, &r.body),
            (StatusCode::CONFLICT, &detail(ALREADY_DECIDED))
        );
    }
    let winner = &winners[0].body;
    let app_id = winner["application"]["id"].as_str().unwrap().to_owned();

    let list = app
        .get(&format!("{APPS}?tenant_id={}", w.globex_hq), &w.root)
        .await;
    assert_eq!(total(&list), 1);
    assert_eq!(ids(&list), vec![app_id.clone()]);
    let table = app.snapshot().await;
    let count = |action: &str| {
        table
            .values()
            .filter(|i| i["SK"] == "EVENT" && i["action"] == action)
            .count()
    };
    assert_eq!(count("application.create"), 1);
    assert_eq!(count("registration_request.approve"), 1);
    let stored_apps = table.values().filter(|i| i["SK"] == "APP").count();
    assert_eq!(stored_apps, 1);
    let read = app.get(&rrq_path(&id), &w.root).await;
    assert_eq!(read.body["status"], "APPROVED");
    assert_eq!(read.body["application_id"], app_id.as_str());
    assert_eq!(
        read.body["decision_notes"],
        winner["request"]["decision_notes"]
    );
    assert_eq!(&read.body, &winner["request"]);
}

/// A request PENDING for 30 days or more reads EXPIRED — by id and in lists — and can be
/// neither approved nor rejected (409 "The request has expired", nothing written, no
/// application); one a little younger is still PENDING and is approved.
#[tokio::test]
async fn a_request_pending_for_thirty_days_reads_expired_and_can_no_longer_be_decided() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let a = admins(&w).await;
    let old = create(app, &a.ta, tenant_req("Old", &w.acme_hq, "WEB"))
        .await
        .id();
    let just_over = create(app, &a.ta, tenant_req("Just over", &w.acme_hq, "WEB"))
        .await
        .id();
    let just_under = create(app, &a.ta, tenant_req("Just under", &w.acme_hq, "WEB"))
        .await
        .id();
    backdate(app, &old, "2026-01-01T00:00:00Z").await;
    backdate(app, &just_over, &days_ago(30, 3600)).await;
    backdate(app, &just_under, &days_ago(29, 23 * 3600)).await;

    for id in [&old, &just_over] {
        let read = app.get(&rrq_path(id), &a.ta).await;
        assert_eq!(read.status, StatusCode::OK, "{}", read.body);
        assert_eq!(read.body["status"], "EXPIRED", "{id}");
        assert_eq!(read.body["decided_at"], Value::Null);
        for token in [&a.ta, &a.pa, &w.root] {
            assert_conflict(
                app,
                approve(app, token, id, Some("late")),
                EXPIRED,
                "approve an expired request",
            )
            .await;
            assert_conflict(
                app,
                reject(app, token, id, "late"),
                EXPIRED,
                "reject an expired request",
            )
            .await;
        }
        assert_eq!(status_of(app, &w.root, id).await, "EXPIRED");
    }
    assert_eq!(total(&app.get(APPS, &w.root).await), 0);
    let listed = app.get(BASE, &a.ta).await;
    let status_in_list = |id: &str| {
        listed.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == id)
            .map(|i| i["status"].clone())
            .unwrap_or_else(|| panic!("{id} listed"))
    };
    assert_eq!(status_in_list(&old), "EXPIRED");
    assert_eq!(status_in_list(&just_over), "EXPIRED");
    assert_eq!(status_in_list(&just_under), "PENDING");

    assert_eq!(status_of(app, &w.root, &just_under).await, "PENDING");
    let approved = approve(app, &a.ta, &just_under, None).await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    assert_eq!(approved.body["request"]["status"], "APPROVED");
}

/// Lists narrow by `status` — EXPIRED matching the PENDING requests 30 days old or more, and
/// PENDING excluding them — and by `scope`, both together, with totals of what matched; bad
/// values are 422; pages by cursor reach every request once, newest first.
#[tokio::test]
async fn lists_filter_by_status_including_expired_and_by_scope() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let root = &w.root;
    let pending_g = create(app, root, global("Pending G", "WEB")).await.id();
    let expired_g = create(app, root, global("Expired G", "WEB")).await.id();
    let approved_p = create(app, root, partner_req("Approved P", &w.acme, "WEB"))
        .await
        .id();
    let rejected_t = create(app, root, tenant_req("Rejected T", &w.acme_hq, "WEB"))
        .await
        .id();
    let cancelled_t = create(app, root, tenant_req("Cancelled T", &w.globex_hq, "SPA"))
        .await
        .id();
    let expired_t = create(app, root, tenant_req("Expired T", &w.acme_lab, "WEB"))
        .await
        .id();
    let pending_p = create(app, root, partner_req("Pending P", &w.globex, "WEB"))
        .await
        .id();
    assert_eq!(
        approve(app, root, &approved_p, None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        reject(app, root, &rejected_t, "no").await.status,
        StatusCode::OK
    );
    assert_eq!(cancel(app, root, &cancelled_t).await.status, StatusCode::OK);
    backdate(app, &expired_g, &days_ago(45, 0)).await;
    backdate(app, &expired_t, "2026-01-01T00:00:00Z").await;

    let everything = newest_first(vec![
        &pending_g,
        &expired_g,
        &approved_p,
        &rejected_t,
        &cancelled_t,
        &expired_t,
        &pending_p,
    ]);
    let all = app.get(BASE, root).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert_eq!(ids(&all), everything);
    assert_eq!(total(&all), 7);

    let cases: Vec<(&str, Vec<&String>)> = vec![
        ("status=PENDING", vec![&pending_g, &pending_p]),
        ("status=EXPIRED", vec![&expired_g, &expired_t]),
        ("status=APPROVED", vec![&approved_p]),
        ("status=REJECTED", vec![&rejected_t]),
        ("status=CANCELLED", vec![&cancelled_t]),
        ("scope=GLOBAL", vec![&pending_g, &expired_g]),
        ("scope=PARTNER", vec![&approved_p, &pending_p]),
        ("scope=TENANT", vec![&rejected_t, &cancelled_t, &expired_t]),
        ("status=EXPIRED&scope=TENANT", vec![&expired_t]),
        ("status=PENDING&scope=PARTNER", vec![&pending_p]),
        ("status=PENDING&scope=TENANT", vec![]),
        ("status=EXPIRED&scope=PARTNER", vec![]),
    ];
    for (query, expected) in cases {
        let reply = app.get(&format!("{BASE}?{query}"), root).await;
        assert_eq!(reply.status, StatusCode::OK, "{query}: {}", reply.body);
        let expected = newest_first(expected);
        assert_eq!(ids(&reply), expected, "{query}");
        assert_eq!(total(&reply), expected.len(), "{query}");
        let wanted = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("status="))
            .map(|s| json!(s));
        if let Some(status) = wanted {
            for item in reply.body["items"].as_array().unwrap() {
                assert_eq!(item["status"], status, "{query}");
            }
        }
    }
    for bad in ["status=DONE", "scope=PLATFORM", "per_page=0"] {
        let reply = app.get(&format!("{BASE}?{bad}"), root).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }

    // A partner admin's EXPIRED list: its tenants' only.
    let pa = app
        .admin_token("pa@acme.test", AdminRole::PartnerAdmin, Some(&w.acme), None)
        .await;
    let expired = app.get(&format!("{BASE}?status=EXPIRED"), &pa).await;
    assert_eq!(ids(&expired), vec![expired_t.clone()]);
    assert_eq!(total(&expired), 1);

    // Pages by cursor reach every request once, in order, each with the full total.
    let mut seen = Vec::new();
    let mut path = format!("{BASE}?per_page=2");
    loop {
        let page = app.get(&path, root).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        assert!(ids(&page).len() <= 2);
        assert_eq!(total(&page), 7, "{path}");
        seen.extend(ids(&page));
        match page.body["pagination"]["next_cursor"].as_str() {
            Some(c) => path = format!("{BASE}?per_page=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, everything);
    let mut seen = Vec::new();
    let mut path = format!("{BASE}?per_page=1&status=EXPIRED");
    loop {
        let page = app.get(&path, root).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        assert_eq!(total(&page), 2, "{path}");
        seen.extend(ids(&page));
        match page.body["pagination"]["next_cursor"].as_str() {
            Some(c) => path = format!("{BASE}?per_page=1&status=EXPIRED&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, newest_first(vec![&expired_g, &expired_t]));
}

/// Round trips: a tenant admin reads its own TENANT request in one (the request rides in the
/// session check's batch).
#[tokio::test]
async fn a_tenant_admin_reads_its_request_in_one_round_trip() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let a = admins(&w).await;
    let id = create(app, &a.ta, tenant_req("Mine", &w.acme_hq, "WEB"))
        .await
        .id();
    let before = app.calls();
    let read = app.get(&rrq_path(&id), &a.ta).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert_eq!(
        app.calls() - before,
        1,
        "the request is read in the session batch"
    );
}

// --- Pending-request tallies (`TALLY#RRQS#…`): what the dashboard reads in O(1) ---

const TENANTS: &str = "/api/v1/admin/tenants";

/// The count of a pending-request tally at `now`: the minutes after `now` of its windows.
fn tally_at(table: &std::collections::BTreeMap<String, Value>, scope: &str, now: i64) -> i64 {
    let prefix = format!("TALLY#RRQS#{scope} DAY#");
    table
        .iter()
        .filter_map(|(key, item)| Some((key.strip_prefix(&prefix)?.parse::<i64>().ok()?, item)))
        .flat_map(|(day, item)| {
            item.as_object()
                .expect("a window")
                .iter()
                .filter_map(move |(name, count)| {
                    let minute: i64 = name.strip_prefix('m')?.parse().ok()?;
                    (day * 86_400 + minute * 60 > now).then(|| count.as_i64().expect("a count"))
                })
        })
        .sum()
}

/// The PENDING requests `token` lists: their total, and how many are of each tenant.
async fn pending_listed(app: &TestApp, token: &str) -> (i64, Vec<Value>) {
    let reply = app
        .get(&format!("{BASE}?status=PENDING&per_page=100"), token)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let items = reply.body["items"].as_array().expect("items").clone();
    assert_eq!(total(&reply), items.len(), "one page holds them all");
    (items.len() as i64, items)
}

/// Who reads which tally: the platform (super admin), each partner (its admin) and each
/// tenant (its TENANT requests in the super admin's list: a deleted tenant has no admin left).
struct Views {
    partners: Vec<(String, String)>,
    tenants: Vec<String>,
}

async fn views(w: &World) -> Views {
    let app = &w.app;
    let pa = app
        .admin_token(
            "tally-pa@acme.test",
            AdminRole::PartnerAdmin,
            Some(&w.acme),
            None,
        )
        .await;
    let pg = app
        .admin_token(
            "tally-pg@globex.test",
            AdminRole::PartnerAdmin,
            Some(&w.globex),
            None,
        )
        .await;
    Views {
        partners: vec![(w.acme.clone(), pa), (w.globex.clone(), pg)],
        tenants: vec![w.acme_hq.clone(), w.acme_lab.clone(), w.globex_hq.clone()],
    }
}

/// Asserts every tally at now equals the PENDING total of its lists, and returns the tallies
/// (`PLATFORM`, `PARTNER#p`, `TENANT#t`).
async fn tallies_match_lists(
    w: &World,
    v: &Views,
    what: &str,
) -> std::collections::BTreeMap<String, i64> {
    let app = &w.app;
    let (platform, all) = pending_listed(app, &w.root).await;
    let mut listed = std::collections::BTreeMap::new();
    listed.insert("PLATFORM".to_owned(), platform);
    for (p, token) in &v.partners {
        listed.insert(format!("PARTNER#{p}"), pending_listed(app, token).await.0);
    }
    for t in &v.tenants {
        let of_tenant = all.iter().filter(|i| i["tenant_id"] == t.as_str()).count();
        listed.insert(format!("TENANT#{t}"), of_tenant as i64);
    }
    let table = app.snapshot().await;
    let now = Timestamp::now().unix();
    let tallied: std::collections::BTreeMap<String, i64> = listed
        .keys()
        .map(|scope| (scope.clone(), tally_at(&table, scope, now)))
        .collect();
    assert_eq!(tallied, listed, "{what}: tallies against the PENDING lists");
    tallied
}

/// `before` with `delta` added at each of `scopes`.
fn moved(
    before: &std::collections::BTreeMap<String, i64>,
    scopes: &[String],
    delta: i64,
) -> std::collections::BTreeMap<String, i64> {
    let mut after = before.clone();
    for scope in scopes {
        *after.get_mut(scope).expect("a known scope") += delta;
    }
    after
}

fn platform() -> String {
    "PLATFORM".to_owned()
}

fn partner(p: &str) -> String {
    format!("PARTNER#{p}")
}

fn tenant(t: &str) -> String {
    format!("TENANT#{t}")
}

/// Every request counts in the platform's tally, and in its partner's (PARTNER) or its
/// tenant's and the tenant's partner's (TENANT) until decided: the tallies equal the PENDING
/// totals the super admin, each partner admin and each tenant see, after creates at every
/// scope and by every tier; an approval, a rejection and a cancel each take exactly one off
/// exactly where it counted; a refused decision (already decided: 409) changes nothing.
#[tokio::test]
async fn pending_tallies_equal_the_pending_lists_and_each_decision_takes_one_off() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let v = views(&w).await;
    let a = admins(&w).await;
    let r = requests(&w).await;
    let by_ta = create(app, &a.ta, tenant_req("By TA", &w.acme_hq, "SPA"))
        .await
        .id();
    let by_pa = create(app, &a.pa, partner_req("By PA", &w.acme, "SPA"))
        .await
        .id();
    let filed = tallies_match_lists(&w, &v, "after the creates").await;
    let expected: std::collections::BTreeMap<String, i64> = [
        (platform(), 8),
        (partner(&w.acme), 5),
        (partner(&w.globex), 2),
        (tenant(&w.acme_hq), 2),
        (tenant(&w.acme_lab), 1),
        (tenant(&w.globex_hq), 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(filed, expected);

    let approved = approve(app, &a.ta, &r.acme_hq, None).await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    let after_approve = tallies_match_lists(&w, &v, "after an approval").await;
    assert_eq!(
        after_approve,
        moved(
            &filed,
            &[platform(), partner(&w.acme), tenant(&w.acme_hq)],
            -1
        )
    );

    let rejected = reject(app, &a.pa, &by_pa, "no").await;
    assert_eq!(rejected.status, StatusCode::OK, "{}", rejected.body);
    let after_reject = tallies_match_lists(&w, &v, "after a rejection").await;
    assert_eq!(
        after_reject,
        moved(&after_approve, &[platform(), partner(&w.acme)], -1)
    );

    let cancelled = cancel(app, &w.root, &r.global).await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    let after_cancel = tallies_match_lists(&w, &v, "after a cancel").await;
    assert_eq!(after_cancel, moved(&after_reject, &[platform()], -1));

    // The super admin on a TENANT request (its tenant read), a tenant admin cancelling its own.
    assert_eq!(
        reject(app, &w.root, &r.globex_hq, "no").await.status,
        StatusCode::OK
    );
    assert_eq!(cancel(app, &a.ta, &by_ta).await.status, StatusCode::OK);
    let after_more = tallies_match_lists(&w, &v, "after a tenant's rejection and cancel").await;
    assert_eq!(
        after_more,
        moved(
            &moved(
                &after_cancel,
                &[platform(), partner(&w.globex), tenant(&w.globex_hq)],
                -1
            ),
            &[platform(), partner(&w.acme), tenant(&w.acme_hq)],
            -1
        )
    );

    // Refused decisions write nothing (`assert_conflict` compares the whole table).
    assert_conflict(
        app,
        approve(app, &a.ta, &r.acme_hq, None),
        ALREADY_DECIDED,
        "approve again",
    )
    .await;
    assert_conflict(
        app,
        reject(app, &w.root, &by_pa, "again"),
        ALREADY_DECIDED,
        "reject again",
    )
    .await;
    assert_conflict(
        app,
        cancel(app, &w.root, &r.global),
        NOT_PENDING,
        "cancel again",
    )
    .await;
    assert_conflict(
        app,
        cancel(app, &a.ta, &by_ta),
        NOT_PENDING,
        "cancel again (tenant)",
    )
    .await;
    assert_eq!(
        tallies_match_lists(&w, &v, "after refused decisions").await,
        after_more
    );
}

/// A TENANT request counts under its tenant's partner as it is now: a transfer takes the
/// tenant's pending requests to the new partner, a decision after it takes one off the new
/// partner's; a deleted tenant's requests leave its partner's tally (still counted for the
/// platform and the tenant), a cancel there takes one off those two only, and a restore brings
/// the rest back to the partner.
#[tokio::test]
async fn tallies_follow_a_tenant_transferred_deleted_and_restored() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let v = views(&w).await;
    let root = &w.root;
    let pg = v.partners[1].1.clone();
    let lab_1 = create(app, root, tenant_req("Lab 1", &w.acme_lab, "WEB"))
        .await
        .id();
    let lab_2 = create(app, root, tenant_req("Lab 2", &w.acme_lab, "WEB"))
        .await
        .id();
    let lab_3 = create(app, root, tenant_req("Lab 3", &w.acme_lab, "WEB"))
        .await
        .id();
    let hq_1 = create(app, root, tenant_req("HQ 1", &w.acme_hq, "WEB"))
        .await
        .id();
    let _hq_2 = create(app, root, tenant_req("HQ 2", &w.acme_hq, "WEB"))
        .await
        .id();
    let _partner = create(app, root, partner_req("Acme", &w.acme, "WEB"))
        .await
        .id();
    let filed = tallies_match_lists(&w, &v, "after the creates").await;
    assert_eq!(filed[&partner(&w.acme)], 6);

    let transfer = app
        .patch(
            &format!("{TENANTS}/{}", w.acme_lab),
            root,
            json!({"partner_id": w.globex}),
        )
        .await;
    assert_eq!(transfer.status, StatusCode::OK, "{}", transfer.body);
    let transferred = tallies_match_lists(&w, &v, "after a transfer").await;
    let mut expected = filed.clone();
    *expected.get_mut(&partner(&w.acme)).unwrap() -= 3;
    *expected.get_mut(&partner(&w.globex)).unwrap() += 3;
    assert_eq!(transferred, expected);

    // The new partner's admin decides: one off the new partner's tally.
    assert_eq!(cancel(app, &pg, &lab_1).await.status, StatusCode::OK);
    let after_cancel = tallies_match_lists(&w, &v, "a cancel after the transfer").await;
    assert_eq!(
        after_cancel,
        moved(
            &transferred,
            &[platform(), partner(&w.globex), tenant(&w.acme_lab)],
            -1
        )
    );
    assert_eq!(reject(app, &pg, &lab_2, "no").await.status, StatusCode::OK);
    let after_reject = tallies_match_lists(&w, &v, "a rejection after the transfer").await;
    assert_eq!(
        after_reject,
        moved(
            &after_cancel,
            &[platform(), partner(&w.globex), tenant(&w.acme_lab)],
            -1
        )
    );

    let approved = approve(app, &pg, &lab_3, None).await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    let after_approve = tallies_match_lists(&w, &v, "an approval after the transfer").await;
    assert_eq!(
        after_approve,
        moved(
            &after_reject,
            &[platform(), partner(&w.globex), tenant(&w.acme_lab)],
            -1
        )
    );

    let deleted = app.delete(&format!("{TENANTS}/{}", w.acme_hq), root).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    let after_delete = tallies_match_lists(&w, &v, "after the tenant's delete").await;
    let mut expected = after_approve.clone();
    *expected.get_mut(&partner(&w.acme)).unwrap() -= 2;
    assert_eq!(after_delete, expected);

    // A cancel in the deleted tenant: the platform's and the tenant's tallies only.
    assert_eq!(cancel(app, root, &hq_1).await.status, StatusCode::OK);
    let after_cancel = tallies_match_lists(&w, &v, "a cancel in a deleted tenant").await;
    assert_eq!(
        after_cancel,
        moved(&after_delete, &[platform(), tenant(&w.acme_hq)], -1)
    );

    let restored = app
        .post(&format!("{TENANTS}/{}/restore", w.acme_hq), root, json!({}))
        .await;
    assert_eq!(restored.status, StatusCode::OK, "{}", restored.body);
    let after_restore = tallies_match_lists(&w, &v, "after the restore").await;
    assert_eq!(after_restore, moved(&after_cancel, &[partner(&w.acme)], 1));
}

/// Adds `delta` to the pending-tally minute of `at` in `scopes`, in the table directly.
async fn add_tally_minute(app: &TestApp, scopes: &[String], at: Timestamp, delta: i64) {
    let store = app.state.store();
    let day = at.unix().div_euclid(86_400);
    let minute = at.unix().rem_euclid(86_400) / 60;
    for scope in scopes {
        store
            .client()
            .update_item()
            .table_name(store.table())
            .key("PK", AttributeValue::S(format!("TALLY#RRQS#{scope}")))
            .key("SK", AttributeValue::S(format!("DAY#{day}")))
            .update_expression("ADD #m :d")
            .expression_attribute_names("#m", format!("m{minute}"))
            .expression_attribute_values(":d", AttributeValue::N(delta.to_string()))
            .send()
            .await
            .expect("the tally minute written");
    }
}

/// When a request created at `created_at` expires (and its tally minute).
fn expiry_of(created_at: Timestamp) -> Timestamp {
    shared::store::tally::minute_at_or_after(created_at.plus(Duration::from_secs(30 * 86_400)))
}

/// Files a TENANT request and rewrites it as if filed at `created_at`: its `created_at` in the
/// table and its tally minute with it (the tally is keyed by the expiry of the create).
async fn filed_at(w: &World, name: &str, created_at: Timestamp) -> String {
    let app = &w.app;
    let created = create(app, &w.root, tenant_req(name, &w.acme_hq, "WEB")).await;
    let was = Timestamp::parse(created.body["created_at"].as_str().unwrap()).unwrap();
    backdate(app, &created.id(), &created_at.to_string()).await;
    let scopes = [platform(), partner(&w.acme), tenant(&w.acme_hq)];
    add_tally_minute(app, &scopes, expiry_of(was), -1).await;
    add_tally_minute(app, &scopes, expiry_of(created_at), 1).await;
    created.id()
}

/// A request counts until its expiry minute, the minute it reads EXPIRED from: one filed 30
/// days and 90 s ago (its expiry a minute or two past) reads EXPIRED, is listed so, and no
/// longer counts; one filed 30 days less 90 s ago still reads PENDING and counts, and its
/// cancel takes it off at the minute it was counted at (from its stored `created_at`). A
/// decision on the expired one is refused and changes nothing. A request filed before the
/// tallies (no `tallied` mark, never counted) is listed PENDING but not counted, and its cancel
/// takes nothing off.
#[tokio::test]
async fn a_request_counts_until_its_expiry_minute_and_an_uncounted_one_is_never_taken_off() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let v = views(&w).await;
    let root = &w.root;
    let whole_ms = |t: Timestamp| {
        Timestamp::from_unix(t.unix())
            .unwrap()
            .plus(Duration::from_millis(t.unix_millis() % 1000))
    };
    let thirty_days = Duration::from_secs(30 * 86_400);
    let _fresh = create(app, root, tenant_req("Fresh", &w.acme_hq, "WEB"))
        .await
        .id();
    let expired = filed_at(
        &w,
        "Expired",
        whole_ms(
            Timestamp::now()
                .minus(thirty_days)
                .minus(Duration::from_secs(90)),
        ),
    )
    .await;
    let almost = filed_at(
        &w,
        "Almost",
        whole_ms(
            Timestamp::now()
                .minus(thirty_days)
                .plus(Duration::from_secs(90)),
        ),
    )
    .await;
    assert_eq!(status_of(app, root, &expired).await, "EXPIRED");
    assert_eq!(status_of(app, root, &almost).await, "PENDING");
    let expired_listed = app.get(&format!("{BASE}?status=EXPIRED"), root).await;
    assert_eq!(ids(&expired_listed), vec![expired.clone()]);
    let counted = tallies_match_lists(&w, &v, "one expired, one almost").await;
    assert_eq!(counted[&tenant(&w.acme_hq)], 2, "fresh and almost");
    assert_eq!(counted[&platform()], 2);

    assert_conflict(
        app,
        reject(app, root, &expired, "late"),
        EXPIRED,
        "reject expired",
    )
    .await;
    assert_conflict(
        app,
        approve(app, root, &expired, None),
        EXPIRED,
        "approve expired",
    )
    .await;

    assert_eq!(cancel(app, root, &almost).await.status, StatusCode::OK);
    let after_cancel = tallies_match_lists(&w, &v, "the almost-expired one cancelled").await;
    assert_eq!(
        after_cancel,
        moved(
            &counted,
            &[platform(), partner(&w.acme), tenant(&w.acme_hq)],
            -1
        )
    );

    // A request as filed before the tallies: no mark, nothing counted.
    let old = create(app, root, tenant_req("Old", &w.acme_hq, "WEB")).await;
    let was = Timestamp::parse(old.body["created_at"].as_str().unwrap()).unwrap();
    let store = app.state.store();
    store
        .client()
        .update_item()
        .table_name(store.table())
        .key("PK", AttributeValue::S(format!("RRQ#{}", old.id())))
        .key("SK", AttributeValue::S("RRQ".into()))
        .update_expression("REMOVE tallied")
        .send()
        .await
        .expect("the mark removed");
    let scopes = [platform(), partner(&w.acme), tenant(&w.acme_hq)];
    add_tally_minute(app, &scopes, expiry_of(was), -1).await;
    assert_eq!(status_of(app, root, &old.id()).await, "PENDING");
    let before = app.snapshot().await;
    let now = Timestamp::now().unix();
    let tallies_before: Vec<i64> = scopes.iter().map(|s| tally_at(&before, s, now)).collect();
    assert_eq!(cancel(app, root, &old.id()).await.status, StatusCode::OK);
    let after = app.snapshot().await;
    let tallies_after: Vec<i64> = scopes.iter().map(|s| tally_at(&after, s, now)).collect();
    assert_eq!(
        tallies_after, tallies_before,
        "an uncounted request taken off"
    );
    let windows = |table: &std::collections::BTreeMap<String, Value>| {
        table
            .iter()
            .filter(|(k, _)| k.starts_with("TALLY#"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(windows(&after), windows(&before), "no tally touched");
    assert_eq!(
        tallies_match_lists(&w, &v, "after the uncounted cancel").await,
        after_cancel
    );
}

/// Approve answers as the reference does — "the created application with client_id and
/// client_secret": `client_id` at the top level too (`{request, application, client_id,
/// client_secret}`), equal to the application's id. A literal `null` body (what a client sends
/// for "no body") is no notes, like no body at all.
#[tokio::test]
async fn an_approval_answers_the_client_id_at_the_top_and_takes_a_null_body() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    for (kind, confidential) in [("SERVICE", true), ("SPA", false)] {
        let id = create(app, &w.root, global(kind, kind)).await.id();
        let approved = app.post(&approve_path(&id), &w.root, Value::Null).await;
        assert_eq!(approved.status, StatusCode::OK, "{kind}: {}", approved.body);
        let b = &approved.body;
        assert_eq!(
            keys(b),
            ["application", "client_id", "client_secret", "request"]
                .iter()
                .map(|k| (*k).to_owned())
                .collect::<BTreeSet<String>>(),
            "{kind}"
        );
        assert_eq!(b["client_id"], b["application"]["id"], "{kind}");
        assert_eq!(b["client_id"], b["application"]["client_id"], "{kind}");
        assert_eq!(b["client_id"], b["request"]["application_id"], "{kind}");
        assert_eq!(b["request"]["decision_notes"], Value::Null, "{kind}");
        if confidential {
            assert_client_secret(&b["client_secret"]);
        } else {
            assert_eq!(b["client_secret"], Value::Null, "{kind}");
        }
    }
    // Notes still have to be text.
    let id = create(app, &w.root, global("Notes", "WEB")).await.id();
    assert_invalid(
        app,
        Method::POST,
        &approve_path(&id),
        &w.root,
        json!({"notes": 7}),
        "notes",
    )
    .await;
    let _ = (&w.acme, &w.globex, &w.acme_hq, &w.acme_lab, &w.globex_hq);
}

/// A request is filed as generated clients send it (SPEC §2): the owners its scope takes no
/// part in, and every optional field, as `null` — left out. A PARTNER request's null
/// `partner_id` is still missing (422 naming it).
#[tokio::test]
async fn request_fields_sent_as_null_are_left_out_but_a_required_owner_is_still_required() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let nulls = json!({
        "partner_id": null, "tenant_id": null, "description": null, "redirect_uris": null,
        "post_logout_redirect_uris": null, "allowed_origins": null, "requested_scopes": null,
        "grant_types": null, "contact_name": null, "organization_name": null, "website_url": null
    });
    let created = create(
        app,
        &w.root,
        with(global("Generated", "WEB"), nulls.clone()),
    )
    .await;
    let b = &created.body;
    assert_eq!(
        (&b["partner_id"], &b["tenant_id"]),
        (&Value::Null, &Value::Null)
    );
    assert_eq!(b["requested_scopes"], json!(["openid", "profile", "email"]));
    assert_eq!(
        b["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    let partner = create(
        app,
        &w.root,
        with(partner_req("P", &w.acme, "WEB"), json!({"tenant_id": null})),
    )
    .await;
    assert_eq!(partner.body["partner_id"], w.acme.as_str());
    let tenant = create(
        app,
        &w.root,
        with(
            tenant_req("T", &w.acme_hq, "WEB"),
            json!({"partner_id": null}),
        ),
    )
    .await;
    assert_eq!(tenant.body["partner_id"], w.acme.as_str());
    let missing = assert_invalid(
        app,
        Method::POST,
        BASE,
        &w.root,
        with(
            without(partner_req("P", &w.acme, "WEB"), "partner_id"),
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
            json!({"tenant_id": w.acme_hq, "partner_id": null}),
        ),
        "tenant_id",
    )
    .await;
}

/// A request keeps its own default grants (SPEC §4.8: `authorization_code refresh_token`,
/// whatever the type — never `client_credentials`), and its approval makes a valid application
/// from them: a public type never gets `client_credentials`, and one cannot ask for it.
#[tokio::test]
async fn requests_keep_their_default_grants_and_approvals_make_valid_applications() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    for kind in ["WEB", "SPA", "NATIVE", "SERVICE", "SAML_SP"] {
        let created = create(app, &w.root, global(kind, kind)).await;
        assert_eq!(
            created.body["grant_types"],
            json!(["authorization_code", "refresh_token"]),
            "{kind}"
        );
        let approved = approve(app, &w.root, &created.id(), None).await;
        assert_eq!(approved.status, StatusCode::OK, "{kind}: {}", approved.body);
        assert_eq!(
            approved.body["application"]["grant_types"],
            json!(["authorization_code", "refresh_token"]),
            "{kind}"
        );
    }
    for kind in ["SPA", "NATIVE"] {
        assert_invalid(
            app,
            Method::POST,
            BASE,
            &w.root,
            with(
                global(kind, kind),
                json!({"grant_types": ["client_credentials"]}),
            ),
            "grant_types",
        )
        .await;
    }
    let _ = (&w.acme, &w.globex, &w.acme_hq, &w.acme_lab, &w.globex_hq);
}
