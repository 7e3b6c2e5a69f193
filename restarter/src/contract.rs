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
//! looked for when an instance's last member is gone, and before a listing
//! ([`Contracts::attribute_orphans`] reads `/proc/self/task/*/children`, which costs the
//! kernel a walk of all of svc.startd's children): nothing is polled.
//!
//! Listing (`svcs -p`) and signalling walk the members' descendants through `/proc`.
//!
//! Where svc.startd can create cgroups (v2) below its own, each instance also gets one
//! ([`Cgroups`]): its start methods join it before exec, so every descendant is in it
//! whatever it does. Then attribution reads `/proc/PID/cgroup`, listing reads
//! `cgroup.procs` (signals go to each), and "empty" also requires an empty
//! `cgroup.procs` (processes found there that are not members — descendants of adopted
//! processes re-parented elsewhere — are adopted through pidfds).

use std::collections::{BTreeMap, HashMap};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::PathBuf;

use nix::sys::signal::{Signal as NixSignal, kill, killpg};
use nix::unistd::Pid;
use smallvec::SmallVec;
use smf_core::fmri::Fmri;
use smf_core::signal::Signal;

use crate::proc;

/// One instance's processes.
#[derive(Debug, Default)]
pub struct Contract {
    /// Known live members and their start times (clock ticks after boot).
    members: Members,
    /// Process groups of its start methods, each once (held inline: one or a few).
    groups: SmallVec<[u32; 4]>,
    /// Members that are not svc.startd's children, watched through these pidfds.
    pidfds: BTreeMap<u32, OwnedFd>,
    /// The last signal sent to the whole contract since its last start (given to members
    /// found later).
    last_signal: Option<Signal>,
}

/// A contract's members (pid -> start time), in pid order: a sorted vector, since an
/// instance has one or a few processes (a map's node would cost more than its entries), and
/// the usual one is held inline, without an allocation of its own.
#[derive(Debug, Default)]
struct Members(SmallVec<[(u32, u64); 1]>);

impl Members {
    fn insert(&mut self, pid: u32, start: u64) {
        match self.0.binary_search_by_key(&pid, |&(pid, _)| pid) {
            Ok(i) => self.0[i].1 = start,
            Err(i) => self.0.insert(i, (pid, start)),
        }
    }

    fn remove(&mut self, pid: u32) {
        if let Ok(i) = self.0.binary_search_by_key(&pid, |&(pid, _)| pid) {
            self.0.remove(i);
        }
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn pids(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().map(|&(pid, _)| pid)
    }
}

/// Adds a process group once.
fn add_group(groups: &mut SmallVec<[u32; 4]>, group: u32) {
    if !groups.contains(&group) {
        groups.push(group);
    }
}

/// Where a process comes from, read from `/proc` in one go (a process that reports
/// readiness may be gone by the time the engine thread looks).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lineage {
    /// The process, its parent, its parent's parent... (pid, process group), up to init
    /// or svc.startd.
    pub ancestors: Vec<(u32, u32)>,
    /// Its cgroup v2 path.
    pub cgroup: Option<String>,
    /// `SMF_FMRI` in its environment.
    pub smf_fmri: Option<String>,
}

impl Lineage {
    /// Reads the process's lineage now.
    pub fn of(pid: u32) -> Lineage {
        let mut lineage = Lineage {
            cgroup: std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
                .ok()
                .and_then(|text| {
                    text.lines()
                        .find_map(|line| line.strip_prefix("0::"))
                        .map(|path| path.trim().to_string())
                }),
            smf_fmri: proc::environment_variable(pid, "SMF_FMRI"),
            ancestors: Vec::new(),
        };
        let mut current = pid;
        for _ in 0..64 {
            let Some(stat) = proc::stat(current) else {
                break;
            };
            lineage.ancestors.push((current, stat.pgid));
            if stat.ppid <= 1 || stat.ppid == std::process::id() {
                break;
            }
            current = stat.ppid;
        }
        lineage
    }
}

