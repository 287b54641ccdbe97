//! Tags on state machines (and, later, activities): AWS's TagResource, UntagResource and
//! ListTagsForResource, with AWS's limits (50 tags, keys 1-128 and values 0-256
//! characters of letters, digits, white space and `_ . : / = + - @`).

use super::names::MachineRef;
use super::{Resource, Service, ServiceError};
use crate::store::{StoreError, Tag, TenantRecord};

/// Most tags on one resource (AWS: 50).
pub const MAX_TAGS: usize = 50;
/// Longest tag key.
pub const MAX_TAG_KEY_LEN: usize = 128;
/// Longest tag value.
pub const MAX_TAG_VALUE_LEN: usize = 256;

/// A resource that carries tags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TagTarget {
    /// A state machine, by name.
    StateMachine(String),
}

impl TagTarget {
    /// Parses a taggable resource's ARN (a state machine's; not a version's or an
    /// alias's). Another account's ARN is `ResourceNotFound`.
    pub fn from_arn(tenant: &str, arn: &str) -> Result<Self, ServiceError> {
        let target = MachineRef::from_arn(tenant, arn).map_err(|e| match e {
            ServiceError::NotFound { .. } => not_found(arn),
            other => other,
        })?;
        Ok(TagTarget::StateMachine(
            target.unqualified("a tag operation")?,
        ))
    }

    fn name(&self) -> &str {
        match self {
            TagTarget::StateMachine(n) => n,
        }
    }
}

fn not_found(what: &str) -> ServiceError {
    ServiceError::NotFound {
        what: Resource::Tagged,
        name: what.to_string(),
    }
}

fn tag_chars_ok(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c))
}

/// Checks tags against AWS's limits.
pub fn check_tags(resource: &str, tags: &[Tag]) -> Result<(), ServiceError> {
    if tags.len() > MAX_TAGS {
        return Err(ServiceError::TooManyTags {
            resource: resource.to_string(),
            limit: MAX_TAGS,
        });
    }
    for t in tags {
        check_tag_key(&t.key)?;
        if t.value.chars().count() > MAX_TAG_VALUE_LEN || !tag_chars_ok(&t.value) {
            return Err(ServiceError::Validation {
                message: format!(
                    "tag value for '{}' must be 0-{MAX_TAG_VALUE_LEN} letters, digits, white \
                     space or _ . : / = + - @",
                    t.key
                ),
            });
        }
    }
    Ok(())
}

fn check_tag_key(key: &str) -> Result<(), ServiceError> {
    let n = key.chars().count();
    if n == 0 || n > MAX_TAG_KEY_LEN || !tag_chars_ok(key) {
        return Err(ServiceError::Validation {
            message: format!(
                "tag key '{key}' must be 1-{MAX_TAG_KEY_LEN} letters, digits, white space or \
                 _ . : / = + - @"
            ),
        });
    }
    Ok(())
}

fn tag_error(e: StoreError, target: &TagTarget) -> ServiceError {
    match e {
        StoreError::NotFound { .. } => not_found(target.name()),
        StoreError::LimitExceeded { limit, .. } => ServiceError::TooManyTags {
            resource: target.name().to_string(),
            limit,
        },
        other => other.into(),
    }
}

impl Service {
    /// Adds tags to a resource (a key already set takes the new value).
    pub async fn tag_resource(
        &self,
        tenant: &TenantRecord,
        target: &TagTarget,
        tags: Vec<Tag>,
    ) -> Result<(), ServiceError> {
        check_tags(target.name(), &tags)?;
        match target {
            TagTarget::StateMachine(name) => self
                .store()
                .tag_machine(&tenant.id, name, tags)
                .await
                .map_err(|e| tag_error(e, target)),
        }
    }

    /// Removes tags by key (keys not set are ignored).
    pub async fn untag_resource(
        &self,
        tenant: &TenantRecord,
        target: &TagTarget,
        keys: Vec<String>,
    ) -> Result<(), ServiceError> {
        for k in &keys {
            check_tag_key(k)?;
        }
        match target {
            TagTarget::StateMachine(name) => self
                .store()
                .untag_machine(&tenant.id, name, keys)
                .await
                .map_err(|e| tag_error(e, target)),
        }
    }

    /// A resource's tags.
    pub fn list_tags_for_resource(
        &self,
        tenant: &TenantRecord,
        target: &TagTarget,
    ) -> Result<Vec<Tag>, ServiceError> {
        match target {
            TagTarget::StateMachine(name) => {
                self.latest_machine(tenant, name)
                    .map_err(|_| not_found(target.name()))?;
                Ok(self.store().machine_tags(&tenant.id, name)?)
            }
        }
    }
}
