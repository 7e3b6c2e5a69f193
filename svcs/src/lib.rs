//! `svcs`: what svc.startd's instances are doing, in SMF's formats (svcs(1);
//! smf-reference.md §6), and `svcs -x`, which says in plain words why an instance is not
//! running and what it takes down with it.
//!
//! ```text
//! svcs [-aHpv] [-o COL,...] [-s COL]... [-S COL]... [FMRI|pattern]...
//! svcs -d|-D [-Hpv] [-o COL,...] [-s COL]... [-S COL]... FMRI...
//! svcs -l [-pv] FMRI...
//! svcs -L [FMRI|pattern]...
//! svcs -x [-v] [FMRI]...
//! ```
//!
//! Every form takes `--json` (the schema is in `svcs/JSON.md`) and `--root DIR`.
//! Exit status: 0; 1 when an operand matches nothing or svc.startd cannot be reached; 2 for
//! bad usage.

mod explain;
pub mod json;
mod listing;
mod long;

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use smf_client::Client;
use smf_core::protocol::{InstanceInfo, Relation, Request, Response};

/// svcs's command line.
#[derive(Debug, Parser)]
#[command(
    name = "svcs",
    version,
    about = "Report service status",
    long_about = "Lists service instances and their states as svc.startd sees them. With -x, \
                  explains why an instance is not running and what it keeps down.",
    after_help = COLUMNS_HELP,
    disable_help_flag = true
)]
pub struct Args {
    /// All instances, disabled ones included (default: enabled ones).
    #[arg(short = 'a', conflicts_with_all = ["dependencies", "dependents", "long", "log", "explain"])]
    pub all: bool,
    /// No header line.
    #[arg(short = 'H', conflicts_with_all = ["long", "explain"])]
    pub no_header: bool,
    /// List the processes of each instance.
    #[arg(short = 'p', conflicts_with = "explain")]
    pub processes: bool,
    /// Verbose: more columns; with -x the dependency path, impacted list and history.
    #[arg(short = 'v')]
    pub verbose: bool,
    /// Columns to show, comma-separated (see below).
    #[arg(short = 'o', value_delimiter = ',', value_name = "COL", conflicts_with_all = ["long", "explain", "log"])]
    pub columns: Vec<String>,
    /// Sort by this column, ascending (repeatable).
    #[arg(short = 's', value_name = "COL", conflicts_with_all = ["dependencies", "dependents", "long", "log", "explain"])]
    pub sort: Vec<String>,
    /// Sort by this column, descending (repeatable).
    #[arg(short = 'S', value_name = "COL", conflicts_with_all = ["dependencies", "dependents", "long", "log", "explain"])]
    pub sort_descending: Vec<String>,
    /// The instances the operands depend on.
    #[arg(short = 'd', conflicts_with_all = ["dependents", "long", "log", "explain"], requires = "operands")]
    pub dependencies: bool,
    /// The instances that depend on the operands.
    #[arg(short = 'D', conflicts_with_all = ["long", "log", "explain"], requires = "operands")]
    pub dependents: bool,
    /// Everything about each instance.
    #[arg(short = 'l', conflicts_with_all = ["log", "explain"], requires = "operands")]
    pub long: bool,
    /// The log file of each instance.
    #[arg(short = 'L', conflicts_with = "explain")]
    pub log: bool,
    /// Explain why instances are not running (every problem when no operand is given).
    #[arg(short = 'x')]
    pub explain: bool,
    /// Print JSON instead of text (schema: svcs/JSON.md).
    #[arg(long)]
    pub json: bool,
    /// The smf root (default: $SMF_ROOT, else /var/svc for root and
    /// $XDG_STATE_HOME/smf or ~/.local/state/smf for other users).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Print help.
    #[arg(short = '?', long = "help", action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    /// Instances: FMRIs, abbreviations or glob patterns.
    #[arg(value_name = "FMRI")]
    pub operands: Vec<String>,
}

const COLUMNS_HELP: &str = "\
Columns (for -o, -s and -S; case does not matter):
  CTID    contract ID for service
  DESC    human-readable description of the service
  FMRI    Fault Managed Resource Identifier for service
  INST    portion of the FMRI indicating service instance
  N       abbreviation for next state (if in transition)
  NSTA    abbreviation for next state (if in transition)
  NSTATE  name for next state (if in transition)
  S       abbreviation for current state
  SCOPE   name for scope associated with service
  SN      abbreviation for current state and next state
  STA     abbreviation for current state
  STATE   name for current state
  STIME   time of last state change
  SVC     portion of the FMRI representing service name";

/// svcs's clap command (for man pages and completions).
pub fn command() -> clap::Command {
    <Args as clap::CommandFactory>::command()
}

