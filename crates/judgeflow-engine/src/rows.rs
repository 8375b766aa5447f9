//! Dataset rows. A stop-gap JSONL reader in the MLflow shape (`{"inputs": {…},
//! "expectations": {…}, "outputs": …}` per line) until `judgeflow-datafiles`' reader lands.

use std::io::BufRead as _;
use std::path::Path;

pub use judgeflow_datafiles::EvalRow;
use serde_json::{Map, Value};

/// A context value as passages: a list of texts, or one text.
#[must_use]
pub fn passages(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::Null => None,
        Value::Array(items) => Some(items.iter().map(crate::template::text_of).collect()),
        other => Some(vec![crate::template::text_of(other)]),
    }
}

/// A row that could not be read: file, 1-based row number, field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: row {row}: {field}: {message}")]
pub struct DataError {
    pub file: String,
    pub row: usize,
    pub field: String,
    pub message: String,
}

/// Streams the rows of a JSONL file.
pub fn open_jsonl(path: &Path) -> Result<impl Iterator<Item = Result<EvalRow, DataError>> + Send + 'static + use<>, DataError> {
    let file_name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| DataError {
        file: file_name.clone(),
        row: 0,
        field: "file".into(),
        message: e.to_string(),
    })?;
    let reader = std::io::BufReader::new(file);
    let mut index = 0_u64;
    Ok(reader.lines().enumerate().filter_map(move |(line_no, line)| {
        let error = |field: &str, message: String| DataError {
            file: file_name.clone(),
            row: line_no + 1,
            field: field.into(),
            message,
        };
        let line = match line {
            Ok(line) if line.trim().is_empty() => return None,
            Ok(line) => line,
            Err(e) => return Some(Err(error("line", e.to_string()))),
        };
        let value: Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(e) => return Some(Err(error("line", e.to_string()))),
        };
        let Value::Object(mut object) = value else {
            return Some(Err(error("line", "not a JSON object".into())));
        };
        let object_field = |object: &mut Map<String, Value>, name: &str| match object.remove(name) {
            None | Some(Value::Null) => Ok(Map::new()),
            Some(Value::Object(map)) => Ok(map),
            Some(_) => Err(error(name, "must be an object".into())),
        };
        let inputs = match object_field(&mut object, "inputs") {
            Ok(map) if map.is_empty() => return Some(Err(error("inputs", "missing or empty".into()))),
            Ok(map) => map,
            Err(e) => return Some(Err(e)),
        };
        let expectations = match object_field(&mut object, "expectations") {
            Ok(map) => map,
            Err(e) => return Some(Err(e)),
        };
        let row = EvalRow {
            index,
            id: object.get("id").map(crate::template::text_of),
            inputs,
            expectations,
            outputs: object.remove("outputs").filter(|v| !v.is_null()),
            tags: Map::new(),
            retrieved_context: object.remove("retrieved_context").as_ref().and_then(passages),
        };
        index += 1;
        Some(Ok(row))
    }))
}

/// Opens the dataset as a stream of rows.
pub fn open(
    path: &Path,
    format: Option<crate::suite::DataFormat>,
    columns: &crate::suite::ColumnsSpec,
) -> Result<impl Iterator<Item = Result<EvalRow, crate::error::EngineError>> + Send + 'static, crate::error::EngineError> {
    let _ = columns;
    let is_jsonl = match format {
        Some(format) => format == crate::suite::DataFormat::Jsonl,
        None => path.extension().is_some_and(|e| e == "jsonl"),
    };
    if !is_jsonl {
        return Err(crate::error::EngineError::Config(format!(
            "{}: only JSONL datasets are read so far",
            path.display()
        )));
    }
    let path = path.to_owned();
    Ok(open_jsonl(&path)?.map(|row| row.map_err(Into::into)))
}
