//! A user's email claim: the marker that keeps an email unique in its tenant, also listed under
//! the email's own index partition (GSI1 `EMAIL#<email>#TENANTS`, the tenant as sort key), so
//! the platform's sign-in finds the tenants holding an email with one Query instead of asking
//! every tenant. The claim and its index entry are one item, written in the user's own
//! transaction: they never disagree.

use super::keys::{self, Key};
use super::tx::{Expr, Guard, Tx, n, s};
use super::write::marker;
use super::{Item, QuerySpec, Store, StoreError};
use crate::ids::{TenantId, UserId};
use crate::time::Timestamp;

/// An email claimed in the tenant already.
pub const TAKEN: Guard = Guard::Unique("email");

/// The most tenants one email may be found in: an email claimed by live users of more tenants
/// signs in through their own issuers (documented in docs/sign-in.md).
pub const MOST_TENANTS: usize = 20;

/// The claim of `email` in `tenant` by `owner`, with its index keys.
pub fn claim_item(tenant: &TenantId, email: &str, owner: &str) -> Item {
    let mut item = marker(&keys::user_email(tenant, email), owner);
    item.insert(keys::GSI1PK.into(), s(keys::tenants_of_email(email)));
    item.insert(keys::GSI1SK.into(), s(tenant.to_string()));
    item
}

/// Claims `email` in `tenant` for `owner`; taken already → refused by `Guard::Unique("email")`.
pub fn claim(tx: &mut Tx, tenant: &TenantId, email: &str, owner: &str) -> Result<(), StoreError> {
    tx.put_new(claim_item(tenant, email, owner), TAKEN)?;
    Ok(())
}

/// A soft-deleted user's claim: kept (a restore cannot collide) until its purge, out of the
/// index (a deleted user is found nowhere; nobody can crowd an email's lookup with them).
pub fn retire(
    tx: &mut Tx,
    tenant: &TenantId,
    email: &str,
    purge_at: Timestamp,
) -> Result<(), StoreError> {
    tx.update(
        &keys::user_email(tenant, email),
        "SET #ttl = :ttl REMOVE #pk, #sk",
        Expr::default()
            .name("#ttl", keys::TTL)
            .name("#pk", keys::GSI1PK)
            .name("#sk", keys::GSI1SK)
            .value(":ttl", n(purge_at.unix())),
    )?;
    Ok(())
}

/// A restored user's claim: kept for ever again, and back in the index.
pub fn revive(tx: &mut Tx, tenant: &TenantId, email: &str) -> Result<(), StoreError> {
    tx.update(
        &keys::user_email(tenant, email),
        "SET #pk = :pk, #sk = :sk REMOVE #ttl",
        Expr::default()
            .name("#ttl", keys::TTL)
            .name("#pk", keys::GSI1PK)
            .name("#sk", keys::GSI1SK)
            .value(":pk", s(keys::tenants_of_email(email)))
            .value(":sk", s(tenant.to_string())),
    )?;
    Ok(())
}

/// Who holds an email, as the index says.
#[derive(Debug, PartialEq, Eq)]
pub enum Holders {
    /// The (tenant, user) pairs of the live users' claims (the caller reads the users).
    Found(Vec<(TenantId, UserId)>),
    /// More than [`MOST_TENANTS`]: the email signs in at each tenant's own issuer.
    TooMany,
}

/// The (tenant, user) pairs whose live users' claims hold `email`: every one of them up to
/// [`MOST_TENANTS`] (one Query of the index, which may lag a just-made claim by a moment).
pub async fn holders(store: &Store, email: &str) -> Result<Holders, StoreError> {
    let spec = QuerySpec {
        index: Some(keys::GSI1),
        partition: (keys::GSI1PK, keys::tenants_of_email(email)),
        equals: Vec::new(),
        contains: None,
        compare: Vec::new(),
    };
    let page = store.query(&spec, None, MOST_TENANTS + 1).await?;
    let found: Vec<_> = page.items.iter().filter_map(holder_of).collect();
    Ok(if found.len() > MOST_TENANTS {
        Holders::TooMany
    } else {
        Holders::Found(found)
    })
}

fn holder_of(item: &Item) -> Option<(TenantId, UserId)> {
    let tenant = item.get(keys::GSI1SK)?.as_s().ok()?;
    let owner = item.get("owner_id")?.as_s().ok()?;
    Some((TenantId::parse(tenant).ok()?, UserId::parse(owner).ok()?))
}

/// Whether an item is a live user's email claim without its index entry (one an earlier
/// version wrote), and the claim to write in its place (`scaikey upgrade`). A soft-deleted
/// user's claim (it has a `ttl`) stays out of the index.
pub fn unindexed(item: &Item) -> Option<Item> {
    if item.contains_key(keys::GSI1PK) || item.contains_key(keys::TTL) {
        return None;
    }
    let key = Key::of_item(item)?;
    let rest = key.pk.strip_prefix("UNIQUE#USER_EMAIL#")?;
    let (tenant, email) = rest.split_once('#')?;
    let tenant = TenantId::parse(tenant).ok()?;
    let owner = item.get("owner_id")?.as_s().ok()?;
    let mut claim = item.clone();
    claim.extend(claim_item(&tenant, email, owner));
    Some(claim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_is_listed_under_its_email_and_an_old_one_is_recognised() {
        let tenant = TenantId::generate();
        let user = UserId::generate();
        let claim = claim_item(&tenant, "ann@example.com", user.as_str());
        assert_eq!(holder_of(&claim), Some((tenant.clone(), user.clone())));
        assert_eq!(unindexed(&claim), None, "indexed already");
        let mut old = marker(&keys::user_email(&tenant, "ann@example.com"), user.as_str());
        old.insert("created_by".into(), s("x"));
        let upgraded = unindexed(&old).expect("an old claim");
        assert_eq!(holder_of(&upgraded), Some((tenant, user)));
        assert!(upgraded.contains_key("created_by"), "keeps what it had");
        old.insert(keys::TTL.into(), n(5));
        assert_eq!(unindexed(&old), None, "a deleted user's claim stays out");
        assert_eq!(unindexed(&marker(&keys::tenant_slug("acme"), "x")), None);
    }
}
