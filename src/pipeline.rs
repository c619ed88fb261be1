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
use std::time::{Instant, SystemTime};

use arrow::array::RecordBatch;
use minex_core::{BatchOutput, ClassCounts, Gate, Transformer};

use crate::error::{Error, ErrorKind, Location, Result};
use crate::io::output::{HashingWriter, OutputPaths, Staged, commit, sha256_file};
use crate::io::{Input, ReadOptions};
use crate::keys::{KeyRing, MasterKey};
use crate::plan::Plan;
use crate::policy::{Action, Policy};
use crate::progress::Progress;
use crate::report::csv_safe_field;
use crate::report::manifest::*;
use crate::stream::{Digests, Done, stream};
use crate::writer::{ExtractWriter, WriterOptions};

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
    let labels: Vec<String> = opened
        .iter()
        .map(|i| i.path.display().to_string())
        .collect();
    let schemas: Vec<arrow::datatypes::Schema> = opened.iter().map(Input::schema).collect();
    let named: Vec<(&str, &arrow::datatypes::Schema)> =
        labels.iter().map(String::as_str).zip(&schemas).collect();
    let plan = Plan::for_inputs(policy, &named);
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
        KeySource::Load(path) => crate::keyfile::load(path.as_deref()),
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
    let tx = Transformer::with_ring(&plan, ring.as_ref())?;
    for (use_, id) in tx.key_ids() {
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
    let result = write_run(cfg, &plan, &inputs, &tx, &read, (started_at, clock), paths);
    if let Some(p) = progress {
        p.stop();
    }
    result
}

