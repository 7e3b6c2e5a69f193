//! The states an instance moves through (smf(7); smf-reference.md §2.1) and the engine's time.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An instance's state, as `restarter/state` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Known, not yet evaluated by its restarter.
    Uninitialized,
    /// Enabled, not running: waiting for dependencies, or its start method is running.
    Offline,
    /// Enabled and running.
    Online,
    /// Enabled and running at limited capacity.
    Degraded,
    /// Enabled but cannot run until an administrator clears it.
    Maintenance,
    /// Disabled.
    Disabled,
}

impl State {
    /// Every state, in the order `svcs -s state` sorts them.
    pub const ALL: [State; 6] = [
        State::Uninitialized,
        State::Offline,
        State::Online,
        State::Degraded,
        State::Maintenance,
        State::Disabled,
    ];

    /// `online`, as `svcs` prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Uninitialized => "uninitialized",
            State::Offline => "offline",
            State::Online => "online",
            State::Degraded => "degraded",
            State::Maintenance => "maintenance",
            State::Disabled => "disabled",
        }
    }

    /// `svcs -o sta`: `UN`, `OFF`, `ON`, `DGD`, `MNT`, `DIS`.
    pub fn abbreviation(self) -> &'static str {
        match self {
            State::Uninitialized => "UN",
            State::Offline => "OFF",
            State::Online => "ON",
            State::Degraded => "DGD",
            State::Maintenance => "MNT",
            State::Disabled => "DIS",
        }
    }

    /// `svcs -o s`: `u`, `0`, `1`, `D`, `m`, `d`.
    pub fn letter(self) -> char {
        match self {
            State::Uninitialized => 'u',
            State::Offline => '0',
            State::Online => '1',
            State::Degraded => 'D',
            State::Maintenance => 'm',
            State::Disabled => 'd',
        }
    }

    /// Online or degraded: what SMF's code calls "running".
    pub fn is_running(self) -> bool {
        matches!(self, State::Online | State::Degraded)
    }

    /// Parses `as_str`'s spelling.
    pub fn from_name(name: &str) -> Option<State> {
        State::ALL.into_iter().find(|state| state.as_str() == name)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A point in time as the engine sees it: milliseconds since the Unix epoch, supplied by
/// the caller with every event (the engine never reads a clock).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// `seconds` after the epoch.
    pub fn from_secs(seconds: u64) -> Timestamp {
        Timestamp(seconds.saturating_mul(1000))
    }

    /// Milliseconds since the epoch.
    pub fn millis(self) -> u64 {
        self.0
    }

    /// This time plus `millis` milliseconds (saturating).
    pub fn plus_millis(self, millis: u64) -> Timestamp {
        Timestamp(self.0.saturating_add(millis))
    }

    /// Milliseconds from `earlier` to this time (0 if `earlier` is later).
    pub fn millis_since(self, earlier: Timestamp) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for state in State::ALL {
            assert_eq!(State::from_name(state.as_str()), Some(state));
        }
        assert_eq!(State::from_name("legacy_run"), None);
    }

    #[test]
    fn running_means_online_or_degraded() {
        let running: Vec<State> = State::ALL.into_iter().filter(|s| s.is_running()).collect();
        assert_eq!(running, [State::Online, State::Degraded]);
    }
}
