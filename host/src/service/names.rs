//! Naming rules (AWS's for state machines and executions), tenant ids, ARNs, and the
//! `wasm:NAME[:VERSION]` Task resource syntax.

use super::ServiceError;

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
    format!("arn:aws:states:local:{tenant}:stateMachine:{name}")
}

/// An execution's ARN.
pub fn execution_arn(tenant: &str, state_machine: &str, name: &str) -> String {
    format!("arn:aws:states:local:{tenant}:execution:{state_machine}:{name}")
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
