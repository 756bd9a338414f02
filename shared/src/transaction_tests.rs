//! Tests of the per-kind and per-type context rules.

use serde_json::{Value, json};

use super::*;

fn ctx(value: Value) -> Context {
    Context::from_value(value).unwrap()
}

/// A valid context of each transaction type, with one extra field shown under "other".
fn example(ty: TransactionType) -> Value {
    let mut v = ty.example();
    v["memo"] = Value::from("4月分");
    v
}

/// A value of the wrong shape for each kind of field.
fn malformed(shape: FieldShape) -> Value {
    match shape {
        FieldShape::Text => json!("   "),
        FieldShape::AnyText => json!(12),
        FieldShape::Money => json!("1,000"),
        FieldShape::Currency => json!("yen"),
        FieldShape::Count => json!("12"),
        FieldShape::Date => json!("2025/04/25"),
        FieldShape::Digits(_) | FieldShape::DigitsUpTo(_) => json!("12A45"),
    }
}

#[test]
fn every_type_accepts_its_example() {
    for ty in TransactionType::ALL {
        assert_eq!(
            check_context(ChallengeKind::Transaction, &ctx(example(ty))),
            Ok(()),
            "{ty}"
        );
        assert_eq!(TransactionType::of(&ctx(example(ty))), Ok(ty));
    }
}

#[test]
fn every_missing_field_of_every_type_is_named() {
    for ty in TransactionType::ALL {
        for &(field, _) in ty.fields() {
            let mut v = example(ty);
            v.as_object_mut().unwrap().remove(field);
            let err = check_context(ChallengeKind::Transaction, &ctx(v)).unwrap_err();
            assert!(
                matches!(err, ContextFieldError::Missing { field: f, .. } if f == field),
                "{ty} without {field}: {err}"
            );
            let detail = err.to_string();
            assert!(detail.contains(&format!("`{field}`")), "{detail}");
            assert!(detail.contains(ty.as_str()), "{detail}");
        }
    }
}

#[test]
fn every_malformed_field_of_every_type_is_named() {
    for ty in TransactionType::ALL {
        for &(field, shape) in ty.fields() {
            let mut v = example(ty);
            v[field] = malformed(shape);
            let err = check_context(ChallengeKind::Transaction, &ctx(v)).unwrap_err();
            assert_eq!(err.field(), field, "{ty} {field}: {err}");
            assert!(
                matches!(err, ContextFieldError::Malformed { .. }),
                "{ty} {field}: {err}"
            );
            assert!(err.to_string().contains(&shape.describe()), "{err}");
        }
    }
}

#[test]
fn a_context_without_type_is_a_transfer() {
    let mut v = example(TransactionType::Transfer);
    v.as_object_mut().unwrap().remove("type");
    let c = ctx(v);
    assert_eq!(TransactionType::of(&c), Ok(TransactionType::Transfer));
    assert_eq!(check_context(ChallengeKind::Transaction, &c), Ok(()));
    // ...so a bulk transfer without its type is checked, and refused, as a transfer.
    let mut bulk = example(TransactionType::BulkTransfer);
    bulk.as_object_mut().unwrap().remove("type");
    let err = check_context(ChallengeKind::Transaction, &ctx(bulk)).unwrap_err();
    assert_eq!(err.field(), "amount", "{err}");
}

#[test]
fn an_unknown_or_non_string_type_is_refused_naming_type() {
    for bad in [json!("refund"), json!(""), json!(3), json!(["transfer"])] {
        let mut v = example(TransactionType::Transfer);
        v["type"] = bad.clone();
        let err = check_context(ChallengeKind::Transaction, &ctx(v)).unwrap_err();
        assert!(
            matches!(err, ContextFieldError::UnknownType(_)),
            "{bad}: {err}"
        );
        assert_eq!(err.field(), "type");
        assert!(err.to_string().contains("bulk_transfer"), "{err}");
    }
}

#[test]
fn login_and_admin_need_their_fields_as_non_empty_strings() {
    let login = json!({"ip": "203.0.113.7", "user_agent": "Firefox"});
    assert_eq!(check_context(ChallengeKind::Login, &ctx(login)), Ok(()));
    let err = check_context(ChallengeKind::Login, &ctx(json!({"ip": "203.0.113.7"}))).unwrap_err();
    assert_eq!(err.field(), "user_agent");
    assert!(err.to_string().contains("login challenge"), "{err}");
    let err = check_context(
        ChallengeKind::Admin,
        &ctx(json!({"operation": "unlock", "target_user_id": ""})),
    )
    .unwrap_err();
    assert_eq!(err.field(), "target_user_id");
    // A `type` field means nothing to a login: it is just another field.
    let login = json!({"ip": "203.0.113.7", "user_agent": "Firefox", "type": "refund"});
    assert_eq!(check_context(ChallengeKind::Login, &ctx(login)), Ok(()));
}

