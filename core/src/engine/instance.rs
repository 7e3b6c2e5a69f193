//! One instance's lifecycle: svc.startd's restarter.c and method.c, minus the processes.
//!
//! - **Start** (`begin_start`): the start-rate check, then the start method. A contract
//!   instance is online when its start method exits 0 (and, with `notify` readiness, once it
//!   has said `READY=1`); a child instance as soon as its process runs (or says ready); a
//!   transient one when its start method exits 0. Milestones and instances without a start
//!   method are online at once.
//! - **Start failures**: 95, 96, 99, 100 and context errors go to maintenance at once
//!   (`method_failed`); other failures are retried immediately, and the third in a row goes to
//!   maintenance (`fault_threshold_reached`); 94 is success with nothing to track, 97 is
//!   degraded, 101 a temporary disable.
//! - **Stop** (`begin_stop`): optionally wait for dependents being taken down first, then the
//!   stop method (none means `:kill` for contract and child instances), then SIGTERM to what
//!   is left, SIGKILL when the stop timeout runs out (and then maintenance, as svc.startd).
//!   A stop with no process left skips the stop method, as svc.startd does.
//! - **Running**: a contract instance whose processes are all gone, or one of whose processes
//!   dumps core or is killed from outside, is stopped and restarted; a child instance whose
//!   process exits likewise (exit 96: maintenance).

use std::collections::HashSet;

use super::action::{Action, AdminState, Duration, MethodRun, Transition};
use super::event::{MarkState, MethodName, MethodStatus, Requester, RunId};
use super::method::{self, Config, Outcome};
use super::reason::{ErrorClass, Reason};
use super::threshold::History;
use super::timer::{TimerId, TimerKind};
use super::{Engine, InstanceStatus};
use crate::fmri::Fmri;
use crate::manifest::Exec;
use crate::manifest::effective::EffectiveInstance;
use crate::signal::Signal;
use crate::state::State;

/// How long processes get to exit after SIGTERM when the instance has no stop method (a
/// stop method's own timeout applies otherwise).
pub(crate) const DEFAULT_STOP_GRACE_MS: u64 = 60_000;
/// How long processes get to vanish after SIGKILL before they are abandoned.
pub(crate) const KILL_GRACE_MS: u64 = 10_000;

/// Where a stop should end, and how it propagates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StopPlan {
    pub(crate) target: State,
    pub(crate) reason: Reason,
    pub(crate) class: ErrorClass,
    /// Forget the start history (restart, admin disable, dependency restart).
    pub(crate) reset: bool,
}

/// The phase of a stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StopPhase {
    /// Waiting for these dependents to stop first.
    AwaitDependents(Vec<Fmri>),
    /// The stop method is running.
    Method { run: RunId, timed_out: bool },
    /// SIGTERM (or the `:kill` signal) sent; waiting for the processes to go.
    Drain,
    /// SIGKILL sent after the stop timeout.
    Kill,
}

/// What is in flight for an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Work {
    Idle,
    /// The start method is running (`run`), or it exited and the instance has not said
    /// `READY=1` yet (`run` is none).
    Starting {
        run: Option<RunId>,
        timed_out: bool,
    },
    Stopping {
        plan: StopPlan,
        phase: StopPhase,
    },
    Refreshing {
        run: RunId,
        timed_out: bool,
    },
}

/// Everything the engine remembers about one instance.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub(crate) fmri: Fmri,
    pub(crate) definition: Option<EffectiveInstance>,
    pub(crate) config: Config,
    pub(crate) state: State,
    pub(crate) next_state: Option<State>,
    pub(crate) since: crate::state::Timestamp,
    pub(crate) reason: Reason,
    /// Enabled as the manifest (or a profile) says.
    pub(crate) manifest_enabled: bool,
    /// The administrator's persistent settings.
    pub(crate) admin: AdminState,
    /// `enable -t` / `disable -t`.
    pub(crate) temporary_enabled: Option<bool>,
    /// `mark -t maintenance` in effect.
    pub(crate) temporary_maintenance: bool,
    /// Who asked for maintenance when another service did.
    pub(crate) requested_by: Option<String>,
    pub(crate) work: Work,
    /// A stop to begin as soon as the start in flight ends.
    pub(crate) pending_stop: Option<StopPlan>,
    /// Whether processes of the instance may be alive (contract and child instances).
    pub(crate) contract: bool,
    /// A child instance's own process.
    pub(crate) main_run: Option<RunId>,
    /// The start method exited 94: nothing to track.
    pub(crate) nodaemon: bool,
    pub(crate) ready: bool,
    pub(crate) status_text: Option<String>,
    pub(crate) history: History,
    pub(crate) start_status: Option<MethodStatus>,
    /// The reason an upcoming start carries into online (restart, clear, dependencies).
    pub(crate) start_reason: Reason,
    /// When the current start began (the start timeout bounds the wait for readiness).
    pub(crate) start_began: crate::state::Timestamp,
    /// When the current stop began (the stop timeout bounds the whole stop).
    pub(crate) stop_started: crate::state::Timestamp,
    /// The processes outlived the stop timeout and were killed.
    pub(crate) stop_failed: bool,
    pub(crate) timer: Option<TimerId>,
    pub(crate) removing: bool,
}

impl Record {
    pub(crate) fn new(fmri: Fmri, definition: Option<EffectiveInstance>) -> Record {
        let config = match &definition {
            Some(definition) => Config::of(definition),
            None => Config::of(&EffectiveInstance {
                service: String::new(),
                instance: String::new(),
                service_kind: crate::manifest::ServiceKind::Milestone,
                enabled: Some(true),
                settings: Default::default(),
            }),
        };
        Record {
            fmri,
            definition,
            config,
            state: State::Uninitialized,
            next_state: None,
            since: crate::state::Timestamp(0),
            reason: Reason::InsertInGraph,
            manifest_enabled: false,
            admin: AdminState::default(),
            temporary_enabled: None,
            temporary_maintenance: false,
            requested_by: None,
            work: Work::Idle,
            pending_stop: None,
            contract: false,
            main_run: None,
            nodaemon: false,
            ready: false,
            status_text: None,
            history: History::default(),
            start_status: None,
            start_reason: Reason::DependenciesSatisfied,
            start_began: crate::state::Timestamp(0),
            stop_started: crate::state::Timestamp(0),
            stop_failed: false,
            timer: None,
            removing: false,
        }
    }

