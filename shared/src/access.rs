//! The caller and every tier rule of SPEC §3.2, written once as functions of
//! (principal, resource). Handlers and domain operations call these; none re-derives a rule.

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::ids::{ApplicationId, PartnerId, SessionId, TenantId, UserId};

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

/// An admin user acting in a session checked on this request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminSession {
    pub user_id: UserId,
    pub email: String,
    pub session_id: SessionId,
    /// The tenant the user belongs to, and its partner.
    pub home_tenant: TenantId,
    pub home_partner: PartnerId,
}

/// Who acts on a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Acting {
    Admin(AdminSession),
    /// A GLOBAL application with a platform token (SPEC §3.1), its scopes already checked
    /// against the operation; it acts with the super tier's reach.
    Platform {
        client_id: ApplicationId,
    },
}

/// A caller checked on this request: who acts, and at which tier.
#[derive(Clone, Debug)]
pub struct Principal {
    pub acting: Acting,
    pub tier: Tier,
}

impl Principal {
    /// The admin session, for what only an admin user may do (`/me`, logout).
    pub fn admin(&self) -> Result<&AdminSession, Error> {
        match &self.acting {
            Acting::Admin(session) => Ok(session),
            Acting::Platform { .. } => Err(Error::AccessDenied),
        }
    }

    pub fn user_id(&self) -> Option<&UserId> {
        self.admin().ok().map(|a| &a.user_id)
    }

    /// The acting user's or application's id (`revoked_by`, cursor bindings).
    pub fn actor_id(&self) -> String {
        match &self.acting {
            Acting::Admin(session) => session.user_id.to_string(),
            Acting::Platform { client_id } => client_id.to_string(),
        }
    }

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

/// How far a user's admin grants reach, as far as who may manage the user is concerned (SPEC §5,
/// "who outranks whom"): a caller may edit, delete, restore, reset, re-grant or end the
/// sessions of a user only if every grant the user holds in force lies within the caller's own
/// reach. Compared by reach, not rank: a partner admin of A living in a tenant of B (moved
/// there by a transfer) or in the platform tenant reaches beyond every partner admin, so only
/// a super admin manages it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GrantReach {
    /// No grant beyond the user's own tenant (none, or TENANT_ADMIN of that tenant): whoever
    /// reaches the tenant manages the user.
    Tenant,
    /// PARTNER_ADMIN grants of this partner only, held by a user of one of its tenants: that
    /// partner's admins (and super admins).
    Partner(PartnerId),
    /// A SUPER_ADMIN grant, or grants beyond the tenant's partner now: super admins only.
    Super,
}

impl GrantReach {
    /// The reach of `grants` in force at `now`, held by a user of `home_tenant`, whose partner
    /// is `home_partner` now (`None` when the caller's decision does not depend on it: a tenant
    /// admin is refused every partner grant, a super admin refused nothing).
    pub fn of(
        grants: &[crate::hierarchy::RoleGrant],
        home_tenant: &TenantId,
        home_partner: Option<&PartnerId>,
        now: crate::time::Timestamp,
    ) -> Self {
        let mut reach = Self::Tenant;
        for grant in grants.iter().filter(|g| g.is_in_force(now)) {
            let this = match grant.role {
                AdminRole::TenantAdmin if grant.tenant_id.as_ref() == Some(home_tenant) => {
                    Self::Tenant
                }
                AdminRole::PartnerAdmin => match (&grant.partner_id, home_partner) {
                    (Some(p), Some(home)) if p == home => Self::Partner(p.clone()),
                    // The partner the tenant is with now is unknown: a partner grant is judged
                    // as beyond it, so a caller that needs to know reads the tenant first.
                    _ => Self::Super,
                },
                _ => Self::Super,
            };
            reach = match (reach, this) {
                (Self::Super, _) | (_, Self::Super) => Self::Super,
                (Self::Partner(a), Self::Partner(b)) if a != b => Self::Super,
                (Self::Partner(a), _) | (_, Self::Partner(a)) => Self::Partner(a),
                (Self::Tenant, Self::Tenant) => Self::Tenant,
            };
        }
        reach
    }

    /// The stored form (on sessions, so lists can filter on it): `TENANT`, `PARTNER#<prt>`,
    /// `SUPER`.
    pub fn stored(&self) -> String {
        match self {
            Self::Tenant => "TENANT".to_owned(),
            Self::Partner(p) => format!("PARTNER#{p}"),
            Self::Super => "SUPER".to_owned(),
        }
    }

