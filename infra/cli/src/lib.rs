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
    doc.merge(admin_roles::AdminRolesApi::openapi());
    doc.merge(users::UsersApi::openapi());
    doc.merge(groups::GroupsApi::openapi());
    doc.merge(applications::ApplicationsApi::openapi());
    doc.merge(oauth::OAuthApi::openapi());
    doc.merge(registration_requests::RegistrationRequestsApi::openapi());
    doc.merge(identity_providers::IdentityProvidersApi::openapi());
    doc.merge(audit::AuditApi::openapi());
    doc.merge(dashboard::DashboardApi::openapi());
    doc.merge(sessions::SessionsApi::openapi());
    doc.merge(agents::AgentsApi::openapi());
    doc.merge(sign_in::SignInApi::openapi());
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
    // The token endpoints' client authentication (or `client_id`/`client_secret` in the form).
    components.add_security_scheme(
        "client_basic",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Basic).build()),
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
        .merge(admin_roles::routes())
        .merge(users::routes())
        .merge(groups::routes())
        .merge(applications::routes())
        .merge(oauth::routes())
        .merge(registration_requests::routes())
        .merge(identity_providers::routes())
        .merge(audit::routes())
        .merge(dashboard::routes())
        .merge(sessions::routes())
        .merge(agents::routes())
        .merge(sign_in::routes())
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
        );
    let routes = if state.config().docs_enabled {
        routes.merge(api_docs::page_routes())
    } else {
        routes
    };
    shared::http::finish(routes, state)
}

/// The audit catalogue: every action each group records, defined once in its group. The audit
/// group serves it (`GET /api/v1/admin/audit/actions`) from `docs/audit-actions.json`, which a
/// test keeps equal to this.
pub fn audit_actions() -> Vec<shared::audit::AuditAction> {
    [
        admin_auth::ACTIONS,
        partners::ACTIONS,
        tenants::ACTIONS,
        admin_roles::ACTIONS,
        users::ACTIONS,
        groups::ACTIONS,
        applications::ACTIONS,
        oauth::ACTIONS,
        registration_requests::ACTIONS,
        identity_providers::ACTIONS,
        sessions::ACTIONS,
        agents::ACTIONS,
        sign_in::ACTIONS,
        ops::ACTIONS,
    ]
    .concat()
}

/// The catalogue as committed in `docs/audit-actions.json`.
pub fn audit_actions_json() -> String {
    let mut text = serde_json::to_string_pretty(&audit_actions()).unwrap_or_default();
    text.push('\n');
    text
}

/// Where `scripts/dev` keeps its local key-encryption key, under the checkout.
pub const DEV_KEK_FILE: &str = ".data/dev-kek";

/// The CLI's configuration from the process environment, in the working directory
/// ([`config_with_dev_kek`]).
pub fn config_from_env()
-> Result<(shared::config::Config, Option<std::path::PathBuf>), shared::config::ConfigError> {
    config_with_dev_kek(|name| std::env::var(name).ok(), std::path::Path::new("."))
}

/// The CLI's configuration: `lookup`, except that next to a DynamoDB on this machine
/// (`DYNAMODB_ENDPOINT` on `127.0.0.1`, `localhost` or `[::1]`)
/// with neither `SCAIKEY_KMS_KEY_ID` nor `SCAIKEY_LOCAL_KEK_FILE` set, the local key-encryption
/// key `scripts/dev` made (`.data/dev-kek` under `dir`) is used when it exists — so `scaikey keys
/// rotate` in the checkout works next to `scripts/dev`'s database. Returns the file it fell back
/// to, if any.
pub fn config_with_dev_kek(
    lookup: impl Fn(&str) -> Option<String>,
    dir: &std::path::Path,
) -> Result<(shared::config::Config, Option<std::path::PathBuf>), shared::config::ConfigError> {
    let set = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    let fallback = dir.join(DEV_KEK_FILE);
    // Only next to a database on this machine: a real endpoint set by hand never gets the
    // development key.
    let local_database = set("DYNAMODB_ENDPOINT")
        .and_then(|e| url::Url::parse(&e).ok())
        .is_some_and(|u| matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]")));
    let use_dev_kek = local_database
        && set("SCAIKEY_KMS_KEY_ID").is_none()
        && set("SCAIKEY_LOCAL_KEK_FILE").is_none()
        && fallback.is_file();
    let config = shared::config::Config::from_lookup(|name| {
        if use_dev_kek && name == "SCAIKEY_LOCAL_KEK_FILE" {
            return Some(fallback.display().to_string());
        }
        lookup(name)
    })?;
    Ok((config, use_dev_kek.then_some(fallback)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_audit_action_is_defined_once() {
        let actions = audit_actions();
        let mut names: Vec<&str> = actions.iter().map(|a| a.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), actions.len(), "an action is defined twice");
        for action in &actions {
            assert!(
                action
                    .name
                    .starts_with(&format!("{}.", action.resource_type))
                    || action.name.starts_with("auth."),
                "{} should be <resource>.<verb>",
                action.name
            );
        }
    }

    #[test]
    fn docs_audit_actions_json_is_up_to_date() {
        let committed = include_str!("../../../docs/audit-actions.json");
        assert!(
            committed == audit_actions_json(),
            "docs/audit-actions.json is stale: run `cargo run -p scaikey-cli -- audit-actions > docs/audit-actions.json`"
        );
    }
}
