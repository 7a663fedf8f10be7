//! Session operations (SPEC §4.11, §3.2): list the active sessions, read one, revoke one, revoke
//! all of a user or a tenant — within the caller's reach only. A session belongs to its
//! holder's home tenant (`tenant_id`), and the tier rule is the tenant's: super_admin all,
//! partner_admin the tenants of its partner as they are now (the tenant is read), tenant_admin
//! its own tenant.
//!
//! | request | served by |
//! |---|---|
//! | `user_id` filter, revoke-all `{user_id}` | GSI1 `USER#<usr>#SESSIONS` |
//! | `tenant_id` filter (and a tenant admin's list), revoke-all `{tenant_id}` | GSI2 `TENANT#<tnt>#SESSIONS` |
//! | a partner's list (partner admin; super admin with `partner_id`) | GSI2 of each live tenant of the partner, merged |
//! | the super admin's list | GSI3 `SESSIONS#<0..7>`, the 8 shards merged |
//!
//! Lists show active sessions only (`status = ACTIVE`, `expires_at > now`), newest first, with
//! an exact total (a COUNT query alongside the first page, carried in the cursors).
//!
//! Revoking: `DELETE /{id}` of an active session writes it `REVOKED` (`revoked_at`,
//! `revoked_by`) with one `session.revoke` event; of a session already revoked or expired it
//! answers 204 again and writes nothing (no second event). Revoke-all writes one
//! `session.revoke_all` event (`changes: {"revoked": n}`, `resource_id` the user or tenant id),
//! none per session, even when n = 0. The caller's own session may be among those revoked: its
//! next request is then a 401.
//!
//! Each session a revocation moves from ACTIVE to REVOKED leaves the active-session tallies of
//! its tenant, of the tenant's partner now and of the platform in the same write (`store`),
//! the tenant held where the request read it. That read is the one the reach already needs
//! (a partner admin's; a revoke-all's; the caller's own tenant, read by the session check); a
//! super admin's single revoke reads nothing more: it takes the tenant to be where the session
//! signed in, which the write checks (a refusal re-reads it).

use serde_json::json;
use shared::access::{self, GrantReach, Principal, TenantReach, Tier};
use shared::audit::{self, Actor, Attempt, AuditAction, AuditEvent, RequestMeta};
use shared::error::{Error, Result};
use shared::hierarchy::{Session, Tenant, User};
use shared::ids::{PartnerId, SessionId, TenantId, UserId};
use shared::lifecycle;
use shared::lists::{self, ListQuery, MergedQuery, Total};
use shared::pagination::{Page, PageRequest, Pagination};
use shared::session::{self, Caller};
use shared::state::AppState;
use shared::store::{Loaded, QuerySpec, keys};
use shared::time::Timestamp;

use crate::store::{self, Listed, TenantNow, Tenants};

pub const REVOKE: AuditAction = AuditAction::new("session.revoke", "session");
pub const REVOKE_ALL: AuditAction = AuditAction::new("session.revoke_all", "session");
/// Every action this group records: its part of the audit catalogue.
pub const ACTIONS: &[AuditAction] = &[REVOKE, REVOKE_ALL];

pub(crate) const RESOURCE: &str = "Session";

#[derive(Clone, Debug, Default)]
pub struct SessionFilter {
    pub user_id: Option<UserId>,
    pub tenant_id: Option<TenantId>,
    pub partner_id: Option<PartnerId>,
}

/// Whose sessions a revoke-all ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Holder {
    User(UserId),
    Tenant(TenantId),
}

impl Holder {
    pub fn id(&self) -> &str {
        match self {
            Self::User(u) => u.as_str(),
            Self::Tenant(t) => t.as_str(),
        }
    }
}

/// A session's tenant as the request found it: its partner now (the reach is judged on it, a
/// write files its event under it) and, when it was read, where its sessions count on the
/// tallies (`None`: a super admin's known partner, nothing read).
struct Reached {
    partner: PartnerId,
    tenant: Option<TenantNow>,
}

