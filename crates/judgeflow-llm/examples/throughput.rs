//! Throughput of the client at a fixed concurrency against the stand-in server: fires `--calls`
//! chat calls, all at once, through one client whose concurrency limit is `--concurrency`, at
//! `--latency-ms` per answer, and prints achieved ÷ ideal, where ideal wall time is
//! `calls × latency ÷ concurrency`.
//!
//! ```text
//! cargo run --release -p judgeflow-llm --example throughput -- --calls 2000 --concurrency 50
//! ```
//!
//! By default the stand-in runs in this process; `--base-url URL` aims at a running
//! `judgeflow-mock-llm --latency-ms 50` instead (its latency flag must match `--latency-ms`).

use std::time::{Duration, Instant};

use judgeflow_llm::{ChatRequest, EndpointConfig, LlmClient};
use judgeflow_test::{MockLlm, MockLlmConfig};

struct Args {
    calls: usize,
    concurrency: usize,
    latency: Duration,
    base_url: Option<String>,
}

fn parse_args() -> Args {
    let mut args = Args {
        calls: 2_000,
        concurrency: 10,
        latency: Duration::from_millis(50),
        base_url: None,
    };
    let mut words = std::env::args().skip(1);
    while let Some(flag) = words.next() {
        let mut value = || {
            words
                .next()
                .unwrap_or_else(|| panic!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--calls" => args.calls = value().parse().expect("--calls: a number"),
            "--concurrency" => args.concurrency = value().parse().expect("--concurrency: a number"),
            "--latency-ms" => {
                args.latency =
                    Duration::from_millis(value().parse().expect("--latency-ms: a number"));
            }
            "--base-url" => args.base_url = Some(value()),
            other => panic!(
                "unknown argument {other}; use --calls N --concurrency C --latency-ms MS [--base-url URL]"
            ),
        }
    }
    args
}

#[tokio::main]
async fn main() {
    let args = parse_args();
    let mock = match args.base_url {
        Some(_) => None,
        None => Some(MockLlm::start_with(MockLlmConfig::default().latency(args.latency)).await),
    };
    let base_url = args
        .base_url
        .clone()
        .unwrap_or_else(|| mock.as_ref().expect("started above").base_url());

    let mut config = EndpointConfig::new(base_url, "mock-target");
    config.limits.max_concurrency = args.concurrency;
    let client = LlmClient::new(config).expect("a valid endpoint");

    let started = Instant::now();
    let tasks: Vec<_> = (0..args.calls)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                client
                    .chat(&ChatRequest::user(format!("row {i}: what is the answer?")))
                    .await
            })
        })
        .collect();
    let mut failures = 0;
    for task in tasks {
        if task.await.expect("the call task panicked").is_err() {
            failures += 1;
        }
    }
    let achieved = started.elapsed();

    let ideal = args
        .latency
        .mul_f64(args.calls as f64 / args.concurrency as f64);
    let ratio = ideal.as_secs_f64() / achieved.as_secs_f64();
    println!(
        "calls={} concurrency={} latency={:?} achieved={:.3}s ideal={:.3}s achieved/ideal={:.1}% failures={}",
        args.calls,
        args.concurrency,
        args.latency,
        achieved.as_secs_f64(),
        ideal.as_secs_f64(),
        ratio * 100.0,
        failures,
    );
    if let Some(mock) = &mock {
        println!("server max in flight: {}", mock.counters().max_in_flight);
    }
}
