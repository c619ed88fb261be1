//! `minex affected` (issue 14): arguments and the command; the work is in `minex::affected`.

use std::path::PathBuf;

use clap::Args;

use minex::affected::{AffectedConfig, affected};
use minex::error::Error;
use minex::io::ReadOptions;
use minex::pipeline::KeySource;

/// Arguments of `minex affected`.
#[derive(Debug, Args)]
pub struct AffectedArgs {
    /// The policy the leaked extracts were made with (its domain, spaces, row rules and
    /// reference date).
    #[arg(long, short = 'p', value_name = "FILE")]
    pub policy: PathBuf,
    /// The master key file (else `MINEX_KEY`, and then `--audit-log` is required).
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// The register (CSV or Parquet), read through the policy as `minex run` reads it.
    /// Repeat for several files that share one header.
    #[arg(long = "register", value_name = "FILE", required = true)]
    pub registers: Vec<PathBuf>,
    /// A leaked file (CSV with any header, or Parquet): an extract, part of one, or one mixed
    /// with other data. Repeat for several.
    #[arg(long = "leaked", value_name = "FILE", required = true)]
    pub leaked: Vec<PathBuf>,
    /// The notification list to write: CSV `personnummer,leaked_in,spaces,minor,
    /// protected_identity,coordination_number`, mode 0600. Holds identity numbers; never
    /// overwrites a file.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: PathBuf,
    /// The audit log (default: the key file's path with `.audit.jsonl` appended).
    #[arg(long, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
    /// The register's CSV field delimiter: one character, or `tab`.
    #[arg(long, default_value = ",", value_name = "CHAR")]
    pub delimiter: String,
    /// The longest register CSV record, in bytes.
    #[arg(long, default_value_t = minex::io::csv::MAX_RECORD_BYTES, value_name = "BYTES")]
    pub max_record_bytes: usize,
}

/// Runs `minex affected`. Standard error gets counts only.
///
/// # Errors
/// A [`minex::error::Error`] (the exit code follows its category).
pub fn cmd_affected(a: &AffectedArgs) -> anyhow::Result<()> {
    let delimiter = match a.delimiter.as_str() {
        "tab" | "\\t" | "\t" => b'\t',
        d if d.len() == 1 => d.as_bytes()[0],
        _ => {
            return Err(
                Error::usage("`--delimiter` must be one ASCII character (or `tab`)").into(),
            );
        }
    };
    if a.max_record_bytes == 0 {
        return Err(Error::usage("`--max-record-bytes` must be at least 1").into());
    }
    let audit_log = minex::audit::log_path(a.audit_log.as_deref(), a.key_file.as_deref())?;
    let cfg = AffectedConfig {
        policy: a.policy.clone(),
        registers: a.registers.clone(),
        leaked: a.leaked.clone(),
        out: a.out.clone(),
        key: KeySource::Load(a.key_file.clone()),
        audit_log: audit_log.clone(),
        read: ReadOptions {
            delimiter,
            max_record_bytes: a.max_record_bytes,
            ..ReadOptions::default()
        },
    };
    let s = affected(&cfg)?;
    eprintln!(
        "minex affected: {} people of the register ({} indexed) found in {} leaked files",
        s.people_affected,
        s.register_people,
        s.per_file.len()
    );
    for (path, n) in &s.per_file {
        eprintln!("  {}: {n} people", path.display());
    }
    eprintln!("  minors: {}", s.minors);
    eprintln!(
        "  protected identity (rows the policy's row rules drop): {}",
        s.protected_identity
    );
    eprintln!("  samordningsnummer: {}", s.coordination_numbers);
    eprintln!(
        "  tokens matching nobody in the register (in columns where some token matched): {}",
        s.unmatched_tokens
    );
    eprintln!("  wrote {} (mode 0600)", a.out.display());
    eprintln!("  audit line appended to {}", audit_log.display());
    Ok(())
}
