//! Admin sessions (SPEC §4.11): list (active only, merged shards and tenants, exact totals),
//! get (computed EXPIRED), revoke and revoke-all (refused on the very next request), tiers and
//! foreign ids, the last-activity touch (at most one write a minute), round trips, the binary;
//! the active-session tallies (`TALLY#SESSIONS#…`) the dashboard reads, equal to the lists.

use std::collections::BTreeMap;

use api_tests::*;
use aws_sdk_dynamodb::types::AttributeValue;
use axum::http::StatusCode;
use data_encoding::BASE64URL_NOPAD;
use serde_json::{Value, json};
use shared::access::AdminRole;
use shared::ids::{PartnerId, SessionId, TenantId, UserId};
use shared::time::Timestamp;

const BASE: &str = "/api/v1/admin/sessions";
const PASSWORD: &str = "admin-password-for-tests";
const ME: &str = "/api/v1/admin/auth/me";

fn path(id: &str) -> String {
    format!("{BASE}/{id}")
}

fn ids(reply: &Reply) -> Vec<String> {
    reply.body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a list: {}", reply.body))
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

/// A token's claim.
fn claim(token: &str, name: &str) -> String {
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value =
        serde_json::from_slice(&BASE64URL_NOPAD.decode(payload.as_bytes()).unwrap()).unwrap();
    claims[name].as_str().unwrap().to_owned()
}

/// The session a token stands on.
fn sid(token: &str) -> String {
    claim(token, "sid")
}

fn session_key(id: &str) -> std::collections::HashMap<String, AttributeValue> {
    shared::store::keys::session(&SessionId::parse(id).unwrap()).to_item()
}

/// Sets a stored session's attribute straight in the table (a clock moved on, a legacy item).
async fn set(app: &TestApp, session: &str, name: &str, value: Option<String>) {
    let store = app.state.store();
    let update = store
        .client()
        .update_item()
        .table_name(store.table())
        .set_key(Some(session_key(session)))
        .expression_attribute_names("#a", name);
    let update = match value {
        Some(v) => update
            .update_expression("SET #a = :v")
            .expression_attribute_values(":v", AttributeValue::S(v)),
        None => update.update_expression("REMOVE #a"),
    };
    update.send().await.expect("session updated");
}

async fn stored(app: &TestApp, session: &str) -> Value {
    app.snapshot().await[&format!("SESSION#{session} SESSION")].clone()
}

/// Every session the table holds that is active now, newest first.
async fn active_sessions(app: &TestApp, keep: impl Fn(&Value) -> bool) -> Vec<String> {
    let now = Timestamp::now().to_string();
    let mut out: Vec<String> = app
        .snapshot()
        .await
        .values()
        .filter(|i| i["SK"] == "SESSION" && i["status"] == "ACTIVE")
        .filter(|i| i["expires_at"].as_str().unwrap() > now.as_str())
        .filter(|i| keep(i))
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    out.sort();
    out.reverse();
    out
}

/// What the `TALLY#SESSIONS#<scope>` windows of `table` count now: the minutes after now.
pub(crate) fn tally(table: &BTreeMap<String, Value>, scope: &str) -> i64 {
    let now = Timestamp::now().unix();
    let prefix = format!("TALLY#SESSIONS#{scope} DAY#");
    table
        .iter()
        .filter_map(|(key, item)| Some((key.strip_prefix(&prefix)?.parse::<i64>().ok()?, item)))
        .flat_map(|(day, item)| {
            item.as_object()
                .unwrap()
                .iter()
                .filter_map(move |(name, count)| {
                    let minute: i64 = name.strip_prefix('m')?.parse().ok()?;
                    (day * 86_400 + minute * 60 > now).then(|| count.as_f64().unwrap() as i64)
                })
        })
        .sum()
}

/// The tallies of the platform, the partners and the tenants, by scope.
fn tallies(
    table: &BTreeMap<String, Value>,
    partners: &[&String],
    tenants: &[&String],
) -> BTreeMap<String, i64> {
    let mut scopes = vec!["PLATFORM".to_owned()];
    scopes.extend(partners.iter().map(|p| format!("PARTNER#{p}")));
    scopes.extend(tenants.iter().map(|t| format!("TENANT#{t}")));
    scopes
        .into_iter()
        .map(|scope| (scope.clone(), tally(table, &scope)))
        .collect()
}

/// A list's exact total.
async fn total(app: &TestApp, query: &str, token: &str) -> i64 {
    let list = app.get(&format!("{BASE}{query}"), token).await;
    assert_eq!(list.status, StatusCode::OK, "{query}: {}", list.body);
    list.body["pagination"]["total"].as_i64().unwrap()
}

/// Every tally equals what the super admin's lists show (the platform's; a partner's; a
/// tenant's); returns them.
async fn tallies_match_lists(
    app: &TestApp,
    root: &str,
    partners: &[&String],
    tenants: &[&String],
) -> BTreeMap<String, i64> {
    let counted = tallies(&app.snapshot().await, partners, tenants);
    assert_eq!(
        counted["PLATFORM"],
        total(app, "", root).await,
        "{counted:?}"
    );
    for p in partners {
        let listed = total(app, &format!("?partner_id={p}"), root).await;
        assert_eq!(counted[&format!("PARTNER#{p}")], listed, "{p}: {counted:?}");
    }
    for t in tenants {
        let listed = total(app, &format!("?tenant_id={t}"), root).await;
        assert_eq!(counted[&format!("TENANT#{t}")], listed, "{t}: {counted:?}");
    }
    counted
}

/// `after` is `before` with `changes` added (every other scope unchanged).
fn assert_moved(
    before: &BTreeMap<String, i64>,
    after: &BTreeMap<String, i64>,
    changes: &[(String, i64)],
) {
    let mut expected = before.clone();
    for (scope, delta) in changes {
        *expected.get_mut(scope).unwrap() += delta;
    }
    assert_eq!(after, &expected);
}

/// Walks a list with cursors, `per_page` at a time; returns the ids and the totals seen.
async fn walk(app: &TestApp, query: &str, token: &str, per_page: u32) -> (Vec<String>, Vec<u64>) {
    let mut seen = Vec::new();
    let mut totals = Vec::new();
    let sep = if query.is_empty() { "?" } else { "&" };
    let mut url = format!("{BASE}{query}{sep}per_page={per_page}");
    loop {
        let page = app.get(&url, token).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        seen.extend(ids(&page));
        totals.push(page.body["pagination"]["total"].as_u64().unwrap());
        match page.body["pagination"]["next_cursor"].as_str() {
            Some(cursor) => {
                url = format!("{BASE}{query}{sep}per_page={per_page}&cursor={cursor}");
            }
            None => return (seen, totals),
        }
    }
}

/// The items written since `before` are DENIED events only, and nothing else changed.
async fn only_denied_since(app: &TestApp, before: &BTreeMap<String, Value>) -> usize {
    let added = added_since(app, before).await;
    assert!(
        added
            .iter()
            .all(|i| i["SK"] == "EVENT" && i["result"] == "DENIED"),
        "{added:?}"
    );
    added.len()
}

#[tokio::test]
async fn a_session_is_listed_read_and_revoked_with_exact_fields_in_few_round_trips() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let hq = app
        .admin_token(
            "hq@acme.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_hq),
        )
        .await;
    let id = sid(&hq);
    let user = claim(&hq, "sub");

    let before = app.calls();
    let list = app
        .get(&format!("{BASE}?tenant_id={}", w.acme_hq), &w.root)
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert_eq!(
        app.calls() - before,
        3,
        "session batch + the page and its count"
    );
    assert_eq!(ids(&list), vec![id.clone()]);
    assert_eq!(list.body["pagination"]["total"], 1);
    let item = &list.body["items"][0];
    let mut fields: Vec<&str> = item
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "created_at",
            "expires_at",
            "id",
            "ip_address",
            "last_active_at",
            "partner_id",
            "session_type",
            "status",
            "tenant_id",
            "user_agent",
            "user_email",
            "user_id"
        ],
        "no token, hash, grant or generation: {item}"
    );
    assert_eq!(item["session_type"], "ADMIN");
    assert_eq!(item["user_id"], user.as_str());
    assert_eq!(item["user_email"], "hq@acme.test");
    assert_eq!(item["tenant_id"], w.acme_hq.as_str());
    assert_eq!(item["partner_id"], w.acme.as_str());
    assert_eq!(item["status"], "ACTIVE");
    assert_eq!(item["last_active_at"], item["created_at"], "set at login");
    let created = Timestamp::parse(item["created_at"].as_str().unwrap()).unwrap();
    let expires = Timestamp::parse(item["expires_at"].as_str().unwrap()).unwrap();
    // The whole minute at or before the 12 hours are up: never later.
    assert!(
        (43_140..=43_200).contains(&(expires.unix() - created.unix())),
        "{item}"
    );
    assert_eq!(expires.unix() % 60, 0);
    assert_eq!(
        item["expires_at"],
        format!("{}", Timestamp::from_unix(expires.unix()).unwrap())
    );
    // The stored item carries the three index keys.
    let item_stored = stored(app, &id).await;
    assert_eq!(item_stored["GSI1PK"], format!("USER#{user}#SESSIONS"));
    assert_eq!(
        item_stored["GSI2PK"],
        format!("TENANT#{}#SESSIONS", w.acme_hq)
    );
    assert!(
        item_stored["GSI3PK"]
            .as_str()
            .unwrap()
            .strip_prefix("SESSIONS#")
            .and_then(|n| n.parse::<u64>().ok())
            .is_some_and(|n| n < 8),
        "{item_stored}"
    );
    assert_eq!(item_stored["GSI3SK"], id.as_str());

    let before = app.calls();
    let read = app.get(&path(&id), &w.root).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(
        app.calls() - before,
        1,
        "one batch: session check + the session"
    );
    assert_eq!(&read.body, item);
    // The holder reads its own session.
    assert_eq!(app.get(&path(&id), &hq).await.body, *item);

    let snapshot = app.snapshot().await;
    let before = app.calls();
    let revoked = app.delete(&path(&id), &w.root).await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT, "{}", revoked.body);
    assert_eq!(app.calls() - before, 2, "session batch + one transaction");
    // Refused on its very next request.
    let next = app.get(ME, &hq).await;
    assert_eq!(next.status, StatusCode::UNAUTHORIZED);
    let after = app.snapshot().await;
    let now_stored = &after[&format!("SESSION#{id} SESSION")];
    assert_eq!(now_stored["status"], "REVOKED");
    assert_eq!(now_stored["revoked_by"], claim(&w.root, "sub").as_str());
    assert!(now_stored["revoked_at"].is_string());
    let events: Vec<&Value> = after
        .iter()
        .filter(|(k, _)| !snapshot.contains_key(*k))
        .map(|(_, v)| v)
        .collect();
    assert_eq!(events.len(), 1, "{events:?}");
    let event = events[0];
    assert_eq!(event["action"], "session.revoke");
    assert_eq!(event["resource_type"], "session");
    assert_eq!(event["resource_id"], id.as_str());
    assert_eq!(event["tenant_id"], w.acme_hq.as_str());
    assert_eq!(event["partner_id"], w.acme.as_str());
    assert_eq!(event["result"], "SUCCESS");
    assert_eq!(
        event["changes"],
        json!({"status": {"from": "ACTIVE", "to": "REVOKED"}})
    );

    let read = app.get(&path(&id), &w.root).await;
    assert_eq!(read.body["status"], "REVOKED");
    // Again: 204, nothing written, no second event.
    let snapshot = app.snapshot().await;
    let again = app.delete(&path(&id), &w.root).await;
    assert_eq!(again.status, StatusCode::NO_CONTENT);
    assert_eq!(
        added_since(app, &snapshot).await,
        Vec::<Value>::new(),
        "an already revoked session is left as it is"
    );
    let list = app
        .get(&format!("{BASE}?tenant_id={}", w.acme_hq), &w.root)
        .await;
    assert_eq!(ids(&list), Vec::<String>::new());
    assert_eq!(list.body["pagination"]["total"], 0);

    // Unknown and malformed ids.
    let unknown = SessionId::generate().to_string();
    for id in [
        unknown.as_str(),
        "ses_nope",
        "usr_01kb2z8hqv3m4n5p6r7s8t9w1g",
    ] {
        let reply = app.get(&path(id), &w.root).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{id}");
        assert_eq!(reply.body, detail("Session not found"));
        assert_eq!(
            app.delete(&path(id), &w.root).await.status,
            StatusCode::NOT_FOUND
        );
    }
    let anonymous = app.call(axum::http::Method::GET, BASE, None, None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_expired_session_reads_expired_and_leaves_the_lists() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let hq = app
        .admin_token(
            "hq@acme.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_hq),
        )
        .await;
    let id = sid(&hq);
    let past = Timestamp::now()
        .minus(std::time::Duration::from_secs(5))
        .to_string();
    set(app, &id, "expires_at", Some(past.clone())).await;
    let read = app.get(&path(&id), &w.root).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.body["status"], "EXPIRED");
    assert_eq!(read.body["expires_at"], past.as_str());
    assert_eq!(app.get(ME, &hq).await.status, StatusCode::UNAUTHORIZED);
    for query in [
        format!("?tenant_id={}", w.acme_hq),
        format!("?user_id={}", claim(&hq, "sub")),
        format!("?partner_id={}", w.acme),
        String::new(),
    ] {
        let list = app.get(&format!("{BASE}{query}"), &w.root).await;
        assert_eq!(list.status, StatusCode::OK, "{query}: {}", list.body);
        assert!(!ids(&list).contains(&id), "{query}");
    }
    // Revoking it changes nothing: it is over already.
    let snapshot = app.snapshot().await;
    assert_eq!(
        app.delete(&path(&id), &w.root).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(added_since(app, &snapshot).await, Vec::<Value>::new());
    assert_eq!(stored(app, &id).await["status"], "ACTIVE");
    // Revoke-all leaves it out too.
    let all = app
        .post(
            &format!("{BASE}/revoke-all"),
            &w.root,
            json!({"user_id": claim(&hq, "sub")}),
        )
        .await;
    assert_eq!(all.body, json!({"revoked": 0}));
}

