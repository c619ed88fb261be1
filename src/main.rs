//! The `minex` binary: parse argv, run, map the error to an exit code.

mod cli;

use clap::Parser;

/// jemalloc for the binary: with the system allocator, memory freed by one worker thread
/// and reused by another fragments, and peak memory creeps up with the length of the run.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
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
