//! Audit (SPEC §4.12, §3.2): who sees which events, every filter, cursors over the merged
//! platform shards, the catalogues, round trips, and that nothing writes through the API.

use std::collections::BTreeSet;

use api_tests::*;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use shared::access::AdminRole;
use shared::audit::{Actor, AuditAction, AuditEvent, RequestMeta};
use shared::ids::{EventId, PartnerId, TenantId};
use shared::time::Timestamp;

const BASE: &str = "/api/v1/admin/audit";

fn items(reply: &Reply) -> Vec<Value> {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a list: {}", reply.body))
        .clone()
}

/// Every event of a list, following the cursors (`query` without the leading `?`).
async fn all_pages(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut path = format!("{BASE}?per_page=100&{query}");
    for _ in 0..100 {
        let reply = app.get(&path, token).await;
        out.extend(items(&reply));
        match reply.body["pagination"]["next_cursor"].as_str() {
            Some(cursor) => path = format!("{BASE}?per_page=100&{query}&cursor={cursor}"),
            None => return out,
        }
    }
    panic!("more than 100 pages");
}

fn ids(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

fn has_action_on(events: &[Value], action: &str, resource: &str) -> bool {
    events
        .iter()
        .any(|e| e["action"] == action && e["resource_id"] == resource)
}

async fn tenant_admin(app: &TestApp, email: &str, tenant: &str) -> String {
    app.admin_token(email, AdminRole::TenantAdmin, None, Some(tenant))
        .await
}

async fn partner_admin(app: &TestApp, email: &str, partner: &str) -> String {
    app.admin_token(email, AdminRole::PartnerAdmin, Some(partner), None)
        .await
}

#[tokio::test]
async fn each_tier_sees_the_events_within_its_reach() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let acme_admin = partner_admin(app, "pa@acme.test", &w.acme).await;
    let hq_admin = tenant_admin(app, "ta@acme-hq.test", &w.acme_hq).await;
    let ops = app.create_group(&w.root, &w.acme_hq, "Ops").await;
    let lab = app.create_group(&w.root, &w.acme_lab, "Lab").await;
    let globex_ops = app.create_group(&w.root, &w.globex_hq, "Globex Ops").await;

    let everything = all_pages(app, &w.root, "").await;
    for group in [&ops, &lab, &globex_ops] {
        assert!(has_action_on(&everything, "group.create", group), "{group}");
    }
    assert!(has_action_on(&everything, "partner.create", &w.acme));
    let newest_first = ids(&everything);
    let mut sorted = newest_first.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(newest_first, sorted, "newest first across the shards");
    assert_eq!(
        newest_first.iter().collect::<BTreeSet<_>>().len(),
        newest_first.len(),
        "each event once"
    );

    let partner_view = all_pages(app, &acme_admin, "").await;
    assert!(
        partner_view
            .iter()
            .all(|e| e["partner_id"] == w.acme.as_str())
    );
    assert!(has_action_on(&partner_view, "group.create", &ops));
    assert!(has_action_on(&partner_view, "group.create", &lab));
    assert!(!has_action_on(&partner_view, "group.create", &globex_ops));

    let tenant_view = all_pages(app, &hq_admin, "").await;
    assert!(
        tenant_view
            .iter()
            .all(|e| e["tenant_id"] == w.acme_hq.as_str())
    );
    assert!(has_action_on(&tenant_view, "group.create", &ops));
    assert!(!has_action_on(&tenant_view, "group.create", &lab));

    let lab_only = all_pages(app, &acme_admin, &format!("tenant_id={}", w.acme_lab)).await;
    assert!(has_action_on(&lab_only, "group.create", &lab));
    assert!(
        lab_only
            .iter()
            .all(|e| e["tenant_id"] == w.acme_lab.as_str())
    );
    let acme_by_super = all_pages(app, &w.root, &format!("partner_id={}", w.acme)).await;
    assert_eq!(
        ids(&acme_by_super).into_iter().collect::<BTreeSet<_>>(),
        ids(&partner_view).into_iter().collect::<BTreeSet<_>>(),
        "the super admin's partner filter shows what the partner's admin sees"
    );

    // Filters outside reach → 403, and nothing is learnt.
    for (token, query) in [
        (&hq_admin, format!("tenant_id={}", w.acme_lab)),
        (&hq_admin, format!("partner_id={}", w.globex)),
        (&acme_admin, format!("tenant_id={}", w.globex_hq)),
        (&acme_admin, format!("partner_id={}", w.globex)),
        (&acme_admin, format!("tenant_id={}", TenantId::generate())),
    ] {
        let reply = app.get(&format!("{BASE}?{query}"), token).await;
        assert_eq!(
            (reply.status, &reply.body),
            (StatusCode::FORBIDDEN, &detail("Access denied")),
            "{query}"
        );
    }
    // An unknown tenant: nothing to show, even to a super admin.
    let unknown = app
        .get(
            &format!("{BASE}?tenant_id={}", TenantId::generate()),
            &w.root,
        )
        .await;
    assert!(items(&unknown).is_empty());
}

