//! Admin roles (SPEC §4.5, tiers §3.2): grant, read, list, revoke; tiers and isolation; one
//! email per admin tenant (with a race); grants, revokes, expiry and user status taking effect
//! on the very next request; round trips.

use std::sync::OnceLock;

use api_tests::*;
use aws_sdk_dynamodb::types::AttributeValue;
use axum::http::StatusCode;
use serde_json::{Value, json};
use shared::access::AdminRole;

const BASE: &str = "/api/v1/admin/admin-roles";
const ME: &str = "/api/v1/admin/auth/me";
pub(crate) const PASSWORD: &str = "plain-user-password-1";

/// One argon2 hash for every plain user of the run (hashing is the slow part).
fn password_hash() -> String {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| shared::password::hash(PASSWORD).expect("hash"))
        .clone()
}

/// A user with no admin role, written straight into the table (the users group creates them
/// through the API; this group only needs them to exist).
pub(crate) async fn plain_user(app: &TestApp, tenant: &str, email: &str) -> String {
    let id = shared::ids::UserId::generate().to_string();
    let now = shared::time::Timestamp::now().to_string();
    let item = json!({
        "PK": format!("USER#{id}"), "SK": "USER", "entity": "USER",
        "GSI1PK": format!("TENANT#{tenant}#USERS"), "GSI1SK": id,
        "id": id, "tenant_id": tenant, "email": email, "status": "ACTIVE",
        "password_hash": password_hash(), "admin_roles": [],
        "created_at": now, "updated_at": now, "version": 1,
    });
    put_raw(app, item).await;
    id
}

async fn put_raw(app: &TestApp, item: Value) {
    let store = app.state.store();
    store
        .client()
        .put_item()
        .table_name(store.table())
        .set_item(Some(serde_dynamo::to_item(item).expect("item")))
        .send()
        .await
        .expect("put item");
}

/// Sets one attribute of a user item directly (what an operator or another group would do).
async fn set_user_attribute(app: &TestApp, user: &str, name: &str, value: AttributeValue) {
    let store = app.state.store();
    store
        .client()
        .update_item()
        .table_name(store.table())
        .key("PK", AttributeValue::S(format!("USER#{user}")))
        .key("SK", AttributeValue::S("USER".into()))
        .update_expression("SET #n = :v")
        .expression_attribute_names("#n", name)
        .expression_attribute_values(":v", value)
        .send()
        .await
        .expect("update user");
}

struct World {
    app: TestApp,
    root: String,
    acme: String,
    globex: String,
    acme_hq: String,
    acme_lab: String,
    globex_hq: String,
    /// A partner admin of acme.
    acme_admin: String,
}

async fn world() -> Option<World> {
    let app = spawn_app().await?;
    let root = app.root_token().await;
    let acme = app.create_partner(&root, "acme").await;
    let globex = app.create_partner(&root, "globex").await;
    let acme_hq = app.create_tenant(&root, &acme, "acme-hq").await;
    let acme_lab = app.create_tenant(&root, &acme, "acme-lab").await;
    let globex_hq = app.create_tenant(&root, &globex, "globex-hq").await;
    let acme_admin = app
        .admin_token("pa@acme.test", AdminRole::PartnerAdmin, Some(&acme), None)
        .await;
    Some(World {
        app,
        root,
        acme,
        globex,
        acme_hq,
        acme_lab,
        globex_hq,
        acme_admin,
    })
}

fn tenant_admin(user: &str, tenant: &str) -> Value {
    json!({"user_id": user, "role": "TENANT_ADMIN", "tenant_id": tenant})
}

