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

/// A tenant's `settings.password_policy` (SPEC §4.3): `min_length` (default 12) and the
/// `require_*` character classes. Every password set for a user of the tenant must pass it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    pub min_length: usize,
    pub require_upper: bool,
    pub require_lower: bool,
    pub require_digit: bool,
    pub require_symbol: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            min_length: 12,
            require_upper: false,
            require_lower: false,
            require_digit: false,
            require_symbol: false,
        }
    }
}

impl Policy {
    /// The policy of a tenant's settings (validated when they were written; absent keys take
    /// their defaults).
    pub fn of_settings(settings: &serde_json::Map<String, serde_json::Value>) -> Self {
        let mut policy = Self::default();
        let Some(given) = settings.get("password_policy").and_then(|v| v.as_object()) else {
            return policy;
        };
        let flag = |name: &str| given.get(name).and_then(|v| v.as_bool()).unwrap_or(false);
        if let Some(n) = given.get("min_length").and_then(|v| v.as_u64()) {
            policy.min_length = n as usize;
        }
        policy.require_upper = flag("require_upper");
        policy.require_lower = flag("require_lower");
        policy.require_digit = flag("require_digit");
        policy.require_symbol = flag("require_symbol");
        policy
    }

    /// The first rule `password` breaks, named, or `Ok`.
    pub fn check(&self, password: &str) -> Result<(), crate::validation::Problem> {
        use crate::validation::Problem;
        if password.chars().count() < self.min_length {
            return Err(Problem::new(
                "string_too_short",
                format!(
                    "String should have at least {} characters (password_policy.min_length)",
                    self.min_length
                ),
            ));
        }
        let classes = [
            (self.require_upper, "an upper-case letter", "require_upper"),
            (self.require_lower, "a lower-case letter", "require_lower"),
            (self.require_digit, "a digit", "require_digit"),
            (self.require_symbol, "a symbol", "require_symbol"),
        ];
        let has = |rule: &str| match rule {
            "require_upper" => password.chars().any(char::is_uppercase),
            "require_lower" => password.chars().any(char::is_lowercase),
            "require_digit" => password.chars().any(|c| c.is_ascii_digit()),
            _ => password
                .chars()
                .any(|c| !c.is_alphanumeric() && !c.is_whitespace()),
        };
        for (required, what, rule) in classes {
            if required && !has(rule) {
                return Err(Problem::value_error(format!(
                    "the password must contain {what} (password_policy.{rule})"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod policy_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_policy_names_the_rule_a_password_breaks() {
        let default = Policy::default();
        assert!(
            default
                .check("short")
                .unwrap_err()
                .msg
                .contains("min_length")
        );
        assert!(default.check("twelve chars").is_ok());
        let settings = json!({"password_policy": {"min_length": 8, "require_digit": true, "require_symbol": true}});
        let strict = Policy::of_settings(settings.as_object().unwrap());
        assert_eq!(strict.min_length, 8);
        assert!(
            strict
                .check("abcdefgh")
                .unwrap_err()
                .msg
                .contains("require_digit")
        );
        assert!(
            strict
                .check("abcdefg1")
                .unwrap_err()
                .msg
                .contains("require_symbol")
        );
        assert!(strict.check("abcdef1!").is_ok());
    }
}
