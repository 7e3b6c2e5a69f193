//! Per-instance log files: `ROOT/log/<service with / as ->:<instance>.log`, the restarter's
//! `[ time message ]` markers, and rotation.
//!
//! A method's stdout and stderr are the log file itself (SMF: the file is opened `O_APPEND`,
//! mode 0644, and handed to the method; smf-reference.md §8). svc.startd is not in the data
//! path: no pipe, so a service keeps running and logging if svc.startd dies. The price is that
//! rotation cannot be done by the writer. It is done here by *copy-then-truncate*: the file is
//! copied to `FILE.1` (older generations shifted to `.2`, `.3`, ... and the oldest beyond
//! `keep` dropped), then truncated to 0 bytes; writers hold `O_APPEND` descriptors, so their
//! next write lands at the new end. Lines written between the copy and the truncation are
//! lost (the copy takes the length measured when the rotation began; anything appended after
//! that moment and before the truncation is gone). The window is one copy of at most
//! `max_bytes` plus what arrived since the last check.
//!
//! Sizes are checked when a file is opened for a method, when a marker is written, and by one
//! watcher thread ([`Logs::start_watcher`]) that blocks on an inotify descriptor with one
//! `IN_MODIFY` watch on the log directory (it reports writes to every file in it, by name),
//! because a service may write for days without any method running. One watch, not one per
//! file: nothing to add on a start's path and no table per instance. No timer and no
//! polling: with nothing written, the thread never wakes.
//!
//! What is not here: what the markers say (the engine's `Action::Log` messages, the
//! "Executing start method" lines), which are composed by the caller.

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use chrono::{DateTime, FixedOffset, Local, Offset, TimeZone};
use nix::errno::Errno;
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use smf_core::fmri::Fmri;

/// When to rotate and how many old generations to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// Rotate once the file is larger than this.
    pub max_bytes: u64,
    /// Old generations kept (`FILE.1` is the newest); 0 keeps none (the file is only truncated).
    pub keep: usize,
}

impl Default for Rotation {
    /// 10 MiB, three generations (`.1`, `.2`, `.3`).
    fn default() -> Rotation {
        Rotation {
            max_bytes: 10 * 1024 * 1024,
            keep: 3,
        }
    }
}

/// The log directory of one svc.startd. `Send + Sync`; shared as `Arc<Logs>`.
#[derive(Debug)]
pub struct Logs {
    dir: PathBuf,
    rotation: Rotation,
    /// Held while rotating or writing a marker, so a marker never lands in the middle of a
    /// rotation and two rotations of one file never interleave.
    writing: Mutex<()>,
    inotify: Inotify,
    /// Marker lines not written yet ([`Logs::marker_later`]), by file, in order.
    /// (A file's deferred lines, joined: only the order within a file matters.)
    deferred: Mutex<HashMap<PathBuf, String>>,
    /// Paths whose last I/O failed and was reported; a failure is reported once until the
    /// path works again.
    failing: Mutex<HashSet<PathBuf>>,
}

impl Logs {
    /// The logs in `dir`, created (mode 0755) if needed.
    pub fn new(dir: PathBuf, rotation: Rotation) -> io::Result<Logs> {
        DirBuilder::new().recursive(true).mode(0o755).create(&dir)?;
        let inotify = Inotify::init(InitFlags::IN_CLOEXEC).map_err(io::Error::from)?;
        Ok(Logs {
            dir,
            rotation,
            writing: Mutex::new(()),
            inotify,
            deferred: Mutex::new(HashMap::new()),
            failing: Mutex::new(HashSet::new()),
        })
    }

    /// `DIR/<category>-<name>:<instance>.log` (svc.startd's naming: only the service part's
    /// `/` become `-`; `smf_core::explain::log_file`).
    pub fn path(&self, fmri: &Fmri) -> PathBuf {
        let relative = smf_core::explain::log_file(fmri);
        let name = Path::new(&relative)
            .file_name()
            .map_or_else(|| relative.clone().into(), std::ffi::OsStr::to_os_string);
        self.dir.join(name)
    }

    /// The instance's log, opened for a method's stdout and stderr (`O_APPEND | O_CREAT |
    /// O_CLOEXEC`, mode 0644), rotated first if it is over the limit.
    pub fn open(&self, fmri: &Fmri) -> io::Result<File> {
        let path = self.path(fmri);
        {
            let _writing = lock(&self.writing);
            self.rotate_if_over(&path)?;
        }
        open_append(&path)
    }

