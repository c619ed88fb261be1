//! The policy: the language a steward writes (YAML), its validated model and linter (all in
//! [`minex_core::policy`], re-exported here), and the reading of a policy file.

use std::path::Path;

pub use minex_core::policy::*;

use crate::error::{Error, ErrorKind, PolicyProblem, Result};

/// Reads and validates a policy file.
///
/// Besides [`from_str`]'s checks, refuses a file over [`MAX_POLICY_BYTES`] (before reading
/// it), one that is not UTF-8, and `minex init`'s placeholder domain.
///
/// # Errors
/// `Io` when the file cannot be read; `Policy` with every problem found.
pub fn from_file(path: &Path) -> Result<Policy> {
    let problem = |message: &str| {
        Error::from(ErrorKind::Policy {
            path: path.to_path_buf(),
            problems: vec![PolicyProblem {
                line: None,
                path: "(file)".into(),
                message: message.into(),
            }],
        })
    };
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    if len > MAX_POLICY_BYTES {
        return Err(problem(
            "a policy file is at most 1 MiB; this is not a policy (check `--policy`)",
        ));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    std::io::Read::read_to_end(
        &mut std::io::Read::take(file, MAX_POLICY_BYTES + 1),
        &mut bytes,
    )
    .map_err(|e| Error::io(path, e))?;
    let text = String::from_utf8(bytes).map_err(|_| problem("a policy file must be UTF-8"))?;
    from_file_text(&text, path)
}
