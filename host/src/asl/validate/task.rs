//! What a Task state calls and as whom: its `Resource` (a warning, with a hint, for what
//! `asl::resource::classify` says this engine cannot run, since AWS accepts those
//! definitions) and its `Credentials` (AWS's shape: an object with exactly one `RoleArn`,
//! or `RoleArn.$` in a JSONPath state).

use serde_json::Value;

use super::common::{is_jsonata_expr, state_type, typed_states};
use super::{Code, Diagnostic, MachineCtx, StateCtx};
use crate::asl::resource::{Arn, TaskResource, classify};

pub(super) fn check(machines: &[MachineCtx<'_>], out: &mut Vec<Diagnostic>) {
    for s in typed_states(machines) {
        if state_type(&s) != "Task" {
            continue;
        }
        if let Some(r) = s.state.resource.as_deref()
            && let TaskResource::Unsupported(hint) = classify(r)
        {
            out.push(Diagnostic::warning(
                Code::UnsupportedResource,
                s.at("Resource"),
                format!("Resource {r:?} cannot run in Stepwasm: {hint}"),
            ));
        }
        if let Some(c) = &s.state.credentials {
            credentials(&s, c, out);
        }
    }
}

/// AWS's `Credentials`: `{"RoleArn": "<role ARN>"}`, or `{"RoleArn.$": "<path or intrinsic>"}`
/// in a JSONPath state, or a `{% %}` RoleArn in a JSONata state. AWS's wording for a missing
/// RoleArn is recorded in localstack/localstack tests/aws/services/stepfunctions/v2/
/// credentials/test_credentials_base.snapshot.json (test_invalid_credentials_field): "The field
/// 'RoleArn' is required but was missing at /States/State0/Credentials".
fn credentials(s: &StateCtx<'_>, c: &Value, out: &mut Vec<Diagnostic>) {
    let at = s.at("Credentials");
    let Value::Object(fields) = c else {
        out.push(Diagnostic::error(
            Code::SchemaValidationFailed,
            at,
            format!("Credentials must be a JSON object, not {c}"),
        ));
        return;
    };
    let literal = fields.get("RoleArn");
    let path = fields.get("RoleArn.$");
    for key in fields.keys() {
        let allowed = key == "RoleArn" || (key == "RoleArn.$" && !s.is_jsonata());
        if !allowed {
            out.push(Diagnostic::error(
                Code::SchemaValidationFailed,
                format!("{at}/{}", super::pointer_segment(key)),
                format!("The field '{key}' is not supported in Credentials"),
            ));
        }
    }
    match (literal, path) {
        (None, None) => out.push(Diagnostic::error(
            Code::SchemaValidationFailed,
            at,
            "The field 'RoleArn' is required but was missing",
        )),
        (Some(_), Some(_)) => out.push(Diagnostic::error(
            Code::FieldConflict,
            format!("{at}/RoleArn.$"),
            "Credentials may have RoleArn or RoleArn.$, not both",
        )),
        (Some(v), None) => role_arn(v, s.is_jsonata(), &format!("{at}/RoleArn"), out),
        (None, Some(_)) => {
            if !s.is_jsonata() {
                // The same rules as a payload template's `.$` field.
                super::paths::template(c, &at, out);
            }
        }
    }
}

fn role_arn(v: &Value, jsonata: bool, at: &str, out: &mut Vec<Diagnostic>) {
    if jsonata && is_jsonata_expr(v) {
        return; // Checked with the state's other JSONata expressions.
    }
    let is_role = v.as_str().and_then(Arn::parse).is_some_and(|arn| {
        arn.service == "iam" && arn.region.is_empty() && arn.resource.starts_with("role/")
    });
    if !is_role {
        out.push(Diagnostic::error(
            Code::InvalidValue,
            at,
            format!("RoleArn must be an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME), not {v}"),
        ));
    }
}
