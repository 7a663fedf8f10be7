//! Tenants (SPEC §4.3): `/api/v1/admin/tenants`. super_admin writes; partner admins read their
//! partner's tenants, tenant admins their own.
//!
//! `handlers` (HTTP: validate → call → map), `wire` (request and response types),
//! `operations` (rules, with the session check and the cores the CLI reuses), `store` (items
//! and transactions).

mod handlers;
pub mod operations;
mod store;
mod wire;

use axum::Router;
use axum::routing::{get, post};
use shared::AppState;
use utoipa::OpenApi;

use handlers::*;

pub use operations::ACTIONS;

const BASE: &str = "/api/v1/admin/tenants";

#[derive(OpenApi)]
#[openapi(paths(
    list_tenants,
    create_tenant,
    get_tenant,
    update_tenant,
    delete_tenant,
    restore_tenant
))]
pub struct TenantsApi;

pub fn routes() -> Router<AppState> {
    let router =
        shared::http::collection(Router::new(), BASE, get(list_tenants).post(create_tenant));
    router
        .route(
            &format!("{BASE}/{{tenant_id}}"),
            get(get_tenant).patch(update_tenant).delete(delete_tenant),
        )
        .route(
            &format!("{BASE}/{{tenant_id}}/restore"),
            post(restore_tenant),
        )
}

pub fn router(state: AppState) -> Router {
    shared::http::finish(routes(), state)
}
