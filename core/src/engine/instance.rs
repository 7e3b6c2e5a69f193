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

use std::num::NonZeroU64;
use std::sync::Arc;

use petgraph::graph::NodeIndex;

use crate::fast_hash::FastMap;
use crate::graph::DependencyGraph;

use super::action::{Action, AdminState, Duration, Transition};
use super::event::{MethodStatus, RunId};
use super::method::Config;
use super::reason::{ErrorClass, Reason};
use super::threshold::History;
use super::timer::TimerId;
use super::{Engine, InstanceStatus};
use crate::fmri::Fmri;
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

impl StopPlan {
    /// Into maintenance, as an administrator (or another service) asked.
    pub(crate) fn maintenance(reason: Reason) -> StopPlan {
        StopPlan {
            target: State::Maintenance,
            reason,
            class: ErrorClass::Restart,
            reset: false,
        }
    }

    /// Stop and start again when possible: a non-error stop (error class restart).
    pub(crate) fn restart(reason: Reason, reset: bool) -> StopPlan {
        StopPlan {
            target: State::Offline,
            reason,
            class: ErrorClass::Restart,
            reset,
        }
    }
}

/// The phase of a stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StopPhase {
    /// Waiting for these dependents to stop first.
    AwaitDependents(Dependents),
    /// The stop method is running.
    Method { run: RunId, timed_out: bool },
    /// SIGTERM (or the `:kill` signal) sent; waiting for the processes to go.
    Drain,
    /// SIGKILL sent after the stop timeout.
    Kill,
}

/// The dependents a stop waits for: none costs no allocation, and the list is boxed so that a
/// phase (and a record's [`Work`]) stays small.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Dependents(#[allow(clippy::box_collection)] Option<Box<Vec<Fmri>>>);

impl Dependents {
    pub(crate) fn new(list: Vec<Fmri>) -> Dependents {
        Dependents((!list.is_empty()).then(|| Box::new(list)))
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Fmri> {
        self.0.iter().flat_map(|list| list.iter())
    }
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
    pub(crate) definition: Option<Arc<EffectiveInstance>>,
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
    pub(crate) work: Work,
    /// A stop to begin as soon as the start in flight ends.
    pub(crate) pending_stop: Option<StopPlan>,
    /// Whether processes of the instance may be alive (contract and child instances).
    pub(crate) contract: bool,
    /// A child instance's own process (a [`RunId`]; the engine never issues run 0).
    main_run: Option<NonZeroU64>,
    /// The start method exited 94: nothing to track.
    pub(crate) nodaemon: bool,
    pub(crate) ready: bool,
    pub(crate) history: History,
    /// How the last start method ended (a `NotStarted` message is in `cold`).
    start_status: Option<LastStatus>,
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
    /// How many instances being taken down hold this one offline until their stop is over.
    pub(crate) held: u32,
    /// What few records hold: none for most.
    cold: Option<Box<Cold>>,
}

/// How a start method ended, in one word: [`MethodStatus`] without `NotStarted`'s message,
/// which the record keeps in its [`Cold`] part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LastStatus {
    Exited(i32),
    Signaled { signal: Signal, core_dumped: bool },
    NotStarted { fatal: bool },
}

/// The parts of a record that are seldom set, boxed together (and dropped when all are
/// empty again).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Cold {
    /// Who asked for maintenance when another service did.
    requested_by: Option<String>,
    /// The last `STATUS=` the instance reported.
    status_text: Option<String>,
    /// Why the last start method could not be started (`start_status` is `NotStarted`).
    not_started: Option<String>,
}

