//! User operations (SPEC §4.4): every admin tier manages the users within its reach (super
//! admins all, partner admins those of their partner's tenants, tenant admins their own
//! tenant's). Each operation is the session check (with the keys it needs in the same batch),
//! the tier rule, then one transaction.

use serde_json::{Map, Value, json};
use shared::access::{self, GrantReach, Principal, TenantReach, Tier};
use shared::audit::{self, Actor, Attempt, AuditAction, AuditEvent, RequestMeta};
use shared::error::{Error, FieldProblem, Result};
use shared::hierarchy::{IdentitySource, Partner, Session, Tenant, User, UserStatus};
use shared::ids::{PartnerId, TenantId, UserId};
use shared::lifecycle::{self, Lifecycle, live};
use shared::lists::{self, MergedQuery, Total};
use shared::membership::{self, Attachment, DETACHED_GROUP};
use shared::pagination::{Page, PageRequest, Pagination};
use shared::password::Policy;
use shared::session::{self, Caller};
use shared::state::AppState;
use shared::store::counters::Counter;
use shared::store::{Key, Loaded, QuerySpec, keys};
use shared::time::Timestamp;
use shared::validation::{Patch, Problem};
use shared::values::Email;

use crate::store::{self, ADMIN_EMAIL, EMAIL, Limit, MANAGER, PARTNER, TENANT};

pub const CREATE: AuditAction = AuditAction::new("user.create", "user");
pub const UPDATE: AuditAction = AuditAction::new("user.update", "user");
pub const DELETE: AuditAction = AuditAction::new("user.delete", "user");
pub const RESTORE: AuditAction = AuditAction::new("user.restore", "user");
pub const RESET_PASSWORD: AuditAction = AuditAction::new("user.reset_password", "user");
/// Every action this group records: its part of the audit catalogue.
pub const ACTIONS: &[AuditAction] = &[CREATE, UPDATE, DELETE, RESTORE, RESET_PASSWORD];

/// `custom_attributes` is at most this large once serialised.
pub const MAX_CUSTOM_ATTRIBUTES_BYTES: usize = 16 * 1024;

pub(crate) const RESOURCE: &str = "User";
const EMAIL_TAKEN: &str = "Email already in use in this tenant";
const ADMIN_EMAIL_TAKEN: &str = "Email already in use by another admin";
const LIMIT_REACHED: &str = "User limit reached for tenant";

pub fn parse_custom_attributes(value: &Value) -> std::result::Result<Map<String, Value>, Problem> {
    shared::values::parse_json_object(value, MAX_CUSTOM_ATTRIBUTES_BYTES)
}

/// A create as the handler parsed it. `password` is the plain text until it is hashed.
pub struct NewUser {
    pub tenant_id: TenantId,
    pub email: Email,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub display_name: Option<String>,
    pub title: Option<String>,
    pub department: Option<String>,
    pub manager_id: Option<UserId>,
    pub phone: Option<String>,
    pub status: UserStatus,
    pub identity_source: IdentitySource,
    pub email_verified: bool,
    pub mfa_enabled: bool,
    pub custom_attributes: Map<String, Value>,
    pub password: Option<String>,
}

impl NewUser {
    /// An active, local user with only its email and password: what Create User makes of the
    /// smallest body (the CLI's `admin create` creates its admins so).
    pub fn local(tenant_id: TenantId, email: Email, password: String) -> Self {
        Self {
            tenant_id,
            email,
            first_name: None,
            last_name: None,
            display_name: None,
            title: None,
            department: None,
            manager_id: None,
            phone: None,
            status: UserStatus::Active,
            identity_source: IdentitySource::Local,
            email_verified: false,
            mfa_enabled: false,
            custom_attributes: Map::new(),
            password: Some(password),
        }
    }
}

#[derive(Default)]
pub struct UserPatch {
    pub email: Option<Email>,
    pub first_name: Patch<String>,
    pub last_name: Patch<String>,
    pub display_name: Patch<String>,
    pub title: Patch<String>,
    pub department: Patch<String>,
    pub manager_id: Patch<UserId>,
    pub phone: Patch<String>,
    pub status: Option<UserStatus>,
    pub identity_source: Option<IdentitySource>,
    pub email_verified: Option<bool>,
    pub mfa_enabled: Option<bool>,
    pub custom_attributes: Option<Map<String, Value>>,
}

