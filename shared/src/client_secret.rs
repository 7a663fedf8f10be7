//! Client secrets: 256 random bits, shown once, stored as an HMAC-SHA256 under the client-secret
//! key (`crate::credentials`: sealed, opened only by the functions that make or check client
//! secrets). A secret this random needs no slow hash (argon2 would cap token
//! grants near 70 per CPU-second); keying the hash means a copy of the table alone does not
//! even allow checking a guess. Used by the applications, agents and registration-requests
//! groups (create, rotate, approve) and the OAuth token endpoint (client authentication).

use crate::error::Result;
use crate::state::AppState;

/// A new secret: 43 URL-safe characters (256 bits).
pub fn generate() -> String {
    crate::secrets::random_token()
}

/// The stored form of a secret (hex).
pub async fn hash(state: &AppState, secret: &str) -> Result<String> {
    let key = state.credentials().client_secret_key().await?;
    Ok(data_encoding::HEXLOWER.encode(&crate::secrets::hmac_sha256(
        key.as_bytes(),
        secret.as_bytes(),
    )))
}

/// Whether `secret` is the one `stored` (a [`hash`]) was made from, in constant time.
pub async fn matches(state: &AppState, secret: &str, stored: &str) -> Result<bool> {
    let candidate = hash(state, secret).await?;
    Ok(crate::secrets::equal_in_constant_time(
        candidate.as_bytes(),
        stored.as_bytes(),
    ))
}
