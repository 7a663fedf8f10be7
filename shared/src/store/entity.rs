//! Item ↔ value conversions. A stored value is its serde form plus the key attributes and its
//! entity name; this module is the only place that knows how.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};

use super::keys::{self, Key};
use super::{Item, StoreError, corrupt};
use crate::config::SigningAlgorithm;
use crate::ids::KeyId;
use crate::time::Timestamp;

/// A value stored as an item of its own: it names its entity and its key once.
pub trait Entity: Serialize + DeserializeOwned {
    /// The `entity` attribute of its items (`PARTNER`, `TENANT`, …).
    const NAME: &'static str;

    fn key(&self) -> Key;

    /// The item: the serde form, the key and the entity name. Index keys and derived
    /// attributes are the owner's to add.
    fn to_item(&self) -> Result<Item, StoreError> {
        Ok(with_keys(encode(self)?, &self.key(), Self::NAME))
    }
}

/// The top-level attributes that hold free-form JSON objects (tenant `settings` and
/// `branding`, user `custom_attributes`, an audit event's `changes`). They are stored as JSON
/// text, not as maps: DynamoDB refuses empty map keys, numbers beyond 38 digits or 1e126, and
/// nesting beyond 32 levels, all of which JSON allows — as text, any object round-trips
/// exactly. Items written before as maps are still read.
pub const FREE_FORM: &[&str] = &["settings", "branding", "custom_attributes", "changes"];

pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Item, StoreError> {
    let mut item: Item = to_item(value).map_err(corrupt)?;
    for name in FREE_FORM {
        if let Some(attribute) = item.get_mut(*name)
            && matches!(attribute, AttributeValue::M(_))
        {
            let json: serde_json::Value =
                serde_dynamo::from_attribute_value(attribute.clone()).map_err(corrupt)?;
            *attribute = AttributeValue::S(json.to_string());
        }
    }
    Ok(item)
}

pub fn decode<T: DeserializeOwned>(mut item: Item) -> Result<T, StoreError> {
    for name in FREE_FORM {
        if let Some(attribute) = item.get_mut(*name)
            && let AttributeValue::S(text) = attribute
        {
            let json: serde_json::Value = serde_json::from_str(text).map_err(corrupt)?;
            *attribute = serde_dynamo::to_attribute_value(json).map_err(corrupt)?;
        }
    }
    from_item(item).map_err(corrupt)
}

/// Adds the key attributes and the entity name to an encoded value.
pub fn with_keys(mut item: Item, key: &Key, entity: &str) -> Item {
    item.insert(keys::PK.into(), AttributeValue::S(key.pk.clone()));
    item.insert(keys::SK.into(), AttributeValue::S(key.sk.clone()));
    item.insert("entity".into(), AttributeValue::S(entity.into()));
    item
}

/// Every attribute of an item as `name → "TYPE:value"`, sorted: what golden tests pin.
pub fn describe(item: &Item) -> BTreeMap<String, String> {
    fn one(value: &AttributeValue) -> String {
        match value {
            AttributeValue::S(s) => format!("S:{s}"),
            AttributeValue::N(n) => format!("N:{n}"),
            AttributeValue::Bool(b) => format!("BOOL:{b}"),
            AttributeValue::Null(_) => "NULL".to_owned(),
            AttributeValue::B(b) => format!("B:{} bytes", b.as_ref().len()),
            AttributeValue::L(list) => {
                format!(
                    "L:[{}]",
                    list.iter().map(one).collect::<Vec<_>>().join(", ")
                )
            }
            AttributeValue::M(map) => {
                let sorted: BTreeMap<_, _> = map.iter().map(|(k, v)| (k, one(v))).collect();
                let parts: Vec<String> = sorted
                    .into_iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                format!("M:{{{}}}", parts.join(", "))
            }
            other => format!("{other:?}"),
        }
    }
    item.iter().map(|(k, v)| (k.clone(), one(v))).collect()
}

