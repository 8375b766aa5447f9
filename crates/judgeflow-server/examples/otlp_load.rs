//! A native OTLP load generator: sends protobuf `ExportTraceServiceRequest`s to a running
//! server's `/v1/traces` from `--connections` concurrent connections and reports spans per
//! second and request latency. Every request carries `--traces-per-request` new traces of
//! `--spans-per-trace` spans each (one root, the rest its children), with MLflow-style
//! attributes, so nothing is an upsert of an earlier request.
//!
//! ```sh
//! cargo run --release -p judgeflow-server --example otlp_load -- \
//!     --url http://127.0.0.1:5000 --experiment-id 0 --requests 4000
//! ```

mod loadgen;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, status};
use prost::Message as _;

struct Options {
    url: String,
    experiment_id: String,
    requests: u64,
    connections: u64,
    traces_per_request: u64,
    spans_per_trace: u64,
}

fn parse_args() -> Options {
    let mut options = Options {
        url: "http://127.0.0.1:5000".into(),
        experiment_id: "0".into(),
        requests: 2000,
        connections: 16,
        traces_per_request: 1,
        spans_per_trace: 20,
    };
    for (flag, value) in loadgen::flags() {
        let number = || loadgen::number::<u64>(&flag, &value);
        match flag.as_str() {
            "--url" => options.url.clone_from(&value),
            "--experiment-id" => options.experiment_id.clone_from(&value),
            "--requests" => options.requests = number(),
            "--connections" => options.connections = number(),
            "--traces-per-request" => options.traces_per_request = number(),
            "--spans-per-trace" => options.spans_per_trace = number(),
            other => panic!("unknown flag {other}"),
        }
    }
    options
}

fn text(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..KeyValue::default()
    }
}

/// Request `n`'s body: fresh trace ids derived from `n` and a per-run salt.
fn body(n: u64, salt: u64, options: &Options) -> Vec<u8> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let mut spans = Vec::new();
    for t in 0..options.traces_per_request {
        let mut trace_id = [0u8; 16];
        trace_id[..8].copy_from_slice(&salt.to_be_bytes());
        trace_id[8..].copy_from_slice(&(n * options.traces_per_request + t).to_be_bytes());
        let request_id = format!("tr-{:032x}", u128::from_be_bytes(trace_id));
        for s in 0..options.spans_per_trace {
            spans.push(Span {
                trace_id: trace_id.to_vec(),
                span_id: (s + 1).to_be_bytes().to_vec(),
                parent_span_id: if s == 0 {
                    Vec::new()
                } else {
                    1u64.to_be_bytes().to_vec()
                },
                name: if s == 0 {
                    "agent".into()
                } else {
                    format!("tool-{s}")
                },
                start_time_unix_nano: now + s * 1000,
                end_time_unix_nano: now + 1_000_000 + s * 1000,
                attributes: vec![
                    text("mlflow.traceRequestId", &request_id),
                    text("mlflow.spanType", if s == 0 { "AGENT" } else { "TOOL" }),
                    text(
                        "mlflow.spanInputs",
                        &format!("{{\"query\": \"question number {n} about topic {s}\"}}"),
                    ),
                    text(
                        "mlflow.spanOutputs",
                        &format!("{{\"answer\": \"a reasonably short answer for span {s}\"}}"),
                    ),
                ],
                status: Some(Status {
                    code: status::StatusCode::Ok as i32,
                    message: String::new(),
                }),
                ..Span::default()
            });
        }
    }
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans,
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
    .encode_to_vec()
}

#[tokio::main]
async fn main() {
    let options = Arc::new(parse_args());
    let salt = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let url = format!("{}/v1/traces", options.url.trim_end_matches('/'));
    let requests = usize::try_from(options.requests).unwrap();
    let connections = usize::try_from(options.connections).unwrap();
    let generator = options.clone();
    let report = loadgen::run(connections, requests, move |client, n| {
        client
            .post(&url)
            .header("content-type", "application/x-protobuf")
            .header("x-mlflow-experiment-id", &generator.experiment_id)
            .body(body(n as u64, salt, &generator))
    })
    .await;
    let spans = options.requests * options.traces_per_request * options.spans_per_trace;
    println!(
        "{{\"requests\": {}, \"spans\": {spans}, \"seconds\": {:.3}, \"requests_per_s\": {:.0}, \
         \"spans_per_s\": {:.0}, \"p50_ms\": {:.2}, \"p99_ms\": {:.2}, \"failures\": {}}}",
        options.requests,
        report.seconds,
        options.requests as f64 / report.seconds,
        spans as f64 / report.seconds,
        report.p50_ms,
        report.p99_ms,
        report.failures
    );
}
