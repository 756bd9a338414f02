//! Deciding a challenge: verify the device's signed answer and compare every claim
//! with the stored challenge before the pure state machine moves it.

use onepush_protocol::api::{BindingState, DecisionAccepted, DecisionRecord};
use onepush_protocol::challenge::ChallengeEvent;
use onepush_protocol::jws::{self, DecisionClaims, DecisionHeader, JwsError};
use onepush_protocol::{ChallengeId, ChallengeStatus, CredentialId, DecisionVerdict, DenyReason};
use subtle::ConstantTimeEq as _;

use super::device_auth::Refusal;
use super::{EndError, NotActive, Service};
use crate::store::{BindingChange, ChallengeRecord, CredentialRecord, NewAudit, StoreError, found};

/// Wrong numbers a challenge takes before it ends `denied` (F3).
pub const MAX_NUMBER_TRIES: u32 = 3;

/// Why a device's decision was not taken.
#[derive(Debug, thiserror::Error)]
pub enum DecisionError {
    /// The decision JWS cannot be read (the message says what is wrong).
    #[error("{0}")]
    Malformed(String),
    /// The signature does not verify, or its credential is unknown or revoked: one
    /// answer for all (issue 22).
    #[error("decision signature refused")]
    SignatureRefused,
    /// The decision does not answer this challenge, or not now (the message says which
    /// claim).
    #[error("{0}")]
    Mismatch(String),
    /// No such challenge.
    #[error("challenge not found")]
    NotFound,
    /// The challenge had ended already, in this status.
    #[error("challenge is already {0}")]
    Decided(ChallengeStatus),
    /// The challenge's deadline had passed; it ended in this status.
    #[error("challenge deadline passed; it is {0}")]
    Expired(ChallengeStatus),
    /// Signed by another credential that was never sent the challenge (no nonce):
    /// refused, the challenge stays pending.
    #[error("foreign decision without the challenge's nonce")]
    Foreign,
    /// Signed by another credential that carries the challenge's nonce: the challenge
    /// ended `credential_mismatch` (R4).
    #[error("decision signed by another credential: the challenge ended credential_mismatch")]
    CredentialMismatch,
    /// A wrong number typed (F3); `tries_left` 0: the challenge ended denied.
    #[error("wrong number, {tries_left} tries left")]
    NumberMismatch {
        /// Wrong numbers still allowed before the challenge ends denied.
        tries_left: u32,
    },
    /// The user's binding is no longer active (or no longer bound to this credential).
    #[error(transparent)]
    NotActive(#[from] NotActive),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<EndError> for DecisionError {
    fn from(e: EndError) -> Self {
        match e {
            EndError::Decided(s) => Self::Decided(s),
            EndError::Expired(s) => Self::Expired(s),
            EndError::Store(e) => Self::Store(e),
        }
    }
}

/// The refusal of a challenge that has ended in `status` (pending or not).
fn ended(status: ChallengeStatus) -> DecisionError {
    match status {
        ChallengeStatus::Expired | ChallengeStatus::Undeliverable => DecisionError::Expired(status),
        s => DecisionError::Decided(s),
    }
}

fn claim_mismatch(ch: &ChallengeRecord, c: &DecisionClaims) -> Option<&'static str> {
    if c.chl != ch.id {
        return Some("challenge ID (chl)");
    }
    if c.tnt != ch.tenant_id {
        return Some("tenant (tnt)");
    }
    if c.sub != ch.user_id {
        return Some("user (sub)");
    }
    if c.knd != ch.kind {
        return Some("kind (knd)");
    }
    if !bool::from(c.ctx.as_bytes().ct_eq(ch.context.digest_b64().as_bytes())) {
        return Some(
            "context digest (ctx): the context shown on the phone is not the one the bank sent",
        );
    }
    if !bool::from(c.nonce.as_bytes().ct_eq(ch.nonce.as_bytes())) {
        return Some("nonce");
    }
    None
}

