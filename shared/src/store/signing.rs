//! Signing keys and the cursor secret, kept in the `CONFIG` partition.

use aws_sdk_dynamodb::types::AttributeValue;

use super::entity::{Entity, SigningKeyRecord, decode};
use super::tx::{Expr, Guard, Tx, n, s};
use super::{QuerySpec, Store, StoreError, keys};
use crate::time::Timestamp;

impl Store {
    /// Every signing key, and the cursor secret, in one Query.
    pub async fn find_signing_material(
        &self,
    ) -> Result<(Vec<SigningKeyRecord>, Option<Vec<u8>>), StoreError> {
        let spec = QuerySpec {
            index: None,
            partition: (keys::PK, keys::CONFIG_PARTITION.to_owned()),
            equals: Vec::new(),
            contains: None,
        };
        let page = self.query(&spec, None, 1_000).await?;
        let mut records = Vec::new();
        let mut cursor_secret = None;
        for item in page.items {
            let sk = item
                .get(keys::SK)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default();
            if sk.starts_with("SIGNING_KEY#") {
                records.push(decode::<SigningKeyRecord>(item)?);
            } else if sk == keys::cursor_secret().sk {
                cursor_secret = item
                    .get("secret")
                    .and_then(|v| v.as_b().ok())
                    .map(|b| b.as_ref().to_vec());
            }
        }
        Ok((records, cursor_secret))
    }

    /// Adds a key that signs from its `signs_from`; the keys it replaces stop signing then
    /// (`retired_at`) and are purged by TTL once no token they signed can be live.
    pub async fn add_signing_key(
        &self,
        record: &SigningKeyRecord,
        retire: &[SigningKeyRecord],
        purge_after_seconds: u64,
    ) -> Result<(), StoreError> {
        let mut tx = Tx::new(self.table());
        tx.put_new(record.to_item()?, Guard::Item)?;
        let until = record.signs_from.unwrap_or_else(Timestamp::now);
        for old in retire {
            tx.update_if(
                &keys::signing_key(&old.kid),
                "SET retired_at = :until, #ttl = :ttl",
                Guard::Item,
                Some("attribute_exists(PK) AND attribute_not_exists(retired_at)"),
                Expr::default()
                    .name("#ttl", keys::TTL)
                    .value(":until", s(until.to_string()))
                    .value(
                        ":ttl",
                        n(until.unix() + purge_after_seconds as i64 + 86_400),
                    ),
            )?;
        }
        self.transact(tx).await
    }

    /// Revokes a key at once: its record says so (no instance loads it again) and its mark in
    /// `CONFIG` stops every token it signed on the next request. Returns whether it existed.
    pub async fn revoke_signing_key(&self, record: &SigningKeyRecord) -> Result<(), StoreError> {
        let now = Timestamp::now();
        let mut tx = Tx::new(self.table());
        tx.update_if(
            &keys::signing_key(&record.kid),
            "SET revoked_at = :now",
            Guard::Item,
            Some("attribute_exists(PK)"),
            Expr::default().value(":now", s(now.to_string())),
        )?;
        let mut mark = keys::key_revocation(&record.kid).to_item();
        mark.insert("revoked_at".into(), s(now.to_string()));
        tx.put(mark)?;
        self.transact(tx).await
    }

    /// Creates the cursor secret if there is none (idempotent). Returns whether it was created.
    pub async fn ensure_cursor_secret(&self) -> Result<bool, StoreError> {
        let mut item = keys::cursor_secret().to_item();
        item.insert(
            "secret".into(),
            AttributeValue::B(crate::secrets::random_bytes::<32>().to_vec().into()),
        );
        let mut tx = Tx::new(self.table());
        tx.put_new(item, Guard::Item)?;
        match self.transact(tx).await {
            Ok(()) => Ok(true),
            Err(StoreError::Refused(Guard::Item)) => Ok(false),
            Err(err) => Err(err),
        }
    }
}
