//! The output set of a run, written atomically.
//!
//! `minex run --out DIR/NAME.parquet` produces `NAME.parquet`, `NAME.manifest.json` and, when
//! rows were rejected, `NAME.rejects.csv`. Each is written to a hidden temporary file in
//! `DIR` (same file system, so a rename is atomic) and renamed into place only when the run
//! has succeeded. A failed run drops the temporary files, which deletes them: nothing is left
//! at the output paths, not even a temporary file. If a rename fails half-way, the files
//! already renamed are removed again. A rejects file left by an earlier run at the same path
//! is removed when this run rejected nothing, so the set on disk always belongs together.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::error::{Error, Result};

/// The final paths of a run's outputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputPaths {
    /// The extract.
    pub parquet: PathBuf,
    /// The run manifest.
    pub manifest: PathBuf,
    /// The rejects report.
    pub rejects: PathBuf,
}

impl OutputPaths {
    /// Derives the set from `--out DIR/NAME.parquet`.
    ///
    /// # Errors
    /// `Usage` when the path has no file name or does not end in `.parquet`.
    pub fn from_out(out: &Path) -> Result<OutputPaths> {
        let name = out.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
            Error::usage("`--out` must name a file, e.g. `--out extract/school.parquet`")
        })?;
        let stem = name.strip_suffix(".parquet").ok_or_else(|| {
            Error::usage(format!("`--out` must end in `.parquet` (got `{name}`)"))
        })?;
        if stem.is_empty() {
            return Err(Error::usage("`--out` needs a name before `.parquet`"));
        }
        Ok(OutputPaths::beside(out))
    }

    /// The set an existing extract belongs to (`verify`, reports): the manifest and rejects
    /// report beside it, named after it with or without its `.parquet` ending.
    pub fn beside(extract: &Path) -> OutputPaths {
        let name = extract
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let stem = name.strip_suffix(".parquet").unwrap_or(name);
        OutputPaths {
            parquet: extract.to_path_buf(),
            manifest: extract.with_file_name(format!("{stem}.manifest.json")),
            rejects: extract.with_file_name(format!("{stem}.rejects.csv")),
        }
    }
}

/// A file being written under a temporary name, to be renamed to `target`.
#[derive(Debug)]
pub struct Staged {
    tmp: NamedTempFile,
    target: PathBuf,
}

impl Staged {
    /// Creates a hidden temporary file next to `target`.
    ///
    /// # Errors
    /// `Io` when the directory does not exist or is not writable.
    pub fn new(target: &Path) -> Result<Staged> {
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !dir.exists() {
            std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        }
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".tmp")
            .tempfile_in(&dir)
            .map_err(|e| {
                Error::io(
                    &dir,
                    std::io::Error::new(e.kind(), "cannot create a temporary output file here"),
                )
            })?;
        Ok(Staged {
            tmp,
            target: target.to_path_buf(),
        })
    }

    /// A second handle on the temporary file, for writers that own their file.
    ///
    /// # Errors
    /// `Io`.
    pub fn file(&self) -> Result<File> {
        self.tmp.reopen().map_err(|e| Error::io(self.tmp.path(), e))
    }

    /// A buffered writer on the temporary file.
    ///
    /// # Errors
    /// `Io`.
    pub fn writer(&self) -> Result<BufWriter<File>> {
        Ok(BufWriter::with_capacity(1 << 16, self.file()?))
    }

    /// The temporary path (to hash or re-read what was written).
    pub fn tmp_path(&self) -> &Path {
        self.tmp.path()
    }

    /// The final path.
    pub fn target(&self) -> &Path {
        &self.target
    }
}

/// Renames every staged file into place, in order; on failure removes the ones already moved
/// and deletes the rest. `stale` paths are removed after success (an old rejects report).
///
/// # Errors
/// `Io` naming the file that could not be moved.
pub fn commit(staged: Vec<Staged>, stale: &[PathBuf]) -> Result<()> {
    let mut done: Vec<PathBuf> = Vec::new();
    for s in staged {
        if let Err(e) = s.tmp.as_file().sync_all() {
            rollback(&done);
            return Err(Error::io(&s.target, e));
        }
        let target = s.target.clone();
        match s.tmp.persist(&target) {
            Ok(file) => {
                drop(file);
                done.push(target);
            }
            Err(e) => {
                rollback(&done);
                return Err(Error::io(&target, e.error));
            }
        }
    }
    for p in stale {
        if p.exists() {
            std::fs::remove_file(p).map_err(|e| Error::io(p, e))?;
        }
    }
    Ok(())
}

fn rollback(done: &[PathBuf]) {
    for p in done {
        let _ = std::fs::remove_file(p);
    }
}

/// SHA-256 and size of a file, streamed.
///
/// # Errors
/// `Io`.
pub fn sha256_file(path: &Path) -> Result<(String, u64)> {
    use sha2::{Digest, Sha256};
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = std::io::Read::read(&mut file, &mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        total += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((hex::encode(hasher.finalize()), total))
}

/// A writer that digests (SHA-256) and counts what passes through it, so an output's digest
/// costs no second read of the file.
#[derive(Debug)]
pub struct HashingWriter<W> {
    inner: W,
    hasher: sha2::Sha256,
    bytes: u64,
}

impl<W: Write> HashingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> HashingWriter<W> {
        use sha2::Digest;
        HashingWriter {
            inner,
            hasher: sha2::Sha256::new(),
            bytes: 0,
        }
    }

    /// Flushes, and returns the SHA-256 (hex) and size of everything written.
    ///
    /// # Errors
    /// The inner writer's flush error.
    pub fn finish(mut self) -> std::io::Result<(String, u64)> {
        use sha2::Digest;
        self.inner.flush()?;
        Ok((hex::encode(self.hasher.finalize()), self.bytes))
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        use sha2::Digest;
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Writes `bytes` to a staged file.
///
/// # Errors
/// `Io`.
pub fn write_all(staged: &Staged, bytes: &[u8]) -> Result<()> {
    let mut w = staged.writer()?;
    w.write_all(bytes)
        .and_then(|()| w.flush())
        .map_err(|e| Error::io(staged.tmp_path(), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_out_name() {
        let p = OutputPaths::from_out(Path::new("x/school.parquet")).unwrap();
        assert_eq!(p.manifest, Path::new("x/school.manifest.json"));
        assert_eq!(p.rejects, Path::new("x/school.rejects.csv"));
        assert!(OutputPaths::from_out(Path::new("x/school.csv")).is_err());
    }

    #[test]
    fn dropped_staged_files_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.parquet");
        {
            let s = Staged::new(&target).unwrap();
            write_all(&s, b"partial").unwrap();
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn commit_moves_all_and_removes_stale() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.parquet");
        let b = dir.path().join("a.manifest.json");
        let stale = dir.path().join("a.rejects.csv");
        std::fs::write(&stale, "old").unwrap();
        let sa = Staged::new(&a).unwrap();
        write_all(&sa, b"A").unwrap();
        let sb = Staged::new(&b).unwrap();
        write_all(&sb, b"B").unwrap();
        commit(vec![sa, sb], std::slice::from_ref(&stale)).unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), b"A");
        assert_eq!(std::fs::read(&b).unwrap(), b"B");
        assert!(!stale.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
