//! Admin-role operations (SPEC §4.5, tiers §3.2): grant, revoke, read and list grants.
//!
//! A grant lives twice, written together in one transaction: its own item (`ROLE#<rol>`, what
//! the API shows and lists) and a summary in the holder's user item (`admin_roles`, what login
//! and the per-request session check read). The admin-email marker, which routes admin login,
//! is claimed by the first grant a user holds and released with the last.

use serde::{Deserialize, Serialize};
use shared::access::{self, AdminRole, GrantReach, Principal, RoleReach};
use shared::audit::{self, Actor, Attempt, AuditAction, AuditEvent, RequestMeta};
use shared::error::{Error, FieldProblem, Result};
use shared::hierarchy::{Platform, RoleGrant, Session, Tenant, User, UserStatus};
use shared::ids::{PartnerId, RoleId, TenantId, UserId};
use shared::lifecycle::{self, Lifecycle, live};
use shared::lists::{self, ListQuery, MergedQuery, Total};
use shared::pagination::{Page, PageRequest};
use shared::session::{self, Caller};
use shared::state::AppState;
use shared::store::{Entity, Key, Loaded, QuerySpec, keys};
use shared::time::Timestamp;

use crate::store::{self, ADMIN_EMAIL};

pub const GRANT: AuditAction = AuditAction::new("admin_role.grant", "admin_role");
pub const REVOKE: AuditAction = AuditAction::new("admin_role.revoke", "admin_role");
/// Every action this group records: its part of the audit catalogue.
pub const ACTIONS: &[AuditAction] = &[GRANT, REVOKE];

const RESOURCE: &str = "Admin role";
/// The refusal of a grant whose holder's email already holds admin roles in another tenant.
pub const EMAIL_TAKEN: &str = "Email already holds admin roles in another tenant";
/// The refusal of a grant the user already holds (same role, same scope, in force).
pub const ALREADY_HELD: &str = "User already holds this admin role";

/// A grant as stored in its own item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdminRoleGrant {
    pub id: RoleId,
    pub user_id: UserId,
    pub role: AdminRole,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<PartnerId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<TenantId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    pub is_active: bool,
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// The holder's tenant: its partner *now* decides which partner admins see the grant (a
    /// tenant transfer moves its admins' grants with it; nothing stores the holder's partner).
    pub holder_tenant_id: TenantId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_by: Option<String>,
}

impl AdminRoleGrant {
    /// The summary the holder's user item carries.
    pub fn summary(&self) -> RoleGrant {
        RoleGrant {
            id: self.id.clone(),
            role: self.role,
            partner_id: self.partner_id.clone(),
            tenant_id: self.tenant_id.clone(),
            is_active: self.is_active,
            expires_at: self.expires_at,
            created_at: self.created_at,
            created_by: self.created_by.clone(),
        }
    }

    /// The same role at the same scope.
    fn same_as(&self, other: &RoleGrant) -> bool {
        self.role == other.role
            && self.partner_id == other.partner_id
            && self.tenant_id == other.tenant_id
    }
}

impl lists::Merged for AdminRoleGrant {
    fn merge_id(&self) -> &str {
        self.id.as_str()
    }

    fn key_for(id: &str) -> Option<Key> {
        RoleId::parse(id).ok().map(|id| keys::admin_role(&id))
    }
}

impl Entity for AdminRoleGrant {
    const NAME: &'static str = "ADMIN_ROLE";

    fn key(&self) -> Key {
        keys::admin_role(&self.id)
    }
}

pub struct NewGrant {
    pub user_id: UserId,
    pub role: AdminRole,
    pub partner_id: Option<PartnerId>,
    pub tenant_id: Option<TenantId>,
    pub expires_at: Option<Timestamp>,
}

#[derive(Default, Clone)]
pub struct RoleFilter {
    pub role: Option<AdminRole>,
    pub user_id: Option<UserId>,
    pub is_active: Option<bool>,
}

/// A 422 on one body field, found by a rule that needs stored data.
fn body_problem(field: &str, msg: &str) -> Error {
    Error::Validation(vec![FieldProblem::new(
        vec![serde_json::json!("body"), serde_json::json!(field)],
        "value_error",
        msg,
    )])
}

/// Tenant admins grant and revoke nothing: refused (and recorded) before the body is read.
pub async fn may_write(
    state: &AppState,
    caller: &Caller,
    action: AuditAction,
    resource_id: Option<String>,
    meta: &RequestMeta,
) -> Result<()> {
    let attempt = Attempt {
        action,
        resource_id,
    };
    session::require_tier(
        state,
        caller,
        access::admin_roles::may_write_at_all,
        attempt,
        meta,
    )
    .await
}

