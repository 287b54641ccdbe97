//! Runtime error causes and context-object fields as AWS reports them. Every expected text
//! below was recorded against real AWS; each test names the recording it follows, from
//! localstack/localstack `tests/aws/services/stepfunctions/` (abbreviated `LS/`), or the AWS
//! page.

use std::sync::Arc;

use serde_json::{Value, json};

use super::ports::ExecutionStatus;
use super::testkit::{ScriptedTasks, outcome, run, run_with};

/// AWS's prefix for a runtime error raised while `state` executes.
fn in_state(state: &str, entered: u64, detail: &str) -> String {
    format!(
        "An error occurred while executing the state '{state}' (entered at the event id #{entered}). {detail}"
    )
}

fn failure(def: Value, input: Value) -> (String, String) {
    run(&def, input).expect_err("the execution fails")
}

/// LS/v2/scenarios/test_base_scenarios.snapshot.json, test_invalid_jsonpath
/// [ST.INVALID_JSONPATH_IN_INPUTPATH]: "Invalid path '$.NoSuchInputPath' : No results for
/// path: $['NoSuchInputPath']", behind the prefix naming the state's Entered event.
#[test]
fn input_path_selecting_nothing_names_the_bracket_path_behind_the_prefix() {
    let def = json!({"StartAt": "S", "States": {
        "S": {"Type": "Pass", "InputPath": "$.NoSuchInputPath", "End": true}}});
    assert_eq!(
        failure(def, json!({})),
        (
            "States.Runtime".into(),
            in_state(
                "S",
                2,
                "Invalid path '$.NoSuchInputPath' : No results for path: $['NoSuchInputPath']"
            )
        )
    );
}

/// LS/v2/scenarios/test_base_scenarios.snapshot.json, test_invalid_jsonpath
/// [ST.INVALID_JSONPATH_IN_OUTPUTPATH]; the event id is the failing state's own Entered event
/// (#4 after a first Pass state's Entered #2 and Exited #3).
#[test]
fn output_path_selecting_nothing_counts_the_entered_event() {
    let def = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "B"},
        "B": {"Type": "Pass", "OutputPath": "$.a.NoSuchOutputPath", "End": true}}});
    assert_eq!(
        failure(def, json!({"a": {}})).1,
        in_state(
            "B",
            4,
            "Invalid path '$.a.NoSuchOutputPath' : No results for path: $['a']['NoSuchOutputPath']"
        )
    );
}

/// The prefix is part of the error wherever it goes: a Catcher's `Cause` has it too. (AWS's
/// recordings show the prefix on every error a state raises; none shows a Catcher's output,
/// so this follows the one error value AWS's docs describe being handed to Catch:
/// https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html.)
/// `States.Runtime` itself cannot be caught, so an intrinsic failure is used.
#[test]
fn a_caught_runtime_error_keeps_the_prefix_in_its_cause() {
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "wasm:r",
              "ResultSelector": {"x.$": "States.StringToJson($.s)"},
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Done"}], "End": true},
        "Done": {"Type": "Pass", "End": true}}});
    let tasks = Arc::new(ScriptedTasks::default().on("wasm:r", vec![Ok(json!({"s": "{oops"}))]));
    let (f, _) = run_with(&def, json!({}), Some(tasks));
    let out = outcome(&f).unwrap();
    assert_eq!(out["Error"], "States.IntrinsicFailure");
    let cause = out["Cause"].as_str().unwrap();
    assert!(
        cause.starts_with(
            "An error occurred while executing the state 'T' (entered at the event id #2). "
        ),
        "{cause}"
    );
}

/// A task's own error keeps its cause: AWS adds no prefix to what the task said (recorded:
/// LS/v2/error_handling/test_task_lambda.snapshot.json, "This failed to due an Exception.").
#[test]
fn a_task_failure_keeps_its_own_cause() {
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "wasm:r", "End": true}}});
    let tasks = Arc::new(ScriptedTasks::default().on("wasm:r", vec![Err(("E", "why"))]));
    let (f, _) = run_with(&def, json!({}), Some(tasks));
    assert_eq!(outcome(&f).unwrap_err(), ("E".into(), "why".into()));
}

