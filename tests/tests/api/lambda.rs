//! The deployable artifact: each function's own binary, run under the Lambda Runtime API with
//! API Gateway HTTP API events (payload 2.0), answers as the local server answers the same
//! request — status, body and headers — with `x-request-id` taken from the request context.

use api_tests::lambda::{HttpApiEvent, LambdaFunction};
use api_tests::*;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use shared::ids::{PartnerId, TenantId};

const PARTNERS: &str = "/api/v1/admin/partners";
const TENANTS: &str = "/api/v1/admin/tenants";
/// What a client sends when it goes through a proxy; the audit trail must not believe it.
const FORWARDED_FOR: &str = "203.0.113.1, 10.0.0.1";

fn without_request_id(headers: &HeaderMap) -> HeaderMap {
    let mut headers = headers.clone();
    headers.remove("x-request-id");
    headers
}

/// Sends `event` to the function and the same request to the local server; both must answer
/// alike, but for the request id, which the function takes from the request context.
async fn same_answer(app: &TestApp, function: &mut LambdaFunction, event: &HttpApiEvent) -> Reply {
    let lambda = function.invoke(event).await;
    let local = app.send(event.to_request()).await;
    assert_eq!(
        (lambda.status, &lambda.body),
        (local.status, &local.body),
        "function (left) and local server (right) differ for {}",
        event.to_json()
    );
    assert_eq!(
        without_request_id(&lambda.headers),
        without_request_id(&local.headers)
    );
    assert_eq!(
        lambda.headers["x-request-id"],
        event.request_id.as_str(),
        "the request context's id, not the client's header"
    );
    lambda
}

/// The audit event a request wrote, found by its request id.
async fn event_of_request(app: &TestApp, request_id: &str) -> Value {
    let table = app.snapshot().await;
    let events: Vec<&Value> = table
        .values()
        .filter(|item| item["SK"] == "EVENT" && item["request_id"] == request_id)
        .collect();
    assert_eq!(events.len(), 1, "one event for {request_id}: {events:?}");
    events[0].clone()
}

fn login_event(email: &str, password: &str) -> HttpApiEvent {
    HttpApiEvent::new(
        "POST",
        "ANY /api/v1/admin/auth/{proxy+}",
        "/api/v1/admin/auth/login",
    )
    .path_parameter("proxy", "login")
    .header("x-forwarded-for", FORWARDED_FOR)
    .json_body(&json!({"email": email, "password": password}))
}

#[tokio::test]
async fn the_admin_auth_binary_answers_api_gateway_events_as_the_local_server_does() {
    let Some(app) = spawn_app().await else { return };
    let Some(mut function) = LambdaFunction::start(&app, "admin-auth").await else {
        return;
    };

    // Cookies, a repeated header (joined with a comma in payload 2.0) and a client-chosen
    // request id, which the local server echoes and the function replaces.
    let health = HttpApiEvent::new("GET", "GET /api/v1/health", "/api/v1/health")
        .cookie("session=abc")
        .cookie("theme=dark")
        .header("accept", "application/json")
        .header("accept", "text/plain")
        .header("x-request-id", "client-chosen-id");
    let reply = same_answer(&app, &mut function, &health).await;
    assert_eq!(
        (reply.status, reply.body),
        (StatusCode::OK, json!({"status": "ok"}))
    );

    let jwks = HttpApiEvent::new(
        "GET",
        "GET /api/v1/platform/.well-known/jwks.json",
        "/api/v1/platform/.well-known/jwks.json",
    );
    let reply = same_answer(&app, &mut function, &jwks).await;
    assert_eq!(reply.status, StatusCode::OK);

    // A base64 body; the refusal is audited with API Gateway's request id and source address.
    let refused = login_event(ADMIN_EMAIL, "wrong password");
    let reply = same_answer(&app, &mut function, &refused).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let event = event_of_request(&app, &refused.request_id).await;
    assert_eq!(
        (&event["action"], &event["result"]),
        (&json!("auth.login"), &json!("FAILURE"))
    );
    assert_eq!(event["ip_address"], refused.source_ip.as_str());
    assert_eq!(event["user_agent"], "scaikey-tests/1");

    // Tokens differ per login: same status and fields, and the function's token is good.
    let accepted = login_event(ADMIN_EMAIL, ADMIN_PASSWORD);
    let lambda = function.invoke(&accepted).await;
    let local = app.send(accepted.to_request()).await;
    assert_eq!(
        (lambda.status, local.status),
        (StatusCode::OK, StatusCode::OK)
    );
    let fields = |body: &Value| {
        let mut names: Vec<String> = body
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        names.sort();
        names
    };
    assert_eq!(fields(&lambda.body), fields(&local.body));
    assert_eq!(lambda.headers["x-request-id"], accepted.request_id.as_str());
    let token = lambda.body["access_token"].as_str().expect("access token");
    let me = app.get("/api/v1/admin/auth/me", token).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(me.body["email"], ADMIN_EMAIL);

    // A named stage: lambda_http puts it in front of the path whether or not rawPath has it, so
    // only the `$default` stage (infra/template.yaml) reaches the routes.
    for raw_path in ["/prod/api/v1/health", "/api/v1/health"] {
        let staged = HttpApiEvent::new("GET", "GET /api/v1/health", raw_path).stage("prod");
        let lambda = function.invoke(&staged).await;
        let local = app
            .call(axum::http::Method::GET, "/prod/api/v1/health", None, None)
            .await;
        assert_eq!(lambda.status, StatusCode::NOT_FOUND, "{raw_path}");
        assert_eq!((lambda.status, lambda.body), (local.status, local.body));
    }
}

