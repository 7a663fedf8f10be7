//! Partner operations (SPEC §4.2): super_admin only, reads included. Each write is the session
//! check and the tier rule, then a core that takes the acting principal or a system actor — the
//! CLI's bootstrap calls the same core.

use shared::access::{self, Principal, Tier};
use shared::audit::{self, Actor, Attempt, AuditAction, AuditEvent, RequestMeta};
use shared::error::{Error, Result};
use shared::hierarchy::{Partner, PartnerLimits, Platform};
use shared::ids::PartnerId;
use shared::lifecycle::{self, live};
use shared::lists::{self, ListQuery};
use shared::pagination::{Page, PageRequest};
use shared::session::{self, Caller};
use shared::state::AppState;
use shared::store::counters::Counter;
use shared::store::{QuerySpec, keys};
use shared::time::Timestamp;
use shared::validation::Patch;
use shared::values::{Email, Name, Slug, Status};

use crate::store::{self, SLUG};

pub const CREATE: AuditAction = AuditAction::new("partner.create", "partner");
pub const UPDATE: AuditAction = AuditAction::new("partner.update", "partner");
pub const DELETE: AuditAction = AuditAction::new("partner.delete", "partner");
pub const RESTORE: AuditAction = AuditAction::new("partner.restore", "partner");
/// Every action this group records: its part of the audit catalogue.
pub const ACTIONS: &[AuditAction] = &[CREATE, UPDATE, DELETE, RESTORE];

const RESOURCE: &str = "Partner";
const SLUG_TAKEN: &str = "Slug already in use";

pub struct NewPartner {
    pub name: Name,
    pub slug: Slug,
    pub contact_email: Email,
    pub status: Status,
    pub limits: PartnerLimits,
}

#[derive(Default)]
pub struct PartnerPatch {
    pub name: Option<Name>,
    pub slug: Option<Slug>,
    pub contact_email: Option<Email>,
    pub status: Option<Status>,
    pub max_tenants: Patch<u32>,
    pub max_users_per_tenant: Patch<u32>,
    pub max_applications_per_tenant: Patch<u32>,
}

fn apply_limit(target: &mut Option<u32>, patch: &Patch<u32>) {
    match patch {
        Patch::Keep => {}
        Patch::Clear => *target = None,
        Patch::Set(n) => *target = Some(*n),
    }
}

impl PartnerPatch {
    fn apply(&self, partner: &Partner) -> Partner {
        let mut next = partner.clone();
        if let Some(name) = &self.name {
            next.name = name.as_str().to_owned();
        }
        if let Some(slug) = &self.slug {
            next.slug = slug.as_str().to_owned();
        }
        if let Some(email) = &self.contact_email {
            next.contact_email = email.as_str().to_owned();
        }
        if let Some(status) = self.status {
            next.status = status;
        }
        let limits = &mut next.limits;
        apply_limit(&mut limits.max_tenants, &self.max_tenants);
        apply_limit(&mut limits.max_users_per_tenant, &self.max_users_per_tenant);
        apply_limit(
            &mut limits.max_applications_per_tenant,
            &self.max_applications_per_tenant,
        );
        next
    }
}

#[derive(Default, Clone)]
pub struct PartnerFilter {
    pub search: Option<String>,
    pub status: Option<Status>,
}

/// Partner writes are super_admin only; a refusal is recorded.
async fn may_write(
    state: &AppState,
    principal: &Principal,
    action: AuditAction,
    partner: Option<&PartnerId>,
    meta: &RequestMeta,
) -> Result<()> {
    let attempt = Attempt {
        action,
        resource_id: partner.map(ToString::to_string),
    };
    audit::check_write(
        state,
        principal,
        access::partners::manage(principal),
        attempt,
        meta,
    )
    .await
}

/// Only super admins create partners; any other tier is refused (and recorded) before the body is
/// read.
pub async fn may_create(state: &AppState, caller: &Caller, meta: &RequestMeta) -> Result<()> {
    let attempt = Attempt {
        action: CREATE,
        resource_id: None,
    };
    session::require_tier(state, caller, |tier| *tier == Tier::Super, attempt, meta).await
}

/// Create Partner, as the calling admin.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    new: NewPartner,
    meta: &RequestMeta,
) -> Result<Partner> {
    let (principal, _) = session::check(state, caller, &[]).await?;
    may_write(state, &principal, CREATE, None, meta).await?;
    create_as(state, Actor::admin(&principal), new, meta).await
}

/// Creates a partner, claiming its slug, with its counter and audit event, in one transaction.
/// The caller has already been allowed to.
pub async fn create_as(
    state: &AppState,
    actor: Actor,
    new: NewPartner,
    meta: &RequestMeta,
) -> Result<Partner> {
    let now = Timestamp::now();
    let partner = Partner {
        id: PartnerId::generate(),
        name: new.name.as_str().to_owned(),
        slug: new.slug.as_str().to_owned(),
        status: new.status,
        contact_email: new.contact_email.as_str().to_owned(),
        limits: new.limits,
        tenant_count: 0,
        created_at: now,
        updated_at: now,
        deleted_at: None,
        version: 1,
    };
    let event = AuditEvent::new(actor, CREATE, Some(partner.id.to_string()), meta)
        .in_partner(&partner.id)
        .with_changes(&serde_json::json!({}), &audit::snapshot(&partner));
    match store::create(state.store(), &partner, &event).await {
        Ok(()) => Ok(partner),
        Err(err) if err.refused_by() == Some(SLUG) => Err(Error::conflict(SLUG_TAKEN)),
        Err(err) => Err(err.into()),
    }
}

pub async fn get(state: &AppState, caller: &Caller, id: &PartnerId) -> Result<Partner> {
    let (principal, loaded) = session::check(state, caller, &[keys::partner(id)]).await?;
    access::partners::manage(&principal)?;
    live(loaded.get(&keys::partner(id))?, RESOURCE)
}

