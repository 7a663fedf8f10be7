//! Envelope encryption of the signing keys' private parts. Each private key is sealed with
//! AES-256-GCM under a data key of its own; the data key is wrapped by the key-encryption key
//! (KEK): a KMS key in AWS, or a 256-bit key in a file for local development. The table holds
//! only the sealed key and the wrapped data key, so reading the table is not enough to sign:
//! opening a key takes `kms:Decrypt`, which only the functions that sign are granted.
//!
//! Both layers bind the key id (the KMS encryption context and the AES-GCM associated data):
//! a sealed key moved to another key id does not open. Other secrets (an identity provider's
//! client secret) are sealed the same way under a `purpose` of their own (`seal_for`,
//! `open_for`); `seal`/`open` are the signing keys' purpose, [`PURPOSE`].

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use data_encoding::{BASE64, HEXLOWER};

use crate::config::{Config, KeyEncryption};

/// The `purpose` of the KMS encryption context; IAM allows `kms:Decrypt` only with it.
pub const PURPOSE: &str = "scaikey-signing-key";

/// A private key, sealed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    /// The KEK that wrapped the data key: `kms:<key ARN>` or `local:<fingerprint>`.
    pub kek: String,
    /// The data key, wrapped by the KEK (a KMS ciphertext blob, or nonce ‖ AES-GCM output).
    pub wrapped_key: Vec<u8>,
    /// nonce ‖ AES-256-GCM output of the private key under the data key.
    pub ciphertext: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// KMS unreachable, throttled or refusing (permissions): the key may open later.
    #[error("the key-encryption key is unavailable: {0}")]
    Unavailable(String),
    #[error("sealed under another key-encryption key ({0})")]
    OtherKek(String),
    /// Tampered, truncated or moved to another key id.
    #[error("the sealed key does not open: {0}")]
    DoesNotOpen(String),
    #[error("the local key-encryption key {path}: {reason}")]
    LocalFile { path: String, reason: String },
}

/// The key-encryption key of this process.
#[derive(Clone)]
pub enum Kek {
    Kms {
        client: aws_sdk_kms::Client,
        key_id: String,
    },
    Local {
        key: Arc<[u8; 32]>,
        fingerprint: String,
    },
}

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Kms { key_id, .. } => write!(f, "Kek::Kms({key_id})"),
            Self::Local { fingerprint, .. } => write!(f, "Kek::Local({fingerprint})"),
        }
    }
}

impl Kek {
    /// The KEK the configuration names, if any (a KMS client is built, nothing is called).
    pub async fn from_config(config: &Config) -> Result<Option<Self>, SealError> {
        match &config.key_encryption {
            KeyEncryption::None => Ok(None),
            KeyEncryption::Kms { key_id, endpoint } => Ok(Some(Self::Kms {
                client: kms_client(config, endpoint.as_deref()).await,
                key_id: key_id.clone(),
            })),
            KeyEncryption::LocalFile(path) => Self::local_from_file(path).map(Some),
        }
    }

