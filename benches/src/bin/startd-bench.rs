//! `startd-bench`: the whole svc.startd, measured on a temporary root (DESIGN.md §6).
//!
//! ```text
//! cargo build --release -p smf-restarter
//! cargo run --release -p smf-benches --bin startd-bench -- \
//!     [--sizes 100,1000,10000] [--kills 100] [--idle-seconds 30] [--timeout-seconds 120] \
//!     [--full-list-max N] [--list-timeout-seconds 300] [--startd-arg ARG]... \
//!     [--write BENCHMARKS.md]
//! ```
//!
//! For each size N it measures, in this order:
//!
//! 0. **File creation** (a calibration): min(N, 1000) empty files created the way svc.startd
//!    creates a log, in a new directory next to the roots, timed per file. A fresh root makes
//!    svc.startd create one log file per service, and on ext4 a creation costs ~20 µs to
//!    ~1 ms depending on how many files were deleted in the last minute or so, so the
//!    fresh-root bring-up is read against this figure.
//! 1. **The fork+exec floor**: the harness itself starts the same N processes svc.startd
//!    will, `/bin/sleep 100000` (svc.startd executes a plain command like this one directly,
//!    without `/bin/sh`), with `std::process::Command` (posix_spawn) in a tight loop, timed
//!    until all N are `sleep` (`/proc/PID/comm`); then it kills them.
//! 2. **Bring-up**: one manifest with N services `bench/sNNNNN` (a default instance enabled,
//!    `startd/duration=child`, start `/bin/sleep 100000`, stop `:kill`), given with
//!    `--manifests DIR` to `svc-startd --root TMP`. Timed from the spawn of svc-startd until
//!    all N of its children are `sleep`, polled every ~1 ms (see [`NewChildren`]: the pids
//!    handed out since the last look, not the children list, which costs ~5 ms to read at
//!    10,000; the list `/proc/PID/task/*/children` confirms the count at the end);
//!    then an empty `explain` and a full `list` confirm that all N are online (the `list`
//!    only up to `--full-list-max`, for a daemon whose `list` is too slow at large N).
//! 3. **Memory**: RSS and PSS (`/proc/PID/smaps_rollup`) one second after bring-up, and
//!    again after the `list` request.
//! 4. **Restart latency**: `--kills` distinct services' `sleep` processes are killed with
//!    SIGKILL one at a time (each has run more than 3 s, so no start-rate limit applies),
//!    timed until a new `sleep` child of svc.startd replaces it (polled the same way, with
//!    ~50 µs sleeps).
//! 5. **Idle cost** (at N = 1000, or the first size when 1000 is not asked for): CPU ticks
//!    (utime + stime) and context switches (voluntary + involuntary) summed over all of
//!    svc.startd's threads, before and after `--idle-seconds` of nothing happening.
//! 6. **Shutdown**: SIGTERM until svc.startd has stopped every service and exited.
//! 7. **Bring-up on the same root again** (a boot): svc-startd started again with the same
//!    arguments on the same root, which keeps `log/` and `repository.db` from the first run
//!    (the log files exist and are appended to, as at a boot); timed as in 2, until all N
//!    are `sleep` and `explain` is empty, then shut down as in 6. Its ratio is to the same
//!    floor.
//!
//! It prints a markdown table; `--write FILE` also replaces the section between
//! `<!-- startd-bench:begin -->` and `<!-- startd-bench:end -->` in FILE (appended when
//! absent). Nothing is asserted: it measures. Any failure (svc.startd exits, a wait times
//! out) prints what happened with svc.startd's stderr (`TMP/startd.stderr`, or
//! `TMP/startd-boot.stderr` for the second bring-up; the root is kept) and exits non-zero,
//! after killing every process it started, by pid. The roots and the calibration's
//! directories are deleted at the end of the run, not before: deleting thousands of files
//! slows down the creations that follow (ext4).

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use smf_core::protocol::{self, Request, Response};
use smf_core::state::State;

use smf_benches::harness::{
    BRINGUP_POLL, FileCreation, clock_ticks_per_second, is_sleep, last_pid, measure_file_creation,
    measure_floor, mib, percentile, proc_values, remove_startd_cgroups, startd_cgroup_of, today,
    verdict, write_section,
};

type Result<T> = std::result::Result<T, String>;

const BEGIN: &str = "<!-- startd-bench:begin -->";
const END: &str = "<!-- startd-bench:end -->";
/// The targets (DESIGN.md §6, the issue; dinit's PSS from shared/peer-benchmarks.md).
const TARGET_BRINGUP_RATIO: f64 = 1.15;
const TARGET_RESTART_MEDIAN_MS: f64 = 1.0;
const TARGET_PSS_MIB_AT_1000: f64 = 3.9;
/// A service must have run this long before it is killed (start-rate limit).
const MIN_AGE: Duration = Duration::from_secs(3);
/// Pause between two kills, so that one restart's tail does not overlap the next.
const BETWEEN_KILLS: Duration = Duration::from_millis(50);
/// The poll period while waiting for bring-up.
/// The poll period while waiting for a restart.
const RESTART_POLL: Duration = Duration::from_micros(50);

#[derive(Debug)]
struct Args {
    sizes: Vec<usize>,
    kills: usize,
    idle_seconds: u64,
    timeout: Duration,
    write: Option<PathBuf>,
    /// Sizes above this are confirmed without a full `list` (its cost grows as N²).
    full_list_max: usize,
    /// How long a full `list` may take.
    list_timeout: Duration,
    /// More svc-startd arguments (`--startd-arg=--contracts=process-group`).
    startd_args: Vec<String>,
    /// One manifest file per service (as systems ship them) instead of one of N services.
    per_service: bool,
}

const USAGE: &str = "usage: startd-bench [--sizes 100,1000,10000] [--kills 100] [--idle-seconds 30] [--timeout-seconds 120] [--full-list-max N] [--list-timeout-seconds 300] [--startd-arg ARG]... [--manifest-per-service] [--write FILE]";

fn parse_args() -> Result<Args> {
    let mut args = Args {
        sizes: vec![100, 1000, 10000],
        kills: 100,
        idle_seconds: 30,
        timeout: Duration::from_secs(120),
        write: None,
        startd_args: Vec::new(),
        full_list_max: 100_000,
        list_timeout: Duration::from_secs(300),
        per_service: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_string(), Some(value.to_string()))
            }
            _ => (arg.clone(), None),
        };
        if flag == "--help" || flag == "-h" {
            return Err(USAGE.into());
        }
        if flag == "--manifest-per-service" {
            args.per_service = true;
            continue;
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
            "--timeout-seconds" => args.timeout = Duration::from_secs(number(&value)?.max(1)),
            "--write" => args.write = Some(PathBuf::from(value)),
            "--startd-arg" => args.startd_args.push(value),
            "--full-list-max" => args.full_list_max = number(&value)? as usize,
            "--list-timeout-seconds" => {
                args.list_timeout = Duration::from_secs(number(&value)?.max(1));
            }
            _ => return Err(format!("unknown argument {arg:?}\n{USAGE}")),
        }
    }
    Ok(args)
}

// ---------------------------------------------------------------------------------------
// /proc

