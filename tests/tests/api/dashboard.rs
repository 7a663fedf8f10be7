//! Dashboard: every number equals the total of the matching list for the same caller, for each
//! tier, after creates, deletes, revocations, decisions, a tenant's transfer, delete and
//! restore; it is read in one batch after the session check; activity shows the latest events
//! within reach only.

use std::collections::BTreeMap;

use api_tests::lambda::{HttpApiEvent, LambdaFunction};
use api_tests::{TestApp, World, world};
use axum::http::StatusCode;
use serde_json::{Value, json};
use shared::access::AdminRole;

const STATS: &str = "/api/v1/admin/dashboard/stats";
const ACTIVITY: &str = "/api/v1/admin/dashboard/activity";

/// The numbers of the dashboard, in the order of SPEC §4.13.
const NUMBERS: [&str; 8] = [
    "partners",
    "tenants",
    "users",
    "groups",
    "applications",
    "agents",
    "active_sessions",
    "pending_registration_requests",
];

async fn stats(app: &TestApp, token: &str) -> BTreeMap<String, u64> {
    let reply = app.get(STATS, token).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let object = reply.body.as_object().expect("an object");
    assert_eq!(object.len(), NUMBERS.len(), "{}", reply.body);
    NUMBERS
        .iter()
        .map(|n| {
            let value = reply.body[*n]
                .as_u64()
                .unwrap_or_else(|| panic!("{n} is a count: {}", reply.body));
            ((*n).to_owned(), value)
        })
        .collect()
}

/// `pagination.total` of a list (403 → 0: not within reach).
async fn total(app: &TestApp, path: &str, token: &str) -> u64 {
    let reply = app.get(path, token).await;
    if reply.status == StatusCode::FORBIDDEN {
        return 0;
    }
    assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
    reply.body["pagination"]["total"]
        .as_u64()
        .unwrap_or_else(|| panic!("{path}: {}", reply.body))
}

/// What the lists say the caller's reach holds (`partners` for a partner admin: its own one,
/// which it may read but not list).
async fn listed(app: &TestApp, token: &str, partner_admin: bool) -> BTreeMap<String, u64> {
    let partners = if partner_admin {
        1
    } else {
        total(app, "/api/v1/admin/partners", token).await
    };
    let mut out = BTreeMap::from([("partners".to_owned(), partners)]);
    for (number, path) in [
        ("tenants", "/api/v1/admin/tenants"),
        ("users", "/api/v1/admin/users"),
        ("groups", "/api/v1/admin/groups"),
        ("applications", "/api/v1/admin/applications"),
        ("agents", "/api/v1/admin/agents"),
        ("active_sessions", "/api/v1/admin/sessions"),
        (
            "pending_registration_requests",
            "/api/v1/admin/registration-requests?status=PENDING",
        ),
    ] {
        out.insert(number.to_owned(), total(app, path, token).await);
    }
    out
}

/// The admins of each tier, signed in.
struct Callers {
    acme_admin: String,
    globex_admin: String,
    hq_admin: String,
    lab_admin: String,
}

async fn callers(w: &World) -> Callers {
    let app = &w.app;
    Callers {
        acme_admin: app
            .admin_token("pa@acme.test", AdminRole::PartnerAdmin, Some(&w.acme), None)
            .await,
        globex_admin: app
            .admin_token(
                "pa@globex.test",
                AdminRole::PartnerAdmin,
                Some(&w.globex),
                None,
            )
            .await,
        hq_admin: app
            .admin_token("ta@hq.test", AdminRole::TenantAdmin, None, Some(&w.acme_hq))
            .await,
        lab_admin: app
            .admin_token(
                "ta@lab.test",
                AdminRole::TenantAdmin,
                None,
                Some(&w.acme_lab),
            )
            .await,
    }
}