    pub(crate) fn set_definition(&mut self, definition: EffectiveInstance) {
        self.config = Config::of(&definition);
        self.definition = Some(definition);
    }

    pub(crate) fn is_startd(&self) -> bool {
        self.definition.is_none()
    }

    /// Enabled, all things considered: a temporary setting, else the administrator's, else
    /// the manifest's. An instance being deleted is not.
    pub(crate) fn enabled(&self) -> bool {
        if self.is_startd() {
            return true;
        }
        !self.removing
            && self
                .temporary_enabled
                .or(self.admin.enabled)
                .unwrap_or(self.manifest_enabled)
    }

    /// Maintenance was requested and not cleared.
    pub(crate) fn maintenance_requested(&self) -> bool {
        self.admin.maintenance || self.temporary_maintenance
    }

    pub(crate) fn is_busy(&self) -> bool {
        !matches!(self.work, Work::Idle)
    }

    pub(crate) fn status(&self) -> InstanceStatus {
        InstanceStatus {
            fmri: self.fmri.clone(),
            state: self.state,
            next_state: self.next_state,
            since: self.since,
            reason: self.reason,
            enabled: self.enabled(),
            temporary: self.temporary_enabled.is_some(),
            admin: self.admin,
            start_status: self.start_status.clone(),
            duration: self.config.duration,
            faults: self.history.faults(),
            status_text: self.status_text.clone(),
            requested_by: self.requested_by.clone(),
        }
    }
}

/// What to do with an instance's processes when it drops into maintenance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Leftovers {
    /// SIGKILL them (a failed method's leftovers).
    Kill,
    /// Leave them running, untracked (`mark -I maintenance`).
    Abandon,
}

impl Engine {
    pub(crate) fn transition(
        &mut self,
        fmri: &Fmri,
        state: State,
        next_state: Option<State>,
        reason: Reason,
    ) {
        let now = self.now;
        let Some(record) = self.records.get_mut(fmri) else {
            return;
        };
        let from = record.state;
        if from == state && record.next_state == next_state && record.reason == reason {
            return;
        }
        record.state = state;
        record.next_state = next_state;
        record.reason = reason;
        record.since = now;
        self.actions.push(Action::SetState(Transition {
            fmri: fmri.clone(),
            from,
            state,
            next_state,
            reason,
            at: now,
        }));
        self.queue_dependents(fmri);
    }

    fn new_run(&mut self, fmri: &Fmri, method: MethodName) -> RunId {
        self.next_run += 1;
        let run = RunId(self.next_run);
        self.runs.insert(run, (fmri.clone(), method));
        run
    }

    fn arm(&mut self, fmri: &Fmri, timeout_ms: Option<u64>, kind: TimerKind) {
        self.disarm(fmri);
        let Some(timeout) = timeout_ms else {
            return;
        };
        let id = self
            .timers
            .arm(self.now.plus_millis(timeout), fmri.clone(), kind);
        if let Some(record) = self.records.get_mut(fmri) {
            record.timer = Some(id);
        }
    }

    fn disarm(&mut self, fmri: &Fmri) {
        if let Some(id) = self.records.get_mut(fmri).and_then(|r| r.timer.take()) {
            self.timers.cancel(id);
        }
    }

    // ----- start ---------------------------------------------------------------------------

    /// Starts an offline, enabled, idle instance whose dependencies are satisfied.
    pub(crate) fn begin_start(&mut self, fmri: &Fmri) {
        let now = self.now;
        let Some(record) = self.records.get_mut(fmri) else {
            return;
        };
        if record.history.record_start(now, record.config.rate) {
            self.log(
                fmri,
                "Restarting too quickly, changing state to maintenance.",
            );
            self.enter_maintenance(fmri, Reason::RestartingTooQuickly, Leftovers::Kill);
            return;
        }
        let reason = record.start_reason;
        let config = record.config.clone();
        let definition = record.definition.clone();
        let start = definition.as_ref().and_then(|d| d.method("start")).cloned();
        let (Some(definition), Some(start)) = (definition, start.filter(|_| !config.milestone))
        else {
            // A milestone (or an instance without a start method): nothing to run.
            self.become_running(fmri, State::Online, reason);
            return;
        };
        let command = match &start.exec {
            Exec::True => {
                self.log(fmri, "Executing start method (null).");
                if let Some(record) = self.records.get_mut(fmri) {
                    record.history.record_success();
                }
                self.become_running(fmri, State::Online, reason);
                return;
            }
            Exec::Kill { .. } => {
                self.log(fmri, "Invalid use of \":kill\" as start method.");
                self.enter_maintenance(fmri, Reason::MethodFailed, Leftovers::Kill);
                return;
            }
            Exec::Command(command) => command.clone(),
        };
        let expanded = match method::expand_tokens(&command, MethodName::Start, &definition) {
            Ok(expanded) => expanded,
            Err(why) => {
                self.log(
                    fmri,
                    format!("Could not expand method tokens in \"{command}\": {why}."),
                );
                if let Some(record) = self.records.get_mut(fmri) {
                    record.start_status = Some(MethodStatus::NotStarted {
                        message: why,
                        fatal: true,
                    });
                }
                self.enter_maintenance(fmri, Reason::MethodFailed, Leftovers::Kill);
                return;
            }
        };
        let run = self.new_run(fmri, MethodName::Start);
        let timeout = method::timeout_ms(&start);
        self.actions.push(Action::RunMethod(Box::new(MethodRun {
            run,
            fmri: fmri.clone(),
            method: MethodName::Start,
            command: expanded,
            written: command,
            context: definition.method_context(&start),
            timeout_ms: if config.duration == Duration::Child && !config.notify {
                None
            } else {
                timeout
            },
            duration: config.duration,
            notify: config.notify,
        })));
        if let Some(record) = self.records.get_mut(fmri) {
            record.work = Work::Starting {
                run: Some(run),
                timed_out: false,
            };
            record.contract = config.duration != Duration::Transient;
            record.start_began = now;
            record.nodaemon = false;
            record.ready = false;
            record.status_text = None;
            record.stop_failed = false;
            if config.duration == Duration::Child {
                record.main_run = Some(run);
            }
        }
        self.transition(fmri, State::Offline, Some(State::Online), reason);
        if config.duration == Duration::Child && !config.notify {
            // The start method's process is the service: running as soon as it runs.
            if let Some(record) = self.records.get_mut(fmri) {
                record.history.record_success();
            }
            self.become_running(fmri, State::Online, reason);
        } else {
            self.arm(fmri, timeout, TimerKind::Method);
        }
    }

