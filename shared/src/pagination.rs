//! `page`/`per_page`/`cursor` (SPEC §2.2): validation, the response envelope, and
//! tamper-evident cursors bound to the list and the filters they were issued for.

use data_encoding::BASE64URL_NOPAD;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, FieldProblem};
use crate::store::StartKey;
use crate::validation::{self, Fields};

pub const DEFAULT_PER_PAGE: u32 = 20;
pub const MAX_PER_PAGE: u32 = 100;
/// Offset pages reach this many items deep at most; a cursor reaches any depth at the cost of
/// one page.
pub const MAX_OFFSET_ITEMS: u64 = 10_000;
/// A cursor works for this long after it was issued.
pub const CURSOR_LIFETIME_SECONDS: i64 = 24 * 3600;

/// What a list request asked for, before the cursor is checked.
#[derive(Clone, Debug, PartialEq)]
pub struct PageRequest {
    pub page: u32,
    pub per_page: u32,
    pub cursor: Option<String>,
}

impl PageRequest {
    /// Reads `page`, `per_page` and `cursor` from a query string.
    pub fn read(fields: &mut Fields) -> Option<Self> {
        let page = fields.optional("page", |v| validation::integer_in(v, 1, 1_000_000));
        let per_page = fields.optional("per_page", |v| {
            validation::integer_in(v, 1, i64::from(MAX_PER_PAGE))
        });
        let cursor = fields.optional("cursor", |v| validation::string(v).map(str::to_owned));
        if !fields_ok(
            page.is_some() || !fields.has("page"),
            per_page.is_some() || !fields.has("per_page"),
        ) {
            return None;
        }
        let request = Self {
            page: page.map_or(1, |p| p as u32),
            per_page: per_page.map_or(DEFAULT_PER_PAGE, |p| p as u32),
            cursor,
        };
        // An offset page reads every item before it: bounded, with the cursor as the way on.
        let depth = u64::from(request.page) * u64::from(request.per_page);
        if request.cursor.is_none() && depth > MAX_OFFSET_ITEMS {
            fields.reject(
                "page",
                validation::Problem::value_error(format!(
                    "page × per_page may reach {MAX_OFFSET_ITEMS} items at most; use `cursor` \
                     (pagination.next_cursor) to go deeper"
                )),
            );
            return None;
        }
        Some(request)
    }

    /// Items to skip when no cursor is given.
    pub fn offset(&self) -> usize {
        (self.page as usize - 1) * self.per_page as usize
    }
}

fn fields_ok(page_ok: bool, per_page_ok: bool) -> bool {
    page_ok && per_page_ok
}

/// The `pagination` object of a list response.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Pagination {
    pub page: u32,
    pub per_page: u32,
    pub total: u64,
    pub total_pages: u64,
    /// Opaque; pass it back as `cursor` for the next page. `null` on the last page.
    pub next_cursor: Option<String>,
}

impl Pagination {
    pub fn new(page: u32, per_page: u32, total: u64, next_cursor: Option<String>) -> Self {
        Self {
            page,
            per_page,
            total,
            total_pages: total.div_ceil(u64::from(per_page)),
            next_cursor,
        }
    }
}

/// One page of domain values.
pub struct Page<T> {
    pub items: Vec<T>,
    pub pagination: Pagination,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            pagination: self.pagination,
        }
    }
}

/// One page of a list computed whole on every request (a walk of nested groups): offset pages,
/// and cursors that carry the offset, signed and bound like every cursor. The total is the
/// computed list's length.
pub fn page_of_computed<T>(
    secret: &[u8],
    binding: &str,
    request: &PageRequest,
    all: Vec<T>,
) -> Result<Page<T>, Error> {
    let (page_no, offset) = match &request.cursor {
        Some(cursor) => {
            let position = open_cursor(secret, binding, cursor)?;
            let offset = position
                .start
                .0
                .get(COMPUTED_OFFSET)
                .and_then(|o| o.parse::<usize>().ok())
                .ok_or_else(|| Error::internal("cursor without offset"))?;
            (position.page, offset)
        }
        None => (request.page, request.offset()),
    };
    let total = all.len() as u64;
    let items: Vec<T> = all
        .into_iter()
        .skip(offset)
        .take(request.per_page as usize)
        .collect();
    let next = offset + items.len();
    let next_cursor = if (next as u64) < total && !items.is_empty() {
        Some(issue_cursor(
            secret,
            binding,
            CursorPosition {
                page: page_no + 1,
                start: StartKey(std::collections::BTreeMap::from([(
                    COMPUTED_OFFSET.to_owned(),
                    next.to_string(),
                )])),
                total: Some(total),
            },
        )?)
    } else {
        None
    };
    Ok(Page {
        items,
        pagination: Pagination::new(page_no, request.per_page, total, next_cursor),
    })
}

const COMPUTED_OFFSET: &str = "offset";

#[derive(Serialize, Deserialize)]
struct CursorBody {
    /// The list and filters it was issued for.
    b: String,
    /// The page it leads to.
    p: u32,
    k: StartKey,
    /// The list's total as counted on its first page (filtered lists count once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    t: Option<u64>,
    /// Unix seconds after which the cursor is refused.
    e: i64,
}

/// Where a cursor leads: the page number, where to start, and the total counted on the first
/// page.
#[derive(Clone, Debug, PartialEq)]
pub struct CursorPosition {
    pub page: u32,
    pub start: StartKey,
    pub total: Option<u64>,
}

