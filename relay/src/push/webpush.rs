//! The real [`PushSender`]: `web-push` signs the VAPID JWT (RFC 8292, cached per push
//! service), [`onepush_protocol::webpush::encrypt`] encrypts the message (RFC 8291,
//! ephemeral ECDH on `ring`, padded to `PUSH_MESSAGE_LEN`), one keep-alive `reqwest`
//! client sends it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures::future::BoxFuture;
use onepush_protocol::PushChannel;
use onepush_protocol::webpush::PushSubscription;
use reqwest::header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE};
use web_push::{
    PartialVapidSignatureBuilder, SubscriptionInfo, VapidSignature, VapidSignatureBuilder,
};

use super::guard::{EndpointPolicy, GuardedResolver, refused_by_guard};
use super::{PushError, PushMessage, PushResult, PushSender, classify};

/// How long a VAPID JWT is valid (`exp` − now). RFC 8292 §2 allows at most 24 hours;
/// 12 leaves room for a push service whose clock runs ahead.
pub const VAPID_JWT_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// A cached VAPID JWT is replaced this long before its `exp`.
pub const VAPID_JWT_REFRESH_MARGIN: Duration = Duration::from_secs(3600);

/// Push-service origins kept in the JWT cache. Endpoints come from devices, so the
/// cache is bounded; real deployments see a handful of origins (FCM, Mozilla, Apple…).
const MAX_CACHED_ORIGINS: usize = 1024;

/// How much of a push service's answer body is read (to reuse the connection).
const MAX_RESPONSE_BODY: usize = 4096;

/// Sends Web Push messages signed with the relay's VAPID key.
///
/// One instance per process: it holds the keep-alive connection pool and the VAPID JWT
/// cache (one JWT per push-service origin, reused until [`VAPID_JWT_REFRESH_MARGIN`]
/// before it expires: an ECDSA signature per message would cost more than the rest of
/// the message).
pub struct WebPushSender {
    client: reqwest::Client,
    vapid: PartialVapidSignatureBuilder,
    public_key_b64: String,
    subject: String,
    jwt_cache: Mutex<HashMap<String, CachedJwt>>,
    max_cached_origins: usize,
    jwts_signed: AtomicU64,
    policy: EndpointPolicy,
}

struct CachedJwt {
    signature: VapidSignature,
    refresh_at: SystemTime,
}

impl std::fmt::Debug for WebPushSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebPushSender")
            .field("vapid_public_key", &self.public_key_b64)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

impl WebPushSender {
    /// A sender signing with `vapid_private_key` (the raw 32-byte P-256 scalar), naming
    /// `subject` (`mailto:` or `https:` contact, RFC 8292 §2.1) in each JWT, and giving
    /// each request `request_timeout` in all (connecting, sending, reading the answer),
    /// and connecting only where `policy` allows ([`super::guard`]).
    pub fn new(
        vapid_private_key: &[u8],
        subject: String,
        request_timeout: Duration,
        policy: EndpointPolicy,
        extra_roots: &[reqwest::Certificate],
    ) -> Result<Self, PushError> {
        if vapid_private_key.len() != 32 {
            return Err(PushError::InvalidVapidKey);
        }
        if !(subject.starts_with("mailto:") || subject.starts_with("https://")) {
            return Err(PushError::InvalidSubject(subject));
        }
        let vapid =
            VapidSignatureBuilder::from_base64_no_sub(&URL_SAFE_NO_PAD.encode(vapid_private_key))
                .map_err(|_| PushError::InvalidVapidKey)?;
        let public_key_b64 = URL_SAFE_NO_PAD.encode(vapid.get_public_key());
        let client = super::client_builder(request_timeout, extra_roots)
            // Every name is resolved by the guard, which drops internal addresses; a proxy
            // would resolve names itself, so none is used.
            .dns_resolver(std::sync::Arc::new(GuardedResolver { policy }))
            .no_proxy()
            .https_only(!policy.allow_insecure)
            .build()
            .map_err(PushError::Client)?;
        Ok(Self {
            client,
            vapid,
            public_key_b64,
            subject,
            jwt_cache: Mutex::new(HashMap::new()),
            max_cached_origins: MAX_CACHED_ORIGINS,
            jwts_signed: AtomicU64::new(0),
            policy,
        })
    }

    /// The VAPID public key, an uncompressed P-256 point (65 bytes) in base64url without
    /// padding: the `applicationServerKey` a browser or app subscribes with.
    pub fn vapid_public_key_b64(&self) -> String {
        self.public_key_b64.clone()
    }

    /// How many VAPID JWTs this sender has signed, i.e. JWT cache misses.
    pub fn jwts_signed(&self) -> u64 {
        self.jwts_signed.load(Ordering::Relaxed)
    }

