//! Raw mirror → model: resolves state names to indexes and compiles every path, template,
//! intrinsic and rule. Runs after validation, whatever it found (every diagnostic in one pass);
//! anything it cannot compile becomes a diagnostic too, so a gap in validation never turns into
//! a panic.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::choice::{compile_rule, rule_reads_context};
use super::fields::{InOutPath, Param, Payload, ResultPathSpec, TextSource};
use super::jsonata::ParsedExpressions;
use super::*;
use crate::asl::compare::parse_timestamp;
use crate::asl::raw::{RawState, RawStateMachine};
use crate::asl::validate::{
    Code, Diagnostic, Validated, has_errors, pointer_segment, validate_definition,
};

#[path = "compile_handlers.rs"]
mod handlers;
#[path = "compile_jsonata.rs"]
mod jsonata;
#[path = "compile_jsonpath.rs"]
mod jsonpath;

/// The largest `Seconds` a Wait state accepts.
pub const MAX_WAIT_SECONDS: u64 = 99_999_999;
/// The largest `MaxDelaySeconds` AWS accepts (a year and a day).
pub const MAX_DELAY_SECONDS: f64 = 31_622_400.0;

pub(super) fn compile(raw: &RawStateMachine) -> Result<StateMachine, Vec<Diagnostic>> {
    match check(raw) {
        (_, Some(model)) => Ok(model),
        (diagnostics, None) => Err(diagnostics
            .into_iter()
            .filter(Diagnostic::is_error)
            .collect()),
    }
}

/// Validates and compiles in one pass: every diagnostic (warnings too, and what only the
/// compiler finds, even where validation found errors elsewhere), and the model when there is
/// no error. A user fixing a definition sees every problem at once, not one layer at a time.
pub(super) fn check(raw: &RawStateMachine) -> (Vec<Diagnostic>, Option<StateMachine>) {
    let Validated {
        mut diagnostics,
        expressions,
    } = validate_definition(raw);
    let valid = !has_errors(&diagnostics);
    match compile_validated(raw, expressions, valid) {
        Ok(model) if valid => (diagnostics, Some(model)),
        Ok(_) => (diagnostics, None),
        Err(found) => {
            merge_compiler_findings(&mut diagnostics, found);
            (diagnostics, None)
        }
    }
}

/// Adds what only the compiler found: a field validation already reported (or one inside
/// it) stays reported once, in the validator's words.
fn merge_compiler_findings(diagnostics: &mut Vec<Diagnostic>, found: Vec<Diagnostic>) {
    let reported: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.location.clone())
        .collect();
    let covered = |at: &str| {
        reported.iter().any(|r| {
            at == r
                || (!r.is_empty()
                    && at
                        .strip_prefix(r.as_str())
                        .is_some_and(|t| t.starts_with('/')))
        })
    };
    for d in found {
        if !covered(&d.location) && !diagnostics.contains(&d) {
            diagnostics.push(d);
        }
    }
}

/// Builds the model from a definition and the JSONata expressions validating it parsed (moved
/// into the model, not parsed again). `validated` says validation found no error: when it
/// did, expressions it could not parse are simply absent, not an internal error.
fn compile_validated(
    raw: &RawStateMachine,
    expressions: ParsedExpressions,
    validated: bool,
) -> Result<StateMachine, Vec<Diagnostic>> {
    let mut c = Compiler {
        expressions,
        expressions_complete: validated,
        ..Compiler::default()
    };
    let top_ql = match raw.query_language.as_deref() {
        Some("JSONata") => QueryLanguage::Jsonata,
        _ => QueryLanguage::JsonPath,
    };
    c.top_ql = top_ql;
    c.machine(raw, "");
    let timeout = raw
        .timeout_seconds
        .as_ref()
        .and_then(|v| c.positive_int(v, "/TimeoutSeconds"))
        .map(Duration::from_secs);
    if !c.out.is_empty() {
        return Err(c.out);
    }
    Ok(StateMachine {
        machines: c.machines,
        timeout,
        comment: raw.comment.clone(),
    })
}

#[derive(Default)]
struct Compiler {
    machines: Vec<Machine>,
    out: Vec<Diagnostic>,
    /// The JSONata expressions the validator parsed, taken out as templates are built.
    expressions: ParsedExpressions,
    /// The state machine's top-level `QueryLanguage`: the default of every state.
    top_ql: QueryLanguage,
    /// Every `{% %}` expression was parsed by the validator (it found no error), so a
    /// missing one is an internal error rather than one the validator already reported.
    expressions_complete: bool,
}

