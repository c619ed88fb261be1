//! Output paths never collide with inputs (issue 10).
//!
//! A command that writes or removes a file must not touch one of its own inputs: `minex run
//! --out register.parquet --input register.parquet` would replace the register, and a
//! `--report` written over the policy would destroy it. [`check_no_collision`] compares every
//! path a command writes or removes with every path it reads, and the written paths with
//! each other, before anything is read or written.
//!
//! Two paths are the same file when
//! * both exist and have the same device and inode (Unix; this sees through symbolic links,
//!   hard links and case-insensitive file systems), or
//! * their normalized absolute forms are equal: joined with the current directory, `.` and
//!   `..` removed lexically, and the parent directory resolved with `canonicalize` when it
//!   exists (so a symbolic link to a directory, or `sub/../register.csv`, is seen through).

use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

/// What identifies a path: its file (when it exists) and its normalized absolute form.
#[derive(Debug)]
struct Identity {
    /// Device and inode of an existing file.
    file: Option<(u64, u64)>,
    /// The normalized absolute path.
    path: PathBuf,
}

impl Identity {
    fn of(path: &Path) -> Identity {
        Identity {
            file: file_id(path),
            path: normalize(path),
        }
    }

    fn same(&self, other: &Identity) -> bool {
        match (self.file, other.file) {
            (Some(a), Some(b)) if a == b => true,
            _ => self.path == other.path,
        }
    }
}

#[cfg(unix)]
fn file_id(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn file_id(_path: &Path) -> Option<(u64, u64)> {
    None
}

/// Removes `.` and `..` without looking at the file system (`..` at the root stays there).
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push(c);
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// The normalized absolute form of `path` (see the module docs).
fn normalize(path: &Path) -> PathBuf {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        match std::env::current_dir() {
            Ok(cwd) => cwd.join(path),
            Err(_) => path.to_path_buf(),
        }
    };
    let lexical = lexical(&absolute);
    let (Some(parent), Some(name)) = (lexical.parent(), lexical.file_name()) else {
        return lexical;
    };
    // The parent as the system resolves it (`sub/..` through a symbolic link included),
    // else its lexical form, else the lexical path as it is.
    let raw_parent = absolute.parent().filter(|_| absolute.file_name().is_some());
    raw_parent
        .and_then(|p| std::fs::canonicalize(p).ok())
        .or_else(|| std::fs::canonicalize(parent).ok())
        .map_or(lexical.clone(), |p| p.join(name))
}

/// Fails when a path written or removed (`outputs`) is one of the `inputs`, or two outputs
/// are the same file (see the module docs).
///
/// Pass as inputs every file the command reads (inputs, the policy, the key file, an
/// extract), and as outputs every file it writes or may remove (an extract, its manifest and
/// rejects report, an HTML report).
///
/// # Errors
/// `Usage` (exit code 2) naming both paths as they were given.
pub fn check_no_collision(inputs: &[&Path], outputs: &[&Path]) -> Result<()> {
    let ins: Vec<Identity> = inputs.iter().map(|p| Identity::of(p)).collect();
    let outs: Vec<Identity> = outputs.iter().map(|p| Identity::of(p)).collect();
    for (i, (out, out_id)) in outputs.iter().zip(&outs).enumerate() {
        for (input, in_id) in inputs.iter().zip(&ins) {
            if out_id.same(in_id) {
                return Err(if out == input {
                    Error::usage(format!(
                        "`{}` would be written but is also an input; choose another output path",
                        out.display()
                    ))
                } else {
                    Error::usage(format!(
                        "`{}` would be written but is the same file as the input `{}`; choose another output path",
                        out.display(),
                        input.display()
                    ))
                });
            }
        }
        for (other, other_id) in outputs.iter().zip(&outs).take(i) {
            if out_id.same(other_id) {
                return Err(Error::usage(format!(
                    "`{}` and `{}` are the same file, and both would be written; choose different output paths",
                    other.display(),
                    out.display()
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Category;

    fn usage(r: Result<()>) -> String {
        let e = r.expect_err("a collision");
        assert_eq!(e.category(), Category::Usage);
        assert_eq!(e.category().exit_code(), 2);
        e.to_string()
    }

    #[test]
    fn distinct_paths_pass() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("register.csv");
        std::fs::write(&input, "a\n1\n").unwrap();
        let out = dir.path().join("x.parquet");
        let manifest = dir.path().join("x.manifest.json");
        check_no_collision(&[&input], &[&out, &manifest]).unwrap();
    }

    #[test]
    fn the_same_spelling_collides() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("register.parquet");
        std::fs::write(&input, "x").unwrap();
        let msg = usage(check_no_collision(&[&input], &[&input]));
        assert!(msg.contains("register.parquet"), "{msg}");
        assert!(msg.contains("is also an input"), "{msg}");
    }

    #[test]
    fn dot_dot_and_dot_are_seen_through_existing_or_not() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("sub")).unwrap();
        let input = d.join("register.csv");
        std::fs::write(&input, "a\n").unwrap();
        let twisted = d.join("sub/../././register.csv");
        usage(check_no_collision(&[&input], &[&twisted]));
        // A parent that does not exist: lexical normalization.
        let missing = d.join("nowhere/../register.csv");
        usage(check_no_collision(&[&input], &[&missing]));
        // Neither exists yet: compared by path.
        let a = d.join("new/x.json");
        let b = d.join("new/./y/../x.json");
        usage(check_no_collision(&[&a], &[&b]));
    }

    #[test]
    fn relative_paths_are_joined_with_the_current_directory() {
        let cwd = std::env::current_dir().unwrap();
        let abs = cwd.join("minex-paths-test-not-there.csv");
        let rel = Path::new("minex-paths-test-not-there.csv");
        usage(check_no_collision(&[&abs], &[rel]));
        usage(check_no_collision(&[rel], &[&abs]));
    }

    #[cfg(unix)]
    #[test]
    fn symbolic_links_and_hard_links_are_seen_through() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("real")).unwrap();
        let input = d.join("real/register.csv");
        std::fs::write(&input, "a\n").unwrap();
        // A symbolic link to the directory; the output does not exist yet under its name...
        std::os::unix::fs::symlink(d.join("real"), d.join("link")).unwrap();
        usage(check_no_collision(
            &[&input],
            &[&d.join("link/register.csv")],
        ));
        // ...nor when the input is named through the link and the output does not exist.
        let out = d.join("real/out.json");
        let via_link = d.join("link/out.json");
        usage(check_no_collision(&[&via_link], &[&out]));
        // A symbolic link to the file itself, and a hard link.
        std::os::unix::fs::symlink(&input, d.join("alias.csv")).unwrap();
        usage(check_no_collision(&[&input], &[&d.join("alias.csv")]));
        std::fs::hard_link(&input, d.join("hard.csv")).unwrap();
        let msg = usage(check_no_collision(&[&input], &[&d.join("hard.csv")]));
        assert!(
            msg.contains("hard.csv") && msg.contains("register.csv"),
            "{msg}"
        );
    }

    #[test]
    fn two_equal_outputs_collide() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("report.html");
        let b = dir.path().join("./report.html");
        let msg = usage(check_no_collision(&[], &[&a, &b]));
        assert!(msg.contains("same file"), "{msg}");
    }

    #[test]
    fn messages_hold_paths_only() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("register.csv");
        std::fs::write(&input, "secret-cell-value\n").unwrap();
        let msg = usage(check_no_collision(&[&input], &[&input]));
        assert!(!msg.contains("secret"), "{msg}");
    }
}