#[tokio::test]
async fn a_grant_is_read_listed_used_and_revoked_with_its_sessions() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let ann = plain_user(app, &w.acme_hq, "ann@acme.test").await;
    assert_eq!(
        app.login_reply("ann@acme.test", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED,
        "no admin role, no admin login"
    );

    let before = app.calls();
    let granted = app
        .post(BASE, &w.root, tenant_admin(&ann, &w.acme_hq))
        .await;
    assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.body);
    assert_eq!(
        app.calls() - before,
        3,
        "session batch + the holder's live sessions (re-ranked) + one transaction"
    );
    let id = granted.id();
    assert!(id.starts_with("rol_"));
    assert_eq!(granted.body["user_id"], ann.as_str());
    assert_eq!(granted.body["role"], "TENANT_ADMIN");
    assert_eq!(granted.body["tenant_id"], w.acme_hq.as_str());
    assert_eq!(granted.body["partner_id"], Value::Null);
    assert_eq!(granted.body["is_active"], true);
    assert_eq!(granted.body["expires_at"], Value::Null);
    assert!(
        granted.body["created_by"]
            .as_str()
            .unwrap()
            .starts_with("usr_")
    );

    let before = app.calls();
    let read = app.get(&format!("{BASE}/{id}"), &w.root).await;
    assert_eq!(app.calls() - before, 1, "session and grant in one batch");
    assert_eq!(read.body, granted.body);

    // The grant takes effect at once: the user signs in as a tenant admin.
    let ann_token = app.login("ann@acme.test", PASSWORD).await;
    let me = app.get(ME, &ann_token).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["role"], "tenant_admin");

    let before = app.calls();
    let mine = app.get(&format!("{BASE}/user/{ann}"), &w.root).await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    assert!(
        app.calls() - before <= 3,
        "session batch, then list and count together"
    );
    assert_eq!(mine.body["items"], json!([granted.body]));
    assert_eq!(mine.body["pagination"]["total"], 1);

    let before = app.calls();
    let listed = app.get(&format!("{BASE}?per_page=100"), &w.root).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert!(app.calls() - before <= 3);
    // The bootstrap super admin, acme's partner admin, ann: newest first.
    assert_eq!(listed.body["pagination"]["total"], 3);
    assert_eq!(listed.body["items"][0]["id"], id.as_str());

    let before = app.calls();
    let revoked = app.delete(&format!("{BASE}/{id}"), &w.root).await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT, "{}", revoked.body);
    assert_eq!(revoked.body, Value::Null);
    assert!(
        app.calls() - before <= 3,
        "session + grant, the holder's user item, one transaction"
    );
    // The session issued under the grant ends on its very next request; no new login.
    assert_eq!(
        app.get(ME, &ann_token).await.body,
        detail("Invalid or expired token")
    );
    assert_eq!(
        app.login_reply("ann@acme.test", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    // The grant is still there, inactive, and reads the same way everywhere.
    let after = app.get(&format!("{BASE}/{id}"), &w.root).await;
    assert_eq!(after.status, StatusCode::OK);
    assert_eq!(after.body["is_active"], false);
    let inactive = app.get(&format!("{BASE}?is_active=false"), &w.root).await;
    assert_eq!(inactive.body["items"], json!([after.body]));
    let active = app.get(&format!("{BASE}?is_active=true"), &w.root).await;
    assert_eq!(active.body["pagination"]["total"], 2);
    let again = app.delete(&format!("{BASE}/{id}"), &w.root).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.body, detail("Admin role is already revoked"));
    let unknown = app
        .get(&format!("{BASE}/rol_00000000000000000000000000"), &w.root)
        .await;
    assert_eq!(unknown.body, detail("Admin role not found"));
    assert_eq!(
        app.get(&format!("{BASE}/not-an-id"), &w.root).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn grants_and_revokes_are_audited_with_their_changes() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let ann = plain_user(app, &w.acme_lab, "ann@acme.test").await;
    let granted = app
        .post(BASE, &w.acme_admin, tenant_admin(&ann, &w.acme_lab))
        .await;
    assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.body);
    let id = granted.id();
    let revoked = app.delete(&format!("{BASE}/{id}"), &w.acme_admin).await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT, "{}", revoked.body);
    let events = app.audit_events_of_partner(&w.acme).await;
    let grant = events
        .iter()
        .find(|e| e["action"] == "admin_role.grant" && e["resource_id"] == id.as_str())
        .expect("grant event");
    assert_eq!(grant["result"], "SUCCESS");
    assert_eq!(grant["changes"]["role"]["to"], "tenant_admin");
    assert_eq!(grant["tenant_id"], w.acme_lab.as_str());
    let revoke = events
        .iter()
        .find(|e| e["action"] == "admin_role.revoke" && e["resource_id"] == id.as_str())
        .expect("revoke event");
    assert_eq!(
        revoke["changes"]["is_active"],
        json!({"from": true, "to": false})
    );
}

