//! Executions: their records, the per-tenant listing index, append-only history, resumable
//! frames, the RUNNING set used for recovery, and the engine's [`Journal`] port.
//!
//! Integrity rule enforced here, not trusted to callers: a history append must continue the
//! execution's last event id exactly (no gap, no repeat), and only a RUNNING execution takes
//! steps. So a transition is recorded at most once even if a driver replays after a crash.

use redb::ReadableTable;
use tokio::sync::oneshot;

use super::heads::{self, Head};
use super::records::{ExecutionRecord, MachineType};
use super::schema::Tables;
use super::schema::{
    EXECUTIONS, EXECUTIONS_BY_TENANT, FRAMES, HISTORY_HEADS, HISTORY_INDEX, HISTORY_RUNS,
    HISTORY_TAIL, REDRIVABLE, RUNNING,
};
use super::tail::{self, TailEntry};
use super::tenants::{charge, signed, usage_in};
use super::writer::wait;
use super::{Result, Store, StoreError, decode, decode_json, decode_u64, encode, now_ms, seal};
use crate::engine::history::HistoryEvent;
use crate::engine::ports::{
    BoxFuture, ExecutionEnd, ExecutionStatus, FrameUpdate, Journal, JournalError, StepCommit,
};

/// What `start_execution` did.
#[derive(Clone, Debug, PartialEq)]
pub enum StartOutcome {
    /// A new execution was recorded.
    Created(ExecutionRecord),
    /// A RUNNING execution with the same ARN and input already existed (idempotent start).
    Existing(ExecutionRecord),
}

/// One page of history.
#[derive(Clone, Debug, PartialEq)]
pub struct HistoryPage {
    /// Events in the requested order.
    pub events: Vec<HistoryEvent>,
    /// The event id to continue after, when more remain.
    pub next_after: Option<u64>,
}

/// A page of a tenant's executions.
#[derive(Debug)]
pub struct ExecutionsPage {
    /// The records, newest first.
    pub records: Vec<ExecutionRecord>,
    /// Records of the page that are damaged (left out of `records`), each its error.
    pub damaged: Vec<StoreError>,
    /// The sequence to continue from, when more remain.
    pub next: Option<u64>,
}

/// A RUNNING execution as found at start-up: its record, last event id and frames.
#[derive(Clone, Debug)]
pub struct RecoveredExecution {
    /// The execution.
    pub record: ExecutionRecord,
    /// Id of its last committed history event.
    pub last_event_id: u64,
    /// Its frames (id, engine state), by id.
    pub frames: Vec<(u64, Vec<u8>)>,
}

/// Filter for listing executions.
#[derive(Clone, Debug, Default)]
pub struct ExecutionFilter {
    /// Only this state machine's executions.
    pub state_machine: Option<String>,
    /// Only executions with this status.
    pub status: Option<ExecutionStatus>,
    /// Only redriven executions (`true`) or only those never redriven (`false`).
    pub redriven: Option<bool>,
    /// Only executions that ran this published version (started on its ARN, or on an alias
    /// that picked it: AWS associates both with the version).
    pub version: Option<u64>,
    /// Only executions started on this alias.
    pub alias: Option<String>,
}

impl ExecutionFilter {
    /// Whether a record passes the filter.
    pub fn matches(&self, rec: &ExecutionRecord) -> bool {
        self.status.is_none_or(|s| s == rec.status)
            && self
                .state_machine
                .as_deref()
                .is_none_or(|sm| sm == rec.state_machine)
            && self
                .version
                .is_none_or(|v| rec.published_version == Some(v))
            && self
                .alias
                .as_deref()
                .is_none_or(|a| rec.alias.as_deref() == Some(a))
            && self.redriven.is_none_or(|r| r == (rec.redrive_count > 0))
    }
}

