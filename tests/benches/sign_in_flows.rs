//! Returning users' sign-ins per server CPU-second: ours (RS256 and ES256) against
//! node-oidc-provider, the same flow, the same load, the same machine, one run (issue 19's
//! targets: RS256 ≥ the peer's figure, ES256 ≥ 2×).
//!
//! A flow is what a relying party makes of a user who already has an SSO session: `GET
//! {issuer}/oauth/authorize` with the session cookie (`response_type=code`, PKCE S256, `state`,
//! `nonce`, `scope`) → 303 to the redirect URI with a `code` → `POST {issuer}/oauth/token`
//! (`authorization_code`, HTTP Basic, `code_verifier`) → 200 with an access token and an ID
//! token (and, from both servers, a refresh token).
//!
//! `scripts/bench` runs it after the grants bench (`cargo bench -p api-tests --bench
//! sign_in_flows`), once `target/release/scaikey` is built and the peer is installed into
//! `.tools/peers/oidc-provider` (its `server-code.js`).
//!
//! Ours, for each of RS256 and ES256, as in `grants.rs`: a fresh table of a DynamoDB Local
//! (started here unless `DYNAMODB_ENDPOINT` is set), `scaikey bootstrap` with
//! `SCAIKEY_SIGNING_ALGORITHM`, `scaikey serve` as a process of its own with
//! `SCAIKEY_PUBLIC_URL` its own address; as the bootstrap admin, a partner, a tenant, one user
//! with a password per worker and a confidential TENANT-scoped WEB application (`redirect_uris`,
//! `authorization_code` + `refresh_token`, `openid email profile`). The peer: `node
//! server-code.js` (its client `web`, every account in memory, any password).
//!
//! The load: `SIGN_IN_WORKERS` (4) workers, each a browser of its own (its cookies, one
//! keep-alive HTTP/1.1 connection, hyper, a tokio task on this process's current-thread
//! runtime). Each signs in once through the server's own login page (the hosted form; the
//! peer's development form), then makes flows back to back with the session cookie it got.
//! Workers never share a session: the peer keeps one grant per client and session, and flows
//! racing on one session invalidate each other's codes. After `SIGN_IN_WARMUP_SECONDS` (2) the
//! completed flows are counted over `SIGN_IN_SECONDS` (15), with the server's utime + stime from
//! `/proc/<pid>/stat` read at both ends: flows per CPU-second = flows ÷ CPU seconds.
//!
//! Its profile: the same workers then make authorizes only (a code each, never exchanged) for
//! `SIGN_IN_SPLIT_SECONDS` (5): CPU per authorize, and the token exchange's share = CPU per flow
//! − CPU per authorize. The signature alone (aws-lc-rs, in this process) is printed beside it.
//! `SCAIKEY_BIN` names another server binary (a build with symbols, to `perf record` it).
//!
//! The login page: a fresh browser's authorize (no cookie) → the 303 to the login form, then
//! that page fetched `SIGN_IN_PAGES` (300) times, one after another: p50 / p90 and CPU per page,
//! for ours and the peer. (The sign-in's Lambda cold starts: `tests/benches/cold_start.rs`.)
//! `SIGN_IN_SCOPE` (`openid`) changes the flows' scope.
//!
//! DynamoDB Local is another process: its CPU is not counted in ours (in AWS that work is
//! DynamoDB's); it is reported on its own, per flow. The load generator's CPU is not counted.
//!
//! A missed target prints `MISS`; the run fails (exit 1) on a miss only with `BENCH_STRICT=1`.
//! A failure to measure (a server that does not start, a sign-in that fails, errors instead of
//! flows) always fails.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use hyper::body::Bytes;
use hyper::{Method, StatusCode};
use serde_json::json;

const CALLBACK: &str = "https://app.example/cb";
/// RFC 7636, appendix B: the same verifier for every flow (the client's work is not measured).
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const USER_PASSWORD: &str = "a-long-enough-password-for-bench";
const PEER_CLIENT: (&str, &str) = ("web", "a-long-random-client-secret-0123456789abcdef");
const TENANT: &str = "bench-hq";

/// A provider as the flow sees it: where it listens, its authorize and token paths, the
/// client's Basic credentials, and the `alg` its ID tokens must have.
struct Provider {
    port: u16,
    authorize: String,
    token: String,
    client_id: String,
    basic: String,
    alg: &'static str,
}

