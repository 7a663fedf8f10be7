//! Item ↔ domain conversions. Entities are stored as their serde form plus key attributes;
//! this module is the only place that knows.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};

use super::keys::{self, Key};
use super::{Item, StoreError, corrupt};
use crate::domain::auth::{AdminEmailOwner, LoginFailures, Session, User};
use crate::domain::partners::Partner;
use crate::domain::tenants::Tenant;
use crate::ids::{KeyId, PartnerId, SessionId, TenantId, UserId};
use crate::time::Timestamp;

pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Item, StoreError> {
    to_item(value).map_err(corrupt)
}

pub(crate) fn decode<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    from_item(item).map_err(corrupt)
}

pub(crate) fn with_keys(mut item: Item, key: &Key, entity: &str) -> Item {
    item.insert(keys::PK.into(), AttributeValue::S(key.pk.clone()));
    item.insert(keys::SK.into(), AttributeValue::S(key.sk.clone()));
    item.insert("entity".into(), AttributeValue::S(entity.into()));
    item
}

pub(crate) fn set(item: &mut Item, name: &str, value: impl Into<String>) {
    item.insert(name.to_owned(), AttributeValue::S(value.into()));
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

/// A value a list can be made of.
pub trait Listable: Sized + Send {
    fn from_item(item: Item) -> Result<Self, StoreError>;
}

impl Listable for Partner {
    fn from_item(item: Item) -> Result<Self, StoreError> {
        decode(item)
    }
}

impl Listable for Tenant {
    fn from_item(item: Item) -> Result<Self, StoreError> {
        decode(item)
    }
}

/// Items read together in one batch, with typed accessors.
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

    fn typed<T: DeserializeOwned>(&self, key: &Key) -> Result<Option<T>, StoreError> {
        self.items.get(key).cloned().map(decode).transpose()
    }

    pub fn partner(&self, id: &PartnerId) -> Result<Option<Partner>, StoreError> {
        self.typed(&keys::partner(id))
    }

    pub fn tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        self.typed(&keys::tenant(id))
    }

    pub fn user(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        self.typed(&keys::user(id))
    }

    pub fn session(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        self.typed(&keys::session(id))
    }

    pub fn admin_email_owner(&self, email: &str) -> Result<Option<AdminEmailOwner>, StoreError> {
        self.typed(&keys::admin_email(email))
    }

    pub fn login_failures(&self, email: &str) -> Result<Option<LoginFailures>, StoreError> {
        self.typed(&keys::login_failures(email))
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
