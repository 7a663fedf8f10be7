//! The session check every admin request stands on: a verified token (`Caller`, from the
//! extractor) becomes a `Principal` once its session, user, tenant and partner are read — in
//! the same BatchGetItem as the keys the request itself needs.

use crate::access::{
    Acting, AdminRole, AdminSession, PlatformScopes, Principal, ScopedOperation, Tier,
};
use crate::error::{Error, Result};
use crate::hierarchy::{
    AppScope, Application, Partner, Session, SessionType, Tenant, User, UserStatus,
};
use crate::ids::{ApplicationId, KeyId, PartnerId};
use crate::state::AppState;
use crate::store::{Key, Loaded, keys};
use crate::time::Timestamp;
use crate::tokens::{AdminClaims, ClientClaims};
use crate::values::Status;

/// A caller whose access token verified; its session (or its application) is checked with the
/// request's first read.
#[derive(Clone, Debug)]
pub enum Caller {
    Admin(AdminClaims),
    /// A platform token whose scopes allow the request's operation (checked by the extractor,
    /// and again by the session check against the application's scopes now), the key that
    /// signed it, and the operation.
    Platform(ClientClaims, Option<KeyId>, ScopedOperation),
}

impl Caller {
    /// The acting user's or application's id, as the token says (cursor bindings, logs).
    pub fn subject(&self) -> &str {
        match self {
            Self::Admin(claims) => claims.sub.as_str(),
            Self::Platform(claims, ..) => claims.sub.as_str(),
        }
    }

    /// The tier the token claims. Only a hint (to batch what a request will need with the
    /// session check); decisions use the checked `Principal`.
    pub fn claimed_tier(&self) -> Result<Tier> {
        let claims = match self {
            Self::Admin(claims) => claims,
            Self::Platform(..) => return Ok(Tier::Super),
        };
        Ok(match claims.role {
            AdminRole::SuperAdmin => Tier::Super,
            AdminRole::PartnerAdmin => {
                Tier::Partner(claims.partner_id.clone().ok_or(Error::InvalidToken)?)
            }
            AdminRole::TenantAdmin => Tier::Tenant {
                partner: claims.home_partner_id.clone(),
                tenant: claims.tenant_id.clone().ok_or(Error::InvalidToken)?,
            },
        })
    }
}

/// Checks the caller's session, user, tenant and partner in the same BatchGetItem as `extra`,
/// the keys the request needs — one round trip for both. A revoked or expired session, a user
/// no longer active, a revoked or expired grant, or a suspended or deleted tenant or partner is
/// refused on the very next request.
///
/// The grant is checked in the user item's `admin_roles` summary, not in the grant's own item:
/// the grant's key needs its id, which only the session item knows (the token does not carry
/// it), so reading the item would cost a second round trip. Every grant and revoke writes the
/// summary in the same transaction as the grant item, so the two never disagree.
pub async fn check(
    state: &AppState,
    caller: &Caller,
    extra: &[Key],
) -> Result<(Principal, Loaded)> {
    let claims = match caller {
        Caller::Admin(claims) => claims,
        Caller::Platform(claims, kid, operation) => {
            return check_platform(state, claims, kid, *operation, extra).await;
        }
    };
    let home_tenant = claims.tenant_id.clone().ok_or(Error::InvalidToken)?;
    let mut wanted = vec![
        keys::session(&claims.sid),
        keys::user(&claims.sub),
        keys::tenant(&home_tenant),
        keys::partner(&claims.home_partner_id),
    ];
    if let Some(kid) = &claims.kid {
        wanted.push(keys::key_revocation(kid));
    }
    wanted.extend_from_slice(extra);
    if let Some(partner) = claims
        .partner_id
        .as_ref()
        .filter(|p| **p != claims.home_partner_id)
    {
        wanted.push(keys::partner(partner));
    }
    let loaded = state.store().load(&wanted).await?;
    if claims
        .kid
        .as_ref()
        .is_some_and(|kid| loaded.has(&keys::key_revocation(kid)))
    {
        return Err(Error::InvalidToken);
    }
    let now = Timestamp::now();
    let session = loaded
        .get::<Session>(&keys::session(&claims.sid))?
        .filter(|s| {
            s.is_live(now) && s.user_id == claims.sub && s.partner_id == claims.home_partner_id
        })
        .ok_or(Error::InvalidToken)?;
    if !grant_holds(
        loaded.get::<User>(&keys::user(&session.user_id))?,
        &session,
        now,
    ) {
        return Err(Error::InvalidToken);
    }
    let tenant = loaded
        .get::<Tenant>(&keys::tenant(&session.tenant_id))?
        .ok_or(Error::InvalidToken)?;
    // A tenant moved to another partner since sign-in: the session's view is stale.
    if tenant.status != Status::Active || tenant.partner_id != session.partner_id {
        return Err(Error::InvalidToken);
    }
    let partner_ok = |id: &PartnerId| -> Result<bool> {
        Ok(loaded
            .get::<Partner>(&keys::partner(id))?
            .is_some_and(|p| p.status == Status::Active))
    };
    if !partner_ok(&session.partner_id)? {
        return Err(Error::InvalidToken);
    }
    if let Some(scope) = session.scope_partner()
        && !partner_ok(scope)?
    {
        return Err(Error::InvalidToken);
    }
    let tier = session.tier().ok_or(Error::InvalidToken)?;
    touch(state, &session, now).await;
    let principal = Principal {
        acting: Acting::Admin(AdminSession {
            user_id: session.user_id.clone(),
            email: session.email.clone(),
            session_id: session.id.clone(),
            home_tenant: session.tenant_id.clone(),
            home_partner: session.partner_id.clone(),
        }),
        tier,
    };
    Ok((principal, loaded))
}

