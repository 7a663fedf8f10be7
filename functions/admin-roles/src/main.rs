//! The admin-roles Lambda: state built once, then the router under `lambda_http`.

// One event at a time: the current-thread runtime, as in every group (see functions/tenants).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let state = shared::AppState::from_env(shared::state::Role::VERIFIER).await?;
    shared::http::run_lambda(admin_roles::router(state)).await
}
