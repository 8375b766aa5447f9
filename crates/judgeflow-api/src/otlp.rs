//! OTLP/HTTP trace ingest: an `ExportTraceServiceRequest` (protobuf, or OTLP JSON with hex
//! ids) becomes [`SpanRecord`]s, each carrying its span as the protobuf-JSON that MLflow's
//! GetTrace returns (`snake_case` names, base64 ids, enum names, 64-bit integers as strings).
//! Encoding once at ingest means every later read copies stored text.

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use judgeflow_domain::SpanRecord;
use judgeflow_domain::traces::{keys, trace_id_from_otel};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{Span, Status, span, status};
use prost::Message as _;

/// Why a body is not a usable OTLP export. `Malformed` is MLflow's 400, `Unconvertible` its
/// 422.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OtlpError {
    Malformed(String),
    Unconvertible(String),
}

impl std::fmt::Display for OtlpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Malformed(m) | Self::Unconvertible(m) => f.write_str(m),
        }
    }
}

/// Decodes a protobuf `ExportTraceServiceRequest`.
pub fn decode_protobuf(body: &[u8]) -> Result<ExportTraceServiceRequest, OtlpError> {
    ExportTraceServiceRequest::decode(body)
        .map_err(|e| OtlpError::Malformed(format!("Invalid OpenTelemetry format: {e}")))
}

/// Decodes an OTLP JSON `ExportTraceServiceRequest` (camelCase, hex ids).
pub fn decode_json(body: &[u8]) -> Result<ExportTraceServiceRequest, OtlpError> {
    serde_json::from_slice(body)
        .map_err(|e| OtlpError::Malformed(format!("Invalid OpenTelemetry format: {e}")))
}

