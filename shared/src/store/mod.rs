//! The DynamoDB single table: one client, every call counted, items (de)serialized here and
//! nowhere else. `docs/data-model.md` lists every key and access pattern.

pub mod audit;
pub mod counters;
pub mod emails;
mod entity;
pub mod keys;
mod schema;
pub mod sessions;
mod signing;
pub mod tally;
mod tx;
pub mod write;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
pub use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::types::{KeysAndAttributes, TransactWriteItem};

pub use entity::{
    Entity, FREE_FORM, Loaded, SealedSigningKeyRecord, SigningKeyRecord, StartKey, decode,
    describe, encode, with_keys,
};
pub use keys::Key;
pub use tx::{Expr, Guard, Tx, n, s};

pub type Item = HashMap<String, AttributeValue>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Throttled, unreachable or timed out: worth retrying later (→ 503).
    #[error("DynamoDB unavailable: {0}")]
    Unavailable(String),
    /// A transaction's condition failed: the guard that refused it.
    #[error("transaction refused by its {0:?} guard")]
    Refused(Guard),
    /// A transaction was cancelled for another reason; one reason code per action, in order.
    #[error("transaction cancelled: {0:?}")]
    Cancelled(Vec<String>),
    #[error("item could not be (de)serialized: {0}")]
    Corrupt(String),
    /// A write larger than one transaction may carry, refused before it was sent (→ 409 with
    /// this text: nothing was written).
    #[error("{0}")]
    TooLarge(&'static str),
    #[error("DynamoDB call failed: {0}")]
    Other(String),
}

impl StoreError {
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }

    /// The guard whose condition refused the transaction, if that is why it was cancelled.
    pub fn refused_by(&self) -> Option<Guard> {
        match self {
            Self::Refused(guard) => Some(*guard),
            _ => None,
        }
    }

    fn from_sdk<E, R>(err: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let code = err.code().unwrap_or_default().to_owned();
        let transient = matches!(
            err,
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_)
        ) || matches!(
            code.as_str(),
            "ProvisionedThroughputExceededException"
                | "ThrottlingException"
                | "RequestLimitExceeded"
                | "InternalServerError"
                | "ServiceUnavailable"
                | "TransactionInProgressException"
        );
        let text = format!(
            "{code}: {}",
            aws_sdk_dynamodb::error::DisplayErrorContext(&err)
        );
        if transient {
            Self::Unavailable(text)
        } else {
            Self::Other(text)
        }
    }
}

pub(crate) fn corrupt(err: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(err.to_string())
}

/// How a conflicting transaction is retried before it becomes a 503.
const TRANSACTION_ATTEMPTS: u32 = 5;

#[derive(Clone)]
pub struct Store {
    client: Client,
    table: Arc<str>,
    calls: Arc<AtomicU64>,
    audit_retention_seconds: i64,
}

/// One page of a Query.
pub struct QueryPage {
    pub items: Vec<Item>,
    pub last_key: Option<Item>,
}

