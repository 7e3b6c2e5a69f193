//! Administrative requests (svcadm's verbs as the restarter carries them out) and
//! shutdown.

use super::Engine;
use super::action::Action;
use super::event::{MarkState, Requester};
use super::instance::{Leftovers, StopPlan};
use super::reason::{ErrorClass, Reason};
use crate::fast_hash::FastSet;
use crate::fmri::Fmri;
use crate::state::State;

impl Engine {
    // ----- administrative requests ---------------------------------------------------------

    pub(crate) fn enable(&mut self, fmri: &Fmri, temporary: bool, recursive: bool) {
        // An enabled flag is part of every satisfiability answer (optional_all).
        self.memo.clear();
        let mut targets = vec![fmri.clone()];
        if recursive {
            targets = self.dependencies_closure(fmri);
        }
        for target in targets {
            let Some(record) = self.records.get_mut(&self.graph, &target) else {
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
    pub(crate) fn dependencies_closure(&self, fmri: &Fmri) -> Vec<Fmri> {
        let mut out = Vec::new();
        let Some(start) = self.node(fmri) else {
            return out;
        };
        let mut seen = FastSet::from_iter([start]);
        let mut stack = vec![start];
        while let Some(node) = stack.pop() {
            if let Some(fmri) = self.graph.fmri(node) {
                out.push(fmri.clone());
            }
            for (group, dependency) in self.graph.groups(node) {
                if dependency.grouping == crate::manifest::Grouping::ExcludeAll {
                    continue;
                }
                for &target in self.graph.targets(group) {
                    let nodes = match target {
                        crate::graph::Target::Instance(n) => vec![n],
                        crate::graph::Target::Service(n) => self.graph.members(n).to_vec(),
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
        self.memo.clear();
        let Some(record) = self.records.get_mut(&self.graph, fmri) else {
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
            record.set_requested_by(None);
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
        let Some(record) = self.records.get_mut(&self.graph, fmri) else {
            return;
        };
        if !record.state.is_running() || record.is_busy() || record.is_startd() {
            // svc.startd: "Not restarting; not running."
            return;
        }
        record.start_reason = Reason::RestartRequest;
        self.begin_stop(
            fmri,
            StopPlan::restart(Reason::RestartRequest, true),
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
        let Some(record) = self.records.get(&self.graph, fmri) else {
            return;
        };
        if record.state.is_running() && !record.is_busy() && !record.is_startd() {
            self.begin_refresh(fmri);
        }
        self.queue(fmri);
    }

    pub(crate) fn clear(&mut self, fmri: &Fmri) {
        let Some(record) = self.records.get_mut(&self.graph, fmri) else {
            return;
        };
        match record.state {
            State::Maintenance => {
                let persisted = record.admin.maintenance;
                record.admin.maintenance = false;
                record.temporary_maintenance = false;
                record.set_requested_by(None);
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
        let Some(record) = self.records.get_mut(&self.graph, fmri) else {
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
                        record.set_requested_by(Some(by.clone()));
                        Reason::ServiceRequest
                    }
                };
                if temporary {
                    record.temporary_maintenance = true;
                } else {
                    record.admin.maintenance = true;
                    self.persist(fmri);
                }
                let Some(record) = self.records.get(&self.graph, fmri) else {
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
                    self.take_down(fmri, StopPlan::maintenance(reason));
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
        let set: FastSet<Fmri> = running.iter().cloned().collect();
        let mut ordered = running;
        ordered.sort();
        for fmri in ordered {
            let wait = self.direct_dependents_in(&fmri, &set, true);
            self.begin_stop(
                &fmri,
                StopPlan::restart(Reason::DisableRequest, false),
                wait,
            );
        }
    }

    pub(crate) fn deadline_reached(&mut self) {
        for (_, fmri) in self.timers.due(self.now) {
            if let Some(record) = self.records.get_mut(&self.graph, &fmri) {
                record.timer = None;
            }
            self.timeout(&fmri);
        }
    }
}
