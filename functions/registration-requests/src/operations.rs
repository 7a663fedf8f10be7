//! Registration requests (SPEC §4.8): a request for an application, decided by an admin who
//! could create that application. Approval creates it through `shared::applications` — the
//! same rules, limit and audit as an admin create — in one transaction with the decision.
//!
//! Who may (§3.2): create, cancel, approve, reject — whoever could create the application
//! asked for; read — super all, partner admin its PARTNER requests and its tenants' TENANT
//! requests, tenant admin its tenant's TENANT requests.

use shared::access::{Principal, Tier};
use shared::applications::{self, NewApplication, Owner, Settings};
use shared::audit::{self, Actor, Attempt, AuditAction, AuditEvent, RequestMeta};
use shared::error::{Error, Result};
use shared::hierarchy::{AppScope, Application, Tenant};
use shared::ids::{RegistrationRequestId, TenantId};
use shared::lifecycle;
use shared::lists::{self, MergedQuery, Total};
use shared::pagination::{Page, PageRequest, Pagination};
use shared::session::{self, Caller};
use shared::state::AppState;
use shared::store::{Comparison, Guard, Loaded, QuerySpec, StoreError, keys};
use shared::time::Timestamp;
use shared::values::{Name, Status};

use crate::store::{self, Decision, RegistrationRequest};
use shared::store::tally::TenantNow;

pub const CREATE: AuditAction =
    AuditAction::new("registration_request.create", "registration_request");
pub const CANCEL: AuditAction =
    AuditAction::new("registration_request.cancel", "registration_request");
pub const APPROVE: AuditAction =
    AuditAction::new("registration_request.approve", "registration_request");
pub const REJECT: AuditAction =
    AuditAction::new("registration_request.reject", "registration_request");
/// Every action this group records (an approval also records `application.create`, the
/// applications group's).
pub const ACTIONS: &[AuditAction] = &[CREATE, CANCEL, APPROVE, REJECT];

pub(crate) const RESOURCE: &str = "Registration request";
const DECIDED: &str = "The request was already decided";
const EXPIRED: &str = "The request has expired";
const NOT_PENDING: &str = "Only a pending request can be cancelled";

/// What a request asks for, validated as an application would be.
pub struct NewRequest {
    pub owner: Owner,
    pub name: Name,
    pub description: Option<String>,
    pub settings: Settings,
    pub contact_email: String,
    pub contact_name: Option<String>,
    pub organization_name: Option<String>,
    pub website_url: Option<String>,
}

/// A request's status as read now: `EXPIRED` once PENDING for 30 days.
pub fn status_now(request: &RegistrationRequest, now: Timestamp) -> &'static str {
    if request.is_expired(now) {
        "EXPIRED"
    } else {
        request.status.as_str()
    }
}

/// The application an approval creates: the request's settings, ACTIVE, 3600 s tokens.
fn application_asked(request: &RegistrationRequest) -> Result<NewApplication> {
    let owner = match (request.scope, &request.partner_id, &request.tenant_id) {
        (AppScope::Global, _, _) => Owner::Global,
        (AppScope::Partner, Some(p), _) => Owner::Partner(p.clone()),
        // The request's partner is the tenant's when it was filed, a hint: the tenant's
        // partner now owns the application (a transfer since must not make it a 422).
        (AppScope::Tenant, _, Some(t)) => Owner::Tenant(t.clone(), None),
        _ => return Err(Error::internal("a request without its owner")),
    };
    let name = Name::parse(&serde_json::Value::String(request.name.clone()))
        .map_err(|_| Error::internal("a stored request name does not parse"))?;
    Ok(NewApplication {
        owner,
        settings: Settings {
            name,
            description: request.description.clone(),
            application_type: request.application_type,
            redirect_uris: request.redirect_uris.clone(),
            post_logout_redirect_uris: request.post_logout_redirect_uris.clone(),
            allowed_origins: request.allowed_origins.clone(),
            allowed_scopes: request.requested_scopes.clone(),
            grant_types: request.grant_types.clone(),
            token_lifetime: 3600,
            token_exchange_allowed: false,
            assignment_required: false,
            status: Status::Active,
        },
    })
}

