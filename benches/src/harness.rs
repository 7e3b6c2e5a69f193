//! What the whole-system harnesses (`startd-bench`, `peer-bench`) share: reading `/proc`,
//! the fork+exec floor, the file-creation calibration, a few statistics and formats, and
//! writing a marked section of BENCHMARKS.md.

use std::fs::{self, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// The harnesses' errors: one line for the user.
pub type Result<T> = std::result::Result<T, String>;

/// How often bring-up is polled.
pub const BRINGUP_POLL: Duration = Duration::from_millis(1);

/// Whether `/proc/PID/comm` is `sleep`.
pub fn is_sleep(pid: u32) -> bool {
    fs::read(format!("/proc/{pid}/comm")).is_ok_and(|comm| comm == b"sleep\n")
}

/// The last pid the kernel handed out (None where the kernel does not say).
pub fn last_pid() -> Option<u32> {
    fs::read_to_string("/proc/sys/kernel/ns_last_pid")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// `KEY: <number> kB`-style values of a /proc file.
pub fn proc_values(path: &str, keys: &[&str]) -> Vec<u64> {
    let text = fs::read_to_string(path).unwrap_or_default();
    keys.iter()
        .map(|key| {
            text.lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    (name.trim() == *key).then(|| value.split_whitespace().next()?.parse().ok())?
                })
                .unwrap_or(0)
        })
        .collect()
}

pub fn clock_ticks_per_second() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .and_then(|ticks| u64::try_from(ticks).ok())
        .filter(|&ticks| ticks > 0)
        .unwrap_or(100)
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

pub fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "**not met**" }
}

/// Today (UTC) as YYYY-MM-DD.
pub fn today() -> String {
    let days = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() / 86_400) as i64;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// The floor's processes, killed and reaped when it is dropped.
pub struct Floor {
    children: Vec<Child>,
}

impl Drop for Floor {
    fn drop(&mut self) {
        for child in &self.children {
            let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
        }
        for child in &mut self.children {
            let _ = child.wait();
        }
    }
}

/// The fork+exec floor: the harness starts `n` `/bin/sleep 100000` itself (posix_spawn) and
/// times them until all are `sleep`, polled like a bring-up. `check` runs at each poll (an
/// interrupted run stops there).
pub fn measure_floor(
    n: usize,
    timeout: Duration,
    mut check: impl FnMut() -> Result<()>,
) -> Result<Duration> {
    let mut floor = Floor {
        children: Vec::with_capacity(n),
    };
    let start = Instant::now();
    for _ in 0..n {
        let child = Command::new("/bin/sleep")
            .arg("100000")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|error| {
                format!(
                    "floor: spawning /bin/sleep failed after {} processes: {error}",
                    floor.children.len()
                )
            })?;
        floor.children.push(child);
    }
    let mut pending: Vec<u32> = floor.children.iter().map(Child::id).collect();
    loop {
        pending.retain(|&pid| !is_sleep(pid));
        if pending.is_empty() {
            break;
        }
        check()?;
        if start.elapsed() > timeout {
            return Err(format!(
                "floor: {} of {n} processes still not `sleep` after {timeout:?}",
                pending.len()
            ));
        }
        std::thread::sleep(BRINGUP_POLL);
    }
    let elapsed = start.elapsed();
    drop(floor);
    Ok(elapsed)
}

/// The file-creation calibration: how long creating one empty file takes in the directory
/// the roots are made in. A fresh root makes svc.startd create one log file per service, and
/// on ext4 a creation costs from ~20 µs to ~1 ms depending on how many files were deleted in
/// the last minute or so (the inode allocator skips recently deleted inodes), so a fresh-root
/// bring-up is read against this figure.
#[derive(Debug, Clone, Copy)]
pub struct FileCreation {
    pub files: usize,
    pub took: Duration,
}

impl FileCreation {
    /// Microseconds per file.
    pub fn per_file_us(&self) -> f64 {
        self.took.as_secs_f64() * 1e6 / self.files.max(1) as f64
    }
}

