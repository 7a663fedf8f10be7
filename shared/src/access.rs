//! The caller and every tier rule of SPEC §3.2, written once as functions of
//! (principal, resource). Handlers and domain operations call these; none re-derives a rule.

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::ids::{PartnerId, SessionId, TenantId, UserId};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdminRole {
    SuperAdmin,
    PartnerAdmin,
    TenantAdmin,
}

impl AdminRole {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::SuperAdmin => "super_admin",
            Self::PartnerAdmin => "partner_admin",
            Self::TenantAdmin => "tenant_admin",
        }
    }

    /// Higher tiers first; a user holding several roles signs in with the highest.
    pub fn rank(&self) -> u8 {
        match self {
            Self::SuperAdmin => 3,
            Self::PartnerAdmin => 2,
            Self::TenantAdmin => 1,
        }
    }
}

/// The tier an admin acts at, with the partner or tenant it is bound to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tier {
    Super,
    Partner(PartnerId),
    Tenant {
        partner: PartnerId,
        tenant: TenantId,
    },
}

/// An authenticated admin whose session was checked on this request.
#[derive(Clone, Debug)]
pub struct Principal {
    pub user_id: UserId,
    pub email: String,
    pub session_id: SessionId,
    /// The tenant the user belongs to, and its partner.
    pub home_tenant: TenantId,
    pub home_partner: PartnerId,
    pub tier: Tier,
}

impl Principal {
    pub fn role(&self) -> AdminRole {
        match self.tier {
            Tier::Super => AdminRole::SuperAdmin,
            Tier::Partner(_) => AdminRole::PartnerAdmin,
            Tier::Tenant { .. } => AdminRole::TenantAdmin,
        }
    }

    pub fn is_super(&self) -> bool {
        self.tier == Tier::Super
    }
}

/// Which tenants a caller may see in a list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TenantReach {
    All,
    Partner(PartnerId),
    One {
        partner: PartnerId,
        tenant: TenantId,
    },
}

pub mod partners {
    use super::*;

    /// Partners are super_admin only, reads included (as the reference says).
    pub fn manage(principal: &Principal) -> Result<(), Error> {
        if principal.is_super() {
            Ok(())
        } else {
            Err(Error::AccessDenied)
        }
    }
}

pub mod tenants {
    use super::*;

    /// super_admin: all; partner_admin: its partner's tenants; tenant_admin: its own tenant.
    pub fn read(
        principal: &Principal,
        partner: &PartnerId,
        tenant: &TenantId,
    ) -> Result<(), Error> {
        let allowed = match &principal.tier {
            Tier::Super => true,
            Tier::Partner(own) => own == partner,
            Tier::Tenant { tenant: own, .. } => own == tenant,
        };
        if allowed {
            Ok(())
        } else {
            Err(Error::AccessDenied)
        }
    }

    /// Tenant writes (create, update, delete, restore, transfer) are super_admin only.
    pub fn write(principal: &Principal) -> Result<(), Error> {
        if principal.is_super() {
            Ok(())
        } else {
            Err(Error::AccessDenied)
        }
    }

    /// The tenants a list may show, narrowed by a `partner_id` filter. A filter pointing
    /// outside the caller's reach → 403.
    pub fn list_reach(
        tier: &Tier,
        partner_filter: Option<&PartnerId>,
    ) -> Result<TenantReach, Error> {
        match (tier, partner_filter) {
            (Tier::Super, None) => Ok(TenantReach::All),
            (Tier::Super, Some(p)) => Ok(TenantReach::Partner(p.clone())),
            (Tier::Partner(own), filter) => match filter {
                Some(p) if p != own => Err(Error::AccessDenied),
                _ => Ok(TenantReach::Partner(own.clone())),
            },
            (Tier::Tenant { partner, tenant }, filter) => match filter {
                Some(p) if p != partner => Err(Error::AccessDenied),
                _ => Ok(TenantReach::One {
                    partner: partner.clone(),
                    tenant: tenant.clone(),
                }),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(tier: Tier) -> Principal {
        Principal {
            user_id: UserId::generate(),
            email: "a@example.com".into(),
            session_id: SessionId::generate(),
            home_tenant: TenantId::generate(),
            home_partner: PartnerId::generate(),
            tier,
        }
    }

    #[test]
    fn only_super_admins_manage_partners() {
        assert!(partners::manage(&principal(Tier::Super)).is_ok());
        assert!(partners::manage(&principal(Tier::Partner(PartnerId::generate()))).is_err());
    }

    #[test]
    fn tenant_reads_follow_the_tiers() {
        let (p, t) = (PartnerId::generate(), TenantId::generate());
        let (other_p, other_t) = (PartnerId::generate(), TenantId::generate());
        assert!(tenants::read(&principal(Tier::Super), &other_p, &other_t).is_ok());
        let partner_admin = principal(Tier::Partner(p.clone()));
        assert!(tenants::read(&partner_admin, &p, &other_t).is_ok());
        assert!(tenants::read(&partner_admin, &other_p, &t).is_err());
        let tenant_admin = principal(Tier::Tenant {
            partner: p.clone(),
            tenant: t.clone(),
        });
        assert!(tenants::read(&tenant_admin, &p, &t).is_ok());
        assert!(tenants::read(&tenant_admin, &p, &other_t).is_err());
    }

    #[test]
    fn list_filters_outside_reach_are_refused() {
        let p = PartnerId::generate();
        let partner_admin = principal(Tier::Partner(p.clone()));
        assert_eq!(
            tenants::list_reach(&partner_admin.tier, None).unwrap(),
            TenantReach::Partner(p.clone())
        );
        assert!(tenants::list_reach(&partner_admin.tier, Some(&PartnerId::generate())).is_err());
        let t = TenantId::generate();
        let tenant_admin = principal(Tier::Tenant {
            partner: p.clone(),
            tenant: t.clone(),
        });
        assert!(tenants::list_reach(&tenant_admin.tier, Some(&p)).is_ok());
        assert!(tenants::list_reach(&tenant_admin.tier, Some(&PartnerId::generate())).is_err());
    }
}