fn event_for(
    principal: &Principal,
    action: AuditAction,
    request: &RegistrationRequest,
    meta: &RequestMeta,
) -> AuditEvent {
    let event = AuditEvent::new(
        Actor::admin(principal),
        action,
        Some(request.id.to_string()),
        meta,
    );
    match (&request.partner_id, &request.tenant_id) {
        (Some(p), Some(t)) => event.in_tenant(p, t),
        (Some(p), None) => event.in_partner(p),
        _ => event,
    }
}

/// The read rule; a TENANT request is judged by its tenant's partner as it is now.
async fn may_read(
    state: &AppState,
    principal: &Principal,
    request: &RegistrationRequest,
) -> Result<()> {
    let allowed = match (&principal.tier, request.scope) {
        (Tier::Super, _) => true,
        (Tier::Partner(own), AppScope::Partner) => request.partner_id.as_ref() == Some(own),
        (Tier::Tenant { tenant, .. }, AppScope::Tenant) => {
            request.tenant_id.as_ref() == Some(tenant)
        }
        (Tier::Partner(own), AppScope::Tenant) => match &request.tenant_id {
            Some(t) => Tenant::partner_now(state, t, RESOURCE).await? == *own,
            None => false,
        },
        _ => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(Error::AccessDenied)
    }
}

/// The decision rule (cancel, reject): whoever could create the application asked for;
/// refusals recorded. `tenant`: a TENANT request's tenant as it is now (None: not found), read
/// for a partner admin (its reach is the tenant's partner now).
async fn may_decide(
    state: &AppState,
    principal: &Principal,
    request: &RegistrationRequest,
    tenant: Option<&Tenant>,
    action: AuditAction,
    meta: &RequestMeta,
) -> Result<()> {
    let verdict = match (&principal.tier, request.scope) {
        (Tier::Super, _) => Ok(()),
        (_, AppScope::Global) => Err(Error::AccessDenied),
        (Tier::Partner(own), AppScope::Partner) if request.partner_id.as_ref() == Some(own) => {
            Ok(())
        }
        (_, AppScope::Partner) => Err(Error::AccessDenied),
        (Tier::Tenant { tenant, .. }, AppScope::Tenant) => {
            if request.tenant_id.as_ref() == Some(tenant) {
                Ok(())
            } else {
                Err(Error::AccessDenied)
            }
        }
        (Tier::Partner(own), AppScope::Tenant) => match tenant {
            Some(t) if t.partner_id == *own => Ok(()),
            _ => Err(Error::AccessDenied),
        },
    };
    let attempt = Attempt {
        action,
        resource_id: Some(request.id.to_string()),
    };
    audit::check_write(state, principal, verdict, attempt, meta).await
}

/// A request with the session check (one round trip), and what that batch read (the caller's
/// own tenant among it).
async fn checked_request(
    state: &AppState,
    caller: &Caller,
    id: &RegistrationRequestId,
) -> Result<(Principal, RegistrationRequest, Loaded)> {
    let key = keys::registration_request(id);
    let (principal, loaded) = session::check(state, caller, std::slice::from_ref(&key)).await?;
    let request: RegistrationRequest = loaded.get(&key)?.ok_or(Error::NotFound(RESOURCE))?;
    Ok((principal, request, loaded))
}

/// A tenant as it is now (None: not found, i.e. purged), from the session check's batch when
/// it was there (a tenant admin's own), else read.
async fn tenant_now(state: &AppState, loaded: &Loaded, id: &TenantId) -> Result<Option<Tenant>> {
    let key = keys::tenant(id);
    if loaded.has(&key) {
        return Ok(loaded.get(&key)?);
    }
    Ok(state
        .store()
        .load(std::slice::from_ref(&key))
        .await?
        .get(&key)?)
}

/// Now, to the millisecond: the tally's expiry minute of a `created_at` so cut is exactly the
/// minute it reads EXPIRED from (`RegistrationRequest::pending_since`).
fn now_to_the_millisecond() -> Timestamp {
    let now = Timestamp::now();
    Timestamp::from_unix(now.unix())
        .map(|second| second.plus(std::time::Duration::from_millis(now.unix_millis() % 1000)))
        .unwrap_or(now)
}

