//! Fixed keys and values the fuzz targets share, so the seed corpora (which hold tokens
//! signed with these keys) keep reaching the code behind signature checks.
//!
//! None of these keys protect anything: they are test keys, public on purpose.

use std::sync::LazyLock;

use onepush_protocol::{CredentialId, DeviceKey, Jwk, b64};

/// The device key every fixed-key target signs and verifies with: the scalar 7...7
/// (as in `shared/src/jws/tests.rs`).
pub static KEY: LazyLock<DeviceKey> =
    LazyLock::new(|| DeviceKey::from_bytes(&[7u8; 32]).expect("7...7 is a P-256 scalar"));

/// [`KEY`]'s public JWK.
pub static JWK: LazyLock<Jwk> = LazyLock::new(|| KEY.public_jwk());

/// The credential the fixed key belongs to (the `kid` of its tokens).
pub static CID: LazyLock<CredentialId> =
    LazyLock::new(|| "ONEP12345674".parse().expect("a valid credential ID"));

/// The relay's clock in the raw proof target, Unix seconds.
pub const NOW: i64 = 1_700_000_000;
/// Largest accepted clock skew in the raw proof target, seconds.
pub const MAX_SKEW: i64 = 300;

/// The RFC 8291 Appendix A receiver: its private key and auth secret, read from the
/// vectors file the protocol crate's own tests use.
pub struct Receiver {
    /// `ua_private`, 32 bytes.
    pub private: Vec<u8>,
    /// `auth_secret`, 16 bytes.
    pub auth: Vec<u8>,
    /// `ua_public`, 65 bytes.
    pub public: Vec<u8>,
}

/// The RFC 8291 Appendix A receiver keys.
pub static RFC8291: LazyLock<Receiver> = LazyLock::new(|| {
    let all: serde_json::Value =
        serde_json::from_str(include_str!("../../shared/tests/vectors/rfc.json"))
            .expect("rfc.json is JSON");
    let v = &all["rfc8291_webpush_aes128gcm"];
    let bytes = |name: &str| {
        b64::decode(v[name].as_str().expect("a string")).expect("base64url in rfc.json")
    };
    Receiver {
        private: bytes("ua_private"),
        auth: bytes("auth_secret"),
        public: bytes("ua_public"),
    }
});

/// Base64url SHA-256, computed here independently of the crate under test.
pub fn sha256_b64(bytes: &[u8]) -> String {
    b64::encode(ring::digest::digest(&ring::digest::SHA256, bytes))
}

/// The Luhn check digit over ASCII digits, written here independently of the crate.
pub fn luhn(digits: &[u8]) -> u8 {
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut d = u32::from(d - b'0');
        if i % 2 == 0 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    b'0' + u8::try_from((10 - sum % 10) % 10).expect("a digit")
}
