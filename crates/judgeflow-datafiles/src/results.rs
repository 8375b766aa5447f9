//! The per-row results table: [`ResultsWriter`] for `eval_results.parquet`,
//! [`ResultsJsonWriter`] for `eval_results.json`.
//!
//! Both take one [`ResultRecord`] at a time and hold at most one row group
//! ([`RESULTS_ROW_GROUP_ROWS`] records) in memory, so an evaluation of any size writes its
//! table with flat memory, as it goes.
//!
//! The Parquet layout is flat, one column per field, so any Parquet reader gets a plain
//! table:
//!
//! | column | type | holds |
//! |---|---|---|
//! | `row_index` | `UInt64`, not null | the 0-based data row |
//! | `row_id`, `trace_id` | `Utf8` | |
//! | `inputs`, `outputs`, `expectations` | `Utf8` | JSON text (null for JSON `null`) |
//! | `latency_ms` | `Float64` | |
//! | `error` | `Utf8` | why the row failed as a whole |
//! | `<scorer>/value` | `Utf8` | JSON text of the score (`true`, `0.75`, `"yes"`) |
//! | `<scorer>/rationale`, `<scorer>/error` | `Utf8` | |
//!
//! A score is JSON text rather than a typed column because one scorer's values may be
//! booleans, numbers or categories, and a null score with an error is a different thing from a
//! `false`.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{Float64Builder, StringBuilder, UInt64Builder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{DataError, DataErrorKind, Location};

/// Records per Parquet row group: each group is flushed to the file as it fills.
pub const RESULTS_ROW_GROUP_ROWS: usize = 1024;

/// One evaluated row: what went in, what came out, and every scorer's verdict.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResultRecord {
    pub row_index: u64,
    pub row_id: Option<String>,
    pub trace_id: Option<String>,
    pub inputs: Value,
    pub outputs: Value,
    pub expectations: Value,
    pub latency_ms: Option<f64>,
    /// Why the row failed as a whole (the target call failed, say).
    pub error: Option<String>,
    pub scores: Vec<ScoreCell>,
}

/// One scorer's verdict on one row.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScoreCell {
    pub scorer: String,
    pub value: Option<Value>,
    pub rationale: Option<String>,
    pub error: Option<String>,
}

fn write_error(path: &Path, error: &impl std::fmt::Display) -> DataError {
    DataError::file(path, DataErrorKind::Write(error.to_string()))
}

/// Writes [`ResultRecord`]s to a Parquet file (Snappy), one row group every
/// [`RESULTS_ROW_GROUP_ROWS`] records. The file is complete only after [`Self::finish`].
pub struct ResultsWriter {
    path: PathBuf,
    writer: ArrowWriter<File>,
    schema: SchemaRef,
    scorers: Vec<String>,
    slot_of: HashMap<String, usize>,
    columns: Columns,
    pending: usize,
}

/// The column builders of the row group being filled.
struct Columns {
    row_index: UInt64Builder,
    row_id: StringBuilder,
    trace_id: StringBuilder,
    inputs: StringBuilder,
    outputs: StringBuilder,
    expectations: StringBuilder,
    latency_ms: Float64Builder,
    error: StringBuilder,
    /// Per scorer: value, rationale, error.
    scores: Vec<[StringBuilder; 3]>,
}

fn json_text(value: &Value) -> Option<String> {
    (!value.is_null()).then(|| value.to_string())
}