/// The `Resource` of an `ItemReader` / `ResultWriter` (the validator checked its shape).
fn s3_resource(config: Option<&Value>) -> Option<Arc<str>> {
    let config = config?;
    let resource = config.get("Resource").and_then(Value::as_str).unwrap_or("");
    Some(Arc::from(resource))
}

/// Name → index within one machine.
type Names = HashMap<String, StateId>;

impl Compiler {
    fn err(&mut self, code: Code, at: impl Into<String>, msg: impl Into<String>) {
        self.out.push(Diagnostic::error(code, at, msg));
    }

    /// A machine (top level, branch or processor). Its states default to the state
    /// machine's top-level `QueryLanguage`, not to the enclosing Map's or Parallel's (AWS: a
    /// state without the field uses the top-level one).
    fn machine(&mut self, raw: &RawStateMachine, at: &str) -> MachineId {
        let id = self.machines.len() as MachineId;
        self.machines.push(Machine {
            start: 0,
            states: Vec::new(),
        });
        let entries: Vec<(&str, &RawState)> = raw
            .states
            .iter()
            .flat_map(|s| s.0.iter())
            .filter_map(|e| e.state().map(|s| (e.name(), s)))
            .collect();
        let names: Names = entries
            .iter()
            .enumerate()
            .map(|(i, (n, _))| ((*n).to_owned(), i as StateId))
            .collect();
        let start = match raw.start_at.as_deref().and_then(|s| names.get(s)) {
            Some(s) => *s,
            None => {
                self.err(
                    Code::MissingTransitionTarget,
                    format!("{at}/StartAt"),
                    "StartAt names no state",
                );
                0
            }
        };
        let mut states = Vec::with_capacity(entries.len());
        for (name, state) in entries {
            let loc = format!("{at}/States/{}", pointer_segment(name));
            states.push(self.state(name, state, &loc, &names));
        }
        self.machines[id as usize] = Machine { start, states };
        id
    }

    fn target(&mut self, names: &Names, name: &str, at: String) -> StateId {
        match names.get(name) {
            Some(id) => *id,
            None => {
                self.err(
                    Code::MissingTransitionTarget,
                    at,
                    format!("no state named {name:?}"),
                );
                0
            }
        }
    }
    fn state(&mut self, name: &str, s: &RawState, at: &str, names: &Names) -> State {
        let f = |field: &str| format!("{at}/{field}");
        let query_language = match s.query_language.as_deref() {
            Some("JSONata") => QueryLanguage::Jsonata,
            Some(_) => QueryLanguage::JsonPath,
            None => self.top_ql,
        };
        let type_name = s.state_type.as_deref().unwrap_or("");
        let transition = match (type_name, &s.next) {
            ("Choice" | "Succeed" | "Fail", _) => Transition::Own,
            (_, Some(next)) => Transition::Next(self.target(names, next, f("Next"))),
            _ => Transition::End,
        };
        let io = match query_language {
            QueryLanguage::JsonPath => self.jsonpath_io(s, at, type_name),
            QueryLanguage::Jsonata => self.jsonata_io(s, at),
        };
        let kind = self.kind(type_name, s, at, names, query_language);
        let retry = self.retriers(s, at);
        let catch = self.catchers(s, at, names, query_language);
        let assign = self.assign(s.assign.as_ref(), &f("Assign"), query_language);
        let mut state = State {
            name: Arc::from(name),
            kind,
            io,
            transition,
            retry,
            catch,
            assign,
            query_language,
            needs_context: false,
        };
        state.needs_context = match query_language {
            QueryLanguage::JsonPath => jsonpath::reads_context(s, &state.kind),
            QueryLanguage::Jsonata => jsonata::reads_context(&state),
        };
        state
    }