    /// The instance is up: online (or degraded).
    pub(crate) fn become_running(&mut self, fmri: &Fmri, state: State, reason: Reason) {
        self.disarm(fmri);
        let Some(record) = self.records.get_mut(fmri) else {
            return;
        };
        record.work = Work::Idle;
        let empty = record.config.duration == Duration::Contract
            && !record.contract
            && !record.nodaemon
            && !record.config.milestone
            && record
                .definition
                .as_ref()
                .and_then(|d| d.method("start"))
                .is_some_and(|m| matches!(m.exec, Exec::Command(_)));
        self.transition(fmri, state, None, reason);
        if empty {
            self.all_processes_exited(fmri);
            return;
        }
        self.propagate_start(fmri);
        self.queue(fmri);
    }

    /// The start method (or, awaiting readiness, the service) ended.
    fn start_finished(&mut self, fmri: &Fmri, status: MethodStatus, timed_out: bool) {
        self.disarm(fmri);
        let Some(record) = self.records.get_mut(fmri) else {
            return;
        };
        record.start_status = Some(status.clone());
        let config = record.config.clone();
        let mut outcome = method::outcome(MethodName::Start, &status);
        if config.duration == Duration::Child {
            // The service ended before it said it was ready: a failed start.
            outcome = match outcome {
                Outcome::Fatal => Outcome::Fatal,
                _ => Outcome::Retryable,
            };
            record.main_run = None;
        }
        if timed_out && !config.timeout_retry {
            outcome = Outcome::Fatal;
        }
        let reason = record.start_reason;
        match outcome {
            Outcome::Success | Outcome::NoDaemon | Outcome::Degrade | Outcome::TempDisable => {
                if outcome == Outcome::NoDaemon {
                    record.nodaemon = true;
                    record.contract = false;
                    self.actions
                        .push(Action::AbandonContract { fmri: fmri.clone() });
                }
                if outcome == Outcome::TempDisable {
                    record.temporary_enabled = Some(false);
                }
                let awaiting = config.notify
                    && config.duration == Duration::Contract
                    && outcome != Outcome::NoDaemon
                    && !record.ready;
                if awaiting {
                    // Online only once it says READY=1; the start timeout still runs.
                    record.work = Work::Starting {
                        run: None,
                        timed_out: false,
                    };
                    let remaining = record
                        .definition
                        .as_ref()
                        .and_then(|d| d.method("start"))
                        .and_then(method::timeout_ms)
                        .map(|t| t.saturating_sub(self.now.millis_since(record.start_began)));
                    if !record.contract {
                        self.start_failed(
                            fmri,
                            "all processes exited before the service was ready",
                        );
                        return;
                    }
                    self.arm(fmri, remaining, TimerKind::Method);
                    return;
                }
                record.history.record_success();
                if outcome == Outcome::Degrade {
                    self.become_running(fmri, State::Degraded, Reason::MethodFailed);
                } else {
                    self.become_running(fmri, State::Online, reason);
                }
            }
            Outcome::Fatal => {
                self.log(
                    fmri,
                    format!(
                        "Method \"start\" {}; changing state to maintenance.",
                        method::describe_status(&status)
                    ),
                );
                self.enter_maintenance(fmri, Reason::MethodFailed, Leftovers::Kill);
            }
            Outcome::Retryable => {
                let text = method::describe_status(&status);
                self.start_failed(fmri, &text);
            }
        }
    }

    /// A retryable start failure: again at once, or maintenance at the threshold.
    fn start_failed(&mut self, fmri: &Fmri, why: &str) {
        let Some(record) = self.records.get_mut(fmri) else {
            return;
        };
        record.work = Work::Idle;
        record.main_run = None;
        if record.history.record_fault() {
            self.log(
                fmri,
                format!(
                    "Method \"start\" failed repeatedly ({why}); changing state to maintenance."
                ),
            );
            self.enter_maintenance(fmri, Reason::FaultThresholdReached, Leftovers::Kill);
            return;
        }
        let kill = record.contract;
        record.contract = false;
        self.log(fmri, format!("Method \"start\" {why}; retrying."));
        if kill {
            self.actions.push(Action::SignalContract {
                fmri: fmri.clone(),
                signal: Signal::KILL,
            });
        }
        let enabled = self.records.get(fmri).is_some_and(Record::enabled);
        if enabled && !self.shutting_down {
            self.begin_start(fmri);
        } else {
            self.transition(fmri, State::Offline, None, Reason::DisableRequest);
            self.queue(fmri);
        }
    }

    // ----- running -------------------------------------------------------------------------

    /// Every process of a running contract instance has exited.
    pub(crate) fn all_processes_exited(&mut self, fmri: &Fmri) {
        if let Some(record) = self.records.get_mut(fmri) {
            record.contract = false;
        }
        self.log(fmri, "Stopping because all processes in service exited.");
        self.begin_stop(
            fmri,
            StopPlan {
                target: State::Offline,
                reason: Reason::CtEvExit,
                class: ErrorClass::Restart,
                reset: false,
            },
            Vec::new(),
        );
    }

