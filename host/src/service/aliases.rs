//! State machine aliases: a name routing starts to one or two published versions by
//! integer weights summing to 100 (AWS's routingConfiguration).

use super::machines::{check_description, machine_error};
use super::names::{MachineRef, Qualifier, check_alias_name};
use super::paging::{self, Page};
use super::{Resource, Service, ServiceError};
use crate::store::{AliasRecord, RouteWeight, StoreError, TenantRecord};

/// One entry of a routing configuration, as a caller gives it: a version reference
/// (`NAME:N` or its ARN, parsed by the caller's wire layer) and a weight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// The version it routes to.
    pub version: MachineRef,
    /// Its weight, 0-100.
    pub weight: i64,
}

/// Checks a routing configuration: one or two distinct versions of `name`, weights 0-100
/// summing to 100 (AWS's `INVALID_ROUTING_CONFIGURATION` otherwise).
pub fn check_routing(name: &str, routes: &[Route]) -> Result<Vec<RouteWeight>, ServiceError> {
    let bad = |why: &str| {
        Err(ServiceError::Validation {
            message: format!("invalid routing configuration: {why}"),
        })
    };
    if routes.is_empty() || routes.len() > 2 {
        return bad("it routes to one or two versions");
    }
    let mut out = Vec::new();
    for r in routes {
        let Some(Qualifier::Version(v)) = r.version.qualifier else {
            return bad("each route names a version (NAME:N)");
        };
        if r.version.name != name {
            return bad("every version must belong to the alias's state machine");
        }
        if !(0..=100).contains(&r.weight) {
            return bad("a weight is between 0 and 100");
        }
        if out.iter().any(|o: &RouteWeight| o.version == v) {
            return bad("the two routes must name different versions");
        }
        out.push(RouteWeight {
            version: v,
            weight: r.weight as u32,
        });
    }
    if out.iter().map(|r| r.weight).sum::<u32>() != 100 {
        return bad("the weights must sum to 100");
    }
    Ok(out)
}

fn alias_error(e: StoreError, name: &str, alias: &str) -> ServiceError {
    match e {
        StoreError::NotFound {
            what: "state machine alias",
            ..
        } => ServiceError::NotFound {
            what: Resource::StateMachineAlias,
            name: format!("{name}:{alias}"),
        },
        StoreError::NotFound {
            what: "state machine version",
            name,
        } => ServiceError::NotFound {
            what: Resource::StateMachineVersion,
            name,
        },
        StoreError::AlreadyExists { .. } => ServiceError::Conflict {
            reason: format!("alias '{alias}' of '{name}' already exists with other settings"),
        },
        other => machine_error(other, name),
    }
}

impl Service {
    /// Creates an alias of `name` (the same settings again return it unchanged).
    pub async fn create_state_machine_alias(
        &self,
        tenant: &TenantRecord,
        name: &str,
        alias: &str,
        description: Option<String>,
        routing: &[Route],
    ) -> Result<AliasRecord, ServiceError> {
        check_alias_name(alias)?;
        check_description(description.as_deref())?;
        let routing = check_routing(name, routing)?;
        self.latest_machine(tenant, name)?;
        let rec = AliasRecord {
            name: name.to_string(),
            alias: alias.to_string(),
            description,
            routing,
            created_ms: 0,
            updated_ms: 0,
        };
        self.store()
            .create_alias(&tenant.id, rec)
            .await
            .map_err(|e| alias_error(e, name, alias))
    }

    /// One alias.
    pub fn describe_state_machine_alias(
        &self,
        tenant: &TenantRecord,
        name: &str,
        alias: &str,
    ) -> Result<AliasRecord, ServiceError> {
        self.store()
            .alias(&tenant.id, name, alias)?
            .ok_or_else(|| ServiceError::NotFound {
                what: Resource::StateMachineAlias,
                name: format!("{name}:{alias}"),
            })
    }

