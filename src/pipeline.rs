//! The pipeline: reader → row rules → canonicalization → kernels → k-anonymity gate → writer.
//!
//! # Batching and parallelism
//! Inputs are read as a stream of batches of at most `batch_size` rows (and about 2 MiB of
//! CSV). A reader thread cuts the batches, `threads` workers decode and transform them as
//! they come, and the results are written in input order, so the output is byte-identical
//! whatever the thread count. Memory is bounded by a fixed number of batches in flight
//! (`2 × threads + 2`, see `Engine::stream`) and, with k-anonymity, by the number of distinct
//! quasi-identifier classes.
//!
//! # k-anonymity: two passes
//! A class's size is known only after the last row, so a gate that streams cannot decide on a
//! row when it sees it. minex reads the input twice instead of holding rows back: the first
//! pass computes only the quasi-identifier columns and counts the rows per class (a hash map
//! from the class's encoded key to a count: memory follows classes, never rows); the second
//! pass computes every column and suppresses the rows whose class is smaller than `k`. Both
//! passes apply the same rules to the same bytes, so they agree. With `on_violation: fail`, or
//! when `max_suppression` would be exceeded, the run stops after the first pass, before
//! anything is written.
//!
//! # Atomic output
//! Everything is written to temporary files that are renamed into place only at the end (see
//! [`crate::io::output`]).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, RecordBatch, StringArray};
use arrow::compute::filter;
use arrow::row::{RowConverter, SortField};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

use crate::error::{Error, ErrorKind, Location, Result};
use crate::ident::InvalidReason;
use crate::io::output::{HashingWriter, OutputPaths, Staged, commit, sha256_file};
use crate::io::{Input, RawBatch, ReadOptions};
use crate::keys::{Encryptor, KeyRing, MasterKey, Tokenizer};
use crate::plan::{OutputSource, Plan};
use crate::policy::{Action, Condition, Generalization, OnInvalid, OnViolation, Policy, ValueType};
use crate::report::csv_safe_field;
use crate::report::manifest::*;
use crate::transform::{Canonical, canonicalize_with, kernels};

/// Where the master key comes from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// `--key-file FILE`, else `MINEX_KEY`.
    Load(Option<PathBuf>),
    /// A key already in memory (tests, the demo).
    Given(MasterKey),
}

/// The most worker threads a run starts, whatever `--threads` says.
pub const MAX_THREADS: usize = 256;

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// The policy file.
    pub policy: PathBuf,
    /// The input files (sharing one header).
    pub inputs: Vec<PathBuf>,
    /// `DIR/NAME.parquet`.
    pub out: PathBuf,
    /// The master key.
    pub key: KeySource,
    /// Reader settings.
    pub read: ReadOptions,
    /// Worker threads (None: all cores).
    pub threads: Option<usize>,
    /// zstd level for the extract.
    pub zstd_level: i32,
    /// Rows per Parquet row group.
    pub row_group_size: usize,
    /// Write token and ciphertext columns with `DELTA_LENGTH_BYTE_ARRAY` (the default; see
    /// `write_run`) rather than `PLAIN`.
    pub delta_tokens: bool,
    /// Show a progress line on standard error.
    pub progress: bool,
}

impl RunConfig {
    /// A config with defaults for everything but the files and key.
    pub fn new(
        policy: impl Into<PathBuf>,
        inputs: Vec<PathBuf>,
        out: impl Into<PathBuf>,
        key: KeySource,
    ) -> RunConfig {
        RunConfig {
            policy: policy.into(),
            inputs,
            out: out.into(),
            key,
            read: ReadOptions::default(),
            threads: None,
            zstd_level: 1,
            row_group_size: 128 * 1024,
            delta_tokens: true,
            progress: false,
        }
    }
}

/// What a successful run did.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// The manifest written.
    pub manifest: Manifest,
    /// Where everything went.
    pub paths: OutputPaths,
    /// Whether a rejects report was written.
    pub wrote_rejects: bool,
}

/// Runs a policy over inputs and writes the extract, manifest and rejects report.
///
/// # Errors
/// Any [`Error`]; nothing is left at the output paths when one is returned.
pub fn run(cfg: &RunConfig) -> Result<RunSummary> {
    match cfg.threads {
        Some(n) => {
            // More workers than cores only adds batches in flight (memory); the output is the
            // same whatever the number, so a huge `--threads` is capped, not obeyed.
            let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
            let cap = (4 * cores).clamp(4, MAX_THREADS);
            if n > cap {
                tracing::info!(asked = n, used = cap, "--threads capped at 4 × the cores");
            }
            let n = n.clamp(1, cap);
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map_err(|e| Error::internal(format!("cannot start {n} threads: {e}")))?;
            pool.install(|| run_inner(cfg))
        }
        None => run_inner(cfg),
    }
}

/// Loads a policy, opens the inputs and checks the policy against them and the key,
/// reporting the problems of all three at once. Used by `run` and `plan`; `check`, which
/// has the policy already, calls [`prepare_policy`].
///
/// # Errors
/// `Policy` for the policy file, else `Schema` (with a key problem appended), else `Key`.
pub fn prepare(
    policy_path: &Path,
    inputs: &[PathBuf],
    read: &ReadOptions,
    key: Option<&KeySource>,
) -> Result<(Plan, Vec<Input>, Option<KeyRing>)> {
    let policy = crate::policy::from_file(policy_path)?;
    prepare_policy(&policy, inputs, read, key)
}

/// As [`prepare`], for a policy already loaded (`minex check` lints it first).
///
/// # Errors
/// As [`prepare`], but for the policy file itself.
pub fn prepare_policy(
    policy: &Policy,
    inputs: &[PathBuf],
    read: &ReadOptions,
    key: Option<&KeySource>,
) -> Result<(Plan, Vec<Input>, Option<KeyRing>)> {
    let opened: Vec<Input> = inputs
        .iter()
        .map(|p| Input::open(p, read))
        .collect::<Result<_>>()?;
    let plan = Plan::new(policy, &opened);
    let ring = match key {
        Some(source) if !policy.key_uses().is_empty() => {
            Some(load_key(source).map(|k| KeyRing::new(k, policy.domain.clone())))
        }
        _ => None,
    };
    match (plan, ring) {
        (Err(e), Some(Err(k))) => match e.kind() {
            ErrorKind::Schema { problems } => {
                let mut problems = problems.clone();
                problems.push(k.to_string());
                Err(ErrorKind::Schema { problems }.into())
            }
            _ => Err(e),
        },
        (Err(e), _) => Err(e),
        (Ok(_), Some(Err(k))) => Err(k),
        (Ok(plan), ring) => Ok((plan, opened, ring.transpose()?)),
    }
}

