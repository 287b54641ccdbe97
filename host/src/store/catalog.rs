//! Components (content-addressed bytes, immutable named versions, precompiled artifacts)
//! and state machines (immutable named versions of a definition).

use redb::{ReadableTable, ReadableTableMetadata};

use super::records::{ComponentVersion, StateMachineVersion};
use super::schema::{ARTIFACTS, BLOBS, COMPONENTS, STATE_MACHINES};
use super::tenants::{UsageTable, charge, signed, usage_in};
use super::versions::{self, NewRevision, PublishedVersion, Tag};
use super::writer::wait;
use super::{Result, Store, StoreError, decode, encode, now_ms, seal};
use sha2::Digest as _;

/// A new component version to store.
#[derive(Clone, Debug)]
pub struct NewComponent {
    /// Owning tenant.
    pub tenant: String,
    /// Component name.
    pub name: String,
    /// The component bytes.
    pub bytes: Vec<u8>,
    /// sha256 of `bytes`, lowercase hex.
    pub sha256: String,
    /// Imported interfaces.
    pub imports: Vec<String>,
    /// Exported interfaces.
    pub exports: Vec<String>,
}

/// How a state machine write relates to existing versions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Revision {
    /// Create: the name must be new.
    Create,
    /// Update: the name must exist; adds the next version.
    Update,
}

/// Last version number stored under (tenant, name) in a versioned table.
fn last_version(
    table: &impl ReadableTable<(&'static str, &'static str, u64), &'static [u8]>,
    tenant: &str,
    name: &str,
) -> Result<Option<u64>> {
    let mut range = table.range((tenant, name, 0u64)..=(tenant, name, u64::MAX))?;
    Ok(match range.next_back() {
        Some(row) => Some(row?.0.value().2),
        None => None,
    })
}

/// Every version of one of a tenant's names, oldest first.
fn all_versions<T: serde::de::DeserializeOwned>(
    table: &impl ReadableTable<(&'static str, &'static str, u64), &'static [u8]>,
    tenant: &str,
    name: &str,
    table_name: &'static str,
) -> Result<Vec<T>> {
    table
        .range((tenant, name, 0u64)..=(tenant, name, u64::MAX))?
        .map(|row| {
            let (k, v) = row?;
            let (_, name, version) = k.value();
            decode(v.value(), table_name, &format!("{tenant}/{name}:{version}"))
        })
        .collect()
}

/// Names (with their latest version's record) of one tenant's rows, after `after`, up to
/// `limit`.
fn list_latest<T: serde::de::DeserializeOwned>(
    table: &impl ReadableTable<(&'static str, &'static str, u64), &'static [u8]>,
    tenant: &str,
    after: Option<&str>,
    limit: usize,
    table_name: &'static str,
) -> Result<Vec<T>> {
    let start = after.unwrap_or("");
    let mut out: Vec<(String, T)> = Vec::new();
    for row in table.range((tenant, start, 0u64)..)? {
        let (k, v) = row?;
        let (t, name, _) = k.value();
        if t != tenant {
            break;
        }
        if after.is_some_and(|a| name <= a) {
            continue;
        }
        let rec: T = decode(v.value(), table_name, &format!("{t}/{name}"))?;
        match out.last_mut() {
            Some((n, r)) if n == name => *r = rec,
            _ => {
                if out.len() == limit {
                    break;
                }
                out.push((name.to_string(), rec));
            }
        }
    }
    Ok(out.into_iter().map(|(_, r)| r).collect())
}

fn check_quota(usage: &UsageTable<'_>, tenant: &str, add: u64, limit: u64) -> Result<()> {
    let needed = usage_in(usage, tenant)?.saturating_add(add);
    if needed > limit {
        return Err(StoreError::QuotaExceeded {
            tenant: tenant.to_string(),
            limit,
            needed,
        });
    }
    Ok(())
}

impl Store {
    /// Stores a new version of a component (version = last + 1), keeping the bytes once per
    /// hash. Fails with `QuotaExceeded` past `stored_bytes_limit`.
    pub async fn put_component(
        &self,
        new: NewComponent,
        stored_bytes_limit: u64,
    ) -> Result<ComponentVersion> {
        wait(self.writer.submit(move |tb| {
            let size = new.bytes.len() as u64;
            check_quota(&tb.usage, &new.tenant, size, stored_bytes_limit)?;
            let comps = &mut tb.components;
            let version = last_version(&*comps, &new.tenant, &new.name)?.unwrap_or(0) + 1;
            let rec = ComponentVersion {
                name: new.name.clone(),
                version,
                sha256: new.sha256.clone(),
                size,
                imports: new.imports,
                exports: new.exports,
                created_ms: now_ms(),
            };
            comps.insert(
                (new.tenant.as_str(), new.name.as_str(), version),
                encode(&rec).as_slice(),
            )?;
            let refs = &mut tb.blob_refs;
            let count = refs
                .get(new.sha256.as_str())?
                .map(|v| v.value())
                .unwrap_or(0);
            if count == 0 {
                tb.blobs.insert(new.sha256.as_str(), new.bytes.as_slice())?;
            }
            refs.insert(new.sha256.as_str(), count + 1)?;
            charge(tb, &new.tenant, signed(size))?;
            Ok(rec)
        }))
        .await
    }

