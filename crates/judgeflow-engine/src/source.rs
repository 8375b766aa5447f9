//! Where a run's rows come from: the suite's `dataset:` section opened as one [`RowSource`].
//!
//! Three sources, one shape: a data file (CSV, JSONL, Parquet, read on a blocking thread), a
//! stored MLflow evaluation dataset (its records in the store's order), and the traces of an
//! experiment selected by an MLflow trace filter (oldest first). Stored sources are read a page
//! at a time through a [`StoredData`] backend, a local store ([`StoreData`]) or a tracking
//! server's REST API ([`RestData`]), so no source ever holds its whole dataset. A row's index
//! is its position in the source's order, which is what `--resume` keys on.
//!
//! Opening a source resolves its references (the dataset's name, the experiment) and reads the
//! first page, so an unknown name or a bad filter fails before a run is created.

use std::collections::VecDeque;
use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt as _;
use futures::stream::BoxStream;
use judgeflow_api::TraceInfoJson;
use judgeflow_domain::search::{EVALUATION_DATASETS, TRACES, parse_filter, parse_order_by};
use judgeflow_domain::{AssessmentKind, ExpectationValue};
use judgeflow_store::{
    DatasetQuery, PageToken, RecordCursor, StoreError, TraceQuery, TrackingStore,
};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};

use crate::error::EngineError;
use crate::rest_client::{MlflowRest, RestOptions, encode_segment};
use crate::rest_sink::{TracePage, experiment_by_name, object_attribute, root_spans};
use crate::rows::EvalRow;
use crate::sink::{DatasetRef, ROW_INDEX_TAG};
use crate::suite::{LoadedSuite, TracesSpec};

/// Records read per request (MLflow's client reads 1000 at a time).
const RECORD_PAGE: usize = 1000;
/// Traces per search page (MLflow's server returns at most 500).
const TRACE_PAGE: usize = 500;

/// The rows of a source, in its order; a bad row is an `Err` item.
pub type RowStream = BoxStream<'static, Result<EvalRow, EngineError>>;

/// An opened source: what the run records as its dataset input, and the rows.
pub struct RowSource {
    pub dataset: DatasetRef,
    pub rows: RowStream,
}

/// An evaluation dataset as a source needs it.
#[derive(Debug, Clone)]
pub struct StoredDataset {
    pub dataset_id: String,
    pub name: String,
    pub digest: String,
}

/// One dataset record: what becomes a row.
#[derive(Debug, Clone, Default)]
pub struct StoredRecord {
    pub record_id: String,
    pub inputs: Map<String, Value>,
    pub expectations: Map<String, Value>,
    pub outputs: Option<Value>,
    pub tags: Map<String, Value>,
}

/// One trace as a row: its request, response and expectation assessments.
#[derive(Debug, Clone, Default)]
pub struct StoredTrace {
    pub trace_id: String,
    pub inputs: Value,
    pub outputs: Value,
    pub expectations: Map<String, Value>,
    /// A row of an evaluation run (tagged `judgeflow.eval.row_index`): never a source row.
    pub is_eval_row: bool,
}

/// A page of items and the token of the next one.
pub type Paged<T> = (Vec<T>, Option<String>);

/// Reads stored datasets and traces, a page at a time. `Ok(None)` is "no such thing".
#[async_trait]
pub trait StoredData: Send + Sync + 'static {
    /// The store or server, as messages name it.
    fn location(&self) -> String;
    async fn dataset_by_name(&self, name: &str) -> Result<Vec<StoredDataset>, EngineError>;
    async fn dataset_by_id(&self, dataset_id: &str) -> Result<Option<StoredDataset>, EngineError>;
    async fn records(
        &self,
        dataset_id: &str,
        page_token: Option<String>,
    ) -> Result<Paged<StoredRecord>, EngineError>;
    async fn experiment_id(&self, name: &str) -> Result<Option<String>, EngineError>;
    /// Traces matching `filter`, oldest first.
    async fn traces(
        &self,
        experiment_id: &str,
        filter: &str,
        page_token: Option<String>,
    ) -> Result<Paged<StoredTrace>, EngineError>;
}