/// A decision JWS as [`jws::peek_decision`] reads it, before any verification: read once
/// per post (the route reads the signer for its rate limit, [`Service::decide`] the same).
pub type PeekedDecision = Result<(DecisionHeader, DecisionClaims), JwsError>;

/// The credential a decision JWS names as its signer (`kid`), read before any
/// verification (400 `decision-malformed` when it cannot be).
pub fn decision_signer(jws_text: &str) -> Result<CredentialId, DecisionError> {
    signer_of(&jws::peek_decision(jws_text))
}

/// [`decision_signer`] of a decision already read.
fn signer_of(peeked: &PeekedDecision) -> Result<CredentialId, DecisionError> {
    let (header, _) = peeked
        .as_ref()
        .map_err(|e| DecisionError::Malformed(e.to_string()))?;
    header.kid.parse().map_err(|e: onepush_protocol::IdError| {
        DecisionError::Malformed(format!("decision kid: {e}"))
    })
}

/// What identifies one signed decision however it is re-sent: the digest of its signing
/// input and its signature in low-`s` form. An ECDSA signature `(r, s)` has a second
/// valid form `(r, n - s)`, so a replay could differ from the original there alone; a
/// device that signs the same claims again makes a new `r` (a fresh random nonce), so
/// that is a new decision.
fn replay_key(jws_text: &str) -> String {
    let (input, signature) = jws_text.rsplit_once('.').unwrap_or((jws_text, ""));
    let mut hash = ring::digest::Context::new(&ring::digest::SHA256);
    hash.update(input.as_bytes());
    hash.update(b".");
    // Verified before this runs, so it decodes; anything else is hashed as it came.
    match onepush_protocol::b64::decode(signature)
        .ok()
        .and_then(|raw| p256::ecdsa::Signature::from_slice(&raw).ok())
    {
        Some(sig) => hash.update(&sig.normalize_s().to_bytes()),
        None => hash.update(signature.as_bytes()),
    }
    onepush_protocol::b64::encode(hash.finish())
}

/// Why a decision signed at `iat` cannot answer a challenge created at `created`, `now`
/// on the relay's clock: it predates the challenge, or comes from the future (beyond
/// `skew` seconds either way; a device clock that is off is the likely cause).
fn off_time(iat: i64, created: i64, now: i64, skew: u32) -> Option<String> {
    let skew = i64::from(skew);
    let (by, side) = if iat > now + skew {
        (iat - now, "ahead of the relay's clock")
    } else if iat < created - skew {
        (created - iat, "behind the time the challenge was created")
    } else {
        return None;
    };
    Some(format!(
        "the decision's time (iat) is {by} seconds {side}: is the device clock off? Check the \
         device's date and time settings (or the decision was made for an earlier challenge)"
    ))
}

/// What a verified decision asks of the pending challenge it answers, before anything
/// is done: the one set of rules both ways of [`Service::decide`] follow.
enum Ask {
    /// Refused as it is; the challenge stays pending.
    Refuse(DecisionError),
    /// Signed by another credential ([`Service::foreign_decision`]).
    Foreign,
    /// An approval with the wrong number ([`Service::number_missed`]).
    NumberMissed,
    /// Ends the challenge with `event`; `not_me`: a "this wasn't me" deny.
    End { event: ChallengeEvent, not_me: bool },
}

