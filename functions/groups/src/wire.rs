//! Wire types of the groups API: what a client sends and sees. Stored items never appear here;
//! these never reach the store.

use serde::Serialize;
use serde_json::Value;
use shared::error::{Error, Result};
use shared::ids::{GroupId, TenantId, UserId};
use shared::pagination::Pagination;
use shared::time::Timestamp;
use shared::validation::{self, Fields, Patch, Problem};
pub use shared::validation::{partner_ref, tenant_ref};
use shared::values::Name;
use utoipa::ToSchema;

use crate::members::{EffectiveMember, Member};
use crate::operations::{GroupPatch, NewGroup};
use crate::store::{Group, GroupType, MemberType};

pub const DESCRIPTION_MAX: usize = 1000;

/// A group as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct GroupResponse {
    id: String,
    tenant_id: String,
    name: String,
    description: Option<String>,
    group_type: GroupType,
    /// Direct members, users and groups.
    member_count: u64,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl From<Group> for GroupResponse {
    fn from(g: Group) -> Self {
        Self {
            id: g.id.to_string(),
            tenant_id: g.tenant_id.to_string(),
            name: g.name,
            description: g.description,
            group_type: g.group_type,
            member_count: g.member_count,
            created_at: g.created_at,
            updated_at: g.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct GroupList {
    pub items: Vec<GroupResponse>,
    pub pagination: Pagination,
}

/// A direct member: a user (`email`, and `name` when it has one) or a group (`name`).
#[derive(Serialize, ToSchema)]
pub struct MemberResponse {
    member_type: MemberType,
    id: String,
    name: Option<String>,
    email: Option<String>,
    added_at: Timestamp,
}

impl From<Member> for MemberResponse {
    fn from(m: Member) -> Self {
        Self {
            member_type: m.member_type,
            id: m.id,
            name: m.name,
            email: m.email,
            added_at: m.added_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct MemberList {
    pub items: Vec<MemberResponse>,
    pub pagination: Pagination,
}

/// A user reached through nesting, once, with the shortest path of group ids it came through
/// (from the group asked about to the group holding the user directly).
#[derive(Serialize, ToSchema)]
pub struct EffectiveMemberResponse {
    id: String,
    email: String,
    name: Option<String>,
    path: Vec<String>,
}

impl From<EffectiveMember> for EffectiveMemberResponse {
    fn from(m: EffectiveMember) -> Self {
        Self {
            id: m.id.to_string(),
            email: m.email,
            name: m.name,
            path: m.path.iter().map(ToString::to_string).collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct EffectiveMemberList {
    pub items: Vec<EffectiveMemberResponse>,
    pub pagination: Pagination,
}

pub fn group_type(value: &Value) -> std::result::Result<GroupType, Problem> {
    validation::one_of(value, &GroupType::ALL)
}

/// A description; empty means none.
fn description(value: &Value) -> std::result::Result<String, Problem> {
    validation::text(value, 0, DESCRIPTION_MAX)
}

/// Body of Create Group.
#[derive(ToSchema)]
pub struct GroupCreate {
    #[schema(value_type = String, pattern = "^tnt_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$")]
    pub tenant_id: TenantId,
    /// Unique within the tenant, case-insensitively.
    #[schema(value_type = String, min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: Name,
    #[schema(max_length = 1000)]
    pub description: Option<String>,
    /// Default `SECURITY`.
    pub group_type: Option<GroupType>,
}

impl TryFrom<Fields> for GroupCreate {
    type Error = Error;

    fn try_from(mut body: Fields) -> Result<Self> {
        let tenant_id = body.required("tenant_id", tenant_ref);
        let name = body.required("name", Name::parse);
        let description = body.optional("description", description);
        let group_type = body.optional("group_type", group_type);
        body.finish(|| {
            Some(Self {
                tenant_id: tenant_id?,
                name: name?,
                description,
                group_type,
            })
        })
    }
}

impl From<GroupCreate> for NewGroup {
    fn from(body: GroupCreate) -> Self {
        Self {
            tenant_id: body.tenant_id,
            name: body.name,
            description: body.description.filter(|d| !d.is_empty()),
            group_type: body.group_type.unwrap_or(GroupType::Security),
        }
    }
}

/// Body of Update Group: only fields present change.
#[derive(ToSchema)]
pub struct GroupUpdate {
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200, pattern = "\\S", nullable = false)]
    pub name: Option<Name>,
    /// `null` clears it.
    #[schema(value_type = Option<String>, max_length = 1000)]
    pub description: Patch<String>,
    #[schema(nullable = false)]
    pub group_type: Option<GroupType>,
}

impl TryFrom<Fields> for GroupUpdate {
    type Error = Error;

    fn try_from(mut body: Fields) -> Result<Self> {
        let update = Self {
            name: body.patch_required("name", Name::parse),
            description: body.patch("description", description),
            group_type: body.patch_required("group_type", group_type),
        };
        body.check()?;
        Ok(update)
    }
}

impl From<GroupUpdate> for GroupPatch {
    fn from(body: GroupUpdate) -> Self {
        Self {
            name: body.name,
            description: match body.description {
                Patch::Set(d) if d.is_empty() => Patch::Clear,
                other => other,
            },
            group_type: body.group_type,
        }
    }
}

/// A user of the group's tenant, as a member.
// Schemas of the body; the handler parses it straight into a `MemberRef` (one of the two).
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct UserMemberAdd {
    #[schema(value_type = String, pattern = "^usr_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$")]
    pub user_id: UserId,
}

/// A group of the group's tenant, as a member (nested; a cycle is a 409).
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct GroupMemberAdd {
    #[schema(value_type = String, pattern = "^grp_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$")]
    pub group_id: GroupId,
}

/// Body of Add Group Member: a user or a group of the group's tenant, exactly one (the other
/// absent or `null`).
#[allow(dead_code)]
#[derive(ToSchema)]
#[serde(untagged)]
pub enum MemberAdd {
    User(UserMemberAdd),
    Group(GroupMemberAdd),
}
