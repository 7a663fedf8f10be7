//! Application operations (SPEC §4.7, the visibility table of §3.2):
//!
//! | | super_admin | partner_admin | tenant_admin |
//! |---|---|---|---|
//! | read | all | GLOBAL + own PARTNER + TENANT apps of own tenants | GLOBAL + its partner's PARTNER + own TENANT |
//! | write | any | PARTNER (own) and TENANT (own tenants) | TENANT (own) |

use shared::access::{self, Principal, Tier};
use shared::audit::{self, Attempt, AuditAction, RequestMeta};
use shared::client_secret;
use shared::error::{Error, Result};
use shared::hierarchy::Tenant;
use shared::ids::{ApplicationId, PartnerId, TenantId};
use shared::lifecycle::{self, Attempts, Lifecycle, live};
use shared::lists::{self, MergedQuery, Total};
use shared::pagination::{Page, PageRequest, Pagination};
use shared::session::{self, Caller};
use shared::state::AppState;
use shared::store::counters::Counter;
use shared::store::{Key, QuerySpec, keys};
use shared::validation::{self, Fixed, Patch};
use shared::values::{Name, Status};

use shared::applications::{self, event_for, store, with_settings};
pub use shared::applications::{CREATE, NewApplication, Owner, Settings};
use shared::hierarchy::{AppScope, AppType, Application};
use store::TENANT;

pub const UPDATE: AuditAction = AuditAction::new("application.update", "application");
pub const DELETE: AuditAction = AuditAction::new("application.delete", "application");
pub const ROTATE_SECRET: AuditAction = AuditAction::new("application.rotate_secret", "application");
/// Every action this group records: its part of the audit catalogue.
pub const ACTIONS: &[AuditAction] = &[
    CREATE,
    UPDATE,
    DELETE,
    ROTATE_SECRET,
    crate::assignments::ASSIGN,
    crate::assignments::UNASSIGN,
];

pub(crate) const RESOURCE: &str = "Application";
const PUBLIC_HAS_NO_SECRET: &str = "Public applications have no client secret";
/// The longest a rotated-out secret keeps working.
pub const MAX_GRACE_SECONDS: i64 = 7 * 86_400;

/// A PATCH: lists replace, `description: null` clears; the scope and owners cannot change
/// (sent as read, they are ignored).
#[derive(Default)]
pub struct ApplicationPatch {
    pub scope: Fixed<AppScope>,
    pub partner_id: Fixed<PartnerId>,
    pub tenant_id: Fixed<TenantId>,
    pub name: Option<Name>,
    pub description: Patch<String>,
    pub application_type: Option<AppType>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub allowed_origins: Option<Vec<String>>,
    pub allowed_scopes: Option<Vec<String>>,
    pub grant_types: Option<Vec<String>>,
    pub token_lifetime: Option<u32>,
    pub token_exchange_allowed: Option<bool>,
    pub assignment_required: Option<bool>,
    pub status: Option<Status>,
}

impl ApplicationPatch {
    /// The 422 of a scope or owner sent with another value than the application shows (a
    /// TENANT app shows no partner, and also accepts `partner`, its tenant's).
    pub fn check_fixed(&self, app: &Application, partner: Option<&PartnerId>) -> Result<()> {
        let partner_changed = match app.scope {
            AppScope::Partner => self.partner_id.changed(app.partner_id.as_ref()),
            AppScope::Tenant => self
                .partner_id
                .changed(None)
                .and(self.partner_id.changed(partner)),
            AppScope::Global => self.partner_id.changed(None),
        };
        validation::unchanged([
            self.scope.changed(Some(&app.scope)),
            partner_changed,
            self.tenant_id.changed(app.tenant_id.as_ref()),
        ])
    }

