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
