//! Typed configuration, read once from the environment at start-up.

use std::time::Duration;

/// Everything a function or the CLI needs to know about its surroundings.
#[derive(Clone, Debug)]
pub struct Config {
    pub table_name: String,
    /// Set for DynamoDB Local; unset in AWS.
    pub dynamodb_endpoint: Option<String>,
    pub region: String,
    /// The API's public base URL (`SCAIKEY_PUBLIC_URL`; `http://127.0.0.1:3000` by default):
    /// what issuers, discovery documents and redirects are built from — never the request's
    /// `Host`. No trailing slash.
    pub public_url: String,
    /// The platform issuer: `iss` of admin tokens, platform tokens and the platform's sign-in
    /// (`SCAIKEY_TOKEN_ISSUER`; unset or empty: `{public_url}/api/v1/platform/oauth`).
    pub token_issuer: String,
    pub token_audience: String,
    pub access_token_ttl: Duration,
    pub session_ttl: Duration,
    pub audit_retention_days: u32,
    /// Whether `/docs` (the interactive API page) is served: `SCAIKEY_DOCS=on|off`, on by
    /// default; the SAM template's `ServeDocs` parameter decides in AWS.
    pub docs_enabled: bool,
    /// What seals the signing keys' private parts (`shared::sealing`).
    pub key_encryption: KeyEncryption,
    /// The algorithm of the signing keys this deployment makes from now on
    /// (`SCAIKEY_SIGNING_ALGORITHM=RS256|ES256`, RS256 by default). Keys made before keep
    /// their own: switching is a rotation (`scaikey keys rotate`).
    pub signing_algorithm: SigningAlgorithm,
}

/// A signing key's algorithm: RSASSA-PKCS1-v1_5 with SHA-256 over a 2048-bit key, or ECDSA
/// over P-256 with SHA-256. Stored on each key record as `alg` (absent: RS256, the only one
/// before ES256 existed).
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
)]
pub enum SigningAlgorithm {
    #[default]
    #[serde(rename = "RS256")]
    Rs256,
    #[serde(rename = "ES256")]
    Es256,
}

impl SigningAlgorithm {
    /// The JOSE name (`alg` of a JWT header and of a JWK).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
        }
    }

    /// `RS256` or `ES256`, in any case, blanks around ignored.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_uppercase().as_str() {
            "RS256" => Some(Self::Rs256),
            "ES256" => Some(Self::Es256),
            _ => None,
        }
    }
}

impl std::fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The key-encryption key under which signing keys' private parts are sealed: a KMS key in AWS
/// (`SCAIKEY_KMS_KEY_ID`, with `KMS_ENDPOINT` for an emulator), or for local development a
/// 256-bit key in a file (`SCAIKEY_LOCAL_KEK_FILE`), accepted only next to a local DynamoDB.
/// None: the process verifies tokens but never signs one nor creates a key.
#[derive(Clone, Debug, PartialEq)]
pub enum KeyEncryption {
    None,
    Kms {
        key_id: String,
        endpoint: Option<String>,
    },
    LocalFile(std::path::PathBuf),
}

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {name} = {value:?}: {reason}")]
pub struct ConfigError {
    pub name: &'static str,
    pub value: String,
    pub reason: &'static str,
}

