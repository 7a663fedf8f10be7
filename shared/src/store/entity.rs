//! Item ↔ value conversions. A stored value is its serde form plus the key attributes and its
//! entity name; this module is the only place that knows how.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};

use super::keys::{self, Key};
use super::{Item, StoreError, corrupt};
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

pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Item, StoreError> {
    to_item(value).map_err(corrupt)
}

pub fn decode<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
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

    /// The item at `key` as a `T`, if it was found.
    pub fn get<T: DeserializeOwned>(&self, key: &Key) -> Result<Option<T>, StoreError> {
        self.items.get(key).cloned().map(decode).transpose()
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
    /// PKCS#8 DER, base64url. The table is encrypted at rest and readable only by the
    /// functions' roles.
    pub private_pkcs8_b64: String,
    pub n: String,
    pub e: String,
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<Timestamp>,
}

impl Entity for SigningKeyRecord {
    const NAME: &'static str = "SIGNING_KEY";

    fn key(&self) -> Key {
        keys::signing_key(&self.kid)
    }
}
