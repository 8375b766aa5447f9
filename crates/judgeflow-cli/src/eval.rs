//! `judgeflow eval run suite.yaml`: resolves the sink (a local store, or a server's REST API
//! for an `http(s)://` tracking URI), the call cache, secrets and flags at this edge, runs
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
use judgeflow_engine::{
    Progress, ProgressStats, RestAuth, RestData, RestOptions, RestSink, ResultSink, RunOptions,
    StoreCallCache, StoreData, StoreSink, StoredData, report,
};
use judgeflow_llm::{ApiKey, CallCache, RetryPolicy};
use judgeflow_store_sqlite::SqliteStore;
use tokio::sync::watch;

use crate::env;

#[derive(Debug, Subcommand)]
pub(crate) enum EvalCommand {
    /// Evaluate a suite: run the target on every row, score it, store the run, apply the gate.
    Run(Box<RunArgs>),
    /// Print the JSON Schema of suite files (for editors).
    Schema,
}

#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {
    /// The suite file (YAML).
    suite: PathBuf,
    /// Where results go: `sqlite:///<path>` or a path (written directly), or the
    /// `http(s)://` URI of a running `judgeflow server` or `mlflow server` (written through its
    /// REST API; credentials from `MLFLOW_TRACKING_USERNAME`/`MLFLOW_TRACKING_PASSWORD` or
    /// `MLFLOW_TRACKING_TOKEN`). Also read from `JUDGEFLOW_TRACKING_URI`, then
    /// `MLFLOW_TRACKING_URI`.
    #[arg(long, env = env::TRACKING_URI)]
    tracking_uri: Option<String>,
    /// The artifact folder (the server's `--artifacts-destination`); unused with an `http(s)://`
    /// tracking URI, where artifacts go through the server.
    #[arg(long, env = env::ARTIFACTS_DESTINATION, default_value = "./judgeflow-artifacts")]
    artifacts_destination: String,
    /// Neither read nor write the call cache.
    #[arg(long)]
    no_cache: bool,
    /// The call cache's SQLite file. Default: the store itself for a path or `sqlite:///` URI;
    /// `$XDG_CACHE_HOME/judgeflow/call-cache.db` (or `~/.cache/judgeflow/call-cache.db`) for
    /// an `http(s)://` URI, since a server has no cache endpoint.
    #[arg(long, env = env::CACHE_DB, value_name = "PATH")]
    cache_db: Option<PathBuf>,
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
        EvalCommand::Run(args) => match run(*args).await {
            Ok(code) => ExitCode::from(code),
            Err(error) => {
                eprintln!("judgeflow: {error:#}");
                ExitCode::from(2)
            }
        },
    }
}

fn is_remote(uri: &str) -> bool {
    uri.starts_with("http://") || uri.starts_with("https://")
}

/// A variable's value, `None` when unset or empty.
fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn seconds(name: &str, default: f64) -> anyhow::Result<Duration> {
    match var(name) {
        None => Ok(Duration::from_secs_f64(default)),
        Some(text) => text
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64)
            .ok_or_else(|| anyhow::anyhow!("{name}={text}: expected a number of seconds")),
    }
}

/// The REST sink's settings from the environment, as the `mlflow` client reads them.
fn rest_options(uri: &str, user: String) -> anyhow::Result<RestOptions> {
    let auth = match (
        var(env::MLFLOW_TRACKING_USERNAME),
        var(env::MLFLOW_TRACKING_PASSWORD),
        var(env::MLFLOW_TRACKING_TOKEN),
    ) {
        (Some(username), Some(password), _) => Some(RestAuth::Basic {
            username,
            password: ApiKey::new(password),
        }),
        (_, _, Some(token)) => Some(RestAuth::Bearer(ApiKey::new(token))),
        _ => None,
    };
    let retries = match var(env::MLFLOW_HTTP_REQUEST_MAX_RETRIES) {
        None => 5,
        Some(text) => text.parse::<u32>().map_err(|_| {
            anyhow::anyhow!(
                "{}={text}: expected a number of retries",
                env::MLFLOW_HTTP_REQUEST_MAX_RETRIES
            )
        })?,
    };
    let retry = RetryPolicy {
        max_attempts: retries.saturating_add(1),
        base_delay: seconds(env::MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR, 0.5)?,
        ..RetryPolicy::default()
    };
    Ok(RestOptions {
        tracking_uri: uri.to_owned(),
        auth,
        retry,
        timeout: seconds(env::MLFLOW_HTTP_REQUEST_TIMEOUT, 120.0)?,
        user,
    })
}

