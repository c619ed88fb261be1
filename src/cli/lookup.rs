//! `minex lookup` (issue 14): arguments and the command; the work is in `minex::lookup`.

use std::path::{Path, PathBuf};

use clap::Args;

use minex::audit::outcome;
use minex::audit::{AuditEntry, append, log_path};
use minex::error::{Error, Result};
use minex::lookup::{Lookup, LookupCounts};

/// Arguments of `minex lookup`.
#[derive(Debug, Args)]
pub struct LookupArgs {
    /// The policy the supplier's extracts are made with (its domain, spaces, reference date).
    #[arg(long, short = 'p', value_name = "FILE")]
    pub policy: PathBuf,
    /// The master key file (else the `MINEX_KEY` environment variable, and then
    /// `--audit-log` is required).
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// Only this space (one the policy uses for `type: personnummer` columns).
    #[arg(long, value_name = "SPACE")]
    pub space: Option<String>,
    /// Identity numbers, in any spelling a register holds. Prefer `--from`: arguments are
    /// visible to other users of the machine (`ps`).
    #[arg(
        value_name = "NUMBER",
        required_unless_present = "from",
        conflicts_with = "from"
    )]
    pub values: Vec<String>,
    /// Read the identity numbers from FILE (`-`: standard input): one per line, or the first
    /// column of a CSV. Every line is an item (a blank one is `missing`); the first line is
    /// skipped as a header only when its first field has no digit.
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,
    /// The field delimiter of `--from` (one character, or `tab`).
    #[arg(long, default_value = ",", value_name = "CHAR")]
    pub delimiter: String,
    /// Write the CSV here (mode 0600; never over an existing file) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// The audit log to append to (default: the key file's path + `.audit.jsonl`).
    #[arg(long, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
}

/// Runs `minex lookup`.
///
/// # Errors
/// A [`minex::error::Error`]: `Usage` for bad arguments, `Key`, `Io`, `Malformed`.
pub fn cmd_lookup(a: &LookupArgs) -> anyhow::Result<()> {
    Ok(lookup(a)?)
}

fn lookup(a: &LookupArgs) -> Result<()> {
    let audit = log_path(a.audit_log.as_deref(), a.key_file.as_deref())?;
    let delimiter = match a.delimiter.as_str() {
        "tab" | "\\t" | "\t" => b'\t',
        d if d.len() == 1 => d.as_bytes()[0],
        _ => {
            return Err(Error::usage(
                "`--delimiter` must be one ASCII character (or `tab`)",
            ));
        }
    };
    let stdin = Path::new("-");
    {
        let mut reads: Vec<&Path> = vec![&a.policy];
        reads.extend(a.key_file.as_deref());
        reads.extend(a.from.as_deref().filter(|f| *f != stdin));
        let mut writes: Vec<&Path> = vec![&audit];
        writes.extend(a.out.as_deref());
        minex::io::paths::check_no_collision(&reads, &writes)?;
    }
    if let Some(out) = &a.out
        && out.symlink_metadata().is_ok()
    {
        return Err(Error::usage(format!(
            "`--out` `{}` exists; minex lookup never overwrites a file",
            out.display()
        )));
    }
    let policy = minex::policy::from_file(&a.policy)?;
    // From here on the key may be used: every outcome is recorded.
    minex::audit::open(&audit)?;
    let output = a.out.as_ref().map_or_else(
        || "standard output".to_string(),
        |p| p.display().to_string(),
    );
    let mut entry = AuditEntry::new("lookup", &policy, &output);
    let mut counts = LookupCounts::default();
    let result = run(a, &policy, delimiter, &mut entry, &mut counts);
    entry.items.insert("items".into(), counts.items);
    entry.items.insert("found".into(), counts.found);
    entry.items.insert("invalid".into(), counts.invalid);
    entry.items.insert("rows".into(), counts.rows);
    if let Err(e) = &result {
        entry.outcome = outcome(e);
    }
    let logged = append(&audit, &entry);
    result?;
    logged?;
    let reasons: Vec<String> = counts
        .invalid_by_reason
        .iter()
        .map(|(r, n)| format!("{r} {n}"))
        .collect();
    eprintln!(
        "minex lookup: {} item{} ({} found, {} invalid{}), {} row{} over {} space{}{}",
        counts.items,
        plural(counts.items),
        counts.found,
        counts.invalid,
        if reasons.is_empty() {
            String::new()
        } else {
            format!(": {}", reasons.join(", "))
        },
        counts.rows,
        plural(counts.rows),
        entry
            .key_ids
            .keys()
            .filter(|k| !k.starts_with("nonce/"))
            .count(),
        plural(
            entry
                .key_ids
                .keys()
                .filter(|k| !k.starts_with("nonce/"))
                .count() as u64
        ),
        if counts.header_skipped {
            "; the first line was skipped as a header"
        } else {
            ""
        },
    );
    if let Some(out) = &a.out {
        eprintln!("  wrote {}", out.display());
    }
    eprintln!("  audit log {}", audit.display());
    Ok(())
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn run(
    a: &LookupArgs,
    policy: &minex::Policy,
    delimiter: u8,
    entry: &mut AuditEntry,
    counts: &mut LookupCounts,
) -> Result<()> {
    let key = minex::keyfile::load(a.key_file.as_deref())?;
    let lookup = Lookup::new(policy, key, a.space.as_deref())?;
    entry.key_ids = lookup.key_ids().clone();
    let bytes = zeroize::Zeroizing::new(match &a.from {
        Some(from) if from == Path::new("-") => {
            lookup.reader(std::io::stdin().lock(), from, delimiter, counts)?
        }
        Some(from) => {
            let file = std::fs::File::open(from).map_err(|e| Error::io(from, e))?;
            lookup.reader(std::io::BufReader::new(file), from, delimiter, counts)?
        }
        None => lookup.values(&a.values, counts),
    });
    match &a.out {
        None => super::write_stdout(&bytes),
        Some(out) => {
            let staged = minex::io::output::Staged::new(out)?;
            minex::io::output::write_all(&staged, &bytes)?;
            staged
                .file()?
                .sync_all()
                .map_err(|e| Error::io(staged.tmp_path(), e))?;
            // Linked into place whole, and only where no file is: unlike a rename, the link
            // fails rather than replace a file made since the check above. The staged name
            // is removed when `staged` is dropped.
            match std::fs::hard_link(staged.tmp_path(), out) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    Err(Error::usage(format!(
                        "`--out` `{}` exists; minex lookup never overwrites a file",
                        out.display()
                    )))
                }
                Err(e) => Err(Error::io(out, e)),
            }
        }
    }
}
