//! Builds history events with AWS's names and detail fields, only when someone records them
//! (the durable service always does; the CLI only with `--history`), so the fast path pays
//! for a counter and nothing else.

use std::time::SystemTime;

use serde_json::{Map, Value, json};

use super::context::format_time;
use super::history::HistoryEvent;
use super::ports::TaskLog;

/// Bytes of log messages one Task event keeps (Stepwasm's `logs` extension field); entries
/// past it are dropped and the event says `"logsTruncated": true`. The sandbox's own
/// per-invocation bound (`sandbox::DEFAULT_LOG_BYTES`) is the same by default.
pub const TASK_LOG_HISTORY_BYTES: usize = 64 * 1024;

/// What a task said while it ran, for its terminal event.
#[derive(Clone, Copy, Debug, Default)]
pub struct TaskLogs<'a> {
    /// Log lines and captured stdout/stderr, in order.
    pub entries: &'a [TaskLog],
    /// Whether the runner already dropped some.
    pub truncated: bool,
}

/// `{"error": ..., "cause": ...}` with only the fields that exist (AWS leaves out an absent
/// one rather than writing an empty string).
fn error_fields(error: Option<&str>, cause: Option<&str>) -> Value {
    let mut fields = Map::new();
    if let Some(error) = error {
        fields.insert("error".into(), Value::from(error));
    }
    if let Some(cause) = cause {
        fields.insert("cause".into(), Value::from(cause));
    }
    Value::Object(fields)
}

/// The events of one execution, in order, with dense ids.
#[derive(Debug, Default)]
pub struct EventLog {
    record: bool,
    events: Vec<HistoryEvent>,
    /// Id the next event gets.
    next_id: u64,
}

impl EventLog {
    /// A log that records (`record`) or only counts.
    pub fn new(record: bool) -> Self {
        EventLog {
            record,
            events: Vec::new(),
            next_id: 1,
        }
    }

    /// A recording log continuing after `last_id` (for a resumed execution).
    pub fn resume(record: bool, last_id: u64) -> Self {
        EventLog {
            record,
            events: Vec::new(),
            next_id: last_id + 1,
        }
    }

    /// Whether events are built.
    pub fn recording(&self) -> bool {
        self.record
    }

    /// How many events the execution has had so far.
    pub fn count(&self) -> u64 {
        self.next_id - 1
    }

    /// Takes the events recorded since the last call.
    pub fn take(&mut self) -> Vec<HistoryEvent> {
        std::mem::take(&mut self.events)
    }

    /// Whether there are recorded events not yet taken.
    pub fn has_pending(&self) -> bool {
        !self.events.is_empty()
    }

    fn push(&mut self, now: SystemTime, event_type: &str, details: Option<(&str, Value)>) {
        let id = self.next_id;
        self.next_id += 1;
        if !self.record {
            return;
        }
        let mut map = Map::new();
        if let Some((key, value)) = details {
            map.insert(key.to_owned(), value);
        }
        self.events.push(HistoryEvent {
            id,
            previous_event_id: id - 1,
            timestamp: format_time(now),
            event_type: event_type.to_owned(),
            details: map,
        });
    }

    /// `ExecutionRedriven` (RedriveExecution), with the execution's redrive count.
    pub fn execution_redriven(&mut self, now: SystemTime, redrive_count: u32) {
        self.push(
            now,
            "ExecutionRedriven",
            Some((
                "executionRedrivenEventDetails",
                json!({ "redriveCount": redrive_count }),
            )),
        );
    }

    /// `ExecutionStarted`.
    pub fn execution_started(
        &mut self,
        now: SystemTime,
        input: &Value,
        role_arn: &str,
        machine_id: &str,
    ) {
        let details = self.record.then(|| {
            (
                "executionStartedEventDetails",
                json!({"input": text(input), "inputDetails": {"truncated": false},
                       "roleArn": role_arn, "stateMachineArn": machine_id}),
            )
        });
        self.push(now, "ExecutionStarted", details);
    }

