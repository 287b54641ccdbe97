//! Naming rules (AWS's for state machines, executions and aliases), tenant ids, ARNs of
//! state machines, versions, aliases and executions (built and parsed here only), the
//! server's region, and the component a Task resource names.

use std::sync::OnceLock;

use super::ServiceError;
use crate::asl::resource::{FunctionRef, TaskResource, classify};

/// The region when `serve --region` does not say: what AWS clients default to.
pub const DEFAULT_REGION: &str = "us-east-1";

static REGION: OnceLock<String> = OnceLock::new();

/// Sets the server's region, once, before anything builds an ARN. ARNs are store keys, so
/// a data directory keeps the region it was first served with.
pub fn set_region(region: &str) -> Result<(), ServiceError> {
    let ok = !region.is_empty()
        && region.len() <= 32
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !ok {
        return Err(ServiceError::Validation {
            message: format!("region '{region}' is not of the form us-east-1"),
        });
    }
    let set = REGION.get_or_init(|| region.to_string());
    if set != region {
        return Err(ServiceError::Validation {
            message: format!("the region is already {set}"),
        });
    }
    Ok(())
}

/// The server's region: in every ARN, and the region SigV4 credential scopes must name.
pub fn region() -> &'static str {
    REGION.get().map_or(DEFAULT_REGION, String::as_str)
}

/// Longest state machine, execution or component name (AWS: 80).
pub const MAX_NAME_LEN: usize = 80;
/// Longest tenant id.
pub const MAX_TENANT_ID_LEN: usize = 63;

/// Characters AWS forbids in state machine and execution names (besides whitespace and
/// control characters).
const FORBIDDEN: &[char] = &[
    '<', '>', '{', '}', '[', ']', '?', '*', '"', '#', '%', '\\', '^', '|', '~', '`', '$', '&', ',',
    ';', ':', '/',
];

/// Checks a state machine, execution or component name.
pub fn check_name(name: &str) -> Result<(), ServiceError> {
    let bad = |reason: &str| {
        Err(ServiceError::InvalidName {
            name: name.to_string(),
            reason: reason.to_string(),
        })
    };
    if name.is_empty() {
        return bad("must not be empty");
    }
    // They would address the parent or the same path segment in a URL.
    if name == "." || name == ".." {
        return bad("must not be '.' or '..'");
    }
    if name.chars().count() > MAX_NAME_LEN {
        return bad("must be at most 80 characters");
    }
    if let Some(c) = name
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || FORBIDDEN.contains(c))
    {
        return bad(&format!("must not contain {c:?}"));
    }
    Ok(())
}

/// Checks a tenant id: lowercase letters, digits and '-', starting with a letter or digit.
pub fn check_tenant_id(id: &str) -> Result<(), ServiceError> {
    let ok = !id.is_empty()
        && id.len() <= MAX_TENANT_ID_LEN
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !id.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(ServiceError::InvalidName {
            name: id.to_string(),
            reason: "a tenant id is 1-63 of a-z, 0-9 and '-', not starting with '-'".into(),
        })
    }
}

/// A state machine's ARN (the tenant stands where AWS puts the account).
pub fn state_machine_arn(tenant: &str, name: &str) -> String {
    format!("arn:aws:states:{}:{tenant}:stateMachine:{name}", region())
}

/// The role ARN of a revision: the caller's, or a stand-in naming the tenant (AWS always
/// has one; nothing here assumes it).
pub fn role_arn(tenant: &str, revision: &crate::store::StateMachineVersion) -> String {
    revision
        .role_arn
        .clone()
        .unwrap_or_else(|| format!("arn:aws:iam::{tenant}:role/stepwasm"))
}

/// A published version's ARN (`...:stateMachine:NAME:N`).
pub fn state_machine_version_arn(tenant: &str, name: &str, version: u64) -> String {
    format!("{}:{version}", state_machine_arn(tenant, name))
}

/// An alias's ARN (`...:stateMachine:NAME:ALIAS`).
pub fn state_machine_alias_arn(tenant: &str, name: &str, alias: &str) -> String {
    format!("{}:{alias}", state_machine_arn(tenant, name))
}

