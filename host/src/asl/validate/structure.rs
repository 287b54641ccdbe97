//! Structural rules: machine shape, state names, types, transitions, fields allowed per state
//! type and query language, and reachability.

use std::collections::{HashMap, HashSet};

use super::{Code, Diagnostic, MachineCtx, StateCtx, pointer_segment, states};
use crate::asl::raw::{RawState, RawStateEntry};

/// The longest state name AWS accepts.
pub const MAX_STATE_NAME_LEN: usize = 80;

/// The state types.
pub const STATE_TYPES: [&str; 8] = [
    "Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map",
];

pub(super) fn check(machines: &[MachineCtx<'_>], out: &mut Vec<Diagnostic>) {
    let mut seen: HashMap<String, String> = HashMap::new();
    for m in machines {
        machine_shape(m, out);
        for entry in m.machine.states.iter().flat_map(|s| s.0.iter()) {
            let location = format!("{}/States/{}", m.location, pointer_segment(entry.name()));
            names(entry, &location, &mut seen, out);
            match entry {
                RawStateEntry::Malformed { message, .. } => out.push(Diagnostic::error(
                    Code::SchemaValidationFailed,
                    location,
                    format!("The state {message}"),
                )),
                RawStateEntry::State { state, .. } => {
                    for bad in &state.bad_fields {
                        out.push(Diagnostic::error(
                            Code::SchemaValidationFailed,
                            format!("{location}/{}", pointer_segment(&bad.field)),
                            bad.message.clone(),
                        ));
                    }
                }
            }
        }
        let names: HashSet<&str> = m
            .machine
            .states
            .iter()
            .flat_map(|s| s.0.iter())
            .map(RawStateEntry::name)
            .collect();
        let ctxs = states(m);
        for s in &ctxs {
            if m.query_language == "JSONata"
                && s.state.query_language.as_deref() == Some("JSONPath")
            {
                out.push(Diagnostic::error(
                    Code::InvalidValue,
                    s.at("QueryLanguage"),
                    "a state cannot switch back to JSONPath inside a JSONata state machine",
                ));
            }
            state_type_and_fields(s, out);
            transitions(s, &names, out);
        }
        reachability(m, &ctxs, out);
    }
}

fn machine_shape(m: &MachineCtx<'_>, out: &mut Vec<Diagnostic>) {
    let raw = m.machine;
    let at = |f: &str| format!("{}/{}", m.location, f);
    for bad in &raw.bad_fields {
        out.push(Diagnostic::error(
            Code::SchemaValidationFailed,
            at(&pointer_segment(&bad.field)),
            bad.message.clone(),
        ));
    }
    let is_bad = |f: &str| raw.bad_fields.iter().any(|b| b.field == f);
    match &raw.start_at {
        None if is_bad("StartAt") => {}
        None => out.push(Diagnostic::error(
            Code::SchemaValidationFailed,
            at("StartAt"),
            "missing required field StartAt",
        )),
        Some(start) => {
            let known = raw
                .states
                .iter()
                .flat_map(|s| s.0.iter())
                .any(|e| e.name() == start);
            if !known {
                out.push(Diagnostic::error(
                    Code::MissingTransitionTarget,
                    at("StartAt"),
                    format!("no state named {start:?}"),
                ));
            }
        }
    }
    match &raw.states {
        None if is_bad("States") => {}
        None => out.push(Diagnostic::error(
            Code::SchemaValidationFailed,
            at("States"),
            "missing required field States",
        )),
        Some(s) if s.0.is_empty() => out.push(Diagnostic::error(
            Code::SchemaValidationFailed,
            at("States"),
            "States must hold at least one state",
        )),
        Some(_) => {}
    }
    if let Some(ql) = &raw.query_language
        && ql != "JSONPath"
        && ql != "JSONata"
    {
        out.push(Diagnostic::error(
            Code::InvalidValue,
            at("QueryLanguage"),
            format!("QueryLanguage must be \"JSONPath\" or \"JSONata\", not {ql:?}"),
        ));
    }
    let mut misplaced = Vec::new();
    if !m.top_level {
        if raw.version.is_some() {
            misplaced.push("Version");
        }
        if raw.timeout_seconds.is_some() {
            misplaced.push("TimeoutSeconds");
        }
    }
    let is_processor = m.location.ends_with("/ItemProcessor") || m.location.ends_with("/Iterator");
    if raw.processor_config.is_some() && !is_processor {
        misplaced.push("ProcessorConfig");
    }
    for f in misplaced {
        out.push(Diagnostic::error(
            Code::SchemaValidationFailed,
            at(f),
            format!("field {f} is not allowed here"),
        ));
    }
    for key in raw.extra.keys() {
        out.push(Diagnostic::error(
            Code::SchemaValidationFailed,
            at(&pointer_segment(key)),
            format!("unknown field {key:?}"),
        ));
    }
}

fn names(
    entry: &RawStateEntry,
    location: &str,
    seen: &mut HashMap<String, String>,
    out: &mut Vec<Diagnostic>,
) {
    let name = entry.name();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_STATE_NAME_LEN {
        out.push(Diagnostic::error(
            Code::InvalidStateName,
            location,
            format!("state names must be 1 to {MAX_STATE_NAME_LEN} characters long; this one has {chars}"),
        ));
    }
    // Names must be unique across the whole state machine, branches and processors included.
    if let Some(first) = seen.get(name) {
        out.push(Diagnostic::error(
            Code::DuplicateStateName,
            location,
            format!("state name {name:?} is already used at {first}"),
        ));
    } else {
        seen.insert(name.to_owned(), location.to_owned());
    }
}

/// The fields set on a state, by their ASL names.
pub fn present_fields(s: &RawState) -> Vec<&'static str> {
    let mut f = Vec::new();
    let mut add = |set: bool, name: &'static str| {
        if set {
            f.push(name);
        }
    };
    add(s.comment.is_some(), "Comment");
    add(s.query_language.is_some(), "QueryLanguage");
    add(s.next.is_some(), "Next");
    add(s.end.is_some(), "End");
    add(s.input_path.is_some(), "InputPath");
    add(s.output_path.is_some(), "OutputPath");
    add(s.result_path.is_some(), "ResultPath");
    add(s.parameters.is_some(), "Parameters");
    add(s.result_selector.is_some(), "ResultSelector");
    add(s.result.is_some(), "Result");
    add(s.arguments.is_some(), "Arguments");
    add(s.output.is_some(), "Output");
    add(s.assign.is_some(), "Assign");
    add(s.retry.is_some(), "Retry");
    add(s.catch.is_some(), "Catch");
    add(s.resource.is_some(), "Resource");
    add(s.timeout_seconds.is_some(), "TimeoutSeconds");
    add(s.timeout_seconds_path.is_some(), "TimeoutSecondsPath");
    add(s.heartbeat_seconds.is_some(), "HeartbeatSeconds");
    add(s.heartbeat_seconds_path.is_some(), "HeartbeatSecondsPath");
    add(s.credentials.is_some(), "Credentials");
    add(s.choices.is_some(), "Choices");
    add(s.default.is_some(), "Default");
    add(s.seconds.is_some(), "Seconds");
    add(s.seconds_path.is_some(), "SecondsPath");
    add(s.timestamp.is_some(), "Timestamp");
    add(s.timestamp_path.is_some(), "TimestampPath");
    add(s.error.is_some(), "Error");
    add(s.error_path.is_some(), "ErrorPath");
    add(s.cause.is_some(), "Cause");
    add(s.cause_path.is_some(), "CausePath");
    add(s.branches.is_some(), "Branches");
    add(s.item_processor.is_some(), "ItemProcessor");
    add(s.iterator.is_some(), "Iterator");
    add(s.items_path.is_some(), "ItemsPath");
    add(s.items.is_some(), "Items");
    add(s.item_selector.is_some(), "ItemSelector");
    add(s.item_reader.is_some(), "ItemReader");
    add(s.item_batcher.is_some(), "ItemBatcher");
    add(s.result_writer.is_some(), "ResultWriter");
    add(s.max_concurrency.is_some(), "MaxConcurrency");
    add(s.max_concurrency_path.is_some(), "MaxConcurrencyPath");
    add(s.tolerated_failure_count.is_some(), "ToleratedFailureCount");
    add(
        s.tolerated_failure_count_path.is_some(),
        "ToleratedFailureCountPath",
    );
    add(
        s.tolerated_failure_percentage.is_some(),
        "ToleratedFailurePercentage",
    );
    add(
        s.tolerated_failure_percentage_path.is_some(),
        "ToleratedFailurePercentagePath",
    );
    add(s.label.is_some(), "Label");
    f
}

