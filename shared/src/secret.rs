//! A fixed-size symmetric secret (the TOTP secret, the OCRA key): random or read from
//! base32, zeroized on drop, compared in constant time, never shown by `Debug`. Each kind
//! names itself and its error through [`SecretKind`], so `TotpSecret` and `OcraKey` stay
//! distinct types with one implementation.

use std::fmt;
use std::marker::PhantomData;

use subtle::ConstantTimeEq as _;
use zeroize::Zeroize;

use crate::keys::fill_random;

/// What distinguishes one kind of secret from another: its name and its error.
pub trait SecretKind {
    /// The type's name, for `Debug` (`TotpSecret(<redacted>)`).
    const NAME: &'static str;
    /// The error a bad secret is reported with.
    type Error;
    /// That error, for a secret of the wrong length or not base32 (`detail` says which).
    fn bad(detail: String) -> Self::Error;
}

/// `N` secret bytes of kind `K`.
pub struct FixedSecret<const N: usize, K> {
    bytes: [u8; N],
    kind: PhantomData<K>,
}

impl<const N: usize, K: SecretKind> FixedSecret<N, K> {
    /// A new random secret.
    pub fn generate() -> Self {
        let mut bytes = [0u8; N];
        fill_random(&mut bytes);
        Self::new(bytes)
    }

    fn new(bytes: [u8; N]) -> Self {
        Self {
            bytes,
            kind: PhantomData,
        }
    }

    /// The secret with these `N` bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, K::Error> {
        let bytes: [u8; N] = bytes
            .try_into()
            .map_err(|_| K::bad(format!("must be {N} bytes, got {}", bytes.len())))?;
        Ok(Self::new(bytes))
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; N] {
        &self.bytes
    }

    /// Base32 (RFC 4648 §6) without padding, upper case: how it is provisioned.
    pub fn to_base32(&self) -> String {
        data_encoding::BASE32_NOPAD.encode(&self.bytes)
    }

    /// Reads base32, ignoring case, white space and trailing `=` padding (as people and
    /// other authenticators write it).
    pub fn from_base32(text: &str) -> Result<Self, K::Error> {
        let mut compact: String = text
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let unpadded = compact.trim_end_matches('=').len();
        compact.truncate(unpadded);
        let decoded = data_encoding::BASE32_NOPAD
            .decode(compact.as_bytes())
            .map(zeroize::Zeroizing::new)
            .map_err(|e| K::bad(format!("not base32: {e}")));
        compact.zeroize();
        Self::from_bytes(&decoded?)
    }
}

impl<const N: usize, K> Clone for FixedSecret<N, K> {
    fn clone(&self) -> Self {
        Self {
            bytes: self.bytes,
            kind: PhantomData,
        }
    }
}

impl<const N: usize, K> Drop for FixedSecret<N, K> {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl<const N: usize, K> zeroize::ZeroizeOnDrop for FixedSecret<N, K> {}

impl<const N: usize, K> PartialEq for FixedSecret<N, K> {
    /// Constant-time comparison.
    fn eq(&self, other: &Self) -> bool {
        self.bytes.ct_eq(&other.bytes).into()
    }
}

impl<const N: usize, K> Eq for FixedSecret<N, K> {}

impl<const N: usize, K: SecretKind> fmt::Debug for FixedSecret<N, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(<redacted>)", K::NAME)
    }
}

#[cfg(test)]
mod tests {
    use crate::ocra::{OcraError, OcraKey};
    use crate::totp::{TotpError, TotpSecret};

    #[test]
    fn each_kind_reports_its_own_error_and_length() {
        assert!(matches!(
            OcraKey::from_bytes(&[0; 20]),
            Err(OcraError::BadKey(m)) if m.contains("must be 32 bytes, got 20")
        ));
        assert!(matches!(
            TotpSecret::from_bytes(&[0; 32]),
            Err(TotpError::BadSecret(m)) if m.contains("must be 20 bytes, got 32")
        ));
    }

    #[test]
    fn base32_round_trips_ignoring_case_spaces_and_padding() {
        let key = OcraKey::generate();
        let text = key.to_base32();
        assert_eq!(OcraKey::from_base32(&text).unwrap(), key);
        let written = format!(" {} ====", text.to_lowercase());
        let spaced: String = written
            .chars()
            .enumerate()
            .flat_map(|(i, c)| (i % 4 == 0).then_some(' ').into_iter().chain([c]))
            .collect();
        assert_eq!(OcraKey::from_base32(&spaced).unwrap(), key);
        assert!(matches!(
            OcraKey::from_base32("not base32!"),
            Err(OcraError::BadKey(m)) if m.contains("not base32")
        ));
    }

    #[test]
    fn debug_names_the_kind_and_hides_the_bytes() {
        let totp = TotpSecret::from_bytes(&[0xAB; 20]).unwrap();
        let ocra = OcraKey::from_bytes(&[0xAB; 32]).unwrap();
        assert_eq!(format!("{totp:?}"), "TotpSecret(<redacted>)");
        assert_eq!(format!("{ocra:?}"), "OcraKey(<redacted>)");
        assert_ne!(totp.clone().as_bytes(), &[0; 20]);
        assert_ne!(
            OcraKey::generate(),
            OcraKey::generate(),
            "random keys differ"
        );
    }
}
