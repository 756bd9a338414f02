use super::*;
use proptest::prelude::*;

fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

/// RFC 6979 Appendix A.2.5: the P-256 key.
const RFC6979_KEY: &str = "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721";

/// RFC 9449 Figure 2 / Figure 9: the example proof key and its RFC 7638 thumbprint.
fn rfc9449_jwk() -> Jwk {
    Jwk {
        kty: "EC".into(),
        crv: "P-256".into(),
        x: "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs".into(),
        y: "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA".into(),
    }
}

/// RFC 9449 Figure 2: a proof JWT signed (ES256) by [`rfc9449_jwk`].
const RFC9449_PROOF: &str = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg";

/// The RFC 6979 key gives the RFC's public key, the RFC's (deterministic) signature
/// verifies with it, and so do this key's own signatures, which are not deterministic:
/// `ring` mixes fresh random bytes into each nonce.
#[test]
fn rfc6979_key_signs_and_verifies() {
    let key = DeviceKey::from_bytes(&hex(RFC6979_KEY)).unwrap();
    let expected = hex(
        "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716
         f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8",
    );
    let jwk = key.public_jwk();
    let first = key.sign(b"sample");
    let second = key.sign(b"sample");
    verify_es256(&jwk, b"sample", &first).unwrap();
    verify_es256(&jwk, b"sample", &second).unwrap();
    assert_ne!(first, second, "each signature has its own nonce");
    assert_eq!(
        b64::decode(&jwk.x).unwrap(),
        hex("60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6")
    );
    assert_eq!(
        b64::decode(&jwk.y).unwrap(),
        hex("7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299")
    );
    verify_es256(&jwk, b"sample", &expected).unwrap();
}

#[test]
fn rfc9449_example_proof_verifies_with_ring() {
    let (signing_input, signature) = RFC9449_PROOF.rsplit_once('.').unwrap();
    let signature = b64::decode(signature).unwrap();
    verify_es256(&rfc9449_jwk(), signing_input.as_bytes(), &signature).unwrap();
}

#[test]
fn rfc9449_example_thumbprint() {
    assert_eq!(
        rfc9449_jwk().thumbprint(),
        "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
    );
}

#[test]
fn key_round_trips_through_its_bytes() {
    let key = DeviceKey::generate();
    let again = DeviceKey::from_bytes(key.to_bytes().as_ref()).unwrap();
    assert_eq!(again.public_jwk(), key.public_jwk());
    assert_ne!(DeviceKey::generate().public_jwk(), key.public_jwk());
}

#[test]
fn bad_private_keys_are_refused() {
    assert_eq!(
        DeviceKey::from_bytes(&[1u8; 31]).unwrap_err(),
        KeyError::PrivateKey
    );
    assert_eq!(
        DeviceKey::from_bytes(&[1u8; 33]).unwrap_err(),
        KeyError::PrivateKey
    );
    assert_eq!(
        DeviceKey::from_bytes(&[0u8; 32]).unwrap_err(),
        KeyError::PrivateKey
    );
    // The group order n itself is not a valid scalar.
    let n = hex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
    assert_eq!(DeviceKey::from_bytes(&n).unwrap_err(), KeyError::PrivateKey);
}

#[test]
fn debug_does_not_show_the_secret() {
    let key = DeviceKey::from_bytes(&hex(RFC6979_KEY)).unwrap();
    let shown = format!("{key:?}");
    assert!(shown.contains("<redacted>"), "{shown}");
    assert!(!shown.to_lowercase().contains("c9afa9"), "{shown}");
    assert!(!shown.contains(&b64::encode(hex(RFC6979_KEY))), "{shown}");
}

#[test]
fn signature_by_another_key_or_over_another_message_fails() {
    let key = DeviceKey::generate();
    let jwk = key.public_jwk();
    let signature = key.sign(b"approve");
    verify_es256(&jwk, b"approve", &signature).unwrap();
    assert_eq!(
        verify_es256(&jwk, b"approvE", &signature),
        Err(KeyError::BadSignature)
    );
    let other = DeviceKey::generate().public_jwk();
    assert_eq!(
        verify_es256(&other, b"approve", &signature),
        Err(KeyError::BadSignature)
    );
    assert_eq!(
        verify_es256(&jwk, b"approve", &signature[..63]),
        Err(KeyError::BadSignature)
    );
    assert_eq!(
        verify_es256(&jwk, b"approve", &[]),
        Err(KeyError::BadSignature)
    );
}

