//! Activities (CreateActivity, DescribeActivity, DeleteActivity, ListActivities) and
//! GetActivityTask: workers outside the server long-poll an activity for its tasks.
//!
//! An activity task lives in the frame of the execution that scheduled it (a callback wait
//! with `activity` set), so it survives a restart with nothing else stored. The queues here
//! are only an index of unstarted tasks: the engine's driver announces a task once its
//! `ActivityScheduled` is durable, and again whenever the execution is resumed with the task
//! still unstarted (after a restart every RUNNING execution is). A poller takes a task off the
//! queue and hands it to its worker only after the execution committed `ActivityStarted`
//! (the engine refuses a second start), so each task goes to exactly one worker.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::Notify;

use super::components::page_by_name;
use super::names::{activity_arn, check_name};
use super::paging::{self, Page};
use super::{Resource, Service, ServiceError};
use crate::engine::callback::{ActivityBoard, ActivityTask, Signal};
use crate::store::{ActivityRecord, TenantRecord};

/// How long GetActivityTask waits for a task (AWS: 60 s).
pub const POLL_SECS: u64 = 60;
/// Longest `workerName` (AWS's `Name`: 80 characters).
pub const MAX_WORKER_NAME_CHARS: usize = 80;

/// Unstarted activity tasks by activity ARN (the ARN names the tenant).
#[derive(Default)]
pub(super) struct ActivityQueues {
    queues: Mutex<HashMap<String, Queue>>,
}

#[derive(Default)]
struct Queue {
    tasks: VecDeque<ActivityTask>,
    /// Tokens in `tasks`: an announcement repeated by a resume is dropped.
    tokens: HashSet<String>,
    /// Wakes one poller per task queued.
    ready: Arc<Notify>,
}

impl ActivityQueues {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Queue>> {
        self.queues.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn pop(&self, activity: &str) -> Option<ActivityTask> {
        let mut queues = self.lock();
        let queue = queues.get_mut(activity)?;
        let task = queue.tasks.pop_front()?;
        queue.tokens.remove(&task.token);
        Some(task)
    }

    fn ready(&self, activity: &str) -> Arc<Notify> {
        self.lock()
            .entry(activity.to_owned())
            .or_default()
            .ready
            .clone()
    }
}

impl ActivityBoard for ActivityQueues {
    fn scheduled(&self, task: ActivityTask) {
        let mut queues = self.lock();
        let queue = queues.entry(task.activity.clone()).or_default();
        if queue.tokens.insert(task.token.clone()) {
            queue.tasks.push_back(task);
            queue.ready.notify_one();
        }
    }
}

/// A task taken off its queue: put back if the poll ends (its client went away) before
/// the hand-off was decided.
struct Taken<'a> {
    queues: &'a ActivityQueues,
    task: Option<ActivityTask>,
}

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            self.queues.scheduled(task);
        }
    }
}

impl Service {
    /// The board the engine announces activity tasks to.
    pub(super) fn activity_board(&self) -> Arc<dyn ActivityBoard> {
        self.inner.activities.clone()
    }

    /// CreateActivity: idempotent by name, as in AWS.
    pub async fn create_activity(
        &self,
        tenant: &TenantRecord,
        name: &str,
    ) -> Result<ActivityRecord, ServiceError> {
        check_name(name)?;
        let (record, _created) = self.store().put_activity(&tenant.id, name).await?;
        Ok(record)
    }

    /// DescribeActivity.
    pub fn describe_activity(
        &self,
        tenant: &TenantRecord,
        name: &str,
    ) -> Result<ActivityRecord, ServiceError> {
        self.store()
            .activity(&tenant.id, name)?
            .ok_or_else(|| ServiceError::NotFound {
                what: Resource::Activity,
                name: name.to_string(),
            })
    }

    /// DeleteActivity: its unstarted tasks wait until they time out (as in AWS).
    pub async fn delete_activity(
        &self,
        tenant: &TenantRecord,
        name: &str,
    ) -> Result<(), ServiceError> {
        Ok(self.store().delete_activity(&tenant.id, name).await?)
    }

    /// ListActivities, by name.
    pub fn list_activities(
        &self,
        tenant: &TenantRecord,
        max_results: Option<i64>,
        next_token: Option<&str>,
    ) -> Result<Page<ActivityRecord>, ServiceError> {
        let limit = paging::page_size(max_results)?;
        let after = next_token
            .map(|t| paging::decode(t, "activities", &tenant.id))
            .transpose()?;
        let items = self
            .store()
            .list_activities(&tenant.id, after.as_deref(), limit + 1)?;
        Ok(page_by_name(items, limit, "activities", &tenant.id, |a| {
            &a.name
        }))
    }

    /// GetActivityTask: the next task of the activity, handed to this worker alone (its
    /// `ActivityStarted` is committed first), as (token, input); `None` when none came
    /// within [`POLL_SECS`].
    pub async fn get_activity_task(
        &self,
        tenant: &TenantRecord,
        name: &str,
        worker: Option<String>,
    ) -> Result<Option<(String, Value)>, ServiceError> {
        if worker
            .as_deref()
            .is_some_and(|w| w.chars().count() > MAX_WORKER_NAME_CHARS)
        {
            return Err(ServiceError::Validation {
                message: format!("workerName must be at most {MAX_WORKER_NAME_CHARS} characters"),
            });
        }
        self.describe_activity(tenant, name)?;
        let arn = activity_arn(&tenant.id, name);
        let queues = &*self.inner.activities;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(POLL_SECS);
        loop {
            while let Some(task) = queues.pop(&arn) {
                let mut taken = Taken {
                    queues,
                    task: Some(task),
                };
                let token = taken
                    .task
                    .as_ref()
                    .map(|t| t.token.clone())
                    .unwrap_or_default();
                let started = Signal::Started {
                    worker: worker.clone(),
                };
                match self.signal(tenant, &token, started).await {
                    Ok(()) => {
                        let task = taken.task.take().expect("taken above");
                        return Ok(Some((task.token, task.input)));
                    }
                    // Started by another poller, closed, or its execution ended: not a
                    // task any more.
                    Err(
                        ServiceError::TaskTimedOut { .. }
                        | ServiceError::TaskDoesNotExist
                        | ServiceError::InvalidTaskToken { .. },
                    ) => {
                        taken.task = None;
                    }
                    // Its execution is not reachable now (the task goes back).
                    Err(e) => return Err(e),
                }
            }
            let ready = queues.ready(&arn);
            let arrived = ready.notified();
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return Ok(None);
            }
        }
    }
}