    /// The settings after the patch (validated as a whole by the caller).
    pub fn apply(&self, app: &Application) -> Result<Settings> {
        let name = match &self.name {
            Some(n) => n.clone(),
            None => Name::parse(&serde_json::Value::String(app.name.clone()))
                .map_err(|_| Error::internal("a stored application name does not parse"))?,
        };
        Ok(Settings {
            name,
            description: match &self.description {
                Patch::Keep => app.description.clone(),
                Patch::Clear => None,
                Patch::Set(d) => Some(d.clone()),
            },
            application_type: self.application_type.unwrap_or(app.application_type),
            redirect_uris: self
                .redirect_uris
                .clone()
                .unwrap_or_else(|| app.redirect_uris.clone()),
            post_logout_redirect_uris: self
                .post_logout_redirect_uris
                .clone()
                .unwrap_or_else(|| app.post_logout_redirect_uris.clone()),
            allowed_origins: self
                .allowed_origins
                .clone()
                .unwrap_or_else(|| app.allowed_origins.clone()),
            allowed_scopes: self
                .allowed_scopes
                .clone()
                .unwrap_or_else(|| app.allowed_scopes.clone()),
            grant_types: self
                .grant_types
                .clone()
                .unwrap_or_else(|| app.grant_types.clone()),
            token_lifetime: self.token_lifetime.unwrap_or(app.token_lifetime),
            token_exchange_allowed: self
                .token_exchange_allowed
                .unwrap_or(app.token_exchange_allowed),
            assignment_required: self.assignment_required.unwrap_or(app.assignment_required),
            status: self.status.unwrap_or(app.status),
        })
    }
}

#[derive(Default, Clone)]
pub struct ApplicationFilter {
    pub tenant_id: Option<TenantId>,
    pub partner_id: Option<PartnerId>,
    pub scope: Option<AppScope>,
    pub application_type: Option<AppType>,
    pub search: Option<String>,
}

/// The read rule of §3.2; a TENANT app is judged by its tenant's partner as it is now.
pub(crate) async fn may_read(
    state: &AppState,
    principal: &Principal,
    app: &Application,
) -> Result<()> {
    let allowed = match (&principal.tier, app.scope) {
        (Tier::Super, _) | (_, AppScope::Global) => true,
        (Tier::Partner(own), AppScope::Partner) => app.partner_id.as_ref() == Some(own),
        (Tier::Tenant { partner, .. }, AppScope::Partner) => {
            app.partner_id.as_ref() == Some(partner)
        }
        (Tier::Tenant { tenant, .. }, AppScope::Tenant) => app.tenant_id.as_ref() == Some(tenant),
        (Tier::Partner(own), AppScope::Tenant) => match &app.tenant_id {
            Some(t) => Tenant::partner_now(state, t, RESOURCE).await? == *own,
            None => false,
        },
    };
    if allowed {
        Ok(())
    } else {
        Err(Error::AccessDenied)
    }
}

/// The write rule of §3.2, recorded when refused. Returns the partner the write files its
/// event under (none for GLOBAL apps) and, for a TENANT app, assumes in its transaction: a
/// tenant admin's own, else the app's hint — the tenant is read only on a retry or before
/// refusing on the hint.
async fn may_write(
    state: &AppState,
    principal: &Principal,
    app: &Application,
    action: AuditAction,
    meta: &RequestMeta,
    retry: bool,
) -> Result<Option<PartnerId>> {
    let decided: Result<Option<PartnerId>> = match (&principal.tier, app.scope) {
        (Tier::Super, AppScope::Global) => Ok(None),
        (_, AppScope::Global) => Err(Error::AccessDenied),
        (Tier::Super, AppScope::Partner) => Ok(app.partner_id.clone()),
        (Tier::Partner(own), AppScope::Partner) if app.partner_id.as_ref() == Some(own) => {
            Ok(Some(own.clone()))
        }
        (_, AppScope::Partner) => Err(Error::AccessDenied),
        (Tier::Tenant { partner, tenant }, AppScope::Tenant) => {
            if app.tenant_id.as_ref() == Some(tenant) {
                Ok(Some(partner.clone()))
            } else {
                Err(Error::AccessDenied)
            }
        }
        (_, AppScope::Tenant) => {
            let tenant = app
                .tenant_id
                .clone()
                .ok_or_else(|| Error::internal("a TENANT application without its tenant"))?;
            let hinted = app
                .partner_id
                .clone()
                .filter(|p| !retry && access::tenants::read(principal, p, &tenant).is_ok());
            match hinted {
                Some(p) => Ok(Some(p)),
                None => Tenant::partner_now(state, &tenant, RESOURCE)
                    .await
                    .and_then(|p| access::tenants::read(principal, &p, &tenant).map(|()| Some(p))),
            }
        }
    };
    // A failed read of the tenant (database down) is that failure, not a refusal.
    let decided = match decided {
        Err(err) if !matches!(err, Error::AccessDenied | Error::NotFound(_)) => return Err(err),
        other => other,
    };
    let verdict = decided.as_ref().map(drop).map_err(|_| Error::AccessDenied);
    let attempt = Attempt {
        action,
        resource_id: Some(app.id.to_string()),
    };
    audit::check_write(state, principal, verdict, attempt, meta).await?;
    decided
}

