//! `svcadm`: administrative requests to svc.startd, with SMF's flags, messages and exit codes
//! (svcadm(8); smf-reference.md §5).
//!
//! ```text
//! svcadm [-v] [--root DIR] enable [-r] [-s] [-t] FMRI...
//! svcadm [-v] [--root DIR] disable [-s] [-t] FMRI...
//! svcadm [-v] [--root DIR] restart | refresh | clear FMRI...
//! svcadm [-v] [--root DIR] mark [-I] [-t] maintenance|degraded FMRI...
//! ```
//!
//! Exit status: 0 done; 1 a fatal error (a name that matches nothing or several instances,
//! no daemon, permission refused, `clear` of an instance that needs none); 2 bad usage;
//! with `-s`, 3 when an instance cannot reach its goal because of itself (maintenance,
//! changed by someone else) and 4 because of its dependencies (3 wins).

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use smf_client::Client;
use smf_core::engine::MarkState;
use smf_core::protocol::{
    AdminAction, AdminOutcome, Request, Response, WaitGoal, WaitOutcome, WaitResult,
};
use smf_core::state::State;

/// svcadm's command line.
#[derive(Debug, Parser)]
#[command(
    name = "svcadm",
    version,
    about = "Manipulate service instances",
    long_about = "Sends administrative requests (enable, disable, restart, refresh, clear, mark) \
                  to svc.startd. Instances are named by FMRI or abbreviation \
                  (svc:/network/dhcp:default, network/dhcp, dhcp) or by glob pattern."
)]
pub struct Args {
    /// Print what was done, one line per instance.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// The smf root (default: $SMF_ROOT, else /var/svc for root and
    /// $XDG_STATE_HOME/smf or ~/.local/state/smf for other users).
    #[arg(long, global = true, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// svcadm's subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Enable instances: svc.startd starts them once their dependencies are satisfied.
    Enable {
        /// Also enable, recursively, every instance they require.
        #[arg(short)]
        recursive: bool,
        /// Wait until each instance is online or degraded; exit 3 if one lands in
        /// maintenance, 4 if its dependencies cannot be satisfied.
        #[arg(short)]
        synchronous: bool,
        /// Until svc.startd restarts only (not stored).
        #[arg(short)]
        temporary: bool,
        /// Instances (FMRIs, abbreviations or glob patterns).
        #[arg(required = true, value_name = "FMRI")]
        fmris: Vec<String>,
    },
    /// Disable instances: svc.startd stops them (dependents that require them stop first).
    Disable {
        /// Wait until each instance is disabled.
        #[arg(short)]
        synchronous: bool,
        /// Until svc.startd restarts only (not stored).
        #[arg(short)]
        temporary: bool,
        /// Instances (FMRIs, abbreviations or glob patterns).
        #[arg(required = true, value_name = "FMRI")]
        fmris: Vec<String>,
    },
    /// Restart online or degraded instances (stop, then start).
    Restart {
        /// Instances (FMRIs, abbreviations or glob patterns).
        #[arg(required = true, value_name = "FMRI")]
        fmris: Vec<String>,
    },
    /// Re-read their configuration and run their refresh method if they are running.
    Refresh {
        /// Instances (FMRIs, abbreviations or glob patterns).
        #[arg(required = true, value_name = "FMRI")]
        fmris: Vec<String>,
    },
    /// Repair done: bring instances in maintenance back (or degraded ones back online).
    Clear {
        /// Instances (FMRIs, abbreviations or glob patterns).
        #[arg(required = true, value_name = "FMRI")]
        fmris: Vec<String>,
    },
    /// Put instances in maintenance or degraded.
    Mark {
        /// Immediately: skip the stop method and stop every process at once.
        #[arg(short = 'I')]
        immediate: bool,
        /// Until svc.startd restarts only (not with degraded).
        #[arg(short)]
        temporary: bool,
        /// The state.
        #[arg(value_enum)]
        state: MarkArg,
        /// Instances (FMRIs, abbreviations or glob patterns).
        #[arg(required = true, value_name = "FMRI")]
        fmris: Vec<String>,
    },
}

/// `mark`'s states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MarkArg {
    /// Maintenance.
    Maintenance,
    /// Degraded (online instances only).
    Degraded,
}

/// svcadm's clap command (for man pages and completions).
pub fn command() -> clap::Command {
    <Args as clap::CommandFactory>::command()
}

