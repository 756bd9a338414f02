//! Each crate's integration tests are one binary, `tests/main.rs`, and Cargo compiles
//! only what it names (`autotests = false`): a test file added beside it and not
//! declared there would never run. This checks every crate of the workspace.

use std::path::{Path, PathBuf};

/// The `tests/` folders of the workspace that hold a `main.rs`.
fn test_folders(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![root.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().map(Result::unwrap) {
            let path = entry.path();
            let name = entry.file_name();
            if !path.is_dir()
                || [".git", "target", "node_modules", "fuzz"].contains(&&*name.to_string_lossy())
            {
                continue;
            }
            if name == "tests" && path.join("main.rs").is_file() {
                found.push(path);
            } else {
                pending.push(path);
            }
        }
    }
    found
}

/// The modules `folder` holds: `x.rs` files and `x/mod.rs` folders, but `main.rs`.
fn modules(folder: &Path) -> Vec<String> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(folder).unwrap().map(Result::unwrap) {
        let path = entry.path();
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let is_file_module = path.extension().is_some_and(|e| e == "rs") && stem != "main";
        if is_file_module || path.join("mod.rs").is_file() {
            names.push(stem);
        }
        assert!(
            !path.join("main.rs").is_file(),
            "{} is a test binary of its own; make it a module (mod.rs) of {}",
            path.display(),
            folder.join("main.rs").display()
        );
    }
    names
}

#[test]
fn every_test_file_is_a_module_of_its_crates_one_test_binary() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let folders = test_folders(root);
    assert!(folders.len() >= 6, "{folders:?}");
    for folder in folders {
        let main = std::fs::read_to_string(folder.join("main.rs")).unwrap();
        for module in modules(&folder) {
            assert!(
                main.lines().any(|l| l.trim() == format!("mod {module};")),
                "{}: `mod {module};` is missing, so its tests never run",
                folder.join("main.rs").display()
            );
        }
    }
}
