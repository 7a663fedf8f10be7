//! One way every list pages: offset pages for `page` (at most 10,000 items deep), signed cursors
//! for `cursor` (any depth), exact totals from counters when unfiltered and, when filtered, from
//! a COUNT query run alongside the first page and carried in the cursors after it.

use crate::error::Result;
use crate::pagination::{self, CursorPosition, Page, PageRequest, Pagination};
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
