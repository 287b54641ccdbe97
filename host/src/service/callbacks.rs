//! SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat: a signal for a callback task
//! (`.waitForTaskToken`) goes to its execution's driver, waking the execution if it is
//! parked, and the call returns once the step the signal caused is durable.
//!
//! A token is a capability bound to its tenant: a token of another tenant's execution is
//! `TaskDoesNotExist`, exactly as a token of no execution is. A token whose task is closed
//! (completed, retried, caught, stopped, its execution ended) or past its deadline is
//! `TaskTimedOut`, as AWS answers both; so completing a task twice is refused.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::oneshot;

use super::{MAX_PAYLOAD_BYTES, Service, ServiceError};
use crate::engine::callback::{self, Delivery, Inbox, Refusal, Signal};
use crate::engine::ports::ExecutionStatus;
use crate::store::TenantRecord;

/// Longest `error` of SendTaskFailure (AWS: 256 characters).
pub const MAX_ERROR_CHARS: usize = 256;
/// Longest `cause` of SendTaskFailure (AWS: 32,768 characters).
pub const MAX_CAUSE_CHARS: usize = 32_768;

/// How often, and how long apart, a signal looks again for an execution that is between
/// a driver and the timers (being woken, or retrying a failed commit).
const ROUTE_ATTEMPTS: u32 = 500;
const ROUTE_PAUSE: Duration = Duration::from_millis(10);

impl Service {
    /// SendTaskSuccess: the callback task succeeds with `output` (JSON text).
    pub async fn send_task_success(
        &self,
        tenant: &TenantRecord,
        token: &str,
        output: &str,
    ) -> Result<(), ServiceError> {
        if output.len() > MAX_PAYLOAD_BYTES {
            return Err(ServiceError::InvalidOutput {
                reason: format!(
                    "output is {} bytes, over the limit of {MAX_PAYLOAD_BYTES}",
                    output.len()
                ),
            });
        }
        let output: Value =
            serde_json::from_str(output).map_err(|e| ServiceError::InvalidOutput {
                reason: format!("output is not JSON: {e}"),
            })?;
        self.signal(tenant, token, Signal::Success(output)).await
    }

    /// SendTaskFailure: the callback task fails with `error` and `cause` (Retry and Catch
    /// see them).
    pub async fn send_task_failure(
        &self,
        tenant: &TenantRecord,
        token: &str,
        error: Option<String>,
        cause: Option<String>,
    ) -> Result<(), ServiceError> {
        let error = error.unwrap_or_default();
        let cause = cause.unwrap_or_default();
        if error.chars().count() > MAX_ERROR_CHARS {
            return Err(ServiceError::Validation {
                message: format!("error must be at most {MAX_ERROR_CHARS} characters"),
            });
        }
        if cause.chars().count() > MAX_CAUSE_CHARS {
            return Err(ServiceError::Validation {
                message: format!("cause must be at most {MAX_CAUSE_CHARS} characters"),
            });
        }
        self.signal(tenant, token, Signal::Failure { error, cause })
            .await
    }

    /// SendTaskHeartbeat: the callback task's HeartbeatSeconds start again.
    pub async fn send_task_heartbeat(
        &self,
        tenant: &TenantRecord,
        token: &str,
    ) -> Result<(), ServiceError> {
        self.signal(tenant, token, Signal::Heartbeat).await
    }

    pub(super) async fn signal(
        &self,
        tenant: &TenantRecord,
        token: &str,
        signal: Signal,
    ) -> Result<(), ServiceError> {
        let target = callback::parse(token).ok_or_else(|| ServiceError::InvalidTaskToken {
            reason: "not a task token this server issued".into(),
        })?;
        let closed = |reason: &str| ServiceError::TaskTimedOut {
            reason: reason.into(),
        };
        for _ in 0..ROUTE_ATTEMPTS {
            match self.store().execution(&target.execution)? {
                Some(r) if r.tenant == tenant.id => {
                    if r.status != ExecutionStatus::Running {
                        return Err(closed("its execution has ended"));
                    }
                }
                _ => return Err(ServiceError::TaskDoesNotExist),
            }
            let (reply, answer) = oneshot::channel();
            let delivery = Delivery {
                frame: target.frame,
                token: token.to_owned(),
                signal: signal.clone(),
                reply,
            };
            if self.route(&target.execution, delivery) {
                match answer.await {
                    Ok(Ok(())) => return Ok(()),
                    Ok(Err(Refusal::Closed)) => return Err(closed("it is already closed")),
                    Ok(Err(Refusal::TimedOut)) => return Err(closed("its deadline passed")),
                    // The driver stopped before it answered (the execution ended, or a
                    // commit failed): look again.
                    Err(_) => {}
                }
            }
            tokio::time::sleep(ROUTE_PAUSE).await;
        }
        Err(ServiceError::Unavailable {
            reason: "the task's execution is not running in this server right now; retry".into(),
        })
    }

    /// Hands `delivery` to the execution's driver, or wakes it from the timers with it.
    /// `false`: neither holds the execution right now (it is being woken, or is between a
    /// failed commit and its retry).
    fn route(&self, arn: &str, delivery: Delivery) -> bool {
        let drivers = self.inner.drivers.lock();
        if let Some(driving) = drivers.get(arn) {
            driving.inbox.push(delivery);
            return true;
        }
        let Some(parked) = self.inner.timers.take(arn) else {
            return false;
        };
        drop(drivers);
        let inbox = Arc::new(Inbox::default());
        inbox.push(delivery);
        self.wake(parked, inbox);
        true
    }
}
