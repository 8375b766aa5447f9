//! `judgeflow eval run suite.yaml`: resolves the store, secrets and flags at this edge, runs
//! the engine with a Ctrl-C handler and a progress bar, prints the summary and writes the
//! reports. The exit code is the gate's: 0 passed, 1 gate failed, 2 the run itself failed.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use judgeflow_artifacts::ArtifactStore;
use judgeflow_engine::{Progress, ProgressStats, RunOptions, StoreCallCache, StoreSink, report};
use tokio::sync::watch;

use crate::env;

#[derive(Debug, Subcommand)]
pub(crate) enum EvalCommand {
    /// Evaluate a suite: run the target on every row, score it, store the run, apply the gate.
    Run(RunArgs),
    /// Print the JSON Schema of suite files (for editors).
    Schema,
}

#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {
    /// The suite file (YAML).
    suite: PathBuf,
    /// Where results go: `sqlite:///<path>` or a path (written directly). Also read from
    /// `JUDGEFLOW_TRACKING_URI`, then `MLFLOW_TRACKING_URI`.
    #[arg(long, env = env::TRACKING_URI)]
    tracking_uri: Option<String>,
    /// The artifact folder (the server's `--artifacts-destination`).
    #[arg(long, env = env::ARTIFACTS_DESTINATION, default_value = "./judgeflow-artifacts")]
    artifacts_destination: String,
    /// Neither read nor write the call cache.
    #[arg(long)]
    no_cache: bool,
    /// Continue an interrupted run: rows it finished are kept, the rest evaluated.
    #[arg(long, value_name = "RUN_ID")]
    resume: Option<String>,
    /// Rows in flight at once (overrides the suite's `concurrency`).
    #[arg(long)]
    concurrency: Option<usize>,
    /// The run's name.
    #[arg(long)]
    run_name: Option<String>,
    /// Print the report as JSON on stdout instead of a table.
    #[arg(long)]
    json: bool,
    /// Write a `JUnit` XML report here (one test case per row × scorer).
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write a Markdown summary here (e.g. `$GITHUB_STEP_SUMMARY`).
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
    /// No progress bar even on a terminal.
    #[arg(long)]
    no_progress: bool,
}

struct Bar(ProgressBar);

impl Progress for Bar {
    fn started(&self, done: u64) {
        if done > 0 {
            self.0
                .println(format!("resuming: {done} rows already finished"));
        }
    }

    fn row_finished(&self, stats: &ProgressStats) {
        self.0.set_position(stats.rows);
        self.0.set_message(format!(
            "errors {}  cache hits {}",
            stats.errors, stats.cache_hits
        ));
    }

    fn finished(&self) {
        self.0.finish_and_clear();
    }
}

/// CLI > `JUDGEFLOW_TRACKING_URI` (clap) > `MLFLOW_TRACKING_URI` > the embedded default.
fn tracking_uri(flag: Option<String>) -> String {
    flag.or_else(|| {
        std::env::var(env::MLFLOW_TRACKING_URI)
            .ok()
            .filter(|v| !v.is_empty())
    })
    .unwrap_or_else(|| "sqlite:///judgeflow.db".to_owned())
}

pub(crate) async fn eval(command: EvalCommand) -> ExitCode {
    match command {
        EvalCommand::Schema => {
            let schema = judgeflow_engine::suite::json_schema();
            println!(
                "{}",
                serde_json::to_string_pretty(&schema).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        EvalCommand::Run(args) => match run(args).await {
            Ok(code) => ExitCode::from(code),
            Err(error) => {
                eprintln!("judgeflow: {error:#}");
                ExitCode::from(2)
            }
        },
    }
}

async fn run(args: RunArgs) -> anyhow::Result<u8> {
    let lookup = |name: &str| std::env::var(name).ok();
    let loaded = judgeflow_engine::suite::load(&args.suite, &lookup)?;
    let uri = tracking_uri(args.tracking_uri);
    if uri.starts_with("http://") || uri.starts_with("https://") {
        anyhow::bail!(
            "tracking URI {uri}: writing to a server over HTTP is not yet supported; use a \
             sqlite:/// URI or a path (the server can serve the same file)"
        );
    }
    let store = Arc::new(crate::open_store(&uri).await?);
    let artifacts = ArtifactStore::open(&args.artifacts_destination).map_err(|e| {
        anyhow::anyhow!(
            "could not open the artifact folder {}: {e}",
            args.artifacts_destination
        )
    })?;
    let user = std::env::var("USER").unwrap_or_else(|_| "judgeflow".to_owned());
    let sink = Arc::new(StoreSink::new(store.clone(), artifacts, user));
    let cache = Arc::new(StoreCallCache::new(store.clone()));
    let work_dir = std::env::temp_dir().join(format!("judgeflow-eval-{}", std::process::id()));

    let (stop, stopped) = watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("judgeflow: stopping; rows in flight finish (Ctrl-C again to quit now)");
            let _ = stop.send(true);
        }
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(130);
        }
    });

    let progress: Arc<dyn Progress> = if !args.no_progress && std::io::stderr().is_terminal() {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {pos} rows  {per_sec}  {elapsed}  {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        Arc::new(Bar(bar))
    } else {
        Arc::new(judgeflow_engine::NoProgress)
    };
    let options = RunOptions {
        concurrency: args.concurrency,
        cache: !args.no_cache,
        resume: args.resume,
        run_name: args.run_name,
        work_dir: work_dir.clone(),
        secrets: Arc::new(|name: &str| std::env::var(name).ok()),
        retry: None,
    };
    let result =
        judgeflow_engine::run_suite(&loaded, sink, Some(cache), options, progress, stopped).await;
    let _ = std::fs::remove_dir_all(&work_dir);
    store.close().await;
    let report = result?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report::to_json(&report))?
        );
    } else {
        print!("{}", report::to_table(&report));
    }
    if let Some(path) = &args.junit {
        std::fs::write(path, report::to_junit(&report))
            .map_err(|e| anyhow::anyhow!("--junit {}: {e}", path.display()))?;
    }
    if let Some(path) = &args.markdown {
        // Appending: GitHub's step summary file collects every step's output.
        use std::io::Write as _;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| anyhow::anyhow!("--markdown {}: {e}", path.display()))?;
        file.write_all(report::to_markdown(&report).as_bytes())?;
    }
    if let Some(error) = &report.fatal {
        eprintln!("judgeflow: {error}");
    }
    Ok(report.exit_code())
}
