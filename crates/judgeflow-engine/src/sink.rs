//! Where a run's results go. [`ResultSink`] is the engine's one output interface;
//! [`StoreSink`] writes through a [`TrackingStore`] and an [`ArtifactStore`] directly (a path or
//! `sqlite:///` tracking URI); [`crate::RestSink`] writes the same through a server's MLflow
//! REST API (an `http://` URI).
//!
//! What a run stores is what `mlflow.genai.evaluate` stores: a run tagged
//! `mlflow.runType=genai_evaluate`; per row a trace (metadata `mlflow.sourceRun`, linked to the
//! run, tagged `judgeflow.eval.row_index`) with a root span and a span per call, one feedback
//! assessment per scorer and one expectation assessment per expectation.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use judgeflow_artifacts::{ArtifactPath, ArtifactStore};
use judgeflow_domain::search::{TRACES, parse_filter};
use judgeflow_domain::traces::{keys, new_assessment_id, trace_id_from_otel};
use judgeflow_domain::{
    Assessment, AssessmentError, AssessmentKind, AssessmentSource, Dataset, DatasetInput,
    ExpectationValue, Metric, RunStatus, Tag, TraceInfo, TraceState, now_ms,
};
use judgeflow_store::{
    CompleteTrace, NewExperiment, NewRun, PageToken, RunUpdate, StoreError, TraceDeletion,
    TraceQuery, TrackingStore,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{Span, Status, status};
use serde_json::{Map, Value};

use crate::error::EngineError;
use crate::outcome::{CallRecord, RowResult, Score};

/// Tag on each row's trace: the row's 0-based index in the dataset.
pub const ROW_INDEX_TAG: &str = "judgeflow.eval.row_index";
/// Assessment metadata: whether the score passed its scorer's threshold.
pub const PASSED_METADATA: &str = "judgeflow.passed";
const SOURCE_RUN_METADATA: &str = "mlflow.assessment.sourceRunId";

/// What the sink needs to open a run.
#[derive(Debug, Clone)]
pub struct RunPlan {
    pub experiment: String,
    pub run_name: Option<String>,
    pub suite_name: String,
    pub suite_digest: String,
    /// The rows' source, logged as the run's dataset input.
    pub dataset: DatasetRef,
    pub scorers: Vec<String>,
}

/// A run's dataset input as MLflow records it: `name`, `digest`, `source_type` and the
/// `source` (JSON text).
#[derive(Debug, Clone)]
pub struct DatasetRef {
    pub name: String,
    pub digest: String,
    pub source_type: String,
    pub source: String,
}

/// An open run.
#[derive(Debug, Clone)]
pub struct RunRef {
    pub run_id: String,
    pub experiment_id: String,
    pub artifact_uri: String,
}

/// A score read back from a run being resumed.
#[derive(Debug, Clone)]
pub struct PriorScore {
    pub scorer: String,
    pub value: Option<Value>,
    pub rationale: Option<String>,
    pub error: Option<String>,
    pub passed: Option<bool>,
}

/// A row finished by an earlier attempt of the run.
#[derive(Debug, Clone)]
pub struct PriorRow {
    pub index: u64,
    pub trace_id: String,
    pub inputs: Value,
    pub outputs: Value,
    pub expectations: Value,
    pub latency_ms: Option<f64>,
    pub error: Option<String>,
    pub scores: Vec<PriorScore>,
}

/// How a run ends.
#[derive(Debug, Clone)]
pub struct RunFinish {
    pub status: RunStatus,
    pub metrics: Vec<(String, f64)>,
    /// Local files to store as run artifacts, by artifact name.
    pub artifacts: Vec<(String, PathBuf)>,
}

#[async_trait]
pub trait ResultSink: Send + Sync {
    async fn start_run(&self, plan: &RunPlan) -> Result<RunRef, EngineError>;
    /// Reopens a run: its finished rows (every scorer's assessment present) are returned;
    /// rows left half-written are removed, to be evaluated again.
    async fn resume_run(
        &self,
        run_id: &str,
        plan: &RunPlan,
    ) -> Result<(RunRef, Vec<PriorRow>), EngineError>;
    /// Stores one finished row completely before returning.
    async fn write_row(&self, run: &RunRef, row: &RowResult) -> Result<(), EngineError>;
    async fn finish_run(&self, run: &RunRef, finish: &RunFinish) -> Result<(), EngineError>;
}

/// Writes through the store and artifact store directly.
pub struct StoreSink {
    store: Arc<dyn TrackingStore>,
    artifacts: ArtifactStore,
    user: String,
}

impl StoreSink {
    pub fn new(
        store: Arc<dyn TrackingStore>,
        artifacts: ArtifactStore,
        user: impl Into<String>,
    ) -> Self {
        Self {
            store,
            artifacts,
            user: user.into(),
        }
    }

    async fn experiment_id(&self, name: &str) -> Result<String, EngineError> {
        match self.store.get_experiment_by_name(name).await {
            Ok(experiment) => Ok(experiment.experiment_id),
            Err(StoreError::NotFound(_)) => Ok(self
                .store
                .create_experiment(NewExperiment {
                    name: name.to_owned(),
                    artifact_location: None,
                    tags: vec![],
                })
                .await?),
            Err(e) => Err(e.into()),
        }
    }
}

/// A JSON value as an OTLP value, structured as the `mlflow` client's own exporter sends
/// span attributes (objects as key-value lists, arrays as arrays), so that the client reads
/// `span.inputs` back as the same dict.
fn any_value(value: &Value) -> Option<AnyValue> {
    use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValueList};
    let value = match value {
        Value::Null => return None,
        Value::Bool(b) => any_value::Value::BoolValue(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => any_value::Value::IntValue(i),
            None => any_value::Value::DoubleValue(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => any_value::Value::StringValue(s.clone()),
        Value::Array(items) => any_value::Value::ArrayValue(ArrayValue {
            values: items
                .iter()
                .map(|item| any_value(item).unwrap_or_default())
                .collect(),
        }),
        Value::Object(map) => any_value::Value::KvlistValue(KeyValueList {
            values: map.iter().map(|(k, v)| attribute(k, v)).collect(),
        }),
    };
    Some(AnyValue { value: Some(value) })
}

pub(crate) fn attribute(key: &str, value: &Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: any_value(value),
        ..KeyValue::default()
    }
}

/// The trace of one row, as both sinks store it: a root `eval_row` span with one span per call
/// (the target's, then each judge's), and the trace info linking it to the run.
pub(crate) fn row_trace(run: &RunRef, row: &RowResult) -> (Vec<Span>, TraceInfo) {
    let trace = row.otel_trace_id;
    let outputs = row.outputs.clone().unwrap_or(Value::Null);
    let root_outputs = serde_json::json!({"outputs": outputs, "error": row.error});
    let root = span(
        &trace,
        None,
        "eval_row",
        "CHAIN",
        &Value::Object(row.inputs.clone()),
        &root_outputs,
        (row.start_ns, row.end_ns),
        row.error.as_deref(),
        vec![],
    );
    let root_id: [u8; 8] = root.span_id.clone().try_into().unwrap_or_default();
    let mut spans = vec![root];
    for call in row
        .target_calls
        .iter()
        .chain(row.scores.iter().flat_map(|s| s.calls.iter()))
    {
        spans.push(call_span(&trace, root_id, call));
    }
    // The row's own tags first (text as is, other values as JSON), so that the engine's
    // tags below win a clash.
    let mut tags: BTreeMap<String, String> = row
        .tags
        .iter()
        .map(|(key, value)| {
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (key.clone(), text)
        })
        .collect();
    tags.insert(ROW_INDEX_TAG.to_owned(), row.index.to_string());
    tags.insert(keys::TRACE_NAME.to_owned(), "eval_row".to_owned());
    if let Some(id) = &row.id {
        tags.insert("judgeflow.eval.row_id".into(), id.clone());
    }
    let info = TraceInfo {
        trace_id: row.trace_id.clone(),
        client_request_id: row.id.clone(),
        experiment_id: run.experiment_id.clone(),
        request_time_ms: row.start_ns / 1_000_000,
        execution_duration_ms: Some((row.end_ns - row.start_ns) / 1_000_000),
        state: if row.error.is_some() {
            TraceState::Error
        } else {
            TraceState::Ok
        },
        request_preview: Some(preview(&Value::Object(row.inputs.clone()))),
        response_preview: Some(preview(&outputs)),
        trace_metadata: BTreeMap::from([
            (keys::SOURCE_RUN.to_owned(), run.run_id.clone()),
            (keys::TRACE_SCHEMA_VERSION.to_owned(), "3".to_owned()),
        ]),
        tags,
        assessments: vec![],
    };
    (spans, info)
}

/// A row's assessments: one expectation per expected value, then one feedback per scorer.
pub(crate) fn row_assessments(run: &RunRef, row: &RowResult) -> Vec<Assessment> {
    row.expectations
        .iter()
        .map(|(name, value)| expectation(&row.trace_id, &run.run_id, name, value))
        .chain(
            row.scores
                .iter()
                .map(|score| feedback(&row.trace_id, &run.run_id, score)),
        )
        .collect()
}

/// A file as a stream of 1 MiB chunks: a results file of any size is stored without being
/// held in memory whole.
fn file_chunks(
    file: tokio::fs::File,
) -> impl futures::Stream<Item = std::io::Result<bytes::Bytes>> + Send {
    use tokio::io::AsyncReadExt as _;
    futures::stream::try_unfold(file, |mut file| async move {
        let mut chunk = bytes::BytesMut::with_capacity(1 << 20);
        while chunk.len() < chunk.capacity() {
            if file.read_buf(&mut chunk).await? == 0 {
                break;
            }
        }
        Ok((!chunk.is_empty()).then(|| (chunk.freeze(), file)))
    })
}

/// Refuses to resume a run that is not an evaluation of this suite, given the run's tags.
pub(crate) fn check_resumable<'a>(
    run_id: &str,
    plan: &RunPlan,
    tags: impl Iterator<Item = (&'a str, &'a str)>,
) -> Result<(), EngineError> {
    let (mut run_type, mut suite) = (None, "");
    for (key, value) in tags {
        match key {
            "mlflow.runType" => run_type = Some(value),
            "judgeflow.suite.name" => suite = value,
            _ => {}
        }
    }
    if run_type != Some("genai_evaluate") {
        return Err(EngineError::Resume(format!(
            "--resume: run {run_id} is not an evaluation run"
        )));
    }
    if suite != plan.suite_name {
        return Err(EngineError::Resume(format!(
            "--resume: run {run_id} is of suite '{suite}', not '{}'",
            plan.suite_name
        )));
    }
    Ok(())
}

pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0_u8; N];
    rand::fill(&mut bytes[..]);
    bytes
}

#[expect(
    clippy::too_many_arguments,
    reason = "a span's fields; a struct of the same fields would only move them"
)]
fn span(
    trace: &[u8; 16],
    parent: Option<&[u8; 8]>,
    name: &str,
    span_type: &str,
    inputs: &Value,
    outputs: &Value,
    (start_ns, end_ns): (i64, i64),
    error: Option<&str>,
    extra: Vec<KeyValue>,
) -> Span {
    let trace_id = trace_id_from_otel(trace);
    let mut attributes = vec![
        attribute("mlflow.traceRequestId", &Value::String(trace_id)),
        attribute(keys::SPAN_TYPE, &Value::String(span_type.to_owned())),
        attribute("mlflow.spanInputs", inputs),
        attribute("mlflow.spanOutputs", outputs),
    ];
    attributes.extend(extra);
    Span {
        trace_id: trace.to_vec(),
        span_id: random_bytes::<8>().to_vec(),
        parent_span_id: parent.map(|p| p.to_vec()).unwrap_or_default(),
        name: name.to_owned(),
        start_time_unix_nano: start_ns.max(0) as u64,
        end_time_unix_nano: end_ns.max(start_ns).max(0) as u64,
        attributes,
        status: Some(Status {
            message: error.unwrap_or_default().to_owned(),
            code: if error.is_some() {
                status::StatusCode::Error as i32
            } else {
                status::StatusCode::Ok as i32
            },
        }),
        ..Span::default()
    }
}

