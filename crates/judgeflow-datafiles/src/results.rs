//! The per-row results table: [`ResultsWriter`] for `eval_results.parquet`,
//! [`ResultsJsonWriter`] for `eval_results.json`.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::DataError;

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

/// Writes [`ResultRecord`]s to a Parquet file, one row group every 1024 records.
pub struct ResultsWriter {
    _todo: (),
}

impl ResultsWriter {
    pub fn create(path: &Path, scorers: &[String]) -> Result<Self, DataError> {
        let _ = (path, scorers);
        todo!()
    }

    pub fn write(&mut self, record: &ResultRecord) -> Result<(), DataError> {
        let _ = record;
        todo!()
    }

    pub fn finish(self) -> Result<(), DataError> {
        todo!()
    }
}

/// How [`ResultsJsonWriter`] lays out its records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum JsonLayout {
    /// One JSON array (`eval_results.json`), written element by element.
    #[default]
    Array,
    /// One JSON object per line.
    Lines,
}

/// Writes [`ResultRecord`]s as JSON, streamed.
pub struct ResultsJsonWriter {
    _todo: (),
}

impl ResultsJsonWriter {
    pub fn create(path: &Path, layout: JsonLayout) -> Result<Self, DataError> {
        let _ = (path, layout);
        todo!()
    }

    pub fn write(&mut self, record: &ResultRecord) -> Result<(), DataError> {
        let _ = record;
        todo!()
    }

    pub fn finish(self) -> Result<(), DataError> {
        todo!()
    }
}
