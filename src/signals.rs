//! Signals end a run cleanly (issue 10).
//!
//! [`install`] (called first thing in the binary's `main`) starts a thread that waits for
//! SIGINT, SIGTERM and SIGHUP. On any of them it removes every staged output file of the
//! process (see [`crate::io::output`]) and exits with the conventional status 128 + the
//! signal's number: 130, 143 and 129. It holds the registry's lock from the removal to the
//! exit, and a commit holds it for its whole sequence of renames, so a signal sees either a
//! commit that has finished or one that has not started, never half of one.
//!
//! SIGXFSZ (a write past the file-size limit, `ulimit -f`) would kill the process by default
//! and leave its temporary files behind. It is caught (and otherwise ignored) instead: the
//! write fails with `EFBIG`, which becomes an I/O error (exit code 5), and the staged files
//! are dropped like on any other error.
//!
//! On systems other than Unix, [`install`] does nothing.

/// The exit status for a signal that ended the process: 128 + its number.
pub fn exit_status(signal: i32) -> i32 {
    128 + signal
}

/// Installs the handlers (see the module docs). Call it once, before any output is staged.
///
/// # Errors
/// When a handler cannot be registered or the thread cannot be started (the binary reports
/// it and carries on: a run then simply has no clean-up on signals).
#[cfg(unix)]
pub fn install() -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGXFSZ};
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;

    // Caught, so the write fails with EFBIG instead of the process being killed.
    signal_hook::flag::register(SIGXFSZ, Arc::new(AtomicBool::new(false)))?;
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::Builder::new()
        .name("minex-signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                let name = match signal {
                    SIGINT => "SIGINT",
                    SIGTERM => "SIGTERM",
                    _ => "SIGHUP",
                };
                crate::io::output::remove_staged_and_exit(
                    &format!("minex: stopped by {name}; temporary output files removed"),
                    exit_status(signal),
                );
            }
        })?;
    Ok(())
}

/// Does nothing on systems other than Unix.
///
/// # Errors
/// Never.
#[cfg(not(unix))]
pub fn install() -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn statuses_are_128_plus_the_signal() {
        assert_eq!(super::exit_status(2), 130);
        assert_eq!(super::exit_status(15), 143);
        assert_eq!(super::exit_status(1), 129);
    }
}
