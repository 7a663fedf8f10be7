//! The sign-in's kernel (SPEC §6): what the hosted login (`functions/sign-in`: authorize,
//! login, logout) and the token endpoints (`functions/oauth`: code exchange, refresh, userinfo,
//! revocation, introspection) both need — the stored authorization code and grant, the SSO
//! and flow cookies, the signed authorization request a login form carries, PKCE, and the
//! claims of the tokens a user gets.
//!
//! Every credential here is keyed with a key of its own derived from the credentials key
//! (`crate::credentials`): reading the table is not enough to forge a cookie, a flow, a code
//! or a refresh token.

use data_encoding::{BASE64URL_NOPAD, HEXLOWER};
use serde::{Deserialize, Serialize};

use crate::credentials::CredentialKeys;
use crate::hierarchy::{AppScope, AppType, Application, Tenant, User};
use crate::ids::{ApplicationId, GrantId, PartnerId, SessionId, TenantId, UserId};
use crate::store::{Entity, Key};
use crate::time::Timestamp;

/// The SSO session's cookie: `HttpOnly`, `SameSite=Lax`, `Secure` (but on local `http`), its
/// `Path` the issuer's.
pub const SSO_COOKIE: &str = "scaikey_sso";
/// The cookie that binds a login form to the browser that asked for it (CSRF).
pub const FLOW_COOKIE: &str = "scaikey_flow";
/// How long a login form stays usable.
pub const FLOW_LIFETIME_SECONDS: i64 = 600;
/// How long an authorization code may be exchanged (SPEC §6.2).
pub const CODE_LIFETIME_SECONDS: i64 = 60;
/// A used or expired code stays stored this long, so a replay is recognised (and revokes what
/// the code issued) rather than merely refused.
pub const CODE_KEPT_SECONDS: i64 = 600;

const SSO_COOKIE_KEY: &str = "scaikey sso-cookie key v1";
const FLOW_KEY: &str = "scaikey sign-in flow key v1";
const CODE_KEY: &str = "scaikey authorization-code key v1";
const USER_REFRESH_KEY: &str = "scaikey user-refresh-token key v1";

fn tag(key: &[u8], message: &str) -> String {
    BASE64URL_NOPAD.encode(&crate::secrets::hmac_sha256(key, message.as_bytes()))
}

fn tag_matches(key: &[u8], message: &str, presented: &str) -> bool {
    BASE64URL_NOPAD
        .decode(presented.as_bytes())
        .is_ok_and(|bytes| crate::secrets::hmac_verify(key, message.as_bytes(), &bytes))
}

// ---- the SSO cookie --------------------------------------------------------------------------

/// What the SSO cookie names: the session, and where its batch finds everything else (its user,
/// tenant and the tenant's partner at sign-in) — so an authorize with a live cookie reads the
/// session, user, tenant, partner and client in one batch. MAC'd: a session id read from the
/// table (or a log) is not a cookie.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SsoCookie {
    pub session: SessionId,
    pub user: UserId,
    pub tenant: TenantId,
    pub partner: PartnerId,
}

impl SsoCookie {
    fn message(&self) -> String {
        format!(
            "{}.{}.{}.{}",
            self.session, self.user, self.tenant, self.partner
        )
    }

    pub fn encode(&self, keys: &CredentialKeys) -> String {
        let message = self.message();
        let tag = tag(&keys.derive(SSO_COOKIE_KEY), &message);
        format!("{message}.{tag}")
    }

