//! The app in tests: `run_app(mock_builder())` with its home in a temporary folder,
//! a relay served in-process on `127.0.0.1:0`, and the UI's IPC calls made through
//! `tauri::test::get_ipc_response`.

use std::path::PathBuf;
use std::sync::{Arc, mpsc};
use std::time::Duration;

use onepush_app::push::Push;
use onepush_app::{AppConfig, Backend, run_app};
use onepush_relay::testing::tampering::{TamperingProxy, spawn_relay_behind_proxy};
use onepush_relay::testing::{TestRelay, spawn_relay};
use serde_json::{Value, json};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{INVOKE_KEY, MockRuntime, mock_builder, mock_context, noop_assets};
use tauri::webview::InvokeRequest;
use tauri::{Listener as _, WebviewWindow, WebviewWindowBuilder};

use super::bank::Bank;

/// Runs a future on Tauri's runtime (the one the commands and the relay run on).
pub fn block_on<F: Future>(future: F) -> F::Output {
    tauri::async_runtime::block_on(future)
}

/// One app install and the relay and bank it talks to.
pub struct TestApp {
    /// The app (mock runtime).
    pub app: tauri::App<MockRuntime>,
    /// Its main window, whose IPC the tests call.
    pub webview: WebviewWindow<MockRuntime>,
    /// The app home.
    pub home: PathBuf,
    /// The relay (taken by tests that stop it).
    pub relay: Option<TestRelay>,
    /// The relay's URL as the app knows it (the proxy's, behind one).
    pub relay_url: String,
    /// The bank (the relay's test tenant).
    pub bank: Bank,
    /// The compromised-relay stand-in the app talks through, when started with one.
    pub proxy: Option<TamperingProxy>,
    /// Makes the push registration each launch manages (as the phones' plugin does).
    push: Option<MakePush>,
    _dir: tempfile::TempDir,
}

/// Makes the [`Push`] one launch of the app manages.
pub type MakePush = Arc<dyn Fn() -> Push + Send + Sync>;

impl TestApp {
    /// A fresh install next to a fresh relay with one bank.
    pub fn start() -> Self {
        init_logging();
        let dir = tempfile::tempdir().expect("temporary folder");
        let relay = block_on(spawn_relay(&dir.path().join("relay")));
        Self::launch_on(dir, relay, None, None)
    }

    /// A fresh install whose relay is reached only through a [`TamperingProxy`] (the
    /// bank talks to the relay directly).
    pub fn start_behind_proxy() -> Self {
        init_logging();
        let dir = tempfile::tempdir().expect("temporary folder");
        let (relay, proxy) = block_on(spawn_relay_behind_proxy(&dir.path().join("relay")));
        Self::launch_on(dir, relay, Some(proxy), None)
    }

    /// Like [`TestApp::start_behind_proxy`], with push registration through the
    /// registrar `push` makes (as on a phone).
    pub fn start_behind_proxy_with_push(push: MakePush) -> Self {
        init_logging();
        let dir = tempfile::tempdir().expect("temporary folder");
        let (relay, proxy) = block_on(spawn_relay_behind_proxy(&dir.path().join("relay")));
        Self::launch_on(dir, relay, Some(proxy), Some(push))
    }

    fn launch_on(
        dir: tempfile::TempDir,
        relay: TestRelay,
        proxy: Option<TamperingProxy>,
        push: Option<MakePush>,
    ) -> Self {
        let home = dir.path().join("app");
        let relay_url = proxy.as_ref().map_or(relay.url.clone(), |p| p.url.clone());
        let (app, webview, _) = launch(&home, &relay_url, None, push.as_ref());
        Self {
            app,
            webview,
            home,
            relay_url,
            bank: Bank::new(&relay.url, &relay.api_key),
            relay: Some(relay),
            proxy,
            push,
            _dir: dir,
        }
    }

    /// The proxy of [`TestApp::start_behind_proxy`].
    pub fn proxy(&self) -> &TamperingProxy {
        self.proxy.as_ref().expect("started behind a proxy")
    }

    /// Opens challenge `id` as the prompt does (`get_challenge`); what it shows.
    pub fn show(&self, id: &str) -> Value {
        self.ok("get_challenge", json!({ "id": id }))
    }

    /// Quits and starts the app again on the same home (as after a reboot); the
    /// payloads of backend event `name` from the very start.
    pub fn restart_listening(&mut self, name: &str) -> mpsc::Receiver<Value> {
        self.app.cleanup_before_exit();
        let (app, webview, rx) =
            launch(&self.home, &self.relay_url, Some(name), self.push.as_ref());
        self.app = app;
        self.webview = webview;
        rx.expect("listening")
    }

    /// Quits, and starts the app on `home` instead (a copy of the folder, say).
    pub fn restart_on(&mut self, home: PathBuf) {
        self.app.cleanup_before_exit();
        let (app, webview, _) = launch(&home, &self.relay_url, None, self.push.as_ref());
        self.app = app;
        self.webview = webview;
        self.home = home;
    }

