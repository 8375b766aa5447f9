//! The one table from errors to (HTTP status, MLflow `error_code`). Handlers return
//! `Result<_, ApiError>` and use `?`; internal details are logged here and never sent.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use judgeflow_artifacts::ArtifactError;
use judgeflow_domain::DomainError;
use judgeflow_domain::search::SearchError;
use judgeflow_store::StoreError;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    InvalidParameter(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    EndpointNotFound(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    NotImplemented(String),
    /// Our failure. The text goes to the log only.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    /// `Missing value for required parameter 'name'`.
    #[must_use]
    pub fn missing(parameter: &str) -> Self {
        Self::InvalidParameter(format!(
            "Missing value for required parameter '{parameter}'. See the API docs for more information about request parameters."
        ))
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::InvalidParameter(_) => (StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE"),
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "BAD_REQUEST"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST"),
            Self::AlreadyExists(_) => (StatusCode::BAD_REQUEST, "RESOURCE_ALREADY_EXISTS"),
            Self::EndpointNotFound(_) => (StatusCode::NOT_FOUND, "ENDPOINT_NOT_FOUND"),
            // Not 429 RESOURCE_EXHAUSTED: the client would retry an oversized body for minutes.
            Self::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "BAD_REQUEST"),
            Self::NotImplemented(_) => (StatusCode::NOT_IMPLEMENTED, "NOT_IMPLEMENTED"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = match &self {
            Self::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                "An internal error occurred; see the server log for details.".to_owned()
            }
            other => other.to_string(),
        };
        (
            status,
            Json(json!({ "error_code": code, "message": message })),
        )
            .into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(m) => Self::NotFound(m),
            StoreError::AlreadyExists(m) => Self::AlreadyExists(m),
            StoreError::InvalidParameter(m) | StoreError::InvalidState(m) => {
                Self::InvalidParameter(m)
            }
            StoreError::Internal(m) => Self::Internal(m),
        }
    }
}

impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        Self::InvalidParameter(error.to_string())
    }
}

impl From<SearchError> for ApiError {
    fn from(error: SearchError) -> Self {
        Self::InvalidParameter(error.to_string())
    }
}

impl From<ArtifactError> for ApiError {
    fn from(error: ArtifactError) -> Self {
        match error {
            ArtifactError::InvalidPath(_) => Self::InvalidParameter("Invalid path".into()),
            ArtifactError::NotFound(path) => Self::NotFound(format!("No such artifact: '{path}'")),
            ArtifactError::Body(m) if m.contains("length limit") => Self::PayloadTooLarge(m),
            ArtifactError::Body(m) => {
                Self::BadRequest(format!("Could not read the request body: {m}"))
            }
            ArtifactError::Internal(m) => Self::Internal(m),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
