//! Admin-role grant items as a second group writes them: the users group's delete revokes the
//! grants of the user it deletes, in the delete's own transaction (so nobody keeps admin rights
//! through a deleted account). The grant item itself — its full stored form, its lists, grant
//! and revoke — belongs to `functions/admin-roles`; this module holds only the revoked state
//! both groups write.

use aws_sdk_dynamodb::types::AttributeValue;

use crate::ids::RoleId;
use crate::store::{Expr, Guard, StoreError, Tx, keys, s};
use crate::time::Timestamp;

/// A derived attribute of the grant item for the `is_active` list filter (list filters match
/// strings).
pub const STATE: &str = "grant_state";

pub fn state_of(active: bool) -> &'static str {
    if active { "ACTIVE" } else { "REVOKED" }
}

/// The guard of a grant revoked with its holder: the grant item must exist (an update would
/// otherwise create a stray item).
pub const REVOKED_GRANT: Guard = Guard::Parent("admin role");

/// Adds to `tx` what revokes the grant `id` as the admin-roles group's revoke does: inactive,
/// with when and by whom (an already revoked grant keeps its first revocation's record).
pub fn revoke(tx: &mut Tx, id: &RoleId, by: &str, now: Timestamp) -> Result<(), StoreError> {
    tx.update_if(
        &keys::admin_role(id),
        "SET is_active = :false, #state = :revoked, \
         revoked_at = if_not_exists(revoked_at, :now), \
         revoked_by = if_not_exists(revoked_by, :by)",
        REVOKED_GRANT,
        Some("attribute_exists(PK)"),
        Expr::default()
            .name("#state", STATE)
            .value(":false", AttributeValue::Bool(false))
            .value(":revoked", s(state_of(false)))
            .value(":now", s(now.to_string()))
            .value(":by", s(by)),
    )?;
    Ok(())
}
