//! Starting and running: the start method, readiness, method exits, timeouts, and what
//! happens when a running instance's processes go (see `instance.rs` for the whole lifecycle).

use super::Engine;
use super::action::{Action, Duration, MethodRun};
use super::event::{MethodName, MethodStatus, RunId};
use super::instance::{KILL_GRACE_MS, Leftovers, Record, StopPhase, StopPlan, Work};
use super::method::{self, Outcome};
use super::reason::{ErrorClass, Reason};
use crate::fmri::Fmri;
use crate::manifest::Exec;
use crate::signal::Signal;
use crate::state::State;

/// How long a child instance's process must have run for its exit 0 to reset the start
/// history.
pub(crate) const CHILD_SETTLED_MS: u64 = 1_000;

impl Engine {
    // ----- start ---------------------------------------------------------------------------

    /// Starts an offline, enabled, idle instance whose dependencies are satisfied.
    pub(crate) fn begin_start(&mut self, fmri: &Fmri) {
        let now = self.now;
        if self.recovered.remove(fmri) {
            self.adopt(fmri);
            return;
        }
        let Some(record) = self.records.get_mut(&self.graph, fmri) else {
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
        let start = definition
            .as_deref()
            .and_then(|d| d.method("start"))
            .filter(|_| !config.milestone);
        let (Some(definition), Some(start)) = (definition.as_deref(), start) else {
            // A milestone (or an instance without a start method): nothing to run.
            self.become_running(fmri, State::Online, reason);
            return;
        };
        let command = match &start.exec {
            Exec::True => {
                self.log(fmri, "Executing start method (null).");
                if let Some(record) = self.records.get_mut(&self.graph, fmri) {
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
        let expanded = match method::expand_tokens(&command, MethodName::Start, definition) {
            Ok(expanded) => expanded,
            Err(why) => {
                let line = format!("Could not expand method tokens in \"{command}\": {why}.");
                self.cannot_start(fmri, line, why);
                return;
            }
        };
        let process = match method::process_settings(definition) {
            Ok(process) => process,
            Err(why) => {
                self.cannot_start(fmri, format!("Cannot run the start method: {why}."), why);
                return;
            }
        };
        let run = self.new_run(fmri);
        let timeout = method::timeout_ms(start);
        self.actions.push(Action::RunMethod(Box::new(MethodRun {
            run,
            fmri: fmri.clone(),
            method: MethodName::Start,
            command: expanded,
            written: command,
            context: definition.method_context(start),
            process,
            timeout_ms: if config.duration == Duration::Child && !config.notify {
                None
            } else {
                timeout
            },
            duration: config.duration,
            notify: config.notify,
        })));
        if let Some(record) = self.records.get_mut(&self.graph, fmri) {
            record.work = Work::Starting {
                run: Some(run),
                timed_out: false,
            };
            record.contract = config.duration != Duration::Transient;
            record.start_began = now;
            record.nodaemon = false;
            record.ready = false;
            record.set_status_text(None);
            record.stop_failed = false;
            if config.duration == Duration::Child {
                record.set_main_run(Some(run));
            }
        }
        self.transition(fmri, State::Offline, Some(State::Online), reason);
        if config.duration == Duration::Child && !config.notify {
            // The start method's process is the service: running as soon as it runs.
            if let Some(record) = self.records.get_mut(&self.graph, fmri) {
                record.history.record_success();
            }
            self.become_running(fmri, State::Online, reason);
        } else {
            self.arm(fmri, timeout);
        }
    }

    /// The start method cannot even be run (its definition is unusable): logged, remembered
    /// for svcs -x, maintenance.
    fn cannot_start(&mut self, fmri: &Fmri, line: String, why: String) {
        self.log(fmri, line);
        if let Some(record) = self.records.get_mut(&self.graph, fmri) {
            record.set_start_status(MethodStatus::NotStarted {
                message: why,
                fatal: true,
            });
        }
        self.enter_maintenance(fmri, Reason::MethodFailed, Leftovers::Kill);
    }

    /// Takes over an instance a previous svc.startd left running: online, its processes
    /// watched, its start method not run again.
    fn adopt(&mut self, fmri: &Fmri) {
        let Some(duration) = self
            .records
            .get(&self.graph, fmri)
            .map(|record| record.config.duration)
        else {
            return;
        };
        let main_run = (duration == Duration::Child).then(|| self.new_run(fmri));
        let now = self.now;
        let Some(record) = self.records.get_mut(&self.graph, fmri) else {
            return;
        };
        record.contract = duration != Duration::Transient;
        record.set_main_run(main_run);
        record.start_began = now;
        record.nodaemon = false;
        record.ready = true;
        record.history.record_success();
        let reason = record.start_reason;
        self.actions.push(Action::Adopt {
            fmri: fmri.clone(),
            main_run,
        });
        self.log(
            fmri,
            if duration == Duration::Transient {
                "Online since before svc.startd restarted; not run again."
            } else {
                "Adopted the processes left running before svc.startd restarted."
            },
        );
        self.become_running(fmri, State::Online, reason);
    }

    /// The instance is up: online (or degraded).
    pub(crate) fn become_running(&mut self, fmri: &Fmri, state: State, reason: Reason) {
        self.disarm(fmri);
        let Some(record) = self.records.get_mut(&self.graph, fmri) else {
            return;
        };
        record.work = Work::Idle;
        let empty = record.watches_contract() && !record.contract;
        // Dependents are told only if it is staying up: a stop requested while it was
        // starting (disable, maintenance, shutdown) comes first.
        let leaving_for = if !record.enabled() {
            Some(State::Disabled)
        } else if record.maintenance_requested() {
            Some(State::Maintenance)
        } else if self.shutting_down {
            Some(State::Offline)
        } else {
            record.pending_stop.map(|plan| plan.target)
        };
        let staying = leaving_for.is_none();
        // Up, and already on its way out: dependents see it stopping, not running.
        self.transition(fmri, state, leaving_for, reason);
        if empty {
            self.all_processes_exited(fmri);
            return;
        }
        if staying {
            self.propagate_start(fmri);
        }
        self.queue(fmri);
    }

    /// The start method (or, awaiting readiness, the service) ended.
    pub(crate) fn start_finished(&mut self, fmri: &Fmri, status: MethodStatus, timed_out: bool) {
        self.disarm(fmri);
        let Some(record) = self.records.get_mut(&self.graph, fmri) else {
            return;
        };
        record.set_start_status(status.clone());
        let config = record.config.clone();
        let mut outcome = method::outcome(MethodName::Start, &status);
        if config.duration == Duration::Child {
            // The service ended before it said it was ready: a failed start.
            outcome = match outcome {
                Outcome::Fatal => Outcome::Fatal,
                _ => Outcome::Retryable,
            };
            record.set_main_run(None);
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
                    self.memo.clear();
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
                    self.arm(fmri, remaining);
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
    pub(crate) fn start_failed(&mut self, fmri: &Fmri, why: &str) {
        let Some(record) = self.records.get_mut(&self.graph, fmri) else {
            return;
        };
        record.work = Work::Idle;
        record.set_main_run(None);
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
        let enabled = self
            .records
            .get(&self.graph, fmri)
            .is_some_and(Record::enabled);
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
        if let Some(record) = self.records.get_mut(&self.graph, fmri) {
            record.contract = false;
        }
        self.log(fmri, "Stopping because all processes in service exited.");
        self.begin_stop(fmri, StopPlan::restart(Reason::CtEvExit, false), Vec::new());
    }

    /// A child instance's own process ended while it was running.
    pub(crate) fn child_exited(&mut self, fmri: &Fmri, status: MethodStatus) {
        let Some(record) = self.records.get_mut(&self.graph, fmri) else {
            return;
        };
        record.set_main_run(None);
        record.set_start_status(status.clone());
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
                // A child that ran and then exited 0 starts a fresh history, as in SMF; one
                // that exits 0 at once keeps counting, so an exit-0 loop cannot spin.
                let ran_ms = self.now.millis_since(record.start_began);
                if status.is_success() && ran_ms >= CHILD_SETTLED_MS {
                    record.history.reset_starts();
                }
                self.log(
                    fmri,
                    format!("Stopping because the service process {text}."),
                );
                self.begin_stop(fmri, StopPlan::restart(Reason::CtEvExit, false), Vec::new());
            }
        }
    }

    pub(crate) fn method_exited(&mut self, run: RunId, status: MethodStatus) {
        let Some(fmri) = self.runs.remove(&run) else {
            return;
        };
        let Some(record) = self.records.get(&self.graph, &fmri) else {
            return;
        };
        // Which method ran follows from where the record keeps the run (`new_run`).
        match record.work.clone() {
            Work::Starting {
                run: Some(current),
                timed_out,
            } if current == run => self.start_finished(&fmri, status, timed_out),
            _ if record.main_run() == Some(run) => self.child_exited(&fmri, status),
            Work::Stopping {
                phase:
                    StopPhase::Method {
                        run: current,
                        timed_out,
                    },
                ..
            } if current == run => self.stop_method_finished(&fmri, status, timed_out),
            Work::Refreshing { run: current, .. } if current == run => {
                self.refresh_finished(&fmri, status)
            }
            _ => {}
        }
    }

    pub(crate) fn method_timed_out(&mut self, run: RunId) {
        let Some(fmri) = self.runs.get(&run).cloned() else {
            return;
        };
        self.timeout(&fmri);
    }

    /// The instance's method (or readiness, or drain) timer ran out.
    pub(crate) fn timeout(&mut self, fmri: &Fmri) {
        self.disarm(fmri);
        let Some(record) = self.records.get_mut(&self.graph, fmri) else {
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
                if let Some(record) = self.records.get_mut(&self.graph, fmri) {
                    record.set_start_status(MethodStatus::Signaled {
                        signal: Signal::KILL,
                        core_dumped: false,
                    });
                }
                let retry = self
                    .records
                    .get(&self.graph, fmri)
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
                self.arm(fmri, Some(KILL_GRACE_MS));
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
        let Some(record) = self.records.get_mut(&self.graph, fmri) else {
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
                record.set_start_status(MethodStatus::Exited(0));
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
        let Some(record) = self.records.get(&self.graph, fmri) else {
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
        let Some(record) = self.records.get_mut(&self.graph, fmri) else {
            return;
        };
        if status.is_some() {
            record.set_status_text(status);
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
}

fn record_contract(engine: &Engine, fmri: &Fmri) -> bool {
    engine
        .records
        .get(&engine.graph, fmri)
        .is_some_and(|record| record.contract)
}
