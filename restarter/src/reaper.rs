//! Waiting for processes: the reaper (svc.startd's children) and the watcher (processes that
//! are not its children, through pidfds in an epoll set). Both block in the kernel until
//! something happens: nothing polls.
//!
//! The reaper runs on svc.startd's main thread, while the engine (which forks every method)
//! runs on a thread of its own. For each method's process the reaper opens a pidfd and adds
//! it to the engine's epoll set ([`crate::inbox`]): the engine thread is woken by the exit
//! itself and reaps the process (`waitid(P_PID)`: the kernel looks at that process only,
//! where `waitid(P_ALL)` looks at every child, 10,000 of them with 10,000 services). The
//! pidfds live in a descriptor table of the reaper's own (`unshare(CLONE_FILES)`): in the
//! table the engine forks from, each would be copied into every child and closed again by
//! its exec; the engine hands their numbers back once reaped and the reaper closes them.
//! Orphans that the kernel re-parents to svc.startd (a child subreaper) are children of its
//! main thread, not of the thread that forked their ancestor: on every `SIGCHLD` (through a
//! signalfd) the reaper collects them with `waitid(P_ALL, __WNOTHREAD)`, which looks only at
//! the main thread's own children, and sends their exits over a channel. A method whose
//! pidfd could not be had makes that collection look at every child until it has been
//! reaped.

use std::collections::HashSet;
use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd};
use std::sync::{Arc, Mutex, PoisonError};

use crate::inbox::{Inbox, Sender};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use nix::sys::eventfd::{EfdFlags, EventFd};
use nix::sys::signal::{SigSet, Signal as NixSignal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
use nix::unistd::Pid;
use smf_core::engine::MethodStatus;
use smf_core::signal::Signal;

/// A process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exit {
    /// Its pid.
    pub pid: u32,
    /// How (for a watched process that was not svc.startd's child: unknown, `None`).
    pub status: Option<MethodStatus>,
}

/// Epoll data of the signalfd.
const SIGNALS: u64 = u64::MAX;
/// Epoll data of the eventfd that says the engine is done.
const DONE: u64 = u64::MAX - 1;
/// Epoll data of the pipe that brings the pids to track.
const NEW: u64 = u64::MAX - 2;

/// What the reaper and the threads that fork share.
#[derive(Debug)]
struct Shared {
    done: EventFd,
    /// Children not reaped through a pidfd: until they are, a collection looks at every
    /// child.
    untracked: Mutex<HashSet<u32>>,
    /// Where the methods' pidfds go: the engine thread waits on them.
    inbox: Inbox,
}

/// The reaper: [`Reaper::run`] on the main thread, [`ReaperHandle`] wherever methods are
/// forked.
#[derive(Debug)]
pub struct Reaper {
    shared: Arc<Shared>,
    epoll: Epoll,
    signals: SignalFd,
    new: std::fs::File,
    /// The pipe's write end, for the handles.
    new_tx: Arc<OwnedFd>,
    exits: Sender<Exit>,
}

/// Tells the reaper about children (after every fork) and when to stop.
#[derive(Debug, Clone)]
pub struct ReaperHandle {
    shared: Arc<Shared>,
    new: Arc<OwnedFd>,
}

/// Blocks `SIGCHLD` in the calling thread (and so in every thread it starts from now on):
/// the reaper reads it through a signalfd. Call before any thread exists.
pub fn block_sigchld() -> std::io::Result<()> {
    SigSet::from(NixSignal::SIGCHLD)
        .thread_block()
        .map_err(std::io::Error::from)
}

