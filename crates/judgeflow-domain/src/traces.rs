//! MLflow 3 traces: the trace info (previews, metadata, tags), the spans (kept as OTLP JSON, the
//! shape every read returns) and assessments (feedback and expectations attached to a trace).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::DomainError;

/// Tags and metadata keys the server itself reads or writes.
pub mod keys {
    pub const TRACE_NAME: &str = "mlflow.traceName";
    pub const ARTIFACT_LOCATION: &str = "mlflow.artifactLocation";
    pub const SPANS_LOCATION: &str = "mlflow.trace.spansLocation";
    pub const SPANS_IN_TRACKING_STORE: &str = "TRACKING_STORE";
    pub const SOURCE_RUN: &str = "mlflow.sourceRun";
    pub const INFO_FINALIZED: &str = "mlflow.trace.infoFinalized";
    pub const TRACE_SCHEMA_VERSION: &str = "mlflow.trace_schema.version";
    pub const SPAN_TYPE: &str = "mlflow.spanType";
    pub const TRACE_TAG_PREFIX: &str = "mlflow.traceTag.";
    pub const LINKED_PROMPTS: &str = "mlflow.linkedPrompts";
}

/// Most trace ids one call may name (link-to-run, delete-traces, batch reads).
pub const MAX_TRACE_IDS_PER_CALL: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceState {
    Unspecified,
    Ok,
    Error,
    InProgress,
}

impl TraceState {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unspecified => "STATE_UNSPECIFIED",
            Self::Ok => "OK",
            Self::Error => "ERROR",
            Self::InProgress => "IN_PROGRESS",
        }
    }

    /// Accepts MLflow's names and the OTel status names a root span carries.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "STATE_UNSPECIFIED" | "" => Self::Unspecified,
            "OK" | "STATUS_CODE_OK" => Self::Ok,
            "ERROR" | "STATUS_CODE_ERROR" => Self::Error,
            "IN_PROGRESS" | "STATUS_CODE_UNSET" | "UNSET" => Self::InProgress,
            _ => return None,
        })
    }
}

/// What StartTraceV3 sends, and what every read returns (with `assessments` filled in).
#[derive(Debug, Clone, PartialEq)]
pub struct TraceInfo {
    pub trace_id: String,
    pub client_request_id: Option<String>,
    pub experiment_id: String,
    pub request_time_ms: i64,
    pub execution_duration_ms: Option<i64>,
    pub state: TraceState,
    pub request_preview: Option<String>,
    pub response_preview: Option<String>,
    pub trace_metadata: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub assessments: Vec<Assessment>,
}

/// One span as the store keeps it: the columns searches filter on, plus the span itself as
/// OTLP protobuf-JSON (`content`), which GetTrace returns verbatim.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanRecord {
    /// `tr-` + 32 hex digits.
    pub trace_id: String,
    /// 16 hex digits.
    pub span_id: String,
    pub parent_span_id: Option<String>,
    pub name: String,
    /// `mlflow.spanType` (`CHAIN`, `LLM`, …), unquoted.
    pub span_type: Option<String>,
    /// `OK`, `ERROR` or `UNSET`.
    pub status: String,
    pub start_time_ns: i64,
    pub end_time_ns: Option<i64>,
    /// Trace tags carried as `mlflow.traceTag.<key>` attributes of a root span.
    pub trace_tags: Vec<(String, String)>,
    pub content: String,
}

impl SpanRecord {
    #[must_use]
    pub fn is_root(&self) -> bool {
        self.parent_span_id.is_none()
    }
}

