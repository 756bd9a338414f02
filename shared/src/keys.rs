//! The device's P-256 signing key, its public JWK (RFC 7517/7518) and ES256 verification.
//!
//! Signing (on the device) and verification (relay and bank side) both go through `ring`,
//! whose P-256 is the faster here (BENCHMARKS.md, "Figures behind rules in the code");
//! `p256` only derives the public point from the stored secret scalar when a key is loaded.

use std::fmt;
use std::sync::Arc;

use ring::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _,
    UnparsedPublicKey,
};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::b64;

/// Length of an uncompressed SEC1 P-256 point: `0x04 || x || y`.
pub const UNCOMPRESSED_POINT_LEN: usize = 65;

/// Why a key or a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The JWK `kty` is not `EC`.
    #[error("JWK kty must be \"EC\", got {0:?}")]
    KeyType(String),
    /// The JWK `crv` is not `P-256`.
    #[error("JWK crv must be \"P-256\", got {0:?}")]
    Curve(String),
    /// A JWK coordinate is not 32 bytes of base64url.
    #[error("JWK {0} must be 32 bytes in base64url without padding")]
    Coordinate(&'static str),
    /// The coordinates do not name a point on the P-256 curve.
    #[error("JWK x and y are not a point on the P-256 curve")]
    NotOnCurve,
    /// A public key that is not a 65-byte uncompressed point.
    #[error(
        "public key must be a 65-byte uncompressed P-256 point (0x04 || x || y), got {0} bytes"
    )]
    PointEncoding(usize),
    /// A private key that is not a valid 32-byte P-256 scalar.
    #[error("private key must be a 32-byte P-256 scalar between 1 and n-1")]
    PrivateKey,
    /// The signature does not verify with this key over this message.
    #[error("signature does not verify with this key")]
    BadSignature,
}

/// Fills `buf` with bytes from the operating system's secure random generator.
///
/// # Panics
/// When the operating system has no random source, which leaves nothing safe to do.
pub fn fill_random(buf: &mut [u8]) {
    use ring::rand::SecureRandom as _;
    ring::rand::SystemRandom::new()
        .fill(buf)
        .expect("the operating system random generator failed");
}

// ---------------------------------------------------------------------------
// JWK
// ---------------------------------------------------------------------------

/// A public P-256 key as a JSON Web Key (RFC 7517 §4, RFC 7518 §6.2.1).
///
/// Other members (`kid`, `alg`, `use`, ...) are ignored when read and never written.
/// Construct from bytes with [`Jwk::from_uncompressed_point`]; a JWK received from
/// elsewhere must pass [`Jwk::validate`] before it is stored.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Jwk {
    /// Key type, always `EC` (RFC 7518 §6.1).
    pub kty: String,
    /// Curve, always `P-256` (RFC 7518 §6.2.1.1).
    pub crv: String,
    /// The x coordinate: 32 bytes big-endian, base64url without padding (RFC 7518 §6.2.1.2).
    pub x: String,
    /// The y coordinate: 32 bytes big-endian, base64url without padding (RFC 7518 §6.2.1.3).
    pub y: String,
}

impl Jwk {
    /// Checks that this is a P-256 public key: `kty` `EC`, `crv` `P-256`, `x` and `y`
    /// each 32 bytes of base64url, and the point on the curve.
    pub fn validate(&self) -> Result<(), KeyError> {
        self.uncompressed_point().map(|_| ())
    }

    /// The key as an uncompressed SEC1 point, `0x04 || x || y`, after [`Jwk::validate`]'s checks.
    pub fn uncompressed_point(&self) -> Result<[u8; UNCOMPRESSED_POINT_LEN], KeyError> {
        let point = self.raw_point()?;
        p256::PublicKey::from_sec1_bytes(&point).map_err(|_| KeyError::NotOnCurve)?;
        Ok(point)
    }

    /// `0x04 || x || y` with the type, curve and lengths checked but not the curve
    /// equation (ring checks that itself when it verifies).
    fn raw_point(&self) -> Result<[u8; UNCOMPRESSED_POINT_LEN], KeyError> {
        if self.kty != "EC" {
            return Err(KeyError::KeyType(self.kty.clone()));
        }
        if self.crv != "P-256" {
            return Err(KeyError::Curve(self.crv.clone()));
        }
        let x: [u8; 32] = b64::decode_array(&self.x).ok_or(KeyError::Coordinate("x"))?;
        let y: [u8; 32] = b64::decode_array(&self.y).ok_or(KeyError::Coordinate("y"))?;
        let mut point = [0u8; UNCOMPRESSED_POINT_LEN];
        point[0] = 0x04;
        point[1..33].copy_from_slice(&x);
        point[33..].copy_from_slice(&y);
        Ok(point)
    }

