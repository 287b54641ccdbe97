//! JSONPath as ASL uses it: compiled once (at validation time), evaluated many times
//! without re-parsing. Roots are the state input (`$`), the context object (`$$`) or a
//! JSONPath variable (`$name`); the caller picks the root value. Reference paths (for
//! ResultPath) live in [`reference`].

mod filter;
mod parse;
mod reference;
#[cfg(test)]
mod tests;

use serde_json::Value;

pub use reference::ReferencePath;

use filter::Filter;

/// Which value a path starts from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathRoot {
    /// `$`: the state's input (or whatever value the caller passes as `$`).
    Input,
    /// `$$`: the context object.
    Context,
    /// `$name`: a JSONPath variable (its name, without the `$`).
    Variable(String),
}

/// A malformed path. Positions are byte offsets into the path text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// Does not start with `$`.
    #[error("path {path:?} must start with '$'")]
    MissingRoot {
        /// The path text.
        path: String,
    },
    /// A syntax error.
    #[error("path {path:?}: {message} at position {position}")]
    Syntax {
        /// The path text.
        path: String,
        /// Byte offset of the problem.
        position: usize,
        /// What was wrong.
        message: String,
    },
    /// A reference path that uses more than field names and indexes.
    #[error(
        "reference path {path:?} may only use field names and array indexes, found {found} at position {position}"
    )]
    NotReference {
        /// The path text.
        path: String,
        /// Byte offset of the offending part.
        position: usize,
        /// What was found (e.g. "a wildcard").
        found: &'static str,
    },
    /// A reference path (ResultPath) that does not start from the state input.
    #[error("reference path {path:?} must start with '$' (the state input), not '{root}'")]
    ReferenceRoot {
        /// The path text.
        path: String,
        /// The root that was used.
        root: String,
    },
}

/// One name-or-index step of a definite path.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Step {
    Name(Box<str>),
    Index(i64),
}

impl Step {
    /// The child this step selects, if present.
    fn get<'v>(&self, value: &'v Value) -> Option<&'v Value> {
        match (self, value) {
            (Step::Name(name), Value::Object(map)) => object_get(map, name),
            (Step::Index(index), Value::Array(items)) => {
                items.get(resolve_index(*index, items.len())?)
            }
            _ => None,
        }
    }
}

/// Maps up to this size are searched linearly: comparing a few short keys is cheaper
/// than SipHash-ing the key for the map's hash table.
const LINEAR_LOOKUP_MAX: usize = 8;

/// `map.get(name)`, linear for small maps.
pub(crate) fn object_get<'v>(
    map: &'v serde_json::Map<String, Value>,
    name: &str,
) -> Option<&'v Value> {
    if map.len() <= LINEAR_LOOKUP_MAX {
        map.iter()
            .find(|(key, _)| key.as_str() == name)
            .map(|(_, value)| value)
    } else {
        map.get(name)
    }
}

/// `map.get_mut(name)`, linear for small maps.
pub(crate) fn object_get_mut<'v>(
    map: &'v mut serde_json::Map<String, Value>,
    name: &str,
) -> Option<&'v mut Value> {
    if map.len() <= LINEAR_LOOKUP_MAX {
        map.iter_mut()
            .find(|(key, _)| key.as_str() == name)
            .map(|(_, value)| value)
    } else {
        map.get_mut(name)
    }
}

/// Turns a possibly negative index into a position (`-1` is the last element).
fn resolve_index(index: i64, len: usize) -> Option<usize> {
    if index >= 0 {
        usize::try_from(index).ok().filter(|i| *i < len)
    } else {
        let back = usize::try_from(index.unsigned_abs()).ok()?;
        len.checked_sub(back)
    }
}

/// An array slice `[start:end:step]` with Python semantics (negative bounds count from the end).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Slice {
    start: Option<i64>,
    end: Option<i64>,
    step: Option<i64>,
}

/// What one bracket or dot selects at a node.
#[derive(Clone, Debug)]
pub(crate) enum Selector {
    Step(Step),
    Wildcard,
    Slice(Slice),
    Union(Vec<Step>),
    Filter(Box<Filter>),
}

/// A child (`.x`, `[..]`) or descendant (`..x`, `..[..]`) segment.
#[derive(Clone, Debug)]
pub(crate) enum Segment {
    Child(Selector),
    Descendant(Selector),
}

