#![no_main]
//! `cargo fuzz run policy`: the body is `minex_fuzz::policy` (fuzz/src/lib.rs), which
//! tests/it/fuzz_corpus.rs also runs over the committed corpus.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| minex_fuzz::policy(data));
