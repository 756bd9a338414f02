//! Web Push (`aes128gcm`, RFC 8291 / RFC 8188) decryption of arbitrary bodies with the
//! fixed RFC 8291 Appendix A receiver keys.
//!
//! - `webpush::decrypt` never panics, and agrees with `PushReceiverKeys::decrypt`.
//! - A body that decrypts has the 86-byte header with a 65-byte key id, a single record
//!   no larger than its record size, and a plaintext shorter than that record by at
//!   least the tag and the delimiter; reading it as a OnePush `PushPayload` never panics.
//!
//! The seed is the RFC 8291 Appendix A message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use onepush_fuzz::RFC8291;
use onepush_protocol::PushReceiverKeys;
use onepush_protocol::api::PushPayload;
use onepush_protocol::webpush::{HEADER_LEN, decrypt};

fuzz_target!(|body: &[u8]| {
    let result = decrypt(body, &RFC8291.private, &RFC8291.auth);
    let keys = PushReceiverKeys::from_bytes(&RFC8291.private, &RFC8291.auth).expect("RFC keys");
    assert_eq!(keys.decrypt(body), result);
    match result {
        Ok(plaintext) => {
            assert!(body.len() >= HEADER_LEN + 17);
            assert_eq!(body[20], 65);
            let record_len = body.len() - HEADER_LEN;
            let rs = u32::from_be_bytes([body[16], body[17], body[18], body[19]]);
            assert!(u32::try_from(record_len).is_ok_and(|len| len <= rs));
            assert!(plaintext.len() + 17 <= record_len);
            let _ = PushPayload::from_plaintext(&plaintext);
        }
        Err(err) => assert!(!err.to_string().is_empty()),
    }
});
