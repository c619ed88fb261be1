//! The master key's file: read (refused when group or others may access it) and written
//! (mode 0600, never over an existing key). The key itself and its constructions are
//! `minex_core::keys`; this is the runner's part, which touches files.

use std::io::Write;
use std::path::Path;

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::keys::{KEY_ENV, MasterKey};

/// Loads the master key from `key_file` when given, else from `MINEX_KEY`.
///
/// A key file readable or writable by group or others is refused (on Unix).
///
/// # Errors
/// When neither source holds a key, the file is unsafe or unreadable, or the text is
/// not a key.
pub fn load(key_file: Option<&Path>) -> Result<MasterKey> {
    if let Some(path) = key_file {
        check_permissions(path)?;
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
            Error::key(format!(
                "cannot read the key file `{}`: {e}",
                path.display()
            ))
        })?);
        return MasterKey::from_hex(&text).map_err(|e| {
            Error::key(format!(
                "the key file `{}`: {}",
                path.display(),
                strip_key_prefix(&e)
            ))
        });
    }
    match std::env::var(KEY_ENV) {
        Ok(text) => {
            let text = Zeroizing::new(text);
            MasterKey::from_hex(&text)
                .map_err(|e| Error::key(format!("`{KEY_ENV}`: {}", strip_key_prefix(&e))))
        }
        Err(_) => Err(Error::key(format!(
            "no master key: pass `--key-file FILE` or set `{KEY_ENV}` (make one with `minex keygen --out FILE`)"
        ))),
    }
}

/// Writes a new key file with mode 0600; refuses to overwrite an existing file.
///
/// # Errors
/// When the file exists or cannot be written.
pub fn write_new(key: &MasterKey, path: &Path) -> Result<()> {
    let exists = || {
        Error::key(format!(
            "`{}` exists; minex keygen never overwrites a key (losing a key makes every token unreproducible)",
            path.display()
        ))
    };
    if path.symlink_metadata().is_ok() {
        return Err(exists());
    }
    // Staged (mode 0600) and linked into place only when whole: a killed keygen leaves no
    // half-written key, and the hard link fails rather than replace a key made meanwhile.
    let staged = crate::io::output::Staged::new(path)?;
    let mut file = staged.file()?;
    file.write_all(key.to_hex().as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io(staged.tmp_path(), e))?;
    std::fs::hard_link(staged.tmp_path(), path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            exists()
        } else {
            Error::io(path, e)
        }
    })
}

fn strip_key_prefix(e: &Error) -> String {
    let s = e.to_string();
    s.strip_prefix("key: ").unwrap_or(&s).to_string()
}

#[cfg(unix)]
fn check_permissions(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| {
        Error::key(format!(
            "cannot read the key file `{}`: {e}",
            path.display()
        ))
    })?;
    crate::keys::check_key_file_mode(path, meta.permissions().mode())
}

#[cfg(not(unix))]
fn check_permissions(_path: &Path) -> Result<()> {
    Ok(())
}
