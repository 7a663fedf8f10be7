//! Admin auth (SPEC §4.1), token verification attacks, sessions and lockout.

use api_tests::*;
use axum::http::{Method, StatusCode};
use data_encoding::BASE64URL_NOPAD;
use serde_json::{Value, json};
use shared::access::AdminRole;

fn b64(value: &Value) -> String {
    BASE64URL_NOPAD.encode(value.to_string().as_bytes())
}

fn parts(token: &str) -> (Value, Value, String) {
    let mut it = token.split('.');
    let header = serde_json::from_slice(
        &BASE64URL_NOPAD
            .decode(it.next().unwrap().as_bytes())
            .unwrap(),
    )
    .unwrap();
    let claims = serde_json::from_slice(
        &BASE64URL_NOPAD
            .decode(it.next().unwrap().as_bytes())
            .unwrap(),
    )
    .unwrap();
    (header, claims, it.next().unwrap().to_owned())
}

#[tokio::test]
async fn login_returns_tokens_and_me_describes_the_admin_in_three_round_trips() {
    let Some(app) = spawn_app().await else { return };
    let before = app.calls();
    let reply = app.login_reply(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(reply.status, StatusCode::OK);
    // Marker + attempt counters; then, at once, the attempt slot (a conditional write) and
    // user + tenant + partner; then the session transaction: 4 calls, 3 round trips.
    assert_eq!(app.calls() - before, 4);
    assert_eq!(reply.body["token_type"], "Bearer");
    assert_eq!(reply.body["expires_in"], 900);
    assert_eq!(reply.body["user"]["role"], "super_admin");
    assert_eq!(reply.body["user"]["email"], ADMIN_EMAIL);
    assert!(reply.headers.contains_key("x-request-id"));
    let token = reply.body["access_token"].as_str().unwrap();
    let (header, claims, _) = parts(token);
    assert_eq!(header["alg"], "RS256");
    assert!(header["kid"].as_str().unwrap().starts_with("key_"));
    for claim in [
        "iss",
        "aud",
        "sub",
        "role",
        "tenant_id",
        "sid",
        "iat",
        "exp",
        "jti",
    ] {
        assert!(claims.get(claim).is_some(), "claim {claim} missing");
    }
    let before = app.calls();
    let me = app.get("/api/v1/admin/auth/me", token).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(
        app.calls() - before,
        1,
        "session check and user read share one batch"
    );
    assert_eq!(me.body["role"], "super_admin");
    assert!(
        me.body["session"]["id"]
            .as_str()
            .unwrap()
            .starts_with("ses_")
    );
}

#[tokio::test]
async fn every_login_failure_is_the_same_401() {
    let Some(app) = spawn_app().await else { return };
    let expected = detail("Invalid email or password");
    for (email, password) in [
        (ADMIN_EMAIL, "wrong"),
        ("nobody@platform.test", ADMIN_PASSWORD),
        ("not-an-email", "x"),
    ] {
        let reply = app.login_reply(email, password).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{email}");
        assert_eq!(reply.body, expected);
    }
    let reply = app
        .call(
            Method::POST,
            "/api/v1/admin/auth/login",
            None,
            Some(json!({"email": ADMIN_EMAIL})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        reply.body,
        json!({"detail": [{"loc": ["body", "password"], "msg": "Field required", "type": "missing"}]})
    );
}

#[tokio::test]
async fn five_failures_lock_the_email_even_for_the_right_password() {
    let Some(app) = spawn_app().await else { return };
    for _ in 0..5 {
        assert_eq!(
            app.login_reply(ADMIN_EMAIL, "wrong").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let locked = app.login_reply(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(locked.body, detail("Too many requests"));
    let retry: u64 = locked.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    // Five failures now are forgotten as they leave the last 15 minutes: the first slot is
    // free again 3 minutes into the next 15-minute window.
    assert!((180..=1080).contains(&retry), "retry-after {retry}");
}

/// 20 wrong passwords at once from one address: exactly 5 are checked (401), the other 15
/// are refused before any password check (429) — each attempt takes its slot with a
/// conditional write before argon2 runs. A success gives its slot back.
#[tokio::test]
async fn parallel_guesses_from_one_address_get_exactly_five_checks() {
    let Some(app) = spawn_app().await else { return };
    assert_eq!(
        app.login_from("198.51.100.7", ADMIN_EMAIL, ADMIN_PASSWORD)
            .await
            .status,
        StatusCode::OK,
        "a success takes no slot for good"
    );
    let replies = join_all(
        (0..20)
            .map(|_| app.login_from("198.51.100.7", ADMIN_EMAIL, "wrong"))
            .collect(),
    )
    .await;
    let count = |status: StatusCode| replies.iter().filter(|r| r.status == status).count();
    assert_eq!(count(StatusCode::UNAUTHORIZED), 5);
    assert_eq!(count(StatusCode::TOO_MANY_REQUESTS), 15);
    // Another address still gets its own five: one attacker cannot lock the admin out from
    // everywhere.
    assert_eq!(
        app.login_from("203.0.113.9", ADMIN_EMAIL, ADMIN_PASSWORD)
            .await
            .status,
        StatusCode::OK
    );
    // `scaikey admin unlock` lifts it.
    assert!(
        scaikey_cli::ops::unlock_login(&app.state, ADMIN_EMAIL)
            .await
            .unwrap()
            > 0
    );
    assert_eq!(
        app.login_from("198.51.100.7", ADMIN_EMAIL, ADMIN_PASSWORD)
            .await
            .status,
        StatusCode::OK
    );
}

/// Every failed login does the same DynamoDB work, whether the email is unknown or an admin's
/// with a wrong password; and failures on an unknown email add one audit event per email and
/// window, not one per request (the email's counter keeps the number).
#[tokio::test]
async fn failed_logins_cost_the_same_and_unknown_emails_do_not_flood_the_audit_log() {
    let Some(app) = spawn_app().await else { return };
    let mut costs = Vec::new();
    for (address, email) in [
        ("192.0.2.1", ADMIN_EMAIL),
        ("192.0.2.2", "nobody@example.com"),
        ("192.0.2.3", "nobody@example.com"),
    ] {
        let before = app.calls();
        let reply = app.login_from(address, email, "wrong").await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        costs.push(app.calls() - before);
    }
    assert!(costs.iter().all(|c| *c == costs[0]), "{costs:?}");
    for i in 0..8 {
        app.login_from(&format!("198.51.100.{i}"), "nobody@example.com", "wrong")
            .await;
    }
    let table = app.snapshot().await;
    let events = table
        .values()
        .filter(|i| i["SK"] == "EVENT" && i["actor"]["email"] == "nobody@example.com")
        .count();
    assert_eq!(events, 1, "one event for the window's first failure");
    let unrecorded: i64 = table
        .values()
        .filter_map(|i| i["unrecorded_failures"].as_i64())
        .sum();
    assert_eq!(unrecorded, 9);
}

/// A distributed guesser is stopped too: 50 failures per email from all addresses together.
#[tokio::test]
async fn fifty_failures_from_many_addresses_lock_the_email_everywhere() {
    let Some(app) = spawn_app().await else { return };
    for i in 0..50 {
        let reply = app
            .login_from(&format!("192.0.2.{}", i / 4), ADMIN_EMAIL, "wrong")
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let fresh_address = app
        .login_from("203.0.113.200", ADMIN_EMAIL, ADMIN_PASSWORD)
        .await;
    assert_eq!(fresh_address.status, StatusCode::TOO_MANY_REQUESTS);
    // Another email is not affected.
    assert_eq!(
        app.login_from("203.0.113.200", "nobody@example.com", "wrong")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_refresh_token_revokes_the_session() {
    let Some(app) = spawn_app().await else { return };
    let login = app.login_reply(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let first = login.body["refresh_token"].as_str().unwrap().to_owned();
    let access = login.body["access_token"].as_str().unwrap().to_owned();
    let refreshed = app.refresh_reply(&first).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    let second = refreshed.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    // Reuse of the first token: refused, and the whole session ends.
    let reused = app.refresh_reply(&first).await;
    assert_eq!(reused.status, StatusCode::UNAUTHORIZED);
    let after = app.refresh_reply(&second).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.get("/api/v1/admin/auth/me", &access).await.status,
        StatusCode::UNAUTHORIZED
    );
    // Garbage is refused without revoking anything.
    let garbage = app.refresh_reply("ses_x.y").await;
    assert_eq!(garbage.status, StatusCode::UNAUTHORIZED);
}

/// The session keeps a generation, not the tokens it issued: its item stays the same size
/// however often it is refreshed, any earlier token is still recognised as a reuse, and a
/// forged token naming a real session ends nothing.
#[tokio::test]
async fn refresh_history_is_a_generation_and_forged_tokens_end_nothing() {
    let Some(app) = spawn_app().await else { return };
    let login = app.login_reply(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let mut tokens = vec![login.body["refresh_token"].as_str().unwrap().to_owned()];
    let session = tokens[0].split('.').next().unwrap().to_owned();
    let session_item = || async {
        app.snapshot()
            .await
            .into_values()
            .find(|item| item["PK"] == format!("SESSION#{session}"))
            .expect("the session item")
    };
    let fresh = session_item().await;
    for _ in 0..5 {
        let refreshed = app.refresh_reply(tokens.last().unwrap()).await;
        assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
        tokens.push(refreshed.body["refresh_token"].as_str().unwrap().to_owned());
    }
    let after = session_item().await;
    assert_eq!(after["refresh_generation"], 5);
    assert_eq!(
        after.as_object().unwrap().keys().collect::<Vec<_>>(),
        fresh.as_object().unwrap().keys().collect::<Vec<_>>(),
        "no history grows in the item"
    );
    assert!(
        !after
            .to_string()
            .contains(tokens[5].rsplit('.').next().unwrap())
    );

    // Forged tokens naming the live session: refused, and the session goes on.
    for forged in [
        format!("{session}.0.AAAA"),
        format!("{session}.5.AAAA"),
        format!("{session}.99.{}", tokens[5].rsplit('.').next().unwrap()),
        format!("{session}.x.y"),
        format!("{session}.5"),
    ] {
        assert_eq!(
            app.refresh_reply(&forged).await.status,
            StatusCode::UNAUTHORIZED,
            "{forged}"
        );
    }
    let still = app.refresh_reply(&tokens[5]).await;
    assert_eq!(still.status, StatusCode::OK, "{}", still.body);
    let latest = still.body["refresh_token"].as_str().unwrap().to_owned();

    // A genuine token of an earlier generation is a reuse: the whole session ends.
    assert_eq!(
        app.refresh_reply(&tokens[2]).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.refresh_reply(&latest).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(session_item().await["status"], "REVOKED");
}

/// Refresh applies the session check's rule: a revoked grant or a suspended user gets no new
/// tokens (the access token is already refused on its next request).
#[tokio::test]
async fn refresh_is_refused_once_the_grant_is_revoked_or_the_user_suspended() {
    let Some(app) = spawn_app().await else { return };
    let root = app.root_token().await;
    let acme = app.create_partner(&root, "acme").await;
    let hq = app.create_tenant(&root, &acme, "acme-hq").await;
    let _ = app
        .admin_token("ann@acme.test", AdminRole::TenantAdmin, None, Some(&hq))
        .await;
    let _ = app
        .admin_token("bob@acme.test", AdminRole::TenantAdmin, None, Some(&hq))
        .await;
    let password = "admin-password-for-tests";
    let refresh_of = |reply: &Reply| reply.body["refresh_token"].as_str().unwrap().to_owned();
    let ann = app.login_reply("ann@acme.test", password).await;
    let bob = app.login_reply("bob@acme.test", password).await;
    let (ann_refresh, bob_refresh) = (refresh_of(&ann), refresh_of(&bob));
    let ann_id = ann.body["user"]["id"].as_str().unwrap().to_owned();
    let bob_id = bob.body["user"]["id"].as_str().unwrap().to_owned();

    let grants = app
        .get(&format!("/api/v1/admin/admin-roles/user/{ann_id}"), &root)
        .await;
    let grant = grants.body["items"][0]["id"].as_str().unwrap().to_owned();
    let revoked = app
        .delete(&format!("/api/v1/admin/admin-roles/{grant}"), &root)
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT, "{}", revoked.body);
    assert_eq!(
        app.refresh_reply(&ann_refresh).await.status,
        StatusCode::UNAUTHORIZED
    );

    let suspended = app
        .patch(
            &format!("/api/v1/admin/users/{bob_id}"),
            &root,
            json!({"status": "SUSPENDED"}),
        )
        .await;
    assert_eq!(suspended.status, StatusCode::OK, "{}", suspended.body);
    assert_eq!(
        app.refresh_reply(&bob_refresh).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn logout_ends_access_and_refresh_at_once() {
    let Some(app) = spawn_app().await else { return };
    let login = app.login_reply(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let access = login.body["access_token"].as_str().unwrap();
    let refresh = login.body["refresh_token"].as_str().unwrap();
    let out = app
        .call(
            Method::POST,
            "/api/v1/admin/auth/logout",
            Some(access),
            None,
        )
        .await;
    assert_eq!(out.status, StatusCode::OK);
    assert_eq!(out.body, json!({"message": "Logged out"}));
    let me = app.get("/api/v1/admin/auth/me", access).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    assert_eq!(me.body, detail("Invalid or expired token"));
    assert_eq!(me.headers["www-authenticate"], "Bearer");
    let again = app.refresh_reply(refresh).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn forged_tampered_and_expired_tokens_are_refused() {
    let Some(app) = spawn_app().await else { return };
    let token = app.root_token().await;
    let (header, claims, signature) = parts(&token);
    let jwks = app.jwks().await;
    let n = jwks.body["keys"][0]["n"].as_str().unwrap().to_owned();
    let mut attacks: Vec<(&str, String)> = Vec::new();
    attacks.push((
        "alg none",
        format!(
            "{}.{}.",
            b64(&json!({"alg": "none", "typ": "JWT"})),
            b64(&claims)
        ),
    ));
    let hs_header = json!({"alg": "HS256", "typ": "JWT", "kid": header["kid"]});
    let hs = jsonwebtoken::encode(
        &jsonwebtoken::Header {
            alg: jsonwebtoken::Algorithm::HS256,
            kid: header["kid"].as_str().map(str::to_owned),
            ..Default::default()
        },
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(n.as_bytes()),
    );
    let _ = hs_header;
    if let Ok(hs) = hs {
        attacks.push(("HS256 signed with the public key", hs));
    }
    let mut unknown = header.clone();
    unknown["kid"] = json!("key_00000000000000000000000000");
    attacks.push((
        "unknown kid",
        format!("{}.{}.{signature}", b64(&unknown), b64(&claims)),
    ));
    let mut elevated = claims.clone();
    elevated["sub"] = json!("usr_00000000000000000000000000");
    attacks.push((
        "tampered claims",
        format!("{}.{}.{signature}", b64(&header), b64(&elevated)),
    ));
    attacks.push(("garbage", "not.a.jwt".into()));
    for (name, forged) in attacks {
        let reply = app.get("/api/v1/admin/auth/me", &forged).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{name}");
        assert_eq!(reply.body, detail("Invalid or expired token"), "{name}");
    }
    let missing = app
        .call(Method::GET, "/api/v1/admin/auth/me", None, None)
        .await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(missing.body, detail("Not authenticated"));
}

#[tokio::test]
async fn an_expired_token_is_refused_after_the_leeway() {
    let Some(app) = spawn_app_with(&[("SCAIKEY_ACCESS_TOKEN_TTL_SECONDS", "60")]).await else {
        return;
    };
    let token = app.root_token().await;
    let (_, mut claims, _) = parts(&token);
    // Re-sign the same claims with an expiry in the past, with the real key.
    claims["exp"] = json!(claims["iat"].as_i64().unwrap() - 61);
    let claims: shared::tokens::AdminClaims = serde_json::from_value(claims).unwrap();
    let expired = app.state.keys().sign(&claims).await.unwrap();
    assert_eq!(
        app.get("/api/v1/admin/auth/me", &expired).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_suspended_partner_stops_its_tenants_admins() {
    let Some(app) = spawn_app().await else { return };
    let root = app.root_token().await;
    let partner = app.create_partner(&root, "acme").await;
    let tenant = app.create_tenant(&root, &partner, "acme-hq").await;
    let admin = app
        .admin_token("ta@acme.test", AdminRole::TenantAdmin, None, Some(&tenant))
        .await;
    assert_eq!(
        app.get(&format!("/api/v1/admin/tenants/{tenant}"), &admin)
            .await
            .status,
        StatusCode::OK
    );
    let suspended = app
        .patch(
            &format!("/api/v1/admin/partners/{partner}"),
            &root,
            json!({"status": "SUSPENDED"}),
        )
        .await;
    assert_eq!(suspended.status, StatusCode::OK);
    // The live session stops on its very next request, and a new login is refused.
    assert_eq!(
        app.get(&format!("/api/v1/admin/tenants/{tenant}"), &admin)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let login = app
        .login_reply("ta@acme.test", "admin-password-for-tests")
        .await;
    assert_eq!(login.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn health_and_jwks_need_no_token() {
    let Some(app) = spawn_app().await else { return };
    let health = app.call(Method::GET, "/api/v1/health", None, None).await;
    assert_eq!(
        (health.status, health.body),
        (StatusCode::OK, json!({"status": "ok"}))
    );
    let jwks = app.jwks().await;
    assert_eq!(jwks.body["keys"][0]["kty"], "RSA");
    assert_eq!(jwks.body["keys"][0]["alg"], "RS256");
}

/// A rotated-in key is published at once and signs only after its publication delay (every
/// instance's key cache can have seen it by then); tokens of the old key stay valid.
#[tokio::test]
async fn rotation_publishes_the_new_key_before_it_signs() {
    let Some(app) = spawn_app().await else { return };
    let old = app.root_token().await;
    let (new_kid, _) = scaikey_cli::ops::rotate_keys(&app.state).await.unwrap();
    let jwks = app.jwks().await;
    let kids: Vec<&str> = jwks.body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids.len(), 2);
    assert!(kids.contains(&new_kid.as_str()), "published at once");
    let during = app.root_token().await;
    assert_eq!(
        parts(&during).0["kid"],
        parts(&old).0["kid"],
        "the old key signs while the new one is being published"
    );
    // A rotation whose delay has passed: the newest key signs; every token still verifies.
    let (newest, _) = scaikey_cli::ops::rotate_keys_after(&app.state, std::time::Duration::ZERO)
        .await
        .unwrap();
    let after = app.root_token().await;
    assert_eq!(parts(&after).0["kid"], newest.as_str());
    for token in [&old, &during, &after] {
        assert_eq!(
            app.get("/api/v1/admin/auth/me", token).await.status,
            StatusCode::OK
        );
    }
}

/// `scaikey keys revoke KID`: the key's tokens are refused on their very next request (the
/// session check reads the revocation mark, whatever the key cache holds), it leaves the
/// JWKS, and when it was the one signing, a new key signs at once.
#[tokio::test]
async fn a_revoked_key_stops_its_tokens_at_once() {
    let Some(app) = spawn_app().await else { return };
    let token = app.root_token().await;
    let kid = parts(&token).0["kid"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get("/api/v1/admin/auth/me", &token).await.status,
        StatusCode::OK
    );
    let done = scaikey_cli::ops::revoke_key(&app.state, &kid)
        .await
        .unwrap();
    assert_eq!(done.len(), 2, "{done:?}: revoked, and a new key signs");
    assert_eq!(
        app.get("/api/v1/admin/auth/me", &token).await.status,
        StatusCode::UNAUTHORIZED
    );
    let jwks = app.jwks().await;
    assert!(
        jwks.body["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["kid"] != kid.as_str())
    );
    let fresh = app.root_token().await;
    assert_ne!(parts(&fresh).0["kid"], kid.as_str());
    let me = app.get("/api/v1/admin/auth/me", &fresh).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    // Revoking twice says so and changes nothing.
    let again = scaikey_cli::ops::revoke_key(&app.state, &kid)
        .await
        .unwrap();
    assert_eq!(again.len(), 1, "{again:?}");
    assert!(
        scaikey_cli::ops::revoke_key(&app.state, "kid_unknown")
            .await
            .is_err()
    );
}

#[tokio::test]
async fn logout_is_idempotent_whatever_token_it_gets() {
    let Some(app) = spawn_app().await else { return };
    let logged_out = json!({"message": "Logged out"});
    let token = app.root_token().await;
    let (_, mut claims, _) = parts(&token);
    claims["exp"] = json!(claims["iat"].as_i64().unwrap() - 3600);
    let claims: shared::tokens::AdminClaims = serde_json::from_value(claims).unwrap();
    let expired = app.state.keys().sign(&claims).await.unwrap();
    for (name, bearer) in [
        ("no token", None),
        ("garbage", Some("not.a.jwt")),
        ("expired", Some(expired.as_str())),
        ("valid", Some(token.as_str())),
        ("already revoked", Some(token.as_str())),
    ] {
        let reply = app
            .call(Method::POST, "/api/v1/admin/auth/logout", bearer, None)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{name}");
        assert_eq!(reply.body, logged_out, "{name}");
    }
    let me = app.get("/api/v1/admin/auth/me", &token).await;
    assert_eq!(
        me.status,
        StatusCode::UNAUTHORIZED,
        "the valid logout ended the session"
    );
    let events = app
        .audit_events_of_partner(app.platform_partner.as_str())
        .await;
    let logouts = events
        .iter()
        .filter(|e| e["action"] == "auth.logout")
        .count();
    assert_eq!(
        logouts, 1,
        "only the logout that ended a session is recorded"
    );
}

#[tokio::test]
async fn oversized_login_input_is_the_same_401_and_touches_nothing() {
    let Some(app) = spawn_app().await else { return };
    let long_email = format!("{}@platform.test", "a".repeat(2_100));
    let long_password = "p".repeat(1_025);
    for (email, password) in [
        (long_email.as_str(), ADMIN_PASSWORD),
        (ADMIN_EMAIL, long_password.as_str()),
    ] {
        let before = app.calls();
        let reply = app.login_reply(email, password).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(reply.body, detail("Invalid email or password"));
        assert_eq!(app.calls() - before, 0, "refused before any DynamoDB call");
    }
    // Oversized attempts do not count toward the lockout of the real email.
    let ok = app.login_reply(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(ok.status, StatusCode::OK);
}

#[tokio::test]
async fn admins_of_a_moved_tenant_are_signed_out_and_can_sign_in_again() {
    let Some(app) = spawn_app().await else { return };
    let root = app.root_token().await;
    let old_partner = app.create_partner(&root, "old-reseller").await;
    let new_partner = app.create_partner(&root, "new-reseller").await;
    let tenant = app.create_tenant(&root, &old_partner, "moving").await;
    let admin = app
        .admin_token(
            "it@moving.test",
            AdminRole::TenantAdmin,
            None,
            Some(&tenant),
        )
        .await;
    let moved = app
        .patch(
            &format!("/api/v1/admin/tenants/{tenant}"),
            &root,
            json!({"partner_id": new_partner}),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK);
    let stale = app.get("/api/v1/admin/auth/me", &admin).await;
    assert_eq!(
        stale.status,
        StatusCode::UNAUTHORIZED,
        "the move signs its admins out"
    );
    let again = app
        .login_reply("it@moving.test", "admin-password-for-tests")
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.body["user"]["partner_id"], json!(new_partner));
    let token = again.body["access_token"].as_str().unwrap();
    let me = app.get("/api/v1/admin/auth/me", token).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["partner_id"], json!(new_partner));
}

#[tokio::test]
async fn scaikey_admin_create_applies_the_tenants_password_policy() {
    let Some(app) = spawn_app().await else { return };
    let root = app.root_token().await;
    let partner = app.create_partner(&root, "strict").await;
    let tenant = app
        .post(
            "/api/v1/admin/tenants",
            &root,
            json!({"name": "Strict", "slug": "strict-hq", "partner_id": partner,
                   "settings": {"password_policy": {"min_length": 16, "require_digit": true}}}),
        )
        .await;
    let tenant = tenant.body["id"].as_str().unwrap().to_owned();
    let create = |email: &str, password: &str| scaikey_cli::ops::NewAdmin {
        email: email.into(),
        password: password.into(),
        role: AdminRole::TenantAdmin,
        partner_id: None,
        tenant_id: Some(shared::ids::TenantId::parse(&tenant).unwrap()),
    };
    for (password, rule) in [
        ("only-fifteen-ch", "min_length"),
        ("sixteen-chars-no-digit", "require_digit"),
    ] {
        let err = scaikey_cli::ops::create_admin(&app.state, create("a@strict.test", password))
            .await
            .unwrap_err();
        assert!(err.to_string().contains(rule), "{err}");
    }
    let short_for_platform = scaikey_cli::ops::create_admin(
        &app.state,
        scaikey_cli::ops::NewAdmin {
            email: "root2@platform.test".into(),
            password: "elevenchars".into(),
            role: AdminRole::SuperAdmin,
            partner_id: None,
            tenant_id: None,
        },
    )
    .await;
    assert!(
        short_for_platform.is_err(),
        "the default policy wants 12 characters"
    );
    let ok = scaikey_cli::ops::create_admin(
        &app.state,
        create("a@strict.test", "sixteen-chars-w1th-digit"),
    )
    .await
    .unwrap();
    assert!(ok.is_some());
}

const PASSWORD: &str = "admin-password-for-tests";
const SESSIONS: &str = "/api/v1/admin/sessions";

/// A list of sessions' exact total, as `token` sees it.
async fn listed(app: &TestApp, query: &str, token: &str) -> i64 {
    let list = app.get(&format!("{SESSIONS}{query}"), token).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    list.body["pagination"]["total"].as_i64().unwrap()
}

/// The platform's, a partner's and two tenants' active-session tallies now.
async fn counted(app: &TestApp, partner: &str, tenants: [&str; 2]) -> [i64; 4] {
    let table = app.snapshot().await;
    let tally = |scope: String| crate::sessions::tally(&table, &scope);
    [
        tally("PLATFORM".to_owned()),
        tally(format!("PARTNER#{partner}")),
        tally(format!("TENANT#{}", tenants[0])),
        tally(format!("TENANT#{}", tenants[1])),
    ]
}

/// Logins count their session in its tenant, the tenant's partner and the platform, as the
/// lists show them to each tier; a logout and a refresh token's reuse take it off exactly once.
#[tokio::test]
async fn sign_ins_and_sign_outs_keep_the_session_tallies_exact() {
    let Some(app) = spawn_app().await else { return };
    let root = app.root_token().await;
    let acme = app.create_partner(&root, "acme").await;
    let hq = app.create_tenant(&root, &acme, "acme-hq").await;
    let lab = app.create_tenant(&root, &acme, "acme-lab").await;
    let ann = app
        .admin_token("ann@acme.test", AdminRole::TenantAdmin, None, Some(&hq))
        .await;
    let ann2 = app.login_reply("ann@acme.test", PASSWORD).await;
    let bob = app
        .admin_token("bob@acme.test", AdminRole::TenantAdmin, None, Some(&lab))
        .await;
    let bob2 = app.login_reply("bob@acme.test", PASSWORD).await;
    let pa = app
        .admin_token("pa@acme.test", AdminRole::PartnerAdmin, Some(&acme), None)
        .await;
    let now = counted(&app, &acme, [&hq, &lab]).await;
    assert_eq!(
        now,
        [6, 4, 2, 2],
        "root, ann ×2, bob ×2, pa (platform tenant)"
    );
    assert_eq!(now[0], listed(&app, "", &root).await);
    assert_eq!(now[1], listed(&app, "", &pa).await);
    assert_eq!(now[2], listed(&app, "", &ann).await);
    assert_eq!(now[3], listed(&app, "", &bob).await);

    // A session ends on the whole minute at or before its 12 hours are up.
    let me = app.get("/api/v1/admin/auth/me", &ann).await;
    let created =
        shared::time::Timestamp::parse(me.body["session"]["created_at"].as_str().unwrap()).unwrap();
    let expires =
        shared::time::Timestamp::parse(me.body["session"]["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!(
        expires,
        shared::store::tally::minute_at_or_before(
            created.plus(std::time::Duration::from_secs(43_200))
        )
    );

    // Logout: one less, once.
    let ann2_access = ann2.body["access_token"].as_str().unwrap();
    for _ in 0..2 {
        let out = app
            .call(
                Method::POST,
                "/api/v1/admin/auth/logout",
                Some(ann2_access),
                None,
            )
            .await;
        assert_eq!(out.status, StatusCode::OK);
        assert_eq!(counted(&app, &acme, [&hq, &lab]).await, [5, 3, 1, 2]);
    }
    assert_eq!(listed(&app, "", &ann).await, 1);

    // A reused refresh token ends its session: one less, once.
    let first = bob2.body["refresh_token"].as_str().unwrap().to_owned();
    let refreshed = app.refresh_reply(&first).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    for _ in 0..2 {
        assert_eq!(
            app.refresh_reply(&first).await.status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(counted(&app, &acme, [&hq, &lab]).await, [4, 2, 1, 1]);
    }
    assert_eq!(listed(&app, "", &bob).await, 1);
    assert_eq!(listed(&app, "", &pa).await, 2);
    assert_eq!(listed(&app, "", &root).await, 4);
}

/// Sets the expiry of a user's first grant in its `admin_roles` summary (what the login reads).
async fn set_grant_expiry(app: &TestApp, user: &str, until: shared::time::Timestamp) {
    let key = shared::store::keys::user(&shared::ids::UserId::parse(user).unwrap());
    let table = app.snapshot().await;
    let mut roles = table[&format!("USER#{user} USER")]["admin_roles"].clone();
    roles[0]["expires_at"] = json!(until.to_string());
    let store = app.state.store();
    store
        .client()
        .update_item()
        .table_name(store.table())
        .set_key(Some(key.to_item()))
        .update_expression("SET admin_roles = :r")
        .expression_attribute_values(":r", serde_dynamo::to_attribute_value(roles).unwrap())
        .send()
        .await
        .unwrap();
}

/// A session never ends after its grant: on the whole minute at or before; a grant up within
/// the minute leaves no session at all — the login is refused as every failure is (and counts
/// as one), and nothing is counted.
#[tokio::test]
async fn a_session_ends_on_the_minute_before_its_grant_and_none_is_left_within_it() {
    let Some(app) = spawn_app().await else { return };
    let root = app.root_token().await;
    let acme = app.create_partner(&root, "acme").await;
    let hq = app.create_tenant(&root, &acme, "acme-hq").await;
    let lab = app.create_tenant(&root, &acme, "acme-lab").await;
    let ann = app
        .admin_token("ann@acme.test", AdminRole::TenantAdmin, None, Some(&hq))
        .await;
    let (_, claims, _) = parts(&ann);
    let user = claims["sub"].as_str().unwrap().to_owned();

    let now = shared::time::Timestamp::now();
    let until = now.plus(std::time::Duration::from_secs(600 + 30));
    set_grant_expiry(&app, &user, until).await;
    let reply = app.login_reply("ann@acme.test", PASSWORD).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let token = reply.body["access_token"].as_str().unwrap();
    let me = app.get("/api/v1/admin/auth/me", token).await;
    let expires = me.body["session"]["expires_at"].as_str().unwrap();
    assert_eq!(
        expires,
        shared::store::tally::minute_at_or_before(until).to_string()
    );

    // Up before the next whole minute: no session. (Away from the minute's end, so the grant
    // is still in force when the login reads it.)
    let second = shared::time::Timestamp::now().unix() % 60;
    if second >= 55 {
        tokio::time::sleep(std::time::Duration::from_secs((61 - second) as u64)).await;
    }
    let minute = shared::store::tally::minute_at_or_before(shared::time::Timestamp::now());
    set_grant_expiry(&app, &user, minute.plus(std::time::Duration::from_secs(59))).await;
    let before = counted(&app, &acme, [&hq, &lab]).await;
    let snapshot = app.snapshot().await;
    let refused = app.login_reply("ann@acme.test", PASSWORD).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.body, detail("Invalid email or password"));
    assert_eq!(counted(&app, &acme, [&hq, &lab]).await, before);
    // The attempt keeps the slots it took, as a failure does; it is recorded; nothing else.
    let after = app.snapshot().await;
    for (key, value) in &snapshot {
        if key.starts_with("LOGIN#ann@acme.test ") {
            let attempts = |item: &Value| item["attempts"].as_i64().unwrap_or(0);
            assert_eq!(attempts(&after[key]), attempts(value) + 1, "{key}");
        } else {
            assert_eq!(after.get(key), Some(value), "{key} changed");
        }
    }
    let added: Vec<&Value> = after
        .iter()
        .filter(|(k, _)| !snapshot.contains_key(*k))
        .map(|(_, v)| v)
        .collect();
    assert_eq!(added.len(), 1, "{added:?}");
    assert_eq!(added[0]["action"], "auth.login");
    assert_eq!(added[0]["result"], "FAILURE");
}
