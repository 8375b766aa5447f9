//! One suite run: the clients, target and scorers built once, then rows streamed through a
//! bounded pipeline.
//!
//! Rows arrive as a stream from the suite's [`crate::source`] (a file read on a blocking
//! thread, or a stored dataset or traces read a page at a time), pulled only as fast as slots
//! free, so memory stays flat whatever the dataset's size. `buffer_unordered(concurrency)`
//! keeps that many rows in flight; each row calls the target, then runs every scorer at once.
//! A second stage writes each evaluated row to the sink completely before it is counted, with
//! up to twice as many writes in flight, so a pause in the store does not hold up evaluation.
//! Endpoint limits hold across rows because every row shares one [`LlmClient`] per endpoint.
//! A stop request lets rows in flight finish and starts no new one; the run then ends
//! `KILLED`, its finished rows kept for `--resume`.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use judgeflow_domain::RunStatus;
use judgeflow_llm::{
    ApiKey, CallCache, ChatParams, EndpointConfig, Limits, LlmClient, RetryPolicy,
};
use serde_json::Value;
use tokio::sync::watch;

use crate::error::EngineError;
use crate::judge::JudgeScorer;
use crate::outcome::{RowResult, Score, now_ns};
use crate::results::ResultsFiles;
use crate::rows::EvalRow;
use crate::scorer::{ScoreInput, Scorer};
use crate::sink::{PriorRow, ResultSink, RunFinish, RunPlan, RunRef};
use crate::source::StoredData;
use crate::suite::{EndpointSpec, LoadedSuite, TargetSpec};
use crate::summary::{RunReport, Summary};
use crate::target::{CommandTarget, Target};

/// Reads a secret (an API key) by the environment variable a suite names.
pub type SecretLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// How to run, resolved by the caller (flags over environment over suite).
#[derive(Clone)]
pub struct RunOptions {
    /// Overrides the suite's `concurrency`.
    pub concurrency: Option<usize>,
    /// `false` with `--no-cache`: neither read nor write the call cache.
    pub cache: bool,
    /// Continue this run instead of starting one.
    pub resume: Option<String>,
    pub run_name: Option<String>,
    /// Where the results files are written before they are stored as artifacts.
    pub work_dir: PathBuf,
    /// Looks up the environment variables the suite names for API keys.
    pub secrets: SecretLookup,
    /// Overrides every endpoint's retry policy (tests use one without delays).
    pub retry: Option<RetryPolicy>,
    /// Keep every row's scores in the report's `rows_table` (for the `JUnit` and Markdown reports);
    /// off, memory stays flat in the number of rows.
    pub keep_rows: bool,
    /// Where stored datasets and traces are read (the tracking URI's store or server); a
    /// suite with a file dataset needs none.
    pub stored: Option<Arc<dyn StoredData>>,
}

/// What the pipeline reports as it goes, for a progress bar.
pub trait Progress: Send + Sync {
    /// `total` is unknown for streamed files; `done` counts rows finished by an earlier attempt.
    fn started(&self, done: u64);
    fn row_finished(&self, stats: &ProgressStats);
    fn finished(&self);
}

/// A progress sink that shows nothing.
pub struct NoProgress;

impl Progress for NoProgress {
    fn started(&self, _done: u64) {}
    fn row_finished(&self, _stats: &ProgressStats) {}
    fn finished(&self) {}
}

#[derive(Debug, Clone, Copy, Default)]
pub struct ProgressStats {
    pub rows: u64,
    pub errors: u64,
    pub cache_hits: u64,
}

fn endpoint_config(
    what: &str,
    spec: &EndpointSpec,
    options: &RunOptions,
) -> Result<EndpointConfig, EngineError> {
    let mut config = EndpointConfig::new(spec.base_url.clone(), spec.model.clone());
    if let Some(variable) = &spec.api_key_env {
        let key = (options.secrets)(variable).ok_or_else(|| {
            EngineError::Config(format!(
                "{what}: the API key variable {variable} (api_key_env) is not set"
            ))
        })?;
        config.api_key = Some(ApiKey::new(key));
    }
    config.defaults = serde_json::from_value::<ChatParams>(Value::Object(
        spec.params.clone().into_iter().collect(),
    ))
    .map_err(|e| EngineError::Config(format!("{what}.params: {e}")))?;
    if let Some(timeout) = spec.timeout_s {
        config.timeout = Duration::from_secs_f64(timeout);
    }
    if let Some(attempts) = spec.max_attempts {
        config.retry.max_attempts = attempts.max(1);
    }
    if let Some(retry) = &options.retry {
        config.retry = retry.clone();
    }
    let defaults = Limits::default();
    config.limits = Limits {
        max_concurrency: spec
            .limits
            .max_concurrency
            .unwrap_or(defaults.max_concurrency),
        requests_per_minute: spec.limits.rpm,
        tokens_per_minute: spec.limits.tpm,
        ..defaults
    };
    Ok(config)
}

