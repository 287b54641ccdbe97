//! The tail: why and how steps are written in two stages.
//!
//! A B-tree keyed by execution dirties one leaf page per execution per transaction, so a
//! group commit of N executions' steps would rewrite about N pages of each such table
//! (history, history heads, frames: 4 KiB each, checksummed, fsynced) however small the
//! steps are. So a group commit writes every step of its batch (its events and frame
//! updates) as ONE row of `history_tail` (keyed by a batch number, appended at the right
//! edge of the tree), and the writer thread later moves the tail into the per-execution
//! tables, oldest rows first, one slice per transaction ([`compact`]): each execution's
//! pending events in the slice become one `history` row (a run of consecutive events keyed
//! by its first id), its last event id goes to `history_heads`, and only the last state of
//! each of its frames reaches `frames`. Both stages are durable; each slice moves
//! atomically (its rows leave the tail in the transaction that writes them elsewhere).
//!
//! Readers merge both: for each execution, everything in the tail is newer than what the
//! tables hold (all steps go through the tail and a compaction moves its oldest rows). An
//! in-memory index (execution → tail rows holding its steps), rebuilt from the table at
//! open, lets a reader find its rows without scanning. The index lock is held by a reader
//! while it opens its read transaction and by the writer while it commits a compaction, so
//! a reader never sees rows compacted away without also seeing them in the tables.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use redb::{ReadTransaction, ReadableTable, WriteTransaction};
use rustc_hash::FxHashMap;

use super::schema::{
    FRAMES, HISTORY_HEADS, HISTORY_INDEX, HISTORY_RUNS, HISTORY_TAIL, HISTORY_TAIL_NAME,
    QUARANTINE, REDRIVABLE, RUNNING,
};
use super::{Result, StoreError, seal};
use crate::engine::history::HistoryEvent;
use crate::engine::ports::FrameUpdate;

/// Compact once the pending tail rows hold this many bytes: each compaction costs a few
/// writes per execution it touches, so it waits until most executions have many steps in
/// the tail (and then moves them in one run each). The price is memory: a compaction holds
/// the whole tail, and the allocator keeps some of it. Measured with `bench-store` (11:42
/// UTC, before the execution bound below): 32 MiB gave 121,635/s median and 1.8-2.2 KiB
/// per waiting execution; 64 MiB gave 137,005/s and 2.9-3.0 KiB. With the execution bound
/// (it applies to a burst of 100,000 starts), 64 MiB measured 1.8-1.9 KiB (target 4 KiB).
const COMPACT_BYTES: usize = 64 << 20;
/// ... or once this many rows (group commits) are pending, which bounds the index.
const COMPACT_ROWS: usize = 1024;
/// ... or once this many executions have steps pending: a compaction's writes grow with
/// them (about 7 us each). With one transaction per compaction this bound made the pause
/// 110-140 ms (`bench/http-start.sh 10 64`, one-step executions: p99 start latency 114-135
/// ms); slices ([`SLICE_EXECUTIONS`]) now bound the pause instead (p99 16-22 ms, 12:31-12:34
/// UTC).
const COMPACT_EXECUTIONS: usize = 16 * 1024;

/// Length marker of a deleted frame in a tail entry.
const DELETED: u32 = u32::MAX;

/// The event ids a step appends, summarised so the writer can check them against the
/// execution's head without walking the events.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct EventIds {
    /// Id of the first event (meaningless when `count` is 0).
    pub first: u64,
    /// How many events.
    pub count: u64,
    /// The first event (position, id) that does not follow its predecessor, if any.
    pub gap: Option<(u64, u64)>,
}

/// One step of one execution, encoded as a tail entry off the writer thread: the ARN
/// length (u16), the ARN, the event count (u32), per event its id (u64), length (u32) and
/// JSON bytes, then the frame count (u32), per frame its id (u64), length (u32, or
/// `u32::MAX` for a deleted frame) and state bytes.
pub(super) struct TailEntry {
    pub bytes: Vec<u8>,
    pub ids: EventIds,
    /// What its events take in `history_runs` once compacted (id, length, JSON): what the
    /// step adds to its tenant's stored bytes.
    pub history_bytes: u64,
}

