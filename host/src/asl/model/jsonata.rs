//! JSONata field values, compiled: a JSON value whose strings of the form `{% expr %}` are
//! JSONata expressions (parsed once, here) and whose other strings are literals; objects and
//! arrays are walked. Subtrees without an expression stay one literal, so evaluating them is
//! a clone.

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
    /// Compiles a field value, parsing every expression in it once.
    pub fn compile(value: &Value) -> Result<JsonataTemplate, Vec<JsonataSyntaxError>> {
        let mut errors = Vec::new();
        let t = compile_at(value, &mut String::new(), &mut errors);
        if errors.is_empty() {
            Ok(t)
        } else {
            Err(errors)
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

fn compile_at(
    value: &Value,
    pointer: &mut String,
    errors: &mut Vec<JsonataSyntaxError>,
) -> JsonataTemplate {
    match value {
        Value::String(s) => match expression_text(s) {
            Some(text) => match Expression::parse(text) {
                Ok(expr) => JsonataTemplate::Expr(Arc::new(JsonataExpr {
                    expr,
                    source: text.to_owned(),
                })),
                Err(error) => {
                    errors.push(JsonataSyntaxError {
                        pointer: pointer.clone(),
                        error,
                    });
                    JsonataTemplate::Literal(Value::Null)
                }
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
                    let t = compile_at(v, pointer, errors);
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
                    let t = compile_at(v, pointer, errors);
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
