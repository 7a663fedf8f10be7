//! Domain operations, one module per resource: the rules, the audit event and the counters of
//! every write, over the store. Handlers call these after validating their input.

pub mod audit;
pub mod auth;
pub(crate) mod lists;
pub mod partners;
pub mod tenants;
pub mod values;

pub use audit::{AuditEvent, RequestMeta};

/// Slug of the built-in platform partner and tenant, where the platform's own admins live.
pub const PLATFORM_SLUG: &str = "platform";
