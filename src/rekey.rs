//! `minex rekey` (issue 14): key rotation. For every value of the register that the policy
//! tokenizes or encrypts, old token → new token (old ciphertext → new ciphertext), so the
//! supplier can re-link its history to the extracts made with the new key (or for a new
//! domain) without ever seeing an identity number.
//!
//! # What is mapped
//! The register is read through the policy exactly as `minex run` reads it: the header must
//! fit the policy, values are canonicalized the same way (every spelling of a person is one
//! person), the row rules (`rows.drop_when`) remove their rows, and a row with an invalid
//! value in a column the run validates is left out, as the run rejects it (a value whose
//! column says `on_invalid: null` is only skipped; `on_invalid: fail`, which stops a run, is
//! here skipped and counted too). So people the policy never lets out, such as those with
//! protected identity, never get a mapping. Every `tokenize` and `encrypt` column is mapped,
//! identity numbers and any other (a `case_id` encrypted in space `case` changes with the key
//! too), deduplicated per space and kind: a person in two rows, or a child who is also a
//! guardian in another row, is one mapping per space. Rows the k-anonymity gate of a run would
//! suppress are not known here and are mapped (their old tokens were never sent; the mapping
//! gives nothing to join them with).
//!
//! # The mapping file
//! Parquet, zstd, one row per mapping, columns (all `Utf8`) `space` (not null),
//! `old_token`, `new_token` (set for `tokenize` spaces, null otherwise), `old_ciphertext`,
//! `new_ciphertext` (set for `encrypt` spaces, null otherwise): nullable columns rather than
//! a `kind` column, so a space used by both actions stays unambiguous and a join on
//! `old_token` can never pick up a ciphertext. Rows are sorted by space (in the order the
//! policy first names it), tokens before ciphertexts, then by the old value: the order says
//! nothing about the register's row order. Never an identity number or other value.
//!
//! Beside it, `NAME.manifest.json` ([`RekeyManifest`]): the policy, both domains, both
//! key-id maps, the inputs' digests, the file's digest, the row accounting and the number of
//! mappings per space. Both are staged and renamed into place together, the manifest last.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use arrow::array::{ArrayRef, RecordBatch, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ident::InvalidReason;
use crate::io::ReadOptions;
use crate::io::output::{HashingWriter, OutputPaths, Staged, commit, sha256_file};
use crate::keys::{KeyRing, MasterKey};
use crate::lookup::Kind;
use crate::policy::{Action, OnInvalid, Policy};
use crate::report::manifest::{FileInfo, OutputInfo, PolicyInfo, Tool};

/// Rows per write call of the mapping file.
const WRITE_ROWS: usize = 64 * 1024;

/// Everything a rekey needs besides the policy.
#[derive(Debug, Clone)]
pub struct RekeyConfig {
    /// The register file(s), sharing one header.
    pub inputs: Vec<PathBuf>,
    /// Reader settings.
    pub read: ReadOptions,
    /// The key the existing extracts were made with.
    pub old_key: MasterKey,
    /// The key the next extracts will be made with.
    pub new_key: MasterKey,
    /// The new domain (default: the policy's).
    pub new_domain: Option<String>,
    /// `DIR/NAME.parquet`; the manifest is `DIR/NAME.manifest.json`.
    pub out: PathBuf,
}

/// One side (old or new) of the rotation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct KeySide {
    /// The pseudonymisation domain.
    pub domain: String,
    /// `purpose/space` → key id (never a key).
    pub key_ids: BTreeMap<String, String>,
}

/// Mappings of one space and kind.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SpaceCount {
    /// The space.
    pub space: String,
    /// `token` or `ciphertext`.
    pub kind: String,
    /// Distinct values mapped.
    pub mappings: u64,
}

/// Row accounting of the register: `input = filtered + rejected + used`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RekeyRows {
    /// Data rows read.
    #[serde(rename = "in")]
    pub input: u64,
    /// Removed by the policy's row rules.
    pub filtered: u64,
    /// Left out for an invalid value (as a run rejects them).
    pub rejected: u64,
    /// Rows whose values were mapped.
    pub used: u64,
    /// Invalid values in the rows the rules kept, per reason code (a row may have several).
    pub invalid_by_reason: BTreeMap<String, u64>,
}

