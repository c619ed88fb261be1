//! The extract writer: Parquet writer properties, rebatching into equal calls, early
//! writeback of finished row groups, and the digest of every byte written.

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use crate::error::{Error, Result};
use crate::io::output::{HashingWriter, Staged};

/// How the extract is written.
pub(crate) struct WriterOptions {
    /// zstd level.
    pub zstd_level: i32,
    /// Rows per row group.
    pub row_group_size: usize,
    /// Token and ciphertext columns as `DELTA_LENGTH_BYTE_ARRAY` (else `PLAIN`).
    pub delta_tokens: bool,
}

/// The extract being written to its staged file.
pub(crate) struct ExtractWriter {
    writer: ArrowWriter<HashingWriter<std::fs::File>>,
    staged: Staged,
    rebatch: Rebatch,
    row_groups_written: usize,
    sync_tx: std::sync::mpsc::Sender<()>,
    syncer: std::thread::JoinHandle<()>,
}

impl ExtractWriter {
    /// Starts writing `schema` to a staged file for `path`, with `metadata` in the footer
    /// (in this order, so the bytes do not depend on a hash map's). `pseudonyms` names the
    /// columns that hold tokens or ciphertexts.
    pub fn start(
        path: &std::path::Path,
        schema: &SchemaRef,
        metadata: &[(&str, String)],
        pseudonyms: &[&str],
        options: &WriterOptions,
    ) -> Result<ExtractWriter> {
        let staged = Staged::new(path)?;
        let mut props = WriterProperties::builder();
        // Tokens and ciphertexts are (nearly) unique: a dictionary would only be built to be
        // thrown away, and their min/max statistics help no reader. They are random text, so
        // they are written DELTA_LENGTH_BYTE_ARRAY: the lengths apart (a few bytes per page),
        // then the bare characters. With PLAIN, a 4-byte length before every value breaks
        // up the text, zstd keeps finding short false matches in it and never reaches its
        // fast path for incompressible data: on the benchmark register the delta layout
        // takes 8% less CPU for the whole run and gives a 6% smaller file. Every current
        // reader (Arrow, DuckDB, Polars, pandas, Spark 3.3+) reads it; `--plain-encoding`
        // writes PLAIN for older ones.
        let token_encoding = if options.delta_tokens {
            Encoding::DELTA_LENGTH_BYTE_ARRAY
        } else {
            Encoding::PLAIN
        };
        for name in pseudonyms {
            let col = ColumnPath::from(*name);
            props = props
                .set_column_dictionary_enabled(col.clone(), false)
                .set_column_encoding(col.clone(), token_encoding)
                .set_column_statistics_enabled(col, EnabledStatistics::None);
        }
        // Chunk-level statistics only: a page index for every page of every row group would
        // be held in memory until the file is closed, so memory would grow with the rows.
        let props = props
            .set_statistics_enabled(EnabledStatistics::Chunk)
            .set_compression(Compression::ZSTD(
                ZstdLevel::try_new(options.zstd_level)
                    .map_err(|_| Error::usage("`--zstd-level` must be 1 to 22"))?,
            ))
            .set_max_row_group_row_count(Some(options.row_group_size.max(1)))
            .set_write_batch_size(WRITE_BATCH_ROWS);
        let props = footer(props, metadata).build();
        let writer = ArrowWriter::try_new(
            HashingWriter::new(staged.file()?),
            schema.clone(),
            Some(props),
        )
        .map_err(|e| Error::internal(format!("cannot start the Parquet writer: {e}")))?;
        // Early writeback: each time a row group is complete, another thread asks the system
        // to put what was written so far on disk (fdatasync on a second handle), so the
        // final sync before the rename (see `commit`) has little left to wait for. Errors
        // here are left to that final sync, which reports them.
        let (sync_tx, sync_rx) = std::sync::mpsc::channel::<()>();
        let early = staged.file()?;
        let syncer = std::thread::spawn(move || {
            while sync_rx.recv().is_ok() {
                while sync_rx.try_recv().is_ok() {}
                let _ = early.sync_data();
            }
        });
        Ok(ExtractWriter {
            writer,
            staged,
            rebatch: Rebatch::new(schema.clone(), WRITE_CALL_ROWS),
            row_groups_written: 0,
            sync_tx,
            syncer,
        })
    }