impl Config {
    /// Reads the process environment. Invalid values fail here, at start, with the variable named.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The same, over any lookup (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let text = |name: &'static str, default: &str| -> Result<String, ConfigError> {
            let value = lookup(name).unwrap_or_else(|| default.to_owned());
            if value.trim().is_empty() {
                return Err(ConfigError {
                    name,
                    value,
                    reason: "must not be empty",
                });
            }
            Ok(value)
        };
        let seconds = |name: &'static str, default: u64, min: u64, max: u64| {
            let Some(value) = lookup(name) else {
                return Ok(Duration::from_secs(default));
            };
            match value.trim().parse::<u64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(Duration::from_secs(n)),
                _ => Err(ConfigError {
                    name,
                    value,
                    reason: "must be a whole number of seconds in range",
                }),
            }
        };
        let endpoint = lookup("DYNAMODB_ENDPOINT").filter(|v| !v.trim().is_empty());
        if let Some(value) = &endpoint
            && !(value.starts_with("http://") || value.starts_with("https://"))
        {
            return Err(ConfigError {
                name: "DYNAMODB_ENDPOINT",
                value: value.clone(),
                reason: "must be an http(s) URL",
            });
        }
        let access_token_ttl = seconds("SCAIKEY_ACCESS_TOKEN_TTL_SECONDS", 900, 60, 86_400)?;
        let session_ttl = seconds("SCAIKEY_SESSION_TTL_SECONDS", 43_200, 300, 30 * 86_400)?;
        if session_ttl < access_token_ttl {
            return Err(ConfigError {
                name: "SCAIKEY_SESSION_TTL_SECONDS",
                value: session_ttl.as_secs().to_string(),
                reason: "must not be shorter than the access token lifetime",
            });
        }
        let retention = lookup("SCAIKEY_AUDIT_RETENTION_DAYS").unwrap_or_else(|| "365".into());
        let audit_retention_days = match retention.trim().parse::<u32>() {
            Ok(n) if (1..=3650).contains(&n) => n,
            _ => {
                return Err(ConfigError {
                    name: "SCAIKEY_AUDIT_RETENTION_DAYS",
                    value: retention,
                    reason: "must be a whole number of days, 1..3650",
                });
            }
        };
        let docs_enabled = docs_flag(lookup("SCAIKEY_DOCS"))?;
        let key_encryption = key_encryption(&lookup, endpoint.is_some())?;
        let signing_algorithm = match lookup("SCAIKEY_SIGNING_ALGORITHM") {
            None => SigningAlgorithm::default(),
            Some(value) => SigningAlgorithm::parse(&value).ok_or(ConfigError {
                name: "SCAIKEY_SIGNING_ALGORITHM",
                value,
                reason: "must be RS256 or ES256",
            })?,
        };
        let public_url = public_url(lookup("SCAIKEY_PUBLIC_URL"))?;
        let token_issuer = lookup("SCAIKEY_TOKEN_ISSUER")
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| format!("{public_url}{PLATFORM_ISSUER_PATH}"));
        Ok(Self {
            table_name: text("TABLE_NAME", "scaikey")?,
            region: lookup("AWS_REGION")
                .or_else(|| lookup("AWS_DEFAULT_REGION"))
                .unwrap_or_else(|| "us-east-1".into()),
            dynamodb_endpoint: endpoint,
            public_url,
            token_issuer,
            token_audience: text("SCAIKEY_TOKEN_AUDIENCE", "scaikey-admin")?,
            access_token_ttl,
            session_ttl,
            audit_retention_days,
            docs_enabled,
            key_encryption,
            signing_algorithm,
        })
    }
}

/// Where the platform's issuer lives under the public URL.
pub const PLATFORM_ISSUER_PATH: &str = "/api/v1/platform/oauth";
/// Where a tenant's issuer lives under the public URL, followed by the tenant's slug.
pub const TENANT_ISSUER_PATH: &str = "/api/v1/auth/tenants";

impl Config {
    /// A tenant's issuer: `{public_url}/api/v1/auth/tenants/{slug}`.
    pub fn tenant_issuer(&self, slug: &str) -> String {
        format!("{}{TENANT_ISSUER_PATH}/{slug}", self.public_url)
    }

    /// The path under which a tenant's issuer serves (its cookies' `Path`).
    pub fn tenant_issuer_path(&self, slug: &str) -> String {
        format!("{}{TENANT_ISSUER_PATH}/{slug}", self.public_path())
    }

    /// Where the platform's endpoints are (`{public_url}/api/v1/platform/oauth`): its issuer,
    /// unless `SCAIKEY_TOKEN_ISSUER` names another.
    pub fn platform_base(&self) -> String {
        format!("{}{PLATFORM_ISSUER_PATH}", self.public_url)
    }

    /// The path under which the platform's issuer serves (its cookies' `Path`).
    pub fn platform_issuer_path(&self) -> String {
        format!("{}{PLATFORM_ISSUER_PATH}", self.public_path())
    }

    /// The public URL's own path (empty at a domain's root), for cookie paths.
    pub fn public_path(&self) -> &str {
        let rest = self
            .public_url
            .split_once("://")
            .map_or("", |(_, rest)| rest);
        rest.find('/').map_or("", |i| &rest[i..])
    }

    /// Whether the public URL is plain `http` on a loopback host (local development): cookies
    /// then go without `Secure`, which browsers refuse to send over `http`.
    pub fn is_local_http(&self) -> bool {
        self.public_url.starts_with("http://")
    }
}

