//! Agents (SPEC §4.10, §4.14): CRUD and rotate-secret with the secret shown once and stored
//! only as a keyed hash, tiers and isolation (refusals write only a DENIED event), 422s that
//! write nothing, round trips; agents at their tenant's token endpoint (`client_credentials`,
//! claims, scope down-selection, refusals), the per-minute rate limit under concurrency, and
//! token exchange (RFC 8693).

use std::collections::HashSet;

use api_tests::*;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use data_encoding::{BASE64, BASE64URL_NOPAD};
use serde_json::{Value, json};
use shared::access::AdminRole;

const BASE: &str = "/api/v1/admin/agents";
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";

fn path(id: &str) -> String {
    format!("{BASE}/{id}")
}

fn endpoint(slug: &str) -> String {
    format!("/api/v1/auth/tenants/{slug}/oauth/token")
}

fn ids(reply: &Reply) -> Vec<String> {
    reply.body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a list: {}", reply.body))
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Creates an agent; returns (id, secret).
async fn create(app: &TestApp, token: &str, body: Value) -> (String, String) {
    let reply = app.post(BASE, token, body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let secret = assert_client_secret(&reply.body["client_secret"]);
    (reply.id(), secret)
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
        let pair = format!("{id}:{secret}");
        builder = builder.header(
            "authorization",
            format!("Basic {}", BASE64.encode(pair.as_bytes())),
        );
    }
    app.send(builder.body(Body::from(body)).unwrap()).await
}

async fn cc(app: &TestApp, slug: &str, id: &str, secret: &str, scope: Option<&str>) -> Reply {
    let mut form = vec![("grant_type", "client_credentials")];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    token_request(app, &endpoint(slug), &form, Some((id, secret))).await
}

fn claims(token: &str) -> Value {
    serde_json::from_slice(
        &BASE64URL_NOPAD
            .decode(token.split('.').nth(1).unwrap().as_bytes())
            .unwrap(),
    )
    .unwrap()
}

fn oauth_error(reply: &Reply) -> &str {
    reply.body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("{}", reply.body))
}

/// The whole table as one text: what must never hold a secret.
async fn table_text(app: &TestApp) -> String {
    serde_json::to_string(&app.snapshot().await).unwrap()
}

