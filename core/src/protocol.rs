//! What svc.startd and its clients say to each other on `ROOT/run/startd.sock`: one JSON
//! request per line, one JSON response per line (DESIGN.md §5).
//!
//! Both sides use these types and [`read_line`] / [`write_line`], so they cannot disagree.
//! The daemon resolves names (`svcadm enable dhcp`) itself, against the instances it knows,
//! with SMF's pattern rules: clients send what the user typed.

use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};

use crate::engine::{InstanceStatus, MarkState};
use crate::explain::Explanation;
use crate::fmri::Fmri;
use crate::manifest::{Grouping, RestartOn};
use crate::state::{State, Timestamp};

/// The longest request line svc.startd accepts, newline included. A longer one is refused
/// without being read to its end.
pub const MAX_LINE: usize = 1 << 20;

/// The longest response line a client accepts: a listing of every instance with its
/// processes is ~0.5 KiB per instance, so 10,000 services answer with ~5 MiB. The daemon is
/// trusted; the limit only keeps a client from growing without bound on a broken stream.
pub const MAX_RESPONSE_LINE: usize = 1 << 30;

fn yes() -> bool {
    true
}

/// A request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "request")]
pub enum Request {
    /// Is the daemon there? Answered with [`Response::Pong`].
    Ping,
    /// The instances matching `patterns` (all of them if empty), with their processes; with
    /// `relation`, the instances those depend on (`svcs -d`) or that depend on them (`-D`).
    List {
        /// What the user typed (FMRIs, abbreviations, globs).
        #[serde(default)]
        patterns: Vec<String>,
        /// List the matches' dependencies or dependents instead of the matches.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        relation: Option<Relation>,
        /// Add [`InstanceInfo::detail`] (`svcs -l`, `svccfg listprop`).
        #[serde(default)]
        detail: bool,
        /// Fill in each instance's processes and contract id (the default); plain `svcs`
        /// needs neither, and at 10,000 services finding them is most of the answer's cost.
        #[serde(default = "yes")]
        processes: bool,
    },
    /// `svcs -x`: explanations of the instances matching `patterns`, or of every instance
    /// that is not running as it should when empty.
    Explain {
        /// What the user typed.
        #[serde(default)]
        patterns: Vec<String>,
    },
    /// An svcadm subcommand on the instances `patterns` name (svcadm's walk: a partial
    /// name matching several instances refuses the whole command).
    Admin {
        /// What to do.
        action: AdminAction,
        /// What the user typed.
        patterns: Vec<String>,
    },
    /// Import manifests (paths the daemon reads itself), as `svccfg import` does.
    Import {
        /// Absolute paths.
        paths: Vec<String>,
    },
    /// Re-read the manifest directories and import what changed (as SIGHUP does).
    Rescan,
    /// `svcadm -s`: answered once every instance named has reached `goal` or cannot reach
    /// it (no polling: the daemon answers from its loop when a state changes).
    Wait {
        /// Full FMRIs (as [`Response::Done`] named them).
        fmris: Vec<String>,
        /// Where they should end up.
        goal: WaitGoal,
    },
    /// `svccfg export`: the service of the instance `pattern` names, as a manifest.
    Export {
        /// An instance or service.
        pattern: String,
    },
    /// `svccfg delete`: stop a service's instances and forget the service.
    Delete {
        /// A service or an instance (its whole service is deleted, as svccfg does for a
        /// service FMRI; an instance FMRI deletes only that instance).
        pattern: String,
    },
    /// `svccfg setprop`: set a property of an instance (or of every instance of a service);
    /// kept in the repository and applied at the next refresh.
    SetProperty {
        /// The instance or service.
        pattern: String,
        /// `group/property`.
        name: String,
        /// The type (`astring`, `count`, `boolean`...), when given.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kind: Option<String>,
        /// The values (several for a list).
        values: Vec<String>,
    },
    /// The latest state transitions of an instance, newest last.
    History {
        /// The instance (one).
        pattern: String,
        /// At most this many.
        limit: u32,
    },
}

impl Request {
    /// A plain [`Request::List`] of `patterns`.
    pub fn list(patterns: Vec<String>) -> Request {
        Request::List {
            patterns,
            relation: None,
            detail: false,
            processes: true,
        }
    }

