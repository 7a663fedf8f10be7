//! Group members (SPEC §4.6): direct members (users and groups of the group's tenant), nesting
//! without cycles, and the effective members reached through nesting.
//!
//! Cycles: nesting C into P closes a cycle exactly when P is C or a descendant of C. The check
//! walks down from C one consistent BatchGetItem per level (each group item lists the groups it
//! contains). It is made safe against a concurrent nesting by the tenant's nesting version: it
//! is read before the walk, and the nesting's transaction moves it under `Guard::Item`. Of two
//! nestings racing in one tenant (A into B, B into A) exactly one commits; the other is refused
//! by the version, re-read by `lifecycle::retry_stale`, and then finds the cycle (409).

use std::collections::{HashMap, HashSet};

use shared::audit::{AuditAction, RequestMeta};
use shared::error::{Error, Result};
use shared::ids::{GroupId, PartnerId, UserId};
use shared::lifecycle;
use shared::lists::{self, ListQuery};
use shared::membership::{self, GroupNode, MEMBER_ENTITY};
use shared::pagination::{self, Page, PageRequest};
use shared::session::Caller;
use shared::state::AppState;
use shared::store::{Key, QuerySpec, keys};
use shared::time::Timestamp;

use crate::operations::{Attempts, RESOURCE, checked_group, event_for, may_write, within_reach};
use crate::store::{self, GROUP, Group, MEMBER, MEMBER_ITEM, MemberType, MemberUser, Membership};

pub const ADD_MEMBER: AuditAction = AuditAction::new("group.member_add", "group");
pub const REMOVE_MEMBER: AuditAction = AuditAction::new("group.member_remove", "group");

/// A group is directly contained in at most this many groups, and directly contains at most
/// `MAX_CHILD_GROUPS`: deleting a group detaches it from all of them in one transaction
/// (≤ 100 actions), and a walk level stays one small batch.
pub const MAX_PARENT_GROUPS: usize = 25;
pub const MAX_CHILD_GROUPS: usize = 40;

const ALREADY: &str = "Already a member of this group";
const CYCLE: &str = "Adding this group would create a cycle";
/// Groups per TransactGetItems of the cycle check (100 items at most, one is the version).
const ISOLATED_GROUPS: usize = 99;

/// Who is added.
pub use shared::membership::UserOrGroup as MemberRef;

/// A direct member as the API shows it.
pub struct Member {
    pub member_type: MemberType,
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub added_at: Timestamp,
}

/// A user reached through nesting, with the groups it came through (from the group asked
/// about down to the group that contains the user directly).
pub struct EffectiveMember {
    pub id: UserId,
    pub email: String,
    pub name: Option<String>,
    pub path: Vec<GroupId>,
}

/// Members of a page with their names: users and groups read in one batch.
async fn described(state: &AppState, memberships: Vec<Membership>) -> Result<Vec<Member>> {
    let key_of = |m: &Membership| -> Option<Key> {
        match m.member_type {
            MemberType::User => UserId::parse(&m.member_id).ok().map(|u| keys::user(&u)),
            MemberType::Group => GroupId::parse(&m.member_id).ok().map(|g| keys::group(&g)),
        }
    };
    let wanted: Vec<Key> = memberships.iter().filter_map(key_of).collect();
    let loaded = state.store().load(&wanted).await?;
    let mut out = Vec::with_capacity(memberships.len());
    for m in memberships {
        let Some(key) = key_of(&m) else { continue };
        let (name, email) = match m.member_type {
            MemberType::User => match loaded.get::<MemberUser>(&key)? {
                Some(u) if u.is_live() => (u.name(), Some(u.email)),
                _ => continue,
            },
            MemberType::Group => match loaded.get::<GroupNode>(&key)? {
                Some(g) if g.is_live() => (Some(g.name), None),
                _ => continue,
            },
        };
        out.push(Member {
            member_type: m.member_type,
            id: m.member_id,
            name,
            email,
            added_at: m.added_at,
        });
    }
    Ok(out)
}

