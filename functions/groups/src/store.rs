//! Group items and transactions.
//!
//! - the group: `GROUP#<grp>` / `GROUP`, listed per tenant (GSI1 `TENANT#<tnt>#GROUPS`) and
//!   platform-wide (GSI2 `GROUPS`); it keeps the ids of the groups it directly contains
//!   and is directly contained in (`child_groups`, `parent_groups`, string sets, capped), so a
//!   level of a nesting walk is one consistent BatchGetItem (`shared::membership`);
//! - a membership `GROUP#<grp>` / `MEMBER#<usr|grp>`, a user's listed under GSI1
//!   `USER#<usr>#GROUPS` (its groups, for `groups_of_user`);
//! - the name claim `UNIQUE#GROUP_NAME#<tnt>#<lower-cased name>`;
//! - the tenant's nesting version `GROUP_NESTING#<tnt>` / `VERSION`;
//! - counters of live groups per tenant and (8 shards) platform-wide, and the partner's count of
//!   its live tenants' groups (`tally::PartnerCount::Groups`, with the tenant's fence).
//!
//! No index names the group's partner: a partner's groups are its tenants' groups as they are
//! now (a tenant transfer moves them with the tenant, in its own transaction). The group's
//! `partner_id` is a hint every write checks against the tenant.
//!
//! `member_count` and the nesting sets move with `ADD`/`DELETE` in the membership's own
//! transaction and bump the group's `version`, so a concurrent PATCH (a full-item write against
//! the version it read) re-reads instead of losing them.

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};
use shared::audit::AuditEvent;
use shared::ids::{GroupId, PartnerId, TenantId, UserId};
use shared::membership::MEMBER_ENTITY;
use shared::store::counters::SHARDS;
use shared::store::tally::{self, PartnerCount};
use shared::store::write::{claim, lifecycle_item};
use shared::store::{Entity, Expr, Guard, Item, Key, Store, StoreError, Tx, keys, n, s, with_keys};
use shared::time::Timestamp;
use shared::values::Status;

/// The guard of the name claim.
pub const NAME: Guard = Guard::Unique("name");
/// The membership item: new on add (taken → already a member), present on remove.
pub const MEMBER: Guard = Guard::Unique("member");
/// The tenant a group is created in: it must exist and not be deleted.
pub const TENANT: Guard = Guard::Parent("tenant");
/// The group gaining or losing a member: live.
pub const GROUP: Guard = Guard::Parent("group");
/// The member being added: a live user, or a live group.
pub const MEMBER_ITEM: Guard = Guard::Parent("member item");

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GroupType {
    Security,
    DistributionList,
}

impl GroupType {
    pub const ALL: [(&'static str, GroupType); 2] = [
        ("SECURITY", GroupType::Security),
        ("DISTRIBUTION_LIST", GroupType::DistributionList),
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Security => "SECURITY",
            Self::DistributionList => "DISTRIBUTION_LIST",
        }
    }
}

/// A group as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub id: GroupId,
    pub tenant_id: TenantId,
    /// A hint: the partner of the tenant at the group's last write. A write assumes it and its
    /// transaction checks the tenant still belongs to it (`tenant_still_with`); reads and lists
    /// never rely on it (a tenant transfer does not rewrite its groups).
    pub partner_id: PartnerId,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub group_type: GroupType,
    pub status: Status,
    pub member_count: u64,
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
    pub updated_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<Timestamp>,
    pub version: u64,
}

impl Group {
    /// The lower-cased text `search` matches.
    pub fn search_text(&self) -> String {
        format!(
            "{} {}",
            self.name,
            self.description.as_deref().unwrap_or_default()
        )
        .trim_end()
        .to_lowercase()
    }
}

impl Entity for Group {
    const NAME: &'static str = "GROUP";

    fn key(&self) -> Key {
        keys::group(&self.id)
    }
}

shared::lifecycle_fields!(Group);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MemberType {
    User,
    Group,
}

/// One direct member of a group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Membership {
    pub group_id: GroupId,
    pub tenant_id: TenantId,
    pub member_type: MemberType,
    pub member_id: String,
    pub added_at: Timestamp,
}

impl Membership {
    pub fn key(&self) -> Key {
        keys::group_member(&self.group_id, &self.member_id)
    }
}

/// A user as a group member shows it (the user item; other fields are the users group's).
/// `status` stays a string so that a status this crate does not know (`DELETED`) still reads.
#[derive(Clone, Debug, Deserialize)]
pub struct MemberUser {
    pub tenant_id: TenantId,
    pub email: String,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    pub status: String,
}