/// How processes are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A cgroup v2 per instance (where possible), plus what process groups give.
    Cgroup,
    /// Process groups, the subreaper and `SMF_FMRI` only.
    ProcessGroup,
}

impl Mode {
    /// `cgroup` or `process-group`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Cgroup => "cgroup",
            Mode::ProcessGroup => "process-group",
        }
    }
}

/// svc.startd's cgroups: `<its own cgroup>/smf-<root hash>/<instance>`.
#[derive(Debug, Clone)]
pub struct Cgroups {
    base: PathBuf,
}

impl Cgroups {
    /// Finds svc.startd's own cgroup v2 and makes sure it can create and move processes
    /// into child cgroups there (a probe process is moved into one and reaped). `None`,
    /// with the reason, when it cannot: cgroup v1 only, no delegation, read-only mount.
    pub fn detect(root: &std::path::Path) -> Result<Cgroups, String> {
        let base = base_for(root)?;
        std::fs::create_dir_all(&base).map_err(|error| format!("{}: {error}", base.display()))?;
        let probe = base.join("probe");
        std::fs::create_dir_all(&probe).map_err(|error| format!("{}: {error}", probe.display()))?;
        let moved = match crate::spawn::probe_clone_into(&probe) {
            // Cloning into a cgroup needs the same rights as moving a process there.
            Ok(true) => Ok(()),
            // The kernel has no CLONE_INTO_CGROUP: methods will join by cgroup.procs.
            Ok(false) => probe_move(&probe),
            Err(why) => Err(why),
        };
        // Not removed now (a cgroup's removal waits for the kernel): `release_all` removes it
        // with the instances' cgroups when svc.startd exits.
        moved?;
        Ok(Cgroups { base })
    }

    /// The instance's cgroup directory.
    pub fn dir(&self, fmri: &Fmri) -> PathBuf {
        let name = smf_core::explain::log_file(fmri);
        let name = name
            .strip_prefix("log/")
            .unwrap_or(&name)
            .trim_end_matches(".log")
            .to_string();
        self.base.join(name)
    }

    /// Creates the instance's cgroup (if needed) and returns its `cgroup.procs`.
    pub fn prepare(&self, fmri: &Fmri) -> std::io::Result<PathBuf> {
        let dir = self.dir(fmri);
        match std::fs::create_dir(&dir) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(_) => std::fs::create_dir_all(&dir)?,
        }
        Ok(dir.join("cgroup.procs"))
    }

    /// The pids in the instance's cgroup.
    pub fn procs(&self, fmri: &Fmri) -> Vec<u32> {
        std::fs::read_to_string(self.dir(fmri).join("cgroup.procs"))
            .map(|text| {
                text.split_whitespace()
                    .filter_map(|p| p.parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Removes the instance's cgroup (only possible once empty).
    pub fn remove(&self, fmri: &Fmri) {
        let _ = std::fs::remove_dir(self.dir(fmri));
    }

    /// The instance a process's cgroup says it belongs to.
    pub fn instance_of_path(&self, path: &str, known: &HashMap<Fmri, Contract>) -> Option<Fmri> {
        let base_name = self.base.file_name()?.to_str()?;
        let (_, leaf) = path.split_once(&format!("/{base_name}/"))?;
        known
            .keys()
            .find(|fmri| self.dir(fmri).ends_with(leaf))
            .cloned()
    }
}

/// `<svc.startd's own cgroup>/smf-<root hash>`: where the instances of `root` get their
/// cgroups.
fn base_for(root: &std::path::Path) -> Result<PathBuf, String> {
    let own = std::fs::read_to_string("/proc/self/cgroup")
        .map_err(|error| format!("/proc/self/cgroup: {error}"))?;
    let relative = own
        .lines()
        .find_map(|line| line.strip_prefix("0::"))
        .ok_or("no cgroup v2 hierarchy in /proc/self/cgroup")?
        .trim()
        .to_string();
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|error| format!("/proc/self/mountinfo: {error}"))?;
    let mount = mountinfo
        .lines()
        .find_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let fstype = right.split_whitespace().next()?;
            (fstype == "cgroup2").then(|| left.split_whitespace().nth(4).map(PathBuf::from))?
        })
        .ok_or("cgroup2 is not mounted")?;
    let own_dir = mount.join(relative.trim_start_matches('/'));
    let hash = crate::manifests::hash(root.as_os_str().as_encoded_bytes());
    Ok(own_dir.join(format!("smf-{}", &hash[..12])))
}

