//! The `minex` binary: parse argv, run, map the error to an exit code.

mod cli;

use std::io::Write;

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
        let known = err.downcast_ref::<minex::error::Error>();
        // `minex plan | head`: the reader left; end quietly, as SIGPIPE would have.
        if let Some(minex::error::ErrorKind::Io { source, .. }) = known.map(|e| e.kind())
            && source.kind() == std::io::ErrorKind::BrokenPipe
        {
            std::process::exit(141);
        }
        let code = known.map_or(1, |e| e.category().exit_code());
        let text = printable(&format!("error: {err:#}"));
        let _ = writeln!(std::io::stderr(), "{text}");
        std::process::exit(code);
    }
}

/// The message with every control character but the line break escaped (`\u{1b}`): a path or
/// name never puts a raw escape sequence on the steward's terminal.
fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() && c != '\n' {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// A panic prints where it happened, never its message (which could hold data), removes the
/// staged output files and exits with 1.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        // A panic inside arrow or parquet while reading a corrupt file is caught by
        // `minex::io::guard` and reported as malformed input (exit 4): stay quiet.
        if minex::io::panic_is_guarded() {
            return;
        }
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
