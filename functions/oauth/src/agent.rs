//! Agents at their tenant's token endpoint (SPEC §4.10, §4.14): `client_credentials` (RFC 6749
//! §4.4) and, for agents allowed it, token exchange (RFC 8693) of a user's admin access token
//! of the same tenant for a token acting for that user. The agent id is the `client_id`.
//!
//! The agent items are the agents group's (`functions/agents`); this reads the fields a grant
//! needs ([`StoredAgent`]) and writes only two things: the per-minute
//! rate counter (`AGENT_RATE#<agt>` / `MINUTE#<minute>`, a partition of its own) and
//! `last_used_at` in the agent's item (at most once a minute).

use serde::{Deserialize, Serialize};
use shared::access::Acting;
use shared::client_secret;
use shared::hierarchy::Tenant;
use shared::ids::{AgentId, TenantId};
use shared::session::{self, Caller};
use shared::state::AppState;
use shared::store::{Expr, keys, n, s};
use shared::time::Timestamp;
use shared::tokens::Verified;
use shared::values::Status;

use crate::error::OAuthError;
use crate::exchange::{self, ACCESS_TOKEN_TYPE, TOKEN_EXCHANGE};
use crate::token::{Granted, TokenRequest};
use crate::user_tokens;

/// `last_used_at` moves at most once in this long (as a session's `last_active_at`).
const LAST_USED_RESOLUTION: std::time::Duration = std::time::Duration::from_secs(60);
/// A rate counter outlives its minute by this much, then DynamoDB's TTL removes it.
const RATE_COUNTER_TTL_SECONDS: i64 = 120;

/// What a grant reads of an agent item (the rest of the item is ignored).
#[derive(Clone, Debug, Deserialize)]
pub struct StoredAgent {
    pub id: AgentId,
    pub tenant_id: TenantId,
    pub status: Status,
    #[serde(default)]
    pub allowed_tools: Vec<String>,
    #[serde(default)]
    pub allowed_scopes: Vec<String>,
    #[serde(default)]
    pub rate_limit_rpm: Option<u32>,
    #[serde(default)]
    pub token_exchange_allowed: bool,
    pub secret_hash: String,
    #[serde(default)]
    pub previous_secret_hash: Option<String>,
    #[serde(default)]
    pub previous_secret_expires_at: Option<Timestamp>,
    #[serde(default)]
    pub last_used_at: Option<Timestamp>,
}

/// The claims of an agent's `client_credentials` token. No `platform_token`, `sid` or `role`:
/// the admin API refuses it (`Verified::Other`).
#[derive(Serialize)]
struct AgentClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    /// The agent's id.
    sub: &'a str,
    client_id: &'a str,
    scope: &'a str,
    /// The tools the agent may call (a trailing `*` is a prefix wildcard).
    tools: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    rate_limit_rpm: Option<u32>,
    tenant_id: &'a TenantId,
    /// `client_credentials` or `token_exchange`.
    token_type: &'static str,
    /// Token exchange: the agent acting for the user in `sub` (RFC 8693 §4.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    act: Option<Actor<'a>>,
    iat: i64,
    nbf: i64,
    exp: i64,
    jti: String,
}

#[derive(Serialize)]
struct Actor<'a> {
    sub: &'a str,
}

/// Whether `secret` is the agent's current secret, or its previous one within the rotation's
/// grace period.
async fn secret_holds(
    state: &AppState,
    agent: &StoredAgent,
    secret: &str,
) -> Result<bool, OAuthError> {
    if client_secret::matches(state, secret, &agent.secret_hash).await? {
        return Ok(true);
    }
    match (
        &agent.previous_secret_hash,
        agent.previous_secret_expires_at,
    ) {
        (Some(previous), Some(until)) if until > Timestamp::now() => {
            Ok(client_secret::matches(state, secret, previous).await?)
        }
        _ => Ok(false),
    }
}

/// The scopes asked for (`scope`, space-separated), each within `allowed`; none asked: all of
/// `allowed`.
pub(crate) fn down_select(
    asked: Option<&str>,
    allowed: &[String],
) -> Result<Vec<String>, OAuthError> {
    let Some(asked) = asked else {
        return Ok(allowed.to_vec());
    };
    let mut granted: Vec<String> = Vec::new();
    for name in asked.split(' ').filter(|s| !s.is_empty()) {
        if !allowed.iter().any(|a| a == name) {
            return Err(OAuthError::InvalidScope);
        }
        if !granted.iter().any(|g| g == name) {
            granted.push(name.to_owned());
        }
    }
    Ok(granted)
}

