//! Creating an OAuth application (SPEC §4.7): the core an admin's create (the applications
//! group) and a registration request's approval (the registration-requests group) share — the
//! same rules, owner checks, limit, secret and audit event, in one transaction the caller may
//! add to (an approval records its decision in it).
//!
//! `rules` (redirect URIs, origins, scopes, grant types), `schema` (their OpenAPI schemas),
//! `store` (the application's items and transactions).

pub mod assignments;
pub mod rules;
pub mod schema;
pub mod store;

use serde::Serialize;
use utoipa::ToSchema;

use crate::access::{self, Principal, Tier};
use crate::audit::{self, Actor, Attempt, AuditAction, AuditEvent, RequestMeta};
use crate::client_secret;
use crate::error::{Error, Result};
use crate::hierarchy::{AppScope, AppType, Application, Partner, Tenant};
use crate::ids::{ApplicationId, PartnerId, TenantId};
use crate::lifecycle::{Lifecycle, live};
use crate::session::Caller;
use crate::state::AppState;
use crate::store::{Key, Loaded, Store, StoreError, Tx, keys};
use crate::time::Timestamp;
use crate::values::{Name, Status};

use store::{LIMIT, PARTNER, TENANT};

const LIMIT_REACHED: &str = "Application limit reached for this tenant";

/// Who owns a new application.
#[derive(Clone, Debug)]
pub enum Owner {
    Global,
    Partner(PartnerId),
    /// The tenant, and the partner the client named (must be the tenant's).
    Tenant(TenantId, Option<PartnerId>),
}

/// The settings an admin chooses, validated together (`rules`).
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub name: Name,
    pub description: Option<String>,
    pub application_type: AppType,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub allowed_origins: Vec<String>,
    pub allowed_scopes: Vec<String>,
    pub grant_types: Vec<String>,
    pub token_lifetime: u32,
    pub token_exchange_allowed: bool,
    pub assignment_required: bool,
    pub status: Status,
}

pub struct NewApplication {
    pub owner: Owner,
    pub settings: Settings,
}

pub fn with_settings(app: &Application, settings: Settings) -> Application {
    let mut next = app.clone();
    next.name = settings.name.as_str().to_owned();
    next.description = settings.description;
    // A public client can hold no secret: a type change to SPA/NATIVE drops it.
    if !settings.application_type.is_confidential() {
        next.secret_hash = None;
        next.previous_secret_hash = None;
        next.previous_secret_expires_at = None;
    }
    next.application_type = settings.application_type;
    next.redirect_uris = settings.redirect_uris;
    next.post_logout_redirect_uris = settings.post_logout_redirect_uris;
    next.allowed_origins = settings.allowed_origins;
    next.allowed_scopes = settings.allowed_scopes;
    next.grant_types = settings.grant_types;
    next.token_lifetime = settings.token_lifetime;
    next.token_exchange_allowed = settings.token_exchange_allowed;
    next.assignment_required = settings.assignment_required;
    next.status = settings.status;
    next
}

/// The event of an application write, filed under its partner and tenant (none for GLOBAL).
pub fn event_for(
    principal: &Principal,
    action: AuditAction,
    app: &Application,
    partner: Option<&PartnerId>,
    meta: &RequestMeta,
) -> AuditEvent {
    let event = AuditEvent::new(
        Actor::admin(principal),
        action,
        Some(app.id.to_string()),
        meta,
    );
    match (partner, &app.tenant_id) {
        (Some(p), Some(t)) => event.in_tenant(p, t),
        (Some(p), None) => event.in_partner(p),
        _ => event,
    }
}

/// The partner the caller's claims make likely, read in the session check's batch (a hint:
/// the tenant's own `partner_id` decides).
fn partner_hint(caller: &Caller) -> Option<PartnerId> {
    match caller.claimed_tier().ok()? {
        Tier::Super => None,
        Tier::Partner(p) => Some(p),
        Tier::Tenant { partner, .. } => Some(partner),
    }
}

/// What a create reads with the session check: the owner (and the caller's partner, likely the
/// tenant's).
pub fn keys_to_create(caller: &Caller, owner: &Owner) -> Vec<Key> {
    match owner {
        Owner::Global => Vec::new(),
        Owner::Partner(p) => vec![keys::partner(p)],
        Owner::Tenant(t, _) => {
            let mut wanted = vec![keys::tenant(t)];
            wanted.extend(partner_hint(caller).map(|p| keys::partner(&p)));
            wanted
        }
    }
}

