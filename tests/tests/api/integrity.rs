//! Cross-cutting guarantees (SPEC §5, §4.12): a refused request writes nothing, every write
//! commits its audit event, refusals are recorded, no secret reaches an event, and a database
//! outage is a 503 the client can retry.

use api_tests::*;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use shared::access::AdminRole;

const PARTNERS: &str = "/api/v1/admin/partners";
const TENANTS: &str = "/api/v1/admin/tenants";

fn events_with<'a>(events: &'a [Value], action: &str, result: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["action"] == action && e["result"] == result)
        .collect()
}

#[tokio::test]
async fn refused_writes_leave_the_table_exactly_as_it_was() {
    let Some(app) = spawn_app().await else { return };
    let root = app.root_token().await;
    let acme = app.create_partner(&root, "acme").await;
    let globex = app.create_partner(&root, "globex").await;
    let acme_hq = app.create_tenant(&root, &acme, "acme-hq").await;
    let acme_lab = app.create_tenant(&root, &acme, "acme-lab").await;
    app.create_tenant(&root, &globex, "globex-hq").await;
    let limited = app
        .patch(
            &format!("{PARTNERS}/{globex}"),
            &root,
            json!({"max_tenants": 1}),
        )
        .await;
    assert_eq!(limited.status, StatusCode::OK);
    let before = app.snapshot().await;

    // Conflicts found by a failed transaction condition (markers, counters) and by checks.
    let refusals = [
        (
            app.post(PARTNERS, &root, json!({"name": "A", "slug": "acme", "contact_email": "a@a.test"}))
                .await,
            StatusCode::CONFLICT,
        ),
        (
            app.post(TENANTS, &root, json!({"name": "T", "slug": "acme-hq", "partner_id": globex}))
                .await,
            StatusCode::CONFLICT,
        ),
        (
            app.post(TENANTS, &root, json!({"name": "T", "slug": "fresh", "partner_id": globex}))
                .await,
            StatusCode::CONFLICT,
        ),
        (
            app.patch(&format!("{PARTNERS}/{globex}"), &root, json!({"slug": "acme"}))
                .await,
            StatusCode::CONFLICT,
        ),
        (
            app.patch(&format!("{TENANTS}/{acme_lab}"), &root, json!({"slug": "acme-hq"}))
                .await,
            StatusCode::CONFLICT,
        ),
        (
            app.patch(&format!("{TENANTS}/{acme_lab}"), &root, json!({"partner_id": globex}))
                .await,
            StatusCode::CONFLICT,
        ),
        (
            app.delete(&format!("{PARTNERS}/{acme}"), &root).await,
            StatusCode::CONFLICT,
        ),
        (
            app.post(&format!("{TENANTS}/{acme_hq}/restore"), &root, json!({}))
                .await,
            StatusCode::CONFLICT,
        ),
        // Bad input never reaches the store.
        (
            app.post(TENANTS, &root, json!({"name": "T", "slug": "t-t", "partner_id": acme, "settings": {"password_policy": {"min_length": 1}}}))
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            app.patch(&format!("{PARTNERS}/{acme}"), &root, json!({"status": "bogus"}))
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            app.post(TENANTS, &root, json!({"name": "T", "slug": "t-t", "partner_id": "prt_00000000000000000000000000"}))
                .await,
            StatusCode::NOT_FOUND,
        ),
        (
            app.delete(&format!("{TENANTS}/tnt_00000000000000000000000000"), &root)
                .await,
            StatusCode::NOT_FOUND,
        ),
    ];
    for (i, (reply, status)) in refusals.iter().enumerate() {
        assert_eq!(reply.status, *status, "refusal {i}: {}", reply.body);
    }
    assert_eq!(
        app.snapshot().await,
        before,
        "a refused request changed the table"
    );
}

