//! Map and Parallel rules: a Map has exactly one of `ItemProcessor`/`Iterator`, at most one
//! of `ItemSelector`/`Parameters`, numbers in range (`MaxConcurrency`, `ToleratedFailure*`,
//! `ItemBatcher` limits) and never both a number and its `*Path` form; `ProcessorConfig` and
//! `ItemBatcher` hold only their own fields; `ItemReader`/`ResultWriter` name a `Resource`
//! URI; JSONata `Items` is an array or an expression; a Parallel has at least one branch.
//! (Each branch's or processor's own `StartAt`/`States` are checked like any machine by the
//! structural rules.)

use serde_json::{Map, Value};

use super::common::{
    NumberSpec, check_number, exclusive, is_jsonata_expr, is_uri, state_type, typed_states,
};
use super::{Code, Diagnostic, MachineCtx, StateCtx, pointer_segment};
use crate::asl::raw::{RawItemBatcher, RawStateMachine};

/// The largest `MaxInputBytesPerBatch` AWS accepts (256 KiB).
const MAX_BATCH_BYTES: u64 = 262_144;

pub(super) fn check(machines: &[MachineCtx<'_>], out: &mut Vec<Diagnostic>) {
    for s in typed_states(machines) {
        match state_type(&s) {
            "Map" => map(&s, out),
            "Parallel" => parallel(&s, out),
            _ => {}
        }
    }
}

fn parallel(s: &StateCtx<'_>, out: &mut Vec<Diagnostic>) {
    match &s.state.branches {
        None => out.push(Diagnostic::error(
            Code::SchemaValidationFailed,
            s.at("Branches"),
            "a Parallel state needs Branches",
        )),
        Some(b) if b.is_empty() => out.push(Diagnostic::error(
            Code::SchemaValidationFailed,
            s.at("Branches"),
            "a Parallel state needs at least one branch",
        )),
        Some(_) => {}
    }
}

fn map(s: &StateCtx<'_>, out: &mut Vec<Diagnostic>) {
    let st = s.state;
    match (&st.item_processor, &st.iterator) {
        (None, None) => out.push(Diagnostic::error(
            Code::SchemaValidationFailed,
            s.location.clone(),
            "a Map state needs an ItemProcessor (or the legacy Iterator)",
        )),
        (Some(_), Some(_)) => out.push(Diagnostic::error(
            Code::FieldConflict,
            s.at("Iterator"),
            "a Map state cannot have both ItemProcessor and Iterator",
        )),
        (Some(p), None) => processor_config(p, &s.at("ItemProcessor"), out),
        (None, Some(p)) => processor_config(p, &s.at("Iterator"), out),
    }
    distributed_only(s, out);
    if st.item_selector.is_some() && st.parameters.is_some() {
        out.push(Diagnostic::error(
            Code::FieldConflict,
            s.at("Parameters"),
            "a Map state cannot have both ItemSelector and its legacy form Parameters",
        ));
    }
    if let Some(items) = &st.items
        && s.is_jsonata()
        && !items.is_array()
        && !is_jsonata_expr(items)
    {
        out.push(Diagnostic::error(
            Code::SchemaValidationFailed,
            s.at("Items"),
            "Items must be an array or a JSONata expression {% ... %}",
        ));
    }
    let numbers = [
        (
            "MaxConcurrency",
            &st.max_concurrency,
            st.max_concurrency_path.is_some(),
            NumberSpec::int(0, u64::MAX),
        ),
        (
            "ToleratedFailureCount",
            &st.tolerated_failure_count,
            st.tolerated_failure_count_path.is_some(),
            NumberSpec::int(0, u64::MAX),
        ),
        (
            "ToleratedFailurePercentage",
            &st.tolerated_failure_percentage,
            st.tolerated_failure_percentage_path.is_some(),
            NumberSpec {
                min: 0.0,
                max: 100.0,
                integer: false,
            },
        ),
    ];
    for (name, literal, path, spec) in numbers {
        exclusive(literal.is_some(), path, &s.location, name, out);
        if let Some(v) = literal {
            check_number(
                v,
                s.is_jsonata(),
                name,
                s.at(name),
                spec,
                Code::InvalidValue,
                out,
            );
        }
    }
    if let Some(b) = &st.item_batcher {
        item_batcher(s, b, out);
    }
    for (name, value) in [
        ("ItemReader", &st.item_reader),
        ("ResultWriter", &st.result_writer),
    ] {
        if let Some(v) = value {
            resource_config(v, &s.at(name), name, out);
        }
    }
}

/// `ItemReader` / `ResultWriter`: an object naming a `Resource` URI.
fn resource_config(v: &Value, at: &str, name: &str, out: &mut Vec<Diagnostic>) {
    let Value::Object(fields) = v else {
        out.push(Diagnostic::error(
            Code::SchemaValidationFailed,
            at,
            format!("{name} must be an object, not {v}"),
        ));
        return;
    };
    match fields.get("Resource") {
        None => out.push(Diagnostic::error(
            Code::SchemaValidationFailed,
            format!("{at}/Resource"),
            format!("{name} needs a Resource"),
        )),
        // AWS reads and writes these in Amazon S3, which this engine does not reach.
        Some(Value::String(r)) if is_uri(r) => out.push(Diagnostic::warning(
            Code::Unsupported,
            format!("{at}/Resource"),
            format!(
                "{name} '{r}' needs Amazon S3, which this engine does not reach: reaching this \
                 Map fails with States.{name}Failed. Hint: {}",
                s3_hint(name)
            ),
        )),
        Some(other) => out.push(Diagnostic::error(
            Code::InvalidValue,
            format!("{at}/Resource"),
            format!("{name} Resource must be a URI string, not {other}"),
        )),
    }
}

/// What to do instead of an `ItemReader` / `ResultWriter` (validation and the runtime
/// failure say the same).
pub(crate) fn s3_hint(field: &str) -> &'static str {
    if field == "ItemReader" {
        "pass the items in the state input (ItemsPath, or Items in JSONata)"
    } else {
        "leave ResultWriter out: the Map's results are its output"
    }
}