fn call_span(trace: &[u8; 16], root: [u8; 8], call: &CallRecord) -> Span {
    let mut extra = Vec::new();
    if let Some(model) = &call.model {
        extra.push(attribute("judgeflow.model", &Value::String(model.clone())));
    }
    if let Some(usage) = call.usage {
        extra.push(attribute(
            "mlflow.chat.tokenUsage",
            &serde_json::json!({"input_tokens": usage.prompt_tokens,
                "output_tokens": usage.completion_tokens, "total_tokens": usage.total_tokens}),
        ));
    }
    extra.push(attribute("judgeflow.cached", &Value::Bool(call.cached)));
    span(
        trace,
        Some(&root),
        &call.name,
        call.span_type,
        &call.inputs,
        &call.outputs,
        (call.start_ns, call.end_ns),
        call.error.as_deref(),
        extra,
    )
}

fn preview(value: &Value) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    text.chars().take(1000).collect()
}

fn feedback(trace_id: &str, run_id: &str, score: &Score) -> Assessment {
    let now = now_ms();
    let mut metadata = BTreeMap::from([(SOURCE_RUN_METADATA.to_owned(), run_id.to_owned())]);
    if let Some(passed) = score.passed {
        metadata.insert(PASSED_METADATA.to_owned(), passed.to_string());
    }
    Assessment {
        assessment_id: new_assessment_id(),
        name: score.scorer.clone(),
        trace_id: trace_id.to_owned(),
        span_id: None,
        source: AssessmentSource {
            source_type: score.source.as_str().to_owned(),
            source_id: Some(score.source_id.clone()),
        },
        create_time_ms: now,
        last_update_time_ms: now,
        kind: AssessmentKind::Feedback {
            value: score.value.clone(),
            error: score.error.as_ref().map(|message| AssessmentError {
                error_code: Some("SCORER_ERROR".into()),
                error_message: Some(message.clone()),
                stack_trace: None,
            }),
        },
        rationale: score.rationale.clone(),
        metadata,
        overrides: None,
        valid: true,
    }
}