fn patch_text(field: &mut Option<String>, patch: &Patch<String>) {
    match patch {
        Patch::Keep => {}
        Patch::Clear => *field = None,
        Patch::Set(v) => *field = Some(v.clone()),
    }
}

impl UserPatch {
    fn apply(&self, user: &User) -> User {
        let mut next = user.clone();
        if let Some(email) = &self.email {
            next.email = email.as_str().to_owned();
        }
        patch_text(&mut next.first_name, &self.first_name);
        patch_text(&mut next.last_name, &self.last_name);
        patch_text(&mut next.display_name, &self.display_name);
        patch_text(&mut next.title, &self.title);
        patch_text(&mut next.department, &self.department);
        patch_text(&mut next.phone, &self.phone);
        match &self.manager_id {
            Patch::Keep => {}
            Patch::Clear => next.manager_id = None,
            Patch::Set(m) => next.manager_id = Some(m.clone()),
        }
        if let Some(status) = self.status {
            next.status = status;
        }
        if let Some(source) = self.identity_source {
            next.identity_source = source;
        }
        if let Some(v) = self.email_verified {
            next.email_verified = v;
        }
        if let Some(v) = self.mfa_enabled {
            next.mfa_enabled = v;
        }
        if let Some(attributes) = &self.custom_attributes {
            next.custom_attributes = attributes.clone();
        }
        next
    }
}

#[derive(Default, Clone)]
pub struct UserFilter {
    pub search: Option<String>,
    pub status: Option<UserStatus>,
    pub tenant_id: Option<TenantId>,
    pub partner_id: Option<PartnerId>,
}

/// What Reset User Password sets.
pub enum NewPassword {
    Given(String),
    Generated,
}

/// The outcome of a reset: the temporary password when one was generated (shown once).
pub struct Reset {
    pub user: User,
    pub temporary_password: Option<String>,
    pub revoked_sessions: usize,
}

fn body_problem(field: &str, problem: Problem) -> Error {
    let mut loc = vec![json!("body"), json!(field)];
    loc.extend(problem.below);
    Error::Validation(vec![FieldProblem::new(loc, problem.kind, problem.msg)])
}

fn not_a_manager() -> Error {
    body_problem(
        "manager_id",
        Problem::value_error("not a user of the same tenant"),
    )
}

/// The tenant's password policy, or 422 naming the rule the password breaks.
fn check_password(tenant: &Tenant, field: &str, password: &str) -> Result<()> {
    Policy::of_settings(&tenant.settings)
        .check(password)
        .map_err(|p| body_problem(field, p))
}

async fn hash(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || shared::password::hash(&password))
        .await
        .map_err(Error::internal)?
}

/// A temporary password the tenant's policy accepts: at least 20 characters, one of each
/// class, the rest drawn from all of them.
fn generate_password(policy: &Policy) -> String {
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
    const DIGIT: &[u8] = b"23456789";
    const SYMBOL: &[u8] = b"!#%+-=?@^_~";
    let pick = |set: &[u8]| set[shared::secrets::random_below(set.len() as u64) as usize];
    let all: Vec<u8> = [UPPER, LOWER, DIGIT, SYMBOL].concat();
    let mut chars: Vec<u8> = vec![pick(UPPER), pick(LOWER), pick(DIGIT), pick(SYMBOL)];
    while chars.len() < policy.min_length.max(20) {
        chars.push(pick(&all));
    }
    // Fisher–Yates, so the guaranteed classes are not always in front.
    for i in (1..chars.len()).rev() {
        let j = shared::secrets::random_below(i as u64 + 1) as usize;
        chars.swap(i, j);
    }
    String::from_utf8(chars).unwrap_or_default()
}

/// The tenant a user belongs to: from the session check's batch when it was there (a tenant
/// admin's own tenant), else one more read.
async fn tenant_of(state: &AppState, loaded: &Loaded, id: &TenantId) -> Result<Tenant> {
    let key = keys::tenant(id);
    let found: Option<Tenant> = if loaded.has(&key) {
        loaded.get(&key)?
    } else {
        state
            .store()
            .load(std::slice::from_ref(&key))
            .await?
            .get(&key)?
    };
    found.ok_or(Error::NotFound("Tenant"))
}