/// `NAME.manifest.json` beside a mapping file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RekeyManifest {
    /// The tool.
    pub tool: Tool,
    /// Always `rekey`.
    pub command: String,
    /// The policy used.
    pub policy: PolicyInfo,
    /// The policy's reference date, `YYYY-MM-DD`.
    pub reference_date: String,
    /// The key and domain of the existing extracts.
    pub old: KeySide,
    /// The key and domain of the next extracts.
    pub new: KeySide,
    /// The register file(s).
    pub inputs: Vec<FileInfo>,
    /// The mapping file.
    pub output: OutputInfo,
    /// Row accounting.
    pub rows: RekeyRows,
    /// Mappings per space and kind, in file order.
    pub spaces: Vec<SpaceCount>,
    /// All mappings.
    pub mappings: u64,
    /// Start time (RFC 3339, UTC).
    pub started: String,
    /// End time (RFC 3339, UTC).
    pub finished: String,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// What a rekey did.
#[derive(Debug, Clone)]
pub struct RekeySummary {
    /// The manifest written.
    pub manifest: RekeyManifest,
    /// The mapping file and its manifest.
    pub paths: OutputPaths,
}

/// The (space, kind) pairs of every `tokenize` and `encrypt` column, in the order the policy
/// first names them (tokens before ciphertexts within a space named by both).
pub fn targets(policy: &Policy) -> Vec<(String, Kind)> {
    let mut out: Vec<(String, Kind)> = Vec::new();
    for c in &policy.columns {
        let t = match &c.action {
            Action::Tokenize { space } => (space.clone(), Kind::Token),
            Action::Encrypt { space } => (space.clone(), Kind::Ciphertext),
            _ => continue,
        };
        if !out.contains(&t) {
            out.push(t);
        }
    }
    let first: BTreeMap<String, usize> = out
        .iter()
        .enumerate()
        .rev()
        .map(|(i, (s, _))| (s.clone(), i))
        .collect();
    out.sort_by_key(|(s, k)| (first[s], *k));
    out
}

/// The key ids of `targets` in `ring`.
pub fn key_ids(ring: &KeyRing, targets: &[(String, Kind)]) -> BTreeMap<String, String> {
    let mut ids = BTreeMap::new();
    for (space, kind) in targets {
        ring.record_key_ids(&mut ids, space, *kind == Kind::Ciphertext);
    }
    ids
}

/// Checks a domain given on the command line as the policy checks its own.
///
/// # Errors
/// `Usage` for an empty domain, one with a zero byte, or the placeholder `minex init` writes.
pub fn check_domain(domain: &str) -> Result<()> {
    if domain.is_empty() || domain.contains('\0') {
        return Err(Error::usage(
            "`--new-domain` must be non-empty text without a zero byte",
        ));
    }
    if domain == crate::policy::PLACEHOLDER_DOMAIN {
        return Err(Error::usage(
            "`--new-domain` is the placeholder `minex init` writes; name the recipient",
        ));
    }
    Ok(())
}

