//! `aes128gcm` content encoding (RFC 8188) with Web Push key derivation (RFC 8291 §3),
//! for single-record messages.
//!
//! ```text
//! body = salt (16) || rs (u32, big-endian) || idlen (u8) || keyid (idlen) || record
//! keyid = the sender's (application server's) 65-byte public key   RFC 8291 §4
//! record = AES-128-GCM(plaintext || 0x02 || zero padding)          RFC 8188 §2
//! ```

use p256::elliptic_curve::sec1::ToSec1Point as _;
use ring::aead::{AES_128_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::rand::SystemRandom;
use ring::{agreement, hkdf};
use zeroize::Zeroizing;

use crate::keys::fill_random;

/// Bytes in the auth secret (RFC 8291 §3.2).
pub const AUTH_SECRET_LEN: usize = 16;
/// Bytes of the header when the key id is a 65-byte public key: 16 + 4 + 1 + 65.
pub const HEADER_LEN: usize = SALT_LEN + 4 + 1 + POINT_LEN;
/// The smallest record size RFC 8188 §2.1 allows.
pub const MIN_RECORD_SIZE: u32 = 18;
/// The record size [`encrypt`] writes.
pub const ENCRYPT_RECORD_SIZE: u32 = 4096;
/// The largest plaintext that fits a 4096-byte push message (RFC 8291 §4).
pub const MAX_PLAINTEXT_LEN: usize = max_plaintext_len(4096);

const SALT_LEN: usize = 16;
pub(super) const POINT_LEN: usize = 65;
const TAG_LEN: usize = 16;
/// Tag plus the padding delimiter: the smallest record.
const MIN_RECORD_LEN: usize = TAG_LEN + 1;

/// How much padding [`encrypt`] adds after the plaintext (RFC 8188 §2: the delimiter,
/// then zeros; RFC 8291 §4 leaves the amount to the sender).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    /// None: the message is as long as its plaintext makes it.
    None,
    /// Every message exactly this many bytes long (header, record and tag: from 103,
    /// an empty message, to 4096, the most RFC 8291 allows; values outside are taken
    /// as the nearest), so that its length tells the push service (and anyone
    /// watching the phone's traffic) nothing about what it carries.
    ToLength(usize),
}

/// The largest plaintext a message of `message_len` bytes holds.
pub const fn max_plaintext_len(message_len: usize) -> usize {
    message_len.saturating_sub(HEADER_LEN + MIN_RECORD_LEN)
}

/// Why a push message could not be decrypted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushDecryptError {
    /// Shorter than a header and one minimal record.
    #[error("push message is {0} bytes: too short for an aes128gcm header and record")]
    TooShort(usize),
    /// Record size below 18 (RFC 8188 §2.1).
    #[error("push message record size is {0}; RFC 8188 requires at least 18")]
    RecordSize(u32),
    /// The key id is not a 65-byte public key (RFC 8291 §4).
    #[error("push message key id is {0} bytes; it must be the sender's 65-byte public key")]
    KeyIdLength(u8),
    /// The key id is not a point on P-256.
    #[error("push message sender key is not a valid P-256 public key")]
    SenderKey,
    /// More than one record: push messages are a single record (RFC 8291 §4).
    #[error(
        "push message spans more than one record ({len} bytes of ciphertext, record size {rs})"
    )]
    MultipleRecords {
        /// Ciphertext bytes.
        len: usize,
        /// Record size from the header.
        rs: u32,
    },
    /// The device's own keys are not usable.
    #[error("push receiver key is invalid: {0}")]
    ReceiverKey(&'static str),
    /// Authentication failed: encrypted for other keys, or altered on the way.
    #[error("push message does not decrypt: it was encrypted for another subscription or altered")]
    Decrypt,
    /// The decrypted record does not end with the last-record delimiter 0x02.
    #[error("decrypted push message has no final-record padding delimiter (0x02)")]
    Padding,
}

/// Why a push message could not be encrypted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushEncryptError {
    /// The receiver's public key is not a 65-byte uncompressed P-256 point.
    #[error("push receiver public key must be a 65-byte uncompressed P-256 point")]
    P256dh,
    /// The auth secret is not 16 bytes.
    #[error("push auth secret must be 16 bytes")]
    Auth,
    /// More plaintext than the message carries.
    #[error("push payload is {len} bytes; at most {room} fit in the message")]
    TooLarge {
        /// The plaintext's length.
        len: usize,
        /// The most the message holds.
        room: usize,
    },
}

/// Decrypts one `aes128gcm` push message `body` with the device's 32-byte ECDH private
/// key `ua_private` and 16-byte `auth_secret`, returning the plaintext without padding.
pub fn decrypt(
    body: &[u8],
    ua_private: &[u8],
    auth_secret: &[u8],
) -> Result<Vec<u8>, PushDecryptError> {
    super::PushReceiverKeys::from_bytes(ua_private, auth_secret)?.decrypt(body)
}

