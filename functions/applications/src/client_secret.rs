//! Client secrets: 256 random bits, shown once, stored as an HMAC-SHA256 under a key derived
//! from the table's server secret. A secret this random needs no slow hash (argon2 would cap
//! token grants near 70 per CPU-second); keying the hash means a copy of the table alone does
//! not even allow checking a guess.

use shared::error::Result;
use shared::state::AppState;

/// A new secret: 43 URL-safe characters (256 bits).
pub fn generate() -> String {
    shared::secrets::random_token()
}

/// The stored form of a secret (hex).
pub async fn hash(state: &AppState, secret: &str) -> Result<String> {
    let server = state.keys().cursor_secret().await?;
    // Domain separation: the server secret also signs list cursors and refresh tokens.
    let key = shared::secrets::hmac_sha256(&server, b"scaikey client-secret key v1");
    Ok(data_encoding::HEXLOWER.encode(&shared::secrets::hmac_sha256(&key, secret.as_bytes())))
}