    /// The VAPID signature for a push service `origin` (`scheme://host[:port]`, the JWT's
    /// `aud`), from the cache while it is fresh at `now`.
    fn vapid_signature(
        &self,
        origin: &str,
        endpoint: &str,
        now: SystemTime,
    ) -> Result<VapidSignature, web_push::WebPushError> {
        if let Some(cached) = self.lock_cache().get(origin)
            && now < cached.refresh_at
        {
            return Ok(cached.signature.clone());
        }
        // Signed outside the lock: two first sends to one origin may both sign, harmlessly.
        let expires = now + VAPID_JWT_LIFETIME;
        let exp = expires
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let info = SubscriptionInfo::new(endpoint, "", "");
        let mut builder = self.vapid.clone().add_sub_info(&info);
        builder.add_claim("aud", origin);
        builder.add_claim("sub", self.subject.as_str());
        builder.add_claim("exp", exp);
        let signature = builder.build()?;
        self.jwts_signed.fetch_add(1, Ordering::Relaxed);

        let mut cache = self.lock_cache();
        if cache.len() >= self.max_cached_origins {
            cache.retain(|_, jwt| now < jwt.refresh_at);
            if cache.len() >= self.max_cached_origins {
                cache.clear();
            }
        }
        let refresh_at = expires - VAPID_JWT_REFRESH_MARGIN;
        cache.insert(
            origin.to_owned(),
            CachedJwt {
                signature: signature.clone(),
                refresh_at,
            },
        );
        Ok(signature)
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, HashMap<String, CachedJwt>> {
        // The cache holds no invariant a panic could break halfway.
        self.jwt_cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Builds the HTTP request: encrypted body, `Authorization: vapid t=…, k=…`, `TTL`,
    /// `Urgency: high`, `Content-Encoding: aes128gcm`.
    fn prepare(
        &self,
        subscription: &PushSubscription,
        payload: &[u8],
        ttl_seconds: u32,
        now: SystemTime,
    ) -> Result<reqwest::RequestBuilder, String> {
        // Parsed once: checked, its origin taken, and handed to the client as it is. A
        // literal address is connected to as it is (the resolver never sees it), so the
        // guard checks it here.
        let url = reqwest::Url::parse(&subscription.endpoint)
            .map_err(|e| format!("bad push endpoint URL: {e}"))?;
        self.policy.check_parsed(&url).map_err(|e| e.to_string())?;
        let origin = url.origin().ascii_serialization();
        let signature = self
            .vapid_signature(&origin, &subscription.endpoint, now)
            .map_err(|e| format!("VAPID signing failed: {e}"))?;
        let body = super::seal(&subscription.keys, payload)?;
        let authorization = format!(
            "vapid t={}, k={}",
            signature.auth_t,
            URL_SAFE_NO_PAD.encode(&signature.auth_k)
        );
        Ok(self
            .client
            .post(url)
            .header("TTL", ttl_seconds.to_string())
            .header("Urgency", "high")
            .header(CONTENT_ENCODING, "aes128gcm")
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(AUTHORIZATION, authorization)
            .body(body))
    }

    /// Posts one Web Push message: what [`PushSender::send`] does for a Web Push channel.
    pub async fn post(
        &self,
        subscription: &PushSubscription,
        payload: &[u8],
        ttl_seconds: u32,
    ) -> PushResult {
        let origin = endpoint_origin(&subscription.endpoint).unwrap_or_default();
        let request = match self.prepare(subscription, payload, ttl_seconds, SystemTime::now()) {
            Ok(request) => request,
            Err(reason) => {
                tracing::warn!(push_origin = %origin, %reason, "push refused before sending");
                return PushResult::Rejected { status: 0 };
            }
        };
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                if let Some(refused) = refused_by_guard(&error) {
                    tracing::warn!(push_origin = %origin, reason = %refused, "push refused before sending");
                    return PushResult::Rejected { status: 0 };
                }
                tracing::warn!(
                    push_origin = %origin,
                    timeout = error.is_timeout(),
                    connect = error.is_connect(),
                    error = %error,
                    "push request got no answer"
                );
                return PushResult::Retry {
                    status: None,
                    retry_after: None,
                };
            }
        };
        let status = response.status().as_u16();
        let result = classify(status, response.headers());
        // Read (a bounded part of) the body so the connection can be reused. It is
        // never logged: a push service (or whatever a device named) chooses its bytes.
        let mut body_len = 0;
        while body_len < MAX_RESPONSE_BODY {
            match response.chunk().await {
                Ok(Some(chunk)) => body_len += chunk.len(),
                Ok(None) | Err(_) => break,
            }
        }
        if result == PushResult::Sent {
            tracing::debug!(push_origin = %origin, status, "push sent");
        } else {
            tracing::warn!(
                push_origin = %origin,
                status,
                result = result.label(),
                body_bytes = body_len,
                "push service refused the message"
            );
        }
        result
    }
}

