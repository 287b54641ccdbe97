//! JSONata field values, compiled: a JSON value whose strings of the form `{% expr %}` are
//! JSONata expressions and whose other strings are literals; objects and arrays are walked.
//! Subtrees without an expression stay one literal, so evaluating them is a clone.
//!
//! Each expression is parsed once, by the validator, which reports syntax errors with their
//! position; it hands the parsed expressions over as [`ParsedExpressions`], keyed by the JSON
//! pointer of the string that holds them, and the compiler builds templates from those
//! ([`JsonataTemplate::from_parsed`]) without parsing anything again.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;
use stepwasm_jsonata::Expression;

/// A compiled JSONata expression with its source text (for error causes).
#[derive(Debug)]
pub struct JsonataExpr {
    /// The parsed expression.
    pub expr: Expression,
    /// The text between `{%` and `%}`, as written.
    pub source: String,
}

/// The expressions the validator parsed, by the JSON pointer of the string that holds each.
pub type ParsedExpressions = HashMap<String, Arc<JsonataExpr>>;

impl JsonataExpr {
    /// Parses the text between `{%` and `%}`.
    pub fn parse(source: &str) -> Result<JsonataExpr, stepwasm_jsonata::Error> {
        Ok(JsonataExpr {
            expr: Expression::parse(source)?,
            source: source.to_owned(),
        })
    }
}

/// A field value of a JSONata state.
#[derive(Debug, Clone)]
pub enum JsonataTemplate {
    /// No expression anywhere inside.
    Literal(Value),
    /// A whole-string `{% ... %}` expression.
    Expr(Arc<JsonataExpr>),
    /// An object with at least one expression among its values.
    Object(Vec<(String, JsonataTemplate)>),
    /// An array with at least one expression among its elements.
    Array(Vec<JsonataTemplate>),
}

/// A JSONata syntax error found while compiling, with the JSON pointer (relative to the
/// field) of the string that holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonataSyntaxError {
    /// Pointer suffix inside the field, e.g. `/a/0` (empty for the field itself).
    pub pointer: String,
    /// The parser's error (code, message, position).
    pub error: stepwasm_jsonata::Error,
}

/// The text inside `{% ... %}` when `s` is a JSONata expression string, else `None`
/// (such a string is a literal).
pub fn expression_text(s: &str) -> Option<&str> {
    s.strip_prefix("{%")?.strip_suffix("%}")
}

impl JsonataTemplate {
    /// Compiles a field value, parsing every expression in it (for values that were not
    /// validated as part of a definition, e.g. in tests).
    pub fn compile(value: &Value) -> Result<JsonataTemplate, Vec<JsonataSyntaxError>> {
        let mut errors = Vec::new();
        let t = build(
            value,
            &mut String::new(),
            &mut |text, pointer| match JsonataExpr::parse(text) {
                Ok(e) => Some(Arc::new(e)),
                Err(error) => {
                    errors.push(JsonataSyntaxError {
                        pointer: pointer.to_owned(),
                        error,
                    });
                    None
                }
            },
        );
        if errors.is_empty() {
            Ok(t)
        } else {
            Err(errors)
        }
    }

    /// Builds the template of the field at pointer `at` from the expressions the validator
    /// parsed (taking them out of `parsed`). Err lists the pointers of expression strings
    /// that `parsed` lacks (the validator and the compiler disagree: a bug, not bad input).
    pub fn from_parsed(
        value: &Value,
        at: &str,
        parsed: &mut ParsedExpressions,
    ) -> Result<JsonataTemplate, Vec<String>> {
        let mut missing = Vec::new();
        let mut pointer = at.to_owned();
        let t = build(value, &mut pointer, &mut |_, pointer| {
            let found = parsed.remove(pointer);
            if found.is_none() {
                missing.push(pointer.to_owned());
            }
            found
        });
        if missing.is_empty() {
            Ok(t)
        } else {
            Err(missing)
        }
    }

    /// Whether the value is a literal (no expression inside).
    pub fn is_literal(&self) -> bool {
        matches!(self, JsonataTemplate::Literal(_))
    }