    /// The cookie's value read back; `None` for anything this service did not issue.
    pub fn decode(value: &str, keys: &CredentialKeys) -> Option<Self> {
        let mut parts = value.split('.');
        let (Some(s), Some(u), Some(t), Some(p), Some(tag), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        let cookie = Self {
            session: SessionId::parse(s).ok()?,
            user: UserId::parse(u).ok()?,
            tenant: TenantId::parse(t).ok()?,
            partner: PartnerId::parse(p).ok()?,
        };
        tag_matches(&keys.derive(SSO_COOKIE_KEY), &cookie.message(), tag).then_some(cookie)
    }
}

// ---- the authorization request a login form carries -----------------------------------------

/// An authorization request as `authorize` accepted it, carried by the login form (and its
/// URL) until the user has signed in: signed (so nobody changes the client or redirect URI in
/// between), bounded in time, and bound to the browser that started it (`binding`: the SHA-256
/// of the flow cookie's random value).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    #[serde(rename = "c")]
    pub client_id: ApplicationId,
    #[serde(rename = "r")]
    pub redirect_uri: String,
    #[serde(rename = "s")]
    pub scope: Vec<String>,
    #[serde(rename = "st", default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(rename = "cc", default, skip_serializing_if = "Option::is_none")]
    pub code_challenge: Option<String>,
    /// `response_mode=form_post` is not offered: the code always goes in the query.
    #[serde(rename = "lh", default, skip_serializing_if = "Option::is_none")]
    pub login_hint: Option<String>,
    /// The tenant whose login the flow goes on in; none for the platform's (the user's email
    /// finds it).
    #[serde(rename = "t", default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<TenantId>,
    /// Started at the platform's issuer (a GLOBAL application's sign-in).
    #[serde(rename = "p", default, skip_serializing_if = "std::ops::Not::not")]
    pub platform: bool,
    #[serde(rename = "x")]
    pub expires_at: i64,
    #[serde(rename = "b")]
    pub binding: String,
}

impl AuthorizationRequest {
    /// The signed form: base64url(JSON) `.` tag.
    pub fn encode(&self, keys: &CredentialKeys) -> String {
        let body = BASE64URL_NOPAD.encode(&serde_json::to_vec(self).unwrap_or_default());
        let tag = tag(&keys.derive(FLOW_KEY), &body);
        format!("{body}.{tag}")
    }

    /// The request back, if this service signed it and it has not expired at `now`.
    pub fn decode(value: &str, keys: &CredentialKeys, now: Timestamp) -> Option<Self> {
        let (body, tag) = value.split_once('.')?;
        if !tag_matches(&keys.derive(FLOW_KEY), body, tag) {
            return None;
        }
        let bytes = BASE64URL_NOPAD.decode(body.as_bytes()).ok()?;
        let request: Self = serde_json::from_slice(&bytes).ok()?;
        (request.expires_at > now.unix()).then_some(request)
    }

    /// Whether the flow cookie's value is the one this request was started with.
    pub fn is_bound_to(&self, flow_cookie: &str) -> bool {
        crate::secrets::equal_in_constant_time(
            binding_of(flow_cookie).as_bytes(),
            self.binding.as_bytes(),
        )
    }
}

/// The binding a flow cookie's value gives (what the signed request stores).
pub fn binding_of(flow_cookie: &str) -> String {
    crate::secrets::sha256_hex(flow_cookie)
}

// ---- the platform login's choice of tenant ----------------------------------------------------

const CHOICE_KEY: &str = "scaikey platform tenant-choice key v1";
/// How long the choice of tenant stays open.
pub const CHOICE_LIFETIME_SECONDS: i64 = 300;

/// The tenants whose user the platform's login proved the password of, when there are several:
/// the browser picks one. Signed, short-lived, and bound to the flow it belongs to (its
/// `binding`): the choice is a proof of the password only for that browser's flow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantChoice {
    /// Each tenant and its user, at the version whose password was proved (a reset since ends
    /// the choice).
    #[serde(rename = "o")]
    pub options: Vec<(TenantId, UserId, u64)>,
    #[serde(rename = "b")]
    pub binding: String,
    #[serde(rename = "x")]
    pub expires_at: i64,
}

impl TenantChoice {
    /// The signed form: base64url(JSON) `.` tag.
    pub fn encode(&self, keys: &CredentialKeys) -> String {
        let body = BASE64URL_NOPAD.encode(&serde_json::to_vec(self).unwrap_or_default());
        let tag = tag(&keys.derive(CHOICE_KEY), &body);
        format!("{body}.{tag}")
    }

