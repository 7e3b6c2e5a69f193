//! Crash-loop accounting: when failures end in maintenance instead of another try
//! (smf-reference.md part 1 §1-3 and part 2 §4.6).
//!
//! Two rules, both svc.startd's:
//! - **Retryable method failures**: a start (or stop) method that fails in a retryable way is
//!   re-run at once; the third failure in a row puts the instance in maintenance
//!   (`FAULT_THRESHOLD`, reason `fault_threshold_reached`). Any success resets the count.
//! - **Start rate**: every start records its time; once `critical_failure_count` starts
//!   (default 5) are recorded, a start whose last `count` start times are on average less
//!   than `critical_failure_period` (default 600 s) apart is refused, and the instance goes to
//!   maintenance ("Restarting too quickly"). Both are `startd/` properties overridable per
//!   instance, and apply to every duration, `child` included (SMF only throttles a failing
//!   child service, forever). The history is reset by restart, clear, an administrative
//!   disable, a dependency-driven restart and a child that exits 0.
//!
//! Restarts below the thresholds are immediate: no back-off, no fixed delay.

use std::collections::VecDeque;

use crate::state::Timestamp;

/// svc.startd's `FAULT_THRESHOLD`.
pub const FAULT_THRESHOLD: u32 = 3;
/// svc.startd's `RINST_START_TIMES`: the default `startd/critical_failure_count`.
pub const DEFAULT_CRITICAL_FAILURE_COUNT: u32 = 5;
/// svc.startd's `RINST_FAILURE_RATE_NS`: the default `startd/critical_failure_period`.
pub const DEFAULT_CRITICAL_FAILURE_PERIOD_SECS: u64 = 600;

/// One instance's start-rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartRate {
    /// How many recent starts are judged together (at least 2).
    pub count: u32,
    /// The average spacing below which they are too quick, in milliseconds.
    pub period_ms: u64,
}

impl Default for StartRate {
    fn default() -> Self {
        StartRate {
            count: DEFAULT_CRITICAL_FAILURE_COUNT,
            period_ms: DEFAULT_CRITICAL_FAILURE_PERIOD_SECS * 1000,
        }
    }
}

/// Recent start times and consecutive retryable failures of one instance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History(Starts);

/// Start times, oldest first, each kind with the count of consecutive retryable failures
/// (which fits beside the kind, so the whole is two words). Most instances start once and
/// that time is kept inline; the second start moves them to the heap (the window is
/// `startd/critical_failure_count` long, which a manifest may set to anything).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Starts {
    None {
        faults: u32,
    },
    One {
        faults: u32,
        at: Timestamp,
    },
    /// Two or more.
    Many {
        faults: u32,
        #[allow(clippy::box_collection)] // Boxed so that `History` stays two words.
        starts: Box<VecDeque<Timestamp>>,
    },
}

impl Default for Starts {
    fn default() -> Self {
        Starts::None { faults: 0 }
    }
}

impl History {
    /// Records a start at `now`; answers whether it is one too many (method.c
    /// `method_rate_critical`).
    pub fn record_start(&mut self, now: Timestamp, rate: StartRate) -> bool {
        let count = rate.count.max(2) as usize;
        let faults = self.faults();
        let mut starts = match std::mem::replace(&mut self.0, Starts::None { faults }) {
            // One start is never too many: at least two are judged together.
            Starts::None { .. } => {
                self.0 = Starts::One { faults, at: now };
                return false;
            }
            Starts::One { at, .. } => Box::new(VecDeque::from([at])),
            Starts::Many { starts, .. } => starts,
        };
        starts.push_back(now);
        while starts.len() > count {
            starts.pop_front();
        }
        let too_quick = match (starts.front(), starts.back()) {
            (Some(oldest), Some(newest)) if starts.len() >= count => {
                let average = newest.millis_since(*oldest) / (count as u64 - 1);
                average < rate.period_ms
            }
            _ => false,
        };
        self.0 = Starts::Many { faults, starts };
        too_quick
    }

    /// Forgets the start times (restart, clear, admin disable, dependency restart).
    pub fn reset_starts(&mut self) {
        self.0 = Starts::None {
            faults: self.faults(),
        };
    }

