//! Tests of the payment forms: each becomes a context the relay accepts, and bad
//! input is refused with a message that says what is wrong.

use onepush_protocol::{ChallengeKind, Context};
use time::macros::date;

use super::*;

const TODAY: Date = date!(2026 - 12 - 06);

fn form(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    let mut map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    map.entry("approval_password".to_owned())
        .or_insert_with(|| "x".to_owned());
    map
}

fn good(tx: TransactionType) -> HashMap<String, String> {
    match tx {
        TransactionType::BulkTransfer => form(&[("lines", "A,B,120000\nC,D,80,000\n")]),
        TransactionType::PayrollTransfer => form(&[
            ("payment_date", "2026-12-25"),
            ("lines", "A,B,300000\nC,D,250000\nE,F,1\n"),
        ]),
        TransactionType::TaxPayment => form(&[
            ("payee_institution_number", "00100"),
            ("customer_number", "12345678901234567890"),
            ("confirmation_number", "123456"),
            ("amount", "350,000"),
        ]),
        TransactionType::DirectDebit => form(&[
            ("creditor", "東京電力エナジーパートナー"),
            ("amount", "15800"),
            ("debit_date", "2026-12-06"),
        ]),
        TransactionType::SettingsChange => form(&[("new_email", "new@example.co.jp")]),
        TransactionType::Transfer => form(&[]),
    }
}

#[test]
fn every_screen_makes_a_context_the_relay_accepts() {
    for s in &SCREENS {
        let p = prepare(
            s,
            &good(s.tx),
            TODAY,
            "old@example.co.jp",
            "SOGO-20261206-AB12",
        )
        .unwrap_or_else(|e| panic!("{}: {e}", s.tx));
        let context = Context::from_value(p.context.clone()).unwrap();
        assert_eq!(
            onepush_protocol::transaction::check_context(ChallengeKind::Transaction, &context),
            Ok(()),
            "{}",
            s.tx
        );
        assert_eq!(context.str("type"), Some(s.tx.as_str()));
        assert!(!p.summary.is_empty());
        assert_eq!(screen(s.tx.as_str()).map(|x| x.tx), Some(s.tx));
    }
}

#[test]
fn lines_give_the_count_and_the_exact_total() {
    let s = screen("payroll_transfer").unwrap();
    let p = prepare(s, &good(s.tx), TODAY, "", "").unwrap();
    assert_eq!(p.context["count"], 3);
    assert_eq!(p.context["total"], "550001");
    assert_eq!(p.context["payment_date"], "2026-12-25");
    assert!(
        p.summary.contains("3件") && p.summary.contains("¥550,001"),
        "{}",
        p.summary
    );
    let s = screen("bulk_transfer").unwrap();
    let p = prepare(s, &good(s.tx), TODAY, "", "SOGO-1").unwrap();
    assert_eq!(p.context["batch_id"], "SOGO-1");
    assert_eq!(p.context["total"], "200000");
}

#[test]
fn the_settings_change_shows_old_and_new_and_applies_the_new() {
    let s = screen("settings_change").unwrap();
    let p = prepare(s, &good(s.tx), TODAY, "old@example.co.jp", "").unwrap();
    assert_eq!(p.context["old_value"], "old@example.co.jp");
    assert_eq!(p.context["new_value"], "new@example.co.jp");
    assert_eq!(p.new_email.as_deref(), Some("new@example.co.jp"));
    let same = form(&[("new_email", "old@example.co.jp")]);
    assert!(
        prepare(s, &same, TODAY, "old@example.co.jp", "")
            .unwrap_err()
            .contains("current")
    );
    for bad in ["", "no-at-sign", "a@b", "a b@example.jp"] {
        assert!(
            prepare(s, &form(&[("new_email", bad)]), TODAY, "", "").is_err(),
            "{bad}"
        );
    }
}

#[test]
fn bad_forms_say_what_is_wrong() {
    let check = |slug: &str, change: (&str, &str), needle: &str| {
        let s = screen(slug).unwrap();
        let mut f = good(s.tx);
        f.insert(change.0.to_owned(), change.1.to_owned());
        let err = prepare(s, &f, TODAY, "", "").unwrap_err();
        assert!(err.contains(needle), "{slug} {change:?}: {err}");
    };
    check("bulk_transfer", ("lines", ""), "at least one");
    check("bulk_transfer", ("lines", "A,B\n"), "line 1");
    check("bulk_transfer", ("lines", "A,B,1\nC,,5\n"), "line 2");
    check("bulk_transfer", ("lines", "A,B,0\n"), "between");
    check(
        "payroll_transfer",
        ("payment_date", "2026-12-05"),
        "today or later",
    );
    check("payroll_transfer", ("payment_date", "12/25"), "YYYY-MM-DD");
    check(
        "tax_payment",
        ("payee_institution_number", "0010"),
        "5 digits",
    );
    check(
        "tax_payment",
        ("customer_number", "12-34"),
        "1 to 20 digits",
    );
    check("tax_payment", ("confirmation_number", ""), "1 to 16 digits");
    check("tax_payment", ("amount", "1.5"), "digits");
    check("direct_debit", ("creditor", " "), "creditor");
    check("direct_debit", ("amount", "200000000"), "between");
    check(
        "direct_debit",
        ("approval_password", ""),
        "approval password",
    );
    assert!(
        screen("transfer").is_none(),
        "the single transfer has its own page"
    );
    assert!(screen("refund").is_none());
}
