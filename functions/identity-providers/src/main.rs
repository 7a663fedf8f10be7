//! The identity-providers Lambda: state built once, then the router under `lambda_http`.
//!
//! The key-encryption key is loaded from the configuration as admin-auth loads it
//! (`SCAIKEY_KMS_KEY_ID`, or `SCAIKEY_LOCAL_KEK_FILE` locally) but only seals client secrets:
//! the state is built without it, so its key ring verifies tokens with the public keys and
//! never reads or opens the signing keys' private parts.

// A Lambda serves one event at a time: the current-thread runtime skips the work-stealing
// scheduler and cross-thread wake-ups (GET tenant: 465 vs 490 µs CPU per request, scripts/bench).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let config = shared::config::Config::from_env()?;
    let store = shared::store::connect(&config).await;
    let kek = shared::sealing::Kek::from_config(&config).await?;
    if kek.is_none() {
        tracing::warn!(
            "no key-encryption key configured: OIDC client secrets cannot be stored (500)"
        );
    }
    let state = shared::AppState::new(config, store, None);
    if let Err(err) = state.keys().reload().await {
        // Not fatal: the table may not be bootstrapped yet; requests will say so.
        tracing::error!(error = %err, "could not load signing keys at start-up");
    }
    shared::http::run_lambda(identity_providers::router_sealing_with(state, kek)).await
}