/// The tenant `tenant` as it is now: from `loaded` when the request read it already (the
/// caller's own tenant, which the session check reads; a revoke-all's tenant), else `known` (a
/// super admin's, from the session), else one read — but a tenant admin's other tenant is
/// refused without a read.
async fn partner_now(
    state: &AppState,
    principal: &Principal,
    tenant: &TenantId,
    known: Option<PartnerId>,
    loaded: &Loaded,
) -> Result<Reached> {
    let read = |found: Tenant| Reached {
        partner: found.partner_id.clone(),
        tenant: Some(TenantNow::of(Some(&found))),
    };
    if let Some(found) = loaded.get::<Tenant>(&keys::tenant(tenant))? {
        return Ok(read(found));
    }
    if let Some(partner) = known {
        return Ok(Reached {
            partner,
            tenant: None,
        });
    }
    if let Tier::Tenant { .. } = &principal.tier {
        return Err(Error::AccessDenied);
    }
    let found = read_tenant(state, tenant).await?;
    found.map(read).ok_or(Error::NotFound(RESOURCE))
}

async fn read_tenant(state: &AppState, tenant: &TenantId) -> Result<Option<Tenant>> {
    let key = keys::tenant(tenant);
    Ok(state
        .store()
        .load(std::slice::from_ref(&key))
        .await?
        .get(&key)?)
}

/// The tier rule of a tenant's sessions, judged on the tenant's partner now. Returns the tenant
/// as found (its partner: the one a write files its event under).
async fn within_reach(
    state: &AppState,
    principal: &Principal,
    tenant: &TenantId,
    known: Option<PartnerId>,
    loaded: &Loaded,
) -> Result<Reached> {
    let reached = partner_now(state, principal, tenant, known, loaded).await?;
    access::tenants::read(principal, &reached.partner, tenant)?;
    Ok(reached)
}

/// A write to the sessions of `tenant`: within reach, or refused (403) and recorded as a
/// DENIED event under the caller's own tenant.
async fn may_write(
    state: &AppState,
    principal: &Principal,
    tenant: &TenantId,
    known: Option<PartnerId>,
    loaded: &Loaded,
    attempt: Attempt,
    meta: &RequestMeta,
) -> Result<Reached> {
    let decided = within_reach(state, principal, tenant, known, loaded).await;
    // A failed read of the tenant (database down, corrupt item) is that failure, not a refusal.
    let decided = match decided {
        Err(err) if !matches!(err, Error::AccessDenied | Error::NotFound(_)) => return Err(err),
        other => other,
    };
    let verdict = decided.as_ref().map(drop).map_err(|_| Error::AccessDenied);
    audit::check_write(state, principal, verdict, attempt, meta).await?;
    decided
}

/// What a super admin already knows of a session's partner (the one it signed in under): its
/// reach needs no read, and its events are filed under it.
fn known_partner(principal: &Principal, session: &Session) -> Option<PartnerId> {
    principal.is_super().then(|| session.partner_id.clone())
}

/// What a single-session request reads after the session itself, in one batch: for a caller
/// other than a super admin, the session's holder (whose grants decide who outranks whom) and,
/// for a partner admin, the session's tenant (its partner now decides the reach). Added to
/// `loaded`; a super admin reads nothing more.
async fn read_holder(
    state: &AppState,
    principal: &Principal,
    session: &Session,
    loaded: &mut Loaded,
) -> Result<()> {
    let mut wanted = Vec::new();
    if !principal.is_super() {
        wanted.push(keys::user(&session.user_id));
    }
    if let Tier::Partner(_) = principal.tier
        && !loaded.has(&keys::tenant(&session.tenant_id))
    {
        wanted.push(keys::tenant(&session.tenant_id));
    }
    if !wanted.is_empty() {
        loaded.extend(state.store().load(&wanted).await?);
    }
    Ok(())
}