/// The children of every thread of `pid`.
fn children(pid: u32, out: &mut Vec<u32>, buffer: &mut String) {
    out.clear();
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return;
    };
    for task in tasks.flatten() {
        buffer.clear();
        if let Ok(mut file) = File::open(task.path().join("children")) {
            let _ = file.read_to_string(buffer);
        }
        out.extend(
            buffer
                .split_ascii_whitespace()
                .filter_map(|pid| pid.parse::<u32>().ok()),
        );
    }
}

/// `/proc/PID/stat`: its parent and whether its command is `sleep` (None: gone or a zombie).
fn parent_and_sleep(pid: u32) -> Option<(u32, bool)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?;
    let mut rest = stat.get(close + 1..)?.split_whitespace();
    let state = rest.next()?;
    if state == "Z" || state == "X" {
        return None;
    }
    let ppid = rest.next()?.parse().ok()?;
    Some((ppid, comm == "sleep"))
}

/// Finds svc.startd's new `sleep` children cheaply. Reading a children list costs ~0.5 µs per
/// child in the kernel (5 ms at 10,000, enough to compete with svc.startd for the 2 cores
/// when polled every millisecond), so instead it looks only at the pids handed out since
/// its last look (`/proc/sys/kernel/ns_last_pid`), plus the children it saw before their
/// exec. Where `ns_last_pid` is missing it falls back to the children lists.
struct NewChildren {
    cursor: Option<u32>,
    pid_max: u32,
    /// Children seen before their exec.
    pending: HashSet<u32>,
    /// Pids handed out but not yet in /proc, with when they were first missed.
    unseen: HashMap<u32, Instant>,
    /// Reported already (the fallback sees every child each time).
    reported: HashSet<u32>,
    candidates: Vec<u32>,
    buffer: String,
}

impl NewChildren {
    /// Looks for children born from now on.
    fn new() -> NewChildren {
        let pid_max = fs::read_to_string("/proc/sys/kernel/pid_max")
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(32_768);
        NewChildren {
            cursor: last_pid(),
            pid_max,
            pending: HashSet::new(),
            unseen: HashMap::new(),
            reported: HashSet::new(),
            candidates: Vec::new(),
            buffer: String::new(),
        }
    }

    /// Adds to `found` the children of `parent` that became `sleep` since the last call
    /// (each once, unless in `known`); answers whether any other new child was seen (a fork
    /// not yet exec'd).
    fn poll(&mut self, parent: u32, known: &HashMap<u32, Instant>, found: &mut Vec<u32>) -> bool {
        let mut candidates = std::mem::take(&mut self.candidates);
        candidates.clear();
        match (self.cursor, last_pid()) {
            (Some(cursor), Some(last)) => {
                if last >= cursor {
                    candidates.extend(cursor + 1..=last);
                } else {
                    candidates.extend(cursor + 1..=self.pid_max);
                    candidates.extend(1..=last);
                }
                self.cursor = Some(last);
            }
            _ => {
                let mut buffer = std::mem::take(&mut self.buffer);
                children(parent, &mut candidates, &mut buffer);
                self.buffer = buffer;
                candidates.retain(|pid| !self.reported.contains(pid));
            }
        }
        candidates.extend(self.pending.iter().copied());
        candidates.extend(self.unseen.keys().copied());
        candidates.sort_unstable();
        candidates.dedup();
        let now = Instant::now();
        let mut forked = false;
        for &pid in &candidates {
            match parent_and_sleep(pid) {
                None => {
                    self.pending.remove(&pid);
                    let since = *self.unseen.entry(pid).or_insert(now);
                    if now.duration_since(since) > Duration::from_millis(200) {
                        self.unseen.remove(&pid);
                    }
                }
                Some((ppid, sleep)) => {
                    self.unseen.remove(&pid);
                    if ppid != parent || known.contains_key(&pid) {
                        self.pending.remove(&pid);
                    } else if sleep {
                        self.pending.remove(&pid);
                        if self.reported.insert(pid) {
                            found.push(pid);
                        }
                    } else {
                        self.pending.insert(pid);
                        forked = true;
                    }
                }
            }
        }
        self.candidates = candidates;
        forked || !found.is_empty()
    }
}

/// The fields of `/proc/.../stat` after the command name (the first is the state, field 3).
fn stat_fields(path: &str) -> Option<Vec<u64>> {
    let stat = fs::read_to_string(path).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    Some(
        rest.split_whitespace()
            .map(|field| field.parse::<u64>().unwrap_or(0))
            .collect(),
    )
}

/// utime + stime of a process or thread, in clock ticks.
fn cpu_ticks(path: &str) -> Option<u64> {
    let fields = stat_fields(path)?;
    Some(fields.get(11)? + fields.get(12)?)
}

/// Whether a process exists and is not a zombie.
fn alive(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X")
    })
}

#[derive(Debug, Clone, Copy, Default)]
struct Memory {
    rss_kib: u64,
    pss_kib: u64,
    peak_rss_kib: u64,
}

fn memory(pid: u32) -> Memory {
    let rollup = proc_values(&format!("/proc/{pid}/smaps_rollup"), &["Rss", "Pss"]);
    let status = proc_values(&format!("/proc/{pid}/status"), &["VmHWM"]);
    Memory {
        rss_kib: rollup[0],
        pss_kib: rollup[1],
        peak_rss_kib: status[0],
    }
}

/// One thread's counters.
#[derive(Debug, Clone, Default)]
struct ThreadStat {
    name: String,
    ticks: u64,
    voluntary: u64,
    involuntary: u64,
}

fn thread_stats(pid: u32) -> BTreeMap<u32, ThreadStat> {
    let mut threads = BTreeMap::new();
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return threads;
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
        threads.insert(
            tid,
            ThreadStat {
                name: fs::read_to_string(format!("{base}/comm"))
                    .unwrap_or_default()
                    .trim()
                    .to_string(),
                ticks: cpu_ticks(&format!("{base}/stat")).unwrap_or(0),
                voluntary: switches[0],
                involuntary: switches[1],
            },
        );
    }
    threads
}

// ---------------------------------------------------------------------------------------
// The floor

// ---------------------------------------------------------------------------------------
// svc.startd

/// The manifest of N services.
fn manifest(n: usize) -> String {
    manifest_of(0..n, "bench")
}

