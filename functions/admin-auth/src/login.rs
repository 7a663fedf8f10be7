//! Admin authentication (SPEC §4.1): login, refresh, logout and me. The session check every
//! request uses is the kernel's (`shared::session`); this group creates and ends sessions.

use shared::access::{AdminRole, Principal};
use shared::audit::{Actor, ActorType, AuditAction, AuditEvent, AuditResult, RequestMeta};
use shared::error::{Error, Result};
use shared::hierarchy::{
    AdminEmailOwner, Partner, Session, SessionStatus, Tenant, User, UserStatus,
};
use shared::ids::{PartnerId, SessionId};
use shared::lifecycle;
use shared::session::{self, Caller};
use shared::state::AppState;
use shared::store::tally::{self, TenantNow};
use shared::store::{Key, StoreError, keys};
use shared::throttle::{self, THROTTLED, Throttle};
use shared::time::Timestamp;
use shared::tokens::AdminClaims;
use shared::values::{Email, Status};

use crate::store;

pub const LOGIN: AuditAction = shared::audit::AUTH_LOGIN;
pub const LOGOUT: AuditAction = shared::audit::AUTH_LOGOUT;
pub const REFRESH_REUSE: AuditAction = AuditAction::new("auth.refresh_reuse", "session");
/// Every action this group records: its part of the audit catalogue.
pub const ACTIONS: &[AuditAction] = &[LOGIN, LOGOUT, REFRESH_REUSE];

/// The longest email (an RFC 5321 path) and password a login considers.
pub const MAX_EMAIL_CHARS: usize = 320;
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// What a successful login or refresh hands out.
pub struct IssuedTokens {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u64,
}

pub struct LoginOutcome {
    pub tokens: IssuedTokens,
    pub user: User,
    pub role: AdminRole,
    pub partner_id: PartnerId,
}

/// Refresh tokens are `<session id>.<generation>.<tag>`, the tag an HMAC of both under a key
/// derived from the credentials key (`shared::credentials`: sealed, opened only by the
/// functions that issue or check credentials): nothing of the token is stored, the session keeps
/// only its generation, and a token of an earlier generation is recognised as genuine (reuse:
/// the session ends) while a forged one only fails (a leaked session id ends nothing).
async fn issue_refresh_token(
    state: &AppState,
    session: &SessionId,
    generation: u64,
) -> Result<String> {
    let tag = refresh_tag(state, session, generation).await?;
    Ok(format!(
        "{session}.{generation}.{}",
        data_encoding::BASE64URL_NOPAD.encode(&tag)
    ))
}

/// The label of the refresh-token key (v1 was derived from the old plaintext server secret:
/// those tokens ended with it).
const REFRESH_TOKEN_KEY: &str = "scaikey refresh-token key v2";

async fn refresh_tag(state: &AppState, session: &SessionId, generation: u64) -> Result<Vec<u8>> {
    let key = state.credentials().keys().await?.derive(REFRESH_TOKEN_KEY);
    Ok(shared::secrets::hmac_sha256(
        &key,
        format!("{session}.{generation}").as_bytes(),
    ))
}

/// An admin session's access token claims (`role` is an admin session's own: every session
/// this group makes or refreshes is one).
fn claims_for(state: &AppState, session: &Session, role: AdminRole, now: Timestamp) -> AdminClaims {
    let config = state.config();
    AdminClaims {
        iss: config.token_issuer.clone(),
        aud: config.token_audience.clone(),
        sub: session.user_id.clone(),
        role,
        partner_id: session.scope_partner_id.clone(),
        tenant_id: Some(session.tenant_id.clone()),
        sid: session.id.clone(),
        home_partner_id: session.partner_id.clone(),
        iat: now.unix(),
        nbf: now.unix(),
        exp: now.plus(config.access_token_ttl).unix(),
        jti: uuid::Uuid::now_v7().to_string(),
        kid: None,
    }
}

/// A login's event, filed under the admin's tenant when the email belongs to one, so that
/// the admins of that tenant and partner see attempts on their accounts.
fn login_event(
    email: &str,
    owner: Option<&AdminEmailOwner>,
    result: AuditResult,
    meta: &RequestMeta,
) -> AuditEvent {
    let actor = Actor {
        kind: ActorType::Admin,
        id: owner.map(|o| o.user_id.to_string()),
        email: Some(email.to_owned()),
    };
    let event = AuditEvent::new(actor, LOGIN, None, meta).with_result(result);
    match owner {
        Some(owner) => event.in_tenant(&owner.partner_id, &owner.tenant_id),
        None => event,
    }
}