    /// Writes a batch of the extract's schema (its metadata aside).
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let batch = RecordBatch::try_new(self.rebatch.schema.clone(), batch.columns().to_vec())
            .map_err(|e| Error::internal(format!("output batch: {e}")))?;
        let (writer, staged) = (&mut self.writer, &self.staged);
        self.rebatch.push(&batch, |b| write_to(writer, staged, b))?;
        if self.writer.flushed_row_groups().len() > self.row_groups_written {
            self.row_groups_written = self.writer.flushed_row_groups().len();
            let _ = self.sync_tx.send(());
        }
        Ok(())
    }

    /// Writes what is pending and the footer; returns the staged file with its SHA-256 and
    /// size.
    pub fn finish(mut self) -> Result<(Staged, String, u64)> {
        let (writer, staged) = (&mut self.writer, &self.staged);
        self.rebatch.finish(|b| write_to(writer, staged, b))?;
        // The footer is written by `into_inner`; the digest covers every byte of the file.
        let (sha, bytes) = self
            .writer
            .into_inner()
            .map_err(|e| std::io::Error::other(e.to_string()))
            .and_then(HashingWriter::finish)
            .map_err(|e| Error::io(self.staged.tmp_path(), e))?;
        // The syncer ends with its channel; its last flush overlapped the footer's writing.
        drop(self.sync_tx);
        let _ = self.syncer.join();
        Ok((self.staged, sha, bytes))
    }
}

/// `schema` with `metadata` (the same `minex.*` pairs as the footer's: pyarrow, Polars and
/// DuckDB users find them in the stored Arrow schema).
pub(crate) fn stamped(schema: &arrow::datatypes::Schema, metadata: &[(&str, String)]) -> SchemaRef {
    std::sync::Arc::new(
        schema.clone().with_metadata(
            metadata
                .iter()
                .map(|(k, v)| ((*k).to_string(), v.clone()))
                .collect(),
        ),
    )
}

/// The footer every Parquet file minex writes carries: `created_by` and `metadata`, in this
/// order.
pub(crate) fn footer(
    props: parquet::file::properties::WriterPropertiesBuilder,
    metadata: &[(&str, String)],
) -> parquet::file::properties::WriterPropertiesBuilder {
    props
        .set_created_by(format!("minex {}", env!("CARGO_PKG_VERSION")))
        .set_key_value_metadata(Some(
            metadata
                .iter()
                .map(|(k, v)| KeyValue::new((*k).to_string(), v.clone()))
                .collect(),
        ))
}

fn write_to(
    writer: &mut ArrowWriter<HashingWriter<std::fs::File>>,
    staged: &Staged,
    batch: &RecordBatch,
) -> Result<()> {
    writer
        .write(batch)
        .map_err(|e| Error::io(staged.tmp_path(), std::io::Error::other(e.to_string())))
}

/// Rows per mini-batch of the Parquet writer (its default, set explicitly).
const WRITE_BATCH_ROWS: usize = 1024;
/// Rows per call to the Parquet writer (see [`Rebatch`]): 16 mini-batches, 8 calls per row
/// group of 128 Ki rows.
const WRITE_CALL_ROWS: usize = 16 * 1024;

/// Hands the Parquet writer batches of exactly `unit` rows (the last one excepted).
///
/// The writer cuts each `write` call into mini-batches counted from the start of that call,
/// sized by the call's content (a call whose column has no null takes bigger ones), and
/// decides page ends and dictionary fallbacks between mini-batches. Fed the batches as they
/// come, the extract's bytes would follow the input batches, and so the batch size. Cut here
/// into equal calls (the rows of a call that spans several batches are joined once; every
/// other call is a zero-copy slice), the extract is byte-for-byte the same whatever the
/// batch size or thread count. The rows waiting for their call keep their batches alive: at
/// most one call's worth beyond the batches in flight.
struct Rebatch {
    schema: arrow::datatypes::SchemaRef,
    unit: usize,
    /// Fewer than `unit` rows waiting for more (slices of the batches they came in: each row
    /// is copied at most once, when its call is complete).
    pending: Vec<RecordBatch>,
    pending_rows: usize,
}

