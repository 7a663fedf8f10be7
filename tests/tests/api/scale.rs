//! The bulk loader the scale bench uses (`api_tests::bulk`) writes what the users API writes:
//! loaded users list, count, read, search and keep their emails unique exactly as users
//! created through the API do.

use std::collections::BTreeSet;

use api_tests::*;
use axum::http::StatusCode;
use serde_json::{Value, json};
use shared::ids::TenantId;

const BASE: &str = "/api/v1/admin/users";
const LOADED: usize = 300;

fn ids(reply: &Reply) -> Vec<String> {
    reply.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|u| u["id"].as_str().expect("id").to_owned())
        .collect()
}

/// A user as the API shows it, without what differs between any two users.
fn shape(user: &Value) -> Value {
    let mut user = user.clone();
    let fields = user.as_object_mut().expect("a user object");
    for field in [
        "id",
        "email",
        "first_name",
        "last_name",
        "created_at",
        "updated_at",
    ] {
        assert!(fields.remove(field).is_some(), "{field} shown");
    }
    user
}

/// Every page of a list by cursor: (ids in order, totals every page reported).
async fn walk(app: &TestApp, token: &str, query: &str) -> (Vec<String>, BTreeSet<String>) {
    let mut walked = Vec::new();
    let mut totals = BTreeSet::new();
    let mut page = app.get(&format!("{BASE}?{query}"), token).await;
    loop {
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        totals.insert(page.body["pagination"]["total"].to_string());
        walked.extend(ids(&page));
        let Some(cursor) = page.body["pagination"]["next_cursor"].as_str() else {
            return (walked, totals);
        };
        page = app
            .get(&format!("{BASE}?{query}&cursor={cursor}"), token)
            .await;
    }
}

#[tokio::test]
async fn bulk_loaded_users_are_users_the_api_made() {
    let Some(app) = spawn_app().await else { return };
    let root = app.root_token().await;
    let partner = app.create_partner(&root, "bulk").await;
    let tenant = app.create_tenant(&root, &partner, "bulk-hq").await;
    let before_total = app.get(BASE, &root).await.body["pagination"]["total"].clone();

    // Two users through the API: one before the load, one after (ids are time-ordered).
    let made = |email: &str| {
        app.post(
            BASE,
            &root,
            json!({"tenant_id": tenant, "email": email, "first_name": "Api", "last_name": "Made"}),
        )
    };
    let early = made("early@api.test").await;
    assert_eq!(early.status, StatusCode::CREATED, "{}", early.body);
    let tenant_id = TenantId::parse(&tenant).expect("tenant id");
    let load = bulk::load_users(app.state.store(), &tenant_id, 0, LOADED)
        .await
        .expect("loaded");
    assert_eq!(load.ids.len(), LOADED);
    // 600 items (user + email claim each), 25 a call.
    assert!(
        load.calls >= (2 * LOADED / 25) as u64,
        "{} calls",
        load.calls
    );
    let late = made("late@api.test").await;
    assert_eq!(late.status, StatusCode::CREATED, "{}", late.body);

    // Counted: the tenant's user_count and the platform total.
    let expected = LOADED as u64 + 2;
    let shown = app
        .get(&format!("/api/v1/admin/tenants/{tenant}"), &root)
        .await;
    assert_eq!(shown.body["user_count"], expected);
    let platform = app.get(BASE, &root).await;
    assert_eq!(
        platform.body["pagination"]["total"].as_u64(),
        before_total.as_u64().map(|t| t + expected)
    );

    // Listed: every loaded user once, newest first, between the two API users.
    let (walked, totals) = walk(&app, &root, &format!("tenant_id={tenant}&per_page=100")).await;
    assert_eq!(totals, BTreeSet::from([expected.to_string()]));
    let mut newest_first: Vec<String> = vec![late.id()];
    newest_first.extend(load.ids.iter().rev().map(|id| id.to_string()));
    newest_first.push(early.id());
    assert_eq!(walked, newest_first);
    // The platform-wide list (sharded GSI2) holds them too.
    let (everyone, _) = walk(&app, &root, "per_page=100").await;
    let everyone: BTreeSet<String> = everyone.into_iter().collect();
    assert!(newest_first.iter().all(|id| everyone.contains(id)));

    // Read: a loaded user looks like an API-made one, field for field.
    let loaded_id = load.ids[42].to_string();
    let got = app.get(&format!("{BASE}/{loaded_id}"), &root).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    assert_eq!(got.body["id"], loaded_id.as_str());
    assert_eq!(got.body["email"], "user000042@bulk.test");
    assert_eq!(got.body["first_name"], "Cleo");
    assert_eq!(got.body["last_name"], "Load000042");
    let api_made = app.get(&format!("{BASE}/{}", late.id()), &root).await;
    assert_eq!(shape(&got.body), shape(&api_made.body));
    // The stored items carry the same attributes (user item and email claim).
    let table = app.snapshot().await;
    let attributes = |key: &str| -> BTreeSet<String> {
        table[key]
            .as_object()
            .expect("an item")
            .keys()
            .cloned()
            .collect()
    };
    assert_eq!(
        attributes(&format!("USER#{loaded_id} USER")),
        attributes(&format!("USER#{} USER", late.id()))
    );
    assert_eq!(
        attributes(&format!(
            "UNIQUE#USER_EMAIL#{tenant}#user000042@bulk.test UNIQUE"
        )),
        attributes(&format!("UNIQUE#USER_EMAIL#{tenant}#late@api.test UNIQUE"))
    );

    // Searched: one match by email, every loaded user by domain (counted on the first page).
    // A rare match costs one read of the partition, not a call per `Limit` items read: the
    // session batch, the list Query and its COUNT Query (~300 users fit in one 1 MB read).
    let before = app.calls();
    let one = app
        .get(
            &format!("{BASE}?tenant_id={tenant}&search=USER000042@"),
            &root,
        )
        .await;
    assert_eq!(ids(&one), vec![loaded_id.clone()]);
    assert_eq!(one.body["pagination"]["total"], 1);
    assert!(
        app.calls() - before <= 3,
        "a rare search read the partition in {} calls",
        app.calls() - before
    );
    let by_name = app
        .get(&format!("{BASE}?tenant_id={tenant}&search=load0001"), &root)
        .await;
    assert_eq!(by_name.body["pagination"]["total"], 100);
    let (domain, _) = walk(
        &app,
        &root,
        &format!("tenant_id={tenant}&search=bulk.test&per_page=100"),
    )
    .await;
    assert_eq!(domain.len(), LOADED);

    // Unique: a loaded user's email is taken for the API too.
    let taken = made("user000007@bulk.test").await;
    assert_eq!(taken.status, StatusCode::CONFLICT, "{}", taken.body);
}