    /// [`Logs::open`] and [`Logs::marker`] in one: the marker is written through the file
    /// handed to the method (one open, one size check: this is on every start's path).
    pub fn open_with_marker(&self, fmri: &Fmri, at: SystemTime, text: &str) -> io::Result<File> {
        let path = self.path(fmri);
        // Lines deferred for this file go first, so the log reads in order.
        let mut line = lock(&self.deferred).remove(&path).unwrap_or_default();
        line.push_str(&marker_line(at, text));
        let file = {
            let _writing = lock(&self.writing);
            let mut file = open_append(&path)?;
            if file.metadata()?.len() > self.rotation.max_bytes {
                self.rotate_if_over(&path)?;
            }
            let written = file.write_all(line.as_bytes());
            self.note_result(&path, written);
            file
        };
        Ok(file)
    }

    /// [`Logs::marker`], written at the next [`Logs::write_deferred`] (the end of the engine
    /// thread's turn) or before the file is next handed to a method, whichever is first: a
    /// restart's "exited" and "Stopping because" lines then cost no system call before the
    /// new process starts.
    pub fn marker_later(&self, fmri: &Fmri, at: SystemTime, text: &str) {
        let path = self.path(fmri);
        lock(&self.deferred)
            .entry(path)
            .or_default()
            .push_str(&marker_line(at, text));
    }

    /// Writes the deferred lines, each file's in order.
    pub fn write_deferred(&self) {
        let deferred = std::mem::take(&mut *lock(&self.deferred));
        for (path, text) in deferred {
            let result = {
                let _writing = lock(&self.writing);
                self.rotate_if_over(&path)
                    .and_then(|()| open_append(&path))
                    .and_then(|mut file| file.write_all(text.as_bytes()))
            };
            self.note_result(&path, result);
        }
    }

    /// Appends `[ Nov  4 09:15:02 <text> ]` (local time). Never fails: an I/O error is
    /// reported on stderr once (until the file works again) and otherwise ignored.
    pub fn marker(&self, fmri: &Fmri, at: SystemTime, text: &str) {
        let path = self.path(fmri);
        let line = marker_line(at, text);
        let result = {
            let _writing = lock(&self.writing);
            self.rotate_if_over(&path)
                .and_then(|()| open_append(&path))
                .and_then(|mut file| file.write_all(line.as_bytes()))
        };
        self.note_result(&path, result);
    }

    /// Starts the one thread that rotates files while services write to them. It blocks
    /// reading the inotify descriptor; each wake-up reads every pending event and checks each
    /// file named in them once (a burst of writes costs one check). Call it once.
    pub fn start_watcher(self: &Arc<Self>) -> io::Result<()> {
        // Writes to the files in the directory (and the truncations of rotations).
        self.inotify
            .add_watch(&self.dir, AddWatchFlags::IN_MODIFY)
            .map_err(io::Error::from)?;
        let logs = Arc::clone(self);
        std::thread::Builder::new()
            .name("log-watcher".into())
            .stack_size(64 * 1024)
            .spawn(move || logs.watch_forever())?;
        Ok(())
    }

    fn watch_forever(&self) {
        loop {
            let events = match self.inotify.read_events() {
                Ok(events) => events,
                Err(Errno::EINTR) => continue,
                Err(error) => {
                    eprintln!(
                        "svc.startd: log rotation stopped: reading inotify events: {}",
                        error.desc()
                    );
                    return;
                }
            };
            if events
                .iter()
                .any(|event| event.mask.contains(AddWatchFlags::IN_IGNORED))
            {
                // The directory is gone (or its file system unmounted): the kernel dropped
                // the watch. Files are still rotated when a method opens them or a marker is
                // written.
                eprintln!(
                    "svc.startd: {}: no longer watched; logs are rotated only when a method runs or a marker is written",
                    self.dir.display()
                );
                return;
            }
            // A burst of writes to one file costs one check. Only the logs themselves: the
            // generations a rotation writes (`.log.1`, ...) are not looked at.
            let mut to_check: Vec<&OsStr> = Vec::new();
            for event in &events {
                if let Some(name) = event.name.as_deref()
                    && Path::new(name).extension() == Some(OsStr::new("log"))
                    && !to_check.contains(&name)
                {
                    to_check.push(name);
                }
            }
            for name in to_check {
                let path = self.dir.join(name);
                // Most writes leave the file under the limit: look without the lock, so the
                // engine thread's markers never wait for this check.
                let over = std::fs::metadata(&path)
                    .is_ok_and(|metadata| metadata.len() > self.rotation.max_bytes);
                if !over {
                    continue;
                }
                let result = {
                    let _writing = lock(&self.writing);
                    self.rotate_if_over(&path)
                };
                self.note_result(&path, result);
            }
        }
    }