fn client(
    config: EndpointConfig,
    cache: Option<&(Arc<dyn CallCache>, Option<Duration>)>,
) -> Result<LlmClient, EngineError> {
    let client = LlmClient::new(config).map_err(|e| EngineError::Config(e.to_string()))?;
    Ok(match cache {
        Some((cache, ttl)) => client.with_cache(cache.clone(), *ttl),
        None => client,
    })
}

struct Prepared {
    target: Target,
    scorers: Vec<Scorer>,
    clients: Vec<LlmClient>,
}

fn prepare(
    loaded: &LoadedSuite,
    options: &RunOptions,
    cache: Option<Arc<dyn CallCache>>,
) -> Result<Prepared, EngineError> {
    let suite = &loaded.suite;
    let cache = cache
        .filter(|_| options.cache && suite.cache.enabled)
        .map(|cache| (cache, suite.cache.ttl_s.map(Duration::from_secs)));
    let mut clients = Vec::new();
    let mut judges = BTreeMap::new();
    for (name, spec) in &suite.judges {
        let mut config = endpoint_config(&format!("judges.{name}"), spec, options)?;
        // Judges are asked for a verdict, not creativity: deterministic by default.
        config.defaults.temperature = config.defaults.temperature.or(Some(0.0));
        let judge = client(config, cache.as_ref())?;
        clients.push(judge.clone());
        judges.insert(name.clone(), judge);
    }
    let mut scorers = Vec::new();
    for spec in &suite.scorers {
        let scorer = if let Some(scorer) = Scorer::deterministic(spec)? {
            scorer
        } else {
            let judge = JudgeScorer::build(spec, &judges)?.ok_or_else(|| {
                EngineError::Config(format!("scorer kind {} is not supported", spec.kind()))
            })?;
            Scorer::judge(spec.name(), judge)
        };
        scorers.push(scorer);
    }
    let target = match &suite.target {
        TargetSpec::Recorded(_) => Target::Recorded,
        TargetSpec::Openai(spec) => {
            let config = endpoint_config("target", &spec.endpoint(), options)?;
            let target = client(config, cache.as_ref())?;
            clients.push(target.clone());
            Target::OpenAi {
                client: target,
                messages: spec.messages.clone(),
            }
        }
        TargetSpec::Http(spec) => Target::http(spec.clone())?,
        TargetSpec::Command(spec) => Target::Command(CommandTarget::start(spec, &loaded.base_dir)?),
    };
    Ok(Prepared {
        target,
        scorers,
        clients,
    })
}

async fn evaluate_row(prepared: &Prepared, row: EvalRow) -> RowResult {
    let start_ns = now_ns();
    let started = Instant::now();
    let target = prepared.target.call(&row).await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let (outputs, retrieved_context, target_calls, error) = match target {
        Ok(output) => (
            Some(output.outputs),
            output.retrieved_context,
            output.calls,
            None,
        ),
        Err((error, calls)) => (None, row.retrieved_context.clone(), calls, Some(error)),
    };
    let scores: Vec<Score> = match &outputs {
        Some(outputs) => {
            let input = ScoreInput {
                row: &row,
                outputs,
                retrieved_context: retrieved_context.as_deref(),
                latency_ms,
            };
            futures::future::join_all(prepared.scorers.iter().map(|s| s.score(&input))).await
        }
        // No output, nothing to judge: every scorer still records why, so no row goes
        // missing from any scorer's count.
        None => prepared
            .scorers
            .iter()
            .map(|s| {
                let source = if s.is_judge() {
                    crate::outcome::SourceKind::LlmJudge
                } else {
                    crate::outcome::SourceKind::Code
                };
                Score::failed(&s.name, source, &s.name, "the target produced no output")
            })
            .collect(),
    };
    let otel_trace_id = crate::sink::random_bytes::<16>();
    RowResult {
        index: row.index,
        id: row.id,
        trace_id: judgeflow_domain::traces::trace_id_from_otel(&otel_trace_id),
        otel_trace_id,
        inputs: row.inputs,
        outputs,
        expectations: row.expectations,
        tags: row.tags,
        retrieved_context,
        start_ns,
        end_ns: now_ns(),
        error,
        target_calls,
        scores,
    }
}

