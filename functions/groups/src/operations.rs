//! Group operations (SPEC §4.6): every tier manages the groups within its reach (super_admin:
//! all; partner_admin: its partner's tenants; tenant_admin: its own tenant). Members and the
//! nesting rules are in `members`.

use shared::access::{self, Principal};
use shared::audit::{self, Actor, Attempt, AuditAction, AuditEvent, RequestMeta};
use shared::error::{Error, Result};
use shared::hierarchy::Tenant;
use shared::ids::{GroupId, PartnerId, TenantId};
use shared::lifecycle::{self, Lifecycle, live};
use shared::lists::TenantScopedList;
use shared::pagination::{Page, PageRequest};
use shared::session::{self, Caller};
use shared::state::AppState;
use shared::store::{Key, keys};
use shared::time::Timestamp;
use shared::validation::Patch;
use shared::values::{Name, Status};

use crate::members;
use crate::store::{self, Group, GroupType, NAME, TENANT};

pub const CREATE: AuditAction = AuditAction::new("group.create", "group");
pub const UPDATE: AuditAction = AuditAction::new("group.update", "group");
pub const DELETE: AuditAction = AuditAction::new("group.delete", "group");
/// Every action this group records: its part of the audit catalogue.
pub const ACTIONS: &[AuditAction] = &[
    CREATE,
    UPDATE,
    DELETE,
    members::ADD_MEMBER,
    members::REMOVE_MEMBER,
];

pub(crate) const RESOURCE: &str = "Group";
const NAME_TAKEN: &str = "Group name already in use in this tenant";

pub struct NewGroup {
    pub tenant_id: TenantId,
    pub name: Name,
    pub description: Option<String>,
    pub group_type: GroupType,
}

#[derive(Default)]
pub struct GroupPatch {
    pub name: Option<Name>,
    pub description: Patch<String>,
    pub group_type: Option<GroupType>,
}

impl GroupPatch {
    fn apply(&self, group: &Group) -> Group {
        let mut next = group.clone();
        if let Some(name) = &self.name {
            next.name = name.as_str().to_owned();
        }
        match &self.description {
            Patch::Keep => {}
            Patch::Clear => next.description = None,
            Patch::Set(d) => next.description = Some(d.clone()),
        }
        if let Some(t) = self.group_type {
            next.group_type = t;
        }
        next
    }
}

#[derive(Default, Clone)]
pub struct GroupFilter {
    pub search: Option<String>,
    pub tenant_id: Option<TenantId>,
    pub partner_id: Option<PartnerId>,
    pub group_type: Option<GroupType>,
}

/// What the tenant-owned tier rules (`shared::tenant_owned`) judge.
fn owned(group: &Group) -> shared::tenant_owned::Owned<'_> {
    shared::tenant_owned::Owned {
        id: group.id.as_str(),
        tenant: &group.tenant_id,
        partner_hint: &group.partner_id,
        resource: RESOURCE,
    }
}

/// The tier rule of groups for reads: the rule of the tenant they belong to (groups are "all
/// in own partner's tenants" / "all in own tenant"), judged by the tenant's partner as it is
/// now — read from the tenant for a partner admin, as the group's `partner_id` is only a hint.
pub(crate) async fn within_reach(
    state: &AppState,
    principal: &Principal,
    group: &Group,
) -> Result<()> {
    shared::tenant_owned::within_reach(state, principal, owned(group)).await
}

pub(crate) use shared::lifecycle::Attempts;

/// A write to a group: within reach, or refused and recorded. Returns the partner the write
/// assumes for the group — its event is filed under it, and its transaction checks that the
/// tenant still belongs to it (`store::tenant_still_with`), so the assumption costs no read:
/// a tenant admin's own partner (its session check read its tenant), else the group's
/// `partner_id` hint. The tenant is read only on a retry (the hint was stale: a transfer) or
/// before refusing on the hint (the caller may be the receiving partner's admin).
pub(crate) async fn may_write(
    state: &AppState,
    principal: &Principal,
    group: &Group,
    action: AuditAction,
    meta: &RequestMeta,
    retry: bool,
) -> Result<PartnerId> {
    shared::tenant_owned::may_write(state, principal, owned(group), action, meta, retry).await
}

