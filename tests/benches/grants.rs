//! `client_credentials` grants per server CPU-second: ours (RS256 and ES256) against
//! node-oidc-provider, the same load, the same machine, one run (the targets: RS256 ≥
//! the peer's figure although every grant of ours reads its client from DynamoDB; ES256 ≥ 2×).
//!
//! `scripts/bench` runs it after the latency bench (`cargo bench -p api-tests --bench grants`),
//! once `target/release/scaikey` is built and the peer is installed into
//! `.tools/peers/oidc-provider` (copied from `../shared/peers/oidc-provider`, `npm ci`).
//!
//! For each of RS256 and ES256, on a fresh table of a DynamoDB Local it starts
//! (`scripts/dynamodb-local start --in-memory`, or `DYNAMODB_ENDPOINT` if set), with a local
//! key-encryption key in a temp file (as `scripts/dev`): `scaikey table create`,
//! `scaikey bootstrap` with `SCAIKEY_SIGNING_ALGORITHM`, then `scaikey serve` as a process of
//! its own; it logs in as the bootstrap admin and creates a GLOBAL SERVICE application allowed
//! `client_credentials` and `admin:read` (`POST /api/v1/admin/applications`). Then the load:
//! `GRANTS_CONNECTIONS` (16) keep-alive HTTP/1.1 connections (hyper, one tokio task each, on
//! this process's current-thread runtime) post `grant_type=client_credentials&scope=admin:read`
//! with HTTP Basic to `POST /api/v1/platform/oauth/token` back to back; after
//! `GRANTS_WARMUP_SECONDS` (2) of warm-up it counts the 200s over `GRANTS_SECONDS` (15) and reads
//! the server process's utime + stime from `/proc/<pid>/stat` before and after: grants per
//! CPU-second = grants ÷ CPU seconds. The peer (`node server.js`, its one client in memory, no
//! database) gets the same load at `/token` with Basic `svc:…`.
//!
//! DynamoDB Local is another process: its CPU is not counted in ours (as in `latency.rs`; in
//! AWS that work is DynamoDB's). It is reported on its own, per grant, when this bench started
//! it. The load generator's CPU (this process) is not counted for anyone.
//!
//! `SCAIKEY_BIN` names another server binary (e.g. a build with symbols, to profile it with
//! `perf record -a` during the load).
//!
//! A missed target prints `MISS`; the run fails (exit 1) on a miss only with `BENCH_STRICT=1`,
//! so a noisy machine does not break `scripts/bench`. A failure to measure at all (a server
//! that does not start, errors instead of 200s) always fails.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use data_encoding::BASE64;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

const ADMIN_EMAIL: &str = "bench@scaikey.local";
const ADMIN_PASSWORD: &str = "bench-password-0123456789";
const PEER_CLIENT: (&str, &str) = ("svc", "a-long-random-client-secret-0123456789abcdef");
const GRANT_BODY: &str = "grant_type=client_credentials&scope=admin%3Aread";

type Failure = String;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// utime + stime of process `pid` so far, from `/proc/<pid>/stat` (every thread counted).
fn process_cpu(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; the fields after its closing ')' do not.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux architecture Rust supports.
    Some(Duration::from_millis(ticks * 10))
}

/// A child process stopped (killed) when dropped.
struct Process {
    name: String,
    child: Child,
}

