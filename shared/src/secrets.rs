//! Randomness, hashing and MACs for opaque secrets (refresh tokens, cursors), on aws-lc-rs,
//! which the AWS SDK already brings.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::{constant_time, digest, hmac};
use data_encoding::{BASE64URL_NOPAD, HEXLOWER};

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // The operating system's generator (getrandom(2)), not aws-lc's: aws-lc seeds its own on
    // first use, which took 35–70 ms here — most of a sign-in Lambda's cold start, since its
    // first request draws a nonce. The system RNG failing is not survivable in a security
    // service.
    getrandom::fill(&mut bytes).expect("the system random generator works");
    bytes
}

/// Seeds aws-lc's own generator (what its ECDSA signatures, RSA blinding and TLS handshakes
/// draw from) — CPU work of tens of milliseconds, done once at start-up beside the first reads
/// rather than inside a request.
pub fn seed_aws_lc() {
    let mut byte = [0u8; 1];
    if SystemRandom::new().fill(&mut byte).is_err() {
        tracing::warn!("aws-lc's random generator could not be seeded at start-up");
    }
}

/// 256 bits of randomness, URL-safe.
pub fn random_token() -> String {
    BASE64URL_NOPAD.encode(&random_bytes::<32>())
}

/// A uniformly random number in `0..bound` (bound > 0).
pub fn random_below(bound: u64) -> u64 {
    u64::from_le_bytes(random_bytes::<8>()) % bound.max(1)
}

/// SHA-256, hex: how refresh tokens are stored.
pub fn sha256_hex(text: &str) -> String {
    HEXLOWER.encode(digest::digest(&digest::SHA256, text.as_bytes()).as_ref())
}

pub fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), message)
        .as_ref()
        .to_vec()
}

pub fn hmac_verify(key: &[u8], message: &[u8], tag: &[u8]) -> bool {
    hmac::verify(&hmac::Key::new(hmac::HMAC_SHA256, key), message, tag).is_ok()
}

pub fn equal_in_constant_time(a: &[u8], b: &[u8]) -> bool {
    constant_time::verify_slices_are_equal(a, b).is_ok()
}

/// A password for the first admin when none was given: 24 URL-safe random characters.
pub fn generate_password() -> String {
    BASE64URL_NOPAD.encode(&random_bytes::<18>())
}
