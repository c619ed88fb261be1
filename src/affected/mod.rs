//! `minex affected` (issue 14): breach response. Which residents of the register appear in
//! leaked extract files?
//!
//! # What is matched
//! The register is read through the policy exactly as `minex run` reads it (the same header
//! checks, the same canonicalization with [`canonicalize_with`]). For every `type:
//! personnummer` column the policy tokenizes or encrypts (a guardian column included), every
//! valid identity number gets its token (or ciphertext) in that column's space: one entry per
//! person and `(kind, space)`, in a hash map from the token's 16 bytes (a ciphertext's 40
//! bytes) to the person. Invalid numbers have no token and are skipped, whatever the column's
//! `on_invalid` says: `affected` looks for people, it does not validate the register.
//!
//! The leaked files are then streamed (Parquet batch by batch, CSV record by record with the
//! csv crate: a leaked CSV may have any header, or none, so its first record is data too, and
//! the delimiter is guessed from the first line). Every string or binary cell of every column
//! (nested ones included) is scanned for **runs of exactly 32 hex digits** (a token, compared
//! case-insensitively) and **runs of exactly 54 base64url characters** (a ciphertext), so a
//! token still matches inside a longer cell (`"id:<token>"`, a JSON blob, a CSV read with the
//! wrong delimiter). A binary cell of 16 (40) bytes is compared as a raw token (ciphertext).
//!
//! # The result
//! One CSV row per affected person, sorted by identity number:
//! `personnummer,leaked_in,spaces,minor,protected_identity,coordination_number`.
//! * `leaked_in`: the leaked files (as given) holding the person's token, `;`-separated.
//! * `spaces`: where the matches were, `token/SPACE` or `encrypt/SPACE`, `;`-separated.
//! * `minor`: under 18 at the policy's `reference_date`. A samordningsnummer without a full
//!   birth date counts as a minor when the latest birth date it allows would make one (fail
//!   safe: such a person is treated with a minor's care).
//! * `protected_identity`: the policy's `rows.drop_when` rules, evaluated exactly as a run
//!   does (typed rules over canonical values), drop a register row that holds the person's
//!   number in one of the scanned columns. Such a row should never have reached an extract.
//!   A guardian whose number sits in a dropped row is flagged too (fail safe).
//! * `coordination_number`: the number is a samordningsnummer.
//!
//! # Unmatched tokens
//! `unmatched_tokens` counts the cells' 32-hex runs that match no register token, **in the
//! columns where at least one register token matched** (a column is one top-level column of
//! one leaked file): those columns are token columns, so their other tokens are people the
//! register does not know (moved away, from another municipality, or another domain's).
//! Hex runs elsewhere (checksums, identifiers of other systems) are not counted. The count is
//! of occurrences, not distinct tokens.
//!
//! # What never leaves
//! Identity numbers are written only to the `--out` file (mode 0600, staged and renamed, never
//! over an existing file). [`AffectedSummary`], the terminal and the audit line hold counts,
//! paths and key ids, never a value or token.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::audit::AuditEntry;
use crate::error::{Error, Result};
use crate::ident::date::Date;
use crate::ident::personnummer::{ParseOptions, Pnr};
use crate::io::ReadOptions;
use crate::pipeline::KeySource;
use crate::policy::Policy;

mod leaked;
mod register;

use leaked::*;
use register::*;

/// Bytes of a ciphertext of a canonical identity number: nonce (12), the 12 digits, tag (16).
pub const CIPHER_BYTES: usize = 12 + 12 + 16;
/// Length of such a ciphertext as base64url without padding.
pub const CIPHER_B64_LEN: usize = 54;
/// The most `(kind, space)` pairs a policy may scan (a bit each per person).
const MAX_SPACES: usize = 64;

/// Everything `minex affected` needs.
#[derive(Debug, Clone)]
pub struct AffectedConfig {
    /// The policy the extracts were made with (its domain, spaces, rules, reference date).
    pub policy: PathBuf,
    /// The register file(s), sharing one header, read as `minex run` reads its inputs.
    pub registers: Vec<PathBuf>,
    /// The leaked files (CSV or Parquet; Parquet is recognised by its magic bytes).
    pub leaked: Vec<PathBuf>,
    /// The notification list to write (CSV, mode 0600). Must not exist.
    pub out: PathBuf,
    /// The master key.
    pub key: KeySource,
    /// The audit log (see [`crate::audit::log_path`]).
    pub audit_log: PathBuf,
    /// How the register is read.
    pub read: ReadOptions,
}

