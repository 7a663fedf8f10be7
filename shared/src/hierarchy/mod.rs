//! The stored forms of the hierarchy — partner, tenant, user (with its admin-role summary) and
//! session. They live in the kernel because the session check of every request decodes them;
//! the operations on them belong to their groups' functions.

mod partner;
mod session;
mod tenant;
mod user;

pub use partner::{Partner, PartnerLimits};
pub use session::{Session, SessionStatus};
pub use tenant::Tenant;
pub use user::{AdminEmailOwner, RoleGrant, User, UserStatus};

/// Slug of the built-in platform partner and tenant, where the platform's own admins live.
pub const PLATFORM_SLUG: &str = "platform";
