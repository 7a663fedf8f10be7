//! The `scaikey` ops binary's library: the local server (every group's router on one port, the
//! live OpenAPI document) and the bootstrap/admin/key operations.

pub mod ops;

use axum::Router;
use axum::routing::get;
use shared::AppState;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

/// The API description of every mounted route, generated from the handlers' annotations.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = admin_auth::AdminAuthApi::openapi();
    doc.merge(partners::PartnersApi::openapi());
    doc.merge(tenants::TenantsApi::openapi());
    doc.info.title = "ScaiKey Admin API".into();
    doc.info.version = env!("CARGO_PKG_VERSION").into();
    doc.info.description =
        Some("Multi-tenant identity admin API (platform → partners → tenants → users).".into());
    doc.info.license = None;
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .build(),
        ),
    );
    doc
}

/// The document as committed in `docs/openapi.json`.
pub fn openapi_json() -> String {
    let mut text = openapi().to_pretty_json().unwrap_or_default();
    text.push('\n');
    text
}

/// Every group's routes on one server, as API Gateway would route them.
pub fn app(state: AppState) -> Router {
    let live = openapi_json();
    let routes = admin_auth::routes()
        .merge(partners::routes())
        .merge(tenants::routes())
        .route(
            "/openapi.json",
            get(move || {
                let live = live.clone();
                async move {
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        live,
                    )
                }
            }),
        )
        .merge(admin_auth::docs_page_routes());
    shared::http::finish(routes, state)
}
