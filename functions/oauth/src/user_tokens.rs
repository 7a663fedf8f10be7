//! A tenant's users' tokens (SPEC §6.3): the `authorization_code` and `refresh_token` grants at
//! the tenant's token endpoint, userinfo, revocation (RFC 7009) and introspection (RFC 7662).
//!
//! A code exchange is two round trips: one batch (the code, the client, the tenant's partner,
//! the signing key's revocation mark), then one transaction that marks the code used, writes
//! the grant, and holds the session (ACTIVE, unexpired), the user (ACTIVE) and the tenant
//! (ACTIVE, still the partner's) as they must be — so nothing stopped since the code was issued
//! gets tokens. A refresh is the same two with the grant in the code's place. A code or
//! refresh token used twice revokes the grant it belongs to (and with it every token issued
//! under it: userinfo and introspection read the grant).

use serde_json::{Map, Value, json};
use shared::audit::{Actor, ActorType, AuditAction, AuditEvent, AuditResult, RequestMeta};
use shared::credentials::CredentialKeys;
use shared::hierarchy::{Application, Session, SessionType, Tenant, User, UserStatus};
use shared::ids::{ApplicationId, GrantId, SessionId, TenantId, UserId};
use shared::sign_in::{self, AuthorizationCode, Grant, GrantStatus, IdClaims, UserAccessClaims};
use shared::state::AppState;
use shared::store::{Entity, Expr, Guard, Key, Loaded, Tx, keys, n, s};
use shared::time::Timestamp;

use crate::error::OAuthError;
use crate::token::{self, TokenRequest};

/// A code or refresh token presented twice: the grant it belongs to is revoked.
pub const TOKEN_REUSE: AuditAction = AuditAction::new("auth.token_reuse", "grant");

const CODE_USED: Guard = Guard::Item;
const GRANT_MOVED: Guard = Guard::Unique("grant generation");
const SESSION_ENDED: Guard = Guard::Parent("session");
const USER_INACTIVE: Guard = Guard::Parent("user");
const TENANT_INACTIVE: Guard = Guard::Parent("tenant");

/// The tokens a user grant answers with.
pub struct UserGranted {
    pub access_token: String,
    pub expires_in: u32,
    pub scope: String,
    pub id_token: Option<String>,
    pub refresh_token: Option<String>,
}

/// The tenant of the request's slug, ACTIVE, read with `wanted`; a suspended or deleted tenant
/// (or partner) issues nothing: `invalid_client`, as any refused client.
async fn tenant_with(
    state: &AppState,
    slug: &str,
    wanted: &[Key],
    basic: bool,
) -> Result<(Tenant, Loaded), OAuthError> {
    let (tenant, loaded) = token::with_tenant(state, slug, wanted)
        .await?
        .ok_or(OAuthError::UnknownTenant)?;
    if tenant.status != shared::values::Status::Active
        || !token::partner_is_active(&loaded, &tenant.partner_id)?
    {
        return Err(OAuthError::InvalidClient { basic });
    }
    Ok((tenant, loaded))
}

/// A user grant's client: authenticated at its active tenant, allowed the grant (`may`), read
/// in one batch with the grant's own items (`subject`: the code, the grant, an exchanged
/// token's session, user and grant) and the signing key's revocation mark.
pub struct Client {
    pub tenant: Tenant,
    pub app: Application,
    pub loaded: Loaded,
    pub mark: Option<Key>,
}

/// Which issuer's token endpoint a user grant is asked at: a tenant's (by its slug), or the
/// platform's (GLOBAL applications; the grant's own items name the tenant).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Realm<'a> {
    Tenant(&'a str),
    Platform,
}

impl Realm<'_> {
    pub fn is_platform(self) -> bool {
        self == Realm::Platform
    }

    /// The issuer of the tokens this endpoint issues for `tenant`'s users.
    pub fn issuer(self, state: &AppState, tenant: &Tenant) -> String {
        match self {
            Realm::Tenant(_) => state.config().tenant_issuer(&tenant.slug),
            Realm::Platform => state.config().token_issuer.clone(),
        }
    }
}

/// Where a user grant's subject (its code, its grant) says the user's tenant is, once read;
/// the error to answer when it names none (not found, or not this kind of item).
pub type TenantOf = (
    fn(&Loaded, &[Key]) -> Option<shared::ids::TenantId>,
    &'static str,
);

