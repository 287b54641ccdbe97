//! A Task state's request to the driver, and its outcome coming back.

use super::*;

impl Execution {
    pub(super) fn task_request(
        &self,
        state: &State,
        effective: &Value,
        attempt: &Attempt,
    ) -> Result<TaskRequest, StatesError> {
        let StateKind::Task(task) = &state.kind else {
            unreachable!("task_request is only called for Task states")
        };
        let (timeout, heartbeat) = states::task::limits(task, effective)?;
        let (resource, input) = crate::engine::lambda::request(&task.resource, effective);
        Ok(TaskRequest {
            tenant: self.info.tenant.clone(),
            resource,
            input,
            timeout: timeout.map(Duration::from_secs),
            heartbeat: heartbeat.map(Duration::from_secs),
            context: TaskContext {
                execution_id: self.info.id.clone(),
                execution_name: self.info.name.clone(),
                state_name: state.name.to_string(),
                retry_count: attempt.retry_count,
                task_token: attempt.task_token.clone(),
            },
        })
    }

    /// A task finished: its result goes through the pipeline, or its error through Retry/Catch.
    pub fn task_done(&mut self, id: FrameId, outcome: TaskOutcome, now: SystemTime) {
        let Some(frame) = self.frames.get_mut(&id) else {
            return;
        };
        let machine = frame.machine;
        let cursor = std::mem::replace(
            &mut frame.cursor,
            Cursor::Done(Outcome::Succeeded(Value::Null)),
        );
        let Cursor::Task {
            state: state_id,
            input,
            effective,
            attempt,
        } = cursor
        else {
            frame.cursor = cursor;
            return;
        };
        let model = Arc::clone(&self.model);
        let state = model.machine(machine).state(state_id);
        let StateKind::Task(task) = &state.kind else {
            return;
        };
        let TaskOutcome {
            result,
            logs,
            logs_truncated,
            memory_bytes: _,
        } = outcome;
        let result = result
            .map(|out| crate::engine::lambda::result(&task.resource, &effective, out))
            .map_err(|TaskFailure { error, cause }| (error, cause));
        let logs = crate::engine::events::TaskLogs {
            entries: &logs,
            truncated: logs_truncated,
        };
        self.finish_and_apply(id, state_id, state, attempt.entered_event, now, |cx| {
            states::task::finish(cx, state, task, input, result, logs, attempt)
        });
        self.mark(id);
    }
}
