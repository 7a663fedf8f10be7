//! The test harness: every test gets its own app over its own fresh table, with typed helpers
//! (`app.login(..)`, `app.create_partner(..)`) — in the spirit of zero-to-production's
//! `spawn_app`.
//!
//! The database: `DYNAMODB_ENDPOINT` if set; else LocalStack through testcontainers when a
//! Docker engine answers; else DynamoDB Local started once per test binary from the npm
//! package. With `REQUIRE_DYNAMODB=1` a missing database fails the test instead of skipping.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use aws_sdk_dynamodb::types::AttributeValue;
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use scaikey_cli::ops::{self, NewAdmin};
use serde_json::{Value, json};
use shared::AppState;
use shared::access::AdminRole;
use shared::config::Config;
use shared::ids::{PartnerId, TenantId};
use tower::ServiceExt;

pub mod bulk;
pub mod lambda;

pub const ADMIN_EMAIL: &str = "root@platform.test";
pub const ADMIN_PASSWORD: &str = "root-password-for-tests";

static ENDPOINT: OnceLock<Option<String>> = OnceLock::new();
/// Whether `ENDPOINT` is a LocalStack (which also serves KMS).
static LOCALSTACK: OnceLock<bool> = OnceLock::new();
/// The KMS key the tests seal signing keys under, created once per test binary.
static KMS_TEST_KEY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn localstack_endpoint() -> Option<String> {
    // Without a Docker engine this fails within milliseconds.
    std::thread::spawn(|| {
        let runtime = tokio::runtime::Runtime::new().ok()?;
        runtime.block_on(async {
            use testcontainers_modules::localstack::LocalStack;
            use testcontainers_modules::testcontainers::runners::AsyncRunner;
            let container = LocalStack::default().start().await.ok()?;
            let port = container.get_host_port_ipv4(4566).await.ok()?;
            // Kept for the life of the test process.
            std::mem::forget(container);
            let _ = LOCALSTACK.set(true);
            Some(format!("http://127.0.0.1:{port}"))
        })
    })
    .join()
    .ok()
    .flatten()
}

fn dynamodb_local_endpoint() -> Option<String> {
    let script = repo_root().join("scripts/dynamodb-local");
    let out = std::process::Command::new(&script)
        .arg("jar-dir")
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let dir = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    // A watchdog shell stops Java when this test process ends.
    let script = format!(
        "java -Djava.library.path='{dir}/DynamoDBLocal_lib' -jar '{dir}/DynamoDBLocal.jar' -inMemory -sharedDb -disableTelemetry -port {port} >/dev/null 2>&1 & J=$!; \
         while kill -0 {pid} 2>/dev/null; do sleep 1; done; kill $J",
        pid = std::process::id()
    );
    // Run from the temp dir so nothing Java writes lands in the checkout.
    std::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(std::env::temp_dir())
        .spawn()
        .ok()?;
    for _ in 0..150 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(format!("http://127.0.0.1:{port}"));
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    None
}

fn endpoint() -> Option<String> {
    ENDPOINT
        .get_or_init(|| {
            std::env::var("DYNAMODB_ENDPOINT")
                .ok()
                .filter(|e| !e.is_empty())
                .or_else(localstack_endpoint)
                .or_else(dynamodb_local_endpoint)
        })
        .clone()
}

/// The environment naming the key-encryption key a test app seals its signing keys under:
/// KMS at `KMS_ENDPOINT` (moto, started by scripts/test) or in LocalStack — the code path the
/// deployed admin-auth takes; else, unless `REQUIRE_KMS=1`, a local key in a temp file.
async fn key_encryption_env() -> Vec<(String, String)> {
    let endpoint = std::env::var("KMS_ENDPOINT")
        .ok()
        .filter(|e| !e.is_empty())
        .or_else(|| {
            LOCALSTACK
                .get()
                .copied()
                .unwrap_or(false)
                .then(endpoint)
                .flatten()
        });
    if let Some(endpoint) = endpoint {
        let key_id = KMS_TEST_KEY
            .get_or_init(|| create_kms_key(endpoint.clone()))
            .await
            .clone();
        return vec![
            ("SCAIKEY_KMS_KEY_ID".into(), key_id),
            ("KMS_ENDPOINT".into(), endpoint),
        ];
    }
    if std::env::var("REQUIRE_KMS").is_ok_and(|v| v == "1") {
        panic!("REQUIRE_KMS=1 but KMS_ENDPOINT is not set (scripts/test starts scripts/kms-local)");
    }
    vec![(
        "SCAIKEY_LOCAL_KEK_FILE".into(),
        local_kek_file().display().to_string(),
    )]
}

