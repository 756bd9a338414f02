//! Token buckets by key (in memory, per process): each key (a client address, a
//! credential) gets `per_minute` tokens, refilled continuously; a request takes one.
//! Provisioning is limited per client address; the device API per client address and
//! per credential (issue 22).

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

/// Buckets by key (a client address unless said otherwise).
#[derive(Debug)]
pub struct RateLimiter<K = IpAddr> {
    /// `None`: no limit.
    per_minute: Option<f64>,
    buckets: Mutex<HashMap<K, (f64, Instant)>>,
}

/// Keys tracked before full buckets are swept.
const SWEEP_AT: usize = 10_000;

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// `per_minute` requests per minute per key, with the same burst (at least 1).
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute: Some(f64::from(per_minute.max(1))),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// As [`RateLimiter::new`], with 0 meaning no limit.
    pub fn new_or_off(per_minute: u32) -> Self {
        if per_minute == 0 {
            Self {
                per_minute: None,
                buckets: Mutex::new(HashMap::new()),
            }
        } else {
            Self::new(per_minute)
        }
    }

    /// Takes a token for `key` at `now`; `Err(seconds)` to wait when none is left.
    pub fn check(&self, key: &K, now: Instant) -> Result<(), u64> {
        self.bucket(key, now, true)
    }

    /// Whether `key` has a token left at `now`, without taking it; `Err(seconds)` to
    /// wait when not.
    pub fn peek(&self, key: &K, now: Instant) -> Result<(), u64> {
        self.bucket(key, now, false)
    }

    fn bucket(&self, key: &K, now: Instant, take: bool) -> Result<(), u64> {
        let Some(full) = self.per_minute else {
            return Ok(());
        };
        let rate = full / 60.0;
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= SWEEP_AT {
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.saturating_duration_since(*at).as_secs_f64() * rate < full
            });
        }
        if !take && !buckets.contains_key(key) {
            return Ok(());
        }
        let (tokens, at) = buckets.entry(key.clone()).or_insert((full, now));
        let refill = now.saturating_duration_since(*at).as_secs_f64() * rate;
        *tokens = (*tokens + refill).min(full);
        *at = now;
        if *tokens >= 1.0 {
            if take {
                *tokens -= 1.0;
            }
            Ok(())
        } else {
            let wait = (1.0 - *tokens) / rate;
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            // small positive seconds
            Err(wait.ceil() as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_is_cut_off_and_refills() {
        let limiter = RateLimiter::new(2);
        let ip: IpAddr = [10, 0, 0, 1].into();
        let t0 = Instant::now();
        assert!(limiter.check(&ip, t0).is_ok());
        assert!(limiter.check(&ip, t0).is_ok());
        assert_eq!(limiter.check(&ip, t0), Err(30));
        assert!(
            limiter.check(&[10, 0, 0, 2].into(), t0).is_ok(),
            "other addresses are not affected"
        );
        assert!(limiter.check(&ip, t0 + Duration::from_secs(30)).is_ok());
    }

    #[test]
    fn peeking_takes_nothing_and_zero_is_no_limit() {
        let limiter = RateLimiter::<&str>::new(1);
        let t0 = Instant::now();
        assert!(limiter.peek(&"a", t0).is_ok());
        assert!(limiter.peek(&"a", t0).is_ok());
        assert!(limiter.check(&"a", t0).is_ok());
        assert_eq!(limiter.peek(&"a", t0), Err(60));
        let off = RateLimiter::<&str>::new_or_off(0);
        for _ in 0..1000 {
            assert!(off.check(&"a", t0).is_ok());
        }
    }
}