async fn created(app: &TestApp, path: &str, token: &str, body: Value) -> String {
    let reply = app.post(path, token, body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{path}: {}", reply.body);
    reply.id()
}

/// Users, groups, applications of every scope, agents and registration requests of every
/// scope in acme's two tenants and globex's one.
async fn populate(w: &World) {
    let app = &w.app;
    let root = &w.root;
    for (tenant, label, n) in [
        (&w.acme_hq, "hq", 3),
        (&w.acme_lab, "lab", 2),
        (&w.globex_hq, "gx", 1),
    ] {
        for i in 0..n {
            let user = created(
                app,
                "/api/v1/admin/users",
                root,
                json!({"tenant_id": tenant, "email": format!("u{i}@{label}.test")}),
            )
            .await;
            if i == 0 {
                let gone = app
                    .delete(&format!("/api/v1/admin/users/{user}"), root)
                    .await;
                assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.body);
            }
            app.create_group(root, tenant, &format!("g{i}")).await;
            created(
                app,
                "/api/v1/admin/agents",
                root,
                json!({"tenant_id": tenant, "name": format!("a{i}")}),
            )
            .await;
        }
        created(
            app,
            "/api/v1/admin/applications",
            root,
            json!({"name": "t", "scope": "TENANT", "tenant_id": tenant, "application_type": "WEB"}),
        )
        .await;
        created(
            app,
            "/api/v1/admin/registration-requests",
            root,
            json!({"name": "r", "scope": "TENANT", "tenant_id": tenant, "application_type": "WEB",
                   "contact_email": "dev@example.com"}),
        )
        .await;
    }
    for partner in [&w.acme, &w.globex] {
        created(
            app,
            "/api/v1/admin/applications",
            root,
            json!({"name": "p", "scope": "PARTNER", "partner_id": partner, "application_type": "WEB"}),
        )
        .await;
        created(
            app,
            "/api/v1/admin/registration-requests",
            root,
            json!({"name": "r", "scope": "PARTNER", "partner_id": partner, "application_type": "WEB",
                   "contact_email": "dev@example.com"}),
        )
        .await;
    }
    created(
        app,
        "/api/v1/admin/applications",
        root,
        json!({"name": "g", "scope": "GLOBAL", "application_type": "WEB"}),
    )
    .await;
    let rrq = created(
        app,
        "/api/v1/admin/registration-requests",
        root,
        json!({"name": "r", "scope": "GLOBAL", "application_type": "WEB",
               "contact_email": "dev@example.com"}),
    )
    .await;
    let rejected = app
        .post(
            &format!("/api/v1/admin/registration-requests/{rrq}/reject"),
            root,
            json!({"reason": "no"}),
        )
        .await;
    assert_eq!(rejected.status, StatusCode::OK, "{}", rejected.body);
}

/// Every tier's dashboard equals its lists.
async fn assert_stats_match_lists(w: &World, c: &Callers, when: &str) {
    let app = &w.app;
    for (who, token, partner_admin) in [
        ("super admin", &w.root, false),
        ("acme's admin", &c.acme_admin, true),
        ("globex's admin", &c.globex_admin, true),
        ("acme-hq's admin", &c.hq_admin, false),
        ("acme-lab's admin", &c.lab_admin, false),
    ] {
        let expected = listed(app, token, partner_admin).await;
        let mut shown = stats(app, token).await;
        if !partner_admin && who != "super admin" {
            // A tenant admin lists its own tenant's row; the dashboard says 1 tenant, 0 partners.
            assert_eq!(shown["partners"], 0, "{who} {when}");
            shown.insert("partners".into(), expected["partners"]);
        }
        assert_eq!(shown, expected, "{who}'s dashboard {when}");
    }
}