/// [`Ask`] of `claims`, verified as signed by `kid`, for the pending `ch` at `now`.
fn ask(
    ch: &ChallengeRecord,
    claims: &DecisionClaims,
    kid: &CredentialId,
    now: i64,
    skew: u32,
) -> Ask {
    // Checked before anything ends the challenge: without a request proof, a decision
    // counts only for the challenge it names, and only at a time that challenge was
    // open (it cannot predate it, or come from the future).
    if claims.chl != ch.id {
        return Ask::Refuse(DecisionError::Mismatch(
            "the decision's challenge ID (chl) does not match the challenge".into(),
        ));
    }
    if let Some(why) = off_time(claims.iat, ch.created_at, now, skew) {
        return Ask::Refuse(DecisionError::Mismatch(why));
    }
    if *kid != ch.credential_id {
        return Ask::Foreign;
    }
    if let Some(what) = claim_mismatch(ch, claims) {
        return Ask::Refuse(DecisionError::Mismatch(format!(
            "the decision's {what} does not match the challenge"
        )));
    }
    match claims.dec {
        DecisionVerdict::Approve if ch.number.is_some() && claims.num != ch.number => {
            Ask::NumberMissed
        }
        DecisionVerdict::Approve => Ask::End {
            event: ChallengeEvent::Approve,
            not_me: false,
        },
        DecisionVerdict::Deny => Ask::End {
            event: ChallengeEvent::Deny,
            not_me: claims.rsn == Some(DenyReason::NotMe),
        },
    }
}

/// What [`Service::decide`]'s way with a kept key came to.
enum Kept {
    /// The decision was taken.
    Taken(DecisionAccepted),
    /// Its signature does not verify with the kept key.
    WrongKey,
    /// Anything else: the full way decides.
    FullWay,
}

/// The decision as stored with the challenge it ends.
fn record(jws_text: &str, kid: &CredentialId, claims: &DecisionClaims) -> DecisionRecord {
    DecisionRecord {
        jws: jws_text.to_owned(),
        credential_id: kid.clone(),
        verdict: claims.dec,
        reason: claims.rsn,
        user_verified: claims.uv,
    }
}

/// The answer to the decision `jws_text` if it is the one that ended `done` (a decision
/// posted at the same moment, maybe through another relay, may have won the conditional
/// update: then this one was not taken).
fn accepted(done: &ChallengeRecord, jws_text: &str) -> Option<DecisionAccepted> {
    let taken = done.decision.as_ref().is_some_and(|d| d.jws == jws_text);
    let ended = matches!(
        done.status,
        ChallengeStatus::Approved | ChallengeStatus::Denied
    );
    (taken && ended).then_some(DecisionAccepted {
        id: done.id,
        status: done.status,
    })
}

impl Service {
    /// `POST /v1/device/challenges/{id}/decision`: signed by the credential its `kid`
    /// names, or by `proven`, the credential whose request proof the post carried;
    /// `peeked` is `jws_text` read by [`jws::peek_decision`].
    pub async fn decide(
        &self,
        proven: Option<CredentialRecord>,
        id: &ChallengeId,
        jws_text: &str,
        peeked: &PeekedDecision,
    ) -> Result<DecisionAccepted, DecisionError> {
        let kid = signer_of(peeked)?;
        if proven.is_none() {
            match self.decide_with_kept(&kid, id, jws_text).await? {
                Kept::Taken(done) => return Ok(done),
                Kept::WrongKey => return Err(self.kept_key_refused(&kid).await),
                Kept::FullWay => {}
            }
        }
        let (device, ch) = if let Some(device) = proven {
            (device, found(self.store.challenge(id).await)?)
        } else {
            // The signer and the challenge in one read (one wait for the database).
            let (device, ch) = self.store.credential_and_challenge(&kid, id).await?;
            // Unknown or revoked: answered as a wrong key, after the same work (issue 22).
            let device = self.decision_signer_usable(&kid, device, jws_text)?;
            (device, ch)
        };
        if kid != device.id {
            return Err(DecisionError::Mismatch(
                "the decision is signed by a credential other than the one making the request"
                    .into(),
            ));
        }
        let claims = jws::verify_decision(jws_text, &device.jwk, &kid).map_err(|e| match e {
            JwsError::BadSignature => self.decision_key_refused(&kid),
            other => DecisionError::Malformed(other.to_string()),
        })?;
        self.signer_keys.keep(&kid, &device.jwk);
        let ch = self
            .end_if_overdue(ch.ok_or(DecisionError::NotFound)?)
            .await?;
        if ch.status != ChallengeStatus::Pending {
            return Err(ended(ch.status));
        }
        let skew = self.settings.device.proof_skew_seconds;
        let (event, not_me) = match ask(&ch, &claims, &kid, self.now(), skew) {
            Ask::Refuse(e) => return Err(e),
            Ask::Foreign => {
                return Err(self
                    .foreign_decision(&ch, &claims, record(jws_text, &kid, &claims))
                    .await);
            }
            Ask::NumberMissed => {
                let tries_left = self.number_missed(&ch, jws_text).await?;
                return Err(DecisionError::NumberMismatch { tries_left });
            }
            Ask::End { event, not_me } => (event, not_me),
        };
        if not_me {
            // First: the lock ends the user's other prompts in its transaction, so none
            // of them can be approved after this answer.
            self.lock_for_not_me(&ch).await?;
        }
        let done = self
            .finish(&ch, event, Some(record(jws_text, &kid, &claims)), not_me)
            .await?;
        if done.status == ChallengeStatus::Pending {
            return Err(self.end_refused(&ch, &kid).await);
        }
        accepted(&done, jws_text).ok_or_else(|| ended(done.status))
    }

