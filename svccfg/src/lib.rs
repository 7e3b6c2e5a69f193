//! `svccfg`: manifests in and out of svc.startd's repository, and the properties of services
//! (svccfg(8); smf-reference.md §7).
//!
//! ```text
//! svccfg validate [--json] FILE...
//! svccfg [--root DIR] import FILE...
//! svccfg [--root DIR] export FMRI
//! svccfg [--root DIR] delete [-f] FMRI
//! svccfg [--root DIR] listprop FMRI [PATTERN]
//! svccfg [--root DIR] setprop FMRI pg/prop = [TYPE:] VALUE
//! svccfg [--root DIR] setprop FMRI pg/prop = [TYPE:] ( VALUE... )
//! ```
//!
//! Exit status: 0 done; 1 an error (a file with errors, a name that matches nothing, a value
//! of the wrong type, no daemon, permission refused); 2 bad usage. Errors are one line each,
//! `svccfg: ...`, naming the file (`FILE:LINE:COL: error: ...`) or the FMRI.
//!
//! `validate` works on files alone. The others ask svc.startd on the root's control socket;
//! `import` checks every file first as `validate` does and sends nothing if one has an
//! error. What the daemon keeps, and when a `setprop` takes effect (at the next
//! `svcadm refresh`), is told in ARCHITECTURE.md ("svccfg").

mod listprop;
mod setprop;
mod validate;

pub use listprop::render;
pub use setprop::{Assignment, parse_assignment};

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use smf_client::Client;
use smf_core::fmri::Fmri;
use smf_core::protocol::{Request, Response};

/// svccfg's command line.
#[derive(Debug, Parser)]
#[command(
    name = "svccfg",
    version,
    about = "Import, export and delete services; list and set their properties",
    long_about = "Validates service manifests, imports them into svc.startd's repository \
                  (where they stay across restarts), exports a service back as a manifest, \
                  deletes services, and lists and sets their properties. Services and \
                  instances are named by FMRI (svc:/site/app, svc:/site/app:default) or by \
                  the end of their name (site/app, app:default)."
)]
pub struct Args {
    /// The smf root (default: $SMF_ROOT, else /var/svc for root and
    /// $XDG_STATE_HOME/smf or ~/.local/state/smf for other users).
    #[arg(long, global = true, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// svccfg's subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check manifests and profiles without importing them (no daemon needed).
    #[command(
        long_about = "Checks manifests and profiles as svccfg import would, without importing \
                      them. Prints every problem as FILE:LINE:COL: error|warning: message; exits \
                      0 when every file is valid (warnings allowed), 1 otherwise."
    )]
    Validate {
        /// Print the diagnostics as one JSON document instead of text.
        #[arg(long)]
        json: bool,
        /// The files to check.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Import manifests: their services are (re)defined and their instances come up as
    /// their `enabled` says.
    #[command(
        long_about = "Checks every file as validate does (a file with errors is refused, and \
                      then nothing is imported), then has svc.startd import them. A manifest \
                      imported from outside the manifest directories is kept in the repository: \
                      it is imported again at every start of svc.startd, from the text imported, \
                      even if the file is gone. Importing a file brings back what svccfg delete \
                      deleted from it. Properties set with setprop stay set."
    )]
    Import {
        /// The manifests (or profiles).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Print a service's definition as a manifest (properties set with setprop included).
    #[command(
        long_about = "Prints the service FMRI names (or the service of the instance it names) as \
                      a service_bundle manifest, with every property set with setprop, whether \
                      or not it has been refreshed. The output validates and imports back to the \
                      same service."
    )]
    Export {
        /// The service (or one of its instances).
        #[arg(value_name = "FMRI")]
        fmri: String,
    },
    /// Delete a service (or an instance): its instances are stopped and it is forgotten.
    #[command(
        long_about = "Stops the instances of the service FMRI names (dependents first) and \
                      removes the service, with its properties set by setprop, from the \
                      repository; an instance FMRI removes only that instance (stopped at once). \
                      It stays deleted across restarts and rescans while the manifest that \
                      delivered it is unchanged; a changed manifest, or svccfg import of it, \
                      brings it back."
    )]
    Delete {
        /// Accepted for compatibility: running instances are always stopped first.
        #[arg(short)]
        force: bool,
        /// The service or instance.
        #[arg(value_name = "FMRI")]
        fmri: String,
    },
    /// List an instance's properties: property groups, then each property with its type and
    /// values.
    #[command(
        long_about = "Lists the property groups and properties of the instance FMRI names, as it \
                      runs (values set with setprop appear after svcadm refresh). PATTERN, a \
                      shell glob, selects property groups (pg) or properties (pg/prop)."
    )]
    Listprop {
        /// The instance.
        #[arg(value_name = "FMRI")]
        fmri: String,
        /// A glob on `pg` or `pg/prop`.
        #[arg(value_name = "PATTERN")]
        pattern: Option<String>,
    },
    /// Set a property of a service or instance; it applies at the next `svcadm refresh`.
    #[command(
        long_about = "Sets pg/prop of the service or instance FMRI names, kept in the repository \
                      over what the manifest says (and across restarts and re-imports). The type \
                      is the existing property's; a new property needs one (TYPE: before the \
                      value), and a given type must be the existing one. A list of values is \
                      written in parentheses: ( v1 v2 ). A value in double quotes (for the shell: \
                      '\"hello world\"') loses them. The instance runs with the new value after \
                      svcadm refresh; svccfg export shows it at once.",
        after_help = "Examples:\n  svccfg setprop site/app config/greeting = astring: hello\n  \
                      svccfg setprop site/app:default startd/critical_failure_count = count: 2\n  \
                      svccfg setprop site/app config/ports = count: '(' 80 443 ')'"
    )]
    Setprop {
        /// The service or instance.
        #[arg(value_name = "FMRI")]
        fmri: String,
        /// `pg/prop = [TYPE:] VALUE`, or `pg/prop = [TYPE:] ( VALUE... )`.
        #[arg(
            required = true,
            num_args = 1..,
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "pg/prop = [TYPE:] VALUE"
        )]
        assignment: Vec<String>,
    },
}

