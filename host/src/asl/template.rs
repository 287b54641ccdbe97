//! Payload templates (Parameters, ResultSelector, ItemSelector, JSONPath Assign): a JSON
//! value whose keys ending in `.$` take a path or an intrinsic. Compiled once into a tree
//! whose constant parts are pre-built values, so evaluation only clones and fills in.

use serde_json::{Map, Value};

use super::error::StatesError;
use super::intrinsics::{Intrinsic, IntrinsicError};
use super::path::{JsonPath, PathError};
use super::scope::{Scope, resolve_field};

/// A problem in a template, located by a JSON-pointer-like path from the template root
/// (e.g. `/a/list/0/b.$`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// A `.$` value that is not a string.
    #[error(
        "{location}: the value of a field ending in '.$' must be a string (a path or an intrinsic function)"
    )]
    NotAString {
        /// Where.
        location: String,
    },
    /// A `.$` string that is neither a path nor an intrinsic.
    #[error(
        "{location}: {value:?} is neither a path (starting with '$') nor an intrinsic function (States.*)"
    )]
    NotPathOrIntrinsic {
        /// Where.
        location: String,
        /// The offending string.
        value: String,
    },
    /// A malformed path.
    #[error("{location}: {source}")]
    Path {
        /// Where.
        location: String,
        /// The path error.
        source: PathError,
    },
    /// A malformed intrinsic.
    #[error("{location}: {source}")]
    Intrinsic {
        /// Where.
        location: String,
        /// The intrinsic error.
        source: IntrinsicError,
    },
    /// Two keys that are the same once `.$` is removed (e.g. `a` and `a.$`).
    #[error("{location}: field {key:?} appears twice once '.$' is removed")]
    DuplicateKey {
        /// Where (the object holding both keys).
        location: String,
        /// The key without `.$`.
        key: String,
    },
}

impl TemplateError {
    /// The JSON-pointer-like location, relative to the template root.
    pub fn location(&self) -> &str {
        match self {
            TemplateError::NotAString { location }
            | TemplateError::NotPathOrIntrinsic { location, .. }
            | TemplateError::Path { location, .. }
            | TemplateError::Intrinsic { location, .. }
            | TemplateError::DuplicateKey { location, .. } => location,
        }
    }
}

/// A compiled template node.
#[derive(Clone, Debug)]
enum Node {
    /// No `.$` below: the value itself.
    Const(Value),
    /// An object with at least one dynamic field somewhere below: a pre-built skeleton
    /// (constant fields filled in, dynamic ones `null`) and the dynamic fields by position.
    /// Cloning the skeleton copies its hash table instead of re-hashing every key.
    Object {
        skeleton: Map<String, Value>,
        dynamic: Vec<(usize, Node)>,
    },
    /// An array with at least one dynamic element somewhere below.
    Array(Vec<Node>),
    /// `"key.$": "$.path"`; `field` is the original key (with `.$`) for error messages.
    Path { path: JsonPath, field: String },
    /// `"key.$": "States.Fn(...)"`.
    Intrinsic(Box<Intrinsic>),
}

/// A compiled payload template.
#[derive(Clone, Debug)]
pub struct Template {
    root: Node,
}

impl Template {
    /// Compiles a template, reporting every problem at once.
    pub fn compile(value: &Value) -> Result<Template, Vec<TemplateError>> {
        let mut errors = Vec::new();
        let mut location = String::new();
        let root = compile_node(value, &mut location, &mut errors);
        if errors.is_empty() {
            Ok(Template { root })
        } else {
            Err(errors)
        }
    }

    /// True when the template has no `.$` anywhere: evaluation is a plain clone.
    pub fn is_constant(&self) -> bool {
        matches!(self.root, Node::Const(_))
    }

    /// Builds the payload. A path that matches nothing is `States.Runtime`; an intrinsic
    /// that fails is `States.IntrinsicFailure`.
    pub fn evaluate(&self, scope: &Scope<'_>) -> Result<Value, StatesError> {
        evaluate_node(&self.root, scope)
    }
}

