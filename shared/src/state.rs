//! What a function builds once at start-up and every request shares.

use std::sync::Arc;

use crate::config::Config;
use crate::store::Store;
use crate::tokens::KeyRing;

#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    store: Store,
    keys: KeyRing,
}

impl AppState {
    pub fn new(config: Config, store: Store) -> Self {
        let keys = KeyRing::new(store.clone(), &config);
        Self {
            inner: Arc::new(Inner {
                config,
                store,
                keys,
            }),
        }
    }

    /// Config from the environment and the DynamoDB client, without any call to the table: for
    /// commands that create the table or the keys, or never need them.
    pub async fn connect() -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let config = Config::from_env()?;
        let store = crate::store::connect(&config).await;
        Ok(Self::new(config, store))
    }

    /// `connect`, then the signing keys read once — which also opens the connection, so the
    /// first request does not pay for the TLS handshake.
    pub async fn from_env() -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let state = Self::connect().await?;
        if let Err(err) = state.keys().reload().await {
            // Not fatal: the table may not be bootstrapped yet; requests will say so.
            tracing::error!(error = %err, "could not load signing keys at start-up");
        }
        Ok(state)
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn keys(&self) -> &KeyRing {
        &self.inner.keys
    }
}
