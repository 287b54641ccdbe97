//! Parallel and Map children: starting them under MaxConcurrency, gathering their results in
//! order, failing fast or tolerating failures, cancelling the rest.

use super::*;

impl Execution {
    /// Starts a Parallel/Map state's children.
    pub(super) fn fork(
        &mut self,
        id: FrameId,
        machine: MachineId,
        children: Box<Children>,
        input: Value,
        attempt: Attempt,
        now: SystemTime,
    ) -> Option<Effect> {
        let mut children = children;
        let deep = children
            .pending
            .iter()
            .find_map(|(_, v)| check_depth(v, "branch or iteration input").err());
        if let Some(error) = deep {
            return self.fail_frame(id, error);
        }
        children.input = input;
        children.attempt = attempt;
        children.results = vec![None; children.pending.len()];
        let empty = children.pending.is_empty();
        self.set(id, Cursor::Children(children));
        if empty {
            return self.children_complete(id, machine, now);
        }
        let started = self.launch(id, now);
        Some(Effect::Fork(started))
    }

    /// Starts as many pending children as the concurrency limit allows.
    pub(super) fn launch(&mut self, id: FrameId, now: SystemTime) -> Vec<FrameId> {
        let mut started = Vec::new();
        let model = Arc::clone(&self.model);
        let Some(Frame {
            cursor: Cursor::Children(ch),
            machine,
            ..
        }) = self.frames.get_mut(&id)
        else {
            return started;
        };
        let state_name = Arc::clone(&model.machine(*machine).state(ch.state).name);
        let limit = if ch.max_concurrency == 0 {
            usize::MAX
        } else {
            ch.max_concurrency
        };
        // Sized up front: a 10,000-item Map must not regrow (and copy) these per push.
        let count = (ch.pending.len() - ch.started).min(limit.saturating_sub(ch.running));
        let mut new_frames = Vec::with_capacity(count);
        while ch.started < ch.pending.len() && ch.running < limit {
            let index = ch.started;
            let (child_machine, input) =
                std::mem::replace(&mut ch.pending[index], (0, Value::Null));
            ch.started += 1;
            ch.running += 1;
            let start = model.machine(child_machine).start;
            new_frames.push((
                index,
                Frame {
                    parent: Some(ParentLink { frame: id, index }),
                    machine: child_machine,
                    cursor: Cursor::Enter {
                        state: start,
                        input,
                    },
                    variables: Map::new(),
                },
            ));
        }
        let is_map = ch.is_map;
        let first = self.next_frame;
        ch.child_ids
            .extend(first..first + new_frames.len() as FrameId);
        self.frames.reserve(new_frames.len());
        started.reserve(new_frames.len());
        for (index, frame) in new_frames {
            let child = self.next_frame;
            self.next_frame += 1;
            // AWS records Map iterations; Parallel branches have no events of their own.
            if is_map {
                self.events
                    .map_iteration(now, "MapIterationStarted", &state_name, index);
            }
            self.frames.insert(child, frame);
            self.mark(child);
            started.push(child);
        }
        started
    }

    /// A frame reached [`Cursor::Done`]. For a child, hands its outcome to the parent and
    /// returns the parent (and any newly started siblings) to run; for the top-level frame,
    /// returns the execution's ending.
    pub fn frame_done(&mut self, id: FrameId, now: SystemTime) -> Result<Vec<FrameId>, Ending> {
        let Some(frame) = self.frames.remove(&id) else {
            return Ok(Vec::new());
        };
        if self.track {
            // A child's final frame carries its result until the parent gathers them all.
            let state = match frame.parent {
                Some(_) => match super::super::frame::encode(id, &frame) {
                    Ok(bytes) => Some(bytes),
                    Err(e) => return Err(Ending::unstorable(&e)),
                },
                None => None,
            };
            self.final_frames.push(FrameUpdate { frame: id, state });
        }
        let Cursor::Done(outcome) = frame.cursor else {
            return Ok(Vec::new());
        };
        let Some(link) = frame.parent else {
            return Err(match outcome {
                Outcome::Succeeded(output) => Ending::Succeeded(output),
                Outcome::Failed { error, cause } => Ending::Failed { error, cause },
            });
        };
        self.child_done(link, outcome, now)
    }

