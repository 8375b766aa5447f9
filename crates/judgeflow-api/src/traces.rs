//! Traces and assessments on the wire (MLflow 3's v3 trace API). Unlike the tracking API,
//! times here are protobuf `Timestamp`s (`"2026-11-26T00:58:05.036Z"`) and `Duration`s
//! (`"0.027s"`), and the experiment hides inside `trace_location`.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use judgeflow_domain as domain;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::de::{lenient_opt_bool, lenient_opt_i64, one_or_many};

/// A protobuf-JSON timestamp from epoch milliseconds.
#[must_use]
pub fn timestamp_json(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Epoch milliseconds from a protobuf-JSON timestamp (RFC 3339).
pub fn parse_timestamp(text: &str) -> Result<i64, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_millis())
        .map_err(|_| {
            format!("Invalid timestamp '{text}': expected RFC 3339, e.g. 2026-01-01T00:00:00Z")
        })
}

/// A protobuf-JSON duration from milliseconds: `"0.027s"`.
#[must_use]
pub fn duration_json(ms: i64) -> String {
    let seconds = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    if millis == 0 {
        format!("{seconds}s")
    } else {
        format!("{seconds}.{millis:03}s")
    }
}

/// Milliseconds from a protobuf-JSON duration (`"1.5s"`, `"0.000027s"`).
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let invalid = || format!("Invalid duration '{text}': expected seconds such as '0.027s'");
    let seconds: f64 = text
        .strip_suffix('s')
        .ok_or_else(invalid)?
        .parse()
        .map_err(|_| invalid())?;
    if !seconds.is_finite() {
        return Err(invalid());
    }
    Ok((seconds * 1000.0).round() as i64)
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MlflowExperimentLocation {
    #[serde(default, deserialize_with = "crate::de::lenient_opt_string")]
    pub experiment_id: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TraceLocation {
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mlflow_experiment: Option<MlflowExperimentLocation>,
}

/// TraceInfoV3.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TraceInfoJson {
    #[serde(default)]
    pub trace_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_request_id: Option<String>,
    #[serde(default)]
    pub trace_location: Option<TraceLocation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_preview: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_preview: Option<String>,
    #[serde(default)]
    pub request_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_duration: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub trace_metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub assessments: Vec<AssessmentJson>,
}

impl From<&domain::TraceInfo> for TraceInfoJson {
    fn from(info: &domain::TraceInfo) -> Self {
        Self {
            trace_id: Some(info.trace_id.clone()),
            client_request_id: info.client_request_id.clone(),
            trace_location: Some(TraceLocation {
                kind: Some("MLFLOW_EXPERIMENT".into()),
                mlflow_experiment: Some(MlflowExperimentLocation {
                    experiment_id: Some(info.experiment_id.clone()),
                }),
            }),
            request_preview: info.request_preview.clone(),
            response_preview: info.response_preview.clone(),
            request_time: Some(timestamp_json(info.request_time_ms)),
            execution_duration: info.execution_duration_ms.map(duration_json),
            state: Some(info.state.as_str().to_owned()),
            trace_metadata: info.trace_metadata.clone(),
            tags: info.tags.clone(),
            assessments: info.assessments.iter().map(AssessmentJson::from).collect(),
        }
    }
}