#[tokio::test]
async fn every_number_is_the_total_of_its_list_for_every_tier_through_transfer_delete_and_restore()
{
    let Some(w) = world().await else { return };
    let app = &w.app;
    let c = callers(&w).await;
    populate(&w).await;
    assert_stats_match_lists(&w, &c, "after the writes").await;
    let acme = stats(app, &c.acme_admin).await;
    assert_eq!(acme["tenants"], 2);
    assert_eq!(
        acme["users"],
        2 + 1 + 2,
        "2 + 1 live created users and the 2 tenant admins"
    );
    assert_eq!(acme["groups"], 5);
    assert_eq!(acme["agents"], 5);
    assert_eq!(
        acme["applications"],
        1 + 1 + 2,
        "GLOBAL + acme's + its tenants'"
    );
    assert_eq!(acme["pending_registration_requests"], 1 + 2);
    assert_eq!(
        acme["active_sessions"], 2,
        "the two tenant admins' (acme's own admin's home is the platform tenant)"
    );

    // Sessions end: the lab admin signs out; every tier sees one fewer.
    let out = app
        .post("/api/v1/admin/auth/logout", &c.lab_admin, json!({}))
        .await;
    assert!(out.status.is_success(), "{}", out.body);
    let acme_after = stats(app, &c.acme_admin).await;
    assert_eq!(acme_after["active_sessions"], 1);
    app.login("ta@lab.test", "admin-password-for-tests").await;

    // acme-lab moves to globex: its whole share moves with it (its admin's session too: it
    // signed in under acme, so it signs in again to read its dashboard).
    app.move_tenant(&w.root, &w.acme_lab, &w.globex).await;
    let c = Callers {
        lab_admin: app.login("ta@lab.test", "admin-password-for-tests").await,
        ..c
    };
    assert_stats_match_lists(&w, &c, "after acme-lab moved to globex").await;
    let acme_moved = stats(app, &c.acme_admin).await;
    assert_eq!(acme_moved["users"], 3, "acme-hq's 2 users and its admin");
    assert_eq!(acme_moved["groups"], 3);

    // acme-hq is deleted: its share leaves acme; restored, it comes back.
    let deleted = app
        .delete(&format!("/api/v1/admin/tenants/{}", w.acme_hq), &w.root)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    let empty = stats(app, &c.acme_admin).await;
    for number in ["tenants", "users", "groups", "agents", "active_sessions"] {
        assert_eq!(empty[number], 0, "{number} of acme with no live tenant");
    }
    assert_eq!(
        empty["pending_registration_requests"], 1,
        "acme's own request"
    );
    let restored = app
        .post(
            &format!("/api/v1/admin/tenants/{}/restore", w.acme_hq),
            &w.root,
            json!({}),
        )
        .await;
    assert_eq!(restored.status, StatusCode::OK, "{}", restored.body);
    assert_eq!(stats(app, &c.acme_admin).await, acme_moved);
    assert_stats_match_lists(&w, &c, "after acme-hq's delete and restore").await;
}

#[tokio::test]
async fn stats_are_one_batch_after_the_session_check_whatever_the_reach() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let c = callers(&w).await;
    for token in [&w.root, &c.acme_admin, &c.hq_admin] {
        stats(app, token).await;
        let before = app.calls();
        stats(app, token).await;
        assert_eq!(app.calls() - before, 2, "the session check, then one batch");
    }
}