    /// A state's type-specific fields: shared where the languages agree (Pass, Succeed,
    /// Task, Parallel, the Choice frame, the Map limits), per language for Choice rules,
    /// Wait, Fail and how a Map selects its items.
    fn kind(
        &mut self,
        type_name: &str,
        s: &RawState,
        at: &str,
        names: &Names,
        ql: QueryLanguage,
    ) -> StateKind {
        let f = |field: &str| format!("{at}/{field}");
        let jsonata = ql == QueryLanguage::Jsonata;
        match type_name {
            "Pass" if jsonata => StateKind::Pass { result: None },
            "Pass" => StateKind::Pass {
                result: s.result.clone(),
            },
            "Succeed" => StateKind::Succeed,
            "Task" => self.task(s, at, ql),
            "Choice" => {
                if s.choices.as_ref().is_none_or(Vec::is_empty) {
                    self.err(
                        Code::InvalidChoiceRule,
                        f("Choices"),
                        "a Choice state needs at least one rule in Choices",
                    );
                }
                let branches = if jsonata {
                    self.jsonata_rules(s, at, names)
                } else {
                    self.rules(s, at, names)
                };
                let default = s
                    .default
                    .as_ref()
                    .map(|d| self.target(names, d, f("Default")));
                StateKind::Choice { branches, default }
            }
            "Wait" if jsonata => self.jsonata_wait(s, at),
            "Wait" => self.wait(s, at),
            "Fail" if jsonata => StateKind::Fail {
                error: self.jsonata_text(s.error.as_deref(), &f("Error")),
                cause: self.jsonata_text(s.cause.as_deref(), &f("Cause")),
            },
            "Fail" => StateKind::Fail {
                error: self.text(s.error.as_ref(), s.error_path.as_deref(), at, "Error"),
                cause: self.text(s.cause.as_ref(), s.cause_path.as_deref(), at, "Cause"),
            },
            "Parallel" => {
                let raw_branches = s.branches.as_deref().unwrap_or(&[]);
                if raw_branches.is_empty() {
                    self.err(
                        Code::SchemaValidationFailed,
                        f("Branches"),
                        "a Parallel state needs at least one branch",
                    );
                }
                let branches = raw_branches
                    .iter()
                    .enumerate()
                    .map(|(i, b)| self.machine(b, &format!("{at}/Branches/{i}")))
                    .collect();
                StateKind::Parallel { branches }
            }
            "Map" if jsonata => StateKind::Map(Box::new(self.jsonata_map(s, at))),
            "Map" => StateKind::Map(Box::new(self.map(s, at))),
            other => {
                self.err(
                    Code::InvalidStateType,
                    f("Type"),
                    format!("unknown state type {other:?}"),
                );
                StateKind::Succeed
            }
        }
    }

    /// A Task's resource and limits.
    fn task(&mut self, s: &RawState, at: &str, ql: QueryLanguage) -> StateKind {
        let resource = s.resource.clone().unwrap_or_else(|| {
            self.err(
                Code::SchemaValidationFailed,
                format!("{at}/Resource"),
                "a Task state needs a Resource",
            );
            String::new()
        });
        let timeout = self.number_u64(
            ql,
            (
                s.timeout_seconds.as_ref(),
                s.timeout_seconds_path.as_deref(),
            ),
            at,
            "TimeoutSeconds",
            1,
        );
        let heartbeat = self.number_u64(
            ql,
            (
                s.heartbeat_seconds.as_ref(),
                s.heartbeat_seconds_path.as_deref(),
            ),
            at,
            "HeartbeatSeconds",
            1,
        );
        if let (Some(Param::Value(t)), Some(Param::Value(h))) = (&timeout, &heartbeat)
            && h >= t
        {
            self.err(
                Code::InvalidValue,
                format!("{at}/HeartbeatSeconds"),
                "HeartbeatSeconds must be smaller than TimeoutSeconds",
            );
        }
        StateKind::Task(TaskState {
            resource,
            timeout,
            heartbeat,
        })
    }

    /// `Assign` (a state's, a Choice rule's or a Catcher's) in either language.
    fn assign(&mut self, v: Option<&Value>, at: &str, ql: QueryLanguage) -> Option<Payload> {
        let v = v?;
        if !v.is_object() {
            self.err(Code::SchemaValidationFailed, at, "Assign must be an object");
            return None;
        }
        self.payload(Some(v), at, ql)
    }

    /// A payload field in either language: a template (JSONPath) or JSONata field value.
    fn payload(&mut self, v: Option<&Value>, at: &str, ql: QueryLanguage) -> Option<Payload> {
        match ql {
            QueryLanguage::JsonPath => self.template_payload(v, at),
            QueryLanguage::Jsonata => self.jsonata_payload(v, at),
        }
    }

    /// A whole-number field in either language: a literal, a `namePath` (JSONPath) or a
    /// `{% %}` expression (JSONata; validation rejects `*Path` fields there).
    fn number_u64(
        &mut self,
        ql: QueryLanguage,
        (literal, path): (Option<&Value>, Option<&str>),
        at: &str,
        name: &str,
        min: u64,
    ) -> Option<Param<u64>> {
        match ql {
            QueryLanguage::JsonPath => self.param_u64(literal, path, at, name, min, u64::MAX),
            QueryLanguage::Jsonata => self.jsonata_u64(literal, at, name, min),
        }
    }

