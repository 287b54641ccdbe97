//! The open database and its health. When a write fails for lack of space (or any I/O
//! error), redb refuses every later write until the file is closed and opened again. So
//! the store then answers writes with [`StoreError::StorageFull`] at once (no I/O, no log
//! line each), keeps serving reads, and the writer thread reopens the file by itself once
//! a probe write shows the space is back ([`Slot::try_recover`]). Nothing acknowledged is
//! lost: a batch is acknowledged only after its commit, and a failed one is not applied.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use redb::{Database, ReadOnlyDatabase, ReadTransaction, ReadableDatabase};

use super::{Result, StoreError, now_ms};

/// Bytes a probe must write (and sync) before a reopen is tried: reopening after a failed
/// commit repairs the file, which writes.
const PROBE_BYTES: usize = 4 << 20;
/// Least and most time between recovery attempts (doubling in between).
const RETRY_MIN: Duration = Duration::from_millis(250);
const RETRY_MAX: Duration = Duration::from_secs(5);

/// What readers read from: the writable database, or (while a reopen has not succeeded
/// yet) the file opened read-only.
#[derive(Clone)]
enum Open {
    Writable(Arc<Database>),
    ReadOnly(Arc<ReadOnlyDatabase>),
}

/// The database file, its open handle and whether writes work.
pub(super) struct Slot {
    open: RwLock<Option<Open>>,
    path: PathBuf,
    cache_bytes: usize,
    /// Set when a write failed; cleared by a successful reopen.
    degraded: AtomicBool,
    /// When it became degraded (Unix ms), for health reports.
    since_ms: AtomicI64,
    /// What the failure was (for health reports).
    reason: std::sync::Mutex<String>,
    next_attempt: std::sync::Mutex<(Instant, Duration)>,
}

/// The store's health, for `/healthz`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreHealth {
    /// Reads and writes work.
    Ok,
    /// Writes fail (the disk filled up, or another I/O error); reads are served and the
    /// store reopens itself once writes can succeed.
    Degraded {
        /// What failed.
        reason: String,
        /// Since when (Unix ms).
        since_ms: i64,
    },
}

impl Slot {
    pub(super) fn new(db: Arc<Database>, path: &Path, cache_bytes: usize) -> Self {
        Self {
            open: RwLock::new(Some(Open::Writable(db))),
            path: path.to_path_buf(),
            cache_bytes,
            degraded: AtomicBool::new(false),
            since_ms: AtomicI64::new(0),
            reason: std::sync::Mutex::new(String::new()),
            next_attempt: std::sync::Mutex::new((Instant::now(), RETRY_MIN)),
        }
    }

    /// Begins a read transaction on whatever is open.
    pub(super) fn begin_read(&self) -> Result<ReadTransaction> {
        let open = self.open.read().unwrap_or_else(|p| p.into_inner()).clone();
        match open {
            Some(Open::Writable(db)) => Ok(db.begin_read()?),
            Some(Open::ReadOnly(db)) => Ok(db.begin_read()?),
            None => Err(self.full_error()),
        }
    }

    /// The writable database, unless writes are known to fail.
    pub(super) fn writable(&self) -> Result<Arc<Database>> {
        if self.is_degraded() {
            return Err(self.full_error());
        }
        match &*self.open.read().unwrap_or_else(|p| p.into_inner()) {
            Some(Open::Writable(db)) => Ok(db.clone()),
            _ => Err(self.full_error()),
        }
    }

    pub(super) fn is_degraded(&self) -> bool {
        self.degraded.load(Ordering::Acquire)
    }

    /// The error every write gets while degraded.
    pub(super) fn full_error(&self) -> StoreError {
        StoreError::StorageFull {
            detail: self
                .reason
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        }
    }

    pub(super) fn health(&self) -> StoreHealth {
        if !self.is_degraded() {
            return StoreHealth::Ok;
        }
        StoreHealth::Degraded {
            reason: self
                .reason
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
            since_ms: self.since_ms.load(Ordering::Acquire),
        }
    }

    /// Records that a write failed with `error` (an I/O failure: redb refuses writes from
    /// now on until the file is reopened).
    pub(super) fn mark_degraded(&self, error: &StoreError) {
        if self.degraded.swap(true, Ordering::AcqRel) {
            return;
        }
        *self.reason.lock().unwrap_or_else(|p| p.into_inner()) = error.to_string();
        self.since_ms.store(now_ms(), Ordering::Release);
        *self.next_attempt.lock().unwrap_or_else(|p| p.into_inner()) =
            (Instant::now() + RETRY_MIN, RETRY_MIN);
        eprintln!("stepwasm: store degraded, writes refused until it can reopen: {error}");
    }

    /// Writer thread only: when degraded and due, probes for space and reopens the file.
    /// Returns the new database once writes work again.
    pub(super) fn try_recover(&self) -> Option<Arc<Database>> {
        if !self.is_degraded() {
            return None;
        }
        {
            let mut next = self.next_attempt.lock().unwrap_or_else(|p| p.into_inner());
            if Instant::now() < next.0 {
                return None;
            }
            let wait = (next.1 * 2).min(RETRY_MAX);
            *next = (Instant::now() + wait, wait);
        }
        if self.probe().is_err() {
            return None;
        }
        // Every handle must be gone before the file can be opened again.
        let old = self.open.write().unwrap_or_else(|p| p.into_inner()).take();
        drop(old);
        let reopened = self.reopen();
        let mut open = self.open.write().unwrap_or_else(|p| p.into_inner());
        match reopened {
            Ok(db) => {
                let db = Arc::new(db);
                *open = Some(Open::Writable(db.clone()));
                self.degraded.store(false, Ordering::Release);
                *self.next_attempt.lock().unwrap_or_else(|p| p.into_inner()) =
                    (Instant::now(), RETRY_MIN);
                eprintln!("stepwasm: store reopened; writes accepted again");
                Some(db)
            }
            Err(e) => {
                // Reads go on from the file as it is.
                *open = ReadOnlyDatabase::open(&self.path)
                    .ok()
                    .map(|db| Open::ReadOnly(Arc::new(db)));
                super::LOG_STORAGE.log(|| format!("store still cannot reopen: {e}"));
                None
            }
        }
    }

    fn reopen(&self) -> Result<Database> {
        // A reader may still hold the old handle for a moment.
        let mut last = None;
        for _ in 0..50 {
            match Database::builder()
                .set_cache_size(self.cache_bytes)
                .create(&self.path)
            {
                Ok(db) => return Ok(db),
                Err(redb::DatabaseError::DatabaseAlreadyOpen) => {
                    std::thread::sleep(Duration::from_millis(20));
                    last = Some(StoreError::Storage {
                        detail: "the file is still open".into(),
                    });
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(last.unwrap_or(StoreError::ShutDown))
    }

    /// Writes and syncs [`PROBE_BYTES`] next to the database, then removes them.
    fn probe(&self) -> std::io::Result<()> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let probe = dir.join(".stepwasm-space-probe");
        let result = (|| {
            let mut f = std::fs::File::create(&probe)?;
            f.write_all(&vec![0u8; PROBE_BYTES])?;
            f.sync_all()
        })();
        let _ = std::fs::remove_file(&probe);
        result
    }
}
