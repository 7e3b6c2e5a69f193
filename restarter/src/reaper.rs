//! The threads that wait for processes: the reaper (svc.startd's children, through
//! `waitid`) and the watcher (processes that are not its children, through pidfds in an
//! epoll set). Both block in the kernel until something dies: nothing polls.

use std::os::fd::BorrowedFd;
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};
use nix::errno::Errno;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
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

/// Tells the reaper that a child exists (after every spawn). Cheap: a token in a
/// one-slot channel.
#[derive(Debug, Clone)]
pub struct ReaperWake(Sender<()>);

impl ReaperWake {
    /// A child was created.
    pub fn child_created(&self) {
        // Full: a token is already waiting, which is all the reaper needs.
        let _ = self.0.try_send(());
    }
}

/// Starts the reaper thread: it waits for any child to exit and sends an [`Exit`]; with no
/// child at all it sleeps until [`ReaperWake::child_created`].
pub fn start_reaper(exits: Sender<Exit>) -> std::io::Result<ReaperWake> {
    let (wake, woken): (Sender<()>, Receiver<()>) = crossbeam_channel::bounded(1);
    std::thread::Builder::new()
        .name("reaper".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            loop {
                match waitid(Id::All, WaitPidFlag::WEXITED) {
                    Ok(status) => {
                        let Some(exit) = exit_of(status) else {
                            continue;
                        };
                        if exits.send(exit).is_err() {
                            return;
                        }
                    }
                    Err(Errno::ECHILD) => {
                        if woken.recv().is_err() {
                            return;
                        }
                    }
                    Err(Errno::EINTR) => {}
                    Err(error) => {
                        eprintln!("svc.startd: waitid: {error}");
                        if woken.recv().is_err() {
                            return;
                        }
                    }
                }
            }
        })?;
    Ok(ReaperWake(wake))
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
