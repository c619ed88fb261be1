//! `minex reidentify`: the steward's way back from an `encrypt` column to the values.
//!
//! Only the holder of the master key can do this. The extract's `minex.domain` metadata must
//! match the policy's domain, and each value must authenticate (AES-GCM-SIV tag and the
//! deterministic nonce), so a value from another domain, space or key is refused by row number.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use arrow::array::Array;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::error::{Error, ErrorKind, Location, PolicyProblem, Result};
use crate::keys::{KeyRing, MasterKey};
use crate::policy::Action;

/// Decrypts `column` of `extract` and writes CSV `row,value` to `out`; returns the number of
/// values decrypted.
///
/// # Errors
/// `Usage` when the column is not an `encrypt` column of the policy, `Key` when the extract
/// belongs to another domain or a value does not authenticate, `Io`/`Malformed` for the file.
pub fn reidentify(
    policy_path: &Path,
    key: MasterKey,
    extract: &Path,
    column: &str,
    out: &mut dyn Write,
    output_name: &Path,
) -> Result<u64> {
    let policy = crate::policy::from_file(policy_path)?;
    let space = match policy.column(column).map(|c| &c.action) {
        Some(Action::Encrypt { space }) => space.clone(),
        Some(a) => {
            return Err(Error::usage(format!(
                "column `{column}` is `{}` in the policy; only `encrypt` columns can be reidentified (tokens are one-way)",
                a.name()
            )));
        }
        None => {
            return Err(ErrorKind::Policy {
                path: policy_path.to_path_buf(),
                problems: vec![PolicyProblem {
                    line: None,
                    path: format!("columns.{column}"),
                    message: "the policy does not name this column".into(),
                }],
            }
            .into());
        }
    };
    let file = File::open(extract).map_err(|e| Error::io(extract, e))?;
    let builder = crate::io::guard(extract, || {
        ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|_| Error::malformed(Location::file(extract), "not a readable Parquet file"))
    })?;
    let domain = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|k| k.key == "minex.domain"))
        .and_then(|k| k.value.clone());
    match domain {
        Some(d) if d == policy.domain => {}
        Some(d) => {
            return Err(Error::key(format!(
                "the extract was made for domain `{d}`, the policy says `{}`",
                policy.domain
            )));
        }
        None => {
            return Err(Error::malformed(
                Location::file(extract),
                "no `minex.domain` metadata: not an extract made by minex",
            ));
        }
    }
    let idx = builder
        .schema()
        .index_of(column)
        .map_err(|_| Error::usage(format!("the extract has no column `{column}`")))?;
    let mask = ProjectionMask::roots(builder.parquet_schema(), [idx]);
    let mut reader = crate::io::guard(extract, || {
        builder
            .with_projection(mask)
            .build()
            .map_err(|_| Error::malformed(Location::file(extract), "cannot read the extract"))
    })?;
    let enc = KeyRing::new(key, policy.domain.clone()).encryptor(&space);
    let io = |e| Error::io(output_name, e);
    out.write_all(b"row,value\n").map_err(io)?;
    let mut row = 0u64;
    let mut n = 0u64;
    while let Some(batch) = crate::io::guard(extract, || Ok(reader.next()))? {
        let batch = batch
            .map_err(|_| Error::malformed(Location::file(extract), "cannot decode the extract"))?;
        let text = crate::transform::canonical::as_utf8(batch.column(0), column)?;
        for i in 0..text.len() {
            row += 1;
            if text.is_null(i) {
                writeln!(out, "{row},").map_err(io)?;
                continue;
            }
            let plain = enc.decrypt(text.value(i)).map_err(|_| {
                Error::key(format!(
                    "{}: the value does not decrypt with this key, domain and space (wrong key, or a modified extract)",
                    Location::file(extract).with_row(row).with_column(column)
                ))
            })?;
            let s = String::from_utf8_lossy(&plain);
            writeln!(out, "{row},{}", crate::report::csv_field(&s)).map_err(io)?;
            n += 1;
        }
    }
    Ok(n)
}