    /// A local KEK from a file holding 32 bytes in base64 (what `scripts/dev` writes).
    pub fn local_from_file(path: &Path) -> Result<Self, SealError> {
        let failed = |reason: String| SealError::LocalFile {
            path: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| failed(e.to_string()))?;
        let bytes = BASE64
            .decode(text.trim().as_bytes())
            .map_err(|_| failed("is not base64".into()))?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| failed("must hold 32 bytes (256 bits), base64".into()))?;
        Ok(Self::local(key))
    }

    pub fn local(key: [u8; 32]) -> Self {
        let mut labelled = b"scaikey-local-kek:".to_vec();
        labelled.extend_from_slice(&key);
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &labelled);
        Self::Local {
            key: Arc::new(key),
            fingerprint: HEXLOWER.encode(&digest.as_ref()[..8]),
        }
    }

    /// Seals `plaintext` (a private key) for key id `kid` under a fresh data key.
    pub async fn seal(&self, kid: &str, plaintext: &[u8]) -> Result<Sealed, SealError> {
        self.seal_for(PURPOSE, kid, plaintext).await
    }

    /// Opens a key sealed for `kid`: one `kms:Decrypt` with a KMS KEK.
    pub async fn open(&self, kid: &str, sealed: &Sealed) -> Result<Vec<u8>, SealError> {
        self.open_for(PURPOSE, kid, sealed).await
    }

    /// Seals `plaintext` for `purpose` and the id it belongs to (`kid`), under a fresh data
    /// key. Both are bound in both layers: the KMS encryption context (`purpose`, `kid`) and
    /// the AES-GCM associated data, so a value sealed for one purpose or id opens for no other,
    /// and IAM can allow a function `kms:GenerateDataKey`/`kms:Decrypt` for its purpose only.
    pub async fn seal_for(
        &self,
        purpose: &str,
        kid: &str,
        plaintext: &[u8],
    ) -> Result<Sealed, SealError> {
        let (data_key, wrapped_key, kek) = match self {
            Self::Kms { client, key_id } => {
                let out = client
                    .generate_data_key()
                    .key_id(key_id)
                    .key_spec(DataKeySpec::Aes256)
                    .encryption_context("purpose", purpose)
                    .encryption_context("kid", kid)
                    .send()
                    .await
                    .map_err(from_kms)?;
                let (Some(data_key), Some(wrapped)) = (out.plaintext, out.ciphertext_blob) else {
                    return Err(SealError::Unavailable(
                        "GenerateDataKey returned no key".into(),
                    ));
                };
                let arn = out.key_id.unwrap_or_else(|| key_id.clone());
                (
                    data_key.into_inner(),
                    wrapped.into_inner(),
                    format!("kms:{arn}"),
                )
            }
            Self::Local { key, fingerprint } => {
                let data_key = crate::secrets::random_bytes::<32>().to_vec();
                let wrapped = aead_seal(key.as_slice(), &data_key, purpose, kid)?;
                (data_key, wrapped, format!("local:{fingerprint}"))
            }
        };
        Ok(Sealed {
            kek,
            wrapped_key,
            ciphertext: aead_seal(&data_key, plaintext, purpose, kid)?,
        })
    }

    /// Opens a value sealed for `purpose` and `kid`: one `kms:Decrypt` with a KMS KEK.
    pub async fn open_for(
        &self,
        purpose: &str,
        kid: &str,
        sealed: &Sealed,
    ) -> Result<Vec<u8>, SealError> {
        let data_key = match self {
            Self::Kms { client, key_id } => {
                if !sealed.kek.starts_with("kms:") {
                    return Err(SealError::OtherKek(sealed.kek.clone()));
                }
                client
                    .decrypt()
                    // Names the key it must have been sealed under: a blob of another key
                    // (one this role could also decrypt with) is refused.
                    .key_id(key_id)
                    .ciphertext_blob(Blob::new(sealed.wrapped_key.clone()))
                    .encryption_context("purpose", purpose)
                    .encryption_context("kid", kid)
                    .send()
                    .await
                    .map_err(from_kms)?
                    .plaintext
                    .ok_or_else(|| SealError::Unavailable("Decrypt returned no key".into()))?
                    .into_inner()
            }
            Self::Local { key, fingerprint } => {
                if sealed.kek != format!("local:{fingerprint}") {
                    return Err(SealError::OtherKek(sealed.kek.clone()));
                }
                aead_open(key.as_slice(), &sealed.wrapped_key, purpose, kid)?
            }
        };
        aead_open(&data_key, &sealed.ciphertext, purpose, kid)
    }
}

async fn kms_client(config: &Config, endpoint: Option<&str>) -> aws_sdk_kms::Client {
    use aws_sdk_kms::config::{BehaviorVersion, Region, timeout::TimeoutConfig};
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(3))
        .operation_timeout(Duration::from_secs(8))
        .build();
    let mut builder = aws_sdk_kms::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(config.region.clone()))
        .timeout_config(timeouts)
        .credentials_provider(crate::store::credentials(config).await);
    if let Some(endpoint) = endpoint {
        builder = builder.endpoint_url(endpoint);
    }
    aws_sdk_kms::Client::from_conf(builder.build())
}

fn from_kms<E, R>(err: SdkError<E, R>) -> SealError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: fmt::Debug,
{
    let code = err.code().unwrap_or_default().to_owned();
    let text = format!("{code}: {}", aws_sdk_kms::error::DisplayErrorContext(&err));
    match code.as_str() {
        "InvalidCiphertextException" | "IncorrectKeyException" => SealError::DoesNotOpen(text),
        _ => SealError::Unavailable(text),
    }
}

fn associated_data(purpose: &str, kid: &str) -> Vec<u8> {
    format!("{purpose}:{kid}").into_bytes()
}

