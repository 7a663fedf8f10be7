//! Every path parameter is bounded before it reaches a key: an oversized or malformed value on
//! any documented route answers a 4xx (404 or 422), never a 500 — authenticated or not.

use api_tests::*;
use axum::body::Body;
use axum::http::{Method, Request};

/// The values each parameter is tried with: far over DynamoDB's key size, with and without an
/// id prefix, and characters no key expects.
fn hostile_values() -> Vec<String> {
    vec![
        "a".repeat(3_000),
        format!("usr_{}", "a".repeat(3_000)),
        format!("tnt_{}", "0".repeat(26)),
        "%00%ff..%2F".to_owned(),
    ]
}

#[tokio::test]
async fn oversized_path_parameters_answer_4xx_on_every_route() {
    let Some(app) = spawn_app().await else { return };
    let root = app.root_token().await;
    let document = serde_json::to_value(scaikey_cli::openapi()).unwrap();
    let paths = document["paths"].as_object().unwrap();
    let mut tried = 0;
    for (template, operations) in paths {
        if !template.contains('{') {
            continue;
        }
        for (method, _) in operations.as_object().unwrap() {
            let method = match method.as_str() {
                "get" => Method::GET,
                "post" => Method::POST,
                "patch" => Method::PATCH,
                "put" => Method::PUT,
                "delete" => Method::DELETE,
                _ => continue,
            };
            for value in hostile_values() {
                let mut path = String::new();
                let mut rest = template.as_str();
                while let Some(open) = rest.find('{') {
                    let close = rest[open..].find('}').unwrap() + open;
                    path.push_str(&rest[..open]);
                    path.push_str(&value);
                    rest = &rest[close + 1..];
                }
                path.push_str(rest);
                for token in [Some(root.as_str()), None] {
                    let mut builder = Request::builder().method(method.clone()).uri(&path);
                    if let Some(token) = token {
                        builder = builder.header("authorization", format!("Bearer {token}"));
                    }
                    let request = if path.contains("/oauth/") {
                        builder
                            .header("content-type", "application/x-www-form-urlencoded")
                            .body(Body::from(
                                "grant_type=client_credentials&client_id=app_x&client_secret=x",
                            ))
                    } else if method == Method::POST || method == Method::PATCH {
                        builder
                            .header("content-type", "application/json")
                            .body(Body::from("{}"))
                    } else {
                        builder.body(Body::empty())
                    };
                    let reply = app.send(request.unwrap()).await;
                    tried += 1;
                    assert!(
                        reply.status.is_client_error(),
                        "{method} {template} with a {}-character parameter: {} {}",
                        value.len(),
                        reply.status,
                        reply.body
                    );
                }
            }
        }
    }
    assert!(tried > 100, "{tried} requests");
}
