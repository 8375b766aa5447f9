//! [`open`] and the [`RowReader`] iterator over the rows of a CSV, JSONL or Parquet file.
//!
//! Each format has a source that yields one raw record at a time into buffers it reuses: the
//! `csv` crate's record, one line of bytes, one Arrow record batch of [`PARQUET_BATCH_ROWS`]
//! rows. The mapping, checked once at [`open`], says which cells to take; [`crate::cell`] turns
//! each into its place in the [`EvalRow`].

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::arrow_json::{self, ArrowCell};
use crate::cell::{self, Cell};
use crate::error::{DataError, DataErrorKind, Location};
use crate::mapping::{ColumnMapping, MappedColumn, ResolvedMapping};

/// Rows per Arrow record batch read from Parquet: large enough to amortise decoding, small
/// enough that one batch of wide text rows stays a few MiB.
pub const PARQUET_BATCH_ROWS: usize = 1024;

/// A JSONL line buffer that grew past this is dropped after use, so one huge record does not
/// pin its memory for the rest of the file.
const LINE_BUFFER_KEEP: usize = 1 << 20;

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
///
/// Each item is one data row: `Ok` when it mapped, `Err` naming its row and column when it did
/// not. The iteration goes on after a bad row; only an error that leaves the file unreadable
/// (an I/O error, an undecodable Parquet batch) ends it.
pub struct RowReader {
    path: PathBuf,
    mapping: ResolvedMapping,
    source: Source,
    next_index: u64,
    done: bool,
}

enum Source {
    Csv(CsvSource),
    Jsonl(JsonlSource),
    Parquet(ParquetSource),
}

struct CsvSource {
    reader: csv::Reader<File>,
    record: csv::StringRecord,
}

struct JsonlSource {
    reader: BufReader<File>,
    line: Vec<u8>,
    line_number: u64,
    /// The first record, read at `open` to check the mapping against its keys.
    first: Option<JsonlRecord>,
}

/// One non-blank JSONL line: its 1-based number and the object it holds (or why it does not).
struct JsonlRecord {
    line: u64,
    object: Result<Map<String, Value>, DataErrorKind>,
}

struct ParquetSource {
    reader: ParquetRecordBatchReader,
    batch: Option<RecordBatch>,
    position: usize,
    /// For each mapped column, its position among the projected (read) columns.
    batch_columns: Vec<usize>,
}

impl Iterator for RowReader {
    type Item = Result<EvalRow, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = match &mut self.source {
            Source::Csv(source) => next_csv(&self.path, &self.mapping, source, self.next_index),
            Source::Jsonl(source) => next_jsonl(&self.path, &self.mapping, source, self.next_index),
            Source::Parquet(source) => {
                next_parquet(&self.path, &self.mapping, source, self.next_index)
            }
        };
        match item {
            None => {
                self.done = true;
                None
            }
            Some(Step::Row(row)) => {
                self.next_index += 1;
                Some(row)
            }
            Some(Step::Fatal(error)) => {
                self.done = true;
                Some(Err(error))
            }
        }
    }
}

impl std::iter::FusedIterator for RowReader {}

impl std::fmt::Debug for RowReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let format = match self.source {
            Source::Csv(_) => Format::Csv,
            Source::Jsonl(_) => Format::Jsonl,
            Source::Parquet(_) => Format::Parquet,
        };
        f.debug_struct("RowReader")
            .field("path", &self.path)
            .field("format", &format)
            .field("next_index", &self.next_index)
            .finish_non_exhaustive()
    }
}

impl RowReader {
    /// Bytes held by the reader's own reusable buffers right now. Stays flat in the number of
    /// rows: it grows only with the longest record or, for Parquet, one record batch.
    #[must_use]
    pub fn buffered_bytes(&self) -> usize {
        match &self.source {
            // The csv crate reads through its own fixed 8 KiB buffer into the one record.
            Source::Csv(source) => CSV_BUFFER + source.record.as_slice().len(),
            Source::Jsonl(source) => source.reader.capacity() + source.line.capacity(),
            Source::Parquet(source) => source
                .batch
                .as_ref()
                .map_or(0, RecordBatch::get_array_memory_size),
        }
    }

