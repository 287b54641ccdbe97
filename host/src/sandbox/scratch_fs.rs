//! The scratch directory's size cap, enforced on every write rather than polled: the
//! four `wasi:filesystem/types` functions that can grow a file (`write`,
//! `write-via-stream`, `append-via-stream`, `set-size`) are shadowed in the linker by
//! wrappers that charge a per-attempt [`ScratchBudget`] before the bytes reach the disk,
//! and file output streams are wrapped so each stream write is charged too. Everything
//! else is wasmtime-wasi's own implementation, called through.
//!
//! Bound: a write that would take the directory past its cap is refused before it
//! happens, so the directory never holds more than the cap, except through `set-size`,
//! which is checked right after it ran (a truncate past the cap only makes a sparse file,
//! and the attempt then fails and the directory is removed).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use wasmtime::StoreContextMut;
use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::filesystem::{Descriptor, WasiFilesystemView};
use wasmtime_wasi::p2::bindings::filesystem::types::{ErrorCode, HostDescriptor};
use wasmtime_wasi::p2::{DynOutputStream, FsResult, OutputStream, Pollable, StreamError};

use super::fault::TaskFault;
use super::scratch::used_bytes;
use super::state::HostState;

/// The interface wasmtime-wasi links (its WIT's version); the guests' `0.2.x` imports
/// resolve to it.
const FILESYSTEM_TYPES: &str = "wasi:filesystem/types@0.2.12";

/// Bytes a scratch directory may still take, for one attempt.
#[derive(Clone, Debug)]
pub(crate) struct ScratchBudget(Arc<Mutex<Budget>>);

#[derive(Debug)]
struct Budget {
    dir: PathBuf,
    limit: u64,
    /// Bytes the directory holds at most: measured, plus writes charged since.
    charged: u64,
}

