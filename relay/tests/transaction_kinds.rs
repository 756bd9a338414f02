//! Transaction types over HTTP (R2): each type is accepted, reaches the phone with
//! its `type`, takes number matching and is approved; each missing or malformed
//! required field is refused with a 400 that names it, and creates nothing.

use crate::common;

use common::{Bank, TestDevice};
use onepush_protocol::TransactionType;
use onepush_protocol::api::{BankChallenge, ChallengeCreated, UserBinding};
use onepush_protocol::{ChallengeStatus, Context, DecisionVerdict};
use onepush_relay::testing::{TestRelay, spawn_relay};
use serde_json::{Value, json};

async fn enrolled(dir: &std::path::Path) -> (TestRelay, Bank, TestDevice) {
    let relay = spawn_relay(dir).await;
    let bank = Bank::new(&relay.url, &relay.api_key);
    let device = TestDevice::provisioned(&relay.url, None).await;
    bank.enroll("alice", &device).await.json::<UserBinding>(201);
    (relay, bank, device)
}

fn create(context: &Value, number_matching: bool) -> Value {
    json!({ "user_id": "alice", "kind": "transaction", "context": context,
            "number_matching": number_matching })
}

/// Creates a challenge of `ty` with number matching; the phone sees the context
/// exactly, a wrong number is refused, the right one approves, and the bank reads
/// back the approval over the same context.
async fn approved_with_number_matching(ty: TransactionType) {
    let dir = tempfile::tempdir().unwrap();
    let (relay, bank, device) = enrolled(dir.path()).await;
    let mut context = ty.example();
    context["memo"] = json!("shown under other");
    let created: ChallengeCreated = bank
        .post("/v1/challenges", &create(&context, true))
        .await
        .json(201);
    let number = created
        .number
        .expect("number matching works for every type");
    let id = created.id.to_string();
    let seen = device.challenge(&id).await;
    assert_eq!(serde_json::to_value(&seen.context).unwrap(), context);
    assert_eq!(seen.context.str("type"), Some(ty.as_str()));
    assert!(seen.number_matching);
    let wrong = if number == 99 { 98 } else { number + 1 };
    device
        .answer(&id, DecisionVerdict::Approve, Some(wrong))
        .await
        .problem(422, "number-mismatch");
    device
        .answer(&id, DecisionVerdict::Approve, Some(number))
        .await
        .json::<Value>(200);
    let outcome: BankChallenge = bank.get(&format!("/v1/challenges/{id}")).await.json(200);
    assert_eq!(outcome.status, ChallengeStatus::Approved);
    let expected = Context::from_value(context).unwrap();
    assert_eq!(outcome.context, expected);
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_transfer_is_approved_with_number_matching() {
    approved_with_number_matching(TransactionType::Transfer).await;
}

#[tokio::test]
async fn a_bulk_transfer_is_approved_with_number_matching() {
    approved_with_number_matching(TransactionType::BulkTransfer).await;
}

#[tokio::test]
async fn a_payroll_transfer_is_approved_with_number_matching() {
    approved_with_number_matching(TransactionType::PayrollTransfer).await;
}

#[tokio::test]
async fn a_tax_payment_is_approved_with_number_matching() {
    approved_with_number_matching(TransactionType::TaxPayment).await;
}

#[tokio::test]
async fn a_direct_debit_is_approved_with_number_matching() {
    approved_with_number_matching(TransactionType::DirectDebit).await;
}

#[tokio::test]
async fn a_settings_change_is_approved_with_number_matching() {
    approved_with_number_matching(TransactionType::SettingsChange).await;
}

#[tokio::test]
async fn a_transfer_without_type_is_still_accepted_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, bank, device) = enrolled(dir.path()).await;
    let mut context = TransactionType::Transfer.example();
    context.as_object_mut().unwrap().remove("type");
    let created: ChallengeCreated = bank
        .post("/v1/challenges", &create(&context, false))
        .await
        .json(201);
    let seen = device.challenge(&created.id.to_string()).await;
    assert_eq!(seen.context.str("type"), None, "the relay adds nothing");
    relay.shutdown().await.unwrap();
}

/// A value of the wrong shape for each required field.
fn malformed(field: &str) -> Value {
    match field {
        "count" => json!("12"),
        "amount" | "total" => json!("1,000"),
        "currency" => json!("yen"),
        "payment_date" | "debit_date" => json!("2025/04/25"),
        "payee_institution_number" | "customer_number" | "confirmation_number" => json!("12A4"),
        "old_value" | "new_value" => json!(5),
        _ => json!(""),
    }
}

#[tokio::test]
async fn every_missing_or_malformed_field_is_refused_by_name_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, bank, device) = enrolled(dir.path()).await;
    for ty in TransactionType::ALL {
        for &(field, _) in ty.fields() {
            let mut missing = ty.example();
            missing.as_object_mut().unwrap().remove(field);
            let p = bank
                .post("/v1/challenges", &create(&missing, false))
                .await
                .problem(400, "invalid-request");
            assert!(
                p.detail.contains(&format!("`{field}`")) && p.detail.contains(ty.as_str()),
                "{ty} without {field}: {}",
                p.detail
            );
            let mut bad = ty.example();
            bad[field] = malformed(field);
            let p = bank
                .post("/v1/challenges", &create(&bad, true))
                .await
                .problem(400, "invalid-request");
            assert!(
                p.detail.contains(&format!("context field `{field}`")),
                "{ty} with a malformed {field}: {}",
                p.detail
            );
        }
    }
    let mut unknown = TransactionType::Transfer.example();
    unknown["type"] = json!("refund");
    let p = bank
        .post("/v1/challenges", &create(&unknown, false))
        .await
        .problem(400, "invalid-request");
    assert!(p.detail.contains("`type`"), "{}", p.detail);
    let pending: Value = device
        .send("GET", "/v1/device/challenges", None)
        .await
        .json(200);
    assert_eq!(pending["challenges"], json!([]), "nothing was created");
    relay.shutdown().await.unwrap();
}

#[test]
fn openapi_shows_a_valid_example_request_per_kind_and_type() {
    let doc = serde_json::to_value(onepush_relay::http::openapi()).unwrap();
    let examples = &doc["paths"]["/v1/challenges"]["post"]["requestBody"]["content"]["application/json"]
        ["examples"];
    for ty in TransactionType::ALL {
        let example = &examples[ty.as_str()]["value"];
        assert_eq!(example["kind"], "transaction", "{ty}: {examples}");
        let context = Context::from_value(example["context"].clone()).unwrap();
        assert_eq!(
            onepush_protocol::transaction::check_context(
                onepush_protocol::ChallengeKind::Transaction,
                &context
            ),
            Ok(()),
            "{ty}"
        );
    }
    for kind in ["login", "admin"] {
        assert_eq!(examples[kind]["value"]["kind"], kind, "{examples}");
    }
    let description = doc["paths"]["/v1/challenges"]["post"]["description"]
        .as_str()
        .unwrap();
    for ty in TransactionType::ALL {
        assert!(description.contains(&format!("`{ty}`")), "{ty}");
    }
}
