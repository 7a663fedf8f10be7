//! Identity providers (SPEC §4.9): CRUD of OIDC and SAML providers, the client secret stored
//! only sealed and never shown, domains routed to one provider per tenant (also under races),
//! tiers and isolation, platform tokens, round trips.

use std::collections::HashSet;

use api_tests::*;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use data_encoding::BASE64;
use serde_json::{Value, json};
use shared::access::AdminRole;
use tower::ServiceExt;

const BASE: &str = "/api/v1/admin/identity-providers";
const SECRET: &str = "oidc-client-secret-Zq8vT3kL0pW6";
const OTHER_SECRET: &str = "rotated-client-secret-Hb2xN9sR4mY1";

/// A real self-signed certificate (`openssl req -x509 -newkey rsa:2048 -nodes -subj
/// /CN=idp.example.com -days 3650`).
const CERTIFICATE: &str = "-----BEGIN CERTIFICATE-----\nMIIDFTCCAf2gAwIBAgIUZaMzfIfvc2JAQ+kBoTEF2ohP88swDQYJKoZIhvcNAQEL\nBQAwGjEYMBYGA1UEAwwPaWRwLmV4YW1wbGUuY29tMB4XDTI2MTEyODA2NDkxOVoX\nDTM2MTEyNTA2NDkxOVowGjEYMBYGA1UEAwwPaWRwLmV4YW1wbGUuY29tMIIBIjAN\nBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA2j40PBK4hnbso1tnJzdztz8ZWxqm\nUh96Oj7RaGfQ/RDWI5MgwyQMk4EuPLEjd9GqyQ9u3LwaRfrW5FjQZhAFl4HoI7CY\ntTQPSn5QUZpsE+mvnTPXWkNXbp1dc/WSOu6ERZAiV1sNSlO0UzuxcoxXXEPc/JSo\n+cp88DwdjYP0AXF51gecq4zh3xKrXJ64zMtQLyZ2aYypA6w5UHl1kNmg0al6z8wR\nC+FKVOQoHmSfTSLU5y5sv1aclBK+Q5eypV9C9vB7Az0E3n//DnH2XLYX7t5wIhwh\nm/omgZQCzRzjZT9V/r9/dWJfXix1XOQhYRY2xtrnCxxJysBFco/QIolh6wIDAQAB\no1MwUTAdBgNVHQ4EFgQUBfCExi/xD5oJW+684NaKiMj38wcwHwYDVR0jBBgwFoAU\nBfCExi/xD5oJW+684NaKiMj38wcwDwYDVR0TAQH/BAUwAwEB/zANBgkqhkiG9w0B\nAQsFAAOCAQEAt9VxUzQ13QocpziEGSiv1KzgN5mFmLrcD3BP4vcoOjii91jjwD9c\nu2gcPauxRm05YrFZwe8gEdgOs4Lc0aSicWmDJrgouFSxahgF4hXeiS6qn+EauGu1\n85RxXUW+4afB9Q8DPTdIqDYCHDV9DayNylWoCiskcHd67FFhYJISy0pXoorURTZC\n6h4HePGYT4pqAgQlzGqbgDKiqZ/SbDsg11jO5rD3V6nwSPwn/rAXxn+ktpOCRPEt\nk5+/+MI0tq+k79f7YUD0QqBrBrdJEw3UM+93SjLlju3EzVRj0TkTp1jpR78KEWXC\nCwSv7JHjvMwORmfqh1hmBp/NfW48Ed4yhQ==\n-----END CERTIFICATE-----";

fn path(id: &str) -> String {
    format!("{BASE}/{id}")
}