/// Where the holder lives: its tenant and that tenant's partner.
struct Holder {
    tenant: TenantId,
    partner: PartnerId,
}

/// Grant Admin Role, as the calling admin: the session check and the tier rule, then the same
/// core as [`grant_as`].
pub async fn grant(
    state: &AppState,
    caller: &Caller,
    new: &NewGrant,
    meta: &RequestMeta,
) -> Result<AdminRoleGrant> {
    lifecycle::retry_stale("user", || grant_once(state, caller, new, meta)).await
}

/// Grants a role as a system actor (the CLI's `admin create` and bootstrap), through the same
/// core as [`grant`]: where the holder must live, the admin-email marker, the holder's summary
/// and the audit event, in one transaction. The caller has already been allowed to; one read
/// (user, platform pin, the grant's tenant and partner) precedes the write.
pub async fn grant_as(
    state: &AppState,
    actor: Actor,
    new: &NewGrant,
    meta: &RequestMeta,
) -> Result<AdminRoleGrant> {
    let actor = &actor;
    lifecycle::retry_stale("user", || async move {
        let loaded = state.store().load(&grant_keys(new)).await?;
        let tenant: Option<Tenant> = match &new.tenant_id {
            Some(t) => loaded.get(&keys::tenant(t))?,
            None => None,
        };
        grant_in(state, Grantor::System(actor), &loaded, tenant, new, meta).await
    })
    .await
}

/// Who grants: an admin (its reach decides what a refusal may reveal about the user) or a
/// system actor, which reaches everything.
enum Grantor<'a> {
    Admin(&'a Principal),
    System(&'a Actor),
}

impl Grantor<'_> {
    fn actor(&self) -> Actor {
        match self {
            Self::Admin(p) => Actor::admin(p),
            Self::System(a) => (*a).clone(),
        }
    }

    /// What the grant and revoke items record as `created_by` / `revoked_by`.
    fn name(&self) -> String {
        match self {
            Self::Admin(p) => p.actor_id(),
            Self::System(a) => a.id.clone().unwrap_or_default(),
        }
    }

    fn principal(&self) -> Option<&Principal> {
        match self {
            Self::Admin(p) => Some(p),
            Self::System(_) => None,
        }
    }
}

/// What a grant reads before it writes: the user, the platform pin, the named tenant and
/// partner.
fn grant_keys(new: &NewGrant) -> Vec<Key> {
    let mut wanted = vec![keys::user(&new.user_id), keys::platform()];
    if let Some(t) = &new.tenant_id {
        wanted.push(keys::tenant(t));
    }
    if let Some(p) = &new.partner_id {
        wanted.push(keys::partner(p));
    }
    wanted
}

async fn grant_once(
    state: &AppState,
    caller: &Caller,
    new: &NewGrant,
    meta: &RequestMeta,
) -> Result<AdminRoleGrant> {
    let (principal, loaded) = session::check(state, caller, &grant_keys(new)).await?;
    // The tier rule first (forbidden before not found): a partner admin naming a tenant that
    // is not its partner's — or none at all — is refused whether that tenant exists or not.
    let found: Option<Tenant> = match &new.tenant_id {
        Some(t) => loaded.get(&keys::tenant(t))?,
        None => None,
    };
    let tenant_partner = found.as_ref().map(|t| &t.partner_id);
    let attempt = Attempt {
        action: GRANT,
        resource_id: None,
    };
    let verdict = access::admin_roles::write(&principal, &new.user_id, new.role, tenant_partner)
        .and_then(|()| holder_within_reach(&principal, &loaded, found.as_ref(), &new.user_id));
    audit::check_write(state, &principal, verdict, attempt, meta).await?;
    grant_in(state, Grantor::Admin(&principal), &loaded, found, new, meta).await
}

/// Who outranks whom (SPEC §5): a grant or revoke touches a user only if every grant the user
/// holds lies within the caller's reach — partner B's admin may not re-grant (nor strip) a user
/// of its tenants who is partner A's admin. `tenant` is a tenant read with the request; when it
/// is the user's own, its partner now places the user's partner grants (a partner admin only
/// ever names its own tenants here).
fn holder_within_reach(
    principal: &Principal,
    loaded: &Loaded,
    tenant: Option<&Tenant>,
    user_id: &UserId,
) -> Result<()> {
    let Some(user) = loaded.get::<User>(&keys::user(user_id))? else {
        return Ok(());
    };
    let home_partner = tenant
        .filter(|t| t.id == user.tenant_id)
        .map(|t| &t.partner_id);
    let holder = GrantReach::of(
        &user.admin_roles,
        &user.tenant_id,
        home_partner,
        Timestamp::now(),
    );
    if access::manages(principal, &holder) {
        Ok(())
    } else {
        Err(Error::AccessDenied)
    }
}

