//! Reference paths as ResultPath uses them: `$`, `$.a.b`, `$.a[0]`, `$['k']`. Setting a
//! value replaces the root for `$`, creates missing intermediate objects, and fails with
//! `States.ResultPathMatchFailure` when an existing node cannot take the field or index.

use serde_json::{Map, Value};

use super::{JsonPath, PathError, PathRoot, Step, resolve_index};
use crate::asl::error::{ErrorName, StatesError};

/// A compiled reference path rooted at the state input.
#[derive(Clone, Debug, PartialEq)]
pub struct ReferencePath {
    src: Box<str>,
    steps: Vec<Step>,
}

impl ReferencePath {
    /// Compiles a reference path: only `$`-rooted field names and indexes.
    pub fn parse(src: &str) -> Result<ReferencePath, PathError> {
        let path = JsonPath::parse(src)?;
        match path.root() {
            PathRoot::Input => {}
            PathRoot::Context => {
                return Err(PathError::ReferenceRoot {
                    path: src.to_owned(),
                    root: "$$".to_owned(),
                });
            }
            PathRoot::Variable(name) => {
                return Err(PathError::ReferenceRoot {
                    path: src.to_owned(),
                    root: format!("${name}"),
                });
            }
        }
        if let Some((position, found)) = path.first_non_reference() {
            return Err(PathError::NotReference {
                path: src.to_owned(),
                position,
                found,
            });
        }
        let steps = path.steps().unwrap_or_default();
        Ok(ReferencePath {
            src: src.into(),
            steps,
        })
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.src
    }

    /// True for `$`: the value replaces the whole target.
    pub fn is_root(&self) -> bool {
        self.steps.is_empty()
    }

    /// Places `value` at this path inside `target` (AWS ResultPath semantics).
    pub fn set(&self, mut target: Value, value: Value) -> Result<Value, StatesError> {
        if self.steps.is_empty() {
            return Ok(value);
        }
        // Check first, so a failure leaves nothing half-built and can show the input.
        if let Some(depth) = self.first_blocked_step(&target) {
            return Err(self.match_failure(&target, depth));
        }
        let mut node = &mut target;
        let last = self.steps.len() - 1;
        for (depth, step) in self.steps.iter().enumerate() {
            node = match (step, node) {
                (Step::Name(name), Value::Object(map)) => {
                    // Look up before inserting: an existing key needs no new String.
                    if depth == last {
                        match map.get_mut(&**name) {
                            Some(slot) => *slot = value,
                            None => {
                                map.insert(name.to_string(), value);
                            }
                        }
                        return Ok(target);
                    }
                    if !map.contains_key(&**name) {
                        map.insert(name.to_string(), Value::Object(Map::new()));
                    }
                    map.get_mut(&**name).expect("present or just inserted")
                }
                (Step::Index(index), Value::Array(items)) => {
                    let at = resolve_index(*index, items.len())
                        .expect("first_blocked_step checked the index");
                    if depth == last {
                        items[at] = value;
                        return Ok(target);
                    }
                    &mut items[at]
                }
                _ => unreachable!("first_blocked_step checked every step"),
            };
        }
        unreachable!("the last step returns")
    }

    /// The depth of the first step that cannot be applied to `target`, if any.
    fn first_blocked_step(&self, target: &Value) -> Option<usize> {
        let mut node = Some(target);
        for (depth, step) in self.steps.iter().enumerate() {
            match (step, node) {
                // Below a field we are about to create, only names can follow.
                (Step::Name(_), None) => {}
                (Step::Index(_), None) => return Some(depth),
                (Step::Name(name), Some(Value::Object(map))) => node = map.get(&**name),
                (Step::Index(index), Some(Value::Array(items))) => {
                    match resolve_index(*index, items.len()) {
                        Some(at) => node = Some(&items[at]),
                        None => return Some(depth),
                    }
                }
                _ => return Some(depth),
            }
        }
        None
    }

    fn match_failure(&self, target: &Value, depth: usize) -> StatesError {
        let step = match &self.steps[depth] {
            Step::Name(name) => format!("field '{name}'"),
            Step::Index(index) => format!("index [{index}]"),
        };
        StatesError::new(
            ErrorName::ResultPathMatchFailure,
            format!(
                "Unable to apply ResultPath '{}' to input '{}': the {step} cannot be set there",
                self.src,
                super::truncated_json(target)
            ),
        )
    }
}

impl std::fmt::Display for ReferencePath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.src)
    }
}
