//! Signing keys at rest: private parts sealed under the key-encryption key (KMS in CI, through
//! moto's emulator or LocalStack), in a partition of their own; only a process holding the KEK
//! signs; every other one verifies with the public parts.

use api_tests::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, local_kek_file, spawn_app};
use aws_lc_rs::rsa::KeyPair;
use aws_sdk_dynamodb::types::AttributeValue;
use axum::http::StatusCode;
use data_encoding::{BASE64, BASE64URL_NOPAD};
use serde_json::Value;
use shared::AppState;
use shared::config::{Config, KeyEncryption};
use shared::sealing::Kek;
use shared::store::keys::SIGNING_KEYS_PRIVATE_PARTITION;

/// The same table and config, as another instance (a cold start) with the given KEK.
async fn instance(app: &TestApp, kek: Option<Kek>) -> TestApp {
    let config: Config = app.state.config().clone();
    let store = shared::store::connect(&config).await;
    let state = AppState::new(config, store, kek);
    let _ = state.keys().reload().await;
    TestApp {
        router: scaikey_cli::app(state.clone()),
        state,
        platform_partner: app.platform_partner.clone(),
        platform_tenant: app.platform_tenant.clone(),
    }
}

fn partition(items: &std::collections::BTreeMap<String, Value>, pk: &str) -> Vec<Value> {
    items
        .iter()
        .filter(|(key, _)| key.split(' ').next() == Some(pk))
        .map(|(_, item)| item.clone())
        .collect()
}

/// The raw stored item of a sealed key.
async fn sealed_item(
    app: &TestApp,
    kid: &str,
) -> Option<std::collections::HashMap<String, AttributeValue>> {
    let store = app.state.store();
    store
        .client()
        .get_item()
        .table_name(store.table())
        .key(
            "PK",
            AttributeValue::S(SIGNING_KEYS_PRIVATE_PARTITION.into()),
        )
        .key("SK", AttributeValue::S(format!("KEY#{kid}")))
        .consistent_read(true)
        .send()
        .await
        .expect("get item")
        .item
}

async fn put_item(app: &TestApp, item: std::collections::HashMap<String, AttributeValue>) {
    let store = app.state.store();
    store
        .client()
        .put_item()
        .table_name(store.table())
        .set_item(Some(item))
        .send()
        .await
        .expect("put item");
}

fn signing_kid(items: &std::collections::BTreeMap<String, Value>) -> String {
    let keys = partition(items, "CONFIG");
    let key = keys
        .iter()
        .find(|i| {
            i["SK"]
                .as_str()
                .is_some_and(|sk| sk.starts_with("SIGNING_KEY#"))
        })
        .expect("a signing key");
    key["kid"].as_str().unwrap().to_owned()
}

/// Nothing in the table is a private key in plaintext: `CONFIG` (which every function reads)
/// holds public parts only; the private part is ciphertext under the KEK, and in CI that KEK is
/// a KMS key (the deployed code path), not the local fallback.
#[tokio::test]
async fn private_keys_are_sealed_in_a_partition_of_their_own() {
    let Some(app) = spawn_app().await else { return };
    let items = app.snapshot().await;
    for item in partition(&items, "CONFIG") {
        assert!(item.get("private_pkcs8_b64").is_none(), "{item}");
        for value in item.as_object().unwrap().values() {
            if let Some(text) = value.as_str()
                && let Ok(der) = BASE64URL_NOPAD
                    .decode(text.as_bytes())
                    .or_else(|_| BASE64.decode(text.as_bytes()))
            {
                assert!(
                    KeyPair::from_pkcs8(&der).is_err(),
                    "a private key in {item}"
                );
            }
        }
    }
    let sealed = partition(&items, SIGNING_KEYS_PRIVATE_PARTITION);
    assert_eq!(sealed.len(), 1, "{sealed:?}");
    let part = &sealed[0];
    assert_eq!(part["kid"].as_str(), Some(signing_kid(&items).as_str()));
    for field in ["ciphertext", "wrapped_key"] {
        let bytes = BASE64
            .decode(part[field].as_str().unwrap().as_bytes())
            .unwrap();
        assert!(
            KeyPair::from_pkcs8(&bytes).is_err(),
            "{field} is a plain key"
        );
        assert!(
            KeyPair::from_pkcs8(&bytes[12..]).is_err(),
            "{field} is a plain key"
        );
    }
    let kek = part["kek"].as_str().unwrap();
    match &app.state.config().key_encryption {
        KeyEncryption::Kms { key_id, .. } => assert_eq!(kek, format!("kms:{key_id}")),
        other => {
            assert!(kek.starts_with("local:"), "{kek}");
            assert!(
                std::env::var("REQUIRE_KMS").as_deref() != Ok("1"),
                "REQUIRE_KMS=1 but the tests sealed under {other:?}"
            );
        }
    }
}