/// Fields AWS documents for the Distributed Map only (`ProcessorConfig.Mode`
/// `DISTRIBUTED`). Whether AWS rejects them in an inline Map is not documented, and this
/// engine runs them inline too, so they are warnings, not errors.
fn distributed_only(s: &StateCtx<'_>, out: &mut Vec<Diagnostic>) {
    let st = s.state;
    let processor = st.item_processor.as_ref().or(st.iterator.as_ref());
    let distributed = processor
        .and_then(|p| p.processor_config.as_ref())
        .and_then(|c| c.get("Mode"))
        .is_some_and(|m| m == "DISTRIBUTED");
    if distributed {
        return;
    }
    let fields = [
        ("ItemReader", st.item_reader.is_some()),
        ("ItemBatcher", st.item_batcher.is_some()),
        ("ResultWriter", st.result_writer.is_some()),
        (
            "ToleratedFailureCount",
            st.tolerated_failure_count.is_some(),
        ),
        (
            "ToleratedFailureCountPath",
            st.tolerated_failure_count_path.is_some(),
        ),
        (
            "ToleratedFailurePercentage",
            st.tolerated_failure_percentage.is_some(),
        ),
        (
            "ToleratedFailurePercentagePath",
            st.tolerated_failure_percentage_path.is_some(),
        ),
        ("Label", st.label.is_some()),
    ];
    for (field, present) in fields {
        if present {
            out.push(Diagnostic::warning(
                Code::SchemaValidationFailed,
                s.at(field),
                format!(
                    "{field} is a Distributed Map field (ItemProcessor.ProcessorConfig.Mode \"DISTRIBUTED\"); this Map is inline"
                ),
            ));
        }
    }
}

