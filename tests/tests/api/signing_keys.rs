//! Signing keys at rest: private parts sealed under the key-encryption key (KMS in CI, through
//! moto's emulator or LocalStack), in a partition of their own; only a process holding the KEK
//! signs; every other one verifies with the public parts.

use std::time::Duration;

use api_tests::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, local_kek_file, spawn_app};
use aws_lc_rs::rsa::KeyPair;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, RSA_PKCS1_SHA256, RSA_PSS_SHA256, RsaEncoding,
};
use aws_sdk_dynamodb::types::AttributeValue;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use data_encoding::{BASE64, BASE64URL_NOPAD};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use shared::AppState;
use shared::config::{Config, KeyEncryption, SigningAlgorithm};
use shared::sealing::Kek;
use shared::store::keys::SIGNING_KEYS_PRIVATE_PARTITION;

/// The same table and config, as another instance (a cold start) with the given KEK.
async fn instance(app: &TestApp, kek: Option<Kek>) -> TestApp {
    instance_with(app, app.state.config().clone(), kek).await
}

/// Another instance over the same table with its own configuration.
async fn instance_with(app: &TestApp, config: Config, kek: Option<Kek>) -> TestApp {
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

    // The server secrets sealed under the old KEK do not open under this one: bootstrap says
    // so and replaces nothing (that would end every client secret at once)…
    let refused = scaikey_cli::ops::ensure_keys(&other.state)
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("remake-credentials"), "{refused}");
    // …until the operator makes them anew on purpose; then a signing key that opens is made.
    let remade = scaikey_cli::ops::remake_credentials(&other.state)
        .await
        .unwrap();
    assert_eq!(remade.len(), 2, "{remade:?}");
    let created = scaikey_cli::ops::ensure_keys(&other.state).await.unwrap();
    assert_eq!(created.len(), 1, "{created:?}");
    assert!(created[0].starts_with("signing key "), "{created:?}");
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

/// A JWT's header and claims, decoded (not verified).
fn parts(token: &str) -> (Value, Value) {
    let part = |i: usize| -> Value {
        serde_json::from_slice(
            &BASE64URL_NOPAD
                .decode(token.split('.').nth(i).unwrap().as_bytes())
                .unwrap(),
        )
        .unwrap()
    };
    (part(0), part(1))
}

/// The private key (PKCS#8) of `kid`, opened from its sealed part as only a signing process can.
async fn private_key(app: &TestApp, kid: &str) -> Vec<u8> {
    let sealed = sealed_item(app, kid).await.expect("sealed part");
    let field = |name: &str| {
        BASE64
            .decode(sealed[name].as_s().unwrap().as_bytes())
            .unwrap()
    };
    app.state
        .kek()
        .unwrap()
        .open(
            kid,
            &shared::sealing::Sealed {
                kek: sealed["kek"].as_s().unwrap().clone(),
                wrapped_key: field("wrapped_key"),
                ciphertext: field("ciphertext"),
            },
        )
        .await
        .expect("the sealed part opens")
}

/// A JWS over `header` and `claims`, signed by `sign`.
fn forge(header: Value, claims: &Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let message = format!(
        "{}.{}",
        BASE64URL_NOPAD.encode(header.to_string().as_bytes()),
        BASE64URL_NOPAD.encode(claims.to_string().as_bytes())
    );
    let signature = sign(message.as_bytes());
    format!("{message}.{}", BASE64URL_NOPAD.encode(&signature))
}

fn rsa_signer(pkcs8: &[u8], padding: &'static dyn RsaEncoding) -> impl Fn(&[u8]) -> Vec<u8> {
    let pair = KeyPair::from_pkcs8(pkcs8).expect("an RSA key");
    move |message| {
        let mut signature = vec![0; pair.public_modulus_len()];
        pair.sign(
            padding,
            &aws_lc_rs::rand::SystemRandom::new(),
            message,
            &mut signature,
        )
        .unwrap();
        signature
    }
}

fn ec_signer(pkcs8: &[u8]) -> impl Fn(&[u8]) -> Vec<u8> {
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8).expect("a P-256 key");
    move |message| {
        pair.sign(&aws_lc_rs::rand::SystemRandom::new(), message)
            .unwrap()
            .as_ref()
            .to_vec()
    }
}

async fn discovered_algorithms(app: &TestApp) -> Value {
    let request = Request::builder()
        .uri("/api/v1/platform/oauth/.well-known/openid-configuration")
        .body(Body::empty())
        .unwrap();
    let doc = app.send(request).await.body;
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        doc["token_endpoint_auth_signing_alg_values_supported"]
    );
    doc["id_token_signing_alg_values_supported"].clone()
}

