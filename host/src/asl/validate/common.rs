//! Helpers the rule modules share: every state of every machine in one list, JSONata
//! expression strings (`{% ... %}`), the literal-number check that fields such as
//! `Seconds`, `TimeoutSeconds` or `MaxConcurrency` have in common, the rule that a field
//! and its `*Path` form exclude each other, and the URI shape of `Resource` fields.

use serde_json::Value;

use super::{Code, Diagnostic, MachineCtx, StateCtx, states};

/// Every state with a known `Type`, in every machine, outermost machine first. States with a
/// missing or unknown `Type` are left to the structural rules: their other fields mean nothing.
pub(super) fn typed_states<'a>(machines: &[MachineCtx<'a>]) -> Vec<StateCtx<'a>> {
    machines
        .iter()
        .flat_map(states)
        .filter(|s| {
            s.state
                .state_type
                .as_deref()
                .is_some_and(|t| super::structure::STATE_TYPES.contains(&t))
        })
        .collect()
}

/// The state's `Type` (only called on [`typed_states`]).
pub(super) fn state_type<'a>(s: &StateCtx<'a>) -> &'a str {
    s.state.state_type.as_deref().unwrap_or("")
}

/// What opens a JSONata template string.
pub(super) const OPENING: &str = "{%";

/// The expression inside a JSONata template string `{% ... %}`, or `None` when the string is
/// a plain literal.
pub(super) fn jsonata_expr(text: &str) -> Option<&str> {
    text.strip_prefix(OPENING)?.strip_suffix("%}")
}

/// Whether a value is a JSONata template string.
pub(super) fn is_jsonata_expr(value: &Value) -> bool {
    value.as_str().is_some_and(|t| jsonata_expr(t).is_some())
}

/// What a literal number field accepts.
#[derive(Clone, Copy, Debug)]
pub(super) struct NumberSpec {
    /// The smallest value allowed.
    pub min: f64,
    /// The largest value allowed.
    pub max: f64,
    /// Whether only whole numbers are allowed.
    pub integer: bool,
}

impl NumberSpec {
    /// Whole numbers in `min..=max`.
    pub const fn int(min: u64, max: u64) -> NumberSpec {
        NumberSpec {
            min: min as f64,
            max: max as f64,
            integer: true,
        }
    }

    fn describe(&self) -> String {
        let what = if self.integer {
            "an integer"
        } else {
            "a number"
        };
        if self.max >= u64::MAX as f64 {
            format!("{what} of at least {}", self.min)
        } else {
            format!("{what} from {} to {}", self.min, self.max)
        }
    }
}

/// Checks a literal number field of a state. In a JSONata state the field may instead be a
/// `{% %}` expression (its syntax is checked with the other JSONata strings). A value of the
/// wrong JSON type is a schema error; a number out of range an invalid value. `code` is the
/// code for out-of-range values (Retry fields use [`Code::InvalidErrorHandler`]).
pub(super) fn check_number(
    value: &Value,
    jsonata: bool,
    name: &str,
    location: String,
    spec: NumberSpec,
    code: Code,
    out: &mut Vec<Diagnostic>,
) {
    match value {
        Value::String(_) if jsonata && is_jsonata_expr(value) => {}
        Value::Number(n) => {
            let Some(x) = n.as_f64() else { return };
            if (spec.integer && x.fract() != 0.0) || x < spec.min || x > spec.max {
                out.push(Diagnostic::error(
                    code,
                    location,
                    format!("{name} must be {}, not {n}", spec.describe()),
                ));
            }
        }
        other => {
            let alt = if jsonata {
                " or a JSONata expression {% ... %}"
            } else {
                ""
            };
            out.push(Diagnostic::error(
                Code::SchemaValidationFailed,
                location,
                format!("{name} must be {}{alt}, not {other}", spec.describe()),
            ));
        }
    }
}

/// Reports a field and its `*Path` form (`name`, `namePath`) set together, at the `*Path`
/// field.
pub(super) fn exclusive(
    literal: bool,
    path: bool,
    at: &str,
    name: &str,
    out: &mut Vec<Diagnostic>,
) {
    if literal && path {
        out.push(Diagnostic::error(
            Code::FieldConflict,
            format!("{at}/{name}Path"),
            format!("{name} and {name}Path cannot both be set"),
        ));
    }
}

/// Whether text starts like a URI: an RFC 3986 scheme (a letter, then letters, digits, `+`,
/// `-` or `.`), a colon, and something after it.
pub(super) fn is_uri(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !rest.is_empty()
}

/// A literal value of a number field, when it is a plain number (not an expression).
pub(super) fn literal_f64(value: Option<&Value>) -> Option<f64> {
    value.and_then(Value::as_f64)
}

#[cfg(test)]
pub(super) mod testing {
    //! Test helpers: run the whole validator on a definition and look for one diagnostic.
    use super::super::{Code, Diagnostic, validate};
    use crate::asl::raw::RawStateMachine;

    /// Every diagnostic for a definition given as JSON text.
    pub fn diagnostics(def: &str) -> Vec<Diagnostic> {
        let raw = RawStateMachine::from_json(def).expect("test definition parses");
        validate(&raw)
    }

    /// Every error as (code, location).
    pub fn errors(def: &str) -> Vec<(Code, String)> {
        diagnostics(def)
            .into_iter()
            .filter(Diagnostic::is_error)
            .map(|d| (d.code, d.location))
            .collect()
    }

    /// Asserts the definition has exactly this error among its errors.
    #[track_caller]
    pub fn assert_error(def: &str, code: Code, location: &str) {
        let got = errors(def);
        assert!(
            got.iter().any(|(c, l)| *c == code && l == location),
            "expected {code} at {location}, got {got:?}"
        );
    }

    /// Asserts the definition has no error at all.
    #[track_caller]
    pub fn assert_valid(def: &str) {
        let got = errors(def);
        assert!(got.is_empty(), "expected no errors, got {got:?}");
    }

    /// A top-level machine with one state named `S` (plus a `Done` Succeed state to point at,
    /// when `S` names it: an unreachable state is an error).
    pub fn one_state(state: &str) -> String {
        format!(
            r#"{{"StartAt":"S","States":{{"S":{state}{}}}}}"#,
            done(state)
        )
    }

    /// Like [`one_state`] but with `"QueryLanguage": "JSONata"` at the top level.
    pub fn one_jsonata_state(state: &str) -> String {
        format!(
            r#"{{"QueryLanguage":"JSONata","StartAt":"S","States":{{"S":{state}{}}}}}"#,
            done(state)
        )
    }

    fn done(state: &str) -> &'static str {
        if state.contains(r#""Done""#) {
            r#","Done":{"Type":"Succeed"}"#
        } else {
            ""
        }
    }
}
