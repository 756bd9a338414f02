//! Criterion micro-benchmarks of the primitives a lifecycle costs the relay: decision
//! and proof verification (`ring`), Web Push encryption (the `web-push` crate's message
//! builder, and `onepush_protocol::webpush::encrypt`, which the relay sends with),
//! VAPID JWT signing, TOTP verification,
//! the context digest, and SQLite writes through the relay's own `Store`, through sqlx
//! directly (one pool call; grouped in one transaction) and through `rusqlite` on the
//! calling thread.

use std::hint::black_box;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use onepush_protocol::api::{BindingState, DeviceChallenge, PushPayload, TokenKind};
use onepush_protocol::jws::{DecisionClaims, sign_decision, verify_decision};
use onepush_protocol::proof::{ProofCheck, ProofSigner, sign_proof, verify_proof};
use onepush_protocol::totp::{self, TotpSecret};
use onepush_protocol::webpush::{PUSH_MESSAGE_LEN, Padding, PushReceiverKeys, encrypt};
use onepush_protocol::{
    ChallengeId, ChallengeKind, ChallengeStatus, Context, CredentialId, DecisionVerdict, DeviceKey,
};
use onepush_relay::store::{
    BindingRecord, ChallengeRecord, CredentialRecord, NewAudit, Store, StoreOptions, TenantRecord,
};
use web_push::{
    ContentEncoding, SubscriptionInfo, Urgency, VapidSignatureBuilder, WebPushMessageBuilder,
};

fn context() -> Context {
    Context::from_value(serde_json::json!({
        "ip": "203.0.113.7",
        "user_agent": "Firefox 140 on Windows",
        "location": "Tokyo, JP",
    }))
    .expect("a login context")
}

fn claims(cid: &CredentialId) -> DecisionClaims {
    DecisionClaims {
        v: 1,
        chl: ChallengeId::new(),
        tnt: "bench-bank".parse().expect("tenant"),
        sub: "user-1".parse().expect("user"),
        cid: cid.clone(),
        knd: ChallengeKind::Login,
        ctx: context().digest_b64(),
        num: None,
        dec: DecisionVerdict::Approve,
        rsn: None,
        uv: true,
        iat: 1_700_000_000,
        nonce: "bm9uY2Vub25jZW5vbmNl".into(),
    }
}

fn crypto(c: &mut Criterion) {
    let key = DeviceKey::generate();
    let jwk = key.public_jwk();
    let cid = CredentialId::generate("ONEP").expect("credential id");
    let jws = sign_decision(&key, &claims(&cid));
    c.bench_function("decision_verify (jws::verify_decision, ring)", |b| {
        b.iter(|| verify_decision(black_box(&jws), &jwk, &cid).expect("valid"));
    });

    let url = "http://127.0.0.1:8420/v1/device/challenges/x/decision";
    let body = br#"{"jws":"..."}"#;
    let proof = sign_proof(
        &key,
        ProofSigner::Credential(&cid),
        "POST",
        url,
        body,
        1_700_000_000,
    );
    let check = ProofCheck {
        method: "POST",
        url,
        body,
        now: 1_700_000_000,
        max_skew: 60,
    };
    c.bench_function("proof_verify (proof::verify_proof, ring)", |b| {
        b.iter(|| verify_proof(black_box(&proof), &jwk, &check, |_, _| true).expect("valid"));
    });
    c.bench_function("decision_sign (device side, ring)", |b| {
        b.iter(|| sign_decision(&key, black_box(&claims(&cid))));
    });
    // The signature alone, over that JWS's signing input: ring (DeviceKey::sign) against
    // the p256 crate the device signed with before.
    let (signing_input, _) = jws.rsplit_once('.').expect("a compact JWS");
    c.bench_function("es256_sign (DeviceKey::sign, ring)", |b| {
        b.iter(|| key.sign(black_box(signing_input.as_bytes())));
    });
    let p256_key = p256::ecdsa::SigningKey::from_slice(key.to_bytes().as_ref()).expect("key");
    c.bench_function("es256_sign_p256 (p256 crate, the former signer)", |b| {
        b.iter(|| {
            let signature: p256::ecdsa::Signature = p256::ecdsa::signature::Signer::sign(
                &p256_key,
                black_box(signing_input.as_bytes()),
            );
            signature
        });
    });

    let ctx = context();
    c.bench_function("context_digest (RFC 8785 + SHA-256, base64url)", |b| {
        b.iter(|| black_box(&ctx).digest_b64());
    });

    let secret = TotpSecret::generate();
    let now = 1_700_000_000;
    let code = totp::code(&secret, now);
    c.bench_function("totp_verify (±1 step)", |b| {
        b.iter(|| totp::verify(&secret, black_box(&code), now, 0, 1, None).expect("valid"));
    });
}