#[tokio::test]
async fn partner_admins_grant_tenant_admin_only_within_their_partner() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let pa = &w.acme_admin;
    let ann = plain_user(app, &w.acme_hq, "ann@acme.test").await;
    let bob = plain_user(app, &w.globex_hq, "bob@globex.test").await;
    let bob_role = app
        .post(BASE, &w.root, tenant_admin(&bob, &w.globex_hq))
        .await;
    assert_eq!(bob_role.status, StatusCode::CREATED);
    let bob_role = bob_role.id();

    let denied = [
        // A tenant of another partner, and a user of it.
        tenant_admin(&bob, &w.globex_hq),
        // A user of another partner, named with a tenant of its own partner.
        tenant_admin(&bob, &w.acme_hq),
        // An unknown tenant: refused without saying whether it exists.
        tenant_admin(&ann, "tnt_00000000000000000000000000"),
        // Above a tenant admin.
        json!({"user_id": ann, "role": "PARTNER_ADMIN", "partner_id": w.acme}),
        json!({"user_id": ann, "role": "SUPER_ADMIN"}),
    ];
    for body in denied {
        let reply = app.post(BASE, pa, body.clone()).await;
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "{body}: {}",
            reply.body
        );
        assert_eq!(reply.body, detail("Access denied"));
    }
    // Its own roles: refused, whatever they are.
    let me = app.get(ME, pa).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let own = app.post(BASE, pa, tenant_admin(&me, &w.acme_hq)).await;
    assert_eq!(own.status, StatusCode::FORBIDDEN);
    let own_roles = app.get(&format!("{BASE}/user/{me}"), &w.root).await;
    let own_role = own_roles.body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.delete(&format!("{BASE}/{own_role}"), pa).await.status,
        StatusCode::FORBIDDEN
    );
    // The root's own grant: not even visible to a partner admin.
    let root_id = app.get(ME, &w.root).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let root_roles = app.get(&format!("{BASE}/user/{root_id}"), &w.root).await;
    let root_role = root_roles.body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.delete(&format!("{BASE}/{root_role}"), &w.root)
            .await
            .status,
        StatusCode::FORBIDDEN,
        "nobody revokes their own role"
    );
    for path in [
        format!("{BASE}/{root_role}"),
        format!("{BASE}/{bob_role}"),
        format!("{BASE}/user/{bob}"),
        format!("{BASE}/user/{root_id}"),
        format!("{BASE}?user_id={bob}"),
    ] {
        let reply = app.get(&path, pa).await;
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "{path}: {}",
            reply.body
        );
    }
    assert_eq!(
        app.delete(&format!("{BASE}/{bob_role}"), pa).await.status,
        StatusCode::FORBIDDEN
    );

    // Within its partner: granted, visible, revocable.
    let granted = app.post(BASE, pa, tenant_admin(&ann, &w.acme_hq)).await;
    assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.body);
    let listed = app.get(BASE, pa).await;
    assert_eq!(listed.status, StatusCode::OK);
    let ids: Vec<&str> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    // Ann's grant and its own (it lives in the platform tenant, so not even that): only
    // grants held by users of acme's tenants.
    assert_eq!(ids, vec![granted.id().as_str()]);
    assert_eq!(
        listed.body["pagination"]["total"], 1,
        "totals count only visible grants"
    );
    let filtered = app.get(&format!("{BASE}?role=SUPER_ADMIN"), pa).await;
    assert_eq!(filtered.body["pagination"]["total"], 0);
    assert_eq!(
        app.get(&format!("{BASE}/user/{ann}"), pa).await.body["pagination"]["total"],
        1
    );
    // A cursor of the root's list does not open it for the partner admin.
    let root_page = app.get(&format!("{BASE}?per_page=1"), &w.root).await;
    let cursor = root_page.body["pagination"]["next_cursor"]
        .as_str()
        .unwrap();
    let forged = app
        .get(&format!("{BASE}?per_page=1&cursor={cursor}"), pa)
        .await;
    assert_eq!(forged.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.delete(&format!("{BASE}/{}", granted.id()), pa)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn tenant_admins_neither_grant_nor_read_and_forbidden_comes_before_invalid() {
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
    let ann = plain_user(app, &w.acme_hq, "ann@acme.test").await;
    let root_roles = app.get(BASE, &w.root).await;
    let some_role = root_roles.body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for body in [
        tenant_admin(&ann, &w.acme_hq),
        json!({}),
        json!({"role": 5}),
    ] {
        let reply = app.post(BASE, &ta, body).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
        assert_eq!(reply.body, detail("Access denied"));
    }
    for path in [
        BASE.to_owned(),
        format!("{BASE}/{some_role}"),
        format!("{BASE}/user/{ann}"),
    ] {
        assert_eq!(
            app.get(&path, &ta).await.status,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    assert_eq!(
        app.delete(&format!("{BASE}/{some_role}"), &ta).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.delete(&format!("{BASE}/not-an-id"), &ta).await.status,
        StatusCode::FORBIDDEN,
        "forbidden before not found"
    );
}

#[tokio::test]
async fn a_grant_must_fit_its_user_and_scope() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let ann = plain_user(app, &w.acme_hq, "ann@acme.test").await;
    let cases = [
        (
            json!({"role": "TENANT_ADMIN"}),
            vec![json!(["body", "user_id"]), json!(["body", "tenant_id"])],
        ),
        (
            json!({"user_id": ann, "role": "OWNER"}),
            vec![json!(["body", "role"])],
        ),
        (
            json!({"user_id": ann, "role": "PARTNER_ADMIN"}),
            vec![json!(["body", "partner_id"])],
        ),
        (
            json!({"user_id": ann, "role": "SUPER_ADMIN", "tenant_id": w.acme_hq}),
            vec![json!(["body", "tenant_id"])],
        ),
        (
            json!({"user_id": ann, "role": "TENANT_ADMIN", "tenant_id": w.acme_hq, "partner_id": w.acme}),
            vec![json!(["body", "partner_id"])],
        ),
        (
            json!({"user_id": ann, "role": "TENANT_ADMIN", "tenant_id": w.acme_hq, "expires_at": "2020-01-01T00:00:00Z"}),
            vec![json!(["body", "expires_at"])],
        ),
        (
            json!({"user_id": ann, "role": "TENANT_ADMIN", "tenant_id": w.acme_hq, "expires_at": "tomorrow"}),
            vec![json!(["body", "expires_at"])],
        ),
        (
            json!({"user_id": "usr_1", "role": "TENANT_ADMIN", "tenant_id": w.acme_hq}),
            vec![json!(["body", "user_id"])],
        ),
        // Rules that need the stored user.
        (
            tenant_admin(&ann, &w.acme_lab),
            vec![json!(["body", "tenant_id"])],
        ),
        (
            json!({"user_id": ann, "role": "SUPER_ADMIN"}),
            vec![json!(["body", "user_id"])],
        ),
        (
            json!({"user_id": ann, "role": "PARTNER_ADMIN", "partner_id": w.globex}),
            vec![json!(["body", "partner_id"])],
        ),
    ];
    for (body, locs) in cases {
        let reply = app.post(BASE, &w.root, body.clone()).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            reply.body
        );
        let got: Vec<Value> = reply.body["detail"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["loc"].clone())
            .collect();
        assert_eq!(got, locs, "{body}");
    }
    let missing = app
        .post(
            BASE,
            &w.root,
            tenant_admin("usr_00000000000000000000000000", &w.acme_hq),
        )
        .await;
    assert_eq!(missing.body, detail("User not found"));
    let no_tenant = app
        .post(
            BASE,
            &w.root,
            tenant_admin(&ann, "tnt_00000000000000000000000000"),
        )
        .await;
    assert_eq!(no_tenant.body, detail("Tenant not found"));
    let no_partner = app
        .post(BASE, &w.root, json!({"user_id": ann, "role": "PARTNER_ADMIN", "partner_id": "prt_00000000000000000000000000"}))
        .await;
    assert_eq!(no_partner.body, detail("Partner not found"));

    // The same user may hold several roles, not the same one twice.
    let first = app
        .post(BASE, &w.root, tenant_admin(&ann, &w.acme_hq))
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let twice = app
        .post(BASE, &w.root, tenant_admin(&ann, &w.acme_hq))
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    assert_eq!(twice.body, detail("User already holds this admin role"));
    let partner_role = app
        .post(
            BASE,
            &w.root,
            json!({"user_id": ann, "role": "PARTNER_ADMIN", "partner_id": w.acme}),
        )
        .await;
    assert_eq!(
        partner_role.status,
        StatusCode::CREATED,
        "{}",
        partner_role.body
    );
    assert_eq!(partner_role.body["partner_id"], w.acme.as_str());
    // Login takes the highest role in force.
    let token = app.login("ann@acme.test", PASSWORD).await;
    assert_eq!(app.get(ME, &token).await.body["role"], "partner_admin");

    // A user of the platform tenant may become a super admin.
    let eve = plain_user(app, &app.platform_tenant.to_string(), "eve@platform.test").await;
    let sup = app
        .post(
            BASE,
            &w.root,
            json!({"user_id": eve, "role": "SUPER_ADMIN"}),
        )
        .await;
    assert_eq!(sup.status, StatusCode::CREATED, "{}", sup.body);
    let eve_token = app.login("eve@platform.test", PASSWORD).await;
    assert_eq!(app.get(ME, &eve_token).await.body["role"], "super_admin");

    // A user who is not active gets no role.
    let sam = plain_user(app, &w.acme_hq, "sam@acme.test").await;
    set_user_attribute(app, &sam, "status", AttributeValue::S("SUSPENDED".into())).await;
    let inactive = app
        .post(BASE, &w.root, tenant_admin(&sam, &w.acme_hq))
        .await;
    assert_eq!(inactive.status, StatusCode::CONFLICT);
    assert_eq!(inactive.body, detail("User is not active"));
}

#[tokio::test]
async fn one_email_holds_admin_roles_in_one_tenant_only() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let in_acme = plain_user(app, &w.acme_hq, "kim@shared.test").await;
    let in_globex = plain_user(app, &w.globex_hq, "kim@shared.test").await;
    let first = app
        .post(BASE, &w.root, tenant_admin(&in_acme, &w.acme_hq))
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let before = app.snapshot().await;
    let second = app
        .post(BASE, &w.root, tenant_admin(&in_globex, &w.globex_hq))
        .await;
    assert_eq!(second.status, StatusCode::CONFLICT);
    assert_eq!(
        second.body,
        detail("Email already holds admin roles in another tenant")
    );
    assert_eq!(app.snapshot().await, before, "the refusal wrote nothing");
    // The login goes to the holder.
    let token = app.login("kim@shared.test", PASSWORD).await;
    assert_eq!(app.get(ME, &token).await.body["id"], in_acme.as_str());
    // Revoking the last role releases the email.
    let revoked = app.delete(&format!("{BASE}/{}", first.id()), &w.root).await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    let table = app.snapshot().await;
    assert!(!table.contains_key("UNIQUE#ADMIN_EMAIL#kim@shared.test UNIQUE"));
    let now_globex = app
        .post(BASE, &w.root, tenant_admin(&in_globex, &w.globex_hq))
        .await;
    assert_eq!(
        now_globex.status,
        StatusCode::CREATED,
        "{}",
        now_globex.body
    );
    let token = app.login("kim@shared.test", PASSWORD).await;
    assert_eq!(app.get(ME, &token).await.body["id"], in_globex.as_str());
}

