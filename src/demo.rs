//! `minex demo`: the whole job on synthetic data, from nothing.
//!
//! Generates a synthetic register ([`crate::synth`]), writes a fresh demo key and a copy of
//! the bundled `schemas/school-supplier.yaml`, and runs the pipeline exactly as `minex run`
//! does (the key is read back from the key file, through the same checks).

use std::path::Path;

use crate::error::{Error, Result};
use crate::keys::MasterKey;
use crate::pipeline::{KeySource, RunConfig, RunSummary};

/// The bundled school-supplier policy.
pub const SCHOOL_SUPPLIER_POLICY: &str = include_str!("../schemas/school-supplier.yaml");

/// Runs the demo in `dir`.
///
/// # Errors
/// Any error of the run; `Io` when `dir` cannot be written.
pub fn run_demo(dir: &Path, rows: u64, seed: u64) -> Result<RunSummary> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
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
    MasterKey::generate()?.write_new_file(&key_path)?;
    let cfg = RunConfig::new(
        policy,
        vec![register],
        dir.join("school-supplier.parquet"),
        KeySource::Load(Some(key_path)),
    );
    crate::pipeline::run(&cfg)
}