fn expectation(trace_id: &str, run_id: &str, name: &str, value: &Value) -> Assessment {
    let now = now_ms();
    let value = match value {
        Value::Object(_) | Value::Array(_) => ExpectationValue::Serialized {
            format: "JSON_FORMAT".into(),
            value: value.to_string(),
        },
        scalar => ExpectationValue::Value(scalar.clone()),
    };
    Assessment {
        assessment_id: new_assessment_id(),
        name: name.to_owned(),
        trace_id: trace_id.to_owned(),
        span_id: None,
        source: AssessmentSource {
            source_type: "HUMAN".into(),
            source_id: Some("dataset".into()),
        },
        create_time_ms: now,
        last_update_time_ms: now,
        kind: AssessmentKind::Expectation(value),
        rationale: None,
        metadata: BTreeMap::from([(SOURCE_RUN_METADATA.to_owned(), run_id.to_owned())]),
        overrides: None,
        valid: true,
    }
}

/// The artifact path of `name` under a run whose artifact URI this server hands out.
fn artifact_path(artifact_uri: &str, name: &str) -> Result<ArtifactPath, EngineError> {
    let relative = artifact_uri
        .strip_prefix("mlflow-artifacts:")
        .ok_or_else(|| {
            EngineError::Artifacts(format!(
                "the run's artifact URI '{artifact_uri}' is not served by this store"
            ))
        })?
        .trim_start_matches('/');
    ArtifactPath::parse(&format!("{relative}/{name}"))
        .map_err(|e| EngineError::Artifacts(e.to_string()))
}

/// An OTLP protobuf-JSON value back as plain JSON.
fn plain(value: &Value) -> Value {
    if let Some(s) = value.get("string_value") {
        return s.clone();
    }
    if let Some(b) = value.get("bool_value") {
        return b.clone();
    }
    if let Some(i) = value.get("int_value") {
        return i
            .as_str()
            .and_then(|s| s.parse::<i64>().ok())
            .map_or_else(|| i.clone(), Value::from);
    }
    if let Some(d) = value.get("double_value") {
        return d.clone();
    }
    if let Some(items) = value
        .pointer("/array_value/values")
        .and_then(Value::as_array)
    {
        return Value::Array(items.iter().map(plain).collect());
    }
    if let Some(items) = value
        .pointer("/kvlist_value/values")
        .and_then(Value::as_array)
    {
        return Value::Object(
            items
                .iter()
                .filter_map(|kv| {
                    Some((kv.get("key")?.as_str()?.to_owned(), plain(kv.get("value")?)))
                })
                .collect(),
        );
    }
    Value::Null
}