/// Runs svcadm with `args` (the program name first) and returns its exit status.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    smf_client::run_tool(args, |args: &Args, out, err| run(args, out, err))
}

/// What svcadm says, and its exit status.
pub fn run(args: &Args, out: &mut impl Write, err: &mut impl Write) -> u8 {
    let (action, fmris, wait) = match &args.command {
        Command::Enable {
            recursive,
            synchronous,
            temporary,
            fmris,
        } => (
            AdminAction::Enable {
                temporary: *temporary,
                recursive: *recursive,
            },
            fmris,
            synchronous.then_some(WaitGoal::Running),
        ),
        Command::Disable {
            synchronous,
            temporary,
            fmris,
        } => (
            AdminAction::Disable {
                temporary: *temporary,
            },
            fmris,
            synchronous.then_some(WaitGoal::Disabled),
        ),
        Command::Restart { fmris } => (AdminAction::Restart, fmris, None),
        Command::Refresh { fmris } => (AdminAction::Refresh, fmris, None),
        Command::Clear { fmris } => (AdminAction::Clear, fmris, None),
        Command::Mark {
            immediate,
            temporary,
            state,
            fmris,
        } => {
            if *temporary && *state == MarkArg::Degraded {
                let _ = writeln!(err, "svcadm: -t may not be used with degraded.");
                return 2;
            }
            (
                AdminAction::Mark {
                    state: match state {
                        MarkArg::Maintenance => MarkState::Maintenance,
                        MarkArg::Degraded => MarkState::Degraded,
                    },
                    immediate: *immediate,
                    temporary: *temporary,
                },
                fmris,
                None,
            )
        }
    };
    let root = smf_client::resolve_root(args.root.clone());
    let mut client = match Client::connect(&root) {
        Ok(client) => client,
        Err(error) => {
            let _ = writeln!(err, "svcadm: {error}");
            return 1;
        }
    };
    let request = Request::Admin {
        action: action.clone(),
        patterns: fmris.clone(),
    };
    let names: Vec<&str> = fmris.iter().map(String::as_str).collect();
    let (outcomes, errors) = match smf_client::ask(&mut client, &request, "svcadm", &names, err) {
        Ok(Response::Done { outcomes, errors }) => (outcomes, errors),
        Ok(other) => return smf_client::unexpected("svcadm", &other, err),
        Err(status) => return status,
    };
    let mut status = 0;
    for line in &errors {
        let _ = writeln!(err, "svcadm: {line}");
        status = 1;
    }
    for outcome in &outcomes {
        if let Some(problem) = refusal(&action, outcome) {
            let _ = writeln!(err, "svcadm: {problem}");
            status = 1;
        } else if args.verbose {
            let _ = writeln!(out, "{}", done_line(&action, outcome));
        }
    }
    if let Some(goal) = wait {
        let fmris = outcomes.iter().map(|o| o.fmri.to_string()).collect();
        match smf_client::ask(
            &mut client,
            &Request::Wait { fmris, goal },
            "svcadm",
            &[],
            err,
        ) {
            Ok(Response::Waited { results }) => {
                let waited = wait_status(&results, err);
                status = status.max(waited);
            }
            Ok(other) => return smf_client::unexpected("svcadm", &other, err),
            Err(status) => return status,
        }
    }
    status
}

/// svcadm's complaint when the action did not apply to the instance as it was.
fn refusal(action: &AdminAction, outcome: &AdminOutcome) -> Option<String> {
    match action {
        AdminAction::Clear if !matches!(outcome.before, State::Maintenance | State::Degraded) => {
            Some(format!(
                "Instance \"{}\" is not in a maintenance or degraded state.",
                outcome.fmri
            ))
        }
        AdminAction::Mark {
            state: MarkState::Degraded,
            ..
        } if !matches!(outcome.before, State::Online | State::Degraded) => {
            Some(format!("Instance \"{}\" is not online.", outcome.fmri))
        }
        _ => None,
    }
}

