//! Who sees which events, and how each filter is served (SPEC §4.12, §3.2 "audit: platform-wide
//! | own partner + its tenants | own tenant").
//!
//! | filter | served by |
//! |---|---|
//! | `tenant_id` (and a tenant admin's own tenant) | GSI1 `TENANT#<tnt>#AUDIT` |
//! | `partner_id` (and a partner admin's own partner) | GSI2 `PARTNER#<prt>#AUDIT` |
//! | none (super admin) | GSI3 `AUDIT#<0..15>`: 16 shards, read at once and merged |
//! | `start_time`, `end_time` | the sort key: ids sort as their time does, so a time range is an id range |
//! | `actor_id`, `actor_email`, `action`, `resource_type`, `resource_id`, `result`, `ip_address` | filters on the range read, bounded |
//!
//! Bounded: a request reads at most [`MAX_CALLS`] Query calls per partition, each examining at
//! most [`EXAMINED_PER_CALL`] events (and 1 MB).
//! When a rare filter has not filled the page by then, the page is shorter (even empty) and `next_cursor` resumes where the read
//! stopped: no request reads a tenant's whole history, however selective the filter. The
//! history is not counted either (that would read all of it): `total` is a lower bound — the
//! events up to this page, plus one when more follow.

use std::collections::BTreeMap;

use shared::access::{self, Principal, Tier};
use shared::audit::{AuditEvent, AuditResult};
use shared::error::{Error, Result};
use shared::hierarchy::Tenant;
use shared::ids::{EventId, PartnerId, TenantId};
use shared::lifecycle::Lifecycle;
use shared::pagination::{self, CursorPosition, Page, PageRequest, Pagination};
use shared::session::{self, Caller};
use shared::state::AppState;
use shared::store::audit::{EventScan, EventScanPage};
use shared::store::{Item, StartKey, decode, keys};
use shared::time::Timestamp;

pub(crate) const RESOURCE: &str = "Audit event";
/// Query calls a request may make on one partition…
pub const MAX_CALLS: u32 = 4;
/// …each examining at most this many events (≈ 1 KB each): 2,000 a partition a request.
pub const EXAMINED_PER_CALL: usize = 500;
/// The cursor's field: read on below this event id.
const BEFORE: &str = "before";
/// Sorts after every event id (`evt_` + lowercase base32).
const AFTER_EVERY_ID: &str = "evt_~";

#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub tenant_id: Option<TenantId>,
    pub partner_id: Option<PartnerId>,
    pub actor_id: Option<String>,
    pub actor_email: Option<String>,
    pub action: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub result: Option<AuditResult>,
    pub start_time: Option<Timestamp>,
    pub end_time: Option<Timestamp>,
    pub ip_address: Option<String>,
}

impl AuditFilter {
    /// Every filter, for the cursor binding.
    fn describe(&self) -> String {
        format!(
            "tenant={:?}|partner={:?}|actor={:?}|email={:?}|action={:?}|type={:?}|resource={:?}|result={:?}|from={:?}|to={:?}|ip={:?}",
            self.tenant_id.as_ref().map(|t| t.as_str()),
            self.partner_id.as_ref().map(|p| p.as_str()),
            self.actor_id,
            self.actor_email,
            self.action,
            self.resource_type,
            self.resource_id,
            self.result,
            self.start_time.map(|t| t.to_string()),
            self.end_time.map(|t| t.to_string()),
            self.ip_address,
        )
    }

    /// The filters read as conditions on the events of a range.
    fn conditions(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let mut add = |name: &'static str, value: &Option<String>| {
            if let Some(v) = value {
                out.push((name, v.clone()));
            }
        };
        add("actor.id", &self.actor_id);
        add("actor.email", &self.actor_email);
        add("action", &self.action);
        add("resource_type", &self.resource_type);
        add("resource_id", &self.resource_id);
        add("ip_address", &self.ip_address);
        if let Some(result) = self.result {
            out.push(("result", result_text(result).to_owned()));
        }
        out
    }
}

fn result_text(result: AuditResult) -> &'static str {
    match result {
        AuditResult::Success => "SUCCESS",
        AuditResult::Failure => "FAILURE",
        AuditResult::Denied => "DENIED",
    }
}

