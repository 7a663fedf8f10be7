//! One way every list pages: offset pages for `page` (at most 10,000 items deep), signed cursors
//! for `cursor` (any depth), exact totals from counters when unfiltered and, when filtered, from
//! a COUNT query run alongside the first page and carried in the cursors after it.

use std::collections::BTreeMap;

use serde_json::json;

use crate::access::{Principal, TenantReach};
use crate::error::{Error, FieldProblem, Result};
use crate::hierarchy::Tenant;
use crate::ids::{PartnerId, TenantId};
use crate::pagination::{self, CursorPosition, Page, PageRequest, Pagination};
use crate::state::AppState;
use crate::store::{Key, Loaded, QuerySpec, StartKey, keys};

pub struct ListQuery {
    /// Names the list, the caller's reach and every filter; cursors are bound to it.
    pub binding: String,
    pub spec: QuerySpec,
    /// The total when a counter already knows it.
    pub known_total: Option<u64>,
}

pub async fn page<T: serde::de::DeserializeOwned>(
    state: &AppState,
    query: &ListQuery,
    request: &PageRequest,
) -> Result<Page<T>> {
    let secret = state.keys().cursor_secret().await?;
    let per_page = request.per_page as usize;
    let (page_no, start, skip, carried_total) = match &request.cursor {
        Some(cursor) => {
            let position = pagination::open_cursor(&secret, &query.binding, cursor)?;
            (position.page, Some(position.start), 0, position.total)
        }
        None => (request.page, None, request.offset(), None),
    };
    // One more than the page, to know whether a next page exists.
    let fetch = state
        .store()
        .list::<T>(&query.spec, start, skip + per_page + 1);
    // A filtered list is counted once, on its first page; its cursors carry the total.
    let (rows, total) = match query.known_total.or(carried_total) {
        Some(total) => (fetch.await?, total),
        None => {
            let (rows, total) = tokio::join!(fetch, state.store().count(&query.spec));
            (rows?, total?)
        }
    };
    let mut rows: Vec<_> = rows.into_iter().skip(skip).collect();
    let has_more = rows.len() > per_page;
    rows.truncate(per_page);
    let next_cursor = match rows.last() {
        Some((_, key)) if has_more => Some(pagination::issue_cursor(
            &secret,
            &query.binding,
            CursorPosition {
                page: page_no + 1,
                start: key.clone(),
                total: query.known_total.is_none().then_some(total),
            },
        )?),
        _ => None,
    };
    Ok(Page {
        items: rows.into_iter().map(|(item, _)| item).collect(),
        pagination: Pagination::new(page_no, request.per_page, total, next_cursor),
    })
}

/// An item a list reads from several partitions at once. Every such partition sorts by the
/// item's id (time-ordered ids: the greatest is the newest), so one position — the last id
/// shown — resumes them all.
pub trait Merged: serde::de::DeserializeOwned + Send + 'static {
    /// The id the partitions sort by.
    fn merge_id(&self) -> &str;
    /// The item's own table key for an id a cursor carries (`None`: not an id of this kind).
    fn key_for(id: &str) -> Option<Key>;
}

/// Where a merged list's total comes from.
pub enum Total {
    /// Already known (counters read with the session check, or the tenants' own counts).
    Known(u64),
    /// The sum of these counter items' `count`, read alongside the page.
    Counters(Vec<Key>),
    /// A COUNT query per partition, alongside the first page; cursors carry the result.
    Count,
}

pub struct MergedQuery {
    /// Names the list, the caller's reach and every filter; cursors are bound to it.
    pub binding: String,
    pub specs: Vec<QuerySpec>,
    pub total: Total,
}

/// The live tenants of a partner (GSI1 `PARTNER#<p>#TENANTS`, which holds live tenants only):
/// the partitions of a partner-wide list of tenant-owned items. A partner-wide list is built
/// from the tenants the partner has *now*, so a tenant transfer moves its users, groups and
/// admin roles from one partner's lists to the other's in the transfer's own transaction.
pub async fn live_tenants_of(state: &AppState, partner: &PartnerId) -> Result<Vec<Tenant>> {
    let spec = QuerySpec {
        index: Some(keys::GSI1),
        partition: (keys::GSI1PK, keys::tenants_of_partner(partner)),
        equals: Vec::new(),
        contains: None,
        compare: Vec::new(),
    };
    Ok(state
        .store()
        .list::<Tenant>(&spec, None, 10_000)
        .await?
        .into_iter()
        .map(|(t, _)| t)
        .collect())
}

fn cursor_problem() -> Error {
    Error::Validation(vec![FieldProblem::new(
        vec![json!("query"), json!("cursor")],
        "value_error",
        "Value error, invalid or expired cursor",
    )])
}