/// The spans of a decoded export, converted for the store. An export with no spans at all is
/// `Malformed`, as in MLflow.
pub fn span_records(request: &ExportTraceServiceRequest) -> Result<Vec<SpanRecord>, OtlpError> {
    let mut records = Vec::new();
    for resource_spans in &request.resource_spans {
        for scope_spans in &resource_spans.scope_spans {
            for span in &scope_spans.spans {
                records.push(span_record(span)?);
            }
        }
    }
    if records.is_empty() {
        return Err(OtlpError::Malformed(
            "Invalid OpenTelemetry format - no spans found".into(),
        ));
    }
    Ok(records)
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// A string attribute's text; MLflow's own attributes are JSON-encoded strings
/// (`"\"CHAIN\""`), other exporters send plain text.
fn attribute_text(value: Option<&AnyValue>) -> Option<String> {
    match value.and_then(|v| v.value.as_ref())? {
        any_value::Value::StringValue(s) => Some(match serde_json::from_str::<String>(s) {
            Ok(inner) => inner,
            Err(_) => s.clone(),
        }),
        any_value::Value::BoolValue(b) => Some(b.to_string()),
        any_value::Value::IntValue(i) => Some(i.to_string()),
        any_value::Value::DoubleValue(d) => Some(d.to_string()),
        _ => None,
    }
}

/// One span as the store keeps it, for writers that build spans themselves (the evaluation
/// engine) rather than receiving an export.
pub fn span_record(span: &Span) -> Result<SpanRecord, OtlpError> {
    let unconvertible = |what: &str| {
        OtlpError::Unconvertible(format!(
            "Cannot convert OpenTelemetry span '{}' to an MLflow span: {what}",
            span.name
        ))
    };
    if span.trace_id.len() != 16 {
        return Err(unconvertible("trace_id must be 16 bytes"));
    }
    if span.span_id.len() != 8 {
        return Err(unconvertible("span_id must be 8 bytes"));
    }
    if !span.parent_span_id.is_empty() && span.parent_span_id.len() != 8 {
        return Err(unconvertible("parent_span_id must be 8 bytes"));
    }
    let start_time_ns =
        i64::try_from(span.start_time_unix_nano).map_err(|_| unconvertible("start time"))?;
    let end_time_ns = match span.end_time_unix_nano {
        0 => None,
        end => Some(i64::try_from(end).map_err(|_| unconvertible("end time"))?),
    };
    let status = match span.status.as_ref().map(|s| s.code) {
        Some(code) if code == status::StatusCode::Ok as i32 => "OK",
        Some(code) if code == status::StatusCode::Error as i32 => "ERROR",
        _ => "UNSET",
    };
    let mut span_type = None;
    let mut trace_tags = Vec::new();
    for attribute in &span.attributes {
        if attribute.key == keys::SPAN_TYPE {
            span_type = attribute_text(attribute.value.as_ref());
        } else if span.parent_span_id.is_empty()
            && let Some(tag) = attribute.key.strip_prefix(keys::TRACE_TAG_PREFIX)
            && !tag.is_empty()
            && let Some(value) = attribute_text(attribute.value.as_ref())
        {
            trace_tags.push((tag.to_owned(), value));
        }
    }
    Ok(SpanRecord {
        trace_id: trace_id_from_otel(&span.trace_id),
        span_id: hex(&span.span_id),
        parent_span_id: (!span.parent_span_id.is_empty()).then(|| hex(&span.parent_span_id)),
        name: span.name.clone(),
        span_type,
        status: status.to_owned(),
        start_time_ns,
        end_time_ns,
        trace_tags,
        content: span_json(span),
    })
}

// ---- protobuf-JSON encoding of a span ------------------------------------------------

struct Out(String);

impl Out {
    fn raw(&mut self, text: &str) {
        self.0.push_str(text);
    }

    fn string(&mut self, text: &str) {
        // serde_json's escaping into our buffer; writing to a String cannot fail.
        let escaped = serde_json::to_string(text).unwrap_or_else(|_| "\"\"".into());
        self.0.push_str(&escaped);
    }

    fn key(&mut self, first: &mut bool, name: &str) {
        if !*first {
            self.0.push(',');
        }
        *first = false;
        self.0.push('"');
        self.0.push_str(name);
        self.0.push_str("\":");
    }

    fn bytes(&mut self, bytes: &[u8]) {
        self.0.push('"');
        self.0.push_str(&BASE64.encode(bytes));
        self.0.push('"');
    }

    fn any_value(&mut self, value: Option<&AnyValue>) {
        let Some(value) = value.and_then(|v| v.value.as_ref()) else {
            self.raw("{}");
            return;
        };
        match value {
            any_value::Value::StringValue(s) => {
                self.raw("{\"string_value\":");
                self.string(s);
            }
            any_value::Value::BoolValue(b) => {
                self.raw(if *b {
                    "{\"bool_value\":true"
                } else {
                    "{\"bool_value\":false"
                });
            }
            any_value::Value::IntValue(i) => {
                let _ = write!(self.0, "{{\"int_value\":\"{i}\"");
            }
            any_value::Value::DoubleValue(d) => {
                self.raw("{\"double_value\":");
                if d.is_finite() {
                    let _ = write!(self.0, "{d:?}");
                } else if d.is_nan() {
                    self.raw("\"NaN\"");
                } else if *d > 0.0 {
                    self.raw("\"Infinity\"");
                } else {
                    self.raw("\"-Infinity\"");
                }
            }
            any_value::Value::ArrayValue(array) => {
                self.raw("{\"array_value\":{\"values\":[");
                for (i, item) in array.values.iter().enumerate() {
                    if i > 0 {
                        self.raw(",");
                    }
                    self.any_value(Some(item));
                }
                self.raw("]}");
            }
            any_value::Value::KvlistValue(list) => {
                self.raw("{\"kvlist_value\":{\"values\":");
                self.attributes(&list.values);
                self.raw("}");
            }
            any_value::Value::BytesValue(bytes) => {
                self.raw("{\"bytes_value\":");
                self.bytes(bytes);
            }
            // An index into a profiling string table: meaningless without the table, and
            // unknown to MLflow's protobuf; kept as an empty value.
            any_value::Value::StringValueStrindex(_) => self.raw("{"),
        }
        self.raw("}");
    }

    fn attributes(&mut self, attributes: &[KeyValue]) {
        self.raw("[");
        for (i, attribute) in attributes.iter().enumerate() {
            if i > 0 {
                self.raw(",");
            }
            self.raw("{\"key\":");
            self.string(&attribute.key);
            self.raw(",\"value\":");
            self.any_value(attribute.value.as_ref());
            self.raw("}");
        }
        self.raw("]");
    }

    fn status(&mut self, status: Option<&Status>) {
        let (code, message) = status.map_or((0, ""), |s| (s.code, s.message.as_str()));
        let name = status::StatusCode::try_from(code)
            .unwrap_or(status::StatusCode::Unset)
            .as_str_name();
        self.raw("{\"code\":\"");
        self.raw(name);
        self.raw("\"");
        if !message.is_empty() {
            self.raw(",\"message\":");
            self.string(message);
        }
        self.raw("}");
    }
}

/// The span as protobuf-JSON (`opentelemetry.proto.trace.v1.Span`), default values omitted
/// as protobuf's JSON printer omits them.
#[must_use]
pub fn span_json(span: &Span) -> String {
    let mut out = Out(String::with_capacity(256 + span.attributes.len() * 64));
    let mut first = true;
    out.raw("{");
    out.key(&mut first, "trace_id");
    out.bytes(&span.trace_id);
    out.key(&mut first, "span_id");
    out.bytes(&span.span_id);
    if !span.trace_state.is_empty() {
        out.key(&mut first, "trace_state");
        out.string(&span.trace_state);
    }
    if !span.parent_span_id.is_empty() {
        out.key(&mut first, "parent_span_id");
        out.bytes(&span.parent_span_id);
    }
    if span.flags != 0 {
        out.key(&mut first, "flags");
        let _ = write!(out.0, "{}", span.flags);
    }
    out.key(&mut first, "name");
    out.string(&span.name);
    if span.kind != 0 {
        out.key(&mut first, "kind");
        out.raw("\"");
        out.raw(
            span::SpanKind::try_from(span.kind)
                .unwrap_or(span::SpanKind::Unspecified)
                .as_str_name(),
        );
        out.raw("\"");
    }
    out.key(&mut first, "start_time_unix_nano");
    let _ = write!(out.0, "\"{}\"", span.start_time_unix_nano);
    if span.end_time_unix_nano != 0 {
        out.key(&mut first, "end_time_unix_nano");
        let _ = write!(out.0, "\"{}\"", span.end_time_unix_nano);
    }
    if !span.attributes.is_empty() {
        out.key(&mut first, "attributes");
        out.attributes(&span.attributes);
    }
    if span.dropped_attributes_count != 0 {
        out.key(&mut first, "dropped_attributes_count");
        let _ = write!(out.0, "{}", span.dropped_attributes_count);
    }
    if !span.events.is_empty() {
        out.key(&mut first, "events");
        out.raw("[");
        for (i, event) in span.events.iter().enumerate() {
            if i > 0 {
                out.raw(",");
            }
            let mut first_field = true;
            out.raw("{");
            out.key(&mut first_field, "time_unix_nano");
            let _ = write!(out.0, "\"{}\"", event.time_unix_nano);
            out.key(&mut first_field, "name");
            out.string(&event.name);
            if !event.attributes.is_empty() {
                out.key(&mut first_field, "attributes");
                out.attributes(&event.attributes);
            }
            out.raw("}");
        }
        out.raw("]");
    }
    if !span.links.is_empty() {
        out.key(&mut first, "links");
        out.raw("[");
        for (i, link) in span.links.iter().enumerate() {
            if i > 0 {
                out.raw(",");
            }
            let mut first_field = true;
            out.raw("{");
            out.key(&mut first_field, "trace_id");
            out.bytes(&link.trace_id);
            out.key(&mut first_field, "span_id");
            out.bytes(&link.span_id);
            if !link.trace_state.is_empty() {
                out.key(&mut first_field, "trace_state");
                out.string(&link.trace_state);
            }
            if !link.attributes.is_empty() {
                out.key(&mut first_field, "attributes");
                out.attributes(&link.attributes);
            }
            out.raw("}");
        }
        out.raw("]");
    }
    out.key(&mut first, "status");
    out.status(span.status.as_ref());
    out.raw("}");
    out.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};

    fn string_attr(key: &str, value: &str) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(value.into())),
            }),
            ..KeyValue::default()
        }
    }

    fn sample_span(parent: &[u8]) -> Span {
        Span {
            trace_id: (1..=16).collect(),
            span_id: vec![0xaa; 8],
            parent_span_id: parent.to_vec(),
            name: "outer \"quoted\"".into(),
            start_time_unix_nano: 1_700_000_000_000_000_000,
            end_time_unix_nano: 1_700_000_000_500_000_000,
            attributes: vec![
                string_attr("mlflow.spanType", "\"CHAIN\""),
                string_attr("mlflow.traceTag.team", "\"search\""),
                KeyValue {
                    key: "n".into(),
                    value: Some(AnyValue {
                        value: Some(any_value::Value::IntValue(7)),
                    }),
                    ..KeyValue::default()
                },
            ],
            status: Some(Status {
                code: status::StatusCode::Ok as i32,
                message: String::new(),
            }),
            ..Span::default()
        }
    }

    #[test]
    fn a_root_span_becomes_a_record_with_its_json() {
        let record = span_record(&sample_span(&[])).unwrap();
        assert_eq!(record.trace_id, "tr-0102030405060708090a0b0c0d0e0f10");
        assert_eq!(record.span_id, "aaaaaaaaaaaaaaaa");
        assert_eq!(record.parent_span_id, None);
        assert_eq!(record.span_type.as_deref(), Some("CHAIN"));
        assert_eq!(record.status, "OK");
        assert_eq!(record.end_time_ns, Some(1_700_000_000_500_000_000));
        assert_eq!(record.trace_tags, vec![("team".into(), "search".into())]);
        let json: serde_json::Value = serde_json::from_str(&record.content).unwrap();
        assert_eq!(json["trace_id"], "AQIDBAUGBwgJCgsMDQ4PEA==");
        assert_eq!(json["name"], "outer \"quoted\"");
        assert_eq!(json["start_time_unix_nano"], "1700000000000000000");
        assert_eq!(json["status"]["code"], "STATUS_CODE_OK");
        assert_eq!(json["attributes"][2]["value"]["int_value"], "7");
    }

    #[test]
    fn child_spans_carry_no_trace_tags_and_bad_ids_are_unconvertible() {
        let record = span_record(&sample_span(&[0xbb; 8])).unwrap();
        assert!(record.trace_tags.is_empty());
        assert_eq!(record.parent_span_id.as_deref(), Some("bbbbbbbbbbbbbbbb"));
        let mut bad = sample_span(&[]);
        bad.trace_id = vec![1, 2, 3];
        assert!(matches!(
            span_record(&bad),
            Err(OtlpError::Unconvertible(_))
        ));
    }

    #[test]
    fn protobuf_and_json_bodies_decode_to_the_same_spans() {
        let request = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![sample_span(&[])],
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            }],
        };
        let from_proto = span_records(&decode_protobuf(&request.encode_to_vec()).unwrap()).unwrap();
        let json = serde_json::to_vec(&request).unwrap();
        let from_json = span_records(&decode_json(&json).unwrap()).unwrap();
        assert_eq!(from_proto, from_json);
        assert!(matches!(
            span_records(&ExportTraceServiceRequest::default()),
            Err(OtlpError::Malformed(_))
        ));
        assert!(matches!(
            decode_protobuf(b"\xff\xff\xff"),
            Err(OtlpError::Malformed(_))
        ));
        assert!(matches!(
            decode_json(b"{nope"),
            Err(OtlpError::Malformed(_))
        ));
    }
}
