//! Group membership as a second group reads it: the users group answers
//! `GET /users/{user_id}/groups` (SPEC §4.4) with [`groups_of_user`]. The groups themselves —
//! their items, members and the cycle rule — belong to `functions/groups`; this module holds only
//! the read side both need: a group's place in the nesting graph and the walk up from a user.
//!
//! The graph: a group item keeps the ids of the groups it directly contains (`child_groups`)
//! and of the groups that directly contain it (`parent_groups`), each a string set of at most a
//! few dozen ids (the groups function caps both), so one level of a walk is one consistent
//! BatchGetItem. A user's direct groups come from its membership items, listed under GSI1
//! `USER#<usr>#GROUPS`.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::ids::{GroupId, TenantId, UserId};
use crate::store::{Expr, QuerySpec, Store, StoreError, Tx, decode, keys, n};
use crate::time::Timestamp;
use crate::validation::{self, Fields, Problem};
use crate::values::Status;

/// The `entity` of a membership item (`GROUP#<grp>` / `MEMBER#<usr|grp>`).
pub const MEMBER_ENTITY: &str = "GROUP_MEMBER";
/// BatchGetItem takes at most this many keys.
const BATCH_KEYS: usize = 100;
/// Items asked of each Query call when all of a partition is wanted (DynamoDB answers at most
/// 1 MB a call).
const QUERY_PAGE: usize = 100_000;

/// A group as the membership walk reads it (the group item, fields the walk and a group
/// listing need; the groups function writes the full item).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupNode {
    pub id: GroupId,
    pub tenant_id: TenantId,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `SECURITY` or `DISTRIBUTION_LIST`.
    pub group_type: String,
    pub status: Status,
    #[serde(
        with = "serde_dynamo::string_set",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub child_groups: Vec<GroupId>,
    #[serde(
        with = "serde_dynamo::string_set",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub parent_groups: Vec<GroupId>,
    pub created_at: Timestamp,
}

impl GroupNode {
    pub fn is_live(&self) -> bool {
        self.status != Status::Deleted
    }
}

/// A user or a group named in a body by exactly one of `user_id` and `group_id` (a group's new
/// member, an application's assignee).
#[derive(Clone, Debug, PartialEq)]
pub enum UserOrGroup {
    User(UserId),
    Group(GroupId),
}

impl TryFrom<Fields> for UserOrGroup {
    type Error = crate::error::Error;

    fn try_from(mut body: Fields) -> Result<Self, Self::Error> {
        let user = body.optional("user_id", validation::user_ref);
        let group = body.optional("group_id", validation::group_ref);
        if user.is_some() == group.is_some() {
            let problem = if user.is_some() {
                Problem::value_error("give exactly one of user_id and group_id")
            } else {
                Problem::new("missing", "Field required")
            };
            body.reject("user_id", problem);
        }
        body.finish(|| match (user, group) {
            (Some(u), None) => Some(Self::User(u)),
            (None, Some(g)) => Some(Self::Group(g)),
            _ => None,
        })
    }
}

impl UserOrGroup {
    pub fn id(&self) -> &str {
        match self {
            Self::User(u) => u.as_str(),
            Self::Group(g) => g.as_str(),
        }
    }
}

/// How a user is in a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MembershipKind {
    /// The user is a member of the group itself.
    Direct,
    /// The user is in a group nested (at any depth) in this one, and not in it directly.
    Inherited,
}

#[derive(Clone, Debug, PartialEq)]
pub struct GroupOfUser {
    pub group: GroupNode,
    pub membership: MembershipKind,
    /// The shortest path of group ids from this group down to the user's direct group.
    pub path: Vec<GroupId>,
}

#[derive(Deserialize)]
struct MemberOf {
    group_id: GroupId,
}