/// Reads the register through `policy` and writes the mapping file and its manifest.
///
/// `key_ids_out` receives both key-id maps (`old:purpose/space`, `new:purpose/space`) as
/// soon as they are known, for the audit log of a rekey that fails later.
///
/// # Errors
/// `Usage` (no tokenize/encrypt column, nothing changes, a bad `--out`), `Policy`/`Schema`,
/// `Malformed`, `Io`.
pub fn rekey(
    policy: &Policy,
    cfg: RekeyConfig,
    key_ids_out: &mut BTreeMap<String, String>,
) -> Result<RekeySummary> {
    let started_at = SystemTime::now();
    let clock = Instant::now();
    let paths = OutputPaths::from_out(&cfg.out)?;
    let new_domain = cfg
        .new_domain
        .clone()
        .unwrap_or_else(|| policy.domain.clone());
    check_domain(&new_domain)?;
    let targets = targets(policy);
    if targets.is_empty() {
        return Err(Error::usage(format!(
            "policy `{}` neither tokenizes nor encrypts a column: there is nothing to rekey",
            policy.name
        )));
    }
    let old_ring = KeyRing::new(cfg.old_key, policy.domain.clone());
    let new_ring = KeyRing::new(cfg.new_key, new_domain.clone());
    let old_ids = key_ids(&old_ring, &targets);
    let new_ids = key_ids(&new_ring, &targets);
    for (k, v) in &old_ids {
        key_ids_out.insert(format!("old:{k}"), v.clone());
    }
    for (k, v) in &new_ids {
        key_ids_out.insert(format!("new:{k}"), v.clone());
    }
    if old_ids == new_ids {
        return Err(Error::usage(
            "the old and new keys give the same key ids in this domain: nothing would change (give another `--new-key-file` or `--new-domain`)",
        ));
    }
    let (plan, inputs, _) = crate::pipeline::prepare_policy(policy, &cfg.inputs, &cfg.read, None)?;

    // Which target each read column feeds.
    let target_of: Vec<Option<usize>> = plan
        .columns
        .iter()
        .map(|(spec, _)| {
            let t = match &spec.action {
                Action::Tokenize { space } => (space.clone(), Kind::Token),
                Action::Encrypt { space } => (space.clone(), Kind::Ciphertext),
                _ => return None,
            };
            targets.iter().position(|x| *x == t)
        })
        .collect();
    // Canonical values and row rules exactly as a run makes them (the core's first half of
    // a transform); the tokens it could make are not used.
    let tx = minex_core::Transformer::with_ring(&plan, Some(&old_ring))?;

    let (values, rows, input_infos) =
        collect_values(&tx, &inputs, &cfg.read, &target_of, targets.len())?;
    if rows.input != rows.filtered + rows.rejected + rows.used {
        return Err(Error::internal("rekey row accounting does not add up"));
    }

    // The mapping file.
    let sides = Sides {
        policy,
        new_domain: &new_domain,
        old_ring: &old_ring,
        new_ring: &new_ring,
        old_ids: &old_ids,
        new_ids: &new_ids,
    };
    let (staged, sha256, bytes, spaces, total, schema) =
        write_mapping(&paths, &sides, &targets, values)?;

    let finished_at = SystemTime::now();
    let manifest = RekeyManifest {
        tool: Tool {
            name: "minex".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        command: "rekey".into(),
        policy: PolicyInfo {
            name: policy.name.clone(),
            path: policy.path.display().to_string(),
            sha256: policy.sha256.clone(),
        },
        reference_date: policy.reference_date.to_string(),
        old: KeySide {
            domain: policy.domain.clone(),
            key_ids: old_ids,
        },
        new: KeySide {
            domain: new_domain,
            key_ids: new_ids,
        },
        inputs: input_infos,
        output: OutputInfo {
            path: paths.parquet.display().to_string(),
            sha256,
            bytes,
            rows: total,
            columns: schema.fields().len() as u64,
        },
        rows,
        spaces,
        mappings: total,
        started: crate::report::rfc3339(started_at),
        finished: crate::report::rfc3339(finished_at),
        seconds: clock.elapsed().as_secs_f64(),
    };
    let mut json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| Error::internal(format!("manifest as JSON: {e}")))?;
    json.push(b'\n');
    let staged_manifest = Staged::new(&paths.manifest)?;
    crate::io::output::write_all(&staged_manifest, &json)?;
    commit(vec![staged, staged_manifest], &[])?;
    Ok(RekeySummary { manifest, paths })
}