/// Signs an admin in. Every failure is the same 401 in about the same time (argon2 runs
/// against a dummy hash for unknown emails). At most 5 attempts per email and address and 50
/// per email from anywhere in 15 minutes (`throttle`); beyond, 429 without a password check.
pub async fn login(
    state: &AppState,
    email: &str,
    password: String,
    meta: &RequestMeta,
) -> Result<LoginOutcome> {
    // No admin has such an email or password; refused before any key is built from them.
    if email.chars().count() > MAX_EMAIL_CHARS || password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(Error::InvalidCredentials);
    }
    let store = state.store();
    let now = Timestamp::now();
    // Whatever the email, it is only ever looked up in its normalised form.
    let email = Email::parse_str(email)
        .map(|e| e.as_str().to_owned())
        .unwrap_or_else(|_| email.trim().to_lowercase());
    // The attempt counters of this email: from this address, and from all, in this window
    // and the previous one (`shared::throttle`), read with the admin-email marker.
    let throttle = Throttle::new(
        keys::login_partition(&email),
        meta.ip_address.as_deref(),
        now.unix(),
    );
    let mut wanted = vec![keys::admin_email(&email)];
    wanted.extend(throttle.keys());
    let first = store.load(&wanted).await?;
    let owner: Option<AdminEmailOwner> = first.get(&keys::admin_email(&email))?;
    let counts = throttle.counts(&first);
    // The holder's user, tenant and partner; an unknown email reads placeholders instead, so
    // every failed login makes the same calls.
    let holder_keys: [Key; 3] = match &owner {
        Some(o) => [
            keys::user(&o.user_id),
            keys::tenant(&o.tenant_id),
            keys::partner(&o.partner_id),
        ],
        None => [
            Key::new("USER#none", "USER"),
            Key::new("TENANT#none", "TENANT"),
            Key::new("PARTNER#none", "PARTNER"),
        ],
    };
    // Attempts on an email no admin holds are recorded once per email and window (its first
    // failure; the counter keeps the number): a flood of them adds no event per request.
    let recorded = owner.is_some() || counts.first_in_window();
    // The revocation mark of the key that would sign, read with the holder: a key revoked
    // since this instance last read the key set does not sign this login.
    let mark = state.keys().signing_revocation_mark().await;
    let mut holder_batch = holder_keys.to_vec();
    holder_batch.extend(mark.clone());
    // Take a slot before the password is checked: the conditional write decides, so of many
    // parallel attempts only as many as there are free slots go on to argon2. The holder is
    // read alongside (one round trip for both).
    let (reserved, holder) =
        tokio::join!(throttle.reserve(store, &counts), store.load(&holder_batch));
    match reserved {
        Ok(()) => {}
        Err(err) if err.refused_by() == Some(THROTTLED) => {
            let retry_after_seconds = throttle.retry_after(store, &counts).await?;
            if owner.is_some() {
                let event = login_event(&email, owner.as_ref(), AuditResult::Denied, meta);
                store.put_event(&event).await?;
            }
            return Err(Error::TooManyRequests {
                retry_after_seconds,
            });
        }
        Err(err) => return Err(err.into()),
    }
    let holder = holder?;
    let (user, tenant, partner) = match (&holder, &owner) {
        (second, Some(_)) => {
            let [user, tenant, partner] = &holder_keys;
            (
                second.get::<User>(user)?,
                second.get::<Tenant>(tenant)?,
                second.get::<Partner>(partner)?,
            )
        }
        (_, None) => (None, None, None),
    };
    // The tenant moved to another partner since the marker was written: the partner that
    // gates the login is the tenant's own now (one more read, on this rare path only).
    let (owner, partner) = match (owner, &tenant) {
        (Some(mut moved), Some(t)) if t.partner_id != moved.partner_id => {
            moved.partner_id = t.partner_id.clone();
            let current = store
                .load(&[keys::partner(&moved.partner_id)])
                .await?
                .get::<Partner>(&keys::partner(&moved.partner_id))?;
            (Some(moved), current)
        }
        (owner, _) => (owner, partner),
    };
    let password_ok = shared::password::verify_blocking(
        password,
        user.as_ref().and_then(|u| u.password_hash.clone()),
    )
    .await;
    let grant = user.as_ref().and_then(|u| u.effective_role(now)).cloned();
    // A session ends on the whole minute at or before its lifetime or its grant is up (never
    // later): the minute the tallies count it until. A grant up within the minute leaves none.
    let expires_at = grant.as_ref().map(|g| {
        let lifetime = now.plus(state.config().session_ttl);
        tally::minute_at_or_before(g.expires_at.map_or(lifetime, |until| until.min(lifetime)))
    });
    let mut allowed = expires_at.is_some_and(|at| at > now)
        && password_ok
        && user
            .as_ref()
            .is_some_and(|u| u.status == UserStatus::Active)
        && tenant.as_ref().is_some_and(|t| {
            t.status == Status::Active
                && Some(&t.partner_id) == owner.as_ref().map(|o| &o.partner_id)
        })
        && partner.as_ref().is_some_and(|p| p.status == Status::Active);
    // A partner admin bound to another partner than its home one needs that partner live too.
    if allowed
        && let Some(g) = &grant
        && g.role == AdminRole::PartnerAdmin
        && let Some(scope) = &g.partner_id
        && owner.as_ref().is_some_and(|o| &o.partner_id != scope)
    {
        let scoped = store
            .load(&[keys::partner(scope)])
            .await?
            .get::<Partner>(&keys::partner(scope))?;
        allowed = scoped.is_some_and(|p| p.status == Status::Active);
    }
    let (Some(user), Some(grant), Some(owner), Some(expires_at), true) =
        (user, grant, owner.clone(), expires_at, allowed)
    else {
        // The failure keeps the slot it took.
        if recorded {
            let event = login_event(&email, owner.as_ref(), AuditResult::Failure, meta);
            store.put_event(&event).await?;
        } else if let Some(email_counter) = counts.email_counter() {
            throttle::count_unrecorded(store, email_counter).await?;
        }
        return Err(Error::InvalidCredentials);
    };
    let session_id = SessionId::generate();
    let refresh_token = issue_refresh_token(state, &session_id, 0).await?;
    let session = Session {
        id: session_id,
        user_id: user.id.clone(),
        email: user.email.clone(),
        tenant_id: owner.tenant_id.clone(),
        partner_id: owner.partner_id.clone(),
        session_type: shared::hierarchy::SessionType::Admin,
        role: Some(grant.role),
        scope_partner_id: match grant.role {
            AdminRole::PartnerAdmin => grant.partner_id.clone(),
            _ => None,
        },
        role_id: Some(grant.id.clone()),
        status: SessionStatus::Active,
        created_at: now,
        // A session never outlives the grant it was issued under.
        expires_at,
        last_active_at: Some(now),
        refresh_generation: 0,
        // Who may see and end this session: callers whose reach covers every grant the admin
        // holds now (the tenant's partner is the one the login was judged under).
        holder_reach: Some(
            shared::access::GrantReach::of(
                &user.admin_roles,
                &owner.tenant_id,
                Some(&owner.partner_id),
                now,
            )
            .stored(),
        ),
        ip_address: meta.ip_address.clone(),
        user_agent: meta.user_agent.clone(),
        applications: Vec::new(),
    };
    let event = login_event(&email, Some(&owner), AuditResult::Success, meta);
    let event = AuditEvent {
        resource_id: Some(session.id.to_string()),
        ..event
    };
    let taken: Vec<Key> = counts.slots();
    match store::create_session(store, &session, user.version, now, &taken, &event).await {
        Ok(()) => {}
        // The user changed during the password check (a password reset, a suspension): the
        // login was judged on an account that is no longer as read. Nothing was written; signing
        // in again is judged afresh (the old password fails after a reset).
        Err(err) if err.refused_by() == Some(store::USER_CHANGED) => {
            return Err(Error::Unavailable(StoreError::Unavailable(
                "the account changed during sign-in".into(),
            )));
        }
        // A transfer or delete of the tenant landed since the login read it (during argon2,
        // most likely): the login was judged on a tenant that is no longer there. Nothing was
        // written; a 503 (Retry-After) has the client sign in again, judged afresh. Re-judging
        // here would repeat every check of the gate above for a race this rare; the attempt
        // keeps its slot, as a failure does.
        Err(err) if err.refused_by() == Some(store::TENANT_MOVED) => {
            return Err(Error::Unavailable(StoreError::Unavailable(
                "the tenant moved or was deleted during sign-in".into(),
            )));
        }
        Err(err) => return Err(err.into()),
    }
    let access_token = state
        .keys()
        .sign_unless_revoked(
            &claims_for(state, &session, grant.role, now),
            mark.as_ref(),
            &holder,
        )
        .await?;
    Ok(LoginOutcome {
        tokens: IssuedTokens {
            access_token,
            refresh_token,
            expires_in: state.config().access_token_ttl.as_secs(),
        },
        role: grant.role,
        partner_id: session.scope_partner_id.clone().unwrap_or(owner.partner_id),
        user,
    })
}

