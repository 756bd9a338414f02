use super::*;
use proptest::prelude::*;

/// RFC 6238 Appendix B / RFC 4226 Appendix D secret: ASCII "12345678901234567890".
fn rfc_secret() -> TotpSecret {
    TotpSecret::from_bytes(b"12345678901234567890").unwrap()
}

const NOW: i64 = 1_700_000_000; // step 56_666_666, 20 s into it

#[test]
fn rfc6238_sha1_vectors() {
    let cases = [
        (59, 0x1, "94287082"),
        (1_111_111_109, 0x0235_23EC, "07081804"),
        (1_111_111_111, 0x0235_23ED, "14050471"),
        (1_234_567_890, 0x0273_EF07, "89005924"),
        (2_000_000_000, 0x03F9_40AA, "69279037"),
        (20_000_000_000, 0x27BC_86AA, "65353130"),
    ];
    let secret = rfc_secret();
    for (time, step, totp8) in cases {
        assert_eq!(step_at(time), step);
        assert_eq!(hotp(secret.as_bytes(), step, 8), totp8);
        assert_eq!(code(&secret, time), totp8[2..]);
    }
}

#[test]
fn rfc4226_hotp_vectors() {
    let expected = [
        "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871",
        "520489",
    ];
    for (counter, code) in (0u64..).zip(expected) {
        assert_eq!(hotp(b"12345678901234567890", counter, 6), code);
    }
}

#[test]
fn codes_are_zero_padded_to_six_digits() {
    // RFC 6238: step 0x23523EC gives 07081804, whose 6-digit form starts with 0.
    let secret = rfc_secret();
    let found = (0u64..2000)
        .map(|step| code_at_step(&secret, step))
        .find(|c| c.starts_with('0'))
        .expect("about one code in ten starts with 0");
    assert_eq!(found.len(), 6);
    assert_eq!(hotp(b"12345678901234567890", 0, 3), "224");
}

#[test]
fn step_and_seconds_left() {
    assert_eq!(step_at(0), 0);
    assert_eq!(step_at(29), 0);
    assert_eq!(step_at(30), 1);
    assert_eq!(step_at(-1), 0);
    assert_eq!(seconds_left(0), 30);
    assert_eq!(seconds_left(29), 1);
    assert_eq!(seconds_left(30), 30);
    assert_eq!(seconds_left(NOW), 10);
}

#[test]
fn current_code_is_accepted_and_returns_its_step() {
    let secret = TotpSecret::generate();
    let c = code(&secret, NOW);
    assert_eq!(verify(&secret, &c, NOW, 0, 1, None), Ok(step_at(NOW)));
}

#[test]
fn window_edges() {
    let secret = rfc_secret();
    let now_step = step_at(NOW);
    for (offset, expected) in [(-2i64, false), (-1, true), (0, true), (1, true), (2, false)] {
        let step = now_step.checked_add_signed(offset).unwrap();
        let c = code_at_step(&secret, step);
        let result = verify(&secret, &c, NOW, 0, 1, None);
        assert_eq!(result.is_ok(), expected, "offset {offset}: {result:?}");
        if !expected {
            assert_eq!(result, Err(TotpError::Invalid));
        }
    }
}

#[test]
fn recorded_drift_moves_the_window() {
    let secret = rfc_secret();
    let ahead = step_at(NOW) + 5;
    let c = code_at_step(&secret, ahead);
    assert_eq!(
        verify(&secret, &c, NOW, 0, 1, None),
        Err(TotpError::Invalid)
    );
    assert_eq!(verify(&secret, &c, NOW, 5, 1, None), Ok(ahead));
}

#[test]
fn code_used_twice_is_refused() {
    let secret = rfc_secret();
    let c = code(&secret, NOW);
    let used = verify(&secret, &c, NOW, 0, 1, None).unwrap();
    assert_eq!(
        verify(&secret, &c, NOW + 5, 0, 1, Some(used)),
        Err(TotpError::Replayed)
    );
    // An older code still in the window is refused too.
    let previous = code_at_step(&secret, used - 1);
    assert_eq!(
        verify(&secret, &previous, NOW, 0, 1, Some(used)),
        Err(TotpError::Replayed)
    );
    // The next one works.
    let next = code_at_step(&secret, used + 1);
    assert_eq!(verify(&secret, &next, NOW, 0, 1, Some(used)), Ok(used + 1));
}

#[test]
fn malformed_codes() {
    let secret = rfc_secret();
    for bad in [
        "",
        "12345",
        "1234567",
        "12345a",
        " 123456",
        "１２３４５６",
        "+12345",
    ] {
        assert_eq!(
            verify(&secret, bad, NOW, 0, 1, None),
            Err(TotpError::Malformed),
            "{bad:?}"
        );
    }
}

#[test]
fn consecutive_codes_enroll() {
    let secret = rfc_secret();
    let s = step_at(NOW) - 1;
    let pair = [code_at_step(&secret, s), code_at_step(&secret, s + 1)];
    let codes = [pair[0].as_str(), pair[1].as_str()];
    assert_eq!(
        verify_consecutive(&secret, codes, NOW, 0, ENROLLMENT_WINDOW, None),
        Ok(s + 1)
    );
    assert_eq!(
        verify_consecutive(&secret, codes, NOW, 0, ENROLLMENT_WINDOW, Some(s + 1)),
        Err(TotpError::Replayed)
    );
    // A pair whose first code was already used is a replay as well.
    assert_eq!(
        verify_consecutive(&secret, codes, NOW, 0, ENROLLMENT_WINDOW, Some(s)),
        Err(TotpError::Replayed)
    );
}

