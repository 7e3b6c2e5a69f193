//! The SMF state machine, sans I/O: `Engine::handle(event, now) -> Vec<Action>`.
//!
//! The engine is svc.startd's brain without its hands. It is told what happened ([`Event`]:
//! an import, an administrator's request, a method's exit, a contract emptied, a deadline) and
//! answers with what to do ([`Action`]: run a method, signal an instance's processes, record a
//! state change, persist the administrator's settings). It reads no clock (every event
//! comes with its time), touches no file, owns no thread, and is deterministic: the same
//! events at the same times give the same actions.
//!
//! # Driving it
//!
//! The shell (svc.startd's main loop, or [`crate::sim::World`] in tests) must:
//! 1. execute the actions of each `handle` in order;
//! 2. report every `RunMethod` back with `MethodExited { run, status }`, and for a start
//!    method of a contract or child instance, report `ContractEmptied` afterwards when none
//!    of the instance's processes is left (and later, whenever the last one goes);
//! 3. after a `SignalContract`, report `ContractEmptied` once the instance has no process;
//! 4. answer `ProbeFiles` with `FilesProbed`;
//! 5. wait until [`Engine::next_deadline`] (re-read after every `handle`) and then send
//!    `DeadlineReached`. The engine keeps every timer itself, so a stale timer cannot fire.
//!
//! # Files
//!
//! - `event.rs` / `action.rs`: the vocabulary.
//! - `instance.rs`: one instance's record and lifecycle (restarter.c's half), told in its
//!   module doc; `start.rs` (start, readiness, method exits, timeouts, running instances whose
//!   processes go), `stop.rs` (stop, maintenance, refresh) and `admin.rs` (svcadm's requests,
//!   shutdown) carry it out.
//! - `propagate.rs`: who starts, stops or restarts when something changes (graph.c's half):
//!   the evaluation of each instance, `restart_on`, exclusions, dependents taken down first.
//! - `threshold.rs`: crash-loop accounting. `timer.rs`: the timer table. `reason.rs`: why a
//!   state changed. `method.rs`: what a definition means to the restarter (duration,
//!   thresholds, readiness), exit codes and method tokens.

mod action;
mod admin;
mod event;
mod instance;
pub mod method;
mod propagate;
mod reason;
mod start;
mod stop;
pub mod threshold;
mod timer;

use crate::fast_hash::{FastMap, FastSet};
use std::collections::VecDeque;
use std::sync::Arc;

use petgraph::graph::NodeIndex;
use serde::{Deserialize, Serialize};

pub use action::{Action, AdminState, Duration, MethodRun, Transition};
pub use event::{Event, MarkState, MethodName, MethodStatus, Requester, RunId};
pub use method::{ProcessSettings, Resource, ResourceLimit};
pub use reason::{ErrorClass, Reason};

use crate::fmri::Fmri;
use crate::graph::{
    DependencyGraph, EntityStatus, Evaluator, GraphProblem, Memo, ServiceEntry, StateLookup,
};
use crate::manifest::{BundleKind, EffectiveInstance, Instance, Service, Settings};
use crate::state::{State, Timestamp};
use instance::{Record, Records, Work};
use timer::Timers;

/// Capacity of the evaluation queue kept between events.
const QUEUE_KEPT: usize = 64;

/// Gives back the room of a map that holds less than a quarter of what it could, once it
/// could hold more than [`QUEUE_KEPT`] entries (shrinking at a quarter keeps the copies
/// linear in the removals).
pub(crate) fn shrink_sparse<K: Eq + std::hash::Hash, V>(map: &mut FastMap<K, V>) {
    if map.capacity() > QUEUE_KEPT && map.len() < map.capacity() / 4 {
        map.shrink_to_fit();
    }
}