/// Opens the suite's dataset. `stored` reads the tracking URI's datasets and traces; a file
/// source needs none.
pub async fn open(
    loaded: &LoadedSuite,
    stored: Option<Arc<dyn StoredData>>,
) -> Result<RowSource, EngineError> {
    let spec = &loaded.suite.dataset;
    let field_error = |field: &str, message: String| {
        EngineError::Suite(loaded.field_error(&format!("dataset.{field}"), &message))
    };
    if let Some(path) = &spec.path {
        return open_file(loaded, path);
    }
    let stored = stored.ok_or_else(|| {
        EngineError::Config("stored datasets need a tracking store or server".into())
    })?;
    if let Some(name) = &spec.evaluation_dataset {
        let mut found = stored.dataset_by_name(name).await?;
        let dataset = match found.len() {
            1 => found.remove(0),
            0 => {
                return Err(field_error(
                    "evaluation_dataset",
                    format!(
                        "no evaluation dataset named '{name}' in {}",
                        stored.location()
                    ),
                ));
            }
            n => {
                return Err(field_error(
                    "evaluation_dataset",
                    format!(
                        "{n} evaluation datasets are named '{name}' in {}; name one by evaluation_dataset_id",
                        stored.location()
                    ),
                ));
            }
        };
        return open_dataset(stored, dataset).await;
    }
    if let Some(id) = &spec.evaluation_dataset_id {
        let dataset = stored.dataset_by_id(id).await?.ok_or_else(|| {
            field_error(
                "evaluation_dataset_id",
                format!(
                    "no evaluation dataset with id '{id}' in {}",
                    stored.location()
                ),
            )
        })?;
        return open_dataset(stored, dataset).await;
    }
    if let Some(traces) = &spec.traces {
        let experiment_id = stored
            .experiment_id(&traces.experiment)
            .await?
            .ok_or_else(|| {
                field_error(
                    "traces.experiment",
                    format!(
                        "no experiment named '{}' in {}",
                        traces.experiment,
                        stored.location()
                    ),
                )
            })?;
        return open_traces(stored, traces, experiment_id)
            .await
            .map_err(|e| match e {
                // A filter the store or server refuses is the suite's to fix.
                EngineError::Store(StoreError::InvalidParameter(m)) => {
                    field_error("traces.filter", m)
                }
                EngineError::Server(e) if e.code() == Some("INVALID_PARAMETER_VALUE") => {
                    field_error("traces.filter", e.to_string())
                }
                other => other,
            });
    }
    Err(field_error(
        "path",
        "name a source: path, evaluation_dataset, evaluation_dataset_id or traces".into(),
    ))
}

fn open_file(loaded: &LoadedSuite, path: &str) -> Result<RowSource, EngineError> {
    let resolved = loaded.resolve(path);
    let spec = &loaded.suite.dataset;
    let rows = crate::rows::open(&resolved, spec.format, &spec.columns)?;
    // The reader blocks on file I/O: it runs on a thread of its own and feeds a few rows
    // ahead through a channel; dropping the stream ends the thread at its next row.
    let (sender, receiver) = tokio::sync::mpsc::channel(64);
    tokio::task::spawn_blocking(move || {
        for row in rows {
            if sender.blocking_send(row).is_err() {
                break;
            }
        }
    });
    let rows = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    });
    let shown = resolved.display().to_string();
    let name = resolved
        .file_name()
        .map_or_else(|| shown.clone(), |n| n.to_string_lossy().into_owned());
    Ok(RowSource {
        dataset: DatasetRef {
            name,
            digest: loaded.digest.chars().take(8).collect(),
            source_type: "local".into(),
            source: json!({"uri": shown}).to_string(),
        },
        rows: rows.boxed(),
    })
}

async fn open_dataset(
    stored: Arc<dyn StoredData>,
    dataset: StoredDataset,
) -> Result<RowSource, EngineError> {
    let id = dataset.dataset_id.clone();
    let first = stored.records(&id, None).await?;
    let rows = paged(first, move |token| {
        let stored = stored.clone();
        let id = id.clone();
        async move { stored.records(&id, Some(token)).await }
    })
    .enumerate()
    .map(|(index, record)| {
        record.map(|r| EvalRow {
            index: index as u64,
            id: Some(r.record_id),
            inputs: r.inputs,
            expectations: r.expectations,
            outputs: r.outputs,
            tags: r.tags,
            retrieved_context: None,
        })
    });
    Ok(RowSource {
        dataset: DatasetRef {
            source: json!({"dataset_id": dataset.dataset_id}).to_string(),
            name: dataset.name,
            digest: dataset.digest,
            source_type: "mlflow_evaluation_dataset".into(),
        },
        rows: rows.boxed(),
    })
}