/// A deployment switches from RS256 to ES256 by a rotation under
/// `SCAIKEY_SIGNING_ALGORITHM=ES256`: the new key is a P-256 key (public part `crv`/`x`/`y`,
/// private part sealed like an RSA one), tokens are ES256 and verify through the JWKS as any
/// relying party would, discovery names both algorithms, and a token signed by the RSA key
/// before the switch keeps working until that key is retired — then only ES256 is left.
#[tokio::test]
async fn a_deployment_switches_to_es256_by_a_rotation() {
    let Some(app) = spawn_app().await else { return };
    let rs_token = app.root_token().await;
    let (rs_header, _) = parts(&rs_token);
    assert_eq!(rs_header["alg"], "RS256");
    let rs_kid = rs_header["kid"].as_str().unwrap().to_owned();
    assert_eq!(discovered_algorithms(&app).await, json!(["RS256"]));

    let mut config = app.state.config().clone();
    config.signing_algorithm = SigningAlgorithm::Es256;
    let es = instance_with(&app, config, app.state.kek().cloned()).await;
    let (es_kid, _) = scaikey_cli::ops::rotate_keys_after(&es.state, Duration::ZERO)
        .await
        .unwrap();

    // Stored: the algorithm and the P-256 public part; the private part sealed, as for RSA.
    let items = app.snapshot().await;
    let public = &items[&format!("CONFIG SIGNING_KEY#{es_kid}")];
    assert_eq!(public["alg"], "ES256");
    assert_eq!(public["crv"], "P-256");
    assert!(public.get("n").is_none() && public.get("private_pkcs8_b64").is_none());
    assert_eq!(
        items[&format!("CONFIG SIGNING_KEY#{rs_kid}")]["alg"],
        "RS256"
    );
    let sealed = sealed_item(&app, &es_kid).await.expect("sealed part");
    let ciphertext = BASE64
        .decode(sealed["ciphertext"].as_s().unwrap().as_bytes())
        .unwrap();
    for bytes in [&ciphertext[..], &ciphertext[12..]] {
        assert!(EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, bytes).is_err());
    }

    let es_token = es.root_token().await;
    let (header, claims) = parts(&es_token);
    assert_eq!(
        (&header["alg"], &header["kid"]),
        (&json!("ES256"), &json!(es_kid))
    );
    assert_eq!(
        es_token.split('.').nth(2).unwrap().len(),
        86,
        "r ‖ s, 64 bytes"
    );

    // The JWKS lists each key with its own type and algorithm; the EC key verifies the token.
    let jwks = es.jwks().await.body;
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "{jwks}");
    let ec = keys.iter().find(|k| k["kid"] == es_kid.as_str()).unwrap();
    assert_eq!(
        (&ec["kty"], &ec["alg"], &ec["crv"], &ec["use"]),
        (
            &json!("EC"),
            &json!("ES256"),
            &json!("P-256"),
            &json!("sig")
        )
    );
    assert!(ec.get("n").is_none());
    let rsa = keys.iter().find(|k| k["kid"] == rs_kid.as_str()).unwrap();
    assert_eq!((&rsa["kty"], &rsa["alg"]), (&json!("RSA"), &json!("RS256")));
    let decoding =
        DecodingKey::from_ec_components(ec["x"].as_str().unwrap(), ec["y"].as_str().unwrap())
            .unwrap();
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&[claims["aud"].as_str().unwrap()]);
    jsonwebtoken::decode::<Value>(&es_token, &decoding, &validation).expect("verifies");
    assert_eq!(discovered_algorithms(&es).await, json!(["RS256", "ES256"]));

    // Both tokens work, on the signing instance and on one that only verifies.
    let verifier = instance(&app, None).await;
    for at in [&es, &verifier] {
        for token in [&rs_token, &es_token] {
            let me = at.get("/api/v1/admin/auth/me", token).await;
            assert_eq!(me.status, StatusCode::OK, "{}", me.body);
        }
    }

    // Once no token the RSA key signed can be live — an admin token lives `access_token_ttl`,
    // an application's up to its longest `token_lifetime` (a day) — it leaves the key set.
    let longest = (app.state.config().access_token_ttl.as_secs() as i64)
        .max(shared::applications::rules::TOKEN_LIFETIME.1);
    let long_ago =
        shared::time::Timestamp::from_unix(shared::time::Timestamp::now().unix() - longest - 120)
            .unwrap();
    // Retired an hour ago, tokens it signed can still be live (a day-long app token): it stays.
    let an_hour_ago =
        shared::time::Timestamp::from_unix(shared::time::Timestamp::now().unix() - 3_600).unwrap();
    let store = app.state.store();
    let retire = |at: shared::time::Timestamp| {
        store
            .client()
            .update_item()
            .table_name(store.table())
            .key("PK", AttributeValue::S("CONFIG".into()))
            .key("SK", AttributeValue::S(format!("SIGNING_KEY#{rs_kid}")))
            .update_expression("SET retired_at = :r")
            .expression_attribute_values(":r", AttributeValue::S(at.to_string()))
            .send()
    };
    retire(an_hour_ago).await.unwrap();
    let recent = instance(&es, es.state.kek().cloned()).await;
    let still = recent.get("/api/v1/admin/auth/me", &rs_token).await;
    assert_eq!(still.status, StatusCode::OK, "{}", still.body);
    assert_eq!(
        recent.jwks().await.body["keys"].as_array().unwrap().len(),
        2
    );
    retire(long_ago).await.unwrap();
    let later = instance(&es, es.state.kek().cloned()).await;
    let refused = later.get("/api/v1/admin/auth/me", &rs_token).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let me = later.get("/api/v1/admin/auth/me", &es_token).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(later.jwks().await.body["keys"].as_array().unwrap().len(), 1);
    assert_eq!(discovered_algorithms(&later).await, json!(["ES256"]));
}

