//! The kernel every ScaiKey function stands on: what identifies a caller and places it in the
//! hierarchy, and the machinery every write uses. It knows no endpoint and no router; each
//! group's operations live in its own function crate (see `docs/architecture.md`).
//!
//! - caller: `http` (extractors, errors → responses), `session` (the per-request session
//!   check), `tokens`, `password`, `access` (every tier rule once);
//! - hierarchy: `hierarchy` (stored forms of partner, tenant, user, session), `values`;
//! - writes: `store` (the single table, labelled transactions, keys, counters, markers),
//!   `lifecycle` (version retry, soft delete, restore), `audit`;
//! - reads: `lists` and `pagination` (offset pages, signed cursors, exact totals).

pub mod access;
pub mod admin_grants;
pub mod applications;
pub mod audit;
pub mod client_secret;
pub mod config;
pub mod credentials;
pub mod error;
pub mod hierarchy;
pub mod http;
pub mod ids;
pub mod lifecycle;
pub mod lists;
pub mod membership;
pub mod pagination;
pub mod password;
pub mod sealing;
pub mod secrets;
pub mod session;
pub mod sign_in;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod tenant_owned;
pub mod throttle;
pub mod time;
pub mod tokens;
pub mod validation;
pub mod values;

pub use error::{Error, Result};
pub use state::AppState;

/// Every binary linking the kernel allocates with mimalloc (see the workspace manifest for the
/// measurement that kept it).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
