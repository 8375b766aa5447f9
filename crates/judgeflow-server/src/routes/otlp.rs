//! `POST /v1/traces`: OTLP/HTTP span ingest, routed to an experiment by the
//! `x-mlflow-experiment-id` header. Protobuf or OTLP JSON, optionally gzip- or
//! deflate-compressed. A batch is stored in one transaction: all of it or none.
//!
//! Statuses follow MLflow's server: 400 for a bad content type or body, 422 for a missing
//! header or a span that cannot be converted, 413 for a body over the limit (compressed or
//! not), 404 for an unknown experiment.

use std::io::Read as _;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use judgeflow_api::{OtlpError, decode_json, decode_protobuf, span_records};
use serde_json::json;

use crate::AppState;
use crate::error::ApiError;

pub(crate) const EXPERIMENT_HEADER: &str = "x-mlflow-experiment-id";

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/v1/traces", post(export))
}

fn unprocessable(message: impl Into<String>) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        axum::Json(json!({"error_code": "INVALID_PARAMETER_VALUE", "message": message.into()})),
    )
        .into_response()
}

/// Inflates `body` with `decoder`, refusing more than `limit` bytes of output (a small
/// compressed body may expand enormously).
fn inflate(decoder: impl std::io::Read, limit: usize) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::new();
    decoder
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| ApiError::BadRequest(format!("Could not decompress the request body: {e}")))?;
    if out.len() > limit {
        return Err(ApiError::PayloadTooLarge(format!(
            "The decompressed request body exceeds {limit} bytes"
        )));
    }
    Ok(out)
}

async fn export(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match ingest(&state, &headers, &body).await {
        // An empty ExportTraceServiceResponse: zero bytes of protobuf.
        Ok(()) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/x-protobuf")],
            Bytes::new(),
        )
            .into_response(),
        Err(Rejection::Unprocessable(message)) => unprocessable(message),
        Err(Rejection::Api(error)) => error.into_response(),
    }
}

enum Rejection {
    Unprocessable(String),
    Api(ApiError),
}

impl From<ApiError> for Rejection {
    fn from(error: ApiError) -> Self {
        Self::Api(error)
    }
}

async fn ingest(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<(), Rejection> {
    let header_text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let media = header_text(header::CONTENT_TYPE.as_str())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    let is_json = match media.as_deref() {
        Some("application/x-protobuf" | "application/protobuf") => false,
        Some("application/json") => true,
        other => {
            return Err(ApiError::BadRequest(format!(
                "Invalid Content-Type: {}. Expected: application/x-protobuf or application/json",
                other.unwrap_or("none")
            ))
            .into());
        }
    };
    let experiment_id = header_text(EXPERIMENT_HEADER)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            Rejection::Unprocessable(format!("Missing required header '{EXPERIMENT_HEADER}'"))
        })?
        .to_owned();
    let limit = state.settings.max_json_body;
    let inflated;
    let body = match header_text(header::CONTENT_ENCODING.as_str())
        .map(|v| v.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("" | "identity") => body,
        Some("gzip") => {
            inflated = inflate(flate2::read::GzDecoder::new(body), limit)?;
            &inflated
        }
        Some("deflate") => {
            // HTTP's "deflate" is zlib-wrapped; some clients send raw deflate. Try both.
            inflated = match inflate(flate2::read::ZlibDecoder::new(body), limit) {
                Ok(bytes) => bytes,
                Err(ApiError::PayloadTooLarge(m)) => {
                    return Err(ApiError::PayloadTooLarge(m).into());
                }
                Err(_) => inflate(flate2::read::DeflateDecoder::new(body), limit)?,
            };
            &inflated
        }
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "Unsupported Content-Encoding '{other}': expected gzip or deflate"
            ))
            .into());
        }
    };
    let request = if is_json {
        decode_json(body)
    } else {
        decode_protobuf(body)
    };
    let spans =
        request
            .and_then(|request| span_records(&request))
            .map_err(|error| match error {
                OtlpError::Malformed(m) => Rejection::Api(ApiError::BadRequest(m)),
                OtlpError::Unconvertible(m) => Rejection::Unprocessable(m),
            })?;
    state
        .store
        .log_spans(&experiment_id, spans)
        .await
        .map_err(ApiError::from)?;
    Ok(())
}