/// Groups by id, live or not, in consistent batches of at most 100 keys. Missing (purged)
/// groups are absent from the answer.
pub async fn load_groups(
    store: &Store,
    ids: &[GroupId],
) -> Result<HashMap<GroupId, GroupNode>, StoreError> {
    let mut found = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(BATCH_KEYS) {
        let wanted: Vec<_> = chunk.iter().map(keys::group).collect();
        let loaded = store.load(&wanted).await?;
        for (id, key) in chunk.iter().zip(&wanted) {
            if let Some(node) = loaded.get::<GroupNode>(key)? {
                found.insert(id.clone(), node);
            }
        }
    }
    Ok(found)
}

/// The ids of the groups a user is a direct member of (deleted groups included: the caller
/// loads them and skips those).
pub async fn direct_group_ids(store: &Store, user: &UserId) -> Result<Vec<GroupId>, StoreError> {
    let spec = QuerySpec {
        index: Some(keys::GSI1),
        partition: (keys::GSI1PK, keys::groups_of_user(user)),
        equals: vec![("entity", MEMBER_ENTITY.to_owned())],
        contains: None,
        compare: Vec::new(),
    };
    let mut ids = Vec::new();
    let mut start = None;
    loop {
        let page = store.query(&spec, start, QUERY_PAGE).await?;
        for item in page.items {
            ids.push(decode::<MemberOf>(item)?.group_id);
        }
        match page.last_key {
            Some(last) => start = Some(last),
            None => return Ok(ids),
        }
    }
}

/// The guard of a group a user is detached from: unchanged since its version was read (every
/// membership change moves it), so a concurrent add or remove re-reads instead of miscounting.
pub const DETACHED_GROUP: crate::store::Guard = crate::store::Guard::Parent("group");

/// A user's direct membership in one group, as read to detach the user.
#[derive(Clone, Debug, PartialEq)]
pub struct Attachment {
    pub group: GroupId,
    /// The group's version when read; `None` once the group is purged (only its membership
    /// item is left to delete).
    pub group_version: Option<u64>,
}

#[derive(Deserialize)]
struct Versioned {
    version: u64,
}

/// The groups a user is directly in, each with its version, to detach the user. The index
/// names the candidates (it may still list a membership removed an instant ago); one
/// consistent BatchGetItem of the groups and the membership items then keeps only the
/// memberships that exist. Cost: one Query (all pages), and one BatchGetItem per 50 groups
/// when there are any.
pub async fn attachments(store: &Store, user: &UserId) -> Result<Vec<Attachment>, StoreError> {
    let ids = direct_group_ids(store, user).await?;
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(BATCH_KEYS / 2) {
        let mut wanted = Vec::with_capacity(chunk.len() * 2);
        for group in chunk {
            wanted.push(keys::group(group));
            wanted.push(keys::group_member(group, user.as_str()));
        }
        let loaded = store.load(&wanted).await?;
        for group in chunk {
            if !loaded.has(&keys::group_member(group, user.as_str())) {
                continue;
            }
            let version = loaded
                .get::<Versioned>(&keys::group(group))?
                .map(|v| v.version);
            found.push(Attachment {
                group: group.clone(),
                group_version: version,
            });
        }
    }
    Ok(found)
}

/// Adds to `tx` what removes a user from the given groups (read by [`attachments`]): each
/// membership, and each group's `member_count` −1 with its `version` moved, if the group is
/// unchanged since it was read (else refused by [`DETACHED_GROUP`]: read again). For the users
/// group's delete, in the user's own transaction: at most two actions per group, so a user in
/// more groups than the transaction has room for is detached over several.
pub fn detach_user(tx: &mut Tx, user: &UserId, groups: &[Attachment]) -> Result<(), StoreError> {
    for attached in groups {
        tx.delete(&keys::group_member(&attached.group, user.as_str()))?;
        if let Some(version) = attached.group_version {
            tx.update_if(
                &keys::group(&attached.group),
                "ADD member_count :minus, version :one",
                DETACHED_GROUP,
                Some("version = :read"),
                Expr::default()
                    .value(":minus", n(-1))
                    .value(":one", n(1))
                    .value(":read", n(version)),
            )?;
        }
    }
    Ok(())
}

