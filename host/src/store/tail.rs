//! The history tail: why and how history is written in two stages.
//!
//! A B-tree keyed by (execution, event id) dirties one leaf page per execution per
//! transaction, so a group commit of N executions' steps rewrites about N pages (4 KiB
//! each, checksummed, fsynced) however small the steps are. So a group commit writes
//! every step's events of its batch as ONE row of `history_tail` (keyed by a batch number,
//! appended at the right edge of the tree), and the writer thread later moves the tail
//! into `history` in one transaction ([`compact`]), where each execution's pending events
//! become one row (a run of consecutive events keyed by its first id). Both tables are
//! durable; the move is atomic.
//!
//! Readers merge both: for each execution, every id in the tail is newer than every id in
//! `history` (all appends go through the tail and a compaction moves the whole tail). An
//! in-memory index (execution → tail rows holding its events), rebuilt from the table at
//! open, lets a reader find its rows without scanning. The index lock is held by a reader
//! while it opens its read transaction and by the writer while it commits a compaction, so
//! a reader never sees rows compacted away without also seeing them in `history`.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use redb::{ReadTransaction, ReadableTable, WriteTransaction};

use super::schema::{HISTORY, HISTORY_TAIL};
use super::{Result, StoreError};

/// Compact once this many tail rows (group commits) are pending.
pub(super) const COMPACT_ROWS: usize = 64;

/// One step's events, encoded, for one execution.
pub(super) struct TailEntry<'a> {
    pub arn: &'a str,
    pub events: &'a [(u64, Vec<u8>)],
}

/// The events a batch appends, encoded as one row: for each entry, the ARN length (u16),
/// the ARN, the event count (u32), then per event its id (u64), length (u32) and bytes.
#[derive(Default)]
pub(super) struct TailBuffer {
    bytes: Vec<u8>,
    arns: Vec<Box<str>>,
}

impl TailBuffer {
    pub(super) fn push(&mut self, entry: &TailEntry<'_>) {
        let arn = entry.arn.as_bytes();
        self.bytes
            .extend_from_slice(&u16::try_from(arn.len()).unwrap_or(u16::MAX).to_le_bytes());
        self.bytes.extend_from_slice(arn);
        self.bytes
            .extend_from_slice(&(entry.events.len() as u32).to_le_bytes());
        for (id, e) in entry.events {
            self.bytes.extend_from_slice(&id.to_le_bytes());
            self.bytes
                .extend_from_slice(&(e.len() as u32).to_le_bytes());
            self.bytes.extend_from_slice(e);
        }
        if self.arns.last().is_none_or(|a| **a != *entry.arn) {
            self.arns.push(entry.arn.into());
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub(super) fn take(&mut self) -> (Vec<u8>, Vec<Box<str>>) {
        // The next batch starts with room for as much (no regrowth from empty).
        let room = self.bytes.capacity();
        (
            std::mem::replace(&mut self.bytes, Vec::with_capacity(room)),
            std::mem::take(&mut self.arns),
        )
    }
}

/// Appends one event to a run: its id (u64), length (u32) and bytes. A `history` value is
/// a run of consecutive events of one execution, keyed by its first id.
pub(super) fn push_event(run: &mut Vec<u8>, id: u64, bytes: &[u8]) {
    run.extend_from_slice(&id.to_le_bytes());
    run.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    run.extend_from_slice(bytes);
}

/// The events of a run, in order.
pub(super) fn run_events(run: &[u8]) -> Result<Vec<(u64, &[u8])>> {
    let mut rest = run;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let id = u64::from_le_bytes(
            take(&mut rest, 8, "history")?
                .try_into()
                .unwrap_or_default(),
        );
        let n = u32::from_le_bytes(
            take(&mut rest, 4, "history")?
                .try_into()
                .unwrap_or_default(),
        );
        out.push((id, take(&mut rest, n as usize, "history")?));
    }
    Ok(out)
}

fn take<'r>(row: &mut &'r [u8], n: usize, table: &'static str) -> Result<&'r [u8]> {
    if row.len() < n {
        return Err(StoreError::Corrupt {
            table,
            detail: "truncated row".into(),
        });
    }
    let (head, rest) = row.split_at(n);
    *row = rest;
    Ok(head)
}

/// Reads the entries of one tail row: (arn, event id, event bytes) in order.
fn entries(row: &[u8]) -> Result<Vec<(&str, u64, &[u8])>> {
    const T: &str = "history_tail";
    let mut row = row;
    let mut out = Vec::new();
    while !row.is_empty() {
        let len = u16::from_le_bytes(take(&mut row, 2, T)?.try_into().unwrap_or_default());
        let arn = std::str::from_utf8(take(&mut row, len as usize, T)?).map_err(|_| {
            StoreError::Corrupt {
                table: T,
                detail: "ARN is not UTF-8".into(),
            }
        })?;
        let count = u32::from_le_bytes(take(&mut row, 4, T)?.try_into().unwrap_or_default());
        for _ in 0..count {
            let id = u64::from_le_bytes(take(&mut row, 8, T)?.try_into().unwrap_or_default());
            let n = u32::from_le_bytes(take(&mut row, 4, T)?.try_into().unwrap_or_default());
            out.push((arn, id, take(&mut row, n as usize, T)?));
        }
    }
    Ok(out)
}

/// Which tail rows hold events of which execution, and the next row number.
#[derive(Default)]
pub(super) struct TailIndex {
    rows_of: HashMap<Box<str>, Vec<u64>>,
    pending_rows: usize,
    next_row: u64,
}

/// The index, shared by the writer thread and readers.
pub(super) type SharedIndex = Arc<RwLock<TailIndex>>;

impl TailIndex {
    /// Rebuilds the index from the tail table (at open).
    pub(super) fn load(txn: &ReadTransaction) -> Result<Self> {
        let t = txn.open_table(HISTORY_TAIL)?;
        let mut index = TailIndex::default();
        for row in t.iter()? {
            let (k, v) = row?;
            let key = k.value();
            let mut last: Option<&str> = None;
            for (arn, _, _) in entries(v.value())? {
                if last != Some(arn) {
                    index.add(arn, key);
                    last = Some(arn);
                }
            }
            index.pending_rows += 1;
            index.next_row = key + 1;
        }
        Ok(index)
    }

