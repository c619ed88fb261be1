//! The audit log of the master key's uses (issue 14).
//!
//! `reidentify`, `lookup`, `affected` and `rekey` each append one JSON line to the key's audit
//! log: when, who (the OS user name), which command, the policy's name and digest, the key ids
//! used, item counts, the output path and the outcome. **Never a value, token or key.** The
//! log is `--audit-log FILE`, by default the key file's path with `.audit.jsonl` appended
//! (`minex.key.audit.jsonl`); with `MINEX_KEY` there is no key file, so the flag is required.
//! The file is opened append-only and created with mode 0600; each line is written with one
//! `write` call, so concurrent commands never interleave within a line.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Serialize;

use crate::error::{Error, Result};

/// The suffix of the default audit log, after the key file's name.
pub const SUFFIX: &str = ".audit.jsonl";

/// One line of the audit log.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AuditEntry {
    /// RFC 3339 UTC time the command ended.
    pub time: String,
    /// The OS user who ran it.
    pub user: String,
    /// `reidentify`, `lookup`, `affected` or `rekey`.
    pub command: String,
    /// The policy's `name`.
    pub policy: String,
    /// SHA-256 of the policy file.
    pub policy_sha256: String,
    /// `purpose/space` → key id, for every key the command used.
    pub key_ids: BTreeMap<String, String>,
    /// Counts only (`items`, `invalid`, `people`, `mappings`, ...).
    pub items: BTreeMap<String, u64>,
    /// Where the result went (a path, or `standard output`).
    pub output: String,
    /// `ok`, or the error category (`usage`, `key`, ...) when the command failed.
    pub outcome: String,
}

impl AuditEntry {
    /// An entry for `command` on `policy`, stamped now with the current user; add key ids,
    /// counts and the outcome before appending.
    pub fn new(command: &str, policy: &crate::policy::Policy, output: &str) -> AuditEntry {
        AuditEntry {
            time: crate::report::rfc3339(SystemTime::now()),
            user: os_user(),
            command: command.to_string(),
            policy: policy.name.clone(),
            policy_sha256: policy.sha256.clone(),
            key_ids: BTreeMap::new(),
            items: BTreeMap::new(),
            output: output.to_string(),
            outcome: "ok".to_string(),
        }
    }
}

/// The `outcome` of a failed command: its error's category (`usage`, `key`, `io`, ...).
pub fn outcome(e: &Error) -> String {
    e.category().name().to_string()
}

/// Where the audit log of a command goes: `flag`, else the key file's path with
/// [`SUFFIX`] appended.
///
/// # Errors
/// `Usage` when neither is given (the key came from `MINEX_KEY`).
pub fn log_path(flag: Option<&Path>, key_file: Option<&Path>) -> Result<PathBuf> {
    match (flag, key_file) {
        (Some(f), _) => Ok(f.to_path_buf()),
        (None, Some(k)) => {
            let mut p = k.as_os_str().to_owned();
            p.push(SUFFIX);
            Ok(PathBuf::from(p))
        }
        (None, None) => Err(Error::usage(
            "the key comes from `MINEX_KEY`, so there is no key file to keep the audit log beside: give `--audit-log FILE`",
        )),
    }
}

/// Appends `entry` as one JSON line to `path` (created with mode 0600, opened append-only).
///
/// # Errors
/// `Io` when the log cannot be opened or written.
pub fn append(path: &Path, entry: &AuditEntry) -> Result<()> {
    let mut line = serde_json::to_vec(entry)
        .map_err(|e| Error::internal(format!("audit entry as JSON: {e}")))?;
    line.push(b'\n');
    let mut file = open(path)?;
    file.write_all(&line)
        .and_then(|()| file.sync_data())
        .map_err(|e| Error::io(path, e))
}

/// Opens (creating, mode 0600) the audit log for appending. Commands call it before they
/// use a key, so a log that cannot be written stops them before any work.
///
/// # Errors
/// `Io` when the log cannot be opened or created.
pub fn open(path: &Path) -> Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(|e| Error::io(path, e))
}

/// The OS user name: `USER`, else `LOGNAME`, else `uid N`.
pub fn os_user() -> String {
    for var in ["USER", "LOGNAME"] {
        if let Ok(u) = std::env::var(var)
            && !u.is_empty()
            && !u.chars().any(char::is_control)
        {
            return u;
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let Ok(m) = std::fs::metadata("/proc/self") {
            return format!("uid {}", m.uid());
        }
    }
    "unknown".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_path_is_beside_the_key_file() {
        assert_eq!(
            log_path(None, Some(Path::new("/k/minex.key"))).unwrap(),
            Path::new("/k/minex.key.audit.jsonl")
        );
        assert_eq!(
            log_path(Some(Path::new("a.jsonl")), Some(Path::new("k"))).unwrap(),
            Path::new("a.jsonl")
        );
        assert_eq!(log_path(None, None).unwrap_err().category().exit_code(), 2);
    }

    #[test]
    fn lines_are_appended_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.audit.jsonl");
        let policy = crate::policy::from_str(
            "version: 1\nname: t\ndomain: d\nreference_date: 2026-01-01\ncolumns:\n  a: keep\n",
            Path::new("t.yaml"),
        )
        .unwrap();
        let mut e = AuditEntry::new("lookup", &policy, "standard output");
        e.items.insert("items".into(), 3);
        append(&path, &e).unwrap();
        append(&path, &e).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2);
        let v: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(v["command"], "lookup");
        assert_eq!(v["items"]["items"], 3);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }
}