impl ResultsWriter {
    /// Creates (or truncates) `path`, with one group of three columns per scorer, in the order
    /// given. Scorer names must be unique.
    pub fn create(path: &Path, scorers: &[String]) -> Result<Self, DataError> {
        let mut slot_of = HashMap::new();
        for (slot, scorer) in scorers.iter().enumerate() {
            if slot_of.insert(scorer.clone(), slot).is_some() {
                return Err(DataError::file(
                    path,
                    DataErrorKind::InvalidRecord(format!("scorer '{scorer}' is listed twice")),
                ));
            }
        }
        let text = |name: String| Field::new(name, DataType::Utf8, true);
        let mut fields = vec![
            Field::new("row_index", DataType::UInt64, false),
            text("row_id".into()),
            text("trace_id".into()),
            text("inputs".into()),
            text("outputs".into()),
            text("expectations".into()),
            Field::new("latency_ms", DataType::Float64, true),
            text("error".into()),
        ];
        for scorer in scorers {
            for part in ["value", "rationale", "error"] {
                fields.push(text(format!("{scorer}/{part}")));
            }
        }
        let schema = Arc::new(Schema::new(fields));
        let file = File::create(path).map_err(|e| DataError::file(path, DataErrorKind::Io(e)))?;
        let properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(RESULTS_ROW_GROUP_ROWS))
            .build();
        let writer = ArrowWriter::try_new(file, Arc::clone(&schema), Some(properties))
            .map_err(|e| write_error(path, &e))?;
        Ok(Self {
            path: path.to_owned(),
            writer,
            schema,
            scorers: scorers.to_vec(),
            slot_of,
            columns: Columns {
                row_index: UInt64Builder::new(),
                row_id: StringBuilder::new(),
                trace_id: StringBuilder::new(),
                inputs: StringBuilder::new(),
                outputs: StringBuilder::new(),
                expectations: StringBuilder::new(),
                latency_ms: Float64Builder::new(),
                error: StringBuilder::new(),
                scores: scorers
                    .iter()
                    .map(|_| {
                        [
                            StringBuilder::new(),
                            StringBuilder::new(),
                            StringBuilder::new(),
                        ]
                    })
                    .collect(),
            },
            pending: 0,
        })
    }

    /// Appends one record. A scorer that the record does not mention gets nulls; a scorer
    /// that was not declared at [`Self::create`] is an error (naming row `row_index + 1`), and
    /// nothing of the record is written.
    pub fn write(&mut self, record: &ResultRecord) -> Result<(), DataError> {
        // Check everything before appending anything, so the columns never fall out of step.
        let mut cells: Vec<Option<&ScoreCell>> = vec![None; self.scorers.len()];
        for cell in &record.scores {
            let invalid = |message: String| {
                DataError::new(
                    &self.path,
                    Location::Row(record.row_index + 1),
                    DataErrorKind::InvalidRecord(message),
                )
                .with_column(format!("{}/value", cell.scorer))
            };
            let slot = *self.slot_of.get(&cell.scorer).ok_or_else(|| {
                invalid(format!(
                    "unknown scorer '{}' (scorers: {})",
                    cell.scorer,
                    self.scorers.join(", ")
                ))
            })?;
            if cells[slot].replace(cell).is_some() {
                return Err(invalid(format!(
                    "scorer '{}' appears twice in one record",
                    cell.scorer
                )));
            }
        }

        let c = &mut self.columns;
        c.row_index.append_value(record.row_index);
        c.row_id.append_option(record.row_id.as_deref());
        c.trace_id.append_option(record.trace_id.as_deref());
        c.inputs.append_option(json_text(&record.inputs));
        c.outputs.append_option(json_text(&record.outputs));
        c.expectations
            .append_option(json_text(&record.expectations));
        c.latency_ms.append_option(record.latency_ms);
        c.error.append_option(record.error.as_deref());
        for (builders, cell) in c.scores.iter_mut().zip(cells) {
            let [value, rationale, error] = builders;
            value.append_option(cell.and_then(|c| c.value.as_ref()).and_then(json_text));
            rationale.append_option(cell.and_then(|c| c.rationale.as_deref()));
            error.append_option(cell.and_then(|c| c.error.as_deref()));
        }
        self.pending += 1;
        if self.pending >= RESULTS_ROW_GROUP_ROWS {
            self.flush_group()?;
        }
        Ok(())
    }

    /// Writes the records appended so far as one row group.
    fn flush_group(&mut self) -> Result<(), DataError> {
        if self.pending == 0 {
            return Ok(());
        }
        let c = &mut self.columns;
        let mut arrays: Vec<ArrayRef> = vec![
            Arc::new(c.row_index.finish()),
            Arc::new(c.row_id.finish()),
            Arc::new(c.trace_id.finish()),
            Arc::new(c.inputs.finish()),
            Arc::new(c.outputs.finish()),
            Arc::new(c.expectations.finish()),
            Arc::new(c.latency_ms.finish()),
            Arc::new(c.error.finish()),
        ];
        for builders in &mut c.scores {
            for builder in builders {
                arrays.push(Arc::new(builder.finish()));
            }
        }
        let batch = RecordBatch::try_new(Arc::clone(&self.schema), arrays)
            .map_err(|e| write_error(&self.path, &e))?;
        self.writer
            .write(&batch)
            .and_then(|()| self.writer.flush())
            .map_err(|e| write_error(&self.path, &e))?;
        self.pending = 0;
        Ok(())
    }

    /// Writes the last row group and the footer.
    pub fn finish(mut self) -> Result<(), DataError> {
        self.flush_group()?;
        let path = self.path;
        self.writer.close().map_err(|e| write_error(&path, &e))?;
        Ok(())
    }
}

/// How [`ResultsJsonWriter`] lays out its records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum JsonLayout {
    /// One JSON array (`eval_results.json`), written element by element: `[`, one record per
    /// line separated by commas, `]`. Readable by `json.load` and still streamed.
    #[default]
    Array,
    /// One JSON object per line (JSONL).
    Lines,
}

/// Writes [`ResultRecord`]s as JSON, streamed, in their serde shape:
/// `{"row_index":0,"row_id":…,"trace_id":…,"inputs":{…},"outputs":…,"expectations":{…},
/// "latency_ms":…,"error":…,"scores":[{"scorer":"…","value":…,"rationale":…,"error":…}]}`.
/// The file is complete only after [`Self::finish`].
pub struct ResultsJsonWriter {
    path: PathBuf,
    out: BufWriter<File>,
    layout: JsonLayout,
    written: u64,
}

impl ResultsJsonWriter {
    /// Creates (or truncates) `path`.
    pub fn create(path: &Path, layout: JsonLayout) -> Result<Self, DataError> {
        let file = File::create(path).map_err(|e| DataError::file(path, DataErrorKind::Io(e)))?;
        let mut writer = Self {
            path: path.to_owned(),
            out: BufWriter::new(file),
            layout,
            written: 0,
        };
        if layout == JsonLayout::Array {
            writer.put(b"[")?;
        }
        Ok(writer)
    }

    fn put(&mut self, bytes: &[u8]) -> Result<(), DataError> {
        self.out
            .write_all(bytes)
            .map_err(|e| write_error(&self.path, &e))
    }

    /// Appends one record.
    pub fn write(&mut self, record: &ResultRecord) -> Result<(), DataError> {
        if self.layout == JsonLayout::Array {
            self.put(if self.written == 0 { b"\n" } else { b",\n" })?;
        }
        serde_json::to_writer(&mut self.out, record).map_err(|e| write_error(&self.path, &e))?;
        if self.layout == JsonLayout::Lines {
            self.put(b"\n")?;
        }
        self.written += 1;
        Ok(())
    }

    /// Closes the array (for [`JsonLayout::Array`]) and flushes the file.
    pub fn finish(mut self) -> Result<(), DataError> {
        if self.layout == JsonLayout::Array {
            self.put(if self.written == 0 { b"]\n" } else { b"\n]\n" })?;
        }
        self.out.flush().map_err(|e| write_error(&self.path, &e))
    }
}
