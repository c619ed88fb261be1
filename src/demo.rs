//! `minex demo`: the whole job on synthetic data, from nothing.
//!
//! Generates a synthetic register ([`crate::synth`]), writes a fresh demo key and a copy of
//! the bundled `schemas/school-supplier.yaml`, and runs the pipeline exactly as `minex run`
//! does (the key is read back from the key file, through the same checks).

use std::path::Path;

use crate::error::{Error, Result};
use crate::keys::MasterKey;
use crate::pipeline::{KeySource, RunConfig, RunSummary};

/// The files the demo writes in its directory.
pub const FILES: [&str; 6] = [
    "register.csv",
    "school-supplier.yaml",
    "demo.key",
    "school-supplier.parquet",
    "school-supplier.manifest.json",
    "school-supplier.rejects.csv",
];
/// The file that marks a directory as the demo's own: only there does it replace [`FILES`].
const MARKER: &str = ".minex-demo";
const MARKER_TEXT: &str = "This directory was made by `minex demo`; it may replace its files.\n";

/// The demo never overwrites a file it did not make: in a directory without its marker, any
/// of its file names already taken stops it (a steward's `--out .` next to a real register).
fn refuse_foreign_files(dir: &Path) -> Result<()> {
    let marker = std::fs::read_to_string(dir.join(MARKER)).ok();
    if marker.as_deref() == Some(MARKER_TEXT) {
        return Ok(());
    }
    let taken: Vec<&str> = FILES
        .iter()
        .copied()
        .filter(|f| dir.join(f).symlink_metadata().is_ok())
        .collect();
    if taken.is_empty() {
        return Ok(());
    }
    Err(Error::usage(format!(
        "`{}` already holds {} that `minex demo` did not make; give `--out` a new or empty directory",
        dir.display(),
        taken
            .iter()
            .map(|f| format!("`{f}`"))
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

/// The bundled school-supplier policy.
pub const SCHOOL_SUPPLIER_POLICY: &str = include_str!("../schemas/school-supplier.yaml");

/// Runs the demo in `dir`.
///
/// # Errors
/// Any error of the run; `Io` when `dir` cannot be written.
pub fn run_demo(dir: &Path, rows: u64, seed: u64) -> Result<RunSummary> {
    refuse_foreign_files(dir)?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    std::fs::write(dir.join(MARKER), MARKER_TEXT).map_err(|e| Error::io(dir.join(MARKER), e))?;
    let register = dir.join("register.csv");
    crate::synth::RegisterBuilder::new(rows)
        .with_seed(seed)
        .write_csv_file(&register)
        .map_err(|e| Error::io(&register, e))?;
    let policy = dir.join("school-supplier.yaml");
    std::fs::write(&policy, SCHOOL_SUPPLIER_POLICY).map_err(|e| Error::io(&policy, e))?;
    let key_path = dir.join("demo.key");
    if key_path.exists() {
        std::fs::remove_file(&key_path).map_err(|e| Error::io(&key_path, e))?;
    }
    crate::keyfile::write_new(&MasterKey::generate()?, &key_path)?;
    let cfg = RunConfig::new(
        policy,
        vec![register],
        dir.join("school-supplier.parquet"),
        KeySource::Load(Some(key_path)),
    );
    crate::pipeline::run(&cfg)
}