async fn open_traces(
    stored: Arc<dyn StoredData>,
    spec: &TracesSpec,
    experiment_id: String,
) -> Result<RowSource, EngineError> {
    let filter = spec.filter.clone().unwrap_or_default();
    let first = stored.traces(&experiment_id, &filter, None).await?;
    let described = json!({"experiment_id": experiment_id, "filter": filter,
                           "max_rows": spec.max_rows});
    let rows = paged(first, {
        let filter = filter.clone();
        let experiment_id = experiment_id.clone();
        move |token| {
            let stored = stored.clone();
            let filter = filter.clone();
            let experiment_id = experiment_id.clone();
            async move { stored.traces(&experiment_id, &filter, Some(token)).await }
        }
    })
    // An evaluation's own rows are results, not traffic: a suite that writes into the
    // experiment it reads never scores its own output. Skipped rows take no index, so
    // positions stay stable across `--resume`.
    .filter(|trace| std::future::ready(!matches!(trace, Ok(t) if t.is_eval_row)))
    .take(spec.max_rows.unwrap_or(usize::MAX))
    .enumerate()
    .map(|(index, trace)| trace.map(|t| trace_row(index as u64, t)));
    let digest = Sha256::digest(described.to_string().as_bytes());
    Ok(RowSource {
        dataset: DatasetRef {
            name: format!("traces:{}", spec.experiment),
            digest: crate::suite::hex(&digest[..4]),
            source_type: "mlflow_traces".into(),
            source: described.to_string(),
        },
        rows: rows.boxed(),
    })
}

/// A trace as a row: its request as inputs (an object as is, anything else as `request`),
/// its response as recorded outputs, its expectations, its id as the row id.
fn trace_row(index: u64, trace: StoredTrace) -> EvalRow {
    let inputs = match trace.inputs {
        Value::Object(map) => map,
        Value::Null => Map::new(),
        other => Map::from_iter([("request".to_owned(), other)]),
    };
    EvalRow {
        index,
        id: Some(trace.trace_id),
        inputs,
        expectations: trace.expectations,
        outputs: Some(trace.outputs),
        tags: Map::new(),
        retrieved_context: None,
    }
}

/// Items of page after page: `first`, then `fetch(token)` while a token comes back. An error
/// ends the stream after it is yielded.
fn paged<T, F, Fut>(first: Paged<T>, fetch: F) -> BoxStream<'static, Result<T, EngineError>>
where
    T: Send + 'static,
    F: FnMut(String) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Paged<T>, EngineError>> + Send + 'static,
{
    let (items, next) = first;
    let state = (VecDeque::from(items), next, fetch, false);
    futures::stream::unfold(
        state,
        |(mut items, mut next, mut fetch, failed)| async move {
            loop {
                if failed {
                    return None;
                }
                if let Some(item) = items.pop_front() {
                    return Some((Ok(item), (items, next, fetch, false)));
                }
                let token = next.take().filter(|t| !t.is_empty())?;
                match fetch(token).await {
                    Ok((page, token)) => {
                        items = VecDeque::from(page);
                        next = token;
                    }
                    Err(error) => return Some((Err(error), (items, None, fetch, true))),
                }
            }
        },
    )
    .boxed()
}

/// An expectation's value as JSON (serialized ones parsed back).
fn expectation_value(value: ExpectationValue) -> Value {
    match value {
        ExpectationValue::Value(v) => v,
        ExpectationValue::Serialized { value, .. } => {
            serde_json::from_str(&value).unwrap_or(Value::String(value))
        }
    }
}

/// The root span's inputs and outputs, else the trace's previews (JSON text when it parses).
fn request_response(
    root: Option<&Value>,
    request: Option<&str>,
    response: Option<&str>,
) -> (Value, Value) {
    let preview = |text: Option<&str>| {
        text.map_or(Value::Null, |t| {
            serde_json::from_str(t).unwrap_or_else(|_| Value::String(t.to_owned()))
        })
    };
    match root {
        Some(root) => (
            object_attribute(root, "mlflow.spanInputs"),
            object_attribute(root, "mlflow.spanOutputs"),
        ),
        None => (preview(request), preview(response)),
    }
}

