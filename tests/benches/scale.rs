//! Users at scale against DynamoDB Local (issue 9): the collection that grows.
//!
//! `cargo bench -p api-tests --bench scale` (or `BENCH_SCALE=1 scripts/bench`). It loads
//! `SCALE_USERS` users (default 100,000) into one tenant with the bulk loader
//! (`api_tests::bulk`: `BatchWriteItem`, counters set once) and prints, next to the same run's
//! raw GetItem:
//! - GET user by id p50 with 1,000 users loaded and with all of them (ratio, target ≤ 1.1),
//! - the first page of the tenant's users vs a cursor page deep in the list, reached by
//!   walking the cursor page after page (ratio, target ≤ 1.2),
//! - one `search` page over every user of the tenant: its time, DynamoDB calls, items read
//!   and read capacity — a substring search has no index, so it reads the partition,
//! - the loader's throughput.
//!
//! The router runs in this process on tokio's current-thread runtime, as the Lambdas do.
//!
//! Missed ratios print MISSED but do not fail the run: on DynamoDB Local (a Java process over
//! SQLite on the same shared cores) a read's time is the database's, not the API's, and its
//! B-tree depth, page cache and garbage collector move with the table's size in ways DynamoDB
//! (hash-partitioned, ~constant per item) does not. The design holds the ratio by construction
//! (a GET is one BatchGetItem by key; a cursor page is one bounded Query from an
//! `ExclusiveStartKey`, whatever its depth) and the integration tests assert those round trips;
//! this bench reports what Local does. It fails only when something answers wrongly.

use std::time::{Duration, Instant};

use api_tests::{TestApp, bulk, spawn_app};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity, Select};
use axum::http::StatusCode;
use shared::ids::{TenantId, UserId};
use shared::store::keys;

const BASE: &str = "/api/v1/admin/users";
/// The small collection the large one is compared with.
const SMALL: usize = 1_000;
const READS: usize = 400;
const PAGE_READS: usize = 100;
const SEARCHES: usize = 3;
/// The longest a reproduced search pass may run before the bench reports it unfinished.
const PASS_BUDGET: Duration = Duration::from_secs(90);
const PER_PAGE: usize = 50;

const GET_RATIO_TARGET: f64 = 1.1;
const PAGE_RATIO_TARGET: f64 = 1.2;

struct Summary {
    p50: Duration,
    p90: Duration,
}

