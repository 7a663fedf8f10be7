//! Who outranks whom (SPEC §5): a caller never resets, edits, deletes, restores, re-grants or ends
//! the sessions of a user whose admin grants reach beyond the caller's own reach — compared by
//! reach, not rank. The targets here hold a grant outside the caller's reach while living inside
//! it: a partner admin of A whose tenant was transferred to B, a partner admin of A living in the
//! platform tenant next to the platform partner's admins, and the super admin next to a tenant
//! admin of the platform tenant.

use api_tests::*;
use axum::http::StatusCode;
use data_encoding::BASE64URL_NOPAD;
use serde_json::{Value, json};
use shared::access::AdminRole;

const USERS: &str = "/api/v1/admin/users";
const ROLES: &str = "/api/v1/admin/admin-roles";
const SESSIONS: &str = "/api/v1/admin/sessions";
const ME: &str = "/api/v1/admin/auth/me";

/// A token's claim.
fn claim(token: &str, name: &str) -> String {
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value =
        serde_json::from_slice(&BASE64URL_NOPAD.decode(payload.as_bytes()).unwrap()).unwrap();
    claims[name].as_str().unwrap().to_owned()
}

fn ids(reply: &Reply) -> Vec<String> {
    reply.body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a list: {}", reply.body))
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Every write a caller might make on `user` (whose session is `session`): each refused with
/// 403, and nothing about the user changed.
async fn assert_out_of_reach(app: &TestApp, caller: &str, user: &str, session: &str, who: &str) {
    let path = format!("{USERS}/{user}");
    let before = app.snapshot().await;
    let reset = app
        .post(
            &format!("{path}/reset-password"),
            caller,
            json!({"generate": true}),
        )
        .await;
    assert_eq!(
        reset.status,
        StatusCode::FORBIDDEN,
        "{who}: reset {}",
        reset.body
    );
    assert!(reset.body.get("temporary_password").is_none());
    let patched = app
        .patch(&path, caller, json!({"first_name": "Mallory"}))
        .await;
    assert_eq!(patched.status, StatusCode::FORBIDDEN, "{who}: patch");
    assert_eq!(
        app.delete(&path, caller).await.status,
        StatusCode::FORBIDDEN,
        "{who}: delete"
    );
    // Sessions: not listed, not read, not ended — alone, by user or by tenant.
    let listed = app.get(SESSIONS, caller).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    assert!(!ids(&listed).contains(&session.to_owned()), "{who}: listed");
    let by_user = app.get(&format!("{SESSIONS}?user_id={user}"), caller).await;
    assert!(
        by_user.status == StatusCode::FORBIDDEN || !ids(&by_user).contains(&session.to_owned()),
        "{who}: listed by user"
    );
    let one = format!("{SESSIONS}/{session}");
    assert_eq!(
        app.get(&one, caller).await.status,
        StatusCode::FORBIDDEN,
        "{who}: get session"
    );
    assert_eq!(
        app.delete(&one, caller).await.status,
        StatusCode::FORBIDDEN,
        "{who}: revoke session"
    );
    let all = app
        .post(
            &format!("{SESSIONS}/revoke-all"),
            caller,
            json!({"user_id": user}),
        )
        .await;
    assert_eq!(all.status, StatusCode::FORBIDDEN, "{who}: revoke-all user");
    // Nothing of the user, its grants or its sessions was written (denied events aside).
    let after = app.snapshot().await;
    let changed: Vec<&String> = after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(v) && v["SK"] != "EVENT")
        .map(|(k, _)| k)
        .collect();
    assert!(changed.is_empty(), "{who}: wrote {changed:?}");
}