impl Process {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(name: &str, command: &mut Command) -> Result<Process, Failure> {
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

/// An HTTP/1.1 keep-alive connection (hyper), its driver on a task of its own.
async fn connect(port: u16) -> Result<SendRequest<Full<Bytes>>, Failure> {
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

async fn send(
    sender: &mut SendRequest<Full<Bytes>>,
    request: Request<Full<Bytes>>,
) -> Result<(StatusCode, Bytes), Failure> {
    sender
        .ready()
        .await
        .map_err(|e| format!("connection: {e}"))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("request: {e}"))?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("body: {e}"))?
        .to_bytes();
    Ok((status, body))
}

/// One request on a connection of its own (set-up calls).
async fn call(
    port: u16,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<(StatusCode, Value), Failure> {
    let mut sender = connect(port).await?;
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header("host", format!("127.0.0.1:{port}"));
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let request = builder
        .body(Full::new(Bytes::from(body.to_owned())))
        .map_err(|e| e.to_string())?;
    let (status, bytes) = send(&mut sender, request).await?;
    Ok((
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    ))
}

async fn wait_until_answering(process: &mut Process, port: u16, path: &str) -> Result<(), Failure> {
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

/// What one load run measured.
struct Measured {
    grants: u64,
    refused: u64,
    wall: Duration,
    server_cpu: Duration,
    database_cpu: Option<Duration>,
}

impl Measured {
    fn per_second(&self) -> f64 {
        self.grants as f64 / self.wall.as_secs_f64()
    }

    fn per_cpu_second(&self) -> f64 {
        self.grants as f64 / self.server_cpu.as_secs_f64().max(1e-9)
    }
}

struct Load {
    connections: u64,
    warmup: Duration,
    measure: Duration,
}

/// `connections` keep-alive connections posting the grant back to back; after the warm-up,
/// 200s (and anything else) are counted over the measured window, with the CPU of `server`
/// (and of `database`, if given) read at its edges.
async fn hammer(
    load: &Load,
    port: u16,
    path: &str,
    basic: &str,
    server: u32,
    database: Option<u32>,
) -> Result<Measured, Failure> {
    let ok = Arc::new(AtomicU64::new(0));
    let other = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let authorization = format!("Basic {basic}");
    let mut tasks = Vec::new();
    for _ in 0..load.connections {
        let mut sender = connect(port).await?;
        let (ok, other, stop) = (ok.clone(), other.clone(), stop.clone());
        let (path, authorization) = (path.to_owned(), authorization.clone());
        let host = format!("127.0.0.1:{port}");
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let request = Request::builder()
                    .method(Method::POST)
                    .uri(path.as_str())
                    .header("host", host.as_str())
                    .header("content-type", "application/x-www-form-urlencoded")
                    .header("authorization", authorization.as_str())
                    .body(Full::new(Bytes::from_static(GRANT_BODY.as_bytes())))
                    .map_err(|e| e.to_string())?;
                match send(&mut sender, request).await {
                    Ok((StatusCode::OK, _)) => ok.fetch_add(1, Ordering::Relaxed),
                    Ok(_) => other.fetch_add(1, Ordering::Relaxed),
                    Err(err) => return Err(err),
                };
            }
            Ok::<(), Failure>(())
        }));
    }
    tokio::time::sleep(load.warmup).await;
    let cpu = |pid: u32| process_cpu(pid).ok_or_else(|| format!("/proc/{pid}/stat unreadable"));
    let (ok0, other0) = (ok.load(Ordering::Relaxed), other.load(Ordering::Relaxed));
    let (server0, database0) = (cpu(server)?, database.and_then(process_cpu));
    let started = Instant::now();
    tokio::time::sleep(load.measure).await;
    let (ok1, other1) = (ok.load(Ordering::Relaxed), other.load(Ordering::Relaxed));
    let server1 = cpu(server)?;
    let database1 = database.and_then(process_cpu);
    let wall = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.map_err(|e| e.to_string())??;
    }
    Ok(Measured {
        grants: ok1 - ok0,
        refused: other1 - other0,
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

/// The environment of every `scaikey` command of one run.
fn scaikey_env(endpoint: &str, table: &str, kek: &Path, alg: &str) -> HashMap<String, String> {
    [
        ("TABLE_NAME", table),
        ("DYNAMODB_ENDPOINT", endpoint),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "local"),
        ("AWS_SECRET_ACCESS_KEY", "local"),
        ("SCAIKEY_LOCAL_KEK_FILE", &kek.display().to_string()),
        ("SCAIKEY_SIGNING_ALGORITHM", alg),
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

/// Ours with `alg`: a fresh table, bootstrap, `scaikey serve`, a GLOBAL SERVICE client, load.
async fn ours(
    binary: &Path,
    endpoint: &str,
    database_pid: Option<u32>,
    kek: &Path,
    alg: &str,
    load: &Load,
) -> Result<Measured, Failure> {
    let table = format!("grants{}", uuid::Uuid::now_v7().simple());
    let env = scaikey_env(endpoint, &table, kek, alg);
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
    let port = free_port();
    let mut server = spawn(
        &format!("scaikey serve ({alg})"),
        Command::new(binary)
            .args(["serve", "--port", &port.to_string()])
            .env_remove("SCAIKEY_KMS_KEY_ID")
            .env_remove("KMS_ENDPOINT")
            .envs(&env),
    )?;
    wait_until_answering(&mut server, port, "/api/v1/health").await?;

    let json = [("content-type", "application/json")];
    let (status, login) = call(
        port,
        Method::POST,
        "/api/v1/admin/auth/login",
        &json,
        &json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).to_string(),
    )
    .await?;
    let token = login["access_token"]
        .as_str()
        .ok_or_else(|| format!("login: {status} {login}"))?;
    let bearer = format!("Bearer {token}");
    let (status, app) = call(
        port,
        Method::POST,
        "/api/v1/admin/applications",
        &[json[0], ("authorization", &bearer)],
        &json!({"name": "Grants bench", "scope": "GLOBAL", "application_type": "SERVICE",
                "grant_types": ["client_credentials"], "allowed_scopes": ["admin:read"]})
        .to_string(),
    )
    .await?;
    let (Some(id), Some(secret)) = (app["id"].as_str(), app["client_secret"].as_str()) else {
        return Err(format!("create application: {status} {app}"));
    };
    let basic = BASE64.encode(format!("{id}:{secret}").as_bytes());
    check_one_grant(port, "/api/v1/platform/oauth/token", &basic, alg).await?;
    hammer(
        load,
        port,
        "/api/v1/platform/oauth/token",
        &basic,
        server.pid(),
        database_pid,
    )
    .await
}

/// One grant before the load: a 200 whose token has the expected `alg`.
async fn check_one_grant(port: u16, path: &str, basic: &str, alg: &str) -> Result<(), Failure> {
    let authorization = format!("Basic {basic}");
    let (status, body) = call(
        port,
        Method::POST,
        path,
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("authorization", &authorization),
        ],
        GRANT_BODY,
    )
    .await?;
    let header = body["access_token"]
        .as_str()
        .and_then(|t| t.split('.').next())
        .and_then(|h| data_encoding::BASE64URL_NOPAD.decode(h.as_bytes()).ok())
        .and_then(|h| serde_json::from_slice::<Value>(&h).ok())
        .ok_or_else(|| format!("{path}: {status} {body}"))?;
    if header["alg"] != alg {
        return Err(format!(
            "{path}: a token signed {} instead of {alg}",
            header["alg"]
        ));
    }
    Ok(())
}

/// The peer, installed by `scripts/bench` into `.tools/peers/oidc-provider`.
async fn peer(load: &Load) -> Result<Option<Measured>, Failure> {
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
        "node-oidc-provider",
        Command::new("node")
            .arg("server.js")
            .current_dir(&dir)
            .env("PORT", port.to_string()),
    )?;
    wait_until_answering(&mut server, port, "/.well-known/openid-configuration").await?;
    let basic = BASE64.encode(format!("{}:{}", PEER_CLIENT.0, PEER_CLIENT.1).as_bytes());
    check_one_grant(port, "/token", &basic, "RS256").await?;
    hammer(load, port, "/token", &basic, server.pid(), None)
        .await
        .map(Some)
}

