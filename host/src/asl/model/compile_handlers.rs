//! Raw mirror → model for what both query languages share in error handling: `Retry`
//! (retriers and their limits) and `Catch` (one walker; the fields a catcher sets after the
//! error differ by language: `ResultPath` in JSONPath, `Output` in JSONata), and the rule
//! that `States.ALL` comes last.

use serde_json::Value;

use super::*;
use crate::asl::raw::{RawCatcher, RawRetrier};

impl Compiler {
    /// A state's `Retry` list.
    pub(super) fn retriers(&mut self, s: &RawState, at: &str) -> Vec<Retrier> {
        let retry = s
            .retry
            .iter()
            .flatten()
            .enumerate()
            .filter_map(|(i, r)| self.retrier(r, &format!("{at}/Retry/{i}")))
            .collect();
        self.check_all_last(
            s.retry.iter().flatten().map(|r| &r.error_equals),
            s.retry.as_ref().map_or(0, Vec::len),
            &format!("{at}/Retry"),
        );
        retry
    }

    /// A state's `Catch` list.
    pub(super) fn catchers(
        &mut self,
        s: &RawState,
        at: &str,
        names: &Names,
        ql: QueryLanguage,
    ) -> Vec<Catcher> {
        let catch = s
            .catch
            .iter()
            .flatten()
            .enumerate()
            .filter_map(|(i, c)| self.catcher(c, &format!("{at}/Catch/{i}"), names, ql))
            .collect();
        self.check_all_last(
            s.catch.iter().flatten().map(|c| &c.error_equals),
            s.catch.as_ref().map_or(0, Vec::len),
            &format!("{at}/Catch"),
        );
        catch
    }

    fn catcher(
        &mut self,
        c: &RawCatcher,
        at: &str,
        names: &Names,
        ql: QueryLanguage,
    ) -> Option<Catcher> {
        if ql == QueryLanguage::JsonPath {
            for key in c.extra.keys() {
                self.err(
                    Code::SchemaValidationFailed,
                    format!("{at}/{}", pointer_segment(key)),
                    format!("unknown field {key:?}"),
                );
            }
            if c.output.is_some() {
                self.err(
                    Code::SchemaValidationFailed,
                    format!("{at}/Output"),
                    "Output is only allowed in JSONata states",
                );
            }
        }
        let errors = self.errors(c.error_equals.as_ref(), at);
        let next = self.rule_next(
            c.next.as_deref(),
            at,
            names,
            Code::InvalidErrorHandler,
            "a Catcher needs Next",
        )?;
        let result_path = match ql {
            QueryLanguage::JsonPath => {
                self.result_path(c.result_path.as_ref(), &format!("{at}/ResultPath"))
            }
            QueryLanguage::Jsonata => ResultPathSpec::Replace,
        };
        let assign = self.assign(c.assign.as_ref(), &format!("{at}/Assign"), ql);
        let output = match ql {
            QueryLanguage::JsonPath => None,
            QueryLanguage::Jsonata => {
                self.jsonata_payload(c.output.as_ref(), &format!("{at}/Output"))
            }
        };
        Some(Catcher {
            errors: errors?,
            next,
            result_path,
            assign,
            output,
        })
    }

    pub(super) fn errors(&mut self, names: Option<&Vec<String>>, at: &str) -> Option<ErrorMatcher> {
        let names = match names {
            Some(n) if !n.is_empty() => n,
            _ => {
                self.err(
                    Code::InvalidErrorHandler,
                    format!("{at}/ErrorEquals"),
                    "ErrorEquals needs at least one error name",
                );
                return None;
            }
        };
        let parsed: Vec<ErrorName> = names.iter().map(|n| ErrorName::parse(n)).collect();
        if parsed.contains(&ErrorName::All) && parsed.len() > 1 {
            self.err(
                Code::InvalidErrorHandler,
                format!("{at}/ErrorEquals"),
                "States.ALL must be the only name in its ErrorEquals",
            );
        }
        Some(ErrorMatcher { names: parsed })
    }

    pub(super) fn check_all_last<'a>(
        &mut self,
        lists: impl Iterator<Item = &'a Option<Vec<String>>>,
        len: usize,
        at: &str,
    ) {
        for (i, list) in lists.enumerate() {
            if i + 1 < len && list.iter().flatten().any(|n| n == "States.ALL") {
                self.err(
                    Code::InvalidErrorHandler,
                    format!("{at}/{i}/ErrorEquals"),
                    "an entry with States.ALL must be the last one",
                );
            }
        }
    }

    pub(super) fn retrier(&mut self, r: &RawRetrier, at: &str) -> Option<Retrier> {
        for key in r.extra.keys() {
            self.err(
                Code::SchemaValidationFailed,
                format!("{at}/{}", pointer_segment(key)),
                format!("unknown field {key:?}"),
            );
        }
        let errors = self.errors(r.error_equals.as_ref(), at)?;
        let mut num =
            |v: Option<&Value>, name: &str, default: f64, ok: &dyn Fn(f64) -> bool| match v {
                None => Some(default),
                Some(v) => match v.as_f64() {
                    Some(n) if ok(n) => Some(n),
                    _ => {
                        self.err(
                            Code::InvalidErrorHandler,
                            format!("{at}/{name}"),
                            format!("{name} is out of range: {v}"),
                        );
                        None
                    }
                },
            };
        let is_int = |n: f64| n.fract() == 0.0;
        let interval = num(r.interval_seconds.as_ref(), "IntervalSeconds", 1.0, &|n| {
            is_int(n) && n >= 1.0 && n <= MAX_WAIT_SECONDS as f64
        });
        let attempts = num(r.max_attempts.as_ref(), "MaxAttempts", 3.0, &|n| {
            is_int(n) && (0.0..=MAX_WAIT_SECONDS as f64).contains(&n)
        });
        let backoff = num(r.backoff_rate.as_ref(), "BackoffRate", 2.0, &|n| n >= 1.0);
        let max_delay = match &r.max_delay_seconds {
            None => Some(None),
            Some(_) => num(r.max_delay_seconds.as_ref(), "MaxDelaySeconds", 0.0, &|n| {
                is_int(n) && (1.0..=MAX_DELAY_SECONDS).contains(&n)
            })
            .map(Some),
        };
        let jitter = match r.jitter_strategy.as_deref() {
            None | Some("NONE") => Some(Jitter::None),
            Some("FULL") => Some(Jitter::Full),
            Some(other) => {
                self.err(
                    Code::InvalidErrorHandler,
                    format!("{at}/JitterStrategy"),
                    format!("JitterStrategy must be FULL or NONE, not {other:?}"),
                );
                None
            }
        };
        Some(Retrier {
            errors,
            interval_seconds: interval?,
            max_attempts: attempts? as u32,
            backoff_rate: backoff?,
            max_delay_seconds: max_delay?,
            jitter: jitter?,
        })
    }
}
