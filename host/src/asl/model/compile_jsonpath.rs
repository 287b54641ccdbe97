//! Raw mirror → model for JSONPath states: the I/O pipeline fields (`InputPath`,
//! `Parameters`, `ResultSelector`, `ResultPath`, `OutputPath`), each state type's own fields,
//! and the literal-or-`*Path` number, timestamp and text fields (JSONata states use the
//! literal forms too).

use std::time::UNIX_EPOCH;

use serde_json::Value;

use super::*;
use crate::asl::compare::parse_timestamp;
use crate::asl::intrinsics::Intrinsic;
use crate::asl::path::{JsonPath, ReferencePath};
use crate::asl::template::Template;
use crate::asl::validate::template_diagnostics;

impl Compiler {
    /// The I/O fields of a JSONPath state.
    pub(super) fn jsonpath_io(&mut self, s: &RawState, at: &str, type_name: &str) -> Io {
        let f = |field: &str| format!("{at}/{field}");
        Io {
            input_path: self.in_out(s.input_path.as_ref(), &f("InputPath")),
            parameters: if type_name == "Map" {
                None
            } else {
                self.template_payload(s.parameters.as_ref(), &f("Parameters"))
            },
            result_selector: self
                .template_payload(s.result_selector.as_ref(), &f("ResultSelector")),
            result_path: self.result_path(s.result_path.as_ref(), &f("ResultPath")),
            output_path: self.in_out(s.output_path.as_ref(), &f("OutputPath")),
            output: None,
        }
    }

    /// The rules of a JSONPath Choice state.
    pub(super) fn rules(&mut self, s: &RawState, at: &str, names: &Names) -> Vec<ChoiceBranch> {
        let mut branches = Vec::new();
        for (i, r) in s.choices.iter().flatten().enumerate() {
            let loc = format!("{at}/Choices/{i}");
            let rule = compile_rule(r, &loc, true, &mut self.out);
            let Some(next) = self.rule_next(
                r.next.as_deref(),
                &loc,
                names,
                Code::InvalidChoiceRule,
                "a Choice rule needs Next",
            ) else {
                continue;
            };
            let assign = self.assign(
                r.assign.as_ref(),
                &format!("{loc}/Assign"),
                QueryLanguage::JsonPath,
            );
            if let Some(rule) = rule {
                branches.push(ChoiceBranch {
                    rule,
                    next,
                    assign,
                    output: None,
                });
            }
        }
        branches
    }

    pub(super) fn wait(&mut self, s: &RawState, at: &str) -> StateKind {
        let set = s.seconds.is_some() as u8
            + s.seconds_path.is_some() as u8
            + s.timestamp.is_some() as u8
            + s.timestamp_path.is_some() as u8;
        if set != 1 {
            self.err(
                Code::FieldConflict,
                at,
                "a Wait state needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath",
            );
            return StateKind::Wait(WaitFor::Seconds(Param::Value(0)));
        }
        if s.seconds.is_some() || s.seconds_path.is_some() {
            let p = self.param_u64(
                s.seconds.as_ref(),
                s.seconds_path.as_deref(),
                at,
                "Seconds",
                0,
                MAX_WAIT_SECONDS,
            );
            return StateKind::Wait(WaitFor::Seconds(p.unwrap_or(Param::Value(0))));
        }
        if let Some(path) = &s.timestamp_path {
            let p = self.path(path, &format!("{at}/TimestampPath"));
            return StateKind::Wait(WaitFor::Timestamp(
                p.map(Param::Path).unwrap_or(Param::Value(UNIX_EPOCH)),
            ));
        }
        let text = s.timestamp.as_ref().and_then(Value::as_str);
        match text.and_then(parse_timestamp) {
            Some(ts) => StateKind::Wait(WaitFor::Timestamp(Param::Value(timestamp_to_system(
                ts.unix_nanos(),
            )))),
            None => {
                self.err(
                    Code::InvalidValue,
                    format!("{at}/Timestamp"),
                    "Timestamp must be an RFC 3339 timestamp such as 2026-01-01T00:00:00Z",
                );
                StateKind::Wait(WaitFor::Timestamp(Param::Value(UNIX_EPOCH)))
            }
        }
    }

