//! The storage contract of MLflow 3 traces: trace infos, their spans and their assessments.
//!
//! Spans and the final trace info arrive in either order (OTLP export as spans end, then
//! StartTraceV3 once the root ends), so both writes are upserts that create the trace row when
//! it is missing. Span reads are paged by a keyset cursor, so a trace of 50,000 spans is never
//! held in memory at once.

use async_trait::async_trait;
use judgeflow_domain::search::{Comparison, OrderBy};
use judgeflow_domain::{Assessment, AssessmentUpdate, SpanRecord, TraceInfo};

use crate::{Page, PageToken, StoreResult};

/// A trace search. An empty `order_by` means newest first (`timestamp_ms DESC`, then id).
#[derive(Debug, Clone)]
pub struct TraceQuery {
    pub experiment_ids: Vec<String>,
    pub filter: Vec<Comparison>,
    pub order_by: Vec<OrderBy>,
    pub max_results: usize,
    pub page_token: PageToken,
}

/// Where the next page of a trace's spans starts: after this (start time, span id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanCursor {
    pub start_time_ns: i64,
    pub span_id: String,
}

/// One page of span contents (OTLP JSON, in start-time order).
#[derive(Debug, Clone, PartialEq)]
pub struct SpanPage {
    pub spans: Vec<String>,
    pub next: Option<SpanCursor>,
}

/// Which traces of one experiment to delete: the named ones, or the oldest up to
/// `max_traces` with a request time at or before `max_timestamp_ms`.
#[derive(Debug, Clone)]
pub enum TraceDeletion {
    Ids(Vec<String>),
    OlderThan {
        max_timestamp_ms: i64,
        max_traces: Option<usize>,
    },
}

/// A finished trace stored in one write: its spans, its final info, the run it belongs to
/// and its assessments. An evaluation row is one of these, so a crash never leaves a row half
/// stored, and the row costs one commit instead of one per piece.
#[derive(Debug, Clone)]
pub struct CompleteTrace {
    pub experiment_id: String,
    pub spans: Vec<SpanRecord>,
    pub info: TraceInfo,
    /// The run to link the trace to, as `link_traces_to_run` does.
    pub run_id: Option<String>,
    pub assessments: Vec<Assessment>,
}

#[async_trait]
pub trait TraceStore: Send + Sync + 'static {
    /// StartTraceV3: upserts the final info. Metadata and tags merge into what spans already
    /// created; assessments carried in the info are stored. Returns the stored info, with the
    /// server's tags (`mlflow.artifactLocation`, and `mlflow.trace.spansLocation` once spans
    /// are held) and assessments.
    async fn start_trace(&self, info: TraceInfo) -> StoreResult<TraceInfo>;
    /// Stores spans (OTLP ingest) of traces in `experiment_id`, creating trace rows for traces
    /// not seen yet. All of the batch lands or none of it; a span sent again replaces itself.
    async fn log_spans(&self, experiment_id: &str, spans: Vec<SpanRecord>) -> StoreResult<()>;
    /// `log_spans`, `start_trace`, `link_traces_to_run` and `create_assessment` for each
    /// assessment, as one transaction: all of it lands or none of it.
    async fn log_complete_trace(&self, trace: CompleteTrace) -> StoreResult<()>;
    async fn get_trace_info(&self, trace_id: &str) -> StoreResult<TraceInfo>;
    /// The infos of the traces that exist among `trace_ids`, in the order asked.
    async fn get_trace_infos(&self, trace_ids: &[String]) -> StoreResult<Vec<TraceInfo>>;
    /// Up to `limit` spans of a trace after `after`, in (start time, span id) order.
    async fn get_spans(
        &self,
        trace_id: &str,
        after: Option<SpanCursor>,
        limit: usize,
    ) -> StoreResult<SpanPage>;
    async fn search_traces(&self, query: &TraceQuery) -> StoreResult<Page<TraceInfo>>;
    async fn set_trace_tag(&self, trace_id: &str, key: &str, value: &str) -> StoreResult<()>;
    async fn delete_trace_tag(&self, trace_id: &str, key: &str) -> StoreResult<()>;
    /// Links traces to a run, so that `attribute.run_id = '<run>'` finds them.
    async fn link_traces_to_run(&self, trace_ids: Vec<String>, run_id: &str) -> StoreResult<()>;
    /// Adds prompt versions (name, version) to the trace's `mlflow.linkedPrompts` tag.
    async fn link_prompts_to_trace(
        &self,
        trace_id: &str,
        prompts: Vec<(String, String)>,
    ) -> StoreResult<()>;
    /// Deletes traces of one experiment with their spans and assessments; returns how many.
    async fn delete_traces(&self, experiment_id: &str, which: TraceDeletion) -> StoreResult<usize>;

    /// Stores a new assessment (its id and times already set). If it `overrides` another,
    /// that one becomes invalid. A missing trace is `NotFound`.
    async fn create_assessment(&self, assessment: Assessment) -> StoreResult<Assessment>;
    async fn get_assessment(&self, trace_id: &str, assessment_id: &str) -> StoreResult<Assessment>;
    async fn update_assessment(
        &self,
        trace_id: &str,
        assessment_id: &str,
        update: AssessmentUpdate,
    ) -> StoreResult<Assessment>;
    /// Deletes an assessment; if it overrode another, that one becomes valid again.
    async fn delete_assessment(&self, trace_id: &str, assessment_id: &str) -> StoreResult<()>;
}
