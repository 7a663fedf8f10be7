//! Server secrets (SPEC §5): what signs or checks credentials, sealed like the signing keys
//! (`crate::sealing`) and opened only by the functions that issue or check those credentials.
//! Two keys, each in an item and a partition of its own, under a KMS purpose of its own, so
//! IAM gives each function exactly the one it needs:
//!
//! - the **credentials key** (`CREDENTIALS_KEY` / `KEY`, purpose [`PURPOSE`]): a 256-bit root
//!   from which each use derives a key of its own by HMAC with a label — admins' and users'
//!   refresh tokens, authorization codes, SSO and flow cookies. Opened by admin-auth, oauth and
//!   sign-in, which issue or check those.
//! - the **client-secret key** (`CLIENT_SECRET_KEY` / `KEY`, purpose [`CLIENT_SECRET_PURPOSE`]):
//!   the HMAC key of client-secret hashes. Opened by applications, agents and
//!   registration-requests (which make secrets) and oauth (which checks them) — none of which
//!   can then mint a refresh token with it.
//!
//! Every other function holds only the cursor key (`CONFIG` / `CURSOR_KEY`, plaintext: it signs
//! list cursors and nothing else), so reading the table is never enough to mint a credential.
//! A deployment upgraded from a version that keyed client-secret hashes with one plaintext server
//! secret keeps the client-secret key that secret derived (sealed now), so every client secret
//! issued before keeps working.

use std::sync::Arc;

use data_encoding::BASE64;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::sealing::{Kek, SealError, Sealed};
use crate::store::{Guard, Key, Store, StoreError, Tx, keys};
use crate::time::Timestamp;

/// The `purpose` of the credentials key's KMS encryption context.
pub const PURPOSE: &str = "scaikey-credentials-key";
/// The `purpose` of the client-secret key's KMS encryption context.
pub const CLIENT_SECRET_PURPOSE: &str = "scaikey-client-secret-key";
/// How a client-secret key was derived from the old plaintext server secret (the same label
/// the versions before used).
const LEGACY_CLIENT_SECRET_LABEL: &[u8] = b"scaikey client-secret key v1";

/// One of the two sealed keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    Credentials,
    ClientSecrets,
}

impl Which {
    fn key(self) -> Key {
        match self {
            Self::Credentials => keys::credentials_key(),
            Self::ClientSecrets => keys::client_secret_key(),
        }
    }

    fn purpose(self) -> &'static str {
        match self {
            Self::Credentials => PURPOSE,
            Self::ClientSecrets => CLIENT_SECRET_PURPOSE,
        }
    }

    /// The id both layers bind the sealed key to (KMS encryption context, AES-GCM data).
    fn sealed_id(self) -> &'static str {
        match self {
            Self::Credentials => "credentials-v1",
            Self::ClientSecrets => "client-secrets-v1",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Credentials => "credentials key",
            Self::ClientSecrets => "client-secret key",
        }
    }
}

/// The credentials key, opened: derives a key per use.
pub struct CredentialKeys {
    root: Vec<u8>,
}

impl CredentialKeys {
    /// A key of its own for one use (`label` names it and its version), derived from the root.
    pub fn derive(&self, label: &str) -> Vec<u8> {
        crate::secrets::hmac_sha256(&self.root, label.as_bytes())
    }

    /// Keys made up on the spot (unit tests of what uses them).
    #[cfg(test)]
    pub(crate) fn for_tests(root: [u8; 32]) -> Self {
        Self {
            root: root.to_vec(),
        }
    }
}

/// The client-secret key, opened.
pub struct ClientSecretKey(Vec<u8>);

impl ClientSecretKey {
    /// The HMAC key of client-secret hashes (applications' and agents').
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// The sealed plaintext: the key, base64.
#[derive(Serialize, Deserialize)]
struct Material {
    key: String,
}

/// A sealed key's stored item. Binary fields base64.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SealedKeyRecord {
    /// `kms:<key ARN>` or `local:<fingerprint>`.
    pub kek: String,
    pub wrapped_key: String,
    pub ciphertext: String,
    pub created_at: Timestamp,
}

/// Which of the two keys this process may open (IAM allows it the same): each function's
/// `main` says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Holds {
    pub credentials: bool,
    pub client_secrets: bool,
}

impl Holds {
    pub const NOTHING: Self = Self {
        credentials: false,
        client_secrets: false,
    };
    pub const EVERYTHING: Self = Self {
        credentials: true,
        client_secrets: true,
    };
}

/// The server secrets of a process: each opened on first use (one read, one `kms:Decrypt`) and
/// kept for the life of the process. What it does not hold, or has no key-encryption key for,
/// answers 500 if asked for.
pub struct Credentials {
    store: Store,
    kek: Option<Kek>,
    holds: Holds,
    credentials: tokio::sync::OnceCell<Arc<CredentialKeys>>,
    client_secrets: tokio::sync::OnceCell<Arc<ClientSecretKey>>,
}

