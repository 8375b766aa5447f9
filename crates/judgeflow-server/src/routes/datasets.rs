//! `/3.0/mlflow/datasets/*`: evaluation datasets (`mlflow.genai.datasets`) and their records.
//! `search` is routed before `{dataset_id}` (axum prefers the literal segment). `tags`,
//! `records` (both ways) are JSON text inside the body; see `judgeflow_api`.
//!
//! Unknown datasets answer 404 `RESOURCE_DOES_NOT_EXIST`, except the deletes, which are
//! idempotent as in MLflow.

use axum::extract::{Path, State};
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use judgeflow_api::{
    CreateDatasetRequest, DatasetExperimentsRequest, DeleteDatasetRecordsRequest,
    EvaluationDataset, GetDatasetRecordsRequest, SearchEvaluationDatasetsRequest,
    SetDatasetTagsRequest, UpsertDatasetRecordsRequest, records_from_wire, records_to_wire,
    tags_from_wire,
};
use judgeflow_domain::evaluation_datasets::{
    DEFAULT_DATASETS_PER_PAGE, DEFAULT_RECORDS_PER_PAGE, parse_search_filter, parse_search_order_by,
};
use judgeflow_domain::validation::MAX_RESULTS_LIMIT;
use judgeflow_store::{DatasetQuery, NewEvaluationDataset, RecordCursor};
use serde_json::{Value, json};

use super::experiments::page_token;
use super::{Body, empty, max_results, one, required};
use crate::AppState;
use crate::error::ApiResult;
use crate::extract::Mlflow;

pub(crate) fn router() -> Router<AppState> {
    const DATASETS: &str = "/3.0/mlflow/datasets";
    const DATASET: &str = "/3.0/mlflow/datasets/{dataset_id}";
    Router::new()
        .route(&format!("{DATASETS}/create"), post(create))
        .route(&format!("{DATASETS}/search"), get(search).post(search))
        .route(DATASET, get(get_dataset).delete(delete_dataset))
        .route(
            &format!("{DATASET}/records"),
            get(get_records).post(upsert_records).delete(delete_records),
        )
        .route(&format!("{DATASET}/tags"), patch(set_tags))
        .route(&format!("{DATASET}/tags/{{key}}"), delete(delete_tag))
        .route(&format!("{DATASET}/experiment-ids"), get(experiment_ids))
        .route(&format!("{DATASET}/add-experiments"), post(add_experiments))
        .route(
            &format!("{DATASET}/remove-experiments"),
            post(remove_experiments),
        )
}

fn dataset_response(
    dataset: judgeflow_domain::evaluation_datasets::EvaluationDataset,
) -> Json<Body<EvaluationDataset>> {
    one("dataset", EvaluationDataset::from(dataset))
}

async fn create(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<CreateDatasetRequest>,
) -> ApiResult<Json<Body<EvaluationDataset>>> {
    let name = required(request.name.as_deref(), "name")?.to_owned();
    let tags = match request.tags.as_deref().filter(|t| !t.is_empty()) {
        Some(text) => tags_from_wire(text)?,
        None => Vec::new(),
    };
    let dataset = state
        .store
        .create_dataset(NewEvaluationDataset {
            name,
            tags,
            experiment_ids: request.experiment_ids,
        })
        .await?;
    Ok(dataset_response(dataset))
}

async fn get_dataset(
    State(state): State<AppState>,
    Path(dataset_id): Path<String>,
) -> ApiResult<Json<Body<EvaluationDataset>>> {
    Ok(dataset_response(
        state.store.get_dataset(&dataset_id).await?,
    ))
}

async fn delete_dataset(
    State(state): State<AppState>,
    Path(dataset_id): Path<String>,
) -> ApiResult<Json<Value>> {
    state.store.delete_dataset(&dataset_id).await?;
    Ok(empty())
}

