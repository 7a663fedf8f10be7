//! The deployable Lambda binaries, run the way Lambda runs them: each is a child process polling
//! the Lambda Runtime API (`AWS_LAMBDA_RUNTIME_API`), which the test serves itself, for API
//! Gateway HTTP API events (payload format 2.0), built here as API Gateway builds them.
//!
//! Serving the Runtime API in the test rather than under `cargo lambda watch` keeps the test
//! free of a second emulator process, its fixed port and `.venv`, while the binary still meets
//! the real contract: `GET …/invocation/next` with `lambda-runtime-aws-request-id` and
//! `lambda-runtime-deadline-ms`, then `POST …/invocation/{id}/response` (or `/error`).
//!
//! The binaries are cargo's host builds in the test's own target directory (`target/debug/`):
//! `cargo build -p admin-auth -p partners -p tenants` first (scripts/test does). A stale binary
//! tests stale code, so rebuild them after changing a function.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use data_encoding::BASE64;
use serde_json::{Map, Value, json};
use tokio::sync::{mpsc, oneshot};

use shared::config::KeyEncryption;

use crate::{Reply, TestApp, body_value};

/// The function's answer to one invocation: its response document, or the error it reported.
type Outcome = Result<Value, String>;

struct Invocation {
    id: String,
    event: Value,
    reply: oneshot::Sender<Outcome>,
}

#[derive(Clone)]
struct RuntimeApi {
    queue: Arc<tokio::sync::Mutex<mpsc::Receiver<Invocation>>>,
    pending: Arc<Mutex<HashMap<String, oneshot::Sender<Outcome>>>>,
    init_error: Arc<Mutex<Option<String>>>,
}

async fn next_invocation(State(api): State<RuntimeApi>) -> Response {
    let Some(invocation) = api.queue.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    let deadline = SystemTime::now() + Duration::from_secs(30);
    let deadline_ms = deadline
        .duration_since(UNIX_EPOCH)
        .expect("after the epoch")
        .as_millis()
        .to_string();
    api.pending
        .lock()
        .expect("pending map")
        .insert(invocation.id.clone(), invocation.reply);
    (
        [
            ("lambda-runtime-aws-request-id", invocation.id),
            ("lambda-runtime-deadline-ms", deadline_ms),
            (
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:test".to_owned(),
            ),
            ("content-type", "application/json".to_owned()),
        ],
        invocation.event.to_string(),
    )
        .into_response()
}