    /// Rotates `path` if it is larger than the limit. The caller holds `writing`.
    fn rotate_if_over(&self, path: &Path) -> io::Result<()> {
        let length = match std::fs::metadata(path) {
            Ok(metadata) => metadata.len(),
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(error) => return Err(error),
        };
        if length <= self.rotation.max_bytes {
            return Ok(());
        }
        let keep = self.rotation.keep;
        if keep > 0 {
            // Shift .keep-1 -> .keep, ..., .1 -> .2; the rename over .keep drops the oldest.
            for generation in (1..keep).rev() {
                match std::fs::rename(
                    generation_path(path, generation),
                    generation_path(path, generation + 1),
                ) {
                    Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
                    _ => {}
                }
            }
            // Copy exactly what was there when the rotation began: a writer faster than the
            // copy must not keep it going forever.
            let source = File::open(path)?;
            let mut newest = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o644)
                .open(generation_path(path, 1))?;
            io::copy(&mut source.take(length), &mut newest)?;
        }
        OpenOptions::new().write(true).open(path)?.set_len(0)
    }

    fn note_result(&self, path: &Path, result: io::Result<()>) {
        let mut failing = lock(&self.failing);
        match result {
            Ok(()) => {
                failing.remove(path);
            }
            Err(error) => {
                if failing.insert(path.to_path_buf()) {
                    eprintln!("svc.startd: log {}: {error}", path.display());
                }
            }
        }
    }
}

/// `[ Nov  4 09:15:02 text ]\n` in local time: svc.startd's `%b %e %T`, the day padded with a
/// space (smf-reference.md §8).
pub fn marker_line(at: SystemTime, text: &str) -> String {
    let mut line = String::with_capacity(text.len() + 24);
    line.push_str("[ ");
    push_stamp(&mut line, at);
    line.push(' ');
    line.push_str(text);
    line.push_str(" ]\n");
    line
}

/// Appends `at` as `%b %e %H:%M:%S` in local time. The text is formatted once a second
/// and the local time zone's offset looked up again (which reads /etc/localtime) at most
/// once a minute: a restart writes three markers within the same second, and the zone
/// rarely changes.
fn push_stamp(line: &mut String, at: SystemTime) {
    struct Cached {
        second: u64,
        minute: u64,
        offset: FixedOffset,
        text: String,
    }
    static CACHE: Mutex<Option<Cached>> = Mutex::new(None);
    let second = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let minute = second / 60;
    let mut cache = lock(&CACHE);
    if let Some(cached) = cache.as_ref()
        && cached.second == second
    {
        line.push_str(&cached.text);
        return;
    }
    let offset = match cache.as_ref() {
        Some(cached) if cached.minute == minute => cached.offset,
        _ => DateTime::<Local>::from(at).offset().fix(),
    };
    let local = DateTime::<FixedOffset>::from_naive_utc_and_offset(
        DateTime::<chrono::Utc>::from(at).naive_utc(),
        offset,
    );
    let text = stamp_text(&local);
    line.push_str(&text);
    *cache = Some(Cached {
        second,
        minute,
        offset,
        text,
    });
}

/// svc.startd's `%b %e %T`.
fn stamp_text<Zone: TimeZone>(at: &DateTime<Zone>) -> String
where
    Zone::Offset: std::fmt::Display,
{
    at.format("%b %e %H:%M:%S").to_string()
}

/// A marker at `at` in its own zone (the tests' fixed times).
#[cfg(test)]
fn format_marker<Zone: TimeZone>(at: &DateTime<Zone>, text: &str) -> String
where
    Zone::Offset: std::fmt::Display,
{
    format!("[ {} {text} ]\n", stamp_text(at))
}

/// Opens (creating it, mode 0644) a log for appending: how every log is opened, also by
/// the preparer (`prepare.rs`).
pub(crate) fn open_append(path: &Path) -> io::Result<File> {
    // std opens with O_CLOEXEC already; the flag is spelled out because it matters here: only
    // the method that is handed the file may inherit it.
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o644)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
}

