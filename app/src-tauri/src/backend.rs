//! [`Backend`]: the state the commands share — the authenticator (when set up), the
//! app settings, the credential the event-stream task follows, the challenges
//! already announced to the UI, and the copy of each challenge that was shown (the
//! one a decision signs, [`ShownChallenges`]).

use std::collections::{HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::Mutex;

use onepush_device::{
    Authenticator, KeyStore as _, RelayClient, ShownChallenges, ShownError, Sighting, VaultError,
};
use onepush_protocol::api::DeviceChallenge;
use onepush_protocol::{ChallengeId, ChallengeStatus};
use tokio::sync::{MutexGuard, watch};

use crate::dto::AppState;
use crate::error::{AppError, CommandResult};
use crate::home::{self, AppConfig};
use crate::prefs::PrefsFile;

/// How many announced challenge IDs are remembered (older ones may be announced again).
const SEEN_LIMIT: usize = 256;

/// The app's shared state, managed by Tauri.
#[derive(Debug)]
pub struct Backend {
    config: AppConfig,
    auth: tokio::sync::Mutex<Option<Authenticator>>,
    prefs: tokio::sync::Mutex<PrefsFile>,
    follow: watch::Sender<Option<RelayClient>>,
    seen: Mutex<Seen>,
    shown: Mutex<ShownChallenges>,
    /// Why the vault in the home could not be opened, for the Setup screen.
    vault_problem: Mutex<Option<String>>,
    /// The offline payload last shown (`offline_read`): the code is computed over it.
    offline: Mutex<Option<onepush_device::OfflinePrompt>>,
}

impl Backend {
    /// Opens the app home: the vault when there is one, the settings.
    pub fn open(config: AppConfig) -> Self {
        if let Err(e) = std::fs::create_dir_all(&config.home) {
            tracing::error!(home = %config.home.display(), error = %e, "cannot create the app home");
        }
        let (auth, vault_problem) = match open_vault(&config.home) {
            Ok(auth) => (auth, None),
            Err(problem) => (None, Some(problem)),
        };
        let prefs = PrefsFile::load(&config.home);
        let client = auth.as_ref().map(|a| a.client().clone());
        let (follow, _) = watch::channel(client);
        tracing::info!(home = %config.home.display(), set_up = auth.is_some(), "app home opened");
        Self {
            config,
            auth: tokio::sync::Mutex::new(auth),
            prefs: tokio::sync::Mutex::new(prefs),
            follow,
            seen: Mutex::new(Seen::default()),
            shown: Mutex::new(ShownChallenges::default()),
            vault_problem: Mutex::new(vault_problem),
            offline: Mutex::new(None),
        }
    }

    /// Keeps the offline prompt just shown (replacing any earlier one).
    pub fn set_offline(&self, prompt: Option<onepush_device::OfflinePrompt>) {
        *self
            .offline
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = prompt;
    }

    /// The offline prompt shown last, if any.
    pub fn offline(&self) -> Option<onepush_device::OfflinePrompt> {
        self.offline
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Why the vault here cannot be opened (`None`: it opened, or there is none).
    pub fn vault_problem(&self) -> Option<String> {
        self.vault_problem
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Records why the vault cannot be opened (`None`: it can, or it is gone).
    pub fn set_vault_problem(&self, problem: Option<String>) {
        *self
            .vault_problem
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = problem;
    }

    /// The app home and the proposed relay.
    pub fn config(&self) -> &AppConfig {
        &self.config
    }

    /// The authenticator slot (`None` before setup).
    pub async fn auth(&self) -> MutexGuard<'_, Option<Authenticator>> {
        self.auth.lock().await
    }

    /// The app settings.
    pub async fn prefs(&self) -> MutexGuard<'_, PrefsFile> {
        self.prefs.lock().await
    }

    /// A signed relay client for this credential, without holding the vault.
    pub async fn client(&self) -> CommandResult<RelayClient> {
        self.auth()
            .await
            .as_ref()
            .map(|a| a.client().clone())
            .ok_or_else(AppError::not_set_up)
    }

    /// The state the UI sees.
    pub async fn state(&self) -> AppState {
        let auth = self.auth().await;
        let prefs = self.prefs().await;
        AppState::new(auth.as_ref().map(Authenticator::vault), &prefs.prefs)
    }

    /// Tells the event-stream task which credential to follow (`None`: stop); what
    /// the previous credential showed is forgotten.
    pub fn follow(&self, client: Option<RelayClient>) {
        self.forget_shown();
        self.follow.send_replace(client);
    }

    /// Receives the credential to follow, for the event-stream task.
    pub fn followed(&self) -> watch::Receiver<Option<RelayClient>> {
        self.follow.subscribe()
    }

    /// True the first time `id` is seen (announce it); false afterwards.
    pub fn first_sighting(&self, id: ChallengeId) -> bool {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id)
    }

    /// Takes a copy of a challenge from the relay (event, pull, fetch): the first is
    /// the one shown and signed; a later one that differs marks it changed (logged).
    pub fn record_shown(&self, copy: &DeviceChallenge) -> Sighting {
        let sighting = self.shown_lock().record(copy);
        if let Sighting::Changed(parts) = &sighting {
            tracing::warn!(id = %copy.id, ?parts, "the relay changed a challenge after it was shown");
        }
        sighting
    }

    /// The copy shown (with its latest status): what a decision signs, unless it
    /// changed or was never shown.
    pub fn to_sign(&self, id: ChallengeId) -> Result<DeviceChallenge, ShownError> {
        self.shown_lock().to_sign(id).cloned()
    }

    /// The copy shown first, changed or not.
    pub fn shown(&self, id: ChallengeId) -> Option<DeviceChallenge> {
        self.shown_lock().shown(id).cloned()
    }

    /// A status the relay reported for a shown challenge.
    pub fn shown_status(&self, id: ChallengeId, status: ChallengeStatus) {
        self.shown_lock().set_status(id, status);
    }

    /// Forgets the shown challenges (setup, reset: another credential).
    pub fn forget_shown(&self) {
        self.shown_lock().clear();
    }

    fn shown_lock(&self) -> std::sync::MutexGuard<'_, ShownChallenges> {
        self.shown
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The app home.
    pub fn home(&self) -> &PathBuf {
        &self.config.home
    }
}