/// What `minex affected` found: counts, paths and key ids only.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AffectedSummary {
    /// Distinct people of the register with a token (or ciphertext) in the leak.
    pub people_affected: u64,
    /// Per leaked file (as given), the distinct people found in it.
    pub per_file: Vec<(PathBuf, u64)>,
    /// Affected people under 18 at the policy's reference date.
    pub minors: u64,
    /// Affected people with a register row the policy's row rules drop.
    pub protected_identity: u64,
    /// Affected people identified by a samordningsnummer.
    pub coordination_numbers: u64,
    /// 32-hex runs that match no register token, in columns where some token matched.
    pub unmatched_tokens: u64,
    /// Distinct people (identity numbers) of the register that got tokens.
    pub register_people: u64,
    /// `purpose/space` → key id of every key used.
    pub key_ids: BTreeMap<String, String>,
}

/// Runs `minex affected`: writes the notification list to `cfg.out` and appends one line to
/// the audit log (outcome `ok`, or the error's category).
///
/// # Errors
/// `Usage` for an existing `--out`, an output that is an input, or a policy that tokenizes no
/// identity number; `Policy`, `Key`, `Io`, `Malformed` as `minex run` has them. The audit
/// line is appended on failure too (unless the audit log itself cannot be written).
pub fn affected(cfg: &AffectedConfig) -> Result<AffectedSummary> {
    // The audit log is appended to even when the command fails: it must never be a file
    // the command reads (a register, a leaked file), or that failure line would land in it.
    let mut not_the_log = reads_of(cfg);
    not_the_log.push(&cfg.out);
    crate::io::paths::check_no_collision(&not_the_log, &[&cfg.audit_log])?;
    let mut seen = Seen::default();
    let result = affected_inner(cfg, &mut seen);
    match result {
        Ok((summary, staged)) => {
            // The audit line first: no notification list without its trace in the log.
            let entry = audit_entry(cfg, &seen, Some(&summary), "ok");
            crate::audit::append(&cfg.audit_log, &entry)?;
            if let Err(e) = crate::io::output::commit(vec![staged], &[]) {
                let entry = audit_entry(cfg, &seen, None, &crate::audit::outcome(&e));
                let _ = crate::audit::append(&cfg.audit_log, &entry);
                return Err(e);
            }
            Ok(summary)
        }
        Err(e) => {
            let entry = audit_entry(cfg, &seen, None, &crate::audit::outcome(&e));
            crate::audit::append(&cfg.audit_log, &entry)?;
            Err(e)
        }
    }
}

/// Every file the command reads.
fn reads_of(cfg: &AffectedConfig) -> Vec<&Path> {
    let mut reads: Vec<&Path> = vec![&cfg.policy];
    reads.extend(cfg.registers.iter().map(PathBuf::as_path));
    reads.extend(cfg.leaked.iter().map(PathBuf::as_path));
    if let KeySource::Load(Some(k)) = &cfg.key {
        reads.push(k);
    }
    reads
}

/// What a command had learnt when it ended, for its audit line.
#[derive(Default)]
struct Seen {
    policy: Option<Policy>,
    key_ids: BTreeMap<String, String>,
}

fn audit_entry(
    cfg: &AffectedConfig,
    seen: &Seen,
    summary: Option<&AffectedSummary>,
    outcome: &str,
) -> AuditEntry {
    let output = cfg.out.display().to_string();
    let mut e = match &seen.policy {
        Some(p) => AuditEntry::new("affected", p, &output),
        None => AuditEntry {
            time: crate::report::rfc3339(std::time::SystemTime::now()),
            user: crate::audit::os_user(),
            command: "affected".into(),
            policy: String::new(),
            policy_sha256: String::new(),
            key_ids: BTreeMap::new(),
            items: BTreeMap::new(),
            output,
            outcome: String::new(),
        },
    };
    e.outcome = outcome.to_string();
    e.key_ids = seen.key_ids.clone();
    e.items
        .insert("leaked_files".into(), cfg.leaked.len() as u64);
    if let Some(s) = summary {
        e.items.insert("people_affected".into(), s.people_affected);
        e.items.insert("minors".into(), s.minors);
        e.items
            .insert("protected_identity".into(), s.protected_identity);
        e.items
            .insert("coordination_numbers".into(), s.coordination_numbers);
        e.items
            .insert("unmatched_tokens".into(), s.unmatched_tokens);
        e.items.insert("register_people".into(), s.register_people);
    }
    e
}