/// A partner from the batch when the caller's claims let it join, else one more read.
async fn partner_of(state: &AppState, loaded: &Loaded, id: &PartnerId) -> Result<Partner> {
    let key = keys::partner(id);
    let found: Option<Partner> = if loaded.has(&key) {
        loaded.get(&key)?
    } else {
        state
            .store()
            .load(std::slice::from_ref(&key))
            .await?
            .get(&key)?
    };
    live(found, "Partner")
}

/// The partner the caller's claims make likely for the tenant it writes in, to read it in the
/// session check's batch (a hint only: the tenant's own `partner_id` decides).
fn partner_hint(caller: &Caller) -> Option<PartnerId> {
    match caller.claimed_tier().ok()? {
        Tier::Super => None,
        Tier::Partner(p) => Some(p),
        Tier::Tenant { partner, .. } => Some(partner),
    }
}

/// Whether the principal reaches a user of `tenant` (of `partner`).
fn reaches(principal: &Principal, partner: &PartnerId, tenant: &TenantId) -> Result<()> {
    access::tenants::read(principal, partner, tenant)
}

/// The user's tenant when the caller's tier needs it to decide (a partner admin: the
/// tenant's current partner decides, as a transfer may have moved it), and the verdict.
async fn reach_user(
    state: &AppState,
    principal: &Principal,
    loaded: &Loaded,
    user: &User,
) -> Result<Option<Tenant>> {
    match &principal.tier {
        Tier::Super => Ok(None),
        Tier::Tenant { tenant, .. } if *tenant == user.tenant_id => Ok(None),
        Tier::Tenant { .. } => Err(Error::AccessDenied),
        Tier::Partner(own) => {
            let tenant = tenant_of(state, loaded, &user.tenant_id).await?;
            if tenant.partner_id == *own {
                Ok(Some(tenant))
            } else {
                Err(Error::AccessDenied)
            }
        }
    }
}

/// A write to an existing user: within reach, and every admin grant the user holds lies within
/// the caller's own reach (SPEC §5, "who outranks whom": a tenant admin cannot reset a super
/// admin's password, nor partner B's admin the password of partner A's admin living in a tenant
/// B received by transfer). A refusal is recorded.
async fn may_write(
    state: &AppState,
    principal: &Principal,
    loaded: &Loaded,
    user: &User,
    action: AuditAction,
    meta: &RequestMeta,
) -> Result<Option<Tenant>> {
    let verdict = match reach_user(state, principal, loaded, user).await {
        Ok(tenant) => {
            // A partner admin's reach read the tenant: its partner now says where the user's
            // partner grants point; no other tier needs it.
            let home_partner = tenant.as_ref().map(|t| &t.partner_id);
            let holder = GrantReach::of(
                &user.admin_roles,
                &user.tenant_id,
                home_partner,
                Timestamp::now(),
            );
            if access::manages(principal, &holder) {
                Ok(tenant)
            } else {
                Err(Error::AccessDenied)
            }
        }
        Err(err) => Err(err),
    };
    let attempt = Attempt {
        action,
        resource_id: Some(user.id.to_string()),
    };
    match verdict {
        Ok(tenant) => Ok(tenant),
        Err(refusal) => {
            audit::check_write(state, principal, Err(refusal), attempt, meta).await?;
            Err(Error::AccessDenied)
        }
    }
}

/// The manager named by a write: a live user of the same tenant, not the user itself.
fn check_manager(loaded: &Loaded, user: &User) -> Result<()> {
    let Some(manager) = &user.manager_id else {
        return Ok(());
    };
    if *manager == user.id {
        return Err(not_a_manager());
    }
    let found: Option<User> = loaded.get(&keys::user(manager))?;
    match found {
        Some(m) if !m.is_deleted() && m.tenant_id == user.tenant_id => Ok(()),
        _ => Err(not_a_manager()),
    }
}

/// The partner's `max_users_per_tenant`, and 409 when the tenant is at it already.
fn limit_of(partner: &Partner, tenant: &Tenant) -> Result<Limit> {
    let max = partner.limits.max_users_per_tenant;
    if max.is_some_and(|m| tenant.user_count >= u64::from(m)) {
        return Err(Error::conflict(LIMIT_REACHED));
    }
    Ok(Limit(max))
}