/// `FILE.n`.
fn generation_path(path: &Path, generation: usize) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(format!(".{generation}"));
    PathBuf::from(name)
}

/// The data behind these mutexes stays consistent whatever panicked while holding them.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::os::unix::fs::PermissionsExt;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    use chrono::Utc;

    use super::*;

    fn fmri(text: &str) -> Fmri {
        Fmri::parse(text).unwrap()
    }

    fn logs(rotation: Rotation) -> (tempfile::TempDir, Arc<Logs>) {
        let root = tempfile::tempdir().unwrap();
        let logs = Logs::new(root.path().join("log"), rotation).unwrap();
        (root, Arc::new(logs))
    }

    fn size(path: &Path) -> u64 {
        std::fs::metadata(path).map_or(0, |metadata| metadata.len())
    }

    #[test]
    fn deferred_markers_keep_their_order_with_the_method_s_own() {
        let (_root, logs) = logs(Rotation::default());
        let app = fmri("svc:/site/app:default");
        let now = SystemTime::now();
        logs.marker_later(&app, now, "Method \"start\" exited with status 1.");
        logs.marker_later(&app, now, "Stopping because the service process exited.");
        let path = logs.path(&app);
        assert!(!path.exists(), "nothing written yet");
        let mut file = logs
            .open_with_marker(&app, now, "Executing start method (\"x\").")
            .unwrap();
        file.write_all(b"the method's own output\n").unwrap();
        logs.marker_later(&app, now, "Method \"start\" exited with status 0.");
        logs.write_deferred();
        let text = std::fs::read_to_string(&path).unwrap();
        let order = [
            "exited with status 1",
            "Stopping because",
            "Executing start",
            "own output",
            "status 0",
        ];
        let positions: Vec<usize> = order.iter().map(|part| text.find(part).unwrap()).collect();
        assert!(positions.windows(2).all(|pair| pair[0] < pair[1]), "{text}");
    }

    #[test]
    fn path_replaces_slashes_in_the_service_name_only() {
        let (_root, logs) = logs(Rotation::default());
        let path = logs.path(&fmri("svc:/network/dhcp:default"));
        assert_eq!(path.file_name().unwrap(), "network-dhcp:default.log");
        assert_eq!(path.parent().unwrap(), logs.dir);
    }

    #[test]
    fn new_creates_the_directory_with_mode_0755() {
        let (root, _logs) = logs(Rotation::default());
        let mode = std::fs::metadata(root.path().join("log"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
    }

    #[test]
    fn marker_is_svc_startd_format_with_a_space_padded_day() {
        let at = Utc.with_ymd_and_hms(2024, 11, 4, 9, 15, 2).unwrap();
        assert_eq!(
            format_marker(&at, "Enabled."),
            "[ Nov  4 09:15:02 Enabled. ]\n"
        );
        let at = Utc.with_ymd_and_hms(2024, 11, 24, 10, 0, 0).unwrap();
        assert_eq!(
            format_marker(&at, "Disabled."),
            "[ Nov 24 10:00:00 Disabled. ]\n"
        );
    }

    #[test]
    fn marker_appends_a_line_in_local_time() {
        let (_root, logs) = logs(Rotation::default());
        let instance = fmri("svc:/site/foo:default");
        let at = SystemTime::now();
        logs.marker(&instance, at, "Enabled.");
        logs.marker(&instance, at, "Executing start method (\"/bin/true\").");
        let text = std::fs::read_to_string(logs.path(&instance)).unwrap();
        let expected = format!(
            "{}{}",
            marker_line(at, "Enabled."),
            marker_line(at, "Executing start method (\"/bin/true\").")
        );
        assert_eq!(text, expected);
        let mode = std::fs::metadata(logs.path(&instance))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o644);
    }

    #[test]
    fn marker_never_panics_when_the_directory_is_gone() {
        let (root, logs) = logs(Rotation::default());
        std::fs::remove_dir_all(root.path().join("log")).unwrap();
        logs.marker(
            &fmri("svc:/site/foo:default"),
            SystemTime::now(),
            "Enabled.",
        );
        logs.marker(
            &fmri("svc:/site/foo:default"),
            SystemTime::now(),
            "Disabled.",
        );
        assert_eq!(lock(&logs.failing).len(), 1);
    }

    #[test]
    fn markers_rotate_and_keep_the_newest_generation_in_dot_1() {
        let (_root, logs) = logs(Rotation {
            max_bytes: 100,
            keep: 2,
        });
        let instance = fmri("svc:/site/foo:default");
        let path = logs.path(&instance);
        // Each round writes 150 bytes, so every marker after the first starts with a rotation.
        for round in 0..5 {
            std::fs::write(&path, format!("round {round}\n{}\n", "x".repeat(140))).unwrap();
            logs.marker(&instance, SystemTime::now(), &format!("after {round}"));
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(
                text.contains(&format!("after {round}")) && !text.contains("round"),
                "{text}"
            );
            let newest = std::fs::read_to_string(generation_path(&path, 1)).unwrap();
            assert!(newest.starts_with(&format!("round {round}\n")), "{newest}");
        }
        let older = std::fs::read_to_string(generation_path(&path, 2)).unwrap();
        assert!(older.starts_with("round 3\n"), "{older}");
        assert!(!generation_path(&path, 3).exists());
    }

    #[test]
    fn open_rotates_and_returns_an_appending_file() {
        let (_root, logs) = logs(Rotation {
            max_bytes: 10,
            keep: 1,
        });
        let instance = fmri("svc:/site/foo:default");
        let path = logs.path(&instance);
        std::fs::write(&path, "old content, more than ten bytes\n").unwrap();
        let mut file = logs.open(&instance).unwrap();
        assert_eq!(size(&path), 0);
        file.write_all(b"new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
        let newest = std::fs::read_to_string(generation_path(&path, 1)).unwrap();
        assert_eq!(newest, "old content, more than ten bytes\n");
        // The second rotation drops the first generation (keep = 1).
        std::fs::write(&path, "second content, also long\n").unwrap();
        drop(logs.open(&instance).unwrap());
        let newest = std::fs::read_to_string(generation_path(&path, 1)).unwrap();
        assert_eq!(newest, "second content, also long\n");
        assert!(!generation_path(&path, 2).exists());
    }

    #[test]
    fn keep_zero_only_truncates() {
        let (_root, logs) = logs(Rotation {
            max_bytes: 10,
            keep: 0,
        });
        let instance = fmri("svc:/site/foo:default");
        let path = logs.path(&instance);
        std::fs::write(&path, "more than ten bytes\n").unwrap();
        drop(logs.open(&instance).unwrap());
        assert_eq!(size(&path), 0);
        assert!(!generation_path(&path, 1).exists());
    }

    #[test]
    fn the_watcher_rotates_while_a_service_writes() {
        const MAX: u64 = 1024 * 1024;
        const WRITTEN: u64 = 3_000_000;
        let (_root, logs) = logs(Rotation {
            max_bytes: MAX,
            keep: 1,
        });
        logs.start_watcher().unwrap();
        let instance = fmri("svc:/site/chatty:default");
        let path = logs.path(&instance);
        let log = logs.open(&instance).unwrap();
        // The service writes through its own descriptor; svc.startd is not in the data path.
        // It writes in 100 kB pieces (whole lines) so the watcher has something to keep up with (a single
        // 3 MB burst can end before the watcher thread is scheduled at all).
        let status = Command::new("/bin/sh")
            .args([
                "-c",
                "i=0; while [ $i -lt 30 ]; do yes hello | head -c 99996; i=$((i+1)); done",
            ])
            .stdin(Stdio::null())
            .stdout(log)
            .status()
            .unwrap();
        assert!(status.success());
        let on_disk = || size(&path) + size(&generation_path(&path, 1));
        let deadline = Instant::now() + Duration::from_secs(10);
        while size(&path) > MAX && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(size(&path) <= MAX, "not rotated: {} bytes", size(&path));
        assert!(generation_path(&path, 1).exists());
        // With one generation kept, older data was dropped: less than was written is on disk,
        // and each file holds at most one limit plus what arrived while a rotation ran.
        assert!(on_disk() < WRITTEN, "{} bytes on disk", on_disk());
        assert!(size(&generation_path(&path, 1)) <= 2 * MAX);
        let text = std::fs::read_to_string(generation_path(&path, 1)).unwrap();
        assert!(
            text.lines()
                .all(|line| line == "hello" || "hello".contains(line))
        );
    }
}
