//! Identity providers (SPEC §4.9): `/api/v1/admin/identity-providers`, the external OIDC and
//! SAML sign-ins of a tenant and the email domains routed to them. Every tier manages the
//! providers within its reach, as with groups: super_admin all, partner_admin its partner's
//! tenants', tenant_admin its own tenant's.
//!
//! `handlers` (HTTP: validate → call → map), `wire` (request and response types),
//! `operations` (rules and the tier checks), `store` (items and transactions). An OIDC client
//! secret is sealed under the key-encryption key (`shared::sealing`, purpose
//! `scaikey-idp-secret`) before it is stored, and never returned.

mod handlers;
pub mod operations;
mod store;
mod wire;

use axum::routing::get;
use axum::{Extension, Router};
use shared::AppState;
use shared::sealing::Kek;
use utoipa::OpenApi;

use handlers::*;

pub use operations::ACTIONS;

const BASE: &str = "/api/v1/admin/identity-providers";

#[derive(OpenApi)]
#[openapi(paths(
    list_identity_providers,
    create_identity_provider,
    get_identity_provider,
    update_identity_provider,
    delete_identity_provider
))]
pub struct IdentityProvidersApi;

pub fn routes() -> Router<AppState> {
    let router = shared::http::collection(
        Router::new(),
        BASE,
        get(list_identity_providers).post(create_identity_provider),
    );
    router.route(
        &format!("{BASE}/{{idp_id}}"),
        get(get_identity_provider)
            .patch(update_identity_provider)
            .delete(delete_identity_provider),
    )
}

/// The router over a state that seals client secrets with its own KEK (`AppState::kek`).
pub fn router(state: AppState) -> Router {
    shared::http::finish(routes(), state)
}

/// The router of the Lambda: client secrets are sealed with `kek`, while the state holds no
/// KEK, so its key ring only verifies tokens and never reads or opens the signing keys'
/// private parts (which this function has no IAM for).
pub fn router_sealing_with(state: AppState, kek: Option<Kek>) -> Router {
    shared::http::finish(routes().layer(Extension(SecretKek(kek))), state)
}