    /// `ExecutionSucceeded`.
    pub fn execution_succeeded(&mut self, now: SystemTime, output: &Value) {
        let details = self.record.then(|| {
            (
                "executionSucceededEventDetails",
                json!({"output": text(output), "outputDetails": {"truncated": false}}),
            )
        });
        self.push(now, "ExecutionSucceeded", details);
    }

    /// `ExecutionAborted` (StopExecution): AWS leaves out the error and cause the caller
    /// did not give, rather than writing empty strings.
    pub fn execution_aborted(&mut self, now: SystemTime, error: Option<&str>, cause: Option<&str>) {
        let details = self
            .record
            .then(|| ("executionAbortedEventDetails", error_fields(error, cause)));
        self.push(now, "ExecutionAborted", details);
    }

    /// `ExecutionFailed` or `ExecutionTimedOut` (by `event_type`).
    pub fn execution_ended_badly(
        &mut self,
        now: SystemTime,
        event_type: &str,
        error: Option<&str>,
        cause: Option<&str>,
    ) {
        let key = match event_type {
            "ExecutionTimedOut" => "executionTimedOutEventDetails",
            _ => "executionFailedEventDetails",
        };
        let details = self.record.then(|| (key, error_fields(error, cause)));
        self.push(now, event_type, details);
    }

    /// `<Type>StateEntered`.
    pub fn state_entered(&mut self, now: SystemTime, type_name: &str, name: &str, input: &Value) {
        if !self.record {
            return self.push(now, "", None);
        }
        let details =
            json!({"name": name, "input": text(input), "inputDetails": {"truncated": false}});
        self.push(
            now,
            &format!("{type_name}StateEntered"),
            Some(("stateEnteredEventDetails", details)),
        );
    }

    /// `<Type>StateExited`.
    pub fn state_exited(&mut self, now: SystemTime, type_name: &str, name: &str, output: &Value) {
        if !self.record {
            return self.push(now, "", None);
        }
        let details =
            json!({"name": name, "output": text(output), "outputDetails": {"truncated": false}});
        self.push(
            now,
            &format!("{type_name}StateExited"),
            Some(("stateExitedEventDetails", details)),
        );
    }

    /// An event without details, e.g. `ParallelStateStarted`, `MapStateSucceeded`,
    /// `WaitStateAborted`.
    pub fn plain(&mut self, now: SystemTime, event_type: &str) {
        self.push(now, event_type, None);
    }

    /// `MapStateStarted` with the number of items.
    pub fn map_started(&mut self, now: SystemTime, length: usize) {
        let details = self
            .record
            .then(|| ("mapStateStartedEventDetails", json!({"length": length})));
        self.push(now, "MapStateStarted", details);
    }

    /// `MapIterationStarted/Succeeded/Failed/Aborted` (by `event_type`).
    pub fn map_iteration(&mut self, now: SystemTime, event_type: &str, name: &str, index: usize) {
        let key = match event_type {
            "MapIterationStarted" => "mapIterationStartedEventDetails",
            "MapIterationSucceeded" => "mapIterationSucceededEventDetails",
            "MapIterationFailed" => "mapIterationFailedEventDetails",
            _ => "mapIterationAbortedEventDetails",
        };
        let details = self
            .record
            .then(|| (key, json!({"name": name, "index": index})));
        self.push(now, event_type, details);
    }

    /// `TaskScheduled`.
    pub fn task_scheduled(
        &mut self,
        now: SystemTime,
        resource: &str,
        parameters: &Value,
        timeout: Option<u64>,
        heartbeat: Option<u64>,
    ) {
        let details = self.record.then(|| {
            let mut d = json!({"resourceType": "wasm", "resource": resource,
                               "region": "local", "parameters": text(parameters)});
            if let Some(t) = timeout {
                d["timeoutInSeconds"] = json!(t);
            }
            if let Some(h) = heartbeat {
                d["heartbeatInSeconds"] = json!(h);
            }
            ("taskScheduledEventDetails", d)
        });
        self.push(now, "TaskScheduled", details);
    }

