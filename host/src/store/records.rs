//! The values the store keeps, as plain serde structs (stored as JSON in redb values).
//! They carry no behaviour beyond defaults; the service layer owns the rules.

use serde::{Deserialize, Serialize};

use crate::engine::ports::ExecutionStatus;

/// Default largest component a tenant may upload (bytes).
pub const DEFAULT_MAX_COMPONENT_BYTES: u64 = 32 * 1024 * 1024;
/// Default fuel a single task attempt may burn.
pub const DEFAULT_TASK_FUEL: u64 = 10_000_000_000;
/// Default linear memory a single task attempt may grow to (bytes).
pub const DEFAULT_TASK_MEMORY_BYTES: u64 = 256 * 1024 * 1024;
/// Default number of RUNNING executions a tenant may have at once.
pub const DEFAULT_MAX_CONCURRENT_EXECUTIONS: u64 = 1_000_000;
/// Default sustained execution starts per second (token bucket, burst = 1 s worth).
pub const DEFAULT_START_RATE_PER_SECOND: u64 = 100_000;
/// Default total bytes a tenant may store (components, definitions, execution inputs).
pub const DEFAULT_MAX_STORED_BYTES: u64 = 4 * 1024 * 1024 * 1024;

/// Per-tenant limits. Every field has a documented default; the admin may override any.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Quotas {
    /// Largest component upload, in bytes.
    pub max_component_bytes: u64,
    /// Fuel per task attempt.
    pub task_fuel: u64,
    /// Linear memory per task attempt, in bytes.
    pub task_memory_bytes: u64,
    /// RUNNING executions at once.
    pub max_concurrent_executions: u64,
    /// Execution starts per second.
    pub start_rate_per_second: u64,
    /// Total stored bytes.
    pub max_stored_bytes: u64,
}

impl Default for Quotas {
    fn default() -> Self {
        Self {
            max_component_bytes: DEFAULT_MAX_COMPONENT_BYTES,
            task_fuel: DEFAULT_TASK_FUEL,
            task_memory_bytes: DEFAULT_TASK_MEMORY_BYTES,
            max_concurrent_executions: DEFAULT_MAX_CONCURRENT_EXECUTIONS,
            start_rate_per_second: DEFAULT_START_RATE_PER_SECOND,
            max_stored_bytes: DEFAULT_MAX_STORED_BYTES,
        }
    }
}

/// A tenant: an isolated namespace of components, state machines and executions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantRecord {
    /// Tenant id (also the account field of its ARNs).
    pub id: String,
    /// Creation time, Unix milliseconds.
    pub created_ms: i64,
    /// Its limits.
    pub quotas: Quotas,
}

/// One immutable version of a named component, pinned to its content hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentVersion {
    /// Component name.
    pub name: String,
    /// Version number, from 1.
    pub version: u64,
    /// sha256 of the bytes, lowercase hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Interfaces the component imports.
    pub imports: Vec<String>,
    /// Interfaces the component exports.
    pub exports: Vec<String>,
    /// Upload time, Unix milliseconds.
    pub created_ms: i64,
}

/// STANDARD (durable, per-step commits) or EXPRESS (in memory, recorded at the end).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MachineType {
    /// Durable: every transition committed before the execution moves on.
    Standard,
    /// In memory: recorded once when it ends.
    Express,
}

/// One immutable revision of a named state machine: what create and every update store,
/// and what an execution runs. Not AWS's published versions (those are
/// [`super::PublishedVersion`], each pointing at one revision).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StateMachineVersion {
    /// State machine name.
    pub name: String,
    /// Revision number, from 1; an update adds the next one.
    pub version: u64,
    /// The ASL definition, as uploaded.
    pub definition: String,
    /// STANDARD or EXPRESS.
    #[serde(rename = "type")]
    pub machine_type: MachineType,
    /// Creation time of this revision, Unix milliseconds.
    pub created_ms: i64,
    /// AWS's `revisionId`: none for the revision made by create, a fresh UUID for each
    /// update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_id: Option<String>,
    /// The IAM role ARN the caller gave (kept and returned; nothing here assumes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// AWS's `loggingConfiguration`, stored and returned.
    #[serde(default)]
    pub logging: LoggingConfiguration,
    /// AWS's `tracingConfiguration`, stored and returned.
    #[serde(default)]
    pub tracing: TracingConfiguration,
}

/// AWS's `LoggingConfiguration` shape (no effect here beyond being stored).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoggingConfiguration {
    /// `ALL`, `ERROR`, `FATAL` or `OFF` (default).
    #[serde(default = "log_off")]
    pub level: String,
    /// Whether execution data is included in logs.
    #[serde(default)]
    pub include_execution_data: bool,
    /// At most one destination; required unless `level` is `OFF`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub destinations: Vec<LogDestination>,
}

fn log_off() -> String {
    "OFF".into()
}

impl Default for LoggingConfiguration {
    /// AWS's default: level OFF, no execution data, no destination.
    fn default() -> Self {
        Self {
            level: log_off(),
            include_execution_data: false,
            destinations: Vec::new(),
        }
    }
}

/// One log destination.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogDestination {
    /// The CloudWatch log group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_watch_logs_log_group: Option<LogGroup>,
}

/// A CloudWatch log group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogGroup {
    /// Its ARN (AWS requires it to end with `:*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_group_arn: Option<String>,
}

/// AWS's `TracingConfiguration` shape.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TracingConfiguration {
    /// Whether X-Ray tracing is on (stored only).
    #[serde(default)]
    pub enabled: bool,
}

/// An execution's record: what started it, where it stands, how it ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionRecord {
    /// Execution ARN (unique across tenants; the store's key).
    pub arn: String,
    /// Owning tenant.
    pub tenant: String,
    /// Execution name (unique per state machine).
    pub name: String,
    /// State machine name.
    pub state_machine: String,
    /// State machine revision the execution runs.
    pub state_machine_version: u64,
    /// AWS's published version it was started on (through a version or an alias ARN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_version: Option<u64>,
    /// The alias it was started on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// STANDARD or EXPRESS.
    #[serde(rename = "type")]
    pub machine_type: MachineType,
    /// Current status.
    pub status: ExecutionStatus,
    /// Input JSON text.
    pub input: String,
    /// Output JSON text, when it succeeded.
    pub output: Option<String>,
    /// Error name, when it did not succeed.
    pub error: Option<String>,
    /// Cause, when it did not succeed.
    pub cause: Option<String>,
    /// Start time, Unix milliseconds.
    pub start_ms: i64,
    /// Stop time, Unix milliseconds.
    pub stop_ms: Option<i64>,
    /// Start sequence within the store (listing order).
    pub seq: u64,
}