impl Reaper {
    /// The reaper's descriptors; `SIGCHLD` must already be blocked ([`block_sigchld`]).
    pub fn new(exits: Sender<Exit>, inbox: Inbox) -> std::io::Result<Reaper> {
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?;
        let signals = SignalFd::with_flags(
            &SigSet::from(NixSignal::SIGCHLD),
            SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC,
        )?;
        let done = EventFd::from_flags(EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK)?;
        let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)?;
        epoll.add(
            signals.as_fd(),
            EpollEvent::new(EpollFlags::EPOLLIN, SIGNALS),
        )?;
        epoll.add(done.as_fd(), EpollEvent::new(EpollFlags::EPOLLIN, DONE))?;
        epoll.add(read.as_fd(), EpollEvent::new(EpollFlags::EPOLLIN, NEW))?;
        Ok(Reaper {
            shared: Arc::new(Shared {
                done,
                untracked: Mutex::new(HashSet::new()),
                inbox,
            }),
            epoll,
            signals,
            new: std::fs::File::from(read),
            new_tx: Arc::new(write),
            exits,
        })
    }

    /// The handle for the threads that fork.
    pub fn handle(&self) -> ReaperHandle {
        ReaperHandle {
            shared: Arc::clone(&self.shared),
            new: Arc::clone(&self.new_tx),
        }
    }

    /// Tracks the methods' processes and collects orphans until [`ReaperHandle::finish`] (or
    /// until nobody listens for exits). Call it on
    /// the main thread once every other thread has started: it gives the calling thread a
    /// descriptor table of its own.
    pub fn run(self) {
        if let Err(error) = own_descriptor_table() {
            eprintln!(
                "svc.startd: reaper: cannot have its own descriptor table ({error}); children are reaped by looking at every child"
            );
            lock(&self.shared.untracked).insert(0);
        }
        let mut events = [EpollEvent::empty(); 64];
        loop {
            let count = match self.epoll.wait(&mut events, EpollTimeout::NONE) {
                Ok(count) => count,
                Err(Errno::EINTR) => continue,
                Err(error) => {
                    eprintln!("svc.startd: reaper: epoll_wait: {error}");
                    return;
                }
            };
            // The pidfds of processes the engine reaped since the last wake-up.
            for pidfd in self.shared.inbox.take_done() {
                drop(own(pidfd));
            }
            for event in &events[..count] {
                let delivered = match event.data() {
                    DONE => return,
                    NEW => self.track_new(),
                    SIGNALS => {
                        // Drained first: a SIGCHLD arriving during the collection is read next
                        // time, so no exit is missed.
                        while let Ok(Some(_)) = self.signals.read_signal() {}
                        self.collect()
                    }
                    _ => true,
                };
                if !delivered {
                    return;
                }
            }
        }
    }

    /// Opens a pidfd for each pid the engine sent and adds it to the engine's epoll set.
    fn track_new(&self) -> bool {
        let mut buffer = [0u8; 4 * 256];
        loop {
            let read = match (&self.new).read(&mut buffer) {
                Ok(0) => return true,
                Ok(read) => read,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => return true,
            };
            for chunk in buffer[..read].chunks_exact(4) {
                let pid = u32::from_ne_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
                self.track(pid);
            }
        }
    }

    fn track(&self, pid: u32) {
        match crate::contract::pidfd_open(pid) {
            Some(pidfd) if self.shared.inbox.watch_exit(pid, pidfd.as_fd()).is_ok() => {
                // Closed once the engine has reaped the process (`take_done`).
                let _ = pidfd.into_raw_fd();
                return;
            }
            Some(_) => {}
            // Reaped already, by a collection of every child.
            None if Errno::last() == Errno::ESRCH => return,
            None => {}
        }
        eprintln!("svc.startd: pid {pid}: no pidfd to reap it with; looking at every child");
        lock(&self.shared.untracked).insert(pid);
        // It may have exited already, its SIGCHLD consumed by a narrower collection.
        let _ = self.collect();
    }

    /// Collects the children no pidfd stands for: orphans (children of this, the main,
    /// thread) and the untracked. False when nobody listens for exits any more.
    fn collect(&self) -> bool {
        loop {
            let mut flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG;
            if lock(&self.shared.untracked).is_empty() {
                flags |= WaitPidFlag::__WNOTHREAD;
            }
            match waitid(Id::All, flags) {
                Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => return true,
                Ok(status) => {
                    let Some(exit) = exit_of(status) else {
                        continue;
                    };
                    lock(&self.shared.untracked).remove(&exit.pid);
                    if self.exits.send(exit).is_err() {
                        return false;
                    }
                }
                Err(Errno::EINTR) => {}
                Err(error) => {
                    eprintln!("svc.startd: waitid: {error}");
                    return true;
                }
            }
        }
    }
}

impl ReaperHandle {
    /// Reaps a method's process whose pidfd the engine's epoll set reported (it has
    /// exited); the pidfd goes back to the reaper to be closed. `None` when there is nothing
    /// to report: reaped already by a collection of every child, or (never expected: a
    /// pidfd is readable once its process is a zombie) still running, in which case the
    /// collection of every child takes it over.
    pub fn reap(&self, pid: u32, pidfd: i32) -> Option<Exit> {
        self.shared.inbox.done_with(pidfd);
        let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG;
        let target = Pid::from_raw(i32::try_from(pid).ok()?);
        loop {
            match waitid(Id::Pid(target), flags) {
                Ok(WaitStatus::StillAlive) => {
                    lock(&self.shared.untracked).insert(pid);
                    let _ = nix::sys::signal::kill(Pid::this(), NixSignal::SIGCHLD);
                    return None;
                }
                Ok(status) => return exit_of(status),
                Err(Errno::EINTR) => {}
                Err(_) => return None,
            }
        }
    }

