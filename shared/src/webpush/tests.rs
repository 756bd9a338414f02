use super::*;
use proptest::prelude::*;
use serde_json::Value;

/// RFC 8291 Appendix A values, from the copy of the vectors file in `tests/vectors/`.
struct Rfc8291 {
    plaintext: Vec<u8>,
    as_private: Vec<u8>,
    ua_private: Vec<u8>,
    ua_public: Vec<u8>,
    auth: Vec<u8>,
    salt: [u8; 16],
    body: Vec<u8>,
}

fn rfc8291() -> Rfc8291 {
    let all: Value = serde_json::from_str(include_str!("../../tests/vectors/rfc.json")).unwrap();
    let v = &all["rfc8291_webpush_aes128gcm"];
    let bytes = |name: &str| b64::decode(v[name].as_str().unwrap()).unwrap();
    Rfc8291 {
        plaintext: v["plaintext_utf8"].as_str().unwrap().as_bytes().to_vec(),
        as_private: bytes("as_private"),
        ua_private: bytes("ua_private"),
        ua_public: bytes("ua_public"),
        auth: bytes("auth_secret"),
        salt: bytes("salt").try_into().unwrap(),
        body: bytes("body"),
    }
}

#[test]
fn rfc8291_example_decrypts() {
    let v = rfc8291();
    let plaintext = decrypt(&v.body, &v.ua_private, &v.auth).unwrap();
    assert_eq!(plaintext, b"When I grow up, I want to be a watermelon");
    assert_eq!(plaintext, v.plaintext);
    let keys = PushReceiverKeys::from_bytes(&v.ua_private, &v.auth).unwrap();
    assert_eq!(keys.public_key().as_slice(), v.ua_public.as_slice());
    assert_eq!(keys.decrypt(&v.body).unwrap(), v.plaintext);
}

#[test]
fn rfc8291_example_is_reproduced_exactly() {
    let v = rfc8291();
    let sender = p256::SecretKey::from_slice(&v.as_private).unwrap();
    let body = ece::encrypt_with(&v.plaintext, &v.ua_public, &v.auth, &sender, v.salt).unwrap();
    assert_eq!(b64::encode(&body), b64::encode(&v.body));
}

#[test]
fn encrypt_then_decrypt_round_trips() {
    let keys = PushReceiverKeys::generate();
    let payload = br#"{"v":1,"type":"challenge","id":"01890a5d-ac96-774b-bcce-b302099a8057"}"#;
    let body = encrypt(
        payload,
        &keys.public_key(),
        keys.auth_secret(),
        Padding::None,
    )
    .unwrap();
    assert_eq!(&body[16..20], &4096u32.to_be_bytes());
    assert_eq!(keys.decrypt(&body).unwrap(), payload);
    // Fresh salt and sender key every time.
    assert_ne!(
        encrypt(
            payload,
            &keys.public_key(),
            keys.auth_secret(),
            Padding::None
        )
        .unwrap(),
        body
    );
    // Empty and maximal payloads.
    for len in [0, MAX_PLAINTEXT_LEN] {
        let body = encrypt(
            &vec![0x61; len],
            &keys.public_key(),
            keys.auth_secret(),
            Padding::None,
        )
        .unwrap();
        assert!(body.len() <= 4096);
        assert_eq!(keys.decrypt(&body).unwrap().len(), len);
    }
}

#[test]
fn padding_makes_every_message_the_same_length() {
    let keys = PushReceiverKeys::generate();
    let pad = Padding::ToLength(PUSH_MESSAGE_LEN);
    for len in [0, 1, 70, 1000, PUSH_PLAINTEXT_LEN] {
        let payload = vec![0x61; len];
        let body = encrypt(&payload, &keys.public_key(), keys.auth_secret(), pad).unwrap();
        assert_eq!(body.len(), PUSH_MESSAGE_LEN, "plaintext of {len} bytes");
        assert_eq!(keys.decrypt(&body).unwrap(), payload);
    }
    assert_eq!(
        encrypt(
            &[0; PUSH_PLAINTEXT_LEN + 1],
            &keys.public_key(),
            keys.auth_secret(),
            pad
        ),
        Err(PushEncryptError::TooLarge {
            len: PUSH_PLAINTEXT_LEN + 1,
            room: PUSH_PLAINTEXT_LEN
        })
    );
    // Padded to the most RFC 8291 allows.
    let full = encrypt(
        b"x",
        &keys.public_key(),
        keys.auth_secret(),
        Padding::ToLength(4096),
    );
    assert_eq!(full.unwrap().len(), 4096);
    // A plaintext that ends in zeros keeps them: only what follows the delimiter goes.
    let payload = b"ab\0\0";
    let body = encrypt(payload, &keys.public_key(), keys.auth_secret(), pad).unwrap();
    assert_eq!(keys.decrypt(&body).unwrap(), payload);
}