fn wait_failure(field: &str, path: &str, input: Value) -> (String, String) {
    let def = json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", field: path, "End": true}}});
    failure(def, input)
}

/// LS/v2/base/test_wait.snapshot.json (test_base_wait_seconds_path) and LS/v2/base/
/// test_base.snapshot.json (wait_seconds_path.json5).
#[test]
fn seconds_path_causes() {
    let cases = [
        (
            json!({}),
            "The SecondsPath parameter does not reference an input value: $.input.waitSeconds",
        ),
        (
            json!({"input": {"waitSeconds": 1.5}}),
            "The SecondsPath parameter cannot be parsed as a long value: $.input.waitSeconds == 1.5",
        ),
        (
            json!({"input": {"waitSeconds": -1.5}}),
            "The SecondsPath parameter cannot be parsed as a long value: $.input.waitSeconds == -1.5",
        ),
        (
            json!({"input": {"waitSeconds": -1}}),
            "The SecondsPath parameter references a negative value: $.input.waitSeconds == -1",
        ),
    ];
    for (input, detail) in cases {
        assert_eq!(
            wait_failure("SecondsPath", "$.input.waitSeconds", input),
            ("States.Runtime".into(), in_state("W", 2, detail))
        );
    }
}

/// LS/v2/scenarios/test_base_scenarios.snapshot.json, test_wait_timestamp_path.
#[test]
fn timestamp_path_cause_names_the_format_and_shows_the_value() {
    for bad in [
        "2016-13-05T21:29:29Z",
        "2016-12-05T25:29:29Z",
        "2016-12-05T21:29:29",
        "05-12-2016T21:29:29Z",
    ] {
        assert_eq!(
            wait_failure(
                "TimestampPath",
                "$.TimestampValue",
                json!({"TimestampValue": bad})
            ),
            (
                "States.Runtime".into(),
                in_state(
                    "W",
                    2,
                    &format!(
                        "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: $.TimestampValue == {bad}"
                    )
                )
            )
        );
    }
}

/// LS/v2/scenarios/test_base_scenarios.snapshot.json, test_wait_timestamp_jsonata.
#[test]
fn jsonata_timestamp_cause() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "W", "States": {
        "W": {"Type": "Wait", "Timestamp": "{% $states.input.t %}", "End": true}}});
    assert_eq!(
        failure(def, json!({"t": "2016-12-05 21:29:29Z"})),
        (
            "States.QueryEvaluationError".into(),
            in_state(
                "W",
                2,
                "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: 2016-12-05 21:29:29Z"
            )
        )
    );
}

fn map_def(fields: Value, jsonata: bool) -> Value {
    let mut map = json!({"Type": "Map", "End": true, "ItemProcessor": {
        "ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "P",
        "States": {"P": {"Type": "Pass", "End": true}}}});
    for (k, v) in fields.as_object().unwrap() {
        map[k] = v.clone();
    }
    let mut def = json!({"StartAt": "M", "States": {"M": map}});
    if jsonata {
        def["QueryLanguage"] = json!("JSONata");
    }
    def
}