/// Why the tenant's counter refused a user inside the transaction (it changed since it was
/// read): gone, or full — or moved, or its partner's limit changed (then the write is retried).
async fn tenant_refused(state: &AppState, tenant: &TenantId, read_partner: &PartnerId) -> Error {
    let key = keys::tenant(tenant);
    match state.store().load(std::slice::from_ref(&key)).await {
        Ok(loaded) => match loaded.get::<Tenant>(&key) {
            Ok(Some(t)) if t.is_deleted() => Error::NotFound("Tenant"),
            Ok(Some(t)) if t.partner_id != *read_partner => Error::Stale,
            Ok(Some(_)) => Error::conflict(LIMIT_REACHED),
            Ok(None) => Error::NotFound("Tenant"),
            Err(err) => err.into(),
        },
        Err(err) => err.into(),
    }
}

/// Create User: in a tenant within the caller's reach, under its partner's
/// `max_users_per_tenant`, with a unique (per tenant, case-insensitive) email. The session
/// check and the tier rule, then the same core as [`create_as`].
pub async fn create(
    state: &AppState,
    caller: &Caller,
    new: NewUser,
    meta: &RequestMeta,
) -> Result<User> {
    // Hashed once the caller may create here and the policy passed, and only once however
    // often the write is retried: argon2 is the costly part of a create.
    let hashed = tokio::sync::OnceCell::new();
    let (new, hashed) = (&new, &hashed);
    lifecycle::retry_stale("user", || async move {
        let mut wanted = create_keys(new);
        if let Some(p) = partner_hint(caller) {
            wanted.push(keys::partner(&p));
        }
        let (principal, loaded) = session::check(state, caller, &wanted).await?;
        let tenant: Tenant = live(loaded.get(&keys::tenant(&new.tenant_id))?, "Tenant")?;
        let attempt = Attempt {
            action: CREATE,
            resource_id: None,
        };
        audit::check_write(
            state,
            &principal,
            reaches(&principal, &tenant.partner_id, &tenant.id),
            attempt,
            meta,
        )
        .await?;
        create_in(
            state,
            Actor::admin(&principal),
            tenant,
            &loaded,
            new,
            hashed,
            meta,
        )
        .await
    })
    .await
}

/// Creates a user as a system actor (the CLI's `admin create` and bootstrap), through the same
/// core as [`create`]: the tenant's password policy, the partner's `max_users_per_tenant`, the
/// per-tenant email claim, the counters and the audit event, in one transaction. The caller
/// has already been allowed to; one read (tenant, manager) precedes the write.
pub async fn create_as(
    state: &AppState,
    actor: Actor,
    new: &NewUser,
    meta: &RequestMeta,
) -> Result<User> {
    let hashed = tokio::sync::OnceCell::new();
    let (actor, hashed) = (&actor, &hashed);
    lifecycle::retry_stale("user", || async move {
        let loaded = state.store().load(&create_keys(new)).await?;
        let tenant: Tenant = live(loaded.get(&keys::tenant(&new.tenant_id))?, "Tenant")?;
        create_in(state, actor.clone(), tenant, &loaded, new, hashed, meta).await
    })
    .await
}

/// What a create reads before it writes: the tenant and the manager named.
fn create_keys(new: &NewUser) -> Vec<Key> {
    let mut wanted = vec![keys::tenant(&new.tenant_id)];
    if let Some(m) = &new.manager_id {
        wanted.push(keys::user(m));
    }
    wanted
}