    /// A number field from 0 to `max` in either language (see [`Compiler::number_u64`]).
    fn number_f64(
        &mut self,
        ql: QueryLanguage,
        (literal, path): (Option<&Value>, Option<&str>),
        at: &str,
        name: &str,
        max: f64,
    ) -> Option<Param<f64>> {
        match ql {
            QueryLanguage::JsonPath => self.param_f64(literal, path, at, name, max),
            QueryLanguage::Jsonata => self.jsonata_f64(literal, at, name, max),
        }
    }

    /// The Map fields both languages share: the processor, ItemReader/ResultWriter (not
    /// supported), `MaxConcurrency`, `ToleratedFailure*` and `ItemBatcher`. The caller fills
    /// in how items are selected.
    fn map_common(&mut self, s: &RawState, at: &str, ql: QueryLanguage) -> MapState {
        let f = |field: &str| format!("{at}/{field}");
        let processor = match (&s.item_processor, &s.iterator) {
            (Some(p), None) => self.machine(p, &f("ItemProcessor")),
            (None, Some(p)) => self.machine(p, &f("Iterator")),
            (Some(_), Some(_)) => {
                self.err(
                    Code::FieldConflict,
                    f("Iterator"),
                    "a Map state cannot have both ItemProcessor and Iterator",
                );
                0
            }
            (None, None) => {
                self.err(
                    Code::SchemaValidationFailed,
                    at,
                    "a Map state needs an ItemProcessor (or the legacy Iterator)",
                );
                0
            }
        };
        let max_concurrency = self
            .number_u64(
                ql,
                (
                    s.max_concurrency.as_ref(),
                    s.max_concurrency_path.as_deref(),
                ),
                at,
                "MaxConcurrency",
                0,
            )
            .unwrap_or(Param::Value(0));
        let tolerated_count = self.number_f64(
            ql,
            (
                s.tolerated_failure_count.as_ref(),
                s.tolerated_failure_count_path.as_deref(),
            ),
            at,
            "ToleratedFailureCount",
            f64::MAX,
        );
        let tolerated_percentage = self.number_f64(
            ql,
            (
                s.tolerated_failure_percentage.as_ref(),
                s.tolerated_failure_percentage_path.as_deref(),
            ),
            at,
            "ToleratedFailurePercentage",
            100.0,
        );
        let batcher = s.item_batcher.as_ref().map(|b| {
            let loc = f("ItemBatcher");
            for key in b.extra.keys() {
                self.err(
                    Code::SchemaValidationFailed,
                    format!("{loc}/{}", pointer_segment(key)),
                    format!("unknown field {key:?}"),
                );
            }
            ItemBatcher {
                max_items: self.number_u64(
                    ql,
                    (
                        b.max_items_per_batch.as_ref(),
                        b.max_items_per_batch_path.as_deref(),
                    ),
                    &loc,
                    "MaxItemsPerBatch",
                    1,
                ),
                max_bytes: self.number_u64(
                    ql,
                    (
                        b.max_input_bytes_per_batch.as_ref(),
                        b.max_input_bytes_per_batch_path.as_deref(),
                    ),
                    &loc,
                    "MaxInputBytesPerBatch",
                    1,
                ),
                batch_input: self.payload(b.batch_input.as_ref(), &format!("{loc}/BatchInput"), ql),
            }
        });
        MapState {
            processor,
            items_path: InOutPath::Identity,
            items: None,
            item_selector: None,
            max_concurrency,
            tolerated_count,
            tolerated_percentage,
            batcher,
            item_reader: s3_resource(s.item_reader.as_ref()),
            result_writer: s3_resource(s.result_writer.as_ref()),
        }
    }

    /// The `Next` of a Choice rule or Catcher, which must be there.
    fn rule_next(
        &mut self,
        next: Option<&str>,
        at: &str,
        names: &Names,
        code: Code,
        missing: &str,
    ) -> Option<StateId> {
        let Some(next) = next else {
            self.err(code, format!("{at}/Next"), missing);
            return None;
        };
        Some(self.target(names, next, format!("{at}/Next")))
    }
}

/// Converts Unix nanoseconds (possibly before 1970) to a `SystemTime`.
pub fn timestamp_to_system(nanos: i128) -> SystemTime {
    if nanos >= 0 {
        UNIX_EPOCH + Duration::from_nanos(nanos.min(u64::MAX as i128) as u64)
    } else {
        UNIX_EPOCH
            .checked_sub(Duration::from_nanos((-nanos).min(u64::MAX as i128) as u64))
            .unwrap_or(UNIX_EPOCH)
    }
}

#[cfg(test)]
#[path = "compile_tests.rs"]
mod tests;