    /// The file being read.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }
}

const CSV_BUFFER: usize = 8 * 1024;

/// What a source produced: a row (good or bad, counted), or an error that ends the file.
enum Step {
    Row(Result<EvalRow, DataError>),
    Fatal(DataError),
}

/// Opens `path` for streaming. `format` defaults to [`Format::from_path`]. The mapping is
/// checked against the file's columns here (for JSONL, against the first record), so a missing
/// column fails before the first row.
pub fn open(
    path: &Path,
    format: Option<Format>,
    mapping: &ColumnMapping,
) -> Result<RowReader, DataError> {
    let format = format
        .or_else(|| Format::from_path(path))
        .ok_or_else(|| DataError::file(path, DataErrorKind::UnknownFormat))?;
    let file = File::open(path).map_err(|e| DataError::file(path, DataErrorKind::Io(e)))?;
    let (resolved, source) = match format {
        Format::Csv => open_csv(path, file, mapping)?,
        Format::Jsonl => open_jsonl(path, file, mapping)?,
        Format::Parquet => open_parquet(path, file, mapping)?,
    };
    Ok(RowReader {
        path: path.to_owned(),
        mapping: resolved,
        source,
        next_index: 0,
        done: false,
    })
}

fn resolve_against(
    path: &Path,
    mapping: &ColumnMapping,
    columns: &[String],
) -> Result<ResolvedMapping, DataError> {
    mapping
        .resolve(|name| columns.iter().position(|c| c == name), false)
        .map_err(|missing| missing_column(path, missing, columns))
}

fn missing_column(path: &Path, missing: String, columns: &[String]) -> DataError {
    DataError::file(
        path,
        DataErrorKind::MissingColumn {
            available: columns.to_vec(),
        },
    )
    .with_column(missing)
}

// ---- CSV ----

fn open_csv(
    path: &Path,
    file: File,
    mapping: &ColumnMapping,
) -> Result<(ResolvedMapping, Source), DataError> {
    let mut reader = csv::ReaderBuilder::new()
        .buffer_capacity(CSV_BUFFER)
        .from_reader(file);
    let headers = reader
        .headers()
        .map_err(|e| csv_error(path, &e, Location::Line(1)))?;
    let columns: Vec<String> = headers.iter().map(str::to_owned).collect();
    let resolved = resolve_against(path, mapping, &columns)?;
    let source = Source::Csv(CsvSource {
        reader,
        record: csv::StringRecord::new(),
    });
    Ok((resolved, source))
}

fn csv_error(path: &Path, error: &csv::Error, fallback: Location) -> DataError {
    let location = error
        .position()
        .map_or(fallback, |position| Location::Line(position.line()));
    let kind = match error.kind() {
        csv::ErrorKind::Io(e) => DataErrorKind::Io(std::io::Error::new(e.kind(), e.to_string())),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => DataErrorKind::Csv(format!("expected {expected_len} fields, found {len}")),
        csv::ErrorKind::Utf8 { err, .. } => {
            DataErrorKind::Csv(format!("field {} is not valid UTF-8", err.field() + 1))
        }
        _ => DataErrorKind::Csv(error.to_string()),
    };
    DataError::new(path, location, kind)
}

fn next_csv(
    path: &Path,
    mapping: &ResolvedMapping,
    source: &mut CsvSource,
    index: u64,
) -> Option<Step> {
    match source.reader.read_record(&mut source.record) {
        Ok(false) => None,
        Ok(true) => {
            let line = source
                .record
                .position()
                .map_or(index + 2, csv::Position::line);
            let record = &source.record;
            let row = build_row(path, mapping, index, Location::Line(line), |_, column| {
                Ok(record.get(column.index).map_or(Cell::Missing, Cell::Text))
            });
            Some(Step::Row(row))
        }
        Err(error) => {
            let fatal = matches!(error.kind(), csv::ErrorKind::Io(_));
            let error = csv_error(path, &error, Location::Line(index + 2));
            Some(if fatal {
                Step::Fatal(error)
            } else {
                Step::Row(Err(error))
            })
        }
    }
}

