//! What evaluating one row produced: the calls made (each becomes a span), the target's
//! output, and one score per scorer.

use judgeflow_llm::Usage;
use serde_json::{Map, Value};

/// Who pays for a call, kept apart in the cost ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payer {
    Target,
    Judge,
}

/// One call to a model, endpoint or process, as its span records it.
#[derive(Debug, Clone)]
pub struct CallRecord {
    pub name: String,
    /// `mlflow.spanType`: `CHAT_MODEL`, `LLM`, `TOOL`…
    pub span_type: &'static str,
    pub inputs: Value,
    pub outputs: Value,
    pub start_ns: i64,
    pub end_ns: i64,
    pub model: Option<String>,
    pub usage: Option<Usage>,
    pub cached: bool,
    pub payer: Payer,
    pub error: Option<String>,
}

/// The target's answer for a row.
#[derive(Debug, Clone, Default)]
pub struct TargetOutput {
    pub outputs: Value,
    pub retrieved_context: Option<Vec<String>>,
    pub calls: Vec<CallRecord>,
}

/// Where an assessment came from (MLflow's source types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    Code,
    LlmJudge,
}

impl SourceKind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Code => "CODE",
            Self::LlmJudge => "LLM_JUDGE",
        }
    }
}

/// One scorer's verdict on one row. Exactly one of `value` and `error` is set.
#[derive(Debug, Clone)]
pub struct Score {
    pub scorer: String,
    pub value: Option<Value>,
    pub rationale: Option<String>,
    pub error: Option<String>,
    pub source: SourceKind,
    /// The judge model (or the scorer kind for code).
    pub source_id: String,
    /// The numeric form the mean is taken over (booleans and yes/no as 1 and 0).
    pub numeric: Option<f64>,
    pub passed: Option<bool>,
    pub calls: Vec<CallRecord>,
}

impl Score {
    /// A failed score with its reason: recorded, never dropped.
    pub fn failed(
        scorer: &str,
        source: SourceKind,
        source_id: &str,
        error: impl Into<String>,
    ) -> Self {
        Self {
            scorer: scorer.to_owned(),
            value: None,
            rationale: None,
            error: Some(error.into()),
            source,
            source_id: source_id.to_owned(),
            numeric: None,
            passed: None,
            calls: Vec::new(),
        }
    }
}

/// A finished row.
#[derive(Debug, Clone)]
pub struct RowResult {
    pub index: u64,
    pub id: Option<String>,
    /// `tr-` + the hex of `otel_trace_id`.
    pub trace_id: String,
    pub otel_trace_id: [u8; 16],
    pub inputs: Map<String, Value>,
    pub outputs: Option<Value>,
    pub expectations: Map<String, Value>,
    /// The dataset row's tags, stored as tags of the row's trace.
    pub tags: Map<String, Value>,
    pub retrieved_context: Option<Vec<String>>,
    pub start_ns: i64,
    pub end_ns: i64,
    /// Why the target gave no output.
    pub error: Option<String>,
    pub target_calls: Vec<CallRecord>,
    pub scores: Vec<Score>,
}

impl RowResult {
    #[must_use]
    pub fn latency_ms(&self) -> f64 {
        (self.end_ns - self.start_ns) as f64 / 1e6
    }
}

/// Nanoseconds since the epoch, the unit of span times.
#[must_use]
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}
