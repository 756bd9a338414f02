//! The real app in a real window: the `onepush-app` binary under Xvfb, driven through
//! `WebKitWebDriver`, set up against a real `onepush-relay` process, with the bank's
//! side over the bank API. Screenshots go to `target/app-screenshots/`.
//!
//! Needs a display (Xvfb), `WebKitWebDriver` (Debian `webkit2gtk-driver`) and the
//! relay binary built next to the app: run it with `app/src-tauri/test-window.sh`.

use crate::common::{bank, webdriver};

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bank::{Bank, login_context, transfer_context};
use onepush_protocol::api::BankChallenge;
use onepush_protocol::{ChallengeId, ChallengeStatus, DecisionVerdict, DenyReason};
use serde_json::json;
use webdriver::Session;

const APP: &str = env!("CARGO_BIN_EXE_onepush-app");
const WAIT: Duration = Duration::from_secs(30);

/// A child process killed when the test ends, however it ends.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// `target/` of this build (the app binary is in `target/<profile>/`).
fn target_dir() -> PathBuf {
    Path::new(APP)
        .ancestors()
        .nth(2)
        .expect("target folder")
        .to_owned()
}

/// The relay binary: `ONEPUSH_RELAY_BIN`, else the one built next to the app.
fn relay_binary() -> PathBuf {
    std::env::var_os("ONEPUSH_RELAY_BIN").map_or_else(
        || Path::new(APP).with_file_name("onepush-relay"),
        PathBuf::from,
    )
}

fn log_file(dir: &Path, name: &str) -> Stdio {
    Stdio::from(std::fs::File::create(dir.join(name)).expect("log file"))
}

/// Creates the bank's tenant and serves the relay; its URL and the bank's API key.
async fn start_relay(data: &Path, logs: &Path) -> (Process, String, String) {
    let relay = relay_binary();
    assert!(
        relay.exists(),
        "{} is missing: cargo build -p onepush-relay",
        relay.display()
    );
    let added = Command::new(&relay)
        .args(["--data-dir"])
        .arg(data)
        .args([
            "tenant",
            "add",
            "test-bank",
            "--display-name",
            "Test Bank",
            "--json",
        ])
        .output()
        .expect("onepush-relay tenant add");
    assert!(
        added.status.success(),
        "tenant add: {}",
        String::from_utf8_lossy(&added.stderr)
    );
    let tenant: serde_json::Value = serde_json::from_slice(&added.stdout).expect("tenant JSON");
    let api_key = tenant["api_key"].as_str().expect("API key").to_owned();
    let port = free_port();
    let child = Command::new(&relay)
        .args(["--data-dir"])
        .arg(data)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("ONEPUSH_HTTP__ADMIN_LISTEN", "127.0.0.1:0")
        .stdout(log_file(logs, "relay.log"))
        .stderr(log_file(logs, "relay.err.log"))
        .spawn()
        .expect("onepush-relay serve");
    let url = format!("http://127.0.0.1:{port}");
    wait_for_http(&format!("{url}/healthz")).await;
    (Process(child), url, api_key)
}

/// Starts `dunst`, a notification server (on the session bus scripts/with-keyring
/// made, drawing on Xvfb), so the app's notifications are really shown.
fn start_notification_server(logs: &Path) -> Process {
    let child = Command::new("dunst")
        .stdout(log_file(logs, "dunst.log"))
        .stderr(log_file(logs, "dunst.err.log"))
        .spawn()
        .expect("dunst (Debian package dunst; test-window.sh installs it)");
    Process(child)
}

/// Starts `WebKitWebDriver` with the app's environment; its URL.
async fn start_driver(home: &Path, relay_url: &str, logs: &Path) -> (Process, String) {
    let port = free_port();
    let child = Command::new("WebKitWebDriver")
        .arg(format!("--port={port}"))
        .env("TAURI_WEBVIEW_AUTOMATION", "true")
        .env("ONEPUSH_APP_HOME", home)
        .env("ONEPUSH_RELAY_URL", relay_url)
        .env("RUST_LOG", "info")
        .stdout(log_file(logs, "app-and-driver.log"))
        .stderr(log_file(logs, "app-and-driver.err.log"))
        .spawn()
        .expect("WebKitWebDriver (Debian package webkit2gtk-driver)");
    let url = format!("http://127.0.0.1:{port}");
    wait_for_http(&format!("{url}/status")).await;
    (Process(child), url)
}

