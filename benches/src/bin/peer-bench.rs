//! `peer-bench`: smf against runit, daemontools, s6 and supervisord, on the same machine in
//! the same run (DESIGN.md §6, issue 6).
//!
//! ```text
//! cargo build --release -p smf-restarter -p smf-benches
//! cargo run --release -p smf-benches --bin peer-bench -- \
//!     [--sizes 100,1000] [--kills 100] [--idle-seconds 30] [--chain 100] \
//!     [--only smf,runit,daemontools,s6,supervisord] [--timeout-seconds 120] [--no-install] \
//!     [--write BENCHMARKS.md]
//! ```
//!
//! Every driver runs the same N services, each `/bin/sleep 100000`:
//!
//! - **smf**: `target/release/svc-startd` (a private copy) on a temporary root, given one
//!   manifest of N services `bench/sNNNNN` (a default instance enabled,
//!   `startd/duration=child`, start `/bin/sleep 100000`, stop `:kill`), as `startd-bench`
//!   does.
//! - **runit**: `runsvdir DIR`, **daemontools**: `svscan DIR`, **s6**: `s6-svscan -c 2000 DIR`
//!   (more when N needs it), each with `DIR/sNNNNN/run` = `#!/bin/sh` `exec /bin/sleep 100000`.
//! - **supervisord**: `supervisord -n -c FILE`, FILE holding N `[program:sNNNNN]` with
//!   `command=/bin/sleep 100000`, `autorestart=true`, `startsecs=0` (its log, pid file and
//!   child logs in the temporary directory, `minfds` raised so that N programs fit).
//!
//! The peers come from Debian's packages: a missing one is installed with
//! `apt-get install -y --no-install-recommends PACKAGE`; when that fails the driver's rows
//! say so and the others are measured.
//!
//! For each size N and each driver, in this order: the fork+exec floor (the harness's own N
//! `sleep`s, one sample before every driver; the report uses the median of a size's
//! samples), **bring-up** (from the supervisor's spawn until N `sleep`s descending from it
//! run), **memory** (RSS and PSS summed over the supervisor processes, 1 s later),
//! **restart latency** (`--kills` distinct services, each up more than 3 s, SIGKILL of its
//! `sleep` until a new `sleep` descending from the supervisor runs), and at one size (1000,
//! else the last) the **idle cost** (CPU ticks and context switches of every thread of the
//! supervisor processes over `--idle-seconds`). For smf only, after those, svc.startd is
//! started again on the same root (its logs and repository are there from the first run, as
//! at a boot) and that **bring-up on the same root again** is timed the same way. Then, for
//! smf only, a **dependency chain** of `--chain` services, each `require_all` on the
//! previous, against the floor of that size (and again on the same root).
//!
//! Before the first floor of each size, a **file-creation calibration**: min(N, 1000) empty
//! files created the way svc.startd creates its logs, in a new directory next to the
//! drivers' directories, timed per file (a fresh root makes svc.startd create one log file
//! per service, and on ext4 a creation's cost varies with recent deletions). Its
//! directories are deleted at the end of the run.
//!
//! Processes are found the way `startd-bench` finds them: the pids handed out since the last
//! look (`/proc/sys/kernel/ns_last_pid`), then `/proc/PID/stat` (parent and command), so that
//! a look costs the same at any N; a process belongs to a driver when its parent does
//! (a full /proc walk every second is the safety net).
//!
//! Clean-up: the harness is a child subreaper, so whatever a driver leaves behind becomes
//! the harness's child. After each driver (also on every error path: [`Running`] is a drop
//! guard) it kills the supervisor's process group and every supervisor pid it recorded
//! (svc.startd gets SIGTERM first and stops its services itself), then every process left to
//! it, reaps them, and refuses to go on while any `sleep` of that driver survives. Nothing is
//! ever killed by name. SIGINT, SIGTERM and SIGHUP stop the run through the same clean-up.
//!
//! It prints a markdown section; `--write FILE` also replaces the part of FILE between
//! `<!-- peer-bench:begin -->` and `<!-- peer-bench:end -->` (appended when absent).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{SigSet, Signal, kill, killpg};
use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::Pid;

use smf_benches::harness::{
    BRINGUP_POLL, FileCreation, clock_ticks_per_second, is_sleep, last_pid, measure_file_creation,
    measure_floor, mib, percentile, proc_values, remove_startd_cgroups, startd_cgroup_of, today,
    verdict, write_section,
};

type Result<T> = std::result::Result<T, String>;

const BEGIN: &str = "<!-- peer-bench:begin -->";
const END: &str = "<!-- peer-bench:end -->";
const HEADING: &str = "## Against peers: runit, daemontools, s6, supervisord";
/// Bring-up within this factor of the floor (DESIGN.md §6, the issue).
const TARGET_BRINGUP_RATIO: f64 = 1.15;
/// A service must have run this long before it is killed (start-rate limits).
const MIN_AGE: Duration = Duration::from_secs(3);
/// Pause between two kills, so that one restart's tail does not overlap the next.
const BETWEEN_KILLS: Duration = Duration::from_millis(50);
/// Restart polling: fast for the first 10 ms, then slower (s6 and supervisord take ~1 s).
const RESTART_POLL_FAST: Duration = Duration::from_micros(50);
const RESTART_POLL_SLOW: Duration = Duration::from_micros(250);
const RESTART_TIMEOUT: Duration = Duration::from_secs(30);
/// The full /proc walk behind the cheap look, during bring-up and while waiting for a
/// restart (rarely there: s6 and supervisord restart after ~1-2 s, and the walk costs ~10 ms
/// of CPU at 1000 services).
const SAFETY_LOOK: Duration = Duration::from_secs(1);
const RESTART_SAFETY_LOOK: Duration = Duration::from_secs(5);
/// How long the clean-up of one driver may take.
const CLEANUP_TIMEOUT: Duration = Duration::from_secs(20);
/// How long svc.startd may take to stop its services after SIGTERM.
const SMF_STOP_TIMEOUT: Duration = Duration::from_secs(60);
const SLEEP: &str = "/bin/sleep";
const SLEEP_ARG: &str = "100000";

/// dinit's figures recorded in shared/peer-benchmarks.md (davmac314/dinit d7d843b, built from
/// source; not packaged, so not measured here): (N, bring-up × its floor, restart median ms,
/// restart p99 ms, PSS MiB).
const DINIT: [(usize, f64, f64, f64, f64); 2] =
    [(100, 1.06, 4.19, 6.15, 2.3), (1000, 1.27, 21.1, 23.1, 3.9)];
/// dinit's chain of 30 (it refuses chains deeper than 32): bring-up × its floor.
const DINIT_CHAIN_30: f64 = 1.28;

// ---------------------------------------------------------------------------------------
// Arguments

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Kind {
    Smf,
    Runit,
    Daemontools,
    S6,
    Supervisord,
}

impl Kind {
    const ALL: [Kind; 5] = [
        Kind::Smf,
        Kind::Runit,
        Kind::Daemontools,
        Kind::S6,
        Kind::Supervisord,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::Smf => "smf",
            Kind::Runit => "runit",
            Kind::Daemontools => "daemontools",
            Kind::S6 => "s6",
            Kind::Supervisord => "supervisord",
        }
    }

    fn parse(text: &str) -> Option<Kind> {
        match text.trim() {
            "smf" | "svc.startd" | "svc-startd" => Some(Kind::Smf),
            "runit" => Some(Kind::Runit),
            "daemontools" => Some(Kind::Daemontools),
            "s6" => Some(Kind::S6),
            "supervisord" | "supervisor" => Some(Kind::Supervisord),
            _ => None,
        }
    }

    /// The Debian package (None: smf, built in this workspace).
    fn package(self) -> Option<&'static str> {
        match self {
            Kind::Smf => None,
            Kind::Runit => Some("runit"),
            Kind::Daemontools => Some("daemontools"),
            Kind::S6 => Some("s6"),
            Kind::Supervisord => Some("supervisor"),
        }
    }

    /// The programs the driver needs (the first is started).
    fn binaries(self) -> &'static [&'static str] {
        match self {
            Kind::Smf => &[],
            Kind::Runit => &["runsvdir", "runsv"],
            Kind::Daemontools => &["svscan", "supervise"],
            Kind::S6 => &["s6-svscan", "s6-supervise"],
            Kind::Supervisord => &["supervisord"],
        }
    }

    /// The command name of the per-service supervisors (children of the root).
    fn per_service(self) -> &'static [&'static str] {
        match self {
            Kind::Runit => &["runsv"],
            Kind::Daemontools => &["supervise"],
            Kind::S6 => &["s6-supervise"],
            Kind::Smf | Kind::Supervisord => &[],
        }
    }

    /// Which processes count as the supervisor.
    fn supervisor_processes(self) -> &'static str {
        match self {
            Kind::Smf => "svc.startd (all its threads)",
            Kind::Runit => "runsvdir + every runsv",
            Kind::Daemontools => "svscan + every supervise",
            Kind::S6 => "s6-svscan + every s6-supervise",
            Kind::Supervisord => "supervisord (one Python process)",
        }
    }
}

#[derive(Debug)]
struct Args {
    sizes: Vec<usize>,
    kills: usize,
    idle_seconds: u64,
    chain: usize,
    only: Vec<Kind>,
    timeout: Duration,
    install: bool,
    write: Option<PathBuf>,
}

const USAGE: &str = "usage: peer-bench [--sizes 100,1000] [--kills 100] [--idle-seconds 30] [--chain 100] [--only smf,runit,daemontools,s6,supervisord] [--timeout-seconds 120] [--no-install] [--write FILE]";