/// A session's `last_active_at` is moved at most once in this long: each session costs at most
/// one extra write a minute, and none on the requests in between.
pub const LAST_ACTIVE_RESOLUTION: std::time::Duration = std::time::Duration::from_secs(60);

/// Moves an accepted session's `last_active_at` to `now` when it is absent or older than
/// [`LAST_ACTIVE_RESOLUTION`]: one conditional UpdateItem, so of concurrent requests one writes
/// and the others are refused by the condition (ignored). Never fails the request: an error is
/// logged and the request goes on.
async fn touch(state: &AppState, session: &Session, now: Timestamp) {
    let due = now.minus(LAST_ACTIVE_RESOLUTION);
    if session.last_active_at.is_some_and(|at| at >= due) {
        return;
    }
    let touched = state
        .store()
        .update_if(
            &keys::session(&session.id),
            "SET last_active_at = :now",
            "attribute_exists(PK) AND (attribute_not_exists(last_active_at) \
             OR last_active_at < :due)",
            crate::store::Expr::default()
                .value(":now", crate::store::s(now.to_string()))
                .value(":due", crate::store::s(due.to_string())),
        )
        .await;
    if let Err(err) = touched {
        tracing::warn!(error = %err, "session last activity not recorded");
    }
}

/// A platform token's check: its application, read in the same batch as `extra`, is still a
/// live, ACTIVE, GLOBAL application allowed `client_credentials`, and the token's key is not
/// revoked — so suspending or deleting the application stops its tokens on their next request.
async fn check_platform(
    state: &AppState,
    claims: &ClientClaims,
    kid: &Option<KeyId>,
    operation: ScopedOperation,
    extra: &[Key],
) -> Result<(Principal, Loaded)> {
    let client_id = ApplicationId::parse(&claims.sub).map_err(|_| Error::InvalidToken)?;
    let mut wanted = vec![keys::application(&client_id)];
    if let Some(kid) = kid {
        wanted.push(keys::key_revocation(kid));
    }
    wanted.extend_from_slice(extra);
    let loaded = state.store().load(&wanted).await?;
    if kid
        .as_ref()
        .is_some_and(|kid| loaded.has(&keys::key_revocation(kid)))
    {
        return Err(Error::InvalidToken);
    }
    let app = loaded
        .get::<Application>(&keys::application(&client_id))?
        .filter(|app| {
            app.status == Status::Active
                && app.scope == AppScope::Global
                && app.application_type.is_confidential()
                && app.allows_grant("client_credentials")
        })
        .ok_or(Error::InvalidToken)?;
    // The token's scopes count only as far as the application still allows them: narrowing
    // `allowed_scopes` bites on the next request, not when the token expires.
    crate::access::platform::allows(
        &PlatformScopes::still_allowed(&claims.scope, &app.allowed_scopes),
        operation,
    )?;
    let principal = Principal {
        acting: Acting::Platform { client_id },
        tier: Tier::Super,
    };
    Ok((principal, loaded))
}

/// The session's user is still active and still holds, in force, the grant the session was
/// issued under (same role, same partner scope). A session without a grant id predates this
/// check and is refused: its admin signs in again.
pub fn grant_holds(user: Option<User>, session: &Session, now: Timestamp) -> bool {
    let (Some(user), Some(role_id)) = (user, session.role_id.as_ref()) else {
        return false;
    };
    let Some(role) = session
        .role
        .filter(|_| session.session_type == SessionType::Admin)
    else {
        return false;
    };
    // Exactly `Active`: any other status (suspended, locked, deleted) ends the session.
    user.status == UserStatus::Active
        && user.tenant_id == session.tenant_id
        && user.admin_roles.iter().any(|g| {
            g.id == *role_id
                && g.is_in_force(now)
                && g.role == role
                && (role != crate::access::AdminRole::PartnerAdmin
                    || g.partner_id == session.scope_partner_id)
        })
}

