//! Password hashing: argon2id, m = 19456 KiB, t = 2, p = 1 (SPEC §5).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::Error;

fn hasher() -> Argon2<'static> {
    // The parameters are constants within argon2's accepted ranges.
    let params = Params::new(19_456, 2, 1, None).expect("argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A PHC string. CPU-bound (~14 ms): call it from `spawn_blocking` on a request path.
pub fn hash(password: &str) -> Result<String, Error> {
    let salt =
        SaltString::encode_b64(&crate::secrets::random_bytes::<16>()).map_err(Error::internal)?;
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(Error::internal)
}

/// Checks a password against a PHC string; a malformed hash verifies as false.
pub fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|parsed| {
        hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A hash of a random password with the same parameters: logins for unknown emails verify
/// against it so their timing matches a real miss.
pub const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2NhaWtleS1kdW1teS1zYWx0$0m5ZCVPp8bU4o4xo1y7t1zHj8o9cVvGqQG4b0e3tqzE";

/// Runs the CPU-heavy verification off the async workers.
pub async fn verify_blocking(password: String, phc: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let phc = phc.as_deref().unwrap_or(DUMMY_HASH);
        let ok = verify(&password, phc);
        ok && phc != DUMMY_HASH
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let phc = hash("correct horse battery staple").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("correct horse battery staple", &phc));
        assert!(!verify("wrong", &phc));
        assert!(!verify("anything", "not a hash"));
    }

    #[test]
    fn the_dummy_hash_parses_with_the_real_parameters() {
        // If it did not parse, unknown-email logins would skip the argon2 work and be faster.
        let parsed = PasswordHash::new(DUMMY_HASH).unwrap();
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
        assert!(!verify("x", DUMMY_HASH));
    }
}
