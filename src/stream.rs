//! The ordered worker stream: one reader thread cuts the inputs into batches, worker threads
//! transform them as they come, and the results reach a sink in input order, so what is
//! written is the same whatever the number of threads.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::RecordBatch;

use crate::error::{Error, Result};
use crate::io::{Input, RawBatch, ReadOptions};

/// One batch's result, in input order.
pub(crate) struct Done<T> {
    /// Which input it came from.
    pub file_index: usize,
    /// The input's 1-based data row of the batch's first row.
    pub first_row: u64,
    /// The batch's rows.
    pub rows: u64,
    /// What the work made of it.
    pub value: T,
}

/// Per input, its SHA-256 (hex) and size, where the reader made one (CSV inputs, read front
/// to back).
pub(crate) type Digests = Vec<Option<(String, u64)>>;

/// Reads the columns `columns` of every input, runs `work` on each batch on the worker
/// threads (as many as rayon's current pool has), and hands the results to `sink` in input
/// order. Returns the digests the reader made.
///
/// Four kinds of thread overlap: one reader cuts the input into batches (and digests it),
/// the workers each take the next batch, decode and transform it, and the calling thread
/// puts the results back in input order and runs `sink` (the Parquet encoder) on them. No
/// worker waits for another: there is no barrier between groups of batches.
///
/// Memory is bounded by tickets: the reader takes a ticket before it hands out a batch, and
/// a ticket comes back only when `sink` is done with that batch, so at most
/// `2 × threads + 2` batches exist at any time, whatever the input size. Every channel holds
/// at least as many items as there are tickets, so only ticket-taking and receiving ever
/// block; when any stage stops (an error, or the end), the others see their channel close
/// and stop too.
///
/// # Errors
/// The first error of the reader, a worker (placed in its file with
/// [`Error::in_file`]) or the sink, in input order.
pub(crate) fn stream<T: Send>(
    inputs: &[Input],
    columns: &[String],
    read: &ReadOptions,
    work: &(dyn Fn(&RecordBatch) -> Result<T> + Sync),
    sink: &mut (dyn FnMut(Done<T>) -> Result<()> + Send),
) -> Result<Digests> {
    use std::sync::mpsc::{Receiver, sync_channel};
    use std::sync::{Mutex, PoisonError};
    type Work = (u64, Result<(usize, u64, RawBatch)>);
    let workers = rayon::current_num_threads().max(1);
    let tickets = 2 * workers + 2;
    std::thread::scope(|scope| -> Result<Digests> {
        let (batch_tx, batch_rx) = sync_channel::<Work>(tickets);
        let (out_tx, out_rx) = sync_channel::<(u64, Result<Done<T>>)>(tickets);
        let (ticket_tx, ticket_rx) = sync_channel::<()>(tickets);
        for _ in 0..tickets {
            // Cannot fail: the channel holds exactly `tickets` and its receiver is alive.
            let _ = ticket_tx.send(());
        }
        let reader = scope.spawn(move || {
            let mut seq = 0u64;
            // Hands one item out under a ticket; false when the run is stopping.
            let mut hand_out = |item: Result<(usize, u64, RawBatch)>| -> bool {
                let ok = ticket_rx.recv().is_ok() && batch_tx.send((seq, item)).is_ok();
                seq += 1;
                ok
            };
            read_inputs(inputs, columns, read, &mut hand_out)
        });
        // The workers share the receiving end; it closes when the last worker is gone.
        let batch_rx: Arc<Mutex<Receiver<Work>>> = Arc::new(Mutex::new(batch_rx));
        for _ in 0..workers {
            let batch_rx = batch_rx.clone();
            let out_tx = out_tx.clone();
            scope.spawn(move || {
                loop {
                    let next = batch_rx
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .recv();
                    let Ok((seq, item)) = next else { return };
                    let out = item.and_then(|(file_index, first_row, raw)| {
                        // A panic becomes an error in its place, so the writer never waits
                        // for a batch that will not come.
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            let path = &inputs[file_index].path;
                            let batch = raw.decode(path, first_row)?;
                            let value = work(&batch).map_err(|e| e.in_file(path, first_row))?;
                            Ok(Done {
                                file_index,
                                first_row,
                                rows: batch.num_rows() as u64,
                                value,
                            })
                        }))
                        .unwrap_or_else(|_| Err(Error::internal("a worker thread panicked")))
                    });
                    if out_tx.send((seq, out)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(batch_rx);
        drop(out_tx);

        // This thread: results back in input order, into `sink`.
        let rows_done = read.rows_read.clone();
        let written = (|| -> Result<()> {
            let mut pending: BTreeMap<u64, Result<Done<T>>> = BTreeMap::new();
            let mut next = 0u64;
            for (seq, out) in &out_rx {
                pending.insert(seq, out);
                while let Some(out) = pending.remove(&next) {
                    let out = out?;
                    let n = out.rows;
                    tracing::trace!(file = out.file_index, rows = n, "batch done");
                    sink(out)?;
                    if let Some(c) = &rows_done {
                        c.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
                    }
                    next += 1;
                    // The batch is gone: its ticket goes back to the reader.
                    let _ = ticket_tx.send(());
                }
            }
            if pending.is_empty() {
                Ok(())
            } else {
                Err(Error::internal("a batch was never transformed"))
            }
        })();
        // Closing these stops the reader (no more tickets) and the workers (nowhere to send)
        // if the writer stopped early.
        drop(out_rx);
        drop(ticket_tx);
        let digests = reader
            .join()
            .map_err(|_| Error::internal("the reader thread panicked"))?;
        written?;
        Ok(digests)
    })
}

/// The reader: cuts every input into raw batches (file index, first row, batch) and hands
/// them out in order, until the end or until `hand_out` says the run is stopping; an error
/// is handed out in its place and ends the reading. Returns the digests made.
fn read_inputs(
    inputs: &[Input],
    columns: &[String],
    read: &ReadOptions,
    hand_out: &mut dyn FnMut(Result<(usize, u64, RawBatch)>) -> bool,
) -> Digests {
    let mut digests = Vec::with_capacity(inputs.len());
    for (file_index, input) in inputs.iter().enumerate() {
        let mut reader = match input.batches(columns, read) {
            Ok(r) => r,
            Err(e) => {
                hand_out(Err(e));
                return digests;
            }
        };
        loop {
            match reader.next_raw() {
                Ok(Some((first, b))) => {
                    if !hand_out(Ok((file_index, first, b))) {
                        return digests;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    hand_out(Err(e));
                    return digests;
                }
            }
        }
        tracing::debug!(input = %input.path.display(), "input read to its end");
        digests.push(reader.digest());
    }
    digests
}
