//! Groups (SPEC §4.6): CRUD, members, nesting without cycles (also under races), effective
//! members, a user's groups (`shared::membership`), tiers and isolation, round trips.

use std::collections::HashSet;

use api_tests::*;
use axum::http::StatusCode;
use serde_json::{Value, json};
use shared::access::AdminRole;
use shared::ids::UserId;
use shared::membership::{self, MembershipKind, groups_of_user};

const BASE: &str = "/api/v1/admin/groups";

fn ids(reply: &Reply) -> Vec<String> {
    reply.body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a list: {}", reply.body))
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

fn group_path(group: &str) -> String {
    format!("{BASE}/{group}")
}

fn members_path(group: &str) -> String {
    format!("{BASE}/{group}/members")
}

fn effective_path(group: &str) -> String {
    format!("{BASE}/{group}/effective-members")
}

#[tokio::test]
async fn a_group_is_created_read_updated_listed_and_deleted_in_few_round_trips() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let before = app.calls();
    let created = app
        .post(
            BASE,
            &w.root,
            json!({"tenant_id": w.acme_hq, "name": "Engineering", "description": "All engineers"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(app.calls() - before, 2, "session batch + one transaction");
    let id = created.id();
    assert!(id.starts_with("grp_") && id.len() == 30, "{id}");
    assert_eq!(created.body["group_type"], "SECURITY");
    assert_eq!(created.body["member_count"], 0);
    assert_eq!(created.body["tenant_id"], w.acme_hq.as_str());
    assert_eq!(created.body["description"], "All engineers");

    let before = app.calls();
    let read = app.get(&group_path(&id), &w.root).await;
    assert_eq!(app.calls() - before, 1);
    assert_eq!(read.body, created.body);

    let before = app.calls();
    let updated = app
        .patch(
            &group_path(&id),
            &w.root,
            json!({"name": "Eng", "description": null, "group_type": "DISTRIBUTION_LIST"}),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(app.calls() - before, 2);
    assert_eq!(updated.body["name"], "Eng");
    assert_eq!(updated.body["description"], Value::Null);
    assert_eq!(updated.body["group_type"], "DISTRIBUTION_LIST");

    let before = app.calls();
    let list = app
        .get(&format!("{BASE}?tenant_id={}", w.acme_hq), &w.root)
        .await;
    assert_eq!(
        app.calls() - before,
        2,
        "session batch (with the counter) + query"
    );
    assert_eq!(list.body["pagination"]["total"], 1);
    assert_eq!(ids(&list), vec![id.clone()]);

    let before = app.calls();
    let deleted = app.delete(&group_path(&id), &w.root).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(app.calls() - before, 2);
    assert_eq!(
        app.get(&group_path(&id), &w.root).await.status,
        StatusCode::NOT_FOUND
    );
    let list = app
        .get(&format!("{BASE}?tenant_id={}", w.acme_hq), &w.root)
        .await;
    assert_eq!(list.body["pagination"]["total"], 0);
    assert_eq!(
        app.delete(&group_path(&id), &w.root).await.status,
        StatusCode::NOT_FOUND
    );
    // Groups have no restore, so the name is free again at once.
    app.create_group(&w.root, &w.acme_hq, "Eng").await;
    let _ = (&w.acme, &w.globex, &w.acme_lab, &w.globex_hq);
}

#[tokio::test]
async fn bad_bodies_and_unknown_ids_are_refused() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let missing = app.post(BASE, &w.root, json!({})).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    let locs: Vec<&Value> = missing.body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["loc"])
        .collect();
    assert_eq!(
        locs,
        vec![&json!(["body", "tenant_id"]), &json!(["body", "name"])]
    );
    let bad_type = app
        .post(
            BASE,
            &w.root,
            json!({"tenant_id": w.acme_hq, "name": "X", "group_type": "OTHER"}),
        )
        .await;
    assert_eq!(
        bad_type.body["detail"][0]["loc"],
        json!(["body", "group_type"])
    );
    let unknown_tenant = app
        .post(
            BASE,
            &w.root,
            json!({"tenant_id": "tnt_00000000000000000000000000", "name": "X"}),
        )
        .await;
    assert_eq!(
        (unknown_tenant.status, unknown_tenant.body),
        (StatusCode::NOT_FOUND, detail("Tenant not found"))
    );
    for path in [
        format!("{BASE}/grp_00000000000000000000000000"),
        format!("{BASE}/not-an-id"),
        format!("{BASE}/tnt_00000000000000000000000000"),
    ] {
        let reply = app.get(&path, &w.root).await;
        assert_eq!(
            (reply.status, reply.body),
            (StatusCode::NOT_FOUND, detail("Group not found"))
        );
    }
    let g = app.create_group(&w.root, &w.acme_hq, "G").await;
    assert_eq!(
        app.patch(&group_path(&g), &w.root, json!({"name": null}))
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let u = app.put_user(&w.acme_hq, "u@acme.test").await;
    for body in [
        json!({}),
        json!({"user_id": u, "group_id": g}),
        json!({"user_id": "usr_x"}),
        json!({"user_id": null}),
    ] {
        let reply = app.add_member(&w.root, &g, body.clone()).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            reply.body
        );
    }
}

#[tokio::test]
async fn group_names_are_unique_per_tenant_whatever_their_case() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    app.create_group(&w.root, &w.acme_hq, "Admins").await;
    let dup = app
        .post(
            BASE,
            &w.root,
            json!({"tenant_id": w.acme_hq, "name": "admins"}),
        )
        .await;
    assert_eq!(
        (dup.status, dup.body),
        (
            StatusCode::CONFLICT,
            detail("Group name already in use in this tenant")
        )
    );
    // Another tenant may use it.
    app.create_group(&w.root, &w.acme_lab, "Admins").await;
    let other = app.create_group(&w.root, &w.acme_hq, "Others").await;
    let rename = app
        .patch(&group_path(&other), &w.root, json!({"name": "ADMINS"}))
        .await;
    assert_eq!(rename.status, StatusCode::CONFLICT);
    // A change of case only keeps its own claim.
    let recased = app
        .patch(&group_path(&other), &w.root, json!({"name": "OTHERS"}))
        .await;
    assert_eq!(recased.status, StatusCode::OK, "{}", recased.body);
    let renamed = app
        .patch(&group_path(&other), &w.root, json!({"name": "Others 2"}))
        .await;
    assert_eq!(renamed.status, StatusCode::OK);
    // The old name was released by the rename.
    app.create_group(&w.root, &w.acme_hq, "others").await;
}

#[tokio::test]
async fn concurrent_creates_of_one_group_name_make_one_group() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let replies = join_all(
        (0..12)
            .map(|i| {
                let name = if i % 2 == 0 { "Race" } else { "RACE" };
                app.post(BASE, &w.root, json!({"tenant_id": w.acme_hq, "name": name}))
            })
            .collect(),
    )
    .await;
    let created: Vec<&Reply> = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .collect();
    assert_eq!(created.len(), 1);
    assert!(
        replies
            .iter()
            .all(|r| r.status == StatusCode::CREATED || r.status == StatusCode::CONFLICT)
    );
    let table = app.snapshot().await;
    let groups = table
        .values()
        .filter(|i| i["SK"] == "GROUP" && i["tenant_id"] == w.acme_hq.as_str())
        .count();
    assert_eq!(groups, 1);
    let events = table
        .values()
        .filter(|i| i["SK"] == "EVENT" && i["action"] == "group.create")
        .count();
    assert_eq!(events, 1);
    let list = app
        .get(&format!("{BASE}?tenant_id={}", w.acme_hq), &w.root)
        .await;
    assert_eq!(list.body["pagination"]["total"], 1);
}

