//! Dataset rows, read by `judgeflow-datafiles` (CSV, JSONL, Parquet; streamed).

use std::path::Path;

pub use judgeflow_datafiles::EvalRow;
use serde_json::Value;

use crate::error::EngineError;
use crate::suite::{ColumnsSpec, DataFormat};

/// A context value as passages: a list of texts, or one text.
#[must_use]
pub fn passages(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::Null => None,
        Value::Array(items) => Some(items.iter().map(crate::template::text_of).collect()),
        other => Some(vec![crate::template::text_of(other)]),
    }
}

/// Opens the dataset as a stream of rows; a bad row is an `Err` item naming file, row and
/// column.
pub fn open(
    path: &Path,
    format: Option<DataFormat>,
    columns: &ColumnsSpec,
) -> Result<impl Iterator<Item = Result<EvalRow, EngineError>> + Send + 'static + use<>, EngineError>
{
    let reader = judgeflow_datafiles::open(path, format.map(Into::into), &columns.into())?;
    Ok(reader.map(|row| row.map_err(Into::into)))
}
