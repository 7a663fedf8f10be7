//! The committed API description stays in step with the code.

#[test]
fn docs_openapi_json_is_up_to_date() {
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json"))
            .unwrap();
    let generated = scaikey_cli::openapi_json();
    assert!(
        committed == generated,
        "docs/openapi.json is stale: run `cargo run -p scaikey-cli -- openapi > docs/openapi.json`"
    );
    let doc: serde_json::Value = serde_json::from_str(&generated).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/v1/admin/auth/login",
        "/api/v1/admin/partners",
        "/api/v1/admin/tenants/{tenant_id}",
        "/api/v1/health",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
}

/// The document names what the reference names and states what the code enforces (SPEC §2):
/// the reference's operation titles and tag, the enums of statuses and results, the 403 every
/// authenticated operation can answer, and bodies whose rules hang on another field as one
/// variant per case (`oneOf`), so a generated client types them as tightly as the API checks.
#[test]
fn the_document_names_and_types_what_the_api_enforces() {
    let doc: serde_json::Value = serde_json::from_str(&scaikey_cli::openapi_json()).unwrap();
    let op = |path: &str, method: &str| doc["paths"][path][method].clone();
    let apps = "/api/v1/admin/applications/{application_id}";
    assert_eq!(
        op(&format!("{apps}/effective-users"), "get")["summary"],
        "Get Application Effective Users"
    );
    assert_eq!(
        op(&format!("{apps}/rotate-secret"), "post")["summary"],
        "Rotate Application Secret"
    );
    for (path, method) in [
        ("/api/v1/admin/agents", "get"),
        ("/api/v1/admin/agents", "post"),
        ("/api/v1/admin/agents/{agent_id}", "patch"),
        ("/api/v1/admin/agents/{agent_id}/rotate-secret", "post"),
    ] {
        assert_eq!(
            op(path, method)["tags"],
            serde_json::json!(["MCP Agents"]),
            "{path}"
        );
    }

    // Every operation that takes a bearer token documents the 403 it answers a caller outside
    // its tier (a non-admin token, a platform token without the scope).
    let mut missing = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let bearer = operation["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
            // `/me` and logout serve any admin; userinfo takes a user's token, never an admin's
            // (a token it does not take is a 401 `invalid_token`).
            let exempt = [
                "/api/v1/admin/auth/me",
                "/api/v1/admin/auth/logout",
                "/api/v1/auth/tenants/{tenant_slug}/oauth/userinfo",
                "/api/v1/platform/oauth/userinfo",
            ];
            if bearer
                && !exempt.contains(&path.as_str())
                && operation["responses"].get("403").is_none()
            {
                missing.push(format!("{method} {path}"));
            }
        }
    }
    assert!(missing.is_empty(), "no 403 documented: {missing:?}");

    // The enums the code enforces.
    let schemas = &doc["components"]["schemas"];
    let resolve = |schema: &serde_json::Value| -> serde_json::Value {
        match schema["$ref"].as_str() {
            Some(r) => schemas[r.trim_start_matches("#/components/schemas/")].clone(),
            None => schema.clone(),
        }
    };
    let enum_of =
        |schema: &str, field: &str| resolve(&schemas[schema]["properties"][field])["enum"].clone();
    assert_eq!(
        enum_of("ApplicationResponse", "status"),
        serde_json::json!(["ACTIVE", "SUSPENDED"])
    );
    assert_eq!(
        enum_of("RequestResponse", "status"),
        serde_json::json!(["PENDING", "APPROVED", "REJECTED", "CANCELLED", "EXPIRED"])
    );
    assert_eq!(
        enum_of("AuditEventResponse", "result"),
        serde_json::json!(["SUCCESS", "FAILURE", "DENIED"])
    );
    assert_eq!(
        enum_of("Approved", "client_id"),
        serde_json::Value::Null,
        "client_id is a plain string"
    );
    assert!(
        schemas["Approved"]["required"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("client_id"))
    );

    // Bodies whose rules hang on another field: one variant per case.
    for (path, method, variants) in [
        ("/api/v1/admin/admin-roles", "post", 3),
        ("/api/v1/admin/applications", "post", 3),
        ("/api/v1/admin/registration-requests", "post", 3),
        ("/api/v1/admin/identity-providers", "post", 2),
        ("/api/v1/admin/sessions/revoke-all", "post", 2),
        ("/api/v1/admin/users/{user_id}/reset-password", "post", 2),
    ] {
        let body =
            resolve(&op(path, method)["requestBody"]["content"]["application/json"]["schema"]);
        assert_eq!(
            body["oneOf"].as_array().map(Vec::len),
            Some(variants),
            "{method} {path}: {body}"
        );
    }
    // A create names the owner its scope needs, and only that one.
    let props = |name: &str| -> Vec<String> {
        let schema = &schemas[name];
        let parts: Vec<serde_json::Value> = match schema["allOf"].as_array() {
            Some(parts) => parts.iter().map(&resolve).collect(),
            None => vec![schema.clone()],
        };
        let mut names: Vec<String> = parts
            .iter()
            .filter_map(|p| p["properties"].as_object())
            .flat_map(|p| p.keys().cloned())
            .collect();
        names.sort();
        names
    };
    let has = |name: &str, field: &str| props(name).contains(&field.to_owned());
    assert!(
        !has("GlobalApplicationCreate", "partner_id")
            && !has("GlobalApplicationCreate", "tenant_id")
    );
    assert!(
        has("PartnerApplicationCreate", "partner_id")
            && !has("PartnerApplicationCreate", "tenant_id")
    );
    assert!(has("TenantApplicationCreate", "tenant_id"));
    assert!(has("PartnerAdminGrant", "partner_id") && !has("PartnerAdminGrant", "tenant_id"));
    assert!(has("TenantAdminGrant", "tenant_id") && !has("TenantAdminGrant", "partner_id"));
    assert!(!has("SuperAdminGrant", "partner_id") && !has("SuperAdminGrant", "tenant_id"));
    // The values the parsers check are typed too.
    for (schema, pattern_of) in [
        ("RedirectUri", "pattern"),
        ("Origin", "pattern"),
        ("ScopeToken", "pattern"),
        ("ToolName", "pattern"),
    ] {
        assert!(schemas[schema][pattern_of].is_string(), "{schema}");
    }
}