/// Passes 1 (with k-anonymity) and 2, the manifest and the commit.
fn write_run(
    cfg: &RunConfig,
    plan: &Plan,
    inputs: &[Input],
    tx: &Transformer,
    read: &ReadOptions,
    started: (SystemTime, Instant),
    paths: OutputPaths,
) -> Result<RunSummary> {
    // Pass 1 (only with k-anonymity): class sizes.
    let first_pass = match &plan.policy.k_anonymity {
        Some(_) => Some(count_pass(plan, tx, inputs, read)?),
        None => None,
    };
    let gate = first_pass.as_ref().map(|(g, _)| g);
    // The quasi-identifiers are written at the levels the gate chose (the search's node when
    // the policy gives ladders): the plan and transformer of pass 2 are those levels'.
    let at_levels = gate.map(|g| tx.for_gate(g)).transpose()?;
    let (plan, tx) = match &at_levels {
        Some(t) => (t.plan(), t),
        None => (plan, tx),
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

    // Pass 2: write.
    let run_id = new_run_id()?;
    let written = write_pass(cfg, plan, inputs, tx, read, gate, &paths, &run_id)?;
    if let Some((gate, first_digests)) = &first_pass {
        same_inputs_in_both_passes(&cfg.inputs, first_digests, &written.digests)?;
        // Same bytes, same rules: the second pass must suppress exactly what the gate
        // counted. Anything else means the data the gate decided on is not what was written.
        let rows = &written.stats.rows;
        if rows.suppressed != gate.rows_below() || rows.out + rows.suppressed != gate.rows_at_gate()
        {
            return Err(Error::malformed(
                Location::default(),
                format!(
                    "the second pass of the k-anonymity gate suppressed {} of {} rows where the first pass counted {} of {}: the inputs changed between the passes; nothing was written",
                    rows.suppressed,
                    rows.out + rows.suppressed,
                    gate.rows_below(),
                    gate.rows_at_gate()
                ),
            ));
        }
    }
    if !written.stats.rows.adds_up() {
        let r = &written.stats.rows;
        return Err(Error::internal(format!(
            "row accounting does not add up: in {} != out {} + filtered {} + rejected {} + suppressed {}",
            r.input, r.out, r.filtered, r.rejected, r.suppressed
        )));
    }
    let manifest = make_manifest(cfg, plan, tx, gate, &written, &paths, run_id, started)?;
    let staged_manifest = Staged::new(&paths.manifest)?;
    let json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| Error::internal(format!("manifest: {e}")))?;
    crate::io::output::write_all(&staged_manifest, &json)?;
    let wrote_rejects = written.stats.rows.rejected > 0;
    let Written {
        extract, rejects, ..
    } = written;
    let mut staged = vec![extract.0];
    let mut stale = Vec::new();
    if wrote_rejects {
        staged.push(rejects.0);
    } else {
        drop(rejects);
        stale.push(paths.rejects.clone());
    }
    // The manifest is the seal: renamed last.
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

/// Pass 1: the rows per class over every input, the gate's decision (stopping the run when
/// the policy does not allow it), and the digests of the inputs as this pass read them.
fn count_pass(
    plan: &Plan,
    tx: &Transformer,
    inputs: &[Input],
    read: &ReadOptions,
) -> Result<(Gate, Digests)> {
    let hasher = digest_parquet_inputs(inputs);
    // Each worker counts its batch (the quasi-identifiers computed, each value looked up,
    // each row's class counted: the costly part, in parallel); the sink merges the batch's
    // counts, which costs one remap per distinct value and one update per distinct class.
    let mut counts = ClassCounts::default();
    let work = |batch: &RecordBatch| -> Result<ClassCounts> {
        let mut c = ClassCounts::default();
        tx.count_classes(batch, &mut c)?;
        Ok(c)
    };
    let mut merging = std::time::Duration::ZERO;
    let mut sink = |done: Done<ClassCounts>| -> Result<()> {
        let t = Instant::now();
        counts.merge(done.value);
        merging += t.elapsed();
        Ok(())
    };
    // The digests of this pass are compared with the second's: the class counts hold only
    // if both passes read the same bytes.
    let mut digests = stream(inputs, &plan.read, read, &work, &mut sink)?;
    merge_digests(&mut digests, hasher)?;
    tracing::debug!(
        seconds = merging.as_secs_f64(),
        "k-anonymity pass 1: time spent merging the batches' counts"
    );
    let counted = Instant::now();
    let gate = Gate::new(plan, counts)?;
    tracing::info!(
        gate_seconds = counted.elapsed().as_secs_f64(),
        classes = gate.classes(),
        rows_at_gate = gate.rows_at_gate(),
        rows_suppressed = gate.rows_below(),
        classes_below_k = gate.classes_below(),
        "k-anonymity pass 1: classes counted"
    );
    if let Some(s) = gate.search() {
        tracing::info!(
            levels = ?s.chosen,
            height = s.height,
            nodes = s.nodes,
            nodes_passing = s.nodes_passing,
            nodes_evaluated = s.nodes_evaluated,
            "k-anonymity: the search over the ladders chose its levels"
        );
    }
    gate.check()?;
    Ok((gate, digests))
}

/// What pass 2 wrote (staged, not yet in place).
struct Written {
    /// The extract, its SHA-256 and size.
    extract: (Staged, String, u64),
    /// The rejects report, its SHA-256, size and lines.
    rejects: (Staged, String, u64, u64),
    stats: Stats,
    /// Per input, its SHA-256 and size.
    digests: Digests,
}

/// Pass 2: every column, through the gate; the extract and the rejects report are written
/// to staged files. CSV inputs are digested while they are read; Parquet inputs (read by
/// column chunks, not front to back) on another thread meanwhile.
#[allow(clippy::too_many_arguments)]
fn write_pass(
    cfg: &RunConfig,
    plan: &Plan,
    inputs: &[Input],
    tx: &Transformer,
    read: &ReadOptions,
    gate: Option<&Gate>,
    paths: &OutputPaths,
    run_id: &str,
) -> Result<Written> {
    use std::io::Write;
    let hasher = digest_parquet_inputs(inputs);
    let key_ids = tx.key_ids();
    let metadata = [
        ("minex.version", env!("CARGO_PKG_VERSION").to_string()),
        ("minex.policy_sha256", plan.policy.sha256.clone()),
        ("minex.domain", plan.policy.domain.clone()),
        (
            "minex.key_ids",
            key_ids.values().cloned().collect::<Vec<_>>().join(","),
        ),
        ("minex.run_id", run_id.to_string()),
    ];
    // The same key-value pairs go into the file's footer and into the Arrow schema stored in
    // it, where pyarrow, Polars and DuckDB users find them (`schema.metadata`).
    let schema = crate::writer::stamped(&tx.schema(), &metadata);
    let pseudonyms: Vec<&str> = plan
        .outputs
        .iter()
        .enumerate()
        .filter(|(i, _)| tx.is_pseudonym_output(*i))
        .map(|(_, o)| o.name.as_str())
        .collect();
    let mut extract = ExtractWriter::start(
        &paths.parquet,
        &schema,
        &metadata,
        &pseudonyms,
        &WriterOptions {
            zstd_level: cfg.zstd_level,
            row_group_size: cfg.row_group_size,
            delta_tokens: cfg.delta_tokens,
        },
    )?;
    let staged_rejects = Staged::new(&paths.rejects)?;
    let mut rejects = HashingWriter::new(staged_rejects.writer()?);
    let rejects_error = |e| Error::io(staged_rejects.tmp_path(), e);
    rejects
        .write_all(b"input,row,column,reason\n")
        .map_err(rejects_error)?;
    let mut stats = Stats::new(plan, cfg.inputs.len());
    let mut rejects_written = 0u64;
    let work = |batch: &RecordBatch| match gate {
        Some(g) => tx.transform_gated(batch, g),
        None => tx.transform(batch),
    };
    let mut sink = |done: Done<BatchOutput>| -> Result<()> {
        let input = cfg.inputs[done.file_index].display().to_string();
        let input = csv_safe_field(&input);
        for r in &done.value.rejects {
            let line = format!(
                "{input},{},{},{}\n",
                done.first_row + r.row as u64,
                csv_safe_field(&r.column),
                r.reason
            );
            rejects.write_all(line.as_bytes()).map_err(rejects_error)?;
            rejects_written += 1;
        }
        extract.write(&done.value.batch)?;
        stats.add(done.file_index, &done.value);
        Ok(())
    };
    let mut digests = stream(inputs, &plan.read, read, &work, &mut sink)?;
    let (rejects_sha, rejects_bytes) = rejects.finish().map_err(rejects_error)?;
    let extract = extract.finish()?;
    merge_digests(&mut digests, hasher)?;
    Ok(Written {
        extract,
        rejects: (staged_rejects, rejects_sha, rejects_bytes, rejects_written),
        stats,
        digests,
    })
}

/// The manifest of a run.
#[allow(clippy::too_many_arguments)]
fn make_manifest(
    cfg: &RunConfig,
    plan: &Plan,
    tx: &Transformer,
    gate: Option<&Gate>,
    written: &Written,
    paths: &OutputPaths,
    run_id: String,
    (started_at, clock): (SystemTime, Instant),
) -> Result<Manifest> {
    let stats = &written.stats;
    let input_digests: Vec<(String, u64)> = written
        .digests
        .iter()
        .map(|h| {
            h.clone()
                .ok_or_else(|| Error::internal("an input was neither read to its end nor digested"))
        })
        .collect::<Result<_>>()?;
    let (_, pq_sha, pq_bytes) = &written.extract;
    let mut outputs = vec![OutputInfo {
        path: paths.parquet.display().to_string(),
        sha256: pq_sha.clone(),
        bytes: *pq_bytes,
        rows: stats.rows.out,
        columns: plan.outputs.len() as u64,
    }];
    if stats.rows.rejected > 0 {
        let (_, sha, bytes, lines) = &written.rejects;
        outputs.push(OutputInfo {
            path: paths.rejects.display().to_string(),
            sha256: sha.clone(),
            bytes: *bytes,
            rows: *lines,
            columns: 4,
        });
    }
    Ok(Manifest {
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
        key_ids: tx.key_ids().clone(),
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
        columns: column_infos(plan, stats),
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
        k_anonymity: gate.map(|g| g.info(stats.rows.out)),
        started: crate::report::rfc3339(started_at),
        finished: crate::report::rfc3339(SystemTime::now()),
        seconds: clock.elapsed().as_secs_f64(),
    })
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
            let action = c.action.label();
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

/// Sums over batches.
struct Stats {
    rows: Rows,
    rows_per_input: Vec<u64>,
    rule_labels: Vec<String>,
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
            nulled: BTreeMap::new(),
        }
    }

    fn add(&mut self, file_index: usize, out: &BatchOutput) {
        if self.rows_per_input.len() <= file_index {
            self.rows_per_input.resize(file_index + 1, 0);
        }
        self.rows_per_input[file_index] += out.rows_in as u64;
        self.rows.input += out.rows_in as u64;
        self.rows.filtered += out.filtered as u64;
        for (i, c) in out.filtered_by_rule.iter().enumerate() {
            *self
                .rows
                .filtered_by_rule
                .entry(self.rule_labels[i].clone())
                .or_insert(0) += *c as u64;
        }
        self.rows.rejected += out.rejected_rows as u64;
        for (r, c) in &out.rejected_by_reason {
            *self
                .rows
                .rejected_by_reason
                .entry((*r).to_string())
                .or_insert(0) += *c as u64;
        }
        self.rows.suppressed += out.suppressed as u64;
        self.rows.out += out.batch.num_rows() as u64;
        for (name, c) in &out.nulled {
            *self.nulled.entry(name.clone()).or_insert(0) += *c as u64;
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