/// What the engine knows about one instance, for `svcs`, `svcs -x` and the repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceStatus {
    /// The instance.
    pub fmri: Fmri,
    /// Its state.
    pub state: State,
    /// Where it is heading, while a transition is in flight (`svcs` shows a `*`).
    pub next_state: Option<State>,
    /// When the state last changed.
    pub since: Timestamp,
    /// Why.
    pub reason: Reason,
    /// Whether it is enabled, all things considered.
    pub enabled: bool,
    /// Whether that comes from a temporary (`-t`) request.
    pub temporary: bool,
    /// What the administrator set persistently.
    pub admin: AdminState,
    /// How its last start method ended.
    pub start_status: Option<MethodStatus>,
    /// Its duration.
    pub duration: Duration,
    /// Consecutive retryable method failures.
    pub faults: u32,
    /// The last `STATUS=` it reported through `$NOTIFY_SOCKET`.
    pub status_text: Option<String>,
    /// Who asked for maintenance, when another service did.
    pub requested_by: Option<String>,
}

/// The state machine. See the module documentation for how to drive it.
#[derive(Debug, Clone)]
pub struct Engine {
    /// Imported services, in import order, composed.
    services: Vec<Imported>,
    /// Services being deleted: kept in the graph until their instances have stopped.
    removing: FastSet<String>,
    /// Instance -> enabled as a profile says.
    profile_enabled: FastMap<Fmri, bool>,
    graph: DependencyGraph,
    records: Records,
    /// Administrative settings restored from the repository, applied at import.
    restored: FastMap<Fmri, AdminState>,
    files: FastMap<String, bool>,
    /// Satisfiability answers, valid until the next state change.
    memo: Memo,
    /// Method runs in flight -> their instance.
    runs: FastMap<RunId, Fmri>,
    next_run: u64,
    timers: Timers,
    /// Instance being taken down -> what it holds offline until its stop is over.
    holds: FastMap<Fmri, Vec<Fmri>>,
    /// Dependent -> the instances waiting for it to stop.
    waiting_on: FastMap<Fmri, FastSet<Fmri>>,
    /// Instances to evaluate before `handle` returns.
    queue: VecDeque<Fmri>,
    queued: FastSet<Fmri>,
    actions: Vec<Action>,
    now: Timestamp,
    shutting_down: bool,
    /// Instances whose processes outlived the previous svc.startd, adopted at their start.
    recovered: FastSet<Fmri>,
    counters: Counters,
}

/// How much work the engine has done, for benchmarks that check the work stays linear.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Events handled.
    pub events: u64,
    /// Instance evaluations (each one a look at the instance's dependency groups at most).
    pub evaluations: u64,
    /// State changes.
    pub transitions: u64,
    /// Graph builds.
    pub graph_builds: u64,
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new()
    }
}

impl Engine {
    /// An engine with nothing imported: only svc.startd's own instance, online.
    pub fn new() -> Engine {
        Engine::with_admin_state(std::iter::empty())
    }

    /// An engine that will apply the administrator's persistent settings (from the
    /// repository) to the instances as they are imported. Temporary settings never survive.
    pub fn with_admin_state(restored: impl IntoIterator<Item = (Fmri, AdminState)>) -> Engine {
        let restored: FastMap<Fmri, AdminState> = restored.into_iter().collect();
        let graph = DependencyGraph::build(&[]);
        let mut records = Records::default();
        records.reindex(&graph);
        if let Some(startd) = graph.fmri(graph.startd()).cloned() {
            let mut record = Record::new(startd.clone(), None);
            record.state = State::Online;
            record.reason = Reason::None;
            records.insert(&graph, startd, record);
        }
        Engine {
            services: Vec::new(),
            removing: FastSet::default(),
            profile_enabled: FastMap::default(),
            graph,
            records,
            restored,
            files: FastMap::default(),
            memo: Memo::default(),
            runs: FastMap::default(),
            next_run: 0,
            timers: Timers::default(),
            waiting_on: FastMap::default(),
            holds: FastMap::default(),
            queue: VecDeque::new(),
            queued: FastSet::default(),
            actions: Vec::new(),
            now: Timestamp(0),
            shutting_down: false,
            recovered: FastSet::default(),
            counters: Counters::default(),
        }
    }

