//! Mocked runs: Step Functions Local's mock configuration file (`MockConfigFile.json`) as a
//! [`TaskRunner`] that answers Task states from the file, so the engine runs unchanged.
//!
//! The file names test cases per state machine (`StateMachines` → name → `TestCases` →
//! case → state name → mocked response name) and the responses (`MockedResponses` → name →
//! invocation keys `"0"` or ranges `"1-2"` → `Return` (the task's result) or `Throw`
//! (`Error`, `Cause`)). An execution runs under a test case when it was started with
//! `#CaseName` after its state machine's name or ARN (as Step Functions Local does) or by
//! `stepwasm run --test-case`. Each Task state named in the case is answered from its
//! response, by how many times that state was invoked in the execution (retries and Map
//! iterations count); an invocation no key covers fails with `States.Runtime`, as the
//! execution fails in Step Functions Local. States the case does not name run for real
//! (Step Functions Local's "hybrid" testing).
//!
//! Which execution runs which case and the invocation counts are held in memory: mocked
//! runs are a test tool, and one resumed after a restart starts its counts over.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::engine::ports::{BoxFuture, TaskFailure, TaskOutcome, TaskRequest, TaskRunner};

/// One mocked answer.
#[derive(Clone, Debug, PartialEq)]
pub enum MockedResponse {
    /// The task returns this.
    Return(Value),
    /// The task fails with this error and cause.
    Throw {
        /// Error name.
        error: String,
        /// Cause.
        cause: String,
    },
}

/// Why a mock configuration file was refused.
#[derive(Debug, thiserror::Error)]
pub enum MockConfigError {
    /// Not JSON, or not the file's shape.
    #[error("mock config: {0}")]
    Shape(String),
    /// A test case names a response the file does not define.
    #[error("mock config: test case {case} of {machine} names the undefined response {response}")]
    UnknownResponse {
        /// State machine.
        machine: String,
        /// Test case.
        case: String,
        /// Response name.
        response: String,
    },
    /// An invocation key that is not `N` or `N-M`.
    #[error(
        "mock config: response {response} has a bad invocation key '{key}' (want \"N\" or \"N-M\")"
    )]
    BadKey {
        /// Response name.
        response: String,
        /// The key.
        key: String,
    },
    /// The test case does not exist.
    #[error("mock config: no test case {case} for state machine {machine}")]
    UnknownCase {
        /// State machine.
        machine: String,
        /// Test case.
        case: String,
    },
}

/// A parsed mock configuration file.
#[derive(Clone, Debug, Default)]
pub struct MockConfig {
    /// State machine → test case → state → response name.
    cases: HashMap<String, HashMap<String, HashMap<String, String>>>,
    /// Response name → (first, last invocation, answer), sorted by first.
    responses: HashMap<String, Vec<(u64, u64, MockedResponse)>>,
}

fn shape(message: impl Into<String>) -> MockConfigError {
    MockConfigError::Shape(message.into())
}

fn object<'a>(
    v: &'a Value,
    what: &str,
) -> Result<&'a serde_json::Map<String, Value>, MockConfigError> {
    v.as_object()
        .ok_or_else(|| shape(format!("{what} must be an object")))
}

fn parse_key(response: &str, key: &str) -> Result<(u64, u64), MockConfigError> {
    let bad = || MockConfigError::BadKey {
        response: response.to_owned(),
        key: key.to_owned(),
    };
    let num = |s: &str| s.trim().parse::<u64>().map_err(|_| bad());
    match key.split_once('-') {
        None => num(key).map(|n| (n, n)),
        Some((a, b)) => {
            let (a, b) = (num(a)?, num(b)?);
            if a <= b { Ok((a, b)) } else { Err(bad()) }
        }
    }
}

