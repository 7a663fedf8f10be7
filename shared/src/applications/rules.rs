//! The rules of an application's settings (SPEC §4.7): redirect URIs, origins, scopes, grant
//! types, each value on its own (`*_list` parsers, used by the wire types) and across fields
//! (`check`, run on every create and on the result of every PATCH).

use crate::error::{Error, FieldProblem};
use crate::validation::{self, Problem};
use serde_json::{Value, json};
use url::Url;

use super::Settings;
use crate::hierarchy::AppType;

pub const MAX_URIS: usize = 20;
pub const MAX_URI_LENGTH: usize = 2000;
pub const MAX_SCOPES: usize = 50;
pub const MAX_SCOPE_LENGTH: usize = 100;
pub const TOKEN_LIFETIME: (i64, i64) = (60, 86_400);
pub const DEFAULT_SCOPES: [&str; 3] = ["openid", "profile", "email"];
/// A registration request's grant types when it names none (SPEC §4.8), whatever its type:
/// never `client_credentials`, so a public type's request is valid as it is.
pub const REQUEST_DEFAULT_GRANTS: [&str; 2] = [AUTHORIZATION_CODE, REFRESH_TOKEN];
pub const AUTHORIZATION_CODE: &str = "authorization_code";
pub const REFRESH_TOKEN: &str = "refresh_token";
pub const CLIENT_CREDENTIALS: &str = "client_credentials";
pub const GRANT_TYPES: [&str; 4] = [
    AUTHORIZATION_CODE,
    REFRESH_TOKEN,
    CLIENT_CREDENTIALS,
    "urn:ietf:params:oauth:grant-type:token-exchange",
];

/// An application's grant types when its create names none (SPEC §4.7), by type: a SERVICE
/// app is a machine client (the reference's quickstart asks for a `client_credentials` token
/// right after creating one), a WEB app signs users in and may call APIs itself, SPA and NATIVE
/// apps are public (no `client_credentials`), a SAML service provider uses no OAuth grant.
pub fn default_grants(kind: AppType) -> Vec<String> {
    let grants: &[&str] = match kind {
        AppType::Service => &[CLIENT_CREDENTIALS],
        AppType::Web => &[AUTHORIZATION_CODE, REFRESH_TOKEN, CLIENT_CREDENTIALS],
        AppType::Spa | AppType::Native => &[AUTHORIZATION_CODE, REFRESH_TOKEN],
        AppType::SamlSp => &[],
    };
    grants.iter().map(|g| (*g).to_owned()).collect()
}

/// A 422 on one body field.
pub fn field_error(name: &str, msg: &str) -> Error {
    Error::Validation(vec![FieldProblem::new(
        vec![json!("body"), json!(name)],
        "value_error",
        format!("Value error, {msg}"),
    )])
}

