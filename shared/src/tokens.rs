//! Access tokens: JWTs with a `kid`, RS256 or ES256 — each key has one algorithm, recorded with
//! it (`SigningKeyRecord::alg`); a deployment makes its new keys in the algorithm it is
//! configured with (`SCAIKEY_SIGNING_ALGORITHM`), so switching is a rotation and tokens of the
//! old key verify until it is retired. Keys live in the table — public parts readable by every
//! function, private parts sealed (`crate::sealing`) and opened only by a process holding the
//! key-encryption key; functions load them at init and re-read them at most every five minutes,
//! opening each private key once. Verification goes through jsonwebtoken's aws-lc-rs backend,
//! with the algorithm recorded for the token's `kid` only (a header naming another is refused);
//! signing uses an aws-lc-rs key parsed once per key id (jsonwebtoken's `encode` re-parses the
//! PKCS#8 key on every call, even from a kept `EncodingKey`: ~0.4 ms for RSA).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _, RSA_PKCS1_SHA256,
};
use data_encoding::{BASE64, BASE64URL_NOPAD};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::access::AdminRole;
use crate::config::{Config, SigningAlgorithm};
use crate::error::Error;
use crate::ids::{KeyId, PartnerId, SessionId, TenantId, UserId};
use crate::sealing::{Kek, SealError, Sealed};
use crate::store::{SealedSigningKeyRecord, SigningKeyRecord, Store, StoreError};
use crate::time::Timestamp;

/// How long the key set is trusted before it is read again.
const KEY_REFRESH: Duration = Duration::from_secs(300);
/// An unknown `kid` triggers a re-read at most this often (a flood of forged kids must not
/// become a flood of DynamoDB reads).
const UNKNOWN_KID_REFRESH: Duration = Duration::from_secs(30);
/// How soon a key that should sign but did not open is tried again.
const INCOMPLETE_REFRESH: Duration = Duration::from_secs(5);
pub const LEEWAY_SECONDS: u64 = 60;

/// Whether a verification checks `exp` (a logout hint's does not).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expiry {
    Enforced,
    Ignored,
}
/// How long a rotated-in key is published before it signs: an instance re-reads the keys at
/// most `KEY_REFRESH` after its last read, so by then every one knows the new key.
pub const KEY_PUBLISH_DELAY: Duration = Duration::from_secs(KEY_REFRESH.as_secs() + 60);

/// Claims of an admin access token.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AdminClaims {
    pub iss: String,
    pub aud: String,
    pub sub: UserId,
    pub role: AdminRole,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<PartnerId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<TenantId>,
    pub sid: SessionId,
    /// The partner of the user's own tenant (ours): lets the per-request session check read
    /// that partner's status in the same batch as everything else.
    pub home_partner_id: PartnerId,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
    /// The key that signed the token (from its header, once verified): the session check
    /// refuses a token whose key was revoked since.
    #[serde(skip)]
    pub kid: Option<KeyId>,
}

/// Claims of a `client_credentials` token (SPEC §3.1, §4.14): a platform token when the
/// application is GLOBAL (`platform_token: true`), else a tenant-level token (never accepted by
/// the admin API).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ClientClaims {
    pub iss: String,
    pub aud: String,
    /// The application's id, as `client_id`.
    pub sub: String,
    pub client_id: String,
    /// Space-separated.
    pub scope: String,
    /// `GLOBAL`, `PARTNER` or `TENANT`.
    pub app_scope: String,
    pub platform_token: bool,
    /// Always `client_credentials`.
    pub token_type: String,
    /// The tenant a tenant-level token was issued for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<TenantId>,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
}

/// Where [`KeyRing::verify_issued_by`] puts the key id that signed the token (from its header).
pub const KID_CLAIM: &str = "_kid";

/// Whether a token's `aud` (a string or a list) names `audience`.
pub fn audience_holds(claims: &Value, audience: &str) -> bool {
    match claims.get("aud") {
        Some(Value::String(aud)) => aud == audience,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(audience)),
        _ => false,
    }
}