/// The core of a grant, once the grantor may grant this role: the named tenant and partner
/// live, the holder where the role requires, active, not holding this role already; then the
/// transaction.
async fn grant_in(
    state: &AppState,
    grantor: Grantor<'_>,
    loaded: &Loaded,
    found: Option<Tenant>,
    new: &NewGrant,
    meta: &RequestMeta,
) -> Result<AdminRoleGrant> {
    let tenant = match &new.tenant_id {
        Some(_) => Some(live(found, "Tenant")?),
        None => None,
    };
    if let Some(p) = &new.partner_id {
        live(
            loaded.get::<shared::hierarchy::Partner>(&keys::partner(p))?,
            "Partner",
        )?;
    }
    let user: User = loaded
        .get(&keys::user(&new.user_id))?
        .ok_or(Error::NotFound("User"))?;
    let pin: Option<Platform> = loaded.get(&keys::platform())?;
    let holder = holder_of(
        state,
        grantor.principal(),
        &user,
        new,
        tenant.as_ref(),
        pin.as_ref(),
    )
    .await?;
    if user.status != UserStatus::Active {
        return Err(Error::conflict("User is not active"));
    }
    let now = Timestamp::now();
    let grant = AdminRoleGrant {
        id: RoleId::generate(),
        user_id: user.id.clone(),
        role: new.role,
        partner_id: new.partner_id.clone(),
        tenant_id: new.tenant_id.clone(),
        expires_at: new.expires_at,
        is_active: true,
        created_at: now,
        created_by: Some(grantor.name()),
        holder_tenant_id: holder.tenant,
        revoked_at: None,
        revoked_by: None,
    };
    if user
        .admin_roles
        .iter()
        .any(|g| g.is_in_force(now) && grant.same_as(g))
    {
        return Err(Error::conflict(ALREADY_HELD));
    }
    let event = AuditEvent::new(grantor.actor(), GRANT, Some(grant.id.to_string()), meta)
        .in_tenant(&holder.partner, &grant.holder_tenant_id)
        .with_changes(&serde_json::json!({}), &audit::snapshot(&grant));
    // The holder's live sessions take the new grant's reach with it (one Query; grants are rare).
    let sessions = Session::active_of_user(state.store(), &user.id).await?;
    match store::grant(
        state.store(),
        &grant,
        &user,
        &holder.partner,
        &sessions,
        &event,
    )
    .await
    {
        Ok(()) => Ok(grant),
        Err(err) if err.refused_by() == Some(ADMIN_EMAIL) => Err(Error::conflict(EMAIL_TAKEN)),
        // A session ended and was purged between the read and the write: read again.
        Err(err) if err.refused_by() == Some(store::RERANKED) => Err(Error::Stale),
        Err(err) => Err(err.into()),
    }
}

/// Where the user lives, checked against the grant: a TENANT_ADMIN in the grant's tenant; a
/// PARTNER_ADMIN in a tenant of that partner or in the platform tenant; a SUPER_ADMIN in the
/// platform tenant. A partner admin naming a user outside its partner is refused (403), not
/// told where the user lives.
async fn holder_of(
    state: &AppState,
    principal: Option<&Principal>,
    user: &User,
    new: &NewGrant,
    tenant: Option<&Tenant>,
    pin: Option<&Platform>,
) -> Result<Holder> {
    let in_platform = pin.filter(|p| p.tenant_id == user.tenant_id);
    match new.role {
        AdminRole::TenantAdmin => {
            let tenant = tenant.ok_or_else(|| body_problem("tenant_id", "Field required"))?;
            if user.tenant_id == tenant.id {
                return Ok(Holder {
                    tenant: tenant.id.clone(),
                    partner: tenant.partner_id.clone(),
                });
            }
            if let Some(principal) = principal.filter(|p| !p.is_super()) {
                // One more read, on this refusal path only: is the user within reach at all?
                let home = user_tenant(state, &user.tenant_id).await?;
                if home.is_none_or(|t| access::admin_roles::read(principal, &t.partner_id).is_err())
                {
                    return Err(Error::AccessDenied);
                }
            }
            Err(body_problem(
                "tenant_id",
                "A TENANT_ADMIN grant must name the user's own tenant",
            ))
        }
        AdminRole::SuperAdmin => match in_platform {
            Some(p) => Ok(Holder {
                tenant: p.tenant_id.clone(),
                partner: p.partner_id.clone(),
            }),
            None => Err(body_problem(
                "user_id",
                "A SUPER_ADMIN must be a user of the platform tenant",
            )),
        },
        AdminRole::PartnerAdmin => {
            let partner = new
                .partner_id
                .clone()
                .ok_or_else(|| body_problem("partner_id", "Field required"))?;
            if let Some(p) = in_platform {
                return Ok(Holder {
                    tenant: p.tenant_id.clone(),
                    partner: p.partner_id.clone(),
                });
            }
            // The user's tenant was not known before the user was read: one more read.
            match user_tenant(state, &user.tenant_id).await? {
                Some(t) if t.partner_id == partner => Ok(Holder {
                    tenant: t.id,
                    partner: t.partner_id,
                }),
                _ => Err(body_problem(
                    "partner_id",
                    "A PARTNER_ADMIN must be a user of one of this partner's tenants or of the platform tenant",
                )),
            }
        }
    }
}

