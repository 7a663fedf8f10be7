//! The api-docs Lambda: the committed API description and, when `SCAIKEY_DOCS=on`, `/docs`.
//! It reads no table, so it builds no DynamoDB client.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let docs_enabled = shared::config::docs_enabled_from_env()?;
    shared::http::run_lambda(api_docs::router(docs_enabled)).await
}
