use reqwest::Method;
use rstest::rstest;
use serde_json::{Value, json};

use crate::{TestServer, snapshot};

async fn registered(server: &TestServer, name: &str) {
    let (status, body) = server
        .post("registered-models/create", json!({"name": name}))
        .await;
    assert_eq!(status, 200, "{body}");
}

async fn new_version(server: &TestServer, name: &str) -> Value {
    let (status, body) = server
        .post(
            "model-versions/create",
            json!({"name": name, "source": "s3://bucket/model"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn registered_model_and_versions_round_trip() {
    let server = TestServer::start().await;
    let (status, body) = server
        .post(
            "registered-models/create",
            json!({"name": "rm", "description": "first", "tags": [{"key": "team", "value": 12345}]}),
        )
        .await;
    assert_eq!(status, 200);
    snapshot!(body);

    let created = new_version(&server, "rm").await;
    snapshot!(created);
    new_version(&server, "rm").await;
    let (status, _) = server
        .post(
            "registered-models/alias",
            json!({"name": "rm", "alias": "champion", "version": "2"}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = server
        .post(
            "model-versions/transition-stage",
            json!({"name": "rm", "version": "1", "stage": "production", "archive_existing_versions": false}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = server
        .post(
            "model-versions/set-tag",
            json!({"name": "rm", "version": "2", "key": "k", "value": "v"}),
        )
        .await;
    assert_eq!(status, 200);

    let (status, body) = server.get("registered-models/get?name=rm").await;
    assert_eq!(status, 200);
    snapshot!(body);

    let (status, body) = server
        .get("registered-models/alias?name=rm&alias=champion")
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["model_version"]["version"], "2");
    assert_eq!(body["model_version"]["aliases"], json!(["champion"]));

    // The client sends POST; GET with repeated `stages` is routed too.
    let (_, body) = server
        .post(
            "registered-models/get-latest-versions",
            json!({"name": "rm", "stages": ["Production"]}),
        )
        .await;
    assert_eq!(body["model_versions"][0]["version"], "1");
    let (_, body) = server
        .get("registered-models/get-latest-versions?name=rm&stages=None&stages=Staging")
        .await;
    assert_eq!(body["model_versions"].as_array().unwrap().len(), 1);

    let (status, body) = server
        .send(
            Method::PATCH,
            "model-versions/update",
            json!({"name": "rm", "version": "2", "description": "better"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["model_version"]["description"], "better");
    let (_, body) = server
        .get("model-versions/get-download-uri?name=rm&version=2")
        .await;
    assert_eq!(body, json!({"artifact_uri": "s3://bucket/model"}));

    let (status, body) = server
        .post(
            "registered-models/rename",
            json!({"name": "rm", "new_name": "rm2"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["registered_model"]["aliases"][0]["version"], "2");
    let (_, body) = server
        .get("model-versions/search?filter=name%3D%27rm2%27")
        .await;
    let versions: Vec<_> = body["model_versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(versions.len(), 2);

    let (status, body) = server
        .send(
            Method::DELETE,
            "model-versions/delete",
            json!({"name": "rm2", "version": "2"}),
        )
        .await;
    assert_eq!((status, body), (200, json!({})));
    let (_, body) = server.get("registered-models/get?name=rm2").await;
    assert_eq!(body["registered_model"]["aliases"], json!([]));
    assert_eq!(
        new_version(&server, "rm2").await["model_version"]["version"],
        "3"
    );

    let (status, _) = server
        .send(
            Method::DELETE,
            "registered-models/delete",
            json!({"name": "rm2"}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = server.get("model-versions/get?name=rm2&version=1").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn search_hides_prompts_and_pages() {
    let server = TestServer::start().await;
    for name in ["a", "b", "c"] {
        registered(&server, name).await;
    }
    let (status, _) = server
        .post(
            "registered-models/create",
            json!({"name": "p", "tags": [{"key": "mlflow.prompt.is_prompt", "value": "true"}]}),
        )
        .await;
    assert_eq!(status, 200);

    // Exactly what the client sends: the prompt exclusion is always appended.
    let (status, body) = server
        .post(
            "registered-models/search",
            json!({"filter": "tag.`mlflow.prompt.is_prompt` != 'true'", "max_results": 2, "order_by": ["name DESC"]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let names: Vec<_> = body["registered_models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].clone())
        .collect();
    assert_eq!(names, [json!("c"), json!("b")]);
    let token = body["next_page_token"].as_str().unwrap().to_owned();
    let (_, body) = server
        .get(&format!(
            "registered-models/search?max_results=2&order_by=name+DESC&page_token={token}"
        ))
        .await;
    assert_eq!(body["registered_models"][0]["name"], "a");
    assert!(body.get("next_page_token").is_none());

    let (_, body) = server
        .get("registered-models/search?filter=tags.%60mlflow.prompt.is_prompt%60+%3D+%27true%27")
        .await;
    assert_eq!(body["registered_models"][0]["name"], "p");
    let (_, body) = server
        .get("registered-models/search?filter=name+%3D+%27zzz%27")
        .await;
    assert_eq!(body, json!({}));

    // The UI's prefix serves the same API.
    let response = server
        .client
        .get(server.url("/ajax-api/2.0/mlflow/registered-models/get?name=a"))
        .send()
        .await
        .unwrap();
    let (status, body) = crate::decode(response).await;
    assert_eq!(status, 200);
    assert_eq!(body["registered_model"]["name"], "a");
}

#[tokio::test]
async fn versions_of_logged_models_resolve_run_and_artifacts() {
    let server = TestServer::start().await;
    let run = server.new_run("0").await;
    let (_, body) = server
        .post(
            "logged-models",
            json!({"experiment_id": "0", "name": "model", "source_run_id": run}),
        )
        .await;
    let model_id = body["model"]["info"]["model_id"]
        .as_str()
        .unwrap()
        .to_owned();
    registered(&server, "lm").await;
    let (status, body) = server
        .post(
            "model-versions/create",
            json!({"name": "lm", "source": format!("models:/{model_id}"), "model_id": model_id}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["model_version"]["run_id"], run);
    assert_eq!(body["model_version"]["status"], "READY");
    let (_, body) = server
        .get("model-versions/get-download-uri?name=lm&version=1")
        .await;
    assert_eq!(
        body["artifact_uri"],
        format!("mlflow-artifacts:/0/models/{model_id}/artifacts")
    );
}

#[rstest]
#[case(
    "missing_model",
    Method::GET,
    "registered-models/get?name=nope",
    Value::Null
)]
#[case("duplicate", Method::POST, "registered-models/create", json!({"name": "m"}))]
#[case(
    "version_not_integer",
    Method::GET,
    "model-versions/get?name=m&version=one",
    Value::Null
)]
#[case(
    "missing_version",
    Method::GET,
    "model-versions/get?name=m&version=9",
    Value::Null
)]
#[case(
    "unknown_alias",
    Method::GET,
    "registered-models/alias?name=m&alias=champion",
    Value::Null
)]
#[case("reserved_alias", Method::POST, "registered-models/alias", json!({"name": "m", "alias": "latest", "version": "1"}))]
#[case("bad_stage", Method::POST, "model-versions/transition-stage", json!({"name": "m", "version": "1", "stage": "Shipped"}))]
#[case("bad_name", Method::POST, "registered-models/create", json!({"name": "a/b"}))]
#[case("no_name", Method::POST, "registered-models/create", json!({}))]
#[case(
    "bad_filter",
    Method::GET,
    "model-versions/search?filter=metrics.x+%3E+1",
    Value::Null
)]
#[tokio::test]
async fn registry_errors_use_mlflow_codes(
    #[case] label: &str,
    #[case] method: Method,
    #[case] path: &str,
    #[case] body: Value,
) {
    let server = TestServer::start().await;
    registered(&server, "m").await;
    new_version(&server, "m").await;
    let (status, body) = if method == Method::GET {
        server.get(path).await
    } else {
        server.send(method, path, body).await
    };
    insta::assert_json_snapshot!(
        format!("registry_error_{label}"),
        json!({"status": status, "body": body})
    );
}
