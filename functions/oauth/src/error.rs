//! OAuth errors (RFC 6749 §5.2): `{"error": …, "error_description": …}` with the status the RFC
//! gives each; the token endpoint never answers in the admin API's `{"detail"}` shape.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug)]
pub enum OAuthError {
    /// Malformed request: a missing or repeated parameter, a wrong content type.
    InvalidRequest(&'static str),
    /// Client authentication failed (unknown client, wrong secret, not allowed here). `basic`:
    /// the client used HTTP Basic, so the answer names the scheme (RFC 6749 §5.2).
    InvalidClient {
        basic: bool,
    },
    /// The client may not use this grant.
    UnauthorizedClient(&'static str),
    UnsupportedGrantType,
    /// A scope beyond the client's `allowed_scopes`.
    InvalidScope,
    /// Token exchange: the subject token is not a live token of the client's tenant.
    InvalidGrant(&'static str),
    /// An agent's `rate_limit_rpm` is used up for this minute: 429 with `Retry-After` (the
    /// seconds to the next minute).
    SlowDown {
        retry_after: u64,
    },
    /// An unknown or inactive tenant in the path.
    UnknownTenant,
    /// A bearer token that is not a live access token of this issuer (userinfo; RFC 6750 §3.1:
    /// 401 with `WWW-Authenticate: Bearer error="invalid_token"`).
    InvalidToken,
    /// The table or KMS is unreachable: worth retrying.
    TemporarilyUnavailable,
    ServerError,
}

impl From<shared::Error> for OAuthError {
    fn from(err: shared::Error) -> Self {
        match err {
            shared::Error::Unavailable(_) => Self::TemporarilyUnavailable,
            other => {
                tracing::error!(error = %other, "token endpoint failed");
                Self::ServerError
            }
        }
    }
}

impl From<shared::store::StoreError> for OAuthError {
    fn from(err: shared::store::StoreError) -> Self {
        shared::Error::from(err).into()
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let (status, error, description) = match &self {
            Self::InvalidRequest(why) => (StatusCode::BAD_REQUEST, "invalid_request", Some(*why)),
            Self::InvalidClient { .. } => (
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                Some("client authentication failed"),
            ),
            Self::UnauthorizedClient(why) => {
                (StatusCode::BAD_REQUEST, "unauthorized_client", Some(*why))
            }
            Self::UnsupportedGrantType => (
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                Some("this grant type is not supported here"),
            ),
            Self::InvalidScope => (
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                Some("a requested scope is not allowed for this client"),
            ),
            Self::InvalidGrant(why) => (StatusCode::BAD_REQUEST, "invalid_grant", Some(*why)),
            Self::SlowDown { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "slow_down",
                Some("the client's token requests per minute (rate_limit_rpm) are used up"),
            ),
            Self::UnknownTenant => (
                StatusCode::NOT_FOUND,
                "invalid_request",
                Some("no active tenant with this slug"),
            ),
            Self::InvalidToken => (
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                Some("the access token is not a live token of this issuer"),
            ),
            Self::TemporarilyUnavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                None,
            ),
            Self::ServerError => (StatusCode::INTERNAL_SERVER_ERROR, "server_error", None),
        };
        let body = match description {
            Some(d) => json!({"error": error, "error_description": d}),
            None => json!({"error": error}),
        };
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if matches!(self, Self::InvalidClient { basic: true }) {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"scaikey\""),
            );
        }
        if matches!(self, Self::InvalidToken) {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        if let Self::SlowDown { retry_after } = self {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        if matches!(self, Self::TemporarilyUnavailable) {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}