    pub(super) fn map(&mut self, s: &RawState, at: &str) -> MapState {
        let f = |field: &str| format!("{at}/{field}");
        let common = self.map_common(s, at, QueryLanguage::JsonPath);
        let items_path = self.in_out(s.items_path.as_ref(), &f("ItemsPath"));
        if let InOutPath::Path(p) = &items_path
            && !p.is_reference_path()
        {
            self.err(
                Code::InvalidJsonPath,
                f("ItemsPath"),
                "ItemsPath must be a reference path (no wildcards, filters or slices)",
            );
        }
        let item_selector = match (&s.item_selector, &s.parameters) {
            (Some(_), Some(_)) => {
                self.err(
                    Code::FieldConflict,
                    f("Parameters"),
                    "a Map state cannot have both ItemSelector and Parameters",
                );
                None
            }
            (Some(v), None) => self.template_payload(Some(v), &f("ItemSelector")),
            (None, Some(v)) => self.template_payload(Some(v), &f("Parameters")),
            (None, None) => None,
        };
        MapState {
            items_path,
            item_selector,
            ..common
        }
    }

    pub(super) fn path(&mut self, src: &str, at: &str) -> Option<JsonPath> {
        match JsonPath::parse(src) {
            Ok(p) => Some(p),
            Err(e) => {
                self.err(Code::InvalidJsonPath, at, e.to_string());
                None
            }
        }
    }

    pub(super) fn in_out(&mut self, v: Option<&Value>, at: &str) -> InOutPath {
        match v {
            None => InOutPath::Identity,
            Some(Value::Null) => InOutPath::Null,
            Some(Value::String(s)) if s == "$" => InOutPath::Identity,
            Some(Value::String(s)) => self
                .path(s, at)
                .map(InOutPath::Path)
                .unwrap_or(InOutPath::Identity),
            Some(_) => {
                self.err(
                    Code::SchemaValidationFailed,
                    at,
                    "must be a path string or null",
                );
                InOutPath::Identity
            }
        }
    }

    pub(super) fn result_path(&mut self, v: Option<&Value>, at: &str) -> ResultPathSpec {
        match v {
            None => ResultPathSpec::Replace,
            Some(Value::Null) => ResultPathSpec::Discard,
            Some(Value::String(s)) if s == "$" => ResultPathSpec::Replace,
            Some(Value::String(s)) => match ReferencePath::parse(s) {
                Ok(p) => ResultPathSpec::Path(p),
                Err(e) => {
                    self.err(Code::InvalidJsonPath, at, e.to_string());
                    ResultPathSpec::Replace
                }
            },
            Some(_) => {
                self.err(
                    Code::SchemaValidationFailed,
                    at,
                    "ResultPath must be a reference path string or null",
                );
                ResultPathSpec::Replace
            }
        }
    }

    /// A JSONPath payload template (`Parameters`, `ResultSelector`, `Assign`, ...).
    pub(super) fn template_payload(&mut self, v: Option<&Value>, at: &str) -> Option<Payload> {
        let v = v?;
        match Template::compile(v) {
            Ok(t) => Some(Payload::Template(t)),
            Err(errors) => {
                self.out.extend(template_diagnostics(&errors, at));
                None
            }
        }
    }

    pub(super) fn positive_int(&mut self, v: &Value, at: &str) -> Option<u64> {
        match integral(v) {
            Some(n) if n >= 1 => Some(n),
            _ => {
                self.err(Code::InvalidValue, at, "must be a positive integer");
                None
            }
        }
    }

