//! One way every list pages: offset pages for `page`, signed cursors for `cursor`, exact totals
//! from counters when unfiltered and from a COUNT query (run alongside the page) when filtered.

use crate::error::Result;
use crate::pagination::{self, Page, PageRequest, Pagination};
use crate::state::AppState;
use crate::store::QuerySpec;

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
    let (page_no, start, skip) = match &request.cursor {
        Some(cursor) => {
            let (page_no, start) = pagination::open_cursor(&secret, &query.binding, cursor)?;
            (page_no, Some(start), 0)
        }
        None => (request.page, None, request.offset()),
    };
    // One more than the page, to know whether a next page exists.
    let fetch = state
        .store()
        .list::<T>(&query.spec, start, skip + per_page + 1);
    let (rows, total) = match query.known_total {
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
            page_no + 1,
            key.clone(),
        )?),
        _ => None,
    };
    Ok(Page {
        items: rows.into_iter().map(|(item, _)| item).collect(),
        pagination: Pagination::new(page_no, request.per_page, total, next_cursor),
    })
}
