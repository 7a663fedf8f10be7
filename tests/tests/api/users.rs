//! Users (SPEC §4.4): CRUD with every field, per-tenant email uniqueness (races included),
//! password policy and resets, limits and counters, lists across tiers (sharded platform list,
//! cursors), isolation of every route, round trips.

use std::collections::BTreeSet;

use api_tests::*;
use axum::http::StatusCode;
use serde_json::{Value, json};
use shared::access::AdminRole;

const BASE: &str = "/api/v1/admin/users";
const TENANTS: &str = "/api/v1/admin/tenants";
const PARTNERS: &str = "/api/v1/admin/partners";
const GOOD_PASSWORD: &str = "a-long-enough-password";

async fn create_user(app: &TestApp, token: &str, tenant: &str, email: &str) -> String {
    let reply = app
        .post(BASE, token, json!({"tenant_id": tenant, "email": email}))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.id()
}

async fn user_count(app: &TestApp, token: &str, tenant: &str) -> Value {
    app.get(&format!("{TENANTS}/{tenant}"), token).await.body["user_count"].clone()
}

fn ids(reply: &Reply) -> Vec<String> {
    reply.body["items"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|u| u["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn a_user_is_created_with_every_field_read_back_and_patched() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let manager = create_user(app, &w.root, &w.acme_hq, "boss@acme.test").await;
    let before = app.calls();
    let created = app
        .post(BASE, &w.root, json!({
            "tenant_id": w.acme_hq, "email": "Ann.Lee@ACME.test", "first_name": "Ann", "last_name": "Lee",
            "display_name": "Ann L.", "title": "CTO", "department": "Engineering", "manager_id": manager,
            "phone": "+1 555 0100", "status": "LOCKED", "identity_source": "SAML", "email_verified": true,
            "mfa_enabled": true, "custom_attributes": {"cost_center": 42, "tags": ["a"]},
            "password": GOOD_PASSWORD
        }))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    // Session check with the tenant, the partner (its limit), then the transaction.
    assert_eq!(app.calls() - before, 3);
    let body = &created.body;
    assert!(body["id"].as_str().unwrap().starts_with("usr_"));
    assert_eq!(body["email"], "ann.lee@acme.test");
    assert_eq!(body["tenant_id"], w.acme_hq.as_str());
    assert_eq!(body["manager_id"], manager.as_str());
    assert_eq!(body["status"], "LOCKED");
    assert_eq!(body["identity_source"], "SAML");
    assert_eq!(body["email_verified"], true);
    assert_eq!(body["mfa_enabled"], true);
    assert_eq!(body["custom_attributes"]["cost_center"], 42);
    assert_eq!(body["last_login_at"], Value::Null);
    assert!(body.get("password").is_none() && body.get("password_hash").is_none());
    let path = format!("{BASE}/{}", created.id());
    let before = app.calls();
    let read = app.get(&path, &w.root).await;
    assert_eq!(app.calls() - before, 1);
    assert_eq!(read.body, created.body);
    assert_eq!(user_count(app, &w.root, &w.acme_hq).await, 2);

    // PATCH: only what is present changes; null clears a nullable field.
    let patched = app
        .patch(&path, &w.root, json!({"title": null, "manager_id": null, "phone": "+1 555 0199", "status": "ACTIVE", "custom_attributes": {}}))
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(patched.body["title"], Value::Null);
    assert_eq!(patched.body["manager_id"], Value::Null);
    assert_eq!(patched.body["phone"], "+1 555 0199");
    assert_eq!(patched.body["status"], "ACTIVE");
    assert_eq!(patched.body["first_name"], "Ann");
    assert_eq!(patched.body["custom_attributes"], json!({}));
    assert_eq!(app.get(&path, &w.root).await.body, patched.body);

    // Not settable, not nullable, not a password.
    for bad in [
        json!({"status": "DELETED"}),
        json!({"email": null}),
        json!({"password": GOOD_PASSWORD}),
        json!({"identity_source": "KERBEROS"}),
        json!({"custom_attributes": {"a": "x".repeat(17 * 1024)}}),
        json!({"manager_id": created.id()}),
        json!({"manager_id": "usr_00000000000000000000000000"}),
    ] {
        let reply = app.patch(&path, &w.root, bad.clone()).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            reply.body
        );
    }
    let refused = app.patch(&path, &w.root, json!({"password": "x"})).await;
    assert_eq!(
        refused.body["detail"][0]["loc"],
        json!(["body", "password"])
    );
    // A manager from another tenant is refused.
    let foreign = create_user(app, &w.root, &w.acme_lab, "lab@acme.test").await;
    let reply = app
        .patch(&path, &w.root, json!({"manager_id": foreign}))
        .await;
    assert_eq!(
        reply.body["detail"][0]["loc"],
        json!(["body", "manager_id"])
    );
    let reply = app
        .post(
            BASE,
            &w.root,
            json!({"tenant_id": w.acme_hq, "email": "x@acme.test", "manager_id": foreign}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn emails_are_unique_per_tenant_case_insensitively_and_a_change_moves_the_claim() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let ann = create_user(app, &w.root, &w.acme_hq, "ann@acme.test").await;
    let dup = app
        .post(
            BASE,
            &w.root,
            json!({"tenant_id": w.acme_hq, "email": "ANN@Acme.Test"}),
        )
        .await;
    assert_eq!(
        (dup.status, dup.body),
        (
            StatusCode::CONFLICT,
            detail("Email already in use in this tenant")
        )
    );
    // The same email in another tenant is another user.
    create_user(app, &w.root, &w.acme_lab, "ann@acme.test").await;
    let bob = create_user(app, &w.root, &w.acme_hq, "bob@acme.test").await;
    let taken = app
        .patch(
            &format!("{BASE}/{bob}"),
            &w.root,
            json!({"email": "Ann@acme.test"}),
        )
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    let moved = app
        .patch(
            &format!("{BASE}/{ann}"),
            &w.root,
            json!({"email": "ann.new@acme.test"}),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK);
    // The old address is free again, the new one is held.
    create_user(app, &w.root, &w.acme_hq, "ann@acme.test").await;
    let held = app
        .post(
            BASE,
            &w.root,
            json!({"tenant_id": w.acme_hq, "email": "ann.new@acme.test"}),
        )
        .await;
    assert_eq!(held.status, StatusCode::CONFLICT);
    // A deleted user keeps its email, so its restore cannot collide.
    assert_eq!(
        app.delete(&format!("{BASE}/{bob}"), &w.root).await.status,
        StatusCode::NO_CONTENT
    );
    let reuse = app
        .post(
            BASE,
            &w.root,
            json!({"tenant_id": w.acme_hq, "email": "bob@acme.test"}),
        )
        .await;
    assert_eq!(reuse.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn twenty_concurrent_creates_of_one_email_make_one_user() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let replies = join_all(
        (0..20)
            .map(|i| {
                let email = if i % 2 == 0 {
                    "race@acme.test"
                } else {
                    "RACE@acme.test"
                };
                app.post(
                    BASE,
                    &w.root,
                    json!({"tenant_id": w.acme_hq, "email": email}),
                )
            })
            .collect(),
    )
    .await;
    let created: Vec<&Reply> = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .collect();
    assert_eq!(created.len(), 1);
    assert!(
        replies
            .iter()
            .all(|r| r.status == StatusCode::CREATED || r.status == StatusCode::CONFLICT)
    );
    let table = app.snapshot().await;
    let marker = &table[&format!("UNIQUE#USER_EMAIL#{}#race@acme.test UNIQUE", w.acme_hq)];
    assert_eq!(marker["owner_id"], created[0].id().as_str());
    let users = table
        .values()
        .filter(|i| i["SK"] == "USER" && i["email"] == "race@acme.test")
        .count();
    assert_eq!(users, 1);
    let events = table
        .values()
        .filter(|i| {
            i["SK"] == "EVENT"
                && i["action"] == "user.create"
                && i["resource_id"] == created[0].id().as_str()
        })
        .count();
    assert_eq!(events, 1);
    assert_eq!(user_count(app, &w.root, &w.acme_hq).await, 1);
}

#[tokio::test]
async fn passwords_follow_the_tenants_policy_and_never_leave_the_table() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let strict = app
        .patch(
            &format!("{TENANTS}/{}", w.acme_hq),
            &w.root,
            json!({"settings": {"password_policy": {"min_length": 10, "require_digit": true}}}),
        )
        .await;
    assert_eq!(strict.status, StatusCode::OK);
    let short = app
        .post(
            BASE,
            &w.root,
            json!({"tenant_id": w.acme_hq, "email": "a@acme.test", "password": "short1"}),
        )
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(short.body["detail"][0]["loc"], json!(["body", "password"]));
    assert!(
        short.body["detail"][0]["msg"]
            .as_str()
            .unwrap()
            .contains("min_length")
    );
    let no_digit = app
        .post(BASE, &w.root, json!({"tenant_id": w.acme_hq, "email": "a@acme.test", "password": "long-enough-but-no-digit"}))
        .await;
    assert!(
        no_digit.body["detail"][0]["msg"]
            .as_str()
            .unwrap()
            .contains("require_digit")
    );
    let ok = app
        .post(
            BASE,
            &w.root,
            json!({"tenant_id": w.acme_hq, "email": "a@acme.test", "password": "long-enough-1"}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED);
    let table = app.snapshot().await;
    let item = &table[&format!("USER#{} USER", ok.id())];
    assert!(
        item["password_hash"]
            .as_str()
            .unwrap()
            .starts_with("$argon2id$")
    );
    for event in table.values().filter(|i| i["SK"] == "EVENT") {
        assert!(
            !event.to_string().contains("$argon2id$"),
            "a hash reached an event"
        );
        assert!(
            !event.to_string().contains("long-enough-1"),
            "a password reached an event"
        );
    }
}

#[tokio::test]
async fn reset_password_sets_or_generates_one_and_ends_every_session() {
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
    let second = app.login("ta@acme.test", "admin-password-for-tests").await;
    let found = app.get(&format!("{BASE}?search=ta@acme"), &w.root).await;
    let ta_id = ids(&found)[0].clone();
    let path = format!("{BASE}/{ta_id}/reset-password");
    for bad in [
        json!({}),
        json!({"new_password": GOOD_PASSWORD, "generate": true}),
        json!({"generate": false}),
        json!({"new_password": "short"}),
        json!({"new_password": null}),
    ] {
        let reply = app.post(&path, &w.root, bad.clone()).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            reply.body
        );
    }
    let reset = app
        .post(
            &path,
            &w.root,
            json!({"new_password": "the-new-password-1"}),
        )
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
    assert_eq!(reset.body["revoked_sessions"], 2);
    assert_eq!(reset.body["temporary_password"], Value::Null);
    for token in [&ta, &second] {
        assert_eq!(
            app.get("/api/v1/admin/auth/me", token).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        app.login_reply("ta@acme.test", "admin-password-for-tests")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    app.login("ta@acme.test", "the-new-password-1").await;
    let generated = app.post(&path, &w.root, json!({"generate": true})).await;
    assert_eq!(generated.status, StatusCode::OK);
    assert_eq!(generated.body["revoked_sessions"], 1);
    let temporary = generated.body["temporary_password"].as_str().unwrap();
    assert!(temporary.len() >= 20);
    app.login("ta@acme.test", temporary).await;
    let events = app.audit_events_of_partner(&w.acme).await;
    let resets = events
        .iter()
        .filter(|e| e["action"] == "user.reset_password")
        .count();
    assert_eq!(resets, 2);
    assert!(!events.iter().any(|e| e.to_string().contains(temporary)));
}

#[tokio::test]
async fn suspended_and_deleted_admins_cannot_sign_in_and_an_email_change_moves_their_login() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    app.admin_token(
        "ta@acme.test",
        AdminRole::TenantAdmin,
        None,
        Some(&w.acme_hq),
    )
    .await;
    let found = app
        .get(
            &format!("{BASE}?tenant_id={}&search=ta@", w.acme_hq),
            &w.root,
        )
        .await;
    let path = format!("{BASE}/{}", ids(&found)[0]);
    let password = "admin-password-for-tests";
    // An admin's email change moves the admin-email claim, which routes login.
    let moved = app
        .patch(&path, &w.root, json!({"email": "ta2@acme.test"}))
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    assert_eq!(
        app.login_reply("ta@acme.test", password).await.status,
        StatusCode::UNAUTHORIZED
    );
    app.login("ta2@acme.test", password).await;
    // Another admin's email cannot be taken, even in another tenant.
    app.admin_token(
        "other@acme.test",
        AdminRole::TenantAdmin,
        None,
        Some(&w.acme_lab),
    )
    .await;
    create_user(app, &w.root, &w.acme_hq, "plain@acme.test").await;
    let taken = app
        .patch(&path, &w.root, json!({"email": "other@acme.test"}))
        .await;
    assert_eq!(
        (taken.status, taken.body),
        (
            StatusCode::CONFLICT,
            detail("Email already in use by another admin")
        )
    );
    for status in ["SUSPENDED", "LOCKED"] {
        assert_eq!(
            app.patch(&path, &w.root, json!({"status": status}))
                .await
                .status,
            StatusCode::OK
        );
        assert_eq!(
            app.login_reply("ta2@acme.test", password).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        app.patch(&path, &w.root, json!({"status": "ACTIVE"}))
            .await
            .status,
        StatusCode::OK
    );
    app.login("ta2@acme.test", password).await;
    assert_eq!(
        app.delete(&path, &w.root).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.login_reply("ta2@acme.test", password).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.get(&path, &w.root).await.status, StatusCode::NOT_FOUND);
    let restored = app
        .post(&format!("{path}/restore"), &w.root, json!({}))
        .await;
    assert_eq!(restored.status, StatusCode::OK);
    assert_eq!(restored.body["status"], "ACTIVE");
    // A restore brings back the user, not its admin roles: the delete revoked them.
    assert_eq!(
        app.login_reply("ta2@acme.test", password).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn max_users_per_tenant_and_the_counters_hold_on_create_delete_and_restore() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let limited = app
        .patch(
            &format!("{PARTNERS}/{}", w.acme),
            &w.root,
            json!({"max_users_per_tenant": 2}),
        )
        .await;
    assert_eq!(limited.status, StatusCode::OK);
    let total = |reply: Reply| reply.body["pagination"]["total"].clone();
    let platform_before = total(app.get(BASE, &w.root).await);
    let a = create_user(app, &w.root, &w.acme_hq, "a@acme.test").await;
    create_user(app, &w.root, &w.acme_hq, "b@acme.test").await;
    let full = app
        .post(
            BASE,
            &w.root,
            json!({"tenant_id": w.acme_hq, "email": "c@acme.test"}),
        )
        .await;
    assert_eq!(
        (full.status, full.body),
        (
            StatusCode::CONFLICT,
            detail("User limit reached for tenant")
        )
    );
    // The limit is per tenant.
    create_user(app, &w.root, &w.acme_lab, "c@acme.test").await;
    assert_eq!(user_count(app, &w.root, &w.acme_hq).await, 2);
    assert_eq!(
        total(app.get(BASE, &w.root).await),
        platform_before.as_u64().unwrap() + 3
    );
    assert_eq!(
        app.delete(&format!("{BASE}/{a}"), &w.root).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(user_count(app, &w.root, &w.acme_hq).await, 1);
    create_user(app, &w.root, &w.acme_hq, "d@acme.test").await;
    let restore = app
        .post(&format!("{BASE}/{a}/restore"), &w.root, json!({}))
        .await;
    assert_eq!(
        (restore.status, restore.body),
        (
            StatusCode::CONFLICT,
            detail("User limit reached for tenant")
        )
    );
    assert_eq!(
        app.patch(
            &format!("{PARTNERS}/{}", w.acme),
            &w.root,
            json!({"max_users_per_tenant": null})
        )
        .await
        .status,
        StatusCode::OK
    );
    let restore = app
        .post(&format!("{BASE}/{a}/restore"), &w.root, json!({}))
        .await;
    assert_eq!(restore.status, StatusCode::OK, "{}", restore.body);
    let again = app
        .post(&format!("{BASE}/{a}/restore"), &w.root, json!({}))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(user_count(app, &w.root, &w.acme_hq).await, 3);
    assert_eq!(
        total(app.get(BASE, &w.root).await),
        platform_before.as_u64().unwrap() + 4
    );
    // Concurrent creates never pass the limit.
    assert_eq!(
        app.patch(
            &format!("{PARTNERS}/{}", w.globex),
            &w.root,
            json!({"max_users_per_tenant": 3})
        )
        .await
        .status,
        StatusCode::OK
    );
    let replies = join_all(
        (0..10)
            .map(|i| {
                app.post(
                    BASE,
                    &w.root,
                    json!({"tenant_id": w.globex_hq, "email": format!("u{i}@globex.test")}),
                )
            })
            .collect(),
    )
    .await;
    let created = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    assert_eq!(created, 3);
    assert_eq!(user_count(app, &w.root, &w.globex_hq).await, 3);
}

#[tokio::test]
async fn lists_filter_and_page_newest_first_across_every_shard() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let mut made = Vec::new();
    for i in 0..12 {
        let tenant = if i % 3 == 0 { &w.globex_hq } else { &w.acme_hq };
        let reply = app
            .post(BASE, &w.root, json!({"tenant_id": tenant, "email": format!("user{i:02}@x.test"), "first_name": if i == 5 { "Zebedee" } else { "Plain" }, "status": if i == 7 { "SUSPENDED" } else { "ACTIVE" }}))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED);
        made.push(reply.id());
    }
    let before = app.calls();
    let all = app.get(&format!("{BASE}?per_page=100"), &w.root).await;
    // The session check with the counter shards, then one query per list shard, concurrently.
    assert_eq!(app.calls() - before, 1 + shared::store::keys::USER_SHARDS);
    // The twelve and the root admin, newest first.
    assert_eq!(all.body["pagination"]["total"], 13);
    let listed = ids(&all);
    let mut newest_first: Vec<String> = made.iter().rev().cloned().collect();
    assert_eq!(listed[..12], newest_first[..]);
    // Cursor pages walk the same order without gaps or repeats.
    let mut walked = Vec::new();
    let mut page = app.get(&format!("{BASE}?per_page=5"), &w.root).await;
    loop {
        assert_eq!(page.body["pagination"]["total"], 13);
        walked.extend(ids(&page));
        let Some(cursor) = page.body["pagination"]["next_cursor"].as_str() else {
            break;
        };
        page = app
            .get(&format!("{BASE}?per_page=5&cursor={cursor}"), &w.root)
            .await;
        assert_eq!(page.status, StatusCode::OK);
    }
    assert_eq!(walked, listed);
    let second = app.get(&format!("{BASE}?per_page=5&page=2"), &w.root).await;
    assert_eq!(ids(&second), listed[5..10]);
    // Filters.
    let search = app.get(&format!("{BASE}?search=ZEBED"), &w.root).await;
    assert_eq!(ids(&search), vec![made[5].clone()]);
    assert_eq!(search.body["pagination"]["total"], 1);
    let by_email = app.get(&format!("{BASE}?search=USER1"), &w.root).await;
    assert_eq!(by_email.body["pagination"]["total"], 2);
    let suspended = app.get(&format!("{BASE}?status=SUSPENDED"), &w.root).await;
    assert_eq!(ids(&suspended), vec![made[7].clone()]);
    assert_eq!(
        app.get(&format!("{BASE}?status=DELETED"), &w.root)
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let globex = app
        .get(&format!("{BASE}?partner_id={}", w.globex), &w.root)
        .await;
    assert_eq!(globex.body["pagination"]["total"], 4);
    let hq = app
        .get(&format!("{BASE}?tenant_id={}", w.acme_hq), &w.root)
        .await;
    assert_eq!(hq.body["pagination"]["total"], 8);
    let mixed = app
        .get(
            &format!("{BASE}?tenant_id={}&partner_id={}", w.acme_hq, w.globex),
            &w.root,
        )
        .await;
    assert_eq!(mixed.body["pagination"]["total"], 0);
    let empty = app.get(&format!("{BASE}?search=&status="), &w.root).await;
    assert_eq!(empty.body["pagination"]["total"], 13);
    // A filtered list pages by cursor with its total carried.
    let first = app
        .get(&format!("{BASE}?search=plain&per_page=4"), &w.root)
        .await;
    assert_eq!(first.body["pagination"]["total"], 11);
    let cursor = first.body["pagination"]["next_cursor"].as_str().unwrap();
    let next = app
        .get(
            &format!("{BASE}?search=plain&per_page=4&cursor={cursor}"),
            &w.root,
        )
        .await;
    assert_eq!(next.body["pagination"]["total"], 11);
    assert!(ids(&first).iter().all(|id| !ids(&next).contains(id)));
    // A cursor is bound to its filters, and a forged one is refused.
    let other = app
        .get(
            &format!("{BASE}?search=user&per_page=4&cursor={cursor}"),
            &w.root,
        )
        .await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
    let forged = app.get(&format!("{BASE}?cursor=e30.AAAA"), &w.root).await;
    assert_eq!(forged.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Deleted users leave the lists and the totals.
    assert_eq!(
        app.delete(&format!("{BASE}/{}", made[0]), &w.root)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let after = app.get(&format!("{BASE}?per_page=100"), &w.root).await;
    assert_eq!(after.body["pagination"]["total"], 12);
    assert!(!ids(&after).contains(&made[0]));
    let unique: BTreeSet<String> = ids(&after).into_iter().collect();
    assert_eq!(unique.len(), 12);
    newest_first.retain(|id| *id != made[0]);
    let _ = newest_first;
}

#[tokio::test]
async fn partner_admins_reach_only_their_partners_users_on_every_route() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let own = create_user(app, &w.root, &w.acme_lab, "own@acme.test").await;
    let foreign = create_user(app, &w.root, &w.globex_hq, "foreign@globex.test").await;
    let pa = app
        .admin_token("pa@acme.test", AdminRole::PartnerAdmin, Some(&w.acme), None)
        .await;
    // The partner admin lives in the platform tenant: its list holds acme's tenants' users.
    let list = app.get(BASE, &pa).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(ids(&list), vec![own.clone()]);
    assert_eq!(list.body["pagination"]["total"], 1);
    assert_eq!(
        app.get(&format!("{BASE}?partner_id={}", w.acme), &pa)
            .await
            .body["pagination"]["total"],
        1
    );
    assert_eq!(
        app.get(&format!("{BASE}?tenant_id={}", w.acme_lab), &pa)
            .await
            .body["pagination"]["total"],
        1
    );
    // Its own writes.
    let before = app.calls();
    let created = app
        .post(
            BASE,
            &pa,
            json!({"tenant_id": w.acme_hq, "email": "new@acme.test"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(
        app.calls() - before,
        2,
        "the partner joins the session check's batch"
    );
    let path = format!("{BASE}/{own}");
    assert_eq!(app.get(&path, &pa).await.status, StatusCode::OK);
    assert_eq!(
        app.patch(&path, &pa, json!({"title": "Dev"})).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.post(
            &format!("{path}/reset-password"),
            &pa,
            json!({"generate": true})
        )
        .await
        .status,
        StatusCode::OK
    );
    assert_eq!(app.delete(&path, &pa).await.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.post(&format!("{path}/restore"), &pa, json!({}))
            .await
            .status,
        StatusCode::OK
    );
    // Nothing of globex's, whatever the route.
    let before = app.snapshot().await;
    let fpath = format!("{BASE}/{foreign}");
    let refused = [
        app.get(&fpath, &pa).await,
        app.patch(&fpath, &pa, json!({"title": "x"})).await,
        app.delete(&fpath, &pa).await,
        app.post(&format!("{fpath}/restore"), &pa, json!({})).await,
        app.post(
            &format!("{fpath}/reset-password"),
            &pa,
            json!({"generate": true}),
        )
        .await,
        app.post(
            BASE,
            &pa,
            json!({"tenant_id": w.globex_hq, "email": "x@acme.test"}),
        )
        .await,
        app.get(&format!("{BASE}?tenant_id={}", w.globex_hq), &pa)
            .await,
        app.get(&format!("{BASE}?partner_id={}", w.globex), &pa)
            .await,
    ];
    for (i, reply) in refused.into_iter().enumerate() {
        assert_eq!(
            (i, reply.status, reply.body),
            (i, StatusCode::FORBIDDEN, detail("Access denied"))
        );
    }
    // Denied writes add their DENIED events, nothing else.
    let after = app.snapshot().await;
    let added: Vec<&Value> = after
        .iter()
        .filter(|(k, _)| !before.contains_key(*k))
        .map(|(_, v)| v)
        .collect();
    assert!(
        added
            .iter()
            .all(|i| i["SK"] == "EVENT" && i["result"] == "DENIED"),
        "{added:?}"
    );
    for (key, item) in &before {
        assert_eq!(after.get(key), Some(item), "{key} changed");
    }
    // A cursor of the super admin's list does not open the partner admin's.
    for i in 0..3 {
        create_user(app, &w.root, &w.acme_hq, &format!("more{i}@acme.test")).await;
    }
    let root_list = app.get(&format!("{BASE}?per_page=1"), &w.root).await;
    let cursor = root_list.body["pagination"]["next_cursor"]
        .as_str()
        .unwrap();
    let stolen = app
        .get(&format!("{BASE}?per_page=1&cursor={cursor}"), &pa)
        .await;
    assert_eq!(stolen.status, StatusCode::UNPROCESSABLE_ENTITY);
    // The partner admin's own cursors walk only acme's users.
    let mut walked = Vec::new();
    let mut page = app.get(&format!("{BASE}?per_page=2"), &pa).await;
    loop {
        walked.extend(ids(&page));
        let Some(cursor) = page.body["pagination"]["next_cursor"].as_str() else {
            break;
        };
        page = app
            .get(&format!("{BASE}?per_page=2&cursor={cursor}"), &pa)
            .await;
    }
    assert_eq!(walked.len(), 5);
    assert!(!walked.contains(&foreign));
}

#[tokio::test]
async fn tenant_admins_reach_only_their_tenants_users_on_every_route() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let own = create_user(app, &w.root, &w.acme_hq, "own@acme.test").await;
    let sibling = create_user(app, &w.root, &w.acme_lab, "sib@acme.test").await;
    let foreign = create_user(app, &w.root, &w.globex_hq, "foreign@globex.test").await;
    let ta = app
        .admin_token(
            "ta@acme.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_hq),
        )
        .await;
    let before = app.calls();
    let list = app.get(BASE, &ta).await;
    assert_eq!(app.calls() - before, 2);
    // Its own user and itself.
    assert_eq!(list.body["pagination"]["total"], 2);
    assert!(ids(&list).contains(&own));
    assert_eq!(
        app.get(&format!("{BASE}?partner_id={}", w.acme), &ta)
            .await
            .body["pagination"]["total"],
        2
    );
    let path = format!("{BASE}/{own}");
    let before = app.calls();
    assert_eq!(app.get(&path, &ta).await.status, StatusCode::OK);
    assert_eq!(app.calls() - before, 1);
    let before = app.calls();
    assert_eq!(
        app.patch(&path, &ta, json!({"department": "Ops"}))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.calls() - before,
        2,
        "its tenant is in the session check's batch"
    );
    let before = app.calls();
    assert_eq!(
        app.post(
            BASE,
            &ta,
            json!({"tenant_id": w.acme_hq, "email": "n@acme.test"})
        )
        .await
        .status,
        StatusCode::CREATED
    );
    assert_eq!(app.calls() - before, 2);
    for other in [&sibling, &foreign] {
        let p = format!("{BASE}/{other}");
        let refused = [
            app.get(&p, &ta).await,
            app.patch(&p, &ta, json!({"title": "x"})).await,
            app.delete(&p, &ta).await,
            app.post(&format!("{p}/restore"), &ta, json!({})).await,
            app.post(
                &format!("{p}/reset-password"),
                &ta,
                json!({"generate": true}),
            )
            .await,
        ];
        for reply in refused {
            assert_eq!(
                (reply.status, reply.body),
                (StatusCode::FORBIDDEN, detail("Access denied"))
            );
        }
    }
    for query in [
        format!("tenant_id={}", w.acme_lab),
        format!("tenant_id={}", w.globex_hq),
        format!("partner_id={}", w.globex),
    ] {
        assert_eq!(
            app.get(&format!("{BASE}?{query}"), &ta).await.status,
            StatusCode::FORBIDDEN,
            "{query}"
        );
    }
    for tenant in [&w.acme_lab, &w.globex_hq] {
        let reply = app
            .post(
                BASE,
                &ta,
                json!({"tenant_id": tenant, "email": "x@acme.test"}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
    }
    let unknown = app
        .get(&format!("{BASE}/usr_00000000000000000000000000"), &ta)
        .await;
    assert_eq!(
        (unknown.status, unknown.body),
        (StatusCode::NOT_FOUND, detail("User not found"))
    );
}

#[tokio::test]
async fn a_tenant_admin_cannot_touch_a_higher_admin_of_its_tenant() {
    let Some(app) = spawn_app().await else { return };
    let platform = app.platform_tenant.to_string();
    let ta = app
        .admin_token(
            "ta@platform.test",
            AdminRole::TenantAdmin,
            None,
            Some(&platform),
        )
        .await;
    let root = app.root_token().await;
    let found = app
        .get(&format!("{BASE}?search={ADMIN_EMAIL}"), &root)
        .await;
    let root_id = ids(&found)[0].clone();
    let path = format!("{BASE}/{root_id}");
    // It may read the super admin (a user of its tenant), not change it.
    assert_eq!(app.get(&path, &ta).await.status, StatusCode::OK);
    for reply in [
        app.post(
            &format!("{path}/reset-password"),
            &ta,
            json!({"generate": true}),
        )
        .await,
        app.patch(&path, &ta, json!({"status": "SUSPENDED"})).await,
        app.delete(&path, &ta).await,
    ] {
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
    }
    app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    // Nobody deletes themselves.
    let me = app.delete(&path, &root).await;
    assert_eq!(me.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn collection_routes_answer_with_and_without_a_trailing_slash() {
    let Some(w) = world().await else { return };
    let with = w.app.get(&format!("{BASE}/"), &w.root).await;
    let without = w.app.get(BASE, &w.root).await;
    assert_eq!(with.status, StatusCode::OK);
    assert_eq!(with.body, without.body);
    let bad_id = w.app.get(&format!("{BASE}/not-a-user"), &w.root).await;
    assert_eq!(bad_id.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_user_write_commits_its_event_under_the_users_tenant_and_partner() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let id = create_user(app, &w.root, &w.acme_hq, "ann@acme.test").await;
    let path = format!("{BASE}/{id}");
    assert_eq!(
        app.patch(&path, &w.root, json!({"first_name": "Ann"}))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.delete(&path, &w.root).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.post(&format!("{path}/restore"), &w.root, json!({}))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.post(
            &format!("{path}/reset-password"),
            &w.root,
            json!({"generate": true})
        )
        .await
        .status,
        StatusCode::OK
    );
    let events = app.audit_events_of_partner(&w.acme).await;
    let mine: Vec<&Value> = events
        .iter()
        .filter(|e| e["resource_id"] == id.as_str())
        .collect();
    let actions: Vec<&str> = mine.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        vec![
            "user.create",
            "user.update",
            "user.delete",
            "user.restore",
            "user.reset_password"
        ]
    );
    for event in &mine {
        assert_eq!(event["tenant_id"], w.acme_hq.as_str());
        assert_eq!(event["result"], "SUCCESS");
        assert_eq!(event["resource_type"], "user");
        assert!(event["request_id"].as_str().is_some_and(|r| !r.is_empty()));
    }
    assert_eq!(
        mine[1]["changes"]["first_name"],
        json!({"from": null, "to": "Ann"})
    );
}

#[tokio::test]
async fn concurrent_patches_of_different_fields_both_land() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let id = create_user(app, &w.root, &w.acme_hq, "ann@acme.test").await;
    let path = format!("{BASE}/{id}");
    let replies = join_all(vec![
        app.patch(&path, &w.root, json!({"title": "CTO"})),
        app.patch(&path, &w.root, json!({"department": "Engineering"})),
        app.patch(&path, &w.root, json!({"phone": "+1 555 0100"})),
    ])
    .await;
    assert!(replies.iter().all(|r| r.status == StatusCode::OK));
    let read = app.get(&path, &w.root).await;
    assert_eq!(
        (
            &read.body["title"],
            &read.body["department"],
            &read.body["phone"]
        ),
        (&json!("CTO"), &json!("Engineering"), &json!("+1 555 0100"))
    );
}

/// Run by scripts/test (it builds the binaries first); skipped with `--skip lambda`.
#[tokio::test]
async fn lambda_the_users_binary_answers_api_gateway_events_as_the_local_server_does() {
    use api_tests::lambda::{HttpApiEvent, LambdaFunction};
    let Some(w) = world().await else { return };
    let app = &w.app;
    let Some(mut function) = LambdaFunction::start(app, "users").await else {
        return;
    };
    let id = create_user(app, &w.root, &w.acme_hq, "ann@acme.test").await;
    let item = "ANY /api/v1/admin/users/{proxy+}";
    let collection = "ANY /api/v1/admin/users";
    let events = [
        HttpApiEvent::new("GET", item, &format!("{BASE}/{id}"))
            .path_parameter("proxy", &id)
            .bearer(&w.root),
        HttpApiEvent::new(
            "GET",
            collection,
            &format!("{BASE}?tenant_id={}", w.acme_hq),
        )
        .bearer(&w.root),
        HttpApiEvent::new("PATCH", item, &format!("{BASE}/{id}"))
            .path_parameter("proxy", &id)
            .bearer(&w.root)
            .json_body(&json!({"password": "x", "status": "GONE"})),
        HttpApiEvent::new("PUT", item, &format!("{BASE}/{id}"))
            .path_parameter("proxy", &id)
            .bearer(&w.root),
    ];
    let expected = [
        StatusCode::OK,
        StatusCode::OK,
        StatusCode::UNPROCESSABLE_ENTITY,
        StatusCode::METHOD_NOT_ALLOWED,
    ];
    for (event, status) in events.iter().zip(expected) {
        let lambda = function.invoke(event).await;
        let local = app.send(event.to_request()).await;
        assert_eq!((lambda.status, &lambda.body), (status, &local.body));
    }
    let _ = (&w.acme_lab, &w.globex, &w.globex_hq);
}

#[tokio::test]
async fn a_reset_revokes_more_sessions_than_one_transaction_holds() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let id = create_user(app, &w.root, &w.acme_hq, "busy@acme.test").await;
    // 95 live sessions, written straight into the table (signing in 95 times would only be
    // slower): more than the 90 the reset's own transaction revokes; and 3 expired ones still
    // marked ACTIVE, which the reset leaves to the TTL (it could delete them under the reset,
    // and an update would write them back as items without expiry).
    let store = app.state.store();
    for i in 0..98 {
        let expires = if i < 95 {
            "2099-01-02T03:04:05.000006Z"
        } else {
            "2020-01-02T03:04:05.000006Z"
        };
        let session = shared::ids::SessionId::generate().to_string();
        let item = json!({
            "PK": format!("SESSION#{session}"), "SK": "SESSION", "entity": "SESSION",
            "GSI1PK": format!("USER#{id}#SESSIONS"), "GSI1SK": session,
            "id": session, "user_id": id, "email": "busy@acme.test", "tenant_id": w.acme_hq,
            "partner_id": w.acme, "role": "tenant_admin", "status": "ACTIVE",
            "created_at": "2026-01-02T03:04:05.000006Z", "expires_at": expires,
            "refresh_generation": 0
        });
        store
            .client()
            .put_item()
            .table_name(store.table())
            .set_item(Some(serde_dynamo::to_item(item).unwrap()))
            .send()
            .await
            .unwrap();
    }
    let reset = app
        .post(
            &format!("{BASE}/{id}/reset-password"),
            &w.root,
            json!({"generate": true}),
        )
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
    assert_eq!(reset.body["revoked_sessions"], 95);
    let table = app.snapshot().await;
    let sessions: Vec<&Value> = table
        .values()
        .filter(|i| i["user_id"] == id.as_str())
        .collect();
    assert_eq!(sessions.len(), 98);
    let revoked = sessions.iter().filter(|s| s["status"] == "REVOKED").count();
    assert_eq!(revoked, 95);
    assert!(
        sessions
            .iter()
            .filter(|s| s["status"] != "REVOKED")
            .all(|s| s["expires_at"] == "2020-01-02T03:04:05.000006Z")
    );
}

#[tokio::test]
async fn two_users_racing_to_one_new_email_leave_one_holder() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let mut users = Vec::new();
    for i in 0..6 {
        users.push(create_user(app, &w.root, &w.acme_hq, &format!("u{i}@acme.test")).await);
    }
    let paths: Vec<String> = users.iter().map(|u| format!("{BASE}/{u}")).collect();
    let replies = join_all(
        paths
            .iter()
            .map(|path| app.patch(path, &w.root, json!({"email": "wanted@acme.test"})))
            .collect(),
    )
    .await;
    let won: Vec<usize> = (0..users.len())
        .filter(|i| replies[*i].status == StatusCode::OK)
        .collect();
    assert_eq!(won.len(), 1);
    assert!(
        replies
            .iter()
            .all(|r| r.status == StatusCode::OK || r.status == StatusCode::CONFLICT)
    );
    let table = app.snapshot().await;
    let marker = &table[&format!("UNIQUE#USER_EMAIL#{}#wanted@acme.test UNIQUE", w.acme_hq)];
    assert_eq!(marker["owner_id"], users[won[0]].as_str());
    // The losers kept their own addresses and claims.
    for (i, user) in users.iter().enumerate().filter(|(i, _)| *i != won[0]) {
        let key = format!("UNIQUE#USER_EMAIL#{}#u{i}@acme.test UNIQUE", w.acme_hq);
        assert_eq!(table[&key]["owner_id"], user.as_str());
    }
    assert!(!table.contains_key(&format!(
        "UNIQUE#USER_EMAIL#{}#u{}@acme.test UNIQUE",
        w.acme_hq, won[0]
    )));
}

const ROLES: &str = "/api/v1/admin/admin-roles";
const GROUPS: &str = "/api/v1/admin/groups";

/// The table without its audit events (a refusal records one, and writes nothing else).
async fn table_without_events(app: &TestApp) -> std::collections::BTreeMap<String, Value> {
    let mut table = app.snapshot().await;
    table.retain(|_, item| item["SK"] != "EVENT");
    table
}

fn grant_ids(reply: &Reply) -> Vec<String> {
    ids(reply)
}

/// Deleting an admin revokes every grant it holds and releases its admin-email marker in the
/// delete's own transaction: its sessions are refused, its grants read back inactive (by the
/// deleting admin), the email may hold admin roles elsewhere at once, and a restore brings
/// back the user, not its roles.
#[tokio::test]
async fn deleting_an_admin_revokes_its_grants_and_releases_its_admin_email() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let ta = app
        .admin_token(
            "boss@acme.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_hq),
        )
        .await;
    let found = app
        .get(
            &format!("{BASE}?tenant_id={}&search=boss@", w.acme_hq),
            &w.root,
        )
        .await;
    let boss = ids(&found)[0].clone();
    // A second grant on the same user: a partner admin of its own partner.
    let second = app
        .post(
            ROLES,
            &w.root,
            json!({"user_id": boss, "role": "PARTNER_ADMIN", "partner_id": w.acme}),
        )
        .await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.body);
    let grants = grant_ids(&app.get(&format!("{ROLES}/user/{boss}"), &w.root).await);
    assert_eq!(grants.len(), 2);
    assert_eq!(app.get(BASE, &ta).await.status, StatusCode::OK);
    let marker = "UNIQUE#ADMIN_EMAIL#boss@acme.test UNIQUE";
    assert!(app.snapshot().await.contains_key(marker));

    let path = format!("{BASE}/{boss}");
    let before = app.calls();
    assert_eq!(
        app.delete(&path, &w.root).await.status,
        StatusCode::NO_CONTENT
    );
    // Session check, the user's tenant (a super admin's batch cannot know it), its memberships
    // before and after the transaction (one index query each; no groups, so no batch read),
    // then its active sessions (one index query) and their revocation (one transaction).
    assert_eq!(app.calls() - before, 7);
    assert_eq!(app.get(BASE, &ta).await.status, StatusCode::UNAUTHORIZED);
    for grant in &grants {
        let read = app.get(&format!("{ROLES}/{grant}"), &w.root).await;
        assert_eq!(read.status, StatusCode::OK);
        assert_eq!(read.body["is_active"], false, "{}", read.body);
    }
    let table = app.snapshot().await;
    let root_id = table
        .get(&format!("UNIQUE#ADMIN_EMAIL#{} UNIQUE", ADMIN_EMAIL))
        .map(|m| m["user_id"].clone())
        .expect("the root admin's marker");
    for grant in &grants {
        let item = &table[&format!("ROLE#{grant} ROLE")];
        assert_eq!(item["grant_state"], "REVOKED");
        assert_eq!(item["revoked_by"], root_id, "revoked by the deleting admin");
        assert!(item["revoked_at"].is_string(), "{item}");
    }
    let revoked = app
        .get(&format!("{ROLES}?user_id={boss}&is_active=false"), &w.root)
        .await;
    assert_eq!(revoked.body["pagination"]["total"], 2);
    let table = app.snapshot().await;
    assert!(
        !table.contains_key(marker),
        "the admin-email marker is released"
    );
    let stored = &table[&format!("USER#{boss} USER")];
    assert_eq!(stored["admin_roles"], json!([]));
    assert_eq!(stored["status"], "DELETED");
    let event = table
        .values()
        .find(|i| i["SK"] == "EVENT" && i["action"] == "user.delete")
        .expect("the delete is recorded");
    assert_eq!(
        event["changes"]["admin_roles"]["from"]
            .as_array()
            .map(Vec::len),
        Some(2),
        "{event}"
    );
    assert_eq!(event["changes"]["admin_roles"]["to"], json!([]));

    // Released at once: the email holds admin roles in another tenant (the old user's email
    // claim in its own tenant is kept for a restore).
    let elsewhere = app
        .admin_token(
            "boss@acme.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_lab),
        )
        .await;
    assert_eq!(app.get(BASE, &elsewhere).await.status, StatusCode::OK);

    // A restore brings back the user, not its roles or its sessions.
    let restored = app
        .post(&format!("{path}/restore"), &w.root, json!({}))
        .await;
    assert_eq!(restored.status, StatusCode::OK, "{}", restored.body);
    assert_eq!(
        app.snapshot().await[&format!("USER#{boss} USER")]["admin_roles"],
        json!([])
    );
    assert_eq!(app.get(BASE, &ta).await.status, StatusCode::UNAUTHORIZED);
    for grant in &grants {
        let read = app.get(&format!("{ROLES}/{grant}"), &w.root).await;
        assert_eq!(read.body["is_active"], false);
    }
    // The new admin of that email keeps its marker.
    assert_eq!(app.get(BASE, &elsewhere).await.status, StatusCode::OK);
    assert!(app.snapshot().await.contains_key(marker));
}

/// Deleting a user removes it from its groups in the same transaction: the groups'
/// `member_count` drops, their member lists no longer show it, and a restore does not bring it
/// back into them.
#[tokio::test]
async fn deleting_a_grouped_user_leaves_its_groups_and_their_counts() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let a = app.create_group(&w.root, &w.acme_hq, "A").await;
    let b = app.create_group(&w.root, &w.acme_hq, "B").await;
    let ann = create_user(app, &w.root, &w.acme_hq, "ann@acme.test").await;
    let ben = create_user(app, &w.root, &w.acme_hq, "ben@acme.test").await;
    for (g, u) in [(&a, &ann), (&b, &ann), (&a, &ben)] {
        let added = app.add_member(&w.root, g, json!({"user_id": u})).await;
        assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    }
    let root = w.root.as_str();
    let count = |g: String| async move {
        app.get(&format!("{GROUPS}/{g}"), root).await.body["member_count"].clone()
    };
    let members =
        |g: String| async move { ids(&app.get(&format!("{GROUPS}/{g}/members"), root).await) };
    assert_eq!(count(a.clone()).await, 2);
    let before = app.calls();
    assert_eq!(
        app.delete(&format!("{BASE}/{ann}"), &w.root).await.status,
        StatusCode::NO_CONTENT
    );
    // Session check, tenant, memberships (query, then one consistent batch of the groups and
    // membership items), the transaction, the memberships again (query: none left), its
    // active sessions (query: none).
    assert_eq!(app.calls() - before, 7);
    assert_eq!(count(a.clone()).await, 1);
    assert_eq!(count(b.clone()).await, 0);
    let listed = members(a.clone()).await;
    assert!(!listed.contains(&ann), "{listed:?}");
    assert!(members(b.clone()).await.is_empty());
    let table = app.snapshot().await;
    assert!(!table.contains_key(&format!("GROUP#{a} MEMBER#{ann}")));
    assert!(!table.contains_key(&format!("GROUP#{b} MEMBER#{ann}")));
    assert!(table.contains_key(&format!("GROUP#{a} MEMBER#{ben}")));

    let restored = app
        .post(&format!("{BASE}/{ann}/restore"), &w.root, json!({}))
        .await;
    assert_eq!(restored.status, StatusCode::OK);
    assert_eq!(count(a.clone()).await, 1);
    assert_eq!(count(b.clone()).await, 0);
    let groups = app.get(&format!("{BASE}/{ann}/groups"), &w.root).await;
    if groups.status == StatusCode::OK {
        assert_eq!(groups.body["pagination"]["total"], 0, "{}", groups.body);
    }
}

/// More groups than one transaction holds (two actions each): the first ones leave with the
/// delete, the rest in follow-up transactions, and every count is right.
#[tokio::test]
async fn a_user_in_more_groups_than_one_transaction_holds_leaves_them_all() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let ann = create_user(app, &w.root, &w.acme_hq, "ann@acme.test").await;
    let ben = create_user(app, &w.root, &w.acme_hq, "ben@acme.test").await;
    let mut groups = Vec::new();
    for i in 0..60 {
        let g = app
            .create_group(&w.root, &w.acme_hq, &format!("G{i}"))
            .await;
        for u in [&ann, &ben] {
            let added = app.add_member(&w.root, &g, json!({"user_id": u})).await;
            assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
        }
        groups.push(g);
    }
    assert_eq!(
        app.delete(&format!("{BASE}/{ann}"), &w.root).await.status,
        StatusCode::NO_CONTENT
    );
    let table = app.snapshot().await;
    for g in &groups {
        assert_eq!(table[&format!("GROUP#{g} GROUP")]["member_count"], 1, "{g}");
        assert!(
            !table.contains_key(&format!("GROUP#{g} MEMBER#{ann}")),
            "{g}"
        );
    }
}

/// A user joining groups while it is deleted: whichever commits first, no group counts a
/// member it does not list.
#[tokio::test]
async fn joining_groups_while_being_deleted_leaves_every_count_right() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let mut groups = Vec::new();
    for i in 0..4 {
        groups.push(
            app.create_group(&w.root, &w.acme_hq, &format!("G{i}"))
                .await,
        );
    }
    for round in 0..3 {
        let ann = create_user(app, &w.root, &w.acme_hq, &format!("ann{round}@acme.test")).await;
        let (first, rest) = groups.split_at(2);
        for g in first {
            app.add_member(&w.root, g, json!({"user_id": ann})).await;
        }
        let path = format!("{BASE}/{ann}");
        let mut calls: Vec<
            std::pin::Pin<Box<dyn std::future::Future<Output = Reply> + Send + '_>>,
        > = vec![Box::pin(app.delete(&path, &w.root))];
        for g in rest.iter().chain(first.iter()) {
            calls.push(Box::pin(app.add_member(
                &w.root,
                g,
                json!({"user_id": ann}),
            )));
        }
        let replies = join_all(calls).await;
        assert_eq!(
            replies[0].status,
            StatusCode::NO_CONTENT,
            "{}",
            replies[0].body
        );
    }
    let table = app.snapshot().await;
    for g in &groups {
        let members = table
            .keys()
            .filter(|k| k.starts_with(&format!("GROUP#{g} MEMBER#")))
            .count();
        assert_eq!(
            table[&format!("GROUP#{g} GROUP")]["member_count"],
            members,
            "{g}"
        );
        assert_eq!(members, 0, "{g}: a deleted user is in no group");
    }
}

/// Refused deletes of an admin in groups (out of reach, above the caller, itself) write
/// nothing but their audit record: grants, marker and memberships stay.
#[tokio::test]
async fn refused_deletes_of_a_grouped_admin_leave_the_table_unchanged() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let pa = app
        .admin_token("pa@acme.test", AdminRole::PartnerAdmin, Some(&w.acme), None)
        .await;
    let foreign = app
        .admin_token(
            "ta@globex.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.globex_hq),
        )
        .await;
    let found = app.get(&format!("{BASE}?search=pa@acme"), &w.root).await;
    let pa_id = ids(&found)[0].clone();
    let platform_group = app
        .create_group(&w.root, &app.platform_tenant.to_string(), "Ops")
        .await;
    let added = app
        .add_member(&w.root, &platform_group, json!({"user_id": pa_id}))
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    let path = format!("{BASE}/{pa_id}");
    let before = table_without_events(app).await;
    for (token, status) in [
        (&foreign, StatusCode::FORBIDDEN),
        (&pa, StatusCode::CONFLICT),
    ] {
        assert_eq!(app.delete(&path, token).await.status, status);
    }
    assert_eq!(table_without_events(app).await, before);
    assert_eq!(app.get(BASE, &pa).await.status, StatusCode::OK);
}

/// A number of a stored item (0 when the item or the attribute is missing).
fn stored_number(
    table: &std::collections::BTreeMap<String, Value>,
    key: &shared::store::Key,
    attribute: &str,
) -> i64 {
    table
        .get(&format!("{} {}", key.pk, key.sk))
        .and_then(|item| item[attribute].as_f64())
        .map_or(0, |n| n as i64)
}

/// A partner's stored user count, and the sum of the `user_count` of `tenants` (its live ones).
async fn partner_users(app: &TestApp, partner: &str, tenants: &[&str]) -> (i64, i64) {
    app.partner_count(shared::store::tally::PartnerCount::Users, partner, tenants)
        .await
}

#[tokio::test]
async fn a_partners_user_count_is_its_live_tenants_users_through_every_write() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let pa = app
        .admin_token("pa@acme.test", AdminRole::PartnerAdmin, Some(&w.acme), None)
        .await;
    let acme = [w.acme_hq.as_str(), w.acme_lab.as_str()];
    create_user(app, &pa, &w.acme_hq, "a@acme.test").await;
    let b = create_user(app, &pa, &w.acme_hq, "b@acme.test").await;
    let c = create_user(app, &pa, &w.acme_lab, "c@acme.test").await;
    assert_eq!(partner_users(app, &w.acme, &acme).await, (3, 3));

    // Refused writes count nothing: a taken email, a foreign tenant.
    let taken = app
        .post(
            BASE,
            &pa,
            json!({"tenant_id": w.acme_hq, "email": "A@acme.test"}),
        )
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT, "{}", taken.body);
    let foreign = app
        .post(
            BASE,
            &pa,
            json!({"tenant_id": w.globex_hq, "email": "x@globex.test"}),
        )
        .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN, "{}", foreign.body);
    assert_eq!(partner_users(app, &w.acme, &acme).await, (3, 3));
    assert_eq!(partner_users(app, &w.globex, &[&w.globex_hq]).await, (0, 0));

    // Delete, restore, delete.
    let user = |id: &str| format!("{BASE}/{id}");
    assert_eq!(
        app.delete(&user(&b), &pa).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(partner_users(app, &w.acme, &acme).await, (2, 2));
    let restored = app
        .post(&format!("{}/restore", user(&b)), &pa, json!({}))
        .await;
    assert_eq!(restored.status, StatusCode::OK, "{}", restored.body);
    assert_eq!(partner_users(app, &w.acme, &acme).await, (3, 3));
    assert_eq!(
        app.delete(&user(&b), &pa).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(partner_users(app, &w.acme, &acme).await, (2, 2));

    // A deleted tenant's users count under no partner: deleting one moves only its tenant's
    // counter; the tenant's restore brings back what is left.
    let tenant = format!("/api/v1/admin/tenants/{}", w.acme_lab);
    assert_eq!(
        app.delete(&tenant, &w.root).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(partner_users(app, &w.acme, &[&w.acme_hq]).await, (1, 1));
    assert_eq!(
        app.delete(&user(&c), &w.root).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(partner_users(app, &w.acme, &[&w.acme_hq]).await, (1, 1));
    assert_eq!(partner_users(app, &w.acme, &[&w.acme_lab]).await.1, 0);
    let back = app
        .post(&format!("{tenant}/restore"), &w.root, json!({}))
        .await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.body);
    assert_eq!(partner_users(app, &w.acme, &acme).await, (1, 1));
    create_user(app, &pa, &w.acme_lab, "d@acme.test").await;
    assert_eq!(partner_users(app, &w.acme, &acme).await, (2, 2));
}

/// The active-session tally windows (`TALLY#SESSIONS#…`) that count something, each as its
/// non-zero minutes.
async fn session_windows(
    app: &TestApp,
) -> std::collections::BTreeMap<String, std::collections::BTreeMap<String, i64>> {
    app.snapshot()
        .await
        .into_iter()
        .filter(|(key, _)| key.starts_with("TALLY#SESSIONS#"))
        .map(|(key, item)| {
            let minutes = item
                .as_object()
                .unwrap()
                .iter()
                .filter(|(name, _)| name.starts_with('m'))
                .map(|(name, n)| (name.clone(), n.as_f64().unwrap() as i64))
                .filter(|(_, n)| *n != 0)
                .collect();
            (key, minutes)
        })
        .filter(
            |(_, minutes): &(String, std::collections::BTreeMap<String, i64>)| !minutes.is_empty(),
        )
        .collect()
}

#[tokio::test]
async fn a_reset_takes_the_sessions_it_revokes_off_the_active_session_tallies() {
    use shared::ids::{PartnerId, SessionId, TenantId};
    use shared::store::tally::{self, TallyDeltas};
    use shared::time::Timestamp;
    let Some(w) = world().await else { return };
    let app = &w.app;
    let id = create_user(app, &w.root, &w.acme_hq, "busy@acme.test").await;
    let untouched = session_windows(app).await;
    let tenant = TenantId::parse(&w.acme_hq).unwrap();
    let partner = PartnerId::parse(&w.acme).unwrap();
    // 95 counted sessions ending on whole minutes over five days (more than the reset's own
    // transaction holds with their windows), counted as a login counts them; two from before
    // the tallies (not whole minutes), never counted; and one revoked already (its count was
    // taken off then), which the reset must not take off again.
    let store = app.state.store();
    let now = Timestamp::now();
    let mut counted = TallyDeltas::default();
    for i in 0..98_i64 {
        let expires = match i {
            95 | 96 => now.plus(std::time::Duration::from_millis(7_200_123)),
            _ => Timestamp::from_unix((now.unix() / 60 + 60 + i * 61) * 60).unwrap(),
        };
        let status = if i == 97 { "REVOKED" } else { "ACTIVE" };
        if i < 95 {
            tally::session_delta(&mut counted, &tenant, Some(&partner), expires, 1);
        }
        let session = SessionId::generate().to_string();
        let item = json!({
            "PK": format!("SESSION#{session}"), "SK": "SESSION", "entity": "SESSION",
            "GSI1PK": format!("USER#{id}#SESSIONS"), "GSI1SK": session,
            "id": session, "user_id": id, "email": "busy@acme.test", "tenant_id": w.acme_hq,
            "partner_id": w.acme, "role": "tenant_admin", "status": status,
            "created_at": now.to_string(), "expires_at": expires.to_string(),
            "refresh_generation": 0
        });
        store
            .client()
            .put_item()
            .table_name(store.table())
            .set_item(Some(serde_dynamo::to_item(item).unwrap()))
            .send()
            .await
            .unwrap();
    }
    let mut tx = store.tx();
    counted.apply(&mut tx).unwrap();
    store.transact(tx).await.unwrap();
    let seeded = session_windows(app).await;
    assert_ne!(seeded, untouched);
    let fence = tally::fence_key(&tenant);
    let fence_before = stored_number(&app.snapshot().await, &fence, "v");

    let reset = app
        .post(
            &format!("{BASE}/{id}/reset-password"),
            &w.root,
            json!({"generate": true}),
        )
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
    assert_eq!(reset.body["revoked_sessions"], 97);
    assert_eq!(session_windows(app).await, untouched);
    let table = app.snapshot().await;
    let revoked = table
        .values()
        .filter(|i| i["user_id"] == id.as_str() && i["status"] == "REVOKED")
        .count();
    assert_eq!(revoked, 98);
    assert!(
        stored_number(&table, &fence, "v") > fence_before,
        "the tenant's fence moved with its share"
    );
}

#[tokio::test]
async fn a_reset_takes_the_sessions_of_real_logins_off_the_tallies() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let untouched = session_windows(app).await;
    app.admin_token(
        "ta@acme.test",
        AdminRole::TenantAdmin,
        None,
        Some(&w.acme_hq),
    )
    .await;
    app.login("ta@acme.test", "admin-password-for-tests").await;
    assert_ne!(session_windows(app).await, untouched, "logins count");
    let found = app.get(&format!("{BASE}?search=ta@acme"), &w.root).await;
    let ta = ids(&found)[0].clone();
    let reset = app
        .post(
            &format!("{BASE}/{ta}/reset-password"),
            &w.root,
            json!({"generate": true}),
        )
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
    assert_eq!(reset.body["revoked_sessions"], 2);
    assert_eq!(session_windows(app).await, untouched);
}