/// A verified access token, by kind.
#[derive(Clone, Debug, PartialEq)]
pub enum Verified {
    Admin(AdminClaims),
    /// A platform token, and the key that signed it.
    Platform(ClientClaims, Option<KeyId>),
    /// Any other valid token (a PARTNER or TENANT application's): 403 on the admin API.
    Other,
}

/// A new signing key of algorithm `alg` (RSA 2048 or P-256), generated by the CLI: its public
/// record and its private part (PKCS#8), sealed under `kek`.
pub async fn generate_signing_key(
    kek: &Kek,
    alg: SigningAlgorithm,
) -> Result<(SigningKeyRecord, SealedSigningKeyRecord), Error> {
    let kid = KeyId::generate();
    let mut record = SigningKeyRecord {
        kid: kid.clone(),
        alg,
        n: None,
        e: None,
        crv: None,
        x: None,
        y: None,
        created_at: Timestamp::now(),
        signs_from: None,
        retired_at: None,
        revoked_at: None,
        plaintext_private_key: None,
    };
    let pkcs8: Vec<u8> = match alg {
        SigningAlgorithm::Rs256 => {
            let pair = RsaKeyPair::generate(KeySize::Rsa2048)
                .map_err(|_| Error::internal("RSA key generation failed"))?;
            let public = pair.public_key();
            record.n =
                Some(BASE64URL_NOPAD.encode(public.modulus().big_endian_without_leading_zero()));
            record.e =
                Some(BASE64URL_NOPAD.encode(public.exponent().big_endian_without_leading_zero()));
            pair.as_der()
                .map_err(|_| Error::internal("RSA key export failed"))?
                .as_ref()
                .to_vec()
        }
        SigningAlgorithm::Es256 => {
            let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                .map_err(|_| Error::internal("EC key generation failed"))?;
            // Uncompressed point: 0x04 ‖ x ‖ y, 32 bytes each on P-256.
            let point = pair.public_key().as_ref();
            let (Some(x), Some(y)) = (point.get(1..33), point.get(33..65)) else {
                return Err(Error::internal("EC public key of an unexpected form"));
            };
            record.crv = Some(P256.into());
            record.x = Some(BASE64URL_NOPAD.encode(x));
            record.y = Some(BASE64URL_NOPAD.encode(y));
            pair.to_pkcs8v1()
                .map_err(|_| Error::internal("EC key export failed"))?
                .as_ref()
                .to_vec()
        }
    };
    let sealed = seal_private_key(kek, &kid, &pkcs8).await?;
    Ok((record, sealed))
}

/// The JWK `crv` of ES256 keys.
const P256: &str = "P-256";

/// Seals a private key (PKCS#8 DER) for `kid` under `kek`: its stored form.
pub async fn seal_private_key(
    kek: &Kek,
    kid: &KeyId,
    pkcs8: &[u8],
) -> Result<SealedSigningKeyRecord, Error> {
    let sealed = kek
        .seal(kid.as_str(), pkcs8)
        .await
        .map_err(Error::internal)?;
    Ok(SealedSigningKeyRecord {
        kid: kid.clone(),
        kek: sealed.kek,
        wrapped_key: BASE64.encode(&sealed.wrapped_key),
        ciphertext: BASE64.encode(&sealed.ciphertext),
        created_at: Timestamp::now(),
    })
}

/// Whether a key's sealed private part opens under `kek` as a key of the record's algorithm
/// (the CLI's check before it counts a key as signing).
pub async fn opens(kek: &Kek, record: &SigningKeyRecord, sealed: &SealedSigningKeyRecord) -> bool {
    open_private_key(kek, record.alg, sealed).await.is_ok()
}

/// A private key, opened and parsed once: what signs.
#[derive(Clone)]
enum PrivateKey {
    Rsa(Arc<RsaKeyPair>),
    Ec(Arc<EcdsaKeyPair>),
}

