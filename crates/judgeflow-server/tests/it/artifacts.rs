use rstest::rstest;
use serde_json::json;

use crate::{TestServer, decode};

const ROOT: &str = "/api/2.0/mlflow-artifacts/artifacts";

#[tokio::test]
async fn upload_download_list_delete() {
    let server = TestServer::start().await;
    let put = |path: &str, body: &'static str| {
        server
            .client
            .put(server.url(&format!("{ROOT}/{path}")))
            .body(body)
            .send()
    };
    assert_eq!(
        put("0/run/artifacts/cfg.json", "{\"a\": 1}")
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        put("0/run/artifacts/dir/b.txt", "hello")
            .await
            .unwrap()
            .status(),
        200
    );

    let response = server
        .client
        .get(server.url(&format!("{ROOT}/0/run/artifacts/dir/b.txt")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "text/plain");
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"b.txt\""
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(response.text().await.unwrap(), "hello");

    let (_, listing) = decode(
        server
            .client
            .get(server.url(&format!("{ROOT}?path=0/run/artifacts")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        listing,
        json!({"files": [{"path": "cfg.json", "is_dir": false, "file_size": 8}, {"path": "dir", "is_dir": true}]})
    );
    let (_, listing) = decode(
        server
            .client
            .get(server.url(&format!("{ROOT}?path=0/run/artifacts/cfg.json")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(listing, json!({}), "listing a file is empty");
    let (_, listing) = decode(server.client.get(server.url(ROOT)).send().await.unwrap()).await;
    assert_eq!(listing["files"][0]["path"], "0");

    let response = server
        .client
        .delete(server.url(&format!("{ROOT}/0/run/artifacts/dir")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (status, body) = decode(
        server
            .client
            .get(server.url(&format!("{ROOT}/0/run/artifacts/dir/b.txt")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(body["error_code"], "RESOURCE_DOES_NOT_EXIST");
}

#[tokio::test]
async fn run_scoped_listing_for_the_ui() {
    let server = TestServer::start().await;
    let run = server.new_run("0").await;
    let path = format!("{ROOT}/0/{run}/artifacts/dir/b.txt");
    assert_eq!(
        server
            .client
            .put(server.url(&path))
            .body("x")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let (status, body) = server
        .get(&format!("artifacts/list?run_id={run}&path=dir"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["files"],
        json!([{"path": "dir/b.txt", "is_dir": false, "file_size": 1}])
    );
}

#[rstest]
#[case::dot_dot("../../etc/passwd")]
#[case::encoded_dots("%2e%2e/%2e%2e/etc/passwd")]
#[case::encoded_slash("0/%2F..%2F..%2Fetc/passwd")]
#[case::double_encoded("%252e%252e/secret")]
#[case::absolute("%2Fetc%2Fpasswd")]
#[case::backslash("..%5C..%5Csecret")]
#[tokio::test]
async fn traversal_is_refused(#[case] path: &str) {
    let server = TestServer::start().await;
    // Raw requests: HTTP clients normalise `..` away before sending, attackers do not.
    for method in ["PUT", "GET", "DELETE"] {
        let (status, body) = raw_request(&server, method, &format!("{ROOT}/{path}")).await;
        assert_eq!(status, 400, "{method} {path}: {body}");
        assert_eq!(
            body,
            json!({"error_code": "INVALID_PARAMETER_VALUE", "message": "Invalid path"})
        );
    }
    let (status, _) = raw_request(&server, "GET", &format!("{ROOT}?path={path}")).await;
    assert_eq!(status, 400);
}

/// Sends one HTTP/1.1 request with the path exactly as given and returns (status, JSON body).
async fn raw_request(server: &TestServer, method: &str, path: &str) -> (u16, serde_json::Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = server.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("");
    (
        status,
        serde_json::from_str(body).unwrap_or_else(|_| panic!("non-JSON body: {response}")),
    )
}

#[tokio::test]
async fn oversized_uploads_are_refused_and_leave_nothing() {
    let settings = judgeflow_server::ServerSettings {
        max_artifact_upload: 1024,
        ..Default::default()
    };
    let server = TestServer::start_with(settings).await;
    let response = server
        .client
        .put(server.url(&format!("{ROOT}/0/big.bin")))
        .body(vec![0_u8; 4096])
        .send()
        .await
        .unwrap();
    let (status, body) = decode(response).await;
    assert_eq!(status, 413);
    assert_eq!(body["error_code"], "BAD_REQUEST");
    let (status, _) = decode(
        server
            .client
            .get(server.url(&format!("{ROOT}/0/big.bin")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404, "a refused upload stores nothing");
}
