//! AWS's published state machine versions: publish (with the `revisionId` check), list
//! (newest first), delete (refused while an alias routes to it), describe a state machine
//! or one of its versions, and resolve what a start on a plain, version or alias reference
//! runs.
//!
//! Revisions and versions are distinct: every create and update stores a revision (what an
//! execution runs, numbered internally); a published version is an immutable, numbered
//! pointer at one revision, as AWS has it.

use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::machines::{check_description, machine_error};
use super::names::{MachineRef, Qualifier};
use super::paging::{self, Page};
use super::{Resource, Service, ServiceError};
use crate::store::{
    AliasRecord, PublishedVersion, RevisionCheck, StateMachineVersion, TenantRecord,
};

/// What a state machine reference describes: the revision, plus the version it is.
#[derive(Clone, Debug)]
pub struct MachineDescription {
    /// The revision (definition, type, configuration).
    pub revision: Arc<StateMachineVersion>,
    /// The published version, when the reference named one.
    pub version: Option<PublishedVersion>,
}

/// What a start runs: the revision, and the version and alias it was reached through.
#[derive(Clone, Debug)]
pub struct StartTarget {
    /// The revision to run.
    pub revision: Arc<StateMachineVersion>,
    /// The published version (version or alias starts).
    pub version: Option<u64>,
    /// The alias (alias starts).
    pub alias: Option<String>,
}

/// Parses AWS's `revisionId` argument of PublishStateMachineVersion (`INITIAL` names the
/// revision made by create).
pub fn revision_check(revision_id: Option<&str>) -> RevisionCheck {
    match revision_id {
        None => RevisionCheck::Any,
        Some("INITIAL") => RevisionCheck::Expect(None),
        Some(id) => RevisionCheck::Expect(Some(id.to_string())),
    }
}