fn compile_node(value: &Value, location: &mut String, errors: &mut Vec<TemplateError>) -> Node {
    match value {
        Value::Object(map) => {
            let mut fields: Vec<(String, Node)> = Vec::with_capacity(map.len());
            let mut dynamic = false;
            for (key, child) in map {
                let mark = location.len();
                location.push('/');
                push_pointer_token(location, key);
                let (name, node) = match key.strip_suffix(".$") {
                    Some(name) => (name, compile_dynamic(child, key, location, errors)),
                    None => (key.as_str(), compile_node(child, location, errors)),
                };
                location.truncate(mark);
                if fields.iter().any(|(existing, _)| existing == name) {
                    errors.push(TemplateError::DuplicateKey {
                        location: if location.is_empty() {
                            "/".to_owned()
                        } else {
                            location.clone()
                        },
                        key: name.to_owned(),
                    });
                    continue;
                }
                dynamic |= !matches!(node, Node::Const(_));
                fields.push((name.to_owned(), node));
            }
            if dynamic {
                let mut skeleton = Map::with_capacity(fields.len());
                let mut dynamic = Vec::new();
                for (position, (key, node)) in fields.into_iter().enumerate() {
                    match node {
                        Node::Const(value) => {
                            skeleton.insert(key, value);
                        }
                        node => {
                            skeleton.insert(key, Value::Null);
                            dynamic.push((position, node));
                        }
                    }
                }
                Node::Object { skeleton, dynamic }
            } else {
                Node::Const(Value::Object(
                    fields
                        .into_iter()
                        .map(|(key, node)| match node {
                            Node::Const(value) => (key, value),
                            _ => unreachable!("all fields are constant"),
                        })
                        .collect(),
                ))
            }
        }
        Value::Array(items) => {
            let nodes: Vec<Node> = items
                .iter()
                .enumerate()
                .map(|(index, item)| {
                    let mark = location.len();
                    location.push('/');
                    location.push_str(&index.to_string());
                    let node = compile_node(item, location, errors);
                    location.truncate(mark);
                    node
                })
                .collect();
            if nodes.iter().all(|node| matches!(node, Node::Const(_))) {
                Node::Const(value.clone())
            } else {
                Node::Array(nodes)
            }
        }
        scalar => Node::Const(scalar.clone()),
    }
}

fn compile_dynamic(
    value: &Value,
    key: &str,
    location: &str,
    errors: &mut Vec<TemplateError>,
) -> Node {
    let fallback = Node::Const(Value::Null);
    let Value::String(text) = value else {
        errors.push(TemplateError::NotAString {
            location: location.to_owned(),
        });
        return fallback;
    };
    if Intrinsic::looks_like(text) {
        match Intrinsic::parse(text) {
            Ok(call) => Node::Intrinsic(Box::new(call)),
            Err(source) => {
                errors.push(TemplateError::Intrinsic {
                    location: location.to_owned(),
                    source,
                });
                fallback
            }
        }
    } else if text.starts_with('$') {
        match JsonPath::parse(text) {
            Ok(path) => Node::Path {
                path,
                field: key.to_owned(),
            },
            Err(source) => {
                errors.push(TemplateError::Path {
                    location: location.to_owned(),
                    source,
                });
                fallback
            }
        }
    } else {
        errors.push(TemplateError::NotPathOrIntrinsic {
            location: location.to_owned(),
            value: text.clone(),
        });
        fallback
    }
}

/// Appends a key as a JSON-pointer token (`~` -> `~0`, `/` -> `~1`).
fn push_pointer_token(out: &mut String, key: &str) {
    for c in key.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            other => out.push(other),
        }
    }
}

fn evaluate_node(node: &Node, scope: &Scope<'_>) -> Result<Value, StatesError> {
    Ok(match node {
        Node::Const(value) => value.clone(),
        Node::Path { path, field } => resolve_field(path, field, scope)?,
        Node::Intrinsic(call) => call.evaluate(scope)?,
        Node::Object { skeleton, dynamic } => {
            let mut map = skeleton.clone();
            let mut slots = dynamic.iter().peekable();
            for (position, value) in map.values_mut().enumerate() {
                if let Some((at, child)) = slots.next_if(|(at, _)| *at == position) {
                    debug_assert_eq!(*at, position);
                    *value = evaluate_node(child, scope)?;
                }
            }
            Value::Object(map)
        }
        Node::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| evaluate_node(item, scope))
                .collect::<Result<_, _>>()?,
        ),
    })
}

#[cfg(test)]
#[path = "template_tests.rs"]
mod tests;
