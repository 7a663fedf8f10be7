//! Application items and transactions (the applications group's writes, and the create an
//! approval shares).
//!
//! - the application: `APP#<app>` / `APP`, listed by owner on GSI1 (`APPS#GLOBAL`,
//!   `PARTNER#<prt>#APPS`, `TENANT#<tnt>#APPS`) and platform-wide on GSI2 (`APPS`);
//! - counters of live applications: per tenant (`max_applications_per_tenant` is a condition on
//!   it), per partner (PARTNER apps), GLOBAL, and sharded platform-wide; and the partner's count
//!   of its live tenants' TENANT apps (`tally::PartnerCount::TenantApps`, with the tenant's
//!   fence), which a TENANT app's create and delete move with the tenant's counter.
//!
//! A TENANT app keeps its tenant's partner only as a hint, as groups do: every write checks the
//! tenant still belongs to it in its own transaction (a tenant transfer moves the app's lists
//! with the tenant, rewriting nothing).

use crate::audit::AuditEvent;
use crate::hierarchy::{AppScope, Application};
use crate::ids::PartnerId;
use crate::store::counters::Counter;
use crate::store::tally::{self, PartnerCount};
use crate::store::write::lifecycle_item;
use crate::store::{Expr, Guard, Item, Key, Store, StoreError, Tx, keys, n, s};
use crate::time::Timestamp;

/// The tenant of a TENANT app: live, and with the partner the write assumed.
pub const TENANT: Guard = Guard::Parent("tenant");
/// The partner of a PARTNER app, or the partner whose limit a TENANT app is counted under:
/// live, with the limit the write read.
pub const PARTNER: Guard = Guard::Parent("partner");
/// The tenant's live-application counter under the partner's limit.
pub const LIMIT: Guard = Guard::Unique("limit");

/// The GSI1 partition of its owner.
fn owner_partition(app: &Application) -> String {
    match (app.scope, &app.partner_id, &app.tenant_id) {
        (AppScope::Tenant, _, Some(t)) => keys::apps_of_tenant(t),
        (AppScope::Partner, Some(p), _) => keys::apps_of_partner(p),
        _ => keys::GLOBAL_APPS.to_owned(),
    }
}

/// The stored application; a deleted one (`purge_at`) leaves both list indexes.
fn application_item(app: &Application, purge_at: Option<Timestamp>) -> Result<Item, StoreError> {
    let mut item = lifecycle_item(
        app,
        purge_at,
        &[
            (keys::GSI1PK, owner_partition(app)),
            (keys::GSI1SK, app.id.to_string()),
            (keys::GSI2PK, keys::ALL_APPS.to_owned()),
            (keys::GSI2SK, app.id.to_string()),
        ],
    )?;
    item.insert("search_text".into(), s(app.search_text()));
    Ok(item)
}

/// The owner's live-application counter.
pub fn owner_count_key(app: &Application) -> Key {
    match (app.scope, &app.partner_id, &app.tenant_id) {
        (AppScope::Tenant, _, Some(t)) => keys::app_count_of_tenant(t),
        (AppScope::Partner, Some(p), _) => keys::app_count_of_partner(p),
        _ => keys::app_count_global(),
    }
}

/// The owner's counter and the platform's; for a TENANT app also its tenant's partner as the
/// write read it (`counted_under`; `None`: the tenant is deleted, its share counted nowhere)
/// and the tenant's fence. The caller holds the tenant as read in the same transaction.
fn count(
    tx: &mut Tx,
    app: &Application,
    counted_under: Option<&PartnerId>,
    delta: i64,
) -> Result<(), StoreError> {
    tx.update(
        &owner_count_key(app),
        "ADD #count :delta",
        Expr::default()
            .name("#count", "count")
            .value(":delta", n(delta)),
    )?;
    count_beside_tenant(tx, app, counted_under, delta)?;
    Counter::Applications.add(tx, delta)
}

/// A TENANT app's share beyond its tenant's own counter: its partner's count, the tenant's fence.
fn count_beside_tenant(
    tx: &mut Tx,
    app: &Application,
    counted_under: Option<&PartnerId>,
    delta: i64,
) -> Result<(), StoreError> {
    if let (AppScope::Tenant, Some(t)) = (app.scope, &app.tenant_id) {
        if let Some(p) = counted_under {
            PartnerCount::TenantApps.add(tx, p, delta)?;
        }
        tally::fence(tx, t)?;
    }
    Ok(())
}

