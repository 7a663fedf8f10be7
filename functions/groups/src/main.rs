//! The groups Lambda: state built once, then the router under `lambda_http`.

// A Lambda serves one event at a time: the current-thread runtime skips the work-stealing
// scheduler and cross-thread wake-ups (GET tenant: 465 vs 490 µs CPU per request, scripts/bench).
// Blocking work (argon2) still gets its own thread through `spawn_blocking`.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let state = shared::AppState::from_env(shared::state::Role::VERIFIER).await?;
    shared::http::run_lambda(groups::router(state)).await
}