/// `SCAIKEY_PUBLIC_URL`: an absolute `https` URL (plain `http` only for `localhost`,
/// `127.0.0.1` or `[::1]`), no query, no fragment; a trailing slash is dropped.
fn public_url(value: Option<String>) -> Result<String, ConfigError> {
    let value = value.filter(|v| !v.trim().is_empty());
    let Some(value) = value else {
        return Ok("http://127.0.0.1:3000".to_owned());
    };
    let refused = |reason: &'static str| ConfigError {
        name: "SCAIKEY_PUBLIC_URL",
        value: value.clone(),
        reason,
    };
    let parsed = url::Url::parse(value.trim()).map_err(|_| refused("must be an absolute URL"))?;
    let loopback = matches!(parsed.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match parsed.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err(refused("must be https (http only for localhost)")),
    }
    if parsed.query().is_some() || parsed.fragment().is_some() || parsed.username() != "" {
        return Err(refused("must have no query, fragment or user"));
    }
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

fn key_encryption(
    lookup: &impl Fn(&str) -> Option<String>,
    local_database: bool,
) -> Result<KeyEncryption, ConfigError> {
    let set = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    let endpoint = set("KMS_ENDPOINT");
    if let Some(value) = &endpoint
        && !(value.starts_with("http://") || value.starts_with("https://"))
    {
        return Err(ConfigError {
            name: "KMS_ENDPOINT",
            value: value.clone(),
            reason: "must be an http(s) URL",
        });
    }
    match (set("SCAIKEY_KMS_KEY_ID"), set("SCAIKEY_LOCAL_KEK_FILE")) {
        (Some(_), Some(file)) => Err(ConfigError {
            name: "SCAIKEY_LOCAL_KEK_FILE",
            value: file,
            reason: "must not be set together with SCAIKEY_KMS_KEY_ID",
        }),
        (Some(key_id), None) => Ok(KeyEncryption::Kms {
            key_id: key_id.trim().to_owned(),
            endpoint,
        }),
        // A key in a file is no protection in AWS: only next to DynamoDB Local.
        (None, Some(file)) if !local_database => Err(ConfigError {
            name: "SCAIKEY_LOCAL_KEK_FILE",
            value: file,
            reason: "is for local development only (needs DYNAMODB_ENDPOINT); use SCAIKEY_KMS_KEY_ID",
        }),
        (None, Some(file)) => Ok(KeyEncryption::LocalFile(file.into())),
        (None, None) => Ok(KeyEncryption::None),
    }
}

/// `SCAIKEY_DOCS=on|off` (on when unset): whether `/docs` is served. Read on its own by the
/// api-docs function, which needs nothing else of the configuration.
pub fn docs_enabled_from_env() -> Result<bool, ConfigError> {
    docs_flag(std::env::var("SCAIKEY_DOCS").ok())
}