#[tokio::test]
async fn an_agent_is_created_read_updated_listed_rotated_and_deleted_in_few_round_trips() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let owner = app.put_user(&w.acme_hq, "owner@acme.test").await;
    let before = app.calls();
    let created = app
        .post(
            BASE,
            &w.root,
            json!({"tenant_id": w.acme_hq, "name": "Support Bot", "description": "Answers tickets",
                   "allowed_tools": ["files.*", "search", "search"], "allowed_scopes": ["tickets:read", "tickets:write"],
                   "rate_limit_rpm": 60, "owner_user_id": owner}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(app.calls() - before, 2, "session batch + one transaction");
    let id = created.id();
    assert!(id.starts_with("agt_") && id.len() == 30, "{id}");
    let secret = assert_client_secret(&created.body["client_secret"]);
    let mut shown = created.body.clone();
    shown.as_object_mut().unwrap().remove("client_secret");
    let created_at = shown["created_at"].clone();
    assert_eq!(
        shown,
        json!({"id": id, "client_id": id, "tenant_id": w.acme_hq, "name": "Support Bot",
               "description": "Answers tickets", "agent_type": "ASSISTANT", "status": "ACTIVE",
               "allowed_tools": ["files.*", "search"], "allowed_scopes": ["tickets:read", "tickets:write"],
               "rate_limit_rpm": 60, "owner_user_id": owner, "token_exchange_allowed": false,
               "created_at": created_at, "updated_at": created_at, "last_used_at": null})
    );

    let before = app.calls();
    let read = app.get(&path(&id), &w.root).await;
    assert_eq!(app.calls() - before, 1, "a read by id is one round trip");
    assert_eq!((read.status, &read.body), (StatusCode::OK, &shown));

    let before = app.calls();
    let updated = app
        .patch(
            &path(&id),
            &w.root,
            json!({"name": "Support Bot 2", "agent_type": "WORKFLOW", "status": "SUSPENDED",
                   "description": null, "rate_limit_rpm": null, "owner_user_id": null,
                   "allowed_tools": [], "token_exchange_allowed": true}),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(app.calls() - before, 2);
    for (field, value) in [
        ("name", json!("Support Bot 2")),
        ("agent_type", json!("WORKFLOW")),
        ("status", json!("SUSPENDED")),
        ("description", Value::Null),
        ("rate_limit_rpm", Value::Null),
        ("owner_user_id", Value::Null),
        ("allowed_tools", json!([])),
        ("allowed_scopes", json!(["tickets:read", "tickets:write"])),
        ("token_exchange_allowed", json!(true)),
    ] {
        assert_eq!(updated.body[field], value, "{field}");
    }

    let before = app.calls();
    let list = app
        .get(&format!("{BASE}?tenant_id={}", w.acme_hq), &w.root)
        .await;
    assert_eq!(app.calls() - before, 2, "session batch + one query");
    assert_eq!(list.body["items"], json!([updated.body]));
    assert_eq!(list.body["pagination"]["total"], 1);
    for (query, found) in [
        ("status=SUSPENDED", 1),
        ("status=ACTIVE", 0),
        ("agent_type=WORKFLOW", 1),
        ("agent_type=ASSISTANT", 0),
        ("search=BOT%202", 1),
        ("search=tickets", 0),
    ] {
        let r = app.get(&format!("{BASE}?{query}"), &w.root).await;
        assert_eq!(r.status, StatusCode::OK, "{query}: {}", r.body);
        assert_eq!(r.body["pagination"]["total"], found, "{query}");
        assert_eq!(ids(&r).len(), found, "{query}");
    }

    let before = app.calls();
    let rotated = app
        .post(
            &format!("{}/rotate-secret", path(&id)),
            &w.root,
            json!({"grace_period_seconds": 3600}),
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    assert_eq!(app.calls() - before, 2);
    let new_secret = assert_client_secret(&rotated.body["client_secret"]);
    assert_ne!(new_secret, secret);
    assert!(rotated.body["previous_secret_expires_at"].is_string());
    assert_eq!(rotated.body["id"], id.as_str());
    // No body at all: grace 0.
    let rotated_again = app
        .call(
            Method::POST,
            &format!("{}/rotate-secret", path(&id)),
            Some(&w.root),
            None,
        )
        .await;
    assert_eq!(
        rotated_again.status,
        StatusCode::OK,
        "{}",
        rotated_again.body
    );
    assert_eq!(
        rotated_again.body["previous_secret_expires_at"],
        Value::Null
    );
    let last_secret = assert_client_secret(&rotated_again.body["client_secret"]);

    // No secret anywhere in the table: not the shown ones, and no hash in audit events.
    let text = table_text(app).await;
    for s in [&secret, &new_secret, &last_secret] {
        assert!(!text.contains(s.as_str()), "a secret is stored in clear");
    }
    let table = app.snapshot().await;
    for event in table.values().filter(|i| i["SK"] == "EVENT") {
        assert!(!event.to_string().contains("secret_hash"), "{event}");
    }
    let agent_item = &table[&format!("AGENT#{id} AGENT")];
    assert_eq!(agent_item["secret_hash"].as_str().unwrap().len(), 64);

    let before = app.calls();
    let deleted = app.delete(&path(&id), &w.root).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    assert_eq!(app.calls() - before, 2);
    assert_eq!(
        app.get(&path(&id), &w.root).await.body,
        detail("Agent not found")
    );
    assert_eq!(
        app.delete(&path(&id), &w.root).await.status,
        StatusCode::NOT_FOUND
    );
    let list = app.get(BASE, &w.root).await;
    assert_eq!(list.body["pagination"]["total"], 0);

    let table = app.snapshot().await;
    let mut actions: Vec<&str> = table
        .values()
        .filter(|i| i["SK"] == "EVENT" && i["resource_id"] == id.as_str())
        .map(|i| {
            assert_eq!(i["resource_type"], "agent");
            assert_eq!(i["tenant_id"], w.acme_hq.as_str());
            assert_eq!(i["partner_id"], w.acme.as_str());
            assert_eq!(i["result"], "SUCCESS");
            i["action"].as_str().unwrap()
        })
        .collect();
    actions.sort_unstable();
    assert_eq!(
        actions,
        [
            "agent.create",
            "agent.delete",
            "agent.rotate_secret",
            "agent.rotate_secret",
            "agent.update"
        ]
    );
}

#[tokio::test]
async fn bad_bodies_owners_and_unknown_ids_are_refused_and_write_nothing() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let (id, _) = create(app, &w.root, json!({"tenant_id": w.acme_hq, "name": "A"})).await;
    let foreign_user = app.put_user(&w.acme_lab, "other@lab.test").await;
    let gone_user = app.put_user(&w.acme_hq, "gone@acme.test").await;
    app.mark_user_deleted(&gone_user).await;
    let base = || json!({"tenant_id": w.acme_hq, "name": "B"});
    let with = |field: &str, value: Value| {
        let mut body = base();
        body[field] = value;
        body
    };
    for (body, field) in [
        (json!({"tenant_id": w.acme_hq}), "name"),
        (json!({"name": "x"}), "tenant_id"),
        (with("tenant_id", json!("prt_x")), "tenant_id"),
        (with("name", json!("  ")), "name"),
        (with("agent_type", json!("ROBOT")), "agent_type"),
        (with("status", json!("DELETED")), "status"),
        (with("allowed_tools", json!(["a b"])), "allowed_tools"),
        (with("allowed_tools", json!(["files.**"])), "allowed_tools"),
        (
            with("allowed_tools", json!(["x".repeat(129)])),
            "allowed_tools",
        ),
        (
            with(
                "allowed_tools",
                json!((0..101).map(|i| format!("t{i}")).collect::<Vec<_>>()),
            ),
            "allowed_tools",
        ),
        (with("allowed_scopes", json!(["a\"b"])), "allowed_scopes"),
        (
            with(
                "allowed_scopes",
                json!((0..51).map(|i| format!("s{i}")).collect::<Vec<_>>()),
            ),
            "allowed_scopes",
        ),
        (with("rate_limit_rpm", json!(0)), "rate_limit_rpm"),
        (with("rate_limit_rpm", json!(100_001)), "rate_limit_rpm"),
        (with("owner_user_id", json!("nobody")), "owner_user_id"),
        (with("owner_user_id", json!(foreign_user)), "owner_user_id"),
        (with("owner_user_id", json!(gone_user)), "owner_user_id"),
        (
            with("owner_user_id", json!("usr_00000000000000000000000000")),
            "owner_user_id",
        ),
        (
            with("token_exchange_allowed", json!("yes")),
            "token_exchange_allowed",
        ),
        (with("client_secret", json!("mine")), "client_secret"),
        (with("description", json!("x".repeat(1001))), "description"),
    ] {
        assert_invalid(app, Method::POST, BASE, &w.root, body, field).await;
    }
    for (body, field) in [
        (json!({"tenant_id": w.acme_lab}), "tenant_id"),
        (json!({"name": null}), "name"),
        (json!({"status": null}), "status"),
        (json!({"owner_user_id": foreign_user}), "owner_user_id"),
        (json!({"owner_user_id": gone_user}), "owner_user_id"),
        (json!({"rate_limit_rpm": 0}), "rate_limit_rpm"),
        (json!({"allowed_tools": null}), "allowed_tools"),
    ] {
        assert_invalid(app, Method::PATCH, &path(&id), &w.root, body, field).await;
    }
    for grace in [json!(-1), json!(604_801), json!(1.5)] {
        assert_invalid(
            app,
            Method::POST,
            &format!("{}/rotate-secret", path(&id)),
            &w.root,
            json!({"grace_period_seconds": grace}),
            "grace_period_seconds",
        )
        .await;
    }
    let before = app.snapshot().await;
    for raw in [
        "agt_x",
        "idp_01kb2z8hqv3m4n5p6r7s8t9w0g",
        "agt_00000000000000000000000000",
    ] {
        assert_eq!(
            app.get(&path(raw), &w.root).await.body,
            detail("Agent not found")
        );
        assert_eq!(
            app.delete(&path(raw), &w.root).await.status,
            StatusCode::NOT_FOUND
        );
    }
    let unknown_tenant = app
        .post(
            BASE,
            &w.root,
            json!({"tenant_id": "tnt_00000000000000000000000000", "name": "x"}),
        )
        .await;
    assert_eq!(unknown_tenant.body, detail("Tenant not found"));
    assert_eq!(app.snapshot().await, before);
    // A live owner of the tenant is fine, on create and on update; and grace 604800 too.
    let owner = app.put_user(&w.acme_hq, "owner@acme.test").await;
    create(app, &w.root, with("owner_user_id", json!(owner))).await;
    let r = app
        .patch(&path(&id), &w.root, json!({"owner_user_id": owner}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app
        .post(
            &format!("{}/rotate-secret", path(&id)),
            &w.root,
            json!({"grace_period_seconds": 604_800}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[tokio::test]
async fn every_tier_reaches_only_the_agents_of_its_tenants() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let body = |t: &str, n: &str| json!({"tenant_id": t, "name": n});
    let (hq, _) = create(app, &w.root, body(&w.acme_hq, "HQ bot")).await;
    let (lab, _) = create(app, &w.root, body(&w.acme_lab, "Lab bot")).await;
    let (globex, _) = create(app, &w.root, body(&w.globex_hq, "Globex bot")).await;
    let pa = app
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
    let ta = app
        .admin_token(
            "ta@acme.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_hq),
        )
        .await;
    let ta_lab = app
        .admin_token(
            "ta@lab.acme.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_lab),
        )
        .await;
    let cases = [
        (
            &pa,
            vec![&hq, &lab],
            vec![&globex],
            vec![&w.acme_hq, &w.acme_lab],
            vec![&w.globex_hq],
        ),
        (
            &pa_globex,
            vec![&globex],
            vec![&hq, &lab],
            vec![&w.globex_hq],
            vec![&w.acme_hq, &w.acme_lab],
        ),
        (
            &ta,
            vec![&hq],
            vec![&lab, &globex],
            vec![&w.acme_hq],
            vec![&w.acme_lab, &w.globex_hq],
        ),
        (
            &ta_lab,
            vec![&lab],
            vec![&hq, &globex],
            vec![&w.acme_lab],
            vec![&w.acme_hq, &w.globex_hq],
        ),
    ];
    for (token, inside, outside, own_tenants, foreign_tenants) in cases {
        let list = app.get(BASE, token).await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.body);
        assert_eq!(list.body["pagination"]["total"], inside.len());
        let listed: HashSet<String> = ids(&list).into_iter().collect();
        let expected: HashSet<String> = inside.iter().map(|s| (*s).clone()).collect();
        assert_eq!(listed, expected);
        for id in ids(&app.get(&format!("{BASE}?search=bot"), token).await) {
            assert!(inside.iter().any(|i| **i == id), "search leaked {id}");
        }
        for t in &own_tenants {
            assert_eq!(
                app.get(&format!("{BASE}?tenant_id={t}"), token)
                    .await
                    .status,
                StatusCode::OK
            );
        }
        for id in &inside {
            let r = app.get(&path(id), token).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        }
        let before = app.snapshot().await;
        for t in &foreign_tenants {
            let r = app.get(&format!("{BASE}?tenant_id={t}"), token).await;
            assert_eq!(
                (r.status, r.body),
                (StatusCode::FORBIDDEN, detail("Access denied"))
            );
            let created = app.post(BASE, token, body(t, "Mine")).await;
            assert_eq!(
                (created.status, created.body),
                (StatusCode::FORBIDDEN, detail("Access denied"))
            );
        }
        for id in &outside {
            let refused = [
                app.get(&path(id), token).await,
                app.patch(&path(id), token, json!({"name": "x"})).await,
                app.post(&format!("{}/rotate-secret", path(id)), token, json!({}))
                    .await,
                app.delete(&path(id), token).await,
            ];
            for (i, reply) in refused.iter().enumerate() {
                assert_eq!(
                    (reply.status, &reply.body),
                    (StatusCode::FORBIDDEN, &detail("Access denied")),
                    "route {i} on {id}"
                );
                assert!(reply.body.get("client_secret").is_none());
            }
        }
        // Only DENIED events were written by the refusals: one per refused write.
        let new = added_since(app, &before).await;
        assert!(
            new.iter()
                .all(|i| i["SK"] == "EVENT" && i["result"] == "DENIED"),
            "{new:?}"
        );
        assert_eq!(new.len(), foreign_tenants.len() + 3 * outside.len());
        for event in &new {
            assert_eq!(event["resource_type"], "agent");
        }
    }
    // Within reach, every write works.
    let (mine, _) = create(app, &ta, body(&w.acme_hq, "Mine")).await;
    assert_eq!(
        app.patch(&path(&mine), &ta, json!({"name": "Mine 2"}))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.patch(&path(&lab), &pa, json!({"status": "SUSPENDED"}))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.post(&format!("{}/rotate-secret", path(&lab)), &pa, json!({}))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.delete(&path(&mine), &pa).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.get(BASE, &w.root).await.body["pagination"]["total"], 3);
}

#[tokio::test]
async fn an_agent_gets_client_credentials_tokens_at_its_tenant_only() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let (id, secret) = create(
        app,
        &w.root,
        json!({"tenant_id": w.acme_hq, "name": "Bot", "allowed_tools": ["files.*", "search"],
               "allowed_scopes": ["tickets:read", "tickets:write"], "rate_limit_rpm": 100}),
    )
    .await;
    let before = app.calls();
    let reply = cc(app, "acme-hq", &id, &secret, Some("tickets:read")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    // slug marker; tenant; agent + the tenant's partner (one batch); rate slot; last_used_at
    // (alongside the signing)
    assert_eq!(app.calls() - before, 5);
    assert_eq!(reply.body["token_type"], "Bearer");
    assert_eq!(reply.body["scope"], "tickets:read");
    assert!(reply.body.get("refresh_token").is_none());
    assert!(reply.body.get("issued_token_type").is_none());
    assert_eq!(reply.headers["cache-control"], "no-store");
    let token = reply.body["access_token"].as_str().unwrap();
    let c = claims(token);
    assert_eq!(c["sub"], id.as_str());
    assert_eq!(c["client_id"], id.as_str());
    assert_eq!(c["scope"], "tickets:read");
    assert_eq!(c["tools"], json!(["files.*", "search"]));
    assert_eq!(c["rate_limit_rpm"], 100);
    assert_eq!(c["tenant_id"], w.acme_hq.as_str());
    assert_eq!(c["token_type"], "client_credentials");
    assert!(c.get("act").is_none() && c.get("platform_token").is_none());
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 900);
    // The admin API refuses it.
    let refused = app.get("/api/v1/admin/tenants", token).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // last_used_at is recorded, and not rewritten within the minute.
    let used = app.get(&path(&id), &w.root).await.body["last_used_at"].clone();
    assert!(used.is_string(), "{used}");
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", id.as_str()),
        ("client_secret", secret.as_str()),
    ];
    let before = app.calls();
    let again = token_request(app, &endpoint("acme-hq"), &form, None).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(
        app.calls() - before,
        4,
        "no second last_used_at write within the minute"
    );
    assert_eq!(
        again.body["scope"], "tickets:read tickets:write",
        "no scope asked: all"
    );
    assert_eq!(
        app.get(&path(&id), &w.root).await.body["last_used_at"],
        used
    );

    // Refusals.
    let bad = cc(
        app,
        "acme-hq",
        &id,
        &secret,
        Some("tickets:read admin:write"),
    )
    .await;
    assert_eq!(
        (bad.status, oauth_error(&bad)),
        (StatusCode::BAD_REQUEST, "invalid_scope")
    );
    let wrong = cc(app, "acme-hq", &id, "not-the-secret", None).await;
    assert_eq!(
        (wrong.status, oauth_error(&wrong)),
        (StatusCode::UNAUTHORIZED, "invalid_client")
    );
    assert!(wrong.headers.contains_key("www-authenticate"));
    for slug in ["acme-lab", "globex-hq"] {
        let r = cc(app, slug, &id, &secret, None).await;
        assert_eq!(
            (r.status, oauth_error(&r)),
            (StatusCode::UNAUTHORIZED, "invalid_client"),
            "{slug}"
        );
    }
    let platform = token_request(
        app,
        "/api/v1/platform/oauth/token",
        &[("grant_type", "client_credentials")],
        Some((&id, &secret)),
    )
    .await;
    assert_eq!(
        (platform.status, oauth_error(&platform)),
        (StatusCode::UNAUTHORIZED, "invalid_client")
    );
    let unknown = cc(
        app,
        "acme-hq",
        "agt_00000000000000000000000000",
        &secret,
        None,
    )
    .await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    let grant = token_request(
        app,
        &endpoint("acme-hq"),
        &[("grant_type", "password")],
        Some((&id, &secret)),
    )
    .await;
    assert_eq!(
        (grant.status, oauth_error(&grant)),
        (StatusCode::BAD_REQUEST, "unsupported_grant_type")
    );

    // A rotation with grace keeps the old secret working; without, it stops.
    let rotated = app
        .post(
            &format!("{}/rotate-secret", path(&id)),
            &w.root,
            json!({"grace_period_seconds": 600}),
        )
        .await;
    let new_secret = rotated.body["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(
        cc(app, "acme-hq", &id, &secret, None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        cc(app, "acme-hq", &id, &new_secret, None).await.status,
        StatusCode::OK
    );
    let rotated = app
        .post(&format!("{}/rotate-secret", path(&id)), &w.root, json!({}))
        .await;
    let newest = rotated.body["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(
        cc(app, "acme-hq", &id, &new_secret, None).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        cc(app, "acme-hq", &id, &newest, None).await.status,
        StatusCode::OK
    );

    // Suspended, then deleted: invalid_client at once.
    app.patch(&path(&id), &w.root, json!({"status": "SUSPENDED"}))
        .await;
    let r = cc(app, "acme-hq", &id, &newest, None).await;
    assert_eq!(
        (r.status, oauth_error(&r)),
        (StatusCode::UNAUTHORIZED, "invalid_client")
    );
    app.patch(&path(&id), &w.root, json!({"status": "ACTIVE"}))
        .await;
    assert_eq!(
        cc(app, "acme-hq", &id, &newest, None).await.status,
        StatusCode::OK
    );
    app.delete(&path(&id), &w.root).await;
    let r = cc(app, "acme-hq", &id, &newest, None).await;
    assert_eq!(
        (r.status, oauth_error(&r)),
        (StatusCode::UNAUTHORIZED, "invalid_client")
    );
}

/// 50 concurrent token requests for an agent allowed 10 a minute: exactly 10 tokens and 40
/// × 429 `slow_down` with `Retry-After` up to the next minute.
#[tokio::test]
async fn the_rate_limit_holds_under_concurrent_token_requests() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let (id, secret) = create(
        app,
        &w.root,
        json!({"tenant_id": w.acme_hq, "name": "Limited", "rate_limit_rpm": 10}),
    )
    .await;
    // Not across a minute boundary: the counter is per minute.
    let second = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        % 60;
    if second > 50 {
        tokio::time::sleep(std::time::Duration::from_secs(61 - second)).await;
    }
    let replies = join_all(
        (0..50)
            .map(|_| cc(app, "acme-hq", &id, &secret, None))
            .collect(),
    )
    .await;
    let ok = replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    let limited: Vec<&Reply> = replies
        .iter()
        .filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .collect();
    eprintln!(
        "rate limit 10/min, 50 concurrent: {ok} × 200, {} × 429",
        limited.len()
    );
    assert_eq!((ok, limited.len()), (10, 40));
    for r in limited {
        assert_eq!(oauth_error(r), "slow_down");
        let after: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&after), "{after}");
    }
    // One counter item, with its TTL; an unlimited agent writes none.
    let table = app.snapshot().await;
    let counters: Vec<&Value> = table
        .iter()
        .filter(|(k, _)| k.starts_with(&format!("AGENT_RATE#{id} MINUTE#")))
        .map(|(_, v)| v)
        .collect();
    assert_eq!(counters.len(), 1);
    assert_eq!(counters[0]["count"], 10);
    assert!(counters[0]["ttl"].is_number());
}

#[tokio::test]
async fn an_agent_exchanges_a_user_token_of_its_tenant_only() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let (id, secret) = create(
        app,
        &w.root,
        json!({"tenant_id": w.acme_hq, "name": "Delegate", "allowed_scopes": ["tickets:read", "tickets:write"],
               "allowed_tools": ["search"], "token_exchange_allowed": true}),
    )
    .await;
    let (plain, plain_secret) = create(
        app,
        &w.root,
        json!({"tenant_id": w.acme_hq, "name": "Plain"}),
    )
    .await;
    let ta = app
        .admin_token(
            "ta@acme.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_hq),
        )
        .await;
    let ta_lab = app
        .admin_token(
            "ta@lab.acme.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_lab),
        )
        .await;
    let exchange = |subject: String,
                    agent: String,
                    agent_secret: String,
                    scope: Option<&'static str>| async move {
        let mut form = vec![
            ("grant_type", TOKEN_EXCHANGE.to_owned()),
            ("subject_token", subject),
            ("subject_token_type", ACCESS_TOKEN.to_owned()),
        ];
        if let Some(scope) = scope {
            form.push(("scope", scope.to_owned()));
        }
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        token_request(
            app,
            &endpoint("acme-hq"),
            &form,
            Some((&agent, &agent_secret)),
        )
        .await
    };
    let reply = exchange(ta.clone(), id.clone(), secret.clone(), Some("tickets:read")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["issued_token_type"], ACCESS_TOKEN);
    assert_eq!(reply.body["scope"], "tickets:read");
    let c = claims(reply.body["access_token"].as_str().unwrap());
    let user = claims(&ta)["sub"].as_str().unwrap().to_owned();
    assert_eq!(c["sub"], user.as_str());
    assert_eq!(c["act"], json!({"sub": id}));
    assert_eq!(c["client_id"], id.as_str());
    assert_eq!(c["tools"], json!(["search"]));
    assert_eq!(c["tenant_id"], w.acme_hq.as_str());
    assert!(
        c["exp"].as_i64() <= claims(&ta)["exp"].as_i64(),
        "never outlives the user's token"
    );
    // The exchanged token is no admin token.
    let refused = app
        .get(
            "/api/v1/admin/tenants",
            reply.body["access_token"].as_str().unwrap(),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let r = exchange(ta.clone(), id.clone(), secret.clone(), Some("admin:write")).await;
    assert_eq!(
        (r.status, oauth_error(&r)),
        (StatusCode::BAD_REQUEST, "invalid_scope")
    );
    let r = exchange(ta.clone(), plain.clone(), plain_secret.clone(), None).await;
    assert_eq!(
        (r.status, oauth_error(&r)),
        (StatusCode::BAD_REQUEST, "unauthorized_client")
    );
    let r = exchange(ta_lab.clone(), id.clone(), secret.clone(), None).await;
    assert_eq!(
        (r.status, oauth_error(&r)),
        (StatusCode::BAD_REQUEST, "invalid_grant"),
        "another tenant's user"
    );
    let r = exchange(w.root.clone(), id.clone(), secret.clone(), None).await;
    assert_eq!(
        (r.status, oauth_error(&r)),
        (StatusCode::BAD_REQUEST, "invalid_grant"),
        "the platform's admin"
    );
    let r = exchange("not.a.token".into(), id.clone(), secret.clone(), None).await;
    assert_eq!(
        (r.status, oauth_error(&r)),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    // The user's own token, expired (re-signed by the deployment's key with `exp` past).
    let mut expired = claims(&ta);
    let now = claims(&ta)["iat"].as_i64().unwrap();
    expired["iat"] = json!(now - 1000);
    expired["nbf"] = json!(now - 1000);
    expired["exp"] = json!(now - 100);
    let expired = app.state.keys().sign(&expired).await.unwrap();
    let r = exchange(expired, id.clone(), secret.clone(), None).await;
    assert_eq!(
        (r.status, oauth_error(&r)),
        (StatusCode::BAD_REQUEST, "invalid_grant"),
        "expired"
    );
    let mut tampered = ta.clone();
    tampered.push('x');
    let r = exchange(tampered, id.clone(), secret.clone(), None).await;
    assert_eq!(
        (r.status, oauth_error(&r)),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    let logout = app.post("/api/v1/admin/auth/logout", &ta, json!({})).await;
    assert_eq!(logout.status, StatusCode::OK, "{}", logout.body);
    let r = exchange(ta.clone(), id.clone(), secret.clone(), None).await;
    assert_eq!(
        (r.status, oauth_error(&r)),
        (StatusCode::BAD_REQUEST, "invalid_grant"),
        "a revoked session"
    );
    let r = token_request(
        app,
        &endpoint("acme-hq"),
        &[
            ("grant_type", TOKEN_EXCHANGE),
            ("subject_token_type", ACCESS_TOKEN),
        ],
        Some((&id, &secret)),
    )
    .await;
    assert_eq!(
        (r.status, oauth_error(&r)),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
}

/// Sends `event` to the function and the same request to the local server: both answer alike.
async fn same(
    app: &TestApp,
    function: &mut api_tests::lambda::LambdaFunction,
    event: api_tests::lambda::HttpApiEvent,
) -> Reply {
    let lambda = function.invoke(&event).await;
    let local = app.send(event.to_request()).await;
    assert_eq!(
        (lambda.status, &lambda.body),
        (local.status, &local.body),
        "function (left) and local server (right) differ for {}",
        event.to_json()
    );
    lambda
}

/// The deployable binaries answer API Gateway events as the local server does: the agents
/// function (reads, 404, 422, 401, a create whose secret works at the token endpoint) and the
/// oauth function granting an agent's token.
#[tokio::test]
async fn lambda_the_agents_binary_answers_api_gateway_events_as_the_local_server_does() {
    use api_tests::lambda::{HttpApiEvent, LambdaFunction};
    let Some(w) = world().await else { return };
    let app = &w.app;
    let Some(mut function) = LambdaFunction::start(app, "agents").await else {
        return;
    };
    let collection = "ANY /api/v1/admin/agents";
    let item = "ANY /api/v1/admin/agents/{proxy+}";
    let (id, _) = create(app, &w.root, json!({"tenant_id": w.acme_hq, "name": "Bot"})).await;
    let read = HttpApiEvent::new("GET", item, &path(&id))
        .path_parameter("proxy", &id)
        .bearer(&w.root);
    let reply = same(app, &mut function, read).await;
    assert_eq!((reply.status, reply.id()), (StatusCode::OK, id.clone()));
    let list = HttpApiEvent::new(
        "GET",
        collection,
        &format!("{BASE}?tenant_id={}", w.acme_hq),
    )
    .bearer(&w.root);
    assert_eq!(same(app, &mut function, list).await.status, StatusCode::OK);
    let unknown = "agt_00000000000000000000000000";
    let missing = HttpApiEvent::new("GET", item, &path(unknown))
        .path_parameter("proxy", unknown)
        .bearer(&w.root);
    assert_eq!(
        same(app, &mut function, missing).await.status,
        StatusCode::NOT_FOUND
    );
    let invalid = HttpApiEvent::new("POST", collection, BASE)
        .bearer(&w.root)
        .json_body(&json!({"tenant_id": w.acme_hq, "name": "x", "rate_limit_rpm": 0}));
    assert_eq!(
        same(app, &mut function, invalid).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let anonymous = HttpApiEvent::new("GET", collection, BASE);
    assert_eq!(
        same(app, &mut function, anonymous).await.status,
        StatusCode::UNAUTHORIZED
    );

    let create_event = HttpApiEvent::new("POST", collection, BASE)
        .bearer(&w.root)
        .json_body(&json!({"tenant_id": w.acme_hq, "name": "Lambda bot", "allowed_scopes": ["a"], "rate_limit_rpm": 5}));
    let created = function.invoke(&create_event).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let secret = assert_client_secret(&created.body["client_secret"]);
    let agent = created.id();
    let rotate_path = format!("{}/rotate-secret", path(&agent));
    let rotate = HttpApiEvent::new("POST", item, &rotate_path)
        .path_parameter("proxy", &format!("{agent}/rotate-secret"))
        .bearer(&w.root);
    let rotated = function.invoke(&rotate).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    let secret_after = assert_client_secret(&rotated.body["client_secret"]);
    assert_ne!(secret, secret_after);
    drop(function);

    let Some(mut oauth) = LambdaFunction::start(app, "oauth").await else {
        return;
    };
    let form: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("grant_type", "client_credentials"),
            ("client_id", agent.as_str()),
            ("client_secret", secret_after.as_str()),
        ])
        .finish();
    let token_path = endpoint("acme-hq");
    let grant = HttpApiEvent::new(
        "POST",
        "POST /api/v1/auth/tenants/{tenant_slug}/oauth/token",
        &token_path,
    )
    .path_parameter("tenant_slug", "acme-hq")
    .header("content-type", "application/x-www-form-urlencoded")
    .text_body(&form);
    let granted = oauth.invoke(&grant).await;
    assert_eq!(granted.status, StatusCode::OK, "{}", granted.body);
    let c = claims(granted.body["access_token"].as_str().unwrap());
    assert_eq!(
        (&c["sub"], &c["rate_limit_rpm"]),
        (&json!(agent), &json!(5))
    );
}

/// A partner admin is judged by the partner the agent's tenant belongs to now; the agent's
/// tokens keep working at its tenant (the tenant, not the partner, is the issuer).
#[tokio::test]
async fn a_tenant_transfer_moves_the_reach_over_its_agents() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let (lab, secret) = create(
        app,
        &w.root,
        json!({"tenant_id": w.acme_lab, "name": "Lab bot"}),
    )
    .await;
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
    assert_eq!(app.get(&path(&lab), &pa_acme).await.status, StatusCode::OK);
    let before = app.calls();
    assert_eq!(
        app.get(&path(&lab), &pa_globex).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.calls() - before,
        2,
        "a partner admin's read also reads the tenant"
    );
    app.move_tenant(&w.root, &w.acme_lab, &w.globex).await;
    for reply in [
        app.get(&path(&lab), &pa_acme).await,
        app.patch(&path(&lab), &pa_acme, json!({"name": "x"})).await,
        app.post(
            &format!("{}/rotate-secret", path(&lab)),
            &pa_acme,
            json!({}),
        )
        .await,
    ] {
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
    }
    let renamed = app
        .patch(&path(&lab), &pa_globex, json!({"name": "Lab 2"}))
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
    for (token, expected) in [(&pa_acme, 0), (&pa_globex, 1)] {
        for query in ["", "?search=lab"] {
            let list = app.get(&format!("{BASE}{query}"), token).await;
            assert_eq!(list.body["pagination"]["total"], expected, "{query}");
        }
    }
    let updates = |events: Vec<Value>| {
        events
            .iter()
            .filter(|e| e["action"] == "agent.update" && e["result"] == "SUCCESS")
            .count()
    };
    assert_eq!(updates(app.audit_events_of_partner(&w.globex).await), 1);
    assert_eq!(updates(app.audit_events_of_partner(&w.acme).await), 0);
    assert_eq!(
        cc(app, "acme-lab", &lab, &secret, None).await.status,
        StatusCode::OK
    );
}

/// A partner's stored agent count, and the sum of the agent counters of `tenants` (its live
/// ones).
async fn partner_agents(app: &TestApp, partner: &str, tenants: &[&str]) -> (i64, i64) {
    app.partner_count(shared::store::tally::PartnerCount::Agents, partner, tenants)
        .await
}

#[tokio::test]
async fn a_partners_agent_count_is_its_live_tenants_agents_through_every_write() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let pa = app
        .admin_token("pa@acme.test", AdminRole::PartnerAdmin, Some(&w.acme), None)
        .await;
    let acme = [w.acme_hq.as_str(), w.acme_lab.as_str()];
    let agent = |tenant: &str| json!({"tenant_id": tenant, "name": "Bot"});
    create(app, &pa, agent(&w.acme_hq)).await;
    let (doomed, _) = create(app, &pa, agent(&w.acme_hq)).await;
    let (lab, _) = create(app, &pa, agent(&w.acme_lab)).await;
    assert_eq!(partner_agents(app, &w.acme, &acme).await, (3, 3));

    // Refused writes count nothing: an owner from another tenant, a foreign tenant.
    let stranger = app.put_user(&w.acme_lab, "lab@acme.test").await;
    let bad_owner = app
        .post(
            BASE,
            &pa,
            json!({"tenant_id": w.acme_hq, "name": "Bot", "owner_user_id": stranger}),
        )
        .await;
    assert_eq!(
        bad_owner.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        bad_owner.body
    );
    let foreign = app.post(BASE, &pa, agent(&w.globex_hq)).await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN, "{}", foreign.body);
    assert_eq!(partner_agents(app, &w.acme, &acme).await, (3, 3));
    assert_eq!(
        partner_agents(app, &w.globex, &[&w.globex_hq]).await,
        (0, 0)
    );

    assert_eq!(
        app.delete(&path(&doomed), &pa).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(partner_agents(app, &w.acme, &acme).await, (2, 2));
    assert_eq!(
        app.delete(&path(&doomed), &pa).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(partner_agents(app, &w.acme, &acme).await, (2, 2));

    // A deleted tenant's agents count under no partner: deleting one moves only its tenant's
    // counter; the tenant's restore brings back what is left.
    let tenant = format!("/api/v1/admin/tenants/{}", w.acme_lab);
    assert_eq!(
        app.delete(&tenant, &w.root).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(partner_agents(app, &w.acme, &[&w.acme_hq]).await, (1, 1));
    assert_eq!(
        app.delete(&path(&lab), &w.root).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(partner_agents(app, &w.acme, &[&w.acme_hq]).await, (1, 1));
    assert_eq!(partner_agents(app, &w.acme, &[&w.acme_lab]).await.1, 0);
    let back = app
        .post(&format!("{tenant}/restore"), &w.root, json!({}))
        .await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.body);
    assert_eq!(partner_agents(app, &w.acme, &acme).await, (1, 1));
    create(app, &pa, agent(&w.acme_lab)).await;
    assert_eq!(partner_agents(app, &w.acme, &acme).await, (2, 2));
}

/// What you read, you may send back (SPEC §2): an agent's whole GET body with a new name,
/// PATCHed back, is a 200 — its `tenant_id` and `client_id` as read are accepted and ignored,
/// and so is what a client never sets (`id`, timestamps, `last_used_at`); its owner, limit and
/// description come back unchanged. Another tenant or client id (or `null` for them: the agent
/// has both) is a 422 naming it, and writes nothing.
#[tokio::test]
async fn a_patch_may_send_back_the_agent_it_read_and_only_that() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let owner = app.put_user(&w.acme_hq, "owner@acme.test").await;
    let (id, _) = create(
        app,
        &w.root,
        json!({"tenant_id": w.acme_hq, "name": "Bot", "description": "Helps",
               "allowed_tools": ["search"], "allowed_scopes": ["tickets:read"],
               "rate_limit_rpm": 60, "owner_user_id": owner}),
    )
    .await;
    let read = app.get(&path(&id), &w.root).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    let mut body = read.body.clone();
    body["name"] = json!("Bot 2");
    let updated = app.patch(&path(&id), &w.root, body).await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(updated.body["name"], "Bot 2");
    for field in [
        "id",
        "client_id",
        "tenant_id",
        "description",
        "agent_type",
        "status",
        "allowed_tools",
        "allowed_scopes",
        "rate_limit_rpm",
        "owner_user_id",
        "token_exchange_allowed",
        "created_at",
    ] {
        assert_eq!(updated.body[field], read.body[field], "{field}");
    }
    let other = create(
        app,
        &w.root,
        json!({"tenant_id": w.acme_hq, "name": "Other"}),
    )
    .await
    .0;
    for (body, field) in [
        (json!({"tenant_id": w.acme_lab}), "tenant_id"),
        (json!({"tenant_id": null}), "tenant_id"),
        (json!({"client_id": other}), "client_id"),
        (json!({"client_id": null}), "client_id"),
        (json!({"client_id": 7}), "client_id"),
    ] {
        assert_invalid(app, Method::PATCH, &path(&id), &w.root, body, field).await;
    }
    let both = assert_invalid(
        app,
        Method::PATCH,
        &path(&id),
        &w.root,
        json!({"tenant_id": w.acme_lab, "client_id": other}),
        "tenant_id",
    )
    .await;
    assert_eq!(
        locs(&both),
        vec![json!(["body", "tenant_id"]), json!(["body", "client_id"])]
    );
    let _ = (&w.acme, &w.globex, &w.globex_hq);
}