/// The key a list resumes after, as plain strings (every key attribute of the table is S).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartKey(pub BTreeMap<String, String>);

impl StartKey {
    pub(crate) fn of(item: &Item, index: Option<&str>) -> Self {
        let mut names = vec![keys::PK, keys::SK];
        match index {
            Some(keys::GSI1) => names.extend([keys::GSI1PK, keys::GSI1SK]),
            Some(keys::GSI2) => names.extend([keys::GSI2PK, keys::GSI2SK]),
            Some(keys::GSI3) => names.extend([keys::GSI3PK, keys::GSI3SK]),
            _ => {}
        }
        Self(
            names
                .into_iter()
                .filter_map(|n| {
                    item.get(n)
                        .and_then(|v| v.as_s().ok())
                        .map(|v| (n.to_owned(), v.clone()))
                })
                .collect(),
        )
    }

    pub(crate) fn into_item(self) -> Item {
        self.0
            .into_iter()
            .map(|(k, v)| (k, AttributeValue::S(v)))
            .collect()
    }
}

/// Items read together in one batch, handed out typed by key.
pub struct Loaded {
    items: HashMap<Key, Item>,
}

impl Loaded {
    pub(crate) fn new(items: HashMap<Key, Item>) -> Self {
        Self { items }
    }

    pub fn has(&self, key: &Key) -> bool {
        self.items.contains_key(key)
    }

    /// Adds what a later read found (a request's second batch) to what it read first.
    pub fn extend(&mut self, later: Loaded) {
        self.items.extend(later.items);
    }

    /// The item at `key` as a `T`, if it was found.
    pub fn get<T: DeserializeOwned>(&self, key: &Key) -> Result<Option<T>, StoreError> {
        self.items.get(key).cloned().map(decode).transpose()
    }

    /// The raw item at `key`, for reads that look at its attributes one by one.
    pub fn item(&self, key: &Key) -> Option<&Item> {
        self.items.get(key)
    }

    /// A numeric attribute, 0 when the item or attribute is missing.
    pub fn number(&self, key: &Key, attribute: &str) -> i64 {
        self.items
            .get(key)
            .and_then(|item| item.get(attribute))
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }
}

/// A token signing key as kept in the table.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SigningKeyRecord {
    pub kid: KeyId,
    /// RS256 or ES256. Absent on records written before ES256 existed: RS256.
    #[serde(default)]
    pub alg: SigningAlgorithm,
    /// The public part of an RS256 key (JWK `n`, `e`, base64url); the private part, whatever
    /// the algorithm, is sealed in its own item ([`SealedSigningKeyRecord`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// The public part of an ES256 key (JWK `crv` = `P-256`, `x`, `y`, base64url).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    pub created_at: Timestamp,
    /// When it starts signing: a rotated-in key is published (JWKS) first and signs only once
    /// every instance's key cache can have seen it. None: at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signs_from: Option<Timestamp>,
    /// When it stops signing (it still verifies tokens it signed until they expire).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<Timestamp>,
    /// Revoked (`scaikey keys revoke`): neither signs nor verifies, nor is published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<Timestamp>,
    /// The private key in plaintext (PKCS#8, base64url), as versions before sealing stored
    /// it: never signs; `scaikey keys seal` (or `bootstrap`) seals it and removes it.
    #[serde(
        default,
        rename = "private_pkcs8_b64",
        skip_serializing_if = "Option::is_none"
    )]
    pub plaintext_private_key: Option<String>,
}

/// A signing key's private part, sealed under the key-encryption key (`crate::sealing`).
/// Binary fields are base64.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SealedSigningKeyRecord {
    pub kid: KeyId,
    /// `kms:<key ARN>` or `local:<fingerprint>`.
    pub kek: String,
    pub wrapped_key: String,
    pub ciphertext: String,
    pub created_at: Timestamp,
}

