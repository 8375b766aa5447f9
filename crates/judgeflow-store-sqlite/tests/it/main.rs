//! The store conformance suite against SQLite, plus SQLite-specific checks.

use judgeflow_store::TrackingStore;
use judgeflow_store_sqlite::{SqliteOptions, SqliteStore};

async fn fresh_store(dir: &tempfile::TempDir) -> SqliteStore {
    let path = dir.path().join(format!("{}.db", uuid_like()));
    SqliteStore::open(
        SqliteOptions::from_uri(&path.display().to_string(), "mlflow-artifacts:").unwrap(),
    )
    .await
    .unwrap()
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    format!("store-{}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

#[tokio::test]
async fn conformance() {
    let dir = tempfile::tempdir().unwrap();
    judgeflow_store::conformance::run_all(|| fresh_store(&dir)).await;
}

#[tokio::test]
async fn reopening_keeps_data_and_migrations_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reopen.db").display().to_string();
    let store = SqliteStore::open(SqliteOptions::from_uri(&path, "mlflow-artifacts:").unwrap())
        .await
        .unwrap();
    let id = store
        .create_experiment(judgeflow_store::NewExperiment {
            name: "kept".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    store.close().await;
    let store = SqliteStore::open(SqliteOptions::from_uri(&path, "mlflow-artifacts:").unwrap())
        .await
        .unwrap();
    assert_eq!(store.get_experiment(&id).await.unwrap().name, "kept");
    assert_eq!(
        store.get_experiment("0").await.unwrap().artifact_location,
        "mlflow-artifacts:/0"
    );
}