#[tokio::test]
async fn lists_filter_by_search_type_tenant_and_partner_newest_first_with_cursors() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let a1 = app.create_group(&w.root, &w.acme_hq, "Sales East").await;
    let a2 = app.create_group(&w.root, &w.acme_hq, "Sales West").await;
    let l1 = app.create_group(&w.root, &w.acme_lab, "Research").await;
    let dl = app
        .post(
            BASE,
            &w.root,
            json!({"tenant_id": w.acme_lab, "name": "Newsletter", "group_type": "DISTRIBUTION_LIST"}),
        )
        .await
        .id();
    let g1 = app
        .create_group(&w.root, &w.globex_hq, "Sales Globex")
        .await;
    let all = app.get(BASE, &w.root).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert_eq!(all.body["pagination"]["total"], 5);
    assert_eq!(
        ids(&all),
        vec![g1.clone(), dl.clone(), l1.clone(), a2.clone(), a1.clone()]
    );
    let by_partner = app
        .get(&format!("{BASE}?partner_id={}", w.acme), &w.root)
        .await;
    assert_eq!(
        ids(&by_partner),
        vec![dl.clone(), l1.clone(), a2.clone(), a1.clone()]
    );
    assert_eq!(by_partner.body["pagination"]["total"], 4);
    let search = app.get(&format!("{BASE}?search=sales"), &w.root).await;
    assert_eq!(ids(&search), vec![g1.clone(), a2.clone(), a1.clone()]);
    assert_eq!(search.body["pagination"]["total"], 3);
    let typed = app
        .get(&format!("{BASE}?group_type=DISTRIBUTION_LIST"), &w.root)
        .await;
    assert_eq!(ids(&typed), vec![dl.clone()]);
    let mixed = app
        .get(
            &format!(
                "{BASE}?partner_id={}&tenant_id={}&search=west",
                w.acme, w.acme_hq
            ),
            &w.root,
        )
        .await;
    assert_eq!(ids(&mixed), vec![a2.clone()]);
    // A tenant of another partner than the filter names: nothing.
    let crossed = app
        .get(
            &format!("{BASE}?partner_id={}&tenant_id={}", w.globex, w.acme_hq),
            &w.root,
        )
        .await;
    assert_eq!(crossed.body["pagination"]["total"], 0);
    // Pages by cursor reach every group once.
    let mut seen = Vec::new();
    let mut path = format!("{BASE}?per_page=2");
    loop {
        let page = app.get(&path, &w.root).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert_eq!(page.body["pagination"]["total"], 5);
        seen.extend(ids(&page));
        match page.body["pagination"]["next_cursor"].as_str() {
            Some(c) => path = format!("{BASE}?per_page=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ids(&all));
    let forged = app.get(&format!("{BASE}?cursor=abc.def"), &w.root).await;
    assert_eq!(forged.status, StatusCode::UNPROCESSABLE_ENTITY);
    let offset = app.get(&format!("{BASE}?page=2&per_page=2"), &w.root).await;
    assert_eq!(ids(&offset), vec![l1, a2]);
}

#[tokio::test]
async fn members_are_added_listed_and_removed_keeping_member_count() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let team = app.create_group(&w.root, &w.acme_hq, "Team").await;
    let sub = app.create_group(&w.root, &w.acme_hq, "Sub").await;
    let alice = app.put_user(&w.acme_hq, "alice@acme.test").await;
    let bob = app.put_user(&w.acme_hq, "bob@acme.test").await;
    let stranger = app.put_user(&w.acme_lab, "stranger@acme.test").await;
    let foreign_group = app.create_group(&w.root, &w.acme_lab, "Lab").await;

    let before = app.calls();
    let added = app
        .add_member(&w.root, &team, json!({"user_id": alice}))
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    assert_eq!(
        app.calls() - before,
        2,
        "adding a user: session batch + transaction"
    );
    assert_eq!(added.body["member_type"], "USER");
    assert_eq!(added.body["email"], "alice@acme.test");
    assert_eq!(
        app.add_member(&w.root, &team, json!({"user_id": bob}))
            .await
            .status,
        StatusCode::CREATED
    );
    let nested = app
        .add_member(&w.root, &team, json!({"group_id": sub}))
        .await;
    assert_eq!(nested.status, StatusCode::CREATED, "{}", nested.body);
    assert_eq!(nested.body["name"], "Sub");

    let twice = app
        .add_member(&w.root, &team, json!({"user_id": alice}))
        .await;
    assert_eq!(
        (twice.status, twice.body),
        (
            StatusCode::CONFLICT,
            detail("Already a member of this group")
        )
    );
    assert_eq!(
        app.add_member(&w.root, &team, json!({"group_id": sub}))
            .await
            .status,
        StatusCode::CONFLICT
    );
    // Users and groups of another tenant, and unknown ones, are not found from here.
    for body in [
        json!({"user_id": stranger}),
        json!({"group_id": foreign_group}),
        json!({"user_id": UserId::generate().to_string()}),
    ] {
        let reply = app.add_member(&w.root, &team, body.clone()).await;
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "{body}: {}",
            reply.body
        );
    }

    let before = app.calls();
    let list = app.get(&members_path(&team), &w.root).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert_eq!(
        app.calls() - before,
        3,
        "session batch + query + the members' names"
    );
    assert_eq!(list.body["pagination"]["total"], 3);
    assert_eq!(ids(&list), vec![bob.clone(), alice.clone(), sub.clone()]);
    assert_eq!(list.body["items"][2]["member_type"], "GROUP");
    assert!(list.body["items"][0]["added_at"].is_string());
    let page = app
        .get(&format!("{}?per_page=2", members_path(&team)), &w.root)
        .await;
    let cursor = page.body["pagination"]["next_cursor"].as_str().unwrap();
    let rest = app
        .get(
            &format!("{}?per_page=2&cursor={cursor}", members_path(&team)),
            &w.root,
        )
        .await;
    assert_eq!(ids(&rest), vec![sub.clone()]);
    assert_eq!(
        app.get(&group_path(&team), &w.root).await.body["member_count"],
        3
    );

    let before = app.calls();
    let removed = app
        .delete(&format!("{}/{alice}", members_path(&team)), &w.root)
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    assert_eq!(app.calls() - before, 2);
    let again = app
        .delete(&format!("{}/{alice}", members_path(&team)), &w.root)
        .await;
    assert_eq!(
        (again.status, again.body),
        (StatusCode::NOT_FOUND, detail("Member not found"))
    );
    assert_eq!(
        app.delete(&format!("{}/not-an-id", members_path(&team)), &w.root)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.delete(&format!("{}/{sub}", members_path(&team)), &w.root)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&group_path(&team), &w.root).await.body["member_count"],
        1
    );
    // Once removed, the sub-group can be nested the other way round.
    assert_eq!(
        app.add_member(&w.root, &sub, json!({"group_id": team}))
            .await
            .status,
        StatusCode::CREATED
    );
    // A deleted user leaves the member list at once.
    app.mark_user_deleted(&bob).await;
    let list = app.get(&members_path(&team), &w.root).await;
    assert!(ids(&list).is_empty(), "{}", list.body);
    let events = app.audit_events_of_partner(&w.acme).await;
    let adds = events
        .iter()
        .filter(|e| e["action"] == "group.member_add")
        .count();
    let removes = events
        .iter()
        .filter(|e| e["action"] == "group.member_remove")
        .count();
    assert_eq!((adds, removes), (4, 2));
}