impl MemberUser {
    /// The one place that decides whether a user still counts as a member: anything but a
    /// deleted user.
    pub fn is_live(&self) -> bool {
        self.status != "DELETED"
    }

    pub fn name(&self) -> Option<String> {
        self.display_name.clone().or_else(|| {
            match (self.first_name.as_deref(), self.last_name.as_deref()) {
                (Some(f), Some(l)) => Some(format!("{f} {l}")),
                (Some(one), None) | (None, Some(one)) => Some(one.to_owned()),
                (None, None) => None,
            }
        })
    }
}

/// The stored group; a deleted one (`purge_at`) leaves both list indexes.
pub fn group_item(group: &Group, purge_at: Option<Timestamp>) -> Result<Item, StoreError> {
    let mut item = lifecycle_item(
        group,
        purge_at,
        &[
            (keys::GSI1PK, keys::groups_of_tenant(&group.tenant_id)),
            (keys::GSI1SK, group.id.to_string()),
            (keys::GSI2PK, keys::ALL_GROUPS.to_owned()),
            (keys::GSI2SK, group.id.to_string()),
        ],
    )?;
    item.insert("search_text".into(), s(group.search_text()));
    Ok(item)
}

pub fn membership_item(m: &Membership) -> Result<Item, StoreError> {
    let mut item = with_keys(shared::store::encode(m)?, &m.key(), MEMBER_ENTITY);
    if m.member_type == MemberType::User {
        let user = UserId::parse(&m.member_id).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        item.insert(keys::GSI1PK.into(), s(keys::groups_of_user(&user)));
        item.insert(keys::GSI1SK.into(), s(m.group_id.to_string()));
    }
    Ok(item)
}

fn name_key(group: &Group) -> Key {
    keys::group_name(&group.tenant_id, &group.name.to_lowercase())
}

fn one_id(id: &GroupId) -> AttributeValue {
    AttributeValue::Ss(vec![id.to_string()])
}

/// Live-group counters of the tenant and the platform, and of the tenant's partner as the write
/// read it (`None`: the tenant is deleted, its share counted nowhere); the tenant's fence moved.
/// The caller holds the tenant as read in the same transaction.
fn count_groups(
    tx: &mut Tx,
    group: &Group,
    partner: Option<&PartnerId>,
    delta: i64,
) -> Result<(), StoreError> {
    PartnerCount::Groups.count_in_tenant(
        tx,
        &group.tenant_id,
        keys::group_count_shard,
        partner,
        delta,
    )
}

/// The keys holding the platform-wide total.
pub fn platform_count_keys() -> Vec<Key> {
    (0..SHARDS).map(keys::group_count_shard).collect()
}

/// Group (new), name claim, tenant (exists, not deleted, still the partner's), counters (the
/// partner's too), audit.
pub async fn create(store: &Store, group: &Group, event: &AuditEvent) -> Result<(), StoreError> {
    let mut tx = store.tx();
    tx.put_new(group_item(group, None)?, Guard::Item)?;
    claim(&mut tx, &name_key(group), group.id.as_str(), "name")?;
    tx.check(
        &keys::tenant(&group.tenant_id),
        TENANT,
        "attribute_exists(PK) AND #status <> :deleted AND partner_id = :partner",
        Expr::default()
            .name("#status", "status")
            .value(":deleted", s("DELETED"))
            .value(":partner", s(group.partner_id.to_string())),
    )?;
    count_groups(&mut tx, group, Some(&group.partner_id), 1)?;
    store.add_event(&mut tx, event)?;
    store.transact(tx).await
}

/// Group (versioned), [name claim moved when the name changed other than in
/// case], audit.
pub async fn update(
    store: &Store,
    before: &Group,
    after: &Group,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = store.tx();
    tx.put_versioned(group_item(after, None)?, before.version)?;
    tenant_still_with(&mut tx, &after.tenant_id, &after.partner_id)?;
    if name_key(before) != name_key(after) {
        tx.delete(&name_key(before))?;
        claim(&mut tx, &name_key(after), after.id.as_str(), "name")?;
    }
    store.add_event(&mut tx, event)?;
    store.transact(tx).await
}

/// Group (versioned) out of the lists with its purge time, name claim gone
/// (groups have no restore), detached from every parent (membership deleted, `member_count`
/// −1, `child_groups` without it) and child (`parent_groups` without it), counters, audit. The
/// caps on both sets keep this within one transaction's 100 actions (98 at most).
///
/// `counted_under` is the tenant as the write read it: live under that partner (which the
/// group's count leaves too), or `None`, deleted (its share is out of every partner already).
/// A tenant otherwise since refuses the write (`Guard::Item`: re-read, re-decided).
pub async fn delete(
    store: &Store,
    before: &Group,
    after: &Group,
    purge_at: Timestamp,
    counted_under: Option<&PartnerId>,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = store.tx();
    add_delete(&mut tx, before, after, purge_at, counted_under)?;
    store.add_event(&mut tx, event)?;
    store.transact(tx).await
}

