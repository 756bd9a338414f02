//! The app's own settings next to the vault (`<home>/app-settings.json`): language,
//! "PIN before approve", the count of wrong PINs, "start at login". They live outside
//! the vault so the language works before setup; they hold no secret (installs of
//! earlier versions keep the PIN's Argon2id hash until the PIN seals the vault).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{AppError, CommandResult};
use crate::pin::PinRecord;

/// The UI language choice.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    /// Japanese.
    Ja,
    /// English.
    En,
    /// The system's language (Japanese when it is Japanese, English otherwise).
    #[default]
    System,
}

impl Language {
    /// Japanese or English: resolves [`Language::System`] from the environment
    /// (`LC_ALL`, `LC_MESSAGES`, `LANG`, as POSIX orders them).
    #[must_use]
    pub fn resolved(self) -> Self {
        match self {
            Self::System => {
                let locale = ["LC_ALL", "LC_MESSAGES", "LANG"]
                    .iter()
                    .filter_map(|name| std::env::var(name).ok())
                    .find(|value| !value.is_empty())
                    .unwrap_or_default();
                if locale.starts_with("ja") {
                    Self::Ja
                } else {
                    Self::En
                }
            }
            chosen => chosen,
        }
    }
}

/// What the app keeps besides the vault.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Prefs {
    /// The UI language.
    pub language: Language,
    /// Ask for the PIN (phones: the biometric prompt) before every approval.
    pub pin_before_approve: bool,
    /// The PIN's tries when one is set (earlier versions: with its hash).
    pub pin: Option<PinRecord>,
    /// Desktop: the app starts at login, into the tray (off unless the user turns it on).
    pub start_at_login: bool,
}

/// [`Prefs`] and the file they are kept in.
#[derive(Debug)]
pub struct PrefsFile {
    path: PathBuf,
    /// The current values; call [`PrefsFile::save`] after changing them.
    pub prefs: Prefs,
}

impl PrefsFile {
    /// The file's name in the app home.
    pub const FILE_NAME: &'static str = "app-settings.json";

    /// Reads the settings in `home`; defaults when there is no file or it is unreadable
    /// (logged: a damaged file must not keep the app from starting).
    pub fn load(home: &Path) -> Self {
        let path = home.join(Self::FILE_NAME);
        let prefs = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::error!(path = %path.display(), error = %e, "unreadable app settings; using defaults");
                Prefs::default()
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Prefs::default(),
            Err(e) => {
                tracing::error!(path = %path.display(), error = %e, "cannot read the app settings; using defaults");
                Prefs::default()
            }
        };
        Self { path, prefs }
    }

    /// Writes the settings: a new file renamed over the old one, owner-only.
    pub fn save(&self) -> CommandResult<()> {
        let json = serde_json::to_vec_pretty(&self.prefs).expect("settings always serialise");
        write_private(&self.path, &json)
            .map_err(|e| AppError::internal("the app settings could not be saved", &e))
    }
}

/// Writes `bytes` to `path` through a temporary file and a rename; mode 0600 on Unix.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_and_default_when_missing() {
        let home = tempfile::tempdir().unwrap();
        let mut file = PrefsFile::load(home.path());
        assert_eq!(file.prefs, Prefs::default());
        file.prefs.language = Language::Ja;
        file.prefs.pin_before_approve = true;
        file.save().unwrap();
        let back = PrefsFile::load(home.path());
        assert_eq!(back.prefs.language, Language::Ja);
        assert!(back.prefs.pin_before_approve);
    }

    #[test]
    fn damaged_settings_fall_back_to_defaults() {
        let home = tempfile::tempdir().unwrap();
        std::fs::write(home.path().join(PrefsFile::FILE_NAME), b"{not json").unwrap();
        assert_eq!(PrefsFile::load(home.path()).prefs, Prefs::default());
    }

    #[cfg(unix)]
    #[test]
    fn settings_file_is_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let home = tempfile::tempdir().unwrap();
        PrefsFile::load(home.path()).save().unwrap();
        let mode = std::fs::metadata(home.path().join(PrefsFile::FILE_NAME))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