// ---- JSONL ----

fn open_jsonl(
    path: &Path,
    file: File,
    mapping: &ColumnMapping,
) -> Result<(ResolvedMapping, Source), DataError> {
    let mut source = JsonlSource {
        reader: BufReader::new(file),
        line: Vec::new(),
        line_number: 0,
        first: None,
    };
    let first = read_jsonl_record(path, &mut source)?;
    let resolved = match &first {
        Some(JsonlRecord {
            object: Ok(object), ..
        }) => {
            let keys: Vec<String> = object.keys().cloned().collect();
            mapping
                .resolve(|name| keys.iter().position(|k| k == name), true)
                .map_err(|missing| missing_column(path, missing, &keys))?
        }
        // An empty file, or a bad first record (reported as row 1's error): nothing to check
        // the mapping against, so every mapped column is looked for in every record.
        _ => mapping
            .resolve(|_| Some(usize::MAX), true)
            .expect("a lookup that finds every column never fails"),
    };
    source.first = first;
    Ok((resolved, Source::Jsonl(source)))
}

/// Reads up to the next non-blank line and parses it as a JSON object; `Ok(None)` at the end.
/// The `Err` is an I/O error, which ends the file.
fn read_jsonl_record(
    path: &Path,
    source: &mut JsonlSource,
) -> Result<Option<JsonlRecord>, DataError> {
    loop {
        if source.line.capacity() > LINE_BUFFER_KEEP {
            source.line = Vec::new();
        }
        source.line.clear();
        let read = source
            .reader
            .read_until(b'\n', &mut source.line)
            .map_err(|e| {
                DataError::new(
                    path,
                    Location::Line(source.line_number + 1),
                    DataErrorKind::Io(e),
                )
            })?;
        if read == 0 {
            return Ok(None);
        }
        source.line_number += 1;
        if source.line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let object = match serde_json::from_slice::<Value>(&source.line) {
            Ok(Value::Object(object)) => Ok(object),
            Ok(other) => Err(DataErrorKind::InvalidValue(format!(
                "expected a JSON object, found {}",
                cell::type_name(&other)
            ))),
            Err(e) => Err(DataErrorKind::InvalidJson(e.to_string())),
        };
        return Ok(Some(JsonlRecord {
            line: source.line_number,
            object,
        }));
    }
}

fn next_jsonl(
    path: &Path,
    mapping: &ResolvedMapping,
    source: &mut JsonlSource,
    index: u64,
) -> Option<Step> {
    let record = match source.first.take() {
        Some(first) => first,
        None => match read_jsonl_record(path, source) {
            Ok(Some(record)) => record,
            Ok(None) => return None,
            Err(error) => return Some(Step::Fatal(error)),
        },
    };
    let location = Location::Line(record.line);
    let mut object = match record.object {
        Ok(object) => object,
        Err(kind) => return Some(Step::Row(Err(DataError::new(path, location, kind)))),
    };
    let row = build_row(path, mapping, index, location, |_, column| {
        // Taken, not cloned: a key is mapped once, except the rare one two targets share.
        let value = if column.shared {
            object.get(&column.name).cloned()
        } else {
            object.remove(&column.name)
        };
        Ok(value.map_or(Cell::Missing, Cell::Value))
    });
    Some(Step::Row(row))
}

// ---- Parquet ----

fn parquet_error(path: &Path, location: Location, error: &impl std::fmt::Display) -> DataError {
    DataError::new(path, location, DataErrorKind::Parquet(error.to_string()))
}

