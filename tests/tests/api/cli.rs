//! The CLI's `admin create` and bootstrap (`infra/cli/src/ops.rs`): "create a user, then grant a
//! role" through the same cores as the API (`users::operations::create_as`, then
//! `admin_roles::operations::grant_as`), as the `scaikey-cli` system actor — idempotent, and
//! finished by a re-run when the grant failed after the user was created.

use std::collections::BTreeMap;

use api_tests::*;
use axum::http::StatusCode;
use scaikey_cli::ops::{self, NewAdmin};
use serde_json::Value;
use shared::access::AdminRole;
use shared::audit::{Actor, RequestMeta};
use shared::ids::{PartnerId, TenantId};
use shared::values::Email;

const PASSWORD: &str = "a-long-enough-password";

fn admin(email: &str, role: AdminRole, partner: Option<&str>, tenant: Option<&str>) -> NewAdmin {
    NewAdmin {
        email: email.into(),
        password: PASSWORD.into(),
        role,
        partner_id: partner.map(|p| PartnerId::parse(p).unwrap()),
        tenant_id: tenant.map(|t| TenantId::parse(t).unwrap()),
    }
}

/// The items of one user's admin state: its user item, grants and markers.
fn items_of(table: &BTreeMap<String, Value>, user: &str) -> Vec<Value> {
    table
        .values()
        .filter(|i| i["id"] == user || i["user_id"] == user || i["owner_id"] == user)
        .cloned()
        .collect()
}

fn events(table: &BTreeMap<String, Value>, action: &str) -> Vec<Value> {
    table
        .values()
        .filter(|i| i["SK"] == "EVENT" && i["action"] == action)
        .cloned()
        .collect()
}

struct World {
    app: TestApp,
    root: String,
    acme: String,
    acme_hq: String,
    globex_hq: String,
}

async fn world() -> Option<World> {
    let app = spawn_app().await?;
    let root = app.root_token().await;
    let acme = app.create_partner(&root, "acme").await;
    let globex = app.create_partner(&root, "globex").await;
    let acme_hq = app.create_tenant(&root, &acme, "acme-hq").await;
    let globex_hq = app.create_tenant(&root, &globex, "globex-hq").await;
    Some(World {
        app,
        root,
        acme,
        acme_hq,
        globex_hq,
    })
}

#[tokio::test]
async fn admin_create_is_a_user_create_then_a_grant_recorded_as_the_cli() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let id = ops::create_admin(
        &app.state,
        admin(
            "ta@acme.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_hq),
        ),
    )
    .await
    .unwrap()
    .expect("the email was free")
    .to_string();
    // The user is the users group's: read, listed and counted like any other.
    let user = app.get(&format!("/api/v1/admin/users/{id}"), &w.root).await;
    assert_eq!(user.status, StatusCode::OK);
    assert_eq!(user.body["tenant_id"], w.acme_hq.as_str());
    let tenant = app
        .get(&format!("/api/v1/admin/tenants/{}", w.acme_hq), &w.root)
        .await;
    assert_eq!(tenant.body["user_count"], 1);
    // The grant is the admin-roles group's.
    let grants = app
        .get(&format!("/api/v1/admin/admin-roles/user/{id}"), &w.root)
        .await;
    assert_eq!(grants.body["pagination"]["total"], 1, "{}", grants.body);
    let grant = &grants.body["items"][0];
    assert_eq!(grant["role"], "TENANT_ADMIN");
    assert_eq!(grant["tenant_id"], w.acme_hq.as_str());
    assert_eq!(grant["created_by"], "scaikey-cli");
    // Both recorded by the CLI as a system actor, each by its own group's action.
    let table = app.snapshot().await;
    for action in ["user.create", "admin_role.grant"] {
        let recorded: Vec<Value> = events(&table, action)
            .into_iter()
            .filter(|e| e["actor"]["id"] == "scaikey-cli")
            .filter(|e| e["tenant_id"] == w.acme_hq.as_str())
            .collect();
        assert_eq!(recorded.len(), 1, "{action}");
        assert_eq!(recorded[0]["actor"]["type"], "system");
    }
    assert_eq!(
        table["UNIQUE#ADMIN_EMAIL#ta@acme.test UNIQUE"]["user_id"],
        id.as_str()
    );
    // And it signs in as a tenant admin.
    let token = app.login("ta@acme.test", PASSWORD).await;
    assert_eq!(
        app.get("/api/v1/admin/users", &token).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn rerunning_admin_create_or_bootstrap_writes_nothing() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let pa = || admin("pa@acme.test", AdminRole::PartnerAdmin, Some(&w.acme), None);
    let first = ops::create_admin(&app.state, pa()).await.unwrap();
    assert!(first.is_some());
    let before = app.snapshot().await;
    assert_eq!(ops::create_admin(&app.state, pa()).await.unwrap(), None);
    // The bootstrap admin, again, with another password: its password is unchanged.
    let bootstrap = NewAdmin {
        email: ADMIN_EMAIL.into(),
        password: "another-password-entirely".into(),
        role: AdminRole::SuperAdmin,
        partner_id: None,
        tenant_id: None,
    };
    assert_eq!(
        ops::create_admin(&app.state, bootstrap).await.unwrap(),
        None
    );
    let (_, _, created) = ops::ensure_platform(&app.state).await.unwrap();
    assert!(created.is_empty());
    assert_eq!(app.snapshot().await, before, "a re-run wrote nothing");
    app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
}

