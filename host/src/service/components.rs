//! Component operations: upload (inspected before it is accepted, size-limited by quota),
//! list, describe, and delete of a version no RUNNING execution uses.

use std::collections::HashSet;

use sha2::{Digest, Sha256};

use super::machines::{ComponentUse, task_resources};
use super::names::check_name;
use super::paging::{self, Page};
use super::{Resource, Service, ServiceError};
use crate::store::{ComponentVersion, NewComponent, StoreError, TenantRecord};

/// What inspection learned about a component.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ComponentInfo {
    /// Interfaces it imports.
    pub imports: Vec<String>,
    /// Interfaces it exports.
    pub exports: Vec<String>,
}

/// Decides whether uploaded bytes are a task component. The sandbox implements it with
/// full validation against the task world; `Err` names the problem.
pub trait ComponentInspector: Send + Sync {
    /// Inspects the bytes (may compile: called off the async threads).
    fn inspect(&self, bytes: &[u8]) -> Result<ComponentInfo, String>;

    /// An artifact to keep beside the bytes (engine fingerprint, bytes), if the inspector
    /// makes one.
    fn precompile(&self, _bytes: &[u8]) -> Option<(String, Vec<u8>)> {
        None
    }

    /// Applies a tenant's per-task fuel and memory quotas to one of its components.
    fn apply_limits(&self, _tenant: &str, _component: &str, _fuel: u64, _memory_bytes: u64) {}
}

/// The inspector used when no sandbox is wired in: checks only that the bytes are a
/// WebAssembly *component* (not a core module or anything else), from its preamble.
#[derive(Clone, Copy, Debug, Default)]
pub struct BasicInspector;

/// `\0asm` magic.
const WASM_MAGIC: [u8; 4] = *b"\0asm";
/// Version and layer of a component binary (version 0x0d, layer 1).
const COMPONENT_VERSION: [u8; 4] = [0x0d, 0x00, 0x01, 0x00];
/// Version and layer of a core module (version 1, layer 0).
const MODULE_VERSION: [u8; 4] = [0x01, 0x00, 0x00, 0x00];

impl ComponentInspector for BasicInspector {
    fn inspect(&self, bytes: &[u8]) -> Result<ComponentInfo, String> {
        if bytes.len() < 8 || bytes[..4] != WASM_MAGIC {
            return Err("the body is not WebAssembly (no \\0asm preamble)".into());
        }
        if bytes[4..8] == MODULE_VERSION {
            return Err("this is a core WebAssembly module; a component is required".into());
        }
        if bytes[4..8] != COMPONENT_VERSION {
            return Err(format!(
                "unknown WebAssembly version/layer {:02x?}",
                &bytes[4..8]
            ));
        }
        Ok(ComponentInfo::default())
    }
}

impl Service {
    /// Uploads a new version of a component.
    pub async fn upload_component(
        &self,
        tenant: &TenantRecord,
        name: &str,
        bytes: Vec<u8>,
    ) -> Result<ComponentVersion, ServiceError> {
        check_name(name)?;
        let size = bytes.len() as u64;
        if size > tenant.quotas.max_component_bytes {
            return Err(ServiceError::ComponentTooLarge {
                size,
                limit: tenant.quotas.max_component_bytes,
            });
        }
        let inspector = self.inner.inspector.clone();
        // Validation and precompilation compile the component: keep them off the async
        // worker threads.
        let (bytes, info, artifact) = tokio::task::spawn_blocking(move || {
            let info = inspector.inspect(&bytes);
            let artifact = info
                .as_ref()
                .ok()
                .and_then(|_| inspector.precompile(&bytes));
            (bytes, info, artifact)
        })
        .await
        .map_err(|e| ServiceError::Internal {
            detail: format!("component inspection did not finish: {e}"),
        })?;
        let info = info.map_err(|reason| ServiceError::InvalidComponent { reason })?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        let new = NewComponent {
            tenant: tenant.id.clone(),
            name: name.to_string(),
            bytes,
            sha256,
            imports: info.imports,
            exports: info.exports,
        };
        let version = self
            .store()
            .put_component(new, tenant.quotas.max_stored_bytes)
            .await?;
        if let Some((fingerprint, artifact)) = artifact {
            // A missing artifact only costs a compile later, so a failure here is not fatal.
            let _ = self
                .store()
                .put_artifact(&version.sha256, &fingerprint, artifact)
                .await;
        }
        self.apply_component_limits(tenant, name);
        Ok(version)
    }

    fn apply_component_limits(&self, tenant: &TenantRecord, name: &str) {
        self.inner.inspector.apply_limits(
            &tenant.id,
            name,
            tenant.quotas.task_fuel,
            tenant.quotas.task_memory_bytes,
        );
    }