#[tokio::test]
async fn a_group_cannot_contain_itself_or_any_group_above_it() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let a = app.create_group(&w.root, &w.acme_hq, "A").await;
    let b = app.create_group(&w.root, &w.acme_hq, "B").await;
    let c = app.create_group(&w.root, &w.acme_hq, "C").await;
    let d = app.create_group(&w.root, &w.acme_hq, "D").await;
    let itself = app.add_member(&w.root, &a, json!({"group_id": a})).await;
    assert_eq!(
        (itself.status, itself.body),
        (
            StatusCode::CONFLICT,
            detail("Adding this group would create a cycle")
        )
    );
    for (parent, child) in [(&a, &b), (&b, &c), (&c, &d)] {
        let reply = app
            .add_member(&w.root, parent, json!({"group_id": child}))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    }
    let before = app.snapshot().await;
    for (parent, child) in [(&d, &a), (&d, &b), (&c, &a), (&b, &a)] {
        let reply = app
            .add_member(&w.root, parent, json!({"group_id": child}))
            .await;
        assert_eq!(reply.status, StatusCode::CONFLICT, "{parent} ⊃ {child}");
    }
    assert_eq!(
        app.snapshot().await,
        before,
        "refused nestings wrote nothing"
    );
    // A diamond is not a cycle.
    assert_eq!(
        app.add_member(&w.root, &a, json!({"group_id": d}))
            .await
            .status,
        StatusCode::CREATED
    );
}

