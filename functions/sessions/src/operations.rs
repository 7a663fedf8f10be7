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

use serde_json::json;
use shared::access::{self, Principal, TenantReach, Tier};
use shared::audit::{self, Actor, Attempt, AuditAction, AuditEvent, RequestMeta};
use shared::error::{Error, Result};
use shared::hierarchy::{Session, Tenant, User};
use shared::ids::{PartnerId, SessionId, TenantId, UserId};
use shared::lifecycle;
use shared::lists::{self, ListQuery, MergedQuery, Total};
use shared::pagination::{Page, PageRequest, Pagination};
use shared::session::{self, Caller};
use shared::state::AppState;
use shared::store::{QuerySpec, keys};
use shared::time::Timestamp;

use crate::store::{self, Listed};

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

/// The partner `tenant` belongs to now: `known` when the request read the tenant already, a
/// tenant admin's own (its session check read its tenant; another tenant is refused without a
/// read), else one read of the tenant.
async fn partner_now(
    state: &AppState,
    principal: &Principal,
    tenant: &TenantId,
    known: Option<PartnerId>,
) -> Result<PartnerId> {
    if let Some(partner) = known {
        return Ok(partner);
    }
    match &principal.tier {
        Tier::Tenant {
            partner,
            tenant: own,
        } if own == tenant => Ok(partner.clone()),
        Tier::Tenant { .. } => Err(Error::AccessDenied),
        _ => Tenant::partner_now(state, tenant, RESOURCE).await,
    }
}

/// The tier rule of a tenant's sessions, judged on the tenant's partner now. Returns that
/// partner (the one a write files its event under).
async fn within_reach(
    state: &AppState,
    principal: &Principal,
    tenant: &TenantId,
    known: Option<PartnerId>,
) -> Result<PartnerId> {
    let partner = partner_now(state, principal, tenant, known).await?;
    access::tenants::read(principal, &partner, tenant)?;
    Ok(partner)
}

/// A write to the sessions of `tenant`: within reach, or refused (403) and recorded as a
/// DENIED event under the caller's own tenant.
async fn may_write(
    state: &AppState,
    principal: &Principal,
    tenant: &TenantId,
    known: Option<PartnerId>,
    attempt: Attempt,
    meta: &RequestMeta,
) -> Result<PartnerId> {
    let decided = within_reach(state, principal, tenant, known).await;
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

/// One session, whatever its status, within reach: one round trip (a partner admin: two, the
/// tenant is read).
pub async fn get(state: &AppState, caller: &Caller, id: &SessionId) -> Result<Session> {
    let key = keys::session(id);
    let (principal, loaded) = session::check(state, caller, std::slice::from_ref(&key)).await?;
    let found: Session = loaded.get(&key)?.ok_or(Error::NotFound(RESOURCE))?;
    let known = known_partner(&principal, &found);
    within_reach(state, &principal, &found.tenant_id, known).await?;
    Ok(found)
}

/// Revokes one session now. Already revoked or expired: nothing to do (204, no event).
pub async fn revoke(
    state: &AppState,
    caller: &Caller,
    id: &SessionId,
    meta: &RequestMeta,
) -> Result<()> {
    lifecycle::retry_stale("session", || async {
        let key = keys::session(id);
        let (principal, loaded) = session::check(state, caller, std::slice::from_ref(&key)).await?;
        let found: Session = loaded.get(&key)?.ok_or(Error::NotFound(RESOURCE))?;
        let attempt = Attempt {
            action: REVOKE,
            resource_id: Some(id.to_string()),
        };
        let known = known_partner(&principal, &found);
        let partner = may_write(state, &principal, &found.tenant_id, known, attempt, meta).await?;
        let now = Timestamp::now();
        if !found.is_live(now) {
            return Ok(());
        }
        let event = AuditEvent::new(Actor::admin(&principal), REVOKE, Some(id.to_string()), meta)
            .in_tenant(&partner, &found.tenant_id)
            .with_changes(&json!({"status": "ACTIVE"}), &json!({"status": "REVOKED"}));
        match store::revoke(state.store(), &found, &principal.actor_id(), now, &event).await {
            Ok(()) => Ok(()),
            // Revoked meanwhile (logout, reset, another admin): read again, then nothing to do.
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
    let found = match holder {
        Holder::User(_) => loaded
            .get::<User>(&holder_key)?
            .map(|user| (user.tenant_id, None)),
        Holder::Tenant(_) => loaded
            .get::<Tenant>(&holder_key)?
            .map(|tenant| (tenant.id, Some(tenant.partner_id))),
    };
    let Some((tenant, known)) = found else {
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
    let partner = may_write(state, &principal, &tenant, known, attempt(), meta).await?;
    let now = Timestamp::now();
    let spec = match holder {
        Holder::User(u) => store::active_in(keys::GSI1, keys::sessions_of_user(u), now),
        Holder::Tenant(t) => store::active_in(keys::GSI2, keys::sessions_of_tenant(t), now),
    };
    let sessions = store::all_active(state.store(), &spec).await?;
    let revoked = sessions.len() as u64;
    let mut event = AuditEvent::new(
        Actor::admin(&principal),
        REVOKE_ALL,
        Some(holder.id().to_owned()),
        meta,
    )
    .in_tenant(&partner, &tenant);
    event.changes = json!({ "revoked": revoked }).as_object().cloned();
    match store::revoke_all(state.store(), &sessions, &principal.actor_id(), now, &event).await {
        Ok(()) => Ok(revoked),
        // A session vanished between the read and the write: read the rest again.
        Err(err) if err.refused_by() == Some(store::SESSION) => Err(Error::Stale),
        Err(err) => Err(err.into()),
    }
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
                    Some(within_reach(state, &principal, &user.tenant_id, known).await?)
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
            lists::page(state, &single(spec), page).await
        }
        Source::Tenant(t) => {
            let spec = store::active_in(keys::GSI2, keys::sessions_of_tenant(&t), now);
            lists::page(state, &single(spec), page).await
        }
        // A partner's sessions are its tenants' now: each live tenant's partition, merged.
        Source::Partner(p) => {
            let tenants = lists::live_tenants_of(state, &p).await?;
            let query = MergedQuery {
                binding,
                specs: tenants
                    .iter()
                    .map(|t| store::active_in(keys::GSI2, keys::sessions_of_tenant(&t.id), now))
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
