//! The output set of a run, written atomically.
//!
//! `minex run --out DIR/NAME.parquet` produces `NAME.parquet`, `NAME.manifest.json` and, when
//! rows were rejected, `NAME.rejects.csv`. Each is written to a hidden temporary file in
//! `DIR` (same file system, so a rename is atomic) and renamed into place only when the run
//! has succeeded. A failed run drops the temporary files, which deletes them: nothing is left
//! at the output paths, not even a temporary file. If a rename fails half-way, the files
//! already renamed are removed again. A rejects file left by an earlier run at the same path
//! is removed when this run rejected nothing, so the set on disk always belongs together.
//!
//! ## Staged files and the registry
//!
//! A temporary ("staged") file is named `.TARGET.<pid>.<random>.tmp` beside its target
//! `TARGET`, e.g. `.school.parquet.4711.Ab3xYz.tmp`. Every [`Staged`] file is entered in a
//! process-wide registry when it is created and leaves it when it is renamed into place or
//! deleted. The signal handlers ([`crate::signals`]) and the binary's panic hook remove every
//! file in the registry ([`remove_staged_and_exit`]) before the process exits, holding the
//! registry's lock until the exit, so no thread can create, rename or commit a file
//! afterwards. [`commit`] holds the same lock for its whole sequence of removals and renames:
//! a signal or panic sees either a commit that has finished or one that has not started.
//!
//! ## The manifest is renamed last
//!
//! [`commit`] takes the staged files in order, the last one being the *seal* (for a run, the
//! manifest). Before anything is renamed, a file left at the seal's target by an earlier run
//! is removed (and the directory synced); then the stale paths (an old rejects report) are
//! removed; then the other files are renamed in order; the directory is synced; the seal is
//! renamed last, and the directory synced again. Each file's data is synced before the lock
//! is taken.
//!
//! ## What holds after the process is killed at any moment (SIGKILL, power loss)
//!
//! * **A manifest on disk always describes the extract beside it.** `NAME.manifest.json`
//!   exists only when either no commit was started since the run that wrote it (so its
//!   extract and rejects report are still there, untouched), or the commit of the run that
//!   wrote it finished: then `NAME.parquet` is that run's extract (same SHA-256 as the
//!   manifest says) and `NAME.rejects.csv` exists exactly when that run rejected rows.
//! * **An interrupted commit leaves no manifest.** Killed during a commit, the directory
//!   holds an extract (the earlier one or the new one) and perhaps a rejects report, but no
//!   manifest: `minex verify` says the manifest is missing. Run again.
//! * **Killed before the commit, the earlier output set is untouched** (or there is none).
//! * **Hidden temporary files** (`.NAME.*.tmp`) of the killed process may remain. The next
//!   run writing the same target removes those whose process is no longer alive (on Linux:
//!   `/proc/<pid>` is absent; on other systems: older than 24 hours), and never those of a
//!   live process, so two runs writing the same output at once do not delete each other's
//!   files. They can also be deleted by hand; they are never read.
//!
//! After SIGINT, SIGTERM or SIGHUP (and after a panic in the binary) nothing of the run is
//! left, not even a temporary file: the run's staged files are removed before the exit. An
//! earlier output set stays as it was, unless the signal came after a commit had started,
//! in which case the commit finishes first (the signal waits for it).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

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

/// The staged files of this process: registry id → temporary path.
#[derive(Debug)]
struct Registry {
    next: u64,
    files: BTreeMap<u64, PathBuf>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    next: 0,
    files: BTreeMap::new(),
});