/// Two admins nest A into B and B into A at the same moment: exactly one wins, every time.
///
/// This failed about one run in eight while the cycle check read the nesting version and the
/// graph with BatchGetItem, which is only read-committed per item: the losing nesting read the
/// version already moved by the winner and the winner's parent not yet updated, found no cycle,
/// and committed under the new version. The check now reads through TransactGetItems
/// (serializable); 0 failures in 200 runs after, 3 in 40 before (2026-11-28).
#[tokio::test]
async fn concurrent_opposite_nestings_never_close_a_cycle() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    for round in 0..8 {
        let a = app
            .create_group(&w.root, &w.acme_hq, &format!("A{round}"))
            .await;
        let b = app
            .create_group(&w.root, &w.acme_hq, &format!("B{round}"))
            .await;
        // A three-group ring in the other rounds: A ⊃ B, B ⊃ C and C ⊃ A at once.
        let replies = if round % 2 == 0 {
            join_all(vec![
                app.add_member(&w.root, &a, json!({"group_id": b})),
                app.add_member(&w.root, &b, json!({"group_id": a})),
            ])
            .await
        } else {
            let c = app
                .create_group(&w.root, &w.acme_hq, &format!("C{round}"))
                .await;
            let replies = join_all(vec![
                app.add_member(&w.root, &a, json!({"group_id": b})),
                app.add_member(&w.root, &b, json!({"group_id": c})),
                app.add_member(&w.root, &c, json!({"group_id": a})),
            ])
            .await;
            // Whatever won, following the edges from any group never comes back to it.
            let wins = replies
                .iter()
                .filter(|r| r.status == StatusCode::CREATED)
                .count();
            assert_eq!(
                wins,
                2,
                "round {round}: {:?}",
                replies.iter().map(|r| r.status).collect::<Vec<_>>()
            );
            replies
        };
        let statuses: Vec<StatusCode> = replies.iter().map(|r| r.status).collect();
        let refused = statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count();
        assert_eq!(refused, 1, "round {round}: {statuses:?}");
        for r in replies.iter().filter(|r| r.status == StatusCode::CONFLICT) {
            assert_eq!(r.body, detail("Adding this group would create a cycle"));
        }
        let effective = app.get(&effective_path(&a), &w.root).await;
        assert_eq!(effective.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn effective_members_are_each_user_once_with_the_shortest_path() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let top = app.create_group(&w.root, &w.acme_hq, "Top").await;
    let mid = app.create_group(&w.root, &w.acme_hq, "Mid").await;
    let low = app.create_group(&w.root, &w.acme_hq, "Low").await;
    let side = app.create_group(&w.root, &w.acme_hq, "Side").await;
    let ann = app.put_user(&w.acme_hq, "ann@acme.test").await;
    let ben = app.put_user(&w.acme_hq, "ben@acme.test").await;
    let cid = app.put_user(&w.acme_hq, "cid@acme.test").await;
    let dee = app.put_user(&w.acme_hq, "dee@acme.test").await;
    for (group, member) in [
        (&top, json!({"group_id": mid})),
        (&mid, json!({"group_id": low})),
        (&top, json!({"group_id": side})),
        (&side, json!({"group_id": low})),
        (&top, json!({"user_id": ann})),
        (&mid, json!({"user_id": ben})),
        (&low, json!({"user_id": cid})),
        (&low, json!({"user_id": ann})),
        (&side, json!({"user_id": dee})),
    ] {
        let reply = app.add_member(&w.root, group, member).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    }
    let reply = app.get(&effective_path(&top), &w.root).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["pagination"]["total"], 4);
    let items = reply.body["items"].as_array().unwrap();
    let path_of = |user: &str| -> Vec<String> {
        let item = items
            .iter()
            .find(|i| i["id"] == user)
            .unwrap_or_else(|| panic!("{user} missing"));
        item["path"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(path_of(&ann), vec![top.clone()], "direct beats nested");
    assert_eq!(path_of(&ben), vec![top.clone(), mid.clone()]);
    assert_eq!(path_of(&dee), vec![top.clone(), side.clone()]);
    // Low is reached through Mid and through Side: the lower id (Mid, created first) wins.
    assert_eq!(path_of(&cid), vec![top.clone(), mid.clone(), low.clone()]);
    assert_eq!(
        items.iter().find(|i| i["id"] == cid.as_str()).unwrap()["email"],
        "cid@acme.test"
    );

    // Pages by cursor give every user once.
    let mut seen = Vec::new();
    let mut path = format!("{}?per_page=3", effective_path(&top));
    loop {
        let page = app.get(&path, &w.root).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        seen.extend(ids(&page));
        match page.body["pagination"]["next_cursor"].as_str() {
            Some(c) => path = format!("{}?per_page=3&cursor={c}", effective_path(&top)),
            None => break,
        }
    }
    assert_eq!(seen.len(), 4);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 4);
    // A cursor of one group's list does not open another's.
    let first = app
        .get(&format!("{}?per_page=1", effective_path(&top)), &w.root)
        .await;
    let cursor = first.body["pagination"]["next_cursor"].as_str().unwrap();
    let reused = app
        .get(
            &format!("{}?per_page=1&cursor={cursor}", effective_path(&mid)),
            &w.root,
        )
        .await;
    assert_eq!(reused.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Deleting Mid: Low is still reached through Side; Ben is gone.
    assert_eq!(
        app.delete(&group_path(&mid), &w.root).await.status,
        StatusCode::NO_CONTENT
    );
    let after = app.get(&effective_path(&top), &w.root).await;
    assert_eq!(after.body["pagination"]["total"], 3);
    let items = after.body["items"].as_array().unwrap();
    let cid_item = items.iter().find(|i| i["id"] == cid.as_str()).unwrap();
    assert_eq!(cid_item["path"], json!([&top, &side, &low]));
    assert!(!items.iter().any(|i| i["id"] == ben.as_str()));
    assert_eq!(
        app.get(&group_path(&top), &w.root).await.body["member_count"],
        2
    );
    // The deleted group is gone from the members of the group it was in.
    let members = app.get(&members_path(&top), &w.root).await;
    assert!(!ids(&members).contains(&mid));
}

#[tokio::test]
async fn a_users_groups_are_listed_direct_and_inherited() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let top = app.create_group(&w.root, &w.acme_hq, "Top").await;
    let mid = app.create_group(&w.root, &w.acme_hq, "Mid").await;
    let low = app.create_group(&w.root, &w.acme_hq, "Low").await;
    let other = app.create_group(&w.root, &w.acme_hq, "Other").await;
    let ann = app.put_user(&w.acme_hq, "ann@acme.test").await;
    for (group, member) in [
        (&top, json!({"group_id": mid})),
        (&mid, json!({"group_id": low})),
        (&low, json!({"user_id": ann})),
        (&mid, json!({"user_id": ann})),
        (&other, json!({"user_id": ann})),
    ] {
        assert_eq!(
            app.add_member(&w.root, group, member).await.status,
            StatusCode::CREATED
        );
    }
    let user = UserId::parse(&ann).unwrap();
    let found = groups_of_user(app.state.store(), &user).await.unwrap();
    let listed: Vec<(String, MembershipKind)> = found
        .iter()
        .map(|g| (g.group.id.to_string(), g.membership))
        .collect();
    assert_eq!(
        listed,
        vec![
            (other.clone(), MembershipKind::Direct),
            (low.clone(), MembershipKind::Direct),
            (mid.clone(), MembershipKind::Direct),
            (top.clone(), MembershipKind::Inherited),
        ]
    );
    // A deleted group leaves them, and so does what was reached only through it.
    assert_eq!(
        app.delete(&group_path(&mid), &w.root).await.status,
        StatusCode::NO_CONTENT
    );
    let found = groups_of_user(app.state.store(), &user).await.unwrap();
    let listed: Vec<String> = found.iter().map(|g| g.group.id.to_string()).collect();
    assert_eq!(listed, vec![other, low]);
}

/// The users group serves the same walk at `GET /users/{user_id}/groups`, within the reach of
/// whoever may read the user, paged with signed cursors.
#[tokio::test]
async fn a_users_groups_route_lists_direct_then_inherited_within_reach() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let top = app.create_group(&w.root, &w.acme_hq, "Top").await;
    let mid = app.create_group(&w.root, &w.acme_hq, "Mid").await;
    let low = app.create_group(&w.root, &w.acme_hq, "Low").await;
    let other = app.create_group(&w.root, &w.acme_hq, "Other").await;
    let ann = app.put_user(&w.acme_hq, "ann@acme.test").await;
    for (group, member) in [
        (&top, json!({"group_id": mid})),
        (&mid, json!({"group_id": low})),
        (&low, json!({"user_id": ann})),
        (&mid, json!({"user_id": ann})),
        (&other, json!({"user_id": ann})),
    ] {
        assert_eq!(
            app.add_member(&w.root, group, member).await.status,
            StatusCode::CREATED
        );
    }
    let path = format!("/api/v1/admin/users/{ann}/groups");
    let before = app.calls();
    let all = app.get(&path, &w.root).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert!(
        app.calls() - before <= 4,
        "session batch + memberships Query + one batch per nesting level"
    );
    let listed: Vec<(String, String)> = all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["id"].as_str().unwrap().to_owned(),
                g["membership"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = vec![
        (other.clone(), "DIRECT".to_owned()),
        (low.clone(), "DIRECT".to_owned()),
        (mid.clone(), "DIRECT".to_owned()),
        (top.clone(), "INHERITED".to_owned()),
    ];
    assert_eq!(listed, expected);
    assert_eq!(all.body["pagination"]["total"], 4);
    assert_eq!(all.body["items"][0]["name"], "Other");
    assert_eq!(all.body["items"][0]["group_type"], "SECURITY");
    assert_eq!(all.body["items"][0]["tenant_id"], w.acme_hq.as_str());

    // Two pages by cursor make the whole list; the cursor is bound to its list.
    let first = app.get(&format!("{path}?per_page=3"), &w.root).await;
    assert_eq!(ids(&first), vec![other.clone(), low.clone(), mid.clone()]);
    let cursor = first.body["pagination"]["next_cursor"]
        .as_str()
        .expect("a next cursor")
        .to_owned();
    let second = app
        .get(&format!("{path}?per_page=3&cursor={cursor}"), &w.root)
        .await;
    assert_eq!(ids(&second), vec![top.clone()]);
    assert_eq!(second.body["pagination"]["page"], 2);
    assert!(second.body["pagination"]["next_cursor"].is_null());
    let forged = app
        .get(
            &format!("{path}?cursor={}x", &cursor[..cursor.len() - 1]),
            &w.root,
        )
        .await;
    assert_eq!(forged.status, StatusCode::UNPROCESSABLE_ENTITY);
    let bob = app.put_user(&w.acme_hq, "bob@acme.test").await;
    let replayed = app
        .get(
            &format!("/api/v1/admin/users/{bob}/groups?per_page=3&cursor={cursor}"),
            &w.root,
        )
        .await;
    assert_eq!(replayed.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Reach is the user's.
    let hq_admin = app
        .admin_token(
            "hq@acme.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_hq),
        )
        .await;
    assert_eq!(app.get(&path, &hq_admin).await.status, StatusCode::OK);
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
        let refused = app.get(&path, token).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
        assert_eq!(refused.body, json!({"detail": "Access denied"}));
    }
    let acme_admin = app
        .admin_token("pa@acme.test", AdminRole::PartnerAdmin, Some(&w.acme), None)
        .await;
    assert_eq!(app.get(&path, &acme_admin).await.status, StatusCode::OK);
    let unknown = format!("/api/v1/admin/users/{}/groups", UserId::generate());
    assert_eq!(
        app.get(&unknown, &w.root).await.status,
        StatusCode::NOT_FOUND
    );
    let _ = &w.globex_hq;
}

/// What the users group's delete does with `shared::membership`: the user leaves every group,
/// and the groups' `member_count` follows, in one transaction.
#[tokio::test]
async fn a_user_detached_by_the_users_groups_delete_leaves_every_group() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let a = app.create_group(&w.root, &w.acme_hq, "A").await;
    let b = app.create_group(&w.root, &w.acme_hq, "B").await;
    let ann = app.put_user(&w.acme_hq, "ann@acme.test").await;
    let ben = app.put_user(&w.acme_hq, "ben@acme.test").await;
    for (g, u) in [(&a, &ann), (&b, &ann), (&a, &ben)] {
        assert_eq!(
            app.add_member(&w.root, g, json!({"user_id": u}))
                .await
                .status,
            StatusCode::CREATED
        );
    }
    let store = app.state.store();
    let user = UserId::parse(&ann).unwrap();
    let groups = membership::attachments(store, &user).await.unwrap();
    assert_eq!(groups.len(), 2);
    let mut tx = store.tx();
    membership::detach_user(&mut tx, &user, &groups).unwrap();
    store.transact(tx).await.unwrap();
    assert_eq!(
        app.get(&group_path(&a), &w.root).await.body["member_count"],
        1
    );
    assert_eq!(
        app.get(&group_path(&b), &w.root).await.body["member_count"],
        0
    );
    assert_eq!(
        ids(&app.get(&members_path(&a), &w.root).await),
        vec![ben.clone()]
    );
    assert!(groups_of_user(store, &user).await.unwrap().is_empty());
    assert_eq!(
        app.get(&effective_path(&a), &w.root).await.body["pagination"]["total"],
        1
    );
}

