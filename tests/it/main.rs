//! The integration tests: one binary, a module per area (as ripgrep and uv do), so the
//! suite links once.
//!
//! Most of the pipeline's behaviour is tested in-process, through the core
//! (`core_api`: batches built in memory, no files); the other modules run the `minex`
//! binary or the file runner end to end where files, processes and signals are the point.
#![allow(clippy::unwrap_used)]

mod util;

mod after_affected;
mod after_ledger_audit;
mod after_lookup_rekey;
mod cli_snapshots;
mod core_api;
mod crypto;
mod fuzz_corpus;
mod html_report;
mod identity;
mod init;
mod interop;
mod kanon;
mod messy;
mod pipeline;
mod robustness;
mod schemas;
mod search;
mod verify;