    /// A child was forked: the reaper will wait for it through a pidfd.
    pub fn track(&self, pid: u32) {
        let bytes = pid.to_ne_bytes();
        match nix::unistd::write(self.new.as_fd(), &bytes) {
            Ok(4) => {}
            // The pipe is full or the reaper gone: reaped by looking at every child.
            _ => {
                lock(&self.shared.untracked).insert(pid);
                let _ = nix::sys::signal::kill(Pid::this(), NixSignal::SIGCHLD);
            }
        }
    }

    /// The engine is done: the reaper returns.
    pub fn finish(&self) {
        let _ = self.shared.done.write(1);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Gives the calling thread a descriptor table of its own (a copy of the shared one).
#[allow(unsafe_code)]
fn own_descriptor_table() -> Result<(), Errno> {
    // SAFETY: unshare takes a flag word and only changes the calling thread's descriptor
    // table: the descriptors stay valid, now referenced from both tables.
    let result = unsafe { libc::unshare(libc::CLONE_FILES) };
    Errno::result(result).map(drop)
}

#[allow(unsafe_code)]
fn own(fd: i32) -> OwnedFd {
    // SAFETY: the engine hands back (`Inbox::take_done`) a descriptor of this thread's table
    // that `Reaper::track` gave up ownership of, once, after reaping its process: nobody
    // else closes it; it is closed here, once.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

fn exit_of(status: WaitStatus) -> Option<Exit> {
    let (pid, status) = match status {
        WaitStatus::Exited(pid, code) => (pid, MethodStatus::Exited(code)),
        WaitStatus::Signaled(pid, signal, core_dumped) => (
            pid,
            MethodStatus::Signaled {
                signal: Signal(signal as i32),
                core_dumped,
            },
        ),
        _ => return None,
    };
    Some(Exit {
        pid: u32::try_from(pid.as_raw()).ok()?,
        status: Some(status),
    })
}

/// The epoll set of pidfds (processes svc.startd adopted but did not fork).
#[derive(Debug, Clone)]
pub struct Watcher {
    epoll: Arc<Epoll>,
}

impl Watcher {
    /// Starts the watcher thread; it sends an [`Exit`] (status unknown) when a watched
    /// process ends.
    pub fn start(exits: Sender<Exit>) -> std::io::Result<Watcher> {
        let epoll = Arc::new(Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?);
        let waiting = Arc::clone(&epoll);
        std::thread::Builder::new()
            .name("watcher".into())
            .stack_size(64 * 1024)
            .spawn(move || {
                let mut events = [EpollEvent::empty(); 64];
                loop {
                    match waiting.wait(&mut events, EpollTimeout::NONE) {
                        Ok(count) => {
                            for event in &events[..count] {
                                let Ok(pid) = u32::try_from(event.data()) else {
                                    continue;
                                };
                                if exits.send(Exit { pid, status: None }).is_err() {
                                    return;
                                }
                            }
                        }
                        Err(Errno::EINTR) => {}
                        Err(error) => {
                            eprintln!("svc.startd: epoll_wait: {error}");
                            return;
                        }
                    }
                }
            })?;
        Ok(Watcher { epoll })
    }

    /// Watches the process behind `pidfd` (owned by the caller, who closes it when the
    /// process is no longer a member: closing removes it from the set).
    pub fn watch(&self, pid: u32, pidfd: i32) {
        let fd = borrow(pidfd);
        let event = EpollEvent::new(
            EpollFlags::EPOLLIN | EpollFlags::EPOLLONESHOT,
            u64::from(pid),
        );
        if let Err(error) = self.epoll.add(fd, event) {
            eprintln!("svc.startd: cannot watch pid {pid}: {error}");
        }
    }
}

#[allow(unsafe_code)]
fn borrow<'a>(fd: i32) -> BorrowedFd<'a> {
    // SAFETY: callers pass a descriptor that the contract table keeps open for longer than
    // this call (epoll_ctl copies what it needs).
    unsafe { BorrowedFd::borrow_raw(fd) }
}