    /// The choice back, if this service signed it for the flow of `binding` and it is open.
    pub fn decode(
        value: &str,
        keys: &CredentialKeys,
        binding: &str,
        now: Timestamp,
    ) -> Option<Self> {
        let (body, tag) = value.split_once('.')?;
        if !tag_matches(&keys.derive(CHOICE_KEY), body, tag) {
            return None;
        }
        let bytes = BASE64URL_NOPAD.decode(body.as_bytes()).ok()?;
        let choice: Self = serde_json::from_slice(&bytes).ok()?;
        (choice.expires_at > now.unix() && choice.binding == binding).then_some(choice)
    }
}

/// At the platform's issuer an email is only what one tenant's admins set: one issuer speaks
/// for every tenant there, so it never vouches for an email as verified (an RP linking accounts
/// by a verified email would otherwise trust any tenant's admins with anyone's address).
pub fn unvouched(claims: &mut serde_json::Map<String, serde_json::Value>) {
    if let Some(verified) = claims.get_mut("email_verified") {
        *verified = serde_json::Value::Bool(false);
    }
}

// ---- PKCE (RFC 7636, S256 only) --------------------------------------------------------------

/// A `code_challenge` is the base64url (no padding) SHA-256 of a verifier: 43 characters.
pub fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && BASE64URL_NOPAD
            .decode(challenge.as_bytes())
            .is_ok_and(|b| b.len() == 32)
}

/// Whether `verifier` (43–128 unreserved characters) hashes to `challenge`.
pub fn s256_matches(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    if !well_formed {
        return false;
    }
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    crate::secrets::equal_in_constant_time(
        BASE64URL_NOPAD.encode(digest.as_ref()).as_bytes(),
        challenge.as_bytes(),
    )
}

// ---- authorization codes ---------------------------------------------------------------------

/// A new authorization code: 256 random bits, URL-safe.
pub fn new_code() -> String {
    crate::secrets::random_token()
}

/// Where a code is stored: under a keyed hash of it, never the code itself.
pub fn code_key(keys: &CredentialKeys, code: &str) -> Key {
    let digest = crate::secrets::hmac_sha256(&keys.derive(CODE_KEY), code.as_bytes());
    Key::new(format!("CODE#{}", HEXLOWER.encode(&digest)), "CODE")
}

/// An authorization code as stored: single use, alive [`CODE_LIFETIME_SECONDS`], bound to the
/// client, the redirect URI, the PKCE challenge, the nonce and the SSO session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuthorizationCode {
    /// The stored key's partition (`CODE#<hash>`), kept to write the item back.
    pub hash: String,
    pub client_id: ApplicationId,
    pub redirect_uri: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    pub scope: Vec<String>,
    pub session_id: SessionId,
    /// When the session ends: what the code's grant (and its refresh tokens) cannot outlive.
    pub session_expires_at: Timestamp,
    pub user_id: UserId,
    pub tenant_id: TenantId,
    /// Issued by the platform's issuer: exchanged only at its token endpoint (a tenant's code
    /// only at the tenant's).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub platform: bool,
    /// When the user last entered a password in this session (`auth_time`).
    pub auth_time: Timestamp,
    /// The identity claims the ID token will carry, by scope, as the user was when the code
    /// was issued (the exchange checks the user is still active, in its transaction).
    #[serde(default)]
    pub claims: serde_json::Map<String, serde_json::Value>,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
    /// Set by the one exchange that used it, with the grant it made: a second exchange finds
    /// both and revokes the grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<GrantId>,
}

impl Entity for AuthorizationCode {
    const NAME: &'static str = "AUTHORIZATION_CODE";

    fn key(&self) -> Key {
        Key::new(self.hash.clone(), "CODE")
    }
}

// ---- grants and their refresh tokens ----------------------------------------------------------