impl TailEntry {
    /// Encodes `events` and `frames` of `arn` (JSON is written straight into the entry).
    pub(super) fn encode(arn: &str, events: &[HistoryEvent], frames: &[FrameUpdate]) -> Self {
        let frame_bytes: usize = frames
            .iter()
            .map(|f| 12 + f.state.as_ref().map_or(0, Vec::len))
            .sum();
        let mut bytes = Vec::with_capacity(10 + arn.len() + 256 * events.len() + frame_bytes);
        let arn = arn.as_bytes();
        bytes.extend_from_slice(&u16::try_from(arn.len()).unwrap_or(u16::MAX).to_le_bytes());
        bytes.extend_from_slice(arn);
        bytes.extend_from_slice(&(events.len() as u32).to_le_bytes());
        let mut ids = EventIds {
            first: events.first().map_or(0, |e| e.id),
            count: events.len() as u64,
            gap: None,
        };
        for (i, e) in events.iter().enumerate() {
            if ids.gap.is_none() && e.id != ids.first + i as u64 {
                ids.gap = Some((i as u64, e.id));
            }
            bytes.extend_from_slice(&e.id.to_le_bytes());
            let at = bytes.len();
            bytes.extend_from_slice(&[0; 4]);
            // Serializing a plain event into a Vec cannot fail (string keys only).
            let _ = serde_json::to_writer(&mut bytes, e);
            let n = (bytes.len() - at - 4) as u32;
            bytes[at..at + 4].copy_from_slice(&n.to_le_bytes());
        }
        // The events section minus its count: per event its id, length and JSON, as a run
        // stores it.
        let history_bytes = (bytes.len() - 6 - arn.len()) as u64;
        bytes.extend_from_slice(&(frames.len() as u32).to_le_bytes());
        for f in frames {
            bytes.extend_from_slice(&f.frame.to_le_bytes());
            match &f.state {
                Some(s) => {
                    bytes.extend_from_slice(&(s.len() as u32).to_le_bytes());
                    bytes.extend_from_slice(s);
                }
                None => bytes.extend_from_slice(&DELETED.to_le_bytes()),
            }
        }
        Self {
            bytes,
            ids,
            history_bytes,
        }
    }
}

/// The steps a batch appends, as one row (its entries back to back).
#[derive(Default)]
pub(super) struct TailBuffer {
    bytes: Vec<u8>,
    arns: Vec<Box<str>>,
}

