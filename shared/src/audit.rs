//! Audit events (SPEC §4.12). Every write commits its event in the same transaction.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::access::{Acting, Principal};
use crate::error::Error;
use crate::ids::{EventId, PartnerId, TenantId};
use crate::state::AppState;
use crate::time::Timestamp;

/// Who and where a request came from, as the HTTP layer saw it.
#[derive(Clone, Debug, Default)]
pub struct RequestMeta {
    pub request_id: Option<String>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
}

/// One action a group records, `<resource>.<verb>`, with its resource type. Each group
/// defines its actions once, in a `pub const ACTIONS` list; together they are the catalogue
/// (`scaikey audit-actions`, `docs/audit-actions.json`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct AuditAction {
    pub name: &'static str,
    pub resource_type: &'static str,
}

impl AuditAction {
    pub const fn new(name: &'static str, resource_type: &'static str) -> Self {
        Self {
            name,
            resource_type,
        }
    }
}

/// A sign-in (admin login, a user's hosted login or SSO authorization): recorded by admin-auth
/// and sign-in, listed once in the catalogue (admin-auth's `ACTIONS`).
pub const AUTH_LOGIN: AuditAction = AuditAction::new("auth.login", "session");
/// A session ended by its own holder (admin logout, RP-initiated logout): admin-auth's and
/// sign-in's, listed once (admin-auth's `ACTIONS`).
pub const AUTH_LOGOUT: AuditAction = AuditAction::new("auth.logout", "session");

