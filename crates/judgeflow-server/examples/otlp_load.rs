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

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .unwrap_or_else(|| panic!("{flag} needs a value"));
        let number = || {
            value
                .parse::<u64>()
                .unwrap_or_else(|_| panic!("{flag}: not a number"))
        };
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
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(options.connections as usize)
        .build()
        .unwrap();
    let next = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(AtomicU64::new(0));
    let url = format!("{}/v1/traces", options.url.trim_end_matches('/'));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..options.connections {
        let (client, next, failures, options, url) = (
            client.clone(),
            next.clone(),
            failures.clone(),
            options.clone(),
            url.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= options.requests {
                    break;
                }
                let payload = body(n, salt, &options);
                let sent = Instant::now();
                let response = client
                    .post(&url)
                    .header("content-type", "application/x-protobuf")
                    .header("x-mlflow-experiment-id", &options.experiment_id)
                    .body(payload)
                    .send()
                    .await;
                match response {
                    Ok(r) if r.status().is_success() => {}
                    Ok(r) => {
                        failures.fetch_add(1, Ordering::Relaxed);
                        eprintln!(
                            "status {}: {}",
                            r.status(),
                            r.text().await.unwrap_or_default()
                        );
                    }
                    Err(e) => {
                        failures.fetch_add(1, Ordering::Relaxed);
                        eprintln!("error: {e}");
                    }
                }
                latencies.push(sent.elapsed());
            }
            latencies
        }));
    }
    let mut latencies: Vec<Duration> = Vec::new();
    for worker in workers {
        latencies.extend(worker.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let pct = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    let spans = options.requests * options.traces_per_request * options.spans_per_trace;
    println!(
        "{{\"requests\": {}, \"spans\": {spans}, \"seconds\": {elapsed:.3}, \"requests_per_s\": {:.0}, \
         \"spans_per_s\": {:.0}, \"p50_ms\": {:.2}, \"p99_ms\": {:.2}, \"failures\": {}}}",
        options.requests,
        options.requests as f64 / elapsed,
        spans as f64 / elapsed,
        pct(0.5),
        pct(0.99),
        failures.load(Ordering::Relaxed)
    );
}
