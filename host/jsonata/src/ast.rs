//! The processed syntax tree the evaluator walks: paths flattened into steps, predicates
//! attached as stages, focus/index/parent bindings resolved (jsonata-js's `processAST`).

use std::sync::Arc;

use crate::signature::Signature;

/// Binary operators (other than path, predicate, bind and apply, which have their own kinds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Concat,
    Range,
    In,
    And,
    Or,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
            BinOp::Eq => "=",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Concat => "&",
            BinOp::Range => "..",
            BinOp::In => "in",
            BinOp::And => "and",
            BinOp::Or => "or",
        }
    }
}

/// A stage applied to a step's results: a filter predicate or an index binding `#$i`.
#[derive(Debug)]
pub(crate) enum Stage {
    Filter(Node),
    Index(String),
}

/// One sort term of `^(...)`.
#[derive(Debug)]
pub(crate) struct SortTerm {
    pub descending: bool,
    pub expr: Node,
}

/// A lambda definition (shared by every closure made from it).
#[derive(Debug)]
pub(crate) struct LambdaDef {
    pub params: Vec<String>,
    pub signature: Option<Signature>,
    pub body: Node,
}

/// A node kind.
#[derive(Debug)]
pub(crate) enum Kind {
    Path {
        steps: Vec<Node>,
        keep_singleton: bool,
    },
    Binary {
        op: BinOp,
        lhs: Box<Node>,
        rhs: Box<Node>,
    },
    Negate(Box<Node>),
    ArrayCons(Vec<Node>),
    ObjectCons(Pairs),
    Name(String),
    Str(Arc<str>),
    Num(f64),
    Bool(bool),
    Null,
    Wildcard,
    Descendant,
    /// `%`: reads the ancestor bound under this slot's label.
    Parent(usize),
    Condition {
        cond: Box<Node>,
        then: Box<Node>,
        otherwise: Option<Box<Node>>,
    },
    /// `a ?: b`: `a` if it is truthy, else `b`.
    Elvis(Box<Node>, Box<Node>),
    /// `a ?? b`: `a` if it is defined, else `b`.
    Coalesce(Box<Node>, Box<Node>),
    Block(Vec<Node>),
    Bind {
        name: String,
        value: Box<Node>,
    },
    Regex(Arc<fancy_regex::Regex>),
    Call {
        procedure: Box<Node>,
        args: Vec<Node>,
        partial: bool,
    },
    Variable(String),
    Lambda {
        def: Arc<LambdaDef>,
        thunk: bool,
    },
    Apply {
        lhs: Box<Node>,
        rhs: Box<Node>,
    },
    Transform {
        pattern: Box<Node>,
        update: Box<Node>,
        delete: Option<Box<Node>>,
    },
    Sort(Vec<SortTerm>),
    /// `?` in a partial application's argument list.
    Placeholder,
}

/// A group-by / object constructor attached to a step: `step{key: value}`.
#[derive(Debug)]
pub(crate) struct Group {
    pub pairs: Pairs,
    pub pos: usize,
}

/// The key/value pairs of an object constructor, and whether its keys are distinct string
/// literals (`{"a": x, "b": y}`, the commonest form: no key evaluation or duplicate check is
/// needed, and none can fail), found once when the tree is built.
#[derive(Debug)]
pub(crate) struct Pairs {
    list: Vec<(Node, Node)>,
    pub literal_keys: bool,
}

impl Pairs {
    pub fn new(list: Vec<(Node, Node)>) -> Self {
        let mut seen = rustc_hash::FxHashSet::default();
        let literal_keys = list.iter().all(|(k, _)| match &k.kind {
            Kind::Str(key) => k.predicate.is_empty() && k.group.is_none() && seen.insert(key),
            _ => false,
        });
        Pairs { list, literal_keys }
    }
}

impl std::ops::Deref for Pairs {
    type Target = [(Node, Node)];
    fn deref(&self) -> &Self::Target {
        &self.list
    }
}

/// A node with the annotations `processAST` adds.
#[derive(Debug)]
pub(crate) struct Node {
    pub kind: Kind,
    pub pos: usize,
    pub keep_array: bool,
    /// Predicates on a non-path expression (`(expr)[p]`).
    pub predicate: Vec<Stage>,
    /// Predicates and index bindings on a path step.
    pub stages: Vec<Stage>,
    pub group: Option<Box<Group>>,
    /// `@$v`: bind the step's items to `$v` and keep the previous focus.
    pub focus: Option<String>,
    /// `#$i`: bind the position to `$i`.
    pub index: Option<String>,
    /// The step makes a tuple stream.
    pub tuple: bool,
    /// The slot under whose label this step's input is kept for a `%`.
    pub ancestor: Option<usize>,
    /// Parent slots still looking for their step (parse-time bookkeeping).
    pub seeking: Vec<usize>,
    /// Built by an array constructor (never flattened).
    pub consarray: bool,
}

impl Node {
    pub fn new(kind: Kind, pos: usize) -> Node {
        Node {
            kind,
            pos,
            keep_array: false,
            predicate: Vec::new(),
            stages: Vec::new(),
            group: None,
            focus: None,
            index: None,
            tuple: false,
            ancestor: None,
            seeking: Vec::new(),
            consarray: false,
        }
    }
}