impl TailBuffer {
    /// Adds the encoded step of `arn`.
    pub(super) fn push(&mut self, arn: &str, entry: &TailEntry) {
        self.bytes.extend_from_slice(&entry.bytes);
        if self.arns.last().is_none_or(|a| **a != *arn) {
            self.arns.push(arn.into());
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The row's bytes, sealed with their checksum (call once, before [`Self::finish`]).
    pub(super) fn sealed(&mut self) -> &[u8] {
        seal::seal_from(&mut self.bytes, 0);
        &self.bytes
    }

    /// The executions the row holds steps of; leaves the buffer empty, with its capacity
    /// (a fresh buffer of this size would be fresh pages, zeroed by the kernel, every batch).
    pub(super) fn finish(&mut self) -> Vec<Box<str>> {
        self.bytes.clear();
        std::mem::take(&mut self.arns)
    }
}

/// Appends one event to a run: its id (u64), length (u32) and bytes. A `history` value is
/// a run of consecutive events of one execution, keyed by its first id.
pub(super) fn push_event(run: &mut Vec<u8>, id: u64, bytes: &[u8]) {
    run.extend_from_slice(&id.to_le_bytes());
    run.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    run.extend_from_slice(bytes);
}

/// The events of a sealed run (number `number`, of `arn`), in order.
pub(super) fn run_events<'r>(
    run: &'r [u8],
    arn: &str,
    number: u64,
) -> Result<Vec<(u64, &'r [u8])>> {
    const T: &str = "history_runs";
    let record = || format!("{arn} (run {number})");
    let mut rest = seal::open(run, T, record)?;
    let mut out = Vec::new();
    let parsed = (|| {
        while !rest.is_empty() {
            let id = u64_at(&mut rest, T)?;
            let n = u32_at(&mut rest, T)?;
            out.push((id, take(&mut rest, n as usize, T)?));
        }
        Ok(())
    })();
    parsed.map_err(|e: StoreError| named(e, record()))?;
    Ok(out)
}

/// `e` (a [`StoreError::Corrupt`] from parsing) naming `record`.
fn named(e: StoreError, record: String) -> StoreError {
    match e {
        StoreError::Corrupt { table, detail, .. } => StoreError::Corrupt {
            table,
            record,
            detail,
        },
        other => other,
    }
}

fn take<'r>(row: &mut &'r [u8], n: usize, table: &'static str) -> Result<&'r [u8]> {
    if row.len() < n {
        return Err(StoreError::Corrupt {
            table,
            record: String::new(),
            detail: "truncated row".into(),
        });
    }
    let (head, rest) = row.split_at(n);
    *row = rest;
    Ok(head)
}

fn u64_at(row: &mut &[u8], table: &'static str) -> Result<u64> {
    Ok(u64::from_le_bytes(
        take(row, 8, table)?.try_into().unwrap_or_default(),
    ))
}

fn u32_at(row: &mut &[u8], table: &'static str) -> Result<u32> {
    Ok(u32::from_le_bytes(
        take(row, 4, table)?.try_into().unwrap_or_default(),
    ))
}

/// One thing a tail entry holds.
#[derive(Clone, Copy, Debug)]
pub(super) enum Item<'r> {
    /// A history event: id and JSON bytes.
    Event(u64, &'r [u8]),
    /// A frame's new state (`None`: deleted).
    Frame(u64, Option<&'r [u8]>),
}

/// Calls `f(arn, item)` for every item of tail row `key` (sealed), in order; nothing is
/// visited unless the row's checksum matches.
pub(super) fn visit<'r>(row: &'r [u8], key: u64, f: impl FnMut(&'r str, Item<'r>)) -> Result<()> {
    let record = || format!("row {key}");
    let row = seal::open(row, "history_tail", record)?;
    visit_items(row, f).map_err(|e| named(e, record()))
}

/// Calls `f(arn, item)` for every item of an unsealed tail row.
fn visit_items<'r>(row: &'r [u8], mut f: impl FnMut(&'r str, Item<'r>)) -> Result<()> {
    const T: &str = "history_tail";
    let mut row = row;
    while !row.is_empty() {
        let len = u16::from_le_bytes(take(&mut row, 2, T)?.try_into().unwrap_or_default());
        let arn = std::str::from_utf8(take(&mut row, len as usize, T)?).map_err(|_| {
            StoreError::Corrupt {
                table: T,
                record: String::new(),
                detail: "ARN is not UTF-8".into(),
            }
        })?;
        for _ in 0..u32_at(&mut row, T)? {
            let id = u64_at(&mut row, T)?;
            let n = u32_at(&mut row, T)?;
            f(arn, Item::Event(id, take(&mut row, n as usize, T)?));
        }
        for _ in 0..u32_at(&mut row, T)? {
            let id = u64_at(&mut row, T)?;
            let state = match u32_at(&mut row, T)? {
                DELETED => None,
                n => Some(take(&mut row, n as usize, T)?),
            };
            f(arn, Item::Frame(id, state));
        }
    }
    Ok(())
}

