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
        Some(Self {
            page: page.map_or(1, |p| p as u32),
            per_page: per_page.map_or(DEFAULT_PER_PAGE, |p| p as u32),
            cursor,
        })
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

#[derive(Serialize, Deserialize)]
struct CursorBody {
    /// The list and filters it was issued for.
    b: String,
    /// The page it leads to.
    p: u32,
    k: StartKey,
}

/// Signs a position in a list. `binding` names the list, the caller's reach and every filter,
/// so a cursor replayed with other filters or by another caller is refused.
pub fn issue_cursor(
    secret: &[u8],
    binding: &str,
    page: u32,
    start: StartKey,
) -> Result<String, Error> {
    let body = serde_json::to_vec(&CursorBody {
        b: binding.to_owned(),
        p: page,
        k: start,
    })
    .map_err(Error::internal)?;
    let tag = crate::secrets::hmac_sha256(secret, &body);
    Ok(format!(
        "{}.{}",
        BASE64URL_NOPAD.encode(&body),
        BASE64URL_NOPAD.encode(&tag)
    ))
}

/// Opens a cursor: the page it leads to and where to start. Anything altered, forged or issued
/// for other filters → 422 on `cursor`.
pub fn open_cursor(secret: &[u8], binding: &str, cursor: &str) -> Result<(u32, StartKey), Error> {
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
    if parsed.b != binding {
        return Err(refuse());
    }
    Ok((parsed.p, parsed.k))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn start() -> StartKey {
        StartKey(BTreeMap::from([("PK".to_owned(), "A".to_owned())]))
    }

    #[test]
    fn a_cursor_opens_only_with_its_binding_and_secret() {
        let c = issue_cursor(b"k1", "tenants|all", 2, start()).unwrap();
        assert_eq!(open_cursor(b"k1", "tenants|all", &c).unwrap(), (2, start()));
        assert!(open_cursor(b"k1", "tenants|partner=x", &c).is_err());
        assert!(open_cursor(b"k2", "tenants|all", &c).is_err());
    }

    #[test]
    fn an_altered_cursor_is_refused() {
        let c = issue_cursor(b"k1", "b", 2, start()).unwrap();
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