    pub(super) fn child_done(
        &mut self,
        link: ParentLink,
        outcome: Outcome,
        now: SystemTime,
    ) -> Result<Vec<FrameId>, Ending> {
        let model = Arc::clone(&self.model);
        let parent = link.frame;
        let Some(Frame {
            cursor: Cursor::Children(ch),
            machine,
            ..
        }) = self.frames.get_mut(&parent)
        else {
            return Ok(Vec::new());
        };
        let machine = *machine;
        let state_name = Arc::clone(&model.machine(machine).state(ch.state).name);
        ch.running -= 1;
        ch.finished += 1;
        let is_map = ch.is_map;
        let failure = match outcome {
            Outcome::Succeeded(v) => {
                ch.results[link.index] = Some(v);
                None
            }
            Outcome::Failed { error, cause } => {
                ch.failed += 1;
                let mut info = Map::new();
                info.insert("Error".into(), Value::from(error.as_str()));
                info.insert("Cause".into(), Value::from(cause.as_str()));
                ch.results[link.index] = Some(Value::Object(info));
                Some((error, cause))
            }
        };
        let tolerant = ch.tolerated_count.is_some() || ch.tolerated_percentage.is_some();
        let total = ch.pending.len();
        let over_threshold = tolerant && states::map::over_threshold(ch, total);
        let all_done = ch.finished == total;
        if is_map {
            let kind = if failure.is_some() {
                "MapIterationFailed"
            } else {
                "MapIterationSucceeded"
            };
            self.events
                .map_iteration(now, kind, &state_name, link.index);
        }
        let fail_now = match &failure {
            Some((error, cause)) if !tolerant => {
                Some(StatesError::new(ErrorName::parse(error), cause.clone()))
            }
            Some(_) if over_threshold => Some(StatesError::new(
                ErrorName::ExceedToleratedFailureThreshold,
                "The specified tolerated failure threshold was exceeded",
            )),
            _ => None,
        };
        if let Some(error) = fail_now {
            self.cancel_children(parent, now);
            let Some(Frame {
                cursor: Cursor::Children(ch),
                ..
            }) = self.frames.get_mut(&parent)
            else {
                return Ok(Vec::new());
            };
            let input = std::mem::take(&mut ch.input);
            let attempt = std::mem::take(&mut ch.attempt);
            let state_id = ch.state;
            let state = model.machine(machine).state(state_id);
            let kind = if is_map {
                "MapStateFailed"
            } else {
                "ParallelStateFailed"
            };
            self.events.plain(now, kind);
            self.on_error(parent, state_id, state, input, attempt, error, false, now);
            self.mark(parent);
            return Ok(vec![parent]);
        }
        if all_done {
            return Ok(vec![parent]);
        }
        Ok(self.launch(parent, now))
    }

    /// Deletes the stored frames of `parent`'s children (finished or not).
    pub(super) fn forget_children(&mut self, parent: FrameId) {
        if !self.track {
            return;
        }
        if let Some(Frame {
            cursor: Cursor::Children(ch),
            ..
        }) = self.frames.get_mut(&parent)
        {
            let ids = std::mem::take(&mut ch.child_ids);
            self.final_frames.extend(
                ids.into_iter()
                    .map(|frame| FrameUpdate { frame, state: None }),
            );
        }
    }

    /// Removes every descendant of `parent`, walking each frame's own list of children
    /// (O(descendants), not a scan of every frame per cancelled frame).
    pub(super) fn cancel_children(&mut self, parent: FrameId, now: SystemTime) {
        let mut pending = match self.frames.get(&parent) {
            Some(Frame {
                cursor: Cursor::Children(ch),
                ..
            }) => ch.child_ids.clone(),
            _ => Vec::new(),
        };
        self.forget_children(parent);
        while let Some(id) = pending.pop() {
            // Finished children are gone already.
            let Some(f) = self.frames.remove(&id) else {
                continue;
            };
            match &f.cursor {
                Cursor::Waiting { .. } => self.events.plain(now, "WaitStateAborted"),
                Cursor::Children(ch) => {
                    pending.extend_from_slice(&ch.child_ids);
                    // A nested Map/Parallel's stored children go with it.
                    if self.track {
                        self.final_frames.extend(
                            ch.child_ids
                                .iter()
                                .map(|&frame| FrameUpdate { frame, state: None }),
                        );
                    }
                }
                _ => {}
            }
            if self.track {
                self.dirty.push((id, false));
            }
        }
    }

    /// All children finished without failing the state: gather results and finish the state.
    pub(super) fn children_complete(
        &mut self,
        id: FrameId,
        machine: MachineId,
        now: SystemTime,
    ) -> Option<Effect> {
        self.forget_children(id);
        let model = Arc::clone(&self.model);
        let Some(Frame {
            cursor: Cursor::Children(ch),
            ..
        }) = self.frames.get_mut(&id)
        else {
            return Some(Effect::Blocked);
        };
        let ch = std::mem::replace(ch, Box::new(states::empty_children()));
        let state_id = ch.state;
        let state = model.machine(machine).state(state_id);
        let results: Vec<Value> = ch
            .results
            .into_iter()
            .map(|r| r.unwrap_or(Value::Null))
            .collect();
        let kind = if ch.is_map {
            "MapStateSucceeded"
        } else {
            "ParallelStateSucceeded"
        };
        self.events.plain(now, kind);
        let (input, attempt) = (ch.input, ch.attempt);
        self.finish_and_apply(id, state_id, state, attempt.entered_event, now, |cx| {
            states::finish_children(cx, state, input, attempt, Value::Array(results))
        })
    }
}