/// The core of a create, once the actor may create in `tenant` (live, as read): password
/// policy, partner limit, manager, hash (once per `hashed`), then the transaction.
async fn create_in(
    state: &AppState,
    actor: Actor,
    tenant: Tenant,
    loaded: &Loaded,
    new: &NewUser,
    hashed: &tokio::sync::OnceCell<String>,
    meta: &RequestMeta,
) -> Result<User> {
    if let Some(p) = &new.password {
        check_password(&tenant, "password", p)?;
    }
    let partner = partner_of(state, loaded, &tenant.partner_id).await?;
    let now = Timestamp::now();
    let mut user = User::new(
        UserId::generate(),
        tenant.id.clone(),
        new.email.as_str().to_owned(),
        now,
    );
    user.first_name = new.first_name.clone();
    user.last_name = new.last_name.clone();
    user.display_name = new.display_name.clone();
    user.title = new.title.clone();
    user.department = new.department.clone();
    user.manager_id = new.manager_id.clone();
    user.phone = new.phone.clone();
    user.status = new.status;
    user.identity_source = new.identity_source;
    user.email_verified = new.email_verified;
    user.mfa_enabled = new.mfa_enabled;
    user.custom_attributes = new.custom_attributes.clone();
    check_manager(loaded, &user)?;
    let limit = limit_of(&partner, &tenant)?;
    user.password_hash = match &new.password {
        Some(p) => Some(hashed.get_or_try_init(|| hash(p.clone())).await?.clone()),
        None => None,
    };
    let event = AuditEvent::new(actor, CREATE, Some(user.id.to_string()), meta)
        .in_tenant(&tenant.partner_id, &tenant.id)
        .with_changes(&json!({}), &audit::snapshot(&user));
    match store::create(state.store(), &user, &tenant.partner_id, limit, &event).await {
        Ok(()) => Ok(user),
        Err(err) => match err.refused_by() {
            Some(EMAIL) => Err(Error::conflict(EMAIL_TAKEN)),
            Some(MANAGER) => Err(not_a_manager()),
            // The partner's limit changed since it was read: read it again.
            Some(PARTNER) => Err(Error::Stale),
            Some(TENANT) => Err(tenant_refused(state, &tenant.id, &tenant.partner_id).await),
            _ => Err(err.into()),
        },
    }
}

pub async fn get(state: &AppState, caller: &Caller, id: &UserId) -> Result<User> {
    let (principal, loaded) = session::check(state, caller, &[keys::user(id)]).await?;
    let user: User = live(loaded.get(&keys::user(id))?, RESOURCE)?;
    reach_user(state, &principal, &loaded, &user).await?;
    Ok(user)
}

/// Partial update. A new email moves the tenant's email claim (and, for an admin, the
/// platform-wide admin-email claim) in the same transaction.
pub async fn update(
    state: &AppState,
    caller: &Caller,
    id: &UserId,
    patch: &UserPatch,
    meta: &RequestMeta,
) -> Result<User> {
    lifecycle::retry_stale("user", || async {
        let mut wanted = vec![keys::user(id)];
        if let Patch::Set(m) = &patch.manager_id {
            wanted.push(keys::user(m));
        }
        let (principal, loaded) = session::check(state, caller, &wanted).await?;
        let before: User = live(loaded.get(&keys::user(id))?, RESOURCE)?;
        let tenant = may_write(state, &principal, &loaded, &before, UPDATE, meta).await?;
        let after = lifecycle::next_version(&before, patch.apply(&before));
        if after.manager_id != before.manager_id {
            check_manager(&loaded, &after)?;
        }
        // The event is filed under the user's partner (and the admin-email claim names it):
        // the tenant says which (free for a tenant admin: its tenant is in the batch).
        let tenant = match tenant {
            Some(t) => t,
            None => tenant_of(state, &loaded, &before.tenant_id).await?,
        };
        let partner = tenant.partner_id;
        let event = AuditEvent::new(Actor::admin(&principal), UPDATE, Some(id.to_string()), meta)
            .in_tenant(&partner, &after.tenant_id)
            .with_changes(&audit::snapshot(&before), &audit::snapshot(&after));
        match store::update(state.store(), &before, &after, &partner, &event).await {
            Ok(()) => Ok(after),
            Err(err) => match err.refused_by() {
                Some(EMAIL) => Err(Error::conflict(EMAIL_TAKEN)),
                Some(ADMIN_EMAIL) => Err(Error::conflict(ADMIN_EMAIL_TAKEN)),
                Some(MANAGER) => Err(not_a_manager()),
                _ => Err(err.into()),
            },
        }
    })
    .await
}