/// Reads a local store through the [`TrackingStore`] trait.
pub struct StoreData {
    store: Arc<dyn TrackingStore>,
    location: String,
}

impl StoreData {
    pub fn new(store: Arc<dyn TrackingStore>, location: impl Into<String>) -> Self {
        Self {
            store,
            location: location.into(),
        }
    }
}

fn filter_error(e: impl std::fmt::Display) -> EngineError {
    EngineError::Store(StoreError::InvalidParameter(e.to_string()))
}

/// A name as an MLflow filter string literal.
fn quoted(name: &str) -> String {
    format!("'{}'", name.replace('\\', "\\\\").replace('\'', "\\'"))
}

#[async_trait]
impl StoredData for StoreData {
    fn location(&self) -> String {
        self.location.clone()
    }

    async fn dataset_by_name(&self, name: &str) -> Result<Vec<StoredDataset>, EngineError> {
        let filter = parse_filter(&format!("name = {}", quoted(name)), &EVALUATION_DATASETS)
            .map_err(filter_error)?;
        let page = self
            .store
            .search_datasets(&DatasetQuery {
                experiment_ids: vec![],
                filter,
                order_by: vec![],
                max_results: 2,
                page_token: PageToken::default(),
            })
            .await?;
        Ok(page
            .items
            .into_iter()
            .map(|d| StoredDataset {
                dataset_id: d.dataset_id,
                name: d.name,
                digest: d.digest,
            })
            .collect())
    }