#[tokio::test]
async fn the_partners_binary_answers_api_gateway_events_as_the_local_server_does() {
    let Some(app) = spawn_app().await else { return };
    let Some(mut function) = LambdaFunction::start(&app, "partners").await else {
        return;
    };
    let root = app.root_token().await;
    let acme = app.create_partner(&root, "acme").await;
    let collection = "ANY /api/v1/admin/partners";
    let item = "ANY /api/v1/admin/partners/{proxy+}";

    let list =
        HttpApiEvent::new("GET", collection, &format!("{PARTNERS}?limit=1&offset=0")).bearer(&root);
    let reply = same_answer(&app, &mut function, &list).await;
    assert_eq!(reply.status, StatusCode::OK);

    let read = HttpApiEvent::new("GET", item, &format!("{PARTNERS}/{acme}"))
        .path_parameter("proxy", &acme)
        .bearer(&root);
    let reply = same_answer(&app, &mut function, &read).await;
    assert_eq!((reply.status, reply.id()), (StatusCode::OK, acme.clone()));

    let unknown = PartnerId::generate().to_string();
    let missing = HttpApiEvent::new("GET", item, &format!("{PARTNERS}/{unknown}"))
        .path_parameter("proxy", &unknown)
        .bearer(&root);
    let reply = same_answer(&app, &mut function, &missing).await;
    assert_eq!(
        (reply.status, reply.body),
        (StatusCode::NOT_FOUND, detail("Partner not found"))
    );

    let invalid = HttpApiEvent::new("POST", collection, PARTNERS)
        .bearer(&root)
        .json_body(&json!({"name": "", "slug": "Not A Slug", "contact_email": "nobody"}));
    let reply = same_answer(&app, &mut function, &invalid).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);

    let anonymous = HttpApiEvent::new("GET", collection, PARTNERS);
    let reply = same_answer(&app, &mut function, &anonymous).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);

    // A write through the function: it reads back the same through the local server, and its
    // event carries API Gateway's request id and source address, not X-Forwarded-For.
    let create = HttpApiEvent::new("POST", collection, PARTNERS)
        .bearer(&root)
        .header("x-forwarded-for", FORWARDED_FOR)
        .json_body(
            &json!({"name": "Globex", "slug": "globex", "contact_email": "ops@globex.test"}),
        );
    let created = function.invoke(&create).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.headers["x-request-id"], create.request_id.as_str());
    let read_back = app
        .get(&format!("{PARTNERS}/{}", created.id()), &root)
        .await;
    assert_eq!(read_back.body, created.body);
    let event = event_of_request(&app, &create.request_id).await;
    assert_eq!(
        (&event["action"], &event["result"]),
        (&json!("partner.create"), &json!("SUCCESS"))
    );
    assert_eq!(event["ip_address"], create.source_ip.as_str());
}

#[tokio::test]
async fn the_tenants_binary_answers_api_gateway_events_as_the_local_server_does() {
    let Some(app) = spawn_app().await else { return };
    let Some(mut function) = LambdaFunction::start(&app, "tenants").await else {
        return;
    };
    let root = app.root_token().await;
    let acme = app.create_partner(&root, "acme").await;
    let hq = app.create_tenant(&root, &acme, "acme-hq").await;
    let collection = "ANY /api/v1/admin/tenants";
    let item = "ANY /api/v1/admin/tenants/{proxy+}";

    let read = HttpApiEvent::new("GET", item, &format!("{TENANTS}/{hq}"))
        .path_parameter("proxy", &hq)
        .bearer(&root)
        .cookie("a=1")
        .header("accept-language", "en")
        .header("accept-language", "fr;q=0.5");
    let reply = same_answer(&app, &mut function, &read).await;
    assert_eq!((reply.status, reply.id()), (StatusCode::OK, hq.clone()));

    let list = HttpApiEvent::new(
        "GET",
        collection,
        &format!("{TENANTS}?partner_id={acme}&limit=5"),
    )
    .bearer(&root);
    let reply = same_answer(&app, &mut function, &list).await;
    assert_eq!(reply.status, StatusCode::OK);

    let unknown = TenantId::generate().to_string();
    let missing = HttpApiEvent::new("GET", item, &format!("{TENANTS}/{unknown}"))
        .path_parameter("proxy", &unknown)
        .bearer(&root);
    let reply = same_answer(&app, &mut function, &missing).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);

    let invalid = HttpApiEvent::new("PATCH", item, &format!("{TENANTS}/{hq}"))
        .path_parameter("proxy", &hq)
        .bearer(&root)
        .json_body(&json!({"slug": "Not A Slug", "settings": 7}));
    let reply = same_answer(&app, &mut function, &invalid).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);

    let unauthenticated = HttpApiEvent::new("DELETE", item, &format!("{TENANTS}/{hq}"))
        .path_parameter("proxy", &hq)
        .bearer("not-a-token");
    let reply = same_answer(&app, &mut function, &unauthenticated).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);

    // A method the route does not have: the JSON 405 comes from the binary as well.
    let wrong_method = HttpApiEvent::new("PUT", item, &format!("{TENANTS}/{hq}"))
        .path_parameter("proxy", &hq)
        .bearer(&root);
    let reply = same_answer(&app, &mut function, &wrong_method).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn the_api_docs_binary_serves_the_description_and_the_page_as_the_local_server_does() {
    let Some(app) = spawn_app().await else { return };
    let Some(mut function) = LambdaFunction::start(&app, "api-docs").await else {
        return;
    };
    for (route, path) in [
        ("GET /openapi.json", "/openapi.json"),
        ("GET /docs", "/docs"),
        (
            "GET /docs/assets/{proxy+}",
            "/docs/assets/swagger-ui-5.35.0/swagger-ui.css",
        ),
    ] {
        let reply = same_answer(&app, &mut function, &HttpApiEvent::new("GET", route, path)).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
    }
}
