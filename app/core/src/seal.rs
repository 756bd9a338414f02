//! The encrypted vault file: a header and the AES-256-GCM ciphertext of the serialised
//! vault, with the whole header as associated data so no field can be changed unnoticed.
//!
//! ```text
//! v2: "ONEPUSHV" | 2 | kdf u8 (0 = no PIN, 1 = Argon2id v1.3) | m KiB u32le | t u32le | p u32le
//!     | salt [16] | nonce [12] | key source u8 (1 = OS keystore, 2 = key file) | vault ID [16]
//!     | ciphertext + tag
//! v1: "ONEPUSHV" | 1 | 1 | m | t | p | salt [16] | nonce [12] | ciphertext + tag   (PIN only;
//!     read, and re-sealed as v2 on open)
//! ```
//!
//! The v2 key: HKDF-SHA256 (salt = the header's salt, info = a label) over the vault's
//! random 256-bit secret (kept in the OS keystore under the vault ID, or in a key file)
//! followed, when there is a PIN, by the Argon2id key of the PIN. One derivation and
//! one AEAD layer: neither part alone gives the key, a wrong PIN is one failed tag check,
//! and the file format stays the same with or without a PIN. (Encrypting under one key
//! and then the other would give the same protection with two nonces and two tags.)

use argon2::{Algorithm, Argon2, Params, Version};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hkdf;
use zeroize::Zeroizing;

use crate::keystore::VaultError;

const MAGIC: &[u8; 8] = b"ONEPUSHV";
/// The file format this code writes.
pub(crate) const FILE_VERSION: u8 = 2;
/// The PIN-only format of earlier versions: read, then re-sealed as [`FILE_VERSION`].
pub(crate) const LEGACY_VERSION: u8 = 1;
const KDF_NONE: u8 = 0;
const KDF_ARGON2ID: u8 = 1;
const SALT_LEN: usize = 16;
/// The length of a vault ID.
pub const VAULT_ID_LEN: usize = 16;
const COMMON_LEN: usize = 8 + 1 + 1 + 4 * 3 + SALT_LEN + NONCE_LEN;
const V2_LEN: usize = COMMON_LEN + 1 + VAULT_ID_LEN;
const HKDF_LABEL: &[u8] = b"onepush vault key v2";

/// Argon2id cost parameters, stored in each file's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_cost_kib: u32,
    /// Passes.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl KdfParams {
    /// OWASP's recommended Argon2id setting (19 MiB, 2 passes, 1 lane).
    pub const RECOMMENDED: Self = Self {
        m_cost_kib: 19 * 1024,
        t_cost: 2,
        p_cost: 1,
    };
    /// A cheap setting for tests only.
    pub const FAST_FOR_TESTS: Self = Self {
        m_cost_kib: 256,
        t_cost: 1,
        p_cost: 1,
    };

    /// Refuses parameters a hostile header could use to exhaust memory or time.
    fn check(self) -> Result<Self, VaultError> {
        let sane = (8..=1 << 20).contains(&self.m_cost_kib)
            && (1..=16).contains(&self.t_cost)
            && (1..=16).contains(&self.p_cost);
        if sane {
            Ok(self)
        } else {
            Err(VaultError::Corrupt(
                "the vault's key parameters are out of range".into(),
            ))
        }
    }
}

/// Where a v2 vault's random secret is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// The OS keystore, under service `onepush` and the vault ID.
    Keystore,
    /// A key file beside the vault: chosen explicitly where no keystore exists (weaker).
    KeyFile,
}

impl KeySource {
    fn byte(self) -> u8 {
        match self {
            Self::Keystore => 1,
            Self::KeyFile => 2,
        }
    }

    fn from_byte(byte: u8) -> Result<Self, VaultError> {
        match byte {
            1 => Ok(Self::Keystore),
            2 => Ok(Self::KeyFile),
            other => Err(VaultError::Corrupt(format!("unknown key source {other}"))),
        }
    }
}

