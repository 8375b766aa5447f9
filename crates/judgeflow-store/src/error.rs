//! Store errors. The first four variants are the client's doing; `Internal` is ours.

use judgeflow_domain::DomainError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    InvalidParameter(String),
    /// The entity exists but is in a state that forbids the change (a deleted run, say).
    #[error("{0}")]
    InvalidState(String),
    /// A database or I/O failure. The text is for logs only, never for clients.
    #[error("internal storage error: {0}")]
    Internal(String),
}

impl StoreError {
    pub fn internal(error: impl std::fmt::Display) -> Self {
        Self::Internal(error.to_string())
    }

    #[must_use]
    pub fn is_client_error(&self) -> bool {
        !matches!(self, Self::Internal(_))
    }
}

impl From<DomainError> for StoreError {
    fn from(error: DomainError) -> Self {
        Self::InvalidParameter(error.to_string())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
