//! Assignments (SPEC §4.7, ours) and effective users: who an application is for.
//!
//! Who may do what (where SPEC is silent, the rule of least surprise for a three-level tenancy):
//! - the application must be readable by the caller (§3.2), else 403 (a write's refusal is
//!   audited DENIED);
//! - an assignee (user or group) must be within the caller's reach — super: any; partner admin:
//!   its partner's tenants, as they are now; tenant admin: its own tenant — else 404, so nothing
//!   is learnt about other tenants; and in a tenant the application covers (GLOBAL: all,
//!   PARTNER: its partner's, TENANT: its own), else 422;
//! - lists (assignments, effective users) show only what lies in the caller's reach: a tenant
//!   admin sees its own tenant's part of a GLOBAL application's audience, nothing of others'.
//!
//! The assignee's id names the assignment (one per user or group and application), as a group
//! member's id names its membership.

use std::collections::HashMap;

use serde_json::json;
use shared::access::{self, Principal, Tier};
use shared::applications::assignments::{
    self, AssigneeType, Assignment, EffectiveUser, Via, covers,
};
use shared::audit::{self, Actor, Attempt, AuditAction, AuditEvent, RequestMeta};
use shared::error::{Error, FieldProblem, Result};
use shared::hierarchy::{Application, Tenant, User};
use shared::ids::{ApplicationId, GroupId, TenantId, UserId};
use shared::lifecycle::{self, Lifecycle, live};
use shared::membership::{GroupNode, UserOrGroup};
use shared::pagination::{self, Page, PageRequest};
use shared::session::{self, Caller};
use shared::state::AppState;
use shared::store::{Expr, Guard, Key, Loaded, Tx, keys, s};
use shared::time::Timestamp;

use crate::operations::{RESOURCE, may_read};

pub const ASSIGN: AuditAction = AuditAction::new("application.assign", "application");
pub const UNASSIGN: AuditAction = AuditAction::new("application.unassign", "application");

const ALREADY: &str = "Already assigned to this application";
const ASSIGNMENT: &str = "Assignment";
const ASSIGNED: Guard = Guard::Unique("assignment");
const APPLICATION: Guard = Guard::Parent("application");
const ASSIGNEE: Guard = Guard::Parent("assignee");
const GONE: Guard = Guard::Parent("assignment");

/// An assignment with what the API shows of its assignee.
pub struct AssignmentView {
    pub assignment: Assignment,
    pub name: Option<String>,
    pub email: Option<String>,
}

/// A user the application reaches, ready to show.
pub struct EffectiveUserView {
    pub user: User,
    pub tenant_slug: String,
    pub via: Via,
}

/// Whether a tenant lies within the caller's reach (as the tenant is now).
fn sees(principal: &Principal, tenant: &Tenant) -> bool {
    access::tenants::read(principal, &tenant.partner_id, &tenant.id).is_ok()
}

/// The application, live and readable by the caller, read with the session check and `extra`.
async fn readable_app(
    state: &AppState,
    caller: &Caller,
    id: &ApplicationId,
    extra: &[Key],
) -> Result<(Principal, Application, Loaded)> {
    let mut wanted = vec![keys::application(id)];
    wanted.extend_from_slice(extra);
    let (principal, loaded) = session::check(state, caller, &wanted).await?;
    let app: Application = live(loaded.get(&keys::application(id))?, RESOURCE)?;
    may_read(state, &principal, &app).await?;
    Ok((principal, app, loaded))
}

/// As [`readable_app`], for a write: a refusal is audited DENIED.
async fn writable_app(
    state: &AppState,
    caller: &Caller,
    id: &ApplicationId,
    extra: &[Key],
    action: AuditAction,
    meta: &RequestMeta,
) -> Result<(Principal, Application, Loaded)> {
    let mut wanted = vec![keys::application(id)];
    wanted.extend_from_slice(extra);
    let (principal, loaded) = session::check(state, caller, &wanted).await?;
    let app: Application = live(loaded.get(&keys::application(id))?, RESOURCE)?;
    let verdict = match may_read(state, &principal, &app).await {
        Err(Error::AccessDenied) => Err(Error::AccessDenied),
        Err(other) => return Err(other),
        Ok(()) => Ok(()),
    };
    let attempt = Attempt {
        action,
        resource_id: Some(app.id.to_string()),
    };
    audit::check_write(state, &principal, verdict, attempt, meta).await?;
    Ok((principal, app, loaded))
}