/// Fields every state type allows.
const COMMON: &[&str] = &["Type", "Comment", "QueryLanguage"];
/// Fields allowed only in JSONPath states.
const JSONPATH_ONLY: &[&str] = &[
    "InputPath",
    "OutputPath",
    "ResultPath",
    "Parameters",
    "ResultSelector",
    "Result",
    "TimeoutSecondsPath",
    "HeartbeatSecondsPath",
    "SecondsPath",
    "TimestampPath",
    "ErrorPath",
    "CausePath",
    "ItemsPath",
    "MaxConcurrencyPath",
    "ToleratedFailureCountPath",
    "ToleratedFailurePercentagePath",
    "Iterator",
];
/// Fields allowed only in JSONata states.
const JSONATA_ONLY: &[&str] = &["Arguments", "Output", "Items"];

/// The fields a state type allows (both query languages together; see [`JSONPATH_ONLY`] and
/// [`JSONATA_ONLY`] for the split).
pub fn allowed_fields(state_type: &str) -> &'static [&'static str] {
    match state_type {
        "Pass" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "Parameters",
            "ResultPath",
            "Result",
            "Output",
            "Assign",
        ],
        "Task" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "Arguments",
            "Output",
            "Assign",
            "Retry",
            "Catch",
            "Resource",
            "TimeoutSeconds",
            "TimeoutSecondsPath",
            "HeartbeatSeconds",
            "HeartbeatSecondsPath",
            "Credentials",
        ],
        "Choice" => &[
            "InputPath",
            "OutputPath",
            "Output",
            "Assign",
            "Choices",
            "Default",
        ],
        "Wait" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "Output",
            "Assign",
            "Seconds",
            "SecondsPath",
            "Timestamp",
            "TimestampPath",
        ],
        "Succeed" => &["InputPath", "OutputPath", "Output"],
        "Fail" => &["Error", "ErrorPath", "Cause", "CausePath"],
        "Parallel" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "Arguments",
            "Output",
            "Assign",
            "Retry",
            "Catch",
            "Branches",
        ],
        "Map" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "Output",
            "Assign",
            "Retry",
            "Catch",
            "ItemProcessor",
            "Iterator",
            "ItemsPath",
            "Items",
            "ItemSelector",
            "ItemReader",
            "ItemBatcher",
            "ResultWriter",
            "MaxConcurrency",
            "MaxConcurrencyPath",
            "ToleratedFailureCount",
            "ToleratedFailureCountPath",
            "ToleratedFailurePercentage",
            "ToleratedFailurePercentagePath",
            "Label",
        ],
        _ => &[],
    }
}