/// A Query on the table or one of its indexes, newest first.
#[derive(Clone, Debug)]
pub struct QuerySpec {
    pub index: Option<&'static str>,
    pub partition: (&'static str, String),
    /// Only items whose attribute `filter.0` equals `filter.1`.
    pub equals: Vec<(&'static str, String)>,
    /// Only items whose lower-cased search text contains this.
    pub contains: Option<String>,
    /// Only items whose attribute `.0` compares to `.2` by `.1` (`<`, `>=`; strings compare
    /// as DynamoDB does, bytewise: RFC 3339 timestamps in order).
    pub compare: Vec<(&'static str, Comparison, String)>,
}

/// A comparison a list filter may make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    Below,
    AtLeast,
    /// Equal to one of the values in `.2`, which lists them separated by [`ANY_OF_SEPARATOR`].
    AnyOf,
}

/// Separates the alternatives of a [`Comparison::AnyOf`] (no stored value holds it).
pub const ANY_OF_SEPARATOR: char = '\n';

impl Store {
    pub fn new(client: Client, table: impl Into<Arc<str>>) -> Self {
        Self {
            client,
            table: table.into(),
            calls: Arc::new(AtomicU64::new(0)),
            audit_retention_seconds: 365 * 86_400,
        }
    }

    pub fn with_audit_retention_days(mut self, days: u32) -> Self {
        self.audit_retention_seconds = i64::from(days) * 86_400;
        self
    }

    /// Items by key, in one strongly consistent batch.
    pub async fn load(&self, keys: &[Key]) -> Result<Loaded, StoreError> {
        Ok(Loaded::new(self.get_many(keys).await?))
    }

    /// Up to `limit` values of a list from `start`, each with the key to resume after it.
    pub async fn list<T: serde::de::DeserializeOwned>(
        &self,
        spec: &QuerySpec,
        start: Option<StartKey>,
        limit: usize,
    ) -> Result<Vec<(T, StartKey)>, StoreError> {
        let page = self
            .query(spec, start.map(StartKey::into_item), limit)
            .await?;
        page.items
            .into_iter()
            .map(|item| {
                let key = StartKey::of(&item, spec.index);
                decode::<T>(item).map(|value| (value, key))
            })
            .collect()
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// DynamoDB calls made so far through this store (tests assert round trips with it).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    fn count_call(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    /// Reads several items in one strongly consistent BatchGetItem (a revoked session must be
    /// seen on the very next request). Keys absent from the answer do not exist.
    #[tracing::instrument(skip_all, fields(keys = keys.len()))]
    pub async fn get_many(&self, keys: &[Key]) -> Result<HashMap<Key, Item>, StoreError> {
        let mut found = HashMap::with_capacity(keys.len());
        let mut unique: Vec<&Key> = Vec::with_capacity(keys.len());
        for key in keys {
            if !unique.contains(&key) {
                unique.push(key);
            }
        }
        // BatchGetItem takes at most 100 keys: larger reads go in batches of 100, one after
        // the other (only partner-wide counter reads get there).
        for batch in unique.chunks(100) {
            self.get_batch(batch, &mut found).await?;
        }
        Ok(found)
    }

    async fn get_batch(
        &self,
        unique: &[&Key],
        found: &mut HashMap<Key, Item>,
    ) -> Result<(), StoreError> {
        let mut pending = KeysAndAttributes::builder()
            .set_keys(Some(unique.iter().map(|k| k.to_item()).collect()))
            .consistent_read(true)
            .build()
            .map_err(|e| StoreError::Other(e.to_string()))?;
        for attempt in 0..5u32 {
            self.count_call();
            let out = self
                .client
                .batch_get_item()
                .request_items(self.table.as_ref(), pending.clone())
                .send()
                .await
                .map_err(StoreError::from_sdk)?;
            for item in out
                .responses
                .unwrap_or_default()
                .remove(self.table.as_ref())
                .unwrap_or_default()
            {
                if let Some(key) = Key::of_item(&item) {
                    found.insert(key, item);
                }
            }
            match out
                .unprocessed_keys
                .and_then(|mut u| u.remove(self.table.as_ref()))
            {
                Some(rest) if !rest.keys.is_empty() => {
                    pending = rest;
                    tokio::time::sleep(backoff(attempt)).await;
                }
                _ => return Ok(()),
            }
        }
        Err(StoreError::Unavailable(
            "batch read left keys unprocessed".into(),
        ))
    }

    /// Reads at most 100 items in one TransactGetItems: serializable with every transaction,
    /// so the items are seen all before or all after any transaction that wrote them. A
    /// BatchGetItem is only read-committed per item: it may see one item of a committing
    /// transaction written and another not yet (a cycle check reading a graph needs better).
    #[tracing::instrument(skip_all, fields(keys = keys.len()))]
    pub async fn load_isolated(&self, keys: &[Key]) -> Result<Loaded, StoreError> {
        let mut unique: Vec<&Key> = Vec::with_capacity(keys.len());
        for key in keys {
            if !unique.contains(&key) {
                unique.push(key);
            }
        }
        let gets = unique
            .iter()
            .map(|key| {
                aws_sdk_dynamodb::types::Get::builder()
                    .table_name(self.table.as_ref())
                    .set_key(Some(key.to_item()))
                    .build()
                    .map(|get| {
                        aws_sdk_dynamodb::types::TransactGetItem::builder()
                            .get(get)
                            .build()
                    })
                    .map_err(|e| StoreError::Other(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        for attempt in 0..TRANSACTION_ATTEMPTS {
            self.count_call();
            let result = self
                .client
                .transact_get_items()
                .set_transact_items(Some(gets.clone()))
                .send()
                .await;
            match result {
                Ok(out) => {
                    let items = out
                        .responses
                        .unwrap_or_default()
                        .into_iter()
                        .filter_map(|r| r.item)
                        .filter_map(|item| Key::of_item(&item).map(|key| (key, item)))
                        .collect();
                    return Ok(Loaded::new(items));
                }
                // A transaction writing these items is in flight: read again after it.
                Err(err)
                    if matches!(
                        err.as_service_error(),
                        Some(aws_sdk_dynamodb::operation::transact_get_items::TransactGetItemsError::TransactionCanceledException(c))
                            if c.cancellation_reasons().iter().any(|r| r.code() == Some("TransactionConflict"))
                    ) =>
                {
                    tracing::debug!(attempt, "isolated read conflicted, retrying");
                    tokio::time::sleep(backoff(attempt)).await;
                }
                Err(err) => return Err(StoreError::from_sdk(err)),
            }
        }
        Err(StoreError::Unavailable(
            "isolated read kept conflicting".into(),
        ))
    }

    pub async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        Ok(self.get_many(std::slice::from_ref(key)).await?.remove(key))
    }

    fn query_builder(
        &self,
        spec: &QuerySpec,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        let mut q = self
            .client
            .query()
            .table_name(self.table.as_ref())
            .set_index_name(spec.index.map(str::to_owned))
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", spec.partition.0)
            .expression_attribute_values(":pk", AttributeValue::S(spec.partition.1.clone()))
            .scan_index_forward(false);
        let mut filters = Vec::new();
        for (i, (name, value)) in spec.equals.iter().enumerate() {
            q = q
                .expression_attribute_names(format!("#f{i}"), *name)
                .expression_attribute_values(format!(":f{i}"), AttributeValue::S(value.clone()));
            filters.push(format!("#f{i} = :f{i}"));
        }
        for (i, (name, comparison, value)) in spec.compare.iter().enumerate() {
            q = q.expression_attribute_names(format!("#c{i}"), *name);
            let op = match comparison {
                Comparison::Below => "<",
                Comparison::AtLeast => ">=",
                Comparison::AnyOf => {
                    let mut names = Vec::new();
                    for (j, one) in value.split(ANY_OF_SEPARATOR).enumerate() {
                        q = q.expression_attribute_values(
                            format!(":c{i}_{j}"),
                            AttributeValue::S(one.to_owned()),
                        );
                        names.push(format!(":c{i}_{j}"));
                    }
                    filters.push(format!("#c{i} IN ({})", names.join(", ")));
                    continue;
                }
            };
            q = q.expression_attribute_values(format!(":c{i}"), AttributeValue::S(value.clone()));
            filters.push(format!("#c{i} {op} :c{i}"));
        }
        if let Some(needle) = &spec.contains {
            q = q
                .expression_attribute_names("#search", "search_text")
                .expression_attribute_values(":search", AttributeValue::S(needle.clone()));
            filters.push("contains(#search, :search)".to_owned());
        }
        if !filters.is_empty() {
            q = q.filter_expression(filters.join(" AND "));
        }
        q
    }

    /// Up to `limit` matching items after `start`, newest first. Unfiltered, each call asks for
    /// exactly what is missing. Filtered, a call sets no `Limit`: DynamoDB's `Limit` caps the
    /// items it *reads*, not those that match, so a rare match would cost a call per handful of
    /// items (measured: 1,981 calls over 100,000 users); without it a call reads up to 1 MB.
    /// Matches beyond `limit` are dropped and the page resumes after the last one kept.
    #[tracing::instrument(skip_all, fields(partition = %spec.partition.1, limit))]
    pub async fn query(
        &self,
        spec: &QuerySpec,
        start: Option<Item>,
        limit: usize,
    ) -> Result<QueryPage, StoreError> {
        let filtered =
            !spec.equals.is_empty() || spec.contains.is_some() || !spec.compare.is_empty();
        let mut items = Vec::new();
        let mut start = start;
        loop {
            self.count_call();
            let mut request = self
                .query_builder(spec)
                .set_exclusive_start_key(start.take());
            if !filtered {
                request = request.limit((limit - items.len()).max(1) as i32);
            }
            let out = request.send().await.map_err(StoreError::from_sdk)?;
            items.extend(out.items.unwrap_or_default());
            if items.len() > limit {
                items.truncate(limit);
                let last_key = items
                    .last()
                    .map(|item| StartKey::of(item, spec.index).into_item());
                return Ok(QueryPage { items, last_key });
            }
            match out.last_evaluated_key {
                Some(last) if items.len() < limit => start = Some(last),
                last_key => return Ok(QueryPage { items, last_key }),
            }
        }
    }

    /// How many items match (a COUNT query over one partition; used only for filtered lists,
    /// whose totals no counter can keep).
    pub async fn count(&self, spec: &QuerySpec) -> Result<u64, StoreError> {
        let mut total = 0u64;
        let mut start = None;
        loop {
            self.count_call();
            let out = self
                .query_builder(spec)
                .select(aws_sdk_dynamodb::types::Select::Count)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(StoreError::from_sdk)?;
            total += out.count.max(0) as u64;
            match out.last_evaluated_key {
                Some(last) => start = Some(last),
                None => return Ok(total),
            }
        }
    }

    /// Updates one item outside any transaction (a write with no audit event of its own: a
    /// session's last activity), if `condition` holds. `Ok(false)`: it did not.
    pub async fn update_if(
        &self,
        key: &Key,
        update: &str,
        condition: &str,
        expr: Expr,
    ) -> Result<bool, StoreError> {
        self.count_call();
        let result = self
            .client
            .update_item()
            .table_name(self.table.as_ref())
            .set_key(Some(key.to_item()))
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(err) => Err(StoreError::from_sdk(err)),
        }
    }

    /// A transaction on this table.
    pub fn tx(&self) -> Tx {
        Tx::new(self.table())
    }

    /// Commits a transaction all-or-nothing. A failed condition is reported as the guard that
    /// refused it. A `TransactionConflict` with another writer is retried with jittered backoff
    /// a bounded number of times, then reported as unavailable (→ 503).
    #[tracing::instrument(skip_all, fields(actions = tx.len()))]
    pub async fn transact(&self, tx: Tx) -> Result<(), StoreError> {
        let actions: Vec<TransactWriteItem> = tx.actions().to_vec();
        for attempt in 0..TRANSACTION_ATTEMPTS {
            self.count_call();
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(actions.clone()))
                .send()
                .await;
            let err = match result {
                Ok(_) => return Ok(()),
                Err(err) => err,
            };
            let reasons: Option<Vec<String>> = match err.as_service_error() {
                Some(aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c)) => Some(
                    c.cancellation_reasons()
                        .iter()
                        .map(|r| r.code().unwrap_or("None").to_owned())
                        .collect(),
                ),
                _ => None,
            };
            match reasons {
                Some(reasons) if reasons.iter().any(|r| r == "ConditionalCheckFailed") => {
                    return Err(match tx.refusing_guard(&reasons) {
                        Some(guard) => StoreError::Refused(guard),
                        None => StoreError::Cancelled(reasons),
                    });
                }
                Some(reasons) if reasons.iter().any(|r| r == "TransactionConflict") => {
                    tracing::debug!(attempt, "transaction conflict, retrying");
                    tokio::time::sleep(backoff(attempt)).await;
                }
                Some(reasons) => return Err(StoreError::Cancelled(reasons)),
                None => return Err(StoreError::from_sdk(err)),
            }
        }
        Err(StoreError::Unavailable(
            "transaction kept conflicting".into(),
        ))
    }
}

/// Exponential backoff with full jitter: 0..(10 ms · 2^attempt).
fn backoff(attempt: u32) -> Duration {
    let cap_ms = 10u64 << attempt.min(6);
    Duration::from_millis(crate::secrets::random_below(cap_ms + 1))
}

/// Builds the SDK client once (in `main`): the configured region, and the local endpoint when
/// one is set. It must never happen per request.
pub async fn connect(config: &crate::config::Config) -> Store {
    use aws_sdk_dynamodb::config::{BehaviorVersion, Region, timeout::TimeoutConfig};
    // Bounded waits: an unreachable or stalled DynamoDB becomes a 503 within seconds instead
    // of holding the request until API Gateway's 30 s limit.
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(3))
        .operation_timeout(Duration::from_secs(8))
        .build();
    let mut builder = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(config.region.clone()))
        .timeout_config(timeouts)
        .credentials_provider(credentials(config).await);
    if let Some(endpoint) = &config.dynamodb_endpoint {
        builder = builder.endpoint_url(endpoint);
    }
    Store::new(
        Client::from_conf(builder.build()),
        config.table_name.as_str(),
    )
    .with_audit_retention_days(config.audit_retention_days)
}

/// DynamoDB Local accepts any credentials: dummies when none are configured for it.
fn local_dummies(config: &crate::config::Config) -> Option<aws_sdk_dynamodb::config::Credentials> {
    (config.dynamodb_endpoint.is_some() && std::env::var_os("AWS_ACCESS_KEY_ID").is_none()).then(
        || {
            aws_sdk_dynamodb::config::Credentials::new(
                "local",
                "local",
                None,
                None,
                "scaikey-local",
            )
        },
    )
}

/// A Lambda's credentials: its role's, which the runtime puts in the environment for the life
/// of the execution environment (as the SDK's environment provider reads them).
#[cfg(not(feature = "credentials-chain"))]
pub(crate) async fn credentials(
    config: &crate::config::Config,
) -> aws_sdk_dynamodb::config::SharedCredentialsProvider {
    use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider};
    let from_env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let credentials = local_dummies(config).unwrap_or_else(|| {
        Credentials::new(
            from_env("AWS_ACCESS_KEY_ID").unwrap_or_default(),
            from_env("AWS_SECRET_ACCESS_KEY").unwrap_or_default(),
            from_env("AWS_SESSION_TOKEN"),
            None,
            "environment",
        )
    });
    SharedCredentialsProvider::new(credentials)
}

/// An operator's credentials: the SDK's whole chain (environment, profiles, SSO, processes,
/// web identity, container and instance roles).
#[cfg(feature = "credentials-chain")]
pub(crate) async fn credentials(
    config: &crate::config::Config,
) -> aws_sdk_dynamodb::config::SharedCredentialsProvider {
    use aws_sdk_dynamodb::config::SharedCredentialsProvider;
    if let Some(dummies) = local_dummies(config) {
        return SharedCredentialsProvider::new(dummies);
    }
    SharedCredentialsProvider::new(
        aws_config::default_provider::credentials::DefaultCredentialsChain::builder()
            .region(aws_config::Region::new(config.region.clone()))
            .build()
            .await,
    )
}