async fn partner_of(state: &AppState, loaded: &Loaded, id: &PartnerId) -> Result<Partner> {
    let key = keys::partner(id);
    let found: Option<Partner> = if loaded.has(&key) {
        loaded.get(&key)?
    } else {
        state
            .store()
            .load(std::slice::from_ref(&key))
            .await?
            .get(&key)?
    };
    live(found, "Partner")
}

/// A create, checked and built, ready to commit.
pub struct Prepared {
    pub app: Application,
    secret: Option<String>,
    limit: Option<u32>,
    event: AuditEvent,
}

impl Prepared {
    /// The create's transaction (application, owner checks, counters, event); the caller may
    /// add its own actions before it commits.
    pub fn transaction(&self, store: &Store) -> std::result::Result<Tx, StoreError> {
        let mut tx = store.tx();
        store::create(&mut tx, &self.app, self.limit)?;
        store.add_event(&mut tx, &self.event)?;
        Ok(tx)
    }

    /// The application and its secret (shown once), once the transaction committed.
    pub fn created(self) -> (Application, Option<String>) {
        (self.app, self.secret)
    }

    /// What a refused transaction means: the limit reached (409), or the owner changed since
    /// it was read (`Stale`: read again, and answer 404 / 403 / 409 then).
    pub fn refusal(&self, err: StoreError) -> Error {
        match err.refused_by() {
            Some(LIMIT) => Error::conflict(LIMIT_REACHED),
            Some(TENANT) => Error::Stale,
            Some(PARTNER) if self.app.scope == AppScope::Tenant => Error::Stale,
            Some(PARTNER) => Error::NotFound("Partner"),
            _ => err.into(),
        }
    }
}

/// The owner of a new application as read in `loaded`, if `principal` may create there (SPEC
/// §3.2: super any; partner admin PARTNER of its own and TENANT of its tenants; tenant admin
/// TENANT of its own — a refusal is recorded under `action`): its partner and tenant, and for
/// a TENANT app the partner's `max_applications_per_tenant`.
pub async fn check_owner(
    state: &AppState,
    principal: &Principal,
    loaded: &Loaded,
    owner: &Owner,
    action: AuditAction,
    meta: &RequestMeta,
) -> Result<(Option<PartnerId>, Option<TenantId>, Option<u32>)> {
    let attempt = || Attempt {
        action,
        resource_id: None,
    };
    let refuse =
        |verdict: Result<()>| audit::check_write(state, principal, verdict, attempt(), meta);
    Ok(match owner {
        Owner::Global => {
            refuse(if principal.is_super() {
                Ok(())
            } else {
                Err(Error::AccessDenied)
            })
            .await?;
            (None, None, None)
        }
        Owner::Partner(p) => {
            let verdict = match &principal.tier {
                Tier::Super => Ok(()),
                Tier::Partner(own) if own == p => Ok(()),
                _ => Err(Error::AccessDenied),
            };
            refuse(verdict).await?;
            let partner: Option<Partner> = loaded.get(&keys::partner(p))?;
            live(partner, "Partner")?;
            (Some(p.clone()), None, None)
        }
        Owner::Tenant(t, named_partner) => {
            let tenant: Option<Tenant> = loaded.get(&keys::tenant(t))?;
            let tenant = match tenant.filter(|t| !t.is_deleted()) {
                Some(tenant) => tenant,
                // An unknown tenant is outside every reach but the super admin's.
                None if principal.is_super() => return Err(Error::NotFound("Tenant")),
                None => {
                    refuse(Err(Error::AccessDenied)).await?;
                    return Err(Error::AccessDenied);
                }
            };
            refuse(access::tenants::read(
                principal,
                &tenant.partner_id,
                &tenant.id,
            ))
            .await?;
            if named_partner
                .as_ref()
                .is_some_and(|p| *p != tenant.partner_id)
            {
                return Err(rules::field_error(
                    "partner_id",
                    "not the partner of the tenant",
                ));
            }
            let partner = partner_of(state, loaded, &tenant.partner_id).await?;
            let limit = partner.limits.max_applications_per_tenant;
            (Some(tenant.partner_id), Some(tenant.id), limit)
        }
    })
}

