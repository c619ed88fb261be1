//! The one error type of the library.
//!
//! Shaped like rust-csv's: `Error(Box<ErrorKind>)` keeps a `Result<T, Error>` one pointer
//! wide. Every variant says *whose fault* it is (see [`Category`]), which the binary maps to
//! an exit code, and carries a [`Location`] made of names and numbers only.
//!
//! **No variant ever holds a cell value, a key or a token.** Messages name the file, the
//! row, the column and the rule; that is enough for a steward to find the value themselves,
//! and keeps personal data out of logs, terminals and bug reports. Errors coming from other
//! crates (arrow, parquet, the CSV parser) are not passed through verbatim where their text
//! may quote data; they are classified and re-worded here.

use std::fmt;
use std::path::{Path, PathBuf};

/// A convenient alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Whose fault an error is; decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// The command line was wrong.
    Usage,
    /// The policy is invalid, or does not fit the input's header.
    Policy,
    /// The input data is malformed or holds a value the policy says must stop the run.
    Data,
    /// A file could not be read or written.
    Io,
    /// The master key is missing, malformed or stored unsafely.
    Key,
    /// A privacy check (k-anonymity, verification) failed.
    Privacy,
    /// `minex check --strict` found risky settings.
    Lint,
    /// A bug in minex.
    Internal,
}

impl Category {
    /// The category's name (`usage`, `policy`, `data`, `io`, `key`, `privacy`, `lint`,
    /// `internal`), as the audit log records a failed command's outcome.
    pub fn name(self) -> &'static str {
        match self {
            Category::Usage => "usage",
            Category::Policy => "policy",
            Category::Data => "data",
            Category::Io => "io",
            Category::Key => "key",
            Category::Privacy => "privacy",
            Category::Lint => "lint",
            Category::Internal => "internal",
        }
    }

    /// The documented exit code for this category (see the README).
    pub fn exit_code(self) -> i32 {
        match self {
            Category::Internal => 1,
            Category::Usage => 2,
            Category::Policy => 3,
            Category::Data => 4,
            Category::Io => 5,
            Category::Key => 6,
            Category::Privacy => 7,
            Category::Lint => 8,
        }
    }
}

/// Where something happened: names and numbers, never values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// The input file.
    pub file: Option<PathBuf>,
    /// The 1-based data row (the header is not counted).
    pub row: Option<u64>,
    /// The column's name.
    pub column: Option<String>,
}

impl Location {
    /// A location in a file.
    pub fn file(path: &Path) -> Location {
        Location {
            file: Some(path.to_path_buf()),
            ..Location::default()
        }
    }

    /// Adds a row.
    pub fn with_row(mut self, row: u64) -> Location {
        self.row = Some(row);
        self
    }

    /// Adds a column name.
    pub fn with_column(mut self, column: impl Into<String>) -> Location {
        self.column = Some(column.into());
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(file) = &self.file {
            parts.push(format!("`{}`", file.display()));
        }
        if let Some(row) = self.row {
            parts.push(format!("row {row}"));
        }
        if let Some(column) = &self.column {
            parts.push(format!("column `{column}`"));
        }
        f.write_str(&parts.join(", "))
    }
}

/// One problem found in a policy; validation collects all of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyProblem {
    /// The 1-based line in the policy file, when known.
    pub line: Option<usize>,
    /// Where in the policy (`columns.first_name`, `k_anonymity.k`, ...).
    pub path: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for PolicyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: `{}`: {}", self.path, self.message),
            None => write!(f, "`{}`: {}", self.path, self.message),
        }
    }
}

/// The error type of minex.
#[derive(Debug)]
pub struct Error(Box<ErrorKind>);

/// What went wrong.
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The policy file has problems (all of them are listed).
    Policy {
        /// The policy file.
        path: PathBuf,
        /// Every problem found.
        problems: Vec<PolicyProblem>,
    },
    /// The input does not fit the policy (unknown or missing columns, headers that differ).
    Schema {
        /// Every problem found.
        problems: Vec<String>,
    },
    /// A value is invalid and its column says `on_invalid: fail`.
    InvalidValue {
        /// Where (file, row, column).
        location: Location,
        /// The rule that failed, as a reason code.
        reason: &'static str,
    },
    /// The input file is malformed (CSV structure, Parquet footer, encoding).
    Malformed {
        /// Where.
        location: Location,
        /// What is wrong, worded without data.
        what: String,
    },
    /// A file could not be read or written.
    Io {
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A key problem.
    Key(String),
    /// A privacy gate failed.
    Privacy(String),
    /// A command-line problem found after parsing.
    Usage(String),
    /// The linter warned and `--strict` makes that an error.
    Lint(Vec<String>),
    /// A bug.
    Internal(String),
}

