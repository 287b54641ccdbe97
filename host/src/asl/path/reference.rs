//! Reference paths as ResultPath uses them: `$`, `$.a.b`, `$.a[0]`, `$['k']`. Setting a
//! value replaces the root for `$`, creates missing intermediate objects, and fails with
//! `States.ResultPathMatchFailure` when an existing node cannot take the field or index.

use serde_json::{Map, Value};

use super::{JsonPath, PathError, PathRoot, Step, object_get, object_get_mut, resolve_index};
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
        let Some(last) = self.steps.len().checked_sub(1) else {
            return Ok(value);
        };
        // One walk. Nothing is changed before a failure can be known: a mismatch on an
        // existing node fails before any write, and creating missing objects only starts
        // when no index step follows (an index cannot be created).
        let failed_at = 'walk: {
            let mut node = &mut target;
            for (depth, step) in self.steps.iter().enumerate() {
                match (step, node) {
                    (Step::Name(name), Value::Object(map)) => {
                        if depth == last {
                            match object_get_mut(map, name) {
                                Some(slot) => *slot = value,
                                None => {
                                    map.insert(name.to_string(), value);
                                }
                            }
                            return Ok(target);
                        }
                        if object_get(map, name).is_none() {
                            if let Some(index_step) = self.index_step_after(depth) {
                                break 'walk index_step;
                            }
                            map.insert(name.to_string(), Value::Object(Map::new()));
                        }
                        node = object_get_mut(map, name).expect("present or just inserted");
                    }
                    (Step::Index(index), Value::Array(items)) => {
                        let Some(at) = resolve_index(*index, items.len()) else {
                            break 'walk depth;
                        };
                        if depth == last {
                            items[at] = value;
                            return Ok(target);
                        }
                        node = &mut items[at];
                    }
                    _ => break 'walk depth,
                }
            }
            unreachable!("the last step returns")
        };
        Err(self.match_failure(&target, failed_at))
    }

    /// The first index step after `depth`, if any.
    fn index_step_after(&self, depth: usize) -> Option<usize> {
        self.steps[depth + 1..]
            .iter()
            .position(|step| matches!(step, Step::Index(_)))
            .map(|offset| depth + 1 + offset)
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