fn ids(reply: &Reply) -> Vec<String> {
    reply.body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a list: {}", reply.body))
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

fn oidc(tenant: &str, name: &str, domains: &[&str]) -> Value {
    json!({
        "tenant_id": tenant,
        "name": name,
        "provider_type": "OIDC",
        "domains": domains,
        "config": {
            "issuer": "https://login.acme.example",
            "client_id": "acme-portal",
            "client_secret": SECRET,
        },
    })
}

fn saml(tenant: &str, name: &str, domains: &[&str]) -> Value {
    json!({
        "tenant_id": tenant,
        "name": name,
        "provider_type": "SAML",
        "domains": domains,
        "config": {
            "entity_id": "urn:acme:adfs",
            "sso_url": "https://adfs.acme.example/adfs/ls",
            "x509_certificate": CERTIFICATE,
        },
    })
}

async fn create(app: &TestApp, token: &str, body: Value) -> String {
    let reply = app.post(BASE, token, body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.id()
}

/// The whole table as one text: what must never hold a secret.
async fn table_text(app: &TestApp) -> String {
    serde_json::to_string(&app.snapshot().await).unwrap()
}

#[tokio::test]
async fn an_oidc_provider_is_created_read_updated_listed_and_deleted_in_few_round_trips() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let before = app.calls();
    let created = app
        .post(
            BASE,
            &w.root,
            oidc(
                &w.acme_hq,
                "Acme Okta",
                &["Acme.Example", "eu.acme.example"],
            ),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(app.calls() - before, 2, "session batch + one transaction");
    let id = created.id();
    assert!(id.starts_with("idp_") && id.len() == 30, "{id}");
    let body = &created.body;
    assert_eq!(body["tenant_id"], w.acme_hq.as_str());
    assert_eq!(body["name"], "Acme Okta");
    assert_eq!(body["provider_type"], "OIDC");
    assert_eq!(body["status"], "ACTIVE");
    assert_eq!(body["jit_provisioning"], false);
    assert_eq!(body["domains"], json!(["acme.example", "eu.acme.example"]));
    assert_eq!(
        body["config"],
        json!({
            "issuer": "https://login.acme.example",
            "client_id": "acme-portal",
            "client_secret_set": true,
            "scopes": ["openid", "profile", "email"],
            "claim_mappings": {},
        })
    );
    assert!(body["created_at"].is_string() && body["updated_at"].is_string());

    let before = app.calls();
    let read = app.get(&path(&id), &w.root).await;
    assert_eq!(app.calls() - before, 1, "a read by id is one round trip");
    assert_eq!((read.status, &read.body), (StatusCode::OK, &created.body));

    let before = app.calls();
    let updated = app
        .patch(
            &path(&id),
            &w.root,
            json!({"name": "Acme SSO", "status": "SUSPENDED", "jit_provisioning": true,
                   "provider_type": "OIDC",
                   "config": {"issuer": "https://sso.acme.example/oauth2", "client_id": "portal-2",
                              "scopes": ["openid", "email"], "claim_mappings": {"email": "mail"}}}),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(app.calls() - before, 2);
    assert_eq!(updated.body["name"], "Acme SSO");
    assert_eq!(updated.body["status"], "SUSPENDED");
    assert_eq!(updated.body["jit_provisioning"], true);
    assert_eq!(
        updated.body["config"],
        json!({
            "issuer": "https://sso.acme.example/oauth2",
            "client_id": "portal-2",
            "client_secret_set": true,
            "scopes": ["openid", "email"],
            "claim_mappings": {"email": "mail"},
        }),
        "an absent client_secret keeps the stored one"
    );
    assert_eq!(updated.body["domains"], created.body["domains"]);

    let before = app.calls();
    let list = app
        .get(&format!("{BASE}?tenant_id={}", w.acme_hq), &w.root)
        .await;
    assert_eq!(app.calls() - before, 2, "session batch + one query");
    assert_eq!(list.body["items"], json!([updated.body]));
    assert_eq!(list.body["pagination"]["total"], 1);

    let before = app.calls();
    let deleted = app.delete(&path(&id), &w.root).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    assert_eq!(app.calls() - before, 2);
    assert_eq!(
        (app.get(&path(&id), &w.root).await.body),
        detail("Identity provider not found")
    );
    assert_eq!(
        app.delete(&path(&id), &w.root).await.status,
        StatusCode::NOT_FOUND
    );
    let list = app.get(BASE, &w.root).await;
    assert_eq!(list.body["pagination"]["total"], 0);
    assert!(ids(&list).is_empty());

    // Each write committed its event, under the tenant and its partner.
    let table = app.snapshot().await;
    let mut actions: Vec<&str> = table
        .values()
        .filter(|i| i["SK"] == "EVENT" && i["resource_id"] == id.as_str())
        .map(|i| {
            assert_eq!(i["resource_type"], "identity_provider");
            assert_eq!(i["tenant_id"], w.acme_hq.as_str());
            assert_eq!(i["partner_id"], w.acme.as_str());
            assert_eq!(i["result"], "SUCCESS");
            i["action"].as_str().unwrap()
        })
        .collect();
    actions.sort_unstable();
    assert_eq!(
        actions,
        [
            "identity_provider.create",
            "identity_provider.delete",
            "identity_provider.update"
        ]
    );
}

#[tokio::test]
async fn a_saml_provider_keeps_its_certificate_and_takes_its_defaults() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let created = app
        .post(BASE, &w.root, saml(&w.acme_hq, "Acme ADFS", &[]))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["provider_type"], "SAML");
    assert_eq!(created.body["domains"], json!([]));
    assert_eq!(
        created.body["config"],
        json!({
            "entity_id": "urn:acme:adfs",
            "sso_url": "https://adfs.acme.example/adfs/ls",
            "x509_certificate": CERTIFICATE,
            "name_id_format": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
            "attribute_mappings": {},
        })
    );
    let id = created.id();
    // A PATCH's config replaces the config: what it omits takes its default again.
    let with_padding = format!("\n  {CERTIFICATE}\n\n");
    let updated = app
        .patch(
            &path(&id),
            &w.root,
            json!({"config": {"entity_id": "urn:acme:adfs:2", "sso_url": "https://adfs.acme.example/sso?tenant=1",
                              "x509_certificate": with_padding,
                              "name_id_format": "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
                              "attribute_mappings": {"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress": "email"}}}),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(updated.body["config"]["x509_certificate"], CERTIFICATE);
    assert_eq!(
        updated.body["config"]["name_id_format"],
        "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
    );
    let reset = app
        .patch(
            &path(&id),
            &w.root,
            json!({"config": {"entity_id": "e", "sso_url": "https://a.example/sso", "x509_certificate": CERTIFICATE}}),
        )
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
    assert_eq!(
        reset.body["config"]["name_id_format"],
        "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
    );
    assert_eq!(reset.body["config"]["attribute_mappings"], json!({}));
    assert_eq!(app.get(&path(&id), &w.root).await.body, reset.body);
    // Filters: type and name search, newest first.
    let oidc_id = create(app, &w.root, oidc(&w.acme_hq, "Okta", &[])).await;
    for (query, expected) in [
        ("provider_type=SAML", vec![id.clone()]),
        ("provider_type=OIDC", vec![oidc_id.clone()]),
        ("search=ADFS", vec![id.clone()]),
        ("search=okt", vec![oidc_id.clone()]),
        ("search=a", vec![oidc_id.clone(), id.clone()]),
        ("", vec![oidc_id.clone(), id.clone()]),
    ] {
        let list = app
            .get(&format!("{BASE}?tenant_id={}&{query}", w.acme_hq), &w.root)
            .await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.body);
        assert_eq!(ids(&list), expected, "{query}");
        assert_eq!(list.body["pagination"]["total"], expected.len(), "{query}");
    }
    let bad = app
        .get(&format!("{BASE}?provider_type=LDAP"), &w.root)
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(locs(&bad), vec![json!(["query", "provider_type"])]);
    // Pages and cursors, as every list.
    let first = app.get(&format!("{BASE}?per_page=1"), &w.root).await;
    assert_eq!(ids(&first), vec![oidc_id.clone()]);
    assert_eq!(first.body["pagination"]["total"], 2);
    let cursor = first.body["pagination"]["next_cursor"].as_str().unwrap();
    let second = app
        .get(&format!("{BASE}?per_page=1&cursor={cursor}"), &w.root)
        .await;
    assert_eq!(ids(&second), vec![id.clone()]);
    assert_eq!(second.body["pagination"]["next_cursor"], Value::Null);
}

#[tokio::test]
async fn bad_bodies_and_unknown_ids_are_refused() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let post = |body: Value, field: &'static str| {
        let root = w.root.clone();
        async move { assert_invalid(app, Method::POST, BASE, &root, body, field).await }
    };
    let with_config = |base: Value, config: Value| {
        let mut body = base;
        body["config"] = config;
        body
    };
    let oidc_body = oidc(&w.acme_hq, "Okta", &[]);
    let saml_body = saml(&w.acme_hq, "ADFS", &[]);
    // (body, the full location of the one problem)
    let cases = [
        (
            with_config(
                oidc_body.clone(),
                json!({"issuer": "http://login.acme.example", "client_id": "c"}),
            ),
            json!(["body", "config", "issuer"]),
        ),
        (
            with_config(
                oidc_body.clone(),
                json!({"issuer": "login.acme.example", "client_id": "c"}),
            ),
            json!(["body", "config", "issuer"]),
        ),
        (
            with_config(
                oidc_body.clone(),
                json!({"issuer": "https://login.acme.example"}),
            ),
            json!(["body", "config", "client_id"]),
        ),
        (
            with_config(
                oidc_body.clone(),
                json!({"issuer": "https://l.example", "client_id": "c", "client_secret": ""}),
            ),
            json!(["body", "config", "client_secret"]),
        ),
        (
            with_config(
                oidc_body.clone(),
                json!({"issuer": "https://l.example", "client_id": "c", "scopes": ["openid", "a b"]}),
            ),
            json!(["body", "config", "scopes", 1]),
        ),
        (
            with_config(
                oidc_body.clone(),
                json!({"issuer": "https://l.example", "client_id": "c", "claim_mappings": {"email": 5}}),
            ),
            json!(["body", "config", "claim_mappings", "email"]),
        ),
        (
            with_config(
                saml_body.clone(),
                json!({"sso_url": "https://a.example/sso", "x509_certificate": CERTIFICATE}),
            ),
            json!(["body", "config", "entity_id"]),
        ),
        (
            with_config(
                saml_body.clone(),
                json!({"entity_id": "e", "sso_url": "https://a.example/sso", "x509_certificate": "MIIDFTCCAf2gAwIBAgIU"}),
            ),
            json!(["body", "config", "x509_certificate"]),
        ),
        (
            with_config(
                saml_body.clone(),
                json!({"entity_id": "e", "sso_url": "https://a.example/sso",
                       "x509_certificate": "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----"}),
            ),
            json!(["body", "config", "x509_certificate"]),
        ),
        (
            with_config(
                saml_body.clone(),
                json!({"entity_id": "e", "sso_url": "http://a.example/sso", "x509_certificate": CERTIFICATE}),
            ),
            json!(["body", "config", "sso_url"]),
        ),
        (
            with_config(
                saml_body.clone(),
                json!({"entity_id": "e", "sso_url": "https://a.example/sso", "x509_certificate": CERTIFICATE, "client_secret": "x"}),
            ),
            json!(["body", "config", "client_secret"]),
        ),
        (
            with_config(oidc_body.clone(), json!("not an object")),
            json!(["body", "config"]),
        ),
        (
            json!({"tenant_id": w.acme_hq, "name": "x", "provider_type": "LDAP", "config": {}}),
            json!(["body", "provider_type"]),
        ),
        (
            oidc(&w.acme_hq, "x", &["not a domain"]),
            json!(["body", "domains", 0]),
        ),
        (
            oidc(&w.acme_hq, "x", &["acme.example", "ACME.example"]),
            json!(["body", "domains", 1]),
        ),
        (
            oidc(&w.acme_hq, "x", &["acme.example", "localhost"]),
            json!(["body", "domains", 1]),
        ),
        (oidc(&w.acme_hq, "", &[]), json!(["body", "name"])),
        (oidc("tnt_nope", "x", &[]), json!(["body", "tenant_id"])),
    ];
    for (body, loc) in cases {
        let field = if loc[1] == "config" {
            "config"
        } else if loc[1] == "domains" {
            "domains"
        } else if loc[1] == "provider_type" {
            "provider_type"
        } else if loc[1] == "name" {
            "name"
        } else {
            "tenant_id"
        };
        let reply = post(body.clone(), field).await;
        assert_eq!(locs(&reply), vec![loc], "{body}");
    }
    let many: Vec<String> = (0..51).map(|i| format!("d{i}.acme.example")).collect();
    let mut too_many = oidc(&w.acme_hq, "x", &[]);
    too_many["domains"] = json!(many);
    post(too_many, "domains").await;
    // Several problems at once, each located.
    let reply = post(
        json!({"provider_type": "SAML", "config": {"sso_url": 1}}),
        "config",
    )
    .await;
    let mut got: Vec<String> = locs(&reply).iter().map(Value::to_string).collect();
    got.sort();
    assert_eq!(
        got,
        [
            r#"["body","config","entity_id"]"#,
            r#"["body","config","sso_url"]"#,
            r#"["body","config","x509_certificate"]"#,
            r#"["body","name"]"#,
            r#"["body","tenant_id"]"#,
        ]
    );

    // Updates: the type never changes; the config is checked against the stored type.
    let id = create(app, &w.root, oidc(&w.acme_hq, "Okta", &[])).await;
    let patch = |body: Value, field: &'static str| {
        let root = w.root.clone();
        let at = path(&id);
        async move { assert_invalid(app, Method::PATCH, &at, &root, body, field).await }
    };
    patch(json!({"provider_type": "SAML"}), "provider_type").await;
    patch(
        json!({"config": {"entity_id": "e", "sso_url": "https://a.example/sso", "x509_certificate": CERTIFICATE}}),
        "config",
    )
    .await;
    let reply = patch(
        json!({"config": {"issuer": "http://x.example", "client_id": "c"}}),
        "config",
    )
    .await;
    assert_eq!(locs(&reply), vec![json!(["body", "config", "issuer"])]);
    for (body, field) in [
        (json!({"name": null}), "name"),
        (json!({"status": "DELETED"}), "status"),
        (json!({"domains": null}), "domains"),
        (json!({"domains": ["a..b"]}), "domains"),
        (json!({"jit_provisioning": "maybe"}), "jit_provisioning"),
        (json!({"config": null}), "config"),
    ] {
        patch(body, field).await;
    }

    // Unknown ids and ids of another kind: 404, nothing read.
    for unknown in [
        "idp_00000000000000000000000000".to_owned(),
        "grp_00000000000000000000000000".to_owned(),
        "nope".to_owned(),
    ] {
        for reply in [
            app.get(&path(&unknown), &w.root).await,
            app.patch(&path(&unknown), &w.root, json!({"name": "x"}))
                .await,
            app.delete(&path(&unknown), &w.root).await,
        ] {
            assert_eq!(
                (reply.status, reply.body),
                (StatusCode::NOT_FOUND, detail("Identity provider not found")),
                "{unknown}"
            );
        }
    }
    // A tenant that does not exist: 404 for the super admin.
    let reply = app
        .post(
            BASE,
            &w.root,
            oidc("tnt_00000000000000000000000000", "x", &[]),
        )
        .await;
    assert_eq!(
        (reply.status, reply.body),
        (StatusCode::NOT_FOUND, detail("Tenant not found"))
    );
}

