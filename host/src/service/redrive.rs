//! RedriveExecution: AWS's rules (a STANDARD execution that ended FAILED, TIMED_OUT or
//! ABORTED, at most 14 days ago, redriven fewer than 1,000 times), then one atomic store
//! commit that makes it RUNNING again with an `ExecutionRedriven` event and the frames to
//! run from ([`crate::engine::execution::redrive`]), then the same driver as any durable
//! execution. It runs the state machine version it started with (and so the same
//! component versions: they are pinned by content hash).

use super::names::execution_arn;
use super::runtime::RuntimeError;
use super::{Resource, Service, ServiceError};
use crate::engine::ports::ExecutionStatus;
use crate::store::{ExecutionRecord, MachineType, StoreError, TenantRecord, now_ms};

/// AWS's window: an execution can be redriven within 14 days of its end.
pub const REDRIVE_WINDOW_MS: i64 = 14 * 24 * 60 * 60 * 1000;
/// AWS's limit on redrives of one execution.
pub const MAX_REDRIVES: u32 = 1000;
/// AWS's maximum open time of an execution (one year): past it, no redrive.
pub const MAX_OPEN_MS: i64 = 365 * 24 * 60 * 60 * 1000;

/// DescribeExecution's `redriveStatus` and `redriveStatusReason` for a record.
pub fn redrive_status(record: &ExecutionRecord, now_ms: i64) -> (&'static str, Option<String>) {
    match refusal(record, now_ms) {
        None => ("REDRIVABLE", None),
        Some(reason) => ("NOT_REDRIVABLE", Some(reason)),
    }
}

/// Why AWS's rules refuse a redrive, if they do (the kept frames are checked later), in
/// the words of AWS's `redriveStatusReason`.
fn refusal(record: &ExecutionRecord, now: i64) -> Option<String> {
    if record.machine_type == MachineType::Express {
        return Some("Execution is an EXPRESS execution".into());
    }
    match record.status {
        ExecutionStatus::Failed | ExecutionStatus::TimedOut | ExecutionStatus::Aborted => {}
        ExecutionStatus::Running => {
            return Some("Execution is RUNNING and cannot be redriven".into());
        }
        ExecutionStatus::Succeeded => {
            return Some("Execution is SUCCEEDED and cannot be redriven".into());
        }
    }
    if record
        .stop_ms
        .is_some_and(|stop| now.saturating_sub(stop) > REDRIVE_WINDOW_MS)
    {
        return Some("Execution redrivable period exceeded".into());
    }
    if now.saturating_sub(record.start_ms) > MAX_OPEN_MS {
        return Some("Execution has exceeded the max execution time".into());
    }
    if record.redrive_count >= MAX_REDRIVES {
        return Some(format!(
            "Execution was redriven {MAX_REDRIVES} times, the limit"
        ));
    }
    None
}

