//! What a function builds once at start-up and every request shares.

use std::sync::Arc;

use crate::config::Config;
use crate::credentials::Credentials;
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
    credentials: Credentials,
}

impl AppState {
    /// With `kek` the state signs tokens and opens the credentials key (admin-auth, oauth, the
    /// local server); without, it verifies tokens and handles no credentials.
    pub fn new(config: Config, store: Store, kek: Option<Kek>) -> Self {
        let keys = KeyRing::new(store.clone(), &config, kek.clone());
        let credentials = Credentials::new(store.clone(), kek.clone());
        Self {
            inner: Arc::new(Inner {
                config,
                store,
                keys,
                kek,
                credentials,
            }),
        }
    }

    /// A state that verifies tokens (it never reads or opens a signing key) and opens the
    /// credentials key with `kek`: the functions that make client secrets but sign nothing
    /// (applications, agents, registration-requests).
    pub fn opening_credentials(config: Config, store: Store, kek: Option<Kek>) -> Self {
        let keys = KeyRing::new(store.clone(), &config, None);
        let credentials = Credentials::new(store.clone(), kek);
        Self {
            inner: Arc::new(Inner {
                config,
                store,
                keys,
                kek: None,
                credentials,
            }),
        }
    }

    /// [`AppState::opening_credentials`] from the environment, the public keys read once.
    pub async fn from_env_opening_credentials()
    -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let config = Config::from_env()?;
        let store = crate::store::connect(&config).await;
        let kek = Kek::from_config(&config).await?;
        let state = Self::opening_credentials(config, store, kek);
        let (loaded, ()) = tokio::join!(state.keys().reload(), state.credentials().preload());
        if let Err(err) = loaded {
            tracing::error!(error = %err, "could not load signing keys at start-up");
        }
        Ok(state)
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

    /// `connect`, then the signing keys read once (and, with a KEK, the private ones and the
    /// credentials key opened) —
    /// which also opens the connections, so the first request does not pay for the TLS
    /// handshakes.
    pub async fn from_env() -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let state = Self::connect().await?;
        // The credentials key opens alongside (one read and one KMS call, at the same time).
        let (loaded, ()) = tokio::join!(state.keys().reload(), state.credentials().preload());
        if let Err(err) = loaded {
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

    /// The credentials key (refresh tokens, client-secret hashes, sign-in codes and cookies),
    /// where this process may open it.
    pub fn credentials(&self) -> &Credentials {
        &self.inner.credentials
    }

    /// The key-encryption key, where this process has one (it creates or opens private keys).
    pub fn kek(&self) -> Option<&Kek> {
        self.inner.kek.as_ref()
    }
}