/// The manifest `name` of the services `bench/sNNNNN` numbered by `services`.
fn manifest_of(services: std::ops::Range<usize>, name: &str) -> String {
    let mut xml = String::with_capacity(services.len() * 600 + 300);
    let _ = write!(
        xml,
        "<?xml version='1.0'?>\n<!DOCTYPE service_bundle SYSTEM '/usr/share/lib/xml/dtd/service_bundle.dtd.1'>\n<service_bundle type='manifest' name='{name}'>\n",
    );
    for i in services {
        let _ = write!(
            xml,
            "<service name='bench/s{i:05}' type='service' version='1'>
  <create_default_instance enabled='true'/>
  <exec_method type='method' name='start' exec='/bin/sleep 100000' timeout_seconds='10'/>
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

/// A temporary root `startd-bench-*` holding the manifest of N services in
/// `bench-manifests/` (or one manifest per service, `sNNNNN.xml`), for a first bring-up.
fn fresh_root(n: usize, per_service: bool) -> Result<tempfile::TempDir> {
    let root = tempfile::Builder::new()
        .prefix("startd-bench-")
        .tempdir()
        .map_err(|error| format!("cannot create a temporary root: {error}"))?;
    let manifests = root.path().join("bench-manifests");
    let written = fs::create_dir_all(&manifests).and_then(|()| {
        if per_service {
            (0..n).try_for_each(|i| {
                let name = format!("s{i:05}");
                fs::write(
                    manifests.join(format!("{name}.xml")),
                    manifest_of(i..i + 1, &name),
                )
            })
        } else {
            fs::write(manifests.join("bench.xml"), manifest(n))
        }
    });
    written.map_err(|error| format!("cannot write the manifests: {error}"))?;
    Ok(root)
}

/// A running svc.startd on a temporary root. Dropping it stops it (SIGTERM, then SIGKILL)
/// and kills every `sleep` child it was seen with, by pid. The root goes with it unless it
/// is taken back (`root.take()`) to be kept until the end of the run or started on again.
struct Startd {
    root: Option<tempfile::TempDir>,
    path: PathBuf,
    /// svc.startd's stderr, in the root.
    stderr: PathBuf,
    child: Option<Child>,
    pid: u32,
    /// How many services it runs.
    expected: usize,
    /// Every `sleep` child ever seen, with when it was first seen.
    sleepers: HashMap<u32, Instant>,
    /// Keep the root (a failure happened).
    keep: bool,
    /// svc.startd's cgroup (`smf-*`, holding one per instance), removed after it exits.
    cgroup: Option<PathBuf>,
    /// Whether svc.startd left cgroups behind.
    cgroups_left: Option<usize>,
    /// Services still running after svc.startd exited (or was killed).
    sleepers_left: usize,
    scratch: Vec<u32>,
    buffer: String,
}

impl Startd {
    /// Starts svc-startd on `root` (made by [`fresh_root`], possibly run on before) with
    /// `--manifests ROOT/bench-manifests`, its stderr in `ROOT/<stderr_name>`.
    fn spawn(
        binary: &Path,
        root: tempfile::TempDir,
        n: usize,
        extra: &[String],
        stderr_name: &str,
    ) -> Result<(Startd, Instant)> {
        let path = root.path().to_path_buf();
        let manifests = path.join("bench-manifests");
        let stderr_path = path.join(stderr_name);
        let stderr = File::create(&stderr_path)
            .map_err(|error| format!("cannot create {stderr_name}: {error}"))?;
        let start = Instant::now();
        let child = Command::new(binary)
            .arg("--root")
            .arg(&path)
            .arg("--manifests")
            .arg(&manifests)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(|error| format!("cannot start {}: {error}", binary.display()))?;
        let pid = child.id();
        Ok((
            Startd {
                root: Some(root),
                path,
                stderr: stderr_path,
                child: Some(child),
                pid,
                expected: n,
                cgroup: None,
                cgroups_left: None,
                sleepers_left: 0,
                sleepers: HashMap::with_capacity(n * 2),
                keep: false,
                scratch: Vec::with_capacity(n * 2),
                buffer: String::with_capacity(n * 8),
            },
            start,
        ))
    }

    /// The end of svc.startd's stderr.
    fn stderr_tail(&self, lines: usize) -> String {
        let text = fs::read_to_string(&self.stderr).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        let from = all.len().saturating_sub(lines);
        if all.is_empty() {
            "(empty)".into()
        } else {
            all[from..].join("\n")
        }
    }

    /// A failure: the message, with svc.startd's stderr; the root is kept.
    fn fail(&mut self, what: impl AsRef<str>) -> String {
        self.keep = true;
        format!(
            "{}\nsvc.startd (pid {}) stderr, last lines of {}:\n{}",
            what.as_ref(),
            self.pid,
            self.stderr.display(),
            self.stderr_tail(40)
        )
    }

    /// Fails if svc.startd has exited.
    fn check_alive(&mut self, doing: &str) -> Result<()> {
        let status = match self.child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => return Ok(()),
            Some(Ok(Some(status))) => format!("exited ({status})"),
            Some(Err(error)) => format!("cannot be waited for ({error})"),
            None => "is not running".into(),
        };
        Err(self.fail(format!("svc.startd {status} while {doing}")))
    }

    /// svc.startd's current children (into `self.scratch`).
    fn refresh_children(&mut self) {
        children(self.pid, &mut self.scratch, &mut self.buffer);
    }

    /// Looks at the current children: records new `sleep`s, answers how many children are
    /// `sleep`s.
    fn count_sleepers(&mut self) -> usize {
        self.refresh_children();
        let now = Instant::now();
        let mut count = 0;
        for &pid in &self.scratch {
            match self.sleepers.entry(pid) {
                Entry::Occupied(_) => count += 1,
                Entry::Vacant(entry) => {
                    if is_sleep(pid) {
                        entry.insert(now);
                        count += 1;
                    }
                }
            }
        }
        count
    }

    /// One request, one response (read without a length limit: `list` of 10,000 instances
    /// is several MB).
    fn request(&mut self, request: &Request, timeout: Duration) -> Result<Response> {
        let socket = self.path.join("run/startd.sock");
        // The socket may not exist yet (or not accept yet) right after bring-up.
        let connected = Instant::now();
        let stream = loop {
            match UnixStream::connect(&socket) {
                Ok(stream) => break stream,
                Err(error) if connected.elapsed() > timeout => {
                    return Err(self.fail(format!(
                        "cannot connect to {} for {request:?} after {timeout:?}: {error}",
                        socket.display()
                    )));
                }
                Err(_) => {
                    self.check_alive("connecting to its socket")?;
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        };
        let waited = connected.elapsed();
        if waited > Duration::from_millis(5) {
            eprintln!(
                "startd-bench: the control socket accepted a connection only after {:.1} ms",
                waited.as_secs_f64() * 1e3
            );
        }
        let result = (|| -> std::io::Result<Response> {
            stream.set_read_timeout(Some(timeout))?;
            let mut writer = stream.try_clone()?;
            protocol::write_line(&mut writer, request)?;
            let mut line = String::new();
            BufReader::with_capacity(1 << 20, stream).read_line(&mut line)?;
            serde_json::from_str(&line).map_err(std::io::Error::other)
        })();
        result.map_err(|error| self.fail(format!("request {request:?} failed: {error}")))
    }

    /// How svc.startd tracks processes (`ping`).
    fn contracts(&mut self, timeout: Duration) -> Result<String> {
        match self.request(&Request::Ping, timeout)? {
            Response::Pong { contracts, .. } => Ok(contracts),
            other => Err(self.fail(format!("unexpected answer to ping: {other:?}"))),
        }
    }

    /// `explain` without patterns (`svcs -x`): how many instances are not running as they
    /// should (maintenance, a method in flight, ...).
    fn explain_count(&mut self, timeout: Duration) -> Result<usize> {
        match self.request(&Request::Explain { patterns: vec![] }, timeout)? {
            Response::Explanations { explanations, .. } => Ok(explanations.len()),
            other => Err(self.fail(format!("unexpected answer to explain: {other:?}"))),
        }
    }

    /// Waits until all N services have a `sleep` child and `explain` reports nothing.
    fn wait_settled(&mut self, after: &str, limit: Duration, timeout: Duration) -> Result<()> {
        let n = self.expected;
        let start = Instant::now();
        loop {
            self.check_alive(&format!("settling after {after}"))?;
            let sleeping = self.count_sleepers();
            let unsettled = self.explain_count(timeout)?;
            if sleeping == n && unsettled == 0 {
                return Ok(());
            }
            if start.elapsed() > limit {
                return Err(self.fail(format!(
                    "{limit:?} after {after}: {sleeping} of {n} services run sleep, explain lists {unsettled} instances"
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `list`: (bench instances, those online with no transition in flight).
    fn list_online(&mut self, patterns: &[&str], timeout: Duration) -> Result<(usize, usize)> {
        let patterns = patterns.iter().map(|p| p.to_string()).collect();
        match self.request(&Request::list(patterns), timeout)? {
            Response::Instances { instances, .. } => {
                let bench: Vec<_> = instances
                    .iter()
                    .filter(|info| info.status.fmri.as_str().starts_with("svc:/bench/"))
                    .collect();
                let online = bench
                    .iter()
                    .filter(|info| {
                        info.status.state == State::Online && info.status.next_state.is_none()
                    })
                    .count();
                Ok((bench.len(), online))
            }
            other => Err(self.fail(format!("unexpected answer to list: {other:?}"))),
        }
    }

    /// SIGTERM, wait up to `timeout` for the exit, else SIGKILL; then kill what is left.
    /// Answers how long the exit took after SIGTERM (None when it had to be killed).
    fn shutdown(&mut self, timeout: Duration) -> Option<Duration> {
        // Whatever is below svc.startd now must die too.
        self.count_sleepers();
        if self.cgroup.is_none() {
            self.find_cgroup();
        }
        let extra: Vec<u32> = self.scratch.clone();
        let mut took = None;
        if let Some(mut child) = self.child.take() {
            let start = Instant::now();
            let _ = kill(Pid::from_raw(self.pid as i32), Signal::SIGTERM);
            loop {
                if let Ok(Some(_)) = child.try_wait() {
                    took = Some(start.elapsed());
                    break;
                }
                if start.elapsed() > timeout {
                    eprintln!(
                        "startd-bench: svc.startd did not exit {timeout:?} after SIGTERM: SIGKILL"
                    );
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        let mut left = 0;
        for pid in self.sleepers.keys().copied().chain(extra) {
            if pid > 1 && alive(pid) && is_sleep(pid) {
                left += 1;
                let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
            }
        }
        if left > 0 {
            eprintln!("startd-bench: killed {left} sleep processes svc.startd left behind");
        }
        self.sleepers_left = left;
        self.remove_cgroups();
        took
    }

    /// Notes the cgroup svc.startd put its services in.
    fn find_cgroup(&mut self) {
        if let Some(&pid) = self.sleepers.keys().next() {
            self.cgroup = startd_cgroup_of(pid);
        }
    }

    /// Removes the (empty) cgroups svc.startd left behind, once it has exited.
    fn remove_cgroups(&mut self) {
        if let Some(dir) = self.cgroup.take() {
            self.cgroups_left = Some(remove_startd_cgroups("startd-bench", &dir));
        }
    }
}

impl Drop for Startd {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.shutdown(Duration::from_secs(60));
        }
        if self.keep
            && let Some(root) = self.root.take()
        {
            eprintln!(
                "startd-bench: root kept for inspection: {}",
                root.keep().display()
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// One size

#[derive(Debug, Clone)]
struct Restart {
    kills: usize,
    /// Kill to the new `sleep`, ms, sorted.
    to_sleep: Vec<f64>,
    /// Kill to the first new child (the fork), ms, sorted.
    to_fork: Vec<f64>,
    /// The slowest kills: (to the new `sleep`, to the new child first seen), ms.
    slowest: Vec<(f64, f64)>,
}

#[derive(Debug, Clone)]
struct Idle {
    seconds: u64,
    ticks: u64,
    switches: u64,
    /// Threads with any activity: name, ticks, voluntary, involuntary.
    busy: Vec<ThreadStat>,
    threads: usize,
}

/// One bring-up, timed.
#[derive(Debug, Clone, Copy)]
struct BringUp {
    /// From the spawn of svc-startd until all N of its children are `sleep`.
    took: Duration,
    /// svc.startd's CPU ticks by then.
    startd_ticks: u64,
    /// The harness's own CPU ticks while it polled.
    harness_ticks: u64,
}

/// The second bring-up, on the same root again (a boot): the log files and the repository
/// are there from the first.
#[derive(Debug, Clone)]
struct Boot {
    bringup: BringUp,
    /// After the last `sleep`, until `explain` was empty.
    confirm: Duration,
    contracts: String,
    shutdown: Option<Duration>,
    shutdown_left: usize,
    cgroups_left: Option<usize>,
}

#[derive(Debug, Clone)]
struct SizeResult {
    n: usize,
    /// The calibration, just before the floor.
    files: FileCreation,
    floor: Duration,
    bringup: Duration,
    /// After the last `sleep`, until `list` showed all online.
    confirm: Duration,
    bringup_cpu_ticks: u64,
    /// How long a `list` of everything took to answer, ms (not asked above --full-list-max).
    list_ms: Option<f64>,
    /// `list` of one instance, ms.
    list_one_ms: f64,
    /// `explain` of everything, ms.
    explain_ms: f64,
    contracts: String,
    memory: Memory,
    memory_after_list: Memory,
    threads: usize,
    restart: Option<Restart>,
    idle: Option<Idle>,
    shutdown: Option<Duration>,
    /// Services left running when svc.startd exited or was killed.
    shutdown_left: usize,
    /// The harness's own CPU ticks while it polled during bring-up.
    bringup_harness_ticks: u64,
    /// Instance cgroups svc.startd left behind after its exit (None: not in cgroup mode).
    cgroups_left: Option<usize>,
    boot: Boot,
}

/// How long svc.startd may take to stop everything and exit.
fn shutdown_timeout(args: &Args) -> Duration {
    Duration::from_secs(60).max(args.timeout)
}

/// Starts svc-startd on `root` and times its bring-up: from the spawn until all N of its
/// children are `sleep` (the cheap look every ~1 ms, see [`NewChildren`], confirmed by the
/// children list). `what` names the bring-up in messages.
fn bring_up(
    binary: &Path,
    root: tempfile::TempDir,
    n: usize,
    args: &Args,
    stderr_name: &str,
    what: &str,
) -> Result<(Startd, BringUp)> {
    let harness_before = cpu_ticks("/proc/self/stat").unwrap_or(0);
    let mut watcher = NewChildren::new();
    let (mut startd, start) = Startd::spawn(binary, root, n, &args.startd_args, stderr_name)?;
    let mut found = Vec::new();
    let mut full_look = Instant::now();
    let took = loop {
        watcher.poll(startd.pid, &startd.sleepers, &mut found);
        let now = Instant::now();
        for pid in found.drain(..) {
            startd.sleepers.entry(pid).or_insert(now);
        }
        if startd.sleepers.len() >= n {
            let at = start.elapsed();
            // Checked against the children list itself (once: it is costly at large N).
            if startd.count_sleepers() >= n {
                break at;
            }
        }
        // A safety net, should the cheap look miss a pid.
        if full_look.elapsed() > Duration::from_millis(500) {
            startd.count_sleepers();
            full_look = Instant::now();
        }
        startd.check_alive(&format!("waiting for the {what}"))?;
        if start.elapsed() > args.timeout {
            let seen = startd.count_sleepers();
            return Err(startd.fail(format!(
                "{what} of {n} services timed out after {:?}: {seen} sleep children",
                args.timeout
            )));
        }
        std::thread::sleep(BRINGUP_POLL);
    };
    let harness_ticks = cpu_ticks("/proc/self/stat")
        .unwrap_or(0)
        .saturating_sub(harness_before);
    startd.find_cgroup();
    let startd_ticks = cpu_ticks(&format!("/proc/{}/stat", startd.pid)).unwrap_or(0);
    Ok((
        startd,
        BringUp {
            took,
            startd_ticks,
            harness_ticks,
        },
    ))
}

/// Measures one size. Answers the figures and the directories to delete at the end of the
/// run (the root and the calibration's).
fn measure_size(
    binary: &Path,
    n: usize,
    args: &Args,
    idle_here: bool,
) -> Result<(SizeResult, Vec<tempfile::TempDir>)> {
    let (files, files_dir) = measure_file_creation("startd-bench-files-", n)?;
    eprintln!(
        "startd-bench: N = {n}: file creation next to the roots: {:.0} µs per file ({} files)",
        files.per_file_us(),
        files.files
    );
    eprintln!("startd-bench: N = {n}: fork+exec floor");
    let floor = measure_floor(n, args.timeout, || Ok(()))?;
    eprintln!("startd-bench: N = {n}: floor {:.3} s", floor.as_secs_f64());
    std::thread::sleep(Duration::from_millis(500));

    // Bring-up, on a fresh root.
    let (mut startd, fresh) = bring_up(
        binary,
        fresh_root(n, args.per_service)?,
        n,
        args,
        "startd.stderr",
        "bring-up",
    )?;
    let bringup = fresh.took;
    eprintln!(
        "startd-bench: N = {n}: bring-up {:.3} s ({:.2}x floor)",
        bringup.as_secs_f64(),
        bringup.as_secs_f64() / floor.as_secs_f64()
    );
    // Settled: nothing in flight (`explain`, cheap, polled), then memory before any `list`.
    let contracts = startd.contracts(args.timeout)?;
    let confirm_start = Instant::now();
    startd.wait_settled("bring-up", Duration::from_secs(30), args.timeout)?;
    let confirm = confirm_start.elapsed();
    std::thread::sleep(Duration::from_secs(1));
    let memory_before = memory(startd.pid);
    let threads = thread_stats(startd.pid).len();

    // `explain` and `list` of one instance: cheap requests, timed.
    let asked = Instant::now();
    startd.explain_count(args.timeout)?;
    let explain_ms = asked.elapsed().as_secs_f64() * 1e3;
    let asked = Instant::now();
    let one = startd.list_online(&["svc:/bench/s00000:default"], args.timeout)?;
    let list_one_ms = asked.elapsed().as_secs_f64() * 1e3;
    if one != (1, 1) {
        return Err(startd.fail(format!(
            "list of svc:/bench/s00000:default shows {} instances, {} online",
            one.0, one.1
        )));
    }

    // The full `list` confirms all N online (unless it is too costly at this size).
    let list_ms = if n <= args.full_list_max {
        let asked = Instant::now();
        let listed = startd.list_online(&[], args.list_timeout)?;
        let took = asked.elapsed().as_secs_f64() * 1e3;
        eprintln!(
            "startd-bench: N = {n}: list: {} bench instances, {} online (answered in {took:.1} ms)",
            listed.0, listed.1
        );
        if listed != (n, n) {
            return Err(startd.fail(format!(
                "all {n} services run sleep and none is in flight, but list shows {} bench instances, {} online",
                listed.0, listed.1
            )));
        }
        Some(took)
    } else {
        eprintln!(
            "startd-bench: N = {n}: full list skipped (N > --full-list-max {}); confirmed by {n} sleep children and an empty explain",
            args.full_list_max
        );
        None
    };
    std::thread::sleep(Duration::from_millis(200));
    let memory_after_list = memory(startd.pid);

    // Restart latency.
    let kills = args.kills.min(n);
    let restart = if kills > 0 {
        Some(measure_restarts(&mut startd, n, kills, args.timeout)?)
    } else {
        None
    };
    if restart.is_some() {
        startd.wait_settled("the kills", Duration::from_secs(30), args.timeout)?;
    }

    // Idle cost.
    let idle = if idle_here {
        std::thread::sleep(Duration::from_secs(2));
        eprintln!("startd-bench: N = {n}: idle for {} s", args.idle_seconds);
        let before = thread_stats(startd.pid);
        std::thread::sleep(Duration::from_secs(args.idle_seconds));
        let after = thread_stats(startd.pid);
        startd.check_alive("idle")?;
        let mut busy = Vec::new();
        let (mut ticks, mut switches) = (0, 0);
        for (tid, now) in &after {
            let then = before.get(tid).cloned().unwrap_or_default();
            let delta = ThreadStat {
                name: format!("{} ({tid})", now.name),
                ticks: now.ticks.saturating_sub(then.ticks),
                voluntary: now.voluntary.saturating_sub(then.voluntary),
                involuntary: now.involuntary.saturating_sub(then.involuntary),
            };
            ticks += delta.ticks;
            switches += delta.voluntary + delta.involuntary;
            if delta.ticks + delta.voluntary + delta.involuntary > 0 {
                busy.push(delta);
            }
        }
        for tid in before.keys().filter(|tid| !after.contains_key(tid)) {
            eprintln!("startd-bench: thread {tid} exited during the idle period");
        }
        Some(Idle {
            seconds: args.idle_seconds,
            ticks,
            switches,
            busy,
            threads: after.len(),
        })
    } else {
        None
    };

    eprintln!("startd-bench: N = {n}: shutdown");
    let (stopped, root) = shut_down_keeping_root(startd, args)?;
    let Stopped {
        shutdown,
        shutdown_left,
        cgroups_left,
    } = stopped;

    // Bring-up on the same root again (a boot): its logs and repository are there.
    let (boot, root) = measure_boot(binary, root, n, floor, args)?;
    Ok((
        SizeResult {
            n,
            files,
            floor,
            bringup,
            confirm,
            bringup_cpu_ticks: fresh.startd_ticks,
            list_ms,
            list_one_ms,
            explain_ms,
            contracts,
            memory: memory_before,
            memory_after_list,
            threads,
            restart,
            idle,
            shutdown,
            shutdown_left,
            cgroups_left,
            bringup_harness_ticks: fresh.harness_ticks,
            boot,
        },
        vec![root, files_dir],
    ))
}

/// The second bring-up of a size: svc-startd started again with the same arguments on the
/// root the first one ran on, timed the same way, until all N are `sleep` and `explain` is
/// empty; then shut down the same way. Answers its figures and the root (kept).
fn measure_boot(
    binary: &Path,
    root: tempfile::TempDir,
    n: usize,
    floor: Duration,
    args: &Args,
) -> Result<(Boot, tempfile::TempDir)> {
    let what = "bring-up on the same root again";
    let logs = fs::read_dir(root.path().join("log")).map_or(0, Iterator::count);
    eprintln!(
        "startd-bench: N = {n}: svc-startd again on {} ({logs} files in log/)",
        root.path().display()
    );
    let (mut startd, bringup) = bring_up(binary, root, n, args, "startd-boot.stderr", what)?;
    eprintln!(
        "startd-bench: N = {n}: {what} {:.3} s ({:.2}x floor)",
        bringup.took.as_secs_f64(),
        bringup.took.as_secs_f64() / floor.as_secs_f64()
    );
    // As after the first bring-up: `ping`, then `explain` polled until empty.
    let contracts = startd.contracts(args.timeout)?;
    let confirm_start = Instant::now();
    startd.wait_settled(what, Duration::from_secs(30), args.timeout)?;
    let confirm = confirm_start.elapsed();
    eprintln!("startd-bench: N = {n}: shutdown after the {what}");
    let (stopped, root) = shut_down_keeping_root(startd, args)?;
    let boot = Boot {
        bringup,
        confirm,
        contracts,
        shutdown: stopped.shutdown,
        shutdown_left: stopped.shutdown_left,
        cgroups_left: stopped.cgroups_left,
    };
    Ok((boot, root))
}

/// How a shutdown went.
struct Stopped {
    shutdown: Option<Duration>,
    /// Services left running when svc.startd exited (or was killed).
    shutdown_left: usize,
    /// Instance cgroups left behind (None: not in cgroup mode).
    cgroups_left: Option<usize>,
}

/// Shuts svc.startd down and answers how it went and its root, which is kept: svc.startd
/// may start on it again, and roots are deleted at the end of the run, not between sizes
/// (deleting thousands of log files right before a bring-up that creates as many would slow
/// it down on ext4). Pauses half a second for the machine to settle.
fn shut_down_keeping_root(mut startd: Startd, args: &Args) -> Result<(Stopped, tempfile::TempDir)> {
    let shutdown = startd.shutdown(shutdown_timeout(args));
    let stopped = Stopped {
        shutdown,
        shutdown_left: startd.sleepers_left,
        cgroups_left: startd.cgroups_left,
    };
    let root = startd
        .root
        .take()
        .ok_or("the root is gone after the shutdown")?;
    drop(startd);
    std::thread::sleep(Duration::from_millis(500));
    Ok((stopped, root))
}

fn measure_restarts(
    startd: &mut Startd,
    n: usize,
    kills: usize,
    timeout: Duration,
) -> Result<Restart> {
    let _ = nix::sys::prctl::set_timerslack(1);
    startd.count_sleepers();
    let mut originals: Vec<u32> = startd
        .scratch
        .iter()
        .copied()
        .filter(|pid| startd.sleepers.contains_key(pid))
        .collect();
    originals.sort_unstable();
    if originals.len() < n {
        return Err(startd.fail(format!(
            "only {} of {n} services have a sleep child before the kills",
            originals.len()
        )));
    }
    eprintln!("startd-bench: N = {n}: {kills} kills");
    let mut to_sleep = Vec::with_capacity(kills);
    let mut to_fork = Vec::with_capacity(kills);
    for k in 0..kills {
        let victim = originals[k * originals.len() / kills];
        // Old enough that the start-rate limit cannot apply.
        if let Some(&seen) = startd.sleepers.get(&victim) {
            let age = seen.elapsed();
            if age < MIN_AGE {
                std::thread::sleep(MIN_AGE - age + Duration::from_millis(10));
            }
        }
        startd.check_alive("killing services")?;
        startd.refresh_children();
        if !startd.scratch.contains(&victim) || !is_sleep(victim) {
            return Err(startd.fail(format!(
                "service process {victim} is gone before it was killed"
            )));
        }
        let known: HashSet<u32> = startd.scratch.iter().copied().collect();
        let mut watcher = NewChildren::new();
        let mut found = Vec::new();
        let mut full_look = Instant::now();
        let start = Instant::now();
        kill(Pid::from_raw(victim as i32), Signal::SIGKILL)
            .map_err(|error| format!("kill {victim}: {error}"))?;
        // Dead now: its pid may be handed out again (pids wrap at 10,000 services).
        startd.sleepers.remove(&victim);
        let mut forked = None;
        let replaced = loop {
            if watcher.poll(startd.pid, &startd.sleepers, &mut found) {
                forked.get_or_insert_with(|| start.elapsed());
            }
            if let Some(&pid) = found.first() {
                break (pid, start.elapsed());
            }
            // A safety net, should the cheap look miss a pid.
            if full_look.elapsed() > Duration::from_millis(100) {
                full_look = Instant::now();
                startd.refresh_children();
                let new = startd
                    .scratch
                    .iter()
                    .copied()
                    .find(|pid| !known.contains(pid) && is_sleep(*pid));
                if let Some(pid) = new {
                    eprintln!("startd-bench: new child {pid} found by the full look only");
                    break (pid, start.elapsed());
                }
            }
            if start.elapsed() > timeout.min(Duration::from_secs(30)) {
                return Err(startd.fail(format!(
                    "kill {} of {kills}: no new sleep child {:?} after SIGKILL of {victim}",
                    k + 1,
                    start.elapsed()
                )));
            }
            if start.elapsed() > Duration::from_secs(1) {
                startd.check_alive("restarting a service")?;
            }
            std::thread::sleep(RESTART_POLL);
        };
        let (pid, took) = replaced;
        startd.sleepers.insert(pid, Instant::now());
        to_sleep.push(took.as_secs_f64() * 1e3);
        to_fork.push(forked.unwrap_or(took).as_secs_f64() * 1e3);
        std::thread::sleep(BETWEEN_KILLS);
    }
    let mut slowest: Vec<(f64, f64)> = to_sleep
        .iter()
        .copied()
        .zip(to_fork.iter().copied())
        .collect();
    slowest.sort_by(|a, b| b.0.total_cmp(&a.0));
    slowest.truncate(3);
    to_sleep.sort_by(f64::total_cmp);
    to_fork.sort_by(f64::total_cmp);
    eprintln!(
        "startd-bench: N = {n}: restart median {:.3} ms, p99 {:.3} ms",
        percentile(&to_sleep, 50.0),
        percentile(&to_sleep, 99.0)
    );
    Ok(Restart {
        kills,
        to_sleep,
        to_fork,
        slowest,
    })
}

// ---------------------------------------------------------------------------------------
// Report

struct Machine {
    cpus: usize,
    kernel: String,
    cpu: String,
    memory_gib: f64,
    date: String,
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
    Machine {
        cpus: std::thread::available_parallelism().map_or(0, usize::from),
        kernel: fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_string(),
        cpu,
        memory_gib: memory_kib as f64 / (1024.0 * 1024.0),
        date: today(),
    }
}

fn report(args: &Args, machine: &Machine, results: &[SizeResult]) -> String {
    let tck = clock_ticks_per_second();
    let mut out = String::new();
    let sizes: Vec<String> = results.iter().map(|r| r.n.to_string()).collect();
    let _ = writeln!(
        out,
        "What is measured (`benches/src/bin/startd-bench.rs`): the real `svc-startd` on a temporary
root, given {layout} `bench/sNNNNN`, each a default instance enabled,
`startd/duration=child`, start method `/bin/sleep 100000` (a plain command: svc.startd
executes it directly, as `/bin/sh -c \"exec ...\"` would), stop `:kill`. Sizes in order, each
on a fresh root, then on the same root again (roots are deleted at the end of the run).

- Bring-up, fresh root: from the spawn of svc-startd until all N of its children are
  `sleep`, polled every ~1 ms by looking at the pids handed out since the last look
  (`/proc/sys/kernel/ns_last_pid`, then `/proc/PID/stat`: parent and command), so that a
  look costs the same at any N (reading `/proc/PID/task/*/children` costs ~5 ms at
  10,000); the children list confirms the count at the end. The harness's own CPU during
  bring-up is shown: on 2 cores it competes with svc.startd. Then an empty `explain`
  (nothing in maintenance or in flight) and a full `list` confirm all N online{skipped}.
  On a fresh root svc.startd creates one log file per service (`ROOT/log/<name>.log`), so
  this ratio depends on the file-creation figure below.
- Bring-up on the same root again (a boot): after the shutdown below, which leaves
  `ROOT/log` and `ROOT/repository.db`, svc-startd is started again on the same root with the
  same arguments and timed the same way, until all N are `sleep` and `explain` is empty;
  then it is shut down the same way. The log files exist and are appended to, as at a boot.
  Its ratio is to the same floor.
- File creation (a calibration), just before each size's floor: min(N, 1000) empty files
  created in a new directory next to the roots as svc.startd creates a log
  (`O_WRONLY|O_CREAT|O_APPEND|O_CLOEXEC`, mode 0644, then close), time per file. On ext4 it
  varies with how many files were deleted in the last minute or so (the inode allocator
  skips recently deleted inodes; ~20 µs to ~1 ms per file has been seen), which is why
  nothing is deleted before the end of the run.
- Floor, measured in the same run just before: the harness starts the same N
  `/bin/sleep 100000` itself with `std::process::Command` in a tight loop (`posix_spawn`,
  a vfork, as svc.startd's own spawn), timed the same way.
- Restart latency, at every size: {kills} distinct services' `sleep`s (each up for more than
  3 s, so no start-rate limit applies) are killed with SIGKILL one at a time, 50 ms apart,
  timed until a new `sleep` child of svc.startd replaces it (polled the same way with ~50 µs
  sleeps; the time until the new child is first seen, before its exec, is shown too).
- Idle: CPU ticks (utime + stime, {tck} per second) and context switches (voluntary +
  involuntary) summed over all svc.startd threads, over {idle} s with nothing happening.
- Memory: `/proc/PID/smaps_rollup` 1 s after bring-up (before any `list`), and after the
  full `list`; peak RSS is `VmHWM`.
- Requests, each timed once; shutdown, after each bring-up: SIGTERM until svc.startd has
  stopped everything and exited (SIGKILL after {shutdown:.0} s).

Reproduce (a few minutes at the default sizes):

```sh
cargo build --release -p smf-restarter
cargo run --release -p smf-benches --bin startd-bench -- --sizes {sizes} --kills {kills} --idle-seconds {idle}{extra} --write BENCHMARKS.md
```

Machine: {cpus} CPUs (`nproc`), {cpu} (`/proc/cpuinfo`), {mem:.0} GiB RAM, Linux {kernel}.
Date: {date}. The 2 cores are shared with other work (builds and tests ran during the run):
treat single figures as ±30 %, and compare ratios measured in the same run, not absolute
figures across runs.
",
        kills = args.kills,
        idle = args.idle_seconds,
        skipped = if results.iter().any(|r| r.list_ms.is_none()) {
            format!(" (not asked above N = {}, see its row)", args.full_list_max)
        } else {
            String::new()
        },
        shutdown = shutdown_timeout(args).as_secs_f64(),
        sizes = sizes.join(","),
        extra = args
            .startd_args
            .iter()
            .map(|arg| format!(" --startd-arg={arg}"))
            .chain(
                (args.full_list_max < 100_000)
                    .then(|| format!(" --full-list-max {}", args.full_list_max)),
            )
            .chain(args.per_service.then(|| " --manifest-per-service".to_string()))
            .collect::<String>(),
        layout = if args.per_service {
            "N manifests of one service each (`--manifest-per-service`)"
        } else {
            "one manifest of N services"
        },
        cpus = machine.cpus,
        cpu = machine.cpu,
        mem = machine.memory_gib,
        kernel = machine.kernel,
        date = machine.date,
    );
    out.push_str("| measure | N | svc.startd | same run / peer | target | |\n");
    out.push_str("|---|---:|---|---|---|---|\n");
    for r in results {
        let ratio = r.bringup.as_secs_f64() / r.floor.as_secs_f64();
        let _ = writeln!(
            out,
            "| bring-up to online, fresh root | {} | {:.3} s (**{:.2}× floor**); {:.2} s of CPU (harness polling: {:.2} s); settled {:.1} ms later | floor {:.3} s | ≤ {TARGET_BRINGUP_RATIO}× floor | {} |",
            r.n,
            r.bringup.as_secs_f64(),
            ratio,
            r.bringup_cpu_ticks as f64 / tck as f64,
            r.bringup_harness_ticks as f64 / tck as f64,
            r.confirm.as_secs_f64() * 1e3,
            r.floor.as_secs_f64(),
            verdict(ratio <= TARGET_BRINGUP_RATIO),
        );
    }
    for r in results {
        let boot = &r.boot;
        let ratio = boot.bringup.took.as_secs_f64() / r.floor.as_secs_f64();
        let _ = writeln!(
            out,
            "| bring-up, same root again (a boot) | {} | {:.3} s (**{:.2}× floor**); {:.2} s of CPU (harness polling: {:.2} s); settled {:.1} ms later | floor {:.3} s | ≤ {TARGET_BRINGUP_RATIO}× floor | {} |",
            r.n,
            boot.bringup.took.as_secs_f64(),
            ratio,
            boot.bringup.startd_ticks as f64 / tck as f64,
            boot.bringup.harness_ticks as f64 / tck as f64,
            boot.confirm.as_secs_f64() * 1e3,
            r.floor.as_secs_f64(),
            verdict(ratio <= TARGET_BRINGUP_RATIO),
        );
    }
    for r in results {
        let _ = writeln!(
            out,
            "| file creation in the roots' directory (a calibration) | {} | {:.0} µs per file ({} files) | — | — | |",
            r.n,
            r.files.per_file_us(),
            r.files.files,
        );
    }
    for r in results {
        if let Some(restart) = &r.restart {
            let median = percentile(&restart.to_sleep, 50.0);
            let _ = writeln!(
                out,
                "| restart: SIGKILL → new `sleep` | {} | median **{:.2} ms**, p99 {:.2} ms, max {:.2} ms ({} kills); new child first seen (before its exec) median {:.2} ms | dinit: 4.2 ms at 100, 21 ms at 1000 | median < {TARGET_RESTART_MEDIAN_MS} ms, flat in N | {} |",
                r.n,
                median,
                percentile(&restart.to_sleep, 99.0),
                restart.to_sleep.last().copied().unwrap_or(f64::NAN),
                restart.kills,
                percentile(&restart.to_fork, 50.0),
                verdict(median < TARGET_RESTART_MEDIAN_MS),
            );
        }
    }
    for r in results {
        if let Some(idle) = &r.idle {
            let _ = writeln!(
                out,
                "| idle ({} s): CPU ticks / context switches | {} | **{} / {}** ({} threads) | dinit, s6-svscan: 0 / 0 | 0 / 0 | {} |",
                idle.seconds,
                r.n,
                idle.ticks,
                idle.switches,
                idle.threads,
                verdict(idle.ticks == 0 && idle.switches == 0),
            );
        }
    }
    for r in results {
        let per_service = (r.memory.pss_kib as f64) / r.n as f64;
        let (target, met) = if r.n == 1000 {
            (
                format!("PSS < {TARGET_PSS_MIB_AT_1000} MiB"),
                verdict(mib(r.memory.pss_kib) < TARGET_PSS_MIB_AT_1000),
            )
        } else {
            ("—".to_string(), "")
        };
        let _ = writeln!(
            out,
            "| memory: PSS (RSS, peak RSS) | {} | **{:.1} MiB** ({:.1}, {:.1}); {:.1} KiB PSS per service; after the full `list`: {:.1} ({:.1}) | dinit: 3.9 MiB at 1000, 2.3 at 100 | {target} | {met} |",
            r.n,
            mib(r.memory.pss_kib),
            mib(r.memory.rss_kib),
            mib(r.memory.peak_rss_kib),
            per_service,
            mib(r.memory_after_list.pss_kib),
            mib(r.memory_after_list.rss_kib),
        );
    }
    for r in results {
        let full = match r.list_ms {
            Some(ms) => format!("{ms:.1} ms"),
            None => "not asked (N > --full-list-max)".into(),
        };
        let _ = writeln!(
            out,
            "| requests: `list` of all (`svcs -p`) / of one instance / `explain` (`svcs -x`) | {} | {full} / {:.1} ms / {:.1} ms | — | — | |",
            r.n, r.list_one_ms, r.explain_ms
        );
    }
    let shutdown_text = |n: usize, shutdown: Option<Duration>, left: usize| match shutdown {
        Some(took) => format!("{:.3} s", took.as_secs_f64()),
        None => format!(
            "did not exit within {:.0} s: {} of {n} services stopped by then; SIGKILL",
            shutdown_timeout(args).as_secs_f64(),
            n.saturating_sub(left),
        ),
    };
    for r in results {
        let _ = writeln!(
            out,
            "| shutdown: SIGTERM → exit, all stopped | {} | {}; after the bring-up on the same root again: {} | — | — | |",
            r.n,
            shutdown_text(r.n, r.shutdown, r.shutdown_left),
            shutdown_text(r.n, r.boot.shutdown, r.boot.shutdown_left),
        );
    }
    out.push('\n');
    for r in results {
        if let Some(restart) = &r.restart {
            let slowest: Vec<String> = restart
                .slowest
                .iter()
                .map(|(sleep, seen)| format!("{sleep:.1} ms (child first seen at {seen:.1} ms)"))
                .collect();
            let _ = writeln!(
                out,
                "- Slowest restarts at N = {}: {}.",
                r.n,
                slowest.join(", ")
            );
        }
    }
    let threads: Vec<String> = results
        .iter()
        .map(|r| format!("{} at N = {}", r.threads, r.n))
        .collect();
    let mut modes: Vec<&str> = results
        .iter()
        .flat_map(|r| [r.contracts.as_str(), r.boot.contracts.as_str()])
        .collect();
    modes.dedup();
    let _ = writeln!(
        out,
        "- svc.startd threads: {}. Process tracking (`ping`'s `contracts`): {}.",
        threads.join(", "),
        modes.join(", ")
    );
    let left: Vec<String> = results
        .iter()
        .flat_map(|r| {
            [
                r.cgroups_left
                    .filter(|&left| left > 0)
                    .map(|left| format!("{left} at N = {}", r.n)),
                r.boot
                    .cgroups_left
                    .filter(|&left| left > 0)
                    .map(|left| format!("{left} at N = {} on the same root again", r.n)),
            ]
        })
        .flatten()
        .collect();
    if !left.is_empty() {
        let _ = writeln!(
            out,
            "- After its exit svc.startd had left its instances' cgroups in place ({}); the harness removed them.",
            left.join(", ")
        );
    }
    for r in results {
        if let Some(idle) = &r.idle
            && !idle.busy.is_empty()
        {
            let busy: Vec<String> = idle
                .busy
                .iter()
                .map(|t| {
                    format!(
                        "`{}` {} ticks, {} + {} switches",
                        t.name, t.ticks, t.voluntary, t.involuntary
                    )
                })
                .collect();
            let _ = writeln!(
                out,
                "- Threads active while idle at N = {}: {}.",
                r.n,
                busy.join("; ")
            );
        }
    }
    out
}

fn run(args: &Args) -> Result<String> {
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
    // A private copy: a rebuild during the run must not change what is measured.
    let copy_dir = tempfile::Builder::new()
        .prefix("startd-bench-bin-")
        .tempdir()
        .map_err(|error| format!("cannot create a temporary directory: {error}"))?;
    let private = copy_dir.path().join("svc-startd");
    fs::copy(&binary, &private)
        .map_err(|error| format!("cannot copy {}: {error}", binary.display()))?;
    let machine = machine();
    eprintln!(
        "startd-bench: {} (copied to {}; {} CPUs, {}, Linux {})",
        binary.display(),
        private.display(),
        machine.cpus,
        machine.cpu,
        machine.kernel
    );
    let idle_at = if args.sizes.contains(&1000) {
        1000
    } else {
        args.sizes.first().copied().unwrap_or(0)
    };
    let mut results = Vec::new();
    let mut roots = Vec::new();
    let mut idle_done = false;
    for &n in &args.sizes {
        let idle_here = n == idle_at && !idle_done && args.idle_seconds > 0;
        idle_done |= idle_here;
        let (result, dirs) = measure_size(&private, n, args, idle_here)?;
        results.push(result);
        roots.extend(dirs);
    }
    drop(roots);
    Ok(report(args, &machine, &results))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(section) => {
            println!("{section}");
            if let Some(file) = &args.write {
                if let Err(error) = write_section(
                    file,
                    &section,
                    BEGIN,
                    END,
                    "## svc.startd: bring-up, restart, idle, memory",
                ) {
                    eprintln!("startd-bench: {error}");
                    return ExitCode::FAILURE;
                }
                eprintln!("startd-bench: wrote {}", file.display());
            }
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("startd-bench: FAILED: {message}");
            ExitCode::FAILURE
        }
    }
}
