use reqwest::Method;
use serde_json::{Value, json};

use crate::{TestServer, decode, snapshot};

const V3: &str = "/api/3.0/mlflow/traces";

/// An OTLP JSON export of `count` spans of one trace (`trace_hex`): span 1 is the root.
fn otlp_json(trace_hex: &str, first: u64, count: u64) -> Value {
    let spans: Vec<Value> = (first..first + count)
        .map(|n| {
            let mut span = json!({
                "traceId": trace_hex,
                "spanId": format!("{n:016x}"),
                "name": format!("step-{n}"),
                "kind": 1,
                "startTimeUnixNano": (1_700_000_000_000_000_000u64 + n).to_string(),
                "endTimeUnixNano": (1_700_000_000_900_000_000u64 + n).to_string(),
                "attributes": [
                    {"key": "mlflow.spanType", "value": {"stringValue": "\"TOOL\""}},
                    {"key": "mlflow.spanInputs", "value": {"stringValue": "{\"n\": 1}"}},
                ],
                "status": {"code": 1},
            });
            if n != 1 {
                span["parentSpanId"] = json!(format!("{:016x}", 1));
            }
            span
        })
        .collect();
    json!({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]})
}

async fn export(server: &TestServer, experiment_id: &str, body: &Value) -> (u16, String) {
    let response = server
        .client
        .post(server.url("/v1/traces"))
        .header("content-type", "application/json")
        .header("x-mlflow-experiment-id", experiment_id)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn v3(server: &TestServer, method: Method, path: &str, body: Value) -> (u16, Value) {
    let response = server
        .client
        .request(method, server.url(&format!("{V3}{path}")))
        .json(&body)
        .send()
        .await
        .unwrap();
    decode(response).await
}

async fn v3_get(server: &TestServer, path_and_query: &str) -> (u16, Value) {
    let response = server
        .client
        .get(server.url(&format!("{V3}{path_and_query}")))
        .send()
        .await
        .unwrap();
    decode(response).await
}

fn trace_info(trace_id: &str) -> Value {
    json!({"trace": {"trace_info": {
        "trace_id": trace_id,
        "trace_location": {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": "0"}},
        "request_preview": "{\"x\": 3}",
        "response_preview": "7",
        "request_time": "2026-11-26T00:58:05.036Z",
        "execution_duration": "0.027s",
        "state": "OK",
        "trace_metadata": {"mlflow.trace_schema.version": "3", "mlflow.user": "ana"},
        "tags": {"mlflow.traceName": "outer"},
    }}})
}

macro_rules! trace_snapshot {
    ($value:expr) => {
        insta::assert_json_snapshot!($value, {
            ".**.create_time" => "[time]",
            ".**.last_update_time" => "[time]",
            ".**.assessment_id" => "[assessment_id]",
        })
    };
}

#[tokio::test]
async fn start_trace_then_spans_then_reads() {
    let server = TestServer::start().await;
    let trace_hex = "0af7651916cd43dd8448eb211c80319c";
    let trace_id = format!("tr-{trace_hex}");
    let (status, started) = v3(&server, Method::POST, "", trace_info(&trace_id)).await;
    assert_eq!(status, 200, "{started}");
    trace_snapshot!(started);

    let (status, text) = export(&server, "0", &otlp_json(trace_hex, 1, 2)).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.is_empty(), "an empty ExportTraceServiceResponse");

    let (status, info) = v3_get(&server, &format!("/{trace_id}")).await;
    assert_eq!(status, 200);
    trace_snapshot!(info);
    let (status, full) = v3_get(&server, &format!("/get?trace_id={trace_id}")).await;
    assert_eq!(status, 200);
    trace_snapshot!(full);
    let (status, batch) = v3_get(&server, &format!("/batchGet?trace_ids={trace_id}")).await;
    assert_eq!(status, 200);
    assert_eq!(batch["traces"][0], full["trace"]);
    let (status, infos) = v3(
        &server,
        Method::POST,
        "/batchGetInfos",
        json!({"trace_ids": [trace_id, "tr-missing"]}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(infos["trace_infos"][0], info["trace"]["trace_info"]);
    assert_eq!(infos["trace_infos"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn assessments_round_trip_and_search() {
    let server = TestServer::start().await;
    let trace_id = "tr-00000000000000000000000000000abc";
    v3(&server, Method::POST, "", trace_info(trace_id)).await;
    let (status, created) = v3(
        &server,
        Method::POST,
        &format!("/{trace_id}/assessments"),
        json!({"assessment": {
            "assessment_name": "quality",
            "source": {"source_type": "LLM_JUDGE", "source_id": "gpt"},
            "feedback": {"value": {"score": 4, "ok": true}},
            "rationale": "mostly right",
            "metadata": {"mlflow.assessment.sourceRunId": "r1"},
        }}),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    trace_snapshot!(created);
    let id = created["assessment"]["assessment_id"].as_str().unwrap();
    assert!(id.starts_with("a-"));

    let (status, updated) = v3(
        &server,
        Method::PATCH,
        &format!("/{trace_id}/assessments/{id}"),
        json!({"assessment": {"assessment_id": id, "trace_id": trace_id, "feedback": {"value": 5}},
               "update_mask": "feedback"}),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["assessment"]["feedback"]["value"], 5);
    assert_eq!(updated["assessment"]["rationale"], "mostly right");

    let (status, expectation) = v3(
        &server,
        Method::POST,
        &format!("/{trace_id}/assessments"),
        json!({"assessment": {
            "assessment_name": "expected",
            "source": {"source_type": "HUMAN"},
            "expectation": {"serialized_value": {"serialization_format": "JSON_FORMAT", "value": "{\"a\": 1}"}},
        }}),
    )
    .await;
    assert_eq!(status, 200, "{expectation}");
    trace_snapshot!(expectation);

    let search = |filter: &str| {
        json!({"locations": [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": "0"}}],
               "filter": filter})
    };
    let (status, hits) = v3(
        &server,
        Method::POST,
        "/search",
        search("feedback.quality >= 5"),
    )
    .await;
    assert_eq!(status, 200, "{hits}");
    assert_eq!(hits["traces"][0]["trace_id"], trace_id);
    assert_eq!(
        hits["traces"][0]["assessments"].as_array().unwrap().len(),
        2
    );
    let (status, none) = v3(
        &server,
        Method::POST,
        "/search",
        search("feedback.quality < 5"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(none, json!({}));

    let (status, body) = v3(
        &server,
        Method::DELETE,
        &format!("/{trace_id}/assessments/{id}"),
        json!({}),
    )
    .await;
    assert_eq!((status, body), (200, json!({})));
    let (status, gone) = v3_get(&server, &format!("/{trace_id}/assessments/{id}")).await;
    assert_eq!(status, 404);
    assert_eq!(gone["error_code"], "RESOURCE_DOES_NOT_EXIST");
    assert!(gone["message"].as_str().unwrap().contains(id));
}

#[tokio::test]
async fn trace_errors_in_mlflow_shape() {
    let server = TestServer::start().await;
    let cases = [
        (Method::GET, "/tr-unknown".to_owned(), Value::Null),
        (
            Method::POST,
            String::new(),
            json!({"trace": {"trace_info": {"trace_id": "tr-1"}}}),
        ),
        (
            Method::POST,
            "/search".to_owned(),
            json!({"locations": [{"mlflow_experiment": {"experiment_id": "0"}}], "filter": "span.nope = 'x'"}),
        ),
        (
            Method::POST,
            "/search".to_owned(),
            json!({"locations": [{"mlflow_experiment": {"experiment_id": "0"}}], "max_results": 501}),
        ),
        (
            Method::POST,
            "/tr-unknown/assessments".to_owned(),
            json!({"assessment": {"assessment_name": "q", "feedback": {"value": 1}}}),
        ),
        (
            Method::POST,
            "/tr-unknown/assessments".to_owned(),
            json!({"assessment": {"assessment_name": "q"}}),
        ),
    ];
    for (i, (method, path, body)) in cases.into_iter().enumerate() {
        let (status, error) = if body.is_null() {
            v3_get(&server, &path).await
        } else {
            v3(&server, method.clone(), &path, body).await
        };
        insta::assert_json_snapshot!(
            format!("trace_error_{i}_{}_{}", method, path.replace('/', "_")),
            json!({"status": status, "body": error})
        );
    }
    let (status, body) = server
        .post(
            "traces/link-to-run",
            json!({"trace_ids": ["tr-x"], "run_id": "0123456789abcdef0123456789abcdef"}),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    snapshot!(body);
}

/// A content type, headers, a body, and the status it must get.
type OtlpCase = (
    &'static str,
    Vec<(&'static str, &'static str)>,
    Vec<u8>,
    u16,
);

#[tokio::test]
async fn otlp_rejections_store_nothing() {
    let server = TestServer::start().await;
    let trace_hex = "11111111111111111111111111111111";
    let good = otlp_json(trace_hex, 1, 1);
    let (status, text) = export(&server, "999", &good).await;
    assert_eq!(status, 404, "{text}");
    let send =
        |content_type: &'static str, headers: Vec<(&'static str, &'static str)>, body: Vec<u8>| {
            let mut request = server
                .client
                .post(server.url("/v1/traces"))
                .header("content-type", content_type)
                .body(body);
            for (k, v) in headers {
                request = request.header(k, v);
            }
            request.send()
        };
    let cases: Vec<OtlpCase> = vec![
        (
            "text/plain",
            vec![("x-mlflow-experiment-id", "0")],
            b"{}".to_vec(),
            400,
        ),
        (
            "application/json",
            vec![],
            good.to_string().into_bytes(),
            422,
        ),
        (
            "application/json",
            vec![("x-mlflow-experiment-id", "0")],
            b"{nope".to_vec(),
            400,
        ),
        (
            "application/x-protobuf",
            vec![("x-mlflow-experiment-id", "0")],
            vec![0x0a, 0xff, 0xff],
            400,
        ),
        (
            "application/x-protobuf",
            vec![("x-mlflow-experiment-id", "0"), ("content-encoding", "br")],
            vec![1, 2, 3],
            400,
        ),
    ];
    for (content_type, headers, body, expected) in cases {
        let response = send(content_type, headers, body).await.unwrap();
        assert_eq!(response.status().as_u16(), expected, "{content_type}");
    }
    let (status, _) = v3_get(&server, &format!("/tr-{trace_hex}")).await;
    assert_eq!(status, 404, "no rejected request stored its trace");
}

#[tokio::test]
async fn a_trace_of_50000_spans_streams_back_whole() {
    let server = TestServer::start().await;
    let trace_hex = "22222222222222222222222222222222";
    for batch in 0..10 {
        let (status, text) =
            export(&server, "0", &otlp_json(trace_hex, 1 + batch * 5000, 5000)).await;
        assert_eq!(status, 200, "{text}");
    }
    let response = server
        .client
        .get(server.url(&format!("{V3}/get?trace_id=tr-{trace_hex}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    let spans = body["trace"]["spans"].as_array().unwrap();
    assert_eq!(spans.len(), 50_000);
    let ids: std::collections::HashSet<&str> = spans
        .iter()
        .map(|s| s["span_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 50_000);
    assert_eq!(body["trace"]["trace_info"]["state"], "OK");
    assert_eq!(
        body["trace"]["trace_info"]["tags"]["mlflow.trace.spansLocation"],
        "TRACKING_STORE"
    );
}
