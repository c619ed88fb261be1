//! Shared helpers for the integration tests: temporary directories, policy and key files, the
//! `minex` binary run as a child process, and reading the Parquet it writes.
//!
//! Every key here is a TEST key made from a fixed byte pattern; every identity number comes
//! from Skatteverket's official list of test personnummer (`shared/testdata/skatteverket`).
#![allow(dead_code)]

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::File;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray};
use arrow::compute::concat_batches;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use minex::keys::{KeyRing, MasterKey};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use sha2::{Digest, Sha256};
use tempfile::TempDir;

/// The TEST master key's bytes: 0xa0, 0xa1, ... 0xbf. Never use it for real data.
pub const TEST_KEY_BYTES: [u8; 32] = {
    let mut b = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        b[i] = 0xa0 + i as u8;
        i += 1;
    }
    b
};

/// The TEST master key as its key file holds it (without the newline).
pub const TEST_KEY_HEX: &str = "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf";

/// The TEST master key. Never use it for real data.
pub fn test_key() -> MasterKey {
    MasterKey::from_bytes(TEST_KEY_BYTES)
}

/// The token minex must write for `canonical` in `domain`/`space` with the TEST key.
pub fn expected_token(domain: &str, space: &str, canonical: &str) -> String {
    KeyRing::new(test_key(), domain)
        .tokenizer(space)
        .token(canonical.as_bytes())
}

/// The repository root (where `schemas/` lives).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One of the example policies under `schemas/`.
pub fn schema(name: &str) -> PathBuf {
    repo().join("schemas").join(name)
}

/// The text of an example policy.
pub fn schema_text(name: &str) -> String {
    std::fs::read_to_string(schema(name)).unwrap()
}

/// A fixture under `tests/data/fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    repo().join("tests/data/fixtures").join(name)
}

/// A fresh temporary directory (removed on drop).
pub fn tempdir() -> TempDir {
    tempfile::Builder::new()
        .prefix("minex-it-")
        .tempdir()
        .unwrap()
}

/// Writes `contents` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, contents).unwrap();
    path
}

/// Writes the TEST key file with mode 0600.
pub fn write_key_file(dir: &Path) -> PathBuf {
    write_key_file_mode(dir, "test.key", 0o600)
}

