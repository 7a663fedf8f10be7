//! Wire types of the audit API.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use shared::audit::{ActorType, AuditEvent, AuditResult};
use shared::pagination::Pagination;
use shared::time::Timestamp;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct ActorResponse {
    /// `admin`, `service` (a platform application), `agent` or `system`.
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "admin")]
    kind: ActorType,
    id: Option<String>,
    email: Option<String>,
}

/// An audit event. `changes` (updates): `{field: {from, to}}`, secrets redacted.
#[derive(Serialize, ToSchema)]
pub struct AuditEventResponse {
    id: String,
    timestamp: Timestamp,
    actor: ActorResponse,
    /// `<resource>.<verb>`, e.g. `tenant.update`.
    action: String,
    resource_type: String,
    resource_id: Option<String>,
    tenant_id: Option<String>,
    partner_id: Option<String>,
    #[schema(value_type = String, example = "SUCCESS")]
    result: AuditResult,
    ip_address: Option<String>,
    user_agent: Option<String>,
    request_id: Option<String>,
    #[schema(value_type = Option<Object>)]
    changes: Option<Map<String, Value>>,
}

impl From<AuditEvent> for AuditEventResponse {
    fn from(e: AuditEvent) -> Self {
        Self {
            id: e.id.to_string(),
            timestamp: e.timestamp,
            actor: ActorResponse {
                kind: e.actor.kind,
                id: e.actor.id,
                email: e.actor.email,
            },
            action: e.action,
            resource_type: e.resource_type,
            resource_id: e.resource_id,
            tenant_id: e.tenant_id.map(|t| t.to_string()),
            partner_id: e.partner_id.map(|p| p.to_string()),
            result: e.result,
            ip_address: e.ip_address,
            user_agent: e.user_agent,
            request_id: e.request_id,
            changes: e.changes,
        }
    }
}

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
