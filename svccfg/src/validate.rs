//! `svccfg validate`, and the same check `svccfg import` makes before sending anything.

use std::io::Write;
use std::path::{Path, PathBuf};

use smf_core::manifest::{self, Diagnostic, Severity, Span};

/// One file's result, as `--json` prints it.
#[derive(serde::Serialize)]
pub(crate) struct FileReport {
    pub(crate) file: String,
    pub(crate) valid: bool,
    pub(crate) diagnostics: Vec<Diagnostic>,
}

/// `svccfg validate [--json] FILE...`: every problem of every file on `out`; 0 when all
/// are valid (warnings allowed), else 1.
pub(crate) fn validate(
    files: &[PathBuf],
    json: bool,
    out: &mut impl Write,
    err: &mut impl Write,
) -> u8 {
    let reports: Vec<FileReport> = files.iter().map(|file| check(file)).collect();
    let all_valid = reports.iter().all(|report| report.valid);
    let written = if json {
        serde_json::to_string_pretty(&reports)
            .map_err(std::io::Error::other)
            .and_then(|text| writeln!(out, "{text}"))
    } else {
        reports
            .iter()
            .flat_map(|report| &report.diagnostics)
            .try_for_each(|diagnostic| writeln!(out, "{diagnostic}"))
    };
    match written {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
            let _ = writeln!(err, "svccfg: cannot write the report: {error}");
            1
        }
        _ if all_valid => 0,
        _ => 1,
    }
}

/// Reads and checks one file (a file that cannot be read is one error).
pub(crate) fn check(file: &Path) -> FileReport {
    let name = file.display().to_string();
    match std::fs::read(file) {
        Ok(bytes) => {
            let parsed = manifest::parse(&name, &bytes);
            FileReport {
                valid: parsed.is_valid(),
                diagnostics: parsed.diagnostics,
                file: name,
            }
        }
        Err(error) => FileReport {
            valid: false,
            diagnostics: vec![Diagnostic {
                severity: Severity::Error,
                span: Span {
                    file: name.clone(),
                    line: 0,
                    column: 0,
                    path: String::new(),
                },
                message: format!("cannot read the file: {error}"),
            }],
            file: name,
        },
    }
}