/// What a state machine reference names besides the state machine itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Qualifier {
    /// A published version.
    Version(u64),
    /// An alias.
    Alias(String),
}

/// A state machine, or one of its versions or aliases: `NAME`, `NAME:N` or `NAME:ALIAS`
/// (the /v1 form), or the same after `arn:aws:states:REGION:ACCOUNT:stateMachine:`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MachineRef {
    /// State machine name.
    pub name: String,
    /// Version or alias, if any.
    pub qualifier: Option<Qualifier>,
}

impl MachineRef {
    /// The unqualified state machine.
    pub fn latest(name: &str) -> Self {
        Self {
            name: name.to_string(),
            qualifier: None,
        }
    }

    /// Parses `NAME[:QUALIFIER]`: an all-digit qualifier is a version (alias names must
    /// hold a non-digit, as AWS requires), anything else an alias name.
    pub fn parse(text: &str) -> Result<Self, ServiceError> {
        let (name, qualifier) = match text.split_once(':') {
            None => (text, None),
            Some((name, q)) if !q.is_empty() && q.bytes().all(|b| b.is_ascii_digit()) => {
                let v = q.parse::<u64>().ok().filter(|v| *v > 0).ok_or_else(|| {
                    ServiceError::InvalidArn {
                        arn: text.to_string(),
                        reason: "a version number is a positive integer".into(),
                    }
                })?;
                (name, Some(Qualifier::Version(v)))
            }
            Some((name, alias)) => {
                check_alias_name(alias).map_err(|e| ServiceError::InvalidArn {
                    arn: text.to_string(),
                    reason: e.to_string(),
                })?;
                (name, Some(Qualifier::Alias(alias.to_string())))
            }
        };
        check_name(name)?;
        Ok(Self {
            name: name.to_string(),
            qualifier,
        })
    }

    /// Parses a state machine, version or alias ARN of `tenant` (through [`parse_arn`]).
    /// An ARN of another account or region names nothing this tenant has:
    /// `StateMachineDoesNotExist`.
    pub fn from_arn(tenant: &str, arn: &str) -> Result<Self, ServiceError> {
        match parse_arn(tenant, arn)? {
            Some(ArnTarget::Machine(m)) => Ok(m),
            None => Err(ServiceError::NotFound {
                what: super::Resource::StateMachine,
                name: arn.to_string(),
            }),
            Some(ArnTarget::Execution(_)) => Err(invalid_arn(
                arn,
                "an execution ARN, where a state machine ARN is expected",
            )),
        }
    }

    /// The state machine's name, when the reference names no version or alias (`what`
    /// says which field wanted a plain state machine).
    pub fn unqualified(self, what: &str) -> Result<String, ServiceError> {
        match self.qualifier {
            None => Ok(self.name),
            Some(_) => Err(ServiceError::InvalidArn {
                arn: self.to_string(),
                reason: format!("{what} takes a state machine ARN, not a version or alias ARN"),
            }),
        }
    }

    /// The version number, when the reference names a published version.
    pub fn version(&self, what: &str) -> Result<u64, ServiceError> {
        match self.qualifier {
            Some(Qualifier::Version(v)) => Ok(v),
            _ => Err(ServiceError::InvalidArn {
                arn: self.to_string(),
                reason: format!("{what} takes a state machine version ARN (NAME:N)"),
            }),
        }
    }

    /// The alias name, when the reference names an alias.
    pub fn alias(&self, what: &str) -> Result<&str, ServiceError> {
        match &self.qualifier {
            Some(Qualifier::Alias(a)) => Ok(a),
            _ => Err(ServiceError::InvalidArn {
                arn: self.to_string(),
                reason: format!("{what} takes a state machine alias ARN (NAME:ALIAS)"),
            }),
        }
    }

    /// The ARN this reference stands for.
    pub fn arn(&self, tenant: &str) -> String {
        match &self.qualifier {
            None => state_machine_arn(tenant, &self.name),
            Some(Qualifier::Version(v)) => state_machine_version_arn(tenant, &self.name, *v),
            Some(Qualifier::Alias(a)) => state_machine_alias_arn(tenant, &self.name, a),
        }
    }
}