/// How output is decorated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// Colour states (maintenance red, degraded yellow).
    pub colour: bool,
}

impl Style {
    /// Colour only on a terminal, and never with `NO_COLOR` set (to anything).
    pub fn detect() -> Style {
        Style {
            colour: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }
}

/// Runs svcs with `args` (the program name first) and returns its exit status.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    smf_client::run_tool(args, |args: &Args, out, err| {
        run(args, Style::detect(), out, err)
    })
}

/// What went wrong, already worded; the exit status.
pub(crate) struct Failure(pub u8);

/// What svcs prints, and its exit status.
pub fn run(args: &Args, style: Style, out: &mut impl Write, err: &mut impl Write) -> u8 {
    for column in args
        .columns
        .iter()
        .chain(&args.sort)
        .chain(&args.sort_descending)
    {
        if listing::Column::parse(column).is_none() {
            let _ = writeln!(err, "svcs: Unrecognized column \"{column}\".");
            return 2;
        }
    }
    let root = smf_client::resolve_root(args.root.clone());
    let mut client = match Client::connect(&root) {
        Ok(client) => client,
        Err(error) => {
            let _ = writeln!(err, "svcs: {error}");
            return 1;
        }
    };
    let result = if args.explain {
        explain::run(args, &root, &mut client, style, out, err)
    } else {
        list(args, &mut client, style, out, err)
    };
    match result {
        Ok(status) => status,
        Err(Failure(status)) => status,
    }
}

/// Asks svc.startd; a refusal or a broken connection is worded on `err`.
pub(crate) fn call(
    client: &mut Client,
    request: &Request,
    err: &mut impl Write,
) -> Result<Response, Failure> {
    smf_client::ask(client, request, "svcs", &[], err).map_err(Failure)
}

/// Every form but `-x`.
fn list(
    args: &Args,
    client: &mut Client,
    style: Style,
    out: &mut impl Write,
    err: &mut impl Write,
) -> Result<u8, Failure> {
    let relation = if args.dependencies {
        Some(Relation::Dependencies)
    } else if args.dependents {
        Some(Relation::Dependents)
    } else {
        None
    };
    let request = Request::List {
        patterns: args.operands.clone(),
        relation,
        detail: args.long,
        // Processes (and CTID, from them) only where they are shown.
        processes: args.processes
            || args.verbose
            || args.long
            || args.json
            || args
                .columns
                .iter()
                .chain(&args.sort)
                .chain(&args.sort_descending)
                .any(|column| column.eq_ignore_ascii_case("ctid")),
    };
    let (mut instances, errors) = match call(client, &request, err)? {
        Response::Instances { instances, errors } => (instances, errors),
        other => {
            let _ = writeln!(err, "svcs: unexpected answer from svc.startd: {other:?}");
            return Err(Failure(1));
        }
    };
    for line in &errors {
        let _ = writeln!(err, "svcs: {line}");
    }
    // Without operands, only what is meant to run (enabled persistently or for now; a
    // temporarily disabled instance is still listed), unless -a.
    if args.operands.is_empty() && !args.all {
        instances.retain(shown_by_default);
    }
    let now = smf_client::time::now();
    let written = if args.long {
        let histories = long::histories(client, &instances, err);
        if args.json {
            json::write(out, &json::instances(&instances, Some(&histories)))
        } else {
            long::write(out, &instances, &histories, args, style)
        }
    } else if args.json {
        let mut instances = instances;
        listing::sort(&mut instances, args);
        json::write(out, &json::instances(&instances, None))
    } else if args.log {
        instances
            .iter()
            .try_for_each(|instance| writeln!(out, "{}", instance.log_file))
    } else {
        listing::write(out, &mut instances, args, style, now)
    };
    if let Err(error) = written
        && error.kind() != std::io::ErrorKind::BrokenPipe
    {
        let _ = writeln!(err, "svcs: cannot write: {error}");
        return Ok(1);
    }
    Ok(if errors.is_empty() { 0 } else { 1 })
}

/// Listed without `-a`: enabled, or disabled only for now.
fn shown_by_default(instance: &InstanceInfo) -> bool {
    instance.status.enabled || instance.status.temporary
}

/// ANSI colour for a state word, when `style` allows it.
pub(crate) fn paint(text: &str, state: smf_core::state::State, style: Style) -> String {
    use smf_core::state::State;
    if !style.colour {
        return text.to_string();
    }
    match state {
        State::Maintenance => format!("\x1b[31m{text}\x1b[0m"),
        State::Degraded => format!("\x1b[33m{text}\x1b[0m"),
        _ => text.to_string(),
    }
}