    /// Changes an alias's description and/or routing (at least one is required).
    pub async fn update_state_machine_alias(
        &self,
        tenant: &TenantRecord,
        name: &str,
        alias: &str,
        description: Option<String>,
        routing: Option<&[Route]>,
    ) -> Result<AliasRecord, ServiceError> {
        if description.is_none() && routing.is_none() {
            return Err(ServiceError::Validation {
                message: "an alias update needs description or routingConfiguration".into(),
            });
        }
        check_description(description.as_deref())?;
        let routing = routing.map(|r| check_routing(name, r)).transpose()?;
        self.store()
            .update_alias(&tenant.id, name, alias, description, routing)
            .await
            .map_err(|e| alias_error(e, name, alias))
    }

    /// Deletes an alias (the versions it routes to stay).
    pub async fn delete_state_machine_alias(
        &self,
        tenant: &TenantRecord,
        name: &str,
        alias: &str,
    ) -> Result<(), ServiceError> {
        self.store()
            .delete_alias(&tenant.id, name, alias)
            .await
            .map_err(|e| alias_error(e, name, alias))
    }

    /// A page of a state machine's aliases, newest first; given a version reference, only
    /// the aliases that route to that version.
    pub fn list_state_machine_aliases(
        &self,
        tenant: &TenantRecord,
        target: &MachineRef,
        max_results: Option<i64>,
        next_token: Option<&str>,
    ) -> Result<Page<AliasRecord>, ServiceError> {
        let name = &target.name;
        let version = match &target.qualifier {
            None => None,
            Some(Qualifier::Version(v)) => {
                self.published_version(tenant, name, *v)?;
                Some(*v)
            }
            Some(Qualifier::Alias(_)) => {
                return Err(ServiceError::InvalidArn {
                    arn: target.to_string(),
                    reason: "aliases are listed for a state machine or a version".into(),
                });
            }
        };
        self.latest_machine(tenant, name)?;
        let limit = paging::page_size(max_results)?;
        let list = format!("aliases:{target}");
        let after = next_token
            .map(|t| paging::decode(t, &list, &tenant.id))
            .transpose()?;
        let mut all = self.store().aliases(&tenant.id, name)?;
        all.retain(|a| version.is_none_or(|v| a.routing.iter().any(|r| r.version == v)));
        // Newest first; the name breaks ties, so the order is total and a cursor exact.
        all.sort_by(|a, b| (b.created_ms, &b.alias).cmp(&(a.created_ms, &a.alias)));
        if let Some(after) = after {
            let (ms, alias) = after
                .split_once(':')
                .ok_or_else(|| ServiceError::InvalidToken {
                    reason: "the token's position is not one this server issues".into(),
                })?;
            let ms: i64 = ms.parse().map_err(|_| ServiceError::InvalidToken {
                reason: "the token's position is not one this server issues".into(),
            })?;
            all.retain(|a| (a.created_ms, a.alias.as_str()) < (ms, alias));
        }
        let next_token = if all.len() > limit {
            all.truncate(limit);
            all.last().map(|a| {
                paging::encode(&list, &tenant.id, &format!("{}:{}", a.created_ms, a.alias))
            })
        } else {
            None
        };
        Ok(Page {
            items: all,
            next_token,
            damaged: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(text: &str, weight: i64) -> Route {
        Route {
            version: MachineRef::parse(text).unwrap(),
            weight,
        }
    }

    #[test]
    fn routing_rules() {
        assert_eq!(
            check_routing("m", &[route("m:1", 70), route("m:2", 30)]).unwrap(),
            vec![
                RouteWeight {
                    version: 1,
                    weight: 70
                },
                RouteWeight {
                    version: 2,
                    weight: 30
                }
            ]
        );
        assert!(check_routing("m", &[route("m:1", 100)]).is_ok());
        for bad in [
            vec![],
            vec![route("m:1", 60), route("m:2", 30)],
            vec![route("m:1", 50), route("m:1", 50)],
            vec![route("m:1", 110), route("m:2", -10)],
            vec![route("other:1", 100)],
            vec![route("m", 100)],
            vec![route("m:prod", 100)],
            vec![route("m:1", 50), route("m:2", 25), route("m:3", 25)],
        ] {
            assert!(check_routing("m", &bad).is_err(), "{bad:?} accepted");
        }
    }
}
