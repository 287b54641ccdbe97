//! AWS's Lambda forms of a Task, run as components: a Lambda function ARN calls the
//! component of the same name with the effective input; `arn:aws:states:::lambda:invoke`
//! calls the component named by the effective input's `FunctionName` (and `Qualifier`)
//! with its `Payload`, and wraps the result as AWS's optimized Lambda integration returns
//! it. The task runner only ever sees `wasm:NAME[:VERSION]` for these.

use serde_json::{Value, json};

use crate::asl::resource::{FunctionRef, TaskResource, classify, function_ref};

/// The function a `lambda:invoke` effective input names (`FunctionName`, then a
/// `Qualifier` argument overriding the version), if it names one.
fn invoked_function(effective: &Value) -> Option<FunctionRef> {
    let mut f = function_ref(effective.get("FunctionName")?.as_str()?)?;
    if let Some(q) = effective.get("Qualifier").and_then(Value::as_str) {
        f.version = function_ref(&format!("{}:{q}", f.name))?.version;
    }
    Some(f)
}

/// The resource and input the task runner gets for a Task with `resource` and
/// `effective` input. Other resources pass through unchanged (the runner names what it
/// cannot run, e.g. a `lambda:invoke` without a usable `FunctionName`).
pub(crate) fn request(resource: &str, effective: &Value) -> (String, Value) {
    match classify(resource) {
        TaskResource::Component(f) if !resource.starts_with("wasm:") => {
            (f.wasm_resource(), effective.clone())
        }
        TaskResource::LambdaInvoke => match invoked_function(effective) {
            Some(f) => {
                let payload = effective
                    .get("Payload")
                    .cloned()
                    .unwrap_or_else(|| json!({}));
                (f.wasm_resource(), payload)
            }
            None => (resource.to_string(), effective.clone()),
        },
        _ => (resource.to_string(), effective.clone()),
    }
}

/// The Task's result as the state sees it: a `lambda:invoke` result is wrapped in AWS's
/// integration response (`ExecutedVersion`, `Payload`, `SdkHttpMetadata`,
/// `SdkResponseMetadata`, `StatusCode`); other results are the component's output.
pub(crate) fn result(resource: &str, effective: &Value, output: Value) -> Value {
    if classify(resource) != TaskResource::LambdaInvoke {
        return output;
    }
    let version = invoked_function(effective)
        .map(|f| f.executed_version().to_string())
        .unwrap_or_else(|| crate::asl::resource::LATEST.to_string());
    let request_id = uuid::Uuid::new_v4().to_string();
    let length = output.to_string().len().to_string();
    let headers = json!({
        "Connection": "keep-alive",
        "Content-Length": length,
        "Content-Type": "application/json",
        "X-Amz-Executed-Version": version,
        "x-amzn-Remapped-Content-Length": "0",
        "x-amzn-RequestId": request_id,
    });
    let all: serde_json::Map<String, Value> = headers
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), json!([v])))
        .collect();
    json!({
        "ExecutedVersion": version,
        "Payload": output,
        "SdkHttpMetadata": {
            "AllHttpHeaders": all,
            "HttpHeaders": headers,
            "HttpStatusCode": 200,
        },
        "SdkResponseMetadata": {"RequestId": request_id},
        "StatusCode": 200,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_arns_become_components() {
        let input = json!({"a": 1});
        assert_eq!(
            request(
                "arn:aws:lambda:us-east-1:123456789012:function:price:4",
                &input
            ),
            ("wasm:price:4".to_string(), input.clone())
        );
        assert_eq!(
            request("wasm:price", &input),
            ("wasm:price".to_string(), input.clone())
        );
    }

    #[test]
    fn lambda_invoke_takes_function_name_and_payload() {
        let input = json!({"FunctionName": "arn:aws:lambda:us-east-1:1:function:price",
                           "Payload": {"n": 2}});
        assert_eq!(
            request(crate::asl::resource::LAMBDA_INVOKE, &input),
            ("wasm:price".to_string(), json!({"n": 2}))
        );
        let pinned = json!({"FunctionName": "price", "Qualifier": "3"});
        assert_eq!(
            request(crate::asl::resource::LAMBDA_INVOKE, &pinned),
            ("wasm:price:3".to_string(), json!({}))
        );
        let out = result(
            crate::asl::resource::LAMBDA_INVOKE,
            &pinned,
            json!({"ok": true}),
        );
        assert_eq!(out["Payload"], json!({"ok": true}));
        assert_eq!(out["ExecutedVersion"], "3");
        assert_eq!(out["StatusCode"], 200);
        assert_eq!(out["SdkHttpMetadata"]["HttpStatusCode"], 200);
        assert_eq!(
            out["SdkResponseMetadata"]["RequestId"],
            out["SdkHttpMetadata"]["HttpHeaders"]["x-amzn-RequestId"]
        );
        assert_eq!(result("wasm:price", &pinned, json!(1)), json!(1));
    }
}
