//! The storage conformance suite: behaviour every [`TrackingStore`] backend must show, written
//! once against the trait. A backend's tests call [`run_all`] with a factory for fresh, empty
//! stores.

mod datasets;
mod traces;

use std::future::Future;

use judgeflow_domain::search::{self, parse_filter, parse_order_by};
use judgeflow_domain::{
    Dataset, DatasetInput, LifecycleStage, LoggedModelStatus, Metric, ModelOutput, ModelStage,
    PROMPT_TAG, RunStatus, Tag, ViewType,
};

use crate::{
    CachedCall, ExperimentQuery, LoggedModelQuery, NewExperiment, NewLoggedModel, NewModelVersion,
    NewRegisteredModel, NewRun, PageToken, RegistryQuery, RunQuery, RunUpdate, StoreError,
    TrackingStore,
};

/// Runs every check, each on a fresh store from `make`.
pub async fn run_all<S, F, Fut>(make: F)
where
    S: TrackingStore,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    default_experiment_exists(&make().await).await;
    experiments_lifecycle(&make().await).await;
    experiment_search(&make().await).await;
    run_lifecycle(&make().await).await;
    params_are_immutable(&make().await).await;
    latest_metric_semantics(&make().await).await;
    batch_is_atomic(&make().await).await;
    metric_history_pages(&make().await).await;
    repeated_points_are_kept_once(&make().await).await;
    run_search(&make().await).await;
    inputs_and_outputs(&make().await).await;
    logged_models(&make().await).await;
    registered_model_lifecycle(&make().await).await;
    model_version_lifecycle(&make().await).await;
    aliases_and_stages(&make().await).await;
    registry_search(&make().await).await;
    versions_of_logged_models(&make().await).await;
    datasets::run_all([make().await, make().await, make().await, make().await]).await;
    traces::spans_and_info_in_either_order(&make().await).await;
    traces::span_batches_are_atomic_and_paged(&make().await).await;
    traces::trace_search(&make().await).await;
    traces::assessments_override_update_delete(&make().await).await;
    traces::trace_tags_and_deletes(&make().await).await;
    traces::complete_traces_land_whole_or_not_at_all(&make().await).await;
    call_cache_expires_and_replaces(&make().await).await;
}

