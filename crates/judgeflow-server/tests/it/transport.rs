use serde_json::json;

use crate::{TestServer, decode, snapshot};

#[tokio::test]
async fn health_version_and_server_info() {
    let server = TestServer::start().await;
    let health = server
        .client
        .get(server.url("/health"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(health, "OK");
    let version = server
        .client
        .get(server.url("/version"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The MLflow API level, which the client compares with 3.4 before sending OTLP spans.
    assert_eq!(version, judgeflow_server::MLFLOW_API_VERSION);
    let (status, body) = decode(
        server
            .client
            .get(server.url("/api/3.0/mlflow/server-info"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["store_type"], "SqlStore");
}

#[tokio::test]
async fn ajax_api_serves_the_same_api() {
    let server = TestServer::start().await;
    let (status, body) = decode(
        server
            .client
            .get(server.url("/ajax-api/2.0/mlflow/experiments/get?experiment_id=0"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["experiment"]["name"], "Default");
}

#[tokio::test]
async fn malformed_requests_get_mlflow_errors() {
    let server = TestServer::start().await;
    let response = server
        .client
        .post(server.url("/api/2.0/mlflow/runs/create"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let (status, body) = decode(response).await;
    assert_eq!(status, 400);
    snapshot!(body);

    let (status, body) = server
        .post(
            "runs/search",
            json!({"experiment_ids": ["0"], "max_results": "lots"}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE");

    let (status, body) = decode(
        server
            .client
            .get(server.url("/api/2.0/mlflow/no-such-endpoint"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    snapshot!(body);
    // A known path with the wrong method is a 404 too, so clients fall back instead of failing.
    let (status, body) = decode(
        server
            .client
            .delete(server.url("/api/2.0/mlflow/runs/create"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (404, Some("ENDPOINT_NOT_FOUND"))
    );
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused() {
    let server = TestServer::start().await;
    let run = server.new_run("0").await;
    // log-batch keeps MLflow's 1 MB cap.
    let big = "x".repeat(1_100_000);
    let (status, body) = server
        .post(
            "runs/log-batch",
            json!({"run_id": run, "tags": [{"key": "k", "value": big}]}),
        )
        .await;
    assert_eq!(status, 413);
    assert_eq!(body["error_code"], "BAD_REQUEST");
}

#[tokio::test]
async fn query_strings_accept_python_style_values_and_repeated_keys() {
    let server = TestServer::start().await;
    let a = server.new_run("0").await;
    server.new_run("0").await;
    let (status, body) = server
        .get(
            "runs/search?experiment_ids=0&experiment_ids=0&max_results=1&run_view_type=ACTIVE_ONLY",
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["runs"].as_array().unwrap().len(), 1);
    assert!(body["next_page_token"].is_string());
    let (status, _) = server
        .get(&format!("runs/get?run_id={a}&allow_partial=False"))
        .await;
    assert_eq!(status, 200);
}