/// Runs a suite to the end (or until `stop` turns true) and reports what happened. An `Err`
/// means the run could not start; failures after the run exists are in the report
/// (`fatal`), with the run marked `FAILED` and its finished rows kept.
pub async fn run_suite(
    loaded: &LoadedSuite,
    sink: Arc<dyn ResultSink>,
    cache: Option<Arc<dyn CallCache>>,
    options: RunOptions,
    progress: Arc<dyn Progress>,
    mut stop: watch::Receiver<bool>,
) -> Result<RunReport, EngineError> {
    let suite = &loaded.suite;
    let prepared = Arc::new(prepare(loaded, &options, cache)?);
    // Opening the source first: a missing file or an unknown dataset is a bad suite, not a
    // failed run.
    let source = crate::source::open(loaded, options.stored.clone()).await?;
    let scorer_names: Vec<String> = prepared.scorers.iter().map(|s| s.name.clone()).collect();
    let plan = RunPlan {
        experiment: suite.experiment.clone(),
        run_name: options.run_name.clone(),
        suite_name: loaded.name(),
        suite_digest: loaded.digest.clone(),
        dataset: source.dataset,
        scorers: scorer_names.clone(),
    };
    let (run, prior): (RunRef, Vec<PriorRow>) = match &options.resume {
        Some(run_id) => sink.resume_run(run_id, &plan).await?,
        None => (sink.start_run(&plan).await?, Vec::new()),
    };
    let mut summary = Summary::new(&scorer_names, &suite.prices).keep_rows(options.keep_rows);
    let mut files = ResultsFiles::create(&options.work_dir, &scorer_names)?;
    let done: HashSet<u64> = prior.iter().map(|p| p.index).collect();
    for row in &prior {
        summary.add_prior(row);
        files.write_prior(row)?;
    }
    progress.started(done.len() as u64);

    let concurrency = options.concurrency.unwrap_or(suite.concurrency).max(1);
    let stopped = stop.clone();
    let pipeline = source
        .rows
        .take_while(move |_| std::future::ready(!*stopped.borrow()))
        .filter(move |row| std::future::ready(!matches!(row, Ok(row) if done.contains(&row.index))))
        .map({
            let prepared = prepared.clone();
            move |row| {
                let prepared = prepared.clone();
                // A task per row: rows progress (and use every core) whoever polls the stream.
                Spawned::new(async move { Ok(evaluate_row(&prepared, row?).await) })
            }
        })
        .buffer_unordered(concurrency)
        // Writing is a stage of its own, so a row's slot frees as soon as it is evaluated: a
        // store that pauses (a WAL checkpoint's fsync, a slow server) delays writes, not the
        // next rows' model calls, until `2 × concurrency` finished rows wait to be written.
        .map({
            let run = run.clone();
            let sink = sink.clone();
            move |evaluated: Result<RowResult, EngineError>| {
                let sink = sink.clone();
                let run = run.clone();
                Spawned::new(async move {
                    let result = evaluated?;
                    sink.write_row(&run, &result).await?;
                    Ok::<_, EngineError>(result)
                })
            }
        })
        .buffer_unordered(concurrency * 2);
    futures::pin_mut!(pipeline);
    let mut fatal = None;
    let mut interrupted = false;
    let started = Instant::now();
    loop {
        let next = tokio::select! {
            biased;
            changed = stop.changed(), if !interrupted => {
                // A dropped sender means nobody can ask to stop any more, not a stop.
                if changed.is_ok() && *stop.borrow() {
                    interrupted = true;
                }
                continue;
            }
            next = pipeline.next() => next,
        };
        match next {
            None => break,
            Some(Ok(result)) => {
                summary.add(&result);
                files.write(&result)?;
                let hits: u64 = prepared.clients.iter().map(|c| c.stats().cache_hits).sum();
                progress.row_finished(&ProgressStats {
                    rows: summary.rows(),
                    errors: summary.error_rows(),
                    cache_hits: hits,
                });
            }
            Some(Err(error)) => {
                fatal = Some(error.to_string());
                break;
            }
        }
    }
    prepared.target.close().await;
    progress.finished();
    summary.cache_hits = prepared.clients.iter().map(|c| c.stats().cache_hits).sum();
    summary.wall = started.elapsed();

    let all_rows_failed = summary.rows() > 0 && summary.target_errors() == summary.rows();
    let status = if fatal.is_some() || all_rows_failed {
        RunStatus::Failed
    } else if interrupted {
        RunStatus::Killed
    } else {
        RunStatus::Finished
    };
    let artifacts = files.finish()?;
    let finish = RunFinish {
        status,
        metrics: summary.metrics(),
        artifacts,
    };
    sink.finish_run(&run, &finish).await?;
    let gate = crate::gate::evaluate(&suite.gate, &summary);
    Ok(RunReport {
        run_id: run.run_id,
        experiment_id: run.experiment_id,
        suite: loaded.name(),
        status,
        fatal,
        all_rows_failed,
        interrupted,
        resumed_rows: prior.len() as u64,
        summary,
        gate,
    })
}

/// A spawned task as a future of its output, aborted when dropped: a run that stops early
/// (a fatal error) leaves no row running behind it. A panic in the task is re-raised.
struct Spawned<T>(tokio::task::JoinHandle<T>);

impl<T: Send + 'static> Spawned<T> {
    fn new(future: impl Future<Output = T> + Send + 'static) -> Self {
        Self(tokio::spawn(future))
    }
}

impl<T> Future for Spawned<T> {
    type Output = T;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<T> {
        std::pin::Pin::new(&mut self.0)
            .poll(cx)
            .map(|joined| match joined {
                Ok(output) => output,
                Err(error) => match error.try_into_panic() {
                    Ok(panic) => std::panic::resume_unwind(panic),
                    // Only `abort` cancels these tasks, and only on drop, after the last poll.
                    Err(error) => unreachable!("row task cancelled while awaited: {error}"),
                },
            })
    }
}

impl<T> Drop for Spawned<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