async fn search(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<SearchEvaluationDatasetsRequest>,
) -> ApiResult<Json<Body<Vec<EvaluationDataset>>>> {
    let query = DatasetQuery {
        experiment_ids: request.experiment_ids,
        filter: parse_search_filter(request.filter_string.as_deref().unwrap_or(""))?,
        order_by: parse_search_order_by(&request.order_by)?,
        max_results: max_results(
            request.max_results,
            DEFAULT_DATASETS_PER_PAGE,
            MAX_RESULTS_LIMIT,
        )?,
        page_token: page_token(request.page_token.as_deref())?,
    };
    let page = state.store.search_datasets(&query).await?;
    Ok(super::page(
        "datasets",
        page.items
            .into_iter()
            .map(EvaluationDataset::from)
            .collect(),
        page.next_page_token,
    ))
}

async fn set_tags(
    State(state): State<AppState>,
    Path(dataset_id): Path<String>,
    Mlflow(request): Mlflow<SetDatasetTagsRequest>,
) -> ApiResult<Json<Value>> {
    let tags = tags_from_wire(required(request.tags.as_deref(), "tags")?)?;
    state.store.set_dataset_tags(&dataset_id, tags).await?;
    Ok(empty())
}

async fn delete_tag(
    State(state): State<AppState>,
    Path((dataset_id, key)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    state.store.delete_dataset_tag(&dataset_id, &key).await?;
    Ok(empty())
}

async fn upsert_records(
    State(state): State<AppState>,
    Path(dataset_id): Path<String>,
    Mlflow(request): Mlflow<UpsertDatasetRecordsRequest>,
) -> ApiResult<Json<Value>> {
    let records = records_from_wire(required(request.records.as_deref(), "records")?)?;
    let counts = state
        .store
        .upsert_dataset_records(&dataset_id, records)
        .await?;
    Ok(Json(json!({
        "inserted_count": counts.inserted,
        "updated_count": counts.updated,
    })))
}

async fn get_records(
    State(state): State<AppState>,
    Path(dataset_id): Path<String>,
    Mlflow(request): Mlflow<GetDatasetRecordsRequest>,
) -> ApiResult<Json<Body<String>>> {
    // 0 means "not set" in the proto, so it gets the default, as in MLflow.
    let requested = request.max_results.filter(|&n| n != 0);
    let max_results = max_results(requested, DEFAULT_RECORDS_PER_PAGE, MAX_RESULTS_LIMIT)?;
    let cursor = RecordCursor::decode(request.page_token.as_deref())?;
    let page = state
        .store
        .get_dataset_records(&dataset_id, max_results, cursor)
        .await?;
    Ok(Json(Body {
        field: "records",
        value: Some(records_to_wire(&page.items)),
        next_page_token: page.next_page_token,
    }))
}

async fn delete_records(
    State(state): State<AppState>,
    Path(dataset_id): Path<String>,
    Mlflow(request): Mlflow<DeleteDatasetRecordsRequest>,
) -> ApiResult<Json<Value>> {
    let deleted = state
        .store
        .delete_dataset_records(&dataset_id, &request.dataset_record_ids)
        .await?;
    Ok(Json(json!({ "deleted_count": deleted })))
}

async fn experiment_ids(
    State(state): State<AppState>,
    Path(dataset_id): Path<String>,
) -> ApiResult<Json<Body<Vec<String>>>> {
    let ids = state.store.get_dataset_experiment_ids(&dataset_id).await?;
    Ok(super::page("experiment_ids", ids, None))
}

async fn add_experiments(
    State(state): State<AppState>,
    Path(dataset_id): Path<String>,
    Mlflow(request): Mlflow<DatasetExperimentsRequest>,
) -> ApiResult<Json<Body<EvaluationDataset>>> {
    let dataset = state
        .store
        .add_dataset_to_experiments(&dataset_id, &request.experiment_ids)
        .await?;
    Ok(dataset_response(dataset))
}

async fn remove_experiments(
    State(state): State<AppState>,
    Path(dataset_id): Path<String>,
    Mlflow(request): Mlflow<DatasetExperimentsRequest>,
) -> ApiResult<Json<Body<EvaluationDataset>>> {
    let dataset = state
        .store
        .remove_dataset_from_experiments(&dataset_id, &request.experiment_ids)
        .await?;
    Ok(dataset_response(dataset))
}
