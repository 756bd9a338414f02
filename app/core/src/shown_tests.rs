//! Unit tests of the shown-challenge rule, in memory and in the CLI's file.

use onepush_protocol::{ChallengeKind, ChallengeStatus, Context, TenantId, UserId};
use serde_json::json;

use super::*;
use crate::authenticator::tests::transfer;

const NOW: i64 = 1_750_000_000;

/// One edit of a challenge's content.
type Change = fn(&mut DeviceChallenge);

/// `shown` with the payee swapped, as a compromised relay would send it.
fn with_other_payee(shown: &DeviceChallenge) -> DeviceChallenge {
    let mut later = shown.clone();
    later.context = Context::from_value(json!({
        "amount": "1000000", "currency": "JPY",
        "payee_name": "ワルモノ", "payee_account": "9999-999-9999999",
    }))
    .unwrap();
    later
}

#[test]
fn the_first_copy_is_signed_and_later_status_is_not_a_change() {
    let shown = transfer();
    let mut seen = ShownChallenges::default();
    assert_eq!(seen.record(&shown), Sighting::First);
    assert_eq!(seen.to_sign(shown.id).unwrap(), &shown);

    let mut approved_elsewhere = shown.clone();
    approved_elsewhere.status = ChallengeStatus::Approved;
    assert_eq!(seen.record(&approved_elsewhere), Sighting::Same);
    assert_eq!(
        seen.to_sign(shown.id).unwrap().status,
        ChallengeStatus::Approved
    );
    seen.set_status(shown.id, ChallengeStatus::Expired);
    assert_eq!(
        seen.to_sign(shown.id).unwrap().status,
        ChallengeStatus::Expired
    );
}

#[test]
fn a_later_copy_with_another_context_is_never_signed() {
    let shown = transfer();
    let mut seen = ShownChallenges::default();
    seen.record(&shown);
    let swapped = with_other_payee(&shown);
    assert_eq!(
        seen.record(&swapped),
        Sighting::Changed(vec![Part::Context])
    );
    let refused = seen.to_sign(shown.id).unwrap_err();
    assert_eq!(
        refused,
        ShownError::Changed {
            id: shown.id,
            parts: vec![Part::Context]
        }
    );
    assert!(refused.to_string().contains("suspicious"), "{refused}");
    // Going back to the first content does not make it trustworthy again.
    assert_eq!(seen.record(&shown), Sighting::Changed(vec![Part::Context]));
    assert!(seen.to_sign(shown.id).is_err());
    // What was shown is still there, for the history or a warning.
    assert_eq!(seen.shown(shown.id), Some(&shown));
}

#[test]
fn every_signed_or_shown_part_counts_as_a_change() {
    let shown = transfer();
    let changes: [(Part, Change); 6] = [
        (Part::Nonce, |c| c.nonce = "other".into()),
        (Part::User, |c| {
            c.user_id = "mallory".parse::<UserId>().unwrap();
        }),
        (Part::Tenant, |c| {
            c.tenant_id = "evil-bank".parse::<TenantId>().unwrap();
        }),
        (Part::TenantName, |c| {
            c.tenant_name = "Acme Bank (new)".into();
        }),
        (Part::Kind, |c| c.kind = ChallengeKind::Admin),
        (Part::NumberMatching, |c| c.number_matching = true),
    ];
    for (part, change) in changes {
        let mut seen = ShownChallenges::default();
        seen.record(&shown);
        let mut later = shown.clone();
        change(&mut later);
        assert_eq!(
            seen.record(&later),
            Sighting::Changed(vec![part]),
            "{part:?}"
        );
        assert!(seen.to_sign(shown.id).is_err(), "{part:?}");
        assert_ne!(Fingerprint::of(&later), Fingerprint::of(&shown), "{part:?}");
    }
}

#[test]
fn a_challenge_never_shown_is_refused() {
    let seen = ShownChallenges::default();
    let id = ChallengeId::new();
    assert_eq!(seen.to_sign(id).unwrap_err(), ShownError::NotShown { id });
}

#[test]
fn the_oldest_shown_challenge_is_forgotten_first() {
    let mut seen = ShownChallenges::with_limit(2);
    let (a, b, c) = (transfer(), transfer(), transfer());
    for challenge in [&a, &b, &c] {
        seen.record(challenge);
    }
    assert!(matches!(
        seen.to_sign(a.id),
        Err(ShownError::NotShown { .. })
    ));
    assert!(seen.to_sign(b.id).is_ok() && seen.to_sign(c.id).is_ok());
    seen.clear();
    assert!(seen.to_sign(c.id).is_err());
}

#[test]
fn fingerprint_ignores_the_status_and_reads_back() {
    let shown = transfer();
    let mut later = shown.clone();
    later.status = ChallengeStatus::Cancelled;
    let fingerprint = Fingerprint::of(&shown);
    assert_eq!(Fingerprint::of(&later), fingerprint);
    assert_eq!(
        Fingerprint::from_b64(&fingerprint.to_b64()),
        Some(fingerprint)
    );
    assert_eq!(Fingerprint::from_b64("short"), None);
}

#[test]
fn the_log_lets_a_later_process_sign_only_what_was_printed() {
    let home = tempfile::tempdir().unwrap();
    let shown = transfer();
    let never = transfer();
    let mut log = ShownLog::open(home.path()).unwrap();
    assert_eq!(log.record(&shown, NOW), Sighting::First);
    log.save(NOW).unwrap();

    // `approve` runs as another process.
    let mut log = ShownLog::open(home.path()).unwrap();
    assert!(log.contains(shown.id));
    let mut moved_on = shown.clone();
    moved_on.status = ChallengeStatus::Approved;
    assert_eq!(log.check(&moved_on), Ok(()));
    assert_eq!(
        log.check(&never),
        Err(ShownError::NotShown { id: never.id })
    );
    assert!(matches!(
        log.check(&with_other_payee(&shown)),
        Err(ShownError::Changed { .. })
    ));
    log.save(NOW).unwrap();

    // Changed for good: the original content does not pass any more, and printing
    // again says so.
    let mut log = ShownLog::open(home.path()).unwrap();
    assert!(matches!(log.check(&shown), Err(ShownError::Changed { .. })));
    assert_eq!(log.record(&shown, NOW), Sighting::Changed(Vec::new()));
}

#[test]
fn the_log_keeps_fingerprints_only_in_a_private_file_and_drops_old_ones() {
    let home = tempfile::tempdir().unwrap();
    let (old, recent) = (transfer(), transfer());
    let mut log = ShownLog::open(home.path()).unwrap();
    log.record(&old, NOW - 2 * 24 * 3600);
    log.record(&recent, NOW);
    log.save(NOW).unwrap();
    let path = home.path().join(ShownLog::FILE_NAME);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        !text.contains("1250000") && !text.contains("ヤマダ"),
        "{text}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let log = ShownLog::open(home.path()).unwrap();
    assert!(log.contains(recent.id) && !log.contains(old.id));
}

#[test]
fn a_damaged_log_is_an_error_not_an_empty_record() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join(ShownLog::FILE_NAME), b"{oops").unwrap();
    let err = ShownLog::open(home.path()).unwrap_err();
    assert!(err.to_string().contains("delete it"), "{err}");
}