/// A refused write whose request or tenant changed since it was read: read again.
fn stale_or(err: StoreError) -> Error {
    match err.refused_by() {
        Some(Guard::Item) | Some(store::TENANT) => Error::Stale,
        _ => err.into(),
    }
}

/// Files a request, by an admin who could create the application itself (the same owner
/// checks, without the limit: the limit applies when it is approved). Counted in the pending
/// tallies until it expires or is decided: a TENANT request under its tenant's partner as read,
/// held (a transfer or delete between the read and the write: read again).
pub async fn create(
    state: &AppState,
    caller: &Caller,
    new: NewRequest,
    meta: &RequestMeta,
) -> Result<RegistrationRequest> {
    lifecycle::retry_stale("tenant", || create_once(state, caller, &new, meta)).await
}

async fn create_once(
    state: &AppState,
    caller: &Caller,
    new: &NewRequest,
    meta: &RequestMeta,
) -> Result<RegistrationRequest> {
    let wanted = applications::keys_to_create(caller, &new.owner);
    let (principal, loaded) = session::check(state, caller, &wanted).await?;
    let (partner_id, tenant_id, _) =
        applications::check_owner(state, &principal, &loaded, &new.owner, CREATE, meta).await?;
    let scope = match &new.owner {
        Owner::Global => AppScope::Global,
        Owner::Partner(_) => AppScope::Partner,
        Owner::Tenant(..) => AppScope::Tenant,
    };
    // A TENANT request's tenant is live (checked): its tally counts under its partner.
    let standing = match (scope, &partner_id) {
        (AppScope::Tenant, Some(p)) => Some(TenantNow::Live(p.clone())),
        _ => None,
    };
    let now = now_to_the_millisecond();
    let settings = &new.settings;
    let request = RegistrationRequest {
        id: RegistrationRequestId::generate(),
        scope,
        partner_id,
        tenant_id,
        name: new.name.as_str().to_owned(),
        description: new.description.clone(),
        application_type: settings.application_type,
        redirect_uris: settings.redirect_uris.clone(),
        post_logout_redirect_uris: settings.post_logout_redirect_uris.clone(),
        allowed_origins: settings.allowed_origins.clone(),
        requested_scopes: settings.allowed_scopes.clone(),
        grant_types: settings.grant_types.clone(),
        contact_email: new.contact_email.clone(),
        contact_name: new.contact_name.clone(),
        organization_name: new.organization_name.clone(),
        website_url: new.website_url.clone(),
        status: Decision::Pending,
        requested_by: principal.actor_id(),
        created_at: now,
        updated_at: now,
        decided_at: None,
        decided_by: None,
        decision_notes: None,
        rejection_reason: None,
        application_id: None,
        version: 1,
        tallied: true,
    };
    let event = event_for(&principal, CREATE, &request, meta)
        .with_changes(&serde_json::json!({}), &audit::snapshot(&request));
    store::create(state.store(), &request, standing.as_ref(), &event)
        .await
        .map_err(stale_or)?;
    Ok(request)
}

pub async fn get(
    state: &AppState,
    caller: &Caller,
    id: &RegistrationRequestId,
) -> Result<RegistrationRequest> {
    let (principal, request, _) = checked_request(state, caller, id).await?;
    may_read(state, &principal, &request).await?;
    Ok(request)
}

/// The request after a decision.
fn decided(
    before: &RegistrationRequest,
    principal: &Principal,
    status: Decision,
) -> RegistrationRequest {
    let now = Timestamp::now();
    RegistrationRequest {
        status,
        decided_at: Some(now),
        decided_by: Some(principal.actor_id()),
        updated_at: now,
        version: before.version + 1,
        ..before.clone()
    }
}

/// Still PENDING and not expired at `now`, or the 409 that says why not.
fn still_pending(
    request: &RegistrationRequest,
    now: Timestamp,
    pending_only: &'static str,
) -> Result<()> {
    if request.is_expired(now) {
        return Err(Error::conflict(EXPIRED));
    }
    if request.status != Decision::Pending {
        return Err(Error::conflict(pending_only));
    }
    Ok(())
}

