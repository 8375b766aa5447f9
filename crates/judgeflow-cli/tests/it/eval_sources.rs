//! `judgeflow eval run` over stored sources: an MLflow evaluation dataset and traces chosen by
//! a filter, read from a SQLite store directly and from a real `judgeflow server` on the same
//! file. The store is filled through its own API, the real binary runs, and the results are
//! read back from the store or the server.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

use judgeflow_domain::evaluation_datasets::RecordUpsert;
use judgeflow_domain::search::{TRACES, parse_filter};
use judgeflow_domain::traces::new_assessment_id;
use judgeflow_domain::{
    Assessment, AssessmentKind, AssessmentSource, ExpectationValue, TraceInfo, TraceState,
};
use judgeflow_store::{
    DatasetStore, NewEvaluationDataset, NewExperiment, PageToken, RecordCursor, TraceQuery,
    TraceStore, TrackingStore,
};
use judgeflow_store_sqlite::SqliteStore;
use serde_json::{Map, Value, json};

use crate::eval::{Workspace, report, run_traces, scorer};
use crate::eval_http::{Server, eval_command, stderr};

/// What the fill made: the dataset's id and digest, and the traces' ids (oldest first).
struct Filled {
    dataset_id: String,
    digest: String,
    trace_ids: Vec<String>,
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => unreachable!("an object literal"),
    }
}

/// Creates experiment `experiment` and dataset `dataset` linked to it: their ids.
async fn experiment_with_dataset(
    store: &SqliteStore,
    experiment: &str,
    dataset: &str,
) -> (String, String) {
    let experiment_id = store
        .create_experiment(NewExperiment {
            name: experiment.into(),
            artifact_location: None,
            tags: vec![],
        })
        .await
        .unwrap();
    let dataset = store
        .create_dataset(NewEvaluationDataset {
            name: dataset.into(),
            tags: vec![],
            experiment_ids: vec![experiment_id.clone()],
        })
        .await
        .unwrap();
    (experiment_id, dataset.dataset_id)
}

/// A human's expected response on a trace, as `mlflow.log_expectation` records it.
fn expected_response(trace_id: &str, value: &str) -> Assessment {
    Assessment {
        assessment_id: new_assessment_id(),
        name: "expected_response".into(),
        trace_id: trace_id.to_owned(),
        span_id: None,
        source: AssessmentSource {
            source_type: "HUMAN".into(),
            source_id: Some("ada".into()),
        },
        create_time_ms: 1_700_000_000_000,
        last_update_time_ms: 1_700_000_000_000,
        kind: AssessmentKind::Expectation(ExpectationValue::Value(json!(value))),
        rationale: None,
        metadata: BTreeMap::new(),
        overrides: None,
        valid: true,
    }
}

/// Experiment `prod` with a dataset `qa` of three records (the last one's recorded output is
/// wrong) and three traces: two tagged `env=prod` answering right, one `env=dev`.
async fn fill(ws: &Workspace) -> Filled {
    let store = ws.store().await;
    let (experiment_id, dataset_id) = experiment_with_dataset(&store, "prod", "qa").await;
    let records = (0..3)
        .map(|i| RecordUpsert {
            inputs: object(json!({"question": format!("question {i}")})),
            outputs: Some(json!(if i < 2 {
                format!("question {i}")
            } else {
                "nope".into()
            })),
            expectations: Some(object(
                json!({"expected_response": format!("question {i}")}),
            )),
            tags: Some(object(json!({"batch": "seed"}))),
            source: None,
        })
        .collect();
    store
        .upsert_dataset_records(&dataset_id, records)
        .await
        .unwrap();
    let digest = store.get_dataset(&dataset_id).await.unwrap().digest;
    let mut trace_ids = Vec::new();
    for (i, env) in ["prod", "prod", "dev"].into_iter().enumerate() {
        let otel_trace_id = (i as u128 + 1).to_be_bytes();
        let trace_id = judgeflow_domain::traces::trace_id_from_otel(&otel_trace_id);
        let expectation = expected_response(&trace_id, &format!("question {i}"));
        let answer = if env == "prod" {
            format!("question {i}")
        } else {
            "something else".into()
        };
        let question = json!({"question": format!("question {i}")}).to_string();
        // The prod traces hold a root span, as the `mlflow` client exports it (inputs and
        // outputs as JSON text), and cut previews: the span must win. The dev trace has only
        // its previews.
        let (request_preview, response_preview) = if env == "prod" {
            let root = root_span(otel_trace_id, &question, &json!(answer).to_string());
            store.log_spans(&experiment_id, vec![root]).await.unwrap();
            (question[..8].to_owned(), answer[..4].to_owned())
        } else {
            (question.clone(), json!(answer).to_string())
        };
        store
            .start_trace(TraceInfo {
                trace_id: trace_id.clone(),
                client_request_id: None,
                experiment_id: experiment_id.clone(),
                request_time_ms: 1_700_000_000_000 + i as i64 * 1000,
                execution_duration_ms: Some(5),
                state: TraceState::Ok,
                request_preview: Some(request_preview),
                response_preview: Some(response_preview),
                trace_metadata: BTreeMap::new(),
                tags: BTreeMap::from([("env".to_owned(), env.to_owned())]),
                assessments: vec![expectation],
            })
            .await
            .unwrap();
        trace_ids.push(trace_id);
    }
    store.close().await;
    Filled {
        dataset_id,
        digest,
        trace_ids,
    }
}