fn docs_flag(value: Option<String>) -> Result<bool, ConfigError> {
    let docs = value.unwrap_or_else(|| "on".into());
    match docs.trim() {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(ConfigError {
            name: "SCAIKEY_DOCS",
            value: docs,
            reason: "must be on or off",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let c = config(&[]).unwrap();
        assert_eq!(c.table_name, "scaikey");
        assert_eq!(c.access_token_ttl, Duration::from_secs(900));
        assert_eq!(c.session_ttl, Duration::from_secs(43_200));
        assert!(c.dynamodb_endpoint.is_none());
        assert_eq!(c.signing_algorithm, SigningAlgorithm::Rs256);
        assert_eq!(c.public_url, "http://127.0.0.1:3000");
        assert_eq!(
            c.token_issuer,
            "http://127.0.0.1:3000/api/v1/platform/oauth"
        );
        assert!(c.is_local_http());
    }

    #[test]
    fn issuers_are_built_from_the_public_url() {
        let c = config(&[("SCAIKEY_PUBLIC_URL", "https://id.example.com/base/")]).unwrap();
        assert_eq!(c.public_url, "https://id.example.com/base");
        assert_eq!(
            c.token_issuer,
            "https://id.example.com/base/api/v1/platform/oauth"
        );
        assert_eq!(
            c.tenant_issuer("acme"),
            "https://id.example.com/base/api/v1/auth/tenants/acme"
        );
        assert_eq!(
            c.tenant_issuer_path("acme"),
            "/base/api/v1/auth/tenants/acme"
        );
        assert!(!c.is_local_http());
        let root = config(&[("SCAIKEY_PUBLIC_URL", "https://id.example.com")]).unwrap();
        assert_eq!(root.tenant_issuer_path("acme"), "/api/v1/auth/tenants/acme");
        let named = config(&[("SCAIKEY_TOKEN_ISSUER", "scaikey")]).unwrap();
        assert_eq!(named.token_issuer, "scaikey");
        for bad in [
            "http://id.example.com",
            "ftp://localhost",
            "https://id.example.com/?a=1",
            "https://id.example.com/#x",
            "not a url",
        ] {
            let err = config(&[("SCAIKEY_PUBLIC_URL", bad)]).unwrap_err();
            assert_eq!(err.name, "SCAIKEY_PUBLIC_URL", "{bad}");
        }
    }

    #[test]
    fn the_signing_algorithm_is_rs256_or_es256() {
        for (value, expected) in [
            ("RS256", SigningAlgorithm::Rs256),
            ("ES256", SigningAlgorithm::Es256),
            (" es256 ", SigningAlgorithm::Es256),
            ("rs256", SigningAlgorithm::Rs256),
        ] {
            let c = config(&[("SCAIKEY_SIGNING_ALGORITHM", value)]).unwrap();
            assert_eq!(c.signing_algorithm, expected, "{value}");
        }
        for value in ["", "HS256", "PS256", "ES384", "none", "RS256,ES256"] {
            let err = config(&[("SCAIKEY_SIGNING_ALGORITHM", value)]).unwrap_err();
            assert_eq!(err.name, "SCAIKEY_SIGNING_ALGORITHM");
            assert_eq!(err.value, value);
            assert!(err.to_string().contains("must be RS256 or ES256"), "{err}");
        }
    }

    #[test]
    fn the_signing_algorithm_is_stored_by_its_jose_name() {
        assert_eq!(
            serde_json::to_value(SigningAlgorithm::Es256).unwrap(),
            serde_json::json!("ES256")
        );
        assert_eq!(
            serde_json::from_value::<SigningAlgorithm>(serde_json::json!("RS256")).unwrap(),
            SigningAlgorithm::Rs256
        );
        assert_eq!(SigningAlgorithm::Es256.to_string(), "ES256");
    }

    #[test]
    fn invalid_values_are_refused_with_their_name() {
        for (name, value) in [
            ("SCAIKEY_ACCESS_TOKEN_TTL_SECONDS", "soon"),
            ("SCAIKEY_ACCESS_TOKEN_TTL_SECONDS", "5"),
            ("DYNAMODB_ENDPOINT", "localhost:8000"),
            ("TABLE_NAME", " "),
            ("SCAIKEY_AUDIT_RETENTION_DAYS", "0"),
        ] {
            let err = config(&[(name, value)]).unwrap_err();
            assert_eq!(err.name, name);
        }
    }

    #[test]
    fn the_key_encryption_key_is_kms_or_a_local_file_next_to_a_local_database() {
        assert_eq!(config(&[]).unwrap().key_encryption, KeyEncryption::None);
        let kms = config(&[("SCAIKEY_KMS_KEY_ID", "alias/scaikey")]).unwrap();
        assert_eq!(
            kms.key_encryption,
            KeyEncryption::Kms {
                key_id: "alias/scaikey".into(),
                endpoint: None
            }
        );
        let local = config(&[
            ("SCAIKEY_LOCAL_KEK_FILE", "/tmp/kek"),
            ("DYNAMODB_ENDPOINT", "http://127.0.0.1:8000"),
        ])
        .unwrap();
        assert_eq!(
            local.key_encryption,
            KeyEncryption::LocalFile("/tmp/kek".into())
        );
        for pairs in [
            &[("SCAIKEY_LOCAL_KEK_FILE", "/tmp/kek")][..],
            &[
                ("SCAIKEY_LOCAL_KEK_FILE", "/tmp/kek"),
                ("SCAIKEY_KMS_KEY_ID", "alias/scaikey"),
                ("DYNAMODB_ENDPOINT", "http://127.0.0.1:8000"),
            ][..],
        ] {
            assert_eq!(config(pairs).unwrap_err().name, "SCAIKEY_LOCAL_KEK_FILE");
        }
        let err = config(&[("SCAIKEY_KMS_KEY_ID", "k"), ("KMS_ENDPOINT", "localhost:1")]);
        assert_eq!(err.unwrap_err().name, "KMS_ENDPOINT");
    }

    #[test]
    fn a_session_shorter_than_its_access_token_is_refused() {
        let err = config(&[
            ("SCAIKEY_ACCESS_TOKEN_TTL_SECONDS", "3600"),
            ("SCAIKEY_SESSION_TTL_SECONDS", "600"),
        ])
        .unwrap_err();
        assert_eq!(err.name, "SCAIKEY_SESSION_TTL_SECONDS");
    }
}
