//! Tenants (SPEC §4.3): CRUD, tiers and isolation, limits, transfer, races, round trips.

use api_tests::*;
use axum::http::StatusCode;
use serde_json::{Value, json};
use shared::access::AdminRole;

const BASE: &str = "/api/v1/admin/tenants";

#[tokio::test]
async fn a_tenant_is_created_with_settings_and_read_back() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let before = app.calls();
    let created = app
        .post(BASE, &w.root, json!({
            "name": "Initech", "slug": "initech", "partner_id": w.acme, "contact_email": "it@initech.test",
            "settings": {"password_policy": {"min_length": 14, "require_digit": true}, "theme": "dark"},
            "branding": {"logo": "https://initech.test/logo.png"}
        }))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(app.calls() - before, 2);
    assert_eq!(created.body["settings"]["theme"], "dark");
    assert_eq!(created.body["user_count"], 0);
    let before = app.calls();
    let read = app.get(&format!("{BASE}/{}", created.id()), &w.root).await;
    assert_eq!(app.calls() - before, 1);
    assert_eq!(read.body, created.body);
    assert_eq!(app.tenant_count(&w.root, &w.acme).await, 3);
}

#[tokio::test]
async fn bad_settings_and_unknown_partners_are_refused() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let bad = app.post(BASE, &w.root, json!({"name": "X", "slug": "x-x", "partner_id": w.acme, "settings": {"password_policy": {"min_length": 2}}})).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        bad.body["detail"][0]["loc"],
        json!(["body", "settings", "password_policy", "min_length"])
    );
    let big = app.post(BASE, &w.root, json!({"name": "X", "slug": "x-x", "partner_id": w.acme, "branding": {"a": "x".repeat(33 * 1024)}})).await;
    assert_eq!(big.body["detail"][0]["loc"], json!(["body", "branding"]));
    let unknown = app
        .post(
            BASE,
            &w.root,
            json!({"name": "X", "slug": "x-x", "partner_id": "prt_00000000000000000000000000"}),
        )
        .await;
    assert_eq!(
        (unknown.status, unknown.body),
        (StatusCode::NOT_FOUND, detail("Partner not found"))
    );
    let dup = app
        .post(
            BASE,
            &w.root,
            json!({"name": "X", "slug": "acme-hq", "partner_id": w.acme}),
        )
        .await;
    assert_eq!(
        (dup.status, dup.body),
        (StatusCode::CONFLICT, detail("Slug already in use"))
    );
    let patch_null = app
        .patch(
            &format!("{BASE}/{}", w.acme_hq),
            &w.root,
            json!({"name": null}),
        )
        .await;
    assert_eq!(patch_null.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn max_tenants_is_enforced_on_create_transfer_and_restore() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let limited = app
        .patch(
            &format!("/api/v1/admin/partners/{}", w.globex),
            &w.root,
            json!({"max_tenants": 1}),
        )
        .await;
    assert_eq!(limited.status, StatusCode::OK);
    let full = app
        .post(
            BASE,
            &w.root,
            json!({"name": "G2", "slug": "globex-two", "partner_id": w.globex}),
        )
        .await;
    assert_eq!(
        (full.status, full.body),
        (
            StatusCode::CONFLICT,
            detail("Tenant limit reached for partner")
        )
    );
    let transfer = app
        .patch(
            &format!("{BASE}/{}", w.acme_lab),
            &w.root,
            json!({"partner_id": w.globex}),
        )
        .await;
    assert_eq!(transfer.status, StatusCode::CONFLICT);
    // Room made: the transfer moves both partners' counters in one transaction.
    assert_eq!(
        app.delete(&format!("{BASE}/{}", w.globex_hq), &w.root)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let moved = app
        .patch(
            &format!("{BASE}/{}", w.acme_lab),
            &w.root,
            json!({"partner_id": w.globex}),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    assert_eq!(moved.body["partner_id"], w.globex.as_str());
    assert_eq!(app.tenant_count(&w.root, &w.acme).await, 1);
    assert_eq!(app.tenant_count(&w.root, &w.globex).await, 1);
    let restore = app
        .post(
            &format!("{BASE}/{}/restore", w.globex_hq),
            &w.root,
            json!({}),
        )
        .await;
    assert_eq!(
        (restore.status, restore.body),
        (
            StatusCode::CONFLICT,
            detail("Tenant limit reached for partner")
        )
    );
}

#[tokio::test]
async fn partner_admins_see_only_their_partners_tenants() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let pa = app
        .admin_token("pa@acme.test", AdminRole::PartnerAdmin, Some(&w.acme), None)
        .await;
    let list = app.get(BASE, &pa).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body["pagination"]["total"], 2);
    let slugs: Vec<&str> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, vec!["acme-lab", "acme-hq"]);
    assert_eq!(
        app.get(&format!("{BASE}/{}", w.acme_hq), &pa).await.status,
        StatusCode::OK
    );
    let foreign = app.get(&format!("{BASE}/{}", w.globex_hq), &pa).await;
    assert_eq!(
        (foreign.status, foreign.body),
        (StatusCode::FORBIDDEN, detail("Access denied"))
    );
    assert_eq!(
        app.get(&format!("{BASE}?partner_id={}", w.globex), &pa)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(&format!("{BASE}?partner_id={}", w.acme), &pa)
            .await
            .body["pagination"]["total"],
        2
    );
    assert_eq!(
        app.patch(&format!("{BASE}/{}", w.acme_hq), &pa, json!({"name": "x"}))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.patch(
            &format!("{BASE}/{}", w.globex_hq),
            &pa,
            json!({"name": "x"})
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.delete(&format!("{BASE}/{}", w.globex_hq), &pa)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let create = app
        .post(
            BASE,
            &pa,
            json!({"name": "N", "slug": "new-one", "partner_id": w.acme}),
        )
        .await;
    assert_eq!(create.status, StatusCode::FORBIDDEN);
    // A cursor from the super admin's list does not open the partner admin's list.
    let root_list = app.get(&format!("{BASE}?per_page=1"), &w.root).await;
    let cursor = root_list.body["pagination"]["next_cursor"]
        .as_str()
        .unwrap();
    let stolen = app
        .get(&format!("{BASE}?per_page=1&cursor={cursor}"), &pa)
        .await;
    assert_eq!(stolen.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn tenant_admins_see_only_their_own_tenant() {
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
    let list = app.get(BASE, &ta).await;
    assert_eq!(list.body["pagination"]["total"], 1);
    assert_eq!(list.body["items"][0]["id"], w.acme_hq.as_str());
    assert_eq!(
        app.get(&format!("{BASE}/{}", w.acme_hq), &ta).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get(&format!("{BASE}/{}", w.acme_lab), &ta).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(&format!("{BASE}/{}", w.globex_hq), &ta)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(&format!("{BASE}?partner_id={}", w.globex), &ta)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(&format!("{BASE}?search=lab"), &ta).await.body["pagination"]["total"],
        0
    );
    // Tenant writes are super_admin only, the admin's own tenant included.
    for tenant in [&w.acme_hq, &w.globex_hq] {
        let path = format!("{BASE}/{tenant}");
        let refused = [
            app.patch(&path, &ta, json!({"name": "x"})).await,
            app.delete(&path, &ta).await,
            app.post(&format!("{path}/restore"), &ta, json!({})).await,
        ];
        for reply in refused {
            assert_eq!(
                (reply.status, reply.body),
                (StatusCode::FORBIDDEN, detail("Access denied"))
            );
        }
    }
    let create = app
        .post(
            BASE,
            &ta,
            json!({"name": "T", "slug": "mine", "partner_id": w.acme}),
        )
        .await;
    assert_eq!(create.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get(&format!("{BASE}/{}", w.acme_hq), &w.root)
            .await
            .body["name"],
        "Tenant acme-hq"
    );
}

#[tokio::test]
async fn deleting_a_tenant_ends_its_admins_sessions_at_once() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let ta = app
        .admin_token(
            "ta@acme.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_lab),
        )
        .await;
    assert_eq!(
        app.get("/api/v1/admin/auth/me", &ta).await.status,
        StatusCode::OK
    );
    let before = app.calls();
    assert_eq!(
        app.delete(&format!("{BASE}/{}", w.acme_lab), &w.root)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.calls() - before,
        3,
        "batch, the tenant's share of its partner's counts (an isolated read), the transaction"
    );
    assert_eq!(
        app.get("/api/v1/admin/auth/me", &ta).await.status,
        StatusCode::UNAUTHORIZED
    );
    let list = app
        .get(&format!("{BASE}?partner_id={}", w.acme), &w.root)
        .await;
    assert_eq!(list.body["pagination"]["total"], 1);
    assert_eq!(
        app.get(&format!("{BASE}/{}", w.acme_lab), &w.root)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let restored = app
        .post(
            &format!("{BASE}/{}/restore", w.acme_lab),
            &w.root,
            json!({}),
        )
        .await;
    assert_eq!(restored.status, StatusCode::OK);
    assert_eq!(
        app.get(&format!("{BASE}?partner_id={}", w.acme), &w.root)
            .await
            .body["pagination"]["total"],
        2
    );
}

#[tokio::test]
async fn twenty_concurrent_creates_under_twenty_partners_keep_exact_totals() {
    let Some(app) = spawn_app().await else { return };
    let root = app.root_token().await;
    let mut partners = Vec::new();
    for i in 0..20 {
        partners.push(app.create_partner(&root, &format!("p{i:02}")).await);
    }
    let replies = join_all(
        partners
            .iter()
            .enumerate()
            .map(|(i, p)| {
                app.post(
                    BASE,
                    &root,
                    json!({"name": "T", "slug": format!("t{i:02}"), "partner_id": p}),
                )
            })
            .collect(),
    )
    .await;
    assert!(replies.iter().all(|r| r.status == StatusCode::CREATED));
    // The platform tenant plus twenty.
    assert_eq!(app.get(BASE, &root).await.body["pagination"]["total"], 21);
    assert_eq!(
        app.get(&format!("{BASE}?status=ACTIVE"), &root).await.body["pagination"]["total"],
        21
    );
    for p in &partners {
        assert_eq!(app.tenant_count(&root, p).await, 1);
    }
}

#[tokio::test]
async fn twenty_concurrent_creates_of_one_tenant_slug_make_one_tenant() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let replies = join_all(
        (0..20)
            .map(|_| {
                app.post(
                    BASE,
                    &w.root,
                    json!({"name": "R", "slug": "race", "partner_id": w.acme}),
                )
            })
            .collect(),
    )
    .await;
    let created = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    assert_eq!(created, 1);
    app.assert_single_winner("tenant", "race", &replies).await;
    assert_eq!(app.tenant_count(&w.root, &w.acme).await, 3);
}

#[tokio::test]
async fn collection_routes_answer_with_and_without_a_trailing_slash() {
    let Some(w) = world().await else { return };
    let with = w.app.get(&format!("{BASE}/"), &w.root).await;
    let without = w.app.get(BASE, &w.root).await;
    assert_eq!(with.status, StatusCode::OK);
    assert_eq!(with.body, without.body);
    let _ = (&w.globex, &w.acme_lab);
}

/// The platform partner and tenant are pinned by id: no suspend, delete, move or re-slug, and a
/// second bootstrap finds them even when their slugs no longer lead there.
#[tokio::test]
async fn the_platform_partner_and_tenant_cannot_be_suspended_deleted_moved_or_re_slugged() {
    let Some(app) = spawn_app().await else { return };
    let root = app.root_token().await;
    let other = app.create_partner(&root, "acme").await;
    let partner = format!("/api/v1/admin/partners/{}", app.platform_partner);
    let tenant = format!("/api/v1/admin/tenants/{}", app.platform_tenant);
    let before = app.snapshot().await;
    let partner_message = detail("The platform partner cannot be suspended or re-slugged");
    for body in [
        json!({"status": "SUSPENDED"}),
        json!({"slug": "not-platform"}),
    ] {
        let reply = app.patch(&partner, &root, body.clone()).await;
        assert_eq!(reply.status, StatusCode::CONFLICT, "{body}");
        assert_eq!(reply.body, partner_message);
    }
    let reply = app.delete(&partner, &root).await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(reply.body, detail("The platform partner cannot be deleted"));
    let tenant_message = detail("The platform tenant cannot be suspended, moved or re-slugged");
    for body in [
        json!({"status": "SUSPENDED"}),
        json!({"slug": "not-platform"}),
        json!({"partner_id": other}),
    ] {
        let reply = app.patch(&tenant, &root, body.clone()).await;
        assert_eq!(reply.status, StatusCode::CONFLICT, "{body}");
        assert_eq!(reply.body, tenant_message);
    }
    let reply = app.delete(&tenant, &root).await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(reply.body, detail("The platform tenant cannot be deleted"));
    assert_eq!(
        app.snapshot().await,
        before,
        "every refusal left the table as it was"
    );
    // Renaming is still allowed: only what identifies or gates the platform is pinned.
    let renamed = app
        .patch(&partner, &root, json!({"name": "Platform HQ"}))
        .await;
    assert_eq!(renamed.status, StatusCode::OK);

    // Even with its slug marker gone, bootstrap finds the pinned pair and creates nothing.
    let store = app.state.store();
    store
        .client()
        .delete_item()
        .table_name(store.table())
        .set_key(Some(
            shared::store::keys::partner_slug("platform").to_item(),
        ))
        .send()
        .await
        .unwrap();
    let (partner_id, tenant_id, created) =
        scaikey_cli::ops::ensure_platform(&app.state).await.unwrap();
    assert_eq!(
        (partner_id, tenant_id),
        (app.platform_partner.clone(), app.platform_tenant.clone())
    );
    assert!(created.is_empty(), "{created:?}");
}

/// Any JSON object within the size limit round-trips exactly — an empty key, unicode keys,
/// numbers DynamoDB could not store as numbers, 32 levels of nesting — and deeper is a 422
/// naming the place (issue 8 #1: these were 500s, then 422s).
#[tokio::test]
async fn free_form_settings_round_trip_exactly() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let deep = (0..shared::values::MAX_JSON_DEPTH - 1).fold(json!("leaf"), |v, _| json!({ "": v }));
    let odd = json!({
        "": {"a": 1},
        "ключ 🔑": [1e300, -2.5e-300, 123456789012345678_u64, null, {"": ""}],
        "deep": deep,
    });
    let path = format!("{BASE}/{}", w.acme_hq);
    let patched = app
        .patch(&path, &w.root, json!({"settings": odd, "branding": odd}))
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    let read = app.get(&path, &w.root).await;
    assert_eq!(read.body["settings"], odd);
    assert_eq!(read.body["branding"], odd);
    // The audit event records the change as it was, from nothing to the object.
    let events = app.audit_events_of_partner(&w.acme).await;
    let update = events
        .iter()
        .rev()
        .find(|e| e["action"] == "tenant.update")
        .expect("an update event");
    let changes: Value = match &update["changes"] {
        Value::String(text) => serde_json::from_str(text).unwrap(),
        other => other.clone(),
    };
    assert_eq!(changes["settings"]["to"], odd);
    let too_deep = json!({"deep": {"": deep}});
    let refused = app
        .patch(&path, &w.root, json!({"branding": too_deep}))
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    let mut loc = vec![json!("body"), json!("branding"), json!("deep")];
    loc.extend(std::iter::repeat_n(
        json!(""),
        shared::values::MAX_JSON_DEPTH,
    ));
    assert_eq!(refused.body["detail"][0]["loc"], Value::Array(loc));
}
