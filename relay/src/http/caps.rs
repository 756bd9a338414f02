//! Caps on what clients hold open in this relay (issue 22, item 4): event streams per
//! credential (one more closes the oldest) and in all, long-polls per tenant. Past a cap
//! the answer is 503 `overloaded` with `Retry-After`. Counted per process: N relays
//! behind a balancer allow N times as many.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use onepush_protocol::{CredentialId, TenantId};
use tokio::sync::oneshot;

use crate::http::error::ApiError;
use crate::settings::Settings;

/// The caps and what is open now.
#[derive(Debug)]
pub struct Caps {
    streams_per_credential: usize,
    streams_max: usize,
    long_polls_per_tenant: usize,
    streams: Mutex<Streams>,
    long_polls: Mutex<HashMap<TenantId, usize>>,
}

#[derive(Debug, Default)]
struct Streams {
    open: usize,
    next_id: u64,
    /// Per credential, oldest first: each stream's ID and the sender that closes it.
    by_credential: HashMap<CredentialId, VecDeque<(u64, oneshot::Sender<()>)>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn usize_of(n: u32) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

impl Caps {
    /// The caps of `settings`.
    pub fn new(settings: &Settings) -> Self {
        Self {
            streams_per_credential: usize_of(settings.limits.event_streams_per_credential).max(1),
            streams_max: usize_of(settings.limits.event_streams_max).max(1),
            long_polls_per_tenant: usize_of(settings.limits.long_polls_per_tenant).max(1),
            streams: Mutex::new(Streams::default()),
            long_polls: Mutex::new(HashMap::new()),
        }
    }

    /// A place for one more event stream of `credential`: its oldest is closed when it
    /// has as many as allowed; 503 when the relay has as many as it allows in all.
    pub fn open_stream(
        self: &Arc<Self>,
        credential: &CredentialId,
    ) -> Result<StreamSlot, ApiError> {
        let mut streams = lock(&self.streams);
        let Streams {
            open,
            next_id,
            by_credential,
        } = &mut *streams;
        let mine = by_credential.get(credential).map_or(0, VecDeque::len);
        if mine < self.streams_per_credential && *open >= self.streams_max {
            crate::metrics::limit_refused("event_streams");
            return Err(ApiError::Overloaded("event streams"));
        }
        let list = by_credential.entry(credential.clone()).or_default();
        while list.len() >= self.streams_per_credential {
            if let Some((_, close)) = list.pop_front() {
                // The oldest stream ends (its slot's drop finds itself gone).
                let _ = close.send(());
                *open -= 1;
                crate::metrics::limit_refused("event_streams_per_credential");
            }
        }
        let (close, closed) = oneshot::channel();
        *next_id += 1;
        let id = *next_id;
        list.push_back((id, close));
        *open += 1;
        crate::metrics::event_streams_open(*open);
        Ok(StreamSlot {
            caps: self.clone(),
            credential: credential.clone(),
            id,
            closed: Some(closed),
        })
    }

    /// A place for one more long-poll of `tenant`; 503 when it has as many as allowed.
    pub fn wait_slot(self: &Arc<Self>, tenant: &TenantId) -> Result<LongPollSlot, ApiError> {
        let mut polls = lock(&self.long_polls);
        let waiting = polls.entry(tenant.clone()).or_insert(0);
        if *waiting >= self.long_polls_per_tenant {
            crate::metrics::limit_refused("long_polls_per_tenant");
            return Err(ApiError::Overloaded("long-polls for this bank"));
        }
        *waiting += 1;
        Ok(LongPollSlot {
            caps: self.clone(),
            tenant: tenant.clone(),
        })
    }

    /// Event streams open now.
    pub fn streams_open(&self) -> usize {
        lock(&self.streams).open
    }
}

/// An open event stream's place; freed when dropped.
#[derive(Debug)]
pub struct StreamSlot {
    caps: Arc<Caps>,
    credential: CredentialId,
    id: u64,
    closed: Option<oneshot::Receiver<()>>,
}

impl StreamSlot {
    /// Resolves when a newer stream of the same credential closed this one.
    pub async fn closed(&mut self) {
        if let Some(rx) = self.closed.as_mut() {
            if rx.await.is_ok() {
                tracing::debug!(credential = %self.credential.as_str(), "event stream closed for a newer one");
            }
            self.closed = None;
        } else {
            std::future::pending::<()>().await;
        }
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut streams = lock(&self.caps.streams);
        let Some(list) = streams.by_credential.get_mut(&self.credential) else {
            return;
        };
        let Some(at) = list.iter().position(|(id, _)| *id == self.id) else {
            return;
        };
        list.remove(at);
        if list.is_empty() {
            streams.by_credential.remove(&self.credential);
        }
        streams.open -= 1;
        crate::metrics::event_streams_open(streams.open);
    }
}

/// A waiting long-poll's place; freed when dropped.
#[derive(Debug)]
pub struct LongPollSlot {
    caps: Arc<Caps>,
    tenant: TenantId,
}

impl Drop for LongPollSlot {
    fn drop(&mut self) {
        let mut polls = lock(&self.caps.long_polls);
        if let Some(waiting) = polls.get_mut(&self.tenant) {
            *waiting -= 1;
            if *waiting == 0 {
                polls.remove(&self.tenant);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(per_credential: u32, max: u32, per_tenant: u32) -> Arc<Caps> {
        Arc::new(Caps::new(&{
            let mut s = Settings::default();
            s.limits.event_streams_per_credential = per_credential;
            s.limits.event_streams_max = max;
            s.limits.long_polls_per_tenant = per_tenant;
            s
        }))
    }

    #[tokio::test]
    async fn a_fourth_stream_of_a_credential_closes_its_oldest() {
        let caps = caps(3, 100, 1);
        let id: CredentialId = "ONEP12345674".parse().unwrap();
        let mut first = caps.open_stream(&id).unwrap();
        let _second = caps.open_stream(&id).unwrap();
        let _third = caps.open_stream(&id).unwrap();
        assert_eq!(caps.streams_open(), 3);
        let _fourth = caps.open_stream(&id).unwrap();
        first.closed().await;
        assert_eq!(caps.streams_open(), 3);
        drop(first);
        assert_eq!(
            caps.streams_open(),
            3,
            "the closed one was counted off once"
        );
    }

    #[test]
    fn past_the_relay_wide_cap_streams_and_long_polls_are_refused_until_one_ends() {
        let caps = caps(3, 2, 1);
        let a: CredentialId = "ONEP12345674".parse().unwrap();
        let b: CredentialId = "ONEP00000000".parse().unwrap();
        let held = caps.open_stream(&a).unwrap();
        let _other = caps.open_stream(&a).unwrap();
        let err = caps.open_stream(&b).unwrap_err();
        assert_eq!(err.slug(), "overloaded");
        drop(held);
        let _b = caps.open_stream(&b).unwrap();
        let tenant: TenantId = "bank".parse().unwrap();
        let slot = caps.wait_slot(&tenant).unwrap();
        assert_eq!(caps.wait_slot(&tenant).unwrap_err().slug(), "overloaded");
        assert!(caps.wait_slot(&"other".parse().unwrap()).is_ok());
        drop(slot);
        assert!(caps.wait_slot(&tenant).is_ok());
    }
}