/// Every route, every tier, with ids of groups inside and outside the caller's reach.
#[tokio::test]
async fn every_tier_reaches_only_the_groups_of_its_tenants() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let hq = app.create_group(&w.root, &w.acme_hq, "HQ").await;
    let lab = app.create_group(&w.root, &w.acme_lab, "Lab").await;
    let globex = app.create_group(&w.root, &w.globex_hq, "Globex").await;
    let hq_user = app.put_user(&w.acme_hq, "hq@acme.test").await;
    let lab_user = app.put_user(&w.acme_lab, "lab@acme.test").await;
    let globex_user = app.put_user(&w.globex_hq, "g@globex.test").await;
    for (g, u) in [(&hq, &hq_user), (&lab, &lab_user), (&globex, &globex_user)] {
        assert_eq!(
            app.add_member(&w.root, g, json!({"user_id": u}))
                .await
                .status,
            StatusCode::CREATED
        );
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
    let root_cursor =
        app.get(&format!("{BASE}?per_page=1"), &w.root).await.body["pagination"]["next_cursor"]
            .as_str()
            .unwrap()
            .to_owned();

    // (token, groups within reach, groups outside, tenants within, tenants outside, partner outside)
    let cases = [
        (
            &pa,
            vec![&hq, &lab],
            vec![&globex],
            vec![&w.acme_hq, &w.acme_lab],
            vec![&w.globex_hq],
        ),
        (
            &ta,
            vec![&hq],
            vec![&lab, &globex],
            vec![&w.acme_hq],
            vec![&w.acme_lab, &w.globex_hq],
        ),
    ];
    for (token, inside, outside, own_tenants, foreign_tenants) in cases {
        let list = app.get(BASE, token).await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.body);
        let listed = ids(&list);
        assert_eq!(list.body["pagination"]["total"], inside.len());
        assert_eq!(listed.len(), inside.len());
        for g in &inside {
            assert!(listed.contains(*g));
        }
        let searched = app.get(&format!("{BASE}?search=o"), token).await;
        for g in ids(&searched) {
            assert!(inside.iter().any(|i| **i == g), "search leaked {g}");
        }
        let stolen = app
            .get(&format!("{BASE}?per_page=1&cursor={root_cursor}"), token)
            .await;
        assert_eq!(stolen.status, StatusCode::UNPROCESSABLE_ENTITY);
        for t in &own_tenants {
            let r = app.get(&format!("{BASE}?tenant_id={t}"), token).await;
            assert_eq!(r.status, StatusCode::OK);
        }
        for t in &foreign_tenants {
            let r = app.get(&format!("{BASE}?tenant_id={t}"), token).await;
            assert_eq!(
                (r.status, r.body),
                (StatusCode::FORBIDDEN, detail("Access denied")),
                "tenant {t}"
            );
            let created = app
                .post(BASE, token, json!({"tenant_id": t, "name": "Mine"}))
                .await;
            assert_eq!(created.status, StatusCode::FORBIDDEN);
        }
        let unknown_tenant = app
            .get(
                &format!("{BASE}?tenant_id=tnt_00000000000000000000000000"),
                token,
            )
            .await;
        assert_eq!(unknown_tenant.status, StatusCode::FORBIDDEN);
        let foreign_partner = app
            .get(&format!("{BASE}?partner_id={}", w.globex), token)
            .await;
        assert_eq!(foreign_partner.status, StatusCode::FORBIDDEN);
        for g in &inside {
            assert_eq!(app.get(&group_path(g), token).await.status, StatusCode::OK);
            assert_eq!(
                app.get(&members_path(g), token).await.status,
                StatusCode::OK
            );
            assert_eq!(
                app.get(&effective_path(g), token).await.status,
                StatusCode::OK
            );
        }
        let before = app.snapshot().await;
        for g in &outside {
            let refused = [
                app.get(&group_path(g), token).await,
                app.get(&members_path(g), token).await,
                app.get(&effective_path(g), token).await,
                app.patch(&group_path(g), token, json!({"name": "x"})).await,
                app.delete(&group_path(g), token).await,
                app.add_member(token, g, json!({"user_id": hq_user})).await,
                app.delete(&format!("{}/{globex_user}", members_path(g)), token)
                    .await,
            ];
            for (i, reply) in refused.iter().enumerate() {
                assert_eq!(
                    (reply.status, &reply.body),
                    (StatusCode::FORBIDDEN, &detail("Access denied")),
                    "route {i} on {g}"
                );
            }
        }
        // Reaching into a foreign group from an own one: not found, nothing learnt.
        let own = inside[0];
        for body in [json!({"user_id": globex_user}), json!({"group_id": globex})] {
            let reply = app.add_member(token, own, body).await;
            assert_eq!(reply.status, StatusCode::NOT_FOUND);
        }
        // Only DENIED events were written by the refusals.
        let after = app.snapshot().await;
        let new: Vec<&Value> = after
            .iter()
            .filter(|(k, _)| !before.contains_key(*k))
            .map(|(_, v)| v)
            .collect();
        assert!(
            new.iter()
                .all(|i| i["SK"] == "EVENT" && i["result"] == "DENIED"),
            "{new:?}"
        );
        for (key, value) in &before {
            assert_eq!(after.get(key), Some(value), "{key} changed");
        }
    }
    // Within reach, every write works.
    let mine = app.create_group(&ta, &w.acme_hq, "Mine").await;
    assert_eq!(
        app.add_member(&ta, &mine, json!({"user_id": hq_user}))
            .await
            .status,
        StatusCode::CREATED
    );
    assert_eq!(
        app.add_member(
            &pa,
            &lab,
            json!({"group_id": app.create_group(&pa, &w.acme_lab, "Sub").await})
        )
        .await
        .status,
        StatusCode::CREATED
    );
    assert_eq!(
        app.patch(&group_path(&mine), &ta, json!({"name": "Mine 2"}))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.delete(&group_path(&mine), &pa).await.status,
        StatusCode::NO_CONTENT
    );
    // The super admin sees everything.
    assert_eq!(app.get(BASE, &w.root).await.body["pagination"]["total"], 4);
}

