//! RFC 6287 Appendix C test vectors (OCRA), copied from the RFC's tables: C.1 one-way
//! challenge-response, C.2 mutual challenge-response, C.3 plain signature. Keys are the
//! RFC's "Standard 20/32/64Byte" keys: the ASCII digits `1234567890` repeated; the PIN
//! is `1234`, whose SHA-1 is `7110eda4d09e062aa5e4a390b0a572ac0d2c0220` (Appendix C);
//! `T` is `132d0b6` minutes (RFC 6287 Appendix C, "Mar 25 2008, 12:06:30 GMT").

use onepush_protocol::ocra::{self, Inputs, Suite};

const PIN_SHA1: &str = "7110eda4d09e062aa5e4a390b0a572ac0d2c0220";
const T: u64 = 0x132_d0b6;

fn key(len: usize) -> Vec<u8> {
    b"1234567890".iter().copied().cycle().take(len).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn suite(s: &str) -> Suite {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// C.1: `OCRA-1:HOTP-SHA1-6:QN08`, Standard 20Byte key.
#[test]
fn c1_one_way_sha1_qn08() {
    let s = suite("OCRA-1:HOTP-SHA1-6:QN08");
    let expected = [
        ("00000000", "237653"),
        ("11111111", "243178"),
        ("22222222", "653583"),
        ("33333333", "740991"),
        ("44444444", "608993"),
        ("55555555", "388898"),
        ("66666666", "816933"),
        ("77777777", "224598"),
        ("88888888", "750600"),
        ("99999999", "294470"),
    ];
    for (q, code) in expected {
        let inputs = Inputs {
            question: q,
            ..Inputs::default()
        };
        assert_eq!(
            ocra::generate(&s, &key(20), &inputs).unwrap(),
            code,
            "Q {q}"
        );
    }
}

/// C.1: `OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1`, Standard 32Byte key, Q 12345678.
#[test]
fn c1_one_way_sha256_counter_pin() {
    let s = suite("OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1");
    let pin = unhex(PIN_SHA1);
    let expected = [
        "65347737", "86775851", "78192410", "71565254", "10104329", "65983500", "70069104",
        "91771096", "75011558", "08522129",
    ];
    for (c, code) in (0u64..).zip(expected) {
        let inputs = Inputs {
            counter: Some(c),
            question: "12345678",
            pin_hash: Some(&pin),
            ..Inputs::default()
        };
        assert_eq!(
            ocra::generate(&s, &key(32), &inputs).unwrap(),
            code,
            "C {c}"
        );
    }
}

/// C.1: `OCRA-1:HOTP-SHA256-8:QN08-PSHA1`, Standard 32Byte key.
#[test]
fn c1_one_way_sha256_pin() {
    let s = suite("OCRA-1:HOTP-SHA256-8:QN08-PSHA1");
    let pin = unhex(PIN_SHA1);
    let expected = [
        ("00000000", "83238735"),
        ("11111111", "01501458"),
        ("22222222", "17957585"),
        ("33333333", "86776967"),
        ("44444444", "86807031"),
    ];
    for (q, code) in expected {
        let inputs = Inputs {
            question: q,
            pin_hash: Some(&pin),
            ..Inputs::default()
        };
        assert_eq!(
            ocra::generate(&s, &key(32), &inputs).unwrap(),
            code,
            "Q {q}"
        );
    }
}

/// C.1: `OCRA-1:HOTP-SHA512-8:C-QN08`, Standard 64Byte key.
#[test]
fn c1_one_way_sha512_counter() {
    let s = suite("OCRA-1:HOTP-SHA512-8:C-QN08");
    let expected = [
        (0, "00000000", "07016083"),
        (1, "11111111", "63947962"),
        (2, "22222222", "70123924"),
        (3, "33333333", "25341727"),
        (4, "44444444", "33203315"),
        (5, "55555555", "34205738"),
        (6, "66666666", "44343969"),
        (7, "77777777", "51946085"),
        (8, "88888888", "20403879"),
        (9, "99999999", "31409299"),
    ];
    for (c, q, code) in expected {
        let inputs = Inputs {
            counter: Some(c),
            question: q,
            ..Inputs::default()
        };
        assert_eq!(
            ocra::generate(&s, &key(64), &inputs).unwrap(),
            code,
            "C {c}"
        );
    }
}

/// C.1: `OCRA-1:HOTP-SHA512-8:QN08-T1M`, Standard 64Byte key, T 132d0b6.
#[test]
fn c1_one_way_sha512_time() {
    let s = suite("OCRA-1:HOTP-SHA512-8:QN08-T1M");
    let expected = [
        ("00000000", "95209754"),
        ("11111111", "55907591"),
        ("22222222", "22048402"),
        ("33333333", "24218844"),
        ("44444444", "36209546"),
    ];
    for (q, code) in expected {
        let inputs = Inputs {
            question: q,
            time_steps: Some(T),
            ..Inputs::default()
        };
        assert_eq!(
            ocra::generate(&s, &key(64), &inputs).unwrap(),
            code,
            "Q {q}"
        );
    }
}

/// C.2: mutual challenge-response with `OCRA-1:HOTP-SHA256-8:QA08` (server and client).
#[test]
fn c2_mutual_sha256() {
    let s = suite("OCRA-1:HOTP-SHA256-8:QA08");
    let server = [
        ("CLI22220SRV11110", "28247970"),
        ("CLI22221SRV11111", "01984843"),
        ("CLI22222SRV11112", "65387857"),
        ("CLI22223SRV11113", "03351211"),
        ("CLI22224SRV11114", "83412541"),
    ];
    let client = [
        ("SRV11110CLI22220", "15510767"),
        ("SRV11111CLI22221", "90175646"),
        ("SRV11112CLI22222", "33777207"),
        ("SRV11113CLI22223", "95285278"),
        ("SRV11114CLI22224", "28934924"),
    ];
    for (q, code) in server.into_iter().chain(client) {
        let inputs = Inputs {
            question: q,
            ..Inputs::default()
        };
        assert_eq!(
            ocra::generate(&s, &key(32), &inputs).unwrap(),
            code,
            "Q {q}"
        );
    }
}

/// C.2: server `OCRA-1:HOTP-SHA512-8:QA08`, client `OCRA-1:HOTP-SHA512-8:QA08-PSHA1`.
#[test]
fn c2_mutual_sha512_with_pin() {
    let server_suite = suite("OCRA-1:HOTP-SHA512-8:QA08");
    let client_suite = suite("OCRA-1:HOTP-SHA512-8:QA08-PSHA1");
    let pin = unhex(PIN_SHA1);
    let server = [
        ("CLI22220SRV11110", "79496648"),
        ("CLI22221SRV11111", "76831980"),
        ("CLI22222SRV11112", "12250499"),
        ("CLI22223SRV11113", "90856481"),
        ("CLI22224SRV11114", "12761449"),
    ];
    let client = [
        ("SRV11110CLI22220", "18806276"),
        ("SRV11111CLI22221", "70020315"),
        ("SRV11112CLI22222", "01600026"),
        ("SRV11113CLI22223", "18951020"),
        ("SRV11114CLI22224", "32528969"),
    ];
    for (q, code) in server {
        let inputs = Inputs {
            question: q,
            ..Inputs::default()
        };
        assert_eq!(
            ocra::generate(&server_suite, &key(64), &inputs).unwrap(),
            code,
            "Q {q}"
        );
    }
    for (q, code) in client {
        let inputs = Inputs {
            question: q,
            pin_hash: Some(&pin),
            ..Inputs::default()
        };
        assert_eq!(
            ocra::generate(&client_suite, &key(64), &inputs).unwrap(),
            code,
            "Q {q}"
        );
    }
}

/// C.3: plain signature, `OCRA-1:HOTP-SHA256-8:QA08` and `OCRA-1:HOTP-SHA512-8:QA10-T1M`.
#[test]
fn c3_plain_signature() {
    let s = suite("OCRA-1:HOTP-SHA256-8:QA08");
    for (q, code) in [
        ("SIG10000", "53095496"),
        ("SIG11000", "04110475"),
        ("SIG12000", "31331128"),
        ("SIG13000", "76028668"),
        ("SIG14000", "46554205"),
    ] {
        let inputs = Inputs {
            question: q,
            ..Inputs::default()
        };
        assert_eq!(
            ocra::generate(&s, &key(32), &inputs).unwrap(),
            code,
            "Q {q}"
        );
    }
    let s = suite("OCRA-1:HOTP-SHA512-8:QA10-T1M");
    for (q, code) in [
        ("SIG1000000", "77537423"),
        ("SIG1100000", "31970405"),
        ("SIG1200000", "10235557"),
        ("SIG1300000", "95213541"),
        ("SIG1400000", "65360607"),
    ] {
        let inputs = Inputs {
            question: q,
            time_steps: Some(T),
            ..Inputs::default()
        };
        assert_eq!(
            ocra::generate(&s, &key(64), &inputs).unwrap(),
            code,
            "Q {q}"
        );
    }
}

/// The suite OnePush uses is an RFC 6287 suite and its responses have 8 digits.
#[test]
fn onepush_suite_is_sha256_8_qh64_t1m() {
    let s = suite(ocra::SUITE);
    let q = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    let key = ocra::OcraKey::from_bytes(&key(32)).unwrap();
    let code = ocra::response_at_step(&key, q, T).unwrap();
    let direct = ocra::generate(
        &s,
        key.as_bytes(),
        &Inputs {
            question: q,
            time_steps: Some(T),
            ..Inputs::default()
        },
    )
    .unwrap();
    assert_eq!(code, direct);
    assert_eq!(code.len(), 8);
    assert_eq!(ocra::step_at(i64::try_from(T).unwrap() * 60 + 59), T);
}