/// Creates `min(n, 1000)` empty files the way svc.startd creates a log (`O_WRONLY | O_CREAT |
/// O_APPEND | O_CLOEXEC`, mode 0644, then close) in a new directory `PREFIX*` in the default
/// temporary directory (where the roots are made), timed. The directory is handed back, to
/// be deleted at the end of the run: deleting it now would slow down the next creations.
pub fn measure_file_creation(prefix: &str, n: usize) -> Result<(FileCreation, tempfile::TempDir)> {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .map_err(|error| format!("cannot create a temporary directory: {error}"))?;
    let files = n.min(1000);
    let names: Vec<PathBuf> = (0..files)
        .map(|i| dir.path().join(format!("f{i:05}.log")))
        .collect();
    let start = Instant::now();
    for name in &names {
        // std opens with O_CLOEXEC already; spelled out as svc.startd does.
        OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o644)
            .custom_flags(nix::libc::O_CLOEXEC)
            .open(name)
            .map_err(|error| format!("file creation: {}: {error}", name.display()))?;
    }
    Ok((
        FileCreation {
            files,
            took: start.elapsed(),
        },
        dir,
    ))
}

/// Writes `section` between the markers `begin` and `end` of `file`, or, when the markers
/// are not there, appends `heading` and the marked section.
pub fn write_section(
    file: &Path,
    section: &str,
    begin: &str,
    end: &str,
    heading: &str,
) -> Result<()> {
    let text = match fs::read_to_string(file) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(error) => return Err(format!("{}: {error}", file.display())),
    };
    let block = format!("{begin}\n{}\n{end}", section.trim_end());
    let updated = match (text.find(begin), text.find(end)) {
        (Some(first), Some(last)) if first < last => {
            format!("{}{block}{}", &text[..first], &text[last + end.len()..])
        }
        _ => {
            let mut updated = text.trim_end().to_string();
            if !updated.is_empty() {
                updated.push_str("\n\n");
            }
            updated.push_str(heading);
            updated.push_str("\n\n");
            updated.push_str(&block);
            updated.push('\n');
            updated
        }
    };
    fs::write(file, updated).map_err(|error| format!("{}: {error}", file.display()))
}

/// The cgroup svc.startd put `service`'s process in is `0::/smf-*/<instance>`: its parent,
/// svc.startd's own per-root cgroup, under the cgroup2 mount.
pub fn startd_cgroup_of(service: u32) -> Option<PathBuf> {
    let text = fs::read_to_string(format!("/proc/{service}/cgroup")).ok()?;
    let path = text.lines().find_map(|line| line.strip_prefix("0::"))?;
    let parent = Path::new(path).parent()?;
    if !parent.file_name()?.to_str()?.starts_with("smf-") {
        return None;
    }
    let mounts = fs::read_to_string("/proc/self/mounts").ok()?;
    let mount = mounts.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        (fields.get(2) == Some(&"cgroup2")).then(|| PathBuf::from(fields[1]))
    })?;
    Some(mount.join(parent.strip_prefix("/").ok()?))
}

/// Removes svc.startd's per-root cgroup `dir` and the instance cgroups it left in it, once
/// svc.startd has exited (a cgroup still emptying is retried for up to 5 s). Says on stderr,
/// as `tool`, what it removed or could not; returns how many instance cgroups were left.
pub fn remove_startd_cgroups(tool: &str, dir: &Path) -> usize {
    if !dir.is_dir() {
        return 0;
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut left;
    loop {
        left = 0;
        let mut busy = 0;
        if let Ok(entries) = fs::read_dir(dir) {
            for entry in entries.flatten() {
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    left += 1;
                    if fs::remove_dir(entry.path()).is_err() {
                        busy += 1;
                    }
                }
            }
        }
        if busy == 0 || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    match fs::remove_dir(dir) {
        Ok(()) if left > 0 => eprintln!(
            "{tool}: removed the {left} cgroups svc.startd left in {}",
            dir.display()
        ),
        Ok(()) => {}
        Err(error) => eprintln!(
            "{tool}: cannot remove svc.startd's cgroup {}: {error}",
            dir.display()
        ),
    }
    left
}
