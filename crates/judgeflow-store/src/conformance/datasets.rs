//! Conformance checks of [`crate::DatasetStore`]: evaluation datasets, their records (upsert by
//! inputs, merge, cursor pages, deletes), tags, experiment links and search.

use std::time::Duration;

use judgeflow_domain::Tag;
use judgeflow_domain::evaluation_datasets::{
    RecordUpsert, dataset_digest, parse_records, parse_search_filter, parse_search_order_by,
};
use serde_json::{Value, json};

use crate::{
    DatasetQuery, NewEvaluationDataset, NewExperiment, PageToken, RecordCursor, StoreError,
    TrackingStore, UpsertCounts,
};

pub(super) async fn run_all<S: TrackingStore>(stores: [S; 4]) {
    let [a, b, c, d] = stores;
    dataset_lifecycle(&a).await;
    records_upsert_and_merge(&b).await;
    records_page_and_delete(&c).await;
    dataset_search(&d).await;
}

fn records(value: Value) -> Vec<RecordUpsert> {
    parse_records(value).expect("valid records")
}

async fn new_dataset(store: &impl TrackingStore, name: &str, experiments: &[&str]) -> String {
    store
        .create_dataset(NewEvaluationDataset {
            name: name.into(),
            tags: vec![Tag::new("mlflow.user", "ana"), Tag::new("team", name)],
            experiment_ids: experiments.iter().map(|e| (*e).to_owned()).collect(),
        })
        .await
        .expect("create dataset")
        .dataset_id
}

async fn new_experiment(store: &impl TrackingStore, name: &str) -> String {
    store
        .create_experiment(NewExperiment {
            name: name.into(),
            ..Default::default()
        })
        .await
        .expect("create experiment")
}

/// Sleeps past the current millisecond, so the next write has a later timestamp.
async fn next_millisecond() {
    tokio::time::sleep(Duration::from_millis(3)).await;
}