/// The distinct canonical values of every target over the inputs' rows a run would write,
/// the rows' accounting and the inputs' digests.
#[allow(clippy::type_complexity)]
fn collect_values(
    tx: &minex_core::Transformer,
    inputs: &[crate::io::Input],
    read: &crate::io::ReadOptions,
    target_of: &[Option<usize>],
    targets: usize,
) -> Result<(Vec<HashSet<Box<[u8]>>>, RekeyRows, Vec<FileInfo>)> {
    let plan = tx.plan();
    let mut values: Vec<HashSet<Box<[u8]>>> = vec![HashSet::new(); targets];
    let mut rows = RekeyRows::default();
    let mut input_infos = Vec::with_capacity(inputs.len());
    for input in inputs {
        let mut reader = input.batches(&plan.read, read)?;
        let mut rows_here = 0u64;
        while let Some((first_row, batch)) = reader.next_batch()? {
            let n = batch.num_rows();
            rows_here += n as u64;
            // 1-2. Canonical values and row rules.
            let mut canonical = tx
                .canonicalize(&batch)
                .map_err(|e| e.in_file(&input.path, first_row))?;
            let alive = &canonical.alive;
            rows.filtered += canonical.filtered_by_rule.iter().sum::<usize>() as u64;
            let invalid_by_column = std::mem::take(&mut canonical.invalid);
            // 3. Invalid values: the row is left out unless its column says `null`.
            let mut rejected = vec![false; n];
            for (ci, invalid) in invalid_by_column.into_iter().enumerate() {
                let on_invalid = plan.columns[ci].0.on_invalid;
                for (i, reason) in invalid {
                    if !alive[i] {
                        continue;
                    }
                    count_reason(&mut rows, reason);
                    if on_invalid != OnInvalid::Null {
                        rejected[i] = true;
                    }
                }
            }
            // 4. The mapped values of the rows kept.
            for (ci, t) in target_of.iter().enumerate() {
                let Some(t) = t else { continue };
                let text = canonical
                    .text(ci)?
                    .ok_or_else(|| Error::internal("a mapped column has no canonical text"))?;
                let text = &text;
                for i in 0..n {
                    if alive[i] && !rejected[i] && arrow::array::Array::is_valid(text, i) {
                        let v = text.value(i).as_bytes();
                        if !values[*t].contains(v) {
                            values[*t].insert(Box::from(v));
                        }
                    }
                }
            }
            for i in 0..n {
                if alive[i] {
                    if rejected[i] {
                        rows.rejected += 1;
                    } else {
                        rows.used += 1;
                    }
                }
            }
        }
        rows.input += rows_here;
        let (sha256, bytes) = match reader.digest() {
            Some(d) => d,
            None => sha256_file(&input.path)?,
        };
        input_infos.push(FileInfo {
            path: input.path.display().to_string(),
            sha256,
            bytes,
            rows: rows_here,
        });
    }
    Ok((values, rows, input_infos))
}

/// Both sides of a rekey.
struct Sides<'a> {
    policy: &'a Policy,
    new_domain: &'a str,
    old_ring: &'a KeyRing,
    new_ring: &'a KeyRing,
    old_ids: &'a BTreeMap<String, String>,
    new_ids: &'a BTreeMap<String, String>,
}

/// Writes the mapping file (staged): every value's old and new token or ciphertext.
#[allow(clippy::type_complexity)]
fn write_mapping(
    paths: &OutputPaths,
    sides: &Sides<'_>,
    targets: &[(String, Kind)],
    values: Vec<HashSet<Box<[u8]>>>,
) -> Result<(Staged, String, u64, Vec<SpaceCount>, u64, SchemaRef)> {
    let Sides {
        policy,
        new_domain,
        old_ring,
        new_ring,
        old_ids,
        new_ids,
    } = sides;
    let schema = mapping_schema();
    let old_ids_text = old_ids.values().cloned().collect::<Vec<_>>().join(",");
    let new_ids_text = new_ids.values().cloned().collect::<Vec<_>>().join(",");
    let metadata = [
        ("minex.version", env!("CARGO_PKG_VERSION").to_string()),
        ("minex.kind", "rekey-mapping".to_string()),
        ("minex.policy_sha256", policy.sha256.clone()),
        ("minex.old_domain", policy.domain.clone()),
        ("minex.new_domain", new_domain.to_string()),
        ("minex.old_key_ids", old_ids_text),
        ("minex.new_key_ids", new_ids_text),
    ];
    let schema: SchemaRef = crate::writer::stamped(&schema, &metadata);
    let mut props = WriterProperties::builder();
    for name in ["old_token", "new_token", "old_ciphertext", "new_ciphertext"] {
        let col = parquet::schema::types::ColumnPath::from(name);
        props = props
            .set_column_dictionary_enabled(col.clone(), false)
            .set_column_statistics_enabled(col, EnabledStatistics::None);
    }
    let props = crate::writer::footer(
        props.set_compression(Compression::ZSTD(ZstdLevel::default())),
        &metadata,
    )
    .build();
    let staged = Staged::new(&paths.parquet)?;
    let mut writer = ArrowWriter::try_new(
        HashingWriter::new(staged.file()?),
        schema.clone(),
        Some(props),
    )
    .map_err(|e| Error::internal(format!("cannot start the Parquet writer: {e}")))?;
    let write_err = |_| {
        Error::io(
            staged.tmp_path(),
            std::io::Error::other("Parquet write failed"),
        )
    };
    let mut spaces = Vec::with_capacity(targets.len());
    let mut total = 0u64;
    for ((space, kind), set) in targets.iter().zip(values) {
        let mappings = set.len() as u64;
        total += mappings;
        spaces.push(SpaceCount {
            space: space.clone(),
            kind: kind.name().to_string(),
            mappings,
        });
        let pairs = map_values(set, space, *kind, old_ring, new_ring);
        for chunk in pairs.chunks(WRITE_ROWS) {
            let batch = mapping_batch(&schema, space, *kind, chunk)?;
            writer.write(&batch).map_err(write_err)?;
        }
    }
    let hashing = writer.into_inner().map_err(write_err)?;
    let (sha256, bytes) = hashing
        .finish()
        .map_err(|e| Error::io(staged.tmp_path(), e))?;

    Ok((staged, sha256, bytes, spaces, total, schema))
}

