//! Application assignments (SPEC §4.7, ours): assigning users and groups to applications at
//! the three tiers, coverage (GLOBAL / PARTNER / TENANT), reach (tiers × foreign ids), races,
//! effective users through nested groups, the reverse views (a user's and a group's
//! applications), deleted users, apps and transferred tenants, an application's own platform
//! token, audit events and round trips.

use std::collections::BTreeSet;

use api_tests::*;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use data_encoding::BASE64;
use serde_json::{Value, json};
use shared::access::AdminRole;
use shared::ids::{GroupId, UserId};

const APPS: &str = "/api/v1/admin/applications";
const USERS: &str = "/api/v1/admin/users";
const GROUPS: &str = "/api/v1/admin/groups";
const PLATFORM_TOKEN: &str = "/api/v1/platform/oauth/token";
const SCOPE_MISSING: &str = "Platform token requires admin:read or admin:write scope";
const ALREADY: &str = "Already assigned to this application";

/// Every field of an assignment.
const ASSIGNMENT_FIELDS: [&str; 10] = [
    "id",
    "application_id",
    "assignee_type",
    "user_id",
    "group_id",
    "tenant_id",
    "name",
    "email",
    "created_at",
    "created_by",
];

/// Every field of an effective user.
const EFFECTIVE_FIELDS: [&str; 9] = [
    "id",
    "email",
    "first_name",
    "last_name",
    "display_name",
    "status",
    "tenant_id",
    "tenant_slug",
    "via",
];

fn assignments_path(app: &str) -> String {
    format!("{APPS}/{app}/assignments")
}

fn assignment_path(app: &str, assignee: &str) -> String {
    format!("{APPS}/{app}/assignments/{assignee}")
}

fn effective_path(app: &str) -> String {
    format!("{APPS}/{app}/effective-users")
}

fn user_apps_path(user: &str) -> String {
    format!("{USERS}/{user}/applications")
}

fn group_apps_path(group: &str) -> String {
    format!("{GROUPS}/{group}/applications")
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

fn set_of(fields: &[&str]) -> BTreeSet<String> {
    fields.iter().map(|f| (*f).to_owned()).collect()
}

/// The `via` of the item with id `id` in a list reply.
fn via_of(reply: &Reply, id: &str) -> Value {
    reply.body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a list: {}", reply.body))
        .iter()
        .find(|i| i["id"] == id)
        .unwrap_or_else(|| panic!("{id} is not listed: {}", reply.body))["via"]
        .clone()
}

/// `{field: id}`.
fn one(field: &str, id: &str) -> Value {
    let mut body = serde_json::Map::new();
    body.insert(field.to_owned(), json!(id));
    Value::Object(body)
}

/// A group path as the API shows it.
fn path(groups: &[&String]) -> Value {
    json!(groups)
}

/// Creates an application as `token`, asserting 201: its id.
async fn create_app(app: &TestApp, token: &str, body: Value) -> String {
    let reply = app.post(APPS, token, body.clone()).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{body}: {}", reply.body);
    reply.id()
}

fn global(name: &str) -> Value {
    json!({"name": name, "scope": "GLOBAL", "application_type": "WEB"})
}

fn partner_app(name: &str, partner: &str) -> Value {
    json!({"name": name, "scope": "PARTNER", "partner_id": partner, "application_type": "WEB"})
}

fn tenant_app(name: &str, tenant: &str) -> Value {
    json!({"name": name, "scope": "TENANT", "tenant_id": tenant, "application_type": "WEB"})
}

async fn assign(app: &TestApp, token: &str, application: &str, body: Value) -> Reply {
    app.post(&assignments_path(application), token, body).await
}

/// Assigns, asserting 201.
async fn assigned(app: &TestApp, token: &str, application: &str, body: Value) -> Reply {
    let reply = assign(app, token, application, body.clone()).await;
    assert_eq!(
        reply.status,
        StatusCode::CREATED,
        "{application} ← {body}: {}",
        reply.body
    );
    reply
}

/// Adds a member, asserting 201.
async fn member(app: &TestApp, token: &str, group: &str, body: Value) {
    let reply = app.add_member(token, group, body.clone()).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{body}: {}", reply.body);
}

/// A user created through the users API, with names.
async fn named_user(
    app: &TestApp,
    token: &str,
    tenant: &str,
    email: &str,
    first: &str,
    last: &str,
) -> String {
    let reply = app
        .post(
            USERS,
            token,
            json!({"tenant_id": tenant, "email": email, "first_name": first, "last_name": last,
                   "display_name": format!("{first} {last}")}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.id()
}

/// The items written since `before`, after proving they are only DENIED events and nothing
/// of `before` changed.
async fn only_denied_events_since(
    app: &TestApp,
    before: &std::collections::BTreeMap<String, Value>,
) -> Vec<Value> {
    let new = added_since(app, before).await;
    assert!(
        new.iter()
            .all(|i| i["SK"] == "EVENT" && i["result"] == "DENIED"),
        "{new:?}"
    );
    new
}

/// Assign a user and a group: every field of the response, the list (newest first, items as
/// created), 409 on a second assignment, removal (204, then 404), malformed ids (404), and the
/// audit events filed under the assignee's tenant.
#[tokio::test]
async fn a_user_and_a_group_are_assigned_listed_and_unassigned() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let portal = create_app(app, &w.root, global("Portal")).await;
    let ann = named_user(app, &w.root, &w.acme_hq, "ann@acme.test", "Ann", "Lee").await;
    let team = app.create_group(&w.root, &w.acme_hq, "Team").await;

    let user = assigned(app, &w.root, &portal, json!({"user_id": ann})).await;
    let b = &user.body;
    assert_eq!(keys(b), set_of(&ASSIGNMENT_FIELDS));
    assert_eq!(b["id"], ann.as_str());
    assert_eq!(b["application_id"], portal.as_str());
    assert_eq!(b["assignee_type"], "USER");
    assert_eq!(b["user_id"], ann.as_str());
    assert_eq!(b["group_id"], Value::Null);
    assert_eq!(b["tenant_id"], w.acme_hq.as_str());
    assert_eq!(b["name"], "Ann Lee");
    assert_eq!(b["email"], "ann@acme.test");
    assert!(shared::time::Timestamp::parse(b["created_at"].as_str().unwrap()).is_some());
    assert!(b["created_by"].as_str().unwrap().starts_with("usr_"), "{b}");

    let group = assigned(app, &w.root, &portal, json!({"group_id": team})).await;
    let b = &group.body;
    assert_eq!(keys(b), set_of(&ASSIGNMENT_FIELDS));
    assert_eq!(b["id"], team.as_str());
    assert_eq!(b["assignee_type"], "GROUP");
    assert_eq!(b["user_id"], Value::Null);
    assert_eq!(b["group_id"], team.as_str());
    assert_eq!(b["tenant_id"], w.acme_hq.as_str());
    assert_eq!(b["name"], "Team");
    assert_eq!(b["email"], Value::Null);
    assert_eq!(b["created_by"], user.body["created_by"]);

    let list = app.get(&assignments_path(&portal), &w.root).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert_eq!(ids(&list), vec![team.clone(), ann.clone()], "newest first");
    assert_eq!(total(&list), 2);
    assert_eq!(list.body["items"][0], group.body);
    assert_eq!(list.body["items"][1], user.body);
    let first = app
        .get(
            &format!("{}?per_page=1", assignments_path(&portal)),
            &w.root,
        )
        .await;
    assert_eq!(ids(&first), vec![team.clone()]);
    let cursor = first.body["pagination"]["next_cursor"]
        .as_str()
        .expect("a next cursor")
        .to_owned();
    let second = app
        .get(
            &format!("{}?per_page=1&cursor={cursor}", assignments_path(&portal)),
            &w.root,
        )
        .await;
    assert_eq!(ids(&second), vec![ann.clone()]);
    assert!(second.body["pagination"]["next_cursor"].is_null());

    // Twice: 409, nothing written.
    let before = app.snapshot().await;
    for body in [json!({"user_id": ann}), json!({"group_id": team})] {
        let again = assign(app, &w.root, &portal, body).await;
        assert_eq!(
            (again.status, again.body),
            (StatusCode::CONFLICT, detail(ALREADY))
        );
    }
    assert_eq!(app.snapshot().await, before);

    // Removal: 204, then 404; malformed and unknown ids are 404.
    let removed = app.delete(&assignment_path(&portal, &ann), &w.root).await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.body);
    assert_eq!(removed.body, Value::Null);
    let before = app.snapshot().await;
    for assignee in [
        ann.clone(),
        "not-an-id".to_owned(),
        UserId::generate().to_string(),
        GroupId::generate().to_string(),
        w.acme_hq.clone(),
    ] {
        let again = app
            .delete(&assignment_path(&portal, &assignee), &w.root)
            .await;
        assert_eq!(
            (again.status, again.body),
            (StatusCode::NOT_FOUND, detail("Assignment not found")),
            "{assignee}"
        );
    }
    assert_eq!(app.snapshot().await, before, "404s wrote nothing");
    let list = app.get(&assignments_path(&portal), &w.root).await;
    assert_eq!(ids(&list), vec![team.clone()]);
    assert_eq!(total(&list), 1);
    // Once removed, it may be assigned again.
    assigned(app, &w.root, &portal, json!({"user_id": ann})).await;

    // Audit: filed under the assignee's tenant (and its partner), naming the application.
    let events = app.audit_events_of_partner(&w.acme).await;
    let mine: Vec<&Value> = events
        .iter()
        .filter(|e| e["action"] == "application.assign" || e["action"] == "application.unassign")
        .collect();
    let actions: Vec<&str> = mine.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        vec![
            "application.assign",
            "application.assign",
            "application.unassign",
            "application.assign"
        ]
    );
    for e in &mine {
        assert_eq!(e["resource_id"], portal.as_str(), "{e}");
        assert_eq!(e["tenant_id"], w.acme_hq.as_str(), "{e}");
        assert_eq!(e["partner_id"], w.acme.as_str(), "{e}");
        assert_eq!(e["result"], "SUCCESS", "{e}");
    }
    assert_eq!(
        mine[1]["changes"]["assignee"]["to"],
        json!({"type": "GROUP", "id": team}),
        "{}",
        mine[1]
    );
    // Nothing of it under the other partner.
    assert!(
        !app.audit_events_of_partner(&w.globex)
            .await
            .iter()
            .any(|e| e["resource_id"] == portal.as_str())
    );
    // The unassign event names the assignee it removed (`changes.assignee.from`), as a
    // member_remove should: the audit trail must say which assignment went.
    assert_eq!(
        mine[2]["changes"]["assignee"]["from"],
        json!({"type": "USER", "id": ann}),
        "{}",
        mine[2]
    );
    let _ = (&w.acme_lab, &w.globex_hq);
}