/// Appends one encoded step of `arn` to the batch's tail row after checking that its events
/// continue the history exactly; returns the execution's new head.
fn append_step(tb: &mut Tables<'_>, arn: &str, mut head: Head, entry: &TailEntry) -> Result<Head> {
    let ids = &entry.ids;
    if ids.count > 0 {
        let out_of_order = |at: u64, got: u64| StoreError::HistoryOutOfOrder {
            execution: arn.to_string(),
            expected: head.last_event + 1 + at,
            got,
        };
        if ids.first != head.last_event + 1 {
            return Err(out_of_order(0, ids.first));
        }
        if let Some((at, got)) = ids.gap {
            return Err(out_of_order(at, got));
        }
        head.last_event += ids.count;
    }
    tb.tail.push(arn, entry);
    Ok(head)
}

fn load_record(tb: &mut Tables<'_>, arn: &str) -> Result<Option<ExecutionRecord>> {
    let t = &tb.executions;
    t.get(arn)?
        .map(|v| decode(v.value(), "executions", arn))
        .transpose()
}

/// Closes a RUNNING execution: final record, out of `running`, frames dropped (those still
/// in the tail are skipped by compaction, which keeps frames of RUNNING executions only).
fn finish(tb: &mut Tables<'_>, arn: &str, end: &ExecutionEnd) -> Result<ExecutionRecord> {
    let before = tb.executions.get(arn)?.map_or(0, |v| v.value().len());
    let mut rec = load_record(tb, arn)?.ok_or_else(|| StoreError::NotFound {
        what: "execution",
        name: arn.to_string(),
    })?;
    rec.status = end.status;
    rec.output = end.output.as_ref().map(|v| v.to_string());
    rec.error.clone_from(&end.error);
    rec.cause.clone_from(&end.cause);
    rec.stop_ms = Some(now_ms());
    let encoded = encode(&rec);
    tb.executions.insert(arn, encoded.as_slice())?;
    charge(tb, &rec.tenant, encoded.len() as i64 - before as i64)?;
    tb.running.remove(arn)?;
    if end.status == ExecutionStatus::Succeeded {
        tb.redrivable.remove(arn)?;
        tb.frames
            .retain_in((arn, 0u64)..=(arn, u64::MAX), |_, _| false)?;
    } else {
        // Kept for RedriveExecution: where each frame stood, and where it failed.
        tb.redrivable.insert(arn, rec.tenant.as_str())?;
    }
    Ok(rec)
}

/// The tenant an execution ARN names: its account field (`arn:aws:states:REGION:TENANT:...`;
/// tenant ids hold no `:`).
fn tenant_of(arn: &str) -> &str {
    arn.split(':').nth(4).unwrap_or_default()
}

fn next_seq(tb: &mut Tables<'_>) -> Result<u64> {
    let seq = peek_seq(tb)?;
    take_seq(tb, seq)?;
    Ok(seq)
}

/// The sequence number the next execution gets (read only: a start checks before it writes).
fn peek_seq(tb: &Tables<'_>) -> Result<u64> {
    match tb.meta.get("next_execution_seq")? {
        Some(v) => decode_u64(v.value(), "meta"),
        None => Ok(1),
    }
}

/// Marks `seq` (from [`peek_seq`]) as taken.
fn take_seq(tb: &mut Tables<'_>, seq: u64) -> Result<()> {
    tb.meta
        .insert("next_execution_seq", &(seq + 1).to_be_bytes()[..])?;
    Ok(())
}

fn commit_step_in(tb: &mut Tables<'_>, arn: &str, step: &EncodedStep) -> Result<()> {
    let head = heads::get(tb, arn)?;
    if !head.running {
        return Err(StoreError::NotRunning {
            execution: arn.to_string(),
        });
    }
    let mut head = append_step(tb, arn, head, &step.entry)?;
    if step.entry.history_bytes > 0 {
        // Summed per tenant and written once at the end of the group commit: a usage
        // write per step would dirty the usage table's pages for every transition.
        tb.step_charges
            .add(tenant_of(arn), signed(step.entry.history_bytes));
    }
    if let Some(end) = &step.end {
        finish(tb, arn, end)?;
        head.running = false;
    }
    heads::set(tb, arn, head);
    Ok(())
}

/// A step encoded on the caller's thread (the writer thread is the serial part).
struct EncodedStep {
    entry: TailEntry,
    end: Option<ExecutionEnd>,
}

