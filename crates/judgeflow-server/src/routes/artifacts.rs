//! The proxied artifact API (`/api/2.0/mlflow-artifacts/artifacts/...`): streamed upload and
//! download, one-level listing, delete. Paths are taken from the raw request URI and validated
//! by `ArtifactPath::parse`, so no decoding step of ours or axum's can smuggle `..` through.

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures::StreamExt;
use judgeflow_artifacts::{ArtifactEntry, ArtifactPath};
use serde::Deserialize;
use serde_json::{Value, json};

use super::required;
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::Mlflow;

const PREFIX: &str = "/2.0/mlflow-artifacts/artifacts";
/// How `mlflow-artifacts:` URIs handed out by this server begin.
const SCHEME: &str = "mlflow-artifacts:";

pub(crate) fn router() -> Router<AppState> {
    let files = Router::new()
        .route(PREFIX, get(list))
        .route(&format!("{PREFIX}/"), get(list))
        .route(
            &format!("{PREFIX}/{{*path}}"),
            get(download).put(upload).delete(remove),
        )
        .method_not_allowed_fallback(super::not_found);
    Router::new()
        .nest("/api", files.clone())
        .nest("/ajax-api", files)
}

/// The UI's run-scoped listing, under the API router.
pub(crate) fn run_listing_router() -> Router<AppState> {
    Router::new().route("/2.0/mlflow/artifacts/list", get(list_run_artifacts))
}

fn path_from_uri(uri: &Uri) -> ApiResult<ArtifactPath> {
    let raw = uri.path();
    let relative = raw.find(PREFIX).map_or("", |i| &raw[i + PREFIX.len()..]);
    Ok(ArtifactPath::parse(relative.trim_start_matches('/'))?)
}

async fn upload(State(state): State<AppState>, uri: Uri, body: Body) -> ApiResult<Json<Value>> {
    let path = path_from_uri(&uri)?;
    let limit = state.settings.max_artifact_upload;
    let mut received = 0_u64;
    let stream = body.into_data_stream().map(move |chunk| {
        let chunk = chunk.map_err(|e| e.to_string())?;
        received += chunk.len() as u64;
        if received > limit {
            return Err(format!("upload exceeds the length limit of {limit} bytes"));
        }
        Ok(chunk)
    });
    state.artifacts.put(&path, Box::pin(stream)).await?;
    Ok(Json(json!({})))
}

async fn download(State(state): State<AppState>, uri: Uri) -> ApiResult<Response> {
    let path = path_from_uri(&uri)?;
    let download = state.artifacts.get(&path).await?;
    let name = path.file_name().to_owned();
    let mime = mime_guess::from_path(&name).first_or_octet_stream();
    let disposition = format!(
        "attachment; filename=\"{}\"",
        name.replace(['"', '\\'], "_")
    );
    let mut response = Body::from_stream(download.stream).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(download.size));
    if let Ok(value) = HeaderValue::from_str(mime.as_ref()) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

async fn remove(State(state): State<AppState>, uri: Uri) -> ApiResult<Json<Value>> {
    let path = path_from_uri(&uri)?;
    state.artifacts.delete(&path).await?;
    Ok(Json(json!({})))
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    #[serde(default)]
    path: Option<String>,
}

fn entries_json(entries: Vec<ArtifactEntry>, prefix: &str) -> Vec<Value> {
    entries
        .into_iter()
        .map(|e| {
            let path = if prefix.is_empty() {
                e.path
            } else {
                format!("{prefix}/{}", e.path)
            };
            match e.file_size {
                Some(size) => json!({ "path": path, "is_dir": e.is_dir, "file_size": size }),
                None => json!({ "path": path, "is_dir": e.is_dir }),
            }
        })
        .collect()
}

async fn list(
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> ApiResult<Json<Value>> {
    let path = ArtifactPath::parse(query.path.as_deref().unwrap_or(""))?;
    let entries = state.artifacts.list(&path).await?;
    if entries.is_empty() {
        return Ok(Json(json!({})));
    }
    Ok(Json(json!({ "files": entries_json(entries, "") })))
}

#[derive(Debug, Default, Deserialize)]
struct RunListRequest {
    #[serde(default)]
    run_id: Option<String>,
    #[serde(default)]
    run_uuid: Option<String>,
    #[serde(default)]
    path: Option<String>,
}

/// `GET /2.0/mlflow/artifacts/list?run_id=&path=`: paths relative to the run's artifact root.
async fn list_run_artifacts(
    State(state): State<AppState>,
    Mlflow(request): Mlflow<RunListRequest>,
) -> ApiResult<Json<Value>> {
    let run_id = required(
        request.run_id.as_deref().or(request.run_uuid.as_deref()),
        "run_id",
    )?;
    let run = state.store.get_run(run_id).await?;
    let root_uri = run.info.artifact_uri;
    let Some(root) = root_uri.strip_prefix(SCHEME) else {
        return Err(ApiError::InvalidParameter(format!(
            "Run artifacts at '{root_uri}' are not served by this server"
        )));
    };
    let relative = ArtifactPath::parse(request.path.as_deref().unwrap_or(""))?;
    let full = ArtifactPath::parse(&format!("{}/{}", root.trim_matches('/'), relative.as_str()))?;
    let entries = state.artifacts.list(&full).await?;
    Ok(Json(
        json!({ "root_uri": root_uri, "files": entries_json(entries, relative.as_str()) }),
    ))
}
