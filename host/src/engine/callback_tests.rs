//! Callback tasks (`.waitForTaskToken`) in the engine: the token only for that pattern, the
//! park while waiting, TaskSubmitted, signals through the inbox after a resume from
//! committed frames, refusals, and the TimeoutSeconds/HeartbeatSeconds deadlines.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tokio::sync::oneshot;

use super::callback::{self, ActivityBoard, ActivityTask, Delivery, Inbox, Refusal, Signal};
use super::context::ExecutionInfo;
use super::driver::{Driven, Runtime, run_or_park};
use super::execution::Execution;
use super::limits::Limits;
use super::ports::{Clock, ExecutionStatus, TaskRunner};
use super::testkit::{MemoryJournal, ScriptedTasks, VirtualClock, event_types, model, run_with};

const START: u64 = 1_700_000_000;

/// A journaled execution on a virtual clock, driven in rounds like the service does.
struct Harness {
    def: Value,
    journal: Arc<MemoryJournal>,
    clock: Arc<VirtualClock>,
    tasks: Arc<ScriptedTasks>,
    board: Arc<Board>,
}

/// Records the activity tasks the driver announces.
#[derive(Default)]
struct Board(std::sync::Mutex<Vec<ActivityTask>>);

impl ActivityBoard for Board {
    fn scheduled(&self, task: ActivityTask) {
        self.0.lock().unwrap().push(task);
    }
}