impl PrivateKey {
    /// The JWS signature of `message`: RSASSA-PKCS1-v1_5 SHA-256, or ECDSA P-256 SHA-256 as
    /// `r ‖ s` (the fixed form JWS requires).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        match self {
            Self::Rsa(pair) => {
                let mut signature = vec![0u8; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &rng, message, &mut signature)
                    .map_err(|_| Error::internal("RSA signing failed"))?;
                Ok(signature)
            }
            Self::Ec(pair) => Ok(pair
                .sign(&rng, message)
                .map_err(|_| Error::internal("ECDSA signing failed"))?
                .as_ref()
                .to_vec()),
        }
    }
}

/// Opens a sealed private key as a key of algorithm `alg`: the key pair that signs.
async fn open_private_key(
    kek: &Kek,
    alg: SigningAlgorithm,
    sealed: &SealedSigningKeyRecord,
) -> Result<PrivateKey, SealError> {
    let bytes = |text: &str| {
        BASE64
            .decode(text.as_bytes())
            .map_err(|_| SealError::DoesNotOpen("not base64".into()))
    };
    let pkcs8 = kek
        .open(
            sealed.kid.as_str(),
            &Sealed {
                kek: sealed.kek.clone(),
                wrapped_key: bytes(&sealed.wrapped_key)?,
                ciphertext: bytes(&sealed.ciphertext)?,
            },
        )
        .await?;
    match alg {
        SigningAlgorithm::Rs256 => RsaKeyPair::from_pkcs8(&pkcs8)
            .map(|pair| PrivateKey::Rsa(Arc::new(pair)))
            .map_err(|_| SealError::DoesNotOpen("not an RSA key".into())),
        SigningAlgorithm::Es256 => {
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8)
                .map(|pair| PrivateKey::Ec(Arc::new(pair)))
                .map_err(|_| SealError::DoesNotOpen("not a P-256 key".into()))
        }
    }
}

struct Signer {
    kid: KeyId,
    key: PrivateKey,
    /// The JWT header of its tokens (`alg`, `typ`, `kid`), base64url, made once.
    header: String,
    /// The key's record: when it signs.
    record: SigningKeyRecord,
}

struct Verifier {
    /// The one algorithm this key verifies.
    alg: SigningAlgorithm,
    key: DecodingKey,
    jwk: Value,
}

impl Verifier {
    /// From a key's public record; None if the public part is missing or unreadable.
    fn of(record: &SigningKeyRecord) -> Option<Self> {
        let b64 = |text: &Option<String>, len: Option<usize>| -> Option<String> {
            let text = text.as_ref()?;
            let bytes = BASE64URL_NOPAD.decode(text.as_bytes()).ok()?;
            (!bytes.is_empty() && len.is_none_or(|l| bytes.len() == l)).then(|| text.clone())
        };
        let (key, jwk) = match record.alg {
            SigningAlgorithm::Rs256 => {
                let (n, e) = (b64(&record.n, None)?, b64(&record.e, None)?);
                let key = DecodingKey::from_rsa_components(&n, &e).ok()?;
                (
                    key,
                    json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": record.kid, "n": n, "e": e}),
                )
            }
            SigningAlgorithm::Es256 => {
                if record.crv.as_deref() != Some(P256) {
                    return None;
                }
                let (x, y) = (b64(&record.x, Some(32))?, b64(&record.y, Some(32))?);
                let key = DecodingKey::from_ec_components(&x, &y).ok()?;
                (
                    key,
                    json!({"kty": "EC", "use": "sig", "alg": "ES256", "kid": record.kid, "crv": P256, "x": x, "y": y}),
                )
            }
        };
        Some(Self {
            alg: record.alg,
            key,
            jwk,
        })
    }
}

/// The JOSE algorithm of a key's tokens.
fn jose(alg: SigningAlgorithm) -> Algorithm {
    match alg {
        SigningAlgorithm::Rs256 => Algorithm::RS256,
        SigningAlgorithm::Es256 => Algorithm::ES256,
    }
}

