//! Group commit: one writer thread owns every write transaction. Callers send a job (a
//! closure over the open transaction) and wait for its reply; the thread runs every job
//! pending at that moment inside ONE transaction, commits it once, then answers them all.
//! Under load many executions' steps share a single fsync.
//!
//! Rule for jobs: check first, write after. A job that returns a rule error (such as
//! "already exists") must not have written anything, because its batch still commits.
//! A storage error aborts the whole batch and every job in it gets the error.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use redb::Database;
use tokio::sync::oneshot;

use super::schema::Tables;
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
/// hit a storage error.
type Job = Box<dyn for<'a, 'b> FnOnce(Option<&'a mut Tables<'b>>) -> (bool, Deliver) + Send>;

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
}

impl Writer {
    pub(super) fn start(db: Arc<Database>, durability: Durability) -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        let stats = Arc::new(Stats::default());
        let thread_stats = stats.clone();
        let thread = std::thread::Builder::new()
            .name("stepwasm-store-writer".into())
            .spawn(move || run(&db, &rx, durability, &thread_stats))
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
            let poisoned = matches!(&outcome, Err(e) if e.is_storage());
            let deliver: Deliver = Box::new(move |commit_error| {
                let result = match commit_error {
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

fn run(db: &Database, rx: &mpsc::Receiver<Job>, durability: Durability, stats: &Stats) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while let Ok(first) = rx.recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        stats.transactions.fetch_add(1, Ordering::Relaxed);
        stats.jobs.fetch_add(batch.len() as u64, Ordering::Relaxed);
        commit_batch(db, &mut batch, durability);
    }
}

fn commit_batch(db: &Database, batch: &mut Vec<Job>, durability: Durability) {
    let mut txn = match db.begin_write() {
        Ok(t) => t,
        Err(e) => {
            let err = StoreError::from(e);
            for job in batch.drain(..) {
                let (_, deliver) = job(None);
                deliver(Some(&err));
            }
            return;
        }
    };
    let level = match durability {
        Durability::Immediate => redb::Durability::Immediate,
        Durability::None => redb::Durability::None,
    };
    let durability_error = txn.set_durability(level).err();
    let mut delivers = Vec::with_capacity(batch.len());
    let mut poisoned = false;
    match Tables::open(&txn) {
        Ok(mut tables) => {
            for job in batch.drain(..) {
                let (bad, deliver) = job(Some(&mut tables));
                poisoned |= bad;
                delivers.push(deliver);
            }
        }
        Err(_) => {
            poisoned = true;
            for job in batch.drain(..) {
                let (_, deliver) = job(None);
                delivers.push(deliver);
            }
        }
    }
    let failure = if poisoned {
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
    for deliver in delivers {
        deliver(failure.as_ref());
    }
}

/// Awaits a submitted job's reply.
pub(super) async fn wait<T>(rx: oneshot::Receiver<Result<T>>) -> Result<T> {
    rx.await.unwrap_or(Err(StoreError::ShutDown))
}