impl Rebatch {
    fn new(schema: SchemaRef, unit: usize) -> Rebatch {
        Rebatch {
            schema,
            unit: unit.max(1),
            pending: Vec::new(),
            pending_rows: 0,
        }
    }

    /// The pending rows as one batch.
    fn take_pending(&mut self) -> Result<RecordBatch> {
        self.pending_rows = 0;
        let joined = match self.pending.len() {
            1 => Ok(self.pending[0].clone()),
            _ => arrow::compute::concat_batches(&self.schema, &self.pending)
                .map_err(|e| Error::internal(format!("joining output batches: {e}"))),
        };
        self.pending.clear();
        joined
    }

    fn push(
        &mut self,
        batch: &RecordBatch,
        mut write: impl FnMut(&RecordBatch) -> Result<()>,
    ) -> Result<()> {
        let n = batch.num_rows();
        let mut offset = 0;
        if self.pending_rows > 0 {
            let need = self.unit - self.pending_rows;
            if n < need {
                self.pending.push(batch.clone());
                self.pending_rows += n;
                return Ok(());
            }
            self.pending.push(batch.slice(0, need));
            write(&self.take_pending()?)?;
            offset = need;
        }
        while n - offset >= self.unit {
            write(&batch.slice(offset, self.unit))?;
            offset += self.unit;
        }
        if offset < n {
            self.pending.push(batch.slice(offset, n - offset));
            self.pending_rows = n - offset;
        }
        Ok(())
    }

    fn finish(&mut self, mut write: impl FnMut(&RecordBatch) -> Result<()>) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        write(&self.take_pending()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::ArrayRef;
    use std::sync::Arc;

    /// Whatever the sizes pushed, every write but the last is exactly one unit, and the rows
    /// come out in order, each once.
    #[test]
    fn rebatch_writes_whole_units_in_order() {
        use arrow::array::Int64Array;
        let schema = Arc::new(arrow::datatypes::Schema::new(vec![
            arrow::datatypes::Field::new("x", arrow::datatypes::DataType::Int64, false),
        ]));
        for (unit, sizes) in [
            (4, vec![5usize, 3, 9, 1, 1, 1, 20, 4]),
            (4, vec![4, 4, 4]),
            (4, vec![2]),
            (4, vec![17, 0, 6]),
            (4, vec![1; 23]),
            (1, vec![3, 1, 0, 2]),
            (1000, vec![1; 2500]),
        ] {
            let mut rebatch = Rebatch::new(schema.clone(), unit);
            let mut writes: Vec<Vec<i64>> = Vec::new();
            let mut next = 0i64;
            for n in &sizes {
                let values: Vec<i64> = (next..next + *n as i64).collect();
                next += *n as i64;
                let batch = RecordBatch::try_new(
                    schema.clone(),
                    vec![Arc::new(Int64Array::from(values)) as ArrayRef],
                )
                .unwrap();
                rebatch
                    .push(&batch, |b| {
                        let col = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                        writes.push(col.values().to_vec());
                        Ok(())
                    })
                    .unwrap();
            }
            rebatch
                .finish(|b| {
                    let col = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                    writes.push(col.values().to_vec());
                    Ok(())
                })
                .unwrap();
            let all: Vec<i64> = writes.concat();
            assert_eq!(all, (0..next).collect::<Vec<_>>(), "{sizes:?}");
            for w in &writes[..writes.len().saturating_sub(1)] {
                assert_eq!(w.len(), unit, "{sizes:?}: {writes:?}");
            }
        }
    }
}
