//! Evaluation datasets on the wire (`/3.0/mlflow/datasets/*`). The quirk: `tags`, `schema`,
//! `profile` and `records` are JSON *text* inside the JSON body, in both directions, because
//! the proto declares them as strings. Requests' JSON text is parsed here into domain values;
//! responses' JSON text is written the way MLflow's Python `json.dumps` writes it.

use judgeflow_domain::evaluation_datasets::{
    self as domain, DatasetRecord, RecordUpsert, python_json, write_python_json,
    write_python_string,
};
use judgeflow_domain::{DomainError, Tag};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::de::{lenient_opt_i64, one_or_many};

#[derive(Debug, Default, Deserialize)]
pub struct CreateDatasetRequest {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub experiment_ids: Vec<String>,
    /// A JSON object, as text.
    #[serde(default)]
    pub tags: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct UpsertDatasetRecordsRequest {
    /// A JSON array of records, as text.
    #[serde(default)]
    pub records: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct GetDatasetRecordsRequest {
    #[serde(default, deserialize_with = "lenient_opt_i64")]
    pub max_results: Option<i64>,
    #[serde(default)]
    pub page_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct SearchEvaluationDatasetsRequest {
    #[serde(default, deserialize_with = "one_or_many")]
    pub experiment_ids: Vec<String>,
    /// The field is `filter_string` here, not `filter` as in other searches.
    #[serde(default)]
    pub filter_string: Option<String>,
    #[serde(default, deserialize_with = "lenient_opt_i64")]
    pub max_results: Option<i64>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub order_by: Vec<String>,
    #[serde(default)]
    pub page_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct SetDatasetTagsRequest {
    /// A JSON object, as text.
    #[serde(default)]
    pub tags: Option<String>,
}

/// `add-experiments` and `remove-experiments`.
#[derive(Debug, Default, Deserialize)]
pub struct DatasetExperimentsRequest {
    #[serde(default, deserialize_with = "one_or_many")]
    pub experiment_ids: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct DeleteDatasetRecordsRequest {
    #[serde(default, deserialize_with = "one_or_many")]
    pub dataset_record_ids: Vec<String>,
}

fn parse_json_text(parameter: &str, text: &str) -> Result<Value, DomainError> {
    serde_json::from_str(text).map_err(|e| {
        DomainError::invalid(format!(
            "Invalid value for parameter '{parameter}': not valid JSON ({e})"
        ))
    })
}

/// The records of an upsert from the JSON text of `records`.
pub fn records_from_wire(text: &str) -> Result<Vec<RecordUpsert>, DomainError> {
    domain::parse_records(parse_json_text("records", text)?)
}

/// Dataset tags from the JSON text of `tags`.
pub fn tags_from_wire(text: &str) -> Result<Vec<Tag>, DomainError> {
    domain::parse_tags(parse_json_text("tags", text)?)
}

#[derive(Debug, Serialize)]
pub struct EvaluationDataset {
    pub dataset_id: String,
    pub name: String,
    /// JSON object text.
    pub tags: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    pub digest: String,
    pub created_time: i64,
    pub last_update_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_updated_by: Option<String>,
    /// MLflow's server fills this only on create and the client loads it lazily otherwise;
    /// sending it every time saves the client that request and reads the same.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub experiment_ids: Vec<String>,
}

impl From<domain::EvaluationDataset> for EvaluationDataset {
    fn from(d: domain::EvaluationDataset) -> Self {
        Self {
            dataset_id: d.dataset_id,
            name: d.name,
            tags: domain::tags_json(&d.tags),
            schema: d.schema,
            profile: d.profile,
            digest: d.digest,
            created_time: d.created_time,
            last_update_time: d.last_update_time,
            created_by: d.created_by,
            last_updated_by: d.last_updated_by,
            experiment_ids: d.experiment_ids,
        }
    }
}

/// One `"key": value` member of an object being written, with its separator.
fn member(out: &mut String, first: &mut bool, key: &str) {
    if !*first {
        out.push_str(", ");
    }
    *first = false;
    write_python_string(out, key);
    out.push_str(": ");
}

/// The JSON text of `records` in a records page: one object per record with MLflow's keys in
/// its order (the proto's field order), unset fields left out.
#[must_use]
pub fn records_to_wire(records: &[DatasetRecord]) -> String {
    let mut out = String::from("[");
    for (i, record) in records.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_record(&mut out, record);
    }
    out.push(']');
    out
}

fn write_record(out: &mut String, record: &DatasetRecord) {
    let mut first = true;
    out.push('{');
    member(out, &mut first, "dataset_record_id");
    write_python_string(out, &record.dataset_record_id);
    member(out, &mut first, "dataset_id");
    write_python_string(out, &record.dataset_id);
    member(out, &mut first, "inputs");
    write_python_json(out, &Value::Object(record.inputs.clone()));
    if let Some(expectations) = &record.expectations {
        member(out, &mut first, "expectations");
        write_python_json(out, &Value::Object(expectations.clone()));
    }
    member(out, &mut first, "tags");
    write_python_json(out, &Value::Object(record.tags.clone()));
    if let Some(source) = &record.source {
        member(out, &mut first, "source");
        out.push_str(&python_json(&source.to_json()));
    }
    if let Some(source_id) = &record.source_id {
        member(out, &mut first, "source_id");
        write_python_string(out, source_id);
    }
    if let Some(source_type) = record.source_type {
        member(out, &mut first, "source_type");
        write_python_string(out, source_type.as_str());
    }
    member(out, &mut first, "created_time");
    out.push_str(&record.created_time.to_string());
    member(out, &mut first, "last_update_time");
    out.push_str(&record.last_update_time.to_string());
    if let Some(created_by) = &record.created_by {
        member(out, &mut first, "created_by");
        write_python_string(out, created_by);
    }
    if let Some(last_updated_by) = &record.last_updated_by {
        member(out, &mut first, "last_updated_by");
        write_python_string(out, last_updated_by);
    }
    if let Some(outputs) = &record.outputs {
        member(out, &mut first, "outputs");
        write_python_json(out, outputs);
    }
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_text_fields_parse_and_reject_garbage() {
        let records =
            records_from_wire(r#"[{"inputs": {"q": "a"}, "expectations": {"a": 1}}]"#).unwrap();
        assert_eq!(records.len(), 1);
        assert!(records_from_wire("[{").is_err());
        assert!(records_from_wire("{}").is_err());
        assert_eq!(
            tags_from_wire(r#"{"team": "a"}"#).unwrap(),
            vec![Tag::new("team", "a")]
        );
        assert!(tags_from_wire("nope").is_err());
    }

    #[test]
    fn records_are_written_in_mlflow_key_order() {
        let record = records_from_wire(
            r#"[{"inputs": {"q": "\u00e9"}, "tags": {"mlflow.user": "ana"},
                 "source": {"source_type": "TRACE", "source_data": {"trace_id": "tr-1"}}}]"#,
        )
        .unwrap()
        .remove(0)
        .into_record("d-1", 7);
        let id = record.dataset_record_id.clone();
        let text = records_to_wire(&[record]);
        assert_eq!(
            text,
            format!(
                r#"[{{"dataset_record_id": "{id}", "dataset_id": "d-1", "inputs": {{"q": "\u00e9"}}, "tags": {{"mlflow.user": "ana"}}, "source": {{"source_data": {{"trace_id": "tr-1"}}, "source_type": "TRACE"}}, "source_id": "tr-1", "source_type": "TRACE", "created_time": 7, "last_update_time": 7, "created_by": "ana", "last_updated_by": "ana", "outputs": {{}}}}]"#
            )
        );
        let parsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed[0]["inputs"], json!({"q": "é"}));
    }
}