/// What one code exchange issued: the refresh chain of one client in one SSO session. Ends with
/// its session (the refresh reads the session in its batch), with a revocation, or when a code
/// or refresh token of its chain is used twice.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Grant {
    pub id: GrantId,
    pub session_id: SessionId,
    pub client_id: ApplicationId,
    pub user_id: UserId,
    pub tenant_id: TenantId,
    /// Made at the platform's token endpoint: refreshed only there.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub platform: bool,
    pub scope: Vec<String>,
    pub auth_time: Timestamp,
    /// Whether it issues refresh tokens at all (WEB and NATIVE apps, or `offline_access`).
    pub refreshable: bool,
    /// The refresh token of generation `g` is `<grant>.<g>.<tag>`; one below this is reuse.
    pub refresh_generation: u64,
    pub status: GrantStatus,
    pub created_at: Timestamp,
    /// Never beyond its session's end.
    pub expires_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<Timestamp>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GrantStatus {
    Active,
    Revoked,
}

impl Grant {
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.status == GrantStatus::Active && self.expires_at > now
    }
}

impl Entity for Grant {
    const NAME: &'static str = "GRANT";

    fn key(&self) -> Key {
        grant_key(&self.id)
    }
}

pub fn grant_key(id: &GrantId) -> Key {
    Key::new(format!("GRANT#{id}"), "GRANT")
}

/// A user's refresh token: `<grant>.<generation>.<tag>`, the tag an HMAC of both under a key of
/// its own. Nothing of it is stored; the grant keeps its generation.
pub fn refresh_token(keys: &CredentialKeys, grant: &GrantId, generation: u64) -> String {
    let message = format!("{grant}.{generation}");
    let tag = tag(&keys.derive(USER_REFRESH_KEY), &message);
    format!("{message}.{tag}")
}

