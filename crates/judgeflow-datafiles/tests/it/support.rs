//! Helpers shared by the test modules.

use std::path::PathBuf;

use judgeflow_datafiles::{ColumnMapping, DataError, EvalRow, open};
use serde_json::{Map, Value, json};

/// A temporary directory that lives as long as the test holds it.
pub struct Dir(tempfile::TempDir);

impl Dir {
    pub fn new() -> Self {
        Self(tempfile::tempdir().expect("temp dir"))
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }

    /// Writes `contents` to `name` and returns its path.
    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, contents).expect("write test file");
        path
    }
}

/// Reads every row of `path`, good and bad.
pub fn read_all(
    path: &std::path::Path,
    mapping: &ColumnMapping,
) -> Vec<Result<EvalRow, DataError>> {
    open(path, None, mapping).expect("open").collect()
}

/// Reads every row of `path`, failing the test on a bad one.
pub fn read_ok(path: &std::path::Path, mapping: &ColumnMapping) -> Vec<EvalRow> {
    read_all(path, mapping)
        .into_iter()
        .map(|row| row.unwrap_or_else(|e| panic!("unexpected bad row: {e}")))
        .collect()
}

/// A JSON object literal as a `Map`.
pub fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

pub fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// `{}` for the maps a row leaves empty.
pub fn empty() -> Map<String, Value> {
    object(json!({}))
}