fn aead_key(key: &[u8]) -> Result<LessSafeKey, SealError> {
    UnboundKey::new(&AES_256_GCM, key)
        .map(LessSafeKey::new)
        .map_err(|_| SealError::DoesNotOpen("not a 256-bit key".into()))
}

/// nonce ‖ ciphertext ‖ tag. A random nonce is safe: every data key seals one message.
fn aead_seal(key: &[u8], plaintext: &[u8], purpose: &str, kid: &str) -> Result<Vec<u8>, SealError> {
    let nonce = crate::secrets::random_bytes::<NONCE_LEN>();
    let mut in_out = plaintext.to_vec();
    aead_key(key)?
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(associated_data(purpose, kid)),
            &mut in_out,
        )
        .map_err(|_| SealError::DoesNotOpen("AES-GCM sealing failed".into()))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&in_out);
    Ok(out)
}

fn aead_open(key: &[u8], sealed: &[u8], purpose: &str, kid: &str) -> Result<Vec<u8>, SealError> {
    if sealed.len() < NONCE_LEN {
        return Err(SealError::DoesNotOpen("too short".into()));
    }
    let (nonce, rest) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce)
        .map_err(|_| SealError::DoesNotOpen("bad nonce".into()))?;
    let mut in_out = rest.to_vec();
    let plaintext = aead_key(key)?
        .open_in_place(nonce, Aad::from(associated_data(purpose, kid)), &mut in_out)
        .map_err(|_| SealError::DoesNotOpen("authentication failed".into()))?;
    Ok(plaintext.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_local_kek_opens_what_it_sealed_and_nothing_else() {
        let kek = Kek::local([7; 32]);
        let sealed = kek.seal("kid-1", b"private key").await.unwrap();
        assert!(!sealed.ciphertext.windows(11).any(|w| w == b"private key"));
        assert_eq!(kek.open("kid-1", &sealed).await.unwrap(), b"private key");

        // Moved to another key id.
        assert!(matches!(
            kek.open("kid-2", &sealed).await,
            Err(SealError::DoesNotOpen(_))
        ));
        // Another KEK.
        assert!(matches!(
            Kek::local([8; 32]).open("kid-1", &sealed).await,
            Err(SealError::OtherKek(_))
        ));
        // One bit flipped, in either layer.
        for flip in [0usize, 1] {
            let mut tampered = sealed.clone();
            let bytes = if flip == 0 {
                &mut tampered.ciphertext
            } else {
                &mut tampered.wrapped_key
            };
            let last = bytes.len() - 1;
            bytes[last] ^= 1;
            assert!(matches!(
                kek.open("kid-1", &tampered).await,
                Err(SealError::DoesNotOpen(_))
            ));
        }
    }

    #[tokio::test]
    async fn a_value_sealed_for_one_purpose_opens_for_no_other() {
        let kek = Kek::local([7; 32]);
        let sealed = kek
            .seal_for("scaikey-idp-secret", "idp-1", b"client secret")
            .await
            .unwrap();
        assert_eq!(
            kek.open_for("scaikey-idp-secret", "idp-1", &sealed)
                .await
                .unwrap(),
            b"client secret"
        );
        // Not as a signing key (the signing purpose), nor for another id.
        assert!(matches!(
            kek.open("idp-1", &sealed).await,
            Err(SealError::DoesNotOpen(_))
        ));
        assert!(matches!(
            kek.open_for("scaikey-idp-secret", "idp-2", &sealed).await,
            Err(SealError::DoesNotOpen(_))
        ));
        // And a signing key does not open as a secret of that purpose.
        let key = kek.seal("kid-1", b"private key").await.unwrap();
        assert!(matches!(
            kek.open_for("scaikey-idp-secret", "kid-1", &key).await,
            Err(SealError::DoesNotOpen(_))
        ));
    }

    #[test]
    fn a_local_kek_file_holds_32_bytes_in_base64() {
        let dir = std::env::temp_dir().join(format!("kek-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good");
        std::fs::write(&good, format!("{}\n", BASE64.encode(&[1u8; 32]))).unwrap();
        assert!(Kek::local_from_file(&good).is_ok());
        let short = dir.join("short");
        std::fs::write(&short, BASE64.encode(&[1u8; 16])).unwrap();
        assert!(matches!(
            Kek::local_from_file(&short),
            Err(SealError::LocalFile { .. })
        ));
        assert!(Kek::local_from_file(&dir.join("missing")).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