/// Everything in a header but the nonce: what a key is derived for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    /// [`FILE_VERSION`] or [`LEGACY_VERSION`].
    pub(crate) version: u8,
    /// The Argon2id parameters when a PIN is part of the key.
    pub(crate) pin: Option<KdfParams>,
    pub(crate) salt: [u8; SALT_LEN],
    /// v2: where the secret is, and the vault ID (its keystore account).
    pub(crate) sealing: Option<(KeySource, [u8; VAULT_ID_LEN])>,
}

impl Layout {
    /// A new v2 layout: fresh salt and vault ID.
    pub(crate) fn new_v2(source: KeySource, pin: Option<KdfParams>) -> Self {
        let mut salt = [0u8; SALT_LEN];
        onepush_protocol::keys::fill_random(&mut salt);
        let mut id = [0u8; VAULT_ID_LEN];
        onepush_protocol::keys::fill_random(&mut id);
        Self {
            version: FILE_VERSION,
            pin,
            salt,
            sealing: Some((source, id)),
        }
    }
}

/// The AES-256-GCM key of one layout.
pub(crate) struct SealKey {
    pub(crate) layout: Layout,
    key: Zeroizing<[u8; 32]>,
}

/// Argon2id of the PIN with the layout's salt and parameters.
fn pin_key(pin: &[u8], salt: &[u8], params: KdfParams) -> Result<Zeroizing<[u8; 32]>, VaultError> {
    let params = params.check()?;
    let argon_params = Params::new(params.m_cost_kib, params.t_cost, params.p_cost, Some(32))
        .map_err(|e| VaultError::Kdf(e.to_string()))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, argon_params);
    let mut key = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(pin, salt, key.as_mut())
        .map_err(|e| VaultError::Kdf(e.to_string()))?;
    Ok(key)
}

impl SealKey {
    /// The key of `layout`: from the secret (v2) and the PIN (when the layout has one).
    pub(crate) fn derive(
        layout: Layout,
        secret: Option<&[u8]>,
        pin: Option<&[u8]>,
    ) -> Result<Self, VaultError> {
        let pin_part = match (layout.pin, pin) {
            (Some(params), Some(pin)) => Some(pin_key(pin, &layout.salt, params)?),
            (Some(_), None) => return Err(VaultError::Kdf("a PIN is needed".into())),
            (None, _) => None,
        };
        if layout.version == LEGACY_VERSION {
            let key = pin_part.ok_or_else(|| VaultError::Kdf("a PIN is needed".into()))?;
            return Ok(Self { layout, key });
        }
        let secret =
            secret.ok_or_else(|| VaultError::Kdf("the vault's secret is needed".into()))?;
        let mut ikm = Zeroizing::new(Vec::with_capacity(64));
        ikm.extend_from_slice(secret);
        if let Some(part) = &pin_part {
            ikm.extend_from_slice(part.as_ref());
        }
        let mut key = Zeroizing::new([0u8; 32]);
        hkdf::Salt::new(hkdf::HKDF_SHA256, &layout.salt)
            .extract(&ikm)
            .expand(&[HKDF_LABEL], hkdf::HKDF_SHA256)
            .and_then(|okm| okm.fill(key.as_mut()))
            .map_err(|_| VaultError::Kdf("HKDF failed".into()))?;
        Ok(Self { layout, key })
    }

    fn aead(&self) -> LessSafeKey {
        // The key is exactly 32 bytes, so this cannot fail.
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, self.key.as_ref()).expect("32-byte AES key"))
    }
}

/// The header of an encrypted vault file.
pub(crate) struct Header {
    pub(crate) layout: Layout,
    nonce: [u8; NONCE_LEN],
}

impl Header {
    fn len(&self) -> usize {
        if self.layout.sealing.is_some() {
            V2_LEN
        } else {
            COMMON_LEN
        }
    }
}

