//! Security codes: TOTP (RFC 6238) with HMAC-SHA-1, 6 digits, 30-second steps, T0 = 0.
//!
//! A code is accepted only for a time step newer than the last one used, so each code
//! works once. Every candidate step in the window is compared in constant time.
//!
//! | use | function | window (steps each side) |
//! | --- | --- | --- |
//! | one code at sign-in (R7) | [`verify`] | [`VERIFY_WINDOW`] |
//! | two consecutive codes at enrollment (R8) | [`verify_consecutive`] | [`ENROLLMENT_WINDOW`] |
//! | two consecutive codes to measure drift (R12) | [`resync`] | [`RESYNC_WINDOW`] |

use subtle::{Choice, ConstantTimeEq as _};

use crate::secret::{FixedSecret, SecretKind};

/// Digits in a code.
pub const DIGITS: u32 = 6;
/// Seconds in a time step.
pub const PERIOD: i64 = 30;
/// Bytes in a secret (the HMAC-SHA-1 output size, RFC 4226 §4 R6).
pub const SECRET_LEN: usize = 20;
/// Steps either side of now accepted by [`verify`]: ±30 s for clocks and typing.
pub const VERIFY_WINDOW: u64 = 1;
/// Steps either side of now searched at enrollment by [`verify_consecutive`]: the user
/// needs about a minute to read and type two codes.
pub const ENROLLMENT_WINDOW: u64 = 2;
/// Steps either side of now searched by [`resync`]: 40 steps, 20 minutes.
pub const RESYNC_WINDOW: u64 = 40;

/// Why a code or a secret was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    /// Not exactly six digits.
    #[error("security code must be exactly 6 digits")]
    Malformed,
    /// Not the code of any step in the window.
    #[error("security code is wrong or has expired")]
    Invalid,
    /// The code of a step already used: each code works once.
    #[error("security code was already used; wait for the next code and try again")]
    Replayed,
    /// The two codes are not the codes of two consecutive steps.
    #[error(
        "the two security codes are not consecutive; enter the code shown, wait for the next one, and enter it too"
    )]
    NotConsecutive,
    /// The secret is not 20 bytes, or not base32.
    #[error("TOTP secret is invalid: {0}")]
    BadSecret(String),
}

/// A 20-byte TOTP secret. Zeroized on drop; `Debug` does not show it.
pub type TotpSecret = FixedSecret<SECRET_LEN, Totp>;

/// The kind of a [`TotpSecret`].
#[derive(Debug)]
pub enum Totp {}

impl SecretKind for Totp {
    const NAME: &'static str = "TotpSecret";
    type Error = TotpError;
    fn bad(detail: String) -> TotpError {
        TotpError::BadSecret(detail)
    }
}

/// The time step at `now` (Unix seconds): `floor(now / 30)`, 0 before 1970.
pub fn step_at(now: i64) -> u64 {
    u64::try_from(now.div_euclid(PERIOD)).unwrap_or(0)
}

/// Seconds until the code shown at `now` changes, 1 to 30.
pub fn seconds_left(now: i64) -> u32 {
    u32::try_from(PERIOD - now.rem_euclid(PERIOD)).unwrap_or(1)
}

/// HOTP (RFC 4226 §5.3) with HMAC-SHA-1: the `digits`-digit code for `counter`,
/// zero-padded.
pub fn hotp(secret_bytes: &[u8], counter: u64, digits: u32) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret_bytes);
    let tag = ring::hmac::sign(&key, &counter.to_be_bytes());
    let mac = tag.as_ref();
    let offset = usize::from(mac[19] & 0x0f);
    let binary = u32::from_be_bytes([
        mac[offset],
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ]) & 0x7fff_ffff;
    let modulus = 10u64.checked_pow(digits).unwrap_or(u64::MAX);
    let width = usize::try_from(digits).unwrap_or(0);
    format!("{:0width$}", u64::from(binary) % modulus)
}

/// The 6-digit code of a time step.
pub fn code_at_step(secret: &TotpSecret, step: u64) -> String {
    hotp(secret.as_bytes(), step, DIGITS)
}

/// The 6-digit code shown at `now` (Unix seconds).
pub fn code(secret: &TotpSecret, now: i64) -> String {
    code_at_step(secret, step_at(now))
}

/// Checks one code typed at `now`.
///
/// The candidates are the steps `center - window ..= center + window` with
/// `center = step_at(now) + drift_steps` (the drift a [`resync`] recorded). Every
/// candidate is computed and compared in constant time, even after a match.
/// Returns the matched step, which the caller stores as the new `last_used_step`.
///
/// # Errors
/// [`TotpError::Malformed`] unless exactly six ASCII digits; [`TotpError::Replayed`]
/// when it matches only steps `<= last_used_step`; [`TotpError::Invalid`] otherwise.
pub fn verify(
    secret: &TotpSecret,
    code: &str,
    now: i64,
    drift_steps: i64,
    window: u64,
    last_used_step: Option<u64>,
) -> Result<u64, TotpError> {
    check_format(code)?;
    let steps = Window::new(step_at(now), drift_steps, window);
    let matches = steps.matches(secret, code);
    let mut newest_fresh = None;
    let mut any = false;
    for (step, matched) in steps.iter().zip(matches) {
        if matched {
            any = true;
            if is_fresh(step, last_used_step) {
                newest_fresh = Some(step);
            }
        }
    }
    match newest_fresh {
        Some(step) => Ok(step),
        None if any => Err(TotpError::Replayed),
        None => Err(TotpError::Invalid),
    }
}