/// Rewrites a version-2 tail row (events only) in the current layout: each entry gets an
/// empty frame section.
pub(super) fn upgrade_v2_row(row: &[u8]) -> Result<Vec<u8>> {
    const T: &str = "history_tail";
    let mut out = Vec::with_capacity(row.len() + row.len() / 16);
    let mut rest = row;
    while !rest.is_empty() {
        let start = rest;
        let len = u16::from_le_bytes(take(&mut rest, 2, T)?.try_into().unwrap_or_default());
        take(&mut rest, len as usize, T)?;
        for _ in 0..u32_at(&mut rest, T)? {
            u64_at(&mut rest, T)?;
            let n = u32_at(&mut rest, T)?;
            take(&mut rest, n as usize, T)?;
        }
        out.extend_from_slice(&start[..start.len() - rest.len()]);
        out.extend_from_slice(&0u32.to_le_bytes());
    }
    Ok(out)
}

/// Which tail rows hold steps of which execution, and the next row number.
#[derive(Default)]
pub(super) struct TailIndex {
    /// FxHash: the writer updates it for every execution of every batch.
    rows_of: FxHashMap<Box<str>, Vec<u64>>,
    pending_rows: usize,
    pending_bytes: usize,
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
            let mut arns: Vec<&str> = Vec::new();
            let visited = visit(v.value(), key, |arn, _| {
                if arns.last() != Some(&arn) {
                    arns.push(arn);
                }
            });
            match visited {
                // Readers never look at it; the next compaction quarantines it.
                Err(e @ StoreError::Corrupt { .. }) => {
                    eprintln!("stepwasm: {e}; it will be moved to the quarantine table");
                }
                Err(e) => return Err(e),
                Ok(()) => {
                    for arn in arns {
                        index.add(arn, key);
                    }
                }
            }
            index.pending_rows += 1;
            index.pending_bytes += v.value().len();
            index.next_row = key + 1;
        }
        Ok(index)
    }

    fn add(&mut self, arn: &str, row: u64) {
        if let Some(rows) = self.rows_of.get_mut(arn) {
            if rows.last() != Some(&row) {
                rows.push(row);
            }
        } else {
            self.rows_of.insert(arn.into(), vec![row]);
        }
    }

    /// The row number the next batch writes.
    pub(super) fn next_row(&self) -> u64 {
        self.next_row
    }

    /// Records a committed batch row of `bytes` bytes.
    pub(super) fn committed(&mut self, row: u64, arns: &[Box<str>], bytes: usize) {
        for arn in arns {
            self.add(arn, row);
        }
        self.pending_rows += 1;
        self.pending_bytes += bytes;
        self.next_row = row + 1;
    }

    /// How many rows are pending.
    pub(super) fn pending_rows(&self) -> usize {
        self.pending_rows
    }

    /// Whether enough is pending to compact.
    pub(super) fn compaction_due(&self) -> bool {
        self.pending_rows >= COMPACT_ROWS
            || self.pending_bytes >= COMPACT_BYTES
            || self.rows_of.len() >= COMPACT_EXECUTIONS
    }

    /// The last row of the next compaction slice: the first row at which the slice holds
    /// [`SLICE_EXECUTIONS`] executions and few of them have steps in later rows; the last
    /// row of the tail if there is no such cut. `None`: the tail is empty.
    pub(super) fn slice_end(&self) -> Option<u64> {
        let last = self.next_row.checked_sub(1)?;
        let Some(&first) = self.rows_of.values().filter_map(|rows| rows.first()).min() else {
            // Only damaged rows are left: one slice quarantines them.
            return (self.pending_rows > 0).then_some(last);
        };
        let span = (last - first + 1) as usize;
        // Per row: how many executions have their first and their last pending step there.
        let mut starts = vec![0usize; span];
        let mut ends = vec![0usize; span];
        for rows in self.rows_of.values() {
            if let (Some(a), Some(b)) = (rows.first(), rows.last()) {
                starts[(a - first) as usize] += 1;
                ends[(b - first) as usize] += 1;
            }
        }
        let (mut seen, mut done) = (0, 0);
        for r in 0..span {
            seen += starts[r];
            done += ends[r];
            if seen >= SLICE_EXECUTIONS && (seen - done) * STRADDLE_RATIO <= seen {
                return Some(first + r as u64);
            }
        }
        Some(last)
    }

    /// The tail rows holding steps of `arn`.
    pub(super) fn rows_of(&self, arn: &str) -> &[u64] {
        self.rows_of.get(arn).map_or(&[], Vec::as_slice)
    }
}