impl Error {
    /// The kind of this error.
    pub fn kind(&self) -> &ErrorKind {
        &self.0
    }

    /// Whose fault it is.
    pub fn category(&self) -> Category {
        match &*self.0 {
            ErrorKind::Policy { .. } | ErrorKind::Schema { .. } => Category::Policy,
            ErrorKind::InvalidValue { .. } | ErrorKind::Malformed { .. } => Category::Data,
            ErrorKind::Io { .. } => Category::Io,
            ErrorKind::Key(_) => Category::Key,
            ErrorKind::Privacy(_) => Category::Privacy,
            ErrorKind::Usage(_) => Category::Usage,
            ErrorKind::Lint(_) => Category::Lint,
            ErrorKind::Internal(_) => Category::Internal,
        }
    }

    /// An I/O error on a path.
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Error {
        ErrorKind::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
        .into()
    }

    /// A malformed-input error.
    pub fn malformed(location: Location, what: impl Into<String>) -> Error {
        ErrorKind::Malformed {
            location,
            what: what.into(),
        }
        .into()
    }

    /// A key error.
    pub fn key(message: impl Into<String>) -> Error {
        ErrorKind::Key(message.into()).into()
    }

    /// A usage error.
    pub fn usage(message: impl Into<String>) -> Error {
        ErrorKind::Usage(message.into()).into()
    }

    /// A bug.
    pub fn internal(message: impl Into<String>) -> Error {
        ErrorKind::Internal(message.into()).into()
    }

    /// A privacy gate failure.
    pub fn privacy(message: impl Into<String>) -> Error {
        ErrorKind::Privacy(message.into()).into()
    }

    /// Places an error the core made about a batch (its row counted from 1 within the
    /// batch, no file) in the file the batch came from: `first_row` is the file's 1-based
    /// data row of the batch's first row. Errors that already name a file are unchanged.
    #[must_use]
    pub fn in_file(mut self, path: &Path, first_row: u64) -> Error {
        if let ErrorKind::InvalidValue { location, .. } | ErrorKind::Malformed { location, .. } =
            &mut *self.0
            && location.file.is_none()
        {
            location.file = Some(path.to_path_buf());
            location.row = location.row.map(|r| first_row + r.saturating_sub(1));
        }
        self
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Error {
        Error(Box::new(kind))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.0 {
            ErrorKind::Policy { path, problems } => {
                write!(
                    f,
                    "policy `{}` has {} problem{}:",
                    path.display(),
                    problems.len(),
                    if problems.len() == 1 { "" } else { "s" }
                )?;
                for p in problems {
                    write!(f, "\n  - {p}")?;
                }
                Ok(())
            }
            ErrorKind::Schema { problems } => {
                write!(
                    f,
                    "the input does not fit the policy ({} problem{}):",
                    problems.len(),
                    if problems.len() == 1 { "" } else { "s" }
                )?;
                for p in problems {
                    write!(f, "\n  - {p}")?;
                }
                Ok(())
            }
            ErrorKind::InvalidValue { location, reason } => write!(
                f,
                "invalid value at {location} (rule `{reason}`); the column says `on_invalid: fail`, \
                 so nothing was written. Fix the input, or set `on_invalid: reject` to send such rows \
                 to the rejects report"
            ),
            ErrorKind::Malformed { location, what } if *location == Location::default() => {
                write!(f, "malformed input: {what}")
            }
            ErrorKind::Malformed { location, what } => {
                write!(f, "malformed input at {location}: {what}")
            }
            ErrorKind::Io { path, source } => write!(f, "`{}`: {source}", path.display()),
            ErrorKind::Key(m) => write!(f, "key: {m}"),
            ErrorKind::Privacy(m) => write!(f, "privacy check failed: {m}"),
            ErrorKind::Usage(m) => f.write_str(m),
            ErrorKind::Lint(w) => write!(
                f,
                "`--strict`: the policy has {} warning{}; fix them or run without `--strict`",
                w.len(),
                if w.len() == 1 { "" } else { "s" }
            ),
            ErrorKind::Internal(m) => {
                write!(f, "internal error (a bug in minex, please report it): {m}")
            }
        }
    }
}

/// The OS error of an `Io` error is part of the message already, so it is not repeated as a
/// source (a chain printer would print it twice).
impl std::error::Error for Error {}