fn runs_query(experiment_ids: &[&str], filter: &str, order_by: &[&str]) -> RunQuery {
    RunQuery {
        experiment_ids: experiment_ids.iter().map(|s| (*s).to_owned()).collect(),
        filter: parse_filter(filter, &search::RUNS).expect("valid filter"),
        order_by: order_by
            .iter()
            .map(|o| parse_order_by(o, &search::RUNS).expect("valid order"))
            .collect(),
        view: ViewType::ActiveOnly,
        max_results: 1000,
        page_token: PageToken::default(),
    }
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

async fn new_run(
    store: &impl TrackingStore,
    experiment_id: &str,
    name: &str,
    start_time: i64,
) -> String {
    store
        .create_run(NewRun {
            experiment_id: experiment_id.into(),
            user_id: "tester".into(),
            run_name: Some(name.into()),
            start_time,
            tags: vec![Tag::new("mlflow.user", "tester")],
        })
        .await
        .expect("create run")
        .info
        .run_id
}

async fn default_experiment_exists(store: &impl TrackingStore) {
    let default = store.get_experiment("0").await.unwrap();
    assert_eq!(default.name, "Default");
    assert_eq!(default.lifecycle_stage, LifecycleStage::Active);
    assert!(default.artifact_location.ends_with("/0"));
    assert!(
        store.delete_experiment("0").await.is_err(),
        "the default experiment cannot be deleted"
    );
}

async fn experiments_lifecycle(store: &impl TrackingStore) {
    let id = store
        .create_experiment(NewExperiment {
            name: "exp".into(),
            artifact_location: None,
            tags: vec![Tag::new("team", "a")],
        })
        .await
        .unwrap();
    let experiment = store.get_experiment(&id).await.unwrap();
    assert_eq!(experiment.tags, vec![Tag::new("team", "a")]);
    assert!(experiment.artifact_location.ends_with(&format!("/{id}")));
    assert!(matches!(
        store
            .create_experiment(NewExperiment {
                name: "exp".into(),
                ..Default::default()
            })
            .await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert!(matches!(
        store.get_experiment("999").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.get_experiment("not-a-number").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.get_experiment_by_name("nope").await,
        Err(StoreError::NotFound(_))
    ));

    store.rename_experiment(&id, "exp2").await.unwrap();
    assert_eq!(
        store
            .get_experiment_by_name("exp2")
            .await
            .unwrap()
            .experiment_id,
        id
    );
    let run = new_run(store, &id, "r", 1).await;

    store.delete_experiment(&id).await.unwrap();
    assert_eq!(
        store.get_experiment(&id).await.unwrap().lifecycle_stage,
        LifecycleStage::Deleted
    );
    assert_eq!(
        store.get_run(&run).await.unwrap().info.lifecycle_stage,
        LifecycleStage::Deleted
    );
    // The name stays reserved while deleted.
    assert!(
        store
            .create_experiment(NewExperiment {
                name: "exp2".into(),
                ..Default::default()
            })
            .await
            .is_err()
    );
    store.restore_experiment(&id).await.unwrap();
    assert_eq!(
        store.get_run(&run).await.unwrap().info.lifecycle_stage,
        LifecycleStage::Active
    );

    store
        .set_experiment_tag(&id, Tag::new("team", "b"))
        .await
        .unwrap();
    assert_eq!(
        store.get_experiment(&id).await.unwrap().tags,
        vec![Tag::new("team", "b")]
    );
    store.delete_experiment_tag(&id, "team").await.unwrap();
    assert!(store.get_experiment(&id).await.unwrap().tags.is_empty());
    assert!(matches!(
        store.delete_experiment_tag(&id, "team").await,
        Err(StoreError::NotFound(_))
    ));
}

async fn experiment_search(store: &impl TrackingStore) {
    for name in ["s1-a", "s1-b", "S1-c", "other"] {
        new_experiment(store, name).await;
    }
    let query = |filter: &str, order: &[&str], max: usize, token: PageToken| ExperimentQuery {
        filter: parse_filter(filter, &search::EXPERIMENTS).unwrap(),
        order_by: order
            .iter()
            .map(|o| parse_order_by(o, &search::EXPERIMENTS).unwrap())
            .collect(),
        view: ViewType::ActiveOnly,
        max_results: max,
        page_token: token,
    };
    let names = |page: crate::Page<judgeflow_domain::Experiment>| {
        page.items.into_iter().map(|e| e.name).collect::<Vec<_>>()
    };
    let page = store
        .search_experiments(&query(
            "name LIKE 's1%'",
            &["name"],
            10,
            PageToken::default(),
        ))
        .await
        .unwrap();
    assert_eq!(names(page), vec!["s1-a", "s1-b"], "LIKE is case-sensitive");
    let page = store
        .search_experiments(&query(
            "name ILIKE 's1%'",
            &["name DESC"],
            10,
            PageToken::default(),
        ))
        .await
        .unwrap();
    assert_eq!(names(page), vec!["s1-b", "s1-a", "S1-c"]);

    let first = store
        .search_experiments(&query("", &["name"], 2, PageToken::default()))
        .await
        .unwrap();
    let token = PageToken::decode(first.next_page_token.as_deref()).unwrap();
    let second = store
        .search_experiments(&query("", &["name"], 10, token))
        .await
        .unwrap();
    assert!(second.next_page_token.is_none());
    assert_eq!(
        first.items.len() + second.items.len(),
        5,
        "four new plus Default"
    );
}

async fn run_lifecycle(store: &impl TrackingStore) {
    let run = store
        .create_run(NewRun {
            experiment_id: "0".into(),
            user_id: "u".into(),
            run_name: None,
            start_time: 10,
            tags: vec![],
        })
        .await
        .unwrap();
    assert_eq!(run.info.status, RunStatus::Running);
    assert!(
        !run.info.run_name.is_empty(),
        "unnamed runs get a generated name"
    );
    assert!(
        run.data
            .tags
            .contains(&Tag::new("mlflow.runName", run.info.run_name.clone()))
    );
    assert!(
        run.info
            .artifact_uri
            .ends_with(&format!("/0/{}/artifacts", run.info.run_id))
    );
    let id = run.info.run_id;

    let info = store
        .update_run(
            &id,
            RunUpdate {
                status: Some(RunStatus::Finished),
                end_time: Some(20),
                run_name: Some("renamed".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (info.status, info.end_time, info.run_name.as_str()),
        (RunStatus::Finished, Some(20), "renamed")
    );
    let run = store.get_run(&id).await.unwrap();
    assert!(
        run.data
            .tags
            .contains(&Tag::new("mlflow.runName", "renamed"))
    );

    store
        .log_batch(&id, vec![], vec![], vec![Tag::new("t", "1")])
        .await
        .unwrap();
    store.delete_run_tag(&id, "t").await.unwrap();
    assert!(matches!(
        store.delete_run_tag(&id, "t").await,
        Err(StoreError::NotFound(_))
    ));

    store.delete_run(&id).await.unwrap();
    assert_eq!(
        store.get_run(&id).await.unwrap().info.lifecycle_stage,
        LifecycleStage::Deleted
    );
    assert!(
        store
            .log_batch(&id, vec![], vec![], vec![Tag::new("t", "1")])
            .await
            .is_err(),
        "deleted runs refuse writes"
    );
    let mut query = runs_query(&["0"], "", &[]);
    assert!(store.search_runs(&query).await.unwrap().items.is_empty());
    query.view = ViewType::DeletedOnly;
    assert_eq!(store.search_runs(&query).await.unwrap().items.len(), 1);
    store.restore_run(&id).await.unwrap();
    assert_eq!(
        store.get_run(&id).await.unwrap().info.lifecycle_stage,
        LifecycleStage::Active
    );

    assert!(matches!(
        store.get_run("0123456789abcdef0123456789abcdef").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store
            .create_run(NewRun {
                experiment_id: "424242".into(),
                ..Default::default()
            })
            .await,
        Err(StoreError::NotFound(_))
    ));
}

async fn params_are_immutable(store: &impl TrackingStore) {
    let id = new_run(store, "0", "p", 1).await;
    store
        .log_batch(
            &id,
            vec![],
            vec![Tag::new("lr", "0.1"), Tag::new("empty", "")],
            vec![],
        )
        .await
        .unwrap();
    store
        .log_batch(&id, vec![], vec![Tag::new("lr", "0.1")], vec![])
        .await
        .expect("same value is a no-op");
    let err = store
        .log_batch(&id, vec![], vec![Tag::new("lr", "0.2")], vec![])
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::InvalidParameter(ref m) if m.contains("Changing param values is not allowed"))
    );
    let params = store.get_run(&id).await.unwrap().data.params;
    assert_eq!(params, vec![Tag::new("empty", ""), Tag::new("lr", "0.1")]);
}

async fn latest_metric_semantics(store: &impl TrackingStore) {
    let id = new_run(store, "0", "m", 1).await;
    for (step, value) in [(0, 1.0), (2, 3.0), (1, 5.0)] {
        store
            .log_batch(
                &id,
                vec![Metric::new("loss", value, 100, step)],
                vec![],
                vec![],
            )
            .await
            .unwrap();
    }
    // Within one batch as well, and NaN / infinities survive.
    store
        .log_batch(
            &id,
            vec![
                Metric::new("acc", 0.5, 5, 0),
                Metric::new("acc", 0.7, 4, 0),
                Metric::new("nan", f64::NAN, 1, 0),
                Metric::new("inf", f64::INFINITY, 1, 0),
            ],
            vec![],
            vec![],
        )
        .await
        .unwrap();
    let metrics = store.get_run(&id).await.unwrap().data.metrics;
    let get = |key: &str| metrics.iter().find(|m| m.key == key).unwrap().clone();
    assert_eq!((get("loss").value, get("loss").step), (3.0, 2));
    assert_eq!((get("acc").value, get("acc").timestamp), (0.5, 5));
    assert!(get("nan").value.is_nan());
    let inf = get("inf").value;
    assert!(inf.is_infinite() && inf.is_sign_positive(), "{inf}");
    let history = store
        .get_metric_history(&id, "loss", 100, None)
        .await
        .unwrap();
    assert_eq!(
        history.items.iter().map(|m| m.step).collect::<Vec<_>>(),
        vec![0, 1, 2],
        "ordered by timestamp, step, value"
    );
}

async fn batch_is_atomic(store: &impl TrackingStore) {
    let id = new_run(store, "0", "atomic", 1).await;
    store
        .log_batch(&id, vec![], vec![Tag::new("fixed", "1")], vec![])
        .await
        .unwrap();
    // The conflicting param fails the whole batch: no metric or tag from it may land.
    let result = store
        .log_batch(
            &id,
            vec![Metric::new("m", 1.0, 1, 0)],
            vec![Tag::new("fixed", "2")],
            vec![Tag::new("t", "v")],
        )
        .await;
    assert!(result.is_err());
    let run = store.get_run(&id).await.unwrap();
    assert!(run.data.metrics.is_empty());
    assert!(!run.data.tags.iter().any(|t| t.key == "t"));
    assert!(
        store
            .get_metric_history(&id, "m", 10, None)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let too_many = vec![Metric::new("m", 1.0, 1, 0); 1001];
    assert!(matches!(
        store.log_batch(&id, too_many, vec![], vec![]).await,
        Err(StoreError::InvalidParameter(_))
    ));
}

async fn metric_history_pages(store: &impl TrackingStore) {
    let id = new_run(store, "0", "hist", 1).await;
    let points: Vec<Metric> = (0..2500)
        .map(|i| Metric::new("x", f64::from(i), i64::from(i), i64::from(i)))
        .collect();
    for chunk in points.chunks(1000) {
        store
            .log_batch(&id, chunk.to_vec(), vec![], vec![])
            .await
            .unwrap();
    }
    let mut token = None;
    let mut seen = Vec::new();
    loop {
        let page = store
            .get_metric_history(&id, "x", 1000, token.as_ref())
            .await
            .unwrap();
        seen.extend(page.items.into_iter().map(|m| m.step));
        match page.next_page_token {
            Some(t) => token = Some(PageToken::decode(Some(&t)).unwrap()),
            None => break,
        }
    }
    assert_eq!(seen, (0..2500).collect::<Vec<i64>>());
    assert!(
        store
            .get_metric_history(&id, "missing", 10, None)
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

/// A point logged twice is kept once (MLflow ignores an identical re-log), whether the copies
/// share a batch, sit side by side or far apart, or come in a later batch; points that differ
/// in any of timestamp, step or value (NaN included) are all kept, each under its own run.
async fn repeated_points_are_kept_once(store: &impl TrackingStore) {
    let first = new_run(store, "0", "repeats-a", 1).await;
    let second = new_run(store, "0", "repeats-b", 1).await;
    // Sizes around the chunks a backend may insert in, so every boundary is crossed.
    for (size, key) in [
        (1, "s1"),
        (31, "s31"),
        (32, "s32"),
        (33, "s33"),
        (65, "s65"),
        (500, "s500"),
    ] {
        let distinct: Vec<Metric> = (0..size)
            .map(|i: i64| {
                let value = if i % 7 == 6 { f64::NAN } else { i as f64 / 4.0 };
                // Pairs share a timestamp and step and differ only in value. Some name a
                // dataset (stored, though MLflow's history does not return it).
                let mut point = Metric::new(key, value, 1000 + i / 2, i / 2);
                point.dataset_name = (i % 5 == 0).then(|| "eval".to_owned());
                point
            })
            .collect();
        // Every point twice: the copies of the first half side by side, the rest a batch apart.
        let mut batch = Vec::new();
        for (i, point) in distinct.iter().enumerate() {
            batch.push(point.clone());
            if i < distinct.len() / 2 {
                batch.push(point.clone());
            }
        }
        batch.extend(distinct[distinct.len() / 2..].iter().cloned());
        for run in [&first, &second] {
            for chunk in batch.chunks(1000) {
                store
                    .log_batch(run, chunk.to_vec(), vec![], vec![])
                    .await
                    .unwrap();
            }
        }
        store
            .log_batch(&first, distinct.clone(), vec![], vec![])
            .await
            .unwrap();
        let shown = |points: Vec<Metric>| {
            let mut shown: Vec<String> = points
                .iter()
                .map(|m| format!("{}/{}/{}", m.timestamp, m.step, m.value))
                .collect();
            shown.sort();
            shown
        };
        let expected = shown(distinct);
        for run in [&first, &second] {
            let history = store
                .get_metric_history(run, key, 10_000, None)
                .await
                .unwrap()
                .items;
            assert_eq!(shown(history), expected, "{size} points, run {run}");
        }
    }
}

async fn run_search(store: &impl TrackingStore) {
    let exp = new_experiment(store, "search").await;
    for i in 0..10_i64 {
        let id = new_run(store, &exp, &format!("run-{i}"), 1000 + i).await;
        let mut metrics = vec![Metric::new("loss", i as f64 / 10.0, 1, 0)];
        if i == 9 {
            metrics.clear();
        }
        let params = vec![
            Tag::new("lr", if i % 2 == 0 { "0.1" } else { "0.01" }),
            Tag::new("model", format!("Model{i}")),
        ];
        let mut tags = vec![Tag::new("group", if i < 5 { "a" } else { "b" })];
        if i == 3 {
            tags.push(Tag::new("special", "yes"));
        }
        store.log_batch(&id, metrics, params, tags).await.unwrap();
    }
    let names = |runs: Vec<judgeflow_domain::Run>| {
        runs.into_iter()
            .map(|r| r.info.run_name)
            .collect::<Vec<_>>()
    };
    let search = |filter: &str, order: &[&str]| {
        let query = runs_query(&[exp.as_str()], filter, order);
        async move { store.search_runs(&query).await }
    };

    let hits = search("metrics.loss > 0.35 and params.lr = '0.1'", &[])
        .await
        .unwrap();
    assert_eq!(
        names(hits.items),
        vec!["run-8", "run-6", "run-4"],
        "default order is start_time DESC"
    );
    let hits = search("", &["metrics.loss ASC"]).await.unwrap();
    assert_eq!(names(hits.items).first().map(String::as_str), Some("run-0"));
    let hits = search("", &["metrics.loss DESC"]).await.unwrap();
    assert_eq!(
        names(hits.items).last().map(String::as_str),
        Some("run-9"),
        "missing keys sort last"
    );
    let hits = search("params.model LIKE 'model%'", &[]).await.unwrap();
    assert!(hits.items.is_empty(), "LIKE is case-sensitive");
    assert_eq!(
        search("params.model ILIKE 'model%'", &[])
            .await
            .unwrap()
            .items
            .len(),
        10
    );
    assert_eq!(
        names(search("tags.special = 'yes'", &[]).await.unwrap().items),
        vec!["run-3"]
    );
    assert_eq!(
        search("tags.special IS NULL", &[])
            .await
            .unwrap()
            .items
            .len(),
        9
    );
    assert_eq!(
        search("tags.group != 'a'", &[]).await.unwrap().items.len(),
        5
    );
    assert_eq!(
        names(
            search(
                "attributes.run_name IN ('run-1', 'run-2')",
                &["attributes.run_name"]
            )
            .await
            .unwrap()
            .items
        ),
        vec!["run-1", "run-2"]
    );
    assert_eq!(
        search("attributes.start_time >= 1005", &[])
            .await
            .unwrap()
            .items
            .len(),
        5
    );
    assert_eq!(
        search("attributes.status = 'RUNNING'", &[])
            .await
            .unwrap()
            .items
            .len(),
        10
    );

    let mut query = runs_query(&[exp.as_str()], "", &["attributes.run_name"]);
    query.max_results = 4;
    let mut all = Vec::new();
    loop {
        let page = store.search_runs(&query).await.unwrap();
        all.extend(names(page.items));
        match page.next_page_token {
            Some(token) => query.page_token = PageToken::decode(Some(&token)).unwrap(),
            None => break,
        }
    }
    assert_eq!(all.len(), 10);
    let run = &store
        .search_runs(&runs_query(&[exp.as_str()], "tags.special = 'yes'", &[]))
        .await
        .unwrap()
        .items[0];
    assert_eq!(run.data.params.len(), 2, "search returns full runs");
}

async fn inputs_and_outputs(store: &impl TrackingStore) {
    let id = new_run(store, "0", "io", 1).await;
    let dataset = Dataset {
        name: "eval".into(),
        digest: "abc123".into(),
        source_type: "code".into(),
        source: "{}".into(),
        schema: Some("{}".into()),
        profile: None,
    };
    let input = DatasetInput {
        tags: vec![Tag::new("mlflow.data.context", "training")],
        dataset,
    };
    store
        .log_inputs(&id, vec![input.clone(), input.clone()], vec![])
        .await
        .unwrap();
    store
        .log_outputs(
            &id,
            vec![ModelOutput {
                model_id: "m-1".into(),
                step: 0,
            }],
        )
        .await
        .unwrap();
    let run = store.get_run(&id).await.unwrap();
    assert_eq!(
        run.inputs.dataset_inputs,
        vec![input],
        "re-logging the same dataset is a no-op"
    );
    assert_eq!(
        run.outputs.model_outputs,
        vec![ModelOutput {
            model_id: "m-1".into(),
            step: 0
        }]
    );
    let hits = store
        .search_runs(&runs_query(
            &["0"],
            "datasets.context = 'training' AND datasets.name = 'eval'",
            &[],
        ))
        .await
        .unwrap();
    assert_eq!(hits.items.len(), 1);
}

async fn logged_models(store: &impl TrackingStore) {
    let run = new_run(store, "0", "lm", 1).await;
    let model = store
        .create_logged_model(NewLoggedModel {
            experiment_id: "0".into(),
            name: Some("model".into()),
            model_type: None,
            source_run_id: Some(run.clone()),
            params: vec![Tag::new("alpha", "1")],
            tags: vec![Tag::new("mlflow.user", "u")],
        })
        .await
        .unwrap();
    assert!(model.model_id.starts_with("m-"));
    assert_eq!(model.status, LoggedModelStatus::Pending);
    assert!(
        model
            .artifact_uri
            .ends_with(&format!("/0/models/{}/artifacts", model.model_id))
    );
    let id = model.model_id;

    let ready = store
        .set_logged_model_status(&id, LoggedModelStatus::Ready, None)
        .await
        .unwrap();
    assert_eq!(ready.status, LoggedModelStatus::Ready);
    store
        .set_logged_model_tags(&id, vec![Tag::new("k", "v")])
        .await
        .unwrap();
    store
        .log_logged_model_params(&id, vec![Tag::new("beta", "2")])
        .await
        .unwrap();
    let mut metric = Metric::new("acc", 0.9, 1, 0);
    metric.model_id = Some(id.clone());
    store
        .log_batch(&run, vec![metric], vec![], vec![])
        .await
        .unwrap();
    let model = store.get_logged_model(&id).await.unwrap();
    assert!(model.tags.contains(&Tag::new("k", "v")));
    assert_eq!(model.params.len(), 2);
    assert_eq!(model.metrics.len(), 1);
    store.delete_logged_model_tag(&id, "k").await.unwrap();

    let query = |filter: &str| LoggedModelQuery {
        experiment_ids: vec!["0".into()],
        filter: parse_filter(filter, &search::LOGGED_MODELS).unwrap(),
        order_by: vec![],
        max_results: 100,
        page_token: PageToken::default(),
    };
    assert_eq!(
        store
            .search_logged_models(&query("name = 'model'"))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    assert_eq!(
        store
            .search_logged_models(&query("metrics.acc > 0.5"))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    assert!(
        store
            .search_logged_models(&query("name = 'dir'"))
            .await
            .unwrap()
            .items
            .is_empty()
    );

    store.delete_logged_model(&id).await.unwrap();
    assert!(matches!(
        store.get_logged_model(&id).await,
        Err(StoreError::NotFound(_))
    ));
}

// ---- model registry ----

async fn new_model(store: &impl TrackingStore, name: &str, tags: Vec<Tag>) {
    store
        .create_registered_model(NewRegisteredModel {
            name: name.into(),
            description: None,
            tags,
        })
        .await
        .expect("create registered model");
}

async fn new_version(store: &impl TrackingStore, name: &str, source: &str) -> i64 {
    store
        .create_model_version(NewModelVersion {
            name: name.into(),
            source: source.into(),
            ..Default::default()
        })
        .await
        .expect("create model version")
        .version
}

fn registry_query(filter: &str, order_by: &[&str], grammar: &search::Grammar) -> RegistryQuery {
    RegistryQuery {
        filter: parse_filter(filter, grammar).expect("valid filter"),
        order_by: order_by
            .iter()
            .map(|o| parse_order_by(o, grammar).expect("valid order"))
            .collect(),
        max_results: 100,
        page_token: PageToken::default(),
    }
}

async fn model_names(store: &impl TrackingStore, filter: &str, order_by: &[&str]) -> Vec<String> {
    store
        .search_registered_models(&registry_query(
            filter,
            order_by,
            &search::REGISTERED_MODELS,
        ))
        .await
        .expect("search registered models")
        .items
        .into_iter()
        .map(|m| m.name)
        .collect()
}

async fn registered_model_lifecycle(store: &impl TrackingStore) {
    new_model(store, "m", vec![Tag::new("team", "a")]).await;
    assert!(matches!(
        store
            .create_registered_model(NewRegisteredModel {
                name: "m".into(),
                ..Default::default()
            })
            .await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert!(matches!(
        store
            .create_registered_model(NewRegisteredModel {
                name: "a/b".into(),
                ..Default::default()
            })
            .await,
        Err(StoreError::InvalidParameter(_))
    ));
    let model = store.get_registered_model("m").await.unwrap();
    assert_eq!(model.tags, vec![Tag::new("team", "a")]);
    assert!(model.latest_versions.is_empty());
    let created = model.creation_timestamp;

    let updated = store
        .update_registered_model("m", Some("about".into()))
        .await
        .unwrap();
    assert_eq!(updated.description.as_deref(), Some("about"));
    assert_eq!(updated.creation_timestamp, created);

    store
        .set_registered_model_tag("m", Tag::new("team", "b"))
        .await
        .unwrap();
    store
        .set_registered_model_tag("m", Tag::new("x", "1"))
        .await
        .unwrap();
    store.delete_registered_model_tag("m", "x").await.unwrap();
    store
        .delete_registered_model_tag("m", "never")
        .await
        .unwrap();
    assert_eq!(
        store.get_registered_model("m").await.unwrap().tags,
        vec![Tag::new("team", "b")]
    );

    new_version(store, "m", "s3://bucket/model").await;
    new_version(store, "m", "s3://bucket/model").await;
    store
        .set_registered_model_alias("m", "champion", 2)
        .await
        .unwrap();
    new_model(store, "taken", vec![]).await;
    assert!(matches!(
        store.rename_registered_model("m", "taken").await,
        Err(StoreError::AlreadyExists(_))
    ));
    let renamed = store.rename_registered_model("m", "m2").await.unwrap();
    assert_eq!(renamed.name, "m2");
    assert_eq!(renamed.tags, vec![Tag::new("team", "b")]);
    assert_eq!(renamed.aliases.len(), 1);
    assert!(matches!(
        store.get_registered_model("m").await,
        Err(StoreError::NotFound(_))
    ));
    let version = store.get_model_version("m2", 2).await.unwrap();
    assert_eq!(version.name, "m2");
    assert_eq!(version.aliases, vec!["champion".to_owned()]);

    store.delete_registered_model("m2").await.unwrap();
    assert!(matches!(
        store.get_model_version("m2", 1).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.delete_registered_model("m2").await,
        Err(StoreError::NotFound(_))
    ));
    // The name is free again, and numbering starts over for the new model.
    new_model(store, "m2", vec![]).await;
    assert_eq!(new_version(store, "m2", "s").await, 1);
    assert!(
        store
            .get_registered_model("m2")
            .await
            .unwrap()
            .tags
            .is_empty()
    );
}

async fn model_version_lifecycle(store: &impl TrackingStore) {
    new_model(store, "mv", vec![]).await;
    assert!(matches!(
        store
            .create_model_version(NewModelVersion {
                name: "missing".into(),
                source: "s".into(),
                ..Default::default()
            })
            .await,
        Err(StoreError::NotFound(_))
    ));
    let created = store.get_registered_model("mv").await.unwrap();
    let first = store
        .create_model_version(NewModelVersion {
            name: "mv".into(),
            source: "runs:/abc/model".into(),
            run_id: Some("abc".into()),
            tags: vec![Tag::new("k", "v")],
            description: Some("first".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(first.version, 1);
    assert_eq!(first.current_stage, ModelStage::None);
    assert_eq!(first.run_id.as_deref(), Some("abc"));
    assert_eq!(first.tags, vec![Tag::new("k", "v")]);
    let after_create = store.get_registered_model("mv").await.unwrap();
    assert!(after_create.last_updated_timestamp >= created.last_updated_timestamp);
    assert_eq!(after_create.latest_versions.len(), 1);
    assert_eq!(
        store.get_model_version_download_uri("mv", 1).await.unwrap(),
        "runs:/abc/model"
    );

    assert!(matches!(
        store
            .create_model_version(NewModelVersion {
                name: "mv".into(),
                source: "runs:/abc/model".into(),
                run_id: Some("other".into()),
                ..Default::default()
            })
            .await,
        Err(StoreError::InvalidParameter(_))
    ));
    assert_eq!(new_version(store, "mv", "s").await, 2);
    assert_eq!(new_version(store, "mv", "s").await, 3);
    store.delete_model_version("mv", 3).await.unwrap();
    assert!(matches!(
        store.get_model_version("mv", 3).await,
        Err(StoreError::NotFound(_))
    ));
    // Deleted numbers are never handed out again.
    assert_eq!(new_version(store, "mv", "s").await, 4);

    let before = store.get_registered_model("mv").await.unwrap();
    std::thread::sleep(std::time::Duration::from_millis(5));
    let updated = store
        .update_model_version("mv", 1, Some("better".into()))
        .await
        .unwrap();
    assert_eq!(updated.description.as_deref(), Some("better"));
    assert_eq!(
        store
            .get_registered_model("mv")
            .await
            .unwrap()
            .last_updated_timestamp,
        before.last_updated_timestamp,
        "a version description does not touch the model"
    );

    store
        .set_model_version_tag("mv", 1, Tag::new("k", "w"))
        .await
        .unwrap();
    store
        .set_model_version_tag("mv", 1, Tag::new("gone", "x"))
        .await
        .unwrap();
    store
        .delete_model_version_tag("mv", 1, "gone")
        .await
        .unwrap();
    assert_eq!(
        store.get_model_version("mv", 1).await.unwrap().tags,
        vec![Tag::new("k", "w")]
    );
    assert!(matches!(
        store
            .set_model_version_tag("mv", 9, Tag::new("k", "v"))
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store
            .set_model_version_tag("mv", 1, Tag::new("k", "x".repeat(100_001)))
            .await,
        Err(StoreError::InvalidParameter(_))
    ));
}

async fn aliases_and_stages(store: &impl TrackingStore) {
    new_model(store, "st", vec![]).await;
    for _ in 0..3 {
        new_version(store, "st", "s").await;
    }
    store
        .set_registered_model_alias("st", "champion", 1)
        .await
        .unwrap();
    store
        .set_registered_model_alias("st", "champion", 2)
        .await
        .unwrap();
    assert!(matches!(
        store.set_registered_model_alias("st", "latest", 1).await,
        Err(StoreError::InvalidParameter(_))
    ));
    assert!(matches!(
        store.set_registered_model_alias("st", "ok", 7).await,
        Err(StoreError::NotFound(_))
    ));
    let champion = store
        .get_model_version_by_alias("st", "champion")
        .await
        .unwrap();
    assert_eq!(champion.version, 2);
    assert_eq!(champion.aliases, vec!["champion".to_owned()]);
    assert_eq!(
        store
            .get_model_version_by_alias("st", "latest")
            .await
            .unwrap()
            .version,
        3
    );
    assert!(matches!(
        store.get_model_version_by_alias("st", "nobody").await,
        Err(StoreError::InvalidParameter(_))
    ));

    store
        .transition_model_version_stage("st", 1, ModelStage::Production, false)
        .await
        .unwrap();
    let moved = store
        .transition_model_version_stage("st", 2, ModelStage::Production, true)
        .await
        .unwrap();
    assert_eq!(moved.current_stage, ModelStage::Production);
    assert_eq!(
        store
            .get_model_version("st", 1)
            .await
            .unwrap()
            .current_stage,
        ModelStage::Archived
    );
    assert!(matches!(
        store
            .transition_model_version_stage("st", 3, ModelStage::Archived, true)
            .await,
        Err(StoreError::InvalidParameter(_))
    ));
    let latest = store.get_latest_versions("st", &[]).await.unwrap();
    let stages: Vec<_> = latest
        .iter()
        .map(|v| (v.current_stage, v.version))
        .collect();
    assert_eq!(
        stages,
        vec![
            (ModelStage::None, 3),
            (ModelStage::Production, 2),
            (ModelStage::Archived, 1)
        ]
    );
    let production = store
        .get_latest_versions("st", &[ModelStage::Production])
        .await
        .unwrap();
    assert_eq!(production.len(), 1);
    assert_eq!(production[0].aliases, vec!["champion".to_owned()]);
    let model = store.get_registered_model("st").await.unwrap();
    assert_eq!(model.latest_versions.len(), 3);
    assert_eq!(model.aliases[0].alias, "champion");
    assert_eq!(model.aliases[0].version, 2);

    // Deleting a version drops its aliases.
    store.delete_model_version("st", 2).await.unwrap();
    assert!(
        store
            .get_registered_model("st")
            .await
            .unwrap()
            .aliases
            .is_empty()
    );
    store
        .set_registered_model_alias("st", "a", 3)
        .await
        .unwrap();
    store
        .delete_registered_model_alias("st", "a")
        .await
        .unwrap();
    store
        .delete_registered_model_alias("st", "a")
        .await
        .unwrap();
    assert!(matches!(
        store.get_latest_versions("nope", &[]).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn registry_search(store: &impl TrackingStore) {
    new_model(store, "alpha", vec![Tag::new("team", "x")]).await;
    new_model(store, "Beta", vec![Tag::new("team", "y")]).await;
    new_model(store, "gamma", vec![]).await;
    new_model(store, "prompt", vec![Tag::new(PROMPT_TAG, "true")]).await;

    assert_eq!(
        model_names(store, "", &[]).await,
        ["Beta", "alpha", "gamma"]
    );
    // What the client appends to every search: models lacking the tag match.
    let not_prompt = format!("tag.`{PROMPT_TAG}` != 'true'");
    assert_eq!(
        model_names(store, &not_prompt, &["name DESC"]).await,
        ["gamma", "alpha", "Beta"]
    );
    assert_eq!(
        model_names(store, &format!("tags.`{PROMPT_TAG}` = 'true'"), &[]).await,
        ["prompt"]
    );
    assert_eq!(
        model_names(store, &format!("name ILIKE '%A%' AND {not_prompt}"), &[]).await,
        ["Beta", "alpha", "gamma"]
    );
    assert_eq!(
        model_names(store, "name LIKE '%a'", &[]).await,
        ["Beta", "alpha", "gamma"]
    );
    assert_eq!(model_names(store, "name LIKE 'B%'", &[]).await, ["Beta"]);
    assert_eq!(
        model_names(store, "name != 'alpha'", &[]).await,
        ["Beta", "gamma"]
    );
    assert_eq!(model_names(store, "tags.team = 'x'", &[]).await, ["alpha"]);
    // As in MLflow, `!=` on an ordinary tag needs the tag; only the prompt tag is special.
    assert_eq!(model_names(store, "tags.team != 'x'", &[]).await, ["Beta"]);
    assert_eq!(
        model_names(store, "tags.team LIKE '%'", &[]).await,
        ["Beta", "alpha"]
    );
    assert_eq!(
        model_names(store, "", &["last_updated_timestamp DESC"])
            .await
            .len(),
        3
    );

    let mut query = registry_query("", &["name ASC"], &search::REGISTERED_MODELS);
    query.max_results = 2;
    let page = store.search_registered_models(&query).await.unwrap();
    assert_eq!(page.items.len(), 2);
    query.page_token = PageToken::decode(page.next_page_token.as_deref()).unwrap();
    let rest = store.search_registered_models(&query).await.unwrap();
    assert_eq!(rest.items.len(), 1);
    assert!(rest.next_page_token.is_none());

    new_version(store, "alpha", "s1").await;
    new_version(store, "alpha", "s2").await;
    store
        .create_model_version(NewModelVersion {
            name: "Beta".into(),
            source: "s3".into(),
            run_id: Some("run-b".into()),
            tags: vec![Tag::new("k", "v")],
            ..Default::default()
        })
        .await
        .unwrap();
    store
        .create_model_version(NewModelVersion {
            name: "prompt".into(),
            source: "dummy-source".into(),
            tags: vec![Tag::new(PROMPT_TAG, "true")],
            ..Default::default()
        })
        .await
        .unwrap();
    let versions = |filter: &'static str, order_by: &'static [&'static str]| async move {
        store
            .search_model_versions(&registry_query(filter, order_by, &search::MODEL_VERSIONS))
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|v| (v.name, v.version))
            .collect::<Vec<_>>()
    };
    let all = versions("", &[]).await;
    assert_eq!(all.len(), 3, "prompt versions are left out: {all:?}");
    assert_eq!(
        versions("name = 'alpha'", &[]).await,
        [("alpha".to_owned(), 2), ("alpha".to_owned(), 1)]
    );
    assert_eq!(
        versions(
            "name IN ('alpha', 'Beta') AND version_number = 1",
            &["name ASC"]
        )
        .await,
        [("Beta".to_owned(), 1), ("alpha".to_owned(), 1)]
    );
    assert_eq!(
        versions("run_id = 'run-b'", &[]).await,
        [("Beta".to_owned(), 1)]
    );
    assert_eq!(
        versions("tags.k = 'v'", &[]).await,
        [("Beta".to_owned(), 1)]
    );
    assert_eq!(
        versions(
            "source_path LIKE 's%' AND name = 'alpha'",
            &["version_number ASC"]
        )
        .await,
        [("alpha".to_owned(), 1), ("alpha".to_owned(), 2)]
    );
    assert_eq!(
        versions("tags.`mlflow.prompt.is_prompt` = 'true'", &[]).await,
        [("prompt".to_owned(), 1)]
    );
    assert!(matches!(
        store
            .search_model_versions(&registry_query(
                "source_path IN ('s1')",
                &[],
                &search::MODEL_VERSIONS
            ))
            .await,
        Err(StoreError::InvalidParameter(_))
    ));
}

async fn versions_of_logged_models(store: &impl TrackingStore) {
    let run = new_run(store, "0", "reg", 1).await;
    let model = store
        .create_logged_model(NewLoggedModel {
            experiment_id: "0".into(),
            name: Some("model".into()),
            source_run_id: Some(run.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    new_model(store, "from-logged", vec![]).await;
    let version = store
        .create_model_version(NewModelVersion {
            name: "from-logged".into(),
            source: format!("models:/{}", model.model_id),
            model_id: Some(model.model_id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(version.run_id.as_deref(), Some(run.as_str()));
    assert_eq!(version.model_id.as_deref(), Some(model.model_id.as_str()));
    assert_eq!(version.source, format!("models:/{}", model.model_id));
    assert_eq!(
        store
            .get_model_version_download_uri("from-logged", version.version)
            .await
            .unwrap(),
        model.artifact_uri
    );
    let tags = store.get_logged_model(&model.model_id).await.unwrap().tags;
    let registrations = tags
        .iter()
        .find(|t| t.key == "mlflow.modelVersions")
        .expect("registration recorded on the logged model");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&registrations.value).unwrap(),
        serde_json::json!([{"name": "from-logged", "version": "1"}])
    );
    assert!(matches!(
        store
            .create_model_version(NewModelVersion {
                name: "from-logged".into(),
                source: "models:/m-00000000000000000000000000000000".into(),
                ..Default::default()
            })
            .await,
        Err(StoreError::InvalidParameter(_))
    ));
}

async fn call_cache_expires_and_replaces(store: &impl TrackingStore) {
    let call = |value: &str, expires_ms: Option<i64>| CachedCall {
        key: "k1".into(),
        value: value.into(),
        created_ms: 1_000,
        expires_ms,
    };
    assert_eq!(store.get_cached_call("k1", 1_000).await.unwrap(), None);
    store.put_cached_call(call("a", Some(2_000))).await.unwrap();
    assert_eq!(
        store.get_cached_call("k1", 1_999).await.unwrap(),
        Some(call("a", Some(2_000)))
    );
    // Expired at its deadline: a stale answer must not come back as fresh.
    assert_eq!(store.get_cached_call("k1", 2_000).await.unwrap(), None);
    store.put_cached_call(call("b", None)).await.unwrap();
    let stored = store
        .get_cached_call("k1", i64::MAX)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.value, "b");
    assert_eq!(store.get_cached_call("k2", 0).await.unwrap(), None);
}
