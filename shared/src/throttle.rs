//! Sign-in throttling, for every password form (admin login, the hosted login of a tenant's
//! users): at most 5 attempts per email and source address, and 50 per email from all
//! addresses, in any 15 minutes. Each attempt takes a slot with an atomic conditional write
//! *before* the password is checked, so N parallel guesses get at most the free slots checked —
//! the rest are refused (429) without an argon2 run. A successful sign-in gives its slot back:
//! only failures count.
//!
//! The 15 minutes slide: counts are kept per fixed window (`WINDOW#<n>`, n = unix ÷ 900) and the
//! previous window's count weighs as much as it still overlaps the last 15 minutes (the usual
//! sliding-window counter). The counters of one email live in one partition, which names the
//! form (`LOGIN#<email>` for admins, `SIGNIN#<tnt>#<email>` for a tenant's users: the same email
//! in two tenants, or an admin's, never share a lock).

use std::time::Duration;

use crate::store::{Expr, Guard, Key, Loaded, Store, StoreError, n};

pub const PER_ADDRESS: u64 = 5;
pub const PER_EMAIL: u64 = 50;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Addresses are cut to this length in keys (a local `X-Forwarded-For` is free text).
const MAX_ADDRESS_CHARS: usize = 64;
/// A counter outlives the last window it weighs in by this much, then DynamoDB's TTL removes it.
const PURGE_GRACE_SECONDS: i64 = 86_400;

/// An attempt counter was full when the attempt tried to take a slot.
pub const THROTTLED: Guard = Guard::Unique("login attempt slot");

/// One limit: which counter, and how many attempts it allows.
#[derive(Clone, Debug)]
pub struct Limit {
    pub scope: String,
    pub max: u64,
}

impl Limit {
    pub fn per_address(address: Option<&str>) -> Self {
        let address: String = address
            .unwrap_or("unknown")
            .chars()
            .take(MAX_ADDRESS_CHARS)
            .collect();
        Self {
            scope: format!("IP#{address}"),
            max: PER_ADDRESS,
        }
    }

    pub fn per_email() -> Self {
        Self {
            scope: "EMAIL".to_owned(),
            max: PER_EMAIL,
        }
    }
}

/// Where `now` falls: its fixed window and how far into it.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    pub window: i64,
    pub elapsed: i64,
}

impl Clock {
    pub fn at(unix: i64) -> Self {
        let length = WINDOW.as_secs() as i64;
        Self {
            window: unix.div_euclid(length),
            elapsed: unix.rem_euclid(length),
        }
    }

    fn key(&self, partition: &str, limit: &Limit, window: i64) -> Key {
        Key::new(partition, format!("{}#WINDOW#{window}", limit.scope))
    }

    /// When the current window's counter may be purged: once it no longer weighs.
    pub fn expiry(&self) -> i64 {
        (self.window + 2) * WINDOW.as_secs() as i64
    }
}

/// The previous window's attempts still counted `elapsed` seconds into the current one.
fn carried(previous: u64, elapsed: i64) -> u64 {
    let length = WINDOW.as_secs() as i64;
    // Rounded up: a failure is forgotten only once it has fully left the last 15 minutes.
    (previous as i64 * (length - elapsed)).div_euclid(length) as u64
        + u64::from((previous as i64 * (length - elapsed)).rem_euclid(length) != 0)
}

/// The cap of the current window's counter: an attempt is allowed while the counter is below
/// it (the reserving write's condition, `attempts < cap`). 0: nothing is allowed now.
pub fn cap(limit: &Limit, previous: u64, clock: Clock) -> u64 {
    limit.max.saturating_sub(carried(previous, clock.elapsed))
}

/// Seconds until an attempt would be allowed again, with no further attempts meanwhile; 0
/// when it is allowed now.
pub fn retry_after(limit: &Limit, current: u64, previous: u64, clock: Clock) -> u64 {
    let length = WINDOW.as_secs() as i64;
    if current + carried(previous, clock.elapsed) < limit.max {
        return 0;
    }
    // Still in this window: the carried part shrinks as time passes.
    for elapsed in clock.elapsed..length {
        if current + carried(previous, elapsed) < limit.max {
            return (elapsed - clock.elapsed).max(1) as u64;
        }
    }
    // In the next window the current count is the one carried.
    for elapsed in 0..length {
        if carried(current, elapsed) < limit.max {
            return (length - clock.elapsed + elapsed).max(1) as u64;
        }
    }
    (2 * length - clock.elapsed) as u64
}