/// svccfg's clap command (for man pages and completions).
pub fn command() -> clap::Command {
    <Args as clap::CommandFactory>::command()
}

/// Runs svccfg with `args` (the program name first) and returns its exit status.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    smf_client::run_tool(args, |args: &Args, out, err| run(args, out, err))
}

/// What svccfg prints, and its exit status.
pub fn run(args: &Args, out: &mut impl Write, err: &mut impl Write) -> u8 {
    let root = || smf_client::resolve_root(args.root.clone());
    match &args.command {
        Command::Validate { json, files } => validate::validate(files, *json, out, err),
        Command::Import { files } => import(&root(), files, err),
        Command::Export { fmri } => export(&root(), fmri, out, err),
        Command::Delete { force: _, fmri } => {
            let request = Request::Delete {
                pattern: fmri.clone(),
            };
            match call(&root(), &request, fmri, err) {
                Ok(Response::Changed { .. }) => 0,
                Ok(other) => unexpected(&other, err),
                Err(status) => status,
            }
        }
        Command::Listprop { fmri, pattern } => {
            listprop(&root(), fmri, pattern.as_deref(), out, err)
        }
        Command::Setprop { fmri, assignment } => {
            let assignment = match parse_assignment(assignment) {
                Ok(assignment) => assignment,
                Err(message) => {
                    let _ = writeln!(err, "svccfg: setprop: {message}");
                    return 2;
                }
            };
            let request = Request::SetProperty {
                pattern: fmri.clone(),
                name: assignment.name,
                kind: assignment.kind,
                values: assignment.values,
            };
            match call(&root(), &request, fmri, err) {
                Ok(Response::Changed { .. }) => 0,
                Ok(other) => unexpected(&other, err),
                Err(status) => status,
            }
        }
    }
}

/// `import`: every file checked here first; then one request for all of them.
fn import(root: &Path, files: &[PathBuf], err: &mut impl Write) -> u8 {
    let mut refused = false;
    let mut paths = Vec::with_capacity(files.len());
    for file in files {
        let report = validate::check(file);
        if !report.valid {
            refused = true;
            for diagnostic in &report.diagnostics {
                let _ = writeln!(err, "{diagnostic}");
            }
            continue;
        }
        match std::path::absolute(file)
            .ok()
            .and_then(|path| path.to_str().map(str::to_string))
        {
            Some(path) => paths.push(path),
            None => {
                refused = true;
                let _ = writeln!(
                    err,
                    "svccfg: {}: cannot name the file to svc.startd (not UTF-8)",
                    file.display()
                );
            }
        }
    }
    if refused {
        let _ = writeln!(err, "svccfg: nothing was imported.");
        return 1;
    }
    let subject = paths.join(" ");
    match call(root, &Request::Import { paths }, &subject, err) {
        Ok(Response::Imported { files }) => {
            let mut status = 0;
            for file in files {
                for line in &file.diagnostics {
                    let _ = writeln!(err, "{line}");
                }
                if !file.loaded {
                    status = 1;
                    if file.diagnostics.is_empty() {
                        let _ = writeln!(err, "svccfg: {}: not imported.", file.path);
                    }
                }
            }
            status
        }
        Ok(other) => unexpected(&other, err),
        Err(status) => status,
    }
}

