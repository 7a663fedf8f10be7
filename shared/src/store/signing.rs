//! Signing keys and the cursor key: the public parts and the cursor key in the `CONFIG`
//! partition (every function reads it), the sealed private parts in `SIGNING_KEYS_PRIVATE`
//! (only the functions that sign may).

use aws_sdk_dynamodb::types::AttributeValue;

use super::entity::{Entity, SealedSigningKeyRecord, SigningKeyRecord, decode};
use super::tx::{Expr, Guard, Tx, n, s};
use super::{QuerySpec, Store, StoreError, keys};
use crate::ids::KeyId;
use crate::time::Timestamp;

impl Store {
    /// Every signing key, and the cursor key, in one Query. (Before `scaikey keys seal` made a
    /// cursor key of its own, the old server secret signed cursors: it still does until then.)
    pub async fn find_signing_material(
        &self,
    ) -> Result<(Vec<SigningKeyRecord>, Option<Vec<u8>>), StoreError> {
        let spec = QuerySpec {
            index: None,
            partition: (keys::PK, keys::CONFIG_PARTITION.to_owned()),
            equals: Vec::new(),
            contains: None,
            compare: Vec::new(),
        };
        let page = self.query(&spec, None, 1_000).await?;
        let mut records = Vec::new();
        let mut cursor_key = None;
        let mut legacy = None;
        for item in page.items {
            let sk = item
                .get(keys::SK)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default();
            let secret = |item: &super::Item| {
                item.get("secret")
                    .and_then(|v| v.as_b().ok())
                    .map(|b| b.as_ref().to_vec())
            };
            if sk.starts_with("SIGNING_KEY#") {
                records.push(decode::<SigningKeyRecord>(item)?);
            } else if sk == keys::cursor_key().sk {
                cursor_key = secret(&item);
            } else if sk == keys::cursor_secret().sk {
                legacy = secret(&item);
            }
        }
        Ok((records, cursor_key.or(legacy)))
    }

    /// Every sealed private part, in one Query of their own partition.
    pub async fn find_sealed_signing_keys(
        &self,
    ) -> Result<Vec<SealedSigningKeyRecord>, StoreError> {
        let spec = QuerySpec {
            index: None,
            partition: (keys::PK, keys::SIGNING_KEYS_PRIVATE_PARTITION.to_owned()),
            equals: Vec::new(),
            contains: None,
            compare: Vec::new(),
        };
        let page = self.query(&spec, None, 1_000).await?;
        page.items.into_iter().map(decode).collect()
    }

    /// Adds a key (its public record and its sealed private part) that signs from its
    /// `signs_from`; the keys it replaces stop signing then (`retired_at`) and are purged by
    /// TTL once no token they signed can be live — their sealed parts (`retire_sealed`, those
    /// that exist) once they stop signing.
    pub async fn add_signing_key(
        &self,
        record: &SigningKeyRecord,
        sealed: &SealedSigningKeyRecord,
        retire: &[SigningKeyRecord],
        retire_sealed: &[KeyId],
        purge_after_seconds: u64,
    ) -> Result<(), StoreError> {
        let mut tx = Tx::new(self.table());
        tx.put_new(record.to_item()?, Guard::Item)?;
        tx.put_new(sealed.to_item()?, Guard::Item)?;
        let until = record.signs_from.unwrap_or_else(Timestamp::now);
        for kid in retire_sealed {
            tx.update_if(
                &keys::sealed_signing_key(kid),
                "SET #ttl = :ttl",
                Guard::Item,
                Some("attribute_exists(PK)"),
                Expr::default()
                    .name("#ttl", keys::TTL)
                    .value(":ttl", n(until.unix() + 86_400)),
            )?;
        }
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

    /// Seals a private key that an earlier version stored in plaintext: the sealed part is
    /// written and the plaintext removed in one transaction (refused if another run did it).
    pub async fn seal_plaintext_signing_key(
        &self,
        kid: &KeyId,
        sealed: &SealedSigningKeyRecord,
    ) -> Result<(), StoreError> {
        let mut tx = Tx::new(self.table());
        tx.put_new(sealed.to_item()?, Guard::Item)?;
        tx.update_if(
            &keys::signing_key(kid),
            "REMOVE private_pkcs8_b64",
            Guard::Item,
            Some("attribute_exists(private_pkcs8_b64)"),
            Expr::default(),
        )?;
        self.transact(tx).await
    }

    /// Revokes a key at once: its record says so (no instance loads it again), its sealed
    /// private part is deleted, and its mark in `CONFIG` stops every token it signed on the
    /// next request.
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
        tx.delete(&keys::sealed_signing_key(&record.kid))?;
        self.transact(tx).await
    }

    /// Creates the cursor key if there is none (idempotent). Returns whether it was created.
    pub async fn ensure_cursor_key(&self) -> Result<bool, StoreError> {
        let mut item = keys::cursor_key().to_item();
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
