//! Raw mirror → model for JSONata states: every `{% %}` field becomes a [`JsonataTemplate`]
//! built from the expressions the validator parsed; number and timestamp fields are either a
//! checked literal or an expression ([`Param::Expr`]). JSONPath-only fields never reach this
//! point (validation rejects them in JSONata states).

use std::time::UNIX_EPOCH;

use serde_json::Value;

use super::super::jsonata::{JsonataTemplate, expression_text, sources_read_context};
use super::*;
use crate::asl::raw::{RawChoiceRule, RawState};

impl Compiler {
    /// The I/O fields of a JSONata state.
    pub(super) fn jsonata_io(&mut self, s: &RawState, at: &str) -> Io {
        Io {
            parameters: self.jsonata_payload(s.arguments.as_ref(), &format!("{at}/Arguments")),
            output: self.jsonata_payload(s.output.as_ref(), &format!("{at}/Output")),
            ..Io::default()
        }
    }

    /// The rules of a JSONata Choice state.
    pub(super) fn jsonata_rules(
        &mut self,
        s: &RawState,
        at: &str,
        names: &Names,
    ) -> Vec<ChoiceBranch> {
        s.choices
            .iter()
            .flatten()
            .enumerate()
            .filter_map(|(i, r)| self.jsonata_branch(r, &format!("{at}/Choices/{i}"), names))
            .collect()
    }

    pub(super) fn jsonata_map(&mut self, s: &RawState, at: &str) -> MapState {
        let common = self.map_common(s, at, QueryLanguage::Jsonata);
        let items = s
            .items
            .as_ref()
            .and_then(|v| self.jsonata_template(v, &format!("{at}/Items")));
        let item_selector =
            self.jsonata_payload(s.item_selector.as_ref(), &format!("{at}/ItemSelector"));
        MapState {
            items,
            item_selector,
            ..common
        }
    }

    pub(super) fn jsonata_wait(&mut self, s: &RawState, at: &str) -> StateKind {
        match (&s.seconds, &s.timestamp) {
            (Some(_), None) => {
                let p = self.jsonata_u64(s.seconds.as_ref(), at, "Seconds", 0);
                if let Some(Param::Value(n)) = &p
                    && *n > MAX_WAIT_SECONDS
                {
                    self.err(
                        Code::InvalidValue,
                        format!("{at}/Seconds"),
                        format!("Seconds must be an integer from 0 to {MAX_WAIT_SECONDS}"),
                    );
                }
                StateKind::Wait(WaitFor::Seconds(p.unwrap_or(Param::Value(0))))
            }
            (None, Some(ts)) => {
                if let Some(t) = ts.as_str().and_then(expression_text).map(|_| ts)
                    && let Some(tpl) = self.jsonata_template(t, &format!("{at}/Timestamp"))
                {
                    return StateKind::Wait(WaitFor::Timestamp(Param::Expr(tpl)));
                }
                match ts.as_str().and_then(parse_timestamp) {
                    Some(t) => StateKind::Wait(WaitFor::Timestamp(Param::Value(
                        timestamp_to_system(t.unix_nanos()),
                    ))),
                    None => {
                        self.err(
                            Code::InvalidValue,
                            format!("{at}/Timestamp"),
                            "Timestamp must be an RFC 3339 timestamp or a {% %} expression",
                        );
                        StateKind::Wait(WaitFor::Timestamp(Param::Value(UNIX_EPOCH)))
                    }
                }
            }
            _ => {
                self.err(
                    Code::FieldConflict,
                    at,
                    "a JSONata Wait state needs exactly one of Seconds and Timestamp",
                );
                StateKind::Wait(WaitFor::Seconds(Param::Value(0)))
            }
        }
    }

    fn jsonata_branch(
        &mut self,
        r: &RawChoiceRule,
        loc: &str,
        names: &Names,
    ) -> Option<ChoiceBranch> {
        let condition = match &r.condition {
            Some(c) => self.jsonata_template(c, &format!("{loc}/Condition")),
            None => {
                self.err(
                    Code::InvalidChoiceRule,
                    format!("{loc}/Condition"),
                    "a JSONata Choice rule needs a Condition",
                );
                None
            }
        };
        let next = self.rule_next(
            r.next.as_deref(),
            loc,
            names,
            Code::InvalidChoiceRule,
            "a Choice rule needs Next",
        )?;
        let assign = self.assign(
            r.assign.as_ref(),
            &format!("{loc}/Assign"),
            QueryLanguage::Jsonata,
        );
        let output = self.jsonata_payload(r.output.as_ref(), &format!("{loc}/Output"));
        Some(ChoiceBranch {
            rule: Rule::Condition(condition?),
            next,
            assign,
            output,
        })
    }

