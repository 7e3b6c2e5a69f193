//! Who starts, stops or restarts when something changes: svc.startd's graph.c decisions.
//!
//! - **Evaluation** (`evaluate`): after anything that may matter to an instance, its settled
//!   state is re-derived: uninitialized becomes offline or disabled; an enabled offline
//!   instance whose dependencies are satisfied starts; a disabled running one stops; a
//!   maintenance state caused by a cycle or a bad dependency is left once the graph no longer
//!   has it. Evaluations go through a queue, never recursion, so a chain 10,000 deep costs
//!   nothing but its length.
//! - **Stops propagate by `restart_on`** (`propagate_stop`, graph.c `propagate_stop`): when a
//!   running instance stops with error class E, each dependent citing it through a group whose
//!   `restart_on` admits E (E <= restart_on: error < restart < refresh) is stopped (and
//!   restarted when its dependencies are back); exclusions re-evaluate instead.
//! - **Starts propagate** (`propagate_start`): offline dependents re-evaluate; running
//!   instances that exclude the one that came up are stopped unless their `restart_on` is none.
//! - **Refreshes propagate** to dependents whose `restart_on` is `refresh`.
//! - **Administrative stops take dependents down first** (`take_down`): disabling (or putting in
//!   maintenance) an instance first stops its running dependents that cite it through a
//!   `require_all` group (any `restart_on` but none), or through any non-exclusion group with
//!   `restart_on` restart or refresh, transitively, leaves first; they go offline, not
//!   disabled, and come back when it does. SMF exempts `require_all` + `restart_on=error`
//!   dependents from this; smf does not (issue 3: "disabling an instance takes its
//!   require_all dependents offline"), see ARCHITECTURE.md.

use std::collections::VecDeque;

use super::instance::{Leftovers, StopPlan, Work};
use super::reason::{ErrorClass, Reason};
use super::{Engine, View};
use crate::fast_hash::FastSet;
use crate::fmri::Fmri;
use crate::graph::{Evaluator, Satisfaction};
use crate::manifest::{Grouping, RestartOn};
use crate::state::State;

/// One group citing an instance, as propagation needs it.
struct Citation {
    grouping: Grouping,
    restart_on: RestartOn,
    owner: Fmri,
}

/// The error class a group's `restart_on` admits, at most.
fn admits(restart_on: RestartOn) -> ErrorClass {
    match restart_on {
        RestartOn::None => ErrorClass::None,
        RestartOn::Error => ErrorClass::Fault,
        RestartOn::Restart => ErrorClass::Restart,
        RestartOn::Refresh => ErrorClass::Refresh,
    }
}

/// The stop a dependent gets when a dependency's activity requires it.
fn dependency_stop(reset: bool) -> StopPlan {
    StopPlan::restart(Reason::DependencyActivity, reset)
}