fn settle(api: &RuntimeApi, id: &str, outcome: Outcome) -> StatusCode {
    match api.pending.lock().expect("pending map").remove(id) {
        Some(reply) => {
            let _ = reply.send(outcome);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

async fn invocation_response(
    State(api): State<RuntimeApi>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    let outcome = serde_json::from_slice(&body).map_err(|e| format!("response not JSON: {e}"));
    settle(&api, &id, outcome)
}

async fn invocation_error(
    State(api): State<RuntimeApi>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    settle(&api, &id, Err(String::from_utf8_lossy(&body).into_owned()))
}

async fn init_error(State(api): State<RuntimeApi>, body: Bytes) -> StatusCode {
    *api.init_error.lock().expect("init error") = Some(String::from_utf8_lossy(&body).into());
    StatusCode::ACCEPTED
}

/// Where cargo put the host build of a workspace binary: next to this test's `deps/` folder.
fn binary_path(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test executable under <target>/<profile>/deps");
    profile_dir.join(name)
}

/// One function binary under a Runtime API served by this test, over the test app's table.
pub struct LambdaFunction {
    name: String,
    child: tokio::process::Child,
    invocations: mpsc::Sender<Invocation>,
    init_error: Arc<Mutex<Option<String>>>,
    stderr: PathBuf,
    server: tokio::task::JoinHandle<()>,
    count: u32,
}

impl LambdaFunction {
    /// Starts `target/<profile>/<name>` with the environment the SAM template gives it, pointed
    /// at `app`'s table. `None` (skip) when the binary was not built and `REQUIRE_DYNAMODB` is
    /// not set.
    pub async fn start(app: &TestApp, name: &str) -> Option<Self> {
        let binary = binary_path(name);
        if !binary.is_file() {
            let message = format!(
                "{} is missing: run `cargo build --workspace --bins` first",
                binary.display()
            );
            if std::env::var("REQUIRE_DYNAMODB").is_ok_and(|v| v == "1") {
                panic!("{message}");
            }
            eprintln!("skipping: {message}");
            return None;
        }
        let (invocations, queue) = mpsc::channel(1);
        let api = RuntimeApi {
            queue: Arc::new(tokio::sync::Mutex::new(queue)),
            pending: Arc::default(),
            init_error: Arc::default(),
        };
        let reported_init_error = api.init_error.clone();
        let router = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(invocation_response),
            )
            .route(
                "/2018-06-01/runtime/invocation/{id}/error",
                post(invocation_error),
            )
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(api);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("runtime API port");
        let address = listener.local_addr().expect("runtime API address");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });

        let config = app.state.config();
        let stderr = std::env::temp_dir().join(format!(
            "scaikey-lambda-{name}-{}.log",
            uuid::Uuid::now_v7().simple()
        ));
        let mut command = tokio::process::Command::new(&binary);
        command
            // As in infra/template.yaml (Globals.Function.Environment), over the test's table.
            .env("TABLE_NAME", &config.table_name)
            .env("SCAIKEY_TOKEN_ISSUER", &config.token_issuer)
            .env("SCAIKEY_TOKEN_AUDIENCE", &config.token_audience)
            .env(
                "SCAIKEY_SIGNING_ALGORITHM",
                config.signing_algorithm.as_str(),
            )
            .env("RUST_LOG", "warn")
            .env("AWS_REGION", &config.region)
            // What the Lambda service sets for every function.
            .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            // The deployed API uses the `$default` stage and does not set this; a stray value in
            // the test's own environment must not hide a stage in the path.
            .env_remove("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).expect("stderr log file"))
            .kill_on_drop(true);
        match &config.dynamodb_endpoint {
            Some(endpoint) => command.env("DYNAMODB_ENDPOINT", endpoint),
            None => command.env_remove("DYNAMODB_ENDPOINT"),
        };
        // As in the template: admin-auth and oauth hold the key-encryption key (they sign and
        // open server secrets), identity-providers (it seals IdP client secrets), and the
        // functions that make client secrets (they open the client-secret key).
        for name in [
            "SCAIKEY_KMS_KEY_ID",
            "KMS_ENDPOINT",
            "SCAIKEY_LOCAL_KEK_FILE",
        ] {
            command.env_remove(name);
        }
        const HOLD_THE_KEK: [&str; 7] = [
            "admin-auth",
            "oauth",
            "identity-providers",
            "applications",
            "agents",
            "registration-requests",
            "sign-in",
        ];
        if HOLD_THE_KEK.contains(&name) {
            match &config.key_encryption {
                KeyEncryption::Kms { key_id, endpoint } => {
                    command.env("SCAIKEY_KMS_KEY_ID", key_id);
                    if let Some(endpoint) = endpoint {
                        command.env("KMS_ENDPOINT", endpoint);
                    }
                }
                KeyEncryption::LocalFile(path) => {
                    command.env("SCAIKEY_LOCAL_KEK_FILE", path);
                }
                KeyEncryption::None => {}
            }
        }
        // DynamoDB Local takes any credentials; the SDK only needs some.
        for (key, fallback) in [
            ("AWS_ACCESS_KEY_ID", "local"),
            ("AWS_SECRET_ACCESS_KEY", "local"),
        ] {
            if std::env::var_os(key).is_none() {
                command.env(key, fallback);
            }
        }
        let child = command.spawn().expect("function binary starts");
        Some(Self {
            name: name.to_owned(),
            child,
            invocations,
            init_error: reported_init_error,
            stderr,
            server,
            count: 0,
        })
    }

    fn failure(&mut self, what: &str) -> String {
        let exit = self.child.try_wait().ok().flatten();
        let init = self.init_error.lock().expect("init error").clone();
        let log = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        format!(
            "{}: {what} (exit: {exit:?}, init error: {init:?})\nstderr:\n{log}",
            self.name
        )
    }

    /// Sends one event through the Runtime API and returns the function's response document.
    pub async fn invoke_raw(&mut self, event: Value) -> Value {
        self.count += 1;
        let (reply, answer) = oneshot::channel();
        let invocation = Invocation {
            id: format!("invocation-{}", self.count),
            event,
            reply,
        };
        let sent = tokio::time::timeout(Duration::from_secs(20), self.invocations.send(invocation));
        if !matches!(sent.await, Ok(Ok(()))) {
            let message = self.failure("did not take the invocation");
            panic!("{message}");
        }
        match tokio::time::timeout(Duration::from_secs(20), answer).await {
            Ok(Ok(Ok(response))) => response,
            Ok(Ok(Err(error))) => {
                let message = self.failure(&format!("reported an error: {error}"));
                panic!("{message}")
            }
            _ => {
                let message = self.failure("gave no answer within 20 s");
                panic!("{message}")
            }
        }
    }

    /// Sends an API Gateway event and reads the function's answer as API Gateway would.
    pub async fn invoke(&mut self, event: &HttpApiEvent) -> Reply {
        let response = self.invoke_raw(event.to_json()).await;
        let status = response["statusCode"]
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .and_then(|s| StatusCode::from_u16(s).ok())
            .unwrap_or_else(|| panic!("no statusCode in {response}"));
        let mut headers = HeaderMap::new();
        for (name, value) in response["headers"].as_object().into_iter().flatten() {
            headers.insert(
                HeaderName::from_bytes(name.as_bytes()).expect("header name"),
                HeaderValue::from_str(value.as_str().expect("header value is text"))
                    .expect("header value"),
            );
        }
        let text = response["body"].as_str().unwrap_or_default();
        let bytes = if response["isBase64Encoded"] == true {
            BASE64.decode(text.as_bytes()).expect("base64 body")
        } else {
            text.as_bytes().to_vec()
        };
        Reply {
            status,
            headers,
            body: body_value(&bytes),
        }
    }
}

impl Drop for LambdaFunction {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        self.server.abort();
        let _ = std::fs::remove_file(&self.stderr);
    }
}