    /// Counts a retryable method failure; answers whether the threshold is reached.
    pub fn record_fault(&mut self) -> bool {
        let faults = self.faults_mut();
        *faults += 1;
        *faults >= FAULT_THRESHOLD
    }

    /// A method succeeded: the consecutive-failure count starts again.
    pub fn record_success(&mut self) {
        *self.faults_mut() = 0;
    }

    /// Forgets everything (`svcadm clear`).
    pub fn reset(&mut self) {
        self.0 = Starts::default();
    }

    /// Consecutive retryable failures so far.
    pub fn faults(&self) -> u32 {
        match self.0 {
            Starts::None { faults } | Starts::One { faults, .. } | Starts::Many { faults, .. } => {
                faults
            }
        }
    }

    fn faults_mut(&mut self) -> &mut u32 {
        match &mut self.0 {
            Starts::None { faults } | Starts::One { faults, .. } | Starts::Many { faults, .. } => {
                faults
            }
        }
    }

    /// Recorded start times, oldest first.
    pub fn starts(&self) -> impl Iterator<Item = Timestamp> + '_ {
        let (one, many) = match &self.0 {
            Starts::None { .. } => (None, None),
            Starts::One { at, .. } => (Some(*at), None),
            Starts::Many { starts, .. } => (None, Some(starts.iter().copied())),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fifth_quick_start_is_refused() {
        let mut history = History::default();
        let rate = StartRate::default();
        for second in 0..4 {
            assert!(!history.record_start(Timestamp::from_secs(second), rate));
        }
        assert!(history.record_start(Timestamp::from_secs(4), rate));
    }

    #[test]
    fn starts_spaced_by_the_period_are_fine() {
        let mut history = History::default();
        let rate = StartRate {
            count: 3,
            period_ms: 10_000,
        };
        for second in [0, 10, 20, 30, 40] {
            assert!(!history.record_start(Timestamp::from_secs(second), rate));
        }
        assert!(history.record_start(Timestamp::from_secs(45), rate));
    }

    #[test]
    fn three_faults_in_a_row_reach_the_threshold() {
        let mut history = History::default();
        assert!(!history.record_fault());
        assert!(!history.record_fault());
        history.record_success();
        assert!(!history.record_fault());
        assert!(!history.record_fault());
        assert!(history.record_fault());
    }

    #[test]
    fn the_window_slides_and_a_reset_forgets_it() {
        let mut history = History::default();
        let rate = StartRate {
            count: 3,
            period_ms: 10_000,
        };
        assert_eq!(history.starts().count(), 0);
        assert!(!history.record_start(Timestamp::from_secs(1), rate));
        assert_eq!(
            history.starts().collect::<Vec<_>>(),
            [Timestamp::from_secs(1)]
        );
        for second in [2, 3, 4] {
            history.record_start(Timestamp::from_secs(second), rate);
        }
        let kept: Vec<Timestamp> = history.starts().collect();
        assert_eq!(kept, [2, 3, 4].map(Timestamp::from_secs));
        history.reset_starts();
        assert_eq!(history, History::default());
        assert!(!history.record_start(Timestamp::from_secs(5), rate));
        assert!(!history.record_start(Timestamp::from_secs(6), rate));
        assert!(history.record_start(Timestamp::from_secs(7), rate));
    }

    #[test]
    fn a_history_is_two_words_and_one_start_needs_no_allocation() {
        assert!(std::mem::size_of::<History>() <= 16);
        let mut history = History::default();
        history.record_start(Timestamp(0), StartRate::default());
        assert!(matches!(history.0, Starts::One { .. }));
    }

    #[test]
    fn faults_survive_a_reset_of_the_starts_but_not_a_full_reset() {
        let mut history = History::default();
        let rate = StartRate::default();
        // Through no start, one start and several.
        for starts in 0..3 {
            history.record_fault();
            history.record_start(Timestamp::from_secs(starts * 1000), rate);
            assert_eq!(history.faults(), starts as u32 + 1);
        }
        history.reset_starts();
        assert_eq!(history.faults(), 3);
        assert_eq!(history.starts().count(), 0);
        history.record_start(Timestamp(0), rate);
        assert_eq!(history.faults(), 3);
        history.reset();
        assert_eq!(history, History::default());
    }
}
