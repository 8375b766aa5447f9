//! `/2.0/mlflow/registered-models/*` and `/2.0/mlflow/model-versions/*`: the model registry,
//! which prompts use too. GETs read the query string; PATCH and DELETE carry JSON bodies.

use axum::extract::State;
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use judgeflow_api::{
    CreateModelVersionRequest, CreateRegisteredModelRequest, KeyValue, ModelVersion,
    ModelVersionRequest, RegisteredModel, RegisteredModelRequest, RegistryTagRequest,
    SearchRegistryRequest,
};
use judgeflow_domain::search::{self, Grammar, parse_filter, parse_order_by};
use judgeflow_domain::validation::{
    MAX_MODEL_VERSIONS_PER_PAGE, MAX_REGISTERED_MODELS_PER_PAGE, parse_version,
};
use judgeflow_domain::{ModelStage, Tag};
use judgeflow_store::{NewModelVersion, NewRegisteredModel, RegistryQuery};
use serde_json::{Value, json};

use super::experiments::page_token;
use super::{empty, max_results, required};
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::Mlflow;

pub(crate) fn router() -> Router<AppState> {
    const MODELS: &str = "/2.0/mlflow/registered-models";
    const VERSIONS: &str = "/2.0/mlflow/model-versions";
    Router::new()
        .route(&format!("{MODELS}/create"), post(create_model))
        .route(&format!("{MODELS}/get"), get(get_model))
        .route(
            &format!("{MODELS}/search"),
            get(search_models).post(search_models),
        )
        .route(&format!("{MODELS}/update"), patch(update_model))
        .route(&format!("{MODELS}/rename"), post(rename_model))
        .route(&format!("{MODELS}/delete"), delete(delete_model))
        .route(&format!("{MODELS}/set-tag"), post(set_model_tag))
        .route(&format!("{MODELS}/delete-tag"), delete(delete_model_tag))
        .route(
            &format!("{MODELS}/alias"),
            post(set_alias).get(get_by_alias).delete(delete_alias),
        )
        .route(
            &format!("{MODELS}/get-latest-versions"),
            post(latest_versions).get(latest_versions),
        )
        .route(&format!("{VERSIONS}/create"), post(create_version))
        .route(&format!("{VERSIONS}/get"), get(get_version))
        .route(
            &format!("{VERSIONS}/search"),
            get(search_versions).post(search_versions),
        )
        .route(&format!("{VERSIONS}/update"), patch(update_version))
        .route(&format!("{VERSIONS}/delete"), delete(delete_version))
        .route(&format!("{VERSIONS}/set-tag"), post(set_version_tag))
        .route(
            &format!("{VERSIONS}/delete-tag"),
            delete(delete_version_tag),
        )
        .route(
            &format!("{VERSIONS}/transition-stage"),
            post(transition_stage),
        )
        .route(&format!("{VERSIONS}/get-download-uri"), get(download_uri))
}

fn model_response(model: judgeflow_domain::RegisteredModel) -> Json<Value> {
    Json(json!({ "registered_model": RegisteredModel::from(model) }))
}

fn version_response(version: judgeflow_domain::ModelVersion) -> Json<Value> {
    Json(json!({ "model_version": ModelVersion::from(version) }))
}

/// The `version` field: required, and an integer in a string.
fn version(value: Option<&str>) -> ApiResult<i64> {
    Ok(parse_version(required(value, "version")?)?)
}

fn stage(value: &str) -> ApiResult<ModelStage> {
    ModelStage::parse(value).ok_or_else(|| {
        ApiError::InvalidParameter(format!(
            "Invalid Model Version stage: {value}. Value must be one of None, Staging, \
             Production, Archived."
        ))
    })
}

fn tag(request: &RegistryTagRequest) -> ApiResult<Tag> {
    let key = required(request.key.as_deref(), "key")?;
    let value = request
        .value
        .as_deref()
        .ok_or_else(|| ApiError::missing("value"))?;
    Ok(Tag::new(key, value))
}