impl Entity for SealedSigningKeyRecord {
    const NAME: &'static str = "SEALED_SIGNING_KEY";

    fn key(&self) -> Key {
        keys::sealed_signing_key(&self.kid)
    }
}

impl SigningKeyRecord {
    /// Whether it signs at `now`.
    pub fn signs_at(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none()
            && self.signs_from.is_none_or(|from| from <= now)
            && self.retired_at.is_none_or(|until| until > now)
    }
}

impl Entity for SigningKeyRecord {
    const NAME: &'static str = "SIGNING_KEY";

    fn key(&self) -> Key {
        keys::signing_key(&self.kid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, Value, json};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct WithSettings {
        name: String,
        settings: Map<String, Value>,
    }

    /// What DynamoDB refuses in a map (an empty key, a number beyond 1e126, nesting beyond 32
    /// levels) goes through as text and comes back exactly.
    #[test]
    fn free_form_objects_are_stored_as_text_and_read_back_exactly() {
        let deep = (0..40).fold(json!(1), |v, _| json!({ "": v }));
        let settings = json!({"": {"a": 1}, "big": 1e300, "tiny": 5e-324, "ключ": [deep, null]});
        let value = WithSettings {
            name: "x".into(),
            settings: settings.as_object().unwrap().clone(),
        };
        let item = encode(&value).unwrap();
        assert!(matches!(item.get("settings"), Some(AttributeValue::S(_))));
        assert!(matches!(item.get("name"), Some(AttributeValue::S(n)) if n == "x"));
        assert_eq!(decode::<WithSettings>(item).unwrap(), value);
    }

    /// Items written before the text form (settings as a map) are still read.
    #[test]
    fn free_form_objects_stored_as_maps_are_still_read() {
        let mut item = Item::new();
        item.insert("name".into(), AttributeValue::S("x".into()));
        item.insert(
            "settings".into(),
            AttributeValue::M(HashMap::from([(
                "a".to_owned(),
                AttributeValue::N("1".into()),
            )])),
        );
        let read: WithSettings = decode(item).unwrap();
        assert_eq!(Value::Object(read.settings), json!({"a": 1}));
    }
    /// A key record written before ES256 (no `alg`) is an RS256 key; a new record always
    /// names its algorithm, and an ES256 one carries `crv`/`x`/`y` instead of `n`/`e`.
    #[test]
    fn signing_key_records_carry_their_algorithm_absent_meaning_rs256() {
        let kid = KeyId::generate().to_string();
        let mut old = Item::new();
        for (name, value) in [
            ("kid", kid.as_str()),
            ("n", "modulus"),
            ("e", "AQAB"),
            ("created_at", "2026-01-01T00:00:00Z"),
        ] {
            old.insert(name.into(), AttributeValue::S(value.into()));
        }
        let read: SigningKeyRecord = decode(old).unwrap();
        assert_eq!(read.alg, SigningAlgorithm::Rs256);
        assert_eq!(read.n.as_deref(), Some("modulus"));
        assert!(read.x.is_none());

        let ec = SigningKeyRecord {
            alg: SigningAlgorithm::Es256,
            n: None,
            e: None,
            crv: Some("P-256".into()),
            x: Some("xx".into()),
            y: Some("yy".into()),
            ..read
        };
        let item = encode(&ec).unwrap();
        assert!(matches!(item.get("alg"), Some(AttributeValue::S(a)) if a == "ES256"));
        for absent in ["n", "e", "private_pkcs8_b64", "signs_from"] {
            assert!(!item.contains_key(absent), "{absent}");
        }
        let back: SigningKeyRecord = decode(item).unwrap();
        assert_eq!(
            (back.alg, back.crv, back.x, back.y),
            (
                SigningAlgorithm::Es256,
                Some("P-256".into()),
                Some("xx".into()),
                Some("yy".into())
            )
        );
    }
}
