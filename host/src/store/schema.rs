//! The store's tables, declared once as consts, and the schema version written at creation
//! and checked at every open. Changing a table's key/value types or meaning bumps
//! [`SCHEMA_VERSION`] and adds a migration step in [`super::Store::open`].
//!
//! Since version 4 every `&[u8]` value of `tenants`, `components`, `state_machines`,
//! `executions`, `frames`, `history_runs`, `history_tail` and `artifacts` ends with its
//! CRC-32 ([`super::seal`]); `blobs` are checked against their sha256 key.

use redb::TableDefinition;

/// Version of the on-disk layout this build reads and writes.
pub const SCHEMA_VERSION: u64 = 5;

/// `meta`: small named values: `schema_version`, `admin_key_hash`, `next_execution_seq`,
/// and `aws_credential:<access key id>` → JSON [`super::AwsCredentialRecord`].
pub const META: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("meta");

/// `tenants`: tenant id → JSON [`super::TenantRecord`].
pub const TENANTS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("tenants");

/// `api_keys`: sha256 of a bearer key → tenant id. Keys are random 32-byte tokens, so a
/// plain hash is enough; the key itself is never stored.
pub const API_KEYS: TableDefinition<'_, &[u8], &str> = TableDefinition::new("api_keys");

/// `usage`: tenant id → stored bytes charged to it (components, definitions, inputs).
pub const USAGE: TableDefinition<'_, &str, u64> = TableDefinition::new("usage");

/// `blobs`: sha256 hex → component bytes, shared by every version with that content.
pub const BLOBS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("blobs");

/// `blob_refs`: sha256 hex → number of component versions pinned to the blob.
pub const BLOB_REFS: TableDefinition<'_, &str, u64> = TableDefinition::new("blob_refs");

/// `artifacts`: (sha256 hex, engine fingerprint) → precompiled artifact bytes.
pub const ARTIFACTS: TableDefinition<'_, (&str, &str), &[u8]> = TableDefinition::new("artifacts");

/// `components`: (tenant, name, version) → JSON [`super::ComponentVersion`].
pub const COMPONENTS: TableDefinition<'_, (&str, &str, u64), &[u8]> =
    TableDefinition::new("components");

/// `activities`: (tenant, name) → JSON [`super::ActivityRecord`] (added without a schema
/// bump: a store without it gets it at its first write).
pub const ACTIVITIES: TableDefinition<'_, (&str, &str), &[u8]> = TableDefinition::new("activities");

/// `state_machines`: (tenant, name, version) → JSON [`super::StateMachineVersion`].
pub const STATE_MACHINES: TableDefinition<'_, (&str, &str, u64), &[u8]> =
    TableDefinition::new("state_machines");

/// `executions`: execution ARN → JSON [`super::ExecutionRecord`].
pub const EXECUTIONS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("executions");

/// `executions_by_tenant`: (tenant, start sequence) → execution ARN; the listing order.
pub const EXECUTIONS_BY_TENANT: TableDefinition<'_, (&str, u64), &str> =
    TableDefinition::new("executions_by_tenant");

/// `running`: execution ARN → tenant, for every RUNNING STANDARD execution (recovery list).
pub const RUNNING: TableDefinition<'_, &str, &str> = TableDefinition::new("running");

/// `history` (versions 1 and 2): (execution ARN, first event id) → a run of events.
/// Version 3 moved its rows to [`HISTORY_RUNS`] and [`HISTORY_INDEX`] (migrated at open,
/// then deleted): keyed by execution, every compaction rewrote leaves all over the table.
pub const HISTORY: TableDefinition<'_, (&str, u64), &[u8]> = TableDefinition::new("history");

/// `history_runs`: run number → a run of consecutive events of one execution, each its
/// id, length and JSON [`crate::engine::history::HistoryEvent`]
/// ([`super::tail::push_event`]). Run numbers only grow, so a compaction appends its runs
/// at the right edge of the tree instead of rewriting old leaves. Added in version 3.
pub const HISTORY_RUNS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("history_runs");

/// `history_index`: (execution ARN, first event id of a run) → its run number in
/// [`HISTORY_RUNS`]. Append-only; ids are dense from 1. The newest events may still be in
/// `history_tail`. Added in version 3.
pub const HISTORY_INDEX: TableDefinition<'_, (&str, u64), u64> =
    TableDefinition::new("history_index");

/// `history_tail`: group-commit batch number → the events and frame updates of every step
/// of that batch (see [`super::tail`]); moved by compaction into `history_runs`,
/// `history_index`, `history_heads` and `frames`. Added in version 2 (events only);
/// version 3 added the frame updates.
pub const HISTORY_TAIL: TableDefinition<'_, u64, &[u8]> = TableDefinition::new(HISTORY_TAIL_NAME);

/// The name of [`HISTORY_TAIL`] (a [`QUARANTINE`] key names its table).
pub const HISTORY_TAIL_NAME: &str = "history_tail";

/// `quarantine`: (table, key) → a value that failed its checksum where it could not stay
/// (a tail row, which compaction must move), kept byte for byte for `stepwasm check`.
/// Added in version 4.
pub const QUARANTINE: TableDefinition<'_, (&str, u64), &[u8]> = TableDefinition::new("quarantine");

/// `history_heads`: execution ARN → id of its last history event as of the last compaction
/// (since version 3; newer events are in `history_tail`), so an append can check that it
/// neither skips nor repeats an id without scanning.
pub const HISTORY_HEADS: TableDefinition<'_, &str, u64> = TableDefinition::new("history_heads");

/// `frames`: (execution ARN, frame id) → the engine's opaque frame state as of the last
/// compaction (since version 3; newer states are in `history_tail`).
pub const FRAMES: TableDefinition<'_, (&str, u64), &[u8]> = TableDefinition::new("frames");

