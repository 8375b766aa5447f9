//! Every environment variable the binary reads, in one place.

pub const BACKEND_STORE_URI: &str = "JUDGEFLOW_BACKEND_STORE_URI";
pub const ARTIFACTS_DESTINATION: &str = "JUDGEFLOW_ARTIFACTS_DESTINATION";
pub const HOST: &str = "JUDGEFLOW_HOST";
pub const PORT: &str = "JUDGEFLOW_PORT";
pub const LOG: &str = "JUDGEFLOW_LOG";
pub const TRACKING_URI: &str = "JUDGEFLOW_TRACKING_URI";
/// MLflow's own name, honoured after ours so an MLflow setup works unchanged.
pub const MLFLOW_TRACKING_URI: &str = "MLFLOW_TRACKING_URI";