/// Writes the TEST key file with the given mode.
pub fn write_key_file_mode(dir: &Path, name: &str, mode: u32) -> PathBuf {
    let path = write(dir, name, format!("{TEST_KEY_HEX}\n"));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

/// Skatteverket's official TEST personnummer (12 digits), in file order.
pub fn test_pnrs() -> Vec<String> {
    let path = repo().join("../shared/testdata/skatteverket/testpersonnummer.json");
    let v = read_json(&path);
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

/// A synthetic register of `rows` rows from [`minex::synth::RegisterBuilder`].
pub fn register(dir: &Path, name: &str, rows: u64, seed: u64) -> PathBuf {
    let path = dir.join(name);
    minex::synth::RegisterBuilder::new(rows)
        .with_seed(seed)
        .write_csv_file(&path)
        .unwrap();
    path
}

/// What a run of the binary did.
#[derive(Debug)]
pub struct Output {
    /// The exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output, lossily decoded.
    pub stdout: String,
    /// Standard error, lossily decoded.
    pub stderr: String,
}

impl Output {
    /// Panics with both streams unless the exit code is `code`.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "expected exit code {code}, got {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }
}

/// The `minex` binary with `MINEX_KEY` removed from its environment.
pub fn minex_cmd() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_minex"));
    c.env_remove("MINEX_KEY");
    c
}

/// Runs `cmd` and captures its exit code and output.
pub fn run_cmd(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `minex ARGS` (without `MINEX_KEY`).
pub fn minex<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run_cmd(minex_cmd().args(args))
}

/// Runs `minex run --policy P --input I... --out O --key-file K EXTRA...`.
pub fn minex_run(
    policy: &Path,
    inputs: &[&Path],
    out: &Path,
    key: &Path,
    extra: &[&str],
) -> Output {
    let mut c = minex_cmd();
    c.arg("run").arg("--policy").arg(policy);
    for i in inputs {
        c.arg("--input").arg(i);
    }
    c.arg("--out").arg(out).arg("--key-file").arg(key);
    c.args(extra);
    run_cmd(&mut c)
}

/// A Parquet file read back: its batches concatenated, and its key-value metadata.
#[derive(Debug)]
pub struct Extract {
    /// All rows in one batch.
    pub batch: RecordBatch,
    /// The Arrow schema.
    pub schema: SchemaRef,
    /// `minex.*` and other key-value metadata.
    pub metadata: HashMap<String, String>,
    /// Row count from the footer.
    pub footer_rows: i64,
}

impl Extract {
    /// The column `name` as text (every type cast to `Utf8`; nulls stay `None`).
    pub fn strings(&self, name: &str) -> Vec<Option<String>> {
        let col = self
            .batch
            .column_by_name(name)
            .unwrap_or_else(|| panic!("no column `{name}` in the extract"));
        let text = arrow::compute::cast(col, &DataType::Utf8).unwrap();
        text.as_string::<i32>()
            .iter()
            .map(|v| v.map(str::to_string))
            .collect()
    }

    /// The data type of column `name`.
    pub fn data_type(&self, name: &str) -> DataType {
        self.schema
            .field_with_name(name)
            .unwrap()
            .data_type()
            .clone()
    }

    /// Column names in order.
    pub fn names(&self) -> Vec<String> {
        self.schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.batch.num_rows()
    }
}

/// Reads a Parquet file into one batch plus its key-value metadata.
pub fn read_parquet(path: &Path) -> Extract {
    let file = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let meta = builder.metadata().file_metadata();
    let metadata: HashMap<String, String> = meta
        .key_value_metadata()
        .map(|kv| {
            kv.iter()
                .map(|k| (k.key.clone(), k.value.clone().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    let footer_rows = meta.num_rows();
    let with_metadata = builder.schema().clone();
    let batches: Vec<RecordBatch> = builder.build().unwrap().collect::<Result<_, _>>().unwrap();
    let batch = concat_batches(&with_metadata, &batches).unwrap();
    // The reader copies the key-value metadata into the schema; keep it apart, so that two
    // extracts compare by their data.
    let schema = Arc::new(Schema::new(with_metadata.fields().clone()));
    let batch = RecordBatch::try_new(schema.clone(), batch.columns().to_vec()).unwrap();
    Extract {
        batch,
        schema,
        metadata,
        footer_rows,
    }
}

/// The sorted names of the entries of `dir` (hidden ones included).
pub fn list_dir(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// SHA-256 of a file's bytes, as lowercase hex, and its size.
pub fn sha256_file(path: &Path) -> (String, u64) {
    let bytes = std::fs::read(path).unwrap();
    (hex::encode(Sha256::digest(&bytes)), bytes.len() as u64)
}

/// Reads a JSON file.
pub fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Whether `text` holds a run of at least 32 hex digits (a token or key would be one).
pub fn has_hex_run(text: &str, len: usize) -> bool {
    let mut run = 0;
    for c in text.chars() {
        if c.is_ascii_hexdigit() {
            run += 1;
            if run >= len {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

/// Parses simple CSV text (RFC 4180 quoting) into records.
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    rdr.records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

/// Every value of column `name` of a CSV file (header row excluded).
pub fn csv_column(path: &Path, name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let records = parse_csv(&text);
    let idx = records[0].iter().position(|h| h == name).unwrap();
    records[1..].iter().map(|r| r[idx].clone()).collect()
}

/// The non-null values, in order.
pub fn non_null(values: &[Option<String>]) -> Vec<String> {
    values.iter().flatten().cloned().collect()
}

/// Whether an Arrow array is entirely null.
pub fn all_null(batch: &RecordBatch, name: &str) -> bool {
    let c = batch.column_by_name(name).unwrap();
    c.null_count() == c.len()
}

/// A batch of nullable `Utf8` columns, by name.
pub fn text_batch<S: AsRef<str>>(columns: &[(&str, Vec<Option<S>>)]) -> RecordBatch {
    let schema = Schema::new(
        columns
            .iter()
            .map(|(n, _)| Field::new(*n, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    );
    RecordBatch::try_new(
        Arc::new(schema),
        columns
            .iter()
            .map(|(_, v)| {
                Arc::new(
                    v.iter()
                        .map(|x| x.as_ref().map(AsRef::as_ref))
                        .collect::<StringArray>(),
                ) as ArrayRef
            })
            .collect(),
    )
    .unwrap()
}

/// A small deterministic generator for seeded randomized tests (splitmix64), so a failing
/// case can be replayed from its seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}
