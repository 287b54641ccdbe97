//! The writer thread's cache of each execution's running flag and history head (its last
//! event id), so a step checks both without reading `running` and `history_heads` back
//! from redb. With the tail ([`super::tail`]) the heads table lags until the next
//! compaction, so the cache, not the table, is what the writer trusts.
//!
//! The cache is derived state: an entry is loaded on a miss from what is committed (the
//! tables, plus the execution's tail rows), and updated by a job at the same moment it
//! writes the matching step. The writer clears it whenever a batch fails (its jobs' updates
//! never became durable) and whenever a compaction leaves the tail empty (which also
//! bounds its size; a slice that leaves rows behind changes where heads are stored, not
//! their values).

use redb::ReadableTable;
use rustc_hash::FxHashMap;

use super::Result;
use super::schema::Tables;
use super::tail::{self, SharedIndex};

/// What the writer knows of one execution.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Head {
    /// Whether it is RUNNING (takes steps).
    pub running: bool,
    /// Id of its last history event (0: none yet).
    pub last_event: u64,
}

/// The cache; lives on the writer thread and is lent to each batch's [`Tables`].
#[derive(Default)]
pub(super) struct Heads {
    map: FxHashMap<Box<str>, Head>,
    index: SharedIndex,
}

impl Heads {
    pub(super) fn new(index: SharedIndex) -> Self {
        Self {
            map: FxHashMap::default(),
            index,
        }
    }

    /// Forgets everything (a batch failed, or the tail was compacted), capacity included.
    pub(super) fn clear(&mut self) {
        self.map = FxHashMap::default();
    }
}

/// `arn`'s head as committed so far in this write transaction, loaded on a miss.
pub(super) fn get(tb: &mut Tables<'_>, arn: &str) -> Result<Head> {
    if let Some(h) = tb.heads.map.get(arn) {
        return Ok(*h);
    }
    let running = tb.running.get(arn)?.is_some();
    let mut last_event = tb.history_heads.get(arn)?.map_or(0, |v| v.value());
    // Tail rows of this execution exist only if the cache lost it since the last
    // compaction (a failed batch): its newest events are there.
    let rows = tb
        .heads
        .index
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .rows_of(arn)
        .to_vec();
    if !rows.is_empty() {
        let overlay = tail::overlay_of(&tb.history_tail, arn, &rows)?;
        if let Some((id, _)) = overlay.events.last() {
            last_event = last_event.max(*id);
        }
    }
    let head = Head {
        running,
        last_event,
    };
    tb.heads.map.insert(arn.into(), head);
    Ok(head)
}

/// Records `arn`'s new head (call only together with the write it describes).
pub(super) fn set(tb: &mut Tables<'_>, arn: &str, head: Head) {
    match tb.heads.map.get_mut(arn) {
        Some(h) => *h = head,
        None => {
            tb.heads.map.insert(arn.into(), head);
        }
    }
}