/// Checks two codes typed one after the other (enrollment, R8): `codes[0]` of a step
/// `s` and `codes[1]` of `s + 1`, both in the window, both newer than
/// `last_used_step`. Enrollment passes [`ENROLLMENT_WINDOW`] (2 steps each side).
/// Returns `s + 1`, the new `last_used_step`.
///
/// # Errors
/// [`TotpError::Malformed`] for a code that is not six digits;
/// [`TotpError::NotConsecutive`] when the codes are equal, or each is valid but not
/// for consecutive steps; [`TotpError::Replayed`] when the pair is older than the last
/// used step; [`TotpError::Invalid`] otherwise.
pub fn verify_consecutive(
    secret: &TotpSecret,
    codes: [&str; 2],
    now: i64,
    drift_steps: i64,
    window: u64,
    last_used_step: Option<u64>,
) -> Result<u64, TotpError> {
    find_consecutive(
        secret,
        codes,
        Window::new(step_at(now), drift_steps, window),
        last_used_step,
    )
}

/// The result of a [`resync`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resync {
    /// The step of the second code: the new `last_used_step`.
    pub step: u64,
    /// How many steps the device clock is ahead (positive) or behind (negative).
    pub drift_steps: i64,
}

/// Finds two consecutive codes within `wide_window` steps of now (R12; [`RESYNC_WINDOW`]
/// is 20 minutes) and measures the device's clock drift from them.
///
/// # Errors
/// As [`verify_consecutive`].
pub fn resync(
    secret: &TotpSecret,
    codes: [&str; 2],
    now: i64,
    wide_window: u64,
    last_used_step: Option<u64>,
) -> Result<Resync, TotpError> {
    let now_step = step_at(now);
    let step = find_consecutive(
        secret,
        codes,
        Window::new(now_step, 0, wide_window),
        last_used_step,
    )?;
    let drift = i128::from(step) - i128::from(now_step);
    Ok(Resync {
        step,
        drift_steps: i64::try_from(drift).unwrap_or(i64::MAX),
    })
}

fn check_format(code: &str) -> Result<(), TotpError> {
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(TotpError::Malformed)
    }
}

fn is_fresh(step: u64, last_used_step: Option<u64>) -> bool {
    last_used_step.is_none_or(|last| step > last)
}

fn find_consecutive(
    secret: &TotpSecret,
    codes: [&str; 2],
    steps: Window,
    last_used_step: Option<u64>,
) -> Result<u64, TotpError> {
    check_format(codes[0])?;
    check_format(codes[1])?;
    if codes[0] == codes[1] {
        return Err(TotpError::NotConsecutive);
    }
    let first = steps.matches(secret, codes[0]);
    let second = steps.matches(secret, codes[1]);
    let starts: Vec<u64> = steps
        .iter()
        .zip(first.iter().zip(second.iter().skip(1)))
        .filter(|(_, (a, b))| **a && **b)
        .map(|(step, _)| step)
        .collect();
    if let Some(&s) = starts.iter().rev().find(|&&s| is_fresh(s, last_used_step)) {
        return Ok(s + 1);
    }
    if !starts.is_empty() {
        return Err(TotpError::Replayed);
    }
    if first.contains(&true) && second.contains(&true) {
        return Err(TotpError::NotConsecutive);
    }
    Err(TotpError::Invalid)
}

/// The candidate steps `low ..= high`, clamped at 0 and `u64::MAX`.
#[derive(Clone, Copy)]
struct Window {
    low: u64,
    high: u64,
}

impl Window {
    fn new(now_step: u64, drift_steps: i64, window: u64) -> Self {
        let center = i128::from(now_step) + i128::from(drift_steps);
        let clamp = |v: i128| u64::try_from(v.max(0)).unwrap_or(u64::MAX);
        Self {
            low: clamp(center - i128::from(window)),
            high: clamp(center + i128::from(window)),
        }
    }

    fn iter(self) -> impl Iterator<Item = u64> {
        self.low..=self.high
    }

    /// For each step, whether `code` is its code; every comparison in constant time.
    fn matches(self, secret: &TotpSecret, code: &str) -> Vec<bool> {
        self.iter()
            .map(|step| {
                let matched: Choice = code_at_step(secret, step).as_bytes().ct_eq(code.as_bytes());
                bool::from(matched)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