#[tokio::test]
async fn partner_b_cannot_take_over_the_admin_of_partner_a_in_a_transferred_tenant() {
    let Some(app) = spawn_app().await else { return };
    let root = app.root_token().await;
    let a = app.create_partner(&root, "acme").await;
    let b = app.create_partner(&root, "bravo").await;
    let moved = app.create_tenant(&root, &a, "acme-moved").await;
    let victim_token = app
        .admin_token(
            "pa@acme.test",
            AdminRole::PartnerAdmin,
            Some(&a),
            Some(&moved),
        )
        .await;
    let victim = claim(&victim_token, "sub");
    // Partner B receives the tenant; its admin now reaches the user (it lives in B's tenant)…
    app.move_tenant(&root, &moved, &b).await;
    let pb = app
        .admin_token("pb@bravo.test", AdminRole::PartnerAdmin, Some(&b), None)
        .await;
    let user = app.get(&format!("{USERS}/{victim}"), &pb).await;
    assert_eq!(user.status, StatusCode::OK, "{}", user.body);
    // …who still holds PARTNER_ADMIN of A (a transfer leaves grants as they are), and signs in
    // again (its old session pointed at the old partner).
    let victim_token = app.login("pa@acme.test", "admin-password-for-tests").await;
    let session = claim(&victim_token, "sid");
    assert_eq!(
        app.get(ME, &victim_token).await.status,
        StatusCode::OK,
        "the partner admin of A still runs A"
    );
    assert_out_of_reach(&app, &pb, &victim, &session, "partner admin of B").await;
    // Admin roles: B may neither grant the user a role in its (new) tenant nor strip one.
    let granted = app
        .post(
            ROLES,
            &pb,
            json!({"user_id": victim, "role": "TENANT_ADMIN", "tenant_id": moved}),
        )
        .await;
    assert_eq!(granted.status, StatusCode::FORBIDDEN, "{}", granted.body);
    let by_root = app
        .post(
            ROLES,
            &root,
            json!({"user_id": victim, "role": "TENANT_ADMIN", "tenant_id": moved}),
        )
        .await;
    assert_eq!(by_root.status, StatusCode::CREATED, "{}", by_root.body);
    let revoked = app.delete(&format!("{ROLES}/{}", by_root.id()), &pb).await;
    assert_eq!(revoked.status, StatusCode::FORBIDDEN, "{}", revoked.body);
    // A revoke-all of the tenant by B leaves A's admin signed in.
    let tenant_wide = app
        .post(
            &format!("{SESSIONS}/revoke-all"),
            &pb,
            json!({"tenant_id": moved}),
        )
        .await;
    assert_eq!(tenant_wide.status, StatusCode::OK, "{}", tenant_wide.body);
    assert_eq!(app.get(ME, &victim_token).await.status, StatusCode::OK);
    // Every refusal was recorded.
    let denied = app
        .snapshot()
        .await
        .into_values()
        .filter(|i| i["SK"] == "EVENT" && i["result"] == "DENIED")
        .count();
    assert!(denied >= 7, "{denied} denied events");
    // The super admin reaches it.
    let reset = app
        .post(
            &format!("{USERS}/{victim}/reset-password"),
            &root,
            json!({"generate": true}),
        )
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
}

#[tokio::test]
async fn the_platform_partners_admin_cannot_manage_another_partners_admin_in_the_platform_tenant() {
    let Some(app) = spawn_app().await else { return };
    let root = app.root_token().await;
    let a = app.create_partner(&root, "acme").await;
    let platform = app.platform_partner.to_string();
    // Partner A's admin lives in the platform tenant (where operators keep partner admins).
    let victim_token = app
        .admin_token("pa@acme.test", AdminRole::PartnerAdmin, Some(&a), None)
        .await;
    let victim = claim(&victim_token, "sub");
    let px = app
        .admin_token(
            "px@platform.test",
            AdminRole::PartnerAdmin,
            Some(&platform),
            None,
        )
        .await;
    assert_out_of_reach(
        &app,
        &px,
        &victim,
        &claim(&victim_token, "sid"),
        "platform partner admin",
    )
    .await;
    // A peer (another admin of the platform partner) it does manage.
    let peer_token = app
        .admin_token(
            "px2@platform.test",
            AdminRole::PartnerAdmin,
            Some(&platform),
            None,
        )
        .await;
    let peer = claim(&peer_token, "sub");
    let reset = app
        .post(
            &format!("{USERS}/{peer}/reset-password"),
            &px,
            json!({"new_password": "another-long-password"}),
        )
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
    let listed = app.get(SESSIONS, &px).await;
    assert!(
        !ids(&listed).contains(&claim(&victim_token, "sid")),
        "{}",
        listed.body
    );
}

