//! Group commit: one writer thread owns every write transaction. Callers send a job (a
//! closure over the open transaction) and wait for its reply; the thread runs every job
//! pending at that moment inside ONE transaction, commits it once, then answers them all.
//! Under load many executions' steps share a single fsync.
//!
//! Rule for jobs: check first, write after. A job that returns a rule error (such as
//! "already exists") must not have written anything, because its batch still commits.
//! A storage error aborts the whole batch and every job in it gets the error. A write that
//! fails for lack of space degrades the store ([`super::slot`]): later jobs are refused at
//! once with `StorageFull`, and the thread reopens the file once space is back.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use super::heads::Heads;
use super::schema::Tables;
use super::slot::Slot;
use super::tail::{self, SharedIndex};
use super::{Result, StoreError};

/// Most jobs one transaction takes; bounds the latency of the first job in a burst.
const MAX_BATCH: usize = 8192;

/// How commits reach the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// fsync before a commit returns (the default; what executions rely on).
    Immediate,
    /// No fsync: for benchmarks that measure everything but the disk.
    None,
}

/// A job's answer, delivered once its transaction has committed (or failed).
type Deliver = Box<dyn FnOnce(Option<&StoreError>) + Send>;
/// A job: runs inside the batch transaction (or learns there is none), says whether it
/// hit a storage error (and which).
type Job = Box<dyn for<'a, 'b> FnOnce(Option<&'a mut Tables<'b>>) -> (Poison, Deliver) + Send>;

/// Whether a job's error aborts its batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Poison {
    /// It succeeded or broke a rule: the batch commits.
    No,
    /// Storage failed.
    Storage,
    /// The disk is full.
    Full,
}

/// The writer thread and its queue.
pub(super) struct Writer {
    queue: Mutex<Option<mpsc::Sender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    stats: Arc<Stats>,
}

#[derive(Default)]
struct Stats {
    transactions: AtomicU64,
    jobs: AtomicU64,
    /// Set to compact the history tail after the next batch, whatever its size.
    compact_requested: std::sync::atomic::AtomicBool,
}

impl Writer {
    pub(super) fn start(slot: Arc<Slot>, durability: Durability, index: SharedIndex) -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        let stats = Arc::new(Stats::default());
        let thread_stats = stats.clone();
        let thread = std::thread::Builder::new()
            .name("stepwasm-store-writer".into())
            .spawn(move || run(&slot, &rx, durability, &thread_stats, &index))
            .ok();
        Self {
            queue: Mutex::new(Some(tx)),
            thread: Mutex::new(thread),
            stats,
        }
    }

    pub(super) fn stats(&self) -> (u64, u64) {
        (
            self.stats.transactions.load(Ordering::Relaxed),
            self.stats.jobs.load(Ordering::Relaxed),
        )
    }

    /// Asks for the whole history tail to be compacted after the next batch.
    pub(super) fn request_compaction(&self) {
        self.stats.compact_requested.store(true, Ordering::Release);
    }

    /// Queues `f`; the receiver yields its result once the batch holding it has committed.
    pub(super) fn submit<T, F>(&self, f: F) -> oneshot::Receiver<Result<T>>
    where
        T: Send + 'static,
        F: for<'a, 'b> FnOnce(&'a mut Tables<'b>) -> Result<T> + Send + 'static,
    {
        let (reply, rx) = oneshot::channel();
        let job: Job = Box::new(move |txn| {
            let outcome = match txn {
                Some(txn) => f(txn),
                None => Err(StoreError::Storage {
                    detail: "cannot begin a write transaction".into(),
                }),
            };
            let poisoned = match &outcome {
                Err(StoreError::StorageFull { .. }) => Poison::Full,
                Err(e) if e.is_storage() => Poison::Storage,
                _ => Poison::No,
            };
            let deliver: Deliver = Box::new(move |commit_error| {
                let result = match commit_error {
                    Some(StoreError::StorageFull { detail }) => Err(StoreError::StorageFull {
                        detail: detail.clone(),
                    }),
                    Some(e) => Err(StoreError::CommitFailed {
                        detail: e.to_string(),
                    }),
                    None => outcome,
                };
                let _ = reply.send(result);
            });
            (poisoned, deliver)
        });
        let queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(q) = queue.as_ref() {
            // A send error drops the job, which drops `reply`: the receiver sees ShutDown.
            let _ = q.send(job);
        }
        rx
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the queue lets the thread finish what is pending, then exit.
        self.queue.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(t) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = t.join();
        }
    }
}

