use serde_json::{Value, json};

use crate::{TestServer, snapshot};

#[tokio::test]
async fn run_round_trip_with_params_metrics_tags_inputs() {
    let server = TestServer::start().await;
    let (status, body) = server
        .post("runs/create", json!({"experiment_id": "0", "run_name": "r1", "user_id": "ana", "start_time": 1, "tags": [{"key": "mlflow.user", "value": "ana"}]}))
        .await;
    assert_eq!(status, 200);
    let run_id = body["run"]["info"]["run_id"].as_str().unwrap().to_owned();

    let batch = json!({
        "run_id": run_id,
        "metrics": [
            {"key": "loss", "value": 1.0, "timestamp": 10, "step": 0},
            {"key": "loss", "value": 3.0, "timestamp": 11, "step": 2},
            {"key": "loss", "value": 5.0, "timestamp": 12, "step": 1},
            {"key": "nan", "value": "NaN", "timestamp": 10, "step": 0},
            {"key": "inf", "value": "Infinity", "timestamp": "10", "step": "0"}
        ],
        "params": [{"key": "lr", "value": "0.1"}],
        "tags": [{"key": "k", "value": "v"}]
    });
    assert_eq!(server.post("runs/log-batch", batch).await.0, 200);
    let inputs = json!({"run_id": run_id, "datasets": [{"tags": [{"key": "mlflow.data.context", "value": "training"}], "dataset": {"name": "d", "digest": "300830b9", "source_type": "code", "source": "{}"}}]});
    assert_eq!(server.post("runs/log-inputs", inputs).await.0, 200);
    assert_eq!(
        server
            .post(
                "runs/outputs",
                json!({"run_id": run_id, "models": [{"model_id": "m-abc", "step": 0}]})
            )
            .await
            .0,
        200
    );
    let (status, _) = server
        .post(
            "runs/update",
            json!({"run_id": run_id, "run_uuid": run_id, "status": "FINISHED", "end_time": 20}),
        )
        .await;
    assert_eq!(status, 200);

    let (status, body) = server
        .get(&format!("runs/get?run_uuid={run_id}&run_id={run_id}"))
        .await;
    assert_eq!(status, 200);
    snapshot!(body);
    let loss = body["run"]["data"]["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["key"] == "loss")
        .unwrap()
        .clone();
    assert_eq!(
        (loss["value"].as_f64(), loss["step"].as_i64()),
        (Some(3.0), Some(2))
    );

    let (_, history) = server
        .get(&format!(
            "metrics/get-history?run_id={run_id}&metric_key=loss&max_results=25000"
        ))
        .await;
    let steps: Vec<i64> = history["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["step"].as_i64().unwrap())
        .collect();
    assert_eq!(steps, vec![0, 2, 1], "history is ordered by timestamp");
    let (_, empty) = server
        .get(&format!(
            "metrics/get-history?run_id={run_id}&metric_key=nope"
        ))
        .await;
    assert_eq!(empty, json!({}));
}

#[tokio::test]
async fn single_writes_search_and_soft_delete() {
    let server = TestServer::start().await;
    let a = server.new_run("0").await;
    let b = server.new_run("0").await;
    for (run, lr, loss) in [(&a, "0.1", 2.0), (&b, "0.01", 0.5)] {
        assert_eq!(
            server
                .post(
                    "runs/log-parameter",
                    json!({"run_id": run, "key": "lr", "value": lr})
                )
                .await
                .0,
            200
        );
        assert_eq!(
            server
                .post(
                    "runs/log-metric",
                    json!({"run_id": run, "key": "loss", "value": loss, "timestamp": 5})
                )
                .await
                .0,
            200
        );
        assert_eq!(
            server
                .post(
                    "runs/set-tag",
                    json!({"run_id": run, "key": "t", "value": "x"})
                )
                .await
                .0,
            200
        );
    }
    let search = json!({"experiment_ids": ["0"], "filter": "metrics.loss > 1 and params.lr = '0.1'", "run_view_type": "ACTIVE_ONLY", "max_results": 10, "order_by": ["metrics.loss DESC", "attributes.start_time"]});
    let (status, body) = server.post("runs/search", search).await;
    assert_eq!(status, 200);
    let ids: Vec<&Value> = body["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["info"]["run_id"])
        .collect();
    assert_eq!(ids, vec![&json!(a)]);

    assert_eq!(
        server
            .post("runs/delete-tag", json!({"run_id": a, "key": "t"}))
            .await
            .0,
        200
    );
    let (status, body) = server
        .post("runs/delete-tag", json!({"run_id": a, "key": "t"}))
        .await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (404, Some("RESOURCE_DOES_NOT_EXIST"))
    );

    assert_eq!(
        server.post("runs/delete", json!({"run_id": a})).await.0,
        200
    );
    let (_, body) = server
        .post("runs/search", json!({"experiment_ids": ["0"]}))
        .await;
    assert_eq!(body["runs"].as_array().unwrap().len(), 1);
    let (_, body) = server
        .post(
            "runs/search",
            json!({"experiment_ids": ["0"], "run_view_type": "ALL"}),
        )
        .await;
    assert_eq!(body["runs"].as_array().unwrap().len(), 2);
    assert_eq!(
        server.post("runs/restore", json!({"run_id": a})).await.0,
        200
    );
}

#[tokio::test]
async fn run_errors_use_mlflow_codes() {
    let server = TestServer::start().await;
    let (status, body) = server
        .get("runs/get?run_id=0123456789abcdef0123456789abcdef")
        .await;
    assert_eq!(status, 404);
    snapshot!(body);

    let run = server.new_run("0").await;
    server
        .post(
            "runs/log-parameter",
            json!({"run_id": run, "key": "p", "value": "1"}),
        )
        .await;
    let (status, body) = server
        .post(
            "runs/log-parameter",
            json!({"run_id": run, "key": "p", "value": "2"}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE");
    assert!(body["message"].as_str().unwrap().starts_with(
        "Changing param values is not allowed. Param with key='p' was already logged with value='1'"
    ));

    let metrics: Vec<Value> = (0..1001)
        .map(|i| json!({"key": "m", "value": i, "timestamp": 1, "step": i}))
        .collect();
    let (status, body) = server
        .post("runs/log-batch", json!({"run_id": run, "metrics": metrics}))
        .await;
    assert_eq!(status, 400);
    snapshot!(body);

    let (status, body) = server
        .post(
            "runs/search",
            json!({"experiment_ids": ["0"], "filter": "metrics.x >> 1"}),
        )
        .await;
    assert_eq!(status, 400);
    snapshot!(body);

    let (status, body) = server
        .post(
            "runs/log-metric",
            json!({"run_id": run, "key": "m", "timestamp": 1}),
        )
        .await;
    assert_eq!(status, 400);
    snapshot!(body);

    let (status, body) = server
        .post(
            "runs/set-tag",
            json!({"run_id": run, "key": "../x", "value": "1"}),
        )
        .await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (400, Some("INVALID_PARAMETER_VALUE"))
    );

    let (status, _) = server
        .post("runs/create", json!({"experiment_id": "12345"}))
        .await;
    assert_eq!(status, 404);
}