/// The actions of [`delete`] but its event.
fn add_delete(
    tx: &mut Tx,
    before: &Group,
    after: &Group,
    purge_at: Timestamp,
    counted_under: Option<&PartnerId>,
) -> Result<(), StoreError> {
    tx.put_versioned(group_item(after, Some(purge_at))?, before.version)?;
    tally::hold_tenant(tx, &after.tenant_id, counted_under, Guard::Item)?;
    tx.delete(&name_key(before))?;
    for parent in &before.parent_groups {
        tx.delete(&keys::group_member(parent, before.id.as_str()))?;
        tx.update(
            &keys::group(parent),
            "ADD member_count :minus, version :one DELETE child_groups :me",
            Expr::default()
                .value(":minus", n(-1))
                .value(":one", n(1))
                .value(":me", one_id(&before.id)),
        )?;
    }
    for child in &before.child_groups {
        tx.update(
            &keys::group(child),
            "ADD version :one DELETE parent_groups :me",
            Expr::default()
                .value(":one", n(1))
                .value(":me", one_id(&before.id)),
        )?;
    }
    count_groups(tx, before, counted_under, -1)
}

/// The group's tenant still belongs to `partner` — the partner the write assumed and files its
/// event under. A transfer since then refuses the write (`Guard::Item`: re-read, re-decided).
fn tenant_still_with(
    tx: &mut Tx,
    tenant: &TenantId,
    partner: &PartnerId,
) -> Result<(), StoreError> {
    tx.check(
        &keys::tenant(tenant),
        Guard::Item,
        "partner_id = :partner",
        Expr::default().value(":partner", s(partner.to_string())),
    )?;
    Ok(())
}

/// `member_count` ± 1 on a live group, and its nesting set when the member is a group; the
/// partner hint refreshed with the partner the write checked.
fn move_member_count(
    tx: &mut Tx,
    group: &GroupId,
    partner: &PartnerId,
    delta: i64,
    child: Option<&GroupId>,
    read_version: Option<u64>,
) -> Result<(), StoreError> {
    let mut update = "SET partner_id = :partner ADD member_count :delta, version :one".to_owned();
    let mut expr = Expr::default()
        .value(":partner", s(partner.to_string()))
        .name("#status", "status")
        .value(":delta", n(delta))
        .value(":one", n(1))
        .value(":deleted", s("DELETED"));
    if let Some(child) = child {
        update.push_str(if delta > 0 {
            ", child_groups :child"
        } else {
            " DELETE child_groups :child"
        });
        expr = expr.value(":child", one_id(child));
    }
    let (guard, condition) = match read_version {
        Some(version) => {
            expr = expr.value(":read", n(version));
            (
                Guard::Item,
                "attribute_exists(PK) AND #status <> :deleted AND version = :read",
            )
        }
        None => (GROUP, "attribute_exists(PK) AND #status <> :deleted"),
    };
    tx.update_if(&keys::group(group), &update, guard, Some(condition), expr)?;
    Ok(())
}

/// Adds a user: membership (new), group `member_count` +1 (live), user (live, same tenant),
/// audit.
pub async fn add_user(
    store: &Store,
    membership: &Membership,
    user: &UserId,
    partner: &PartnerId,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = store.tx();
    tx.put_new(membership_item(membership)?, MEMBER)?;
    move_member_count(&mut tx, &membership.group_id, partner, 1, None, None)?;
    tenant_still_with(&mut tx, &membership.tenant_id, partner)?;
    tx.check(
        &keys::user(user),
        MEMBER_ITEM,
        "attribute_exists(PK) AND #status <> :deleted AND tenant_id = :tenant",
        Expr::default()
            .name("#status", "status")
            .value(":deleted", s("DELETED"))
            .value(":tenant", s(membership.tenant_id.to_string())),
    )?;
    store.add_event(&mut tx, event)?;
    store.transact(tx).await
}

