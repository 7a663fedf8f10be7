//! Partners (SPEC §4.2): super_admin only, reads included.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::access;
use crate::domain::audit::{self, Actor, Attempt, AuditEvent, RequestMeta};
use crate::domain::auth::{self, Caller};
use crate::domain::lists::{self, ListQuery};
use crate::domain::values::{Email, Name, Slug, Status};
use crate::error::{Error, Result};
use crate::ids::PartnerId;
use crate::pagination::{Page, PageRequest};
use crate::state::AppState;
use crate::store::counters::Counter;
use crate::store::{StoreError, keys};
use crate::time::Timestamp;
use crate::validation::Patch;

/// Soft-deleted resources can be restored for this long, then they are purged.
pub const RESTORE_WINDOW: Duration = Duration::from_secs(30 * 86_400);
/// How often a write that lost an optimistic-version race is re-read and re-applied.
pub const UPDATE_ATTEMPTS: u32 = 5;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerLimits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tenants: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_users_per_tenant: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_applications_per_tenant: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Partner {
    pub id: PartnerId,
    pub name: String,
    pub slug: String,
    pub status: Status,
    pub contact_email: String,
    #[serde(flatten)]
    pub limits: PartnerLimits,
    pub tenant_count: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<Timestamp>,
    pub version: u64,
}

impl Partner {
    pub fn is_deleted(&self) -> bool {
        self.status == Status::Deleted
    }

    /// The lower-cased text `search` matches.
    pub fn search_text(&self) -> String {
        format!("{} {}", self.name, self.slug).to_lowercase()
    }