/// Exchanges a refresh token for a new pair. Single use: presenting a used one revokes the
/// whole session (reuse detection).
pub async fn refresh(
    state: &AppState,
    refresh_token: &str,
    meta: &RequestMeta,
) -> Result<IssuedTokens> {
    let store = state.store();
    let mut parts = refresh_token.splitn(3, '.');
    let (Some(session_part), Some(generation), Some(tag)) =
        (parts.next(), parts.next(), parts.next())
    else {
        return Err(Error::InvalidRefreshToken);
    };
    let session_id = SessionId::parse(session_part).map_err(|_| Error::InvalidRefreshToken)?;
    let generation: u64 = generation.parse().map_err(|_| Error::InvalidRefreshToken)?;
    let tag = data_encoding::BASE64URL_NOPAD
        .decode(tag.as_bytes())
        .map_err(|_| Error::InvalidRefreshToken)?;
    let expected = refresh_tag(state, &session_id, generation).await?;
    // A token this service never issued: it fails, and ends nothing.
    if !shared::secrets::equal_in_constant_time(&expected, &tag) {
        return Err(Error::InvalidRefreshToken);
    }
    let now = Timestamp::now();
    let session: Option<Session> = store
        .load(&[keys::session(&session_id)])
        .await?
        .get(&keys::session(&session_id))?;
    let session = session
        .filter(|s| s.is_live(now))
        .ok_or(Error::InvalidRefreshToken)?;
    if generation < session.refresh_generation {
        revoke_for_reuse(state, &session, None, meta).await?;
        return Err(Error::InvalidRefreshToken);
    }
    if generation != session.refresh_generation {
        return Err(Error::InvalidRefreshToken);
    }
    // The user (active, its grant in force) and its tenant and partner must still be live for
    // new tokens: the same rule as every request's session check.
    let mark = state.keys().signing_revocation_mark().await;
    let mut gate_keys = vec![
        keys::user(&session.user_id),
        keys::tenant(&session.tenant_id),
        keys::partner(&session.partner_id),
    ];
    gate_keys.extend(mark.clone());
    let gate = store.load(&gate_keys).await?;
    if !shared::session::grant_holds(gate.get(&keys::user(&session.user_id))?, &session, now) {
        return Err(Error::InvalidRefreshToken);
    }
    let tenant = gate.get::<Tenant>(&keys::tenant(&session.tenant_id))?;
    let tenant_live = tenant
        .as_ref()
        .is_some_and(|t| t.status == Status::Active && t.partner_id == session.partner_id);
    let partner_live = gate
        .get::<Partner>(&keys::partner(&session.partner_id))?
        .is_some_and(|p| p.status == Status::Active);
    if !tenant_live || !partner_live {
        return Err(Error::InvalidRefreshToken);
    }
    match store::rotate_refresh(store, &session).await {
        Ok(()) => {}
        // Another refresh with the same token won the race: that is reuse.
        Err(err) if err.refused_by().is_some() => {
            let tenant = TenantNow::of(tenant.as_ref());
            revoke_for_reuse(state, &session, Some(tenant), meta).await?;
            return Err(Error::InvalidRefreshToken);
        }
        Err(err) => return Err(err.into()),
    }
    // An admin session (the grant check above refused any other).
    let role = session.role.ok_or(Error::InvalidRefreshToken)?;
    let refresh_token = issue_refresh_token(state, &session.id, generation + 1).await?;
    let access_token = state
        .keys()
        .sign_unless_revoked(
            &claims_for(state, &session, role, now),
            mark.as_ref(),
            &gate,
        )
        .await?;
    Ok(IssuedTokens {
        access_token,
        refresh_token,
        expires_in: state.config().access_token_ttl.as_secs(),
    })
}

