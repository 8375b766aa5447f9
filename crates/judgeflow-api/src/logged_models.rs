//! Logged models (MLflow 3) on the wire.

use judgeflow_domain as domain;
use serde::{Deserialize, Serialize};

use crate::de::{lenient_opt_bool, lenient_opt_i64, lenient_opt_string, one_or_many};
use crate::{KeyValue, Metric};

#[derive(Debug, Default, Deserialize)]
pub struct CreateLoggedModelRequest {
    #[serde(default, deserialize_with = "lenient_opt_string")]
    pub experiment_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub model_type: Option<String>,
    #[serde(default)]
    pub source_run_id: Option<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub params: Vec<KeyValue>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub tags: Vec<KeyValue>,
}

#[derive(Debug, Default, Deserialize)]
pub struct FinalizeLoggedModelRequest {
    #[serde(default)]
    pub model_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_opt_string")]
    pub status: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct LoggedModelEntriesRequest {
    #[serde(default, deserialize_with = "one_or_many")]
    pub tags: Vec<KeyValue>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub params: Vec<KeyValue>,
}

#[derive(Debug, Default, Deserialize)]
pub struct LoggedModelOrderWire {
    #[serde(default)]
    pub field_name: Option<String>,
    #[serde(default, deserialize_with = "lenient_opt_bool")]
    pub ascending: Option<bool>,
    #[serde(default)]
    pub dataset_name: Option<String>,
    #[serde(default)]
    pub dataset_digest: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct SearchLoggedModelsRequest {
    #[serde(default, deserialize_with = "one_or_many")]
    pub experiment_ids: Vec<String>,
    #[serde(default)]
    pub filter: Option<String>,
    #[serde(default, deserialize_with = "lenient_opt_i64")]
    pub max_results: Option<i64>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub order_by: Vec<LoggedModelOrderWire>,
    #[serde(default)]
    pub page_token: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct LoggedModelInfo {
    pub model_id: String,
    pub experiment_id: String,
    pub name: String,
    pub creation_timestamp_ms: i64,
    pub last_updated_timestamp_ms: i64,
    pub artifact_uri: String,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_run_id: Option<String>,
    pub tags: Vec<KeyValue>,
}

#[derive(Debug, Serialize)]
pub struct LoggedModelData {
    pub params: Vec<KeyValue>,
    pub metrics: Vec<Metric>,
}

#[derive(Debug, Serialize)]
pub struct LoggedModel {
    pub info: LoggedModelInfo,
    pub data: LoggedModelData,
}

impl From<domain::LoggedModel> for LoggedModel {
    fn from(m: domain::LoggedModel) -> Self {
        Self {
            info: LoggedModelInfo {
                model_id: m.model_id,
                experiment_id: m.experiment_id,
                name: m.name,
                creation_timestamp_ms: m.creation_timestamp_ms,
                last_updated_timestamp_ms: m.last_updated_timestamp_ms,
                artifact_uri: m.artifact_uri,
                status: m.status.as_str(),
                status_message: m.status_message,
                model_type: m.model_type,
                source_run_id: m.source_run_id,
                tags: m.tags.into_iter().map(KeyValue::from).collect(),
            },
            data: LoggedModelData {
                params: m.params.into_iter().map(KeyValue::from).collect(),
                metrics: m.metrics.into_iter().map(Metric::from).collect(),
            },
        }
    }
}