impl Record {
    pub(crate) fn new(fmri: Fmri, definition: Option<Arc<EffectiveInstance>>) -> Record {
        let config = definition
            .as_deref()
            .map_or_else(Config::builtin, Config::of);
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
            work: Work::Idle,
            pending_stop: None,
            contract: false,
            main_run: None,
            nodaemon: false,
            ready: false,
            history: History::default(),
            start_status: None,
            start_reason: Reason::DependenciesSatisfied,
            start_began: crate::state::Timestamp(0),
            stop_started: crate::state::Timestamp(0),
            stop_failed: false,
            timer: None,
            removing: false,
            held: 0,
            cold: None,
        }
    }

    /// A child instance's own process.
    pub(crate) fn main_run(&self) -> Option<RunId> {
        self.main_run.map(|run| RunId(run.get()))
    }

    pub(crate) fn set_main_run(&mut self, run: Option<RunId>) {
        self.main_run = run.and_then(|run| NonZeroU64::new(run.0));
    }

    /// How the last start method ended.
    pub(crate) fn start_status(&self) -> Option<MethodStatus> {
        Some(match self.start_status? {
            LastStatus::Exited(code) => MethodStatus::Exited(code),
            LastStatus::Signaled {
                signal,
                core_dumped,
            } => MethodStatus::Signaled {
                signal,
                core_dumped,
            },
            LastStatus::NotStarted { fatal } => MethodStatus::NotStarted {
                message: self
                    .cold
                    .as_ref()
                    .and_then(|cold| cold.not_started.clone())
                    .unwrap_or_default(),
                fatal,
            },
        })
    }

    pub(crate) fn set_start_status(&mut self, status: MethodStatus) {
        let (status, message) = match status {
            MethodStatus::Exited(code) => (LastStatus::Exited(code), None),
            MethodStatus::Signaled {
                signal,
                core_dumped,
            } => (
                LastStatus::Signaled {
                    signal,
                    core_dumped,
                },
                None,
            ),
            MethodStatus::NotStarted { message, fatal } => {
                (LastStatus::NotStarted { fatal }, Some(message))
            }
        };
        self.start_status = Some(status);
        self.set_cold(|cold| &mut cold.not_started, message);
    }

    /// Who asked for maintenance, when another service did.
    pub(crate) fn requested_by(&self) -> Option<&str> {
        self.cold.as_ref()?.requested_by.as_deref()
    }

    pub(crate) fn set_requested_by(&mut self, by: Option<String>) {
        self.set_cold(|cold| &mut cold.requested_by, by);
    }

    /// The last `STATUS=` the instance reported.
    pub(crate) fn status_text(&self) -> Option<&str> {
        self.cold.as_ref()?.status_text.as_deref()
    }

    pub(crate) fn set_status_text(&mut self, text: Option<String>) {
        self.set_cold(|cold| &mut cold.status_text, text);
    }

    /// Sets one field of the cold part: allocated by the first value, dropped with the last.
    fn set_cold(&mut self, field: fn(&mut Cold) -> &mut Option<String>, value: Option<String>) {
        match (&mut self.cold, value) {
            (None, None) => {}
            (Some(cold), value) => {
                *field(cold) = value;
                if **cold == Cold::default() {
                    self.cold = None;
                }
            }
            (None, value) => {
                let mut cold = Box::<Cold>::default();
                *field(&mut cold) = value;
                self.cold = Some(cold);
            }
        }
    }

    pub(crate) fn set_definition(&mut self, definition: Arc<EffectiveInstance>) {
        self.config = Config::of(&definition);
        self.definition = Some(definition);
    }

    pub(crate) fn is_startd(&self) -> bool {
        self.definition.is_none()
    }

    /// Whether svc.startd runs this instance (no delegated restarter).
    pub(crate) fn run_by_startd(&self) -> bool {
        self.definition
            .as_ref()
            .is_none_or(|definition| definition.is_run_by_startd())
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

    /// Why it is (to be) in maintenance on request: another service's, or an
    /// administrator's.
    pub(crate) fn requested_reason(&self) -> Reason {
        if self.requested_by().is_some() {
            Reason::ServiceRequest
        } else {
            Reason::AdministrativeRequest
        }
    }

    /// A contract instance whose start method leaves processes to watch: one that is up
    /// with none of them left has exited.
    pub(crate) fn watches_contract(&self) -> bool {
        self.config.duration == Duration::Contract
            && !self.nodaemon
            && !self.config.milestone
            && self
                .definition
                .as_ref()
                .and_then(|d| d.method("start"))
                .is_some_and(|m| matches!(m.exec, crate::manifest::Exec::Command(_)))
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
            start_status: self.start_status(),
            duration: self.config.duration,
            faults: self.history.faults(),
            status_text: self.status_text().map(str::to_string),
            requested_by: self.requested_by().map(str::to_string),
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
        let Some(record) = self.records.get_mut(&self.graph, fmri) else {
            return;
        };
        let from = record.state;
        if from == state && record.next_state == next_state && record.reason == reason {
            return;
        }
        let before = (record.state, record.next_state);
        self.counters.transitions += 1;
        record.state = state;
        record.next_state = next_state;
        record.reason = reason;
        record.since = now;
        // An instance some other one excludes changes that one's answer by running or not.
        let excluded = before.0.is_running() != state.is_running() && self.is_excluded(fmri);
        if excluded || !keeps_satisfiability(before, (state, next_state)) {
            self.memo.clear();
        }
        self.actions.push(Action::SetState(Transition {
            fmri: fmri.clone(),
            from,
            state,
            next_state,
            reason,
            at: now,
        }));
        // A change of next state alone (a start or stop beginning) never lets a dependent
        // start: only a change of state is worth their evaluation.
        if from != state {
            self.queue_dependents(fmri);
        }
        self.walk_if_verdicts_change(fmri, before, (state, next_state));
        if !state.is_running() {
            // Whoever waits for it to stop may go on, and what it held down may start.
            self.wake_waiters(fmri);
            let settled = self
                .records
                .get(&self.graph, fmri)
                .is_some_and(|record| record.next_state.is_none() && !record.is_busy());
            if settled {
                self.release_holds(fmri);
            }
        }
    }

    /// Whether an `exclude_all` dependency cites `fmri`.
    pub(crate) fn is_excluded(&self, fmri: &Fmri) -> bool {
        self.node(fmri).is_some_and(|node| {
            self.graph.dependent_groups(node).iter().any(|&(group, _)| {
                self.graph
                    .group(group)
                    .is_some_and(|g| g.grouping == crate::manifest::Grouping::ExcludeAll)
            })
        })
    }

    /// A new run of one of `fmri`'s methods. Which method it is follows from where the
    /// record keeps the run: `Work::Starting` and `main_run` hold start runs only,
    /// `StopPhase::Method` stop runs and `Work::Refreshing` refresh runs.
    pub(crate) fn new_run(&mut self, fmri: &Fmri) -> RunId {
        self.next_run += 1;
        let run = RunId(self.next_run);
        self.runs.insert(run, fmri.clone());
        run
    }

    pub(crate) fn arm(&mut self, fmri: &Fmri, timeout_ms: Option<u64>) {
        self.disarm(fmri);
        let Some(timeout) = timeout_ms else {
            return;
        };
        let id = self.timers.arm(self.now.plus_millis(timeout), fmri.clone());
        if let Some(record) = self.records.get_mut(&self.graph, fmri) {
            record.timer = Some(id);
        }
    }

    pub(crate) fn disarm(&mut self, fmri: &Fmri) {
        if let Some(id) = self
            .records
            .get_mut(&self.graph, fmri)
            .and_then(|r| r.timer.take())
        {
            self.timers.cancel(id);
        }
    }
}