    /// One version of a component (`None`: the latest).
    pub fn component(
        &self,
        tenant: &str,
        name: &str,
        version: Option<u64>,
    ) -> Result<Option<ComponentVersion>> {
        let txn = self.slot.begin_read()?;
        let t = txn.open_table(COMPONENTS)?;
        let version = match version {
            Some(v) => v,
            None => match last_version(&t, tenant, name)? {
                Some(v) => v,
                None => return Ok(None),
            },
        };
        t.get((tenant, name, version))?
            .map(|v| {
                decode(
                    v.value(),
                    "components",
                    &format!("{tenant}/{name}:{version}"),
                )
            })
            .transpose()
    }

    /// Every version of a component, oldest first.
    pub fn component_versions(&self, tenant: &str, name: &str) -> Result<Vec<ComponentVersion>> {
        let txn = self.slot.begin_read()?;
        all_versions(&txn.open_table(COMPONENTS)?, tenant, name, "components")
    }

    /// Latest version of each of a tenant's components, by name, after `after`.
    pub fn list_components(
        &self,
        tenant: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ComponentVersion>> {
        let txn = self.slot.begin_read()?;
        let t = txn.open_table(COMPONENTS)?;
        list_latest(&t, tenant, after, limit, "components")
    }

    /// Deletes one component version; the bytes go when no version pins them any more.
    pub async fn delete_component_version(
        &self,
        tenant: &str,
        name: &str,
        version: u64,
    ) -> Result<ComponentVersion> {
        let (tenant, name) = (tenant.to_string(), name.to_string());
        wait(self.writer.submit(move |tb| {
            let comps = &mut tb.components;
            let rec: ComponentVersion =
                match comps.get((tenant.as_str(), name.as_str(), version))? {
                    Some(v) => decode(
                        v.value(),
                        "components",
                        &format!("{tenant}/{name}:{version}"),
                    )?,
                    None => {
                        return Err(StoreError::NotFound {
                            what: "component version",
                            name: format!("{name}:{version}"),
                        });
                    }
                };
            comps.remove((tenant.as_str(), name.as_str(), version))?;
            let refs = &mut tb.blob_refs;
            let count = refs
                .get(rec.sha256.as_str())?
                .map(|v| v.value())
                .unwrap_or(1);
            if count <= 1 {
                refs.remove(rec.sha256.as_str())?;
                tb.blobs.remove(rec.sha256.as_str())?;
                let arts = &mut tb.artifacts;
                let sha = rec.sha256.as_str();
                arts.retain_in((sha, "")..=(sha, "\u{10ffff}"), |_, _| false)?;
            } else {
                refs.insert(rec.sha256.as_str(), count - 1)?;
            }
            charge(tb, &tenant, -signed(rec.size))?;
            Ok(rec)
        }))
        .await
    }

    /// The bytes of a component, by hash.
    pub fn component_bytes(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        let txn = self.slot.begin_read()?;
        let t = txn.open_table(BLOBS)?;
        let Some(v) = t.get(sha256)? else {
            return Ok(None);
        };
        // Content-addressed: the hash is the checksum.
        let bytes = v.value().to_vec();
        if hex::encode(sha2::Sha256::digest(&bytes)) != sha256 {
            return Err(StoreError::Corrupt {
                table: "blobs",
                record: sha256.to_string(),
                detail: "content does not match its sha256".into(),
            });
        }
        Ok(Some(bytes))
    }

    /// Number of distinct component blobs stored.
    pub fn blob_count(&self) -> Result<u64> {
        let txn = self.slot.begin_read()?;
        Ok(txn.open_table(BLOBS)?.len()?)
    }

    /// Caches a precompiled artifact for a hash and an engine fingerprint.
    pub async fn put_artifact(
        &self,
        sha256: &str,
        fingerprint: &str,
        bytes: Vec<u8>,
    ) -> Result<()> {
        let (sha, fp) = (sha256.to_string(), fingerprint.to_string());
        wait(self.writer.submit(move |tb| {
            // Only for blobs that still exist, so a racing delete cannot leave an orphan.
            if tb.blobs.get(sha.as_str())?.is_none() {
                return Err(StoreError::NotFound {
                    what: "component blob",
                    name: sha,
                });
            }
            tb.artifacts
                .insert((sha.as_str(), fp.as_str()), seal::seal(bytes).as_slice())?;
            Ok(())
        }))
        .await
    }

    /// A cached precompiled artifact.
    pub fn artifact(&self, sha256: &str, fingerprint: &str) -> Result<Option<Vec<u8>>> {
        let txn = self.slot.begin_read()?;
        let t = txn.open_table(ARTIFACTS)?;
        t.get((sha256, fingerprint))?
            .map(|v| {
                seal::open(v.value(), "artifacts", || format!("{sha256}/{fingerprint}"))
                    .map(<[u8]>::to_vec)
            })
            .transpose()
    }

    /// Stores a state machine revision: a new name (`Create`, with its tags) or the next
    /// revision of an existing one (`Update`, with a fresh `revisionId`), and publishes it
    /// as a version in the same write when `publish` is `Some(description)`.
    #[allow(clippy::too_many_arguments)]
    pub async fn put_state_machine(
        &self,
        tenant: &str,
        name: &str,
        new: NewRevision,
        revision: Revision,
        publish: Option<Option<String>>,
        tags: Vec<Tag>,
        stored_bytes_limit: u64,
    ) -> Result<(StateMachineVersion, Option<PublishedVersion>)> {
        let (tenant, name) = (tenant.to_string(), name.to_string());
        wait(self.writer.submit(move |tb| {
            let last = last_version(&tb.state_machines, &tenant, &name)?;
            match (revision, last) {
                (Revision::Create, Some(_)) => {
                    return Err(StoreError::AlreadyExists {
                        what: "state machine",
                        name,
                    });
                }
                (Revision::Update, None) => {
                    return Err(StoreError::NotFound {
                        what: "state machine",
                        name,
                    });
                }
                _ => {}
            }
            let size = new.definition.len() as u64;
            check_quota(&tb.usage, &tenant, size, stored_bytes_limit)?;
            if tags.len() > versions::MAX_TAGS {
                return Err(StoreError::LimitExceeded {
                    what: "tags per resource",
                    limit: versions::MAX_TAGS,
                });
            }
            let rec = StateMachineVersion {
                name: name.clone(),
                version: versions::next_revision(tb, &tenant, &name, last)?,
                definition: new.definition,
                machine_type: new.machine_type,
                created_ms: now_ms(),
                revision_id: match revision {
                    Revision::Create => None,
                    Revision::Update => Some(uuid::Uuid::new_v4().to_string()),
                },
                role_arn: new.role_arn,
                logging: new.logging,
                tracing: new.tracing,
            };
            tb.state_machines.insert(
                (tenant.as_str(), name.as_str(), rec.version),
                encode(&rec).as_slice(),
            )?;
            charge(tb, &tenant, signed(size))?;
            if !tags.is_empty() {
                versions::set_tags(tb, &tenant, &versions::machine_tag_key(&name), tags)?;
            }
            let published = match publish {
                Some(description) => Some(versions::publish_in(tb, &tenant, &rec, description)?),
                None => None,
            };
            Ok((rec, published))
        }))
        .await
    }

    /// One version of a state machine (`None`: the latest).
    pub fn state_machine(
        &self,
        tenant: &str,
        name: &str,
        version: Option<u64>,
    ) -> Result<Option<StateMachineVersion>> {
        let txn = self.slot.begin_read()?;
        let t = txn.open_table(STATE_MACHINES)?;
        let version = match version {
            Some(v) => v,
            None => match last_version(&t, tenant, name)? {
                Some(v) => v,
                None => return Ok(None),
            },
        };
        t.get((tenant, name, version))?
            .map(|v| {
                decode(
                    v.value(),
                    "state_machines",
                    &format!("{tenant}/{name}:{version}"),
                )
            })
            .transpose()
    }

    /// Every version of a state machine, oldest first.
    pub fn state_machine_versions(
        &self,
        tenant: &str,
        name: &str,
    ) -> Result<Vec<StateMachineVersion>> {
        let txn = self.slot.begin_read()?;
        all_versions(
            &txn.open_table(STATE_MACHINES)?,
            tenant,
            name,
            "state_machines",
        )
    }

    /// Latest version of each of a tenant's state machines, by name, after `after`.
    pub fn list_state_machines(
        &self,
        tenant: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StateMachineVersion>> {
        let txn = self.slot.begin_read()?;
        let t = txn.open_table(STATE_MACHINES)?;
        list_latest(&t, tenant, after, limit, "state_machines")
    }

    /// Deletes every revision of a state machine, with its published versions, aliases and
    /// tags. Executions keep their own records.
    pub async fn delete_state_machine(&self, tenant: &str, name: &str) -> Result<()> {
        let (tenant, name) = (tenant.to_string(), name.to_string());
        wait(self.writer.submit(move |tb| {
            let t = &mut tb.state_machines;
            let mut freed = 0u64;
            let mut found = false;
            for row in t.range(
                (tenant.as_str(), name.as_str(), 0u64)..=(tenant.as_str(), name.as_str(), u64::MAX),
            )? {
                let (k, v) = row?;
                let version = k.value().2;
                let rec: StateMachineVersion = decode(
                    v.value(),
                    "state_machines",
                    &format!("{tenant}/{name}:{version}"),
                )?;
                freed += rec.definition.len() as u64;
                found = true;
            }
            if !found {
                return Err(StoreError::NotFound {
                    what: "state machine",
                    name,
                });
            }
            let (tn, nm) = (tenant.as_str(), name.as_str());
            t.retain_in((tn, nm, 0u64)..=(tn, nm, u64::MAX), |_, _| false)?;
            charge(tb, &tenant, -signed(freed))?;
            versions::forget_machine(tb, &tenant, &name)?;
            Ok(())
        }))
        .await
    }
}
