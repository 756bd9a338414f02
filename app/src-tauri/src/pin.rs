//! The desktop PIN: its format, the count of wrong tries and the lock after repeated
//! ones. The PIN seals the vault (with the OS keystore secret): opening the vault is
//! what checks it, so no hash of it is kept. Installs of earlier versions keep an
//! Argon2id hash (a PHC string, never the PIN) until the vault is sealed with the PIN.
//!
//! Everything here takes `now` (Unix seconds), so the lock is tested without waiting.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use serde::{Deserialize, Serialize};

use crate::error::{AppError, CommandResult, ErrorKind};

/// Wrong PINs in a row before the PIN locks.
pub const TRIES_BEFORE_LOCK: u32 = 5;
/// The first lock; each further wrong PIN doubles it, up to [`MAX_LOCK_SECONDS`].
pub const FIRST_LOCK_SECONDS: i64 = 30;
/// The longest lock.
pub const MAX_LOCK_SECONDS: i64 = 3600;

/// Checks the PIN format: 4 to 8 ASCII digits.
pub fn check_format(pin: &str) -> CommandResult<()> {
    if (4..=8).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(AppError::invalid("the PIN must be 4 to 8 digits"))
    }
}

/// A PIN that is set: the count of wrong tries, and for an earlier version's install
/// the Argon2id hash the PIN is checked against (none when the PIN seals the vault).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinRecord {
    /// Earlier versions: the Argon2id PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hash: Option<String>,
    /// Wrong tries since the last right one.
    #[serde(default)]
    failures: u32,
    /// No try is checked before this time, Unix seconds (0: not locked).
    #[serde(default)]
    locked_until: i64,
}

impl std::fmt::Debug for PinRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PinRecord")
            .field("hash", &"<redacted>")
            .field("failures", &self.failures)
            .field("locked_until", &self.locked_until)
            .finish()
    }
}

/// What a PIN check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The PIN is right.
    Right,
    /// The PIN is wrong.
    Wrong,
    /// Not checked: the PIN is locked until this time (Unix seconds).
    Locked(i64),
}

impl PinRecord {
    /// Hashes a new PIN (checked for format first), as earlier versions kept it.
    /// CPU-heavy: tens of milliseconds. Tests of the migration only.
    #[doc(hidden)]
    pub fn hashed(pin: &str) -> CommandResult<Self> {
        check_format(pin)?;
        let hash = Argon2::default()
            .hash_password(pin.as_bytes())
            .map_err(|e| AppError::internal("the PIN could not be hashed", &e))?
            .to_string();
        Ok(Self {
            hash: Some(hash),
            failures: 0,
            locked_until: 0,
        })
    }

    /// A PIN that seals the vault: nothing about it is kept here but the tries.
    pub fn sealing() -> Self {
        Self {
            hash: None,
            failures: 0,
            locked_until: 0,
        }
    }

    /// Whether the PIN seals the vault (else: an earlier version's hash checks it).
    pub fn seals_vault(&self) -> bool {
        self.hash.is_none()
    }

    /// `Some(until)` while wrong tries lock the PIN at `now`: nothing is checked then.
    pub fn locked(&self, now: i64) -> Option<i64> {
        (now < self.locked_until).then_some(self.locked_until)
    }

    /// Checks `pin` against an earlier version's hash at `now` and counts the result.
    /// CPU-heavy (Argon2id, constant-time comparison inside). A record without a hash
    /// (the PIN seals the vault) is checked by opening the vault: see [`PinRecord::count`].
    pub fn check(&mut self, pin: &str, now: i64) -> Verdict {
        if let Some(until) = self.locked(now) {
            return Verdict::Locked(until);
        }
        let right = self.hash.as_deref().is_some_and(|hash| {
            Argon2::default()
                .verify_password(pin.as_bytes(), hash)
                .is_ok()
        });
        self.count(right, now)
    }