/// Ends a session whose refresh token came back: revoked while ACTIVE, and taken off the
/// tallies with its tenant's partner now. `tenant`: the session's tenant as the caller just read
/// it, if it did (else it is read, when the session counts). A refusal (ended meanwhile, or the
/// tenant moved) reads both again.
async fn revoke_for_reuse(
    state: &AppState,
    session: &Session,
    tenant: Option<TenantNow>,
    meta: &RequestMeta,
) -> Result<()> {
    let actor = Actor {
        kind: ActorType::Admin,
        id: Some(session.user_id.to_string()),
        email: Some(session.email.clone()),
    };
    let event = AuditEvent::new(actor, REFRESH_REUSE, Some(session.id.to_string()), meta)
        .in_tenant(&session.partner_id, &session.tenant_id)
        .with_result(AuditResult::Denied);
    let first = std::sync::atomic::AtomicBool::new(true);
    let store = state.store();
    lifecycle::retry_stale("session", || async {
        let now = Timestamp::now();
        let (session, tenant) = if first.swap(false, std::sync::atomic::Ordering::Relaxed) {
            (session.clone(), tenant.clone())
        } else {
            let key = keys::session(&session.id);
            let again: Option<Session> = store.load(std::slice::from_ref(&key)).await?.get(&key)?;
            match again {
                Some(again) => (again, None),
                None => return Ok(()),
            }
        };
        if !session.is_live(now) {
            return Ok(());
        }
        let tenant = match tenant {
            Some(t) => Some(t),
            None if tally::session_counts_at(session.expires_at, now) => {
                let key = keys::tenant(&session.tenant_id);
                let found: Option<Tenant> =
                    store.load(std::slice::from_ref(&key)).await?.get(&key)?;
                Some(TenantNow::of(found.as_ref()))
            }
            None => None,
        };
        store::revoke_session(store, &session, tenant.as_ref(), now, &event).await?;
        Ok(())
    })
    .await
}

