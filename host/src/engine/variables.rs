//! Workflow variables (`Assign`): where they live, who sees them, and AWS's size limits.
//!
//! Each frame keeps the variables its own states assigned (persisted with the frame, so a
//! resumed execution still has them). A frame reads its own variables and, through its parent
//! links, those of the enclosing frames: Parallel branches and Map iterations see the outer
//! variables as they were when the state started (the outer frame is blocked meanwhile), and
//! nothing they assign flows out except through their outputs. All expressions of one
//! `Assign` read the values from before the state ran; the new values are stored when the
//! state succeeds, so they are visible from the next state on.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::frame::{Frame, FrameId};
use crate::asl::error::{ErrorName, StatesError};
use crate::asl::scope::Variables;

/// The largest serialized size of one variable's value (AWS: 256 KiB).
pub const MAX_VARIABLE_BYTES: usize = 256 * 1024;
/// The largest serialized size of everything one `Assign` sets (AWS: 256 KiB).
pub const MAX_ASSIGN_BYTES: usize = 256 * 1024;
/// The largest serialized size of all stored variables of an execution (AWS: 10 MiB).
pub const MAX_TOTAL_BYTES: usize = 10 * 1024 * 1024;

/// The variables a frame can read: its own first, then its ancestors'.
#[derive(Debug, Default)]
pub struct VarScope<'a> {
    /// Innermost first.
    chain: Vec<&'a Map<String, Value>>,
}

impl<'a> VarScope<'a> {
    /// The scope of frame `id`, following parent links.
    pub fn of<S: std::hash::BuildHasher>(
        frames: &'a HashMap<FrameId, Frame, S>,
        id: FrameId,
    ) -> Self {
        let mut chain = Vec::new();
        let mut next = Some(id);
        while let Some(fid) = next {
            let Some(frame) = frames.get(&fid) else { break };
            chain.push(&frame.variables);
            next = frame.parent.map(|p| p.frame);
        }
        VarScope { chain }
    }

    /// Calls `f` for every visible variable, outermost scope first (so an inner value,
    /// bound later, wins).
    pub fn for_each(&self, mut f: impl FnMut(&'a str, &'a Value)) {
        for map in self.chain.iter().rev() {
            for (k, v) in map.iter() {
                f(k, v);
            }
        }
    }

    /// Serialized size of all visible variables (for the execution-wide limit).
    fn total_bytes(&self) -> usize {
        self.chain
            .iter()
            .flat_map(|m| m.values())
            .map(json_len)
            .sum()
    }

    /// The current value of `name` in the innermost frame only.
    fn own(&self, name: &str) -> Option<&'a Value> {
        self.chain.first().and_then(|m| m.get(name))
    }
}

impl Variables for VarScope<'_> {
    fn get(&self, name: &str) -> Option<&Value> {
        self.chain.iter().find_map(|m| m.get(name))
    }
}

fn json_len(v: &Value) -> usize {
    serde_json::to_vec(v).map_or(0, |b| b.len())
}

/// Checks an evaluated `Assign` object against AWS's limits and returns its entries.
pub fn checked_assignment(
    assigned: Value,
    scope: &VarScope<'_>,
) -> Result<Map<String, Value>, StatesError> {
    let Value::Object(map) = assigned else {
        return Err(StatesError::new(
            ErrorName::Runtime,
            "Assign must evaluate to an object",
        ));
    };
    let mut all = 0usize;
    let mut replaced = 0usize;
    for (name, value) in &map {
        let len = json_len(value);
        if len > MAX_VARIABLE_BYTES {
            return Err(StatesError::new(
                ErrorName::Runtime,
                format!(
                    "The value of variable '{name}' is {len} bytes, more than the {MAX_VARIABLE_BYTES} bytes a variable may hold"
                ),
            ));
        }
        all += len;
        replaced += scope.own(name).map_or(0, json_len);
    }
    if all > MAX_ASSIGN_BYTES {
        return Err(StatesError::new(
            ErrorName::Runtime,
            format!(
                "The variables of one Assign total {all} bytes, more than the {MAX_ASSIGN_BYTES} bytes allowed"
            ),
        ));
    }
    let total = scope.total_bytes() - replaced.min(scope.total_bytes()) + all;
    if total > MAX_TOTAL_BYTES {
        return Err(StatesError::new(
            ErrorName::Runtime,
            format!(
                "The stored variables would total {total} bytes, more than the {MAX_TOTAL_BYTES} bytes an execution may hold"
            ),
        ));
    }
    Ok(map)
}