#[tokio::test]
async fn every_filter_narrows_the_list() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let lab_admin = tenant_admin(app, "ta@acme-lab.test", &w.acme_lab).await;
    let ops = app.create_group(&w.root, &w.acme_hq, "Ops").await;
    let renamed = app
        .patch(
            &format!("/api/v1/admin/groups/{ops}"),
            &w.root,
            json!({"name": "Operations"}),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK);
    let refused = app
        .delete(&format!("/api/v1/admin/groups/{ops}"), &lab_admin)
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let check = |query: String, expect: fn(&Value) -> bool| {
        let token = w.root.clone();
        async move {
            let found = all_pages(app, &token, &query).await;
            assert!(!found.is_empty(), "{query} found nothing");
            for e in &found {
                assert!(expect(e), "{query}: {e}");
            }
            found
        }
    };
    let created = check("action=group.create".into(), |e| {
        e["action"] == "group.create"
    })
    .await;
    assert!(has_action_on(&created, "group.create", &ops));
    check("resource_type=group".into(), |e| {
        e["resource_type"] == "group"
    })
    .await;
    let denied = check("result=DENIED".into(), |e| e["result"] == "DENIED").await;
    assert!(has_action_on(&denied, "group.delete", &ops));
    let on_ops = all_pages(app, &w.root, &format!("resource_id={ops}")).await;
    assert_eq!(
        on_ops
            .iter()
            .map(|e| (e["action"].as_str().unwrap(), e["result"].as_str().unwrap()))
            .collect::<Vec<_>>(),
        vec![
            ("group.delete", "DENIED"),
            ("group.update", "SUCCESS"),
            ("group.create", "SUCCESS"),
        ]
    );
    let update = on_ops
        .iter()
        .find(|e| e["action"] == "group.update")
        .unwrap();
    assert_eq!(
        update["changes"]["name"],
        json!({"from": "Ops", "to": "Operations"})
    );
    let actor = update["actor"]["id"].as_str().unwrap().to_owned();
    check(format!("actor_id={actor}"), |e| {
        e["actor"]["type"] == "admin"
    })
    .await;
    let by_email = all_pages(
        app,
        &w.root,
        &format!("actor_email={}", ADMIN_EMAIL.to_uppercase()),
    )
    .await;
    assert!(has_action_on(&by_email, "group.update", &ops));
    assert!(by_email.iter().all(|e| e["actor"]["email"] == ADMIN_EMAIL));

    // Time: the update's own instant finds it; a range after every event finds nothing.
    let at = update["timestamp"].as_str().unwrap();
    let window = all_pages(
        app,
        &w.root,
        &format!("resource_id={ops}&start_time={at}&end_time={at}"),
    )
    .await;
    assert_eq!(
        ids(&window),
        vec![update["id"].as_str().unwrap().to_owned()]
    );
    let future = Timestamp::now().plus(std::time::Duration::from_secs(3600));
    assert!(
        all_pages(app, &w.root, &format!("start_time={future}"))
            .await
            .is_empty()
    );
    // Several filters at once, with an IP address.
    let local = all_pages(
        app,
        &w.root,
        &format!("action=group.update&resource_type=group&result=SUCCESS&resource_id={ops}"),
    )
    .await;
    assert_eq!(local.len(), 1);
    if let Some(ip) = update["ip_address"].as_str() {
        let from_ip = all_pages(app, &w.root, &format!("ip_address={ip}")).await;
        assert!(has_action_on(&from_ip, "group.update", &ops));
    }

    for query in [
        "result=MAYBE",
        "start_time=yesterday",
        "end_time=2026-13-01T00:00:00Z",
        "start_time=2026-02-01T00:00:00Z&end_time=2026-01-01T00:00:00Z",
        "tenant_id=nope",
        "per_page=0",
        "cursor=forged",
    ] {
        let reply = app.get(&format!("{BASE}?{query}"), &w.root).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}: {}",
            reply.body
        );
    }
}

