//! Per-attempt store data: the deny-by-default WASI context, the host imports the world
//! grants (log, heartbeat, context), bounded log capture, and the resource limiter.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::bindings::stepwasm::task::host::{self, Level};
use super::bindings::stepwasm::task::types;
use super::fault::TaskFault;
use super::limits::Limits;
use crate::engine::ports::{TaskContext, TaskLog};

/// Log lines and captured stdout/stderr, in order, within a byte budget.
#[derive(Debug)]
pub(crate) struct LogSink {
    entries: Vec<TaskLog>,
    used: usize,
    cap: usize,
    dropped: usize,
    /// Unterminated tail of stdout (0) and stderr (1).
    partial: [Vec<u8>; 2],
}

impl LogSink {
    pub(crate) fn new(cap: usize) -> Self {
        LogSink {
            entries: Vec::new(),
            used: 0,
            cap,
            dropped: 0,
            partial: [Vec::new(), Vec::new()],
        }
    }

    fn push(&mut self, level: &str, message: String) {
        let room = self.cap.saturating_sub(self.used);
        if room == 0 {
            self.dropped += message.len();
            return;
        }
        let message = if message.len() > room {
            self.dropped += message.len() - room;
            truncate_utf8(message, room)
        } else {
            message
        };
        self.used += message.len();
        self.entries.push(TaskLog {
            level: level.to_owned(),
            message,
        });
    }

    fn write_stream(&mut self, stream: usize, bytes: &[u8]) {
        let level = if stream == 0 { "stdout" } else { "stderr" };
        // Keep a partial line no longer than the budget, so a guest cannot hoard memory.
        let room = self.cap.saturating_sub(self.used);
        let mut rest = bytes;
        while let Some(nl) = rest.iter().position(|b| *b == b'\n') {
            let mut line = std::mem::take(&mut self.partial[stream]);
            line.extend_from_slice(&rest[..nl]);
            self.push(level, String::from_utf8_lossy(&line).into_owned());
            rest = &rest[nl + 1..];
        }
        let keep = rest
            .len()
            .min(room.saturating_sub(self.partial[stream].len()));
        self.partial[stream].extend_from_slice(&rest[..keep]);
        self.dropped += rest.len() - keep;
    }

    /// The lines, with unterminated output flushed and a note when bytes were dropped
    /// (then also `true`).
    pub(crate) fn finish(mut self) -> (Vec<TaskLog>, bool) {
        for stream in 0..2 {
            if !self.partial[stream].is_empty() {
                let tail = std::mem::take(&mut self.partial[stream]);
                let level = if stream == 0 { "stdout" } else { "stderr" };
                self.push(level, String::from_utf8_lossy(&tail).into_owned());
            }
        }
        let truncated = self.dropped > 0;
        if truncated {
            self.entries.push(TaskLog {
                level: "warn".to_owned(),
                message: format!(
                    "{} bytes of log output dropped (limit {} bytes)",
                    self.dropped, self.cap
                ),
            });
        }
        (self.entries, truncated)
    }

    /// The captured stderr lines, to explain a trap (a panic message lands there).
    pub(crate) fn stderr_tail(&self) -> String {
        let lines: Vec<&str> = self
            .entries
            .iter()
            .filter(|e| e.level == "stderr")
            .map(|e| e.message.as_str())
            .chain(std::str::from_utf8(&self.partial[1]).ok())
            .filter(|s| !s.is_empty())
            .collect();
        lines.join("\n")
    }
}

fn truncate_utf8(mut s: String, max: usize) -> String {
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    s
}

/// One of the guest's stdout/stderr, feeding the shared [`LogSink`].
#[derive(Clone)]
pub(crate) struct Capture {
    sink: Arc<Mutex<LogSink>>,
    stream: usize,
}

impl Capture {
    pub(crate) fn stdout(sink: &Arc<Mutex<LogSink>>) -> Self {
        Capture {
            sink: sink.clone(),
            stream: 0,
        }
    }
    pub(crate) fn stderr(sink: &Arc<Mutex<LogSink>>) -> Self {
        Capture {
            sink: sink.clone(),
            stream: 1,
        }
    }
}

