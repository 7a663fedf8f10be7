//! Cold start of the sign-in's Lambda functions (issue 19: process start → first answer ≤ 25
//! ms), and their warm answers.
//!
//! Each function's release binary is started as the Lambda service starts it: under a Runtime
//! API served by this process (`api_tests::lambda::LambdaFunction`, the one the integration tests
//! use), with the SAM template's environment, over a fresh table of DynamoDB Local (and the KMS
//! emulator when `KMS_ENDPOINT` is set, as `scripts/test` runs it). A cold start is timed from
//! the spawn to the first invocation's answer: the process's start, its configuration and SDK
//! clients, the credentials key opened (a KMS Decrypt), the first request's reads, the answer.
//! `COLD_STARTS` (10) starts per function; then `WARM_REQUESTS` (200) invocations of the same
//! request on the last instance (the p50 of an authorize without a session, i.e. the redirect to
//! the login page, and of the login page itself).
//!
//! `scripts/bench` builds the binaries first (`cargo build --release -p sign-in -p oauth`). A
//! missed target prints MISS; it fails the run only with `BENCH_STRICT=1`.

use std::time::{Duration, Instant};

use api_tests::lambda::{HttpApiEvent, LambdaFunction};
use api_tests::{TestApp, spawn_app};
use axum::http::StatusCode;
use serde_json::json;

const CALLBACK: &str = "https://app.example/cb";
const COLD_TARGET: Duration = Duration::from_millis(25);

fn number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort_unstable();
    let index = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[index]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// A request as API Gateway hands it to the function, and the status it must answer.
struct Probe {
    event: HttpApiEvent,
    status: StatusCode,
}

/// `count` cold starts of `function` answering `probe`, then warm answers on the last one.
async fn measure(
    app: &TestApp,
    function: &str,
    probe: &Probe,
    (cold, warm): (usize, usize),
) -> Option<(Vec<Duration>, Vec<Duration>)> {
    let mut starts = Vec::with_capacity(cold);
    let mut answers = Vec::with_capacity(warm);
    for round in 0..cold {
        let started = Instant::now();
        let mut lambda = LambdaFunction::start(app, function).await?;
        let reply = lambda.invoke(&probe.event).await;
        starts.push(started.elapsed());
        assert_eq!(reply.status, probe.status, "{function}: {}", reply.body);
        if round + 1 == cold {
            for _ in 0..warm {
                let started = Instant::now();
                let reply = lambda.invoke(&probe.event).await;
                answers.push(started.elapsed());
                assert_eq!(reply.status, probe.status);
            }
        }
    }
    Some((starts, answers))
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let misses = runtime.block_on(async {
        let Some(app) = spawn_app().await else {
            eprintln!("no DynamoDB: set DYNAMODB_ENDPOINT or install DynamoDB Local (scripts/dynamodb-local install)");
            std::process::exit(1);
        };
        let root = app.root_token().await;
        let partner = app.create_partner(&root, "cold").await;
        let tenant = app.create_tenant(&root, &partner, "cold-hq").await;
        let created = app
            .post(
                "/api/v1/admin/applications",
                &root,
                json!({"name": "Portal", "scope": "TENANT", "tenant_id": tenant,
                       "application_type": "WEB", "redirect_uris": [CALLBACK],
                       "grant_types": ["authorization_code"]}),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let client = created.id();
        let authorize = format!(
            "/api/v1/auth/tenants/cold-hq/oauth/authorize?response_type=code&client_id={client}&redirect_uri={}&scope=openid",
            url::form_urlencoded::byte_serialize(CALLBACK.as_bytes()).collect::<String>()
        );
        let probes = [
            (
                "sign-in",
                "authorize → 303 to the login page",
                Probe {
                    event: HttpApiEvent::new(
                        "GET",
                        "GET /api/v1/auth/tenants/{tenant_slug}/oauth/authorize",
                        &authorize,
                    )
                    .path_parameter("tenant_slug", "cold-hq"),
                    status: StatusCode::SEE_OTHER,
                },
            ),
            (
                "oauth",
                "tenant discovery → 200",
                Probe {
                    event: HttpApiEvent::new(
                        "GET",
                        "GET /api/v1/auth/tenants/{tenant_slug}/.well-known/openid-configuration",
                        "/api/v1/auth/tenants/cold-hq/.well-known/openid-configuration",
                    )
                    .path_parameter("tenant_slug", "cold-hq"),
                    status: StatusCode::OK,
                },
            ),
        ];
        let rounds = (number("COLD_STARTS", 10), number("WARM_REQUESTS", 200));
        println!(
            "Lambda binaries (target/release) under a local Runtime API, DynamoDB Local; {} cold starts, {} warm answers each",
            rounds.0, rounds.1
        );
        println!(
            "{:<10} {:<38} {:>11} {:>11} {:>11} {:>11}",
            "function", "first request", "cold p50", "cold max", "warm p50", "warm p90"
        );
        let mut misses = Vec::new();
        for (function, what, probe) in &probes {
            let Some((mut cold, mut warm)) = measure(&app, function, probe, rounds).await else {
                eprintln!(
                    "{function}: no release binary: cargo build --release -p {function} first"
                );
                std::process::exit(1);
            };
            let (cold_p50, cold_max) = (percentile(&mut cold, 0.5), percentile(&mut cold, 1.0));
            println!(
                "{function:<10} {what:<38} {:>11} {:>11} {:>11} {:>11}",
                ms(cold_p50),
                ms(cold_max),
                ms(percentile(&mut warm, 0.5)),
                ms(percentile(&mut warm, 0.9)),
            );
            if cold_p50 > COLD_TARGET {
                misses.push(format!(
                    "{function}: cold start p50 {} over {}",
                    ms(cold_p50),
                    ms(COLD_TARGET)
                ));
            }
        }
        misses
    });
    for miss in &misses {
        println!("MISS {miss}");
    }
    if !misses.is_empty() && std::env::var("BENCH_STRICT").is_ok_and(|v| v == "1") {
        std::process::exit(1);
    }
}