#[derive(Default)]
struct Loaded {
    /// Every key that signs now or will (a rotated-in key waits out its publication); the
    /// signer is chosen at signing time.
    signers: Vec<Arc<Signer>>,
    verifiers: HashMap<String, Arc<Verifier>>,
    cursor_secret: Option<Arc<Vec<u8>>>,
    /// Private keys opened so far, by key id: each is decrypted and parsed once per instance.
    opened: HashMap<KeyId, PrivateKey>,
    /// A key that should sign did not open (KMS unreachable, say): retry soon, not in 5 min.
    incomplete: bool,
    loaded_at: Option<Instant>,
    last_unknown_kid_refresh: Option<Instant>,
    /// Keys this instance saw revoked (their mark read in a request's batch): never signing
    /// again here, whatever a re-read of the key set — which may lag the mark — says.
    revoked: std::collections::HashSet<KeyId>,
}

/// The signing keys and cursor secret, cached from the table. With a key-encryption key it
/// also signs (admin-auth, the local server); without one it only verifies.
#[derive(Clone)]
pub struct KeyRing {
    store: Store,
    kek: Option<Kek>,
    access_ttl: Duration,
    issuer: String,
    audience: String,
    /// The algorithm this deployment makes new keys in (what discovery names while no key is
    /// loaded).
    algorithm: SigningAlgorithm,
    loaded: Arc<RwLock<Loaded>>,
}

impl KeyRing {
    pub fn new(store: Store, config: &Config, kek: Option<Kek>) -> Self {
        Self {
            store,
            kek,
            access_ttl: config.access_token_ttl,
            issuer: config.token_issuer.clone(),
            audience: config.token_audience.clone(),
            algorithm: config.signing_algorithm,
            loaded: Arc::new(RwLock::new(Loaded::default())),
        }
    }

    /// Reads the keys from the table now; with a key-encryption key, also the sealed private
    /// parts (same time, their own partition), opening those not opened yet.
    pub async fn reload(&self) -> Result<(), StoreError> {
        let (material, sealed) = match &self.kek {
            Some(_) => {
                let (material, sealed) = tokio::join!(
                    self.store.find_signing_material(),
                    self.store.find_sealed_signing_keys()
                );
                let sealed = sealed.unwrap_or_else(|err| {
                    tracing::error!(error = %err, "could not read the sealed signing keys");
                    Vec::new()
                });
                (material?, sealed)
            }
            None => (self.store.find_signing_material().await?, Vec::new()),
        };
        let (records, cursor_secret) = material;
        let now = Timestamp::now();
        // A retired key verifies as long as a token it signed can live: admin tokens live
        // `access_ttl`, the sign-in's and the applications' tokens up to the longest
        // `token_lifetime` an application may have.
        let longest_application_token =
            Duration::from_secs(crate::applications::rules::TOKEN_LIFETIME.1.unsigned_abs());
        let publish_for =
            self.access_ttl.max(longest_application_token) + Duration::from_secs(LEEWAY_SECONDS);
        let mut opened = self
            .loaded
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .opened
            .clone();
        let mut incomplete = false;
        let mut verifiers = HashMap::new();
        let mut signers: Vec<Arc<Signer>> = Vec::new();
        let mut still_signing = Vec::new();
        for record in records {
            if record.plaintext_private_key.is_some() {
                tracing::warn!(kid = %record.kid, "a signing key's private part is stored in plaintext: run `scaikey keys seal`");
            }
            let still_verifies = record.revoked_at.is_none()
                && record.retired_at.is_none_or(|r| r.plus(publish_for) > now);
            if !still_verifies {
                continue;
            }
            let Some(verifier) = Verifier::of(&record) else {
                tracing::error!(kid = %record.kid, alg = %record.alg, "signing key has an unreadable public part");
                continue;
            };
            verifiers.insert(record.kid.to_string(), Arc::new(verifier));
            // Keys that sign now or later; at signing time the newest that signs then is used
            // (ids sort by creation time).
            let Some(kek) = &self.kek else { continue };
            if record.retired_at.is_some_and(|r| r <= now) {
                continue;
            }
            still_signing.push(record.kid.clone());
            if !opened.contains_key(&record.kid) {
                let pair = match sealed.iter().find(|s| s.kid == record.kid) {
                    Some(part) => open_private_key(kek, record.alg, part).await,
                    None => Err(SealError::DoesNotOpen("no sealed private part".into())),
                };
                match pair {
                    Ok(pair) => {
                        opened.insert(record.kid.clone(), pair);
                    }
                    Err(err) => {
                        incomplete = true;
                        tracing::error!(kid = %record.kid, error = %err, "signing key could not be opened");
                        continue;
                    }
                }
            }
            if let Some(key) = opened.get(&record.kid) {
                let header = json!({"alg": record.alg.as_str(), "typ": "JWT", "kid": record.kid});
                signers.push(Arc::new(Signer {
                    kid: record.kid.clone(),
                    key: key.clone(),
                    header: BASE64URL_NOPAD.encode(header.to_string().as_bytes()),
                    record: record.clone(),
                }));
            }
        }
        opened.retain(|kid, _| still_signing.contains(kid));
        let mut loaded = self.loaded.write().unwrap_or_else(|p| p.into_inner());
        signers.retain(|s| !loaded.revoked.contains(&s.kid));
        signers.sort_by(|a, b| b.kid.cmp(&a.kid));
        loaded.signers = signers;
        loaded.verifiers = verifiers;
        loaded.cursor_secret = cursor_secret.map(Arc::new);
        loaded.opened = opened;
        loaded.incomplete = incomplete;
        loaded.loaded_at = Some(Instant::now());
        Ok(())
    }

