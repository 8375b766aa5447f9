//! `judgeflow eval run --tracking-uri http://…`: the real binary writing through a real
//! `judgeflow server` (started on `127.0.0.1:0`), with the stand-in LLM as target and judge;
//! everything checked through the server's REST API, as any client would read it.

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use judgeflow_test::{MockLlm, MockLlmConfig};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, BufReader};

use crate::eval::{Workspace, report, scorer};

/// The server's stderr, a line at a time.
pub(crate) type LogLines = tokio::io::Lines<BufReader<tokio::process::ChildStderr>>;

/// Starts `judgeflow server` on `127.0.0.1:0` with the store file `db` and artifacts under
/// `dir`, and waits for its "listening" line: the process, the rest of its stderr (to be
/// drained by the caller) and its URL.
pub(crate) async fn spawn_server(
    dir: &tempfile::TempDir,
    db: &Path,
) -> (tokio::process::Child, LogLines, String) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_judgeflow"))
        .args(["server", "--host", "127.0.0.1", "--port", "0"])
        .arg("--backend-store-uri")
        .arg(format!("sqlite:///{}", db.display()))
        .arg("--artifacts-destination")
        .arg(dir.path().join("artifacts"))
        .env("JUDGEFLOW_LOG", "info")
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(at) = line.find("listening on http://") {
                let rest = &line[at + "listening on ".len()..];
                return rest.split_whitespace().next().unwrap().to_owned();
            }
        }
        panic!("the server exited before listening");
    })
    .await
    .expect("the server listens within 30 s");
    (child, lines, url)
}

/// A `judgeflow server` process on its own store and artifact folder.
pub(crate) struct Server {
    pub(crate) url: String,
    _child: tokio::process::Child,
    _dir: tempfile::TempDir,
    http: reqwest::Client,
}

impl Server {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("server.db");
        Self::start_on(dir, &db).await
    }

    /// A server on the store file `db` (filled beforehand), its artifacts under `dir`.
    pub(crate) async fn start_on(dir: tempfile::TempDir, db: &Path) -> Self {
        let (child, mut lines, url) = spawn_server(&dir, db).await;
        // Keep draining its log so the pipe never fills.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self {
            url,
            _child: child,
            _dir: dir,
            http: reqwest::Client::new(),
        }
    }

    async fn get(&self, path: &str, query: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.url))
            .query(query)
            .send()
            .await
            .unwrap()
    }

    async fn get_json(&self, path: &str, query: &[(&str, &str)]) -> Value {
        let response = self.get(path, query).await;
        assert!(response.status().is_success(), "GET {path}: {response:?}");
        response.json().await.unwrap()
    }

    async fn post_json(&self, path: &str, body: &Value) -> Value {
        let response = self
            .http
            .post(format!("{}{path}", self.url))
            .json(body)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "POST {path}: {response:?}");
        response.json().await.unwrap()
    }

    pub(crate) async fn run(&self, run_id: &str) -> Value {
        self.get_json("/api/2.0/mlflow/runs/get", &[("run_id", run_id)])
            .await["run"]
            .clone()
    }

    pub(crate) async fn run_traces(&self, experiment_id: &str, run_id: &str) -> Vec<Value> {
        let page = self
            .post_json(
                "/api/3.0/mlflow/traces/search",
                &json!({"locations": [{"type": "MLFLOW_EXPERIMENT",
                        "mlflow_experiment": {"experiment_id": experiment_id}}],
                        "filter": format!("attribute.run_id = '{run_id}'"),
                        "max_results": 500}),
            )
            .await;
        page["traces"].as_array().cloned().unwrap_or_default()
    }

    async fn spans(&self, trace_id: &str) -> Vec<Value> {
        let batch = self
            .get_json(
                "/api/3.0/mlflow/traces/batchGet",
                &[("trace_ids", trace_id)],
            )
            .await;
        batch["traces"][0]["spans"].as_array().unwrap().clone()
    }

    /// The runs of an experiment by name, newest first (none when it does not exist yet).
    async fn runs_of(&self, experiment: &str) -> Vec<Value> {
        let response = self
            .get(
                "/api/2.0/mlflow/experiments/get-by-name",
                &[("experiment_name", experiment)],
            )
            .await;
        if !response.status().is_success() {
            return vec![];
        }
        let found: Value = response.json().await.unwrap();
        let id = found["experiment"]["experiment_id"].as_str().unwrap();
        let runs = self
            .post_json(
                "/api/2.0/mlflow/runs/search",
                &json!({"experiment_ids": [id], "max_results": 10}),
            )
            .await;
        runs["runs"].as_array().cloned().unwrap_or_default()
    }
}

