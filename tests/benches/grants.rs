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

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use hyper::body::Bytes;
use hyper::{Method, StatusCode};
use serde_json::json;

const PEER_CLIENT: (&str, &str) = ("svc", "a-long-random-client-secret-0123456789abcdef");
const GRANT_BODY: &str = "grant_type=client_credentials&scope=admin%3Aread";

/// `load.clients` keep-alive connections posting the grant back to back; after the warm-up,
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
    let tally = Arc::new(Tally::default());
    let authorization = format!("Basic {basic}");
    let mut tasks = Vec::new();
    for _ in 0..load.clients {
        let mut sender = connect(port).await?;
        let tally = tally.clone();
        let (path, authorization) = (path.to_owned(), authorization.clone());
        tasks.push(tokio::spawn(async move {
            while !tally.stopped() {
                let headers = [
                    ("content-type", "application/x-www-form-urlencoded"),
                    ("authorization", authorization.as_str()),
                ];
                let body = Bytes::from_static(GRANT_BODY.as_bytes());
                let request = request(port, Method::POST, &path, &headers, body)?;
                tally.count(send(&mut sender, request).await?.status == StatusCode::OK);
            }
            Ok::<(), Failure>(())
        }));
    }
    let measured = window(load, &tally, server, database).await;
    tally.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for task in tasks {
        task.await.map_err(|e| e.to_string())??;
    }
    measured
}

/// Ours with `alg`: a fresh table, bootstrap, `scaikey serve`, a GLOBAL SERVICE client, load.
async fn ours(at: &Context, alg: &str, load: &Load) -> Result<Measured, Failure> {
    let ours = start_ours(at, alg).await?;
    let app = ours
        .admin(
            "/api/v1/admin/applications",
            json!({"name": "Grants bench", "scope": "GLOBAL", "application_type": "SERVICE",
                   "grant_types": ["client_credentials"], "allowed_scopes": ["admin:read"]}),
        )
        .await?;
    let (Some(id), Some(secret)) = (app["id"].as_str(), app["client_secret"].as_str()) else {
        return Err(format!("create application: {app}"));
    };
    let basic = basic(id, secret);
    check_one_grant(ours.port, "/api/v1/platform/oauth/token", &basic, alg).await?;
    hammer(
        load,
        ours.port,
        "/api/v1/platform/oauth/token",
        &basic,
        ours.server.pid(),
        at.database,
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
    let signed = body["access_token"]
        .as_str()
        .and_then(jwt_alg)
        .ok_or_else(|| format!("{path}: {status} {body}"))?;
    if signed != alg {
        return Err(format!("{path}: a token signed {signed} instead of {alg}"));
    }
    Ok(())
}

/// The peer, installed by `scripts/bench` into `.tools/peers/oidc-provider`.
async fn peer(load: &Load) -> Result<Option<Measured>, Failure> {
    let Some((server, port)) = start_peer("server.js", &[]).await? else {
        return Ok(None);
    };
    let basic = basic(PEER_CLIENT.0, PEER_CLIENT.1);
    check_one_grant(port, "/token", &basic, "RS256").await?;
    hammer(load, port, "/token", &basic, server.pid(), None)
        .await
        .map(Some)
}

fn main() {
    let load = Load {
        clients: env_number("GRANTS_CONNECTIONS", 16),
        warmup: Duration::from_secs(env_number("GRANTS_WARMUP_SECONDS", 2)),
        measure: Duration::from_secs(env_number("GRANTS_SECONDS", 15)),
    };
    let load = &load;
    let (rs, es, peer) = run("grants", |at| async move {
        println!(
            "client_credentials grants, {} keep-alive connections, {} s warm-up, {} s measured; \
             server CPU from /proc/<pid>/stat (DynamoDB Local not counted)",
            load.clients,
            load.warmup.as_secs(),
            load.measure.as_secs()
        );
        let rs = ours(&at, "RS256", load).await?;
        let es = ours(&at, "ES256", load).await?;
        Ok((rs, es, peer(load).await?))
    });
    let mut rows = vec![("scaikey", "RS256", &rs), ("scaikey", "ES256", &es)];
    rows.extend(peer.as_ref().map(|p| ("node-oidc-provider", "RS256", p)));
    report("grant", &rows, peer.as_ref());
    sign_costs();
    let missed = check_targets("grant", &rs, &es, peer.as_ref());
    let mut runs = vec![("RS256", &rs), ("ES256", &es)];
    runs.extend(peer.as_ref().map(|p| ("peer", p)));
    finish("grants", "grant", &runs, missed);
}
