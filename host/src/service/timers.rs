//! Parked executions: a durable execution that only waits on a long timer (a Wait state, a
//! Retry backoff) is dropped from memory once its steps are committed, leaving one compact
//! entry here (deadline, ARN, its RUNNING slot). One task sleeps until the earliest
//! deadline and hands the due entries back to the service, which reloads each execution's
//! frames from the store and drives it again.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

use super::limits::RunningSlot;

/// One parked execution.
pub(super) struct Parked {
    /// The execution's ARN.
    pub arn: Box<str>,
    /// Its RUNNING slot, held while it is parked so it still counts against the quota.
    pub slot: RunningSlot,
}

/// Parked executions by deadline.
#[derive(Default)]
pub(super) struct Timers {
    due: Mutex<Due>,
    /// Woken when an entry earlier than every other one arrives.
    changed: Notify,
    /// Whether the sleeping task has been spawned.
    started: AtomicBool,
}

#[derive(Default)]
struct Due {
    /// (deadline in Unix ms, insertion number) → entry; the number keeps keys unique.
    entries: BTreeMap<(i64, u64), Parked>,
    /// ARN → its key in `entries`: a signal for a parked callback task finds it at once.
    by_arn: HashMap<Box<str>, (i64, u64)>,
    next: u64,
}

impl Timers {
    fn lock(&self) -> std::sync::MutexGuard<'_, Due> {
        self.due.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Parks `entry` until `wake_at_ms`. Returns whether the sleeping task must be spawned
    /// (the first call does it).
    pub(super) fn park(&self, wake_at_ms: i64, entry: Parked) -> bool {
        let earliest = {
            let mut due = self.lock();
            let n = due.next;
            due.next += 1;
            let earliest = due
                .entries
                .first_key_value()
                .is_none_or(|((t, _), _)| wake_at_ms < *t);
            if let Some(old) = due.by_arn.insert(entry.arn.clone(), (wake_at_ms, n)) {
                due.entries.remove(&old);
            }
            due.entries.insert((wake_at_ms, n), entry);
            earliest
        };
        if earliest {
            self.changed.notify_one();
        }
        !self.started.swap(true, Ordering::AcqRel)
    }

    /// Removes and returns every entry due at `now_ms`.
    pub(super) fn take_due(&self, now_ms: i64) -> Vec<Parked> {
        let mut due = self.lock();
        let later = due.entries.split_off(&(now_ms.saturating_add(1), 0));
        let taken: Vec<Parked> = std::mem::replace(&mut due.entries, later)
            .into_values()
            .collect();
        for p in &taken {
            due.by_arn.remove(&p.arn);
        }
        taken
    }

    /// Removes and returns the entry of `arn` (a signal for it arrived).
    pub(super) fn take(&self, arn: &str) -> Option<Parked> {
        let mut due = self.lock();
        let key = due.by_arn.remove(arn)?;
        due.entries.remove(&key)
    }

    /// The earliest deadline, if any.
    pub(super) fn next_due(&self) -> Option<i64> {
        self.lock().entries.first_key_value().map(|((t, _), _)| *t)
    }

    /// Removes the entry of `arn` (a stopped execution), freeing its slot.
    pub(super) fn remove(&self, arn: &str) -> bool {
        self.take(arn).is_some()
    }

    /// Number of parked executions.
    pub(super) fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Resolves when an earlier entry may have arrived.
    pub(super) async fn changed(&self) {
        self.changed.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::limits::Limits;

    #[test]
    fn due_entries_come_out_in_deadline_order_and_stopped_ones_free_their_slot() {
        let limits = Limits::default();
        let timers = Timers::default();
        let slot = || limits.try_take_slot("t", 10).unwrap();
        assert!(timers.park(
            300,
            Parked {
                arn: "c".into(),
                slot: slot()
            }
        ));
        assert!(!timers.park(
            100,
            Parked {
                arn: "a".into(),
                slot: slot()
            }
        ));
        assert!(!timers.park(
            200,
            Parked {
                arn: "b".into(),
                slot: slot()
            }
        ));
        assert!(!timers.park(
            100,
            Parked {
                arn: "a2".into(),
                slot: slot()
            }
        ));
        assert_eq!(timers.next_due(), Some(100));
        assert_eq!(limits.running("t"), 4);
        assert!(timers.remove("b"));
        assert!(!timers.remove("b"));
        assert_eq!(limits.running("t"), 3, "a removed entry frees its slot");
        let due: Vec<Box<str>> = timers.take_due(250).into_iter().map(|p| p.arn).collect();
        assert_eq!(due, vec!["a".into(), "a2".into()] as Vec<Box<str>>);
        assert_eq!(timers.len(), 1);
        assert_eq!(timers.next_due(), Some(300));
    }
}