/// Where a list reads.
enum Source {
    Tenant(TenantId),
    Partner(PartnerId),
    /// The super admin's unfiltered list: the platform index's shards.
    Platform,
}

/// A partner filter within reach: super any; partner admin its own; tenant admin its own
/// tenant's partner (it still sees only its tenant).
fn partner_within_reach(principal: &Principal, partner: &PartnerId) -> Result<()> {
    let allowed = match &principal.tier {
        Tier::Super => true,
        Tier::Partner(own) | Tier::Tenant { partner: own, .. } => own == partner,
    };
    if allowed {
        Ok(())
    } else {
        Err(Error::AccessDenied)
    }
}

/// Decides where to read and what to add to the filters.
fn plan(
    principal: &Principal,
    filter: &AuditFilter,
    tenant: Option<Tenant>,
) -> Result<(Source, Vec<(&'static str, String)>)> {
    let mut conditions = filter.conditions();
    if let Some(p) = &filter.partner_id {
        partner_within_reach(principal, p)?;
    }
    let source = match (&filter.tenant_id, &principal.tier) {
        (Some(t), _) => {
            match tenant.filter(|t| !t.is_deleted()) {
                Some(tenant) => access::tenants::read(principal, &tenant.partner_id, &tenant.id)?,
                // The history of a deleted tenant stays readable to super admins.
                None if principal.is_super() => {}
                None => return Err(Error::AccessDenied),
            }
            // A partner admin reads a tenant's events of the time it belonged to the partner.
            let partner = match &principal.tier {
                Tier::Partner(own) => Some(own.clone()),
                _ => filter.partner_id.clone(),
            };
            if let Some(p) = partner {
                conditions.push(("partner_id", p.to_string()));
            }
            Source::Tenant(t.clone())
        }
        (None, Tier::Tenant { tenant, .. }) => Source::Tenant(tenant.clone()),
        (None, Tier::Partner(own)) => Source::Partner(own.clone()),
        (None, Tier::Super) => match &filter.partner_id {
            Some(p) => Source::Partner(p.clone()),
            None => Source::Platform,
        },
    };
    Ok((source, conditions))
}

/// List Audit Events, newest first, within the caller's reach.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    filter: &AuditFilter,
    page: &PageRequest,
) -> Result<Page<AuditEvent>> {
    let extra: Vec<_> = filter.tenant_id.iter().map(keys::tenant).collect();
    let (principal, loaded) = session::check(state, caller, &extra).await?;
    let tenant: Option<Tenant> = match &filter.tenant_id {
        Some(t) => loaded.get(&keys::tenant(t))?,
        None => None,
    };
    let (source, conditions) = plan(&principal, filter, tenant)?;
    let secret = state.keys().cursor_secret().await?;
    let binding = format!(
        "audit|tier={:?}|caller={}|{}",
        principal.tier,
        principal.actor_id(),
        filter.describe()
    );
    let per_page = page.per_page as usize;
    let (page_no, before, seen_before, skip) = match &page.cursor {
        Some(cursor) => {
            let position = pagination::open_cursor(&secret, &binding, cursor)?;
            let before = position
                .start
                .0
                .get(BEFORE)
                .cloned()
                .ok_or_else(|| Error::internal("audit cursor without a position"))?;
            (position.page, Some(before), position.total.unwrap_or(0), 0)
        }
        None => (page.page, None, page.offset() as u64, page.offset()),
    };
    let from = filter.start_time.map_or_else(
        || EventId::PREFIX.to_owned(),
        |t| EventId::lowest_at(t.unix_millis()),
    );
    let (upto, upto_exclusive) = match (&before, filter.end_time) {
        (Some(b), _) => (b.clone(), true),
        (None, Some(end)) => (EventId::highest_at(end.unix_millis()), false),
        (None, None) => (AFTER_EVERY_ID.to_owned(), false),
    };
    let range = Range {
        from,
        upto,
        upto_exclusive,
        conditions,
    };
    // One more than the page, to know whether another follows.
    let need = skip + per_page + 1;
    let read = match source {
        Source::Tenant(t) => {
            let scan = range.scan(keys::GSI1, keys::audit_of_tenant(&t));
            collect(state, vec![scan], need).await?
        }
        Source::Partner(p) => {
            let scan = range.scan(keys::GSI2, keys::audit_of_partner(&p));
            collect(state, vec![scan], need).await?
        }
        Source::Platform => {
            let scans = (0..keys::AUDIT_SHARDS)
                .map(|shard| range.scan(keys::GSI3, keys::audit_shard(shard)))
                .collect();
            collect(state, scans, need).await?
        }
    };
    let mut events = Vec::with_capacity(read.items.len());
    for item in read.items.into_iter().skip(skip) {
        events.push(decode::<AuditEvent>(item)?);
    }
    let has_more = events.len() > per_page;
    events.truncate(per_page);
    let resume = match (has_more, events.last(), read.resume) {
        (true, Some(last), _) => Some(last.id.to_string()),
        (_, _, resume) => resume,
    };
    let shown = seen_before + events.len() as u64;
    let next_cursor = match resume {
        Some(before) => Some(pagination::issue_cursor(
            &secret,
            &binding,
            CursorPosition {
                page: page_no + 1,
                start: StartKey(BTreeMap::from([(BEFORE.to_owned(), before)])),
                total: Some(shown),
            },
        )?),
        None => None,
    };
    let total = shown + u64::from(next_cursor.is_some());
    Ok(Page {
        items: events,
        pagination: Pagination::new(page_no, page.per_page, total, next_cursor),
    })
}

