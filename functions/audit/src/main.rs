//! The audit Lambda: state built once, then the router under `lambda_http`.

// A Lambda serves one event at a time: the current-thread runtime skips the work-stealing
// scheduler and cross-thread wake-ups (see docs/performance.md).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let state = shared::AppState::from_env(shared::state::Role::VERIFIER).await?;
    shared::http::run_lambda(audit::router(state)).await
}
