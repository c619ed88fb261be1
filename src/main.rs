//! The `minex` binary: parse argv, run, map the error to an exit code.

mod cli;

use clap::Parser;

/// jemalloc for the binary: with the system allocator, memory freed by one worker thread
/// and reused by another fragments, and peak memory creeps up with the length of the run.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    // First thing: a signal from here on removes the staged files before the exit.
    if let Err(e) = minex::signals::install() {
        eprintln!(
            "warning: cannot install the signal handlers ({e}); an interrupted run may leave temporary files behind"
        );
    }
    install_panic_hook();
    let cli = cli::Cli::parse();
    cli::init_logging(cli.verbose, cli.log_format);
    if let Err(err) = cli::dispatch(cli) {
        let code = match err.downcast_ref::<minex::error::Error>() {
            Some(e) => e.category().exit_code(),
            None => 1,
        };
        eprintln!("error: {err:#}");
        std::process::exit(code);
    }
}

/// A panic prints where it happened, never its message (which could hold data), removes the
/// staged output files and exits with 1.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let place = info.location().map_or_else(
            || "an unknown place".to_string(),
            |l| format!("{}:{}", l.file(), l.line()),
        );
        minex::io::output::remove_staged_and_exit(
            &format!(
                "internal error: minex panicked at {place} (a bug in minex; nothing was written)"
            ),
            1,
        );
    }));
}