/// A partner admin is judged by the partner the group's tenant belongs to now, not when the
/// group was written.
#[tokio::test]
async fn a_tenant_transfer_moves_the_reach_over_its_groups() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let lab = app.create_group(&w.root, &w.acme_lab, "Lab").await;
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
    assert_eq!(
        app.get(&group_path(&lab), &pa_acme).await.status,
        StatusCode::OK
    );
    let before = app.calls();
    assert_eq!(
        app.get(&group_path(&lab), &pa_globex).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.calls() - before,
        2,
        "a partner admin's read also reads the tenant"
    );
    app.move_tenant(&w.root, &w.acme_lab, &w.globex).await;
    for reply in [
        app.get(&group_path(&lab), &pa_acme).await,
        app.patch(&group_path(&lab), &pa_acme, json!({"name": "x"}))
            .await,
        app.get(&effective_path(&lab), &pa_acme).await,
    ] {
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
    }
    assert_eq!(
        app.get(&group_path(&lab), &pa_globex).await.status,
        StatusCode::OK
    );
    let renamed = app
        .patch(&group_path(&lab), &pa_globex, json!({"name": "Lab 2"}))
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
    // The partner-wide lists follow: the old partner's no longer shows the group, the new
    // one's does, in its items and its total, filtered or not.
    for (token, expected) in [(&pa_acme, 0), (&pa_globex, 1)] {
        for path in [BASE.to_owned(), format!("{BASE}?search=lab")] {
            let list = app.get(&path, token).await;
            assert_eq!(list.status, StatusCode::OK, "{}", list.body);
            assert_eq!(list.body["pagination"]["total"], expected, "{path}");
            assert_eq!(list.body["items"].as_array().unwrap().len(), expected);
        }
    }
    // What happens to the group now is filed under its new partner (a super admin's write
    // included: it reads the tenant to know which).
    let by_root = app
        .patch(&group_path(&lab), &w.root, json!({"name": "Lab 3"}))
        .await;
    assert_eq!(by_root.status, StatusCode::OK, "{}", by_root.body);
    let updates = |events: Vec<serde_json::Value>| {
        events
            .iter()
            .filter(|e| e["action"] == "group.update" && e["result"] == "SUCCESS")
            .count()
    };
    assert_eq!(updates(app.audit_events_of_partner(&w.globex).await), 2);
    assert_eq!(updates(app.audit_events_of_partner(&w.acme).await), 0);
}