impl IsTerminal for Capture {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for Capture {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for Capture {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        lock(&self.sink).write_stream(self.stream, &bytes);
        Ok(())
    }
    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }
    fn check_write(&mut self) -> Result<usize, StreamError> {
        // Always accept: what exceeds the budget is dropped, not an error for the guest.
        Ok(64 * 1024)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for Capture {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for Capture {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        lock(&self.sink).write_stream(self.stream, buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// Locks a sink; a poisoned lock (a panic elsewhere) still holds usable logs.
pub(crate) fn lock(sink: &Mutex<LogSink>) -> std::sync::MutexGuard<'_, LogSink> {
    sink.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// When the guest last showed life, as milliseconds since the attempt started; shared with
/// the watchdog that runs beside the call.
#[derive(Clone, Debug, Default)]
pub(crate) struct Pulse(Arc<AtomicU64>);

impl Pulse {
    pub(crate) fn beat(&self, started: Instant) {
        let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.0.store(ms, Ordering::Relaxed);
    }
    pub(crate) fn last_ms(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Enforces [`Limits`] on memories, tables and instances of one store.
#[derive(Debug)]
pub(crate) struct Limiter {
    memory_bytes: usize,
    table_elements: usize,
    instances: usize,
    /// Bytes of linear memory in use across the store's memories.
    memory_used: usize,
}

impl Limiter {
    pub(crate) fn new(limits: &Limits, pool_memory: usize, pool_tables: usize) -> Self {
        Limiter {
            memory_bytes: limits.memory_bytes.min(pool_memory),
            table_elements: limits.table_elements.min(pool_tables),
            instances: limits.instances,
            memory_used: 0,
        }
    }
}

impl Limiter {
    /// Linear memory in use (memories only grow within an attempt, so this is its peak).
    pub(crate) fn peak_bytes(&self) -> u64 {
        self.memory_used as u64
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self.memory_used - current.min(self.memory_used) + desired;
        if total > self.memory_bytes {
            // An error (not `false`) traps at once, so the cause is ours to name.
            return Err(TaskFault::MemoryLimitExceeded {
                desired: total,
                limit: self.memory_bytes,
            }
            .into());
        }
        self.memory_used = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= self.table_elements)
    }

    fn instances(&self) -> usize {
        self.instances
    }
    fn tables(&self) -> usize {
        self.instances * 4
    }
    fn memories(&self) -> usize {
        self.instances
    }
}

/// The store's data for one attempt.
pub(crate) struct HostState {
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) limiter: Limiter,
    pub(crate) logs: Arc<Mutex<LogSink>>,
    pub(crate) context: TaskContext,
    /// Start, deadlines and heartbeat, checked at every epoch tick.
    pub(crate) clock: super::invoke::Deadlines,
    /// What the scratch directory may still take, when one is granted.
    pub(crate) scratch: Option<super::scratch_fs::ScratchBudget>,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl host::Host for HostState {
    fn log(&mut self, level: Level, message: String) {
        let level = match level {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        };
        lock(&self.logs).push(level, message);
    }

    fn heartbeat(&mut self) {
        self.clock.pulse.beat(self.clock.started);
    }

    fn context(&mut self) -> host::TaskContext {
        host::TaskContext {
            execution_id: self.context.execution_id.clone(),
            execution_name: self.context.execution_name.clone(),
            state_name: self.context.state_name.clone(),
            retry_count: self.context.retry_count,
            task_token: self.context.task_token.clone(),
        }
    }
}

impl types::Host for HostState {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sink_keeps_order_and_budget() {
        let mut sink = LogSink::new(20);
        sink.push("info", "hello".into());
        sink.write_stream(0, b"out 1\nout");
        sink.write_stream(1, b"err!\n");
        sink.write_stream(0, b" 2\nmore text that will not fit\n");
        let (logs, truncated) = sink.finish();
        assert!(truncated);
        let shown: Vec<(&str, &str)> = logs
            .iter()
            .map(|l| (l.level.as_str(), l.message.as_str()))
            .collect();
        assert_eq!(shown[0], ("info", "hello"));
        assert_eq!(shown[1], ("stdout", "out 1"));
        assert_eq!(shown[2], ("stderr", "err!"));
        assert_eq!(shown[3], ("stdout", "out 2"));
        assert_eq!(shown[4].0, "stdout");
        assert_eq!(shown[4].1.len(), 20 - 5 - 5 - 4 - 5);
        assert!(shown[5].1.contains("dropped"), "{shown:?}");
    }

    #[test]
    fn truncates_on_char_boundary() {
        assert_eq!(truncate_utf8("héllo".into(), 2), "h");
    }
}
