//! Warnings that a flood would repeat once per request, written at most once per interval.
//!
//! A client that makes thousands of requests a second, each refused for the same reason, must
//! not turn into thousands of log lines a second: the outside probe made one warning 81 766
//! times (28 MB) in a minute. Each call site keeps one [`RepeatedWarning`]; the first
//! occurrence is written at once, later ones at most once per interval, each line saying how
//! many were left out since the last.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// One kind of warning and when it may next be written.
pub struct RepeatedWarning {
    interval: Duration,
    /// Milliseconds since [`epoch`] before which nothing is written (0: write the next one).
    quiet_until_ms: AtomicU64,
    /// Occurrences not written since the last line.
    left_out: AtomicU64,
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

impl RepeatedWarning {
    /// Written at most once per `interval`.
    pub const fn every(interval: Duration) -> Self {
        Self {
            interval,
            quiet_until_ms: AtomicU64::new(0),
            left_out: AtomicU64::new(0),
        }
    }

    /// Whether this occurrence should be written; if so, how many were left out before it.
    /// Exactly one caller wins each interval, however many race.
    pub fn due(&self) -> Option<u64> {
        let now_ms = u64::try_from(epoch().elapsed().as_millis()).unwrap_or(u64::MAX);
        let quiet_until = self.quiet_until_ms.load(Ordering::Relaxed);
        let next = now_ms.saturating_add(u64::try_from(self.interval.as_millis()).unwrap_or(u64::MAX));
        if now_ms >= quiet_until
            && self
                .quiet_until_ms
                .compare_exchange(quiet_until, next.max(1), Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            return Some(self.left_out.swap(0, Ordering::AcqRel));
        }
        self.left_out.fetch_add(1, Ordering::Relaxed);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_of_one_warning_writes_one_line_per_interval_and_counts_the_rest() {
        let warning = RepeatedWarning::every(Duration::from_millis(200));
        assert_eq!(warning.due(), Some(0), "the first is written at once");
        let written = (0..10_000).filter(|_| warning.due().is_some()).count();
        assert_eq!(written, 0, "then nothing within the interval");
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(warning.due(), Some(10_000), "the next line says how many were left out");
        assert_eq!(warning.due(), None);
    }

    #[test]
    fn racing_threads_write_one_line() {
        let warning = std::sync::Arc::new(RepeatedWarning::every(Duration::from_secs(60)));
        let written: usize = (0..8)
            .map(|_| {
                let warning = warning.clone();
                std::thread::spawn(move || (0..1_000).filter(|_| warning.due().is_some()).count())
            })
            .map(|thread| thread.join().unwrap_or(0))
            .sum();
        assert_eq!(written, 1);
    }
}
