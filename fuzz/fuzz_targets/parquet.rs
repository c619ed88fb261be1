#![no_main]
//! `cargo fuzz run parquet`: the body is `minex_fuzz::parquet` (fuzz/src/lib.rs), which
//! tests/it/fuzz_corpus.rs also runs over the committed corpus.
//!
//! # Panics inside arrow/parquet
//! libfuzzer-sys 0.4 (`initialize`, called from `LLVMFuzzerInitialize` before the `init`
//! block below) installs a panic hook that runs the default hook and then calls
//! `process::abort()`, so *every* panic aborts at the panic site, before unwinding, even one
//! the code under test would catch with `catch_unwind`. Its `LLVMFuzzerTestOneInput` also
//! wraps the body in `catch_unwind` and aborts on `Err`. cargo-fuzz does not build with
//! `-C panic=abort`, so unwinding works once the hook is replaced.
//!
//! minex guards Parquet reads with `catch_unwind` (a panic in arrow/parquet becomes a
//! `Malformed` error), so this target replaces the hook once: it only records where the
//! panic happened. A panic that minex catches is then silent; one that escapes reaches the
//! `catch_unwind` below, which prints the recorded location and aborts, so libFuzzer still
//! reports it as a crash and saves the input.

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

fuzz_target!(
    init: {
        std::panic::set_hook(Box::new(|info| {
            let at = info
                .location()
                .map_or_else(|| "an unknown place".to_string(), ToString::to_string);
            let what = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let what: String = what.chars().take(200).collect();
            LAST_PANIC.with(|l| *l.borrow_mut() = Some(format!("{at}: {what}")));
        }));
    },
    |data: &[u8]| {
        if std::panic::catch_unwind(|| minex_fuzz::parquet(data)).is_err() {
            let at = LAST_PANIC.with(|l| l.borrow_mut().take()).unwrap_or_default();
            eprintln!("minex-fuzz: a panic escaped minex's Parquet reader at {at}");
            std::process::abort();
        }
    }
);