/// Soft-deletes a user: out of lists and counts, its email claim kept for a restore. Its admin
/// grants are revoked and its admin-email marker released, and it leaves its groups, in the
/// same transaction (see `store::delete` for the bound); a restore brings back neither.
pub async fn delete(
    state: &AppState,
    caller: &Caller,
    id: &UserId,
    meta: &RequestMeta,
) -> Result<()> {
    lifecycle::retry_stale("user", || async {
        let (principal, loaded) = session::check(state, caller, &[keys::user(id)]).await?;
        let before: User = live(loaded.get(&keys::user(id))?, RESOURCE)?;
        if principal.user_id() == Some(&before.id) {
            return Err(Error::conflict("You cannot delete yourself"));
        }
        let tenant = may_write(state, &principal, &loaded, &before, DELETE, meta).await?;
        let tenant = match tenant {
            Some(t) => t,
            None => tenant_of(state, &loaded, &before.tenant_id).await?,
        };
        let partner = tenant.partner_id.clone();
        let groups = membership::attachments(state.store(), id).await?;
        let (mut after, purge_at) = lifecycle::deleted(&before);
        after.admin_roles = Vec::new();
        let gone = |user: &User, groups: &[Attachment]| {
            json!({
                "admin_roles": user.admin_roles.iter().map(|g| g.id.to_string()).collect::<Vec<_>>(),
                "groups": groups.iter().map(|g| g.group.to_string()).collect::<Vec<_>>(),
            })
        };
        let event = AuditEvent::new(Actor::admin(&principal), DELETE, Some(id.to_string()), meta)
            .in_tenant(&partner, &before.tenant_id)
            .with_changes(&gone(&before, &groups), &gone(&after, &[]));
        let revoked_by = principal.actor_id();
        let detach = store::Detach {
            revoked_by: &revoked_by,
            groups: &groups,
        };
        let counted_in = store::TenantAsRead::of(&tenant);
        match store::delete(
            state.store(),
            &before,
            &after,
            purge_at,
            &counted_in,
            &detach,
            &event,
        )
        .await
        {
            Ok(()) => Ok(()),
            // A group changed since its membership was read, or the tenant was moved, deleted
            // or restored since it was read: read them again.
            Err(err) if matches!(err.refused_by(), Some(DETACHED_GROUP | TENANT)) => {
                Err(Error::Stale)
            }
            Err(err) => Err(err.into()),
        }
    })
    .await
}

/// Brings a soft-deleted user back within the restore window, if its tenant is live and under
/// its partner's `max_users_per_tenant`.
pub async fn restore(
    state: &AppState,
    caller: &Caller,
    id: &UserId,
    meta: &RequestMeta,
) -> Result<User> {
    lifecycle::retry_stale("user", || async {
        let mut wanted = vec![keys::user(id)];
        if let Some(p) = partner_hint(caller) {
            wanted.push(keys::partner(&p));
        }
        let (principal, loaded) = session::check(state, caller, &wanted).await?;
        let before: User = loaded
            .get(&keys::user(id))?
            .ok_or(Error::NotFound(RESOURCE))?;
        let tenant = may_write(state, &principal, &loaded, &before, RESTORE, meta).await?;
        let after = lifecycle::restored(&before, RESOURCE)?;
        let tenant = match tenant {
            Some(t) => t,
            None => tenant_of(state, &loaded, &before.tenant_id).await?,
        };
        let tenant = live(Some(tenant), "Tenant")?;
        let partner = partner_of(state, &loaded, &tenant.partner_id).await?;
        let limit = limit_of(&partner, &tenant)?;
        let event = AuditEvent::new(
            Actor::admin(&principal),
            RESTORE,
            Some(id.to_string()),
            meta,
        )
        .in_tenant(&tenant.partner_id, &tenant.id);
        match store::restore(
            state.store(),
            &before,
            &after,
            &tenant.partner_id,
            limit,
            &event,
        )
        .await
        {
            Ok(()) => Ok(after),
            Err(err) => match err.refused_by() {
                Some(PARTNER) => Err(Error::Stale),
                Some(TENANT) => Err(tenant_refused(state, &tenant.id, &tenant.partner_id).await),
                _ => Err(err.into()),
            },
        }
    })
    .await
}