    /// `TaskStarted`.
    pub fn task_started(&mut self, now: SystemTime, resource: &str) {
        let details = self.record.then(|| {
            (
                "taskStartedEventDetails",
                json!({"resourceType": "wasm", "resource": resource}),
            )
        });
        self.push(now, "TaskStarted", details);
    }

    /// `TaskSubmitted`: a callback task's invocation returned `output`; the task now waits
    /// for its token.
    pub fn task_submitted(
        &mut self,
        now: SystemTime,
        resource: &str,
        output: &Value,
        logs: TaskLogs<'_>,
    ) {
        let kind = ("TaskSubmitted", "taskSubmittedEventDetails");
        self.task_output(now, kind, resource, output, logs);
    }

    /// `TaskSucceeded`, with the task's logs (Stepwasm extension, omitted when empty).
    pub fn task_succeeded(
        &mut self,
        now: SystemTime,
        resource: &str,
        output: &Value,
        logs: TaskLogs<'_>,
    ) {
        let kind = ("TaskSucceeded", "taskSucceededEventDetails");
        self.task_output(now, kind, resource, output, logs);
    }

    /// A task event carrying the task's output and logs (`TaskSubmitted`, `TaskSucceeded`):
    /// `kind` is its type and its details field.
    fn task_output(
        &mut self,
        now: SystemTime,
        (event_type, details_field): (&str, &str),
        resource: &str,
        output: &Value,
        logs: TaskLogs<'_>,
    ) {
        let details = self.record.then(|| {
            let mut d = json!({"resourceType": "wasm", "resource": resource, "output": text(output),
                       "outputDetails": {"truncated": false}});
            add_logs(&mut d, logs);
            (details_field, d)
        });
        self.push(now, event_type, details);
    }

    /// `TaskFailed` or `TaskTimedOut` (by `event_type`), with the task's logs (Stepwasm
    /// extension, omitted when empty).
    pub fn task_failed(
        &mut self,
        now: SystemTime,
        event_type: &str,
        resource: &str,
        (error, cause): (&str, &str),
        logs: TaskLogs<'_>,
    ) {
        let key = if event_type == "TaskTimedOut" {
            "taskTimedOutEventDetails"
        } else {
            "taskFailedEventDetails"
        };
        let details = self.record.then(|| {
            let mut d =
                json!({"resourceType": "wasm", "resource": resource, "error": error, "cause": cause});
            add_logs(&mut d, logs);
            (key, d)
        });
        self.push(now, event_type, details);
    }
}

/// Activity tasks (a Task whose `Resource` is an activity ARN), as AWS records them.
impl EventLog {
    /// `ActivityScheduled`: the task waits for a worker.
    pub fn activity_scheduled(
        &mut self,
        now: SystemTime,
        resource: &str,
        input: &Value,
        timeout: Option<u64>,
        heartbeat: Option<u64>,
    ) {
        let details = self.record.then(|| {
            let mut d = json!({"resource": resource, "input": text(input),
                               "inputDetails": {"truncated": false}});
            if let Some(t) = timeout {
                d["timeoutInSeconds"] = json!(t);
            }
            if let Some(h) = heartbeat {
                d["heartbeatInSeconds"] = json!(h);
            }
            ("activityScheduledEventDetails", d)
        });
        self.push(now, "ActivityScheduled", details);
    }

    /// `ActivityStarted`: a worker took the task (GetActivityTask).
    pub fn activity_started(&mut self, now: SystemTime, worker: Option<&str>) {
        let details = self.record.then(|| {
            let d = match worker {
                Some(w) => json!({"workerName": w}),
                None => json!({}),
            };
            ("activityStartedEventDetails", d)
        });
        self.push(now, "ActivityStarted", details);
    }

    /// `ActivitySucceeded`.
    pub fn activity_succeeded(&mut self, now: SystemTime, output: &Value) {
        let details = self.record.then(|| {
            (
                "activitySucceededEventDetails",
                json!({"output": text(output), "outputDetails": {"truncated": false}}),
            )
        });
        self.push(now, "ActivitySucceeded", details);
    }