#[tokio::test]
async fn concurrent_grants_to_two_users_with_one_email_make_one_winner() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let mut users = Vec::new();
    for tenant in [&w.acme_hq, &w.acme_lab, &w.globex_hq] {
        users.push((
            plain_user(app, tenant, "race@shared.test").await,
            tenant.clone(),
        ));
    }
    let replies = join_all(
        users
            .iter()
            .map(|(user, tenant)| app.post(BASE, &w.root, tenant_admin(user, tenant)))
            .collect(),
    )
    .await;
    let won: Vec<&Reply> = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .collect();
    assert_eq!(
        won.len(),
        1,
        "{:?}",
        replies.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    assert!(
        replies
            .iter()
            .filter(|r| r.status != StatusCode::CREATED)
            .all(|r| r.status == StatusCode::CONFLICT)
    );
    let winner = won[0].body["user_id"].as_str().unwrap().to_owned();
    let table = app.snapshot().await;
    assert_eq!(
        table["UNIQUE#ADMIN_EMAIL#race@shared.test UNIQUE"]["user_id"],
        winner.as_str()
    );
    let grants = table
        .values()
        .filter(|i| i["SK"] == "ROLE" && users.iter().any(|(u, _)| i["user_id"] == u.as_str()))
        .count();
    assert_eq!(grants, 1, "the losers' transactions left nothing");
    let events = table
        .values()
        .filter(|i| i["SK"] == "EVENT" && i["action"] == "admin_role.grant")
        // The world's admins were granted by the CLI (`scaikey-cli`), through the same core.
        .filter(|i| i["actor"]["type"] != "system")
        .count();
    assert_eq!(events, 1);
}

