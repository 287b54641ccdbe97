//! The service's side of the sandbox: components resolve from the store (bytes by hash,
//! kept in memory once read, with the precompiled artifact beside them), uploads are
//! validated and precompiled by the sandbox, and tenant quotas become task policies.

use std::sync::Arc;

use super::components::{ComponentInfo, ComponentInspector};
use crate::cache::ByteLru;
use crate::engine::ports::BoxFuture;
use crate::sandbox::{
    ComponentBytes, ComponentSource, Limits, ResourceError, ResourceName, SandboxRunner, TaskPolicy,
};
use crate::store::Store;

/// Names the engine artifacts are made for; a different build compiles afresh.
pub const ARTIFACT_FINGERPRINT: &str = concat!("wasmtime-48/stepwasm-", env!("CARGO_PKG_VERSION"));

/// Component bytes and artifacts kept in memory, least recently used evicted first (an
/// evicted one is read from the store again).
pub const BLOB_CACHE_BYTES: usize = 256 << 20;

/// Resolves `wasm:NAME[:VERSION]` for a tenant from the store.
pub struct StoreComponentSource {
    store: Store,
    /// Bytes (and artifact) by content hash: immutable, so they never go stale.
    blobs: ByteLru<String, ComponentBytes>,
}

impl std::fmt::Debug for StoreComponentSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreComponentSource")
            .finish_non_exhaustive()
    }
}

impl StoreComponentSource {
    /// A source over `store`.
    pub fn new(store: Store) -> Self {
        Self {
            store,
            blobs: ByteLru::new(BLOB_CACHE_BYTES),
        }
    }

    fn lookup(
        &self,
        tenant: Option<&str>,
        resource: &ResourceName,
    ) -> Result<ComponentBytes, ResourceError> {
        let not_found = || ResourceError::NotFound {
            tenant: tenant.map(str::to_owned),
            name: resource.name.clone(),
            version: resource.version.clone(),
        };
        let source_err = |e: crate::store::StoreError| ResourceError::Source {
            reason: e.to_string(),
        };
        let tenant_id = tenant.ok_or_else(not_found)?;
        let version = match &resource.version {
            None => None,
            Some(v) => Some(v.parse::<u64>().map_err(|_| ResourceError::Invalid {
                resource: format!("wasm:{}:{v}", resource.name),
                reason: "a version is a positive integer".into(),
            })?),
        };
        let rec = self
            .store
            .component(tenant_id, &resource.name, version)
            .map_err(source_err)?
            .ok_or_else(not_found)?;
        if let Some(found) = self.blobs.get(rec.sha256.as_str()) {
            return Ok(found);
        }
        let bytes = self
            .store
            .component_bytes(&rec.sha256)
            .map_err(source_err)?
            .ok_or_else(not_found)?;
        let artifact = self
            .store
            .artifact(&rec.sha256, ARTIFACT_FINGERPRINT)
            .map_err(source_err)?;
        let found = ComponentBytes {
            bytes: bytes.into(),
            sha256: rec.sha256.clone(),
            precompiled: artifact.map(Into::into),
        };
        let weight = found.bytes.len() + found.precompiled.as_ref().map_or(0, |a| a.len());
        self.blobs.insert(rec.sha256, found.clone(), weight);
        Ok(found)
    }
}

impl ComponentSource for StoreComponentSource {
    fn resolve<'a>(
        &'a self,
        tenant: Option<&'a str>,
        resource: &'a ResourceName,
    ) -> BoxFuture<'a, Result<ComponentBytes, ResourceError>> {
        Box::pin(async move { self.lookup(tenant, resource) })
    }
}

/// Validates and precompiles uploads with the sandbox, and applies tenant quotas as task
/// policies.
pub struct SandboxInspector {
    runner: Arc<SandboxRunner>,
}

impl std::fmt::Debug for SandboxInspector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxInspector").finish_non_exhaustive()
    }
}

impl SandboxInspector {
    /// An inspector over `runner`.
    pub fn new(runner: Arc<SandboxRunner>) -> Self {
        Self { runner }
    }
}

impl ComponentInspector for SandboxInspector {
    fn inspect(&self, bytes: &[u8]) -> Result<ComponentInfo, String> {
        let info = self
            .runner
            .validate_component(bytes)
            .map_err(|e| e.to_string())?;
        Ok(ComponentInfo {
            imports: info.imports,
            exports: info.exports,
        })
    }

    fn precompile(&self, bytes: &[u8]) -> Option<(String, Vec<u8>)> {
        self.runner
            .precompile(bytes)
            .ok()
            .map(|a| (ARTIFACT_FINGERPRINT.to_string(), a))
    }

    fn apply_limits(&self, tenant: &str, component: &str, fuel: u64, memory_bytes: u64) {
        let policy = TaskPolicy {
            limits: Limits {
                fuel,
                memory_bytes: usize::try_from(memory_bytes).unwrap_or(usize::MAX),
                ..Limits::default()
            },
            scratch: None,
        };
        self.runner.set_policy(Some(tenant), component, policy);
    }
}
