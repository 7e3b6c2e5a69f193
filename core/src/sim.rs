//! A simulated world for the engine: a fake clock and a fake process table, so every SMF
//! rule can be played as a story in microseconds and without flakes (scenario tests,
//! property tests and benchmarks use it).
//!
//! The world executes the engine's actions the way svc.startd does, but on pretend
//! processes: a method "runs" for as long as its [`Script`] says and ends as it says; a
//! contract instance's start method that succeeds leaves a daemon behind (unless told not
//! to); signalling an instance kills its daemons and its start method (unless the instance
//! is [stubborn](World::set_stubborn) and the signal is not SIGKILL). Time only moves when
//! the next thing happens: [`World::run`] jumps from event to event and from deadline to
//! deadline until nothing is left to happen.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};

use crate::fast_hash::{FastMap, FastSet};

use crate::engine::{
    Action, AdminState, Duration, Engine, Event, InstanceStatus, MethodName, MethodStatus,
    Requester, RunId, Transition,
};
use crate::fmri::Fmri;
use crate::manifest::{self, BundleKind};
use crate::signal::Signal;
use crate::state::{State, Timestamp};

/// How one method run behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Script {
    /// Ends `after_ms` after it starts with `status`; a successful start method of a contract
    /// instance leaves a daemon running when `daemon` is set.
    Exit {
        /// Run time in milliseconds.
        after_ms: u64,
        /// How it ends.
        status: MethodStatus,
        /// Leaves a daemon behind.
        daemon: bool,
    },
    /// Never ends on its own (a hung method, or a child instance's long-running process).
    Hang,
}

impl Script {
    /// Exits `status` after 10 ms, leaving a daemon when it is 0.
    pub fn exit(status: i32) -> Script {
        Script::Exit {
            after_ms: 10,
            status: MethodStatus::Exited(status),
            daemon: status == 0,
        }
    }

    /// Exits 0 after `after_ms`, leaving a daemon: a start that takes a while.
    pub fn slow(after_ms: u64) -> Script {
        Script::Exit {
            after_ms,
            status: MethodStatus::Exited(0),
            daemon: true,
        }
    }

    /// Exits 0 after 10 ms and leaves nothing running.
    pub fn exit_without_daemon() -> Script {
        Script::Exit {
            after_ms: 10,
            status: MethodStatus::Exited(0),
            daemon: false,
        }
    }

    /// Killed by `signal` after 10 ms.
    pub fn killed(signal: Signal) -> Script {
        Script::Exit {
            after_ms: 10,
            status: MethodStatus::Signaled {
                signal,
                core_dumped: false,
            },
            daemon: false,
        }
    }
}

#[derive(Debug, Clone)]
struct LiveRun {
    fmri: Fmri,
    method: MethodName,
    duration: Duration,
    daemon: bool,
    /// Sequence number of its scheduled exit, if one is scheduled.
    exit: Option<u64>,
}

#[derive(Debug, Clone)]
enum Pending {
    Exit { run: RunId, status: MethodStatus },
    Event(Event),
}

/// The engine plus a fake clock and a fake process table.
pub struct World {
    engine: Engine,
    now: Timestamp,
    queue: BinaryHeap<Reverse<(Timestamp, u64)>>,
    pending: FastMap<u64, Pending>,
    seq: u64,
    scripts: FastMap<(Fmri, MethodName), VecDeque<Script>>,
    defaults: FastMap<(Fmri, MethodName), Script>,
    runs: FastMap<RunId, LiveRun>,
    daemons: FastMap<Fmri, u32>,
    stubborn: FastSet<Fmri>,
    files: FastSet<String>,
    transitions: Vec<Transition>,
    logs: Vec<(Fmri, String)>,
    admin: HashMap<Fmri, AdminState>,
    started: Vec<(Timestamp, Fmri, MethodName)>,
    steps: u64,
}

impl Default for World {
    fn default() -> Self {
        World::new()
    }
}

impl World {
    /// An empty world at time 1,000,000 s after the epoch.
    pub fn new() -> World {
        World::with_engine(Engine::new())
    }