/// Bodies naming both, neither or a malformed assignee are 422 (nothing written); unknown
/// users and groups are 404 with their own detail; unknown, malformed and deleted applications
/// are 404 on every route.
#[tokio::test]
async fn bad_bodies_unknown_assignees_and_unknown_or_deleted_apps_are_refused() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let portal = create_app(app, &w.root, global("Portal")).await;
    let ann = app.put_user(&w.acme_hq, "ann@acme.test").await;
    let team = app.create_group(&w.root, &w.acme_hq, "Team").await;
    let path = assignments_path(&portal);
    for body in [
        json!({}),
        json!({"user_id": ann, "group_id": team}),
        json!({"user_id": "usr_x"}),
        json!({"user_id": null}),
        json!({"user_id": team}),
    ] {
        assert_invalid(app, Method::POST, &path, &w.root, body, "user_id").await;
    }
    for body in [json!({"group_id": "grp_x"}), json!({"group_id": ann})] {
        assert_invalid(app, Method::POST, &path, &w.root, body, "group_id").await;
    }
    let before = app.snapshot().await;
    for (body, text) in [
        (
            json!({"user_id": UserId::generate().to_string()}),
            "User not found",
        ),
        (
            json!({"group_id": GroupId::generate().to_string()}),
            "Group not found",
        ),
    ] {
        let reply = assign(app, &w.root, &portal, body.clone()).await;
        assert_eq!(
            (reply.status, reply.body),
            (StatusCode::NOT_FOUND, detail(text)),
            "{body}"
        );
    }
    assert_eq!(app.snapshot().await, before);

    // A deleted group and a deleted user are not found either.
    let gone = app.create_group(&w.root, &w.acme_hq, "Gone").await;
    assert_eq!(
        app.delete(&format!("{GROUPS}/{gone}"), &w.root)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let ghost = app.put_user(&w.acme_hq, "ghost@acme.test").await;
    app.mark_user_deleted(&ghost).await;
    for (body, text) in [
        (json!({"group_id": gone}), "Group not found"),
        (json!({"user_id": ghost}), "User not found"),
    ] {
        let reply = assign(app, &w.root, &portal, body.clone()).await;
        assert_eq!(
            (reply.status, reply.body),
            (StatusCode::NOT_FOUND, detail(text)),
            "{body}"
        );
    }

    // Unknown, malformed, another kind of id, and deleted applications: 404 on every route.
    assigned(app, &w.root, &portal, json!({"user_id": ann})).await;
    let doomed = create_app(app, &w.root, global("Doomed")).await;
    assigned(app, &w.root, &doomed, json!({"user_id": ann})).await;
    assert_eq!(
        app.delete(&format!("{APPS}/{doomed}"), &w.root)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    for application in [
        "app_00000000000000000000000000".to_owned(),
        "not-an-id".to_owned(),
        team.clone(),
        doomed.clone(),
    ] {
        let replies = [
            assign(app, &w.root, &application, json!({"user_id": ann})).await,
            app.get(&assignments_path(&application), &w.root).await,
            app.delete(&assignment_path(&application, &ann), &w.root)
                .await,
            app.get(&effective_path(&application), &w.root).await,
        ];
        for (i, reply) in replies.iter().enumerate() {
            assert_eq!(
                (reply.status, &reply.body),
                (StatusCode::NOT_FOUND, &detail("Application not found")),
                "route {i} of {application}"
            );
        }
    }
    let _ = (&w.acme_lab, &w.globex_hq, &w.globex);
}

/// GLOBAL applications cover every tenant, PARTNER ones their partner's tenants, TENANT ones
/// their tenant: an assignee elsewhere is 422 at `user_id` / `group_id`, nothing written.
#[tokio::test]
async fn an_assignee_must_be_in_a_tenant_the_application_covers() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let g = create_app(app, &w.root, global("G")).await;
    let p = create_app(app, &w.root, partner_app("P", &w.acme)).await;
    let t = create_app(app, &w.root, tenant_app("T", &w.acme_hq)).await;
    let hq_user = app.put_user(&w.acme_hq, "hq@acme.test").await;
    let lab_user = app.put_user(&w.acme_lab, "lab@acme.test").await;
    let globex_user = app.put_user(&w.globex_hq, "g@globex.test").await;
    let hq_group = app.create_group(&w.root, &w.acme_hq, "HQ").await;
    let lab_group = app.create_group(&w.root, &w.acme_lab, "Lab").await;
    let globex_group = app.create_group(&w.root, &w.globex_hq, "Globex").await;

    // (app, covered assignees, assignees outside)
    let cases = [
        (
            &g,
            vec![
                ("user_id", &hq_user),
                ("user_id", &lab_user),
                ("user_id", &globex_user),
                ("group_id", &hq_group),
                ("group_id", &globex_group),
            ],
            vec![],
        ),
        (
            &p,
            vec![
                ("user_id", &hq_user),
                ("user_id", &lab_user),
                ("group_id", &lab_group),
            ],
            vec![("user_id", &globex_user), ("group_id", &globex_group)],
        ),
        (
            &t,
            vec![("user_id", &hq_user), ("group_id", &hq_group)],
            vec![
                ("user_id", &lab_user),
                ("user_id", &globex_user),
                ("group_id", &lab_group),
                ("group_id", &globex_group),
            ],
        ),
    ];
    for (application, inside, outside) in cases {
        for (field, id) in &outside {
            let reply = assert_invalid(
                app,
                Method::POST,
                &assignments_path(application),
                &w.root,
                one(field, id),
                field,
            )
            .await;
            assert_eq!(locs(&reply), vec![json!(["body", field])], "{}", reply.body);
        }
        for (field, id) in &inside {
            let reply = assigned(app, &w.root, application, one(field, id)).await;
            assert_eq!(reply.body["id"], id.as_str());
        }
        let list = app.get(&assignments_path(application), &w.root).await;
        assert_eq!(total(&list), inside.len());
    }
}