impl TraceInfoJson {
    /// The domain info of a StartTraceV3 request; `now` fills a missing request time.
    pub fn into_domain(self, now_ms: i64) -> Result<domain::TraceInfo, String> {
        let trace_id = self
            .trace_id
            .filter(|id| !id.is_empty())
            .ok_or("Missing value for required parameter 'trace.trace_info.trace_id'")?;
        let experiment_id = self
            .trace_location
            .and_then(|l| l.mlflow_experiment)
            .and_then(|e| e.experiment_id)
            .filter(|id| !id.is_empty())
            .ok_or(
                "Missing value for required parameter \
                 'trace.trace_info.trace_location.mlflow_experiment.experiment_id'",
            )?;
        let request_time_ms = match self.request_time.as_deref() {
            Some(text) => parse_timestamp(text)?,
            None => now_ms,
        };
        let execution_duration_ms = self
            .execution_duration
            .as_deref()
            .map(parse_duration)
            .transpose()?;
        let state = match self.state.as_deref() {
            None => domain::TraceState::Unspecified,
            Some(text) => domain::TraceState::parse(text)
                .ok_or_else(|| format!("Invalid trace state '{text}'"))?,
        };
        let assessments = self
            .assessments
            .into_iter()
            .map(|a| {
                let mut a = a.into_domain(now_ms)?;
                a.trace_id.clone_from(&trace_id);
                if a.assessment_id.is_empty() {
                    a.assessment_id = domain::traces::new_assessment_id();
                }
                Ok(a)
            })
            .collect::<Result<Vec<_>, String>>()?;
        for (key, value) in &self.tags {
            domain::traces::validate_trace_tag(key, value).map_err(|e| e.to_string())?;
        }
        Ok(domain::TraceInfo {
            trace_id,
            client_request_id: self.client_request_id,
            experiment_id,
            request_time_ms,
            execution_duration_ms,
            state,
            request_preview: self.request_preview,
            response_preview: self.response_preview,
            trace_metadata: self.trace_metadata,
            tags: self.tags,
            assessments,
        })
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct TraceEnvelope {
    #[serde(default)]
    pub trace_info: Option<TraceInfoJson>,
}

/// StartTraceV3.
#[derive(Debug, Default, Deserialize)]
pub struct StartTraceRequest {
    #[serde(default)]
    pub trace: Option<TraceEnvelope>,
}

/// `GET traces/{id}`, `traces/get`, `batchGet` and `batchGetInfos` parameters.
#[derive(Debug, Default, Deserialize)]
pub struct TraceIdsRequest {
    #[serde(default)]
    pub trace_id: Option<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub trace_ids: Vec<String>,
    #[serde(default, deserialize_with = "lenient_opt_bool")]
    pub allow_partial: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
pub struct SearchTracesRequest {
    #[serde(default, deserialize_with = "one_or_many")]
    pub locations: Vec<TraceLocation>,
    /// The v2 form of the same search.
    #[serde(default, deserialize_with = "one_or_many")]
    pub experiment_ids: Vec<String>,
    #[serde(default)]
    pub filter: Option<String>,
    #[serde(default, deserialize_with = "lenient_opt_i64")]
    pub max_results: Option<i64>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub order_by: Vec<String>,
    #[serde(default)]
    pub page_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct TraceTagRequest {
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default, deserialize_with = "crate::de::lenient_opt_string")]
    pub value: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct LinkTracesRequest {
    #[serde(default, deserialize_with = "one_or_many")]
    pub trace_ids: Vec<String>,
    #[serde(default)]
    pub run_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct PromptVersionRef {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "crate::de::lenient_opt_string")]
    pub version: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct LinkPromptsRequest {
    #[serde(default)]
    pub trace_id: Option<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub prompt_versions: Vec<PromptVersionRef>,
}

#[derive(Debug, Default, Deserialize)]
pub struct DeleteTracesRequest {
    #[serde(default, deserialize_with = "crate::de::lenient_opt_string")]
    pub experiment_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_opt_i64")]
    pub max_timestamp_millis: Option<i64>,
    #[serde(default, deserialize_with = "lenient_opt_i64")]
    pub max_traces: Option<i64>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub request_ids: Vec<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub trace_ids: Vec<String>,
}

// ---- assessments ---------------------------------------------------------------------

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AssessmentSourceJson {
    #[serde(default)]
    pub source_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AssessmentErrorJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_trace: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FeedbackJson {
    /// Any JSON value; absent when the judge failed.
    #[serde(
        default,
        deserialize_with = "present_value",
        skip_serializing_if = "Option::is_none"
    )]
    pub value: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<AssessmentErrorJson>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SerializedValueJson {
    #[serde(default)]
    pub serialization_format: Option<String>,
    #[serde(default)]
    pub value: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ExpectationJson {
    #[serde(
        default,
        deserialize_with = "present_value",
        skip_serializing_if = "Option::is_none"
    )]
    pub value: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serialized_value: Option<SerializedValueJson>,
}

/// `"value": null` is a value (JSON null), not an absent field.
fn present_value<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AssessmentJson {
    #[serde(default)]
    pub assessment_id: Option<String>,
    #[serde(default)]
    pub assessment_name: Option<String>,
    #[serde(default)]
    pub trace_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_id: Option<String>,
    #[serde(default)]
    pub source: Option<AssessmentSourceJson>,
    #[serde(default)]
    pub create_time: Option<String>,
    #[serde(default)]
    pub last_update_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<FeedbackJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expectation: Option<ExpectationJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rationale: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overrides: Option<String>,
    #[serde(default, deserialize_with = "lenient_opt_bool")]
    pub valid: Option<bool>,
}

impl From<&domain::Assessment> for AssessmentJson {
    fn from(a: &domain::Assessment) -> Self {
        let (feedback, expectation) = match &a.kind {
            domain::AssessmentKind::Feedback { value, error } => (
                Some(FeedbackJson {
                    value: value.clone(),
                    error: error.as_ref().map(|e| AssessmentErrorJson {
                        error_code: e.error_code.clone(),
                        error_message: e.error_message.clone(),
                        stack_trace: e.stack_trace.clone(),
                    }),
                }),
                None,
            ),
            domain::AssessmentKind::Expectation(domain::ExpectationValue::Value(v)) => (
                None,
                Some(ExpectationJson {
                    value: Some(v.clone()),
                    serialized_value: None,
                }),
            ),
            domain::AssessmentKind::Expectation(domain::ExpectationValue::Serialized {
                format,
                value,
            }) => (
                None,
                Some(ExpectationJson {
                    value: None,
                    serialized_value: Some(SerializedValueJson {
                        serialization_format: Some(format.clone()),
                        value: Some(value.clone()),
                    }),
                }),
            ),
        };
        Self {
            assessment_id: Some(a.assessment_id.clone()),
            assessment_name: Some(a.name.clone()),
            trace_id: Some(a.trace_id.clone()),
            span_id: a.span_id.clone(),
            source: Some(AssessmentSourceJson {
                source_type: Some(a.source.source_type.clone()),
                source_id: a.source.source_id.clone(),
            }),
            create_time: Some(timestamp_json(a.create_time_ms)),
            last_update_time: Some(timestamp_json(a.last_update_time_ms)),
            feedback,
            expectation,
            rationale: a.rationale.clone(),
            metadata: a.metadata.clone(),
            overrides: a.overrides.clone(),
            valid: Some(a.valid),
        }
    }
}

impl FeedbackJson {
    fn into_domain(self) -> domain::AssessmentKind {
        domain::AssessmentKind::Feedback {
            value: self.value,
            error: self.error.map(|e| domain::AssessmentError {
                error_code: e.error_code,
                error_message: e.error_message,
                stack_trace: e.stack_trace,
            }),
        }
    }
}

impl ExpectationJson {
    fn into_domain(self) -> Result<domain::AssessmentKind, String> {
        Ok(domain::AssessmentKind::Expectation(
            match (self.value, self.serialized_value) {
                (_, Some(s)) => domain::ExpectationValue::Serialized {
                    format: s
                        .serialization_format
                        .unwrap_or_else(|| "JSON_FORMAT".into()),
                    value: s.value.unwrap_or_default(),
                },
                (Some(v), None) => domain::ExpectationValue::Value(v),
                (None, None) => return Err("An expectation must have a value".into()),
            },
        ))
    }
}

impl AssessmentJson {
    /// The kind (feedback or expectation) this assessment carries, if any.
    pub fn kind(&self) -> Result<Option<domain::AssessmentKind>, String> {
        match (&self.feedback, &self.expectation) {
            (Some(_), Some(_)) => {
                Err("An assessment must have either a feedback or an expectation, not both".into())
            }
            (Some(f), None) => Ok(Some(f.clone().into_domain())),
            (None, Some(e)) => e.clone().into_domain().map(Some),
            (None, None) => Ok(None),
        }
    }

    /// A new assessment from `CreateAssessment` (the server assigns the id when missing).
    pub fn into_domain(self, now_ms: i64) -> Result<domain::Assessment, String> {
        let kind = self
            .kind()?
            .ok_or("An assessment must have either a feedback or an expectation value")?;
        let name = self
            .assessment_name
            .filter(|n| !n.is_empty())
            .ok_or("Missing value for required parameter 'assessment.assessment_name'")?;
        let source = self.source.unwrap_or_default();
        let create_time_ms = self
            .create_time
            .as_deref()
            .map(parse_timestamp)
            .transpose()?
            .unwrap_or(now_ms);
        let last_update_time_ms = self
            .last_update_time
            .as_deref()
            .map(parse_timestamp)
            .transpose()?
            .unwrap_or(create_time_ms);
        Ok(domain::Assessment {
            assessment_id: self.assessment_id.unwrap_or_default(),
            name,
            trace_id: self.trace_id.unwrap_or_default(),
            span_id: self.span_id.filter(|s| !s.is_empty()),
            source: domain::AssessmentSource {
                source_type: source
                    .source_type
                    .unwrap_or_else(|| "SOURCE_TYPE_UNSPECIFIED".into()),
                source_id: source.source_id,
            },
            create_time_ms,
            last_update_time_ms,
            kind,
            rationale: self.rationale,
            metadata: self.metadata,
            overrides: self.overrides.filter(|o| !o.is_empty()),
            valid: self.valid.unwrap_or(true),
        })
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct AssessmentRequest {
    #[serde(default)]
    pub assessment: Option<AssessmentJson>,
    /// Comma-separated field names (`assessmentName,feedback`), for updates.
    #[serde(default)]
    pub update_mask: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_and_durations_round_trip() {
        assert_eq!(
            timestamp_json(1_764_118_685_036),
            "2025-11-26T00:58:05.036Z"
        );
        assert_eq!(
            parse_timestamp("2025-11-26T00:58:05.036Z"),
            Ok(1_764_118_685_036)
        );
        assert_eq!(
            parse_timestamp("2025-11-26T00:58:05Z"),
            Ok(1_764_118_685_000)
        );
        assert_eq!(duration_json(27), "0.027s");
        assert_eq!(duration_json(3000), "3s");
        assert_eq!(parse_duration("0.027s"), Ok(27));
        assert_eq!(parse_duration("1.5s"), Ok(1500));
        assert!(parse_duration("12").is_err());
        assert!(parse_timestamp("yesterday").is_err());
    }
}
