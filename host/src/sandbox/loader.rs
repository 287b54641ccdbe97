//! Compile once, instantiate fresh: the one wasmtime `Engine` (pooling allocator, fuel,
//! epochs), the linker granting the world's imports, the world check, and the cache of
//! compiled components (in memory by content hash, bounded by bytes with LRU eviction, and
//! optionally on disk as artifacts).

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::bindings::{Task, TaskPre};
use super::component::{ComponentBytes, ComponentInfo, LoadError, RUN_EXPORT, is_granted_import};
use super::limits::PoolConfig;
use super::state::HostState;
use crate::cache::ByteLru;

/// A component ready to instantiate.
pub(crate) struct Loaded {
    pub(crate) pre: TaskPre<HostState>,
    /// Bytes of compiled code it holds in memory (its weight in the cache).
    bytes: usize,
}

impl Loaded {
    fn new(component: &Component, pre: TaskPre<HostState>) -> Arc<Self> {
        let range = component.image_range();
        let bytes = (range.end as usize).saturating_sub(range.start as usize);
        Arc::new(Loaded { pre, bytes })
    }
}

/// Compiled code kept in memory across all components, least recently used evicted first
/// (an evicted component is loaded again from its artifact when next used).
pub(crate) const LOADED_CACHE_BYTES: usize = 512 << 20;