/// A new 256-bit local key-encryption key in a temp file (as scripts/dev writes one).
pub fn local_kek_file() -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "scaikey-test-kek-{}",
        uuid::Uuid::now_v7().simple()
    ));
    let key = shared::secrets::random_bytes::<32>();
    std::fs::write(&path, data_encoding::BASE64.encode(&key)).expect("local KEK file");
    path
}

/// A KMS client for the emulator at `endpoint` (any credentials).
pub fn kms_client(endpoint: &str) -> aws_sdk_kms::Client {
    let config = aws_sdk_kms::Config::builder()
        .behavior_version(aws_sdk_kms::config::BehaviorVersion::latest())
        .region(aws_sdk_kms::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_kms::config::Credentials::new(
            "local", "local", None, None, "tests",
        ))
        .endpoint_url(endpoint)
        .build();
    aws_sdk_kms::Client::from_conf(config)
}

/// A new symmetric KMS key in the emulator: its ARN.
pub async fn create_kms_key(endpoint: String) -> String {
    kms_client(&endpoint)
        .create_key()
        .description("scaikey tests: signing keys")
        .send()
        .await
        .expect("the KMS emulator creates a key")
        .key_metadata
        .and_then(|m| m.arn)
        .expect("a key ARN")
}

pub struct TestApp {
    pub state: AppState,
    pub router: Router,
    pub platform_partner: PartnerId,
    pub platform_tenant: TenantId,
}

/// A response as the tests see it.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn id(&self) -> String {
        self.body["id"].as_str().unwrap_or_default().to_owned()
    }
}

/// A new app over its own table, bootstrapped with a super admin; `None` (skip) when there is
/// no database and `REQUIRE_DYNAMODB` is not set.
pub async fn spawn_app() -> Option<TestApp> {
    spawn_app_with(&[]).await
}

