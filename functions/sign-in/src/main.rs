//! The sign-in Lambda (the hosted login): state built once, then the router under `lambda_http`.
//! It opens the credentials key (cookies, flows, codes) and signs nothing.

// A Lambda serves one event at a time: the current-thread runtime skips the work-stealing
// scheduler and cross-thread wake-ups (see docs/performance.md). Blocking work (argon2) still
// gets its own thread through `spawn_blocking`.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let state = shared::AppState::from_env(shared::state::Role::SIGN_IN).await?;
    shared::http::run_lambda(sign_in::router(state)).await
}
