//! The credentials key (SPEC §5, "server secrets"): what signs or checks credentials — refresh
//! tokens, client-secret hashes, and the sign-in's authorization codes and SSO cookies — sealed
//! like the signing keys (`crate::sealing`, its own purpose [`PURPOSE`]) in an item of its own
//! (`CREDENTIALS_KEY` / `KEY`), and opened only by the functions that issue or check those
//! credentials: admin-auth, oauth, applications, agents and registration-requests. Every other
//! function holds only the cursor key (`CONFIG` / `CURSOR_KEY`, plaintext: it signs list
//! cursors and nothing else), so reading the table is not enough to mint a refresh token.
//!
//! One 256-bit root key; each use derives its own key from it by HMAC with a label (domain
//! separation). The client-secret key is kept apart from the root: a deployment upgraded from
//! a version that keyed client-secret hashes with the old plaintext server secret keeps that
//! key (sealed now), so every client secret issued before keeps working.

use std::sync::Arc;

use data_encoding::BASE64;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::sealing::{Kek, SealError, Sealed};
use crate::store::{Entity, Guard, Key, Store, StoreError, Tx, keys};
use crate::time::Timestamp;

/// The `purpose` of the KMS encryption context; IAM allows `kms:Decrypt` with it only to the
/// functions that issue or check credentials.
pub const PURPOSE: &str = "scaikey-credentials-key";
/// The id the sealed key is bound to (KMS encryption context and AES-GCM associated data).
const SEALED_ID: &str = "credentials-v1";
/// How a client-secret key was derived from the old plaintext server secret (the same label
/// the versions before used).
const LEGACY_CLIENT_SECRET_LABEL: &[u8] = b"scaikey client-secret key v1";

/// The opened key material.
pub struct CredentialKeys {
    root: [u8; 32],
    client_secret: Vec<u8>,
}

impl CredentialKeys {
    /// The HMAC key of client-secret hashes (applications' and agents').
    pub fn client_secret_key(&self) -> &[u8] {
        &self.client_secret
    }

    /// A key of its own for one use (`label` names it and its version), derived from the root.
    pub fn derive(&self, label: &str) -> Vec<u8> {
        crate::secrets::hmac_sha256(&self.root, label.as_bytes())
    }
}

/// The sealed plaintext: both keys, base64.
#[derive(Serialize, Deserialize)]
struct Material {
    root: String,
    client_secret: String,
}

/// The stored item: the material sealed under the key-encryption key. Binary fields base64.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SealedCredentialsRecord {
    /// `kms:<key ARN>` or `local:<fingerprint>`.
    pub kek: String,
    pub wrapped_key: String,
    pub ciphertext: String,
    pub created_at: Timestamp,
}

impl Entity for SealedCredentialsRecord {
    const NAME: &'static str = "SEALED_CREDENTIALS_KEY";

    fn key(&self) -> Key {
        keys::credentials_key()
    }
}

/// The credentials key of a process: opened on first use (one read, one `kms:Decrypt`) and kept
/// for the life of the process. Without a key-encryption key the process checks and issues no
/// credentials (500 if asked to).
pub struct Credentials {
    store: Store,
    kek: Option<Kek>,
    opened: tokio::sync::OnceCell<Arc<CredentialKeys>>,
}

impl Credentials {
    pub fn new(store: Store, kek: Option<Kek>) -> Self {
        Self {
            store,
            kek,
            opened: tokio::sync::OnceCell::new(),
        }
    }

    /// Whether this process may open the key at all.
    pub fn is_held(&self) -> bool {
        self.kek.is_some()
    }

    /// Opens the key now, where this process holds it (at start-up, with the signing keys:
    /// the first request then pays nothing). A failure is logged and retried on first use.
    pub async fn preload(&self) {
        if self.is_held()
            && let Err(err) = self.keys().await
        {
            tracing::error!(error = %err, "could not open the credentials key at start-up");
        }
    }

    /// The opened key (read and opened once; a failure is retried on the next call).
    pub async fn keys(&self) -> Result<Arc<CredentialKeys>, Error> {
        let kek = self.kek.as_ref().ok_or_else(|| {
            Error::internal(
                "this process has no key-encryption key: it issues and checks no credentials",
            )
        })?;
        self.opened
            .get_or_try_init(|| async {
                let key = keys::credentials_key();
                let record: SealedCredentialsRecord = self
                    .store
                    .load(std::slice::from_ref(&key))
                    .await?
                    .get(&key)?
                    .ok_or_else(|| {
                        Error::internal(
                            "no credentials key in the table; run `scaikey keys seal` (or bootstrap)",
                        )
                    })?;
                open(kek, &record).await.map(Arc::new).map_err(Error::from)
            })
            .await
            .cloned()
    }
}

