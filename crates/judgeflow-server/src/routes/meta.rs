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

/// Judgeflow's own version. Clients compare it with 3.4 to decide whether to send OTLP spans;
/// until `/v1/traces` exists, a version below that keeps them on the artifact path.
async fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
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
