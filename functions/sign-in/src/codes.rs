//! Issuing an authorization code: the code's item (stored under a keyed hash of the code, alive
//! 60 s, kept 10 minutes so a replay is recognised), the session's list of applications, and
//! the identity claims the ID token will carry.

use serde_json::{Map, Value, json};
use shared::credentials::CredentialKeys;
use shared::hierarchy::{Application, Session, User};
use shared::sign_in::{self, AuthorizationCode};
use shared::state::AppState;
use shared::store::{Entity, Expr, Guard, Item, StoreError, Tx, keys, n, s};
use shared::time::Timestamp;

use crate::request::Checked;

/// The session a code is issued in ended (revoked, expired) between its read and the write.
pub const SESSION_ENDED: Guard = Guard::Parent("session");

/// What a code is issued for.
pub struct Issue<'a> {
    pub app: &'a Application,
    pub user: &'a User,
    pub session: &'a Session,
    pub request: &'a Checked,
    /// Issued at the platform's issuer.
    pub platform: bool,
}

/// A new code for `issue`: the code itself (to hand out once) and what is stored.
pub async fn new_code(
    state: &AppState,
    keys: &CredentialKeys,
    issue: &Issue<'_>,
    now: Timestamp,
) -> Result<(String, AuthorizationCode), shared::Error> {
    let code = sign_in::new_code();
    let groups = if issue.request.scope.iter().any(|s| s == "groups") {
        let groups = shared::membership::groups_of_user(state.store(), &issue.user.id).await?;
        Some(groups.into_iter().map(|g| g.group.name).collect())
    } else {
        None
    };
    let mut claims = sign_in::identity_claims(issue.user, &issue.request.scope, groups);
    if issue.platform {
        sign_in::unvouched(&mut claims);
    }
    let stored = AuthorizationCode {
        hash: sign_in::code_key(keys, &code).pk,
        client_id: issue.app.id.clone(),
        redirect_uri: issue.request.redirect_uri.clone(),
        code_challenge: issue.request.code_challenge.clone(),
        nonce: issue.request.nonce.clone(),
        scope: issue.request.scope.clone(),
        session_id: issue.session.id.clone(),
        session_expires_at: issue.session.expires_at,
        user_id: issue.user.id.clone(),
        tenant_id: issue.user.tenant_id.clone(),
        platform: issue.platform,
        auth_time: issue.session.created_at,
        claims,
        issued_at: now,
        expires_at: now.plus(std::time::Duration::from_secs(
            sign_in::CODE_LIFETIME_SECONDS as u64,
        )),
        used_at: None,
        grant_id: None,
    };
    Ok((code, stored))
}

/// The code's item: kept [`sign_in::CODE_KEPT_SECONDS`] past its issue, then purged by TTL.
pub fn code_item(code: &AuthorizationCode) -> Result<Item, StoreError> {
    let mut item = code.to_item()?;
    item.insert(
        keys::TTL.into(),
        n(code.issued_at.unix() + sign_in::CODE_KEPT_SECONDS),
    );
    Ok(item)
}

/// Adds to `tx` the code, and the session's record of the application — only while the session
/// is ACTIVE and unexpired (refused with [`SESSION_ENDED`]).
pub fn add_code(
    tx: &mut Tx,
    code: &AuthorizationCode,
    session: &Session,
    now: Timestamp,
) -> Result<(), StoreError> {
    tx.put_new(code_item(code)?, Guard::Item)?;
    let live = "#status = :active AND expires_at > :now";
    let expr = || {
        Expr::default()
            .name("#status", "status")
            .value(":active", s("ACTIVE"))
            .value(":now", s(now.to_string()))
    };
    if session.applications.contains(&code.client_id) {
        tx.check(&keys::session(&session.id), SESSION_ENDED, live, expr())?;
    } else {
        tx.update_if(
            &keys::session(&session.id),
            "SET applications = list_append(if_not_exists(applications, :none), :app)",
            SESSION_ENDED,
            Some(live),
            expr()
                .value(":none", aws_sdk_list(&[]))
                .value(":app", aws_sdk_list(&[code.client_id.to_string()])),
        )?;
    }
    Ok(())
}

fn aws_sdk_list(values: &[String]) -> shared::store::AttributeValue {
    shared::store::AttributeValue::L(
        values
            .iter()
            .map(|v| shared::store::AttributeValue::S(v.clone()))
            .collect(),
    )
}

/// What a sign-in's audit event says of how the user signed in, and to which client.
pub fn sign_in_changes(method: &str, client: &Application) -> Map<String, Value> {
    json!({"method": method, "client_id": client.id.to_string()})
        .as_object()
        .cloned()
        .unwrap_or_default()
}