/// Removes the empty cgroups a svc.startd of `root` (running from the caller's cgroup) left
/// behind, and their parent when it is empty: populated ones (running services) stay.
/// Returns whether nothing is left. For a process that ran svc.startd on a temporary root
/// (tests, benchmarks): a cgroup whose last process was just killed may still be busy, so
/// such a caller tries again until this holds or its own deadline passes.
pub fn remove_empty_cgroups(root: &std::path::Path) -> bool {
    match base_for(root) {
        Ok(base) => remove_empty_tree(&base),
        // No cgroup v2 here: nothing was made.
        Err(_) => true,
    }
}

/// One pass: the instances' cgroups that are empty, then the parent if it is.
fn remove_empty_tree(base: &std::path::Path) -> bool {
    if let Ok(entries) = std::fs::read_dir(base) {
        for entry in entries.flatten() {
            if entry.path().is_dir() {
                let _ = std::fs::remove_dir(entry.path());
            }
        }
    }
    match std::fs::remove_dir(base) {
        Ok(()) => true,
        Err(error) => error.kind() == std::io::ErrorKind::NotFound,
    }
}

/// Moves a short-lived child into `probe` to check that svc.startd may.
fn probe_move(probe: &std::path::Path) -> Result<(), String> {
    let mut child = std::process::Command::new("/bin/sleep")
        .arg("5")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|error| format!("cannot start a probe process: {error}"))?;
    let moved = std::fs::write(probe.join("cgroup.procs"), child.id().to_string())
        .map_err(|error| format!("{}: {error}", probe.join("cgroup.procs").display()));
    let _ = child.kill();
    let _ = child.wait();
    moved
}

/// Every instance's contract.
#[derive(Debug, Default)]
pub struct Contracts {
    /// Per-instance cgroups, when available.
    cgroups: Option<Cgroups>,
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
    /// Nothing tracked, process groups only.
    pub fn new() -> Contracts {
        Contracts::default()
    }

    /// Nothing tracked; instances get cgroups too.
    pub fn with_cgroups(cgroups: Cgroups) -> Contracts {
        Contracts {
            cgroups: Some(cgroups),
            ..Contracts::default()
        }
    }

    /// How processes are grouped.
    pub fn mode(&self) -> Mode {
        if self.cgroups.is_some() {
            Mode::Cgroup
        } else {
            Mode::ProcessGroup
        }
    }

    /// The instance's cgroup directory, made or not (none without cgroups).
    pub fn cgroup_dir(&self, fmri: &Fmri) -> Option<PathBuf> {
        self.cgroups.as_ref().map(|cgroups| cgroups.dir(fmri))
    }

    /// The `cgroup.procs` a start method of the instance joins, if cgroups are used.
    pub fn cgroup_for(&self, fmri: &Fmri) -> Option<PathBuf> {
        let cgroups = self.cgroups.as_ref()?;
        match cgroups.prepare(fmri) {
            Ok(procs) => Some(procs),
            Err(error) => {
                eprintln!(
                    "svc.startd: {fmri}: cannot create its cgroup ({error}); tracking it by process group"
                );
                None
            }
        }
    }

