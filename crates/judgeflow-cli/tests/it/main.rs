//! The `judgeflow` binary's read-only verbs, run as a user runs them: a store filled through the
//! SQLite backend, then the real binary with its output pinned as snapshots (ids and times
//! masked).

mod eval;
mod eval_http;
mod eval_sources;
mod server_log;

use std::path::Path;
use std::process::{Command, Output};

use judgeflow_domain::{Metric, Tag};
use judgeflow_store::{NewExperiment, NewRun, TrackingStore};
use judgeflow_store_sqlite::{SqliteOptions, SqliteStore};

/// A store with one experiment and three runs, as the tests below expect it.
async fn fill(db: &Path) -> Vec<String> {
    let store = SqliteStore::open(
        SqliteOptions::from_uri(&db.display().to_string(), "mlflow-artifacts:").unwrap(),
    )
    .await
    .unwrap();
    // Listing is newest first; a later millisecond than Default's keeps the order fixed.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let experiment_id = store
        .create_experiment(NewExperiment {
            name: "demo".into(),
            artifact_location: None,
            tags: vec![],
        })
        .await
        .unwrap();
    let mut ids = Vec::new();
    for (i, (lr, loss)) in [("0.1", 0.5), ("0.01", 0.25), ("0.001", 0.75)]
        .into_iter()
        .enumerate()
    {
        let run = store
            .create_run(NewRun {
                experiment_id: experiment_id.clone(),
                user_id: "ada".into(),
                run_name: Some(format!("run-{i}")),
                start_time: 1_700_000_000_000 + i as i64 * 1000,
                tags: vec![Tag::new("team", "search")],
            })
            .await
            .unwrap();
        let id = run.info.run_id;
        store
            .log_batch(
                &id,
                vec![
                    Metric::new("loss", loss, 1_700_000_000_000, 1),
                    Metric::new("acc", 1.0 - loss, 1_700_000_000_000, 1),
                ],
                vec![Tag::new("lr", lr)],
                vec![],
            )
            .await
            .unwrap();
        ids.push(id);
    }
    store.close().await;
    ids
}

fn judgeflow(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_judgeflow"))
        .args(args)
        .env(
            "JUDGEFLOW_BACKEND_STORE_URI",
            format!("sqlite:///{}", db.display()),
        )
        .env("JUDGEFLOW_LOG", "warn")
        .output()
        .unwrap()
}

/// Sends `signal` (`TERM`, `INT`, ...) to a spawned child, as a user's `kill` or Ctrl-C does.
fn signal(child: &tokio::process::Child, signal: &str) {
    let pid = child.id().expect("the child is still running").to_string();
    let status = Command::new("kill")
        .args([format!("-{signal}"), pid])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} failed");
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}; stderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// Masks what differs between runs: run ids and the creation times of experiments.
macro_rules! snapshot {
    ($value:expr) => {
        insta::with_settings!({filters => vec![
            (r"[0-9a-f]{32}", "[run_id]"),
            (r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", "[time]"),
            (r#""(creation_time|last_update_time)": \d+"#, r#""$1": "[ms]""#),
        ]}, {
            insta::assert_snapshot!($value);
        })
    };
}

#[tokio::test]
async fn experiments_list_as_table_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("j.db");
    fill(&db).await;
    snapshot!(stdout(&judgeflow(&db, &["experiments", "list"])));
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&judgeflow(&db, &["experiments", "list", "--json"]))).unwrap();
    let names: Vec<_> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["demo", "Default"]);
}

#[tokio::test]
async fn runs_list_filters_and_orders() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("j.db");
    let ids = fill(&db).await;
    let output = judgeflow(
        &db,
        &[
            "runs",
            "list",
            "--experiment-id",
            "1",
            "--filter",
            "metrics.loss < 0.6 and params.lr != '0.001'",
            "--order-by",
            "metrics.loss",
        ],
    );
    let text = stdout(&output);
    // run-1 (loss 0.25) before run-0 (loss 0.5); run-2 is filtered out.
    let first = text.find(&ids[1]).expect("run-1 listed");
    let second = text.find(&ids[0]).expect("run-0 listed");
    assert!(first < second, "{text}");
    assert!(!text.contains(&ids[2]), "{text}");
    snapshot!(text);

    let json: serde_json::Value = serde_json::from_str(&stdout(&judgeflow(
        &db,
        &["runs", "list", "--experiment-id", "1", "--json"],
    )))
    .unwrap();
    assert_eq!(json.as_array().unwrap().len(), 3);
    assert_eq!(json[0]["info"]["run_name"], "run-2", "newest first");
}

#[tokio::test]
async fn runs_get_shows_params_metrics_and_tags() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("j.db");
    let ids = fill(&db).await;
    snapshot!(stdout(&judgeflow(&db, &["runs", "get", &ids[0]])));
    let json: serde_json::Value = serde_json::from_str(&stdout(&judgeflow(
        &db,
        &["runs", "get", &ids[0], "--json"],
    )))
    .unwrap();
    assert_eq!(json["info"]["run_id"], ids[0].as_str());
    assert_eq!(
        json["data"]["params"][0],
        serde_json::json!({"key": "lr", "value": "0.1"})
    );
}

#[tokio::test]
async fn bad_input_is_one_clear_line_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("j.db");
    fill(&db).await;

    let output = judgeflow(
        &db,
        &[
            "runs",
            "list",
            "--experiment-id",
            "1",
            "--filter",
            "metrics.loss >> 1",
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    snapshot!(String::from_utf8(output.stderr).unwrap());

    let output = judgeflow(&db, &["runs", "get", "0123456789abcdef0123456789abcdef"]);
    assert_eq!(output.status.code(), Some(1));
    snapshot!(String::from_utf8(output.stderr).unwrap());

    // A mistyped store path is an error, not a new empty database.
    let missing = dir.path().join("typo.db");
    let output = judgeflow(&missing, &["experiments", "list"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(!missing.exists());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.starts_with("judgeflow: no store at "), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}