impl Store {
    /// Records a new execution with its first events and frames, atomically. `record.seq`
    /// is assigned here. The same ARN with the same input while RUNNING returns the
    /// existing record; otherwise an existing ARN is `AlreadyExists`.
    pub async fn start_execution(
        &self,
        mut record: ExecutionRecord,
        events: Vec<HistoryEvent>,
        frames: Vec<FrameUpdate>,
        stored_bytes_limit: u64,
    ) -> Result<StartOutcome> {
        let entry = TailEntry::encode(&record.arn, &events, &frames);
        drop((events, frames));
        wait(self.writer.submit(move |tb| {
            if let Some(existing) = load_record(tb, &record.arn)? {
                if existing.status == ExecutionStatus::Running && existing.input == record.input {
                    return Ok(StartOutcome::Existing(existing));
                }
                return Err(StoreError::AlreadyExists {
                    what: "execution",
                    name: record.arn,
                });
            }
            // What the execution stores from its first step: its record (input included)
            // and its first events; later steps add theirs (see `commit_step_in`). The
            // record is encoded once, with the sequence number it will get.
            record.seq = peek_seq(tb)?;
            let encoded = encode(&record);
            let size = encoded.len() as u64 + entry.history_bytes;
            let needed = usage_in(&tb.usage, &record.tenant)?.saturating_add(size);
            if needed > stored_bytes_limit {
                return Err(StoreError::QuotaExceeded {
                    tenant: record.tenant,
                    limit: stored_bytes_limit,
                    needed,
                });
            }
            take_seq(tb, record.seq)?;
            let arn = record.arn.as_str();
            tb.executions.insert(arn, encoded.as_slice())?;
            tb.executions_by_tenant
                .insert((record.tenant.as_str(), record.seq), arn)?;
            let running = record.status == ExecutionStatus::Running;
            if running {
                tb.running.insert(arn, record.tenant.as_str())?;
            }
            let head = Head {
                running,
                last_event: 0,
            };
            let head = append_step(tb, arn, head, &entry)?;
            heads::set(tb, arn, head);
            charge(tb, &record.tenant, signed(size))?;
            Ok(StartOutcome::Created(record))
        }))
        .await
    }

    /// Makes one step durable (the [`Journal`] port): appends events (checked to continue
    /// the history exactly), applies frame updates, and closes the execution on `end`.
    pub async fn commit_step(&self, step: StepCommit) -> Result<()> {
        wait(self.submit_step(step)).await
    }

    /// Queues one step on the writer (what [`Store::commit_step`] awaits).
    pub(super) fn submit_step(&self, step: StepCommit) -> oneshot::Receiver<Result<()>> {
        // Encoded here, on the caller's thread: the writer thread is the serial part. A
        // successful end drops every frame, so its frame updates are not kept; a bad end
        // keeps them (where each frame failed), for RedriveExecution.
        let frames: &[FrameUpdate] = match &step.end {
            Some(end) if end.status == ExecutionStatus::Succeeded => &[],
            _ => &step.frames,
        };
        let encoded = EncodedStep {
            entry: TailEntry::encode(&step.execution_id, &step.events, frames),
            end: step.end,
        };
        let arn = step.execution_id;
        drop((step.events, step.frames));
        self.writer
            .submit(move |tb| commit_step_in(tb, &arn, &encoded))
    }

    /// Records a finished EXPRESS execution with its whole history in one write.
    pub async fn record_express(
        &self,
        mut record: ExecutionRecord,
        events: &[HistoryEvent],
    ) -> Result<ExecutionRecord> {
        record.machine_type = MachineType::Express;
        let entry = TailEntry::encode(&record.arn, events, &[]);
        wait(self.writer.submit(move |tb| {
            if load_record(tb, &record.arn)?.is_some() {
                return Err(StoreError::AlreadyExists {
                    what: "execution",
                    name: record.arn,
                });
            }
            record.seq = next_seq(tb)?;
            let arn = record.arn.as_str();
            let encoded = encode(&record);
            tb.executions.insert(arn, encoded.as_slice())?;
            tb.executions_by_tenant
                .insert((record.tenant.as_str(), record.seq), arn)?;
            let head = append_step(tb, arn, Head::default(), &entry)?;
            heads::set(tb, arn, head);
            // Charged, never refused: it has run (its start was checked).
            charge(
                tb,
                &record.tenant,
                signed(encoded.len() as u64 + entry.history_bytes),
            )?;
            Ok(record)
        }))
        .await
    }

