//! [`ShownLog`]: the emulator's record of the challenges it printed, kept in the
//! phone's folder because each CLI command is its own process: `show-challenge`,
//! `pending` and `watch` record a [`Fingerprint`] of what they printed, and `approve` /
//! `deny` sign a fetched copy only when its fingerprint is the one recorded.
//!
//! Only fingerprints are kept (no amounts or payees beside the encrypted vault). The
//! file is replaced atomically, owner-only; entries older than a day, and beyond the
//! newest [`SHOWN_LIMIT`], are dropped.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use onepush_protocol::ChallengeId;
use onepush_protocol::api::DeviceChallenge;
use serde::{Deserialize, Serialize};

use crate::shown::{Fingerprint, SHOWN_LIMIT, ShownError, Sighting};

/// How long a record is kept, seconds (challenges live minutes).
const KEEP_SECONDS: i64 = 24 * 3600;

/// Why the record could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ShownLogError {
    /// The file could not be read or written.
    #[error("cannot use the record of shown challenges {}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not a record this program wrote.
    #[error("the record of shown challenges {} is damaged (delete it to start over): {reason}", .path.display())]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// One challenge as printed.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    /// [`Fingerprint::to_b64`] of the copy printed first.
    fingerprint: String,
    /// When it was printed first, Unix seconds.
    shown_at: i64,
    /// A later copy differed: never signed.
    #[serde(default)]
    changed: bool,
}

/// The record of printed challenges in one phone folder.
#[derive(Debug)]
pub struct ShownLog {
    path: PathBuf,
    records: HashMap<String, Record>,
}

impl ShownLog {
    /// The file's name in the phone's folder.
    pub const FILE_NAME: &'static str = "shown-challenges.json";

    /// Reads the record in `home` (empty when there is none yet).
    pub fn open(home: &Path) -> Result<Self, ShownLogError> {
        let path = home.join(Self::FILE_NAME);
        let records = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| ShownLogError::Damaged {
                path: path.clone(),
                reason: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => HashMap::new(),
            Err(source) => return Err(ShownLogError::Io { path, source }),
        };
        Ok(Self { path, records })
    }

    /// Records a copy that is being printed at `now`: the first copy is what later
    /// answers must match; a copy that differs marks the challenge changed for good.
    pub fn record(&mut self, copy: &DeviceChallenge, now: i64) -> Sighting {
        let key = copy.id.to_string();
        let fingerprint = Fingerprint::of(copy);
        let Some(record) = self.records.get_mut(&key) else {
            self.records.insert(
                key,
                Record {
                    fingerprint: fingerprint.to_b64(),
                    shown_at: now,
                    changed: false,
                },
            );
            return Sighting::First;
        };
        if Fingerprint::from_b64(&record.fingerprint) != Some(fingerprint) {
            record.changed = true;
        }
        if record.changed {
            Sighting::Changed(Vec::new())
        } else {
            Sighting::Same
        }
    }

    /// Checks a fetched copy before it is signed: it must be the one printed. A copy
    /// that differs marks the challenge changed (save the log afterwards).
    pub fn check(&mut self, copy: &DeviceChallenge) -> Result<(), ShownError> {
        let id = copy.id;
        let record = self
            .records
            .get_mut(&id.to_string())
            .ok_or(ShownError::NotShown { id })?;
        if Fingerprint::from_b64(&record.fingerprint) != Some(Fingerprint::of(copy)) {
            record.changed = true;
        }
        if record.changed {
            return Err(ShownError::Changed {
                id,
                parts: Vec::new(),
            });
        }
        Ok(())
    }

    /// True when `id` was printed (changed or not).
    pub fn contains(&self, id: ChallengeId) -> bool {
        self.records.contains_key(&id.to_string())
    }

    /// Writes the record back, dropping what is older than a day at `now` and all but
    /// the newest [`SHOWN_LIMIT`].
    pub fn save(&mut self, now: i64) -> Result<(), ShownLogError> {
        self.records.retain(|_, r| r.shown_at > now - KEEP_SECONDS);
        if self.records.len() > SHOWN_LIMIT {
            let mut times: Vec<i64> = self.records.values().map(|r| r.shown_at).collect();
            times.sort_unstable_by(|a, b| b.cmp(a));
            let cutoff = times[SHOWN_LIMIT - 1];
            self.records.retain(|_, r| r.shown_at >= cutoff);
        }
        let json = serde_json::to_vec(&self.records).expect("records always serialise");
        crate::atomic::write_atomic(&self.path, &json).map_err(|source| ShownLogError::Io {
            path: self.path.clone(),
            source,
        })
    }
}
