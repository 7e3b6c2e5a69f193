//! Stopping: dependents first, the stop method, SIGTERM then SIGKILL, maintenance; and
//! refresh (see `instance.rs` for the whole lifecycle).

use super::Engine;
use super::action::{Action, Duration, MethodRun};
use super::event::{MethodName, MethodStatus};
use super::instance::{DEFAULT_STOP_GRACE_MS, Dependents, Leftovers, StopPhase, StopPlan, Work};
use super::method::{self, Outcome};
use super::reason::{ErrorClass, Reason};
use crate::fmri::Fmri;
use crate::manifest::Exec;
use crate::signal::Signal;
use crate::state::State;

impl Engine {
    // ----- stop ----------------------------------------------------------------------------

    /// Stops a running instance; `wait_for` are dependents being stopped that must be down
    /// first. A start in flight finishes first; a stop in flight only gains a harsher target.
    pub(crate) fn begin_stop(&mut self, fmri: &Fmri, plan: StopPlan, wait_for: Vec<Fmri>) {
        let Some(record) = self.records.get_mut(&self.graph, fmri) else {
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
            // One method at a time: the stop follows the refresh; meanwhile dependents see
            // it on its way out.
            Work::Refreshing { .. } => {
                let harsher = record
                    .pending_stop
                    .is_none_or(|pending| severity(plan.target) > severity(pending.target));
                if harsher {
                    record.pending_stop = Some(plan);
                    let state = record.state;
                    self.transition(fmri, state, Some(plan.target), plan.reason);
                }
                return;
            }
            Work::Idle => {}
        }
        let Some(record) = self.records.get_mut(&self.graph, fmri) else {
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
            phase: StopPhase::AwaitDependents(Dependents::new(waiting.clone())),
        };
        self.transition(fmri, state, Some(plan.target), plan.reason);
        if waiting.is_empty() {
            self.run_stop_method(fmri);
        } else {
            for dependent in &waiting {
                self.waiting_on
                    .entry(dependent.clone())
                    .or_default()
                    .insert(fmri.clone());
                // And they stay down until this stop is over.
                if let Some(record) = self.records.get_mut(&self.graph, dependent) {
                    record.held += 1;
                }
            }
            self.holds
                .entry(fmri.clone())
                .or_default()
                .extend(waiting.iter().cloned());
            self.check_waiter(fmri);
        }
    }