/// A process without the KEK (every function but admin-auth) verifies tokens signed elsewhere
/// and publishes the JWKS, but never signs: its login is a 500 that says nothing inside.
#[tokio::test]
async fn an_instance_without_the_kek_verifies_but_never_signs() {
    let Some(app) = spawn_app().await else { return };
    let token = app.root_token().await;
    let verifier = instance(&app, None).await;
    let me = verifier.get("/api/v1/admin/auth/me", &token).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(
        verifier.jwks().await.body["keys"].as_array().unwrap().len(),
        1
    );
    let login = verifier.login_reply(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(login.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(login.body["detail"], "Internal server error");
    assert!(login.body.get("access_token").is_none());
}

/// A sealed key that was tampered with, or moved to another key id, does not open: the
/// instance cannot sign (500, no token) rather than sign with something unchecked; the intact
/// item signs again.
#[tokio::test]
async fn a_tampered_or_moved_sealed_key_does_not_sign() {
    let Some(app) = spawn_app().await else { return };
    let items = app.snapshot().await;
    let kid = signing_kid(&items);
    let original = sealed_item(&app, &kid).await.expect("sealed item");
    let kek = app.state.kek().cloned();

    for field in ["ciphertext", "wrapped_key"] {
        let mut tampered = original.clone();
        let text = tampered[field].as_s().unwrap().clone();
        let mut bytes = BASE64.decode(text.as_bytes()).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        tampered.insert(field.into(), AttributeValue::S(BASE64.encode(&bytes)));
        put_item(&app, tampered).await;
        let cold = instance(&app, kek.clone()).await;
        let login = cold.login_reply(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        assert_eq!(login.status, StatusCode::INTERNAL_SERVER_ERROR, "{field}");
    }

    // The intact part under another key id (both layers bind the id).
    let other = shared::ids::KeyId::generate();
    let mut moved = original.clone();
    moved.insert("SK".into(), AttributeValue::S(format!("KEY#{other}")));
    moved.insert("kid".into(), AttributeValue::S(other.to_string()));
    put_item(&app, moved).await;
    let mut public = app
        .state
        .store()
        .client()
        .get_item()
        .table_name(app.state.store().table())
        .key("PK", AttributeValue::S("CONFIG".into()))
        .key("SK", AttributeValue::S(format!("SIGNING_KEY#{kid}")))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    public.insert(
        "SK".into(),
        AttributeValue::S(format!("SIGNING_KEY#{other}")),
    );
    public.insert("kid".into(), AttributeValue::S(other.to_string()));
    // The moved key is the newest: it would sign if it opened.
    put_item(&app, public.clone()).await;
    put_item(&app, original.clone()).await;
    let cold = instance(&app, kek.clone()).await;
    let token = cold.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let header: Value = serde_json::from_slice(
        &BASE64URL_NOPAD
            .decode(token.split('.').next().unwrap().as_bytes())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        header["kid"],
        kid.as_str(),
        "the moved part did not open; the intact key signs"
    );
}

/// Another key-encryption key (a KMS key switched, a lost local key) opens nothing; bootstrap
/// then makes a key that does, and the old tokens keep verifying until they expire.
#[tokio::test]
async fn bootstrap_under_another_kek_makes_a_key_that_opens() {
    let Some(app) = spawn_app().await else { return };
    let old_token = app.root_token().await;
    let kek = Kek::local_from_file(&local_kek_file()).unwrap();
    let other = instance(&app, Some(kek)).await;
    let login = other.login_reply(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(login.status, StatusCode::INTERNAL_SERVER_ERROR);

    let created = scaikey_cli::ops::ensure_keys(&other.state).await.unwrap();
    assert_eq!(created.len(), 1, "{created:?}");
    let token = other.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    for token in [&old_token, &token] {
        let me = other.get("/api/v1/admin/auth/me", token).await;
        assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    }
    // Run again, it finds the key it made.
    assert!(
        scaikey_cli::ops::ensure_keys(&other.state)
            .await
            .unwrap()
            .is_empty()
    );
}

/// A table written by a version that stored private keys in plaintext: the key never signs
/// as it is; `scaikey keys seal` (and `bootstrap`) seals it under the KEK — same key id, the
/// plaintext gone, its tokens still valid — and a second run finds nothing to do.
#[tokio::test]
async fn keys_stored_in_plaintext_are_sealed_by_keys_seal() {
    let Some(app) = spawn_app().await else { return };
    let token = app.root_token().await;
    let items = app.snapshot().await;
    let kid = signing_kid(&items);
    let kek = app.state.kek().cloned().unwrap();

    // Turn the stored key back into the earlier form: the private part in plaintext in CONFIG.
    let sealed = sealed_item(&app, &kid).await.unwrap();
    let part = Kek::open(
        &kek,
        &kid,
        &shared::sealing::Sealed {
            kek: sealed["kek"].as_s().unwrap().clone(),
            wrapped_key: BASE64
                .decode(sealed["wrapped_key"].as_s().unwrap().as_bytes())
                .unwrap(),
            ciphertext: BASE64
                .decode(sealed["ciphertext"].as_s().unwrap().as_bytes())
                .unwrap(),
        },
    )
    .await
    .unwrap();
    let store = app.state.store();
    store
        .client()
        .delete_item()
        .table_name(store.table())
        .key(
            "PK",
            AttributeValue::S(SIGNING_KEYS_PRIVATE_PARTITION.into()),
        )
        .key("SK", AttributeValue::S(format!("KEY#{kid}")))
        .send()
        .await
        .unwrap();
    store
        .client()
        .update_item()
        .table_name(store.table())
        .key("PK", AttributeValue::S("CONFIG".into()))
        .key("SK", AttributeValue::S(format!("SIGNING_KEY#{kid}")))
        .update_expression("SET private_pkcs8_b64 = :p")
        .expression_attribute_values(":p", AttributeValue::S(BASE64URL_NOPAD.encode(&part)))
        .send()
        .await
        .unwrap();
    let cold = instance(&app, Some(kek.clone())).await;
    let login = cold.login_reply(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(
        login.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "a plaintext key never signs"
    );

    let done = scaikey_cli::ops::seal_plaintext_keys(&app.state)
        .await
        .unwrap();
    assert_eq!(done, vec![kid.clone()]);
    let items = app.snapshot().await;
    let public = &items[&format!("CONFIG SIGNING_KEY#{kid}")];
    assert!(public.get("private_pkcs8_b64").is_none(), "{public}");
    assert!(sealed_item(&app, &kid).await.is_some());
    let cold = instance(&app, Some(kek)).await;
    let fresh = cold.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    for token in [&token, &fresh] {
        assert_eq!(
            cold.get("/api/v1/admin/auth/me", token).await.status,
            StatusCode::OK
        );
    }
    assert!(
        scaikey_cli::ops::seal_plaintext_keys(&app.state)
            .await
            .unwrap()
            .is_empty()
    );
}

/// A revoked key's sealed part is deleted with the revocation; a rotation gives the replaced
/// keys' sealed parts a TTL past the moment they stop signing.
#[tokio::test]
async fn revocation_deletes_the_sealed_part_and_rotation_expires_it() {
    let Some(app) = spawn_app().await else { return };
    let items = app.snapshot().await;
    let first = signing_kid(&items);
    let (second, signs_from) = scaikey_cli::ops::rotate_keys(&app.state).await.unwrap();
    let ttl = sealed_item(&app, &first).await.unwrap()["ttl"]
        .as_n()
        .unwrap()
        .parse::<i64>()
        .unwrap();
    assert_eq!(ttl, signs_from.unix() + 86_400);
    let newest = sealed_item(&app, &second).await.unwrap();
    assert!(!newest.contains_key("ttl"));

    scaikey_cli::ops::revoke_key(&app.state, &first)
        .await
        .unwrap();
    assert!(sealed_item(&app, &first).await.is_none());
    assert!(sealed_item(&app, &second).await.is_some());
}