    /// Applies every tenant's task quotas to its components (at start-up).
    pub fn apply_all_limits(&self) -> Result<(), ServiceError> {
        for tenant in self.store().tenants()? {
            self.apply_tenant_limits(&tenant)?;
        }
        Ok(())
    }

    /// Applies one tenant's task quotas to all its components.
    pub(super) fn apply_tenant_limits(&self, tenant: &TenantRecord) -> Result<(), ServiceError> {
        let mut after: Option<String> = None;
        loop {
            let page = self
                .store()
                .list_components(&tenant.id, after.as_deref(), 1000)?;
            let Some(last) = page.last() else { break };
            after = Some(last.name.clone());
            for c in &page {
                self.apply_component_limits(tenant, &c.name);
            }
        }
        Ok(())
    }

    /// Every version of a component, oldest first.
    pub fn describe_component(
        &self,
        tenant: &TenantRecord,
        name: &str,
    ) -> Result<Vec<ComponentVersion>, ServiceError> {
        let versions = self.store().component_versions(&tenant.id, name)?;
        if versions.is_empty() {
            return Err(ServiceError::NotFound {
                what: Resource::Component,
                name: name.to_string(),
            });
        }
        Ok(versions)
    }

    /// A page of the tenant's components (latest version of each).
    pub fn list_components(
        &self,
        tenant: &TenantRecord,
        max_results: Option<i64>,
        next_token: Option<&str>,
    ) -> Result<Page<ComponentVersion>, ServiceError> {
        let limit = paging::page_size(max_results)?;
        let after = next_token
            .map(|t| paging::decode(t, "components", &tenant.id))
            .transpose()?;
        let items = self
            .store()
            .list_components(&tenant.id, after.as_deref(), limit + 1)?;
        Ok(page_by_name(items, limit, "components", &tenant.id, |c| {
            &c.name
        }))
    }

    /// Deletes one version, unless a RUNNING execution may still invoke it.
    pub async fn delete_component_version(
        &self,
        tenant: &TenantRecord,
        name: &str,
        version: u64,
    ) -> Result<ComponentVersion, ServiceError> {
        let not_found = || ServiceError::NotFound {
            what: Resource::Component,
            name: format!("{name}:{version}"),
        };
        let latest = self
            .store()
            .component(&tenant.id, name, None)?
            .ok_or_else(not_found)?;
        if let Some(reason) = self.component_in_use(tenant, name, version, latest.version)? {
            return Err(ServiceError::InUse {
                what: Resource::Component,
                name: format!("{name}:{version}"),
                reason,
            });
        }
        self.store()
            .delete_component_version(&tenant.id, name, version)
            .await
            .map_err(|e| match e {
                StoreError::NotFound { .. } => not_found(),
                other => other.into(),
            })
    }

    /// Why version `version` of `name` is in use by a RUNNING execution, if it is.
    fn component_in_use(
        &self,
        tenant: &TenantRecord,
        name: &str,
        version: u64,
        latest: u64,
    ) -> Result<Option<String>, ServiceError> {
        let mut seen = HashSet::new();
        for rec in self.store().running_of_tenant(&tenant.id)? {
            if !seen.insert((rec.state_machine.clone(), rec.state_machine_version)) {
                continue;
            }
            let Some(sm) = self.store().state_machine(
                &tenant.id,
                &rec.state_machine,
                Some(rec.state_machine_version),
            )?
            else {
                continue;
            };
            for task in task_resources(&sm.definition) {
                let ComponentUse::Named(r) = task.component else {
                    continue;
                };
                if r.name == name && r.version.unwrap_or(latest) == version {
                    return Ok(Some(format!(
                        "execution '{}' of state machine '{}' is running and uses {}",
                        rec.name, rec.state_machine, task.resource
                    )));
                }
            }
        }
        Ok(None)
    }
}

/// Cuts a `limit + 1` listing to a page, with a token naming its last item.
pub(super) fn page_by_name<T>(
    mut items: Vec<T>,
    limit: usize,
    list: &str,
    tenant: &str,
    name: impl Fn(&T) -> &str,
) -> Page<T> {
    let next_token = if items.len() > limit {
        items.truncate(limit);
        items
            .last()
            .map(|last| paging::encode(list, tenant, name(last)))
    } else {
        None
    };
    Page {
        items,
        next_token,
        damaged: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_inspector_tells_components_from_modules() {
        let i = BasicInspector;
        assert!(i.inspect(b"\0asm\x0d\x00\x01\x00").is_ok());
        assert!(
            i.inspect(b"\0asm\x01\x00\x00\x00")
                .unwrap_err()
                .contains("core")
        );
        assert!(
            i.inspect(b"hello world")
                .unwrap_err()
                .contains("not WebAssembly")
        );
        assert!(i.inspect(b"").is_err());
    }
}
