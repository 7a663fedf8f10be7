//! What every answer of the hosted sign-in shares: HTML pages that are never cached nor framed,
//! under a strict Content-Security-Policy; the SSO and flow cookies; redirects back to a
//! relying party with RFC 9207's `iss`.

use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use shared::config::Config;

/// A page, with the headers every page of the sign-in carries: not cached (`no-store`), never
/// framed (`frame-ancestors 'none'`), no script at all, styles only from the page's own nonced
/// block, images only over https, forms posted only here or to the relying party the flow
/// returns to (`form_target`: Chromium applies `form-action` to the redirect a form leads to).
pub struct Page {
    pub status: StatusCode,
    pub html: maud::Markup,
    pub nonce: String,
    pub form_target: Option<String>,
    pub cookies: Vec<String>,
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let form_action = match &self.form_target {
            Some(origin) => format!("'self' {origin}"),
            None => "'self'".to_owned(),
        };
        let csp = format!(
            "default-src 'none'; style-src 'nonce-{}'; img-src https: data:; \
             form-action {form_action}; frame-ancestors 'none'; base-uri 'none'",
            self.nonce
        );
        let mut response = (self.status, self.html.into_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        secure_headers(headers);
        if let Ok(value) = HeaderValue::from_str(&csp) {
            headers.insert(header::CONTENT_SECURITY_POLICY, value);
        }
        for cookie in self.cookies {
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                headers.append(header::SET_COOKIE, value);
            }
        }
        response
    }
}

/// The headers of every sign-in answer, pages and redirects alike.
fn secure_headers(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // Browsers heed it over https only (and never for a loopback address).
    headers.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000"),
    );
}

/// A 303 to `location`, setting `cookies`.
pub fn see_other(location: &str, cookies: Vec<String>) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    secure_headers(headers);
    if let Ok(value) = HeaderValue::from_str(location) {
        headers.insert(header::LOCATION, value);
    }
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            headers.append(header::SET_COOKIE, value);
        }
    }
    response
}

/// A fresh random value for a page's style nonce.
pub fn nonce() -> String {
    shared::secrets::random_token()
}

/// `uri` with `params` added to its query (RFC 6749 §4.1.2: the redirect URI's own query is
/// kept).
pub fn with_query(uri: &str, params: &[(&str, &str)]) -> String {
    if params.is_empty() {
        // The registered URI exactly as registered (no dangling `?`).
        return uri.to_owned();
    }
    match url::Url::parse(uri) {
        Ok(mut url) => {
            {
                let mut query = url.query_pairs_mut();
                for (name, value) in params {
                    query.append_pair(name, value);
                }
            }
            url.to_string()
        }
        // Registered URIs are absolute; nothing else reaches here.
        Err(_) => uri.to_owned(),
    }
}

/// The origin (`scheme://host[:port]`) of a URL, for the page's `form-action`; none for a
/// private-use scheme (a native app's), which `form-action` cannot name.
pub fn origin_of(uri: &str) -> Option<String> {
    let url = url::Url::parse(uri).ok()?;
    matches!(url.scheme(), "https" | "http").then(|| url.origin().ascii_serialization())
}

/// A cookie of the issuer at `path`: `HttpOnly`, `SameSite=Lax`, `Secure` unless the public
/// URL is local `http` (browsers drop `Secure` cookies there). `name` is the cookie's base
/// name: see [`cookie_name`].
pub fn cookie(config: &Config, name: &str, value: &str, path: &str, max_age: i64) -> String {
    let secure = if config.is_local_http() {
        ""
    } else {
        "; Secure"
    };
    let name = cookie_name(config, name);
    format!("{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")
}

/// The cookie's name as set and read: `__Secure-` first wherever cookies are `Secure`, so a
/// page served over plain `http` (a network attacker's) cannot plant one.
pub fn cookie_name(config: &Config, name: &str) -> String {
    if config.is_local_http() {
        name.to_owned()
    } else {
        format!("__Secure-{name}")
    }
}

/// The cookie cleared.
pub fn cleared(config: &Config, name: &str, path: &str) -> String {
    cookie(config, name, "", path, 0)
}

/// Every value a request's `Cookie` headers give `name` (a browser may send one per path).
pub fn cookies_named<'a>(headers: &'a HeaderMap, name: &'a str) -> Vec<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(n, _)| *n == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
        .collect()
}

/// `response` with `Retry-After: seconds` (a throttled attempt).
pub fn retry_after(mut response: Response, seconds: u64) -> Response {
    if let Ok(value) = axum::http::HeaderValue::from_str(&seconds.to_string()) {
        response
            .headers_mut()
            .insert(axum::http::header::RETRY_AFTER, value);
    }
    response
}

/// The named fields of an `application/x-www-form-urlencoded` body, each at most once (`None`
/// when one is repeated); other fields are ignored.
pub fn form_fields<const N: usize>(body: &[u8], names: [&str; N]) -> Option<[Option<String>; N]> {
    let mut values: [Option<String>; N] = std::array::from_fn(|_| None);
    for (name, value) in url::form_urlencoded::parse(body) {
        if let Some(i) = names.iter().position(|n| *n == name)
            && values[i].replace(value.into_owned()).is_some()
        {
            return None;
        }
    }
    Some(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_join_a_redirect_uris_own_query() {
        assert_eq!(
            with_query("https://app.example/cb", &[("code", "a b"), ("state", "s")]),
            "https://app.example/cb?code=a+b&state=s"
        );
        assert_eq!(
            with_query("https://app.example/cb?x=1", &[("code", "c")]),
            "https://app.example/cb?x=1&code=c"
        );
        assert_eq!(
            with_query("com.example.app:/cb", &[("code", "c")]),
            "com.example.app:/cb?code=c"
        );
    }

    #[test]
    fn only_web_origins_go_into_form_action() {
        assert_eq!(
            origin_of("https://app.example:8443/cb?x=1").as_deref(),
            Some("https://app.example:8443")
        );
        assert_eq!(origin_of("com.example.app:/cb"), None);
    }

    fn config_at(public_url: &str) -> Config {
        let url = public_url.to_owned();
        Config::from_lookup(move |name| (name == "SCAIKEY_PUBLIC_URL").then(|| url.clone()))
            .unwrap()
    }

    #[test]
    fn cookies_are_secure_and_prefixed_except_on_local_http() {
        let deployed = config_at("https://id.example.com");
        assert_eq!(
            cookie_name(&deployed, "scaikey_sso"),
            "__Secure-scaikey_sso"
        );
        let set = cookie(&deployed, "scaikey_sso", "v", "/p", 60);
        assert!(set.starts_with("__Secure-scaikey_sso=v; Path=/p;"), "{set}");
        assert!(set.ends_with("; Secure"), "{set}");
        let local = config_at("http://127.0.0.1:3000");
        assert_eq!(cookie_name(&local, "scaikey_sso"), "scaikey_sso");
        assert!(!cookie(&local, "scaikey_sso", "v", "/p", 60).contains("Secure"));
    }

    #[test]
    fn cookies_are_read_from_every_header() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; scaikey_sso=x"),
        );
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("scaikey_sso=y; b="),
        );
        assert_eq!(cookies_named(&headers, "scaikey_sso"), vec!["x", "y"]);
        assert!(cookies_named(&headers, "b").is_empty());
    }
}