/// A key verifies only the algorithm recorded for it: a token genuinely signed by one of our
/// keys but whose header names another algorithm than its `kid`'s key has — ES256 over the RSA
/// key's kid, RS256 over the EC key's, PS256 (same RSA key, other padding) — is refused, while
/// the same claims signed as recorded pass.
#[tokio::test]
async fn a_token_whose_header_alg_differs_from_its_keys_is_refused() {
    let Some(app) = spawn_app().await else { return };
    let rs_token = app.root_token().await;
    let rs_kid = parts(&rs_token).0["kid"].as_str().unwrap().to_owned();
    let mut config = app.state.config().clone();
    config.signing_algorithm = SigningAlgorithm::Es256;
    let es = instance_with(&app, config, app.state.kek().cloned()).await;
    let (es_kid, _) = scaikey_cli::ops::rotate_keys_after(&es.state, Duration::ZERO)
        .await
        .unwrap();
    let (_, claims) = parts(&es.root_token().await);
    let rsa_key = private_key(&app, &rs_kid).await;
    let ec_key = private_key(&app, &es_kid).await;
    let header = |alg: &str, kid: &str| json!({"alg": alg, "typ": "JWT", "kid": kid});

    // As recorded: accepted (the forged tokens below differ only in their header).
    for token in [
        forge(header("ES256", &es_kid), &claims, ec_signer(&ec_key)),
        forge(
            header("RS256", &rs_kid),
            &claims,
            rsa_signer(&rsa_key, &RSA_PKCS1_SHA256),
        ),
    ] {
        let me = es.get("/api/v1/admin/auth/me", &token).await;
        assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    }
    for (what, token) in [
        (
            "ES256 over the RSA key's kid",
            forge(header("ES256", &rs_kid), &claims, ec_signer(&ec_key)),
        ),
        (
            "RS256 over the EC key's kid",
            forge(
                header("RS256", &es_kid),
                &claims,
                rsa_signer(&rsa_key, &RSA_PKCS1_SHA256),
            ),
        ),
        (
            "PS256 over the RSA key's kid",
            forge(
                header("PS256", &rs_kid),
                &claims,
                rsa_signer(&rsa_key, &RSA_PSS_SHA256),
            ),
        ),
        (
            "ES384 over the EC key's kid",
            forge(header("ES384", &es_kid), &claims, ec_signer(&ec_key)),
        ),
    ] {
        let me = es.get("/api/v1/admin/auth/me", &token).await;
        assert_eq!(me.status, StatusCode::UNAUTHORIZED, "{what}: {}", me.body);
    }
}