    /// Handles one event at time `now` and returns what the shell must do, in order.
    pub fn handle(&mut self, event: Event, now: Timestamp) -> Vec<Action> {
        if self.now == Timestamp(0) {
            // svc.startd's own instance has been online since the first thing it heard.
            let startd = self.graph.fmri(self.graph.startd()).cloned();
            if let Some(record) = startd.and_then(|fmri| self.records.get_mut(&self.graph, &fmri)) {
                record.since = now;
            }
        }
        self.now = self.now.max(now);
        self.counters.events += 1;
        match event {
            Event::Imported { kind, services } => {
                self.import(kind, services);
                self.run_queue();
                // Adoption is for the first decisions only: what waits longer starts anew
                // (and the set's room is given back: it held every instance running).
                self.recovered = FastSet::default();
            }
            Event::Recovered { instances } => self.recovered.extend(instances),
            Event::Removed { services } => self.remove(&services),
            Event::Enable {
                fmri,
                temporary,
                recursive,
            } => self.enable(&fmri, temporary, recursive),
            Event::Disable { fmri, temporary } => self.disable(&fmri, temporary),
            Event::Restart { fmri } => self.restart(&fmri),
            Event::Refresh { fmri } => self.refresh(&fmri),
            Event::Clear { fmri } => self.clear(&fmri),
            Event::Mark {
                fmri,
                state,
                immediate,
                temporary,
                requester,
            } => self.mark(&fmri, state, immediate, temporary, requester),
            Event::MethodExited { run, status } => self.method_exited(run, status),
            Event::MethodTimedOut { run } => self.method_timed_out(run),
            Event::ContractEmptied { fmri } => self.contract_emptied(&fmri),
            Event::ProcessFaulted { fmri, core_dumped } => self.process_faulted(&fmri, core_dumped),
            Event::Notified {
                fmri,
                ready,
                status,
            } => self.notified(&fmri, ready, status),
            Event::FilesProbed { files } => {
                self.memo.clear();
                for (path, exists) in files {
                    self.files.insert(path, exists);
                }
                self.queue_all();
            }
            Event::DeadlineReached => self.deadline_reached(),
            Event::Shutdown => self.shutdown(),
        }
        self.run_queue();
        // A bring-up starts every instance at once, and each start arms a timer and has a
        // run; once they are done the tables' room is given back.
        shrink_sparse(&mut self.runs);
        shrink_sparse(&mut self.restored);
        self.timers.shrink_sparse();
        std::mem::take(&mut self.actions)
    }

