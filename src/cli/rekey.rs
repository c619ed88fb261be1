//! `minex rekey` (issue 14): arguments and the command; the work is in `minex::rekey`.

use clap::Args;

/// Arguments of `minex rekey` (to be completed with the command).
#[derive(Debug, Args)]
pub struct RekeyArgs {}

/// Runs `minex rekey`.
///
/// # Errors
/// Always, until the command is built.
pub fn cmd_rekey(_a: &RekeyArgs) -> anyhow::Result<()> {
    Err(minex::error::Error::usage("`minex rekey` is not built yet").into())
}
