//! Tenant operations (SPEC §4.3): super_admin writes; partner and tenant admins read within
//! reach. Create is the session check and the tier rule, then a core that takes the acting
//! principal or a system actor — the CLI's bootstrap calls the same core.

use serde_json::{Map, Value};
use shared::access::{self, Principal, TenantReach, Tier};
use shared::audit::{self, Actor, Attempt, AuditAction, AuditEvent, RequestMeta};
use shared::error::{Error, Result};
use shared::hierarchy::{PLATFORM_SLUG, Partner, Platform, Tenant};
use shared::ids::{PartnerId, TenantId};
use shared::lifecycle::{self, Lifecycle, live};
use shared::lists::{self, ListQuery};
use shared::pagination::{Page, PageRequest, Pagination};
use shared::session::{self, Caller};
use shared::state::AppState;
use shared::store::counters::Counter;
use shared::store::tally::TenantShare;
use shared::store::{QuerySpec, keys};
use shared::time::Timestamp;
use shared::validation::{self, Patch, Problem};
use shared::values::{Email, Name, Slug, Status};

use crate::store::{self, PARTNER, SLUG};

pub const CREATE: AuditAction = AuditAction::new("tenant.create", "tenant");
pub const UPDATE: AuditAction = AuditAction::new("tenant.update", "tenant");
pub const DELETE: AuditAction = AuditAction::new("tenant.delete", "tenant");
pub const RESTORE: AuditAction = AuditAction::new("tenant.restore", "tenant");
/// Every action this group records: its part of the audit catalogue.
pub const ACTIONS: &[AuditAction] = &[CREATE, UPDATE, DELETE, RESTORE];

/// `settings` and `branding` are each at most this large once serialised.
pub const MAX_OBJECT_BYTES: usize = 32 * 1024;

const RESOURCE: &str = "Tenant";
const SLUG_TAKEN: &str = "Slug already in use";
const LIMIT_REACHED: &str = "Tenant limit reached for partner";

/// Validates `settings`: the keys ScaiKey interprets must have their documented shapes; other
/// keys are stored as given.
pub fn parse_settings(value: &Value) -> Result<Map<String, Value>, Problem> {
    let map = shared::values::parse_json_object(value, MAX_OBJECT_BYTES)?;
    if let Some(policy) = map.get("password_policy") {
        let policy = validation::object(policy).map_err(|p| p.under("password_policy"))?;
        for (key, v) in policy {
            let checked = match key.as_str() {
                "min_length" => validation::integer_in(v, 8, 128).map(drop),
                "require_upper" | "require_lower" | "require_digit" | "require_symbol" => {
                    validation::boolean(v).map(drop)
                }
                _ => Err(Problem::new(
                    "extra_forbidden",
                    "Extra inputs are not permitted",
                )),
            };
            checked.map_err(|p| p.under(key).under("password_policy"))?;
        }
    }
    if let Some(v) = map.get("session_timeout_minutes") {
        validation::integer_in(v, 5, 43_200).map_err(|p| p.under("session_timeout_minutes"))?;
    }
    if let Some(v) = map.get("mfa_required") {
        validation::boolean(v).map_err(|p| p.under("mfa_required"))?;
    }
    Ok(map)
}

pub fn parse_branding(value: &Value) -> Result<Map<String, Value>, Problem> {
    shared::values::parse_json_object(value, MAX_OBJECT_BYTES)
}

pub struct NewTenant {
    pub partner_id: PartnerId,
    pub name: Name,
    pub slug: Slug,
    pub status: Status,
    pub contact_email: Option<Email>,
    pub settings: Map<String, Value>,
    pub branding: Map<String, Value>,
}

#[derive(Default)]
pub struct TenantPatch {
    pub partner_id: Option<PartnerId>,
    pub name: Option<Name>,
    pub slug: Option<Slug>,
    pub status: Option<Status>,
    pub contact_email: Patch<Email>,
    pub settings: Option<Map<String, Value>>,
    pub branding: Option<Map<String, Value>>,
}

impl TenantPatch {
    fn apply(&self, tenant: &Tenant) -> Tenant {
        let mut next = tenant.clone();
        if let Some(p) = &self.partner_id {
            next.partner_id = p.clone();
        }
        if let Some(name) = &self.name {
            next.name = name.as_str().to_owned();
        }
        if let Some(slug) = &self.slug {
            next.slug = slug.as_str().to_owned();
        }
        if let Some(status) = self.status {
            next.status = status;
        }
        match &self.contact_email {
            Patch::Keep => {}
            Patch::Clear => next.contact_email = None,
            Patch::Set(e) => next.contact_email = Some(e.as_str().to_owned()),
        }
        if let Some(settings) = &self.settings {
            next.settings = settings.clone();
        }
        if let Some(branding) = &self.branding {
            next.branding = branding.clone();
        }
        next
    }
}

