//! Login throttling: at most 5 attempts per email and source address, and 50 per email from
//! all addresses, in any 15 minutes. Each attempt takes a slot with an atomic conditional
//! write *before* the password is checked, so N parallel guesses get at most the free slots
//! checked — the rest are refused (429) without an argon2 run. A successful login gives its
//! slot back: only failures count.
//!
//! The 15 minutes slide: counts are kept per fixed window (`WINDOW#<n>`, n = unix ÷ 900) and the
//! previous window's count weighs as much as it still overlaps the last 15 minutes (the usual
//! sliding-window counter).

use std::time::Duration;

use shared::store::{Key, keys};

pub const PER_ADDRESS: u64 = 5;
pub const PER_EMAIL: u64 = 50;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Addresses are cut to this length in keys (a local `X-Forwarded-For` is free text).
const MAX_ADDRESS_CHARS: usize = 64;

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

    pub fn key(&self, email: &str, limit: &Limit) -> Key {
        keys::login_attempts(email, &limit.scope, self.window)
    }

    pub fn previous_key(&self, email: &str, limit: &Limit) -> Key {
        keys::login_attempts(email, &limit.scope, self.window - 1)
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
}