fn load_key(source: &KeySource) -> Result<MasterKey> {
    match source {
        KeySource::Load(path) => MasterKey::load(path.as_deref()),
        KeySource::Given(k) => Ok(k.clone()),
    }
}

fn run_inner(cfg: &RunConfig) -> Result<RunSummary> {
    let started_at = SystemTime::now();
    let clock = Instant::now();
    let paths = OutputPaths::from_out(&cfg.out)?;
    {
        // Nothing the run writes or removes may be one of the files it reads (issue 10).
        let mut reads: Vec<&Path> = cfg.inputs.iter().map(PathBuf::as_path).collect();
        reads.push(&cfg.policy);
        if let KeySource::Load(Some(key_file)) = &cfg.key {
            reads.push(key_file);
        }
        crate::io::paths::check_no_collision(
            &reads,
            &[&paths.parquet, &paths.rejects, &paths.manifest],
        )?;
    }
    let (plan, inputs, ring) = prepare(&cfg.policy, &cfg.inputs, &cfg.read, Some(&cfg.key))?;
    tracing::info!(
        policy = %plan.policy.name,
        domain = %plan.policy.domain,
        inputs = inputs.len(),
        columns_read = plan.read.len(),
        columns_written = plan.outputs.len(),
        k_anonymity = plan.policy.k_anonymity.is_some(),
        "plan checked against the inputs' headers"
    );
    let engine = Engine::new(&plan, ring.as_ref())?;
    for (use_, id) in &engine.key_ids {
        tracing::debug!(key = %use_, key_id = %id, "key derived");
    }
    let progress = cfg
        .progress
        .then(|| Progress::start(&inputs, plan.policy.k_anonymity.is_some()));
    let mut read = cfg.read.clone();
    if let Some(p) = &progress {
        read.bytes_read = Some(p.bytes.clone());
        read.rows_read = Some(p.rows.clone());
    }
    let result = write_run(
        cfg, &plan, &inputs, &engine, &read, started_at, clock, paths,
    );
    if let Some(p) = progress {
        p.stop();
    }
    result
}