pub(crate) fn eval_command(
    ws: &Workspace,
    uri: &str,
    suite: &Path,
    extra: &[&str],
) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_judgeflow"));
    command
        .args(["eval", "run"])
        .arg(suite)
        .args(["--tracking-uri", uri])
        .args(extra)
        .env_remove("JUDGEFLOW_TRACKING_URI")
        .env_remove("MLFLOW_TRACKING_URI")
        .env_remove("JUDGEFLOW_CACHE_DB")
        // The default cache folder, inside the test's own folder.
        .env("XDG_CACHE_HOME", ws.path("xdg-cache"))
        .env("JUDGEFLOW_LOG", "warn")
        .kill_on_drop(true);
    command
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn tag<'a>(entity: &'a Value, key: &str) -> Option<&'a str> {
    entity["data"]["tags"]
        .as_array()?
        .iter()
        .find(|t| t["key"] == key)?["value"]
        .as_str()
}

fn metric(run: &Value, key: &str) -> Option<f64> {
    run["data"]["metrics"]
        .as_array()?
        .iter()
        .find(|m| m["key"] == key)?["value"]
        .as_f64()
}

fn row_index(trace: &Value) -> u64 {
    trace["tags"]["judgeflow.eval.row_index"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn feedback_count(trace: &Value) -> usize {
    trace["assessments"].as_array().map_or(0, |a| {
        a.iter().filter(|a| a.get("feedback").is_some()).count()
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_over_http_stores_run_traces_assessments_and_artifacts() {
    let server = Server::start().await;
    let mock = MockLlm::start().await;
    let ws = Workspace::new(6);
    let suite = ws.suite(&format!(
        "experiment: over-http\ndataset: {{path: data.jsonl}}\n\
         target: {{kind: openai, base_url: '{url}', model: app}}\n\
         judges:\n  good: {{base_url: '{url}', model: judge-model}}\n\
         scorers:\n  - kind: exact_match\n  - kind: token_f1\n  - {{kind: correctness, judge: good}}\n",
        url = mock.base_url()
    ));
    let output = eval_command(&ws, &server.url, &suite, &["--json"])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report = report(&output);
    assert_eq!(report["rows"], 6);
    assert_eq!(scorer(&report, "exact_match")["mean"], 1.0);
    let run_id = report["run_id"].as_str().unwrap();
    let experiment_id = report["experiment_id"].as_str().unwrap();

    let run = server.run(run_id).await;
    assert_eq!(run["info"]["status"], "FINISHED");
    assert_eq!(tag(&run, "mlflow.runType"), Some("genai_evaluate"));
    assert!(tag(&run, "judgeflow.suite.digest").is_some());
    assert_eq!(metric(&run, "exact_match/mean"), Some(1.0));
    assert_eq!(metric(&run, "correctness/mean"), Some(1.0));
    assert_eq!(metric(&run, "rows"), Some(6.0));
    assert!(metric(&run, "tokens/target_prompt").unwrap() > 0.0);
    let dataset = &run["inputs"]["dataset_inputs"][0]["dataset"];
    assert_eq!(dataset["name"], "data.jsonl");

    let traces = server.run_traces(experiment_id, run_id).await;
    assert_eq!(traces.len(), 6);
    let mut indexes: Vec<u64> = traces.iter().map(row_index).collect();
    indexes.sort_unstable();
    assert_eq!(indexes, (0..6).collect::<Vec<_>>());
    for trace in &traces {
        assert_eq!(trace["trace_metadata"]["mlflow.sourceRun"], run_id);
        assert_eq!(trace["state"], "OK");
        let assessments = trace["assessments"].as_array().unwrap();
        let named = |name: &str| {
            assessments
                .iter()
                .find(|a| a["assessment_name"] == name)
                .unwrap_or_else(|| panic!("no {name} on {trace}"))
        };
        assert_eq!(named("exact_match")["feedback"]["value"], true);
        assert_eq!(named("exact_match")["source"]["source_type"], "CODE");
        assert_eq!(
            named("exact_match")["metadata"]["mlflow.assessment.sourceRunId"],
            run_id
        );
        assert_eq!(named("correctness")["source"]["source_type"], "LLM_JUDGE");
        assert_eq!(named("correctness")["source"]["source_id"], "judge-model");
        assert_eq!(named("expected_response")["source"]["source_type"], "HUMAN");
        let spans = server.spans(trace["trace_id"].as_str().unwrap()).await;
        assert_eq!(spans.len(), 3, "root, target and judge spans");
    }

    let artifacts =
        format!("/api/2.0/mlflow-artifacts/artifacts/{experiment_id}/{run_id}/artifacts");
    let results: Value = server
        .get_json(&format!("{artifacts}/eval_results.json"), &[])
        .await;
    assert_eq!(results.as_array().unwrap().len(), 6);
    let parquet = server
        .get(&format!("{artifacts}/eval_results.parquet"), &[])
        .await;
    assert!(parquet.status().is_success());
    assert!(parquet.bytes().await.unwrap().starts_with(b"PAR1"));

    // A server has no cache endpoint: the call cache is a local file, by default under
    // $XDG_CACHE_HOME, and a second run is answered from it.
    assert!(ws.path("xdg-cache/judgeflow/call-cache.db").is_file());
    let calls = mock.counters().calls;
    let again = eval_command(&ws, &server.url, &suite, &["--json"])
        .output()
        .await
        .unwrap();
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert_eq!(crate::eval::report(&again)["cache_hits"], 12);
    assert_eq!(mock.counters().calls, calls, "no call reached the model");
}

#[tokio::test(flavor = "multi_thread")]
async fn resume_over_http_after_sigkill_recomputes_no_finished_row() {
    let server = Server::start().await;
    let mock =
        MockLlm::start_with(MockLlmConfig::default().latency(Duration::from_millis(150))).await;
    let rows = 30;
    let ws = Workspace::new(rows);
    let suite = ws.suite(&format!(
        "experiment: resume-http\ndataset: {{path: data.jsonl}}\n\
         target: {{kind: openai, base_url: '{}', model: app}}\n\
         scorers:\n  - kind: exact_match\n  - kind: token_f1\nconcurrency: 3\n",
        mock.base_url()
    ));
    let mut child = eval_command(&ws, &server.url, &suite, &["--no-cache"])
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let (run_id, experiment_id) = loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            std::time::Instant::now() < deadline,
            "no rows stored in time"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it was killed"
        );
        if let Some(run) = server.runs_of("resume-http").await.first() {
            let run_id = run["info"]["run_id"].as_str().unwrap().to_owned();
            let experiment_id = run["info"]["experiment_id"].as_str().unwrap().to_owned();
            if server.run_traces(&experiment_id, &run_id).await.len() >= 8 {
                break (run_id, experiment_id);
            }
        }
    };
    child.start_kill().unwrap(); // SIGKILL
    child.wait().await.unwrap();
    let calls_before = mock.counters().target_calls;
    let finished = server
        .run_traces(&experiment_id, &run_id)
        .await
        .iter()
        .filter(|t| feedback_count(t) == 2)
        .count();
    assert!(finished >= 8 && finished < rows, "{finished}");
    let run = server.run(&run_id).await;
    assert_eq!(run["info"]["status"], "RUNNING", "killed, not ended");
    // A row cut off after its trace info but before its scores, as a kill can leave one.
    let half_written = "tr-0123456789abcdef0123456789abcdef";
    server
        .post_json(
            "/api/3.0/mlflow/traces",
            &json!({"trace": {"trace_info": {
                "trace_id": half_written,
                "trace_location": {"type": "MLFLOW_EXPERIMENT",
                                   "mlflow_experiment": {"experiment_id": experiment_id}},
                "request_time": "2026-01-01T00:00:00Z",
                "state": "OK",
                "trace_metadata": {"mlflow.sourceRun": run_id},
                "tags": {"judgeflow.eval.row_index": "0"},
            }}}),
        )
        .await;

    let output = eval_command(
        &ws,
        &server.url,
        &suite,
        &["--no-cache", "--json", "--resume", &run_id],
    )
    .output()
    .await
    .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report = report(&output);
    assert_eq!(report["run_id"], run_id.as_str());
    assert_eq!(report["rows"], rows);
    assert_eq!(report["resumed_rows"], finished);
    assert_eq!(scorer(&report, "exact_match")["mean"], 1.0);
    let recomputed = (mock.counters().target_calls - calls_before) as usize;
    assert_eq!(
        recomputed,
        rows - finished,
        "only unfinished rows were called"
    );
    let traces = server.run_traces(&experiment_id, &run_id).await;
    let mut indexes: Vec<u64> = traces.iter().map(row_index).collect();
    indexes.sort_unstable();
    assert_eq!(
        indexes,
        (0..rows as u64).collect::<Vec<_>>(),
        "every row once"
    );
    assert!(traces.iter().all(|t| feedback_count(t) == 2));
    let gone = server
        .get(&format!("/api/3.0/mlflow/traces/{half_written}"), &[])
        .await;
    assert_eq!(gone.status(), 404, "the half-written row was removed");
    let run = server.run(&run_id).await;
    assert_eq!(run["info"]["status"], "FINISHED");
    assert_eq!(metric(&run, "rows"), Some(rows as f64));
    // The results table covers the rows of both attempts.
    let results: Value = server
        .get_json(
            &format!(
                "/api/2.0/mlflow-artifacts/artifacts/{experiment_id}/{run_id}/artifacts/eval_results.json"
            ),
            &[],
        )
        .await;
    assert_eq!(results.as_array().unwrap().len(), rows);
}

/// Exit code 2 and exactly one line on stderr containing every `needle`.
fn assert_one_line_error(output: &Output, needles: &[&str]) {
    assert_eq!(output.status.code(), Some(2), "{}", stderr(output));
    let text = stderr(output);
    assert_eq!(text.lines().count(), 1, "{text}");
    for needle in needles {
        assert!(text.contains(needle), "{needle:?} not in {text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_down_or_refusing_is_one_clear_line_and_exit_code_2() {
    let ws = Workspace::new(2);
    let suite = ws.suite(
        "experiment: refused\ndataset: {path: data.jsonl}\ntarget: {kind: recorded}\n\
         scorers:\n  - kind: exact_match\n",
    );
    // Nothing listens on a port just released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = format!("http://127.0.0.1:{port}");
    let output = eval_command(&ws, &down, &suite, &[])
        .env("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
        .env("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0.01")
        .env("MLFLOW_TRACKING_TOKEN", "s3cret-token")
        .output()
        .await
        .unwrap();
    assert_one_line_error(
        &output,
        &[
            &down,
            "GET /api/2.0/mlflow/experiments/get-by-name",
            "could not connect",
            "after 3 attempts",
        ],
    );
    assert!(!stderr(&output).contains("s3cret"), "secrets never show");

    // Something that is not a tracking server: its 404 is MLflow's ENDPOINT_NOT_FOUND.
    let mock = MockLlm::start().await;
    let output = eval_command(&ws, &format!("http://{}", mock.addr()), &suite, &[])
        .output()
        .await
        .unwrap();
    assert_one_line_error(
        &output,
        &["404 ENDPOINT_NOT_FOUND", "experiments/get-by-name"],
    );

    // A server refusing a request: its MLflow error, endpoint and code on one line.
    let server = Server::start().await;
    let output = eval_command(&ws, &server.url, &suite, &["--resume", "not-a-run-id"])
        .output()
        .await
        .unwrap();
    assert_one_line_error(&output, &["--resume: no run not-a-run-id"]);
    let created = server
        .post_json(
            "/api/2.0/mlflow/experiments/create",
            &json!({"name": "refused"}),
        )
        .await;
    let id = created["experiment_id"].as_str().unwrap();
    server
        .post_json(
            "/api/2.0/mlflow/experiments/delete",
            &json!({"experiment_id": id}),
        )
        .await;
    let output = eval_command(&ws, &server.url, &suite, &[])
        .output()
        .await
        .unwrap();
    assert_one_line_error(&output, &["experiment 'refused' is deleted"]);
    let long_name = ws.suite(&format!(
        "experiment: {}\ndataset: {{path: data.jsonl}}\ntarget: {{kind: recorded}}\n\
         scorers:\n  - kind: exact_match\n",
        "e".repeat(600)
    ));
    let output = eval_command(&ws, &server.url, &long_name, &[])
        .output()
        .await
        .unwrap();
    assert_one_line_error(
        &output,
        &[
            "POST /api/2.0/mlflow/experiments/create",
            "400 INVALID_PARAMETER_VALUE: Experiment name had length 600",
        ],
    );
}
