//! Support for the end-to-end tests: finding the workspace's binaries and running them.
//!
//! `cargo test --workspace` does not build other packages' binaries, so the tests look for
//! them next to the test executable and fail with the command that builds them when they are
//! missing. [`daemon`] runs a real svc.startd on a temporary root.

pub mod daemon;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `../shared/corpus` beside the project root (or `$SMF_CORPUS`), when present.
pub fn corpus() -> Option<PathBuf> {
    let path = std::env::var_os("SMF_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("../shared/corpus"));
    path.is_dir().then_some(path)
}

/// The path of workspace binary `name`, built by `cargo build --workspace`.
///
/// # Panics
/// When the binary has not been built, with the command that builds it.
pub fn binary(name: &str) -> PathBuf {
    let executable = std::env::current_exe().expect("the test knows its own path");
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let profile_dir = executable
        .parent()
        .and_then(Path::parent)
        .expect("test executables live in target/<profile>/deps");
    let path = profile_dir.join(name);
    assert!(
        path.is_file(),
        "{} is missing: build the binaries first with `cargo build --workspace` (the README's test command does)",
        path.display()
    );
    path
}

/// Runs workspace binary `name` with `args` from the workspace root and returns its output.
pub fn run<I, S>(name: &str, args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Command::new(binary(name))
        .args(args)
        .current_dir(workspace())
        .output()
        .expect("the binary can be started")
}
