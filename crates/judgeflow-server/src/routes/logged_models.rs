//! `/2.0/mlflow/logged-models/*` (MLflow 3).

use axum::extract::{Path, State};
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use judgeflow_api::{
    CreateLoggedModelRequest, FinalizeLoggedModelRequest, KeyValue, LoggedModel,
    LoggedModelEntriesRequest, SearchLoggedModelsRequest,
};
use judgeflow_domain::LoggedModelStatus;
use judgeflow_domain::search::{self, parse_filter};
use judgeflow_store::{LoggedModelOrder, LoggedModelQuery, NewLoggedModel};
use serde_json::{Value, json};

use super::experiments::page_token;
use super::{empty, max_results, required};
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::Mlflow;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/2.0/mlflow/logged-models", post(create))
        .route("/2.0/mlflow/logged-models/search", post(search).get(search))
        .route(
            "/2.0/mlflow/logged-models/{model_id}",
            get(get_model).patch(finalize).delete(delete_model),
        )
        .route("/2.0/mlflow/logged-models/{model_id}/tags", patch(set_tags))
        .route(
            "/2.0/mlflow/logged-models/{model_id}/tags/{tag_key}",
            delete(delete_tag),
        )
        .route(
            "/2.0/mlflow/logged-models/{model_id}/params",
            post(log_params),
        )
}

fn model_response(model: judgeflow_domain::LoggedModel) -> Json<Value> {
    Json(json!({ "model": LoggedModel::from(model) }))
}

async fn create(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<CreateLoggedModelRequest>,
) -> ApiResult<Json<Value>> {
    let experiment_id = required(request.experiment_id.as_deref(), "experiment_id")?.to_owned();
    let model = state
        .store
        .create_logged_model(NewLoggedModel {
            experiment_id,
            name: request.name,
            model_type: request.model_type,
            source_run_id: request.source_run_id.filter(|r| !r.is_empty()),
            params: request.params.into_iter().map(KeyValue::into_tag).collect(),
            tags: request.tags.into_iter().map(KeyValue::into_tag).collect(),
        })
        .await?;
    Ok(model_response(model))
}

async fn get_model(
    State(state): State<AppState>,
    Path(model_id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(model_response(
        state.store.get_logged_model(&model_id).await?,
    ))
}

async fn finalize(
    State(state): State<AppState>,
    Path(model_id): Path<String>,
    Mlflow(request): Mlflow<FinalizeLoggedModelRequest>,
) -> ApiResult<Json<Value>> {
    let status = required(request.status.as_deref(), "status")?;
    let status = LoggedModelStatus::parse(status).ok_or_else(|| {
        ApiError::InvalidParameter(format!("Invalid logged model status '{status}'"))
    })?;
    Ok(model_response(
        state
            .store
            .set_logged_model_status(&model_id, status, None)
            .await?,
    ))
}

async fn delete_model(
    State(state): State<AppState>,
    Path(model_id): Path<String>,
) -> ApiResult<Json<Value>> {
    state.store.delete_logged_model(&model_id).await?;
    Ok(empty())
}

async fn set_tags(
    State(state): State<AppState>,
    Path(model_id): Path<String>,
    Mlflow(request): Mlflow<LoggedModelEntriesRequest>,
) -> ApiResult<Json<Value>> {
    let tags = request.tags.into_iter().map(KeyValue::into_tag).collect();
    state.store.set_logged_model_tags(&model_id, tags).await?;
    Ok(empty())
}

async fn delete_tag(
    State(state): State<AppState>,
    Path((model_id, key)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    state.store.delete_logged_model_tag(&model_id, &key).await?;
    Ok(empty())
}

async fn log_params(
    State(state): State<AppState>,
    Path(model_id): Path<String>,
    Mlflow(request): Mlflow<LoggedModelEntriesRequest>,
) -> ApiResult<Json<Value>> {
    let params = request.params.into_iter().map(KeyValue::into_tag).collect();
    state
        .store
        .log_logged_model_params(&model_id, params)
        .await?;
    Ok(empty())
}

async fn search(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<SearchLoggedModelsRequest>,
) -> ApiResult<Json<super::Body<Vec<LoggedModel>>>> {
    let order_by = request
        .order_by
        .into_iter()
        .map(|o| {
            let field_name = o
                .field_name
                .filter(|f| !f.is_empty())
                .ok_or_else(|| ApiError::missing("order_by.field_name"))?;
            Ok(LoggedModelOrder {
                field_name,
                ascending: o.ascending.unwrap_or(true),
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let query = LoggedModelQuery {
        experiment_ids: request.experiment_ids,
        filter: parse_filter(
            request.filter.as_deref().unwrap_or(""),
            &search::LOGGED_MODELS,
        )?,
        order_by,
        max_results: max_results(request.max_results, 100, 1000)?,
        page_token: page_token(request.page_token.as_deref())?,
    };
    let page = state.store.search_logged_models(&query).await?;
    Ok(super::page(
        "models",
        page.items.into_iter().map(LoggedModel::from).collect(),
        page.next_page_token,
    ))
}
