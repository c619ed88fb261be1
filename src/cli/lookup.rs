//! `minex lookup` (issue 14): arguments and the command; the work is in `minex::lookup`.

use clap::Args;

/// Arguments of `minex lookup` (to be completed with the command).
#[derive(Debug, Args)]
pub struct LookupArgs {}

/// Runs `minex lookup`.
///
/// # Errors
/// Always, until the command is built.
pub fn cmd_lookup(_a: &LookupArgs) -> anyhow::Result<()> {
    Err(minex::error::Error::usage("`minex lookup` is not built yet").into())
}