/// Where a partition resumes after the item `after`: the item's key, and its index key with
/// the id as sort key.
fn start_after(spec: &QuerySpec, item: Key, after: &str) -> StartKey {
    let (pk, sk) = match spec.index {
        Some(keys::GSI1) => (keys::GSI1PK, keys::GSI1SK),
        Some(keys::GSI3) => (keys::GSI3PK, keys::GSI3SK),
        _ => (keys::GSI2PK, keys::GSI2SK),
    };
    StartKey(BTreeMap::from([
        (keys::PK.to_owned(), item.pk),
        (keys::SK.to_owned(), item.sk),
        (pk.to_owned(), spec.partition.1.clone()),
        (sk.to_owned(), after.to_owned()),
    ]))
}

/// One page over several partitions at once, merged newest first. Each partition is read
/// concurrently from the same position (the last id shown), so a page costs one round of
/// queries whatever its depth with a cursor; an offset page reads up to `page × per_page`
/// items from each partition. Cursors carry only that last id, signed and bound to the list.
pub async fn merged_page<T: Merged>(
    state: &AppState,
    query: &MergedQuery,
    request: &PageRequest,
) -> Result<Page<T>> {
    let secret = state.keys().cursor_secret().await?;
    let per_page = request.per_page as usize;
    let (page_no, after, skip, carried_total) = match &request.cursor {
        Some(cursor) => {
            let position = pagination::open_cursor(&secret, &query.binding, cursor)?;
            let after = position
                .start
                .0
                .get("after")
                .and_then(|id| T::key_for(id).map(|key| (key, id.clone())))
                .ok_or_else(cursor_problem)?;
            (position.page, Some(after), 0, position.total)
        }
        None => (request.page, None, request.offset(), None),
    };
    let limit = skip + per_page + 1;
    let mut reads = tokio::task::JoinSet::new();
    for spec in &query.specs {
        let store = state.store().clone();
        let spec = spec.clone();
        let start = after
            .as_ref()
            .map(|(key, id)| start_after(&spec, key.clone(), id));
        reads.spawn(async move { store.list::<T>(&spec, start, limit).await });
    }
    // The total, read alongside the page: a filtered list is counted once, on its first
    // page, and its cursors carry the count.
    let mut counts = tokio::task::JoinSet::new();
    let known = match (&query.total, carried_total) {
        (Total::Known(n), _) => Some(*n),
        (Total::Count, Some(n)) => Some(n),
        (Total::Count, None) => {
            for spec in &query.specs {
                let store = state.store().clone();
                let spec = spec.clone();
                counts.spawn(async move { store.count(&spec).await });
            }
            None
        }
        (Total::Counters(counters), _) => {
            let store = state.store().clone();
            let counters = counters.clone();
            counts.spawn(async move {
                let loaded = store.load(&counters).await?;
                // Summed, then floored: a shard a delete hit may be negative on its own.
                let sum: i64 = counters.iter().map(|k| loaded.number(k, "count")).sum();
                Ok(sum.max(0) as u64)
            });
            None
        }
    };
    let mut rows: Vec<T> = Vec::new();
    while let Some(done) = reads.join_next().await {
        rows.extend(done.map_err(Error::internal)??.into_iter().map(|(t, _)| t));
    }
    let mut counted = 0u64;
    while let Some(done) = counts.join_next().await {
        counted += done.map_err(Error::internal)??;
    }
    let total = known.unwrap_or(counted);
    rows.sort_by(|a, b| b.merge_id().cmp(a.merge_id()));
    let mut rows: Vec<T> = rows.into_iter().skip(skip).collect();
    let has_more = rows.len() > per_page;
    rows.truncate(per_page);
    let next_cursor = match rows.last() {
        Some(last) if has_more => Some(pagination::issue_cursor(
            &secret,
            &query.binding,
            CursorPosition {
                page: page_no + 1,
                start: StartKey(BTreeMap::from([(
                    "after".to_owned(),
                    last.merge_id().to_owned(),
                )])),
                total: matches!(query.total, Total::Count).then_some(total),
            },
        )?),
        _ => None,
    };
    Ok(Page {
        items: rows,
        pagination: Pagination::new(page_no, request.per_page, total, next_cursor),
    })
}

/// A list of items that belong to a tenant (groups, identity providers, …), as every tier reads
/// it: a tenant's own partition (a `tenant_id` filter, or a tenant admin), a partner's live
/// tenants' partitions merged (a partner admin, or a `partner_id` filter), or the platform
/// partition (a super admin). Totals come from the per-tenant and platform counters when
/// unfiltered, from COUNT queries when filtered.
pub struct TenantScopedList<'a> {
    /// Names the list in its cursors' binding.
    pub name: &'static str,
    pub tenant_filter: Option<&'a TenantId>,
    pub partner_filter: Option<&'a PartnerId>,
    /// A tenant's partition (GSI1).
    pub of_tenant: fn(&TenantId) -> String,
    /// A tenant's live-item counter.
    pub tenant_counter: fn(&TenantId) -> Key,
    /// The platform partition (GSI2) and the counter shards of its total.
    pub all: &'static str,
    pub platform_counters: Vec<Key>,
    /// Filters on the partition read (none: the counters give the total).
    pub equals: Vec<(&'static str, String)>,
    /// Lower-cased substring of `search_text`.
    pub contains: Option<String>,
}