    /// From the stored form; anything unreadable is the strictest.
    pub fn parse_stored(text: &str) -> Self {
        match text {
            "TENANT" => Self::Tenant,
            _ => text
                .strip_prefix("PARTNER#")
                .and_then(|p| PartnerId::parse(p).ok())
                .map_or(Self::Super, Self::Partner),
        }
    }

    /// The stored forms a caller of `tier` may manage (what a list of sessions may show): every
    /// one for a super admin (`None`: no filter).
    pub fn manageable_by(tier: &Tier) -> Option<Vec<String>> {
        match tier {
            Tier::Super => None,
            Tier::Partner(own) => Some(vec![
                Self::Tenant.stored(),
                Self::Partner(own.clone()).stored(),
            ]),
            Tier::Tenant { .. } => Some(vec![Self::Tenant.stored()]),
        }
    }
}

/// Whether the caller's reach covers every grant of a user whose grants reach `holder` (the
/// caller reaching the user's tenant is checked on its own). Peers manage each other: a partner
/// admin of A manages another partner admin of A who lives in A's tenants.
pub fn manages(principal: &Principal, holder: &GrantReach) -> bool {
    match (&principal.tier, holder) {
        (Tier::Super, _) => true,
        (_, GrantReach::Tenant) => true,
        (Tier::Partner(own), GrantReach::Partner(p)) => own == p,
        _ => false,
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

    /// Reading one grant held by a user of a tenant of `holder_partner` (the partner of the
    /// holder's tenant now).
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
        if principal.user_id() == Some(user) || role.rank() > principal.role().rank() {
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

/// The scopes of a platform token (SPEC §3.1): a `client_credentials` token of a GLOBAL
/// application acts platform-wide, limited by these. Other scope names are ignored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PlatformScopes {
    pub users_read: bool,
    pub groups_read: bool,
    pub admin_read: bool,
    pub admin_write: bool,
}

impl PlatformScopes {
    /// The token's scopes that its application still allows (SPEC §4.14: a scope dropped from
    /// `allowed_scopes` stops opening anything on the token's next request).
    pub fn still_allowed(scope: &str, allowed: &[String]) -> Self {
        let kept: Vec<&str> = scope
            .split_ascii_whitespace()
            .filter(|name| allowed.iter().any(|a| a == name))
            .collect();
        Self::parse(&kept.join(" "))
    }

    /// From the token's space-separated `scope` claim.
    pub fn parse(scope: &str) -> Self {
        let mut scopes = Self::default();
        for name in scope.split_ascii_whitespace() {
            match name {
                "users:read" => scopes.users_read = true,
                "groups:read" => scopes.groups_read = true,
                "admin:read" => scopes.admin_read = true,
                "admin:write" => scopes.admin_write = true,
                _ => {}
            }
        }
        scopes
    }
}

/// What a request does, as far as a platform token's scopes are concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScopedOperation {
    /// A read of users (list, get, a user's groups).
    ReadUsers,
    /// A read of groups (list, get, members).
    ReadGroups,
    /// An application reading its own effective users (SPEC §4.7): open to its platform token
    /// whatever its scopes.
    ReadOwnAudience,
    /// Any other read endpoint.
    Read,
    /// Any write.
    Write,
}

impl ScopedOperation {
    /// What a request of the application `client_id` is, from its method and path: GET and
    /// HEAD read; the reads of users (`/users…`, a user's groups included) and of groups
    /// (`/groups…`) are their own, and so is the read of the application's own effective users.
    pub fn of(is_read: bool, path: &str, client_id: &str) -> Self {
        let own_audience = path
            .strip_prefix("/api/v1/admin/applications/")
            .and_then(|rest| rest.strip_prefix(client_id))
            .is_some_and(|rest| rest == "/effective-users");
        let under = |collection: &str| {
            path.strip_prefix(collection)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        };
        // `/users/{id}/applications` and `/groups/{id}/applications` show application records:
        // a read of applications, which `users:read` / `groups:read` do not open.
        let applications_of = path.ends_with("/applications");
        match is_read {
            false => Self::Write,
            true if own_audience && !client_id.is_empty() => Self::ReadOwnAudience,
            true if applications_of => Self::Read,
            true if under("/api/v1/admin/users") => Self::ReadUsers,
            true if under("/api/v1/admin/groups") => Self::ReadGroups,
            true => Self::Read,
        }
    }
}

/// A caller holding a platform token: the application, and what its scopes open. (The tokens
/// themselves are issued by platform OAuth, SPEC §4.14; this is the model the rules apply to.)
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlatformPrincipal {
    /// The GLOBAL application's id (`sub` = `client_id`).
    pub client_id: String,
    pub scopes: PlatformScopes,
}

pub mod platform {
    use super::*;

    /// `admin:write` opens every write and every read (write implies read); `admin:read`
    /// every read; `users:read` and `groups:read` only their own reads. Anything else → the
    /// exact 403 of SPEC §2.1.
    pub fn allows(scopes: &PlatformScopes, operation: ScopedOperation) -> Result<(), Error> {
        let reads = scopes.admin_read || scopes.admin_write;
        let allowed = match operation {
            ScopedOperation::Write => scopes.admin_write,
            ScopedOperation::ReadOwnAudience => true,
            ScopedOperation::Read => reads,
            ScopedOperation::ReadUsers => reads || scopes.users_read,
            ScopedOperation::ReadGroups => reads || scopes.groups_read,
        };
        if allowed {
            Ok(())
        } else {
            Err(Error::PlatformScopeMissing)
        }
    }

    impl PlatformPrincipal {
        /// The platform token's verdict on an operation; within its scopes it acts
        /// platform-wide (the super tier's reach).
        pub fn check(&self, operation: ScopedOperation) -> Result<Tier, Error> {
            allows(&self.scopes, operation).map(|()| Tier::Super)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(tier: Tier) -> Principal {
        Principal {
            acting: Acting::Admin(AdminSession {
                user_id: UserId::generate(),
                email: "a@example.com".into(),
                session_id: SessionId::generate(),
                home_tenant: TenantId::generate(),
                home_partner: PartnerId::generate(),
            }),
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
            admin_roles::write(&root, root.user_id().unwrap(), AdminRole::TenantAdmin, None)
                .is_err(),
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

    #[tokio::test]
    async fn platform_scopes_open_exactly_their_reads_and_writes() {
        use ScopedOperation::*;
        let all = [ReadUsers, ReadGroups, Read, Write];
        let opens = |scope: &str| -> Vec<ScopedOperation> {
            let scopes = PlatformScopes::parse(scope);
            all.into_iter()
                .filter(|op| platform::allows(&scopes, *op).is_ok())
                .collect()
        };
        assert_eq!(opens("admin:write"), all.to_vec(), "write implies read");
        assert_eq!(opens("admin:read"), vec![ReadUsers, ReadGroups, Read]);
        assert_eq!(opens("users:read"), vec![ReadUsers]);
        assert_eq!(opens("groups:read"), vec![ReadGroups]);
        assert_eq!(
            opens("users:read  groups:read"),
            vec![ReadUsers, ReadGroups]
        );
        assert_eq!(opens(""), Vec::<ScopedOperation>::new());
        assert_eq!(opens("openid profile admin"), Vec::<ScopedOperation>::new());
        let refused = platform::allows(&PlatformScopes::parse("users:read"), Write).unwrap_err();
        assert!(matches!(refused, Error::PlatformScopeMissing));
        let response = axum::response::IntoResponse::into_response(refused);
        assert_eq!(response.status(), axum::http::StatusCode::FORBIDDEN);
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
            serde_json::json!({"detail": "Platform token requires admin:read or admin:write scope"})
        );
        let app = PlatformPrincipal {
            client_id: "app_x".into(),
            scopes: PlatformScopes::parse("admin:read"),
        };
        assert_eq!(app.check(Read).unwrap(), Tier::Super);
        assert!(app.check(Write).is_err());
    }

    #[test]
    fn a_request_is_the_scoped_operation_of_its_method_and_path() {
        use ScopedOperation::*;
        for (read, path, operation) in [
            (true, "/api/v1/admin/users", ReadUsers),
            (true, "/api/v1/admin/users/usr_x/groups", ReadUsers),
            (true, "/api/v1/admin/groups/grp_x/members", ReadGroups),
            (true, "/api/v1/admin/usersx", Read),
            (true, "/api/v1/admin/users/usr_x/applications", Read),
            (true, "/api/v1/admin/groups/grp_x/applications", Read),
            (true, "/api/v1/admin/tenants", Read),
            (false, "/api/v1/admin/users", Write),
            (false, "/api/v1/admin/groups", Write),
            (
                true,
                "/api/v1/admin/applications/app_x/effective-users",
                ReadOwnAudience,
            ),
            (
                true,
                "/api/v1/admin/applications/app_y/effective-users",
                Read,
            ),
            (true, "/api/v1/admin/applications/app_x/assignments", Read),
            (
                true,
                "/api/v1/admin/applications/app_x/effective-users/x",
                Read,
            ),
            (
                false,
                "/api/v1/admin/applications/app_x/effective-users",
                Write,
            ),
        ] {
            assert_eq!(
                ScopedOperation::of(read, path, "app_x"),
                operation,
                "{path}"
            );
        }
    }
}