fn span_attribute(span: &Value, key: &str) -> Option<Value> {
    let attributes = span.get("attributes")?.as_array()?;
    let attribute = attributes
        .iter()
        .find(|a| a.get("key").and_then(Value::as_str) == Some(key))?;
    Some(plain(attribute.get("value")?))
}

#[async_trait]
impl ResultSink for StoreSink {
    async fn start_run(&self, plan: &RunPlan) -> Result<RunRef, EngineError> {
        let experiment_id = self.experiment_id(&plan.experiment).await?;
        let run = self
            .store
            .create_run(NewRun {
                experiment_id: experiment_id.clone(),
                user_id: self.user.clone(),
                run_name: plan.run_name.clone(),
                start_time: now_ms(),
                tags: vec![
                    Tag::new("mlflow.runType", "genai_evaluate"),
                    Tag::new("mlflow.user", self.user.clone()),
                    Tag::new("mlflow.source.type", "LOCAL"),
                    Tag::new("mlflow.source.name", "judgeflow eval run"),
                    Tag::new("judgeflow.suite.name", plan.suite_name.clone()),
                    Tag::new("judgeflow.suite.digest", plan.suite_digest.clone()),
                ],
            })
            .await?;
        self.store
            .log_inputs(
                &run.info.run_id,
                vec![DatasetInput {
                    tags: vec![Tag::new("mlflow.data.context", "evaluation")],
                    dataset: Dataset {
                        name: plan.dataset.name.clone(),
                        digest: plan.dataset.digest.clone(),
                        source_type: plan.dataset.source_type.clone(),
                        source: plan.dataset.source.clone(),
                        schema: None,
                        profile: None,
                    },
                }],
                vec![],
            )
            .await?;
        Ok(RunRef {
            run_id: run.info.run_id,
            experiment_id,
            artifact_uri: run.info.artifact_uri,
        })
    }

