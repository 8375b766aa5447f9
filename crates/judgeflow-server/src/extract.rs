//! Request extraction in MLflow's conventions: GET (and body-less DELETE) read the query string
//! with repeated keys and Python-style booleans; other methods read a JSON body. Every failure
//! is an [`ApiError`] in MLflow's JSON shape, never axum's plain-text rejection.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{Method, header};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The request message of an MLflow endpoint.
pub struct Mlflow<T>(pub T);

fn from_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    serde_html_form::from_str(query)
        .map_err(|e| ApiError::InvalidParameter(format!("Invalid query string: {e}")))
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Mlflow<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let query = request.uri().query().unwrap_or("").to_owned();
        if request.method() == Method::GET {
            return from_query(&query).map(Mlflow);
        }
        let declared_non_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|value| !is_json_content_type(value.to_str().unwrap_or("")));
        let bytes =
            Bytes::from_request(request, state)
                .await
                .map_err(|rejection| match rejection {
                    BytesRejection::FailedToBufferBody(e)
                        if e.to_string().contains("length limit") =>
                    {
                        ApiError::PayloadTooLarge("Request body is too large".into())
                    }
                    other => {
                        ApiError::BadRequest(format!("Could not read the request body: {other}"))
                    }
                })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            // DELETEs and bare POSTs may carry their fields in the query string instead.
            return from_query(&query).map(Mlflow);
        }
        if declared_non_json {
            // As MLflow: a body is only read as JSON when it says it is JSON.
            return Err(ApiError::InvalidParameter(
                "Bad Request. Content-Type must be one of ['application/json'].".into(),
            ));
        }
        serde_json::from_slice(&bytes)
            .map(Mlflow)
            .map_err(|e| match e.classify() {
                serde_json::error::Category::Data => {
                    ApiError::InvalidParameter(format!("Invalid request body: {e}"))
                }
                _ => ApiError::BadRequest(format!("Malformed JSON in the request body: {e}")),
            })
    }
}

/// `application/json`, with or without parameters (`; charset=utf-8`).
fn is_json_content_type(value: &str) -> bool {
    value
        .split(';')
        .next()
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}