/// A decision without an application (cancel, reject), versioned: a concurrent decision wins
/// or loses as a whole, so only the one that ends a counted request takes it off its tallies
/// (a TENANT request's under its tenant's partner now, held).
async fn decide_alone(
    state: &AppState,
    caller: &Caller,
    id: &RegistrationRequestId,
    action: AuditAction,
    meta: &RequestMeta,
    apply: impl Fn(&RegistrationRequest, &Principal, Timestamp) -> Result<RegistrationRequest>,
) -> Result<RegistrationRequest> {
    lifecycle::retry_stale("registration request", || async {
        let (principal, before, loaded) = checked_request(state, caller, id).await?;
        let tenant_id = match (before.scope, &before.tenant_id) {
            (AppScope::Tenant, Some(t)) => Some(t),
            _ => None,
        };
        // The tenant is read for a partner admin's reach, and — once the decision is allowed
        // — for where a counted request's tally is held.
        let mut tenant = match (tenant_id, &principal.tier) {
            (Some(t), Tier::Partner(_)) => Some(tenant_now(state, &loaded, t).await?),
            _ => None,
        };
        let tenant_read = tenant.as_ref().and_then(Option::as_ref);
        may_decide(state, &principal, &before, tenant_read, action, meta).await?;
        let now = Timestamp::now();
        let after = apply(&before, &principal, now)?;
        let event = event_for(&principal, action, &after, meta)
            .with_changes(&audit::snapshot(&before), &audit::snapshot(&after));
        let mut tx = state.store().tx();
        store::decide(state.store(), &mut tx, &before, &after, &event)?;
        if before.counted(now) {
            if let (Some(t), None) = (tenant_id, &tenant) {
                tenant = Some(tenant_now(state, &loaded, t).await?);
            }
            let standing = tenant.as_ref().map(|t| TenantNow::of(t.as_ref()));
            store::uncount(&mut tx, &before, standing.as_ref())?;
        }
        state.store().transact(tx).await.map_err(stale_or)?;
        Ok(after)
    })
    .await
}

/// Cancels a PENDING request (the reference answers 200 with the request).
pub async fn cancel(
    state: &AppState,
    caller: &Caller,
    id: &RegistrationRequestId,
    meta: &RequestMeta,
) -> Result<RegistrationRequest> {
    decide_alone(state, caller, id, CANCEL, meta, |before, principal, now| {
        still_pending(before, now, NOT_PENDING)?;
        Ok(decided(before, principal, Decision::Cancelled))
    })
    .await
}

pub async fn reject(
    state: &AppState,
    caller: &Caller,
    id: &RegistrationRequestId,
    reason: &str,
    meta: &RequestMeta,
) -> Result<RegistrationRequest> {
    decide_alone(state, caller, id, REJECT, meta, |before, principal, now| {
        still_pending(before, now, DECIDED)?;
        let mut after = decided(before, principal, Decision::Rejected);
        after.rejection_reason = Some(reason.to_owned());
        Ok(after)
    })
    .await
}

/// Approves a PENDING request: the application is created exactly as an admin create would
/// (same owner checks, limit, secret, `application.create` event) in one transaction with the
/// decision, so of any number of concurrent approvals exactly one creates it — and takes the
/// request off its tallies (a TENANT request's under the partner the create read and holds).
pub async fn approve(
    state: &AppState,
    caller: &Caller,
    id: &RegistrationRequestId,
    notes: Option<String>,
    meta: &RequestMeta,
) -> Result<(RegistrationRequest, Application, Option<String>)> {
    let notes = &notes;
    lifecycle::retry_stale("registration request", || async move {
        let (principal, before, _) = checked_request(state, caller, id).await?;
        let new = application_asked(&before)?;
        let owner_keys = applications::keys_to_create(caller, &new.owner);
        let loaded = state.store().load(&owner_keys).await?;
        // Whoever could create the application may approve (refusals recorded); the 409s of
        // a decided or expired request come after that check, so they tell outsiders nothing.
        let prepared =
            applications::prepare(state, &principal, &loaded, &new, APPROVE, meta).await?;
        let now = Timestamp::now();
        still_pending(&before, now, DECIDED)?;
        let mut after = decided(&before, &principal, Decision::Approved);
        after.decision_notes = notes.clone();
        after.application_id = Some(prepared.app.id.clone());
        let event = event_for(&principal, APPROVE, &after, meta)
            .with_changes(&audit::snapshot(&before), &audit::snapshot(&after));
        let mut tx = prepared.transaction(state.store())?;
        store::decide(state.store(), &mut tx, &before, &after, &event)?;
        if before.counted(now) {
            store::uncount_approved(&mut tx, &before, prepared.app.partner_id.as_ref())?;
        }
        match state.store().transact(tx).await {
            Ok(()) => {
                let (app, secret) = prepared.created();
                Ok((after, app, secret))
            }
            // The request changed since it was read (another decision): read it again.
            Err(err) if err.refused_by() == Some(Guard::Item) => Err(Error::Stale),
            Err(err) => Err(prepared.refusal(err)),
        }
    })
    .await
}