impl TenantScopedList<'_> {
    /// The keys to read with the session check, from the token's claims alone (the decision
    /// is taken again on the checked principal).
    pub fn keys_to_check(&self, caller: &crate::session::Caller) -> Result<Vec<Key>> {
        let claimed =
            crate::access::tenants::list_reach(&caller.claimed_tier()?, self.partner_filter);
        let mut extra = Vec::new();
        if let Some(t) = self.tenant_filter {
            extra.push(keys::tenant(t));
            extra.push((self.tenant_counter)(t));
        }
        match &claimed {
            Ok(TenantReach::All) => extra.extend(self.platform_counters.iter().cloned()),
            Ok(TenantReach::One { tenant, .. }) => extra.push((self.tenant_counter)(tenant)),
            // A partner's counters are its tenants', read once the tenants are known.
            Ok(TenantReach::Partner(_)) | Err(_) => {}
        }
        Ok(extra)
    }

    fn filtered(&self) -> bool {
        !self.equals.is_empty() || self.contains.is_some()
    }

    fn spec(&self, index: &'static str, partition: (&'static str, String)) -> QuerySpec {
        QuerySpec {
            index: Some(index),
            partition,
            equals: self.equals.clone(),
            contains: self.contains.clone(),
            compare: Vec::new(),
        }
    }

    /// One page for the checked principal, `loaded` being the session check's batch (with
    /// [`Self::keys_to_check`]). A filter outside reach → 403; an unknown tenant → 403, or an
    /// empty page for a super admin.
    pub async fn page<T: Merged>(
        &self,
        state: &AppState,
        principal: &Principal,
        loaded: &Loaded,
        request: &PageRequest,
    ) -> Result<Page<T>> {
        let reach = crate::access::tenants::list_reach(&principal.tier, self.partner_filter)?;
        let empty = || Page {
            items: Vec::new(),
            pagination: Pagination::new(request.page, request.per_page, 0, None),
        };
        let tenant = match (&reach, self.tenant_filter) {
            (_, Some(t)) => {
                let found: Option<Tenant> = loaded.get(&keys::tenant(t))?;
                match found {
                    Some(tenant) => {
                        crate::access::tenants::read(principal, &tenant.partner_id, &tenant.id)?;
                        if self.partner_filter.is_some_and(|p| *p != tenant.partner_id) {
                            return Ok(empty());
                        }
                        Some(t.clone())
                    }
                    // An unknown tenant has nothing; only the super admin may learn that.
                    None if principal.is_super() => return Ok(empty()),
                    None => return Err(Error::AccessDenied),
                }
            }
            (TenantReach::One { tenant, .. }, None) => Some(tenant.clone()),
            _ => None,
        };
        let filtered = self.filtered();
        let binding = format!(
            "{}|reach={reach:?}|tenant={}|equals={:?}|contains={:?}",
            self.name,
            self.tenant_filter.map_or("", |t| t.as_str()),
            self.equals,
            self.contains,
        );
        let count = |key: Key| (!filtered).then(|| loaded.number(&key, "count").max(0) as u64);
        if let Some(t) = tenant {
            let query = ListQuery {
                binding,
                spec: self.spec(keys::GSI1, (keys::GSI1PK, (self.of_tenant)(&t))),
                known_total: count((self.tenant_counter)(&t)),
            };
            return page(state, &query, request).await;
        }
        match reach {
            TenantReach::Partner(p) => {
                // A partner's items are its tenants' items now: each live tenant's partition,
                // merged, with the tenants' counters for the total.
                let tenants = live_tenants_of(state, &p).await?;
                let query = MergedQuery {
                    binding,
                    specs: tenants
                        .iter()
                        .map(|t| self.spec(keys::GSI1, (keys::GSI1PK, (self.of_tenant)(&t.id))))
                        .collect(),
                    total: if filtered {
                        Total::Count
                    } else {
                        Total::Counters(
                            tenants
                                .iter()
                                .map(|t| (self.tenant_counter)(&t.id))
                                .collect(),
                        )
                    },
                };
                merged_page(state, &query, request).await
            }
            _ => {
                let query = ListQuery {
                    binding,
                    spec: self.spec(keys::GSI2, (keys::GSI2PK, self.all.to_owned())),
                    known_total: (!filtered).then(|| {
                        self.platform_counters
                            .iter()
                            .map(|k| loaded.number(k, "count"))
                            .sum::<i64>()
                            .max(0) as u64
                    }),
                };
                page(state, &query, request).await
            }
        }
    }
}
