//! `svc.startd [--root DIR] [--manifests DIR]...`: runs in the foreground, logs to stderr,
//! never daemonizes (DESIGN.md §4).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use smf_restarter::contract::Mode;
use smf_restarter::daemon::{self, Options, StartError};
use smf_restarter::logs::Rotation;
use smf_restarter::root::Root;

/// svc.startd: the SMF restarter. Runs every enabled service of its root as a supervised
/// process, in dependency order, and never forgets one.
#[derive(Debug, Parser)]
#[command(name = "svc.startd", version)]
struct Args {
    /// The root holding manifests, the repository, logs and sockets (else $SMF_ROOT, else
    /// /var/svc for root and ~/.local/state/smf for other users).
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Also import the manifests in DIR (recursively), after ROOT/manifest.
    #[arg(long = "manifests", value_name = "DIR")]
    manifests: Vec<PathBuf>,
    /// Rotate a log file when it grows past this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 10 * 1024 * 1024)]
    log_max_bytes: u64,
    /// Keep this many rotated generations of each log.
    #[arg(long, value_name = "N", default_value_t = 3)]
    log_keep: usize,
    /// How to track each instance's processes: a cgroup v2 per instance where svc.startd
    /// can create one (auto, the default), or process groups and the subreaper only.
    #[arg(long, value_name = "MODE", default_value = "auto", value_parser = ["auto", "cgroup", "process-group"])]
    contracts: String,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let manifests = args
        .manifests
        .iter()
        .map(|dir| std::path::absolute(dir).unwrap_or_else(|_| dir.clone()))
        .collect();
    let options = Options {
        root: Root::resolve(args.root),
        manifest_dirs: manifests,
        rotation: Rotation {
            max_bytes: args.log_max_bytes,
            keep: args.log_keep,
        },
        contracts: match args.contracts.as_str() {
            "cgroup" => Some(Mode::Cgroup),
            "process-group" => Some(Mode::ProcessGroup),
            _ => None,
        },
    };
    match daemon::run(options) {
        Ok(status) => ExitCode::from(u8::try_from(status).unwrap_or(1)),
        Err(StartError::Locked(error)) => {
            eprintln!("svc.startd: {error}");
            ExitCode::from(1)
        }
        Err(error) => {
            eprintln!("svc.startd: {error}");
            ExitCode::from(2)
        }
    }
}
