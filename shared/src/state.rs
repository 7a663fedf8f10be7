//! What a function builds once at start-up and every request shares.

use std::sync::Arc;

use crate::config::Config;
use crate::sealing::Kek;
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
    kek: Option<Kek>,
}

impl AppState {
    /// With `kek` the state signs tokens (admin-auth, the local server); without, it verifies.
    pub fn new(config: Config, store: Store, kek: Option<Kek>) -> Self {
        let keys = KeyRing::new(store.clone(), &config, kek.clone());
        Self {
            inner: Arc::new(Inner {
                config,
                store,
                keys,
                kek,
            }),
        }
    }

    /// Config from the environment, the DynamoDB client and the key-encryption key the config
    /// names (if any), without any call: for commands that create the table or the keys, or
    /// never need them.
    pub async fn connect() -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let config = Config::from_env()?;
        let store = crate::store::connect(&config).await;
        let kek = Kek::from_config(&config).await?;
        Ok(Self::new(config, store, kek))
    }

    /// `connect`, then the signing keys read once (and, with a KEK, the private ones opened) —
    /// which also opens the connections, so the first request does not pay for the TLS
    /// handshakes.
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

    /// The key-encryption key, where this process has one (it creates or opens private keys).
    pub fn kek(&self) -> Option<&Kek> {
        self.inner.kek.as_ref()
    }
}
