//! A user's email claim: the marker that keeps an email unique in its tenant, also listed under
//! the email's own index partition (GSI1 `EMAIL#<email>#TENANTS`, the tenant as sort key), so
//! the platform's sign-in finds the tenants holding an email with one Query instead of asking
//! every tenant. The claim and its index entry are one item, written in the user's own
//! transaction: they never disagree.

use super::keys::{self, Key};
use super::tx::{Guard, Tx, s};
use super::write::marker;
use super::{Item, QuerySpec, Store, StoreError};
use crate::ids::{TenantId, UserId};

/// An email claimed in the tenant already.
pub const TAKEN: Guard = Guard::Unique("email");

/// The most tenants one lookup answers: an email claimed in more tenants signs in through
/// their own issuers (documented in docs/sign-in.md).
pub const MOST_TENANTS: usize = 10;

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

/// The (tenant, user) pairs whose claims hold `email` — live or soft-deleted users alike (the
/// caller reads the users) — at most [`MOST_TENANTS`]. One Query of the index (which may lag a
/// just-made claim by a moment).
pub async fn holders(store: &Store, email: &str) -> Result<Vec<(TenantId, UserId)>, StoreError> {
    let spec = QuerySpec {
        index: Some(keys::GSI1),
        partition: (keys::GSI1PK, keys::tenants_of_email(email)),
        equals: Vec::new(),
        contains: None,
        compare: Vec::new(),
    };
    let page = store.query(&spec, None, MOST_TENANTS).await?;
    Ok(page.items.iter().filter_map(holder_of).collect())
}

fn holder_of(item: &Item) -> Option<(TenantId, UserId)> {
    let tenant = item.get(keys::GSI1SK)?.as_s().ok()?;
    let owner = item.get("owner_id")?.as_s().ok()?;
    Some((TenantId::parse(tenant).ok()?, UserId::parse(owner).ok()?))
}

/// Whether an item is an email claim without its index entry (one an earlier version wrote),
/// and the claim to write in its place (`scaikey upgrade`).
pub fn unindexed(item: &Item) -> Option<Item> {
    if item.contains_key(keys::GSI1PK) {
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
        old.insert("ttl".into(), super::super::tx::n(5));
        let upgraded = unindexed(&old).expect("an old claim");
        assert_eq!(holder_of(&upgraded), Some((tenant, user)));
        assert!(upgraded.contains_key("ttl"), "keeps what it had");
        assert_eq!(unindexed(&marker(&keys::tenant_slug("acme"), "x")), None);
    }
}
