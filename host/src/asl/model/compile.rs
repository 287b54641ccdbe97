//! Raw mirror → model: resolves state names to indexes and compiles every path, template,
//! intrinsic and rule. Runs only after validation found no error; anything it still cannot
//! compile becomes a diagnostic too, so a gap in validation never turns into a panic.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::choice::{compile_rule, rule_reads_context};
use super::fields::{InOutPath, Param, Payload, ResultPathSpec, TextSource};
use super::jsonata::ParsedExpressions;
use super::*;
use crate::asl::compare::parse_timestamp;
use crate::asl::intrinsics::Intrinsic;
use crate::asl::path::{JsonPath, ReferencePath};
use crate::asl::raw::{RawCatcher, RawRetrier, RawState, RawStateMachine};
use crate::asl::template::Template;
use crate::asl::validate::{
    Code, Diagnostic, Validated, has_errors, pointer_segment, validate_definition,
};

#[path = "compile_jsonata.rs"]
mod jsonata;

/// The largest `Seconds` a Wait state accepts.
pub const MAX_WAIT_SECONDS: u64 = 99_999_999;
/// The largest `MaxDelaySeconds` AWS accepts (a year and a day).
pub const MAX_DELAY_SECONDS: f64 = 31_622_400.0;

pub(super) fn compile(raw: &RawStateMachine) -> Result<StateMachine, Vec<Diagnostic>> {
    compile_validated(raw, validate_definition(raw))
}

