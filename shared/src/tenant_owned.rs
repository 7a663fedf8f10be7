//! The tier rules of a resource that belongs to a tenant and keeps its tenant's partner only as
//! a hint (groups, identity providers, agents): who may read it and who may write it, judged by
//! the tenant's partner as it is now. Written once for the groups that share it.

use crate::access::{self, Principal, Tier};
use crate::audit::{self, Attempt, AuditAction, RequestMeta};
use crate::error::{Error, Result};
use crate::hierarchy::Tenant;
use crate::ids::{PartnerId, TenantId};
use crate::state::AppState;

/// A tenant-owned resource as its tier rules see it.
pub struct Owned<'a> {
    pub id: &'a str,
    pub tenant: &'a TenantId,
    /// The partner of its tenant at its last write: a hint a write may assume.
    pub partner_hint: &'a PartnerId,
    /// Its name in a 404 (its tenant gone).
    pub resource: &'static str,
}

/// The read rule: the rule of the tenant it belongs to (super all; partner admin its partner's
/// tenants; tenant admin its own), judged by the tenant's partner as it is now — read from the
/// tenant for a partner admin, as the resource's own partner is only a hint.
pub async fn within_reach(state: &AppState, principal: &Principal, owned: Owned<'_>) -> Result<()> {
    match &principal.tier {
        Tier::Super => Ok(()),
        Tier::Tenant { tenant, .. } if tenant == owned.tenant => Ok(()),
        Tier::Tenant { .. } => Err(Error::AccessDenied),
        Tier::Partner(_) => {
            let partner = Tenant::partner_now(state, owned.tenant, owned.resource).await?;
            access::tenants::read(principal, &partner, owned.tenant)
        }
    }
}

/// The write rule: within reach, or refused and recorded (DENIED). Returns the partner the write
/// assumes — its event is filed under it, and its transaction checks that the tenant still
/// belongs to it, so the assumption costs no read: a tenant admin's own partner, else the hint.
/// The tenant is read only on a retry (the hint was stale: a transfer) or before refusing on
/// the hint (the caller may be the receiving partner's admin).
pub async fn may_write(
    state: &AppState,
    principal: &Principal,
    owned: Owned<'_>,
    action: AuditAction,
    meta: &RequestMeta,
    retry: bool,
) -> Result<PartnerId> {
    let attempt = Attempt {
        action,
        resource_id: Some(owned.id.to_owned()),
    };
    let decided = match &principal.tier {
        Tier::Tenant { partner, tenant } if tenant == owned.tenant => Ok(partner.clone()),
        Tier::Tenant { .. } => Err(Error::AccessDenied),
        _ => {
            let hinted = if retry {
                None
            } else {
                Some(owned.partner_hint.clone())
                    .filter(|p| access::tenants::read(principal, p, owned.tenant).is_ok())
            };
            match hinted {
                Some(p) => Ok(p),
                None => Tenant::partner_now(state, owned.tenant, owned.resource)
                    .await
                    .and_then(|p| access::tenants::read(principal, &p, owned.tenant).map(|()| p)),
            }
        }
    };
    // A failed read of the tenant (database down, corrupt item) is that failure, not a refusal.
    let decided = match decided {
        Err(err) if !matches!(err, Error::AccessDenied | Error::NotFound(_)) => return Err(err),
        other => other,
    };
    let verdict = decided.as_ref().map(drop).map_err(|_| Error::AccessDenied);
    audit::check_write(state, principal, verdict, attempt, meta).await?;
    decided
}
