//! The callback pattern (`Resource` ending in `.waitForTaskToken`): the task's token, and the
//! inbox through which the outside world (SendTaskSuccess, SendTaskFailure,
//! SendTaskHeartbeat) reaches a running execution's driver.
//!
//! A token names its execution and frame and carries 128 random bits; the whole token is
//! kept in the frame's attempt (so it is committed atomically with the step that created
//! it and survives a restart), and a completion must present exactly that token. Nothing
//! else indexes tokens: a completed, retried or stopped task's frame no longer holds its
//! token, so using it again is refused.

use std::collections::VecDeque;
use std::sync::Mutex;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use serde_json::Value;
use tokio::sync::{Notify, oneshot};

use super::frame::FrameId;

pub use crate::asl::resource::WAIT_FOR_TASK_TOKEN;

/// AWS's TimeoutSeconds when a Task gives none (99,999,999 s): a callback always expires.
pub const DEFAULT_TIMEOUT_SECS: u64 = 99_999_999;

/// Longest token AWS accepts in SendTask* (`taskToken`: 1 to 2,048 characters).
pub const MAX_TOKEN_LEN: usize = 2048;

/// The resource to invoke when `resource` waits for a task token, `None` otherwise.
pub fn base_resource(resource: &str) -> Option<&str> {
    resource.strip_suffix(WAIT_FOR_TASK_TOKEN)
}

/// The activity a Task's `Resource` names (`arn:aws:states:REGION:ACCOUNT:activity:NAME`):
/// (account, name); `None` for any other resource.
pub fn activity_of(resource: &str) -> Option<(&str, &str)> {
    let rest = resource.strip_prefix("arn:")?;
    let mut parts = rest.splitn(6, ':');
    let (_partition, service, _region) = (parts.next()?, parts.next()?, parts.next()?);
    let (account, kind, name) = (parts.next()?, parts.next()?, parts.next()?);
    (service == "states" && kind == "activity" && !name.is_empty() && !name.contains(':'))
        .then_some((account, name))
}

/// Whether a Task's `Resource` waits for its token: the callback pattern or an activity.
pub fn waits_for_token(resource: &str) -> bool {
    base_resource(resource).is_some() || activity_of(resource).is_some()
}

/// An activity task scheduled and not yet handed to a worker: what a worker gets.
#[derive(Clone, Debug, PartialEq)]
pub struct ActivityTask {
    /// The activity's ARN (the Task's `Resource`).
    pub activity: String,
    /// The execution's ARN.
    pub execution: String,
    /// The token (its frame is in it).
    pub token: String,
    /// The task's effective input.
    pub input: Value,
}

/// Where scheduled activity tasks go (the service's queues). Told only once the step that
/// scheduled a task is durable, and again whenever the execution is resumed with the task
/// still unstarted (so a listener dedupes by token).
pub trait ActivityBoard: Send + Sync {
    /// A task waits for a worker.
    fn scheduled(&self, task: ActivityTask);
}

/// A new token for a callback attempt of `frame` in `execution`.
pub fn mint(execution: &str, frame: FrameId) -> String {
    let secret: [u8; 16] = rand::rng().random();
    URL_SAFE_NO_PAD.encode(format!("{frame}:{}:{execution}", hex::encode(secret)))
}

/// Where a token points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRef {
    /// The execution's ARN.
    pub execution: String,
    /// The frame waiting for it.
    pub frame: FrameId,
}

/// Reads a token's execution and frame; `None` when it is not one this server issues.
pub fn parse(token: &str) -> Option<TokenRef> {
    if token.is_empty() || token.len() > MAX_TOKEN_LEN {
        return None;
    }
    let raw = URL_SAFE_NO_PAD.decode(token).ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let mut parts = raw.splitn(3, ':');
    let frame = parts.next()?.parse().ok()?;
    let secret = parts.next()?;
    let execution = parts.next()?;
    if secret.len() != 32 || !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    if !execution.starts_with("arn:") {
        return None;
    }
    Some(TokenRef {
        execution: execution.to_owned(),
        frame,
    })
}

/// What the outside world says about a waiting task.
#[derive(Clone, Debug, PartialEq)]
pub enum Signal {
    /// SendTaskSuccess: the task's result.
    Success(Value),
    /// SendTaskFailure: its error and cause (Retry and Catch see them).
    Failure {
        /// Error name.
        error: String,
        /// Cause.
        cause: String,
    },
    /// SendTaskHeartbeat: the heartbeat clock starts again.
    Heartbeat,
    /// GetActivityTask handed the task to a worker (`ActivityStarted`); the heartbeat clock
    /// starts.
    Started {
        /// The worker's name, as it gave it.
        worker: Option<String>,
    },
}

/// Why a signal was refused (AWS's API errors).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The task is closed: completed, retried, caught, or its execution ended
    /// (AWS's `TaskTimedOut`: "expired or already closed").
    #[error("the task is closed (completed, or its execution moved on)")]
    Closed,
    /// The task's TimeoutSeconds or HeartbeatSeconds ran out (`TaskTimedOut`).
    #[error("the task timed out")]
    TimedOut,
}

/// One signal on its way to a driver, with the channel its answer goes back on (once the
/// step it caused is durable).
#[derive(Debug)]
pub struct Delivery {
    /// The frame the token names.
    pub frame: FrameId,
    /// The token, compared with the one the frame holds.
    pub token: String,
    /// What to do.
    pub signal: Signal,
    /// The answer.
    pub reply: oneshot::Sender<Result<(), Refusal>>,
}

/// Signals for one execution, queued by the service and taken by its driver. A driver that
/// parks leaves queued signals here; whoever parks it checks [`Inbox::is_empty`] first.
#[derive(Debug, Default)]
pub struct Inbox {
    queue: Mutex<VecDeque<Delivery>>,
    arrived: Notify,
}

impl Inbox {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Delivery>> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a signal and wakes the driver.
    pub fn push(&self, delivery: Delivery) {
        self.lock().push_back(delivery);
        self.arrived.notify_one();
    }

    /// Takes every queued signal.
    pub fn take(&self) -> Vec<Delivery> {
        self.lock().drain(..).collect()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Resolves when a signal may have arrived (a push before the call is not missed).
    pub async fn arrived(&self) {
        self.arrived.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_name_their_frame_and_are_unguessable() {
        let arn = "arn:aws:states:local:t1:execution:sm:e:1";
        let a = mint(arn, 7);
        let b = mint(arn, 7);
        assert_ne!(a, b, "128 random bits each");
        assert_eq!(
            parse(&a),
            Some(TokenRef {
                execution: arn.into(),
                frame: 7
            })
        );
        for bad in [
            "",
            "not base64 !",
            "YWJj",
            &URL_SAFE_NO_PAD.encode("7:zz:arn:x"),
            &"a".repeat(MAX_TOKEN_LEN + 1),
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        assert_eq!(base_resource("wasm:x.waitForTaskToken"), Some("wasm:x"));
        assert_eq!(base_resource("wasm:x"), None);
        assert_eq!(
            activity_of("arn:aws:states:us-east-1:acme:activity:review"),
            Some(("acme", "review"))
        );
        for other in [
            "wasm:x",
            "arn:aws:states:us-east-1:acme:stateMachine:review",
            "arn:aws:lambda:us-east-1:acme:activity:review",
            "arn:aws:states:us-east-1:acme:activity:",
        ] {
            assert_eq!(activity_of(other), None, "{other}");
        }
    }
}