/// Tiers × foreign ids. A tenant admin reaches GLOBAL apps, its partner's PARTNER apps and its
/// tenant's TENANT apps, and assigns only its own tenant's users and groups; a partner admin
/// reaches GLOBAL apps, its PARTNER apps and its tenants' TENANT apps, and assigns its tenants'
/// users and groups. An unreadable app is 403 (audited DENIED, nothing else written); a
/// foreign assignee 404; lists show only what lies within reach.
#[tokio::test]
async fn every_tier_assigns_and_sees_only_within_its_reach() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let g = create_app(app, &w.root, global("G")).await;
    let p_acme = create_app(app, &w.root, partner_app("PA", &w.acme)).await;
    let p_globex = create_app(app, &w.root, partner_app("PG", &w.globex)).await;
    let t_hq = create_app(app, &w.root, tenant_app("THQ", &w.acme_hq)).await;
    let t_lab = create_app(app, &w.root, tenant_app("TLab", &w.acme_lab)).await;
    let t_globex = create_app(app, &w.root, tenant_app("TG", &w.globex_hq)).await;
    let hq_user = app.put_user(&w.acme_hq, "hq@acme.test").await;
    let lab_user = app.put_user(&w.acme_lab, "lab@acme.test").await;
    let globex_user = app.put_user(&w.globex_hq, "g@globex.test").await;
    let hq_group = app.create_group(&w.root, &w.acme_hq, "HQ").await;
    let lab_group = app.create_group(&w.root, &w.acme_lab, "Lab").await;
    let globex_group = app.create_group(&w.root, &w.globex_hq, "Globex").await;
    // The super admin assigns one user of each tenant to the GLOBAL app.
    for u in [&hq_user, &lab_user, &globex_user] {
        assigned(app, &w.root, &g, json!({"user_id": u})).await;
    }
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

    // (token, readable apps, unreadable apps, assignees within reach (for G), outside,
    //  tenants listed on G, a tenant filter outside)
    let cases = [
        (
            &ta,
            vec![&g, &p_acme, &t_hq],
            vec![&p_globex, &t_lab, &t_globex],
            vec![("group_id", &hq_group)],
            vec![
                ("user_id", &lab_user, "User not found"),
                ("user_id", &globex_user, "User not found"),
                ("group_id", &lab_group, "Group not found"),
                ("group_id", &globex_group, "Group not found"),
            ],
            vec![&hq_user],
            vec![&w.acme_lab, &w.globex_hq],
        ),
        (
            &pa,
            vec![&g, &p_acme, &t_hq, &t_lab],
            vec![&p_globex, &t_globex],
            vec![("group_id", &lab_group)],
            vec![
                ("user_id", &globex_user, "User not found"),
                ("group_id", &globex_group, "Group not found"),
            ],
            vec![&lab_user, &hq_user],
            vec![&w.globex_hq],
        ),
    ];
    for (token, readable, unreadable, inside, outside, listed, foreign_tenants) in cases {
        // Unreadable applications: 403 on every route; the writes audited DENIED.
        let before = app.snapshot().await;
        for a in &unreadable {
            let replies = [
                assign(app, token, a, json!({"user_id": hq_user})).await,
                app.get(&assignments_path(a), token).await,
                app.delete(&assignment_path(a, &hq_user), token).await,
                app.get(&effective_path(a), token).await,
            ];
            for (i, reply) in replies.iter().enumerate() {
                assert_eq!(
                    (reply.status, &reply.body),
                    (StatusCode::FORBIDDEN, &detail("Access denied")),
                    "route {i} of {a}"
                );
            }
        }
        // Foreign assignees: 404, whatever the application.
        for (field, id, text) in &outside {
            let reply = assign(app, token, &g, one(field, id)).await;
            assert_eq!(
                (reply.status, &reply.body),
                (StatusCode::NOT_FOUND, &detail(text)),
                "{field} {id}"
            );
        }
        // Removing another tenant's assignment: 404.
        for foreign in [&globex_user, &lab_user] {
            if listed.contains(&foreign) {
                continue;
            }
            let reply = app.delete(&assignment_path(&g, foreign), token).await;
            assert_eq!(
                (reply.status, &reply.body),
                (StatusCode::NOT_FOUND, &detail("Assignment not found")),
                "{foreign}"
            );
        }
        // A tenant filter outside its reach: 403.
        for t in &foreign_tenants {
            let reply = app
                .get(&format!("{}?tenant_id={t}", effective_path(&g)), token)
                .await;
            assert_eq!(
                (reply.status, &reply.body),
                (StatusCode::FORBIDDEN, &detail("Access denied")),
                "tenant {t}"
            );
        }
        let unknown = app
            .get(
                &format!(
                    "{}?tenant_id=tnt_00000000000000000000000000",
                    effective_path(&g)
                ),
                token,
            )
            .await;
        assert_eq!(unknown.status, StatusCode::FORBIDDEN, "{}", unknown.body);
        // One DENIED event per refused write (assign, unassign), naming the application.
        let denied = only_denied_events_since(app, &before).await;
        let mut seen: Vec<(String, String)> = denied
            .iter()
            .map(|e| {
                (
                    e["action"].as_str().unwrap().to_owned(),
                    e["resource_id"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        seen.sort();
        let mut expected: Vec<(String, String)> = unreadable
            .iter()
            .flat_map(|a| {
                [
                    ("application.assign".to_owned(), (*a).clone()),
                    ("application.unassign".to_owned(), (*a).clone()),
                ]
            })
            .collect();
        expected.sort();
        assert_eq!(seen, expected);

        // Readable applications: the lists answer.
        for a in &readable {
            for path in [assignments_path(a), effective_path(a)] {
                let reply = app.get(&path, token).await;
                assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
            }
        }
        // Within reach: it assigns (a group of its own tenant, to the GLOBAL app).
        for (field, id) in &inside {
            assigned(app, token, &g, one(field, id)).await;
        }
        // It lists only what lies within its reach, and so are the effective users.
        let list = app.get(&assignments_path(&g), token).await;
        let listed_ids = ids(&list);
        for u in &listed {
            assert!(listed_ids.contains(u), "{u} missing: {}", list.body);
        }
        assert!(!listed_ids.contains(&globex_user), "{}", list.body);
        assert!(!listed_ids.contains(&globex_group), "{}", list.body);
        assert_eq!(total(&list), listed_ids.len());
        let effective = app.get(&effective_path(&g), token).await;
        let mut effective_ids = ids(&effective);
        effective_ids.sort();
        let mut expected: Vec<String> = listed.iter().map(|u| (*u).clone()).collect();
        expected.sort();
        assert_eq!(effective_ids, expected, "{}", effective.body);
    }
    // The tenant admin does not see the lab group the partner admin assigned.
    let list = app.get(&assignments_path(&g), &ta).await;
    assert_eq!(ids(&list), vec![hq_group.clone(), hq_user.clone()]);
    assert_eq!(total(&list), 2);
    // Within reach, every write works: a tenant admin on its TENANT and PARTNER apps, a
    // partner admin on another tenant's TENANT app, and removal of what it assigned.
    assigned(app, &ta, &t_hq, json!({"user_id": hq_user})).await;
    assigned(app, &ta, &p_acme, json!({"user_id": hq_user})).await;
    assigned(app, &pa, &t_lab, json!({"user_id": lab_user})).await;
    assigned(app, &pa, &p_acme, json!({"group_id": lab_group})).await;
    assert_eq!(
        app.delete(&assignment_path(&g, &hq_group), &ta)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.delete(&assignment_path(&g, &lab_user), &pa)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    // The super admin sees every tenant's.
    let all = app.get(&assignments_path(&g), &w.root).await;
    let mut all_ids = ids(&all);
    all_ids.sort();
    let mut expected = vec![hq_user.clone(), globex_user.clone(), lab_group.clone()];
    expected.sort();
    assert_eq!(all_ids, expected, "{}", all.body);
    let by_tenant = app
        .get(
            &format!("{}?tenant_id={}", effective_path(&g), w.globex_hq),
            &w.root,
        )
        .await;
    assert_eq!(ids(&by_tenant), vec![globex_user.clone()]);
}

/// Ten identical assignments at once: one 201, nine 409, one item, one event.
#[tokio::test]
async fn concurrent_identical_assignments_make_one() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let portal = create_app(app, &w.root, global("Portal")).await;
    let ann = app.put_user(&w.acme_hq, "ann@acme.test").await;
    let team = app.create_group(&w.root, &w.acme_hq, "Team").await;
    for body in [json!({"user_id": ann}), json!({"group_id": team})] {
        let replies = join_all(
            (0..10)
                .map(|_| assign(app, &w.root, &portal, body.clone()))
                .collect(),
        )
        .await;
        let statuses: Vec<StatusCode> = replies.iter().map(|r| r.status).collect();
        let created = statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count();
        let refused: Vec<&Reply> = replies
            .iter()
            .filter(|r| r.status == StatusCode::CONFLICT)
            .collect();
        assert_eq!((created, refused.len()), (1, 9), "{body}: {statuses:?}");
        for r in refused {
            assert_eq!(r.body, detail(ALREADY));
        }
    }
    let list = app.get(&assignments_path(&portal), &w.root).await;
    assert_eq!(total(&list), 2);
    assert_eq!(ids(&list).len(), 2);
    let table = app.snapshot().await;
    let stored = table
        .values()
        .filter(|i| i["entity"] == "APP_ASSIGNMENT")
        .count();
    assert_eq!(stored, 2);
    let events = table
        .values()
        .filter(|i| i["SK"] == "EVENT" && i["action"] == "application.assign")
        .count();
    assert_eq!(events, 2);
}

/// Effective users: each user once, direct beats any group path, a shorter path beats a longer
/// one (a lower group id breaks ties), across nesting of depth ≥ 2 and two assigned groups;
/// every field; the tenant filter; pages by cursor.
#[tokio::test]
async fn effective_users_are_each_user_once_with_the_shortest_provenance() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let portal = create_app(app, &w.root, global("Portal")).await;
    // Top ⊃ Mid ⊃ Low, Top ⊃ Side ⊃ Low (Mid created before Side: the lower id).
    let top = app.create_group(&w.root, &w.acme_hq, "Top").await;
    let mid = app.create_group(&w.root, &w.acme_hq, "Mid").await;
    let low = app.create_group(&w.root, &w.acme_hq, "Low").await;
    let side = app.create_group(&w.root, &w.acme_hq, "Side").await;
    let ann = named_user(app, &w.root, &w.acme_hq, "ann@acme.test", "Ann", "Lee").await;
    let ben = app.put_user(&w.acme_hq, "ben@acme.test").await;
    let cid = app.put_user(&w.acme_hq, "cid@acme.test").await;
    let dee = app.put_user(&w.acme_hq, "dee@acme.test").await;
    let eve = app.put_user(&w.acme_hq, "eve@acme.test").await;
    let outsider = app.put_user(&w.acme_hq, "out@acme.test").await;
    let globex_user = app.put_user(&w.globex_hq, "g@globex.test").await;
    for (group, body) in [
        (&top, json!({"group_id": mid})),
        (&mid, json!({"group_id": low})),
        (&top, json!({"group_id": side})),
        (&side, json!({"group_id": low})),
        (&low, json!({"user_id": ann})),
        (&mid, json!({"user_id": ben})),
        (&low, json!({"user_id": cid})),
        (&side, json!({"user_id": dee})),
        (&top, json!({"user_id": eve})),
        (&low, json!({"user_id": eve})),
    ] {
        member(app, &w.root, group, body).await;
    }
    // Nothing assigned yet: nobody.
    let none = app.get(&effective_path(&portal), &w.root).await;
    assert_eq!(none.status, StatusCode::OK, "{}", none.body);
    assert_eq!(ids(&none), Vec::<String>::new());
    assert_eq!(total(&none), 0);

    assigned(app, &w.root, &portal, json!({"group_id": top})).await;
    let reply = app.get(&effective_path(&portal), &w.root).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(total(&reply), 5);
    assert_eq!(via_of(&reply, &ann), path(&[&top, &mid, &low]));
    assert_eq!(via_of(&reply, &ben), path(&[&top, &mid]));
    assert_eq!(via_of(&reply, &cid), path(&[&top, &mid, &low]));
    assert_eq!(via_of(&reply, &dee), path(&[&top, &side]));
    assert_eq!(via_of(&reply, &eve), path(&[&top]), "the shorter path wins");
    assert!(!ids(&reply).contains(&outsider));

    // A second assigned group (Low) and a direct assignment (Ann, also in Low).
    assigned(app, &w.root, &portal, json!({"group_id": low})).await;
    assigned(app, &w.root, &portal, json!({"user_id": ann})).await;
    assigned(app, &w.root, &portal, json!({"user_id": globex_user})).await;
    let reply = app.get(&effective_path(&portal), &w.root).await;
    assert_eq!(total(&reply), 6, "{}", reply.body);
    let listed = ids(&reply);
    assert_eq!(
        listed.iter().collect::<BTreeSet<_>>().len(),
        listed.len(),
        "each user once: {listed:?}"
    );
    assert_eq!(via_of(&reply, &ann), json!("direct"), "direct beats groups");
    assert_eq!(via_of(&reply, &globex_user), json!("direct"));
    assert_eq!(
        via_of(&reply, &cid),
        path(&[&low]),
        "Low is assigned itself"
    );
    assert_eq!(via_of(&reply, &ben), path(&[&top, &mid]));
    assert_eq!(via_of(&reply, &dee), path(&[&top, &side]));
    assert_eq!(via_of(&reply, &eve), path(&[&top]));
    // Every field, as the user is.
    let item = reply.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == ann.as_str())
        .unwrap()
        .clone();
    assert_eq!(keys(&item), set_of(&EFFECTIVE_FIELDS));
    assert_eq!(item["email"], "ann@acme.test");
    assert_eq!(item["first_name"], "Ann");
    assert_eq!(item["last_name"], "Lee");
    assert_eq!(item["display_name"], "Ann Lee");
    assert_eq!(item["status"], "ACTIVE");
    assert_eq!(item["tenant_id"], w.acme_hq.as_str());
    assert_eq!(item["tenant_slug"], "acme-hq");
    let globex_item = reply.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == globex_user.as_str())
        .unwrap()
        .clone();
    assert_eq!(globex_item["tenant_slug"], "globex-hq");
    assert_eq!(globex_item["first_name"], Value::Null);

    // The tenant filter.
    let hq = app
        .get(
            &format!("{}?tenant_id={}", effective_path(&portal), w.acme_hq),
            &w.root,
        )
        .await;
    assert_eq!(total(&hq), 5);
    assert!(!ids(&hq).contains(&globex_user));
    let lab = app
        .get(
            &format!("{}?tenant_id={}", effective_path(&portal), w.acme_lab),
            &w.root,
        )
        .await;
    assert_eq!(lab.status, StatusCode::OK);
    assert_eq!(total(&lab), 0);
    let bad = app
        .get(
            &format!("{}?tenant_id=nope", effective_path(&portal)),
            &w.root,
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);

    // Pages by cursor give every user once; a cursor of another list is refused.
    let mut seen = Vec::new();
    let mut next = format!("{}?per_page=4", effective_path(&portal));
    loop {
        let page = app.get(&next, &w.root).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        seen.extend(ids(&page));
        match page.body["pagination"]["next_cursor"].as_str() {
            Some(c) => next = format!("{}?per_page=4&cursor={c}", effective_path(&portal)),
            None => break,
        }
    }
    assert_eq!(seen.len(), 6);
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), 6);
    let first = app
        .get(&format!("{}?per_page=1", effective_path(&portal)), &w.root)
        .await;
    let cursor = first.body["pagination"]["next_cursor"].as_str().unwrap();
    let reused = app
        .get(
            &format!("{}?per_page=1&cursor={cursor}", assignments_path(&portal)),
            &w.root,
        )
        .await;
    assert_eq!(reused.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Unassigning Low: Cid is reached through Top again; unassigning Top leaves Ann (direct),
    // Cid (nowhere now: Low is no longer assigned) out.
    assert_eq!(
        app.delete(&assignment_path(&portal, &low), &w.root)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let reply = app.get(&effective_path(&portal), &w.root).await;
    assert_eq!(via_of(&reply, &cid), path(&[&top, &mid, &low]));
    assert_eq!(
        app.delete(&assignment_path(&portal, &top), &w.root)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let reply = app.get(&effective_path(&portal), &w.root).await;
    let mut left = ids(&reply);
    left.sort();
    let mut expected = vec![ann.clone(), globex_user.clone()];
    expected.sort();
    assert_eq!(left, expected);
    let _ = (&w.acme, &w.globex);
}

/// A deleted user (marked deleted, or by the users API's DELETE) leaves an application's
/// assignments and effective users at once — the items and the totals. A deleted group leaves
/// both too. (A group member is deleted through the API, which removes its memberships; a
/// member only marked deleted would still be counted until the page that would show it.)
#[tokio::test]
async fn deleted_users_and_groups_drop_out_of_assignments_and_effective_users() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let portal = create_app(app, &w.root, global("Portal")).await;
    let team = app.create_group(&w.root, &w.acme_hq, "Team").await;
    let other = app.create_group(&w.root, &w.acme_hq, "Other").await;
    let ann = app.put_user(&w.acme_hq, "ann@acme.test").await;
    let ben = named_user(app, &w.root, &w.acme_hq, "ben@acme.test", "Ben", "Hur").await;
    // Created through the API (counted), as the users API deletes it (uncounted).
    let cid = named_user(app, &w.root, &w.acme_hq, "cid@acme.test", "Cid", "Ray").await;
    let dee = app.put_user(&w.acme_hq, "dee@acme.test").await;
    let eve = app.put_user(&w.acme_hq, "eve@acme.test").await;
    member(app, &w.root, &team, json!({"user_id": cid})).await;
    member(app, &w.root, &team, json!({"user_id": dee})).await;
    member(app, &w.root, &other, json!({"user_id": eve})).await;
    for body in [
        json!({"user_id": ann}),
        json!({"user_id": ben}),
        json!({"group_id": team}),
        json!({"group_id": other}),
    ] {
        assigned(app, &w.root, &portal, body).await;
    }
    let reply = app.get(&effective_path(&portal), &w.root).await;
    assert_eq!(total(&reply), 5);

    app.mark_user_deleted(&ann).await;
    let deleted = app.delete(&format!("{USERS}/{ben}"), &w.root).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    // A group member deleted by the users API leaves its groups in the same transaction.
    let deleted = app.delete(&format!("{USERS}/{cid}"), &w.root).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    assert_eq!(
        app.delete(&format!("{GROUPS}/{other}"), &w.root)
            .await
            .status,
        StatusCode::NO_CONTENT
    );

    let list = app.get(&assignments_path(&portal), &w.root).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert_eq!(ids(&list), vec![team.clone()], "{}", list.body);
    let effective = app.get(&effective_path(&portal), &w.root).await;
    assert_eq!(effective.status, StatusCode::OK, "{}", effective.body);
    assert_eq!(ids(&effective), vec![dee.clone()], "{}", effective.body);
    // Their reverse views: a deleted user is not found.
    for u in [&ann, &ben] {
        let reply = app.get(&user_apps_path(u), &w.root).await;
        assert_eq!(
            (reply.status, reply.body),
            (StatusCode::NOT_FOUND, detail("User not found"))
        );
    }
    // The totals count what is listed, not the assignments of deleted assignees.
    assert_eq!(
        (total(&list), total(&effective)),
        (json!(1), json!(1)),
        "(assignments total, effective users total): {} {}",
        list.body,
        effective.body
    );
    let _ = (&w.acme, &w.globex);
}

/// A PARTNER application covers its partner's tenants as they are now: a tenant transferred
/// away leaves its effective users and its users' applications, and its users can no longer
/// be assigned; a GLOBAL application keeps them.
#[tokio::test]
async fn a_transferred_tenant_drops_out_of_a_partner_applications_audience() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let p = create_app(app, &w.root, partner_app("Acme Portal", &w.acme)).await;
    let g = create_app(app, &w.root, global("Global")).await;
    let hq_user = app.put_user(&w.acme_hq, "hq@acme.test").await;
    let lab_user = app.put_user(&w.acme_lab, "lab@acme.test").await;
    let lab_member = app.put_user(&w.acme_lab, "member@acme.test").await;
    let lab_late = app.put_user(&w.acme_lab, "late@acme.test").await;
    let lab_group = app.create_group(&w.root, &w.acme_lab, "Lab").await;
    member(app, &w.root, &lab_group, json!({"user_id": lab_member})).await;
    for a in [&p, &g] {
        assigned(app, &w.root, a, json!({"user_id": hq_user})).await;
        assigned(app, &w.root, a, json!({"user_id": lab_user})).await;
        assigned(app, &w.root, a, json!({"group_id": lab_group})).await;
    }
    let before = app.get(&effective_path(&p), &w.root).await;
    assert_eq!(total(&before), 3);
    let lab_apps = app.get(&user_apps_path(&lab_user), &w.root).await;
    let mut listed = ids(&lab_apps);
    listed.sort();
    let mut expected = vec![p.clone(), g.clone()];
    expected.sort();
    assert_eq!(listed, expected);

    app.move_tenant(&w.root, &w.acme_lab, &w.globex).await;

    let after = app.get(&effective_path(&p), &w.root).await;
    assert_eq!(ids(&after), vec![hq_user.clone()], "{}", after.body);
    assert_eq!(total(&after), 1);
    let global_after = app.get(&effective_path(&g), &w.root).await;
    assert_eq!(total(&global_after), 3, "{}", global_after.body);
    assert_eq!(
        ids(&app.get(&user_apps_path(&lab_user), &w.root).await),
        vec![g.clone()]
    );
    assert_eq!(
        ids(&app.get(&user_apps_path(&lab_member), &w.root).await),
        vec![g.clone()]
    );
    assert_eq!(
        ids(&app.get(&group_apps_path(&lab_group), &w.root).await),
        vec![g.clone()]
    );
    // A partner admin of acme no longer sees them; a new one is refused for coverage.
    let pa = app
        .admin_token("pa@acme.test", AdminRole::PartnerAdmin, Some(&w.acme), None)
        .await;
    let seen = app.get(&effective_path(&p), &pa).await;
    assert_eq!(ids(&seen), vec![hq_user.clone()]);
    let refused = assert_invalid(
        app,
        Method::POST,
        &assignments_path(&p),
        &w.root,
        json!({"user_id": lab_late}),
        "user_id",
    )
    .await;
    assert_eq!(locs(&refused), vec![json!(["body", "user_id"])]);
    // And the acme partner admin cannot reach the moved tenant's users at all.
    let reply = assign(app, &pa, &g, json!({"user_id": lab_late})).await;
    assert_eq!(
        (reply.status, reply.body),
        (StatusCode::NOT_FOUND, detail("User not found"))
    );
    // Moved back, it counts again.
    app.move_tenant(&w.root, &w.acme_lab, &w.acme).await;
    assert_eq!(total(&app.get(&effective_path(&p), &w.root).await), 3);
}

