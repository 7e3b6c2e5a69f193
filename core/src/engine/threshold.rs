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

use smallvec::SmallVec;

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
///
/// The start times are held inline up to the default `critical_failure_count`: a heap block
/// per instance, allocated at its first start, would sit among a bring-up's short-lived
/// blocks and keep their pages from being given back (BENCHMARKS.md, memory).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    starts: SmallVec<[Timestamp; DEFAULT_CRITICAL_FAILURE_COUNT as usize]>,
    faults: u32,
}

impl History {
    /// Records a start at `now`; answers whether it is one too many (method.c
    /// `method_rate_critical`).
    pub fn record_start(&mut self, now: Timestamp, rate: StartRate) -> bool {
        let count = rate.count.max(2) as usize;
        // The oldest go first, so that the default count never outgrows the inline room.
        if self.starts.len() >= count {
            let excess = self.starts.len() + 1 - count;
            self.starts.drain(..excess);
        }
        self.starts.push(now);
        if self.starts.len() < count {
            return false;
        }
        let (Some(oldest), Some(newest)) = (self.starts.first(), self.starts.last()) else {
            return false;
        };
        let average = newest.millis_since(*oldest) / (count as u64 - 1);
        average < rate.period_ms
    }

    /// Forgets the start times (restart, clear, admin disable, dependency restart).
    pub fn reset_starts(&mut self) {
        self.starts.clear();
    }

    /// Counts a retryable method failure; answers whether the threshold is reached.
    pub fn record_fault(&mut self) -> bool {
        self.faults += 1;
        self.faults >= FAULT_THRESHOLD
    }

    /// A method succeeded: the consecutive-failure count starts again.
    pub fn record_success(&mut self) {
        self.faults = 0;
    }

    /// Forgets everything (`svcadm clear`).
    pub fn reset(&mut self) {
        self.starts.clear();
        self.faults = 0;
    }

    /// Consecutive retryable failures so far.
    pub fn faults(&self) -> u32 {
        self.faults
    }

    /// Recorded start times, oldest first.
    pub fn starts(&self) -> impl Iterator<Item = Timestamp> + '_ {
        self.starts.iter().copied()
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
    fn the_default_history_stays_inline_and_a_longer_one_still_counts() {
        let mut history = History::default();
        for second in 0..20 {
            history.record_start(Timestamp::from_secs(second * 1000), StartRate::default());
        }
        assert!(!history.starts.spilled());
        assert_eq!(history.starts().count(), 5);

        let mut history = History::default();
        let rate = StartRate {
            count: 8,
            period_ms: 10_000,
        };
        for second in 0..7 {
            assert!(!history.record_start(Timestamp::from_secs(second), rate));
        }
        assert!(history.record_start(Timestamp::from_secs(7), rate));
        assert_eq!(history.starts().count(), 8);
        assert_eq!(history.starts().next(), Some(Timestamp::from_secs(0)));
        history.record_start(Timestamp::from_secs(100), rate);
        assert_eq!(history.starts().next(), Some(Timestamp::from_secs(1)));
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
}