    fn is_stale(&self) -> bool {
        let loaded = self.loaded.read().unwrap_or_else(|p| p.into_inner());
        let refresh = if loaded.incomplete {
            INCOMPLETE_REFRESH
        } else {
            KEY_REFRESH
        };
        loaded.loaded_at.is_none_or(|at| at.elapsed() > refresh)
    }

    /// Re-reads the keys when the cache is older than five minutes. A failed re-read keeps the
    /// old keys (and is logged): a DynamoDB blip must not log everybody out.
    pub async fn refresh_if_stale(&self) {
        if self.is_stale()
            && let Err(err) = self.reload().await
        {
            tracing::warn!(error = %err, "could not re-read signing keys; keeping the cached ones");
        }
    }

    fn verifier(&self, kid: &str) -> Option<Arc<Verifier>> {
        self.loaded
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .verifiers
            .get(kid)
            .cloned()
    }

    async fn verifier_refreshing(&self, kid: &str) -> Option<Arc<Verifier>> {
        self.refresh_if_stale().await;
        if let Some(v) = self.verifier(kid) {
            return Some(v);
        }
        // A key rotated in by another function since our last read.
        let may_refresh = {
            let mut loaded = self.loaded.write().unwrap_or_else(|p| p.into_inner());
            let ok = loaded
                .last_unknown_kid_refresh
                .is_none_or(|at| at.elapsed() > UNKNOWN_KID_REFRESH);
            if ok {
                loaded.last_unknown_kid_refresh = Some(Instant::now());
            }
            ok
        };
        if may_refresh && self.reload().await.is_ok() {
            return self.verifier(kid);
        }
        None
    }

    /// The secret that signs pagination cursors.
    pub async fn cursor_secret(&self) -> Result<Arc<Vec<u8>>, Error> {
        self.refresh_if_stale().await;
        self.loaded
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .cursor_secret
            .clone()
            .ok_or_else(|| {
                Error::internal("no cursor secret in the table; run `scaikey bootstrap`")
            })
    }

    /// The revocation mark of the key that signs now, for a request that will sign to read in
    /// a batch it makes anyway ([`KeyRing::sign_unless_revoked`]): an emergency revoke then
    /// stops the key signing on this instance from the moment it commits, not when the cache
    /// next expires.
    pub async fn signing_revocation_mark(&self) -> Option<crate::store::Key> {
        // A process that never signs has no mark to read.
        self.kek.as_ref()?;
        self.refresh_if_stale().await;
        let now = Timestamp::now();
        self.loaded
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .signers
            .iter()
            .find(|s| s.record.signs_at(now))
            .map(|s| crate::store::keys::key_revocation(&s.kid))
    }