/// A tenant admin's assignees can only be in its own tenant: read it with the first batch.
fn own_tenant_key(caller: &Caller) -> Option<Key> {
    match caller.claimed_tier().ok()? {
        Tier::Tenant { tenant, .. } => Some(keys::tenant(&tenant)),
        _ => None,
    }
}

/// The tenant, from the first batch if it was there, else read now.
async fn tenant_of(state: &AppState, loaded: &Loaded, id: &TenantId) -> Result<Option<Tenant>> {
    let key = keys::tenant(id);
    let found: Option<Tenant> = if loaded.has(&key) {
        loaded.get(&key)?
    } else {
        state
            .store()
            .load(std::slice::from_ref(&key))
            .await?
            .get(&key)?
    };
    Ok(found.filter(|t| !t.is_deleted()))
}

/// List Application Assignments: those of live assignees within the caller's reach, newest
/// first. Cost: the assignments (one Query, all pages), their tenants and assignees (batches
/// of 100): proportional to the application's assignments, computed whole and paged in memory.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    id: &ApplicationId,
    page: &PageRequest,
) -> Result<Page<AssignmentView>> {
    let (principal, _app, _) = readable_app(state, caller, id, &[]).await?;
    let mut all = assignments::of_application(state.store(), id).await?;
    let tenants =
        assignments::live_tenants(state.store(), all.iter().map(|a| a.tenant_id.clone())).await?;
    all.retain(|a| {
        tenants
            .get(&a.tenant_id)
            .is_some_and(|t| sees(&principal, t))
    });
    all.sort_by(|a, b| {
        b.created_at
            .cmp(&a.created_at)
            .then(b.assignee_id.cmp(&a.assignee_id))
    });
    // Assignees deleted since are left out before paging, so the total is what is listed.
    let live = described(state, all).await?;
    let secret = state.keys().cursor_secret().await?;
    let binding = format!("app-assignments|app={id}|caller={}", principal.actor_id());
    pagination::page_of_computed(&secret, &binding, page, live)
}

/// The assignees with their names, one batch per 100; deleted ones are left out.
async fn described(state: &AppState, page: Vec<Assignment>) -> Result<Vec<AssignmentView>> {
    let key_of = |a: &Assignment| -> Option<Key> {
        match a.assignee_type {
            AssigneeType::User => UserId::parse(&a.assignee_id).ok().map(|u| keys::user(&u)),
            AssigneeType::Group => GroupId::parse(&a.assignee_id).ok().map(|g| keys::group(&g)),
        }
    };
    let wanted: Vec<Key> = page.iter().filter_map(key_of).collect();
    let loaded = state.store().load(&wanted).await?;
    let mut out = Vec::with_capacity(page.len());
    for assignment in page {
        let Some(key) = key_of(&assignment) else {
            continue;
        };
        let (name, email) = match assignment.assignee_type {
            AssigneeType::User => match loaded.get::<User>(&key)? {
                Some(u) if !u.is_deleted() => (u.display_name.clone(), Some(u.email)),
                _ => continue,
            },
            AssigneeType::Group => match loaded.get::<GroupNode>(&key)? {
                Some(g) if g.is_live() => (Some(g.name), None),
                _ => continue,
            },
        };
        out.push(AssignmentView {
            assignment,
            name,
            email,
        });
    }
    Ok(out)
}

fn assignee_key(assignee: &UserOrGroup) -> Key {
    match assignee {
        UserOrGroup::User(u) => keys::user(u),
        UserOrGroup::Group(g) => keys::group(g),
    }
}

fn assignee_kind(assignee: &UserOrGroup) -> (&'static str, &'static str, AssigneeType) {
    match assignee {
        UserOrGroup::User(_) => ("User", "user_id", AssigneeType::User),
        UserOrGroup::Group(_) => ("Group", "group_id", AssigneeType::Group),
    }
}

