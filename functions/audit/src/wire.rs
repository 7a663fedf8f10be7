//! Wire types of the audit API.

use serde::{Deserialize, Serialize};
use shared::pagination::Pagination;
use utoipa::ToSchema;

/// The wire form of an event is the kernel's: the dashboard's activity shows the same events.
pub use shared::audit::AuditEventResponse;

/// A page of events. `pagination.total` is a lower bound: the events up to this page, plus one
/// when `next_cursor` says more follow (the history is never counted: that would read all of
/// it). A page may hold fewer events than `per_page` — even none — with a `next_cursor`, when
/// a selective filter has not filled it within one request's bounded read: follow the cursor.
#[derive(Serialize, ToSchema)]
pub struct AuditEventList {
    pub items: Vec<AuditEventResponse>,
    pub pagination: Pagination,
}

/// One recordable action.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ActionResponse {
    /// `<resource>.<verb>`.
    pub name: String,
    pub resource_type: String,
}

#[derive(Serialize, ToSchema)]
pub struct ActionList {
    pub items: Vec<ActionResponse>,
}

#[derive(Serialize, ToSchema)]
pub struct ResourceTypeList {
    pub items: Vec<String>,
}