    /// A field and its `namePath` form, which exclude each other: `literal` checks the
    /// literal, `path` compiles the path (given the path's pointer).
    fn either<L, T>(
        &mut self,
        (literal, path): (Option<L>, Option<&str>),
        at: &str,
        name: &str,
        check: impl FnOnce(&mut Self, L) -> Option<T>,
        compile_path: impl FnOnce(&mut Self, &str, String) -> Option<T>,
    ) -> Option<T> {
        match (literal, path) {
            (Some(_), Some(_)) => {
                self.err(
                    Code::FieldConflict,
                    format!("{at}/{name}Path"),
                    format!("{name} and {name}Path cannot both be set"),
                );
                None
            }
            (Some(v), None) => check(self, v),
            (None, Some(p)) => compile_path(self, p, format!("{at}/{name}Path")),
            (None, None) => None,
        }
    }

    /// A literal-or-path integer field pair such as `Seconds`/`SecondsPath`.
    pub(super) fn param_u64(
        &mut self,
        literal: Option<&Value>,
        path: Option<&str>,
        at: &str,
        name: &str,
        min: u64,
        max: u64,
    ) -> Option<Param<u64>> {
        let check = |c: &mut Self, v: &Value| match integral(v) {
            Some(n) if (min..=max).contains(&n) => Some(Param::Value(n)),
            _ => {
                let range = if max == u64::MAX {
                    format!("an integer of at least {min}")
                } else {
                    format!("an integer from {min} to {max}")
                };
                c.err(
                    Code::InvalidValue,
                    format!("{at}/{name}"),
                    format!("{name} must be {range}"),
                );
                None
            }
        };
        self.either((literal, path), at, name, check, |c, p, loc| {
            c.path(p, &loc).map(Param::Path)
        })
    }

    /// A literal-or-path number field pair from 0 to `max`.
    pub(super) fn param_f64(
        &mut self,
        literal: Option<&Value>,
        path: Option<&str>,
        at: &str,
        name: &str,
        max: f64,
    ) -> Option<Param<f64>> {
        let check = |c: &mut Self, v: &Value| match v.as_f64() {
            Some(n) if (0.0..=max).contains(&n) => Some(Param::Value(n)),
            _ => {
                c.err(
                    Code::InvalidValue,
                    format!("{at}/{name}"),
                    format!("{name} must be a number from 0 to {max}"),
                );
                None
            }
        };
        self.either((literal, path), at, name, check, |c, p, loc| {
            c.path(p, &loc).map(Param::Path)
        })
    }

    /// `Error`/`ErrorPath` or `Cause`/`CausePath` of a Fail state (the path may be an
    /// intrinsic function).
    pub(super) fn text(
        &mut self,
        literal: Option<&String>,
        path: Option<&str>,
        at: &str,
        name: &str,
    ) -> Option<TextSource> {
        let check = |_: &mut Self, s: &String| Some(TextSource::Literal(s.clone()));
        self.either((literal, path), at, name, check, |c, p, loc| {
            if p.starts_with("States.") {
                match Intrinsic::parse(p) {
                    Ok(i) => Some(TextSource::Intrinsic(i)),
                    Err(e) => {
                        c.err(Code::InvalidJsonPath, loc, e.to_string());
                        None
                    }
                }
            } else {
                c.path(p, &loc).map(TextSource::Path)
            }
        })
    }
}

/// Whether a state reads `$$` anywhere in its own fields. Conservative: any `$$` in the
/// state's JSON outside its sub-machines counts.
pub(super) fn reads_context(s: &RawState, kind: &StateKind) -> bool {
    if let StateKind::Choice { branches, .. } = kind
        && branches.iter().any(|b| rule_reads_context(&b.rule))
    {
        return true;
    }
    let mut shallow = s.clone();
    shallow.branches = None;
    shallow.item_processor = None;
    shallow.iterator = None;
    serde_json::to_string(&shallow).is_ok_and(|text| text.contains("$$"))
}

/// An integer literal as the validator accepts it: `10` or `10.0` (JSON does not tell them
/// apart by value, and a field the validator accepts must compile).
fn integral(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| {
        v.as_f64()
            .filter(|x| x.fract() == 0.0 && *x >= 0.0 && *x <= u64::MAX as f64)
            .map(|x| x as u64)
    })
}