impl Service {
    /// Redrives an execution; returns its record, RUNNING again.
    pub async fn redrive_execution(
        &self,
        tenant: &TenantRecord,
        state_machine: &str,
        name: &str,
    ) -> Result<ExecutionRecord, ServiceError> {
        let arn = execution_arn(&tenant.id, state_machine, name);
        let not_redrivable = |reason: String| ServiceError::NotRedrivable {
            name: name.to_owned(),
            reason,
        };
        let record = match self.store().execution(&arn)? {
            Some(r) => r,
            // A running EXPRESS execution is not stored yet.
            None if self.describe_execution(tenant, state_machine, name).is_ok() => {
                return Err(not_redrivable("Execution is an EXPRESS execution".into()));
            }
            None => {
                return Err(ServiceError::NotFound {
                    what: Resource::Execution,
                    name: name.to_owned(),
                });
            }
        };
        if let Some(reason) = refusal(&record, now_ms()) {
            return Err(not_redrivable(reason));
        }
        let kept = self.store().redrivable_execution(&arn)?.ok_or_else(|| {
            not_redrivable(
                "no state was kept for it (it ended before this server kept them)".into(),
            )
        })?;
        let machine = self.machine_version(&record)?;
        let slot = self.admit(tenant)?;
        let mut next = kept.record.clone();
        next.redrive_count += 1;
        let launch = Self::launch(tenant, next, machine);
        let commit = self
            .runtime()
            .redrive(&launch, &kept.frames, kept.last_event_id)
            .map_err(|e| match e {
                RuntimeError::NotRedrivable { message } => not_redrivable(message),
                RuntimeError::Unavailable { reason } => ServiceError::Unavailable { reason },
                other => ServiceError::Internal {
                    detail: other.to_string(),
                },
            })?;
        let frames: Vec<(u64, Vec<u8>)> = commit
            .frames
            .iter()
            .filter_map(|f| f.state.clone().map(|s| (f.frame, s)))
            .collect();
        let last_event_id = kept.last_event_id + commit.events.len() as u64;
        let record = self
            .store()
            .redrive_execution(commit, now_ms())
            .await
            .map_err(|e| match e {
                StoreError::NotRedrivable { status, .. } => {
                    not_redrivable(format!("Execution is {status:?}"))
                }
                other => other.into(),
            })?;
        // The kept frames the commit did not rewrite (finished children) are still stored;
        // the driver starts from everything stored, as after a restart.
        let stored = self
            .store()
            .running_execution(&arn)?
            .map_or(frames, |e| e.frames);
        let launch = super::Launch {
            record: record.clone(),
            ..launch
        };
        self.spawn_driver(launch, stored, last_event_id, slot, Default::default());
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ended(status: ExecutionStatus, start_ms: i64, stop_ms: i64) -> ExecutionRecord {
        ExecutionRecord {
            arn: "arn".into(),
            tenant: "t".into(),
            name: "e".into(),
            state_machine: "m".into(),
            state_machine_version: 1,
            machine_type: MachineType::Standard,
            status,
            input: "{}".into(),
            output: None,
            error: None,
            cause: None,
            start_ms,
            stop_ms: Some(stop_ms),
            seq: 0,
            redrive_count: 0,
            redrive_ms: None,
            components: Vec::new(),
            published_version: None,
            alias: None,
        }
    }

    #[test]
    fn aws_rules_and_reasons() {
        let day = 24 * 60 * 60 * 1000;
        let now = 400 * day;
        let status = |r: &ExecutionRecord| redrive_status(r, now);
        for s in [
            ExecutionStatus::Failed,
            ExecutionStatus::TimedOut,
            ExecutionStatus::Aborted,
        ] {
            assert_eq!(
                status(&ended(s, now - 2 * day, now - day)),
                ("REDRIVABLE", None)
            );
        }
        let reason = |r: &ExecutionRecord| status(r).1.unwrap();
        let failed = ExecutionStatus::Failed;
        assert_eq!(
            reason(&ended(ExecutionStatus::Succeeded, now - 2 * day, now - day)),
            "Execution is SUCCEEDED and cannot be redriven"
        );
        assert_eq!(
            reason(&ended(ExecutionStatus::Running, now - 2 * day, now - day)),
            "Execution is RUNNING and cannot be redriven"
        );
        // 14 days from the end: the last day in, the next out.
        assert_eq!(
            status(&ended(failed, now - 20 * day, now - 14 * day)).0,
            "REDRIVABLE"
        );
        assert_eq!(
            reason(&ended(failed, now - 20 * day, now - 14 * day - 1)),
            "Execution redrivable period exceeded"
        );
        // Open for more than a year (redriven since, so it ended recently).
        assert_eq!(
            reason(&ended(failed, now - 366 * day, now - day)),
            "Execution has exceeded the max execution time"
        );
        let mut express = ended(failed, now - 2 * day, now - day);
        express.machine_type = MachineType::Express;
        assert_eq!(status(&express).0, "NOT_REDRIVABLE");
        let mut many = ended(failed, now - 2 * day, now - day);
        many.redrive_count = MAX_REDRIVES;
        assert_eq!(status(&many).0, "NOT_REDRIVABLE");
    }
}