    /// A world around an engine built elsewhere (e.g. with restored admin state).
    pub fn with_engine(engine: Engine) -> World {
        World {
            engine,
            now: Timestamp::from_secs(1_000_000),
            queue: BinaryHeap::new(),
            pending: FastMap::default(),
            seq: 0,
            scripts: FastMap::default(),
            defaults: FastMap::default(),
            runs: FastMap::default(),
            daemons: FastMap::default(),
            stubborn: FastSet::default(),
            files: FastSet::default(),
            transitions: Vec::new(),
            logs: Vec::new(),
            admin: HashMap::new(),
            started: Vec::new(),
            steps: 0,
        }
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The current time.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Parses `xml` (which must be valid) and imports it, without running anything yet.
    ///
    /// # Panics
    /// If the manifest is not valid: a test's own input.
    pub fn import(&mut self, xml: &str) {
        let parsed = manifest::parse("sim.xml", xml.as_bytes());
        assert!(parsed.is_valid(), "{:#?}", parsed.diagnostics);
        let Some(bundle) = parsed.bundle else {
            return;
        };
        self.send(Event::Imported {
            kind: bundle.kind,
            services: bundle.services,
        });
    }

    /// Imports already-parsed services.
    pub fn import_services(&mut self, services: Vec<manifest::Service>) {
        self.send(Event::Imported {
            kind: BundleKind::Manifest,
            services,
        });
    }

    /// Hands an event to the engine now and executes its actions.
    pub fn send(&mut self, event: Event) {
        self.steps += 1;
        let actions = self.engine.handle(event, self.now);
        for action in actions {
            self.execute(action);
        }
    }

    /// `svcadm enable`.
    pub fn enable(&mut self, fmri: &str) {
        self.send(Event::Enable {
            fmri: fmri_of(fmri),
            temporary: false,
            recursive: false,
        });
    }

    /// `svcadm disable`.
    pub fn disable(&mut self, fmri: &str) {
        self.send(Event::Disable {
            fmri: fmri_of(fmri),
            temporary: false,
        });
    }

    /// `svcadm clear`.
    pub fn clear(&mut self, fmri: &str) {
        self.send(Event::Clear {
            fmri: fmri_of(fmri),
        });
    }

    /// `svcadm restart`.
    pub fn restart(&mut self, fmri: &str) {
        self.send(Event::Restart {
            fmri: fmri_of(fmri),
        });
    }

    /// `svcadm refresh`.
    pub fn refresh(&mut self, fmri: &str) {
        self.send(Event::Refresh {
            fmri: fmri_of(fmri),
        });
    }

    /// `svcadm mark [-I] [-t] maintenance|degraded` by an administrator.
    pub fn mark(
        &mut self,
        fmri: &str,
        state: crate::engine::MarkState,
        immediate: bool,
        temporary: bool,
    ) {
        self.send(Event::Mark {
            fmri: fmri_of(fmri),
            state,
            immediate,
            temporary,
            requester: Requester::Administrator,
        });
    }

    /// The next run of `method` for `fmri` behaves as `script` (queued in order).
    pub fn script(&mut self, fmri: &str, method: MethodName, script: Script) {
        self.scripts
            .entry((fmri_of(fmri), method))
            .or_default()
            .push_back(script);
    }

    /// Every run of `method` for `fmri` without a queued script behaves as `script`.
    pub fn behave(&mut self, fmri: &str, method: MethodName, script: Script) {
        self.defaults.insert((fmri_of(fmri), method), script);
    }

    /// The instance's processes ignore every signal but SIGKILL.
    pub fn set_stubborn(&mut self, fmri: &str) {
        self.stubborn.insert(fmri_of(fmri));
    }

    /// Makes a file exist (for `path` dependencies); the engine learns it when it probes.
    pub fn create_file(&mut self, path: &str) {
        self.files.insert(path.to_string());
    }

    /// Every daemon of `fmri` dumps core at once (a crash): for a child instance its process.
    pub fn crash(&mut self, fmri: &str) {
        let fmri = fmri_of(fmri);
        self.kill_processes(
            &fmri,
            MethodStatus::Signaled {
                signal: Signal::SEGV,
                core_dumped: true,
            },
        );
        self.schedule(
            1,
            Pending::Event(Event::ProcessFaulted {
                fmri: fmri.clone(),
                core_dumped: true,
            }),
        );
        self.schedule(2, Pending::Event(Event::ContractEmptied { fmri }));
    }

    /// Every process of `fmri` dies: its daemons now, its start method (a child instance's
    /// process) 1 ms later with `status`.
    fn kill_processes(&mut self, fmri: &Fmri, status: MethodStatus) {
        self.daemons.insert(fmri.clone(), 0);
        let runs: Vec<RunId> = self
            .runs
            .iter()
            .filter(|(_, run)| run.fmri == *fmri && run.method == MethodName::Start)
            .map(|(id, _)| *id)
            .collect();
        for run in runs {
            self.finish_run_soon(run, status.clone(), 1);
        }
    }

    /// Every daemon of `fmri` exits cleanly (status 0): the contract empties.
    pub fn exit_daemons(&mut self, fmri: &str) {
        let fmri = fmri_of(fmri);
        self.daemons.insert(fmri.clone(), 0);
        self.schedule(1, Pending::Event(Event::ContractEmptied { fmri }));
    }

    /// Sends `event` at `now + delay_ms`.
    pub fn send_later(&mut self, delay_ms: u64, event: Event) {
        self.schedule(delay_ms, Pending::Event(event));
    }

    /// Runs until nothing is pending and no deadline is armed, or `max_steps` events were
    /// handled. Returns whether it settled.
    pub fn run_steps(&mut self, max_steps: u64) -> bool {
        let limit = self.steps + max_steps;
        while self.steps < limit {
            if !self.step(None) {
                return true;
            }
        }
        false
    }

    /// Runs until nothing is pending (deadlines included).
    ///
    /// # Panics
    /// After a million events: a hot loop the test should hear about.
    pub fn run(&mut self) {
        assert!(self.run_steps(1_000_000), "the world did not settle");
    }

    /// Runs what happens within the next `ms` milliseconds, then sets the clock to that time.
    pub fn advance(&mut self, ms: u64) {
        let until = self.now.plus_millis(ms);
        while self.step(Some(until)) {}
        self.now = until;
    }

    /// Handles the next thing to happen (not later than `until`); false if there is none.
    pub fn step(&mut self, until: Option<Timestamp>) -> bool {
        let next_event = self.queue.peek().map(|Reverse((at, _))| *at);
        let deadline = self.engine.next_deadline();
        let (at, is_event) = match (next_event, deadline) {
            (Some(e), Some(d)) if d < e => (d, false),
            (Some(e), _) => (e, true),
            (None, Some(d)) => (d, false),
            (None, None) => return false,
        };
        if until.is_some_and(|until| at > until) {
            return false;
        }
        self.now = self.now.max(at);
        if !is_event {
            self.send(Event::DeadlineReached);
            return true;
        }
        let Some(Reverse((_, seq))) = self.queue.pop() else {
            return false;
        };
        match self.pending.remove(&seq) {
            Some(Pending::Exit { run, status }) => self.deliver_exit(run, status),
            Some(Pending::Event(event)) => self.send(event),
            None => {}
        }
        true
    }

    /// The state of an instance (`None` if unknown).
    pub fn state(&self, fmri: &str) -> Option<State> {
        self.status(fmri).map(|status| status.state)
    }

    /// The engine's status of an instance.
    pub fn status(&self, fmri: &str) -> Option<InstanceStatus> {
        self.engine.status(&fmri_of(fmri))
    }

    /// Every state change so far.
    pub fn transitions(&self) -> &[Transition] {
        &self.transitions
    }

    /// The states `fmri` went through, in order (consecutive repeats collapsed).
    pub fn states_of(&self, fmri: &str) -> Vec<State> {
        let fmri = fmri_of(fmri);
        let mut out: Vec<State> = Vec::new();
        for transition in self.transitions.iter().filter(|t| t.fmri == fmri) {
            if out.last() != Some(&transition.state) {
                out.push(transition.state);
            }
        }
        out
    }

    /// Restarter log lines for `fmri`.
    pub fn logs(&self, fmri: &str) -> Vec<&str> {
        let fmri = fmri_of(fmri);
        self.logs
            .iter()
            .filter(|(owner, _)| *owner == fmri)
            .map(|(_, line)| line.as_str())
            .collect()
    }

    /// When each method run started: (time, instance, method).
    pub fn method_runs(&self) -> &[(Timestamp, Fmri, MethodName)] {
        &self.started
    }

    /// How many times `method` of `fmri` has run.
    pub fn runs_of(&self, fmri: &str, method: MethodName) -> usize {
        let fmri = fmri_of(fmri);
        self.started
            .iter()
            .filter(|(_, f, m)| *f == fmri && *m == method)
            .count()
    }

    /// The administrator's persisted settings, as the repository would hold them.
    pub fn persisted(&self) -> &HashMap<Fmri, AdminState> {
        &self.admin
    }

    /// Live daemons of an instance.
    pub fn daemons(&self, fmri: &str) -> u32 {
        self.daemons.get(&fmri_of(fmri)).copied().unwrap_or(0)
    }

    fn schedule(&mut self, delay_ms: u64, pending: Pending) -> u64 {
        self.seq += 1;
        let at = self.now.plus_millis(delay_ms);
        self.queue.push(Reverse((at, self.seq)));
        self.pending.insert(self.seq, pending);
        self.seq
    }

    fn finish_run_soon(&mut self, run: RunId, status: MethodStatus, delay_ms: u64) {
        let Some(live) = self.runs.get(&run) else {
            return;
        };
        if let Some(previous) = live.exit {
            self.pending.remove(&previous);
        }
        let seq = self.schedule(delay_ms, Pending::Exit { run, status });
        if let Some(live) = self.runs.get_mut(&run) {
            live.exit = Some(seq);
            live.daemon = false;
        }
    }

    fn deliver_exit(&mut self, run: RunId, status: MethodStatus) {
        let Some(live) = self.runs.remove(&run) else {
            return;
        };
        let tracked = live.method == MethodName::Start && live.duration != Duration::Transient;
        if live.method == MethodName::Start && live.daemon && tracked {
            *self.daemons.entry(live.fmri.clone()).or_insert(0) += 1;
        }
        self.send(Event::MethodExited { run, status });
        if tracked && self.daemons.get(&live.fmri).copied().unwrap_or(0) == 0 {
            let others = self
                .runs
                .values()
                .any(|r| r.fmri == live.fmri && r.method == MethodName::Start);
            if !others {
                self.send(Event::ContractEmptied { fmri: live.fmri });
            }
        }
    }

    fn execute(&mut self, action: Action) {
        match action {
            Action::RunMethod(run) => {
                self.started.push((self.now, run.fmri.clone(), run.method));
                let key = (run.fmri.clone(), run.method);
                let script = self
                    .scripts
                    .get_mut(&key)
                    .and_then(VecDeque::pop_front)
                    .or_else(|| self.defaults.get(&key).cloned())
                    .unwrap_or_else(|| default_script(run.method, run.duration));
                let daemon = matches!(script, Script::Exit { daemon: true, .. });
                self.runs.insert(
                    run.run,
                    LiveRun {
                        fmri: run.fmri.clone(),
                        method: run.method,
                        duration: run.duration,
                        daemon,
                        exit: None,
                    },
                );
                if let Script::Exit {
                    after_ms, status, ..
                } = script
                {
                    let seq = self.schedule(
                        after_ms,
                        Pending::Exit {
                            run: run.run,
                            status,
                        },
                    );
                    if let Some(live) = self.runs.get_mut(&run.run) {
                        live.exit = Some(seq);
                    }
                }
            }
            Action::KillMethod { run, signal } => {
                self.finish_run_soon(
                    run,
                    MethodStatus::Signaled {
                        signal,
                        core_dumped: false,
                    },
                    1,
                );
            }
            Action::SignalContract { fmri, signal } => {
                if self.stubborn.contains(&fmri) && signal != Signal::KILL {
                    return;
                }
                self.kill_processes(
                    &fmri,
                    MethodStatus::Signaled {
                        signal,
                        core_dumped: false,
                    },
                );
                self.schedule(2, Pending::Event(Event::ContractEmptied { fmri }));
            }
            Action::AbandonContract { fmri } => {
                self.daemons.insert(fmri, 0);
            }
            Action::SetState(transition) => self.transitions.push(transition),
            Action::PersistAdmin { fmri, admin } => {
                self.admin.insert(fmri, admin);
            }
            Action::Log { fmri, message } => self.logs.push((fmri, message)),
            Action::ProbeFiles { paths } => {
                let files = paths
                    .into_iter()
                    .map(|path| {
                        let exists = self.files.contains(&path);
                        (path, exists)
                    })
                    .collect();
                self.schedule(0, Pending::Event(Event::FilesProbed { files }));
            }
            Action::Forget { fmri } => {
                self.daemons.remove(&fmri);
            }
            Action::Adopt { fmri, main_run } => match main_run {
                // A child instance: its process goes on, as a start method that never ends.
                Some(run) => {
                    let duration = self
                        .engine
                        .status(&fmri)
                        .map_or(Duration::Child, |status| status.duration);
                    self.runs.insert(
                        run,
                        LiveRun {
                            fmri,
                            method: MethodName::Start,
                            duration,
                            daemon: false,
                            exit: None,
                        },
                    );
                }
                None => {
                    let transient = self
                        .engine
                        .status(&fmri)
                        .is_some_and(|status| status.duration == Duration::Transient);
                    if !transient {
                        self.daemons.insert(fmri, 1);
                    }
                }
            },
        }
    }
}

/// What a method does when no script says otherwise: start methods of contract instances
/// leave a daemon, child instances run until signalled, everything else exits 0 quickly.
fn default_script(method: MethodName, duration: Duration) -> Script {
    match (method, duration) {
        (MethodName::Start, Duration::Child) => Script::Hang,
        (MethodName::Start, Duration::Contract) => Script::exit(0),
        _ => Script::Exit {
            after_ms: 5,
            status: MethodStatus::Exited(0),
            daemon: false,
        },
    }
}

/// Parses an FMRI written by a test.
///
/// # Panics
/// If it does not parse: a test's own input.
pub fn fmri_of(text: &str) -> Fmri {
    match Fmri::parse(text) {
        Ok(fmri) => fmri,
        Err(error) => panic!("bad FMRI {text:?} in a test: {error}"),
    }
}