#[tokio::test]
async fn revoke_all_ends_every_active_session_of_a_user_or_a_tenant() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let first = app
        .admin_token(
            "hq@acme.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_hq),
        )
        .await;
    let mut hq = vec![first];
    for _ in 0..2 {
        hq.push(app.login("hq@acme.test", PASSWORD).await);
    }
    let other = app
        .admin_token(
            "hq2@acme.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_hq),
        )
        .await;
    let lab = app
        .admin_token(
            "lab@acme.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_lab),
        )
        .await;
    let user = claim(&hq[0], "sub");
    // One of them revoked already: not counted again.
    let gone = app.delete(&path(&sid(&hq[2])), &w.root).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);

    let snapshot = app.snapshot().await;
    let before = app.calls();
    let all = app
        .post(
            &format!("{BASE}/revoke-all"),
            &w.root,
            json!({"user_id": user}),
        )
        .await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert_eq!(all.body, json!({"revoked": 2}));
    assert_eq!(
        app.calls() - before,
        4,
        "session batch + the tenant (its partner) + the user's sessions + one transaction"
    );
    for token in &hq {
        assert_eq!(app.get(ME, token).await.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(app.get(ME, &other).await.status, StatusCode::OK);
    let added = added_since_allowing(app, &snapshot, &[sid(&hq[0]), sid(&hq[1])]).await;
    assert_eq!(added.len(), 1, "one event for the revoke-all: {added:?}");
    let event = &added[0];
    assert_eq!(event["action"], "session.revoke_all");
    assert_eq!(event["resource_type"], "session");
    assert_eq!(event["resource_id"], user.as_str());
    assert_eq!(event["tenant_id"], w.acme_hq.as_str());
    assert_eq!(event["partner_id"], w.acme.as_str());
    assert_eq!(event["changes"], json!({"revoked": 2}));
    let revoked = stored(app, &sid(&hq[1])).await;
    assert_eq!(revoked["status"], "REVOKED");
    assert_eq!(revoked["revoked_by"], claim(&w.root, "sub").as_str());

    // A tenant admin ends its tenant's sessions, its own among them.
    let lab2 = app.login("lab@acme.test", PASSWORD).await;
    let before = app.calls();
    let all = app
        .post(
            &format!("{BASE}/revoke-all"),
            &lab,
            json!({"tenant_id": w.acme_lab}),
        )
        .await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert_eq!(all.body, json!({"revoked": 2}));
    assert_eq!(
        app.calls() - before,
        4,
        "batch (with the tenant) + query + the holders (who outranks whom) + transaction"
    );
    assert_eq!(app.get(ME, &lab).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get(ME, &lab2).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get(ME, &other).await.status, StatusCode::OK);

    // Nothing left: n = 0, still recorded.
    let all = app
        .post(
            &format!("{BASE}/revoke-all"),
            &w.root,
            json!({"tenant_id": w.acme_lab}),
        )
        .await;
    assert_eq!(all.body, json!({"revoked": 0}));

    // Exactly one of the two.
    let url = format!("{BASE}/revoke-all");
    for body in [
        json!({}),
        json!({"user_id": user, "tenant_id": w.acme_hq}),
        json!({"user_id": "usr_nope"}),
        json!({"tenant_id": 7}),
        json!({"user_id": null, "tenant_id": null}),
    ] {
        assert_invalid(
            app,
            axum::http::Method::POST,
            &url,
            &w.root,
            body,
            "user_id",
        )
        .await;
    }
    // Unknown holders: 404 for the super admin.
    for body in [
        json!({"user_id": UserId::generate().to_string()}),
        json!({"tenant_id": TenantId::generate().to_string()}),
    ] {
        let reply = app.post(&url, &w.root, body.clone()).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{body}");
    }
}

/// The items written since `before`, allowing the listed sessions (and no other item) to change
/// — but the tallies and fences (`TALLY#…`), which the callers check themselves.
async fn added_since_allowing(
    app: &TestApp,
    before: &BTreeMap<String, Value>,
    changed: &[String],
) -> Vec<Value> {
    let after = app.snapshot().await;
    let allowed: Vec<String> = changed
        .iter()
        .map(|s| format!("SESSION#{s} SESSION"))
        .collect();
    for (key, value) in before {
        if !allowed.contains(key) && !key.starts_with("TALLY#") {
            assert_eq!(after.get(key), Some(value), "{key} changed");
        }
    }
    after
        .into_iter()
        .filter(|(k, _)| !before.contains_key(k) && !k.starts_with("TALLY#"))
        .map(|(_, v)| v)
        .collect()
}

#[tokio::test]
async fn revoke_all_commits_many_sessions_in_transactions_of_at_most_99_actions() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let hq = app
        .admin_token(
            "hq@acme.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_hq),
        )
        .await;
    // 249 more sessions of the same admin, copied straight into the table (249 logins would
    // take minutes of argon2), and counted as 249 logins would have: 250 in all, each
    // transaction also holding the tenant, moving its fence and its 3 tally windows → 93 + 94 +
    // 63 → three transactions.
    let template = stored(app, &sid(&hq)).await;
    let store = app.state.store();
    let expires = Timestamp::parse(template["expires_at"].as_str().unwrap()).unwrap();
    let (day, minute) = (expires.unix() / 86_400, expires.unix() % 86_400 / 60);
    for scope in [
        format!("TENANT#{}", w.acme_hq),
        format!("PARTNER#{}", w.acme),
        "PLATFORM".to_owned(),
    ] {
        let window =
            shared::store::Key::new(format!("TALLY#SESSIONS#{scope}"), format!("DAY#{day}"));
        store
            .client()
            .update_item()
            .table_name(store.table())
            .set_key(Some(window.to_item()))
            .update_expression(format!("ADD m{minute} :n"))
            .expression_attribute_values(":n", AttributeValue::N("249".into()))
            .send()
            .await
            .unwrap();
    }
    for _ in 0..249 {
        let id = SessionId::generate().to_string();
        let mut item = template.clone();
        item["id"] = json!(id);
        item["PK"] = json!(format!("SESSION#{id}"));
        item["GSI1SK"] = json!(id);
        item["GSI2SK"] = json!(id);
        item["GSI3SK"] = json!(id);
        let item: std::collections::HashMap<String, AttributeValue> =
            serde_dynamo::aws_sdk_dynamodb_1::to_item(item).unwrap();
        store
            .client()
            .put_item()
            .table_name(store.table())
            .set_item(Some(item))
            .send()
            .await
            .unwrap();
    }
    let before_all = tallies_match_lists(app, &w.root, &[&w.acme], &[&w.acme_hq]).await;
    assert_eq!(before_all[&format!("TENANT#{}", w.acme_hq)], 250);
    let before = app.calls();
    let all = app
        .post(
            &format!("{BASE}/revoke-all"),
            &w.root,
            json!({"tenant_id": w.acme_hq}),
        )
        .await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert_eq!(all.body, json!({"revoked": 250}));
    assert_eq!(
        app.calls() - before,
        1 + 1 + 3,
        "batch + query + three transactions"
    );
    assert_eq!(app.get(ME, &hq).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        active_sessions(app, |i| i["tenant_id"] == w.acme_hq.as_str()).await,
        Vec::<String>::new()
    );
    let events: Vec<Value> = app
        .snapshot()
        .await
        .into_values()
        .filter(|i| i["action"] == "session.revoke_all")
        .collect();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["changes"], json!({"revoked": 250}));
    let after_all = tallies_match_lists(app, &w.root, &[&w.acme], &[&w.acme_hq]).await;
    assert_moved(
        &before_all,
        &after_all,
        &[
            (format!("TENANT#{}", w.acme_hq), -250),
            (format!("PARTNER#{}", w.acme), -250),
            ("PLATFORM".to_owned(), -250),
        ],
    );
}

