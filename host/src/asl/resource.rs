//! What a Task state's `Resource` names, in the one place that knows the forms: a
//! component (`wasm:NAME[:VERSION]`), a Lambda function ARN (runs the tenant's component
//! of the same name, so definitions written for AWS run unchanged), AWS's optimized Lambda
//! integration (`arn:aws:states:::lambda:invoke`, the function named by the state's
//! `FunctionName` argument), or something this engine cannot run.

/// The component version that `$LATEST` (or no qualifier) stands for: the latest.
pub const LATEST: &str = "$LATEST";

/// A Task resource, classified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskResource {
    /// Runs a component: `wasm:NAME[:VERSION]`, or
    /// `arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`.
    Component(FunctionRef),
    /// `arn:aws:states:::lambda:invoke`: the component is the effective input's
    /// `FunctionName`, its input the `Payload`, its result wrapped as AWS's Lambda
    /// integration returns it.
    LambdaInvoke,
    /// A resource this engine does not run (another AWS integration, a pattern suffix
    /// such as `.waitForTaskToken`, an activity, or not a resource at all), with why and
    /// what to use instead.
    Unsupported(String),
}

/// A component named by a resource or a Lambda `FunctionName`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionRef {
    /// Component name.
    pub name: String,
    /// Version (`None`: the latest, also written `$LATEST`).
    pub version: Option<String>,
}

impl FunctionRef {
    /// The `wasm:NAME[:VERSION]` resource the sandbox resolves.
    pub fn wasm_resource(&self) -> String {
        match &self.version {
            Some(v) => format!("wasm:{}:{v}", self.name),
            None => format!("wasm:{}", self.name),
        }
    }

    /// What AWS reports as `ExecutedVersion`: the version, or `$LATEST`.
    pub fn executed_version(&self) -> &str {
        self.version.as_deref().unwrap_or(LATEST)
    }
}

/// The optimized Lambda integration's resource (request-response pattern).
pub const LAMBDA_INVOKE: &str = "arn:aws:states:::lambda:invoke";

/// Classifies a Task `Resource`.
pub fn classify(resource: &str) -> TaskResource {
    if resource == LAMBDA_INVOKE {
        return TaskResource::LambdaInvoke;
    }
    if let Some(rest) = resource.strip_prefix("wasm:") {
        let (name, version) = match rest.split_once(':') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (rest, None),
        };
        return TaskResource::Component(FunctionRef {
            name: name.to_string(),
            version,
        });
    }
    if resource.starts_with("arn:")
        && resource.contains(":lambda:")
        && let Some(f) = function_ref(resource)
    {
        return TaskResource::Component(f);
    }
    TaskResource::Unsupported(unsupported_reason(resource))
}

/// Why a resource that is not a component cannot run here, and what to use instead.
fn unsupported_reason(resource: &str) -> String {
    const HINT: &str = "run the work as a WebAssembly component instead \
        (Resource \"wasm:NAME\", or a Lambda function ARN / arn:aws:states:::lambda:invoke \
        mapped to a component)";
    let Some(arn) = Arn::parse(resource) else {
        return format!("only wasm:NAME and AWS ARNs are Task resources here; {HINT}");
    };
    match (arn.service, arn.resource) {
        ("lambda", _) => format!("it is not a Lambda function ARN; {HINT}"),
        ("states", r) if r.starts_with("lambda:invoke.") => format!(
            "the {:?} pattern of the Lambda integration is not available (use \
             arn:aws:states:::lambda:invoke)",
            &r["lambda:invoke".len()..]
        ),
        ("states", r) if r.starts_with("activity:") => {
            format!("activities are not available yet; {HINT}")
        }
        ("states", r) if r.starts_with("states:startExecution") => {
            format!("nested executions (states:startExecution) are not available yet; {HINT}")
        }
        ("states", r) if arn.region.is_empty() && arn.account.is_empty() => {
            let service = r.split([':', '.']).next().unwrap_or(r);
            format!(
                "the AWS service integration {service:?} is not available (Stepwasm calls no \
                 AWS service); {HINT}"
            )
        }
        (service, _) => {
            format!("an ARN of the AWS service {service:?} is not a Task resource here; {HINT}")
        }
    }
}