#[derive(Default, Clone)]
pub struct RequestFilter {
    /// `PENDING`, `APPROVED`, `REJECTED`, `CANCELLED` or `EXPIRED`.
    pub status: Option<String>,
    pub scope: Option<AppScope>,
}

/// Newest first, what the caller may read; totals counted (requests are few).
pub async fn list(
    state: &AppState,
    caller: &Caller,
    filter: &RequestFilter,
    page: &PageRequest,
) -> Result<Page<RegistrationRequest>> {
    let (principal, _) = session::check(state, caller, &[]).await?;
    let wants = |scope: AppScope| filter.scope.is_none_or(|s| s == scope);
    let mut partitions: Vec<(&'static str, &'static str, String)> = Vec::new();
    match &principal.tier {
        Tier::Super => partitions.push((keys::GSI2, keys::GSI2PK, keys::ALL_RRQS.to_owned())),
        Tier::Partner(p) => {
            if wants(AppScope::Partner) {
                partitions.push((keys::GSI1, keys::GSI1PK, keys::rrqs_of_partner(p)));
            }
            if wants(AppScope::Tenant) {
                for tenant in lists::live_tenants_of(state, p).await? {
                    partitions.push((keys::GSI1, keys::GSI1PK, keys::rrqs_of_tenant(&tenant.id)));
                }
            }
        }
        Tier::Tenant { tenant, .. } => {
            if wants(AppScope::Tenant) {
                partitions.push((keys::GSI1, keys::GSI1PK, keys::rrqs_of_tenant(tenant)));
            }
        }
    }
    if partitions.is_empty() {
        return Ok(Page {
            items: Vec::new(),
            pagination: Pagination::new(page.page, page.per_page, 0, None),
        });
    }
    let mut equals: Vec<(&'static str, String)> = Vec::new();
    let mut compare = Vec::new();
    if principal.is_super()
        && let Some(scope) = filter.scope
    {
        equals.push(("scope", scope.as_str().to_owned()));
    }
    // EXPIRED is PENDING created before `pending_since` (as a request read says); PENDING
    // excludes those.
    let cutoff = RegistrationRequest::pending_since(Timestamp::now()).to_string();
    match filter.status.as_deref() {
        Some("EXPIRED") => {
            equals.push(("status", "PENDING".into()));
            compare.push(("created_at", Comparison::Below, cutoff.clone()));
        }
        Some("PENDING") => {
            equals.push(("status", "PENDING".into()));
            compare.push(("created_at", Comparison::AtLeast, cutoff.clone()));
        }
        Some(other) => equals.push(("status", other.to_owned())),
        None => {}
    }
    let binding = format!(
        "registration-requests|tier={:?}|status={}|scope={}|cutoff-day={}",
        principal.tier,
        filter.status.as_deref().unwrap_or(""),
        filter.scope.map_or("", |s| s.as_str()),
        &cutoff[..10.min(cutoff.len())],
    );
    let query = MergedQuery {
        binding,
        specs: partitions
            .into_iter()
            .map(|(index, pk, value)| QuerySpec {
                index: Some(index),
                partition: (pk, value),
                equals: equals.clone(),
                contains: None,
                compare: compare.clone(),
            })
            .collect(),
        total: Total::Count,
    };
    lists::merged_page(state, &query, page).await
}