fn affected_inner(
    cfg: &AffectedConfig,
    seen: &mut Seen,
) -> Result<(AffectedSummary, crate::io::output::Staged)> {
    if cfg.registers.is_empty() {
        return Err(Error::usage(
            "`minex affected` needs at least one `--register FILE`",
        ));
    }
    if cfg.leaked.is_empty() {
        return Err(Error::usage(
            "`minex affected` needs at least one `--leaked FILE`",
        ));
    }
    crate::io::paths::check_no_collision(&reads_of(cfg), &[&cfg.out])?;
    if cfg.out.symlink_metadata().is_ok() {
        return Err(Error::usage(format!(
            "`--out` `{}` exists; minex affected never overwrites a file (it would hold identity numbers)",
            cfg.out.display()
        )));
    }
    let policy = crate::policy::from_file(&cfg.policy)?;
    seen.policy = Some(policy.clone());
    let mut read = cfg.read.clone();
    read.digest = false;
    let (plan, inputs, ring) =
        crate::pipeline::prepare_policy(&policy, &cfg.registers, &read, Some(&cfg.key))?;
    let scan = RegisterScan::new(&plan.policy, &plan.header)?;
    let ring = ring.ok_or_else(|| Error::internal("a key is needed but none was loaded"))?;
    let matchers = scan.matchers(&ring);
    let key_ids = scan.key_ids(&ring);
    seen.key_ids = key_ids.clone();
    tracing::info!(
        registers = inputs.len(),
        columns = scan.pnr_columns.len(),
        spaces = scan.spaces.len(),
        rules = scan.rules.len(),
        "affected: reading the register"
    );
    let index = scan.build_index(&inputs, &read, &matchers, plan.policy.reference_date)?;
    drop(matchers);
    tracing::info!(
        people = index.people.len(),
        tokens = index.tokens.len(),
        ciphertexts = index.ciphers.len(),
        "affected: register indexed"
    );
    let mut hits = Hits::new(cfg.leaked.len());
    for (fi, path) in cfg.leaked.iter().enumerate() {
        let file_index = u16::try_from(fi)
            .map_err(|_| Error::usage("`minex affected` reads at most 65,535 leaked files"))?;
        let mut counter = FileScan::new(&index, &mut hits, file_index);
        scan_leaked_file(path, &mut counter)?;
        let unmatched = counter.unmatched();
        hits.unmatched_tokens += unmatched;
        tracing::info!(
            leaked = %path.display(),
            people = hits.per_file[fi],
            unmatched_tokens = unmatched,
            "affected: leaked file scanned"
        );
    }
    let staged = crate::io::output::Staged::new(&cfg.out)?;
    let mut summary = write_list(
        &staged,
        &index,
        &hits,
        &cfg.leaked,
        &scan.spaces,
        &plan.policy,
    )?;
    summary.key_ids = key_ids;
    summary.register_people = index.people.len() as u64;
    summary.unmatched_tokens = hits.unmatched_tokens;
    summary.per_file = cfg
        .leaked
        .iter()
        .cloned()
        .zip(hits.per_file.iter().copied())
        .collect();
    Ok((summary, staged))
}

/// Whether someone with this number is under 18 at `reference`; a samordningsnummer without a
/// full birth date counts when the latest birth date it allows would make a minor.
fn is_minor(p: &Pnr, reference: Date) -> bool {
    match p.age_at(reference) {
        Some(age) => age < 18,
        None => {
            let d = p.canonical();
            let month = u32::from(d[4] - b'0') * 10 + u32::from(d[5] - b'0');
            let year = p.birth_year();
            let (m, day) = if (1..=12).contains(&month) {
                (month, crate::ident::date::days_in_month(year, month))
            } else {
                (12, 31)
            };
            Date::new(year, m, day).is_none_or(|latest| latest.age_at(reference) < 18)
        }
    }
}

