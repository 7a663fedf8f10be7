//! Assignments (SPEC §4.7, ours): the users and groups an application is for, and what follows
//! from them through group nesting — the application's effective users, and the reverse view,
//! the applications a user or a group reaches. The applications group writes assignments; the
//! users and groups groups answer the reverse views, so the read side lives here.
//!
//! Items: one per (application, assignee) in the application's assignments partition
//! (`ASSIGNMENTS#<app>` / `ASSIGNEE#<usr|grp>`, apart from the application's own so that IAM can
//! let an unassign delete it and never the application), so an assignee is assigned at most once
//! and the assignee's id names the assignment. GSI1 `ASSIGNEE#<usr|grp>#APPS` / `<app>` lists what one user or group is assigned
//! to. Coverage: a GLOBAL application covers every tenant, a PARTNER application its partner's
//! tenants (as they are now: a transferred tenant's assignments stop counting), a TENANT
//! application its tenant. An assignment outside the coverage, or of a deleted user or group,
//! is never counted.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::hierarchy::{AppScope, Application, Tenant, User};
use crate::ids::{ApplicationId, GroupId, TenantId, UserId};
use crate::lifecycle::Lifecycle;
use crate::membership::{self, GroupNode};
use crate::store::{Item, QuerySpec, Store, StoreError, decode, encode, keys, s, with_keys};
use crate::time::Timestamp;

/// The `entity` of an assignment item.
pub const ASSIGNMENT_ENTITY: &str = "APP_ASSIGNMENT";
/// Items asked of each Query call when a whole partition is wanted (≤ 1 MB a call).
const QUERY_PAGE: usize = 100_000;
/// Assignee partitions of GSI1 read at once by one reverse view.
const CONCURRENT_QUERIES: usize = 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AssigneeType {
    User,
    Group,
}

/// One assignment as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    pub application_id: ApplicationId,
    pub assignee_type: AssigneeType,
    /// `usr_…` or `grp_…`; also the assignment's id.
    pub assignee_id: String,
    /// The assignee's tenant.
    pub tenant_id: TenantId,
    pub created_at: Timestamp,
    /// The admin user or platform application that assigned it.
    pub created_by: String,
}

impl Assignment {
    pub fn to_item(&self) -> Result<Item, StoreError> {
        let key = keys::app_assignment(&self.application_id, &self.assignee_id);
        let mut item = with_keys(encode(self)?, &key, ASSIGNMENT_ENTITY);
        item.insert(
            keys::GSI1PK.into(),
            s(keys::apps_of_assignee(&self.assignee_id)),
        );
        item.insert(keys::GSI1SK.into(), s(self.application_id.to_string()));
        Ok(item)
    }
}

/// How a user or a group reaches an application: assigned itself, or through the groups of the
/// path (from the assigned group down to the group that holds the user or is the group asked
/// about).
#[derive(Clone, Debug, PartialEq)]
pub enum Via {
    Direct,
    Groups(Vec<GroupId>),
}

impl Via {
    /// Shorter provenance first: a direct assignment, then the shorter group path, then the
    /// lower group ids.
    fn rank(&self) -> (usize, Vec<GroupId>) {
        match self {
            Self::Direct => (0, Vec::new()),
            Self::Groups(path) => (path.len(), path.clone()),
        }
    }
}

/// Whether the application is for users of this tenant, as the tenant is now.
pub fn covers(app: &Application, tenant: &Tenant) -> bool {
    match app.scope {
        AppScope::Global => true,
        AppScope::Partner => app.partner_id.as_ref() == Some(&tenant.partner_id),
        AppScope::Tenant => app.tenant_id.as_ref() == Some(&tenant.id),
    }
}