fn parse_args() -> Result<Args> {
    let mut args = Args {
        sizes: vec![100, 1000],
        kills: 100,
        idle_seconds: 30,
        chain: 100,
        only: Kind::ALL.to_vec(),
        timeout: Duration::from_secs(120),
        install: true,
        write: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_string(), Some(value.to_string()))
            }
            _ => (arg.clone(), None),
        };
        match flag.as_str() {
            "--help" | "-h" => return Err(USAGE.into()),
            "--no-install" => {
                args.install = false;
                continue;
            }
            _ => {}
        }
        let value = match inline {
            Some(value) => value,
            None => it
                .next()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?,
        };
        let number = |text: &str| -> Result<u64> {
            text.trim()
                .parse::<u64>()
                .map_err(|_| format!("{flag}: not a number: {text:?}\n{USAGE}"))
        };
        match flag.as_str() {
            "--sizes" => {
                args.sizes = value
                    .split(',')
                    .map(|s| number(s).map(|n| n as usize))
                    .collect::<Result<_>>()?;
                if args.sizes.iter().any(|&n| n == 0 || n > 99_999) {
                    return Err(format!("--sizes: each size must be 1..=99999\n{USAGE}"));
                }
            }
            "--kills" => args.kills = number(&value)? as usize,
            "--idle-seconds" => args.idle_seconds = number(&value)?,
            "--chain" => {
                args.chain = number(&value)? as usize;
                if args.chain > 9_999 {
                    return Err(format!("--chain: at most 9999\n{USAGE}"));
                }
            }
            "--timeout-seconds" => args.timeout = Duration::from_secs(number(&value)?.max(1)),
            "--only" => {
                let mut only = Vec::new();
                for name in value.split(',').filter(|s| !s.trim().is_empty()) {
                    let kind = Kind::parse(name).ok_or_else(|| {
                        format!("--only: unknown driver {name:?} (smf, runit, daemontools, s6, supervisord)\n{USAGE}")
                    })?;
                    if !only.contains(&kind) {
                        only.push(kind);
                    }
                }
                only.sort();
                args.only = only;
            }
            "--write" => args.write = Some(PathBuf::from(value)),
            _ => return Err(format!("unknown argument {arg:?}\n{USAGE}")),
        }
    }
    if args.only.is_empty() {
        return Err(format!("--only: no driver\n{USAGE}"));
    }
    Ok(args)
}

// ---------------------------------------------------------------------------------------
// Interruptions: SIGINT, SIGTERM and SIGHUP are blocked and waited for by a thread, which
// sets a flag the loops check, so that an interrupted run still cleans up. (Children do not
// inherit the mask: `Command` clears it in the child.)

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

fn catch_interrupts() {
    let mut set = SigSet::empty();
    set.add(Signal::SIGINT);
    set.add(Signal::SIGTERM);
    set.add(Signal::SIGHUP);
    if set.thread_block().is_err() {
        return;
    }
    std::thread::spawn(move || {
        while let Ok(signal) = set.wait() {
            eprintln!("peer-bench: {signal}: stopping after cleaning up");
            INTERRUPTED.store(true, Ordering::SeqCst);
        }
    });
}

fn check_interrupted() -> Result<()> {
    if INTERRUPTED.load(Ordering::SeqCst) {
        Err("interrupted".into())
    } else {
        Ok(())
    }
}

/// Sleeps, waking every 100 ms to see whether the run was interrupted.
fn pause(how_long: Duration) -> Result<()> {
    let until = Instant::now() + how_long;
    loop {
        check_interrupted()?;
        let now = Instant::now();
        if now >= until {
            return Ok(());
        }
        std::thread::sleep((until - now).min(Duration::from_millis(100)));
    }
}

// ---------------------------------------------------------------------------------------
// /proc

/// What `/proc/PID/stat` says about a live process.
struct Stat {
    ppid: u32,
    comm: String,
}

/// `/proc/PID/stat`: parent and command (None: gone, or a zombie).
fn stat(pid: u32) -> Option<Stat> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

fn parse_stat(text: &str) -> Option<Stat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text.get(open + 1..close)?.to_string();
    let mut rest = text.get(close + 1..)?.split_whitespace();
    let state = rest.next()?;
    if state == "Z" || state == "X" {
        return None;
    }
    let ppid = rest.next()?.parse().ok()?;
    Some(Stat { ppid, comm })
}

/// Every live process (not threads), by pid.
fn all_processes() -> HashMap<u32, Stat> {
    let mut all = HashMap::new();
    let Ok(entries) = fs::read_dir("/proc") else {
        return all;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<u32>().ok())
        else {
            continue;
        };
        if let Some(st) = stat(pid) {
            all.insert(pid, st);
        }
    }
    all
}

/// The harness's own children (including the orphans it adopted as a subreaper).
fn own_children() -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(tasks) = fs::read_dir("/proc/self/task") else {
        return out;
    };
    let mut buffer = String::new();
    for task in tasks.flatten() {
        buffer.clear();
        if let Ok(mut file) = File::open(task.path().join("children")) {
            let _ = file.read_to_string(&mut buffer);
        }
        out.extend(
            buffer
                .split_ascii_whitespace()
                .filter_map(|pid| pid.parse::<u32>().ok()),
        );
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// utime + stime of a process or thread, in clock ticks.
fn cpu_ticks(path: &str) -> Option<u64> {
    let text = fs::read_to_string(path).ok()?;
    let (_, rest) = text.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

#[derive(Debug, Clone, Copy, Default)]
struct Memory {
    rss_kib: u64,
    pss_kib: u64,
}

/// RSS and PSS summed over `pids`.
fn memory(pids: &[u32]) -> Memory {
    let mut total = Memory::default();
    for pid in pids {
        let values = proc_values(&format!("/proc/{pid}/smaps_rollup"), &["Rss", "Pss"]);
        total.rss_kib += values[0];
        total.pss_kib += values[1];
    }
    total
}

/// CPU ticks and context switches of every thread of `pids`, by (pid, tid).
fn thread_counters(pids: &[u32]) -> HashMap<(u32, u32), (u64, u64)> {
    let mut counters = HashMap::new();
    for &pid in pids {
        let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let Some(tid) = task
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            let base = format!("/proc/{pid}/task/{tid}");
            let switches = proc_values(
                &format!("{base}/status"),
                &["voluntary_ctxt_switches", "nonvoluntary_ctxt_switches"],
            );
            let ticks = cpu_ticks(&format!("{base}/stat")).unwrap_or(0);
            counters.insert((pid, tid), (ticks, switches[0] + switches[1]));
        }
    }
    counters
}

// ---------------------------------------------------------------------------------------
// A supervisor's process tree

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// The root, or a per-service supervisor (a child of the root with the driver's name).
    Supervisor,
    /// A service: a `sleep`.
    Service,
    /// Not yet either: a fork not yet exec'd, a run script's `/bin/sh`.
    Pending,
}

/// The processes descending from one supervisor, followed cheaply: each look reads only the
/// pids handed out since the last one (`ns_last_pid`) and the processes not yet classified.
/// A process belongs to the tree when its parent does.
struct Tree {
    root: u32,
    per_service: &'static [&'static str],
    members: HashMap<u32, Role>,
    pending: HashSet<u32>,
    /// Live services (as far as the tree knows), with when each was first seen.
    services: HashMap<u32, Instant>,
    /// Every pid ever in the tree.
    ever: HashSet<u32>,
    /// Pids handed out but not yet in /proc, with when they were first missed.
    unseen: HashMap<u32, Instant>,
    /// Processes seen whose parent was not (yet) in the tree: pid -> (parent, when seen).
    strangers: HashMap<u32, (u32, Instant)>,
    cursor: Option<u32>,
    pid_max: u32,
    candidates: Vec<u32>,
}

impl Tree {
    /// `cursor`: the last pid handed out before the root was spawned.
    fn new(root: u32, per_service: &'static [&'static str], cursor: Option<u32>) -> Tree {
        let pid_max = fs::read_to_string("/proc/sys/kernel/pid_max")
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(32_768);
        let mut members = HashMap::new();
        members.insert(root, Role::Supervisor);
        Tree {
            root,
            per_service,
            members,
            pending: HashSet::new(),
            services: HashMap::new(),
            ever: HashSet::from([root]),
            unseen: HashMap::new(),
            strangers: HashMap::new(),
            cursor,
            pid_max,
            candidates: Vec::new(),
        }
    }

    fn classify(&self, st: &Stat) -> Role {
        if st.comm == "sleep" {
            Role::Service
        } else if st.ppid == self.root && self.per_service.contains(&st.comm.as_str()) {
            Role::Supervisor
        } else {
            Role::Pending
        }
    }

    /// Records a member; answers whether it is a service not seen before.
    fn place(&mut self, pid: u32, st: &Stat, now: Instant) -> bool {
        if pid == self.root {
            return false;
        }
        let role = self.classify(st);
        self.members.insert(pid, role);
        self.ever.insert(pid);
        if role == Role::Pending {
            self.pending.insert(pid);
        } else {
            self.pending.remove(&pid);
        }
        if role == Role::Service {
            if let std::collections::hash_map::Entry::Vacant(entry) = self.services.entry(pid) {
                entry.insert(now);
                return true;
            }
        } else {
            self.services.remove(&pid);
        }
        false
    }

    /// A member that is gone (its pid may be handed out again).
    fn forget(&mut self, pid: u32) {
        if pid == self.root {
            return;
        }
        self.members.remove(&pid);
        self.pending.remove(&pid);
        self.services.remove(&pid);
    }

    /// From now on, looks only at pids handed out after this moment.
    fn reset_cursor(&mut self) {
        self.cursor = last_pid();
        self.unseen.clear();
        self.strangers.clear();
    }

    /// One cheap look; answers how many new services it found.
    fn poll(&mut self) -> usize {
        let (Some(cursor), Some(last)) = (self.cursor, last_pid()) else {
            return self.full_look();
        };
        let now = Instant::now();
        let mut found = 0;
        let mut fresh = std::mem::take(&mut self.candidates);
        fresh.clear();
        if last >= cursor {
            fresh.extend(cursor + 1..=last);
        } else {
            fresh.extend(cursor + 1..=self.pid_max);
            fresh.extend(1..=last);
        }
        self.cursor = Some(last);
        fresh.extend(self.unseen.keys().copied());
        fresh.sort_unstable();
        fresh.dedup();
        for &pid in &fresh {
            if pid == self.root || self.pending.contains(&pid) {
                continue;
            }
            match stat(pid) {
                None => {
                    if self.members.contains_key(&pid) {
                        self.forget(pid);
                    } else {
                        let since = *self.unseen.entry(pid).or_insert(now);
                        if now.duration_since(since) > Duration::from_millis(200) {
                            self.unseen.remove(&pid);
                        }
                    }
                }
                Some(st) => {
                    self.unseen.remove(&pid);
                    // A pid handed out again: the member it was is gone.
                    if self.members.contains_key(&pid) {
                        self.forget(pid);
                    }
                    if self.members.contains_key(&st.ppid) {
                        found += usize::from(self.place(pid, &st, now));
                    } else {
                        self.strangers.insert(pid, (st.ppid, now));
                    }
                }
            }
        }
        self.candidates = fresh;
        let pending: Vec<u32> = self.pending.iter().copied().collect();
        for pid in pending {
            match stat(pid) {
                None => self.forget(pid),
                Some(st) => found += usize::from(self.place(pid, &st, now)),
            }
        }
        found + self.adopt(now)
    }

    /// Strangers whose parent has joined the tree since they were seen.
    fn adopt(&mut self, now: Instant) -> usize {
        let mut found = 0;
        loop {
            let adopted: Vec<u32> = self
                .strangers
                .iter()
                .filter(|(_, (ppid, _))| self.members.contains_key(ppid))
                .map(|(&pid, _)| pid)
                .collect();
            if adopted.is_empty() {
                break;
            }
            for pid in adopted {
                self.strangers.remove(&pid);
                if let Some(st) = stat(pid)
                    && self.members.contains_key(&st.ppid)
                {
                    found += usize::from(self.place(pid, &st, now));
                }
            }
        }
        self.strangers
            .retain(|_, (_, since)| now.duration_since(*since) < Duration::from_secs(1));
        found
    }

    /// A walk of all of /proc: the whole tree as it is now; answers how many new services
    /// it found.
    fn full_look(&mut self) -> usize {
        let all = all_processes();
        let now = Instant::now();
        let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
        for (&pid, st) in &all {
            children.entry(st.ppid).or_default().push(pid);
        }
        let mut found = 0;
        let mut visited = HashSet::from([self.root]);
        let mut stack = vec![self.root];
        while let Some(parent) = stack.pop() {
            for &pid in children.get(&parent).map_or(&[][..], Vec::as_slice) {
                if !visited.insert(pid) {
                    continue;
                }
                let known = self.members.get(&pid).copied();
                if (known.is_none() || known == Some(Role::Pending))
                    && let Some(st) = all.get(&pid)
                {
                    found += usize::from(self.place(pid, st, now));
                }
                stack.push(pid);
            }
        }
        let gone: Vec<u32> = self
            .members
            .keys()
            .copied()
            .filter(|pid| !visited.contains(pid))
            .collect();
        for pid in gone {
            self.forget(pid);
        }
        found
    }

    /// Drops services that are no longer `sleep`; answers how many are left.
    fn live_services(&mut self) -> usize {
        let dead: Vec<u32> = self
            .services
            .keys()
            .copied()
            .filter(|&pid| !is_sleep(pid))
            .collect();
        for pid in dead {
            self.forget(pid);
        }
        self.services.len()
    }

    /// The supervisor processes: the root and the per-service supervisors.
    fn supervisors(&self) -> Vec<u32> {
        let mut pids: Vec<u32> = self
            .members
            .iter()
            .filter(|(_, role)| **role == Role::Supervisor)
            .map(|(&pid, _)| pid)
            .collect();
        pids.sort_unstable();
        pids
    }
}