fn item_batcher(s: &StateCtx<'_>, b: &RawItemBatcher, out: &mut Vec<Diagnostic>) {
    let at = s.at("ItemBatcher");
    unknown_fields(&b.extra, &at, "ItemBatcher", out);
    if b.max_items_per_batch.is_none()
        && b.max_items_per_batch_path.is_none()
        && b.max_input_bytes_per_batch.is_none()
        && b.max_input_bytes_per_batch_path.is_none()
    {
        out.push(Diagnostic::error(
            Code::SchemaValidationFailed,
            at.clone(),
            "an ItemBatcher needs MaxItemsPerBatch, MaxInputBytesPerBatch or one of their Path forms",
        ));
    }
    let numbers = [
        (
            "MaxItemsPerBatch",
            &b.max_items_per_batch,
            b.max_items_per_batch_path.is_some(),
            NumberSpec::int(1, u64::MAX),
        ),
        (
            "MaxInputBytesPerBatch",
            &b.max_input_bytes_per_batch,
            b.max_input_bytes_per_batch_path.is_some(),
            NumberSpec::int(1, MAX_BATCH_BYTES),
        ),
    ];
    for (name, literal, path, spec) in numbers {
        exclusive(literal.is_some(), path, &at, name, out);
        if path && s.is_jsonata() {
            out.push(Diagnostic::error(
                Code::SchemaValidationFailed,
                format!("{at}/{name}Path"),
                format!(
                    "{name}Path is not allowed in a JSONata state; use an expression in {name}"
                ),
            ));
        }
        if let Some(v) = literal {
            let loc = format!("{at}/{name}");
            check_number(v, s.is_jsonata(), name, loc, spec, Code::InvalidValue, out);
        }
    }
}

/// `ProcessorConfig`: `Mode` INLINE or DISTRIBUTED, `ExecutionType` STANDARD or EXPRESS.
fn processor_config(p: &RawStateMachine, at: &str, out: &mut Vec<Diagnostic>) {
    let Some(config) = &p.processor_config else {
        return;
    };
    let at = format!("{at}/ProcessorConfig");
    let Value::Object(fields) = config else {
        out.push(Diagnostic::error(
            Code::SchemaValidationFailed,
            at,
            "ProcessorConfig must be an object",
        ));
        return;
    };
    if fields.get("Mode").is_some_and(|m| m == "DISTRIBUTED")
        && !fields.contains_key("ExecutionType")
    {
        out.push(Diagnostic::error(
            Code::SchemaValidationFailed,
            format!("{at}/ExecutionType"),
            "a DISTRIBUTED processor needs ExecutionType (STANDARD or EXPRESS)",
        ));
    }
    for (key, value) in fields {
        let allowed: &[&str] = match key.as_str() {
            "Mode" => &["INLINE", "DISTRIBUTED"],
            "ExecutionType" => &["STANDARD", "EXPRESS"],
            _ => {
                out.push(Diagnostic::error(
                    Code::SchemaValidationFailed,
                    format!("{at}/{}", pointer_segment(key)),
                    format!("unknown field {key:?} in ProcessorConfig"),
                ));
                continue;
            }
        };
        if !value.as_str().is_some_and(|v| allowed.contains(&v)) {
            out.push(Diagnostic::error(
                Code::InvalidValue,
                format!("{at}/{key}"),
                format!("{key} must be one of {allowed:?}, not {value}"),
            ));
        }
    }
}