/// Nests a group: membership (new), parent `member_count` +1 and `child_groups` (live), child
/// `parent_groups` (live), the tenant's nesting version moved from the one read before the
/// cycle check (`Guard::Item`: a concurrent nesting in the tenant → re-read, re-check), audit.
pub async fn add_group(
    store: &Store,
    membership: &Membership,
    child: &GroupId,
    nesting_read: u64,
    partner: &PartnerId,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = store.tx();
    tx.put_new(membership_item(membership)?, MEMBER)?;
    move_member_count(&mut tx, &membership.group_id, partner, 1, Some(child), None)?;
    tenant_still_with(&mut tx, &membership.tenant_id, partner)?;
    tx.update_if(
        &keys::group(child),
        "ADD parent_groups :parent, version :one",
        MEMBER_ITEM,
        Some("attribute_exists(PK) AND #status <> :deleted"),
        Expr::default()
            .name("#status", "status")
            .value(":parent", one_id(&membership.group_id))
            .value(":one", n(1))
            .value(":deleted", s("DELETED")),
    )?;
    let condition = if nesting_read == 0 {
        "attribute_not_exists(PK)"
    } else {
        "version = :read"
    };
    let mut expr = Expr::default().value(":next", n(nesting_read + 1));
    if nesting_read != 0 {
        expr = expr.value(":read", n(nesting_read));
    }
    tx.update_if(
        &keys::group_nesting(&membership.tenant_id),
        "SET version = :next",
        Guard::Item,
        Some(condition),
        expr,
    )?;
    store.add_event(&mut tx, event)?;
    store.transact(tx).await
}

/// Removes a member: membership, group `member_count` −1 [and `child_groups`] if the group is
/// unchanged since the membership was read (`Guard::Item`),
/// [child `parent_groups`], audit. Removing an edge cannot close a cycle, so the nesting
/// version stays.
pub async fn remove(
    store: &Store,
    membership: &Membership,
    group_version: u64,
    partner: &PartnerId,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let child = match membership.member_type {
        MemberType::Group => Some(
            GroupId::parse(&membership.member_id)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        ),
        MemberType::User => None,
    };
    let mut tx = store.tx();
    // DynamoDB allows one action per item in a transaction, so the membership cannot carry a
    // condition of its own beside its Delete: the group's version read with it stands in (any
    // membership change moves it), so two concurrent removes cannot both count down.
    tx.delete(&membership.key())?;
    move_member_count(
        &mut tx,
        &membership.group_id,
        partner,
        -1,
        child.as_ref(),
        Some(group_version),
    )?;
    tenant_still_with(&mut tx, &membership.tenant_id, partner)?;
    if let Some(child) = &child {
        tx.update(
            &keys::group(child),
            "ADD version :one DELETE parent_groups :parent",
            Expr::default()
                .value(":one", n(1))
                .value(":parent", one_id(&membership.group_id)),
        )?;
    }
    store.add_event(&mut tx, event)?;
    store.transact(tx).await
}

impl shared::lists::Merged for Group {
    fn merge_id(&self) -> &str {
        self.id.as_str()
    }

