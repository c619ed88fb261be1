//! The command line: clap definitions (the doc comments are the help text) and the small
//! amount of glue that turns arguments into library calls. No pipeline logic lives here.

mod affected;
mod lookup;
mod rekey;

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use minex::error::{Error, Result};
use minex::io::ReadOptions;
use minex::keys::MasterKey;
use minex::pipeline::{KeySource, RunConfig, RunSummary};

/// minex: minimize and pseudonymize citizen registers into Parquet extracts a supplier may hold.
///
/// A policy file (YAML) says, column by column, what a supplier may receive: dropped,
/// tokenized with a keyed HMAC, encrypted reversibly, generalized, truncated. minex applies it
/// to CSV or Parquet inputs and writes a Parquet extract with a manifest that proves what was
/// done. Exit codes: 0 ok, 1 internal error, 2 usage, 3 policy, 4 input data, 5 I/O, 6 key,
/// 7 privacy check failed, 8 linter warnings under `check --strict`.
#[derive(Debug, Parser)]
#[command(
    name = "minex",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// More log lines on stderr (`-v` info, `-vv` debug, `-vvv` trace); `RUST_LOG` overrides.
    /// Log lines name files, columns, rules and counts, never a value.
    #[arg(long, short = 'v', action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Log line format.
    #[arg(long, value_enum, default_value = "text", global = true)]
    pub log_format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Sets up logging on stderr.