impl Provider {
    fn authorize_path(&self, scope: &str, n: &str) -> String {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("response_type", "code"),
                ("client_id", &self.client_id),
                ("redirect_uri", CALLBACK),
                ("scope", scope),
                ("state", &format!("s-{n}")),
                ("nonce", &format!("n-{n}")),
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "S256"),
            ])
            .finish();
        format!("{}?{query}", self.authorize)
    }

    /// A `Location` as a path on this provider (it may be absolute).
    fn path_of<'a>(&self, location: &'a str) -> &'a str {
        location
            .strip_prefix(&format!("http://127.0.0.1:{}", self.port))
            .unwrap_or(location)
    }
}

/// A browser: its cookies (every one sent with every request: each server sees only its own),
/// one keep-alive connection.
struct Browser {
    port: u16,
    sender: Sender,
    cookies: BTreeMap<String, String>,
}

impl Browser {
    async fn open(port: u16) -> Result<Self, Failure> {
        Ok(Self {
            port,
            sender: connect(port).await?,
            cookies: BTreeMap::new(),
        })
    }

    async fn go(
        &mut self,
        method: Method,
        path: &str,
        form: Option<String>,
    ) -> Result<Answer, Failure> {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut headers = vec![("cookie", cookie.as_str())];
        if form.is_some() {
            headers.push(("content-type", "application/x-www-form-urlencoded"));
        }
        let body = Bytes::from(form.unwrap_or_default());
        let request = request(self.port, method, path, &headers, body)?;
        let answer = match send(&mut self.sender, request).await {
            Ok(answer) => answer,
            Err(err) => {
                // A closed connection: the next request gets a new one.
                self.sender = connect(self.port).await?;
                return Err(err);
            }
        };
        for value in answer.headers.get_all("set-cookie") {
            let Ok(text) = value.to_str() else { continue };
            let (pair, attributes) = text.split_once(';').unwrap_or((text, ""));
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            let attributes = attributes.to_ascii_lowercase();
            if value.is_empty()
                || attributes.contains("max-age=0")
                || attributes.contains("expires=thu, 01 jan 1970")
            {
                self.cookies.remove(name.trim());
            } else {
                self.cookies
                    .insert(name.trim().to_owned(), value.to_owned());
            }
        }
        Ok(answer)
    }
}

/// The first form of a page: its action and its fields, `login`/`email` and `password` filled.
fn fill_form(html: &str, login: &str) -> Option<(String, String)> {
    let form = &html[html.find("<form")?..];
    let form = &form[..form.find("</form>")?];
    let attribute = |tag: &str, name: &str| -> Option<String> {
        let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
        let end = tag[start..].find('"')? + start;
        Some(
            tag[start..end]
                .replace("&quot;", "\"")
                .replace("&#x27;", "'")
                .replace("&#39;", "'")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&"),
        )
    };
    let action = attribute(&form[..form.find('>')?], "action")?;
    let mut fields = url::form_urlencoded::Serializer::new(String::new());
    for input in form.split("<input").skip(1) {
        let tag = &input[..input.find('>')?];
        let Some(name) = attribute(tag, "name") else {
            continue;
        };
        let value = match name.as_str() {
            "login" | "email" => login.to_owned(),
            "password" => USER_PASSWORD.to_owned(),
            _ => attribute(tag, "value").unwrap_or_default(),
        };
        fields.append_pair(&name, &value);
    }
    Some((action, fields.finish()))
}

/// The `code` of a redirect to the callback, if its `state` is `n`'s.
fn code_of(location: &str, n: &str) -> Option<String> {
    let url = url::Url::parse(location).ok()?;
    let query: BTreeMap<_, _> = url.query_pairs().collect();
    (query.get("state")?.as_ref() == format!("s-{n}"))
        .then(|| query.get("code").map(|c| c.to_string()))?
}