/// `export`: the manifest on `out`.
fn export(root: &Path, fmri: &str, out: &mut impl Write, err: &mut impl Write) -> u8 {
    let request = Request::Export {
        pattern: fmri.to_string(),
    };
    match call(root, &request, fmri, err) {
        Ok(Response::Exported { xml, .. }) => {
            let newline = if xml.ends_with('\n') { "" } else { "\n" };
            match write!(out, "{xml}{newline}") {
                Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
                    let _ = writeln!(err, "svccfg: cannot write the manifest: {error}");
                    1
                }
                _ => 0,
            }
        }
        Ok(other) => unexpected(&other, err),
        Err(status) => status,
    }
}

/// `listprop`: the properties of the one instance `fmri` names.
fn listprop(
    root: &Path,
    fmri: &str,
    pattern: Option<&str>,
    out: &mut impl Write,
    err: &mut impl Write,
) -> u8 {
    let request = Request::List {
        patterns: vec![fmri.to_string()],
        relation: None,
        detail: true,
        processes: false,
    };
    let instances = match call(root, &request, fmri, err) {
        Ok(Response::Instances { instances, .. }) => instances,
        Ok(other) => return unexpected(&other, err),
        Err(status) => return status,
    };
    match instances.as_slice() {
        [] => {
            let shown = Fmri::parse(fmri).map_or_else(|_| fmri.to_string(), |f| f.to_string());
            let _ = writeln!(err, "svccfg: {shown}: not found.");
            1
        }
        [one] => {
            let properties = one
                .detail
                .as_ref()
                .map_or(&[][..], |detail| &detail.properties);
            match out.write_all(render(properties, pattern).as_bytes()) {
                Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
                    let _ = writeln!(err, "svccfg: cannot write the properties: {error}");
                    1
                }
                _ => 0,
            }
        }
        several => {
            let names: Vec<String> = several
                .iter()
                .map(|instance| instance.status.fmri.to_string())
                .collect();
            let _ = writeln!(
                err,
                "svccfg: {fmri}: matches several instances ({}); name one.",
                names.join(", ")
            );
            1
        }
    }
}

/// Sends one request; an error answer (or none) is printed, and its status returned.
fn call(
    root: &Path,
    request: &Request,
    subject: &str,
    err: &mut impl Write,
) -> Result<Response, u8> {
    match Client::connect(root) {
        Ok(mut client) => smf_client::ask(&mut client, request, "svccfg", &[subject], err),
        Err(error) => {
            let _ = writeln!(err, "svccfg: {error}");
            Err(smf_client::FAILED)
        }
    }
}

fn unexpected(response: &Response, err: &mut impl Write) -> u8 {
    smf_client::unexpected("svccfg", response, err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(words: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("svccfg").chain(words.iter().copied()))
    }

    #[test]
    fn setprop_takes_the_rest_of_the_line_as_the_assignment() {
        let args = parse(&[
            "--root", "/r", "setprop", "app", "config/x", "=", "integer:", "-5",
        ])
        .expect("parses");
        let Command::Setprop { fmri, assignment } = args.command else {
            panic!("not setprop");
        };
        assert_eq!(fmri, "app");
        assert_eq!(assignment, ["config/x", "=", "integer:", "-5"]);
        assert_eq!(args.root.as_deref(), Some(Path::new("/r")));
    }

    #[test]
    fn usage_errors_exit_two_and_help_zero() {
        for words in [
            &[][..],
            &["import"],
            &["export"],
            &["listprop"],
            &["setprop", "app"],
            &["frobnicate"],
        ] {
            let error = parse(words).expect_err("refused");
            assert!(error.use_stderr(), "{words:?}");
        }
        let help = parse(&["setprop", "--help"]).expect_err("help is an early exit");
        assert!(!help.use_stderr());
        command().debug_assert();
    }

    #[test]
    fn a_bad_assignment_is_a_usage_error_before_any_request() {
        let args =
            parse(&["--root", "/nonexistent", "setprop", "app", "config/x", "5"]).expect("parses");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(run(&args, &mut out, &mut err), 2);
        assert_eq!(
            String::from_utf8_lossy(&err),
            "svccfg: setprop: expected \"=\" after config/x\n"
        );
    }

    #[test]
    fn no_daemon_is_one_line_and_status_one() {
        let args = parse(&["--root", "/nonexistent/smf", "export", "app"]).expect("parses");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(run(&args, &mut out, &mut err), 1);
        let text = String::from_utf8_lossy(&err);
        assert!(
            text.starts_with("svccfg: cannot reach svc.startd at /nonexistent/smf/run/startd.sock"),
            "{text}"
        );
        assert_eq!(text.lines().count(), 1);
    }
}