/// Nesting 10 deep and a few thousand members: measures what a membership change and an
/// effective-members page cost (`cargo test -p api-tests --test api -- --ignored
/// groups::cost --nocapture`). The numbers are in docs/data-model.md.
#[tokio::test]
#[ignore]
async fn cost_of_depth_ten_and_thousands_of_members() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let chain: Vec<String> = {
        let mut v = Vec::new();
        for i in 0..11 {
            v.push(
                app.create_group(&w.root, &w.acme_hq, &format!("L{i}"))
                    .await,
            );
        }
        v
    };
    // L0 ⊃ L1 ⊃ … ⊃ L10: nest from the bottom so each nesting walks the whole chain below.
    for i in (0..10).rev() {
        let before = app.calls();
        let reply = app
            .add_member(&w.root, &chain[i], json!({"group_id": chain[i + 1]}))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED);
        eprintln!("nest L{i} ⊃ L{}: {} calls", i + 1, app.calls() - before);
    }
    let members: usize = std::env::var("GROUP_COST_MEMBERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let bottom = &chain[10];
    let started = std::time::Instant::now();
    let mut users = Vec::new();
    for i in 0..members {
        users.push(app.put_user(&w.acme_hq, &format!("u{i}@acme.test")).await);
    }
    for chunk in users.chunks(50) {
        let replies = join_all(
            chunk
                .iter()
                .map(|u| app.add_member(&w.root, bottom, json!({"user_id": u})))
                .collect(),
        )
        .await;
        assert!(replies.iter().all(|r| r.status == StatusCode::CREATED));
    }
    eprintln!("{members} users added in {:?}", started.elapsed());
    let before = app.calls();
    let one_more = app.put_user(&w.acme_hq, "last@acme.test").await;
    let before_add = app.calls();
    let reply = app
        .add_member(&w.root, bottom, json!({"user_id": one_more}))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    eprintln!(
        "add a user to a {members}-member group: {} calls",
        app.calls() - before_add
    );
    let _ = before;
    let cycle_before = app.calls();
    let cycle = app
        .add_member(&w.root, bottom, json!({"group_id": chain[0]}))
        .await;
    assert_eq!(cycle.status, StatusCode::CONFLICT);
    eprintln!(
        "refuse a depth-10 cycle: {} calls",
        app.calls() - cycle_before
    );
    let before = app.calls();
    let started = std::time::Instant::now();
    let page = app
        .get(
            &format!("{}?per_page=100", effective_path(&chain[0])),
            &w.root,
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.body["pagination"]["total"], members + 1);
    assert_eq!(page.body["items"][0]["path"].as_array().unwrap().len(), 11);
    eprintln!(
        "effective members of L0 (depth 10, {} users), page of 100: {} calls, {:?}",
        members + 1,
        app.calls() - before,
        started.elapsed()
    );
    let before = app.calls();
    let page = app
        .get(&format!("{}?per_page=100", members_path(bottom)), &w.root)
        .await;
    assert_eq!(page.body["pagination"]["total"], members + 1);
    eprintln!("direct members page of 100: {} calls", app.calls() - before);
    let user = UserId::parse(&users[0]).unwrap();
    let before = app.calls();
    let groups = groups_of_user(app.state.store(), &user).await.unwrap();
    assert_eq!(groups.len(), 11);
    eprintln!("groups_of_user at depth 10: {} calls", app.calls() - before);
}