pub fn init_logging(verbose: u8, format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "warn",
        1 => "minex=info",
        2 => "minex=debug",
        _ => "minex=trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(true);
    let _ = match format {
        LogFormat::Text => builder.with_ansi(false).try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply a policy to inputs and write the extract, its manifest and a rejects report.
    ///
    /// Example: minex run --policy schemas/school-supplier.yaml --input register.csv --out extract/school.parquet --key-file minex.key
    Run(RunArgs),
    /// Validate a policy, and check it against inputs' headers when given (reads no data).
    ///
    /// Example: minex check --policy schemas/school-supplier.yaml --input register.csv
    Check(CheckArgs),
    /// Show what a run would do, column by column, without reading past the header.
    ///
    /// Example: minex plan --policy schemas/school-supplier.yaml --input register.csv
    Plan(PlanArgs),
    /// Write a commented starting policy for an input, safe by default, from its header and a
    /// sample of its rows.
    ///
    /// Every column is `drop` unless its values and its name support a safer useful choice:
    /// identity numbers tokenized (one space `person`), dates of birth generalized along a
    /// ladder `[month, year, decade]`, postal codes truncated along `[3, 2, 1]` (an age band
    /// derived from the identity number when there is no date of birth), a protected-identity
    /// column used in a row rule, low-cardinality codes kept, and a `k_anonymity` section over
    /// the quasi-identifiers (`max_suppression: 0.05`), checked on the sample with the search
    /// `minex run` makes: a quasi-identifier no combination of levels lets through is dropped,
    /// and its comment says why. Each column gets a comment saying why. No value from the input is ever written into the
    /// policy. Set `domain` (one per recipient) before the first real run.
    ///
    /// Example: minex init --input register.csv --out policy.yaml --domain skolsystem-ab
    Init(InitArgs),
    /// Make a new master key file (32 random bytes as 64 hex characters, mode 0600).
    ///
    /// Example: minex keygen --out minex.key
    Keygen(KeygenArgs),
    /// Decrypt an `encrypt` column of an extract, for the steward (needs the master key).
    ///
    /// Writes CSV `row,value` (row = 1-based row of the extract).
    ///
    /// Example: minex reidentify --policy schemas/social-services.yaml --key-file minex.key --extract extract/social.parquet --column case_id
    Reidentify(ReidentifyArgs),
    /// Audit an extract against its policy, manifest and (optionally) the input and key.
    ///
    /// Checks the columns and their formats, the manifest's digests, run id and row
    /// accounting, k-anonymity, and, given `--input`, that no value of a dropped, tokenized or
    /// encrypted column, nor of an identifier column kept, truncated or replaced, appears
    /// anywhere in the extract; given the key too, recomputes a sample of tokens. Prints one
    /// line per check, never a value; exits 7 when a check fails.
    ///
    /// Example: minex verify --policy schemas/school-supplier.yaml --extract extract/school.parquet --input register.csv --key-file minex.key
    Verify(VerifyArgs),
    /// The supplier's tokens (and ciphertexts) of identity numbers, for a resident's access or
    /// erasure request: CSV `item,space,token`, where `item` is the position in the input,
    /// never the number.
    ///
    /// Example: minex lookup --policy schemas/school-supplier.yaml --key-file minex.key --from requests.txt --out tokens.csv
    Lookup(lookup::LookupArgs),
    /// Breach response: which residents of the register appear in leaked extract files, with
    /// counts of minors and of people with protected identity on the terminal.
    ///
    /// Example: minex affected --policy schemas/school-supplier.yaml --key-file minex.key --register register.csv --leaked leak.csv --out affected.csv
    Affected(affected::AffectedArgs),
    /// Key rotation: for every person of the register, old token → new token in every space
    /// of the policy, so the supplier can re-link its history without an identity number.
    ///
    /// Example: minex rekey --policy schemas/school-supplier.yaml --old-key-file old.key --new-key-file new.key --input register.csv --out mapping.parquet
    Rekey(rekey::RekeyArgs),
    /// What went where: every run manifest under the directories, sorted by time (the
    /// data-protection officer's record of transfers).
    ///
    /// Example: minex ledger extracts/ --domain skolsystem-ab
    Ledger(LedgerArgs),
    /// Generate a synthetic register and run the school-supplier policy on it with a fresh
    /// demo key; prints what it did.
    ///
    /// Example: minex demo --out minex-demo --rows 100000
    Demo(DemoArgs),
}

#[derive(Debug, Args)]
pub struct InputArgs {
    /// Input file(s): CSV (header row; `.csv` or any other name) or Parquet (`.parquet`).
    /// Repeat for several files that share one header.
    #[arg(long = "input", short = 'i', value_name = "FILE")]
    pub inputs: Vec<PathBuf>,
    /// CSV field delimiter: one character, or `tab`.
    #[arg(long, default_value = ",", value_name = "CHAR")]
    pub delimiter: String,
    /// The longest CSV record (the header included), in bytes: a longer one stops the read at
    /// its row (an unclosed quote would otherwise buffer the rest of the file).
    #[arg(long, default_value_t = minex::io::csv::MAX_RECORD_BYTES, value_name = "BYTES")]
    pub max_record_bytes: usize,
}

impl InputArgs {
    fn read_options(&self, batch_size: usize) -> Result<ReadOptions> {
        let delimiter = match self.delimiter.as_str() {
            "tab" | "\\t" | "\t" => b'\t',
            d if d.len() == 1 => d.as_bytes()[0],
            _ => {
                return Err(Error::usage(
                    "`--delimiter` must be one ASCII character (or `tab`)",
                ));
            }
        };
        if batch_size == 0 {
            return Err(Error::usage("`--batch-size` must be at least 1"));
        }
        if self.max_record_bytes == 0 {
            return Err(Error::usage("`--max-record-bytes` must be at least 1"));
        }
        Ok(ReadOptions {
            delimiter,
            batch_size,
            max_record_bytes: self.max_record_bytes,
            ..ReadOptions::default()
        })
    }
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The policy file (YAML).
    #[arg(long, short = 'p', value_name = "FILE")]
    pub policy: PathBuf,
    #[command(flatten)]
    pub input: InputArgs,
    /// The extract to write, `DIR/NAME.parquet`; `NAME.manifest.json` and (when rows were
    /// rejected) `NAME.rejects.csv` are written beside it. All appear atomically.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: PathBuf,
    /// The master key file (else the `MINEX_KEY` environment variable is read). Must not be
    /// readable by group or others.
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// Rows per batch (memory grows with it).
    #[arg(long, default_value_t = 65_536, value_name = "N")]
    pub batch_size: usize,
    /// Worker threads (default: all cores). The output is identical whatever the number.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// zstd compression level of the extract (1-22).
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub zstd_level: i32,
    /// Write token and ciphertext columns PLAIN instead of DELTA_LENGTH_BYTE_ARRAY, for
    /// readers older than Spark 3.3 (Arrow, DuckDB, Polars and pandas read both).
    #[arg(long)]
    pub plain_encoding: bool,
    /// Also write a self-contained HTML report for the data-protection officer (opens offline).
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
    /// Print nothing on success, and no progress bar (which is shown only when standard error
    /// is a terminal).
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The policy file (YAML).
    #[arg(long, short = 'p', value_name = "FILE")]
    pub policy: PathBuf,
    #[command(flatten)]
    pub input: InputArgs,
    /// Treat the linter's warnings as errors (exit code 8).
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The policy file (YAML).
    #[arg(long, short = 'p', value_name = "FILE")]
    pub policy: PathBuf,
    #[command(flatten)]
    pub input: InputArgs,
    /// The master key file, to show the key ids that will be used (else `MINEX_KEY` when set).
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Where to write the policy (default: standard output). An existing file is replaced only
    /// with `--force`.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Replace an existing `--out` file.
    #[arg(long)]
    pub force: bool,
    /// The pseudonymisation domain, one per recipient (default: a placeholder to change).
    #[arg(long, value_name = "DOMAIN")]
    pub domain: Option<String>,
    /// The policy's name (default: from the first input's file name).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// The policy's reference date, YYYY-MM-DD (default: today, UTC).
    #[arg(long, value_name = "DATE")]
    pub reference_date: Option<String>,
    /// Data rows to sample, from the first input on.
    #[arg(long, default_value_t = minex::init::DEFAULT_SAMPLE_ROWS, value_name = "N")]
    pub sample: usize,
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Where to write the key; an existing file is never overwritten.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct ReidentifyArgs {
    /// The policy the extract was made with.
    #[arg(long, short = 'p', value_name = "FILE")]
    pub policy: PathBuf,
    /// The master key file (else `MINEX_KEY`).
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// The extract (Parquet) made by `minex run`.
    #[arg(long, value_name = "FILE")]
    pub extract: PathBuf,
    /// The `encrypt` column to decrypt.
    #[arg(long, value_name = "NAME")]
    pub column: String,
    /// Write the CSV here instead of standard output (mode 0600).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Append the audit line here (default: the key file's path + `.audit.jsonl`; required
    /// with `MINEX_KEY`).
    #[arg(long, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The policy the extract should follow.
    #[arg(long, short = 'p', value_name = "FILE")]
    pub policy: PathBuf,
    /// The extract (its `NAME.manifest.json` is read from beside it).
    #[arg(long, value_name = "FILE")]
    pub extract: PathBuf,
    #[command(flatten)]
    pub input: InputArgs,
    /// The master key file, to recompute tokens (else `MINEX_KEY` when set).
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// Tokens recomputed per column.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub token_sample: usize,
    /// Print the report as JSON on standard output.
    #[arg(long)]
    pub json: bool,
    /// Also write a self-contained HTML report (the run's manifest and these checks).
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct LedgerArgs {
    /// Directories to search (recursively) for `*.manifest.json`.
    #[arg(value_name = "DIR", required = true)]
    pub dirs: Vec<PathBuf>,
    /// Only runs for this pseudonymisation domain.
    #[arg(long, value_name = "DOMAIN")]
    pub domain: Option<String>,
    /// Print JSON (one object per run) on standard output instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Directory for the register, key, policy and extract.
    #[arg(long, short = 'o', default_value = "minex-demo", value_name = "DIR")]
    pub out: PathBuf,
    /// Rows of synthetic register to generate.
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    pub rows: u64,
    /// Seed of the generator.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

/// Runs a parsed command line.
///
/// # Errors
/// A [`minex::error::Error`] (mapped to an exit code by `main`), or another error (exit 1).
pub fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run(a) => cmd_run(&a),
        Command::Check(a) => cmd_check(&a),
        Command::Plan(a) => cmd_plan(&a),
        Command::Init(a) => cmd_init(&a),
        Command::Keygen(a) => cmd_keygen(&a),
        Command::Reidentify(a) => cmd_reidentify(&a),
        Command::Verify(a) => cmd_verify(&a),
        Command::Lookup(a) => lookup::cmd_lookup(&a),
        Command::Affected(a) => affected::cmd_affected(&a),
        Command::Rekey(a) => rekey::cmd_rekey(&a),
        Command::Ledger(a) => cmd_ledger(&a),
        Command::Demo(a) => cmd_demo(&a),
    }
}

fn cmd_run(a: &RunArgs) -> anyhow::Result<()> {
    if a.input.inputs.is_empty() {
        return Err(Error::usage("`minex run` needs at least one `--input FILE`").into());
    }
    {
        // Nothing the run writes or removes may be one of the files it reads (issue 10).
        let paths = minex::io::output::OutputPaths::from_out(&a.out)?;
        let mut reads: Vec<&Path> = a.input.inputs.iter().map(PathBuf::as_path).collect();
        reads.push(&a.policy);
        reads.extend(a.key_file.as_deref());
        let mut writes: Vec<&Path> = vec![&paths.parquet, &paths.rejects, &paths.manifest];
        writes.extend(a.report.as_deref());
        minex::io::paths::check_no_collision(&reads, &writes)?;
    }
    let mut cfg = RunConfig::new(
        &a.policy,
        a.input.inputs.clone(),
        &a.out,
        KeySource::Load(a.key_file.clone()),
    );
    cfg.read = a.input.read_options(a.batch_size)?;
    cfg.threads = a.threads;
    cfg.zstd_level = a.zstd_level;
    cfg.delta_tokens = !a.plain_encoding;
    cfg.progress = !a.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let summary = minex::pipeline::run(&cfg)?;
    if let Some(report) = &a.report {
        minex::report::html::write(report, &summary.manifest, None)?;
    }
    if !a.quiet {
        print_summary(&summary);
        if let Some(report) = &a.report {
            eprintln!("  wrote {}", report.display());
        }
    }
    Ok(())
}

/// The human summary at the end of a run (stderr; never a value).
pub fn print_summary(s: &RunSummary) {
    let m = &s.manifest;
    let r = &m.rows;
    let mut e = std::io::stderr().lock();
    let count = |what: &str| {
        m.columns
            .iter()
            .filter(|c| c.action.starts_with(what))
            .count()
    };
    let _ = writeln!(
        e,
        "minex {}: policy `{}` (domain `{}`)",
        m.tool.version, m.policy.name, m.domain
    );
    let _ = writeln!(
        e,
        "  rows: {} in, {} out, {} filtered, {} rejected, {} suppressed",
        r.input, r.out, r.filtered, r.rejected, r.suppressed
    );
    for (rule, n) in &r.filtered_by_rule {
        let _ = writeln!(e, "    filtered by {rule}: {n}");
    }
    for (reason, n) in &r.rejected_by_reason {
        let _ = writeln!(e, "    rejected for {reason}: {n}");
    }
    let _ = writeln!(
        e,
        "  columns: {} dropped, {} tokenized, {} encrypted, {} generalized, {} truncated, {} kept, {} derived",
        count("drop"),
        count("tokenize"),
        count("encrypt"),
        count("generalize"),
        count("truncate"),
        count("keep"),
        m.derived.len()
    );
    if let Some(k) = &m.k_anonymity {
        let _ = writeln!(
            e,
            "  k-anonymity: k = {} asked, smallest class {} over ({}), {} classes",
            k.k,
            k.smallest_class,
            k.quasi_identifiers.join(", "),
            k.classes
        );
        if let Some(s) = &k.search {
            let _ = writeln!(
                e,
                "  levels chosen by the search: {} (height {}; {} of {} combinations pass)",
                k.quasi_identifiers
                    .iter()
                    .map(|q| format!("{q} {}", s.chosen.get(q).map_or("?", |l| l.as_str())))
                    .collect::<Vec<_>>()
                    .join(", "),
                s.height,
                s.nodes_passing,
                s.nodes
            );
        }
        if let Some(l) = &k.l_diversity {
            let _ = writeln!(
                e,
                "  l-diversity: l = {} over ({}), fewest distinct values in a class {}",
                l.l,
                l.sensitive.join(", "),
                l.smallest_distinct
            );
        }
    }
    let _ = writeln!(e, "  time: {:.2} s", m.seconds);
    let _ = writeln!(e, "  wrote {}", s.paths.parquet.display());
    let _ = writeln!(e, "  wrote {}", s.paths.manifest.display());
    if s.wrote_rejects {
        let _ = writeln!(e, "  wrote {}", s.paths.rejects.display());
    }
}

fn cmd_check(a: &CheckArgs) -> anyhow::Result<()> {
    let read = a.input.read_options(1024)?;
    let policy = minex::policy::from_file(&a.policy)?;
    let warnings = minex::policy::lint::lint(&policy);
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    if a.strict && !warnings.is_empty() {
        return Err(Error::from(minex::ErrorKind::Lint(
            warnings.iter().map(ToString::to_string).collect(),
        ))
        .into());
    }
    if a.input.inputs.is_empty() {
        eprintln!(
            "policy `{}` is valid: {} columns, {} row rules, {} derived columns",
            a.policy.display(),
            policy.columns.len(),
            policy.rules.len(),
            policy.derive.len()
        );
        return Ok(());
    }
    let (plan, _, _) = minex::pipeline::prepare_policy(&policy, &a.input.inputs, &read, None)?;
    eprintln!(
        "policy `{}` fits the input{}: {} columns read, {} written",
        a.policy.display(),
        if a.input.inputs.len() == 1 { "" } else { "s" },
        plan.read.len(),
        plan.outputs.len()
    );
    Ok(())
}

fn cmd_plan(a: &PlanArgs) -> anyhow::Result<()> {
    if a.input.inputs.is_empty() {
        return Err(Error::usage("`minex plan` needs at least one `--input FILE`").into());
    }
    let read = a.input.read_options(1024)?;
    let key = if a.key_file.is_some() || std::env::var_os(minex::keys::KEY_ENV).is_some() {
        Some(KeySource::Load(a.key_file.clone()))
    } else {
        None
    };
    let (plan, inputs, ring) =
        minex::pipeline::prepare(&a.policy, &a.input.inputs, &read, key.as_ref())?;
    write_stdout(minex::plan::describe(&plan, &inputs, ring.as_ref()).as_bytes())?;
    Ok(())
}

fn cmd_init(a: &InitArgs) -> anyhow::Result<()> {
    if a.input.inputs.is_empty() {
        return Err(Error::usage("`minex init` needs at least one `--input FILE`").into());
    }
    if let Some(out) = &a.out {
        let reads: Vec<&Path> = a.input.inputs.iter().map(PathBuf::as_path).collect();
        minex::io::paths::check_no_collision(&reads, &[out])?;
        minex::init::refuse_overwrite(out, a.force)?;
    }
    let reference_date = match &a.reference_date {
        None => minex::init::today_utc(),
        Some(d) => minex::ident::date::Date::parse(d).ok_or_else(|| {
            Error::usage("`--reference-date` must be a real date written YYYY-MM-DD")
        })?,
    };
    let opts = minex::init::InitOptions {
        inputs: a.input.inputs.clone(),
        read: a.input.read_options(8192)?,
        sample_rows: a.sample,
        name: a.name.clone(),
        domain: a.domain.clone(),
        reference_date,
    };
    let scaffold = minex::init::scaffold(&opts)?;
    match &a.out {
        Some(out) => minex::init::write_policy(&scaffold.text, out, a.force)?,
        None => write_stdout(scaffold.text.as_bytes())?,
    }
    let (tokenized, generalized, truncated, kept, dropped) = scaffold.counts();
    eprintln!(
        "minex init: {} columns from {} sampled rows: {tokenized} tokenized, {generalized} generalized, {truncated} truncated, {kept} kept, {dropped} dropped; {} row rule(s); k-anonymity over {} column(s)",
        scaffold.columns.len(),
        scaffold.sampled_rows,
        scaffold
            .columns
            .iter()
            .filter(|c| matches!(c.decision, minex::init::Decision::ProtectedRule { .. }))
            .count(),
        scaffold.quasi_identifiers.len()
    );
    if !scaffold.dropped_quasi_identifiers.is_empty() {
        eprintln!(
            "given up because no combination of levels passed on the sample: {}",
            scaffold.dropped_quasi_identifiers.join(", ")
        );
    }
    if let Some(s) = &scaffold.search {
        eprintln!(
            "on the sample the search chose {} ({:.1}% suppressed); `minex run` searches again on the whole input",
            s.chosen
                .iter()
                .map(|(q, l)| format!("{q}: {l}"))
                .collect::<Vec<_>>()
                .join(", "),
            scaffold.estimated_suppression * 100.0
        );
    }
    if let Some(out) = &a.out {
        eprintln!("wrote {}", out.display());
    }
    if a.domain.is_none() {
        eprintln!(
            "next: set `domain` (one per recipient), read each column's comment, then `minex check --policy POLICY --input INPUT`"
        );
    }
    Ok(())
}

fn cmd_keygen(a: &KeygenArgs) -> anyhow::Result<()> {
    let key = MasterKey::generate()?;
    minex::keyfile::write_new(&key, &a.out)?;
    eprintln!(
        "wrote a new master key to `{}` (mode 0600). Keep it safe and apart from the extracts: without it no token can be reproduced, and with it tokens can be linked.",
        a.out.display()
    );
    Ok(())
}

fn cmd_reidentify(a: &ReidentifyArgs) -> anyhow::Result<()> {
    let audit_log = minex::audit::log_path(a.audit_log.as_deref(), a.key_file.as_deref())?;
    let mut reads: Vec<&Path> = vec![&a.policy, &a.extract];
    reads.extend(a.key_file.as_deref());
    let mut writes: Vec<&Path> = vec![&audit_log];
    writes.extend(a.out.as_deref());
    minex::io::paths::check_no_collision(&reads, &writes)?;
    let policy = minex::policy::from_file(&a.policy)?;
    let key = minex::keyfile::load(a.key_file.as_deref())?;
    let output = a
        .out
        .as_ref()
        .map_or("standard output".to_string(), |p| p.display().to_string());
    let mut entry = minex::audit::AuditEntry::new("reidentify", &policy, &output);
    if let Some(minex::policy::Action::Encrypt { space }) =
        policy.column(&a.column).map(|c| &c.action)
    {
        minex::keys::KeyRing::new(key.clone(), policy.domain.clone()).record_key_ids(
            &mut entry.key_ids,
            space,
            true,
        );
    }
    let result = reidentify_to(a, key);
    match &result {
        Ok(n) => {
            entry.items.insert("values".into(), *n);
        }
        Err(e) => entry.outcome = minex::audit::outcome(e),
    }
    minex::audit::append(&audit_log, &entry)?;
    let n = result?;
    eprintln!("decrypted {n} values of `{}`", a.column);
    Ok(())
}

fn reidentify_to(a: &ReidentifyArgs, key: MasterKey) -> Result<u64> {
    Ok(match &a.out {
        Some(p) => {
            // Never over an existing file; staged (mode 0600) and renamed into place only when
            // every value decrypted, so a failed or killed run leaves no partial file.
            if p.exists() {
                return Err(Error::usage(format!(
                    "`--out` `{}` exists; minex does not overwrite decrypted data",
                    p.display()
                )));
            }
            let staged = minex::io::output::Staged::new(p)?;
            let mut sink = staged.writer()?;
            let n = minex::reidentify::reidentify(
                &a.policy,
                key,
                &a.extract,
                &a.column,
                &mut sink,
                staged.tmp_path(),
            )?;
            sink.flush().map_err(|e| Error::io(staged.tmp_path(), e))?;
            drop(sink);
            minex::io::output::commit(vec![staged], &[])?;
            n
        }
        None => {
            let mut sink = std::io::BufWriter::new(std::io::stdout().lock());
            let stdout = Path::new("standard output");
            let n = minex::reidentify::reidentify(
                &a.policy, key, &a.extract, &a.column, &mut sink, stdout,
            )?;
            sink.flush().map_err(|e| Error::io(stdout, e))?;
            n
        }
    })
}

/// Writes to standard output. A closed pipe (`| head`) is no error of the user's: `main`
/// ends quietly with status 141, as a program killed by SIGPIPE would; any other failure (a
/// full disk behind `> FILE`) is an I/O error, exit 5.
///
/// # Errors
/// `Io` on `standard output`.
pub fn write_stdout(bytes: &[u8]) -> Result<()> {
    let mut o = std::io::stdout().lock();
    o.write_all(bytes)
        .and_then(|()| o.flush())
        .map_err(|e| Error::io("standard output", e))
}

fn cmd_verify(a: &VerifyArgs) -> anyhow::Result<()> {
    let key = if a.key_file.is_some() || std::env::var_os(minex::keys::KEY_ENV).is_some() {
        Some(minex::keyfile::load(a.key_file.as_deref())?)
    } else {
        None
    };
    if let Some(report) = &a.report {
        let manifest = minex::io::output::OutputPaths::beside(&a.extract).manifest;
        let mut reads: Vec<&Path> = a.input.inputs.iter().map(PathBuf::as_path).collect();
        reads.extend([a.policy.as_path(), a.extract.as_path(), manifest.as_path()]);
        reads.extend(a.key_file.as_deref());
        minex::io::paths::check_no_collision(&reads, &[report])?;
    }
    let cfg = minex::verify::VerifyConfig {
        policy: a.policy.clone(),
        extract: a.extract.clone(),
        inputs: a.input.inputs.clone(),
        read: a.input.read_options(65_536)?,
        key,
        token_sample: a.token_sample,
    };
    let report = minex::verify::verify(&cfg)?;
    if let Some(path) = &a.report {
        let manifest_path = minex::io::output::OutputPaths::beside(&a.extract).manifest;
        let manifest = minex::report::Manifest::read(&manifest_path).ok_or_else(|| {
            Error::usage(format!(
                "`--report` needs the run's manifest `{}`, which is missing or unreadable",
                manifest_path.display()
            ))
        })?;
        minex::report::html::write(path, &manifest, Some(&report))?;
    }
    if a.json {
        let mut json = serde_json::to_string_pretty(&report).context("report as JSON")?;
        json.push('\n');
        write_stdout(json.as_bytes())?;
    } else {
        eprintln!("{report}");
    }
    if report.passed() {
        Ok(())
    } else {
        Err(Error::privacy(format!(
            "{} verification checks failed",
            report.failures().count()
        ))
        .into())
    }
}

fn cmd_ledger(a: &LedgerArgs) -> anyhow::Result<()> {
    let entries = minex::ledger::read(&a.dirs, a.domain.as_deref())?;
    let text = if a.json {
        let mut j = serde_json::to_string_pretty(&entries).context("ledger as JSON")?;
        j.push('\n');
        j
    } else {
        minex::ledger::table(&entries)
    };
    write_stdout(text.as_bytes())?;
    Ok(())
}

fn cmd_demo(a: &DemoArgs) -> anyhow::Result<()> {
    let summary = minex::demo::run_demo(&a.out, a.rows, a.seed)?;
    print_summary(&summary);
    eprintln!(
        "demo: register {}, policy {}, demo key {} (a fresh key each run; tokens differ between demo runs)",
        a.out.join("register.csv").display(),
        a.out.join("school-supplier.yaml").display(),
        a.out.join("demo.key").display()
    );
    Ok(())
}