impl Engine {
    /// Re-derives what an instance should be doing.
    pub(crate) fn evaluate(&mut self, fmri: &Fmri) {
        let Some(node) = self.node(fmri) else {
            return;
        };
        let cycle = self.graph.cycle(node).is_some();
        let invalid = self.graph.invalid_dependency(node).is_some();
        let Some(record) = self.records.get_mut(&self.graph, fmri) else {
            return;
        };
        if record.is_startd() || !record.run_by_startd() {
            // svc.startd's own instance, or one a delegated restarter (inetd...) runs: it
            // stays as it is, uninitialized until that restarter says otherwise.
            return;
        }
        if let (Work::Idle, Some(plan)) = (&record.work, record.pending_stop) {
            record.pending_stop = None;
            // Disable and maintenance are handled below, dependents first; a dependency's
            // stop is carried out now.
            if record.state.is_running()
                && record.enabled()
                && !record.maintenance_requested()
                && !self.shutting_down
            {
                self.begin_stop(fmri, plan, Vec::new());
                return;
            }
        }
        let Some(record) = self.records.get(&self.graph, fmri) else {
            return;
        };
        if record.is_busy() {
            return;
        }
        let enabled = record.enabled();
        let state = record.state;
        match state {
            State::Uninitialized => {
                let init = record.start_reason;
                if record.maintenance_requested() {
                    let reason = record.requested_reason();
                    self.transition(fmri, State::Maintenance, None, reason);
                } else if !enabled {
                    let reason = if record.removing || record.admin.enabled == Some(false) {
                        Reason::DisableRequest
                    } else {
                        Reason::PerConfiguration
                    };
                    self.transition(fmri, State::Disabled, None, reason);
                } else if cycle {
                    self.cycle_found(fmri, node);
                } else if invalid {
                    self.invalid_found(fmri, node);
                } else {
                    let reason = match init {
                        Reason::ClearRequest => Reason::ClearRequest,
                        _ if record.admin.enabled == Some(true)
                            || record.temporary_enabled == Some(true) =>
                        {
                            Reason::EnableRequest
                        }
                        _ => Reason::PerConfiguration,
                    };
                    self.transition(fmri, State::Offline, None, reason);
                    self.queue(fmri);
                }
            }
            State::Disabled => {
                if enabled {
                    self.transition(fmri, State::Offline, None, Reason::EnableRequest);
                    self.queue(fmri);
                }
            }
            State::Offline => {
                if !enabled {
                    self.transition(fmri, State::Disabled, None, Reason::DisableRequest);
                } else if cycle {
                    self.cycle_found(fmri, node);
                } else if invalid {
                    self.invalid_found(fmri, node);
                } else if !self.shutting_down && record.held == 0 {
                    let view = View {
                        records: &self.records,
                        files: &self.files,
                    };
                    let memo = std::mem::take(&mut self.memo);
                    let mut evaluator = Evaluator::with_memo(&self.graph, &view, memo);
                    let satisfied = evaluator.instance(node) == Satisfaction::Satisfied;
                    self.memo = evaluator.into_memo();
                    if satisfied {
                        self.begin_start(fmri);
                    }
                }
            }
            State::Online | State::Degraded => {
                if !enabled || self.shutting_down {
                    let target = if enabled {
                        State::Offline
                    } else {
                        State::Disabled
                    };
                    self.take_down(
                        fmri,
                        StopPlan {
                            target,
                            reason: Reason::DisableRequest,
                            class: ErrorClass::Restart,
                            reset: true,
                        },
                    );
                } else if record.maintenance_requested() {
                    let reason = record.requested_reason();
                    self.take_down(fmri, StopPlan::maintenance(reason));
                } else if cycle {
                    self.cycle_found(fmri, node);
                } else if invalid {
                    self.invalid_found(fmri, node);
                }
            }
            State::Maintenance => {
                // Maintenance is sticky, except when the graph itself put the instance there
                // and no longer has the reason.
                let healed = match record.reason {
                    Reason::DependencyCycle => !cycle,
                    Reason::InvalidDependency => !invalid,
                    _ => false,
                };
                if healed && !record.maintenance_requested() {
                    self.transition(fmri, State::Uninitialized, None, Reason::InsertInGraph);
                    self.queue(fmri);
                }
            }
        }
    }

    fn cycle_found(&mut self, fmri: &Fmri, node: petgraph::graph::NodeIndex) {
        let path: Vec<String> = self
            .graph
            .cycle(node)
            .unwrap_or_default()
            .iter()
            .map(Fmri::to_string)
            .collect();
        self.log(
            fmri,
            format!(
                "Transitioning {fmri} to maintenance because it completes a dependency cycle \
                 (see svcs -xv for details): {}",
                path.join(", ")
            ),
        );
        let leftovers = Leftovers::Kill;
        self.enter_maintenance(fmri, Reason::DependencyCycle, leftovers);
    }

    fn invalid_found(&mut self, fmri: &Fmri, node: petgraph::graph::NodeIndex) {
        let why = self
            .graph
            .invalid_dependency(node)
            .unwrap_or_default()
            .to_string();
        self.log(fmri, format!("Invalid dependency: {why}."));
        self.enter_maintenance(fmri, Reason::InvalidDependency, Leftovers::Kill);
    }

    /// After a change of `fmri`, re-evaluates every offline instance whose "can it ever come
    /// up?" answer may have changed with it, however far up the dependency chain: an
    /// `optional_all` dependent two levels up starts once the instance between can never
    /// come up (graph.c `propagate_satbility`). Such answers change when an instance enters
    /// or leaves disabled or maintenance (or starts heading there), when one comes up (the
    /// instances that exclude it can no longer start), and when one stops and can never
    /// come back.
    pub(crate) fn walk_if_verdicts_change(
        &mut self,
        fmri: &Fmri,
        before: (State, Option<State>),
        after: (State, Option<State>),
    ) {
        let terminal = |(state, next): (State, Option<State>)| {
            matches!(state, State::Disabled | State::Maintenance)
                || matches!(next, Some(State::Disabled | State::Maintenance))
        };
        let mut starts: Vec<Fmri> = Vec::new();
        if terminal(before) != terminal(after) {
            starts.push(fmri.clone());
        }
        if !before.0.is_running() && after.0.is_running() && self.is_excluded(fmri) {
            starts.extend(
                self.citing(fmri)
                    .into_iter()
                    .filter(|c| c.grouping == Grouping::ExcludeAll)
                    .map(|c| c.owner),
            );
        }
        if before.0.is_running() && after == (State::Offline, None) {
            let never = self.node(fmri).is_some_and(|node| {
                let view = View {
                    records: &self.records,
                    files: &self.files,
                };
                Evaluator::new(&self.graph, &view).satisfiability(node)
                    == Satisfaction::Unsatisfiable
            });
            if never {
                starts.push(fmri.clone());
            }
        }
        if !starts.is_empty() {
            self.walk_dependents(starts);
        }
    }