/// Who outranks whom (SPEC §5): the caller's reach covers every admin grant the session's
/// holder has now (read by [`read_holder`] into `loaded`). A holder no longer stored is judged
/// by the reach its session recorded at sign-in (none recorded: super admins only). `partner`
/// is the partner of the holder's tenant now.
fn holder_within_reach(
    principal: &Principal,
    session: &Session,
    loaded: &Loaded,
    partner: &PartnerId,
) -> Result<()> {
    if principal.is_super() {
        return Ok(());
    }
    let holder: Option<User> = loaded.get(&keys::user(&session.user_id))?;
    let reach = match holder {
        Some(user) => GrantReach::of(
            &user.admin_roles,
            &user.tenant_id,
            Some(partner),
            Timestamp::now(),
        ),
        None => session
            .holder_reach
            .as_deref()
            .map_or(GrantReach::Super, GrantReach::parse_stored),
    };
    if access::manages(principal, &reach) {
        Ok(())
    } else {
        Err(Error::AccessDenied)
    }
}

/// A refusal of the holder's rank, recorded as a denied write (a failed read stays that failure).
async fn holder_may_be_written(
    state: &AppState,
    principal: &Principal,
    verdict: Result<()>,
    attempt: Attempt,
    meta: &RequestMeta,
) -> Result<()> {
    match verdict {
        Err(err) if !matches!(err, Error::AccessDenied) => Err(err),
        verdict => audit::check_write(state, principal, verdict, attempt, meta).await,
    }
}

/// One session, whatever its status, within reach: one round trip (a partner admin: two, the
/// tenant is read; a partner or tenant admin one more, the holder's grants).
pub async fn get(state: &AppState, caller: &Caller, id: &SessionId) -> Result<Session> {
    let key = keys::session(id);
    let (principal, mut loaded) = session::check(state, caller, std::slice::from_ref(&key)).await?;
    let found: Session = loaded.get(&key)?.ok_or(Error::NotFound(RESOURCE))?;
    let known = known_partner(&principal, &found);
    if !matches!(&principal.tier, Tier::Tenant { tenant, .. } if *tenant != found.tenant_id) {
        read_holder(state, &principal, &found, &mut loaded).await?;
    }
    let reached = within_reach(state, &principal, &found.tenant_id, known, &loaded).await?;
    holder_within_reach(&principal, &found, &loaded, &reached.partner)?;
    Ok(found)
}

/// Revokes one session now. Already revoked or expired: nothing to do (204, no event).
pub async fn revoke(
    state: &AppState,
    caller: &Caller,
    id: &SessionId,
    meta: &RequestMeta,
) -> Result<()> {
    let first = std::sync::atomic::AtomicBool::new(true);
    lifecycle::retry_stale("session", || async {
        let first = first.swap(false, std::sync::atomic::Ordering::Relaxed);
        let key = keys::session(id);
        let (principal, mut loaded) =
            session::check(state, caller, std::slice::from_ref(&key)).await?;
        let found: Session = loaded.get(&key)?.ok_or(Error::NotFound(RESOURCE))?;
        let attempt = Attempt {
            action: REVOKE,
            resource_id: Some(id.to_string()),
        };
        let known = known_partner(&principal, &found);
        if !matches!(&principal.tier, Tier::Tenant { tenant, .. } if *tenant != found.tenant_id) {
            read_holder(state, &principal, &found, &mut loaded).await?;
        }
        let reached = may_write(
            state,
            &principal,
            &found.tenant_id,
            known,
            &loaded,
            attempt.clone(),
            meta,
        )
        .await?;
        let verdict = holder_within_reach(&principal, &found, &loaded, &reached.partner);
        holder_may_be_written(state, &principal, verdict, attempt, meta).await?;
        let now = Timestamp::now();
        if !found.is_live(now) {
            return Ok(());
        }
        let tenant = if store::counts_now(&found, now) {
            Some(match reached.tenant {
                Some(tenant) => tenant,
                // A super admin's reach read nothing: the tenant is taken to be live under the
                // partner the session signed in under, which the write checks. Refused (moved
                // or deleted since), the retry reads it.
                None if first => TenantNow::Live(reached.partner.clone()),
                None => TenantNow::of(read_tenant(state, &found.tenant_id).await?.as_ref()),
            })
        } else {
            None
        };
        let event = AuditEvent::new(Actor::admin(&principal), REVOKE, Some(id.to_string()), meta)
            .in_tenant(&reached.partner, &found.tenant_id)
            .with_changes(&json!({"status": "ACTIVE"}), &json!({"status": "REVOKED"}));
        let by = principal.actor_id();
        match store::revoke(state.store(), &found, tenant.as_ref(), &by, now, &event).await {
            Ok(()) => Ok(()),
            // Revoked meanwhile (logout, reset, another admin), or the tenant moved: read
            // again, then nothing to do or the write with the tenant as it is.
            Err(err) if err.refused_by() == Some(store::STILL_ACTIVE) => Err(Error::Stale),
            Err(err) => Err(err.into()),
        }
    })
    .await
}