/// A live group within the caller's reach, read with the session check (one round trip), and
/// whatever else `extra` names.
pub(crate) async fn checked_group(
    state: &AppState,
    caller: &Caller,
    id: &GroupId,
    extra: &[Key],
) -> Result<(Principal, Group, shared::store::Loaded)> {
    let mut wanted = vec![keys::group(id)];
    wanted.extend_from_slice(extra);
    let (principal, loaded) = session::check(state, caller, &wanted).await?;
    let group: Group = live(loaded.get(&keys::group(id))?, RESOURCE)?;
    Ok((principal, group, loaded))
}

pub(crate) fn event_for(
    principal: &Principal,
    action: AuditAction,
    group: &Group,
    partner: &PartnerId,
    meta: &RequestMeta,
) -> AuditEvent {
    AuditEvent::new(
        Actor::admin(principal),
        action,
        Some(group.id.to_string()),
        meta,
    )
    .in_tenant(partner, &group.tenant_id)
}

/// Creates a group in a live tenant, under the partner the tenant has in the same transaction
/// (a transfer committed meanwhile → re-read and re-decided).
pub async fn create(
    state: &AppState,
    caller: &Caller,
    new: NewGroup,
    meta: &RequestMeta,
) -> Result<Group> {
    lifecycle::retry_stale("tenant", || create_once(state, caller, &new, meta)).await
}

async fn create_once(
    state: &AppState,
    caller: &Caller,
    new: &NewGroup,
    meta: &RequestMeta,
) -> Result<Group> {
    let tenant_key = keys::tenant(&new.tenant_id);
    let (principal, loaded) =
        session::check(state, caller, std::slice::from_ref(&tenant_key)).await?;
    let attempt = || Attempt {
        action: CREATE,
        resource_id: None,
    };
    let tenant: Option<Tenant> = loaded.get(&tenant_key)?;
    let tenant = match tenant.filter(|t| !t.is_deleted()) {
        Some(t) => t,
        // An unknown tenant is outside every reach but the super admin's.
        None if principal.is_super() => return Err(Error::NotFound("Tenant")),
        None => {
            audit::check_write(state, &principal, Err(Error::AccessDenied), attempt(), meta)
                .await?;
            return Err(Error::AccessDenied);
        }
    };
    let verdict = access::tenants::read(&principal, &tenant.partner_id, &tenant.id);
    audit::check_write(state, &principal, verdict, attempt(), meta).await?;
    let now = Timestamp::now();
    let group = Group {
        id: GroupId::generate(),
        tenant_id: tenant.id.clone(),
        partner_id: tenant.partner_id.clone(),
        name: new.name.as_str().to_owned(),
        description: new.description.clone(),
        group_type: new.group_type,
        status: Status::Active,
        member_count: 0,
        child_groups: Vec::new(),
        parent_groups: Vec::new(),
        created_at: now,
        updated_at: now,
        deleted_at: None,
        version: 1,
    };
    let event = event_for(&principal, CREATE, &group, &tenant.partner_id, meta)
        .with_changes(&serde_json::json!({}), &audit::snapshot(&group));
    match store::create(state.store(), &group, &event).await {
        Ok(()) => Ok(group),
        Err(err) => match err.refused_by() {
            Some(NAME) => Err(Error::conflict(NAME_TAKEN)),
            // Deleted or moved since the session check read it: the retry reads it again.
            Some(TENANT) => Err(Error::Stale),
            _ => Err(err.into()),
        },
    }
}

pub async fn get(state: &AppState, caller: &Caller, id: &GroupId) -> Result<Group> {
    let (principal, group, _) = checked_group(state, caller, id, &[]).await?;
    within_reach(state, &principal, &group).await?;
    Ok(group)
}