/// `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
pub(crate) struct Arn<'a> {
    pub(crate) service: &'a str,
    pub(crate) region: &'a str,
    pub(crate) account: &'a str,
    pub(crate) resource: &'a str,
}

impl<'a> Arn<'a> {
    /// The parts of an AWS ARN; `None` when it is not one.
    pub(crate) fn parse(text: &'a str) -> Option<Arn<'a>> {
        let mut parts = text.splitn(6, ':');
        let (arn, partition) = (parts.next()?, parts.next()?);
        if arn != "arn" || !partition.starts_with("aws") {
            return None;
        }
        Some(Arn {
            service: parts.next()?,
            region: parts.next()?,
            account: parts.next()?,
            resource: parts.next()?,
        })
    }
}

/// Parses a Lambda function as `FunctionName` takes it: a name (`my-function`,
/// `my-function:v1`), a partial ARN (`123456789012:function:my-function`) or a full ARN
/// (`arn:aws:lambda:us-west-2:123456789012:function:my-function[:QUALIFIER]`). The
/// region and account are not checked: the tenant's component of that name runs.
pub fn function_ref(function: &str) -> Option<FunctionRef> {
    let parts: Vec<&str> = function.split(':').collect();
    let (name, qualifier) = match parts.as_slice() {
        ["arn", _, "lambda", _, _, "function", name] => (*name, None),
        ["arn", _, "lambda", _, _, "function", name, q] => (*name, Some(*q)),
        [_, "function", name] => (*name, None),
        [_, "function", name, q] => (*name, Some(*q)),
        [name] => (*name, None),
        [name, q] => (*name, Some(*q)),
        _ => return None,
    };
    let valid = |s: &str| {
        !s.is_empty()
            && s.len() <= 140
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    if !valid(name) {
        return None;
    }
    let version = match qualifier {
        None | Some(LATEST) => None,
        Some(q) if valid(q) => Some(q.to_string()),
        Some(_) => return None,
    };
    Some(FunctionRef {
        name: name.to_string(),
        version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn component(name: &str, version: Option<&str>) -> TaskResource {
        TaskResource::Component(FunctionRef {
            name: name.into(),
            version: version.map(Into::into),
        })
    }

    #[test]
    fn resources_that_run() {
        assert_eq!(classify("wasm:price"), component("price", None));
        assert_eq!(classify("wasm:price:3"), component("price", Some("3")));
        assert_eq!(
            classify("arn:aws:lambda:us-east-1:123456789012:function:price"),
            component("price", None)
        );
        assert_eq!(
            classify("arn:aws:lambda:eu-west-1:123456789012:function:price:2"),
            component("price", Some("2"))
        );
        assert_eq!(
            classify("arn:aws:lambda:eu-west-1:123456789012:function:price:$LATEST"),
            component("price", None)
        );
        assert_eq!(classify(LAMBDA_INVOKE), TaskResource::LambdaInvoke);
    }

    #[test]
    fn resources_that_do_not_run() {
        for r in [
            "arn:aws:states:::dynamodb:putItem",
            "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "arn:aws:lambda:us-east-1:123456789012:layer:x",
            "arn:aws:lambda:us-east-1:123456789012:function:",
            "price",
        ] {
            assert!(matches!(classify(r), TaskResource::Unsupported(_)), "{r}");
        }
    }

    #[test]
    fn function_names() {
        let f = |s| function_ref(s).map(|f| (f.name, f.version));
        assert_eq!(f("price"), Some(("price".into(), None)));
        assert_eq!(f("price:7"), Some(("price".into(), Some("7".into()))));
        assert_eq!(
            f("123456789012:function:price"),
            Some(("price".into(), None))
        );
        assert_eq!(
            f("arn:aws:lambda:us-west-2:123456789012:function:price:$LATEST"),
            Some(("price".into(), None))
        );
        assert_eq!(f(""), None);
        assert_eq!(f("a b"), None);
        assert_eq!(f("a:b:c:d:e"), None);
    }
}