#[tokio::test]
async fn cursors_walk_every_event_once_and_are_bound_to_their_list() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    for i in 0..7 {
        app.create_group(&w.root, &w.acme_hq, &format!("G{i}"))
            .await;
    }
    let everything = all_pages(app, &w.root, "").await;
    let mut walked = Vec::new();
    let mut path = format!("{BASE}?per_page=3");
    let mut pages = 0;
    loop {
        let reply = app.get(&path, &w.root).await;
        let page = items(&reply);
        assert!(page.len() <= 3);
        walked.extend(page);
        pages += 1;
        let pagination = &reply.body["pagination"];
        // `total` is a lower bound: what was shown so far, plus one while more follow.
        let more = u64::from(!pagination["next_cursor"].is_null());
        assert_eq!(
            pagination["total"],
            walked.len() as u64 + more,
            "{pagination}"
        );
        match pagination["next_cursor"].as_str() {
            Some(cursor) => {
                // A cursor replayed with another filter, or by another caller, is refused.
                let other = app
                    .get(
                        &format!("{BASE}?per_page=3&action=group.create&cursor={cursor}"),
                        &w.root,
                    )
                    .await;
                assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
                path = format!("{BASE}?per_page=3&cursor={cursor}");
            }
            None => break,
        }
    }
    assert!(pages >= 4, "{pages} pages");
    assert_eq!(ids(&walked), ids(&everything));
    // Offset pages agree with the cursor walk.
    let second = items(&app.get(&format!("{BASE}?per_page=3&page=2"), &w.root).await);
    assert_eq!(ids(&second), ids(&everything)[3..6].to_vec());
}

