//! `judgeflow server`'s request log: one line per request on stderr, through the buffered log
//! writer, and none lost when the server is stopped.

use std::time::Duration;

use crate::eval_http::spawn_server;

const REQUESTS: usize = 300;

#[tokio::test(flavor = "multi_thread")]
async fn every_request_is_one_log_line_and_shutdown_loses_none() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, mut lines, url) = spawn_server(&dir, &dir.path().join("log.db")).await;

    let http = reqwest::Client::new();
    for i in 0..REQUESTS {
        // Every tenth asks for an unknown route: its 404 is logged like any answer.
        let path = if i % 10 == 0 {
            "/no/such/route"
        } else {
            "/health"
        };
        http.get(format!("{url}{path}")).send().await.unwrap();
    }
    // SIGTERM: a graceful stop, after which the writer thread's buffer must be flushed.
    crate::signal(&child, "TERM");
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            rest.push(line);
        }
    })
    .await
    .expect("stderr closes when the server exits");
    let exit = child.wait().await.unwrap();
    assert!(exit.success(), "{exit:?}; {rest:?}");

    let requests: Vec<&String> = rest.iter().filter(|l| l.contains(" request ")).collect();
    assert_eq!(requests.len(), REQUESTS, "{rest:#?}");
    let not_found = requests
        .iter()
        .filter(|l| l.contains("path=/no/such/route") && l.contains("status=404"))
        .count();
    assert_eq!(not_found, REQUESTS / 10);
    assert!(
        requests
            .iter()
            .all(|l| l.contains("method=GET") && l.contains("latency_us=")),
        "{:?}",
        requests.first()
    );
}