/// Merges `later` into `earlier` (a Choice rule's Assign over the state's own).
pub fn merge(
    earlier: Option<Map<String, Value>>,
    later: Option<Map<String, Value>>,
) -> Option<Map<String, Value>> {
    match (earlier, later) {
        (Some(mut a), Some(b)) => {
            a.extend(b);
            Some(a)
        }
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::frame::{Cursor, Outcome, ParentLink};
    use serde_json::json;

    fn frame(parent: Option<FrameId>, vars: Value) -> Frame {
        let Value::Object(variables) = vars else {
            panic!("vars must be an object")
        };
        Frame {
            parent: parent.map(|frame| ParentLink { frame, index: 0 }),
            machine: 0,
            cursor: Cursor::Done(Outcome::Succeeded(Value::Null)),
            variables,
        }
    }

    #[test]
    fn inner_frames_read_outer_variables_and_shadow_nothing_outward() {
        let mut frames = HashMap::new();
        frames.insert(0, frame(None, json!({"a": 1, "b": 2})));
        frames.insert(1, frame(Some(0), json!({"b": 3})));
        let inner = VarScope::of(&frames, 1);
        assert_eq!(inner.get("a"), Some(&json!(1)));
        assert_eq!(inner.get("b"), Some(&json!(3)));
        let outer = VarScope::of(&frames, 0);
        assert_eq!(outer.get("b"), Some(&json!(2)));
        let mut seen = Vec::new();
        inner.for_each(|k, v| seen.push((k.to_owned(), v.clone())));
        assert_eq!(seen.last(), Some(&("b".to_owned(), json!(3))));
    }

    #[test]
    fn size_limits_are_enforced() {
        let frames = HashMap::new();
        let scope = VarScope::of(&frames, 0);
        let big = "x".repeat(MAX_VARIABLE_BYTES);
        let err = checked_assignment(json!({"v": big}), &scope).unwrap_err();
        assert_eq!(err.name, ErrorName::Runtime);
        let half = "x".repeat(MAX_ASSIGN_BYTES / 2);
        let err = checked_assignment(json!({"a": half, "b": half}), &scope).unwrap_err();
        assert!(err.cause.contains("one Assign"), "{}", err.cause);
        assert!(checked_assignment(json!({"a": 1}), &scope).is_ok());
    }

    #[test]
    fn variables_survive_frame_serialization() {
        let f = frame(None, json!({"count": 3}));
        let text = serde_json::to_string(&f).unwrap();
        let back: Frame = serde_json::from_str(&text).unwrap();
        assert_eq!(back.variables.get("count"), Some(&json!(3)));
        // Frames written before variables existed still load.
        let old = text.replace(",\"variables\":{\"count\":3}", "");
        assert_ne!(old, text);
        let back: Frame = serde_json::from_str(&old).unwrap();
        assert!(back.variables.is_empty());
    }

    #[test]
    fn rule_assign_wins_over_state_assign() {
        let mut a = Map::new();
        a.insert("t".into(), json!("low"));
        a.insert("k".into(), json!(1));
        let mut b = Map::new();
        b.insert("t".into(), json!("mid"));
        let m = merge(Some(a), Some(b)).unwrap();
        assert_eq!(m.get("t"), Some(&json!("mid")));
        assert_eq!(m.get("k"), Some(&json!(1)));
    }
}
