//! Experiments, runs, metrics and inputs on the wire.

use judgeflow_domain as domain;
use serde::{Deserialize, Serialize};

use crate::KeyValue;
use crate::de::{lenient_opt_f64, lenient_opt_i64, lenient_opt_string, mlflow_f64, one_or_many};

// ---------------------------------------------------------------- requests

#[derive(Debug, Default, Deserialize)]
pub struct CreateExperimentRequest {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub artifact_location: Option<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub tags: Vec<KeyValue>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ExperimentIdRequest {
    #[serde(default, deserialize_with = "lenient_opt_string")]
    pub experiment_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ExperimentByNameRequest {
    #[serde(default)]
    pub experiment_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct SearchExperimentsRequest {
    #[serde(default, deserialize_with = "lenient_opt_i64")]
    pub max_results: Option<i64>,
    #[serde(default)]
    pub page_token: Option<String>,
    #[serde(default)]
    pub filter: Option<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub order_by: Vec<String>,
    #[serde(default, deserialize_with = "lenient_opt_string")]
    pub view_type: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct UpdateExperimentRequest {
    #[serde(default, deserialize_with = "lenient_opt_string")]
    pub experiment_id: Option<String>,
    #[serde(default)]
    pub new_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ExperimentTagRequest {
    #[serde(default, deserialize_with = "lenient_opt_string")]
    pub experiment_id: Option<String>,
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default, deserialize_with = "lenient_opt_string")]
    pub value: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct CreateRunRequest {
    #[serde(default, deserialize_with = "lenient_opt_string")]
    pub experiment_id: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub run_name: Option<String>,
    #[serde(default, deserialize_with = "lenient_opt_i64")]
    pub start_time: Option<i64>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub tags: Vec<KeyValue>,
}

/// Any request naming a run. The client sends both `run_id` and its legacy twin `run_uuid`.
#[derive(Debug, Default, Deserialize)]
pub struct RunIdRequest {
    #[serde(default)]
    pub run_id: Option<String>,
    #[serde(default)]
    pub run_uuid: Option<String>,
}

impl RunIdRequest {
    #[must_use]
    pub fn id(&self) -> Option<&str> {
        pick_run_id(self.run_id.as_deref(), self.run_uuid.as_deref())
    }
}

fn pick_run_id<'a>(run_id: Option<&'a str>, run_uuid: Option<&'a str>) -> Option<&'a str> {
    run_id
        .filter(|s| !s.is_empty())
        .or(run_uuid.filter(|s| !s.is_empty()))
}

#[derive(Debug, Default, Deserialize)]
pub struct UpdateRunRequest {
    #[serde(default)]
    pub run_id: Option<String>,
    #[serde(default)]
    pub run_uuid: Option<String>,
    #[serde(default, deserialize_with = "lenient_opt_string")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "lenient_opt_i64")]
    pub end_time: Option<i64>,
    #[serde(default)]
    pub run_name: Option<String>,
}

impl UpdateRunRequest {
    #[must_use]
    pub fn id(&self) -> Option<&str> {
        pick_run_id(self.run_id.as_deref(), self.run_uuid.as_deref())
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct MetricRequest {
    #[serde(default)]
    pub run_id: Option<String>,
    #[serde(default)]
    pub run_uuid: Option<String>,
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default, deserialize_with = "lenient_opt_f64")]
    pub value: Option<f64>,
    #[serde(default, deserialize_with = "lenient_opt_i64")]
    pub timestamp: Option<i64>,
    #[serde(default, deserialize_with = "lenient_opt_i64")]
    pub step: Option<i64>,
    #[serde(default)]
    pub model_id: Option<String>,
    #[serde(default)]
    pub dataset_name: Option<String>,
    #[serde(default)]
    pub dataset_digest: Option<String>,
}

impl MetricRequest {
    #[must_use]
    pub fn id(&self) -> Option<&str> {
        pick_run_id(self.run_id.as_deref(), self.run_uuid.as_deref())
    }

    /// The domain metric, or the name of the first missing required field.
    pub fn into_metric(self) -> Result<domain::Metric, &'static str> {
        let key = self.key.filter(|k| !k.is_empty()).ok_or("key")?;
        let value = self.value.ok_or("value")?;
        let timestamp = self.timestamp.ok_or("timestamp")?;
        Ok(domain::Metric {
            key,
            value,
            timestamp,
            step: self.step.unwrap_or(0),
            run_id: None,
            model_id: self.model_id.filter(|s| !s.is_empty()),
            dataset_name: self.dataset_name.filter(|s| !s.is_empty()),
            dataset_digest: self.dataset_digest.filter(|s| !s.is_empty()),
        })
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct KeyValueRunRequest {
    #[serde(default)]
    pub run_id: Option<String>,
    #[serde(default)]
    pub run_uuid: Option<String>,
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default, deserialize_with = "lenient_opt_string")]
    pub value: Option<String>,
}

impl KeyValueRunRequest {
    #[must_use]
    pub fn id(&self) -> Option<&str> {
        pick_run_id(self.run_id.as_deref(), self.run_uuid.as_deref())
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct LogBatchRequest {
    #[serde(default)]
    pub run_id: Option<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub metrics: Vec<MetricRequest>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub params: Vec<KeyValue>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub tags: Vec<KeyValue>,
}

#[derive(Debug, Default, Deserialize)]
pub struct DatasetWire {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub digest: Option<String>,
    #[serde(default)]
    pub source_type: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub schema: Option<String>,
    #[serde(default)]
    pub profile: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct DatasetInputRequest {
    #[serde(default, deserialize_with = "one_or_many")]
    pub tags: Vec<KeyValue>,
    #[serde(default)]
    pub dataset: Option<DatasetWire>,
}

impl DatasetInputRequest {
    /// The domain input, or the name of the first missing required field.
    pub fn into_domain(self) -> Result<domain::DatasetInput, &'static str> {
        let dataset = self.dataset.ok_or("dataset")?;
        Ok(domain::DatasetInput {
            tags: self.tags.into_iter().map(KeyValue::into_tag).collect(),
            dataset: domain::Dataset {
                name: dataset
                    .name
                    .filter(|s| !s.is_empty())
                    .ok_or("dataset.name")?,
                digest: dataset
                    .digest
                    .filter(|s| !s.is_empty())
                    .ok_or("dataset.digest")?,
                source_type: dataset
                    .source_type
                    .filter(|s| !s.is_empty())
                    .ok_or("dataset.source_type")?,
                source: dataset.source.ok_or("dataset.source")?,
                schema: dataset.schema,
                profile: dataset.profile,
            },
        })
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ModelRef {
    #[serde(default)]
    pub model_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_opt_i64")]
    pub step: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
pub struct LogInputsRequest {
    #[serde(default)]
    pub run_id: Option<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub datasets: Vec<DatasetInputRequest>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub models: Vec<ModelRef>,
}

#[derive(Debug, Default, Deserialize)]
pub struct LogOutputsRequest {
    #[serde(default)]
    pub run_id: Option<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub models: Vec<ModelRef>,
}

#[derive(Debug, Default, Deserialize)]
pub struct SearchRunsRequest {
    #[serde(default, deserialize_with = "one_or_many")]
    pub experiment_ids: Vec<String>,
    #[serde(default)]
    pub filter: Option<String>,
    #[serde(default, deserialize_with = "lenient_opt_string")]
    pub run_view_type: Option<String>,
    #[serde(default, deserialize_with = "lenient_opt_i64")]
    pub max_results: Option<i64>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub order_by: Vec<String>,
    #[serde(default)]
    pub page_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct MetricHistoryRequest {
    #[serde(default)]
    pub run_id: Option<String>,
    #[serde(default)]
    pub run_uuid: Option<String>,
    #[serde(default)]
    pub metric_key: Option<String>,
    #[serde(default, deserialize_with = "lenient_opt_i64")]
    pub max_results: Option<i64>,
    #[serde(default)]
    pub page_token: Option<String>,
}

impl MetricHistoryRequest {
    #[must_use]
    pub fn id(&self) -> Option<&str> {
        pick_run_id(self.run_id.as_deref(), self.run_uuid.as_deref())
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct MetricIntervalRequest {
    #[serde(default, deserialize_with = "one_or_many")]
    pub run_ids: Vec<String>,
    #[serde(default)]
    pub metric_key: Option<String>,
    #[serde(default, deserialize_with = "lenient_opt_i64")]
    pub start_step: Option<i64>,
    #[serde(default, deserialize_with = "lenient_opt_i64")]
    pub end_step: Option<i64>,
    #[serde(default, deserialize_with = "lenient_opt_i64")]
    pub max_results: Option<i64>,
}

// ---------------------------------------------------------------- responses

#[derive(Debug, Serialize)]
pub struct Experiment {
    pub experiment_id: String,
    pub name: String,
    pub artifact_location: String,
    pub lifecycle_stage: &'static str,
    pub last_update_time: i64,
    pub creation_time: i64,
    pub tags: Vec<KeyValue>,
}

impl From<domain::Experiment> for Experiment {
    fn from(e: domain::Experiment) -> Self {
        Self {
            experiment_id: e.experiment_id,
            name: e.name,
            artifact_location: e.artifact_location,
            lifecycle_stage: e.lifecycle_stage.as_str(),
            last_update_time: e.last_update_time,
            creation_time: e.creation_time,
            tags: e.tags.into_iter().map(KeyValue::from).collect(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct RunInfo {
    pub run_id: String,
    pub run_uuid: String,
    pub run_name: String,
    pub experiment_id: String,
    pub user_id: String,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<i64>,
    pub artifact_uri: String,
    pub lifecycle_stage: &'static str,
}

impl From<domain::RunInfo> for RunInfo {
    fn from(i: domain::RunInfo) -> Self {
        Self {
            run_uuid: i.run_id.clone(),
            run_id: i.run_id,
            run_name: i.run_name,
            experiment_id: i.experiment_id,
            user_id: i.user_id,
            status: i.status.as_str(),
            start_time: i.start_time,
            end_time: i.end_time,
            artifact_uri: i.artifact_uri,
            lifecycle_stage: i.lifecycle_stage.as_str(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Metric {
    pub key: String,
    #[serde(serialize_with = "mlflow_f64")]
    pub value: f64,
    pub timestamp: i64,
    pub step: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dataset_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dataset_digest: Option<String>,
}

impl From<domain::Metric> for Metric {
    fn from(m: domain::Metric) -> Self {
        Self {
            key: m.key,
            value: m.value,
            timestamp: m.timestamp,
            step: m.step,
            run_id: m.run_id,
            model_id: m.model_id,
            dataset_name: m.dataset_name,
            dataset_digest: m.dataset_digest,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct RunData {
    pub metrics: Vec<Metric>,
    pub params: Vec<KeyValue>,
    pub tags: Vec<KeyValue>,
}

#[derive(Debug, Serialize)]
pub struct Dataset {
    pub name: String,
    pub digest: String,
    pub source_type: String,
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct DatasetInput {
    pub tags: Vec<KeyValue>,
    pub dataset: Dataset,
}

#[derive(Debug, Serialize)]
pub struct ModelInput {
    pub model_id: String,
}

#[derive(Debug, Serialize)]
pub struct ModelOutput {
    pub model_id: String,
    pub step: i64,
}

#[derive(Debug, Serialize)]
pub struct RunInputs {
    pub dataset_inputs: Vec<DatasetInput>,
    pub model_inputs: Vec<ModelInput>,
}

#[derive(Debug, Serialize)]
pub struct RunOutputs {
    pub model_outputs: Vec<ModelOutput>,
}

#[derive(Debug, Serialize)]
pub struct Run {
    pub info: RunInfo,
    pub data: RunData,
    pub inputs: RunInputs,
    pub outputs: RunOutputs,
}

impl From<domain::Run> for Run {
    fn from(r: domain::Run) -> Self {
        Self {
            info: r.info.into(),
            data: RunData {
                metrics: r.data.metrics.into_iter().map(Metric::from).collect(),
                params: r.data.params.into_iter().map(KeyValue::from).collect(),
                tags: r.data.tags.into_iter().map(KeyValue::from).collect(),
            },
            inputs: RunInputs {
                dataset_inputs: r
                    .inputs
                    .dataset_inputs
                    .into_iter()
                    .map(|i| DatasetInput {
                        tags: i.tags.into_iter().map(KeyValue::from).collect(),
                        dataset: Dataset {
                            name: i.dataset.name,
                            digest: i.dataset.digest,
                            source_type: i.dataset.source_type,
                            source: i.dataset.source,
                            schema: i.dataset.schema,
                            profile: i.dataset.profile,
                        },
                    })
                    .collect(),
                model_inputs: r
                    .inputs
                    .model_inputs
                    .into_iter()
                    .map(|m| ModelInput {
                        model_id: m.model_id,
                    })
                    .collect(),
            },
            outputs: RunOutputs {
                model_outputs: r
                    .outputs
                    .model_outputs
                    .into_iter()
                    .map(|m| ModelOutput {
                        model_id: m.model_id,
                        step: m.step,
                    })
                    .collect(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_requests_accept_protobuf_json_quirks() {
        let m: MetricRequest =
            serde_json::from_str(r#"{"key":"k","value":"NaN","timestamp":"17","step":"2"}"#)
                .unwrap();
        let metric = m.into_metric().unwrap();
        assert!(metric.value.is_nan());
        assert_eq!((metric.timestamp, metric.step), (17, 2));
        let m: MetricRequest =
            serde_json::from_str(r#"{"key":"k","value":"-Infinity","timestamp":1}"#).unwrap();
        let value = m.into_metric().unwrap().value;
        assert!(value.is_infinite() && value.is_sign_negative(), "{value}");
        let m: MetricRequest = serde_json::from_str(r#"{"key":"k","timestamp":1}"#).unwrap();
        assert_eq!(m.into_metric().unwrap_err(), "value");
    }

    #[test]
    fn metrics_serialize_like_mlflow() {
        let nan =
            serde_json::to_value(Metric::from(domain::Metric::new("k", f64::NAN, 1, 0))).unwrap();
        assert_eq!(nan["value"], "NaN");
        let inf = serde_json::to_value(Metric::from(domain::Metric::new("k", f64::INFINITY, 1, 0)))
            .unwrap();
        assert_eq!(inf["value"].as_f64(), Some(f64::MAX));
    }

    #[test]
    fn run_ids_fall_back_to_the_legacy_twin() {
        let r: RunIdRequest = serde_json::from_str(r#"{"run_uuid":"abc"}"#).unwrap();
        assert_eq!(r.id(), Some("abc"));
    }
}
