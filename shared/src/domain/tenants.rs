//! Tenants (SPEC §4.3): super_admin writes; partner and tenant admins read within reach.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::access::{self, TenantReach};
use crate::domain::audit::{self, Actor, Attempt, AuditEvent, RequestMeta};
use crate::domain::auth::{self, Caller};
use crate::domain::lists::{self, ListQuery};
use crate::domain::partners::{Conflict, RESTORE_WINDOW, UPDATE_ATTEMPTS, conflict_kind};
use crate::domain::values::{Email, Name, Slug, Status};
use crate::error::{Error, Result};
use crate::ids::{PartnerId, TenantId};
use crate::pagination::{Page, PageRequest, Pagination};
use crate::state::AppState;
use crate::store::counters::Counter;
use crate::store::{QuerySpec, StoreError, keys};
use crate::time::Timestamp;
use crate::validation::{self, Patch, Problem};

/// `settings` and `branding` are each at most this large once serialised.
pub const MAX_OBJECT_BYTES: usize = 32 * 1024;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: TenantId,
    pub partner_id: PartnerId,
    pub name: String,
    pub slug: String,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_email: Option<String>,
    #[serde(default)]
    pub settings: Map<String, Value>,
    #[serde(default)]
    pub branding: Map<String, Value>,
    pub user_count: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<Timestamp>,
    pub version: u64,
}

impl Tenant {
    pub fn is_deleted(&self) -> bool {
        self.status == Status::Deleted
    }

    pub fn search_text(&self) -> String {
        format!("{} {}", self.name, self.slug).to_lowercase()
    }

