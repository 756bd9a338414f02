//! A local APNs and FCM (with its OAuth token endpoint) over TLS and HTTP/2 only, with a
//! CA and server certificate made here (trusted by the relay through `push_ca_file`).
//! It checks what Apple and Google check: the provider JWT's ES256 signature against
//! the team's public key and its `kid`/`iss`/`iat`; the OAuth assertion's RS256
//! signature, `iss`/`aud`/`scope`; the bearer access token it issued.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, Version};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use ring::signature::{self, KeyPair as _};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio_rustls::rustls;

pub const KEY_ID: &str = "ABC123DEFG";
pub const TEAM_ID: &str = "DEF123GHIJ";
pub const TOPIC: &str = "dev.onepush.app";
pub const PROJECT: &str = "onepush-test";
pub const CLIENT_EMAIL: &str = "relay@onepush-test.iam.gserviceaccount.test";
const FCM_SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";

/// One answer of the push endpoint: status, JSON body, `Retry-After`.
pub type Answer = (u16, Value, Option<&'static str>);

/// One push request the service took.
#[derive(Debug, Clone)]
pub struct Push {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Value,
    pub bearer: String,
    pub http2: bool,
}

#[derive(Default)]
pub struct Log {
    pub pushes: Vec<Push>,
    pub tokens: Vec<String>,
    pub script: VecDeque<Answer>,
}

pub struct Service {
    apns_public: Vec<u8>,
    rsa_public: Vec<u8>,
    token_uri: String,
    log: Mutex<Log>,
    count: watch::Sender<usize>,
}

/// The running service and the files the relay is configured with.
pub struct Fake {
    pub url: String,
    pub ca_file: PathBuf,
    pub apns_key_file: PathBuf,
    pub service_account_file: PathBuf,
    pub service: Arc<Service>,
}

impl Fake {
    /// Starts the service; writes the CA, the `.p8` key and the service account in `dir`.
    pub async fn start(dir: &Path) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "https://localhost:{}",
            listener.local_addr().unwrap().port()
        );

        let rng = ring::rand::SystemRandom::new();
        let p8 = signature::EcdsaKeyPair::generate_pkcs8(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &rng,
        )
        .unwrap();
        let apns_key = signature::EcdsaKeyPair::from_pkcs8(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            p8.as_ref(),
            &rng,
        )
        .unwrap();
        let apns_key_file = dir.join(format!("AuthKey_{KEY_ID}.p8"));
        std::fs::write(&apns_key_file, pem("PRIVATE KEY", p8.as_ref())).unwrap();

        let rsa = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
        let token_uri = format!("{url}/token");
        let account = json!({
            "type": "service_account",
            "project_id": PROJECT,
            "private_key_id": "k1",
            "private_key": rsa.serialize_pem(),
            "client_email": CLIENT_EMAIL,
            "token_uri": token_uri,
        });
        let service_account_file = dir.join("service-account.json");
        std::fs::write(&service_account_file, account.to_string()).unwrap();

        let (ca_pem, tls) = tls_config();
        let ca_file = dir.join("push-ca.pem");
        std::fs::write(&ca_file, ca_pem).unwrap();

        let service = Arc::new(Service {
            apns_public: apns_key.public_key().as_ref().to_vec(),
            rsa_public: rsa.public_key_raw().to_vec(),
            token_uri,
            log: Mutex::new(Log::default()),
            count: watch::Sender::new(0),
        });
        let app = axum::Router::new()
            .route("/3/device/{token}", post(apns))
            .route("/token", post(token))
            .route("/v1/projects/{project}/messages:send", post(fcm))
            .with_state(service.clone());
        tokio::spawn(serve(listener, tls, app));
        Self {
            url,
            ca_file,
            apns_key_file,
            service_account_file,
            service,
        }
    }
}

impl Service {
    /// Answers the next pushes with `answers` (then 200).
    pub fn script(&self, answers: impl IntoIterator<Item = Answer>) {
        self.log.lock().unwrap().script.extend(answers);
    }

    pub fn pushes(&self) -> Vec<Push> {
        self.log.lock().unwrap().pushes.clone()
    }

    pub fn tokens_issued(&self) -> usize {
        self.log.lock().unwrap().tokens.len()
    }

    /// Waits (at most 10 s) until `n` pushes arrived.
    pub async fn wait_for_pushes(&self, n: usize) -> Vec<Push> {
        let mut count = self.count.subscribe();
        tokio::time::timeout(
            std::time::Duration::from_secs(10),
            count.wait_for(|c| *c >= n),
        )
        .await
        .unwrap_or_else(|_| panic!("{n} pushes did not arrive"))
        .unwrap();
        self.pushes()
    }