#[test]
fn money_is_an_exact_decimal_string_within_the_currency_s_digits() {
    for ok in ["0", "1", "1234567", "999999999999999999"] {
        assert!(is_money(ok, 0), "{ok}");
    }
    for ok in ["1234.5", "1234.50", "0.01"] {
        assert!(is_money(ok, 2), "{ok}");
    }
    for bad in [
        "",
        "-5",
        "+5",
        "01",
        "1,000",
        "1e3",
        "1.",
        ".5",
        " 5",
        "5 ",
        "١٢",
        "1.234",
        "1000000000000000000",
    ] {
        assert!(!is_money(bad, 2), "{bad:?}");
    }
    assert!(!is_money("1000.5", 0), "yen has no fraction");
    let mut usd = example(TransactionType::Transfer);
    usd["currency"] = json!("USD");
    usd["amount"] = json!("1234567.89");
    assert_eq!(check_context(ChallengeKind::Transaction, &ctx(usd)), Ok(()));
    let mut yen = example(TransactionType::Transfer);
    yen["amount"] = json!("1000.50");
    let err = check_context(ChallengeKind::Transaction, &ctx(yen)).unwrap_err();
    assert_eq!(err.field(), "amount");
    let mut float = example(TransactionType::Transfer);
    float["amount"] = json!(1000);
    assert_eq!(
        check_context(ChallengeKind::Transaction, &ctx(float))
            .unwrap_err()
            .field(),
        "amount"
    );
    assert_eq!(minor_units("JPY"), 0);
    assert_eq!(minor_units("KWD"), 3);
    assert_eq!(minor_units("EUR"), 2);
}

#[test]
fn counts_are_positive_json_integers() {
    for (count, ok) in [
        (json!(1), true),
        (json!(120), true),
        (json!(0), false),
        (json!(-3), false),
        (json!("3"), false),
        (json!(true), false),
    ] {
        let mut v = example(TransactionType::BulkTransfer);
        v["count"] = count.clone();
        assert_eq!(
            check_context(ChallengeKind::Transaction, &ctx(v)).is_ok(),
            ok,
            "{count}"
        );
    }
}

#[test]
fn dates_are_iso_8601_calendar_days_that_exist() {
    for ok in ["2025-04-25", "2024-02-29", "2025-12-31"] {
        assert!(is_date(ok), "{ok}");
    }
    for bad in [
        "2025-02-29",
        "2025-4-25",
        "2025/04/25",
        "20250425",
        "2025-04-25T00:00:00Z",
        "+202-04-25",
        "2025-13-01",
        "",
    ] {
        assert!(!is_date(bad), "{bad:?}");
    }
}

#[test]
fn pay_easy_numbers_are_digits_of_the_scheme_s_lengths() {
    let check = |field: &str, value: &str| {
        let mut v = example(TransactionType::TaxPayment);
        v[field] = json!(value);
        check_context(ChallengeKind::Transaction, &ctx(v))
    };
    assert!(check("payee_institution_number", "0010").is_err());
    assert!(check("payee_institution_number", "001000").is_err());
    assert!(check("customer_number", "123456789012345678901").is_err());
    assert!(check("customer_number", "1").is_ok());
    assert!(check("confirmation_number", "12345678901234567").is_err());
    assert!(check("confirmation_number", "").is_err());
}

#[test]
fn a_settings_change_may_go_from_or_to_an_empty_value() {
    let mut v = example(TransactionType::SettingsChange);
    v["old_value"] = json!("");
    assert_eq!(check_context(ChallengeKind::Transaction, &ctx(v)), Ok(()));
}

#[test]
fn long_values_are_cut_in_the_detail() {
    let mut v = example(TransactionType::Transfer);
    v["amount"] = json!("9".repeat(200));
    let detail = check_context(ChallengeKind::Transaction, &ctx(v))
        .unwrap_err()
        .to_string();
    assert!(detail.len() < 400, "{detail}");
    assert!(detail.contains('…'));
}

#[test]
fn type_names_round_trip() {
    for ty in TransactionType::ALL {
        assert_eq!(ty.as_str().parse::<TransactionType>(), Ok(ty));
    }
    assert!("refund".parse::<TransactionType>().is_err());
}