    /// One execution's record.
    pub fn execution(&self, arn: &str) -> Result<Option<ExecutionRecord>> {
        let txn = self.slot.begin_read()?;
        let t = txn.open_table(EXECUTIONS)?;
        t.get(arn)?
            .map(|v| decode(v.value(), "executions", arn))
            .transpose()
    }

    /// A tenant's executions, newest first, starting below sequence `before` (exclusive),
    /// up to `limit`; returns the page and the sequence to continue from. A damaged
    /// record is left out of the page and named in `damaged` (the rest are served).
    pub fn list_executions(
        &self,
        tenant: &str,
        filter: &ExecutionFilter,
        before: Option<u64>,
        limit: usize,
    ) -> Result<ExecutionsPage> {
        let txn = self.slot.begin_read()?;
        let index = txn.open_table(EXECUTIONS_BY_TENANT)?;
        let execs = txn.open_table(EXECUTIONS)?;
        let upper = before.unwrap_or(u64::MAX);
        let mut out = Vec::new();
        let mut damaged = Vec::new();
        let mut next = None;
        for row in index.range((tenant, 0u64)..(tenant, upper))?.rev() {
            let (k, arn) = row?;
            let seq = k.value().1;
            if out.len() == limit {
                next = Some(seq + 1);
                break;
            }
            let arn = arn.value();
            let Some(v) = execs.get(arn)? else {
                damaged.push(StoreError::Corrupt {
                    table: "executions_by_tenant",
                    record: format!("{tenant}#{seq}"),
                    detail: format!("names {arn}, which has no record"),
                });
                continue;
            };
            let rec: ExecutionRecord = match decode(v.value(), "executions", arn) {
                Ok(rec) => rec,
                Err(e) => {
                    damaged.push(e);
                    continue;
                }
            };
            if !filter.matches(&rec) {
                continue;
            }
            out.push(rec);
        }
        Ok(ExecutionsPage {
            records: out,
            damaged,
            next,
        })
    }