    /// Signs as [`KeyRing::sign`], after reading the key set again if `loaded` (a batch that
    /// read [`KeyRing::signing_revocation_mark`]) shows the key that signs now revoked: the
    /// revoked key is then left out and the next one signs.
    pub async fn sign_unless_revoked<C: Serialize>(
        &self,
        claims: &C,
        mark: Option<&crate::store::Key>,
        loaded: &crate::store::Loaded,
    ) -> Result<String, Error> {
        if let Some(mark) = mark.filter(|m| loaded.has(m)) {
            // Dropped here at once, so it signs nothing more on this instance even if the
            // re-read fails or lags; with no other key, signing fails (500) rather than use it.
            if let Some(kid) = crate::store::keys::revoked_key_of(mark) {
                let mut cached = self.loaded.write().unwrap_or_else(|p| p.into_inner());
                cached.signers.retain(|s| s.kid != kid);
                cached.opened.remove(&kid);
                cached.revoked.insert(kid);
            }
            if let Err(err) = self.reload().await {
                tracing::warn!(error = %err, "could not re-read signing keys after a revocation");
            }
        }
        self.sign(claims).await
    }

    /// Signs claims (an admin's, or a client's) with the key that signs now.
    pub async fn sign<C: Serialize>(&self, claims: &C) -> Result<String, Error> {
        if self.kek.is_none() {
            return Err(Error::internal(
                "this process has no key-encryption key: it verifies tokens but never signs",
            ));
        }
        self.refresh_if_stale().await;
        let now = Timestamp::now();
        let signer = self
            .loaded
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .signers
            .iter()
            .find(|s| s.record.signs_at(now))
            .cloned()
            .ok_or_else(|| {
                Error::internal("no signing key opens; run `scaikey bootstrap` or check the KEK")
            })?;
        let mut message = String::with_capacity(768);
        message.push_str(&signer.header);
        message.push('.');
        BASE64URL_NOPAD.encode_append(
            &serde_json::to_vec(claims).map_err(Error::internal)?,
            &mut message,
        );
        let signature = signer.key.sign(message.as_bytes())?;
        message.push('.');
        message.push_str(&BASE64URL_NOPAD.encode(&signature));
        Ok(message)
    }

    /// Verifies an access token: a known `kid`, signed with the one algorithm recorded for that
    /// key (RS256 or ES256; a header naming another — alg confusion — is refused), `iss`,
    /// `aud`, `exp`/`nbf` with 60 s leeway — any failure is the same 401 — then tells what it
    /// is: an admin's, a platform token (a GLOBAL application's `client_credentials` token), or
    /// another (403 on the admin API).
    pub async fn verify(&self, token: &str) -> Result<Verified, Error> {
        let claims = self.verified_claims(token, Expiry::Enforced).await?;
        // Ours, but issued by a tenant's issuer or for a client (a user's or a tenant client's
        // token): a valid token the admin API does not take (403, not 401).
        let for_admin_api = claims.get("iss").and_then(Value::as_str) == Some(self.issuer.as_str())
            && audience_holds(&claims, &self.audience);
        if !for_admin_api {
            return Ok(Verified::Other);
        }
        let kid = claims
            .get(KID_CLAIM)
            .and_then(Value::as_str)
            .and_then(|k| KeyId::parse(k).ok());
        if claims.get("platform_token").and_then(Value::as_bool) == Some(true) {
            let client: ClientClaims =
                serde_json::from_value(claims).map_err(|_| Error::InvalidToken)?;
            return Ok(if client.app_scope == "GLOBAL" {
                Verified::Platform(client, kid)
            } else {
                Verified::Other
            });
        }
        if claims.get("sid").is_some() && claims.get("role").is_some() {
            let admin: AdminClaims =
                serde_json::from_value(claims).map_err(|_| Error::InvalidToken)?;
            return Ok(Verified::Admin(AdminClaims { kid, ..admin }));
        }
        Ok(Verified::Other)
    }