/// Buffers a compaction leaves to the next: fresh large buffers would be fresh pages, each
/// zeroed by the kernel on first touch.
#[derive(Default)]
pub(super) struct Scratch {
    run: Vec<u8>,
    frame: Vec<u8>,
    items: Vec<ItemAt>,
}

/// Where one tail item lies: its execution's number, its row, and its bytes in the row.
#[derive(Clone, Copy)]
struct ItemAt {
    name: u32,
    row: u32,
    at: u32,
    /// Byte length, or [`DELETED`] for a deleted frame.
    len: u32,
    id: u64,
    frame: bool,
}

/// Executions a compaction slice aims at. Each touched execution costs about 7 us of
/// writes, and the writer commits nothing while it compacts, so this bounds that pause
/// (about 15 ms); the writer interleaves slices with group commits until the tail is
/// empty. An execution whose pending steps straddle a cut is touched by two slices (two
/// runs, two head writes), so a slice ends only where few executions straddle it
/// ([`TailIndex::slice_end`]); when executions with many steps fill the whole tail (long
/// workflows), no cut is cheap and the slice is the whole tail, as before slicing.
const SLICE_EXECUTIONS: usize = 2048;
/// A cut is cheap when at most 1/this of the slice's executions straddle it.
const STRADDLE_RATIO: usize = 8;

/// What one compaction slice moved.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Moved {
    /// The last row it moved (every row up to it is gone from the tail).
    pub last_row: u64,
    /// How many rows and bytes it moved.
    pub rows: usize,
    pub bytes: usize,
    /// Whether the tail is now empty.
    pub all: bool,
}