    /// A child instance's own process ended while it was running.
    fn child_exited(&mut self, fmri: &Fmri, status: MethodStatus) {
        let Some(record) = self.records.get_mut(fmri) else {
            return;
        };
        record.main_run = None;
        record.start_status = Some(status.clone());
        if !record.state.is_running() || record.is_busy() {
            return;
        }
        let text = method::describe_status(&status);
        match method::outcome(MethodName::Start, &status) {
            Outcome::Fatal => {
                self.log(
                    fmri,
                    format!("Service {text}; changing state to maintenance."),
                );
                self.enter_maintenance(fmri, Reason::MethodFailed, Leftovers::Kill);
            }
            _ => {
                if status.is_success() {
                    record.history.reset_starts();
                }
                self.log(
                    fmri,
                    format!("Stopping because the service process {text}."),
                );
                self.begin_stop(
                    fmri,
                    StopPlan {
                        target: State::Offline,
                        reason: Reason::CtEvExit,
                        class: ErrorClass::Restart,
                        reset: false,
                    },
                    Vec::new(),
                );
            }
        }
    }

    pub(crate) fn method_exited(&mut self, run: RunId, status: MethodStatus) {
        let Some((fmri, method)) = self.runs.remove(&run) else {
            return;
        };
        let Some(record) = self.records.get(&fmri) else {
            return;
        };
        match (method, record.work.clone()) {
            (
                MethodName::Start,
                Work::Starting {
                    run: Some(current),
                    timed_out,
                },
            ) if current == run => {
                if record.config.duration == Duration::Child && record.main_run == Some(run) {
                    // A child that exits before it said it was ready.
                    self.start_finished(&fmri, status, timed_out);
                } else {
                    self.start_finished(&fmri, status, timed_out);
                }
            }
            (MethodName::Start, _) if record.main_run == Some(run) => {
                self.child_exited(&fmri, status);
            }
            (
                MethodName::Stop,
                Work::Stopping {
                    phase:
                        StopPhase::Method {
                            run: current,
                            timed_out,
                        },
                    ..
                },
            ) if current == run => self.stop_method_finished(&fmri, status, timed_out),
            (MethodName::Refresh, Work::Refreshing { run: current, .. }) if current == run => {
                self.refresh_finished(&fmri, status)
            }
            _ => {}
        }
    }

    pub(crate) fn method_timed_out(&mut self, run: RunId) {
        let Some((fmri, _)) = self.runs.get(&run).cloned() else {
            return;
        };
        self.timeout(&fmri);
    }

    /// The instance's method (or readiness, or drain) timer ran out.
    pub(crate) fn timeout(&mut self, fmri: &Fmri) {
        self.disarm(fmri);
        let Some(record) = self.records.get_mut(fmri) else {
            return;
        };
        match record.work.clone() {
            Work::Starting {
                run: Some(run),
                timed_out: false,
            } => {
                record.work = Work::Starting {
                    run: Some(run),
                    timed_out: true,
                };
                self.log(fmri, "Method or service exit timed out.  Killing contract.");
                self.actions.push(Action::KillMethod {
                    run,
                    signal: Signal::KILL,
                });
                if record_contract(self, fmri) {
                    self.actions.push(Action::SignalContract {
                        fmri: fmri.clone(),
                        signal: Signal::KILL,
                    });
                }
            }
            Work::Starting { run: None, .. } => {
                self.log(fmri, "Timed out waiting for READY=1.  Killing contract.");
                if let Some(record) = self.records.get_mut(fmri) {
                    record.start_status = Some(MethodStatus::Signaled {
                        signal: Signal::KILL,
                        core_dumped: false,
                    });
                }
                let retry = self
                    .records
                    .get(fmri)
                    .is_some_and(|record| record.config.timeout_retry);
                if retry {
                    self.start_failed(fmri, "timed out waiting for READY=1");
                } else {
                    self.enter_maintenance(fmri, Reason::MethodFailed, Leftovers::Kill);
                }
            }
            Work::Stopping {
                plan,
                phase:
                    StopPhase::Method {
                        run,
                        timed_out: false,
                    },
            } => {
                record.work = Work::Stopping {
                    plan,
                    phase: StopPhase::Method {
                        run,
                        timed_out: true,
                    },
                };
                self.log(fmri, "Method or service exit timed out.  Killing contract.");
                self.actions.push(Action::KillMethod {
                    run,
                    signal: Signal::KILL,
                });
            }
            Work::Stopping {
                plan,
                phase: StopPhase::Drain,
            } => {
                record.work = Work::Stopping {
                    plan,
                    phase: StopPhase::Kill,
                };
                record.stop_failed = true;
                self.log(
                    fmri,
                    "Processes still running after the stop timeout; sending SIGKILL.",
                );
                self.actions.push(Action::SignalContract {
                    fmri: fmri.clone(),
                    signal: Signal::KILL,
                });
                self.arm(fmri, Some(KILL_GRACE_MS), TimerKind::Drain);
            }
            Work::Stopping {
                phase: StopPhase::Kill,
                ..
            } => {
                self.log(fmri, "Processes survived SIGKILL; abandoning them.");
                self.actions
                    .push(Action::AbandonContract { fmri: fmri.clone() });
                self.finish_stop(fmri);
            }
            Work::Refreshing {
                run,
                timed_out: false,
            } => {
                record.work = Work::Refreshing {
                    run,
                    timed_out: true,
                };
                self.actions.push(Action::KillMethod {
                    run,
                    signal: Signal::KILL,
                });
            }
            _ => {}
        }
    }

    pub(crate) fn contract_emptied(&mut self, fmri: &Fmri) {
        let Some(record) = self.records.get_mut(fmri) else {
            return;
        };
        if record.nodaemon || record.config.duration == Duration::Transient {
            return;
        }
        match record.work.clone() {
            // The start method is itself in the contract: a report now is stale.
            Work::Starting { run: Some(_), .. } => {}
            Work::Starting { run: None, .. } => {
                record.contract = false;
                record.start_status = Some(MethodStatus::Exited(0));
                self.start_failed(fmri, "exited before the service was ready");
            }
            Work::Stopping {
                phase: StopPhase::Drain | StopPhase::Kill,
                ..
            } => {
                record.contract = false;
                self.finish_stop(fmri);
            }
            Work::Stopping { .. } | Work::Refreshing { .. } => record.contract = false,
            Work::Idle => {
                let was = record.contract;
                record.contract = false;
                if was && record.state.is_running() && record.config.duration == Duration::Contract
                {
                    self.all_processes_exited(fmri);
                }
            }
        }
    }

