//! Durations and deadlines that come from data: Wait seconds, a Task's TimeoutSeconds and
//! HeartbeatSeconds (literal or `*Path`), Retry backoff. Each is bounded here, in one place,
//! because `SystemTime + Duration` and `Duration::from_secs_f64` panic out of range: an
//! out-of-range value fails the state with `States.Runtime` instead.

use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::asl::error::{ErrorName, StatesError};
use crate::asl::model::MAX_WAIT_SECONDS;

/// The longest duration taken from data: AWS's largest `Seconds`, `TimeoutSeconds` and
/// `IntervalSeconds` (99,999,999 s, about 3.2 years; no execution lives that long).
pub const MAX_SECONDS: u64 = MAX_WAIT_SECONDS;

fn out_of_range(field: &str, got: impl std::fmt::Display) -> StatesError {
    StatesError::new(
        ErrorName::Runtime,
        format!("The field '{field}' must be at most {MAX_SECONDS} seconds, got {got}"),
    )
}

/// The deadline `seconds` after `now`, for a Wait: 0 to [`MAX_SECONDS`].
pub(crate) fn wait_until(
    now: SystemTime,
    seconds: u64,
    field: &str,
) -> Result<SystemTime, StatesError> {
    if seconds > MAX_SECONDS {
        return Err(out_of_range(field, seconds));
    }
    now.checked_add(Duration::from_secs(seconds))
        .ok_or_else(|| out_of_range(field, seconds))
}

/// A Task's TimeoutSeconds or HeartbeatSeconds read from data (`*Path`, JSONata): a
/// positive integer up to [`MAX_SECONDS`].
pub(crate) fn task_limit(field: &str, value: &Value) -> Result<u64, StatesError> {
    match value.as_u64() {
        Some(n) if (1..=MAX_SECONDS).contains(&n) => Ok(n),
        Some(n) if n > MAX_SECONDS => Err(out_of_range(field, n)),
        _ => Err(StatesError::new(
            ErrorName::Runtime,
            format!("The field '{field}' must be a positive integer, got {value}"),
        )),
    }
}

/// The deadline of a Retry backoff of `seconds` (computed, possibly infinite or NaN, from
/// IntervalSeconds × BackoffRate^n): clamped to 0..=[`MAX_SECONDS`], since a valid
/// definition may reach any of them. `jitter` picks a uniform point in that range.
pub(crate) fn backoff_until(
    now: SystemTime,
    seconds: f64,
    jitter: impl FnOnce(f64) -> f64,
) -> SystemTime {
    let clamp = |s: f64| {
        if s.is_nan() {
            0.0
        } else {
            s.clamp(0.0, MAX_SECONDS as f64)
        }
    };
    let delay = Duration::from_secs_f64(clamp(jitter(clamp(seconds))));
    // Within MAX_SECONDS of a real clock's time, this cannot overflow; a clock near the end
    // of time waits as long as it can.
    now.checked_add(delay).unwrap_or(now)
}
