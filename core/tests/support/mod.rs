//! What the core integration tests share: where the corpus and the workspace are, and the
//! files under a directory.

use std::path::{Path, PathBuf};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `../shared/corpus` beside the project root, or `$SMF_CORPUS`; `None` (and the tests that
/// need it say they skipped) when absent.
pub fn corpus() -> Option<PathBuf> {
    let path = std::env::var_os("SMF_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("../shared/corpus"));
    path.is_dir().then_some(path)
}

/// Every file under `root`, recursively, in path order.
///
/// # Panics
/// If a directory cannot be read: the tests' own input.
#[allow(dead_code, clippy::unwrap_used)]
pub fn files_under(root: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(root)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}
