//! Admin authentication (SPEC §4.1) at `/api/v1/admin/auth`, plus the public endpoints this
//! function also serves: health and the platform JWKS.

pub mod login;
mod store;

use login as auth;

pub use login::ACTIONS;

use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::Value;
use shared::access::AdminRole;
use shared::audit::RequestMeta;
use shared::http::{ErrorBody, HttpValidationError};
use shared::session::Caller;
use shared::time::Timestamp;
use shared::validation::{self, Fields};
use shared::{AppState, Result};
use utoipa::{OpenApi, ToSchema};

#[derive(Serialize, ToSchema)]
pub struct AdminUserView {
    id: String,
    email: String,
    first_name: Option<String>,
    last_name: Option<String>,
    display_name: Option<String>,
    tenant_id: String,
    partner_id: String,
    role: AdminRole,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    access_token: String,
    refresh_token: String,
    token_type: &'static str,
    expires_in: u64,
    user: AdminUserView,
}

#[derive(Serialize, ToSchema)]
pub struct RefreshResponse {
    access_token: String,
    refresh_token: String,
    token_type: &'static str,
    expires_in: u64,
}

#[derive(Serialize, ToSchema)]
pub struct MessageResponse {
    message: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct SessionView {
    id: String,
    created_at: Timestamp,
    expires_at: Timestamp,
}

#[derive(Serialize, ToSchema)]
pub struct MeResponse {
    id: String,
    email: String,
    first_name: Option<String>,
    last_name: Option<String>,
    display_name: Option<String>,
    role: AdminRole,
    tenant_id: String,
    partner_id: String,
    session: SessionView,
}

// The one definition of the body: the handler parses into it and the OpenAPI schema is derived
// from it. `email` is any string, not a checked address, so a malformed one gets the same 401 as
// every other failed login and the schema must not claim `format: email`.
/// Body of Login.
#[derive(ToSchema)]
pub struct LoginRequest {
    email: String,
    password: String,
}

impl TryFrom<Fields> for LoginRequest {
    type Error = shared::Error;

    fn try_from(mut body: Fields) -> Result<Self> {
        let email = body.required("email", secret_text);
        let password = body.required("password", secret_text);
        body.finish(|| {
            Some(Self {
                email: email?,
                password: password?,
            })
        })
    }
}

/// Body of Refresh.
#[derive(ToSchema)]
pub struct RefreshRequest {
    refresh_token: String,
}

impl TryFrom<Fields> for RefreshRequest {
    type Error = shared::Error;

    fn try_from(mut body: Fields) -> Result<Self> {
        let refresh_token = body.required("refresh_token", secret_text);
        body.finish(|| {
            Some(Self {
                refresh_token: refresh_token?,
            })
        })
    }
}

fn secret_text(value: &Value) -> std::result::Result<String, validation::Problem> {
    validation::string(value).map(str::to_owned)
}

/// Login. **Anyone** (only users holding an active admin role get in). 200; 401 the same for
/// every failure; 422; 429 beyond 5 attempts per email and address (50 per email) in 15 minutes.
#[utoipa::path(post, path = "/api/v1/admin/auth/login", operation_id = "admin_login", summary = "Admin Login", tag = "Admin Auth",
    request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorBody), (status = 422, body = HttpValidationError), (status = 429, body = ErrorBody)))]
async fn login(
    State(state): State<AppState>,
    meta: RequestMeta,
    body: Fields,
) -> Result<Json<LoginResponse>> {
    let body = LoginRequest::try_from(body)?;
    let outcome = auth::login(&state, &body.email, body.password, &meta).await?;
    let user = outcome.user;
    Ok(Json(LoginResponse {
        access_token: outcome.tokens.access_token,
        refresh_token: outcome.tokens.refresh_token,
        token_type: "Bearer",
        expires_in: outcome.tokens.expires_in,
        user: AdminUserView {
            id: user.id.to_string(),
            email: user.email,
            first_name: user.first_name,
            last_name: user.last_name,
            display_name: user.display_name,
            tenant_id: user.tenant_id.to_string(),
            partner_id: outcome.partner_id.to_string(),
            role: outcome.role,
        },
    }))
}