    /// The common case without a read: a decision signed with a key this relay kept
    /// ([`signers`](super::signers)), on a pending challenge this relay made, that ends
    /// it (an approval, or a deny other than "this wasn't me"). Its end checks, in its
    /// own statement, what the kept copies cannot: the challenge still pending, its
    /// signer not revoked and, for an approval, the binding active and bound to the
    /// signer. [`Kept::FullWay`] for anything else (nothing kept, another answer, a
    /// refusal, an end the store did not make): then the full way decides from a fresh
    /// read, so every refusal is told as it always was, and a revoked signer learns
    /// nothing more.
    async fn decide_with_kept(
        &self,
        kid: &CredentialId,
        id: &ChallengeId,
        jws_text: &str,
    ) -> Result<Kept, DecisionError> {
        let (Some(key), Some(ch)) = (self.signer_keys.get(kid), self.notifier.known(id)) else {
            return Ok(Kept::FullWay);
        };
        let now = self.now();
        if ch.status != ChallengeStatus::Pending || now >= ch.expires_at {
            return Ok(Kept::FullWay);
        }
        let claims = match jws::verify_decision(jws_text, &key, kid) {
            Ok(claims) => claims,
            Err(JwsError::BadSignature) => return Ok(Kept::WrongKey),
            Err(_) => return Ok(Kept::FullWay),
        };
        let skew = self.settings.device.proof_skew_seconds;
        let Ask::End {
            event,
            not_me: false,
        } = ask(&ch, &claims, kid, now, skew)
        else {
            return Ok(Kept::FullWay);
        };
        match self
            .finish(&ch, event, Some(record(jws_text, kid, &claims)), false)
            .await
        {
            Ok(done) => Ok(accepted(&done, jws_text).map_or(Kept::FullWay, Kept::Taken)),
            Err(EndError::Store(e)) => Err(e.into()),
            Err(EndError::Decided(_) | EndError::Expired(_)) => Ok(Kept::FullWay),
        }
    }

    /// A decision that does not verify with its credential's kept key (a key never
    /// changes, so it would not verify with the stored one either): refused as the full
    /// way refuses it, after the same work (one read, for the cause the audit names, and
    /// one verification), so a kept key tells a prober nothing (issue 22).
    async fn kept_key_refused(&self, kid: &CredentialId) -> DecisionError {
        let cause = match self.usable_signer(kid).await {
            Ok(Ok(_)) => Refusal::WrongKey,
            Ok(Err(cause)) => cause,
            Err(e) => return e.into(),
        };
        self.device_refused(kid, cause, "decision");
        DecisionError::SignatureRefused
    }

