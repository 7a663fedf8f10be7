use serde::{Deserialize, Serialize};

use crate::access::{AdminRole, Tier};
use crate::ids::{PartnerId, RoleId, SessionId, TenantId, UserId};
use crate::store::{Entity, Expr, Guard, Key, StoreError, Tx, keys, s};
use crate::time::Timestamp;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SessionStatus {
    Active,
    Revoked,
}

/// A signed-in admin session.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Session {
    pub id: SessionId,
    pub user_id: UserId,
    pub email: String,
    pub tenant_id: TenantId,
    pub partner_id: PartnerId,
    pub role: AdminRole,
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
}

/// The session attribute lists filter on to hide sessions of users beyond the caller's reach.
pub const HOLDER_REACH: &str = "holder_reach";

impl Session {
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.status == SessionStatus::Active && self.expires_at > now
    }

    pub fn tier(&self) -> Option<Tier> {
        match self.role {
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

impl Entity for Session {
    const NAME: &'static str = "SESSION";

    fn key(&self) -> Key {
        keys::session(&self.id)
    }
}