/// The grant failed after the user was created (two transactions): the same command again finds
/// the user by its email and password and grants it the role; another password is refused.
#[tokio::test]
async fn a_rerun_finishes_an_admin_whose_grant_failed() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    // The first half of a run, as `admin create` does it.
    let new = users::operations::NewUser::local(
        TenantId::parse(&w.acme_hq).unwrap(),
        Email::parse_str("half@acme.test").unwrap(),
        PASSWORD.into(),
    );
    let meta = RequestMeta {
        request_id: None,
        ip_address: None,
        user_agent: None,
    };
    let user = users::operations::create_as(&app.state, Actor::system("scaikey-cli"), &new, &meta)
        .await
        .unwrap();
    let half = admin(
        "half@acme.test",
        AdminRole::TenantAdmin,
        None,
        Some(&w.acme_hq),
    );
    // Someone else's password: refused, nothing written.
    let before = app.snapshot().await;
    let wrong = NewAdmin {
        password: "not-the-same-password".into(),
        ..admin(
            "half@acme.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_hq),
        )
    };
    let err = ops::create_admin(&app.state, wrong).await.unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
    assert_eq!(app.snapshot().await, before);
    // The same command: finished, on the same user.
    let finished = ops::create_admin(&app.state, half).await.unwrap();
    assert_eq!(finished, Some(user.id.clone()));
    let table = app.snapshot().await;
    let users_of_email = table
        .values()
        .filter(|i| i["SK"] == "USER" && i["email"] == "half@acme.test")
        .count();
    assert_eq!(users_of_email, 1, "no second user");
    assert_eq!(
        items_of(&table, user.id.as_str())
            .iter()
            .filter(|i| i["SK"] == "ROLE")
            .count(),
        1
    );
    app.login("half@acme.test", PASSWORD).await;
}

/// An email holding admin roles in one tenant cannot become an admin in another: refused
/// before anything is written. Refused inputs (policy, a partner/tenant mismatch, a missing
/// tenant) write nothing either.
#[tokio::test]
async fn refused_admin_creates_write_nothing() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    ops::create_admin(
        &app.state,
        admin(
            "x@shared.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_hq),
        ),
    )
    .await
    .unwrap()
    .expect("first");
    let before = app.snapshot().await;
    let elsewhere = ops::create_admin(
        &app.state,
        admin(
            "x@shared.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.globex_hq),
        ),
    )
    .await
    .unwrap();
    assert_eq!(elsewhere, None, "already holds admin roles");
    let weak = NewAdmin {
        password: "short".into(),
        ..admin(
            "weak@acme.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_hq),
        )
    };
    let err = ops::create_admin(&app.state, weak).await.unwrap_err();
    assert!(err.to_string().contains("--password"), "{err}");
    let mismatch = ops::create_admin(
        &app.state,
        admin(
            "pa@globex.test",
            AdminRole::PartnerAdmin,
            Some(&w.acme),
            Some(&w.globex_hq),
        ),
    )
    .await
    .unwrap_err();
    assert!(mismatch.to_string().contains("--tenant-id"), "{mismatch}");
    let no_tenant = ops::create_admin(
        &app.state,
        admin("ta@nowhere.test", AdminRole::TenantAdmin, None, None),
    )
    .await;
    assert!(no_tenant.is_err());
    let missing = ops::create_admin(
        &app.state,
        admin(
            "ta@nowhere.test",
            AdminRole::TenantAdmin,
            None,
            Some(&TenantId::generate().to_string()),
        ),
    )
    .await;
    assert!(missing.is_err());
    assert_eq!(app.snapshot().await, before);
}