    fn record(&self, push: Push) -> Answer {
        let (answer, n) = {
            let mut log = self.log.lock().unwrap();
            log.pushes.push(push);
            (log.script.pop_front(), log.pushes.len())
        };
        self.count.send_replace(n);
        answer.unwrap_or((200, json!({}), None))
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// A CA (its PEM returned) and a server certificate for `localhost` it signed.
fn tls_config() -> (String, Arc<rustls::ServerConfig>) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "OnePush test push CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &issuer)
        .unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone()], key)
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec()];
    (ca_cert.pem(), Arc::new(config))
}

/// Serves `app` over TLS, HTTP/2 only (as APNs does).
async fn serve(
    listener: tokio::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    app: axum::Router,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            return;
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        tokio::spawn(async move {
            let Ok(stream) = acceptor.accept(tcp).await else {
                return;
            };
            let service = hyper_util::service::TowerToHyperService::new(app);
            let _ = hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

fn b64url(part: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("base64url")
}

/// Checks a compact JWS's signature with `verify`; returns (header, claims).
fn open_jwt(
    jwt: &str,
    alg: &'static dyn signature::VerificationAlgorithm,
    key: &[u8],
) -> Option<(Value, Value)> {
    let (input, sig) = jwt.rsplit_once('.')?;
    let (header, claims) = input.split_once('.')?;
    signature::UnparsedPublicKey::new(alg, key)
        .verify(input.as_bytes(), &b64url(sig))
        .ok()?;
    Some((
        serde_json::from_slice(&b64url(header)).ok()?,
        serde_json::from_slice(&b64url(claims)).ok()?,
    ))
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn bearer(headers: &HeaderMap) -> String {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("bearer ")
                .or_else(|| v.strip_prefix("Bearer "))
        })
        .unwrap_or_default()
        .to_owned()
}

fn answer((status, body, retry_after): Answer) -> Response {
    let mut response = (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response();
    if let Some(after) = retry_after {
        response
            .headers_mut()
            .insert("retry-after", after.parse().unwrap());
    }
    response
}

/// `POST /3/device/{token}`: APNs.
async fn apns(
    State(service): State<Arc<Service>>,
    UrlPath(token): UrlPath<String>,
    version: Version,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let jwt = bearer(&headers);
    let valid = open_jwt(
        &jwt,
        &signature::ECDSA_P256_SHA256_FIXED,
        &service.apns_public,
    )
    .is_some_and(|(header, claims)| {
        header["alg"] == "ES256"
            && header["kid"] == KEY_ID
            && claims["iss"] == TEAM_ID
            && claims["iat"]
                .as_i64()
                .is_some_and(|iat| (iat - now()).abs() < 3600)
    });
    if !valid {
        return answer((403, json!({"reason": "InvalidProviderToken"}), None));
    }
    let push = Push {
        path: format!("/3/device/{token}"),
        headers,
        body: serde_json::from_slice(&body).unwrap_or_default(),
        bearer: jwt,
        http2: version == Version::HTTP_2,
    };
    answer(service.record(push))
}

/// `POST /token`: Google's OAuth 2 token endpoint for a JWT bearer assertion.
async fn token(State(service): State<Arc<Service>>, body: String) -> Response {
    let form: Vec<(String, String)> = body
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.replace("%3A", ":")))
        .collect();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    let valid = field("grant_type") == "urn:ietf:params:oauth:grant-type:jwt-bearer"
        && open_jwt(
            field("assertion"),
            &signature::RSA_PKCS1_2048_8192_SHA256,
            &service.rsa_public,
        )
        .is_some_and(|(header, claims)| {
            header["alg"] == "RS256"
                && claims["iss"] == CLIENT_EMAIL
                && claims["aud"] == service.token_uri.as_str()
                && claims["scope"] == FCM_SCOPE
                && claims["exp"].as_i64().unwrap_or(0) - claims["iat"].as_i64().unwrap_or(0) <= 3600
        });
    if !valid {
        return answer((400, json!({"error": "invalid_grant"}), None));
    }
    let mut log = service.log.lock().unwrap();
    let token = format!("ya29.test-{}", log.tokens.len() + 1);
    log.tokens.push(token.clone());
    answer((
        200,
        json!({"access_token": token, "expires_in": 3599, "token_type": "Bearer"}),
        None,
    ))
}

/// `POST /v1/projects/{project}/messages:send`: FCM HTTP v1.
async fn fcm(
    State(service): State<Arc<Service>>,
    UrlPath(project): UrlPath<String>,
    version: Version,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let token = bearer(&headers);
    let issued = service.log.lock().unwrap().tokens.contains(&token);
    if !issued || project != PROJECT {
        return answer((
            401,
            json!({"error": {"code": 401, "status": "UNAUTHENTICATED"}}),
            None,
        ));
    }
    let push = Push {
        path: format!("/v1/projects/{project}/messages:send"),
        headers,
        body: serde_json::from_slice(&body).unwrap_or_default(),
        bearer: token,
        http2: version == Version::HTTP_2,
    };
    answer(service.record(push))
}