impl ScratchBudget {
    pub(crate) fn new(dir: PathBuf, limit: u64) -> Self {
        ScratchBudget(Arc::new(Mutex::new(Budget {
            dir,
            limit,
            charged: 0,
        })))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Budget> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Charges `n` bytes about to be written; refuses when they could take the directory
    /// past its cap.
    pub(crate) fn charge(&self, n: u64) -> Result<(), TaskFault> {
        let mut b = self.lock();
        if b.charged.saturating_add(n) <= b.limit {
            b.charged += n;
            return Ok(());
        }
        // The running total counts overwrites as growth: measure before refusing.
        let used = used_bytes(&b.dir);
        b.charged = used;
        if used.saturating_add(n) <= b.limit {
            b.charged += n;
            return Ok(());
        }
        Err(TaskFault::ScratchLimitExceeded {
            used,
            refused: n,
            limit: b.limit,
        })
    }

    /// Measures the directory (after a `set-size`); fails when it is over the cap.
    fn recheck(&self) -> Result<(), TaskFault> {
        let mut b = self.lock();
        let used = used_bytes(&b.dir);
        b.charged = used;
        if used > b.limit {
            return Err(TaskFault::ScratchLimitExceeded {
                used,
                refused: 0,
                limit: b.limit,
            });
        }
        Ok(())
    }
}

/// A file output stream whose writes are charged to the budget first.
struct CappedStream {
    inner: DynOutputStream,
    budget: ScratchBudget,
}

impl CappedStream {
    fn charge(&self, n: usize) -> Result<(), StreamError> {
        self.budget
            .charge(n as u64)
            .map_err(|fault| StreamError::Trap(fault.into()))
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for CappedStream {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.charge(bytes.len())?;
        self.inner.write(bytes)
    }
    fn flush(&mut self) -> Result<(), StreamError> {
        self.inner.flush()
    }
    fn check_write(&mut self) -> Result<usize, StreamError> {
        self.inner.check_write()
    }
    async fn blocking_write_and_flush(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.charge(bytes.len())?;
        self.inner.blocking_write_and_flush(bytes).await
    }
    fn write_zeroes(&mut self, n: usize) -> Result<(), StreamError> {
        self.charge(n)?;
        self.inner.write_zeroes(n)
    }
    async fn write_ready(&mut self) -> Result<usize, StreamError> {
        self.inner.write_ready().await
    }
    async fn cancel(&mut self) {
        self.inner.cancel().await
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CappedStream {
    async fn ready(&mut self) {
        self.inner.ready().await
    }
}

type Fs<T> = wasmtime::Result<(Result<T, ErrorCode>,)>;

/// wasmtime-wasi's result, as the component function's: an error code for the guest, or
/// a trap.
fn lower<T>(result: FsResult<T>) -> Fs<T> {
    match result {
        Ok(v) => Ok((Ok(v),)),
        Err(e) => e.downcast().map(|code| (Err(code),)),
    }
}

/// Replaces the output stream behind `stream` by one charged to `budget`.
fn cap_stream(
    state: &mut HostState,
    stream: Resource<DynOutputStream>,
    budget: ScratchBudget,
) -> wasmtime::Result<Resource<DynOutputStream>> {
    let inner = state.table.delete(stream)?;
    let capped: DynOutputStream = Box::new(CappedStream { inner, budget });
    Ok(state.table.push(capped)?)
}

/// Shadows the file-growing functions of `wasi:filesystem/types` with capped ones. Call
/// after wasmtime-wasi's `add_to_linker_async`.
pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut types = linker.instance(FILESYSTEM_TYPES)?;
    types.func_wrap_async(
        "[method]descriptor.write",
        |mut store: StoreContextMut<'_, HostState>,
         (fd, buf, offset): (Resource<Descriptor>, Vec<u8>, u64)| {
            Box::new(async move {
                if let Some(budget) = &store.data().scratch {
                    budget.charge(buf.len() as u64)?;
                }
                let mut fs = store.data_mut().filesystem();
                lower(HostDescriptor::write(&mut fs, fd, buf, offset).await)
            })
        },
    )?;
    types.func_wrap_async(
        "[method]descriptor.set-size",
        |mut store: StoreContextMut<'_, HostState>, (fd, size): (Resource<Descriptor>, u64)| {
            Box::new(async move {
                let mut fs = store.data_mut().filesystem();
                let result = lower(HostDescriptor::set_size(&mut fs, fd, size).await)?;
                if let Some(budget) = &store.data().scratch {
                    budget.recheck()?;
                }
                Ok(result)
            })
        },
    )?;
    types.func_wrap_async(
        "[method]descriptor.write-via-stream",
        |mut store: StoreContextMut<'_, HostState>, (fd, offset): (Resource<Descriptor>, u64)| {
            Box::new(async move {
                let mut fs = store.data_mut().filesystem();
                let stream = HostDescriptor::write_via_stream(&mut fs, fd, offset);
                capped(store.data_mut(), lower(stream)?)
            })
        },
    )?;
    types.func_wrap_async(
        "[method]descriptor.append-via-stream",
        |mut store: StoreContextMut<'_, HostState>, (fd,): (Resource<Descriptor>,)| {
            Box::new(async move {
                let mut fs = store.data_mut().filesystem();
                let stream = HostDescriptor::append_via_stream(&mut fs, fd);
                capped(store.data_mut(), lower(stream)?)
            })
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

/// A new file stream, capped when the attempt has a scratch budget.
fn capped(
    state: &mut HostState,
    (stream,): (Result<Resource<DynOutputStream>, ErrorCode>,),
) -> Fs<Resource<DynOutputStream>> {
    let Ok(stream) = stream else {
        return Ok((stream,));
    };
    match state.scratch.clone() {
        Some(budget) => Ok((Ok(cap_stream(state, stream, budget)?),)),
        None => Ok((Ok(stream),)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_past_the_cap_are_refused_before_they_happen() {
        let dir = tempfile::tempdir().unwrap();
        let budget = ScratchBudget::new(dir.path().to_owned(), 1000);
        budget.charge(600).unwrap();
        std::fs::write(dir.path().join("a"), [0u8; 600]).unwrap();
        // 600 + 600 > 1000: refused, naming what the directory holds.
        let err = budget.charge(600).unwrap_err();
        assert!(
            matches!(
                err,
                TaskFault::ScratchLimitExceeded {
                    used: 600,
                    refused: 600,
                    limit: 1000
                }
            ),
            "{err}"
        );
        // Overwriting in place does not grow the directory: after a re-measure the
        // budget allows what fits.
        std::fs::write(dir.path().join("a"), [0u8; 100]).unwrap();
        budget.charge(900).unwrap();
        std::fs::write(dir.path().join("b"), [0u8; 900]).unwrap();
        assert!(budget.charge(1).is_err());
    }
}