/// Moves the oldest tail rows, up to row `end` ([`TailIndex::slice_end`]), into the
/// per-execution tables inside `txn` (not committed here). The rows left are all newer
/// than the ones moved, so each execution's tail still holds only events newer than its
/// tables. Returns `None` when there was nothing to move.
pub(super) fn compact(
    txn: &WriteTransaction,
    scratch: &mut Scratch,
    end: u64,
) -> Result<Option<Moved>> {
    let tail = txn.open_table(HISTORY_TAIL)?;
    let mut runs = txn.open_table(HISTORY_RUNS)?;
    let mut index = txn.open_table(HISTORY_INDEX)?;
    let mut heads = txn.open_table(HISTORY_HEADS)?;
    let mut frames = txn.open_table(FRAMES)?;
    let running = txn.open_table(RUNNING)?;
    let mut quarantine = txn.open_table(QUARANTINE)?;
    let redrivable = txn.open_table(REDRIVABLE)?;
    let mut next_run = runs.last()?.map_or(0, |(k, _)| k.value() + 1);
    let Scratch { run, frame, items } = scratch;
    items.clear();
    let moved = {
        let (keys, guards): (Vec<u64>, Vec<_>) = tail
            .range(..=end)?
            .map(|row| row.map(|(k, v)| (k.value(), v)))
            .collect::<std::result::Result<Vec<_>, _>>()?
            .into_iter()
            .unzip();
        // Each item tagged with its execution's number (names interned once per entry).
        let mut names: Vec<&str> = Vec::new();
        let mut number: FxHashMap<&str, u32> = FxHashMap::default();
        for (r, v) in guards.iter().enumerate() {
            let row = v.value();
            let base = row.as_ptr() as usize;
            let mut last: Option<(&str, u32)> = None;
            let items_before = items.len();
            let visited = visit(row, keys[r], |arn, item| {
                let name = match last {
                    Some((a, n)) if a == arn => n,
                    _ => {
                        let n = *number.entry(arn).or_insert_with(|| {
                            names.push(arn);
                            names.len() as u32 - 1
                        });
                        last = Some((arn, n));
                        n
                    }
                };
                let (id, bytes, frame) = match item {
                    Item::Event(id, bytes) => (id, Some(bytes), false),
                    Item::Frame(id, state) => (id, state, true),
                };
                let (at, len) = bytes.map_or((0, DELETED), |b| {
                    ((b.as_ptr() as usize - base) as u32, b.len() as u32)
                });
                items.push(ItemAt {
                    name,
                    row: r as u32,
                    at,
                    len,
                    id,
                    frame,
                });
            });
            match visited {
                Ok(()) => {}
                // Kept aside, byte for byte, for `stepwasm check` to report; none of its
                // items move.
                Err(e @ StoreError::Corrupt { .. }) => {
                    eprintln!("stepwasm: {e}; moved to the quarantine table");
                    items.truncate(items_before);
                    quarantine.insert((HISTORY_TAIL_NAME, keys[r]), row)?;
                }
                Err(e) => return Err(e),
            }
        }
        let Some(&last_row) = keys.last() else {
            return Ok(None);
        };
        let bytes_of = |i: &ItemAt| -> Option<&[u8]> {
            (i.len != DELETED)
                .then(|| &guards[i.row as usize].value()[i.at as usize..(i.at + i.len) as usize])
        };
        // Numbered in ARN order, so the writes walk each per-execution table left to
        // right. Stable: each execution's items keep their (row, then position) order,
        // which is the order they were committed in.
        let mut by_name: Vec<u32> = (0..names.len() as u32).collect();
        by_name.sort_unstable_by_key(|n| names[*n as usize]);
        let mut rank = vec![0u32; names.len()];
        for (r, n) in by_name.iter().enumerate() {
            rank[*n as usize] = r as u32;
        }
        items.sort_by_key(|i| rank[i.name as usize]);
        let mut latest: Vec<(u64, Option<&[u8]>)> = Vec::new();
        for group in items.chunk_by(|a, b| a.name == b.name) {
            let arn = names[group[0].name as usize];
            run.clear();
            latest.clear();
            let mut ids = None;
            for item in group {
                let bytes = bytes_of(item);
                if item.frame {
                    latest.push((item.id, bytes));
                } else {
                    push_event(run, item.id, bytes.unwrap_or_default());
                    let (first, _) = ids.get_or_insert((item.id, item.id));
                    ids = Some((*first, item.id));
                }
            }
            // Each execution's events become ONE run: one append per execution per
            // compaction, not one per event.
            if let Some((first, last)) = ids {
                seal::seal_from(run, 0);
                runs.insert(next_run, run.as_slice())?;
                index.insert((arn, first), next_run)?;
                next_run += 1;
                heads.insert(arn, last)?;
            }
            // Only a RUNNING execution keeps frames (its end removed the rest), or one
            // that ended badly (kept for redrive); only the last state of each frame
            // matters.
            if !latest.is_empty() && (running.get(arn)?.is_some() || redrivable.get(arn)?.is_some())
            {
                latest.sort_by_key(|(id, _)| *id);
                for same in latest.chunk_by(|a, b| a.0 == b.0) {
                    let (id, state) = same[same.len() - 1];
                    match state {
                        Some(s) => {
                            frame.clear();
                            frame.extend_from_slice(s);
                            seal::seal_from(frame, 0);
                            frames.insert((arn, id), frame.as_slice())?;
                        }
                        None => {
                            frames.remove((arn, id))?;
                        }
                    }
                }
            }
        }
        Moved {
            last_row,
            rows: guards.len(),
            bytes: guards.iter().map(|g| g.value().len()).sum(),
            all: tail.last()?.is_none_or(|(k, _)| k.value() <= last_row),
        }
    };
    drop(tail);
    if moved.all {
        // Dropping the whole tree frees its pages without visiting each row.
        txn.delete_table(HISTORY_TAIL)?;
        txn.open_table(HISTORY_TAIL)?;
    } else {
        let mut tail = txn.open_table(HISTORY_TAIL)?;
        tail.retain_in(..=moved.last_row, |_, _| false)?;
    }
    Ok(Some(moved))
}