pub async fn spawn_app_with(extra_env: &[(&str, &str)]) -> Option<TestApp> {
    let Some(endpoint) = endpoint() else {
        if std::env::var("REQUIRE_DYNAMODB").is_ok_and(|v| v == "1") {
            panic!("REQUIRE_DYNAMODB=1 but no DynamoDB could be reached or started");
        }
        eprintln!("skipping: no DynamoDB (set DYNAMODB_ENDPOINT or install DynamoDB Local)");
        return None;
    };
    let table = format!("t{}", uuid::Uuid::now_v7().simple());
    let mut env: Vec<(String, String)> = vec![
        ("TABLE_NAME".into(), table),
        ("DYNAMODB_ENDPOINT".into(), endpoint),
        ("AWS_REGION".into(), "us-east-1".into()),
    ];
    env.extend(key_encryption_env().await);
    env.extend(
        extra_env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let config =
        Config::from_lookup(|name| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
            .expect("test config is valid");
    // SAFETY-free: credentials for DynamoDB Local are any strings.
    let store = shared::store::connect(&config).await;
    store.create_table().await.expect("table created");
    let kek = shared::sealing::Kek::from_config(&config)
        .await
        .expect("the key-encryption key");
    let state = AppState::new(config, store, kek);
    ops::ensure_keys(&state).await.expect("keys");
    // As a function's cold start does: the credentials key opened before the first request.
    state.credentials().preload().await;
    let (platform_partner, platform_tenant, _) =
        ops::ensure_platform(&state).await.expect("platform");
    ops::create_admin(
        &state,
        NewAdmin {
            email: ADMIN_EMAIL.into(),
            password: ADMIN_PASSWORD.into(),
            role: AdminRole::SuperAdmin,
            partner_id: None,
            tenant_id: None,
        },
    )
    .await
    .expect("super admin");
    let router = scaikey_cli::app(state.clone());
    Some(TestApp {
        state,
        router,
        platform_partner,
        platform_tenant,
    })
}

/// An app whose DynamoDB endpoint refuses connections (nothing listens on the port).
pub async fn spawn_app_without_database() -> TestApp {
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let endpoint = format!("http://127.0.0.1:{closed_port}");
    let config = Config::from_lookup(|name| match name {
        "DYNAMODB_ENDPOINT" => Some(endpoint.clone()),
        "AWS_REGION" => Some("us-east-1".into()),
        _ => None,
    })
    .expect("test config is valid");
    let store = shared::store::connect(&config).await;
    let state = AppState::new(config, store, None);
    TestApp {
        router: scaikey_cli::app(state.clone()),
        state,
        platform_partner: PartnerId::generate(),
        platform_tenant: TenantId::generate(),
    }
}

impl TestApp {
    /// DynamoDB calls made so far.
    pub fn calls(&self) -> u64 {
        self.state.store().calls()
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("router answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        Reply {
            status,
            headers,
            body: body_value(&bytes),
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut builder = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => builder
                .header("content-type", "application/json")
                .body(Body::from(body.to_string())),
            None => builder.body(Body::empty()),
        };
        self.send(request.expect("request builds")).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    /// Moves a tenant to another partner (Update Tenant with `partner_id`), asserting it moved.
    pub async fn move_tenant(&self, token: &str, tenant: &str, partner: &str) {
        let moved = self
            .patch(
                &format!("/api/v1/admin/tenants/{tenant}"),
                token,
                serde_json::json!({ "partner_id": partner }),
            )
            .await;
        assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    }

    pub async fn delete(&self, path: &str, token: &str) -> Reply {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    pub async fn login_reply(&self, email: &str, password: &str) -> Reply {
        self.call(
            Method::POST,
            "/api/v1/admin/auth/login",
            None,
            Some(json!({"email": email, "password": password})),
        )
        .await
    }

    /// A login from a given client address (`X-Forwarded-For`, which the local server takes
    /// as the source address; on Lambda, API Gateway's `sourceIp` wins).
    pub async fn login_from(&self, address: &str, email: &str, password: &str) -> Reply {
        let request = Request::builder()
            .method(Method::POST)
            .uri("/api/v1/admin/auth/login")
            .header("content-type", "application/json")
            .header("x-forwarded-for", address)
            .body(Body::from(
                json!({"email": email, "password": password}).to_string(),
            ))
            .expect("request builds");
        self.send(request).await
    }

    pub async fn refresh_reply(&self, refresh_token: &str) -> Reply {
        self.call(
            Method::POST,
            "/api/v1/admin/auth/refresh",
            None,
            Some(json!({ "refresh_token": refresh_token })),
        )
        .await
    }

    /// Logs in and returns the access token.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let reply = self.login_reply(email, password).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "login of {email} failed: {}",
            reply.body
        );
        reply.body["access_token"]
            .as_str()
            .expect("access token")
            .to_owned()
    }

    pub async fn root_token(&self) -> String {
        self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await
    }

    pub async fn create_partner(&self, token: &str, slug: &str) -> String {
        let reply = self
            .post("/api/v1/admin/partners", token, json!({"name": format!("Partner {slug}"), "slug": slug, "contact_email": format!("ops@{slug}.test")}))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply.id()
    }

    pub async fn create_tenant(&self, token: &str, partner: &str, slug: &str) -> String {
        let reply = self
            .post(
                "/api/v1/admin/tenants",
                token,
                json!({"name": format!("Tenant {slug}"), "slug": slug, "partner_id": partner}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply.id()
    }

    /// A partner's `tenant_count` as the API reports it.
    pub async fn tenant_count(&self, token: &str, partner: &str) -> Value {
        self.get(&format!("/api/v1/admin/partners/{partner}"), token)
            .await
            .body["tenant_count"]
            .clone()
    }

    pub async fn jwks(&self) -> Reply {
        self.call(
            Method::GET,
            "/api/v1/platform/.well-known/jwks.json",
            None,
            None,
        )
        .await
    }

    /// Creates an admin through the CLI's operation and returns a token for it.
    pub async fn admin_token(
        &self,
        email: &str,
        role: AdminRole,
        partner: Option<&str>,
        tenant: Option<&str>,
    ) -> String {
        let password = "admin-password-for-tests".to_owned();
        ops::create_admin(
            &self.state,
            NewAdmin {
                email: email.into(),
                password: password.clone(),
                role,
                partner_id: partner.map(|p| PartnerId::parse(p).expect("partner id")),
                tenant_id: tenant.map(|t| TenantId::parse(t).expect("tenant id")),
            },
        )
        .await
        .expect("admin created")
        .expect("email was free");
        self.login(email, &password).await
    }
}

impl TestApp {
    /// Every item of this app's table, keyed by `PK SK`, as JSON — to prove that a refused
    /// request wrote nothing. (A Scan: fine in a test, never on a request path.)
    pub async fn snapshot(&self) -> BTreeMap<String, Value> {
        let store = self.state.store();
        let mut items = BTreeMap::new();
        let mut start = None;
        loop {
            let page = store
                .client()
                .scan()
                .table_name(store.table())
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("scan");
            for item in page.items() {
                let key = format!("{} {}", text_of(item, "PK"), text_of(item, "SK"));
                let value = item
                    .iter()
                    .map(|(name, v)| (name.clone(), stored_json(name, v)))
                    .collect();
                items.insert(key, Value::Object(value));
            }
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                return items;
            }
        }
    }

    /// After a race on one slug: the winner holds the marker, and the table has exactly one
    /// `kind` item with that slug and one `<kind>.create` event for it — the losers' failed
    /// transactions left nothing.
    pub async fn assert_single_winner(&self, kind: &str, slug: &str, replies: &[Reply]) {
        let winner = replies
            .iter()
            .find(|r| r.status == StatusCode::CREATED)
            .map(Reply::id)
            .expect("one create won");
        let table = self.snapshot().await;
        let upper = kind.to_uppercase();
        let marker = &table[&format!("UNIQUE#{upper}_SLUG#{slug} UNIQUE")];
        assert_eq!(
            marker["owner_id"],
            winner.as_str(),
            "the winner holds the marker"
        );
        let items = table
            .values()
            .filter(|i| i["SK"] == upper.as_str() && i["slug"] == slug)
            .count();
        assert_eq!(items, 1, "one {kind} with slug {slug}");
        let events = table
            .values()
            .filter(|i| {
                i["SK"] == "EVENT"
                    && i["action"] == format!("{kind}.create").as_str()
                    && i["changes"]["slug"]["to"] == slug
            })
            .count();
        assert_eq!(events, 1, "one {kind}.create event for {slug}");
    }

    /// The audit events filed under a partner, oldest first, as stored.
    pub async fn audit_events_of_partner(&self, partner: &str) -> Vec<Value> {
        let store = self.state.store();
        let page = store
            .client()
            .query()
            .table_name(store.table())
            .index_name("GSI2")
            .key_condition_expression("GSI2PK = :pk")
            .expression_attribute_values(
                ":pk",
                AttributeValue::S(format!("PARTNER#{partner}#AUDIT")),
            )
            .send()
            .await
            .expect("query audit events");
        page.items()
            .iter()
            .map(|item| shared::store::decode(item.clone()).expect("event as JSON"))
            .collect()
    }
}

/// A top-level attribute as JSON; a free-form object stored as JSON text (`FREE_FORM`) as the
/// object it holds.
fn stored_json(name: &str, value: &AttributeValue) -> Value {
    match value {
        AttributeValue::S(text) if shared::store::FREE_FORM.contains(&name) => {
            serde_json::from_str(text).expect("free-form JSON text")
        }
        other => attribute_json(other),
    }
}

/// An attribute as JSON; binary values (key material) as hex.
fn attribute_json(value: &AttributeValue) -> Value {
    match value {
        AttributeValue::B(bytes) => Value::String(data_encoding::HEXLOWER.encode(bytes.as_ref())),
        AttributeValue::M(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), attribute_json(v)))
                .collect(),
        ),
        AttributeValue::L(list) => Value::Array(list.iter().map(attribute_json).collect()),
        other => serde_dynamo::from_attribute_value(other.clone()).unwrap_or(Value::Null),
    }
}

