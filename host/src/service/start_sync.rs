//! Synchronous EXPRESS executions (StartSyncExecution): run to the end in memory,
//! recorded, and answered with AWS's `billingDetails` from our own metering.

use super::executions::runtime_error;
use super::express::Claim;
use super::names::MachineRef;
use super::runtime::Launch;
use super::{Resource, Service, ServiceError};
use crate::engine::driver::StopOrder;
use crate::engine::ports::BoxFuture;
use crate::store::{ExecutionRecord, MachineType, StoreError, TenantRecord, now_ms};

/// A finished synchronous EXPRESS execution.
#[derive(Clone, Debug)]
pub struct SyncRun {
    /// Its record (with output or error).
    pub record: ExecutionRecord,
    /// What AWS would bill for it.
    pub billing: BillingDetails,
}

/// AWS's `billingDetails` of a synchronous EXPRESS execution, from our own metering: the
/// execution's wall time and the most linear memory any of its task attempts used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BillingDetails {
    /// Billed memory, in MB: rounded up to 64 MB increments (at least 64).
    pub billed_memory_used_mb: u64,
    /// Billed duration, in ms: rounded up to 100 ms increments (at least 100).
    pub billed_duration_ms: u64,
}

impl BillingDetails {
    /// AWS's Express rounding: memory in 64 MB blocks, duration in 100 ms blocks, each
    /// at least one block.
    pub fn from_usage(duration_ms: i64, memory_bytes: u64) -> Self {
        const MB: u64 = 1024 * 1024;
        let ms = u64::try_from(duration_ms).unwrap_or(0);
        let mb = memory_bytes.div_ceil(MB);
        Self {
            billed_memory_used_mb: mb.div_ceil(64).max(1) * 64,
            billed_duration_ms: ms.div_ceil(100).max(1) * 100,
        }
    }
}

impl Service {
    /// Runs an EXPRESS execution and records it; also returns the peak memory its tasks
    /// used (for billing details).
    pub(super) async fn run_express(
        &self,
        launch: Launch,
        stop: Option<BoxFuture<'static, StopOrder>>,
    ) -> Result<(ExecutionRecord, u64), ServiceError> {
        let mut record = launch.record.clone();
        let run = self
            .runtime()
            .run_express(launch, stop)
            .await
            .map_err(runtime_error)?;
        record.status = run.end.status;
        record.output = run.end.output.map(|v| v.to_string());
        record.error = run.end.error;
        record.cause = run.end.cause;
        record.stop_ms = Some(now_ms());
        let name = record.name.clone();
        // A start was acknowledged: while the disk is full the record waits for space
        // (visible as RUNNING meanwhile) rather than being lost.
        let recorded = loop {
            match self
                .store()
                .record_express(record.clone(), &run.events)
                .await
            {
                Err(StoreError::StorageFull { .. }) => {
                    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                }
                other => break other,
            }
        };
        recorded
            .map(|r| (r, run.peak_memory_bytes))
            .map_err(|e| match e {
                StoreError::AlreadyExists { .. } => ServiceError::AlreadyExists {
                    what: Resource::Execution,
                    name,
                    detail: String::new(),
                },
                other => other.into(),
            })
    }

    /// Runs an EXPRESS execution (of the latest revision, a version or an alias) to its
    /// end, as an asynchronous start does (so describe, list and stop see it), and returns
    /// its record (with output) and billing details.
    pub async fn start_sync_execution(
        &self,
        tenant: &TenantRecord,
        target: &MachineRef,
        name: Option<String>,
        input: Option<String>,
    ) -> Result<SyncRun, ServiceError> {
        let (name, target_run) = self.prepare_start(tenant, target, name)?;
        let machine = target_run.revision.clone();
        if machine.machine_type != MachineType::Express {
            return Err(ServiceError::WrongMachineType {
                name: target.to_string(),
            });
        }
        let record = Self::new_record(tenant, &target_run, name, input)?;
        let taken = || ServiceError::AlreadyExists {
            what: Resource::Execution,
            name: record.name.clone(),
            detail: String::new(),
        };
        if self.store().execution(&record.arn)?.is_some() {
            return Err(taken());
        }
        let slot = self.admit(tenant)?;
        let arn = record.arn.clone();
        let ended = match self.spawn_express(Self::launch(tenant, record.clone(), machine), slot) {
            Ok(ended) => ended,
            Err(Claim::Taken(_)) => return Err(taken()),
            Err(Claim::Failed(e)) => return Err(e),
        };
        let (record, peak) = match ended.await {
            Ok(result) => result?,
            // Its end was not reported (a stop that could not record it): say what the
            // store holds (no task memory is known then).
            Err(_) => (
                self.store()
                    .execution(&arn)?
                    .ok_or_else(|| ServiceError::Internal {
                        detail: format!("express execution {arn} ended without a record"),
                    })?,
                0,
            ),
        };
        let duration = record.stop_ms.unwrap_or(record.start_ms) - record.start_ms;
        Ok(SyncRun {
            billing: BillingDetails::from_usage(duration, peak),
            record,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn billing_rounds_as_aws_does() {
        const MB: u64 = 1024 * 1024;
        let b = BillingDetails::from_usage(0, 0);
        assert_eq!((b.billed_memory_used_mb, b.billed_duration_ms), (64, 100));
        let b = BillingDetails::from_usage(101, 64 * MB);
        assert_eq!((b.billed_memory_used_mb, b.billed_duration_ms), (64, 200));
        let b = BillingDetails::from_usage(1000, 64 * MB + 1);
        assert_eq!((b.billed_memory_used_mb, b.billed_duration_ms), (128, 1000));
        let b = BillingDetails::from_usage(-5, 3 * MB);
        assert_eq!((b.billed_memory_used_mb, b.billed_duration_ms), (64, 100));
    }
}