pub async fn list(
    state: &AppState,
    caller: &Caller,
    filter: &PartnerFilter,
    page: &PageRequest,
) -> Result<Page<Partner>> {
    let filtered = filter.search.is_some() || filter.status.is_some();
    let counter_keys = if filtered {
        Vec::new()
    } else {
        Counter::Partners.shard_keys()
    };
    let (principal, loaded) = session::check(state, caller, &counter_keys).await?;
    access::partners::manage(&principal)?;
    let query = ListQuery {
        binding: format!(
            "partners|search={}|status={}",
            filter.search.as_deref().unwrap_or(""),
            filter.status.map_or("", |s| s.as_str())
        ),
        spec: QuerySpec {
            index: Some(keys::GSI1),
            partition: (keys::GSI1PK, keys::ALL_PARTNERS.to_owned()),
            equals: filter
                .status
                .iter()
                .map(|s| ("status", s.as_str().to_owned()))
                .collect(),
            contains: filter.search.as_ref().map(|s| s.to_lowercase()),
            compare: Vec::new(),
        },
        known_total: (!filtered).then(|| Counter::Partners.total(&loaded)),
    };
    lists::page(state, &query, page).await
}

/// Applies a partial update against the version it read (re-read and re-applied on a race).
pub async fn update(
    state: &AppState,
    caller: &Caller,
    id: &PartnerId,
    patch: &PartnerPatch,
    meta: &RequestMeta,
) -> Result<Partner> {
    lifecycle::retry_stale("partner", || async {
        let (principal, loaded) =
            session::check(state, caller, &[keys::partner(id), keys::platform()]).await?;
        may_write(state, &principal, UPDATE, Some(id), meta).await?;
        let before: Partner = live(loaded.get(&keys::partner(id))?, RESOURCE)?;
        let after = lifecycle::next_version(&before, patch.apply(&before));
        let pin: Option<Platform> = loaded.get(&keys::platform())?;
        if Platform::is_partner(pin.as_ref(), id)
            && (after.status != Status::Active || after.slug != before.slug)
        {
            return Err(Error::conflict(
                "The platform partner cannot be suspended or re-slugged",
            ));
        }
        let event = AuditEvent::new(Actor::admin(&principal), UPDATE, Some(id.to_string()), meta)
            .in_partner(id)
            .with_changes(&audit::snapshot(&before), &audit::snapshot(&after));
        match store::update(state.store(), &before, &after, &event).await {
            Ok(()) => Ok(after),
            Err(err) if err.refused_by() == Some(SLUG) => Err(Error::conflict(SLUG_TAKEN)),
            Err(err) => Err(err.into()),
        }
    })
    .await
}

/// Soft-deletes a partner that has no live tenants.
pub async fn delete(
    state: &AppState,
    caller: &Caller,
    id: &PartnerId,
    meta: &RequestMeta,
) -> Result<()> {
    lifecycle::retry_stale("partner", || async {
        let (principal, loaded) =
            session::check(state, caller, &[keys::partner(id), keys::platform()]).await?;
        may_write(state, &principal, DELETE, Some(id), meta).await?;
        let before: Partner = live(loaded.get(&keys::partner(id))?, RESOURCE)?;
        if Platform::is_partner(loaded.get(&keys::platform())?.as_ref(), id) {
            return Err(Error::conflict("The platform partner cannot be deleted"));
        }
        if before.tenant_count > 0 {
            return Err(Error::conflict("Partner still has live tenants"));
        }
        let (after, purge_at) = lifecycle::deleted(&before);
        let event = AuditEvent::new(Actor::admin(&principal), DELETE, Some(id.to_string()), meta)
            .in_partner(id);
        Ok(store::delete(state.store(), &before, &after, purge_at, &event).await?)
    })
    .await
}

/// Brings a soft-deleted partner back within the restore window.
pub async fn restore(
    state: &AppState,
    caller: &Caller,
    id: &PartnerId,
    meta: &RequestMeta,
) -> Result<Partner> {
    lifecycle::retry_stale("partner", || async {
        let (principal, loaded) = session::check(state, caller, &[keys::partner(id)]).await?;
        may_write(state, &principal, RESTORE, Some(id), meta).await?;
        let before: Partner = loaded
            .get(&keys::partner(id))?
            .ok_or(Error::NotFound(RESOURCE))?;
        let after = lifecycle::restored(&before, RESOURCE)?;
        let event = AuditEvent::new(
            Actor::admin(&principal),
            RESTORE,
            Some(id.to_string()),
            meta,
        )
        .in_partner(id);
        store::restore(state.store(), &before, &after, &event).await?;
        Ok(after)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_changes_only_what_it_names() {
        let now = Timestamp::now();
        let partner = Partner {
            id: PartnerId::generate(),
            name: "Acme".into(),
            slug: "acme".into(),
            status: Status::Active,
            contact_email: "ops@acme.test".into(),
            limits: PartnerLimits {
                max_tenants: Some(3),
                max_users_per_tenant: Some(9),
                ..Default::default()
            },
            tenant_count: 2,
            created_at: now,
            updated_at: now,
            deleted_at: None,
            version: 4,
        };
        let patch = PartnerPatch {
            max_tenants: Patch::Clear,
            status: Some(Status::Suspended),
            ..Default::default()
        };
        let next = patch.apply(&partner);
        assert_eq!(next.limits.max_tenants, None);
        assert_eq!(next.limits.max_users_per_tenant, Some(9));
        assert_eq!(next.status, Status::Suspended);
        assert_eq!(next.name, "Acme");
        assert_eq!(next.tenant_count, 2);
    }
}