/// The user's tenant if it is live (one read, on the paths that need the user's partner).
async fn user_tenant(state: &AppState, id: &TenantId) -> Result<Option<Tenant>> {
    let loaded = state.store().load(&[keys::tenant(id)]).await?;
    Ok(loaded
        .get::<Tenant>(&keys::tenant(id))?
        .filter(|t| !t.is_deleted()))
}

/// Get Admin Role: any grant within reach, revoked ones included (`is_active: false`).
pub async fn get(state: &AppState, caller: &Caller, id: &RoleId) -> Result<AdminRoleGrant> {
    let (principal, loaded) = session::check(state, caller, &[keys::admin_role(id)]).await?;
    access::admin_roles::reach(&principal.tier)?;
    let grant: AdminRoleGrant = loaded
        .get(&keys::admin_role(id))?
        .ok_or(Error::NotFound(RESOURCE))?;
    if !principal.is_super() {
        // One more read: the holder's tenant says which partner the grant belongs to now.
        let home = user_tenant(state, &grant.holder_tenant_id).await?;
        access::admin_roles::read(&principal, &home.ok_or(Error::AccessDenied)?.partner_id)?;
    }
    Ok(grant)
}

/// Revoke Admin Role: the grant stays, inactive (so reading it afterwards shows what was
/// revoked, when and by whom); the summary leaves the user item, and with the user's last
/// grant the admin-email marker is released. Sessions issued under the grant are refused on
/// their next request.
pub async fn revoke(
    state: &AppState,
    caller: &Caller,
    id: &RoleId,
    meta: &RequestMeta,
) -> Result<()> {
    lifecycle::retry_stale("user", || async {
        let (principal, loaded) = session::check(state, caller, &[keys::admin_role(id)]).await?;
        let attempt = || Attempt {
            action: REVOKE,
            resource_id: Some(id.to_string()),
        };
        audit::check_write(
            state,
            &principal,
            access::admin_roles::reach(&principal.tier).map(drop),
            attempt(),
            meta,
        )
        .await?;
        let before: AdminRoleGrant = loaded
            .get(&keys::admin_role(id))?
            .ok_or(Error::NotFound(RESOURCE))?;
        // One batch: the holder's item (it carries the summary; its version guards the
        // rewrite) and the holder's tenant (its partner now decides the reach and files the
        // event).
        let holder_keys = [
            keys::user(&before.user_id),
            keys::tenant(&before.holder_tenant_id),
        ];
        let holder = state.store().load(&holder_keys).await?;
        let user: Option<User> = holder.get(&holder_keys[0])?;
        let home: Option<Tenant> = holder.get(&holder_keys[1])?;
        let partner = home.map(|t| t.partner_id);
        // What the caller may not see it may not revoke; what it sees it may revoke only
        // within its tier (a partner admin: TENANT_ADMIN grants of its partner's tenants).
        let holder = user.as_ref().map(|u| {
            GrantReach::of(
                &u.admin_roles,
                &u.tenant_id,
                partner
                    .as_ref()
                    .filter(|_| u.tenant_id == before.holder_tenant_id),
                Timestamp::now(),
            )
        });
        let verdict = match &partner {
            Some(p) => access::admin_roles::read(&principal, p)
                .and_then(|()| {
                    access::admin_roles::write(&principal, &before.user_id, before.role, Some(p))
                })
                .and_then(|()| match &holder {
                    Some(h) if !access::manages(&principal, h) => Err(Error::AccessDenied),
                    _ => Ok(()),
                }),
            None if principal.is_super() => Ok(()),
            None => Err(Error::AccessDenied),
        };
        audit::check_write(state, &principal, verdict, attempt(), meta).await?;
        if !before.is_active {
            return Err(Error::conflict("Admin role is already revoked"));
        }
        let now = Timestamp::now();
        let after = AdminRoleGrant {
            is_active: false,
            revoked_at: Some(now),
            revoked_by: Some(principal.actor_id()),
            ..before.clone()
        };
        let mut event =
            AuditEvent::new(Actor::admin(&principal), REVOKE, Some(id.to_string()), meta)
                .with_changes(&audit::snapshot(&before), &audit::snapshot(&after));
        if let Some(p) = &partner {
            event = event.in_tenant(p, &before.holder_tenant_id);
        }
        Ok(store::revoke(state.store(), &after, user.as_ref(), &event).await?)
    })
    .await
}

