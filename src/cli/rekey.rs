//! `minex rekey` (issue 14): arguments and the command; the work is in `minex::rekey`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Args;

use minex::audit::outcome;
use minex::audit::{AuditEntry, append, log_path};
use minex::error::Result;
use minex::rekey::{RekeyConfig, RekeySummary};

/// Arguments of `minex rekey`.
#[derive(Debug, Args)]
pub struct RekeyArgs {
    /// The policy the extracts are made with (its domain is the old domain).
    #[arg(long, short = 'p', value_name = "FILE")]
    pub policy: PathBuf,
    /// The key the existing extracts were made with.
    #[arg(long, value_name = "FILE")]
    pub old_key_file: PathBuf,
    /// The key the next extracts will be made with.
    #[arg(long, value_name = "FILE")]
    pub new_key_file: PathBuf,
    /// The domain of the next extracts (default: the policy's).
    #[arg(long, value_name = "DOMAIN")]
    pub new_domain: Option<String>,
    #[command(flatten)]
    pub input: super::InputArgs,
    /// The mapping to write, `DIR/NAME.parquet`; `NAME.manifest.json` is written beside it.
    /// Both appear atomically (mode 0600).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: PathBuf,
    /// The audit log to append to (default: the new key file's path + `.audit.jsonl`).
    #[arg(long, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
}

/// Runs `minex rekey`.
///
/// # Errors
/// A [`minex::error::Error`]: `Usage`, `Policy`, `Key`, `Io`, `Malformed`.
pub fn cmd_rekey(a: &RekeyArgs) -> anyhow::Result<()> {
    Ok(rekey(a)?)
}

fn rekey(a: &RekeyArgs) -> Result<()> {
    if a.input.inputs.is_empty() {
        return Err(minex::error::Error::usage(
            "`minex rekey` needs at least one `--input FILE`",
        ));
    }
    let audit = log_path(a.audit_log.as_deref(), Some(&a.new_key_file))?;
    let paths = minex::rekey::output_paths(&a.out)?;
    {
        let mut reads: Vec<&Path> = a.input.inputs.iter().map(PathBuf::as_path).collect();
        reads.extend([
            a.policy.as_path(),
            a.old_key_file.as_path(),
            a.new_key_file.as_path(),
        ]);
        minex::io::paths::check_no_collision(&reads, &[&paths.parquet, &paths.manifest, &audit])?;
    }
    let read = a.input.read_options(65_536)?;
    let policy = minex::policy::from_file(&a.policy)?;
    // From here on the keys may be used: every outcome is recorded.
    minex::audit::open(&audit)?;
    let mut entry = AuditEntry::new("rekey", &policy, &paths.parquet.display().to_string());
    let mut key_ids = BTreeMap::new();
    let result = (|| -> Result<RekeySummary> {
        let cfg = RekeyConfig {
            inputs: a.input.inputs.clone(),
            read,
            old_key: minex::keyfile::load(Some(&a.old_key_file))?,
            new_key: minex::keyfile::load(Some(&a.new_key_file))?,
            new_domain: a.new_domain.clone(),
            out: a.out.clone(),
        };
        minex::rekey::rekey(&policy, cfg, &mut key_ids)
    })();
    entry.key_ids = key_ids;
    match &result {
        Ok(s) => {
            let r = &s.manifest.rows;
            entry.items.insert("rows".into(), r.input);
            entry.items.insert("filtered".into(), r.filtered);
            entry.items.insert("rejected".into(), r.rejected);
            entry
                .items
                .insert("invalid".into(), r.invalid_by_reason.values().sum());
            entry.items.insert("mappings".into(), s.manifest.mappings);
            entry
                .items
                .insert("spaces".into(), s.manifest.spaces.len() as u64);
        }
        Err(e) => entry.outcome = outcome(e),
    }
    let logged = append(&audit, &entry);
    let s = result?;
    logged?;
    let m = &s.manifest;
    let r = &m.rows;
    eprintln!(
        "minex rekey: policy `{}`, domain `{}` -> `{}`",
        m.policy.name, m.old.domain, m.new.domain
    );
    eprintln!(
        "  rows: {} in, {} used, {} filtered, {} rejected",
        r.input, r.used, r.filtered, r.rejected
    );
    for (reason, n) in &r.invalid_by_reason {
        eprintln!("    invalid values ({reason}): {n}");
    }
    for sp in &m.spaces {
        eprintln!("  {} {}: {} mappings", sp.space, sp.kind, sp.mappings);
    }
    eprintln!("  wrote {}", s.paths.parquet.display());
    eprintln!("  wrote {}", s.paths.manifest.display());
    eprintln!("  audit log {}", audit.display());
    Ok(())
}