/// The client secret is sealed under the key-encryption key (purpose `scaikey-idp-secret`,
/// bound to the provider's id) and never appears in a response, an event or anywhere in the
/// table; `client_secret_set` tells whether there is one.
#[tokio::test]
async fn the_client_secret_is_stored_sealed_and_never_shown() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let created = app.post(BASE, &w.root, oidc(&w.acme_hq, "Okta", &[])).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.id();
    let mut responses = vec![created.body.clone()];
    responses.push(app.get(&path(&id), &w.root).await.body);
    responses.push(app.get(BASE, &w.root).await.body);

    let table = app.snapshot().await;
    let item = &table[&format!("IDP#{id} IDP")];
    let sealed = &item["client_secret_sealed"];
    assert_eq!(
        sealed.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["ciphertext", "kek", "wrapped_key"]
    );
    assert!(item["config"].get("client_secret").is_none());
    let opened = app
        .state
        .kek()
        .expect("the test app has a KEK")
        .open_for(
            "scaikey-idp-secret",
            &id,
            &shared::sealing::Sealed {
                kek: sealed["kek"].as_str().unwrap().to_owned(),
                wrapped_key: BASE64
                    .decode(sealed["wrapped_key"].as_str().unwrap().as_bytes())
                    .unwrap(),
                ciphertext: BASE64
                    .decode(sealed["ciphertext"].as_str().unwrap().as_bytes())
                    .unwrap(),
            },
        )
        .await
        .expect("the sealed secret opens for its provider");
    assert_eq!(opened, SECRET.as_bytes());
    let event = table
        .values()
        .find(|i| i["action"] == "identity_provider.create")
        .unwrap();
    assert_eq!(
        event["changes"]["client_secret_set"],
        json!({"from": null, "to": true})
    );
    assert!(event["changes"].get("client_secret_sealed").is_none());

    // Rotated: the event says a secret was set again, not which.
    let rotated = app
        .patch(
            &path(&id),
            &w.root,
            json!({"config": {"issuer": "https://login.acme.example", "client_id": "acme-portal",
                              "client_secret": OTHER_SECRET}}),
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    assert_eq!(rotated.body["config"]["client_secret_set"], true);
    responses.push(rotated.body.clone());
    let table = app.snapshot().await;
    let update = table
        .values()
        .find(|i| i["action"] == "identity_provider.update")
        .unwrap();
    assert_eq!(
        update["changes"],
        json!({"client_secret_set": {"from": true, "to": true}})
    );
    // Cleared with `null`.
    let cleared = app
        .patch(
            &path(&id),
            &w.root,
            json!({"config": {"issuer": "https://login.acme.example", "client_id": "acme-portal",
                              "client_secret": null}}),
        )
        .await;
    assert_eq!(cleared.status, StatusCode::OK, "{}", cleared.body);
    assert_eq!(cleared.body["config"]["client_secret_set"], false);
    responses.push(cleared.body.clone());
    let table = app.snapshot().await;
    assert!(
        table[&format!("IDP#{id} IDP")]
            .get("client_secret_sealed")
            .is_none()
    );
    let clear_event = table
        .values()
        .find(|i| {
            i["action"] == "identity_provider.update"
                && i["changes"]["client_secret_set"]["to"] == false
        })
        .expect("the clearing event");
    assert_eq!(
        clear_event["changes"]["client_secret_set"],
        json!({"from": true, "to": false})
    );
    // Set again by a PATCH.
    let set_again = app
        .patch(
            &path(&id),
            &w.root,
            json!({"config": {"issuer": "https://login.acme.example", "client_id": "acme-portal",
                              "client_secret": SECRET}}),
        )
        .await;
    assert_eq!(set_again.body["config"]["client_secret_set"], true);
    responses.push(set_again.body.clone());

    let text = table_text(app).await;
    for secret in [SECRET, OTHER_SECRET] {
        assert!(!text.contains(secret), "{secret} is in the table");
        for body in &responses {
            assert!(!body.to_string().contains(secret), "{secret} in {body}");
        }
    }
    assert!(!text.contains("\"client_secret\""));
}

