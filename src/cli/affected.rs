//! `minex affected` (issue 14): arguments and the command; the work is in `minex::affected`.

use clap::Args;

/// Arguments of `minex affected` (to be completed with the command).
#[derive(Debug, Args)]
pub struct AffectedArgs {}

/// Runs `minex affected`.
///
/// # Errors
/// Always, until the command is built.
pub fn cmd_affected(_a: &AffectedArgs) -> anyhow::Result<()> {
    Err(minex::error::Error::usage("`minex affected` is not built yet").into())
}
