//! The write machinery of every resource with an optimistic version and a soft delete: the
//! version-conflict retry, the deleted and restored forms, written once for all of them.

use std::future::Future;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::store::StoreError;
use crate::time::Timestamp;
use crate::values::Status;

/// Soft-deleted resources can be restored for this long, then they are purged.
pub const RESTORE_WINDOW: Duration = Duration::from_secs(30 * 86_400);
/// How often a write that lost an optimistic-version race is re-read and re-applied.
pub const UPDATE_ATTEMPTS: u32 = 5;

/// A status enum with a live state and a soft-deleted one (partners and tenants share
/// `values::Status`; users have their own, with `LOCKED`).
pub trait LifecycleStatus: Copy + PartialEq {
    const ACTIVE: Self;
    const DELETED: Self;
}

impl LifecycleStatus for Status {
    const ACTIVE: Self = Status::Active;
    const DELETED: Self = Status::Deleted;
}

/// A stored resource with a status, a soft delete and an optimistic version.
pub trait Lifecycle: Clone {
    type Status: LifecycleStatus;

    fn status(&self) -> Self::Status;
    fn deleted_at(&self) -> Option<Timestamp>;
    fn version(&self) -> u64;
    /// Sets the lifecycle fields of the next version.
    fn stamp(
        &mut self,
        status: Self::Status,
        deleted_at: Option<Timestamp>,
        now: Timestamp,
        version: u64,
    );

    fn is_deleted(&self) -> bool {
        self.status() == Self::Status::DELETED
    }
}

/// The resource if it exists and is not deleted, else 404 naming it.
pub fn live<T: Lifecycle>(found: Option<T>, resource: &'static str) -> Result<T> {
    found
        .filter(|r| !r.is_deleted())
        .ok_or(Error::NotFound(resource))
}

/// `after` as the next version of `before`: the version moves on and `updated_at` is now.
pub fn next_version<T: Lifecycle>(before: &T, mut after: T) -> T {
    let (status, deleted_at) = (after.status(), after.deleted_at());
    after.stamp(status, deleted_at, Timestamp::now(), before.version() + 1);
    after
}

/// The soft-deleted next version, and when it will be purged.
pub fn deleted<T: Lifecycle>(before: &T) -> (T, Timestamp) {
    let now = Timestamp::now();
    let mut after = before.clone();
    after.stamp(T::Status::DELETED, Some(now), now, before.version() + 1);
    (after, now.plus(RESTORE_WINDOW))
}

/// The restored (`ACTIVE`) next version of a soft-deleted resource: 409 if it is not deleted,
/// 404 once its restore window has passed.
pub fn restored<T: Lifecycle>(before: &T, resource: &'static str) -> Result<T> {
    if !before.is_deleted() {
        return Err(Error::conflict(format!("{resource} is not deleted")));
    }
    let now = Timestamp::now();
    if before
        .deleted_at()
        .is_none_or(|at| at.plus(RESTORE_WINDOW) < now)
    {
        return Err(Error::NotFound(resource));
    }
    let mut after = before.clone();
    after.stamp(T::Status::ACTIVE, None, now, before.version() + 1);
    Ok(after)
}

/// Counts the attempts of one [`retry_stale`] write, so a retry knows that what the first
/// attempt assumed (a partner hint) may be stale and reads it instead.
#[derive(Default)]
pub struct Attempts(std::sync::atomic::AtomicU32);

impl Attempts {
    pub fn next_is_retry(&self) -> bool {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed) > 0
    }
}

/// Runs a read-check-write until it commits against the version it read. A write refused by
/// its item's version (`Error::Stale`) is re-read and re-applied, so concurrent PATCHes of
/// different fields both land; one that keeps losing becomes a 503.
pub async fn retry_stale<T, F, Fut>(what: &str, mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    for _ in 0..UPDATE_ATTEMPTS {
        match attempt().await {
            Err(Error::Stale) => continue,
            done => return done,
        }
    }
    Err(Error::Unavailable(StoreError::Unavailable(format!(
        "{what} kept changing under the write"
    ))))
}