impl Board {
    fn take(&self) -> Vec<ActivityTask> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl Harness {
    fn new(def: Value) -> Self {
        Harness {
            def,
            journal: Arc::new(MemoryJournal::default()),
            clock: Arc::new(VirtualClock::at(START)),
            tasks: Arc::new(ScriptedTasks::default().on("wasm:t", vec![Ok(json!("sent"))])),
            board: Arc::default(),
        }
    }

    fn info(&self) -> Arc<ExecutionInfo> {
        Arc::new(ExecutionInfo::local(
            "j",
            "sm",
            Arc::new(json!({"order": 7})),
            UNIX_EPOCH + Duration::from_secs(START),
        ))
    }

    fn runtime(&self) -> Runtime {
        Runtime {
            activities: Some(self.board.clone() as Arc<dyn ActivityBoard>),
            clock: self.clock.clone(),
            tasks: Some(self.tasks.clone() as Arc<dyn TaskRunner>),
            journal: Some(self.journal.clone()),
            limits: Limits::default(),
            record_history: true,
        }
    }

    /// Starts the execution; it parks on its callback.
    fn start(&self) -> Driven {
        let mut exec = Execution::new(
            model(&self.def),
            self.info(),
            Limits::default(),
            true,
            self.clock.now(),
        );
        self.drive(&mut exec, &Inbox::default())
    }

    /// Resumes it from its committed frames with `signals` queued; returns how far it got
    /// and each signal's answer.
    fn resume(&self, signals: Vec<(String, Signal)>) -> (Driven, Vec<Result<(), Refusal>>) {
        let frames: Vec<(u64, Vec<u8>)> = self
            .journal
            .frames
            .lock()
            .unwrap()
            .clone()
            .into_iter()
            .collect();
        let last = self
            .journal
            .events
            .lock()
            .unwrap()
            .last()
            .map_or(0, |e| e.id);
        let mut exec = Execution::resume(
            model(&self.def),
            self.info(),
            Limits::default(),
            &frames,
            last,
        )
        .unwrap();
        let inbox = Inbox::default();
        let mut answers = Vec::new();
        for (token, signal) in signals {
            let (reply, rx) = oneshot::channel();
            let frame = callback::parse(&token).map_or(0, |t| t.frame);
            inbox.push(Delivery {
                frame,
                token,
                signal,
                reply,
            });
            answers.push(rx);
        }
        let driven = self.drive(&mut exec, &inbox);
        let answers = answers
            .into_iter()
            .map(|mut rx| rx.try_recv().expect("answered"))
            .collect();
        (driven, answers)
    }

    fn drive(&self, exec: &mut Execution, inbox: &Inbox) -> Driven {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(run_or_park(
            exec,
            &self.runtime(),
            Some(Duration::from_secs(1)),
            Some(inbox),
        ))
        .unwrap()
    }

    fn types(&self) -> Vec<String> {
        let events = self.journal.events.lock().unwrap();
        events.iter().map(|e| e.event_type.clone()).collect()
    }

    /// The token the task was invoked with.
    fn token(&self, call: usize) -> String {
        self.tasks.calls()[call]
            .context
            .task_token
            .clone()
            .expect("a callback task's invocation has a token")
    }

    fn end(&self) -> (ExecutionStatus, Option<Value>, Option<String>) {
        let end = self.journal.end.lock().unwrap().clone().expect("ended");
        (end.status, end.output, end.error)
    }
}

fn approval(extra: Value) -> Value {
    let mut task = json!({"Type": "Task", "Resource": "wasm:t.waitForTaskToken",
        "Parameters": {"order.$": "$.order", "token.$": "$$.Task.Token"},
        "ResultPath": "$.approval", "Next": "Done"});
    if let (Some(t), Some(extra)) = (task.as_object_mut(), extra.as_object()) {
        t.extend(extra.clone());
    }
    let mut def = json!({"StartAt": "Ask", "States": {
        "Ask": task,
        "Done": {"Type": "Pass", "End": true}}});
    // Only a Catch reaches it (an unreachable state is refused, as in AWS).
    if def.to_string().contains("\"Next\":\"Caught\"") {
        def["States"]["Caught"] = json!({"Type": "Pass", "End": true});
    }
    def
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(START + secs)
}

#[test]
fn a_callback_task_parks_until_its_token_succeeds_and_the_output_flows_on() {
    let h = Harness::new(approval(json!({"TimeoutSeconds": 3600})));
    let Driven::Parked { wake_at } = h.start() else {
        panic!("a callback waits parked")
    };
    assert_eq!(wake_at, at(3600), "parked until TimeoutSeconds");
    let token = h.token(0);
    let call = &h.tasks.calls()[0];
    assert_eq!(
        call.resource, "wasm:t",
        "the component is invoked without the suffix"
    );
    assert_eq!(
        call.input["token"],
        token.as_str(),
        "$$.Task.Token is the token"
    );
    assert_eq!(
        callback::parse(&token).map(|t| t.execution),
        Some(h.info().id.clone())
    );
    assert_eq!(
        h.types(),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSubmitted"
        ]
    );
    let (driven, answers) = h.resume(vec![(token.clone(), Signal::Success(json!({"ok": 1})))]);
    assert!(matches!(driven, Driven::Finished(_)), "{driven:?}");
    assert_eq!(answers, vec![Ok(())]);
    assert_eq!(
        h.end(),
        (
            ExecutionStatus::Succeeded,
            Some(json!({"order": 7, "approval": {"ok": 1}})),
            None
        )
    );
    assert_eq!(
        h.types()[5..],
        [
            "TaskSucceeded",
            "TaskStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(h.tasks.calls().len(), 1, "the component ran once");
}

#[test]
fn a_token_is_refused_once_its_task_is_closed_and_a_wrong_token_never_matches() {
    let h = Harness::new(approval(json!({})));
    h.start();
    let token = h.token(0);
    let forged = callback::mint(&h.info().id, 0);
    let (_, answers) = h.resume(vec![
        (forged, Signal::Success(json!(1))),
        (token.clone(), Signal::Success(json!(2))),
        (token.clone(), Signal::Success(json!(3))),
        (token, Signal::Heartbeat),
    ]);
    assert_eq!(
        answers,
        vec![
            Err(Refusal::Closed),
            Ok(()),
            Err(Refusal::Closed),
            Err(Refusal::Closed)
        ]
    );
    assert_eq!(h.end().1, Some(json!({"order": 7, "approval": 2})));
}

#[test]
fn send_task_failure_goes_through_catch_with_its_error_and_cause() {
    let h = Harness::new(approval(json!({
        "Catch": [{"ErrorEquals": ["Rejected"], "ResultPath": "$.why", "Next": "Caught"}]})));
    h.start();
    let token = h.token(0);
    let (_, answers) = h.resume(vec![(
        token,
        Signal::Failure {
            error: "Rejected".into(),
            cause: "no budget".into(),
        },
    )]);
    assert_eq!(answers, vec![Ok(())]);
    let (status, output, _) = h.end();
    assert_eq!(status, ExecutionStatus::Succeeded);
    assert_eq!(
        output,
        Some(json!({"order": 7, "why": {"Error": "Rejected", "Cause": "no budget"}}))
    );
    assert!(h.types().contains(&"TaskFailed".to_string()));
}

#[test]
fn heartbeats_move_the_heartbeat_deadline_and_silence_times_out() {
    let h = Harness::new(approval(
        json!({"HeartbeatSeconds": 60, "TimeoutSeconds": 600}),
    ));
    let Driven::Parked { wake_at } = h.start() else {
        panic!("parks")
    };
    assert_eq!(wake_at, at(60), "parked until the heartbeat deadline");
    let token = h.token(0);
    // A heartbeat 30 s in: the next deadline is 60 s after it.
    drop(h.clock.sleep_until(at(30)));
    let (driven, answers) = h.resume(vec![(token.clone(), Signal::Heartbeat)]);
    assert_eq!(answers, vec![Ok(())]);
    let Driven::Parked { wake_at } = driven else {
        panic!("parks again")
    };
    assert_eq!(wake_at, at(90));
    // Nothing by 90 s: States.HeartbeatTimeout.
    drop(h.clock.sleep_until(at(90)));
    let (driven, answers) = h.resume(vec![(token, Signal::Success(json!(1)))]);
    assert!(matches!(driven, Driven::Finished(_)));
    assert_eq!(answers, vec![Err(Refusal::TimedOut)], "too late");
    assert_eq!(
        h.end().2.as_deref(),
        Some("States.HeartbeatTimeout"),
        "{:?}",
        h.types()
    );
    assert!(h.types().contains(&"TaskTimedOut".to_string()));
}

#[test]
fn timeout_seconds_path_bounds_the_wait_and_a_retry_gets_a_new_token() {
    let def = json!({"StartAt": "Ask", "States": {"Ask": {
        "Type": "Task", "Resource": "wasm:t.waitForTaskToken", "TimeoutSecondsPath": "$.t",
        "Retry": [{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 1, "MaxAttempts": 1}],
        "End": true}}});
    let tasks = Arc::new(ScriptedTasks::default());
    let runner = tasks.clone() as Arc<dyn TaskRunner>;
    let (f, clock) = run_with(&def, json!({"t": 5}), Some(runner));
    assert_eq!(f.end.error.as_deref(), Some("States.Timeout"));
    assert_eq!(clock.sleeps(), vec![at(5), at(6), at(11)]);
    let tokens: Vec<_> = tasks
        .calls()
        .into_iter()
        .map(|c| c.context.task_token.expect("token"))
        .collect();
    assert_eq!(tokens.len(), 2);
    assert_ne!(tokens[0], tokens[1], "each attempt has its own token");
    assert_eq!(
        event_types(&f)
            .iter()
            .filter(|t| *t == "TaskTimedOut")
            .count(),
        2
    );
}

#[test]
fn a_failed_invocation_fails_the_task_without_waiting() {
    let tasks = Arc::new(ScriptedTasks::default().on("wasm:t", vec![Err(("Unreachable", "down"))]));
    let (f, _) = run_with(
        &approval(json!({})),
        json!({"order": 1}),
        Some(tasks as Arc<dyn TaskRunner>),
    );
    assert_eq!(f.end.error.as_deref(), Some("Unreachable"));
    assert!(!event_types(&f).contains(&"TaskSubmitted".to_string()));
}

#[test]
fn a_request_response_task_has_no_token() {
    let tasks = Arc::new(ScriptedTasks::default());
    let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "wasm:t",
        "End": true}}});
    let (f, _) = run_with(&def, json!({}), Some(tasks.clone() as Arc<dyn TaskRunner>));
    assert_eq!(f.end.status, ExecutionStatus::Succeeded);
    assert_eq!(tasks.calls()[0].context.task_token, None);
    let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "wasm:t",
        "Parameters": {"tok.$": "$$.Task.Token"}, "End": true}}});
    let (f, _) = run_with(&def, json!({}), Some(tasks as Arc<dyn TaskRunner>));
    assert_eq!(
        f.end.error.as_deref(),
        Some("States.Runtime"),
        "$$.Task.Token exists only for .waitForTaskToken"
    );
}