/// Refresh. **Holder of a refresh token** (single use; reuse revokes the session). 200; 401; 422.
#[utoipa::path(post, path = "/api/v1/admin/auth/refresh", operation_id = "admin_refresh", summary = "Admin Refresh", tag = "Admin Auth",
    request_body = RefreshRequest,
    responses((status = 200, body = RefreshResponse), (status = 401, body = ErrorBody), (status = 422, body = HttpValidationError)))]
async fn refresh(
    State(state): State<AppState>,
    meta: RequestMeta,
    body: Fields,
) -> Result<Json<RefreshResponse>> {
    let body = RefreshRequest::try_from(body)?;
    let issued = auth::refresh(&state, &body.refresh_token, &meta).await?;
    Ok(Json(RefreshResponse {
        access_token: issued.access_token,
        refresh_token: issued.refresh_token,
        token_type: "Bearer",
        expires_in: issued.expires_in,
    }))
}

/// Logout. **Anyone**, idempotent as the reference documents it: with a valid bearer token the
/// session ends (its access and refresh tokens stop working at once); with none, an expired or an
/// already-revoked one it still answers 200. 503 if the database cannot be reached.
#[utoipa::path(post, path = "/api/v1/admin/auth/logout", operation_id = "admin_logout", summary = "Admin Logout", tag = "Admin Auth",
    responses((status = 200, body = MessageResponse), (status = 503, body = ErrorBody)), security((), ("bearer" = [])))]
async fn logout(
    State(state): State<AppState>,
    caller: std::result::Result<Caller, shared::Error>,
    meta: RequestMeta,
) -> Result<Json<MessageResponse>> {
    let caller = match caller {
        Ok(caller) => Some(caller),
        Err(shared::Error::NotAuthenticated | shared::Error::InvalidToken) => None,
        Err(err) => return Err(err),
    };
    auth::logout(&state, caller.as_ref(), &meta).await?;
    Ok(Json(MessageResponse {
        message: "Logged out",
    }))
}

/// Me. **Any signed-in admin.** 200; 401.
#[utoipa::path(get, path = "/api/v1/admin/auth/me", operation_id = "admin_me", summary = "Admin Me", tag = "Admin Auth",
    responses((status = 200, body = MeResponse), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
async fn me(State(state): State<AppState>, caller: Caller) -> Result<Json<MeResponse>> {
    let me = auth::me(&state, &caller).await?;
    let admin = me.principal.admin()?;
    let partner_id = match &me.principal.tier {
        shared::access::Tier::Partner(p) => p.clone(),
        _ => admin.home_partner.clone(),
    };
    Ok(Json(MeResponse {
        id: me.user.id.to_string(),
        email: me.user.email,
        first_name: me.user.first_name,
        last_name: me.user.last_name,
        display_name: me.user.display_name,
        role: me.principal.role(),
        tenant_id: admin.home_tenant.to_string(),
        partner_id: partner_id.to_string(),
        session: SessionView {
            id: me.session.id.to_string(),
            created_at: me.session.created_at,
            expires_at: me.session.expires_at,
        },
    }))
}

/// Health. **Anyone.** 200 `{"status":"ok"}`.
#[utoipa::path(get, path = "/api/v1/health", operation_id = "health", summary = "Health", tag = "Platform",
    responses((status = 200, description = "`{\"status\":\"ok\"}`")))]
async fn health() -> impl IntoResponse {
    shared::http::health().await
}

/// Platform JWKS. **Anyone.** 200: every public key that may still verify a live token.
#[utoipa::path(get, path = "/api/v1/platform/.well-known/jwks.json", operation_id = "platform_jwks", summary = "Platform JWKS", tag = "Platform",
    responses((status = 200, description = "A JSON Web Key Set")))]
async fn jwks(State(state): State<AppState>) -> Json<Value> {
    Json(state.keys().jwks().await)
}

#[derive(OpenApi)]
#[openapi(paths(login, refresh, logout, me, health, jwks))]
pub struct AdminAuthApi;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/admin/auth/login", post(login))
        .route("/api/v1/admin/auth/refresh", post(refresh))
        .route("/api/v1/admin/auth/logout", post(logout))
        .route("/api/v1/admin/auth/me", get(me))
        .route("/api/v1/health", get(health))
        .route("/api/v1/platform/.well-known/jwks.json", get(jwks))
}

pub fn router(state: AppState) -> Router {
    shared::http::finish(routes(), state)
}