/// Every assignment of an application, in assignee-id order (consistent, all pages).
pub async fn of_application(
    store: &Store,
    app: &ApplicationId,
) -> Result<Vec<Assignment>, StoreError> {
    let spec = QuerySpec {
        index: None,
        partition: (keys::PK, keys::assignments_of_app(app)),
        equals: vec![("entity", ASSIGNMENT_ENTITY.to_owned())],
        contains: None,
        compare: Vec::new(),
    };
    all_pages(store, &spec).await
}

/// The assignments of one user or group (GSI1: eventually consistent).
pub async fn of_assignee(store: &Store, assignee: &str) -> Result<Vec<Assignment>, StoreError> {
    let spec = QuerySpec {
        index: Some(keys::GSI1),
        partition: (keys::GSI1PK, keys::apps_of_assignee(assignee)),
        equals: vec![("entity", ASSIGNMENT_ENTITY.to_owned())],
        contains: None,
        compare: Vec::new(),
    };
    all_pages(store, &spec).await
}

async fn all_pages(store: &Store, spec: &QuerySpec) -> Result<Vec<Assignment>, StoreError> {
    let mut out = Vec::new();
    let mut start = None;
    loop {
        let page = store.query(spec, start, QUERY_PAGE).await?;
        for item in page.items {
            out.push(decode::<Assignment>(item)?);
        }
        match page.last_key {
            Some(last) => start = Some(last),
            None => return Ok(out),
        }
    }
}

/// Tenants by id (live ones: not deleted), one consistent batch per 100.
pub async fn live_tenants(
    store: &Store,
    ids: impl IntoIterator<Item = TenantId>,
) -> Result<HashMap<TenantId, Tenant>, StoreError> {
    let ids: Vec<TenantId> = ids
        .into_iter()
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let wanted: Vec<_> = ids.iter().map(keys::tenant).collect();
    let loaded = store.load(&wanted).await?;
    let mut out = HashMap::with_capacity(ids.len());
    for (id, key) in ids.into_iter().zip(&wanted) {
        if let Some(t) = loaded.get::<Tenant>(key)?.filter(|t| !t.is_deleted()) {
            out.insert(id, t);
        }
    }
    Ok(out)
}

/// A user an application reaches, with its tenant and its provenance.
pub struct EffectiveUser {
    pub user: UserId,
    pub tenant: TenantId,
    pub via: Via,
}