const ACTIVITY: &str = "arn:aws:states:local:t1:activity:pack";

fn activity_machine() -> Value {
    json!({"StartAt": "Pack", "States": {
        "Pack": {"Type": "Task", "Resource": ACTIVITY, "HeartbeatSeconds": 60,
                 "TimeoutSeconds": 600, "ResultPath": "$.packed", "Next": "Done"},
        "Done": {"Type": "Pass", "End": true}}})
}

#[test]
fn an_activity_task_is_announced_once_durable_and_again_on_resume_and_invokes_nothing() {
    let h = Harness::new(activity_machine());
    let Driven::Parked { wake_at } = h.start() else {
        panic!("parks")
    };
    assert_eq!(
        wake_at,
        at(600),
        "no heartbeat deadline before a worker has it"
    );
    let announced = h.board.take();
    assert_eq!(announced.len(), 1);
    assert_eq!(
        (announced[0].activity.as_str(), &announced[0].input),
        (ACTIVITY, &json!({"order": 7}))
    );
    assert!(
        h.tasks.calls().is_empty(),
        "an activity invokes no component"
    );
    assert_eq!(
        h.types(),
        ["ExecutionStarted", "TaskStateEntered", "ActivityScheduled"]
    );
    // Resumed (a restart) with it still unstarted: announced again, same token.
    let (_, answers) = h.resume(Vec::new());
    assert!(answers.is_empty());
    let again = h.board.take();
    assert_eq!(again, announced);
    // Handed to a worker, completed: the result flows on.
    let token = announced[0].token.clone();
    let started = |w: &str| Signal::Started {
        worker: Some(w.into()),
    };
    let (driven, answers) = h.resume(vec![
        (token.clone(), started("w1")),
        (token.clone(), started("w2")),
        (token.clone(), Signal::Success(json!({"box": 3}))),
    ]);
    assert_eq!(answers, vec![Ok(()), Err(Refusal::Closed), Ok(())]);
    assert!(matches!(driven, Driven::Finished(_)));
    assert!(h.board.take().is_empty(), "a started task is not announced");
    let (status, output, _) = h.end();
    assert_eq!(status, ExecutionStatus::Succeeded);
    assert_eq!(output, Some(json!({"order": 7, "packed": {"box": 3}})));
    let types = h.types();
    assert_eq!(
        types[2..6],
        [
            "ActivityScheduled",
            "ActivityStarted",
            "ActivitySucceeded",
            "TaskStateExited"
        ]
    );
    let events = h.journal.events.lock().unwrap();
    let started = events.iter().find(|e| e.event_type == "ActivityStarted");
    assert!(
        started.is_some_and(|e| serde_json::to_string(&e.details)
            .unwrap()
            .contains("\"workerName\":\"w1\"")),
        "{started:?}"
    );
}