#[derive(Default, Clone)]
pub struct TenantFilter {
    pub search: Option<String>,
    pub status: Option<Status>,
    pub partner_id: Option<PartnerId>,
}

/// A partner that may take one more tenant: live (else 404) and below `max_tenants` (else 409).
fn receiving_partner(partner: Option<Partner>) -> Result<Partner> {
    let partner = live(partner, "Partner")?;
    if partner.is_full() {
        return Err(Error::conflict(LIMIT_REACHED));
    }
    Ok(partner)
}

/// Why a partner's counter refused a tenant inside the transaction (it changed since it was
/// read): gone, or full.
async fn partner_refused(state: &AppState, partner: &PartnerId) -> Error {
    match state.store().load(&[keys::partner(partner)]).await {
        Ok(loaded) => match loaded.get::<Partner>(&keys::partner(partner)) {
            Ok(Some(p)) if !p.is_deleted() => Error::conflict(LIMIT_REACHED),
            Ok(_) => Error::NotFound("Partner"),
            Err(err) => err.into(),
        },
        Err(err) => err.into(),
    }
}

/// Only super admins create tenants; any other tier is refused (and recorded) before the body is
/// read.
pub async fn may_create(state: &AppState, caller: &Caller, meta: &RequestMeta) -> Result<()> {
    let attempt = Attempt {
        action: CREATE,
        resource_id: None,
    };
    session::require_tier(state, caller, |tier| *tier == Tier::Super, attempt, meta).await
}

/// Create Tenant, as the calling admin.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    new: NewTenant,
    meta: &RequestMeta,
) -> Result<Tenant> {
    let partner_key = keys::partner(&new.partner_id);
    let (principal, loaded) =
        session::check(state, caller, std::slice::from_ref(&partner_key)).await?;
    let attempt = Attempt {
        action: CREATE,
        resource_id: None,
    };
    audit::check_write(
        state,
        &principal,
        access::tenants::write(&principal),
        attempt,
        meta,
    )
    .await?;
    let partner = loaded.get(&partner_key)?;
    create_as(state, Actor::admin(&principal), partner, new, meta).await
}

/// Creates a tenant under `partner` (as read by the caller) within its `max_tenants`: the
/// tenant, its slug claim and both counters in one transaction. The caller has already been
/// allowed to.
pub async fn create_as(
    state: &AppState,
    actor: Actor,
    partner: Option<Partner>,
    new: NewTenant,
    meta: &RequestMeta,
) -> Result<Tenant> {
    receiving_partner(partner)?;
    let now = Timestamp::now();
    let tenant = Tenant {
        id: TenantId::generate(),
        partner_id: new.partner_id.clone(),
        name: new.name.as_str().to_owned(),
        slug: new.slug.as_str().to_owned(),
        status: new.status,
        contact_email: new.contact_email.map(|e| e.as_str().to_owned()),
        settings: new.settings,
        branding: new.branding,
        user_count: 0,
        created_at: now,
        updated_at: now,
        deleted_at: None,
        version: 1,
    };
    let event = AuditEvent::new(actor, CREATE, Some(tenant.id.to_string()), meta)
        .in_tenant(&tenant.partner_id, &tenant.id)
        .with_changes(&serde_json::json!({}), &audit::snapshot(&tenant));
    match store::create(state.store(), &tenant, &event).await {
        Ok(()) => Ok(tenant),
        Err(err) => match err.refused_by() {
            Some(SLUG) => Err(Error::conflict(SLUG_TAKEN)),
            Some(PARTNER) => Err(partner_refused(state, &new.partner_id).await),
            _ => Err(err.into()),
        },
    }
}

/// A write to an existing tenant: it must be within the caller's reach, and tenant writes
/// are super_admin only. A refusal is recorded.
async fn may_write(
    state: &AppState,
    principal: &Principal,
    tenant: &Tenant,
    action: AuditAction,
    meta: &RequestMeta,
) -> Result<()> {
    let verdict = access::tenants::read(principal, &tenant.partner_id, &tenant.id)
        .and_then(|()| access::tenants::write(principal));
    let attempt = Attempt {
        action,
        resource_id: Some(tenant.id.to_string()),
    };
    audit::check_write(state, principal, verdict, attempt, meta).await
}

