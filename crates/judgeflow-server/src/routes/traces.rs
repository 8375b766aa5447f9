//! MLflow 3 traces: `/3.0/mlflow/traces/*` (trace infos, spans, search, assessments) and the
//! `/2.0/mlflow/traces/*` paths the client still calls (tags, link-to-run, delete-traces,
//! link-prompts). OTLP ingest (`/v1/traces`) lives in `otlp.rs`.
//!
//! Reads that return spans stream them page by page from the store, so a trace of 50,000
//! spans never sits in memory whole.

use axum::Router;
use axum::body::Body as HttpBody;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use bytes::Bytes;
use futures::StreamExt as _;
use judgeflow_api::{
    AssessmentJson, AssessmentRequest, DeleteTracesRequest, LinkPromptsRequest, LinkTracesRequest,
    SearchTracesRequest, StartTraceRequest, TraceIdsRequest, TraceInfoJson, TraceTagRequest,
};
use judgeflow_domain::search::{TRACES, parse_filter, parse_order_by};
use judgeflow_domain::traces::{MAX_TRACE_IDS_PER_CALL, new_assessment_id, validate_trace_tag};
use judgeflow_domain::{AssessmentUpdate, TraceInfo, now_ms};
use judgeflow_store::{SpanCursor, TraceDeletion, TraceQuery, TrackingStore};
use serde_json::json;

use super::experiments::page_token;
use super::{empty, max_results, one, page, required};
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::Mlflow;

/// Spans read from the store per page while streaming a trace.
const SPAN_PAGE: usize = 1000;
/// MLflow's limits: 500 infos per search page, 10 full traces per batchGet.
const MAX_SEARCH_RESULTS: i64 = 500;
const MAX_BATCH_GET: usize = 10;

pub(crate) fn router() -> Router<AppState> {
    const V3: &str = "/3.0/mlflow/traces";
    const V2: &str = "/2.0/mlflow/traces";
    Router::new()
        .route(V3, post(start_trace))
        // Literal paths first in meaning; matchit prefers static segments over `{trace_id}`.
        .route(&format!("{V3}/get"), get(get_trace))
        .route(&format!("{V3}/batchGet"), get(batch_get))
        .route(&format!("{V3}/batchGetInfos"), post(batch_get_infos))
        .route(&format!("{V3}/search"), post(search).get(search))
        .route(&format!("{V3}/delete-traces"), post(delete_traces))
        .route(&format!("{V3}/link-to-run"), post(link_to_run))
        .route(&format!("{V3}/{{trace_id}}"), get(get_trace_info))
        .route(
            &format!("{V3}/{{trace_id}}/tags"),
            patch(set_tag).delete(delete_tag),
        )
        .route(
            &format!("{V3}/{{trace_id}}/assessments"),
            post(create_assessment),
        )
        .route(
            &format!("{V3}/{{trace_id}}/assessments/{{assessment_id}}"),
            get(get_assessment)
                .patch(update_assessment)
                .delete(delete_assessment),
        )
        .route(
            &format!("{V2}/{{trace_id}}/tags"),
            patch(set_tag).delete(delete_tag),
        )
        .route(&format!("{V2}/link-to-run"), post(link_to_run))
        .route(&format!("{V2}/delete-traces"), post(delete_traces))
        .route(&format!("{V2}/link-prompts"), post(link_prompts))
}

fn info_body(info: &TraceInfo) -> serde_json::Value {
    json!({ "trace": { "trace_info": TraceInfoJson::from(info) } })
}

async fn start_trace(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<StartTraceRequest>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let info = request
        .trace
        .and_then(|t| t.trace_info)
        .ok_or_else(|| ApiError::missing("trace.trace_info"))?
        .into_domain(now_ms())
        .map_err(ApiError::InvalidParameter)?;
    judgeflow_domain::traces::validate_trace_id(&info.trace_id)?;
    let stored = state.store.start_trace(info).await?;
    Ok(axum::Json(info_body(&stored)))
}

async fn get_trace_info(
    State(state): State<AppState>,
    Path(trace_id): Path<String>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let info = state.store.get_trace_info(&trace_id).await?;
    Ok(axum::Json(info_body(&info)))
}

