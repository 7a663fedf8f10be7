//! Speed and memory against DynamoDB Local (issue 3, section 7), with targets.
//!
//! `scripts/bench` runs it: `cargo build --release -p scaikey-cli` first (for the start-up
//! measurement), then `cargo bench -p api-tests --bench latency`. It prints, side by side:
//! - p50/p90 of a raw GetItem with the same SDK client (the floor),
//! - p50/p90 of `GET /api/v1/admin/tenants/{id}` through the router (token check, session
//!   check and read in one BatchGetItem, JSON out),
//! - p50/p90 of a login (argon2id m=19456 t=2 p=1, two batches, one transaction, RS256 sign),
//! - process start → first 200 from `/api/v1/health` of `scaikey serve`, and its RSS then.
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
    let runtime = tokio::runtime::Builder::new_multi_thread()
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

        println!("against DynamoDB Local; {READS} reads, {LOGINS} logins, {STARTS} starts");
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
        let logins = login(&app).await;
        report("POST /api/v1/admin/auth/login", &logins);

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