    /// The RFC 7638 thumbprint: base64url SHA-256 of `{"crv":..,"kty":..,"x":..,"y":..}`
    /// (required members only, sorted, no white space).
    pub fn thumbprint(&self) -> String {
        let quoted = |s: &str| serde_json::Value::from(s).to_string();
        let canonical = format!(
            r#"{{"crv":{},"kty":{},"x":{},"y":{}}}"#,
            quoted(&self.crv),
            quoted(&self.kty),
            quoted(&self.x),
            quoted(&self.y)
        );
        b64::encode(ring::digest::digest(
            &ring::digest::SHA256,
            canonical.as_bytes(),
        ))
    }

    /// The JWK of an uncompressed SEC1 point (`0x04 || x || y`), checked to be on the curve.
    pub fn from_uncompressed_point(point: &[u8]) -> Result<Self, KeyError> {
        if point.len() != UNCOMPRESSED_POINT_LEN || point[0] != 0x04 {
            return Err(KeyError::PointEncoding(point.len()));
        }
        p256::PublicKey::from_sec1_bytes(point).map_err(|_| KeyError::NotOnCurve)?;
        Ok(Self {
            kty: "EC".to_owned(),
            crv: "P-256".to_owned(),
            x: b64::encode(&point[1..33]),
            y: b64::encode(&point[33..]),
        })
    }
}

// ---------------------------------------------------------------------------
// Device key
// ---------------------------------------------------------------------------

/// The device's P-256 ECDSA signing key. Only its public half ([`DeviceKey::public_jwk`])
/// ever leaves the device.
///
/// The secret scalar is kept zeroized-on-drop for [`DeviceKey::to_bytes`] and never shown
/// by `Debug`. Signing uses `ring`'s key pair built from it once; `ring` does not wipe
/// its own copy of the scalar when the pair is dropped (it has no zeroizing types), so
/// the pair is shared behind an `Arc` rather than copied by `clone`.
#[derive(Clone)]
pub struct DeviceKey {
    secret: Zeroizing<[u8; 32]>,
    pair: Arc<EcdsaKeyPair>,
}

impl DeviceKey {
    /// A new random key from the operating system's random generator.
    pub fn generate() -> Self {
        loop {
            let mut bytes = Zeroizing::new([0u8; 32]);
            fill_random(bytes.as_mut());
            // Fails only for 0 or a value >= n: about 2^-32 of the time.
            if let Ok(key) = Self::from_bytes(bytes.as_ref()) {
                return key;
            }
        }
    }

    /// The key with this 32-byte big-endian secret scalar (as [`DeviceKey::to_bytes`] gives).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let secret: [u8; 32] = bytes.try_into().map_err(|_| KeyError::PrivateKey)?;
        let secret = Zeroizing::new(secret);
        // ring wants the public point next to the scalar (it checks they match); p256's
        // key zeroizes itself when dropped here.
        let public = p256::ecdsa::SigningKey::from_slice(secret.as_ref())
            .map_err(|_| KeyError::PrivateKey)?
            .verifying_key()
            .to_sec1_point(false);
        let pair = EcdsaKeyPair::from_private_key_and_public_key(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            secret.as_ref(),
            public.as_bytes(),
            &ring::rand::SystemRandom::new(),
        )
        .map_err(|_| KeyError::PrivateKey)?;
        Ok(Self {
            secret,
            pair: Arc::new(pair),
        })
    }

    /// The 32-byte big-endian secret scalar, for the device's vault.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        self.secret.clone()
    }

    /// The public key as a JWK.
    pub fn public_jwk(&self) -> Jwk {
        Jwk::from_uncompressed_point(self.pair.public_key().as_ref())
            .expect("a signing key's public point is valid")
    }

    /// An ES256 signature of `message` (SHA-256, then ECDSA), as the fixed 64-byte
    /// `r || s` that JWS uses (RFC 7518 §3.4). The nonce is `ring`'s: derived from the
    /// key, the digest and fresh random bytes, so two signatures of one message differ.
    ///
    /// # Panics
    /// When the operating system has no random source (as [`fill_random`]).
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        let signature = self
            .pair
            .sign(&ring::rand::SystemRandom::new(), message)
            .expect("the operating system random generator failed");
        let mut out = [0u8; 64];
        out.copy_from_slice(signature.as_ref());
        out
    }
}

impl fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceKey")
            .field("thumbprint", &self.public_jwk().thumbprint())
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// Checks an ES256 signature (fixed 64-byte `r || s`, RFC 7518 §3.4) of `message` by `jwk`,
/// with `ring`.
///
/// # Errors
/// The JWK's own error when it is not a P-256 key; [`KeyError::BadSignature`] when the
/// signature is not 64 bytes or does not verify (ring also refuses points off the curve).
pub fn verify_es256(jwk: &Jwk, message: &[u8], signature: &[u8]) -> Result<(), KeyError> {
    let point = jwk.raw_point()?;
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point)
        .verify(message, signature)
        .map_err(|_| KeyError::BadSignature)
}

#[cfg(test)]
mod tests;