/// Sets a new password (given, checked against the tenant's policy, or generated and shown
/// once) and revokes every session of the user.
pub async fn reset_password(
    state: &AppState,
    caller: &Caller,
    id: &UserId,
    new: NewPassword,
    meta: &RequestMeta,
) -> Result<Reset> {
    let (principal, loaded) = session::check(state, caller, &[keys::user(id)]).await?;
    let before: User = live(loaded.get(&keys::user(id))?, RESOURCE)?;
    let tenant = may_write(state, &principal, &loaded, &before, RESET_PASSWORD, meta).await?;
    let mut tenant = match tenant {
        Some(t) => t,
        None => tenant_of(state, &loaded, &before.tenant_id).await?,
    };
    let (password, temporary) = match new {
        NewPassword::Given(p) => {
            check_password(&tenant, "new_password", &p)?;
            (p, false)
        }
        NewPassword::Generated => (
            generate_password(&Policy::of_settings(&tenant.settings)),
            true,
        ),
    };
    let password_hash = hash(password.clone()).await?;
    let mut sessions: Vec<Session> = store::active_sessions(state.store(), id).await?;
    // A concurrent change of the user between the read and the write: read again, keep the
    // hash (the costly part) and the sessions.
    let mut before = before;
    for _ in 0..lifecycle::UPDATE_ATTEMPTS {
        let mut after = before.clone();
        after.password_hash = Some(password_hash.clone());
        let after = lifecycle::next_version(&before, after);
        let event = AuditEvent::new(
            Actor::admin(&principal),
            RESET_PASSWORD,
            Some(id.to_string()),
            meta,
        )
        .in_tenant(&tenant.partner_id, &tenant.id)
        .with_changes(
            &json!({"revoked_sessions": 0}),
            &json!({"revoked_sessions": sessions.len()}),
        );
        let counted_in = store::TenantAsRead::of(&tenant);
        match store::reset_password(
            state.store(),
            &before,
            &after,
            &counted_in,
            &sessions,
            &event,
        )
        .await
        {
            Ok(()) => {
                return Ok(Reset {
                    user: after,
                    temporary_password: temporary.then_some(password),
                    revoked_sessions: sessions.len(),
                });
            }
            // The user changed meanwhile — perhaps it was granted a role beyond the caller's
            // reach: read it again and judge it again before anything is written.
            Err(err) if err.refused_by() == Some(shared::store::Guard::Item) => {
                let reread = state.store().load(&[keys::user(id)]).await?;
                before = live(reread.get(&keys::user(id))?, RESOURCE)?;
                may_write(state, &principal, &reread, &before, RESET_PASSWORD, meta).await?;
            }
            // A session ended (revoked, or deleted by the TTL) since it was listed: list again.
            Err(err) if err.refused_by() == Some(store::SESSION) => {
                sessions = store::active_sessions(state.store(), id).await?;
            }
            // The tenant moved, was deleted or restored since it was read: the sessions' tallies
            // count where it is now — and the caller's reach is judged again there (a move to
            // another partner takes the user out of the old partner's admins' reach).
            Err(err) if err.refused_by() == Some(TENANT) => {
                let key = keys::tenant(&before.tenant_id);
                let reread = state.store().load(std::slice::from_ref(&key)).await?;
                tenant = reread.get(&key)?.ok_or(Error::NotFound("Tenant"))?;
                may_write(state, &principal, &reread, &before, RESET_PASSWORD, meta).await?;
            }
            Err(err) => return Err(err.into()),
        }
    }
    Err(Error::Stale)
}

// ---- lists -----------------------------------------------------------------------------------

/// Which users a list shows.
#[derive(Debug)]
enum Reach {
    /// Every user: the `USER_SHARDS` platform-wide partitions, merged.
    All,
    /// The users of one partner's live tenants: each tenant's partition, merged.
    Partner(PartnerId),
    /// One tenant's users: its partition.
    Tenant(Box<Tenant>),
    /// A filter combination that matches nothing (a tenant of another partner than the one
    /// filtered on).
    Nothing,
}

