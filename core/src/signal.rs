//! Linux signal numbers, names and descriptions, without libc: what `:kill -HUP` names, what a
//! wait status reports, and how `svcs -x` words a death ("died on Killed (9)").

use std::fmt;

use serde::{Deserialize, Serialize};

/// A signal number, as Linux on x86-64 and aarch64 numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Signal(pub i32);

/// (number, name without `SIG`, glibc's `strsignal()` text).
const TABLE: &[(i32, &str, &str)] = &[
    (1, "HUP", "Hangup"),
    (2, "INT", "Interrupt"),
    (3, "QUIT", "Quit"),
    (4, "ILL", "Illegal instruction"),
    (5, "TRAP", "Trace/breakpoint trap"),
    (6, "ABRT", "Aborted"),
    (7, "BUS", "Bus error"),
    (8, "FPE", "Floating point exception"),
    (9, "KILL", "Killed"),
    (10, "USR1", "User defined signal 1"),
    (11, "SEGV", "Segmentation fault"),
    (12, "USR2", "User defined signal 2"),
    (13, "PIPE", "Broken pipe"),
    (14, "ALRM", "Alarm clock"),
    (15, "TERM", "Terminated"),
    (16, "STKFLT", "Stack fault"),
    (17, "CHLD", "Child exited"),
    (18, "CONT", "Continued"),
    (19, "STOP", "Stopped (signal)"),
    (20, "TSTP", "Stopped"),
    (21, "TTIN", "Stopped (tty input)"),
    (22, "TTOU", "Stopped (tty output)"),
    (23, "URG", "Urgent I/O condition"),
    (24, "XCPU", "CPU time limit exceeded"),
    (25, "XFSZ", "File size limit exceeded"),
    (26, "VTALRM", "Virtual timer expired"),
    (27, "PROF", "Profiling timer expired"),
    (28, "WINCH", "Window changed"),
    (29, "IO", "I/O possible"),
    (30, "PWR", "Power failure"),
    (31, "SYS", "Bad system call"),
];

/// Solaris names with a Linux equivalent.
const ALIASES: &[(&str, i32)] = &[("IOT", 6), ("POLL", 29), ("CLD", 17), ("LOST", 30)];

impl Signal {
    /// SIGHUP.
    pub const HUP: Signal = Signal(1);
    /// SIGINT.
    pub const INT: Signal = Signal(2);
    /// SIGABRT.
    pub const ABRT: Signal = Signal(6);
    /// SIGKILL.
    pub const KILL: Signal = Signal(9);
    /// SIGSEGV.
    pub const SEGV: Signal = Signal(11);
    /// SIGTERM.
    pub const TERM: Signal = Signal(15);

    /// Parses what `:kill -SIG` and `kill -s` accept: a name with or without `SIG`, in any
    /// case (`HUP`, `SIGhup`), or a number between 1 and 64.
    pub fn parse(text: &str) -> Option<Signal> {
        let text = text.trim();
        if let Ok(number) = text.parse::<i32>() {
            return (1..=64).contains(&number).then_some(Signal(number));
        }
        let upper = text.to_ascii_uppercase();
        let name = upper.strip_prefix("SIG").unwrap_or(&upper);
        if let Some(&(number, _, _)) = TABLE.iter().find(|(_, n, _)| *n == name) {
            return Some(Signal(number));
        }
        if let Some(&(_, number)) = ALIASES.iter().find(|(n, _)| *n == name) {
            return Some(Signal(number));
        }
        realtime(name)
    }

    /// `HUP`, `RTMIN+3`, or the number when it has no name.
    pub fn name(self) -> String {
        match TABLE.iter().find(|(number, _, _)| *number == self.0) {
            Some((_, name, _)) => (*name).to_string(),
            None if (34..=64).contains(&self.0) => format!("RTMIN+{}", self.0 - 34),
            None => self.0.to_string(),
        }
    }

    /// glibc's `strsignal()` text: `Killed`, `Segmentation fault`.
    pub fn description(self) -> String {
        match TABLE.iter().find(|(number, _, _)| *number == self.0) {
            Some((_, _, text)) => (*text).to_string(),
            None if (34..=64).contains(&self.0) => format!("Real-time signal {}", self.0 - 34),
            None => format!("Unknown signal {}", self.0),
        }
    }
}

/// `RTMIN`, `RTMIN+N`, `RTMAX`, `RTMAX-N`.
fn realtime(name: &str) -> Option<Signal> {
    const RTMIN: i32 = 34;
    const RTMAX: i32 = 64;
    let (base, rest, sign) = if let Some(rest) = name.strip_prefix("RTMIN") {
        (RTMIN, rest, 1)
    } else if let Some(rest) = name.strip_prefix("RTMAX") {
        (RTMAX, rest, -1)
    } else {
        return None;
    };
    let offset = if rest.is_empty() {
        0
    } else {
        let digits = if sign > 0 {
            rest.strip_prefix('+')?
        } else {
            rest.strip_prefix('-')?
        };
        digits.parse::<i32>().ok()?
    };
    let number = base + sign * offset;
    (RTMIN..=RTMAX).contains(&number).then_some(Signal(number))
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIG{}", self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_numbers_and_aliases() {
        assert_eq!(Signal::parse("HUP"), Some(Signal::HUP));
        assert_eq!(Signal::parse("sigterm"), Some(Signal::TERM));
        assert_eq!(Signal::parse("9"), Some(Signal::KILL));
        assert_eq!(Signal::parse("IOT"), Some(Signal::ABRT));
        assert_eq!(Signal::parse("RTMIN+2"), Some(Signal(36)));
        assert_eq!(Signal::parse("RTMAX-1"), Some(Signal(63)));
        assert_eq!(Signal::parse("0"), None);
        assert_eq!(Signal::parse("65"), None);
        assert_eq!(Signal::parse("THAW"), None);
        assert_eq!(Signal::parse(""), None);
    }

    #[test]
    fn describes_as_strsignal() {
        assert_eq!(Signal::KILL.description(), "Killed");
        assert_eq!(Signal::SEGV.description(), "Segmentation fault");
        assert_eq!(Signal(99).description(), "Unknown signal 99");
        assert_eq!(Signal::TERM.to_string(), "SIGTERM");
    }
}
