//! The Succeed state: ends its machine (or branch, or iteration) successfully.

use serde_json::Value;

use super::super::execution::{Cx, Work};
use super::super::frame::{Attempt, Outcome};
use super::super::pipeline;
use crate::asl::model::State;

pub(crate) fn run(cx: &mut Cx<'_>, state: &State, input: Value, attempt: &Attempt) -> Work {
    let ctx = cx.context(state, attempt);
    let env = cx.env(&ctx);
    let result = pipeline::state_input_path(&state.io.input_path, &input, env)
        .map(|v| v.into_owned())
        .and_then(|v| pipeline::output_path(&state.io.output_path, v, env));
    match result {
        Ok(output) => Work::End(Outcome::Succeeded(output)),
        Err(e) => super::raised(e, attempt),
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::testkit::run;
    use serde_json::json;

    #[test]
    fn succeed_applies_input_and_output_paths() {
        let def = json!({"StartAt": "S", "States": {"S": {"Type": "Succeed", "InputPath": "$.a", "OutputPath": "$.b"}}});
        assert_eq!(run(&def, json!({"a": {"b": 7}})).unwrap(), json!(7));
    }
}