    /// A page of an execution's history: events after id `after` (ascending) or before id
    /// `after` (descending, `reverse`), up to `limit`.
    pub fn history(
        &self,
        arn: &str,
        after: Option<u64>,
        limit: usize,
        reverse: bool,
    ) -> Result<HistoryPage> {
        let (txn, rows) = tail::begin_read(&self.slot, &self.tail, arn)?;
        // Every id in the tail is newer than every id in `history`.
        let newest = if rows.is_empty() {
            Vec::new()
        } else {
            tail::overlay_of(&txn.open_table(HISTORY_TAIL)?, arn, &rows)?.events
        };
        let t = txn.open_table(HISTORY_INDEX)?;
        let runs = txn.open_table(HISTORY_RUNS)?;
        let run_of = |number: u64| -> Result<_> {
            runs.get(number)?.ok_or_else(|| StoreError::Corrupt {
                table: "history_index",
                record: arn.to_string(),
                detail: format!("run {number} is missing"),
            })
        };
        // One row past the page tells whether another page follows.
        let want = limit.saturating_add(1);
        let mut picked: Vec<Vec<u8>> = Vec::new();
        if reverse {
            let before = after.unwrap_or(u64::MAX);
            for (_, bytes) in newest.into_iter().rev().filter(|(id, _)| *id < before) {
                if picked.len() == want {
                    break;
                }
                picked.push(bytes);
            }
            'runs: for row in t.range((arn, 0u64)..(arn, before))?.rev() {
                let number = row?.1.value();
                let run = run_of(number)?;
                for (id, bytes) in tail::run_events(run.value(), arn, number)?
                    .into_iter()
                    .rev()
                {
                    if picked.len() == want {
                        break 'runs;
                    }
                    if id < before {
                        picked.push(bytes.to_vec());
                    }
                }
            }
        } else {
            let from = after.map_or(0, |a| a.saturating_add(1));
            // The run holding `from` starts at or before it.
            let start = match t.range((arn, 0u64)..=(arn, from))?.next_back() {
                Some(row) => row?.0.value().1,
                None => from,
            };
            'runs: for row in t.range((arn, start)..=(arn, u64::MAX))? {
                let number = row?.1.value();
                let run = run_of(number)?;
                for (id, bytes) in tail::run_events(run.value(), arn, number)? {
                    if picked.len() == want {
                        break 'runs;
                    }
                    if id >= from {
                        picked.push(bytes.to_vec());
                    }
                }
            }
            for (_, bytes) in newest.into_iter().filter(|(id, _)| *id >= from) {
                if picked.len() == want {
                    break;
                }
                picked.push(bytes);
            }
        }
        let more = picked.len() > limit;
        picked.truncate(limit);
        let events = picked
            .iter()
            .map(|b| decode_json::<HistoryEvent>(b, "history_runs", arn))
            .collect::<Result<Vec<_>>>()?;
        let next_after = if more {
            events.last().map(|e| e.id)
        } else {
            None
        };
        Ok(HistoryPage { events, next_after })
    }

    /// Every RUNNING STANDARD execution with its frames, for resuming after a restart
    /// (except damaged ones, reported on stderr).
    pub fn running_executions(&self) -> Result<Vec<RecoveredExecution>> {
        let txn = self.slot.begin_read()?;
        let running = txn.open_table(RUNNING)?;
        // One pass over the tail serves every execution.
        let mut overlays = tail::overlays(&txn)?;
        let mut out = Vec::new();
        for row in running.iter()? {
            let (arn, _) = row?;
            let arn = arn.value();
            let overlay = overlays.remove(arn).unwrap_or_default();
            match recovered(&txn, arn, overlay) {
                Ok(Some(exec)) => out.push(exec),
                Ok(None) => {}
                // One damaged execution stays where it is (`stepwasm check` names it);
                // the others resume.
                Err(e @ StoreError::Corrupt { .. }) => {
                    eprintln!("stepwasm: cannot resume a damaged execution: {e}");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// One RUNNING execution with its frames (`None` once it is no longer RUNNING), for
    /// resuming a parked execution.
    pub fn running_execution(&self, arn: &str) -> Result<Option<RecoveredExecution>> {
        let (txn, rows) = tail::begin_read(&self.slot, &self.tail, arn)?;
        if txn.open_table(RUNNING)?.get(arn)?.is_none() {
            return Ok(None);
        }
        let overlay = tail::overlay_of(&txn.open_table(HISTORY_TAIL)?, arn, &rows)?;
        recovered(&txn, arn, overlay)
    }

    /// A redrivable execution (ended FAILED, TIMED_OUT or ABORTED) with its kept frames
    /// (`None` when it is not one).
    pub fn redrivable_execution(&self, arn: &str) -> Result<Option<RecoveredExecution>> {
        let (txn, rows) = tail::begin_read(&self.slot, &self.tail, arn)?;
        if txn.open_table(REDRIVABLE)?.get(arn)?.is_none() {
            return Ok(None);
        }
        let overlay = tail::overlay_of(&txn.open_table(HISTORY_TAIL)?, arn, &rows)?;
        recovered(&txn, arn, overlay)
    }

    /// RedriveExecution's commit: the execution is RUNNING again (one more redrive, at
    /// `now_ms`), and `step` (its `ExecutionRedriven` event, continuing the history, and
    /// the frames to run from) is appended, atomically. Refused unless it ended FAILED,
    /// TIMED_OUT or ABORTED.
    pub async fn redrive_execution(
        &self,
        step: StepCommit,
        now_ms: i64,
    ) -> Result<ExecutionRecord> {
        let entry = TailEntry::encode(&step.execution_id, &step.events, &step.frames);
        let arn = step.execution_id;
        wait(self.writer.submit(move |tb| {
            let mut rec = load_record(tb, &arn)?.ok_or_else(|| StoreError::NotFound {
                what: "execution",
                name: arn.clone(),
            })?;
            if !matches!(
                rec.status,
                ExecutionStatus::Failed | ExecutionStatus::TimedOut | ExecutionStatus::Aborted
            ) || tb.redrivable.get(arn.as_str())?.is_none()
            {
                return Err(StoreError::NotRedrivable {
                    execution: arn.clone(),
                    status: rec.status,
                });
            }
            let mut head = heads::get(tb, &arn)?;
            head.running = true;
            let head = append_step(tb, &arn, head, &entry)?;
            rec.status = ExecutionStatus::Running;
            rec.output = None;
            rec.error = None;
            rec.cause = None;
            rec.stop_ms = None;
            rec.redrive_count += 1;
            rec.redrive_ms = Some(now_ms);
            tb.executions
                .insert(arn.as_str(), encode(&rec).as_slice())?;
            tb.running.insert(arn.as_str(), rec.tenant.as_str())?;
            tb.redrivable.remove(arn.as_str())?;
            heads::set(tb, &arn, head);
            Ok(rec)
        }))
        .await
    }

    /// Records of one tenant's RUNNING executions.
    pub fn running_of_tenant(&self, tenant: &str) -> Result<Vec<ExecutionRecord>> {
        let txn = self.slot.begin_read()?;
        let running = txn.open_table(RUNNING)?;
        let execs = txn.open_table(EXECUTIONS)?;
        let mut out = Vec::new();
        for row in running.iter()? {
            let (arn, t) = row?;
            if t.value() != tenant {
                continue;
            }
            if let Some(v) = execs.get(arn.value())? {
                out.push(decode(v.value(), "executions", arn.value())?);
            }
        }
        Ok(out)
    }

    /// Number of RUNNING executions per tenant.
    pub fn running_counts(&self) -> Result<std::collections::HashMap<String, u64>> {
        let txn = self.slot.begin_read()?;
        let running = txn.open_table(RUNNING)?;
        let mut out = std::collections::HashMap::new();
        for row in running.iter()? {
            let (_, tenant) = row?;
            *out.entry(tenant.value().to_string()).or_insert(0) += 1;
        }
        Ok(out)
    }
}

/// An execution's record, last event id and frames, read in `txn`, with what the tail
/// adds to them (`overlay`, newer than the tables).
fn recovered(
    txn: &redb::ReadTransaction,
    arn: &str,
    overlay: tail::Overlay,
) -> Result<Option<RecoveredExecution>> {
    let execs = txn.open_table(EXECUTIONS)?;
    let Some(v) = execs.get(arn)? else {
        return Ok(None);
    };
    let record: ExecutionRecord = decode(v.value(), "executions", arn)?;
    let compacted_head = txn
        .open_table(HISTORY_HEADS)?
        .get(arn)?
        .map_or(0, |v| v.value());
    let last_event_id = overlay
        .events
        .iter()
        .map(|(id, _)| *id)
        .fold(compacted_head, u64::max);
    let mut frames = std::collections::BTreeMap::new();
    for f in txn
        .open_table(FRAMES)?
        .range((arn, 0u64)..=(arn, u64::MAX))?
    {
        let (k, v) = f?;
        let id = k.value().1;
        let state = seal::open(v.value(), "frames", || format!("{arn}#{id}"))?;
        frames.insert(id, state.to_vec());
    }
    for (id, state) in overlay.frames {
        match state {
            Some(s) => frames.insert(id, s),
            None => frames.remove(&id),
        };
    }
    Ok(Some(RecoveredExecution {
        record,
        last_event_id,
        frames: frames.into_iter().collect(),
    }))
}

impl Journal for Store {
    fn commit(&self, step: StepCommit) -> BoxFuture<'_, Result<(), JournalError>> {
        Box::pin(async move {
            self.commit_step(step)
                .await
                .map_err(|e| JournalError(e.to_string()))
        })
    }
}