    /// Whether the request changes something (and so needs a privileged peer).
    pub fn changes_state(&self) -> bool {
        matches!(
            self,
            Request::Admin { .. }
                | Request::Import { .. }
                | Request::Rescan
                | Request::Delete { .. }
                | Request::SetProperty { .. }
        )
    }
}

/// `svcs -d` / `svcs -D`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// The instances the matches depend on (every grouping but `exclude_all`; a service
    /// dependency stands for its instances).
    Dependencies,
    /// The instances with a dependency on a match (directly or through its service).
    Dependents,
}

/// What `svcadm -s` waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitGoal {
    /// `online` or `degraded` (`enable -s`).
    Running,
    /// `disabled` (`disable -s`).
    Disabled,
}

/// How one instance ended a [`Request::Wait`] (svcadm's exit codes follow from it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum WaitOutcome {
    /// It is where it should be.
    Reached,
    /// It landed in maintenance (exit 3).
    Maintenance,
    /// Someone disabled it meanwhile (exit 3).
    DisabledByOther,
    /// Someone enabled it meanwhile (exit 3).
    EnabledByOther,
    /// Its dependencies cannot be satisfied without administrative action (exit 4).
    Unsatisfiable,
    /// It was deleted meanwhile (exit 3).
    Gone,
}

/// One instance's [`WaitOutcome`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitResult {
    /// The instance.
    pub fmri: String,
    /// How it ended.
    pub outcome: WaitOutcome,
    /// Its state then.
    pub state: Option<State>,
    /// When it did not reach the goal: svcs -x's first `Reason:` line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// svcadm's subcommands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum AdminAction {
    /// `enable [-r] [-t]`.
    Enable {
        /// `-t`.
        #[serde(default)]
        temporary: bool,
        /// `-r`.
        #[serde(default)]
        recursive: bool,
    },
    /// `disable [-t]`.
    Disable {
        /// `-t`.
        #[serde(default)]
        temporary: bool,
    },
    /// `restart`.
    Restart,
    /// `refresh`.
    Refresh,
    /// `clear`.
    Clear,
    /// `mark [-I] [-t] maintenance|degraded`.
    Mark {
        /// The state.
        state: MarkState,
        /// `-I`.
        #[serde(default)]
        immediate: bool,
        /// `-t`.
        #[serde(default)]
        temporary: bool,
    },
}

/// One process of an instance, as `svcs -p` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Process {
    /// Its pid.
    pub pid: u32,
    /// When it started (milliseconds since the epoch).
    pub started: Timestamp,
    /// Its command name (`/proc/PID/comm`).
    pub command: String,
}

/// One instance as `svcs` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceInfo {
    /// What the engine knows.
    pub status: InstanceStatus,
    /// Every process of the instance the daemon tracks.
    pub processes: Vec<Process>,
    /// Its log file, absolute.
    pub log_file: String,
    /// Its template's common name.
    pub common_name: Option<String>,
    /// Its contract's id: the inode of its cgroup, or in process-group mode the process
    /// group of its first process; none while it has no process.
    #[serde(default)]
    pub contract_id: Option<u64>,
    /// Only when asked for ([`Request::List`]'s `detail`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<Detail>,
}

/// What `svcs -l` adds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detail {
    /// Its restarter (`svc:/system/svc/restarter:default`).
    pub restarter: String,
    /// One per dependency, in declaration order.
    pub dependencies: Vec<DependencyInfo>,
    /// Every property of its composed definition.
    pub properties: Vec<PropertyInfo>,
}

/// One dependency, as `svcs -l` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DependencyInfo {
    /// Its name.
    pub name: String,
    /// `require_all`...
    pub grouping: Grouping,
    /// `none`, `error`...
    pub restart_on: RestartOn,
    /// What it cites, each with its state.
    pub entities: Vec<EntityInfo>,
}

/// One entity a dependency cites.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityInfo {
    /// The FMRI as written (`file://localhost/...` for files).
    pub fmri: String,
    /// Its state as svcs -l words it: an instance state, `multiple`, `absent`, `invalid`, or
    /// for a file `online` / `absent` / `unknown`.
    pub state: String,
}