fn text_of(item: &std::collections::HashMap<String, AttributeValue>, name: &str) -> String {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

/// A response body as the tests see it: JSON if it parses, else its text; `null` when empty.
pub(crate) fn body_value(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(bytes)
            .unwrap_or(Value::String(String::from_utf8_lossy(bytes).into()))
    }
}

/// `{"detail": "<text>"}`.
pub fn detail(text: &str) -> Value {
    json!({ "detail": text })
}

/// The locations a 422 names.
pub fn locs(reply: &Reply) -> Vec<Value> {
    reply.body["detail"]
        .as_array()
        .unwrap_or_else(|| panic!("a validation error: {}", reply.body))
        .iter()
        .map(|d| d["loc"].clone())
        .collect()
}

/// A one-time client secret as shown: ≥ 256 bits, URL-safe.
pub fn assert_client_secret(secret: &Value) -> String {
    let secret = secret
        .as_str()
        .unwrap_or_else(|| panic!("a client secret: {secret}"));
    assert!(secret.len() >= 43, "{secret} is short");
    assert!(
        secret
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "{secret} is not URL-safe"
    );
    secret.to_owned()
}

/// Sends a write that must be refused with 422 naming `field` (`loc[1]`), and proves it
/// wrote nothing.
pub async fn assert_invalid(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Value,
    field: &str,
) -> Reply {
    let before = app.snapshot().await;
    let reply = app
        .call(method, path, Some(token), Some(body.clone()))
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{body}: {}",
        reply.body
    );
    assert!(
        locs(&reply).iter().any(|l| l[0] == "body" && l[1] == field),
        "{body}: expected a problem at {field}, got {}",
        reply.body
    );
    assert_eq!(app.snapshot().await, before, "{body} wrote something");
    reply
}