    /// Why the end of `ch` by `kid`'s decision was refused in its statement while the
    /// challenge stayed pending: the signer was revoked meanwhile (answered as every
    /// refused signer), or the user's binding is no longer active (or no longer bound to
    /// this credential).
    async fn end_refused(&self, ch: &ChallengeRecord, kid: &CredentialId) -> DecisionError {
        match self.usable_signer(kid).await {
            Ok(Ok(_)) => {}
            Ok(Err(cause)) => {
                self.signer_keys.forget(kid);
                self.device_refused(kid, cause, "decision");
                return DecisionError::SignatureRefused;
            }
            Err(e) => return e.into(),
        }
        match self.store.binding(&ch.tenant_id, &ch.user_id).await {
            Ok(binding) => NotActive::of(&binding).into(),
            Err(e) => e.into(),
        }
    }

    /// A validly signed answer from another credential: R4 (4), but only from one that
    /// was sent the challenge (its nonce is only in what the relay sends to the
    /// registered device). Without it, anyone holding a credential could end any
    /// challenge whose ID it learnt: refused (403 `foreign-decision`, audited
    /// `decision.refused`), the challenge stays pending. With it, the challenge ends
    /// `credential_mismatch` (403 `credential-mismatch`).
    async fn foreign_decision(
        &self,
        ch: &ChallengeRecord,
        claims: &DecisionClaims,
        record: DecisionRecord,
    ) -> DecisionError {
        if !bool::from(claims.nonce.as_bytes().ct_eq(ch.nonce.as_bytes())) {
            self.audit(NewAudit {
                tenant_id: Some(ch.tenant_id.clone()),
                event: "decision.refused".into(),
                user_id: Some(ch.user_id.clone()),
                credential_id: Some(ch.credential_id.clone()),
                challenge_id: Some(ch.id),
                detail: serde_json::json!({
                    "signed_by": record.credential_id.as_str(),
                    "cause": "foreign_without_nonce",
                }),
            })
            .await;
            return DecisionError::Foreign;
        }
        let signer = record.credential_id.clone();
        match self
            .finish(ch, ChallengeEvent::Mismatch, Some(record), false)
            .await
        {
            Ok(done) if done.status == ChallengeStatus::Pending => {
                self.end_refused(ch, &signer).await
            }
            Ok(_) => DecisionError::CredentialMismatch,
            Err(e) => e.into(),
        }
    }

    /// Counts a wrong number (F3): the challenge ends `denied` at the
    /// [`MAX_NUMBER_TRIES`]-th. Answers the tries left (0: it ended denied); an error if
    /// the decision was counted before or the challenge ended meanwhile.
    ///
    /// The only decision that leaves its challenge pending, so the only one a replay could
    /// count twice: each wrong-number decision is remembered (its digest, in the proof
    /// replay guard, until the challenge's deadline) and counted once.
    async fn number_missed(
        &self,
        ch: &ChallengeRecord,
        jws_text: &str,
    ) -> Result<u32, DecisionError> {
        let seen = format!("decision:{}", replay_key(jws_text));
        if !self
            .store
            .record_jti(&seen, ch.expires_at + 1, self.now())
            .await?
        {
            return Err(DecisionError::Mismatch(
                "this wrong-number decision was already counted (a replay)".into(),
            ));
        }
        let misses = self.store.record_number_miss(&ch.id).await?;
        if misses == 0 {
            // Ended meanwhile (another answer, the deadline, a cancel).
            let now = self.store.challenge(&ch.id).await?;
            return Err(ended(now.status));
        }
        let tries_left = MAX_NUMBER_TRIES.saturating_sub(misses);
        self.audit(NewAudit {
            tenant_id: Some(ch.tenant_id.clone()),
            event: "challenge.number_mismatch".into(),
            user_id: Some(ch.user_id.clone()),
            credential_id: Some(ch.credential_id.clone()),
            challenge_id: Some(ch.id),
            detail: serde_json::json!({ "misses": misses, "tries_left": tries_left }),
        })
        .await;
        if tries_left == 0 {
            tracing::warn!(challenge = %ch.id, "wrong number typed {misses} times: challenge denied");
            let done = self.finish(ch, ChallengeEvent::Deny, None, false).await?;
            if done.status != ChallengeStatus::Denied {
                return Err(DecisionError::Decided(done.status));
            }
        }
        Ok(tries_left)
    }

