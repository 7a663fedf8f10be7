//! The tenants Lambda: state built once, then the router under `lambda_http`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let state = shared::AppState::from_env().await?;
    shared::http::run_lambda(tenants::router(state)).await
}