// ---------------------------------------------------------------------------------------
// The floor

// ---------------------------------------------------------------------------------------
// Installation and versions

/// A program on PATH or in the usual directories.
fn find_binary(name: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .filter(|dir| !dir.is_empty())
        .chain(["/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"])
        .map(|dir| Path::new(dir).join(name))
        .find(|candidate| {
            candidate
                .metadata()
                .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        })
}

/// Runs a command with its output in a temporary file, killed after `timeout`; answers its
/// output, or an error with the output's last lines.
fn run_bounded(program: &str, args: &[&str], timeout: Duration) -> Result<String> {
    let shown = format!("{program} {}", args.join(" "));
    let mut output = tempfile::tempfile().map_err(|error| format!("{shown}: {error}"))?;
    let stderr = output
        .try_clone()
        .map_err(|error| format!("{shown}: {error}"))?;
    let stdout = output
        .try_clone()
        .map_err(|error| format!("{shown}: {error}"))?;
    let mut child = Command::new(program)
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .map_err(|error| format!("{shown}: cannot start: {error}"))?;
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) if start.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                break Err(format!("{shown}: killed after {timeout:?}"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(error) => break Err(format!("{shown}: {error}")),
        }
    };
    let mut text = String::new();
    {
        use std::io::Seek;
        let _ = output.seek(std::io::SeekFrom::Start(0));
        let _ = output.read_to_string(&mut text);
    }
    let tail = || {
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        lines[lines.len().saturating_sub(3)..].join(" / ")
    };
    match status {
        Ok(status) if status.success() => Ok(text),
        Ok(status) => Err(format!("{shown}: {status}: {}", tail())),
        Err(error) => Err(format!("{error}: {}", tail())),
    }
}

/// Makes sure the driver's programs are there, installing its package when they are not.
fn ensure_installed(kind: Kind, install: bool, updated: &mut bool) -> Result<()> {
    let Some(package) = kind.package() else {
        return Ok(());
    };
    let missing = |kind: Kind| -> Vec<&'static str> {
        kind.binaries()
            .iter()
            .copied()
            .filter(|name| find_binary(name).is_none())
            .collect()
    };
    if missing(kind).is_empty() {
        return Ok(());
    }
    if !install {
        return Err(format!(
            "{} not installed (--no-install)",
            missing(kind).join(", ")
        ));
    }
    let apt = |verb: &[&str]| {
        let mut args = vec!["-o", "DPkg::Lock::Timeout=120"];
        args.extend_from_slice(verb);
        run_bounded("apt-get", &args, Duration::from_secs(900))
    };
    eprintln!(
        "peer-bench: {} missing: apt-get install -y --no-install-recommends {package}",
        missing(kind).join(", ")
    );
    let install_args = ["install", "-y", "--no-install-recommends", package];
    if let Err(first) = apt(&install_args) {
        if *updated {
            return Err(format!("cannot install {package}: {first}"));
        }
        eprintln!("peer-bench: {first}\npeer-bench: apt-get update, then again");
        *updated = true;
        if let Err(error) = apt(&["update"]) {
            eprintln!("peer-bench: {error}");
        }
        apt(&install_args).map_err(|error| format!("cannot install {package}: {error}"))?;
    }
    let still = missing(kind);
    if still.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{package} installed but {} not found",
            still.join(", ")
        ))
    }
}

fn dpkg_version(package: &str) -> Option<String> {
    run_bounded(
        "dpkg-query",
        &["-W", "-f=${Version}", package],
        Duration::from_secs(30),
    )
    .ok()
    .map(|text| text.trim().to_string())
    .filter(|text| !text.is_empty())
}

/// smf's commit, and whether the tree differs from it.
fn smf_commit() -> String {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("."))
        .to_string_lossy()
        .into_owned();
    let git = |args: &[&str]| {
        let mut all = vec!["-C", workspace.as_str()];
        all.extend_from_slice(args);
        run_bounded("git", &all, Duration::from_secs(30))
    };
    match git(&["rev-parse", "--short=12", "HEAD"]) {
        Ok(commit) => {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                .is_ok_and(|text| !text.trim().is_empty());
            format!(
                "`{}`{}",
                commit.trim(),
                if dirty {
                    " (with uncommitted changes in the tree)"
                } else {
                    ""
                }
            )
        }
        Err(_) => "unknown (no git)".into(),
    }
}

// ---------------------------------------------------------------------------------------
// A running driver

/// The manifest of N independent services `bench/sNNNNN`, or of a chain `bench/cNNNN`
/// (each `require_all` on the one before).
fn manifest(n: usize, chain: bool) -> String {
    let mut xml = String::with_capacity(n * 700 + 300);
    xml.push_str(
        "<?xml version='1.0'?>\n<!DOCTYPE service_bundle SYSTEM '/usr/share/lib/xml/dtd/service_bundle.dtd.1'>\n<service_bundle type='manifest' name='bench'>\n",
    );
    for i in 0..n {
        let (name, dependency) = if chain {
            let dependency = if i == 0 {
                String::new()
            } else {
                format!(
                    "  <dependency name='prev' grouping='require_all' restart_on='none' type='service'><service_fmri value='svc:/bench/c{:03}'/></dependency>\n",
                    i - 1
                )
            };
            (format!("c{i:03}"), dependency)
        } else {
            (format!("s{i:05}"), String::new())
        };
        let _ = write!(
            xml,
            "<service name='bench/{name}' type='service' version='1'>
  <create_default_instance enabled='true'/>
{dependency}  <exec_method type='method' name='start' exec='{SLEEP} {SLEEP_ARG}' timeout_seconds='10'/>
  <exec_method type='method' name='stop' exec=':kill' timeout_seconds='5'/>
  <property_group name='startd' type='framework'>
    <propval name='duration' type='astring' value='child'/>
  </property_group>
</service>
"
        );
    }
    xml.push_str("</service_bundle>\n");
    xml
}

