//! [`Backend`]: the state the commands share — the authenticator (when set up), the
//! app settings, the credential the event-stream task follows, the challenges
//! already announced to the UI, and the copy of each challenge that was shown (the
//! one a decision signs, [`ShownChallenges`]).

use std::collections::{HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use onepush_device::keystore::KeySource;
use onepush_device::{
    Authenticator, DeviceError, FileKeyStore, KeyStore as _, RelayClient, ShownChallenges,
    ShownError, Sighting, VaultError, os_keystore, unix_now,
};
use onepush_protocol::api::{DeviceChallenge, TokenKind};
use onepush_protocol::{ChallengeId, ChallengeStatus};
use tokio::sync::{MutexGuard, watch};

use crate::dto::AppState;
use crate::error::{AppError, CommandResult, ErrorKind};
use crate::home::{self, AppConfig};
use crate::pin::{self, PinRecord, Verdict};
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
    /// The vault is sealed with the PIN and not opened yet: `unlock` opens it.
    locked: AtomicBool,
    /// The offline payload last shown (`offline_read`): the code is computed over it.
    offline: Mutex<Option<onepush_device::OfflinePrompt>>,
}

impl Backend {
    /// Opens the app home: the vault when there is one, the settings.
    pub fn open(config: AppConfig) -> Self {
        if let Err(e) = std::fs::create_dir_all(&config.home) {
            tracing::error!(home = %config.home.display(), error = %e, "cannot create the app home");
        }
        let (auth, vault_problem, locked) = match open_vault(&config.home) {
            Ok(Opened::Open(auth)) => (Some(*auth), None, false),
            Ok(Opened::Nothing) => (None, None, false),
            Ok(Opened::Locked) => (None, None, true),
            Err(problem) => (None, Some(problem), false),
        };
        let prefs = PrefsFile::load(&config.home);
        let client = auth.as_ref().and_then(challenge_client);
        let (follow, _) = watch::channel(client);
        tracing::info!(home = %config.home.display(), set_up = auth.is_some(), locked, "app home opened");
        Self {
            config,
            auth: tokio::sync::Mutex::new(auth),
            prefs: tokio::sync::Mutex::new(prefs),
            follow,
            seen: Mutex::new(Seen::default()),
            shown: Mutex::new(ShownChallenges::default()),
            vault_problem: Mutex::new(vault_problem),
            locked: AtomicBool::new(locked),
            offline: Mutex::new(None),
        }
    }

    /// Whether the vault waits for its PIN (`unlock`).
    pub fn is_locked(&self) -> bool {
        self.locked.load(Ordering::SeqCst)
    }

    /// Marks the vault as waiting for its PIN, or not.
    pub fn set_locked(&self, locked: bool) {
        self.locked.store(locked, Ordering::SeqCst);
    }

    /// The error of a command that needs the opened vault: `locked` while it waits for
    /// its PIN, else `not_set_up`.
    pub fn missing(&self) -> AppError {
        if self.is_locked() {
            AppError::new(ErrorKind::Locked, "unlock the app with its PIN first")
        } else {
            AppError::not_set_up()
        }
    }