/// One property of an instance's composed definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropertyInfo {
    /// Its property group.
    pub group: String,
    /// The group's type (`application`, `framework`...), when declared.
    pub group_type: Option<String>,
    /// Its name.
    pub name: String,
    /// Its type (`astring`, `count`...).
    pub kind: String,
    /// Its values, as text.
    pub values: Vec<String>,
    /// Whether `svccfg setprop` set it (kept in the repository over the manifest's value).
    #[serde(default)]
    pub customized: bool,
}

/// One remembered state change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// When.
    pub at: Timestamp,
    /// From.
    pub from: State,
    /// To.
    pub to: State,
    /// Why, in svcs -x's words.
    pub reason: String,
}

/// What an admin request did to one instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminOutcome {
    /// The instance.
    pub fmri: Fmri,
    /// Its state before the request (svcadm's "is not in a maintenance or degraded state").
    pub before: State,
    /// Its state after the request was handled (it may still be on its way).
    pub state: State,
    /// Where it is heading.
    pub next_state: Option<State>,
}

/// How a manifest import went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportOutcome {
    /// The file.
    pub path: String,
    /// Whether it was loaded.
    pub loaded: bool,
    /// The services it defines (when loaded).
    pub services: Vec<String>,
    /// Errors and warnings, one `FILE:LINE:COL: severity: ...` line each.
    pub diagnostics: Vec<String>,
}

/// Why a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The line is not a request (bad JSON, unknown request, too long).
    BadRequest,
    /// The peer may read but not change state.
    PermissionDenied,
    /// A pattern matched nothing, or too much.
    NoMatch,
    /// The daemon could not do it (a file it cannot read, a repository error).
    Failed,
}

/// A response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "response")]
pub enum Response {
    /// To [`Request::Ping`].
    Pong {
        /// The daemon's pid.
        pid: u32,
        /// Its root.
        root: String,
        /// How it tracks processes (`cgroup` or `process-group`).
        contracts: String,
    },
    /// To [`Request::List`].
    Instances {
        /// In import order.
        instances: Vec<InstanceInfo>,
        /// Patterns that matched nothing (svcs reports them and lists the others).
        errors: Vec<String>,
    },
    /// To [`Request::Explain`].
    Explanations {
        /// One per instance.
        explanations: Vec<Explanation>,
        /// Patterns that matched nothing.
        errors: Vec<String>,
    },
    /// To [`Request::Admin`]: what was done; `errors` as svcadm prints them.
    Done {
        /// The instances acted on.
        outcomes: Vec<AdminOutcome>,
        /// One line per argument that matched nothing (the others were acted on).
        errors: Vec<String>,
    },
    /// To [`Request::Import`] and [`Request::Rescan`].
    Imported {
        /// One per file.
        files: Vec<ImportOutcome>,
    },
    /// To [`Request::Wait`].
    Waited {
        /// One per instance, in the order asked.
        results: Vec<WaitResult>,
    },
    /// To [`Request::Export`].
    Exported {
        /// The service.
        service: String,
        /// The manifest.
        xml: String,
    },
    /// To [`Request::Delete`] and [`Request::SetProperty`]: what was changed.
    Changed {
        /// The services or instances changed.
        fmris: Vec<String>,
    },
    /// To [`Request::History`].
    History {
        /// The instance.
        fmri: Fmri,
        /// Oldest first.
        entries: Vec<HistoryEntry>,
    },
    /// The request failed as a whole.
    Error {
        /// What kind of failure.
        kind: ErrorKind,
        /// One line for the user.
        message: String,
    },
}

impl Response {
    /// An error response.
    pub fn error(kind: ErrorKind, message: impl Into<String>) -> Response {
        Response::Error {
            kind,
            message: message.into(),
        }
    }
}

/// Why a line could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    /// The peer closed the connection before a whole line.
    #[error("connection closed")]
    Closed,
    /// The line is longer than the limit ([`MAX_LINE`] for requests).
    #[error("line longer than {0} bytes")]
    TooLong(usize),
    /// Not UTF-8 or not the expected JSON.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// The transport failed (a timeout included).
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Reads one line (at most [`MAX_LINE`] bytes) and decodes it. End of input before any byte
/// is [`LineError::Closed`]; a line cut short by the end of input is malformed.
pub fn read_line<T: for<'de> Deserialize<'de>>(reader: &mut impl BufRead) -> Result<T, LineError> {
    read_line_limited(reader, MAX_LINE)
}