    /// Invokes `cmd` with `args` as the UI does; the answer or the rejection.
    pub fn invoke(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        let request = InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().expect("URL"),
            body: InvokeBody::Json(args),
            headers: tauri::http::HeaderMap::default(),
            invoke_key: INVOKE_KEY.to_owned(),
        };
        tauri::test::get_ipc_response(&self.webview, request)
            .map(|body| body.deserialize::<Value>().expect("a JSON answer"))
    }

    /// Invokes `cmd`, which must succeed.
    pub fn ok(&self, cmd: &str, args: Value) -> Value {
        self.invoke(cmd, args)
            .unwrap_or_else(|e| panic!("{cmd} failed: {e}"))
    }

    /// Invokes `cmd`, which must fail with `{ kind, message }`; the kind.
    pub fn fails(&self, cmd: &str, args: Value) -> String {
        let error = self
            .invoke(cmd, args)
            .map(|v| panic!("{cmd} should fail, answered {v}"))
            .unwrap_err();
        let object = error.as_object().expect("the error is an object");
        assert_eq!(object.len(), 2, "only kind and message: {error}");
        assert!(
            object["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{error}"
        );
        object["kind"].as_str().expect("kind").to_owned()
    }

    /// Sets up against the relay (with `pin` when given); the compact credential ID.
    /// The vault is sealed by the OS keystore ([`keystore_here`]: else a key file).
    pub fn set_up(&self, pin: Option<&str>) -> String {
        let mut args = setup_args(json!({ "relayUrl": self.relay_url }));
        if let Some(pin) = pin {
            args["pin"] = pin.into();
        }
        let state = self.ok("setup", args);
        state["credentialId"]
            .as_str()
            .expect("credential ID")
            .to_owned()
    }

    /// Enrolls `user` at the bank with the credential ID and two codes from the app.
    pub fn enroll(&self, credential: &str, user: &str) {
        let codes = self.ok("codes", json!({}));
        let pair = [
            codes["current"].as_str().expect("current"),
            codes["next"].as_str().expect("next"),
        ];
        let (status, body) = block_on(self.bank.enroll(user, credential, pair));
        assert_eq!(status, reqwest::StatusCode::CREATED, "enrollment: {body}");
    }

    /// Receives the payloads of backend event `name`.
    pub fn events(&self, name: &str) -> mpsc::Receiver<Value> {
        listen_to(&self.app, name)
    }
}

fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// Whether setup can seal vaults with the OS keystore here. Without one the tests set
/// up in file-key mode, outside CI only (printing why); with `CI=true` they fail.
pub fn keystore_here() -> bool {
    static KEYSTORE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *KEYSTORE.get_or_init(|| {
        onepush_device::os_keystore::available_for_test(
            "the app tests' setup (keystore-sealed vaults)",
        )
    })
}

/// `setup`'s arguments `args`, in file-key mode when there is no keystore here.
pub fn setup_args(mut args: Value) -> Value {
    if !keystore_here() {
        args["keyMode"] = "file".into();
    }
    args
}

/// Builds the app on `home`, listens to event `listen` if asked, then runs the setup
/// hook (what the Ready event does in a real run: the background task starts; the
/// mock runtime's iteration itself does nothing).
fn launch(
    home: &std::path::Path,
    relay_url: &str,
    listen: Option<&str>,
    push: Option<&MakePush>,
) -> (
    tauri::App<MockRuntime>,
    WebviewWindow<MockRuntime>,
    Option<mpsc::Receiver<Value>>,
) {
    let config = AppConfig {
        home: home.to_owned(),
        relay_url: relay_url.to_owned(),
    };
    let mut builder = mock_builder().manage(Backend::open(config));
    if let Some(push) = push {
        builder = builder.manage(push());
    }
    let mut app = run_app(builder)
        .build(mock_context(noop_assets()))
        .expect("the app builds");
    let rx = listen.map(|name| listen_to(&app, name));
    #[allow(deprecated, reason = "one call on the mock runtime, not a loop")]
    app.run_iteration(|_, _| {});
    let webview = WebviewWindowBuilder::new(&app, "main", tauri::WebviewUrl::default())
        .build()
        .expect("the main window");
    (app, webview, rx)
}

fn listen_to(app: &tauri::App<MockRuntime>, name: &str) -> mpsc::Receiver<Value> {
    let (tx, rx) = mpsc::channel();
    app.listen_any(name.to_owned(), move |event| {
        let payload = serde_json::from_str(event.payload()).expect("JSON payload");
        let _ = tx.send(payload);
    });
    rx
}

/// The next payload on `rx` that satisfies `pick`, within 15 s.
pub fn wait_for(rx: &mpsc::Receiver<Value>, pick: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(payload) if pick(&payload) => return payload,
            Ok(_) => {}
            Err(e) => panic!("no matching event: {e}"),
        }
    }
}
