//! Execution limits with AWS's defaults, configurable per run (and, in the service, per tenant).

use std::io::Write;

use serde_json::Value;

use crate::asl::error::{ErrorName, StatesError};

/// AWS's payload quota: 256 KiB of UTF-8 per state input/output, task result and execution
/// input/output.
pub const DEFAULT_MAX_PAYLOAD_BYTES: usize = 262_144;

/// AWS's Standard-workflow history quota: an execution fails when its history would grow past
/// 25,000 events. It applies when history is recorded (the durable service, `run --history`);
/// Express-like runs that keep no history (the CLI by default, `bench`) have no such limit.
pub const DEFAULT_MAX_HISTORY_EVENTS: u64 = 25_000;

/// Limits for one execution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest payload in bytes (`None`: unlimited). Exceeding it is `States.DataLimitExceeded`.
    pub max_payload_bytes: Option<usize>,
    /// Largest history in events (`None`: unlimited); checked only while recording history.
    pub max_history_events: Option<u64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_payload_bytes: Some(DEFAULT_MAX_PAYLOAD_BYTES),
            max_history_events: Some(DEFAULT_MAX_HISTORY_EVENTS),
        }
    }
}

/// Counts bytes and stops once past a bound, so checking a huge payload costs at most the bound.
struct Counter {
    n: usize,
    bound: usize,
}

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.n += buf.len();
        if self.n > self.bound {
            return Err(std::io::Error::other("over the bound"));
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Limits {
    /// No limits at all.
    pub fn unlimited() -> Self {
        Limits {
            max_payload_bytes: None,
            max_history_events: None,
        }
    }

    /// Fails with `States.DataLimitExceeded` when `value` serializes to more than the payload
    /// limit. `what` names the payload in the cause.
    pub fn check_payload(&self, value: &Value, what: &str) -> Result<(), StatesError> {
        let Some(bound) = self.max_payload_bytes else {
            return Ok(());
        };
        let mut counter = Counter { n: 0, bound };
        if serde_json::to_writer(&mut counter, value).is_err() {
            return Err(StatesError::new(
                ErrorName::DataLimitExceeded,
                format!(
                    "The {what} has a size exceeding the maximum number of bytes service limit of {bound} bytes"
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_limit_is_exact() {
        let limits = Limits {
            max_payload_bytes: Some(7),
            max_history_events: None,
        };
        assert!(
            limits
                .check_payload(&Value::from("12345"), "output")
                .is_ok()
        ); // 7 bytes with quotes
        let err = limits
            .check_payload(&Value::from("123456"), "output")
            .unwrap_err();
        assert_eq!(err.name, ErrorName::DataLimitExceeded);
        assert!(
            Limits::unlimited()
                .check_payload(&Value::from("x".repeat(1000)), "o")
                .is_ok()
        );
    }
}
