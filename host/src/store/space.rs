//! Where a store file's bytes go (`stepwasm check --space`): per table, the bytes of its
//! keys and values, redb's metadata and fragmentation, and its pages; beside the file's
//! size. The measure behind the stored-bytes quota and the disk-use figures in README.

use std::path::Path;

use redb::{ReadOnlyDatabase, ReadableDatabase, ReadableTableMetadata, TableHandle};

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
    report.tables.sort_by(|a, b| b.bytes().cmp(&a.bytes()));
    Ok(report)
}
