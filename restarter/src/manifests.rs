//! Finding, reading and checking manifests for import: `ROOT/manifest/**/*.xml` and every
//! `--manifests DIR`, in path order; a file is re-imported only when its content changed
//! (by hash); a broken file is reported and the others load.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use smf_core::manifest::{self, Bundle, BundleKind};

/// One file, read and checked.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Its path.
    pub path: String,
    /// Its content's hash (hex).
    pub hash: String,
    /// Its content.
    pub text: Vec<u8>,
    /// The bundle, when it can be imported.
    pub bundle: Option<Bundle>,
    /// Errors (and warnings), one line each, `FILE:LINE:COL: severity: ...`.
    pub diagnostics: Vec<String>,
}

impl Loaded {
    /// The service names it defines (empty if it cannot be imported).
    pub fn services(&self) -> Vec<String> {
        self.bundle
            .as_ref()
            .map(|bundle| bundle.services.iter().map(|s| s.name.clone()).collect())
            .unwrap_or_default()
    }

    /// Manifest or profile.
    pub fn kind(&self) -> Option<BundleKind> {
        self.bundle.as_ref().map(|bundle| bundle.kind)
    }
}

/// FNV-1a, 64 bits: enough to notice that a file changed.
pub fn hash(bytes: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// Every `.xml` file under `dirs` (recursively; a missing directory is skipped), sorted by
/// path, each once.
pub fn find(dirs: &[PathBuf]) -> (Vec<PathBuf>, Vec<String>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for dir in dirs {
        let mut stack = vec![dir.clone()];
        while let Some(dir) = stack.pop() {
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
                Err(error) => {
                    errors.push(format!("{}: {error}", dir.display()));
                    continue;
                }
            };
            for entry in entries.flatten() {
                let path = entry.path();
                match entry.file_type() {
                    Ok(kind) if kind.is_dir() => stack.push(path),
                    Ok(_) if path.extension().is_some_and(|ext| ext == "xml") => files.push(path),
                    _ => {}
                }
            }
        }
    }
    files.sort();
    files.dedup();
    (files, errors)
}

/// Reads and checks one file. Errors are diagnostics, never a panic.
pub fn load(path: &Path) -> Loaded {
    let shown = path.display().to_string();
    let text = match std::fs::read(path) {
        Ok(text) => text,
        Err(error) => {
            return Loaded {
                path: shown.clone(),
                hash: String::new(),
                text: Vec::new(),
                bundle: None,
                diagnostics: vec![format!("{shown}: error: cannot read: {error}")],
            };
        }
    };
    check(shown, text)
}

/// Parses and checks bytes that came from `path`.
pub fn check(path: String, text: Vec<u8>) -> Loaded {
    let parsed = manifest::parse(&path, &text);
    let mut diagnostics: Vec<String> = parsed.diagnostics.iter().map(|d| d.to_string()).collect();
    let valid = parsed.is_valid();
    let mut bundle = if valid { parsed.bundle } else { None };
    if let Some(found) = &bundle
        && found.kind == BundleKind::Archive
    {
        diagnostics.push(format!("{path}: error: an archive cannot be imported"));
        bundle = None;
    }
    if let Some(found) = &bundle {
        let mut refused = Vec::new();
        for service in &found.services {
            let names = std::iter::once(service.name.as_str()).chain(
                service
                    .instances
                    .iter()
                    .map(|instance| instance.name.as_str()),
            );
            for name in names {
                if let Some(token) = manifest::placeholder(name) {
                    refused.push(format!(
                        "{path}: error: service {}: the name \"{name}\" still holds the build \
                         placeholder {token}; substitute it before import",
                        service.name
                    ));
                }
            }
        }
        if !refused.is_empty() {
            diagnostics.extend(refused);
            bundle = None;
        }
    }
    Loaded {
        hash: hash(&text),
        path,
        text,
        bundle,
        diagnostics,
    }
}

/// What changed since the last scan: files to (re-)import, and files gone.
#[derive(Debug, Default)]
pub struct Scan {
    /// New or changed files, path order.
    pub changed: Vec<Loaded>,
    /// Paths that were imported before and no longer exist.
    pub gone: Vec<String>,
    /// Directories that could not be read.
    pub errors: Vec<String>,
}

/// Scans `dirs` against `known` (path -> hash of what was last loaded).
pub fn scan(dirs: &[PathBuf], known: &BTreeMap<String, String>) -> Scan {
    let (files, errors) = find(dirs);
    let mut scan = Scan {
        errors,
        ..Scan::default()
    };
    let mut present = std::collections::BTreeSet::new();
    for file in files {
        let path = file.display().to_string();
        present.insert(path.clone());
        let text = match std::fs::read(&file) {
            Ok(text) => text,
            Err(error) => {
                scan.errors.push(format!("{path}: {error}"));
                continue;
            }
        };
        if known.get(&path).is_some_and(|h| *h == hash(&text)) {
            continue;
        }
        scan.changed.push(check(path, text));
    }
    scan.gone = known
        .keys()
        .filter(|path| !present.contains(*path))
        .cloned()
        .collect();
    scan
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "<service_bundle type='manifest' name='x'>
      <service name='site/app' type='service' version='1'>
        <create_default_instance enabled='true'/>
        <exec_method type='method' name='start' exec='/bin/true' timeout_seconds='5'/>
        <exec_method type='method' name='stop' exec=':kill' timeout_seconds='5'/>
      </service></service_bundle>";

    #[test]
    fn changed_files_are_found_by_hash_and_broken_ones_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("site")).expect("mkdir");
        std::fs::write(dir.path().join("site/app.xml"), GOOD).expect("write");
        std::fs::write(dir.path().join("broken.xml"), "<service_bundle").expect("write");
        std::fs::write(
            dir.path().join("template.xml"),
            GOOD.replace("site/app", "site/@PROG@"),
        )
        .expect("write");
        let dirs = vec![dir.path().to_path_buf()];
        let first = scan(&dirs, &BTreeMap::new());
        assert_eq!(first.changed.len(), 3);
        let good: Vec<&Loaded> = first
            .changed
            .iter()
            .filter(|l| l.bundle.is_some())
            .collect();
        assert_eq!(good.len(), 1);
        assert_eq!(good[0].services(), ["site/app"]);
        let template = first
            .changed
            .iter()
            .find(|l| l.path.ends_with("template.xml"))
            .expect("template");
        assert!(
            template
                .diagnostics
                .iter()
                .any(|d| d.contains("@PROG@") && d.contains("substitute")),
            "{:?}",
            template.diagnostics
        );
        let known: BTreeMap<String, String> = first
            .changed
            .iter()
            .map(|l| (l.path.clone(), l.hash.clone()))
            .collect();
        let again = scan(&dirs, &known);
        assert!(again.changed.is_empty() && again.gone.is_empty());
        std::fs::remove_file(dir.path().join("broken.xml")).expect("rm");
        std::fs::write(
            dir.path().join("site/app.xml"),
            GOOD.replace("true'/>", "false'/>"),
        )
        .expect("rewrite");
        let third = scan(&dirs, &known);
        assert_eq!(third.changed.len(), 1);
        assert_eq!(third.gone.len(), 1);
        assert!(third.gone[0].ends_with("broken.xml"));
    }
}
