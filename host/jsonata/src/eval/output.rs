//! The result as JSON. An object constructor whose keys are distinct string literals
//! (`{"a": x, "b": {"c": y}}`, the commonest Step Functions output) over a single input is
//! built straight into `serde_json` maps, without the intermediate JSONata object and its
//! copy, and literal values go straight in; anything else is evaluated and then converted.
//! Both give the same JSON, key order and errors: values in the same order, undefined ones
//! dropped, and a number JSON cannot represent (`1/0`) reported as D1001 only once the whole
//! evaluation succeeded.

use std::rc::Rc;

use serde_json::{Map, Value as Json};

use crate::Error;
use crate::ast::{Kind, Node, Pairs};
use crate::value::{Value, num_to_json};

use super::Ctx;
use super::frame::Frame;

impl<'a> Ctx<'a> {
    /// Evaluates `node` to JSON (`None` = undefined).
    pub(super) fn eval_output(
        &self,
        node: &'a Node,
        input: &Value<'a>,
        env: &Rc<Frame<'a>>,
    ) -> Result<Option<Json>, Box<Error>> {
        let mut infinite = false;
        let out = self.eval_json(node, input, env, &mut infinite)?;
        if infinite {
            return Err(infinity());
        }
        Ok(out)
    }

    /// Evaluates `node` to JSON; sets `infinite` where the converted value held a number JSON
    /// cannot represent (it became `null`).
    fn eval_json(
        &self,
        node: &'a Node,
        input: &Value<'a>,
        env: &Rc<Frame<'a>>,
        infinite: &mut bool,
    ) -> Result<Option<Json>, Box<Error>> {
        if let Some(pairs) = direct_object(node, input) {
            let mut map = Map::with_capacity(pairs.len());
            self.construct(pairs, input, env, infinite, |k, v| {
                map.insert(k, v);
            })?;
            return Ok(Some(Json::Object(map)));
        }
        if let Some(j) = literal(node) {
            // One evaluation step, as `eval` of the literal would count it.
            return self.guarded(|| Ok(Some(j)));
        }
        let v = self.eval(node, input, env)?;
        if crate::functions::has_infinity(&v) {
            *infinite = true;
        }
        Ok(v.to_json())
    }

    /// The entries of a direct object constructor, in order, handed to `sink`; one evaluation
    /// step, as `eval` of the constructor would count it.
    fn construct(
        &self,
        pairs: &'a [(Node, Node)],
        input: &Value<'a>,
        env: &Rc<Frame<'a>>,
        infinite: &mut bool,
        mut sink: impl FnMut(String, Json),
    ) -> Result<(), Box<Error>> {
        self.guarded(|| {
            for (key, value) in pairs {
                let Kind::Str(key) = &key.kind else {
                    unreachable!("literal keys");
                };
                if let Some(v) = self.eval_json(value, input, env, infinite)? {
                    sink(String::from(&**key), v);
                }
            }
            Ok(())
        })
    }

    /// Evaluates an object constructor to its entries in order (`None` when it gives no
    /// object), without building a map when its keys are literals.
    pub(super) fn eval_entries(
        &self,
        node: &'a Node,
        input: &Value<'a>,
        env: &Rc<Frame<'a>>,
    ) -> Result<Option<Entries>, Box<Error>> {
        let Some(pairs) = direct_object(node, input) else {
            return Ok(match self.eval_output(node, input, env)? {
                Some(Json::Object(map)) => Some(map.into_iter().collect()),
                _ => None,
            });
        };
        let mut infinite = false;
        let mut entries = Vec::with_capacity(pairs.len());
        self.construct(pairs, input, env, &mut infinite, |k, v| {
            entries.push((k, v))
        })?;
        if infinite {
            return Err(infinity());
        }
        Ok(Some(entries))
    }
}

/// An object's entries in order, with distinct keys.
pub(crate) type Entries = Vec<(String, Json)>;

/// A number JSON cannot represent in the result.
fn infinity() -> Box<Error> {
    Error::new("D1001").with_value("Infinity").into()
}

/// The pairs of an object constructor that `eval` would build with its literal-key path
/// (`construct_one`) and hand back unchanged: distinct literal keys, nothing attached to the
/// node, and an input that is neither an array nor a tuple stream (those group).
fn direct_object<'a>(node: &'a Node, input: &Value<'_>) -> Option<&'a Pairs> {
    let Kind::ObjectCons(pairs) = &node.kind else {
        return None;
    };
    (plain(node) && !input.is_array() && !input.is_tuple_stream() && pairs.literal_keys)
        .then_some(pairs)
}

/// A literal string, finite number, boolean or null with nothing attached, as JSON (what
/// `eval` and the conversion give for it).
fn literal(node: &Node) -> Option<Json> {
    let json = match &node.kind {
        Kind::Str(s) => Json::String(String::from(&**s)),
        Kind::Num(n) if n.is_finite() => num_to_json(*n),
        Kind::Bool(b) => Json::Bool(*b),
        Kind::Null => Json::Null,
        _ => return None,
    };
    plain(node).then_some(json)
}

