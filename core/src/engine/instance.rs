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
        let Some(record) = self.records.get_mut(fmri) else {
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
                .get(fmri)
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
        if let Some(record) = self.records.get_mut(fmri) {
            record.timer = Some(id);
        }
    }

    pub(crate) fn disarm(&mut self, fmri: &Fmri) {
        if let Some(id) = self.records.get_mut(fmri).and_then(|r| r.timer.take()) {
            self.timers.cancel(id);
        }
    }
}

/// Every instance's record: stored densely, found by FMRI or, for the graph's questions,
/// by vertex (the vertex index is refreshed at every graph build).
#[derive(Debug, Clone, Default)]
pub(crate) struct Records {
    list: Vec<Record>,
    index: FastMap<Fmri, usize>,
    /// Graph vertex -> position in `list` (`usize::MAX`: none).
    by_node: Vec<usize>,
}

impl Records {
    pub(crate) fn get(&self, fmri: &Fmri) -> Option<&Record> {
        self.index.get(fmri).map(|&i| &self.list[i])
    }

    pub(crate) fn get_mut(&mut self, fmri: &Fmri) -> Option<&mut Record> {
        match self.index.get(fmri) {
            Some(&i) => self.list.get_mut(i),
            None => None,
        }
    }

    pub(crate) fn insert(&mut self, fmri: Fmri, record: Record) {
        match self.index.get(&fmri) {
            Some(&i) => self.list[i] = record,
            None => {
                self.index.insert(fmri, self.list.len());
                self.list.push(record);
            }
        }
    }

    /// Removes a record; vertex lookups are stale until the next [`Records::reindex`].
    pub(crate) fn remove(&mut self, fmri: &Fmri) -> Option<Record> {
        let i = self.index.remove(fmri)?;
        let record = self.list.swap_remove(i);
        if let Some(moved) = self.list.get(i) {
            self.index.insert(moved.fmri.clone(), i);
        }
        self.by_node.clear();
        Some(record)
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
        self.list.get(i)
    }

    /// Maps the graph's vertices to records after a build.
    pub(crate) fn reindex(&mut self, graph: &DependencyGraph) {
        let (nodes, _) = graph.size();
        self.by_node = vec![usize::MAX; nodes];
        for &node in graph.instances() {
            if let Some(fmri) = graph.fmri(node)
                && let Some(&i) = self.index.get(fmri)
            {
                self.by_node[node.index()] = i;
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
        // 272 bytes before the seldom-set fields moved to `Cold`, the start status, timer,
        // main run and start history took one word each and the stop's list of dependents
        // was boxed: 1000 instances are 1000 records.
        assert!(std::mem::size_of::<Record>() <= 168);
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
}
