//! An authorization request (OpenID Connect Core §3.1.2.1, RFC 6749 §4.1.1, RFC 7636) read from
//! the query, and judged against its client: what is wrong before the redirect URI is known to
//! be the client's own is shown on a page; everything after goes back to the redirect URI.

use std::collections::HashMap;

use shared::hierarchy::{AppType, Application};
use shared::sign_in;

/// The longest `state`, `nonce` or `login_hint` accepted (they travel in the flow and the code).
const MAX_PARAM_CHARS: usize = 1024;

/// Why an authorization request is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Shown on a page: the client or its redirect URI cannot be trusted with a redirect.
    Page(&'static str),
    /// Sent to the redirect URI (RFC 6749 §4.1.2.1).
    Redirect {
        error: &'static str,
        description: &'static str,
    },
}

fn redirect(error: &'static str, description: &'static str) -> Refusal {
    Refusal::Redirect { error, description }
}

/// The query's parameters, each at most once (a repeated one is refused, RFC 6749 §3.1).
pub struct Params(HashMap<String, String>);

impl Params {
    /// `None` if a parameter is repeated.
    pub fn parse(query: &str) -> Option<Self> {
        let mut map = HashMap::new();
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            if value.is_empty() {
                continue;
            }
            if map.insert(name.into_owned(), value.into_owned()).is_some() {
                return None;
            }
        }
        Some(Self(map))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// No parameters (a request whose query could not be read names nothing).
    pub fn empty() -> Self {
        Self(HashMap::new())
    }
}

/// `prompt` (OpenID Connect Core §3.1.2.1): only `none` and `login` change anything here;
/// `consent` and `select_account` are accepted (there is no consent screen nor account picker).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prompt {
    Default,
    None,
    Login,
}

/// An authorization request that passed every check but the session's.
#[derive(Debug)]
pub struct Checked {
    pub redirect_uri: String,
    pub scope: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
}

/// The redirect URI the request names, if it is one the client registered (exact match): the
/// only address a refusal may be sent to.
pub fn registered_redirect(params: &Params, app: &Application) -> Result<String, Refusal> {
    let uri = params
        .get("redirect_uri")
        .ok_or(Refusal::Page("The request names no redirect URI."))?;
    if app.redirect_uris.iter().any(|r| r == uri) {
        Ok(uri.to_owned())
    } else {
        Err(Refusal::Page(
            "The redirect URI is not registered for this application.",
        ))
    }
}