/// List Group Members: users first, then groups, each newest first (by id).
pub async fn list(
    state: &AppState,
    caller: &Caller,
    id: &GroupId,
    page: &PageRequest,
) -> Result<Page<Member>> {
    let (principal, group, _) = checked_group(state, caller, id, &[]).await?;
    within_reach(state, &principal, &group).await?;
    let query = ListQuery {
        binding: format!("group-members|group={id}|user={}", principal.actor_id()),
        spec: QuerySpec {
            index: None,
            partition: (keys::PK, keys::group(id).pk),
            equals: vec![("entity", MEMBER_ENTITY.to_owned())],
            contains: None,
            compare: Vec::new(),
        },
        known_total: Some(group.member_count),
    };
    let found: Page<Membership> = lists::page(state, &query, page).await?;
    Ok(Page {
        items: described(state, found.items).await?,
        pagination: found.pagination,
    })
}

/// Add Group Member: a live user or group of the group's own tenant (anything else: 404, so
/// nothing is learnt about other tenants), not yet a member (409), no cycle (409).
pub async fn add(
    state: &AppState,
    caller: &Caller,
    id: &GroupId,
    member: &MemberRef,
    meta: &RequestMeta,
) -> Result<Member> {
    match member {
        MemberRef::User(user) => {
            let attempts = Attempts::default();
            lifecycle::retry_stale("group", || {
                add_user(state, caller, id, user, meta, attempts.next_is_retry())
            })
            .await
        }
        MemberRef::Group(child) => {
            let attempts = Attempts::default();
            lifecycle::retry_stale("group nesting", || {
                add_group(state, caller, id, child, meta, attempts.next_is_retry())
            })
            .await
        }
    }
}

async fn add_user(
    state: &AppState,
    caller: &Caller,
    id: &GroupId,
    user: &UserId,
    meta: &RequestMeta,
    retry: bool,
) -> Result<Member> {
    let (principal, group, loaded) = checked_group(
        state,
        caller,
        id,
        &[keys::user(user), keys::group_member(id, user.as_str())],
    )
    .await?;
    let partner = may_write(state, &principal, &group, ADD_MEMBER, meta, retry).await?;
    let found = loaded
        .get::<MemberUser>(&keys::user(user))?
        .filter(|u| u.is_live() && u.tenant_id == group.tenant_id)
        .ok_or(Error::NotFound("User"))?;
    if loaded.has(&keys::group_member(id, user.as_str())) {
        return Err(Error::conflict(ALREADY));
    }
    let membership = Membership {
        group_id: id.clone(),
        tenant_id: group.tenant_id.clone(),
        member_type: MemberType::User,
        member_id: user.to_string(),
        added_at: Timestamp::now(),
    };
    let event = added_event(&principal, &group, &partner, &membership, meta);
    match store::add_user(state.store(), &membership, user, &partner, &event).await {
        Ok(()) => Ok(Member {
            member_type: MemberType::User,
            id: user.to_string(),
            name: found.name(),
            email: Some(found.email),
            added_at: membership.added_at,
        }),
        Err(err) => Err(match err.refused_by() {
            Some(MEMBER) => Error::conflict(ALREADY),
            Some(GROUP) => Error::NotFound(RESOURCE),
            Some(MEMBER_ITEM) => Error::NotFound("User"),
            _ => err.into(),
        }),
    }
}

fn added_event(
    principal: &shared::access::Principal,
    group: &Group,
    partner: &PartnerId,
    m: &Membership,
    meta: &RequestMeta,
) -> shared::audit::AuditEvent {
    let member = serde_json::json!({"member_type": m.member_type, "member_id": m.member_id});
    event_for(principal, ADD_MEMBER, group, partner, meta).with_changes(
        &serde_json::json!({}),
        &serde_json::json!({ "member": member }),
    )
}