/// A compiled JSONPath.
#[derive(Clone, Debug)]
pub struct JsonPath {
    src: Box<str>,
    root: PathRoot,
    segments: Vec<Segment>,
    /// Byte offset where each segment starts, for error messages.
    positions: Vec<usize>,
    definite: bool,
}

/// What a path selected. A definite path yields `One` or `Nothing`; an indefinite path
/// (wildcard, filter, slice, union, descendant) yields `Many`, possibly empty.
#[derive(Clone, Debug, PartialEq)]
pub enum Selected<'v> {
    /// A definite path matched nothing.
    Nothing,
    /// A definite path matched this node.
    One(&'v Value),
    /// An indefinite path's matches, in document order.
    Many(Vec<&'v Value>),
}

impl Selected<'_> {
    /// The selection as an owned value: `Many` becomes a JSON array (AWS returns an array
    /// for wildcards, filters and slices); `Nothing` is `None`.
    pub fn to_value(&self) -> Option<Value> {
        match self {
            Selected::Nothing => None,
            Selected::One(value) => Some((*value).clone()),
            Selected::Many(values) => Some(Value::Array(
                values.iter().map(|value| (*value).clone()).collect(),
            )),
        }
    }
}

impl JsonPath {
    /// Compiles a path such as `$`, `$.a.b[0]`, `$['x y']`, `$.a[*].b`, `$..name`,
    /// `$.a[1:3]`, `$.a[-1:]`, `$.a[?(@.price > 10)]`, `$.a[0,2]`, `$$.Execution.Id`, `$var.x`.
    pub fn parse(src: &str) -> Result<JsonPath, PathError> {
        let (root, segments, positions) = parse::parse_path(src)?;
        let definite = segments
            .iter()
            .all(|segment| matches!(segment, Segment::Child(Selector::Step(_))));
        Ok(JsonPath {
            src: src.into(),
            root,
            segments,
            positions,
            definite,
        })
    }

    /// Where the path starts.
    pub fn root(&self) -> &PathRoot {
        &self.root
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.src
    }

    /// True when the path uses only field names and indexes (AWS's reference-path
    /// syntax: no `@ .. , : ? *`).
    pub fn is_reference_path(&self) -> bool {
        self.definite
    }

    /// True when the path can match at most one node.
    pub fn is_definite(&self) -> bool {
        self.definite
    }

    /// The first part that makes this path not a reference path: its offset and a name.
    pub(crate) fn first_non_reference(&self) -> Option<(usize, &'static str)> {
        self.segments
            .iter()
            .zip(&self.positions)
            .find_map(|(segment, position)| {
                let found = match segment {
                    Segment::Child(Selector::Step(_)) => return None,
                    Segment::Descendant(_) => "a descendant segment (..)",
                    Segment::Child(Selector::Wildcard) => "a wildcard (*)",
                    Segment::Child(Selector::Slice(_)) => "a slice (:)",
                    Segment::Child(Selector::Union(_)) => "a union (,)",
                    Segment::Child(Selector::Filter(_)) => "a filter (?)",
                };
                Some((*position, found))
            })
    }