impl Credentials {
    pub fn new(store: Store, kek: Option<Kek>, holds: Holds) -> Self {
        Self {
            store,
            kek,
            holds,
            credentials: tokio::sync::OnceCell::new(),
            client_secrets: tokio::sync::OnceCell::new(),
        }
    }

    /// Opens what this process holds now (at start-up, with the signing keys: the first
    /// request then pays nothing). A failure is logged and retried on first use.
    pub async fn preload(&self) {
        if self.kek.is_none() {
            return;
        }
        if self.holds.credentials
            && let Err(err) = self.keys().await
        {
            tracing::error!(error = %err, "could not open the credentials key at start-up");
        }
        if self.holds.client_secrets
            && let Err(err) = self.client_secret_key().await
        {
            tracing::error!(error = %err, "could not open the client-secret key at start-up");
        }
    }

    fn kek_for(&self, which: Which, held: bool) -> Result<&Kek, Error> {
        match &self.kek {
            Some(kek) if held => Ok(kek),
            _ => Err(Error::internal(format!(
                "this process does not hold the {}: it neither issues nor checks what it keys",
                which.name()
            ))),
        }
    }

    /// The credentials key (read and opened once; a failure is retried on the next call).
    pub async fn keys(&self) -> Result<Arc<CredentialKeys>, Error> {
        let kek = self.kek_for(Which::Credentials, self.holds.credentials)?;
        self.credentials
            .get_or_try_init(|| async {
                let root = self.open_stored(kek, Which::Credentials).await?;
                Ok::<_, Error>(Arc::new(CredentialKeys { root }))
            })
            .await
            .cloned()
    }

    /// The client-secret key (read and opened once; a failure is retried on the next call).
    pub async fn client_secret_key(&self) -> Result<Arc<ClientSecretKey>, Error> {
        let kek = self.kek_for(Which::ClientSecrets, self.holds.client_secrets)?;
        self.client_secrets
            .get_or_try_init(|| async {
                let key = self.open_stored(kek, Which::ClientSecrets).await?;
                Ok::<_, Error>(Arc::new(ClientSecretKey(key)))
            })
            .await
            .cloned()
    }

    async fn open_stored(&self, kek: &Kek, which: Which) -> Result<Vec<u8>, Error> {
        let key = which.key();
        let record: SealedKeyRecord = self
            .store
            .load(std::slice::from_ref(&key))
            .await?
            .get(&key)?
            .ok_or_else(|| {
                Error::internal(format!(
                    "no {} in the table; run `scaikey keys seal` (or bootstrap)",
                    which.name()
                ))
            })?;
        Ok(open(kek, which, &record).await?)
    }
}