/// `redrivable`: execution ARN → its tenant, for every execution that ended FAILED,
/// TIMED_OUT or ABORTED: its frames (where each frame stood, and where it failed) are kept
/// for RedriveExecution instead of being dropped at its end. Added without a version bump
/// (created at open, like every table): an older store simply has no redrivable execution.
pub const REDRIVABLE: TableDefinition<'_, &str, &str> = TableDefinition::new("redrivable");
// ---- AWS's published versions, aliases and tags (added in version 5) ----

/// `machine_versions`: (tenant, state machine, version number) → JSON
/// [`super::PublishedVersion`]: AWS's immutable published versions, each naming the
/// revision (a `state_machines` row) it snapshots.
pub const MACHINE_VERSIONS: TableDefinition<'_, (&str, &str, u64), &[u8]> =
    TableDefinition::new("machine_versions");

/// `machine_aliases`: (tenant, state machine, alias) → JSON [`super::AliasRecord`].
pub const MACHINE_ALIASES: TableDefinition<'_, (&str, &str, &str), &[u8]> =
    TableDefinition::new("machine_aliases");

/// `machine_meta`: (tenant, state machine) → JSON [`super::versions::MachineMeta`]: the
/// last version number handed out (numbers are never reused, even after a delete).
pub const MACHINE_META: TableDefinition<'_, (&str, &str), &[u8]> =
    TableDefinition::new("machine_meta");

/// `tags`: (tenant, resource ARN) → JSON list of [`super::Tag`], in insertion order.
pub const TAGS: TableDefinition<'_, (&str, &str), &[u8]> = TableDefinition::new("tags");

/// Every table, opened once per write transaction: the group-commit writer hands this to
/// each job in its batch, so a job pays no table-open cost.
pub(super) struct Tables<'t> {
    pub meta: redb::Table<'t, &'static str, &'static [u8]>,
    pub tenants: redb::Table<'t, &'static str, &'static [u8]>,
    pub api_keys: redb::Table<'t, &'static [u8], &'static str>,
    pub usage: redb::Table<'t, &'static str, u64>,
    pub blobs: redb::Table<'t, &'static str, &'static [u8]>,
    pub blob_refs: redb::Table<'t, &'static str, u64>,
    pub artifacts: redb::Table<'t, (&'static str, &'static str), &'static [u8]>,
    pub components: redb::Table<'t, (&'static str, &'static str, u64), &'static [u8]>,
    pub state_machines: redb::Table<'t, (&'static str, &'static str, u64), &'static [u8]>,
    pub activities: redb::Table<'t, (&'static str, &'static str), &'static [u8]>,
    pub executions: redb::Table<'t, &'static str, &'static [u8]>,
    pub executions_by_tenant: redb::Table<'t, (&'static str, u64), &'static str>,
    pub running: redb::Table<'t, &'static str, &'static str>,
    pub redrivable: redb::Table<'t, &'static str, &'static str>,
    pub history_heads: redb::Table<'t, &'static str, u64>,
    pub frames: redb::Table<'t, (&'static str, u64), &'static [u8]>,
    pub history_tail: redb::Table<'t, u64, &'static [u8]>,
    pub machine_versions: redb::Table<'t, (&'static str, &'static str, u64), &'static [u8]>,
    pub machine_aliases: redb::Table<'t, (&'static str, &'static str, &'static str), &'static [u8]>,
    pub machine_meta: redb::Table<'t, (&'static str, &'static str), &'static [u8]>,
    pub tags: redb::Table<'t, (&'static str, &'static str), &'static [u8]>,
    /// Steps the batch's jobs appended, written as one `history_tail` row at the end.
    pub tail: super::tail::TailBuffer,
    /// The writer's cache of running flags and history heads (lent for the batch).
    pub heads: super::heads::Heads,
    /// Stored-bytes charges of the batch's steps, written once after its jobs.
    pub step_charges: super::tenants::StepCharges,
}

impl<'t> Tables<'t> {
    /// Opens (creating if needed) every table in `txn`.
    pub fn open(txn: &'t redb::WriteTransaction) -> Result<Self, redb::TableError> {
        Ok(Tables {
            meta: txn.open_table(META)?,
            tenants: txn.open_table(TENANTS)?,
            api_keys: txn.open_table(API_KEYS)?,
            usage: txn.open_table(USAGE)?,
            blobs: txn.open_table(BLOBS)?,
            blob_refs: txn.open_table(BLOB_REFS)?,
            artifacts: txn.open_table(ARTIFACTS)?,
            components: txn.open_table(COMPONENTS)?,
            state_machines: txn.open_table(STATE_MACHINES)?,
            activities: txn.open_table(ACTIVITIES)?,
            executions: txn.open_table(EXECUTIONS)?,
            executions_by_tenant: txn.open_table(EXECUTIONS_BY_TENANT)?,
            running: txn.open_table(RUNNING)?,
            redrivable: txn.open_table(REDRIVABLE)?,
            history_heads: txn.open_table(HISTORY_HEADS)?,
            frames: txn.open_table(FRAMES)?,
            history_tail: txn.open_table(HISTORY_TAIL)?,
            machine_versions: txn.open_table(MACHINE_VERSIONS)?,
            machine_aliases: txn.open_table(MACHINE_ALIASES)?,
            machine_meta: txn.open_table(MACHINE_META)?,
            tags: txn.open_table(TAGS)?,
            tail: super::tail::TailBuffer::default(),
            heads: super::heads::Heads::default(),
            step_charges: super::tenants::StepCharges::default(),
        })
    }
}