async fn add_group(
    state: &AppState,
    caller: &Caller,
    id: &GroupId,
    child: &GroupId,
    meta: &RequestMeta,
    retry: bool,
) -> Result<Member> {
    let (principal, group, loaded) = checked_group(
        state,
        caller,
        id,
        &[keys::group(child), keys::group_member(id, child.as_str())],
    )
    .await?;
    let partner = may_write(state, &principal, &group, ADD_MEMBER, meta, retry).await?;
    let found = loaded
        .get::<Group>(&keys::group(child))?
        .filter(|g| g.status != shared::values::Status::Deleted && g.tenant_id == group.tenant_id)
        .ok_or(Error::NotFound(RESOURCE))?;
    if child == id {
        return Err(Error::conflict(CYCLE));
    }
    if loaded.has(&keys::group_member(id, child.as_str())) {
        return Err(Error::conflict(ALREADY));
    }
    if group.child_groups.len() >= MAX_CHILD_GROUPS {
        return Err(Error::conflict(format!(
            "A group may contain at most {MAX_CHILD_GROUPS} groups directly"
        )));
    }
    if found.parent_groups.len() >= MAX_PARENT_GROUPS {
        return Err(Error::conflict(format!(
            "A group may be in at most {MAX_PARENT_GROUPS} groups directly"
        )));
    }
    let nesting = nesting_of(state, &group, child).await?;
    if nesting.closes_cycle {
        return Err(Error::conflict(CYCLE));
    }
    let membership = Membership {
        group_id: id.clone(),
        tenant_id: group.tenant_id.clone(),
        member_type: MemberType::Group,
        member_id: child.to_string(),
        added_at: Timestamp::now(),
    };
    let event = added_event(&principal, &group, &partner, &membership, meta);
    match store::add_group(
        state.store(),
        &membership,
        child,
        nesting.version,
        &partner,
        &event,
    )
    .await
    {
        Ok(()) => Ok(Member {
            member_type: MemberType::Group,
            id: child.to_string(),
            name: Some(found.name),
            email: None,
            added_at: membership.added_at,
        }),
        Err(err) => Err(match err.refused_by() {
            Some(MEMBER) => Error::conflict(ALREADY),
            Some(GROUP) | Some(MEMBER_ITEM) => Error::NotFound(RESOURCE),
            // Guard::Item (the nesting version) → Stale → re-read and re-checked.
            _ => err.into(),
        }),
    }
}

struct Nesting {
    /// The tenant's nesting version, read before the walk.
    version: u64,
    closes_cycle: bool,
}

/// Whether nesting `child` into `parent` would close a cycle: is `parent` among the groups
/// `child` contains, at any depth? The nesting version and `child` itself are read first (in
/// one batch), so a nesting that commits after this read moves the version and refuses ours.
async fn nesting_of(state: &AppState, parent: &Group, child: &GroupId) -> Result<Nesting> {
    let nesting_key = keys::group_nesting(&parent.tenant_id);
    // Every read of the walk is one TransactGetItems with the nesting version: each level is
    // then seen wholly before or wholly after any nesting (a BatchGetItem could show a racing
    // nesting's version moved and its parent not yet), and the same version on every level
    // means no nesting committed during the walk. A moved version → re-read from the start.
    let mut version: Option<u64> = None;
    let read_level = |ids: Vec<GroupId>| {
        let nesting_key = nesting_key.clone();
        async move {
            let mut nodes: HashMap<GroupId, GroupNode> = HashMap::new();
            let mut seen_version = None;
            for chunk in ids.chunks(ISOLATED_GROUPS) {
                let mut wanted = vec![nesting_key.clone()];
                wanted.extend(chunk.iter().map(keys::group));
                let loaded = state.store().load_isolated(&wanted).await?;
                let v = loaded.number(&nesting_key, "version").max(0) as u64;
                if seen_version.is_some_and(|seen| seen != v) {
                    return Err(Error::Stale);
                }
                seen_version = Some(v);
                for id in chunk {
                    if let Some(node) = loaded.get::<GroupNode>(&keys::group(id))? {
                        nodes.insert(id.clone(), node);
                    }
                }
            }
            Ok::<_, Error>((seen_version.unwrap_or(0), nodes))
        }
    };
    let mut seen: HashSet<GroupId> = HashSet::from([child.clone()]);
    let mut frontier: Vec<GroupId> = vec![child.clone()];
    let mut first = true;
    while !frontier.is_empty() {
        if !first && frontier.contains(&parent.id) {
            return Ok(Nesting {
                version: version.unwrap_or(0),
                closes_cycle: true,
            });
        }
        let (v, nodes) = read_level(frontier.clone()).await?;
        if version.is_some_and(|read| read != v) {
            return Err(Error::Stale);
        }
        version = Some(v);
        if first && !nodes.contains_key(child) {
            return Err(Error::NotFound(RESOURCE));
        }
        first = false;
        frontier = frontier
            .iter()
            .filter_map(|g| nodes.get(g))
            .filter(|n| n.is_live())
            .flat_map(|n| n.child_groups.iter().cloned())
            .filter(|g| seen.insert(g.clone()))
            .collect();
    }
    Ok(Nesting {
        version: version.unwrap_or(0),
        closes_cycle: false,
    })
}

