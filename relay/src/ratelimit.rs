//! A per-address token bucket for provisioning (in memory, per process): each client
//! address gets `per_minute` tokens, refilled continuously; a request takes one.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

/// Buckets by client address.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

/// Addresses tracked before idle buckets are swept.
const SWEEP_AT: usize = 10_000;

impl RateLimiter {
    /// `per_minute` requests per minute per address, with the same burst.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute: f64::from(per_minute.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `addr` at `now`; `Err(seconds)` to wait when none is left.
    pub fn check(&self, addr: IpAddr, now: Instant) -> Result<(), u64> {
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= SWEEP_AT {
            let full = self.per_minute;
            let rate = self.per_minute / 60.0;
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < full
            });
        }
        let (tokens, at) = buckets.entry(addr).or_insert((self.per_minute, now));
        let refill = now.duration_since(*at).as_secs_f64() * self.per_minute / 60.0;
        *tokens = (*tokens + refill).min(self.per_minute);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - *tokens) * 60.0 / self.per_minute;
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
        assert!(limiter.check(ip, t0).is_ok());
        assert!(limiter.check(ip, t0).is_ok());
        assert_eq!(limiter.check(ip, t0), Err(30));
        assert!(
            limiter.check([10, 0, 0, 2].into(), t0).is_ok(),
            "other addresses are not affected"
        );
        assert!(limiter.check(ip, t0 + Duration::from_secs(30)).is_ok());
    }
}