/// Every user the application reaches — assigned directly or in an assigned group, at any
/// nesting depth — each once with its shortest provenance (direct first), in the tenants the
/// application covers and `keep` accepts (the caller's reach, a `tenant_id` filter). Users are
/// not read here: the caller reads the page's users and leaves out those no longer live.
///
/// Cost: one Query of the application's assignments (all pages), one batch of their tenants,
/// one batch of the directly assigned users and the assigned groups, one batch per
/// nesting level below them, one Query per reached group (16 at a time, all pages).
pub async fn effective_users(
    store: &Store,
    app: &Application,
    keep: impl Fn(&Tenant) -> bool,
) -> Result<(Vec<EffectiveUser>, HashMap<TenantId, Tenant>), StoreError> {
    let assignments = of_application(store, &app.id).await?;
    let tenants: HashMap<TenantId, Tenant> =
        live_tenants(store, assignments.iter().map(|a| a.tenant_id.clone()))
            .await?
            .into_iter()
            .filter(|(_, t)| covers(app, t) && keep(t))
            .collect();
    let counted: Vec<&Assignment> = assignments
        .iter()
        .filter(|a| tenants.contains_key(&a.tenant_id))
        .collect();
    let mut seen: HashSet<UserId> = HashSet::new();
    let mut out = Vec::new();
    // Directly assigned users are read before paging (a deleted one is left out, so the total
    // is what is listed); users reached through groups are members, and a deleted user's
    // memberships go with it.
    let direct: Vec<(UserId, TenantId)> = counted
        .iter()
        .filter(|a| a.assignee_type == AssigneeType::User)
        .filter_map(|a| Some((UserId::parse(&a.assignee_id).ok()?, a.tenant_id.clone())))
        .collect();
    let ids: Vec<UserId> = direct.iter().map(|(u, _)| u.clone()).collect();
    let assigned_groups: Vec<GroupId> = counted
        .iter()
        .filter(|a| a.assignee_type == AssigneeType::Group)
        .filter_map(|a| GroupId::parse(&a.assignee_id).ok())
        .collect();
    // The assigned users and groups in one batch.
    let wanted: Vec<_> = ids
        .iter()
        .map(keys::user)
        .chain(assigned_groups.iter().map(keys::group))
        .collect();
    let loaded = store.load(&wanted).await?;
    let mut live: HashSet<UserId> = HashSet::new();
    for id in &ids {
        if loaded
            .get::<User>(&keys::user(id))?
            .is_some_and(|u| !u.is_deleted())
        {
            live.insert(id.clone());
        }
    }
    let mut nodes: HashMap<GroupId, GroupNode> = HashMap::new();
    for id in &assigned_groups {
        if let Some(node) = loaded.get::<GroupNode>(&keys::group(id))? {
            nodes.insert(id.clone(), node);
        }
    }
    for (user, tenant) in direct {
        if live.contains(&user) && seen.insert(user.clone()) {
            out.push(EffectiveUser {
                user,
                tenant,
                via: Via::Direct,
            });
        }
    }
    // Every group reached from every assigned group, each once with its shortest path.
    let mut reached: Vec<(GroupId, Vec<GroupId>, TenantId)> = Vec::new();
    for group in &assigned_groups {
        let Some(node) = nodes
            .get(group)
            .filter(|n| n.is_live() && tenants.contains_key(&n.tenant_id))
        else {
            continue;
        };
        for (id, path) in membership::descendants(store, &node.id, &node.child_groups).await? {
            reached.push((id, path, node.tenant_id.clone()));
        }
    }
    reached.sort_by(|a, b| (a.1.len(), &a.1).cmp(&(b.1.len(), &b.1)));
    let mut groups_seen: HashSet<GroupId> = HashSet::new();
    reached.retain(|(id, _, _)| groups_seen.insert(id.clone()));
    let tenant_of: HashMap<GroupId, TenantId> = reached
        .iter()
        .map(|(id, _, t)| (id.clone(), t.clone()))
        .collect();
    let walk: Vec<(GroupId, Vec<GroupId>)> = reached
        .into_iter()
        .map(|(id, path, _)| (id, path))
        .collect();
    for (user, path) in membership::users_of_groups(store, &walk, &mut seen).await? {
        let Some(tenant) = path.last().and_then(|g| tenant_of.get(g)).cloned() else {
            continue;
        };
        out.push(EffectiveUser {
            user,
            tenant,
            via: Via::Groups(path),
        });
    }
    Ok((out, tenants))
}

