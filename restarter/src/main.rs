//! `svc.startd [--root DIR] [--manifests DIR]...`: runs in the foreground, logs to stderr,
//! never daemonizes (DESIGN.md §4).

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use smf_restarter::contract::Mode;
use smf_restarter::daemon::{self, Options, StartError};
use smf_restarter::logs::Rotation;
use smf_restarter::root::Root;

const USAGE: &str = "Usage: svc.startd [--root DIR] [--manifests DIR]... [--log-max-bytes BYTES] [--log-keep N] [--contracts auto|cgroup|process-group]";

const HELP: &str = "svc.startd: the SMF restarter. Runs every enabled service of its root as a supervised
process, in dependency order, and never forgets one.

Options:
      --root DIR             The root holding manifests, the repository, logs and sockets (else
                             $SMF_ROOT, else /var/svc for root and ~/.local/state/smf for other
                             users)
      --manifests DIR        Also import the manifests in DIR (recursively), after ROOT/manifest
      --log-max-bytes BYTES  Rotate a log file when it grows past this many bytes [default: 10485760]
      --log-keep N           Keep this many rotated generations of each log [default: 3]
      --contracts MODE       How to track each instance's processes: a cgroup v2 per instance
                             where svc.startd can create one (auto, the default), or process
                             groups and the subreaper only [possible values: auto, cgroup,
                             process-group]
  -h, --help                 Print help
  -V, --version              Print version";

/// The command line, parsed by hand: svc.startd's whole code stays resident for as long as
/// it runs, and an argument parser's would be there only for this.
#[derive(Debug)]
struct Args {
    root: Option<PathBuf>,
    manifests: Vec<PathBuf>,
    log_max_bytes: u64,
    log_keep: usize,
    contracts: Option<Mode>,
}

/// What the command line asks for.
#[derive(Debug)]
enum Command {
    Run(Args),
    Help,
    Version,
}

fn parse_args(arguments: impl IntoIterator<Item = OsString>) -> Result<Command, String> {
    let mut args = Args {
        root: None,
        manifests: Vec::new(),
        log_max_bytes: 10 * 1024 * 1024,
        log_keep: 3,
        contracts: None,
    };
    let mut arguments = arguments.into_iter();
    while let Some(argument) = arguments.next() {
        let Some(text) = argument.to_str() else {
            return Err(format!("unexpected argument {argument:?}"));
        };
        let (flag, inline) = match text.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(OsString::from(value))),
            _ => (text, None),
        };
        match flag {
            "-h" | "--help" if inline.is_none() => return Ok(Command::Help),
            "-V" | "--version" if inline.is_none() => return Ok(Command::Version),
            "--root" | "--manifests" | "--log-max-bytes" | "--log-keep" | "--contracts" => {}
            _ => return Err(format!("unexpected argument '{text}'")),
        }
        let value = match inline.or_else(|| arguments.next()) {
            Some(value) if !value.is_empty() => value,
            _ => {
                return Err(format!(
                    "a value is required for '{flag}' but none was supplied"
                ));
            }
        };
        let number = |value: &OsString| {
            value
                .to_str()
                .and_then(|text| text.parse::<u64>().ok())
                .ok_or_else(|| format!("invalid value {value:?} for '{flag}': not a number"))
        };
        match flag {
            "--root" => args.root = Some(PathBuf::from(value)),
            "--manifests" => args.manifests.push(PathBuf::from(value)),
            "--log-max-bytes" => args.log_max_bytes = number(&value)?,
            "--log-keep" => {
                args.log_keep = usize::try_from(number(&value)?)
                    .map_err(|_| format!("invalid value {value:?} for '{flag}': too large"))?;
            }
            _ => {
                args.contracts = match value.to_str() {
                    Some("auto") => None,
                    Some("cgroup") => Some(Mode::Cgroup),
                    Some("process-group") => Some(Mode::ProcessGroup),
                    _ => {
                        return Err(format!(
                            "invalid value {value:?} for '{flag}' [possible values: auto, cgroup, process-group]"
                        ));
                    }
                };
            }
        }
    }
    Ok(Command::Run(args))
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args_os().skip(1)) {
        Ok(Command::Run(args)) => args,
        Ok(Command::Help) => {
            println!("{HELP}\n\n{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Command::Version) => {
            println!("svc.startd {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!(
                "svc.startd: error: {error}\n\n{USAGE}\n\nFor more information, try '--help'."
            );
            return ExitCode::from(2);
        }
    };
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
        contracts: args.contracts,
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn parse(words: &[&str]) -> Result<Command, String> {
        parse_args(words.iter().map(OsString::from))
    }

    #[test]
    fn every_option_parses_in_both_spellings() {
        let Ok(Command::Run(args)) = parse(&[
            "--root",
            "/r",
            "--manifests=/a",
            "--manifests",
            "/b",
            "--log-max-bytes=200000",
            "--log-keep",
            "2",
            "--contracts",
            "process-group",
        ]) else {
            panic!("does not parse");
        };
        assert_eq!(args.root, Some(PathBuf::from("/r")));
        assert_eq!(args.manifests, [PathBuf::from("/a"), PathBuf::from("/b")]);
        assert_eq!((args.log_max_bytes, args.log_keep), (200_000, 2));
        assert_eq!(args.contracts, Some(Mode::ProcessGroup));
        let Ok(Command::Run(defaults)) = parse(&[]) else {
            panic!("does not parse");
        };
        assert_eq!((defaults.log_max_bytes, defaults.log_keep), (10 << 20, 3));
        assert_eq!(defaults.contracts, None);
        assert!(
            matches!(parse(&["--contracts=cgroup"]), Ok(Command::Run(a)) if a.contracts == Some(Mode::Cgroup))
        );
        assert!(matches!(
            parse(&["--root", "/r", "--help"]),
            Ok(Command::Help)
        ));
        assert!(matches!(parse(&["-V"]), Ok(Command::Version)));
    }

    #[test]
    fn mistakes_are_named() {
        for (words, expected) in [
            (&["--bogus"][..], "unexpected argument '--bogus'"),
            (&["extra"][..], "unexpected argument 'extra'"),
            (&["--root"][..], "a value is required for '--root'"),
            (
                &["--log-keep", "many"][..],
                "invalid value \"many\" for '--log-keep'",
            ),
            (
                &["--contracts", "both"][..],
                "possible values: auto, cgroup, process-group",
            ),
            (&["--help=yes"][..], "unexpected argument '--help=yes'"),
        ] {
            let error = parse(words).unwrap_err();
            assert!(error.contains(expected), "{words:?}: {error}");
        }
    }
}