/// Builds the model from a definition and what validating it found (its JSONata
/// expressions are moved into the model, not parsed again).
fn compile_validated(
    raw: &RawStateMachine,
    validated: Validated,
) -> Result<StateMachine, Vec<Diagnostic>> {
    let Validated {
        diagnostics,
        expressions,
    } = validated;
    if has_errors(&diagnostics) {
        return Err(diagnostics
            .into_iter()
            .filter(Diagnostic::is_error)
            .collect());
    }
    let mut c = Compiler {
        expressions,
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
            states.push(self.state(name, state, &loc, &names, self.top_ql));
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

    fn state(
        &mut self,
        name: &str,
        s: &RawState,
        at: &str,
        names: &Names,
        inherited: QueryLanguage,
    ) -> State {
        let f = |field: &str| format!("{at}/{field}");
        let query_language = match s.query_language.as_deref() {
            Some("JSONata") => QueryLanguage::Jsonata,
            Some(_) => QueryLanguage::JsonPath,
            None => inherited,
        };
        if query_language == QueryLanguage::Jsonata {
            return self.jsonata_state(name, s, at, names);
        }
        let type_name = s.state_type.as_deref().unwrap_or("");
        let transition = match (type_name, &s.next, s.end) {
            ("Choice" | "Succeed" | "Fail", _, _) => Transition::Own,
            (_, Some(next), _) => Transition::Next(self.target(names, next, f("Next"))),
            _ => Transition::End,
        };
        let io = Io {
            input_path: self.in_out(s.input_path.as_ref(), &f("InputPath")),
            parameters: if type_name == "Map" {
                None
            } else {
                self.payload(s.parameters.as_ref(), &f("Parameters"))
            },
            result_selector: self.payload(s.result_selector.as_ref(), &f("ResultSelector")),
            result_path: self.result_path(s.result_path.as_ref(), &f("ResultPath")),
            output_path: self.in_out(s.output_path.as_ref(), &f("OutputPath")),
            output: None,
        };
        let kind = self.kind(type_name, s, at, names);
        let retry = s
            .retry
            .iter()
            .flatten()
            .enumerate()
            .filter_map(|(i, r)| self.retrier(r, &format!("{at}/Retry/{i}")))
            .collect();
        let retry_len = s.retry.as_ref().map_or(0, Vec::len);
        self.check_all_last(
            s.retry.iter().flatten().map(|r| &r.error_equals),
            retry_len,
            &f("Retry"),
        );
        let catch = s
            .catch
            .iter()
            .flatten()
            .enumerate()
            .filter_map(|(i, c)| self.catcher(c, &format!("{at}/Catch/{i}"), names))
            .collect();
        let catch_len = s.catch.as_ref().map_or(0, Vec::len);
        self.check_all_last(
            s.catch.iter().flatten().map(|c| &c.error_equals),
            catch_len,
            &f("Catch"),
        );
        let assign = self.assign(s.assign.as_ref(), &f("Assign"));
        let needs_context = reads_context(s, &kind);
        State {
            name: Arc::from(name),
            kind,
            io,
            transition,
            retry,
            catch,
            assign,
            query_language,
            needs_context,
        }
    }

    fn kind(&mut self, type_name: &str, s: &RawState, at: &str, names: &Names) -> StateKind {
        let f = |field: &str| format!("{at}/{field}");
        match type_name {
            "Pass" => StateKind::Pass {
                result: s.result.clone(),
            },
            "Succeed" => StateKind::Succeed,
            "Task" => {
                let resource = s.resource.clone().unwrap_or_else(|| {
                    self.err(
                        Code::SchemaValidationFailed,
                        f("Resource"),
                        "a Task state needs a Resource",
                    );
                    String::new()
                });
                let timeout = self.param_u64(
                    s.timeout_seconds.as_ref(),
                    s.timeout_seconds_path.as_deref(),
                    at,
                    "TimeoutSeconds",
                    1,
                    u64::MAX,
                );
                let heartbeat = self.param_u64(
                    s.heartbeat_seconds.as_ref(),
                    s.heartbeat_seconds_path.as_deref(),
                    at,
                    "HeartbeatSeconds",
                    1,
                    u64::MAX,
                );
                if let (Some(Param::Value(t)), Some(Param::Value(h))) = (&timeout, &heartbeat)
                    && h >= t
                {
                    self.err(
                        Code::InvalidValue,
                        f("HeartbeatSeconds"),
                        "HeartbeatSeconds must be smaller than TimeoutSeconds",
                    );
                }
                StateKind::Task(TaskState {
                    resource,
                    timeout,
                    heartbeat,
                })
            }
            "Choice" => {
                let raw_rules = s.choices.as_deref().unwrap_or(&[]);
                if raw_rules.is_empty() {
                    self.err(
                        Code::InvalidChoiceRule,
                        f("Choices"),
                        "a Choice state needs at least one rule in Choices",
                    );
                }
                let mut branches = Vec::new();
                for (i, r) in raw_rules.iter().enumerate() {
                    let loc = format!("{at}/Choices/{i}");
                    let rule = compile_rule(r, &loc, true, &mut self.out);
                    let Some(next) = &r.next else {
                        self.err(
                            Code::InvalidChoiceRule,
                            format!("{loc}/Next"),
                            "a Choice rule needs Next",
                        );
                        continue;
                    };
                    let next = self.target(names, next, format!("{loc}/Next"));
                    let assign = self.assign(r.assign.as_ref(), &format!("{loc}/Assign"));
                    if let Some(rule) = rule {
                        branches.push(ChoiceBranch {
                            rule,
                            next,
                            assign,
                            output: None,
                        });
                    }
                }
                let default = s
                    .default
                    .as_ref()
                    .map(|d| self.target(names, d, f("Default")));
                StateKind::Choice { branches, default }
            }
            "Wait" => self.wait(s, at),
            "Fail" => {
                let error = self.text(s.error.as_ref(), s.error_path.as_deref(), at, "Error");
                let cause = self.text(s.cause.as_ref(), s.cause_path.as_deref(), at, "Cause");
                StateKind::Fail { error, cause }
            }
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

    fn wait(&mut self, s: &RawState, at: &str) -> StateKind {
        let set = s.seconds.is_some() as u8
            + s.seconds_path.is_some() as u8
            + s.timestamp.is_some() as u8
            + s.timestamp_path.is_some() as u8;
        if set != 1 {
            self.err(
                Code::FieldConflict,
                at,
                "a Wait state needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath",
            );
            return StateKind::Wait(WaitFor::Seconds(Param::Value(0)));
        }
        if s.seconds.is_some() || s.seconds_path.is_some() {
            let p = self.param_u64(
                s.seconds.as_ref(),
                s.seconds_path.as_deref(),
                at,
                "Seconds",
                0,
                MAX_WAIT_SECONDS,
            );
            return StateKind::Wait(WaitFor::Seconds(p.unwrap_or(Param::Value(0))));
        }
        if let Some(path) = &s.timestamp_path {
            let p = self.path(path, &format!("{at}/TimestampPath"));
            return StateKind::Wait(WaitFor::Timestamp(
                p.map(Param::Path).unwrap_or(Param::Value(UNIX_EPOCH)),
            ));
        }
        let text = s.timestamp.as_ref().and_then(Value::as_str);
        match text.and_then(parse_timestamp) {
            Some(ts) => StateKind::Wait(WaitFor::Timestamp(Param::Value(timestamp_to_system(
                ts.unix_nanos(),
            )))),
            None => {
                self.err(
                    Code::InvalidValue,
                    format!("{at}/Timestamp"),
                    "Timestamp must be an RFC 3339 timestamp such as 2026-01-01T00:00:00Z",
                );
                StateKind::Wait(WaitFor::Timestamp(Param::Value(UNIX_EPOCH)))
            }
        }
    }

    fn map(&mut self, s: &RawState, at: &str) -> MapState {
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
        if s.item_reader.is_some() {
            self.err(
                Code::Unsupported,
                f("ItemReader"),
                "ItemReader reads from S3, which this build does not support",
            );
        }
        if s.result_writer.is_some() {
            self.err(
                Code::Unsupported,
                f("ResultWriter"),
                "ResultWriter writes to S3, which this build does not support",
            );
        }
        let items_path = self.in_out(s.items_path.as_ref(), &f("ItemsPath"));
        if let InOutPath::Path(p) = &items_path
            && !p.is_reference_path()
        {
            self.err(
                Code::InvalidJsonPath,
                f("ItemsPath"),
                "ItemsPath must be a reference path (no wildcards, filters or slices)",
            );
        }
        let item_selector = match (&s.item_selector, &s.parameters) {
            (Some(_), Some(_)) => {
                self.err(
                    Code::FieldConflict,
                    f("Parameters"),
                    "a Map state cannot have both ItemSelector and Parameters",
                );
                None
            }
            (Some(v), None) => self.payload(Some(v), &f("ItemSelector")),
            (None, Some(v)) => self.payload(Some(v), &f("Parameters")),
            (None, None) => None,
        };
        let max_concurrency = self
            .param_u64(
                s.max_concurrency.as_ref(),
                s.max_concurrency_path.as_deref(),
                at,
                "MaxConcurrency",
                0,
                u64::MAX,
            )
            .unwrap_or(Param::Value(0));
        let tolerated_count = self.param_f64(
            s.tolerated_failure_count.as_ref(),
            s.tolerated_failure_count_path.as_deref(),
            at,
            "ToleratedFailureCount",
            f64::MAX,
        );
        let tolerated_percentage = self.param_f64(
            s.tolerated_failure_percentage.as_ref(),
            s.tolerated_failure_percentage_path.as_deref(),
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
                max_items: self.param_u64(
                    b.max_items_per_batch.as_ref(),
                    b.max_items_per_batch_path.as_deref(),
                    &loc,
                    "MaxItemsPerBatch",
                    1,
                    u64::MAX,
                ),
                max_bytes: self.param_u64(
                    b.max_input_bytes_per_batch.as_ref(),
                    b.max_input_bytes_per_batch_path.as_deref(),
                    &loc,
                    "MaxInputBytesPerBatch",
                    1,
                    u64::MAX,
                ),
                batch_input: self.payload(b.batch_input.as_ref(), &format!("{loc}/BatchInput")),
            }
        });
        MapState {
            processor,
            items_path,
            items: None,
            item_selector,
            max_concurrency,
            tolerated_count,
            tolerated_percentage,
            batcher,
        }
    }

    fn path(&mut self, src: &str, at: &str) -> Option<JsonPath> {
        match JsonPath::parse(src) {
            Ok(p) => Some(p),
            Err(e) => {
                self.err(Code::InvalidJsonPath, at, e.to_string());
                None
            }
        }
    }

    fn in_out(&mut self, v: Option<&Value>, at: &str) -> InOutPath {
        match v {
            None => InOutPath::Identity,
            Some(Value::Null) => InOutPath::Null,
            Some(Value::String(s)) if s == "$" => InOutPath::Identity,
            Some(Value::String(s)) => self
                .path(s, at)
                .map(InOutPath::Path)
                .unwrap_or(InOutPath::Identity),
            Some(_) => {
                self.err(
                    Code::SchemaValidationFailed,
                    at,
                    "must be a path string or null",
                );
                InOutPath::Identity
            }
        }
    }

    fn result_path(&mut self, v: Option<&Value>, at: &str) -> ResultPathSpec {
        match v {
            None => ResultPathSpec::Replace,
            Some(Value::Null) => ResultPathSpec::Discard,
            Some(Value::String(s)) if s == "$" => ResultPathSpec::Replace,
            Some(Value::String(s)) => match ReferencePath::parse(s) {
                Ok(p) => ResultPathSpec::Path(p),
                Err(e) => {
                    self.err(Code::InvalidJsonPath, at, e.to_string());
                    ResultPathSpec::Replace
                }
            },
            Some(_) => {
                self.err(
                    Code::SchemaValidationFailed,
                    at,
                    "ResultPath must be a reference path string or null",
                );
                ResultPathSpec::Replace
            }
        }
    }

    fn payload(&mut self, v: Option<&Value>, at: &str) -> Option<Payload> {
        let v = v?;
        match Template::compile(v) {
            Ok(t) => Some(Payload::Template(t)),
            Err(errors) => {
                for e in errors {
                    self.err(Code::InvalidJsonPath, at, e.to_string());
                }
                None
            }
        }
    }

    fn assign(&mut self, v: Option<&Value>, at: &str) -> Option<Payload> {
        let v = v?;
        if !v.is_object() {
            self.err(Code::SchemaValidationFailed, at, "Assign must be an object");
            return None;
        }
        self.payload(Some(v), at)
    }

    fn positive_int(&mut self, v: &Value, at: &str) -> Option<u64> {
        match v.as_u64() {
            Some(n) if n >= 1 => Some(n),
            _ => {
                self.err(Code::InvalidValue, at, "must be a positive integer");
                None
            }
        }
    }

    /// A literal-or-path integer field pair such as `Seconds`/`SecondsPath`.
    fn param_u64(
        &mut self,
        literal: Option<&Value>,
        path: Option<&str>,
        at: &str,
        name: &str,
        min: u64,
        max: u64,
    ) -> Option<Param<u64>> {
        match (literal, path) {
            (Some(_), Some(_)) => {
                self.err(
                    Code::FieldConflict,
                    format!("{at}/{name}Path"),
                    format!("{name} and {name}Path cannot both be set"),
                );
                None
            }
            (Some(v), None) => match v.as_u64() {
                Some(n) if (min..=max).contains(&n) => Some(Param::Value(n)),
                _ => {
                    let range = if max == u64::MAX {
                        format!("an integer of at least {min}")
                    } else {
                        format!("an integer from {min} to {max}")
                    };
                    self.err(
                        Code::InvalidValue,
                        format!("{at}/{name}"),
                        format!("{name} must be {range}"),
                    );
                    None
                }
            },
            (None, Some(p)) => self.path(p, &format!("{at}/{name}Path")).map(Param::Path),
            (None, None) => None,
        }
    }

    fn param_f64(
        &mut self,
        literal: Option<&Value>,
        path: Option<&str>,
        at: &str,
        name: &str,
        max: f64,
    ) -> Option<Param<f64>> {
        match (literal, path) {
            (Some(_), Some(_)) => {
                self.err(
                    Code::FieldConflict,
                    format!("{at}/{name}Path"),
                    format!("{name} and {name}Path cannot both be set"),
                );
                None
            }
            (Some(v), None) => match v.as_f64() {
                Some(n) if (0.0..=max).contains(&n) => Some(Param::Value(n)),
                _ => {
                    self.err(
                        Code::InvalidValue,
                        format!("{at}/{name}"),
                        format!("{name} must be a number from 0 to {max}"),
                    );
                    None
                }
            },
            (None, Some(p)) => self.path(p, &format!("{at}/{name}Path")).map(Param::Path),
            (None, None) => None,
        }
    }

    fn text(
        &mut self,
        literal: Option<&String>,
        path: Option<&str>,
        at: &str,
        name: &str,
    ) -> Option<TextSource> {
        match (literal, path) {
            (Some(_), Some(_)) => {
                self.err(
                    Code::FieldConflict,
                    format!("{at}/{name}Path"),
                    format!("{name} and {name}Path cannot both be set"),
                );
                None
            }
            (Some(s), None) => Some(TextSource::Literal(s.clone())),
            (None, Some(p)) if p.starts_with("States.") => match Intrinsic::parse(p) {
                Ok(i) => Some(TextSource::Intrinsic(i)),
                Err(e) => {
                    self.err(
                        Code::InvalidJsonPath,
                        format!("{at}/{name}Path"),
                        e.to_string(),
                    );
                    None
                }
            },
            (None, Some(p)) => self
                .path(p, &format!("{at}/{name}Path"))
                .map(TextSource::Path),
            (None, None) => None,
        }
    }

    fn errors(&mut self, names: Option<&Vec<String>>, at: &str) -> Option<ErrorMatcher> {
        let names = match names {
            Some(n) if !n.is_empty() => n,
            _ => {
                self.err(
                    Code::InvalidErrorHandler,
                    format!("{at}/ErrorEquals"),
                    "ErrorEquals needs at least one error name",
                );
                return None;
            }
        };
        let parsed: Vec<ErrorName> = names.iter().map(|n| ErrorName::parse(n)).collect();
        if parsed.contains(&ErrorName::All) && parsed.len() > 1 {
            self.err(
                Code::InvalidErrorHandler,
                format!("{at}/ErrorEquals"),
                "States.ALL must be the only name in its ErrorEquals",
            );
        }
        Some(ErrorMatcher { names: parsed })
    }

    fn check_all_last<'a>(
        &mut self,
        lists: impl Iterator<Item = &'a Option<Vec<String>>>,
        len: usize,
        at: &str,
    ) {
        for (i, list) in lists.enumerate() {
            if i + 1 < len && list.iter().flatten().any(|n| n == "States.ALL") {
                self.err(
                    Code::InvalidErrorHandler,
                    format!("{at}/{i}/ErrorEquals"),
                    "an entry with States.ALL must be the last one",
                );
            }
        }
    }

    fn retrier(&mut self, r: &RawRetrier, at: &str) -> Option<Retrier> {
        for key in r.extra.keys() {
            self.err(
                Code::SchemaValidationFailed,
                format!("{at}/{}", pointer_segment(key)),
                format!("unknown field {key:?}"),
            );
        }
        let errors = self.errors(r.error_equals.as_ref(), at)?;
        let mut num =
            |v: Option<&Value>, name: &str, default: f64, ok: &dyn Fn(f64) -> bool| match v {
                None => Some(default),
                Some(v) => match v.as_f64() {
                    Some(n) if ok(n) => Some(n),
                    _ => {
                        self.err(
                            Code::InvalidErrorHandler,
                            format!("{at}/{name}"),
                            format!("{name} is out of range: {v}"),
                        );
                        None
                    }
                },
            };
        let is_int = |n: f64| n.fract() == 0.0;
        let interval = num(r.interval_seconds.as_ref(), "IntervalSeconds", 1.0, &|n| {
            is_int(n) && n >= 1.0 && n <= MAX_WAIT_SECONDS as f64
        });
        let attempts = num(r.max_attempts.as_ref(), "MaxAttempts", 3.0, &|n| {
            is_int(n) && (0.0..=MAX_WAIT_SECONDS as f64).contains(&n)
        });
        let backoff = num(r.backoff_rate.as_ref(), "BackoffRate", 2.0, &|n| n >= 1.0);
        let max_delay = match &r.max_delay_seconds {
            None => Some(None),
            Some(_) => num(r.max_delay_seconds.as_ref(), "MaxDelaySeconds", 0.0, &|n| {
                is_int(n) && (1.0..=MAX_DELAY_SECONDS).contains(&n)
            })
            .map(Some),
        };
        let jitter = match r.jitter_strategy.as_deref() {
            None | Some("NONE") => Some(Jitter::None),
            Some("FULL") => Some(Jitter::Full),
            Some(other) => {
                self.err(
                    Code::InvalidErrorHandler,
                    format!("{at}/JitterStrategy"),
                    format!("JitterStrategy must be FULL or NONE, not {other:?}"),
                );
                None
            }
        };
        Some(Retrier {
            errors,
            interval_seconds: interval?,
            max_attempts: attempts? as u32,
            backoff_rate: backoff?,
            max_delay_seconds: max_delay?,
            jitter: jitter?,
        })
    }

    fn catcher(&mut self, c: &RawCatcher, at: &str, names: &Names) -> Option<Catcher> {
        for key in c.extra.keys() {
            self.err(
                Code::SchemaValidationFailed,
                format!("{at}/{}", pointer_segment(key)),
                format!("unknown field {key:?}"),
            );
        }
        if c.output.is_some() {
            self.err(
                Code::SchemaValidationFailed,
                format!("{at}/Output"),
                "Output is only allowed in JSONata states",
            );
        }
        let errors = self.errors(c.error_equals.as_ref(), at);
        let Some(next) = &c.next else {
            self.err(
                Code::InvalidErrorHandler,
                format!("{at}/Next"),
                "a Catcher needs Next",
            );
            return None;
        };
        let next = self.target(names, next, format!("{at}/Next"));
        let result_path = self.result_path(c.result_path.as_ref(), &format!("{at}/ResultPath"));
        let assign = self.assign(c.assign.as_ref(), &format!("{at}/Assign"));
        Some(Catcher {
            errors: errors?,
            next,
            result_path,
            assign,
            output: None,
        })
    }
}

/// Whether a state reads `$$` anywhere in its own fields. Conservative: any `$$` in the
/// state's JSON outside its sub-machines counts.
fn reads_context(s: &RawState, kind: &StateKind) -> bool {
    if let StateKind::Choice { branches, .. } = kind
        && branches.iter().any(|b| rule_reads_context(&b.rule))
    {
        return true;
    }
    let mut shallow = s.clone();
    shallow.branches = None;
    shallow.item_processor = None;
    shallow.iterator = None;
    serde_json::to_string(&shallow).is_ok_and(|text| text.contains("$$"))
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