#[test]
fn jwk_ignores_extra_members_and_does_not_write_them() {
    let text = r#"{"kty":"EC","crv":"P-256","kid":"k1","alg":"ES256","use":"sig",
        "x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
        "y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"}"#;
    let jwk: Jwk = serde_json::from_str(text).unwrap();
    assert_eq!(jwk, rfc9449_jwk());
    jwk.validate().unwrap();
    let written = serde_json::to_string(&jwk).unwrap();
    assert_eq!(
        written,
        r#"{"kty":"EC","crv":"P-256","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"}"#
    );
}

#[test]
fn jwk_validation_names_what_is_wrong() {
    let good = rfc9449_jwk();
    let with = |change: fn(&mut Jwk)| {
        let mut jwk = good.clone();
        change(&mut jwk);
        jwk.validate().unwrap_err()
    };
    assert_eq!(
        with(|j| j.kty = "RSA".into()),
        KeyError::KeyType("RSA".into())
    );
    assert_eq!(
        with(|j| j.crv = "P-384".into()),
        KeyError::Curve("P-384".into())
    );
    assert_eq!(with(|j| j.x.truncate(42)), KeyError::Coordinate("x"));
    assert_eq!(with(|j| j.y.push('=')), KeyError::Coordinate("y"));
    assert_eq!(with(|j| j.y = b64::encode([7u8; 32])), KeyError::NotOnCurve);
    let message = with(|j| j.crv = "P-384".into()).to_string();
    assert!(
        message.contains("P-256") && message.contains("P-384"),
        "{message}"
    );
}

#[test]
fn off_curve_jwk_never_verifies() {
    let key = DeviceKey::generate();
    let mut jwk = key.public_jwk();
    jwk.y = b64::encode([7u8; 32]);
    assert_eq!(
        verify_es256(&jwk, b"m", &key.sign(b"m")),
        Err(KeyError::BadSignature)
    );
}

#[test]
fn point_encoding_is_checked() {
    let jwk = rfc9449_jwk();
    let point = jwk.uncompressed_point().unwrap();
    assert_eq!(Jwk::from_uncompressed_point(&point).unwrap(), jwk);
    assert_eq!(
        Jwk::from_uncompressed_point(&point[..33]),
        Err(KeyError::PointEncoding(33))
    );
    let mut compressed_tag = point;
    compressed_tag[0] = 0x02;
    assert_eq!(
        Jwk::from_uncompressed_point(&compressed_tag),
        Err(KeyError::PointEncoding(65))
    );
    let mut off_curve = point;
    off_curve[64] ^= 1;
    assert_eq!(
        Jwk::from_uncompressed_point(&off_curve),
        Err(KeyError::NotOnCurve)
    );
}

#[test]
fn thumbprint_depends_on_the_key_only() {
    let a = DeviceKey::generate().public_jwk();
    let b = DeviceKey::generate().public_jwk();
    assert_ne!(a.thumbprint(), b.thumbprint());
    assert_eq!(a.thumbprint().len(), 43);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn signatures_verify_for_any_message(message in proptest::collection::vec(any::<u8>(), 0..256)) {
        let key = DeviceKey::generate();
        prop_assert!(verify_es256(&key.public_jwk(), &message, &key.sign(&message)).is_ok());
    }

    #[test]
    fn any_flipped_signature_bit_fails(bit in 0usize..512) {
        let key = DeviceKey::generate();
        let mut signature = key.sign(b"message");
        signature[bit / 8] ^= 1 << (bit % 8);
        prop_assert_eq!(
            verify_es256(&key.public_jwk(), b"message", &signature),
            Err(KeyError::BadSignature)
        );
    }
}
