//! HTTP plumbing shared by every function: extractors (caller, body, query, request meta),
//! the request-id/tracing layer, the 404/405 fallbacks and the Lambda entry point.

use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use serde_json::{Value, json};
use tracing::Instrument;

use crate::access::{self, PlatformScopes, ScopedOperation};
use crate::audit::RequestMeta;
use crate::error::{Error, FieldProblem};
use crate::session::Caller;
use crate::state::AppState;
use crate::tokens::Verified;
use crate::validation::Fields;

/// Request bodies above this are refused with 413 before they are parsed.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The request id chosen for this request (API Gateway's, the client's, or a new one).
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// A verified bearer token. Its session is checked by the domain operation, in the same batch
/// as the data the request reads.
impl FromRequestParts<AppState> for Caller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or(Error::NotAuthenticated)?;
        let value = header.to_str().map_err(|_| Error::NotAuthenticated)?;
        let token = match value.split_once(' ') {
            Some((scheme, token))
                if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
            {
                token.trim()
            }
            _ => return Err(Error::NotAuthenticated),
        };
        let caller = match state.keys().verify(token).await? {
            Verified::Admin(claims) => Caller::Admin(claims),
            Verified::Platform(claims, kid) => {
                // The scopes against what the request does, before anything is read.
                let operation = ScopedOperation::of(
                    parts.method == Method::GET || parts.method == Method::HEAD,
                    parts.uri.path(),
                    &claims.sub,
                );
                access::platform::allows(&PlatformScopes::parse(&claims.scope), operation)?;
                Caller::Platform(claims, kid, operation)
            }
            Verified::Other => return Err(Error::AccessDenied),
        };
        tracing::Span::current().record("actor_id", caller.subject());
        Ok(caller)
    }
}

/// A JSON object body, read within the size limit, ready to be parsed field by field.
impl<S: Send + Sync> FromRequest<S> for Fields {
    type Rejection = Error;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Error> {
        let bytes = axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES)
            .await
            .map_err(|_| Error::PayloadTooLarge)?;
        json_fields(&bytes)
    }
}

/// A JSON object body, field by field; anything else is a 422.
fn json_fields(bytes: &[u8]) -> Result<Fields, Error> {
    let value: Value = serde_json::from_slice(bytes).map_err(|err| {
        Error::Validation(vec![FieldProblem::new(
            vec![json!("body"), json!(err.column())],
            "json_invalid",
            "JSON decode error",
        )])
    })?;
    Fields::body(value)
}

/// A JSON object body that may be absent: empty (or only whitespace) reads as `{}` (for
/// actions whose every field is optional, such as rotate-secret or approve).
pub fn optional_body(bytes: &[u8]) -> Result<Fields, Error> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Fields::body(json!({}));
    }
    json_fields(bytes)
}

/// The query string, ready to be parsed field by field.
pub struct QueryFields(pub Fields);

impl<S: Send + Sync> FromRequestParts<S> for QueryFields {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Error> {
        let query = parts.uri.query().unwrap_or("");
        let pairs: Vec<(String, String)> = serde_urlencoded_pairs(query);
        Ok(Self(Fields::query(pairs)))
    }
}

fn serde_urlencoded_pairs(query: &str) -> Vec<(String, String)> {
    axum::extract::Query::<Vec<(String, String)>>::try_from_uri(
        &format!("/?{query}").parse().unwrap_or_default(),
    )
    .map(|q| q.0)
    .unwrap_or_default()
}

impl<S: Send + Sync> FromRequestParts<S> for RequestMeta {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Error> {
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let source_ip = parts.extensions.get::<SourceIp>().map(|s| s.0.clone());
        Ok(Self {
            request_id: parts.extensions.get::<RequestId>().map(|r| r.0.clone()),
            ip_address: source_ip.or_else(|| {
                header("x-forwarded-for")
                    .and_then(|v| v.split(',').next().map(|s| s.trim().to_owned()))
            }),
            user_agent: header("user-agent").map(|ua| ua.chars().take(512).collect()),
        })
    }
}

/// The client address as API Gateway saw it.
#[derive(Clone, Debug)]
pub struct SourceIp(pub String);