/// Every live group the user is in: its direct groups (`DIRECT`), then every group containing
/// one of them at any depth (`INHERITED`), each once, nearest first. Cost: one Query (all pages)
/// of the user's memberships, then one BatchGetItem per nesting level above them.
pub async fn groups_of_user(store: &Store, user: &UserId) -> Result<Vec<GroupOfUser>, StoreError> {
    let direct_ids = direct_group_ids(store, user).await?;
    let loaded = load_groups(store, &direct_ids).await?;
    let direct: Vec<GroupNode> = direct_ids
        .iter()
        .filter_map(|id| loaded.get(id).filter(|g| g.is_live()).cloned())
        .collect();
    Ok(ancestors(store, direct)
        .await?
        .into_iter()
        .map(|(group, path)| GroupOfUser {
            membership: if path.len() == 1 {
                MembershipKind::Direct
            } else {
                MembershipKind::Inherited
            },
            group,
            path,
        })
        .collect())
}

/// The live groups `start` and every group containing one of them at any depth, each once,
/// breadth first (newest first within a level), each with the shortest path of group ids from
/// it down to the group of `start` it contains (a group of `start`: itself alone). One
/// BatchGetItem per level above `start`.
pub async fn ancestors(
    store: &Store,
    start: Vec<GroupNode>,
) -> Result<Vec<(GroupNode, Vec<GroupId>)>, StoreError> {
    let mut seen: HashSet<GroupId> = start.iter().map(|g| g.id.clone()).collect();
    let mut level: Vec<(GroupNode, Vec<GroupId>)> = start
        .into_iter()
        .filter(GroupNode::is_live)
        .map(|g| {
            let path = vec![g.id.clone()];
            (g, path)
        })
        .collect();
    level.sort_by(|a, b| b.0.id.cmp(&a.0.id));
    let mut out = Vec::new();
    while !level.is_empty() {
        let mut next: Vec<(GroupId, Vec<GroupId>)> = Vec::new();
        for (node, path) in &level {
            for parent in &node.parent_groups {
                if seen.insert(parent.clone()) {
                    let mut p = Vec::with_capacity(path.len() + 1);
                    p.push(parent.clone());
                    p.extend(path.iter().cloned());
                    next.push((parent.clone(), p));
                }
            }
        }
        out.append(&mut level);
        let ids: Vec<GroupId> = next.iter().map(|(id, _)| id.clone()).collect();
        let loaded = load_groups(store, &ids).await?;
        level = next
            .into_iter()
            .filter_map(|(id, path)| {
                loaded
                    .get(&id)
                    .filter(|g| g.is_live())
                    .map(|g| (g.clone(), path))
            })
            .collect();
        level.sort_by(|a, b| b.0.id.cmp(&a.0.id));
    }
    Ok(out)
}

/// The groups reached down from the live group `root` (itself included, live ones only; its
/// direct `children` as read with it), breadth first, each with the shortest path of group ids
/// from `root` to it (ties: through the lower group id). One consistent BatchGetItem per level
/// below `root`.
pub async fn descendants(
    store: &Store,
    root: &GroupId,
    children: &[GroupId],
) -> Result<Vec<(GroupId, Vec<GroupId>)>, StoreError> {
    let mut out = vec![(root.clone(), vec![root.clone()])];
    let mut seen: HashSet<GroupId> = HashSet::from([root.clone()]);
    let mut frontier: Vec<(GroupId, Vec<GroupId>)> = sorted(children)
        .into_iter()
        .filter(|g| seen.insert(g.clone()))
        .map(|g| (g.clone(), vec![root.clone(), g]))
        .collect();
    while !frontier.is_empty() {
        let ids: Vec<GroupId> = frontier.iter().map(|(g, _)| g.clone()).collect();
        let nodes = load_groups(store, &ids).await?;
        let mut next = Vec::new();
        for (id, path) in frontier {
            let Some(node) = nodes.get(&id).filter(|n| n.is_live()) else {
                continue;
            };
            for child in sorted(&node.child_groups) {
                if seen.insert(child.clone()) {
                    let mut p = path.clone();
                    p.push(child.clone());
                    next.push((child, p));
                }
            }
            out.push((id, path));
        }
        frontier = next;
    }
    Ok(out)
}