#[tokio::test]
async fn concurrent_grants_to_one_user_all_land_in_its_summary() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let ann = plain_user(app, &w.acme_hq, "ann@acme.test").await;
    let bodies = [
        tenant_admin(&ann, &w.acme_hq),
        json!({"user_id": ann, "role": "PARTNER_ADMIN", "partner_id": w.acme}),
    ];
    let replies = join_all(
        bodies
            .iter()
            .map(|b| app.post(BASE, &w.root, b.clone()))
            .collect(),
    )
    .await;
    for r in &replies {
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let table = app.snapshot().await;
    let summary = table[&format!("USER#{ann} USER")]["admin_roles"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(
        summary, 2,
        "the version guard retried the loser, not lost it"
    );
}

#[tokio::test]
async fn an_expired_grant_ends_its_session_and_caps_it() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let ann = plain_user(app, &w.acme_hq, "ann@acme.test").await;
    // Sessions end on a whole minute (the dashboard's tallies count them by minute): the
    // session of a grant ending in two minutes ends on the minute before the grant does.
    let until = shared::time::Timestamp::now().plus(std::time::Duration::from_secs(125));
    let granted = app
        .post(BASE, &w.root, json!({"user_id": ann, "role": "TENANT_ADMIN", "tenant_id": w.acme_hq, "expires_at": until.to_string()}))
        .await;
    assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.body);
    assert_eq!(granted.body["expires_at"], until.to_string());
    let token = app.login("ann@acme.test", PASSWORD).await;
    let me = app.get(ME, &token).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(
        me.body["session"]["expires_at"],
        shared::store::tally::minute_at_or_before(until).to_string(),
        "a session never outlives its grant"
    );
    // The grant expires (written into the holder's summary, which the session check reads):
    // the session ends on its next request.
    let table = app.snapshot().await;
    let mut roles = table[&format!("USER#{ann} USER")]["admin_roles"].clone();
    roles[0]["expires_at"] = json!("2020-01-01T00:00:00.000000Z");
    set_user_attribute(
        app,
        &ann,
        "admin_roles",
        serde_dynamo::to_attribute_value(roles).unwrap(),
    )
    .await;
    assert_eq!(
        app.get(ME, &token).await.body,
        detail("Invalid or expired token")
    );
}