/// Next to a local DynamoDB with no key-encryption key named, the CLI uses the one `scripts/dev`
/// made (`.data/dev-kek`), so `scaikey keys rotate` works in the checkout as the README says;
/// anything named explicitly wins, and without a local database the file is never taken.
#[tokio::test]
async fn the_cli_finds_scripts_devs_key_next_to_a_local_database() {
    let dir = std::env::temp_dir().join(format!("scaikey-cli-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(dir.join(".data")).unwrap();
    let kek = local_kek_file();
    std::fs::copy(&kek, dir.join(scaikey_cli::DEV_KEK_FILE)).unwrap();
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    };
    let local: &[(&str, &str)] = &[("DYNAMODB_ENDPOINT", "http://127.0.0.1:8000")];
    let (config, used) = scaikey_cli::config_with_dev_kek(env(local), &dir).unwrap();
    assert_eq!(used, Some(dir.join(".data/dev-kek")));
    assert!(matches!(
        config.key_encryption,
        shared::config::KeyEncryption::LocalFile(_)
    ));
    // A kek made from it opens what scripts/dev's would (the same file).
    assert!(
        shared::sealing::Kek::from_config(&config)
            .await
            .unwrap()
            .is_some()
    );
    let named: &[(&str, &str)] = &[
        ("DYNAMODB_ENDPOINT", "http://127.0.0.1:8000"),
        ("SCAIKEY_KMS_KEY_ID", "alias/scaikey"),
    ];
    let (config, used) = scaikey_cli::config_with_dev_kek(env(named), &dir).unwrap();
    assert_eq!(used, None);
    assert!(matches!(
        config.key_encryption,
        shared::config::KeyEncryption::Kms { .. }
    ));
    let in_aws: &[(&str, &str)] = &[];
    let (config, used) = scaikey_cli::config_with_dev_kek(env(in_aws), &dir).unwrap();
    assert_eq!(used, None);
    assert_eq!(config.key_encryption, shared::config::KeyEncryption::None);
    let elsewhere = std::env::temp_dir().join("scaikey-cli-no-such-dir");
    let (_, used) = scaikey_cli::config_with_dev_kek(env(local), &elsewhere).unwrap();
    assert_eq!(used, None);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `scaikey upgrade` moves assignments an earlier version kept in their application's partition
/// into their own (so IAM can let an unassign delete an assignment and never the application):
/// each moved once, the old item gone, the application's audience unchanged; a second run
/// moves nothing.
#[tokio::test]
async fn upgrade_moves_assignments_out_of_their_applications_partition() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let created = app
        .post(
            "/api/v1/admin/applications",
            &w.root,
            serde_json::json!({"name": "Portal", "scope": "TENANT", "tenant_id": w.acme_hq,
                               "application_type": "WEB", "redirect_uris": ["https://app.example/cb"]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let app_id = created.id();
    let user = app.put_user(&w.acme_hq, "ann@acme.test").await;
    let assigned = app
        .post(
            &format!("/api/v1/admin/applications/{app_id}/assignments"),
            &w.root,
            serde_json::json!({"user_id": user}),
        )
        .await;
    assert_eq!(assigned.status, StatusCode::CREATED, "{}", assigned.body);
    // Back to the earlier layout: the assignment in the application's own partition.
    let store = app.state.store();
    let new_key = format!("ASSIGNMENTS#{app_id}");
    let item = store
        .client()
        .get_item()
        .table_name(store.table())
        .key(
            "PK",
            aws_sdk_dynamodb::types::AttributeValue::S(new_key.clone()),
        )
        .key(
            "SK",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("ASSIGNEE#{user}")),
        )
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let mut legacy = item.clone();
    legacy.insert(
        "PK".into(),
        aws_sdk_dynamodb::types::AttributeValue::S(format!("APP#{app_id}")),
    );
    store
        .client()
        .put_item()
        .table_name(store.table())
        .set_item(Some(legacy))
        .send()
        .await
        .unwrap();
    store
        .client()
        .delete_item()
        .table_name(store.table())
        .key(
            "PK",
            aws_sdk_dynamodb::types::AttributeValue::S(new_key.clone()),
        )
        .key(
            "SK",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("ASSIGNEE#{user}")),
        )
        .send()
        .await
        .unwrap();
    let audience = format!("/api/v1/admin/applications/{app_id}/effective-users");
    assert_eq!(
        app.get(&audience, &w.root).await.body["items"],
        serde_json::json!([])
    );

    assert_eq!(ops::move_assignments(store).await.unwrap(), 1);
    let table = app.snapshot().await;
    assert!(table.contains_key(&format!("{new_key} ASSIGNEE#{user}")));
    assert!(!table.contains_key(&format!("APP#{app_id} ASSIGNEE#{user}")));
    let users = app.get(&audience, &w.root).await;
    assert_eq!(
        users.body["items"][0]["id"],
        user.as_str(),
        "{}",
        users.body
    );
    assert_eq!(
        ops::move_assignments(store).await.unwrap(),
        0,
        "a second run moves nothing"
    );
}

#[tokio::test]
async fn email_claims_are_found_by_email_and_upgrade_lists_the_old_ones() {
    use shared::ids::UserId;
    use shared::store::emails;
    let Some(w) = world().await else { return };
    let app = &w.app;
    let root = &w.root;
    let create = |tenant: String, email: &'static str| {
        let body = serde_json::json!({"email": email, "tenant_id": tenant, "password": PASSWORD});
        async move {
            let created = app.post("/api/v1/admin/users", root, body).await;
            assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
            created.id()
        }
    };
    let in_acme = create(w.acme_hq.clone(), "Ann@Example.com").await;
    let in_globex = create(w.globex_hq.clone(), "ann@example.com").await;
    let store = app.state.store();
    let pair = |t: &str, u: &str| (TenantId::parse(t).unwrap(), UserId::parse(u).unwrap());
    let found = |email: &'static str| async move {
        match emails::holders(store, email).await.unwrap() {
            emails::Holders::Found(mut found) => {
                found.sort();
                found
            }
            emails::Holders::TooMany => panic!("not that many"),
        }
    };
    let mut expected = vec![pair(&w.acme_hq, &in_acme), pair(&w.globex_hq, &in_globex)];
    expected.sort();
    assert_eq!(
        found("ann@example.com").await,
        expected,
        "both tenants' users, by the normalised email"
    );
    assert_eq!(found("bob@example.com").await, []);

    // A deleted user is found nowhere (nobody crowds an email's lookup with deleted users);
    // restored, it is found again.
    let path = format!("/api/v1/admin/users/{in_acme}");
    let deleted = app.delete(&path, &w.root).await;
    assert!(deleted.status.is_success(), "{}", deleted.body);
    assert_eq!(
        found("ann@example.com").await,
        [pair(&w.globex_hq, &in_globex)]
    );
    let restored = app
        .post(&format!("{path}/restore"), &w.root, serde_json::json!({}))
        .await;
    assert!(restored.status.is_success(), "{}", restored.body);
    assert_eq!(found("ann@example.com").await, expected);

    // A changed email moves the entry with the claim.
    let patched = app
        .patch(
            &format!("/api/v1/admin/users/{in_globex}"),
            &w.root,
            serde_json::json!({"email": "ann.g@example.com"}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(found("ann@example.com").await, [pair(&w.acme_hq, &in_acme)]);
    assert_eq!(
        found("ann.g@example.com").await,
        [pair(&w.globex_hq, &in_globex)]
    );

    // A claim as an earlier version wrote it (no index keys): upgrade lists it, once.
    store
        .client()
        .update_item()
        .table_name(store.table())
        .key(
            "PK",
            aws_sdk_dynamodb::types::AttributeValue::S(format!(
                "UNIQUE#USER_EMAIL#{}#ann@example.com",
                w.acme_hq
            )),
        )
        .key(
            "SK",
            aws_sdk_dynamodb::types::AttributeValue::S("UNIQUE".into()),
        )
        .update_expression("REMOVE GSI1PK, GSI1SK")
        .send()
        .await
        .unwrap();
    assert_eq!(found("ann@example.com").await, []);
    assert_eq!(ops::index_email_claims(store).await.unwrap(), 1);
    assert_eq!(found("ann@example.com").await, [pair(&w.acme_hq, &in_acme)]);
    assert_eq!(
        ops::index_email_claims(store).await.unwrap(),
        0,
        "a second run lists nothing"
    );
}