    /// A JSON rendering for audit diffs.
    fn audit_view(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

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
        apply_limit(&mut next.limits.max_tenants, &self.max_tenants);
        apply_limit(
            &mut next.limits.max_users_per_tenant,
            &self.max_users_per_tenant,
        );
        apply_limit(
            &mut next.limits.max_applications_per_tenant,
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

const SLUG_TAKEN: &str = "Slug already in use";
const NOT_FOUND: &str = "Partner";

fn live(partner: Option<Partner>) -> Result<Partner> {
    partner
        .filter(|p| !p.is_deleted())
        .ok_or(Error::NotFound(NOT_FOUND))
}

/// Partner writes are super_admin only; a refusal is recorded.
async fn may_write(
    state: &AppState,
    principal: &access::Principal,
    action: &str,
    partner: Option<&PartnerId>,
    meta: &RequestMeta,
) -> Result<()> {
    let attempt = Attempt {
        action,
        resource_type: "partner",
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

/// Creates a partner, claiming its slug, with its counter and audit event, in one transaction.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    new: NewPartner,
    meta: &RequestMeta,
) -> Result<Partner> {
    let (principal, _) = auth::resolve(state, caller, &[]).await?;
    may_write(state, &principal, "partner.create", None, meta).await?;
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
    let event = AuditEvent::new(
        Actor::admin(&principal),
        "partner.create",
        "partner",
        Some(partner.id.to_string()),
        meta,
    )
    .in_partner(&partner.id)
    .with_changes(&serde_json::json!({}), &partner.audit_view());
    match state.store().create_partner(&partner, &event).await {
        Ok(()) => Ok(partner),
        Err(err) if err.failed_condition() == Some(1) => Err(Error::conflict(SLUG_TAKEN)),
        Err(err) => Err(err.into()),
    }
}

pub async fn get(state: &AppState, caller: &Caller, id: &PartnerId) -> Result<Partner> {
    let (principal, loaded) = auth::resolve(state, caller, &[keys::partner(id)]).await?;
    access::partners::manage(&principal)?;
    live(loaded.partner(id)?)
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
    let (principal, loaded) = auth::resolve(state, caller, &counter_keys).await?;
    access::partners::manage(&principal)?;
    let query = ListQuery {
        binding: format!(
            "partners|search={}|status={}",
            filter.search.as_deref().unwrap_or(""),
            filter.status.map_or("", |s| s.as_str())
        ),
        spec: crate::store::QuerySpec {
            index: Some(keys::GSI1),
            partition: (keys::GSI1PK, keys::ALL_PARTNERS.to_owned()),
            equals: filter
                .status
                .iter()
                .map(|s| ("status", s.as_str().to_owned()))
                .collect(),
            contains: filter.search.as_ref().map(|s| s.to_lowercase()),
        },
        known_total: (!filtered).then(|| Counter::Partners.total(&loaded)),
    };
    lists::page(state, &query, page).await
}

/// Applies a partial update; a lost optimistic-version race is re-read and re-applied, so
/// concurrent PATCHes of different fields both land.
pub async fn update(
    state: &AppState,
    caller: &Caller,
    id: &PartnerId,
    patch: &PartnerPatch,
    meta: &RequestMeta,
) -> Result<Partner> {
    for _ in 0..UPDATE_ATTEMPTS {
        let (principal, loaded) = auth::resolve(state, caller, &[keys::partner(id)]).await?;
        may_write(state, &principal, "partner.update", Some(id), meta).await?;
        let before = live(loaded.partner(id)?)?;
        let mut after = patch.apply(&before);
        after.updated_at = Timestamp::now();
        after.version = before.version + 1;
        let event = AuditEvent::new(
            Actor::admin(&principal),
            "partner.update",
            "partner",
            Some(id.to_string()),
            meta,
        )
        .in_partner(id)
        .with_changes(&before.audit_view(), &after.audit_view());
        match state.store().update_partner(&before, &after, &event).await {
            Ok(()) => return Ok(after),
            Err(err) => match conflict_kind(&err, before.slug != after.slug) {
                Some(Conflict::Version) => continue,
                Some(Conflict::Marker) => return Err(Error::conflict(SLUG_TAKEN)),
                None => return Err(err.into()),
            },
        }
    }
    Err(Error::Unavailable(StoreError::Unavailable(
        "partner kept changing under the update".into(),
    )))
}

/// Soft-deletes a partner that has no live tenants.
pub async fn delete(
    state: &AppState,
    caller: &Caller,
    id: &PartnerId,
    meta: &RequestMeta,
) -> Result<()> {
    for _ in 0..UPDATE_ATTEMPTS {
        let (principal, loaded) = auth::resolve(state, caller, &[keys::partner(id)]).await?;
        may_write(state, &principal, "partner.delete", Some(id), meta).await?;
        let before = live(loaded.partner(id)?)?;
        if before.tenant_count > 0 {
            return Err(Error::conflict("Partner still has live tenants"));
        }
        let now = Timestamp::now();
        let mut after = before.clone();
        after.status = Status::Deleted;
        after.deleted_at = Some(now);
        after.updated_at = now;
        after.version = before.version + 1;
        let event = AuditEvent::new(
            Actor::admin(&principal),
            "partner.delete",
            "partner",
            Some(id.to_string()),
            meta,
        )
        .in_partner(id);
        match state
            .store()
            .delete_partner(&before, &after, now.plus(RESTORE_WINDOW), &event)
            .await
        {
            Ok(()) => return Ok(()),
            Err(err) if err.failed_condition() == Some(0) => continue,
            Err(err) => return Err(err.into()),
        }
    }
    Err(Error::Unavailable(StoreError::Unavailable(
        "partner kept changing under the delete".into(),
    )))
}

/// Brings a soft-deleted partner back within the restore window.
pub async fn restore(
    state: &AppState,
    caller: &Caller,
    id: &PartnerId,
    meta: &RequestMeta,
) -> Result<Partner> {
    let (principal, loaded) = auth::resolve(state, caller, &[keys::partner(id)]).await?;
    may_write(state, &principal, "partner.restore", Some(id), meta).await?;
    let before = loaded.partner(id)?.ok_or(Error::NotFound(NOT_FOUND))?;
    if !before.is_deleted() {
        return Err(Error::conflict("Partner is not deleted"));
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
        "partner.restore",
        "partner",
        Some(id.to_string()),
        meta,
    )
    .in_partner(id);
    match state.store().restore_partner(&before, &after, &event).await {
        Ok(()) => Ok(after),
        Err(err) if err.failed_condition().is_some() => {
            Err(Error::conflict("Partner changed during restore; retry"))
        }
        Err(err) => Err(err.into()),
    }
}

/// Why an update transaction was cancelled.
pub(crate) enum Conflict {
    /// The item's version moved (or it was deleted): re-read and re-apply.
    Version,
    /// A uniqueness marker is taken.
    Marker,
}

/// Updates put the item first; when a marker changes, the new marker's claim is the last
/// action before the audit event.
pub(crate) fn conflict_kind(err: &StoreError, marker_changed: bool) -> Option<Conflict> {
    match err.failed_condition()? {
        0 => Some(Conflict::Version),
        _ if marker_changed => Some(Conflict::Marker),
        _ => Some(Conflict::Version),
    }
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
