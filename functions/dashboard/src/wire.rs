//! Wire types of the dashboard API.

use serde::Serialize;
use shared::audit::AuditEventResponse;
use utoipa::ToSchema;

use crate::operations::Stats;

/// What the caller's reach holds now, each an exact number. Super admin: the platform; partner
/// admin: its partner and its live tenants (`partners` 1); tenant admin: its tenant (`partners`
/// 0, `tenants` 1). Each equals the `pagination.total` of the matching unfiltered list for the
/// same caller (`applications`: the GLOBAL ones and its partner's too, as that list shows).
#[derive(Serialize, ToSchema)]
pub struct StatsResponse {
    pub partners: u64,
    pub tenants: u64,
    pub users: u64,
    pub groups: u64,
    pub applications: u64,
    pub agents: u64,
    /// Sessions signed in, not revoked and not yet expired.
    pub active_sessions: u64,
    /// Registration requests awaiting a decision that have not expired (30 days).
    pub pending_registration_requests: u64,
}

impl From<Stats> for StatsResponse {
    fn from(s: Stats) -> Self {
        Self {
            partners: s.partners,
            tenants: s.tenants,
            users: s.users,
            groups: s.groups,
            applications: s.applications,
            agents: s.agents,
            active_sessions: s.active_sessions,
            pending_registration_requests: s.pending_registration_requests,
        }
    }
}

/// The latest audit events within reach, newest first.
#[derive(Serialize, ToSchema)]
pub struct ActivityResponse {
    pub items: Vec<AuditEventResponse>,
}