/// The default call cache for a server run: under `$XDG_CACHE_HOME`, else `~/.cache`.
fn default_cache_db() -> anyhow::Result<PathBuf> {
    let root = var(env::XDG_CACHE_HOME)
        .map(PathBuf::from)
        .or_else(|| var(env::HOME).map(|home| PathBuf::from(home).join(".cache")))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "no cache folder: set {} or HOME, pass --cache-db, or --no-cache",
                env::XDG_CACHE_HOME
            )
        })?;
    Ok(root.join("judgeflow").join("call-cache.db"))
}

async fn open_cache_db(path: &std::path::Path) -> anyhow::Result<SqliteStore> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| anyhow::anyhow!("--cache-db {}: {e}", path.display()))?;
    }
    crate::open_store(&format!("sqlite:///{}", path.display())).await
}

async fn run(args: RunArgs) -> anyhow::Result<u8> {
    let lookup = |name: &str| std::env::var(name).ok();
    let loaded = judgeflow_engine::suite::load(&args.suite, &lookup)?;
    let uri = tracking_uri(args.tracking_uri);
    let user = std::env::var("USER").unwrap_or_else(|_| "judgeflow".to_owned());
    // The sink writes results; `stored` reads stored datasets and traces from the same place.
    let (sink, stored, store): (
        Arc<dyn ResultSink>,
        Arc<dyn StoredData>,
        Option<SqliteStore>,
    ) = if is_remote(&uri) {
        let options = rest_options(&uri, user)?;
        let sink = RestSink::new(&options)?;
        (Arc::new(sink), Arc::new(RestData::new(&options)?), None)
    } else {
        let store = crate::open_store(&uri).await?;
        let artifacts = ArtifactStore::open(&args.artifacts_destination).map_err(|e| {
            anyhow::anyhow!(
                "could not open the artifact folder {}: {e}",
                args.artifacts_destination
            )
        })?;
        let sink = StoreSink::new(Arc::new(store.clone()), artifacts, user);
        let stored = StoreData::new(Arc::new(store.clone()), format!("store {uri}"));
        (Arc::new(sink), Arc::new(stored), Some(store))
    };
    // The cache: none with --no-cache; the store itself unless another file is named; for a
    // server, a local file (a remote MLflow has no cache endpoint).
    let cache_db = match (args.no_cache, args.cache_db) {
        (false, Some(path)) => Some(open_cache_db(&path).await?),
        (false, None) if store.is_none() => Some(open_cache_db(&default_cache_db()?).await?),
        _ => None,
    };
    let cache: Option<Arc<dyn CallCache>> = match (&cache_db, &store) {
        (Some(db), _) => Some(Arc::new(StoreCallCache::new(Arc::new(db.clone())))),
        (None, Some(store)) if !args.no_cache => {
            Some(Arc::new(StoreCallCache::new(Arc::new(store.clone()))))
        }
        _ => None,
    };
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
        keep_rows: args.junit.is_some() || args.markdown.is_some(),
        stored: Some(stored),
    };
    let result =
        judgeflow_engine::run_suite(&loaded, sink, cache, options, progress, stopped).await;
    let _ = std::fs::remove_dir_all(&work_dir);
    if let Some(store) = store {
        store.close().await;
    }
    if let Some(db) = cache_db {
        db.close().await;
    }
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