    pub(crate) fn process_faulted(&mut self, fmri: &Fmri, core_dumped: bool) {
        let Some(record) = self.records.get(fmri) else {
            return;
        };
        if !record.state.is_running()
            || record.is_busy()
            || record.config.duration != Duration::Contract
            || record.nodaemon
        {
            return;
        }
        let (ignored, reason, what) = if core_dumped {
            (
                record.config.ignore_core,
                Reason::CtEvCore,
                "a process dumped core",
            )
        } else {
            (
                record.config.ignore_signal,
                Reason::CtEvSignal,
                "a process received a fatal signal from outside the service",
            )
        };
        if ignored {
            self.log(fmri, format!("Ignoring: {what} (startd/ignore_error)."));
            return;
        }
        self.log(fmri, format!("Stopping because {what}."));
        self.begin_stop(
            fmri,
            StopPlan {
                target: State::Offline,
                reason,
                class: ErrorClass::Fault,
                reset: false,
            },
            Vec::new(),
        );
    }

    pub(crate) fn notified(&mut self, fmri: &Fmri, ready: bool, status: Option<String>) {
        let Some(record) = self.records.get_mut(fmri) else {
            return;
        };
        if status.is_some() {
            record.status_text = status;
        }
        if !ready || !record.config.notify {
            return;
        }
        record.ready = true;
        match record.work {
            Work::Starting { run: None, .. } => {
                let reason = record.start_reason;
                record.history.record_success();
                self.become_running(fmri, State::Online, reason);
            }
            Work::Starting { run: Some(_), .. } if record.config.duration == Duration::Child => {
                let reason = record.start_reason;
                record.history.record_success();
                self.become_running(fmri, State::Online, reason);
            }
            _ => {}
        }
    }

    // ----- stop ----------------------------------------------------------------------------

    /// Stops a running instance; `wait_for` are dependents being stopped that must be down
    /// first. A start in flight finishes first; a stop in flight only gains a harsher target.
    pub(crate) fn begin_stop(&mut self, fmri: &Fmri, plan: StopPlan, wait_for: Vec<Fmri>) {
        let Some(record) = self.records.get_mut(fmri) else {
            return;
        };
        match &mut record.work {
            Work::Starting { .. } => {
                record.pending_stop = Some(plan);
                return;
            }
            Work::Stopping { plan: current, .. } => {
                if severity(plan.target) > severity(current.target) {
                    current.target = plan.target;
                    current.reason = plan.reason;
                    current.class = current.class.min(plan.class);
                    let next = Some(plan.target);
                    let (state, reason) = (record.state, plan.reason);
                    self.transition(fmri, state, next, reason);
                }
                return;
            }
            Work::Refreshing { run, .. } => {
                let run = *run;
                self.runs.remove(&run);
                self.disarm(fmri);
            }
            Work::Idle => {}
        }
        let Some(record) = self.records.get_mut(fmri) else {
            return;
        };
        if !record.state.is_running() {
            return;
        }
        record.stop_started = self.now;
        record.stop_failed = false;
        let state = record.state;
        let waiting: Vec<Fmri> = wait_for.into_iter().filter(|d| d != fmri).collect();
        record.work = Work::Stopping {
            plan,
            phase: StopPhase::AwaitDependents(waiting.clone()),
        };
        self.transition(fmri, state, Some(plan.target), plan.reason);
        if waiting.is_empty() {
            self.run_stop_method(fmri);
        } else {
            self.waiters.insert(fmri.clone());
            for dependent in &waiting {
                self.waiting_on
                    .entry(dependent.clone())
                    .or_default()
                    .insert(fmri.clone());
            }
            self.check_waiter(fmri);
        }
    }

    /// `waiter` proceeds with its stop once every dependent it waits for is down.
    fn check_waiter(&mut self, waiter: &Fmri) {
        let Some(Work::Stopping {
            phase: StopPhase::AwaitDependents(waiting),
            ..
        }) = self.records.get(waiter).map(|r| &r.work)
        else {
            self.waiters.remove(waiter);
            return;
        };
        let down = waiting.iter().all(|dependent| {
            self.records
                .get(dependent)
                .is_none_or(|d| !d.state.is_running() && !d.is_busy())
        });
        if down {
            self.waiters.remove(waiter);
            self.run_stop_method(waiter);
        }
    }

    /// `fmri` settled (stopped, or gone): the instances waiting for it may proceed.
    pub(crate) fn wake_waiters(&mut self, fmri: &Fmri) {
        let Some(waiters) = self.waiting_on.remove(fmri) else {
            return;
        };
        let mut waiters: Vec<Fmri> = waiters.into_iter().collect();
        waiters.sort();
        for waiter in waiters {
            self.check_waiter(&waiter);
        }
    }

