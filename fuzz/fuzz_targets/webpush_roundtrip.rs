//! Web Push round trip: arbitrary plaintext encrypted with `webpush::encrypt` for the
//! fixed RFC 8291 receiver, then decrypted, and one byte of the message changed.
//!
//! - Plaintext up to `MAX_PLAINTEXT_LEN` encrypts into at most 4096 bytes (padded: up to
//!   `PUSH_PLAINTEXT_LEN` into exactly `PUSH_MESSAGE_LEN` bytes), and decrypts to
//!   exactly the plaintext; longer plaintext is refused with `TooLarge`.
//! - Any single changed byte outside the record-size field (bytes 16..20, which RFC 8188
//!   does not authenticate) makes decryption fail; a change inside it either fails or
//!   gives back the same plaintext.
//! - Bytes cut off the end make decryption fail.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use onepush_fuzz::RFC8291;
use onepush_protocol::webpush::{
    MAX_PLAINTEXT_LEN, PUSH_MESSAGE_LEN, PUSH_PLAINTEXT_LEN, Padding, PushEncryptError, decrypt,
    encrypt,
};

#[derive(Debug, Arbitrary)]
struct Input {
    plaintext: Vec<u8>,
    padded: bool,
    at: usize,
    xor: u8,
    cut: u8,
}

fuzz_target!(|input: Input| {
    let (padding, room) = if input.padded {
        (Padding::ToLength(PUSH_MESSAGE_LEN), PUSH_PLAINTEXT_LEN)
    } else {
        (Padding::None, MAX_PLAINTEXT_LEN)
    };
    let encrypted = encrypt(&input.plaintext, &RFC8291.public, &RFC8291.auth, padding);
    if input.plaintext.len() > room {
        assert_eq!(
            encrypted,
            Err(PushEncryptError::TooLarge {
                len: input.plaintext.len(),
                room
            })
        );
        return;
    }
    let body = encrypted.expect("plaintext that fits encrypts");
    assert!(body.len() <= 4096, "{} bytes", body.len());
    if input.padded {
        assert_eq!(body.len(), PUSH_MESSAGE_LEN);
    }
    let decrypted = decrypt(&body, &RFC8291.private, &RFC8291.auth);
    assert_eq!(decrypted.as_deref(), Ok(input.plaintext.as_slice()));

    let mut changed = body.clone();
    let at = input.at % changed.len();
    changed[at] ^= input.xor;
    let result = decrypt(&changed, &RFC8291.private, &RFC8291.auth);
    if changed == body {
        assert_eq!(result.as_deref(), Ok(input.plaintext.as_slice()));
    } else if (16..20).contains(&at) {
        if let Ok(plaintext) = result {
            assert_eq!(plaintext, input.plaintext);
        }
    } else {
        assert!(result.is_err(), "byte {at} changed and it still decrypted");
    }

    let cut = usize::from(input.cut).min(body.len());
    if cut > 0 {
        let short = &body[..body.len() - cut];
        assert!(decrypt(short, &RFC8291.private, &RFC8291.auth).is_err());
    }
});
