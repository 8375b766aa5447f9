//! `/api/3.0/mlflow/datasets/*`: each endpoint's JSON (with its JSON-text fields) and errors.

use reqwest::Method;
use rstest::rstest;
use serde_json::{Value, json};

use crate::TestServer;

/// Snapshots with the dataset's ids, times and digests masked; JSON-text fields are parsed
/// first so their content is pinned, not their ids.
macro_rules! dataset_snapshot {
    ($value:expr) => {
        insta::assert_json_snapshot!($value, {
            ".**.dataset_id" => "[dataset_id]",
            ".**.dataset_record_id" => "[record_id]",
            ".**.created_time" => "[time]",
            ".**.last_update_time" => "[time]",
            ".**.digest" => "[digest]",
            ".**.next_page_token" => "[token]",
        })
    };
}

async fn call(server: &TestServer, method: Method, path: &str, body: Value) -> (u16, Value) {
    let url = server.url(&format!("/api/3.0/mlflow/datasets{path}"));
    let request = server.client.request(method.clone(), url);
    let request = if method == Method::GET || body.is_null() {
        request
    } else {
        request.json(&body)
    };
    crate::decode(request.send().await.unwrap()).await
}

/// Replaces the JSON-text fields of a response by their parsed values.
fn parse_text_fields(mut value: Value) -> Value {
    for field in ["tags", "schema", "profile", "records"] {
        if let Some(text) = value.get(field).and_then(Value::as_str) {
            value[field] = serde_json::from_str(text).unwrap();
        }
    }
    if let Some(dataset) = value.get_mut("dataset") {
        *dataset = parse_text_fields(dataset.take());
    }
    if let Some(Value::Array(items)) = value.get_mut("datasets") {
        for item in items {
            *item = parse_text_fields(item.take());
        }
    }
    value
}