/// Opens the vault in `home`: `Ok(None)` when there is none, `Err` with the reason
/// (logged) when it cannot be opened — e.g. its key is not in this device's keystore
/// because the folder was copied from another device or account.
pub(crate) fn open_vault(home: &std::path::Path) -> Result<Option<Authenticator>, String> {
    if !home::has_vault(home) {
        return Ok(None);
    }
    let opened = home::existing_store(home)
        .map_err(|e| VaultError::Io {
            path: home.join("vault.key"),
            source: e,
        })
        .and_then(|store| {
            // Read once here, so a vault of an earlier version is re-sealed with the
            // keystore before its key file is removed.
            store.load()?;
            home::finish_migration(home, &store);
            Ok(store)
        })
        .map_err(onepush_device::DeviceError::Vault)
        .and_then(|store| Authenticator::open(Box::new(store)));
    match opened {
        Ok(auth) => Ok(Some(auth)),
        Err(e) => {
            tracing::error!(error = %e, "cannot open the vault; reset the app to start over");
            Err(match e {
                onepush_device::DeviceError::Vault(vault) => vault.to_string(),
                other => other.to_string(),
            })
        }
    }
}

/// A bounded set of challenge IDs, forgetting the oldest first.
#[derive(Debug, Default)]
struct Seen {
    ids: HashSet<ChallengeId>,
    order: VecDeque<ChallengeId>,
}

impl Seen {
    fn insert(&mut self, id: ChallengeId) -> bool {
        if !self.ids.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > SEEN_LIMIT
            && let Some(old) = self.order.pop_front()
        {
            self.ids.remove(&old);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_challenge_is_announced_once() {
        let mut seen = Seen::default();
        let id = ChallengeId::new();
        assert!(seen.insert(id));
        assert!(!seen.insert(id));
        for _ in 0..SEEN_LIMIT {
            seen.insert(ChallengeId::new());
        }
        assert!(seen.insert(id), "forgotten after {SEEN_LIMIT} newer ones");
    }
}