#[tokio::test]
async fn activity_shows_the_latest_events_within_reach_newest_first() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let c = callers(&w).await;
    for (tenant, name) in [
        (&w.acme_hq, "hq"),
        (&w.acme_lab, "lab"),
        (&w.globex_hq, "gx"),
    ] {
        app.create_group(&w.root, tenant, name).await;
    }
    let events = |reply: &api_tests::Reply| -> Vec<Value> {
        reply.body["items"]
            .as_array()
            .unwrap_or_else(|| panic!("{}", reply.body))
            .clone()
    };
    let all = app.get(&format!("{ACTIVITY}?limit=100"), &w.root).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    let all = events(&all);
    let ids: Vec<&str> = all.iter().map(|e| e["id"].as_str().unwrap()).collect();
    let mut sorted = ids.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(ids, sorted, "newest first");
    assert_eq!(all[0]["action"], "group.create");

    let two = events(&app.get(&format!("{ACTIVITY}?limit=2"), &w.root).await);
    assert_eq!(two, all[..2].to_vec(), "a limit keeps the newest");
    let default = events(&app.get(ACTIVITY, &w.root).await);
    assert_eq!(default.len(), all.len().min(20));

    let hq = events(&app.get(ACTIVITY, &c.hq_admin).await);
    assert!(!hq.is_empty());
    assert!(
        hq.iter().all(|e| e["tenant_id"] == json!(w.acme_hq)),
        "{hq:?}"
    );
    let acme = events(&app.get(ACTIVITY, &c.acme_admin).await);
    assert!(acme.iter().any(|e| e["tenant_id"] == json!(w.acme_lab)));
    assert!(
        acme.iter().all(|e| e["partner_id"] == json!(w.acme)),
        "{acme:?}"
    );
    let globex = events(&app.get(ACTIVITY, &c.globex_admin).await);
    assert!(globex.iter().all(|e| e["partner_id"] == json!(w.globex)));

    for bad in ["0", "101", "x", "-1"] {
        let reply = app.get(&format!("{ACTIVITY}?limit={bad}"), &w.root).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            reply.body
        );
        assert_eq!(reply.body["detail"][0]["loc"], json!(["query", "limit"]));
    }
}

#[tokio::test]
async fn the_dashboard_wants_a_signed_in_admin() {
    let Some(w) = world().await else { return };
    for path in [STATS, ACTIVITY] {
        let reply = w.app.call(axum::http::Method::GET, path, None, None).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
        let forged = w.app.get(path, "not-a-token").await;
        assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn the_dashboard_binary_answers_api_gateway_events_as_the_local_server_does() {
    let Some(w) = world().await else { return };
    let Some(mut function) = LambdaFunction::start(&w.app, "dashboard").await else {
        return;
    };
    let route = "ANY /api/v1/admin/dashboard/{proxy+}";
    for (path, proxy) in [
        (STATS.to_owned(), "stats"),
        (format!("{ACTIVITY}?limit=3"), "activity"),
        (format!("{ACTIVITY}?limit=0"), "activity"),
    ] {
        let event = HttpApiEvent::new("GET", route, &path)
            .path_parameter("proxy", proxy)
            .bearer(&w.root);
        let lambda = function.invoke(&event).await;
        let local = w.app.send(event.to_request()).await;
        assert_eq!(
            (lambda.status, &lambda.body),
            (local.status, &local.body),
            "function (left) and local server (right) differ for {path}"
        );
    }
}

/// A deleted user's sessions end with it: out of the session lists and the active-session
/// counts at once (the session check refused them already), revoked, not left to expire.
#[tokio::test]
async fn deleting_a_user_ends_its_sessions_in_the_lists_and_the_counts() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let c = callers(&w).await;
    let second = app.login("ta@hq.test", "admin-password-for-tests").await;
    let before = stats(app, &w.root).await["active_sessions"];
    let me = app.get("/api/v1/admin/auth/me", &c.hq_admin).await;
    let user = me.body["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{}", me.body))
        .to_owned();
    let session = me.body["session"]["id"].as_str().unwrap().to_owned();
    let gone = app
        .delete(&format!("/api/v1/admin/users/{user}"), &w.root)
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.body);
    for token in [&c.hq_admin, &second] {
        let refused = app.get("/api/v1/admin/auth/me", token).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    }
    let after = stats(app, &w.root).await;
    assert_eq!(after["active_sessions"], before - 2, "both of its sessions");
    assert_eq!(
        after["active_sessions"],
        total(app, "/api/v1/admin/sessions", &w.root).await
    );
    assert_eq!(
        stats(app, &c.acme_admin).await["active_sessions"],
        1,
        "the lab admin's"
    );
    let read = app
        .get(&format!("/api/v1/admin/sessions/{session}"), &w.root)
        .await;
    assert_eq!(read.body["status"], "REVOKED", "{}", read.body);
}