impl std::fmt::Display for MachineRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.qualifier {
            None => write!(f, "{}", self.name),
            Some(Qualifier::Version(v)) => write!(f, "{}:{v}", self.name),
            Some(Qualifier::Alias(a)) => write!(f, "{}:{a}", self.name),
        }
    }
}

/// An execution, by state machine and execution name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecutionRef {
    /// State machine name.
    pub state_machine: String,
    /// Execution name.
    pub name: String,
}

impl ExecutionRef {
    /// Parses `arn:aws:states:REGION:ACCOUNT:execution:MACHINE:NAME` of `tenant` (through
    /// [`parse_arn`]). Another account's or region's ARN names nothing this tenant has:
    /// `ExecutionDoesNotExist`.
    pub fn from_arn(tenant: &str, arn: &str) -> Result<Self, ServiceError> {
        match parse_arn(tenant, arn)? {
            Some(ArnTarget::Execution(e)) => Ok(e),
            None => Err(ServiceError::NotFound {
                what: super::Resource::Execution,
                name: arn.to_string(),
            }),
            Some(ArnTarget::Machine(_)) => Err(invalid_arn(
                arn,
                "a state machine ARN, where an execution ARN is expected",
            )),
        }
    }
}

/// Longest ARN AWS accepts in these fields.
pub const MAX_ARN_LEN: usize = 256;

/// Checks an alias name (AWS: 1-80 of `a-zA-Z0-9_-.`, at least one that is not a digit).
pub fn check_alias_name(alias: &str) -> Result<(), ServiceError> {
    let ok = !alias.is_empty()
        && alias.len() <= MAX_NAME_LEN
        && alias
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        && alias.bytes().any(|b| !b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(ServiceError::InvalidName {
            name: alias.to_string(),
            reason: "an alias name is 1-80 of a-z, A-Z, 0-9, '_', '-', '.', not all digits".into(),
        })
    }
}

/// An execution's ARN.
pub fn execution_arn(tenant: &str, state_machine: &str, name: &str) -> String {
    format!(
        "arn:aws:states:{}:{tenant}:execution:{state_machine}:{name}",
        region()
    )
}

/// What a Step Functions ARN names, for the caller's tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArnTarget {
    /// `...:stateMachine:NAME[:VERSION|:ALIAS]`.
    Machine(MachineRef),
    /// `...:execution:MACHINE:NAME`.
    Execution(ExecutionRef),
}

/// The one `InvalidArn` of a malformed ARN (the ARN cut to a bounded length).
fn invalid_arn(arn: &str, reason: &str) -> ServiceError {
    ServiceError::InvalidArn {
        arn: arn.chars().take(MAX_ARN_LEN).collect(),
        reason: reason.to_string(),
    }
}

/// Parses an ARN a tenant sent: the one ARN parser. Not a Step Functions ARN of this
/// server's shape (or a name, version or alias in it that breaks the naming rules):
/// `InvalidArn`. Another account's (tenant's) or another region's: `Ok(None)`, which
/// callers answer as "does not exist", exactly as for a name that is not there.
pub fn parse_arn(tenant: &str, arn: &str) -> Result<Option<ArnTarget>, ServiceError> {
    if arn.len() > MAX_ARN_LEN {
        return Err(invalid_arn(arn, "longer than 256 characters"));
    }
    let shape = || invalid_arn(arn, "not a Step Functions state machine or execution ARN");
    let parts: Vec<&str> = arn.splitn(8, ':').collect();
    let [
        head,
        partition,
        service,
        arn_region,
        account,
        kind,
        rest @ ..,
    ] = parts.as_slice()
    else {
        return Err(shape());
    };
    if *head != "arn" || partition.is_empty() || *service != "states" || account.is_empty() {
        return Err(shape());
    }
    let named = |e: ServiceError| match e {
        ServiceError::InvalidName { reason, .. } | ServiceError::InvalidArn { reason, .. } => {
            invalid_arn(arn, &reason)
        }
        other => other,
    };
    let target = match (*kind, rest) {
        ("stateMachine", [name]) => ArnTarget::Machine(MachineRef::parse(name).map_err(named)?),
        ("stateMachine", [name, qualifier]) if !qualifier.is_empty() => {
            ArnTarget::Machine(MachineRef::parse(&format!("{name}:{qualifier}")).map_err(named)?)
        }
        ("execution", [machine, name]) => {
            for n in [machine, name] {
                check_name(n).map_err(named)?;
            }
            ArnTarget::Execution(ExecutionRef {
                state_machine: machine.to_string(),
                name: name.to_string(),
            })
        }
        _ => return Err(shape()),
    };
    if *account != tenant || *arn_region != region() || *partition != "aws" {
        return Ok(None);
    }
    Ok(Some(target))
}