/// A user's applications: assigned to itself (`direct`) or to a group it is in, with the path
/// from the assigned group down to its own group; shortest provenance first; each item the
/// application as GET shows it plus `via`. Whoever may read the user may read them.
#[tokio::test]
async fn a_users_applications_are_direct_or_through_its_groups_within_reach() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let top = app.create_group(&w.root, &w.acme_hq, "Top").await;
    let mid = app.create_group(&w.root, &w.acme_hq, "Mid").await;
    let low = app.create_group(&w.root, &w.acme_hq, "Low").await;
    let ann = app.put_user(&w.acme_hq, "ann@acme.test").await;
    let bob = app.put_user(&w.acme_hq, "bob@acme.test").await;
    member(app, &w.root, &top, json!({"group_id": mid})).await;
    member(app, &w.root, &mid, json!({"group_id": low})).await;
    member(app, &w.root, &low, json!({"user_id": ann})).await;

    let direct = create_app(app, &w.root, global("Direct")).await;
    let via_top = create_app(app, &w.root, partner_app("ViaTop", &w.acme)).await;
    let via_low = create_app(app, &w.root, tenant_app("ViaLow", &w.acme_hq)).await;
    let both = create_app(app, &w.root, global("Both")).await;
    let unrelated = create_app(app, &w.root, global("Unrelated")).await;
    assigned(app, &w.root, &direct, json!({"user_id": ann})).await;
    assigned(app, &w.root, &via_top, json!({"group_id": top})).await;
    assigned(app, &w.root, &via_low, json!({"group_id": low})).await;
    assigned(app, &w.root, &both, json!({"group_id": mid})).await;
    assigned(app, &w.root, &both, json!({"user_id": ann})).await;
    assigned(app, &w.root, &unrelated, json!({"user_id": bob})).await;

    let reply = app.get(&user_apps_path(&ann), &w.root).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(total(&reply), 4, "{}", reply.body);
    assert_eq!(via_of(&reply, &direct), json!("direct"));
    assert_eq!(
        via_of(&reply, &both),
        json!("direct"),
        "direct beats groups"
    );
    assert_eq!(via_of(&reply, &via_low), path(&[&low]));
    assert_eq!(via_of(&reply, &via_top), path(&[&top, &mid, &low]));
    assert!(!ids(&reply).contains(&unrelated));
    // Shortest provenance first (newest application first among equals): the two direct
    // ones, then [Low], then [Top, Mid, Low].
    let listed = ids(&reply);
    assert_eq!(
        listed,
        vec![
            both.clone(),
            direct.clone(),
            via_low.clone(),
            via_top.clone()
        ]
    );
    // Each item: the application as GET shows it, plus `via`.
    for item in reply.body["items"].as_array().unwrap() {
        let id = item["id"].as_str().unwrap();
        let read = app.get(&format!("{APPS}/{id}"), &w.root).await;
        let mut expected = read.body.clone();
        expected
            .as_object_mut()
            .unwrap()
            .insert("via".into(), item["via"].clone());
        assert_eq!(item, &expected);
    }
    // Pages.
    let first = app
        .get(&format!("{}?per_page=3", user_apps_path(&ann)), &w.root)
        .await;
    assert_eq!(ids(&first), listed[..3].to_vec());
    let cursor = first.body["pagination"]["next_cursor"].as_str().unwrap();
    let second = app
        .get(
            &format!("{}?per_page=3&cursor={cursor}", user_apps_path(&ann)),
            &w.root,
        )
        .await;
    assert_eq!(ids(&second), listed[3..].to_vec());

    // A user with nothing: an empty list.
    let nobody = app.put_user(&w.acme_lab, "nobody@acme.test").await;
    let empty = app.get(&user_apps_path(&nobody), &w.root).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(total(&empty), 0);

    // Reach: the user's.
    let hq_admin = app
        .admin_token(
            "hq@acme.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_hq),
        )
        .await;
    let acme_admin = app
        .admin_token("pa@acme.test", AdminRole::PartnerAdmin, Some(&w.acme), None)
        .await;
    for token in [&hq_admin, &acme_admin] {
        let reply = app.get(&user_apps_path(&ann), token).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(total(&reply), 4);
    }
    let lab_admin = app
        .admin_token(
            "lab@acme.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_lab),
        )
        .await;
    let globex_admin = app
        .admin_token(
            "pa@globex.test",
            AdminRole::PartnerAdmin,
            Some(&w.globex),
            None,
        )
        .await;
    for token in [&lab_admin, &globex_admin] {
        let refused = app.get(&user_apps_path(&ann), token).await;
        assert_eq!(
            (refused.status, refused.body),
            (StatusCode::FORBIDDEN, detail("Access denied"))
        );
    }
    for unknown in [UserId::generate().to_string(), "not-an-id".to_owned()] {
        let reply = app.get(&user_apps_path(&unknown), &w.root).await;
        assert_eq!(
            (reply.status, reply.body),
            (StatusCode::NOT_FOUND, detail("User not found")),
            "{unknown}"
        );
    }
    let _ = &w.globex_hq;
}