    /// `ActivityFailed` or `ActivityTimedOut` (by `event_type`).
    pub fn activity_failed(&mut self, now: SystemTime, event_type: &str, error: &str, cause: &str) {
        let key = if event_type == "ActivityTimedOut" {
            "activityTimedOutEventDetails"
        } else {
            "activityFailedEventDetails"
        };
        let details = self
            .record
            .then(|| (key, json!({"error": error, "cause": cause})));
        self.push(now, event_type, details);
    }
}

/// Adds `"logs": [{"level": "info", "message": ..}, {"stream": "stdout", "message": ..}]`
/// within [`TASK_LOG_HISTORY_BYTES`], and `"logsTruncated": true` when anything was dropped.
fn add_logs(details: &mut Value, logs: TaskLogs<'_>) {
    let mut truncated = logs.truncated;
    let mut room = TASK_LOG_HISTORY_BYTES;
    let mut entries = Vec::new();
    for log in logs.entries {
        if log.message.len() > room {
            truncated = true;
            break;
        }
        room -= log.message.len();
        let key = match log.level.as_str() {
            "stdout" | "stderr" => "stream",
            _ => "level",
        };
        entries.push(json!({key: log.level, "message": log.message}));
    }
    if !entries.is_empty() {
        details["logs"] = Value::Array(entries);
    }
    if truncated {
        details["logsTruncated"] = Value::Bool(true);
    }
}

/// JSON text, as AWS puts payloads into event details.
fn text(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn recorded_events_have_aws_shape_and_dense_ids() {
        let mut log = EventLog::new(true);
        log.execution_started(UNIX_EPOCH, &json!({"a": 1}), "role", "sm");
        log.state_entered(UNIX_EPOCH, "Pass", "P", &json!({"a": 1}));
        log.map_iteration(UNIX_EPOCH, "MapIterationStarted", "M", 2);
        let events = log.take();
        assert_eq!(events.len(), 3);
        assert_eq!(events[1].id, 2);
        assert_eq!(events[1].previous_event_id, 1);
        let v = serde_json::to_value(&events[1]).unwrap();
        assert_eq!(v["type"], "PassStateEntered");
        assert_eq!(v["stateEnteredEventDetails"]["name"], "P");
        assert_eq!(v["stateEnteredEventDetails"]["input"], "{\"a\":1}");
        let v = serde_json::to_value(&events[2]).unwrap();
        assert_eq!(v["mapIterationStartedEventDetails"]["index"], 2);
    }

    #[test]
    fn task_events_carry_bounded_logs_only_when_there_are_some() {
        let log = |level: &str, message: String| TaskLog {
            level: level.into(),
            message,
        };
        let mut events = EventLog::new(true);
        let out = json!(1);
        events.task_succeeded(UNIX_EPOCH, "wasm:a", &out, TaskLogs::default());
        let entries = [
            log("info", "hello".into()),
            log("stdout", "printed".into()),
            log("stderr", "x".repeat(TASK_LOG_HISTORY_BYTES)),
        ];
        let logs = TaskLogs {
            entries: &entries,
            truncated: false,
        };
        events.task_failed(UNIX_EPOCH, "TaskFailed", "wasm:a", ("E", "c"), logs);
        let events = events.take();
        let quiet = serde_json::to_value(&events[0]).unwrap();
        assert!(quiet["taskSucceededEventDetails"].get("logs").is_none());
        assert!(
            quiet["taskSucceededEventDetails"]
                .get("logsTruncated")
                .is_none()
        );
        let failed = serde_json::to_value(&events[1]).unwrap();
        let d = &failed["taskFailedEventDetails"];
        assert_eq!(
            d["logs"],
            json!([{"level": "info", "message": "hello"}, {"stream": "stdout", "message": "printed"}])
        );
        assert_eq!(d["logsTruncated"], true);
        assert_eq!(d["error"], "E");
    }

    #[test]
    fn a_counting_log_builds_nothing() {
        let mut log = EventLog::new(false);
        log.state_entered(UNIX_EPOCH, "Pass", "P", &json!(1));
        log.state_exited(UNIX_EPOCH, "Pass", "P", &json!(1));
        assert_eq!(log.count(), 2);
        assert!(log.take().is_empty());
    }
}