    /// Verifies a token issued by `issuer` (a tenant's, or the platform's sign-in), whatever
    /// its audience: the signature (algorithm pinned to the key's), `exp`/`nbf` with 60 s
    /// leeway, and `iss` exactly. The caller checks the audience and what the claims say.
    pub async fn verify_issued_by(&self, token: &str, issuer: &str) -> Result<Value, Error> {
        let claims = self.verified_claims(token, Expiry::Enforced).await?;
        if claims.get("iss").and_then(Value::as_str) != Some(issuer) {
            return Err(Error::InvalidToken);
        }
        Ok(claims)
    }

    /// A token of `issuer` as a hint (an RP-initiated logout's `id_token_hint`): signed by one
    /// of our keys, `iss` exactly, and expired or not (OpenID Connect RP-Initiated Logout §2:
    /// a hint is usually an ID token past its life).
    pub async fn verify_hint(&self, token: &str, issuer: &str) -> Result<Value, Error> {
        let claims = self.verified_claims(token, Expiry::Ignored).await?;
        if claims.get("iss").and_then(Value::as_str) != Some(issuer) {
            return Err(Error::InvalidToken);
        }
        Ok(claims)
    }

    /// The claims of a token signed by one of our keys with its recorded algorithm, not
    /// expired nor early (`exp`, and `nbf` when present, with leeway; `exp` unchecked for
    /// [`Expiry::Ignored`]), carrying `iss`, `aud`, `sub`, `exp`; the key id is added as
    /// [`KID_CLAIM`].
    async fn verified_claims(&self, token: &str, expiry: Expiry) -> Result<Value, Error> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| Error::InvalidToken)?;
        // Refused before any key lookup: an algorithm no key of ours has.
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(Error::InvalidToken);
        }
        let kid = header.kid.ok_or(Error::InvalidToken)?;
        let verifier = self
            .verifier_refreshing(&kid)
            .await
            .ok_or(Error::InvalidToken)?;
        let alg = jose(verifier.alg);
        if header.alg != alg {
            return Err(Error::InvalidToken);
        }
        let mut validation = Validation::new(alg);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_nbf = true;
        validation.validate_exp = expiry == Expiry::Enforced;
        // Issuer and audience are the callers' to judge: the admin API takes only its own,
        // a tenant's endpoints only the tenant's.
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let mut claims = jsonwebtoken::decode::<Value>(token, &verifier.key, &validation)
            .map_err(|_| Error::InvalidToken)?
            .claims;
        if let Some(map) = claims.as_object_mut() {
            map.insert(KID_CLAIM.to_owned(), Value::String(kid));
        }
        Ok(claims)
    }

    /// The JWKS document: every key that may still verify a live token.
    pub async fn jwks(&self) -> Value {
        self.refresh_if_stale().await;
        let loaded = self.loaded.read().unwrap_or_else(|p| p.into_inner());
        let mut keys: Vec<&Value> = loaded.verifiers.values().map(|v| &v.jwk).collect();
        keys.sort_by(|a, b| b["kid"].as_str().cmp(&a["kid"].as_str()));
        json!({ "keys": keys })
    }

    /// The algorithms of the keys that may still verify a live token (what discovery
    /// advertises), RS256 first; while none is loaded, the one new keys are made in.
    pub async fn algorithms(&self) -> Vec<SigningAlgorithm> {
        self.refresh_if_stale().await;
        let loaded = self.loaded.read().unwrap_or_else(|p| p.into_inner());
        let mut algs: Vec<SigningAlgorithm> = loaded.verifiers.values().map(|v| v.alg).collect();
        algs.sort_unstable();
        algs.dedup();
        if algs.is_empty() {
            algs.push(self.algorithm);
        }
        algs
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn audience(&self) -> &str {
        &self.audience
    }
}
