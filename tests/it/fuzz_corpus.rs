//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) through the fuzz targets'
//! bodies on the stable toolchain, so CI runs every seed and every reproducer moved into the
//! corpus without `cargo fuzz` or nightly. The bodies live in `fuzz/src/lib.rs`, shared with
//! the `cargo fuzz` targets (`scripts/fuzz` runs those).
//!
//! Reproducers of open findings are kept in `fuzz/findings/<target>/` instead; they move
//! into the corpus with their fix.

#[path = "../../fuzz/src/lib.rs"]
mod targets;

use std::path::{Path, PathBuf};

fn corpus_files(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs every file of one target's corpus, naming the file that panics (never its bytes).
fn replay(target: &str) {
    let files = corpus_files(target);
    assert!(!files.is_empty(), "the `{target}` corpus has seeds");
    for f in files {
        let data = std::fs::read(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let result = std::panic::catch_unwind(|| targets::run(target, &data));
        assert!(
            result.is_ok(),
            "fuzz target `{target}` panics on {}",
            f.display()
        );
    }
}

#[test]
fn every_target_has_a_corpus() {
    for t in targets::TARGETS {
        assert!(!corpus_files(t).is_empty(), "fuzz/corpus/{t}/ is empty");
    }
}

#[test]
fn policy_corpus() {
    replay("policy");
}

#[test]
fn csv_corpus() {
    replay("csv");
}

#[test]
fn ident_corpus() {
    replay("ident");
}

#[test]
fn parquet_corpus() {
    replay("parquet");
}