/// Remove Group Member: 404 if `member_id` is not a direct member.
pub async fn remove(
    state: &AppState,
    caller: &Caller,
    id: &GroupId,
    member_id: &str,
    meta: &RequestMeta,
) -> Result<()> {
    let attempts = Attempts::default();
    lifecycle::retry_stale("group", || async {
        let key = keys::group_member(id, member_id);
        let (principal, group, loaded) =
            checked_group(state, caller, id, std::slice::from_ref(&key)).await?;
        let retry = attempts.next_is_retry();
        let partner = may_write(state, &principal, &group, REMOVE_MEMBER, meta, retry).await?;
        let membership: Membership = loaded.get(&key)?.ok_or(Error::NotFound("Member"))?;
        let member = serde_json::json!({"member_type": membership.member_type, "member_id": membership.member_id});
        let event = event_for(&principal, REMOVE_MEMBER, &group, &partner, meta)
            .with_changes(&serde_json::json!({ "member": member }), &serde_json::json!({}));
        Ok(store::remove(state.store(), &membership, group.version, &partner, &event).await?)
    })
    .await
}

/// List Effective Members: every user in the group or in a group nested in it at any depth,
/// each once with the shortest path it came through (breadth first; among equally short paths,
/// the one through the lower group id). Ordered by that path's length, then newest first.
///
/// Cost: one batch per nesting level, then every user membership of every reached group (a
/// Query per group, all pages) to answer each user once with an exact total, then one batch of
/// the page's users. See `docs/data-model.md`.
pub async fn effective(
    state: &AppState,
    caller: &Caller,
    id: &GroupId,
    page: &PageRequest,
) -> Result<Page<EffectiveMember>> {
    let (principal, group, _) = checked_group(state, caller, id, &[]).await?;
    within_reach(state, &principal, &group).await?;
    let binding = format!("group-effective|group={id}|user={}", principal.actor_id());
    let secret = state.keys().cursor_secret().await?;
    let reached = membership::descendants(state.store(), &group.id, &group.child_groups).await?;
    let users = membership::users_of_groups(state.store(), &reached, &mut HashSet::new()).await?;
    let slice = pagination::page_of_computed(&secret, &binding, page, users)?;
    let wanted: Vec<Key> = slice.items.iter().map(|(u, _)| keys::user(u)).collect();
    let loaded = state.store().load(&wanted).await?;
    let mut items = Vec::with_capacity(slice.items.len());
    for (user, path) in slice.items {
        if let Some(u) = loaded
            .get::<MemberUser>(&keys::user(&user))?
            .filter(MemberUser::is_live)
        {
            items.push(EffectiveMember {
                name: u.name(),
                id: user,
                email: u.email,
                path,
            });
        }
    }
    Ok(Page {
        items,
        pagination: slice.pagination,
    })
}
