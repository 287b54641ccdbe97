//! Naming rules (AWS's for state machines and executions), tenant ids, ARNs (built and
//! parsed here only), the server's region, and the `wasm:NAME[:VERSION]` Task resource
//! syntax.

use std::sync::OnceLock;

use super::ServiceError;

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

/// An execution's ARN.
pub fn execution_arn(tenant: &str, state_machine: &str, name: &str) -> String {
    format!(
        "arn:aws:states:{}:{tenant}:execution:{state_machine}:{name}",
        region()
    )
}

/// An activity's ARN.
pub fn activity_arn(tenant: &str, name: &str) -> String {
    format!("arn:aws:states:{}:{tenant}:activity:{name}", region())
}

/// The caller's activity an ARN names: `None` for another account's or region's (a name
/// that does not exist for the caller), `InvalidArn` for what is not an activity ARN.
pub fn parse_activity_arn(tenant: &str, arn: &str) -> Result<Option<String>, ServiceError> {
    let Some((account, name)) = crate::engine::callback::activity_of(arn) else {
        return Err(ServiceError::InvalidArn {
            arn: arn.chars().take(2048).collect(),
        });
    };
    Ok((arn == activity_arn(tenant, name) && account == tenant).then(|| name.to_string()))
}

/// What a Step Functions ARN names, for the caller's tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArnTarget {
    /// `...:stateMachine:NAME`.
    StateMachine(String),
    /// `...:stateMachine:NAME:QUALIFIER` (a version number or an alias name).
    QualifiedStateMachine(String, String),
    /// `...:execution:MACHINE:NAME`.
    Execution(String, String),
}

/// Parses an ARN a tenant sent. Not a Step Functions ARN of this server's shape:
/// `InvalidArn`. Another account's (tenant's) or another region's: `Ok(None)`, which
/// callers answer as "does not exist", exactly as for a name that is not there.
pub fn parse_arn(tenant: &str, arn: &str) -> Result<Option<ArnTarget>, ServiceError> {
    let invalid = || ServiceError::InvalidArn {
        arn: arn.chars().take(2048).collect(),
    };
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
        return Err(invalid());
    };
    if *head != "arn" || partition.is_empty() || *service != "states" || account.is_empty() {
        return Err(invalid());
    }
    let target = match (*kind, rest) {
        ("stateMachine", [name]) => ArnTarget::StateMachine(name.to_string()),
        ("stateMachine", [name, qualifier]) if !qualifier.is_empty() => {
            ArnTarget::QualifiedStateMachine(name.to_string(), qualifier.to_string())
        }
        ("execution", [machine, name]) => {
            ArnTarget::Execution(machine.to_string(), name.to_string())
        }
        _ => return Err(invalid()),
    };
    let names = match &target {
        ArnTarget::StateMachine(n) | ArnTarget::QualifiedStateMachine(n, _) => [n, n],
        ArnTarget::Execution(m, n) => [m, n],
    };
    if names.iter().any(|n| n.is_empty()) {
        return Err(invalid());
    }
    if *account != tenant || *arn_region != region() || *partition != "aws" {
        return Ok(None);
    }
    Ok(Some(target))
}

/// A parsed `wasm:NAME[:VERSION]` resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComponentRef {
    /// Component name.
    pub name: String,
    /// Pinned version, or the latest.
    pub version: Option<u64>,
}

/// Parses a Task `Resource`; `Err` says why it is not a component reference.
pub fn parse_component_ref(resource: &str) -> Result<ComponentRef, String> {
    let rest = resource
        .strip_prefix("wasm:")
        .ok_or_else(|| format!("resource '{resource}' is not of the form wasm:NAME[:VERSION]"))?;
    let (name, version) = match rest.split_once(':') {
        Some((n, v)) => {
            let v = v.parse::<u64>().ok().filter(|v| *v > 0).ok_or_else(|| {
                format!("resource '{resource}' has a version that is not a positive integer")
            })?;
            (n, Some(v))
        }
        None => (rest, None),
    };
    check_name(name).map_err(|e| format!("resource '{resource}': {e}"))?;
    Ok(ComponentRef {
        name: name.to_string(),
        version,
    })
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
            Some(ArnTarget::StateMachine("flow".into()))
        );
        assert_eq!(parse_arn("other", &sm).unwrap(), None);
        assert_eq!(
            parse_arn("acme", &format!("{sm}:3")).unwrap(),
            Some(ArnTarget::QualifiedStateMachine("flow".into(), "3".into()))
        );
        let ex = execution_arn("acme", "flow", "run-1");
        assert_eq!(
            parse_arn("acme", &ex).unwrap(),
            Some(ArnTarget::Execution("flow".into(), "run-1".into()))
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
        assert!(parse_component_ref("wasm:").is_err());
    }
}