/// Signs `login` in through the provider's own login page: authorize → (redirects, forms
/// filled and posted) → the redirect to the callback. The browser keeps the session cookie.
async fn sign_in(
    provider: &Provider,
    browser: &mut Browser,
    login: &str,
    scope: &str,
) -> Result<(), Failure> {
    let n = format!("login-{login}");
    let mut answer = browser
        .go(Method::GET, &provider.authorize_path(scope, &n), None)
        .await?;
    for _ in 0..10 {
        answer = match answer.status {
            StatusCode::FOUND | StatusCode::SEE_OTHER => {
                let location = answer.header("location").unwrap_or_default().to_owned();
                if location.starts_with(CALLBACK) {
                    return code_of(&location, &n)
                        .map(|_| ())
                        .ok_or_else(|| format!("sign-in of {login}: {location}"));
                }
                browser
                    .go(Method::GET, provider.path_of(&location), None)
                    .await?
            }
            StatusCode::OK => {
                let html = String::from_utf8_lossy(&answer.body);
                let (action, form) = fill_form(&html, login)
                    .ok_or_else(|| format!("sign-in of {login}: a page without a form"))?;
                browser
                    .go(Method::POST, provider.path_of(&action), Some(form))
                    .await?
            }
            status => {
                return Err(format!(
                    "sign-in of {login}: {status} {}",
                    String::from_utf8_lossy(&answer.body)
                ));
            }
        };
    }
    Err(format!("sign-in of {login}: more than 10 steps"))
}

/// One returning user's flow (or, with `exchange` false, its authorize alone). `Ok(false)`: an
/// answer other than the expected one.
async fn flow(
    provider: &Provider,
    browser: &mut Browser,
    scope: &str,
    n: &str,
    exchange: bool,
) -> Result<bool, Failure> {
    let answer = browser
        .go(Method::GET, &provider.authorize_path(scope, n), None)
        .await?;
    let Some(code) = answer
        .header("location")
        .filter(|_| answer.status == StatusCode::SEE_OTHER)
        .and_then(|l| code_of(l, n))
    else {
        return Ok(false);
    };
    if !exchange {
        return Ok(true);
    }
    let form = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", VERIFIER),
        ])
        .finish();
    let headers = [
        ("content-type", "application/x-www-form-urlencoded"),
        ("authorization", provider.basic.as_str()),
    ];
    let request = request(
        provider.port,
        Method::POST,
        &provider.token,
        &headers,
        Bytes::from(form),
    )?;
    let answer = match send(&mut browser.sender, request).await {
        Ok(answer) => answer,
        Err(err) => {
            browser.sender = connect(provider.port).await?;
            return Err(err);
        }
    };
    let tokens = answer.json();
    Ok(answer.status == StatusCode::OK
        && tokens["access_token"].is_string()
        && tokens["id_token"].as_str().and_then(jwt_alg).as_deref() == Some(provider.alg))
}

/// What a provider measured: full flows, authorizes alone, the login page.
struct Run {
    flows: Measured,
    authorizes: Measured,
    page: Page,
}

struct Page {
    p50: Duration,
    p90: Duration,
    cpu_ms: f64,
}

struct Settings {
    workers: u64,
    warmup: Duration,
    measure: Duration,
    split: Duration,
    pages: u64,
    scope: String,
}

/// The login page of a fresh browser's flow, fetched `settings.pages` times.
async fn login_page(
    provider: &Provider,
    server: u32,
    settings: &Settings,
) -> Result<Page, Failure> {
    let mut browser = Browser::open(provider.port).await?;
    let to_login = browser
        .go(
            Method::GET,
            &provider.authorize_path(&settings.scope, "page"),
            None,
        )
        .await?;
    let location = to_login
        .header("location")
        .filter(|l| !l.starts_with(CALLBACK))
        .ok_or_else(|| format!("authorize without a session: {}", to_login.status))?
        .to_owned();
    let path = provider.path_of(&location).to_owned();
    let mut samples = Vec::new();
    let cpu = || process_cpu(server).ok_or_else(|| format!("/proc/{server}/stat unreadable"));
    let before = cpu()?;
    for _ in 0..settings.pages {
        let started = Instant::now();
        let page = browser.go(Method::GET, &path, None).await?;
        samples.push(started.elapsed());
        if page.status != StatusCode::OK
            || fill_form(&String::from_utf8_lossy(&page.body), "x").is_none()
        {
            return Err(format!("login page {path}: {}", page.status));
        }
    }
    let cpu_ms = (cpu()? - before).as_secs_f64() * 1e3 / settings.pages as f64;
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    Ok(Page {
        p50: at(0.5),
        p90: at(0.9),
        cpu_ms,
    })
}