    fn audit_view(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// Validates `settings`: the keys ScaiKey interprets must have their documented shapes; other
/// keys are stored as given.
pub fn parse_settings(value: &Value) -> Result<Map<String, Value>, Problem> {
    let map = crate::domain::values::parse_json_object(value, MAX_OBJECT_BYTES)?;
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
    crate::domain::values::parse_json_object(value, MAX_OBJECT_BYTES)
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

const NOT_FOUND: &str = "Tenant";
const SLUG_TAKEN: &str = "Slug already in use";
const LIMIT_REACHED: &str = "Tenant limit reached for partner";

fn live(tenant: Option<Tenant>) -> Result<Tenant> {
    tenant
        .filter(|t| !t.is_deleted())
        .ok_or(Error::NotFound(NOT_FOUND))
}

/// The transaction puts the tenant first, its slug marker second, the partner's counter third.
const PARTNER_ACTION: usize = 2;

/// Creates a tenant under a live partner within its `max_tenants`.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    new: NewTenant,
    meta: &RequestMeta,
) -> Result<Tenant> {
    let (principal, loaded) =
        auth::resolve(state, caller, &[keys::partner(&new.partner_id)]).await?;
    audit::check_write(
        state,
        &principal,
        access::tenants::write(&principal),
        Attempt {
            action: "tenant.create",
            resource_type: "tenant",
            resource_id: None,
        },
        meta,
    )
    .await?;
    let partner = loaded
        .partner(&new.partner_id)?
        .filter(|p| !p.is_deleted())
        .ok_or(Error::NotFound("Partner"))?;
    if partner
        .limits
        .max_tenants
        .is_some_and(|max| partner.tenant_count >= u64::from(max))
    {
        return Err(Error::conflict(LIMIT_REACHED));
    }
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
    let event = AuditEvent::new(
        Actor::admin(&principal),
        "tenant.create",
        "tenant",
        Some(tenant.id.to_string()),
        meta,
    )
    .in_tenant(&tenant.partner_id, &tenant.id)
    .with_changes(&serde_json::json!({}), &tenant.audit_view());
    match state.store().create_tenant(&tenant, &event).await {
        Ok(()) => Ok(tenant),
        Err(err) => match err.failed_condition() {
            Some(1) => Err(Error::conflict(SLUG_TAKEN)),
            Some(PARTNER_ACTION) => Err(partner_refused(state, &new.partner_id).await),
            _ => Err(err.into()),
        },
    }
}

/// A write to an existing tenant: it must be within the caller's reach, and tenant writes
/// are super_admin only. A refusal is recorded.
async fn may_write(
    state: &AppState,
    principal: &access::Principal,
    tenant: &Tenant,
    action: &str,
    meta: &RequestMeta,
) -> Result<()> {
    let verdict = access::tenants::read(principal, &tenant.partner_id, &tenant.id)
        .and_then(|()| access::tenants::write(principal));
    let attempt = Attempt {
        action,
        resource_type: "tenant",
        resource_id: Some(tenant.id.to_string()),
    };
    audit::check_write(state, principal, verdict, attempt, meta).await
}

/// Why a partner's counter refused a tenant: gone, or full.
async fn partner_refused(state: &AppState, partner: &PartnerId) -> Error {
    match state
        .store()
        .load(&[keys::partner(partner)])
        .await
        .and_then(|l| l.partner(partner))
    {
        Ok(Some(p)) if !p.is_deleted() => Error::conflict(LIMIT_REACHED),
        Ok(_) => Error::NotFound("Partner"),
        Err(err) => err.into(),
    }
}

pub async fn get(state: &AppState, caller: &Caller, id: &TenantId) -> Result<Tenant> {
    let (principal, loaded) = auth::resolve(state, caller, &[keys::tenant(id)]).await?;
    let tenant = live(loaded.tenant(id)?)?;
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
    let (principal, loaded) = auth::resolve(state, caller, &extra).await?;
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
            let own = loaded.tenant(tenant)?.filter(|t| {
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
        (TenantReach::Partner(p), false) => Some(loaded.partner(p)?.map_or(0, |p| p.tenant_count)),
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
        },
        known_total,
    };
    lists::page(state, &query, page).await
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
    for _ in 0..UPDATE_ATTEMPTS {
        let mut wanted = vec![keys::tenant(id)];
        if let Some(p) = &patch.partner_id {
            wanted.push(keys::partner(p));
        }
        let (principal, loaded) = auth::resolve(state, caller, &wanted).await?;
        let before = live(loaded.tenant(id)?)?;
        may_write(state, &principal, &before, "tenant.update", meta).await?;
        let mut after = patch.apply(&before);
        let transfer = after.partner_id != before.partner_id;
        if transfer {
            let target = loaded
                .partner(&after.partner_id)?
                .filter(|p| !p.is_deleted())
                .ok_or(Error::NotFound("Partner"))?;
            if target
                .limits
                .max_tenants
                .is_some_and(|max| target.tenant_count >= u64::from(max))
            {
                return Err(Error::conflict(LIMIT_REACHED));
            }
        }
        after.updated_at = Timestamp::now();
        after.version = before.version + 1;
        let event = AuditEvent::new(
            Actor::admin(&principal),
            "tenant.update",
            "tenant",
            Some(id.to_string()),
            meta,
        )
        .in_tenant(&after.partner_id, id)
        .with_changes(&before.audit_view(), &after.audit_view());
        let slug_changed = before.slug != after.slug;
        match state.store().update_tenant(&before, &after, &event).await {
            Ok(()) => return Ok(after),
            Err(err) => {
                let failed = err.failed_condition();
                // Actions: tenant, [old marker delete, new marker], [old partner, new partner], audit.
                let new_partner_action = if slug_changed { 4 } else { 2 };
                if transfer && failed == Some(new_partner_action) {
                    return Err(partner_refused(state, &after.partner_id).await);
                }
                match conflict_kind(&err, slug_changed) {
                    Some(Conflict::Version) => continue,
                    Some(Conflict::Marker) => return Err(Error::conflict(SLUG_TAKEN)),
                    None => return Err(err.into()),
                }
            }
        }
    }
    Err(Error::Unavailable(StoreError::Unavailable(
        "tenant kept changing under the update".into(),
    )))
}

/// Soft-deletes a tenant: it leaves lists and counts, and its admins' sessions stop working on
/// their next request (the session check reads the tenant's status).
pub async fn delete(
    state: &AppState,
    caller: &Caller,
    id: &TenantId,
    meta: &RequestMeta,
) -> Result<()> {
    for _ in 0..UPDATE_ATTEMPTS {
        let (principal, loaded) = auth::resolve(state, caller, &[keys::tenant(id)]).await?;
        let before = live(loaded.tenant(id)?)?;
        may_write(state, &principal, &before, "tenant.delete", meta).await?;
        if before.slug == crate::domain::PLATFORM_SLUG {
            return Err(Error::conflict("The platform tenant cannot be deleted"));
        }
        let now = Timestamp::now();
        let mut after = before.clone();
        after.status = Status::Deleted;
        after.deleted_at = Some(now);
        after.updated_at = now;
        after.version = before.version + 1;
        let event = AuditEvent::new(
            Actor::admin(&principal),
            "tenant.delete",
            "tenant",
            Some(id.to_string()),
            meta,
        )
        .in_tenant(&before.partner_id, id);
        match state
            .store()
            .delete_tenant(&before, &after, now.plus(RESTORE_WINDOW), &event)
            .await
        {
            Ok(()) => return Ok(()),
            Err(err) if err.failed_condition() == Some(0) => continue,
            Err(err) => return Err(err.into()),
        }
    }
    Err(Error::Unavailable(StoreError::Unavailable(
        "tenant kept changing under the delete".into(),
    )))
}

/// Brings a soft-deleted tenant back within the restore window, if its partner is live and
/// has room.
pub async fn restore(
    state: &AppState,
    caller: &Caller,
    id: &TenantId,
    meta: &RequestMeta,
) -> Result<Tenant> {
    let (principal, loaded) = auth::resolve(state, caller, &[keys::tenant(id)]).await?;
    let before = loaded.tenant(id)?.ok_or(Error::NotFound(NOT_FOUND))?;
    may_write(state, &principal, &before, "tenant.restore", meta).await?;
    if !before.is_deleted() {
        return Err(Error::conflict("Tenant is not deleted"));
    }
    let now = Timestamp::now();
    if before
        .deleted_at
        .is_none_or(|at| at.plus(RESTORE_WINDOW) < now)
    {
        return Err(Error::NotFound(NOT_FOUND));
    }
    let mut after = before.clone();
    after.status = Status::Active;
    after.deleted_at = None;
    after.updated_at = now;
    after.version = before.version + 1;
    let event = AuditEvent::new(
        Actor::admin(&principal),
        "tenant.restore",
        "tenant",
        Some(id.to_string()),
        meta,
    )
    .in_tenant(&before.partner_id, id);
    match state.store().restore_tenant(&before, &after, &event).await {
        Ok(()) => Ok(after),
        Err(err) if err.failed_condition() == Some(1) => {
            Err(partner_refused(state, &before.partner_id).await)
        }
        Err(err) if err.failed_condition().is_some() => {
            Err(Error::conflict("Tenant changed during restore; retry"))
        }
        Err(err) => Err(err.into()),
    }
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
