//! `/2.0/mlflow/experiments/*`.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use judgeflow_api::{
    CreateExperimentRequest, Experiment, ExperimentByNameRequest, ExperimentIdRequest,
    ExperimentTagRequest, KeyValue, SearchExperimentsRequest, UpdateExperimentRequest,
};
use judgeflow_domain::search::{self, parse_filter, parse_order_by};
use judgeflow_domain::{Tag, ViewType, validation};
use judgeflow_store::{ExperimentQuery, NewExperiment, PageToken};
use serde_json::{Value, json};

use super::{Body, empty, max_results, one, required};
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::Mlflow;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/2.0/mlflow/experiments/create", post(create))
        .route("/2.0/mlflow/experiments/get", get(get_experiment))
        .route("/2.0/mlflow/experiments/get-by-name", get(get_by_name))
        .route("/2.0/mlflow/experiments/search", get(search).post(search))
        .route("/2.0/mlflow/experiments/list", get(search))
        .route("/2.0/mlflow/experiments/update", post(update))
        .route("/2.0/mlflow/experiments/delete", post(delete))
        .route("/2.0/mlflow/experiments/restore", post(restore))
        .route("/2.0/mlflow/experiments/set-experiment-tag", post(set_tag))
        .route(
            "/2.0/mlflow/experiments/delete-experiment-tag",
            post(delete_tag),
        )
}

async fn create(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<CreateExperimentRequest>,
) -> ApiResult<Json<Value>> {
    let name = required(request.name.as_deref(), "name")?.to_owned();
    let experiment_id = state
        .store
        .create_experiment(NewExperiment {
            name,
            artifact_location: request.artifact_location,
            tags: request.tags.into_iter().map(KeyValue::into_tag).collect(),
        })
        .await?;
    Ok(Json(json!({ "experiment_id": experiment_id })))
}

async fn get_experiment(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<ExperimentIdRequest>,
) -> ApiResult<Json<Body<Experiment>>> {
    let id = required(request.experiment_id.as_deref(), "experiment_id")?;
    let experiment = state.store.get_experiment(id).await?;
    Ok(one("experiment", Experiment::from(experiment)))
}

async fn get_by_name(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<ExperimentByNameRequest>,
) -> ApiResult<Json<Body<Experiment>>> {
    let name = required(request.experiment_name.as_deref(), "experiment_name")?;
    let experiment = state.store.get_experiment_by_name(name).await?;
    Ok(one("experiment", Experiment::from(experiment)))
}

pub(crate) fn view_type(value: Option<&str>) -> ApiResult<ViewType> {
    match value.filter(|v| !v.is_empty()) {
        None => Ok(ViewType::ActiveOnly),
        Some(v) => ViewType::parse(v)
            .ok_or_else(|| ApiError::InvalidParameter(format!("Invalid view type '{v}'"))),
    }
}

pub(crate) fn page_token(token: Option<&str>) -> ApiResult<PageToken> {
    Ok(PageToken::decode(token)?)
}

async fn search(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<SearchExperimentsRequest>,
) -> ApiResult<Json<Body<Vec<Experiment>>>> {
    let query = ExperimentQuery {
        filter: parse_filter(
            request.filter.as_deref().unwrap_or(""),
            &search::EXPERIMENTS,
        )?,
        order_by: request
            .order_by
            .iter()
            .map(|o| parse_order_by(o, &search::EXPERIMENTS))
            .collect::<Result<_, _>>()?,
        view: view_type(request.view_type.as_deref())?,
        max_results: max_results(request.max_results, 1000, validation::MAX_RESULTS_LIMIT)?,
        page_token: page_token(request.page_token.as_deref())?,
    };
    let page = state.store.search_experiments(&query).await?;
    Ok(super::page(
        "experiments",
        page.items.into_iter().map(Experiment::from).collect(),
        page.next_page_token,
    ))
}

async fn update(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<UpdateExperimentRequest>,
) -> ApiResult<Json<Value>> {
    let id = required(request.experiment_id.as_deref(), "experiment_id")?;
    let new_name = required(request.new_name.as_deref(), "new_name")?;
    state.store.rename_experiment(id, new_name).await?;
    Ok(empty())
}

async fn delete(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<ExperimentIdRequest>,
) -> ApiResult<Json<Value>> {
    let id = required(request.experiment_id.as_deref(), "experiment_id")?;
    state.store.delete_experiment(id).await?;
    Ok(empty())
}

async fn restore(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<ExperimentIdRequest>,
) -> ApiResult<Json<Value>> {
    let id = required(request.experiment_id.as_deref(), "experiment_id")?;
    state.store.restore_experiment(id).await?;
    Ok(empty())
}

async fn set_tag(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<ExperimentTagRequest>,
) -> ApiResult<Json<Value>> {
    let id = required(request.experiment_id.as_deref(), "experiment_id")?;
    let key = required(request.key.as_deref(), "key")?;
    let value = request.value.ok_or_else(|| ApiError::missing("value"))?;
    state
        .store
        .set_experiment_tag(id, Tag::new(key, value))
        .await?;
    Ok(empty())
}

async fn delete_tag(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<ExperimentTagRequest>,
) -> ApiResult<Json<Value>> {
    let id = required(request.experiment_id.as_deref(), "experiment_id")?;
    let key = required(request.key.as_deref(), "key")?;
    state.store.delete_experiment_tag(id, key).await?;
    Ok(empty())
}