    fn add(&mut self, arn: &str, row: u64) {
        let rows = self.rows_of.entry(arn.into()).or_default();
        if rows.last() != Some(&row) {
            rows.push(row);
        }
    }

    /// The row number the next batch writes.
    pub(super) fn next_row(&self) -> u64 {
        self.next_row
    }

    /// Records a committed batch row.
    pub(super) fn committed(&mut self, row: u64, arns: &[Box<str>]) {
        for arn in arns {
            self.add(arn, row);
        }
        self.pending_rows += 1;
        self.next_row = row + 1;
    }

    /// Whether enough rows are pending to compact.
    pub(super) fn pending_rows(&self) -> usize {
        self.pending_rows
    }
}

/// Moves every tail row into `history` inside `txn` (not committed here). Returns how many
/// rows it moved. `scratch` is reused from one compaction to the next, so building the
/// runs allocates nothing per execution.
pub(super) fn compact(txn: &WriteTransaction, scratch: &mut Vec<u8>) -> Result<usize> {
    let mut tail = txn.open_table(HISTORY_TAIL)?;
    let mut history = txn.open_table(HISTORY)?;
    let rows = {
        // Each execution's tail events become ONE `history` row (a run keyed by its first
        // id): one insert per execution per compaction, not one per event.
        let guards = tail
            .iter()?
            .map(|row| row.map(|(_, v)| v))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let mut events = Vec::new();
        for v in &guards {
            events.extend(entries(v.value())?);
        }
        // Stable: each execution's events keep their (row, then position) order, which is
        // their id order. Sorted by ARN, the inserts walk `history` left to right.
        events.sort_by(|a, b| a.0.cmp(b.0));
        for group in events.chunk_by(|a, b| a.0 == b.0) {
            scratch.clear();
            for (_, id, bytes) in group {
                push_event(scratch, *id, bytes);
            }
            history.insert((group[0].0, group[0].1), scratch.as_slice())?;
        }
        guards.len()
    };
    tail.retain(|_, _| false)?;
    Ok(rows)
}

/// Clears the index after a compaction committed (call with the write lock held across
/// the commit).
pub(super) fn compacted(index: &mut TailIndex) {
    index.rows_of.clear();
    index.pending_rows = 0;
}

/// The events of `arn` still in the tail, by id, as seen by `txn`. `rows` comes from the
/// index, read under its lock when `txn` began.
pub(super) fn events_of(
    txn: &ReadTransaction,
    arn: &str,
    rows: &[u64],
) -> Result<Vec<(u64, Vec<u8>)>> {
    let mut out = Vec::new();
    if rows.is_empty() {
        return Ok(out);
    }
    let t = txn.open_table(HISTORY_TAIL)?;
    for row in rows {
        let Some(v) = t.get(*row)? else { continue };
        for (a, id, bytes) in entries(v.value())? {
            if a == arn {
                out.push((id, bytes.to_vec()));
            }
        }
    }
    out.sort_unstable_by_key(|(id, _)| *id);
    Ok(out)
}

/// Begins a read transaction together with the tail rows of `arn`, consistently.
pub(super) fn begin_read(
    db: &redb::Database,
    index: &SharedIndex,
    arn: &str,
) -> Result<(ReadTransaction, Vec<u64>)> {
    use redb::ReadableDatabase;
    let guard = index.read().unwrap_or_else(|p| p.into_inner());
    let txn = db.begin_read()?;
    let rows = guard.rows_of.get(arn).cloned().unwrap_or_default();
    Ok((txn, rows))
}