/// Revokes every active session of a user or of a tenant, within reach; returns how many.
pub async fn revoke_all(
    state: &AppState,
    caller: &Caller,
    holder: &Holder,
    meta: &RequestMeta,
) -> Result<u64> {
    lifecycle::retry_stale("sessions", || revoke_all_once(state, caller, holder, meta)).await
}

async fn revoke_all_once(
    state: &AppState,
    caller: &Caller,
    holder: &Holder,
    meta: &RequestMeta,
) -> Result<u64> {
    let holder_key = match holder {
        Holder::User(u) => keys::user(u),
        Holder::Tenant(t) => keys::tenant(t),
    };
    let (principal, loaded) =
        session::check(state, caller, std::slice::from_ref(&holder_key)).await?;
    let attempt = || Attempt {
        action: REVOKE_ALL,
        resource_id: Some(holder.id().to_owned()),
    };
    let user: Option<User> = match holder {
        Holder::User(_) => loaded.get::<User>(&holder_key)?,
        Holder::Tenant(_) => None,
    };
    let found = match holder {
        Holder::User(_) => user.as_ref().map(|user| user.tenant_id.clone()),
        Holder::Tenant(_) => loaded.get::<Tenant>(&holder_key)?.map(|tenant| tenant.id),
    };
    let Some(tenant) = found else {
        // An unknown user or tenant is outside every reach but the super admin's.
        if principal.is_super() {
            return Err(Error::NotFound(match holder {
                Holder::User(_) => "User",
                Holder::Tenant(_) => "Tenant",
            }));
        }
        audit::check_write(state, &principal, Err(Error::AccessDenied), attempt(), meta).await?;
        return Err(Error::AccessDenied);
    };
    // No known partner: the tenant is read (or was, with the holder or by the session check).
    let reached = may_write(state, &principal, &tenant, None, &loaded, attempt(), meta).await?;
    if let Some(user) = user
        && !principal.is_super()
    {
        // A user's sessions: the user's grants now decide, for all of them at once.
        let reach = GrantReach::of(
            &user.admin_roles,
            &user.tenant_id,
            Some(&reached.partner),
            Timestamp::now(),
        );
        let verdict = if access::manages(&principal, &reach) {
            Ok(())
        } else {
            Err(Error::AccessDenied)
        };
        audit::check_write(state, &principal, verdict, attempt(), meta).await?;
    }
    let now = Timestamp::now();
    let spec = match holder {
        Holder::User(u) => store::active_in(keys::GSI1, keys::sessions_of_user(u), now),
        Holder::Tenant(t) => store::active_in(keys::GSI2, keys::sessions_of_tenant(t), now),
    };
    let mut sessions = store::all_active(state.store(), &spec).await?;
    if let Holder::Tenant(_) = holder {
        // A tenant's sessions: those of holders beyond the caller's reach stay (a tenant
        // admin of the platform tenant never ends a super admin's session).
        sessions = within_caller_reach(state, &principal, sessions, &reached.partner).await?;
    }
    let mut tenants = Tenants::new();
    if let Some(found) = reached.tenant.clone() {
        tenants.insert(tenant.clone(), found);
    }
    read_other_tenants(state, &sessions, now, &mut tenants).await?;
    let revoked = sessions.len() as u64;
    let mut event = AuditEvent::new(
        Actor::admin(&principal),
        REVOKE_ALL,
        Some(holder.id().to_owned()),
        meta,
    )
    .in_tenant(&reached.partner, &tenant);
    event.changes = json!({ "revoked": revoked }).as_object().cloned();
    let by = principal.actor_id();
    match store::revoke_all(state.store(), &sessions, &tenants, &by, now, &event).await {
        Ok(()) => Ok(revoked),
        // A session ended between the read and the write, or the tenant moved: read again.
        Err(err) if err.refused_by() == Some(store::STILL_ACTIVE) => Err(Error::Stale),
        Err(err) => Err(err.into()),
    }
}