/// The MLflow trace id for an OTel trace id.
#[must_use]
pub fn trace_id_from_otel(otel_trace_id: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut id = String::with_capacity(3 + otel_trace_id.len() * 2);
    id.push_str("tr-");
    for byte in otel_trace_id {
        let _ = write!(id, "{byte:02x}");
    }
    id
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssessmentSource {
    /// `HUMAN`, `LLM_JUDGE`, `CODE` (or `SOURCE_TYPE_UNSPECIFIED`).
    pub source_type: String,
    pub source_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssessmentError {
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub stack_trace: Option<String>,
}

/// An expectation's value: a JSON scalar as `value`, or a dict/list as a serialized string.
#[derive(Debug, Clone, PartialEq)]
pub enum ExpectationValue {
    Value(Value),
    Serialized { format: String, value: String },
}

#[derive(Debug, Clone, PartialEq)]
pub enum AssessmentKind {
    /// Any JSON value (or none, when the judge failed and `error` says why).
    Feedback {
        value: Option<Value>,
        error: Option<AssessmentError>,
    },
    Expectation(ExpectationValue),
}

impl AssessmentKind {
    #[must_use]
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Feedback { .. } => "feedback",
            Self::Expectation(_) => "expectation",
        }
    }

    /// The value as searches compare it: strings as themselves, anything else as JSON text;
    /// and the number, if the value is one (booleans count as 1 and 0, as in MLflow).
    #[must_use]
    pub fn search_value(&self) -> (Option<String>, Option<f64>) {
        let value = match self {
            Self::Feedback { value, .. } => value.clone(),
            Self::Expectation(ExpectationValue::Value(v)) => Some(v.clone()),
            Self::Expectation(ExpectationValue::Serialized { value, .. }) => {
                return (Some(value.clone()), None);
            }
        };
        match value {
            None | Some(Value::Null) => (None, None),
            Some(Value::String(s)) => {
                let number = s.parse::<f64>().ok().filter(|n| n.is_finite());
                (Some(s), number)
            }
            Some(Value::Bool(b)) => (Some(b.to_string()), Some(f64::from(u8::from(b)))),
            Some(Value::Number(n)) => (Some(n.to_string()), n.as_f64()),
            Some(other) => (Some(other.to_string()), None),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub assessment_id: String,
    pub name: String,
    pub trace_id: String,
    pub span_id: Option<String>,
    pub source: AssessmentSource,
    pub create_time_ms: i64,
    pub last_update_time_ms: i64,
    pub kind: AssessmentKind,
    pub rationale: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub overrides: Option<String>,
    pub valid: bool,
}

/// The fields of an assessment an update may change (those named in `update_mask`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AssessmentUpdate {
    pub name: Option<String>,
    pub kind: Option<AssessmentKind>,
    pub rationale: Option<Option<String>>,
    pub metadata: Option<BTreeMap<String, String>>,
}

/// A new assessment id: `a-` + 32 hex digits, as MLflow's server makes them.
#[must_use]
pub fn new_assessment_id() -> String {
    format!("a-{}", uuid::Uuid::new_v4().simple())
}

/// MLflow's trace tag rules: a non-empty key of at most 250 characters; values of at most 8,000.
pub fn validate_trace_tag(key: &str, value: &str) -> Result<(), DomainError> {
    if key.is_empty() {
        return Err(DomainError::invalid("Trace tag key must not be empty"));
    }
    if key.chars().count() > 250 {
        return Err(DomainError::invalid(format!(
            "Trace tag key '{}…' exceeds the maximum length of 250 characters",
            key.chars().take(40).collect::<String>()
        )));
    }
    if value.chars().count() > 8000 {
        return Err(DomainError::invalid(format!(
            "Trace tag '{key}' value exceeds the maximum length of 8000 characters"
        )));
    }
    Ok(())
}

/// A trace id as the client makes them (`tr-` + hex); anything else is a client mistake that
/// must not reach SQL as, say, an empty string.
pub fn validate_trace_id(trace_id: &str) -> Result<(), DomainError> {
    if trace_id.is_empty() || trace_id.len() > 256 {
        return Err(DomainError::invalid(format!(
            "Invalid trace id '{trace_id}'"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn trace_ids_are_tr_plus_hex() {
        assert_eq!(trace_id_from_otel(&[0, 1, 0xab, 0xff]), "tr-0001abff");
    }

    #[test]
    fn search_values_of_feedback() {
        let fb = |v| AssessmentKind::Feedback {
            value: Some(v),
            error: None,
        };
        assert_eq!(fb(json!("yes")).search_value(), (Some("yes".into()), None));
        assert_eq!(
            fb(json!(true)).search_value(),
            (Some("true".into()), Some(1.0))
        );
        assert_eq!(
            fb(json!(0.5)).search_value(),
            (Some("0.5".into()), Some(0.5))
        );
        assert_eq!(
            fb(json!({"a": 1})).search_value(),
            (Some("{\"a\":1}".into()), None)
        );
        let failed = AssessmentKind::Feedback {
            value: None,
            error: None,
        };
        assert_eq!(failed.search_value(), (None, None));
    }

    #[test]
    fn states_parse_from_mlflow_and_otel_names() {
        assert_eq!(TraceState::parse("OK"), Some(TraceState::Ok));
        assert_eq!(
            TraceState::parse("STATUS_CODE_ERROR"),
            Some(TraceState::Error)
        );
        assert_eq!(TraceState::parse("bogus"), None);
    }
}