fn registry_query(
    request: &SearchRegistryRequest,
    grammar: &Grammar,
    default_max: i64,
    limit: i64,
) -> ApiResult<RegistryQuery> {
    Ok(RegistryQuery {
        filter: parse_filter(request.filter.as_deref().unwrap_or(""), grammar)?,
        order_by: request
            .order_by
            .iter()
            .filter(|o| !o.trim().is_empty())
            .map(|o| parse_order_by(o, grammar))
            .collect::<Result<_, _>>()?,
        max_results: max_results(request.max_results, default_max, limit)?,
        page_token: page_token(request.page_token.as_deref())?,
    })
}

// ---- registered models ----

async fn create_model(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<CreateRegisteredModelRequest>,
) -> ApiResult<Json<Value>> {
    let name = required(request.name.as_deref(), "name")?.to_owned();
    let model = state
        .store
        .create_registered_model(NewRegisteredModel {
            name,
            description: request.description,
            tags: request.tags.into_iter().map(KeyValue::into_tag).collect(),
        })
        .await?;
    Ok(model_response(model))
}

async fn get_model(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<RegisteredModelRequest>,
) -> ApiResult<Json<Value>> {
    let name = required(request.name.as_deref(), "name")?;
    Ok(model_response(
        state.store.get_registered_model(name).await?,
    ))
}

async fn search_models(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<SearchRegistryRequest>,
) -> ApiResult<Json<super::Body<Vec<RegisteredModel>>>> {
    let query = registry_query(
        &request,
        &search::REGISTERED_MODELS,
        100,
        MAX_REGISTERED_MODELS_PER_PAGE,
    )?;
    let page = state.store.search_registered_models(&query).await?;
    Ok(super::page(
        "registered_models",
        page.items.into_iter().map(RegisteredModel::from).collect(),
        page.next_page_token,
    ))
}

async fn update_model(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<RegisteredModelRequest>,
) -> ApiResult<Json<Value>> {
    let name = required(request.name.as_deref(), "name")?;
    Ok(model_response(
        state
            .store
            .update_registered_model(name, request.description)
            .await?,
    ))
}

async fn rename_model(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<RegisteredModelRequest>,
) -> ApiResult<Json<Value>> {
    let name = required(request.name.as_deref(), "name")?;
    let new_name = required(request.new_name.as_deref(), "new_name")?;
    Ok(model_response(
        state.store.rename_registered_model(name, new_name).await?,
    ))
}

async fn delete_model(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<RegisteredModelRequest>,
) -> ApiResult<Json<Value>> {
    let name = required(request.name.as_deref(), "name")?;
    state.store.delete_registered_model(name).await?;
    Ok(empty())
}

async fn set_model_tag(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<RegistryTagRequest>,
) -> ApiResult<Json<Value>> {
    let name = required(request.name.as_deref(), "name")?;
    state
        .store
        .set_registered_model_tag(name, tag(&request)?)
        .await?;
    Ok(empty())
}

async fn delete_model_tag(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<RegistryTagRequest>,
) -> ApiResult<Json<Value>> {
    let name = required(request.name.as_deref(), "name")?;
    let key = required(request.key.as_deref(), "key")?;
    state.store.delete_registered_model_tag(name, key).await?;
    Ok(empty())
}

async fn set_alias(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<RegistryTagRequest>,
) -> ApiResult<Json<Value>> {
    let name = required(request.name.as_deref(), "name")?;
    let alias = required(request.alias.as_deref(), "alias")?;
    let version = version(request.version.as_deref())?;
    state
        .store
        .set_registered_model_alias(name, alias, version)
        .await?;
    Ok(empty())
}

async fn get_by_alias(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<RegistryTagRequest>,
) -> ApiResult<Json<Value>> {
    let name = required(request.name.as_deref(), "name")?;
    let alias = required(request.alias.as_deref(), "alias")?;
    Ok(version_response(
        state.store.get_model_version_by_alias(name, alias).await?,
    ))
}

async fn delete_alias(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<RegistryTagRequest>,
) -> ApiResult<Json<Value>> {
    let name = required(request.name.as_deref(), "name")?;
    let alias = required(request.alias.as_deref(), "alias")?;
    state
        .store
        .delete_registered_model_alias(name, alias)
        .await?;
    Ok(empty())
}