    fn run_stop_method(&mut self, fmri: &Fmri) {
        let Some(record) = self.records.get(fmri) else {
            return;
        };
        let Work::Stopping { plan, .. } = record.work else {
            return;
        };
        let config = record.config.clone();
        let definition = record.definition.clone();
        let has_processes = record.contract;
        let stop = definition
            .as_ref()
            .and_then(|d| d.method("stop"))
            .cloned()
            .filter(|_| !config.milestone);
        let tracked = config.duration != Duration::Transient && !record.nodaemon;
        if tracked && !has_processes {
            // svc.startd runs no stop method when no process is left.
            self.finish_stop(fmri);
            return;
        }
        let stop_timeout = stop.as_ref().and_then(method::timeout_ms);
        match stop.as_ref().map(|m| &m.exec) {
            Some(Exec::Command(command)) => {
                let Some(definition) = definition else {
                    return;
                };
                let Some(stop) = stop.clone() else {
                    return;
                };
                match method::expand_tokens(command, MethodName::Stop, &definition) {
                    Ok(expanded) => {
                        let run = self.new_run(fmri, MethodName::Stop);
                        self.actions.push(Action::RunMethod(Box::new(MethodRun {
                            run,
                            fmri: fmri.clone(),
                            method: MethodName::Stop,
                            command: expanded,
                            written: command.clone(),
                            context: definition.method_context(&stop),
                            timeout_ms: stop_timeout,
                            duration: config.duration,
                            notify: false,
                        })));
                        self.set_phase(
                            fmri,
                            plan,
                            StopPhase::Method {
                                run,
                                timed_out: false,
                            },
                        );
                        self.arm(fmri, stop_timeout, TimerKind::Method);
                    }
                    Err(why) => {
                        self.log(
                            fmri,
                            format!("Could not expand method tokens in \"{command}\": {why}."),
                        );
                        self.stop_failed(fmri, Reason::MethodFailed);
                    }
                }
            }
            Some(Exec::True) => {
                self.log(fmri, "Executing stop method (null).");
                self.drain(fmri, Signal::TERM, stop_timeout);
            }
            Some(Exec::Kill { signal }) => {
                if !tracked {
                    self.log(
                        fmri,
                        "Invalid use of \":kill\" as stop method for transient service.",
                    );
                    self.stop_failed(fmri, Reason::MethodFailed);
                    return;
                }
                let parsed = signal.as_deref().map_or(Some(Signal::TERM), Signal::parse);
                self.drain(fmri, parsed.unwrap_or(Signal::TERM), stop_timeout);
            }
            None => self.drain(fmri, Signal::TERM, Some(DEFAULT_STOP_GRACE_MS)),
        }
    }

    fn set_phase(&mut self, fmri: &Fmri, plan: StopPlan, phase: StopPhase) {
        if let Some(record) = self.records.get_mut(fmri) {
            record.work = Work::Stopping { plan, phase };
        }
    }

    /// Signals what is left of the instance and waits for it to go, within `timeout_ms`
    /// of the start of the stop.
    fn drain(&mut self, fmri: &Fmri, signal: Signal, timeout_ms: Option<u64>) {
        let Some(record) = self.records.get(fmri) else {
            return;
        };
        let Work::Stopping { plan, .. } = record.work else {
            return;
        };
        let tracked = record.config.duration != Duration::Transient && !record.nodaemon;
        if !tracked || !record.contract {
            self.finish_stop(fmri);
            return;
        }
        let remaining =
            timeout_ms.map(|t| t.saturating_sub(self.now.millis_since(record.stop_started)));
        self.actions.push(Action::SignalContract {
            fmri: fmri.clone(),
            signal,
        });
        self.set_phase(fmri, plan, StopPhase::Drain);
        self.arm(fmri, remaining, TimerKind::Drain);
    }

    fn stop_method_finished(&mut self, fmri: &Fmri, status: MethodStatus, timed_out: bool) {
        self.disarm(fmri);
        let outcome = if timed_out {
            Outcome::Retryable
        } else {
            method::outcome(MethodName::Stop, &status)
        };
        let text = method::describe_status(&status);
        match outcome {
            Outcome::Fatal => {
                self.log(fmri, format!("Method \"stop\" {text}."));
                self.stop_failed(fmri, Reason::MethodFailed);
            }
            Outcome::Retryable => {
                let threshold = self
                    .records
                    .get_mut(fmri)
                    .is_some_and(|record| record.history.record_fault());
                if threshold {
                    self.log(
                        fmri,
                        format!("Method \"stop\" failed repeatedly, last {text}."),
                    );
                    self.stop_failed(fmri, Reason::FaultThresholdReached);
                } else {
                    self.log(fmri, format!("Method \"stop\" {text}; retrying."));
                    self.run_stop_method(fmri);
                }
            }
            _ => {
                let timeout = self.records.get_mut(fmri).and_then(|record| {
                    record.history.record_success();
                    record
                        .definition
                        .as_ref()
                        .and_then(|d| d.method("stop"))
                        .and_then(method::timeout_ms)
                });
                self.drain(fmri, Signal::TERM, timeout);
            }
        }
    }

    /// The stop failed: kill what is left and go to maintenance.
    fn stop_failed(&mut self, fmri: &Fmri, reason: Reason) {
        let was_running = self
            .records
            .get(fmri)
            .is_some_and(|record| record.state.is_running());
        self.enter_maintenance(fmri, reason, Leftovers::Kill);
        if was_running {
            self.wake_waiters(fmri);
        }
    }

    /// The stop is complete: settle in the target state and tell the dependents.
    pub(crate) fn finish_stop(&mut self, fmri: &Fmri) {
        self.disarm(fmri);
        let Some(record) = self.records.get_mut(fmri) else {
            return;
        };
        let Work::Stopping { mut plan, .. } = record.work.clone() else {
            return;
        };
        record.work = Work::Idle;
        record.contract = false;
        record.main_run = None;
        if record.stop_failed {
            self.log(fmri, "Stop failed: processes had to be killed.");
            plan.target = State::Maintenance;
            plan.reason = Reason::MethodFailed;
            plan.class = ErrorClass::Fault;
        }
        let Some(record) = self.records.get_mut(fmri) else {
            return;
        };
        if plan.reset {
            record.history.reset_starts();
        }
        let enabled = record.enabled();
        let (target, reason) = match plan.target {
            State::Disabled if enabled => (State::Offline, Reason::EnableRequest),
            State::Offline if !enabled => (State::Disabled, Reason::DisableRequest),
            other => (other, plan.reason),
        };
        let was_running = record.state.is_running();
        if plan.reason == Reason::RestartRequest {
            record.start_reason = Reason::RestartRequest;
        } else if target == State::Offline {
            record.start_reason = Reason::DependenciesSatisfied;
        }
        self.transition(fmri, target, None, reason);
        if was_running {
            self.propagate_stop(fmri, plan.class);
        }
        self.wake_waiters(fmri);
        self.queue(fmri);
        self.collect_removed();
    }

