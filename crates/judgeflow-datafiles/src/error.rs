//! The one error type of the crate: where it happened (file, row, column) and what went wrong.
//!
//! [`DataError`] carries the place, [`DataErrorKind`] the cause. The kinds are split so the
//! caller can tell the user's mistake (a bad cell, a missing column: fix the data or the
//! mapping) from a failure of the machine (I/O while writing results) with
//! [`DataError::is_user_error`].

use std::fmt;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// Where in a data file an error happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// The file as a whole (it cannot be opened, its header is unreadable, a column is missing).
    File,
    /// A 1-based line of a CSV or JSONL file: the line where the record starts, as an editor
    /// shows it (the CSV header is line 1).
    Line(u64),
    /// A 1-based row number of a Parquet file (row 1 is the first data row).
    Row(u64),
}

/// What went wrong. Non-exhaustive so a new cause is not a breaking change; callers that sort
/// errors use [`DataError::is_user_error`].
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DataErrorKind {
    /// The file cannot be opened or read.
    #[error("cannot read file: {0}")]
    Io(#[source] std::io::Error),
    /// The file's extension names no format we read, and no format was given.
    #[error("unknown data file format (expected .csv, .jsonl, .ndjson or .parquet)")]
    UnknownFormat,
    /// A column the mapping needs is not in the file.
    #[error("not found (columns: {})", list_or_none(.available))]
    MissingColumn { available: Vec<String> },
    /// A cell that must hold JSON does not parse.
    #[error("not valid JSON ({0})")]
    InvalidJson(String),
    /// A cell holds a value of the wrong shape (a string where an object is required, ...).
    #[error("{0}")]
    InvalidValue(String),
    /// After mapping, the row has no inputs at all: nothing to send to the target.
    #[error("row has no inputs")]
    NoInputs,
    /// The CSV file is malformed at this record (unequal field counts, bad UTF-8, ...).
    #[error("malformed CSV: {0}")]
    Csv(String),
    /// The Parquet file or one of its batches cannot be decoded.
    #[error("malformed Parquet: {0}")]
    Parquet(String),
    /// A results record does not fit the writer (an unknown scorer, say).
    #[error("{0}")]
    InvalidRecord(String),
    /// Writing results failed.
    #[error("cannot write results: {0}")]
    Write(String),
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

/// An error reading a dataset or writing results. Its `Display` is one line naming the file,
/// the row and the column, e.g.
/// `data/qa.csv: row 17, column 'expectations': not valid JSON (expected value at line 1 column 3)`.
#[derive(Debug)]
pub struct DataError {
    path: PathBuf,
    location: Location,
    column: Option<String>,
    kind: DataErrorKind,
}

impl DataError {
    pub(crate) fn new(path: &Path, location: Location, kind: DataErrorKind) -> Self {
        Self {
            path: path.to_owned(),
            location,
            column: None,
            kind,
        }
    }

    pub(crate) fn file(path: &Path, kind: DataErrorKind) -> Self {
        Self::new(path, Location::File, kind)
    }

    #[must_use]
    pub(crate) fn with_column(mut self, column: impl Into<String>) -> Self {
        self.column = Some(column.into());
        self
    }

    /// The file the error is about.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The line or row, or [`Location::File`] for an error about the whole file.
    #[must_use]
    pub fn location(&self) -> Location {
        self.location
    }

    /// The column (the field) the error is about, when there is one.
    #[must_use]
    pub fn column(&self) -> Option<&str> {
        self.column.as_deref()
    }

    #[must_use]
    pub fn kind(&self) -> &DataErrorKind {
        &self.kind
    }

    /// True for errors the user fixes in the data or the mapping; false for I/O failures.
    #[must_use]
    pub fn is_user_error(&self) -> bool {
        !matches!(self.kind, DataErrorKind::Io(_) | DataErrorKind::Write(_))
    }

    /// True when the error is about one row: the reader can go on with the next.
    #[must_use]
    pub fn is_row_error(&self) -> bool {
        !matches!(self.location, Location::File)
    }
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        // Both CSV/JSONL lines and Parquet rows read as "row N": the user looks for a number.
        let mut sep = ": ";
        match self.location {
            Location::File => {}
            Location::Line(n) | Location::Row(n) => {
                write!(f, "{sep}row {n}")?;
                sep = ", ";
            }
        }
        if let Some(column) = &self.column {
            write!(f, "{sep}column '{column}'")?;
            // "column 'x' not found" reads as one phrase; every other kind follows a colon.
            if matches!(self.kind, DataErrorKind::MissingColumn { .. }) {
                return write!(f, " {}", self.kind);
            }
        }
        write!(f, ": {}", self.kind)
    }
}

impl std::error::Error for DataError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            DataErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}