#[tokio::test]
async fn events_are_read_one_by_one_within_reach_and_never_written_through_the_api() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let hq_admin = tenant_admin(app, "ta@acme-hq.test", &w.acme_hq).await;
    let globex_admin = partner_admin(app, "pa@globex.test", &w.globex).await;
    let ops = app.create_group(&w.root, &w.acme_hq, "Ops").await;
    let listed = all_pages(app, &hq_admin, &format!("resource_id={ops}")).await;
    let event = listed[0].clone();
    let id = event["id"].as_str().unwrap();

    let calls = app.calls();
    let got = app.get(&format!("{BASE}/{id}"), &hq_admin).await;
    assert_eq!((got.status, &got.body), (StatusCode::OK, &event));
    assert_eq!(
        app.calls() - calls,
        1,
        "one batch: the session check and the event"
    );
    assert_eq!(app.get(&format!("{BASE}/{id}"), &w.root).await.body, event);
    let foreign = app.get(&format!("{BASE}/{id}"), &globex_admin).await;
    assert_eq!(
        (foreign.status, &foreign.body),
        (StatusCode::FORBIDDEN, &detail("Access denied"))
    );
    for missing in [
        EventId::generate().to_string(),
        "evt_nope".into(),
        ops.clone(),
    ] {
        let reply = app.get(&format!("{BASE}/{missing}"), &w.root).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{missing}");
    }
    let anonymous = app.call(Method::GET, BASE, None, None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

    // Read-only: no write method on the collection or an event.
    let before = app.snapshot().await;
    for (method, path) in [
        (Method::POST, BASE.to_owned()),
        (Method::PATCH, format!("{BASE}/{id}")),
        (Method::PUT, format!("{BASE}/{id}")),
        (Method::DELETE, format!("{BASE}/{id}")),
    ] {
        let reply = app
            .call(
                method.clone(),
                &path,
                Some(&w.root),
                Some(json!({"action": "x"})),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
    }
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn the_catalogues_list_every_action_and_resource_type() {
    let Some(app) = spawn_app().await else { return };
    let root = app.root_token().await;
    let committed: Vec<Value> =
        serde_json::from_str(include_str!("../../../docs/audit-actions.json"))
            .expect("the committed catalogue");
    let actions = app.get(&format!("{BASE}/actions"), &root).await;
    assert_eq!(items(&actions), committed);
    let names: BTreeSet<&str> = committed
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    for expected in [
        "auth.login",
        "tenant.update",
        "application.assign",
        "group.member_add",
    ] {
        assert!(names.contains(expected), "{expected}");
    }
    let types = items(&app.get(&format!("{BASE}/resource-types"), &root).await);
    let expected: BTreeSet<String> = committed
        .iter()
        .map(|a| a["resource_type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        types,
        expected.into_iter().map(Value::from).collect::<Vec<_>>()
    );
    let anonymous = app
        .call(Method::GET, &format!("{BASE}/actions"), None, None)
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

/// Events recorded at a chosen time, as a write would store them (in its transaction).
async fn record_at(app: &TestApp, ms: u64, action: &str, tenant: Option<(&str, &str)>) -> String {
    record(app, ms, action, tenant, None).await
}

async fn record(
    app: &TestApp,
    ms: u64,
    action: &str,
    tenant: Option<(&str, &str)>,
    changes: Option<serde_json::Map<String, Value>>,
) -> String {
    let meta = RequestMeta::default();
    let mut event = AuditEvent::new(
        Actor::system("test"),
        AuditAction::new("test.synthetic", "test"),
        None,
        &meta,
    );
    event.action = action.to_owned();
    if let Some((partner, tenant)) = tenant {
        event = event.in_tenant(
            &PartnerId::parse(partner).unwrap(),
            &TenantId::parse(tenant).unwrap(),
        );
    }
    event.changes = changes;
    event.id = EventId::parse(&EventId::lowest_at(ms)).unwrap();
    event.timestamp = Timestamp::from_unix(i64::try_from(ms / 1000).unwrap()).unwrap();
    app.state
        .store()
        .put_event(&event)
        .await
        .expect("event stored");
    event.id.to_string()
}

#[tokio::test]
async fn time_ranges_are_id_ranges_on_every_index_and_reads_are_bounded() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let hq_admin = tenant_admin(app, "ta@acme-hq.test", &w.acme_hq).await;
    let now = Timestamp::now().unix_millis();
    let day = 86_400_000;
    let old = record_at(app, now - 40 * day, "test.old", Some((&w.acme, &w.acme_hq))).await;
    let recent = record_at(
        app,
        now - 2 * day,
        "test.recent",
        Some((&w.acme, &w.acme_hq)),
    )
    .await;
    let platform = record_at(app, now - 3 * day, "test.platform", None).await;

    let everything = ids(&all_pages(app, &w.root, "").await);
    for id in [&old, &recent, &platform] {
        assert!(everything.contains(id), "{id} in the platform list");
    }
    let ten_days_ago = Timestamp::from_unix(((now - 10 * day) / 1000) as i64).unwrap();
    let since = ids(&all_pages(app, &w.root, &format!("start_time={ten_days_ago}")).await);
    assert!(since.contains(&recent) && since.contains(&platform));
    assert!(!since.contains(&old));
    let until = ids(&all_pages(app, &hq_admin, &format!("end_time={ten_days_ago}")).await);
    assert_eq!(
        until,
        vec![old.clone()],
        "the tenant's index, bounded above"
    );

    // Round trips: a tenant admin's page is the session batch and one Query; the platform
    // list reads its 16 shards at once.
    let calls = app.calls();
    let page = app.get(&format!("{BASE}?per_page=5"), &hq_admin).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(app.calls() - calls, 2);
    let calls = app.calls();
    let page = app.get(&format!("{BASE}?per_page=5"), &w.root).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(app.calls() - calls, 1 + 16);
}

#[tokio::test]
async fn a_selective_filter_reads_a_bounded_amount_per_request_and_the_cursor_goes_on() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let now = Timestamp::now().unix_millis();
    let tenant = Some((w.acme.as_str(), w.acme_hq.as_str()));
    let rare = record(app, now - 60_000, "test.rare", tenant, None).await;
    // More newer events above it than one request examines in a partition.
    let examined = audit::operations::MAX_CALLS as usize * audit::operations::EXAMINED_PER_CALL;
    for i in 0..examined + 100 {
        record(app, now - 50_000 + i as u64, "test.common", tenant, None).await;
    }
    let query = format!("tenant_id={}&action=test.rare", w.acme_hq);
    let calls = app.calls();
    let first = app.get(&format!("{BASE}?{query}"), &w.root).await;
    assert!(
        items(&first).is_empty(),
        "the budget ran out before the rare event"
    );
    let cursor = first.body["pagination"]["next_cursor"]
        .as_str()
        .expect("a cursor to read on")
        .to_owned();
    assert_eq!(
        app.calls() - calls,
        1 + u64::from(audit::operations::MAX_CALLS),
        "the session batch and the bounded Queries"
    );
    let mut found = Vec::new();
    let mut next = Some(cursor);
    let mut requests = 1;
    while let Some(cursor) = next {
        let reply = app
            .get(&format!("{BASE}?{query}&cursor={cursor}"), &w.root)
            .await;
        found.extend(items(&reply));
        next = reply.body["pagination"]["next_cursor"]
            .as_str()
            .map(str::to_owned);
        requests += 1;
        assert!(requests < 10, "the cursor makes progress");
    }
    assert_eq!(ids(&found), vec![rare]);
}

#[tokio::test]
async fn a_table_made_before_the_platform_index_gains_it() {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let Some(app) = spawn_app().await else { return };
    // A table as an earlier version made it: no GSI3.
    let old = shared::store::Store::new(
        app.state.store().client().clone(),
        format!("old{}", uuid::Uuid::now_v7().simple()),
    );
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .unwrap()
    };
    old.client()
        .create_table()
        .table_name(old.table())
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("PK", KeyType::Hash))
        .key_schema(key("SK", KeyType::Range))
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("PK")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("SK")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("an old table");
    assert!(!old.create_table().await.expect("idempotent"), "it existed");
    let described = old
        .client()
        .describe_table()
        .table_name(old.table())
        .send()
        .await
        .unwrap();
    let indexes: Vec<String> = described
        .table()
        .unwrap()
        .global_secondary_indexes()
        .iter()
        .filter_map(|i| i.index_name().map(str::to_owned))
        .collect();
    assert!(indexes.contains(&"GSI3".to_owned()), "{indexes:?}");
    // Idempotent once there.
    assert!(!old.create_table().await.expect("idempotent"));
}
