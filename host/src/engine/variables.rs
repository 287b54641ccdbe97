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

// The three limits are AWS's (developer guide, "Passing data between states with variables";
// service quotas). The error name for exceeding them is not stated in the stored copies of
// that page we could consult, so they fail the state with `States.Runtime`, like the other
// limits this engine enforces without a documented name.

/// The largest serialized size of one variable's value (AWS: 256 KiB).
pub const MAX_VARIABLE_BYTES: usize = 256 * 1024;
/// The largest serialized size of everything one `Assign` sets (AWS: 256 KiB).
pub const MAX_ASSIGN_BYTES: usize = 256 * 1024;
/// The largest serialized size of all stored variables of an execution (AWS: 10 MiB).
pub const MAX_TOTAL_BYTES: usize = 10 * 1024 * 1024;

/// The variables a frame can read: its own first, then its ancestors'.
#[derive(Debug, Default)]
pub struct VarScope<'a> {
    /// The frame's own variables.
    own: Option<&'a Map<String, Value>>,
    /// The enclosing frames' variables, innermost first (empty, so never allocated, for
    /// the top-level frame, the common case).
    outer: Vec<&'a Map<String, Value>>,
}

impl<'a> VarScope<'a> {
    /// The scope of frame `id`, following parent links.
    pub fn of<S: std::hash::BuildHasher>(
        frames: &'a HashMap<FrameId, Frame, S>,
        id: FrameId,
    ) -> Self {
        let Some(frame) = frames.get(&id) else {
            return VarScope::default();
        };
        let mut outer = Vec::new();
        let mut next = frame.parent.map(|p| p.frame);
        while let Some(fid) = next {
            let Some(f) = frames.get(&fid) else { break };
            outer.push(&f.variables);
            next = f.parent.map(|p| p.frame);
        }
        VarScope {
            own: Some(&frame.variables),
            outer,
        }
    }

    /// Every visible scope, innermost first.
    fn chain(&self) -> impl Iterator<Item = &'a Map<String, Value>> + '_ {
        self.own.into_iter().chain(self.outer.iter().copied())
    }

    /// Serialized size of all visible variables (for the execution-wide limit).
    fn total_bytes(&self) -> usize {
        self.chain().flat_map(|m| m.values()).map(json_len).sum()
    }

    /// The current value of `name` in the innermost frame only.
    fn own(&self, name: &str) -> Option<&'a Value> {
        self.own.and_then(|m| m.get(name))
    }
}

impl Variables for VarScope<'_> {
    fn get(&self, name: &str) -> Option<&Value> {
        self.chain().find_map(|m| m.get(name))
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
            failed_at: None,
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
        assert_eq!(inner.get("nope"), None);
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
    fn the_execution_wide_total_is_enforced() {
        // 40 variables of 250 KiB already visible (39 outer, 1 own): one more 250 KiB
        // variable would take the execution past 10 MiB.
        let chunk = "x".repeat(250 * 1024);
        let mut outer = Map::new();
        for i in 0..39 {
            outer.insert(format!("v{i}"), json!(chunk));
        }
        let mut frames = HashMap::new();
        frames.insert(0, frame(None, Value::Object(outer)));
        frames.insert(1, frame(Some(0), json!({"mine": chunk})));
        let scope = VarScope::of(&frames, 1);
        let err = checked_assignment(json!({"more": chunk}), &scope).unwrap_err();
        assert_eq!(err.name, ErrorName::Runtime);
        assert!(err.cause.contains("an execution may hold"), "{}", err.cause);
        // Replacing a variable of the frame's own does not count twice.
        assert!(checked_assignment(json!({"mine": chunk}), &scope).is_ok());
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