/// Takes one of the agent's `rpm` token requests of the current minute, across every instance:
/// one conditional `ADD` on the minute's counter. Refused → 429 with the seconds to the next
/// minute.
async fn take_rate_slot(
    state: &AppState,
    agent: &AgentId,
    rpm: u32,
    now: i64,
) -> Result<(), OAuthError> {
    let minute = now.div_euclid(60);
    let taken = state
        .store()
        .update_if(
            &keys::agent_rate(agent, minute),
            "ADD #count :one SET #ttl = :ttl",
            "attribute_not_exists(#count) OR #count < :rpm",
            Expr::default()
                .name("#count", "count")
                .name("#ttl", "ttl")
                .value(":one", n(1))
                .value(":rpm", n(rpm))
                .value(":ttl", n((minute + 1) * 60 + RATE_COUNTER_TTL_SECONDS)),
        )
        .await?;
    if taken {
        Ok(())
    } else {
        Err(OAuthError::SlowDown {
            retry_after: (60 - now.rem_euclid(60)).max(1) as u64,
        })
    }
}

/// Moves `last_used_at` to now when absent or older than a minute: one conditional UpdateItem
/// (concurrent grants: one writes, the others are refused by the condition). Never fails the
/// grant.
async fn touch(state: &AppState, agent: &StoredAgent, now: Timestamp) {
    let due = now.minus(LAST_USED_RESOLUTION);
    if agent.last_used_at.is_some_and(|at| at >= due) {
        return;
    }
    let touched = state
        .store()
        .update_if(
            &keys::agent(&agent.id),
            "SET last_used_at = :now",
            "attribute_exists(PK) AND (attribute_not_exists(last_used_at) OR last_used_at < :due)",
            Expr::default()
                .value(":now", s(now.to_string()))
                .value(":due", s(due.to_string())),
        )
        .await;
    if let Err(err) = touched {
        tracing::warn!(error = %err, "agent last use not recorded");
    }
}

/// The authenticating agent: its item as read with the tenant (`None`: no such agent, or a
/// client id that is no agent id) and the credentials it presented.
pub struct Client<'a> {
    pub stored: Option<StoredAgent>,
    pub secret: &'a str,
    pub basic: bool,
    /// The signing key's revocation mark and the batch that read it with the agent
    /// (`KeyRing::sign_unless_revoked`).
    pub revocation: (Option<shared::store::Key>, shared::store::Loaded),
}

/// A grant for an agent at `tenant`'s endpoint: the agent (read with the tenant's partner) and its secret
/// checked (a suspended, deleted or unknown agent, or one of another tenant: 401
/// `invalid_client`), the grant type's own rules, the rate limit, then the signed token.
pub async fn grant(
    state: &AppState,
    tenant: &Tenant,
    request: &TokenRequest,
    client: Client<'_>,
) -> Result<Granted, OAuthError> {
    let refused = || OAuthError::InvalidClient {
        basic: client.basic,
    };
    let grant_type = request.param("grant_type");
    if grant_type.is_none() {
        return Err(OAuthError::InvalidRequest("grant_type is required"));
    }
    let Some(agent) = client
        .stored
        .clone()
        .filter(|a| a.status == Status::Active && a.tenant_id == tenant.id)
    else {
        return Err(refused());
    };
    if !secret_holds(state, &agent, client.secret).await? {
        return Err(refused());
    }
    let now = Timestamp::now();
    let config = state.config();
    let ttl = config.access_token_ttl.as_secs() as i64;
    // (subject, acting agent, scopes, expiry)
    let (subject, act, scope, exp) = match grant_type {
        Some("client_credentials") => {
            let scope = down_select(request.param("scope"), &agent.allowed_scopes)?;
            (agent.id.to_string(), None, scope, now.unix() + ttl)
        }
        Some(TOKEN_EXCHANGE) => {
            if !agent.token_exchange_allowed {
                return Err(OAuthError::UnauthorizedClient(
                    "this agent may not use token exchange",
                ));
            }
            let subject = subject_of(state, tenant, request).await?;
            let within = match &subject.scope {
                Some(scope) => scope.clone(),
                // An admin token carries no scope: what the user could be granted by the
                // tenant, never the admin API's.
                None => agent
                    .allowed_scopes
                    .iter()
                    .filter(|s| !s.starts_with("admin:"))
                    .cloned()
                    .collect(),
            };
            let scope = exchange::narrowed(request.param("scope"), &agent.allowed_scopes, &within)?;
            // Never outlives the user's token.
            let exp = (now.unix() + ttl).min(subject.exp);
            (subject.user_id, Some(agent.id.as_str()), scope, exp)
        }
        Some(_) => return Err(OAuthError::UnsupportedGrantType),
        None => return Err(OAuthError::InvalidRequest("grant_type is required")),
    };
    if let Some(rpm) = agent.rate_limit_rpm {
        take_rate_slot(state, &agent.id, rpm, now.unix()).await?;
    }
    let scope = scope.join(" ");
    let claims = AgentClaims {
        iss: &config.tenant_issuer(&tenant.slug),
        aud: agent.id.as_str(),
        sub: &subject,
        client_id: agent.id.as_str(),
        scope: &scope,
        tools: &agent.allowed_tools,
        rate_limit_rpm: agent.rate_limit_rpm,
        tenant_id: &agent.tenant_id,
        token_type: if act.is_some() {
            "token_exchange"
        } else {
            "client_credentials"
        },
        act: act.map(|sub| Actor { sub }),
        iat: now.unix(),
        nbf: now.unix(),
        exp,
        jti: shared::secrets::random_token(),
    };
    let (mark, loaded) = &client.revocation;
    let (signed, ()) = tokio::join!(
        state
            .keys()
            .sign_unless_revoked(&claims, mark.as_ref(), loaded),
        touch(state, &agent, now)
    );
    Ok(Granted {
        access_token: signed?,
        expires_in: (exp - now.unix()).max(0) as u32,
        scope,
        issued_token_type: act.map(|_| ACCESS_TOKEN_TYPE),
    })
}

