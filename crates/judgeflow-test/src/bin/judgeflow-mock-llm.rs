//! `judgeflow-mock-llm`: the stand-in OpenAI-compatible chat server as a process, for Python
//! tests and benchmark scripts (point the `openai` package's `base_url` at it). The first line
//! on stdout is the base URL, `http://<host>:<port>/v1`; logs go to stderr. Stops on Ctrl-C or
//! SIGTERM. `GET /mock/counters` (JSON) says what it has seen, for benchmark tables.

use std::io::Write as _;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use judgeflow_test::mock_llm::{self, Fault, FaultRule, MockLlmConfig, MockState, RetryAfter};
use tokio::net::TcpListener;

/// A stand-in OpenAI-compatible chat server with deterministic answers and injectable faults.
///
/// Target calls echo the last user message; judge calls (a JSON `response_format`) answer
/// `{"rationale": …, "result": "yes"|"no"}`: yes when the text between `<output>` and
/// `</output>` contains the text between `<expected>` and `</expected>`. Prompts with a
/// `<Rubric>…</Rubric>` section (promptfoo's `llm-rubric`) answer `{"reason", "pass",
/// "score"}`, reading the output from `<Output>…</Output>`. `GET /mock/counters` reports the
/// calls seen and the most in flight at once; `POST /mock/reset` zeroes them.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on; 0 picks a free one (read the URL from stdout).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Latency added to every response except 429s, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Answer the first N chat calls with 429.
    #[arg(long, value_name = "N")]
    rate_limit_first: Option<u64>,
    /// Answer every K-th chat call with 429.
    #[arg(long, value_name = "K")]
    rate_limit_every: Option<u64>,
    /// `Retry-After` seconds sent with each 429 (0 sends `Retry-After: 0`).
    #[arg(long, value_name = "SECONDS", default_value_t = 1)]
    retry_after: u64,
    /// Answer the first N chat calls with 500.
    #[arg(long, value_name = "N")]
    server_error_first: Option<u64>,
    /// Answer every K-th chat call with 500.
    #[arg(long, value_name = "K")]
    server_error_every: Option<u64>,
    /// Hang the first N chat calls for --hang-ms before answering.
    #[arg(long, value_name = "N")]
    hang_first: Option<u64>,
    /// How long a hung call waits before answering, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 30_000)]
    hang_ms: u64,
    /// Answer the first N judge calls with text that is not JSON.
    #[arg(long, value_name = "N")]
    malformed_judge_first: Option<u64>,
}

impl Args {
    fn config(&self) -> MockLlmConfig {
        let rate_limit = Fault::RateLimit {
            retry_after: RetryAfter::Seconds(self.retry_after),
        };
        let server_error = Fault::ServerError { status: 500 };
        let rules = [
            self.rate_limit_first
                .map(|n| FaultRule::first(n, rate_limit.clone())),
            self.rate_limit_every
                .map(|k| FaultRule::every(k, rate_limit.clone())),
            self.server_error_first
                .map(|n| FaultRule::first(n, server_error.clone())),
            self.server_error_every
                .map(|k| FaultRule::every(k, server_error.clone())),
            self.hang_first
                .map(|n| FaultRule::first(n, Fault::Hang(Duration::from_millis(self.hang_ms)))),
            self.malformed_judge_first
                .map(|n| FaultRule::first(n, Fault::MalformedJudge)),
        ];
        MockLlmConfig {
            latency: Duration::from_millis(self.latency_ms),
            faults: rules.into_iter().flatten().collect(),
            models: vec!["mock-target".into(), "mock-judge".into()],
            ..MockLlmConfig::default()
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

    let listener = TcpListener::bind((args.host.as_str(), args.port))
        .await
        .with_context(|| format!("binding {}:{}", args.host, args.port))?;
    let addr = listener.local_addr()?;
    // Scripts block on this line to learn the port, so flush it before serving.
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "http://{addr}/v1")?;
    stdout.flush()?;
    drop(stdout);
    tracing::info!(%addr, ?args, "stand-in LLM listening");

    mock_llm::serve(listener, MockState::new(args.config()), shutdown_signal()).await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