async fn latest_versions(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<RegisteredModelRequest>,
) -> ApiResult<Json<Value>> {
    let name = required(request.name.as_deref(), "name")?;
    let stages = request
        .stages
        .iter()
        .map(|s| stage(s))
        .collect::<ApiResult<Vec<_>>>()?;
    let versions = state.store.get_latest_versions(name, &stages).await?;
    let mut body = json!({});
    if !versions.is_empty() {
        body["model_versions"] = json!(
            versions
                .into_iter()
                .map(ModelVersion::from)
                .collect::<Vec<_>>()
        );
    }
    Ok(Json(body))
}

// ---- model versions ----

async fn create_version(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<CreateModelVersionRequest>,
) -> ApiResult<Json<Value>> {
    let name = required(request.name.as_deref(), "name")?.to_owned();
    let source = required(request.source.as_deref(), "source")?.to_owned();
    let version = state
        .store
        .create_model_version(NewModelVersion {
            name,
            source,
            run_id: request.run_id,
            run_link: request.run_link,
            description: request.description,
            model_id: request.model_id,
            tags: request.tags.into_iter().map(KeyValue::into_tag).collect(),
        })
        .await?;
    Ok(version_response(version))
}

async fn get_version(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<ModelVersionRequest>,
) -> ApiResult<Json<Value>> {
    let name = required(request.name.as_deref(), "name")?;
    let version = version(request.version.as_deref())?;
    Ok(version_response(
        state.store.get_model_version(name, version).await?,
    ))
}

async fn search_versions(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<SearchRegistryRequest>,
) -> ApiResult<Json<super::Body<Vec<ModelVersion>>>> {
    let query = registry_query(
        &request,
        &search::MODEL_VERSIONS,
        10_000,
        MAX_MODEL_VERSIONS_PER_PAGE,
    )?;
    let page = state.store.search_model_versions(&query).await?;
    Ok(super::page(
        "model_versions",
        page.items.into_iter().map(ModelVersion::from).collect(),
        page.next_page_token,
    ))
}

async fn update_version(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<ModelVersionRequest>,
) -> ApiResult<Json<Value>> {
    let name = required(request.name.as_deref(), "name")?;
    let version = version(request.version.as_deref())?;
    Ok(version_response(
        state
            .store
            .update_model_version(name, version, request.description)
            .await?,
    ))
}

async fn delete_version(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<ModelVersionRequest>,
) -> ApiResult<Json<Value>> {
    let name = required(request.name.as_deref(), "name")?;
    let version = version(request.version.as_deref())?;
    state.store.delete_model_version(name, version).await?;
    Ok(empty())
}

async fn set_version_tag(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<RegistryTagRequest>,
) -> ApiResult<Json<Value>> {
    let name = required(request.name.as_deref(), "name")?;
    let version = version(request.version.as_deref())?;
    state
        .store
        .set_model_version_tag(name, version, tag(&request)?)
        .await?;
    Ok(empty())
}

async fn delete_version_tag(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<RegistryTagRequest>,
) -> ApiResult<Json<Value>> {
    let name = required(request.name.as_deref(), "name")?;
    let version = version(request.version.as_deref())?;
    let key = required(request.key.as_deref(), "key")?;
    state
        .store
        .delete_model_version_tag(name, version, key)
        .await?;
    Ok(empty())
}

async fn transition_stage(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<ModelVersionRequest>,
) -> ApiResult<Json<Value>> {
    let name = required(request.name.as_deref(), "name")?;
    let version = version(request.version.as_deref())?;
    let target = stage(required(request.stage.as_deref(), "stage")?)?;
    Ok(version_response(
        state
            .store
            .transition_model_version_stage(
                name,
                version,
                target,
                request.archive_existing_versions.unwrap_or(false),
            )
            .await?,
    ))
}

async fn download_uri(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<ModelVersionRequest>,
) -> ApiResult<Json<Value>> {
    let name = required(request.name.as_deref(), "name")?;
    let version = version(request.version.as_deref())?;
    let uri = state
        .store
        .get_model_version_download_uri(name, version)
        .await?;
    Ok(Json(json!({ "artifact_uri": uri })))
}