/// The report of a run that exited 0.
fn passed(output: &Output) -> Value {
    assert_eq!(output.status.code(), Some(0), "{}", stderr(output));
    report(output)
}

/// A run refused before it started: exit code 2 and one line naming the suite file, the
/// dataset's line (2 in [`suite`]) and the field, saying `expected`.
fn refused(output: &Output, expected: &str) {
    let text = stderr(output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert_eq!(text.trim_end().lines().count(), 1, "{text}");
    assert!(text.contains("suite.yaml:2: dataset."), "{text}");
    // Said once: the error is not printed again as its own cause.
    assert_eq!(text.matches(expected).count(), 1, "{text}");
}

/// A root span whose inputs and outputs are JSON text, as MLflow's tracing exports them.
fn root_span(trace_id: [u8; 16], inputs: &str, outputs: &str) -> judgeflow_domain::SpanRecord {
    use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
    use opentelemetry_proto::tonic::trace::v1::Span;
    let text = |key: &str, value: &str| KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..KeyValue::default()
    };
    let span = Span {
        trace_id: trace_id.to_vec(),
        span_id: trace_id[8..].to_vec(),
        name: "app".into(),
        start_time_unix_nano: 1_700_000_000_000_000_000,
        end_time_unix_nano: 1_700_000_000_005_000_000,
        attributes: vec![
            text("mlflow.spanType", "\"CHAIN\""),
            text("mlflow.spanInputs", inputs),
            text("mlflow.spanOutputs", outputs),
        ],
        ..Span::default()
    };
    judgeflow_api::span_record(&span).unwrap()
}