/// The sessions whose holders' grants lie within the caller's reach now: the distinct holders
/// read in batches of 100 (a super admin's reach covers all: nothing read).
async fn within_caller_reach(
    state: &AppState,
    principal: &Principal,
    sessions: Vec<Session>,
    partner: &PartnerId,
) -> Result<Vec<Session>> {
    if principal.is_super() || sessions.is_empty() {
        return Ok(sessions);
    }
    let holders: std::collections::BTreeSet<&UserId> =
        sessions.iter().map(|s| &s.user_id).collect();
    let wanted: Vec<_> = holders.iter().map(|u| keys::user(u)).collect();
    let loaded = state.store().load(&wanted).await?;
    let now = Timestamp::now();
    let mut kept = Vec::with_capacity(sessions.len());
    for session in sessions {
        let reach = match loaded.get::<User>(&keys::user(&session.user_id))? {
            Some(user) => GrantReach::of(&user.admin_roles, &user.tenant_id, Some(partner), now),
            None => session
                .holder_reach
                .as_deref()
                .map_or(GrantReach::Super, GrantReach::parse_stored),
        };
        if access::manages(principal, &reach) {
            kept.push(session);
        }
    }
    Ok(kept)
}

/// The tenants of counted sessions not read yet, in one batch. A user's sessions are all of its
/// home tenant (read for the reach), so this reads nothing — but for a session filed under
/// another tenant, which would otherwise leave the tallies under no tenant at all.
async fn read_other_tenants(
    state: &AppState,
    sessions: &[Session],
    now: Timestamp,
    tenants: &mut Tenants,
) -> Result<()> {
    let missing: std::collections::BTreeSet<&TenantId> = sessions
        .iter()
        .filter(|s| store::counts_now(s, now) && !tenants.contains_key(&s.tenant_id))
        .map(|s| &s.tenant_id)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let wanted: Vec<_> = missing.iter().map(|t| keys::tenant(t)).collect();
    let loaded = state.store().load(&wanted).await?;
    for id in missing {
        let found: Option<Tenant> = loaded.get(&keys::tenant(id))?;
        tenants.insert(id.clone(), TenantNow::of(found.as_ref()));
    }
    Ok(())
}

/// Which partitions a list reads.
enum Source {
    User(UserId),
    Tenant(TenantId),
    Partner(PartnerId),
    All,
    Nothing,
}