/// A component a Task runs, as the store names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComponentRef {
    /// Component name.
    pub name: String,
    /// Pinned version, or the latest.
    pub version: Option<u64>,
}

impl ComponentRef {
    /// From a classified resource's function (`Err` says why the store cannot hold it).
    pub fn from_function(f: &FunctionRef, resource: &str) -> Result<Self, String> {
        let version = match &f.version {
            None => None,
            Some(v) => Some(v.parse::<u64>().ok().filter(|v| *v > 0).ok_or_else(|| {
                format!(
                    "resource '{resource}' names version '{v}', which is not a positive \
                     integer (components have numbered versions, or $LATEST)"
                )
            })?),
        };
        check_name(&f.name).map_err(|e| format!("resource '{resource}': {e}"))?;
        Ok(Self {
            name: f.name.clone(),
            version,
        })
    }
}

/// Parses a Task `Resource` that names a component (`wasm:NAME[:VERSION]` or a Lambda
/// function ARN); `Err` says why it does not.
pub fn parse_component_ref(resource: &str) -> Result<ComponentRef, String> {
    match classify(resource) {
        TaskResource::Component(f) => ComponentRef::from_function(&f, resource),
        TaskResource::LambdaInvoke => Err(format!(
            "resource '{resource}' names its function in FunctionName"
        )),
        TaskResource::Unsupported(why) => Err(format!(
            "resource '{resource}' cannot run in Stepwasm: {why}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_aws_rules() {
        assert!(check_name("order-42_ok.v1").is_ok());
        for bad in ["", "a b", "a/b", "a:b", "x*", "tab\t", &"x".repeat(81)] {
            assert!(check_name(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn machine_refs_name_versions_and_aliases() {
        let r = MachineRef::parse("m").unwrap();
        assert_eq!(r, MachineRef::latest("m"));
        assert_eq!(
            MachineRef::parse("m:12").unwrap().qualifier,
            Some(Qualifier::Version(12))
        );
        assert_eq!(
            MachineRef::parse("m:prod-1").unwrap().qualifier,
            Some(Qualifier::Alias("prod-1".into()))
        );
        for bad in ["m:0", "m:", "m:a b", "a b:1", ":1"] {
            assert!(MachineRef::parse(bad).is_err(), "{bad} accepted");
        }
        let arn = format!("{}:7", state_machine_arn("acme", "m"));
        let r = MachineRef::from_arn("acme", &arn).unwrap();
        assert_eq!(r.qualifier, Some(Qualifier::Version(7)));
        assert_eq!(r.arn("acme"), arn);
        let live = format!("{}:live", state_machine_arn("acme", "m"));
        assert_eq!(
            MachineRef::from_arn("acme", &live).unwrap().to_string(),
            "m:live"
        );
        // Another account's ARN does not exist for this tenant; a malformed one is invalid.
        let other = MachineRef::from_arn("bob", &arn).unwrap_err();
        assert_eq!(other.code(), "StateMachineDoesNotExist");
        let region = region();
        for bad in [
            format!("arn:aws:states:{region}:acme:execution:m:e"),
            format!("arn:aws:lambda:{region}:acme:stateMachine:m"),
            "m".to_string(),
            format!("arn:aws:states:{region}:acme:stateMachine:"),
            format!("arn:aws:states:{region}:acme:stateMachine:m:0"),
            format!(
                "arn:aws:states:{region}:acme:stateMachine:{}",
                "m".repeat(300)
            ),
        ] {
            assert_eq!(
                MachineRef::from_arn("acme", &bad).unwrap_err().code(),
                "InvalidArn",
                "{bad}"
            );
        }
    }

    #[test]
    fn execution_refs() {
        let arn = execution_arn("acme", "m", "e1");
        let e = ExecutionRef::from_arn("acme", &arn).unwrap();
        assert_eq!((e.state_machine.as_str(), e.name.as_str()), ("m", "e1"));
        assert_eq!(
            ExecutionRef::from_arn("bob", &arn).unwrap_err().code(),
            "ExecutionDoesNotExist"
        );
        let sm = state_machine_arn("acme", "m");
        for bad in [
            format!("{sm}:e"),
            format!("{arn}:x"),
            arn.replace(":execution:", ":exec:"),
        ] {
            assert_eq!(
                ExecutionRef::from_arn("acme", &bad).unwrap_err().code(),
                "InvalidArn",
                "{bad}"
            );
        }
    }

    #[test]
    fn alias_names() {
        assert!(check_alias_name("PROD").is_ok());
        assert!(check_alias_name("v1.2_b-c").is_ok());
        for bad in ["", "123", "a:b", "a b", &"a".repeat(81)] {
            assert!(check_alias_name(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn tenant_ids() {
        assert!(check_tenant_id("acme-1").is_ok());
        for bad in ["", "-a", "Acme", "a_b", &"a".repeat(64)] {
            assert!(check_tenant_id(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn arns_parse_for_their_tenant_only() {
        let sm = state_machine_arn("acme", "flow");
        assert_eq!(
            parse_arn("acme", &sm).unwrap(),
            Some(ArnTarget::Machine(MachineRef::latest("flow")))
        );
        assert_eq!(parse_arn("other", &sm).unwrap(), None);
        assert_eq!(
            parse_arn("acme", &format!("{sm}:3")).unwrap(),
            Some(ArnTarget::Machine(MachineRef {
                name: "flow".into(),
                qualifier: Some(Qualifier::Version(3)),
            }))
        );
        let ex = execution_arn("acme", "flow", "run-1");
        assert_eq!(
            parse_arn("acme", &ex).unwrap(),
            Some(ArnTarget::Execution(ExecutionRef {
                state_machine: "flow".into(),
                name: "run-1".into(),
            }))
        );
        let wrong_region = sm.replace(region(), "eu-west-9");
        assert_eq!(parse_arn("acme", &wrong_region).unwrap(), None);
        for bad in [
            "",
            "flow",
            "arn:aws:lambda:us-east-1:acme:function:f",
            "arn:aws:states:us-east-1:acme:stateMachine",
            "arn:aws:states:us-east-1:acme:stateMachine:",
            "arn:aws:states:us-east-1:acme:execution:flow",
            "arn:aws:states:us-east-1:acme:execution:flow:a b",
            "arn:aws:states:us-east-1:acme:activity:a",
            "arn:aws:states:us-east-1::stateMachine:flow",
        ] {
            assert!(
                matches!(parse_arn("acme", bad), Err(ServiceError::InvalidArn { .. })),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn component_refs() {
        assert_eq!(
            parse_component_ref("wasm:price").unwrap(),
            ComponentRef {
                name: "price".into(),
                version: None
            }
        );
        assert_eq!(
            parse_component_ref("wasm:price:3").unwrap().version,
            Some(3)
        );
        assert!(parse_component_ref("wasm:price:0").is_err());
        assert!(parse_component_ref("wasm:price:x").is_err());
        assert!(parse_component_ref("arn:aws:lambda:x").is_err());
        assert_eq!(
            parse_component_ref("arn:aws:lambda:us-east-1:123456789012:function:price:2").unwrap(),
            ComponentRef {
                name: "price".into(),
                version: Some(2)
            }
        );
        assert!(parse_component_ref("arn:aws:lambda:us-east-1:1:function:price:live").is_err());
        assert!(parse_component_ref("arn:aws:states:::lambda:invoke").is_err());
        assert!(parse_component_ref("wasm:").is_err());
    }
}
