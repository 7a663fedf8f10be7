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

/// Which admin-role grants a caller may see: every grant, or those held by users of one
/// partner's tenants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoleReach {
    All,
    Partner(PartnerId),
}

pub mod admin_roles {
    use super::*;

    /// Admin roles (SPEC §3.2): super_admin sees every grant; a partner admin the grants held
    /// by users of its partner's tenants; a tenant admin none (the tier table's "—").
    pub fn reach(tier: &Tier) -> Result<RoleReach, Error> {
        match tier {
            Tier::Super => Ok(RoleReach::All),
            Tier::Partner(own) => Ok(RoleReach::Partner(own.clone())),
            Tier::Tenant { .. } => Err(Error::AccessDenied),
        }
    }

    /// Reading one grant held by a user of `holder_partner`'s tenants.
    pub fn read(principal: &Principal, holder_partner: &PartnerId) -> Result<(), Error> {
        match reach(&principal.tier)? {
            RoleReach::All => Ok(()),
            RoleReach::Partner(own) if own == *holder_partner => Ok(()),
            RoleReach::Partner(_) => Err(Error::AccessDenied),
        }
    }

    /// Only super and partner admins ever grant or revoke (checked before the body is read).
    pub fn may_write_at_all(tier: &Tier) -> bool {
        matches!(tier, Tier::Super | Tier::Partner(_))
    }

    /// Granting or revoking `role` for `user`. `tenant_partner` is the partner of the grant's
    /// tenant (TENANT_ADMIN grants). Nobody changes their own roles; nobody grants above their
    /// own tier; a partner admin only TENANT_ADMIN, for tenants of its own partner.
    pub fn write(
        principal: &Principal,
        user: &UserId,
        role: AdminRole,
        tenant_partner: Option<&PartnerId>,
    ) -> Result<(), Error> {
        if *user == principal.user_id || role.rank() > principal.role().rank() {
            return Err(Error::AccessDenied);
        }
        let allowed = match &principal.tier {
            Tier::Super => true,
            Tier::Partner(own) => {
                role == AdminRole::TenantAdmin && tenant_partner.is_some_and(|p| p == own)
            }
            Tier::Tenant { .. } => false,
        };
        if allowed {
            Ok(())
        } else {
            Err(Error::AccessDenied)
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

    #[test]
    fn admin_role_rules_follow_the_tiers() {
        let (p, t) = (PartnerId::generate(), TenantId::generate());
        let other_p = PartnerId::generate();
        let target = UserId::generate();
        let root = principal(Tier::Super);
        for role in [
            AdminRole::SuperAdmin,
            AdminRole::PartnerAdmin,
            AdminRole::TenantAdmin,
        ] {
            assert!(admin_roles::write(&root, &target, role, None).is_ok());
        }
        assert!(
            admin_roles::write(&root, &root.user_id, AdminRole::TenantAdmin, None).is_err(),
            "nobody changes their own roles"
        );
        let partner_admin = principal(Tier::Partner(p.clone()));
        assert!(
            admin_roles::write(&partner_admin, &target, AdminRole::TenantAdmin, Some(&p)).is_ok()
        );
        assert!(
            admin_roles::write(
                &partner_admin,
                &target,
                AdminRole::TenantAdmin,
                Some(&other_p)
            )
            .is_err()
        );
        assert!(
            admin_roles::write(&partner_admin, &target, AdminRole::PartnerAdmin, Some(&p)).is_err()
        );
        assert!(admin_roles::write(&partner_admin, &target, AdminRole::SuperAdmin, None).is_err());
        let tenant_admin = principal(Tier::Tenant {
            partner: p.clone(),
            tenant: t,
        });
        assert!(!admin_roles::may_write_at_all(&tenant_admin.tier));
        assert!(
            admin_roles::write(&tenant_admin, &target, AdminRole::TenantAdmin, Some(&p)).is_err()
        );
        assert!(admin_roles::reach(&tenant_admin.tier).is_err());
        assert!(admin_roles::read(&partner_admin, &p).is_ok());
        assert!(admin_roles::read(&partner_admin, &other_p).is_err());
        assert!(admin_roles::read(&root, &other_p).is_ok());
    }
}