fn state_type_and_fields(s: &StateCtx<'_>, out: &mut Vec<Diagnostic>) {
    let Some(state_type) = s.state.state_type.as_deref() else {
        if s.state.is_bad("Type") {
            return;
        }
        out.push(Diagnostic::error(
            Code::InvalidStateType,
            s.at("Type"),
            "missing required field Type",
        ));
        return;
    };
    if !STATE_TYPES.contains(&state_type) {
        out.push(Diagnostic::error(
            Code::InvalidStateType,
            s.at("Type"),
            format!("unknown state type {state_type:?}"),
        ));
        return;
    }
    if let Some(ql) = &s.state.query_language
        && ql != "JSONPath"
        && ql != "JSONata"
    {
        out.push(Diagnostic::error(
            Code::InvalidValue,
            s.at("QueryLanguage"),
            format!("QueryLanguage must be \"JSONPath\" or \"JSONata\", not {ql:?}"),
        ));
    }
    let allowed = allowed_fields(state_type);
    let jsonata = s.is_jsonata();
    for field in present_fields(s.state) {
        if COMMON.contains(&field) {
            continue;
        }
        if !allowed.contains(&field) {
            out.push(Diagnostic::error(
                Code::SchemaValidationFailed,
                s.at(field),
                format!("field {field} is not allowed in a {state_type} state"),
            ));
        } else if jsonata && JSONPATH_ONLY.contains(&field) {
            out.push(Diagnostic::error(
                Code::SchemaValidationFailed,
                s.at(field),
                format!("field {field} is not allowed in a JSONata state"),
            ));
        } else if !jsonata && JSONATA_ONLY.contains(&field) {
            out.push(Diagnostic::error(
                Code::SchemaValidationFailed,
                s.at(field),
                format!("field {field} is only allowed in a JSONata state"),
            ));
        }
    }
    for key in s.state.extra.keys() {
        out.push(Diagnostic::error(
            Code::SchemaValidationFailed,
            s.at(&pointer_segment(key)),
            format!("unknown field {key:?}"),
        ));
    }
}

