//! A user's applications (`GET /users/{user_id}/applications`): the applications it reaches,
//! assigned to itself or to a group it is in (at any nesting depth), with how. The assignments
//! are the applications group's; the walk is the kernel's (`shared::applications::assignments`).

use shared::applications::assignments::{self, ReachedApplication};
use shared::error::Error;
use shared::ids::UserId;
use shared::pagination::{self, Page, PageRequest};
use shared::session::Caller;
use shared::{AppState, Result};

/// The applications the user reaches in its tenant (GLOBAL ones, its partner's PARTNER ones,
/// its tenant's TENANT ones), each once with its shortest provenance: `direct`, then group
/// paths by length. Reach is the user's: whoever may read the user may read this.
///
/// Cost: the user read (with the session check), its tenant, the user's memberships and one
/// batch per nesting level above them, one GSI1 Query per group it is in and for itself (16 at
/// a time), one batch of the applications; computed whole and paged in memory.
pub async fn of_user(
    state: &AppState,
    caller: &Caller,
    id: &UserId,
    page: &PageRequest,
) -> Result<Page<ReachedApplication>> {
    let user = crate::operations::get(state, caller, id).await?;
    let tenant = assignments::live_tenants(state.store(), [user.tenant_id.clone()])
        .await?
        .remove(&user.tenant_id)
        .ok_or(Error::NotFound(crate::operations::RESOURCE))?;
    let all = assignments::applications_of_user(state.store(), &user.id, &tenant).await?;
    let secret = state.keys().cursor_secret().await?;
    let binding = format!(
        "user-applications|user={}|caller={}",
        user.id,
        caller.subject()
    );
    pagination::page_of_computed(&secret, &binding, page, all)
}