    /// `waiter` proceeds with its stop once every dependent it waits for is down.
    pub(crate) fn check_waiter(&mut self, waiter: &Fmri) {
        let Some(Work::Stopping {
            phase: StopPhase::AwaitDependents(waiting),
            ..
        }) = self.records.get(&self.graph, waiter).map(|r| &r.work)
        else {
            return;
        };
        let down = waiting.iter().all(|dependent| {
            self.records
                .get(&self.graph, dependent)
                .is_none_or(|d| !d.state.is_running() && !d.is_busy())
        });
        if down {
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

    pub(crate) fn run_stop_method(&mut self, fmri: &Fmri) {
        let Some(record) = self.records.get(&self.graph, fmri) else {
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
                        let run = self.new_run(fmri);
                        self.actions.push(Action::RunMethod(Box::new(MethodRun {
                            run,
                            fmri: fmri.clone(),
                            method: MethodName::Stop,
                            command: expanded,
                            written: command.clone(),
                            context: definition.method_context(&stop),
                            process: method::process_settings(&definition).unwrap_or_default(),
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
                        self.arm(fmri, stop_timeout);
                    }
                    Err(why) => {
                        self.log(
                            fmri,
                            format!("Could not expand method tokens in \"{command}\": {why}."),
                        );
                        self.enter_maintenance(fmri, Reason::MethodFailed, Leftovers::Kill);
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
                    self.enter_maintenance(fmri, Reason::MethodFailed, Leftovers::Kill);
                    return;
                }
                let parsed = signal.as_deref().map_or(Some(Signal::TERM), Signal::parse);
                self.drain(fmri, parsed.unwrap_or(Signal::TERM), stop_timeout);
            }
            None => self.drain(fmri, Signal::TERM, Some(DEFAULT_STOP_GRACE_MS)),
        }
    }

    pub(crate) fn set_phase(&mut self, fmri: &Fmri, plan: StopPlan, phase: StopPhase) {
        if let Some(record) = self.records.get_mut(&self.graph, fmri) {
            record.work = Work::Stopping { plan, phase };
        }
    }

    /// Signals what is left of the instance and waits for it to go, within `timeout_ms`
    /// of the start of the stop.
    pub(crate) fn drain(&mut self, fmri: &Fmri, signal: Signal, timeout_ms: Option<u64>) {
        let Some(record) = self.records.get(&self.graph, fmri) else {
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
        self.arm(fmri, remaining);
    }

    pub(crate) fn stop_method_finished(
        &mut self,
        fmri: &Fmri,
        status: MethodStatus,
        timed_out: bool,
    ) {
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
                self.enter_maintenance(fmri, Reason::MethodFailed, Leftovers::Kill);
            }
            Outcome::Retryable => {
                let threshold = self
                    .records
                    .get_mut(&self.graph, fmri)
                    .is_some_and(|record| record.history.record_fault());
                if threshold {
                    self.log(
                        fmri,
                        format!("Method \"stop\" failed repeatedly, last {text}."),
                    );
                    self.enter_maintenance(fmri, Reason::FaultThresholdReached, Leftovers::Kill);
                } else {
                    self.log(fmri, format!("Method \"stop\" {text}; retrying."));
                    self.run_stop_method(fmri);
                }
            }
            _ => {
                let timeout = self.records.get_mut(&self.graph, fmri).and_then(|record| {
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

    /// The stop is complete: settle in the target state and tell the dependents.
    pub(crate) fn finish_stop(&mut self, fmri: &Fmri) {
        self.disarm(fmri);
        let Some(record) = self.records.get_mut(&self.graph, fmri) else {
            return;
        };
        let Work::Stopping { mut plan, .. } = record.work.clone() else {
            return;
        };
        record.work = Work::Idle;
        record.contract = false;
        record.set_main_run(None);
        if record.stop_failed {
            self.log(fmri, "Stop failed: processes had to be killed.");
            plan.target = State::Maintenance;
            plan.reason = Reason::MethodFailed;
            plan.class = ErrorClass::Fault;
        }
        let Some(record) = self.records.get_mut(&self.graph, fmri) else {
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
        self.queue(fmri);
        self.collect_removed();
    }

    /// Into maintenance now: no stop method; the processes are killed or abandoned.
    pub(crate) fn enter_maintenance(&mut self, fmri: &Fmri, reason: Reason, leftovers: Leftovers) {
        self.disarm(fmri);
        self.runs.retain(|_, owner| owner != fmri);
        let Some(record) = self.records.get_mut(&self.graph, fmri) else {
            return;
        };
        let was_running = record.state.is_running();
        let had_processes = record.contract;
        record.work = Work::Idle;
        record.pending_stop = None;
        record.contract = false;
        record.set_main_run(None);
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
        self.collect_removed();
    }

    // ----- refresh -------------------------------------------------------------------------

    /// Runs the refresh method of a running instance (none: `:true`).
    pub(crate) fn begin_refresh(&mut self, fmri: &Fmri) {
        let Some(record) = self.records.get(&self.graph, fmri) else {
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
                            let run = self.new_run(fmri);
                            let timeout = method::timeout_ms(&refresh);
                            self.actions.push(Action::RunMethod(Box::new(MethodRun {
                                run,
                                fmri: fmri.clone(),
                                method: MethodName::Refresh,
                                command: expanded,
                                written: command.clone(),
                                context: definition.method_context(&refresh),
                                process: method::process_settings(&definition).unwrap_or_default(),
                                timeout_ms: timeout,
                                duration: self
                                    .records
                                    .get(&self.graph, fmri)
                                    .map_or(Duration::Contract, |r| r.config.duration),
                                notify: false,
                            })));
                            if let Some(record) = self.records.get_mut(&self.graph, fmri) {
                                record.work = Work::Refreshing {
                                    run,
                                    timed_out: false,
                                };
                            }
                            self.transition(fmri, state, Some(state), reason);
                            self.arm(fmri, timeout);
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

    pub(crate) fn refresh_finished(&mut self, fmri: &Fmri, status: MethodStatus) {
        self.disarm(fmri);
        let Some(record) = self.records.get_mut(&self.graph, fmri) else {
            return;
        };
        record.work = Work::Idle;
        let (state, reason) = (record.state, record.reason);
        let emptied = record.watches_contract() && !record.contract && record.state.is_running();
        let stop_waiting = record.pending_stop.is_some();
        if !status.is_success() {
            self.log(
                fmri,
                format!("Method \"refresh\" {}.", method::describe_status(&status)),
            );
        }
        if stop_waiting {
            // A stop is waiting for this refresh: it goes first (evaluation starts it).
            self.queue(fmri);
            return;
        }
        self.transition(fmri, state, None, reason);
        if emptied {
            // Its processes went while the refresh method ran.
            self.all_processes_exited(fmri);
            return;
        }
        if status.is_success() {
            self.propagate_refresh(fmri);
        }
        self.queue(fmri);
    }
}

/// Which stop target wins when two requests meet.
fn severity(state: State) -> u8 {
    match state {
        State::Maintenance => 3,
        State::Disabled => 2,
        _ => 1,
    }
}