/// The id range and conditions of a list.
struct Range {
    from: String,
    upto: String,
    upto_exclusive: bool,
    conditions: Vec<(&'static str, String)>,
}

impl Range {
    fn scan(&self, index: &'static str, partition: String) -> EventScan {
        EventScan {
            index,
            partition,
            from: self.from.clone(),
            upto: self.upto.clone(),
            upto_exclusive: self.upto_exclusive,
            filters: self.conditions.clone(),
        }
    }
}

/// What a list read: the matching events newest first (complete down to the last one), and
/// where to read on when the read stopped before the end of the range.
struct Read {
    items: Vec<Item>,
    resume: Option<String>,
}

fn id_of(item: &Item) -> String {
    item.get("id")
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

/// Reads up to `need` events from partitions sorted alike (one, or the platform shards), merged
/// newest first. A partition that stopped early leaves everything below its stopping point
/// unknown, so only events at or above the highest such point are kept, and the read resumes
/// below it.
async fn collect(state: &AppState, scans: Vec<EventScan>, need: usize) -> Result<Read> {
    let mut reads = tokio::task::JoinSet::new();
    for scan in scans {
        let store = state.store().clone();
        reads.spawn(async move {
            store
                .scan_events(&scan, need, MAX_CALLS, EXAMINED_PER_CALL)
                .await
        });
    }
    let mut pages: Vec<EventScanPage> = Vec::new();
    while let Some(joined) = reads.join_next().await {
        pages.push(joined.map_err(Error::internal)??);
    }
    let cut = pages.iter().filter_map(|p| p.stopped_at.clone()).max();
    let mut items: Vec<Item> = pages.into_iter().flat_map(|p| p.items).collect();
    items.sort_by_key(|item| std::cmp::Reverse(id_of(item)));
    if let Some(cut) = &cut {
        items.retain(|item| id_of(item) >= *cut);
    }
    if items.len() >= need {
        items.truncate(need);
        return Ok(Read {
            items,
            resume: None,
        });
    }
    Ok(Read { items, resume: cut })
}

/// Get Audit Event: an event within the caller's reach (super: any; partner admin: those filed
/// under its partner; tenant admin: those of its tenant).
pub async fn get(state: &AppState, caller: &Caller, id: &EventId) -> Result<AuditEvent> {
    let key = keys::event(id);
    let (principal, loaded) = session::check(state, caller, std::slice::from_ref(&key)).await?;
    let event: AuditEvent = loaded.get(&key)?.ok_or(Error::NotFound(RESOURCE))?;
    let visible = match &principal.tier {
        Tier::Super => true,
        Tier::Partner(own) => event.partner_id.as_ref() == Some(own),
        Tier::Tenant { tenant, .. } => event.tenant_id.as_ref() == Some(tenant),
    };
    if visible {
        Ok(event)
    } else {
        Err(Error::AccessDenied)
    }
}
