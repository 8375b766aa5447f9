//! `/2.0/mlflow/runs/*` and metric history.

use axum::extract::{DefaultBodyLimit, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use judgeflow_api::{
    CreateRunRequest, KeyValue, KeyValueRunRequest, LogBatchRequest, LogInputsRequest,
    LogOutputsRequest, Metric, MetricHistoryRequest, MetricIntervalRequest, MetricRequest, Run,
    RunIdRequest, RunInfo, SearchRunsRequest, UpdateRunRequest,
};
use judgeflow_domain::search::{self, parse_filter, parse_order_by};
use judgeflow_domain::{ModelInput, ModelOutput, RunStatus, Tag, now_ms, validation};
use judgeflow_store::{MetricIntervalQuery, NewRun, RunQuery, RunUpdate};
use serde_json::Value;

use super::experiments::{page_token, view_type};
use super::{Body, empty, max_results, one, required};
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::Mlflow;

/// MLflow caps a log-batch body at 1 MB; the client chunks to stay under it.
const MAX_BATCH_BODY: usize = 1024 * 1024;
/// The page size the client asks for and the most we hand out per history page.
const HISTORY_PAGE: i64 = 25_000;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/2.0/mlflow/runs/create", post(create))
        .route("/2.0/mlflow/runs/get", get(get_run))
        .route("/2.0/mlflow/runs/update", post(update))
        .route("/2.0/mlflow/runs/delete", post(delete))
        .route("/2.0/mlflow/runs/restore", post(restore))
        .route("/2.0/mlflow/runs/log-metric", post(log_metric))
        .route("/2.0/mlflow/runs/log-parameter", post(log_param))
        .route("/2.0/mlflow/runs/set-tag", post(set_tag))
        .route("/2.0/mlflow/runs/delete-tag", post(delete_tag))
        .route(
            "/2.0/mlflow/runs/log-batch",
            post(log_batch).layer(DefaultBodyLimit::max(MAX_BATCH_BODY)),
        )
        .route("/2.0/mlflow/runs/log-inputs", post(log_inputs))
        .route("/2.0/mlflow/runs/outputs", post(log_outputs))
        .route("/2.0/mlflow/runs/search", get(search).post(search))
        .route("/2.0/mlflow/metrics/get-history", get(metric_history))
        .route(
            "/2.0/mlflow/metrics/get-history-bulk-interval",
            get(metric_history_interval),
        )
}

async fn create(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<CreateRunRequest>,
) -> ApiResult<Json<Body<Run>>> {
    let experiment_id = request
        .experiment_id
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| "0".into());
    let tags: Vec<Tag> = request.tags.into_iter().map(KeyValue::into_tag).collect();
    let user_id = request
        .user_id
        .filter(|u| !u.is_empty())
        .or_else(|| {
            tags.iter()
                .find(|t| t.key == judgeflow_domain::USER_TAG)
                .map(|t| t.value.clone())
        })
        .unwrap_or_default();
    let run = state
        .store
        .create_run(NewRun {
            experiment_id,
            user_id,
            run_name: request.run_name,
            start_time: request.start_time.unwrap_or_else(now_ms),
            tags,
        })
        .await?;
    Ok(one("run", Run::from(run)))
}

async fn get_run(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<RunIdRequest>,
) -> ApiResult<Json<Body<Run>>> {
    let id = required(request.id(), "run_id")?;
    Ok(one("run", Run::from(state.store.get_run(id).await?)))
}

async fn update(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<UpdateRunRequest>,
) -> ApiResult<Json<Body<RunInfo>>> {
    let id = required(request.id(), "run_id")?.to_owned();
    let status = match request.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            RunStatus::parse(s)
                .ok_or_else(|| ApiError::InvalidParameter(format!("Invalid run status '{s}'")))?,
        ),
    };
    let info = state
        .store
        .update_run(
            &id,
            RunUpdate {
                status,
                end_time: request.end_time,
                run_name: request.run_name,
            },
        )
        .await?;
    Ok(one("run_info", RunInfo::from(info)))
}

async fn delete(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<RunIdRequest>,
) -> ApiResult<Json<Value>> {
    state
        .store
        .delete_run(required(request.id(), "run_id")?)
        .await?;
    Ok(empty())
}

async fn restore(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<RunIdRequest>,
) -> ApiResult<Json<Value>> {
    state
        .store
        .restore_run(required(request.id(), "run_id")?)
        .await?;
    Ok(empty())
}

fn metric(request: MetricRequest) -> ApiResult<judgeflow_domain::Metric> {
    request.into_metric().map_err(ApiError::missing)
}

async fn log_metric(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<MetricRequest>,
) -> ApiResult<Json<Value>> {
    let id = required(request.id(), "run_id")?.to_owned();
    let metric = metric(request)?;
    state
        .store
        .log_batch(&id, vec![metric], vec![], vec![])
        .await?;
    Ok(empty())
}

fn key_value(request: KeyValueRunRequest) -> ApiResult<(String, Tag)> {
    let id = required(request.id(), "run_id")?.to_owned();
    let key = required(request.key.as_deref(), "key")?.to_owned();
    let value = request.value.ok_or_else(|| ApiError::missing("value"))?;
    Ok((id, Tag::new(key, value)))
}