#[tokio::test]
async fn a_tenant_admin_of_the_platform_tenant_never_sees_or_ends_a_super_admins_session() {
    let Some(app) = spawn_app().await else { return };
    let root = app.root_token().await;
    let root_user = claim(&root, "sub");
    let root_session = claim(&root, "sid");
    let platform = app.platform_tenant.to_string();
    let ta = app
        .admin_token(
            "ta@platform.test",
            AdminRole::TenantAdmin,
            None,
            Some(&platform),
        )
        .await;
    // Its own session and its peers' it sees.
    let peer = app
        .admin_token(
            "ta2@platform.test",
            AdminRole::TenantAdmin,
            None,
            Some(&platform),
        )
        .await;
    let listed = app.get(SESSIONS, &ta).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let seen = ids(&listed);
    assert!(seen.contains(&claim(&ta, "sid")));
    assert!(seen.contains(&claim(&peer, "sid")));
    assert_eq!(listed.body["pagination"]["total"], json!(seen.len()));
    for filtered in [
        format!("{SESSIONS}?tenant_id={platform}"),
        format!("{SESSIONS}?user_id={root_user}"),
    ] {
        let reply = app.get(&filtered, &ta).await;
        assert!(
            reply.status == StatusCode::FORBIDDEN || !ids(&reply).contains(&root_session),
            "{filtered}: {}",
            reply.body
        );
    }
    assert_out_of_reach(&app, &ta, &root_user, &root_session, "tenant admin").await;
    // Ending the tenant's sessions ends its peers' and its own, never the super admin's.
    let all = app
        .post(
            &format!("{SESSIONS}/revoke-all"),
            &ta,
            json!({"tenant_id": platform}),
        )
        .await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert_eq!(all.body["revoked"], json!(2), "{}", all.body);
    assert_eq!(app.get(ME, &root).await.status, StatusCode::OK);
    assert_eq!(app.get(ME, &peer).await.status, StatusCode::UNAUTHORIZED);
    // The super admin sees and ends every session.
    let listed = app.get(SESSIONS, &root).await;
    assert!(ids(&listed).contains(&root_session));
}

/// A grant re-ranks its holder's live sessions in its own transaction: a platform-tenant user
/// who signed in as a tenant admin and is then made super admin leaves the lists of the
/// platform tenant's tenant admins at once (its older session included).
#[tokio::test]
async fn a_grant_takes_its_holders_live_sessions_out_of_lower_reach() {
    let Some(app) = spawn_app().await else { return };
    let root = app.root_token().await;
    let platform = app.platform_tenant.to_string();
    let ta = app
        .admin_token(
            "ta@platform.test",
            AdminRole::TenantAdmin,
            None,
            Some(&platform),
        )
        .await;
    let rising = app
        .admin_token(
            "rising@platform.test",
            AdminRole::TenantAdmin,
            None,
            Some(&platform),
        )
        .await;
    let session = claim(&rising, "sid");
    assert!(ids(&app.get(SESSIONS, &ta).await).contains(&session));
    let granted = app
        .post(
            ROLES,
            &root,
            json!({"user_id": claim(&rising, "sub"), "role": "SUPER_ADMIN"}),
        )
        .await;
    assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.body);
    let listed = app.get(SESSIONS, &ta).await;
    assert!(!ids(&listed).contains(&session), "{}", listed.body);
    assert_eq!(
        app.get(&format!("{SESSIONS}/{session}"), &ta).await.status,
        StatusCode::FORBIDDEN
    );
    // The super admin still sees it, and the session itself still works as it was issued.
    assert!(ids(&app.get(SESSIONS, &root).await).contains(&session));
    assert_eq!(app.get(ME, &rising).await.status, StatusCode::OK);
}
