//! What the engine is told: facts, in the past tense, each handled at a time the caller gives.

use serde::{Deserialize, Serialize};

use crate::fmri::Fmri;
use crate::manifest::{BundleKind, Service};
use crate::signal::Signal;

/// Identifies one run of one method, so a late report about an earlier run is recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(pub u64);

/// The methods svc.startd runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MethodName {
    /// `start`.
    Start,
    /// `stop`.
    Stop,
    /// `refresh`.
    Refresh,
}

impl MethodName {
    /// `start`, `stop`, `refresh`: the method's property group name and `%m`.
    pub fn as_str(self) -> &'static str {
        match self {
            MethodName::Start => "start",
            MethodName::Stop => "stop",
            MethodName::Refresh => "refresh",
        }
    }
}

/// How a method's process ended (its wait status), or why it never ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MethodStatus {
    /// It exited with this status.
    Exited(i32),
    /// A signal ended it.
    Signaled {
        /// The signal.
        signal: Signal,
        /// Whether it dumped core.
        core_dumped: bool,
    },
    /// It could not be started: unknown user, missing working directory, fork failure...
    /// `fatal` failures (the method context cannot be applied) are not retried, as svc.startd
    /// treats SMF_EXIT_ERR_CONFIG.
    NotStarted {
        /// What went wrong, for the log and `svcs -x`.
        message: String,
        /// Whether retrying cannot help.
        fatal: bool,
    },
}

impl MethodStatus {
    /// Whether this is a clean exit 0.
    pub fn is_success(&self) -> bool {
        matches!(self, MethodStatus::Exited(0))
    }
}

/// `svcadm mark`'s states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MarkState {
    /// `mark maintenance`.
    Maintenance,
    /// `mark degraded`.
    Degraded,
}

/// Who asked for maintenance (SMF tells an administrator at a terminal from another service).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Requester {
    /// An administrator (svcadm from a terminal).
    Administrator,
    /// Another service, by FMRI.
    Service(String),
}

/// Something that happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum Event {
    /// A manifest or profile was imported: its services replace any of the same name.
    Imported {
        /// Manifest or profile.
        kind: BundleKind,
        /// Its services.
        services: Vec<Service>,
    },
    /// These services were deleted (`svccfg delete`, a manifest removed).
    Removed {
        /// Service names (`network/dhcp`).
        services: Vec<String>,
    },
    /// `svcadm enable [-r] [-t]`.
    Enable {
        /// The instance.
        fmri: Fmri,
        /// `-t`: until svc.startd restarts.
        temporary: bool,
        /// `-r`: also enable everything it depends on.
        recursive: bool,
    },
    /// `svcadm disable [-t]`.
    Disable {
        /// The instance.
        fmri: Fmri,
        /// `-t`: until svc.startd restarts.
        temporary: bool,
    },
    /// `svcadm restart`.
    Restart {
        /// The instance.
        fmri: Fmri,
    },
    /// `svcadm refresh`.
    Refresh {
        /// The instance.
        fmri: Fmri,
    },
    /// `svcadm clear`.
    Clear {
        /// The instance.
        fmri: Fmri,
    },
    /// `svcadm mark [-I] [-t] maintenance|degraded`.
    Mark {
        /// The instance.
        fmri: Fmri,
        /// Maintenance or degraded.
        state: MarkState,
        /// `-I`: do not run the stop method; leave the processes alone.
        immediate: bool,
        /// `-t`: until svc.startd restarts.
        temporary: bool,
        /// Who asked.
        requester: Requester,
    },
    /// A method run ended.
    MethodExited {
        /// Which run.
        run: RunId,
        /// How.
        status: MethodStatus,
    },
    /// The shell gave up waiting for a method (the engine's own timer does this too).
    MethodTimedOut {
        /// Which run.
        run: RunId,
    },
    /// No process of the instance is left. Reported after `MethodExited` of the start method
    /// when the start method left nothing behind.
    ContractEmptied {
        /// The instance.
        fmri: Fmri,
    },
    /// A process of a running instance dumped core or was killed by a signal sent from
    /// outside the instance (SMF's `ct_ev_core` / `ct_ev_signal`).
    ProcessFaulted {
        /// The instance.
        fmri: Fmri,
        /// Core dump (else: external signal).
        core_dumped: bool,
    },
    /// The service wrote to `$NOTIFY_SOCKET`.
    Notified {
        /// The instance.
        fmri: Fmri,
        /// `READY=1` was in the message.
        ready: bool,
        /// `STATUS=...`, if given.
        status: Option<String>,
    },
    /// The shell looked at files that `path` dependencies cite.
    FilesProbed {
        /// Path and whether it exists.
        files: Vec<(String, bool)>,
    },
    /// The time of [`super::Engine::next_deadline`] has come.
    DeadlineReached,
    /// svc.startd is shutting down: stop everything, dependents first, start nothing.
    Shutdown,
    /// svc.startd restarted and found these instances still running (their processes
    /// alive, or online and transient): send it before the first `Imported`. Each one whose
    /// start that import decides is adopted ([`super::Action::Adopt`]) instead of started;
    /// the shell stops the processes of the others.
    Recovered {
        /// The instances.
        instances: Vec<Fmri>,
    },
}
