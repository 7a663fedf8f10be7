//! Wire types of the sessions API: what a client sends and sees. Nothing of a token — no
//! access or refresh token, no hash, no refresh generation, no grant id — ever appears here.

use serde::Serialize;
use shared::error::{Error, Result};
use shared::hierarchy::{Session, SessionStatus as Stored};
use shared::ids::{TenantId, UserId};
use shared::pagination::Pagination;
use shared::time::Timestamp;
use shared::validation::{self, Fields, Problem};
pub use shared::validation::{partner_ref, tenant_ref, user_ref};
use utoipa::ToSchema;

use crate::operations::Holder;

/// `EXPIRED`: stored active, but past its `expires_at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SessionStatus {
    Active,
    Revoked,
    Expired,
}

/// What kind of sign-in a session is (SPEC §4.11).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SessionType {
    /// An admin's, from the admin login.
    Admin,
    /// A user's single sign-on session in a browser, from a tenant's hosted login.
    Sso,
}

/// A session (an admin's, or a user's SSO session) as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct SessionResponse {
    id: String,
    session_type: SessionType,
    user_id: String,
    user_email: String,
    /// The holder's home tenant.
    tenant_id: String,
    /// The partner of that tenant when the session was created.
    partner_id: String,
    created_at: Timestamp,
    /// The last request the session served, to within a minute (`created_at` for sessions
    /// from before it was kept).
    last_active_at: Timestamp,
    expires_at: Timestamp,
    ip_address: Option<String>,
    user_agent: Option<String>,
    status: SessionStatus,
    /// An SSO session: the applications (client ids) signed in through it, in order; absent
    /// on an admin session.
    #[serde(skip_serializing_if = "Option::is_none")]
    applications: Option<Vec<String>>,
}

impl SessionResponse {
    /// The session as seen at `now` (its status computed: an active one past its expiry is
    /// `EXPIRED`).
    pub fn at(s: Session, now: Timestamp) -> Self {
        let status = match s.status {
            Stored::Revoked => SessionStatus::Revoked,
            Stored::Active if s.expires_at <= now => SessionStatus::Expired,
            Stored::Active => SessionStatus::Active,
        };
        let sso = s.session_type == shared::hierarchy::SessionType::Sso;
        Self {
            id: s.id.to_string(),
            session_type: if sso {
                SessionType::Sso
            } else {
                SessionType::Admin
            },
            user_id: s.user_id.to_string(),
            user_email: s.email,
            tenant_id: s.tenant_id.to_string(),
            partner_id: s.partner_id.to_string(),
            created_at: s.created_at,
            last_active_at: s.last_active_at.unwrap_or(s.created_at),
            expires_at: s.expires_at,
            ip_address: s.ip_address,
            user_agent: s.user_agent,
            status,
            applications: sso.then(|| s.applications.iter().map(|a| a.to_string()).collect()),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SessionList {
    pub items: Vec<SessionResponse>,
    pub pagination: Pagination,
}

/// Revoke every session of one user.
#[allow(dead_code)] // Schemas of the body; the handler parses it straight into a `Holder`.
#[derive(ToSchema)]
pub struct RevokeUserSessions {
    #[schema(value_type = String, pattern = "^usr_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$")]
    pub user_id: UserId,
}

/// Revoke every session of one tenant's users.
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct RevokeTenantSessions {
    #[schema(value_type = String, pattern = "^tnt_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$")]
    pub tenant_id: TenantId,
}

/// Body of Revoke All Sessions: by user or by tenant, exactly one (the other absent or `null`).
#[allow(dead_code)]
#[derive(ToSchema)]
#[serde(untagged)]
pub enum RevokeAll {
    User(RevokeUserSessions),
    Tenant(RevokeTenantSessions),
}

/// Exactly one of `user_id` and `tenant_id`.
impl TryFrom<Fields> for Holder {
    type Error = Error;

    fn try_from(mut body: Fields) -> Result<Self> {
        let user = body.optional("user_id", validation::user_ref);
        let tenant = body.optional("tenant_id", validation::tenant_ref);
        if user.is_some() == tenant.is_some() {
            let problem = if user.is_some() {
                Problem::value_error("give exactly one of user_id and tenant_id")
            } else {
                Problem::new("missing", "Field required")
            };
            body.reject("user_id", problem);
        }
        body.finish(|| match (user, tenant) {
            (Some(u), None) => Some(Self::User(u)),
            (None, Some(t)) => Some(Self::Tenant(t)),
            _ => None,
        })
    }
}

/// How many sessions a revoke-all ended.
#[derive(Serialize, ToSchema)]
pub struct Revoked {
    pub revoked: u64,
}