fn count_reason(rows: &mut RekeyRows, reason: InvalidReason) {
    *rows
        .invalid_by_reason
        .entry(reason.code().to_string())
        .or_insert(0) += 1;
}

/// The schema of the mapping file.
pub fn mapping_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("space", DataType::Utf8, false),
        Field::new("old_token", DataType::Utf8, true),
        Field::new("new_token", DataType::Utf8, true),
        Field::new("old_ciphertext", DataType::Utf8, true),
        Field::new("new_ciphertext", DataType::Utf8, true),
    ]))
}

/// Old and new value of every canonical value of one space, sorted by the old value.
fn map_values(
    set: HashSet<Box<[u8]>>,
    space: &str,
    kind: Kind,
    old: &KeyRing,
    new: &KeyRing,
) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = match kind {
        Kind::Token => {
            let (o, n) = (old.tokenizer(space), new.tokenizer(space));
            set.into_iter()
                .map(|v| (o.token(&v), n.token(&v)))
                .collect()
        }
        Kind::Ciphertext => {
            let (o, n) = (old.encryptor(space), new.encryptor(space));
            set.into_iter()
                .map(|v| (o.encrypt(&v), n.encrypt(&v)))
                .collect()
        }
    };
    pairs.sort_unstable();
    pairs
}

fn mapping_batch(
    schema: &SchemaRef,
    space: &str,
    kind: Kind,
    pairs: &[(String, String)],
) -> Result<RecordBatch> {
    let n = pairs.len();
    let mut spaces = StringBuilder::with_capacity(n, n * space.len());
    let mut old = StringBuilder::with_capacity(n, n * 54);
    let mut new = StringBuilder::with_capacity(n, n * 54);
    for (o, w) in pairs {
        spaces.append_value(space);
        old.append_value(o);
        new.append_value(w);
    }
    let nulls = || -> ArrayRef { arrow::array::new_null_array(&DataType::Utf8, n) };
    let (old, new): (ArrayRef, ArrayRef) = (Arc::new(old.finish()), Arc::new(new.finish()));
    let columns: Vec<ArrayRef> = match kind {
        Kind::Token => vec![Arc::new(spaces.finish()), old, new, nulls(), nulls()],
        Kind::Ciphertext => vec![Arc::new(spaces.finish()), nulls(), nulls(), old, new],
    };
    RecordBatch::try_new(schema.clone(), columns)
        .map_err(|e| Error::internal(format!("mapping batch: {e}")))
}

/// Where `rekey` writes, for the collision check: the mapping file and its manifest.
///
/// # Errors
/// `Usage` for an `--out` that does not end in `.parquet`.
pub fn output_paths(out: &Path) -> Result<OutputPaths> {
    OutputPaths::from_out(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_in_policy_order_tokens_first() {
        let p = crate::policy::from_str(
            "version: 1\nname: t\ndomain: d\nreference_date: 2026-01-01\ncolumns:\n  a: { action: encrypt, space: s }\n  b: { type: personnummer, action: tokenize, space: person }\n  c: { action: tokenize, space: s }\n  d: keep\n",
            Path::new("t.yaml"),
        )
        .unwrap();
        assert_eq!(
            targets(&p),
            vec![
                ("s".to_string(), Kind::Token),
                ("s".to_string(), Kind::Ciphertext),
                ("person".to_string(), Kind::Token),
            ]
        );
    }

    #[test]
    fn new_domains_are_checked() {
        assert!(check_domain("ok").is_ok());
        assert!(check_domain("").is_err());
        assert!(check_domain("a\0b").is_err());
        assert!(check_domain(crate::policy::PLACEHOLDER_DOMAIN).is_err());
    }
}
