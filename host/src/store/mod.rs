//! The durable store: one redb file holding tenants and keys, components, state machines,
//! executions, their history and their resumable frames. This is the only module that
//! imports redb.
//!
//! Writes go through one writer thread ([`writer`]) that batches every pending write into a
//! single durable transaction (group commit), so concurrent executions share fsyncs. Reads
//! open their own read transactions and never wait for the writer.

mod activities;
mod catalog;
mod check;
mod executions;
mod heads;
mod records;
mod schema;
mod seal;
mod slot;
mod space;
mod tail;
mod tenants;
mod versions;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{Database, ReadableDatabase, ReadableTable};

pub use catalog::{NewComponent, Revision};
pub use check::{CheckReport, check_file};
pub use executions::{
    ExecutionFilter, ExecutionsPage, HistoryPage, RecoveredExecution, StartOutcome,
};
pub use records::*;
pub use slot::StoreHealth;
pub use space::{SpaceReport, TableSpace, space_file};
pub use tenants::AwsCredentialRecord;
pub use versions::{AliasRecord, NewRevision, PublishedVersion, RevisionCheck, RouteWeight, Tag};
pub use writer::Durability;

/// Bytes of redb page cache a store keeps by default (`serve --cache-mb`): 64 MiB. The
/// cache holds database pages only; it is set explicitly because redb's own default
/// (1 GiB) would dominate the memory of a small server. Measured with `bench-store`: 64 MiB
/// commits as fast as 256 MiB (the group-commit working set is small) and keeps 100,000
/// waiting executions under 2 KiB each.
pub const DEFAULT_CACHE_BYTES: usize = 64 * 1024 * 1024;

/// File name of the database inside the data directory.
pub const DB_FILE_NAME: &str = "stepwasm.redb";

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database file could not be created or opened.
    #[error("cannot open store at {path}: {detail}")]
    Open {
        /// The file.
        path: PathBuf,
        /// What redb or the OS said.
        detail: String,
    },
    /// The file was written by a newer build with a layout this one does not know.
    #[error("store schema version {found} is newer than this build supports ({supported})")]
    SchemaTooNew {
        /// Version in the file.
        found: u64,
        /// Highest version this build reads.
        supported: u64,
    },
    /// The disk is full (or over quota): writes are refused until space is back, when the
    /// store reopens itself; reads are still served.
    #[error("storage full: {detail}")]
    StorageFull {
        /// What the OS or redb said.
        detail: String,
    },
    /// redb failed while reading or writing.
    #[error("storage error: {detail}")]
    Storage {
        /// What redb said.
        detail: String,
    },
    /// A stored value failed its checksum or did not decode: that one record is damaged.
    #[error("corrupt record '{record}' in table {table}: {detail}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// The record's key (an execution ARN, a tail row number, ...).
        record: String,
        /// What is wrong with it.
        detail: String,
    },
    /// The write transaction holding this write failed to commit; nothing of it is durable.
    #[error("commit failed: {detail}")]
    CommitFailed {
        /// Why.
        detail: String,
    },
    /// The writer thread is gone (the store is shutting down).
    #[error("the store is shut down")]
    ShutDown,
    /// A record that must be new already exists.
    #[error("{what} '{name}' already exists")]
    AlreadyExists {
        /// Kind of record.
        what: &'static str,
        /// Its name.
        name: String,
    },
    /// A record that must exist does not.
    #[error("{what} '{name}' does not exist")]
    NotFound {
        /// Kind of record.
        what: &'static str,
        /// Its name.
        name: String,
    },
    /// The write conflicts with the current state (AWS's `ConflictException`): a revision id
    /// that no longer matches, a version an alias still routes to.
    #[error("{reason}")]
    Conflict {
        /// Why.
        reason: String,
    },
    /// A per-resource count limit (versions per state machine, aliases, tags).
    #[error("{what}: at most {limit}")]
    LimitExceeded {
        /// What is counted.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// A write would take a tenant past its stored-bytes quota.
    #[error("tenant '{tenant}' would store {needed} bytes, over its quota of {limit}")]
    QuotaExceeded {
        /// The tenant.
        tenant: String,
        /// Its quota.
        limit: u64,
        /// Bytes it would store after the write.
        needed: u64,
    },
    /// The execution is not RUNNING, so it takes no more steps.
    #[error("execution {execution} is not running")]
    NotRunning {
        /// The execution.
        execution: String,
    },
    /// RedriveExecution of an execution that did not end FAILED, TIMED_OUT or ABORTED.
    #[error(
        "execution {execution} is {status:?}: only a FAILED, TIMED_OUT or ABORTED execution can be redriven"
    )]
    NotRedrivable {
        /// The execution.
        execution: String,
        /// Its status.
        status: crate::engine::ports::ExecutionStatus,
    },
    /// A history append would leave a gap or repeat an event id.
    #[error("history of {execution} out of order: expected event id {expected}, got {got}")]
    HistoryOutOfOrder {
        /// The execution.
        execution: String,
        /// The id that must come next.
        expected: u64,
        /// The id the commit carried.
        got: u64,
    },
}