/// The throttle of one sign-in attempt: the email's counter partition, the two limits (this
/// address, and the email from anywhere) and the clock.
pub struct Throttle {
    partition: String,
    clock: Clock,
    limits: [Limit; 2],
}

/// The counters as read with the attempt's first batch.
pub struct Counts {
    /// (current window, previous window) per limit.
    counts: Vec<(u64, u64)>,
    /// The current window's counter of each limit and its cap.
    slots: Vec<(Key, u64)>,
}

impl Throttle {
    /// `partition`: the email's counters (`keys::login_partition`, `keys::sign_in_partition`).
    pub fn new(partition: String, address: Option<&str>, now_unix: i64) -> Self {
        Self {
            partition,
            clock: Clock::at(now_unix),
            limits: [Limit::per_address(address), Limit::per_email()],
        }
    }

    /// The counters to read in the attempt's first batch: each limit's current and previous
    /// window.
    pub fn keys(&self) -> Vec<Key> {
        self.limits
            .iter()
            .flat_map(|limit| {
                [
                    self.clock.key(&self.partition, limit, self.clock.window),
                    self.clock
                        .key(&self.partition, limit, self.clock.window - 1),
                ]
            })
            .collect()
    }

    /// The counts read in `loaded` (a batch that held [`Throttle::keys`]).
    pub fn counts(&self, loaded: &Loaded) -> Counts {
        let count = |key: Key| loaded.number(&key, "attempts").max(0) as u64;
        let mut counts = Vec::new();
        let mut slots = Vec::new();
        for limit in &self.limits {
            let current = self.clock.key(&self.partition, limit, self.clock.window);
            let previous = count(
                self.clock
                    .key(&self.partition, limit, self.clock.window - 1),
            );
            counts.push((count(current.clone()), previous));
            slots.push((current, cap(limit, previous, self.clock)));
        }
        Counts { counts, slots }
    }

    /// Takes a slot on every counter, atomically, before the password is checked: refused
    /// (`THROTTLED`) when a counter is full — as read, or filled by parallel attempts since.
    pub async fn reserve(&self, store: &Store, counts: &Counts) -> Result<(), StoreError> {
        if counts.is_full() {
            return Err(StoreError::Refused(THROTTLED));
        }
        let mut tx = store.tx();
        for (key, cap) in &counts.slots {
            tx.update_if(
                key,
                "ADD attempts :one SET #ttl = :ttl",
                THROTTLED,
                Some("attribute_not_exists(attempts) OR attempts < :cap"),
                Expr::default()
                    .name("#ttl", crate::store::keys::TTL)
                    .value(":one", n(1))
                    .value(":cap", n(*cap))
                    .value(":ttl", n(self.clock.expiry() + PURGE_GRACE_SECONDS)),
            )?;
        }
        store.transact(tx).await
    }

    /// The `Retry-After` of a refused attempt: when the first slot frees up. A refusal by the
    /// write (parallel attempts took the slots since the read) reads the counters again for an
    /// honest answer.
    pub async fn retry_after(&self, store: &Store, counts: &Counts) -> Result<u64, StoreError> {
        let now = if counts.is_full() {
            counts.counts.clone()
        } else {
            let keys: Vec<Key> = counts.slots.iter().map(|(key, _)| key.clone()).collect();
            let again = store.load(&keys).await?;
            counts
                .counts
                .iter()
                .zip(&keys)
                .map(|((_, previous), key)| {
                    (again.number(key, "attempts").max(0) as u64, *previous)
                })
                .collect()
        };
        Ok(self
            .limits
            .iter()
            .zip(&now)
            .map(|(limit, (current, previous))| retry_after(limit, *current, *previous, self.clock))
            .max()
            .unwrap_or(1)
            .max(1))
    }
}

impl Counts {
    /// A counter is at its cap already (no write needed to refuse).
    pub fn is_full(&self) -> bool {
        self.slots
            .iter()
            .zip(&self.counts)
            .any(|((_, cap), (current, _))| current >= cap)
    }

