//! `minex ledger`: what went where (issue 14; GDPR Art. 30, the record of transfers).
//!
//! Reads every run manifest (`*.manifest.json`) under the given directories and lists the
//! runs by time: the extract, its domain (the recipient), when it ran, the rows sent, the
//! columns sent and their actions, k and suppression, the key ids and the extract's digest.
//! Only what the manifests hold, so never a value. A file that is not a manifest minex wrote
//! is skipped and counted, never fatal: a ledger over a directory of mixed files still
//! lists every run it can read.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::report::Manifest;

/// One run, as the ledger shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LedgerEntry {
    /// When the run started (RFC 3339, UTC).
    pub started: String,
    /// The extract file (its path as the manifest records it).
    pub extract: String,
    /// The extract's SHA-256.
    pub extract_sha256: String,
    /// The pseudonymisation domain: the recipient.
    pub domain: String,
    /// The policy's name and digest.
    pub policy: String,
    /// SHA-256 of the policy file.
    pub policy_sha256: String,
    /// Rows written.
    pub rows_out: u64,
    /// The columns sent, `name (action)`, derived ones as `name (derived: what)`.
    pub columns: Vec<String>,
    /// k, when the run had a k-anonymity gate.
    pub k: Option<u64>,
    /// Rows suppressed by the gate.
    pub suppressed: u64,
    /// `purpose/space` → key id.
    pub key_ids: std::collections::BTreeMap<String, String>,
    /// The manifest file.
    pub manifest: String,
}

/// Reads every manifest under `dirs` (recursively), keeps those of `domain` when given, and
/// sorts them by start time (then extract path).
///
/// # Errors
/// `Io` when a directory cannot be read.
pub fn read(dirs: &[PathBuf], domain: Option<&str>) -> Result<Vec<LedgerEntry>> {
    let mut files = Vec::new();
    for d in dirs {
        collect(d, &mut files)?;
    }
    let mut entries: Vec<LedgerEntry> = files
        .iter()
        .filter_map(|p| Manifest::read(p).map(|m| entry(&m, p)))
        .filter(|e| domain.is_none_or(|d| e.domain == d))
        .collect();
    entries.sort_by(|a, b| (&a.started, &a.extract).cmp(&(&b.started, &b.extract)));
    Ok(entries)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let meta = std::fs::metadata(dir).map_err(|e| Error::io(dir, e))?;
    if meta.is_file() {
        out.push(dir.to_path_buf());
        return Ok(());
    }
    let mut items: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    items.sort();
    for p in items {
        let Ok(ft) = std::fs::symlink_metadata(&p).map(|m| m.file_type()) else {
            continue;
        };
        if ft.is_dir() {
            collect(&p, out)?;
        } else if ft.is_file()
            && p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(".manifest.json") && !n.starts_with('.'))
        {
            out.push(p);
        }
    }
    Ok(())
}

fn entry(m: &Manifest, path: &Path) -> LedgerEntry {
    let extract = m.outputs.first();
    let mut columns: Vec<String> = m
        .columns
        .iter()
        .filter(|c| c.output.is_some())
        .map(|c| format!("{} ({})", c.name, c.action))
        .collect();
    columns.extend(
        m.derived
            .iter()
            .map(|d| format!("{} (derived: {} of {})", d.name, d.what, d.from)),
    );
    LedgerEntry {
        started: m.started.clone(),
        extract: extract.map(|o| o.path.clone()).unwrap_or_default(),
        extract_sha256: extract.map(|o| o.sha256.clone()).unwrap_or_default(),
        domain: m.domain.clone(),
        policy: m.policy.name.clone(),
        policy_sha256: m.policy.sha256.clone(),
        rows_out: m.rows.out,
        columns,
        k: m.k_anonymity.as_ref().map(|k| k.k),
        suppressed: m.rows.suppressed,
        key_ids: m.key_ids.clone(),
        manifest: path.display().to_string(),
    }
}

/// The ledger as a text table, one block per run.
pub fn table(entries: &[LedgerEntry]) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    if entries.is_empty() {
        s.push_str("no run manifests found\n");
        return s;
    }
    let _ = writeln!(
        s,
        "{:<20}  {:<24}  {:>9}  {:<6}  EXTRACT",
        "STARTED", "DOMAIN", "ROWS", "K"
    );
    for e in entries {
        let k = e.k.map_or("-".to_string(), |k| {
            format!("{k}{}", if e.suppressed > 0 { "*" } else { "" })
        });
        let _ = writeln!(
            s,
            "{:<20}  {:<24}  {:>9}  {:<6}  {}",
            e.started, e.domain, e.rows_out, k, e.extract
        );
        let _ = writeln!(s, "    policy   {} (sha256 {})", e.policy, e.policy_sha256);
        let _ = writeln!(s, "    sha256   {}", e.extract_sha256);
        let _ = writeln!(s, "    columns  {}", e.columns.join(", "));
        if e.suppressed > 0 {
            let _ = writeln!(s, "    suppressed {} rows (k-anonymity)", e.suppressed);
        }
        let keys: Vec<String> = e
            .key_ids
            .iter()
            .map(|(use_, id)| format!("{use_}={id}"))
            .collect();
        if !keys.is_empty() {
            let _ = writeln!(s, "    keys     {}", keys.join(", "));
        }
    }
    let _ = writeln!(
        s,
        "{} run{} (* = rows suppressed by k-anonymity)",
        entries.len(),
        if entries.len() == 1 { "" } else { "s" }
    );
    s
}
