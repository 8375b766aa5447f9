//! [`RestSink`]: the [`ResultSink`] over a running tracking server's MLflow REST API (an
//! `http://` or `https://` tracking URI), for `judgeflow server` and `mlflow server` alike. It
//! stores what [`crate::StoreSink`] stores, through the calls the `mlflow` 3.x client makes:
//!
//! - a run: `experiments/get-by-name` (then `create`), `runs/create`, `runs/log-inputs`;
//! - per row three requests, whatever the number of scorers: one OTLP protobuf
//!   `POST /v1/traces` (`x-mlflow-experiment-id`, `x-mlflow-run-id`) with all of the row's spans; one StartTraceV3
//!   `POST /api/3.0/mlflow/traces` with the trace info, tags, metadata and every assessment
//!   (MLflow 3.17's server and ours store `trace_info.assessments` in the same transaction as
//!   the info); `traces/link-to-run`;
//! - the end: artifact `PUT`s through the proxied artifact API, metrics by `runs/log-batch`,
//!   `runs/update` with the status.
//!
//! `--resume` reads the run's traces back (`traces/search` by run, `traces/batchGet` for the
//! root spans) and deletes half-written ones (`traces/delete-traces`): the contract of
//! [`ResultSink::resume_run`]. Rows write concurrently, sharing one connection pool.

use std::collections::BTreeMap;
use std::path::Path;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt as _;
use judgeflow_api::{AssessmentJson, TraceInfoJson};
use judgeflow_domain::{AssessmentKind, ExpectationValue, RunStatus};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};
use prost::Message as _;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::error::EngineError;
use crate::outcome::RowResult;
use crate::rest_client::{Call, MlflowRest, Payload, RestError, RestOptions, encode_segment};
use crate::sink::{
    PASSED_METADATA, PriorRow, PriorScore, ROW_INDEX_TAG, ResultSink, RunFinish, RunPlan, RunRef,
    check_resumable, row_assessments, row_trace,
};

const EXPERIMENT_HEADER: &str = "x-mlflow-experiment-id";
const RUN_HEADER: &str = "x-mlflow-run-id";
/// The most traces one `traces/search` page returns on MLflow's server.
const SEARCH_PAGE: usize = 500;
/// The most ids one `traces/batchGet` takes.
const BATCH_GET: usize = 10;
/// Span reads in flight at once while resuming.
const READS_IN_FLIGHT: usize = 4;

/// Writes through a tracking server's REST API.
pub struct RestSink {
    rest: MlflowRest,
    user: String,
}

#[derive(Debug, Default, Deserialize)]
struct KeyValueJson {
    #[serde(default)]
    key: String,
    #[serde(default)]
    value: String,
}

#[derive(Debug, Default, Deserialize)]
struct RunInfoJson {
    #[serde(default)]
    run_id: String,
    #[serde(default)]
    experiment_id: String,
    #[serde(default)]
    artifact_uri: String,
}

#[derive(Debug, Default, Deserialize)]
struct RunDataJson {
    #[serde(default)]
    tags: Vec<KeyValueJson>,
}

#[derive(Debug, Default, Deserialize)]
struct RunJson {
    #[serde(default)]
    info: RunInfoJson,
    #[serde(default)]
    data: RunDataJson,
}