/// Without a key-encryption key a secret cannot be stored: 500, nothing written. A provider
/// without a secret is still created.
#[tokio::test]
async fn a_secret_without_a_key_encryption_key_is_refused_and_nothing_is_stored() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let router = identity_providers::router_sealing_with(app.state.clone(), None);
    let send = |body: Value| {
        let router = router.clone();
        let token = w.root.clone();
        async move {
            let response = router
                .oneshot(
                    Request::builder()
                        .method(Method::POST)
                        .uri(BASE)
                        .header("authorization", format!("Bearer {token}"))
                        .header("content-type", "application/json")
                        .body(Body::from(body.to_string()))
                        .unwrap(),
                )
                .await
                .unwrap();
            response.status()
        }
    };
    let before = app.snapshot().await;
    assert_eq!(
        send(oidc(&w.acme_hq, "Okta", &["acme.example"])).await,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(app.snapshot().await, before, "nothing was written");
    let mut without = oidc(&w.acme_hq, "Okta", &["acme.example"]);
    without["config"]
        .as_object_mut()
        .unwrap()
        .remove("client_secret");
    assert_eq!(send(without).await, StatusCode::CREATED);
    assert_eq!(
        send(saml(&w.acme_hq, "ADFS", &[])).await,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn a_domain_routes_to_one_provider_per_tenant() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let first = create(
        app,
        &w.root,
        oidc(&w.acme_hq, "Okta", &["acme.example", "eu.acme.example"]),
    )
    .await;
    let before = app.snapshot().await;
    let taken = app
        .post(
            BASE,
            &w.root,
            saml(&w.acme_hq, "ADFS", &["new.acme.example", "ACME.example"]),
        )
        .await;
    assert_eq!(
        (taken.status, taken.body),
        (
            StatusCode::CONFLICT,
            detail("Domain already routed to another identity provider in this tenant")
        )
    );
    assert_eq!(
        app.snapshot().await,
        before,
        "a refused create wrote nothing"
    );
    // The same domain in another tenant is another route.
    create(
        app,
        &w.root,
        saml(&w.acme_lab, "Lab ADFS", &["acme.example"]),
    )
    .await;
    create(
        app,
        &w.root,
        oidc(&w.globex_hq, "Globex", &["acme.example"]),
    )
    .await;

    // A PATCH moving domains releases the removed ones and claims the new ones at once.
    let second = create(app, &w.root, saml(&w.acme_hq, "ADFS", &["us.acme.example"])).await;
    let refused = app
        .patch(
            &path(&second),
            &w.root,
            json!({"domains": ["us.acme.example", "eu.acme.example"]}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    let moved = app
        .patch(
            &path(&first),
            &w.root,
            json!({"domains": ["acme.example", "asia.acme.example"]}),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    let table = app.snapshot().await;
    let marker = |domain: &str| {
        table
            .get(&format!("UNIQUE#IDP_DOMAIN#{}#{domain} UNIQUE", w.acme_hq))
            .map(|m| m["owner_id"].clone())
    };
    assert_eq!(marker("acme.example"), Some(json!(first)));
    assert_eq!(marker("asia.acme.example"), Some(json!(first)));
    assert_eq!(marker("eu.acme.example"), None, "released");
    let claimed = app
        .patch(
            &path(&second),
            &w.root,
            json!({"domains": ["eu.acme.example"]}),
        )
        .await;
    assert_eq!(claimed.status, StatusCode::OK, "{}", claimed.body);
    assert_eq!(claimed.body["domains"], json!(["eu.acme.example"]));
    // A delete releases its domains at once.
    assert_eq!(
        app.delete(&path(&first), &w.root).await.status,
        StatusCode::NO_CONTENT
    );
    let table = app.snapshot().await;
    assert!(
        !table.keys().any(
            |k| k.contains(&format!("IDP_DOMAIN#{}#acme.example", w.acme_hq))
                || k.contains("asia.acme.example")
        ),
        "the deleted provider's domains are free"
    );
    create(
        app,
        &w.root,
        oidc(
            &w.acme_hq,
            "Okta 2",
            &["acme.example", "asia.acme.example", "us.acme.example"],
        ),
    )
    .await;
    // us.acme.example was released by `second`'s PATCH, so the third create found it free.
}

#[tokio::test]
async fn concurrent_creates_claiming_one_domain_make_one_provider() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let replies = join_all(
        (0..10)
            .map(|i| {
                let body = if i % 2 == 0 {
                    oidc(&w.acme_hq, &format!("Okta {i}"), &["race.example"])
                } else {
                    saml(
                        &w.acme_hq,
                        &format!("ADFS {i}"),
                        &["other.example", "RACE.example"],
                    )
                };
                app.post(BASE, &w.root, body)
            })
            .collect(),
    )
    .await;
    let created: Vec<&Reply> = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .collect();
    assert_eq!(
        created.len(),
        1,
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert!(
        replies
            .iter()
            .all(|r| r.status == StatusCode::CREATED || r.status == StatusCode::CONFLICT)
    );
    let winner = created[0].id();
    let table = app.snapshot().await;
    assert_eq!(
        table[&format!("UNIQUE#IDP_DOMAIN#{}#race.example UNIQUE", w.acme_hq)]["owner_id"],
        winner.as_str()
    );
    let providers = table.values().filter(|i| i["SK"] == "IDP").count();
    assert_eq!(providers, 1);
    let events = table
        .values()
        .filter(|i| i["SK"] == "EVENT" && i["action"] == "identity_provider.create")
        .count();
    assert_eq!(events, 1);
    let list = app
        .get(&format!("{BASE}?tenant_id={}", w.acme_hq), &w.root)
        .await;
    assert_eq!(list.body["pagination"]["total"], 1);
}

/// Every route, every tier, with providers inside and outside the caller's reach; refusals
/// write nothing but a DENIED event.
#[tokio::test]
async fn every_tier_reaches_only_the_providers_of_its_tenants() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let hq = create(
        app,
        &w.root,
        oidc(&w.acme_hq, "HQ Okta", &["hq.acme.example"]),
    )
    .await;
    let lab = create(app, &w.root, saml(&w.acme_lab, "Lab ADFS", &[])).await;
    let globex = create(app, &w.root, oidc(&w.globex_hq, "Globex", &[])).await;
    let pa = app
        .admin_token("pa@acme.test", AdminRole::PartnerAdmin, Some(&w.acme), None)
        .await;
    let pa_globex = app
        .admin_token(
            "pa@globex.test",
            AdminRole::PartnerAdmin,
            Some(&w.globex),
            None,
        )
        .await;
    let ta = app
        .admin_token(
            "ta@acme.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_hq),
        )
        .await;
    let ta_lab = app
        .admin_token(
            "ta@lab.acme.test",
            AdminRole::TenantAdmin,
            None,
            Some(&w.acme_lab),
        )
        .await;
    let root_cursor =
        app.get(&format!("{BASE}?per_page=1"), &w.root).await.body["pagination"]["next_cursor"]
            .as_str()
            .unwrap()
            .to_owned();

    // (token, providers within reach, outside, tenants within, tenants outside)
    let cases = [
        (
            &pa,
            vec![&hq, &lab],
            vec![&globex],
            vec![&w.acme_hq, &w.acme_lab],
            vec![&w.globex_hq],
        ),
        (
            &pa_globex,
            vec![&globex],
            vec![&hq, &lab],
            vec![&w.globex_hq],
            vec![&w.acme_hq, &w.acme_lab],
        ),
        (
            &ta,
            vec![&hq],
            vec![&lab, &globex],
            vec![&w.acme_hq],
            vec![&w.acme_lab, &w.globex_hq],
        ),
        (
            &ta_lab,
            vec![&lab],
            vec![&hq, &globex],
            vec![&w.acme_lab],
            vec![&w.acme_hq, &w.globex_hq],
        ),
    ];
    for (token, inside, outside, own_tenants, foreign_tenants) in cases {
        let list = app.get(BASE, token).await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.body);
        assert_eq!(list.body["pagination"]["total"], inside.len());
        let listed: HashSet<String> = ids(&list).into_iter().collect();
        let expected: HashSet<String> = inside.iter().map(|s| (*s).clone()).collect();
        assert_eq!(listed, expected);
        let searched = app.get(&format!("{BASE}?search=o"), token).await;
        for id in ids(&searched) {
            assert!(inside.iter().any(|i| **i == id), "search leaked {id}");
        }
        let stolen = app
            .get(&format!("{BASE}?per_page=1&cursor={root_cursor}"), token)
            .await;
        assert_eq!(stolen.status, StatusCode::UNPROCESSABLE_ENTITY);
        for t in &own_tenants {
            let r = app.get(&format!("{BASE}?tenant_id={t}"), token).await;
            assert_eq!(r.status, StatusCode::OK);
        }
        for id in &inside {
            let r = app.get(&path(id), token).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        }
        let before = app.snapshot().await;
        for t in &foreign_tenants {
            let r = app.get(&format!("{BASE}?tenant_id={t}"), token).await;
            assert_eq!(
                (r.status, r.body),
                (StatusCode::FORBIDDEN, detail("Access denied")),
                "tenant {t}"
            );
            let created = app.post(BASE, token, saml(t, "Mine", &[])).await;
            assert_eq!(
                (created.status, created.body),
                (StatusCode::FORBIDDEN, detail("Access denied"))
            );
        }
        let unknown_tenant = app
            .get(
                &format!("{BASE}?tenant_id=tnt_00000000000000000000000000"),
                token,
            )
            .await;
        assert_eq!(unknown_tenant.status, StatusCode::FORBIDDEN);
        for id in &outside {
            let refused = [
                app.get(&path(id), token).await,
                app.patch(&path(id), token, json!({"name": "x"})).await,
                app.patch(&path(id), token, json!({"domains": ["steal.example"]}))
                    .await,
                app.delete(&path(id), token).await,
            ];
            for (i, reply) in refused.iter().enumerate() {
                assert_eq!(
                    (reply.status, &reply.body),
                    (StatusCode::FORBIDDEN, &detail("Access denied")),
                    "route {i} on {id}"
                );
            }
        }
        // Only DENIED events were written by the refusals: one per refused write.
        let new = added_since(app, &before).await;
        assert!(
            new.iter()
                .all(|i| i["SK"] == "EVENT" && i["result"] == "DENIED"),
            "{new:?}"
        );
        assert_eq!(new.len(), foreign_tenants.len() + 3 * outside.len());
        for event in &new {
            assert_eq!(event["resource_type"], "identity_provider");
        }
    }
    // Within reach, every write works.
    let mine = create(app, &ta, saml(&w.acme_hq, "Mine", &["mine.acme.example"])).await;
    assert_eq!(
        app.patch(&path(&mine), &ta, json!({"name": "Mine 2"}))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.patch(&path(&lab), &pa, json!({"jit_provisioning": true}))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.delete(&path(&mine), &pa).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.get(BASE, &w.root).await.body["pagination"]["total"], 3);
}

/// A partner admin is judged by the partner the provider's tenant belongs to now.
#[tokio::test]
async fn a_tenant_transfer_moves_the_reach_over_its_providers() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let lab = create(
        app,
        &w.root,
        saml(&w.acme_lab, "Lab ADFS", &["lab.example"]),
    )
    .await;
    let pa_acme = app
        .admin_token("pa@acme.test", AdminRole::PartnerAdmin, Some(&w.acme), None)
        .await;
    let pa_globex = app
        .admin_token(
            "pa@globex.test",
            AdminRole::PartnerAdmin,
            Some(&w.globex),
            None,
        )
        .await;
    assert_eq!(app.get(&path(&lab), &pa_acme).await.status, StatusCode::OK);
    let before = app.calls();
    assert_eq!(
        app.get(&path(&lab), &pa_globex).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.calls() - before,
        2,
        "a partner admin's read also reads the tenant"
    );
    app.move_tenant(&w.root, &w.acme_lab, &w.globex).await;
    for reply in [
        app.get(&path(&lab), &pa_acme).await,
        app.patch(&path(&lab), &pa_acme, json!({"name": "x"})).await,
    ] {
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
    }
    let renamed = app
        .patch(&path(&lab), &pa_globex, json!({"name": "Lab 2"}))
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
    for (token, expected) in [(&pa_acme, 0), (&pa_globex, 1)] {
        for query in ["", "?search=lab"] {
            let list = app.get(&format!("{BASE}{query}"), token).await;
            assert_eq!(list.body["pagination"]["total"], expected, "{query}");
        }
    }
    let updates = |events: Vec<Value>| {
        events
            .iter()
            .filter(|e| e["action"] == "identity_provider.update" && e["result"] == "SUCCESS")
            .count()
    };
    assert_eq!(updates(app.audit_events_of_partner(&w.globex).await), 1);
    assert_eq!(updates(app.audit_events_of_partner(&w.acme).await), 0);
}

/// Platform tokens: `admin:read` reads, `admin:write` writes (SPEC §3.1), platform-wide.
#[tokio::test]
async fn platform_tokens_read_with_admin_read_and_write_with_admin_write() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let id = create(app, &w.root, oidc(&w.acme_hq, "Okta", &[])).await;
    let service = app
        .post(
            "/api/v1/admin/applications",
            &w.root,
            json!({"name": "Fleet", "scope": "GLOBAL", "application_type": "SERVICE",
                   "grant_types": ["client_credentials"], "allowed_scopes": ["admin:read", "admin:write"]}),
        )
        .await;
    assert_eq!(service.status, StatusCode::CREATED, "{}", service.body);
    let client = service.id();
    let secret = service.body["client_secret"].as_str().unwrap().to_owned();
    let token = |scope: &'static str| {
        let (client, secret) = (client.clone(), secret.clone());
        async move {
            let form = format!("grant_type=client_credentials&scope={scope}");
            let basic = BASE64.encode(format!("{client}:{secret}").as_bytes());
            let reply = app
                .send(
                    Request::builder()
                        .method(Method::POST)
                        .uri("/api/v1/platform/oauth/token")
                        .header("content-type", "application/x-www-form-urlencoded")
                        .header("authorization", format!("Basic {basic}"))
                        .body(Body::from(form))
                        .unwrap(),
                )
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            reply.body["access_token"].as_str().unwrap().to_owned()
        }
    };
    let reader = token("admin:read").await;
    assert_eq!(app.get(&path(&id), &reader).await.status, StatusCode::OK);
    assert_eq!(app.get(BASE, &reader).await.body["pagination"]["total"], 1);
    let refused = app.post(BASE, &reader, saml(&w.globex_hq, "x", &[])).await;
    assert_eq!(
        (refused.status, refused.body),
        (
            StatusCode::FORBIDDEN,
            detail("Platform token requires admin:read or admin:write scope")
        )
    );
    let writer = token("admin:write").await;
    let created = app.post(BASE, &writer, saml(&w.globex_hq, "x", &[])).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let table = app.snapshot().await;
    let event = table
        .values()
        .find(|i| {
            i["action"] == "identity_provider.create" && i["resource_id"] == created.id().as_str()
        })
        .unwrap();
    assert_eq!(event["actor"]["type"], "service");
    assert_eq!(event["actor"]["id"], client.as_str());
}

