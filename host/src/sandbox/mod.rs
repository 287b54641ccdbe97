//! Tasks as sandboxed WebAssembly components: the engine's [`TaskRunner`] port, built on
//! wasmtime. The only module that imports wasmtime.
//!
//! One `Engine` (component model, async, pooling allocator, fuel, epoch interruption) per
//! runner; each component compiled once (cached in memory by content hash, and on disk
//! when a cache directory is given) into an `InstancePre`; a fresh `Store` per attempt with
//! the task's [`Limits`], a deny-by-default WASI context, and deadlines enforced by epoch
//! ticks (every [`EPOCH_TICK`]) and a watchdog. Guests yield to the async runtime at every
//! tick, so a busy guest never holds a thread from other executions.
//!
//! Codemap: `bindings` (generated from `wit/task.wit`), `component` (resource names, the
//! [`ComponentSource`] port, load errors, granted imports), `loader` (engine, linker, world
//! check, compile caches; the one `unsafe`), `limits` (defaults and grants), `state`
//! (store data: WASI context, host imports, log capture, limiter), `invoke` (one attempt,
//! deadlines, outcome), `fault` (every sandbox failure with its ASL error name), `scratch`
//! (per-attempt scratch directories), `scratch_fs` (their size cap, charged on every write).

mod bindings;
mod component;
mod fault;
mod invoke;
mod limits;
mod loader;
mod scratch;
mod scratch_fs;
mod state;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use tokio::sync::Semaphore;

pub use component::{
    ComponentBytes, ComponentInfo, ComponentSource, FileSource, GRANTED_WASI_PREFIXES,
    HOST_INTERFACE, LoadError, RUN_EXPORT, ResourceError, ResourceName, TYPES_INTERFACE, WORLD,
    sha256_hex,
};
pub use fault::TaskFault;
pub use limits::*;

use crate::engine::ports::{BoxFuture, TaskOutcome, TaskRequest, TaskRunner};
use loader::Loader;

/// How a runner is built.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// Pool-wide ceilings.
    pub pool: PoolConfig,
    /// Policy of tasks without their own (see [`SandboxRunner::set_policy`]).
    pub default_policy: TaskPolicy,
    /// Where compiled artifacts are kept across restarts (`None`: memory only).
    pub cache_dir: Option<PathBuf>,
    /// Under which host folder granted scratch directories are created.
    pub scratch_root: PathBuf,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            pool: PoolConfig::default(),
            default_policy: TaskPolicy::default(),
            cache_dir: None,
            scratch_root: std::env::temp_dir().join("stepwasm-scratch"),
        }
    }
}

impl SandboxConfig {
    /// The default on-disk artifact cache: `$XDG_CACHE_HOME/stepwasm`, else
    /// `$HOME/.cache/stepwasm`.
    pub fn default_cache_dir() -> Option<PathBuf> {
        std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .map(|base| base.join("stepwasm"))
    }
}

/// Why a runner could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up the WebAssembly engine: {reason}")]
pub struct SetupError {
    /// wasmtime's message.
    pub reason: String,
}