/// The items written since `before`, after proving no item of `before` changed or went.
pub async fn added_since(app: &TestApp, before: &BTreeMap<String, Value>) -> Vec<Value> {
    let after = app.snapshot().await;
    for (key, value) in before {
        assert_eq!(after.get(key), Some(value), "{key} changed");
    }
    after
        .into_iter()
        .filter(|(k, _)| !before.contains_key(k))
        .map(|(_, v)| v)
        .collect()
}

/// Drives several requests at once on this task (concurrently, as racing clients would).
pub async fn join_all<Fut: std::future::Future<Output = Reply>>(futures: Vec<Fut>) -> Vec<Reply> {
    let mut pinned: Vec<std::pin::Pin<Box<Fut>>> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<Reply>> = (0..pinned.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in pinned.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(r) => out[i] = Some(r),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter()
        .map(|r| r.expect("every future finished"))
        .collect()
}

impl TestApp {
    /// A user of `tenant` written straight to the table (the users API is another group's):
    /// the stored form the session check and the groups read. Returns its id.
    pub async fn put_user(&self, tenant: &str, email: &str) -> String {
        use shared::hierarchy::User;
        use shared::ids::UserId;
        use shared::store::{Entity, keys};
        let now = shared::time::Timestamp::now();
        let tenant = TenantId::parse(tenant).expect("tenant id");
        let user = User::new(UserId::generate(), tenant.clone(), email.to_owned(), now);
        let mut item = user.to_item().expect("user item");
        item.insert(
            keys::GSI1PK.into(),
            AttributeValue::S(keys::users_of_tenant(&tenant)),
        );
        item.insert(keys::GSI1SK.into(), AttributeValue::S(user.id.to_string()));
        let store = self.state.store();
        store
            .client()
            .put_item()
            .table_name(store.table())
            .set_item(Some(item))
            .send()
            .await
            .expect("user written");
        user.id.to_string()
    }

    /// A partner's dashboard count of `kind` as stored, beside the sum of the same count of
    /// `tenants` (users: their `user_count`; the others: their tenant counters).
    pub async fn partner_count(
        &self,
        kind: shared::store::tally::PartnerCount,
        partner: &str,
        tenants: &[&str],
    ) -> (i64, i64) {
        use shared::store::tally::PartnerCount;
        use shared::store::{Key, keys};
        let table = self.snapshot().await;
        let number = |key: Key, attribute: &str| {
            table
                .get(&format!("{} {}", key.pk, key.sk))
                .and_then(|item| item[attribute].as_f64())
                .map_or(0, |n| n as i64)
        };
        let sum = tenants
            .iter()
            .map(|t| {
                let t = TenantId::parse(t).expect("tenant id");
                match kind {
                    PartnerCount::Users => number(keys::tenant(&t), "user_count"),
                    PartnerCount::Groups => number(keys::group_count_of_tenant(&t), "count"),
                    PartnerCount::TenantApps => number(keys::app_count_of_tenant(&t), "count"),
                    PartnerCount::Agents => number(keys::agent_count_of_tenant(&t), "count"),
                }
            })
            .sum();
        let partner = PartnerId::parse(partner).expect("partner id");
        (number(kind.key(&partner), "count"), sum)
    }

    /// Marks a user deleted as the users group will (`status: "DELETED"`).
    pub async fn mark_user_deleted(&self, user: &str) {
        let store = self.state.store();
        store
            .client()
            .update_item()
            .table_name(store.table())
            .set_key(Some(
                shared::store::keys::user(&shared::ids::UserId::parse(user).expect("user id"))
                    .to_item(),
            ))
            .update_expression("SET #s = :d")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":d", AttributeValue::S("DELETED".into()))
            .send()
            .await
            .expect("user marked deleted");
    }

    /// Creates a group in `tenant` and returns its id.
    pub async fn create_group(&self, token: &str, tenant: &str, name: &str) -> String {
        let reply = self
            .post(
                "/api/v1/admin/groups",
                token,
                json!({"tenant_id": tenant, "name": name}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply.id()
    }

    /// Adds a member (`{"user_id": …}` or `{"group_id": …}`) to a group.
    pub async fn add_member(&self, token: &str, group: &str, member: Value) -> Reply {
        self.post(
            &format!("/api/v1/admin/groups/{group}/members"),
            token,
            member,
        )
        .await
    }
}

/// The hierarchy most group tests start from: two partners, acme (tenants acme-hq and
/// acme-lab) and globex (tenant globex-hq), and a super admin's token.
pub struct World {
    pub app: TestApp,
    pub root: String,
    pub acme: String,
    pub globex: String,
    pub acme_hq: String,
    pub acme_lab: String,
    pub globex_hq: String,
}

/// `World` on a fresh table; `None` when no DynamoDB is available (the test is skipped).
pub async fn world() -> Option<World> {
    let app = spawn_app().await?;
    let root = app.root_token().await;
    let acme = app.create_partner(&root, "acme").await;
    let globex = app.create_partner(&root, "globex").await;
    let acme_hq = app.create_tenant(&root, &acme, "acme-hq").await;
    let acme_lab = app.create_tenant(&root, &acme, "acme-lab").await;
    let globex_hq = app.create_tenant(&root, &globex, "globex-hq").await;
    Some(World {
        app,
        root,
        acme,
        globex,
        acme_hq,
        acme_lab,
        globex_hq,
    })
}