#[tokio::test]
async fn every_tier_sees_and_revokes_only_the_sessions_within_its_reach() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let hq = app
        .admin_token(
            "hq@acme.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_hq),
        )
        .await;
    let lab = app
        .admin_token(
            "lab@acme.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_lab),
        )
        .await;
    let globex = app
        .admin_token(
            "gx@globex.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.globex_hq),
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
    let (hq_s, lab_s, gx_s) = (sid(&hq), sid(&lab), sid(&globex));
    let gx_user = claim(&globex, "sub");
    let lab_user = claim(&lab, "sub");

    // Lists: each tier's own.
    let own = app.get(BASE, &hq).await;
    assert_eq!(ids(&own), vec![hq_s.clone()]);
    let before = app.calls();
    let acme = app.get(BASE, &pa_acme).await;
    assert_eq!(
        app.calls() - before,
        1 + 1 + 2 * 2,
        "batch + the partner's tenants + per tenant a page and a count"
    );
    assert_eq!(ids(&acme), vec![lab_s.clone(), hq_s.clone()]);
    assert_eq!(acme.body["pagination"]["total"], 2);
    assert_eq!(ids(&app.get(BASE, &pa_globex).await), vec![gx_s.clone()]);
    let by_user = app
        .get(&format!("{BASE}?user_id={lab_user}"), &pa_acme)
        .await;
    assert_eq!(ids(&by_user), vec![lab_s.clone()]);
    let narrowed = app
        .get(
            &format!("{BASE}?partner_id={}&tenant_id={}", w.acme, w.acme_lab),
            &pa_acme,
        )
        .await;
    assert_eq!(ids(&narrowed), vec![lab_s.clone()]);
    // Disjoint filters: nothing.
    let disjoint = app
        .get(
            &format!("{BASE}?user_id={lab_user}&tenant_id={}", w.acme_hq),
            &pa_acme,
        )
        .await;
    assert_eq!((disjoint.status, ids(&disjoint)), (StatusCode::OK, vec![]));
    let super_other = app
        .get(
            &format!("{BASE}?user_id={gx_user}&partner_id={}", w.acme),
            &w.root,
        )
        .await;
    assert_eq!(
        (super_other.status, ids(&super_other)),
        (StatusCode::OK, vec![])
    );
    let super_partner = app
        .get(&format!("{BASE}?partner_id={}", w.globex), &w.root)
        .await;
    assert_eq!(ids(&super_partner), vec![gx_s.clone()]);

    // Filters outside reach, or unknown: 403 (the super admin: empty).
    let unknown_user = UserId::generate().to_string();
    let unknown_tenant = TenantId::generate().to_string();
    let unknown_partner = PartnerId::generate().to_string();
    for (token, query) in [
        (&hq, format!("tenant_id={}", w.acme_lab)),
        (&hq, format!("user_id={lab_user}")),
        (&hq, format!("partner_id={}", w.globex)),
        (&pa_acme, format!("tenant_id={}", w.globex_hq)),
        (&pa_acme, format!("user_id={gx_user}")),
        (&pa_acme, format!("partner_id={}", w.globex)),
        (
            &pa_acme,
            format!("user_id={gx_user}&tenant_id={}", w.acme_hq),
        ),
        (&pa_globex, format!("tenant_id={}", w.acme_hq)),
        (&hq, format!("user_id={unknown_user}")),
        (&pa_acme, format!("tenant_id={unknown_tenant}")),
        (&pa_acme, format!("partner_id={unknown_partner}")),
    ] {
        let reply = app.get(&format!("{BASE}?{query}"), token).await;
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "{query}: {}",
            reply.body
        );
        assert_eq!(reply.body, json!({"detail": "Access denied"}));
    }
    for query in [
        format!("user_id={unknown_user}"),
        format!("tenant_id={unknown_tenant}"),
        format!("partner_id={unknown_partner}"),
    ] {
        let reply = app.get(&format!("{BASE}?{query}"), &w.root).await;
        assert_eq!(
            (reply.status, ids(&reply)),
            (StatusCode::OK, vec![]),
            "{query}"
        );
        assert_eq!(reply.body["pagination"]["total"], 0);
    }

    // By id: 403 outside reach; a partner admin's read costs the tenant's read too.
    for (token, session) in [
        (&hq, &lab_s),
        (&hq, &gx_s),
        (&lab, &hq_s),
        (&pa_acme, &gx_s),
        (&pa_globex, &hq_s),
    ] {
        let reply = app.get(&path(session), token).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    }
    let before = app.calls();
    assert_eq!(
        app.get(&path(&lab_s), &pa_acme).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.calls() - before,
        2,
        "batch + the session's tenant and holder, together"
    );

    // Refused writes: 403, a DENIED event, nothing else written.
    let url = format!("{BASE}/revoke-all");
    let snapshot = app.snapshot().await;
    let refusals: Vec<(&String, Option<Value>, &String)> = vec![
        (&hq, None, &lab_s),
        (&pa_acme, None, &gx_s),
        (&pa_globex, None, &hq_s),
        (&hq, Some(json!({"tenant_id": w.acme_lab})), &hq_s),
        (&hq, Some(json!({"user_id": lab_user})), &hq_s),
        (&pa_acme, Some(json!({"tenant_id": w.globex_hq})), &hq_s),
        (&pa_acme, Some(json!({"user_id": gx_user})), &hq_s),
        (&pa_globex, Some(json!({"tenant_id": w.acme_hq})), &hq_s),
        (&hq, Some(json!({"user_id": unknown_user})), &hq_s),
        (&hq, Some(json!({"tenant_id": unknown_tenant})), &hq_s),
    ];
    for (token, body, session) in &refusals {
        let reply = match body {
            None => app.delete(&path(session), token).await,
            Some(body) => app.post(&url, token, body.clone()).await,
        };
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "{body:?}: {}",
            reply.body
        );
    }
    assert_eq!(only_denied_since(app, &snapshot).await, refusals.len());
    let denied: Vec<Value> = app
        .snapshot()
        .await
        .into_values()
        .filter(|i| i["result"] == "DENIED" && i["actor"]["id"] == claim(&hq, "sub").as_str())
        .collect();
    assert!(
        denied.iter().all(|e| e["tenant_id"] == w.acme_hq.as_str()
            && ["session.revoke", "session.revoke_all"].contains(&e["action"].as_str().unwrap())),
        "{denied:?}"
    );
    for token in [&hq, &lab, &globex] {
        assert_eq!(app.get(ME, token).await.status, StatusCode::OK);
    }

    // Within reach, each revokes.
    assert_eq!(
        app.delete(&path(&lab_s), &pa_acme).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.get(ME, &lab).await.status, StatusCode::UNAUTHORIZED);
    let own_user = claim(&globex, "sub");
    let all = app
        .post(&url, &pa_globex, json!({"user_id": own_user}))
        .await;
    assert_eq!(all.body, json!({"revoked": 1}));
    assert_eq!(app.get(ME, &globex).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.delete(&path(&hq_s), &hq).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.get(ME, &hq).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn lists_page_with_cursors_over_merged_shards_and_tenants() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let _hq = app
        .admin_token(
            "hq@acme.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_hq),
        )
        .await;
    let _lab = app
        .admin_token(
            "lab@acme.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_lab),
        )
        .await;
    let _gx = app
        .admin_token(
            "gx@globex.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.globex_hq),
        )
        .await;
    for _ in 0..4 {
        app.login("hq@acme.test", PASSWORD).await;
        app.login("lab@acme.test", PASSWORD).await;
        app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    }
    // One revoked: out of every list.
    let revoked = app.login("lab@acme.test", PASSWORD).await;
    app.delete(&path(&sid(&revoked)), &w.root).await;

    let everything = active_sessions(app, |_| true).await;
    assert!(everything.len() >= 16, "{everything:?}");
    let shards: std::collections::BTreeSet<String> = app
        .snapshot()
        .await
        .into_values()
        .filter(|i| i["SK"] == "SESSION")
        .map(|i| i["GSI3PK"].as_str().unwrap().to_owned())
        .collect();
    assert!(shards.len() > 1, "sessions spread over shards: {shards:?}");
    let before = app.calls();
    let first = app.get(&format!("{BASE}?per_page=3"), &w.root).await;
    assert_eq!(
        app.calls() - before,
        1 + 8 + 8,
        "batch + a page and a count per shard"
    );
    assert_eq!(ids(&first), everything[..3].to_vec());
    let (seen, totals) = walk(app, "", &w.root, 3).await;
    assert_eq!(seen, everything);
    assert!(
        totals.iter().all(|t| *t == everything.len() as u64),
        "{totals:?}"
    );
    // A cursor page reads the shards from where it stopped, without counting again.
    let cursor = first.body["pagination"]["next_cursor"].as_str().unwrap();
    let before = app.calls();
    let second = app
        .get(&format!("{BASE}?per_page=3&cursor={cursor}"), &w.root)
        .await;
    assert_eq!(app.calls() - before, 1 + 8);
    assert_eq!(ids(&second), everything[3..6].to_vec());
    assert_eq!(second.body["pagination"]["page"], 2);
    // Offset pages agree.
    let third = app.get(&format!("{BASE}?per_page=3&page=3"), &w.root).await;
    assert_eq!(ids(&third), everything[6..9].to_vec());
    // A cursor is bound to its list.
    let replayed = app
        .get(
            &format!("{BASE}?per_page=3&tenant_id={}&cursor={cursor}", w.acme_hq),
            &w.root,
        )
        .await;
    assert_eq!(replayed.status, StatusCode::UNPROCESSABLE_ENTITY);

    // A partner's tenants, merged.
    let acme = active_sessions(app, |i| i["partner_id"] == w.acme.as_str()).await;
    assert_eq!(acme.len(), 10);
    let (seen, totals) = walk(app, &format!("?partner_id={}", w.acme), &w.root, 4).await;
    assert_eq!(seen, acme);
    assert!(totals.iter().all(|t| *t == 10), "{totals:?}");
    // One tenant, one user.
    let hq = active_sessions(app, |i| i["tenant_id"] == w.acme_hq.as_str()).await;
    let (seen, _) = walk(app, &format!("?tenant_id={}", w.acme_hq), &w.root, 2).await;
    assert_eq!(seen, hq);
    let root_user = claim(&w.root, "sub");
    let mine = active_sessions(app, |i| i["user_id"] == root_user.as_str()).await;
    let (seen, totals) = walk(app, &format!("?user_id={root_user}"), &w.root, 2).await;
    assert_eq!(seen, mine);
    assert_eq!(totals[0], mine.len() as u64);
}