/// Assign a user or group: live, within the caller's reach (else 404), in a tenant the
/// application covers (else 422), not yet assigned (else 409). One transaction with its audit
/// event, filed under the assignee's tenant (whose admins see it).
pub async fn add(
    state: &AppState,
    caller: &Caller,
    id: &ApplicationId,
    assignee: &UserOrGroup,
    meta: &RequestMeta,
) -> Result<AssignmentView> {
    let (missing, field, assignee_type) = assignee_kind(assignee);
    lifecycle::retry_stale("application assignment", || async {
        let mut extra = vec![
            assignee_key(assignee),
            keys::app_assignment(id, assignee.id()),
        ];
        extra.extend(own_tenant_key(caller));
        let (principal, app, loaded) =
            writable_app(state, caller, id, &extra, ASSIGN, meta).await?;
        let (tenant_id, name, email) = match assignee {
            UserOrGroup::User(u) => loaded
                .get::<User>(&keys::user(u))?
                .filter(|u| !u.is_deleted())
                .map(|u| (u.tenant_id, u.display_name, Some(u.email))),
            UserOrGroup::Group(g) => loaded
                .get::<GroupNode>(&keys::group(g))?
                .filter(GroupNode::is_live)
                .map(|g| (g.tenant_id, Some(g.name), None)),
        }
        .ok_or(Error::NotFound(missing))?;
        let tenant = tenant_of(state, &loaded, &tenant_id)
            .await?
            .filter(|t| sees(&principal, t))
            .ok_or(Error::NotFound(missing))?;
        if !covers(&app, &tenant) {
            return Err(Error::Validation(vec![FieldProblem::new(
                vec![json!("body"), json!(field)],
                "value_error",
                format!(
                    "Value error, the {} is in a tenant this application does not cover",
                    missing.to_lowercase()
                ),
            )]));
        }
        if loaded.has(&keys::app_assignment(id, assignee.id())) {
            return Err(Error::conflict(ALREADY));
        }
        let assignment = Assignment {
            application_id: app.id.clone(),
            assignee_type,
            assignee_id: assignee.id().to_owned(),
            tenant_id: tenant.id.clone(),
            created_at: Timestamp::now(),
            created_by: principal.actor_id(),
        };
        let event = event_for(&principal, ASSIGN, &app, &tenant, meta).with_changes(
            &json!({}),
            &json!({"assignee": {"type": assignee_type, "id": assignee.id()}}),
        );
        let mut tx = state.store().tx();
        tx.put_new(assignment.to_item()?, ASSIGNED)?;
        still_live(&mut tx, &app)?;
        tx.check(
            &assignee_key(assignee),
            ASSIGNEE,
            "attribute_exists(PK) AND #status <> :deleted AND tenant_id = :tenant",
            Expr::default()
                .name("#status", "status")
                .value(":deleted", s("DELETED"))
                .value(":tenant", s(tenant.id.to_string())),
        )?;
        tenant_still_with(&mut tx, &tenant)?;
        state.store().add_event(&mut tx, &event)?;
        match state.store().transact(tx).await {
            Ok(()) => Ok(AssignmentView {
                assignment,
                name,
                email,
            }),
            Err(err) => Err(match err.refused_by() {
                Some(ASSIGNED) => Error::conflict(ALREADY),
                Some(APPLICATION) => Error::NotFound(RESOURCE),
                Some(ASSIGNEE) => Error::NotFound(missing),
                _ => err.into(),
            }),
        }
    })
    .await
}

/// Remove an assignment (named by its assignee's id): 404 when there is none within the
/// caller's reach.
pub async fn remove(
    state: &AppState,
    caller: &Caller,
    id: &ApplicationId,
    assignee_id: &str,
    meta: &RequestMeta,
) -> Result<()> {
    let named = UserId::parse(assignee_id).is_ok() || GroupId::parse(assignee_id).is_ok();
    if !named {
        return Err(Error::NotFound(ASSIGNMENT));
    }
    let key = keys::app_assignment(id, assignee_id);
    lifecycle::retry_stale("application assignment", || async {
        let mut extra = vec![key.clone()];
        extra.extend(own_tenant_key(caller));
        let (principal, app, loaded) =
            writable_app(state, caller, id, &extra, UNASSIGN, meta).await?;
        let assignment: Assignment = loaded.get(&key)?.ok_or(Error::NotFound(ASSIGNMENT))?;
        let tenant = tenant_of(state, &loaded, &assignment.tenant_id)
            .await?
            .filter(|t| sees(&principal, t))
            .ok_or(Error::NotFound(ASSIGNMENT))?;
        let event = event_for(&principal, UNASSIGN, &app, &tenant, meta).with_changes(
            &json!({"assignee": {"type": assignment.assignee_type, "id": assignment.assignee_id}}),
            &json!({}),
        );
        let mut tx = state.store().tx();
        tx.delete_existing(&key, GONE)?;
        tenant_still_with(&mut tx, &tenant)?;
        state.store().add_event(&mut tx, &event)?;
        match state.store().transact(tx).await {
            Ok(()) => Ok(()),
            Err(err) if err.refused_by() == Some(GONE) => Err(Error::NotFound(ASSIGNMENT)),
            Err(err) => Err(err.into()),
        }
    })
    .await
}

