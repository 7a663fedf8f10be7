//! The API description (`/openapi.json`, as committed in `docs/openapi.json`) and the
//! interactive API page (`/docs`): a vendored, pinned Swagger UI served by this binary, so the
//! page works without internet (see `assets/swagger-ui-5.35.0/README.md`).

use axum::Router;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;

/// The API description committed in `docs/openapi.json` (a test keeps it in step with the code).
pub const OPENAPI_JSON: &str = include_str!("../../../docs/openapi.json");

pub const DOCS_HTML: &str = include_str!("../assets/docs.html");

/// Everything `/docs` loads besides itself: (path, content type, cache policy, bytes).
pub const DOCS_ASSETS: &[(&str, &str, &str, &[u8])] = &[
    (
        "/docs/assets/swagger-ui-5.35.0/swagger-ui-bundle.js",
        "text/javascript; charset=utf-8",
        IMMUTABLE,
        include_bytes!("../assets/swagger-ui-5.35.0/swagger-ui-bundle.js"),
    ),
    (
        "/docs/assets/swagger-ui-5.35.0/swagger-ui.css",
        "text/css; charset=utf-8",
        IMMUTABLE,
        include_bytes!("../assets/swagger-ui-5.35.0/swagger-ui.css"),
    ),
    (
        "/docs/assets/docs.js",
        "text/javascript; charset=utf-8",
        // Unversioned: a deploy that changes it must reach browsers soon.
        "public, max-age=300",
        include_bytes!("../assets/docs.js"),
    ),
];

/// The vendored files' URLs carry the viewer's version, so a browser may keep them for good.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

async fn openapi_json() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}

async fn docs_page() -> Html<&'static str> {
    Html(DOCS_HTML)
}

/// `/docs` and the files it loads (the local server mounts these next to its live description).
pub fn page_routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    DOCS_ASSETS.iter().fold(
        Router::new().route("/docs", get(docs_page)),
        |router, &(path, content_type, cache, bytes)| {
            let headers = [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, cache),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ];
            router.route(path, get(move || async move { (headers, bytes) }))
        },
    )
}

/// The function's router: the description always, the page when `docs_enabled`.
pub fn router(docs_enabled: bool) -> Router {
    let routes = Router::new().route("/openapi.json", get(openapi_json));
    let routes = if docs_enabled {
        routes.merge(page_routes())
    } else {
        routes
    };
    shared::http::finish_stateless(routes)
}
