//! A small W3C `WebDriver` client over HTTP (the few calls the window test needs), for
//! `WebKitWebDriver` driving the app's `WebKitGTK` webview.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The W3C key of an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// One `WebDriver` session: the app started by the driver.
#[derive(Debug)]
pub struct Session {
    http: reqwest::Client,
    base: String,
}

impl Session {
    /// Starts `binary` (absolute path) through the driver at `driver_url`.
    pub async fn start(driver_url: &str, binary: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(90))
            .build()
            .expect("HTTP client");
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "webkitgtk:browserOptions": { "binary": binary, "args": [] }
        }}});
        let answer = call(
            &http,
            reqwest::Method::POST,
            &format!("{driver_url}/session"),
            Some(capabilities),
        )
        .await;
        let id = answer["sessionId"].as_str().expect("session ID").to_owned();
        Self {
            http,
            base: format!("{driver_url}/session/{id}"),
        }
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        call(
            &self.http,
            reqwest::Method::POST,
            &format!("{}{path}", self.base),
            Some(body),
        )
        .await
    }

    /// Runs `script` (a function body; `arguments` are `args`) in the page; its result.
    pub async fn script(&self, script: &str, args: Value) -> Value {
        self.post("/execute/sync", json!({ "script": script, "args": args }))
            .await
    }

    /// Runs asynchronous `script` (it calls `arguments[arguments.length - 1]` with its
    /// result) in the page; that result.
    pub async fn script_async(&self, script: &str) -> Value {
        self.post("/execute/async", json!({ "script": script, "args": [] }))
            .await
    }

    /// The element matching the CSS `selector` (must exist).
    pub async fn find(&self, selector: &str) -> String {
        let answer = self
            .post(
                "/element",
                json!({ "using": "css selector", "value": selector }),
            )
            .await;
        answer[ELEMENT_KEY].as_str().expect("element").to_owned()
    }

    /// Clicks the element matching `selector`.
    pub async fn click(&self, selector: &str) {
        let element = self.find(selector).await;
        self.post(&format!("/element/{element}/click"), json!({}))
            .await;
    }

    /// The visible text of the element matching `selector`.
    pub async fn text(&self, selector: &str) -> String {
        let element = self.find(selector).await;
        let answer = call(
            &self.http,
            reqwest::Method::GET,
            &format!("{}/element/{element}/text", self.base),
            None,
        )
        .await;
        answer.as_str().unwrap_or_default().to_owned()
    }

    /// Waits (up to `timeout`) until `script` returns a truthy value; that value.
    pub async fn wait_until(&self, what: &str, script: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let value = self.script(script, json!([])).await;
            let truthy = !matches!(&value, Value::Null | Value::Bool(false))
                && value != json!("")
                && value != json!(0);
            if truthy {
                return value;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Saves a PNG of the window to `path`, after 300 ms (the first frame after a DOM
    /// change can still show the previous one).
    pub async fn screenshot(&self, path: &std::path::Path) {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let answer = call(
            &self.http,
            reqwest::Method::GET,
            &format!("{}/screenshot", self.base),
            None,
        )
        .await;
        let png = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            answer.as_str().expect("base64 PNG"),
        )
        .expect("a base64 PNG");
        std::fs::write(path, png).expect("screenshot written");
    }

    /// Ends the session (the driver closes the app).
    pub async fn end(self) {
        let _ = self.http.delete(&self.base).send().await;
    }
}

/// One `WebDriver` call; the answer's `value`. Panics with the driver's error.
async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> Value {
    let mut request = http.request(method.clone(), url);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("WebDriver {method} {url}: {e}"));
    let status = response.status();
    let bytes = response.bytes().await.unwrap_or_default();
    let answer: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    assert!(
        status.is_success(),
        "WebDriver {method} {url}: {status} {answer}"
    );
    answer["value"].clone()
}