/// An API Gateway HTTP API request (payload format 2.0) as API Gateway hands it to a function,
/// and the same request as the client sent it (for the local server).
#[derive(Clone)]
pub struct HttpApiEvent {
    method: String,
    route_key: String,
    stage: String,
    raw_path: String,
    raw_query: String,
    path_parameters: Option<Map<String, Value>>,
    headers: Vec<(String, String)>,
    cookies: Vec<String>,
    body: Option<Vec<u8>>,
    pub request_id: String,
    pub source_ip: String,
}

impl HttpApiEvent {
    /// A request on the `$default` stage (as deployed) to `route_key`, e.g.
    /// `ANY /api/v1/admin/tenants/{proxy+}`, for `raw_path` (which may carry a query).
    pub fn new(method: &str, route_key: &str, raw_path: &str) -> Self {
        let (path, query) = raw_path.split_once('?').unwrap_or((raw_path, ""));
        Self {
            method: method.to_owned(),
            route_key: route_key.to_owned(),
            stage: "$default".to_owned(),
            raw_path: path.to_owned(),
            raw_query: query.to_owned(),
            path_parameters: None,
            headers: vec![
                (
                    "host".into(),
                    "abc123.execute-api.us-east-1.amazonaws.com".into(),
                ),
                ("user-agent".into(), "scaikey-tests/1".into()),
            ],
            cookies: Vec::new(),
            body: None,
            request_id: format!("Rq{}=", uuid::Uuid::now_v7().simple()),
            source_ip: "198.51.100.7".to_owned(),
        }
    }

    pub fn stage(mut self, stage: &str) -> Self {
        self.stage = stage.to_owned();
        self
    }

    pub fn path_parameter(mut self, name: &str, value: &str) -> Self {
        self.path_parameters
            .get_or_insert_with(Map::new)
            .insert(name.to_owned(), json!(value));
        self
    }

    /// A header line; the same name again is a repeated header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    pub fn cookie(mut self, cookie: &str) -> Self {
        self.cookies.push(cookie.to_owned());
        self
    }

    /// A body as given (the caller sets its content type).
    pub fn text_body(mut self, body: &str) -> Self {
        self.body = Some(body.as_bytes().to_vec());
        self
    }

    pub fn json_body(mut self, body: &Value) -> Self {
        self.body = Some(body.to_string().into_bytes());
        self.header("content-type", "application/json")
    }

    /// The event document. Repeated headers are joined with commas and cookies moved to
    /// `cookies`, as payload 2.0 does; the body is always base64.
    pub fn to_json(&self) -> Value {
        let mut headers = Map::new();
        for (name, value) in &self.headers {
            let joined = match headers.get(name).and_then(Value::as_str) {
                Some(earlier) => format!("{earlier},{value}"),
                None => value.clone(),
            };
            headers.insert(name.clone(), Value::String(joined));
        }
        let user_agent = headers.get("user-agent").cloned().unwrap_or(Value::Null);
        let mut event = json!({
            "version": "2.0",
            "routeKey": self.route_key,
            "rawPath": self.raw_path,
            "rawQueryString": self.raw_query,
            "headers": headers,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "abc123",
                "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
                "domainPrefix": "abc123",
                "http": {
                    "method": self.method,
                    "path": self.raw_path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": self.source_ip,
                    "userAgent": user_agent,
                },
                "requestId": self.request_id,
                "routeKey": self.route_key,
                "stage": self.stage,
                "time": "27/Nov/2026:10:00:00 +0000",
                "timeEpoch": 1_795_773_600_000_u64,
            },
            "isBase64Encoded": self.body.is_some(),
        });
        if !self.cookies.is_empty() {
            event["cookies"] = json!(self.cookies);
        }
        if let Some(parameters) = &self.path_parameters {
            event["pathParameters"] = Value::Object(parameters.clone());
        }
        if let Some(body) = &self.body {
            event["body"] = json!(BASE64.encode(body));
        }
        event
    }

    /// The same request as the client sent it over HTTP: every header line, cookies in one
    /// `cookie` header, the body as bytes.
    pub fn to_request(&self) -> Request<Body> {
        let uri = if self.raw_query.is_empty() {
            self.raw_path.clone()
        } else {
            format!("{}?{}", self.raw_path, self.raw_query)
        };
        let mut builder = Request::builder().method(self.method.as_str()).uri(uri);
        for (name, value) in &self.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if !self.cookies.is_empty() {
            builder = builder.header("cookie", self.cookies.join("; "));
        }
        let body = self
            .body
            .clone()
            .map(Body::from)
            .unwrap_or_else(Body::empty);
        builder.body(body).expect("request builds")
    }
}