/// LS/v2/scenarios/test_base_scenarios.snapshot.json: test_map_state_items_input_types (no
/// Items: "Map state input must be an array but was: ..."), test_map_state_items_eval_jsonata_fail
/// (an Items expression), both `States.QueryEvaluationError` under JSONata.
#[test]
fn map_items_that_are_not_an_array() {
    let def = map_def(json!({}), true);
    assert_eq!(
        failure(def, json!({"foo": "bar"})),
        (
            "States.QueryEvaluationError".into(),
            in_state(
                "M",
                2,
                r#"Map state input must be an array but was: {"foo":"bar"}"#
            )
        )
    );
    let def = map_def(json!({"Items": "{% 1 %}"}), true);
    assert_eq!(
        failure(def, json!({})),
        (
            "States.QueryEvaluationError".into(),
            in_state(
                "M",
                2,
                "The JSONata expression '1' specified for the field 'Items' returned an unexpected result type. Expected 'array', but was 'number' for value: 1"
            )
        )
    );
    let def = map_def(json!({"ItemsPath": "$.items"}), false);
    assert_eq!(
        failure(def, json!({"items": true})),
        (
            "States.Runtime".into(),
            in_state("M", 2, "Map state input must be an array but was: true")
        )
    );
}

/// LS/v2/scenarios/test_base_scenarios.snapshot.json: test_max_concurrency_path,
/// test_map_state_tolerated_failure_count_path, test_map_state_tolerated_failure_percentage_path.
#[test]
fn map_path_fields_with_values_that_are_not_numbers() {
    let cases = [
        (
            json!({"MaxConcurrencyPath": "$.MaxConcurrencyValue"}),
            json!({"MaxConcurrencyValue": "NoNumber"}),
            r#"The MaxConcurrencyPath field refers to value "NoNumber" which is not a valid integer: $.MaxConcurrencyValue"#,
        ),
        (
            json!({"MaxConcurrencyPath": "$.MaxConcurrencyValue"}),
            json!({"MaxConcurrencyValue": {}}),
            r#"The MaxConcurrencyPath field refers to value "{}" which is not a valid integer: $.MaxConcurrencyValue"#,
        ),
        (
            json!({"ToleratedFailureCountPath": "$.ToleratedFailureCount"}),
            json!({"ToleratedFailureCount": "NoNumber"}),
            r#"The ToleratedFailureCountPath field refers to value "NoNumber" which is not a valid integer: $.ToleratedFailureCount"#,
        ),
        (
            json!({"ToleratedFailureCountPath": "$.ToleratedFailureCount"}),
            json!({"ToleratedFailureCount": -1}),
            "ToleratedFailureCount cannot be negative.",
        ),
        (
            json!({"ToleratedFailurePercentagePath": "$.ToleratedFailurePercentage"}),
            json!({"ToleratedFailurePercentage": {}}),
            r#"The ToleratedFailurePercentagePath field refers to value "{}" which is not a valid float: $.ToleratedFailurePercentage"#,
        ),
        (
            json!({"ToleratedFailurePercentagePath": "$.ToleratedFailurePercentage"}),
            json!({"ToleratedFailurePercentage": 100.1}),
            "ToleratedFailurePercentage must be between 0 and 100.",
        ),
        (
            json!({"ToleratedFailurePercentagePath": "$.ToleratedFailurePercentage"}),
            json!({"ToleratedFailurePercentage": -1}),
            "ToleratedFailurePercentage must be between 0 and 100.",
        ),
    ];
    for (fields, mut input, detail) in cases {
        input["items"] = json!([1, 2]);
        let mut fields = fields;
        fields["ItemsPath"] = json!("$.items");
        assert_eq!(
            failure(map_def(fields, false), input),
            ("States.Runtime".into(), in_state("M", 2, detail)),
            "{detail}"
        );
    }
}

/// Variables in a Map's `*Path` fields, as AWS allows (the JSONPath variables page:
/// https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html, "in any
/// field that takes a path").
#[test]
fn map_path_fields_read_variables() {
    let def = json!({"StartAt": "Set", "States": {
        "Set": {"Type": "Pass", "Assign": {"max": 1, "tolerated": 1, "pct": 50}, "Next": "M"},
        "M": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrencyPath": "$max",
              "ToleratedFailureCountPath": "$tolerated", "ToleratedFailurePercentagePath": "$pct",
              "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
              "End": true}}});
    assert_eq!(run(&def, json!({"items": [1, 2]})).unwrap(), json!([1, 2]));
}

