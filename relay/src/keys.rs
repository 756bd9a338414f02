//! The relay's own keys: the VAPID key pair and the master key that encrypts TOTP
//! secrets at rest (AES-256-GCM). Both are files with mode 0600 in the data folder,
//! created on first start and kept.

use std::io::Write as _;
use std::path::Path;

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use zeroize::Zeroizing;

/// File name of the VAPID private key (32 raw bytes, the P-256 scalar).
pub const VAPID_FILE: &str = "vapid.key";
/// File name of the master key (32 raw bytes).
pub const MASTER_FILE: &str = "master.key";

/// Why the keys cannot be loaded or used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A key file could not be read or written.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A key file does not hold a valid key.
    #[error("key file {0} is corrupt (expected 32 bytes)")]
    Corrupt(String),
    /// A sealed secret does not open with the master key.
    #[error("a stored secret does not decrypt with the master key")]
    Unseal,
}

/// The relay's keys.
pub struct RelayKeys {
    vapid_private: Zeroizing<[u8; 32]>,
    vapid_public: Vec<u8>,
    master: LessSafeKey,
    master_check: String,
}

/// The label whose HMAC under the master key is the key's check value.
const MASTER_CHECK_LABEL: &[u8] = b"onepush cluster check: master key v1";

impl std::fmt::Debug for RelayKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayKeys")
            .field(
                "vapid_public",
                &onepush_protocol::b64::encode(&self.vapid_public),
            )
            .finish_non_exhaustive()
    }
}

impl RelayKeys {
    /// Loads the keys from `dir`, creating missing ones; `master_override` (from the
    /// settings) replaces the master key file.
    pub fn load_or_create(dir: &Path, master_override: Option<[u8; 32]>) -> Result<Self, KeyError> {
        std::fs::create_dir_all(dir).map_err(|source| io_err(dir, source))?;
        let vapid = load_or_create_file(&dir.join(VAPID_FILE), random_scalar)?;
        let master = match master_override {
            Some(key) => Zeroizing::new(key),
            None => load_or_create_file(&dir.join(MASTER_FILE), random_bytes)?,
        };
        Self::from_bytes(&vapid, &master)
            .ok_or_else(|| KeyError::Corrupt(dir.join(VAPID_FILE).display().to_string()))
    }

    /// Keys from raw bytes (`None` when the VAPID scalar is not a valid P-256 key).
    pub fn from_bytes(vapid_private: &[u8; 32], master: &[u8; 32]) -> Option<Self> {
        let secret = p256::SecretKey::from_slice(vapid_private).ok()?;
        let vapid_public = secret.public_key().to_sec1_bytes().to_vec();
        let check = ring::hmac::sign(
            &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, master),
            MASTER_CHECK_LABEL,
        );
        let master = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, master).ok()?);
        Some(Self {
            vapid_private: Zeroizing::new(*vapid_private),
            vapid_public,
            master,
            master_check: onepush_protocol::b64::encode(check.as_ref()),
        })
    }

    /// The VAPID private key: the raw 32-byte P-256 scalar.
    pub fn vapid_private(&self) -> &[u8; 32] {
        &self.vapid_private
    }

    /// The VAPID public key, uncompressed SEC 1 point (65 bytes).
    pub fn vapid_public(&self) -> &[u8] {
        &self.vapid_public
    }

    /// The VAPID public key as base64url (the `applicationServerKey`).
    pub fn vapid_public_b64(&self) -> String {
        onepush_protocol::b64::encode(&self.vapid_public)
    }

    /// A check value of the master key, base64url: HMAC-SHA256 of a fixed label under
    /// the key. Equal for equal keys, and says nothing about the key itself (relays on one
    /// database compare it, see `crate::cluster`).
    pub fn master_check(&self) -> &str {
        &self.master_check
    }

    /// Encrypts `plain` under the master key; `aad` binds it to its owner (the credential ID).
    /// Output: 12-byte nonce ‖ ciphertext ‖ tag.
    pub fn seal(&self, plain: &[u8], aad: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        onepush_protocol::keys::fill_random(&mut nonce);
        let mut buf = plain.to_vec();
        self.master
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut buf,
            )
            .expect("AES-GCM sealing a short secret cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        out
    }

    /// Decrypts what [`RelayKeys::seal`] made.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        if sealed.len() < NONCE_LEN {
            return Err(KeyError::Unseal);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| KeyError::Unseal)?;
        let mut buf = Zeroizing::new(body.to_vec());
        let plain = self
            .master
            .open_in_place(nonce, Aad::from(aad), &mut buf)
            .map_err(|_| KeyError::Unseal)?;
        Ok(Zeroizing::new(plain.to_vec()))
    }
}

fn io_err(path: &Path, source: std::io::Error) -> KeyError {
    KeyError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn random_bytes() -> [u8; 32] {
    let mut key = [0u8; 32];
    onepush_protocol::keys::fill_random(&mut key);
    key
}

fn random_scalar() -> [u8; 32] {
    loop {
        let key = random_bytes();
        if p256::SecretKey::from_slice(&key).is_ok() {
            return key;
        }
    }
}

fn load_or_create_file(
    path: &Path,
    create: fn() -> [u8; 32],
) -> Result<Zeroizing<[u8; 32]>, KeyError> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let key: [u8; 32] = bytes
                .as_slice()
                .try_into()
                .map_err(|_| KeyError::Corrupt(path.display().to_string()))?;
            Ok(Zeroizing::new(key))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = Zeroizing::new(create());
            write_private(path, &*key).map_err(|source| io_err(path, source))?;
            Ok(key)
        }
        Err(source) => Err(io_err(path, source)),
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_created_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = RelayKeys::load_or_create(dir.path(), None).unwrap();
        let second = RelayKeys::load_or_create(dir.path(), None).unwrap();
        assert_eq!(first.vapid_public(), second.vapid_public());
        assert_eq!(first.vapid_public().len(), 65);
        let sealed = first.seal(b"totp secret", b"ONEP12345674");
        assert_eq!(
            &*second.open(&sealed, b"ONEP12345674").unwrap(),
            b"totp secret"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            for name in [VAPID_FILE, MASTER_FILE] {
                let mode = std::fs::metadata(dir.path().join(name))
                    .unwrap()
                    .permissions()
                    .mode();
                assert_eq!(mode & 0o777, 0o600, "{name}");
            }
        }
    }

    #[test]
    fn a_sealed_secret_is_bound_to_its_owner() {
        let dir = tempfile::tempdir().unwrap();
        let keys = RelayKeys::load_or_create(dir.path(), None).unwrap();
        let sealed = keys.seal(b"secret", b"ONEP12345674");
        assert!(keys.open(&sealed, b"ONEP00000000").is_err());
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
    }
}