/// Ends the caller's session, if it has a live one: logging out twice, or with an expired token,
/// is not an error.
pub async fn logout(state: &AppState, caller: Option<&Caller>, meta: &RequestMeta) -> Result<()> {
    let Some(caller) = caller else {
        return Ok(());
    };
    // A refusal (the session ended meanwhile, or its tenant moved): checked again, it is over.
    lifecycle::retry_stale("session", || logout_once(state, caller, meta)).await
}

async fn logout_once(state: &AppState, caller: &Caller, meta: &RequestMeta) -> Result<()> {
    let (principal, loaded) = match session::check(state, caller, &[]).await {
        Ok(checked) => checked,
        // Already revoked or expired (or its tenant suspended): nothing is left to end.
        Err(Error::InvalidToken) => return Ok(()),
        Err(err) => return Err(err),
    };
    // A platform token has no session to end: Access denied, as on every admin-only route.
    let admin = principal.admin()?;
    let session: Session = loaded
        .get(&keys::session(&admin.session_id))?
        .ok_or(Error::InvalidToken)?;
    // The session check read the tenant with the session (live, the session's partner's).
    let now = Timestamp::now();
    let tenant = tally::session_counts_at(session.expires_at, now)
        .then(|| loaded.get::<Tenant>(&keys::tenant(&session.tenant_id)))
        .transpose()?
        .map(|t| TenantNow::of(t.as_ref()));
    let event = AuditEvent::new(
        Actor::admin(&principal),
        LOGOUT,
        Some(admin.session_id.to_string()),
        meta,
    )
    .in_tenant(&admin.home_partner, &admin.home_tenant);
    store::revoke_session(state.store(), &session, tenant.as_ref(), now, &event).await?;
    Ok(())
}

pub struct Me {
    pub principal: Principal,
    pub user: User,
    pub session: Session,
}

/// The signed-in admin, read with the session check in one round trip.
pub async fn me(state: &AppState, caller: &Caller) -> Result<Me> {
    let Caller::Admin(claims) = caller else {
        return Err(Error::AccessDenied);
    };
    let (principal, loaded) = session::check(state, caller, &[keys::user(&claims.sub)]).await?;
    let admin = principal.admin()?;
    let user: User = loaded
        .get(&keys::user(&admin.user_id))?
        .ok_or(Error::InvalidToken)?;
    let session: Session = loaded
        .get(&keys::session(&admin.session_id))?
        .ok_or(Error::InvalidToken)?;
    Ok(Me {
        principal,
        user,
        session,
    })
}