    /// Into maintenance now: no stop method; the processes are killed or abandoned.
    pub(crate) fn enter_maintenance(&mut self, fmri: &Fmri, reason: Reason, leftovers: Leftovers) {
        self.disarm(fmri);
        self.runs.retain(|_, (owner, _)| owner != fmri);
        self.waiters.remove(fmri);
        let Some(record) = self.records.get_mut(fmri) else {
            return;
        };
        let was_running = record.state.is_running();
        let had_processes = record.contract;
        record.work = Work::Idle;
        record.pending_stop = None;
        record.contract = false;
        record.main_run = None;
        if had_processes {
            match leftovers {
                Leftovers::Kill => self.actions.push(Action::SignalContract {
                    fmri: fmri.clone(),
                    signal: Signal::KILL,
                }),
                Leftovers::Abandon => self
                    .actions
                    .push(Action::AbandonContract { fmri: fmri.clone() }),
            }
        }
        self.transition(fmri, State::Maintenance, None, reason);
        if was_running {
            let class = match reason {
                Reason::AdministrativeRequest | Reason::ServiceRequest => ErrorClass::Restart,
                _ => ErrorClass::Fault,
            };
            self.propagate_stop(fmri, class);
        }
        self.wake_waiters(fmri);
        self.collect_removed();
    }

    // ----- refresh -------------------------------------------------------------------------

    /// Runs the refresh method of a running instance (none: `:true`).
    pub(crate) fn begin_refresh(&mut self, fmri: &Fmri) {
        let Some(record) = self.records.get(fmri) else {
            return;
        };
        let state = record.state;
        let reason = record.reason;
        let definition = record.definition.clone();
        let refresh = definition
            .as_ref()
            .and_then(|d| d.method("refresh"))
            .cloned();
        match (definition, refresh) {
            (Some(definition), Some(refresh)) => match &refresh.exec {
                Exec::Command(command) => {
                    match method::expand_tokens(command, MethodName::Refresh, &definition) {
                        Ok(expanded) => {
                            let run = self.new_run(fmri, MethodName::Refresh);
                            let timeout = method::timeout_ms(&refresh);
                            self.actions.push(Action::RunMethod(Box::new(MethodRun {
                                run,
                                fmri: fmri.clone(),
                                method: MethodName::Refresh,
                                command: expanded,
                                written: command.clone(),
                                context: definition.method_context(&refresh),
                                timeout_ms: timeout,
                                duration: self
                                    .records
                                    .get(fmri)
                                    .map_or(Duration::Contract, |r| r.config.duration),
                                notify: false,
                            })));
                            if let Some(record) = self.records.get_mut(fmri) {
                                record.work = Work::Refreshing {
                                    run,
                                    timed_out: false,
                                };
                            }
                            self.transition(fmri, state, Some(state), reason);
                            self.arm(fmri, timeout, TimerKind::Method);
                        }
                        Err(why) => {
                            self.log(
                                fmri,
                                format!("Could not expand method tokens in \"{command}\": {why}."),
                            );
                        }
                    }
                }
                Exec::Kill { signal } => {
                    let signal = signal
                        .as_deref()
                        .map_or(Some(Signal::TERM), Signal::parse)
                        .unwrap_or(Signal::TERM);
                    self.actions.push(Action::SignalContract {
                        fmri: fmri.clone(),
                        signal,
                    });
                    self.propagate_refresh(fmri);
                }
                Exec::True => self.propagate_refresh(fmri),
            },
            _ => {
                self.log(fmri, "No 'refresh' method defined.  Treating as :true.");
                self.propagate_refresh(fmri);
            }
        }
    }

    fn refresh_finished(&mut self, fmri: &Fmri, status: MethodStatus) {
        self.disarm(fmri);
        let Some(record) = self.records.get_mut(fmri) else {
            return;
        };
        record.work = Work::Idle;
        let (state, reason) = (record.state, record.reason);
        if !status.is_success() {
            self.log(
                fmri,
                format!("Method \"refresh\" {}.", method::describe_status(&status)),
            );
        }
        self.transition(fmri, state, None, reason);
        if status.is_success() {
            self.propagate_refresh(fmri);
        }
        self.queue(fmri);
    }

    // ----- administrative requests ---------------------------------------------------------

    pub(crate) fn enable(&mut self, fmri: &Fmri, temporary: bool, recursive: bool) {
        let mut targets = vec![fmri.clone()];
        if recursive {
            targets = self.dependencies_closure(fmri);
        }
        for target in targets {
            let Some(record) = self.records.get_mut(&target) else {
                continue;
            };
            if record.is_startd() {
                continue;
            }
            if temporary {
                record.temporary_enabled = Some(true);
            } else {
                record.temporary_enabled = None;
                record.admin.enabled = Some(true);
                self.persist(&target);
            }
            self.log(&target, "Enabled.");
            self.queue(&target);
        }
    }

    /// `fmri` and every instance it depends on (not through exclusions), each once: what
    /// `svcadm enable -r` enables. Cycles end the walk instead of looping.
    fn dependencies_closure(&self, fmri: &Fmri) -> Vec<Fmri> {
        let mut out = Vec::new();
        let Some(start) = self.node(fmri) else {
            return out;
        };
        let mut seen = HashSet::from([start]);
        let mut stack = vec![start];
        while let Some(node) = stack.pop() {
            if let Some(fmri) = self.graph.fmri(node) {
                out.push(fmri.clone());
            }
            for (group, dependency) in self.graph.groups(node) {
                if dependency.grouping == crate::manifest::Grouping::ExcludeAll {
                    continue;
                }
                for target in self.graph.targets(group) {
                    let nodes = match target {
                        crate::graph::Target::Instance(n) => vec![n],
                        crate::graph::Target::Service(n) => self.graph.members(n),
                        crate::graph::Target::File(_) => Vec::new(),
                    };
                    for n in nodes {
                        if self.graph.is_configured(n) && seen.insert(n) {
                            stack.push(n);
                        }
                    }
                }
            }
        }
        out
    }