/// Whether `user` is one of the application's effective users: assigned itself, or in a live
/// group assigned to it at any nesting depth (SPEC §6.2, `assignment_required`). The
/// assignments are read consistently from the application's partition, so an unassign stops
/// the next sign-in. The caller has checked that the application covers the user's tenant
/// (groups are of the user's tenant).
///
/// Cost: one read of the user's own assignment; if absent, one Query of the user's
/// memberships, one batch per nesting level above them, then one batch of the groups'
/// assignments (per 100 groups).
pub async fn admits(store: &Store, app: &ApplicationId, user: &UserId) -> Result<bool, StoreError> {
    let own = keys::app_assignment(app, user.as_str());
    if store.load(std::slice::from_ref(&own)).await?.has(&own) {
        return Ok(true);
    }
    let groups = membership::groups_of_user(store, user).await?;
    for chunk in groups.chunks(100) {
        let wanted: Vec<_> = chunk
            .iter()
            .map(|g| keys::app_assignment(app, g.group.id.as_str()))
            .collect();
        let loaded = store.load(&wanted).await?;
        if wanted.iter().any(|key| loaded.has(key)) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Users by id that are live and still in `tenant` (one consistent batch per 100).
pub async fn live_users(
    store: &Store,
    ids: &[UserId],
) -> Result<HashMap<UserId, User>, StoreError> {
    let wanted: Vec<_> = ids.iter().map(keys::user).collect();
    let loaded = store.load(&wanted).await?;
    let mut out = HashMap::with_capacity(ids.len());
    for (id, key) in ids.iter().zip(&wanted) {
        if let Some(u) = loaded.get::<User>(key)?.filter(|u| !u.is_deleted()) {
            out.insert(id.clone(), u);
        }
    }
    Ok(out)
}

/// An application a user or group reaches, with its provenance.
pub struct ReachedApplication {
    pub application: Application,
    pub via: Via,
}

/// The applications a user reaches: assigned to the user itself, or to any group the user is
/// in (directly or through nesting), that cover the user's tenant and are not deleted; each
/// once with its shortest provenance, direct first, then by path length.
///
/// Cost: one Query of the user's memberships and one batch per nesting level above them
/// (`membership::groups_of_user`), one GSI1 Query per group and for the user (16 at a time),
/// one batch of the applications.
pub async fn applications_of_user(
    store: &Store,
    user: &UserId,
    tenant: &Tenant,
) -> Result<Vec<ReachedApplication>, StoreError> {
    let groups = membership::groups_of_user(store, user).await?;
    let mut sources: Vec<(String, Via)> = vec![(user.to_string(), Via::Direct)];
    sources.extend(
        groups
            .into_iter()
            .map(|g| (g.group.id.to_string(), Via::Groups(g.path))),
    );
    reached_by(store, sources, tenant).await
}

/// The applications a group reaches: assigned to the group itself (`direct`) or to a group
/// containing it at any depth (the path from that group down to this one).
pub async fn applications_of_group(
    store: &Store,
    group: GroupNode,
    tenant: &Tenant,
) -> Result<Vec<ReachedApplication>, StoreError> {
    let sources = membership::ancestors(store, vec![group])
        .await?
        .into_iter()
        .map(|(g, path)| {
            let via = if path.len() == 1 {
                Via::Direct
            } else {
                Via::Groups(path)
            };
            (g.id.to_string(), via)
        })
        .collect();
    reached_by(store, sources, tenant).await
}

async fn reached_by(
    store: &Store,
    sources: Vec<(String, Via)>,
    tenant: &Tenant,
) -> Result<Vec<ReachedApplication>, StoreError> {
    let mut best: HashMap<ApplicationId, Via> = HashMap::new();
    for chunk in sources.chunks(CONCURRENT_QUERIES) {
        let mut reads = tokio::task::JoinSet::new();
        for (i, (assignee, _)) in chunk.iter().enumerate() {
            let (store, assignee) = (store.clone(), assignee.clone());
            reads.spawn(async move { (i, of_assignee(&store, &assignee).await) });
        }
        let mut found: Vec<Vec<Assignment>> = vec![Vec::new(); chunk.len()];
        while let Some(joined) = reads.join_next().await {
            let (i, read) = joined.map_err(|e| StoreError::Other(e.to_string()))?;
            found[i] = read?;
        }
        for ((_, via), assignments) in chunk.iter().zip(found) {
            for a in assignments {
                let better = best
                    .get(&a.application_id)
                    .is_none_or(|held| via.rank() < held.rank());
                if better {
                    best.insert(a.application_id, via.clone());
                }
            }
        }
    }
    let ids: Vec<ApplicationId> = best.keys().cloned().collect();
    let wanted: Vec<_> = ids.iter().map(keys::application).collect();
    let loaded = store.load(&wanted).await?;
    let mut out = Vec::with_capacity(ids.len());
    for (id, key) in ids.into_iter().zip(&wanted) {
        let Some(app) = loaded
            .get::<Application>(key)?
            .filter(|a| !a.is_deleted() && covers(a, tenant))
        else {
            continue;
        };
        if let Some(via) = best.remove(&id) {
            out.push(ReachedApplication {
                application: app,
                via,
            });
        }
    }
    // Direct first, then shorter paths; newest application first among equals.
    out.sort_by(|a, b| {
        (a.via.rank().0)
            .cmp(&b.via.rank().0)
            .then_with(|| b.application.id.cmp(&a.application.id))
    });
    Ok(out)
}

// ---- what the API shows of provenance (wire types the applications, users and groups groups
// share) ----------------------------------------------------------------------------------------

/// `"direct"`.
#[derive(Serialize, ToSchema)]
pub enum DirectlyAssigned {
    #[serde(rename = "direct")]
    Direct,
}

/// How it is reached: `"direct"` (assigned itself), or the path of group ids from the assigned
/// group down to the group that holds the user (or is the group asked about).
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum ViaResponse {
    Direct(DirectlyAssigned),
    Groups(Vec<String>),
}

impl From<Via> for ViaResponse {
    fn from(via: Via) -> Self {
        match via {
            Via::Direct => Self::Direct(DirectlyAssigned::Direct),
            Via::Groups(path) => Self::Groups(path.iter().map(ToString::to_string).collect()),
        }
    }
}

/// An application a user or group reaches, with how.
#[derive(Serialize, ToSchema)]
pub struct ReachedApplicationResponse {
    #[serde(flatten)]
    pub application: super::ApplicationResponse,
    pub via: ViaResponse,
}

impl From<ReachedApplication> for ReachedApplicationResponse {
    fn from(r: ReachedApplication) -> Self {
        Self {
            application: r.application.into(),
            via: r.via.into(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ReachedApplicationList {
    pub items: Vec<ReachedApplicationResponse>,
    pub pagination: crate::pagination::Pagination,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::describe;

    #[test]
    fn an_assignment_item_is_pinned() {
        let a = Assignment {
            application_id: ApplicationId::parse("app_01kb2z8hqv3m4n5p6r7s8t9w0g").unwrap(),
            assignee_type: AssigneeType::Group,
            assignee_id: "grp_01kb2z8hqv3m4n5p6r7s8t9w1g".into(),
            tenant_id: TenantId::parse("tnt_01kb2z8hqv3m4n5p6r7s8t9w2g").unwrap(),
            created_at: Timestamp::parse("2026-01-02T03:04:05.000006Z").unwrap(),
            created_by: "usr_01kb2z8hqv3m4n5p6r7s8t9w3g".into(),
        };
        let item = describe(&a.to_item().unwrap());
        assert_eq!(item["PK"], "S:ASSIGNMENTS#app_01kb2z8hqv3m4n5p6r7s8t9w0g");
        assert_eq!(item["SK"], "S:ASSIGNEE#grp_01kb2z8hqv3m4n5p6r7s8t9w1g");
        assert_eq!(
            item["GSI1PK"],
            "S:ASSIGNEE#grp_01kb2z8hqv3m4n5p6r7s8t9w1g#APPS"
        );
        assert_eq!(item["GSI1SK"], "S:app_01kb2z8hqv3m4n5p6r7s8t9w0g");
        assert_eq!(item["entity"], "S:APP_ASSIGNMENT");
        assert_eq!(item["assignee_type"], "S:GROUP");
        let back: Assignment = decode(a.to_item().unwrap()).unwrap();
        assert_eq!(back, a);
    }

    #[test]
    fn direct_provenance_ranks_before_any_group_path() {
        let g = GroupId::parse("grp_01kb2z8hqv3m4n5p6r7s8t9w1g").unwrap();
        assert!(Via::Direct.rank() < Via::Groups(vec![g.clone()]).rank());
        assert!(Via::Groups(vec![g.clone()]).rank() < Via::Groups(vec![g.clone(), g]).rank());
    }
}
