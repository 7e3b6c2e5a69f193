//! Getting a batch of starts ready ahead of the engine thread.
//!
//! The engine thread forks methods one after the other. When an import starts many
//! instances (a bring-up: at once when they are independent, one after the other along a
//! chain of dependencies), each start first makes the
//! instance's cgroup (a `mkdir`) and opens its log, which on a fresh root creates the file:
//! tens of microseconds each, up to about a millisecond on an ext4 whose inode allocator is
//! skipping recently deleted inodes. The preparer thread does both for the rest of the batch
//! while the engine thread forks the first ones, on the other processor; when the engine
//! thread gets to an instance, its `mkdir` finds the directory and its open finds the file.
//! Nothing depends on it: the engine thread still makes and opens everything itself (and
//! reports any failure), so a preparer that is late, or could not do something, only costs
//! the time it would have saved.
//!
//! A single start (a restart, an enable) is not handed over: waking another thread would
//! cost more than it saves.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::Sender;

/// One start's files: its log, and its cgroup's directory (none without cgroups).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ahead {
    /// The instance's log file.
    pub log: PathBuf,
    /// The instance's cgroup directory.
    pub cgroup: Option<PathBuf>,
}

/// The preparer thread's queue.
#[derive(Debug)]
pub struct Preparer {
    batches: Sender<Vec<Ahead>>,
    /// Set by [`Preparer::finish`]: what is left of a batch is dropped.
    finished: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Preparer {
    /// Starts the thread.
    pub fn start() -> std::io::Result<Preparer> {
        let (batches, received) = crossbeam_channel::unbounded::<Vec<Ahead>>();
        let finished = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&finished);
        let thread = std::thread::Builder::new()
            .name("preparer".into())
            .stack_size(64 * 1024)
            .spawn(move || {
                for batch in received {
                    for ahead in batch {
                        if stop.load(Ordering::Relaxed) {
                            return;
                        }
                        make(&ahead);
                    }
                }
            })?;
        Ok(Preparer {
            batches,
            finished,
            thread: Some(thread),
        })
    }

    /// Stops the thread and waits for it: nothing is made after this returns (svc.startd
    /// removes the instances' cgroups next).
    pub fn finish(mut self) {
        self.finished.store(true, Ordering::Relaxed);
        drop(self.batches);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    /// Hands over what the engine thread will need after its next few starts.
    pub fn ahead(&self, batch: Vec<Ahead>) {
        if !batch.is_empty() {
            let _ = self.batches.send(batch);
        }
    }
}

/// Makes the directory and creates the log (opened as every log is). Errors are left for
/// the engine thread to meet and report.
fn make(ahead: &Ahead) {
    if let Some(dir) = &ahead.cgroup {
        let _ = std::fs::create_dir(dir);
    }
    let _ = crate::logs::open_append(&ahead.log);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use std::os::unix::fs::OpenOptionsExt;

    #[test]
    fn a_batch_is_made_on_the_preparer_thread_and_failures_are_left_alone() {
        let root = tempfile::tempdir().unwrap();
        let preparer = Preparer::start().unwrap();
        let batch = vec![
            Ahead {
                log: root.path().join("a.log"),
                cgroup: Some(root.path().join("a")),
            },
            // Cannot be made (no such parent): skipped, the next one is still made.
            Ahead {
                log: root.path().join("missing/b.log"),
                cgroup: Some(root.path().join("missing/b")),
            },
            Ahead {
                log: root.path().join("c.log"),
                cgroup: None,
            },
        ];
        preparer.ahead(batch);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !root.path().join("c.log").exists() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(root.path().join("a").is_dir());
        assert!(root.path().join("a.log").is_file());
        assert!(root.path().join("c.log").is_file());
        assert!(!root.path().join("missing").exists());
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(root.path().join("a.log"))
                .unwrap()
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o644 & !umask());
    }

    #[test]
    fn nothing_is_made_after_finish_returns() {
        let root = tempfile::tempdir().unwrap();
        // The first log is a FIFO: opening it for writing blocks the preparer until a reader
        // opens it, which the test does only once `finish` has begun.
        let gate = root.path().join("gate.log");
        nix::unistd::mkfifo(&gate, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let preparer = Preparer::start().unwrap();
        let mut batch = vec![Ahead {
            log: gate.clone(),
            cgroup: None,
        }];
        batch.extend((0..100).map(|i| Ahead {
            log: root.path().join(format!("{i}.log")),
            cgroup: Some(root.path().join(format!("{i}"))),
        }));
        preparer.ahead(batch);
        preparer.finished.store(true, Ordering::Relaxed);
        // Lets the preparer's open of the gate complete, if it got there (a reader that
        // does not wait for a writer).
        let _reader = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&gate)
            .unwrap();
        preparer.finish();
        let made: Vec<_> = std::fs::read_dir(root.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(made, vec![std::ffi::OsString::from("gate.log")]);
    }

    /// The process's umask, from `/proc/self/status` (setting it to read it would race with
    /// the other tests' files).
    fn umask() -> u32 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status
            .lines()
            .find(|line| line.starts_with("Umask:"))
            .unwrap();
        u32::from_str_radix(line.trim_start_matches("Umask:").trim(), 8).unwrap()
    }
}