/// A live application, read with the session check (one round trip).
async fn checked_app(
    state: &AppState,
    caller: &Caller,
    id: &ApplicationId,
) -> Result<(Principal, Application)> {
    let key = keys::application(id);
    let (principal, loaded) = session::check(state, caller, std::slice::from_ref(&key)).await?;
    let app: Application = live(loaded.get(&key)?, RESOURCE)?;
    Ok((principal, app))
}

/// Creates an application for its owner (`shared::applications`: the core registration
/// approval shares), with a client secret for a confidential type, returned once.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    new: NewApplication,
    meta: &RequestMeta,
) -> Result<(Application, Option<String>)> {
    lifecycle::retry_stale("tenant", || async {
        let wanted = applications::keys_to_create(caller, &new.owner);
        let (principal, loaded) = session::check(state, caller, &wanted).await?;
        let prepared =
            applications::prepare(state, &principal, &loaded, &new, CREATE, meta).await?;
        let tx = prepared.transaction(state.store())?;
        match state.store().transact(tx).await {
            Ok(()) => Ok(prepared.created()),
            Err(err) => Err(prepared.refusal(err)),
        }
    })
    .await
}

pub async fn get(state: &AppState, caller: &Caller, id: &ApplicationId) -> Result<Application> {
    let (principal, app) = checked_app(state, caller, id).await?;
    may_read(state, &principal, &app).await?;
    Ok(app)
}

/// Applies a patch after validating the result as a whole (`rules::check`).
pub async fn update(
    state: &AppState,
    caller: &Caller,
    id: &ApplicationId,
    patch: &ApplicationPatch,
    meta: &RequestMeta,
) -> Result<Application> {
    let attempts = Attempts::default();
    lifecycle::retry_stale("application", || async {
        let (principal, before) = checked_app(state, caller, id).await?;
        let retry = attempts.next_is_retry();
        let partner = may_write(state, &principal, &before, UPDATE, meta, retry).await?;
        patch.check_fixed(&before, partner.as_ref())?;
        let settings = patch.apply(&before)?;
        applications::rules::check(&settings)?;
        let mut after = lifecycle::next_version(&before, with_settings(&before, settings));
        if before.scope == AppScope::Tenant {
            after.partner_id = partner.clone();
        }
        let event = event_for(&principal, UPDATE, &after, partner.as_ref(), meta)
            .with_changes(&before.audit_view(), &after.audit_view());
        write_outcome(store::update(state.store(), &before, &after, &event).await)?;
        Ok(after)
    })
    .await
}

/// A new client secret, returned once; the previous one keeps working for `grace_seconds`
/// (0: it stops at once), so a fleet can roll over without downtime.
pub async fn rotate_secret(
    state: &AppState,
    caller: &Caller,
    id: &ApplicationId,
    grace_seconds: i64,
    meta: &RequestMeta,
) -> Result<(Application, String)> {
    let attempts = Attempts::default();
    let secret = client_secret::generate();
    let hashed = client_secret::hash(state, &secret).await?;
    let (secret, hashed, attempts) = (&secret, &hashed, &attempts);
    lifecycle::retry_stale("application", || async move {
        let (principal, before) = checked_app(state, caller, id).await?;
        let retry = attempts.next_is_retry();
        let partner = may_write(state, &principal, &before, ROTATE_SECRET, meta, retry).await?;
        if !before.application_type.is_confidential() {
            return Err(Error::conflict(PUBLIC_HAS_NO_SECRET));
        }
        let mut after = lifecycle::next_version(&before, before.clone());
        let now = after.updated_at;
        (after.previous_secret_hash, after.previous_secret_expires_at) =
            match (&before.secret_hash, grace_seconds) {
                (Some(old), g) if g > 0 => (
                    Some(old.clone()),
                    Some(now.plus(std::time::Duration::from_secs(g as u64))),
                ),
                _ => (None, None),
            };
        after.secret_hash = Some(hashed.clone());
        if before.scope == AppScope::Tenant {
            after.partner_id = partner.clone();
        }
        let event = event_for(&principal, ROTATE_SECRET, &after, partner.as_ref(), meta)
            .with_changes(&before.audit_view(), &after.audit_view());
        write_outcome(store::update(state.store(), &before, &after, &event).await)?;
        Ok((after, secret.clone()))
    })
    .await
}

