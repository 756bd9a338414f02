//! RFC 8291 message encryption (`aes128gcm` content coding, RFC 8188) on `ring`: one
//! ephemeral P-256 ECDH, HKDF-SHA-256 and AES-128-GCM, a single record, no padding.
//! It replaces the `web-push` crate's pure-Rust `ece` path, which cost ≈ 224 µs per
//! message against ≈ 60 µs here (BENCHMARKS.md).

use ring::rand::{SecureRandom as _, SystemRandom};
use ring::{aead, agreement, hkdf};

/// Largest payload sent, as the `web-push` crate allowed (what push services accept).
pub const MAX_PAYLOAD: usize = 3052;

/// Record size announced in the header (the whole message is one record).
const RECORD_SIZE: u32 = 4096;

struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

fn expand<const N: usize>(prk: &hkdf::Prk, info: &[&[u8]]) -> Result<[u8; N], String> {
    let mut out = [0u8; N];
    prk.expand(info, Len(N))
        .and_then(|okm| okm.fill(&mut out))
        .map_err(|_| "HKDF expand failed".to_owned())?;
    Ok(out)
}

/// Encrypts `payload` for a subscription's `ua_public` key (65-byte uncompressed P-256
/// point) and 16-byte `auth_secret`: `salt(16) ‖ rs(4) ‖ idlen(1)=65 ‖ as_public(65) ‖
/// AES-128-GCM(payload ‖ 0x02)`, with a fresh sender key and salt.
pub fn encrypt(payload: &[u8], ua_public: &[u8], auth_secret: &[u8]) -> Result<Vec<u8>, String> {
    if payload.len() > MAX_PAYLOAD {
        return Err(format!(
            "push payload is {} bytes; at most {MAX_PAYLOAD} are sent",
            payload.len()
        ));
    }
    if auth_secret.len() != 16 {
        return Err("the subscription's auth secret is not 16 bytes".to_owned());
    }
    let rng = SystemRandom::new();
    let sender = agreement::EphemeralPrivateKey::generate(&agreement::ECDH_P256, &rng)
        .map_err(|_| "cannot make an ephemeral key".to_owned())?;
    let as_public = sender
        .compute_public_key()
        .map_err(|_| "cannot compute the ephemeral public key".to_owned())?;
    let mut salt = [0u8; 16];
    rng.fill(&mut salt)
        .map_err(|_| "no randomness for the salt".to_owned())?;
    let peer = agreement::UnparsedPublicKey::new(&agreement::ECDH_P256, ua_public);
    // RFC 8291 §3.4: PRK_key = HKDF-Extract(auth_secret, ecdh_secret);
    // IKM = HKDF-Expand(PRK_key, "WebPush: info" ‖ 0x00 ‖ ua_public ‖ as_public, 32).
    let ikm: [u8; 32] = agreement::agree_ephemeral(sender, &peer, |ecdh_secret| {
        let prk_key = hkdf::Salt::new(hkdf::HKDF_SHA256, auth_secret).extract(ecdh_secret);
        expand(
            &prk_key,
            &[b"WebPush: info\0", ua_public, as_public.as_ref()],
        )
    })
    .map_err(|_| "the subscription's p256dh is not a P-256 public key".to_owned())??;
    // RFC 8188 §2.2: PRK = HKDF-Extract(salt, IKM); CEK and NONCE from it.
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, &salt).extract(&ikm);
    let cek: [u8; 16] = expand(&prk, &[b"Content-Encoding: aes128gcm\0"])?;
    let nonce: [u8; 12] = expand(&prk, &[b"Content-Encoding: nonce\0"])?;
    let key = aead::LessSafeKey::new(
        aead::UnboundKey::new(&aead::AES_128_GCM, &cek).map_err(|_| "bad CEK".to_owned())?,
    );

    let mut body = Vec::with_capacity(86 + payload.len() + 1 + aead::AES_128_GCM.tag_len());
    body.extend_from_slice(&salt);
    body.extend_from_slice(&RECORD_SIZE.to_be_bytes());
    body.push(65);
    body.extend_from_slice(as_public.as_ref());
    let header_len = body.len();
    body.extend_from_slice(payload);
    body.push(0x02); // last-record delimiter, no padding
    // The nonce is derived from a fresh random salt and key, so it is never reused.
    let tag = key
        .seal_in_place_separate_tag(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::empty(),
            &mut body[header_len..],
        )
        .map_err(|_| "AES-GCM sealing failed".to_owned())?;
    body.extend_from_slice(tag.as_ref());
    Ok(body)
}

#[cfg(test)]
mod tests {
    use onepush_protocol::webpush::PushReceiverKeys;

    use super::*;

    #[test]
    fn the_device_decrypts_what_is_encrypted() {
        let keys = PushReceiverKeys::generate();
        let payload = br#"{"v":1,"type":"challenge","id":"0190f1e2-0000-7000-8000-000000000000"}"#;
        let body = encrypt(payload, &keys.public_key(), keys.auth_secret()).unwrap();
        assert_eq!(keys.decrypt(&body).unwrap(), payload);
        // A fresh sender key and salt each time.
        let again = encrypt(payload, &keys.public_key(), keys.auth_secret()).unwrap();
        assert_ne!(body[..86], again[..86]);
        assert_eq!(keys.decrypt(&again).unwrap(), payload);
    }

    #[test]
    fn bad_keys_and_large_payloads_are_refused() {
        let keys = PushReceiverKeys::generate();
        let mut not_a_point = keys.public_key();
        not_a_point[64] ^= 1;
        assert!(encrypt(b"x", &not_a_point, keys.auth_secret()).is_err());
        assert!(encrypt(b"x", &keys.public_key(), &[0; 15]).is_err());
        let big = vec![b'x'; MAX_PAYLOAD + 1];
        assert!(encrypt(&big, &keys.public_key(), keys.auth_secret()).is_err());
        let max = vec![b'x'; MAX_PAYLOAD];
        let body = encrypt(&max, &keys.public_key(), keys.auth_secret()).unwrap();
        assert_eq!(keys.decrypt(&body).unwrap(), max);
    }
}