#[test]
fn non_consecutive_or_equal_codes_are_refused() {
    let secret = rfc_secret();
    let s = step_at(NOW);
    let a = code_at_step(&secret, s - 1);
    let c = code_at_step(&secret, s + 1);
    let b = code_at_step(&secret, s);
    let check =
        |codes: [&str; 2]| verify_consecutive(&secret, codes, NOW, 0, ENROLLMENT_WINDOW, None);
    assert_eq!(check([&a, &c]), Err(TotpError::NotConsecutive));
    assert_eq!(check([&b, &a]), Err(TotpError::NotConsecutive));
    assert_eq!(check([&b, &b]), Err(TotpError::NotConsecutive));
    let window: Vec<String> = (s - 2..=s + 2)
        .map(|st| code_at_step(&secret, st))
        .collect();
    let wrong = (0..1_000_000)
        .map(|n| format!("{n:06}"))
        .find(|x| !window.contains(x))
        .unwrap();
    assert_eq!(check([&b, &wrong]), Err(TotpError::Invalid));
    assert_eq!(check(["12a456", &b]), Err(TotpError::Malformed));
}

#[test]
fn enrollment_window_is_two_steps() {
    let secret = rfc_secret();
    let s = step_at(NOW);
    let (l0, l1) = (code_at_step(&secret, s + 1), code_at_step(&secret, s + 2));
    let (t0, t1) = (code_at_step(&secret, s + 2), code_at_step(&secret, s + 3));
    assert_eq!(
        verify_consecutive(&secret, [&l0, &l1], NOW, 0, ENROLLMENT_WINDOW, None),
        Ok(s + 2)
    );
    assert_eq!(
        verify_consecutive(&secret, [&t0, &t1], NOW, 0, ENROLLMENT_WINDOW, None),
        Err(TotpError::Invalid)
    );
}

#[test]
fn resync_measures_the_drift() {
    let secret = rfc_secret();
    let now_step = step_at(NOW);
    // Both codes must be in the window: the second one's step is at most 39 behind.
    for drift in [-39i64, -7, 0, 12, 40] {
        let s = now_step.checked_add_signed(drift - 1).unwrap();
        let (c0, c1) = (code_at_step(&secret, s), code_at_step(&secret, s + 1));
        assert_eq!(
            resync(&secret, [&c0, &c1], NOW, RESYNC_WINDOW, None),
            Ok(Resync {
                step: s + 1,
                drift_steps: drift
            }),
            "drift {drift}"
        );
        // With the drift recorded, the next code verifies in the normal window.
        let next = code_at_step(&secret, s + 2);
        assert_eq!(
            verify(&secret, &next, NOW, drift, VERIFY_WINDOW, Some(s + 1)),
            Ok(s + 2)
        );
    }
    let behind = now_step - 41;
    let (c0, c1) = (
        code_at_step(&secret, behind),
        code_at_step(&secret, behind + 1),
    );
    assert_eq!(
        resync(&secret, [&c0, &c1], NOW, RESYNC_WINDOW, None),
        Err(TotpError::Invalid)
    );
    let far = now_step + 45;
    let (c0, c1) = (code_at_step(&secret, far), code_at_step(&secret, far + 1));
    assert_eq!(
        resync(&secret, [&c0, &c1], NOW, RESYNC_WINDOW, None),
        Err(TotpError::Invalid)
    );
}

#[test]
fn secret_encodings() {
    let secret = TotpSecret::from_bytes(b"12345678901234567890").unwrap();
    assert_eq!(secret.to_base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    let typed = "gezd gnbv gy3t qojq GEZD GNBV GY3T QOJQ";
    assert_eq!(TotpSecret::from_base32(typed).unwrap(), secret);
    assert!(
        matches!(TotpSecret::from_base32("GEZDGNBV"), Err(TotpError::BadSecret(m)) if m.contains("20 bytes"))
    );
    assert!(
        matches!(TotpSecret::from_base32("GEZDGNB1"), Err(TotpError::BadSecret(m)) if m.contains("base32"))
    );
    assert!(matches!(
        TotpSecret::from_bytes(&[0; 16]),
        Err(TotpError::BadSecret(_))
    ));
    assert_ne!(TotpSecret::generate(), secret);
}

#[test]
fn debug_hides_the_secret() {
    let secret = rfc_secret();
    let shown = format!("{secret:?}");
    assert_eq!(shown, "TotpSecret(<redacted>)");
}

#[test]
fn error_messages_say_what_to_do() {
    assert!(
        TotpError::Replayed
            .to_string()
            .contains("wait for the next code")
    );
    assert!(TotpError::Malformed.to_string().contains("6 digits"));
}

proptest! {
    #[test]
    fn a_code_verifies_at_its_own_time(seed in any::<[u8; 20]>(), now in 0i64..4_000_000_000) {
        let secret = TotpSecret::from_bytes(&seed).unwrap();
        let c = code(&secret, now);
        prop_assert_eq!(c.len(), 6);
        prop_assert_eq!(verify(&secret, &c, now, 0, 1, None), Ok(step_at(now)));
        prop_assert_eq!(verify(&secret, &c, now, 0, 1, Some(step_at(now))), Err(TotpError::Replayed));
    }

    #[test]
    fn base32_round_trips(seed in any::<[u8; 20]>()) {
        let secret = TotpSecret::from_bytes(&seed).unwrap();
        let text = secret.to_base32();
        prop_assert_eq!(text.len(), 32);
        prop_assert_eq!(TotpSecret::from_base32(&text.to_lowercase()).unwrap(), secret);
    }

    #[test]
    fn seconds_left_is_between_1_and_30(now in any::<i64>()) {
        let left = seconds_left(now);
        prop_assert!((1..=30).contains(&left));
    }
}