    /// Every expression source in the template (to find `$states.context` readers).
    pub fn sources<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            JsonataTemplate::Literal(_) => {}
            JsonataTemplate::Expr(e) => out.push(&e.source),
            JsonataTemplate::Object(fields) => fields.iter().for_each(|(_, t)| t.sources(out)),
            JsonataTemplate::Array(items) => items.iter().for_each(|t| t.sources(out)),
        }
    }
}

/// Walks a field value; `expr` gives the expression for a `{% %}` string (its text and
/// pointer), or `None` when it has none (the caller records why).
fn build(
    value: &Value,
    pointer: &mut String,
    expr: &mut dyn FnMut(&str, &str) -> Option<Arc<JsonataExpr>>,
) -> JsonataTemplate {
    match value {
        Value::String(s) => match expression_text(s) {
            Some(text) => match expr(text, pointer) {
                Some(e) => JsonataTemplate::Expr(e),
                None => JsonataTemplate::Literal(Value::Null),
            },
            None => JsonataTemplate::Literal(value.clone()),
        },
        Value::Object(map) => {
            let len = pointer.len();
            let fields: Vec<(String, JsonataTemplate)> = map
                .iter()
                .map(|(k, v)| {
                    pointer.push('/');
                    pointer.push_str(&k.replace('~', "~0").replace('/', "~1"));
                    let t = build(v, pointer, expr);
                    pointer.truncate(len);
                    (k.clone(), t)
                })
                .collect();
            if fields.iter().all(|(_, t)| t.is_literal()) {
                JsonataTemplate::Literal(value.clone())
            } else {
                JsonataTemplate::Object(fields)
            }
        }
        Value::Array(list) => {
            let len = pointer.len();
            let items: Vec<JsonataTemplate> = list
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    pointer.push('/');
                    pointer.push_str(&i.to_string());
                    let t = build(v, pointer, expr);
                    pointer.truncate(len);
                    t
                })
                .collect();
            if items.iter().all(JsonataTemplate::is_literal) {
                JsonataTemplate::Literal(value.clone())
            } else {
                JsonataTemplate::Array(items)
            }
        }
        other => JsonataTemplate::Literal(other.clone()),
    }
}

/// Whether JSONata sources read `$states.context` (or `$states` as a whole), so the
/// interpreter must build the context object for the state.
pub fn sources_read_context(sources: &[&str]) -> bool {
    sources.iter().any(|s| {
        s.match_indices("$states").any(|(i, _)| {
            let rest = &s[i + "$states".len()..];
            !(rest.starts_with(".input")
                || rest.starts_with(".result")
                || rest.starts_with(".errorOutput"))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_whole_delimited_strings_are_expressions() {
        assert_eq!(expression_text("{% 1 %}"), Some(" 1 "));
        assert_eq!(expression_text("{%1%}"), Some("1"));
        assert_eq!(expression_text(" {% 1 %}"), None);
        assert_eq!(expression_text("{% 1 %} "), None);
        assert_eq!(expression_text("$states.input"), None);
        assert_eq!(expression_text("{not}"), None);
    }

    #[test]
    fn literal_subtrees_collapse() {
        let t = JsonataTemplate::compile(&json!({"a": [1, "x"], "b": {"c": "{% 1 %}"}})).unwrap();
        let JsonataTemplate::Object(fields) = &t else {
            panic!("expected an object, got {t:?}")
        };
        assert!(fields[0].1.is_literal());
        assert!(matches!(fields[1].1, JsonataTemplate::Object(_)));
        assert!(
            JsonataTemplate::compile(&json!({"a": "b"}))
                .unwrap()
                .is_literal()
        );
    }

    #[test]
    fn syntax_errors_carry_their_pointer_and_position() {
        let errors = JsonataTemplate::compile(&json!({"a": [1, "{% 1 + %}"], "b/c": "{% ( %}"}))
            .unwrap_err();
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].pointer, "/a/1");
        assert!(
            errors[0].error.code.starts_with('S'),
            "{:?}",
            errors[0].error
        );
        assert_eq!(errors[1].pointer, "/b~1c");
    }

    #[test]
    fn context_readers_are_found() {
        assert!(!sources_read_context(&["$states.input.a + $states.result"]));
        assert!(sources_read_context(&["$states.context.State.Name"]));
        assert!(sources_read_context(&["$keys($states)"]));
        assert!(!sources_read_context(&["$x"]));
    }
}
