//! Resource ids: a type prefix plus 26 lowercase base32 characters of a UUIDv7.
//!
//! The alphabet is Crockford's (digits before letters), so ids sort as their UUIDv7 does: by
//! creation time. Lists use that order directly as their sort key.

use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use data_encoding::{Encoding, Specification};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

static SORTABLE_BASE32: LazyLock<Encoding> = LazyLock::new(|| {
    let mut spec = Specification::new();
    spec.symbols.push_str("0123456789abcdefghjkmnpqrstvwxyz");
    spec.encoding().expect("the base32 alphabet is valid")
});

const BODY_LEN: usize = 26;

fn new_body() -> String {
    SORTABLE_BASE32.encode(uuid::Uuid::now_v7().as_bytes())
}

fn is_valid_body(body: &str) -> bool {
    body.len() == BODY_LEN
        && SORTABLE_BASE32
            .decode(body.as_bytes())
            .is_ok_and(|bytes| bytes.len() == 16)
}

/// The id had the wrong prefix or shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {kind} id")]
pub struct InvalidId {
    pub kind: &'static str,
}

macro_rules! resource_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            pub fn generate() -> Self {
                Self(format!("{}{}", $prefix, new_body()))
            }

            pub fn parse(raw: &str) -> Result<Self, InvalidId> {
                match raw.strip_prefix($prefix) {
                    Some(body) if is_valid_body(body) => Ok(Self(raw.to_owned())),
                    _ => Err(InvalidId { kind: $kind }),
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;
            fn from_str(raw: &str) -> Result<Self, InvalidId> {
                Self::parse(raw)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

/// The creation time a resource id carries: the 48-bit millisecond timestamp of its UUIDv7.
fn millis_of(body: &str) -> u64 {
    SORTABLE_BASE32
        .decode(body.as_bytes())
        .ok()
        .filter(|bytes| bytes.len() == 16)
        .map_or(0, |bytes| {
            bytes[..6]
                .iter()
                .fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
        })
}

/// The body of the least (`fill` 0x00) or greatest (`fill` 0xff) id of millisecond `ms`.
fn body_at(ms: u64, fill: u8) -> String {
    let mut bytes = [fill; 16];
    bytes[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    SORTABLE_BASE32.encode(&bytes)
}

resource_id!(
    /// A partner (`prt_…`).
    PartnerId, "prt_", "partner");
resource_id!(
    /// A tenant (`tnt_…`).
    TenantId, "tnt_", "tenant");
resource_id!(
    /// A user (`usr_…`).
    UserId, "usr_", "user");
resource_id!(
    /// A session (`ses_…`).
    SessionId, "ses_", "session");
resource_id!(
    /// An audit event (`evt_…`).
    EventId, "evt_", "event");
resource_id!(
    /// An admin role grant (`rol_…`).
    RoleId, "rol_", "role");
resource_id!(
    /// A group (`grp_…`).
    GroupId, "grp_", "group");
resource_id!(
    /// An OAuth application (`app_…`), also its `client_id`.
    ApplicationId, "app_", "application");
resource_id!(
    /// An application registration request (`rrq_…`).
    RegistrationRequestId, "rrq_", "registration request");
resource_id!(
    /// A token signing key (`key_…`), published as the JWT `kid`.
    KeyId, "key_", "key");
resource_id!(
    /// An identity provider of a tenant (`idp_…`): an external OIDC or SAML sign-in.
    IdentityProviderId, "idp_", "identity provider");
resource_id!(
    /// An AI agent of a tenant (`agt_…`), also its OAuth `client_id`.
    AgentId, "agt_", "agent");
resource_id!(
    /// A sign-in grant (`grt_…`): what one authorization code exchange issued — the refresh
    /// token chain of one client in one SSO session.
    GrantId,
    "grt_",
    "grant"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_id_has_its_prefix_and_26_lowercase_characters() {
        let id = TenantId::generate();
        let body = id.as_str().strip_prefix("tnt_").unwrap();
        assert_eq!(body.len(), 26);
        assert!(
            body.chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
        );
        assert_eq!(TenantId::parse(id.as_str()).unwrap(), id);
    }

    #[test]
    fn ids_sort_by_creation_time() {
        let first = PartnerId::generate();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = PartnerId::generate();
        assert!(first < second);
    }

    #[test]
    fn wrong_prefixes_and_shapes_are_refused() {
        let tenant = TenantId::generate();
        let body = &tenant.as_str()[4..];
        for raw in [
            format!("prt_{body}"),
            format!("tnt_{}", &body[..25]),
            format!("tnt_{body}0"),
            format!("tnt_{}", body.to_uppercase()),
            "tnt_".to_owned(),
            "tnt_uuuuuuuuuuuuuuuuuuuuuuuuuu".to_owned(),
            String::new(),
            "../../etc".to_owned(),
        ] {
            assert!(TenantId::parse(&raw).is_err(), "{raw} was accepted");
        }
    }
}

impl EventId {
    /// When the event was recorded (ms since the epoch), as its id says.
    pub fn unix_millis(&self) -> u64 {
        millis_of(&self.0[Self::PREFIX.len()..])
    }

    /// The least id an event of millisecond `ms` can have: ids sort as their time does, so a
    /// time range of events is a range of ids.
    pub fn lowest_at(ms: u64) -> String {
        format!("{}{}", Self::PREFIX, body_at(ms, 0x00))
    }

    /// The greatest id an event of millisecond `ms` can have.
    pub fn highest_at(ms: u64) -> String {
        format!("{}{}", Self::PREFIX, body_at(ms, 0xff))
    }
}

#[cfg(test)]
mod time_bounds {
    use super::*;

    #[test]
    fn an_event_id_lies_within_the_bounds_of_its_millisecond() {
        let id = EventId::generate();
        let ms = id.unix_millis();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        assert!(now.abs_diff(ms) < 5_000, "{ms} vs {now}");
        assert!(EventId::lowest_at(ms).as_str() <= id.as_str());
        assert!(id.as_str() <= EventId::highest_at(ms).as_str());
        assert!(EventId::highest_at(ms - 1) < EventId::lowest_at(ms));
        assert_eq!(
            EventId::parse(&EventId::lowest_at(ms))
                .unwrap()
                .unix_millis(),
            ms
        );
        assert_eq!(
            EventId::parse(&EventId::highest_at(ms))
                .unwrap()
                .unix_millis(),
            ms
        );
    }
}
