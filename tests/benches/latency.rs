//! Speed and memory against DynamoDB Local (issue 3, section 7), with targets.
//!
//! `scripts/bench` runs it: `cargo build --release -p scaikey-cli` first (for the start-up
//! measurement), then `cargo bench -p api-tests --bench latency`. It prints, side by side:
//! - p50/p90 of a raw GetItem with the same SDK client (the floor),
//! - p50/p90 of `GET /api/v1/admin/tenants/{id}` through the router (token check, session
//!   check and read in one BatchGetItem, JSON out),
//! - p50/p90 of a login (argon2id m=19456 t=2 p=1, two batches, one transaction, RS256 sign),
//! - CPU per request (the process's utime + stime from `/proc/self/stat` ÷ requests served) of
//!   the GET tenant read and of the login, next to their latency,
//! - process start → first 200 from `/api/v1/health` of `scaikey serve`, and its RSS then.
//!
//! The router runs in this process on tokio's current-thread runtime, as each Lambda's `main`
//! does, so CPU per request covers what a Lambda spends on a request (router, token and session
//! checks, SDK call, JSON) plus the test client's small share (building the request, parsing
//! the JSON reply), which is the same in every configuration. `BENCH_RUNTIME=multi_thread`
//! compares with tokio's multi-thread runtime. DynamoDB Local is another process: not counted.
//!
//! A missed target fails the run (exit 1); the numbers are what the closing notes report.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use api_tests::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, spawn_app};
use axum::http::{Method, StatusCode};
use serde_json::json;
use shared::ids::TenantId;
use shared::store::keys;

const READS: usize = 400;
const LOGINS: usize = 20;
const STARTS: usize = 5;
/// Enough reads that the 10 ms tick of `/proc/self/stat` is under 1 % of the CPU measured.
const CPU_READS: usize = 4000;

/// Targets: the admin read may add at most this over the raw GetItem p50.
const READ_OVERHEAD_TARGET: Duration = Duration::from_millis(2);
const STARTUP_TARGET: Duration = Duration::from_millis(500);
const RSS_TARGET_KIB: u64 = 64 * 1024;

struct Summary {
    p50: Duration,
    p90: Duration,
}

fn summary(mut samples: Vec<Duration>) -> Summary {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    Summary {
        p50: at(0.5),
        p90: at(0.9),
    }
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn report(name: &str, s: &Summary) {
    println!("{name:<44} p50 {:>11}   p90 {:>11}", ms(s.p50), ms(s.p90));
}

/// This process's user + system CPU time so far, from `/proc/self/stat` (Linux).
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold spaces; the fields after its closing ')' do not.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux architecture Rust supports.
    Some(Duration::from_millis(ticks * 10))
}

fn report_cpu(name: &str, cpu: Option<Duration>, requests: usize) {
    match cpu {
        Some(cpu) => println!(
            "{name:<44} {:>8.0} µs CPU per request ({requests} requests)",
            cpu.as_secs_f64() * 1e6 / requests as f64
        ),
        None => println!("{name:<44} CPU per request: /proc/self/stat unreadable"),
    }
}

/// Runs `requests` sequential calls of `call` and returns the CPU the process spent on them.
async fn cpu_of<F, Fut>(requests: usize, mut call: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let before = process_cpu()?;
    for _ in 0..requests {
        call().await;
    }
    Some(process_cpu()?.saturating_sub(before))
}

async fn raw_get_item(app: &TestApp, tenant: &str) -> Summary {
    let store = app.state.store();
    let key = keys::tenant(&TenantId::parse(tenant).expect("tenant id")).to_item();
    let mut samples = Vec::with_capacity(READS);
    for _ in 0..READS + 20 {
        let started = Instant::now();
        let out = store
            .client()
            .get_item()
            .table_name(store.table())
            .set_key(Some(key.clone()))
            .send()
            .await
            .expect("get item");
        samples.push(started.elapsed());
        assert!(
            out.item().is_some(),
            "the tenant item is where the data model says"
        );
    }
    summary(samples.split_off(20))
}

async fn get_tenant(app: &TestApp, token: &str, tenant: &str) -> Summary {
    let path = format!("/api/v1/admin/tenants/{tenant}");
    let mut samples = Vec::with_capacity(READS);
    for _ in 0..READS + 20 {
        let started = Instant::now();
        let reply = app.get(&path, token).await;
        samples.push(started.elapsed());
        assert_eq!(reply.status, StatusCode::OK);
    }
    summary(samples.split_off(20))
}