/// A partner's stored group count, and the sum of the group counters of `tenants` (its live
/// ones).
async fn partner_groups(app: &TestApp, partner: &str, tenants: &[&str]) -> (i64, i64) {
    app.partner_count(shared::store::tally::PartnerCount::Groups, partner, tenants)
        .await
}

#[tokio::test]
async fn a_partners_group_count_is_its_live_tenants_groups_through_every_write() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let pa = app
        .admin_token("pa@acme.test", AdminRole::PartnerAdmin, Some(&w.acme), None)
        .await;
    let acme = [w.acme_hq.as_str(), w.acme_lab.as_str()];
    app.create_group(&pa, &w.acme_hq, "Ops").await;
    let doomed = app.create_group(&pa, &w.acme_hq, "Doomed").await;
    let lab = app.create_group(&pa, &w.acme_lab, "Ops").await;
    assert_eq!(partner_groups(app, &w.acme, &acme).await, (3, 3));

    // Refused writes count nothing: a taken name, a foreign tenant.
    let taken = app
        .post(BASE, &pa, json!({"tenant_id": w.acme_hq, "name": "OPS"}))
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT, "{}", taken.body);
    let foreign = app
        .post(BASE, &pa, json!({"tenant_id": w.globex_hq, "name": "Ops"}))
        .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN, "{}", foreign.body);
    assert_eq!(partner_groups(app, &w.acme, &acme).await, (3, 3));
    assert_eq!(
        partner_groups(app, &w.globex, &[&w.globex_hq]).await,
        (0, 0)
    );

    assert_eq!(
        app.delete(&group_path(&doomed), &pa).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(partner_groups(app, &w.acme, &acme).await, (2, 2));
    // Deleted once only.
    assert_eq!(
        app.delete(&group_path(&doomed), &pa).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(partner_groups(app, &w.acme, &acme).await, (2, 2));

    // A deleted tenant's groups count under no partner: deleting one moves only its tenant's
    // counter; the tenant's restore brings back what is left.
    let tenant = format!("/api/v1/admin/tenants/{}", w.acme_lab);
    assert_eq!(
        app.delete(&tenant, &w.root).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(partner_groups(app, &w.acme, &[&w.acme_hq]).await, (1, 1));
    assert_eq!(
        app.delete(&group_path(&lab), &w.root).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(partner_groups(app, &w.acme, &[&w.acme_hq]).await, (1, 1));
    assert_eq!(partner_groups(app, &w.acme, &[&w.acme_lab]).await.1, 0);
    let back = app
        .post(&format!("{tenant}/restore"), &w.root, json!({}))
        .await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.body);
    assert_eq!(partner_groups(app, &w.acme, &acme).await, (1, 1));
    app.create_group(&pa, &w.acme_lab, "Ops").await;
    assert_eq!(partner_groups(app, &w.acme, &acme).await, (2, 2));
}
