//! The auth-and-hierarchy crate every ScaiKey function stands on.
//!
//! Layers, top to bottom: `http` (extraction, errors → responses) → `domain` (rules, audit,
//! counters; one module per resource) → `store` (DynamoDB single table). `access` holds every
//! tier rule of SPEC §3.2 once; `tokens` and `password` hold the credentials.

pub mod access;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod ids;
pub mod pagination;
pub mod password;
pub mod secrets;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod time;
pub mod tokens;
pub mod validation;

pub use error::{Error, Result};
pub use state::AppState;
