//! The update shape `$merge([$var.field, {...}])`: an object with some keys set. A caller that
//! owns the value of `$var.field` can evaluate only the object constructor
//! ([`Expression::merge_update`]) and apply it in place ([`merge_objects`]) instead of having
//! the evaluator copy every kept entry into a new object. The result is exactly `$merge`'s.

use serde_json::{Map, Value as Json};

use crate::ast::{Kind, Node};
use crate::value::array_index;
use crate::{Environment, Error, Expression};

/// Where an expression of the update shape reads its base object: `$variable.field`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeBase {
    /// The variable's name (without `$`).
    pub variable: String,
    /// The field of the variable.
    pub field: String,
}

/// A node without any of the annotations that would change what it evaluates to.
fn plain(n: &Node) -> bool {
    !n.keep_array
        && n.predicate.is_empty()
        && n.stages.is_empty()
        && n.group.is_none()
        && n.focus.is_none()
        && n.index.is_none()
        && !n.tuple
        && n.ancestor.is_none()
}

/// The base path of `$merge([$variable.field, {...}])` (checked once, at parse time).
pub(crate) fn shape(root: &Node) -> Option<MergeBase> {
    let Kind::Call {
        procedure,
        args,
        partial: false,
    } = &root.kind
    else {
        return None;
    };
    if !plain(root) || !matches!(&procedure.kind, Kind::Variable(n) if n == "merge") {
        return None;
    }
    let [array] = args.as_slice() else {
        return None;
    };
    let Kind::ArrayCons(items) = &array.kind else {
        return None;
    };
    let [base, update] = items.as_slice() else {
        return None;
    };
    if !plain(array) || !plain(update) || !matches!(update.kind, Kind::ObjectCons(_)) {
        return None;
    }
    let Kind::Path {
        steps,
        keep_singleton: false,
    } = &base.kind
    else {
        return None;
    };
    let [var, field] = steps.as_slice() else {
        return None;
    };
    match (&var.kind, &field.kind) {
        (Kind::Variable(v), Kind::Name(f)) if !v.is_empty() && plain(var) && plain(field) => {
            Some(MergeBase {
                variable: v.clone(),
                field: f.clone(),
            })
        }
        _ => None,
    }
}

/// The object constructor of an expression that [`shape`] accepted.
fn update_node(root: &Node) -> Option<&Node> {
    let Kind::Call { args, .. } = &root.kind else {
        return None;
    };
    let Kind::ArrayCons(items) = &args.first()?.kind else {
        return None;
    };
    items.get(1)
}

impl Expression {
    /// The base of an expression of the shape `$merge([$variable.field, {...}])`.
    pub fn merge_base(&self) -> Option<&MergeBase> {
        self.merge.as_ref()
    }

    /// For an expression of the update shape whose base object the caller holds: the entries
    /// of the object its constructor builds, in order, with distinct keys (`Ok(None)` when
    /// `$merge` is rebound in `env`, so the caller must evaluate the whole expression). The
    /// expression's result is then [`merge_objects`]`(base, update)` exactly, when the base
    /// is an object.
    pub fn merge_update(
        &self,
        env: &Environment<'_>,
    ) -> Result<Option<Vec<(String, Json)>>, Error> {
        // The shape was checked at parse time; only the constructor is fetched here.
        let Some(node) = self.merge.as_ref().and_then(|_| update_node(&self.root)) else {
            return Ok(None);
        };
        if env.lookup("merge").is_some() {
            return Ok(None);
        }
        crate::eval::run_entries(self, node, env).map_err(|e| e.finish().in_chars_of(&self.source))
    }
}

/// `$merge([base, update])` of an object and an update's entries (distinct keys, as
/// [`Expression::merge_update`] gives them), reusing `base`: each object's entries in
/// JavaScript's property order (array-index keys first, ascending), a key set again keeping
/// its place, as the evaluator's `$merge` does.
pub fn merge_objects(mut base: Map<String, Json>, mut update: Vec<(String, Json)>) -> Json {
    // As the evaluator's `$merge`: each object's entries in property order, inserted in turn.
    if base.keys().any(|k| array_index(k).is_some()) {
        let mut entries: Vec<(String, Json)> = base.into_iter().collect();
        js_order(&mut entries);
        base = entries.into_iter().collect();
    }
    js_order(&mut update);
    for (k, v) in update {
        base.insert(k, v);
    }
    Json::Object(base)
}