async fn wait_for_http(url: &str) {
    let deadline = Instant::now() + WAIT;
    while reqwest::get(url).await.is_err() {
        assert!(Instant::now() < deadline, "{url} did not answer");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Whether screen `name` is the one shown.
fn screen_shown(name: &str) -> String {
    format!("return !document.getElementById('screen-{name}').hidden;")
}

/// The app's window, the bank, and where screenshots go.
struct Window {
    app: Session,
    bank: Bank,
    shots: PathBuf,
}

impl Window {
    /// A screenshot named `name`.png.
    async fn shot(&self, name: &str) {
        self.app
            .screenshot(&self.shots.join(format!("{name}.png")))
            .await;
    }

    /// Runs `script` until it is truthy.
    async fn wait(&self, what: &str, script: &str) {
        self.app.wait_until(what, script, WAIT).await;
    }

    /// Sets up through the Setup screen with the prefilled relay URL.
    async fn set_up(&self, relay_url: &str) {
        self.wait("the Setup screen", &screen_shown("setup")).await;
        let prefilled = self
            .app
            .wait_until(
                "the prefilled relay",
                "return document.getElementById('setup-relay').value;",
                WAIT,
            )
            .await;
        assert_eq!(prefilled, json!(relay_url));
        self.shot("01-setup").await;
        self.app.click("#setup-submit").await;
    }

    /// Enrolls `user` with the credential ID and two codes read off the Home screen.
    async fn enroll(&self, user: &str) {
        self.wait("the Home screen", &screen_shown("home")).await;
        self.wait(
            "the codes",
            "return /^[0-9]{6}$/.test(document.getElementById('home-next').textContent.replace(/\\s/g, ''));",
        )
        .await;
        self.shot("02-home").await;
        let credential = self.app.text("#home-credential").await;
        let codes = self
            .app
            .script(
                "return [document.getElementById('home-code').textContent, \
                         document.getElementById('home-next').textContent].map(c => c.replace(/\\s/g, ''));",
                json!([]),
            )
            .await;
        let pair = [codes[0].as_str().unwrap(), codes[1].as_str().unwrap()];
        let (status, body) = self.bank.enroll(user, &credential, pair).await;
        assert_eq!(
            status,
            reqwest::StatusCode::CREATED,
            "enrollment with {credential} {codes}: {body}"
        );
    }

    /// The bank asks `user`; waits until the prompt opens by itself; the challenge
    /// and the prompt's text.
    async fn prompt(
        &self,
        user: &str,
        kind: &str,
        context: serde_json::Value,
    ) -> (ChallengeId, String) {
        let created = self.bank.challenge(user, kind, context, false).await;
        self.wait("the prompt", &screen_shown("prompt")).await;
        self.wait(
            "the prompt's details",
            "return document.getElementById('prompt-bank').textContent.includes('Test Bank') \
             && !document.getElementById('prompt-approve').disabled;",
        )
        .await;
        (created.id, self.app.text("#screen-prompt").await)
    }

    /// The page may listen to events and call the app's commands, and nothing else
    /// (here: a notification plugin command is refused).
    async fn check_permissions(&self) {
        let listen = self
            .app
            .script_async(
                "const done = arguments[arguments.length - 1]; \
                 window.__TAURI__.event.listen('challenge', () => {}) \
                   .then(() => done('allowed'), (e) => done('refused: ' + e));",
            )
            .await;
        assert_eq!(listen, json!("allowed"));
        let codes = self
            .app
            .script_async(
                "const done = arguments[arguments.length - 1]; \
                 window.__TAURI__.core.invoke('codes') \
                   .then((c) => done(Object.keys(c).sort().join(',')), (e) => done('refused: ' + e));",
            )
            .await;
        assert_eq!(codes, json!("current,next,secondsLeft"));
        let notify = self
            .app
            .script_async(
                "const done = arguments[arguments.length - 1]; \
                 window.__TAURI__.core.invoke('plugin:notification|is_permission_granted') \
                   .then(() => done('allowed'), (e) => done('refused: ' + e));",
            )
            .await;
        assert!(
            notify.as_str().is_some_and(|s| s.starts_with("refused")),
            "the UI has no notification right: {notify}"
        );
    }

    /// Closes the window as a window manager's close button does (the X11
    /// `WM_DELETE_WINDOW` message: Xvfb runs no window manager).
    fn close_window() {
        let tool = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/close-window.py");
        let out = Command::new("python3")
            .arg(tool)
            .arg("OnePush")
            .output()
            .expect("python3 tests/tools/close-window.py");
        assert!(
            out.status.success(),
            "no OnePush window to close: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Clicks `button`; the bank's long-poll outcome once the prompt shows it is done.
    async fn answer(&self, id: ChallengeId, button: &str) -> BankChallenge {
        self.app.click(button).await;
        let outcome = self.bank.outcome(id, 30).await;
        self.wait(
            "the answered state",
            "return !document.getElementById('prompt-after').hidden;",
        )
        .await;
        outcome
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Xvfb, WebKitWebDriver and the relay binary: run app/src-tauri/test-window.sh"]
async fn the_real_window_sets_up_enrolls_and_decides() {
    let shots = target_dir().join("app-screenshots");
    std::fs::create_dir_all(&shots).expect("screenshot folder");
    let work = tempfile::tempdir().expect("temporary folder");
    let (_relay, relay_url, api_key) = start_relay(&work.path().join("relay"), &shots).await;
    let home = work.path().join("app");
    let _notifications = start_notification_server(&shots);
    let (_driver, driver_url) = start_driver(&home, &relay_url, &shots).await;
    let app_path = std::fs::canonicalize(APP).expect("app binary");
    let app = Session::start(&driver_url, app_path.to_str().expect("UTF-8 path")).await;
    let w = Window {
        app,
        bank: Bank::new(&relay_url, &api_key),
        shots,
    };
    w.set_up(&relay_url).await;
    w.enroll("yamada").await;
    w.check_permissions().await;

    // A login: the prompt opens by itself; ✓ approves it, the bank verifies the JWS.
    let (id, shown) = w.prompt("yamada", "login", login_context()).await;
    assert!(
        shown.contains("203.0.113.7"),
        "the login's IP is shown: {shown}"
    );
    w.shot("03-login-prompt").await;
    let outcome = w.answer(id, "#prompt-approve").await;
    assert_eq!(outcome.status, ChallengeStatus::Approved);
    assert_eq!(
        w.bank.verified_decision(&outcome).await.dec,
        DecisionVerdict::Approve
    );
    w.shot("04-login-approved").await;
    w.app.click("#prompt-done").await;

    // Another login: × denies it.
    let (id, _) = w.prompt("yamada", "login", login_context()).await;
    let outcome = w.answer(id, "#prompt-deny").await;
    assert_eq!(outcome.status, ChallengeStatus::Denied);
    let claims = w.bank.verified_decision(&outcome).await;
    assert_eq!(
        (claims.dec, claims.rsn),
        (DecisionVerdict::Deny, Some(DenyReason::Declined))
    );
    w.shot("05-login-denied").await;
    w.app.click("#prompt-done").await;

    // A transfer: the prompt shows the amount and the payee as posted.
    let (id, shown) = w.prompt("yamada", "transaction", transfer_context()).await;
    for posted in ["1,250,000", "カ）ヤマダショウジ", "0001-123-4567890"] {
        assert!(shown.contains(posted), "{posted} is shown: {shown}");
    }
    w.shot("06-transfer-prompt").await;
    let outcome = w.answer(id, "#prompt-approve").await;
    assert_eq!(outcome.status, ChallengeStatus::Approved);
    w.bank.verified_decision(&outcome).await;
    w.app.click("#prompt-done").await;

    // History shows the three answers.
    w.app.click(".nav-item[data-screen='history']").await;
    w.wait(
        "three history entries",
        "return document.querySelectorAll('#history-list > li').length === 3;",
    )
    .await;
    w.shot("07-history").await;

    // Closing the window keeps the app in the tray, following the relay: a challenge
    // brings the window back with its prompt (and raises the notification).
    w.app.click(".nav-item[data-screen='home']").await;
    let log = w.shots.join("app-and-driver.err.log");
    let shown_before = log_count(&log, "notification shown");
    assert!(
        shown_before > 0,
        "the earlier challenges' notifications were shown"
    );
    Window::close_window();
    wait_for_log(&log, "window closed: the app stays in the tray", 1).await;
    w.wait(
        "the hidden page",
        "return document.visibilityState === 'hidden';",
    )
    .await;
    let (id, shown) = w.prompt("yamada", "login", login_context()).await;
    assert!(shown.contains("203.0.113.7"), "{shown}");
    w.wait(
        "the window shown again",
        "return document.visibilityState === 'visible';",
    )
    .await;
    // The notification was shown by the notification server (a click on it, its
    // "default" action, cannot be driven here: see the app's README).
    wait_for_log(&log, "notification shown", shown_before + 1).await;
    w.shot("08-prompt-after-tray").await;
    let outcome = w.answer(id, "#prompt-approve").await;
    assert_eq!(outcome.status, ChallengeStatus::Approved);
    w.app.end().await;
}

/// How many lines of the app's log (the driver's stderr) contain `text`.
fn log_count(log: &Path, text: &str) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|line| line.contains(text))
        .count()
}

/// Waits until the app's log has at least `times` lines with `text`.
async fn wait_for_log(log: &Path, text: &str, times: usize) {
    let deadline = Instant::now() + WAIT;
    loop {
        if log_count(log, text) >= times {
            return;
        }
        let content = std::fs::read_to_string(log).unwrap_or_default();
        assert!(
            Instant::now() < deadline,
            "the app never logged {text:?}: {content}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Xvfb, WebKitWebDriver and the relay binary: run app/src-tauri/test-window.sh"]
async fn the_real_window_sets_up_a_pc_token_and_shows_its_codes() {
    let shots = target_dir().join("app-screenshots").join("pc-token");
    std::fs::create_dir_all(&shots).expect("screenshot folder");
    let work = tempfile::tempdir().expect("temporary folder");
    let (_relay, relay_url, api_key) = start_relay(&work.path().join("relay"), &shots).await;
    let home = work.path().join("app");
    let (_driver, driver_url) = start_driver(&home, &relay_url, &shots).await;
    let app_path = std::fs::canonicalize(APP).expect("app binary");
    let app = Session::start(&driver_url, app_path.to_str().expect("UTF-8 path")).await;
    let w = Window {
        app,
        bank: Bank::new(&relay_url, &api_key),
        shots,
    };
    w.wait("the Setup screen", &screen_shown("setup")).await;
    w.app.click("#setup-kind-otp").await;
    w.shot("01-setup-pc-token").await;
    w.set_up(&relay_url).await;
    w.wait("the Home screen", &screen_shown("home")).await;
    w.wait(
        "the kind beside the credential ID",
        "return document.getElementById('home-kind').classList.contains('chip-otp') \
         && !document.getElementById('home-kind-help').hidden;",
    )
    .await;
    // The codes it shows enroll the user at the bank, as a code token.
    w.enroll("suzuki").await;
    let (status, user) = w
        .bank
        .call(reqwest::Method::GET, "/v1/users/suzuki", None)
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{user}");
    assert_eq!(user["kind"], "otp", "{user}");
    w.shot("02-pc-token-home").await;
    w.app.end().await;
}
