//! Route tables. Each resource module exposes `router()`; paths are relative to `/api` and
//! `/ajax-api`, which both serve the same API.

pub(crate) mod artifacts;
mod datasets;
mod experiments;
mod logged_models;
pub(crate) mod meta;
pub(crate) mod otlp;
mod registry;
mod runs;
mod traces;

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
        .merge(traces::router())
        .merge(datasets::router())
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

/// A response body of one field (and, for pages, `next_page_token`), serialized straight from
/// the wire types: going through `serde_json::Value` first would build and sort a map for
/// every object of a large page before writing it.
pub(crate) struct Body<T> {
    field: &'static str,
    value: Option<T>,
    next_page_token: Option<String>,
}

impl<T: serde::Serialize> serde::Serialize for Body<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let len = usize::from(self.value.is_some()) + usize::from(self.next_page_token.is_some());
        let mut map = serializer.serialize_map(Some(len))?;
        if let Some(value) = &self.value {
            map.serialize_entry(self.field, value)?;
        }
        if let Some(token) = &self.next_page_token {
            map.serialize_entry("next_page_token", token)?;
        }
        map.end()
    }
}

/// `{"<field>": value}`.
pub(crate) fn one<T: serde::Serialize>(field: &'static str, value: T) -> axum::Json<Body<T>> {
    axum::Json(Body {
        field,
        value: Some(value),
        next_page_token: None,
    })
}

/// A page as MLflow answers it: the list omitted when empty (`{}` for no hits), the token only
/// when more pages exist.
pub(crate) fn page<T: serde::Serialize>(
    field: &'static str,
    items: Vec<T>,
    next_page_token: Option<String>,
) -> axum::Json<Body<Vec<T>>> {
    axum::Json(Body {
        field,
        value: (!items.is_empty()).then_some(items),
        next_page_token,
    })
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
