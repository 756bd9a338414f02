//! The encrypted vault file: a header (magic, format version, Argon2id parameters,
//! salt, nonce) and the AES-256-GCM ciphertext of the serialised vault, with the
//! whole header as associated data so no parameter can be changed unnoticed.
//!
//! ```text
//! "ONEPUSHV" | version u8 | kdf u8 (1 = Argon2id v1.3) | m KiB u32le | t u32le | p u32le
//!            | salt [16] | nonce [12] | ciphertext + tag
//! ```

use argon2::{Algorithm, Argon2, Params, Version};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use zeroize::Zeroizing;

use crate::keystore::VaultError;

const MAGIC: &[u8; 8] = b"ONEPUSHV";
/// The file format this code writes and reads.
pub(crate) const FILE_VERSION: u8 = 1;
const KDF_ARGON2ID: u8 = 1;
const SALT_LEN: usize = 16;
const HEADER_LEN: usize = 8 + 1 + 1 + 4 * 3 + SALT_LEN + NONCE_LEN;

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

/// A key derived from the PIN, with the salt and parameters it was derived with.
pub(crate) struct DerivedKey {
    pub(crate) salt: [u8; SALT_LEN],
    pub(crate) params: KdfParams,
    key: Zeroizing<[u8; 32]>,
}

impl DerivedKey {
    /// Derives a key from `pin` with a new random salt.
    pub(crate) fn new(pin: &[u8], params: KdfParams) -> Result<Self, VaultError> {
        let mut salt = [0u8; SALT_LEN];
        onepush_protocol::keys::fill_random(&mut salt);
        Self::derive(pin, salt, params)
    }

    /// Derives the key for a known salt.
    pub(crate) fn derive(
        pin: &[u8],
        salt: [u8; SALT_LEN],
        params: KdfParams,
    ) -> Result<Self, VaultError> {
        let params = params.check()?;
        let argon_params = Params::new(params.m_cost_kib, params.t_cost, params.p_cost, Some(32))
            .map_err(|e| VaultError::Kdf(e.to_string()))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, argon_params);
        let mut key = Zeroizing::new([0u8; 32]);
        argon
            .hash_password_into(pin, &salt, key.as_mut())
            .map_err(|e| VaultError::Kdf(e.to_string()))?;
        Ok(Self { salt, params, key })
    }

    fn aead(&self) -> LessSafeKey {
        // The key is exactly 32 bytes, so this cannot fail.
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, self.key.as_ref()).expect("32-byte AES key"))
    }
}

/// The header of an encrypted vault file.
pub(crate) struct Header {
    pub(crate) salt: [u8; SALT_LEN],
    pub(crate) params: KdfParams,
    nonce: [u8; NONCE_LEN],
}

/// Reads the header of an encrypted vault file.
pub(crate) fn read_header(file: &[u8]) -> Result<Header, VaultError> {
    if file.len() < HEADER_LEN || &file[..8] != MAGIC {
        return Err(VaultError::Corrupt("not a OnePush vault file".into()));
    }
    if file[8] != FILE_VERSION {
        return Err(VaultError::UnsupportedFormat(u32::from(file[8])));
    }
    if file[9] != KDF_ARGON2ID {
        return Err(VaultError::Corrupt(format!(
            "unknown key derivation {}",
            file[9]
        )));
    }
    let word = |at: usize| u32::from_le_bytes([file[at], file[at + 1], file[at + 2], file[at + 3]]);
    let params = KdfParams {
        m_cost_kib: word(10),
        t_cost: word(14),
        p_cost: word(18),
    }
    .check()?;
    let mut salt = [0u8; SALT_LEN];
    salt.copy_from_slice(&file[22..22 + SALT_LEN]);
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&file[22 + SALT_LEN..HEADER_LEN]);
    Ok(Header {
        salt,
        params,
        nonce,
    })
}

/// Encrypts `plaintext` under `key` with a fresh nonce; returns the whole file.
pub(crate) fn seal(key: &DerivedKey, plaintext: &[u8]) -> Result<Vec<u8>, VaultError> {
    let mut nonce = [0u8; NONCE_LEN];
    onepush_protocol::keys::fill_random(&mut nonce);
    let mut file = Vec::with_capacity(HEADER_LEN + plaintext.len() + AES_256_GCM.tag_len());
    file.extend_from_slice(MAGIC);
    file.push(FILE_VERSION);
    file.push(KDF_ARGON2ID);
    for word in [key.params.m_cost_kib, key.params.t_cost, key.params.p_cost] {
        file.extend_from_slice(&word.to_le_bytes());
    }
    file.extend_from_slice(&key.salt);
    file.extend_from_slice(&nonce);
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
    key: &DerivedKey,
    header: &Header,
    file: &[u8],
) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    let (aad, ciphertext) = file.split_at(HEADER_LEN);
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
mod tests {
    use super::*;

    #[test]
    fn sealed_file_opens_with_the_same_pin_only() {
        let key = DerivedKey::new(b"1234", KdfParams::FAST_FOR_TESTS).unwrap();
        let file = seal(&key, b"secret vault").unwrap();
        let header = read_header(&file).unwrap();
        assert_eq!(header.params, KdfParams::FAST_FOR_TESTS);
        let again = DerivedKey::derive(b"1234", header.salt, header.params).unwrap();
        assert_eq!(&*open(&again, &header, &file).unwrap(), b"secret vault");
        let wrong = DerivedKey::derive(b"4321", header.salt, header.params).unwrap();
        assert!(matches!(
            open(&wrong, &header, &file),
            Err(VaultError::WrongPin)
        ));
    }

    #[test]
    fn changed_header_parameters_are_detected() {
        let key = DerivedKey::new(b"1234", KdfParams::FAST_FOR_TESTS).unwrap();
        let mut file = seal(&key, b"secret vault").unwrap();
        file[14] = 2; // t_cost 1 → 2: the header is authenticated
        let header = read_header(&file).unwrap();
        assert!(matches!(
            open(&key, &header, &file),
            Err(VaultError::WrongPin)
        ));
    }

    #[test]
    fn hostile_parameters_are_refused_before_deriving() {
        let key = DerivedKey::new(b"1234", KdfParams::FAST_FOR_TESTS).unwrap();
        let mut file = seal(&key, b"x").unwrap();
        file[10..14].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(read_header(&file), Err(VaultError::Corrupt(_))));
    }

    #[test]
    fn other_files_are_not_taken_for_a_vault() {
        assert!(matches!(
            read_header(b"{\"format\":1}"),
            Err(VaultError::Corrupt(_))
        ));
        let key = DerivedKey::new(b"1234", KdfParams::FAST_FOR_TESTS).unwrap();
        let mut file = seal(&key, b"x").unwrap();
        file[8] = 7;
        assert!(matches!(
            read_header(&file),
            Err(VaultError::UnsupportedFormat(7))
        ));
    }
}
