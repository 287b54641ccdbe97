//! What a JSONPath expression can see while it runs: the state input (`$`), the context
//! object (`$$`) and JSONPath variables (`$name`), plus the one shared way every `*Path`
//! field and `.$` value resolves a path against them.

use std::collections::HashMap;
use std::hash::BuildHasher;

use serde_json::{Map, Value};

use super::error::{ErrorName, StatesError};
use super::path::{JsonPath, PathRoot, Selected, truncated_json};

/// Read access to JSONPath variables by name (without the `$`).
pub trait Variables {
    /// The variable's current value, if it is defined.
    fn get(&self, name: &str) -> Option<&Value>;
}

/// No variables at all (a state machine without `Assign`).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoVariables;

impl Variables for NoVariables {
    fn get(&self, _name: &str) -> Option<&Value> {
        None
    }
}

impl<S: BuildHasher> Variables for HashMap<String, Value, S> {
    fn get(&self, name: &str) -> Option<&Value> {
        HashMap::get(self, name)
    }
}

impl Variables for Map<String, Value> {
    fn get(&self, name: &str) -> Option<&Value> {
        Map::get(self, name)
    }
}

/// The roots a path or template evaluates against.
#[derive(Clone, Copy)]
pub struct Scope<'a> {
    /// `$`: the value being shaped (state input, effective input, or result).
    pub input: &'a Value,
    /// `$$`: the context object.
    pub context: &'a Value,
    /// `$name`: JSONPath variables.
    pub variables: &'a dyn Variables,
}

impl<'a> Scope<'a> {
    /// Builds a scope.
    pub fn new(input: &'a Value, context: &'a Value, variables: &'a dyn Variables) -> Self {
        Scope {
            input,
            context,
            variables,
        }
    }

    /// The same scope with another `$` (e.g. ResultSelector runs on the raw result).
    pub fn with_input(&self, input: &'a Value) -> Self {
        Scope { input, ..*self }
    }

    /// The value a root names; `None` for an undefined variable.
    pub fn root(&self, root: &PathRoot) -> Option<&'a Value> {
        match root {
            PathRoot::Input => Some(self.input),
            PathRoot::Context => Some(self.context),
            PathRoot::Variable(name) => self.variables.get(name),
        }
    }
}

impl std::fmt::Debug for Scope<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scope")
            .field("input", self.input)
            .field("context", self.context)
            .finish_non_exhaustive()
    }
}

/// Evaluates `path` against the root its [`PathRoot`] names, borrowing from the scope.
/// An undefined variable selects nothing.
pub fn select_in<'a>(path: &JsonPath, scope: &Scope<'a>) -> Selected<'a> {
    match scope.root(path.root()) {
        Some(root) => path.select(root),
        None => Selected::Nothing,
    }
}

/// Evaluates `path` to an owned value: `None` when a definite path matches nothing (an
/// indefinite path always yields an array, possibly empty).
pub fn resolve(path: &JsonPath, scope: &Scope<'_>) -> Option<Value> {
    select_in(path, scope).to_value()
}

/// Like [`resolve`], but a path that matches nothing is AWS's `States.Runtime` error:
/// "The JSONPath '$.x' specified for the field 'a.$' could not be found in the input '{...}'".
pub fn resolve_field(
    path: &JsonPath,
    field: &str,
    scope: &Scope<'_>,
) -> Result<Value, StatesError> {
    resolve(path, scope).ok_or_else(|| path_not_found(path, field, scope))
}

/// The `States.Runtime` error for a path in `field` that matched nothing.
pub fn path_not_found(path: &JsonPath, field: &str, scope: &Scope<'_>) -> StatesError {
    let cause = match path.root() {
        PathRoot::Input => format!(
            "The JSONPath '{path}' specified for the field '{field}' could not be found in the input '{}'",
            truncated_json(scope.input)
        ),
        PathRoot::Context => format!(
            "The JSONPath '{path}' specified for the field '{field}' could not be found in the context object '{}'",
            truncated_json(scope.context)
        ),
        PathRoot::Variable(name) => match scope.variables.get(name) {
            Some(value) => format!(
                "The JSONPath '{path}' specified for the field '{field}' could not be found in the variable '${name}' '{}'",
                truncated_json(value)
            ),
            None => format!(
                "The JSONPath '{path}' specified for the field '{field}' refers to the variable '${name}', which is not defined"
            ),
        },
    };
    StatesError::new(ErrorName::Runtime, cause)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn roots_pick_the_right_value() {
        let input = json!({"a": 1});
        let context = json!({"State": {"Name": "S"}});
        let mut vars = HashMap::new();
        vars.insert("v".to_owned(), json!({"x": [7]}));
        let scope = Scope::new(&input, &context, &vars);
        let get = |p: &str| resolve(&JsonPath::parse(p).unwrap(), &scope);
        assert_eq!(get("$.a"), Some(json!(1)));
        assert_eq!(get("$$.State.Name"), Some(json!("S")));
        assert_eq!(get("$v.x[0]"), Some(json!(7)));
        assert_eq!(get("$v"), Some(json!({"x": [7]})));
        assert_eq!(get("$nope"), None);
        assert_eq!(get("$.b"), None);
        assert_eq!(get("$.b[*]"), Some(json!([])));
        let other = json!({"b": 2});
        assert_eq!(
            resolve(&JsonPath::parse("$.b").unwrap(), &scope.with_input(&other)),
            Some(json!(2))
        );
    }

    #[test]
    fn missing_paths_give_aws_causes() {
        let input = json!({"flagged": false});
        let context = json!({});
        let scope = Scope::new(&input, &context, &NoVariables);
        let path = JsonPath::parse("$.application.address").unwrap();
        let error = resolve_field(&path, "address.$", &scope).unwrap_err();
        assert_eq!(error.name, ErrorName::Runtime);
        assert_eq!(
            error.cause,
            "The JSONPath '$.application.address' specified for the field 'address.$' could not be found in the input '{\"flagged\":false}'"
        );
        let error = resolve_field(&JsonPath::parse("$$.Nope").unwrap(), "c.$", &scope).unwrap_err();
        assert!(error.cause.contains("context object"), "{}", error.cause);
        let error = resolve_field(&JsonPath::parse("$x").unwrap(), "v.$", &scope).unwrap_err();
        assert!(
            error.cause.contains("'$x', which is not defined"),
            "{}",
            error.cause
        );
        let mut vars = Map::new();
        vars.insert("x".into(), json!({}));
        let scope = Scope::new(&input, &context, &vars);
        let error = resolve_field(&JsonPath::parse("$x.k").unwrap(), "v.$", &scope).unwrap_err();
        assert!(
            error.cause.contains("in the variable '$x' '{}'"),
            "{}",
            error.cause
        );
    }
}