fn parse_answer(response: &str, v: &Value) -> Result<MockedResponse, MockConfigError> {
    let o = object(v, &format!("response {response}'s entry"))?;
    match (o.get("Return"), o.get("Throw")) {
        (Some(r), None) => Ok(MockedResponse::Return(r.clone())),
        (None, Some(t)) => {
            let t = object(t, "Throw")?;
            let text = |k: &str| {
                t.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            Ok(MockedResponse::Throw {
                error: text("Error"),
                cause: text("Cause"),
            })
        }
        _ => Err(shape(format!(
            "each entry of response {response} needs exactly one of Return or Throw"
        ))),
    }
}

impl MockConfig {
    /// Parses and checks the file's text.
    pub fn parse(text: &str) -> Result<Self, MockConfigError> {
        let root: Value = serde_json::from_str(text).map_err(|e| shape(e.to_string()))?;
        let root = object(&root, "the file")?;
        let mut config = MockConfig::default();
        if let Some(responses) = root.get("MockedResponses") {
            for (name, entries) in object(responses, "MockedResponses")? {
                let mut list = Vec::new();
                for (key, answer) in object(entries, &format!("response {name}"))? {
                    let (a, b) = parse_key(name, key)?;
                    list.push((a, b, parse_answer(name, answer)?));
                }
                list.sort_by_key(|(a, _, _)| *a);
                config.responses.insert(name.clone(), list);
            }
        }
        if let Some(machines) = root.get("StateMachines") {
            for (machine, m) in object(machines, "StateMachines")? {
                let mut cases = HashMap::new();
                let m = object(m, &format!("state machine {machine}"))?;
                let empty = Value::Object(Default::default());
                for (case, states) in object(m.get("TestCases").unwrap_or(&empty), "TestCases")? {
                    let mut map = HashMap::new();
                    for (state, response) in object(states, &format!("test case {case}"))? {
                        let response = response.as_str().ok_or_else(|| {
                            shape(format!("test case {case}: {state} must name a response"))
                        })?;
                        if !config.responses.contains_key(response) {
                            return Err(MockConfigError::UnknownResponse {
                                machine: machine.clone(),
                                case: case.clone(),
                                response: response.to_owned(),
                            });
                        }
                        map.insert(state.clone(), response.to_owned());
                    }
                    cases.insert(case.clone(), map);
                }
                config.cases.insert(machine.clone(), cases);
            }
        }
        Ok(config)
    }

    /// Reads and parses a file.
    pub fn load(path: &std::path::Path) -> Result<Self, MockConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| shape(format!("cannot read {}: {e}", path.display())))?;
        Self::parse(&text)
    }

    /// Checks that `machine` has test case `case`.
    pub fn check_case(&self, machine: &str, case: &str) -> Result<(), MockConfigError> {
        match self.cases.get(machine).and_then(|c| c.get(case)) {
            Some(_) => Ok(()),
            None => Err(MockConfigError::UnknownCase {
                machine: machine.to_owned(),
                case: case.to_owned(),
            }),
        }
    }

    /// The state machine holding `case`: `preferred` if it has one, else the only machine
    /// that does (for `stepwasm run`, whose machine name is only a file name).
    pub fn machine_with_case(
        &self,
        preferred: &str,
        case: &str,
    ) -> Result<String, MockConfigError> {
        if self.check_case(preferred, case).is_ok() {
            return Ok(preferred.to_owned());
        }
        let mut found = self.cases.iter().filter(|(_, c)| c.contains_key(case));
        match (found.next(), found.next()) {
            (Some((m, _)), None) => Ok(m.clone()),
            _ => Err(MockConfigError::UnknownCase {
                machine: preferred.to_owned(),
                case: case.to_owned(),
            }),
        }
    }

    /// Whether the test case mocks `state`.
    pub fn mocks(&self, machine: &str, case: &str, state: &str) -> bool {
        self.cases
            .get(machine)
            .and_then(|c| c.get(case))
            .is_some_and(|c| c.contains_key(state))
    }

    /// The answer of invocation `n` (0-based) of a mocked `state` (`None`: the file has no
    /// response for that invocation, which fails the task, as in Step Functions Local).
    pub fn answer(
        &self,
        machine: &str,
        case: &str,
        state: &str,
        n: u64,
    ) -> Option<&MockedResponse> {
        let response = self.cases.get(machine)?.get(case)?.get(state)?;
        self.responses
            .get(response)?
            .iter()
            .find(|(a, b, _)| (*a..=*b).contains(&n))
            .map(|(_, _, r)| r)
    }
}

/// Splits `name#Case` (a state machine name or ARN with a test case).
pub fn split_test_case(machine: &str) -> (&str, Option<&str>) {
    match machine.split_once('#') {
        Some((m, case)) => (m, Some(case)),
        None => (machine, None),
    }
}

/// A task runner answering mocked states from a [`MockConfig`], the rest from `inner`.
pub struct MockTasks {
    config: MockConfig,
    inner: Option<Arc<dyn TaskRunner>>,
    /// Execution id → (state machine, test case).
    runs: Mutex<HashMap<String, (String, String)>>,
    /// (execution id, state) → invocations so far.
    counts: Mutex<HashMap<(String, String), u64>>,
}

impl std::fmt::Debug for MockTasks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockTasks").finish_non_exhaustive()
    }
}