    /// "This wasn't me": lock the user's binding (fraud signal) if it is active and bound
    /// to the credential that answered, and end the user's other pending prompts in the
    /// same transaction (`not_me`).
    async fn lock_for_not_me(&self, ch: &ChallengeRecord) -> Result<(), StoreError> {
        let change = BindingChange {
            tenant_id: ch.tenant_id.clone(),
            user_id: ch.user_id.clone(),
            credential_id: Some(ch.credential_id.clone()),
            from: vec![BindingState::Active],
            to: BindingState::Locked,
            lock_reason: Some("not_me".into()),
            grace_until: None,
            audit: NewAudit {
                tenant_id: Some(ch.tenant_id.clone()),
                event: "binding.locked".into(),
                user_id: Some(ch.user_id.clone()),
                credential_id: Some(ch.credential_id.clone()),
                challenge_id: Some(ch.id),
                detail: serde_json::json!({ "reason": "not_me" }),
            },
        };
        self.apply_binding_change(&change, "not_me", true, Some(ch.id))
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{off_time, replay_key};

    #[test]
    fn a_decision_counts_from_its_challenge_s_creation_to_now_give_or_take_the_skew() {
        let (created, now, skew) = (1_000, 1_100, 60);
        for iat in [940, 1_000, 1_100, 1_160] {
            assert_eq!(off_time(iat, created, now, skew), None, "iat {iat}");
        }
        let early = off_time(939, created, now, skew).unwrap();
        assert!(
            early.contains("61 seconds behind the time the challenge was created"),
            "{early}"
        );
        let late = off_time(1_161, created, now, skew).unwrap();
        assert!(
            late.contains("61 seconds ahead of the relay's clock"),
            "{late}"
        );
        assert!(late.contains("date and time"), "{late}");
    }

    #[test]
    fn a_decision_and_its_other_signature_form_are_one_replay_key_and_a_new_signature_is_another() {
        use onepush_protocol::jws::{DecisionClaims, sign_decision};
        let key = onepush_protocol::DeviceKey::generate();
        let claims: DecisionClaims = serde_json::from_value(serde_json::json!({
            "v": 1, "chl": onepush_protocol::ChallengeId::new(), "tnt": "bank", "sub": "alice",
            "cid": "ONEP12345674", "knd": "login", "ctx": "x", "num": 42, "dec": "approve",
            "rsn": null, "uv": true, "iat": 1_000, "nonce": "n"
        }))
        .unwrap();
        let jws = sign_decision(&key, &claims);
        let (input, sig) = jws.rsplit_once('.').unwrap();
        let raw = onepush_protocol::b64::decode(sig).unwrap();
        let signature = p256::ecdsa::Signature::from_slice(&raw).unwrap();
        let (r, s) = signature.split_scalars();
        let other = p256::ecdsa::Signature::from_scalars(r, -s).unwrap();
        assert_ne!(other.to_bytes(), signature.to_bytes());
        let malleated = format!(
            "{input}.{}",
            onepush_protocol::b64::encode(other.to_bytes())
        );
        assert_eq!(replay_key(&jws), replay_key(&malleated));
        // The same claims signed again: a fresh random nonce, a new decision.
        assert_ne!(replay_key(&jws), replay_key(&sign_decision(&key, &claims)));
    }
}