    /// Counts a try checked elsewhere (the vault opened with it, or not) at `now`.
    pub fn count(&mut self, right: bool, now: i64) -> Verdict {
        if right {
            self.failures = 0;
            self.locked_until = 0;
            return Verdict::Right;
        }
        self.failures = self.failures.saturating_add(1);
        if self.failures >= TRIES_BEFORE_LOCK {
            self.locked_until = now + lock_seconds(self.failures);
        }
        Verdict::Wrong
    }
}

/// How long the `failures`-th wrong PIN in a row locks the PIN.
fn lock_seconds(failures: u32) -> i64 {
    let doublings = failures.saturating_sub(TRIES_BEFORE_LOCK).min(16);
    (FIRST_LOCK_SECONDS << doublings).min(MAX_LOCK_SECONDS)
}

/// The command error for a verdict other than [`Verdict::Right`].
pub fn refusal(verdict: Verdict, now: i64) -> AppError {
    match verdict {
        Verdict::Right => AppError::internal("a right PIN was refused", &"bug"),
        Verdict::Wrong => AppError::new(ErrorKind::PinInvalid, "the PIN is wrong"),
        Verdict::Locked(until) => AppError::new(
            ErrorKind::PinLocked,
            format!(
                "too many wrong PINs: try again in {} seconds",
                (until - now).max(1)
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;

    #[test]
    fn pin_format_is_four_to_eight_digits() {
        for good in ["1234", "12345678", "0000"] {
            assert!(check_format(good).is_ok(), "{good}");
        }
        for bad in ["123", "123456789", "12a4", "１２３４", " 1234", ""] {
            let err = check_format(bad).unwrap_err();
            assert_eq!(err.kind, ErrorKind::InvalidInput, "{bad}");
        }
    }

    #[test]
    fn stored_pin_is_an_argon2id_hash_and_checks() {
        let mut record = PinRecord::hashed("2468").unwrap();
        let hash = record.hash.clone().unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(!hash.contains("2468"));
        assert_eq!(record.check("2468", NOW), Verdict::Right);
        assert_eq!(record.check("2469", NOW), Verdict::Wrong);
        assert!(!format!("{record:?}").contains("argon2"));
    }

    #[test]
    fn five_wrong_pins_lock_and_the_lock_grows() {
        let mut record = PinRecord::hashed("2468").unwrap();
        for _ in 0..TRIES_BEFORE_LOCK {
            assert_eq!(record.check("0000", NOW), Verdict::Wrong);
        }
        // Locked: even the right PIN is not looked at.
        assert_eq!(record.check("2468", NOW + 29), Verdict::Locked(NOW + 30));
        let err = refusal(Verdict::Locked(NOW + 30), NOW + 29);
        assert_eq!(err.kind, ErrorKind::PinLocked);
        // After the lock, another wrong PIN locks for twice as long.
        assert_eq!(record.check("0000", NOW + 30), Verdict::Wrong);
        assert_eq!(record.check("2468", NOW + 31), Verdict::Locked(NOW + 90));
        // The right PIN after the lock clears the count.
        assert_eq!(record.check("2468", NOW + 90), Verdict::Right);
        assert_eq!(record.check("0000", NOW + 91), Verdict::Wrong);
        assert_eq!(record.check("2468", NOW + 92), Verdict::Right);
    }

    #[test]
    fn a_sealing_pin_keeps_no_hash_and_counts_tries_checked_elsewhere() {
        let mut record = PinRecord::sealing();
        assert!(record.seals_vault());
        let json = serde_json::to_string(&record).unwrap();
        assert!(!json.contains("hash"), "{json}");
        for _ in 0..TRIES_BEFORE_LOCK {
            assert_eq!(record.count(false, NOW), Verdict::Wrong);
        }
        assert_eq!(record.locked(NOW + 29), Some(NOW + 30));
        assert_eq!(record.locked(NOW + 30), None);
        assert_eq!(record.count(true, NOW + 30), Verdict::Right);
        assert_eq!(record.locked(NOW + 31), None);
    }

    #[test]
    fn lock_stops_growing_at_an_hour() {
        assert_eq!(lock_seconds(5), 30);
        assert_eq!(lock_seconds(7), 120);
        assert_eq!(lock_seconds(40), MAX_LOCK_SECONDS);
    }
}
