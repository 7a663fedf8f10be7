//! What the benches that run `scaikey serve` and a peer as processes of their own share
//! (`grants.rs`, `sign_in_flows.rs`): child processes, a keep-alive HTTP/1.1 client (hyper),
//! a measured window with the server's CPU read from `/proc/<pid>/stat`, DynamoDB Local, the
//! `scaikey` set-up (table, bootstrap, serve, the admin's token), and the report with its
//! targets against the peer.

// Each bench uses its own part of this module.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use data_encoding::BASE64;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::{HeaderMap, Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

pub const ADMIN_EMAIL: &str = "bench@scaikey.local";
pub const ADMIN_PASSWORD: &str = "bench-password-0123456789";

pub type Failure = String;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// utime + stime of process `pid` so far, from `/proc/<pid>/stat` (every thread counted).
pub fn process_cpu(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; the fields after its closing ')' do not.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux architecture Rust supports.
    Some(Duration::from_millis(ticks * 10))
}

/// A child process stopped (killed) when dropped.
pub struct Process {
    pub name: String,
    child: Child,
}

impl Process {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn spawn(name: &str, command: &mut Command) -> Result<Process, Failure> {
    let child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{name}: could not start: {e}"))?;
    Ok(Process {
        name: name.into(),
        child,
    })
}

pub type Sender = SendRequest<Full<Bytes>>;

/// An HTTP/1.1 keep-alive connection (hyper), its driver on a task of its own.
pub async fn connect(port: u16) -> Result<Sender, Failure> {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| format!("connect to {port}: {e}"))?;
    let _ = stream.set_nodelay(true);
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake with {port}: {e}"))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

/// A response, its body read whole.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A request to `127.0.0.1:port`, with `headers` and `body`.
pub fn request(
    port: u16,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> Result<Request<Full<Bytes>>, Failure> {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header("host", format!("127.0.0.1:{port}"));
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Full::new(body)).map_err(|e| e.to_string())
}

pub async fn send(sender: &mut Sender, request: Request<Full<Bytes>>) -> Result<Answer, Failure> {
    sender
        .ready()
        .await
        .map_err(|e| format!("connection: {e}"))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("request: {e}"))?;
    let (parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|e| format!("body: {e}"))?
        .to_bytes();
    Ok(Answer {
        status: parts.status,
        headers: parts.headers,
        body,
    })
}