    /// How much work has been done so far.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// When the shell must next send `DeadlineReached`.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        self.timers.next_deadline()
    }

    /// The dependency graph as last built.
    pub fn graph(&self) -> &DependencyGraph {
        &self.graph
    }

    /// What went wrong building the graph (reported by the shell and `svcs -x`).
    pub fn problems(&self) -> &[GraphProblem] {
        self.graph.problems()
    }

    /// One instance's status.
    pub fn status(&self, fmri: &Fmri) -> Option<InstanceStatus> {
        self.records
            .get(&self.graph, fmri)
            .map(|record| record.status())
    }

    /// Every instance, svc.startd's first, then in import order.
    pub fn statuses(&self) -> Vec<InstanceStatus> {
        self.graph
            .instances()
            .iter()
            .filter_map(|&node| self.graph.fmri(node))
            .filter_map(|fmri| self.status(fmri))
            .collect()
    }

    /// The instances svc.startd will start when their dependencies allow, in import order:
    /// enabled, run by svc.startd, neither running nor in maintenance, with their duration.
    /// (What a restarter may get ready ahead of their starts: cgroups, logs.)
    pub fn to_start(&self) -> Vec<(Fmri, Duration)> {
        self.graph
            .instances()
            .iter()
            .filter_map(|&node| self.graph.fmri(node))
            .filter_map(|fmri| self.records.get(&self.graph, fmri))
            .filter(|record| {
                !record.is_startd()
                    && record.run_by_startd()
                    && record.enabled()
                    && !record.state.is_running()
                    && record.state != crate::state::State::Maintenance
            })
            .map(|record| (record.fmri.clone(), record.config.duration))
            .collect()
    }

    /// Whether no method, stop or readiness wait is in flight anywhere.
    pub fn is_settled(&self) -> bool {
        self.records
            .values()
            .all(|record| matches!(record.work, Work::Idle) && record.next_state.is_none())
    }

    /// After `Shutdown`: whether every instance has stopped.
    pub fn is_shut_down(&self) -> bool {
        self.shutting_down
            && self.records.values().all(|record| {
                record.is_startd() || (!record.state.is_running() && !record.is_busy())
            })
    }

    /// Satisfaction of `fmri`'s dependencies now, and whether they can be satisfied at all.
    pub fn satisfaction(
        &self,
        fmri: &Fmri,
    ) -> Option<(crate::graph::Satisfaction, crate::graph::Satisfaction)> {
        let node = self.graph.instance(fmri)?;
        let view = self.view();
        let mut evaluator = Evaluator::new(&self.graph, &view);
        Some((evaluator.instance(node), evaluator.satisfiability(node)))
    }

    /// Whether a file cited by a `path` dependency existed when last probed.
    pub fn file_exists(&self, path: &str) -> Option<bool> {
        self.files.get(path).copied()
    }

    /// The states as the graph reads them.
    pub(crate) fn view(&self) -> View<'_> {
        View {
            records: &self.records,
            files: &self.files,
        }
    }

    fn queue(&mut self, fmri: &Fmri) {
        if self.queued.insert(fmri.clone()) {
            self.queue.push_back(fmri.clone());
        }
    }

    fn queue_all(&mut self) {
        let fmris: Vec<Fmri> = self
            .graph
            .instances()
            .iter()
            .filter_map(|&node| self.graph.fmri(node).cloned())
            .collect();
        for fmri in fmris {
            self.queue(&fmri);
        }
    }

    fn run_queue(&mut self) {
        while let Some(fmri) = self.queue.pop_front() {
            self.queued.remove(&fmri);
            self.counters.evaluations += 1;
            self.evaluate(&fmri);
        }
        // An import queues every instance; what that took is given back once it is done
        // rather than kept for the next one (a few entries at a time is the common case).
        if self.queue.capacity() > QUEUE_KEPT {
            self.queue = VecDeque::new();
            self.queued = FastSet::default();
        }
    }

    fn node(&self, fmri: &Fmri) -> Option<NodeIndex> {
        self.graph.instance(fmri)
    }

    fn log(&mut self, fmri: &Fmri, message: impl Into<String>) {
        self.actions.push(Action::Log {
            fmri: fmri.clone(),
            message: message.into(),
        });
    }

    fn persist(&mut self, fmri: &Fmri) {
        if let Some(record) = self.records.get(&self.graph, fmri) {
            self.actions.push(Action::PersistAdmin {
                fmri: fmri.clone(),
                admin: record.admin,
            });
        }
    }

    // ----- imports -------------------------------------------------------------------------

    fn import(&mut self, kind: BundleKind, services: Vec<Service>) {
        // Enabled flags or the graph change: every satisfiability answer may.
        self.memo.clear();
        if kind == BundleKind::Profile {
            for service in &services {
                for instance in service.effective_instances() {
                    let (Some(enabled), Ok(fmri)) = (
                        instance.enabled,
                        Fmri::instance(&instance.service, &instance.instance),
                    ) else {
                        continue;
                    };
                    self.profile_enabled.insert(fmri.clone(), enabled);
                    if let Some(record) = self.records.get_mut(&self.graph, &fmri) {
                        record.manifest_enabled = enabled;
                    }
                    self.queue(&fmri);
                }
            }
            return;
        }
        let mut index: FastMap<Box<str>, usize> = self
            .services
            .iter()
            .enumerate()
            .map(|(i, service)| (service.name.clone(), i))
            .collect();
        self.services.reserve(services.len());
        for service in services {
            self.removing.remove(&service.name);
            let service = Imported::compose(service);
            match index.get(&service.name) {
                Some(&i) => self.services[i] = service,
                None => {
                    index.insert(service.name.clone(), self.services.len());
                    self.services.push(service);
                }
            }
        }
        self.rebuild();
    }

    fn remove(&mut self, names: &[String]) {
        self.memo.clear();
        for name in names {
            if self.services.iter().any(|s| *s.name == **name) {
                self.removing.insert(name.clone());
            }
        }
        let doomed: Vec<Fmri> = self
            .records
            .keys()
            .filter(|fmri| {
                fmri.service_name()
                    .is_some_and(|name| self.removing.contains(name))
            })
            .cloned()
            .collect();
        for fmri in doomed {
            if let Some(record) = self.records.get_mut(&self.graph, &fmri) {
                record.removing = true;
            }
            self.queue(&fmri);
        }
        self.queue_all();
    }

    /// Drops deleted services whose instances have all stopped, then rebuilds.
    fn collect_removed(&mut self) {
        if self.removing.is_empty() {
            return;
        }
        let busy: FastSet<String> = self
            .records
            .values()
            .filter(|record| record.removing && (record.state.is_running() || record.is_busy()))
            .filter_map(|record| record.fmri.service_name().map(str::to_string))
            .collect();
        let done: Vec<String> = self
            .removing
            .iter()
            .filter(|name| !busy.contains(*name))
            .cloned()
            .collect();
        if done.is_empty() {
            return;
        }
        for name in &done {
            self.removing.remove(name);
        }
        self.services
            .retain(|service| !done.iter().any(|name| **name == *service.name));
        self.rebuild();
    }

    /// Builds the graph again from the imported services and reconciles the records.
    fn rebuild(&mut self) {
        self.memo.clear();
        self.counters.graph_builds += 1;
        self.graph = self
            .graph
            .rebuild_composed(self.services.iter().map(|service| ServiceEntry {
                name: &service.name,
                instances: service.instances.to_vec(),
                dependents: service.dependents.as_deref(),
            }));
        // Records are found through the graph: those it dropped, until they are forgotten
        // below, through a map of their own.
        self.records.reindex(&self.graph);
        let nodes: Vec<NodeIndex> = self.graph.instances().to_vec();
        self.records.reserve_total(nodes.len());
        for node in nodes {
            let Some(fmri) = self.graph.fmri(node).cloned() else {
                continue;
            };
            let Some(definition) = self.graph.shared_definition(node).cloned() else {
                continue;
            };
            let manifest_enabled = self
                .profile_enabled
                .get(&fmri)
                .copied()
                .or(definition.enabled)
                .unwrap_or(false);
            match self.records.get_mut(&self.graph, &fmri) {
                Some(record) => {
                    let changed = record
                        .definition
                        .as_ref()
                        .is_none_or(|old| !Arc::ptr_eq(old, &definition) && **old != *definition);
                    record.manifest_enabled = manifest_enabled;
                    if changed {
                        record.set_definition(definition);
                        if record.state.is_running() && matches!(record.work, Work::Idle) {
                            self.refresh(&fmri);
                        }
                    } else {
                        // The same definition imported again: the record shares the new
                        // copy, so the old one is freed rather than kept beside it.
                        record.definition = Some(definition);
                    }
                }
                None => {
                    let mut record = Record::new(fmri.clone(), Some(definition));
                    record.manifest_enabled = manifest_enabled;
                    if let Some(admin) = self.restored.remove(&fmri) {
                        record.admin = admin;
                    }
                    record.since = self.now;
                    self.records.insert(&self.graph, fmri.clone(), record);
                    self.actions.push(Action::SetState(Transition {
                        fmri: fmri.clone(),
                        from: State::Uninitialized,
                        state: State::Uninitialized,
                        next_state: None,
                        reason: Reason::InsertInGraph,
                        at: self.now,
                    }));
                }
            }
        }
        // Instances a re-import dropped: their processes are stopped and they are forgotten.
        let gone: Vec<Fmri> = self
            .records
            .keys()
            .filter(|fmri| self.graph.instance(fmri).is_none())
            .cloned()
            .collect();
        for fmri in gone {
            self.forget(&fmri);
        }
        let unknown: Vec<String> = self
            .graph
            .files()
            .into_iter()
            .filter(|path| !self.files.contains_key(*path))
            .map(str::to_string)
            .collect();
        if !unknown.is_empty() {
            self.actions.push(Action::ProbeFiles { paths: unknown });
        }
        self.queue_all();
    }

    /// Removes an instance for good, stopping whatever it still runs.
    fn forget(&mut self, fmri: &Fmri) {
        let Some(record) = self.records.remove(&self.graph, fmri) else {
            return;
        };
        if let Some(timer) = record.timer {
            self.timers.cancel(timer);
        }
        self.runs.retain(|_, owner| owner != fmri);
        self.wake_waiters(fmri);
        self.release_holds(fmri);
        if record.contract {
            self.actions.push(Action::SignalContract {
                fmri: fmri.clone(),
                signal: crate::signal::Signal::TERM,
            });
        }
        self.actions.push(Action::Forget { fmri: fmri.clone() });
    }
}

