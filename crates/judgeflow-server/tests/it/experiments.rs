use serde_json::json;

use crate::{TestServer, snapshot};

#[tokio::test]
async fn create_get_search_rename_delete_restore() {
    let server = TestServer::start().await;
    let (status, body) = server
        .post(
            "experiments/create",
            json!({"name": "s1-exp", "tags": [{"key": "team", "value": "a"}]}),
        )
        .await;
    assert_eq!(status, 200);
    let id = body["experiment_id"].as_str().unwrap().to_owned();
    assert_eq!(id, "1");

    let (status, body) = server
        .get(&format!("experiments/get?experiment_id={id}"))
        .await;
    assert_eq!(status, 200);
    snapshot!(body);

    let (_, body) = server
        .get("experiments/get-by-name?experiment_name=s1-exp")
        .await;
    assert_eq!(body["experiment"]["experiment_id"], "1");

    server
        .post("experiments/create", json!({"name": "other"}))
        .await;
    let (_, body) = server
        .post("experiments/search", json!({"max_results": 1000, "filter": "name LIKE 's1%'", "order_by": ["name"], "view_type": "ACTIVE_ONLY"}))
        .await;
    let names: Vec<_> = body["experiments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("s1-exp")]);
    // GET form, with repeated keys and the paging token.
    let (_, body) = server
        .get("experiments/search?max_results=1&order_by=name")
        .await;
    assert_eq!(body["experiments"][0]["name"], "Default");
    let token = body["next_page_token"].as_str().unwrap();
    let (_, body) = server
        .get(&format!(
            "experiments/search?max_results=1&order_by=name&page_token={token}"
        ))
        .await;
    assert_eq!(body["experiments"][0]["name"], "other");

    assert_eq!(
        server
            .post(
                "experiments/update",
                json!({"experiment_id": id, "new_name": "renamed"})
            )
            .await
            .0,
        200
    );
    assert_eq!(
        server
            .post("experiments/delete", json!({"experiment_id": id}))
            .await
            .0,
        200
    );
    let (_, body) = server
        .get(&format!("experiments/get?experiment_id={id}"))
        .await;
    assert_eq!(body["experiment"]["lifecycle_stage"], "deleted");
    let (_, body) = server
        .post("experiments/search", json!({"view_type": "DELETED_ONLY"}))
        .await;
    assert_eq!(body["experiments"].as_array().unwrap().len(), 1);
    assert_eq!(
        server
            .post("experiments/restore", json!({"experiment_id": id}))
            .await
            .0,
        200
    );

    assert_eq!(
        server
            .post(
                "experiments/set-experiment-tag",
                json!({"experiment_id": id, "key": "k", "value": "v"})
            )
            .await
            .0,
        200
    );
    assert_eq!(
        server
            .post(
                "experiments/delete-experiment-tag",
                json!({"experiment_id": id, "key": "k"})
            )
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn experiment_errors_use_mlflow_codes() {
    let server = TestServer::start().await;
    server
        .post("experiments/create", json!({"name": "dup"}))
        .await;
    let (status, body) = server
        .post("experiments/create", json!({"name": "dup"}))
        .await;
    assert_eq!(status, 400);
    snapshot!(body);
    let (status, body) = server
        .get("experiments/get-by-name?experiment_name=missing")
        .await;
    assert_eq!(status, 404);
    snapshot!(body);
    let (status, body) = server.get("experiments/get?experiment_id=999").await;
    assert_eq!(status, 404);
    assert_eq!(body["error_code"], "RESOURCE_DOES_NOT_EXIST");
    let (status, body) = server.post("experiments/create", json!({})).await;
    assert_eq!(status, 400);
    snapshot!(body);
    let (status, body) = server
        .post("experiments/search", json!({"max_results": 60000}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE");
}