/// Passes 1 (with k-anonymity) and 2, the manifest and the commit.
#[allow(clippy::too_many_arguments)]
fn write_run(
    cfg: &RunConfig,
    plan: &Plan,
    inputs: &[Input],
    engine: &Engine<'_>,
    read: &ReadOptions,
    started_at: SystemTime,
    clock: Instant,
    paths: OutputPaths,
) -> Result<RunSummary> {
    // Pass 1 (only with k-anonymity): class sizes.
    let mut first_pass_digests = None;
    let gate = match &plan.policy.k_anonymity {
        Some(k) => {
            let hasher = digest_parquet_inputs(inputs);
            let mut counts = engine.count_classes(inputs, read)?;
            merge_digests(&mut counts.digests, hasher)?;
            first_pass_digests = Some(counts.digests);
            let gate = Gate::new(k.k, counts.classes, counts.rows_at_gate);
            tracing::info!(
                classes = gate.classes.len(),
                rows_at_gate = gate.rows_at_gate,
                rows_below_k = gate.rows_below,
                classes_below_k = gate.classes_below,
                "k-anonymity pass 1: classes counted"
            );
            if gate.rows_below > 0 && k.on_violation == OnViolation::Fail {
                return Err(Error::privacy(format!(
                    "k-anonymity with k = {}: {} rows in {} classes are below k over ({}); `on_violation: fail`, so nothing was written",
                    k.k,
                    gate.rows_below,
                    gate.classes_below,
                    k.quasi_identifiers.join(", ")
                )));
            }
            if let Some(max) = k.max_suppression {
                let share = gate.share_below();
                if share > max {
                    return Err(Error::privacy(format!(
                        "k-anonymity with k = {} would suppress {} rows, a share of {:.4} of the {} rows that reached the gate, more than `max_suppression: {max}`; nothing was written. Generalize the quasi-identifiers further or lower k",
                        k.k, gate.rows_below, share, gate.rows_at_gate
                    )));
                }
            }
            Some(gate)
        }
        None => None,
    };

    // Tests (debug builds only) change an input here, between the passes, to prove that the
    // second pass notices: the run writes a file at this path and waits until it is removed.
    #[cfg(debug_assertions)]
    if gate.is_some()
        && let Some(flag) = std::env::var_os("MINEX_TEST_PAUSE_BETWEEN_PASSES")
    {
        let flag = PathBuf::from(flag);
        std::fs::write(&flag, b"").map_err(|e| Error::io(&flag, e))?;
        while flag.exists() {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    // Pass 2: write. CSV inputs are digested while they are read; Parquet inputs (read by
    // column chunks, not front to back) on another thread meanwhile.
    let hasher = digest_parquet_inputs(inputs);
    let run_id = new_run_id()?;
    let key_ids = engine.key_ids.clone();
    let metadata = [
        ("minex.version", env!("CARGO_PKG_VERSION").to_string()),
        ("minex.policy_sha256", plan.policy.sha256.clone()),
        ("minex.domain", plan.policy.domain.clone()),
        (
            "minex.key_ids",
            key_ids.values().cloned().collect::<Vec<_>>().join(","),
        ),
        ("minex.run_id", run_id.clone()),
    ];
    // The same key-value pairs go into the file's footer and into the Arrow schema stored in
    // it, where pyarrow, Polars and DuckDB users find them (`schema.metadata`).
    let schema = Arc::new(
        engine.schema.as_ref().clone().with_metadata(
            metadata
                .iter()
                .map(|(k, v)| ((*k).to_string(), v.clone()))
                .collect(),
        ),
    );
    let staged_parquet = Staged::new(&paths.parquet)?;
    let staged_rejects = Staged::new(&paths.rejects)?;
    let mut props = WriterProperties::builder();
    // Tokens and ciphertexts are (nearly) unique: a dictionary would only be built to be
    // thrown away, and their min/max statistics help no reader. They are random text, so
    // they are written DELTA_LENGTH_BYTE_ARRAY: the lengths apart (a few bytes per page),
    // then the bare characters. With PLAIN, a 4-byte length before every value breaks up
    // the text, zstd keeps finding short false matches in it and never reaches its fast
    // path for incompressible data: on the benchmark register the delta layout takes 8% less
    // CPU for the whole run and gives a 6% smaller file. Every current reader (Arrow, DuckDB,
    // Polars, pandas, Spark 3.3+) reads it; `--plain-encoding` writes PLAIN for older ones.
    let token_encoding = if cfg.delta_tokens {
        parquet::basic::Encoding::DELTA_LENGTH_BYTE_ARRAY
    } else {
        parquet::basic::Encoding::PLAIN
    };
    for (o, k) in plan.outputs.iter().zip(&engine.kernels) {
        if matches!(k, Kernel::Tokenize(_) | Kernel::Encrypt(_)) {
            let col = parquet::schema::types::ColumnPath::from(o.name.as_str());
            props = props
                .set_column_dictionary_enabled(col.clone(), false)
                .set_column_encoding(col.clone(), token_encoding)
                .set_column_statistics_enabled(
                    col,
                    parquet::file::properties::EnabledStatistics::None,
                );
        }
    }
    // Chunk-level statistics only: a page index for every page of every row group would be
    // held in memory until the file is closed, so memory would grow with the rows.
    let props = props
        .set_statistics_enabled(parquet::file::properties::EnabledStatistics::Chunk)
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(cfg.zstd_level)
                .map_err(|_| Error::usage("`--zstd-level` must be 1 to 22"))?,
        ))
        .set_max_row_group_row_count(Some(cfg.row_group_size.max(1)))
        .set_write_batch_size(WRITE_BATCH_ROWS)
        .set_created_by(format!("minex {}", env!("CARGO_PKG_VERSION")))
        .set_key_value_metadata(Some(
            metadata
                .iter()
                .map(|(k, v)| KeyValue::new((*k).to_string(), v.clone()))
                .collect(),
        ))
        .build();
    let mut writer = ArrowWriter::try_new(
        HashingWriter::new(staged_parquet.file()?),
        schema.clone(),
        Some(props),
    )
    .map_err(|e| Error::internal(format!("cannot start the Parquet writer: {e}")))?;
    // Early writeback: each time a row group is complete, another thread asks the system to
    // put what was written so far on disk (fdatasync on a second handle), so the final sync
    // before the rename (see `commit`) has little left to wait for. Errors here are left to
    // that final sync, which reports them.
    let (sync_tx, sync_rx) = std::sync::mpsc::channel::<()>();
    let early = staged_parquet.file()?;
    let syncer = std::thread::spawn(move || {
        while sync_rx.recv().is_ok() {
            while sync_rx.try_recv().is_ok() {}
            let _ = early.sync_data();
        }
    });
    let mut row_groups_written = 0;
    let mut rebatch = Rebatch::new(schema.clone(), WRITE_CALL_ROWS);
    let mut rejects = HashingWriter::new(staged_rejects.writer()?);
    let mut stats = Stats::new(plan, cfg.inputs.len());
    let mut rejects_written = 0u64;
    let streamed_digests;
    {
        use std::io::Write;
        rejects
            .write_all(b"input,row,column,reason\n")
            .map_err(|e| Error::io(staged_rejects.tmp_path(), e))?;
        let mut sink = |out: BatchOut| -> Result<()> {
            for (row, col, reason) in &out.rejects {
                let line = format!(
                    "{},{},{},{}\n",
                    csv_safe_field(&cfg.inputs[out.file_index].display().to_string()),
                    row,
                    csv_safe_field(&plan.columns[*col].0.name),
                    reason.code()
                );
                rejects
                    .write_all(line.as_bytes())
                    .map_err(|e| Error::io(staged_rejects.tmp_path(), e))?;
                rejects_written += 1;
            }
            if let Some(batch) = &out.output
                && batch.num_rows() > 0
            {
                let batch = RecordBatch::try_new(schema.clone(), batch.columns().to_vec())
                    .map_err(|e| Error::internal(format!("output batch: {e}")))?;
                rebatch.push(&batch, |b| {
                    writer.write(b).map_err(|e| {
                        Error::io(
                            staged_parquet.tmp_path(),
                            std::io::Error::other(e.to_string()),
                        )
                    })
                })?;
                if writer.flushed_row_groups().len() > row_groups_written {
                    row_groups_written = writer.flushed_row_groups().len();
                    let _ = sync_tx.send(());
                }
            }
            stats.add(&out);
            Ok(())
        };
        streamed_digests = engine.stream(inputs, read, Pass::Write(gate.as_ref()), &mut sink)?;
    }
    let rejects_digest = rejects
        .finish()
        .map_err(|e| Error::io(staged_rejects.tmp_path(), e))?;
    rebatch.finish(|b| {
        writer.write(b).map_err(|e| {
            Error::io(
                staged_parquet.tmp_path(),
                std::io::Error::other(e.to_string()),
            )
        })
    })?;
    // The footer is written by `into_inner`; the digest covers every byte of the file.
    let (pq_sha, pq_bytes) = writer
        .into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))
        .and_then(HashingWriter::finish)
        .map_err(|e| Error::io(staged_parquet.tmp_path(), e))?;
    // The syncer ends with its channel; its last flush overlapped the footer's writing.
    drop(sync_tx);
    let _ = syncer.join();

    // The manifest.
    let mut streamed_digests = streamed_digests;
    merge_digests(&mut streamed_digests, hasher)?;
    if let (Some(first), Some(gate)) = (&first_pass_digests, &gate) {
        same_inputs_in_both_passes(&cfg.inputs, first, &streamed_digests)?;
        // Same bytes, same rules: the second pass must suppress exactly what the gate
        // counted. Anything else means the data the gate decided on is not what was written.
        if stats.rows.suppressed != gate.rows_below
            || stats.rows.out + stats.rows.suppressed != gate.rows_at_gate
        {
            return Err(Error::malformed(
                Location::default(),
                format!(
                    "the second pass of the k-anonymity gate suppressed {} of {} rows where the first pass counted {} of {}: the inputs changed between the passes; nothing was written",
                    stats.rows.suppressed,
                    stats.rows.out + stats.rows.suppressed,
                    gate.rows_below,
                    gate.rows_at_gate
                ),
            ));
        }
    }
    let input_digests: Vec<(String, u64)> = streamed_digests
        .into_iter()
        .map(|h| {
            h.ok_or_else(|| Error::internal("an input was neither read to its end nor digested"))
        })
        .collect::<Result<_>>()?;
    let mut outputs = vec![OutputInfo {
        path: paths.parquet.display().to_string(),
        sha256: pq_sha,
        bytes: pq_bytes,
        rows: stats.rows.out,
        columns: schema.fields().len() as u64,
    }];
    let wrote_rejects = stats.rows.rejected > 0;
    if wrote_rejects {
        let (sha, bytes) = rejects_digest;
        outputs.push(OutputInfo {
            path: paths.rejects.display().to_string(),
            sha256: sha,
            bytes,
            rows: rejects_written,
            columns: 4,
        });
    }
    if !stats.rows.adds_up() {
        return Err(Error::internal(format!(
            "row accounting does not add up: in {} != out {} + filtered {} + rejected {} + suppressed {}",
            stats.rows.input,
            stats.rows.out,
            stats.rows.filtered,
            stats.rows.rejected,
            stats.rows.suppressed
        )));
    }
    let k_info = match (&plan.policy.k_anonymity, &gate) {
        (Some(k), Some(g)) => Some(g.info(k.quasi_identifiers.clone(), stats.rows.out)),
        _ => None,
    };
    let manifest = Manifest {
        tool: Tool {
            name: "minex".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        run_id,
        policy: PolicyInfo {
            name: plan.policy.name.clone(),
            path: plan.policy.path.display().to_string(),
            sha256: plan.policy.sha256.clone(),
        },
        domain: plan.policy.domain.clone(),
        reference_date: plan.policy.reference_date.to_string(),
        key_ids,
        inputs: cfg
            .inputs
            .iter()
            .zip(input_digests)
            .zip(&stats.rows_per_input)
            .map(|((p, (sha256, bytes)), rows)| FileInfo {
                path: p.display().to_string(),
                sha256,
                bytes,
                rows: *rows,
            })
            .collect(),
        outputs,
        rows: stats.rows.clone(),
        columns: column_infos(plan, &stats),
        derived: plan
            .policy
            .derive
            .iter()
            .map(|d| DerivedInfo {
                name: d.name.clone(),
                from: d.from.clone(),
                what: d.what.name(),
            })
            .collect(),
        unknown_columns_dropped: plan.unknown_dropped.clone(),
        k_anonymity: k_info,
        started: crate::report::rfc3339(started_at),
        finished: crate::report::rfc3339(SystemTime::now()),
        seconds: clock.elapsed().as_secs_f64(),
    };
    let staged_manifest = Staged::new(&paths.manifest)?;
    let json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| Error::internal(format!("manifest: {e}")))?;
    crate::io::output::write_all(&staged_manifest, &json)?;
    let mut staged = vec![staged_parquet];
    let mut stale = Vec::new();
    if wrote_rejects {
        staged.push(staged_rejects);
    } else {
        drop(staged_rejects);
        stale.push(paths.rejects.clone());
    }
    staged.push(staged_manifest);
    commit(staged, &stale)?;
    tracing::info!(
        rows_in = manifest.rows.input,
        rows_out = manifest.rows.out,
        filtered = manifest.rows.filtered,
        rejected = manifest.rows.rejected,
        suppressed = manifest.rows.suppressed,
        seconds = manifest.seconds,
        extract = %paths.parquet.display(),
        "run finished; outputs renamed into place"
    );
    Ok(RunSummary {
        manifest,
        paths,
        wrote_rejects,
    })
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
    fn new(schema: arrow::datatypes::SchemaRef, unit: usize) -> Rebatch {
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

/// The progress line: rows, bytes, rows per second and an estimate of the time left, on
/// standard error, redrawn four times a second. Never a value.
struct Progress {
    bytes: Arc<std::sync::atomic::AtomicU64>,
    rows: Arc<std::sync::atomic::AtomicU64>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl Progress {
    fn start(inputs: &[Input], two_passes: bool) -> Progress {
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

    fn stop(self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = self.thread.join();
    }
}

fn new_run_id() -> Result<String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| Error::internal(format!("OS random generator: {e}")))?;
    Ok(hex::encode(b))
}

fn column_infos(plan: &Plan, stats: &Stats) -> Vec<ColumnInfo> {
    let out_types: HashMap<&str, String> = plan
        .outputs
        .iter()
        .map(|o| (o.name.as_str(), o.data_type.to_string()))
        .collect();
    plan.policy
        .columns
        .iter()
        .map(|c| {
            let action = match &c.action {
                Action::Tokenize { space } => format!("tokenize:{space}"),
                Action::Encrypt { space } => format!("encrypt:{space}"),
                Action::Generalize(g) => format!("generalize:{}", g.name()),
                Action::Truncate { keep } => format!("truncate:{keep}"),
                Action::Replace { .. } => "replace".into(),
                a => a.name().into(),
            };
            let written = c.action != Action::Drop;
            ColumnInfo {
                name: c.name.clone(),
                value_type: c.value_type.name().into(),
                action,
                output: written.then(|| c.name.clone()),
                output_type: written
                    .then(|| out_types.get(c.name.as_str()).cloned())
                    .flatten(),
                invalid_nulled: stats.nulled.get(&c.name).copied().unwrap_or(0),
            }
        })
        .collect()
}

/// Which pass a stream is.
#[derive(Clone, Copy)]
enum Pass<'a> {
    /// Compute the quasi-identifiers only and return their class keys.
    Count,
    /// Compute everything; suppress by the gate.
    Write(Option<&'a Gate>),
}

/// One output column's kernel, keyed once.
enum Kernel {
    Keep(ValueType),
    Tokenize(Tokenizer),
    Encrypt(Box<Encryptor>),
    Generalize(ValueType, Generalization),
    Truncate(usize),
    Replace(String),
    Null(arrow::datatypes::DataType),
    Derive(crate::policy::Derivation),
}

impl Kernel {
    /// Whether [`Engine::apply`] reads the canonical text of the source column (a date,
    /// integer or boolean that is kept or generalized needs only its typed value).
    fn reads_text(&self) -> bool {
        match self {
            Kernel::Keep(t) => {
                !matches!(t, ValueType::Date | ValueType::Integer | ValueType::Boolean)
            }
            Kernel::Generalize(t, _) => *t == ValueType::Personnummer,
            Kernel::Null(_) => false,
            Kernel::Tokenize(_)
            | Kernel::Encrypt(_)
            | Kernel::Truncate(_)
            | Kernel::Replace(_)
            | Kernel::Derive(_) => true,
        }
    }
}

struct Engine<'p> {
    plan: &'p Plan,
    /// The extract's schema, built once.
    schema: arrow::datatypes::SchemaRef,
    kernels: Vec<Kernel>,
    /// Per `plan.columns`: whether any kernel reads the canonical text (a date that is only
    /// generalized or kept needs its typed value alone).
    text_needed: Vec<bool>,
    /// Index into `plan.outputs` of each quasi-identifier.
    qi: Vec<usize>,
    qi_fields: Vec<SortField>,
    key_ids: BTreeMap<String, String>,
}