pub async fn get(state: &AppState, caller: &Caller, id: &TenantId) -> Result<Tenant> {
    let (principal, loaded) = session::check(state, caller, &[keys::tenant(id)]).await?;
    let tenant: Tenant = live(loaded.get(&keys::tenant(id))?, RESOURCE)?;
    access::tenants::read(&principal, &tenant.partner_id, &tenant.id)?;
    Ok(tenant)
}

pub async fn list(
    state: &AppState,
    caller: &Caller,
    filter: &TenantFilter,
    page: &PageRequest,
) -> Result<Page<Tenant>> {
    // The reach depends only on the token's claims, so the counters it needs can join the
    // session check's batch.
    let reach = access::tenants::list_reach(&caller.claimed_tier()?, filter.partner_id.as_ref());
    let filtered = filter.search.is_some() || filter.status.is_some();
    let extra = match (&reach, filtered) {
        (Ok(TenantReach::All), false) => Counter::Tenants.shard_keys(),
        (Ok(TenantReach::Partner(p)), false) => vec![keys::partner(p)],
        (Ok(TenantReach::One { tenant, .. }), _) => vec![keys::tenant(tenant)],
        _ => Vec::new(),
    };
    let (principal, loaded) = session::check(state, caller, &extra).await?;
    // Decide again on the checked principal: the claims are only a hint for batching.
    let reach = access::tenants::list_reach(&principal.tier, filter.partner_id.as_ref())?;
    let binding = format!(
        "tenants|reach={reach:?}|search={}|status={}",
        filter.search.as_deref().unwrap_or(""),
        filter.status.map_or("", |s| s.as_str()),
    );
    let (partition, index) = match &reach {
        TenantReach::All => ((keys::GSI2PK, keys::ALL_TENANTS.to_owned()), keys::GSI2),
        TenantReach::Partner(p) => ((keys::GSI1PK, keys::tenants_of_partner(p)), keys::GSI1),
        TenantReach::One { tenant, .. } => {
            // A tenant admin's list is its own tenant, if it matches the filters.
            let own = loaded.get::<Tenant>(&keys::tenant(tenant))?.filter(|t| {
                !t.is_deleted()
                    && filter.status.is_none_or(|s| s == t.status)
                    && filter
                        .search
                        .as_ref()
                        .is_none_or(|q| t.search_text().contains(&q.to_lowercase()))
            });
            let items: Vec<Tenant> = own.into_iter().collect();
            let total = items.len() as u64;
            let items = if page.page == 1 && page.cursor.is_none() {
                items
            } else {
                Vec::new()
            };
            return Ok(Page {
                items,
                pagination: Pagination::new(page.page, page.per_page, total, None),
            });
        }
    };
    let known_total = match (&reach, filtered) {
        (TenantReach::All, false) => Some(Counter::Tenants.total(&loaded)),
        (TenantReach::Partner(p), false) => Some(
            loaded
                .get::<Partner>(&keys::partner(p))?
                .map_or(0, |p| p.tenant_count),
        ),
        _ => None,
    };
    let query = ListQuery {
        binding,
        spec: QuerySpec {
            index: Some(index),
            partition,
            equals: filter
                .status
                .iter()
                .map(|s| ("status", s.as_str().to_owned()))
                .collect(),
            contains: filter.search.as_ref().map(|s| s.to_lowercase()),
            compare: Vec::new(),
        },
        known_total,
    };
    lists::page(state, &query, page).await
}

/// The tenant's share of its partner's counts and tallies, read after the tenant itself (so a
/// write counted in between moves the tenant's version or the share's fence, and the move is
/// refused and retried).
async fn share_of(state: &AppState, tenant: &Tenant) -> Result<TenantShare> {
    Ok(TenantShare::read(
        state.store(),
        &tenant.id,
        tenant.user_count,
        Timestamp::now(),
        state.config().session_ttl,
    )
    .await?)
}

