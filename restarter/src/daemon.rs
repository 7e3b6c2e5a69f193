//! The engine thread: svc.startd's one loop.
//!
//! ```text
//! methods' pidfds ──────┐
//! orphans (reaper) ─────┤ channels ring
//! adopted (watcher) ────┤ the bell
//! notify socket ────────┼──> epoll_wait ──> Engine::handle(event, now) ──> actions ──> spawn,
//! control clients ──────┤        ^                                     signal, log, repository
//! signals ──────────────┘        └── timeout: engine.next_deadline()
//! ```
//!
//! Everything the engine decides is carried out here, in order; what follows from it (a
//! spawn that failed, a contract found empty, files probed) is fed back before the next
//! message is read. The repository is written once per turn of the loop. While nothing
//! happens, every thread is blocked in the kernel: no tick, no poll.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::Receiver;
use nix::sys::epoll::EpollEvent;
use smallvec::SmallVec;
use smf_core::engine::{Action, Duration, Engine, Event, MethodName, MethodStatus, RunId};
use smf_core::fmri::Fmri;
use smf_core::manifest::BundleKind;
use smf_core::protocol::{ImportOutcome, Request, Response, WaitGoal};
use smf_core::signal::Signal;
use smf_core::state::{State, Timestamp};

use crate::contract::{Cgroups, Contracts, Mode};
use crate::control::Call;
use crate::inbox::{self, Inbox, Woken};
use crate::logs::{Logs, Rotation};
use crate::manifests::{self, Loaded};
use crate::notify::Notification;
use crate::prepare::{Ahead, Preparer};
use crate::reaper::{Exit, Reaper, ReaperHandle, Watcher};
use crate::repository::{Changes, Repository, StoredManifest, StoredProcess};
use crate::root::{Lock, LockError, Root};
use crate::spawn::{self, SpawnRequest};

/// How svc.startd was asked to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Its root.
    pub root: Root,
    /// `--manifests DIR`, in order (after `ROOT/manifest`).
    pub manifest_dirs: Vec<PathBuf>,
    /// Log rotation.
    pub rotation: Rotation,
    /// How to track processes: cgroups if possible (None), or as asked.
    pub contracts: Option<Mode>,
}

/// Why svc.startd could not run.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Another daemon holds the root.
    #[error("{0}")]
    Locked(LockError),
    /// Anything else, already worded.
    #[error("{0}")]
    Other(String),
}

/// A method process svc.startd is waiting for.
#[derive(Debug, Clone)]
pub(crate) struct RunningMethod {
    pub(crate) run: RunId,
    pub(crate) fmri: Fmri,
    pub(crate) method: MethodName,
}

/// The signals svc.startd acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Received {
    /// SIGTERM or SIGINT: stop everything, then exit.
    Stop,
    /// SIGHUP: re-import changed manifests.
    Reload,
}

/// The engine and everything the engine thread owns.
pub(crate) struct Daemon {
    pub(crate) root: Root,
    pub(crate) dirs: Vec<PathBuf>,
    pub(crate) engine: Engine,
    pub(crate) repository: Repository,
    /// Written at the end of the turn (kept and retried if the disk refuses).
    pub(crate) pending: Changes,
    /// Instances whose process list must be written.
    dirty: HashSet<Fmri>,
    pub(crate) logs: Arc<Logs>,
    pub(crate) contracts: Contracts,
    watcher: Watcher,
    reaper: ReaperHandle,
    /// Makes a batch of starts' cgroups and logs ahead (none if its thread could not start).
    preparer: Option<Preparer>,
    /// Method processes by pid.
    methods: HashMap<u32, RunningMethod>,
    /// The same, by instance (an instance has at most a few: held inline).
    methods_by_instance: HashMap<Fmri, SmallVec<[u32; 2]>>,
    run_pids: HashMap<RunId, u32>,
    /// A child instance's main process (its start method's, or an adopted one).
    main_pids: HashMap<Fmri, u32>,
    /// Adopted child instances' processes -> the run that stands for them.
    adopted_main: HashMap<u32, RunId>,
    /// Recovered at start and not adopted yet.
    recovered: HashSet<Fmri>,
    /// Manifest path -> hash of what was imported.
    pub(crate) known: BTreeMap<String, String>,
    /// Manifest path -> the services it defined.
    pub(crate) defined: BTreeMap<String, Vec<String>>,
    /// Manifest path -> why it could not be imported.
    pub(crate) broken: BTreeMap<String, Vec<String>>,
    /// Follow-up events, fed before the next message is read.
    internal: VecDeque<Event>,
    stopping: bool,
    repository_failing: bool,
    /// Events handled since free memory was last given back, and since when they are
    /// counted.
    events_since_trim: usize,
    burst_started: Option<Instant>,
    started_at: u64,
    /// `svcadm -s` clients waiting for their instances to settle.
    waiters: Vec<Waiter>,
}

/// A [`Request::Wait`] not answered yet.
struct Waiter {
    fmris: Vec<String>,
    goal: WaitGoal,
    reply: crossbeam_channel::Sender<Response>,
}

/// Milliseconds since the epoch.
pub(crate) fn now() -> Timestamp {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        });
    Timestamp(millis)
}