/// A group's applications: assigned to the group itself (`direct`) or to a group above it, with
/// the path from that group down to this one. Within the group's reach.
#[tokio::test]
async fn a_groups_applications_are_direct_or_through_the_groups_above_it() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let top = app.create_group(&w.root, &w.acme_hq, "Top").await;
    let mid = app.create_group(&w.root, &w.acme_hq, "Mid").await;
    let low = app.create_group(&w.root, &w.acme_hq, "Low").await;
    let side = app.create_group(&w.root, &w.acme_hq, "Side").await;
    member(app, &w.root, &top, json!({"group_id": mid})).await;
    member(app, &w.root, &mid, json!({"group_id": low})).await;
    member(app, &w.root, &side, json!({"group_id": low})).await;
    let on_top = create_app(app, &w.root, global("OnTop")).await;
    let on_low = create_app(app, &w.root, tenant_app("OnLow", &w.acme_hq)).await;
    let on_side = create_app(app, &w.root, partner_app("OnSide", &w.acme)).await;
    let on_both = create_app(app, &w.root, global("OnBoth")).await;
    assigned(app, &w.root, &on_top, json!({"group_id": top})).await;
    assigned(app, &w.root, &on_low, json!({"group_id": low})).await;
    assigned(app, &w.root, &on_side, json!({"group_id": side})).await;
    assigned(app, &w.root, &on_both, json!({"group_id": top})).await;
    assigned(app, &w.root, &on_both, json!({"group_id": mid})).await;

    let reply = app.get(&group_apps_path(&low), &w.root).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(total(&reply), 4, "{}", reply.body);
    assert_eq!(via_of(&reply, &on_low), json!("direct"));
    assert_eq!(via_of(&reply, &on_side), path(&[&side, &low]));
    assert_eq!(via_of(&reply, &on_top), path(&[&top, &mid, &low]));
    assert_eq!(
        via_of(&reply, &on_both),
        path(&[&mid, &low]),
        "the nearer ancestor wins"
    );
    // Direct first, then by path length (newest application first among equals).
    assert_eq!(
        ids(&reply),
        vec![
            on_low.clone(),
            on_both.clone(),
            on_side.clone(),
            on_top.clone()
        ]
    );
    for item in reply.body["items"].as_array().unwrap() {
        let id = item["id"].as_str().unwrap();
        let read = app.get(&format!("{APPS}/{id}"), &w.root).await;
        let mut expected = read.body.clone();
        expected
            .as_object_mut()
            .unwrap()
            .insert("via".into(), item["via"].clone());
        assert_eq!(item, &expected);
    }
    let reply = app.get(&group_apps_path(&mid), &w.root).await;
    assert_eq!(total(&reply), 2, "{}", reply.body);
    assert_eq!(via_of(&reply, &on_both), json!("direct"));
    assert_eq!(via_of(&reply, &on_top), path(&[&top, &mid]));
    let reply = app.get(&group_apps_path(&top), &w.root).await;
    assert_eq!(total(&reply), 2, "{}", reply.body);
    assert_eq!(via_of(&reply, &on_top), json!("direct"));
    assert_eq!(via_of(&reply, &on_both), json!("direct"));

    // Reach: the group's.
    let hq_admin = app
        .admin_token(
            "hq@acme.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_hq),
        )
        .await;
    assert_eq!(
        app.get(&group_apps_path(&low), &hq_admin).await.status,
        StatusCode::OK
    );
    let lab_admin = app
        .admin_token(
            "lab@acme.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_lab),
        )
        .await;
    let globex_admin = app
        .admin_token(
            "pa@globex.test",
            AdminRole::PartnerAdmin,
            Some(&w.globex),
            None,
        )
        .await;
    for token in [&lab_admin, &globex_admin] {
        let refused = app.get(&group_apps_path(&low), token).await;
        assert_eq!(
            (refused.status, refused.body),
            (StatusCode::FORBIDDEN, detail("Access denied"))
        );
    }
    for unknown in [GroupId::generate().to_string(), "not-an-id".to_owned()] {
        let reply = app.get(&group_apps_path(&unknown), &w.root).await;
        assert_eq!(
            (reply.status, reply.body),
            (StatusCode::NOT_FOUND, detail("Group not found")),
            "{unknown}"
        );
    }
    let _ = &w.globex_hq;
}

