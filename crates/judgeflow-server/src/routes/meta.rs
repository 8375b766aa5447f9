//! Health, version and server-info.

use axum::Router;
use axum::routing::get;
use serde_json::json;

use crate::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(|| async { "OK" }))
        .route("/version", get(version))
}

pub(crate) fn api_router() -> Router<AppState> {
    Router::new().route("/3.0/mlflow/server-info", get(server_info))
}

/// The MLflow server version whose API Judgeflow serves. Clients read it to pick features:
/// from 3.4 on they send spans to `/v1/traces` (which Judgeflow stores) instead of uploading
/// `traces.json` artifacts.
pub const MLFLOW_API_VERSION: &str = "3.17.2";

async fn version() -> &'static str {
    MLFLOW_API_VERSION
}

async fn server_info() -> axum::Json<serde_json::Value> {
    axum::Json(json!({
        "store_type": "SqlStore",
        "workspaces_enabled": false,
        "multipart_uploads_enabled": false,
        "multipart_downloads_enabled": false,
        "artifacts_presigned_only": false,
    }))
}