/// Picks a route of an alias by weight. The draw is a hash of the execution's ARN: random
/// across executions (names are unique; generated ones are UUIDs), and the same for a
/// repeated idempotent start of one execution.
pub fn pick_route(alias: &AliasRecord, execution_arn: &str) -> Option<u64> {
    let digest = Sha256::digest(execution_arn.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let draw = (u64::from_be_bytes(first) % 100) as u32;
    let mut acc = 0;
    for r in &alias.routing {
        acc += r.weight;
        if draw < acc {
            return Some(r.version);
        }
    }
    alias.routing.last().map(|r| r.version)
}

impl Service {
    fn version_not_found(name: &str, version: u64) -> ServiceError {
        ServiceError::NotFound {
            what: Resource::StateMachineVersion,
            name: format!("{name}:{version}"),
        }
    }

    /// A published version and the revision it snapshots.
    pub fn published_version(
        &self,
        tenant: &TenantRecord,
        name: &str,
        version: u64,
    ) -> Result<(PublishedVersion, Arc<StateMachineVersion>), ServiceError> {
        let v = self
            .store()
            .published_version(&tenant.id, name, version)?
            .ok_or_else(|| Self::version_not_found(name, version))?;
        let revision = self.revision(&tenant.id, name, v.revision)?;
        Ok((v, revision))
    }

    /// Publishes the current revision as a version (or returns the version that already
    /// snapshots it). `revision_id` must match the current revision when given
    /// (`ConflictException` otherwise).
    pub async fn publish_state_machine_version(
        &self,
        tenant: &TenantRecord,
        name: &str,
        revision_id: Option<&str>,
        description: Option<String>,
    ) -> Result<PublishedVersion, ServiceError> {
        check_description(description.as_deref())?;
        self.store()
            .publish_version(&tenant.id, name, revision_check(revision_id), description)
            .await
            .map_err(|e| machine_error(e, name))
    }

    /// A page of a state machine's published versions, newest first.
    pub fn list_state_machine_versions(
        &self,
        tenant: &TenantRecord,
        name: &str,
        max_results: Option<i64>,
        next_token: Option<&str>,
    ) -> Result<Page<PublishedVersion>, ServiceError> {
        self.latest_machine(tenant, name)?;
        let limit = paging::page_size(max_results)?;
        let list = format!("versions:{name}");
        let before = next_token
            .map(|t| paging::decode_u64(t, &list, &tenant.id))
            .transpose()?;
        let mut items = self
            .store()
            .published_versions(&tenant.id, name, before, limit + 1)?;
        let next_token = if items.len() > limit {
            items.truncate(limit);
            items
                .last()
                .map(|v| paging::encode(&list, &tenant.id, &v.version.to_string()))
        } else {
            None
        };
        Ok(Page {
            items,
            next_token,
            damaged: Vec::new(),
        })
    }

    /// Deletes a published version (its running executions go on). `ConflictException`
    /// while an alias routes to it; a version that does not exist is no error (as in AWS).
    pub async fn delete_state_machine_version(
        &self,
        tenant: &TenantRecord,
        name: &str,
        version: u64,
    ) -> Result<(), ServiceError> {
        self.store()
            .delete_published_version(&tenant.id, name, version)
            .await
            .map_err(|e| machine_error(e, name))
    }

    /// DescribeStateMachine: the latest revision of a state machine, or a version's.
    /// An alias is not described this way (DescribeStateMachineAlias is).
    pub fn describe_machine(
        &self,
        tenant: &TenantRecord,
        target: &MachineRef,
    ) -> Result<MachineDescription, ServiceError> {
        match &target.qualifier {
            None => Ok(MachineDescription {
                revision: self.latest_machine(tenant, &target.name)?,
                version: None,
            }),
            Some(Qualifier::Version(v)) => {
                let (version, revision) = self.published_version(tenant, &target.name, *v)?;
                Ok(MachineDescription {
                    revision,
                    version: Some(version),
                })
            }
            Some(Qualifier::Alias(_)) => Err(ServiceError::Validation {
                message: format!(
                    "'{target}' is an alias; describe it with DescribeStateMachineAlias"
                ),
            }),
        }
    }

    /// What a start on `target` runs; `execution_arn` seeds an alias's weighted pick.
    pub fn start_target(
        &self,
        tenant: &TenantRecord,
        target: &MachineRef,
        execution_arn: &str,
    ) -> Result<StartTarget, ServiceError> {
        match &target.qualifier {
            None => Ok(StartTarget {
                revision: self.latest_machine(tenant, &target.name)?,
                version: None,
                alias: None,
            }),
            Some(Qualifier::Version(v)) => {
                let (_, revision) = self.published_version(tenant, &target.name, *v)?;
                Ok(StartTarget {
                    revision,
                    version: Some(*v),
                    alias: None,
                })
            }
            Some(Qualifier::Alias(a)) => {
                let alias = self.describe_state_machine_alias(tenant, &target.name, a)?;
                let version =
                    pick_route(&alias, execution_arn).ok_or_else(|| ServiceError::Internal {
                        detail: format!("alias '{a}' has no routes"),
                    })?;
                let (_, revision) = self.published_version(tenant, &target.name, version)?;
                Ok(StartTarget {
                    revision,
                    version: Some(version),
                    alias: Some(a.clone()),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::RouteWeight;

    #[test]
    fn routes_follow_weights() {
        let alias = AliasRecord {
            name: "m".into(),
            alias: "a".into(),
            description: None,
            routing: vec![
                RouteWeight {
                    version: 1,
                    weight: 70,
                },
                RouteWeight {
                    version: 2,
                    weight: 30,
                },
            ],
            created_ms: 0,
            updated_ms: 0,
        };
        let n = 10_000;
        let ones = (0..n)
            .filter(|i| pick_route(&alias, &format!("arn:x:execution:m:{i}")) == Some(1))
            .count();
        assert!((6800..=7200).contains(&ones), "{ones} of {n}");
        // The same execution always gets the same version.
        assert_eq!(pick_route(&alias, "e"), pick_route(&alias, "e"));
        let all_two = AliasRecord {
            routing: vec![
                RouteWeight {
                    version: 1,
                    weight: 0,
                },
                RouteWeight {
                    version: 2,
                    weight: 100,
                },
            ],
            ..alias
        };
        assert!((0..100).all(|i| pick_route(&all_two, &i.to_string()) == Some(2)));
    }

    #[test]
    fn revision_ids() {
        assert_eq!(revision_check(None), RevisionCheck::Any);
        assert_eq!(revision_check(Some("INITIAL")), RevisionCheck::Expect(None));
        assert_eq!(
            revision_check(Some("r")),
            RevisionCheck::Expect(Some("r".into()))
        );
    }
}
