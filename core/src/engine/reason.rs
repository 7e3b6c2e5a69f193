//! Why a state changed: SMF's transition reasons (`restarter/auxiliary_state`,
//! smf-reference.md §2.5) and error classes (§2.6), as data that `svcs -x` and the logs
//! explain.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The reason recorded with a state change, as `restarter/auxiliary_state` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The restarter gave no reason.
    None,
    /// An administrator asked for maintenance.
    AdministrativeRequest,
    /// An administrator cleared maintenance.
    ClearRequest,
    /// A process dumped core.
    CtEvCore,
    /// All processes of the service exited.
    CtEvExit,
    /// A process received a fatal signal from outside the service.
    CtEvSignal,
    /// All dependencies are satisfied.
    DependenciesSatisfied,
    /// A dependency's activity required a stop.
    DependencyActivity,
    /// The instance completes a dependency cycle.
    DependencyCycle,
    /// A disable was requested.
    DisableRequest,
    /// An enable was requested.
    EnableRequest,
    /// A method kept failing in a retryable way.
    FaultThresholdReached,
    /// The instance was inserted in the graph.
    InsertInGraph,
    /// A dependency cannot be used as written.
    InvalidDependency,
    /// The instance's restarter is not svc.startd and cannot be used.
    InvalidRestarter,
    /// A start, stop or refresh method failed.
    MethodFailed,
    /// The configuration says so (enabled or not at import).
    PerConfiguration,
    /// A restart was requested.
    RestartRequest,
    /// The instance restarted too often too quickly.
    RestartingTooQuickly,
    /// Another service asked for maintenance.
    ServiceRequest,
}

impl Reason {
    /// The short name (`restarter/auxiliary_state`).
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::None => "none",
            Reason::AdministrativeRequest => "administrative_request",
            Reason::ClearRequest => "clear_request",
            Reason::CtEvCore => "ct_ev_core",
            Reason::CtEvExit => "ct_ev_exit",
            Reason::CtEvSignal => "ct_ev_signal",
            Reason::DependenciesSatisfied => "dependencies_satisfied",
            Reason::DependencyActivity => "dependency_activity",
            Reason::DependencyCycle => "dependency_cycle",
            Reason::DisableRequest => "disable_request",
            Reason::EnableRequest => "enable_request",
            Reason::FaultThresholdReached => "fault_threshold_reached",
            Reason::InsertInGraph => "insert_in_graph",
            Reason::InvalidDependency => "invalid_dependency",
            Reason::InvalidRestarter => "invalid_restarter",
            Reason::MethodFailed => "method_failed",
            Reason::PerConfiguration => "per_configuration",
            Reason::RestartRequest => "restart_request",
            Reason::RestartingTooQuickly => "restarting_too_quickly",
            Reason::ServiceRequest => "service_request",
        }
    }

    /// librestart's long description.
    pub fn description(self) -> &'static str {
        match self {
            Reason::None => "the restarter gave no reason",
            Reason::AdministrativeRequest => "maintenance was requested by an administrator",
            Reason::ClearRequest => "maintenance clear was requested by an administrator",
            Reason::CtEvCore => "a process dumped core",
            Reason::CtEvExit => "all processes in the service have exited",
            Reason::CtEvSignal => "a process received a fatal signal from outside the service",
            Reason::DependenciesSatisfied => "all dependencies have been satisfied",
            Reason::DependencyActivity => "a dependency activity required a stop",
            Reason::DependencyCycle => "a dependency cycle exists",
            Reason::DisableRequest => "a disable was requested",
            Reason::EnableRequest => "an enable was requested",
            Reason::FaultThresholdReached => {
                "a method is failing in a retryable manner but too often"
            }
            Reason::InsertInGraph => "the instance was inserted in the graph",
            Reason::InvalidDependency => "a service has an invalid dependency",
            Reason::InvalidRestarter => "the service restarter is invalid",
            Reason::MethodFailed => "a start, stop or refresh method failed",
            Reason::PerConfiguration => "the SMF repository configuration specifies this state",
            Reason::RestartRequest => "a restart was requested",
            Reason::RestartingTooQuickly => "the instance is restarting too quickly",
            Reason::ServiceRequest => "maintenance was requested by another service",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How serious a stop was, for deciding which dependents follow (librestart's
/// `restarter_error_t`, ordered by severity as `restart_on` is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// Nothing propagates.
    None,
    /// A failure: core dump, fatal signal, method failure.
    Fault,
    /// A non-error stop: exit, disable, restart, dependency activity.
    Restart,
    /// A refresh.
    Refresh,
}