/// Streams `{"trace_info": …, "spans": [ … ]}` for each trace, joined by commas, wrapped in
/// `prefix` and `suffix`. Spans come from the store a page at a time.
fn stream_traces(
    store: std::sync::Arc<dyn TrackingStore>,
    infos: Vec<TraceInfo>,
    prefix: &'static str,
    suffix: &'static str,
) -> Response {
    enum Step {
        Start,
        Trace(usize),
        Spans(usize, Option<SpanCursor>, bool),
        Done,
    }
    let stream = futures::stream::unfold(Step::Start, move |step| {
        let store = store.clone();
        let infos = infos.clone();
        async move {
            match step {
                Step::Start => Some((Ok(Bytes::from_static(prefix.as_bytes())), Step::Trace(0))),
                Step::Trace(i) if i >= infos.len() => {
                    Some((Ok(Bytes::from_static(suffix.as_bytes())), Step::Done))
                }
                Step::Trace(i) => {
                    let mut head = String::new();
                    if i > 0 {
                        head.push(',');
                    }
                    head.push_str("{\"trace_info\":");
                    match serde_json::to_string(&TraceInfoJson::from(&infos[i])) {
                        Ok(text) => head.push_str(&text),
                        Err(e) => return Some((Err(std::io::Error::other(e)), Step::Done)),
                    }
                    head.push_str(",\"spans\":[");
                    Some((Ok(Bytes::from(head)), Step::Spans(i, None, true)))
                }
                Step::Spans(i, cursor, first) => {
                    match store.get_spans(&infos[i].trace_id, cursor, SPAN_PAGE).await {
                        Ok(page) => {
                            let mut chunk = String::new();
                            for (n, span) in page.spans.iter().enumerate() {
                                if !(first && n == 0) {
                                    chunk.push(',');
                                }
                                chunk.push_str(span);
                            }
                            let next = if let Some(cursor) = page.next {
                                Step::Spans(i, Some(cursor), first && page.spans.is_empty())
                            } else {
                                chunk.push_str("]}");
                                Step::Trace(i + 1)
                            };
                            Some((Ok(Bytes::from(chunk)), next))
                        }
                        Err(error) => {
                            tracing::error!(%error, "reading spans failed mid-response");
                            Some((Err(std::io::Error::other(error.to_string())), Step::Done))
                        }
                    }
                }
                Step::Done => None,
            }
        }
    });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        HttpBody::from_stream(stream.boxed()),
    )
        .into_response()
}

async fn get_trace(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<TraceIdsRequest>,
) -> ApiResult<Response> {
    let trace_id = required(request.trace_id.as_deref(), "trace_id")?;
    let info = state.store.get_trace_info(trace_id).await?;
    Ok(stream_traces(
        state.store.clone(),
        vec![info],
        "{\"trace\":",
        "}",
    ))
}

fn trace_ids(request: &TraceIdsRequest) -> ApiResult<Vec<String>> {
    let mut ids = request.trace_ids.clone();
    if ids.is_empty()
        && let Some(id) = &request.trace_id
    {
        ids.push(id.clone());
    }
    if ids.is_empty() {
        return Err(ApiError::missing("trace_ids"));
    }
    Ok(ids)
}

async fn batch_get(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<TraceIdsRequest>,
) -> ApiResult<Response> {
    let ids = trace_ids(&request)?;
    if ids.len() > MAX_BATCH_GET {
        return Err(ApiError::InvalidParameter(format!(
            "At most {MAX_BATCH_GET} trace ids can be fetched at once, got {}",
            ids.len()
        )));
    }
    let infos = state.store.get_trace_infos(&ids).await?;
    Ok(stream_traces(
        state.store.clone(),
        infos,
        "{\"traces\":[",
        "]}",
    ))
}

async fn batch_get_infos(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<TraceIdsRequest>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let ids = trace_ids(&request)?;
    if ids.len() > MAX_TRACE_IDS_PER_CALL {
        return Err(ApiError::InvalidParameter(format!(
            "At most {MAX_TRACE_IDS_PER_CALL} trace ids per request, got {}",
            ids.len()
        )));
    }
    let infos = state.store.get_trace_infos(&ids).await?;
    let infos: Vec<TraceInfoJson> = infos.iter().map(TraceInfoJson::from).collect();
    Ok(axum::Json(json!({ "trace_infos": infos })))
}

async fn search(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<SearchTracesRequest>,
) -> ApiResult<impl IntoResponse> {
    let mut experiment_ids: Vec<String> = request
        .locations
        .iter()
        .filter_map(|l| l.mlflow_experiment.as_ref()?.experiment_id.clone())
        .collect();
    experiment_ids.extend(request.experiment_ids.iter().cloned());
    if experiment_ids.is_empty() {
        return Err(ApiError::missing("locations"));
    }
    let filter = parse_filter(request.filter.as_deref().unwrap_or(""), &TRACES)?;
    let order_by = request
        .order_by
        .iter()
        .map(|o| parse_order_by(o, &TRACES))
        .collect::<Result<Vec<_>, _>>()?;
    let query = TraceQuery {
        experiment_ids,
        filter,
        order_by,
        max_results: max_results(request.max_results, 100, MAX_SEARCH_RESULTS)?,
        page_token: page_token(request.page_token.as_deref())?,
    };
    let found = state.store.search_traces(&query).await?;
    let infos: Vec<TraceInfoJson> = found.items.iter().map(TraceInfoJson::from).collect();
    Ok(page("traces", infos, found.next_page_token))
}

async fn set_tag(
    State(state): State<AppState>,
    Path(trace_id): Path<String>,
    Mlflow(request): Mlflow<TraceTagRequest>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let key = required(request.key.as_deref(), "key")?;
    let value = request.value.as_deref().unwrap_or("");
    validate_trace_tag(key, value)?;
    state.store.set_trace_tag(&trace_id, key, value).await?;
    Ok(empty())
}