    /// Queues the offline and uninitialized instances that depend, transitively through
    /// such instances, on any of `starts`.
    fn walk_dependents(&mut self, starts: Vec<Fmri>) {
        let mut seen: FastSet<Fmri> = starts.iter().cloned().collect();
        let mut queue: VecDeque<Fmri> = starts.into_iter().collect();
        while let Some(fmri) = queue.pop_front() {
            for citation in self.citing(&fmri) {
                let waiting = self
                    .records
                    .get(&self.graph, &citation.owner)
                    .is_some_and(|r| {
                        matches!(r.state, State::Offline | State::Uninitialized)
                            && r.next_state.is_none()
                    });
                if waiting && seen.insert(citation.owner.clone()) {
                    self.queue(&citation.owner);
                    queue.push_back(citation.owner);
                }
            }
        }
    }

    /// Queues every instance that cites `fmri` (a state change may matter to them).
    pub(crate) fn queue_dependents(&mut self, fmri: &Fmri) {
        let Some(node) = self.node(fmri) else {
            return;
        };
        // Straight from the graph's slice into the queue: this runs at every state change.
        for &(_, owner) in self.graph.dependent_groups(node) {
            if let Some(owner) = self.graph.fmri(owner)
                && self.queued.insert(owner.clone())
            {
                self.queue.push_back(owner.clone());
            }
        }
    }

    /// The groups citing `fmri` (directly or through its service): grouping, restart_on and
    /// owner of each.
    fn citing(&self, fmri: &Fmri) -> Vec<Citation> {
        let Some(node) = self.node(fmri) else {
            return Vec::new();
        };
        self.graph
            .dependent_groups(node)
            .iter()
            .filter_map(|&(group, owner)| {
                let group = self.graph.group(group)?;
                Some(Citation {
                    grouping: group.grouping,
                    restart_on: group.restart_on,
                    owner: self.graph.fmri(owner)?.clone(),
                })
            })
            .collect()
    }

    /// Running, or with a method in flight: something a stop can act on.
    fn is_active(&self, fmri: &Fmri) -> bool {
        self.records
            .get(&self.graph, fmri)
            .is_some_and(|r| r.state.is_running() || r.is_busy())
    }

    /// `fmri` stopped (it was running) with error class `class`.
    pub(crate) fn propagate_stop(&mut self, fmri: &Fmri, class: ErrorClass) {
        for Citation {
            grouping,
            restart_on,
            owner,
        } in self.citing(fmri)
        {
            let follows = grouping != Grouping::ExcludeAll
                && class != ErrorClass::None
                && class <= admits(restart_on);
            if follows && self.is_active(&owner) {
                let reset = class >= ErrorClass::Restart;
                self.begin_stop(&owner, dependency_stop(reset), Vec::new());
            }
            self.queue(&owner);
        }
    }

    /// `fmri` came online.
    pub(crate) fn propagate_start(&mut self, fmri: &Fmri) {
        for Citation {
            grouping,
            restart_on,
            owner,
        } in self.citing(fmri)
        {
            let excluded = grouping == Grouping::ExcludeAll && restart_on != RestartOn::None;
            if excluded && self.is_active(&owner) {
                self.begin_stop(&owner, dependency_stop(true), Vec::new());
            }
            self.queue(&owner);
        }
    }

    /// `fmri` was refreshed while running.
    pub(crate) fn propagate_refresh(&mut self, fmri: &Fmri) {
        for Citation {
            grouping,
            restart_on,
            owner,
        } in self.citing(fmri)
        {
            let follows = grouping != Grouping::ExcludeAll && restart_on == RestartOn::Refresh;
            let running = self
                .records
                .get(&self.graph, &owner)
                .is_some_and(|r| r.state.is_running());
            if follows && running {
                self.begin_stop(&owner, dependency_stop(true), Vec::new());
            }
        }
    }