/// A JSON array of strings, each parsed by `each`; a problem names its index. Duplicates are
/// dropped, the first kept.
fn list(
    value: &Value,
    max: usize,
    each: impl Fn(&str) -> Result<String, String>,
) -> Result<Vec<String>, Problem> {
    let Value::Array(items) = value else {
        return Err(Problem::new("list_type", "Input should be a valid list"));
    };
    if items.len() > max {
        return Err(Problem::new(
            "too_long",
            format!("List should have at most {max} items"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = |mut problem: Problem| {
            problem.below.insert(0, json!(i));
            problem
        };
        let text = validation::string(item).map_err(at)?;
        let parsed = each(text).map_err(|msg| at(Problem::value_error(msg)))?;
        if !out.contains(&parsed) {
            out.push(parsed);
        }
    }
    Ok(out)
}

fn is_loopback(url: &Url) -> bool {
    matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
}

/// An absolute URI with no fragment and no wildcard, `https` (or `http` to a loopback host);
/// with `private_schemes`, also a private-use scheme (RFC 8252: one with a `.`, as
/// `com.example.app:/callback`) for native apps. Matched exactly later: stored as given.
fn redirect_uri(text: &str, private_schemes: bool) -> Result<String, String> {
    if text.len() > MAX_URI_LENGTH {
        return Err(format!("at most {MAX_URI_LENGTH} characters"));
    }
    if text.contains('*') {
        return Err("wildcards are not allowed: redirect URIs match exactly".into());
    }
    if text.chars().any(char::is_whitespace) {
        return Err("must not contain whitespace".into());
    }
    let url = Url::parse(text).map_err(|_| "must be an absolute URI".to_owned())?;
    if url.fragment().is_some() || text.contains('#') {
        return Err("must not contain a fragment".into());
    }
    match url.scheme() {
        "https" if url.host_str().is_some_and(|h| !h.is_empty()) => Ok(text.to_owned()),
        "http" if is_loopback(&url) => Ok(text.to_owned()),
        "http" => Err("http is allowed only for localhost; use https".into()),
        scheme if private_schemes && scheme.contains('.') => Ok(text.to_owned()),
        _ if private_schemes => {
            Err("must use https, http for localhost, or a private-use scheme (reverse domain name, e.g. com.example.app:/cb)".into())
        }
        _ => Err("must use https (http only for localhost)".into()),
    }
}

/// Redirect URIs as given, before the application's type is known (a private-use scheme is
/// accepted here and refused by [`check`] unless the app is NATIVE).
pub fn redirect_uris(value: &Value) -> Result<Vec<String>, Problem> {
    list(value, MAX_URIS, |t| redirect_uri(t, true))
}

/// An origin: `scheme://host[:port]` (a trailing `/` tolerated), https or http to a loopback
/// host; stored in its serialized form (host lower-cased, default port dropped).
fn origin(text: &str) -> Result<String, String> {
    const SHAPE: &str = "must be an origin (scheme://host[:port]), without path or query";
    let url = Url::parse(text).map_err(|_| SHAPE.to_owned())?;
    let serialized = url.origin().ascii_serialization();
    let given = text.trim_end_matches('/');
    let default_port = url
        .port_or_known_default()
        .map(|p| format!("{serialized}:{p}"));
    let same = given.eq_ignore_ascii_case(&serialized)
        || default_port.is_some_and(|d| given.eq_ignore_ascii_case(&d));
    if !same || url.host_str().is_none() {
        return Err(SHAPE.into());
    }
    match url.scheme() {
        "https" => Ok(serialized),
        "http" if is_loopback(&url) => Ok(serialized),
        _ => Err("must use https (http only for localhost)".into()),
    }
}

pub fn origins(value: &Value) -> Result<Vec<String>, Problem> {
    list(value, MAX_URIS, origin)
}

/// An OAuth scope token (RFC 6749 §3.3: printable ASCII but space, `"` and `\`).
fn scope_token(text: &str) -> Result<String, String> {
    let valid = (1..=MAX_SCOPE_LENGTH).contains(&text.len())
        && text
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
    if valid {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "a scope is 1 to {MAX_SCOPE_LENGTH} printable ASCII characters without space, '\"' or '\\'"
        ))
    }
}

pub fn scopes(value: &Value) -> Result<Vec<String>, Problem> {
    list(value, MAX_SCOPES, scope_token)
}

pub fn grant_types(value: &Value) -> Result<Vec<String>, Problem> {
    list(value, GRANT_TYPES.len(), |t| {
        if GRANT_TYPES.contains(&t) {
            Ok(t.to_owned())
        } else {
            Err(format!("must be one of {}", GRANT_TYPES.join(", ")))
        }
    })
}

pub fn token_lifetime(value: &Value) -> Result<u32, Problem> {
    validation::integer_in(value, TOKEN_LIFETIME.0, TOKEN_LIFETIME.1).map(|n| n as u32)
}

/// The rules across fields, on the settings as they will be stored: a public client has no
/// `client_credentials`; only a NATIVE app may use a private-use redirect scheme.
pub fn check(settings: &Settings) -> Result<(), Error> {
    let mut problems = Vec::new();
    let mut reject = |field: &str, index: Option<usize>, msg: &str| {
        let mut loc = vec![json!("body"), json!(field)];
        loc.extend(index.map(|i| json!(i)));
        problems.push(FieldProblem::new(
            loc,
            "value_error",
            format!("Value error, {msg}"),
        ));
    };
    let kind = settings.application_type;
    if !kind.is_confidential() && settings.grant_types.iter().any(|g| g == CLIENT_CREDENTIALS) {
        reject(
            "grant_types",
            None,
            "public applications (SPA, NATIVE) cannot use client_credentials",
        );
    }
    if kind != AppType::Native {
        for (field, uris) in [
            ("redirect_uris", &settings.redirect_uris),
            (
                "post_logout_redirect_uris",
                &settings.post_logout_redirect_uris,
            ),
        ] {
            for (i, uri) in uris.iter().enumerate() {
                if redirect_uri(uri, false).is_err() {
                    reject(
                        field,
                        Some(i),
                        "must use https (http only for localhost); private-use schemes are for NATIVE applications",
                    );
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Validation(problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_are_absolute_https_or_loopback_http_without_fragment_or_wildcard() {
        for good in [
            "https://app.example.com/cb",
            "https://app.example.com:8443/cb?x=1",
            "http://localhost:8080/cb",
            "http://127.0.0.1/cb",
            "http://[::1]:3000/cb",
        ] {
            assert_eq!(redirect_uri(good, false), Ok(good.to_owned()), "{good}");
        }
        for bad in [
            "/cb",
            "app.example.com/cb",
            "https://app.example.com/cb#frag",
            "https://*.example.com/cb",
            "http://example.com/cb",
            "ftp://example.com/cb",
            "com.example.app:/cb",
            "https://app.example.com/c b",
        ] {
            assert!(redirect_uri(bad, false).is_err(), "{bad}");
        }
        assert!(redirect_uri("com.example.app:/cb", true).is_ok());
        assert!(redirect_uri("myapp:/cb", true).is_err());
    }

    #[test]
    fn origins_are_scheme_host_and_port_only() {
        assert_eq!(
            origin("https://console.example.com"),
            Ok("https://console.example.com".into())
        );
        assert_eq!(
            origin("http://localhost:3000"),
            Ok("http://localhost:3000".into())
        );
        for bad in [
            "https://console.example.com/app",
            "https://console.example.com?x",
            "http://console.example.com",
            "console.example.com",
        ] {
            assert!(origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn default_grants_follow_the_type_and_public_types_never_get_client_credentials() {
        assert_eq!(default_grants(AppType::Service), vec![CLIENT_CREDENTIALS]);
        assert_eq!(
            default_grants(AppType::Web),
            vec![AUTHORIZATION_CODE, REFRESH_TOKEN, CLIENT_CREDENTIALS]
        );
        assert!(default_grants(AppType::SamlSp).is_empty());
        for (_, kind) in AppType::ALL {
            let grants = default_grants(kind);
            let settings = Settings {
                name: crate::values::Name::parse(&json!("x")).unwrap(),
                description: None,
                application_type: kind,
                redirect_uris: Vec::new(),
                post_logout_redirect_uris: Vec::new(),
                allowed_origins: Vec::new(),
                allowed_scopes: Vec::new(),
                grant_types: grants.clone(),
                token_lifetime: 3600,
                token_exchange_allowed: false,
                assignment_required: false,
                status: crate::values::Status::Active,
            };
            assert!(check(&settings).is_ok(), "{kind:?}: {grants:?}");
            assert_eq!(
                grants.iter().any(|g| g == CLIENT_CREDENTIALS),
                kind.is_confidential() && kind != AppType::SamlSp,
                "{kind:?}"
            );
        }
    }

    #[test]
    fn scope_tokens_follow_rfc_6749() {
        assert!(scope_token("admin:read").is_ok());
        for bad in ["", "a b", "quote\"", "back\\slash", "é"] {
            assert!(scope_token(bad).is_err(), "{bad:?}");
        }
    }
}