/// How long the queue may stay empty before a pending tail is compacted anyway.
const IDLE_COMPACT: std::time::Duration = std::time::Duration::from_millis(100);

fn run(
    slot: &Slot,
    rx: &mpsc::Receiver<Job>,
    durability: Durability,
    stats: &Stats,
    index: &SharedIndex,
) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    let mut spare = Lent {
        tail: tail::TailBuffer::default(),
        heads: Heads::new(index.clone()),
    };
    let mut scratch = tail::Scratch::default();
    // A tail left by the last run (a crash, or a stop before the idle compaction) is
    // moved first: until then every execution's first step would have to read its head
    // back from the tail rows.
    while read(index).pending_rows() > 0 {
        if !compact(slot, durability, index, &mut scratch, &mut spare.heads) {
            break;
        }
    }
    // A compaction under way moves one slice after each batch (and between batches while
    // the queue is empty) until the tail is empty, so no single pause grows with the tail.
    let mut compacting = false;
    loop {
        let received = if compacting {
            match rx.try_recv() {
                Ok(job) => Ok(job),
                Err(mpsc::TryRecvError::Empty) => Err(mpsc::RecvTimeoutError::Timeout),
                Err(mpsc::TryRecvError::Disconnected) => Err(mpsc::RecvTimeoutError::Disconnected),
            }
        } else {
            rx.recv_timeout(IDLE_COMPACT)
        };
        let first = match received {
            Ok(job) => job,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if slot.is_degraded() {
                    slot.try_recover();
                    continue;
                }
                if read(index).pending_rows() > 0 {
                    compacting = compact(slot, durability, index, &mut scratch, &mut spare.heads)
                        && read(index).pending_rows() > 0;
                    if !compacting {
                        // Idle: give back what the last burst grew (waiting executions
                        // keep the process small).
                        scratch = tail::Scratch::default();
                        spare.tail = tail::TailBuffer::default();
                    }
                } else {
                    compacting = false;
                }
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        stats.transactions.fetch_add(1, Ordering::Relaxed);
        stats.jobs.fetch_add(batch.len() as u64, Ordering::Relaxed);
        if slot.is_degraded() {
            slot.try_recover();
        }
        let committed = commit_batch(slot, &mut batch, durability, index, &mut spare);
        // After a failed batch the head cache is empty: compacting now spares each
        // execution's next step from reading its head back from the tail rows.
        let pending = read(index).pending_rows() > 0;
        if stats.compact_requested.swap(false, Ordering::AcqRel) {
            // Asked for (tests): the whole tail, now.
            while read(index).pending_rows() > 0
                && compact(slot, durability, index, &mut scratch, &mut spare.heads)
            {}
            compacting = false;
        } else if compacting || (!committed && pending) || read(index).compaction_due() {
            compacting = compact(slot, durability, index, &mut scratch, &mut spare.heads)
                && read(index).pending_rows() > 0;
        }
    }
}

/// What the writer thread lends each batch's [`Tables`] and takes back after it: the tail
/// buffer (it keeps its capacity) and the head cache.
struct Lent {
    tail: tail::TailBuffer,
    heads: Heads,
}

fn read(index: &SharedIndex) -> std::sync::RwLockReadGuard<'_, tail::TailIndex> {
    index.read().unwrap_or_else(|p| p.into_inner())
}

fn level(durability: Durability) -> redb::Durability {
    match durability {
        Durability::Immediate => redb::Durability::Immediate,
        Durability::None => redb::Durability::None,
    }
}

