//! Token exchange (RFC 8693) at a tenant's token endpoint (SPEC §6.3, §4.10): a confidential
//! application with `token_exchange_allowed`, or an agent allowed it, presents a user's access
//! token and gets one acting for that user (`act.sub` = itself, `aud` = itself), its scopes
//! within both the subject token's and its own `allowed_scopes`, never outliving the subject.
//!
//! The subject is judged live exactly as userinfo judges it (session, user and grant read in
//! the same batch as the client), so an exchanged token never outlasts what it was made from:
//! it carries the subject's `sid` and grant, and ends with them.

use shared::hierarchy::{Application, Tenant};
use shared::sign_in::UserAccessClaims;
use shared::state::AppState;
use shared::time::Timestamp;

use crate::error::OAuthError;
use crate::token::{Granted, TokenRequest};
use crate::user_tokens::{self, Client};

pub const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// The request's `subject_token`, with its type (`…:access_token`, the only one taken) and no
/// `actor_token` (the authenticated client is the actor).
pub fn subject_token(request: &TokenRequest) -> Result<&str, OAuthError> {
    let Some(token) = request.param("subject_token") else {
        return Err(OAuthError::InvalidRequest("subject_token is required"));
    };
    match request.param("subject_token_type") {
        Some(ACCESS_TOKEN_TYPE) => {}
        Some(_) => {
            return Err(OAuthError::InvalidRequest(
                "subject_token_type must be urn:ietf:params:oauth:token-type:access_token",
            ));
        }
        None => return Err(OAuthError::InvalidRequest("subject_token_type is required")),
    }
    if request.param("actor_token").is_some() {
        return Err(OAuthError::InvalidRequest(
            "actor_token is not supported: the authenticated client is the actor",
        ));
    }
    Ok(token)
}

/// The claims of a user's access token of the tenant's issuer (signature, expiry, issuer),
/// not itself an exchange's result: a token acting for someone is not exchanged again.
pub async fn user_token_claims(
    state: &AppState,
    slug: &str,
    token: &str,
) -> Option<UserAccessClaims> {
    let issuer = state.config().tenant_issuer(slug);
    let claims = state.keys().verify_issued_by(token, &issuer).await.ok()?;
    serde_json::from_value::<UserAccessClaims>(claims)
        .ok()
        .filter(|c| c.act.is_none() && c.aud == c.client_id)
}

pub fn invalid_subject() -> OAuthError {
    OAuthError::InvalidGrant("the subject token is not a live token of this tenant")
}

/// The scopes a token exchange grants: `asked` (space-separated, default all) within both the
/// client's `allowed` and the subject's `subject` scopes; anything outside → `invalid_scope`,
/// and so is nothing in common.
pub fn narrowed(
    asked: Option<&str>,
    allowed: &[String],
    subject: &[String],
) -> Result<Vec<String>, OAuthError> {
    let within: Vec<String> = allowed
        .iter()
        .filter(|s| subject.contains(s))
        .cloned()
        .collect();
    let granted = crate::agent::down_select(asked, &within)?;
    if granted.is_empty() {
        return Err(OAuthError::InvalidScope);
    }
    Ok(granted)
}

/// An application's token exchange: authenticated (confidential only) at its active tenant,
/// with `token_exchange_allowed`; the subject a live user token of this tenant. Client, tenant,
/// partner, the subject's session, user and grant, and the revocation mark: one batch.
pub async fn for_application(
    state: &AppState,
    slug: &str,
    request: &TokenRequest,
) -> Result<Granted, OAuthError> {
    let token = subject_token(request)?;
    // Verified before any read (CPU only); refused after the client is authenticated, so a
    // bad client hears `invalid_client` whatever it sends.
    let claims = user_token_claims(state, slug, token).await;
    let subject_keys = claims
        .as_ref()
        .map(user_tokens::live_keys)
        .unwrap_or_default();
    let Client {
        tenant,
        app,
        loaded,
        mark,
    } = user_tokens::client_with(
        state,
        user_tokens::Realm::Tenant(slug),
        request,
        &subject_keys,
        (may_exchange, "this client may not use token exchange"),
        // Only a tenant's endpoint exchanges: its path names the tenant.
        (|_, _| None, "the subject token is not valid"),
    )
    .await?;
    let Some(claims) = claims else {
        return Err(invalid_subject());
    };
    if user_tokens::live_in(&loaded, &claims, &tenant)?.is_none() {
        return Err(invalid_subject());
    }
    let subject_scope: Vec<String> = claims.scope.split(' ').map(str::to_owned).collect();
    let scope = narrowed(request.param("scope"), &app.allowed_scopes, &subject_scope)?.join(" ");
    let now = Timestamp::now();
    let exp = (now.unix() + i64::from(app.token_lifetime)).min(claims.exp);
    let exchanged = exchanged_claims(state, &tenant, &app, claims, scope, now, exp);
    let access_token = state
        .keys()
        .sign_unless_revoked(&exchanged, mark.as_ref(), &loaded)
        .await?;
    Ok(Granted {
        access_token,
        expires_in: (exp - now.unix()).max(0) as u32,
        scope: exchanged.scope,
        issued_token_type: Some(ACCESS_TOKEN_TYPE),
    })
}

/// Confidential clients only (a public client's "authentication" is its id, anyone's to send).
fn may_exchange(app: &Application) -> bool {
    app.application_type.is_confidential() && app.token_exchange_allowed
}

fn exchanged_claims(
    state: &AppState,
    tenant: &Tenant,
    app: &Application,
    subject: UserAccessClaims,
    scope: String,
    now: Timestamp,
    exp: i64,
) -> UserAccessClaims {
    UserAccessClaims {
        iss: state.config().tenant_issuer(&tenant.slug),
        sub: subject.sub,
        aud: app.id.to_string(),
        client_id: app.id.to_string(),
        scope,
        tenant_id: tenant.id.clone(),
        // Ends with the subject's session and grant.
        sid: subject.sid,
        gid: subject.gid,
        act: Some(serde_json::json!({ "sub": app.id })),
        iat: now.unix(),
        nbf: now.unix(),
        exp,
        jti: shared::secrets::random_token(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn exchanged_scopes_lie_within_both_the_client_and_the_subject() {
        let allowed = list("openid profile tickets:read");
        let subject = list("openid email tickets:read");
        assert_eq!(
            narrowed(None, &allowed, &subject).unwrap(),
            list("openid tickets:read")
        );
        assert_eq!(
            narrowed(Some("tickets:read"), &allowed, &subject).unwrap(),
            list("tickets:read")
        );
        for outside in ["profile", "email", "admin:write"] {
            assert!(matches!(
                narrowed(Some(outside), &allowed, &subject),
                Err(OAuthError::InvalidScope)
            ));
        }
        assert!(matches!(
            narrowed(None, &list("a"), &list("b")),
            Err(OAuthError::InvalidScope)
        ));
    }
}