thread_local! {
    /// Whether this thread holds the registry's lock (the panic hook must not wait for it).
    static HOLDING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The registry, locked; marks this thread as the holder until dropped.
struct Locked(MutexGuard<'static, Registry>);

impl Locked {
    fn new(guard: MutexGuard<'static, Registry>) -> Locked {
        HOLDING.with(|h| h.set(true));
        Locked(guard)
    }
}

impl Drop for Locked {
    fn drop(&mut self) {
        HOLDING.with(|h| h.set(false));
    }
}

impl std::ops::Deref for Locked {
    type Target = Registry;
    fn deref(&self) -> &Registry {
        &self.0
    }
}

impl std::ops::DerefMut for Locked {
    fn deref_mut(&mut self) -> &mut Registry {
        &mut self.0
    }
}

/// Locks the registry. A poisoned lock is still used: the registry holds only paths, and a
/// panic while holding it must not keep the staged files from being removed.
fn lock() -> Locked {
    Locked::new(REGISTRY.lock().unwrap_or_else(PoisonError::into_inner))
}

/// The temporary paths of the staged files that currently exist (for tests and diagnostics).
pub fn staged_paths() -> Vec<PathBuf> {
    lock().files.values().cloned().collect()
}

/// Removes every staged file of this process, prints `message` (a line on standard error)
/// and ends the process with `code`, **holding the registry's lock until the end**: no
/// thread can create, rename or commit a staged file afterwards, and a [`commit`] under way
/// finishes before the files are removed. Used by the signal handlers and the panic hook.
///
/// The process ends with `_exit` on Unix: no at-exit handlers run, which could race the
/// other threads (still running, and blocked on the lock if they touch the registry).
///
/// When the calling thread already holds the lock (a panic inside the registry's own code),
/// or another thread holds it for more than 10 seconds, the files cannot be listed safely:
/// the process ends without removing them, and the next run removes them as stale.
pub fn remove_staged_and_exit(message: &str, code: i32) -> ! {
    let mut guard = None;
    if !HOLDING.with(std::cell::Cell::get) {
        // Wait for a commit under way (renames and directory syncs: quick), not for ever.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        guard = loop {
            match REGISTRY.try_lock() {
                Ok(g) => break Some(g),
                Err(std::sync::TryLockError::Poisoned(p)) => break Some(p.into_inner()),
                Err(std::sync::TryLockError::WouldBlock) => {
                    if std::time::Instant::now() > deadline {
                        break None;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        };
    }
    if let Some(g) = guard.as_mut() {
        HOLDING.with(|h| h.set(true));
        for path in std::mem::take(&mut g.files).into_values() {
            let _ = std::fs::remove_file(&path);
        }
    }
    {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{message}");
        let _ = err.flush();
    }
    // `guard` (and so the lock) is held until the process has ended.
    #[cfg(unix)]
    {
        signal_hook::low_level::exit(code)
    }
    #[cfg(not(unix))]
    {
        std::process::exit(code)
    }
}

/// Whether the staged file `file_name` in `dir` belongs to `target_name` and to a process
/// that is no longer alive.
fn is_stale(dir: &Path, file_name: &str, target_name: &str) -> bool {
    let Some(rest) = file_name
        .strip_prefix('.')
        .and_then(|r| r.strip_prefix(target_name))
        .and_then(|r| r.strip_prefix('.'))
        .and_then(|r| r.strip_suffix(".tmp"))
    else {
        return false;
    };
    let Some((pid, random)) = rest.split_once('.') else {
        return false;
    };
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    if random.is_empty() || !random.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return false;
    }
    if pid == std::process::id() {
        return false;
    }
    process_is_gone(pid, &dir.join(file_name))
}

/// Whether process `pid`, which made the staged file `path`, has ended.
#[cfg(target_os = "linux")]
fn process_is_gone(pid: u32, _path: &Path) -> bool {
    // A pid reused by another process keeps the file: never a live run's file deleted.
    !Path::new("/proc").join(pid.to_string()).exists() && Path::new("/proc/self").exists()
}

/// Whether process `pid`, which made the staged file `path`, has ended: without `/proc`,
/// a staged file not modified for 24 hours is taken to be left by a process that ended.
#[cfg(not(target_os = "linux"))]
fn process_is_gone(_pid: u32, path: &Path) -> bool {
    const STALE_AFTER: Duration = Duration::from_secs(24 * 3600);
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age > STALE_AFTER)
}

/// Removes the staged files of `target_name` in `dir` left by processes that have ended
/// (killed, or the machine lost power). Errors are ignored: such a file is only clutter.
fn remove_stale_staged(dir: &Path, target_name: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if is_stale(dir, name, target_name) {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => tracing::info!(
                    file = %entry.path().display(),
                    "removed a temporary file left by an interrupted run"
                ),
                Err(e) => tracing::debug!(
                    file = %entry.path().display(),
                    error = %e,
                    "could not remove a temporary file left by an interrupted run"
                ),
            }
        }
    }
}

/// A file being written under a temporary name, to be renamed to `target`.
///
/// Registered in the process-wide registry (see the module docs) from its creation until it
/// is renamed into place by [`commit`] or dropped (which deletes it).
#[derive(Debug)]
pub struct Staged {
    /// `None` once [`commit`] has taken it.
    tmp: Option<NamedTempFile>,
    /// The temporary path (kept apart from `tmp` for the getters).
    tmp_path: PathBuf,
    target: PathBuf,
    id: u64,
}

