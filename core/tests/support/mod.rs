//! What the core integration tests share: where the corpus and the workspace are.

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
