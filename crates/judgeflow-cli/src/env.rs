//! Every environment variable the binary reads, in one place.

pub const BACKEND_STORE_URI: &str = "JUDGEFLOW_BACKEND_STORE_URI";
pub const ARTIFACTS_DESTINATION: &str = "JUDGEFLOW_ARTIFACTS_DESTINATION";
pub const HOST: &str = "JUDGEFLOW_HOST";
pub const PORT: &str = "JUDGEFLOW_PORT";
pub const LOG: &str = "JUDGEFLOW_LOG";
pub const TRACKING_URI: &str = "JUDGEFLOW_TRACKING_URI";
/// MLflow's own name, honoured after ours so an MLflow setup works unchanged.
pub const MLFLOW_TRACKING_URI: &str = "MLFLOW_TRACKING_URI";
/// The call cache's SQLite file (`--cache-db`).
pub const CACHE_DB: &str = "JUDGEFLOW_CACHE_DB";
/// Where the default call cache lives for `http://` tracking URIs (then `HOME/.cache`).
pub const XDG_CACHE_HOME: &str = "XDG_CACHE_HOME";
pub const HOME: &str = "HOME";
/// A tracking server's credentials, as the `mlflow` client reads them: Basic when a username
/// and password are set, else a Bearer token.
pub const MLFLOW_TRACKING_USERNAME: &str = "MLFLOW_TRACKING_USERNAME";
pub const MLFLOW_TRACKING_PASSWORD: &str = "MLFLOW_TRACKING_PASSWORD";
pub const MLFLOW_TRACKING_TOKEN: &str = "MLFLOW_TRACKING_TOKEN";
/// Retries of a failed request to a tracking server (transient failures only).
pub const MLFLOW_HTTP_REQUEST_MAX_RETRIES: &str = "MLFLOW_HTTP_REQUEST_MAX_RETRIES";
/// Seconds: the first retry's backoff ceiling, doubled for each further retry.
pub const MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: &str = "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR";
/// Seconds one request to a tracking server may take.
pub const MLFLOW_HTTP_REQUEST_TIMEOUT: &str = "MLFLOW_HTTP_REQUEST_TIMEOUT";