/// The workers' browsers, each signed in as its own user (`login(i)`).
async fn browsers(
    provider: &Provider,
    settings: &Settings,
    login: impl Fn(u64) -> String,
) -> Result<Vec<Browser>, Failure> {
    let mut browsers = Vec::new();
    for i in 0..settings.workers {
        let mut browser = Browser::open(provider.port).await?;
        sign_in(provider, &mut browser, &login(i), &settings.scope).await?;
        browsers.push(browser);
    }
    Ok(browsers)
}

/// The workers make flows (or authorizes alone) back to back over a measured window.
async fn load(
    provider: &Arc<Provider>,
    browsers: Vec<Browser>,
    settings: &Settings,
    exchange: bool,
    server: u32,
    database: Option<u32>,
) -> Result<(Measured, Vec<Browser>), Failure> {
    let tally = Arc::new(Tally::default());
    let mut tasks = Vec::new();
    for (w, mut browser) in browsers.into_iter().enumerate() {
        let (provider, tally, scope) = (provider.clone(), tally.clone(), settings.scope.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !tally.stopped() {
                n += 1;
                let ok = flow(
                    &provider,
                    &mut browser,
                    &scope,
                    &format!("{w}-{n}"),
                    exchange,
                )
                .await;
                // A broken connection is an error too (the browser reconnects).
                tally.count(ok.unwrap_or(false));
            }
            browser
        }));
    }
    let load = Load {
        clients: settings.workers,
        warmup: settings.warmup,
        measure: if exchange {
            settings.measure
        } else {
            settings.split
        },
    };
    let measured = window(&load, &tally, server, database).await;
    tally.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut browsers = Vec::new();
    for task in tasks {
        browsers.push(task.await.map_err(|e| e.to_string())?);
    }
    Ok((measured?, browsers))
}

/// One provider's whole run: its login page, then flows, then authorizes alone.
async fn measure(
    provider: Provider,
    settings: &Settings,
    server: u32,
    database: Option<u32>,
    login: impl Fn(u64) -> String,
) -> Result<Run, Failure> {
    let page = login_page(&provider, server, settings).await?;
    let provider = Arc::new(provider);
    let browsers = browsers(&provider, settings, login).await?;
    let (flows, browsers) = load(&provider, browsers, settings, true, server, database).await?;
    let (authorizes, _) = load(&provider, browsers, settings, false, server, database).await?;
    Ok(Run {
        flows,
        authorizes,
        page,
    })
}

/// Ours with `alg`: a fresh table, bootstrap, `scaikey serve`; a partner, a tenant, a user per
/// worker, a WEB application; then the run.
async fn ours(at: &Context, alg: &'static str, settings: &Settings) -> Result<Run, Failure> {
    let ours = start_ours(at, alg).await?;
    let partner = ours
        .admin(
            "/api/v1/admin/partners",
            json!({"name": "Bench", "slug": "bench", "contact_email": "ops@bench.test"}),
        )
        .await?;
    let tenant = ours
        .admin(
            "/api/v1/admin/tenants",
            json!({"name": "Bench HQ", "slug": TENANT, "partner_id": partner["id"]}),
        )
        .await?;
    // One user per worker: the login's throttle counts attempts per email and address.
    for i in 0..settings.workers {
        ours.admin(
            "/api/v1/admin/users",
            json!({"tenant_id": tenant["id"], "email": format!("user{i}@bench.test"),
                   "password": USER_PASSWORD, "first_name": "Bench", "last_name": format!("User {i}"),
                   "email_verified": true}),
        )
        .await?;
    }
    let app = ours
        .admin(
            "/api/v1/admin/applications",
            json!({"name": "Sign-in bench", "scope": "TENANT", "tenant_id": tenant["id"],
                   "application_type": "WEB", "redirect_uris": [CALLBACK],
                   "allowed_scopes": ["openid", "email", "profile"],
                   "grant_types": ["authorization_code", "refresh_token"]}),
        )
        .await?;
    let (Some(id), Some(secret)) = (app["id"].as_str(), app["client_secret"].as_str()) else {
        return Err(format!("create application: {app}"));
    };
    let issuer = format!("/api/v1/auth/tenants/{TENANT}");
    let provider = Provider {
        port: ours.port,
        authorize: format!("{issuer}/oauth/authorize"),
        token: format!("{issuer}/oauth/token"),
        client_id: id.to_owned(),
        basic: format!("Basic {}", basic(id, secret)),
        alg,
    };
    measure(provider, settings, ours.server.pid(), at.database, |i| {
        format!("user{i}@bench.test")
    })
    .await
}