#[test]
fn encrypt_refuses_bad_keys_and_large_payloads() {
    let keys = PushReceiverKeys::generate();
    let public = keys.public_key();
    assert_eq!(
        encrypt(b"x", &public[..33], keys.auth_secret(), Padding::None),
        Err(PushEncryptError::P256dh)
    );
    let mut off_curve = public;
    off_curve[64] ^= 1;
    assert_eq!(
        encrypt(b"x", &off_curve, keys.auth_secret(), Padding::None),
        Err(PushEncryptError::P256dh)
    );
    assert_eq!(
        encrypt(b"x", &public, &[0; 15], Padding::None),
        Err(PushEncryptError::Auth)
    );
    assert_eq!(
        encrypt(
            &vec![0; MAX_PLAINTEXT_LEN + 1],
            &public,
            keys.auth_secret(),
            Padding::None
        ),
        Err(PushEncryptError::TooLarge {
            len: MAX_PLAINTEXT_LEN + 1,
            room: MAX_PLAINTEXT_LEN
        })
    );
}

#[test]
fn message_for_another_device_does_not_decrypt() {
    let mine = PushReceiverKeys::generate();
    let theirs = PushReceiverKeys::generate();
    let body = encrypt(
        b"hello",
        &theirs.public_key(),
        theirs.auth_secret(),
        Padding::None,
    )
    .unwrap();
    assert_eq!(mine.decrypt(&body), Err(PushDecryptError::Decrypt));
    // Same ECDH key but another auth secret.
    let other_auth =
        PushReceiverKeys::from_bytes(theirs.private_bytes().as_ref(), &[9; 16]).unwrap();
    assert_eq!(other_auth.decrypt(&body), Err(PushDecryptError::Decrypt));
}

#[test]
fn header_errors_are_distinct() {
    let v = rfc8291();
    let keys = PushReceiverKeys::from_bytes(&v.ua_private, &v.auth).unwrap();
    let with = |change: &dyn Fn(&mut Vec<u8>)| {
        let mut body = v.body.clone();
        change(&mut body);
        keys.decrypt(&body).unwrap_err()
    };
    assert_eq!(with(&|b| b.truncate(10)), PushDecryptError::TooShort(10));
    assert_eq!(
        with(&|b| b.truncate(HEADER_LEN + 16)),
        PushDecryptError::TooShort(HEADER_LEN + 16)
    );
    assert_eq!(
        with(&|b| b[16..20].copy_from_slice(&17u32.to_be_bytes())),
        PushDecryptError::RecordSize(17)
    );
    assert_eq!(with(&|b| b[20] = 33), PushDecryptError::KeyIdLength(33));
    assert_eq!(with(&|b| b[21] = 0x02), PushDecryptError::SenderKey);
    assert_eq!(
        with(&|b| b[16..20].copy_from_slice(&18u32.to_be_bytes())),
        PushDecryptError::MultipleRecords {
            len: v.body.len() - HEADER_LEN,
            rs: 18
        }
    );
    assert_eq!(with(&|b| b[0] ^= 1), PushDecryptError::Decrypt);
    let last = v.body.len() - 1;
    assert_eq!(with(&|b| b[last] ^= 0x80), PushDecryptError::Decrypt);
}

#[test]
fn padding_is_stripped_and_a_missing_final_delimiter_refused() {
    let keys = PushReceiverKeys::generate();
    let sender = p256::SecretKey::from_slice(&rfc8291().as_private).unwrap();
    let sealed = |record: &[u8]| {
        ece::seal_record(
            record.to_vec(),
            &keys.public_key(),
            keys.auth_secret(),
            &sender,
            [5; 16],
        )
        .unwrap()
    };
    assert_eq!(keys.decrypt(&sealed(b"abc\x02\0\0\0")).unwrap(), b"abc");
    assert_eq!(keys.decrypt(&sealed(b"\x02")).unwrap(), b"");
    // 0x01 marks a record that is not the last one: a second record never comes.
    assert_eq!(
        keys.decrypt(&sealed(b"abc\x01")),
        Err(PushDecryptError::Padding)
    );
    assert_eq!(
        keys.decrypt(&sealed(b"abc")),
        Err(PushDecryptError::Padding)
    );
    assert_eq!(
        keys.decrypt(&sealed(b"\0\0\0")),
        Err(PushDecryptError::Padding)
    );
}