async fn log_param(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<KeyValueRunRequest>,
) -> ApiResult<Json<Value>> {
    let (id, param) = key_value(request)?;
    state
        .store
        .log_batch(&id, vec![], vec![param], vec![])
        .await?;
    Ok(empty())
}

async fn set_tag(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<KeyValueRunRequest>,
) -> ApiResult<Json<Value>> {
    let (id, tag) = key_value(request)?;
    state
        .store
        .log_batch(&id, vec![], vec![], vec![tag])
        .await?;
    Ok(empty())
}

async fn delete_tag(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<KeyValueRunRequest>,
) -> ApiResult<Json<Value>> {
    let id = required(request.id(), "run_id")?.to_owned();
    let key = required(request.key.as_deref(), "key")?;
    state.store.delete_run_tag(&id, key).await?;
    Ok(empty())
}

async fn log_batch(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<LogBatchRequest>,
) -> ApiResult<Json<Value>> {
    let id = required(request.run_id.as_deref(), "run_id")?.to_owned();
    let metrics = request
        .metrics
        .into_iter()
        .map(metric)
        .collect::<ApiResult<Vec<_>>>()?;
    let params: Vec<Tag> = request.params.into_iter().map(KeyValue::into_tag).collect();
    let tags: Vec<Tag> = request.tags.into_iter().map(KeyValue::into_tag).collect();
    state.store.log_batch(&id, metrics, params, tags).await?;
    Ok(empty())
}

async fn log_inputs(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<LogInputsRequest>,
) -> ApiResult<Json<Value>> {
    let id = required(request.run_id.as_deref(), "run_id")?.to_owned();
    let datasets = request
        .datasets
        .into_iter()
        .map(|d| d.into_domain().map_err(ApiError::missing))
        .collect::<ApiResult<Vec<_>>>()?;
    let models = request
        .models
        .into_iter()
        .map(|m| {
            m.model_id
                .filter(|i| !i.is_empty())
                .map(|model_id| ModelInput { model_id })
                .ok_or_else(|| ApiError::missing("model_id"))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    state.store.log_inputs(&id, datasets, models).await?;
    Ok(empty())
}

async fn log_outputs(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<LogOutputsRequest>,
) -> ApiResult<Json<Value>> {
    let id = required(request.run_id.as_deref(), "run_id")?.to_owned();
    let models = request
        .models
        .into_iter()
        .map(|m| {
            let model_id = m
                .model_id
                .filter(|i| !i.is_empty())
                .ok_or_else(|| ApiError::missing("model_id"))?;
            Ok(ModelOutput {
                model_id,
                step: m.step.unwrap_or(0),
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    state.store.log_outputs(&id, models).await?;
    Ok(empty())
}

async fn search(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<SearchRunsRequest>,
) -> ApiResult<Json<Body<Vec<Run>>>> {
    let query = RunQuery {
        experiment_ids: request.experiment_ids,
        filter: parse_filter(request.filter.as_deref().unwrap_or(""), &search::RUNS)?,
        order_by: request
            .order_by
            .iter()
            .map(|o| parse_order_by(o, &search::RUNS))
            .collect::<Result<_, _>>()?,
        view: view_type(request.run_view_type.as_deref())?,
        max_results: max_results(request.max_results, 1000, validation::MAX_RESULTS_LIMIT)?,
        page_token: page_token(request.page_token.as_deref())?,
    };
    let page = state.store.search_runs(&query).await?;
    Ok(super::page(
        "runs",
        page.items.into_iter().map(Run::from).collect(),
        page.next_page_token,
    ))
}

async fn metric_history(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<MetricHistoryRequest>,
) -> ApiResult<Json<Body<Vec<Metric>>>> {
    let id = required(request.id(), "run_id")?.to_owned();
    let key = required(request.metric_key.as_deref(), "metric_key")?;
    let limit = max_results(request.max_results, HISTORY_PAGE, i64::from(i32::MAX))?
        .min(HISTORY_PAGE as usize);
    let token = page_token(request.page_token.as_deref())?;
    let page = state
        .store
        .get_metric_history(&id, key, limit, Some(&token))
        .await?;
    Ok(super::page(
        "metrics",
        page.items.into_iter().map(Metric::from).collect(),
        page.next_page_token,
    ))
}

async fn metric_history_interval(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<MetricIntervalRequest>,
) -> ApiResult<Json<Body<Vec<Metric>>>> {
    let key = required(request.metric_key.as_deref(), "metric_key")?.to_owned();
    if request.run_ids.is_empty() {
        return Err(ApiError::missing("run_ids"));
    }
    if request.run_ids.len() > 100 {
        return Err(ApiError::InvalidParameter(
            "GetMetricHistoryBulkInterval accepts a maximum of 100 run IDs".into(),
        ));
    }
    let query = MetricIntervalQuery {
        run_ids: request.run_ids,
        metric_key: key,
        max_results: max_results(request.max_results, 320, 2500)?,
        start_step: request.start_step,
        end_step: request.end_step,
    };
    let points = state.store.get_metric_history_bulk_interval(&query).await?;
    Ok(one(
        "metrics",
        points.into_iter().map(Metric::from).collect::<Vec<_>>(),
    ))
}
