//! History events with AWS's names and shapes (`GetExecutionHistory`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One event of an execution's history, shaped like AWS's `HistoryEvent`:
/// `{"id":3,"previousEventId":2,"timestamp":"...","type":"PassStateEntered",
///   "stateEnteredEventDetails":{"name":"...","input":"..."}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEvent {
    /// 1-based, dense, in order.
    pub id: u64,
    /// The event this one follows (0 for the first).
    pub previous_event_id: u64,
    /// RFC 3339 time with milliseconds.
    pub timestamp: String,
    /// AWS event type name, e.g. `ExecutionStarted`, `PassStateEntered`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The details object under its AWS key, e.g. `stateEnteredEventDetails`,
    /// flattened into the event.
    #[serde(flatten)]
    pub details: serde_json::Map<String, Value>,
}
