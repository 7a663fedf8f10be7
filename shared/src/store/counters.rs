//! Platform-wide totals as sharded counters: a write adds to one shard picked at random, so
//! writes in different tenants never contend on one hot item; a read sums every shard in the
//! batch it already makes.

use super::tx::{Expr, Tx, n};
use super::{Key, Loaded, StoreError};

pub const SHARDS: u64 = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counter {
    Partners,
    Tenants,
    Users,
    Applications,
}

impl Counter {
    fn name(&self) -> &'static str {
        match self {
            Self::Partners => "PARTNERS",
            Self::Tenants => "TENANTS",
            Self::Users => "USERS",
            Self::Applications => "APPLICATIONS",
        }
    }

    fn shard_key(&self, shard: u64) -> Key {
        Key::new(format!("COUNTER#{}", self.name()), format!("SHARD#{shard}"))
    }

    pub fn shard_keys(&self) -> Vec<Key> {
        (0..SHARDS).map(|i| self.shard_key(i)).collect()
    }

    /// The exact total, from shards read in the same batch.
    pub fn total(&self, loaded: &Loaded) -> u64 {
        let sum: i64 = (0..SHARDS)
            .map(|i| loaded.number(&self.shard_key(i), "count"))
            .sum();
        sum.max(0) as u64
    }

    pub fn add(&self, tx: &mut Tx, delta: i64) -> Result<(), StoreError> {
        let shard = crate::secrets::random_below(SHARDS);
        tx.update(
            &self.shard_key(shard),
            "ADD #count :delta",
            Expr::default()
                .name("#count", "count")
                .value(":delta", n(delta)),
        )?;
        Ok(())
    }
}