/// Why a sealed credentials key did not open.
#[derive(Debug, thiserror::Error)]
enum NotOpened {
    /// Sealed under another key-encryption key, tampered with, or KMS unavailable.
    #[error(transparent)]
    Sealed(#[from] SealError),
    #[error("the sealed credentials key is malformed: {0}")]
    Malformed(&'static str),
}

impl From<NotOpened> for Error {
    fn from(err: NotOpened) -> Self {
        Error::internal(err)
    }
}

async fn open(kek: &Kek, record: &SealedCredentialsRecord) -> Result<CredentialKeys, NotOpened> {
    let bytes = |text: &str| {
        BASE64
            .decode(text.as_bytes())
            .map_err(|_| NotOpened::Malformed("not base64"))
    };
    let plaintext = kek
        .open_for(
            PURPOSE,
            SEALED_ID,
            &Sealed {
                kek: record.kek.clone(),
                wrapped_key: bytes(&record.wrapped_key)?,
                ciphertext: bytes(&record.ciphertext)?,
            },
        )
        .await?;
    let material: Material =
        serde_json::from_slice(&plaintext).map_err(|_| NotOpened::Malformed("not its JSON"))?;
    let root: [u8; 32] = bytes(&material.root)?
        .try_into()
        .map_err(|_| NotOpened::Malformed("the root key is not 256 bits"))?;
    Ok(CredentialKeys {
        root,
        client_secret: bytes(&material.client_secret)?,
    })
}

/// Creates what a deployment of this version needs, if it is missing (idempotent; run by
/// `scaikey bootstrap` and `scaikey keys seal`):
/// - the cursor key (`CONFIG` / `CURSOR_KEY`), a new random one;
/// - the sealed credentials key: a new random root; its client-secret key is the one the old
///   plaintext server secret (`CONFIG` / `CURSOR_SECRET`) derived, when there is one, so
///   existing client secrets keep working — and in the same transaction that secret is deleted
///   (refresh tokens signed with it end: their admins sign in again).
///
/// A credentials key sealed under another key-encryption key (the deployment switched keys:
/// the old one is no longer trusted, or no longer at hand) is made anew under this one: client
/// secrets must then be rotated, and refresh tokens end.
///
/// Returns what it made.
pub async fn ensure(store: &Store, kek: &Kek) -> Result<Vec<String>, Error> {
    let mut made = Vec::new();
    if store.ensure_cursor_key().await? {
        made.push("cursor key".to_owned());
    }
    let legacy_key = keys::cursor_secret();
    let wanted = [keys::credentials_key(), legacy_key.clone()];
    let loaded = store.load(&wanted).await?;
    let legacy: Option<Vec<u8>> = loaded
        .item(&legacy_key)
        .and_then(|item| item.get("secret"))
        .and_then(|v| v.as_b().ok())
        .map(|b| b.as_ref().to_vec());
    let existing: Option<SealedCredentialsRecord> = loaded.get(&wanted[0])?;
    let replaced = match &existing {
        None => None,
        Some(record) => match open(kek, record).await {
            Ok(_) => {
                if legacy.is_some() {
                    let mut tx = Tx::new(store.table());
                    tx.delete(&legacy_key)?;
                    store.transact(tx).await?;
                    made.push("the old server secret removed".to_owned());
                }
                return Ok(made);
            }
            Err(NotOpened::Sealed(SealError::Unavailable(reason))) => {
                return Err(Error::internal(format!(
                    "the key-encryption key is unavailable: {reason}"
                )));
            }
            // Sealed under another key-encryption key (or unreadable): made anew below.
            Err(_) => Some(record.kek.clone()),
        },
    };
    let client_secret = match &legacy {
        Some(secret) => crate::secrets::hmac_sha256(secret, LEGACY_CLIENT_SECRET_LABEL),
        None => crate::secrets::random_bytes::<32>().to_vec(),
    };
    let material = Material {
        root: BASE64.encode(&crate::secrets::random_bytes::<32>()),
        client_secret: BASE64.encode(&client_secret),
    };
    let plaintext = serde_json::to_vec(&material).map_err(Error::internal)?;
    let sealed = kek
        .seal_for(PURPOSE, SEALED_ID, &plaintext)
        .await
        .map_err(Error::internal)?;
    let record = SealedCredentialsRecord {
        kek: sealed.kek,
        wrapped_key: BASE64.encode(&sealed.wrapped_key),
        ciphertext: BASE64.encode(&sealed.ciphertext),
        created_at: Timestamp::now(),
    };
    let mut tx = Tx::new(store.table());
    match &replaced {
        // Only the item this run could not open is replaced (a concurrent run's is kept).
        Some(old_kek) => tx.put_if(
            record.to_item()?,
            Guard::Item,
            Some("#kek = :old"),
            crate::store::Expr::default()
                .name("#kek", "kek")
                .value(":old", crate::store::s(old_kek)),
        )?,
        None => tx.put_new(record.to_item()?, Guard::Item)?,
    };
    if legacy.is_some() {
        tx.delete(&legacy_key)?;
    }
    match store.transact(tx).await {
        Ok(()) => {
            made.push(match (&replaced, &legacy) {
                (Some(_), _) => "credentials key made anew under this key-encryption key \
                                 (it did not open the old one): rotate every client secret; \
                                 refresh tokens have ended"
                    .to_owned(),
                (None, Some(_)) => "credentials key (sealed; client secrets kept, the old server \
                                    secret removed)"
                    .to_owned(),
                (None, None) => "credentials key (sealed)".to_owned(),
            });
            Ok(made)
        }
        // Another run made it first: it also removed the old secret.
        Err(StoreError::Refused(Guard::Item)) => Ok(made),
        Err(err) => Err(err.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_use_derives_a_key_of_its_own() {
        let keys = CredentialKeys {
            root: [7; 32],
            client_secret: vec![1; 32],
        };
        let refresh = keys.derive("scaikey refresh-token key v2");
        assert_eq!(refresh.len(), 32);
        assert_ne!(refresh, keys.derive("scaikey authorization-code key v1"));
        assert_eq!(refresh, keys.derive("scaikey refresh-token key v2"));
        assert_ne!(refresh.as_slice(), keys.client_secret_key());
    }
}
