//! How the CLI shows things to a person: challenges (what is approved, exactly as the
//! bank posted it), accounts, history. JSON output uses the API types directly.

use std::fmt::Write as _;

use onepush_device::HistoryEntry;
use onepush_protocol::api::{DeviceAccount, DeviceChallenge};
use onepush_protocol::{ChallengeKind, Context, DecisionVerdict, DenyReason, TransactionType};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Context fields with a label of their own, in display order; every other field is
/// shown after them under its own name. A transaction's `type` comes first; money
/// (`amount`, `total`) is shown exactly as posted, followed by its currency.
const LABELS: &[(&str, &str)] = &[
    ("type", "type"),
    ("operation", "operation"),
    ("target_user_id", "target user"),
    ("amount", "amount"),
    ("total", "total"),
    ("payee_name", "payee"),
    ("payee_account", "payee account"),
    ("count", "count"),
    ("batch_id", "file/batch ID"),
    ("payment_date", "payment date"),
    ("payee_institution_number", "payee institution no."),
    ("customer_number", "customer no."),
    ("confirmation_number", "confirmation no."),
    ("creditor", "creditor"),
    ("debit_date", "debit date"),
    ("setting", "setting"),
    ("old_value", "old value"),
    ("new_value", "new value"),
    ("ip", "IP address"),
    ("user_agent", "browser"),
    ("location", "place"),
    ("time", "time"),
];

/// Fields followed by the context's currency.
const MONEY: &[&str] = &["amount", "total"];

/// A context value as text: strings as they are, anything else as compact JSON.
fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The context's fields as `(label, value)` rows, money with its currency.
pub fn context_rows(context: &Context) -> Vec<(String, String)> {
    let fields = context.fields();
    let has_money = MONEY.iter().any(|k| fields.contains_key(*k));
    let mut rows = Vec::new();
    for (key, label) in LABELS {
        let Some(value) = fields.get(*key) else {
            continue;
        };
        let mut text = match (*key, value) {
            // `bulk_transfer` → `bulk transfer`; an unknown type stays as sent.
            ("type", Value::String(name)) => match name.parse::<TransactionType>() {
                Ok(ty) => ty.as_str().replace('_', " "),
                Err(_) => name.clone(),
            },
            _ => value_text(value),
        };
        if let (true, Some(currency)) = (MONEY.contains(key), fields.get("currency")) {
            let _ = write!(text, " {}", value_text(currency));
        }
        rows.push(((*label).to_owned(), text));
    }
    for (key, value) in fields {
        let labelled = LABELS.iter().any(|(k, _)| k == key);
        let currency_shown = key == "currency" && has_money;
        if !labelled && !currency_shown {
            rows.push((key.clone(), value_text(value)));
        }
    }
    rows
}

/// What kind of approval, in words.
pub fn kind_text(kind: ChallengeKind) -> &'static str {
    match kind {
        ChallengeKind::Login => "login",
        ChallengeKind::Transaction => "transaction",
        ChallengeKind::Admin => "admin operation",
    }
}

/// Seconds until `at`, never negative.
pub fn seconds_until(at: OffsetDateTime, now: i64) -> i64 {
    (at.unix_timestamp() - now).max(0)
}

/// The prompt screen as text: kind, bank, user, every context field, number entry.
pub fn challenge_card(challenge: &DeviceChallenge, now: i64) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} approval requested", kind_text(challenge.kind));
    let _ = writeln!(out, "  challenge:   {}", challenge.id);
    let _ = writeln!(
        out,
        "  bank:        {} ({})",
        challenge.tenant_name, challenge.tenant_id
    );
    let _ = writeln!(out, "  user:        {}", challenge.user_id);
    for (label, value) in context_rows(&challenge.context) {
        let _ = writeln!(out, "  {:<12} {value}", format!("{label}:"));
    }
    let _ = writeln!(out, "  requested:   {}", rfc3339(challenge.created_at));
    if challenge.number_matching {
        let _ = writeln!(
            out,
            "  number:      type the number shown on the bank's page"
        );
    }
    let _ = write!(out, "  status:      {}", challenge.status);
    if challenge.status.is_terminal() {
        out.push('\n');
    } else {
        let _ = writeln!(
            out,
            " ({} s left)",
            seconds_until(challenge.expires_at, now)
        );
    }
    out
}

/// One line for a challenge: id, kind, bank, user and the context.
pub fn challenge_line(challenge: &DeviceChallenge) -> String {
    let fields: Vec<String> = context_rows(&challenge.context)
        .into_iter()
        .map(|(label, value)| format!("{label}={}", quote(&value)))
        .collect();
    let mut line = format!(
        "{} {} {} ({}) user={} {}",
        challenge.id,
        challenge.kind,
        quote(&challenge.tenant_name),
        challenge.tenant_id,
        challenge.user_id,
        fields.join(" ")
    );
    if challenge.number_matching {
        line.push_str(" number-matching");
    }
    line
}

/// Quotes text with spaces or quotes in it, so a line stays readable and splittable.
fn quote(text: &str) -> String {
    if text.is_empty() || text.contains([' ', '"', '=', '\t']) {
        format!("{text:?}")
    } else {
        text.to_owned()
    }
}

