//! What a task may use: limits with documented defaults, the optional scratch-directory
//! grant, and the pool-wide ceilings the engine is built with. Deny by default.

use std::time::Duration;

/// Fuel per invocation (about one unit per WebAssembly instruction): ~10 s of busy compute.
pub const DEFAULT_FUEL: u64 = 20_000_000_000;
/// Linear memory ceiling per invocation, in bytes (all memories of the instance together).
pub const DEFAULT_MEMORY_BYTES: usize = 64 << 20;
/// Table elements per table.
pub const DEFAULT_TABLE_ELEMENTS: usize = 20_000;
/// Core instances one component may create (a Rust component needs 3 or 4).
pub const DEFAULT_INSTANCES: usize = 16;
/// Largest JSON output a task may return: the Step Functions payload limit (256 KiB).
pub const DEFAULT_OUTPUT_BYTES: usize = 256 * 1024;
/// Bytes of log lines plus captured stdout/stderr kept per invocation.
pub const DEFAULT_LOG_BYTES: usize = 64 * 1024;
/// Size cap of a granted scratch directory: a write that would pass it is refused before it
/// reaches the disk and fails the task with `Sandbox.ScratchLimitExceeded`.
pub const DEFAULT_SCRATCH_BYTES: u64 = 16 << 20;

/// Task invocations that may be in flight at once (pool slots); more wait for a slot.
pub const DEFAULT_MAX_CONCURRENT: u32 = 1_000;
/// Highest memory limit any task may be given; the pool reserves this per slot.
pub const DEFAULT_POOL_MEMORY_BYTES: usize = 256 << 20;
/// Highest table-element limit any task may be given.
pub const DEFAULT_POOL_TABLE_ELEMENTS: usize = 100_000;
/// How often the epoch ticks: the granularity of timeouts and of yielding to other tasks.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Per-invocation limits. Build from [`Limits::default`] and override fields per task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Fuel per invocation; exhausting it fails with `Sandbox.FuelExhausted`.
    pub fuel: u64,
    /// Linear memory ceiling; growing past it fails with `Sandbox.MemoryLimitExceeded`.
    pub memory_bytes: usize,
    /// Elements per table.
    pub table_elements: usize,
    /// Core instances per invocation.
    pub instances: usize,
    /// Output ceiling; a larger output fails with `States.DataLimitExceeded`.
    pub output_bytes: usize,
    /// Log and stdout/stderr bytes kept; the rest is dropped (and said so).
    pub log_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel: DEFAULT_FUEL,
            memory_bytes: DEFAULT_MEMORY_BYTES,
            table_elements: DEFAULT_TABLE_ELEMENTS,
            instances: DEFAULT_INSTANCES,
            output_bytes: DEFAULT_OUTPUT_BYTES,
            log_bytes: DEFAULT_LOG_BYTES,
        }
    }
}

/// A private scratch directory, created empty for each attempt under a host folder the
/// operator chose, preopened for the guest at [`ScratchGrant::GUEST_PATH`], and removed
/// afterwards. The guest never names a host path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScratchGrant {
    /// Size cap of everything the guest writes there.
    pub max_bytes: u64,
}

impl ScratchGrant {
    /// Where the guest sees its scratch directory.
    pub const GUEST_PATH: &'static str = "/scratch";
}

impl Default for ScratchGrant {
    fn default() -> Self {
        ScratchGrant {
            max_bytes: DEFAULT_SCRATCH_BYTES,
        }
    }
}

/// Everything one task is allowed: its limits and its grants (none by default).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskPolicy {
    /// Resource limits.
    pub limits: Limits,
    /// A scratch directory, if granted.
    pub scratch: Option<ScratchGrant>,
}

/// Pool-wide ceilings, fixed when the runner's engine is built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolConfig {
    /// Invocations in flight at once.
    pub max_concurrent: u32,
    /// The largest `Limits::memory_bytes` honoured (larger ones are clamped to it).
    pub memory_bytes: usize,
    /// The largest `Limits::table_elements` honoured.
    pub table_elements: usize,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            max_concurrent: DEFAULT_MAX_CONCURRENT,
            memory_bytes: DEFAULT_POOL_MEMORY_BYTES,
            table_elements: DEFAULT_POOL_TABLE_ELEMENTS,
        }
    }
}
