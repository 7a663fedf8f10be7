//! Write helpers every resource uses inside its transaction: uniqueness markers and their
//! lifecycle, and the soft-delete form of an item.

use super::entity::Entity;
use super::keys::{self, Key};
use super::tx::{Expr, Guard, Tx, n, s};
use super::{Item, StoreError};
use crate::time::Timestamp;

/// A uniqueness marker owned by `owner`.
pub fn marker(key: &Key, owner: &str) -> Item {
    let mut item = key.to_item();
    item.insert("owner_id".into(), s(owner));
    item
}

/// Claims a unique value for `owner`; taken already → refused by `Guard::Unique(what)`.
pub fn claim(tx: &mut Tx, key: &Key, owner: &str, what: &'static str) -> Result<(), StoreError> {
    tx.put_new(marker(key, owner), Guard::Unique(what))?;
    Ok(())
}

/// Moves a claim from one value to another (a slug change).
pub fn move_claim(
    tx: &mut Tx,
    old: &Key,
    new: &Key,
    owner: &str,
    what: &'static str,
) -> Result<(), StoreError> {
    tx.delete(old)?;
    claim(tx, new, owner, what)
}

/// Lets a claim expire with its soft-deleted owner (`Some(purge time)`), or keeps it for ever
/// again (`None`, a restore). A soft-deleted owner keeps its claim, so a restore cannot collide.
pub fn claim_expiry(tx: &mut Tx, key: &Key, purge_at: Option<Timestamp>) -> Result<(), StoreError> {
    match purge_at {
        Some(at) => tx.update(
            key,
            "SET #ttl = :ttl",
            Expr::default()
                .name("#ttl", keys::TTL)
                .value(":ttl", n(at.unix())),
        )?,
        None => tx.update(key, "REMOVE #ttl", Expr::default().name("#ttl", keys::TTL))?,
    };
    Ok(())
}

/// The item of a live or soft-deleted entity. Live items carry their list-index keys; a
/// deleted one carries none (it leaves every list) and a `ttl` at the end of its restore
/// window, when DynamoDB purges it.
pub fn lifecycle_item<T: Entity>(
    value: &T,
    purge_at: Option<Timestamp>,
    index_keys: &[(&str, String)],
) -> Result<Item, StoreError> {
    let mut item = value.to_item()?;
    match purge_at {
        Some(at) => {
            item.insert(keys::TTL.into(), n(at.unix()));
        }
        None => {
            for (name, value) in index_keys {
                item.insert((*name).to_owned(), s(value.clone()));
            }
        }
    }
    Ok(item)
}
