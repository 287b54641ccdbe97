//! Test-only time control (`--wait-time-scale F`): Wait states and Retry backoffs last F
//! times their written duration, so a test of a one-hour Wait ends in seconds.
//!
//! Only the deadline is scaled, when the engine computes it: the clock and every timestamp
//! stay real. The history therefore shows the real (scaled) times: a `Seconds: 3600` Wait
//! under F = 0.0005 has `WaitStateEntered` and `WaitStateExited` about 1.8 s apart, and the
//! frame stores that scaled deadline (so a parked or crashed execution resumes with it).
//! A `Timestamp` Wait scales the time remaining until the timestamp. Nothing else is scaled:
//! task and execution `TimeoutSeconds`, `HeartbeatSeconds` and `$$` timestamps are real.

use std::time::{Duration, SystemTime};

/// Smallest accepted factor (a one-hour wait still takes 3.6 ms).
pub const MIN_SCALE: f64 = 1e-6;
/// Largest accepted factor (scaling up is for slowing a test down, not for production).
pub const MAX_SCALE: f64 = 1000.0;

/// A factor applied to Wait and Retry durations; 1 (the default) changes nothing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimeScale(f64);

// The factor is always finite (checked by `new`), so equality is total.
impl Eq for TimeScale {}

impl Default for TimeScale {
    fn default() -> Self {
        TimeScale(1.0)
    }
}

/// Why a factor was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error(
    "the wait time scale must be a number from {MIN_SCALE} to {MAX_SCALE} (got {0}); it is a test-only setting"
)]
pub struct BadTimeScale(pub String);

impl TimeScale {
    /// A factor in [`MIN_SCALE`, `MAX_SCALE`].
    pub fn new(factor: f64) -> Result<Self, BadTimeScale> {
        if factor.is_finite() && (MIN_SCALE..=MAX_SCALE).contains(&factor) {
            Ok(TimeScale(factor))
        } else {
            Err(BadTimeScale(factor.to_string()))
        }
    }

    /// Parses a command-line value.
    pub fn parse(text: &str) -> Result<Self, BadTimeScale> {
        text.trim()
            .parse::<f64>()
            .map_err(|_| BadTimeScale(text.to_owned()))
            .and_then(Self::new)
    }

    /// The factor.
    pub fn factor(self) -> f64 {
        self.0
    }

    /// Whether durations are left as written.
    pub fn is_identity(self) -> bool {
        self.0 == 1.0
    }

    /// A duration as it is waited.
    pub fn delay(self, written: Duration) -> Duration {
        if self.is_identity() {
            written
        } else {
            // Saturates rather than panicking on absurd products.
            Duration::try_from_secs_f64(written.as_secs_f64() * self.0).unwrap_or(Duration::MAX)
        }
    }

    /// The deadline actually waited for a deadline computed at `now` as written.
    pub fn deadline(self, now: SystemTime, written: SystemTime) -> SystemTime {
        match written.duration_since(now) {
            Ok(left) if !self.is_identity() => now.checked_add(self.delay(left)).unwrap_or(written),
            _ => written,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_hour_at_half_a_thousandth_is_under_two_seconds() {
        let s = TimeScale::parse("0.0005").unwrap();
        assert_eq!(
            s.delay(Duration::from_secs(3600)),
            Duration::from_millis(1800)
        );
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        assert_eq!(
            s.deadline(now, now + Duration::from_secs(3600)),
            now + Duration::from_millis(1800)
        );
        // A deadline already past is not moved.
        let past = now - Duration::from_secs(5);
        assert_eq!(s.deadline(now, past), past);
    }

    #[test]
    fn the_default_changes_nothing_and_bad_factors_are_refused() {
        let one = TimeScale::default();
        assert_eq!(one.delay(Duration::from_secs(7)), Duration::from_secs(7));
        for bad in ["0", "-1", "NaN", "inf", "1e-9", "5000", "fast"] {
            assert!(TimeScale::parse(bad).is_err(), "{bad}");
        }
        assert!(TimeScale::parse("1e-6").is_ok());
        assert!(TimeScale::parse("1000").is_ok());
    }
}
