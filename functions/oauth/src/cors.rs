//! CORS for the OpenID Provider's machine endpoints (discovery, JWKS, token, userinfo,
//! revocation, introspection), so a single-page app finishes its sign-in from its own origin.
//!
//! Any origin is answered, without credentials: these endpoints read no cookie, so a
//! cross-origin page gains nothing it could not get with a plain HTTP client — the client
//! authenticates (or proves PKCE), a bearer token carries its own authority. The browser flow
//! itself (authorize, login, logout) is navigation, not fetch, and gets no CORS.
//!
//! Deployed, API Gateway answers CORS itself when the stack sets `CorsAllowOrigins` (it then
//! ignores these headers): an SPA's origin must be listed there.

use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// How long a browser may keep a preflight's answer.
const PREFLIGHT_MAX_AGE_SECONDS: &str = "600";

pub async fn allow_any_origin(request: Request, next: Next) -> Response {
    let origin = request.headers().get(header::ORIGIN).cloned();
    let Some(origin) = origin else {
        return next.run(request).await;
    };
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = if preflight {
        let mut answer = StatusCode::NO_CONTENT.into_response();
        let headers = answer.headers_mut();
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("authorization, content-type"),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static(PREFLIGHT_MAX_AGE_SECONDS),
        );
        answer
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("www-authenticate, retry-after"),
    );
    headers.append(header::VARY, HeaderValue::from_static("origin"));
    response
}