#[test]
fn an_activity_heartbeat_counts_from_the_hand_off_and_silence_times_it_out() {
    let h = Harness::new(activity_machine());
    assert!(matches!(h.start(), Driven::Parked { .. }));
    let token = h.board.take()[0].token.clone();
    drop(h.clock.sleep_until(at(10)));
    let (driven, answers) = h.resume(vec![(token.clone(), Signal::Started { worker: None })]);
    assert_eq!(answers, vec![Ok(())]);
    let Driven::Parked { wake_at } = driven else {
        panic!("parks")
    };
    assert_eq!(wake_at, at(70), "HeartbeatSeconds from ActivityStarted");
    drop(h.clock.sleep_until(at(70)));
    let (driven, answers) = h.resume(vec![(token, Signal::Success(json!(1)))]);
    assert!(matches!(driven, Driven::Finished(_)));
    assert_eq!(answers, vec![Err(Refusal::TimedOut)], "too late");
    assert_eq!(h.end().2.as_deref(), Some("States.HeartbeatTimeout"));
    let types = h.types();
    assert!(types.contains(&"ActivityTimedOut".to_string()), "{types:?}");
    for task_event in ["TaskScheduled", "TaskStarted", "TaskTimedOut"] {
        assert!(!types.contains(&task_event.to_string()), "{types:?}");
    }
}