/// Parses a path id; a wrong prefix or shape cannot name an existing resource → 404.
pub fn path_id<T>(
    raw: &str,
    resource: &'static str,
    parse: impl FnOnce(&str) -> Result<T, crate::ids::InvalidId>,
) -> Result<T, Error> {
    parse(raw).map_err(|_| Error::NotFound(resource))
}

/// Mounts a collection route with and without its trailing slash (no redirect).
pub fn collection(
    router: Router<AppState>,
    path: &str,
    methods: MethodRouter<AppState>,
) -> Router<AppState> {
    router
        .route(path, methods.clone())
        .route(&format!("{path}/"), methods)
}

fn valid_request_id(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 128
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Gives every request an id (echoed in `x-request-id`), a tracing span carrying it, and one
/// log line with status and latency.
async fn request_context(mut request: Request, next: Next) -> Response {
    let incoming = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| valid_request_id(v))
        .map(str::to_owned);
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .or(incoming)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    request
        .extensions_mut()
        .insert(RequestId(request_id.clone()));
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %request.method(),
        path = %request.uri().path(),
        actor_id = tracing::field::Empty,
    );
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            latency_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request done"
        );
    });
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

/// Rewrites axum's own plain-text rejections (405 and the like) into the API's JSON shape.
async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    // The API's own JSON, and the sign-in's HTML pages, are answers already.
    let is_ours = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| {
            v.as_bytes().starts_with(b"application/json") || v.as_bytes().starts_with(b"text/html")
        });
    if is_ours || response.status().is_success() || response.status() == StatusCode::NO_CONTENT {
        return response;
    }
    match response.status() {
        StatusCode::METHOD_NOT_ALLOWED => Error::MethodNotAllowed.into_response(),
        StatusCode::NOT_FOUND => Error::RouteNotFound.into_response(),
        StatusCode::PAYLOAD_TOO_LARGE => Error::PayloadTooLarge.into_response(),
        _ => response,
    }
}

/// The finishing layers every group's router gets: JSON 404/405, request ids and logging.
pub fn finish(router: Router<AppState>, state: AppState) -> Router {
    finish_stateless(router.with_state(state))
}

/// The same layers for a router that needs no table (the API description and `/docs`).
pub fn finish_stateless(router: Router) -> Router {
    router
        .fallback(|| async { Error::RouteNotFound })
        .layer(middleware::from_fn(json_errors))
        .layer(middleware::from_fn(request_context))
}

/// `200 {"status":"ok"}`: liveness, no auth.
pub async fn health() -> impl IntoResponse {
    axum::Json(json!({"status": "ok"}))
}

/// Runs a router as a Lambda function behind API Gateway, taking the request id and client
/// address from API Gateway's request context.
pub async fn run_lambda(router: Router) -> Result<(), lambda_http::Error> {
    use lambda_http::RequestExt;
    use lambda_http::request::RequestContext;
    let service = tower::ServiceBuilder::new()
        .map_request(|mut request: lambda_http::Request| {
            if let Some(RequestContext::ApiGatewayV2(context)) = request.request_context_ref() {
                let id = context.request_id.clone();
                let ip = context.http.source_ip.clone();
                if let Some(id) = id {
                    request.extensions_mut().insert(RequestId(id));
                }
                if let Some(ip) = ip {
                    request.extensions_mut().insert(SourceIp(ip));
                }
            }
            request.map(Body::new)
        })
        .service(router);
    lambda_http::run(service).await
}

/// The body of every error but a validation error (SPEC §2.1): `{"detail": "Access denied"}`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub detail: String,
}

/// The body of a 422, FastAPI's: one entry per problem, all at once.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[schema(as = HTTPValidationError)]
pub struct HttpValidationError {
    pub detail: Vec<ValidationError>,
}

/// One problem: where (`["body", "slug"]`, `["query", "page"]`), what, and its kind
/// (`missing`, `string_pattern_mismatch`, …).
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ValidationError {
    #[schema(value_type = Vec<LocItem>)]
    pub loc: Vec<Value>,
    pub msg: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// A `loc` entry: a field name or a list index.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum LocItem {
    Name(String),
    Index(u32),
}