/// Soft-deletes an application: it leaves lists and counts at once; its tenant's slot under
/// `max_applications_per_tenant` is free again.
pub async fn delete(
    state: &AppState,
    caller: &Caller,
    id: &ApplicationId,
    meta: &RequestMeta,
) -> Result<()> {
    let attempts = Attempts::default();
    lifecycle::retry_stale("application", || async {
        let (principal, before) = checked_app(state, caller, id).await?;
        // The first attempt assumes a TENANT app's tenant live under the app's hint (its
        // transaction holds that); a retry reads the tenant, which may have been deleted (the
        // app may still go, counted under no partner) or moved — and judges by it.
        let tenant = match (before.scope, &before.tenant_id, attempts.next_is_retry()) {
            (AppScope::Tenant, Some(t), true) => Some(Tenant::now(state, t, RESOURCE).await?),
            _ => None,
        };
        let judged = match &tenant {
            Some(t) => Application {
                partner_id: Some(t.partner_id.clone()),
                ..before.clone()
            },
            None => before.clone(),
        };
        let partner = may_write(state, &principal, &judged, DELETE, meta, false).await?;
        let tenant_live = tenant.as_ref().is_none_or(|t| !t.is_deleted());
        let (mut after, purge_at) = lifecycle::deleted(&before);
        if before.scope == AppScope::Tenant {
            after.partner_id = partner.clone();
        }
        let event = event_for(&principal, DELETE, &before, partner.as_ref(), meta);
        write_outcome(
            store::delete(
                state.store(),
                &before,
                &after,
                purge_at,
                tenant_live,
                &event,
            )
            .await,
        )
    })
    .await
}

/// A versioned write's refusals: the item or the tenant's partner changed → re-read.
fn write_outcome(result: std::result::Result<(), shared::store::StoreError>) -> Result<()> {
    match result {
        Ok(()) => Ok(()),
        Err(err) if err.refused_by() == Some(TENANT) => Err(Error::Stale),
        Err(err) => Err(err.into()),
    }
}

/// The partitions a list reads, by who asks and what it filters.
struct Sources {
    global: bool,
    partners: Vec<PartnerId>,
    tenants: Vec<TenantId>,
    /// The super admin's unfiltered list: the platform index.
    all: bool,
}