/// `-v`'s line (svcadm.c's wording).
fn done_line(action: &AdminAction, outcome: &AdminOutcome) -> String {
    let fmri = &outcome.fmri;
    let property = match action {
        AdminAction::Enable { temporary, .. } => {
            return if *temporary {
                format!("{fmri} temporarily enabled.")
            } else {
                format!("{fmri} enabled.")
            };
        }
        AdminAction::Disable { temporary } => {
            return if *temporary {
                format!("{fmri} temporarily disabled.")
            } else {
                format!("{fmri} disabled.")
            };
        }
        AdminAction::Restart => "restart",
        AdminAction::Refresh => "refresh",
        AdminAction::Clear if outcome.before == State::Degraded => "restore",
        AdminAction::Clear => "maint_off",
        AdminAction::Mark {
            state: MarkState::Maintenance,
            immediate,
            temporary,
        } => match (immediate, temporary) {
            (false, false) => "maint_on",
            (true, false) => "maint_on_immediate",
            (false, true) => "maint_on_temporary",
            (true, true) => "maint_on_immtemp",
        },
        AdminAction::Mark {
            state: MarkState::Degraded,
            immediate,
            ..
        } => {
            if *immediate {
                "degrade_immediate"
            } else {
                "degraded"
            }
        }
    };
    format!("Action {property} set for {fmri}.")
}

/// Reports the instances that did not reach the goal; 3 (the instance itself) wins over 4
/// (its dependencies).
fn wait_status(results: &[WaitResult], err: &mut impl Write) -> u8 {
    let mut status = 0;
    for result in results {
        let fmri = &result.fmri;
        let (line, code) = match result.outcome {
            WaitOutcome::Reached => continue,
            WaitOutcome::Maintenance => {
                (format!("Instance \"{fmri}\" is in maintenance state."), 3)
            }
            WaitOutcome::DisabledByOther => (
                format!("Instance \"{fmri}\" has been disabled by another entity."),
                3,
            ),
            WaitOutcome::EnabledByOther => (
                format!("Instance \"{fmri}\" has been enabled by another entity."),
                3,
            ),
            WaitOutcome::Gone => (format!("Instance \"{fmri}\" has been deleted."), 3),
            WaitOutcome::Unsatisfiable => (
                format!("Instance \"{fmri}\" has unsatisfied dependencies."),
                4,
            ),
        };
        let _ = writeln!(err, "svcadm: {line}");
        if let Some(reason) = &result.reason {
            let _ = writeln!(err, "svcadm:   Reason: {reason}");
        }
        status = match (status, code) {
            (3, _) | (_, 3) => 3,
            _ => 4,
        };
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;
    use smf_core::fmri::Fmri;

    fn outcome(before: State) -> AdminOutcome {
        AdminOutcome {
            fmri: Fmri::parse("svc:/site/foo:default").expect("fmri"),
            before,
            state: before,
            next_state: None,
        }
    }

    #[test]
    fn verbose_lines_use_svcadms_words() {
        let online = outcome(State::Online);
        let cases = [
            (
                AdminAction::Enable {
                    temporary: true,
                    recursive: false,
                },
                "svc:/site/foo:default temporarily enabled.",
            ),
            (
                AdminAction::Disable { temporary: false },
                "svc:/site/foo:default disabled.",
            ),
            (
                AdminAction::Restart,
                "Action restart set for svc:/site/foo:default.",
            ),
            (
                AdminAction::Mark {
                    state: MarkState::Maintenance,
                    immediate: true,
                    temporary: true,
                },
                "Action maint_on_immtemp set for svc:/site/foo:default.",
            ),
        ];
        for (action, line) in cases {
            assert_eq!(done_line(&action, &online), line);
        }
        assert_eq!(
            done_line(&AdminAction::Clear, &outcome(State::Degraded)),
            "Action restore set for svc:/site/foo:default."
        );
    }

    #[test]
    fn clear_of_a_running_instance_is_refused_in_smfs_words() {
        assert_eq!(
            refusal(&AdminAction::Clear, &outcome(State::Online)).as_deref(),
            Some("Instance \"svc:/site/foo:default\" is not in a maintenance or degraded state.")
        );
        assert_eq!(
            refusal(&AdminAction::Clear, &outcome(State::Maintenance)),
            None
        );
    }

    #[test]
    fn wait_failures_of_the_instance_win_over_dependencies() {
        let result = |outcome| WaitResult {
            fmri: "svc:/a:default".into(),
            outcome,
            state: Some(State::Offline),
            reason: None,
        };
        let mut err = Vec::new();
        assert_eq!(
            wait_status(&[result(WaitOutcome::Unsatisfiable)], &mut err),
            4
        );
        assert_eq!(
            wait_status(
                &[
                    result(WaitOutcome::Unsatisfiable),
                    result(WaitOutcome::Maintenance)
                ],
                &mut err
            ),
            3
        );
        assert_eq!(wait_status(&[result(WaitOutcome::Reached)], &mut err), 0);
    }
}
