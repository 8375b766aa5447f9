use serde_json::json;

use crate::{TestServer, snapshot};

#[tokio::test]
async fn logged_model_lifecycle() {
    let server = TestServer::start().await;
    let run = server.new_run("0").await;
    let (status, body) = server
        .post("logged-models", json!({"experiment_id": "0", "name": "model", "source_run_id": run, "params": [{"key": "a", "value": "1"}], "tags": [{"key": "mlflow.user", "value": "u"}]}))
        .await;
    assert_eq!(status, 200);
    let id = body["model"]["info"]["model_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(id.starts_with("m-"));
    assert_eq!(body["model"]["info"]["status"], "LOGGED_MODEL_PENDING");
    assert_eq!(
        body["model"]["info"]["artifact_uri"],
        format!("mlflow-artifacts:/0/models/{id}/artifacts")
    );

    let response = server
        .client
        .patch(server.url(&format!("/api/2.0/mlflow/logged-models/{id}")))
        .json(&json!({"model_id": id, "status": "LOGGED_MODEL_READY"}))
        .send()
        .await
        .unwrap();
    let (status, body) = crate::decode(response).await;
    assert_eq!(status, 200);
    assert_eq!(body["model"]["info"]["status"], "LOGGED_MODEL_READY");

    let response = server
        .client
        .patch(server.url(&format!("/api/2.0/mlflow/logged-models/{id}/tags")))
        .json(&json!({"tags": [{"key": "mlflow.modelVersions", "value": "[]"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        server
            .post(
                &format!("logged-models/{id}/params"),
                json!({"params": [{"key": "b", "value": "2"}]})
            )
            .await
            .0,
        200
    );

    let (status, body) = server.get(&format!("logged-models/{id}")).await;
    assert_eq!(status, 200);
    snapshot!(body);

    let (_, body) = server
        .post(
            "logged-models/search",
            json!({"experiment_ids": ["0"], "filter": "name = 'model'"}),
        )
        .await;
    assert_eq!(body["models"].as_array().unwrap().len(), 1);
    let (_, body) = server
        .post(
            "logged-models/search",
            json!({"experiment_ids": ["0"], "filter": "name = 'dir'"}),
        )
        .await;
    assert_eq!(body, json!({}));

    let response = server
        .client
        .delete(server.url(&format!(
            "/api/2.0/mlflow/logged-models/{id}/tags/mlflow.modelVersions"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = server
        .client
        .delete(server.url(&format!("/api/2.0/mlflow/logged-models/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (status, body) = server.get(&format!("logged-models/{id}")).await;
    assert_eq!(status, 404);
    assert_eq!(
        body["message"],
        format!("Logged model with ID '{id}' not found")
    );
}