/// The peer, installed by `scripts/bench` into `.tools/peers/oidc-provider`: `server-code.js`.
async fn peer(settings: &Settings) -> Result<Option<Run>, Failure> {
    let Some((server, port)) = start_peer("server-code.js", &[("REDIRECT_URI", CALLBACK)]).await?
    else {
        return Ok(None);
    };
    let provider = Provider {
        port,
        authorize: "/auth".into(),
        token: "/token".into(),
        client_id: PEER_CLIENT.0.into(),
        basic: format!("Basic {}", basic(PEER_CLIENT.0, PEER_CLIENT.1)),
        alg: "RS256",
    };
    measure(provider, settings, server.pid(), None, |i| {
        format!("user{i}")
    })
    .await
    .map(Some)
}

fn main() {
    let settings = Settings {
        workers: env_number("SIGN_IN_WORKERS", 4),
        warmup: Duration::from_secs(env_number("SIGN_IN_WARMUP_SECONDS", 2)),
        measure: Duration::from_secs(env_number("SIGN_IN_SECONDS", 15)),
        split: Duration::from_secs(env_number("SIGN_IN_SPLIT_SECONDS", 5)),
        pages: env_number("SIGN_IN_PAGES", 300),
        scope: std::env::var("SIGN_IN_SCOPE").unwrap_or_else(|_| "openid".into()),
    };
    let settings = &settings;
    let (rs, es, peer) = run("sign_in_flows", |at| async move {
        println!(
            "returning users' sign-in flows (authorize with the SSO cookie → code → token: \
             access + ID token), scope `{}`, {} workers each with its own session, {} s warm-up, \
             {} s measured; server CPU from /proc/<pid>/stat (DynamoDB Local not counted)",
            settings.scope,
            settings.workers,
            settings.warmup.as_secs(),
            settings.measure.as_secs()
        );
        let rs = ours(&at, "RS256", settings).await?;
        let es = ours(&at, "ES256", settings).await?;
        let peer = peer(settings).await?;
        Ok((rs, es, peer))
    });
    let mut runs = vec![("scaikey", "RS256", &rs), ("scaikey", "ES256", &es)];
    runs.extend(peer.as_ref().map(|p| ("node-oidc-provider", "RS256", p)));
    let flows: Vec<_> = runs.iter().map(|(s, a, r)| (*s, *a, &r.flows)).collect();
    report("flow", &flows, peer.as_ref().map(|p| &p.flows));
    println!(
        "CPU per flow, split: authorize alone measured over {} s (a code each, never exchanged); \
         the token exchange = flow − authorize",
        settings.split.as_secs()
    );
    println!(
        "{:<20} {:<6} {:>12} {:>16} {:>14} {:>9}",
        "server", "alg", "CPU ms/flow", "CPU ms/authorize", "CPU ms/token", "errors"
    );
    for (server, alg, run) in &runs {
        println!(
            "{server:<20} {alg:<6} {:>12.3} {:>16.3} {:>14.3} {:>9}",
            run.flows.cpu_ms(),
            run.authorizes.cpu_ms(),
            run.flows.cpu_ms() - run.authorizes.cpu_ms(),
            run.authorizes.errors
        );
    }
    sign_costs();
    println!(
        "login page (GET of the form, one browser, {} times):",
        settings.pages
    );
    for (server, alg, run) in &runs {
        println!(
            "{server:<20} {alg:<6} p50 {:.3} ms, p90 {:.3} ms, {:.3} ms CPU per page",
            run.page.p50.as_secs_f64() * 1e3,
            run.page.p90.as_secs_f64() * 1e3,
            run.page.cpu_ms
        );
    }
    let missed = check_targets(
        "flow",
        &rs.flows,
        &es.flows,
        peer.as_ref().map(|p| &p.flows),
    );
    let mut measured = vec![
        ("RS256", &rs.flows),
        ("RS256 authorizes", &rs.authorizes),
        ("ES256", &es.flows),
        ("ES256 authorizes", &es.authorizes),
    ];
    if let Some(peer) = &peer {
        measured.extend([("peer", &peer.flows), ("peer authorizes", &peer.authorizes)]);
    }
    finish("sign_in_flows", "flow", &measured, missed);
}
