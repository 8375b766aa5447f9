//! HTTP tests: the real server, started through `serve` on 127.0.0.1:0, driven with reqwest.
//! JSON contracts and error bodies are pinned with insta snapshots (ids and times redacted).

mod artifacts;
mod datasets;
mod experiments;
mod logged_models;
mod registry;
mod runs;
mod traces;
mod transport;

use std::sync::Arc;

use judgeflow_artifacts::ArtifactStore;
use judgeflow_server::{AppState, ServerSettings};
use judgeflow_store_sqlite::{SqliteOptions, SqliteStore};
use serde_json::Value;

/// A running server on a fresh store, stopped when dropped.
pub struct TestServer {
    pub base: String,
    pub client: reqwest::Client,
    pub dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(ServerSettings::default()).await
    }

    pub async fn start_with(settings: ServerSettings) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(
            SqliteOptions::from_uri(
                &dir.path().join("t.db").display().to_string(),
                "mlflow-artifacts:",
            )
            .unwrap(),
        )
        .await
        .unwrap();
        let artifacts =
            ArtifactStore::open(dir.path().join("artifacts").to_str().unwrap()).unwrap();
        let state = AppState::new(Arc::new(store), artifacts, settings);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(judgeflow_server::serve(state, listener, async {
            let _ = rx.await;
        }));
        Self {
            base,
            client: reqwest::Client::new(),
            dir,
            shutdown: Some(tx),
        }
    }

    #[must_use]
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// POSTs JSON to `/api/2.0/mlflow/<path>` and returns (status, body).
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .client
            .post(self.url(&format!("/api/2.0/mlflow/{path}")))
            .json(&body)
            .send()
            .await
            .unwrap();
        decode(response).await
    }

    /// GETs `/api/2.0/mlflow/<path_and_query>`.
    pub async fn get(&self, path_and_query: &str) -> (u16, Value) {
        let response = self
            .client
            .get(self.url(&format!("/api/2.0/mlflow/{path_and_query}")))
            .send()
            .await
            .unwrap();
        decode(response).await
    }

    /// Sends JSON with any method (PATCH and DELETE carry bodies in MLflow's API).
    pub async fn send(&self, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .client
            .request(method, self.url(&format!("/api/2.0/mlflow/{path}")))
            .json(&body)
            .send()
            .await
            .unwrap();
        decode(response).await
    }

    pub async fn new_run(&self, experiment_id: &str) -> String {
        let (status, body) = self
            .post(
                "runs/create",
                serde_json::json!({"experiment_id": experiment_id, "start_time": 1}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["run"]["info"]["run_id"].as_str().unwrap().to_owned()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub async fn decode(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let value =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("non-JSON body ({status}): {text}"));
    (status, value)
}

/// Runs `insta::assert_json_snapshot!` with MLflow ids and timestamps masked.
#[macro_export]
macro_rules! snapshot {
    ($value:expr) => {
        insta::assert_json_snapshot!($value, {
            ".**.run_id" => "[run_id]",
            ".**.run_uuid" => "[run_id]",
            ".**.source_run_id" => "[run_id]",
            ".**.artifact_uri" => "[artifact_uri]",
            ".**.start_time" => "[time]",
            ".**.end_time" => "[time]",
            ".**.creation_time" => "[time]",
            ".**.last_update_time" => "[time]",
            ".**.timestamp" => "[time]",
            ".**.model_id" => "[model_id]",
            ".**.creation_timestamp_ms" => "[time]",
            ".**.last_updated_timestamp_ms" => "[time]",
            ".**.creation_timestamp" => "[time]",
            ".**.last_updated_timestamp" => "[time]",
            ".**.run_name" => "[name]",
        })
    };
}
