//! The stored forms of the hierarchy — partner, tenant, user (with its admin-role summary),
//! session and application. They live in the kernel because the session check of every request decodes them;
//! the operations on them belong to their groups' functions.

/// The `Lifecycle` of a stored form with `status`, `deleted_at`, `updated_at` and `version`
/// (the hierarchy's, and any group's: `shared::lifecycle_fields!(Group)`).
#[macro_export]
macro_rules! lifecycle_fields {
    ($entity:ty) => {
        $crate::lifecycle_fields!($entity, $crate::values::Status);
    };
    ($entity:ty, $status:ty) => {
        impl $crate::lifecycle::Lifecycle for $entity {
            type Status = $status;

            fn status(&self) -> $status {
                self.status
            }
            fn deleted_at(&self) -> Option<$crate::time::Timestamp> {
                self.deleted_at
            }
            fn version(&self) -> u64 {
                self.version
            }
            fn stamp(
                &mut self,
                status: $status,
                deleted_at: Option<$crate::time::Timestamp>,
                now: $crate::time::Timestamp,
                version: u64,
            ) {
                self.status = status;
                self.deleted_at = deleted_at;
                self.updated_at = now;
                self.version = version;
            }
        }
    };
}
use crate::lifecycle_fields;

mod application;
mod partner;
mod platform;
mod session;
mod tenant;
mod user;

pub use application::{AppScope, AppType, Application};
pub use partner::{Partner, PartnerLimits};
pub use platform::Platform;
pub use session::{HOLDER_REACH, Session, SessionStatus, SessionType};
pub use tenant::Tenant;
pub use user::{AdminEmailOwner, IdentitySource, RoleGrant, User, UserStatus};

/// Slug of the built-in platform partner and tenant, where the platform's own admins live.
pub const PLATFORM_SLUG: &str = "platform";