    /// No attempt on this email yet in the current window (from anywhere).
    pub fn first_in_window(&self) -> bool {
        self.counts.get(1).is_none_or(|(current, _)| *current == 0)
    }

    /// The email's counter of the current window (where unrecorded failures are counted).
    pub fn email_counter(&self) -> Option<&Key> {
        self.slots.get(1).map(|(key, _)| key)
    }

    /// The slots taken, to give back on success.
    pub fn slots(&self) -> Vec<Key> {
        self.slots.iter().map(|(key, _)| key.clone()).collect()
    }
}

/// Adds to `tx` the slots of an attempt given back: a success does not count toward the
/// limits.
pub fn give_back_in(tx: &mut crate::store::Tx, slots: &[Key]) -> Result<(), StoreError> {
    for key in slots {
        tx.update(
            key,
            "ADD attempts :minus",
            Expr::default().value(":minus", n(-1)),
        )?;
    }
    Ok(())
}

/// Gives an attempt's slots back in a write of their own (a password proved before the
/// session starts: the platform login's choice of organisation).
pub async fn give_back(store: &Store, slots: &[Key]) -> Result<(), StoreError> {
    if slots.is_empty() {
        return Ok(());
    }
    let mut tx = store.tx();
    give_back_in(&mut tx, slots)?;
    store.transact(tx).await
}

/// A failure on an email nobody holds, past the first of its window: counted on the email's
/// counter instead of adding an audit event (the same one write a recorded failure makes).
pub async fn count_unrecorded(store: &Store, counter: &Key) -> Result<(), StoreError> {
    let mut tx = store.tx();
    tx.update(
        counter,
        "ADD unrecorded_failures :one",
        Expr::default().value(":one", n(1)),
    )?;
    store.transact(tx).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address() -> Limit {
        Limit::per_address(Some("192.0.2.1"))
    }

    #[test]
    fn five_attempts_per_address_then_none() {
        let clock = Clock::at(900 * 10 + 100);
        assert_eq!(cap(&address(), 0, clock), 5);
        assert_eq!(cap(&Limit::per_email(), 0, clock), 50);
    }

    #[test]
    fn the_previous_window_weighs_as_much_as_it_overlaps() {
        assert_eq!(carried(5, 0), 5);
        assert_eq!(
            carried(5, 100),
            5,
            "4.4 of them are still in the last 15 minutes"
        );
        assert_eq!(carried(5, 180), 4);
        assert_eq!(carried(5, 899), 1);
        assert_eq!(carried(0, 10), 0);
        assert_eq!(cap(&address(), 5, Clock::at(9_000 + 100)), 0);
        assert_eq!(cap(&address(), 5, Clock::at(9_000 + 180)), 1);
    }

    #[test]
    fn retry_after_points_at_the_first_free_slot() {
        let clock = Clock::at(9_000 + 100);
        // Five failures now: free again 180 s into the next window.
        assert_eq!(retry_after(&address(), 5, 0, clock), 800 + 180);
        // Locked by the previous window only: free once enough of it has left.
        assert_eq!(retry_after(&address(), 0, 5, clock), 80);
    }

    #[test]
    fn addresses_are_bounded_in_keys() {
        let long = "x".repeat(500);
        assert_eq!(Limit::per_address(Some(&long)).scope.len(), 3 + 64);
        assert_eq!(Limit::per_address(None).scope, "IP#unknown");
    }

    #[test]
    fn each_form_counts_in_its_own_partition() {
        let admin = Throttle::new("LOGIN#a@x.test".into(), Some("192.0.2.1"), 9_100);
        let user = Throttle::new("SIGNIN#tnt_x#a@x.test".into(), Some("192.0.2.1"), 9_100);
        assert_eq!(
            admin.keys()[0],
            Key::new("LOGIN#a@x.test", "IP#192.0.2.1#WINDOW#10")
        );
        assert_eq!(
            admin.keys()[3],
            Key::new("LOGIN#a@x.test", "EMAIL#WINDOW#9")
        );
        assert_ne!(admin.keys()[0], user.keys()[0]);
    }
}