/// LS/v2/scenarios/test_base_scenarios.snapshot.json, test_undefined_reference
/// [BASE_UNDEFINED_OUTPUT], [BASE_UNDEFINED_OUTPUT_FIELD], [BASE_UNDEFINED_ASSIGN].
#[test]
fn jsonata_output_and_assign_returning_nothing() {
    let cases = [
        (json!({"Output": "{% $doesNotExist %}"}), "Output"),
        (
            json!({"Output": {"result": "{% $doesNotExist %}"}}),
            "Output/result",
        ),
        (
            json!({"Assign": {"result": "{% $doesNotExist %}"}}),
            "Assign/result",
        ),
    ];
    for (fields, field) in cases {
        let mut state = json!({"Type": "Pass", "End": true});
        for (k, v) in fields.as_object().unwrap() {
            state[k] = v.clone();
        }
        let def = json!({"QueryLanguage": "JSONata", "StartAt": "S", "States": {"S": state}});
        assert_eq!(
            failure(def, json!({})),
            (
                "States.QueryEvaluationError".into(),
                in_state(
                    "S",
                    2,
                    &format!(
                        "The JSONata expression '$doesNotExist' specified for the field '{field}' returned nothing (undefined)."
                    )
                )
            )
        );
    }
}

/// LS/v2/error_handling/test_states_errors.snapshot.json, test_start_large_input: "The
/// state/task 'State_1' returned a result with a size exceeding the maximum number of bytes
/// service limit." (no prefix); a Task names its resource's service (`'lambda'` for
/// arn:aws:states:::lambda:invoke).
#[test]
fn data_limit_causes_name_the_state_or_task() {
    let big = "a".repeat(100 * 1024);
    let def = map_def(json!({"ItemsPath": "$.items"}), false);
    assert_eq!(
        failure(def, json!({"items": [big, big, big]})),
        (
            "States.DataLimitExceeded".into(),
            "The state/task 'M' returned a result with a size exceeding the maximum number of bytes service limit.".into()
        )
    );
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}});
    let tasks = Arc::new(ScriptedTasks::default().on(
        "arn:aws:states:::lambda:invoke",
        vec![Ok(json!("a".repeat(300 * 1024)))],
    ));
    let (f, _) = run_with(&def, json!({}), Some(tasks));
    assert_eq!(
        outcome(&f).unwrap_err(),
        (
            "States.DataLimitExceeded".into(),
            "The state/task 'lambda' returned a result with a size exceeding the maximum number of bytes service limit.".into()
        )
    );
}

/// A Fail state without Error/Cause: the execution and its ExecutionFailed event have no
/// error or cause field at all (LS/v2/scenarios/test_base_scenarios.snapshot.json,
/// map_state_catch_empty_fail: `"executionFailedEventDetails": {}`), also from a Map
/// iteration and after a Choice.
#[test]
fn a_fail_state_without_error_or_cause_leaves_both_out() {
    let fail = json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": true, "Next": "F"}],
              "Default": "F"},
        "F": {"Type": "Fail"}}});
    let in_map = map_def(json!({"ItemsPath": "$.items"}), false);
    let mut in_map = in_map;
    in_map["States"]["M"]["ItemProcessor"]["States"]["P"] = json!({"Type": "Fail"});
    for def in [fail, in_map] {
        let (f, _) = run_with(&def, json!({"items": [1]}), None);
        assert_eq!(f.end.status, ExecutionStatus::Failed);
        assert_eq!(
            (f.end.error.as_deref(), f.end.cause.as_deref()),
            (None, None)
        );
        let last = f.history.last().unwrap();
        assert_eq!(last.event_type, "ExecutionFailed");
        assert_eq!(
            last.details.get("executionFailedEventDetails"),
            Some(&json!({}))
        );
    }
}