/// Moves one slice of the tail (its oldest rows) into the per-execution tables in one
/// transaction; on failure the tail stays (it is durable) and the next attempt retries.
/// Once the tail is empty the head cache is dropped: the tables hold every head again
/// (until then the cache stays right: a slice changes where a head is stored, not its
/// value). Returns whether a slice moved and committed.
fn compact(
    slot: &Slot,
    durability: Durability,
    index: &SharedIndex,
    scratch: &mut tail::Scratch,
    heads: &mut Heads,
) -> bool {
    let mut attempt = || -> Result<bool> {
        let db = slot.writable()?;
        let mut txn = db.begin_write()?;
        txn.set_durability(level(durability))?;
        let Some(end) = read(index).slice_end() else {
            return Ok(false);
        };
        let Some(moved) = tail::compact(&txn, scratch, end)? else {
            return Ok(false);
        };
        let mut guard = index.write().unwrap_or_else(|p| p.into_inner());
        txn.commit()?;
        tail::compacted(&mut guard, &moved);
        if moved.all {
            heads.clear();
        }
        Ok(true)
    };
    match attempt() {
        Ok(moved) => moved,
        // Already reported when the store degraded.
        Err(StoreError::StorageFull { .. }) if slot.is_degraded() => false,
        Err(e) => {
            if e.is_full() {
                slot.mark_degraded(&e);
            }
            super::LOG_STORAGE.log(|| format!("history compaction failed (will retry): {e}"));
            false
        }
    }
}

fn commit_batch(
    slot: &Slot,
    batch: &mut Vec<Job>,
    durability: Durability,
    index: &SharedIndex,
    lent: &mut Lent,
) -> bool {
    let began = slot
        .writable()
        .and_then(|db| db.begin_write().map_err(StoreError::from));
    let mut txn = match began {
        Ok(t) => t,
        Err(err) => {
            if err.is_full() {
                slot.mark_degraded(&err);
            }
            for job in batch.drain(..) {
                let (_, deliver) = job(None);
                deliver(Some(&err));
            }
            lent.heads.clear();
            return false;
        }
    };
    let durability_error = txn.set_durability(level(durability)).err();
    let mut delivers = Vec::with_capacity(batch.len());
    let mut poisoned = Poison::No;
    let mut arns = None;
    let row = read(index).next_row();
    match Tables::open(&txn) {
        Ok(mut tables) => {
            std::mem::swap(&mut tables.tail, &mut lent.tail);
            std::mem::swap(&mut tables.heads, &mut lent.heads);
            for job in batch.drain(..) {
                let (bad, deliver) = job(Some(&mut tables));
                poisoned = poisoned.max(bad);
                delivers.push(deliver);
            }
            if poisoned == Poison::No
                && let Err(e) = super::tenants::StepCharges::apply(&mut tables)
            {
                poisoned = if e.is_full() {
                    Poison::Full
                } else {
                    Poison::Storage
                };
            }
            // Every step of the batch goes into one tail row (see `tail`).
            let mut written = None;
            if poisoned == Poison::No && !tables.tail.is_empty() {
                let bytes = tables.tail.sealed();
                if let Err(e) = tables.history_tail.insert(row, bytes) {
                    poisoned = if StoreError::from(e).is_full() {
                        Poison::Full
                    } else {
                        Poison::Storage
                    };
                }
                written = Some(bytes.len());
            }
            let batch_arns = tables.tail.finish();
            arns = written.map(|n| (batch_arns, n));
            std::mem::swap(&mut tables.tail, &mut lent.tail);
            std::mem::swap(&mut tables.heads, &mut lent.heads);
        }
        Err(_) => {
            poisoned = Poison::Storage;
            for job in batch.drain(..) {
                let (_, deliver) = job(None);
                delivers.push(deliver);
            }
        }
    }
    let failure = if poisoned == Poison::Full {
        drop(txn);
        Some(StoreError::StorageFull {
            detail: "a write in the same group commit found the disk full".into(),
        })
    } else if poisoned == Poison::Storage {
        drop(txn);
        Some(StoreError::CommitFailed {
            detail: "a write in the same group commit hit a storage error".into(),
        })
    } else if let Some(e) = durability_error {
        drop(txn);
        Some(StoreError::CommitFailed {
            detail: e.to_string(),
        })
    } else {
        txn.commit().err().map(StoreError::from)
    };
    match (&failure, &arns) {
        // Nothing of the batch is durable: the heads its jobs cached are wrong.
        (Some(e), _) => {
            if e.is_full() {
                slot.mark_degraded(e);
            }
            lent.heads.clear();
        }
        // Before the replies: a caller that saw its commit also sees its steps.
        (None, Some((arns, bytes))) => index
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .committed(row, arns, *bytes),
        (None, None) => {}
    }
    for deliver in delivers {
        deliver(failure.as_ref());
    }
    failure.is_none()
}

/// Awaits a submitted job's reply.
pub(super) async fn wait<T>(rx: oneshot::Receiver<Result<T>>) -> Result<T> {
    rx.await.unwrap_or(Err(StoreError::ShutDown))
}
