//! `judgeflow eval run` end to end: the real binary against the real stand-in LLM server
//! (`judgeflow_test::MockLlm`, HTTP on 127.0.0.1), results read back from the SQLite store it
//! wrote. Nothing of our own is mocked.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use judgeflow_domain::search::{TRACES, parse_filter};
use judgeflow_domain::{AssessmentKind, TraceInfo};
use judgeflow_store::{PageToken, TraceQuery, TraceStore, TrackingStore};
use judgeflow_store_sqlite::{SqliteOptions, SqliteStore};
use judgeflow_test::{Fault, FaultRule, MockLlm, MockLlmConfig, RetryAfter};
use serde_json::{Value, json};

/// A working folder with a dataset of `rows` questions ("question i", expected "answer i").
pub(crate) struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    pub(crate) fn new(rows: usize) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let lines: Vec<String> = (0..rows)
            .map(|i| {
                json!({"inputs": {"question": format!("question {i}")},
                       "expectations": {"expected_response": format!("question {i}")},
                       "outputs": format!("recorded {i}"),
                       "tags": {"split": if i % 2 == 0 { "even" } else { "odd" }, "n": i}})
                .to_string()
            })
            .collect();
        std::fs::write(dir.path().join("data.jsonl"), lines.join("\n") + "\n").unwrap();
        Self { dir }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub(crate) fn suite(&self, yaml: &str) -> PathBuf {
        let path = self.path("suite.yaml");
        std::fs::write(&path, yaml).unwrap();
        path
    }

    pub(crate) fn db(&self) -> String {
        format!("sqlite:///{}", self.path("judgeflow.db").display())
    }

    fn command(&self, suite: &Path, extra: &[&str]) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_judgeflow"));
        command
            .args(["eval", "run"])
            .arg(suite)
            .args(["--tracking-uri", &self.db(), "--artifacts-destination"])
            .arg(self.path("artifacts"))
            .args(extra)
            .env_remove("JUDGEFLOW_TRACKING_URI")
            .env_remove("MLFLOW_TRACKING_URI")
            .env("JUDGEFLOW_LOG", "warn")
            .kill_on_drop(true);
        command
    }

    pub(crate) async fn run(&self, suite: &Path, extra: &[&str]) -> Output {
        self.command(suite, extra).output().await.unwrap()
    }

    pub(crate) async fn store(&self) -> SqliteStore {
        SqliteStore::open(SqliteOptions::from_uri(&self.db(), "mlflow-artifacts:").unwrap())
            .await
            .unwrap()
    }
}

pub(crate) fn report(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not a JSON report ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

pub(crate) fn scorer<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["scorers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no scorer {name} in {report}"))
}

pub(crate) async fn run_traces(store: &SqliteStore, run_id: &str) -> Vec<TraceInfo> {
    let run = store.get_run(run_id).await.unwrap();
    let page = store
        .search_traces(&TraceQuery {
            experiment_ids: vec![run.info.experiment_id],
            filter: parse_filter(&format!("attribute.run_id = '{run_id}'"), &TRACES).unwrap(),
            order_by: vec![],
            max_results: 1000,
            page_token: PageToken::default(),
        })
        .await
        .unwrap();
    page.items
}

fn feedback<'a>(trace: &'a TraceInfo, name: &str) -> &'a judgeflow_domain::Assessment {
    trace
        .assessments
        .iter()
        .find(|a| a.name == name && matches!(a.kind, AssessmentKind::Feedback { .. }))
        .unwrap_or_else(|| panic!("no {name} feedback on {}", trace.trace_id))
}