/// Partial update, including a cross-partner transfer (`partner_id`): the new partner's
/// `max_tenants` applies and both partners' counters move in the same transaction.
pub async fn update(
    state: &AppState,
    caller: &Caller,
    id: &TenantId,
    patch: &TenantPatch,
    meta: &RequestMeta,
) -> Result<Tenant> {
    lifecycle::retry_stale("tenant", || async {
        let mut wanted = vec![keys::tenant(id), keys::platform()];
        if let Some(p) = &patch.partner_id {
            wanted.push(keys::partner(p));
        }
        let (principal, loaded) = session::check(state, caller, &wanted).await?;
        let before: Tenant = live(loaded.get(&keys::tenant(id))?, RESOURCE)?;
        may_write(state, &principal, &before, UPDATE, meta).await?;
        let after = lifecycle::next_version(&before, patch.apply(&before));
        let transfer = after.partner_id != before.partner_id;
        let pin: Option<Platform> = loaded.get(&keys::platform())?;
        if Platform::is_tenant(pin.as_ref(), id)
            && (after.status != Status::Active || after.slug != before.slug || transfer)
        {
            return Err(Error::conflict(
                "The platform tenant cannot be suspended, moved or re-slugged",
            ));
        }
        if transfer {
            receiving_partner(loaded.get(&keys::partner(&after.partner_id))?)?;
        }
        let share = match transfer {
            true => Some(share_of(state, &before).await?),
            false => None,
        };
        let event = AuditEvent::new(Actor::admin(&principal), UPDATE, Some(id.to_string()), meta)
            .in_tenant(&after.partner_id, id)
            .with_changes(&audit::snapshot(&before), &audit::snapshot(&after));
        match store::update(state.store(), &before, &after, share.as_ref(), &event).await {
            Ok(()) => Ok(after),
            Err(err) => match err.refused_by() {
                Some(SLUG) => Err(Error::conflict(SLUG_TAKEN)),
                Some(PARTNER) => Err(partner_refused(state, &after.partner_id).await),
                _ => Err(err.into()),
            },
        }
    })
    .await
}

/// Soft-deletes a tenant: it leaves lists and counts, and its admins' sessions stop working on
/// their next request (the session check reads the tenant's status).
pub async fn delete(
    state: &AppState,
    caller: &Caller,
    id: &TenantId,
    meta: &RequestMeta,
) -> Result<()> {
    lifecycle::retry_stale("tenant", || async {
        let (principal, loaded) =
            session::check(state, caller, &[keys::tenant(id), keys::platform()]).await?;
        let before: Tenant = live(loaded.get(&keys::tenant(id))?, RESOURCE)?;
        may_write(state, &principal, &before, DELETE, meta).await?;
        // Pinned by id; the slug check keeps tables bootstrapped before the pin safe.
        let pin: Option<Platform> = loaded.get(&keys::platform())?;
        if Platform::is_tenant(pin.as_ref(), id) || before.slug == PLATFORM_SLUG {
            return Err(Error::conflict("The platform tenant cannot be deleted"));
        }
        let (after, purge_at) = lifecycle::deleted(&before);
        let share = share_of(state, &before).await?;
        let event = AuditEvent::new(Actor::admin(&principal), DELETE, Some(id.to_string()), meta)
            .in_tenant(&before.partner_id, id);
        Ok(store::delete(state.store(), &before, &after, &share, purge_at, &event).await?)
    })
    .await
}

/// Brings a soft-deleted tenant back within the restore window, if its partner is live and
/// has room.
pub async fn restore(
    state: &AppState,
    caller: &Caller,
    id: &TenantId,
    meta: &RequestMeta,
) -> Result<Tenant> {
    lifecycle::retry_stale("tenant", || async {
        let (principal, loaded) = session::check(state, caller, &[keys::tenant(id)]).await?;
        let before: Tenant = loaded
            .get(&keys::tenant(id))?
            .ok_or(Error::NotFound(RESOURCE))?;
        may_write(state, &principal, &before, RESTORE, meta).await?;
        let after = lifecycle::restored(&before, RESOURCE)?;
        let share = share_of(state, &before).await?;
        let event = AuditEvent::new(
            Actor::admin(&principal),
            RESTORE,
            Some(id.to_string()),
            meta,
        )
        .in_tenant(&before.partner_id, id);
        match store::restore(state.store(), &before, &after, &share, &event).await {
            Ok(()) => Ok(after),
            Err(err) if err.refused_by() == Some(PARTNER) => {
                Err(partner_refused(state, &before.partner_id).await)
            }
            Err(err) => Err(err.into()),
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn interpreted_settings_are_checked_and_others_kept() {
        let ok = parse_settings(&json!({"password_policy": {"min_length": 14, "require_digit": true}, "theme": {"x": 1}})).unwrap();
        assert_eq!(ok["theme"], json!({"x": 1}));
        let bad = parse_settings(&json!({"password_policy": {"min_length": 3}})).unwrap_err();
        assert_eq!(
            bad.below,
            vec![json!("password_policy"), json!("min_length")]
        );
        let bad = parse_settings(&json!({"password_policy": {"colour": true}})).unwrap_err();
        assert_eq!(bad.kind, "extra_forbidden");
        assert!(parse_settings(&json!({"mfa_required": "yes"})).is_err());
        assert!(parse_settings(&json!({"session_timeout_minutes": 0})).is_err());
    }
}