#[test]
fn receiver_keys_round_trip_and_hide_secrets() {
    let keys = PushReceiverKeys::generate();
    let again =
        PushReceiverKeys::from_bytes(keys.private_bytes().as_ref(), keys.auth_secret()).unwrap();
    assert_eq!(again.public_key(), keys.public_key());
    let shown = format!("{keys:?}");
    assert!(!shown.contains(&b64::encode(keys.auth_secret())), "{shown}");
    assert!(
        !shown.contains(&b64::encode(keys.private_bytes().as_ref())),
        "{shown}"
    );
    assert!(PushReceiverKeys::from_bytes(&[1; 31], &[0; 16]).is_err());
    assert!(PushReceiverKeys::from_bytes(&[0; 32], &[0; 16]).is_err());
    assert!(PushReceiverKeys::from_bytes(&[1; 32], &[0; 15]).is_err());
}

#[test]
fn subscription_json_is_the_w3c_shape() {
    let keys = PushReceiverKeys::generate();
    let sub = keys.subscription("https://push.example.net/send/abc");
    sub.validate().unwrap();
    let json = serde_json::to_value(&sub).unwrap();
    assert_eq!(json["endpoint"], "https://push.example.net/send/abc");
    assert_eq!(json["keys"]["auth"].as_str().unwrap().len(), 22);
    assert_eq!(json["keys"]["p256dh"].as_str().unwrap().len(), 87);
    let browser = format!(
        r#"{{"endpoint":"https://push.example.net/send/abc","expirationTime":null,"keys":{{"p256dh":"{}","auth":"{}"}}}}"#,
        sub.keys.p256dh, sub.keys.auth
    );
    assert_eq!(
        serde_json::from_str::<PushSubscription>(&browser).unwrap(),
        sub
    );
    assert!(!format!("{sub:?}").contains(&sub.keys.auth));
}

#[test]
fn subscription_validation_names_the_bad_field() {
    let good = PushReceiverKeys::generate().subscription("https://push.example.net/x");
    let with = |change: &dyn Fn(&mut PushSubscription)| {
        let mut sub = good.clone();
        change(&mut sub);
        sub.validate().unwrap_err()
    };
    for endpoint in [
        "ftp://push.example.net/x",
        "https://",
        "push.example.net/x",
        "https://a b/c",
        "",
    ] {
        assert!(
            matches!(
                with(&|s| s.endpoint = endpoint.into()),
                SubscriptionError::Endpoint(_)
            ),
            "{endpoint:?}"
        );
    }
    assert!(matches!(
        with(&|s| s.endpoint = format!("https://h/{}", "x".repeat(MAX_ENDPOINT_LEN))),
        SubscriptionError::Endpoint(_)
    ));
    assert_eq!(
        with(&|s| s.keys.p256dh.truncate(40)),
        SubscriptionError::P256dh
    );
    assert_eq!(
        with(&|s| s.keys.p256dh = b64::encode([4u8; 65])),
        SubscriptionError::P256dh
    );
    assert_eq!(
        with(&|s| s.keys.auth = b64::encode([1u8; 12])),
        SubscriptionError::Auth
    );
    let mut http = good.clone();
    http.endpoint = "http://localhost:8080/push".into();
    assert_eq!(http.validate(), Ok(()));
}

#[test]
fn every_truncation_and_single_byte_change_errors_without_panicking() {
    let v = rfc8291();
    let keys = PushReceiverKeys::from_bytes(&v.ua_private, &v.auth).unwrap();
    for len in 0..v.body.len() {
        assert!(keys.decrypt(&v.body[..len]).is_err(), "truncated to {len}");
    }
    for at in 0..v.body.len() {
        for flip in [0x01, 0x80, 0xff] {
            let mut body = v.body.clone();
            body[at] ^= flip;
            match keys.decrypt(&body) {
                Err(_) => {}
                // The record size is not authenticated: any rs that still holds the
                // single record gives the same plaintext.
                Ok(plaintext) => {
                    assert!((16..20).contains(&at), "byte {at} ^ {flip:#x} accepted");
                    assert_eq!(plaintext, v.plaintext);
                }
            }
        }
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..300)) {
        let v = rfc8291();
        let _ = decrypt(&body, &v.ua_private, &v.auth);
    }

    #[test]
    fn arbitrary_payloads_round_trip(payload in proptest::collection::vec(any::<u8>(), 0..600)) {
        let v = rfc8291();
        let body = encrypt(&payload, &v.ua_public, &v.auth, Padding::None).unwrap();
        prop_assert_eq!(decrypt(&body, &v.ua_private, &v.auth).unwrap(), payload);
    }

    #[test]
    fn valid_header_with_random_record_fails_cleanly(record in proptest::collection::vec(any::<u8>(), 17..200)) {
        let v = rfc8291();
        let mut body = v.body[..HEADER_LEN].to_vec();
        body.extend_from_slice(&record);
        prop_assert_eq!(decrypt(&body, &v.ua_private, &v.auth), Err(PushDecryptError::Decrypt));
    }
}