async fn delete_tag(
    State(state): State<AppState>,
    Path(trace_id): Path<String>,
    Mlflow(request): Mlflow<TraceTagRequest>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let key = required(request.key.as_deref(), "key")?;
    state.store.delete_trace_tag(&trace_id, key).await?;
    Ok(empty())
}

async fn link_to_run(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<LinkTracesRequest>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let run_id = required(request.run_id.as_deref(), "run_id")?.to_owned();
    if request.trace_ids.is_empty() {
        return Err(ApiError::missing("trace_ids"));
    }
    state
        .store
        .link_traces_to_run(request.trace_ids, &run_id)
        .await?;
    Ok(empty())
}

async fn link_prompts(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<LinkPromptsRequest>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let trace_id = required(request.trace_id.as_deref(), "trace_id")?.to_owned();
    let prompts = request
        .prompt_versions
        .into_iter()
        .map(|p| {
            Ok((
                required(p.name.as_deref(), "prompt_versions.name")?.to_owned(),
                required(p.version.as_deref(), "prompt_versions.version")?.to_owned(),
            ))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    state
        .store
        .link_prompts_to_trace(&trace_id, prompts)
        .await?;
    Ok(empty())
}

async fn delete_traces(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<DeleteTracesRequest>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let experiment_id = required(request.experiment_id.as_deref(), "experiment_id")?.to_owned();
    let mut ids = request.request_ids;
    ids.extend(request.trace_ids);
    let which = match (ids.is_empty(), request.max_timestamp_millis) {
        (false, None) => TraceDeletion::Ids(ids),
        (true, Some(max_timestamp_ms)) => TraceDeletion::OlderThan {
            max_timestamp_ms,
            max_traces: request
                .max_traces
                .map(|n| {
                    usize::try_from(n).map_err(|_| {
                        ApiError::InvalidParameter(format!(
                            "max_traces must be a positive integer, got {n}"
                        ))
                    })
                })
                .transpose()?,
        },
        _ => {
            return Err(ApiError::InvalidParameter(
                "Exactly one of 'max_timestamp_millis' and 'request_ids' must be specified.".into(),
            ));
        }
    };
    let deleted = state.store.delete_traces(&experiment_id, which).await?;
    Ok(axum::Json(json!({ "traces_deleted": deleted })))
}

// ---- assessments -----------------------------------------------------------------------

async fn create_assessment(
    State(state): State<AppState>,
    Path(trace_id): Path<String>,
    Mlflow(request): Mlflow<AssessmentRequest>,
) -> ApiResult<impl IntoResponse> {
    let mut assessment = request
        .assessment
        .ok_or_else(|| ApiError::missing("assessment"))?
        .into_domain(now_ms())
        .map_err(ApiError::InvalidParameter)?;
    assessment.trace_id = trace_id;
    assessment.assessment_id = new_assessment_id();
    assessment.valid = true;
    let stored = state.store.create_assessment(assessment).await?;
    Ok(one("assessment", AssessmentJson::from(&stored)))
}

async fn get_assessment(
    State(state): State<AppState>,
    Path((trace_id, assessment_id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    let assessment = state
        .store
        .get_assessment(&trace_id, &assessment_id)
        .await?;
    Ok(one("assessment", AssessmentJson::from(&assessment)))
}

async fn update_assessment(
    State(state): State<AppState>,
    Path((trace_id, assessment_id)): Path<(String, String)>,
    Mlflow(request): Mlflow<AssessmentRequest>,
) -> ApiResult<impl IntoResponse> {
    let assessment = request
        .assessment
        .ok_or_else(|| ApiError::missing("assessment"))?;
    let mask = required(request.update_mask.as_deref(), "update_mask")?;
    let mut update = AssessmentUpdate::default();
    for field in mask.split(',').map(str::trim).filter(|f| !f.is_empty()) {
        match field {
            "assessmentName" | "assessment_name" => {
                update.name = Some(
                    required(assessment.assessment_name.as_deref(), "assessment_name")?.to_owned(),
                );
            }
            "feedback" | "expectation" => {
                update.kind = assessment.kind().map_err(ApiError::InvalidParameter)?;
                if update.kind.is_none() {
                    return Err(ApiError::missing(field));
                }
            }
            "rationale" => update.rationale = Some(assessment.rationale.clone()),
            "metadata" => update.metadata = Some(assessment.metadata.clone()),
            other => {
                return Err(ApiError::InvalidParameter(format!(
                    "Invalid update_mask field '{other}': expected assessmentName, feedback, \
                     expectation, rationale or metadata"
                )));
            }
        }
    }
    let updated = state
        .store
        .update_assessment(&trace_id, &assessment_id, update)
        .await?;
    Ok(one("assessment", AssessmentJson::from(&updated)))
}

async fn delete_assessment(
    State(state): State<AppState>,
    Path((trace_id, assessment_id)): Path<(String, String)>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    state
        .store
        .delete_assessment(&trace_id, &assessment_id)
        .await?;
    Ok(empty())
}