impl MockTasks {
    /// Mocks from `config` in front of `inner`.
    pub fn new(config: MockConfig, inner: Option<Arc<dyn TaskRunner>>) -> Self {
        Self {
            config,
            inner,
            runs: Mutex::new(HashMap::new()),
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &MockConfig {
        &self.config
    }

    /// Runs execution `execution_id` under `machine`'s test case `case`.
    pub fn register(
        &self,
        execution_id: &str,
        machine: &str,
        case: &str,
    ) -> Result<(), MockConfigError> {
        self.config.check_case(machine, case)?;
        self.runs.lock().unwrap_or_else(|p| p.into_inner()).insert(
            execution_id.to_owned(),
            (machine.to_owned(), case.to_owned()),
        );
        Ok(())
    }

    fn mocked(&self, request: &TaskRequest) -> Option<TaskOutcome> {
        let runs = self.runs.lock().unwrap_or_else(|p| p.into_inner());
        let (machine, case) = runs.get(&request.context.execution_id)?;
        let state = &request.context.state_name;
        // Only states the case names count and are answered.
        if !self.config.mocks(machine, case, state) {
            return None;
        }
        let n = {
            let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
            let c = counts
                .entry((request.context.execution_id.clone(), state.clone()))
                .or_insert(0);
            *c += 1;
            *c - 1
        };
        let result = match self.config.answer(machine, case, state, n) {
            Some(MockedResponse::Return(v)) => Ok(v.clone()),
            Some(MockedResponse::Throw { error, cause }) => Err(TaskFailure {
                error: error.clone(),
                cause: cause.clone(),
            }),
            None => Err(TaskFailure {
                error: "States.Runtime".into(),
                cause: format!(
                    "test case {case} of {machine} has no mocked response for invocation {n} of state {state}"
                ),
            }),
        };
        Some(TaskOutcome {
            result,
            logs: Vec::new(),
            logs_truncated: false,
            memory_bytes: 0,
            mocked: true,
        })
    }
}

impl TaskRunner for MockTasks {
    fn invoke(&self, request: TaskRequest) -> BoxFuture<'_, TaskOutcome> {
        if let Some(outcome) = self.mocked(&request) {
            return Box::pin(async move { outcome });
        }
        match &self.inner {
            Some(inner) => inner.invoke(request),
            None => Box::pin(async move {
                TaskOutcome {
                    result: Err(TaskFailure {
                        error: "States.Runtime".into(),
                        cause: format!(
                            "Resource '{}' of state '{}' is not mocked and no task runner is configured",
                            request.resource, request.context.state_name
                        ),
                    }),
                    logs: Vec::new(),
                    logs_truncated: false,
                    memory_bytes: 0,
                    mocked: false,
                }
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config() -> MockConfig {
        MockConfig::parse(
            &json!({
                "StateMachines": {"M": {"TestCases": {"Retry": {"A": "Flaky"}}}},
                "MockedResponses": {"Flaky": {
                    "0": {"Throw": {"Error": "E", "Cause": "c"}},
                    "1-2": {"Throw": {"Error": "E2", "Cause": "c2"}},
                    "3": {"Return": {"ok": true}}}}
            })
            .to_string(),
        )
        .unwrap()
    }

    #[test]
    fn invocations_pick_their_key() {
        let c = config();
        let e = |n| match c.answer("M", "Retry", "A", n).unwrap() {
            MockedResponse::Throw { error, .. } => error.clone(),
            MockedResponse::Return(v) => v.to_string(),
        };
        assert_eq!([e(0), e(1), e(2), e(3)], ["E", "E2", "E2", "{\"ok\":true}"]);
        assert!(c.answer("M", "Retry", "A", 4).is_none());
        assert!(c.mocks("M", "Retry", "A"));
        assert!(!c.mocks("M", "Retry", "B"));
        assert!(!c.mocks("M", "Other", "A"));
    }

    #[test]
    fn bad_files_have_named_errors() {
        let unknown = json!({"StateMachines": {"M": {"TestCases": {"C": {"A": "Nope"}}}}, "MockedResponses": {}});
        assert!(matches!(
            MockConfig::parse(&unknown.to_string()),
            Err(MockConfigError::UnknownResponse { .. })
        ));
        let key = json!({"MockedResponses": {"R": {"2-1": {"Return": 1}}}});
        assert!(matches!(
            MockConfig::parse(&key.to_string()),
            Err(MockConfigError::BadKey { .. })
        ));
        let both = json!({"MockedResponses": {"R": {"0": {"Return": 1, "Throw": {}}}}});
        assert!(matches!(
            MockConfig::parse(&both.to_string()),
            Err(MockConfigError::Shape(_))
        ));
        assert!(matches!(
            MockConfig::parse("[1"),
            Err(MockConfigError::Shape(_))
        ));
        assert!(config().check_case("M", "Nope").is_err());
    }
}