impl PushSender for WebPushSender {
    /// Sends to a Web Push channel; any other channel is refused (status 0).
    fn send<'a>(
        &'a self,
        channel: &'a PushChannel,
        message: &'a PushMessage<'a>,
        ttl_seconds: u32,
    ) -> BoxFuture<'a, PushResult> {
        match channel.web_push() {
            Some(subscription) => Box::pin(self.post(subscription, message.payload, ttl_seconds)),
            None => Box::pin(std::future::ready(PushResult::Rejected { status: 0 })),
        }
    }
}

/// The origin of a push endpoint (RFC 6454: `scheme://host`, plus `:port` when not the
/// scheme's default): the VAPID JWT's `aud` (RFC 8292 §2) and the cache key.
/// Endpoints that are not `http(s)` URLs are refused.
pub(super) fn endpoint_origin(endpoint: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(endpoint).map_err(|e| format!("bad push endpoint URL: {e}"))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(format!(
            "push endpoint scheme {} is not http(s)",
            url.scheme()
        ));
    }
    Ok(url.origin().ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];

    fn sender() -> WebPushSender {
        WebPushSender::new(
            &KEY,
            "mailto:ops@onepush.test".into(),
            Duration::from_secs(5),
            EndpointPolicy::default(),
            &[],
        )
        .unwrap()
    }

    #[test]
    fn origin_keeps_a_non_default_port_only() {
        assert_eq!(
            endpoint_origin("https://fcm.googleapis.com/fcm/send/abc").unwrap(),
            "https://fcm.googleapis.com"
        );
        assert_eq!(
            endpoint_origin("https://push.example:443/x").unwrap(),
            "https://push.example"
        );
        assert_eq!(
            endpoint_origin("http://127.0.0.1:8123/push/1").unwrap(),
            "http://127.0.0.1:8123"
        );
        assert!(endpoint_origin("ftp://push.example/x").is_err());
        assert!(endpoint_origin("not a url").is_err());
    }

    #[test]
    fn bad_vapid_keys_and_subjects_are_refused() {
        let timeout = Duration::from_secs(1);
        let subject = || "mailto:a@b.test".to_owned();
        assert!(matches!(
            WebPushSender::new(&[1; 31], subject(), timeout, EndpointPolicy::default(), &[]),
            Err(PushError::InvalidVapidKey)
        ));
        assert!(matches!(
            WebPushSender::new(&[0; 32], subject(), timeout, EndpointPolicy::default(), &[]),
            Err(PushError::InvalidVapidKey)
        ));
        assert!(matches!(
            WebPushSender::new(
                &[0xff; 32],
                subject(),
                timeout,
                EndpointPolicy::default(),
                &[]
            ),
            Err(PushError::InvalidVapidKey)
        ));
        assert!(matches!(
            WebPushSender::new(
                &KEY,
                "ops@b.test".into(),
                timeout,
                EndpointPolicy::default(),
                &[]
            ),
            Err(PushError::InvalidSubject(_))
        ));
    }

    #[test]
    fn public_key_is_an_uncompressed_point() {
        let key = URL_SAFE_NO_PAD
            .decode(sender().vapid_public_key_b64())
            .unwrap();
        assert_eq!(key.len(), 65);
        assert_eq!(key[0], 0x04);
    }

    #[test]
    fn vapid_jwt_is_reused_per_origin_until_an_hour_before_expiry() {
        let sender = sender();
        let now = SystemTime::now();
        let a = "https://a.push.test/1";
        let first = sender
            .vapid_signature("https://a.push.test", a, now)
            .unwrap();
        let again = sender
            .vapid_signature("https://a.push.test", a, now + Duration::from_secs(3600))
            .unwrap();
        assert_eq!(first, again);
        assert_eq!(sender.jwts_signed(), 1);

        sender
            .vapid_signature("https://b.push.test", "https://b.push.test/2", now)
            .unwrap();
        assert_eq!(sender.jwts_signed(), 2, "another origin gets its own JWT");

        let late = now + VAPID_JWT_LIFETIME - VAPID_JWT_REFRESH_MARGIN;
        let renewed = sender
            .vapid_signature("https://a.push.test", a, late)
            .unwrap();
        assert_ne!(first.auth_t, renewed.auth_t);
        assert_eq!(sender.jwts_signed(), 3);
    }

    #[test]
    fn jwt_cache_stays_bounded() {
        let mut sender = sender();
        sender.max_cached_origins = 4;
        let now = SystemTime::now();
        for i in 0..10 {
            let origin = format!("https://p{i}.push.test");
            sender
                .vapid_signature(&origin, &format!("{origin}/x"), now)
                .unwrap();
            assert!(sender.lock_cache().len() <= 4);
        }
        assert_eq!(sender.jwts_signed(), 10);
    }

    #[test]
    fn debug_does_not_show_the_private_key() {
        let shown = format!("{:?}", sender());
        assert!(shown.contains("vapid_public_key"));
        assert!(!shown.contains("vapid:"));
    }
}