/// Lists grants within reach, newest first. A `user_id` filter naming a user outside the
/// caller's reach → 403 (one more read, to find the user's partner).
pub async fn list(
    state: &AppState,
    caller: &Caller,
    filter: &RoleFilter,
    page: &PageRequest,
) -> Result<Page<AdminRoleGrant>> {
    let extra: Vec<Key> = filter.user_id.iter().map(keys::user).collect();
    let (principal, loaded) = session::check(state, caller, &extra).await?;
    let reach = access::admin_roles::reach(&principal.tier)?;
    if let Some(user_id) = &filter.user_id
        && let Some(user) = loaded.get::<User>(&keys::user(user_id))?
    {
        user_within_reach(state, &principal, &user).await?;
    }
    list_within(state, &reach, filter, page).await
}

/// Get User Admin Roles: every grant of one user, revoked ones included, newest first.
pub async fn of_user(
    state: &AppState,
    caller: &Caller,
    user_id: &UserId,
    page: &PageRequest,
) -> Result<Page<AdminRoleGrant>> {
    let (principal, loaded) = session::check(state, caller, &[keys::user(user_id)]).await?;
    let reach = access::admin_roles::reach(&principal.tier)?;
    let user: User = loaded
        .get(&keys::user(user_id))?
        .ok_or(Error::NotFound("User"))?;
    user_within_reach(state, &principal, &user).await?;
    let filter = RoleFilter {
        user_id: Some(user_id.clone()),
        ..RoleFilter::default()
    };
    list_within(state, &reach, &filter, page).await
}

/// A partner admin reaches the users of its partner's tenants (one read of the user's tenant).
async fn user_within_reach(state: &AppState, principal: &Principal, user: &User) -> Result<()> {
    if principal.is_super() {
        return Ok(());
    }
    match user_tenant(state, &user.tenant_id).await? {
        Some(t) => access::admin_roles::read(principal, &t.partner_id),
        None => Err(Error::AccessDenied),
    }
}

async fn list_within(
    state: &AppState,
    reach: &RoleReach,
    filter: &RoleFilter,
    page: &PageRequest,
) -> Result<Page<AdminRoleGrant>> {
    let binding = format!(
        "admin_roles|reach={reach:?}|role={}|user={}|active={}",
        filter.role.map_or("", |r| r.as_str()),
        filter.user_id.as_ref().map_or("", |u| u.as_str()),
        filter
            .is_active
            .map_or("", |a| if a { "true" } else { "false" }),
    );
    let mut equals = Vec::new();
    if let Some(role) = filter.role {
        equals.push(("role", role.as_str().to_owned()));
    }
    if let Some(user) = &filter.user_id {
        equals.push(("user_id", user.to_string()));
    }
    if let Some(active) = filter.is_active {
        equals.push((store::STATE, store::state_of(active).to_owned()));
    }
    let spec = |index: &'static str, partition: (&'static str, String)| QuerySpec {
        index: Some(index),
        partition,
        equals: equals.clone(),
        contains: None,
        compare: Vec::new(),
    };
    // No counter keeps grant totals (grants are few): every first page is counted, and the
    // count is carried in its cursors.
    match reach {
        RoleReach::All => {
            let query = ListQuery {
                binding,
                spec: spec(keys::GSI2, (keys::GSI2PK, keys::ALL_ADMIN_ROLES.to_owned())),
                known_total: None,
            };
            lists::page(state, &query, page).await
        }
        // A partner's grants are those held in its tenants as they are now: each live
        // tenant's partition, merged.
        RoleReach::Partner(p) => {
            let tenants = lists::live_tenants_of(state, p).await?;
            let query = MergedQuery {
                binding,
                specs: tenants
                    .iter()
                    .map(|t| {
                        spec(
                            keys::GSI1,
                            (keys::GSI1PK, keys::admin_roles_of_tenant(&t.id)),
                        )
                    })
                    .collect(),
                total: Total::Count,
            };
            lists::merged_page(state, &query, page).await
        }
    }
}