/// Refuses, before the request body is even read, a caller whose tier can never perform the
/// write (forbidden before invalid: a partner admin creating a partner gets 403 whatever it
/// sends). The tier comes from the signed claims, so a caller allowed here costs no read; a
/// refusal is checked against the live session (401 if it is gone) and recorded as a denied
/// write.
pub async fn require_tier(
    state: &AppState,
    caller: &Caller,
    allowed: impl Fn(&Tier) -> bool,
    attempt: crate::audit::Attempt,
    meta: &crate::audit::RequestMeta,
) -> Result<()> {
    if allowed(&caller.claimed_tier()?) {
        return Ok(());
    }
    let (principal, _) = check(state, caller, &[]).await?;
    crate::audit::check_write(state, &principal, Err(Error::AccessDenied), attempt, meta).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hierarchy::SessionStatus;
    use crate::ids::{RoleId, SessionId, TenantId, UserId};
    use serde_json::json;

    fn session(role_id: Option<RoleId>) -> Session {
        Session {
            id: SessionId::generate(),
            user_id: UserId::parse("usr_01kb2z8hqv3m4n5p6r7s8t9w1g").unwrap(),
            email: "ann@acme.test".into(),
            tenant_id: TenantId::parse("tnt_01kb2z8hqv3m4n5p6r7s8t9w2g").unwrap(),
            partner_id: PartnerId::generate(),
            session_type: SessionType::Admin,
            role: Some(crate::access::AdminRole::TenantAdmin),
            scope_partner_id: None,
            role_id,
            status: SessionStatus::Active,
            created_at: Timestamp::now(),
            expires_at: Timestamp::now(),
            last_active_at: None,
            refresh_generation: 0,
            holder_reach: None,
            applications: Vec::new(),
            ip_address: None,
            user_agent: None,
        }
    }

    // Decoded from its serde form, as the batch would: independent of fields added later.
    fn user(status: &str, grants: serde_json::Value) -> Option<User> {
        Some(
            serde_json::from_value(json!({
                "id": "usr_01kb2z8hqv3m4n5p6r7s8t9w1g", "tenant_id": "tnt_01kb2z8hqv3m4n5p6r7s8t9w2g",
                "email": "ann@acme.test", "status": status, "admin_roles": grants,
                "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z", "version": 1
            }))
            .unwrap(),
        )
    }

    fn grant(id: &str, role: &str, active: bool, expires: Option<&str>) -> serde_json::Value {
        json!({"id": id, "role": role, "is_active": active, "expires_at": expires,
               "created_at": "2026-01-01T00:00:00Z"})
    }

    #[test]
    fn a_session_holds_only_while_its_user_is_active_and_its_grant_in_force() {
        let id = "rol_01kb2z8hqv3m4n5p6r7s8t9w0g";
        let rid = Some(RoleId::parse(id).unwrap());
        let now = Timestamp::now();
        let ok = grant(id, "tenant_admin", true, None);
        assert!(grant_holds(
            user("ACTIVE", json!([ok])),
            &session(rid.clone()),
            now
        ));
        // Legacy sessions (no grant id), missing users, inactive users.
        assert!(!grant_holds(
            user("ACTIVE", json!([ok])),
            &session(None),
            now
        ));
        assert!(!grant_holds(None, &session(rid.clone()), now));
        for status in ["SUSPENDED", "LOCKED"] {
            assert!(!grant_holds(
                user(status, json!([ok])),
                &session(rid.clone()),
                now
            ));
        }
        // The grant revoked (gone from the summary or inactive), expired, or another role.
        assert!(!grant_holds(
            user("ACTIVE", json!([])),
            &session(rid.clone()),
            now
        ));
        let inactive = grant(id, "tenant_admin", false, None);
        assert!(!grant_holds(
            user("ACTIVE", json!([inactive])),
            &session(rid.clone()),
            now
        ));
        let expired = grant(id, "tenant_admin", true, Some("2020-01-01T00:00:00Z"));
        assert!(!grant_holds(
            user("ACTIVE", json!([expired])),
            &session(rid.clone()),
            now
        ));
        let other = grant(id, "super_admin", true, None);
        assert!(!grant_holds(
            user("ACTIVE", json!([other])),
            &session(rid),
            now
        ));
    }
}
