//! The `minex` binary: parse argv, run, map the error to an exit code.

mod cli;

use clap::Parser;

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
