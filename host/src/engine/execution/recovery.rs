//! Retry and Catch: what happens to a frame when its state fails.

use super::redrive;
use super::*;
use crate::engine::durations;
use crate::engine::inspect;

impl Execution {
    /// Retry, then Catch, then fail the frame.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn on_error(
        &mut self,
        id: FrameId,
        state_id: StateId,
        state: &State,
        input: Value,
        mut attempt: Attempt,
        error: StatesError,
        from_task: bool,
        now: SystemTime,
    ) -> Option<Effect> {
        if let Some((i, retrier)) = state
            .retry
            .iter()
            .enumerate()
            .find(|(_, r)| r.errors.matches(&error.name, from_task))
        {
            if attempt.per_retrier.len() < state.retry.len() {
                attempt.per_retrier.resize(state.retry.len(), 0);
            }
            let used = attempt.per_retrier[i];
            if used < retrier.max_attempts {
                attempt.per_retrier[i] = used + 1;
                attempt.retry_count += 1;
                let full_jitter = retrier.jitter == Jitter::Full;
                let written = durations::backoff_until(now, retrier.delay_seconds(used + 1), |d| {
                    if full_jitter {
                        rand::rng().random_range(0.0..=d)
                    } else {
                        d
                    }
                });
                let backoff = written.duration_since(now).unwrap_or_default();
                inspect::note_handled(
                    error.name.as_str(),
                    &error.cause,
                    Some((i, backoff.as_secs_f64())),
                    None,
                );
                let until = self.limits.time_scale.deadline(now, written);
                self.set(
                    id,
                    Cursor::Backoff {
                        state: state_id,
                        input,
                        attempt,
                        until_ms: to_ms(until),
                    },
                );
                return Some(Effect::Sleep(until));
            }
        }
        if let Some((index, catcher)) = state
            .catch
            .iter()
            .enumerate()
            .find(|(_, c)| c.errors.matches(&error.name, from_task))
        {
            inspect::note_handled(error.name.as_str(), &error.cause, None, Some(index));
            let mut info = Map::new();
            info.insert("Error".into(), Value::from(error.name.as_str()));
            info.insert("Cause".into(), Value::from(error.cause.as_str()));
            // Kept in case the Catcher itself fails (rare): that failure is redriven here.
            let kept = input.clone();
            let caught = self.catch_output(
                id,
                state,
                catcher,
                &attempt,
                input,
                Value::Object(info),
                now,
            );
            let caught = caught.and_then(|(output, assigned)| {
                check_output_depth(Some(&output), assigned.as_ref()).map(|()| (output, assigned))
            });
            match caught {
                Ok((output, assigned)) => {
                    if let Some(vars) = assigned {
                        self.store_variables(id, vars);
                    }
                    self.events
                        .state_exited(now, state.type_name(), &state.name, &output);
                    self.set(
                        id,
                        Cursor::Enter {
                            state: catcher.next,
                            input: output,
                        },
                    );
                    return None;
                }
                Err(e) => {
                    let e = e.in_state(&state.name, attempt.entered_event);
                    self.set(id, Cursor::Done(Outcome::failed(e)));
                    redrive::keep_failure(self, id, state_id, kept);
                    return Some(Effect::Done);
                }
            }
        }
        self.set(id, Cursor::Done(Outcome::failed(error)));
        redrive::keep_failure(self, id, state_id, input);
        Some(Effect::Done)
    }

    /// A Catcher's output and the variables its Assign sets (replacing the state's own).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn catch_output(
        &self,
        id: FrameId,
        state: &State,
        catcher: &Catcher,
        attempt: &Attempt,
        input: Value,
        error_output: Value,
        now: SystemTime,
    ) -> Result<(Value, Option<Map<String, Value>>), StatesError> {
        let vars = VarScope::of(&self.frames, id);
        let ctx = if state.needs_context {
            context_object(&self.info, StateFacts::of(state, attempt), None, None)
        } else {
            Value::Null
        };
        let _ = now;
        if state.query_language == QueryLanguage::Jsonata {
            return states::jsonata::caught(catcher, &input, &ctx, error_output, &vars);
        }
        let env = Env {
            context: &ctx,
            variables: &vars,
        };
        let assigned = catcher
            .assign
            .as_ref()
            .map(|a| pipeline::payload(a, &error_output, env))
            .transpose()?
            .map(|a| crate::engine::variables::checked_assignment(a, &vars))
            .transpose()?;
        let output = pipeline::result_path(&catcher.result_path, input, error_output)?;
        Ok((output, assigned))
    }
}