fn transitions(s: &StateCtx<'_>, names: &HashSet<&str>, out: &mut Vec<Diagnostic>) {
    let state = s.state;
    let state_type = state.state_type.as_deref().unwrap_or("");
    let terminal = matches!(state_type, "Choice" | "Succeed" | "Fail");
    if !terminal && STATE_TYPES.contains(&state_type) {
        let end = state.end == Some(true);
        match (&state.next, end) {
            (Some(_), true) => out.push(Diagnostic::error(
                Code::InvalidTransition,
                s.location.clone(),
                "a state cannot have both Next and End",
            )),
            (None, false) if state.is_bad("Next") || state.is_bad("End") => {}
            (None, false) => out.push(Diagnostic::error(
                Code::InvalidTransition,
                s.location.clone(),
                "a state needs either Next or \"End\": true",
            )),
            _ => {}
        }
    }
    let mut target = |name: &str, location: String| {
        if !names.contains(name) {
            out.push(Diagnostic::error(
                Code::MissingTransitionTarget,
                location,
                format!("no state named {name:?}"),
            ));
        }
    };
    if let Some(next) = &state.next {
        target(next, s.at("Next"));
    }
    if state_type == "Choice" {
        if let Some(default) = &state.default {
            target(default, s.at("Default"));
        }
        for (i, rule) in state.choices.iter().flatten().enumerate() {
            if let Some(next) = &rule.next {
                target(next, format!("{}/Choices/{i}/Next", s.location));
            }
        }
    }
    for (i, catcher) in state.catch.iter().flatten().enumerate() {
        if let Some(next) = &catcher.next {
            target(next, format!("{}/Catch/{i}/Next", s.location));
        }
    }
}

/// Names a state can move to next.
pub fn successors(state: &RawState) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    out.extend(state.next.as_deref());
    out.extend(state.default.as_deref());
    out.extend(
        state
            .choices
            .iter()
            .flatten()
            .filter_map(|r| r.next.as_deref()),
    );
    out.extend(
        state
            .catch
            .iter()
            .flatten()
            .filter_map(|c| c.next.as_deref()),
    );
    out
}

/// Every state reachable from `StartAt`, and at least one terminal state (`End`, Succeed,
/// Fail). AWS rejects both (its own linter, awslabs/statelint, words them "No terminal state
/// found in machine" and "... is not reachable"); a machine whose `StartAt` names no state
/// is already reported, so nothing here piles onto it.
fn reachability(m: &MachineCtx<'_>, ctxs: &[StateCtx<'_>], out: &mut Vec<Diagnostic>) {
    let Some(start) = m.machine.start_at.as_deref() else {
        return;
    };
    let by_name: HashMap<&str, &StateCtx<'_>> = ctxs.iter().map(|s| (s.name, s)).collect();
    if !by_name.contains_key(start) {
        return;
    }
    // A state with a field of the wrong type may have lost a transition or its End.
    let malformed = m
        .machine
        .states
        .iter()
        .flat_map(|s| s.0.iter())
        .any(|e| e.state().is_none_or(|s| !s.bad_fields.is_empty()));
    if malformed {
        return;
    }
    let mut reached: HashSet<&str> = HashSet::new();
    let mut stack = vec![start];
    while let Some(name) = stack.pop() {
        if !reached.insert(name) {
            continue;
        }
        if let Some(s) = by_name.get(name) {
            stack.extend(successors(s.state));
        }
    }
    for s in ctxs {
        if !reached.contains(s.name) {
            out.push(Diagnostic::error(
                Code::UnreachableState,
                s.location.clone(),
                format!("State {:?} is not reachable from StartAt", s.name),
            ));
        }
    }
    let terminal = |s: &&StateCtx<'_>| {
        s.state.end == Some(true)
            || matches!(s.state.state_type.as_deref(), Some("Succeed" | "Fail"))
    };
    if !ctxs.iter().any(|s| terminal(&s)) {
        out.push(Diagnostic::error(
            Code::NoTerminalState,
            format!("{}/States", m.location),
            "No terminal state found in machine: no state has End: true and none is a Succeed or Fail state",
        ));
    }
}
