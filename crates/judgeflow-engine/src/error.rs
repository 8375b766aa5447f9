//! Engine errors. `Suite`, `Data` and `Config` are the user's to fix; `Store` and `Artifacts`
//! and `Server` are the sink's failures. Any of them fails the run itself (exit code 2), unlike a row's
//! error, which is recorded with the row.

use thiserror::Error;

use crate::suite::SuiteError;

#[derive(Debug, Error)]
pub enum EngineError {
    // Transparent: the message is the inner error's, said once (`{:#}` would print a
    // `"{0}"` wrapper and then its source again).
    #[error(transparent)]
    Suite(#[from] SuiteError),
    #[error(transparent)]
    Data(#[from] judgeflow_datafiles::DataError),
    /// A setting that cannot work (a missing API key, an unknown judge kind…).
    #[error("{0}")]
    Config(String),
    #[error("store: {0}")]
    Store(#[from] judgeflow_store::StoreError),
    /// A tracking server's failure or refusal (`RestSink`), naming endpoint and error code.
    #[error(transparent)]
    Server(#[from] crate::rest_client::RestError),
    #[error("artifacts: {0}")]
    Artifacts(String),
    /// `--resume` of a run that is not this suite's evaluation run.
    #[error("{0}")]
    Resume(String),
}