fn open_parquet(
    path: &Path,
    file: File,
    mapping: &ColumnMapping,
) -> Result<(ResolvedMapping, Source), DataError> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| parquet_error(path, Location::File, &e))?;
    let columns: Vec<String> = builder
        .schema()
        .fields()
        .iter()
        .map(|field| field.name().clone())
        .collect();
    let resolved = resolve_against(path, mapping, &columns)?;
    // Read only the mapped columns: a results file or a wide export may carry many more.
    let mut roots: Vec<usize> = resolved.columns.iter().map(|c| c.index).collect();
    roots.sort_unstable();
    roots.dedup();
    let batch_columns = resolved
        .columns
        .iter()
        .map(|c| {
            roots
                .binary_search(&c.index)
                .expect("every mapped root is projected")
        })
        .collect();
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots.iter().copied());
    let reader = builder
        .with_projection(mask)
        .with_batch_size(PARQUET_BATCH_ROWS)
        .build()
        .map_err(|e| parquet_error(path, Location::File, &e))?;
    let source = Source::Parquet(ParquetSource {
        reader,
        batch: None,
        position: 0,
        batch_columns,
    });
    Ok((resolved, source))
}

fn next_parquet(
    path: &Path,
    mapping: &ResolvedMapping,
    source: &mut ParquetSource,
    index: u64,
) -> Option<Step> {
    let location = Location::Row(index + 1);
    loop {
        if let Some(batch) = &source.batch {
            if source.position < batch.num_rows() {
                break;
            }
        }
        // Drop the spent batch before decoding the next, so only one is ever held.
        source.batch = None;
        source.position = 0;
        match source.reader.next()? {
            Ok(batch) => source.batch = Some(batch),
            // The decoder cannot skip a bad page and go on: the rest of the file is lost.
            Err(e) => return Some(Step::Fatal(parquet_error(path, location, &e))),
        }
    }
    let batch = source.batch.as_ref().expect("checked above");
    let position = source.position;
    source.position += 1;
    let batch_columns = &source.batch_columns;
    let row = build_row(path, mapping, index, location, |slot, _| {
        let array = batch.column(batch_columns[slot]);
        match arrow_json::cell(array.as_ref(), position) {
            Ok(ArrowCell::Null) => Ok(Cell::Missing),
            Ok(ArrowCell::Text(text)) => Ok(Cell::Text(text)),
            Ok(ArrowCell::Value(value)) => Ok(Cell::Value(value)),
            Err(message) => Err(DataErrorKind::InvalidValue(message)),
        }
    });
    Some(Step::Row(row))
}

// ---- shared ----

/// Builds one row from its mapped cells; `cell_of` fetches a column's cell from the record,
/// given the column and its position in the mapping.
fn build_row<'r>(
    path: &Path,
    mapping: &ResolvedMapping,
    index: u64,
    location: Location,
    mut cell_of: impl FnMut(usize, &MappedColumn) -> Result<Cell<'r>, DataErrorKind>,
) -> Result<EvalRow, DataError> {
    let mut row = EvalRow {
        index,
        ..EvalRow::default()
    };
    for (slot, column) in mapping.columns.iter().enumerate() {
        cell_of(slot, column)
            .and_then(|cell| cell::place(&mut row, &column.target, cell))
            .map_err(|kind| DataError::new(path, location, kind).with_column(&column.name))?;
    }
    if row.inputs.is_empty() {
        return Err(DataError::new(path, location, DataErrorKind::NoInputs)
            .with_column(mapping.input_columns.join(", ")));
    }
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_from_extension() {
        for (name, format) in [
            ("a/qa.csv", Some(Format::Csv)),
            ("QA.CSV", Some(Format::Csv)),
            ("qa.jsonl", Some(Format::Jsonl)),
            ("qa.ndjson", Some(Format::Jsonl)),
            ("qa.parquet", Some(Format::Parquet)),
            ("qa.json", None),
            ("qa", None),
        ] {
            assert_eq!(Format::from_path(Path::new(name)), format, "{name}");
        }
    }

    /// The engine reads on a blocking thread and hands rows to async tasks.
    #[test]
    fn readers_and_writers_are_send() {
        fn send<T: Send>() {}
        fn boxable<T: std::error::Error + Send + Sync + 'static>() {}
        send::<RowReader>();
        boxable::<DataError>();
        send::<crate::ResultsWriter>();
        send::<crate::ResultsJsonWriter>();
    }
}