    /// Opens the PIN-sealed vault with `pin` (and this device's keystore secret). A
    /// wrong PIN is counted with the approval PIN's tries and locks the same way; a
    /// vault whose keystore entry is not here says so (`vault_key_missing`).
    pub async fn unlock(&self, pin: String) -> CommandResult<()> {
        let pin = zeroize::Zeroizing::new(pin);
        let mut slot = self.auth().await;
        if slot.is_some() {
            return Ok(());
        }
        if !self.is_locked() {
            return Err(match self.vault_problem() {
                Some(problem) => AppError::new(
                    ErrorKind::NotSetUp,
                    format!(
                        "this device's vault cannot be opened ({problem}): start over to remove it"
                    ),
                ),
                None => AppError::not_set_up(),
            });
        }
        pin::check_format(&pin)?;
        let mut prefs = self.prefs().await;
        let mut record = prefs.prefs.pin.clone().unwrap_or_else(PinRecord::sealing);
        let now = unix_now();
        if let Some(until) = record.locked(now) {
            return Err(pin::refusal(Verdict::Locked(until), now));
        }
        let home = self.home().clone();
        let opened = tauri::async_runtime::spawn_blocking(move || {
            let store = FileKeyStore::new(&home, pin)?;
            Authenticator::open(Box::new(store))
        })
        .await
        .map_err(|e| AppError::internal("the vault could not be opened", &e))?;
        let verdict = match &opened {
            Ok(_) => record.count(true, now),
            Err(DeviceError::Vault(VaultError::WrongPin)) => record.count(false, now),
            // Not a try of the PIN (no keystore entry, a damaged file): not counted.
            Err(_) => Verdict::Right,
        };
        prefs.prefs.pin = Some(record);
        prefs.save()?;
        if verdict != Verdict::Right {
            return Err(pin::refusal(verdict, now));
        }
        let auth = opened.map_err(AppError::from)?;
        tracing::info!(credential = %auth.vault().credential_id(), "vault unlocked");
        self.follow(challenge_client(&auth));
        *slot = Some(auth);
        self.set_locked(false);
        Ok(())
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

    /// A signed relay client for this credential's challenges, without holding the
    /// vault. A code token (`otp`, a PC token) has no challenges: `not_found`.
    pub async fn client(&self) -> CommandResult<RelayClient> {
        let auth = self.auth().await;
        let auth = auth.as_ref().ok_or_else(|| self.missing())?;
        challenge_client(auth).ok_or_else(|| {
            AppError::new(
                ErrorKind::NotFound,
                "this PC is a code token: it shows codes and gets no approval requests",
            )
        })
    }

    /// The kind of token set up here (`None`: not set up, or locked).
    pub async fn token_kind(&self) -> Option<TokenKind> {
        self.auth().await.as_ref().map(Authenticator::kind)
    }

    /// The state the UI sees.
    pub async fn state(&self) -> AppState {
        let auth = self.auth().await;
        let prefs = self.prefs().await;
        AppState::new(
            auth.as_ref().map(Authenticator::vault),
            &prefs.prefs,
            self.is_locked(),
        )
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

/// The client whose challenges the app follows and answers: a push token's; a code
/// token (`otp`, such as a PC token, R11) gets none (codes only).
pub(crate) fn challenge_client(auth: &Authenticator) -> Option<RelayClient> {
    (auth.kind() == TokenKind::Push).then(|| auth.client().clone())
}

/// What [`open_vault`] found.
#[derive(Debug)]
pub(crate) enum Opened {
    /// No vault: not set up.
    Nothing,
    /// The vault, open.
    Open(Box<Authenticator>),
    /// A vault sealed with the PIN: it opens with `unlock`.
    Locked,
}

/// Opens the vault in `home`: `Err` with the reason (logged) when it cannot be opened
/// — e.g. its key is not in this device's keystore because the folder was copied from
/// another device or account (told before any PIN is asked for).
pub(crate) fn open_vault(home: &std::path::Path) -> Result<Opened, String> {
    if !home::has_vault(home) {
        return Ok(Opened::Nothing);
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
        .map_err(DeviceError::Vault)
        .and_then(|store| Authenticator::open(Box::new(store)));
    match opened {
        Ok(auth) => Ok(Opened::Open(Box::new(auth))),
        Err(DeviceError::Vault(VaultError::Locked(_))) => match keystore_entry_missing(home) {
            Some(problem) => {
                tracing::error!(%problem, "cannot open the vault; reset the app to start over");
                Err(problem)
            }
            None => Ok(Opened::Locked),
        },
        Err(e) => {
            tracing::error!(error = %e, "cannot open the vault; reset the app to start over");
            Err(match e {
                DeviceError::Vault(vault) => vault.to_string(),
                other => other.to_string(),
            })
        }
    }
}

/// Why a PIN-sealed vault cannot open here whatever the PIN: its keystore entry is
/// missing (a copied folder). `None` when it is there, or cannot be looked at now.
fn keystore_entry_missing(home: &std::path::Path) -> Option<String> {
    match FileKeyStore::without_pin(home).sealing() {
        Ok(Some((KeySource::Keystore, account))) => match os_keystore::read(&account) {
            Ok(None) => Some(VaultError::NotInKeystore.to_string()),
            Ok(Some(_)) | Err(_) => None,
        },
        _ => None,
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