/// Puts entries in JavaScript's property order (a stable sort: other keys keep their order).
fn js_order(entries: &mut [(String, Json)]) {
    if entries.iter().any(|(k, _)| array_index(k).is_some()) {
        entries.sort_by_key(|(k, _)| array_index(k).map_or(u64::MAX, u64::from));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The update path gives exactly what evaluating the whole expression gives.
    fn same_as_evaluator(expr: &str, input: Json) {
        let e = Expression::parse(expr).unwrap();
        let base = e.merge_base().expect("update shape").clone();
        assert_eq!(
            (base.variable.as_str(), base.field.as_str()),
            ("s", "input")
        );
        let record = json!({ "input": input });
        let mut env = Environment::new();
        env.bind("s", &record);
        let whole = e.evaluate(None, &env).unwrap().unwrap();
        let update = e.merge_update(&env).unwrap().unwrap();
        let Json::Object(base) = input else {
            panic!("object expected");
        };
        let fast = merge_objects(base, update);
        assert_eq!(whole, fast, "{expr}");
        // Key order too (serde_json's map keeps insertion order).
        assert_eq!(whole.to_string(), fast.to_string(), "{expr}");
    }

    #[test]
    fn update_shape_matches_merge() {
        let e = "$merge([$s.input, {'last': {'n': $s.input.n, 'prev': $s.input.last.step}}])";
        same_as_evaluator(e, json!({"n": 1, "last": {"step": 3}, "z": [1.5, "x"]}));
        same_as_evaluator(e, json!({"z": 1}));
        same_as_evaluator(
            "$merge([$s.input, {'a': $s.input.nope, 'b': 2}])",
            json!({"a": 1}),
        );
        same_as_evaluator(
            "$merge([$s.input, {'2': 'x', 'b': 2, '1': 0}])",
            json!({"b": 1, "a": 0}),
        );
        same_as_evaluator(
            "$merge([$s.input, {'k': 'x'}])",
            json!({"b": 1, "10": 0, "3": 1}),
        );
        same_as_evaluator(
            "$merge([$s.input, {$s.input.k: 1, 'a': 2}])",
            json!({"k": "q", "a": 0}),
        );
        same_as_evaluator(
            "$merge([$s.input, {'a': {'b': $s.input.a, 'c': {'d': [$s.input.z, 'x']}}, 'z': 'y'}])",
            json!({"z": 1, "a": {"b": 2, "q": 3}}),
        );
        same_as_evaluator("$merge([$s.input, {}])", json!({"3": 1, "b": 2}));
    }

    #[test]
    fn other_shapes_and_rebound_merge_are_not_updates() {
        for other in [
            "$merge([$s.input, {'a': 1}, {'b': 2}])",
            "$merge([$s.input.x, {'a': 1}])",
            "$merge([$s.input[0], {'a': 1}])",
            "$merge([$s, {'a': 1}])",
            "$merge([{'a': 1}, $s.input])",
            "$merge([$s.input, {'a': 1}])[0]",
            "$merge([$s.input, $s.input])",
            "$merge([$s.input, {'a': 1}]).a",
        ] {
            assert!(
                Expression::parse(other).unwrap().merge_base().is_none(),
                "{other}"
            );
        }
        let e = Expression::parse("$merge([$s.input, {'a': 1}])").unwrap();
        let mut env = Environment::new();
        env.bind_owned("merge", json!(1));
        assert_eq!(e.merge_update(&env).unwrap(), None);
    }

    #[test]
    fn update_errors_are_the_expressions() {
        let record = json!({ "input": {"s": "x", "n": 1} });
        let mut env = Environment::new();
        env.bind("s", &record);
        for expr in [
            "$merge([$s.input, {'a': 1 / 0}])",
            // D1001 comes only after the whole evaluation: the later T2001 wins.
            "$merge([$s.input, {'a': {'b': 1 / 0}, 'c': $s.input.s + 1}])",
            "$merge([$s.input, {'a': $s.input.n, 'b': {'c': $s.input.s - 1}}])",
            // Computed keys: T1003, D1009 from the general path.
            "$merge([$s.input, {$s.input.n: 1}])",
            "$merge([$s.input, {'x': 1, $s.input.s: 2}])",
        ] {
            let e = Expression::parse(expr).unwrap();
            let whole = e.evaluate(None, &env).unwrap_err();
            let update = e.merge_update(&env).unwrap_err();
            assert_eq!(
                (whole.code, whole.position, &whole.value, &whole.message),
                (update.code, update.position, &update.value, &update.message),
                "{expr}"
            );
        }
    }
}