#[tokio::test]
async fn last_active_at_is_written_at_most_once_a_minute() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let hq = app
        .admin_token(
            "hq@acme.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_hq),
        )
        .await;
    let id = sid(&hq);
    let at_login = stored(app, &id).await["last_active_at"].clone();
    assert_eq!(at_login, stored(app, &id).await["created_at"]);
    // Fresh: two requests in a row write nothing.
    for _ in 0..2 {
        let before = app.calls();
        assert_eq!(app.get(ME, &hq).await.status, StatusCode::OK);
        assert_eq!(app.calls() - before, 1, "the session check only");
    }
    assert_eq!(stored(app, &id).await["last_active_at"], at_login);

    // Two minutes old: the next request writes it once, the one after does not.
    let old = Timestamp::now()
        .minus(std::time::Duration::from_secs(120))
        .to_string();
    set(app, &id, "last_active_at", Some(old.clone())).await;
    let before = app.calls();
    let start = Timestamp::now();
    assert_eq!(app.get(ME, &hq).await.status, StatusCode::OK);
    assert_eq!(
        app.calls() - before,
        2,
        "the session check + one conditional write"
    );
    let touched = stored(app, &id).await["last_active_at"].clone();
    let touched_at = Timestamp::parse(touched.as_str().unwrap()).unwrap();
    assert!(touched_at >= start, "{touched} after {start}");
    let before = app.calls();
    assert_eq!(
        app.get(&path(&id), &w.root).await.body["last_active_at"],
        touched
    );
    assert_eq!(app.get(ME, &hq).await.status, StatusCode::OK);
    assert_eq!(app.calls() - before, 2, "two requests, no write");
    assert_eq!(stored(app, &id).await["last_active_at"], touched);

    // A session from before the field: written on its first request, shown as created_at until then.
    set(app, &id, "last_active_at", None).await;
    let read = app.get(&path(&id), &w.root).await;
    assert_eq!(read.body["last_active_at"], read.body["created_at"]);
    let before = app.calls();
    assert_eq!(app.get(ME, &hq).await.status, StatusCode::OK);
    assert_eq!(app.calls() - before, 2);
    assert!(stored(app, &id).await["last_active_at"].is_string());

    // A refused touch (someone else moved it meanwhile) never fails the request: simulated by
    // a value just past the minute that another request moves first.
    set(app, &id, "last_active_at", Some(old)).await;
    let replies = join_all(vec![app.get(ME, &hq), app.get(ME, &hq), app.get(ME, &hq)]).await;
    assert!(replies.iter().all(|r| r.status == StatusCode::OK));
}

