//! Partners (SPEC §4.2): CRUD, errors, tiers, races, round trips.

use api_tests::*;
use axum::http::StatusCode;
use serde_json::json;
use shared::access::AdminRole;

const BASE: &str = "/api/v1/admin/partners";

#[tokio::test]
async fn a_partner_is_created_read_updated_deleted_and_restored() {
    let Some(app) = spawn_app().await else { return };
    let root = app.root_token().await;
    let before = app.calls();
    let created = app
        .post(BASE, &root, json!({"name": "Acme", "slug": "acme", "contact_email": "Ops@Acme.test", "max_tenants": 2, "unknown": 1}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(app.calls() - before, 2, "session batch + one transaction");
    let id = created.id();
    assert!(id.starts_with("prt_"));
    assert_eq!(created.body["contact_email"], "ops@acme.test");
    assert_eq!(created.body["tenant_count"], 0);
    assert_eq!(created.body["max_users_per_tenant"], json!(null));

    let before = app.calls();
    let read = app.get(&format!("{BASE}/{id}"), &root).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(app.calls() - before, 1, "session and partner in one batch");
    assert_eq!(read.body, created.body);

    let before = app.calls();
    let updated = app
        .patch(
            &format!("{BASE}/{id}"),
            &root,
            json!({"name": "Acme Corp", "max_tenants": null}),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(app.calls() - before, 2);
    assert_eq!(updated.body["name"], "Acme Corp");
    assert_eq!(updated.body["max_tenants"], json!(null));
    assert_eq!(updated.body["slug"], "acme");

    let before = app.calls();
    let deleted = app.delete(&format!("{BASE}/{id}"), &root).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(deleted.body, json!(null));
    assert_eq!(app.calls() - before, 2);
    assert_eq!(
        app.get(&format!("{BASE}/{id}"), &root).await.body,
        detail("Partner not found")
    );
    assert_eq!(
        app.patch(&format!("{BASE}/{id}"), &root, json!({"name": "x"}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // The deleted partner still holds its slug.
    let again = app
        .post(
            BASE,
            &root,
            json!({"name": "Other", "slug": "acme", "contact_email": "a@b.test"}),
        )
        .await;
    assert_eq!(
        (again.status, again.body),
        (StatusCode::CONFLICT, detail("Slug already in use"))
    );

    let restored = app
        .post(&format!("{BASE}/{id}/restore"), &root, json!({}))
        .await;
    assert_eq!(restored.status, StatusCode::OK, "{}", restored.body);
    assert_eq!(restored.body["status"], "ACTIVE");
    let twice = app
        .post(&format!("{BASE}/{id}/restore"), &root, json!({}))
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn bad_bodies_get_fastapi_shaped_422s() {
    let Some(app) = spawn_app().await else { return };
    let root = app.root_token().await;
    let reply = app
        .post(
            BASE,
            &root,
            json!({"slug": "Bad Slug", "contact_email": 5, "max_tenants": -1, "status": "DELETED"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        reply.body,
        json!({"detail": [
            {"loc": ["body", "name"], "msg": "Field required", "type": "missing"},
            {"loc": ["body", "slug"], "msg": "String should match pattern '^[a-z0-9]+(-[a-z0-9]+)*$'", "type": "string_pattern_mismatch"},
            {"loc": ["body", "contact_email"], "msg": "Input should be a valid string", "type": "string_type"},
            {"loc": ["body", "status"], "msg": "Input should be 'ACTIVE' or 'SUSPENDED'", "type": "enum"},
            {"loc": ["body", "max_tenants"], "msg": "Input should be greater than or equal to 0", "type": "greater_than_equal"},
        ]})
    );
    let not_json = app
        .send(
            axum::http::Request::post(BASE)
                .header("authorization", format!("Bearer {root}"))
                .header("content-type", "application/json")
                .body(axum::body::Body::from("{not json"))
                .unwrap(),
        )
        .await;
    assert_eq!(not_json.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(not_json.body["detail"][0]["type"], "json_invalid");
    let array = app.post(BASE, &root, json!([1, 2])).await;
    assert_eq!(array.body["detail"][0]["type"], "model_attributes_type");
    let huge = app
        .post(BASE, &root, json!({"name": "x".repeat(1024 * 1024 + 10)}))
        .await;
    assert_eq!(
        (huge.status, huge.body),
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            detail("Request body too large")
        )
    );
    let bad_page = app.get(&format!("{BASE}?page=0&per_page=500"), &root).await;
    assert_eq!(bad_page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_page.body["detail"][0]["loc"], json!(["query", "page"]));
    assert_eq!(
        bad_page.body["detail"][1]["loc"],
        json!(["query", "per_page"])
    );
}

#[tokio::test]
async fn unknown_and_malformed_ids_are_404s() {
    let Some(app) = spawn_app().await else { return };
    let root = app.root_token().await;
    for id in [
        "prt_00000000000000000000000000",
        "tnt_00000000000000000000000000",
        "nonsense",
        "prt_",
    ] {
        let reply = app.get(&format!("{BASE}/{id}"), &root).await;
        assert_eq!(
            (reply.status, reply.body),
            (StatusCode::NOT_FOUND, detail("Partner not found")),
            "{id}"
        );
    }
}

#[tokio::test]
async fn only_super_admins_reach_partners() {
    let Some(app) = spawn_app().await else { return };
    let root = app.root_token().await;
    let partner = app.create_partner(&root, "acme").await;
    let tenant = app.create_tenant(&root, &partner, "acme-hq").await;
    let partner_admin = app
        .admin_token(
            "pa@acme.test",
            AdminRole::PartnerAdmin,
            Some(&partner),
            None,
        )
        .await;
    let tenant_admin = app
        .admin_token("ta@acme.test", AdminRole::TenantAdmin, None, Some(&tenant))
        .await;
    for token in [&partner_admin, &tenant_admin] {
        assert_eq!(app.get(BASE, token).await.body, detail("Access denied"));
        assert_eq!(
            app.get(&format!("{BASE}/{partner}"), token).await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            app.patch(&format!("{BASE}/{partner}"), token, json!({"name": "x"}))
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            app.delete(&format!("{BASE}/{partner}"), token).await.status,
            StatusCode::FORBIDDEN
        );
        let create = app
            .post(
                BASE,
                token,
                json!({"name": "N", "slug": "new-one", "contact_email": "a@b.test"}),
            )
            .await;
        assert_eq!(create.status, StatusCode::FORBIDDEN);
    }
}

#[tokio::test]
async fn a_partner_with_live_tenants_cannot_be_deleted() {
    let Some(app) = spawn_app().await else { return };
    let root = app.root_token().await;
    let partner = app.create_partner(&root, "acme").await;
    let tenant = app.create_tenant(&root, &partner, "acme-hq").await;
    let reply = app.delete(&format!("{BASE}/{partner}"), &root).await;
    assert_eq!(
        (reply.status, reply.body),
        (
            StatusCode::CONFLICT,
            detail("Partner still has live tenants")
        )
    );
    assert_eq!(
        app.delete(&format!("/api/v1/admin/tenants/{tenant}"), &root)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.tenant_count(&root, &partner).await, 0);
    assert_eq!(
        app.delete(&format!("{BASE}/{partner}"), &root).await.status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn twenty_concurrent_creates_of_one_slug_make_exactly_one_partner() {
    let Some(app) = spawn_app().await else { return };
    let root = app.root_token().await;
    let body = json!({"name": "Race", "slug": "race", "contact_email": "r@race.test"});
    let replies = join_all(
        (0..20)
            .map(|_| app.post(BASE, &root, body.clone()))
            .collect(),
    )
    .await;
    let created = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    let conflicts = replies
        .iter()
        .filter(|r| r.status == StatusCode::CONFLICT)
        .count();
    assert_eq!((created, conflicts), (1, 19));
    app.assert_single_winner("partner", "race", &replies).await;
    let list = app.get(&format!("{BASE}?search=race"), &root).await;
    assert_eq!(list.body["pagination"]["total"], 1);
    // The platform partner plus the winner: the failed transactions left no counter behind.
    assert_eq!(app.get(BASE, &root).await.body["pagination"]["total"], 2);
}

#[tokio::test]
async fn concurrent_patches_of_different_fields_are_both_kept() {
    let Some(app) = spawn_app().await else { return };
    let root = app.root_token().await;
    let id = app.create_partner(&root, "acme").await;
    let path = format!("{BASE}/{id}");
    let (a, b) = tokio::join!(
        app.patch(&path, &root, json!({"name": "Renamed"})),
        app.patch(&path, &root, json!({"max_tenants": 7}))
    );
    assert_eq!((a.status, b.status), (StatusCode::OK, StatusCode::OK));
    let read = app.get(&path, &root).await;
    assert_eq!(read.body["name"], "Renamed");
    assert_eq!(read.body["max_tenants"], 7);
}

#[tokio::test]
async fn lists_page_by_offset_and_by_signed_cursor() {
    let Some(app) = spawn_app().await else { return };
    let root = app.root_token().await;
    for slug in ["p-one", "p-two", "p-three"] {
        app.create_partner(&root, slug).await;
    }
    let before = app.calls();
    let first = app.get(&format!("{BASE}/?per_page=2"), &root).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(
        app.calls() - before,
        2,
        "session + counters in one batch, then one query"
    );
    assert_eq!(
        first.body["pagination"],
        json!({"page": 1, "per_page": 2, "total": 4, "total_pages": 2, "next_cursor": first.body["pagination"]["next_cursor"]})
    );
    assert_eq!(first.body["items"][0]["slug"], "p-three", "newest first");
    let cursor = first.body["pagination"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = app
        .get(&format!("{BASE}?per_page=2&cursor={cursor}"), &root)
        .await;
    assert_eq!(second.body["pagination"]["page"], 2);
    assert_eq!(second.body["items"][0]["slug"], "p-one");
    assert_eq!(second.body["pagination"]["next_cursor"], json!(null));
    let by_offset = app.get(&format!("{BASE}?per_page=2&page=2"), &root).await;
    assert_eq!(by_offset.body["items"], second.body["items"]);
    // A cursor replayed with other filters, or altered, is refused.
    let other = app
        .get(
            &format!("{BASE}?per_page=2&status=ACTIVE&cursor={cursor}"),
            &root,
        )
        .await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut forged = cursor.clone();
    forged.replace_range(3..4, if &cursor[3..4] == "A" { "B" } else { "A" });
    assert_eq!(
        app.get(&format!("{BASE}?per_page=2&cursor={forged}"), &root)
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let filtered = app.get(&format!("{BASE}?search=TWO"), &root).await;
    assert_eq!(filtered.body["pagination"]["total"], 1);
    assert_eq!(filtered.body["items"][0]["slug"], "p-two");
}

#[tokio::test]
async fn empty_filters_are_no_filters_and_deep_offsets_point_to_the_cursor() {
    let Some(app) = spawn_app().await else { return };
    let root = app.root_token().await;
    for slug in ["acme-one", "acme-two", "acme-three", "other"] {
        app.create_partner(&root, slug).await;
    }
    let all = app.get(BASE, &root).await;
    let empty = app.get(&format!("{BASE}?search=&status="), &root).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(empty.body["items"], all.body["items"]);
    assert_eq!(empty.body["pagination"]["total"], 5);

    let deep = app
        .get(&format!("{BASE}?page=101&per_page=100"), &root)
        .await;
    assert_eq!(deep.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(deep.body["detail"][0]["loc"], json!(["query", "page"]));
    assert!(
        deep.body["detail"][0]["msg"]
            .as_str()
            .unwrap()
            .contains("cursor"),
        "{}",
        deep.body
    );
    let deepest = app
        .get(&format!("{BASE}?page=100&per_page=100"), &root)
        .await;
    assert_eq!(deepest.status, StatusCode::OK);

    // A filtered list counts its total once, on its first page; its cursor carries it.
    let before = app.calls();
    let first = app
        .get(&format!("{BASE}?search=acme&per_page=2"), &root)
        .await;
    // The session batch, the page's queries (a filter may need more than one) and one COUNT.
    assert!(app.calls() - before >= 3);
    assert_eq!(first.body["pagination"]["total"], 3);
    let cursor = first.body["pagination"]["next_cursor"].as_str().unwrap();
    let before = app.calls();
    let second = app
        .get(
            &format!("{BASE}?search=acme&per_page=2&cursor={cursor}"),
            &root,
        )
        .await;
    assert_eq!(app.calls() - before, 2, "no recount on a cursor page");
    assert_eq!(second.body["pagination"]["total"], 3);
    assert_eq!(second.body["items"].as_array().unwrap().len(), 1);
}