    /// Whether a dependent citing an instance through `group` goes down with it when an
    /// administrator takes that instance down.
    fn follows_down(grouping: Grouping, restart_on: RestartOn) -> bool {
        match grouping {
            Grouping::ExcludeAll => false,
            Grouping::RequireAll => restart_on != RestartOn::None,
            _ => matches!(restart_on, RestartOn::Restart | RestartOn::Refresh),
        }
    }

    /// The instances that go down with `fmri` (not including it), breadth first.
    fn take_down_set(&self, fmri: &Fmri) -> (Vec<Fmri>, Vec<Fmri>) {
        let Some(start) = self.node(fmri) else {
            return (Vec::new(), Vec::new());
        };
        let mut seen = FastSet::from_iter([start]);
        let mut queue = VecDeque::from([start]);
        let (mut all, mut active) = (Vec::new(), Vec::new());
        while let Some(node) = queue.pop_front() {
            for &(group, owner) in self.graph.dependent_groups(node) {
                let Some(group) = self.graph.group(group) else {
                    continue;
                };
                if !Self::follows_down(group.grouping, group.restart_on) || !seen.insert(owner) {
                    continue;
                }
                queue.push_back(owner);
                let Some(owner_fmri) = self.graph.fmri(owner) else {
                    continue;
                };
                all.push(owner_fmri.clone());
                if self.is_active(owner_fmri) {
                    active.push(owner_fmri.clone());
                }
            }
        }
        (all, active)
    }

    /// The running dependents of `fmri` that are in `set` (through any non-exclusion group
    /// when `any_group`, else through the take-down rule).
    pub(crate) fn direct_dependents_in(
        &self,
        fmri: &Fmri,
        set: &FastSet<Fmri>,
        any_group: bool,
    ) -> Vec<Fmri> {
        let Some(node) = self.node(fmri) else {
            return Vec::new();
        };
        let mut out: Vec<Fmri> = self
            .graph
            .dependent_groups(node)
            .iter()
            .filter(|(group, _)| {
                self.graph.group(*group).is_some_and(|g| {
                    if any_group {
                        g.grouping != Grouping::ExcludeAll
                    } else {
                        Self::follows_down(g.grouping, g.restart_on)
                    }
                })
            })
            .filter_map(|&(_, owner)| self.graph.fmri(owner).cloned())
            .filter(|owner| set.contains(owner) && owner != fmri)
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Stops `fmri` with `plan` after the dependents that go down with it.
    pub(crate) fn take_down(&mut self, fmri: &Fmri, plan: StopPlan) {
        if !self.is_active(fmri) {
            // Nothing runs: nothing to take down (svc.startd returns at once).
            return;
        }
        let (all, dependents) = self.take_down_set(fmri);
        // Until its own stop is over, nothing that goes down with it may start again (SMF's
        // GV_TOOFFLINE), even if, like an optional_all dependent, it would be satisfied by
        // an instance on its way to disabled.
        for member in &all {
            if let Some(record) = self.records.get_mut(&self.graph, member) {
                record.held += 1;
            }
        }
        self.holds.entry(fmri.clone()).or_default().extend(all);
        let set: FastSet<Fmri> = dependents.iter().cloned().collect();
        for dependent in &dependents {
            let wait = self.direct_dependents_in(dependent, &set, false);
            self.begin_stop(dependent, dependency_stop(true), wait);
        }
        let wait = self.direct_dependents_in(fmri, &set, false);
        self.begin_stop(fmri, plan, wait);
    }

    /// `fmri`'s stop is over: what went down with it may start again.
    pub(crate) fn release_holds(&mut self, fmri: &Fmri) {
        let Some(held) = self.holds.remove(fmri) else {
            return;
        };
        for member in held {
            if let Some(record) = self.records.get_mut(&self.graph, &member) {
                record.held = record.held.saturating_sub(1);
            }
            self.queue(&member);
        }
    }

    /// Stops the dependents that go down with `fmri`, leaving `fmri` itself to the caller
    /// (`mark -I maintenance` does not stop the instance).
    pub(crate) fn take_down_dependents_only(&mut self, fmri: &Fmri) {
        let (_, dependents) = self.take_down_set(fmri);
        let set: FastSet<Fmri> = dependents.iter().cloned().collect();
        for dependent in &dependents {
            let wait = self.direct_dependents_in(dependent, &set, false);
            self.begin_stop(dependent, dependency_stop(true), wait);
        }
    }
}
