//! The per-row results table, streamed to `eval_results.parquet` and `eval_results.json` as
//! rows finish, then stored as the run's artifacts.

use std::path::{Path, PathBuf};

use judgeflow_datafiles::{JsonLayout, ResultRecord, ResultsJsonWriter, ResultsWriter, ScoreCell};
use serde_json::Value;

use crate::error::EngineError;
use crate::outcome::RowResult;
use crate::sink::PriorRow;

pub struct ResultsFiles {
    parquet_path: PathBuf,
    parquet: ResultsWriter,
    json_path: PathBuf,
    json: ResultsJsonWriter,
}

impl ResultsFiles {
    pub fn create(dir: &Path, scorers: &[String]) -> Result<Self, EngineError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| EngineError::Artifacts(format!("{}: {e}", dir.display())))?;
        let parquet_path = dir.join("eval_results.parquet");
        let json_path = dir.join("eval_results.json");
        Ok(Self {
            parquet: ResultsWriter::create(&parquet_path, scorers)?,
            parquet_path,
            json: ResultsJsonWriter::create(&json_path, JsonLayout::Array)?,
            json_path,
        })
    }

    fn write_record(&mut self, record: &ResultRecord) -> Result<(), EngineError> {
        self.parquet.write(record)?;
        self.json.write(record)?;
        Ok(())
    }

    pub fn write(&mut self, row: &RowResult) -> Result<(), EngineError> {
        let record = ResultRecord {
            row_index: row.index,
            row_id: row.id.clone(),
            trace_id: Some(row.trace_id.clone()),
            inputs: Value::Object(row.inputs.clone()),
            outputs: row.outputs.clone().unwrap_or(Value::Null),
            expectations: Value::Object(row.expectations.clone()),
            latency_ms: Some(row.latency_ms()),
            error: row.error.clone(),
            scores: row
                .scores
                .iter()
                .map(|s| ScoreCell {
                    scorer: s.scorer.clone(),
                    value: s.value.clone(),
                    rationale: s.rationale.clone(),
                    error: s.error.clone(),
                })
                .collect(),
        };
        self.write_record(&record)
    }

    pub fn write_prior(&mut self, row: &PriorRow) -> Result<(), EngineError> {
        let record = ResultRecord {
            row_index: row.index,
            row_id: None,
            trace_id: Some(row.trace_id.clone()),
            inputs: row.inputs.clone(),
            outputs: row.outputs.clone(),
            expectations: row.expectations.clone(),
            latency_ms: row.latency_ms,
            error: row.error.clone(),
            scores: row
                .scores
                .iter()
                .map(|s| ScoreCell {
                    scorer: s.scorer.clone(),
                    value: s.value.clone(),
                    rationale: s.rationale.clone(),
                    error: s.error.clone(),
                })
                .collect(),
        };
        self.write_record(&record)
    }

    /// Closes the files; returns them as (artifact name, local path).
    pub fn finish(self) -> Result<Vec<(String, PathBuf)>, EngineError> {
        self.parquet.finish()?;
        self.json.finish()?;
        Ok(vec![
            ("eval_results.parquet".into(), self.parquet_path),
            ("eval_results.json".into(), self.json_path),
        ])
    }
}
