//! Validation of a raw definition, like AWS `ValidateStateMachineDefinition`: every problem at
//! once, each a [`Diagnostic`] with a stable code and a JSON-pointer location.
//!
//! [`validate`] walks every (sub-)machine once through [`Walk`], so each rule module only says
//! what it checks for one machine or one state and where.

mod assign;
mod choice;
mod common;
mod handlers;
mod jsonata;
mod map;
pub(crate) use map::s3_hint;
mod paths;
pub(crate) use paths::template_diagnostics;
mod structure;
mod task;
mod values;
#[cfg(test)]
mod whole_tests;

use std::fmt;

use serde::Serialize;

use crate::asl::model::jsonata::ParsedExpressions;
use crate::asl::raw::{RawState, RawStateMachine};

/// How bad a diagnostic is: errors reject the definition, warnings do not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    /// The definition is rejected.
    Error,
    /// Reported, but the definition runs.
    Warning,
}

/// Stable diagnostic codes (AWS's `ValidateStateMachineDefinition` codes where AWS has one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum Code {
    /// A field has the wrong JSON type, or a required field is missing, or a field is unknown
    /// or not allowed here.
    SchemaValidationFailed,
    /// `StartAt`, `Next`, `Default` or a Catcher's `Next` names no state of its machine.
    MissingTransitionTarget,
    /// Two states share a name anywhere in the state machine.
    DuplicateStateName,
    /// A state name is empty or longer than 80 characters.
    InvalidStateName,
    /// `Type` is missing or not a state type.
    InvalidStateType,
    /// A non-terminal state has both `End` and `Next`, or neither.
    InvalidTransition,
    /// A path, template or intrinsic does not parse.
    InvalidJsonPath,
    /// A field's value is out of range or malformed (numbers, timestamps, enums).
    InvalidValue,
    /// Fields that exclude each other appear together, or a required one of a set is missing.
    FieldConflict,
    /// A Choice rule is malformed.
    InvalidChoiceRule,
    /// A Retry or Catch entry is malformed.
    InvalidErrorHandler,
    /// A JSONata expression (`{% ... %}`) is malformed.
    InvalidJsonata,
    /// A state cannot be reached from `StartAt`.
    UnreachableState,
    /// A machine has no terminal state (no `End: true`, no Succeed or Fail).
    NoTerminalState,
    /// A Task `Resource` this engine cannot run (a warning: AWS accepts the definition).
    UnsupportedResource,
    /// Valid ASL that this build cannot run (e.g. an S3 ItemReader).
    Unsupported,
}

impl Code {
    /// The code's stable spelling, e.g. `MISSING_TRANSITION_TARGET`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::SchemaValidationFailed => "SCHEMA_VALIDATION_FAILED",
            Code::MissingTransitionTarget => "MISSING_TRANSITION_TARGET",
            Code::DuplicateStateName => "DUPLICATE_STATE_NAME",
            Code::InvalidStateName => "INVALID_STATE_NAME",
            Code::InvalidStateType => "INVALID_STATE_TYPE",
            Code::InvalidTransition => "INVALID_TRANSITION",
            Code::InvalidJsonPath => "INVALID_JSON_PATH",
            Code::InvalidValue => "INVALID_VALUE",
            Code::FieldConflict => "FIELD_CONFLICT",
            Code::InvalidChoiceRule => "INVALID_CHOICE_RULE",
            Code::InvalidErrorHandler => "INVALID_ERROR_HANDLER",
            Code::InvalidJsonata => "INVALID_JSONATA",
            Code::UnreachableState => "UNREACHABLE_STATE",
            Code::NoTerminalState => "NO_TERMINAL_STATE",
            Code::UnsupportedResource => "UNSUPPORTED_RESOURCE",
            Code::Unsupported => "UNSUPPORTED",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem found in a definition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Stable code.
    pub code: Code,
    /// JSON pointer into the definition, e.g. `/States/Check/Next`.
    pub location: String,
    /// What is wrong, for a person.
    pub message: String,
    /// Error or warning.
    pub severity: Severity,
}

impl Diagnostic {
    /// An error diagnostic.
    pub fn error(code: Code, location: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            location: location.into(),
            message: message.into(),
            severity: Severity::Error,
        }
    }

    /// A warning diagnostic.
    pub fn warning(code: Code, location: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            location: location.into(),
            message: message.into(),
            severity: Severity::Warning,
        }
    }

    /// Whether this diagnostic rejects the definition.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let location = if self.location.is_empty() {
            "/"
        } else {
            &self.location
        };
        write!(f, "{level}[{}] {location}: {}", self.code, self.message)
    }
}