/// DIR/sNNNNN/run for runit, daemontools and s6.
fn write_service_dirs(scan: &Path, n: usize) -> std::io::Result<()> {
    fs::create_dir_all(scan)?;
    let script = format!("#!/bin/sh\nexec {SLEEP} {SLEEP_ARG}\n");
    for i in 0..n {
        let dir = scan.join(format!("s{i:05}"));
        fs::create_dir(&dir)?;
        let run = dir.join("run");
        fs::write(&run, &script)?;
        fs::set_permissions(&run, fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}

fn supervisord_config(dir: &Path, n: usize) -> String {
    let mut conf = format!(
        "[supervisord]\nlogfile={d}/supervisord.log\npidfile={d}/supervisord.pid\nchildlogdir={d}/childlogs\nminfds={fds}\n\n",
        d = dir.display(),
        fds = (n * 8).max(1024),
    );
    for i in 0..n {
        let _ = write!(
            conf,
            "[program:s{i:05}]\ncommand={SLEEP} {SLEEP_ARG}\nautorestart=true\nstartsecs=0\n\n"
        );
    }
    conf
}

/// A supervisor started by the harness, with its tree. Dropping it cleans up.
struct Running {
    kind: Kind,
    dir: Option<tempfile::TempDir>,
    log: PathBuf,
    child: Option<Child>,
    pid: u32,
    tree: Tree,
    keep: bool,
    /// svc.startd's cgroup (`smf-*`, one per instance below), removed after it exits.
    cgroup: Option<PathBuf>,
}

impl Running {
    /// Starts the driver in a new temporary directory, or, for smf, `again` on the directory
    /// (root and manifests) a previous [`Running`] of the same plan left.
    fn spawn(
        kind: Kind,
        n: usize,
        chain: bool,
        smf: Option<&Path>,
        again: Option<tempfile::TempDir>,
    ) -> Result<(Running, Instant)> {
        let started_again = again.is_some();
        if started_again && kind != Kind::Smf {
            return Err(format!(
                "{}: only svc.startd is started again on its directory",
                kind.name()
            ));
        }
        let dir = match again {
            Some(dir) => dir,
            None => tempfile::Builder::new()
                .prefix(&format!("peer-bench-{}-", kind.name()))
                .tempdir()
                .map_err(|error| format!("cannot create a temporary directory: {error}"))?,
        };
        let path = dir.path().to_path_buf();
        let io = |what: &str, error: std::io::Error| format!("cannot write {what}: {error}");
        let program = |name: &str| {
            find_binary(name).ok_or_else(|| format!("{name} not found (is {kind:?} installed?)"))
        };
        let mut command = match kind {
            Kind::Smf => {
                let binary =
                    smf.ok_or("svc-startd not found: cargo build --release -p smf-restarter")?;
                let root = path.join("root");
                let manifests = path.join("manifests");
                // Started again: the root and the manifest are the first run's, untouched.
                if !started_again {
                    fs::create_dir_all(&root)
                        .and_then(|()| fs::create_dir_all(&manifests))
                        .and_then(|()| fs::write(manifests.join("bench.xml"), manifest(n, chain)))
                        .map_err(|error| io("the manifest", error))?;
                }
                let mut command = Command::new(binary);
                command
                    .arg("--root")
                    .arg(&root)
                    .arg("--manifests")
                    .arg(&manifests);
                command
            }
            Kind::Runit | Kind::Daemontools | Kind::S6 => {
                let scan = path.join("scan");
                write_service_dirs(&scan, n)
                    .map_err(|error| io("the service directories", error))?;
                let mut command = Command::new(program(kind.binaries()[0])?);
                if kind == Kind::S6 {
                    command.arg("-c").arg((n + 100).max(2000).to_string());
                }
                command.arg(&scan);
                command
            }
            Kind::Supervisord => {
                let conf = path.join("supervisord.conf");
                fs::create_dir_all(path.join("childlogs"))
                    .and_then(|()| fs::write(&conf, supervisord_config(&path, n)))
                    .map_err(|error| io("the configuration", error))?;
                let mut command = Command::new(program("supervisord")?);
                command.arg("-n").arg("-c").arg(&conf);
                command
            }
        };
        let log_name = if started_again {
            "supervisor-again.log"
        } else {
            "supervisor.log"
        };
        let log = path.join(log_name);
        let out = File::create(&log).map_err(|error| io(log_name, error))?;
        let err = out.try_clone().map_err(|error| io(log_name, error))?;
        command
            .current_dir(&path)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0);
        let cursor = last_pid();
        let start = Instant::now();
        let child = command
            .spawn()
            .map_err(|error| format!("cannot start {:?}: {error}", command.get_program()))?;
        let pid = child.id();
        Ok((
            Running {
                kind,
                dir: Some(dir),
                log,
                child: Some(child),
                pid,
                tree: Tree::new(pid, kind.per_service(), cursor),
                keep: false,
                cgroup: None,
            },
            start,
        ))
    }

    /// The supervisor's output, last lines, on one line.
    fn log_tail(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        if lines.is_empty() {
            "(no output)".into()
        } else {
            lines[lines.len().saturating_sub(3)..].join(" / ")
        }
    }

    /// A failure: the message with the supervisor's output; the directory is kept.
    fn fail(&mut self, what: impl AsRef<str>) -> String {
        self.keep = true;
        format!(
            "{} ({} says: {})",
            what.as_ref(),
            self.log.display(),
            self.log_tail()
        )
    }

    /// Fails if the supervisor has exited.
    fn check_alive(&mut self, doing: &str) -> Result<()> {
        let status = match self.child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => return Ok(()),
            Some(Ok(Some(status))) => format!("exited ({status})"),
            Some(Err(error)) => format!("cannot be waited for ({error})"),
            None => "is not running".into(),
        };
        Err(self.fail(format!(
            "{} (pid {}) {status} while {doing}",
            self.kind
                .binaries()
                .first()
                .copied()
                .unwrap_or("svc-startd"),
            self.pid
        )))
    }

    /// Notes the cgroup svc.startd put its services in.
    fn find_cgroup(&mut self) {
        if self.kind != Kind::Smf || self.cgroup.is_some() {
            return;
        }
        if let Some(&pid) = self.tree.services.keys().next() {
            self.cgroup = startd_cgroup_of(pid);
        }
    }

    /// Removes the (empty) cgroups svc.startd left behind once it and its services are gone.
    fn remove_cgroups(&mut self) {
        if let Some(dir) = self.cgroup.take() {
            remove_startd_cgroups("peer-bench", &dir);
        }
    }

    /// Stops the supervisor and everything below it; fails when a `sleep` of this driver
    /// survives. Idempotent.
    fn cleanup(&mut self) -> Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let me = std::process::id();
        self.tree.full_look();
        self.find_cgroup();
        let mut exited = matches!(child.try_wait(), Ok(Some(_)));
        if self.kind == Kind::Smf && !exited {
            // svc.startd stops its services itself on SIGTERM.
            let _ = kill(Pid::from_raw(self.pid as i32), Signal::SIGTERM);
            let start = Instant::now();
            while start.elapsed() < SMF_STOP_TIMEOUT {
                if !matches!(child.try_wait(), Ok(None)) {
                    exited = true;
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            if !exited {
                eprintln!(
                    "peer-bench: svc.startd did not exit {SMF_STOP_TIMEOUT:?} after SIGTERM: SIGKILL"
                );
            }
        }
        // The supervisors first (they restart services), all at once: the root and its
        // process group while the root is not reaped (its pid cannot have been handed out
        // again), then each per-service supervisor recorded, if it is still a child of the
        // root or, the root being dead, of the harness (not a pid handed out again).
        if !exited {
            let _ = kill(Pid::from_raw(self.pid as i32), Signal::SIGKILL);
            let _ = killpg(Pid::from_raw(self.pid as i32), Signal::SIGKILL);
        }
        let _ = child.wait();
        for pid in self.tree.supervisors() {
            if pid != self.pid && stat(pid).is_some_and(|st| st.ppid == self.pid || st.ppid == me) {
                let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
            }
        }
        // Everything left now belongs to the harness (a subreaper): kill and reap it all.
        let start = Instant::now();
        let mut killed = HashSet::new();
        loop {
            let children = own_children();
            if children.is_empty() {
                break;
            }
            if start.elapsed() > CLEANUP_TIMEOUT {
                self.keep = true;
                return Err(format!(
                    "{}: {} processes left after {CLEANUP_TIMEOUT:?} of clean-up: {children:?}",
                    self.kind.name(),
                    children.len()
                ));
            }
            for &pid in &children {
                let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
                killed.insert(pid);
            }
            for &pid in &children {
                let _ = waitpid(Pid::from_raw(pid as i32), Some(WaitPidFlag::WNOHANG));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        // No `sleep` of this driver may survive: every one ever seen, and any `sleep`
        // still attached to the harness.
        let survivors: Vec<u32> = self
            .tree
            .ever
            .iter()
            .copied()
            .filter(|&pid| stat(pid).is_some_and(|st| st.comm == "sleep" && st.ppid == me))
            .collect();
        if !survivors.is_empty() {
            self.keep = true;
            return Err(format!(
                "{}: `sleep` processes survived the clean-up: {survivors:?}",
                self.kind.name()
            ));
        }
        if !killed.is_empty() {
            eprintln!(
                "peer-bench: {}: killed and reaped {} processes left behind by the supervisor",
                self.kind.name(),
                killed.len()
            );
        }
        self.remove_cgroups();
        Ok(())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Err(error) = self.cleanup() {
            eprintln!("peer-bench: clean-up: {error}");
        }
        if self.keep
            && let Some(dir) = self.dir.take()
        {
            eprintln!(
                "peer-bench: {} directory kept for inspection: {}",
                self.kind.name(),
                dir.keep().display()
            );
        } else if let Some(dir) = self.dir.take() {
            remove_at_the_end(dir);
        }
    }
}

/// Drivers' directories, deleted at the end of the run: deleting one driver's thousands of
/// files right before the next driver creates its own (runsv's `supervise/`, svc.startd's
/// logs) would slow that one down on ext4, whose inode allocator skips recently deleted
/// inodes.
static TO_REMOVE: std::sync::Mutex<Vec<tempfile::TempDir>> = std::sync::Mutex::new(Vec::new());

fn remove_at_the_end(dir: tempfile::TempDir) {
    TO_REMOVE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(dir);
}

// ---------------------------------------------------------------------------------------
// Measuring one driver at one size

#[derive(Debug, Clone)]
struct Restart {
    /// Kill to the new `sleep`, ms, sorted.
    to_sleep: Vec<f64>,
}

#[derive(Debug, Clone)]
struct Idle {
    seconds: u64,
    ticks: u64,
    switches: u64,
    processes: usize,
    threads: usize,
    /// Supervisor processes with any activity.
    active: usize,
}

#[derive(Debug, Clone)]
struct Measured {
    bringup: Duration,
    /// smf only: the bring-up on the same root again (a boot), or why there is none.
    boot: Option<std::result::Result<Duration, String>>,
    supervisors: usize,
    threads: usize,
    memory: Memory,
    restart: Option<Restart>,
    idle: Option<Idle>,
}

/// Why a driver has no figures: `Row` goes in its row, `Fatal` stops the run.
enum Failure {
    Row(String),
    Fatal(String),
}

struct Plan {
    n: usize,
    chain: bool,
    kills: usize,
    idle_seconds: u64,
    timeout: Duration,
}

fn measure_driver(
    kind: Kind,
    plan: &Plan,
    smf: Option<&Path>,
) -> std::result::Result<Measured, Failure> {
    let (mut running, start) =
        Running::spawn(kind, plan.n, plan.chain, smf, None).map_err(Failure::Row)?;
    let outcome = measure_running(&mut running, start, plan);
    let cleaned = running.cleanup();
    // Kept for inspection after a failure, not after an interruption.
    running.keep = outcome.is_err() && !INTERRUPTED.load(Ordering::SeqCst);
    // svc.startd is started again on this root (a boot): the directory is kept for it.
    let again = if kind == Kind::Smf && outcome.is_ok() && cleaned.is_ok() {
        running.dir.take()
    } else {
        None
    };
    drop(running);
    let mut measured = match (outcome, cleaned) {
        (_, Err(error)) => return Err(Failure::Fatal(error)),
        (Ok(measured), Ok(())) => measured,
        (Err(error), Ok(())) if INTERRUPTED.load(Ordering::SeqCst) => {
            return Err(Failure::Fatal(error));
        }
        (Err(error), Ok(())) => return Err(Failure::Row(error)),
    };
    if let Some(dir) = again {
        measured.boot = Some(measure_boot(plan, smf, dir)?);
    }
    Ok(measured)
}

/// svc.startd started again on the root it has just run on (its logs and repository are
/// there, as at a boot), its bring-up timed as the first one, then the same clean-up. A
/// failure of this bring-up is its own figure; the first run's figures stand.
fn measure_boot(
    plan: &Plan,
    smf: Option<&Path>,
    dir: tempfile::TempDir,
) -> std::result::Result<std::result::Result<Duration, String>, Failure> {
    pause(Duration::from_millis(500)).map_err(Failure::Fatal)?;
    let n = plan.n;
    eprintln!(
        "peer-bench: smf N = {n}{}: again on the same root",
        if plan.chain { " (chain)" } else { "" }
    );
    let (mut running, start) = match Running::spawn(Kind::Smf, n, plan.chain, smf, Some(dir)) {
        Ok(spawned) => spawned,
        Err(error) => return Ok(Err(error)),
    };
    let outcome =
        measure_bringup(&mut running, start, plan, " (same root again)").and_then(|took| {
            // As after the first bring-up, before the next step.
            pause(Duration::from_secs(1))?;
            running.check_alive("measuring")?;
            Ok(took)
        });
    let cleaned = running.cleanup();
    running.keep = outcome.is_err() && !INTERRUPTED.load(Ordering::SeqCst);
    drop(running);
    match (outcome, cleaned) {
        (_, Err(error)) => Err(Failure::Fatal(error)),
        (Ok(took), Ok(())) => Ok(Ok(took)),
        (Err(error), Ok(())) if INTERRUPTED.load(Ordering::SeqCst) => Err(Failure::Fatal(error)),
        (Err(error), Ok(())) => {
            eprintln!("peer-bench: smf N = {n} (same root again): FAILED: {error}");
            Ok(Err(error))
        }
    }
}

/// Waits until N `sleep`s descending from the supervisor run; answers the time from its
/// spawn. `what` follows the driver's name in the progress line.
fn measure_bringup(
    running: &mut Running,
    start: Instant,
    plan: &Plan,
    what: &str,
) -> Result<Duration> {
    let n = plan.n;
    let name = running.kind.name();
    let mut last_full_look = Instant::now();
    let bringup = loop {
        running.tree.poll();
        let at = start.elapsed();
        if running.tree.services.len() >= n && running.tree.live_services() >= n {
            break at;
        }
        if last_full_look.elapsed() > SAFETY_LOOK {
            running.tree.full_look();
            last_full_look = Instant::now();
        }
        check_interrupted()?;
        running.check_alive("bringing up services")?;
        if start.elapsed() > plan.timeout {
            running.tree.full_look();
            let live = running.tree.live_services();
            return Err(running.fail(format!(
                "bring-up timed out after {:?}: {live} of {n} services running",
                plan.timeout
            )));
        }
        std::thread::sleep(BRINGUP_POLL);
    };
    eprintln!(
        "peer-bench: {name} N = {n}{}{what}: bring-up {:.3} s",
        if plan.chain { " (chain)" } else { "" },
        bringup.as_secs_f64()
    );
    Ok(bringup)
}

fn measure_running(running: &mut Running, start: Instant, plan: &Plan) -> Result<Measured> {
    let n = plan.n;
    let name = running.kind.name();
    let bringup = measure_bringup(running, start, plan, "")?;
    pause(Duration::from_secs(1))?;
    running.tree.full_look();
    let supervisors = running.tree.supervisors();
    let memory = memory(&supervisors);
    let threads = thread_counters(&supervisors).len();
    running.find_cgroup();

    let kills = plan.kills.min(n);
    let restart = if kills > 0 {
        Some(measure_restarts(running, n, kills, plan.timeout)?)
    } else {
        None
    };

    let idle = if plan.idle_seconds > 0 {
        pause(Duration::from_secs(2))?;
        running.tree.full_look();
        let supervisors = running.tree.supervisors();
        eprintln!(
            "peer-bench: {name} N = {n}: idle for {} s ({} supervisor processes)",
            plan.idle_seconds,
            supervisors.len()
        );
        let before = thread_counters(&supervisors);
        pause(Duration::from_secs(plan.idle_seconds))?;
        let after = thread_counters(&supervisors);
        running.check_alive("idle")?;
        let (mut ticks, mut switches) = (0, 0);
        let mut active = HashSet::new();
        for (key, (t1, s1)) in &after {
            let (t0, s0) = before.get(key).copied().unwrap_or_default();
            let (dt, ds) = (t1.saturating_sub(t0), s1.saturating_sub(s0));
            ticks += dt;
            switches += ds;
            if dt + ds > 0 {
                active.insert(key.0);
            }
        }
        let gone = before.keys().filter(|key| !after.contains_key(key)).count();
        if gone > 0 {
            eprintln!("peer-bench: {name}: {gone} supervisor threads exited while idle");
        }
        Some(Idle {
            seconds: plan.idle_seconds,
            ticks,
            switches,
            processes: supervisors.len(),
            threads: after.len(),
            active: active.len(),
        })
    } else {
        None
    };
    running.check_alive("measuring")?;
    Ok(Measured {
        bringup,
        boot: None,
        supervisors: supervisors.len(),
        threads,
        memory,
        restart,
        idle,
    })
}

fn measure_restarts(
    running: &mut Running,
    n: usize,
    kills: usize,
    timeout: Duration,
) -> Result<Restart> {
    let name = running.kind.name();
    running.tree.full_look();
    if running.tree.live_services() < n {
        let live = running.tree.services.len();
        return Err(running.fail(format!("only {live} of {n} services run before the kills")));
    }
    let mut originals: Vec<u32> = running.tree.services.keys().copied().collect();
    originals.sort_unstable();
    eprintln!("peer-bench: {name} N = {n}: {kills} kills");
    let mut to_sleep = Vec::with_capacity(kills);
    for k in 0..kills {
        let victim = originals[k * originals.len() / kills];
        if let Some(&seen) = running.tree.services.get(&victim) {
            let age = seen.elapsed();
            if age < MIN_AGE {
                pause(MIN_AGE - age + Duration::from_millis(10))?;
            }
        }
        check_interrupted()?;
        running.check_alive("killing services")?;
        if !running.tree.services.contains_key(&victim) || !is_sleep(victim) {
            return Err(running.fail(format!(
                "kill {} of {kills}: service process {victim} is gone before it was killed",
                k + 1
            )));
        }
        running.tree.poll();
        running.tree.reset_cursor();
        let before: HashSet<u32> = running.tree.services.keys().copied().collect();
        let start = Instant::now();
        kill(Pid::from_raw(victim as i32), Signal::SIGKILL)
            .map_err(|error| format!("kill {victim}: {error}"))?;
        running.tree.forget(victim);
        let mut last_full_look = Instant::now();
        let took = loop {
            if running.tree.poll() > 0 {
                let took = start.elapsed();
                if running
                    .tree
                    .services
                    .keys()
                    .any(|pid| !before.contains(pid))
                {
                    break took;
                }
            }
            let elapsed = start.elapsed();
            if last_full_look.elapsed() > RESTART_SAFETY_LOOK {
                last_full_look = Instant::now();
                let known: HashSet<u32> = running.tree.members.keys().copied().collect();
                if running.tree.full_look() > 0 {
                    let took = start.elapsed();
                    // Only a process the cheap look never saw is worth a word (one it saw
                    // before its exec is merely found by whichever look comes first).
                    if running.tree.services.keys().any(|pid| !known.contains(pid)) {
                        eprintln!(
                            "peer-bench: {name}: a new service was found by the full look only"
                        );
                    }
                    break took;
                }
                check_interrupted()?;
                running.check_alive("restarting a service")?;
            }
            if elapsed > timeout.min(RESTART_TIMEOUT) {
                return Err(running.fail(format!(
                    "kill {} of {kills}: no new sleep {elapsed:?} after SIGKILL of {victim}",
                    k + 1
                )));
            }
            std::thread::sleep(if elapsed < Duration::from_millis(10) {
                RESTART_POLL_FAST
            } else {
                RESTART_POLL_SLOW
            });
        };
        to_sleep.push(took.as_secs_f64() * 1e3);
        std::thread::sleep(BETWEEN_KILLS);
    }
    to_sleep.sort_by(f64::total_cmp);
    eprintln!(
        "peer-bench: {name} N = {n}: restart median {:.2} ms, p99 {:.2} ms",
        percentile(&to_sleep, 50.0),
        percentile(&to_sleep, 99.0)
    );
    Ok(Restart { to_sleep })
}

fn median_duration(samples: &[Duration]) -> Option<Duration> {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted.get(sorted.len().saturating_sub(1) / 2).copied()
}

// ---------------------------------------------------------------------------------------
// Report

struct Machine {
    cpus: usize,
    kernel: String,
    cpu: String,
    memory_gib: f64,
    debian: String,
    date: String,
    tmp: String,
}

fn machine() -> Machine {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|line| {
            let (key, value) = line.split_once(':')?;
            (key.trim() == "model name").then(|| value.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let memory_kib = proc_values("/proc/meminfo", &["MemTotal"])[0];
    // The file system of the temporary directories (the longest mount point above it).
    let tmp_dir = std::env::temp_dir();
    let mounts = fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let fs_type = mounts
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (point, kind) = (fields.get(1)?, fields.get(2)?);
            tmp_dir
                .starts_with(point)
                .then(|| (point.len(), kind.to_string()))
        })
        .max()
        .map_or_else(|| "?".into(), |(_, kind)| kind);
    Machine {
        cpus: std::thread::available_parallelism().map_or(0, usize::from),
        kernel: fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_string(),
        cpu,
        memory_gib: memory_kib as f64 / (1024.0 * 1024.0),
        debian: fs::read_to_string("/etc/debian_version")
            .map_or_else(|_| "?".into(), |text| text.trim().to_string()),
        date: today(),
        tmp: format!("`{}` ({fs_type})", tmp_dir.display()),
    }
}

/// Everything one run measured.
struct Results {
    machine: Machine,
    versions: Vec<(Kind, String)>,
    commit: String,
    /// Floor samples by size.
    floors: BTreeMap<usize, Vec<Duration>>,
    /// The file-creation calibration by size.
    files: BTreeMap<usize, FileCreation>,
    /// (driver, size) -> figures or why there are none.
    rows: BTreeMap<(usize, Kind), std::result::Result<Measured, String>>,
    /// The chain (smf only): length and figures.
    chain: Option<(usize, std::result::Result<Measured, String>)>,
    idle_at: Option<usize>,
    /// Set when the run stopped early.
    stopped: Option<String>,
    /// `/proc/loadavg`'s first three fields at the start and at the end.
    load: (String, String),
}

impl Results {
    fn floor(&self, n: usize) -> Option<Duration> {
        self.floors
            .get(&n)
            .and_then(|samples| median_duration(samples))
    }

    fn measured(&self, n: usize, kind: Kind) -> Option<&Measured> {
        self.rows.get(&(n, kind)).and_then(|row| row.as_ref().ok())
    }
}

/// One comparable measure: its name, and each driver's value (lower is better).
struct Measure {
    label: String,
    unit: &'static str,
    values: Vec<(Kind, f64)>,
    /// Extra text shown with a value (idle: ticks).
    show: fn(f64, &Measured) -> String,
    n: usize,
}

fn measures(results: &Results, sizes: &[usize]) -> Vec<Measure> {
    let mut out = Vec::new();
    let collect = |n: usize, get: &dyn Fn(&Measured) -> Option<f64>| -> Vec<(Kind, f64)> {
        Kind::ALL
            .iter()
            .filter_map(|&kind| Some((kind, get(results.measured(n, kind)?)?)))
            .collect()
    };
    for &n in sizes {
        out.push(Measure {
            label: format!("bring-up, N = {n}"),
            unit: "s",
            values: collect(n, &|m| Some(m.bringup.as_secs_f64())),
            show: |v, _| format!("{v:.3} s"),
            n,
        });
    }
    for &n in sizes {
        out.push(Measure {
            label: format!("restart median, N = {n}"),
            unit: "ms",
            values: collect(n, &|m| {
                m.restart.as_ref().map(|r| percentile(&r.to_sleep, 50.0))
            }),
            show: |v, _| format!("{v:.2} ms"),
            n,
        });
        out.push(Measure {
            label: format!("restart p99, N = {n}"),
            unit: "ms",
            values: collect(n, &|m| {
                m.restart.as_ref().map(|r| percentile(&r.to_sleep, 99.0))
            }),
            show: |v, _| format!("{v:.2} ms"),
            n,
        });
    }
    if let Some(n) = results.idle_at {
        out.push(Measure {
            label: format!("idle context switches (CPU ticks), N = {n}"),
            unit: "switches",
            values: collect(n, &|m| m.idle.as_ref().map(|i| i.switches as f64)),
            show: |v, m| {
                format!(
                    "{v:.0} ({} ticks)",
                    m.idle.as_ref().map_or(0, |idle| idle.ticks)
                )
            },
            n,
        });
    }
    for &n in sizes {
        out.push(Measure {
            label: format!("memory PSS, N = {n}"),
            unit: "MiB",
            values: collect(n, &|m| Some(mib(m.memory.pss_kib))),
            show: |v, _| format!("{v:.1} MiB"),
            n,
        });
    }
    out
}

/// The cells after "supervisor processes" of the row of smf's bring-up on the same root
/// again: bring-up, × floor, and nothing else measured.
fn boot_cells(boot: &std::result::Result<Duration, String>, floor: Duration) -> String {
    match boot {
        Ok(took) => format!(
            "{:.3} s | {:.2} | — | — | —",
            took.as_secs_f64(),
            took.as_secs_f64() / floor.as_secs_f64()
        ),
        Err(reason) => format!("**failed**: {} | | | |", reason.replace('|', "\\|")),
    }
}

/// The target line of a bring-up: its ratio to the floor, the figures, and the verdict.
fn bringup_target(took: Duration, floor: Duration) -> (String, String) {
    let ratio = took.as_secs_f64() / floor.as_secs_f64();
    (
        format!(
            "{ratio:.2}× ({:.3} s, floor {:.3} s)",
            took.as_secs_f64(),
            floor.as_secs_f64()
        ),
        verdict(ratio <= TARGET_BRINGUP_RATIO).into(),
    )
}

fn ratio_text(smf: f64, best: f64) -> String {
    if best == 0.0 && smf == 0.0 {
        "equal (both 0)".into()
    } else if best == 0.0 {
        "∞ (the peer is at 0)".into()
    } else {
        format!("{:.2}×", smf / best)
    }
}

fn report(args: &Args, results: &Results) -> String {
    let tck = clock_ticks_per_second();
    let machine = &results.machine;
    let mut out = String::new();
    let sizes: Vec<usize> = args.sizes.clone();
    let sizes_text: Vec<String> = sizes.iter().map(usize::to_string).collect();
    let only = if args.only.len() == Kind::ALL.len() {
        String::new()
    } else {
        let names: Vec<&str> = args.only.iter().map(|k| k.name()).collect();
        format!(" --only {}", names.join(","))
    };
    let versions: Vec<String> = results
        .versions
        .iter()
        .map(|(kind, version)| format!("{} {version}", kind.package().unwrap_or(kind.name())))
        .collect();
    let _ = writeln!(
        out,
        "What is measured (`benches/src/bin/peer-bench.rs`), every driver on this machine in one
run: smf (`svc-startd` on a temporary root, one manifest of N services `bench/sNNNNN`,
`startd/duration=child`, start `/bin/sleep 100000`, stop `:kill`) and four peers from
Debian's packages, each in its own temporary directory and started by the harness in its own
process group: runit (`runsvdir DIR`), daemontools (`svscan DIR`) and s6
(`s6-svscan -c 2000 DIR`), each with `DIR/sNNNNN/run` = `#!/bin/sh` / `exec /bin/sleep 100000`;
supervisord (`supervisord -n -c FILE`, N `[program:sNNNNN]` with `command=/bin/sleep 100000`,
`autorestart=true`, `startsecs=0`; its logs in the temporary directory, `minfds` raised for
N). dinit is not packaged: its figures are quoted from `shared/peer-benchmarks.md`, recorded
in another run, and never counted as a measured peer.

- Bring-up: from the spawn of the supervisor until N `sleep` processes descending from it
  run, polled every ~1 ms (the pids handed out since the last look, from
  `/proc/sys/kernel/ns_last_pid`, then `/proc/PID/stat`: parent and command), each driver in
  a fresh directory. On a fresh root svc.startd creates one log file per service
  (`ROOT/log/<name>.log`), so its ratio depends on the file-creation figure; the peers
  create files per service too (the per-service supervisors' `supervise/` state,
  supervisord's child logs).
- smf, same root again (a boot): after smf's measurements and its clean-up, which leaves
  `ROOT/log` and `ROOT/repository.db`, svc-startd is started again on the same root with the
  same arguments and its bring-up timed the same way; the log files exist and are appended
  to, as at a boot. Its ratio is to the same floor.
- File creation (a calibration), once per size before its first floor: min(N, 1000) empty
  files created in a new directory next to the drivers' as svc.startd creates a log
  (`O_WRONLY|O_CREAT|O_APPEND|O_CLOEXEC`, mode 0644, then close), time per file. On ext4
  it varies with how many files were deleted in the last minute or so (the inode allocator
  skips recently deleted inodes; ~20 µs to ~1 ms per file has been seen); these
  directories are deleted at the end of the run.
- Floor: the harness's own N `/bin/sleep 100000` (`std::process::Command`, posix_spawn),
  timed the same way, one sample before each driver at each size; every ratio is to the
  median of that size's samples.
- Restart: {kills} distinct services' `sleep`s, each up more than 3 s, killed with SIGKILL one
  at a time, 50 ms apart, timed until a new `sleep` descending from the supervisor runs
  (polled every 50 µs, every 250 µs after 10 ms; runit, daemontools and s6 go through the
  run script's `/bin/sh`).
- Idle (at N = {idle_at}, {idle} s, after the kills): CPU ticks (utime + stime, {tck} per
  second) and context switches (voluntary + involuntary) summed over every thread of the
  supervisor processes only: svc.startd; runsvdir + every runsv; svscan + every supervise;
  s6-svscan + every s6-supervise; supervisord.
- Memory: RSS and PSS (`/proc/PID/smaps_rollup`) summed over those supervisor processes, 1 s
  after bring-up.
- Dependency chain (smf only): {chain} services `bench/cNNN`, each `require_all` on the
  previous (`restart_on='none'`), bring-up against the floor of {chain}, on a fresh root and
  on the same root again.
- Between drivers the harness (a child subreaper) kills the supervisor's process group and
  every supervisor pid it recorded (svc.startd: SIGTERM first), then every process left to it,
  and goes on only when no `sleep` of that driver survives. Every driver's directory is
  deleted at the end of the run, not between drivers (a deletion of thousands of files
  would slow the next driver's file creations).

Reproduce (about 15 minutes at the default settings, mostly s6's and supervisord's ~1 s
restarts and the idle periods; peers missing are installed with apt-get, as root):

```sh
cargo build --release -p smf-restarter -p smf-benches
cargo run --release -p smf-benches --bin peer-bench -- --sizes {sizes} --kills {kills} --idle-seconds {idle} --chain {chain}{only} --write BENCHMARKS.md
```

Machine: {cpus} CPUs (`nproc`), {cpu} (`/proc/cpuinfo`), {mem:.0} GiB RAM, Linux {kernel},
Debian {debian}; temporary directories in {tmp}. Date: {date}. Versions: {versions}; smf
commit {commit}. Load average (1, 5, 15 min) at the start {load0}, at the end {load1}. The 2
cores are shared with other work: treat single figures as ±30 % and compare ratios measured in
the same run.
",
        kills = args.kills,
        idle = args.idle_seconds,
        idle_at = results
            .idle_at
            .map_or_else(|| "—".to_string(), |n| n.to_string()),
        chain = args.chain,
        sizes = sizes_text.join(","),
        cpus = machine.cpus,
        cpu = machine.cpu,
        mem = machine.memory_gib,
        kernel = machine.kernel,
        debian = machine.debian,
        tmp = machine.tmp,
        date = machine.date,
        versions = if versions.is_empty() {
            "no peer".to_string()
        } else {
            versions.join(", ")
        },
        commit = results.commit,
        load0 = results.load.0,
        load1 = results.load.1,
    );
    if let Some(reason) = &results.stopped {
        let _ = writeln!(
            out,
            "**The run stopped early: {reason}.** The figures below are the part measured.\n"
        );
    }

    // One table per size.
    for &n in &sizes {
        let Some(floor) = results.floor(n) else {
            continue;
        };
        let samples = results.floors.get(&n).map_or(0, Vec::len);
        let _ = writeln!(out, "### N = {n}\n");
        out.push_str("| driver | supervisor processes | bring-up | × floor | restart median / p99 / max | PSS (RSS), MiB | idle: CPU ticks / context switches |\n");
        out.push_str("|---|---|---:|---:|---|---:|---|\n");
        let (lo, hi) = results.floors.get(&n).map_or((floor, floor), |s| {
            (
                s.iter().min().copied().unwrap_or(floor),
                s.iter().max().copied().unwrap_or(floor),
            )
        });
        let _ = writeln!(
            out,
            "| floor: the harness's own fork+exec | — | {:.3} s (median of {samples}: {:.3}-{:.3}) | 1.00 | — | — | — |",
            floor.as_secs_f64(),
            lo.as_secs_f64(),
            hi.as_secs_f64()
        );
        if let Some(files) = results.files.get(&n) {
            let _ = writeln!(
                out,
                "| file creation in the drivers' directory (a calibration) | — | {:.0} µs per file ({} files) | — | — | — | — |",
                files.per_file_us(),
                files.files
            );
        }
        for &kind in &args.only {
            let name = if kind == Kind::Smf {
                "**smf**".to_string()
            } else {
                kind.name().to_string()
            };
            match results.rows.get(&(n, kind)) {
                None => {
                    let _ = writeln!(out, "| {name} | — | not run | | | | |");
                }
                Some(Err(reason)) => {
                    let _ = writeln!(
                        out,
                        "| {name} | — | **failed**: {} | | | | |",
                        reason.replace('|', "\\|")
                    );
                }
                Some(Ok(m)) => {
                    let restart = m.restart.as_ref().map_or_else(
                        || "—".to_string(),
                        |r| {
                            format!(
                                "{:.2} / {:.2} / {:.2} ms ({} kills)",
                                percentile(&r.to_sleep, 50.0),
                                percentile(&r.to_sleep, 99.0),
                                r.to_sleep.last().copied().unwrap_or(f64::NAN),
                                r.to_sleep.len()
                            )
                        },
                    );
                    let idle = m.idle.as_ref().map_or_else(
                        || "—".to_string(),
                        |i| {
                            format!(
                                "{} / {} ({} s; {} of {} processes, {} threads, active)",
                                i.ticks, i.switches, i.seconds, i.active, i.processes, i.threads
                            )
                        },
                    );
                    let processes = if kind == Kind::Smf {
                        format!("1, {} threads: {}", m.threads, kind.supervisor_processes())
                    } else {
                        format!("{}: {}", m.supervisors, kind.supervisor_processes())
                    };
                    let _ = writeln!(
                        out,
                        "| {name} | {processes} | {:.3} s | {:.2} | {restart} | {:.1} ({:.1}) | {idle} |",
                        m.bringup.as_secs_f64(),
                        m.bringup.as_secs_f64() / floor.as_secs_f64(),
                        mib(m.memory.pss_kib),
                        mib(m.memory.rss_kib),
                    );
                    if let Some(boot) = &m.boot {
                        let _ = writeln!(
                            out,
                            "| {name}, same root again (a boot) | 1: svc.startd | {} |",
                            boot_cells(boot, floor)
                        );
                    }
                }
            }
        }
        if let Some(&(_, ratio, median, p99, pss)) = DINIT.iter().find(|d| d.0 == n) {
            let _ = writeln!(
                out,
                "| dinit (recorded in peer-benchmarks.md, **not measured here**) | 1 | — | {ratio:.2} | {median:.2} / {p99:.2} ms | {pss:.1} | 0 / 0 (15 s) |"
            );
        }
        out.push('\n');
    }

    // The chain.
    if let Some((length, row)) = &results.chain {
        let _ = writeln!(
            out,
            "### Dependency chain (smf only): {length} services, each requiring the previous\n"
        );
        out.push_str("| driver | bring-up | floor of the same N | × floor | target | |\n");
        out.push_str("|---|---:|---:|---:|---|---|\n");
        let floor = results.floor(*length);
        match (row, floor) {
            (Ok(m), Some(floor)) => {
                let ratio = m.bringup.as_secs_f64() / floor.as_secs_f64();
                let _ = writeln!(
                    out,
                    "| **smf**, fresh root | {:.3} s | {:.3} s | {ratio:.2} | ≤ {TARGET_BRINGUP_RATIO}× floor | {} |",
                    m.bringup.as_secs_f64(),
                    floor.as_secs_f64(),
                    verdict(ratio <= TARGET_BRINGUP_RATIO)
                );
                match &m.boot {
                    Some(Ok(took)) => {
                        let ratio = took.as_secs_f64() / floor.as_secs_f64();
                        let _ = writeln!(
                            out,
                            "| **smf**, same root again (a boot) | {:.3} s | {:.3} s | {ratio:.2} | ≤ {TARGET_BRINGUP_RATIO}× floor | {} |",
                            took.as_secs_f64(),
                            floor.as_secs_f64(),
                            verdict(ratio <= TARGET_BRINGUP_RATIO)
                        );
                    }
                    Some(Err(reason)) => {
                        let _ = writeln!(
                            out,
                            "| **smf**, same root again (a boot) | **failed**: {} | | | | |",
                            reason.replace('|', "\\|")
                        );
                    }
                    None => {}
                }
            }
            (Err(reason), _) => {
                let _ = writeln!(
                    out,
                    "| **smf** | **failed**: {} | | | | |",
                    reason.replace('|', "\\|")
                );
            }
            (Ok(_), None) => {
                let _ = writeln!(out, "| **smf** | no floor measured | | | | |");
            }
        }
        let _ = writeln!(
            out,
            "| dinit (recorded, **not measured here**) | refuses chains deeper than 32 (`MAX_DEP_DEPTH`); a chain of 30: | | {DINIT_CHAIN_30:.2} | | |\n"
        );
    }

    // Headline: smf against the best measured peer.
    let all = measures(results, &sizes);
    out.push_str(
        "### smf vs best peer (smf ÷ the best measured peer, same run; below 1× smf is ahead)\n\n",
    );
    let mut targets: Vec<(String, String, String, String)> = Vec::new();
    for measure in &all {
        let smf = measure.values.iter().find(|(k, _)| *k == Kind::Smf);
        let best = measure
            .values
            .iter()
            .filter(|(k, _)| *k != Kind::Smf)
            .min_by(|a, b| a.1.total_cmp(&b.1));
        let show = |kind: Kind, value: f64| {
            results
                .measured(measure.n, kind)
                .map_or_else(|| format!("{value}"), |m| (measure.show)(value, m))
        };
        match (smf, best) {
            (Some(&(_, s)), Some(&(peer, b))) => {
                let _ = writeln!(
                    out,
                    "- {}: smf vs best peer: **{}** ({}; smf {}, {} {})",
                    measure.label,
                    ratio_text(s, b),
                    peer.name(),
                    show(Kind::Smf, s),
                    peer.name(),
                    show(peer, b),
                );
                // Nothing beats zero: a tie at zero counts as ahead.
                let ahead = s < b || (measure.unit == "switches" && s == 0.0);
                let met = if ahead && s == b {
                    "met (a tie at 0)"
                } else {
                    verdict(ahead)
                };
                targets.push((
                    "smf ahead of every measured peer".into(),
                    measure.label.clone(),
                    format!(
                        "smf {}, best peer {} {}",
                        show(Kind::Smf, s),
                        peer.name(),
                        show(peer, b)
                    ),
                    met.into(),
                ));
            }
            (Some(_), None) => {
                let _ = writeln!(out, "- {}: no peer measured", measure.label);
            }
            (None, _) => {
                let _ = writeln!(out, "- {}: smf not measured", measure.label);
            }
        }
    }
    // dinit, recorded.
    out.push_str("\nAgainst dinit's recorded figures (peer-benchmarks.md: another run on this kind of machine, so compare ratios to each run's own floor; absolute times and memory only roughly):\n\n");
    for &(n, ratio, median, _, pss) in &DINIT {
        let (Some(m), Some(floor)) = (results.measured(n, Kind::Smf), results.floor(n)) else {
            continue;
        };
        let smf_ratio = m.bringup.as_secs_f64() / floor.as_secs_f64();
        let again = match &m.boot {
            Some(Ok(took)) => {
                let boot_ratio = took.as_secs_f64() / floor.as_secs_f64();
                format!(
                    "; on the same root again smf {boot_ratio:.2}×: smf vs dinit {:.2}×",
                    boot_ratio / ratio
                )
            }
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "- bring-up, N = {n}: smf {smf_ratio:.2}× its floor on a fresh root, dinit {ratio:.2}× its floor (recorded): smf vs dinit {:.2}×{again}",
            smf_ratio / ratio
        );
        if let Some(r) = &m.restart {
            let s = percentile(&r.to_sleep, 50.0);
            let _ = writeln!(
                out,
                "- restart median, N = {n}: smf {s:.2} ms, dinit {median:.2} ms (recorded): smf vs dinit {:.2}×",
                s / median
            );
        }
        let _ = writeln!(
            out,
            "- memory PSS, N = {n}: smf {:.1} MiB, dinit {pss:.1} MiB (recorded): smf vs dinit {:.2}×",
            mib(m.memory.pss_kib),
            mib(m.memory.pss_kib) / pss
        );
    }
    if let Some(n) = results.idle_at
        && let Some(idle) = results.measured(n, Kind::Smf).and_then(|m| m.idle.as_ref())
    {
        let _ = writeln!(
            out,
            "- idle, N = {n}: smf {} ticks / {} switches over {} s, dinit 0 / 0 over 15 s (recorded)",
            idle.ticks, idle.switches, idle.seconds
        );
    }
    if let Some((length, Ok(m))) = &results.chain
        && let Some(floor) = results.floor(*length)
    {
        let again = match &m.boot {
            Some(Ok(took)) => format!(
                " ({:.2}× on the same root again)",
                took.as_secs_f64() / floor.as_secs_f64()
            ),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "- dependency chain: smf brings up a chain of {length} at {:.2}× its floor on a fresh root{again}; dinit refuses chains deeper than 32 (its chain of 30: {DINIT_CHAIN_30:.2}× its floor, recorded)",
            m.bringup.as_secs_f64() / floor.as_secs_f64()
        );
    }

    // Targets.
    // Both bring-ups of smf, each on its own line: on a fresh root (one log file created
    // per service) and on the same root again (a boot).
    let mut bringup_targets = |measure: String, m: &Measured, floor: Duration| {
        let (value, met) = bringup_target(m.bringup, floor);
        targets.push((
            format!("bring-up ≤ {TARGET_BRINGUP_RATIO}× floor"),
            format!("{measure}, fresh root"),
            value,
            met,
        ));
        match &m.boot {
            Some(Ok(took)) => {
                let (value, met) = bringup_target(*took, floor);
                targets.push((
                    format!("bring-up ≤ {TARGET_BRINGUP_RATIO}× floor"),
                    format!("{measure}, same root again (a boot)"),
                    value,
                    met,
                ));
            }
            Some(Err(_)) => targets.push((
                format!("bring-up ≤ {TARGET_BRINGUP_RATIO}× floor"),
                format!("{measure}, same root again (a boot)"),
                "failed".into(),
                verdict(false).into(),
            )),
            None => {}
        }
    };
    for &n in &sizes {
        if let (Some(m), Some(floor)) = (results.measured(n, Kind::Smf), results.floor(n)) {
            bringup_targets(format!("bring-up, N = {n}"), m, floor);
        }
    }
    if let Some((length, Ok(m))) = &results.chain
        && let Some(floor) = results.floor(*length)
    {
        bringup_targets(format!("dependency chain of {length}"), m, floor);
    }
    if let Some(n) = results.idle_at
        && let Some(idle) = results.measured(n, Kind::Smf).and_then(|m| m.idle.as_ref())
    {
        targets.push((
            "zero idle wakeups".into(),
            format!("idle {} s, N = {n}", idle.seconds),
            format!("{} ticks / {} context switches", idle.ticks, idle.switches),
            verdict(idle.ticks == 0 && idle.switches == 0).into(),
        ));
    }
    out.push_str("\n### Targets\n\n| target | measure | smf | |\n|---|---|---|---|\n");
    for (target, measure, value, met) in &targets {
        let _ = writeln!(out, "| {target} | {measure} | {value} | {met} |");
    }
    out
}

// ---------------------------------------------------------------------------------------
// The run

/// A private copy of `svc-startd` (a rebuild during the run must not change what is
/// measured), in a directory removed at the end.
fn smf_binary() -> Result<(tempfile::TempDir, PathBuf)> {
    let exe = std::env::current_exe().map_err(|error| format!("current_exe: {error}"))?;
    let binary = exe
        .parent()
        .map(|dir| dir.join("svc-startd"))
        .ok_or("the harness has no directory")?;
    if !binary.is_file() {
        return Err(format!(
            "{} not found: build it first (cargo build --release -p smf-restarter)",
            binary.display()
        ));
    }
    let dir = tempfile::Builder::new()
        .prefix("peer-bench-bin-")
        .tempdir()
        .map_err(|error| format!("cannot create a temporary directory: {error}"))?;
    let private = dir.path().join("svc-startd");
    fs::copy(&binary, &private)
        .map_err(|error| format!("cannot copy {}: {error}", binary.display()))?;
    eprintln!(
        "peer-bench: smf: {} (copied to {})",
        binary.display(),
        private.display()
    );
    Ok((dir, private))
}

fn run(args: &Args) -> Results {
    let mut results = Results {
        machine: machine(),
        versions: Vec::new(),
        commit: smf_commit(),
        floors: BTreeMap::new(),
        files: BTreeMap::new(),
        rows: BTreeMap::new(),
        chain: None,
        idle_at: None,
        stopped: None,
        load: (load_average(), String::new()),
    };
    if let Err(error) = nix::sys::prctl::set_child_subreaper(true) {
        results.stopped = Some(format!(
            "cannot become a child subreaper ({error}): the clean-up depends on it"
        ));
        return results;
    }
    let _ = nix::sys::prctl::set_timerslack(1);
    eprintln!(
        "peer-bench: {} CPUs, {}, Linux {}",
        results.machine.cpus, results.machine.cpu, results.machine.kernel
    );

    // What can run.
    let mut unavailable: HashMap<Kind, String> = HashMap::new();
    let mut smf = None;
    let mut updated = false;
    for &kind in &args.only {
        if kind == Kind::Smf {
            match smf_binary() {
                Ok(found) => smf = Some(found),
                Err(error) => {
                    eprintln!("peer-bench: smf: {error}");
                    unavailable.insert(kind, error);
                }
            }
            continue;
        }
        match ensure_installed(kind, args.install, &mut updated) {
            Ok(()) => {
                let package = kind.package().unwrap_or(kind.name());
                let version = dpkg_version(package).unwrap_or_else(|| "(version unknown)".into());
                eprintln!("peer-bench: {}: {package} {version}", kind.name());
                results.versions.push((kind, version));
            }
            Err(error) => {
                eprintln!("peer-bench: {}: CANNOT RUN: {error}", kind.name());
                unavailable.insert(kind, error);
            }
        }
    }
    let smf_path = smf.as_ref().map(|(_, path)| path.as_path());

    results.idle_at = if args.idle_seconds == 0 {
        None
    } else if args.sizes.contains(&1000) {
        Some(1000)
    } else {
        args.sizes.last().copied()
    };
    let mut sizes = args.sizes.clone();
    sizes.dedup();
    let mut jobs: Vec<(usize, Kind, bool)> = Vec::new();
    for &n in &sizes {
        for &kind in &args.only {
            jobs.push((n, kind, false));
        }
    }
    if args.chain > 0 && args.only.contains(&Kind::Smf) {
        jobs.push((args.chain, Kind::Smf, true));
    }
    // The calibration's directories, deleted at the end of the run (deleting files slows
    // down the creations that follow, on ext4).
    let mut files_dirs = Vec::new();
    for (n, kind, chain) in jobs {
        if let Some(reason) = unavailable.get(&kind) {
            let row = Err(format!("not measured: {reason}"));
            if chain {
                results.chain = Some((n, row));
            } else {
                results.rows.insert((n, kind), row);
            }
            continue;
        }
        if let Err(error) = check_interrupted() {
            results.stopped = Some(error);
            break;
        }
        // The file-creation calibration, once per size, before its first floor.
        if let std::collections::btree_map::Entry::Vacant(entry) = results.files.entry(n) {
            match measure_file_creation("peer-bench-files-", n) {
                Ok((files, dir)) => {
                    eprintln!(
                        "peer-bench: N = {n}: file creation next to the drivers' directories: {:.0} µs per file ({} files)",
                        files.per_file_us(),
                        files.files
                    );
                    entry.insert(files);
                    files_dirs.push(dir);
                }
                Err(error) => {
                    results.stopped = Some(error);
                    break;
                }
            }
        }
        // A floor sample just before each driver.
        match measure_floor(n, args.timeout, check_interrupted) {
            Ok(floor) => {
                eprintln!("peer-bench: N = {n}: floor {:.3} s", floor.as_secs_f64());
                results.floors.entry(n).or_default().push(floor);
            }
            Err(error) => {
                results.stopped = Some(error);
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(300));
        let plan = Plan {
            n,
            chain,
            kills: if chain { 0 } else { args.kills },
            idle_seconds: if !chain && results.idle_at == Some(n) {
                args.idle_seconds
            } else {
                0
            },
            timeout: args.timeout,
        };
        eprintln!(
            "peer-bench: {} N = {n}{}",
            kind.name(),
            if chain { " (dependency chain)" } else { "" }
        );
        let row = match measure_driver(kind, &plan, smf_path) {
            Ok(measured) => Ok(measured),
            Err(Failure::Row(error)) => {
                eprintln!("peer-bench: {} N = {n}: FAILED: {error}", kind.name());
                Err(error)
            }
            Err(Failure::Fatal(error)) => {
                results.stopped = Some(format!("{} N = {n}: {error}", kind.name()));
                break;
            }
        };
        if chain {
            results.chain = Some((n, row));
        } else {
            results.rows.insert((n, kind), row);
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    drop(smf);
    drop(files_dirs);
    drop(std::mem::take(
        &mut *TO_REMOVE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    ));
    results.load.1 = load_average();
    results
}

/// The load averages (1, 5, 15 minutes).
fn load_average() -> String {
    let text = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let fields: Vec<&str> = text.split_whitespace().take(3).collect();
    if fields.is_empty() {
        "?".into()
    } else {
        fields.join(" ")
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    catch_interrupts();
    let results = run(&args);
    let section = report(&args, &results);
    println!("{section}");
    if let Some(reason) = &results.stopped {
        eprintln!("peer-bench: FAILED: {reason}");
        return ExitCode::FAILURE;
    }
    if let Some(file) = &args.write {
        if let Err(error) = write_section(file, &section, BEGIN, END, HEADING) {
            eprintln!("peer-bench: {error}");
            return ExitCode::FAILURE;
        }
        eprintln!("peer-bench: wrote {}", file.display());
    }
    ExitCode::SUCCESS
}