/// One request on a connection of its own (set-up calls), its JSON answer.
pub async fn call(
    port: u16,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<(StatusCode, Value), Failure> {
    let mut sender = connect(port).await?;
    let request = request(port, method, path, headers, Bytes::from(body.to_owned()))?;
    let answer = send(&mut sender, request).await?;
    Ok((answer.status, answer.json()))
}

pub async fn wait_until_answering(
    process: &mut Process,
    port: u16,
    path: &str,
) -> Result<(), Failure> {
    let started = Instant::now();
    loop {
        if let Ok((status, _)) = call(port, Method::GET, path, &[], "").await
            && status.is_success()
        {
            return Ok(());
        }
        if process.exited() {
            return Err(format!("{} exited before answering", process.name));
        }
        if started.elapsed() > Duration::from_secs(60) {
            return Err(format!(
                "{} did not answer {path} within 60 s",
                process.name
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The load: how many clients, for how long before and while measuring.
pub struct Load {
    pub clients: u64,
    pub warmup: Duration,
    pub measure: Duration,
}

/// What the clients of a load count, and the flag that stops them.
#[derive(Default)]
pub struct Tally {
    pub ok: AtomicU64,
    pub other: AtomicU64,
    pub stop: AtomicBool,
}

impl Tally {
    pub fn count(&self, ok: bool) {
        let counter = if ok { &self.ok } else { &self.other };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// What one load run measured: `done` units (grants, flows…) over `wall`, `errors` other
/// answers, and the CPU the server (and DynamoDB Local, when this bench started it) spent.
pub struct Measured {
    pub done: u64,
    pub errors: u64,
    pub wall: Duration,
    pub server_cpu: Duration,
    pub database_cpu: Option<Duration>,
}

impl Measured {
    pub fn per_second(&self) -> f64 {
        self.done as f64 / self.wall.as_secs_f64()
    }

    pub fn per_cpu_second(&self) -> f64 {
        self.done as f64 / self.server_cpu.as_secs_f64().max(1e-9)
    }

    /// Server CPU per unit, in ms.
    pub fn cpu_ms(&self) -> f64 {
        self.server_cpu.as_secs_f64() * 1e3 / self.done.max(1) as f64
    }
}

/// The measured window of a load whose clients are already running: after the warm-up, the
/// units `tally` counts over `load.measure`, with the CPU of `server` (and of `database`, if
/// given) read at its edges; the clients are told to stop at its end.
pub async fn window(
    load: &Load,
    tally: &Tally,
    server: u32,
    database: Option<u32>,
) -> Result<Measured, Failure> {
    tokio::time::sleep(load.warmup).await;
    let cpu = |pid: u32| process_cpu(pid).ok_or_else(|| format!("/proc/{pid}/stat unreadable"));
    let counts = || {
        (
            tally.ok.load(Ordering::Relaxed),
            tally.other.load(Ordering::Relaxed),
        )
    };
    let (ok0, other0) = counts();
    let (server0, database0) = (cpu(server)?, database.and_then(process_cpu));
    let started = Instant::now();
    tokio::time::sleep(load.measure).await;
    let (ok1, other1) = counts();
    let server1 = cpu(server)?;
    let database1 = database.and_then(process_cpu);
    let wall = started.elapsed();
    tally.stop.store(true, Ordering::Relaxed);
    Ok(Measured {
        done: ok1 - ok0,
        errors: other1 - other0,
        wall,
        server_cpu: server1.saturating_sub(server0),
        database_cpu: database0.zip(database1).map(|(a, b)| b.saturating_sub(a)),
    })
}

/// DynamoDB Local for the run: the one at `DYNAMODB_ENDPOINT`, or one started here (in memory).
fn database() -> Result<(String, Option<Process>), Failure> {
    if let Ok(endpoint) = std::env::var("DYNAMODB_ENDPOINT")
        && !endpoint.is_empty()
    {
        return Ok((endpoint, None));
    }
    let script = repo_root().join("scripts/dynamodb-local");
    let port = free_port();
    let mut process = spawn(
        "DynamoDB Local",
        Command::new(&script)
            .args(["start", "--port", &port.to_string(), "--in-memory"])
            // Nothing Java writes lands in the checkout.
            .current_dir(std::env::temp_dir()),
    )?;
    let waited = Command::new(&script)
        .args(["wait", "--port", &port.to_string(), "--timeout", "90"])
        .args(["--pid", &process.pid().to_string()])
        .status()
        .map_err(|e| e.to_string())?;
    if !waited.success() || process.exited() {
        return Err("DynamoDB Local did not start (scripts/dynamodb-local install?)".into());
    }
    Ok((format!("http://127.0.0.1:{port}"), Some(process)))
}

/// Where a bench's runs happen: the server binary, DynamoDB Local's endpoint (and its process
/// id, when this bench started it) and a local key-encryption key.
pub struct Context {
    pub binary: PathBuf,
    pub endpoint: String,
    pub database: Option<u32>,
    pub kek: PathBuf,
}

/// Runs `body` on a current-thread runtime (the load generator's, as a Lambda's) with DynamoDB
/// Local (started here unless `DYNAMODB_ENDPOINT` is set; exported for `api_tests` apps) and a
/// local key-encryption key, both gone after; exits 1 with the failure if it fails.
pub fn run<T, F, Fut>(bench: &str, body: F) -> T
where
    F: FnOnce(Context) -> Fut,
    Fut: std::future::Future<Output = Result<T, Failure>>,
{
    let fail = |err: Failure| -> ! {
        eprintln!("{bench}: {err}");
        std::process::exit(1);
    };
    let binary = scaikey_binary(bench);
    let (endpoint, database) = database().unwrap_or_else(|err| fail(err));
    // SAFETY: no other thread runs yet.
    unsafe { std::env::set_var("DYNAMODB_ENDPOINT", &endpoint) };
    let kek = local_kek(bench).unwrap_or_else(|err| fail(err));
    let context = Context {
        binary,
        endpoint,
        database: database.as_ref().map(Process::pid),
        kek: kek.clone(),
    };
    let outcome = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
        .and_then(|runtime| runtime.block_on(body(context)));
    let _ = std::fs::remove_file(&kek);
    drop(database);
    outcome.unwrap_or_else(|err| fail(err))
}

/// The server binary: `SCAIKEY_BIN` (e.g. a build with symbols, to profile it with `perf
/// record -a` during the load), else `target/release/scaikey`; the bench exits if it is missing.
fn scaikey_binary(bench: &str) -> PathBuf {
    let binary = std::env::var("SCAIKEY_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_root().join("target/release/scaikey"));
    if !binary.exists() {
        eprintln!(
            "{bench}: build it first: cargo build --release -p scaikey-cli ({})",
            binary.display()
        );
        std::process::exit(1);
    }
    binary
}

/// The bench's own local key-encryption key (as `scripts/dev` makes one), in a temp file.
fn local_kek(bench: &str) -> Result<PathBuf, Failure> {
    let kek = std::env::temp_dir().join(format!("{bench}-kek-{}", uuid::Uuid::now_v7().simple()));
    let key = shared::secrets::random_bytes::<32>();
    std::fs::write(&kek, BASE64.encode(&key)).map_err(|e| e.to_string())?;
    Ok(kek)
}

/// The environment of every `scaikey` command of one run.
fn scaikey_env(
    endpoint: &str,
    table: &str,
    kek: &Path,
    alg: &str,
    public_url: &str,
) -> HashMap<String, String> {
    [
        ("TABLE_NAME", table),
        ("DYNAMODB_ENDPOINT", endpoint),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "local"),
        ("AWS_SECRET_ACCESS_KEY", "local"),
        ("SCAIKEY_LOCAL_KEK_FILE", &kek.display().to_string()),
        ("SCAIKEY_SIGNING_ALGORITHM", alg),
        // Issuers, cookie paths and redirects are built from it (as `scripts/dev` sets it).
        ("SCAIKEY_PUBLIC_URL", public_url),
        ("RUST_LOG", "warn"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

fn run_scaikey(binary: &Path, env: &HashMap<String, String>, args: &[&str]) -> Result<(), Failure> {
    let out = Command::new(binary)
        .args(args)
        .env_remove("SCAIKEY_KMS_KEY_ID")
        .env_remove("KMS_ENDPOINT")
        .envs(env)
        .output()
        .map_err(|e| format!("scaikey {}: {e}", args.join(" ")))?;
    if !out.status.success() {
        return Err(format!(
            "scaikey {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

/// `scaikey serve` on a fresh table, and the bootstrap admin's bearer token.
pub struct Ours {
    pub server: Process,
    pub port: u16,
    pub bearer: String,
}

impl Ours {
    /// A call of the admin API as the bootstrap admin (JSON in and out).
    pub async fn admin(&self, path: &str, body: Value) -> Result<Value, Failure> {
        let (status, answer) = call(
            self.port,
            Method::POST,
            path,
            &[
                ("content-type", "application/json"),
                ("authorization", &self.bearer),
            ],
            &body.to_string(),
        )
        .await?;
        if !status.is_success() {
            return Err(format!("POST {path}: {status} {answer}"));
        }
        Ok(answer)
    }
}

/// Ours with `alg`, on a fresh table of the context's DynamoDB: `scaikey table create`,
/// `scaikey bootstrap` with `SCAIKEY_SIGNING_ALGORITHM`, then `scaikey serve` as a process of
/// its own (public URL: its own address), and the bootstrap admin logged in.
pub async fn start_ours(at: &Context, alg: &str) -> Result<Ours, Failure> {
    let binary = &at.binary;
    let table = format!("bench{}", uuid::Uuid::now_v7().simple());
    let port = free_port();
    let env = scaikey_env(
        &at.endpoint,
        &table,
        &at.kek,
        alg,
        &format!("http://127.0.0.1:{port}"),
    );
    run_scaikey(binary, &env, &["table", "create"])?;
    run_scaikey(
        binary,
        &env,
        &[
            "bootstrap",
            "--email",
            ADMIN_EMAIL,
            "--password",
            ADMIN_PASSWORD,
        ],
    )?;
    let mut server = spawn(
        &format!("scaikey serve ({alg})"),
        Command::new(binary)
            .args(["serve", "--port", &port.to_string()])
            .env_remove("SCAIKEY_KMS_KEY_ID")
            .env_remove("KMS_ENDPOINT")
            .envs(&env),
    )?;
    wait_until_answering(&mut server, port, "/api/v1/health").await?;
    let (status, login) = call(
        port,
        Method::POST,
        "/api/v1/admin/auth/login",
        &[("content-type", "application/json")],
        &json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).to_string(),
    )
    .await?;
    let token = login["access_token"]
        .as_str()
        .ok_or_else(|| format!("login: {status} {login}"))?;
    Ok(Ours {
        server,
        port,
        bearer: format!("Bearer {token}"),
    })
}

/// The peer, node-oidc-provider's `script` (`server.js`, `server-code.js`) with `env`, from
/// `OIDC_PEER_DIR`, else `.tools/peers/oidc-provider` (`scripts/bench` installs it there), once
/// it answers discovery: the process and its port. `None`, said, when it is not installed.
pub async fn start_peer(
    script: &str,
    env: &[(&str, &str)],
) -> Result<Option<(Process, u16)>, Failure> {
    let dir = std::env::var("OIDC_PEER_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_root().join(".tools/peers/oidc-provider"));
    if !dir.join("node_modules/oidc-provider/package.json").exists() {
        println!(
            "peer: skipped, not installed in {} (scripts/bench installs it)",
            dir.display()
        );
        return Ok(None);
    }
    let port = free_port();
    let mut server = spawn(
        &format!("node-oidc-provider ({script})"),
        Command::new("node")
            .arg(script)
            .current_dir(&dir)
            .env("PORT", port.to_string())
            .envs(env.iter().copied()),
    )?;
    wait_until_answering(&mut server, port, "/.well-known/openid-configuration").await?;
    Ok(Some((server, port)))
}

/// HTTP Basic credentials of a client, without the scheme.
pub fn basic(id: &str, secret: &str) -> String {
    BASE64.encode(format!("{id}:{secret}").as_bytes())
}

/// The `alg` of a JWT's header.
pub fn jwt_alg(token: &str) -> Option<String> {
    let header = token.split('.').next()?;
    let header = data_encoding::BASE64URL_NOPAD
        .decode(header.as_bytes())
        .ok()?;
    let header: Value = serde_json::from_slice(&header).ok()?;
    header["alg"].as_str().map(str::to_owned)
}

/// The table of a run: each server's units, units per second, CPU per unit, units per server
/// CPU-second, that against the peer's, and other answers; then DynamoDB Local's share.
pub fn report(unit: &str, rows: &[(&str, &str, &Measured)], peer: Option<&Measured>) {
    println!(
        "{:<20} {:<6} {:>8} {:>9} {:>13} {:>11} {:>9} {:>7}",
        "server",
        "alg",
        format!("{unit}s"),
        format!("{unit}s/s"),
        format!("CPU ms/{unit}"),
        format!("{unit}s/CPU-s"),
        "vs peer",
        "errors"
    );
    for (server, alg, m) in rows {
        let ratio = peer.map_or("—".to_owned(), |p| {
            format!("{:.2}×", m.per_cpu_second() / p.per_cpu_second().max(1e-9))
        });
        println!(
            "{server:<20} {alg:<6} {:>8} {:>9.0} {:>13.3} {:>11.0} {ratio:>9} {:>7}",
            m.done,
            m.per_second(),
            m.cpu_ms(),
            m.per_cpu_second(),
            m.errors
        );
    }
    for (server, alg, m) in rows {
        if let Some(cpu) = m.database_cpu {
            println!(
                "DynamoDB Local during the {server} {alg} run: {:.3} ms CPU per {unit} (not counted above)",
                cpu.as_secs_f64() * 1e3 / m.done.max(1) as f64
            );
        }
    }
}

/// The targets against the peer, PASS or MISS each: RS256 ≥ 1× and ES256 ≥ 2× its units per
/// server CPU-second. True if one was missed.
pub fn check_targets(unit: &str, rs: &Measured, es: &Measured, peer: Option<&Measured>) -> bool {
    let Some(peer) = peer else {
        println!("targets: not checked (no peer)");
        return false;
    };
    let base = peer.per_cpu_second();
    let mut missed = false;
    for (what, ours, factor) in [("RS256 ≥ peer", rs, 1.0), ("ES256 ≥ 2× peer", es, 2.0)] {
        let met = ours.per_cpu_second() >= factor * base;
        missed |= !met;
        println!(
            "target {what:<16} {} ({:.0} vs {:.0} {unit}s per CPU-second, {:.2}× the peer)",
            if met { "PASS" } else { "MISS" },
            ours.per_cpu_second(),
            factor * base,
            ours.per_cpu_second() / base
        );
    }
    missed
}

/// Exits 1 if a run failed to measure (no unit done, or other answers), or if a target was
/// missed and `BENCH_STRICT=1` (a noisy machine would otherwise break `scripts/bench`).
pub fn finish(bench: &str, unit: &str, runs: &[(&str, &Measured)], missed: bool) {
    let mut failed = false;
    for (name, m) in runs {
        if m.done == 0 || m.errors > 0 {
            eprintln!(
                "{bench}: {name}: {} {unit}s, {} other answers",
                m.done, m.errors
            );
            failed = true;
        }
    }
    let strict = std::env::var("BENCH_STRICT").is_ok_and(|v| v == "1");
    if failed || (missed && strict) {
        std::process::exit(1);
    }
}

/// CPU per signature in this process, with the library and parameters the server signs with
/// (aws-lc-rs; RSA-2048 PKCS#1 v1.5 SHA-256, ECDSA P-256 SHA-256): the share of a unit that is
/// the signatures themselves.
pub fn sign_costs() {
    use aws_lc_rs::rsa::{KeyPair, KeySize};
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, RSA_PKCS1_SHA256};
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let message = [b'x'; 600];
    let me = std::process::id();
    let cpu_of = |count: u32, mut sign: Box<dyn FnMut()>| -> Option<f64> {
        let before = process_cpu(me)?;
        for _ in 0..count {
            sign();
        }
        Some((process_cpu(me)? - before).as_secs_f64() * 1e6 / f64::from(count))
    };
    let Ok(rsa) = KeyPair::generate(KeySize::Rsa2048) else {
        return;
    };
    let Ok(ec) = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING) else {
        return;
    };
    let rsa_rng = rng.clone();
    let rsa_cost = cpu_of(
        1_000,
        Box::new(move || {
            let mut signature = vec![0; rsa.public_modulus_len()];
            let _ = rsa.sign(&RSA_PKCS1_SHA256, &rsa_rng, &message, &mut signature);
        }),
    );
    let ec_cost = cpu_of(
        10_000,
        Box::new(move || {
            let _ = ec.sign(&rng, &message);
        }),
    );
    if let (Some(rsa), Some(ec)) = (rsa_cost, ec_cost) {
        println!(
            "signature alone (aws-lc-rs, this process): RSA-2048 {rsa:.0} µs, ECDSA P-256 {ec:.0} µs CPU"
        );
    }
}
