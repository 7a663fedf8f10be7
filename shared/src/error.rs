//! The one error type of the API and the one place it becomes an HTTP response (SPEC §2.1).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};

use crate::store::{Guard, StoreError};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One problem with the request, FastAPI/pydantic-shaped: `loc` starts with `body`, `query`,
/// `path` or `header`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FieldProblem {
    pub loc: Vec<Value>,
    pub msg: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

impl FieldProblem {
    pub fn new(loc: Vec<Value>, kind: &'static str, msg: impl Into<String>) -> Self {
        Self {
            loc,
            msg: msg.into(),
            kind,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("validation failed")]
    Validation(Vec<FieldProblem>),
    #[error("no bearer token")]
    NotAuthenticated,
    #[error("invalid or expired token")]
    InvalidToken,
    #[error("invalid email or password")]
    InvalidCredentials,
    #[error("invalid refresh token")]
    InvalidRefreshToken,
    #[error("platform token without admin scope")]
    PlatformScopeMissing,
    #[error("access denied")]
    AccessDenied,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("conflict: {0}")]
    Conflict(String),
    /// A write lost an optimistic-version race; `lifecycle::retry_stale` re-reads and retries.
    #[error("the resource changed during the request")]
    Stale,
    #[error("too many requests")]
    TooManyRequests { retry_after_seconds: u64 },
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("route not found")]
    RouteNotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("database unavailable")]
    Unavailable(#[source] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }

    pub fn conflict(what: impl Into<String>) -> Self {
        Self::Conflict(what.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::NotAuthenticated
            | Self::InvalidToken
            | Self::InvalidCredentials
            | Self::InvalidRefreshToken => StatusCode::UNAUTHORIZED,
            Self::PlatformScopeMissing | Self::AccessDenied => StatusCode::FORBIDDEN,
            Self::NotFound(_) | Self::RouteNotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) | Self::Stale => StatusCode::CONFLICT,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn detail(&self) -> Value {
        match self {
            Self::Validation(problems) => json!(problems),
            Self::NotAuthenticated => json!("Not authenticated"),
            Self::InvalidToken => json!("Invalid or expired token"),
            Self::InvalidCredentials => json!("Invalid email or password"),
            Self::InvalidRefreshToken => json!("Invalid or expired refresh token"),
            Self::PlatformScopeMissing => {
                json!("Platform token requires admin:read or admin:write scope")
            }
            Self::AccessDenied => json!("Access denied"),
            Self::NotFound(resource) => json!(format!("{resource} not found")),
            Self::Conflict(what) => json!(what),
            Self::Stale => json!("The resource changed during the request; retry"),
            Self::TooManyRequests { .. } => json!("Too many requests"),
            Self::PayloadTooLarge => json!("Request body too large"),
            Self::RouteNotFound => json!("Not Found"),
            Self::MethodNotAllowed => json!("Method Not Allowed"),
            Self::Unavailable(_) => json!("Service temporarily unavailable"),
            Self::Internal(_) => json!("Internal server error"),
        }
    }
}

impl From<StoreError> for Error {
    fn from(err: StoreError) -> Self {
        if err.is_unavailable() {
            Self::Unavailable(err)
        } else if err.refused_by() == Some(Guard::Item) {
            Self::Stale
        } else if let StoreError::TooLarge(what) = err {
            Self::Conflict(what.to_owned())
        } else {
            Self::Internal(err.to_string())
        }
    }
}

/// Seconds a client should wait after a 503 before trying again.
const UNAVAILABLE_RETRY_AFTER_SECONDS: u64 = 1;

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            // The cause goes to the log (inside the request's span, so with its request id),
            // never into the body.
            tracing::error!(error = ?self, "request failed");
        }
        let mut response = (status, axum::Json(json!({ "detail": self.detail() }))).into_response();
        let headers = response.headers_mut();
        match &self {
            Self::NotAuthenticated | Self::InvalidToken => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Self::TooManyRequests {
                retry_after_seconds,
            } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_seconds));
            }
            Self::Unavailable(_) => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(UNAVAILABLE_RETRY_AFTER_SECONDS),
                );
            }
            _ => {}
        }
        response
    }
}
