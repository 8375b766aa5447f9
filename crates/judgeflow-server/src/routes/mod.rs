//! Route tables. Each resource module exposes `router()`; paths are relative to `/api` and
//! `/ajax-api`, which both serve the same API.

pub(crate) mod artifacts;
mod experiments;
mod logged_models;
pub(crate) mod meta;
mod registry;
mod runs;

use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tower_http::timeout::TimeoutLayer;

use crate::AppState;
use crate::error::ApiError;

pub(crate) fn api_router(timeout: Duration) -> Router<AppState> {
    Router::new()
        .merge(experiments::router())
        .merge(runs::router())
        .merge(logged_models::router())
        .merge(registry::router())
        .merge(meta::api_router())
        .merge(artifacts::run_listing_router())
        // Unknown methods on known paths are 404 too: the client treats 404 (not 405) as
        // "endpoint not available" and falls back.
        .method_not_allowed_fallback(not_found)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
}

pub(crate) async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::EndpointNotFound(format!("No API endpoint for {}", uri.path()))
}

pub(crate) fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::Internal("handler panicked".into()).into_response()
}

/// `{}`: the body of MLflow's empty responses.
pub(crate) fn empty() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({}))
}

/// Checks `max_results` against MLflow's bounds, applying the endpoint's default.
pub(crate) fn max_results(
    requested: Option<i64>,
    default: i64,
    limit: i64,
) -> Result<usize, ApiError> {
    let value = requested.unwrap_or(default);
    judgeflow_domain::validation::validate_max_results(value, limit)?;
    Ok(value as usize)
}

/// A required string field.
pub(crate) fn required<'a>(value: Option<&'a str>, name: &str) -> Result<&'a str, ApiError> {
    value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::missing(name))
}