/// The tenant of a TENANT app still belongs to the partner the write assumed (and lives).
fn tenant_still_with(tx: &mut Tx, app: &Application) -> Result<(), StoreError> {
    if let (AppScope::Tenant, Some(t), Some(p)) = (app.scope, &app.tenant_id, &app.partner_id) {
        tally::hold_tenant(tx, t, Some(p), TENANT)?;
    }
    Ok(())
}

/// Adds a create to `tx`: application (new); its owner live (a TENANT app: the tenant with
/// the partner read, counted under the partner's `max_applications_per_tenant` as read —
/// `limit`); counters.
///
/// A TENANT app's create is complete as to the tallies: it adds the app to its partner's
/// `PartnerCount::TenantApps`, checks the tenant item (live, the partner's) and moves the
/// tenant's fence (`tally::fence`) itself — so a caller adding its own actions to `tx` (a
/// registration request's approval) must neither move that fence again nor touch the tenant
/// item (one action per item in a transaction).
pub fn create(tx: &mut Tx, app: &Application, limit: Option<u32>) -> Result<(), StoreError> {
    tx.put_new(application_item(app, None)?, Guard::Item)?;
    match (app.scope, &app.partner_id) {
        (AppScope::Global, _) => count(tx, app, None, 1)?,
        (AppScope::Partner, Some(p)) => {
            tx.check(
                &keys::partner(p),
                PARTNER,
                "attribute_exists(PK) AND #status <> :deleted",
                Expr::default()
                    .name("#status", "status")
                    .value(":deleted", s("DELETED")),
            )?;
            count(tx, app, None, 1)?;
        }
        (AppScope::Tenant, Some(p)) => {
            tenant_still_with(tx, app)?;
            let (under_limit, limit_unchanged, values) = match limit {
                Some(max) => (
                    Some("attribute_not_exists(#count) OR #count < :max"),
                    "attribute_exists(PK) AND max_applications_per_tenant = :max",
                    Expr::default().value(":max", n(max)),
                ),
                None => (
                    None,
                    "attribute_exists(PK) AND attribute_not_exists(max_applications_per_tenant)",
                    Expr::default(),
                ),
            };
            let mut counted = Expr::default().name("#count", "count").value(":one", n(1));
            if let Some(max) = limit {
                counted = counted.value(":max", n(max));
            }
            tx.update_if(
                &owner_count_key(app),
                "ADD #count :one",
                LIMIT,
                under_limit,
                counted,
            )?;
            tx.check(&keys::partner(p), PARTNER, limit_unchanged, values)?;
            count_beside_tenant(tx, app, Some(p), 1)?;
            Counter::Applications.add(tx, 1)?;
        }
        _ => {
            return Err(StoreError::Corrupt(
                "an application without its owner".into(),
            ));
        }
    }
    Ok(())
}

/// Application (versioned), [its tenant still with the partner assumed], audit: updates and
/// secret rotations.
pub async fn update(
    store: &Store,
    before: &Application,
    after: &Application,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = store.tx();
    tx.put_versioned(application_item(after, None)?, before.version)?;
    tenant_still_with(&mut tx, after)?;
    store.add_event(&mut tx, event)?;
    store.transact(tx).await
}

/// Application (versioned) out of the lists with its purge time, counters, audit. A TENANT
/// app's tenant is held as the write read it: live under the partner assumed
/// (`after.partner_id`, whose count the app leaves), or — `tenant_live` false — deleted (its
/// share is out of every partner already); otherwise since → refused (`TENANT`).
pub async fn delete(
    store: &Store,
    before: &Application,
    after: &Application,
    purge_at: Timestamp,
    tenant_live: bool,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = store.tx();
    tx.put_versioned(application_item(after, Some(purge_at))?, before.version)?;
    let counted_under = after.partner_id.as_ref().filter(|_| tenant_live);
    if let (AppScope::Tenant, Some(t)) = (after.scope, &after.tenant_id) {
        if tenant_live && counted_under.is_none() {
            return Err(StoreError::Corrupt(
                "a TENANT application without its partner".into(),
            ));
        }
        tally::hold_tenant(&mut tx, t, counted_under, TENANT)?;
    }
    count(&mut tx, before, counted_under, -1)?;
    store.add_event(&mut tx, event)?;
    store.transact(tx).await
}
