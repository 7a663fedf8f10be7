//! Partners (SPEC §4.2): `/api/v1/admin/partners`, super_admin only, reads included.
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

const BASE: &str = "/api/v1/admin/partners";

#[derive(OpenApi)]
#[openapi(paths(
    list_partners,
    create_partner,
    get_partner,
    update_partner,
    delete_partner,
    restore_partner
))]
pub struct PartnersApi;

/// The group's routes, unfinished (the local server merges several groups before finishing).
pub fn routes() -> Router<AppState> {
    let router =
        shared::http::collection(Router::new(), BASE, get(list_partners).post(create_partner));
    router
        .route(
            &format!("{BASE}/{{partner_id}}"),
            get(get_partner)
                .patch(update_partner)
                .delete(delete_partner),
        )
        .route(
            &format!("{BASE}/{{partner_id}}/restore"),
            post(restore_partner),
        )
}

/// The Lambda's whole router.
pub fn router(state: AppState) -> Router {
    shared::http::finish(routes(), state)
}
