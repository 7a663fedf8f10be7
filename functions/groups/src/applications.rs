//! A group's applications (`GET /groups/{group_id}/applications`): the applications its members
//! reach through it — assigned to the group itself or to a group containing it at any depth.
//! The assignments are the applications group's; the walk is the kernel's.

use shared::applications::assignments::{self, ReachedApplication};
use shared::error::Error;
use shared::ids::GroupId;
use shared::membership;
use shared::pagination::{self, Page, PageRequest};
use shared::session::Caller;
use shared::{AppState, Result};

use crate::operations::{RESOURCE, checked_group, within_reach};

/// The applications the group reaches in its tenant, each once: `direct` (assigned to the
/// group) first, then through the groups containing it, by path length (the path runs from the
/// assigned group down to this one). **Within reach.**
///
/// Cost: the group (with the session check), the group as the walk reads it and its tenant in
/// one batch, one batch per nesting level above it, one GSI1 Query per group on the way (16 at
/// a time), one batch of the applications; computed whole and paged in memory.
pub async fn of_group(
    state: &AppState,
    caller: &Caller,
    id: &GroupId,
    page: &PageRequest,
) -> Result<Page<ReachedApplication>> {
    let (principal, group, _) = checked_group(state, caller, id, &[]).await?;
    within_reach(state, &principal, &group).await?;
    let (node, tenant) = tokio::try_join!(
        membership::load_groups(state.store(), std::slice::from_ref(id)),
        assignments::live_tenants(state.store(), [group.tenant_id.clone()]),
    )?;
    let (Some(node), Some(tenant)) = (node.get(id).cloned(), tenant.get(&group.tenant_id).cloned())
    else {
        return Err(Error::NotFound(RESOURCE));
    };
    let all = assignments::applications_of_group(state.store(), node, &tenant).await?;
    let secret = state.keys().cursor_secret().await?;
    let binding = format!(
        "group-applications|group={id}|caller={}",
        principal.actor_id()
    );
    pagination::page_of_computed(&secret, &binding, page, all)
}