/// One line for an account.
pub fn account_line(account: &DeviceAccount) -> String {
    format!(
        "{} ({})  user={}  {}  enrolled {}",
        quote(&account.tenant_name),
        account.tenant_id,
        account.user_id,
        serde_json::to_value(account.state)
            .map(|v| value_text(&v))
            .unwrap_or_default(),
        rfc3339(account.enrolled_at)
    )
}

/// The verdict in words.
pub fn verdict_text(verdict: DecisionVerdict, reason: Option<DenyReason>) -> &'static str {
    match (verdict, reason) {
        (DecisionVerdict::Approve, _) => "approved",
        (DecisionVerdict::Deny, Some(DenyReason::NotMe)) => "denied (not me)",
        (DecisionVerdict::Deny, _) => "denied",
    }
}

/// One line for a history entry.
pub fn history_line(entry: &HistoryEntry) -> String {
    let at = OffsetDateTime::from_unix_timestamp(entry.answered_at)
        .map(rfc3339)
        .unwrap_or_default();
    format!(
        "{at}  {}  {} {} ({}) user={}  → {} [{}]",
        entry.challenge_id,
        entry.kind,
        quote(&entry.tenant_name),
        entry.tenant_id,
        entry.user_id,
        verdict_text(entry.verdict, entry.reason),
        entry.status
    )
}

/// RFC 3339 text of a time.
pub fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn transaction_shows_every_field_exactly_as_posted() {
        let context = Context::from_value(json!({
            "amount": "1250000", "currency": "JPY", "payee_name": "ヤマダ タロウ",
            "payee_account": "0001-123-4567890", "memo": "給与 6月", "count": 3,
        }))
        .unwrap();
        let rows = context_rows(&context);
        assert_eq!(
            rows,
            vec![
                ("amount".to_owned(), "1250000 JPY".to_owned()),
                ("payee".to_owned(), "ヤマダ タロウ".to_owned()),
                ("payee account".to_owned(), "0001-123-4567890".to_owned()),
                ("count".to_owned(), "3".to_owned()),
                ("memo".to_owned(), "給与 6月".to_owned()),
            ]
        );
    }

    #[test]
    fn every_transaction_type_shows_its_fields_labelled_and_money_with_currency() {
        let cases: [(TransactionType, &[(&str, &str)]); 6] = [
            (
                TransactionType::Transfer,
                &[
                    ("type", "transfer"),
                    ("amount", "1234567 JPY"),
                    ("payee", "カ）ヤマダショウジ"),
                ],
            ),
            (
                TransactionType::BulkTransfer,
                &[
                    ("type", "bulk transfer"),
                    ("total", "45678900 JPY"),
                    ("count", "120"),
                    ("file/batch ID", "SOGO-20250401-0001"),
                ],
            ),
            (
                TransactionType::PayrollTransfer,
                &[
                    ("type", "payroll transfer"),
                    ("total", "9876543 JPY"),
                    ("count", "35"),
                    ("payment date", "2025-04-25"),
                ],
            ),
            (
                TransactionType::TaxPayment,
                &[
                    ("type", "tax payment"),
                    ("amount", "350000 JPY"),
                    ("payee institution no.", "00100"),
                    ("customer no.", "12345678901234567890"),
                    ("confirmation no.", "123456"),
                ],
            ),
            (
                TransactionType::DirectDebit,
                &[
                    ("type", "direct debit"),
                    ("amount", "15800 JPY"),
                    ("creditor", "東京電力エナジーパートナー"),
                    ("debit date", "2025-04-27"),
                ],
            ),
            (
                TransactionType::SettingsChange,
                &[
                    ("type", "settings change"),
                    ("setting", "1日あたりの振込限度額"),
                    ("old value", "1,000,000円"),
                    ("new value", "5,000,000円"),
                ],
            ),
        ];
        for (ty, want) in cases {
            let mut value = ty.example();
            value["memo"] = json!("4月分");
            let rows = context_rows(&Context::from_value(value).unwrap());
            for (label, text) in want {
                assert!(
                    rows.contains(&((*label).to_owned(), (*text).to_owned())),
                    "{ty}: {label} = {text} in {rows:?}"
                );
            }
            assert_eq!(rows.first().map(|(l, _)| l.as_str()), Some("type"), "{ty}");
            assert_eq!(
                rows.last(),
                Some(&("memo".to_owned(), "4月分".to_owned())),
                "{ty}"
            );
            assert!(
                !rows.iter().any(|(l, _)| l == "currency"),
                "{ty}: currency is with the money"
            );
        }
    }

    #[test]
    fn login_shows_address_browser_and_place() {
        let context = Context::from_value(json!({
            "ip": "203.0.113.7", "user_agent": "Firefox 140", "location": "Tokyo, JP",
        }))
        .unwrap();
        let labels: Vec<String> = context_rows(&context).into_iter().map(|(l, _)| l).collect();
        assert_eq!(labels, ["IP address", "browser", "place"]);
    }

    #[test]
    fn values_with_spaces_are_quoted_in_lines() {
        assert_eq!(quote("Firefox 140"), "\"Firefox 140\"");
        assert_eq!(quote("203.0.113.7"), "203.0.113.7");
        assert_eq!(quote(""), "\"\"");
    }
}