/// Encrypts `plaintext` for a subscription's 65-byte `p256dh` key and 16-byte `auth`
/// secret, with a fresh sender key and salt, record size 4096, padded as `padding` says.
///
/// The sender key is an ephemeral `ring` ECDH key: the agreement is on every push's
/// path, and `ring`'s is several times cheaper than the `p256` crate's arithmetic
/// (figures in BENCHMARKS.md, "Figures behind rules in the code"). `ring` cannot take a given
/// sender key, so the test that reproduces RFC 8291's example runs the same steps after
/// a `p256` key agreement instead.
pub fn encrypt(
    plaintext: &[u8],
    subscription_p256dh: &[u8],
    auth: &[u8],
    padding: Padding,
) -> Result<Vec<u8>, PushEncryptError> {
    let record = last_record(plaintext, padding)?;
    let (ua_public, auth) = receiver(subscription_p256dh, auth)?;
    let mut salt = [0u8; SALT_LEN];
    fill_random(&mut salt);
    let rng = SystemRandom::new();
    let sender = agreement::EphemeralPrivateKey::generate(&agreement::ECDH_P256, &rng)
        .expect("the operating system random generator failed");
    let as_public: [u8; POINT_LEN] = sender
        .compute_public_key()
        .expect("a generated key has a public key")
        .as_ref()
        .try_into()
        .expect("ring's P-256 public keys are 65-byte uncompressed points");
    let peer = agreement::UnparsedPublicKey::new(&agreement::ECDH_P256, ua_public);
    // Fails when the receiver's key is not a point on the curve.
    agreement::agree_ephemeral(sender, &peer, |ecdh_secret| {
        seal(record, ecdh_secret, auth, ua_public, &as_public, salt)
    })
    .map_err(|_| PushEncryptError::P256dh)
}

/// [`encrypt`] with a given sender key and salt (so tests can reproduce RFC 8291 Appendix A).
#[cfg(test)]
pub(super) fn encrypt_with(
    plaintext: &[u8],
    ua_public: &[u8],
    auth: &[u8],
    sender: &p256::SecretKey,
    salt: [u8; SALT_LEN],
) -> Result<Vec<u8>, PushEncryptError> {
    seal_record(
        last_record(plaintext, Padding::None)?,
        ua_public,
        auth,
        sender,
        salt,
    )
}

/// The one record of a message: `plaintext`, the last-record delimiter, then the
/// padding's zeros.
fn last_record(plaintext: &[u8], padding: Padding) -> Result<Vec<u8>, PushEncryptError> {
    let room = match padding {
        Padding::None => MAX_PLAINTEXT_LEN,
        Padding::ToLength(len) => max_plaintext_len(len.min(4096)),
    };
    if plaintext.len() > room {
        return Err(PushEncryptError::TooLarge {
            len: plaintext.len(),
            room,
        });
    }
    let len = match padding {
        Padding::None => plaintext.len() + 1,
        Padding::ToLength(_) => room + 1,
    };
    let mut record = Vec::with_capacity(len + TAG_LEN);
    record.extend_from_slice(plaintext);
    record.push(0x02);
    record.resize(len, 0);
    Ok(record)
}

/// The receiver's key (shaped as an uncompressed point; whether it is on the curve is
/// the key agreement's to find) and auth secret.
fn receiver<'a>(
    ua_public: &'a [u8],
    auth: &'a [u8],
) -> Result<(&'a [u8], &'a [u8; AUTH_SECRET_LEN]), PushEncryptError> {
    if ua_public.len() != POINT_LEN || ua_public[0] != 0x04 {
        return Err(PushEncryptError::P256dh);
    }
    let auth = auth.try_into().map_err(|_| PushEncryptError::Auth)?;
    Ok((ua_public, auth))
}

/// Encrypts one already padded record with a `p256` sender key.
#[cfg(test)]
pub(super) fn seal_record(
    record: Vec<u8>,
    ua_public: &[u8],
    auth: &[u8],
    sender: &p256::SecretKey,
    salt: [u8; SALT_LEN],
) -> Result<Vec<u8>, PushEncryptError> {
    let (ua_public, auth) = receiver(ua_public, auth)?;
    let receiver_key =
        p256::PublicKey::from_sec1_bytes(ua_public).map_err(|_| PushEncryptError::P256dh)?;
    let as_public = uncompressed(&sender.public_key());
    let shared = sender.diffie_hellman(&receiver_key);
    Ok(seal(
        record,
        shared.raw_secret_bytes().as_slice(),
        auth,
        ua_public,
        &as_public,
        salt,
    ))
}

