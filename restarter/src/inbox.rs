//! What the engine thread waits on: one epoll set holding the pidfds of the methods it
//! forked and a bell (an eventfd) that every channel to the engine rings after a send.
//!
//! A method's exit wakes the engine thread itself, which reaps the child
//! (`waitid(P_PID)`, which looks at that child only) and goes straight on to what follows
//! (a restart's new process). Before, the reaper thread was woken, reaped and handed the
//! exit over a channel, and the engine thread was woken in turn: two wake-ups on the path
//! of every restart instead of one (see ARCHITECTURE.md, "Waiting").
//!
//! The pidfds themselves stay in the reaper's descriptor table (`reaper.rs`): in the table
//! the engine forks from, each would be copied into every new child. An epoll set refers to
//! the open files, not to descriptor numbers, so the reaper adds them to this set and closes
//! them when the engine says it is done with them ([`Inbox::done_with`]).

use std::os::fd::AsFd;
use std::sync::{Arc, Mutex, PoisonError};

use crossbeam_channel::SendError;
use nix::errno::Errno;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use nix::sys::eventfd::{EfdFlags, EventFd};

/// Epoll data of the bell (a pidfd's is `pid << 32 | descriptor`; pids are below 2^22).
const BELL: u64 = u64::MAX;

/// The engine's epoll set and bell, shared by every thread that reports to the engine.
#[derive(Debug, Clone)]
pub struct Inbox {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    epoll: Epoll,
    bell: EventFd,
    /// Pidfds (numbers in the reaper's descriptor table) whose process the engine reaped:
    /// the reaper closes them the next time it wakes.
    done: Mutex<Vec<i32>>,
}

/// What woke the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Woken {
    /// A message on one of the channels (or several).
    Bell,
    /// A forked method's process ended: reap `pid`; `pidfd` is the reaper's descriptor.
    Exited { pid: u32, pidfd: i32 },
}

impl Inbox {
    /// The epoll set and the bell. Create it before the reaper takes a descriptor table of
    /// its own, so that both tables hold the epoll set.
    pub fn new() -> std::io::Result<Inbox> {
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?;
        let bell = EventFd::from_flags(EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK)?;
        epoll.add(bell.as_fd(), EpollEvent::new(EpollFlags::EPOLLIN, BELL))?;
        Ok(Inbox {
            shared: Arc::new(Shared {
                epoll,
                bell,
                done: Mutex::new(Vec::new()),
            }),
        })
    }

    /// Wakes the engine (after a message was sent to it).
    pub fn ring(&self) {
        let _ = self.shared.bell.write(1);
    }

    /// Adds a method's pidfd (a descriptor of the calling thread's table, which must stay
    /// open until [`Inbox::take_done`] hands it back) for one event.
    pub fn watch_exit(&self, pid: u32, pidfd: std::os::fd::BorrowedFd<'_>) -> Result<(), Errno> {
        let number = u32::try_from(std::os::fd::AsRawFd::as_raw_fd(&pidfd)).unwrap_or(u32::MAX);
        let data = (u64::from(pid) << 32) | u64::from(number);
        let event = EpollEvent::new(EpollFlags::EPOLLIN | EpollFlags::EPOLLONESHOT, data);
        self.shared.epoll.add(pidfd, event)
    }

    /// Blocks until something arrives or `timeout` (milliseconds; `None`: forever) passes,
    /// and says in `woken` what arrived (nothing: the time passed).
    pub fn wait(&self, events: &mut [EpollEvent], timeout: Option<u64>, woken: &mut Vec<Woken>) {
        woken.clear();
        let timeout = match timeout {
            None => EpollTimeout::NONE,
            // Zero: look, do not wait (messages are pending, or a deadline has passed).
            Some(0) => EpollTimeout::ZERO,
            // A millisecond more, so that a deadline is never woken for early (the clock
            // counts whole milliseconds).
            Some(millis) => {
                let millis = i32::try_from(millis.saturating_add(1)).unwrap_or(i32::MAX);
                EpollTimeout::try_from(millis).unwrap_or(EpollTimeout::NONE)
            }
        };
        let count = match self.shared.epoll.wait(events, timeout) {
            Ok(count) => count,
            Err(_) => return,
        };
        for event in &events[..count] {
            match event.data() {
                BELL => {
                    let _ = self.shared.bell.read();
                    woken.push(Woken::Bell);
                }
                data => {
                    let pid = u32::try_from(data >> 32).unwrap_or(0);
                    let pidfd = i32::try_from(data & 0xffff_ffff).unwrap_or(-1);
                    woken.push(Woken::Exited { pid, pidfd });
                }
            }
        }
    }

