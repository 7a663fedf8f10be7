//! A bulk loader of users for the scale bench and tests: the items the users group writes
//! (`users::store::user_item`, the per-tenant email marker), put with `BatchWriteItem` 25 at a
//! time, several calls in flight, then the tenant's `user_count` and the platform `USERS`
//! counter moved once for the whole load — not 100,000 API calls with a transaction and an
//! argon2 hash each.
//!
//! What it leaves out on purpose: the `user.create` audit events (a bulk import is no admin's
//! action; nothing reads events to list, count or get users) and the partner's
//! `max_users_per_tenant` check (the caller picks a tenant without a limit).

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use shared::hierarchy::User;
use shared::ids::{TenantId, UserId};
use shared::store::counters::Counter;
use shared::store::{Expr, Guard, Item, Store, keys, n};
use shared::time::Timestamp;

/// DynamoDB's limit of items per `BatchWriteItem`.
const BATCH: usize = 25;
/// Calls in flight at once.
const IN_FLIGHT: usize = 8;
/// Retries of a batch's unprocessed items (throttling) before the load gives up.
const ATTEMPTS: u32 = 10;

const FIRST_NAMES: [&str; 8] = ["Ann", "Bob", "Cleo", "Dan", "Eve", "Finn", "Gus", "Hana"];

/// The `n`-th bulk user of a tenant: email `user<n:06>@bulk.test`, a first name out of eight,
/// last name `Load<n:06>` — so a search for `user000042@` finds exactly one, and `bulk.test`
/// every one.
pub fn user(tenant: &TenantId, index: usize, now: Timestamp) -> User {
    let mut user = User::new(
        UserId::generate(),
        tenant.clone(),
        format!("user{index:06}@bulk.test"),
        now,
    );
    user.first_name = Some(FIRST_NAMES[index % FIRST_NAMES.len()].to_owned());
    user.last_name = Some(format!("Load{index:06}"));
    user
}

/// What a load did.
pub struct Load {
    /// The users' ids, oldest first (as loaded; ids are time-ordered).
    pub ids: Vec<UserId>,
    pub elapsed: Duration,
    /// `BatchWriteItem` calls, retries included.
    pub calls: u64,
}

impl Load {
    pub fn users_per_second(&self) -> f64 {
        self.ids.len() as f64 / self.elapsed.as_secs_f64()
    }
}

/// The items of one user as the users group's create writes them: the user item and its
/// per-tenant email claim.
fn items_of(user: &User) -> Result<[Item; 2], String> {
    let item = users::store::user_item(user, None).map_err(|e| e.to_string())?;
    let claim = shared::store::emails::claim_item(&user.tenant_id, &user.email, user.id.as_str());
    Ok([item, claim])
}

/// Puts `items` with one `BatchWriteItem`, retrying what DynamoDB leaves unprocessed.
async fn put_batch(store: &Store, items: Vec<Item>) -> Result<u64, String> {
    let mut pending: Vec<WriteRequest> = items
        .into_iter()
        .map(|item| {
            PutRequest::builder()
                .set_item(Some(item))
                .build()
                .map(|put| WriteRequest::builder().put_request(put).build())
                .map_err(|e| e.to_string())
        })
        .collect::<Result<_, _>>()?;
    let mut calls = 0;
    for attempt in 0..ATTEMPTS {
        calls += 1;
        let out = store
            .client()
            .batch_write_item()
            .request_items(store.table(), pending)
            .send()
            .await
            .map_err(|e| format!("BatchWriteItem: {e:?}"))?;
        pending = out
            .unprocessed_items()
            .and_then(|u| u.get(store.table()))
            .cloned()
            .unwrap_or_default();
        if pending.is_empty() {
            return Ok(calls);
        }
        tokio::time::sleep(Duration::from_millis(20 << attempt.min(6))).await;
    }
    Err(format!(
        "{} items still unprocessed after {ATTEMPTS} attempts",
        pending.len()
    ))
}

/// Loads `count` users into `tenant`, numbered from `first` (a second load continues the
/// numbering so emails stay unique), then moves the tenant's `user_count` (and `version`,
/// as every user create does) and the platform `USERS` counter by `count` in one transaction.
pub async fn load_users(
    store: &Store,
    tenant: &TenantId,
    first: usize,
    count: usize,
) -> Result<Load, String> {
    let started = Instant::now();
    let now = Timestamp::now();
    let users: Vec<User> = (first..first + count)
        .map(|i| user(tenant, i, now))
        .collect();
    let ids: Vec<UserId> = users.iter().map(|u| u.id.clone()).collect();
    let mut batches: Vec<Vec<Item>> = Vec::new();
    let mut batch = Vec::with_capacity(BATCH);
    for u in &users {
        for item in items_of(u)? {
            if batch.len() == BATCH {
                batches.push(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)));
            }
            batch.push(item);
        }
    }
    if !batch.is_empty() {
        batches.push(batch);
    }
    drop(users);
    // Workers take the next batch from one queue, so a slow call holds up only its worker.
    let queue = Arc::new(std::sync::Mutex::new(batches));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..IN_FLIGHT {
        let (store, queue) = (store.clone(), queue.clone());
        workers.spawn(async move {
            let mut calls = 0;
            loop {
                let next = queue.lock().map_err(|e| e.to_string())?.pop();
                match next {
                    Some(items) => calls += put_batch(&store, items).await?,
                    None => return Ok::<u64, String>(calls),
                }
            }
        });
    }
    let mut calls = 0;
    while let Some(done) = workers.join_next().await {
        calls += done.map_err(|e| e.to_string())??;
    }
    let mut tx = store.tx();
    let added = i64::try_from(count).map_err(|e| e.to_string())?;
    tx.update_if(
        &keys::tenant(tenant),
        "ADD user_count :n, version :one",
        Guard::Parent("tenant"),
        Some("attribute_exists(PK)"),
        Expr::default().value(":n", n(added)).value(":one", n(1)),
    )
    .map_err(|e| e.to_string())?;
    Counter::Users
        .add(&mut tx, added)
        .map_err(|e| e.to_string())?;
    store.transact(tx).await.map_err(|e| e.to_string())?;
    Ok(Load {
        ids,
        elapsed: started.elapsed(),
        calls,
    })
}