impl Staged {
    /// Creates a hidden temporary file `.NAME.<pid>.<random>.tmp` next to `target`, after
    /// removing those of `target` left by processes that have ended.
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
        remove_stale_staged(&dir, &name);
        // Created and registered under the lock: a signal arriving in between would
        // otherwise miss the file.
        let mut reg = lock();
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}.{}.", std::process::id()))
            .suffix(".tmp")
            .tempfile_in(&dir)
            .map_err(|e| {
                Error::io(
                    &dir,
                    std::io::Error::new(e.kind(), "cannot create a temporary output file here"),
                )
            })?;
        let id = reg.next;
        reg.next += 1;
        let tmp_path = tmp.path().to_path_buf();
        reg.files.insert(id, tmp_path.clone());
        drop(reg);
        Ok(Staged {
            tmp: Some(tmp),
            tmp_path,
            target: target.to_path_buf(),
            id,
        })
    }

    fn tmp(&self) -> Result<&NamedTempFile> {
        self.tmp
            .as_ref()
            .ok_or_else(|| Error::internal("a staged output file was used after it was committed"))
    }

    /// A second handle on the temporary file, for writers that own their file.
    ///
    /// # Errors
    /// `Io`.
    pub fn file(&self) -> Result<File> {
        self.tmp()?
            .reopen()
            .map_err(|e| Error::io(&self.tmp_path, e))
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
        &self.tmp_path
    }

    /// The final path.
    pub fn target(&self) -> &Path {
        &self.target
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Some(tmp) = self.tmp.take() {
            // Deleted and unregistered under the lock, so a signal either removes the file
            // itself or finds it gone.
            let mut reg = lock();
            drop(tmp);
            reg.files.remove(&self.id);
        }
    }
}

/// Syncs a directory, so the renames and removals in it are on disk in order. Not every
/// system can open a directory: errors are ignored (the renames themselves succeeded).
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    {
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
    }
}

fn parent_dir(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Renames every staged file into place, in order, the **last one (the seal, a run's
/// manifest) last of all**, after removing what an earlier run left at the seal's target;
/// `stale` paths (an old rejects report) are removed before anything is renamed. On failure
/// removes the files already moved and deletes the rest.
///
/// Holds the registry's lock from the first removal to the last rename (see the module
/// docs); each file's data is synced before.
///
/// # Errors
/// `Io` naming the file that could not be synced, removed or moved.
pub fn commit(staged: Vec<Staged>, stale: &[PathBuf]) -> Result<()> {
    for s in &staged {
        s.tmp()?
            .as_file()
            .sync_all()
            .map_err(|e| Error::io(&s.target, e))?;
    }
    let mut reg = lock();
    let mut pending: Vec<(u64, NamedTempFile, PathBuf)> = Vec::with_capacity(staged.len());
    let mut staged = staged;
    for s in &mut staged {
        if let Some(tmp) = s.tmp.take() {
            pending.push((s.id, tmp, s.target.clone()));
        }
    }
    drop(staged);
    let result = commit_locked(&mut reg, pending, stale);
    drop(reg);
    result
}

fn commit_locked(
    reg: &mut Registry,
    pending: Vec<(u64, NamedTempFile, PathBuf)>,
    stale: &[PathBuf],
) -> Result<()> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    for (_, _, target) in &pending {
        let d = parent_dir(target);
        if !dirs.contains(&d) {
            dirs.push(d);
        }
    }
    let fail = |reg: &mut Registry, rest: Vec<(u64, NamedTempFile, PathBuf)>, done: &[PathBuf]| {
        for (id, tmp, _) in rest {
            drop(tmp);
            reg.files.remove(&id);
        }
        for p in done {
            let _ = std::fs::remove_file(p);
        }
    };
    // 1. The seal's old file, then the stale paths: from here on no manifest is on disk
    //    until the new one is renamed into place.
    let mut removals: Vec<&Path> = Vec::new();
    if let Some((_, _, seal)) = pending.last() {
        removals.push(seal);
    }
    removals.extend(stale.iter().map(PathBuf::as_path));
    let mut removed_any = false;
    for p in removals {
        match std::fs::remove_file(p) {
            Ok(()) => removed_any = true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                let err = Error::io(p, e);
                fail(reg, pending, &[]);
                return Err(err);
            }
        }
    }
    if removed_any {
        for d in &dirs {
            sync_dir(d);
        }
    }
    // 2. The files in order, the seal last, with the directory synced before the seal.
    let count = pending.len();
    let mut done: Vec<PathBuf> = Vec::with_capacity(count);
    let mut rest = pending.into_iter();
    while let Some((id, tmp, target)) = rest.next() {
        let is_seal = done.len() + 1 == count;
        if is_seal && !done.is_empty() {
            for d in &dirs {
                sync_dir(d);
            }
        }
        match tmp.persist(&target) {
            Ok(file) => {
                drop(file);
                reg.files.remove(&id);
                done.push(target);
            }
            Err(e) => {
                let err = Error::io(&target, e.error);
                drop(e.file);
                reg.files.remove(&id);
                fail(reg, rest.collect(), &done);
                return Err(err);
            }
        }
    }
    for d in &dirs {
        sync_dir(d);
    }
    Ok(())
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