/// A deleted application leaves a user's and a group's applications at once.
#[tokio::test]
async fn a_deleted_application_drops_out_of_the_reverse_views() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let team = app.create_group(&w.root, &w.acme_hq, "Team").await;
    let ann = app.put_user(&w.acme_hq, "ann@acme.test").await;
    member(app, &w.root, &team, json!({"user_id": ann})).await;
    let keep = create_app(app, &w.root, global("Keep")).await;
    let doomed = create_app(app, &w.root, global("Doomed")).await;
    for a in [&keep, &doomed] {
        assigned(app, &w.root, a, json!({"user_id": ann})).await;
        assigned(app, &w.root, a, json!({"group_id": team})).await;
    }
    assert_eq!(total(&app.get(&user_apps_path(&ann), &w.root).await), 2);
    assert_eq!(total(&app.get(&group_apps_path(&team), &w.root).await), 2);
    assert_eq!(
        app.delete(&format!("{APPS}/{doomed}"), &w.root)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let user_view = app.get(&user_apps_path(&ann), &w.root).await;
    assert_eq!(ids(&user_view), vec![keep.clone()], "{}", user_view.body);
    assert_eq!(total(&user_view), 1);
    let group_view = app.get(&group_apps_path(&team), &w.root).await;
    assert_eq!(ids(&group_view), vec![keep.clone()], "{}", group_view.body);
    assert_eq!(total(&group_view), 1);
    let _ = (&w.acme, &w.globex, &w.acme_lab, &w.globex_hq);
}