fn web_push(c: &mut Criterion) {
    let receiver = PushReceiverKeys::generate();
    let sub = receiver.subscription("https://push.example.net/send/abc");
    let p256dh = receiver.public_key();
    let payload = PushPayload::challenge(ChallengeId::new()).to_plaintext();
    // What the relay sends: the challenge's details, padded to 2048 bytes.
    let carrying = PushPayload::plaintext_for(DeviceChallenge {
        id: ChallengeId::new(),
        tenant_id: "bench-bank".parse().expect("tenant"),
        tenant_name: "Bench Bank".into(),
        user_id: "user-1".parse().expect("user"),
        kind: ChallengeKind::Login,
        context: context(),
        number_matching: false,
        nonce: "bm9uY2Vub25jZW5vbmNl".into(),
        status: ChallengeStatus::Pending,
        created_at: time::OffsetDateTime::now_utc(),
        expires_at: time::OffsetDateTime::now_utc() + time::Duration::minutes(1),
    });

    let mut vapid_key = [0u8; 32];
    onepush_protocol::keys::fill_random(&mut vapid_key);
    // A valid scalar: any random 32 bytes below n (retry in the unlikely other case).
    while p256::SecretKey::from_slice(&vapid_key).is_err() {
        onepush_protocol::keys::fill_random(&mut vapid_key);
    }
    let partial = VapidSignatureBuilder::from_base64_no_sub(&URL_SAFE_NO_PAD.encode(vapid_key))
        .expect("VAPID key");
    let info = SubscriptionInfo::new(
        sub.endpoint.as_str(),
        sub.keys.p256dh.as_str(),
        sub.keys.auth.as_str(),
    );
    let sign_vapid = || {
        let mut builder = partial.clone().add_sub_info(&info);
        builder.add_claim("aud", "https://push.example.net");
        builder.add_claim("sub", "mailto:ops@onepush.invalid");
        builder.add_claim("exp", 1_900_000_000_u64);
        builder.build().expect("VAPID JWT")
    };
    c.bench_function("vapid_jwt_sign (web-push, ES256)", |b| b.iter(sign_vapid));

    let cached = sign_vapid();
    c.bench_function(
        "webpush_message (web-push 0.11 builder, cached VAPID JWT: the relay before aes128gcm)",
        |b| {
            b.iter(|| {
                let mut message = WebPushMessageBuilder::new(&info);
                message.set_ttl(60);
                message.set_urgency(Urgency::High);
                message.set_payload(ContentEncoding::Aes128Gcm, black_box(&payload));
                message.set_vapid_signature(cached.clone());
                message.build().expect("message")
            });
        },
    );
    let message = encrypt(
        &carrying,
        &p256dh,
        receiver.auth_secret(),
        Padding::ToLength(PUSH_MESSAGE_LEN),
    )
    .expect("encrypts");
    c.bench_function(
        "webpush_decrypt (PushReceiverKeys::decrypt, the phone's: p256 ECDH with its push key)",
        |b| b.iter(|| receiver.decrypt(black_box(&message)).expect("decrypts")),
    );
    c.bench_function(
        "webpush_encrypt (onepush_protocol::webpush::encrypt, the relay's: details carried, padded to 2048 bytes)",
        |b| {
            b.iter(|| {
                encrypt(
                    black_box(&carrying),
                    &p256dh,
                    receiver.auth_secret(),
                    Padding::ToLength(PUSH_MESSAGE_LEN),
                )
                .expect("encrypts")
            });
        },
    );
}

struct StoreFixture {
    store: Store,
    tenant: TenantRecord,
    credential: CredentialId,
    url: String,
    _dir: tempfile::TempDir,
}