macro_rules! storage_from {
    ($($ty:ty),*) => {$(
        impl From<$ty> for StoreError {
            fn from(e: $ty) -> Self {
                classify(redb::Error::from(e))
            }
        }
    )*};
}

/// A redb error as ours: no space (ENOSPC, EDQUOT), or redb's refusal to write after an
/// I/O error (which only a reopen clears), is [`StoreError::StorageFull`].
fn classify(e: redb::Error) -> StoreError {
    let full = match &e {
        redb::Error::Io(io) => {
            io.kind() == std::io::ErrorKind::StorageFull
                || io.kind() == std::io::ErrorKind::QuotaExceeded
                || matches!(io.raw_os_error(), Some(28 | 122))
        }
        redb::Error::PreviousIo => true,
        _ => false,
    };
    let detail = e.to_string();
    if full {
        StoreError::StorageFull { detail }
    } else {
        StoreError::Storage { detail }
    }
}

/// One stderr line per second at most for repeated storage failures (see [`crate::ratelog`]).
static LOG_STORAGE: crate::ratelog::Limiter =
    crate::ratelog::Limiter::new(std::time::Duration::from_secs(1));
storage_from!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

impl StoreError {
    /// Whether this error means the storage itself failed (as opposed to a rule such as
    /// "already exists"); a storage failure aborts the whole group-commit batch.
    fn is_storage(&self) -> bool {
        matches!(
            self,
            StoreError::Storage { .. }
                | StoreError::StorageFull { .. }
                | StoreError::Corrupt { .. }
                | StoreError::CommitFailed { .. }
        )
    }

    /// Whether this error means the disk is full (see [`classify`]).
    fn is_full(&self) -> bool {
        matches!(self, StoreError::StorageFull { .. })
    }
}

/// Shorthand for store results.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A handle to the open store; cheap to clone, shared by every task and request.
#[derive(Clone)]
pub struct Store {
    slot: Arc<slot::Slot>,
    writer: Arc<writer::Writer>,
    /// Which `history_tail` rows hold which execution's newest events.
    tail: tail::SharedIndex,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (or creates) `DIR/stepwasm.redb` with durable commits.
    pub fn open_dir(dir: &Path) -> Result<Self> {
        Self::open_dir_with_cache(dir, DEFAULT_CACHE_BYTES)
    }