fn sorted(ids: &[GroupId]) -> Vec<GroupId> {
    let mut v = ids.to_vec();
    v.sort();
    v
}

#[derive(Deserialize)]
struct MemberRecord {
    member_id: String,
}

/// Every direct user member of one group, newest first (all pages of its partition).
pub async fn direct_user_ids(store: &Store, group: &GroupId) -> Result<Vec<UserId>, StoreError> {
    let spec = QuerySpec {
        index: None,
        partition: (keys::PK, keys::group(group).pk),
        equals: vec![
            ("entity", MEMBER_ENTITY.to_owned()),
            ("member_type", "USER".to_owned()),
        ],
        contains: None,
        compare: Vec::new(),
    };
    let mut out = Vec::new();
    let mut start = None;
    loop {
        let page = store.query(&spec, start, QUERY_PAGE).await?;
        for item in page.items {
            let m: MemberRecord = decode(item)?;
            if let Ok(u) = UserId::parse(&m.member_id) {
                out.push(u);
            }
        }
        match page.last_key {
            Some(last) => start = Some(last),
            None => return Ok(out),
        }
    }
}

/// Groups whose memberships one request reads at once.
const CONCURRENT_GROUPS: usize = 16;

/// The users of the given groups (`(group, path)` in the order the paths should win: shortest
/// first), each user once with the path of the first group that holds it directly. The groups'
/// partitions are read concurrently, 16 at a time, all pages each.
pub async fn users_of_groups(
    store: &Store,
    groups: &[(GroupId, Vec<GroupId>)],
    seen: &mut HashSet<UserId>,
) -> Result<Vec<(UserId, Vec<GroupId>)>, StoreError> {
    let mut users = Vec::new();
    for chunk in groups.chunks(CONCURRENT_GROUPS) {
        let mut reads = tokio::task::JoinSet::new();
        for (i, (group, _)) in chunk.iter().enumerate() {
            let (store, group) = (store.clone(), group.clone());
            reads.spawn(async move { (i, direct_user_ids(&store, &group).await) });
        }
        let mut found: Vec<Vec<UserId>> = vec![Vec::new(); chunk.len()];
        while let Some(joined) = reads.join_next().await {
            let (i, read) = joined.map_err(|e| StoreError::Other(e.to_string()))?;
            found[i] = read?;
        }
        for ((_, path), members) in chunk.iter().zip(found) {
            for user in members {
                if seen.insert(user.clone()) {
                    users.push((user, path.clone()));
                }
            }
        }
    }
    Ok(users)
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{describe, encode};

    #[test]
    fn the_nesting_sets_are_string_sets_and_absent_when_empty() {
        let at = Timestamp::parse("2026-01-02T03:04:05.000006Z").unwrap();
        let mut node = GroupNode {
            id: GroupId::parse("grp_01kb2z8hqv3m4n5p6r7s8t9w0g").unwrap(),
            tenant_id: TenantId::parse("tnt_01kb2z8hqv3m4n5p6r7s8t9w0g").unwrap(),
            name: "Ops".into(),
            description: None,
            group_type: "SECURITY".into(),
            status: Status::Active,
            child_groups: vec![],
            parent_groups: vec![GroupId::parse("grp_01kb2z8hqv3m4n5p6r7s8t9w1g").unwrap()],
            created_at: at,
        };
        let item = describe(&encode(&node).unwrap());
        assert!(!item.contains_key("child_groups"));
        assert!(item["parent_groups"].starts_with("Ss("), "{item:?}");
        node.child_groups = node.parent_groups.clone();
        let back: GroupNode = decode(encode(&node).unwrap()).unwrap();
        assert_eq!(back, node);
    }
}