#[tokio::test]
async fn the_sessions_binary_answers_api_gateway_events_as_the_local_server_does() {
    use api_tests::lambda::{HttpApiEvent, LambdaFunction};
    let Some(w) = world().await else { return };
    let app = &w.app;
    let Some(mut function) = LambdaFunction::start(app, "sessions").await else {
        return;
    };
    let hq = app
        .admin_token(
            "hq@acme.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_hq),
        )
        .await;
    let id = sid(&hq);
    let collection = "ANY /api/v1/admin/sessions";
    let item = "ANY /api/v1/admin/sessions/{proxy+}";

    let read = HttpApiEvent::new("GET", item, &path(&id))
        .path_parameter("proxy", &id)
        .bearer(&w.root);
    let lambda = function.invoke(&read).await;
    let local = app.send(read.to_request()).await;
    assert_eq!((lambda.status, &lambda.body), (local.status, &local.body));
    assert_eq!((lambda.status, lambda.id()), (StatusCode::OK, id.clone()));
    let list = HttpApiEvent::new(
        "GET",
        collection,
        &format!("{BASE}?tenant_id={}&per_page=5", w.acme_hq),
    )
    .bearer(&w.root);
    let lambda = function.invoke(&list).await;
    let local = app.send(list.to_request()).await;
    assert_eq!((lambda.status, &lambda.body), (local.status, &local.body));
    assert_eq!(ids(&lambda), vec![id.clone()]);
    let anonymous = HttpApiEvent::new("GET", collection, BASE);
    assert_eq!(
        function.invoke(&anonymous).await.status,
        StatusCode::UNAUTHORIZED
    );
    let unknown = SessionId::generate().to_string();
    let missing = HttpApiEvent::new("GET", item, &path(&unknown))
        .path_parameter("proxy", &unknown)
        .bearer(&w.root);
    assert_eq!(
        function.invoke(&missing).await.status,
        StatusCode::NOT_FOUND
    );

    // Writes through the function, seen by the local server.
    let revoke_all = HttpApiEvent::new("POST", item, &format!("{BASE}/revoke-all"))
        .path_parameter("proxy", "revoke-all")
        .bearer(&w.root)
        .json_body(&json!({"tenant_id": w.acme_hq}));
    let reply = function.invoke(&revoke_all).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body, json!({"revoked": 1}));
    assert_eq!(app.get(ME, &hq).await.status, StatusCode::UNAUTHORIZED);
    let again = app.login("hq@acme.test", PASSWORD).await;
    let revoke = HttpApiEvent::new("DELETE", item, &path(&sid(&again)))
        .path_parameter("proxy", &sid(&again))
        .bearer(&w.root);
    assert_eq!(
        function.invoke(&revoke).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.get(ME, &again).await.status, StatusCode::UNAUTHORIZED);
}