/// An emergency revoke stops the key signing at once on an instance that still caches it (SPEC
/// §3.1; the issue's reproduction): `keys rotate` then `keys revoke <current>` by the operator's
/// CLI, and the running server's very next login, refresh and client grant are signed by another
/// key, which its own next request accepts — with no extra round trip (the key's revocation mark
/// is read in the batch each of them makes anyway).
#[tokio::test]
async fn a_revoked_key_stops_signing_on_a_running_instance_at_once() {
    let Some(app) = spawn_app().await else { return };
    let first = app.login_reply(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (header, _) = parts(first.body["access_token"].as_str().unwrap());
    let revoked = header["kid"].as_str().unwrap().to_owned();
    let created = app
        .post(
            "/api/v1/admin/applications",
            first.body["access_token"].as_str().unwrap(),
            json!({"name": "Fleet", "scope": "GLOBAL", "application_type": "SERVICE",
                   "grant_types": ["client_credentials"], "allowed_scopes": ["admin:read"]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    // The operator's CLI: another process over the same table.
    let cli = instance(&app, app.state.kek().cloned()).await;
    scaikey_cli::ops::rotate_keys(&cli.state).await.unwrap();
    scaikey_cli::ops::revoke_key(&cli.state, &revoked)
        .await
        .unwrap();

    let calls = app.calls();
    let login = app.login_reply(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    let token = login.body["access_token"].as_str().unwrap().to_owned();
    assert_ne!(
        parts(&token).0["kid"],
        json!(revoked),
        "signed by the revoked key"
    );
    let me = app.get("/api/v1/admin/auth/me", &token).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert!(
        app.calls() - calls >= 4,
        "the login's own calls, and a re-read of the keys"
    );

    let refreshed = app
        .refresh_reply(login.body["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    let token = refreshed.body["access_token"].as_str().unwrap();
    assert_ne!(parts(token).0["kid"], json!(revoked));

    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        created.id(),
        created.body["client_secret"].as_str().unwrap()
    );
    let grant = app
        .send(
            Request::post("/api/v1/platform/oauth/token")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(form))
                .unwrap(),
        )
        .await;
    assert_eq!(grant.status, StatusCode::OK, "{}", grant.body);
    let token = grant.body["access_token"].as_str().unwrap();
    assert_ne!(parts(token).0["kid"], json!(revoked));
    assert_eq!(
        app.get("/api/v1/admin/partners", token).await.status,
        StatusCode::OK
    );
}

/// The raw stored item at `pk`/`sk`.
async fn raw_item(
    app: &TestApp,
    pk: &str,
    sk: &str,
) -> Option<std::collections::HashMap<String, AttributeValue>> {
    let store = app.state.store();
    store
        .client()
        .get_item()
        .table_name(store.table())
        .key("PK", AttributeValue::S(pk.into()))
        .key("SK", AttributeValue::S(sk.into()))
        .consistent_read(true)
        .send()
        .await
        .expect("get item")
        .item
}

async fn delete_raw(app: &TestApp, pk: &str, sk: &str) {
    let store = app.state.store();
    store
        .client()
        .delete_item()
        .table_name(store.table())
        .key("PK", AttributeValue::S(pk.into()))
        .key("SK", AttributeValue::S(sk.into()))
        .send()
        .await
        .expect("delete item");
}

/// What signs credentials is sealed (SPEC §5, "server secrets"): `CONFIG`, which every function
/// reads, holds only the cursor key, and a refresh token made with any key derived from it is
/// refused; the credentials key is ciphertext in a partition of its own, and an instance without
/// the key-encryption key issues no credential (500) while it still verifies and lists.
#[tokio::test]
async fn reading_the_table_is_not_enough_to_mint_a_refresh_token() {
    let Some(app) = spawn_app().await else { return };
    let login = app.login_reply(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let token = login.body["access_token"].as_str().unwrap().to_owned();
    let items = app.snapshot().await;
    assert!(
        !items.contains_key("CONFIG CURSOR_SECRET"),
        "no plaintext server secret"
    );
    for item in ["CREDENTIALS_KEY KEY", "CLIENT_SECRET_KEY KEY"] {
        let sealed = &items[item];
        for field in ["kek", "wrapped_key", "ciphertext"] {
            assert!(sealed[field].is_string(), "{item} {field}: {sealed}");
        }
        assert!(sealed.get("key").is_none() && sealed.get("secret").is_none());
    }
    // Everything every function can read: the CONFIG partition. Forge with each binary value.
    let config = raw_item(&app, "CONFIG", "CURSOR_KEY")
        .await
        .expect("a cursor key");
    let cursor_key = config["secret"].as_b().unwrap().as_ref().to_vec();
    let session = parts(&token).1["sid"].as_str().unwrap().to_owned();
    for label in [
        "scaikey refresh-token key v1",
        "scaikey refresh-token key v2",
    ] {
        let key = shared::secrets::hmac_sha256(&cursor_key, label.as_bytes());
        let tag = shared::secrets::hmac_sha256(&key, format!("{session}.0").as_bytes());
        let forged = format!("{session}.0.{}", BASE64URL_NOPAD.encode(&tag));
        let reply = app.refresh_reply(&forged).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{label}");
    }
    // The genuine one works (and was not ended by the forgeries).
    let genuine = app
        .refresh_reply(login.body["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(genuine.status, StatusCode::OK, "{}", genuine.body);
    // An instance without the key-encryption key verifies and lists, but makes no secret.
    let verifier = instance(&app, None).await;
    let token = genuine.body["access_token"].as_str().unwrap();
    assert_eq!(
        verifier.get("/api/v1/admin/partners", token).await.status,
        StatusCode::OK
    );
    let made = verifier
        .post(
            "/api/v1/admin/applications",
            token,
            json!({"name": "X", "scope": "GLOBAL", "application_type": "SERVICE"}),
        )
        .await;
    assert_eq!(made.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(made.body.get("client_secret").is_none());
}

/// The upgrade (`scaikey keys seal`, or bootstrap) from a table keyed by one plaintext server
/// secret: the credentials key is sealed with the client-secret key that secret derived, so
/// client secrets issued before keep working; the secret is deleted in the same transaction (its
/// refresh tokens end); cursors get a key of their own; a second run changes nothing.
#[tokio::test]
async fn keys_seal_upgrades_a_plaintext_server_secret_and_keeps_client_secrets() {
    let Some(app) = spawn_app().await else { return };
    let root = app.root_token().await;
    let created = app
        .post(
            "/api/v1/admin/applications",
            &root,
            json!({"name": "Fleet", "scope": "GLOBAL", "application_type": "SERVICE",
                   "grant_types": ["client_credentials"], "allowed_scopes": ["admin:read"]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.id();
    let secret = created.body["client_secret"].as_str().unwrap().to_owned();
    // Back to an earlier version's table: one plaintext server secret, no credentials key and
    // no cursor key, the client secret's hash keyed with the old derivation.
    delete_raw(&app, "CREDENTIALS_KEY", "KEY").await;
    delete_raw(&app, "CLIENT_SECRET_KEY", "KEY").await;
    delete_raw(&app, "CONFIG", "CURSOR_KEY").await;
    let old_secret = shared::secrets::random_bytes::<32>();
    let mut item = std::collections::HashMap::new();
    item.insert("PK".to_owned(), AttributeValue::S("CONFIG".into()));
    item.insert("SK".to_owned(), AttributeValue::S("CURSOR_SECRET".into()));
    item.insert(
        "secret".to_owned(),
        AttributeValue::B(old_secret.to_vec().into()),
    );
    put_item(&app, item).await;
    let old_key = shared::secrets::hmac_sha256(&old_secret, b"scaikey client-secret key v1");
    let old_hash =
        data_encoding::HEXLOWER.encode(&shared::secrets::hmac_sha256(&old_key, secret.as_bytes()));
    let store = app.state.store();
    store
        .client()
        .update_item()
        .table_name(store.table())
        .key("PK", AttributeValue::S(format!("APP#{id}")))
        .key("SK", AttributeValue::S("APP".into()))
        .update_expression("SET secret_hash = :h")
        .expression_attribute_values(":h", AttributeValue::S(old_hash))
        .send()
        .await
        .unwrap();

    let cli = instance(&app, app.state.kek().cloned()).await;
    let made = scaikey_cli::ops::seal_credentials(&cli.state)
        .await
        .unwrap();
    assert_eq!(
        made.len(),
        4,
        "cursor, credentials, client-secret keys; old secret: {made:?}"
    );
    assert!(raw_item(&app, "CONFIG", "CURSOR_SECRET").await.is_none());
    assert!(raw_item(&app, "CONFIG", "CURSOR_KEY").await.is_some());
    assert!(
        scaikey_cli::ops::seal_credentials(&cli.state)
            .await
            .unwrap()
            .is_empty(),
        "a second run changes nothing"
    );
    // A fresh instance (as after the deploy) authenticates the client with its old secret.
    let server = instance(&app, app.state.kek().cloned()).await;
    let form = format!("grant_type=client_credentials&client_id={id}&client_secret={secret}");
    let grant = server
        .send(
            Request::post("/api/v1/platform/oauth/token")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(form))
                .unwrap(),
        )
        .await;
    assert_eq!(grant.status, StatusCode::OK, "{}", grant.body);
    // And logins work under the new credentials key.
    assert_eq!(
        server.login_reply(ADMIN_EMAIL, ADMIN_PASSWORD).await.status,
        StatusCode::OK
    );
}
