//! svccfg: the manifest tool. `svccfg validate FILE...` checks manifests and profiles as
//! svccfg(8) does, printing each problem as `FILE:LINE:COL: error|warning: message`.
//!
//! Exit codes (svccfg(8)): 0 when every file is valid (warnings allowed), 1 when any file has
//! an error or cannot be read, 2 for bad usage. Import, export and delete need the repository
//! and arrive with svc.startd.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use smf_core::manifest::{self, Diagnostic, Severity, Span};

#[derive(Parser)]
#[command(name = "svccfg", about = "Validate SMF service manifests and profiles")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check manifests and profiles without importing them.
    Validate {
        /// Print the diagnostics as one JSON document instead of text.
        #[arg(long)]
        json: bool,
        /// The files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// One file's result, as `--json` prints it.
#[derive(serde::Serialize)]
struct FileReport {
    file: String,
    valid: bool,
    diagnostics: Vec<Diagnostic>,
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match args.command {
        Command::Validate { json, files } => validate(&files, json),
    }
}

fn validate(files: &[PathBuf], json: bool) -> ExitCode {
    let reports: Vec<FileReport> = files.iter().map(|file| check(file)).collect();
    let all_valid = reports.iter().all(|report| report.valid);
    let mut stdout = std::io::stdout().lock();
    let written = if json {
        serde_json::to_string_pretty(&reports)
            .map_err(std::io::Error::other)
            .and_then(|text| writeln!(stdout, "{text}"))
    } else {
        reports
            .iter()
            .flat_map(|report| &report.diagnostics)
            .try_for_each(|diagnostic| writeln!(stdout, "{diagnostic}"))
    };
    match written {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
            eprintln!("svccfg: cannot write the report: {error}");
            ExitCode::from(1)
        }
        _ if all_valid => ExitCode::SUCCESS,
        _ => ExitCode::from(1),
    }
}

fn check(file: &std::path::Path) -> FileReport {
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
