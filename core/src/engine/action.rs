//! What the engine asks the shell to do: instructions, in the imperative, in order.

use serde::{Deserialize, Serialize};

use super::event::{MethodName, RunId};
use super::method::ProcessSettings;
use super::reason::Reason;
use crate::fmri::Fmri;
use crate::manifest::MethodContext;
use crate::signal::Signal;
use crate::state::{State, Timestamp};

/// `startd/duration`: what "the service is running" means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Duration {
    /// Running while any process the start method left behind lives (the default).
    Contract,
    /// The start method's process is the service (`wait`).
    Child,
    /// Run once; nothing to track.
    Transient,
}

impl Duration {
    /// `contract`, `child`, `transient`.
    pub fn as_str(self) -> &'static str {
        match self {
            Duration::Contract => "contract",
            Duration::Child => "child",
            Duration::Transient => "transient",
        }
    }
}

/// Everything the shell needs to run one method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodRun {
    /// Quote it in `MethodExited`.
    pub run: RunId,
    /// The instance.
    pub fmri: Fmri,
    /// start, stop or refresh.
    pub method: MethodName,
    /// The command for `/bin/sh -c`, method tokens already expanded.
    pub command: String,
    /// The command as the manifest wrote it (for the log's "Executing" line).
    pub written: String,
    /// User, group, directory, environment...
    pub context: MethodContext,
    /// Umask and resource limits (the `process` property group).
    pub process: ProcessSettings,
    /// The timeout the engine enforces (milliseconds; none: infinite). For information: the
    /// engine's own timer kills the run.
    pub timeout_ms: Option<u64>,
    /// The instance's duration (for a start method: whether its processes form the service).
    pub duration: Duration,
    /// Set `NOTIFY_SOCKET` for it: the instance reports readiness.
    pub notify: bool,
}

/// A state change, with its reason and time (svcs, the history and the logs read these).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// The instance.
    pub fmri: Fmri,
    /// Its state before.
    pub from: State,
    /// Its state now.
    pub state: State,
    /// Where it is heading, while a transition is in flight.
    pub next_state: Option<State>,
    /// Why.
    pub reason: Reason,
    /// When.
    pub at: Timestamp,
}

/// What the administrator set and svc.startd must remember across restarts. Temporary
/// settings (`-t`) are never part of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AdminState {
    /// `svcadm enable` / `disable` (none: as the manifest says).
    pub enabled: Option<bool>,
    /// `svcadm mark maintenance` (without `-t`), until `clear`.
    pub maintenance: bool,
}

/// An instruction for the shell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum Action {
    /// Fork and exec a method; report `MethodExited` (and, for a start method of a contract
    /// or child instance, `ContractEmptied` when nothing is left).
    RunMethod(Box<MethodRun>),
    /// Kill a method run that took too long (signal its processes).
    KillMethod {
        /// The run.
        run: RunId,
        /// The signal (SIGKILL).
        signal: Signal,
    },
    /// Signal every process of the instance; report `ContractEmptied` when none is left.
    SignalContract {
        /// The instance.
        fmri: Fmri,
        /// The signal.
        signal: Signal,
    },
    /// Stop tracking the instance's processes without signalling them.
    AbandonContract {
        /// The instance.
        fmri: Fmri,
    },
    /// Record a state change.
    SetState(Transition),
    /// Store the administrator's settings for this instance.
    PersistAdmin {
        /// The instance.
        fmri: Fmri,
        /// What to store.
        admin: AdminState,
    },
    /// Write a restarter line to the instance's log.
    Log {
        /// The instance.
        fmri: Fmri,
        /// The line, without time stamp.
        message: String,
    },
    /// Look whether these files exist and report `FilesProbed`.
    ProbeFiles {
        /// Absolute paths.
        paths: Vec<String>,
    },
    /// The processes a previous svc.startd left running are now this instance's (it was
    /// [`super::Event::Recovered`] and is online without running its start method). For a
    /// child instance, report the service process's end as `MethodExited` of `main_run`.
    Adopt {
        /// The instance.
        fmri: Fmri,
        /// The run that stands for a child instance's process.
        main_run: Option<RunId>,
    },
    /// The instance no longer exists: forget its state and history.
    Forget {
        /// The instance.
        fmri: Fmri,
    },
}
