//! A user's groups (`GET /users/{user_id}/groups`): the groups it is in directly and through
//! nesting. The walk is the groups group's (`shared::membership`), which stores memberships.

use shared::membership::{self, GroupOfUser};
use shared::pagination::{self, Page, PageRequest};
use shared::session::Caller;
use shared::{AppState, Result};

use shared::ids::UserId;

/// Every live group the user is in, `DIRECT` ones first, then `INHERITED` ones nearest first,
/// paged. Reach is the user's: whoever may read the user may read its groups.
///
/// Cost: the user read (with the session check), one Query of the user's memberships, one
/// BatchGetItem per nesting level above them; the list is computed whole and paged in memory
/// (its cursor carries the offset).
pub async fn of_user(
    state: &AppState,
    caller: &Caller,
    id: &UserId,
    page: &PageRequest,
) -> Result<Page<GroupOfUser>> {
    let user = crate::operations::get(state, caller, id).await?;
    let all = membership::groups_of_user(state.store(), &user.id).await?;
    let secret = state.keys().cursor_secret().await?;
    let binding = format!("user-groups|user={}|caller={}", user.id, caller.subject());
    pagination::page_of_computed(&secret, &binding, page, all)
}