/// Signs a position in a list. `binding` names the list, the caller's reach and every filter,
/// so a cursor replayed with other filters or by another caller is refused.
pub fn issue_cursor(
    secret: &[u8],
    binding: &str,
    position: CursorPosition,
) -> Result<String, Error> {
    let body = serde_json::to_vec(&CursorBody {
        b: binding.to_owned(),
        p: position.page,
        k: position.start,
        t: position.total,
        e: crate::time::Timestamp::now().unix() + CURSOR_LIFETIME_SECONDS,
    })
    .map_err(Error::internal)?;
    let tag = crate::secrets::hmac_sha256(secret, &body);
    Ok(format!(
        "{}.{}",
        BASE64URL_NOPAD.encode(&body),
        BASE64URL_NOPAD.encode(&tag)
    ))
}

/// Opens a cursor. Anything altered, forged, expired or issued for other filters → 422 on
/// `cursor`.
pub fn open_cursor(secret: &[u8], binding: &str, cursor: &str) -> Result<CursorPosition, Error> {
    let refuse = || {
        Error::Validation(vec![FieldProblem::new(
            vec![Value::from("query"), Value::from("cursor")],
            "value_error",
            "Value error, invalid or expired cursor",
        )])
    };
    let (body, tag) = cursor.split_once('.').ok_or_else(refuse)?;
    let body = BASE64URL_NOPAD
        .decode(body.as_bytes())
        .map_err(|_| refuse())?;
    let tag = BASE64URL_NOPAD
        .decode(tag.as_bytes())
        .map_err(|_| refuse())?;
    if !crate::secrets::hmac_verify(secret, &body, &tag) {
        return Err(refuse());
    }
    let parsed: CursorBody = serde_json::from_slice(&body).map_err(|_| refuse())?;
    if parsed.b != binding || parsed.e < crate::time::Timestamp::now().unix() {
        return Err(refuse());
    }
    Ok(CursorPosition {
        page: parsed.p,
        start: parsed.k,
        total: parsed.t,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn start() -> StartKey {
        StartKey(BTreeMap::from([("PK".to_owned(), "A".to_owned())]))
    }

    fn position(total: Option<u64>) -> CursorPosition {
        CursorPosition {
            page: 2,
            start: start(),
            total,
        }
    }

    #[test]
    fn a_cursor_opens_only_with_its_binding_and_secret() {
        let c = issue_cursor(b"k1", "tenants|all", position(Some(57))).unwrap();
        assert_eq!(
            open_cursor(b"k1", "tenants|all", &c).unwrap(),
            position(Some(57))
        );
        assert!(open_cursor(b"k1", "tenants|partner=x", &c).is_err());
        assert!(open_cursor(b"k2", "tenants|all", &c).is_err());
    }

    #[test]
    fn an_expired_cursor_is_refused() {
        let body = serde_json::to_vec(&CursorBody {
            b: "b".into(),
            p: 2,
            k: start(),
            t: None,
            e: crate::time::Timestamp::now().unix() - 1,
        })
        .unwrap();
        let tag = crate::secrets::hmac_sha256(b"k1", &body);
        let expired = format!(
            "{}.{}",
            BASE64URL_NOPAD.encode(&body),
            BASE64URL_NOPAD.encode(&tag)
        );
        assert!(open_cursor(b"k1", "b", &expired).is_err());
    }

    #[test]
    fn offset_pages_stop_at_ten_thousand_items_but_cursors_do_not() {
        let read = |pairs: &[(&str, &str)]| {
            let mut f = Fields::query(
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            );
            PageRequest::read(&mut f)
        };
        assert!(read(&[("page", "100"), ("per_page", "100")]).is_some());
        assert!(read(&[("page", "101"), ("per_page", "100")]).is_none());
        assert!(read(&[("page", "501")]).is_none());
        assert!(read(&[("page", "501"), ("cursor", "c")]).is_some());
    }

    #[test]
    fn an_altered_cursor_is_refused() {
        let c = issue_cursor(b"k1", "b", position(None)).unwrap();
        let (body, tag) = c.split_once('.').unwrap();
        let mut raw = BASE64URL_NOPAD.decode(body.as_bytes()).unwrap();
        raw[5] ^= 1;
        let forged = format!("{}.{tag}", BASE64URL_NOPAD.encode(&raw));
        assert!(open_cursor(b"k1", "b", &forged).is_err());
        assert!(open_cursor(b"k1", "b", "garbage").is_err());
        assert!(open_cursor(b"k1", "b", "").is_err());
    }

    #[test]
    fn page_parameters_are_range_checked() {
        let mut f = Fields::query(vec![
            ("page".into(), "0".into()),
            ("per_page".into(), "101".into()),
        ]);
        assert!(PageRequest::read(&mut f).is_none());
        assert_eq!(
            f.check().unwrap_err().status(),
            axum::http::StatusCode::UNPROCESSABLE_ENTITY
        );
        let mut f = Fields::query(vec![]);
        let p = PageRequest::read(&mut f).unwrap();
        assert_eq!((p.page, p.per_page, p.offset()), (1, 20, 0));
    }

    #[test]
    fn total_pages_round_up() {
        assert_eq!(Pagination::new(1, 20, 57, None).total_pages, 3);
        assert_eq!(Pagination::new(1, 20, 0, None).total_pages, 0);
    }
}