async fn store_fixture() -> StoreFixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let backend = onepush_relay::store::open(&url, &StoreOptions::default())
        .await
        .expect("store opens");
    let store = backend;
    let tenant = TenantRecord {
        id: "bench-bank".parse().expect("tenant"),
        display_name: "Bench Bank".into(),
        webhook_url: None,
        webhook_secret: None,
        otp_lock_threshold: 5,
        push_fatigue_threshold: 5,
        push_fatigue_window_seconds: 900,
        created_at: 1_700_000_000,
    };
    store
        .insert_tenant(&tenant, &[7; 32])
        .await
        .expect("tenant");
    let credential = CredentialId::generate("ONEP").expect("credential id");
    store
        .insert_credential(&CredentialRecord {
            id: credential.clone(),
            jwk: DeviceKey::generate().public_jwk(),
            totp_secret_sealed: vec![0; 48],
            ocra_key_sealed: None,
            push_subscription: None,
            kind: TokenKind::Push,
            last_used_step: None,
            revoked_at: None,
            created_at: 1_700_000_000,
        })
        .await
        .expect("credential");
    store
        .insert_binding(
            &BindingRecord {
                tenant_id: tenant.id.clone(),
                user_id: "user-1".parse().expect("user"),
                credential_id: credential.clone(),
                kind: TokenKind::Push,
                state: BindingState::Active,
                lock_reason: None,
                grace_until: None,
                failures: 0,
                drift_steps: 0,
                enrolled_at: 1_700_000_000,
            },
            &NewAudit {
                tenant_id: Some(tenant.id.clone()),
                event: "binding.enrolled".into(),
                user_id: None,
                credential_id: Some(credential.clone()),
                challenge_id: None,
                detail: serde_json::json!({}),
            },
        )
        .await
        .expect("binding");
    StoreFixture {
        store,
        tenant,
        credential,
        url,
        _dir: dir,
    }
}

fn challenge(f: &StoreFixture) -> ChallengeRecord {
    ChallengeRecord {
        id: ChallengeId::new(),
        tenant_id: f.tenant.id.clone(),
        user_id: "user-1".parse().expect("user"),
        credential_id: f.credential.clone(),
        kind: ChallengeKind::Login,
        context: context(),
        number: None,
        nonce: "bm9uY2Vub25jZW5vbmNl".into(),
        status: ChallengeStatus::Pending,
        created_at: 1_700_000_000,
        expires_at: 4_000_000_000,
        decided_at: None,
        reached_device: false,
        decision: None,
    }
}

fn store(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let f = rt.block_on(store_fixture());
    c.bench_function("store_insert_challenge (relay Store, SQLite WAL)", |b| {
        b.to_async(&rt).iter(|| async {
            f.store
                .insert_challenge(&challenge(&f), None)
                .await
                .expect("insert");
        });
    });
    c.bench_function(
        "store_lifecycle_writes (insert + mark_reached + finish)",
        |b| {
            b.to_async(&rt).iter(|| async {
                let ch = challenge(&f);
                f.store.insert_challenge(&ch, None).await.expect("insert");
                f.store.mark_reached_device(&ch.id).await.expect("mark");
                f.store
                    .finish_challenge(&ch.id, ChallengeStatus::Approved, 1_700_000_001, None, None)
                    .await
                    .expect("finish");
            });
        },
    );
    let mut n = 0u64;
    c.bench_function("store_record_jti (proof replay guard)", |b| {
        b.to_async(&rt).iter(|| {
            n += 1;
            let jti = format!("jti-{n}");
            let store = f.store.clone();
            async move {
                store
                    .record_jti(&jti, 4_000_000_000, 1_700_000_000)
                    .await
                    .expect("record");
            }
        });
    });
}

/// The relay's SQLite pragmas (see `relay/src/store/sqlite`), on one connection; sqlx's
/// default `test_before_acquire` (a ping before each use) unless `ping` is false.
async fn direct_pool(url: &str, ping: bool) -> sqlx::SqlitePool {
    use std::str::FromStr as _;
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)
        .expect("url")
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
        .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true);
    sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .test_before_acquire(ping)
        .connect_with(options)
        .await
        .expect("pool")
}

/// The seven writes one lifecycle makes today (insert + audit, mark reached, two proof
/// `jti`s, finish + audit); `?1` = challenge ID, `?2` = credential ID.
const LIFECYCLE_WRITES: [&str; 7] = [
    "INSERT INTO challenges (id, tenant_id, user_id, credential_id, kind, context, nonce, status, created_at, expires_at) \
     VALUES (?1, 'bench-bank', 'user-1', ?2, 'login', '{}', 'n', 'pending', 1700000000, 4000000000)",
    "INSERT INTO audit_events (tenant_id, at, event, user_id, credential_id, challenge_id, detail) \
     VALUES ('bench-bank', 1700000000, 'challenge.created', 'user-1', ?2, ?1, '{}')",
    "UPDATE challenges SET reached_device = TRUE WHERE id = ?1 AND NOT reached_device AND ?2 IS NOT NULL",
    "INSERT INTO proof_jtis (jti, expires_at) VALUES (?1 || '-a', 4000000000 + length(?2))",
    "INSERT INTO proof_jtis (jti, expires_at) VALUES (?1 || '-b', 4000000000 + length(?2))",
    "UPDATE challenges SET status = 'approved', decided_at = 1700000001 WHERE id = ?1 AND status = 'pending' AND ?2 IS NOT NULL",
    "INSERT INTO audit_events (tenant_id, at, event, user_id, credential_id, challenge_id, detail) \
     VALUES ('bench-bank', 1700000001, 'challenge.approved', 'user-1', ?2, ?1, '{}')",
];