/// [`read_line`] with another limit (clients read responses with [`MAX_RESPONSE_LINE`]).
pub fn read_line_limited<T: for<'de> Deserialize<'de>>(
    reader: &mut impl BufRead,
    limit: usize,
) -> Result<T, LineError> {
    let mut line = Vec::new();
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(LineError::Io(error)),
        };
        if available.is_empty() {
            return Err(if line.is_empty() {
                LineError::Closed
            } else {
                LineError::Malformed("the message ends without a newline".into())
            });
        }
        let (taken, done) = match available.iter().position(|&b| b == b'\n') {
            Some(end) => (end + 1, true),
            None => (available.len(), false),
        };
        if line.len() + taken > limit {
            return Err(LineError::TooLong(limit));
        }
        line.extend_from_slice(&available[..taken]);
        reader.consume(taken);
        if done {
            break;
        }
    }
    serde_json::from_slice(&line).map_err(|error| LineError::Malformed(error.to_string()))
}

/// Encodes `message` as one line and writes it.
pub fn write_line<T: Serialize>(writer: &mut impl Write, message: &T) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(message).map_err(std::io::Error::other)?;
    line.push(b'\n');
    writer.write_all(&line)?;
    writer.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_as_one_line_each() {
        let requests = vec![
            Request::Ping,
            Request::List {
                patterns: vec!["dhcp".into()],
                relation: Some(Relation::Dependents),
                detail: true,
                processes: false,
            },
            Request::Admin {
                action: AdminAction::Mark {
                    state: MarkState::Maintenance,
                    immediate: true,
                    temporary: false,
                },
                patterns: vec!["svc:/a:default".into()],
            },
        ];
        let mut wire = Vec::new();
        for request in &requests {
            write_line(&mut wire, request).expect("write");
        }
        assert_eq!(wire.iter().filter(|&&b| b == b'\n').count(), 3);
        let mut reader = std::io::Cursor::new(wire);
        for request in &requests {
            let read: Request = read_line(&mut reader).expect("read");
            assert_eq!(&read, request);
        }
        assert!(matches!(
            read_line::<Request>(&mut reader),
            Err(LineError::Closed)
        ));
    }

    #[test]
    fn the_wire_format_is_snake_case_and_tagged() {
        let mut wire = Vec::new();
        write_line(
            &mut wire,
            &Request::Admin {
                action: AdminAction::Enable {
                    temporary: true,
                    recursive: false,
                },
                patterns: vec!["dhcp".into()],
            },
        )
        .expect("write");
        assert_eq!(
            String::from_utf8_lossy(&wire),
            "{\"request\":\"admin\",\"action\":{\"action\":\"enable\",\"temporary\":true,\"recursive\":false},\"patterns\":[\"dhcp\"]}\n"
        );
        let parsed: Request = read_line(&mut std::io::Cursor::new(
            b"{\"request\":\"list\"}\n".to_vec(),
        ))
        .expect("defaults");
        assert_eq!(parsed, Request::list(vec![]));
    }

    #[test]
    fn bad_lines_are_errors_not_panics() {
        for input in [
            &b"{\"request\":\"list\""[..],
            b"not json\n",
            b"{\"request\":\"launch_missiles\"}\n",
            b"\xff\xfe\n",
        ] {
            let result = read_line::<Request>(&mut std::io::Cursor::new(input.to_vec()));
            assert!(matches!(result, Err(LineError::Malformed(_))), "{input:?}");
        }
        let long = vec![b'x'; MAX_LINE + 10];
        let result = read_line::<Request>(&mut std::io::Cursor::new(long));
        assert!(matches!(result, Err(LineError::TooLong(MAX_LINE))));
        // A client reads a large response (a listing of 10,000 services) whole.
        let mut big = serde_json::to_vec(&Response::Instances {
            instances: Vec::new(),
            errors: vec!["x".repeat(MAX_LINE * 2)],
        })
        .expect("encode");
        big.push(b'\n');
        let read: Response =
            read_line_limited(&mut std::io::Cursor::new(big), MAX_RESPONSE_LINE).expect("read");
        assert!(
            matches!(read, Response::Instances { errors, .. } if errors[0].len() == MAX_LINE * 2)
        );
    }
}