/// The active-session tallies of the platform, a partner and a tenant count exactly what the
/// lists show each tier, after logins and after every way a session ends: logout, revoke (once:
/// again changes nothing), revoke-all of a user and of a tenant.
#[tokio::test]
async fn session_tallies_equal_the_lists_after_logins_and_every_revocation() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let hq = app
        .admin_token(
            "hq@acme.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_hq),
        )
        .await;
    let hq2 = app.login("hq@acme.test", PASSWORD).await;
    let lab = app
        .admin_token(
            "lab@acme.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_lab),
        )
        .await;
    let lab2 = app.login("lab@acme.test", PASSWORD).await;
    let pa = app
        .admin_token("pa@acme.test", AdminRole::PartnerAdmin, Some(&w.acme), None)
        .await;
    let gx = app
        .admin_token(
            "gx@globex.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.globex_hq),
        )
        .await;
    let partners = [&w.acme, &w.globex];
    let tenants = [&w.acme_hq, &w.acme_lab, &w.globex_hq];
    let scope = |kind: &str, id: &str| format!("{kind}#{id}");

    // Each tier's own list: the super admin's (the platform), the partner admin's (its live
    // tenants), a tenant admin's (its tenant).
    let table = app.snapshot().await;
    assert_eq!(tally(&table, "PLATFORM"), total(app, "", &w.root).await);
    assert_eq!(tally(&table, "PLATFORM"), 7, "root, hq ×2, lab ×2, pa, gx");
    assert_eq!(
        tally(&table, &scope("PARTNER", &w.acme)),
        total(app, "", &pa).await
    );
    assert_eq!(tally(&table, &scope("PARTNER", &w.acme)), 4);
    assert_eq!(
        tally(&table, &scope("TENANT", &w.acme_hq)),
        total(app, "", &hq).await
    );
    assert_eq!(tally(&table, &scope("TENANT", &w.acme_hq)), 2);
    assert_eq!(
        tally(&table, &scope("TENANT", &w.acme_lab)),
        total(app, "", &lab).await
    );
    assert_eq!(
        tally(&table, &scope("PARTNER", &w.globex)),
        total(app, "", &gx).await
    );
    assert_eq!(tally(&table, &scope("PARTNER", &w.globex)), 1);
    // Every session ends on a whole minute, never after its 12 hours.
    for session in table.values().filter(|i| i["SK"] == "SESSION") {
        let created = Timestamp::parse(session["created_at"].as_str().unwrap()).unwrap();
        let expires = Timestamp::parse(session["expires_at"].as_str().unwrap()).unwrap();
        assert_eq!(
            Timestamp::from_unix(expires.unix()),
            Some(expires),
            "{session}"
        );
        assert_eq!(expires.unix() % 60, 0, "{session}");
        assert!(expires <= created.plus(std::time::Duration::from_secs(43_200)));
        assert!(expires > created.plus(std::time::Duration::from_secs(43_140)));
    }
    let mut before = tallies_match_lists(app, &w.root, &partners, &tenants).await;
    let ended_in = |tenant: &str, partner: &str, n: i64| {
        vec![
            (scope("TENANT", tenant), -n),
            (scope("PARTNER", partner), -n),
            ("PLATFORM".to_owned(), -n),
        ]
    };

    // Logout: one less in its tenant, its partner, the platform.
    let out = app
        .call(
            axum::http::Method::POST,
            "/api/v1/admin/auth/logout",
            Some(&hq2),
            None,
        )
        .await;
    assert_eq!(out.status, StatusCode::OK);
    let after = tallies_match_lists(app, &w.root, &partners, &tenants).await;
    assert_moved(&before, &after, &ended_in(&w.acme_hq, &w.acme, 1));
    before = after;

    // A partner admin revokes one; again: nothing changes, not even a tally.
    let revoked = app.delete(&path(&sid(&lab2)), &pa).await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT, "{}", revoked.body);
    let after = tallies_match_lists(app, &w.root, &partners, &tenants).await;
    assert_moved(&before, &after, &ended_in(&w.acme_lab, &w.acme, 1));
    before = after;
    let snapshot = app.snapshot().await;
    for token in [&pa, &w.root] {
        let again = app.delete(&path(&sid(&lab2)), token).await;
        assert_eq!(again.status, StatusCode::NO_CONTENT);
    }
    assert_eq!(added_since(app, &snapshot).await, Vec::<Value>::new());

    // Revoke-all of a user (with a session ended already) and of a tenant: exactly the
    // sessions they end.
    let hq3 = app.login("hq@acme.test", PASSWORD).await;
    let after_login = tallies_match_lists(app, &w.root, &partners, &tenants).await;
    assert_moved(&before, &after_login, &ended_in(&w.acme_hq, &w.acme, -1));
    before = after_login;
    let all = app
        .post(
            &format!("{BASE}/revoke-all"),
            &w.root,
            json!({"user_id": claim(&hq, "sub")}),
        )
        .await;
    assert_eq!(all.body, json!({"revoked": 2}));
    let after = tallies_match_lists(app, &w.root, &partners, &tenants).await;
    assert_moved(&before, &after, &ended_in(&w.acme_hq, &w.acme, 2));
    before = after;
    assert_eq!(app.get(ME, &hq3).await.status, StatusCode::UNAUTHORIZED);
    let all = app
        .post(
            &format!("{BASE}/revoke-all"),
            &lab,
            json!({"tenant_id": w.acme_lab}),
        )
        .await;
    assert_eq!(all.body, json!({"revoked": 1}));
    let after = tallies_match_lists(app, &w.root, &partners, &tenants).await;
    assert_moved(&before, &after, &ended_in(&w.acme_lab, &w.acme, 1));
    assert_eq!(after[&scope("PARTNER", &w.acme)], 0);
    assert_eq!(after["PLATFORM"], 3, "root, pa, gx");
    // Nothing left to end: nothing moves.
    let snapshot = tallies(&app.snapshot().await, &partners, &tenants);
    let none = app
        .post(
            &format!("{BASE}/revoke-all"),
            &w.root,
            json!({"tenant_id": w.acme_lab}),
        )
        .await;
    assert_eq!(none.body, json!({"revoked": 0}));
    assert_eq!(
        tallies(&app.snapshot().await, &partners, &tenants),
        snapshot
    );
}