/// Builds the engine every component of a runner is compiled with.
pub(crate) fn build_engine(pool: &PoolConfig) -> Result<Engine, wasmtime::Error> {
    let n = pool.max_concurrent;
    let mut pooling = PoolingAllocationConfig::new();
    pooling
        .total_component_instances(n)
        // A Rust component has a main module plus shim modules; a JS one a few more.
        .total_core_instances(n * 8)
        .total_memories(n * 2)
        .total_tables(n * 8)
        .total_stacks(n)
        .max_core_instances_per_component(32)
        .max_memories_per_component(4)
        .max_tables_per_component(16)
        .max_tables_per_module(8)
        .max_memory_size(pool.memory_bytes)
        .table_elements(pool.table_elements)
        .max_core_instance_size(4 << 20)
        .max_component_instance_size(4 << 20)
        // Reset small instances' memory and tables with memset rather than madvise: the
        // common task touches little, and madvise dominated instantiation.
        .linear_memory_keep_resident(2 << 20)
        .table_keep_resident(64 << 10)
        // ...and memset only the pages the instance dirtied (Linux >= 6.7 PAGEMAP_SCAN;
        // without it, the whole resident prefix): this halved the CPU per invocation
        // (24 -> 10 us for the echo guest in `benches/task_invoke.rs`).
        .pagemap_scan(wasmtime::Enabled::Auto);
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .consume_fuel(true)
        .epoch_interruption(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
    Engine::new(&config)
}

/// Compiles, checks and caches components for one engine.
pub(crate) struct Loader {
    engine: Engine,
    linker: Linker<HostState>,
    cache_dir: Option<PathBuf>,
    /// Hash of everything that makes an artifact loadable by this engine.
    compat: String,
    /// Loads in progress, one per content hash (concurrent callers share one compile).
    loading: Mutex<HashMap<String, Arc<OnceCell<Arc<Loaded>>>>>,
    /// Loaded components by content hash.
    loaded: ByteLru<String, Arc<Loaded>>,
}

impl Loader {
    pub(crate) fn new(engine: Engine, cache_dir: Option<PathBuf>) -> Result<Self, wasmtime::Error> {
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        super::scratch_fs::add_to_linker(&mut linker)?;
        Task::add_to_linker::<_, wasmtime::component::HasSelf<_>>(&mut linker, |s| s)?;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let compat = format!("{:016x}", hasher.finish());
        Ok(Loader {
            engine,
            linker,
            cache_dir,
            compat,
            loading: Mutex::new(HashMap::new()),
            loaded: ByteLru::new(LOADED_CACHE_BYTES),
        })
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }

    fn compile(&self, bytes: &[u8]) -> Result<Component, LoadError> {
        Component::new(&self.engine, bytes).map_err(|e| LoadError::NotAComponent {
            reason: format!("{e:#}"),
        })
    }

    /// Checks that `component` implements the world with granted imports only.
    fn check(
        &self,
        component: &Component,
    ) -> Result<(ComponentInfo, TaskPre<HostState>), LoadError> {
        let ty = component.component_type();
        let imports: Vec<String> = ty
            .imports(&self.engine)
            .map(|(n, _)| n.to_owned())
            .collect();
        let exports: Vec<String> = ty
            .exports(&self.engine)
            .map(|(n, _)| n.to_owned())
            .collect();
        if let Some(name) = imports.iter().find(|n| !is_granted_import(n)) {
            return Err(LoadError::UngrantedImport { name: name.clone() });
        }
        if !exports.iter().any(|n| n == RUN_EXPORT) {
            return Err(LoadError::MissingExport {
                name: RUN_EXPORT.to_owned(),
            });
        }
        if let Some(name) = exports.iter().find(|n| *n != RUN_EXPORT) {
            return Err(LoadError::ExtraExport { name: name.clone() });
        }
        let pre =
            self.linker
                .instantiate_pre(component)
                .map_err(|e| LoadError::ImportMismatch {
                    reason: format!("{e:#}"),
                })?;
        let pre = TaskPre::new(pre).map_err(|e| LoadError::WrongExportType {
            name: RUN_EXPORT.to_owned(),
            reason: format!("{e:#}"),
        })?;
        Ok((ComponentInfo { imports, exports }, pre))
    }

    /// Compiles and checks `bytes` without caching.
    pub(crate) fn validate(&self, bytes: &[u8]) -> Result<ComponentInfo, LoadError> {
        let component = self.compile(bytes)?;
        self.check(&component).map(|(info, _)| info)
    }

    /// Compiles and checks `bytes`, returning an artifact for [`ComponentBytes::precompiled`].
    pub(crate) fn precompile(&self, bytes: &[u8]) -> Result<Vec<u8>, LoadError> {
        let component = self.compile(bytes)?;
        self.check(&component)?;
        component.serialize().map_err(|e| LoadError::Artifact {
            reason: format!("{e:#}"),
        })
    }

    /// Loads an artifact made by this engine.
    fn deserialize(&self, artifact: &[u8]) -> Result<Component, LoadError> {
        // SAFETY: `Component::deserialize` trusts its input to be an artifact wasmtime
        // produced. Ours are produced only by `precompile`/`serialize` with this engine
        // configuration and kept in our own store or cache directory, keyed by content hash
        // and the engine's compatibility hash; wasmtime also rejects artifacts from another
        // version or configuration.
        #[allow(unsafe_code)]
        let component = unsafe { Component::deserialize(&self.engine, artifact) };
        component.map_err(|e| LoadError::Artifact {
            reason: format!("{e:#}"),
        })
    }

    fn disk_path(&self, sha256: &str) -> Option<PathBuf> {
        self.cache_dir
            .as_ref()
            .map(|dir| dir.join(format!("{sha256}-{}.cwasm", self.compat)))
    }

    /// Turns bytes into a checked component: from the source's artifact, the disk cache,
    /// or by compiling (and then filling the disk cache). Blocking: run off the runtime.
    fn load_blocking(&self, source: &ComponentBytes) -> Result<Arc<Loaded>, LoadError> {
        if let Some(artifact) = &source.precompiled
            && let Ok(component) = self.deserialize(artifact)
        {
            let (_, pre) = self.check(&component)?;
            return Ok(Loaded::new(&component, pre));
        }
        let disk = self.disk_path(&source.sha256);
        if let Some(path) = &disk
            && let Ok(artifact) = std::fs::read(path)
            && let Ok(component) = self.deserialize(&artifact)
        {
            let (_, pre) = self.check(&component)?;
            return Ok(Loaded::new(&component, pre));
        }
        let component = self.compile(&source.bytes)?;
        let (_, pre) = self.check(&component)?;
        if let Some(path) = disk
            && let Ok(artifact) = component.serialize()
        {
            // Best effort: a cache that cannot be written only costs a recompile.
            let tmp = path.with_extension(format!("tmp{}", std::process::id()));
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            if std::fs::write(&tmp, artifact).is_ok() {
                let _ = std::fs::rename(&tmp, &path);
            }
        }
        Ok(Loaded::new(&component, pre))
    }

    fn cell(&self, sha256: &str) -> Arc<OnceCell<Arc<Loaded>>> {
        let mut loading = self.loading.lock().unwrap_or_else(|p| p.into_inner());
        loading.entry(sha256.to_owned()).or_default().clone()
    }

    /// Moves a finished load from the in-progress map into the bounded cache.
    fn keep_loaded(&self, sha256: &str, loaded: &Arc<Loaded>) {
        self.loaded
            .insert(sha256.to_owned(), Arc::clone(loaded), loaded.bytes);
        self.loading
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(sha256);
    }

    /// Loads `source` into the cache now, so that no attempt pays for compiling it (an
    /// attempt's TimeoutSeconds counts loading). Blocking.
    pub(crate) fn preload(&self, source: &ComponentBytes) -> Result<(), LoadError> {
        if self.loaded.get(source.sha256.as_str()).is_some() {
            return Ok(());
        }
        let loaded = self.load_blocking(source)?;
        self.keep_loaded(&source.sha256, &loaded);
        Ok(())
    }

    /// The checked component for `source`, compiled at most once per content hash.
    pub(crate) async fn get(
        self: &Arc<Self>,
        source: &ComponentBytes,
    ) -> Result<Arc<Loaded>, LoadError> {
        if let Some(loaded) = self.loaded.get(source.sha256.as_str()) {
            return Ok(loaded);
        }
        let cell = self.cell(&source.sha256);
        let loaded = cell
            .get_or_try_init(|| async {
                let this = self.clone();
                let source = source.clone();
                // Compiling takes CPU for a while: keep it off the async workers.
                tokio::task::spawn_blocking(move || this.load_blocking(&source))
                    .await
                    .map_err(|e| LoadError::NotAComponent {
                        reason: format!("compilation did not finish: {e}"),
                    })?
            })
            .await
            .cloned()?;
        self.keep_loaded(&source.sha256, &loaded);
        Ok(loaded)
    }
}