pub async fn list(
    state: &AppState,
    caller: &Caller,
    filter: &ApplicationFilter,
    page: &PageRequest,
) -> Result<Page<Application>> {
    let mut extra: Vec<Key> = Vec::new();
    if let Some(t) = &filter.tenant_id {
        extra.push(keys::tenant(t));
    }
    if let Some(p) = &filter.partner_id {
        extra.push(keys::partner(p));
    }
    let (principal, loaded) = session::check(state, caller, &extra).await?;
    let wants = |scope: AppScope| filter.scope.is_none_or(|s| s == scope);
    // The tenant filter: TENANT apps of that tenant, within reach.
    let tenant_filter = match &filter.tenant_id {
        Some(t) => {
            let tenant: Option<Tenant> = loaded.get(&keys::tenant(t))?;
            match tenant.filter(|t| !t.is_deleted()) {
                Some(tenant) => {
                    access::tenants::read(&principal, &tenant.partner_id, &tenant.id)?;
                    let matches = filter
                        .partner_id
                        .as_ref()
                        .is_none_or(|p| *p == tenant.partner_id);
                    Some(matches.then_some(tenant))
                }
                None if principal.is_super() => Some(None),
                None => return Err(Error::AccessDenied),
            }
        }
        None => None,
    };
    // The partner filter: that partner's PARTNER apps and its tenants' TENANT apps.
    if let Some(p) = &filter.partner_id {
        let allowed = match &principal.tier {
            Tier::Super => true,
            Tier::Partner(own) | Tier::Tenant { partner: own, .. } => own == p,
        };
        if !allowed {
            return Err(Error::AccessDenied);
        }
    }
    let tenants_of = |p: &PartnerId| {
        let p = p.clone();
        async move {
            Ok::<Vec<TenantId>, Error>(
                lists::live_tenants_of(state, &p)
                    .await?
                    .into_iter()
                    .map(|t| t.id)
                    .collect(),
            )
        }
    };
    let sources = match (tenant_filter, &filter.partner_id, &principal.tier) {
        (Some(None), _, _) => None,
        (Some(Some(tenant)), _, _) => Some(Sources {
            global: false,
            partners: Vec::new(),
            tenants: if wants(AppScope::Tenant) {
                vec![tenant.id]
            } else {
                Vec::new()
            },
            all: false,
        }),
        (None, Some(p), Tier::Tenant { tenant, .. }) => Some(Sources {
            global: false,
            partners: vec![p.clone()],
            tenants: vec![tenant.clone()],
            all: false,
        }),
        (None, Some(p), _) => Some(Sources {
            global: false,
            partners: vec![p.clone()],
            tenants: if wants(AppScope::Tenant) {
                tenants_of(p).await?
            } else {
                Vec::new()
            },
            all: false,
        }),
        (None, None, Tier::Super) => Some(Sources {
            global: false,
            partners: Vec::new(),
            tenants: Vec::new(),
            all: true,
        }),
        (None, None, Tier::Partner(p)) => Some(Sources {
            global: true,
            partners: vec![p.clone()],
            tenants: if wants(AppScope::Tenant) {
                tenants_of(p).await?
            } else {
                Vec::new()
            },
            all: false,
        }),
        (None, None, Tier::Tenant { partner, tenant }) => Some(Sources {
            global: true,
            partners: vec![partner.clone()],
            tenants: vec![tenant.clone()],
            all: false,
        }),
    };
    let Some(mut sources) = sources else {
        return Ok(Page {
            items: Vec::new(),
            pagination: Pagination::new(page.page, page.per_page, 0, None),
        });
    };
    if !wants(AppScope::Global) {
        sources.global = false;
    }
    if !wants(AppScope::Partner) {
        sources.partners.clear();
    }
    if !wants(AppScope::Tenant) {
        sources.tenants.clear();
    }
    let mut equals: Vec<(&'static str, String)> = filter
        .application_type
        .iter()
        .map(|t| ("application_type", t.as_str().to_owned()))
        .collect();
    // The platform index holds every scope: there the scope filter is a filter, elsewhere it
    // chose the partitions.
    if sources.all
        && let Some(scope) = filter.scope
    {
        equals.push(("scope", scope.as_str().to_owned()));
    }
    let filtered = filter.search.is_some() || !equals.is_empty();
    let contains = filter.search.as_ref().map(|s| s.to_lowercase());
    let spec = |index: &'static str, partition: (&'static str, String)| QuerySpec {
        index: Some(index),
        partition,
        equals: equals.clone(),
        contains: contains.clone(),
        compare: Vec::new(),
    };
    let binding = format!(
        "applications|tier={:?}|tenant={}|partner={}|scope={}|type={}|search={}",
        principal.tier,
        filter.tenant_id.as_ref().map_or("", |t| t.as_str()),
        filter.partner_id.as_ref().map_or("", |p| p.as_str()),
        filter.scope.map_or("", |s| s.as_str()),
        filter.application_type.map_or("", |t| t.as_str()),
        filter.search.as_deref().unwrap_or(""),
    );
    let (specs, counters) = if sources.all {
        (
            vec![spec(keys::GSI2, (keys::GSI2PK, keys::ALL_APPS.to_owned()))],
            Counter::Applications.shard_keys(),
        )
    } else {
        let mut specs = Vec::new();
        let mut counters = Vec::new();
        if sources.global {
            specs.push(spec(
                keys::GSI1,
                (keys::GSI1PK, keys::GLOBAL_APPS.to_owned()),
            ));
            counters.push(keys::app_count_global());
        }
        for p in &sources.partners {
            specs.push(spec(keys::GSI1, (keys::GSI1PK, keys::apps_of_partner(p))));
            counters.push(keys::app_count_of_partner(p));
        }
        for t in &sources.tenants {
            specs.push(spec(keys::GSI1, (keys::GSI1PK, keys::apps_of_tenant(t))));
            counters.push(keys::app_count_of_tenant(t));
        }
        (specs, counters)
    };
    if specs.is_empty() {
        return Ok(Page {
            items: Vec::new(),
            pagination: Pagination::new(page.page, page.per_page, 0, None),
        });
    }
    let query = MergedQuery {
        binding,
        specs,
        total: if filtered {
            Total::Count
        } else {
            Total::Counters(counters)
        },
    };
    lists::merged_page(state, &query, page).await
}
