//! The per-row results table, written as rows finish and stored as the run's
//! `eval_results.json` artifact.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use judgeflow_datafiles::{ResultRecord, ScoreCell};
use serde_json::Value;

use crate::error::EngineError;
use crate::outcome::RowResult;
use crate::sink::PriorRow;

pub struct ResultsFiles {
    json_path: PathBuf,
    json: std::io::BufWriter<std::fs::File>,
    first: bool,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> EngineError + '_ {
    move |e| EngineError::Artifacts(format!("{}: {e}", path.display()))
}

impl ResultsFiles {
    pub fn create(dir: &Path, scorers: &[String]) -> Result<Self, EngineError> {
        let _ = scorers;
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let json_path = dir.join("eval_results.json");
        let mut json = std::io::BufWriter::new(std::fs::File::create(&json_path).map_err(io(&json_path))?);
        json.write_all(b"[").map_err(io(&json_path))?;
        Ok(Self {
            json_path,
            json,
            first: true,
        })
    }

    fn write_record(&mut self, record: &ResultRecord) -> Result<(), EngineError> {
        if !self.first {
            self.json.write_all(b",\n").map_err(io(&self.json_path))?;
        }
        self.first = false;
        serde_json::to_writer(&mut self.json, record)
            .map_err(|e| EngineError::Artifacts(e.to_string()))
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
    pub fn finish(mut self) -> Result<Vec<(String, PathBuf)>, EngineError> {
        self.json.write_all(b"]\n").map_err(io(&self.json_path))?;
        self.json.flush().map_err(io(&self.json_path))?;
        Ok(vec![("eval_results.json".into(), self.json_path)])
    }
}