/// The user a token exchange acts for, with the scopes its token carries (none: an admin
/// token) and its expiry. `subject_token` is a user's access token of the tenant's issuer,
/// live (as userinfo judges it), or an admin access token of a live session (the per-request
/// session check: not revoked or expired, user active, grant in force, tenant and partner
/// active) of a user of the agent's own tenant. Anything else is `invalid_grant`.
struct Subject {
    user_id: String,
    scope: Option<Vec<String>>,
    exp: i64,
}

async fn subject_of(
    state: &AppState,
    tenant: &Tenant,
    request: &TokenRequest,
) -> Result<Subject, OAuthError> {
    let token = exchange::subject_token(request)?;
    if let Some(claims) = exchange::user_token_claims(state, &tenant.slug, token).await {
        let loaded = state.store().load(&user_tokens::live_keys(&claims)).await?;
        return match user_tokens::live_in(&loaded, &claims, tenant)? {
            Some(user) => Ok(Subject {
                user_id: user.id.to_string(),
                scope: Some(claims.scope.split(' ').map(str::to_owned).collect()),
                exp: claims.exp,
            }),
            None => Err(exchange::invalid_subject()),
        };
    }
    let claims = match state.keys().verify(token).await {
        Ok(Verified::Admin(claims)) => claims,
        Ok(_) | Err(shared::Error::InvalidToken) => return Err(exchange::invalid_subject()),
        Err(err @ shared::Error::Unavailable(_)) => return Err(err.into()),
        Err(_) => return Err(exchange::invalid_subject()),
    };
    let exp = claims.exp;
    let (principal, _) = match session::check(state, &Caller::Admin(claims), &[]).await {
        Ok(checked) => checked,
        Err(err @ shared::Error::Unavailable(_)) => return Err(err.into()),
        Err(_) => return Err(exchange::invalid_subject()),
    };
    match principal.acting {
        Acting::Admin(session) if session.home_tenant == tenant.id => Ok(Subject {
            user_id: session.user_id.to_string(),
            scope: None,
            exp,
        }),
        _ => Err(exchange::invalid_subject()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_down_selected_from_the_allowed_ones() {
        let allowed = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(down_select(None, &allowed).unwrap(), allowed);
        assert_eq!(down_select(Some("b b"), &allowed).unwrap(), vec!["b"]);
        assert!(matches!(
            down_select(Some("a c"), &allowed),
            Err(OAuthError::InvalidScope)
        ));
    }

    /// The token endpoint reads the agents group's item: the fields it needs decode from the
    /// pinned stored form (`agents::store::a_live_agent_item_is_pinned`).
    #[test]
    fn an_agent_item_decodes_into_what_a_grant_reads() {
        let item: serde_json::Value = serde_json::json!({
            "PK": "AGENT#agt_01kb2z8hqv3m4n5p6r7s8t9w0g", "SK": "AGENT", "entity": "AGENT",
            "id": "agt_01kb2z8hqv3m4n5p6r7s8t9w0g", "tenant_id": "tnt_01kb2z8hqv3m4n5p6r7s8t9w0g",
            "partner_id": "prt_01kb2z8hqv3m4n5p6r7s8t9w1g", "name": "Bot", "agent_type": "ASSISTANT",
            "status": "ACTIVE", "allowed_tools": ["files.*"], "allowed_scopes": ["tickets:read"],
            "rate_limit_rpm": 60, "token_exchange_allowed": true, "secret_hash": "ab12",
            "created_at": "2026-01-02T03:04:05.000006Z", "updated_at": "2026-01-02T03:04:05.000006Z",
            "version": 1
        });
        let agent: StoredAgent = serde_json::from_value(item).unwrap();
        assert_eq!(agent.rate_limit_rpm, Some(60));
        assert_eq!(agent.allowed_tools, vec!["files.*"]);
        assert!(agent.token_exchange_allowed && agent.last_used_at.is_none());
    }
}
