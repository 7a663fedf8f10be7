//! What a function builds once at start-up and every request shares.

use std::sync::Arc;

use crate::config::Config;
use crate::credentials::{Credentials, Holds};
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
    slugs: crate::sign_in::SlugDirectory,
}

/// What a process holds besides the public keys: whether it signs tokens (it opens the private
/// signing keys), and which server secrets it opens (`crate::credentials`). Each function's
/// `main` names its own; IAM grants it exactly the same (`scripts/check-template`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Role {
    pub signs_tokens: bool,
    pub holds: Holds,
}

impl Role {
    /// Verifies tokens, holds no secret: most functions.
    pub const VERIFIER: Self = Self {
        signs_tokens: false,
        holds: Holds::NOTHING,
    };
    /// Everything (the local server, the CLI, tests).
    pub const EVERYTHING: Self = Self {
        signs_tokens: true,
        holds: Holds::EVERYTHING,
    };
    /// Admin login: signs admin tokens, keys their refresh tokens.
    pub const ADMIN_AUTH: Self = Self {
        signs_tokens: true,
        holds: Holds {
            credentials: true,
            client_secrets: false,
        },
    };
    /// The token endpoints: sign, check client secrets, and exchange codes and refresh tokens.
    pub const TOKEN_ENDPOINT: Self = Self::EVERYTHING;
    /// The hosted login: keys SSO cookies, login flows and authorization codes; signs nothing.
    pub const SIGN_IN: Self = Self {
        signs_tokens: false,
        holds: Holds {
            credentials: true,
            client_secrets: false,
        },
    };
    /// The functions that make client secrets (applications, agents, registration requests).
    pub const CLIENT_SECRET_MAKER: Self = Self {
        signs_tokens: false,
        holds: Holds {
            credentials: false,
            client_secrets: true,
        },
    };
}

impl AppState {
    /// With `kek` the state signs tokens and opens both server secrets (the local server, the
    /// CLI, tests); without, it verifies tokens and handles no credentials.
    pub fn new(config: Config, store: Store, kek: Option<Kek>) -> Self {
        Self::with_role(config, store, kek, Role::EVERYTHING)
    }

    /// A state that does what `role` says with `kek` (and nothing without one).
    pub fn with_role(config: Config, store: Store, kek: Option<Kek>, role: Role) -> Self {
        let signer = kek.clone().filter(|_| role.signs_tokens);
        let keys = KeyRing::new(store.clone(), &config, signer.clone());
        let credentials = Credentials::new(store.clone(), kek, role.holds);
        Self {
            inner: Arc::new(Inner {
                config,
                store,
                keys,
                kek: signer,
                credentials,
                slugs: crate::sign_in::SlugDirectory::default(),
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

    /// A function's state from the environment, doing what `role` says: the signing keys read
    /// once (with the private ones opened when it signs) and its server secrets opened, at the
    /// same time — which also opens the connections, so the first request does not pay for the
    /// TLS handshakes.
    pub async fn from_env(role: Role) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let config = Config::from_env()?;
        let store = crate::store::connect(&config).await;
        let kek = Kek::from_config(&config).await?;
        let state = Self::with_role(config, store, kek, role);
        // A function that signs seeds aws-lc's generator (its signatures draw from it) while
        // the first reads are under way, not in its first token request.
        let seeded = role
            .signs_tokens
            .then(|| tokio::task::spawn_blocking(crate::secrets::seed_aws_lc));
        state.warm_up().await;
        if let Some(seeded) = seeded {
            let _ = seeded.await;
        }
        Ok(state)
    }

    /// Reads the signing keys and opens the server secrets this state holds (start-up).
    pub async fn warm_up(&self) {
        let (loaded, ()) = tokio::join!(self.keys().reload(), self.credentials().preload());
        if let Err(err) = loaded {
            // Not fatal: the table may not be bootstrapped yet; requests will say so.
            tracing::error!(error = %err, "could not load signing keys at start-up");
        }
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

    /// The server secrets (refresh tokens, sign-in codes and cookies; client-secret hashes),
    /// those this process may open.
    pub fn credentials(&self) -> &Credentials {
        &self.inner.credentials
    }

    /// Where tenant slugs pointed when this instance last read them (a hint for batching).
    pub fn slugs(&self) -> &crate::sign_in::SlugDirectory {
        &self.inner.slugs
    }

    /// The key-encryption key, where this process has one (it creates or opens private keys).
    pub fn kek(&self) -> Option<&Kek> {
        self.inner.kek.as_ref()
    }
}
