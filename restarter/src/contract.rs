//! Which processes belong to which instance: SMF's process contracts, on Linux.
//!
//! svc.startd is a child subreaper (`PR_SET_CHILD_SUBREAPER`), so every process a method
//! leaves behind stays below it: when a process dies, its children are re-parented to
//! svc.startd, before the dead process can be waited for. Each start method runs in its own
//! process group. An instance's *members* are the processes svc.startd knows to be its:
//!
//! - the start method's process (svc.startd's child);
//! - every child of svc.startd that is not a method's process (an orphan re-parented to it),
//!   attributed when first seen: to the instance whose process group it is in, else to the
//!   instance named by `SMF_FMRI` in its environment (a daemon that called `setsid()` left
//!   the group but kept the environment svc.startd gave it);
//! - after a restart of svc.startd, the processes the repository lists (pid and start time
//!   checked against `/proc`), watched through pidfds since they are not its children.
//!
//! A process that is not a member is a descendant of one (or it would have been re-parented
//! to svc.startd and attributed), so "no member left" is "the contract is empty". Orphans are
//! looked for only when something exits ([`Contracts::attribute_orphans`] reads
//! `/proc/self/task/*/children`, a few entries): nothing is polled.
//!
//! Listing (`svcs -p`) and signalling walk the members' descendants through `/proc`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use nix::sys::signal::{Signal as NixSignal, kill, killpg};
use nix::unistd::Pid;
use smf_core::fmri::Fmri;
use smf_core::signal::Signal;

use crate::proc;

/// One instance's processes.
#[derive(Debug, Default)]
struct Contract {
    /// Known live members and their start times (clock ticks after boot).
    members: BTreeMap<u32, u64>,
    /// Process groups of its start methods.
    groups: BTreeSet<u32>,
    /// Members that are not svc.startd's children, watched through these pidfds.
    pidfds: BTreeMap<u32, OwnedFd>,
}

/// Every instance's contract.
#[derive(Debug, Default)]
pub struct Contracts {
    contracts: HashMap<Fmri, Contract>,
    /// Member pid -> instance.
    owner: HashMap<u32, Fmri>,
    /// Process group -> instance.
    group_owner: HashMap<u32, Fmri>,
}

/// What [`Contracts::adopt`] found.
#[derive(Debug)]
pub struct Adopted {
    /// Live processes (pid), now members.
    pub alive: Vec<u32>,
    /// Pidfds to watch for their exit (the caller registers them with the watcher).
    pub watch: Vec<(u32, i32)>,
}

impl Contracts {
    /// Nothing tracked.
    pub fn new() -> Contracts {
        Contracts::default()
    }

    /// A start method was spawned: its process (and process group) is the instance's.
    pub fn spawned(&mut self, fmri: &Fmri, pid: u32) {
        let start = proc::start_ticks(pid).unwrap_or(0);
        let contract = self.contracts.entry(fmri.clone()).or_default();
        contract.members.insert(pid, start);
        contract.groups.insert(pid);
        self.owner.insert(pid, fmri.clone());
        self.group_owner.insert(pid, fmri.clone());
    }

    /// The instance a pid belongs to, if it is a member.
    pub fn owner(&self, pid: u32) -> Option<&Fmri> {
        self.owner.get(&pid)
    }

    /// A member exited (reaped, or its pidfd said so). Returns its instance.
    pub fn exited(&mut self, pid: u32) -> Option<Fmri> {
        let fmri = self.owner.remove(&pid)?;
        if let Some(contract) = self.contracts.get_mut(&fmri) {
            contract.members.remove(&pid);
            contract.pidfds.remove(&pid);
        }
        Some(fmri)
    }

    /// Attributes svc.startd's children that are not members yet (orphans re-parented to
    /// it) to the instances they came from. `methods` are pids of method runs (never
    /// members by this route). Returns the instances that gained members.
    pub fn attribute_orphans(&mut self, methods: &HashMap<u32, Fmri>) -> Vec<Fmri> {
        let mut gained = Vec::new();
        for pid in proc::own_children() {
            if self.owner.contains_key(&pid) || methods.contains_key(&pid) {
                continue;
            }
            let Some(fmri) = self.origin(pid) else {
                continue;
            };
            if !self.contracts.contains_key(&fmri) {
                continue;
            }
            let start = proc::start_ticks(pid).unwrap_or(0);
            if let Some(contract) = self.contracts.get_mut(&fmri) {
                contract.members.insert(pid, start);
            }
            self.owner.insert(pid, fmri.clone());
            if !gained.contains(&fmri) {
                gained.push(fmri);
            }
        }
        gained
    }

