//! Where a store file's bytes go (`stepwasm check --space`): per table, the bytes of its
//! keys and values, redb's metadata and fragmentation, and its pages; beside the file's
//! size. The measure behind the stored-bytes quota and the disk-use figures in README; and
//! [`reclaim`], which gives free pages back to the disk when the store opens.

use std::path::Path;

use redb::{Database, ReadOnlyDatabase, ReadableDatabase, ReadableTableMetadata, TableHandle};

use super::{Result, StoreError};

/// One table's share of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableSpace {
    /// The table's name.
    pub name: String,
    /// Its rows.
    pub rows: u64,
    /// Bytes of keys and values.
    pub stored: u64,
    /// redb's own bytes: branch keys and page headers.
    pub metadata: u64,
    /// Unused bytes inside its pages.
    pub fragmented: u64,
    /// Its pages (leaf and branch; a page holding a large value spans several).
    pub pages: u64,
}

impl TableSpace {
    /// The bytes of its pages: data, metadata and fragmentation.
    pub fn bytes(&self) -> u64 {
        self.stored + self.metadata + self.fragmented
    }
}

/// A whole store file.
#[derive(Clone, Debug, Default)]
pub struct SpaceReport {
    /// The file's length.
    pub file_bytes: u64,
    /// Every table, largest first.
    pub tables: Vec<TableSpace>,
}

impl SpaceReport {
    /// The table named `name`, if it exists.
    pub fn table(&self, name: &str) -> Option<&TableSpace> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// Bytes in the pages of every table (what the data holds, with its page overhead).
    pub fn table_bytes(&self) -> u64 {
        self.tables.iter().map(TableSpace::bytes).sum()
    }
}

/// Measures the store file at `path` (read-only: a running server must not hold it).
pub fn space_file(path: &Path) -> Result<SpaceReport> {
    let db = ReadOnlyDatabase::open(path).map_err(|e| StoreError::Open {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    let file_bytes = std::fs::metadata(path)
        .map_err(|e| StoreError::Open {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?
        .len();
    let txn = db.begin_read()?;
    let mut report = SpaceReport {
        file_bytes,
        tables: Vec::new(),
    };
    for handle in txn.list_tables()? {
        let name = handle.name().to_string();
        let table = txn.open_untyped_table(handle)?;
        let stats = table.stats()?;
        report.tables.push(TableSpace {
            name,
            rows: table.len()?,
            stored: stats.stored_bytes(),
            metadata: stats.metadata_bytes(),
            fragmented: stats.fragmented_bytes(),
            pages: stats.leaf_pages() + stats.branch_pages(),
        });
    }
    report.tables.sort_by_key(|t| std::cmp::Reverse(t.bytes()));
    Ok(report)
}

/// Files smaller than this are never compacted at open.
const RECLAIM_MIN_FILE: u64 = 64 << 20;

/// At open, before anything else uses `db`: when more than half of the file is free pages
/// (redb does not shrink a file; pages freed by compaction of the tail and by rewritten
/// records are reused only where a value of their size fits), compacts it, so a restart
/// gives the space back. Returns whether it compacted. A failure (a full disk: compaction
/// writes before it frees) leaves the file as it is and the store opens anyway.
pub(super) fn reclaim(db: &mut Database, path: &Path) -> bool {
    match try_reclaim(db, path) {
        Ok(compacted) => compacted,
        Err(e) => {
            super::LOG_STORAGE.log(|| format!("not compacted at open: {e}"));
            false
        }
    }
}

fn try_reclaim(db: &mut Database, path: &Path) -> Result<bool> {
    let failed = |detail: String| StoreError::Open {
        path: path.to_path_buf(),
        detail,
    };
    let file = std::fs::metadata(path)
        .map_err(|e| failed(e.to_string()))?
        .len();
    if file < RECLAIM_MIN_FILE {
        return Ok(false);
    }
    let txn = db.begin_write()?;
    let stats = txn.stats()?;
    txn.abort()?;
    let used = stats.allocated_pages() * stats.page_size() as u64;
    if used.saturating_mul(2) > file {
        return Ok(false);
    }
    let mut compacted = false;
    // Each call moves what it can; a few rounds reach the end.
    for _ in 0..8 {
        if !db
            .compact()
            .map_err(|e| failed(format!("compacting: {e}")))?
        {
            break;
        }
        compacted = true;
    }
    Ok(compacted)
}
