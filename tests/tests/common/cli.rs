//! The `onepush-device` binary as a process: built once per test binary (Cargo does
//! not build a dependency's binaries), run with a clean environment.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use assert_cmd::assert::Assert;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

/// The variables the binary reads, removed so the caller's environment cannot leak in.
const DEVICE_ENV: [&str; 5] = [
    "ONEPUSH_DEVICE_HOME",
    "ONEPUSH_DEVICE_PIN",
    "ONEPUSH_DEVICE_INSECURE",
    "ONEPUSH_RELAY_URL",
    "ONEPUSH_LOG",
];

/// The path of the built `onepush-device` binary (building it on first use).
pub fn device_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| build_bin("onepush-device"))
}

/// Builds binary `name` of the device or relay crate next to this test executable and
/// answers its path.
pub fn build_bin(name: &str) -> PathBuf {
    // This test runs as <target>/<profile>/deps/<name>: build next to it.
    let exe = std::env::current_exe().expect("test executable");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>")
        .to_owned();
    let target_dir = profile_dir.parent().expect("target folder");
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .expect("profile name");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut build = std::process::Command::new(cargo);
    // With the relay selected too, shared crates get the features the test build gave
    // them, so this build reuses its artifacts instead of recompiling them.
    build.args([
        "build",
        "--quiet",
        "-p",
        "onepush-device",
        "-p",
        "onepush-relay",
    ]);
    build.args(["--features", "onepush-relay/testing", "--bin", name]);
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        build.arg("--locked");
    }
    if profile != "debug" {
        build.args(["--profile", profile]);
    }
    let status = build
        .env("CARGO_TARGET_DIR", target_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building {name} failed");
    profile_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

/// The binary for the phone in `home`, with a clean environment.
pub fn device(home: &Path) -> assert_cmd::Command {
    let mut command = assert_cmd::Command::new(device_bin());
    for name in DEVICE_ENV {
        command.env_remove(name);
    }
    command
        .arg("--home")
        .arg(home)
        .timeout(Duration::from_secs(60));
    command
}

/// Adds `--file-key` when this machine has no OS keystore, outside CI only (printing
/// why): the vaults of the CLI tests are then sealed by a key file, and everything but
/// the keystore is still tested. With `CI=true` a missing keystore fails the test.
pub fn file_key_unless_keystore(command: &mut assert_cmd::Command) {
    static KEYSTORE: OnceLock<bool> = OnceLock::new();
    let available = *KEYSTORE.get_or_init(|| {
        onepush_device::os_keystore::available_for_test("the CLI tests' PIN vaults")
    });
    if !available {
        command.arg("--file-key");
    }
}

/// Runs a command to its end off the async runtime (the relay keeps serving).
pub async fn run(mut command: assert_cmd::Command) -> Assert {
    tokio::task::spawn_blocking(move || command.assert())
        .await
        .expect("command thread")
}

/// The standard output of a finished command.
pub fn stdout(assert: &Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stdout).into_owned()
}

/// The standard error of a finished command.
pub fn stderr(assert: &Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stderr).into_owned()
}

/// The first line of a command's output as JSON.
pub fn json_line(assert: &Assert) -> Value {
    let out = stdout(assert);
    let line = out
        .lines()
        .next()
        .unwrap_or_else(|| panic!("no output; stderr: {}", stderr(assert)));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
}

/// A long-running `onepush-device` (watch, push-endpoint) whose JSON lines are read.
pub struct Running {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Running {
    /// Starts the binary for the phone in `home` with `args`, killed when dropped.
    pub fn start(home: &Path, args: &[&str]) -> Self {
        Self::start_with_env(home, args, &[])
    }

    /// As [`Running::start`] with some environment variables set.
    pub fn start_with_env(home: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = tokio::process::Command::new(device_bin());
        for name in DEVICE_ENV {
            command.env_remove(name);
        }
        command.envs(env.iter().copied());
        let mut child = command
            .arg("--home")
            .arg(home)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("onepush-device starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let stdin = child.stdin.take().expect("piped stdin");
        Self {
            child,
            stdin,
            lines: BufReader::new(stdout).lines(),
        }
    }

    /// Types a line at the process's prompt.
    pub async fn type_line(&mut self, text: &str) {
        self.stdin
            .write_all(format!("{text}\n").as_bytes())
            .await
            .expect("write stdin");
        self.stdin.flush().await.expect("flush stdin");
    }

    /// The next JSON line, within `secs` seconds.
    pub async fn next_json(&mut self, secs: u64) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(secs), self.lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("no output within {secs} s"))
            .expect("read stdout")
            .expect("the process ended");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }

    /// Waits for the process to end by itself, within `secs` seconds.
    pub async fn wait(mut self, secs: u64) -> std::process::ExitStatus {
        tokio::time::timeout(Duration::from_secs(secs), self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("still running after {secs} s"))
            .expect("wait")
    }
}