/// The rest of the request, once the client and its redirect URI are known good.
pub fn check(params: &Params, app: &Application, redirect_uri: String) -> Result<Checked, Refusal> {
    match params.get("response_type") {
        Some("code") => {}
        None => return Err(redirect("invalid_request", "response_type is required")),
        Some(_) => {
            return Err(redirect(
                "unsupported_response_type",
                "only response_type=code is supported",
            ));
        }
    }
    if params.get("request").is_some() {
        return Err(redirect(
            "request_not_supported",
            "request objects are not supported",
        ));
    }
    if params.get("request_uri").is_some() {
        return Err(redirect(
            "request_uri_not_supported",
            "request_uri is not supported",
        ));
    }
    if params
        .get("response_mode")
        .is_some_and(|mode| mode != "query")
    {
        return Err(redirect(
            "invalid_request",
            "only response_mode=query is supported",
        ));
    }
    if !app.allows_grant("authorization_code") {
        return Err(redirect(
            "unauthorized_client",
            "this client may not use the authorization code flow",
        ));
    }
    let bounded = |name: &str| -> Result<Option<String>, Refusal> {
        match params.get(name) {
            Some(value) if value.chars().count() > MAX_PARAM_CHARS => {
                Err(redirect("invalid_request", "a parameter is too long"))
            }
            value => Ok(value.map(str::to_owned)),
        }
    };
    let state = bounded("state")?;
    let nonce = bounded("nonce")?;
    let login_hint = bounded("login_hint")?;
    let scope: Vec<String> = match params.get("scope") {
        Some(asked) => {
            let mut scope: Vec<String> = Vec::new();
            for name in asked.split(' ').filter(|s| !s.is_empty()) {
                if !app.allowed_scopes.iter().any(|a| a == name) {
                    return Err(redirect(
                        "invalid_scope",
                        "a scope asked for is not allowed to this client",
                    ));
                }
                if !scope.iter().any(|s| s == name) {
                    scope.push(name.to_owned());
                }
            }
            scope
        }
        None => app.allowed_scopes.clone(),
    };
    let code_challenge = match (
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    ) {
        (None, None) => None,
        (Some(challenge), Some("S256")) if sign_in::is_s256_challenge(challenge) => {
            Some(challenge.to_owned())
        }
        (Some(_), Some("S256")) => {
            return Err(redirect(
                "invalid_request",
                "code_challenge is not a S256 challenge",
            ));
        }
        (Some(_), None | Some("plain")) => {
            return Err(redirect(
                "invalid_request",
                "code_challenge_method must be S256 (plain is refused)",
            ));
        }
        (_, Some(_)) => {
            return Err(redirect(
                "invalid_request",
                "code_challenge_method must be S256 with a code_challenge",
            ));
        }
    };
    if code_challenge.is_none() && matches!(app.application_type, AppType::Spa | AppType::Native) {
        return Err(redirect(
            "invalid_request",
            "PKCE (code_challenge, S256) is required of this client",
        ));
    }
    let prompt = match params.get("prompt") {
        None => Prompt::Default,
        Some(values) => {
            let values: Vec<&str> = values.split(' ').filter(|v| !v.is_empty()).collect();
            if values.contains(&"none") && values.len() > 1 {
                return Err(redirect(
                    "invalid_request",
                    "prompt=none cannot be combined with another value",
                ));
            }
            if values
                .iter()
                .any(|v| !matches!(*v, "none" | "login" | "consent" | "select_account"))
            {
                return Err(redirect("invalid_request", "unknown prompt value"));
            }
            if values.contains(&"none") {
                Prompt::None
            } else if values.contains(&"login") {
                Prompt::Login
            } else {
                Prompt::Default
            }
        }
    };
    let max_age =
        match params.get("max_age") {
            None => None,
            Some(value) => Some(value.parse::<i64>().ok().filter(|v| *v >= 0).ok_or_else(
                || {
                    redirect(
                        "invalid_request",
                        "max_age must be a whole number of seconds",
                    )
                },
            )?),
        };
    Ok(Checked {
        redirect_uri,
        scope,
        state,
        nonce,
        code_challenge,
        prompt,
        max_age,
        login_hint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::hierarchy::AppScope;
    use shared::ids::ApplicationId;
    use shared::time::Timestamp;
    use shared::values::Status;

    fn app(kind: AppType) -> Application {
        let now = Timestamp::now();
        Application {
            id: ApplicationId::generate(),
            name: "App".into(),
            description: None,
            scope: AppScope::Global,
            partner_id: None,
            tenant_id: None,
            application_type: kind,
            redirect_uris: vec!["https://app.example/cb".into()],
            post_logout_redirect_uris: Vec::new(),
            allowed_origins: Vec::new(),
            allowed_scopes: vec!["openid".into(), "email".into()],
            grant_types: vec!["authorization_code".into()],
            token_lifetime: 3600,
            token_exchange_allowed: false,
            assignment_required: false,
            status: Status::Active,
            secret_hash: None,
            previous_secret_hash: None,
            previous_secret_expires_at: None,
            created_at: now,
            updated_at: now,
            deleted_at: None,
            version: 1,
        }
    }

    fn judged(query: &str, kind: AppType) -> Result<Checked, Refusal> {
        let params = Params::parse(query).unwrap();
        let app = app(kind);
        let uri = registered_redirect(&params, &app)?;
        check(&params, &app, uri)
    }

    const CB: &str = "redirect_uri=https%3A%2F%2Fapp.example%2Fcb";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn a_good_request_passes() {
        let checked = judged(
            &format!("{CB}&response_type=code&scope=openid%20email&state=s&nonce=n&code_challenge={CHALLENGE}&code_challenge_method=S256&prompt=login&max_age=60"),
            AppType::Spa,
        )
        .unwrap();
        assert_eq!(checked.scope, vec!["openid", "email"]);
        assert_eq!(checked.prompt, Prompt::Login);
        assert_eq!(checked.max_age, Some(60));
        assert_eq!(checked.code_challenge.as_deref(), Some(CHALLENGE));
    }

    #[test]
    fn unknown_redirect_uris_get_a_page_and_the_rest_a_redirect() {
        assert!(matches!(
            judged(
                "redirect_uri=https%3A%2F%2Fevil.example%2Fcb&response_type=code",
                AppType::Web
            ),
            Err(Refusal::Page(_))
        ));
        assert!(matches!(
            judged("response_type=code", AppType::Web),
            Err(Refusal::Page(_))
        ));
        for (query, error) in [
            ("response_type=token", "unsupported_response_type"),
            ("", "invalid_request"),
            ("response_type=code&scope=admin", "invalid_scope"),
            (
                "response_type=code&code_challenge=abc&code_challenge_method=plain",
                "invalid_request",
            ),
            ("response_type=code&prompt=none%20login", "invalid_request"),
            ("response_type=code&max_age=-1", "invalid_request"),
            ("response_type=code&request=x", "request_not_supported"),
        ] {
            match judged(&format!("{CB}&{query}"), AppType::Web) {
                Err(Refusal::Redirect { error: got, .. }) => assert_eq!(got, error, "{query}"),
                other => panic!("{query}: {other:?}"),
            }
        }
    }

    #[test]
    fn public_clients_must_use_pkce() {
        for kind in [AppType::Spa, AppType::Native] {
            assert!(matches!(
                judged(&format!("{CB}&response_type=code"), kind),
                Err(Refusal::Redirect {
                    error: "invalid_request",
                    ..
                })
            ));
        }
        assert!(judged(&format!("{CB}&response_type=code"), AppType::Web).is_ok());
    }

    #[test]
    fn repeated_parameters_are_refused() {
        assert!(Params::parse("state=a&state=b").is_none());
    }
}