    pub(crate) fn disable(&mut self, fmri: &Fmri, temporary: bool) {
        let Some(record) = self.records.get_mut(fmri) else {
            return;
        };
        if record.is_startd() {
            return;
        }
        if temporary {
            record.temporary_enabled = Some(false);
        } else {
            record.temporary_enabled = None;
            record.admin.enabled = Some(false);
        }
        record.history.reset_starts();
        let in_maintenance = record.state == State::Maintenance;
        if in_maintenance {
            record.admin.maintenance = false;
            record.temporary_maintenance = false;
            record.requested_by = None;
        }
        if !temporary || in_maintenance {
            self.persist(fmri);
        }
        self.log(fmri, "Disabled.");
        if in_maintenance {
            self.log(fmri, "Leaving maintenance because disable requested.");
            self.transition(fmri, State::Disabled, None, Reason::DisableRequest);
            return;
        }
        self.take_down(
            fmri,
            StopPlan {
                target: State::Disabled,
                reason: Reason::DisableRequest,
                class: ErrorClass::Restart,
                reset: true,
            },
        );
        self.queue(fmri);
    }

    pub(crate) fn restart(&mut self, fmri: &Fmri) {
        let Some(record) = self.records.get_mut(fmri) else {
            return;
        };
        if !record.state.is_running() || record.is_busy() || record.is_startd() {
            // svc.startd: "Not restarting; not running."
            return;
        }
        record.start_reason = Reason::RestartRequest;
        self.begin_stop(
            fmri,
            StopPlan {
                target: State::Offline,
                reason: Reason::RestartRequest,
                class: ErrorClass::Restart,
                reset: true,
            },
            Vec::new(),
        );
    }

    pub(crate) fn refresh(&mut self, fmri: &Fmri) {
        let Some(node) = self.node(fmri) else {
            return;
        };
        let files: Vec<String> = self
            .graph
            .files_of(node)
            .into_iter()
            .map(str::to_string)
            .collect();
        if !files.is_empty() {
            self.actions.push(Action::ProbeFiles { paths: files });
        }
        let Some(record) = self.records.get(fmri) else {
            return;
        };
        if record.state.is_running() && !record.is_busy() && !record.is_startd() {
            self.begin_refresh(fmri);
        }
        self.queue(fmri);
    }

    pub(crate) fn clear(&mut self, fmri: &Fmri) {
        let Some(record) = self.records.get_mut(fmri) else {
            return;
        };
        match record.state {
            State::Maintenance => {
                let persisted = record.admin.maintenance;
                record.admin.maintenance = false;
                record.temporary_maintenance = false;
                record.requested_by = None;
                record.history.reset();
                record.start_reason = Reason::ClearRequest;
                if persisted {
                    self.persist(fmri);
                }
                self.log(fmri, "Leaving maintenance because clear requested.");
                self.transition(fmri, State::Uninitialized, None, Reason::ClearRequest);
                self.queue(fmri);
            }
            State::Degraded if !record.is_busy() => {
                record.history.reset();
                self.transition(fmri, State::Online, None, Reason::ClearRequest);
            }
            _ => {}
        }
    }

    pub(crate) fn mark(
        &mut self,
        fmri: &Fmri,
        state: MarkState,
        immediate: bool,
        temporary: bool,
        requester: Requester,
    ) {
        let Some(record) = self.records.get_mut(fmri) else {
            return;
        };
        if record.is_startd() {
            return;
        }
        match state {
            MarkState::Degraded => {
                if record.state == State::Online && !record.is_busy() {
                    self.transition(fmri, State::Degraded, None, Reason::AdministrativeRequest);
                }
            }
            MarkState::Maintenance => {
                let reason = match &requester {
                    Requester::Administrator => Reason::AdministrativeRequest,
                    Requester::Service(by) => {
                        record.requested_by = Some(by.clone());
                        Reason::ServiceRequest
                    }
                };
                if temporary {
                    record.temporary_maintenance = true;
                } else {
                    record.admin.maintenance = true;
                    self.persist(fmri);
                }
                let Some(record) = self.records.get(fmri) else {
                    return;
                };
                if record.state == State::Maintenance {
                    return;
                }
                if immediate || !record.state.is_running() {
                    let was_running = record.state.is_running();
                    if was_running {
                        self.take_down_dependents_only(fmri);
                    }
                    self.enter_maintenance(fmri, reason, Leftovers::Abandon);
                } else {
                    self.take_down(
                        fmri,
                        StopPlan {
                            target: State::Maintenance,
                            reason,
                            class: ErrorClass::Restart,
                            reset: false,
                        },
                    );
                }
            }
        }
    }

    pub(crate) fn shutdown(&mut self) {
        self.shutting_down = true;
        let running: Vec<Fmri> = self
            .records
            .values()
            .filter(|record| !record.is_startd() && record.state.is_running())
            .map(|record| record.fmri.clone())
            .collect();
        let set: HashSet<Fmri> = running.iter().cloned().collect();
        let mut ordered = running;
        ordered.sort();
        for fmri in ordered {
            let wait = self.direct_dependents_in(&fmri, &set, true);
            self.begin_stop(
                &fmri,
                StopPlan {
                    target: State::Offline,
                    reason: Reason::DisableRequest,
                    class: ErrorClass::Restart,
                    reset: false,
                },
                wait,
            );
        }
    }

    pub(crate) fn deadline_reached(&mut self) {
        for (_, fmri, _) in self.timers.due(self.now) {
            if let Some(record) = self.records.get_mut(&fmri) {
                record.timer = None;
            }
            self.timeout(&fmri);
        }
    }
}

fn record_contract(engine: &Engine, fmri: &Fmri) -> bool {
    engine
        .records
        .get(fmri)
        .is_some_and(|record| record.contract)
}

/// Which stop target wins when two requests meet.
fn severity(state: State) -> u8 {
    match state {
        State::Maintenance => 3,
        State::Disabled => 2,
        _ => 1,
    }
}