/// List Users within the caller's reach, newest first.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    filter: &UserFilter,
    page: &PageRequest,
) -> Result<Page<User>> {
    let filtered = filter.search.is_some() || filter.status.is_some();
    // The claims are a hint for batching what the list will need with the session check.
    let mut extra: Vec<Key> = Vec::new();
    if let Some(t) = &filter.tenant_id {
        extra.push(keys::tenant(t));
    }
    match caller.claimed_tier()? {
        Tier::Super if filter.tenant_id.is_none() && filter.partner_id.is_none() && !filtered => {
            extra.extend(Counter::Users.shard_keys());
        }
        Tier::Tenant { tenant, .. } => extra.push(keys::tenant(&tenant)),
        _ => {}
    }
    let (principal, loaded) = session::check(state, caller, &extra).await?;
    // Decided on the checked principal: a foreign partner filter is a 403.
    let tenant_reach = access::tenants::list_reach(&principal.tier, filter.partner_id.as_ref())?;
    let reach = match &filter.tenant_id {
        Some(t) => {
            let tenant: Tenant = live(loaded.get(&keys::tenant(t))?, "Tenant")?;
            reaches(&principal, &tenant.partner_id, &tenant.id)?;
            if filter
                .partner_id
                .as_ref()
                .is_some_and(|p| *p != tenant.partner_id)
            {
                Reach::Nothing
            } else {
                Reach::Tenant(Box::new(tenant))
            }
        }
        None => match tenant_reach {
            TenantReach::All => Reach::All,
            TenantReach::Partner(p) => Reach::Partner(p),
            TenantReach::One { tenant, .. } => {
                let tenant = tenant_of(state, &loaded, &tenant).await?;
                Reach::Tenant(Box::new(live(Some(tenant), "Tenant")?))
            }
        },
    };
    let binding = format!(
        "users|reach={}|search={}|status={}",
        match &reach {
            Reach::All => "all".to_owned(),
            Reach::Partner(p) => format!("partner:{p}"),
            Reach::Tenant(t) => format!("tenant:{}", t.id),
            Reach::Nothing => "nothing".to_owned(),
        },
        filter.search.as_deref().unwrap_or(""),
        filter.status.map_or("", |s| s.as_str()),
    );
    let narrowed = |index: &'static str, partition: (&'static str, String)| QuerySpec {
        index: Some(index),
        partition,
        equals: filter
            .status
            .iter()
            .map(|s| ("status", s.as_str().to_owned()))
            .collect(),
        contains: filter.search.as_ref().map(|s| s.to_lowercase()),
        compare: Vec::new(),
    };
    let (specs, known_total) = match &reach {
        Reach::Nothing => {
            return Ok(Page {
                items: Vec::new(),
                pagination: Pagination::new(page.page, page.per_page, 0, None),
            });
        }
        Reach::All => (
            (0..keys::USER_SHARDS)
                .map(|i| narrowed(keys::GSI2, (keys::GSI2PK, keys::users_shard(i))))
                .collect::<Vec<_>>(),
            (!filtered).then(|| Counter::Users.total(&loaded)),
        ),
        Reach::Tenant(t) => (
            vec![narrowed(
                keys::GSI1,
                (keys::GSI1PK, keys::users_of_tenant(&t.id)),
            )],
            (!filtered).then_some(t.user_count),
        ),
        Reach::Partner(p) => {
            let tenants = lists::live_tenants_of(state, p).await?;
            let total = tenants.iter().map(|t| t.user_count).sum::<u64>();
            (
                tenants
                    .iter()
                    .map(|t| narrowed(keys::GSI1, (keys::GSI1PK, keys::users_of_tenant(&t.id))))
                    .collect(),
                (!filtered).then_some(total),
            )
        }
    };
    let query = MergedQuery {
        binding,
        specs,
        total: known_total.map_or(Total::Count, Total::Known),
    };
    lists::merged_page(state, &query, page).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_pass_the_strictest_policy() {
        let policy = Policy {
            min_length: 32,
            require_upper: true,
            require_lower: true,
            require_digit: true,
            require_symbol: true,
        };
        for _ in 0..50 {
            let p = generate_password(&policy);
            assert_eq!(p.chars().count(), 32);
            assert!(policy.check(&p).is_ok(), "{p}");
        }
        assert_eq!(generate_password(&Policy::default()).len(), 20);
    }

    #[test]
    fn custom_attributes_are_bounded() {
        assert!(parse_custom_attributes(&json!({"a": 1})).is_ok());
        let big = json!({"a": "x".repeat(MAX_CUSTOM_ATTRIBUTES_BYTES)});
        assert!(parse_custom_attributes(&big).is_err());
        assert!(parse_custom_attributes(&json!([1])).is_err());
    }
}