/// Writes the notification list and counts what it holds.
fn write_list(
    staged: &crate::io::output::Staged,
    index: &Index,
    hits: &Hits,
    leaked: &[PathBuf],
    spaces: &[Space],
    policy: &Policy,
) -> Result<AffectedSummary> {
    let io = |e| Error::io(staged.tmp_path(), e);
    let opts = ParseOptions {
        reference: policy.reference_date,
        allow_interim: true,
    };
    let names: Vec<String> = leaked.iter().map(|p| p.display().to_string()).collect();
    let labels: Vec<String> = spaces.iter().map(Space::label).collect();
    let mut people: Vec<(&Person, &Hit)> = hits
        .people
        .iter()
        .map(|(p, h)| (&index.people[*p as usize], h))
        .collect();
    people.sort_unstable_by_key(|(p, _)| p.pnr);
    let mut summary = AffectedSummary::default();
    let mut w = staged.writer()?;
    w.write_all(b"personnummer,leaked_in,spaces,minor,protected_identity,coordination_number\n")
        .map_err(io)?;
    for (person, hit) in people {
        let text = std::str::from_utf8(&person.pnr)
            .map_err(|_| Error::internal("a canonical identity number is not ASCII"))?;
        let pnr = Pnr::parse(text, &opts)
            .map_err(|_| Error::internal("a canonical identity number does not parse"))?;
        let minor = is_minor(&pnr, policy.reference_date);
        let coordination = pnr.is_coordination();
        let files: Vec<&str> = hit
            .files
            .iter()
            .map(|f| names[usize::from(*f)].as_str())
            .collect();
        let matched: Vec<&str> = labels
            .iter()
            .enumerate()
            .filter(|(i, _)| hit.spaces & (1u64 << i) != 0)
            .map(|(_, l)| l.as_str())
            .collect();
        writeln!(
            w,
            "{},{},{},{},{},{}",
            text,
            crate::report::csv_safe_field(&files.join(";")),
            crate::report::csv_safe_field(&matched.join(";")),
            minor,
            person.protected,
            coordination
        )
        .map_err(io)?;
        summary.people_affected += 1;
        summary.minors += u64::from(minor);
        summary.protected_identity += u64::from(person.protected);
        summary.coordination_numbers += u64::from(coordination);
    }
    w.flush().map_err(io)?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_split_on_other_bytes() {
        let r: Vec<&[u8]> = runs(b"ab:cd--e", u8::is_ascii_hexdigit).collect();
        assert_eq!(r, vec![&b"ab"[..], b"cd", b"e"]);
    }

    /// A samordningsnummer `YYYYMMDD` + serial `NNN` with its Luhn check digit.
    fn with_check_digit(first11: &str) -> String {
        let nine: Vec<u8> = first11[2..].bytes().map(|b| b - b'0').collect();
        format!("{first11}{}", crate::ident::luhn::check_digit(&nine))
    }

    #[test]
    fn minors_without_a_full_birth_date_fail_safe() {
        let reference = Date::new(2026, 1, 1).unwrap();
        let opts = ParseOptions {
            reference,
            allow_interim: false,
        };
        // An adult and a child from Skatteverket's test list.
        let adult = Pnr::parse("194608239986", &opts).unwrap();
        assert!(!is_minor(&adult, reference));
        let child = Pnr::parse("201801012392", &opts).unwrap();
        assert!(is_minor(&child, reference));
        // Day 60: born some day of May 2008, 17 or 18 at the reference date: a minor.
        let unsure = Pnr::parse(&with_check_digit("20080560238"), &opts).unwrap();
        assert!(unsure.is_coordination() && unsure.age_at(reference).is_none());
        assert!(is_minor(&unsure, reference));
        // Month 00: born some day of 2008 (a minor, whatever the day), or of 2007 (18).
        let y2008 = Pnr::parse(&with_check_digit("20080060238"), &opts).unwrap();
        assert!(is_minor(&y2008, reference));
        let y2007 = Pnr::parse(&with_check_digit("20070060238"), &opts).unwrap();
        assert!(!is_minor(&y2007, reference));
    }
}