pub async fn update(
    state: &AppState,
    caller: &Caller,
    id: &GroupId,
    patch: &GroupPatch,
    meta: &RequestMeta,
) -> Result<Group> {
    let attempts = Attempts::default();
    lifecycle::retry_stale("group", || async {
        let (principal, before, _) = checked_group(state, caller, id, &[]).await?;
        let retry = attempts.next_is_retry();
        let partner = may_write(state, &principal, &before, UPDATE, meta, retry).await?;
        let mut after = lifecycle::next_version(&before, patch.apply(&before));
        after.partner_id = partner.clone();
        let event = event_for(&principal, UPDATE, &after, &partner, meta)
            .with_changes(&audit::snapshot(&before), &audit::snapshot(&after));
        match store::update(state.store(), &before, &after, &event).await {
            Ok(()) => Ok(after),
            Err(err) if err.refused_by() == Some(NAME) => Err(Error::conflict(NAME_TAKEN)),
            Err(err) => Err(err.into()),
        }
    })
    .await
}

/// Soft-deletes a group: it leaves lists, counts and every effective membership at once (it is
/// detached from the groups containing it and from the groups it contains, in the same
/// transaction), and its name is free again (groups have no restore).
pub async fn delete(
    state: &AppState,
    caller: &Caller,
    id: &GroupId,
    meta: &RequestMeta,
) -> Result<()> {
    let attempts = Attempts::default();
    lifecycle::retry_stale("group", || async {
        let (principal, before, _) = checked_group(state, caller, id, &[]).await?;
        // The first attempt assumes the tenant live under the group's hint (its transaction
        // holds that); a retry reads the tenant, which may have been deleted (the group may
        // still go, counted under no partner) or moved.
        let tenant = match attempts.next_is_retry() {
            true => Some(Tenant::now(state, &before.tenant_id, RESOURCE).await?),
            false => None,
        };
        let partner = match &tenant {
            Some(t) => {
                may_write_under(state, &principal, &before, &t.partner_id, DELETE, meta).await?
            }
            None => may_write(state, &principal, &before, DELETE, meta, false).await?,
        };
        let live = tenant.as_ref().is_none_or(|t| !t.is_deleted());
        let (mut after, purge_at) = lifecycle::deleted(&before);
        after.partner_id = partner.clone();
        let event = event_for(&principal, DELETE, &before, &partner, meta);
        let counted_under = live.then_some(&partner);
        Ok(store::delete(
            state.store(),
            &before,
            &after,
            purge_at,
            counted_under,
            &event,
        )
        .await?)
    })
    .await
}

/// [`may_write`] judged by the partner the tenant was just read with, not the group's hint
/// (so the tenant is not read twice).
async fn may_write_under(
    state: &AppState,
    principal: &Principal,
    group: &Group,
    partner: &PartnerId,
    action: AuditAction,
    meta: &RequestMeta,
) -> Result<PartnerId> {
    let owned = shared::tenant_owned::Owned {
        partner_hint: partner,
        ..owned(group)
    };
    shared::tenant_owned::may_write(state, principal, owned, action, meta, false).await
}

/// List Groups within the caller's reach, newest first (`shared::lists::TenantScopedList`).
pub async fn list(
    state: &AppState,
    caller: &Caller,
    filter: &GroupFilter,
    page: &PageRequest,
) -> Result<Page<Group>> {
    let list = TenantScopedList {
        name: "groups",
        tenant_filter: filter.tenant_id.as_ref(),
        partner_filter: filter.partner_id.as_ref(),
        of_tenant: keys::groups_of_tenant,
        tenant_counter: keys::group_count_of_tenant,
        all: keys::ALL_GROUPS,
        platform_counters: store::platform_count_keys(),
        equals: filter
            .group_type
            .iter()
            .map(|t| ("group_type", t.as_str().to_owned()))
            .collect(),
        contains: filter.search.as_ref().map(|s| s.to_lowercase()),
    };
    let (principal, loaded) = session::check(state, caller, &list.keys_to_check(caller)?).await?;
    list.page(state, &principal, &loaded, page).await
}