    fn key_for(id: &str) -> Option<Key> {
        GroupId::parse(id).ok().map(|id| keys::group(&id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::store::describe;
    use std::collections::BTreeMap;

    fn at() -> Timestamp {
        Timestamp::parse("2026-01-02T03:04:05.000006Z").unwrap()
    }

    fn group() -> Group {
        Group {
            id: GroupId::parse("grp_01kb2z8hqv3m4n5p6r7s8t9w0g").unwrap(),
            tenant_id: TenantId::parse("tnt_01kb2z8hqv3m4n5p6r7s8t9w0g").unwrap(),
            partner_id: PartnerId::parse("prt_01kb2z8hqv3m4n5p6r7s8t9w1g").unwrap(),
            name: "Ops Team".into(),
            description: Some("On call".into()),
            group_type: GroupType::DistributionList,
            status: Status::Active,
            member_count: 3,
            child_groups: vec![GroupId::parse("grp_01kb2z8hqv3m4n5p6r7s8t9w2g").unwrap()],
            parent_groups: vec![],
            created_at: at(),
            updated_at: at(),
            deleted_at: None,
            version: 4,
        }
    }

    fn pinned(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// The stored form is a contract with data already in tables.
    #[test]
    fn a_live_group_item_is_pinned() {
        let item = describe(&group_item(&group(), None).unwrap());
        assert_eq!(
            item,
            pinned(&[
                ("GSI1PK", "S:TENANT#tnt_01kb2z8hqv3m4n5p6r7s8t9w0g#GROUPS"),
                ("GSI1SK", "S:grp_01kb2z8hqv3m4n5p6r7s8t9w0g"),
                ("GSI2PK", "S:GROUPS"),
                ("GSI2SK", "S:grp_01kb2z8hqv3m4n5p6r7s8t9w0g"),
                ("PK", "S:GROUP#grp_01kb2z8hqv3m4n5p6r7s8t9w0g"),
                ("SK", "S:GROUP"),
                ("child_groups", "Ss([\"grp_01kb2z8hqv3m4n5p6r7s8t9w2g\"])"),
                ("created_at", "S:2026-01-02T03:04:05.000006Z"),
                ("description", "S:On call"),
                ("entity", "S:GROUP"),
                ("group_type", "S:DISTRIBUTION_LIST"),
                ("id", "S:grp_01kb2z8hqv3m4n5p6r7s8t9w0g"),
                ("member_count", "N:3"),
                ("name", "S:Ops Team"),
                ("partner_id", "S:prt_01kb2z8hqv3m4n5p6r7s8t9w1g"),
                ("search_text", "S:ops team on call"),
                ("status", "S:ACTIVE"),
                ("tenant_id", "S:tnt_01kb2z8hqv3m4n5p6r7s8t9w0g"),
                ("updated_at", "S:2026-01-02T03:04:05.000006Z"),
                ("version", "N:4"),
            ])
        );
        // The kernel's walk reads the same item.
        let node: shared::membership::GroupNode =
            shared::store::decode(group_item(&group(), None).unwrap()).unwrap();
        assert_eq!(node.child_groups, group().child_groups);
    }

    #[test]
    fn a_deleted_group_item_leaves_both_lists_and_expires() {
        let purge = Timestamp::from_unix(1_800_000_000).unwrap();
        let item = describe(&group_item(&group(), Some(purge)).unwrap());
        assert_eq!(item.get("ttl").map(String::as_str), Some("N:1800000000"));
        for index_key in ["GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK"] {
            assert!(!item.contains_key(index_key), "{index_key}");
        }
    }

    /// DynamoDB takes at most 100 actions in one transaction: the largest delete (every
    /// nesting set full, the tenant live) with its event stays within them.
    #[test]
    fn the_largest_delete_fits_one_transaction() {
        let mut before = group();
        before.parent_groups = (0..crate::members::MAX_PARENT_GROUPS)
            .map(|_| GroupId::generate())
            .collect();
        before.child_groups = (0..crate::members::MAX_CHILD_GROUPS)
            .map(|_| GroupId::generate())
            .collect();
        let purge = Timestamp::from_unix(1_800_000_000).unwrap();
        let mut tx = Tx::new("t");
        add_delete(&mut tx, &before, &before, purge, Some(&before.partner_id)).unwrap();
        let with_event = tx.len() + 1;
        assert_eq!(with_event, 98);
        let mut tx = Tx::new("t");
        add_delete(&mut tx, &before, &before, purge, None).unwrap();
        assert_eq!(
            tx.len() + 1,
            97,
            "a deleted tenant's partner counts nothing"
        );
    }

    #[test]
    fn membership_items_are_pinned() {
        let m = Membership {
            group_id: group().id,
            tenant_id: group().tenant_id,
            member_type: MemberType::User,
            member_id: "usr_01kb2z8hqv3m4n5p6r7s8t9w3g".into(),
            added_at: at(),
        };
        assert_eq!(
            describe(&membership_item(&m).unwrap()),
            pinned(&[
                ("GSI1PK", "S:USER#usr_01kb2z8hqv3m4n5p6r7s8t9w3g#GROUPS"),
                ("GSI1SK", "S:grp_01kb2z8hqv3m4n5p6r7s8t9w0g"),
                ("PK", "S:GROUP#grp_01kb2z8hqv3m4n5p6r7s8t9w0g"),
                ("SK", "S:MEMBER#usr_01kb2z8hqv3m4n5p6r7s8t9w3g"),
                ("added_at", "S:2026-01-02T03:04:05.000006Z"),
                ("entity", "S:GROUP_MEMBER"),
                ("group_id", "S:grp_01kb2z8hqv3m4n5p6r7s8t9w0g"),
                ("member_id", "S:usr_01kb2z8hqv3m4n5p6r7s8t9w3g"),
                ("member_type", "S:USER"),
                ("tenant_id", "S:tnt_01kb2z8hqv3m4n5p6r7s8t9w0g"),
            ])
        );
        let nested = Membership {
            member_type: MemberType::Group,
            member_id: "grp_01kb2z8hqv3m4n5p6r7s8t9w2g".into(),
            ..m
        };
        let item = describe(&membership_item(&nested).unwrap());
        assert!(
            !item.contains_key("GSI1PK"),
            "a nested group is found through its parent_groups"
        );
    }
}
