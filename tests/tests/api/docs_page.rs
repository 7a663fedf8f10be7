//! `/docs` works offline: the page and every file it loads come from the binary itself, on the
//! local server and on the api-docs Lambda alike.

use api_tests::{spawn_app_with, spawn_app_without_database};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

async fn get(router: &Router, path: &str) -> (StatusCode, HeaderMap, Bytes) {
    let request = Request::get(path).body(Body::empty()).unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, body)
}

fn header(headers: &HeaderMap, name: header::HeaderName) -> &str {
    headers
        .get(&name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or_else(|| panic!("no {name} header"))
}

/// The values of every `src="…"` and `href="…"` attribute.
fn references(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        for (at, _) in html.match_indices(attribute) {
            let rest = &html[at + attribute.len()..];
            found.push(rest[..rest.find('"').unwrap()].to_owned());
        }
    }
    found
}

fn assert_no_remote_url(path: &str, text: &str) {
    for scheme in ["http://", "https://", "//cdn"] {
        assert!(!text.contains(scheme), "{path} mentions {scheme}: {text}");
    }
}

async fn check_docs(router: &Router) {
    let (status, headers, body) = get(router, "/docs").await;
    assert_eq!(status, StatusCode::OK);
    assert!(header(&headers, header::CONTENT_TYPE).starts_with("text/html"));
    let html = String::from_utf8(body.to_vec()).unwrap();
    assert_no_remote_url("/docs", &html);

    let references = references(&html);
    let mut scripts = 0;
    let mut styles = 0;
    for reference in references.iter().filter(|r| !r.starts_with("data:")) {
        assert!(reference.starts_with("/docs/assets/"), "{reference}");
        let (status, headers, body) = get(router, reference).await;
        assert_eq!(status, StatusCode::OK, "{reference}");
        let content_type = header(&headers, header::CONTENT_TYPE);
        if reference.ends_with(".js") {
            assert_eq!(
                content_type, "text/javascript; charset=utf-8",
                "{reference}"
            );
            scripts += 1;
        } else if reference.ends_with(".css") {
            assert_eq!(content_type, "text/css; charset=utf-8", "{reference}");
            styles += 1;
        } else {
            panic!("unexpected reference {reference}");
        }
        assert_eq!(header(&headers, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
        assert!(header(&headers, header::CACHE_CONTROL).starts_with("public, max-age="));
        assert!(body.len() > 100, "{reference} is {} bytes", body.len());
    }
    assert_eq!((scripts, styles), (2, 1), "{references:?}");

    // The page's own script points the viewer at the description served next to it.
    let (_, _, init) = get(router, "/docs/assets/docs.js").await;
    let init = String::from_utf8(init.to_vec()).unwrap();
    assert!(init.contains("\"/openapi.json\""), "{init}");
    assert!(init.contains("validatorUrl: null"), "{init}");
    assert_no_remote_url("/docs/assets/docs.js", &init);
    let (status, headers, body) = get(router, "/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, header::CONTENT_TYPE), "application/json");
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(doc["paths"].get("/api/v1/admin/auth/login").is_some());

    let (status, _, _) = get(router, "/docs/assets/nothing-here.js").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn docs_page_and_its_assets_are_served_by_the_local_server() {
    // No database call is involved, so this runs with or without DynamoDB.
    let app = spawn_app_without_database().await;
    check_docs(&app.router).await;
}

#[tokio::test]
async fn docs_page_and_its_assets_are_served_by_the_api_docs_lambda() {
    check_docs(&api_docs::router(true)).await;
}

#[tokio::test]
async fn docs_can_be_switched_off_while_the_description_stays() {
    let Some(app) = spawn_app_with(&[("SCAIKEY_DOCS", "off")]).await else {
        return;
    };
    for router in [api_docs::router(false), scaikey_cli::app(app.state.clone())] {
        for (path, status) in [
            ("/docs", StatusCode::NOT_FOUND),
            ("/docs/assets/docs.js", StatusCode::NOT_FOUND),
            ("/openapi.json", StatusCode::OK),
        ] {
            let response = router
                .clone()
                .oneshot(Request::get(path).body(Body::empty()).unwrap())
                .await
                .unwrap();
            assert_eq!(response.status(), status, "{path}");
        }
    }
}
