//! The app's configuration keeps the UI's contract: the capability grants exactly the
//! commands of app/ui/COMMANDS.md (and the two event calls the UI makes), which are
//! the commands declared in `build.rs` and registered in `run_app`; the window and CSP
//! are what the UI expects; the icons are RGBA PNGs.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

fn read(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

fn json(path: &str) -> Value {
    serde_json::from_str(&read(path)).expect("JSON")
}

/// The command names in the "Commands" table of COMMANDS.md.
fn contract_commands() -> BTreeSet<String> {
    let text = read("../ui/COMMANDS.md");
    let section = text
        .split("## Commands")
        .nth(1)
        .expect("a Commands section");
    let section = section.split("\n## ").next().unwrap_or(section);
    section
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split('`').next())
        .map(str::to_owned)
        .collect()
}

/// The `"..."` strings inside the `COMMANDS` array of build.rs.
fn declared_commands() -> BTreeSet<String> {
    let text = read("build.rs");
    let array = text.split("const COMMANDS").nth(1).expect("COMMANDS");
    let array = &array[..array.find("];").expect("end of COMMANDS")];
    array
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// The `commands::<module>::<name>` entries of the handler in lib.rs.
fn registered_commands() -> BTreeSet<String> {
    let text = read("src/lib.rs");
    let handler = text.split("generate_handler![").nth(1).expect("handler");
    let handler = &handler[..handler.find(']').expect("end of handler")];
    handler
        .split(',')
        .filter_map(|entry| entry.trim().rsplit("::").next())
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn capability_grants_exactly_the_contracts_commands() {
    let contract = contract_commands();
    assert_eq!(contract.len(), 19, "{contract:?}");
    assert_eq!(declared_commands(), contract, "build.rs");
    assert_eq!(registered_commands(), contract, "run_app's handler");

    let capability = json("capabilities/default.json");
    assert_eq!(capability["windows"], serde_json::json!(["main"]));
    let mut granted = BTreeSet::new();
    let mut others = BTreeSet::new();
    for permission in capability["permissions"].as_array().expect("permissions") {
        let permission = permission.as_str().expect("a permission name");
        match permission.strip_prefix("allow-") {
            Some(command) => granted.insert(command.replace('-', "_")),
            None => others.insert(permission.to_owned()),
        };
    }
    assert_eq!(granted, contract);
    let events: BTreeSet<String> = ["core:event:allow-listen", "core:event:allow-unlisten"]
        .map(str::to_owned)
        .into();
    assert_eq!(others, events, "nothing beyond listening to events");
}

#[test]
fn phones_only_add_listening_to_the_push_plugin() {
    let capability = json("capabilities/push-mobile.json");
    assert_eq!(capability["windows"], serde_json::json!(["main"]));
    assert_eq!(
        capability["platforms"],
        serde_json::json!(["android", "iOS"])
    );
    assert_eq!(
        capability["permissions"],
        serde_json::json!([
            "notifications:allow-register-listener",
            "notifications:allow-remove-listener",
            "notifications:allow-set-click-listener-active"
        ])
    );
    let files: Vec<_> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/capabilities"))
        .expect("capabilities")
        .map(|e| e.expect("entry").file_name().into_string().expect("name"))
        .collect();
    assert_eq!(
        files.len(),
        3,
        "default.json, push-mobile.json and scan-mobile.json: {files:?}"
    );
}

#[test]
fn phones_only_add_the_camera_scan_of_an_offline_qr_code() {
    let capability = json("capabilities/scan-mobile.json");
    assert_eq!(capability["windows"], serde_json::json!(["main"]));
    assert_eq!(
        capability["platforms"],
        serde_json::json!(["android", "iOS"])
    );
    assert_eq!(
        capability["permissions"],
        serde_json::json!([
            "barcode-scanner:allow-scan",
            "barcode-scanner:allow-cancel",
            "barcode-scanner:allow-check-permissions",
            "barcode-scanner:allow-request-permissions"
        ])
    );
}

#[test]
fn window_and_csp_are_what_the_ui_expects() {
    let config = json("tauri.conf.json");
    assert_eq!(config["identifier"], "dev.onepush.app");
    assert_eq!(config["build"]["frontendDist"], "../ui");
    assert_eq!(config["app"]["withGlobalTauri"], true);
    let window = &config["app"]["windows"][0];
    assert_eq!(
        (&window["title"], &window["width"], &window["height"]),
        (&"OnePush".into(), &360.into(), &740.into())
    );
    let csp = config["app"]["security"]["csp"].as_str().expect("a CSP");
    for directive in [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "object-src 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} in {csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    assert_eq!(config["bundle"]["active"], false);
    assert!(
        config["bundle"]["android"]["minSdkVersion"]
            .as_u64()
            .is_some()
    );
    assert!(
        config["bundle"]["iOS"]["minimumSystemVersion"]
            .as_str()
            .is_some()
    );
}

#[test]
fn icons_are_rgba_pngs() {
    let config = json("tauri.conf.json");
    for icon in config["bundle"]["icon"].as_array().expect("icons") {
        let path = icon.as_str().expect("a path");
        let bytes = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).expect("icon");
        if Path::new(path)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("png"))
        {
            assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{path}");
            assert_eq!((bytes[24], bytes[25]), (8, 6), "{path}: 8-bit RGBA");
        }
    }
}
