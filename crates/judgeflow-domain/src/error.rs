//! Errors raised by validation and parsing; all of them are the caller's mistake.

use thiserror::Error;

/// A rule of the domain was broken by the input. Every variant is a client error.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DomainError {
    /// A field has a value MLflow would reject (`INVALID_PARAMETER_VALUE`).
    #[error("{0}")]
    InvalidParameter(String),
    /// A filter or order-by clause does not parse.
    #[error("{0}")]
    Search(#[from] crate::search::SearchError),
}

impl DomainError {
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidParameter(message.into())
    }
}
