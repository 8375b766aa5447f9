//! `judgeflow server`'s request log: one line per request on stderr, through the buffered log
//! writer, and none lost when the server is stopped.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

const REQUESTS: usize = 300;

#[tokio::test(flavor = "multi_thread")]
async fn every_request_is_one_log_line_and_shutdown_loses_none() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_judgeflow"))
        .args(["server", "--host", "127.0.0.1", "--port", "0"])
        .arg("--backend-store-uri")
        .arg(format!("sqlite:///{}", dir.path().join("log.db").display()))
        .arg("--artifacts-destination")
        .arg(dir.path().join("artifacts"))
        .env("JUDGEFLOW_LOG", "info")
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(at) = line.find("listening on http://") {
                let rest = &line[at + "listening on ".len()..];
                return rest.split_whitespace().next().unwrap().to_owned();
            }
        }
        panic!("the server exited before listening");
    })
    .await
    .expect("the server listens within 30 s");

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
    let pid = child.id().unwrap().to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success());
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