/// Escapes a name as one JSON-pointer segment (`~` -> `~0`, `/` -> `~1`).
pub fn pointer_segment(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

/// Where a (sub-)machine sits and in which query language its states default to.
#[derive(Clone, Debug)]
pub struct MachineCtx<'a> {
    /// The machine.
    pub machine: &'a RawStateMachine,
    /// JSON pointer of the machine object ("" for the top level).
    pub location: String,
    /// Whether this is the top-level machine.
    pub top_level: bool,
    /// The query language its states default to: always the state machine's top-level
    /// `QueryLanguage` (`JSONPath` unless set), also inside Parallel branches and Map
    /// processors whatever those states set for themselves.
    pub query_language: String,
}

/// One state in its machine.
#[derive(Clone, Debug)]
pub struct StateCtx<'a> {
    /// The state's name.
    pub name: &'a str,
    /// The state.
    pub state: &'a RawState,
    /// JSON pointer of the state object.
    pub location: String,
    /// The state's effective query language.
    pub query_language: String,
}

impl StateCtx<'_> {
    /// Pointer to one of the state's fields.
    pub fn at(&self, field: &str) -> String {
        format!("{}/{}", self.location, field)
    }

    /// Whether the state evaluates JSONata.
    pub fn is_jsonata(&self) -> bool {
        self.query_language == "JSONata"
    }
}

/// Every machine in the definition (top level, Parallel branches, Map processors), outermost
/// first, each with its location and the query language its states default to.
pub fn machines(raw: &RawStateMachine) -> Vec<MachineCtx<'_>> {
    let mut out = Vec::new();
    let query_language = raw
        .query_language
        .clone()
        .unwrap_or_else(|| "JSONPath".into());
    collect(raw, String::new(), true, query_language, &mut out);
    out
}

fn collect<'a>(
    machine: &'a RawStateMachine,
    location: String,
    top_level: bool,
    query_language: String,
    out: &mut Vec<MachineCtx<'a>>,
) {
    out.push(MachineCtx {
        machine,
        location: location.clone(),
        top_level,
        query_language: query_language.clone(),
    });
    for (name, state) in machine
        .states
        .iter()
        .flat_map(|s| s.0.iter())
        .filter_map(|e| e.state().map(|s| (e.name(), s)))
    {
        let here = format!("{location}/States/{}", pointer_segment(name));
        // The spec: states inside a Map's ItemProcessor or a Parallel's Branches default to the
        // state machine's query language, whatever the Map or Parallel state itself uses.
        let inherited = query_language.clone();
        for (i, branch) in state.branches.iter().flatten().enumerate() {
            collect(
                branch,
                format!("{here}/Branches/{i}"),
                false,
                inherited.clone(),
                out,
            );
        }
        if let Some(p) = &state.item_processor {
            collect(
                p,
                format!("{here}/ItemProcessor"),
                false,
                inherited.clone(),
                out,
            );
        }
        if let Some(p) = &state.iterator {
            collect(p, format!("{here}/Iterator"), false, inherited.clone(), out);
        }
    }
}

/// The states of one machine with their context.
pub fn states<'a>(machine: &MachineCtx<'a>) -> Vec<StateCtx<'a>> {
    machine
        .machine
        .states
        .iter()
        .flat_map(|s| s.0.iter())
        .filter_map(|e| e.state().map(|s| (e.name(), s)))
        .map(|(name, state)| StateCtx {
            name,
            state,
            location: format!("{}/States/{}", machine.location, pointer_segment(name)),
            query_language: state
                .query_language
                .clone()
                .unwrap_or_else(|| machine.query_language.clone()),
        })
        .collect()
}

/// What validation found: every diagnostic, and the JSONata expressions it parsed on the
/// way (the compiler builds the model from those, so no expression is parsed twice).
#[derive(Debug)]
pub struct Validated {
    /// Errors and warnings, in document order.
    pub diagnostics: Vec<Diagnostic>,
    /// Every `{% %}` expression of a JSONata state that parsed, by its JSON pointer.
    pub expressions: ParsedExpressions,
}

/// Checks a raw definition against every rule; returns all diagnostics (errors and warnings).
pub fn validate(raw: &RawStateMachine) -> Vec<Diagnostic> {
    validate_definition(raw).diagnostics
}

/// [`validate`], keeping the JSONata expressions it parsed.
pub fn validate_definition(raw: &RawStateMachine) -> Validated {
    let mut out = Vec::new();
    let mut expressions = ParsedExpressions::new();
    let machines = machines(raw);
    structure::check(&machines, &mut out);
    fields_and_values(&machines, &mut out, &mut expressions);
    in_document_order(&machines, &mut out);
    Validated {
        diagnostics: out,
        expressions,
    }
}