/// A JSON rendering of a stored value, for `changes` diffs.
pub fn snapshot<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or_default()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActorType {
    Admin,
    Service,
    Agent,
    System,
    /// A tenant's user signing in through the hosted login (SPEC §6.4).
    User,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Actor {
    #[serde(rename = "type")]
    pub kind: ActorType,
    pub id: Option<String>,
    pub email: Option<String>,
}

impl Actor {
    /// The admin user, or the application with a platform token (a `service` actor).
    pub fn admin(principal: &Principal) -> Self {
        match &principal.acting {
            Acting::Admin(session) => Self {
                kind: ActorType::Admin,
                id: Some(session.user_id.to_string()),
                email: Some(session.email.clone()),
            },
            Acting::Platform { client_id } => Self {
                kind: ActorType::Service,
                id: Some(client_id.to_string()),
                email: None,
            },
        }
    }

    pub fn system(name: &str) -> Self {
        Self {
            kind: ActorType::System,
            id: Some(name.to_owned()),
            email: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuditResult {
    Success,
    Failure,
    Denied,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub id: EventId,
    pub timestamp: Timestamp,
    pub actor: Actor,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub tenant_id: Option<TenantId>,
    pub partner_id: Option<PartnerId>,
    pub result: AuditResult,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub changes: Option<Map<String, Value>>,
}

/// Field names whose values never reach an audit event.
const SECRET_FIELDS: [&str; 6] = [
    "password",
    "password_hash",
    "client_secret",
    "refresh_token",
    "secret",
    "token",
];

impl AuditEvent {
    pub fn new(
        actor: Actor,
        action: AuditAction,
        resource_id: Option<String>,
        meta: &RequestMeta,
    ) -> Self {
        Self {
            id: EventId::generate(),
            timestamp: Timestamp::now(),
            actor,
            action: action.name.to_owned(),
            resource_type: action.resource_type.to_owned(),
            resource_id,
            tenant_id: None,
            partner_id: None,
            result: AuditResult::Success,
            ip_address: meta.ip_address.clone(),
            user_agent: meta.user_agent.clone(),
            request_id: meta.request_id.clone(),
            changes: None,
        }
    }

    pub fn in_tenant(mut self, partner: &PartnerId, tenant: &TenantId) -> Self {
        self.partner_id = Some(partner.clone());
        self.tenant_id = Some(tenant.clone());
        self
    }

    pub fn in_partner(mut self, partner: &PartnerId) -> Self {
        self.partner_id = Some(partner.clone());
        self
    }

    pub fn with_result(mut self, result: AuditResult) -> Self {
        self.result = result;
        self
    }

    /// `{field: {from, to}}` for every field that differs between two JSON renderings of a
    /// resource, secrets redacted.
    pub fn with_changes(mut self, before: &Value, after: &Value) -> Self {
        let empty = Map::new();
        let before = before.as_object().unwrap_or(&empty);
        let after = after.as_object().unwrap_or(&empty);
        let mut changes = Map::new();
        // Every field of either side: one only `before` has was removed (`to: null`).
        let fields: std::collections::BTreeSet<&String> =
            before.keys().chain(after.keys()).collect();
        for field in fields {
            let from = before.get(field).unwrap_or(&Value::Null);
            let to = after.get(field).unwrap_or(&Value::Null);
            if from != to && !matches!(field.as_str(), "updated_at" | "version") {
                let redact = SECRET_FIELDS.contains(&field.as_str());
                let (from, to) = if redact {
                    (json!("[REDACTED]"), json!("[REDACTED]"))
                } else {
                    (from.clone(), to.clone())
                };
                changes.insert(field.clone(), json!({ "from": from, "to": to }));
            }
        }
        self.changes = Some(changes);
        self
    }
}

/// What a write reached for, named for its audit event.
#[derive(Clone)]
pub struct Attempt {
    pub action: AuditAction,
    pub resource_id: Option<String>,
}

/// Passes a tier rule's verdict on a write through. A refusal is recorded first (SPEC §4.12:
/// denied writes are recorded too), filed under the caller's own tenant so that the admins
/// above the caller see it. Failing to record does not turn the 403 into a 5xx.
pub async fn check_write(
    state: &AppState,
    principal: &Principal,
    verdict: Result<(), Error>,
    attempt: Attempt,
    meta: &RequestMeta,
) -> Result<(), Error> {
    let Err(refusal) = verdict else {
        return Ok(());
    };
    if matches!(refusal, Error::AccessDenied) {
        let event = AuditEvent::new(
            Actor::admin(principal),
            attempt.action,
            attempt.resource_id,
            meta,
        )
        .with_result(AuditResult::Denied);
        // An admin's refusal is filed under its own tenant; a platform token's is platform-wide.
        let event = match &principal.acting {
            Acting::Admin(session) => event.in_tenant(&session.home_partner, &session.home_tenant),
            Acting::Platform { .. } => event,
        };
        if let Err(err) = state.store().put_event(&event).await {
            tracing::warn!(error = %err, action = attempt.action.name, "denied write not recorded");
        }
    }
    Err(refusal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_list_only_what_differs_and_redact_secrets() {
        let event = AuditEvent::new(
            Actor::system("test"),
            AuditAction::new("x.update", "x"),
            None,
            &RequestMeta::default(),
        )
        .with_changes(
            &json!({"name": "a", "slug": "s", "password": "old", "updated_at": "1"}),
            &json!({"name": "b", "slug": "s", "password": "new", "updated_at": "2"}),
        );
        let changes = event.changes.unwrap();
        assert_eq!(changes["name"], json!({"from": "a", "to": "b"}));
        assert_eq!(
            changes["password"],
            json!({"from": "[REDACTED]", "to": "[REDACTED]"})
        );
        assert!(!changes.contains_key("slug"));
        assert!(!changes.contains_key("updated_at"));
    }
}

// ---- the wire form of an event (the audit group's list and get, the dashboard's activity) ----

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ActorResponse {
    /// `admin`, `service` (a platform application), `agent` or `system`.
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "admin")]
    kind: ActorType,
    id: Option<String>,
    email: Option<String>,
}

/// An audit event. `changes` (updates): `{field: {from, to}}`, secrets redacted.
#[derive(serde::Serialize, utoipa::ToSchema)]
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