/// Runs svc.startd until it is told to stop (and everything has stopped). Returns the exit
/// status.
pub fn run(options: Options) -> Result<i32, StartError> {
    let root = options.root.clone();
    root.create()
        .map_err(|error| StartError::Other(format!("cannot create the root: {error}")))?;
    let _lock = Lock::take(&root).map_err(StartError::Locked)?;
    tune_malloc();
    // Orphans of the services stay below us, so they can be tracked and reaped.
    if let Err(error) = nix::sys::prctl::set_child_subreaper(true) {
        eprintln!(
            "svc.startd: cannot become a child subreaper ({error}); processes that leave their parents will not be tracked"
        );
    }
    raise_file_limit();
    crate::spawn::remember_signals();
    crate::reaper::block_sigchld()
        .map_err(|error| StartError::Other(format!("cannot block SIGCHLD: {error}")))?;
    // What the engine thread waits on; made before the reaper's own descriptor table.
    let inbox = Inbox::new()
        .map_err(|error| StartError::Other(format!("cannot set up the engine's inbox: {error}")))?;
    let signals = block_signals(&inbox)
        .map_err(|error| StartError::Other(format!("cannot set up signal handling: {error}")))?;

    let contracts = match options.contracts {
        Some(Mode::ProcessGroup) => Contracts::new(),
        wanted => match Cgroups::detect(root.dir()) {
            Ok(cgroups) => Contracts::with_cgroups(cgroups),
            Err(why) if wanted == Some(Mode::Cgroup) => {
                return Err(StartError::Other(format!("cannot use cgroups: {why}")));
            }
            Err(why) => {
                eprintln!("svc.startd: tracking processes by process group ({why})");
                Contracts::new()
            }
        },
    };
    let repository = Repository::open(&root.repository())
        .map_err(|error| StartError::Other(error.to_string()))?;
    let admin = repository
        .admin_states()
        .map_err(|error| StartError::Other(error.to_string()))?;
    let logs = Arc::new(
        Logs::new(root.logs(), options.rotation)
            .map_err(|error| StartError::Other(format!("{}: {error}", root.logs().display())))?,
    );
    if let Err(error) = logs.start_watcher() {
        eprintln!("svc.startd: log rotation will only happen at method runs: {error}");
    }

    let (exit_tx, exits) = crossbeam_channel::unbounded::<Exit>();
    let exit_tx = inbox::Sender::new(exit_tx, &inbox);
    let reaper = Reaper::new(exit_tx.clone(), inbox.clone())
        .map_err(|error| StartError::Other(format!("cannot start the reaper: {error}")))?;
    let watcher = Watcher::start(exit_tx)
        .map_err(|error| StartError::Other(format!("cannot start the watcher: {error}")))?;
    let (note_tx, notes) = crossbeam_channel::unbounded::<Notification>();
    crate::notify::start(&root.notify_socket(), inbox::Sender::new(note_tx, &inbox))
        .map_err(|error| StartError::Other(format!("cannot open the notify socket: {error}")))?;

    let mut dirs = vec![root.manifests()];
    dirs.extend(options.manifest_dirs.iter().cloned());
    let started_at = now().0;
    let daemon = Daemon {
        root: root.clone(),
        dirs,
        engine: Engine::with_admin_state(admin),
        repository,
        pending: Changes::default(),
        dirty: HashSet::new(),
        logs,
        contracts,
        watcher,
        reaper: reaper.handle(),
        preparer: match Preparer::start() {
            Ok(preparer) => Some(preparer),
            Err(error) => {
                eprintln!(
                    "svc.startd: cannot start the preparer thread ({error}); starts are not prepared ahead"
                );
                None
            }
        },
        methods: HashMap::new(),
        methods_by_instance: HashMap::new(),
        run_pids: HashMap::new(),
        main_pids: HashMap::new(),
        adopted_main: HashMap::new(),
        recovered: HashSet::new(),
        known: BTreeMap::new(),
        defined: BTreeMap::new(),
        broken: BTreeMap::new(),
        internal: VecDeque::new(),
        stopping: false,
        repository_failing: false,
        events_since_trim: 0,
        burst_started: None,
        started_at,
        waiters: Vec::new(),
    };
    // The engine forks every method from its own thread, so that this one, the reaper, has
    // only orphans as its own children (`reaper.rs`).
    let engine = std::thread::Builder::new()
        .name("engine".into())
        .stack_size(ENGINE_STACK)
        .spawn(move || {
            let _finish = FinishReaper(daemon.reaper.clone());
            daemon.serve(&inbox, &exits, &notes, &signals)
        })
        .map_err(|error| StartError::Other(format!("cannot start the engine thread: {error}")))?;
    reaper.run();
    match engine.join() {
        Ok(result) => result,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// The engine thread's stack (the main thread's usual 8 MiB; only what is used is resident).
const ENGINE_STACK: usize = 8 * 1024 * 1024;

/// Stops the reaper when the engine thread ends, however it ends.
struct FinishReaper(ReaperHandle);

impl Drop for FinishReaper {
    fn drop(&mut self) {
        self.0.finish();
    }
}

impl Daemon {
    /// The engine thread: recovery, the initial import, the control socket, then the loop
    /// until everything has stopped.
    fn serve(
        mut self,
        inbox: &Inbox,
        exits: &Receiver<Exit>,
        notes: &Receiver<Notification>,
        signals: &Receiver<Received>,
    ) -> Result<i32, StartError> {
        self.recover();
        self.initial_import();
        self.flush();
        self.logs.write_deferred();
        release_free_memory();

        let (call_tx, calls) = crossbeam_channel::unbounded::<Call>();
        crate::control::start(&self.root.socket(), inbox::Sender::new(call_tx, inbox)).map_err(
            |error| StartError::Other(format!("cannot open the control socket: {error}")),
        )?;
        eprintln!(
            "svc.startd: running on {} (pid {}), {} instances",
            self.root.dir().display(),
            std::process::id(),
            self.engine.statuses().len().saturating_sub(1)
        );
        let status = self.run_loop(inbox, exits, notes, &calls, signals);
        if let Some(preparer) = self.preparer.take() {
            preparer.finish();
        }
        self.contracts.release_all();
        let _ = std::fs::remove_file(self.root.socket());
        Ok(status)
    }

    fn run_loop(
        &mut self,
        inbox: &Inbox,
        exits: &Receiver<Exit>,
        notes: &Receiver<Notification>,
        calls: &Receiver<Call>,
        signals: &Receiver<Received>,
    ) -> i32 {
        let mut events = [EpollEvent::empty(); 64];
        let mut woken = Vec::with_capacity(events.len());
        loop {
            if self.stopping && self.engine.is_shut_down() {
                self.flush();
                self.logs.write_deferred();
                return self.shutdown_status();
            }
            // Messages left from the last turn (it takes one request at a time): look, do
            // not wait.
            let pending =
                !(exits.is_empty() && notes.is_empty() && calls.is_empty() && signals.is_empty());
            let timeout = if pending {
                Some(0)
            } else {
                self.engine
                    .next_deadline()
                    .map(|deadline| deadline.0.saturating_sub(now().0))
            };
            inbox.wait(&mut events, timeout, &mut woken);
            // A method's process ended: reaped here, and what follows (a restart) is done
            // before anything else.
            for &event in &woken {
                if let Woken::Exited { pid, pidfd } = event
                    && let Some(exit) = self.reaper.reap(pid, pidfd)
                {
                    self.on_exit(exit);
                }
            }
            // Then whatever else has arrived, before writing the repository once: every
            // exit and notification, every signal, one request.
            for _ in 0..4096 {
                if let Ok(exit) = exits.try_recv() {
                    self.on_exit(exit);
                } else if let Ok(note) = notes.try_recv() {
                    self.on_notify(note);
                } else {
                    break;
                }
            }
            while let Ok(signal) = signals.try_recv() {
                self.on_signal(signal);
            }
            if let Ok(call) = calls.try_recv() {
                self.on_call(call);
            }
            if self
                .engine
                .next_deadline()
                .is_some_and(|deadline| deadline.0 <= now().0)
            {
                self.feed(Event::DeadlineReached);
            }
            self.flush();
            self.logs.write_deferred();
            self.answer_waiters();
            // After a burst (services coming up, a mass restart), once nothing more is
            // waiting: what the burst freed goes back to the kernel. Events spread out (a
            // restart now and then) are no burst: the count starts again each second, so
            // the trim, which takes milliseconds with a large heap, never delays a restart.
            let burst_started = *self.burst_started.get_or_insert_with(Instant::now);
            if burst_started.elapsed() > BURST_WINDOW {
                self.events_since_trim = 0;
                self.burst_started = None;
            } else if self.events_since_trim >= TRIM_AFTER_EVENTS
                && exits.is_empty()
                && notes.is_empty()
                && calls.is_empty()
            {
                release_free_memory();
                self.events_since_trim = 0;
                self.burst_started = None;
            }
        }
    }

    /// Hands an event to the engine, carries out its actions, then the follow-ups.
    pub(crate) fn feed(&mut self, event: Event) {
        self.internal.push_back(event);
        while let Some(event) = self.internal.pop_front() {
            self.events_since_trim += 1;
            let imported = matches!(event, Event::Imported { .. });
            let actions = self.engine.handle(event, now());
            self.prepare_ahead(&actions, imported);
            for action in actions {
                self.execute(action);
            }
        }
    }

    /// Hands the files of the starts that follow the first (forked at once) to the preparer
    /// (`prepare.rs`): after an import, those of every enabled instance not running yet (a
    /// chain of dependencies starts one instance per event, each after the one it requires,
    /// so the actions of one event show only the first); otherwise those of a batch of
    /// starts. A single start is not handed over.
    fn prepare_ahead(&self, actions: &[Action], imported: bool) {
        let Some(preparer) = &self.preparer else {
            return;
        };
        let mut starts = actions.iter().filter_map(|action| match action {
            Action::RunMethod(run) => Some(run),
            _ => None,
        });
        let first = starts.next().map(|run| run.fmri.clone());
        let ahead = |fmri: &Fmri, duration: Duration| Ahead {
            log: self.logs.path(fmri),
            cgroup: (duration != Duration::Transient)
                .then(|| self.contracts.cgroup_dir(fmri))
                .flatten(),
        };
        let batch: Vec<Ahead> = if imported {
            self.engine
                .to_start()
                .into_iter()
                .filter(|(fmri, _)| Some(fmri) != first.as_ref())
                .map(|(fmri, duration)| ahead(&fmri, duration))
                .collect()
        } else {
            starts
                .map(|run| {
                    let duration = if run.method == MethodName::Start {
                        run.duration
                    } else {
                        Duration::Transient
                    };
                    ahead(&run.fmri, duration)
                })
                .collect()
        };
        preparer.ahead(batch);
    }

    fn execute(&mut self, action: Action) {
        match action {
            Action::RunMethod(run) => self.run_method(&run),
            Action::KillMethod { run, signal } => {
                if let Some(&pid) = self.run_pids.get(&run) {
                    if let Some(method) = self.methods.get(&pid) {
                        self.logs.marker(
                            &method.fmri,
                            SystemTime::now(),
                            &format!(
                                "Method or service exit timed out.  Killing method \"{}\" (pid {pid}).",
                                method.method.as_str()
                            ),
                        );
                    }
                    signal_group(pid, signal);
                }
            }
            Action::SignalContract { fmri, signal } => {
                self.contracts.signal(&fmri, signal);
                self.check_contract(&fmri);
            }
            Action::AbandonContract { fmri } => {
                self.contracts.forget(&fmri);
                self.main_pids.remove(&fmri);
                self.dirty.insert(fmri);
            }
            Action::SetState(transition) => {
                if transition.state == State::Maintenance && transition.from != State::Maintenance {
                    eprintln!(
                        "svc.startd: {} is now in maintenance ({}); see {}",
                        transition.fmri,
                        transition.reason.description(),
                        self.logs.path(&transition.fmri).display()
                    );
                }
                // Its processes are written with its state.
                self.dirty.insert(transition.fmri.clone());
                self.pending.transitions.push(transition);
            }
            Action::PersistAdmin { fmri, admin } => self.pending.admin.push((fmri, admin)),
            Action::Log { fmri, message } => {
                self.logs.marker_later(&fmri, SystemTime::now(), &message);
            }
            Action::ProbeFiles { paths } => {
                let files = paths
                    .into_iter()
                    .map(|path| {
                        let exists = std::path::Path::new(&path).exists();
                        (path, exists)
                    })
                    .collect();
                self.internal.push_back(Event::FilesProbed { files });
            }
            Action::Forget { fmri } => {
                self.contracts.forget(&fmri);
                self.main_pids.remove(&fmri);
                self.dirty.remove(&fmri);
                // The repository applies forgets first: drop what this turn recorded.
                self.pending.transitions.retain(|t| t.fmri != fmri);
                self.pending.admin.retain(|(f, _)| *f != fmri);
                self.pending.processes.retain(|(f, _)| *f != fmri);
                self.pending.forget.push(fmri);
            }
            Action::Adopt { fmri, main_run } => {
                self.recovered.remove(&fmri);
                if let Some(run) = main_run {
                    match self.main_pids.get(&fmri) {
                        Some(&pid) if self.contracts.owner(pid) == Some(&fmri) => {
                            self.adopted_main.insert(pid, run);
                        }
                        _ => self.internal.push_back(Event::MethodExited {
                            run,
                            status: MethodStatus::Exited(0),
                        }),
                    }
                }
                self.dirty.insert(fmri);
            }
        }
    }

    fn run_method(&mut self, run: &smf_core::engine::MethodRun) {
        let fmri = &run.fmri;
        let executing = format!(
            "Executing {} method (\"{}\").",
            run.method.as_str(),
            run.written
        );
        let log = match self
            .logs
            .open_with_marker(fmri, SystemTime::now(), &executing)
        {
            Ok(file) => file,
            Err(error) => {
                self.internal.push_back(Event::MethodExited {
                    run: run.run,
                    status: MethodStatus::NotStarted {
                        message: format!("cannot open {}: {error}", self.logs.path(fmri).display()),
                        fatal: false,
                    },
                });
                return;
            }
        };
        let notify_socket = self.root.notify_socket();
        let cgroup = if run.method == MethodName::Start && run.duration != Duration::Transient {
            self.contracts.cgroup_for(fmri)
        } else {
            None
        };
        let request = SpawnRequest {
            run,
            log,
            notify_socket: run.notify.then_some(notify_socket.as_path()),
            cgroup_procs: cgroup.as_deref(),
        };
        match spawn::spawn(request) {
            Ok(pid) => {
                self.reaper.track(pid);
                self.methods_by_instance
                    .entry(fmri.clone())
                    .or_default()
                    .push(pid);
                self.methods.insert(
                    pid,
                    RunningMethod {
                        run: run.run,
                        fmri: fmri.clone(),
                        method: run.method,
                    },
                );
                self.run_pids.insert(run.run, pid);
                if run.method == MethodName::Start && run.duration != Duration::Transient {
                    self.contracts.spawned(fmri, pid);
                    if run.duration == Duration::Child {
                        self.main_pids.insert(fmri.clone(), pid);
                    }
                    self.dirty.insert(fmri.clone());
                }
            }
            Err(error) => {
                self.logs.marker(
                    fmri,
                    SystemTime::now(),
                    &format!(
                        "Method \"{}\" could not be started: {}.",
                        run.method.as_str(),
                        error.message
                    ),
                );
                self.internal.push_back(Event::MethodExited {
                    run: run.run,
                    status: MethodStatus::NotStarted {
                        message: error.message,
                        fatal: error.fatal,
                    },
                });
            }
        }
    }

    /// A process ended (reaped, or seen through its pidfd).
    fn on_exit(&mut self, exit: Exit) {
        let pid = exit.pid;
        let mut touched = Vec::new();
        if let Some(method) = self.methods.remove(&pid) {
            if let Some(pids) = self.methods_by_instance.get_mut(&method.fmri) {
                pids.retain(|other| *other != pid);
                if pids.is_empty() {
                    self.methods_by_instance.remove(&method.fmri);
                }
            }
            self.run_pids.remove(&method.run);
            let status = exit.status.clone().unwrap_or(MethodStatus::Exited(0));
            self.logs.marker_later(
                &method.fmri,
                SystemTime::now(),
                &exit_line(method.method, &status),
            );
            if self.contracts.exited(pid).is_some() {
                touched.push(method.fmri.clone());
            }
            if self.main_pids.get(&method.fmri) == Some(&pid) {
                self.main_pids.remove(&method.fmri);
            }
            self.dirty.insert(method.fmri.clone());
            self.feed(Event::MethodExited {
                run: method.run,
                status,
            });
            touched.push(method.fmri);
        } else if let Some(run) = self.adopted_main.remove(&pid) {
            if let Some(fmri) = self.contracts.exited(pid) {
                self.main_pids.remove(&fmri);
                self.dirty.insert(fmri.clone());
                touched.push(fmri);
            }
            let status = exit.status.clone().unwrap_or(MethodStatus::Exited(0));
            self.feed(Event::MethodExited { run, status });
        } else if let Some(fmri) = self.contracts.exited(pid) {
            self.dirty.insert(fmri.clone());
            if let Some(MethodStatus::Signaled { core_dumped, .. }) = &exit.status {
                // A member killed by a signal or dumping core is a fault; the engine ignores
                // it while svc.startd itself is stopping the instance.
                self.feed(Event::ProcessFaulted {
                    fmri: fmri.clone(),
                    core_dumped: *core_dumped,
                });
            }
            touched.push(fmri);
        }
        touched.dedup();
        for fmri in touched {
            self.check_contract(&fmri);
        }
    }

    /// Reports an empty contract to the engine (it ignores the report when it expects
    /// nothing).
    fn check_contract(&mut self, fmri: &Fmri) {
        let method_running = self.methods_of(fmri).iter().any(|pid| {
            self.methods
                .get(pid)
                .is_some_and(|method| method.method == MethodName::Start)
        });
        if method_running {
            return;
        }
        // Without cgroups, what the last members left behind (re-parented to svc.startd) is
        // looked for now, when it matters: reading svc.startd's children costs the kernel a
        // walk of all of them.
        if self.contracts.mode() == Mode::ProcessGroup && self.contracts.members(fmri).is_empty() {
            self.attribute_orphans();
        }
        let (empty, strays) = self.contracts.is_empty(fmri);
        for (pid, fd) in strays {
            self.watcher.watch(pid, fd);
            self.dirty.insert(fmri.clone());
        }
        if empty {
            // The instance's cgroup stays for its next start (made again costs a mkdir);
            // it goes when the instance is forgotten and when svc.startd exits.
            self.feed(Event::ContractEmptied { fmri: fmri.clone() });
        }
    }

    /// Attributes svc.startd's children that are not members yet to their instances.
    pub(crate) fn attribute_orphans(&mut self) {
        let methods = &self.methods;
        for fmri in self
            .contracts
            .attribute_orphans(|pid| methods.contains_key(&pid))
        {
            self.dirty.insert(fmri);
        }
    }

    fn on_notify(&mut self, note: Notification) {
        let fmri = self
            .contracts
            .owner(note.pid)
            .cloned()
            .or_else(|| self.method_fmri(note.pid))
            .or_else(|| {
                note.lineage
                    .ancestors
                    .iter()
                    .find_map(|&(pid, _)| self.method_fmri(pid))
            })
            .or_else(|| self.contracts.origin_of(&note.lineage));
        let Some(fmri) = fmri else {
            eprintln!(
                "svc.startd: notification from pid {} which belongs to no instance, ignored",
                note.pid
            );
            return;
        };
        self.feed(Event::Notified {
            fmri,
            ready: note.ready,
            status: note.status,
        });
    }

    fn on_signal(&mut self, signal: Received) {
        match signal {
            Received::Stop => {
                if !self.stopping {
                    eprintln!("svc.startd: stopping every instance, dependents first");
                    self.stopping = true;
                    self.feed(Event::Shutdown);
                }
            }
            Received::Reload => {
                let files = self.rescan();
                release_free_memory();
                let failed = files.iter().filter(|file| !file.loaded).count();
                eprintln!(
                    "svc.startd: re-read manifests: {} changed, {failed} could not be imported",
                    files.len()
                );
            }
        }
    }

    /// 0 when every instance stopped; 1 when one had to be killed or could not be stopped
    /// (it is in maintenance).
    fn shutdown_status(&self) -> i32 {
        let unclean =
            self.engine.statuses().iter().any(|status| {
                status.state == State::Maintenance && status.since.0 >= self.started_at
            });
        i32::from(unclean)
    }

    // ----- recovery and imports ---------------------------------------------------------

    /// Finds what a previous svc.startd left running (the repository's pids, checked
    /// against /proc) and tells the engine.
    fn recover(&mut self) {
        let stored = match self.repository.instances() {
            Ok(stored) => stored,
            Err(error) => {
                eprintln!("svc.startd: {error}; nothing is re-adopted");
                return;
            }
        };
        let mut instances = Vec::new();
        for instance in stored {
            if !instance.state.is_running() {
                continue;
            }
            let fmri = instance.fmri;
            if instance.processes.is_empty() {
                // Transient, or a start method that left nothing (exit 94, `:true`).
                instances.push(fmri);
                continue;
            }
            let recorded: Vec<(u32, u64)> = instance
                .processes
                .iter()
                .map(|process| (process.pid, process.start_ticks))
                .collect();
            let adopted = self.contracts.adopt(&fmri, &recorded);
            if adopted.alive.is_empty() {
                self.contracts.forget(&fmri);
                continue;
            }
            for (pid, fd) in adopted.watch {
                self.watcher.watch(pid, fd);
            }
            if let Some(main) = instance
                .processes
                .iter()
                .find(|process| process.main && adopted.alive.contains(&process.pid))
            {
                self.main_pids.insert(fmri.clone(), main.pid);
            }
            instances.push(fmri);
        }
        if !instances.is_empty() {
            eprintln!(
                "svc.startd: {} instances were left running by the previous svc.startd",
                instances.len()
            );
        }
        self.recovered = instances.iter().cloned().collect();
        self.feed(Event::Recovered { instances });
    }

    /// The boot's import. The files are read and parsed on a `loader` thread, so that the
    /// parse's memory comes from that thread's malloc arena, not the engine thread's: parsing
    /// leaves the names and settings kept for good scattered among the freed XML trees and
    /// diagnostics. The engine thread copies what it keeps (`import_files`), writes the
    /// manifests to the repository (their path, hash and text taken, not copied) and hands
    /// the files and what was written back, and the loader frees them: freed here, small
    /// blocks would go to this thread's cache of free blocks, be handed out again for
    /// long-lived data, and keep the loader's pages resident (1.3 MiB more at 1000 manifest
    /// files). The loader then gives its arena's free top back (`give_back_arena`), and the
    /// trim after the import the rest (BENCHMARKS.md, memory). Parses in place if no thread
    /// can be started.
    fn initial_import(&mut self) {
        let dirs = self.dirs.clone();
        std::thread::scope(|scope| {
            let (scanned, scan) = crossbeam_channel::bounded::<manifests::Scan>(1);
            let (back, returned) =
                crossbeam_channel::bounded::<(Vec<Loaded>, Vec<StoredManifest>)>(1);
            let loader = std::thread::Builder::new()
                .name("loader".into())
                .spawn_scoped(scope, move || {
                    let _ = scanned.send(manifests::scan(&dirs, &BTreeMap::new()));
                    drop(returned.recv());
                    give_back_arena();
                });
            // Without a loader (or if it died: the scope re-raises its panic at its end),
            // in place.
            let scan = match loader {
                Ok(_) => scan.recv().ok(),
                Err(_) => None,
            }
            .unwrap_or_else(|| manifests::scan(&self.dirs, &BTreeMap::new()));
            for error in &scan.errors {
                eprintln!("svc.startd: {error}");
            }
            // With the manifests svccfg imported, from the repository's text (config.rs).
            let mut files = scan.changed;
            files.extend(self.stored_imports(&files));
            let (_, files) = self.import_files(files, false);
            // The manifests are written now, so that the loader frees what it read of them.
            let written = self.flush_returning_manifests();
            let _ = back.send((files, written));
        });
        // Recovered instances the import did not adopt (their dependencies must start
        // first, or they are gone or disabled now): their old processes are stopped.
        let leftovers: Vec<Fmri> = self.recovered.drain().collect();
        for fmri in leftovers {
            let running = self
                .engine
                .status(&fmri)
                .is_some_and(|status| status.state.is_running());
            if running {
                continue;
            }
            eprintln!(
                "svc.startd: {fmri}: stopping the processes left by the previous svc.startd (it must start afresh)"
            );
            self.contracts.signal(&fmri, Signal::TERM);
            self.contracts.forget(&fmri);
            self.main_pids.remove(&fmri);
            self.dirty.insert(fmri);
        }
    }

    /// Imports manifests, then profiles, each kind in one event (one graph build).
    pub(crate) fn import_loaded(&mut self, loaded: Vec<Loaded>) -> Vec<ImportOutcome> {
        self.import_files(loaded, true).0
    }

    /// [`Daemon::import_loaded`], which hands the files back: what is kept of them is copied,
    /// what the repository's write needs (path, hash, text) is taken. The boot reports
    /// nothing (`report` false): copies made for a report, or for that write, would be freed
    /// between the blocks kept for each file and leave holes (BENCHMARKS.md, memory).
    fn import_files(
        &mut self,
        loaded: Vec<Loaded>,
        report: bool,
    ) -> (Vec<ImportOutcome>, Vec<Loaded>) {
        // Without what svccfg deleted, with what it set (config.rs).
        let mut loaded = self.configure(loaded);
        let mut outcomes = Vec::new();
        let mut manifests = Vec::new();
        let mut profiles = Vec::new();
        for file in &mut loaded {
            let services = file.services();
            let loaded_ok = file.bundle.is_some();
            if report {
                outcomes.push(ImportOutcome {
                    path: file.path.clone(),
                    loaded: loaded_ok,
                    services: services.clone(),
                    diagnostics: file.diagnostics.clone(),
                });
            }
            if loaded_ok {
                self.broken.remove(&file.path);
                self.known.insert(file.path.clone(), file.hash.clone());
                self.defined.insert(file.path.clone(), services);
                self.pending.manifests.push(StoredManifest {
                    path: std::mem::take(&mut file.path),
                    hash: std::mem::take(&mut file.hash),
                    text: std::mem::take(&mut file.text),
                });
            } else {
                let errors: Vec<String> = file
                    .diagnostics
                    .iter()
                    .filter(|line| line.contains(": error: "))
                    .cloned()
                    .collect();
                for line in &errors {
                    eprintln!("svc.startd: {line}");
                }
                self.broken.insert(file.path.clone(), errors);
            }
            if let Some(bundle) = &file.bundle {
                let services = bundle.services.iter().cloned();
                match bundle.kind {
                    BundleKind::Profile => profiles.extend(services),
                    _ => manifests.extend(services),
                }
            }
        }
        if !manifests.is_empty() {
            self.feed(Event::Imported {
                kind: BundleKind::Manifest,
                services: manifests,
            });
        }
        if !profiles.is_empty() {
            self.feed(Event::Imported {
                kind: BundleKind::Profile,
                services: profiles,
            });
        }
        (outcomes, loaded)
    }

    /// Re-reads the manifest directories: changed files are imported, services of files
    /// that are gone (and defined by no other file) are deleted.
    pub(crate) fn rescan(&mut self) -> Vec<ImportOutcome> {
        let mut known = self.known.clone();
        // Broken files are retried only when they change.
        for path in self.broken.keys() {
            known.entry(path.clone()).or_default();
        }
        let mut scan = manifests::scan(&self.dirs, &known);
        for error in &scan.errors {
            eprintln!("svc.startd: {error}");
        }
        // Manifests svccfg imported stay when their files go (config.rs).
        self.keep_imported(&mut scan.gone);
        let mut removed = Vec::new();
        for path in &scan.gone {
            self.known.remove(path);
            self.broken.remove(path);
            self.pending.removed_manifests.push(path.clone());
            if let Some(services) = self.defined.remove(path) {
                removed.extend(services);
            }
        }
        let outcomes = self.import_loaded(scan.changed);
        let still_defined: HashSet<&String> = self.defined.values().flatten().collect();
        removed.retain(|service| !still_defined.contains(service));
        if !removed.is_empty() {
            self.feed(Event::Removed { services: removed });
        }
        outcomes
    }

    // ----- the repository ---------------------------------------------------------------

    /// Writes what this turn changed, in one transaction. On failure (a full or read-only
    /// disk) the changes are kept for the next turn and the services keep running.
    pub(crate) fn flush(&mut self) {
        drop(self.flush_returning_manifests());
    }

    /// [`Daemon::flush`], which hands back the manifests it wrote (the boot's go back to the
    /// loader thread that read them, to be freed there: `initial_import`).
    fn flush_returning_manifests(&mut self) -> Vec<StoredManifest> {
        // Taken, not drained: after a bring-up the set would keep room for every instance.
        for fmri in std::mem::take(&mut self.dirty) {
            let main = self.main_pids.get(&fmri).copied();
            let processes = self
                .contracts
                .members(&fmri)
                .into_iter()
                .map(|(pid, start_ticks)| StoredProcess {
                    pid,
                    start_ticks,
                    main: main == Some(pid),
                })
                .collect();
            self.pending.processes.push((fmri, processes));
        }
        if self.pending.is_empty() {
            return Vec::new();
        }
        match self.repository.apply(&self.pending) {
            Ok(()) => {
                if self.repository_failing {
                    eprintln!(
                        "svc.startd: the repository is writable again; pending changes saved"
                    );
                }
                self.repository_failing = false;
                std::mem::take(&mut self.pending).manifests
            }
            Err(error) => {
                if !self.repository_failing {
                    eprintln!(
                        "svc.startd: cannot write the repository ({error}); services keep running and the changes are kept in memory until it can be written"
                    );
                }
                self.repository_failing = true;
                Vec::new()
            }
        }
    }

    /// A method's process, if it runs.
    pub(crate) fn methods_of(&self, fmri: &Fmri) -> &[u32] {
        self.methods_by_instance
            .get(fmri)
            .map_or(&[], SmallVec::as_slice)
    }

    /// The instance whose method runs as `pid`.
    fn method_fmri(&self, pid: u32) -> Option<Fmri> {
        self.methods.get(&pid).map(|method| method.fmri.clone())
    }

    /// Answers a control request (see `requests.rs`).
    fn on_call(&mut self, call: Call) {
        if let Request::Wait { fmris, goal } = call.request {
            // Answered now if every instance is already settled, else by `answer_waiters`
            // after a later turn.
            match self.wait_results(&fmris, goal) {
                Some(results) => {
                    let _ = call.reply.send(Response::Waited { results });
                }
                None => self.waiters.push(Waiter {
                    fmris,
                    goal,
                    reply: call.reply,
                }),
            }
            return;
        }
        let response: Response = self.answer(call.request);
        self.logs.write_deferred();
        let _ = call.reply.send(response);
    }

    /// Answers the `svcadm -s` waits whose instances have all settled (after each turn;
    /// nothing to do, and no cost, when nobody waits).
    fn answer_waiters(&mut self) {
        if self.waiters.is_empty() {
            return;
        }
        let waiters = std::mem::take(&mut self.waiters);
        for waiter in waiters {
            match self.wait_results(&waiter.fmris, waiter.goal) {
                Some(results) => {
                    let _ = waiter.reply.send(Response::Waited { results });
                }
                None => self.waiters.push(waiter),
            }
        }
    }
}

/// `Method "start" exited with status 0.` / `Method "stop" failed due to signal KILL.`
fn exit_line(method: MethodName, status: &MethodStatus) -> String {
    match status {
        MethodStatus::Exited(code) => {
            format!("Method \"{}\" exited with status {code}.", method.as_str())
        }
        MethodStatus::Signaled { signal, .. } => format!(
            "Method \"{}\" failed due to signal {}.",
            method.as_str(),
            signal.name().trim_start_matches("SIG")
        ),
        MethodStatus::NotStarted { message, .. } => {
            format!(
                "Method \"{}\" could not be started: {message}.",
                method.as_str()
            )
        }
    }
}

/// Signals a method's process group (and the process itself, should it have left it).
fn signal_group(pid: u32, signal: Signal) {
    let Ok(signal) = nix::sys::signal::Signal::try_from(signal.0) else {
        return;
    };
    let pid = nix::unistd::Pid::from_raw(pid as i32);
    let _ = nix::sys::signal::killpg(pid, signal);
    let _ = nix::sys::signal::kill(pid, signal);
}

/// Lets glibc give back the free top of the calling thread's malloc arena: it does so only
/// when a freed block merges into a top of 64 KiB or more, and `malloc_trim` leaves the tops
/// of threads' arenas alone. A block just under the mmap threshold is taken and freed.
fn give_back_arena() {
    drop(std::hint::black_box(vec![0u8; MMAP_THRESHOLD - 4096]));
}

/// Events within [`BURST_WINDOW`] after which, once idle, free memory is given back
/// ([`release_free_memory`]): a burst, not the few events of one restart.
const TRIM_AFTER_EVENTS: usize = 256;
const BURST_WINDOW: std::time::Duration = std::time::Duration::from_secs(1);

/// Large blocks (a manifest's text, its parsed tree, the tables of every instance) are
/// mapped apart and returned to the kernel when freed. glibc raises this threshold to the
/// size of any mapped block freed, after which such blocks come from the heap and leave it
/// fragmented once freed; a fixed threshold keeps them apart.
const MMAP_THRESHOLD: usize = 64 * 1024;

/// Fixes malloc's mmap threshold at [`MMAP_THRESHOLD`].
#[allow(unsafe_code)]
fn tune_malloc() {
    // SAFETY: mallopt only sets one of malloc's parameters, under malloc's own lock.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD as libc::c_int);
    }
}

/// Gives the pages malloc holds free back to the kernel: parsing and importing every
/// manifest leaves megabytes of freed memory (XML trees, diagnostics) that svc.startd, which
/// then runs for months, would otherwise keep resident.
#[allow(unsafe_code)]
fn release_free_memory() {
    // SAFETY: malloc_trim only walks malloc's own free lists; any thread may call it.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Raises the soft limit on open files to the hard one: every adopted process holds a pidfd
/// (10,000 services would not fit in the usual 1,024). Services get the limit their
/// manifest sets (`process/limit_nofile`) or this one.
fn raise_file_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    crate::spawn::remember_file_limit();
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE)
        && soft < hard
        && let Err(error) = setrlimit(Resource::RLIMIT_NOFILE, hard, hard)
    {
        eprintln!("svc.startd: cannot raise the open-file limit from {soft} to {hard}: {error}");
    }
}

/// Blocks SIGTERM, SIGINT and SIGHUP in every thread (the ones started after this inherit
/// the mask) and starts a thread that takes them with `sigwait`.
fn block_signals(inbox: &Inbox) -> std::io::Result<Receiver<Received>> {
    use nix::sys::signal::{SigSet, SigmaskHow, Signal as S, pthread_sigmask};
    let mut set = SigSet::empty();
    set.add(S::SIGTERM);
    set.add(S::SIGINT);
    set.add(S::SIGHUP);
    pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), None).map_err(std::io::Error::from)?;
    let (tx, rx) = crossbeam_channel::unbounded();
    let tx = inbox::Sender::new(tx, inbox);
    std::thread::Builder::new()
        .name("signals".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            loop {
                let received = match set.wait() {
                    Ok(S::SIGHUP) => Received::Reload,
                    Ok(_) => Received::Stop,
                    Err(_) => continue,
                };
                if tx.send(received).is_err() {
                    return;
                }
            }
        })?;
    Ok(rx)
}