#[tokio::test]
async fn a_body_over_one_mebibyte_is_a_413_and_writes_nothing() {
    let Some(app) = spawn_app().await else { return };
    let root = app.root_token().await;
    let before = app.snapshot().await;
    let body = json!({"name": "x".repeat(1024 * 1024), "slug": "big", "contact_email": "a@a.test"});
    let request = Request::builder()
        .method(Method::POST)
        .uri(PARTNERS)
        .header("authorization", format!("Bearer {root}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let reply = app.send(request).await;
    assert_eq!(
        (reply.status, reply.body),
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            detail("Request body too large")
        )
    );
    assert!(reply.headers.contains_key("x-request-id"));
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn every_write_commits_its_event_with_changes_and_request_id() {
    let Some(app) = spawn_app().await else { return };
    let root = app.root_token().await;
    let created = app
        .post(
            PARTNERS,
            &root,
            json!({"name": "Acme", "slug": "acme", "contact_email": "ops@acme.test"}),
        )
        .await;
    let acme = created.id();
    let updated = app
        .patch(
            &format!("{PARTNERS}/{acme}"),
            &root,
            json!({"name": "Acme Corp"}),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK);
    let tenant = app.create_tenant(&root, &acme, "acme-hq").await;
    let deleted = app.delete(&format!("{TENANTS}/{tenant}"), &root).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);

    let events = app.audit_events_of_partner(&acme).await;
    let mut actions: Vec<&str> = events.iter().filter_map(|e| e["action"].as_str()).collect();
    actions.sort_unstable();
    assert_eq!(
        actions,
        [
            "partner.create",
            "partner.update",
            "tenant.create",
            "tenant.delete"
        ]
    );
    let update = events_with(&events, "partner.update", "SUCCESS")[0];
    assert_eq!(
        update["changes"],
        json!({"name": {"from": "Acme", "to": "Acme Corp"}})
    );
    assert_eq!(update["actor"]["type"], "admin");
    assert_eq!(update["actor"]["email"], ADMIN_EMAIL);
    assert_eq!(update["resource_type"], "partner");
    assert_eq!(update["resource_id"], acme.as_str());
    assert_eq!(update["partner_id"], acme.as_str());
    assert_eq!(
        update["request_id"],
        updated.headers["x-request-id"].to_str().unwrap()
    );
    let create = events_with(&events, "partner.create", "SUCCESS")[0];
    assert_eq!(
        create["changes"]["slug"],
        json!({"from": null, "to": "acme"})
    );
    let tenant_delete = events_with(&events, "tenant.delete", "SUCCESS")[0];
    assert_eq!(tenant_delete["tenant_id"], tenant.as_str());
    assert!(
        tenant_delete["ttl"].as_i64().unwrap_or(0) > 0,
        "events expire after the retention period"
    );
}

#[tokio::test]
async fn refused_logins_and_denied_writes_are_recorded_under_the_callers_tenant() {
    let Some(app) = spawn_app().await else { return };
    let root = app.root_token().await;
    let acme = app.create_partner(&root, "acme").await;
    let globex = app.create_partner(&root, "globex").await;
    let acme_hq = app.create_tenant(&root, &acme, "acme-hq").await;
    let globex_hq = app.create_tenant(&root, &globex, "globex-hq").await;
    let partner_admin = app
        .admin_token(
            "pa@acme.test",
            AdminRole::PartnerAdmin,
            Some(&acme),
            Some(&acme_hq),
        )
        .await;

    let denied = app
        .post(
            PARTNERS,
            &partner_admin,
            json!({"name": "Mine", "slug": "mine", "contact_email": "a@a.test"}),
        )
        .await;
    assert_eq!(
        (denied.status, denied.body),
        (StatusCode::FORBIDDEN, detail("Access denied"))
    );
    let foreign = app
        .patch(
            &format!("{TENANTS}/{globex_hq}"),
            &partner_admin,
            json!({"name": "Mine"}),
        )
        .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
    for _ in 0..5 {
        let reply = app.login_reply("pa@acme.test", "wrong password").await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let locked = app.login_reply("pa@acme.test", "wrong password").await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);

    let events = app.audit_events_of_partner(&acme).await;
    let create = events_with(&events, "partner.create", "DENIED");
    assert_eq!(create.len(), 1);
    assert_eq!(create[0]["actor"]["email"], "pa@acme.test");
    assert_eq!(create[0]["tenant_id"], acme_hq.as_str());
    let update = events_with(&events, "tenant.update", "DENIED");
    assert_eq!(update.len(), 1);
    assert_eq!(update[0]["resource_id"], globex_hq.as_str());
    assert_eq!(events_with(&events, "auth.login", "FAILURE").len(), 5);
    assert_eq!(events_with(&events, "auth.login", "DENIED").len(), 1);
    assert_eq!(events_with(&events, "auth.login", "SUCCESS").len(), 1);
    // The foreign partner learns nothing of the attempt on its tenant.
    let globex_events = app.audit_events_of_partner(&globex).await;
    assert!(
        globex_events.iter().all(|e| e["result"] == "SUCCESS"),
        "{globex_events:?}"
    );
}

#[tokio::test]
async fn no_password_hash_or_token_reaches_an_audit_event() {
    let Some(app) = spawn_app().await else { return };
    let login = app.login_reply(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let access = login.body["access_token"].as_str().unwrap().to_owned();
    let refresh = login.body["refresh_token"].as_str().unwrap().to_owned();
    let refreshed = app.refresh_reply(&refresh).await;
    assert_eq!(refreshed.status, StatusCode::OK);
    // Reuse revokes the session, which writes another event.
    let reused = app.refresh_reply(&refresh).await;
    assert_eq!(reused.status, StatusCode::UNAUTHORIZED);
    app.login_reply(ADMIN_EMAIL, "a wrong password").await;
    app.admin_token(
        "ta@platform.test",
        AdminRole::TenantAdmin,
        None,
        Some(&app.platform_tenant.to_string()),
    )
    .await;

    let events: Vec<Value> = app
        .snapshot()
        .await
        .into_values()
        .filter(|item| item["SK"] == "EVENT")
        .collect();
    assert!(events.len() >= 5, "{events:?}");
    let secrets = [
        ADMIN_PASSWORD,
        "a wrong password",
        "admin-password-for-tests",
        "$argon2",
        &access,
        &refresh,
        refresh.split_once('.').unwrap().1,
        refreshed.body["refresh_token"].as_str().unwrap(),
    ];
    for event in &events {
        let text = event.to_string();
        for secret in secrets {
            assert!(!text.contains(secret), "{secret} leaked into {text}");
        }
    }
}

#[tokio::test]
async fn an_unreachable_database_is_a_503_with_retry_after_and_health_stays_up() {
    let app = spawn_app_without_database().await;
    let login = app.login_reply(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(
        (login.status, login.body),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            detail("Service temporarily unavailable")
        )
    );
    let retry: u64 = login.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    assert!(login.headers.contains_key("x-request-id"));
    let health = app.call(Method::GET, "/api/v1/health", None, None).await;
    assert_eq!(
        (health.status, health.body),
        (StatusCode::OK, json!({"status": "ok"}))
    );
}

/// A tier that can never create partners or tenants is refused whatever it sends — an empty,
/// an invalid or a non-JSON body — with the refusal recorded and nothing else written.
#[tokio::test]
async fn forbidden_comes_before_invalid() {
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
    let before = app.snapshot().await;
    let attempts = [
        (&partner_admin, "/api/v1/admin/partners"),
        (&tenant_admin, "/api/v1/admin/partners"),
        (&partner_admin, "/api/v1/admin/tenants"),
        (&tenant_admin, "/api/v1/admin/tenants"),
    ];
    let mut denied = 0;
    for (token, path) in attempts {
        for body in ["{}", r#"{"slug": 5, "name": ""}"#, "not json at all"] {
            let request = Request::builder()
                .method(Method::POST)
                .uri(path)
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/json")
                .body(Body::from(body))
                .unwrap();
            let reply = app.send(request).await;
            assert_eq!(reply.status, StatusCode::FORBIDDEN, "{path} {body}");
            assert_eq!(reply.body, detail("Access denied"), "{path} {body}");
            denied += 1;
        }
    }
    let after = app.snapshot().await;
    let new: Vec<&Value> = after
        .iter()
        .filter(|(key, _)| !before.contains_key(*key))
        .map(|(_, item)| item)
        .collect();
    assert_eq!(
        new.len(),
        denied,
        "one DENIED event per refusal and nothing else"
    );
    assert!(new.iter().all(|item| item["result"] == "DENIED"));
}

#[tokio::test]
async fn refused_admin_role_writes_leave_the_table_exactly_as_it_was() {
    const ROLES: &str = "/api/v1/admin/admin-roles";
    let Some(app) = spawn_app().await else { return };
    let root = app.root_token().await;
    let acme = app.create_partner(&root, "acme").await;
    let globex = app.create_partner(&root, "globex").await;
    let acme_hq = app.create_tenant(&root, &acme, "acme-hq").await;
    let globex_hq = app.create_tenant(&root, &globex, "globex-hq").await;
    let ann = crate::admin_roles::plain_user(&app, &acme_hq, "kim@shared.test").await;
    let kim = crate::admin_roles::plain_user(&app, &globex_hq, "kim@shared.test").await;
    let granted = app
        .post(
            ROLES,
            &root,
            json!({"user_id": ann, "role": "TENANT_ADMIN", "tenant_id": acme_hq}),
        )
        .await;
    assert_eq!(granted.status, StatusCode::CREATED);
    let bob = crate::admin_roles::plain_user(&app, &acme_hq, "bob@acme.test").await;
    let revoked = app
        .post(
            ROLES,
            &root,
            json!({"user_id": bob, "role": "TENANT_ADMIN", "tenant_id": acme_hq}),
        )
        .await;
    assert_eq!(
        app.delete(&format!("{ROLES}/{}", revoked.id()), &root)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let before = app.snapshot().await;
    let refusals = [
        // The email holds admin roles in another tenant (the marker's guard).
        (
            app.post(
                ROLES,
                &root,
                json!({"user_id": kim, "role": "TENANT_ADMIN", "tenant_id": globex_hq}),
            )
            .await,
            StatusCode::CONFLICT,
        ),
        // The same role twice.
        (
            app.post(
                ROLES,
                &root,
                json!({"user_id": ann, "role": "TENANT_ADMIN", "tenant_id": acme_hq}),
            )
            .await,
            StatusCode::CONFLICT,
        ),
        // Revoked already.
        (
            app.delete(&format!("{ROLES}/{}", revoked.id()), &root)
                .await,
            StatusCode::CONFLICT,
        ),
        // A tenant that is not the user's.
        (
            app.post(
                ROLES,
                &root,
                json!({"user_id": ann, "role": "TENANT_ADMIN", "tenant_id": globex_hq}),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            app.post(
                ROLES,
                &root,
                json!({"user_id": "usr_00000000000000000000000000", "role": "SUPER_ADMIN"}),
            )
            .await,
            StatusCode::NOT_FOUND,
        ),
        (
            app.delete(&format!("{ROLES}/rol_00000000000000000000000000"), &root)
                .await,
            StatusCode::NOT_FOUND,
        ),
    ];
    for (i, (reply, status)) in refusals.iter().enumerate() {
        assert_eq!(reply.status, *status, "refusal {i}: {}", reply.body);
    }
    assert_eq!(
        app.snapshot().await,
        before,
        "a refused admin-role write changed the table"
    );
}

#[tokio::test]
async fn refused_user_writes_leave_the_table_exactly_as_it_was() {
    const USERS: &str = "/api/v1/admin/users";
    let Some(app) = spawn_app().await else { return };
    let root = app.root_token().await;
    let acme = app.create_partner(&root, "acme").await;
    let hq = app.create_tenant(&root, &acme, "acme-hq").await;
    let limited = app
        .patch(
            &format!("{PARTNERS}/{acme}"),
            &root,
            json!({"max_users_per_tenant": 2}),
        )
        .await;
    assert_eq!(limited.status, StatusCode::OK);
    let ann = app
        .post(
            USERS,
            &root,
            json!({"tenant_id": hq, "email": "ann@acme.test"}),
        )
        .await
        .id();
    let bob = app
        .post(
            USERS,
            &root,
            json!({"tenant_id": hq, "email": "bob@acme.test"}),
        )
        .await
        .id();
    let before = app.snapshot().await;
    let refusals = [
        (
            app.post(
                USERS,
                &root,
                json!({"tenant_id": hq, "email": "ANN@acme.test"}),
            )
            .await,
            StatusCode::CONFLICT,
        ),
        (
            app.post(
                USERS,
                &root,
                json!({"tenant_id": hq, "email": "carl@acme.test"}),
            )
            .await,
            StatusCode::CONFLICT,
        ),
        (
            app.patch(
                &format!("{USERS}/{bob}"),
                &root,
                json!({"email": "ann@acme.test"}),
            )
            .await,
            StatusCode::CONFLICT,
        ),
        (
            app.post(&format!("{USERS}/{ann}/restore"), &root, json!({}))
                .await,
            StatusCode::CONFLICT,
        ),
        (
            app.post(
                USERS,
                &root,
                json!({"tenant_id": hq, "email": "d@acme.test", "password": "short"}),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            app.patch(
                &format!("{USERS}/{ann}"),
                &root,
                json!({"password": "a-long-enough-password"}),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            app.patch(&format!("{USERS}/{ann}"), &root, json!({"manager_id": ann}))
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            app.post(
                &format!("{USERS}/{ann}/reset-password"),
                &root,
                json!({"new_password": "short"}),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            app.post(
                USERS,
                &root,
                json!({"tenant_id": "tnt_00000000000000000000000000", "email": "e@acme.test"}),
            )
            .await,
            StatusCode::NOT_FOUND,
        ),
        (
            app.delete(&format!("{USERS}/usr_00000000000000000000000000"), &root)
                .await,
            StatusCode::NOT_FOUND,
        ),
    ];
    for (i, (reply, status)) in refusals.iter().enumerate() {
        assert_eq!(reply.status, *status, "refusal {i}: {}", reply.body);
    }
    assert_eq!(
        app.snapshot().await,
        before,
        "a refused user write changed the table"
    );
}

/// Groups (SPEC §4.6): conflicts, cycles, foreign members and bad bodies write nothing.
#[tokio::test]
async fn refused_group_writes_leave_the_table_exactly_as_it_was() {
    let Some(app) = spawn_app().await else { return };
    let root = app.root_token().await;
    let acme = app.create_partner(&root, "acme").await;
    let hq = app.create_tenant(&root, &acme, "acme-hq").await;
    let lab = app.create_tenant(&root, &acme, "acme-lab").await;
    let a = app.create_group(&root, &hq, "A").await;
    let b = app.create_group(&root, &hq, "B").await;
    let user = app.put_user(&hq, "u@acme.test").await;
    let stranger = app.put_user(&lab, "s@acme.test").await;
    assert_eq!(
        app.add_member(&root, &a, json!({"group_id": b}))
            .await
            .status,
        StatusCode::CREATED
    );
    assert_eq!(
        app.add_member(&root, &a, json!({"user_id": user}))
            .await
            .status,
        StatusCode::CREATED
    );
    let before = app.snapshot().await;
    const GROUPS: &str = "/api/v1/admin/groups";
    let refusals = [
        (
            app.post(GROUPS, &root, json!({"tenant_id": hq, "name": "a"}))
                .await,
            StatusCode::CONFLICT,
        ),
        (
            app.patch(&format!("{GROUPS}/{b}"), &root, json!({"name": "A"}))
                .await,
            StatusCode::CONFLICT,
        ),
        (
            app.add_member(&root, &a, json!({"user_id": user})).await,
            StatusCode::CONFLICT,
        ),
        (
            app.add_member(&root, &a, json!({"group_id": b})).await,
            StatusCode::CONFLICT,
        ),
        (
            app.add_member(&root, &b, json!({"group_id": a})).await,
            StatusCode::CONFLICT,
        ),
        (
            app.add_member(&root, &b, json!({"group_id": b})).await,
            StatusCode::CONFLICT,
        ),
        (
            app.add_member(&root, &b, json!({"user_id": stranger}))
                .await,
            StatusCode::NOT_FOUND,
        ),
        (
            app.delete(&format!("{GROUPS}/{b}/members/{user}"), &root)
                .await,
            StatusCode::NOT_FOUND,
        ),
        (
            app.post(
                GROUPS,
                &root,
                json!({"tenant_id": "tnt_00000000000000000000000000", "name": "X"}),
            )
            .await,
            StatusCode::NOT_FOUND,
        ),
        (
            app.add_member(&root, &a, json!({"user_id": user, "group_id": b}))
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            app.post(
                GROUPS,
                &root,
                json!({"tenant_id": hq, "name": "", "group_type": "X"}),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    for (i, (reply, status)) in refusals.iter().enumerate() {
        assert_eq!(reply.status, *status, "refusal {i}: {}", reply.body);
    }
    assert_eq!(
        app.snapshot().await,
        before,
        "a refused group request changed the table"
    );
}