/// Every instance's record, stored densely and found through the graph: FMRI -> vertex (the
/// graph's own map) -> position here. Records the graph does not have as configured
/// instances (those a rebuild dropped, until they are forgotten) are found through a map of
/// their own, empty the rest of the time.
#[derive(Debug, Clone, Default)]
pub(crate) struct Records {
    list: Vec<Record>,
    /// Graph vertex -> position in `list` (`u32::MAX`: none).
    by_node: Vec<u32>,
    /// Records not in `by_node`, by FMRI -> position in `list`.
    detached: FastMap<Fmri, usize>,
}

impl Records {
    /// Where the record of `fmri` is in `list`.
    fn position(&self, graph: &DependencyGraph, fmri: &Fmri) -> Option<usize> {
        let indexed = graph
            .node(fmri)
            .and_then(|node| self.by_node.get(node.index()))
            .filter(|&&i| i != u32::MAX);
        match indexed {
            Some(&i) => Some(i as usize),
            None if self.detached.is_empty() => None,
            None => self.detached.get(fmri).copied(),
        }
    }

    pub(crate) fn get(&self, graph: &DependencyGraph, fmri: &Fmri) -> Option<&Record> {
        self.list.get(self.position(graph, fmri)?)
    }

    pub(crate) fn get_mut(&mut self, graph: &DependencyGraph, fmri: &Fmri) -> Option<&mut Record> {
        let i = self.position(graph, fmri)?;
        self.list.get_mut(i)
    }

