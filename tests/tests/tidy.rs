//! Tidy: mechanical rules of the codebase, checked so they stay true.
//!
//! Every Rust file opens with a `//!` doc saying what lives there; no test is skipped or
//! expected to panic; no grab-bag module names; `core` never depends on I/O crates.

use std::path::{Path, PathBuf};

use smf_tests::workspace;

fn rust_files(root: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(root).expect("readable workspace") {
        let path = entry.expect("readable entry").path();
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_rust_file_has_a_module_doc_and_no_skipped_tests() {
    let mut files = Vec::new();
    rust_files(&workspace(), &mut files);
    assert!(files.len() > 5);
    let mut problems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable source");
        let relative = file
            .strip_prefix(workspace())
            .unwrap_or(file)
            .display()
            .to_string();
        if !text.trim_start().starts_with("//!") {
            problems.push(format!("{relative}: does not start with a //! module doc"));
        }
        let should_panic = concat!("#[should", "_panic");
        let ignore = concat!("#[ig", "nore");
        for (number, line) in text.lines().enumerate() {
            if line.contains(should_panic) || line.contains(ignore) {
                problems.push(format!(
                    "{relative}:{}: skipped or should-panic test",
                    number + 1
                ));
            }
        }
        let stem = file.file_stem().unwrap_or_default().to_string_lossy();
        if ["utils", "util", "helpers", "common", "misc"].contains(&stem.as_ref()) {
            problems.push(format!("{relative}: grab-bag module name"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn core_does_no_io() {
    let manifest =
        std::fs::read_to_string(workspace().join("core/Cargo.toml")).expect("core/Cargo.toml");
    for crate_name in ["nix", "rusqlite", "crossbeam-channel", "libc", "tokio"] {
        assert!(
            !manifest
                .lines()
                .any(|line| line.trim_start().starts_with(crate_name)),
            "core depends on {crate_name}: core must stay pure (DESIGN.md §1)"
        );
    }
}