    async fn dataset_by_id(&self, dataset_id: &str) -> Result<Option<StoredDataset>, EngineError> {
        match self.store.get_dataset(dataset_id).await {
            Ok(d) => Ok(Some(StoredDataset {
                dataset_id: d.dataset_id,
                name: d.name,
                digest: d.digest,
            })),
            Err(StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn records(
        &self,
        dataset_id: &str,
        page_token: Option<String>,
    ) -> Result<Paged<StoredRecord>, EngineError> {
        let cursor = RecordCursor::decode(page_token.as_deref())?;
        let page = self
            .store
            .get_dataset_records(dataset_id, RECORD_PAGE, cursor)
            .await?;
        let records = page
            .items
            .into_iter()
            .map(|r| StoredRecord {
                record_id: r.dataset_record_id,
                inputs: r.inputs,
                expectations: r.expectations.unwrap_or_default(),
                outputs: r.outputs,
                tags: r.tags,
            })
            .collect();
        Ok((records, page.next_page_token))
    }

    async fn experiment_id(&self, name: &str) -> Result<Option<String>, EngineError> {
        match self.store.get_experiment_by_name(name).await {
            Ok(e) => Ok(Some(e.experiment_id)),
            Err(StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn traces(
        &self,
        experiment_id: &str,
        filter: &str,
        page_token: Option<String>,
    ) -> Result<Paged<StoredTrace>, EngineError> {
        let filter = parse_filter(filter, &TRACES).map_err(filter_error)?;
        let order = parse_order_by("timestamp_ms ASC", &TRACES).map_err(filter_error)?;
        let page = self
            .store
            .search_traces(&TraceQuery {
                experiment_ids: vec![experiment_id.to_owned()],
                filter,
                order_by: vec![order],
                max_results: TRACE_PAGE,
                page_token: PageToken::decode(page_token.as_deref())?,
            })
            .await?;
        let mut traces = Vec::with_capacity(page.items.len());
        for info in page.items {
            let is_eval_row = info.tags.contains_key(ROW_INDEX_TAG);
            // Spans come in start-time order: the root, which starts first, is the first.
            let root: Option<Value> = if is_eval_row {
                None
            } else {
                let spans = self.store.get_spans(&info.trace_id, None, 1).await?;
                spans
                    .spans
                    .first()
                    .and_then(|s| serde_json::from_str(s).ok())
                    .filter(crate::rest_sink::is_root)
            };
            let (inputs, outputs) = request_response(
                root.as_ref(),
                info.request_preview.as_deref(),
                info.response_preview.as_deref(),
            );
            let expectations = info
                .assessments
                .into_iter()
                .filter(|a| a.valid)
                .filter_map(|a| match a.kind {
                    AssessmentKind::Expectation(v) => Some((a.name, expectation_value(v))),
                    AssessmentKind::Feedback { .. } => None,
                })
                .collect();
            traces.push(StoredTrace {
                trace_id: info.trace_id,
                inputs,
                outputs,
                expectations,
                is_eval_row,
            });
        }
        Ok((traces, page.next_page_token))
    }
}

/// Reads a tracking server through its MLflow REST API, as the `mlflow` client does.
pub struct RestData {
    rest: MlflowRest,
}

impl RestData {
    pub fn new(options: &RestOptions) -> Result<Self, EngineError> {
        Ok(Self {
            rest: MlflowRest::new(options).map_err(EngineError::Config)?,
        })
    }
}

#[derive(Debug, Deserialize)]
struct DatasetJson {
    dataset_id: String,
    name: String,
    #[serde(default)]
    digest: String,
}

#[derive(Debug, Deserialize)]
struct DatasetEnvelope {
    dataset: DatasetJson,
}

#[derive(Debug, Default, Deserialize)]
struct DatasetSearchPage {
    #[serde(default)]
    datasets: Vec<DatasetJson>,
}

#[derive(Debug, Default, Deserialize)]
struct RecordsPage {
    /// JSON text of the record list (one of MLflow's string-wrapped fields).
    #[serde(default)]
    records: String,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct RecordJson {
    #[serde(default)]
    dataset_record_id: String,
    #[serde(default)]
    inputs: Map<String, Value>,
    #[serde(default)]
    expectations: Option<Map<String, Value>>,
    #[serde(default)]
    outputs: Option<Value>,
    #[serde(default)]
    tags: Option<Map<String, Value>>,
}

fn stored_dataset(d: DatasetJson) -> StoredDataset {
    StoredDataset {
        dataset_id: d.dataset_id,
        name: d.name,
        digest: d.digest,
    }
}

fn rest_trace(info: TraceInfoJson, root: Option<&Value>) -> StoredTrace {
    let (inputs, outputs) = request_response(
        root,
        info.request_preview.as_deref(),
        info.response_preview.as_deref(),
    );
    let expectations = info
        .assessments
        .iter()
        .filter(|a| a.valid.unwrap_or(true))
        .filter_map(|a| match a.kind() {
            Ok(Some(AssessmentKind::Expectation(v))) => Some((
                a.assessment_name.clone().unwrap_or_default(),
                expectation_value(v),
            )),
            _ => None,
        })
        .collect();
    StoredTrace {
        is_eval_row: info.tags.contains_key(ROW_INDEX_TAG),
        trace_id: info.trace_id.unwrap_or_default(),
        inputs,
        outputs,
        expectations,
    }
}

#[async_trait]
impl StoredData for RestData {
    fn location(&self) -> String {
        format!("tracking server {}", self.rest.server())
    }

    async fn dataset_by_name(&self, name: &str) -> Result<Vec<StoredDataset>, EngineError> {
        let body = json!({"filter_string": format!("name = {}", quoted(name)), "max_results": 2});
        let page: DatasetSearchPage = self
            .rest
            .json(Method::POST, "/api/3.0/mlflow/datasets/search", &body)
            .await?;
        Ok(page.datasets.into_iter().map(stored_dataset).collect())
    }

    async fn dataset_by_id(&self, dataset_id: &str) -> Result<Option<StoredDataset>, EngineError> {
        let path = format!("/api/3.0/mlflow/datasets/{}", encode_segment(dataset_id));
        match self.rest.get::<DatasetEnvelope>(&path, &[]).await {
            Ok(envelope) => Ok(Some(stored_dataset(envelope.dataset))),
            Err(e) if e.code() == Some("RESOURCE_DOES_NOT_EXIST") => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn records(
        &self,
        dataset_id: &str,
        page_token: Option<String>,
    ) -> Result<Paged<StoredRecord>, EngineError> {
        let path = format!(
            "/api/3.0/mlflow/datasets/{}/records",
            encode_segment(dataset_id)
        );
        let mut query = vec![("max_results", RECORD_PAGE.to_string())];
        if let Some(token) = page_token {
            query.push(("page_token", token));
        }
        let page: RecordsPage = self.rest.get(&path, &query).await?;
        let records: Vec<RecordJson> = if page.records.trim().is_empty() {
            Vec::new()
        } else {
            serde_json::from_str(&page.records).map_err(|e| {
                EngineError::Config(format!(
                    "{}: GET {path}: the records are not the expected MLflow JSON: {e}",
                    self.location()
                ))
            })?
        };
        let records = records
            .into_iter()
            .map(|r| StoredRecord {
                record_id: r.dataset_record_id,
                inputs: r.inputs,
                expectations: r.expectations.unwrap_or_default(),
                outputs: r.outputs,
                tags: r.tags.unwrap_or_default(),
            })
            .collect();
        Ok((records, page.next_page_token.filter(|t| !t.is_empty())))
    }

    async fn experiment_id(&self, name: &str) -> Result<Option<String>, EngineError> {
        let found = experiment_by_name(&self.rest, name).await?;
        Ok(found.map(|e| e.experiment_id))
    }

    async fn traces(
        &self,
        experiment_id: &str,
        filter: &str,
        page_token: Option<String>,
    ) -> Result<Paged<StoredTrace>, EngineError> {
        let mut body = json!({
            "locations": [{"type": "MLFLOW_EXPERIMENT",
                           "mlflow_experiment": {"experiment_id": experiment_id}}],
            "filter": filter,
            "max_results": TRACE_PAGE,
            "order_by": ["timestamp_ms ASC"],
        });
        if let Some(token) = page_token {
            body["page_token"] = json!(token);
        }
        let page: TracePage = self
            .rest
            .json(Method::POST, "/api/3.0/mlflow/traces/search", &body)
            .await?;
        let wanted: Vec<String> = page
            .traces
            .iter()
            .filter(|t| !t.tags.contains_key(ROW_INDEX_TAG))
            .filter_map(|t| t.trace_id.clone())
            .collect();
        let roots = root_spans(&self.rest, &wanted).await?;
        let traces = page
            .traces
            .into_iter()
            .map(|info| {
                let root = info.trace_id.as_ref().and_then(|id| roots.get(id)).cloned();
                rest_trace(info, root.as_ref())
            })
            .collect();
        Ok((traces, page.next_page_token.filter(|t| !t.is_empty())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pages `(items, next token)` keyed by their token; `"fail"` fails.
    async fn page(token: String) -> Result<Paged<u32>, EngineError> {
        match token.as_str() {
            "b" => Ok((vec![3, 4], Some("c".into()))),
            "c" => Ok((vec![], Some("d".into()))),
            "d" => Ok((vec![5], Some(String::new()))),
            _ => Err(EngineError::Config(format!("no page {token}"))),
        }
    }

    #[tokio::test]
    async fn pages_follow_their_tokens_through_empty_pages_until_none() {
        let items: Vec<u32> = paged((vec![1, 2], Some("b".into())), page)
            .map(Result::unwrap)
            .collect()
            .await;
        assert_eq!(items, [1, 2, 3, 4, 5]);
    }

    #[tokio::test]
    async fn a_failed_page_is_the_last_item() {
        let items: Vec<Result<u32, EngineError>> =
            paged((vec![1], Some("fail".into())), page).collect().await;
        assert_eq!(items.len(), 2);
        assert!(items[0].is_ok());
        assert_eq!(items[1].as_ref().unwrap_err().to_string(), "no page fail");
    }

    #[test]
    fn a_trace_request_that_is_not_an_object_becomes_inputs_request() {
        let row = trace_row(
            3,
            StoredTrace {
                trace_id: "tr-1".into(),
                inputs: json!("hello"),
                outputs: json!("hi"),
                ..StoredTrace::default()
            },
        );
        assert_eq!(Value::Object(row.inputs), json!({"request": "hello"}));
        assert_eq!((row.index, row.id.as_deref()), (3, Some("tr-1")));
        assert_eq!(row.outputs, Some(json!("hi")));
    }

    #[test]
    fn previews_stand_in_for_a_missing_root_span() {
        let (inputs, outputs) = request_response(None, Some(r#"{"q": 1}"#), Some("cut off"));
        assert_eq!((inputs, outputs), (json!({"q": 1}), json!("cut off")));
    }
}