/// A Fail state's runtime error (ErrorPath selecting nothing) has the prefix (LS/v2/scenarios/
/// test_base_scenarios.snapshot.json: "The JSONPath '$.ErrorX' specified for the field
/// 'ErrorPath' could not be found in the input ...").
#[test]
fn a_fail_state_error_path_selecting_nothing_is_prefixed() {
    let def = json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "ErrorPath": "$.ErrorX"}}});
    assert_eq!(
        failure(def, json!({})),
        (
            "States.Runtime".into(),
            in_state(
                "F",
                2,
                "The JSONPath '$.ErrorX' specified for the field 'ErrorPath' could not be found in the input '{}'"
            )
        )
    );
}

/// A Task's `$$.State` has `RetryCount` (LS/templates/scenarios/statemachines/
/// lambda_invoke_with_retry_base.json5 reads `$$.State.RetryCount` in a Task's ResultSelector),
/// counting the retries so far.
#[test]
fn a_task_state_counts_its_retries() {
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "wasm:r", "ResultSelector": {"t.$": "$$.State"},
              "Retry": [{"ErrorEquals": ["E"], "IntervalSeconds": 1}], "End": true}}});
    let tasks =
        Arc::new(ScriptedTasks::default().on("wasm:r", vec![Err(("E", "once")), Ok(json!({}))]));
    let (f, _) = run_with(&def, json!({}), Some(tasks));
    let out = outcome(&f).unwrap();
    assert_eq!(out["t"]["RetryCount"], 1);
    assert_eq!(out["t"]["Name"], "T");
}

/// LS/v2/intrinsic_functions/test_math_operations_jsonata.snapshot.json,
/// test_math_random_seeded: AWS accepts the definition and fails at run time.
#[test]
fn a_jsonata_error_during_evaluation() {
    let def = json!({"StartAt": "State_0", "States": {"State_0": {
        "QueryLanguage": "JSONata", "Type": "Pass", "End": true,
        "Output": {"FunctionResult": "{% $randomSeeded($states.input.FunctionInput.fst) %}"}}}});
    assert_eq!(
        failure(def, json!({"FunctionInput": {"fst": 3}})),
        (
            "States.QueryEvaluationError".into(),
            in_state(
                "State_0",
                2,
                "The JSONata expression '$randomSeeded($states.input.FunctionInput.fst)' specified for the field 'Output/FunctionResult' threw an error during evaluation. T1006: Attempted to invoke a non-function"
            )
        )
    );
}

/// A value nested deeper than this engine stores (limits::MAX_VALUE_DEPTH; AWS has no such
/// rule, its payload limit comes first) fails like every other error raised while the state
/// executes: behind AWS's prefix, so every runtime cause reads the same way.
#[test]
fn too_deep_an_output_carries_the_prefix() {
    let mut deep = json!(1);
    for _ in 0..101 {
        deep = json!([deep]);
    }
    let def = json!({"StartAt": "S", "States": {
        "S": {"Type": "Pass", "Result": deep, "End": true}}});
    let (error, cause) = failure(def, json!({}));
    assert_eq!(error, "States.Runtime");
    assert_eq!(
        cause,
        in_state(
            "S",
            2,
            "The state output nests deeper than the maximum of 100 levels of arrays and objects"
        )
    );
}

/// A Distributed Map reading from Amazon S3 (valid in AWS, warned at validation here) fails
/// by AWS's name for a failed reader, with a cause saying why and what to do instead.
#[test]
fn an_s3_item_reader_fails_by_name() {
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map",
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                       "ReaderConfig": {"InputType": "JSON"},
                       "Parameters": {"Bucket": "b", "Key": "k"}},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                          "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
        "End": true}}});
    let (error, cause) = failure(def, json!({}));
    assert_eq!(error, "States.ItemReaderFailed");
    assert!(
        cause.starts_with(&in_state(
            "M",
            2,
            "The ItemReader resource 'arn:aws:states:::s3:getObject' needs Amazon S3"
        )),
        "{cause}"
    );
}
