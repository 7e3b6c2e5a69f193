//! The timer table. The engine keeps its timers here, the shell waits for
//! [`Timers::next_deadline`] and reports `DeadlineReached`; a timer that no longer matters is
//! cancelled here, so a stale one can never fire in the shell.

use std::collections::BTreeSet;
use std::num::NonZeroU64;

use crate::fast_hash::FastMap;
use crate::fmri::Fmri;
use crate::state::Timestamp;

/// One timer's identity (never 0, so an `Option<TimerId>` is one word).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct TimerId(NonZeroU64);

/// Pending timers, ordered by deadline.
#[derive(Debug, Default, Clone)]
pub(crate) struct Timers {
    order: BTreeSet<(Timestamp, TimerId)>,
    entries: FastMap<TimerId, (Timestamp, Fmri)>,
    /// How many timers were armed so far (the next one's identity is one more).
    next: u64,
}

impl Timers {
    /// Arms a timer.
    pub(crate) fn arm(&mut self, at: Timestamp, fmri: Fmri) -> TimerId {
        let id = TimerId(NonZeroU64::MIN.saturating_add(self.next));
        self.next += 1;
        self.order.insert((at, id));
        self.entries.insert(id, (at, fmri));
        id
    }

    /// Cancels a timer (no effect if it already fired).
    pub(crate) fn cancel(&mut self, id: TimerId) {
        if let Some((at, _)) = self.entries.remove(&id) {
            self.order.remove(&(at, id));
        }
    }

    /// Gives back the room of timers no longer pending (see [`super::shrink_sparse`]).
    pub(crate) fn shrink_sparse(&mut self) {
        super::shrink_sparse(&mut self.entries);
    }

    /// The earliest deadline.
    pub(crate) fn next_deadline(&self) -> Option<Timestamp> {
        self.order.first().map(|(at, _)| *at)
    }

    /// Removes and returns every timer due at `now`, earliest first.
    pub(crate) fn due(&mut self, now: Timestamp) -> Vec<(TimerId, Fmri)> {
        let mut due = Vec::new();
        while let Some(&(at, id)) = self.order.first() {
            if at > now {
                break;
            }
            self.order.remove(&(at, id));
            if let Some((_, fmri)) = self.entries.remove(&id) {
                due.push((id, fmri));
            }
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_in_order_and_cancelled_timers_never_fire() {
        let fmri = Fmri::parse("svc:/a:b").expect("valid");
        let mut timers = Timers::default();
        let late = timers.arm(Timestamp(30), fmri.clone());
        let early = timers.arm(Timestamp(10), fmri.clone());
        let cancelled = timers.arm(Timestamp(20), fmri);
        timers.cancel(cancelled);
        assert_eq!(timers.next_deadline(), Some(Timestamp(10)));
        let due: Vec<TimerId> = timers.due(Timestamp(25)).into_iter().map(|t| t.0).collect();
        assert_eq!(due, [early]);
        assert_eq!(timers.next_deadline(), Some(Timestamp(30)));
        assert_eq!(timers.due(Timestamp(30))[0].0, late);
        assert_eq!(timers.next_deadline(), None);
    }

    #[test]
    fn the_room_of_cancelled_timers_is_given_back() {
        let fmri = Fmri::parse("svc:/a:b").expect("valid");
        let mut timers = Timers::default();
        let ids: Vec<TimerId> = (0..1000)
            .map(|at| timers.arm(Timestamp(at), fmri.clone()))
            .collect();
        let full = timers.entries.capacity();
        for id in &ids[..990] {
            timers.cancel(*id);
        }
        timers.shrink_sparse();
        assert!(
            timers.entries.capacity() < full / 8,
            "{}",
            timers.entries.capacity()
        );
        assert_eq!(timers.next_deadline(), Some(Timestamp(990)));
        assert_eq!(timers.due(Timestamp(2000)).len(), 10);
    }
}