    /// Like [`Store::open_dir`], with the size of redb's page cache.
    pub fn open_dir_with_cache(dir: &Path, cache_bytes: usize) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Open {
            path: dir.to_path_buf(),
            detail: e.to_string(),
        })?;
        Self::open_with_cache(&dir.join(DB_FILE_NAME), Durability::Immediate, cache_bytes)
    }

    /// Opens (or creates) the database file, checks its schema version (writing it on a new
    /// file), and starts the group-commit writer.
    pub fn open(path: &Path, durability: Durability) -> Result<Self> {
        Self::open_with_cache(path, durability, DEFAULT_CACHE_BYTES)
    }

    /// Like [`Store::open`], with the size of redb's page cache.
    pub fn open_with_cache(
        path: &Path,
        durability: Durability,
        cache_bytes: usize,
    ) -> Result<Self> {
        let mut db = Database::builder()
            .set_cache_size(cache_bytes)
            .create(path)
            .map_err(|e| StoreError::Open {
                path: path.to_path_buf(),
                detail: e.to_string(),
            })?;
        let txn = db.begin_write()?;
        {
            let mut meta = txn.open_table(schema::META)?;
            let found = match meta.get("schema_version")? {
                Some(v) => Some(decode_u64(v.value(), "meta")?),
                None => None,
            };
            match found {
                None => {
                    meta.insert("schema_version", &schema::SCHEMA_VERSION.to_be_bytes()[..])?;
                }
                Some(v) if v > schema::SCHEMA_VERSION => {
                    return Err(StoreError::SchemaTooNew {
                        found: v,
                        supported: schema::SCHEMA_VERSION,
                    });
                }
                Some(v) => {
                    if v < 2 {
                        // Version 2: `history` rows are runs of events (and `history_tail`
                        // exists, created below): each version-1 row becomes a run of one.
                        let mut t = txn.open_table(schema::HISTORY)?;
                        let mut rows = Vec::new();
                        for row in t.iter()? {
                            let (k, v) = row?;
                            let (arn, id) = k.value();
                            let mut run = Vec::new();
                            tail::push_event(&mut run, id, v.value());
                            rows.push((arn.to_string(), id, run));
                        }
                        for (arn, id, run) in rows {
                            t.insert((arn.as_str(), id), run.as_slice())?;
                        }
                    }
                    if v < 3 {
                        // Version 3: runs are keyed by a growing run number, found through
                        // `history_index`; the version-2 `history` table goes.
                        let mut runs = txn.open_table(schema::HISTORY_RUNS)?;
                        let mut index = txn.open_table(schema::HISTORY_INDEX)?;
                        let old = txn.open_table(schema::HISTORY)?;
                        for (number, row) in old.iter()?.enumerate() {
                            let (k, v) = row?;
                            let (arn, first) = k.value();
                            runs.insert(number as u64, v.value())?;
                            index.insert((arn, first), number as u64)?;
                        }
                        drop(old);
                        txn.delete_table(schema::HISTORY)?;
                    }
                    if v == 2 {
                        // Version 3: tail rows also carry frame updates (an empty frame
                        // section is added to each entry of a version-2 row).
                        let mut t = txn.open_table(schema::HISTORY_TAIL)?;
                        let mut rows = Vec::new();
                        for row in t.iter()? {
                            let (k, v) = row?;
                            rows.push((k.value(), tail::upgrade_v2_row(v.value())?));
                        }
                        for (k, row) in rows {
                            t.insert(k, row.as_slice())?;
                        }
                    }
                    if v < 4 {
                        // Version 4: values carry their checksum (see `seal`).
                        seal_table(&txn, schema::TENANTS)?;
                        seal_table(&txn, schema::COMPONENTS)?;
                        seal_table(&txn, schema::STATE_MACHINES)?;
                        seal_table(&txn, schema::EXECUTIONS)?;
                        seal_table(&txn, schema::FRAMES)?;
                        seal_table(&txn, schema::HISTORY_RUNS)?;
                        seal_table(&txn, schema::HISTORY_TAIL)?;
                        seal_table(&txn, schema::ARTIFACTS)?;
                    }
                    // Version 5 adds `machine_versions`, `machine_aliases`, `machine_meta`
                    // and `tags` (created empty below): nothing to move.
                    if v < schema::SCHEMA_VERSION {
                        meta.insert("schema_version", &schema::SCHEMA_VERSION.to_be_bytes()[..])?;
                    }
                }
            }
            // Create every table so readers never meet a missing one.
            txn.open_table(schema::TENANTS)?;
            txn.open_table(schema::API_KEYS)?;
            txn.open_table(schema::USAGE)?;
            txn.open_table(schema::BLOBS)?;
            txn.open_table(schema::BLOB_REFS)?;
            txn.open_table(schema::ARTIFACTS)?;
            txn.open_table(schema::COMPONENTS)?;
            txn.open_table(schema::STATE_MACHINES)?;
            txn.open_table(schema::EXECUTIONS)?;
            txn.open_table(schema::EXECUTIONS_BY_TENANT)?;
            txn.open_table(schema::RUNNING)?;
            txn.open_table(schema::HISTORY_RUNS)?;
            txn.open_table(schema::HISTORY_INDEX)?;
            txn.open_table(schema::HISTORY_HEADS)?;
            txn.open_table(schema::HISTORY_TAIL)?;
            txn.open_table(schema::FRAMES)?;
            txn.open_table(schema::QUARANTINE)?;
            txn.open_table(schema::REDRIVABLE)?;
            txn.open_table(schema::MACHINE_VERSIONS)?;
            txn.open_table(schema::MACHINE_ALIASES)?;
            txn.open_table(schema::MACHINE_META)?;
            txn.open_table(schema::TAGS)?;
        }
        txn.commit()?;
        space::reclaim(&mut db, path);
        let tail: tail::SharedIndex = Arc::new(std::sync::RwLock::new(tail::TailIndex::load(
            &db.begin_read()?,
        )?));
        let slot = Arc::new(slot::Slot::new(Arc::new(db), path, cache_bytes));
        let writer = Arc::new(writer::Writer::start(
            slot.clone(),
            durability,
            tail.clone(),
        ));
        Ok(Self {
            slot,
            writer,
            tail,
            path: path.to_path_buf(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether writes work (for `/healthz`).
    pub fn health(&self) -> StoreHealth {
        self.slot.health()
    }

    /// The schema version recorded in the file.
    pub fn schema_version(&self) -> Result<u64> {
        let txn = self.slot.begin_read()?;
        let meta = txn.open_table(schema::META)?;
        match meta.get("schema_version")? {
            Some(v) => decode_u64(v.value(), "meta"),
            None => Err(StoreError::Corrupt {
                table: "meta",
                record: "schema_version".into(),
                detail: "missing".into(),
            }),
        }
    }

    /// Moves the history tail into `history` now (tests use it to read both layouts).
    pub async fn compact_history(&self) -> Result<()> {
        self.writer.request_compaction();
        // The writer compacts after the batch holding this no-op, before the next one.
        writer::wait(self.writer.submit(|_| Ok(()))).await?;
        writer::wait(self.writer.submit(|_| Ok(()))).await
    }

    /// Number of group-commit transactions and writes so far (for benchmarks).
    pub fn commit_stats(&self) -> (u64, u64) {
        self.writer.stats()
    }
}

/// Appends the checksum to every value of a table (the version 4 migration). The table is
/// rewritten in one pass, held in memory: stores migrated so far are small.
fn seal_table<K: redb::Key + 'static>(
    txn: &redb::WriteTransaction,
    def: redb::TableDefinition<'static, K, &'static [u8]>,
) -> Result<()> {
    let mut t = txn.open_table(def)?;
    let mut rows: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    for row in t.iter()? {
        let (k, v) = row?;
        let key = K::as_bytes(&k.value()).as_ref().to_vec();
        rows.push((key, seal::seal(v.value().to_vec())));
    }
    for (k, v) in rows {
        t.insert(K::from_bytes(&k), v.as_slice())?;
    }
    Ok(())
}

fn decode_u64(bytes: &[u8], table: &'static str) -> Result<u64> {
    let arr: [u8; 8] = bytes.try_into().map_err(|_| StoreError::Corrupt {
        table,
        record: "meta value".into(),
        detail: format!("expected 8 bytes, found {}", bytes.len()),
    })?;
    Ok(u64::from_be_bytes(arr))
}

/// Decodes a sealed JSON record (see [`seal`]); `record` names it in the error.
fn decode<T: serde::de::DeserializeOwned>(
    value: &[u8],
    table: &'static str,
    record: &str,
) -> Result<T> {
    let bytes = seal::open(value, table, || record.to_string())?;
    decode_json(bytes, table, record)
}

/// Decodes unsealed JSON (an event inside a sealed run or tail row).
fn decode_json<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    table: &'static str,
    record: &str,
) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        table,
        record: record.to_string(),
        detail: e.to_string(),
    })
}

/// A record as stored: JSON, sealed with its checksum.
fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
    // Serializing these plain structs cannot fail (string keys, no custom Serialize).
    seal::seal(serde_json::to_vec(value).unwrap_or_default())
}

/// Current wall-clock time in Unix milliseconds.
pub fn now_ms() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod tail_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod versions_tests;