    /// Adds the record of `fmri`, or replaces it.
    pub(crate) fn insert(&mut self, graph: &DependencyGraph, fmri: Fmri, record: Record) {
        match self.position(graph, &fmri) {
            Some(i) => self.list[i] = record,
            None => {
                self.list.push(record);
                self.locate(graph, fmri, self.list.len() - 1);
            }
        }
    }

    /// Removes a record (the last one takes its place).
    pub(crate) fn remove(&mut self, graph: &DependencyGraph, fmri: &Fmri) -> Option<Record> {
        let i = self.position(graph, fmri)?;
        self.unlocate(graph, fmri);
        let record = self.list.swap_remove(i);
        if let Some(moved) = self.list.get(i) {
            let moved = moved.fmri.clone();
            self.locate(graph, moved, i);
        }
        Some(record)
    }

    /// Room for `count` records in all (a build knows how many instances it has).
    pub(crate) fn reserve_total(&mut self, count: usize) {
        self.list.reserve(count.saturating_sub(self.list.len()));
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &Record> {
        self.list.iter()
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &Fmri> {
        self.list.iter().map(|record| &record.fmri)
    }

    /// The record of the instance at graph vertex `node`.
    pub(crate) fn by_node(&self, node: NodeIndex) -> Option<&Record> {
        let &i = self.by_node.get(node.index())?;
        self.list.get(i as usize)
    }

    /// Finds every record again in a newly built graph (before anything else looks one up).
    pub(crate) fn reindex(&mut self, graph: &DependencyGraph) {
        let (nodes, _) = graph.size();
        self.by_node = vec![u32::MAX; nodes];
        self.detached = FastMap::default();
        for i in 0..self.list.len() {
            let fmri = self.list[i].fmri.clone();
            self.locate(graph, fmri, i);
        }
    }

    /// Records that the record of `fmri` is at `i`: by vertex when the graph has it as a
    /// configured instance, else by FMRI.
    fn locate(&mut self, graph: &DependencyGraph, fmri: Fmri, i: usize) {
        let slot = graph
            .instance(&fmri)
            .and_then(|node| self.by_node.get_mut(node.index()));
        match (slot, u32::try_from(i)) {
            (Some(slot), Ok(i)) if i != u32::MAX => *slot = i,
            _ => {
                self.detached.insert(fmri, i);
            }
        }
    }

    /// Forgets where the record of `fmri` is.
    fn unlocate(&mut self, graph: &DependencyGraph, fmri: &Fmri) {
        if let Some(slot) = graph
            .instance(fmri)
            .and_then(|node| self.by_node.get_mut(node.index()))
        {
            *slot = u32::MAX;
        }
        if !self.detached.is_empty() {
            self.detached.remove(fmri);
            if self.detached.is_empty() {
                // A rebuild's leftovers are gone: give their table back.
                self.detached = FastMap::default();
            }
        }
    }
}

/// Whether a change of (state, next state) leaves every "can it ever come up?" answer as it
/// was, so the engine's memo of them stays valid. Those answers only distinguish
/// unsatisfiable from the rest, and these changes never move anyone across that line:
/// a start beginning, succeeding or failing back to plain offline; online and degraded
/// trading places; a stop (to offline) or a refresh beginning, and a refresh ending. Every
/// other change (to or from disabled, maintenance or uninitialized, a stop completing, a
/// stop towards disabled or maintenance) drops the memo.
fn keeps_satisfiability(before: (State, Option<State>), after: (State, Option<State>)) -> bool {
    use State::{Degraded, Offline, Online};
    let running = |state: State| matches!(state, Online | Degraded);
    match (before, after) {
        ((Offline, None), (Offline, Some(Online))) | ((Offline, Some(Online)), (Offline, None)) => {
            true
        }
        ((Offline, Some(Online)), (to, None)) => running(to),
        ((from, None), (to, None)) => running(from) && running(to),
        ((from, None), (to, Some(next))) => {
            running(from) && from == to && (next == Offline || next == from)
        }
        ((from, Some(next)), (to, None)) => running(from) && from == to && next == from,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        Record::new(Fmri::parse("svc:/a:b").expect("valid"), None)
    }

    #[test]
    fn a_record_stays_small() {
        // 272 bytes before the seldom-set fields moved to `Cold`, the start status, timer and
        // main run took one word each, the start history two and the stop's list of
        // dependents was boxed: 1000 instances are 1000 records.
        assert!(std::mem::size_of::<Record>() <= 160);
        assert!(std::mem::size_of::<Work>() <= 24);
        assert_eq!(
            std::mem::size_of::<Option<LastStatus>>(),
            std::mem::size_of::<u64>()
        );
    }

    #[test]
    fn every_start_status_comes_back_as_set() {
        let mut record = record();
        assert_eq!(record.start_status(), None);
        let statuses = [
            MethodStatus::NotStarted {
                message: "no such user".into(),
                fatal: true,
            },
            MethodStatus::Exited(96),
            MethodStatus::Signaled {
                signal: Signal::KILL,
                core_dumped: true,
            },
            MethodStatus::NotStarted {
                message: String::new(),
                fatal: false,
            },
        ];
        for status in statuses {
            record.set_start_status(status.clone());
            assert_eq!(record.start_status(), Some(status));
        }
        record.set_start_status(MethodStatus::Exited(0));
        assert_eq!(record.start_status(), Some(MethodStatus::Exited(0)));
        assert!(record.cold.is_none(), "the message went with its status");
    }

    #[test]
    fn the_cold_part_lives_while_one_of_its_fields_is_set() {
        let mut record = record();
        record.set_status_text(None);
        assert!(record.cold.is_none());
        record.set_status_text(Some("loading".into()));
        record.set_requested_by(Some("svc:/x:y".into()));
        assert_eq!(record.status_text(), Some("loading"));
        assert_eq!(record.requested_by(), Some("svc:/x:y"));
        assert_eq!(record.requested_reason(), Reason::ServiceRequest);
        record.set_status_text(None);
        assert_eq!(record.status_text(), None);
        assert_eq!(record.requested_by(), Some("svc:/x:y"));
        record.set_requested_by(None);
        assert_eq!(record.requested_reason(), Reason::AdministrativeRequest);
        assert!(record.cold.is_none());
    }

    #[test]
    fn a_main_run_comes_back_as_set() {
        let mut record = record();
        assert_eq!(record.main_run(), None);
        record.set_main_run(Some(RunId(7)));
        assert_eq!(record.main_run(), Some(RunId(7)));
        record.set_main_run(None);
        assert_eq!(record.main_run(), None);
    }

    fn services(names: &[&str], instances: &[&str]) -> Vec<crate::manifest::Service> {
        let mut xml = String::from("<service_bundle type='manifest' name='t'>");
        for name in names {
            xml.push_str(&format!(
                "<service name='{name}' type='service' version='1'>"
            ));
            for instance in instances {
                xml.push_str(&format!("<instance name='{instance}' enabled='true'/>"));
            }
            xml.push_str(
                "<exec_method type='method' name='start' exec='/bin/true' \
                 timeout_seconds='1'/></service>",
            );
        }
        xml.push_str("</service_bundle>");
        let parsed = crate::manifest::parse("test.xml", xml.as_bytes());
        parsed.bundle.expect("well-formed").services
    }

    fn fmri(text: &str) -> Fmri {
        Fmri::parse(text).expect("valid")
    }

    #[test]
    fn records_are_found_through_the_graph_and_the_dropped_ones_until_removed() {
        let before = DependencyGraph::build(&services(&["a", "b", "c"], &["i"]));
        let mut records = Records::default();
        records.reindex(&before);
        for name in ["svc:/a:i", "svc:/b:i", "svc:/c:i"] {
            records.insert(&before, fmri(name), Record::new(fmri(name), None));
        }
        let found = |records: &Records, graph: &DependencyGraph, name: &str| {
            let by_fmri = records.get(graph, &fmri(name)).map(|r| r.fmri.to_string());
            let by_node = graph
                .instance(&fmri(name))
                .and_then(|node| records.by_node(node))
                .map(|r| r.fmri.to_string());
            (by_fmri, by_node)
        };
        // b is dropped: still found by FMRI until it is removed, never by vertex.
        let after = DependencyGraph::build(&services(&["a", "c"], &["i"]));
        records.reindex(&after);
        assert_eq!(
            found(&records, &after, "svc:/b:i"),
            (Some("svc:/b:i".into()), None)
        );
        assert!(records.remove(&after, &fmri("svc:/b:i")).is_some());
        assert!(records.detached.is_empty());
        assert!(records.remove(&after, &fmri("svc:/b:i")).is_none());
        // c took b's place.
        for name in ["svc:/a:i", "svc:/c:i"] {
            assert_eq!(
                found(&records, &after, name),
                (Some(name.into()), Some(name.into()))
            );
        }
        assert_eq!(records.keys().count(), 2);
        // A record the graph does not have at all is found by FMRI.
        records.insert(
            &after,
            fmri("svc:/z:i"),
            Record::new(fmri("svc:/z:i"), None),
        );
        assert_eq!(
            found(&records, &after, "svc:/z:i").0,
            Some("svc:/z:i".into())
        );
        assert!(records.remove(&after, &fmri("svc:/a:i")).is_some());
        assert_eq!(
            found(&records, &after, "svc:/z:i").0,
            Some("svc:/z:i".into())
        );
        assert_eq!(
            found(&records, &after, "svc:/c:i"),
            (Some("svc:/c:i".into()), Some("svc:/c:i".into()))
        );
        assert_eq!(found(&records, &after, "svc:/a:i"), (None, None));
    }

    #[test]
    fn a_reimport_that_drops_instances_leaves_the_others_reachable() {
        use crate::engine::{Event, MethodStatus};
        use crate::manifest::BundleKind;
        use crate::state::Timestamp;
        let mut engine = Engine::new();
        let import = |services| Event::Imported {
            kind: BundleKind::Manifest,
            services,
        };
        engine.handle(
            import(services(&["s"], &["one", "two", "three", "four"])),
            Timestamp(1),
        );
        // Every start method exits 0: all online.
        for _ in 0..4 {
            let runs: Vec<RunId> = engine.runs.keys().copied().collect();
            for run in runs {
                engine.handle(
                    Event::MethodExited {
                        run,
                        status: MethodStatus::Exited(0),
                    },
                    Timestamp(2),
                );
            }
        }
        let online = |engine: &Engine, name: &str| {
            engine
                .status(&fmri(name))
                .map(|status| status.state == State::Online)
        };
        for name in ["svc:/s:one", "svc:/s:two", "svc:/s:three", "svc:/s:four"] {
            assert_eq!(online(&engine, name), Some(true), "{name}");
        }
        // Dropping one and two moves the records of three and four.
        engine.handle(import(services(&["s"], &["three", "four"])), Timestamp(3));
        assert_eq!(engine.status(&fmri("svc:/s:one")), None);
        assert_eq!(engine.status(&fmri("svc:/s:two")), None);
        assert!(engine.records.detached.is_empty());
        for name in ["svc:/s:three", "svc:/s:four"] {
            assert_eq!(online(&engine, name), Some(true), "{name}");
            let node = engine.graph.instance(&fmri(name)).expect("in the graph");
            assert_eq!(
                engine.records.by_node(node).map(|r| r.fmri.to_string()),
                Some(name.to_string())
            );
        }
        // Importing the same definitions again changes nothing but which copy is kept.
        let before: Vec<InstanceStatus> = engine.statuses();
        let actions = engine.handle(import(services(&["s"], &["three", "four"])), Timestamp(3));
        assert!(
            actions
                .iter()
                .all(|action| !matches!(action, Action::RunMethod(_))),
            "{actions:?}"
        );
        assert_eq!(engine.statuses(), before);
        // The records and the new graph share one copy of each FMRI and definition.
        for &node in engine.graph.instances() {
            let (Some(definition), Some(record)) = (
                engine.graph.shared_definition(node),
                engine.records.by_node(node),
            ) else {
                continue;
            };
            assert!(
                record
                    .definition
                    .as_ref()
                    .is_some_and(|d| Arc::ptr_eq(d, definition))
            );
        }
        for &node in engine.graph.instances() {
            let (Some(in_graph), Some(record)) =
                (engine.graph.fmri(node), engine.records.by_node(node))
            else {
                panic!("every instance has a record");
            };
            assert_eq!(in_graph.as_str().as_ptr(), record.fmri.as_str().as_ptr());
        }
        engine.handle(
            Event::Disable {
                fmri: fmri("svc:/s:four"),
                temporary: false,
            },
            Timestamp(4),
        );
        assert_eq!(
            engine.status(&fmri("svc:/s:four")).map(|s| s.enabled),
            Some(false)
        );
        assert_eq!(online(&engine, "svc:/s:three"), Some(true));
    }
}