    /// The engine reaped the process behind `pidfd`: the reaper may close it.
    pub fn done_with(&self, pidfd: i32) {
        lock(&self.shared.done).push(pidfd);
    }

    /// The pidfds the engine is done with (for the reaper to close).
    pub fn take_done(&self) -> Vec<i32> {
        std::mem::take(&mut *lock(&self.shared.done))
    }
}

/// A channel's sending end that rings the engine's bell after each message.
#[derive(Debug)]
pub struct Sender<T> {
    channel: crossbeam_channel::Sender<T>,
    inbox: Inbox,
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Sender {
            channel: self.channel.clone(),
            inbox: self.inbox.clone(),
        }
    }
}

impl<T> Sender<T> {
    /// Wraps a channel to the engine.
    pub fn new(channel: crossbeam_channel::Sender<T>, inbox: &Inbox) -> Sender<T> {
        Sender {
            channel,
            inbox: inbox.clone(),
        }
    }

    /// Sends and wakes the engine.
    pub fn send(&self, message: T) -> Result<(), SendError<T>> {
        self.channel.send(message)?;
        self.inbox.ring();
        Ok(())
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use std::os::fd::AsFd;

    fn wait(inbox: &Inbox, timeout: Option<u64>) -> Vec<Woken> {
        let mut events = [EpollEvent::empty(); 8];
        let mut woken = Vec::new();
        inbox.wait(&mut events, timeout, &mut woken);
        woken
    }

    #[test]
    fn a_send_rings_the_bell_once_and_the_message_waits_in_its_channel() {
        let inbox = Inbox::new().unwrap();
        let (tx, rx) = crossbeam_channel::unbounded();
        let sender = Sender::new(tx, &inbox);
        sender.send(1).unwrap();
        sender.send(2).unwrap();
        assert_eq!(wait(&inbox, Some(1000)), vec![Woken::Bell]);
        assert_eq!(rx.try_iter().collect::<Vec<_>>(), vec![1, 2]);
        // The bell was read: nothing more until the next send.
        assert_eq!(wait(&inbox, Some(10)), vec![]);
        let other = sender.clone();
        std::thread::spawn(move || other.send(3).unwrap());
        assert_eq!(wait(&inbox, None), vec![Woken::Bell]);
        assert_eq!(rx.try_recv().unwrap(), 3);
    }

    #[test]
    fn a_send_to_a_closed_channel_fails_without_ringing() {
        let inbox = Inbox::new().unwrap();
        let (tx, rx) = crossbeam_channel::unbounded();
        let sender = Sender::new(tx, &inbox);
        drop(rx);
        assert!(sender.send(1).is_err());
        assert_eq!(wait(&inbox, Some(0)), vec![]);
    }

    #[test]
    fn a_watched_process_wakes_the_inbox_once_with_its_pid_when_it_ends() {
        let inbox = Inbox::new().unwrap();
        let mut child = std::process::Command::new("sleep")
            .arg("0.2")
            .spawn()
            .unwrap();
        let pid = child.id();
        let pidfd = crate::contract::pidfd_open(pid).unwrap();
        inbox.watch_exit(pid, pidfd.as_fd()).unwrap();
        assert_eq!(wait(&inbox, Some(0)), vec![], "still running");
        let number = std::os::fd::AsRawFd::as_raw_fd(&pidfd);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let woken = loop {
            let woken = wait(&inbox, Some(100));
            if !woken.is_empty() || std::time::Instant::now() > deadline {
                break woken;
            }
        };
        assert_eq!(woken, vec![Woken::Exited { pid, pidfd: number }]);
        // One event per watch (the engine reaps, the reaper closes the pidfd).
        assert_eq!(wait(&inbox, Some(10)), vec![]);
        child.wait().unwrap();
        inbox.done_with(number);
        assert_eq!(inbox.take_done(), vec![number]);
        assert!(inbox.take_done().is_empty());
    }

    #[test]
    fn the_time_passes_without_anything_arriving() {
        let inbox = Inbox::new().unwrap();
        let started = std::time::Instant::now();
        assert_eq!(wait(&inbox, Some(20)), vec![]);
        assert!(started.elapsed() >= std::time::Duration::from_millis(20));
    }
}