fn sqlite_direct(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let f = rt.block_on(store_fixture());
    let pool = rt.block_on(direct_pool(&f.url, true));
    let no_ping = rt.block_on(direct_pool(&f.url, false));
    let cid = f.credential.as_str().to_owned();
    c.bench_function("sqlx_roundtrip (SELECT 1: one pool call, no I/O)", |b| {
        b.to_async(&rt).iter(|| async {
            sqlx::query("SELECT 1")
                .execute(&pool)
                .await
                .expect("select");
        });
    });
    c.bench_function(
        "sqlx_roundtrip_no_ping (SELECT 1, test_before_acquire off)",
        |b| {
            b.to_async(&rt).iter(|| async {
                sqlx::query("SELECT 1")
                    .execute(&no_ping)
                    .await
                    .expect("select");
            });
        },
    );
    c.bench_function(
        "lifecycle_7_writes_separate_no_ping (7 autocommit calls)",
        |b| {
            b.to_async(&rt).iter(|| async {
                let id = ChallengeId::new().to_string();
                for sql in LIFECYCLE_WRITES {
                    sqlx::query(sql)
                        .bind(&id)
                        .bind(&cid)
                        .execute(&no_ping)
                        .await
                        .expect("write");
                }
            });
        },
    );
    c.bench_function("lifecycle_7_writes_separate (7 autocommit calls)", |b| {
        b.to_async(&rt).iter(|| async {
            let id = ChallengeId::new().to_string();
            for sql in LIFECYCLE_WRITES {
                sqlx::query(sql)
                    .bind(&id)
                    .bind(&cid)
                    .execute(&pool)
                    .await
                    .expect("write");
            }
        });
    });
    c.bench_function("lifecycle_7_writes_grouped (1 transaction)", |b| {
        b.to_async(&rt).iter(|| async {
            let id = ChallengeId::new().to_string();
            let mut tx = pool.begin().await.expect("begin");
            for sql in LIFECYCLE_WRITES {
                sqlx::query(sql)
                    .bind(&id)
                    .bind(&cid)
                    .execute(&mut *tx)
                    .await
                    .expect("write");
            }
            tx.commit().await.expect("commit");
        });
    });
}

/// The same writes with `rusqlite` on the calling thread: what SQLite costs without the
/// hand-off to sqlx's per-connection worker thread.
fn sqlite_same_thread(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let f = rt.block_on(store_fixture());
    let path = f.url.trim_start_matches("sqlite://").to_owned();
    let conn = rusqlite::Connection::open(&path).expect("open");
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
         PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;",
    )
    .expect("pragmas");
    let cid = f.credential.as_str().to_owned();
    c.bench_function(
        "rusqlite_lifecycle_7_writes_separate (same thread, 7 autocommits)",
        |b| {
            b.iter(|| {
                let id = ChallengeId::new().to_string();
                for sql in LIFECYCLE_WRITES {
                    conn.prepare_cached(sql)
                        .expect("prepare")
                        .execute((&id, &cid))
                        .expect("write");
                }
            });
        },
    );
    c.bench_function(
        "rusqlite_lifecycle_7_writes_grouped (same thread, 1 transaction)",
        |b| {
            b.iter(|| {
                let id = ChallengeId::new().to_string();
                conn.execute_batch("BEGIN IMMEDIATE").expect("begin");
                for sql in LIFECYCLE_WRITES {
                    conn.prepare_cached(sql)
                        .expect("prepare")
                        .execute((&id, &cid))
                        .expect("write");
                }
                conn.execute_batch("COMMIT").expect("commit");
            });
        },
    );
    drop(f);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = crypto, web_push, store, sqlite_direct, sqlite_same_thread
}
criterion_main!(benches);