/// Orders diagnostics by the state they are about, in document order (outer machines first),
/// so a reader sees each state's problems together; the order among one state's problems is
/// kept. Diagnostics about no state (e.g. `/StartAt`) come first.
fn in_document_order(machines: &[MachineCtx<'_>], out: &mut [Diagnostic]) {
    let mut order: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for m in machines {
        for e in m.machine.states.iter().flat_map(|s| s.0.iter()) {
            let at = format!("{}/States/{}", m.location, pointer_segment(e.name()));
            let next = order.len() + 1;
            order.entry(at).or_insert(next);
        }
    }
    // The deepest state whose pointer is a prefix of the location, at a segment boundary.
    let rank = |location: &str| {
        let mut prefix = location;
        loop {
            if let Some(i) = order.get(prefix) {
                return *i;
            }
            match prefix.rfind('/') {
                Some(cut) => prefix = &prefix[..cut],
                None => return 0,
            }
        }
    };
    out.sort_by_cached_key(|d| rank(&d.location));
}

/// The rules beyond structure, one module per concern.
fn fields_and_values(
    machines: &[MachineCtx<'_>],
    out: &mut Vec<Diagnostic>,
    expressions: &mut ParsedExpressions,
) {
    choice::check(machines, out);
    handlers::check(machines, out);
    values::check(machines, out);
    task::check(machines, out);
    map::check(machines, out);
    paths::check(machines, out);
    assign::check(machines, out);
    jsonata::check(machines, out, expressions);
}

/// Whether any diagnostic is an error.
pub fn has_errors(diagnostics: &[Diagnostic]) -> bool {
    diagnostics.iter().any(Diagnostic::is_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(def: &str) -> Vec<(Code, String)> {
        let raw = RawStateMachine::from_json(def).unwrap();
        validate(&raw)
            .into_iter()
            .map(|d| (d.code, d.location))
            .collect()
    }

    #[test]
    fn a_minimal_machine_is_valid() {
        assert!(codes(r#"{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}"#).is_empty());
    }

    #[test]
    fn unknown_targets_are_reported_with_their_location() {
        let got = codes(
            r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Chekc"},"B":{"Type":"Choice","Choices":[],"Default":"Nope"}}}"#,
        );
        assert!(got.contains(&(Code::MissingTransitionTarget, "/States/A/Next".into())));
        assert!(got.contains(&(Code::MissingTransitionTarget, "/States/B/Default".into())));
        assert!(got.contains(&(Code::UnreachableState, "/States/B".into())));
    }

    #[test]
    fn reports_every_problem_at_once() {
        let got = codes(
            r#"{"StartAt":"X","States":{"A":{"Type":"Pass"},"B":{"Type":"Bogus","End":true},
               "C":{"Type":"Fail","ResultPath":"$.x"},"D":{"Type":"Pass","Next":5}}}"#,
        );
        assert!(got.contains(&(Code::MissingTransitionTarget, "/StartAt".into())));
        assert!(got.contains(&(Code::InvalidTransition, "/States/A".into())));
        assert!(got.contains(&(Code::InvalidStateType, "/States/B/Type".into())));
        assert!(got.contains(&(Code::SchemaValidationFailed, "/States/C/ResultPath".into())));
        // A field of the wrong type is reported at the field itself.
        assert!(got.contains(&(Code::SchemaValidationFailed, "/States/D/Next".into())));
    }

    #[test]
    fn names_are_unique_across_branches_and_limited_in_length() {
        let long = "n".repeat(81);
        let def = format!(
            r#"{{"StartAt":"P","States":{{"P":{{"Type":"Parallel","End":true,"Branches":[
               {{"StartAt":"S","States":{{"S":{{"Type":"Succeed"}}}}}},
               {{"StartAt":"S","States":{{"S":{{"Type":"Succeed"}}}}}}]}},
               "{long}":{{"Type":"Succeed"}}}}}}"#
        );
        let got = codes(&def);
        assert!(got.contains(&(
            Code::DuplicateStateName,
            "/States/P/Branches/1/States/S".into()
        )));
        assert!(got.contains(&(Code::InvalidStateName, format!("/States/{long}"))));
    }

    #[test]
    fn query_language_decides_which_fields_fit() {
        let got = codes(
            r#"{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass","InputPath":"$","End":true},
               "B":{"Type":"Pass","QueryLanguage":"JSONPath","Output":{},"End":true}}}"#,
        );
        assert!(got.contains(&(Code::SchemaValidationFailed, "/States/A/InputPath".into())));
        assert!(got.contains(&(Code::SchemaValidationFailed, "/States/B/Output".into())));
    }
}