/// Seals `record` under the keys derived from the ECDH secret and prepends the header.
fn seal(
    mut record: Vec<u8>,
    ecdh_secret: &[u8],
    auth: &[u8; AUTH_SECRET_LEN],
    ua_public: &[u8],
    as_public: &[u8; POINT_LEN],
    salt: [u8; SALT_LEN],
) -> Vec<u8> {
    let (key, nonce) = derive(ecdh_secret, auth, ua_public, as_public, &salt);
    key.seal_in_place_append_tag(nonce, Aad::empty(), &mut record)
        .expect("one record is far below the AES-GCM length limit");
    let mut body = Vec::with_capacity(HEADER_LEN + record.len());
    body.extend_from_slice(&salt);
    body.extend_from_slice(&ENCRYPT_RECORD_SIZE.to_be_bytes());
    body.push(u8::try_from(POINT_LEN).expect("65 fits a byte"));
    body.extend_from_slice(as_public);
    body.extend_from_slice(&record);
    body
}

/// Decrypts with parsed receiver keys.
pub(super) fn decrypt_with(
    body: &[u8],
    private: &p256::SecretKey,
    ua_public: &[u8; POINT_LEN],
    auth: &[u8; AUTH_SECRET_LEN],
) -> Result<Vec<u8>, PushDecryptError> {
    if body.len() < SALT_LEN + 5 {
        return Err(PushDecryptError::TooShort(body.len()));
    }
    let (salt, rest) = body.split_at(SALT_LEN);
    let rs = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]);
    if rs < MIN_RECORD_SIZE {
        return Err(PushDecryptError::RecordSize(rs));
    }
    let idlen = rest[4];
    if usize::from(idlen) != POINT_LEN {
        return Err(PushDecryptError::KeyIdLength(idlen));
    }
    if body.len() < HEADER_LEN + MIN_RECORD_LEN {
        return Err(PushDecryptError::TooShort(body.len()));
    }
    let as_public = &body[SALT_LEN + 5..HEADER_LEN];
    let ciphertext = &body[HEADER_LEN..];
    if u32::try_from(ciphertext.len()).map_or(true, |len| len > rs) {
        return Err(PushDecryptError::MultipleRecords {
            len: ciphertext.len(),
            rs,
        });
    }
    let sender =
        p256::PublicKey::from_sec1_bytes(as_public).map_err(|_| PushDecryptError::SenderKey)?;
    let shared = private.diffie_hellman(&sender);
    let (key, nonce) = derive(
        shared.raw_secret_bytes().as_slice(),
        auth,
        ua_public,
        as_public,
        salt,
    );

    let mut record = ciphertext.to_vec();
    let plaintext = key
        .open_in_place(nonce, Aad::empty(), &mut record)
        .map_err(|_| PushDecryptError::Decrypt)?;
    // RFC 8188 §2: data, then the delimiter (0x02 in the last record), then zeros.
    let end = plaintext
        .iter()
        .rposition(|&b| b != 0)
        .ok_or(PushDecryptError::Padding)?;
    if plaintext[end] != 0x02 {
        return Err(PushDecryptError::Padding);
    }
    record.truncate(end);
    Ok(record)
}

/// The uncompressed SEC1 encoding of a public key.
pub(super) fn uncompressed(public: &p256::PublicKey) -> [u8; POINT_LEN] {
    let point = public.to_sec1_point(false);
    let mut out = [0u8; POINT_LEN];
    out.copy_from_slice(point.as_bytes());
    out
}

/// RFC 8291 §3.3–3.4 and RFC 8188 §2.2–2.3: the content-encryption key and the nonce of
/// record 0 (whose sequence number, 0, leaves the nonce as derived).
fn derive(
    ecdh_secret: &[u8],
    auth: &[u8; AUTH_SECRET_LEN],
    ua_public: &[u8],
    as_public: &[u8],
    salt: &[u8],
) -> (LessSafeKey, Nonce) {
    let mut ikm = Zeroizing::new([0u8; 32]);
    hkdf_into(
        auth,
        ecdh_secret,
        &[b"WebPush: info\0", ua_public, as_public],
        ikm.as_mut(),
    );
    let mut cek = Zeroizing::new([0u8; 16]);
    hkdf_into(
        salt,
        ikm.as_ref(),
        &[b"Content-Encoding: aes128gcm\0"],
        cek.as_mut(),
    );
    let mut nonce = [0u8; 12];
    hkdf_into(
        salt,
        ikm.as_ref(),
        &[b"Content-Encoding: nonce\0"],
        &mut nonce,
    );
    let key = UnboundKey::new(&AES_128_GCM, cek.as_ref()).expect("16 bytes is an AES-128 key");
    (LessSafeKey::new(key), Nonce::assume_unique_for_key(nonce))
}

/// HKDF-SHA-256 (RFC 5869) extract-then-expand into `out`.
fn hkdf_into(salt: &[u8], ikm: &[u8], info: &[&[u8]], out: &mut [u8]) {
    struct Len(usize);
    impl hkdf::KeyType for Len {
        fn len(&self) -> usize {
            self.0
        }
    }
    hkdf::Salt::new(hkdf::HKDF_SHA256, salt)
        .extract(ikm)
        .expand(info, Len(out.len()))
        .and_then(|okm| okm.fill(out))
        .expect("at most 32 bytes, far below HKDF's 8160-byte limit");
}