/// Why a sealed key did not open.
#[derive(Debug, thiserror::Error)]
pub enum NotOpened {
    /// Sealed under another key-encryption key, tampered with, or KMS unavailable.
    #[error(transparent)]
    Sealed(#[from] SealError),
    #[error("the sealed key is malformed: {0}")]
    Malformed(&'static str),
}

impl From<NotOpened> for Error {
    fn from(err: NotOpened) -> Self {
        Error::internal(err)
    }
}

async fn open(kek: &Kek, which: Which, record: &SealedKeyRecord) -> Result<Vec<u8>, NotOpened> {
    let bytes = |text: &str| {
        BASE64
            .decode(text.as_bytes())
            .map_err(|_| NotOpened::Malformed("not base64"))
    };
    let plaintext = kek
        .open_for(
            which.purpose(),
            which.sealed_id(),
            &Sealed {
                kek: record.kek.clone(),
                wrapped_key: bytes(&record.wrapped_key)?,
                ciphertext: bytes(&record.ciphertext)?,
            },
        )
        .await?;
    let material: Material =
        serde_json::from_slice(&plaintext).map_err(|_| NotOpened::Malformed("not its JSON"))?;
    let key = bytes(&material.key)?;
    if key.len() != 32 {
        return Err(NotOpened::Malformed("the key is not 256 bits"));
    }
    Ok(key)
}

async fn seal(kek: &Kek, which: Which, key: &[u8]) -> Result<SealedKeyRecord, Error> {
    let material = Material {
        key: BASE64.encode(key),
    };
    let plaintext = serde_json::to_vec(&material).map_err(Error::internal)?;
    let sealed = kek
        .seal_for(which.purpose(), which.sealed_id(), &plaintext)
        .await
        .map_err(Error::internal)?;
    Ok(SealedKeyRecord {
        kek: sealed.kek,
        wrapped_key: BASE64.encode(&sealed.wrapped_key),
        ciphertext: BASE64.encode(&sealed.ciphertext),
        created_at: Timestamp::now(),
    })
}

fn record_item(which: Which, record: &SealedKeyRecord) -> Result<crate::store::Item, StoreError> {
    Ok(crate::store::with_keys(
        crate::store::encode(record)?,
        &which.key(),
        match which {
            Which::Credentials => "SEALED_CREDENTIALS_KEY",
            Which::ClientSecrets => "SEALED_CLIENT_SECRET_KEY",
        },
    ))
}

/// Creates what a deployment of this version needs, if it is missing (idempotent; run by
/// `scaikey bootstrap` and `scaikey keys seal`):
/// - the cursor key (`CONFIG` / `CURSOR_KEY`), a new random one;
/// - the credentials key, a new random one;
/// - the client-secret key: the one the old plaintext server secret (`CONFIG` /
///   `CURSOR_SECRET`) derived, when there is one, so existing client secrets keep working —
///   and in the same transaction that secret is deleted (refresh tokens signed with it end).
///
/// A sealed key that does not open under this key-encryption key is never replaced here
/// (that would end every client secret at once): the error says to run with the key it was
/// sealed under, or to make new keys on purpose (`remake`).
///
/// Returns what it made.
pub async fn ensure(store: &Store, kek: &Kek) -> Result<Vec<String>, Error> {
    let mut made = Vec::new();
    if store.ensure_cursor_key().await? {
        made.push("cursor key".to_owned());
    }
    let legacy_key = keys::cursor_secret();
    let wanted = [
        Which::Credentials.key(),
        Which::ClientSecrets.key(),
        legacy_key.clone(),
    ];
    let loaded = store.load(&wanted).await?;
    let legacy: Option<Vec<u8>> = loaded
        .item(&legacy_key)
        .and_then(|item| item.get("secret"))
        .and_then(|v| v.as_b().ok())
        .map(|b| b.as_ref().to_vec());
    let mut tx = Tx::new(store.table());
    let mut writes = 0;
    for which in [Which::Credentials, Which::ClientSecrets] {
        let existing: Option<SealedKeyRecord> = loaded.get(&which.key())?;
        match existing {
            Some(record) => {
                if let Err(err) = open(kek, which, &record).await {
                    return Err(Error::internal(format!(
                        "the {} does not open under this key-encryption key ({err}; it was \
                         sealed under {}): run with that key, or `scaikey keys remake-credentials` \
                         to make new keys (every client secret must then be rotated)",
                        which.name(),
                        record.kek
                    )));
                }
            }
            None => {
                let key = match (which, &legacy) {
                    (Which::ClientSecrets, Some(secret)) => {
                        crate::secrets::hmac_sha256(secret, LEGACY_CLIENT_SECRET_LABEL)
                    }
                    _ => crate::secrets::random_bytes::<32>().to_vec(),
                };
                let record = seal(kek, which, &key).await?;
                tx.put_new(record_item(which, &record)?, Guard::Item)?;
                writes += 1;
                made.push(match (which, &legacy) {
                    (Which::ClientSecrets, Some(_)) => {
                        "client-secret key (sealed; client secrets kept)".to_owned()
                    }
                    _ => format!("{} (sealed)", which.name()),
                });
            }
        }
    }
    if legacy.is_some() {
        tx.delete(&legacy_key)?;
        writes += 1;
        made.push("the old plaintext server secret removed (its refresh tokens end)".to_owned());
    }
    if writes == 0 {
        return Ok(made);
    }
    match store.transact(tx).await {
        Ok(()) => Ok(made),
        // Another run made them first (and removed the old secret).
        Err(StoreError::Refused(Guard::Item)) => Ok(Vec::new()),
        Err(err) => Err(err.into()),
    }
}

/// Makes both keys anew under `kek`, on purpose (`scaikey keys remake-credentials`): after a
/// switch of key-encryption key whose old key is gone or no longer trusted. Every refresh token
/// ends and every client secret stops working until it is rotated.
pub async fn remake(store: &Store, kek: &Kek) -> Result<Vec<String>, Error> {
    let mut tx = Tx::new(store.table());
    for which in [Which::Credentials, Which::ClientSecrets] {
        let record = seal(kek, which, &crate::secrets::random_bytes::<32>()).await?;
        tx.put(record_item(which, &record)?)?;
    }
    tx.delete(&keys::cursor_secret())?;
    store.transact(tx).await?;
    Ok(vec![
        "credentials key made anew: refresh tokens have ended".to_owned(),
        "client-secret key made anew: rotate every client secret".to_owned(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_use_derives_a_key_of_its_own() {
        let keys = CredentialKeys::for_tests([7; 32]);
        let refresh = keys.derive("scaikey refresh-token key v2");
        assert_eq!(refresh.len(), 32);
        assert_ne!(refresh, keys.derive("scaikey authorization-code key v1"));
        assert_eq!(refresh, keys.derive("scaikey refresh-token key v2"));
    }

    #[test]
    fn each_key_has_its_own_partition_and_purpose() {
        assert_ne!(Which::Credentials.key().pk, Which::ClientSecrets.key().pk);
        assert_ne!(Which::Credentials.purpose(), Which::ClientSecrets.purpose());
        assert_ne!(
            Which::Credentials.sealed_id(),
            Which::ClientSecrets.sealed_id()
        );
    }
}