/// A GLOBAL SERVICE application with `client_credentials` reads its own effective users with
/// its platform token even without `admin:read`; not another application's, nor its own
/// assignments (403, the scope detail).
#[tokio::test]
async fn an_application_reads_its_own_effective_users_with_its_platform_token() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let created = app
        .post(
            APPS,
            &w.root,
            json!({"name": "Fleet", "scope": "GLOBAL", "application_type": "SERVICE",
                   "grant_types": ["client_credentials"], "allowed_scopes": ["users:read", "admin:read"]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let fleet = created.id();
    let secret = created.body["client_secret"].as_str().unwrap().to_owned();
    let other = create_app(app, &w.root, global("Other")).await;
    let ann = app.put_user(&w.acme_hq, "ann@acme.test").await;
    let ben = app.put_user(&w.globex_hq, "ben@globex.test").await;
    assigned(app, &w.root, &fleet, json!({"user_id": ann})).await;
    assigned(app, &w.root, &fleet, json!({"user_id": ben})).await;
    assigned(app, &w.root, &other, json!({"user_id": ann})).await;

    let token_for = |scope: &'static str| {
        let (fleet, secret) = (fleet.clone(), secret.clone());
        async move {
            let form: String = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs([("grant_type", "client_credentials"), ("scope", scope)])
                .finish();
            let basic = BASE64.encode(format!("{fleet}:{secret}").as_bytes());
            let request = Request::builder()
                .method(Method::POST)
                .uri(PLATFORM_TOKEN)
                .header("content-type", "application/x-www-form-urlencoded")
                .header("authorization", format!("Basic {basic}"))
                .body(Body::from(form))
                .unwrap();
            let reply = app.send(request).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            assert_eq!(reply.body["scope"], scope);
            reply.body["access_token"].as_str().unwrap().to_owned()
        }
    };
    let narrow = token_for("users:read").await;
    let own = app.get(&effective_path(&fleet), &narrow).await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
    let mut listed = ids(&own);
    listed.sort();
    let mut expected = vec![ann.clone(), ben.clone()];
    expected.sort();
    assert_eq!(listed, expected);
    assert_eq!(via_of(&own, &ann), json!("direct"));
    let filtered = app
        .get(
            &format!("{}?tenant_id={}", effective_path(&fleet), w.globex_hq),
            &narrow,
        )
        .await;
    assert_eq!(filtered.status, StatusCode::OK, "{}", filtered.body);
    assert_eq!(ids(&filtered), vec![ben.clone()]);

    // Anything else needs admin:read: another app's audience, its own assignments, its own
    // record.
    for path in [
        effective_path(&other),
        assignments_path(&fleet),
        format!("{APPS}/{fleet}"),
    ] {
        let refused = app.get(&path, &narrow).await;
        assert_eq!(
            (refused.status, &refused.body),
            (StatusCode::FORBIDDEN, &detail(SCOPE_MISSING)),
            "{path}"
        );
    }
    // It never writes assignments without admin:write, even its own.
    let before = app.snapshot().await;
    let write = assign(app, &narrow, &fleet, json!({"user_id": ann})).await;
    assert_eq!(
        (write.status, write.body),
        (StatusCode::FORBIDDEN, detail(SCOPE_MISSING))
    );
    let unassign = app.delete(&assignment_path(&fleet, &ann), &narrow).await;
    assert_eq!(
        (unassign.status, unassign.body),
        (StatusCode::FORBIDDEN, detail(SCOPE_MISSING))
    );
    assert_eq!(app.snapshot().await, before);
    // With admin:read it reads any application's.
    let broad = token_for("admin:read").await;
    let reply = app.get(&effective_path(&other), &broad).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(ids(&reply), vec![ann.clone()]);
    let _ = (&w.acme, &w.globex, &w.acme_lab);
}

/// DynamoDB round trips: a tenant admin's assign is the session batch (with the application,
/// the assignee, the assignment's key and its own tenant) and the transaction; a super or
/// partner admin also reads the assignee's tenant (and a partner admin, for a TENANT app, the
/// app's tenant's partner first). A list is the session batch, the Query, the tenants and the
/// assignees' names. Effective users: session batch, assignments Query, tenants, assigned
/// groups, one Query per reached group, the page's users. A user's applications: session
/// batch, its tenant, its memberships, its groups, one GSI1 Query per group and for itself,
/// the applications. A group's applications: session batch, the group node and its tenant,
/// one GSI1 Query, the applications.
#[tokio::test]
async fn assignments_take_few_round_trips() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let portal = create_app(app, &w.root, global("Portal")).await;
    let p = create_app(app, &w.root, partner_app("P", &w.acme)).await;
    let ann = app.put_user(&w.acme_hq, "ann@acme.test").await;
    let ben = app.put_user(&w.acme_hq, "ben@acme.test").await;
    let cid = app.put_user(&w.acme_lab, "cid@acme.test").await;
    let team = app.create_group(&w.root, &w.acme_hq, "Team").await;
    let ta = app
        .admin_token(
            "ta@acme.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_hq),
        )
        .await;
    let pa = app
        .admin_token("pa@acme.test", AdminRole::PartnerAdmin, Some(&w.acme), None)
        .await;

    let measure = |label: &'static str, expected: u64| {
        let before = app.calls();
        move |reply: Reply| {
            let spent = app.calls() - before;
            eprintln!("round trips: {label}: {spent}");
            assert_eq!(spent, expected, "{label}: {}", reply.body);
            reply
        }
    };

    let check = measure("tenant admin assigns a user", 2);
    let r = assign(app, &ta, &portal, json!({"user_id": ann})).await;
    assert_eq!(check(r).status, StatusCode::CREATED);
    let check = measure("tenant admin assigns a group to a PARTNER app", 2);
    let r = assign(app, &ta, &p, json!({"group_id": team})).await;
    assert_eq!(check(r).status, StatusCode::CREATED);
    let check = measure("super admin assigns a user", 3);
    let r = assign(app, &w.root, &portal, json!({"user_id": ben})).await;
    assert_eq!(check(r).status, StatusCode::CREATED);
    let check = measure("partner admin assigns a user", 3);
    let r = assign(app, &pa, &portal, json!({"user_id": cid})).await;
    assert_eq!(check(r).status, StatusCode::CREATED);
    let check = measure("super admin assigns a group", 3);
    let r = assign(app, &w.root, &portal, json!({"group_id": team})).await;
    assert_eq!(check(r).status, StatusCode::CREATED);

    let check = measure("list assignments", 4);
    let r = app.get(&assignments_path(&portal), &w.root).await;
    assert_eq!(check(r).status, StatusCode::OK);
    let check = measure("tenant admin unassigns", 2);
    let r = app.delete(&assignment_path(&portal, &ann), &ta).await;
    assert_eq!(check(r).status, StatusCode::NO_CONTENT);
    let check = measure("super admin unassigns", 3);
    let r = app.delete(&assignment_path(&portal, &ben), &w.root).await;
    assert_eq!(check(r).status, StatusCode::NO_CONTENT);
    let hq_app = create_app(app, &w.root, tenant_app("HQ", &w.acme_hq)).await;
    let check = measure("partner admin assigns a user to a TENANT app", 4);
    let r = assign(app, &pa, &hq_app, json!({"user_id": ben})).await;
    assert_eq!(check(r).status, StatusCode::CREATED);
    member(app, &w.root, &team, json!({"user_id": ben})).await;
    let check = measure("effective users: one user and one group of one user", 6);
    let r = app.get(&effective_path(&portal), &w.root).await;
    assert_eq!(check(r).status, StatusCode::OK);
    let check = measure("a user's applications (one group)", 7);
    let r = app.get(&user_apps_path(&ben), &w.root).await;
    assert_eq!(check(r).status, StatusCode::OK);
    let check = measure("a group's applications (no parent)", 5);
    let r = app.get(&group_apps_path(&team), &w.root).await;
    assert_eq!(check(r).status, StatusCode::OK);
    let check = measure("a refused duplicate (tenant admin)", 1);
    let r = assign(app, &ta, &p, json!({"group_id": team})).await;
    assert_eq!(check(r).status, StatusCode::CONFLICT);
    let _ = (&w.globex, &w.globex_hq);
}