fn unknown_fields(extra: &Map<String, Value>, at: &str, what: &str, out: &mut Vec<Diagnostic>) {
    for key in extra.keys() {
        out.push(Diagnostic::error(
            Code::SchemaValidationFailed,
            format!("{at}/{}", pointer_segment(key)),
            format!("unknown field {key:?} in {what}"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::testing::{
        assert_error, assert_valid, diagnostics, one_jsonata_state, one_state,
    };
    use super::super::{Code, Severity};

    const PROCESSOR: &str = r#""ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"EXPRESS"},
        "StartAt":"E","States":{"E":{"Type":"Pass","End":true}}}"#;

    fn map(fields: &str) -> String {
        one_state(&format!(
            r#"{{"Type":"Map","Next":"Done",{PROCESSOR},{fields}}}"#
        ))
    }

    #[test]
    fn a_full_map_is_valid() {
        assert_valid(&map(
            r#""ItemsPath":"$.xs","MaxConcurrency":2,"ToleratedFailureCount":1,"ToleratedFailurePercentage":50.5,
               "ItemBatcher":{"MaxItemsPerBatch":2,"MaxInputBytesPerBatch":1024,"BatchInput":{"a":1}},
               "ItemSelector":{"v.$":"$$.Map.Item.Value"}"#,
        ));
    }

    #[test]
    fn map_needs_one_processor() {
        assert_error(
            &one_state(r#"{"Type":"Map","Next":"Done"}"#),
            Code::SchemaValidationFailed,
            "/States/S",
        );
        let both = map(r#""Iterator":{"StartAt":"I","States":{"I":{"Type":"Succeed"}}}"#);
        assert_error(&both, Code::FieldConflict, "/States/S/Iterator");
    }

    #[test]
    fn item_selector_and_parameters_conflict() {
        let def = map(r#""ItemSelector":{},"Parameters":{}"#);
        assert_error(&def, Code::FieldConflict, "/States/S/Parameters");
    }

    #[test]
    fn numbers_and_their_path_forms() {
        let def = map(
            r#""MaxConcurrency":2,"MaxConcurrencyPath":"$.n","ToleratedFailureCount":1,"ToleratedFailureCountPath":"$.c",
               "ToleratedFailurePercentage":1,"ToleratedFailurePercentagePath":"$.p""#,
        );
        for f in [
            "MaxConcurrencyPath",
            "ToleratedFailureCountPath",
            "ToleratedFailurePercentagePath",
        ] {
            assert_error(&def, Code::FieldConflict, &format!("/States/S/{f}"));
        }
        let ranges = map(
            r#""MaxConcurrency":-1,"ToleratedFailureCount":1.5,"ToleratedFailurePercentage":101"#,
        );
        for f in [
            "MaxConcurrency",
            "ToleratedFailureCount",
            "ToleratedFailurePercentage",
        ] {
            assert_error(&ranges, Code::InvalidValue, &format!("/States/S/{f}"));
        }
    }

    #[test]
    fn item_batcher_rules() {
        let def = map(
            r#""ItemBatcher":{"MaxItemsPerBatch":2,"MaxItemsPerBatchPath":"$.n","MaxInputBytesPerBatch":300000,"Size":1}"#,
        );
        assert_error(
            &def,
            Code::FieldConflict,
            "/States/S/ItemBatcher/MaxItemsPerBatchPath",
        );
        assert_error(
            &def,
            Code::InvalidValue,
            "/States/S/ItemBatcher/MaxInputBytesPerBatch",
        );
        assert_error(
            &def,
            Code::SchemaValidationFailed,
            "/States/S/ItemBatcher/Size",
        );
        let zero = map(r#""ItemBatcher":{"MaxItemsPerBatch":0}"#);
        assert_error(
            &zero,
            Code::InvalidValue,
            "/States/S/ItemBatcher/MaxItemsPerBatch",
        );
        let jsonata = one_jsonata_state(&format!(
            r#"{{"Type":"Map","Next":"Done",{PROCESSOR},"ItemBatcher":{{"MaxItemsPerBatchPath":"$.n"}}}}"#
        ));
        assert_error(
            &jsonata,
            Code::SchemaValidationFailed,
            "/States/S/ItemBatcher/MaxItemsPerBatchPath",
        );
    }

    #[test]
    fn distributed_fields_in_an_inline_map_are_warnings() {
        let inline = one_state(
            r#"{"Type":"Map","Next":"Done","ToleratedFailureCount":1,"ItemBatcher":{"MaxItemsPerBatch":2},"Label":"x",
                "ItemProcessor":{"ProcessorConfig":{"Mode":"INLINE"},"StartAt":"E","States":{"E":{"Type":"Succeed"}}}}"#,
        );
        assert_valid(&inline);
        let warned = |def: &str, field: &str| {
            diagnostics(def).iter().any(|d| {
                d.severity == Severity::Warning
                    && d.code == Code::SchemaValidationFailed
                    && d.location == format!("/States/S/{field}")
            })
        };
        for f in ["ToleratedFailureCount", "ItemBatcher", "Label"] {
            assert!(warned(&inline, f), "{f}");
        }
        let no_config = one_state(
            r#"{"Type":"Map","Next":"Done","ToleratedFailurePercentagePath":"$.p",
                "ItemProcessor":{"StartAt":"E","States":{"E":{"Type":"Succeed"}}}}"#,
        );
        assert!(warned(&no_config, "ToleratedFailurePercentagePath"));
        assert!(!warned(
            &map(r#""ToleratedFailureCount":1"#),
            "ToleratedFailureCount"
        ));
    }

    #[test]
    fn distributed_mode_needs_an_execution_type() {
        let def = one_state(
            r#"{"Type":"Map","Next":"Done","ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED"},
                "StartAt":"E","States":{"E":{"Type":"Succeed"}}}}"#,
        );
        assert_error(
            &def,
            Code::SchemaValidationFailed,
            "/States/S/ItemProcessor/ProcessorConfig/ExecutionType",
        );
    }

    #[test]
    fn item_batcher_needs_a_limit() {
        let def = map(r#""ItemBatcher":{"BatchInput":{"a":1}}"#);
        assert_error(&def, Code::SchemaValidationFailed, "/States/S/ItemBatcher");
        assert_valid(&map(r#""ItemBatcher":{"MaxInputBytesPerBatchPath":"$.b"}"#));
    }

    #[test]
    fn reader_and_writer_name_a_resource() {
        let def = map(r#""ItemReader":{"ReaderConfig":{}},"ResultWriter":{"Resource":"bucket"}"#);
        assert_error(
            &def,
            Code::SchemaValidationFailed,
            "/States/S/ItemReader/Resource",
        );
        assert_error(&def, Code::InvalidValue, "/States/S/ResultWriter/Resource");
        let shape = map(r#""ItemReader":"s3""#);
        assert_error(&shape, Code::SchemaValidationFailed, "/States/S/ItemReader");
    }

    #[test]
    fn processor_config_values() {
        let def = one_state(
            r#"{"Type":"Map","Next":"Done","ItemProcessor":{"ProcessorConfig":{"Mode":"FAST","ExecutionType":"EXPRESS","X":1},
                "StartAt":"E","States":{"E":{"Type":"Pass","End":true}}}}"#,
        );
        assert_error(
            &def,
            Code::InvalidValue,
            "/States/S/ItemProcessor/ProcessorConfig/Mode",
        );
        assert_error(
            &def,
            Code::SchemaValidationFailed,
            "/States/S/ItemProcessor/ProcessorConfig/X",
        );
    }

    #[test]
    fn jsonata_items_and_numbers() {
        let ok = one_jsonata_state(&format!(
            r#"{{"Type":"Map","Next":"Done",{PROCESSOR},"Items":[1,"{{% $x %}}"],"MaxConcurrency":"{{% $n %}}"}}"#
        ));
        assert_valid(&ok);
        let bad = one_jsonata_state(&format!(
            r#"{{"Type":"Map","Next":"Done",{PROCESSOR},"Items":{{"a":1}}}}"#
        ));
        assert_error(&bad, Code::SchemaValidationFailed, "/States/S/Items");
    }

    #[test]
    fn a_map_has_no_arguments() {
        // The spec: "Task and Parallel States MAY have Arguments"; a Map shapes its items with
        // ItemSelector instead.
        let def = one_jsonata_state(&format!(
            r#"{{"Type":"Map","Next":"Done",{PROCESSOR},"Arguments":{{"a":1}}}}"#
        ));
        assert_error(&def, Code::SchemaValidationFailed, "/States/S/Arguments");
    }

    #[test]
    fn parallel_needs_branches() {
        assert_error(
            &one_state(r#"{"Type":"Parallel","Next":"Done"}"#),
            Code::SchemaValidationFailed,
            "/States/S/Branches",
        );
        assert_error(
            &one_state(r#"{"Type":"Parallel","Next":"Done","Branches":[]}"#),
            Code::SchemaValidationFailed,
            "/States/S/Branches",
        );
    }
}