#[tokio::test(flavor = "multi_thread")]
async fn openai_target_with_deterministic_scorers_stores_the_mlflow_shape() {
    let mock = MockLlm::start().await;
    let ws = Workspace::new(6);
    let suite = ws.suite(&format!(
        "experiment: openai-target\ndataset: {{path: data.jsonl}}\n\
         target:\n  kind: openai\n  base_url: {}\n  model: app\n  messages:\n    - {{role: user, content: '{{{{inputs.question}}}}'}}\n\
         scorers:\n  - kind: exact_match\n  - kind: token_f1\n  - kind: contains\n    value: question\n",
        mock.base_url()
    ));
    let output = ws.run(&suite, &["--json"]).await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = report(&output);
    assert_eq!(report["rows"], 6);
    // The stand-in echoes the question, which is also the expected response.
    assert_eq!(scorer(&report, "exact_match")["mean"], 1.0);
    assert_eq!(scorer(&report, "token_f1")["mean"], 1.0);
    assert_eq!(mock.counters().target_calls, 6);

    let store = ws.store().await;
    let run_id = report["run_id"].as_str().unwrap();
    let run = store.get_run(run_id).await.unwrap();
    let tag = |key: &str| {
        run.data
            .tags
            .iter()
            .find(|t| t.key == key)
            .map(|t| t.value.clone())
    };
    assert_eq!(tag("mlflow.runType").as_deref(), Some("genai_evaluate"));
    assert!(tag("judgeflow.suite.digest").is_some());
    let metric = |key: &str| {
        run.data
            .metrics
            .iter()
            .find(|m| m.key == key)
            .map(|m| m.value)
    };
    assert_eq!(metric("exact_match/mean"), Some(1.0));
    assert!(metric("latency/p95").is_some());
    assert!(metric("tokens/target_prompt").unwrap() > 0.0);
    let traces = run_traces(&store, run_id).await;
    assert_eq!(traces.len(), 6);
    for trace in &traces {
        assert_eq!(trace.trace_metadata["mlflow.sourceRun"], run_id);
        let index: usize = trace.tags["judgeflow.eval.row_index"].parse().unwrap();
        // The dataset row's tags are the trace's tags.
        assert_eq!(
            trace.tags["split"],
            if index % 2 == 0 { "even" } else { "odd" }
        );
        assert_eq!(trace.tags["n"], index.to_string());
        let exact = feedback(trace, "exact_match");
        assert_eq!(exact.source.source_type, "CODE");
        assert_eq!(exact.metadata["mlflow.assessment.sourceRunId"], run_id);
        let expectation = trace
            .assessments
            .iter()
            .find(|a| a.name == "expected_response")
            .unwrap();
        assert_eq!(expectation.source.source_type, "HUMAN");
        let spans = store.get_spans(&trace.trace_id, None, 10).await.unwrap();
        assert_eq!(spans.spans.len(), 2, "root and target spans");
        assert!(spans.spans.iter().any(|s| s.contains("mlflow.spanInputs")));
    }
    let artifacts = ws
        .path("artifacts")
        .join(format!("{}/{run_id}/artifacts", run.info.experiment_id));
    let results: Value =
        serde_json::from_slice(&std::fs::read(artifacts.join("eval_results.json")).unwrap())
            .unwrap();
    assert_eq!(results.as_array().unwrap().len(), 6);
    assert!(
        artifacts
            .join("eval_results.parquet")
            .metadata()
            .unwrap()
            .len()
            > 0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn http_target_reads_the_answer_by_json_path() {
    let mock = MockLlm::start().await;
    mock.set_answer("question 1", "a different answer");
    let ws = Workspace::new(3);
    let suite = ws.suite(&format!(
        r#"experiment: http-target
dataset: {{path: data.jsonl}}
target:
  kind: http
  url: {}/chat/completions
  headers: {{x-app: test}}
  body:
    model: http-app
    messages: [{{role: user, content: "{{{{inputs.question}}}}"}}]
  answer: $.choices[0].message.content
scorers:
  - kind: exact_match
gate:
  exact_match: {{min_mean: 0.5}}
"#,
        mock.base_url()
    ));
    let output = ws.run(&suite, &["--json"]).await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = report(&output);
    let mean = scorer(&report, "exact_match")["mean"].as_f64().unwrap();
    assert!((mean - 2.0 / 3.0).abs() < 1e-9, "{mean}");
    assert_eq!(mock.counters().calls_per_model["http-app"], 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn command_target_speaks_json_lines() {
    let ws = Workspace::new(4);
    std::fs::write(
        ws.path("app.py"),
        r#"import json, sys
for line in sys.stdin:
    request = json.loads(line)
    question = request["inputs"]["question"]
    if question.endswith("3"):
        print(json.dumps({"id": request["id"], "error": "cannot answer"}), flush=True)
    else:
        print(json.dumps({"id": request["id"], "outputs": question.upper()}), flush=True)
"#,
    )
    .unwrap();
    let suite = ws.suite(
        "experiment: command-target\ndataset: {path: data.jsonl}\n\
         target: {kind: command, argv: [python3, app.py]}\n\
         scorers:\n  - kind: exact_match\n    ignore_case: true\n",
    );
    let output = ws.run(&suite, &["--json"]).await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = report(&output);
    assert_eq!(report["rows"], 4);
    assert_eq!(report["error_rows"], 1);
    let exact = scorer(&report, "exact_match");
    assert_eq!(exact["mean"], 1.0);
    assert_eq!(
        exact["errors"], 1,
        "the failed row is an error assessment, not a dropped row"
    );
    let store = ws.store().await;
    let traces = run_traces(&store, report["run_id"].as_str().unwrap()).await;
    assert_eq!(traces.len(), 4);
    let failed = traces
        .iter()
        .find(|t| t.tags["judgeflow.eval.row_index"] == "3")
        .unwrap();
    let AssessmentKind::Feedback { value, error } = &feedback(failed, "exact_match").kind else {
        unreachable!()
    };
    assert!(value.is_none());
    assert!(
        error
            .as_ref()
            .unwrap()
            .error_message
            .as_ref()
            .unwrap()
            .contains("no output")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limits_with_retry_after_are_absorbed() {
    let mock = MockLlm::start_with(MockLlmConfig::default().fault(FaultRule::first(
        4,
        Fault::RateLimit {
            retry_after: RetryAfter::Millis(50),
        },
    )))
    .await;
    let ws = Workspace::new(5);
    let suite = ws.suite(&format!(
        "experiment: limits\ndataset: {{path: data.jsonl}}\n\
         target: {{kind: openai, base_url: '{}', model: app, limits: {{max_concurrency: 2, rpm: 6000}}}}\n\
         scorers:\n  - kind: exact_match\n",
        mock.base_url()
    ));
    let output = ws.run(&suite, &["--json", "--no-cache"]).await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = report(&output);
    assert_eq!(report["error_rows"], 0);
    assert_eq!(scorer(&report, "exact_match")["mean"], 1.0);
    assert_eq!(mock.counters().rate_limited, 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn gate_sets_the_exit_code_and_writes_junit_and_markdown() {
    let ws = Workspace::new(4);
    let passing = ws.suite(
        "experiment: gate\ndataset: {path: data.jsonl}\ntarget: {kind: recorded}\n\
         scorers:\n  - kind: contains\n    value: recorded\n  - kind: exact_match\n\
         gate:\n  contains: {min_pass_rate: 1.0}\n",
    );
    let output = ws.run(&passing, &[]).await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("PASSED"));

    let failing = ws.suite(
        "experiment: gate\ndataset: {path: data.jsonl}\ntarget: {kind: recorded}\n\
         scorers:\n  - kind: contains\n    value: recorded\n  - kind: exact_match\n\
         gate:\n  contains: {min_pass_rate: 1.0}\n  exact_match: {min_mean: 0.9}\n",
    );
    let (junit, markdown) = (ws.path("junit.xml"), ws.path("summary.md"));
    let output = ws
        .run(
            &failing,
            &[
                "--junit",
                junit.to_str().unwrap(),
                "--markdown",
                markdown.to_str().unwrap(),
            ],
        )
        .await;
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let junit = std::fs::read_to_string(junit).unwrap();
    assert!(
        junit.contains(r#"tests="10" failures="5" errors="0""#),
        "{junit}"
    );
    assert!(
        junit.contains(r#"classname="suite.exact_match" name="row 0""#),
        "{junit}"
    );
    let markdown = std::fs::read_to_string(markdown).unwrap();
    assert!(markdown.contains("GATE FAILED"), "{markdown}");
    assert!(markdown.contains("| exact_match | 0.000 |"), "{markdown}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_suite_names_file_line_and_field() {
    let ws = Workspace::new(1);
    let suite = ws.suite(
        "experiment: bad\ndataset: {path: data.jsonl}\ntarget: {kind: recorded}\n\
         scorers:\n  - kind: exact_match\n    treshold: 0.5\n",
    );
    let output = ws.run(&suite, &[]).await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = stderr.lines().next().unwrap();
    assert!(line.contains("suite.yaml:5"), "{stderr}");
    assert!(line.contains("treshold"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_row_names_file_row_and_field() {
    let ws = Workspace::new(2);
    let mut data = std::fs::read_to_string(ws.path("data.jsonl")).unwrap();
    data.push_str("{\"inputs\": \"not an object\"}\n");
    std::fs::write(ws.path("data.jsonl"), data).unwrap();
    let suite = ws.suite(
        "experiment: bad-row\ndataset: {path: data.jsonl}\ntarget: {kind: recorded}\n\
         scorers:\n  - kind: exact_match\n",
    );
    let output = ws.run(&suite, &["--json"]).await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("data.jsonl"), "{stderr}");
    assert!(stderr.contains("row 3"), "{stderr}");
    assert!(stderr.contains("inputs"), "{stderr}");
    // The rows before it are kept in a FAILED run.
    let report = report(&output);
    assert_eq!(report["status"], "FAILED");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cache_makes_a_second_run_cost_nothing() {
    let mock = MockLlm::start().await;
    let ws = Workspace::new(5);
    let suite = ws.suite(&format!(
        "experiment: cache\ndataset: {{path: data.jsonl}}\n\
         target: {{kind: openai, base_url: '{}', model: app}}\n\
         scorers:\n  - kind: exact_match\n",
        mock.base_url()
    ));
    let first = ws.run(&suite, &["--json"]).await;
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert_eq!(mock.counters().calls, 5);
    let second = report(&ws.run(&suite, &["--json"]).await);
    assert_eq!(mock.counters().calls, 5, "no call reached the model");
    assert_eq!(second["cache_hits"], 5);
    assert_eq!(second["cost"]["target"]["prompt_tokens"], 0);
    ws.run(&suite, &["--json", "--no-cache"]).await;
    assert_eq!(mock.counters().calls, 10);
}

#[tokio::test(flavor = "multi_thread")]
async fn resume_after_sigkill_recomputes_no_finished_row_and_loses_none() {
    let mock =
        MockLlm::start_with(MockLlmConfig::default().latency(Duration::from_millis(150))).await;
    let rows = 30;
    let ws = Workspace::new(rows);
    let suite = ws.suite(&format!(
        "experiment: resume\ndataset: {{path: data.jsonl}}\n\
         target: {{kind: openai, base_url: '{}', model: app}}\n\
         scorers:\n  - kind: exact_match\n  - kind: token_f1\nconcurrency: 3\n",
        mock.base_url()
    ));
    // The store exists before the binary starts: two processes migrating one new file at once
    // is not what this test is about.
    let store = ws.store().await;
    let mut child = ws.command(&suite, &["--no-cache"]).spawn().unwrap();
    // Kill it once some rows are stored.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let run_id = loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            std::time::Instant::now() < deadline,
            "no rows stored in time"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it was killed"
        );
        let Ok(experiment) = store.get_experiment_by_name("resume").await else {
            continue;
        };
        let runs = store
            .search_runs(&judgeflow_store::RunQuery {
                experiment_ids: vec![experiment.experiment_id],
                filter: vec![],
                order_by: vec![],
                view: judgeflow_domain::ViewType::ActiveOnly,
                max_results: 10,
                page_token: PageToken::default(),
            })
            .await
            .unwrap();
        if let Some(run) = runs.items.first()
            && run_traces(&store, &run.info.run_id).await.len() >= 8
        {
            break run.info.run_id.clone();
        }
    };
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    let calls_before = mock.counters().target_calls;
    let finished: Vec<String> = run_traces(&store, &run_id)
        .await
        .into_iter()
        .filter(|t| {
            t.assessments
                .iter()
                .filter(|a| matches!(a.kind, AssessmentKind::Feedback { .. }))
                .count()
                == 2
        })
        .map(|t| t.tags["judgeflow.eval.row_index"].clone())
        .collect();
    assert!(finished.len() < rows, "killed before the end");

    let output = ws
        .run(&suite, &["--no-cache", "--json", "--resume", &run_id])
        .await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = report(&output);
    assert_eq!(report["run_id"], run_id.as_str());
    assert_eq!(report["rows"], rows);
    assert_eq!(report["resumed_rows"], finished.len());
    let recomputed = mock.counters().target_calls - calls_before;
    assert_eq!(
        recomputed as usize,
        rows - finished.len(),
        "only unfinished rows were called"
    );
    let traces = run_traces(&store, &run_id).await;
    let mut indexes: Vec<u64> = traces
        .iter()
        .map(|t| t.tags["judgeflow.eval.row_index"].parse().unwrap())
        .collect();
    indexes.sort_unstable();
    assert_eq!(
        indexes,
        (0..rows as u64).collect::<Vec<_>>(),
        "every row once"
    );
    let run = store.get_run(&run_id).await.unwrap();
    assert_eq!(run.info.status, judgeflow_domain::RunStatus::Finished);
}

#[tokio::test(flavor = "multi_thread")]
async fn examples_stay_runnable() {
    let ws = Workspace::new(0);
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/quickstart");
    let output = ws.run(&examples.join("suite.yaml"), &["--json"]).await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let offline = report(&output);
    assert_eq!(offline["rows"], 5);
    assert_eq!(offline["gate"]["passed"], true);

    // The judge example, with the stand-in as both the app and the judge model: it answers
    // each question with the dataset's recorded answer.
    let mock = MockLlm::start().await;
    mock.set_verdict("Is the output safe", json!("yes"));
    mock.set_verdict("Does the output address the request", json!("yes"));
    let data = std::fs::read_to_string(examples.join("dataset.jsonl")).unwrap();
    for line in data.lines() {
        let row: Value = serde_json::from_str(line).unwrap();
        mock.set_answer(
            row["inputs"]["question"].as_str().unwrap(),
            row["outputs"].as_str().unwrap(),
        );
    }
    let output = ws
        .command(&examples.join("suite-judges.yaml"), &["--json"])
        .env("OPENAI_BASE_URL", mock.base_url())
        .env("JUDGE_BASE_URL", mock.base_url())
        .env("OPENAI_API_KEY", "test-key")
        .output()
        .await
        .unwrap();
    let report = report(&output);
    assert_eq!(
        report["rows"],
        5,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(report["error_rows"], 0, "{report}");
    assert_eq!(mock.counters().target_calls, 5);
    assert_eq!(mock.counters().judge_calls, 15);
    // Correctness passes 4 of 5 (one answer omits "William"): the gate's 0.8 holds.
    assert_eq!(output.status.code(), Some(0), "{report}");
}

#[tokio::test(flavor = "multi_thread")]
async fn llm_judges_score_rows_and_a_malformed_answer_is_an_error_assessment() {
    let mock = MockLlm::start_with(
        MockLlmConfig::default()
            .fault(FaultRule::always(Fault::MalformedJudge).for_model("broken")),
    )
    .await;
    mock.set_verdict("Rate the answer", json!(4));
    let ws = Workspace::new(3);
    let suite = ws.suite(&format!(
        r#"experiment: judges
dataset: {{path: data.jsonl}}
target: {{kind: openai, base_url: '{url}', model: app}}
judges:
  good: {{base_url: '{url}', model: judge-model}}
  other: {{base_url: '{url}', model: judge-model-2}}
  bad: {{base_url: '{url}', model: broken}}
scorers:
  - {{kind: correctness, judge: good}}
  - {{kind: safety, judge: bad}}
  - kind: custom
    name: helpfulness
    judge: good
    template: "Rate the answer {{{{outputs}}}} to {{{{inputs}}}} from 1 to 5."
    output: score
    min: 1
    max: 5
  - {{kind: jury, name: panel, judges: [good, other], of: correctness}}
gate:
  correctness: {{min_pass_rate: 1.0}}
"#,
        url = mock.base_url()
    ));
    let output = ws.run(&suite, &["--json"]).await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = report(&output);
    assert_eq!(scorer(&report, "correctness")["mean"], 1.0);
    assert_eq!(scorer(&report, "helpfulness")["mean"], 4.0);
    assert_eq!(scorer(&report, "panel")["mean"], 1.0);
    assert_eq!(scorer(&report, "safety")["errors"], 3);
    assert!(report["cost"]["judges"]["prompt_tokens"].as_u64().unwrap() > 0);

    let store = ws.store().await;
    let traces = run_traces(&store, report["run_id"].as_str().unwrap()).await;
    assert_eq!(traces.len(), 3);
    for trace in &traces {
        let correctness = feedback(trace, "correctness");
        assert_eq!(correctness.source.source_type, "LLM_JUDGE");
        assert_eq!(correctness.source.source_id.as_deref(), Some("judge-model"));
        assert!(correctness.rationale.is_some());
        let AssessmentKind::Feedback { value, error } = &feedback(trace, "safety").kind else {
            unreachable!()
        };
        assert!(value.is_none(), "never a silent value");
        let message = error.as_ref().unwrap().error_message.clone().unwrap();
        assert!(message.contains("malformed"), "{message}");
        let spans = store.get_spans(&trace.trace_id, None, 20).await.unwrap();
        assert_eq!(
            spans.spans.len(),
            6,
            "root, target and one span per judge scorer"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_stops_cleanly_and_keeps_finished_rows() {
    let mock =
        MockLlm::start_with(MockLlmConfig::default().latency(Duration::from_millis(100))).await;
    let ws = Workspace::new(40);
    let suite = ws.suite(&format!(
        "experiment: interrupt\ndataset: {{path: data.jsonl}}\n\
         target: {{kind: openai, base_url: '{}', model: app}}\n\
         scorers:\n  - kind: exact_match\nconcurrency: 2\n",
        mock.base_url()
    ));
    let store = ws.store().await;
    let child = ws
        .command(&suite, &["--json", "--no-cache"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    while mock.counters().target_calls < 6 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    crate::signal(&child, "INT");
    let output = child.wait_with_output().await.unwrap();
    assert_eq!(output.status.code(), Some(2), "a stopped run is not a pass");
    let report = report(&output);
    assert_eq!(report["status"], "KILLED");
    let rows = report["rows"].as_u64().unwrap();
    assert!(rows > 0 && rows < 40, "{rows}");
    // Rows in flight finished: every started target call has its row stored.
    assert_eq!(mock.counters().target_calls, rows);
    let traces = run_traces(&store, report["run_id"].as_str().unwrap()).await;
    assert_eq!(traces.len() as u64, rows);
}