    /// A start method was spawned: its process (and process group) is the instance's.
    pub fn spawned(&mut self, fmri: &Fmri, pid: u32) {
        let start = proc::start_ticks(pid).unwrap_or(0);
        let contract = self.contracts.entry(fmri.clone()).or_default();
        contract.members.insert(pid, start);
        add_group(&mut contract.groups, pid);
        contract.last_signal = None;
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
            contract.members.remove(pid);
            contract.pidfds.remove(&pid);
        }
        Some(fmri)
    }

    /// Attributes svc.startd's children that are not members yet (orphans re-parented to
    /// it) to the instances they came from. `methods` are pids of method runs (never
    /// members by this route). Returns the instances that gained members.
    pub fn attribute_orphans(&mut self, is_method: impl Fn(u32) -> bool) -> Vec<Fmri> {
        let mut gained = Vec::new();
        for pid in proc::own_children() {
            if self.owner.contains_key(&pid) || is_method(pid) {
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
                // The contract is being stopped: so is this newcomer.
                if let Some(signal) = contract.last_signal
                    && let Ok(signal) = NixSignal::try_from(signal.0)
                {
                    let _ = kill(Pid::from_raw(pid as i32), signal);
                }
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
        self.origin_of(&Lineage::of(pid))
    }

    /// [`Contracts::origin`] from a snapshot taken while the process was alive.
    pub fn origin_of(&self, lineage: &Lineage) -> Option<Fmri> {
        if let (Some(cgroups), Some(path)) = (&self.cgroups, &lineage.cgroup)
            && let Some(fmri) = cgroups.instance_of_path(path, &self.contracts)
        {
            return Some(fmri);
        }
        for &(pid, pgid) in &lineage.ancestors {
            if let Some(fmri) = self.owner.get(&pid).or_else(|| self.group_owner.get(&pgid)) {
                return Some(fmri.clone());
            }
        }
        let fmri = Fmri::parse(lineage.smf_fmri.as_deref()?).ok()?;
        self.contracts.contains_key(&fmri).then_some(fmri)
    }

    /// Whether no member of the instance is left. With cgroups, a process still in the
    /// instance's cgroup that is not a member (an adopted process's descendant, re-parented
    /// outside svc.startd) is adopted through a pidfd, returned for the caller to watch.
    pub fn is_empty(&mut self, fmri: &Fmri) -> (bool, Vec<(u32, i32)>) {
        let members_left = self
            .contracts
            .get(fmri)
            .is_some_and(|contract| !contract.members.is_empty());
        if members_left {
            return (false, Vec::new());
        }
        let Some(cgroups) = &self.cgroups else {
            return (true, Vec::new());
        };
        let me = std::process::id();
        let mut strays = Vec::new();
        let mut children = Vec::new();
        for pid in cgroups.procs(fmri) {
            let Some(stat) = proc::stat(pid).filter(|stat| stat.state != 'Z') else {
                continue;
            };
            if stat.ppid == me {
                // Re-parented to svc.startd: the reaper will see it end.
                children.push((pid, stat.start_ticks));
            } else {
                strays.push((pid, stat.start_ticks));
            }
        }
        let found_children = !children.is_empty();
        if let Some(contract) = self.contracts.get_mut(fmri) {
            for &(pid, start) in &children {
                contract.members.insert(pid, start);
            }
        }
        for (pid, _) in children {
            self.owner.insert(pid, fmri.clone());
        }
        if strays.is_empty() {
            return (!found_children, Vec::new());
        }
        let adopted = self.adopt(fmri, &strays);
        (adopted.alive.is_empty() && !found_children, adopted.watch)
    }

    /// Every process of the instance: members, its cgroup's processes and their
    /// descendants (from `tree`, one reading of `/proc` for many instances), pid order.
    pub fn processes(&self, fmri: &Fmri, tree: &proc::Tree) -> Vec<u32> {
        tree.with_descendants(&self.roots(fmri))
    }

    /// The processes an instance's process list starts from: its members and its cgroup's
    /// processes (their descendants are the rest).
    pub fn roots(&self, fmri: &Fmri) -> Vec<u32> {
        let Some(contract) = self.contracts.get(fmri) else {
            return Vec::new();
        };
        let mut roots: Vec<u32> = contract.members.pids().collect();
        if let Some(cgroups) = &self.cgroups {
            roots.extend(cgroups.procs(fmri));
        }
        roots
    }

    /// The instance's contract id as `svcs` shows it (`CTID`): its cgroup's inode (the
    /// kernel's cgroup id) in cgroup mode, else the process group of its first process.
    /// None when `processes` (from [`Contracts::processes`]) is empty.
    pub fn contract_id(&self, fmri: &Fmri, processes: &[u32], tree: &proc::Tree) -> Option<u64> {
        let &first = processes.first()?;
        if let Some(cgroups) = &self.cgroups {
            use std::os::unix::fs::MetadataExt;
            if let Ok(metadata) = std::fs::metadata(cgroups.dir(fmri)) {
                return Some(metadata.ino());
            }
        }
        tree.stat(first).map(|stat| u64::from(stat.pgid))
    }

    /// Removes svc.startd's cgroup directory if nothing is left in it (at exit).
    pub fn release_all(&self) {
        if let Some(cgroups) = &self.cgroups {
            // Every process has been reaped by now, so every cgroup is empty.
            remove_empty_tree(&cgroups.base);
        }
    }

    /// Members and their start times, for the repository.
    pub fn members(&self, fmri: &Fmri) -> Vec<(u32, u64)> {
        self.contracts
            .get(fmri)
            .map(|contract| contract.members.0.to_vec())
            .unwrap_or_default()
    }

    /// Sends `signal` to every process of the instance: its cgroup, its process groups and
    /// its members, without walking `/proc`. A process that escaped all three (a daemon that
    /// called `setsid()` under a member still alive) is a member's descendant: it becomes a
    /// member when that member dies, and gets the last signal sent then
    /// ([`Contracts::attribute_orphans`]).
    pub fn signal(&mut self, fmri: &Fmri, signal: Signal) {
        if let Some(contract) = self.contracts.get_mut(fmri) {
            contract.last_signal = Some(signal);
        }
        // Not `cgroup.kill`: on this kernel (6.18) a cgroup that was once killed that way
        // kills every process later cloned into it (CLONE_INTO_CGROUP), so the instance
        // could never start again. Each process of the cgroup is signalled instead, and a
        // process forked meanwhile gets the signal when it is found (`last_signal`).
        let Ok(signal) = NixSignal::try_from(signal.0) else {
            return;
        };
        let mut targets: Vec<u32> = self
            .cgroups
            .as_ref()
            .map(|cgroups| cgroups.procs(fmri))
            .unwrap_or_default();
        if let Some(contract) = self.contracts.get(fmri) {
            for &group in &contract.groups {
                let _ = killpg(Pid::from_raw(group as i32), signal);
            }
            targets.extend(contract.members.pids());
        }
        targets.sort_unstable();
        targets.dedup();
        for pid in targets {
            let _ = kill(Pid::from_raw(pid as i32), signal);
        }
    }

    /// Stops tracking the instance (its processes are left alone).
    pub fn forget(&mut self, fmri: &Fmri) {
        if let Some(contract) = self.contracts.remove(fmri) {
            for pid in contract.members.pids() {
                self.owner.remove(&pid);
            }
            for group in contract.groups {
                self.group_owner.remove(&group);
            }
        }
        if let Some(cgroups) = &self.cgroups {
            cgroups.remove(fmri);
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
                add_group(&mut contract.groups, stat.pgid);
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
pub(crate) fn pidfd_open(pid: u32) -> Option<OwnedFd> {
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
        assert!(!contracts.is_empty(&fmri).0);
        assert_eq!(contracts.exited(me), Some(fmri.clone()));
        assert!(contracts.is_empty(&fmri).0);
    }
}