/// Checks that `principal` may create `new` ([`check_owner`]), then builds the application:
/// its secret (confidential types), the limit its transaction counts under, the event.
pub async fn prepare(
    state: &AppState,
    principal: &Principal,
    loaded: &Loaded,
    new: &NewApplication,
    action: AuditAction,
    meta: &RequestMeta,
) -> Result<Prepared> {
    let (partner_id, tenant_id, limit) =
        check_owner(state, principal, loaded, &new.owner, action, meta).await?;
    // Whoever asked, the application is valid: an admin's body was checked when read, a
    // registration request when filed; checked again so no path creates an invalid one (a
    // public type with `client_credentials`, say).
    rules::check(&new.settings)?;
    let scope = match &new.owner {
        Owner::Global => AppScope::Global,
        Owner::Partner(_) => AppScope::Partner,
        Owner::Tenant(..) => AppScope::Tenant,
    };
    let now = Timestamp::now();
    let settings = new.settings.clone();
    let secret = settings
        .application_type
        .is_confidential()
        .then(client_secret::generate);
    let secret_hash = match &secret {
        Some(s) => Some(client_secret::hash(state, s).await?),
        None => None,
    };
    let blank = Application {
        id: ApplicationId::generate(),
        name: String::new(),
        description: None,
        scope,
        partner_id,
        tenant_id,
        application_type: settings.application_type,
        redirect_uris: Vec::new(),
        post_logout_redirect_uris: Vec::new(),
        allowed_origins: Vec::new(),
        allowed_scopes: Vec::new(),
        grant_types: Vec::new(),
        token_lifetime: settings.token_lifetime,
        token_exchange_allowed: false,
        assignment_required: false,
        status: Status::Active,
        secret_hash: None,
        previous_secret_hash: None,
        previous_secret_expires_at: None,
        created_at: now,
        updated_at: now,
        deleted_at: None,
        version: 1,
    };
    let mut app = with_settings(&blank, settings);
    app.secret_hash = secret_hash;
    let event = event_for(principal, CREATE, &app, app.partner_id.as_ref(), meta)
        .with_changes(&serde_json::json!({}), &app.audit_view());
    Ok(Prepared {
        app,
        secret,
        limit,
        event,
    })
}

/// The event of every application create, whoever asked (an admin, or an approval).
pub const CREATE: AuditAction = AuditAction::new("application.create", "application");

/// An application as the API shows it. `partner_id` is the owner of a PARTNER app (null for
/// TENANT apps: their partner is their tenant's, which a transfer may change).
/// (A wire type in the kernel: the applications group shows it, and so does an approval.)
#[derive(Serialize, ToSchema)]
pub struct ApplicationResponse {
    id: String,
    /// The OAuth `client_id`: the application's id.
    client_id: String,
    name: String,
    description: Option<String>,
    scope: AppScope,
    partner_id: Option<String>,
    tenant_id: Option<String>,
    application_type: AppType,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    allowed_origins: Vec<String>,
    allowed_scopes: Vec<String>,
    grant_types: Vec<String>,
    token_lifetime: u32,
    token_exchange_allowed: bool,
    assignment_required: bool,
    status: Status,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl From<Application> for ApplicationResponse {
    fn from(a: Application) -> Self {
        Self {
            client_id: a.id.to_string(),
            id: a.id.to_string(),
            name: a.name,
            description: a.description,
            scope: a.scope,
            partner_id: match a.scope {
                AppScope::Partner => a.partner_id.map(|p| p.to_string()),
                _ => None,
            },
            tenant_id: a.tenant_id.map(|t| t.to_string()),
            application_type: a.application_type,
            redirect_uris: a.redirect_uris,
            post_logout_redirect_uris: a.post_logout_redirect_uris,
            allowed_origins: a.allowed_origins,
            allowed_scopes: a.allowed_scopes,
            grant_types: a.grant_types,
            token_lifetime: a.token_lifetime,
            token_exchange_allowed: a.token_exchange_allowed,
            assignment_required: a.assignment_required,
            status: a.status,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}