pub async fn client_with(
    state: &AppState,
    realm: Realm<'_>,
    request: &TokenRequest,
    subject: &[Key],
    (may, refused): (fn(&Application) -> bool, &'static str),
    tenant_of: TenantOf,
) -> Result<Client, OAuthError> {
    let (client_id, secret, basic) = request.client()?;
    let client_id =
        ApplicationId::parse(client_id).map_err(|_| OAuthError::InvalidClient { basic })?;
    let mark = state.keys().signing_revocation_mark().await;
    let mut wanted = subject.to_vec();
    wanted.push(keys::application(&client_id));
    wanted.extend(mark.clone());
    let slug = match realm {
        Realm::Tenant(slug) => slug,
        Realm::Platform => {
            return platform_client(state, request, (wanted, subject), (may, refused), tenant_of)
                .await
                .map(|(tenant, app, loaded)| Client {
                    tenant,
                    app,
                    loaded,
                    mark,
                });
        }
    };
    let (tenant, loaded) = tenant_with(state, slug, &wanted, basic).await?;
    let app = token::authenticate(
        state,
        loaded.get(&keys::application(&client_id))?,
        &tenant,
        secret,
        basic,
    )
    .await?;
    if !may(&app) {
        return Err(OAuthError::UnauthorizedClient(refused));
    }
    Ok(Client {
        tenant,
        app,
        loaded,
        mark,
    })
}

/// At the platform's token endpoint: the client (a GLOBAL application) authenticated from the
/// first batch (with the subject), then the tenant the subject names and its partner — both
/// ACTIVE, else the grant has ended (`invalid_grant`). Two more reads than a tenant's endpoint,
/// which knows the tenant from its path.
async fn platform_client(
    state: &AppState,
    request: &TokenRequest,
    (wanted, subject): (Vec<Key>, &[Key]),
    (may, refused): (fn(&Application) -> bool, &'static str),
    (tenant_of, unnamed): TenantOf,
) -> Result<(Tenant, Application, Loaded), OAuthError> {
    let (client_id, secret, basic) = request.client()?;
    let client_id =
        ApplicationId::parse(client_id).map_err(|_| OAuthError::InvalidClient { basic })?;
    let mut loaded = state.store().load(&wanted).await?;
    let app = loaded
        .get::<Application>(&keys::application(&client_id))?
        .filter(|a| a.scope == shared::hierarchy::AppScope::Global);
    let app = token::authenticate_served(state, app, secret, basic).await?;
    if !may(&app) {
        return Err(OAuthError::UnauthorizedClient(refused));
    }
    let tenant_id = tenant_of(&loaded, subject).ok_or(OAuthError::InvalidGrant(unnamed))?;
    let tenant_key = keys::tenant(&tenant_id);
    let tenant: Option<Tenant> = state
        .store()
        .load(std::slice::from_ref(&tenant_key))
        .await?
        .get(&tenant_key)?;
    const ENDED: &str = "the sign-in behind the grant has ended";
    let tenant = tenant
        .filter(|t| t.status == shared::values::Status::Active)
        .ok_or(OAuthError::InvalidGrant(ENDED))?;
    let partner = state
        .store()
        .load(&[keys::partner(&tenant.partner_id)])
        .await?;
    if !token::partner_is_active(&partner, &tenant.partner_id)? {
        return Err(OAuthError::InvalidGrant(ENDED));
    }
    loaded.extend(partner);
    Ok((tenant, app, loaded))
}

/// The tenant of the code `subject[0]` names.
fn code_tenant(loaded: &Loaded, subject: &[Key]) -> Option<shared::ids::TenantId> {
    let code: AuthorizationCode = loaded.get(subject.first()?).ok()??;
    Some(code.tenant_id)
}

/// The tenant of the grant `subject[0]` names.
fn grant_tenant(loaded: &Loaded, subject: &[Key]) -> Option<shared::ids::TenantId> {
    let grant: Grant = loaded.get(subject.first()?).ok()??;
    Some(grant.tenant_id)
}

/// The grant of a code exchange's request: client authenticated, code valid for it.
pub async fn exchange_code(
    state: &AppState,
    realm: Realm<'_>,
    request: &TokenRequest,
    meta: &RequestMeta,
) -> Result<UserGranted, OAuthError> {
    let Some(code) = request.param("code") else {
        return Err(OAuthError::InvalidRequest("code is required"));
    };
    let keys = state.credentials().keys().await?;
    let code_key = sign_in::code_key(&keys, code);
    let Client {
        tenant,
        app,
        loaded,
        mark,
    } = client_with(
        state,
        realm,
        request,
        std::slice::from_ref(&code_key),
        (
            |app| app.allows_grant("authorization_code"),
            "this client may not use the authorization code flow",
        ),
        (code_tenant, "the code is not valid"),
    )
    .await?;
    let tenant = &tenant;
    let stored: Option<AuthorizationCode> = loaded.get(&code_key)?;
    let now = Timestamp::now();
    // A code is exchanged only at the issuer it was issued for.
    let Some(stored) = stored.filter(|c| {
        c.client_id == app.id && c.tenant_id == tenant.id && c.platform == realm.is_platform()
    }) else {
        return Err(OAuthError::InvalidGrant("the code is not valid"));
    };
    if stored.used_at.is_some() {
        replayed(state, &stored, meta).await?;
        return Err(OAuthError::InvalidGrant("the code was already used"));
    }
    if stored.expires_at <= now {
        return Err(OAuthError::InvalidGrant("the code has expired"));
    }
    if request.param("redirect_uri") != Some(stored.redirect_uri.as_str()) {
        return Err(OAuthError::InvalidGrant(
            "redirect_uri differs from the authorization request's",
        ));
    }
    match (&stored.code_challenge, request.param("code_verifier")) {
        (Some(challenge), Some(verifier)) if sign_in::s256_matches(verifier, challenge) => {}
        (Some(_), _) => return Err(OAuthError::InvalidGrant("the code_verifier does not match")),
        // A verifier with no challenge: something replayed a code it did not ask for.
        (None, Some(_)) => {
            return Err(OAuthError::InvalidGrant(
                "no code_challenge was sent for this code",
            ));
        }
        (None, None) => {}
    }
    let grant = Grant {
        id: GrantId::generate(),
        session_id: stored.session_id.clone(),
        client_id: app.id.clone(),
        user_id: stored.user_id.clone(),
        tenant_id: tenant.id.clone(),
        platform: realm.is_platform(),
        scope: stored.scope.clone(),
        auth_time: stored.auth_time,
        refreshable: sign_in::issues_refresh_tokens(&app, &stored.scope),
        refresh_generation: 0,
        status: GrantStatus::Active,
        created_at: now,
        expires_at: stored.session_expires_at,
        revoked_at: None,
    };
    let mut tx = state.store().tx();
    tx.update_if(
        &code_key,
        "SET used_at = :now, grant_id = :grant",
        CODE_USED,
        Some("attribute_not_exists(used_at) AND expires_at > :now"),
        Expr::default()
            .value(":now", s(now.to_string()))
            .value(":grant", s(grant.id.to_string())),
    )?;
    tx.put_new(grant_item(&grant)?, Guard::Item)?;
    hold_standing(&mut tx, &grant.session_id, &grant.user_id, tenant, now)?;
    match state.store().transact(tx).await {
        Ok(()) => {}
        // Another exchange of the same code got there first: a replay.
        Err(err) if err.refused_by() == Some(CODE_USED) => {
            let again = state.store().load(std::slice::from_ref(&code_key)).await?;
            if let Some(used) = again.get::<AuthorizationCode>(&code_key)? {
                replayed(state, &used, meta).await?;
            }
            return Err(OAuthError::InvalidGrant("the code was already used"));
        }
        Err(err) if err.refused_by().is_some() => {
            return Err(OAuthError::InvalidGrant(
                "the sign-in behind the code has ended",
            ));
        }
        Err(err) => return Err(err.into()),
    }
    let id_claims = stored
        .scope
        .iter()
        .any(|s| s == "openid")
        .then(|| IdClaims {
            iss: realm.issuer(state, tenant),
            sub: stored.user_id.clone(),
            aud: app.id.to_string(),
            azp: app.id.to_string(),
            iat: now.unix(),
            exp: now.unix() + i64::from(app.token_lifetime),
            auth_time: stored.auth_time.unix(),
            nonce: stored.nonce.clone(),
            sid: stored.session_id.clone(),
            amr: vec!["pwd"],
            claims: stored.claims.clone(),
        });
    issue(
        state,
        &keys,
        (realm, tenant),
        &app,
        &grant,
        now,
        id_claims,
        mark.as_ref(),
        &loaded,
    )
    .await
}

/// The `refresh_token` grant: the token's grant read with the client, rotated in one
/// transaction that holds the session, user and tenant as they must be.
pub async fn refresh(
    state: &AppState,
    realm: Realm<'_>,
    request: &TokenRequest,
    meta: &RequestMeta,
) -> Result<UserGranted, OAuthError> {
    let Some(token) = request.param("refresh_token") else {
        return Err(OAuthError::InvalidRequest("refresh_token is required"));
    };
    let keys = state.credentials().keys().await?;
    // The client is authenticated before anything is said about the token (RFC 6749 §5.2).
    let parsed = sign_in::parse_refresh_token(&keys, token);
    let subject: Vec<Key> = parsed
        .iter()
        .map(|(grant_id, _)| sign_in::grant_key(grant_id))
        .collect();
    let Client {
        tenant,
        app,
        loaded,
        mark,
    } = client_with(
        state,
        realm,
        request,
        &subject,
        (
            |app| app.allows_grant("refresh_token"),
            "this client may not use refresh tokens",
        ),
        (grant_tenant, "the refresh token is not valid"),
    )
    .await?;
    let Some((grant_id, generation)) = parsed else {
        return Err(OAuthError::InvalidGrant("the refresh token is not valid"));
    };
    let tenant = &tenant;
    let now = Timestamp::now();
    let grant: Option<Grant> = loaded.get(&sign_in::grant_key(&grant_id))?;
    let Some(grant) = grant.filter(|g| {
        g.client_id == app.id
            && g.tenant_id == tenant.id
            && g.refreshable
            && g.platform == realm.is_platform()
    }) else {
        return Err(OAuthError::InvalidGrant("the refresh token is not valid"));
    };
    if !grant.is_live(now) {
        return Err(OAuthError::InvalidGrant("the refresh token has ended"));
    }
    if generation < grant.refresh_generation {
        revoke_grant(state, &grant, Some(meta)).await?;
        return Err(OAuthError::InvalidGrant(
            "the refresh token was already used",
        ));
    }
    if generation != grant.refresh_generation {
        return Err(OAuthError::InvalidGrant("the refresh token is not valid"));
    }
    // A narrower scope may be asked for (RFC 6749 §6); never a wider one.
    let scope = match request.param("scope") {
        None => grant.scope.clone(),
        Some(asked) => {
            let asked: Vec<String> = asked
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            if asked.iter().any(|a| !grant.scope.contains(a)) {
                return Err(OAuthError::InvalidScope);
            }
            asked
        }
    };
    let mut tx = state.store().tx();
    tx.update_if(
        &sign_in::grant_key(&grant.id),
        "SET refresh_generation = :next",
        GRANT_MOVED,
        Some("refresh_generation = :current AND #status = :active"),
        Expr::default()
            .name("#status", "status")
            .value(":next", n(generation + 1))
            .value(":current", n(generation))
            .value(":active", s("ACTIVE")),
    )?;
    hold_standing(&mut tx, &grant.session_id, &grant.user_id, tenant, now)?;
    match state.store().transact(tx).await {
        Ok(()) => {}
        // Another refresh with the same token won the race: that is reuse.
        Err(err) if err.refused_by() == Some(GRANT_MOVED) => {
            revoke_grant(state, &grant, Some(meta)).await?;
            return Err(OAuthError::InvalidGrant(
                "the refresh token was already used",
            ));
        }
        Err(err) if err.refused_by().is_some() => {
            return Err(OAuthError::InvalidGrant(
                "the sign-in behind the token has ended",
            ));
        }
        Err(err) => return Err(err.into()),
    }
    let rotated = Grant {
        refresh_generation: generation + 1,
        scope,
        ..grant
    };
    issue(
        state,
        &keys,
        (realm, tenant),
        &app,
        &rotated,
        now,
        None,
        mark.as_ref(),
        &loaded,
    )
    .await
}

/// Adds to `tx` what must still hold for a user's tokens to be issued: the SSO session ACTIVE
/// and unexpired, the user ACTIVE, the tenant ACTIVE and still with the partner read.
fn hold_standing(
    tx: &mut Tx,
    session: &SessionId,
    user: &UserId,
    tenant: &Tenant,
    now: Timestamp,
) -> Result<(), OAuthError> {
    tx.check(
        &keys::session(session),
        SESSION_ENDED,
        "#status = :active AND expires_at > :now",
        Expr::default()
            .name("#status", "status")
            .value(":active", s("ACTIVE"))
            .value(":now", s(now.to_string())),
    )?;
    tx.check(
        &keys::user(user),
        USER_INACTIVE,
        "#status = :active",
        Expr::default()
            .name("#status", "status")
            .value(":active", s("ACTIVE")),
    )?;
    tx.check(
        &keys::tenant(&tenant.id),
        TENANT_INACTIVE,
        "#status = :active AND partner_id = :partner",
        Expr::default()
            .name("#status", "status")
            .value(":active", s("ACTIVE"))
            .value(":partner", s(tenant.partner_id.to_string())),
    )?;
    Ok(())
}

/// Signs what a grant answers: an access token, an ID token when asked, the next refresh token.
#[allow(clippy::too_many_arguments)]
async fn issue(
    state: &AppState,
    keys: &CredentialKeys,
    (realm, tenant): (Realm<'_>, &Tenant),
    app: &Application,
    grant: &Grant,
    now: Timestamp,
    id_claims: Option<IdClaims>,
    mark: Option<&Key>,
    loaded: &Loaded,
) -> Result<UserGranted, OAuthError> {
    let scope = grant.scope.join(" ");
    let lifetime = i64::from(app.token_lifetime);
    let access = UserAccessClaims {
        iss: realm.issuer(state, tenant),
        sub: grant.user_id.clone(),
        aud: app.id.to_string(),
        client_id: app.id.to_string(),
        scope: scope.clone(),
        tenant_id: tenant.id.clone(),
        sid: grant.session_id.clone(),
        gid: Some(grant.id.clone()),
        act: None,
        iat: now.unix(),
        nbf: now.unix(),
        // Never beyond the session (its end ends the grant).
        exp: (now.unix() + lifetime).min(grant.expires_at.unix()),
        jti: shared::secrets::random_token(),
    };
    let signer = state.keys();
    let access_token = signer.sign_unless_revoked(&access, mark, loaded).await?;
    let id_token = match id_claims {
        Some(claims) => Some(signer.sign(&claims).await?),
        None => None,
    };
    Ok(UserGranted {
        access_token,
        expires_in: (access.exp - now.unix()).max(0) as u32,
        scope,
        id_token,
        refresh_token: grant
            .refreshable
            .then(|| sign_in::refresh_token(keys, &grant.id, grant.refresh_generation)),
    })
}

/// The grant's item: purged a day after its session would have ended.
fn grant_item(grant: &Grant) -> Result<shared::store::Item, shared::store::StoreError> {
    let mut item = grant.to_item()?;
    item.insert(keys::TTL.into(), n(grant.expires_at.unix() + 86_400));
    Ok(item)
}

/// A used code came back: the grant its first exchange made is revoked (RFC 6749 §4.1.2).
async fn replayed(
    state: &AppState,
    code: &AuthorizationCode,
    meta: &RequestMeta,
) -> Result<(), OAuthError> {
    let Some(grant_id) = &code.grant_id else {
        return Ok(());
    };
    let key = sign_in::grant_key(grant_id);
    let found: Option<Grant> = state
        .store()
        .load(std::slice::from_ref(&key))
        .await?
        .get(&key)?;
    if let Some(grant) = found {
        revoke_grant(state, &grant, Some(meta)).await?;
    }
    Ok(())
}

/// Revokes a grant (its refresh tokens, and the access tokens userinfo and introspection judge
/// by it), once; with `meta`, as a token reuse, recorded.
pub async fn revoke_grant(
    state: &AppState,
    grant: &Grant,
    reuse: Option<&RequestMeta>,
) -> Result<(), OAuthError> {
    let now = Timestamp::now();
    let mut tx = state.store().tx();
    tx.update_if(
        &sign_in::grant_key(&grant.id),
        "SET #status = :revoked, revoked_at = :now",
        Guard::Item,
        Some("#status = :active"),
        Expr::default()
            .name("#status", "status")
            .value(":revoked", s("REVOKED"))
            .value(":active", s("ACTIVE"))
            .value(":now", s(now.to_string())),
    )?;
    if let Some(meta) = reuse {
        let actor = Actor {
            kind: ActorType::User,
            id: Some(grant.user_id.to_string()),
            email: None,
        };
        let event = AuditEvent::new(actor, TOKEN_REUSE, Some(grant.id.to_string()), meta)
            .with_result(AuditResult::Denied)
            .with_changes(
                &json!({"status": "ACTIVE"}),
                &json!({"status": "REVOKED", "client_id": grant.client_id}),
            );
        state.store().add_event(&mut tx, &event)?;
    }
    match state.store().transact(tx).await {
        // Revoked already: nothing more to do.
        Ok(()) | Err(shared::store::StoreError::Refused(Guard::Item)) => Ok(()),
        Err(err) => Err(err.into()),
    }
}

/// A user's access token of this issuer, live: verified, its session ACTIVE and unexpired, its
/// user ACTIVE, its grant not revoked. The session, user and grant are read in one batch.
pub struct LiveToken {
    pub claims: UserAccessClaims,
    pub user: User,
}

pub async fn live_access_token(
    state: &AppState,
    tenant: &Tenant,
    token: &str,
) -> Result<Option<LiveToken>, OAuthError> {
    let issuer = state.config().tenant_issuer(&tenant.slug);
    let Some(claims) = access_claims(state, &issuer, token).await else {
        return Ok(None);
    };
    live_for(state, tenant, claims).await
}

/// A user's access token's claims, if `issuer` issued it to a client (verified; not judged
/// live).
pub async fn access_claims(
    state: &AppState,
    issuer: &str,
    token: &str,
) -> Option<UserAccessClaims> {
    let claims = state.keys().verify_issued_by(token, issuer).await.ok()?;
    let claims = serde_json::from_value::<UserAccessClaims>(claims).ok()?;
    (claims.aud == claims.client_id).then_some(claims)
}

/// Verified claims judged live for `tenant`'s users (one batch).
pub async fn live_for(
    state: &AppState,
    tenant: &Tenant,
    claims: UserAccessClaims,
) -> Result<Option<LiveToken>, OAuthError> {
    // The tenant's partner too: a suspended partner's users' tokens open nothing.
    let partner = keys::partner(&tenant.partner_id);
    let mut wanted = live_keys(&claims);
    wanted.push(partner.clone());
    let loaded = state.store().load(&wanted).await?;
    if !token::partner_is_active(&loaded, &tenant.partner_id)? {
        return Ok(None);
    }
    Ok(live_in(&loaded, &claims, tenant)?.map(|user| LiveToken { claims, user }))
}

/// What judging a user's access token live reads: its session, user, grant and client.
pub fn live_keys(claims: &UserAccessClaims) -> Vec<Key> {
    let mut wanted = vec![keys::session(&claims.sid), keys::user(&claims.sub)];
    wanted.extend(claims.gid.iter().map(sign_in::grant_key));
    wanted.extend(
        ApplicationId::parse(&claims.client_id)
            .ok()
            .map(|id| keys::application(&id)),
    );
    wanted
}

/// The token's user when, in `loaded` (read with [`live_keys`]), the token is live: of
/// `tenant`, its SSO session ACTIVE and unexpired, its user ACTIVE, its grant not revoked, its
/// client ACTIVE and still serving the tenant. (The tenant's partner is the caller's to judge:
/// the token endpoint has read it with the client.)
pub fn live_in(
    loaded: &Loaded,
    claims: &UserAccessClaims,
    tenant: &Tenant,
) -> Result<Option<User>, OAuthError> {
    if claims.tenant_id != tenant.id {
        return Ok(None);
    }
    let client_serves = match ApplicationId::parse(&claims.client_id) {
        Ok(id) => loaded
            .get::<Application>(&keys::application(&id))?
            .is_some_and(|a| {
                a.status == shared::values::Status::Active && sign_in::serves(&a, tenant)
            }),
        Err(_) => false,
    };
    if !client_serves {
        return Ok(None);
    }
    let now = Timestamp::now();
    let session_live = loaded
        .get::<Session>(&keys::session(&claims.sid))?
        .is_some_and(|s| {
            s.session_type == SessionType::Sso && s.is_live(now) && s.user_id == claims.sub
        });
    let grant_live = match &claims.gid {
        Some(gid) => loaded
            .get::<Grant>(&sign_in::grant_key(gid))?
            .is_some_and(|g| g.status == GrantStatus::Active),
        None => true,
    };
    let user = loaded
        .get::<User>(&keys::user(&claims.sub))?
        .filter(|u| u.status == UserStatus::Active && u.tenant_id == tenant.id);
    Ok(user.filter(|_| session_live && grant_live))
}

/// The userinfo answer (OpenID Connect Core §5.3): `sub` and the identity claims the token's
/// scope opens, as the user is now.
pub async fn userinfo(
    state: &AppState,
    live: &LiveToken,
) -> Result<Map<String, Value>, OAuthError> {
    let scope: Vec<String> = live.claims.scope.split(' ').map(str::to_owned).collect();
    let groups = if scope.iter().any(|s| s == "groups") {
        let groups = shared::membership::groups_of_user(state.store(), &live.user.id).await?;
        Some(groups.into_iter().map(|g| g.group.name).collect())
    } else {
        None
    };
    let mut claims = Map::new();
    claims.insert("sub".into(), Value::String(live.user.id.to_string()));
    claims.extend(sign_in::identity_claims(&live.user, &scope, groups));
    Ok(claims)
}

/// What a token names, for revocation and introspection: a refresh token's grant, or an access
/// token's claims and grant.
pub enum Presented {
    Refresh(Box<Grant>),
    Access(Box<UserAccessClaims>, Option<Box<Grant>>),
    Unknown,
}

/// Where a revocation or introspection is asked: a tenant's endpoint (its tenant, read from
/// the path), or the platform's (the token names the tenant).
#[derive(Clone, Copy)]
pub enum At<'a> {
    Tenant(&'a Tenant),
    Platform,
}

impl At<'_> {
    fn issuer(self, state: &AppState) -> String {
        match self {
            At::Tenant(tenant) => state.config().tenant_issuer(&tenant.slug),
            At::Platform => state.config().token_issuer.clone(),
        }
    }

    /// Whether a grant was made at this issuer (a tenant's own, not the platform's, and back).
    fn made(self, grant: &Grant) -> bool {
        match self {
            At::Tenant(tenant) => grant.tenant_id == tenant.id && !grant.platform,
            At::Platform => grant.platform,
        }
    }

    /// The ACTIVE tenant `id` a token here names (the platform's endpoint reads it).
    async fn tenant(self, state: &AppState, id: &TenantId) -> Result<Option<Tenant>, OAuthError> {
        match self {
            At::Tenant(tenant) => Ok(Some(tenant.clone()).filter(|t| t.id == *id)),
            At::Platform => {
                let key = keys::tenant(id);
                let tenant: Option<Tenant> = state
                    .store()
                    .load(std::slice::from_ref(&key))
                    .await?
                    .get(&key)?;
                Ok(tenant.filter(|t| t.status == shared::values::Status::Active))
            }
        }
    }
}

/// Reads what `token` names at this issuer (nothing of another tenant or issuer, nothing
/// forged).
pub async fn presented(state: &AppState, at: At<'_>, token: &str) -> Result<Presented, OAuthError> {
    let keys = state.credentials().keys().await?;
    if let Some((grant_id, generation)) = sign_in::parse_refresh_token(&keys, token) {
        let key = sign_in::grant_key(&grant_id);
        let grant: Option<Grant> = state
            .store()
            .load(std::slice::from_ref(&key))
            .await?
            .get(&key)?;
        return Ok(match grant {
            Some(g) if at.made(&g) && g.refresh_generation == generation => {
                Presented::Refresh(Box::new(g))
            }
            _ => Presented::Unknown,
        });
    }
    let Ok(claims) = state
        .keys()
        .verify_issued_by(token, &at.issuer(state))
        .await
    else {
        return Ok(Presented::Unknown);
    };
    let Ok(claims) = serde_json::from_value::<UserAccessClaims>(claims) else {
        return Ok(Presented::Unknown);
    };
    if let At::Tenant(tenant) = at
        && claims.tenant_id != tenant.id
    {
        return Ok(Presented::Unknown);
    }
    let grant: Option<Grant> = match &claims.gid {
        Some(gid) => {
            let key = sign_in::grant_key(gid);
            state
                .store()
                .load(std::slice::from_ref(&key))
                .await?
                .get(&key)?
        }
        None => None,
    };
    Ok(Presented::Access(Box::new(claims), grant.map(Box::new)))
}

/// Verified access-token claims judged live at this issuer (their tenant read at the
/// platform's).
async fn live_claims(
    state: &AppState,
    at: At<'_>,
    claims: &UserAccessClaims,
) -> Result<Option<LiveToken>, OAuthError> {
    match at.tenant(state, &claims.tenant_id).await? {
        Some(tenant) => live_for(state, &tenant, claims.clone()).await,
        None => Ok(None),
    }
}

/// Whether a grant still stands where the token endpoint would judge it (its refresh would be
/// refused otherwise): its SSO session ACTIVE and unexpired, its user ACTIVE, its client ACTIVE
/// and serving the tenant, the tenant's partner ACTIVE. One batch.
async fn grant_stands(
    state: &AppState,
    tenant: &Tenant,
    grant: &Grant,
) -> Result<bool, OAuthError> {
    let wanted = [
        keys::session(&grant.session_id),
        keys::user(&grant.user_id),
        keys::application(&grant.client_id),
        keys::partner(&tenant.partner_id),
    ];
    let loaded = state.store().load(&wanted).await?;
    let now = Timestamp::now();
    let session_live = loaded
        .get::<Session>(&wanted[0])?
        .is_some_and(|s| s.session_type == SessionType::Sso && s.is_live(now));
    let user_active = loaded
        .get::<User>(&wanted[1])?
        .is_some_and(|u| u.status == UserStatus::Active && u.tenant_id == tenant.id);
    let client_serves = loaded
        .get::<Application>(&wanted[2])?
        .is_some_and(|a| a.status == shared::values::Status::Active && sign_in::serves(&a, tenant));
    Ok(session_live
        && user_active
        && client_serves
        && token::partner_is_active(&loaded, &tenant.partner_id)?)
}

/// The client of a revocation or introspection request, authenticated as at the token
/// endpoint (with the tenant's partner ACTIVE).
pub async fn client_of(
    state: &AppState,
    at: At<'_>,
    request: &TokenRequest,
) -> Result<Application, OAuthError> {
    let (client_id, secret, basic) = request.client()?;
    let client_id =
        ApplicationId::parse(client_id).map_err(|_| OAuthError::InvalidClient { basic })?;
    let tenant = match at {
        At::Tenant(tenant) => tenant,
        At::Platform => {
            // A GLOBAL application, whoever's tokens it presents.
            let key = keys::application(&client_id);
            let app = state
                .store()
                .load(std::slice::from_ref(&key))
                .await?
                .get::<Application>(&key)?
                .filter(|a| a.scope == shared::hierarchy::AppScope::Global);
            return token::authenticate_served(state, app, secret, basic).await;
        }
    };
    let wanted = [
        keys::application(&client_id),
        keys::partner(&tenant.partner_id),
    ];
    let loaded = state.store().load(&wanted).await?;
    if !token::partner_is_active(&loaded, &tenant.partner_id)? {
        return Err(OAuthError::InvalidClient { basic });
    }
    token::authenticate(state, loaded.get(&wanted[0])?, tenant, secret, basic).await
}

/// RFC 7009: the token's grant revoked when it is the calling client's; 200 whatever it was.
pub async fn revoke(
    state: &AppState,
    at: At<'_>,
    request: &TokenRequest,
) -> Result<(), OAuthError> {
    let app = client_of(state, at, request).await?;
    let Some(token) = request.param("token") else {
        return Err(OAuthError::InvalidRequest("token is required"));
    };
    let grant = match presented(state, at, token).await? {
        Presented::Refresh(grant) => Some(*grant),
        Presented::Access(_, grant) => grant.map(|g| *g),
        Presented::Unknown => None,
    };
    if let Some(grant) = grant.filter(|g| g.client_id == app.id) {
        revoke_grant(state, &grant, None).await?;
    }
    Ok(())
}

/// RFC 7662, for the tenant's confidential clients: `{"active": false}` for anything revoked,
/// expired, forged or of another tenant.
pub async fn introspect(
    state: &AppState,
    at: At<'_>,
    request: &TokenRequest,
) -> Result<Value, OAuthError> {
    let app = client_of(state, at, request).await?;
    if !app.application_type.is_confidential() {
        return Err(OAuthError::InvalidClient { basic: false });
    }
    let Some(token) = request.param("token") else {
        return Err(OAuthError::InvalidRequest("token is required"));
    };
    let now = Timestamp::now();
    let inactive = json!({"active": false});
    let stands = async |grant: &Grant| -> Result<bool, OAuthError> {
        match at.tenant(state, &grant.tenant_id).await? {
            Some(tenant) => grant_stands(state, &tenant, grant).await,
            None => Ok(false),
        }
    };
    Ok(match presented(state, at, token).await? {
        // A client learns about its own tokens only (those issued to it, or exchanged by it).
        Presented::Refresh(grant) if grant.client_id != app.id => inactive,
        Presented::Access(claims, _) if claims.aud != app.id.as_str() => inactive,
        Presented::Refresh(grant) if grant.is_live(now) && stands(&grant).await? => {
            json!({
                "active": true,
                "token_type": "refresh_token",
                "client_id": grant.client_id,
                "sub": grant.user_id,
                "scope": grant.scope.join(" "),
                "exp": grant.expires_at.unix(),
                "iss": at.issuer(state),
            })
        }
        Presented::Access(claims, _) => match live_claims(state, at, &claims).await? {
            Some(_) => json!({
                "active": true,
                "token_type": "Bearer",
                "client_id": claims.client_id,
                "sub": claims.sub,
                "aud": claims.aud,
                "scope": claims.scope,
                "iss": claims.iss,
                "iat": claims.iat,
                "exp": claims.exp,
                "sid": claims.sid,
                "tenant_id": claims.tenant_id,
            }),
            None => inactive,
        },
        _ => inactive,
    })
}