async fn create(server: &TestServer, name: &str) -> String {
    let (status, body) = call(
        server,
        Method::POST,
        "/create",
        json!({"name": name, "experiment_ids": ["0"], "tags": "{\"team\": \"a\", \"mlflow.user\": \"root\"}"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["dataset"]["dataset_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn dataset_lifecycle_over_http() {
    let server = TestServer::start().await;
    let (status, body) = call(
        &server,
        Method::POST,
        "/create",
        json!({"name": "qa", "experiment_ids": ["0"], "tags": "{\"team\": \"a\", \"mlflow.user\": \"root\"}"}),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        body["dataset"]["tags"].is_string(),
        "tags travel as JSON text"
    );
    dataset_snapshot!(parse_text_fields(body.clone()));
    let id = body["dataset"]["dataset_id"].as_str().unwrap().to_owned();

    let records = json!([
        {"inputs": {"question": "What is MLflow?"}, "expectations": {"answer": "A platform"},
         "tags": {"mlflow.user": "root"}, "source": {"source_type": "HUMAN", "source_data": {}}},
        {"inputs": {"question": "Why?"}, "outputs": {"text": "because", "score": 0.5},
         "source": {"source_type": "TRACE", "source_data": {"trace_id": "tr-1"}}},
    ]);
    let (status, body) = call(
        &server,
        Method::POST,
        &format!("/{id}/records"),
        json!({"records": records.to_string()}),
    )
    .await;
    assert_eq!(
        (status, body),
        (200, json!({"inserted_count": 2, "updated_count": 0}))
    );
    let (_, body) = call(
        &server,
        Method::POST,
        &format!("/{id}/records"),
        json!({"records": json!([{"inputs": {"question": "Why?"}, "expectations": {"answer": "B"}}]).to_string()}),
    )
    .await;
    assert_eq!(body, json!({"inserted_count": 0, "updated_count": 1}));

    let (status, body) = call(&server, Method::GET, &format!("/{id}"), Value::Null).await;
    assert_eq!(status, 200);
    assert!(body["dataset"]["schema"].is_string() && body["dataset"]["profile"].is_string());
    dataset_snapshot!(parse_text_fields(body));

    let (status, page) = call(
        &server,
        Method::GET,
        &format!("/{id}/records?max_results=1"),
        Value::Null,
    )
    .await;
    assert_eq!(status, 200);
    let token = page["next_page_token"].as_str().unwrap().to_owned();
    let (_, rest) = call(
        &server,
        Method::GET,
        &format!("/{id}/records?max_results=1&page_token={token}"),
        Value::Null,
    )
    .await;
    assert!(rest.get("next_page_token").is_none());
    // Both pages, in a fixed order for the snapshot (within one upsert the order is by id).
    let mut all: Vec<Value> = [page, rest]
        .into_iter()
        .flat_map(|p| serde_json::from_str::<Vec<Value>>(p["records"].as_str().unwrap()).unwrap())
        .collect();
    all.sort_by_key(|r| r["inputs"]["question"].as_str().unwrap().to_owned());
    dataset_snapshot!(all);

    let (status, body) = call(
        &server,
        Method::PATCH,
        &format!("/{id}/tags"),
        json!({"tags": "{\"env\": \"prod\"}"}),
    )
    .await;
    assert_eq!((status, body), (200, json!({})));
    let (_, body) = call(
        &server,
        Method::DELETE,
        &format!("/{id}/tags/team"),
        Value::Null,
    )
    .await;
    assert_eq!(body, json!({}));

    let (_, experiment) = server
        .post("experiments/create", json!({"name": "linked"}))
        .await;
    let experiment_id = experiment["experiment_id"].as_str().unwrap().to_owned();
    let (status, body) = call(
        &server,
        Method::POST,
        &format!("/{id}/add-experiments"),
        json!({"experiment_ids": [experiment_id]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["dataset"]["experiment_ids"],
        json!(["0", experiment_id])
    );
    let (_, body) = call(
        &server,
        Method::POST,
        &format!("/{id}/remove-experiments"),
        json!({"experiment_ids": ["0"]}),
    )
    .await;
    assert_eq!(body["dataset"]["experiment_ids"], json!([experiment_id]));
    let (_, body) = call(
        &server,
        Method::GET,
        &format!("/{id}/experiment-ids"),
        Value::Null,
    )
    .await;
    assert_eq!(body, json!({"experiment_ids": [experiment_id]}));

    let (_, body) = call(
        &server,
        Method::POST,
        "/search",
        json!({"filter_string": "tags.env = 'prod'", "max_results": 10}),
    )
    .await;
    dataset_snapshot!(parse_text_fields(body));

    let record_ids: Vec<String> = all
        .iter()
        .map(|r| r["dataset_record_id"].as_str().unwrap().to_owned())
        .collect();
    let (_, body) = call(
        &server,
        Method::DELETE,
        &format!("/{id}/records"),
        json!({"dataset_record_ids": record_ids}),
    )
    .await;
    assert_eq!(body, json!({"deleted_count": 2}));
    let (_, body) = call(&server, Method::GET, &format!("/{id}"), Value::Null).await;
    assert_eq!(
        body["dataset"]["profile"], "null",
        "MLflow's profile of an emptied dataset"
    );

    let (status, body) = call(&server, Method::DELETE, &format!("/{id}"), Value::Null).await;
    assert_eq!((status, body), (200, json!({})));
    let (status, _) = call(&server, Method::GET, &format!("/{id}"), Value::Null).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn search_pages_orders_and_is_routed_for_get_and_the_ui_prefix() {
    let server = TestServer::start().await;
    for name in ["a", "b", "c"] {
        create(&server, name).await;
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    let (_, first) = call(&server, Method::POST, "/search", json!({"max_results": 2})).await;
    let names: Vec<_> = first["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].clone())
        .collect();
    assert_eq!(
        names,
        [json!("c"), json!("b")],
        "created_time DESC by default"
    );
    let token = first["next_page_token"].as_str().unwrap();
    let (_, rest) = call(
        &server,
        Method::GET,
        &format!("/search?max_results=2&page_token={token}"),
        Value::Null,
    )
    .await;
    assert_eq!(rest["datasets"][0]["name"], "a");
    assert!(rest.get("next_page_token").is_none());

    let (_, body) = call(
        &server,
        Method::GET,
        "/search?filter_string=name+IN+(%27a%27,%27c%27)&order_by=name+ASC",
        Value::Null,
    )
    .await;
    let names: Vec<_> = body["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].clone())
        .collect();
    assert_eq!(names, [json!("a"), json!("c")]);
    let (_, body) = call(
        &server,
        Method::POST,
        "/search",
        json!({"filter_string": "name = 'zzz'"}),
    )
    .await;
    assert_eq!(body, json!({}));

    let response = server
        .client
        .post(server.url("/ajax-api/3.0/mlflow/datasets/search"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let (status, body) = crate::decode(response).await;
    assert_eq!(status, 200);
    assert_eq!(body["datasets"].as_array().unwrap().len(), 3);
}

#[rstest]
#[case(
    "unknown_dataset",
    Method::GET,
    "/d-00000000000000000000000000000000",
    Value::Null
)]
#[case("unknown_dataset_records", Method::POST, "/d-00000000000000000000000000000000/records", json!({"records": "[]"}))]
#[case("unknown_dataset_tags", Method::PATCH, "/d-00000000000000000000000000000000/tags", json!({"tags": "{}"}))]
#[case("unknown_experiment", Method::POST, "/create", json!({"name": "x", "experiment_ids": ["4242"]}))]
#[case("no_name", Method::POST, "/create", json!({}))]
#[case("bad_tags_json", Method::POST, "/create", json!({"name": "x", "tags": "{not json"}))]
#[case("tags_not_object", Method::POST, "/create", json!({"name": "x", "tags": "[1, 2]"}))]
#[case("bad_records_json", Method::POST, "/{id}/records", json!({"records": "[{"}))]
#[case("records_not_array", Method::POST, "/{id}/records", json!({"records": "{}"}))]
#[case("bad_source_type", Method::POST, "/{id}/records", json!({"records": "[{\"inputs\": {}, \"source\": {\"source_type\": \"ROBOT\"}}]"}))]
#[case("no_records", Method::POST, "/{id}/records", json!({}))]
#[case(
    "bad_page_token",
    Method::GET,
    "/{id}/records?page_token=garbage",
    Value::Null
)]
#[case("bad_filter_key", Method::POST, "/search", json!({"filter_string": "digest = 'x'"}))]
#[case("in_on_created_by", Method::POST, "/search", json!({"filter_string": "created_by IN ('a')"}))]
#[case("bad_order_by", Method::POST, "/search", json!({"order_by": ["tags.team"]}))]
#[case("max_results_too_large", Method::POST, "/search", json!({"max_results": 60000}))]
#[tokio::test]
async fn dataset_errors_use_mlflow_codes(
    #[case] label: &str,
    #[case] method: Method,
    #[case] path: &str,
    #[case] body: Value,
) {
    let server = TestServer::start().await;
    let id = create(&server, "errors").await;
    let (status, body) = call(&server, method, &path.replace("{id}", &id), body).await;
    insta::assert_json_snapshot!(
        format!("dataset_error_{label}"),
        json!({"status": status, "body": body})
    );
}

#[tokio::test]
async fn deletes_of_unknown_datasets_are_idempotent() {
    let server = TestServer::start().await;
    let missing = "/d-00000000000000000000000000000000";
    let (status, body) = call(&server, Method::DELETE, missing, Value::Null).await;
    assert_eq!((status, body), (200, json!({})));
    let (status, body) = call(
        &server,
        Method::DELETE,
        &format!("{missing}/tags/k"),
        Value::Null,
    )
    .await;
    assert_eq!((status, body), (200, json!({})));
    let (status, body) = call(
        &server,
        Method::DELETE,
        &format!("{missing}/records"),
        json!({"dataset_record_ids": ["dr-1"]}),
    )
    .await;
    assert_eq!((status, body), (200, json!({"deleted_count": 0})));
}