fn summary(mut samples: Vec<Duration>) -> Summary {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    Summary {
        p50: at(0.5),
        p90: at(0.9),
    }
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn report(name: &str, s: &Summary) {
    println!("{name:<52} p50 {:>11}   p90 {:>11}", ms(s.p50), ms(s.p90));
}

fn ratio(name: &str, over: &Summary, under: &Summary, target: f64) -> f64 {
    let r = over.p50.as_secs_f64() / under.p50.as_secs_f64();
    let verdict = if r <= target { "met" } else { "MISSED" };
    println!("{name:<52} {r:>6.3}   (target ≤ {target}: {verdict})");
    r
}

/// Raw GetItem p50 with the app's own SDK client, over the same users the API reads.
async fn raw_get_item(app: &TestApp, users: &[UserId]) -> Summary {
    let store = app.state.store();
    let mut samples = Vec::with_capacity(READS);
    for i in 0..READS + 20 {
        let key = keys::user(&users[i * 7919 % users.len()]).to_item();
        let started = Instant::now();
        let out = store
            .client()
            .get_item()
            .table_name(store.table())
            .set_key(Some(key))
            .send()
            .await
            .expect("get item");
        samples.push(started.elapsed());
        assert!(out.item().is_some(), "the user item is where it was put");
    }
    summary(samples.split_off(20))
}

/// GET user by id through the router, spread over the users given (not one hot item).
async fn get_user(app: &TestApp, token: &str, users: &[UserId]) -> Summary {
    let mut samples = Vec::with_capacity(READS);
    for i in 0..READS + 20 {
        let path = format!("{BASE}/{}", users[i * 7919 % users.len()]);
        let started = Instant::now();
        let reply = app.get(&path, token).await;
        samples.push(started.elapsed());
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    summary(samples.split_off(20))
}

/// Two pages `PAGE_READS` times each, alternately, so the machine's other load falls on both
/// alike.
async fn pages(app: &TestApp, token: &str, one: &str, other: &str) -> (Summary, Summary) {
    let (mut ones, mut others) = (Vec::new(), Vec::new());
    for i in 0..2 * (PAGE_READS + 5) {
        let (path, samples) = if i % 2 == 0 {
            (one, &mut ones)
        } else {
            (other, &mut others)
        };
        let started = Instant::now();
        let reply = app.get(path, token).await;
        samples.push(started.elapsed());
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.body["items"].as_array().map(Vec::len), Some(PER_PAGE));
    }
    (summary(ones.split_off(5)), summary(others.split_off(5)))
}

/// Walks the tenant's list by cursor to `depth` pages and returns that page's path.
async fn walk_to(app: &TestApp, token: &str, list: &str, depth: usize) -> (String, Duration) {
    let started = Instant::now();
    let mut path = list.to_owned();
    for _ in 1..depth {
        let reply = app.get(&path, token).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let cursor = reply.body["pagination"]["next_cursor"]
            .as_str()
            .expect("a next page");
        path = format!("{list}&cursor={cursor}");
    }
    (path, started.elapsed())
}

/// What a `search` reads, reproduced with the same Query (partition, `contains` filter,
/// `Select=COUNT` so only the counts travel): with `want`, as the list reads — `Limit` = the
/// matches still wanted, call after call, until that many matched or the partition ends (a
/// Query's `Limit` bounds the items *read*, not the matches); without, as the total's count
/// reads — the whole partition. Without the API's SDK timeouts (a call over a deep start
/// key on DynamoDB Local can take longer than 3 s), but stopped after `PASS_BUDGET`.
/// Returns (calls, items read, matches, read capacity, finished).
async fn search_pass(
    app: &TestApp,
    tenant: &TenantId,
    needle: &str,
    want: Option<usize>,
) -> (u64, u64, u64, f64, bool) {
    let store = app.state.store();
    let client = aws_sdk_dynamodb::Client::from_conf(
        store
            .client()
            .config()
            .to_builder()
            .timeout_config(aws_sdk_dynamodb::config::timeout::TimeoutConfig::disabled())
            .build(),
    );
    let (mut calls, mut scanned, mut matched, mut capacity) = (0, 0, 0u64, 0.0);
    let mut start = None;
    let began = Instant::now();
    loop {
        if began.elapsed() > PASS_BUDGET {
            return (calls, scanned, matched, capacity, false);
        }
        let limit = want.map(|w| (w as u64 - matched).max(1) as i32);
        let out = client
            .query()
            .table_name(store.table())
            .index_name(keys::GSI1)
            .key_condition_expression("#pk = :pk")
            .filter_expression("contains(#search, :search)")
            .expression_attribute_names("#pk", keys::GSI1PK)
            .expression_attribute_names("#search", "search_text")
            .expression_attribute_values(":pk", AttributeValue::S(keys::users_of_tenant(tenant)))
            .expression_attribute_values(":search", AttributeValue::S(needle.to_lowercase()))
            .scan_index_forward(false)
            .select(Select::Count)
            .set_limit(limit)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("count query");
        calls += 1;
        scanned += out.scanned_count().max(0) as u64;
        matched += out.count().max(0) as u64;
        capacity += out
            .consumed_capacity()
            .and_then(|c| c.capacity_units())
            .unwrap_or(0.0);
        start = out.last_evaluated_key().cloned();
        let enough = want.is_some_and(|w| matched >= w as u64);
        if start.is_none() || enough {
            return (calls, scanned, matched, capacity, true);
        }
    }
}

/// One `search` first page, `times` times: (time, DynamoDB calls of the last, its total, or
/// the status it failed with). A 503 is reported, not fatal: it is what the API answers when
/// one of the search's many Query calls outlives the SDK's 3 s attempt timeout.
async fn search(
    app: &TestApp,
    token: &str,
    path: &str,
    times: usize,
) -> (Summary, u64, Result<u64, String>) {
    let mut samples = Vec::with_capacity(times);
    let mut calls = 0;
    let mut total = Err(String::new());
    for _ in 0..times {
        let before = app.calls();
        let started = Instant::now();
        let reply = app.get(path, token).await;
        samples.push(started.elapsed());
        calls = app.calls() - before;
        total = match reply.status {
            StatusCode::OK => Ok(reply.body["pagination"]["total"].as_u64().expect("total")),
            StatusCode::SERVICE_UNAVAILABLE => Err(format!("503 {}", reply.body)),
            other => panic!("search answered {other}: {}", reply.body),
        };
    }
    (summary(samples), calls, total)
}

/// A raw Query of the tenant's users (`Limit` = a page + 1, newest first) from the top, and
/// from after `after` (deep in the partition), alternately: what DynamoDB itself takes for a
/// deep page, next to what the API takes.
async fn raw_pages(app: &TestApp, tenant: &TenantId, after: &UserId) -> (Summary, Summary) {
    let store = app.state.store();
    let deep_start = std::collections::HashMap::from([
        (keys::PK.to_owned(), AttributeValue::S(keys::user(after).pk)),
        (keys::SK.to_owned(), AttributeValue::S(keys::user(after).sk)),
        (
            keys::GSI1PK.to_owned(),
            AttributeValue::S(keys::users_of_tenant(tenant)),
        ),
        (
            keys::GSI1SK.to_owned(),
            AttributeValue::S(after.to_string()),
        ),
    ]);
    let (mut tops, mut deeps) = (Vec::new(), Vec::new());
    for i in 0..2 * (PAGE_READS + 5) {
        let (start, samples) = if i % 2 == 0 {
            (None, &mut tops)
        } else {
            (Some(deep_start.clone()), &mut deeps)
        };
        let started = Instant::now();
        let out = store
            .client()
            .query()
            .table_name(store.table())
            .index_name(keys::GSI1)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", keys::GSI1PK)
            .expression_attribute_values(":pk", AttributeValue::S(keys::users_of_tenant(tenant)))
            .scan_index_forward(false)
            .limit(PER_PAGE as i32 + 1)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("query");
        samples.push(started.elapsed());
        assert_eq!(out.items().len(), PER_PAGE + 1);
    }
    (summary(tops.split_off(5)), summary(deeps.split_off(5)))
}

fn main() {
    let users: usize = std::env::var("SCALE_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    assert!(
        users >= 2 * SMALL,
        "SCALE_USERS must be at least {}",
        2 * SMALL
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let Some(app) = spawn_app().await else {
            eprintln!("no DynamoDB: set DYNAMODB_ENDPOINT or install DynamoDB Local (scripts/dynamodb-local install)");
            std::process::exit(1);
        };
        let root = app.root_token().await;
        let partner = app.create_partner(&root, "scale").await;
        let tenant = app.create_tenant(&root, &partner, "scale-hq").await;
        let tenant_id = TenantId::parse(&tenant).expect("tenant id");
        let store = app.state.store();
        println!("against DynamoDB Local on tokio's current_thread runtime; {users} users in one tenant, {READS} reads per p50");

        // 1,000 users.
        let small = bulk::load_users(store, &tenant_id, 0, SMALL)
            .await
            .expect("first load");
        let raw_small = raw_get_item(&app, &small.ids).await;
        report(&format!("raw GetItem, {SMALL} users"), &raw_small);
        let get_small = get_user(&app, &root, &small.ids).await;
        report(&format!("GET /users/{{id}}, {SMALL} users"), &get_small);

        // The rest.
        let rest = bulk::load_users(store, &tenant_id, SMALL, users - SMALL)
            .await
            .expect("second load");
        println!(
            "{:<52} {:.0} users/s ({} users, {:.1} s, {} BatchWriteItem calls, 2 items per user)",
            "bulk load (BatchWriteItem, 8 in flight)",
            rest.users_per_second(),
            rest.ids.len(),
            rest.elapsed.as_secs_f64(),
            rest.calls
        );
        let all: Vec<UserId> = small.ids.iter().chain(&rest.ids).cloned().collect();
        let shown = app.get(&format!("/api/v1/admin/tenants/{tenant}"), &root).await;
        assert_eq!(shown.body["user_count"], users as u64, "the counter was set once");
        let raw_large = raw_get_item(&app, &all).await;
        report(&format!("raw GetItem, {users} users"), &raw_large);
        let get_large = get_user(&app, &root, &all).await;
        report(&format!("GET /users/{{id}}, {users} users"), &get_large);
        ratio(
            &format!("GET by id p50: {users} ÷ {SMALL} users"),
            &get_large,
            &get_small,
            GET_RATIO_TARGET,
        );

        // Pages: the first, and one deep in the list reached by cursor.
        let list = format!("{BASE}?tenant_id={tenant}&per_page={PER_PAGE}");
        let depth = users / PER_PAGE - 1;
        let (deep_path, walked) = walk_to(&app, &root, &list, depth).await;
        println!(
            "{:<52} {:.1} s ({:.2} ms a page)",
            format!("walk to page {depth} by cursor"),
            walked.as_secs_f64(),
            walked.as_secs_f64() * 1000.0 / depth as f64
        );
        let (first, deep) = pages(&app, &root, &list, &deep_path).await;
        report(&format!("list page 1 of {PER_PAGE}"), &first);
        report(&format!("list page {depth} of {PER_PAGE} (cursor)"), &deep);
        ratio(
            &format!("page {depth} ÷ page 1 p50"),
            &deep,
            &first,
            PAGE_RATIO_TARGET,
        );
        // The user the deep page starts after: newest first, it is the last of page depth − 1.
        let after = &all[all.len() - (depth - 1) * PER_PAGE];
        let (raw_top, raw_deep) = raw_pages(&app, &tenant_id, after).await;
        report("raw Query, Limit 51, from the top", &raw_top);
        report(&format!("raw Query, Limit 51, after {} users", (depth - 1) * PER_PAGE), &raw_deep);
        let r = raw_deep.p50.as_secs_f64() / raw_top.p50.as_secs_f64();
        println!("{:<52} {r:>6.3}   (DynamoDB Local itself)", "raw deep ÷ raw top p50");

        // Search: no index, a filter over the tenant's whole partition.
        let one = format!("user{:06}@", users / 2);
        for (needle, what) in [(one.as_str(), "one match"), ("bulk.test", "every user")] {
            let path = format!("{BASE}?tenant_id={tenant}&per_page={PER_PAGE}&search={needle}");
            // The one-match search reads the whole partition in ~2,000 calls: once is enough.
            let times = if what == "one match" { 1 } else { SEARCHES };
            let (time, calls, total) = search(&app, &root, &path, times).await;
            report(&format!("search={needle} page 1 ({what})"), &time);
            match &total {
                Ok(total) => println!("{:<52} {calls} DynamoDB calls; total {total}", ""),
                Err(failed) => println!("{:<52} FAILED after {calls} DynamoDB calls: {failed}", ""),
            }
            let passes = [("list", Some(PER_PAGE + 1)), ("total", None)];
            for (part, want) in passes {
                let started = Instant::now();
                let (calls, read, matched, rcu, finished) =
                    search_pass(&app, &tenant_id, needle, want).await;
                println!(
                    "{:<52} {part}: {read} items read in {calls} Query calls, {:.1} s, {rcu:.0} RCU (eventually consistent), {matched} matched{}",
                    "",
                    started.elapsed().as_secs_f64(),
                    if finished { "" } else { " — UNFINISHED (stopped)" },
                );
                if let (Ok(total), true, None) = (&total, finished, want) {
                    assert_eq!(*total, matched, "the page's total is what the filter matches");
                }
            }
        }
    });
}
