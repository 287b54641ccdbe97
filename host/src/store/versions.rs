//! AWS's state machine versions, aliases and tags: published versions (immutable, numbered
//! from 1, never renumbered), aliases routing to one or two of them, and tags on state
//! machines. Rules that need the write transaction (numbering, an alias pinning a version,
//! count limits) are checked here, inside the writer's job; the rest are the service's.

use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::records::{
    LoggingConfiguration, MachineType, StateMachineVersion, TracingConfiguration,
};
use super::schema::{MACHINE_ALIASES, MACHINE_VERSIONS, TAGS, Tables};
use super::writer::wait;
use super::{Result, Store, StoreError, decode, encode, now_ms};

/// Most published versions a state machine may have (AWS: 1,000).
pub const MAX_VERSIONS: usize = 1000;
/// Most aliases a state machine may have (AWS: 100).
pub const MAX_ALIASES: usize = 100;
/// Most tags a resource may carry (AWS: 50).
pub const MAX_TAGS: usize = 50;

/// One of AWS's published versions: an immutable snapshot of one revision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishedVersion {
    /// State machine name.
    pub name: String,
    /// Version number, from 1, never reused.
    pub version: u64,
    /// The revision (`state_machines` row) it snapshots.
    pub revision: u64,
    /// That revision's `revisionId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_id: Option<String>,
    /// `versionDescription` / `description`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// When it was published, Unix milliseconds.
    pub created_ms: i64,
}

/// One route of an alias: a version and its share of starts, in percent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteWeight {
    /// Published version number.
    pub version: u64,
    /// Weight, 0-100; the routes of an alias sum to 100.
    pub weight: u32,
}

/// A state machine alias.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AliasRecord {
    /// State machine name.
    pub name: String,
    /// Alias name.
    pub alias: String,
    /// Its description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// One or two routes.
    pub routing: Vec<RouteWeight>,
    /// Creation time, Unix milliseconds.
    pub created_ms: i64,
    /// Last update, Unix milliseconds.
    pub updated_ms: i64,
}

/// A tag.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    /// Key, 1-128 characters.
    pub key: String,
    /// Value, 0-256 characters.
    pub value: String,
}

/// Per state machine bookkeeping of numbers.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct MachineMeta {
    /// Last version number handed out (from 1 again after the state machine is deleted).
    last_version: u64,
    /// Last revision number handed out. Kept across a delete, so a state machine created
    /// again under the same name never reuses a revision number: executions, and the
    /// caches of compiled definitions, name a revision by (tenant, name, number).
    #[serde(default)]
    last_revision: u64,
}

fn meta_of(tb: &Tables<'_>, tenant: &str, name: &str) -> Result<MachineMeta> {
    Ok(match tb.machine_meta.get((tenant, name))? {
        Some(v) => decode(v.value(), "machine_meta", name)?,
        None => MachineMeta::default(),
    })
}

/// The number of the next revision of `name`, after `last` (its newest stored revision);
/// recorded as handed out.
pub(super) fn next_revision(
    tb: &mut Tables<'_>,
    tenant: &str,
    name: &str,
    last: Option<u64>,
) -> Result<u64> {
    let mut meta = meta_of(tb, tenant, name)?;
    meta.last_revision = meta.last_revision.max(last.unwrap_or(0)) + 1;
    tb.machine_meta
        .insert((tenant, name), encode(&meta).as_slice())?;
    Ok(meta.last_revision)
}

/// A revision to store (create or update).
#[derive(Clone, Debug)]
pub struct NewRevision {
    /// The ASL definition.
    pub definition: String,
    /// STANDARD or EXPRESS.
    pub machine_type: MachineType,
    /// The caller's role ARN.
    pub role_arn: Option<String>,
    /// Logging configuration.
    pub logging: LoggingConfiguration,
    /// Tracing configuration.
    pub tracing: TracingConfiguration,
}

/// The revision check of a publish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RevisionCheck {
    /// Publish whatever is current.
    Any,
    /// Publish only if the current revision has this `revisionId` (`None`: AWS's
    /// `INITIAL`, the revision made by create).
    Expect(Option<String>),
}

/// The tag key of a state machine (kind and name, so ARNs' region never matters).
pub(super) fn machine_tag_key(name: &str) -> String {
    format!("stateMachine:{name}")
}

type Key3 = (&'static str, &'static str, u64);