/// Sessions from before the tallies (an `expires_at` with seconds and microseconds) were never
/// counted: ending them takes nothing off.
#[tokio::test]
async fn sessions_from_before_the_tallies_are_never_taken_off() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let hq = app
        .admin_token(
            "hq@acme.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_hq),
        )
        .await;
    let legacy = app.login("hq@acme.test", PASSWORD).await;
    let partners = [&w.acme];
    let tenants = [&w.acme_hq];
    // Made a legacy session: its expiry moved off the minute, its count taken out by hand.
    let item = stored(app, &sid(&legacy)).await;
    let expires = Timestamp::parse(item["expires_at"].as_str().unwrap()).unwrap();
    let (day, minute) = (expires.unix() / 86_400, expires.unix() % 86_400 / 60);
    let store = app.state.store();
    for scope in [
        format!("TENANT#{}", w.acme_hq),
        format!("PARTNER#{}", w.acme),
        "PLATFORM".to_owned(),
    ] {
        let window =
            shared::store::Key::new(format!("TALLY#SESSIONS#{scope}"), format!("DAY#{day}"));
        store
            .client()
            .update_item()
            .table_name(store.table())
            .set_key(Some(window.to_item()))
            .update_expression(format!("ADD m{minute} :n"))
            .expression_attribute_values(":n", AttributeValue::N("-1".into()))
            .send()
            .await
            .unwrap();
    }
    let odd = expires
        .minus(std::time::Duration::from_micros(7_000_123))
        .to_string();
    set(app, &sid(&legacy), "expires_at", Some(odd)).await;
    // Listed (active), not counted.
    let before = tallies(&app.snapshot().await, &partners, &tenants);
    assert_eq!(before["PLATFORM"], total(app, "", &w.root).await - 1);
    let listed = total(app, &format!("?tenant_id={}", w.acme_hq), &w.root).await;
    assert_eq!(before[&format!("TENANT#{}", w.acme_hq)], listed - 1);
    assert_eq!(before[&format!("TENANT#{}", w.acme_hq)], 1);
    let revoked = app.delete(&path(&sid(&legacy)), &w.root).await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    assert_eq!(stored(app, &sid(&legacy)).await["status"], "REVOKED");
    // Nothing taken off; the lists agree again.
    let after = tallies_match_lists(app, &w.root, &partners, &tenants).await;
    assert_eq!(after, before);
    assert_eq!(app.get(ME, &hq).await.status, StatusCode::OK);
}