/// Reads the header of an encrypted vault file.
pub(crate) fn read_header(file: &[u8]) -> Result<Header, VaultError> {
    if file.len() < COMMON_LEN || &file[..8] != MAGIC {
        return Err(VaultError::Corrupt("not a OnePush vault file".into()));
    }
    let version = file[8];
    if version != FILE_VERSION && version != LEGACY_VERSION {
        return Err(VaultError::UnsupportedFormat(u32::from(version)));
    }
    let word = |at: usize| u32::from_le_bytes([file[at], file[at + 1], file[at + 2], file[at + 3]]);
    let params = KdfParams {
        m_cost_kib: word(10),
        t_cost: word(14),
        p_cost: word(18),
    };
    let pin = match file[9] {
        KDF_ARGON2ID => Some(params.check()?),
        KDF_NONE if version == FILE_VERSION && params == NO_PARAMS => None,
        other => {
            return Err(VaultError::Corrupt(format!(
                "unknown key derivation {other}"
            )));
        }
    };
    let mut salt = [0u8; SALT_LEN];
    salt.copy_from_slice(&file[22..22 + SALT_LEN]);
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&file[22 + SALT_LEN..COMMON_LEN]);
    let sealing = if version == FILE_VERSION {
        if file.len() < V2_LEN {
            return Err(VaultError::Corrupt(
                "the vault's header is cut short".into(),
            ));
        }
        let mut id = [0u8; VAULT_ID_LEN];
        id.copy_from_slice(&file[COMMON_LEN + 1..V2_LEN]);
        Some((KeySource::from_byte(file[COMMON_LEN])?, id))
    } else {
        None
    };
    Ok(Header {
        layout: Layout {
            version,
            pin,
            salt,
            sealing,
        },
        nonce,
    })
}

const NO_PARAMS: KdfParams = KdfParams {
    m_cost_kib: 0,
    t_cost: 0,
    p_cost: 0,
};

/// Encrypts `plaintext` under `key` with a fresh nonce; returns the whole file.
pub(crate) fn seal(key: &SealKey, plaintext: &[u8]) -> Result<Vec<u8>, VaultError> {
    let layout = &key.layout;
    let mut nonce = [0u8; NONCE_LEN];
    onepush_protocol::keys::fill_random(&mut nonce);
    let mut file = Vec::with_capacity(V2_LEN + plaintext.len() + AES_256_GCM.tag_len());
    file.extend_from_slice(MAGIC);
    file.push(layout.version);
    file.push(if layout.pin.is_some() {
        KDF_ARGON2ID
    } else {
        KDF_NONE
    });
    let params = layout.pin.unwrap_or(NO_PARAMS);
    for word in [params.m_cost_kib, params.t_cost, params.p_cost] {
        file.extend_from_slice(&word.to_le_bytes());
    }
    file.extend_from_slice(&layout.salt);
    file.extend_from_slice(&nonce);
    if let Some((source, id)) = layout.sealing {
        file.push(source.byte());
        file.extend_from_slice(&id);
    }
    let mut body = Zeroizing::new(plaintext.to_vec());
    let tag = key
        .aead()
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(&file[..]),
            &mut body,
        )
        .map_err(|_| VaultError::Corrupt("encryption failed".into()))?;
    file.extend_from_slice(&body);
    file.extend_from_slice(tag.as_ref());
    Ok(file)
}

/// Decrypts a whole file whose header was read with [`read_header`]. A failed tag
/// check means the PIN is wrong (or the file was altered).
pub(crate) fn open(
    key: &SealKey,
    header: &Header,
    file: &[u8],
) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    let (aad, ciphertext) = file.split_at(header.len());
    let mut body = Zeroizing::new(ciphertext.to_vec());
    let plain_len = key
        .aead()
        .open_in_place(
            Nonce::assume_unique_for_key(header.nonce),
            Aad::from(aad),
            &mut body,
        )
        .map_err(|_| VaultError::WrongPin)?
        .len();
    body.truncate(plain_len);
    Ok(body)
}

#[cfg(test)]
#[path = "seal_tests.rs"]
mod tests;