async fn login(app: &TestApp) -> Summary {
    let mut samples = Vec::with_capacity(LOGINS);
    for _ in 0..LOGINS + 2 {
        let started = Instant::now();
        let reply = app
            .call(
                Method::POST,
                "/api/v1/admin/auth/login",
                None,
                Some(json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})),
            )
            .await;
        samples.push(started.elapsed());
        assert_eq!(reply.status, StatusCode::OK);
    }
    summary(samples.split_off(2))
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn health_answers(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let request = "GET /api/v1/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut response = String::new();
    stream.read_to_string(&mut response).is_ok() && response.starts_with("HTTP/1.1 200")
}

/// Process start → first 200 from `/api/v1/health`, and the RSS at that moment.
fn startup(app: &TestApp, binary: &PathBuf) -> Option<(Summary, u64)> {
    let config = app.state.config();
    let mut samples = Vec::new();
    let mut rss = 0;
    for _ in 0..STARTS {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let started = Instant::now();
        let mut child = Command::new(binary)
            .args(["serve", "--port", &port.to_string()])
            .env("TABLE_NAME", &config.table_name)
            .env("DYNAMODB_ENDPOINT", config.dynamodb_endpoint.as_deref()?)
            .env("AWS_REGION", &config.region)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        while !health_answers(port) {
            if started.elapsed() > Duration::from_secs(10) {
                let _ = child.kill();
                return None;
            }
            std::thread::sleep(Duration::from_micros(500));
        }
        samples.push(started.elapsed());
        rss = rss.max(rss_kib(child.id()).unwrap_or(0));
        let _ = child.kill();
        let _ = child.wait();
    }
    Some((summary(samples), rss))
}

fn main() {
    let flavor = std::env::var("BENCH_RUNTIME").unwrap_or_else(|_| "current_thread".into());
    let runtime = match flavor.as_str() {
        "multi_thread" => tokio::runtime::Builder::new_multi_thread(),
        "current_thread" => tokio::runtime::Builder::new_current_thread(),
        other => {
            eprintln!("BENCH_RUNTIME={other}: use current_thread (default) or multi_thread");
            std::process::exit(2);
        }
    }
    .enable_all()
    .build()
    .expect("runtime");
    let failures = runtime.block_on(async {
        let Some(app) = spawn_app().await else {
            eprintln!("no DynamoDB: set DYNAMODB_ENDPOINT or install DynamoDB Local (scripts/dynamodb-local install)");
            std::process::exit(1);
        };
        let root = app.root_token().await;
        let partner = app.create_partner(&root, "bench").await;
        let tenant = app.create_tenant(&root, &partner, "bench-hq").await;
        let mut failures = Vec::new();

        println!(
            "against DynamoDB Local on tokio's {flavor} runtime; {READS} reads, {LOGINS} logins, {STARTS} starts"
        );
        let raw = raw_get_item(&app, &tenant).await;
        report("raw GetItem (same SDK client)", &raw);
        let read = get_tenant(&app, &root, &tenant).await;
        report("GET /api/v1/admin/tenants/{id} (1 batch)", &read);
        if read.p50 > raw.p50 + READ_OVERHEAD_TARGET {
            failures.push(format!(
                "GET tenant p50 {} exceeds raw GetItem p50 + {}",
                ms(read.p50),
                ms(READ_OVERHEAD_TARGET)
            ));
        }
        let path = format!("/api/v1/admin/tenants/{tenant}");
        let read_cpu = cpu_of(CPU_READS, || async {
            assert_eq!(app.get(&path, &root).await.status, StatusCode::OK);
        })
        .await;
        report_cpu("GET /api/v1/admin/tenants/{id} CPU", read_cpu, CPU_READS);
        let login_cpu = process_cpu();
        let logins = login(&app).await;
        report("POST /api/v1/admin/auth/login", &logins);
        let login_cpu = login_cpu.and_then(|before| Some(process_cpu()?.saturating_sub(before)));
        report_cpu("POST /api/v1/admin/auth/login CPU", login_cpu, LOGINS + 2);

        let binary = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/scaikey");
        if binary.exists() {
            match startup(&app, &binary) {
                Some((start, rss)) => {
                    report("scaikey serve: start → /api/v1/health 200", &start);
                    println!("{:<44} {rss} KiB", "scaikey serve: RSS when first healthy");
                    if start.p50 > STARTUP_TARGET {
                        failures.push(format!("start-up p50 {} over target", ms(start.p50)));
                    }
                    if rss > RSS_TARGET_KIB {
                        failures.push(format!("RSS {rss} KiB over {RSS_TARGET_KIB} KiB"));
                    }
                }
                None => failures.push("scaikey serve never answered /api/v1/health".into()),
            }
        } else {
            println!(
                "start-up: skipped, build it first: cargo build --release -p scaikey-cli ({})",
                binary.display()
            );
        }
        failures
    });
    if !failures.is_empty() {
        for failure in &failures {
            eprintln!("target missed: {failure}");
        }
        std::process::exit(1);
    }
}