/// A super admin's revoke reads no tenant: it takes the session's tenant to be where it signed
/// in, which the write checks. The tenant moved since: refused, read again, and the session
/// leaves the tally of the partner its tenant has now.
#[tokio::test]
async fn a_revoke_takes_the_session_off_the_partner_its_tenant_has_now() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let hq = app
        .admin_token(
            "hq@acme.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_hq),
        )
        .await;
    app.move_tenant(&w.root, &w.acme_hq, &w.globex).await;
    let partners = [&w.acme, &w.globex];
    let tenants = [&w.acme_hq];
    let before = tallies(&app.snapshot().await, &partners, &tenants);
    let calls = app.calls();
    let revoked = app.delete(&path(&sid(&hq)), &w.root).await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT, "{}", revoked.body);
    assert_eq!(
        app.calls() - calls,
        5,
        "batch + refused transaction; batch + the tenant + transaction"
    );
    let after = tallies(&app.snapshot().await, &partners, &tenants);
    assert_moved(
        &before,
        &after,
        &[
            (format!("TENANT#{}", w.acme_hq), -1),
            (format!("PARTNER#{}", w.globex), -1),
            ("PLATFORM".to_owned(), -1),
        ],
    );
}

/// In a deleted tenant (its share counted under no partner), revoking takes its sessions off
/// the tenant's and the platform's tallies only.
#[tokio::test]
async fn sessions_of_a_deleted_tenant_leave_no_partner_tally() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let _lab = app
        .admin_token(
            "lab@acme.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_lab),
        )
        .await;
    let lab2 = app.login("lab@acme.test", PASSWORD).await;
    let deleted = app
        .delete(&format!("/api/v1/admin/tenants/{}", w.acme_lab), &w.root)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    let partners = [&w.acme];
    let tenants = [&w.acme_lab];
    let before = tallies(&app.snapshot().await, &partners, &tenants);
    let revoked = app.delete(&path(&sid(&lab2)), &w.root).await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT, "{}", revoked.body);
    assert_eq!(stored(app, &sid(&lab2)).await["status"], "REVOKED");
    let after = tallies(&app.snapshot().await, &partners, &tenants);
    let off = |n: i64| {
        vec![
            (format!("TENANT#{}", w.acme_lab), -n),
            ("PLATFORM".to_owned(), -n),
        ]
    };
    assert_moved(&before, &after, &off(1));
    let all = app
        .post(
            &format!("{BASE}/revoke-all"),
            &w.root,
            json!({"tenant_id": w.acme_lab}),
        )
        .await;
    assert_eq!(all.body, json!({"revoked": 1}), "{}", all.body);
    let last = tallies(&app.snapshot().await, &partners, &tenants);
    assert_moved(&after, &last, &off(1));
    assert_eq!(last[&format!("TENANT#{}", w.acme_lab)], 0);
}

/// Every way of ending one session, at once: it leaves the tallies exactly once.
#[tokio::test]
async fn racing_revocations_take_a_session_off_exactly_once() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let pa = app
        .admin_token("pa@acme.test", AdminRole::PartnerAdmin, Some(&w.acme), None)
        .await;
    let hq = app
        .admin_token(
            "hq@acme.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_hq),
        )
        .await;
    let partners = [&w.acme];
    let tenants = [&w.acme_hq];
    let before = tallies_match_lists(app, &w.root, &partners, &tenants).await;
    let id = sid(&hq);
    let user = claim(&hq, "sub");
    let url = format!("{BASE}/revoke-all");
    let replies = join_all(vec![
        Box::pin(app.delete(&path(&id), &w.root))
            as std::pin::Pin<Box<dyn std::future::Future<Output = Reply> + '_>>,
        Box::pin(app.delete(&path(&id), &pa)),
        Box::pin(app.call(
            axum::http::Method::POST,
            "/api/v1/admin/auth/logout",
            Some(&hq),
            None,
        )),
        Box::pin(app.post(&url, &w.root, json!({"user_id": user}))),
        Box::pin(app.post(&url, &pa, json!({"tenant_id": w.acme_hq}))),
    ])
    .await;
    for reply in &replies {
        assert!(
            reply.status.is_success(),
            "{}: {}",
            reply.status,
            reply.body
        );
    }
    assert_eq!(stored(app, &id).await["status"], "REVOKED");
    let after = tallies_match_lists(app, &w.root, &partners, &tenants).await;
    assert_moved(
        &before,
        &after,
        &[
            (format!("TENANT#{}", w.acme_hq), -1),
            (format!("PARTNER#{}", w.acme), -1),
            ("PLATFORM".to_owned(), -1),
        ],
    );
}
