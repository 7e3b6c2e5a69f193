//! What `/proc` says about processes: parents, groups, start times, names.

use std::collections::{HashMap, HashSet};

/// The fields of `/proc/PID/stat` svc.startd uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    /// The command name (`comm`), at most 15 bytes.
    pub command: String,
    /// One of `R S D Z T ...`.
    pub state: char,
    /// The parent.
    pub ppid: u32,
    /// The process group.
    pub pgid: u32,
    /// The session.
    pub sid: u32,
    /// When it started, in clock ticks after boot.
    pub start_ticks: u64,
}

/// Parses `/proc/PID/stat`: `pid (comm) state ppid pgrp session ...`, where `comm` may hold
/// spaces and parentheses (the last `)` ends it).
pub fn parse_stat(text: &str) -> Option<Stat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let command = text.get(open + 1..close)?.to_string();
    let fields: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    // fields[0] is field 3 (state); starttime is field 22.
    Some(Stat {
        command,
        state: fields.first()?.chars().next()?,
        ppid: fields.get(1)?.parse().ok()?,
        pgid: fields.get(2)?.parse().ok()?,
        sid: fields.get(3)?.parse().ok()?,
        start_ticks: fields.get(19)?.parse().ok()?,
    })
}

/// `/proc/PID/stat`, if the process exists.
pub fn stat(pid: u32) -> Option<Stat> {
    // One read into a buffer on the stack: `read_to_string` would ask the size first and
    // then read in growing steps, nine system calls instead of three on every start's path.
    // The line is a few hundred bytes (a command name of at most 16, then numbers); a longer
    // one is read to its end.
    let mut buffer = [0u8; 2048];
    let mut file = std::fs::File::open(format!("/proc/{pid}/stat")).ok()?;
    let read = std::io::Read::read(&mut file, &mut buffer).ok()?;
    if read < buffer.len() {
        // A command name may hold any bytes but ')' ends it (`parse_stat` looks for the last).
        return parse_stat(&String::from_utf8_lossy(&buffer[..read]));
    }
    let mut rest = Vec::new();
    std::io::Read::read_to_end(&mut file, &mut rest).ok()?;
    let mut bytes = buffer.to_vec();
    bytes.extend_from_slice(&rest);
    parse_stat(&String::from_utf8_lossy(&bytes))
}

/// The process's start time (clock ticks after boot): with the pid, it names one process
/// for good (a pid alone may be reused).
pub fn start_ticks(pid: u32) -> Option<u64> {
    stat(pid)
        .filter(|stat| stat.state != 'Z')
        .map(|stat| stat.start_ticks)
}

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`, 100 on Linux).
pub fn ticks_per_second() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .and_then(|ticks| u64::try_from(ticks).ok())
        .filter(|&ticks| ticks > 0)
        .unwrap_or(100)
}

/// The boot time, in milliseconds since the epoch (`btime` in `/proc/stat`).
pub fn boot_time_ms() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().find(|line| line.starts_with("btime "))?;
    let seconds: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(seconds * 1000)
}

/// svc.startd's own children, from every thread's `children` file (orphans are re-parented
/// to one of its threads).
pub fn own_children() -> Vec<u32> {
    let mut children = Vec::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return children;
    };
    for task in tasks.flatten() {
        let path = task.path().join("children");
        if let Ok(text) = std::fs::read_to_string(path) {
            children.extend(
                text.split_whitespace()
                    .filter_map(|pid| pid.parse::<u32>().ok()),
            );
        }
    }
    children.sort_unstable();
    children.dedup();
    children
}

/// One variable of the process's initial environment.
pub fn environment_variable(pid: u32, name: &str) -> Option<String> {
    let bytes = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    bytes.split(|&b| b == 0).find_map(|entry| {
        let entry = std::str::from_utf8(entry).ok()?;
        let (key, value) = entry.split_once('=')?;
        (key == name).then(|| value.to_string())
    })
}

/// The children of every thread of `pid` (`/proc/PID/task/*/children`).
fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let mut kids = Vec::new();
    for task in tasks.flatten() {
        if let Ok(text) = std::fs::read_to_string(task.path().join("children")) {
            kids.extend(
                text.split_whitespace()
                    .filter_map(|kid| kid.parse::<u32>().ok()),
            );
        }
    }
    kids
}

/// Every live process, read once from `/proc`: who is whose parent, and each one's stat.
#[derive(Debug, Default)]
pub struct Tree {
    children: HashMap<u32, Vec<u32>>,
    stats: HashMap<u32, Stat>,
}

impl Tree {
    /// Reads `/proc` now.
    pub fn read() -> Tree {
        let mut tree = Tree::default();
        if let Ok(entries) = std::fs::read_dir("/proc") {
            for entry in entries.flatten() {
                let pid = entry
                    .file_name()
                    .to_str()
                    .and_then(|s| s.parse::<u32>().ok());
                let Some(pid) = pid else {
                    continue;
                };
                if let Some(stat) = stat(pid).filter(|stat| stat.state != 'Z') {
                    tree.children.entry(stat.ppid).or_default().push(pid);
                    tree.stats.insert(pid, stat);
                }
            }
        }
        tree
    }

    /// Only `roots` and their descendants, found through `/proc/PID/task/*/children`: for a
    /// few instances this reads a few files where [`Tree::read`] reads every process.
    pub fn around(roots: &[u32]) -> Tree {
        let mut tree = Tree::default();
        let mut queue: Vec<u32> = roots.to_vec();
        while let Some(pid) = queue.pop() {
            if tree.stats.contains_key(&pid) {
                continue;
            }
            let Some(stat) = stat(pid).filter(|stat| stat.state != 'Z') else {
                continue;
            };
            tree.stats.insert(pid, stat);
            let kids = children(pid);
            queue.extend(&kids);
            tree.children.entry(pid).or_default().extend(kids);
        }
        tree
    }

    /// A process's stat as read.
    pub fn stat(&self, pid: u32) -> Option<&Stat> {
        self.stats.get(&pid)
    }

    /// `roots` (those alive) and every descendant of them, in pid order.
    pub fn with_descendants(&self, roots: &[u32]) -> Vec<u32> {
        let mut seen = HashSet::new();
        let mut stack: Vec<u32> = roots.to_vec();
        while let Some(pid) = stack.pop() {
            if !self.stats.contains_key(&pid) || !seen.insert(pid) {
                continue;
            }
            if let Some(kids) = self.children.get(&pid) {
                stack.extend(kids);
            }
        }
        let mut all: Vec<u32> = seen.into_iter().collect();
        all.sort_unstable();
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_with_odd_command_names_parse() {
        let line = "4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
        let stat = parse_stat(line).expect("parses");
        assert_eq!(stat.command, "my (odd) cmd");
        assert_eq!((stat.ppid, stat.pgid, stat.sid), (1, 4242, 4242));
        assert_eq!(stat.start_ticks, 987654);
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn our_own_process_is_readable() {
        let me = std::process::id();
        assert!(start_ticks(me).is_some());
        assert!(environment_variable(me, "PATH").is_some() || std::env::var("PATH").is_err());
        assert!(Tree::read().with_descendants(&[me]).contains(&me));
        assert!(Tree::around(&[me]).with_descendants(&[me]).contains(&me));
    }
}