/// Why `--module NAME=PATH` flags could not become a runner.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModuleFlagError {
    /// The flag is not `NAME=PATH`.
    #[error("--module {flag}: {source}")]
    Flag {
        /// The flag as given.
        flag: String,
        /// What is wrong with it.
        source: ResourceError,
    },
    /// The file could not be read.
    #[error("--module {name}: cannot read {}: {source}", path.display())]
    Read {
        /// The module name.
        name: String,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a component the host can run.
    #[error("--module {name}: {source}")]
    Load {
        /// The module name.
        name: String,
        /// Why it was rejected.
        source: LoadError,
    },
    /// The engine could not be built.
    #[error(transparent)]
    Setup(#[from] SetupError),
}

/// The CLI's runner: components from `--module NAME=PATH` files, compiled artifacts cached
/// in [`SandboxConfig::default_cache_dir`]. `None` when no module is given.
pub fn runner_from_module_flags(
    flags: &[String],
) -> Result<Option<SandboxRunner>, ModuleFlagError> {
    if flags.is_empty() {
        return Ok(None);
    }
    let mut source = FileSource::new();
    for flag in flags {
        let (name, path) =
            FileSource::parse_module_flag(flag).map_err(|source| ModuleFlagError::Flag {
                flag: flag.clone(),
                source,
            })?;
        source
            .add_file(&name, &path)
            .map_err(|source| ModuleFlagError::Read { name, path, source })?;
    }
    let config = SandboxConfig {
        cache_dir: SandboxConfig::default_cache_dir(),
        ..SandboxConfig::default()
    };
    let runner = SandboxRunner::new(Arc::new(source.clone()), config)?;
    // Compile (or load from the disk cache) before the execution starts: a bad module is
    // a usage error, and no task's TimeoutSeconds pays for compiling.
    for (name, bytes) in source.components() {
        runner
            .loader
            .preload(bytes)
            .map_err(|source| ModuleFlagError::Load {
                name: name.to_owned(),
                source,
            })?;
    }
    Ok(Some(runner))
}

/// Runs Task states as WebAssembly components. Cheap to share: wrap it in an `Arc`.
pub struct SandboxRunner {
    loader: Arc<Loader>,
    source: Arc<dyn ComponentSource>,
    config: SandboxConfig,
    /// Per (tenant, component name) policies, overriding the default.
    policies: RwLock<HashMap<(Option<String>, String), TaskPolicy>>,
    /// One permit per pool slot: invocations beyond the pool wait instead of failing.
    slots: Semaphore,
}

impl SandboxRunner {
    /// Builds the engine and starts its epoch ticker (a thread that ends with the engine).
    pub fn new(
        source: Arc<dyn ComponentSource>,
        config: SandboxConfig,
    ) -> Result<SandboxRunner, SetupError> {
        let setup = |e: wasmtime::Error| SetupError {
            reason: format!("{e:#}"),
        };
        let engine = loader::build_engine(&config.pool).map_err(setup)?;
        start_ticker(&engine).map_err(|e| SetupError {
            reason: format!("cannot start the epoch ticker: {e}"),
        })?;
        let loader = Loader::new(engine, config.cache_dir.clone()).map_err(setup)?;
        Ok(SandboxRunner {
            loader: Arc::new(loader),
            source,
            slots: Semaphore::new(config.pool.max_concurrent as usize),
            config,
            policies: RwLock::new(HashMap::new()),
        })
    }

    /// Sets the policy (limits and grants) of component `name` for `tenant`.
    pub fn set_policy(&self, tenant: Option<&str>, name: &str, policy: TaskPolicy) {
        self.policies
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert((tenant.map(str::to_owned), name.to_owned()), policy);
    }

    fn policy(&self, tenant: Option<&str>, name: &str) -> TaskPolicy {
        let policies = self.policies.read().unwrap_or_else(|p| p.into_inner());
        if policies.is_empty() {
            return self.config.default_policy.clone();
        }
        policies
            .get(&(tenant.map(str::to_owned), name.to_owned()))
            .cloned()
            .unwrap_or_else(|| self.config.default_policy.clone())
    }

    /// Checks that `bytes` are a component implementing the task world with granted
    /// imports only, naming the missing or extra item otherwise. Compiles: blocking.
    pub fn validate_component(&self, bytes: &[u8]) -> Result<ComponentInfo, LoadError> {
        self.loader.validate(bytes)
    }

    /// Compiles (or loads from the caches) `bytes` now, so that the first attempt that uses
    /// it does not spend its TimeoutSeconds compiling. Blocking.
    pub fn preload(&self, bytes: &ComponentBytes) -> Result<(), LoadError> {
        self.loader.preload(bytes)
    }

    /// Validates and compiles `bytes` into an artifact for this runner's engine, to keep
    /// beside the bytes ([`ComponentBytes::precompiled`]). Blocking.
    pub fn precompile(&self, bytes: &[u8]) -> Result<Vec<u8>, LoadError> {
        self.loader.precompile(bytes)
    }
}

impl TaskRunner for SandboxRunner {
    fn invoke(&self, request: TaskRequest) -> BoxFuture<'_, TaskOutcome> {
        // The clock starts now, when the engine records TaskStarted, not when the future
        // is first polled.
        let started = std::time::Instant::now();
        Box::pin(invoke::invoke(self, request, started))
    }
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until the engine is dropped.
fn start_ticker(engine: &wasmtime::Engine) -> std::io::Result<()> {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("stepwasm-epoch".to_owned())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .map(drop)
}