#[derive(Debug, Deserialize)]
struct RunEnvelope {
    run: RunJson,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ExperimentJson {
    pub experiment_id: String,
    #[serde(default)]
    lifecycle_stage: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ExperimentEnvelope {
    experiment: ExperimentJson,
}

#[derive(Debug, Deserialize)]
struct CreatedExperiment {
    experiment_id: String,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct TracePage {
    #[serde(default)]
    pub traces: Vec<TraceInfoJson>,
    #[serde(default)]
    pub next_page_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct TraceWithSpans {
    #[serde(default)]
    trace_info: TraceInfoJson,
    #[serde(default)]
    spans: Vec<Value>,
}

#[derive(Debug, Default, Deserialize)]
struct TraceBatch {
    #[serde(default)]
    traces: Vec<TraceWithSpans>,
}

fn run_status(status: RunStatus) -> &'static str {
    status.as_str()
}

/// An OTLP protobuf-JSON `AnyValue` as plain JSON, in either field-name style (`string_value`
/// from our server and MLflow's, `stringValue` from other OTLP JSON).
fn any_value_json(value: &Value) -> Value {
    let field = |snake: &str, camel: &str| value.get(snake).or_else(|| value.get(camel));
    if let Some(s) = field("string_value", "stringValue") {
        return s.clone();
    }
    if let Some(b) = field("bool_value", "boolValue") {
        return b.clone();
    }
    if let Some(i) = field("int_value", "intValue") {
        return i
            .as_str()
            .and_then(|s| s.parse::<i64>().ok())
            .map_or_else(|| i.clone(), Value::from);
    }
    if let Some(d) = field("double_value", "doubleValue") {
        return d.clone();
    }
    if let Some(items) = field("array_value", "arrayValue")
        .and_then(|a| a.get("values"))
        .and_then(Value::as_array)
    {
        return Value::Array(items.iter().map(any_value_json).collect());
    }
    if let Some(items) = field("kvlist_value", "kvlistValue")
        .and_then(|a| a.get("values"))
        .and_then(Value::as_array)
    {
        return Value::Object(
            items
                .iter()
                .filter_map(|kv| {
                    let key = kv.get("key")?.as_str()?.to_owned();
                    Some((key, any_value_json(kv.get("value")?)))
                })
                .collect(),
        );
    }
    Value::Null
}

/// A span attribute that holds an object. MLflow's server stores every attribute as JSON text
/// (`"{\"question\": …}"`) and ours keeps the structure; both read back as the object.
pub(crate) fn object_attribute(span: &Value, key: &str) -> Value {
    let value = match span.get("attributes") {
        Some(Value::Array(attributes)) => attributes
            .iter()
            .find(|a| a.get("key").and_then(Value::as_str) == Some(key))
            .and_then(|a| a.get("value"))
            .map_or(Value::Null, any_value_json),
        Some(Value::Object(map)) => map.get(key).cloned().unwrap_or(Value::Null),
        _ => Value::Null,
    };
    match value {
        Value::String(text) => serde_json::from_str(&text).unwrap_or(Value::String(text)),
        other => other,
    }
}

pub(crate) fn is_root(span: &Value) -> bool {
    ["parent_span_id", "parentSpanId"]
        .iter()
        .filter_map(|k| span.get(*k))
        .all(|p| p.is_null() || p.as_str().is_some_and(str::is_empty))
}

/// The artifact API path of `name` under a run's artifact URI. Proxied artifacts only: the
/// server hands out `mlflow-artifacts:/<exp>/<run>/artifacts` (or an `http(s)://` URI of its
/// own artifact API); anything else (`s3://`, a local path) is not reachable through it.
fn artifact_api_path(artifact_uri: &str, name: &str) -> Result<String, EngineError> {
    const API: &str = "/api/2.0/mlflow-artifacts/artifacts/";
    let relative = if let Some(rest) = artifact_uri.strip_prefix("mlflow-artifacts:") {
        // `mlflow-artifacts://host:port/path` names a host; the path is what matters here.
        match rest.strip_prefix("//") {
            Some(with_host) => with_host.split_once('/').map_or("", |(_, path)| path),
            None => rest,
        }
    } else if artifact_uri.starts_with("http://") || artifact_uri.starts_with("https://") {
        artifact_uri
            .split_once(API)
            .map(|(_, path)| path)
            .ok_or_else(|| not_proxied(artifact_uri))?
    } else {
        return Err(not_proxied(artifact_uri));
    };
    let mut path = API.trim_end_matches('/').to_owned();
    for segment in relative.split('/').chain([name]) {
        if segment.is_empty() {
            continue;
        }
        if segment == "." || segment == ".." {
            return Err(EngineError::Artifacts(format!(
                "the run's artifact URI '{artifact_uri}' is not a plain path"
            )));
        }
        path.push('/');
        path.push_str(&encode_segment(segment));
    }
    Ok(path)
}

fn not_proxied(artifact_uri: &str) -> EngineError {
    EngineError::Artifacts(format!(
        "the run's artifact URI '{artifact_uri}' is not served through the tracking server; \
         start it with proxied artifacts (mlflow server --serve-artifacts, or any judgeflow server)"
    ))
}

fn content_type(name: &str) -> &'static str {
    match Path::new(name).extension().and_then(|e| e.to_str()) {
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

/// A row's prior result from its trace info and root span (`None` when unreadable).
fn prior_row(index: u64, info: &TraceInfoJson, root: Option<&Value>) -> PriorRow {
    let attr = |key| root.map_or(Value::Null, |r| object_attribute(r, key));
    let outputs = attr("mlflow.spanOutputs");
    let mut expectations = Map::new();
    let mut scores = Vec::new();
    for assessment in &info.assessments {
        let name = assessment.assessment_name.clone().unwrap_or_default();
        match assessment.kind() {
            Ok(Some(AssessmentKind::Expectation(ExpectationValue::Value(v)))) => {
                expectations.insert(name, v);
            }
            Ok(Some(AssessmentKind::Expectation(ExpectationValue::Serialized {
                value, ..
            }))) => {
                let v = serde_json::from_str(&value).unwrap_or(Value::String(value));
                expectations.insert(name, v);
            }
            Ok(Some(AssessmentKind::Feedback { value, error })) => scores.push(PriorScore {
                scorer: name,
                value,
                rationale: assessment.rationale.clone(),
                error: error.and_then(|e| e.error_message),
                passed: assessment
                    .metadata
                    .get(PASSED_METADATA)
                    .map(|p| p == "true"),
            }),
            _ => {}
        }
    }
    PriorRow {
        index,
        trace_id: info.trace_id.clone().unwrap_or_default(),
        inputs: attr("mlflow.spanInputs"),
        error: (info.state.as_deref() == Some("ERROR")).then(|| {
            outputs
                .get("error")
                .map(crate::template::text_of)
                .unwrap_or_default()
        }),
        outputs: outputs.get("outputs").cloned().unwrap_or(Value::Null),
        expectations: Value::Object(expectations),
        latency_ms: info
            .execution_duration
            .as_deref()
            .and_then(|d| judgeflow_api::parse_duration(d).ok())
            .map(|ms| ms as f64),
        scores,
    }
}

/// The root span of each trace, by trace id.
pub(crate) async fn root_spans(
    rest: &MlflowRest,
    trace_ids: &[String],
) -> Result<BTreeMap<String, Value>, RestError> {
    // Owned chunks and a cloned client: a stream of futures borrowing the client trips the
    // compiler's higher-ranked lifetime check inside `async_trait`.
    let chunks: Vec<Vec<String>> = trace_ids.chunks(BATCH_GET).map(<[_]>::to_vec).collect();
    let batches = futures::stream::iter(chunks)
        .map(|chunk| {
            let rest = rest.clone();
            async move {
                let query: Vec<(&str, String)> =
                    chunk.into_iter().map(|id| ("trace_ids", id)).collect();
                rest.get::<TraceBatch>("/api/3.0/mlflow/traces/batchGet", &query)
                    .await
            }
        })
        .buffer_unordered(READS_IN_FLIGHT)
        .collect::<Vec<_>>()
        .await;
    let mut roots = BTreeMap::new();
    for batch in batches {
        for trace in batch?.traces {
            let Some(trace_id) = trace.trace_info.trace_id else {
                continue;
            };
            if let Some(root) = trace.spans.into_iter().find(is_root) {
                roots.insert(trace_id, root);
            }
        }
    }
    Ok(roots)
}

/// The experiment named `name`, if there is one.
pub(crate) async fn experiment_by_name(
    rest: &MlflowRest,
    name: &str,
) -> Result<Option<ExperimentJson>, RestError> {
    let found = rest
        .get::<ExperimentEnvelope>(
            "/api/2.0/mlflow/experiments/get-by-name",
            &[("experiment_name", name.to_owned())],
        )
        .await;
    match found {
        Ok(envelope) => Ok(Some(envelope.experiment)),
        Err(e) if e.code() == Some("RESOURCE_DOES_NOT_EXIST") => Ok(None),
        Err(e) => Err(e),
    }
}

fn is_feedback(assessment: &AssessmentJson) -> bool {
    assessment.feedback.is_some()
}

impl RestSink {
    pub fn new(options: &RestOptions) -> Result<Self, EngineError> {
        Ok(Self {
            rest: MlflowRest::new(options).map_err(EngineError::Config)?,
            user: options.user.clone(),
        })
    }

    async fn experiment_id(&self, name: &str) -> Result<String, EngineError> {
        let experiment = if let Some(experiment) = experiment_by_name(&self.rest, name).await? {
            experiment
        } else {
            let created = self
                .rest
                .json::<CreatedExperiment>(
                    Method::POST,
                    "/api/2.0/mlflow/experiments/create",
                    &json!({"name": name}),
                )
                .await;
            match created {
                Ok(created) => return Ok(created.experiment_id),
                // Another shard created it first.
                Err(e) if e.code() == Some("RESOURCE_ALREADY_EXISTS") => {
                    experiment_by_name(&self.rest, name).await?.ok_or(e)?
                }
                Err(e) => return Err(e.into()),
            }
        };
        if experiment.lifecycle_stage.as_deref() == Some("deleted") {
            return Err(EngineError::Config(format!(
                "experiment '{name}' is deleted on {}: restore it or choose another name",
                self.rest.server()
            )));
        }
        Ok(experiment.experiment_id)
    }

    async fn get_run(&self, run_id: &str) -> Result<RunJson, RestError> {
        let envelope: RunEnvelope = self
            .rest
            .get(
                "/api/2.0/mlflow/runs/get",
                &[
                    ("run_id", run_id.to_owned()),
                    ("run_uuid", run_id.to_owned()),
                ],
            )
            .await?;
        Ok(envelope.run)
    }

    async fn update_run(
        &self,
        run_id: &str,
        status: RunStatus,
        end_time: Option<i64>,
    ) -> Result<(), RestError> {
        let mut body = json!({"run_id": run_id, "run_uuid": run_id, "status": run_status(status)});
        if let Some(end_time) = end_time {
            body["end_time"] = json!(end_time);
        }
        self.rest
            .json::<Value>(Method::POST, "/api/2.0/mlflow/runs/update", &body)
            .await?;
        Ok(())
    }

    /// Every trace of the run, page by page.
    async fn run_traces(
        &self,
        experiment_id: &str,
        run_id: &str,
    ) -> Result<Vec<TraceInfoJson>, RestError> {
        let mut traces = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut body = json!({
                "locations": [{"type": "MLFLOW_EXPERIMENT",
                               "mlflow_experiment": {"experiment_id": experiment_id}}],
                "filter": format!("attribute.run_id = '{run_id}'"),
                "max_results": SEARCH_PAGE,
            });
            if let Some(token) = &token {
                body["page_token"] = json!(token);
            }
            let page: TracePage = self
                .rest
                .json(Method::POST, "/api/3.0/mlflow/traces/search", &body)
                .await?;
            traces.extend(page.traces);
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(next) => token = Some(next),
                None => return Ok(traces),
            }
        }
    }

    async fn upload(&self, artifact_uri: &str, name: &str, file: &Path) -> Result<(), EngineError> {
        let path = artifact_api_path(artifact_uri, name)?;
        // Streamed from disk: a results file of a large run is never in memory whole.
        let call = Call {
            body: Some((Payload::File(file), content_type(name))),
            ..Call::new(Method::PUT, &path)
        };
        self.rest.send(&call).await?;
        Ok(())
    }
}

#[async_trait]
impl ResultSink for RestSink {
    async fn start_run(&self, plan: &RunPlan) -> Result<RunRef, EngineError> {
        let experiment_id = self.experiment_id(&plan.experiment).await?;
        let tags = [
            ("mlflow.runType", "genai_evaluate"),
            ("mlflow.user", self.user.as_str()),
            ("mlflow.source.type", "LOCAL"),
            ("mlflow.source.name", "judgeflow eval run"),
            ("judgeflow.suite.name", plan.suite_name.as_str()),
            ("judgeflow.suite.digest", plan.suite_digest.as_str()),
        ]
        .map(|(key, value)| json!({"key": key, "value": value}));
        let mut body = json!({
            "experiment_id": experiment_id,
            "user_id": self.user,
            "start_time": judgeflow_domain::now_ms(),
            "tags": tags,
        });
        if let Some(name) = &plan.run_name {
            body["run_name"] = json!(name);
        }
        let created: RunEnvelope = self
            .rest
            .json(Method::POST, "/api/2.0/mlflow/runs/create", &body)
            .await?;
        let run = created.run.info;
        let dataset = &plan.dataset;
        let inputs = json!({
            "run_id": run.run_id,
            "datasets": [{
                "tags": [{"key": "mlflow.data.context", "value": "evaluation"}],
                "dataset": {
                    "name": dataset.name,
                    "digest": dataset.digest,
                    "source_type": dataset.source_type,
                    "source": dataset.source,
                },
            }],
        });
        self.rest
            .json::<Value>(Method::POST, "/api/2.0/mlflow/runs/log-inputs", &inputs)
            .await?;
        Ok(RunRef {
            run_id: run.run_id,
            experiment_id,
            artifact_uri: run.artifact_uri,
        })
    }

    async fn resume_run(
        &self,
        run_id: &str,
        plan: &RunPlan,
    ) -> Result<(RunRef, Vec<PriorRow>), EngineError> {
        let run = self.get_run(run_id).await.map_err(|e| {
            if e.code() == Some("RESOURCE_DOES_NOT_EXIST") {
                EngineError::Resume(format!("--resume: no run {run_id}"))
            } else {
                e.into()
            }
        })?;
        let tags = run.data.tags.iter();
        check_resumable(
            run_id,
            plan,
            tags.map(|t| (t.key.as_str(), t.value.as_str())),
        )?;
        let experiment_id = run.info.experiment_id.clone();
        let mut complete = Vec::new();
        let mut partial = Vec::new();
        for info in self.run_traces(&experiment_id, run_id).await? {
            let Some(trace_id) = info.trace_id.clone() else {
                continue;
            };
            let index = info
                .tags
                .get(ROW_INDEX_TAG)
                .and_then(|i| i.parse::<u64>().ok());
            let scored = |name: &str| {
                info.assessments
                    .iter()
                    .any(|a| is_feedback(a) && a.assessment_name.as_deref() == Some(name))
            };
            match index {
                Some(index) if plan.scorers.iter().all(|s| scored(s)) => {
                    complete.push((index, info));
                }
                _ => partial.push(trace_id),
            }
        }
        // A row killed between its spans and its trace info is evaluated again; what it left
        // must go, or the run would show the row twice.
        for chunk in partial.chunks(judgeflow_domain::traces::MAX_TRACE_IDS_PER_CALL) {
            self.rest
                .json::<Value>(
                    Method::POST,
                    "/api/2.0/mlflow/traces/delete-traces",
                    &json!({"experiment_id": experiment_id, "request_ids": chunk}),
                )
                .await?;
        }
        complete.sort_by_key(|(index, _)| *index);
        complete.dedup_by_key(|(index, _)| *index);
        let ids: Vec<String> = complete
            .iter()
            .filter_map(|(_, info)| info.trace_id.clone())
            .collect();
        let roots = root_spans(&self.rest, &ids).await?;
        let prior = complete
            .iter()
            .map(|(index, info)| {
                let root = info.trace_id.as_ref().and_then(|id| roots.get(id));
                prior_row(*index, info, root)
            })
            .collect();
        self.update_run(run_id, RunStatus::Running, None).await?;
        Ok((
            RunRef {
                run_id: run_id.to_owned(),
                experiment_id,
                artifact_uri: run.info.artifact_uri,
            },
            prior,
        ))
    }

    async fn write_row(&self, run: &RunRef, row: &RowResult) -> Result<(), EngineError> {
        let (spans, mut info) = row_trace(run, row);
        info.assessments = row_assessments(run, row);
        let trace_id = info.trace_id.clone();
        let export = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![crate::sink::attribute(
                        "service.name",
                        &Value::String("judgeflow".into()),
                    )],
                    ..Resource::default()
                }),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: "judgeflow.eval".into(),
                        version: env!("CARGO_PKG_VERSION").into(),
                        ..InstrumentationScope::default()
                    }),
                    spans,
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            }],
        };
        // Order matters for --resume. Over HTTP a row cannot be one transaction, but its
        // completion can be one request: the spans first (a trace without info or assessments
        // is found and removed), then the info with every assessment (the row is complete once
        // it lands), then the link to the run (already implied by `mlflow.sourceRun`).
        // MLflow's server links the trace to the run at span ingest when told the run: a row
        // killed right after its spans is then found, and removed, by --resume.
        let headers = [
            (EXPERIMENT_HEADER, run.experiment_id.clone()),
            (RUN_HEADER, run.run_id.clone()),
        ];
        let call = Call {
            body: Some((
                Payload::Bytes(Bytes::from(export.encode_to_vec())),
                "application/x-protobuf",
            )),
            headers: &headers,
            ..Call::new(Method::POST, "/v1/traces")
        };
        self.rest.send(&call).await?;
        self.rest
            .json::<Value>(
                Method::POST,
                "/api/3.0/mlflow/traces",
                &json!({"trace": {"trace_info": TraceInfoJson::from(&info)}}),
            )
            .await?;
        self.rest
            .json::<Value>(
                Method::POST,
                "/api/2.0/mlflow/traces/link-to-run",
                &json!({"trace_ids": [trace_id], "run_id": run.run_id}),
            )
            .await?;
        Ok(())
    }

    async fn finish_run(&self, run: &RunRef, finish: &RunFinish) -> Result<(), EngineError> {
        let mut upload_error = None;
        for (name, file) in &finish.artifacts {
            if let Err(e) = self.upload(&run.artifact_uri, name, file).await {
                upload_error = Some(e);
                break;
            }
        }
        let now = judgeflow_domain::now_ms();
        let metrics: Vec<judgeflow_api::Metric> = finish
            .metrics
            .iter()
            .map(|(key, value)| {
                judgeflow_api::Metric::from(judgeflow_domain::Metric::new(
                    key.clone(),
                    *value,
                    now,
                    0,
                ))
            })
            .collect();
        for chunk in metrics.chunks(1000) {
            self.rest
                .json::<Value>(
                    Method::POST,
                    "/api/2.0/mlflow/runs/log-batch",
                    &json!({"run_id": run.run_id, "metrics": chunk, "params": [], "tags": []}),
                )
                .await?;
        }
        // Results that could not be stored fail the run, which still ends: a run left
        // RUNNING would look alive forever.
        let status = if upload_error.is_some() {
            RunStatus::Failed
        } else {
            finish.status
        };
        self.update_run(&run.run_id, status, Some(now)).await?;
        upload_error.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_paths_follow_the_proxied_uri() {
        assert_eq!(
            artifact_api_path("mlflow-artifacts:/1/abc/artifacts", "eval_results.json").unwrap(),
            "/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/eval_results.json"
        );
        assert_eq!(
            artifact_api_path("mlflow-artifacts://host:5000/1/abc/artifacts", "a b").unwrap(),
            "/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/a%20b"
        );
        assert_eq!(
            artifact_api_path(
                "http://h:5000/api/2.0/mlflow-artifacts/artifacts/2/r/artifacts",
                "x.parquet"
            )
            .unwrap(),
            "/api/2.0/mlflow-artifacts/artifacts/2/r/artifacts/x.parquet"
        );
        assert!(artifact_api_path("s3://bucket/1/r/artifacts", "x").is_err());
        assert!(artifact_api_path("mlflow-artifacts:/1/../r", "x").is_err());
    }

    #[test]
    fn attributes_read_back_from_either_server() {
        // Ours keeps the structure; MLflow's stores JSON text.
        let ours = json!({"attributes": [{"key": "mlflow.spanInputs", "value": {"kvlist_value":
            {"values": [{"key": "question", "value": {"string_value": "q"}}]}}}]});
        let theirs = json!({"attributes": [{"key": "mlflow.spanInputs",
            "value": {"string_value": "{\"question\": \"q\"}"}}]});
        for span in [ours, theirs] {
            assert_eq!(
                object_attribute(&span, "mlflow.spanInputs"),
                json!({"question": "q"})
            );
        }
        assert!(is_root(&json!({"parent_span_id": ""})));
        assert!(is_root(&json!({})));
        assert!(!is_root(&json!({"parent_span_id": "AAECAwQFBgc="})));
    }
}