fn row(name: &str, m: &Measured) {
    println!(
        "{name:<30} {:>10.0} {:>14.0} {:>12.0} µs {:>9}",
        m.per_second(),
        m.per_cpu_second(),
        m.server_cpu.as_secs_f64() * 1e6 / m.grants.max(1) as f64,
        m.grants
    );
}

fn main() {
    let load = Load {
        connections: env_number("GRANTS_CONNECTIONS", 16),
        warmup: Duration::from_secs(env_number("GRANTS_WARMUP_SECONDS", 2)),
        measure: Duration::from_secs(env_number("GRANTS_SECONDS", 15)),
    };
    // Another build of the server (one with symbols, to profile it) with SCAIKEY_BIN.
    let binary = std::env::var("SCAIKEY_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_root().join("target/release/scaikey"));
    if !binary.exists() {
        eprintln!(
            "grants: build it first: cargo build --release -p scaikey-cli ({})",
            binary.display()
        );
        std::process::exit(1);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let outcome = runtime.block_on(async {
        let (endpoint, database) = database()?;
        let database_pid = database.as_ref().map(Process::pid);
        let kek =
            std::env::temp_dir().join(format!("grants-kek-{}", uuid::Uuid::now_v7().simple()));
        // The bench's own local key-encryption key, thrown away after.
        let key = shared::secrets::random_bytes::<32>();
        std::fs::write(&kek, BASE64.encode(&key)).map_err(|e| e.to_string())?;
        println!(
            "client_credentials grants, {} keep-alive connections, {} s warm-up, {} s measured; \
             server CPU from /proc/<pid>/stat (DynamoDB Local not counted)",
            load.connections,
            load.warmup.as_secs(),
            load.measure.as_secs()
        );
        let rs = ours(&binary, &endpoint, database_pid, &kek, "RS256", &load).await;
        let es = ours(&binary, &endpoint, database_pid, &kek, "ES256", &load).await;
        let peer = peer(&load).await;
        let _ = std::fs::remove_file(&kek);
        drop(database);
        Ok::<_, Failure>((rs?, es?, peer?))
    });
    let (rs, es, peer) = match outcome {
        Ok(measured) => measured,
        Err(err) => {
            eprintln!("grants: {err}");
            std::process::exit(1);
        }
    };
    println!(
        "{:<30} {:>10} {:>14} {:>15} {:>9}",
        "", "grants/s", "grants/CPU-s", "CPU per grant", "grants"
    );
    row("scaikey RS256", &rs);
    row("scaikey ES256", &es);
    if let Some(peer) = &peer {
        row("node-oidc-provider (RS256)", peer);
    }
    for (name, m) in [("RS256", &rs), ("ES256", &es)] {
        if let Some(cpu) = m.database_cpu {
            println!(
                "DynamoDB Local during the {name} run: {:.0} µs CPU per grant (not counted above)",
                cpu.as_secs_f64() * 1e6 / m.grants.max(1) as f64
            );
        }
    }
    sign_costs();
    let mut failed = false;
    for (name, m) in [("RS256", &rs), ("ES256", &es)]
        .into_iter()
        .chain(peer.as_ref().map(|p| ("peer", p)))
    {
        if m.grants == 0 || m.refused > 0 {
            eprintln!(
                "grants: {name}: {} grants, {} other answers",
                m.grants, m.refused
            );
            failed = true;
        }
    }
    let mut missed = false;
    if let Some(peer) = &peer {
        let base = peer.per_cpu_second();
        for (what, ours, factor) in [("RS256 ≥ peer", &rs, 1.0), ("ES256 ≥ 2× peer", &es, 2.0)]
        {
            let met = ours.per_cpu_second() >= factor * base;
            missed |= !met;
            println!(
                "target {what:<16} {} ({:.0} vs {:.0} grants per CPU-second, {:.2}× the peer)",
                if met { "PASS" } else { "MISS" },
                ours.per_cpu_second(),
                factor * base,
                ours.per_cpu_second() / base
            );
        }
    } else {
        println!("targets: not checked (no peer)");
    }
    let strict = std::env::var("BENCH_STRICT").is_ok_and(|v| v == "1");
    if failed || (missed && strict) {
        std::process::exit(1);
    }
}

/// CPU per signature in this process, with the library and parameters the server signs with
/// (aws-lc-rs; RSA-2048 PKCS#1 v1.5 SHA-256, ECDSA P-256 SHA-256): the share of a grant that is
/// the signature itself.
fn sign_costs() {
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