#[tokio::test]
async fn a_user_no_longer_active_is_refused_on_the_next_request() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let ann = plain_user(app, &w.acme_hq, "ann@acme.test").await;
    let granted = app
        .post(BASE, &w.root, tenant_admin(&ann, &w.acme_hq))
        .await;
    assert_eq!(granted.status, StatusCode::CREATED);
    let token = app.login("ann@acme.test", PASSWORD).await;
    assert_eq!(app.get(ME, &token).await.status, StatusCode::OK);
    set_user_attribute(app, &ann, "status", AttributeValue::S("SUSPENDED".into())).await;
    let reply = app.get(ME, &token).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.body, detail("Invalid or expired token"));
    // An expiry written straight into the summary is seen just the same.
    set_user_attribute(app, &ann, "status", AttributeValue::S("ACTIVE".into())).await;
    assert_eq!(app.get(ME, &token).await.status, StatusCode::OK);
    let table = app.snapshot().await;
    let mut roles = table[&format!("USER#{ann} USER")]["admin_roles"].clone();
    roles[0]["expires_at"] = json!("2020-01-01T00:00:00.000000Z");
    set_user_attribute(
        app,
        &ann,
        "admin_roles",
        serde_dynamo::to_attribute_value(roles).unwrap(),
    )
    .await;
    assert_eq!(app.get(ME, &token).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn list_filters_and_cursors_walk_every_visible_grant() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let mut ids = Vec::new();
    for i in 0..5 {
        let user = plain_user(app, &w.acme_lab, &format!("u{i}@acme.test")).await;
        let r = app
            .post(BASE, &w.acme_admin, tenant_admin(&user, &w.acme_lab))
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
        ids.push(r.id());
    }
    ids.reverse();
    let mut seen = Vec::new();
    let mut path = format!("{BASE}?per_page=2&role=TENANT_ADMIN");
    loop {
        let before = app.calls();
        let page = app.get(&path, &w.acme_admin).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        // Three round trips: the session check, the partner's live tenants, then per tenant
        // (acme has 2) a Query and, on the first page only, a COUNT — all at once.
        let calls = app.calls() - before;
        assert!(calls <= 2 + 2 * 2, "{calls} calls");
        assert_eq!(page.body["pagination"]["total"], 5);
        for item in page.body["items"].as_array().unwrap() {
            seen.push(item["id"].as_str().unwrap().to_owned());
        }
        match page.body["pagination"]["next_cursor"].as_str() {
            Some(c) => path = format!("{BASE}?per_page=2&role=TENANT_ADMIN&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ids, "newest first, each once");
    let bad = app
        .get(&format!("{BASE}?is_active=maybe&role=OWNER"), &w.root)
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["detail"].as_array().unwrap().len(), 2);
    let forged = app.get(&format!("{BASE}?cursor=abc"), &w.root).await;
    assert_eq!(forged.status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// A tenant transfer moves its admins' grants to the receiving partner at once: the old
/// partner's admins no longer read, list or revoke them; the new partner's do, and what they
/// do is filed under the new partner.
#[tokio::test]
async fn a_tenant_transfer_moves_its_grants_to_the_receiving_partner() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let globex_admin = app
        .admin_token(
            "pa@globex.test",
            AdminRole::PartnerAdmin,
            Some(&w.globex),
            None,
        )
        .await;
    let lab_user = plain_user(app, &w.acme_lab, "ta@acme-lab.test").await;
    let granted = app
        .post(BASE, &w.acme_admin, tenant_admin(&lab_user, &w.acme_lab))
        .await;
    assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.body);
    let grant = format!("{BASE}/{}", granted.id());
    let of_user = format!("{BASE}/user/{lab_user}");
    let listed = |token: String| async move {
        app.get(&format!("{BASE}?role=TENANT_ADMIN"), &token)
            .await
            .body["pagination"]["total"]
            .clone()
    };
    assert_eq!(listed(w.acme_admin.clone()).await, 1);
    assert_eq!(listed(globex_admin.clone()).await, 0);
    app.move_tenant(&w.root, &w.acme_lab, &w.globex).await;
    for reply in [
        app.get(&grant, &w.acme_admin).await,
        app.get(&of_user, &w.acme_admin).await,
        app.delete(&grant, &w.acme_admin).await,
    ] {
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    }
    assert_eq!(listed(w.acme_admin.clone()).await, 0);
    assert_eq!(listed(globex_admin.clone()).await, 1);
    assert_eq!(app.get(&grant, &globex_admin).await.status, StatusCode::OK);
    assert_eq!(
        app.get(&of_user, &globex_admin).await.status,
        StatusCode::OK
    );
    let revoked = app.delete(&grant, &globex_admin).await;
    assert!(revoked.status.is_success(), "{}", revoked.body);
    let filed = |events: Vec<Value>| {
        events
            .iter()
            .filter(|e| e["action"] == "admin_role.revoke" && e["result"] == "SUCCESS")
            .count()
    };
    assert_eq!(filed(app.audit_events_of_partner(&w.globex).await), 1);
    assert_eq!(filed(app.audit_events_of_partner(&w.acme).await), 0);
}

/// A query boolean reads what clients send for one: `true`/`false`, `True`/`False` (Python's
/// `str(True)`), `1`/`0` — the same filter each way. Anything else is a 422 on that query
/// field.
#[tokio::test]
async fn query_booleans_take_true_false_in_either_case_and_one_zero() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let ann = plain_user(app, &w.acme_hq, "ann@acme.test").await;
    let granted = app
        .post(BASE, &w.root, tenant_admin(&ann, &w.acme_hq))
        .await;
    assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.body);
    let revoked = app
        .delete(&format!("{BASE}/{}", granted.id()), &w.root)
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT, "{}", revoked.body);
    let listed = |value: &'static str| {
        let root = w.root.clone();
        async move {
            let reply = app.get(&format!("{BASE}?is_active={value}"), &root).await;
            assert_eq!(reply.status, StatusCode::OK, "{value}: {}", reply.body);
            reply.body["items"].clone()
        }
    };
    let active = listed("true").await;
    let inactive = listed("false").await;
    assert_eq!(inactive.as_array().map(Vec::len), Some(1));
    assert_ne!(active, inactive);
    for value in ["True", "1"] {
        assert_eq!(listed(value).await, active, "{value}");
    }
    for value in ["False", "0"] {
        assert_eq!(listed(value).await, inactive, "{value}");
    }
    for value in ["yes", "TRUE", "2", "on"] {
        let reply = app.get(&format!("{BASE}?is_active={value}"), &w.root).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{value}: {}",
            reply.body
        );
        assert_eq!(locs(&reply), vec![json!(["query", "is_active"])], "{value}");
    }
    let _ = (&w.acme, &w.globex, &w.acme_lab, &w.globex_hq, &w.acme_admin);
}