/// Drops the moved rows from the index after a compaction slice committed (call with the
/// write lock held across the commit).
pub(super) fn compacted(index: &mut TailIndex, moved: &Moved) {
    if moved.all {
        // A fresh map, not a cleared one: a burst of executions must not leave its
        // capacity behind in a server whose executions then wait.
        index.rows_of = FxHashMap::default();
        index.pending_rows = 0;
        index.pending_bytes = 0;
        return;
    }
    index.rows_of.retain(|_, rows| {
        rows.retain(|r| *r > moved.last_row);
        !rows.is_empty()
    });
    index.pending_rows = index.pending_rows.saturating_sub(moved.rows);
    index.pending_bytes = index.pending_bytes.saturating_sub(moved.bytes);
}

/// What the tail adds to one execution's tables: its newest events and frame updates.
#[derive(Default)]
pub(super) struct Overlay {
    /// Events by id.
    pub events: Vec<(u64, Vec<u8>)>,
    /// Frame updates in commit order.
    pub frames: Vec<(u64, Option<Vec<u8>>)>,
}

/// What the tail holds for `arn`, as seen by `txn`. `rows` comes from the index, read
/// under its lock when `txn` began.
pub(super) fn overlay_of(
    tail: &impl ReadableTable<u64, &'static [u8]>,
    arn: &str,
    rows: &[u64],
) -> Result<Overlay> {
    let mut out = Overlay::default();
    for row in rows {
        let Some(v) = tail.get(*row)? else { continue };
        visit(v.value(), *row, |a, item| {
            if a == arn {
                match item {
                    Item::Event(id, bytes) => out.events.push((id, bytes.to_vec())),
                    Item::Frame(id, state) => out.frames.push((id, state.map(<[u8]>::to_vec))),
                }
            }
        })?;
    }
    out.events.sort_by_key(|(id, _)| *id);
    Ok(out)
}

/// What the tail holds for every execution with a step in it (one pass over the tail).
pub(super) fn overlays(txn: &ReadTransaction) -> Result<HashMap<Box<str>, Overlay>> {
    let t = txn.open_table(HISTORY_TAIL)?;
    let mut out: HashMap<Box<str>, Overlay> = HashMap::new();
    for row in t.iter()? {
        let (k, v) = row?;
        let visited = visit(v.value(), k.value(), |arn, item| {
            // Runs once, at start-up: a key per item is cheap enough.
            let o = out.entry(arn.into()).or_default();
            match item {
                Item::Event(id, bytes) => o.events.push((id, bytes.to_vec())),
                Item::Frame(id, state) => o.frames.push((id, state.map(<[u8]>::to_vec))),
            }
        });
        // Reported when the index was loaded; the rest of the tail is still good.
        if let Err(e) = visited
            && !matches!(e, StoreError::Corrupt { .. })
        {
            return Err(e);
        }
    }
    Ok(out)
}

/// Begins a read transaction together with the tail rows of `arn`, consistently.
pub(super) fn begin_read(
    slot: &super::slot::Slot,
    index: &SharedIndex,
    arn: &str,
) -> Result<(ReadTransaction, Vec<u64>)> {
    let guard = index.read().unwrap_or_else(|p| p.into_inner());
    let txn = slot.begin_read()?;
    let rows = guard.rows_of(arn).to_vec();
    Ok((txn, rows))
}