/// A node without predicates, stages, grouping, bindings or flags: `eval` gives what its kind
/// alone gives.
fn plain(node: &Node) -> bool {
    node.predicate.is_empty()
        && node.stages.is_empty()
        && node.group.is_none()
        && !node.keep_array
        && !node.tuple
        && node.focus.is_none()
        && node.index.is_none()
        && node.ancestor.is_none()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::{Environment, Expression};

    /// The result of `expr` through the direct path, and through the general one (the same
    /// constructor wrapped in a one-item array and taken out again, which `eval` builds as a
    /// JSONata object and converts; its error positions are one character further on).
    fn both(expr: &str, input: &serde_json::Value) -> [Result<Option<String>, String>; 2] {
        let general = format!("[{expr}][0]");
        [(expr, 0), (general.as_str(), 1)].map(|(e, shift)| {
            let parsed = Expression::parse(e).unwrap();
            let mut env = Environment::new();
            env.bind("v", input);
            parsed
                .evaluate(Some(input), &env)
                // Compared as text: key order counts.
                .map(|j| j.map(|j| j.to_string()))
                .map_err(|err| {
                    let position = err.position.map(|p| p.saturating_sub(shift));
                    format!("{} {position:?} {:?} {}", err.code, err.value, err.message)
                })
        })
    }

    #[test]
    fn direct_objects_match_the_general_path() {
        let input = json!({"n": 2, "s": "x", "a": [1, 2], "o": {"k": 1}, "z": null});
        // Many keys (the literal-key check is not limited to small constructors).
        let wide: Vec<String> = (0..40).map(|i| format!("'k{i}': n + {i}")).collect();
        let wide = format!("{{{}}}", wide.join(", "));
        for expr in [
            wide.as_str(),
            "{'a': n, 'b': 'lit', 'c': 1.5, 'd': {'e': s, 'f': {'g': a}}}",
            // Undefined values are dropped, at every level.
            "{'a': nope, 'b': {'c': nope}, 'd': {}}",
            "{'2': 1, 'b': 2, '1': 3}",
            "{'a': o, 'b': a[0], 'c': [a, 'x'], 'd': z, 'e': $v.o.k}",
            "{'a': function($x){$x}, 'b': $sum(a), 'c': n > 1 ? 'y' : 'n'}",
            // Literals, plain and with something attached.
            "{'a': 'x', 'b': -1, 'c': 1e300, 'd': true, 'e': null, 'f': 0.1, 'g': 2.0}",
            "{'a': 'x'[0], 'b': 1[0], 'c': 'y'[1], 'd': [1][], 'e': 'x'[]}",
            "'x'",
            "1.5",
            "null",
            // Falls back: computed keys, grouping, predicates.
            "{s: 1, 'b': 2}",
            "{'a': 1}[0]",
            "a{'k': $}",
        ] {
            let [direct, general] = both(expr, &input);
            assert_eq!(direct, general, "{expr}");
            assert!(direct.is_ok(), "{expr}: {direct:?}");
        }
        // An array input groups: the general path either way.
        let items = json!([{"n": 1, "s": "a"}, {"n": 2, "s": "b"}]);
        let [direct, general] = both("{'a': n}", &items);
        assert_eq!(direct, general);
        assert_eq!(direct, Ok(Some(r#"{"a":[1,2]}"#.to_string())));
    }

    #[test]
    fn direct_object_errors_match_the_general_path() {
        let input = json!({"n": 2, "s": "x"});
        let wide: Vec<String> = (0..40).map(|i| format!("'k{}': {i}", i % 39)).collect();
        let wide = format!("{{{}}}", wide.join(", "));
        for expr in [
            wide.as_str(),
            // D1001 only after the whole evaluation: the later T2001 wins in both.
            "{'a': 1/0, 'b': s + 1}",
            "{'a': {'b': 1/0}, 'c': n}",
            "{'a': [1/0]}",
            "{'a': s + 1, 'b': n + 's'}",
            "{'a': {'b': {'c': $error('no')}}}",
            // T1003 and D1009 from the general path.
            "{n: 1}",
            "{'a': 1, 'a': 2}",
            "{'k': 1, s: 2, ('k' & ''): 3}",
        ] {
            let [direct, general] = both(expr, &input);
            assert_eq!(direct, general, "{expr}");
            assert!(direct.is_err(), "{expr}: {direct:?}");
        }
    }

    #[test]
    fn direct_objects_keep_the_depth_limit() {
        let mut expr = String::from("1");
        for _ in 0..40 {
            expr = format!("{{'a': {expr}}}");
        }
        let e = Expression::parse(&expr).unwrap();
        let mut env = Environment::new();
        env.set_max_depth(40);
        assert_eq!(e.evaluate(None, &env).unwrap_err().code, "U1001");
        env.set_max_depth(41);
        assert!(e.evaluate(None, &env).unwrap().is_some());
    }
}
