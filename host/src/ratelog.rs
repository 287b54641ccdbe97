//! Rate-limited logging for failures that repeat: while the disk is full every commit and
//! every retry fails the same way, and one stderr line each would fill the disk faster.
//! Each call site ([`Limiter`], a `static`) prints at most one line per interval and says
//! how many it held back.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One call site's limit.
pub struct Limiter {
    every: Duration,
    state: Mutex<Option<(Instant, u64)>>,
}

impl Limiter {
    /// At most one line per `every`.
    pub const fn new(every: Duration) -> Self {
        Self {
            every,
            state: Mutex::new(None),
        }
    }

    /// Prints `line()` to stderr unless a line was printed less than the interval ago.
    pub fn log(&self, line: impl FnOnce() -> String) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        match &mut *state {
            Some((last, held)) if now.duration_since(*last) < self.every => *held += 1,
            Some((last, held)) => {
                let note = if *held > 0 {
                    format!(" ({held} similar lines held back)")
                } else {
                    String::new()
                };
                eprintln!("stepwasm: {}{note}", line());
                *last = now;
                *held = 0;
            }
            None => {
                eprintln!("stepwasm: {}", line());
                *state = Some((now, 0));
            }
        }
    }
}