/// A refresh token read back: the grant and generation, if this service issued it.
pub fn parse_refresh_token(keys: &CredentialKeys, token: &str) -> Option<(GrantId, u64)> {
    let mut parts = token.splitn(3, '.');
    let (Some(grant), Some(generation), Some(tag)) = (parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let grant = GrantId::parse(grant).ok()?;
    let generation: u64 = generation.parse().ok()?;
    tag_matches(
        &keys.derive(USER_REFRESH_KEY),
        &format!("{grant}.{generation}"),
        tag,
    )
    .then_some((grant, generation))
}

// ---- where a slug points ---------------------------------------------------------------------------

/// Where this instance last saw each tenant slug point: its tenant and the tenant's partner. A
/// hint only — whoever uses it reads the tenant and partner in its own batch and checks the
/// tenant still holds the slug and the partner (else reads the slug's claim again) — so the
/// hot paths of the token endpoint read the tenant with their own keys: a code exchange or a
/// refresh is one batch and one transaction. Bounded: past [`SlugDirectory::CAPACITY`] slugs it
/// starts again.
#[derive(Default)]
pub struct SlugDirectory {
    known: std::sync::RwLock<std::collections::HashMap<String, (TenantId, PartnerId)>>,
}

impl SlugDirectory {
    pub const CAPACITY: usize = 10_000;

    pub fn get(&self, slug: &str) -> Option<(TenantId, PartnerId)> {
        self.known
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(slug)
            .cloned()
    }

    pub fn record(&self, tenant: &Tenant) {
        let mut known = self.known.write().unwrap_or_else(|p| p.into_inner());
        if known.len() >= Self::CAPACITY {
            known.clear();
        }
        known.insert(
            tenant.slug.clone(),
            (tenant.id.clone(), tenant.partner_id.clone()),
        );
    }

    pub fn forget(&self, slug: &str) {
        self.known
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(slug);
    }
}

// ---- clients and claims -------------------------------------------------------------------------

/// The scopes the sign-in understands (an application may allow others: they are granted as
/// asked and carry no claims).
pub const OIDC_SCOPES: [&str; 5] = ["openid", "profile", "email", "groups", "offline_access"];

/// Whether `app` may sign users of `tenant` in (SPEC §6.2): GLOBAL apps any tenant, PARTNER apps
/// the tenants of their partner as it is now, TENANT apps their own.
pub fn serves(app: &Application, tenant: &Tenant) -> bool {
    match app.scope {
        AppScope::Global => true,
        AppScope::Partner => app.partner_id.as_ref() == Some(&tenant.partner_id),
        AppScope::Tenant => app.tenant_id.as_ref() == Some(&tenant.id),
    }
}

/// Whether a grant of `scope` to `app` issues refresh tokens: WEB and NATIVE apps, or any app
/// that asked for `offline_access` and is allowed it (SPEC §6.3).
pub fn issues_refresh_tokens(app: &Application, scope: &[String]) -> bool {
    app.allows_grant("refresh_token")
        && (matches!(app.application_type, AppType::Web | AppType::Native)
            || scope.iter().any(|s| s == "offline_access"))
}

/// The identity claims of `user` that `scope` opens (OpenID Connect Core §5.4): `email`,
/// `email_verified` (`email`); `name`, `given_name`, `family_name` (`profile`, those set);
/// `groups` (the effective group names, when given); and always `tenant_id`.
pub fn identity_claims(
    user: &User,
    scope: &[String],
    groups: Option<Vec<String>>,
) -> serde_json::Map<String, serde_json::Value> {
    use serde_json::Value;
    let has = |name: &str| scope.iter().any(|s| s == name);
    let mut claims = serde_json::Map::new();
    if has("email") {
        claims.insert("email".into(), Value::String(user.email.clone()));
        claims.insert("email_verified".into(), Value::Bool(user.email_verified));
    }
    if has("profile") {
        let name = user.display_name.clone().or_else(|| {
            let full = [user.first_name.as_deref(), user.last_name.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            (!full.is_empty()).then_some(full)
        });
        for (claim, value) in [
            ("name", name),
            ("given_name", user.first_name.clone()),
            ("family_name", user.last_name.clone()),
        ] {
            if let Some(value) = value {
                claims.insert(claim.into(), Value::String(value));
            }
        }
    }
    if let Some(groups) = groups.filter(|_| has("groups")) {
        claims.insert(
            "groups".into(),
            Value::Array(groups.into_iter().map(Value::String).collect()),
        );
    }
    claims.insert(
        "tenant_id".into(),
        Value::String(user.tenant_id.to_string()),
    );
    claims
}

// ---- the tokens a user gets --------------------------------------------------------------------

/// A user's ID token (OpenID Connect Core §2; SPEC §6.3): the identity claims by scope are
/// flattened in.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IdClaims {
    pub iss: String,
    pub sub: UserId,
    pub aud: String,
    pub azp: String,
    pub iat: i64,
    pub exp: i64,
    pub auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    pub sid: SessionId,
    pub amr: Vec<&'static str>,
    #[serde(flatten)]
    pub claims: serde_json::Map<String, serde_json::Value>,
}

/// A user's access token (SPEC §6.3): for one client (`aud`), of one issuer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserAccessClaims {
    pub iss: String,
    pub sub: UserId,
    pub aud: String,
    pub client_id: String,
    pub scope: String,
    pub tenant_id: TenantId,
    pub sid: SessionId,
    /// The grant it was issued under: revoking the grant (or reusing its code) ends it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<GrantId>,
    /// Token exchange: who acts for the user (RFC 8693 §4.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<serde_json::Value>,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> CredentialKeys {
        CredentialKeys::for_tests([3; 32])
    }

    #[test]
    fn a_cookie_is_read_back_only_as_issued() {
        let cookie = SsoCookie {
            session: SessionId::generate(),
            user: UserId::generate(),
            tenant: TenantId::generate(),
            partner: PartnerId::generate(),
        };
        let value = cookie.encode(&keys());
        assert_eq!(SsoCookie::decode(&value, &keys()), Some(cookie.clone()));
        let other_keys = CredentialKeys::for_tests([9; 32]);
        assert_eq!(SsoCookie::decode(&value, &other_keys), None);
        let forged = value.replacen(cookie.session.as_str(), SessionId::generate().as_str(), 1);
        assert_eq!(SsoCookie::decode(&forged, &keys()), None);
        assert_eq!(SsoCookie::decode("", &keys()), None);
        assert_eq!(SsoCookie::decode(&format!("{value}.x"), &keys()), None);
    }

    #[test]
    fn a_flow_is_signed_bounded_and_bound() {
        let now = Timestamp::now();
        let request = AuthorizationRequest {
            client_id: ApplicationId::generate(),
            redirect_uri: "https://app.example/cb".into(),
            scope: vec!["openid".into()],
            state: Some("s".into()),
            nonce: None,
            code_challenge: None,
            login_hint: None,
            tenant: Some(TenantId::generate()),
            platform: false,
            expires_at: now.unix() + 60,
            binding: binding_of("cookie-value"),
        };
        let value = request.encode(&keys());
        assert_eq!(
            AuthorizationRequest::decode(&value, &keys(), now),
            Some(request.clone())
        );
        assert!(request.is_bound_to("cookie-value"));
        assert!(!request.is_bound_to("another"));
        let later = now.plus(std::time::Duration::from_secs(61));
        assert_eq!(AuthorizationRequest::decode(&value, &keys(), later), None);
        let (body, tag) = value.split_once('.').unwrap();
        let mut tampered: serde_json::Value =
            serde_json::from_slice(&BASE64URL_NOPAD.decode(body.as_bytes()).unwrap()).unwrap();
        tampered["r"] = "https://evil.example/cb".into();
        let tampered = format!(
            "{}.{tag}",
            BASE64URL_NOPAD.encode(&serde_json::to_vec(&tampered).unwrap())
        );
        assert_eq!(AuthorizationRequest::decode(&tampered, &keys(), now), None);
    }

    #[test]
    fn a_choice_of_tenant_is_signed_bounded_and_bound() {
        let now = Timestamp::now();
        let choice = TenantChoice {
            options: vec![(TenantId::generate(), UserId::generate(), 3)],
            binding: binding_of("cookie-value"),
            expires_at: now.unix() + 60,
        };
        let value = choice.encode(&keys());
        let binding = binding_of("cookie-value");
        assert_eq!(
            TenantChoice::decode(&value, &keys(), &binding, now),
            Some(choice.clone())
        );
        assert_eq!(
            TenantChoice::decode(&value, &keys(), &binding_of("x"), now),
            None
        );
        let later = now.plus(std::time::Duration::from_secs(61));
        assert_eq!(TenantChoice::decode(&value, &keys(), &binding, later), None);
        let other = CredentialKeys::for_tests([9; 32]);
        assert_eq!(TenantChoice::decode(&value, &other, &binding, now), None);
    }

    #[test]
    fn pkce_s256_follows_rfc_7636() {
        // RFC 7636, appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(is_s256_challenge(challenge));
        assert!(s256_matches(verifier, challenge));
        assert!(!s256_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj",
            challenge
        ));
        assert!(!s256_matches("short", challenge));
        assert!(!is_s256_challenge("plain-value"));
    }

    #[test]
    fn refresh_tokens_name_their_grant_and_generation() {
        let grant = GrantId::generate();
        let token = refresh_token(&keys(), &grant, 3);
        assert_eq!(
            parse_refresh_token(&keys(), &token),
            Some((grant.clone(), 3))
        );
        let forged = format!("{grant}.4.{}", token.rsplit('.').next().unwrap());
        assert_eq!(parse_refresh_token(&keys(), &forged), None);
        let code = new_code();
        assert_ne!(code_key(&keys(), &code), code_key(&keys(), &new_code()));
        assert!(code_key(&keys(), &code).pk.starts_with("CODE#"));
    }
}