/// The active sessions within reach, newest first, narrowed by the filters. A filter naming a
/// user, tenant or partner outside reach → 403; an unknown one → 403, except for the super
/// admin, who gets an empty list.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    filter: &SessionFilter,
    page: &PageRequest,
) -> Result<Page<Session>> {
    let mut extra = Vec::new();
    if let Some(u) = &filter.user_id {
        extra.push(keys::user(u));
    }
    if let Some(t) = &filter.tenant_id {
        extra.push(keys::tenant(t));
    }
    let (principal, loaded) = session::check(state, caller, &extra).await?;
    let reach = access::tenants::list_reach(&principal.tier, filter.partner_id.as_ref())?;
    let mut nothing = false;
    let named_tenant = match &filter.tenant_id {
        Some(t) => match loaded.get::<Tenant>(&keys::tenant(t))? {
            Some(tenant) => {
                access::tenants::read(&principal, &tenant.partner_id, &tenant.id)?;
                if filter
                    .partner_id
                    .as_ref()
                    .is_some_and(|p| *p != tenant.partner_id)
                {
                    nothing = true;
                }
                Some(tenant)
            }
            None if principal.is_super() => {
                nothing = true;
                None
            }
            None => return Err(Error::AccessDenied),
        },
        None => None,
    };
    if let Some(u) = &filter.user_id {
        match loaded.get::<User>(&keys::user(u))? {
            Some(user) => {
                let known = named_tenant
                    .as_ref()
                    .filter(|t| t.id == user.tenant_id)
                    .map(|t| t.partner_id.clone());
                // The super admin needs the user's partner only to compare it with a filter.
                let partner = if principal.is_super() && filter.partner_id.is_none() {
                    None
                } else {
                    let reached =
                        within_reach(state, &principal, &user.tenant_id, known, &loaded).await?;
                    Some(reached.partner)
                };
                let other_partner = filter
                    .partner_id
                    .as_ref()
                    .zip(partner.as_ref())
                    .is_some_and(|(wanted, p)| wanted != p);
                let other_tenant = filter
                    .tenant_id
                    .as_ref()
                    .is_some_and(|t| *t != user.tenant_id);
                if other_partner || other_tenant {
                    nothing = true;
                }
            }
            None if principal.is_super() => nothing = true,
            None => return Err(Error::AccessDenied),
        }
    }
    let source = match (&filter.user_id, named_tenant, &reach) {
        _ if nothing => Source::Nothing,
        (Some(u), _, _) => Source::User(u.clone()),
        (None, Some(t), _) => Source::Tenant(t.id),
        (None, None, TenantReach::All) => Source::All,
        (None, None, TenantReach::Partner(p)) => Source::Partner(p.clone()),
        (None, None, TenantReach::One { tenant, .. }) => Source::Tenant(tenant.clone()),
    };
    let binding = format!(
        "sessions|reach={reach:?}|user={}|tenant={}",
        filter.user_id.as_ref().map_or("", |u| u.as_str()),
        filter.tenant_id.as_ref().map_or("", |t| t.as_str()),
    );
    let now = Timestamp::now();
    // Only the sessions of holders within the caller's reach (as their grants stood at sign-in).
    let visible = |spec: QuerySpec| store::visible_to(spec, &principal.tier);
    let single = |spec: QuerySpec| ListQuery {
        binding: binding.clone(),
        spec,
        known_total: None,
    };
    match source {
        Source::Nothing => Ok(Page {
            items: Vec::new(),
            pagination: Pagination::new(page.page, page.per_page, 0, None),
        }),
        Source::User(u) => {
            let spec = store::active_in(keys::GSI1, keys::sessions_of_user(&u), now);
            lists::page(state, &single(visible(spec)), page).await
        }
        Source::Tenant(t) => {
            let spec = store::active_in(keys::GSI2, keys::sessions_of_tenant(&t), now);
            lists::page(state, &single(visible(spec)), page).await
        }
        // A partner's sessions are its tenants' now: each live tenant's partition, merged.
        Source::Partner(p) => {
            let tenants = lists::live_tenants_of(state, &p).await?;
            let query = MergedQuery {
                binding,
                specs: tenants
                    .iter()
                    .map(|t| {
                        visible(store::active_in(
                            keys::GSI2,
                            keys::sessions_of_tenant(&t.id),
                            now,
                        ))
                    })
                    .collect(),
                total: Total::Count,
            };
            Ok(lists::merged_page::<Listed>(state, &query, page)
                .await?
                .map(|l| l.0))
        }
        // The platform's sessions: the GSI3 shards, merged.
        Source::All => {
            let query = MergedQuery {
                binding,
                specs: (0..keys::SESSION_SHARDS)
                    .map(|shard| store::active_in(keys::GSI3, keys::sessions_shard(shard), now))
                    .collect(),
                total: Total::Count,
            };
            Ok(lists::merged_page::<Listed>(state, &query, page)
                .await?
                .map(|l| l.0))
        }
    }
}