/// An imported service as the engine keeps it: composed once, at its import (a re-import
/// replaces it whole), without the parsed model, whose settings now live in the instances'
/// definitions.
#[derive(Debug, Clone)]
struct Imported {
    name: Box<str>,
    /// Its instances' composed definitions, in order (shared with the graph and the records).
    instances: Box<[Arc<EffectiveInstance>]>,
    /// What the graph reads of the service itself, only when it has some: the `<dependent>`
    /// elements of the service and of its instances (with the instances' names).
    dependents: Option<Box<Service>>,
}

impl Imported {
    fn compose(service: Service) -> Imported {
        let declares = !service.settings.dependents.is_empty()
            || service
                .instances
                .iter()
                .any(|instance| !instance.settings.dependents.is_empty());
        let dependents = declares.then(|| {
            let dependents = |settings: &Settings| Settings {
                dependents: settings.dependents.clone(),
                ..Settings::default()
            };
            Box::new(Service {
                name: service.name.clone(),
                kind: service.kind,
                version: None,
                create_default_instance: service.create_default_instance,
                single_instance: service.single_instance,
                settings: dependents(&service.settings),
                instances: service
                    .instances
                    .iter()
                    .map(|instance| Instance {
                        name: instance.name.clone(),
                        enabled: instance.enabled,
                        settings: dependents(&instance.settings),
                    })
                    .collect(),
                stability: None,
            })
        });
        let name = service.name.as_str().into();
        let composed = service.into_effective_instances();
        let instances = composed.into_iter().map(Arc::new).collect();
        Imported {
            name,
            instances,
            dependents,
        }
    }
}

/// The engine's states as [`StateLookup`] presents them to the graph.
pub(crate) struct View<'a> {
    records: &'a Records,
    files: &'a FastMap<String, bool>,
}

impl StateLookup for View<'_> {
    fn status(&self, instance: NodeIndex) -> EntityStatus {
        match self.records.by_node(instance) {
            Some(record) => EntityStatus {
                state: record.state,
                next_state: record.next_state,
                enabled: record.enabled(),
            },
            None => EntityStatus {
                state: State::Uninitialized,
                next_state: None,
                enabled: false,
            },
        }
    }

    fn file_exists(&self, path: &str) -> Option<bool> {
        self.files.get(path).copied()
    }
}