    async fn resume_run(
        &self,
        run_id: &str,
        plan: &RunPlan,
    ) -> Result<(RunRef, Vec<PriorRow>), EngineError> {
        let run = self.store.get_run(run_id).await.map_err(|e| match e {
            StoreError::NotFound(_) => EngineError::Resume(format!("--resume: no run {run_id}")),
            other => other.into(),
        })?;
        let tags = run.data.tags.iter();
        check_resumable(
            run_id,
            plan,
            tags.map(|t| (t.key.as_str(), t.value.as_str())),
        )?;
        let filter = parse_filter(&format!("attribute.run_id = '{run_id}'"), &TRACES)
            .map_err(|e| EngineError::Resume(e.to_string()))?;
        let mut token = PageToken::default();
        let mut complete = Vec::new();
        let mut partial = Vec::new();
        loop {
            let page = self
                .store
                .search_traces(&TraceQuery {
                    experiment_ids: vec![run.info.experiment_id.clone()],
                    filter: filter.clone(),
                    order_by: vec![],
                    max_results: 500,
                    page_token: token,
                })
                .await?;
            for info in page.items {
                let index = info
                    .tags
                    .get(ROW_INDEX_TAG)
                    .and_then(|i| i.parse::<u64>().ok());
                let scored = |name: &str| {
                    info.assessments.iter().any(|a| {
                        a.name == name && matches!(a.kind, AssessmentKind::Feedback { .. })
                    })
                };
                match index {
                    Some(index) if plan.scorers.iter().all(|s| scored(s)) => {
                        complete.push((index, info));
                    }
                    _ => partial.push(info.trace_id),
                }
            }
            match page.next_page_token {
                Some(next) => token = PageToken::decode(Some(&next))?,
                None => break,
            }
        }
        // A row killed between its trace and its last assessment is evaluated again; its
        // half-written trace must go, or the run would show the row twice.
        for chunk in partial.chunks(judgeflow_domain::traces::MAX_TRACE_IDS_PER_CALL) {
            self.store
                .delete_traces(&run.info.experiment_id, TraceDeletion::Ids(chunk.to_vec()))
                .await?;
        }
        let mut prior = Vec::with_capacity(complete.len());
        complete.sort_by_key(|(index, _)| *index);
        complete.dedup_by_key(|(index, _)| *index);
        for (index, info) in complete {
            let root = self.store.get_spans(&info.trace_id, None, 1).await?;
            let root: Option<Value> = root
                .spans
                .first()
                .and_then(|s| serde_json::from_str(s).ok());
            let attr = |key| {
                root.as_ref()
                    .and_then(|r| span_attribute(r, key))
                    .unwrap_or(Value::Null)
            };
            let outputs = attr("mlflow.spanOutputs");
            let mut expectations = Map::new();
            let mut scores = Vec::new();
            for assessment in &info.assessments {
                match &assessment.kind {
                    AssessmentKind::Expectation(ExpectationValue::Value(v)) => {
                        expectations.insert(assessment.name.clone(), v.clone());
                    }
                    AssessmentKind::Expectation(ExpectationValue::Serialized { value, .. }) => {
                        let v = serde_json::from_str(value).unwrap_or(Value::String(value.clone()));
                        expectations.insert(assessment.name.clone(), v);
                    }
                    AssessmentKind::Feedback { value, error } => scores.push(PriorScore {
                        scorer: assessment.name.clone(),
                        value: value.clone(),
                        rationale: assessment.rationale.clone(),
                        error: error.as_ref().and_then(|e| e.error_message.clone()),
                        passed: assessment
                            .metadata
                            .get(PASSED_METADATA)
                            .map(|p| p == "true"),
                    }),
                }
            }
            prior.push(PriorRow {
                index,
                trace_id: info.trace_id.clone(),
                inputs: attr("mlflow.spanInputs"),
                error: (info.state == TraceState::Error).then(|| {
                    outputs
                        .get("error")
                        .map(crate::template::text_of)
                        .unwrap_or_default()
                }),
                outputs: outputs.get("outputs").cloned().unwrap_or(Value::Null),
                expectations: Value::Object(expectations),
                latency_ms: info.execution_duration_ms.map(|ms| ms as f64),
                scores,
            });
        }
        self.store
            .update_run(
                run_id,
                RunUpdate {
                    status: Some(RunStatus::Running),
                    end_time: None,
                    run_name: None,
                },
            )
            .await?;
        Ok((
            RunRef {
                run_id: run_id.to_owned(),
                experiment_id: run.info.experiment_id,
                artifact_uri: run.info.artifact_uri,
            },
            prior,
        ))
    }

    async fn write_row(&self, run: &RunRef, row: &RowResult) -> Result<(), EngineError> {
        let (spans, info) = row_trace(run, row);
        let records = spans
            .iter()
            .map(judgeflow_api::span_record)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| EngineError::Config(format!("span: {e}")))?;
        // One transaction: a row is stored whole or not at all, and costs one commit.
        let assessments = row_assessments(run, row);
        self.store
            .log_complete_trace(CompleteTrace {
                experiment_id: run.experiment_id.clone(),
                spans: records,
                info,
                run_id: Some(run.run_id.clone()),
                assessments,
            })
            .await?;
        Ok(())
    }

    async fn finish_run(&self, run: &RunRef, finish: &RunFinish) -> Result<(), EngineError> {
        for (name, file) in &finish.artifacts {
            let path = artifact_path(&run.artifact_uri, name)?;
            let opened = tokio::fs::File::open(file)
                .await
                .map_err(|e| EngineError::Artifacts(format!("{}: {e}", file.display())))?;
            self.artifacts
                .put(&path, Box::pin(file_chunks(opened)))
                .await
                .map_err(|e| EngineError::Artifacts(format!("{}: {e}", file.display())))?;
        }
        let now = now_ms();
        let metrics: Vec<Metric> = finish
            .metrics
            .iter()
            .map(|(key, value)| Metric::new(key.clone(), *value, now, 0))
            .collect();
        for chunk in metrics.chunks(1000) {
            self.store
                .log_batch(&run.run_id, chunk.to_vec(), vec![], vec![])
                .await?;
        }
        self.store
            .update_run(
                &run.run_id,
                RunUpdate {
                    status: Some(finish.status),
                    end_time: Some(now),
                    run_name: None,
                },
            )
            .await?;
        Ok(())
    }
}
