//! [`open`] and the [`RowReader`] iterator over the rows of a CSV, JSONL or Parquet file.
//!
//! Each format has a source that yields one raw record at a time into buffers it reuses: the
//! `csv` crate's record, one line of bytes, one Arrow record batch of [`PARQUET_BATCH_ROWS`]
//! rows. The mapping, checked once at [`open`], says which cells to take; [`crate::cell`] turns
//! each into its place in the [`EvalRow`].

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::DataError;
use crate::mapping::ColumnMapping;

/// Rows per Arrow record batch read from Parquet: large enough to amortise decoding, small
/// enough that one batch of wide text rows stays a few MiB.
pub const PARQUET_BATCH_ROWS: usize = 1024;

/// A data file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Jsonl,
    Parquet,
}

impl Format {
    /// The format named by the file's extension (`.csv`, `.jsonl` or `.ndjson`, `.parquet`),
    /// ignoring case.
    #[must_use]
    pub fn from_path(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(Self::Csv),
            "jsonl" | "ndjson" => Some(Self::Jsonl),
            "parquet" | "pq" => Some(Self::Parquet),
            _ => None,
        }
    }
}

/// One evaluation row, mapped.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EvalRow {
    /// 0-based position among the data rows of the file (bad rows count too, so the index
    /// of a row never depends on whether the rows before it were good).
    pub index: u64,
    pub id: Option<String>,
    pub inputs: Map<String, Value>,
    pub expectations: Map<String, Value>,
    /// Recorded outputs: when present, the target is not called.
    pub outputs: Option<Value>,
    pub tags: Map<String, Value>,
    pub retrieved_context: Option<Vec<String>>,
}

/// Streams the rows of one data file; see [`open`].
pub struct RowReader {
    _todo: (),
}

impl Iterator for RowReader {
    type Item = Result<EvalRow, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        todo!()
    }
}

impl RowReader {
    /// Bytes held by the reader's own reusable buffers right now.
    #[must_use]
    pub fn buffered_bytes(&self) -> usize {
        todo!()
    }
}

/// Opens `path` for streaming. `format` defaults to [`Format::from_path`].
pub fn open(
    path: &Path,
    format: Option<Format>,
    mapping: &ColumnMapping,
) -> Result<RowReader, DataError> {
    let _ = (path, format, mapping);
    todo!()
}
