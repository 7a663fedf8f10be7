use serde::{Deserialize, Serialize};

use crate::access::{AdminRole, Tier};
use crate::ids::{ApplicationId, PartnerId, RoleId, SessionId, TenantId, UserId};
use crate::store::{Entity, Expr, Guard, Key, StoreError, Tx, keys, s};
use crate::time::Timestamp;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SessionStatus {
    Active,
    Revoked,
}

/// Which kind of sign-in a session is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SessionType {
    /// An admin's, from the admin login: its tokens act on the admin API.
    #[default]
    Admin,
    /// A user's single sign-on session in a browser (SPEC §6): the hosted login's cookie
    /// names it, and the applications signed in through it get tokens of its tenant's issuer.
    Sso,
}

impl SessionType {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Admin => "ADMIN",
            Self::Sso => "SSO",
        }
    }
}

/// A signed-in session: an admin's, or a user's SSO session.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Session {
    pub id: SessionId,
    /// Absent on admin sessions from before SSO sessions existed: an admin session.
    #[serde(default)]
    pub session_type: SessionType,
    pub user_id: UserId,
    pub email: String,
    pub tenant_id: TenantId,
    pub partner_id: PartnerId,
    /// The admin role of an admin session (an SSO session has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<AdminRole>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope_partner_id: Option<PartnerId>,
    /// The grant the session was issued under: the session check refuses the session once
    /// that grant is revoked or expired. `None` only in sessions from before grants were
    /// checked; those are refused (their admins sign in again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_id: Option<RoleId>,
    pub status: SessionStatus,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// When the session last served a request, to within a minute: set at login, then moved by
    /// the session check at most once a minute (`session::LAST_ACTIVE_RESOLUTION`). Absent on
    /// sessions created before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_active_at: Option<Timestamp>,
    /// How many times the session was refreshed: the refresh token of generation `g` is
    /// `<id>.<g>.<HMAC(server key, id, g)>`, so every token the session ever issued can be
    /// recognised without storing it, and one older than this generation is a reuse.
    #[serde(default)]
    pub refresh_generation: u64,
    /// How far the holder's admin grants reached at sign-in (`access::GrantReach::stored`):
    /// lists show the session only to callers whose reach covers it (SPEC §5, "who outranks
    /// whom"). Absent on sessions from before it was kept: those are listed to super admins
    /// only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder_reach: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// An SSO session: the applications (client ids) signed in through it, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub applications: Vec<ApplicationId>,
}

/// The session attribute lists filter on to hide sessions of users beyond the caller's reach.
pub const HOLDER_REACH: &str = "holder_reach";

impl Session {
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.status == SessionStatus::Active && self.expires_at > now
    }

    /// The tier an admin session acts at; `None` for an SSO session (it acts on no admin API).
    pub fn tier(&self) -> Option<Tier> {
        if self.session_type != SessionType::Admin {
            return None;
        }
        match self.role? {
            AdminRole::SuperAdmin => Some(Tier::Super),
            AdminRole::PartnerAdmin => self.scope_partner_id.clone().map(Tier::Partner),
            AdminRole::TenantAdmin => Some(Tier::Tenant {
                partner: self.partner_id.clone(),
                tenant: self.tenant_id.clone(),
            }),
        }
    }

    /// The partner whose status gates this session besides its home one (a partner admin's
    /// own partner).
    pub fn scope_partner(&self) -> Option<&PartnerId> {
        self.scope_partner_id
            .as_ref()
            .filter(|p| **p != self.partner_id)
    }
}

impl Session {
    /// Adds to `tx` this session's revocation (`revoked_by` when `by` is given), only while it
    /// is ACTIVE — refused with `guard` when it ended meanwhile — so the one write that ends it
    /// is the one that takes it off the active-session tallies.
    pub fn revoke_in(
        &self,
        tx: &mut Tx,
        by: Option<&str>,
        now: Timestamp,
        guard: Guard,
    ) -> Result<(), StoreError> {
        let mut expr = Expr::default()
            .name("#status", "status")
            .value(":revoked", s("REVOKED"))
            .value(":active", s("ACTIVE"))
            .value(":now", s(now.to_string()));
        let mut update = "SET #status = :revoked, revoked_at = :now".to_owned();
        if let Some(by) = by {
            update.push_str(", revoked_by = :by");
            expr = expr.value(":by", s(by));
        }
        tx.update_if(
            &keys::session(&self.id),
            &update,
            guard,
            Some("#status = :active"),
            expr,
        )?;
        Ok(())
    }
}

impl Session {
    /// A user's sessions active now (GSI1 `USER#<usr>#SESSIONS`, all pages): what a password
    /// reset ends, and what a new grant re-ranks.
    pub async fn active_of_user(
        store: &crate::store::Store,
        user: &UserId,
    ) -> Result<Vec<Session>, StoreError> {
        let spec = crate::store::QuerySpec {
            index: Some(keys::GSI1),
            partition: (keys::GSI1PK, keys::sessions_of_user(user)),
            equals: vec![("status", "ACTIVE".to_owned())],
            contains: None,
            compare: Vec::new(),
        };
        let now = Timestamp::now();
        Ok(store
            .list::<Session>(&spec, None, 10_000)
            .await?
            .into_iter()
            .map(|(session, _)| session)
            .filter(|session| session.expires_at > now)
            .collect())
    }

    /// Adds to `tx` a new `holder_reach` for this session (its holder's grants changed), if the
    /// session is still stored (refused with `guard` otherwise).
    pub fn rerank_in(&self, tx: &mut Tx, reach: &str, guard: Guard) -> Result<(), StoreError> {
        tx.update_if(
            &keys::session(&self.id),
            &format!("SET {HOLDER_REACH} = :reach"),
            guard,
            Some("attribute_exists(PK)"),
            Expr::default().value(":reach", s(reach)),
        )?;
        Ok(())
    }
}

impl Entity for Session {
    const NAME: &'static str = "SESSION";

    fn key(&self) -> Key {
        keys::session(&self.id)
    }
}
