//! The progress line of `minex run --progress`.

use std::sync::Arc;
use std::time::Instant;

use crate::io::Input;

/// The progress line: rows, bytes, rows per second and an estimate of the time left, on
/// standard error, redrawn four times a second. Never a value.
pub(crate) struct Progress {
    pub bytes: Arc<std::sync::atomic::AtomicU64>,
    pub rows: Arc<std::sync::atomic::AtomicU64>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl Progress {
    pub fn start(inputs: &[Input], two_passes: bool) -> Progress {
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
        let total: u64 = inputs
            .iter()
            .filter_map(|i| std::fs::metadata(&i.path).ok())
            .map(|m| m.len())
            .sum::<u64>()
            * if two_passes { 2 } else { 1 };
        let bytes = Arc::new(AtomicU64::new(0));
        let rows = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (b, r, s) = (bytes.clone(), rows.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let t0 = Instant::now();
            while !s.load(Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_millis(250));
                let (done, n) = (b.load(Ordering::Relaxed), r.load(Ordering::Relaxed));
                let secs = t0.elapsed().as_secs_f64().max(1e-3);
                let eta = if done > 0 && total > done {
                    format!(
                        ", about {:.0} s left",
                        secs * (total - done) as f64 / done as f64
                    )
                } else {
                    String::new()
                };
                eprint!(
                    "\r\x1b[K{n} rows, {:.0} of {:.0} MB read, {:.0} rows/s{eta}",
                    done as f64 / 1e6,
                    total as f64 / 1e6,
                    n as f64 / secs
                );
            }
            eprint!("\r\x1b[K");
        });
        Progress {
            bytes,
            rows,
            stop,
            thread,
        }
    }

    pub fn stop(self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = self.thread.join();
    }
}