/// What the transform of one batch produced.
struct BatchOut {
    file_index: usize,
    rows_in: u64,
    filtered_by_rule: Vec<u64>,
    /// (1-based row in file, column index in plan.columns, reason), sorted by row.
    rejects: Vec<(u64, usize, InvalidReason)>,
    rejected_by_reason: BTreeMap<&'static str, u64>,
    rejected_rows: u64,
    nulled: Vec<(usize, u64)>,
    suppressed: u64,
    output: Option<RecordBatch>,
    class_keys: Vec<Box<[u8]>>,
}

impl<'p> Engine<'p> {
    fn new(plan: &'p Plan, ring: Option<&KeyRing>) -> Result<Engine<'p>> {
        let mut kernels = Vec::with_capacity(plan.outputs.len());
        let mut key_ids = BTreeMap::new();
        let need_ring =
            || ring.ok_or_else(|| Error::internal("a key is needed but none was loaded"));
        for o in &plan.outputs {
            let k = match &o.source {
                OutputSource::Derive(i) => Kernel::Derive(plan.policy.derive[*i].what),
                OutputSource::Column(i) => {
                    let c = &plan.columns[*i].0;
                    match &c.action {
                        Action::Keep => Kernel::Keep(c.value_type),
                        Action::Tokenize { space } => {
                            let r = need_ring()?;
                            r.record_key_ids(&mut key_ids, space, false);
                            Kernel::Tokenize(r.tokenizer(space))
                        }
                        Action::Encrypt { space } => {
                            let r = need_ring()?;
                            r.record_key_ids(&mut key_ids, space, true);
                            Kernel::Encrypt(Box::new(r.encryptor(space)))
                        }
                        Action::Generalize(g) => Kernel::Generalize(c.value_type, *g),
                        Action::Truncate { keep } => Kernel::Truncate(*keep),
                        Action::Replace { with } => Kernel::Replace(with.clone()),
                        Action::Null => Kernel::Null(o.data_type.clone()),
                        Action::Drop => {
                            return Err(Error::internal("a dropped column has an output"));
                        }
                    }
                }
            };
            kernels.push(k);
        }
        let (qi, qi_fields) = match &plan.policy.k_anonymity {
            Some(k) => {
                let mut idx = Vec::new();
                let mut fields = Vec::new();
                for q in &k.quasi_identifiers {
                    let i = plan
                        .outputs
                        .iter()
                        .position(|o| &o.name == q)
                        .ok_or_else(|| {
                            Error::internal(format!("quasi-identifier `{q}` has no output"))
                        })?;
                    idx.push(i);
                    fields.push(SortField::new(plan.outputs[i].data_type.clone()));
                }
                (idx, fields)
            }
            None => (Vec::new(), Vec::new()),
        };
        let mut text_needed = vec![false; plan.columns.len()];
        for (oi, k) in kernels.iter().enumerate() {
            text_needed[plan.source_column(oi)] |= k.reads_text();
        }
        for ci in plan.rule_columns.iter().flatten() {
            text_needed[*ci] = true;
        }
        Ok(Engine {
            plan,
            schema: plan.output_schema(),
            kernels,
            text_needed,
            qi,
            qi_fields,
            key_ids,
        })
    }

    /// Pass 1: rows per class.
    fn count_classes(&self, inputs: &[Input], read: &ReadOptions) -> Result<ClassCounts> {
        let mut counts = ClassCounts::default();
        let mut sink = |out: BatchOut| -> Result<()> {
            counts.rows_at_gate += out.class_keys.len() as u64;
            for k in out.class_keys {
                *counts.classes.entry(k).or_insert(0) += 1;
            }
            Ok(())
        };
        // The digests of this pass are compared with the second's: the class counts hold
        // only if both passes read the same bytes.
        counts.digests = self.stream(inputs, read, Pass::Count, &mut sink)?;
        Ok(counts)
    }

    /// Reads every input, transforms its batches in parallel, and hands the results to `sink`
    /// in input order.
    ///
    /// Four kinds of thread overlap: one reader cuts the input into batches (and digests it),
    /// `threads` workers each take the next batch, decode and transform it, and the calling
    /// thread puts the results back in input order and runs `sink` (the Parquet encoder) on
    /// them. No worker waits for another: there is no barrier between groups of batches.
    ///
    /// Memory is bounded by tickets: the reader takes a ticket before it hands out a batch,
    /// and a ticket comes back only when `sink` is done with that batch, so at most
    /// `2 × threads + 2` batches exist at any time, whatever the input size. Every channel
    /// holds at least as many items as there are tickets, so only ticket-taking and receiving
    /// ever block; when any stage stops (an error, or the end), the others see their channel
    /// close and stop too.
    fn stream(
        &self,
        inputs: &[Input],
        read: &ReadOptions,
        pass: Pass<'_>,
        sink: &mut (dyn FnMut(BatchOut) -> Result<()> + Send),
    ) -> Result<Vec<Option<(String, u64)>>> {
        use std::sync::mpsc::{Receiver, sync_channel};
        use std::sync::{Mutex, PoisonError};
        type Work = (u64, Result<(usize, u64, RawBatch)>);
        let workers = rayon::current_num_threads().max(1);
        let tickets = 2 * workers + 2;
        std::thread::scope(|scope| -> Result<Vec<Option<(String, u64)>>> {
            let (batch_tx, batch_rx) = sync_channel::<Work>(tickets);
            let (out_tx, out_rx) = sync_channel::<(u64, Result<BatchOut>)>(tickets);
            let (ticket_tx, ticket_rx) = sync_channel::<()>(tickets);
            for _ in 0..tickets {
                // Cannot fail: the channel holds exactly `tickets` and its receiver is alive.
                let _ = ticket_tx.send(());
            }
            let columns = &self.plan.read;
            let reader = scope.spawn(move || {
                let mut digests = Vec::with_capacity(inputs.len());
                let mut seq = 0u64;
                // Hands one item out under a ticket; false when the run is stopping.
                let mut hand_out = |item: Result<(usize, u64, RawBatch)>| -> bool {
                    let ok = ticket_rx.recv().is_ok() && batch_tx.send((seq, item)).is_ok();
                    seq += 1;
                    ok
                };
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
                            // A panic becomes an error in its place, so the writer never
                            // waits for a batch that will not come.
                            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                let path = &inputs[file_index].path;
                                let batch = raw.decode(path, first_row)?;
                                self.process(file_index, path, first_row, &batch, pass)
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
                let mut pending: BTreeMap<u64, Result<BatchOut>> = BTreeMap::new();
                let mut next = 0u64;
                for (seq, out) in &out_rx {
                    pending.insert(seq, out);
                    while let Some(out) = pending.remove(&next) {
                        let out = out?;
                        let n = out.rows_in;
                        tracing::trace!(
                            file = out.file_index,
                            rows = n,
                            rejected = out.rejected_rows,
                            suppressed = out.suppressed,
                            "batch done"
                        );
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
            // Closing these stops the reader (no more tickets) and the workers (nowhere to
            // send) if the writer stopped early.
            drop(out_rx);
            drop(ticket_tx);
            let digests = reader
                .join()
                .map_err(|_| Error::internal("the reader thread panicked"))?;
            written?;
            Ok(digests)
        })
    }

    /// Transforms one batch.
    fn process(
        &self,
        file_index: usize,
        path: &Path,
        first_row: u64,
        batch: &RecordBatch,
        pass: Pass<'_>,
    ) -> Result<BatchOut> {
        let plan = self.plan;
        let n = batch.num_rows();
        let reference = plan.policy.reference_date;

        // 1. Canonical values. Every column is validated in both passes, so both passes
        // reject the same rows.
        let mut canon: Vec<Canonical> = Vec::with_capacity(plan.columns.len());
        let mut invalid_by_column = Vec::with_capacity(plan.columns.len());
        for (ci, (spec, read_idx)) in plan.columns.iter().enumerate() {
            let (c, invalid) = canonicalize_with(
                spec,
                batch.column(*read_idx),
                reference,
                self.text_needed[ci],
            )?;
            canon.push(c);
            invalid_by_column.push(invalid);
        }

        // 2. Row rules: on a typed column, on its canonical values (so `TRUE`, `1` and `ja`
        // are all true); on a `string` column, on the value as read, trimmed. A row counts for
        // the first rule that matches.
        let mut alive = vec![true; n];
        let mut filtered_by_rule = vec![0u64; plan.rules.len()];
        for (r, col) in plan.rules.iter().enumerate() {
            let cond = &plan.policy.rules[r].condition;
            let raw = crate::transform::canonical::as_utf8(batch.column(*col), &plan.read[*col])?;
            let typed = match plan.rule_columns[r] {
                Some(ci) => Some(canon[ci].text.as_ref().ok_or_else(|| {
                    Error::internal("a row rule needs canonical text that was not made")
                })?),
                None => None,
            };
            for (i, a) in alive.iter_mut().enumerate() {
                if *a && rule_matches(&raw, typed, i, cond) {
                    *a = false;
                    filtered_by_rule[r] += 1;
                }
            }
        }

        // 3. Invalid values of the rows the rules kept follow `on_invalid`.
        let mut rejected: Vec<Option<InvalidReason>> = vec![None; n];
        let mut rejects = Vec::new();
        let mut nulled = Vec::new();
        for (ci, invalid) in invalid_by_column.into_iter().enumerate() {
            let spec = &plan.columns[ci].0;
            let mut nulled_here = 0;
            for (i, reason) in invalid {
                if !alive[i] {
                    continue;
                }
                match spec.on_invalid {
                    OnInvalid::Fail => {
                        return Err(ErrorKind::InvalidValue {
                            location: Location::file(path)
                                .with_row(first_row + i as u64)
                                .with_column(spec.name.clone()),
                            reason: reason.code(),
                        }
                        .into());
                    }
                    OnInvalid::Null => nulled_here += 1,
                    OnInvalid::Reject => {
                        if rejected[i].is_none() {
                            rejected[i] = Some(reason);
                        }
                        rejects.push((first_row + i as u64, ci, reason));
                    }
                }
            }
            if nulled_here > 0 {
                nulled.push((ci, nulled_here));
            }
        }
        rejects.sort_by_key(|(row, col, _)| (*row, *col));
        let mut rejected_by_reason = BTreeMap::new();
        let mut rejected_rows = 0;
        for (i, r) in rejected.iter().enumerate() {
            if let Some(r) = r
                && alive[i]
            {
                *rejected_by_reason.entry(r.code()).or_insert(0) += 1;
                rejected_rows += 1;
            }
        }

        // 3. Keep the rows that survive.
        let keep: Vec<bool> = alive
            .iter()
            .zip(&rejected)
            .map(|(a, r)| *a && r.is_none())
            .collect();
        let kept = keep.iter().filter(|k| **k).count();
        let canon = if kept < n {
            let mask = BooleanArray::from(keep);
            canon
                .into_iter()
                .map(|c| filter_canonical(&c, &mask))
                .collect::<Result<Vec<_>>>()?
        } else {
            canon
        };

        // 4. Kernels (only the quasi-identifiers on the counting pass).
        let wanted: Vec<usize> = match pass {
            Pass::Count => self.qi.clone(),
            Pass::Write(_) => (0..plan.outputs.len()).collect(),
        };
        let mut columns: Vec<Option<ArrayRef>> = vec![None; plan.outputs.len()];
        for oi in &wanted {
            columns[*oi] = Some(self.apply(*oi, &canon, kept, reference)?);
        }

        // 5. The k-anonymity gate.
        let mut class_keys = Vec::new();
        let mut suppressed = 0u64;
        let mut output = None;
        match pass {
            Pass::Count => {
                class_keys = self.class_keys(&columns)?;
            }
            Pass::Write(gate) => {
                let mut arrays: Vec<ArrayRef> = columns.into_iter().flatten().collect();
                if let Some(gate) = gate {
                    let keys =
                        self.class_keys(&arrays.iter().cloned().map(Some).collect::<Vec<_>>())?;
                    let mask: Vec<bool> = keys.iter().map(|k| !gate.suppress(k)).collect();
                    suppressed = mask.iter().filter(|m| !**m).count() as u64;
                    if suppressed > 0 {
                        let mask = BooleanArray::from(mask);
                        arrays = arrays
                            .iter()
                            .map(|a| filter(a, &mask))
                            .collect::<std::result::Result<_, _>>()
                            .map_err(|e| Error::internal(format!("suppression filter: {e}")))?;
                    }
                }
                let batch = RecordBatch::try_new(self.schema.clone(), arrays)
                    .map_err(|e| Error::internal(format!("output batch: {e}")))?;
                output = Some(batch);
            }
        }
        Ok(BatchOut {
            file_index,
            rows_in: n as u64,
            filtered_by_rule,
            rejects,
            rejected_by_reason,
            rejected_rows,
            nulled,
            suppressed,
            output,
            class_keys,
        })
    }

    fn apply(
        &self,
        oi: usize,
        canon: &[Canonical],
        len: usize,
        reference: crate::ident::date::Date,
    ) -> Result<ArrayRef> {
        let c = &canon[self.plan.source_column(oi)];
        let text = || {
            c.text
                .as_ref()
                .ok_or_else(|| Error::internal("a kernel needs canonical text that was not made"))
        };
        Ok(match &self.kernels[oi] {
            Kernel::Keep(t) => match (t, &c.typed) {
                (ValueType::Date | ValueType::Integer | ValueType::Boolean, Some(typed)) => {
                    typed.clone()
                }
                _ => Arc::new(text()?.clone()),
            },
            Kernel::Tokenize(t) => kernels::tokenize(text()?, t),
            Kernel::Encrypt(e) => kernels::encrypt(text()?, e),
            Kernel::Generalize(ValueType::Personnummer, g) => {
                kernels::generalize_pnr(text()?, *g, reference)
            }
            Kernel::Generalize(_, g) => {
                let dates = c
                    .typed
                    .as_ref()
                    .and_then(kernels::as_dates)
                    .ok_or_else(|| Error::internal("generalize without dates"))?;
                kernels::generalize_dates(dates, *g, reference)
            }
            Kernel::Truncate(k) => kernels::truncate(text()?, *k),
            Kernel::Replace(w) => kernels::replace(text()?, w),
            Kernel::Null(t) => kernels::null(t, len),
            Kernel::Derive(d) => kernels::derive(text()?, *d, reference),
        })
    }

    fn class_keys(&self, columns: &[Option<ArrayRef>]) -> Result<Vec<Box<[u8]>>> {
        if self.qi.is_empty() {
            return Ok(Vec::new());
        }
        let arrays: Vec<ArrayRef> = self
            .qi
            .iter()
            .map(|i| {
                columns[*i]
                    .clone()
                    .ok_or_else(|| Error::internal("a quasi-identifier was not computed"))
            })
            .collect::<Result<_>>()?;
        let conv = RowConverter::new(self.qi_fields.clone())
            .map_err(|e| Error::internal(format!("row converter: {e}")))?;
        let rows = conv
            .convert_columns(&arrays)
            .map_err(|e| Error::internal(format!("row converter: {e}")))?;
        Ok(rows.iter().map(|r| Box::from(r.as_ref())).collect())
    }
}

fn filter_canonical(c: &Canonical, mask: &BooleanArray) -> Result<Canonical> {
    let text = c
        .text
        .as_ref()
        .map(|t| filter(t, mask).map(|t| t.as_string::<i32>().clone()))
        .transpose()
        .map_err(|e| Error::internal(format!("filter: {e}")))?;
    let typed = c
        .typed
        .as_ref()
        .map(|t| filter(t, mask))
        .transpose()
        .map_err(|e| Error::internal(format!("filter: {e}")))?;
    Ok(Canonical { text, typed })
}

/// Whether row `i` matches a rule (also `minex affected`'s test of protected identity). `raw` is the column as read; `typed`, for a rule over a
/// typed column, its canonical text (null where the value is null or invalid: an invalid
/// value matches no `equals`/`in`, and is rejected by its column's `on_invalid`). Nullness is
/// always that of the value as read.
pub(crate) fn rule_matches(
    raw: &StringArray,
    typed: Option<&StringArray>,
    i: usize,
    cond: &Condition,
) -> bool {
    let is_null = raw.is_null(i) || raw.value(i).trim().is_empty();
    if let Condition::IsNull(want) = cond {
        return *want == is_null;
    }
    let v = match typed {
        Some(t) if t.is_null(i) => return false,
        Some(t) => t.value(i),
        None if raw.is_null(i) => return false,
        None => raw.value(i).trim(),
    };
    match cond {
        Condition::Equals(e) => v == e,
        Condition::In(list) => list.iter().any(|e| e == v),
        Condition::IsNull(_) => false,
    }
}

#[derive(Default)]
struct ClassCounts {
    classes: HashMap<Box<[u8]>, u64>,
    rows_at_gate: u64,
    /// The digests of the CSV inputs as this pass read them.
    digests: Vec<Option<(String, u64)>>,
}

/// Per input, its SHA-256 (hex) and size, where known.
type Digests = Vec<Option<(String, u64)>>;
/// A thread digesting inputs.
type DigestThread = std::thread::JoinHandle<Result<Digests>>;

/// Digests the Parquet inputs on another thread (CSV inputs are digested as they are read).
fn digest_parquet_inputs(inputs: &[Input]) -> DigestThread {
    let to_hash: Vec<Option<PathBuf>> = inputs
        .iter()
        .map(|i| (i.format == crate::io::InputFormat::Parquet).then(|| i.path.clone()))
        .collect();
    std::thread::spawn(move || {
        to_hash
            .iter()
            .map(|p| p.as_ref().map(|p| sha256_file(p)).transpose())
            .collect()
    })
}

/// Fills the digests a pass streamed (CSV) with the ones `hasher` made (Parquet).
fn merge_digests(streamed: &mut Vec<Option<(String, u64)>>, hasher: DigestThread) -> Result<()> {
    let hashed = hasher
        .join()
        .map_err(|_| Error::internal("the input digest thread panicked"))??;
    if streamed.len() < hashed.len() {
        streamed.resize(hashed.len(), None);
    }
    for (s, h) in streamed.iter_mut().zip(hashed) {
        if h.is_some() {
            *s = h;
        }
    }
    Ok(())
}

/// The two passes of the k-anonymity gate must have read the same bytes: a file that changed
/// in between (an export still being written, say) would be gated on counts of other data.
/// Compares the digests of both passes (CSV inputs digested as read, Parquet inputs apart).
///
/// # Errors
/// `Malformed` (input data) naming the first file that changed.
fn same_inputs_in_both_passes(
    paths: &[PathBuf],
    first: &[Option<(String, u64)>],
    second: &[Option<(String, u64)>],
) -> Result<()> {
    for ((path, a), b) in paths.iter().zip(first).zip(second) {
        if let (Some(a), Some(b)) = (a, b)
            && a != b
        {
            return Err(Error::malformed(
                Location::file(path),
                "the file changed between the two passes of the k-anonymity gate (its SHA-256 \
                 differs), so the class sizes no longer describe it; nothing was written. Run \
                 again when nothing is writing to it",
            ));
        }
    }
    Ok(())
}

/// The decision of the first pass: which classes are too small.
struct Gate {
    k: u64,
    classes: HashMap<Box<[u8]>, u64>,
    rows_at_gate: u64,
    rows_below: u64,
    classes_below: u64,
}

impl Gate {
    fn new(k: u64, classes: HashMap<Box<[u8]>, u64>, rows_at_gate: u64) -> Gate {
        let (mut rows_below, mut classes_below) = (0, 0);
        for c in classes.values() {
            if *c < k {
                rows_below += c;
                classes_below += 1;
            }
        }
        Gate {
            k,
            classes,
            rows_at_gate,
            rows_below,
            classes_below,
        }
    }

    fn suppress(&self, key: &[u8]) -> bool {
        self.classes.get(key).is_none_or(|c| *c < self.k)
    }

    fn share_below(&self) -> f64 {
        if self.rows_at_gate == 0 {
            0.0
        } else {
            self.rows_below as f64 / self.rows_at_gate as f64
        }
    }

    fn info(&self, quasi_identifiers: Vec<String>, rows_out: u64) -> KAnonymityInfo {
        let kept: Vec<u64> = self
            .classes
            .values()
            .copied()
            .filter(|c| *c >= self.k)
            .collect();
        let smallest = kept.iter().copied().min().unwrap_or(0);
        let mut histogram = BTreeMap::new();
        for c in &kept {
            *histogram.entry(size_bucket(*c, self.k)).or_insert(0) += 1;
        }
        KAnonymityInfo {
            quasi_identifiers,
            k: self.k,
            smallest_class: smallest,
            classes: kept.len() as u64,
            suppressed: self.rows_below,
            max_prosecutor_risk: (smallest > 0).then(|| 1.0 / smallest as f64),
            avg_prosecutor_risk: (rows_out > 0).then(|| kept.len() as f64 / rows_out as f64),
            share_below_k_before: self.share_below(),
            classes_before: self.classes.len() as u64,
            class_size_histogram: histogram,
        }
    }
}

/// Buckets of class sizes in multiples of k: `k-2k-1`, `2k-3k-1`, ..., `10k+`.
fn size_bucket(size: u64, k: u64) -> String {
    let k = k.max(1);
    let m = size / k;
    if m >= 10 {
        format!("{:>6}+", 10 * k)
    } else {
        format!("{:>6}-{}", m * k, (m + 1) * k - 1)
    }
}

/// Sums over batches.
struct Stats {
    rows: Rows,
    rows_per_input: Vec<u64>,
    rule_labels: Vec<String>,
    column_names: Vec<String>,
    nulled: BTreeMap<String, u64>,
}

impl Stats {
    fn new(plan: &Plan, inputs: usize) -> Stats {
        let mut rows = Rows::default();
        for r in &plan.policy.rules {
            rows.filtered_by_rule.insert(r.label.clone(), 0);
        }
        Stats {
            rows,
            // Every input is listed, also one with a header and no rows.
            rows_per_input: vec![0; inputs],
            rule_labels: plan.policy.rules.iter().map(|r| r.label.clone()).collect(),
            column_names: plan.columns.iter().map(|(c, _)| c.name.clone()).collect(),
            nulled: BTreeMap::new(),
        }
    }

    fn add(&mut self, out: &BatchOut) {
        if self.rows_per_input.len() <= out.file_index {
            self.rows_per_input.resize(out.file_index + 1, 0);
        }
        self.rows_per_input[out.file_index] += out.rows_in;
        self.rows.input += out.rows_in;
        let filtered: u64 = out.filtered_by_rule.iter().sum();
        self.rows.filtered += filtered;
        for (i, c) in out.filtered_by_rule.iter().enumerate() {
            *self
                .rows
                .filtered_by_rule
                .entry(self.rule_labels[i].clone())
                .or_insert(0) += c;
        }
        self.rows.rejected += out.rejected_rows;
        for (r, c) in &out.rejected_by_reason {
            *self
                .rows
                .rejected_by_reason
                .entry((*r).to_string())
                .or_insert(0) += c;
        }
        self.rows.suppressed += out.suppressed;
        self.rows.out += out.output.as_ref().map_or(0, |b| b.num_rows() as u64);
        for (ci, c) in &out.nulled {
            *self
                .nulled
                .entry(self.column_names[*ci].clone())
                .or_insert(0) += c;
        }
    }
}

/// Convenience for the library API and tests: load the policy and run with defaults.
///
/// # Errors
/// See [`run`].
pub fn run_policy(
    policy: &Policy,
    inputs: Vec<PathBuf>,
    out: &Path,
    key: MasterKey,
) -> Result<RunSummary> {
    run(&RunConfig::new(
        policy.path.clone(),
        inputs,
        out,
        KeySource::Given(key),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn a_file_changed_between_the_passes_stops_the_run_by_name() {
        let paths = vec![PathBuf::from("a.csv"), PathBuf::from("b.csv")];
        let d = |h: &str, n: u64| Some((h.to_string(), n));
        let first = vec![d("aa", 10), d("bb", 20)];
        assert!(same_inputs_in_both_passes(&paths, &first, &first.clone()).is_ok());
        // Parquet inputs (no streamed digest) are not compared here.
        assert!(
            same_inputs_in_both_passes(&paths, &[None, d("bb", 20)], &[None, d("bb", 20)]).is_ok()
        );
        let changed = vec![d("aa", 10), d("cc", 20)];
        let e = same_inputs_in_both_passes(&paths, &first, &changed).unwrap_err();
        assert_eq!(e.category().exit_code(), 4);
        let text = e.to_string();
        assert!(text.contains("b.csv"), "{text}");
        assert!(!text.contains("a.csv"), "{text}");
        // A file that grew is a change too.
        let grew = vec![d("aa", 11), d("bb", 20)];
        assert!(same_inputs_in_both_passes(&paths, &first, &grew).is_err());
    }
}