async fn dataset_lifecycle(store: &impl TrackingStore) {
    let experiment = new_experiment(store, "with-datasets").await;
    let created = store
        .create_dataset(NewEvaluationDataset {
            name: "qa".into(),
            tags: vec![Tag::new("mlflow.user", "ana"), Tag::new("team", "a")],
            experiment_ids: vec!["0".into()],
        })
        .await
        .unwrap();
    assert!(created.dataset_id.starts_with("d-") && created.dataset_id.len() == 34);
    assert_eq!(created.created_by.as_deref(), Some("ana"));
    assert_eq!(created.last_updated_by.as_deref(), Some("ana"));
    assert_eq!(created.experiment_ids, vec!["0".to_owned()]);
    assert_eq!(created.created_time, created.last_update_time);
    assert_eq!(created.digest, dataset_digest("qa", created.created_time));
    assert_eq!(
        (created.schema.as_deref(), created.profile.as_deref()),
        (None, None)
    );
    let id = created.dataset_id.clone();
    assert_eq!(store.get_dataset(&id).await.unwrap(), created);
    assert!(matches!(
        store.get_dataset("d-nope").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store
            .create_dataset(NewEvaluationDataset {
                name: "x".into(),
                experiment_ids: vec!["424242".into()],
                ..Default::default()
            })
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.create_dataset(NewEvaluationDataset::default()).await,
        Err(StoreError::InvalidParameter(_))
    ));

    store
        .set_dataset_tags(&id, vec![Tag::new("team", "b"), Tag::new("env", "prod")])
        .await
        .unwrap();
    store.delete_dataset_tag(&id, "mlflow.user").await.unwrap();
    store.delete_dataset_tag(&id, "never-set").await.unwrap();
    let tagged = store.get_dataset(&id).await.unwrap();
    assert_eq!(
        tagged.tags,
        vec![Tag::new("env", "prod"), Tag::new("team", "b")]
    );
    assert_eq!(
        tagged.last_update_time, created.last_update_time,
        "tags do not move the update time"
    );
    assert!(matches!(
        store
            .set_dataset_tags("d-nope", vec![Tag::new("a", "b")])
            .await,
        Err(StoreError::NotFound(_))
    ));

    next_millisecond().await;
    let linked = store
        .add_dataset_to_experiments(&id, &[experiment.clone(), "0".into()])
        .await
        .unwrap();
    assert_eq!(
        linked.experiment_ids,
        vec!["0".to_owned(), experiment.clone()]
    );
    assert!(linked.last_update_time > created.last_update_time);
    assert_eq!(linked.digest, created.digest, "links keep the digest");
    assert!(matches!(
        store
            .add_dataset_to_experiments(&id, &["424242".into()])
            .await,
        Err(StoreError::NotFound(_))
    ));
    let unlinked = store
        .remove_dataset_from_experiments(&id, &["0".into(), "777".into(), "x".into()])
        .await
        .unwrap();
    assert_eq!(unlinked.experiment_ids, vec![experiment.clone()]);
    assert_eq!(
        store.get_dataset_experiment_ids(&id).await.unwrap(),
        vec![experiment]
    );
    assert!(matches!(
        store.get_dataset_experiment_ids("d-nope").await,
        Err(StoreError::NotFound(_))
    ));

    store
        .upsert_dataset_records(&id, records(json!([{"inputs": {"q": 1}}])))
        .await
        .unwrap();
    store.delete_dataset(&id).await.unwrap();
    store.delete_dataset(&id).await.unwrap();
    assert!(matches!(
        store.get_dataset(&id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.get_dataset_records(&id, 10, None).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn records_upsert_and_merge(store: &impl TrackingStore) {
    let id = new_dataset(store, "merge", &[]).await;
    let before = store.get_dataset(&id).await.unwrap();
    next_millisecond().await;
    let counts = store
        .upsert_dataset_records(
            &id,
            records(json!([
                {"inputs": {"q": "a", "n": 1}, "expectations": {"answer": "A"},
                 "tags": {"mlflow.user": "bo"}, "source": {"source_type": "HUMAN", "source_data": {}}},
                {"inputs": {"q": "b"}, "outputs": "text"},
                {"inputs": {"q": "c"}, "outputs": null},
            ])),
        )
        .await
        .unwrap();
    assert_eq!(
        counts,
        UpsertCounts {
            inserted: 3,
            updated: 0
        }
    );
    let after = store.get_dataset(&id).await.unwrap();
    assert_eq!(after.profile.as_deref(), Some(r#"{"num_records": 3}"#));
    assert_eq!(
        after.schema.as_deref(),
        Some(
            r#"{"inputs": {"n": "integer", "q": "string"}, "outputs": "string", "expectations": {"answer": "string"}, "version": "1.0"}"#
        )
    );
    assert!(after.last_update_time > before.last_update_time);
    assert_eq!(
        after.digest,
        dataset_digest("merge", after.last_update_time)
    );
    assert_ne!(after.digest, before.digest);
    assert_eq!(after.last_updated_by.as_deref(), Some("bo"));
    assert_eq!(after.created_by.as_deref(), Some("ana"));

    next_millisecond().await;
    // Same inputs in another key order: the same record. Expectations and tags dict-merge.
    let counts = store
        .upsert_dataset_records(
            &id,
            records(json!([
                {"inputs": {"n": 1, "q": "a"}, "expectations": {"answer": "A2", "extra": 2},
                 "tags": {"k": "v"}},
                {"inputs": {"q": "d"}},
                {"inputs": {"q": "d"}, "expectations": {"x": true}},
            ])),
        )
        .await
        .unwrap();
    assert_eq!(
        counts,
        UpsertCounts {
            inserted: 1,
            updated: 2
        }
    );
    let merged = store.get_dataset(&id).await.unwrap();
    assert_eq!(merged.profile.as_deref(), Some(r#"{"num_records": 4}"#));
    assert_eq!(
        merged.last_updated_by, None,
        "no record of the batch named a user (MLflow clears it then)"
    );
    let page = store.get_dataset_records(&id, 100, None).await.unwrap();
    assert_eq!(page.items.len(), 4);
    let a = page
        .items
        .iter()
        .find(|r| r.inputs.get("q") == Some(&json!("a")))
        .unwrap();
    assert_eq!(
        Value::Object(a.expectations.clone().unwrap()),
        json!({"answer": "A2", "extra": 2})
    );
    assert_eq!(
        Value::Object(a.tags.clone()),
        json!({"mlflow.user": "bo", "k": "v"})
    );
    assert_eq!(a.created_by.as_deref(), Some("bo"));
    assert!(a.last_update_time > a.created_time);
    assert_eq!(
        a.source_type
            .map(judgeflow_domain::evaluation_datasets::RecordSourceType::as_str),
        Some("HUMAN")
    );
    assert_eq!(a.outputs, Some(json!({})), "absent outputs default to {{}}");
    let b = page
        .items
        .iter()
        .find(|r| r.inputs.get("q") == Some(&json!("b")))
        .unwrap();
    assert_eq!(b.outputs, Some(json!("text")));
    assert!(b.expectations.is_none() && b.source.is_none());
    let c = page
        .items
        .iter()
        .find(|r| r.inputs.get("q") == Some(&json!("c")))
        .unwrap();
    assert_eq!(c.outputs, None);
    let d = page
        .items
        .iter()
        .find(|r| r.inputs.get("q") == Some(&json!("d")))
        .unwrap();
    assert_eq!(
        d.expectations.clone().map(Value::Object),
        Some(json!({"x": true}))
    );

    assert!(matches!(
        store
            .upsert_dataset_records("d-nope", records(json!([{"inputs": {}}])))
            .await,
        Err(StoreError::NotFound(_))
    ));
    // An empty batch still counts as an update of the dataset, but keeps its profile.
    let counts = store.upsert_dataset_records(&id, Vec::new()).await.unwrap();
    assert_eq!(counts, UpsertCounts::default());
    assert_eq!(
        store.get_dataset(&id).await.unwrap().profile.as_deref(),
        Some(r#"{"num_records": 4}"#)
    );
}

async fn records_page_and_delete(store: &impl TrackingStore) {
    let id = new_dataset(store, "pages", &[]).await;
    for batch in 0..3 {
        let batch: Vec<Value> = (0..3)
            .map(|i| json!({"inputs": {"i": batch * 3 + i}}))
            .collect();
        store
            .upsert_dataset_records(&id, records(Value::Array(batch)))
            .await
            .unwrap();
        next_millisecond().await;
    }
    let mut seen = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page = store.get_dataset_records(&id, 4, cursor).await.unwrap();
        pages += 1;
        assert!(page.items.len() <= 4);
        seen.extend(page.items);
        match page.next_page_token {
            Some(token) => cursor = RecordCursor::decode(Some(&token)).unwrap(),
            None => break,
        }
    }
    assert_eq!((seen.len(), pages), (9, 3));
    let order: Vec<_> = seen
        .iter()
        .map(|r| (r.created_time, r.dataset_record_id.clone()))
        .collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "pages walk (created_time, id) order");
    let ids: Vec<String> = seen.iter().map(|r| r.dataset_record_id.clone()).collect();
    assert!(ids.iter().all(|i| i.starts_with("dr-")));

    let deleted = store
        .delete_dataset_records(&id, &[ids[0].clone(), ids[1].clone(), "dr-nope".into()])
        .await
        .unwrap();
    assert_eq!(deleted, 2);
    let dataset = store.get_dataset(&id).await.unwrap();
    assert_eq!(dataset.profile.as_deref(), Some(r#"{"num_records": 7}"#));
    assert!(dataset.schema.is_some());
    assert_eq!(
        store.delete_dataset_records(&id, &ids[..2]).await.unwrap(),
        0
    );
    assert_eq!(
        store.delete_dataset_records("d-nope", &ids).await.unwrap(),
        0
    );
    assert_eq!(store.delete_dataset_records(&id, &ids).await.unwrap(), 7);
    assert_eq!(
        store.get_dataset(&id).await.unwrap().profile.as_deref(),
        Some("null"),
        "MLflow writes a JSON null once deletes empty a dataset"
    );
    let empty = store.get_dataset_records(&id, 4, None).await.unwrap();
    assert!(empty.items.is_empty() && empty.next_page_token.is_none());
    // Deleted inputs can come back as new records.
    let counts = store
        .upsert_dataset_records(&id, records(json!([{"inputs": {"i": 0}}])))
        .await
        .unwrap();
    assert_eq!(counts.inserted, 1);
    assert_eq!(
        store.get_dataset(&id).await.unwrap().profile.as_deref(),
        Some(r#"{"num_records": 1}"#)
    );
}

fn dataset_query(
    experiments: &[&str],
    filter: &str,
    order_by: &[&str],
    max: usize,
) -> DatasetQuery {
    DatasetQuery {
        experiment_ids: experiments.iter().map(|e| (*e).to_owned()).collect(),
        filter: parse_search_filter(filter).expect("valid filter"),
        order_by: parse_search_order_by(
            &order_by.iter().map(|o| (*o).to_owned()).collect::<Vec<_>>(),
        )
        .expect("valid order"),
        max_results: max,
        page_token: PageToken::default(),
    }
}

async fn names(store: &impl TrackingStore, query: &DatasetQuery) -> Vec<String> {
    store
        .search_datasets(query)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|d| d.name)
        .collect()
}

async fn dataset_search(store: &impl TrackingStore) {
    let experiment = new_experiment(store, "searched").await;
    new_dataset(store, "alpha", &["0"]).await;
    next_millisecond().await;
    new_dataset(store, "beta", &[&experiment]).await;
    next_millisecond().await;
    let gamma = store
        .create_dataset(NewEvaluationDataset {
            name: "Gamma".into(),
            tags: vec![],
            experiment_ids: vec!["0".into(), experiment.clone()],
        })
        .await
        .unwrap();

    let all = store
        .search_datasets(&dataset_query(&[], "", &[], 100))
        .await
        .unwrap();
    let in_order: Vec<_> = all.items.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(
        in_order,
        ["Gamma", "beta", "alpha"],
        "newest first by default"
    );
    assert_eq!(all.items[0].experiment_ids.len(), 2);
    assert!(all.next_page_token.is_none());

    for (filter, expected) in [
        ("name = 'beta'", vec!["beta"]),
        ("name LIKE '%a'", vec!["Gamma", "beta", "alpha"]),
        ("name LIKE 'g%'", vec![]),
        ("name ILIKE 'g%'", vec!["Gamma"]),
        ("name IN ('alpha', 'Gamma')", vec!["Gamma", "alpha"]),
        ("name != 'beta'", vec!["Gamma", "alpha"]),
        ("tags.team = 'alpha'", vec!["alpha"]),
        ("tags.team != 'alpha'", vec!["beta"]),
        ("tags.team LIKE '%ta'", vec!["beta"]),
        ("created_by = 'ana'", vec!["beta", "alpha"]),
        (
            "last_updated_by = 'ana' AND tags.team = 'beta'",
            vec!["beta"],
        ),
    ] {
        assert_eq!(
            names(store, &dataset_query(&[], filter, &[], 100)).await,
            expected,
            "{filter}"
        );
    }
    let since = format!("created_time >= {}", gamma.created_time);
    assert_eq!(
        names(store, &dataset_query(&[], &since, &[], 100)).await,
        ["Gamma"]
    );
    assert_eq!(
        names(store, &dataset_query(&[&experiment], "", &[], 100)).await,
        ["Gamma", "beta"]
    );
    assert_eq!(
        names(store, &dataset_query(&["0"], "name = 'alpha'", &[], 100)).await,
        ["alpha"]
    );
    assert!(
        names(store, &dataset_query(&["not-a-number"], "", &[], 100))
            .await
            .is_empty()
    );
    assert_eq!(
        names(store, &dataset_query(&[], "", &["name ASC"], 100)).await,
        ["Gamma", "alpha", "beta"]
    );
    assert_eq!(
        names(store, &dataset_query(&[], "", &["created_time ASC"], 100)).await,
        ["alpha", "beta", "Gamma"]
    );

    let mut query = dataset_query(&[], "", &["name DESC"], 2);
    let first = store.search_datasets(&query).await.unwrap();
    assert_eq!(first.items.len(), 2);
    query.page_token = PageToken::decode(first.next_page_token.as_deref()).unwrap();
    let second = store.search_datasets(&query).await.unwrap();
    assert_eq!(second.items[0].name, "Gamma");
    assert!(second.next_page_token.is_none());
}