fn suite(experiment: &str, dataset: &str) -> String {
    format!(
        "experiment: {experiment}\ndataset: {dataset}\ntarget: {{kind: recorded}}\n\
         scorers:\n  - {{kind: exact_match}}\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn an_evaluation_dataset_by_name_or_id_from_a_sqlite_store() {
    let ws = Workspace::new(0);
    let filled = fill(&ws).await;
    for dataset in [
        "{evaluation_dataset: qa}".to_owned(),
        format!("{{evaluation_dataset_id: {}}}", filled.dataset_id),
    ] {
        let path = ws.suite(&suite("evals", &dataset));
        let output = ws.run(&path, &["--json"]).await;
        let report = passed(&output);
        assert_eq!(report["rows"], 3);
        let mean = scorer(&report, "exact_match")["mean"].as_f64().unwrap();
        assert!((mean - 2.0 / 3.0).abs() < 1e-9, "{mean}");

        let store = ws.store().await;
        let run_id = report["run_id"].as_str().unwrap();
        let run = store.get_run(run_id).await.unwrap();
        let input = &run.inputs.dataset_inputs[0].dataset;
        assert_eq!(
            (input.name.as_str(), input.source_type.as_str()),
            ("qa", "mlflow_evaluation_dataset")
        );
        assert_eq!(input.digest, filled.digest);
        assert_eq!(
            serde_json::from_str::<Value>(&input.source).unwrap(),
            json!({"dataset_id": filled.dataset_id})
        );
        let mut traces = run_traces(&store, run_id).await;
        traces.sort_by_key(|t| t.tags["judgeflow.eval.row_index"].clone());
        assert_eq!(traces.len(), 3);
        // Row i is the i-th record in the store's order, its id the row id.
        let records = store
            .get_dataset_records(&filled.dataset_id, 10, None)
            .await
            .unwrap()
            .items;
        for (trace, record) in traces.iter().zip(&records) {
            // A record's tags become its result trace's tags.
            assert_eq!(trace.tags["batch"], "seed");
            assert_eq!(
                trace.tags["judgeflow.eval.row_id"],
                record.dataset_record_id
            );
            assert_eq!(
                trace.request_preview.as_deref(),
                Some(Value::Object(record.inputs.clone()).to_string().as_str())
            );
        }
        store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn traces_by_filter_from_a_sqlite_store_score_recorded_outputs_and_resume() {
    let ws = Workspace::new(0);
    let filled = fill(&ws).await;
    // The run writes into the experiment it reads: its own rows must never become rows.
    let path = ws.suite(&suite(
        "prod",
        "{traces: {experiment: prod, filter: \"tags.env = 'prod'\"}}",
    ));
    let output = ws.run(&path, &["--json"]).await;
    let first = passed(&output);
    assert_eq!(first["rows"], 2);
    assert_eq!(scorer(&first, "exact_match")["mean"], 1.0);
    let run_id = first["run_id"].as_str().unwrap();

    let store = ws.store().await;
    let run = store.get_run(run_id).await.unwrap();
    let input = &run.inputs.dataset_inputs[0].dataset;
    assert_eq!(
        (input.name.as_str(), input.source_type.as_str()),
        ("traces:prod", "mlflow_traces")
    );
    let traces = run_traces(&store, run_id).await;
    let by_index: BTreeMap<String, &TraceInfo> = traces
        .iter()
        .map(|t| (t.tags["judgeflow.eval.row_index"].clone(), t))
        .collect();
    // Oldest first: row i is the i-th trace, its expectation carried over.
    for (index, trace_id) in filled.trace_ids[..2].iter().enumerate() {
        let row = by_index[&index.to_string()];
        assert_eq!(&row.tags["judgeflow.eval.row_id"], trace_id);
        // The root span's inputs, not the cut preview.
        assert_eq!(
            row.request_preview.as_deref(),
            Some(
                json!({"question": format!("question {index}")})
                    .to_string()
                    .as_str()
            )
        );
        assert!(
            row.assessments.iter().any(|a| a.name == "expected_response"
                && matches!(a.kind, AssessmentKind::Expectation(_)))
        );
    }
    store.close().await;

    let output = ws.run(&path, &["--json", "--resume", run_id]).await;
    let resumed = passed(&output);
    assert_eq!(resumed["resumed_rows"], 2);
    assert_eq!(resumed["rows"], 2);
    let store = ws.store().await;
    assert_eq!(run_traces(&store, run_id).await.len(), 2);
    store.close().await;

    let path = ws.suite(&suite("evals", "{traces: {experiment: prod, max_rows: 1}}"));
    let output = ws.run(&path, &["--json"]).await;
    assert_eq!(passed(&output)["rows"], 1);

    // A trace without spans: its previews are its request and response.
    let path = ws.suite(&suite(
        "evals",
        "{traces: {experiment: prod, filter: \"tags.env = 'dev'\"}}",
    ));
    let output = ws.run(&path, &["--json"]).await;
    let dev = passed(&output);
    assert_eq!(dev["rows"], 1);
    assert_eq!(scorer(&dev, "exact_match")["mean"], 0.0);
    let store = ws.store().await;
    let traces = run_traces(&store, dev["run_id"].as_str().unwrap()).await;
    assert_eq!(
        traces[0].request_preview.as_deref(),
        Some(r#"{"question":"question 2"}"#)
    );
    store.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_references_are_one_line_and_exit_2() {
    let ws = Workspace::new(0);
    fill(&ws).await;
    for (dataset, expected) in [
        (
            "{evaluation_dataset: nope}",
            "dataset.evaluation_dataset: no evaluation dataset named 'nope'",
        ),
        (
            "{evaluation_dataset_id: d-0000}",
            "dataset.evaluation_dataset_id: no evaluation dataset with id 'd-0000'",
        ),
        (
            "{traces: {experiment: nowhere}}",
            "dataset.traces.experiment: no experiment named 'nowhere'",
        ),
        (
            "{traces: {experiment: prod, filter: \"tags.env = = 'x'\"}}",
            "dataset.traces.filter: ",
        ),
    ] {
        let path = ws.suite(&suite("bad", dataset));
        let output = ws.run(&path, &[]).await;
        refused(&output, expected);
        assert!(output.stdout.is_empty());
    }
    // Nothing was started for any of them.
    let store = ws.store().await;
    assert!(store.get_experiment_by_name("bad").await.is_err());
    store.close().await;
}

async fn server_on(ws: &Workspace) -> Server {
    let db = ws.path("judgeflow.db");
    Server::start_on(tempfile::tempdir().unwrap(), Path::new(&db)).await
}

#[tokio::test(flavor = "multi_thread")]
async fn both_sources_through_a_judgeflow_server() {
    let ws = Workspace::new(0);
    let filled = fill(&ws).await;
    let server = server_on(&ws).await;
    for (dataset, rows, mean, source_type) in [
        (
            "{evaluation_dataset: qa}",
            3,
            2.0 / 3.0,
            "mlflow_evaluation_dataset",
        ),
        (
            "{traces: {experiment: prod, filter: \"tags.env = 'prod'\"}}",
            2,
            1.0,
            "mlflow_traces",
        ),
    ] {
        let path = ws.suite(&suite("prod", dataset));
        let output = eval_command(&ws, &server.url, &path, &["--json"])
            .output()
            .await
            .unwrap();
        let report = passed(&output);
        assert_eq!(report["rows"], rows, "{dataset}");
        let got = scorer(&report, "exact_match")["mean"].as_f64().unwrap();
        assert!((got - mean).abs() < 1e-9, "{dataset}: {got}");
        let run = server.run(report["run_id"].as_str().unwrap()).await;
        let input = &run["inputs"]["dataset_inputs"][0]["dataset"];
        assert_eq!(input["source_type"], source_type);
        if source_type == "mlflow_evaluation_dataset" {
            assert_eq!(input["digest"], filled.digest.as_str());
        }
        let traces = server
            .run_traces(
                report["experiment_id"].as_str().unwrap(),
                report["run_id"].as_str().unwrap(),
            )
            .await;
        assert_eq!(traces.len(), rows, "{dataset}");
        if source_type == "mlflow_traces" {
            let mut ids: Vec<&str> = traces
                .iter()
                .map(|t| t["tags"]["judgeflow.eval.row_id"].as_str().unwrap())
                .collect();
            ids.sort_unstable();
            assert_eq!(ids, [&filled.trace_ids[0], &filled.trace_ids[1]]);
        }
    }
    for (dataset, expected) in [
        (
            "{evaluation_dataset: nope}",
            "no evaluation dataset named 'nope' in tracking server",
        ),
        (
            "{traces: {experiment: prod, filter: \"tags.env = = 'x'\"}}",
            "dataset.traces.filter: ",
        ),
    ] {
        let path = ws.suite(&suite("prod", dataset));
        let output = eval_command(&ws, &server.url, &path, &[])
            .output()
            .await
            .unwrap();
        refused(&output, expected);
    }
}

/// Records and traces: more than one page of each (1,000 records, 500 traces a page).
const MANY_RECORDS: usize = 2_345;
const MANY_TRACES: usize = 1_234;
/// The first this many of each answer right, so a page read twice or skipped moves the mean.
const RIGHT_RECORDS: usize = 1_500;
const RIGHT_TRACES: usize = 700;

/// Experiment `big` with dataset `many` and traces, each more than one page long. Returns
/// the record ids and the trace ids.
async fn fill_many(ws: &Workspace) -> (Vec<String>, Vec<String>) {
    let store = ws.store().await;
    let (experiment_id, dataset_id) = experiment_with_dataset(&store, "big", "many").await;
    let records = (0..MANY_RECORDS)
        .map(|i| RecordUpsert {
            inputs: object(json!({"question": format!("q{i}")})),
            outputs: Some(json!(if i < RIGHT_RECORDS {
                format!("a{i}")
            } else {
                "x".into()
            })),
            expectations: Some(object(json!({"expected_response": format!("a{i}")}))),
            tags: None,
            source: None,
        })
        .collect();
    store
        .upsert_dataset_records(&dataset_id, records)
        .await
        .unwrap();
    let mut record_ids = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .get_dataset_records(
                &dataset_id,
                1000,
                RecordCursor::decode(cursor.as_deref()).unwrap(),
            )
            .await
            .unwrap();
        record_ids.extend(page.items.into_iter().map(|r| r.dataset_record_id));
        match page.next_page_token {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(record_ids.len(), MANY_RECORDS);

    let mut trace_ids = Vec::new();
    for i in 0..MANY_TRACES {
        let trace_id = judgeflow_domain::traces::trace_id_from_otel(&(i as u128 + 1).to_be_bytes());
        let answer = if i < RIGHT_TRACES {
            format!("a{i}")
        } else {
            "x".into()
        };
        let expectation = expected_response(&trace_id, &format!("a{i}"));
        store
            .start_trace(TraceInfo {
                trace_id: trace_id.clone(),
                client_request_id: None,
                experiment_id: experiment_id.clone(),
                // Two traces share each millisecond: the order must still be total.
                request_time_ms: 1_700_000_000_000 + (i / 2) as i64,
                execution_duration_ms: Some(1),
                state: TraceState::Ok,
                request_preview: Some(json!({"question": format!("q{i}")}).to_string()),
                response_preview: Some(json!(answer).to_string()),
                trace_metadata: BTreeMap::new(),
                tags: BTreeMap::new(),
                assessments: vec![expectation],
            })
            .await
            .unwrap();
        trace_ids.push(trace_id);
    }
    store.close().await;
    (record_ids, trace_ids)
}

/// Every trace of a run, all pages.
async fn all_run_traces(store: &SqliteStore, run_id: &str) -> Vec<TraceInfo> {
    let run = store.get_run(run_id).await.unwrap();
    let mut query = TraceQuery {
        experiment_ids: vec![run.info.experiment_id],
        filter: parse_filter(&format!("attribute.run_id = '{run_id}'"), &TRACES).unwrap(),
        order_by: vec![],
        max_results: 1000,
        page_token: PageToken::default(),
    };
    let mut traces = Vec::new();
    loop {
        let page = store.search_traces(&query).await.unwrap();
        traces.extend(page.items);
        match page.next_page_token {
            Some(next) => query.page_token = PageToken::decode(Some(&next)).unwrap(),
            None => return traces,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sources_longer_than_a_page_are_read_whole_once_each_from_the_store_and_a_server() {
    let ws = Workspace::new(0);
    let (record_ids, trace_ids) = fill_many(&ws).await;
    let server = server_on(&ws).await;
    let cases = [
        ("{evaluation_dataset: many}", &record_ids, RIGHT_RECORDS),
        ("{traces: {experiment: big}}", &trace_ids, RIGHT_TRACES),
    ];
    for (dataset, ids, right) in cases {
        let path = ws.suite(&suite("evals", dataset));
        let direct = passed(&ws.run(&path, &["--json"]).await);
        let over_http = passed(
            &eval_command(&ws, &server.url, &path, &["--json"])
                .output()
                .await
                .unwrap(),
        );
        for report in [&direct, &over_http] {
            assert_eq!(report["rows"], ids.len(), "{dataset}");
            let mean = scorer(report, "exact_match")["mean"].as_f64().unwrap();
            let expected = right as f64 / ids.len() as f64;
            assert!(
                (mean - expected).abs() < 1e-9,
                "{dataset}: {mean} != {expected}"
            );
        }
        // Row i is the i-th item in the source's order, and each appears exactly once.
        let store = ws.store().await;
        let traces = all_run_traces(&store, direct["run_id"].as_str().unwrap()).await;
        store.close().await;
        let mut by_index: Vec<(usize, String)> = traces
            .iter()
            .map(|t| {
                (
                    t.tags["judgeflow.eval.row_index"].parse().unwrap(),
                    t.tags["judgeflow.eval.row_id"].clone(),
                )
            })
            .collect();
        by_index.sort();
        let expected: Vec<(usize, String)> = ids.iter().cloned().enumerate().collect();
        assert!(
            by_index == expected,
            "{dataset}: rows are not the source in order"
        );
    }
}