fn versions_of(
    t: &impl ReadableTable<Key3, &'static [u8]>,
    tenant: &str,
    name: &str,
) -> Result<Vec<PublishedVersion>> {
    t.range((tenant, name, 0u64)..=(tenant, name, u64::MAX))?
        .map(|row| decode(row?.1.value(), "machine_versions", name))
        .collect()
}

fn aliases_of(
    t: &impl ReadableTable<(&'static str, &'static str, &'static str), &'static [u8]>,
    tenant: &str,
    name: &str,
) -> Result<Vec<AliasRecord>> {
    // Alias names are ASCII, so "" .. "\u{7f}" spans them all.
    t.range((tenant, name, "")..=(tenant, name, "\u{7f}"))?
        .map(|row| decode(row?.1.value(), "machine_aliases", name))
        .collect()
}

/// Publishes the current revision of `name` inside a write job (idempotent: a revision
/// already published returns its version). `None`: the state machine does not exist.
pub(super) fn publish_in(
    tb: &mut Tables<'_>,
    tenant: &str,
    current: &StateMachineVersion,
    description: Option<String>,
) -> Result<PublishedVersion> {
    let name = current.name.as_str();
    let existing = versions_of(&tb.machine_versions, tenant, name)?;
    if let Some(v) = existing.iter().find(|v| v.revision == current.version) {
        return Ok(v.clone());
    }
    if existing.len() >= MAX_VERSIONS {
        return Err(StoreError::LimitExceeded {
            what: "published versions per state machine",
            limit: MAX_VERSIONS,
        });
    }
    let mut meta = meta_of(tb, tenant, name)?;
    meta.last_version += 1;
    let v = PublishedVersion {
        name: name.to_string(),
        version: meta.last_version,
        revision: current.version,
        revision_id: current.revision_id.clone(),
        description,
        created_ms: now_ms(),
    };
    tb.machine_meta
        .insert((tenant, name), encode(&meta).as_slice())?;
    tb.machine_versions
        .insert((tenant, name, v.version), encode(&v).as_slice())?;
    Ok(v)
}

/// Removes every version, alias and tag of a state machine (the revision counter stays).
pub(super) fn forget_machine(tb: &mut Tables<'_>, tenant: &str, name: &str) -> Result<()> {
    tb.machine_versions
        .retain_in((tenant, name, 0u64)..=(tenant, name, u64::MAX), |_, _| {
            false
        })?;
    tb.machine_aliases
        .retain_in((tenant, name, "")..=(tenant, name, "\u{7f}"), |_, _| false)?;
    let meta = MachineMeta {
        last_version: 0,
        ..meta_of(tb, tenant, name)?
    };
    tb.machine_meta
        .insert((tenant, name), encode(&meta).as_slice())?;
    tb.tags.remove((tenant, machine_tag_key(name).as_str()))?;
    Ok(())
}

fn latest_revision(tb: &Tables<'_>, tenant: &str, name: &str) -> Result<StateMachineVersion> {
    let mut range = tb
        .state_machines
        .range((tenant, name, 0u64)..=(tenant, name, u64::MAX))?;
    match range.next_back() {
        Some(row) => decode(row?.1.value(), "state_machines", name),
        None => Err(StoreError::NotFound {
            what: "state machine",
            name: name.to_string(),
        }),
    }
}

fn check_routes(tb: &Tables<'_>, tenant: &str, name: &str, routes: &[RouteWeight]) -> Result<()> {
    for r in routes {
        if tb
            .machine_versions
            .get((tenant, name, r.version))?
            .is_none()
        {
            return Err(StoreError::NotFound {
                what: "state machine version",
                name: format!("{name}:{}", r.version),
            });
        }
    }
    Ok(())
}

impl Store {
    /// Publishes the current revision of a state machine as a new version (or returns the
    /// version that already snapshots it). `Conflict` when `check` does not match.
    pub async fn publish_version(
        &self,
        tenant: &str,
        name: &str,
        check: RevisionCheck,
        description: Option<String>,
    ) -> Result<PublishedVersion> {
        let (tenant, name) = (tenant.to_string(), name.to_string());
        wait(self.writer.submit(move |tb| {
            let current = latest_revision(tb, &tenant, &name)?;
            if let RevisionCheck::Expect(want) = &check
                && *want != current.revision_id
            {
                return Err(StoreError::Conflict {
                    reason: format!(
                        "revisionId {} does not match the current revision of '{name}' ({})",
                        want.as_deref().unwrap_or("INITIAL"),
                        current.revision_id.as_deref().unwrap_or("INITIAL"),
                    ),
                });
            }
            publish_in(tb, &tenant, &current, description)
        }))
        .await
    }

    /// One published version.
    pub fn published_version(
        &self,
        tenant: &str,
        name: &str,
        version: u64,
    ) -> Result<Option<PublishedVersion>> {
        let txn = self.slot.begin_read()?;
        let t = txn.open_table(MACHINE_VERSIONS)?;
        t.get((tenant, name, version))?
            .map(|v| decode(v.value(), "machine_versions", name))
            .transpose()
    }

    /// A state machine's published versions, newest first, below `before` (a version
    /// number), up to `limit`.
    pub fn published_versions(
        &self,
        tenant: &str,
        name: &str,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<PublishedVersion>> {
        let txn = self.slot.begin_read()?;
        let t = txn.open_table(MACHINE_VERSIONS)?;
        let upper = before.unwrap_or(u64::MAX);
        t.range((tenant, name, 0u64)..(tenant, name, upper))?
            .rev()
            .take(limit)
            .map(|row| decode(row?.1.value(), "machine_versions", name))
            .collect()
    }

    /// Deletes a published version; `Conflict` while an alias routes to it. Deleting a
    /// version that does not exist succeeds (as in AWS).
    pub async fn delete_published_version(
        &self,
        tenant: &str,
        name: &str,
        version: u64,
    ) -> Result<()> {
        let (tenant, name) = (tenant.to_string(), name.to_string());
        wait(self.writer.submit(move |tb| {
            let aliases = aliases_of(&tb.machine_aliases, &tenant, &name)?;
            if let Some(a) = aliases
                .iter()
                .find(|a| a.routing.iter().any(|r| r.version == version))
            {
                return Err(StoreError::Conflict {
                    reason: format!(
                        "version {version} of '{name}' is routed to by alias '{}'; update or \
                         delete the alias first",
                        a.alias
                    ),
                });
            }
            tb.machine_versions
                .remove((tenant.as_str(), name.as_str(), version))?;
            Ok(())
        }))
        .await
    }

    /// Creates an alias (`AlreadyExists` for a name in use with other settings; the same
    /// settings return the existing alias, as AWS's idempotent create does).
    pub async fn create_alias(&self, tenant: &str, mut alias: AliasRecord) -> Result<AliasRecord> {
        let tenant = tenant.to_string();
        wait(self.writer.submit(move |tb| {
            let (t, n, a) = (tenant.as_str(), alias.name.clone(), alias.alias.clone());
            latest_revision(tb, t, &n)?;
            if let Some(v) = tb.machine_aliases.get((t, n.as_str(), a.as_str()))? {
                let found: AliasRecord = decode(v.value(), "machine_aliases", &n)?;
                if found.description == alias.description && found.routing == alias.routing {
                    return Ok(found);
                }
                return Err(StoreError::AlreadyExists {
                    what: "state machine alias",
                    name: a,
                });
            }
            if aliases_of(&tb.machine_aliases, t, &n)?.len() >= MAX_ALIASES {
                return Err(StoreError::LimitExceeded {
                    what: "aliases per state machine",
                    limit: MAX_ALIASES,
                });
            }
            check_routes(tb, t, &n, &alias.routing)?;
            alias.created_ms = now_ms();
            alias.updated_ms = alias.created_ms;
            tb.machine_aliases
                .insert((t, n.as_str(), a.as_str()), encode(&alias).as_slice())?;
            Ok(alias)
        }))
        .await
    }

    /// Changes an alias's description and/or routing.
    pub async fn update_alias(
        &self,
        tenant: &str,
        name: &str,
        alias: &str,
        description: Option<String>,
        routing: Option<Vec<RouteWeight>>,
    ) -> Result<AliasRecord> {
        let (tenant, name, alias) = (tenant.to_string(), name.to_string(), alias.to_string());
        wait(self.writer.submit(move |tb| {
            let key = (tenant.as_str(), name.as_str(), alias.as_str());
            let mut rec: AliasRecord = match tb.machine_aliases.get(key)? {
                Some(v) => decode(v.value(), "machine_aliases", &name)?,
                None => {
                    return Err(StoreError::NotFound {
                        what: "state machine alias",
                        name: alias.clone(),
                    });
                }
            };
            if let Some(routing) = routing {
                check_routes(tb, &tenant, &name, &routing)?;
                rec.routing = routing;
            }
            if description.is_some() {
                rec.description = description;
            }
            rec.updated_ms = now_ms();
            tb.machine_aliases.insert(key, encode(&rec).as_slice())?;
            Ok(rec)
        }))
        .await
    }

    /// Deletes an alias.
    pub async fn delete_alias(&self, tenant: &str, name: &str, alias: &str) -> Result<()> {
        let (tenant, name, alias) = (tenant.to_string(), name.to_string(), alias.to_string());
        wait(self.writer.submit(move |tb| {
            match tb
                .machine_aliases
                .remove((tenant.as_str(), name.as_str(), alias.as_str()))?
            {
                Some(_) => Ok(()),
                None => Err(StoreError::NotFound {
                    what: "state machine alias",
                    name: alias,
                }),
            }
        }))
        .await
    }

    /// One alias.
    pub fn alias(&self, tenant: &str, name: &str, alias: &str) -> Result<Option<AliasRecord>> {
        let txn = self.slot.begin_read()?;
        let t = txn.open_table(MACHINE_ALIASES)?;
        t.get((tenant, name, alias))?
            .map(|v| decode(v.value(), "machine_aliases", name))
            .transpose()
    }

    /// Every alias of a state machine (at most [`MAX_ALIASES`]), by name.
    pub fn aliases(&self, tenant: &str, name: &str) -> Result<Vec<AliasRecord>> {
        let txn = self.slot.begin_read()?;
        aliases_of(&txn.open_table(MACHINE_ALIASES)?, tenant, name)
    }

    /// The tags of a state machine, in the order they were first set.
    pub fn machine_tags(&self, tenant: &str, name: &str) -> Result<Vec<Tag>> {
        let txn = self.slot.begin_read()?;
        let t = txn.open_table(TAGS)?;
        Ok(match t.get((tenant, machine_tag_key(name).as_str()))? {
            Some(v) => decode(v.value(), "tags", name)?,
            None => Vec::new(),
        })
    }

    /// Adds or overwrites tags of an existing state machine; `LimitExceeded` past
    /// [`MAX_TAGS`].
    pub async fn tag_machine(&self, tenant: &str, name: &str, tags: Vec<Tag>) -> Result<()> {
        let (tenant, name) = (tenant.to_string(), name.to_string());
        wait(self.writer.submit(move |tb| {
            latest_revision(tb, &tenant, &name)?;
            set_tags(tb, &tenant, &machine_tag_key(&name), tags)
        }))
        .await
    }

    /// Removes tags (by key) of an existing state machine; absent keys are ignored.
    pub async fn untag_machine(&self, tenant: &str, name: &str, keys: Vec<String>) -> Result<()> {
        let (tenant, name) = (tenant.to_string(), name.to_string());
        wait(self.writer.submit(move |tb| {
            latest_revision(tb, &tenant, &name)?;
            let key = machine_tag_key(&name);
            let mut current: Vec<Tag> = match tb.tags.get((tenant.as_str(), key.as_str()))? {
                Some(v) => decode(v.value(), "tags", &name)?,
                None => return Ok(()),
            };
            current.retain(|t| !keys.contains(&t.key));
            if current.is_empty() {
                tb.tags.remove((tenant.as_str(), key.as_str()))?;
            } else {
                tb.tags
                    .insert((tenant.as_str(), key.as_str()), encode(&current).as_slice())?;
            }
            Ok(())
        }))
        .await
    }
}

/// Merges `tags` into a resource's tags (a key already set takes the new value).
pub(super) fn set_tags(tb: &mut Tables<'_>, tenant: &str, key: &str, tags: Vec<Tag>) -> Result<()> {
    let mut current: Vec<Tag> = match tb.tags.get((tenant, key))? {
        Some(v) => decode(v.value(), "tags", key)?,
        None => Vec::new(),
    };
    for tag in tags {
        match current.iter_mut().find(|t| t.key == tag.key) {
            Some(t) => t.value = tag.value,
            None => current.push(tag),
        }
    }
    if current.len() > MAX_TAGS {
        return Err(StoreError::LimitExceeded {
            what: "tags per resource",
            limit: MAX_TAGS,
        });
    }
    tb.tags.insert((tenant, key), encode(&current).as_slice())?;
    Ok(())
}