/// Sends `event` to the function and the same request to the local server: both answer alike.
async fn same(
    app: &TestApp,
    function: &mut api_tests::lambda::LambdaFunction,
    event: api_tests::lambda::HttpApiEvent,
) -> Reply {
    let lambda = function.invoke(&event).await;
    let local = app.send(event.to_request()).await;
    assert_eq!(
        (lambda.status, &lambda.body),
        (local.status, &local.body),
        "function (left) and local server (right) differ for {}",
        event.to_json()
    );
    lambda
}

/// The deployable binary answers API Gateway events as the local server does. The harness
/// (`tests/src/lambda.rs`) hands the key-encryption key only to the functions that sign, so
/// here the binary has none unless the harness names it: a client secret is then refused
/// (500) and never stored, in plaintext or otherwise.
#[tokio::test]
async fn the_identity_providers_binary_answers_api_gateway_events_as_the_local_server_does() {
    use api_tests::lambda::{HttpApiEvent, LambdaFunction};
    let Some(w) = world().await else { return };
    let app = &w.app;
    let Some(mut function) = LambdaFunction::start(app, "identity-providers").await else {
        return;
    };
    let collection = "ANY /api/v1/admin/identity-providers";
    let item = "ANY /api/v1/admin/identity-providers/{proxy+}";
    let id = create(app, &w.root, oidc(&w.acme_hq, "Okta", &["acme.example"])).await;

    let read = HttpApiEvent::new("GET", item, &path(&id))
        .path_parameter("proxy", &id)
        .bearer(&w.root);
    let reply = same(app, &mut function, read).await;
    assert_eq!((reply.status, reply.id()), (StatusCode::OK, id.clone()));
    assert_eq!(reply.body["config"]["client_secret_set"], true);
    let list = HttpApiEvent::new(
        "GET",
        collection,
        &format!("{BASE}?tenant_id={}&per_page=5", w.acme_hq),
    )
    .bearer(&w.root);
    assert_eq!(same(app, &mut function, list).await.status, StatusCode::OK);
    let unknown = "idp_00000000000000000000000000";
    let missing = HttpApiEvent::new("GET", item, &path(unknown))
        .path_parameter("proxy", unknown)
        .bearer(&w.root);
    assert_eq!(
        same(app, &mut function, missing).await.status,
        StatusCode::NOT_FOUND
    );
    let invalid = HttpApiEvent::new("POST", collection, BASE)
        .bearer(&w.root)
        .json_body(&oidc(&w.acme_hq, "x", &["not a domain"]));
    assert_eq!(
        same(app, &mut function, invalid).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let anonymous = HttpApiEvent::new("GET", collection, BASE);
    assert_eq!(
        same(app, &mut function, anonymous).await.status,
        StatusCode::UNAUTHORIZED
    );

    // Writes through the function, read back through the local server.
    let create_saml = HttpApiEvent::new("POST", collection, BASE)
        .bearer(&w.root)
        .json_body(&saml(&w.acme_lab, "Lab ADFS", &["lab.example"]));
    let created = function.invoke(&create_saml).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let read_back = app.get(&path(&created.id()), &w.root).await;
    assert_eq!(read_back.body, created.body);
    let with_secret = HttpApiEvent::new("POST", collection, BASE)
        .bearer(&w.root)
        .json_body(&oidc(&w.globex_hq, "Globex", &[]));
    let sealed = function.invoke(&with_secret).await;
    assert!(
        sealed.status == StatusCode::CREATED || sealed.status == StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        sealed.body
    );
    assert!(!table_text(app).await.contains(SECRET));
    let remove = HttpApiEvent::new("DELETE", item, &path(&created.id()))
        .path_parameter("proxy", &created.id())
        .bearer(&w.root);
    assert_eq!(
        function.invoke(&remove).await.status,
        StatusCode::NO_CONTENT
    );
}

/// What you read, you may send back (SPEC §2): a provider's whole GET body with a new name,
/// PATCHed back, is a 200 for either type — `tenant_id` and `provider_type` as read are accepted
/// and ignored, the config's `client_secret_set` is not a field (the stored secret is kept).
/// Another tenant (or `null`: a provider has one) or provider type is a 422 naming it, and
/// writes nothing.
#[tokio::test]
async fn a_patch_may_send_back_the_provider_it_read_and_only_that() {
    let Some(w) = world().await else { return };
    let app = &w.app;
    let ids = [
        create(
            app,
            &w.root,
            oidc(&w.acme_hq, "Acme OIDC", &["acme.example"]),
        )
        .await,
        create(app, &w.root, saml(&w.acme_hq, "Acme SAML", &["acme.test"])).await,
    ];
    for id in &ids {
        let read = app.get(&path(id), &w.root).await;
        assert_eq!(read.status, StatusCode::OK, "{}", read.body);
        let mut body = read.body.clone();
        body["name"] = json!("Renamed");
        let updated = app.patch(&path(id), &w.root, body).await;
        assert_eq!(updated.status, StatusCode::OK, "{id}: {}", updated.body);
        assert_eq!(updated.body["name"], "Renamed");
        for field in [
            "tenant_id",
            "provider_type",
            "status",
            "domains",
            "config",
            "created_at",
        ] {
            assert_eq!(updated.body[field], read.body[field], "{id}: {field}");
        }
    }
    for (body, field) in [
        (json!({"tenant_id": w.acme_lab}), "tenant_id"),
        (json!({"tenant_id": null}), "tenant_id"),
        (json!({"tenant_id": "tnt_x"}), "tenant_id"),
        (json!({"provider_type": "SAML"}), "provider_type"),
    ] {
        assert_invalid(app, Method::PATCH, &path(&ids[0]), &w.root, body, field).await;
    }
    let _ = (&w.acme, &w.globex, &w.globex_hq);
}