fn event_for(
    principal: &Principal,
    action: AuditAction,
    app: &Application,
    tenant: &Tenant,
    meta: &RequestMeta,
) -> AuditEvent {
    AuditEvent::new(
        Actor::admin(principal),
        action,
        Some(app.id.to_string()),
        meta,
    )
    .in_tenant(&tenant.partner_id, &tenant.id)
}

fn still_live(tx: &mut Tx, app: &Application) -> Result<()> {
    tx.check(
        &keys::application(&app.id),
        APPLICATION,
        "attribute_exists(PK) AND #status <> :deleted",
        Expr::default()
            .name("#status", "status")
            .value(":deleted", s("DELETED")),
    )?;
    Ok(())
}

/// Reach and coverage were decided on the tenant's partner as read: a transfer committing
/// meanwhile refuses the write (`Guard::Item` → re-read, decide again).
fn tenant_still_with(tx: &mut Tx, tenant: &Tenant) -> Result<()> {
    tx.check(
        &keys::tenant(&tenant.id),
        Guard::Item,
        "partner_id = :partner",
        Expr::default().value(":partner", s(tenant.partner_id.to_string())),
    )?;
    Ok(())
}

/// Get Application Effective Users: every user the application reaches in the caller's reach
/// (and the `tenant_id` filter), each once with its shortest provenance, direct first; paged
/// in memory.
pub async fn effective(
    state: &AppState,
    caller: &Caller,
    id: &ApplicationId,
    tenant_filter: Option<&TenantId>,
    page: &PageRequest,
) -> Result<Page<EffectiveUserView>> {
    let extra: Vec<Key> = tenant_filter.iter().map(|t| keys::tenant(t)).collect();
    let (principal, app, loaded) = readable_app(state, caller, id, &extra).await?;
    if let Some(t) = tenant_filter {
        let tenant: Option<Tenant> = loaded.get(&keys::tenant(t))?;
        match tenant.filter(|t| !t.is_deleted()) {
            Some(tenant) => access::tenants::read(&principal, &tenant.partner_id, &tenant.id)?,
            None if principal.is_super() => {}
            None => return Err(Error::AccessDenied),
        }
    }
    let (users, tenants) = assignments::effective_users(state.store(), &app, |t| {
        sees(&principal, t) && tenant_filter.is_none_or(|f| *f == t.id)
    })
    .await?;
    let secret = state.keys().cursor_secret().await?;
    let binding = format!(
        "app-effective-users|app={id}|tenant={}|caller={}",
        tenant_filter.map_or("", |t| t.as_str()),
        principal.actor_id()
    );
    let found = pagination::page_of_computed(&secret, &binding, page, users)?;
    let ids: Vec<UserId> = found.items.iter().map(|u| u.user.clone()).collect();
    let mut loaded: HashMap<UserId, User> = assignments::live_users(state.store(), &ids).await?;
    let mut items = Vec::with_capacity(found.items.len());
    for EffectiveUser { user, tenant, via } in found.items {
        let (Some(user), Some(t)) = (loaded.remove(&user), tenants.get(&tenant)) else {
            continue;
        };
        if user.tenant_id != t.id {
            continue;
        }
        items.push(EffectiveUserView {
            user,
            tenant_slug: t.slug.clone(),
            via,
        });
    }
    Ok(Page {
        items,
        pagination: found.pagination,
    })
}