    /// The path in Jayway's normalized bracket form, as AWS quotes it in causes such as
    /// "Invalid path '$.foo' : No results for path: $['foo']". Indefinite parts are kept
    /// as written.
    pub fn normalized(&self) -> String {
        let mut out = match &self.root {
            PathRoot::Input => "$".to_owned(),
            PathRoot::Context => "$$".to_owned(),
            PathRoot::Variable(name) => format!("${name}"),
        };
        for (index, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Child(Selector::Step(Step::Name(name))) => {
                    out.push_str("['");
                    out.push_str(&name.replace('\\', "\\\\").replace('\'', "\\'"));
                    out.push_str("']");
                }
                Segment::Child(Selector::Step(Step::Index(i))) => {
                    out.push_str(&format!("[{i}]"));
                }
                _ => {
                    let start = self.positions[index];
                    let end = self
                        .positions
                        .get(index + 1)
                        .copied()
                        .unwrap_or(self.src.len());
                    let text = &self.src[start..end];
                    // `$.[?(...)]` is the bracket alone.
                    out.push_str(
                        text.strip_prefix('.')
                            .filter(|t| t.starts_with('['))
                            .unwrap_or(text),
                    );
                }
            }
        }
        out
    }

    /// The steps of a definite path (`None` for an indefinite one).
    pub(crate) fn steps(&self) -> Option<Vec<Step>> {
        self.segments
            .iter()
            .map(|segment| match segment {
                Segment::Child(Selector::Step(step)) => Some(step.clone()),
                _ => None,
            })
            .collect()
    }

    /// Evaluates the path against `root` (the value its [`PathRoot`] names; the caller picks it).
    pub fn select<'v>(&self, root: &'v Value) -> Selected<'v> {
        if self.definite {
            let mut node = root;
            for segment in &self.segments {
                let Segment::Child(Selector::Step(step)) = segment else {
                    unreachable!("definite paths hold only steps")
                };
                match step.get(node) {
                    Some(child) => node = child,
                    None => return Selected::Nothing,
                }
            }
            return Selected::One(node);
        }
        let mut nodes = vec![root];
        let mut next = Vec::new();
        for segment in &self.segments {
            next.clear();
            for node in &nodes {
                match segment {
                    Segment::Child(selector) => apply(selector, node, root, &mut next),
                    Segment::Descendant(selector) => descend(selector, node, root, &mut next),
                }
            }
            std::mem::swap(&mut nodes, &mut next);
        }
        Selected::Many(nodes)
    }
}

impl std::fmt::Display for JsonPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.src)
    }
}

impl PartialEq for JsonPath {
    fn eq(&self, other: &Self) -> bool {
        self.src == other.src
    }
}

/// Applies one selector to `node`, pushing matches in document order.
fn apply<'v>(selector: &Selector, node: &'v Value, root: &'v Value, out: &mut Vec<&'v Value>) {
    match selector {
        Selector::Step(step) => out.extend(step.get(node)),
        Selector::Wildcard => match node {
            Value::Object(map) => out.extend(map.values()),
            Value::Array(items) => out.extend(items),
            _ => {}
        },
        Selector::Slice(slice) => {
            if let Value::Array(items) = node {
                slice_into(slice, items, out);
            }
        }
        Selector::Union(steps) => {
            for step in steps {
                out.extend(step.get(node));
            }
        }
        Selector::Filter(filter) => match node {
            Value::Array(items) => {
                out.extend(items.iter().filter(|item| filter.matches(item, root)));
            }
            // Like Jayway (which AWS uses), a filter on an object tests the object itself.
            Value::Object(_) if filter.matches(node, root) => out.push(node),
            _ => {}
        },
    }
}

/// `..selector`: applies the selector at `node` and at every node below it, pre-order.
fn descend<'v>(selector: &Selector, node: &'v Value, root: &'v Value, out: &mut Vec<&'v Value>) {
    apply(selector, node, root, out);
    match node {
        Value::Object(map) => map.values().for_each(|v| descend(selector, v, root, out)),
        Value::Array(items) => items.iter().for_each(|v| descend(selector, v, root, out)),
        _ => {}
    }
}

fn slice_into<'v>(slice: &Slice, items: &'v [Value], out: &mut Vec<&'v Value>) {
    let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
    let step = slice.step.unwrap_or(1);
    let clamp = |bound: i64, low: i64, high: i64| {
        let bound = if bound < 0 { bound + len } else { bound };
        bound.clamp(low, high)
    };
    if step > 0 {
        let start = slice.start.map_or(0, |s| clamp(s, 0, len));
        let end = slice.end.map_or(len, |e| clamp(e, 0, len));
        let mut i = start;
        while i < end {
            out.push(&items[i as usize]);
            i += step;
        }
    } else if step < 0 {
        let start = slice.start.map_or(len - 1, |s| clamp(s, -1, len - 1));
        let end = slice.end.map_or(-1, |e| clamp(e, -1, len - 1));
        let mut i = start;
        while i > end {
            out.push(&items[i as usize]);
            i += step;
        }
    }
}

/// Longest JSON text quoted in an error cause (AWS caps causes at 32,768 characters).
const MAX_QUOTED_JSON: usize = 32_768 - 512;

/// Compact JSON text of `value` for an error cause, cut (on a character boundary) when long.
pub(crate) fn truncated_json(value: &Value) -> String {
    let mut text = value.to_string();
    if text.len() > MAX_QUOTED_JSON {
        let mut cut = MAX_QUOTED_JSON;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str("...");
    }
    text
}
