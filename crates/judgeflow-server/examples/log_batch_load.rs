//! A native log-batch load generator: posts `--batches` `runs/log-batch` requests of
//! `--metrics` points each into one run, from `--connections` concurrent connections, and
//! reports points per second and request latency. Every body is built before the clock starts
//! (so the numbers are the server's, not a client's JSON encoder), and every point is new:
//! batch `b` carries steps `first-step + b × metrics …`, under one of `--keys` metric keys in
//! turn (a second load into the same run needs another `--first-step`).
//!
//! ```sh
//! cargo run --release -p judgeflow-server --example log_batch_load -- \
//!     --url http://127.0.0.1:5000 --run-id RUN --batches 200 --connections 1
//! ```
//!
//! It speaks the MLflow REST API only, so it measures `mlflow server` the same way.

mod loadgen;

use std::fmt::Write as _;

struct Options {
    url: String,
    run_id: String,
    batches: usize,
    metrics: usize,
    keys: usize,
    connections: usize,
    first_step: usize,
}

fn parse_args() -> Options {
    let mut options = Options {
        url: "http://127.0.0.1:5000".into(),
        run_id: String::new(),
        batches: 200,
        metrics: 1000,
        keys: 2,
        connections: 1,
        first_step: 0,
    };
    for (flag, value) in loadgen::flags() {
        let number = || loadgen::number::<usize>(&flag, &value);
        match flag.as_str() {
            "--url" => options.url.clone_from(&value),
            "--run-id" => options.run_id.clone_from(&value),
            "--batches" => options.batches = number(),
            "--metrics" => options.metrics = number(),
            "--keys" => options.keys = number().max(1),
            "--connections" => options.connections = number().max(1),
            "--first-step" => options.first_step = number(),
            other => panic!("unknown flag {other}"),
        }
    }
    assert!(!options.run_id.is_empty(), "--run-id is required");
    options
}

/// Batch `b`'s JSON body, shaped as the tracking benchmark's (and the client's) batches.
fn body(b: usize, options: &Options) -> String {
    let key = format!("metric-{}", b % options.keys);
    let mut json = format!("{{\"run_id\": \"{}\", \"metrics\": [", options.run_id);
    for j in 0..options.metrics {
        let step = options.first_step + b * options.metrics + j;
        if j > 0 {
            json.push_str(", ");
        }
        write!(
            json,
            "{{\"key\": \"{key}\", \"value\": {}, \"timestamp\": {}, \"step\": {step}}}",
            step as f64 / 7.0,
            1_700_000_000_000u64 + step as u64
        )
        .unwrap();
    }
    json.push_str("]}");
    json
}

#[tokio::main]
async fn main() {
    let options = parse_args();
    let bodies: Vec<bytes::Bytes> = (0..options.batches)
        .map(|b| bytes::Bytes::from(body(b, &options)))
        .collect();
    let url = format!(
        "{}/api/2.0/mlflow/runs/log-batch",
        options.url.trim_end_matches('/')
    );
    let report = loadgen::run(options.connections, options.batches, move |client, b| {
        client
            .post(&url)
            .header("content-type", "application/json")
            .body(bodies[b].clone())
    })
    .await;
    let points = options.batches * options.metrics;
    println!(
        "{{\"batches\": {}, \"points\": {points}, \"connections\": {}, \"seconds\": {:.3}, \
         \"points_per_s\": {:.0}, \"p50_ms\": {:.3}, \"p99_ms\": {:.3}, \"failures\": {}}}",
        options.batches,
        options.connections,
        report.seconds,
        points as f64 / report.seconds,
        report.p50_ms,
        report.p99_ms,
        report.failures
    );
}
