//! The closed loop both load generators run: `connections` tasks take request numbers from one
//! counter until `requests` are sent, each waiting for its answer before the next, and the
//! wall clock and every request's latency are reported.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub struct Report {
    pub seconds: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub failures: usize,
}

/// Sends request `n` (built by `request`) for every `n < requests`, over `connections`.
pub async fn run<F>(connections: usize, requests: usize, request: F) -> Report
where
    F: Fn(&reqwest::Client, usize) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .tcp_nodelay(true)
        .build()
        .unwrap();
    let request = Arc::new(request);
    let next = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..connections {
        let (client, request, next, failures) = (
            client.clone(),
            request.clone(),
            next.clone(),
            failures.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= requests {
                    break;
                }
                let builder = request(&client, n);
                let sent = Instant::now();
                match builder.send().await {
                    Ok(r) if r.status().is_success() => {
                        // Read the answer so the connection is reused.
                        let _ = r.bytes().await;
                    }
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
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort();
    let pct = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    Report {
        seconds,
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
        failures: failures.load(Ordering::Relaxed),
    }
}

/// The command line as `--flag value` pairs.
pub fn flags() -> impl Iterator<Item = (String, String)> {
    let mut args = std::env::args().skip(1);
    std::iter::from_fn(move || {
        let flag = args.next()?;
        let value = args
            .next()
            .unwrap_or_else(|| panic!("{flag} needs a value"));
        Some((flag, value))
    })
}

/// A flag's value as a number.
pub fn number<T: std::str::FromStr>(flag: &str, value: &str) -> T {
    value
        .parse()
        .unwrap_or_else(|_| panic!("{flag}: not a number"))
}