    /// Builds a field value from the expressions the validator parsed (never parsing again).
    fn jsonata_template(&mut self, v: &Value, at: &str) -> Option<JsonataTemplate> {
        match JsonataTemplate::from_parsed(v, at, &mut self.expressions) {
            Ok(t) => Some(t),
            // Validation reported why these did not parse.
            Err(_) if !self.expressions_complete => None,
            Err(missing) => {
                for pointer in missing {
                    self.err(
                        Code::InvalidJsonata,
                        pointer,
                        "internal error: this JSONata expression was not validated",
                    );
                }
                None
            }
        }
    }

    pub(super) fn jsonata_payload(&mut self, v: Option<&Value>, at: &str) -> Option<Payload> {
        self.jsonata_template(v?, at).map(Payload::Jsonata)
    }

    pub(super) fn jsonata_text(&mut self, v: Option<&str>, at: &str) -> Option<TextSource> {
        let v = v?;
        if expression_text(v).is_none() {
            return Some(TextSource::Literal(v.to_owned()));
        }
        self.jsonata_template(&Value::from(v), at)
            .map(TextSource::Expr)
    }

    /// A whole-number field that may also be an expression.
    pub(super) fn jsonata_u64(
        &mut self,
        v: Option<&Value>,
        at: &str,
        name: &str,
        min: u64,
    ) -> Option<Param<u64>> {
        let v = v?;
        if v.as_str().and_then(expression_text).is_some() {
            return self
                .jsonata_template(v, &format!("{at}/{name}"))
                .map(Param::Expr);
        }
        self.param_u64(Some(v), None, at, name, min, u64::MAX)
    }

    pub(super) fn jsonata_f64(
        &mut self,
        v: Option<&Value>,
        at: &str,
        name: &str,
        max: f64,
    ) -> Option<Param<f64>> {
        let v = v?;
        if v.as_str().and_then(expression_text).is_some() {
            return self
                .jsonata_template(v, &format!("{at}/{name}"))
                .map(Param::Expr);
        }
        self.param_f64(Some(v), None, at, name, max)
    }
}

/// Whether any expression of a JSONata state reads `$states.context`.
pub(super) fn reads_context(s: &State) -> bool {
    let mut src = Vec::new();
    payload_sources(&s.io.parameters, &mut src);
    payload_sources(&s.io.output, &mut src);
    payload_sources(&s.assign, &mut src);
    // Catchers evaluate in the state's context too.
    for c in &s.catch {
        payload_sources(&c.assign, &mut src);
        payload_sources(&c.output, &mut src);
    }
    match &s.kind {
        StateKind::Task(t) => {
            param_sources(t.timeout.as_ref(), &mut src);
            param_sources(t.heartbeat.as_ref(), &mut src);
        }
        StateKind::Choice { branches, .. } => {
            for b in branches {
                if let Rule::Condition(t) = &b.rule {
                    t.sources(&mut src);
                }
                payload_sources(&b.assign, &mut src);
                payload_sources(&b.output, &mut src);
            }
        }
        StateKind::Wait(WaitFor::Seconds(p)) => param_sources(Some(p), &mut src),
        StateKind::Wait(WaitFor::Timestamp(p)) => param_sources(Some(p), &mut src),
        StateKind::Fail { error, cause } => {
            for t in [error, cause].into_iter().flatten() {
                if let TextSource::Expr(t) = t {
                    t.sources(&mut src);
                }
            }
        }
        StateKind::Map(m) => {
            if let Some(t) = &m.items {
                t.sources(&mut src);
            }
            payload_sources(&m.item_selector, &mut src);
            param_sources(Some(&m.max_concurrency), &mut src);
            param_sources(m.tolerated_count.as_ref(), &mut src);
            param_sources(m.tolerated_percentage.as_ref(), &mut src);
            if let Some(b) = &m.batcher {
                param_sources(b.max_items.as_ref(), &mut src);
                param_sources(b.max_bytes.as_ref(), &mut src);
                payload_sources(&b.batch_input, &mut src);
            }
        }
        _ => {}
    }
    sources_read_context(&src)
}

fn payload_sources<'a>(p: &'a Option<Payload>, out: &mut Vec<&'a str>) {
    if let Some(Payload::Jsonata(t)) = p {
        t.sources(out);
    }
}

fn param_sources<'a, T>(p: Option<&'a Param<T>>, out: &mut Vec<&'a str>) {
    if let Some(Param::Expr(t)) = p {
        t.sources(out);
    }
}