    /// Which instance a process (not a member) comes from: its process group, its parents'
    /// membership, else `SMF_FMRI` in its environment.
    pub fn origin(&self, pid: u32) -> Option<Fmri> {
        let mut current = pid;
        for _ in 0..64 {
            if let Some(fmri) = self.owner.get(&current) {
                return Some(fmri.clone());
            }
            let stat = proc::stat(current)?;
            if let Some(fmri) = self.group_owner.get(&stat.pgid) {
                return Some(fmri.clone());
            }
            if stat.ppid <= 1 || stat.ppid == std::process::id() {
                break;
            }
            current = stat.ppid;
        }
        let fmri = proc::environment_variable(pid, "SMF_FMRI")?;
        let fmri = Fmri::parse(&fmri).ok()?;
        self.contracts.contains_key(&fmri).then_some(fmri)
    }

    /// Whether no member of the instance is left.
    pub fn is_empty(&self, fmri: &Fmri) -> bool {
        self.contracts
            .get(fmri)
            .is_none_or(|contract| contract.members.is_empty())
    }

    /// Every process of the instance: members and their descendants, pid order.
    pub fn processes(&self, fmri: &Fmri) -> Vec<u32> {
        let Some(contract) = self.contracts.get(fmri) else {
            return Vec::new();
        };
        let roots: Vec<u32> = contract.members.keys().copied().collect();
        proc::with_descendants(&roots)
    }

    /// Members and their start times, for the repository.
    pub fn members(&self, fmri: &Fmri) -> Vec<(u32, u64)> {
        self.contracts
            .get(fmri)
            .map(|contract| contract.members.iter().map(|(&p, &s)| (p, s)).collect())
            .unwrap_or_default()
    }

    /// Sends `signal` to every process of the instance (and its process groups).
    pub fn signal(&self, fmri: &Fmri, signal: Signal) {
        let Ok(signal) = NixSignal::try_from(signal.0) else {
            return;
        };
        if let Some(contract) = self.contracts.get(fmri) {
            for &group in &contract.groups {
                let _ = killpg(Pid::from_raw(group as i32), signal);
            }
        }
        for pid in self.processes(fmri) {
            let _ = kill(Pid::from_raw(pid as i32), signal);
        }
    }

    /// Stops tracking the instance (its processes are left alone).
    pub fn forget(&mut self, fmri: &Fmri) {
        if let Some(contract) = self.contracts.remove(fmri) {
            for pid in contract.members.keys() {
                self.owner.remove(pid);
            }
            for group in contract.groups {
                self.group_owner.remove(&group);
            }
        }
    }

    /// Takes over processes a previous svc.startd recorded, keeping those still alive (same
    /// pid and start time). Their pidfds are returned for the caller to watch; they stay
    /// open for as long as the process is a member.
    pub fn adopt(&mut self, fmri: &Fmri, recorded: &[(u32, u64)]) -> Adopted {
        let mut adopted = Adopted {
            alive: Vec::new(),
            watch: Vec::new(),
        };
        for &(pid, start) in recorded {
            if pid <= 1 || proc::start_ticks(pid) != Some(start) {
                continue;
            }
            let Some(pidfd) = pidfd_open(pid) else {
                continue;
            };
            // The process may have died between the check and the open.
            if proc::start_ticks(pid) != Some(start) {
                continue;
            }
            let raw = pidfd.as_raw_fd();
            let contract = self.contracts.entry(fmri.clone()).or_default();
            contract.members.insert(pid, start);
            contract.pidfds.insert(pid, pidfd);
            if let Some(stat) = proc::stat(pid) {
                contract.groups.insert(stat.pgid);
                self.group_owner.insert(stat.pgid, fmri.clone());
            }
            self.owner.insert(pid, fmri.clone());
            adopted.alive.push(pid);
            adopted.watch.push((pid, raw));
        }
        adopted
    }

    /// Instances with a contract.
    pub fn instances(&self) -> impl Iterator<Item = &Fmri> {
        self.contracts.keys()
    }
}

/// `pidfd_open(2)`: a descriptor that becomes readable when the process exits.
#[allow(unsafe_code)]
fn pidfd_open(pid: u32) -> Option<OwnedFd> {
    // SAFETY: the syscall takes two integers and returns a new descriptor or -1; nothing
    // is borrowed. A non-negative result is a descriptor we now own.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return None;
    }
    let fd = i32::try_from(fd).ok()?;
    // SAFETY: `fd` was just returned by the kernel and nothing else owns it.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adoption_checks_the_start_time() {
        let mut contracts = Contracts::new();
        let fmri = Fmri::parse("svc:/a:default").expect("fmri");
        let me = std::process::id();
        let start = proc::start_ticks(me).expect("own stat");
        let adopted = contracts.adopt(&fmri, &[(me, start + 1), (999_999_999, 1)]);
        assert!(adopted.alive.is_empty(), "a reused pid is not adopted");
        let adopted = contracts.adopt(&fmri, &[(me, start)]);
        assert_eq!(adopted.alive, vec![me]);
        assert_eq!(contracts.owner(me), Some(&fmri));
        assert!(!contracts.is_empty(&fmri));
        assert_eq!(contracts.exited(me), Some(fmri.clone()));
        assert!(contracts.is_empty(&fmri));
    }
}
