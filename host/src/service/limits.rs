//! In-memory quota counters: RUNNING executions per tenant and a start-rate token bucket
//! per tenant. Both are per process; the RUNNING count is rebuilt from the store at start.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Counters for every tenant.
#[derive(Default)]
pub(super) struct Limits {
    running: Mutex<HashMap<String, Arc<AtomicU64>>>,
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Holds one RUNNING slot; dropping it frees the slot.
pub(super) struct RunningSlot(Arc<AtomicU64>);

impl Drop for RunningSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Limits {
    fn counter(&self, tenant: &str) -> Arc<AtomicU64> {
        let mut map = self.running.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(tenant.to_string()).or_default().clone()
    }

    pub(super) fn set_running(&self, tenant: &str, n: u64) {
        self.counter(tenant).store(n, Ordering::Relaxed);
    }

    /// Number of RUNNING executions.
    pub(super) fn running(&self, tenant: &str) -> u64 {
        self.counter(tenant).load(Ordering::Relaxed)
    }

    /// Takes a RUNNING slot if fewer than `max` are taken.
    pub(super) fn try_take_slot(&self, tenant: &str, max: u64) -> Option<RunningSlot> {
        let c = self.counter(tenant);
        c.fetch_update(Ordering::AcqRel, Ordering::Relaxed, |n| {
            (n < max).then_some(n + 1)
        })
        .ok()?;
        Some(RunningSlot(c))
    }

    /// A slot for an execution that is counted again after it gave its slot back, past
    /// the quota if need be (it was RUNNING all along).
    pub(super) fn retake_slot(&self, tenant: &str) -> RunningSlot {
        let c = self.counter(tenant);
        c.fetch_add(1, Ordering::AcqRel);
        RunningSlot(c)
    }

    /// A slot for an execution that is already counted (recovered at start-up).
    pub(super) fn adopt_slot(&self, tenant: &str) -> RunningSlot {
        RunningSlot(self.counter(tenant))
    }

    /// Takes one start from the tenant's bucket (`rate` per second, burst of one second);
    /// `Err` says how long until one is available.
    pub(super) fn try_start(&self, tenant: &str, rate: u64) -> Result<(), Duration> {
        let rate = rate.max(1) as f64;
        let now = Instant::now();
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let b = map.entry(tenant.to_string()).or_insert(Bucket {
            tokens: rate,
            last: now,
        });
        b.tokens = (b.tokens + now.duration_since(b.last).as_secs_f64() * rate).min(rate);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_bounded_and_freed_on_drop() {
        let l = Limits::default();
        let a = l.try_take_slot("t", 2).unwrap();
        let _b = l.try_take_slot("t", 2).unwrap();
        assert!(l.try_take_slot("t", 2).is_none());
        assert!(l.try_take_slot("u", 2).is_some(), "tenants are separate");
        drop(a);
        assert_eq!(l.running("t"), 1);
        assert!(l.try_take_slot("t", 2).is_some());
    }

    /// Issue 16: a stop whose commit failed gives the execution a slot again after its
    /// driver gave one back; adopting (not counting) it wrapped the count below zero.
    #[test]
    fn a_retaken_slot_is_counted_so_dropping_it_never_wraps() {
        let l = Limits::default();
        let driver = l.try_take_slot("t", 5).unwrap();
        drop(driver);
        let again = l.retake_slot("t");
        assert_eq!(l.running("t"), 1);
        drop(again);
        assert_eq!(l.running("t"), 0);
        assert!(
            l.try_take_slot("t", 5).is_some(),
            "the tenant is not locked out"
        );
    }

    #[test]
    fn bucket_allows_a_burst_then_throttles() {
        let l = Limits::default();
        for _ in 0..5 {
            l.try_start("t", 5).unwrap();
        }
        let wait = l.try_start("t", 5).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_millis(200));
    }
}
