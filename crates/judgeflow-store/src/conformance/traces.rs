//! Conformance checks for the trace half of the store: spans and infos in either order,
//! atomic span batches, paged span reads, trace search, assessments, deletes.

use std::collections::BTreeMap;

use judgeflow_domain::search::{self, parse_filter, parse_order_by};
use judgeflow_domain::traces::keys;
use judgeflow_domain::{
    Assessment, AssessmentKind, AssessmentSource, AssessmentUpdate, ExpectationValue, SpanRecord,
    TraceInfo, TraceState,
};
use serde_json::json;

use super::{new_experiment, new_run};
use crate::{PageToken, StoreError, TraceDeletion, TraceQuery, TrackingStore};

fn trace_id(n: u32) -> String {
    format!("tr-{n:032x}")
}

fn span(trace: &str, n: u64, parent: Option<u64>, start_ns: i64, status: &str) -> SpanRecord {
    SpanRecord {
        trace_id: trace.to_owned(),
        span_id: format!("{n:016x}"),
        parent_span_id: parent.map(|p| format!("{p:016x}")),
        name: format!("span-{n}"),
        span_type: Some(if parent.is_none() { "CHAIN" } else { "TOOL" }.to_owned()),
        status: status.to_owned(),
        start_time_ns: start_ns,
        end_time_ns: Some(start_ns + 1_000_000),
        trace_tags: Vec::new(),
        content: format!("{{\"name\":\"span-{n}\"}}"),
    }
}

fn info(trace: &str, experiment_id: &str, request_time_ms: i64) -> TraceInfo {
    TraceInfo {
        trace_id: trace.to_owned(),
        client_request_id: None,
        experiment_id: experiment_id.to_owned(),
        request_time_ms,
        execution_duration_ms: Some(5),
        state: TraceState::Ok,
        request_preview: Some("{\"q\": 1}".into()),
        response_preview: Some("\"a\"".into()),
        trace_metadata: BTreeMap::from([("mlflow.user".to_owned(), "ana".to_owned())]),
        tags: BTreeMap::from([(keys::TRACE_NAME.to_owned(), "root".to_owned())]),
        assessments: Vec::new(),
    }
}

fn feedback(trace: &str, id: &str, name: &str, value: serde_json::Value) -> Assessment {
    Assessment {
        assessment_id: id.to_owned(),
        name: name.to_owned(),
        trace_id: trace.to_owned(),
        span_id: None,
        source: AssessmentSource {
            source_type: "CODE".into(),
            source_id: Some("scorer".into()),
        },
        create_time_ms: 10,
        last_update_time_ms: 10,
        kind: AssessmentKind::Feedback {
            value: Some(value),
            error: None,
        },
        rationale: None,
        metadata: BTreeMap::new(),
        overrides: None,
        valid: true,
    }
}

fn query(experiment_id: &str, filter: &str, order_by: &[&str], max_results: usize) -> TraceQuery {
    TraceQuery {
        experiment_ids: vec![experiment_id.to_owned()],
        filter: parse_filter(filter, &search::TRACES).expect("valid filter"),
        order_by: order_by
            .iter()
            .map(|o| parse_order_by(o, &search::TRACES).expect("valid order"))
            .collect(),
        max_results,
        page_token: PageToken::default(),
    }
}

async fn ids(store: &impl TrackingStore, experiment_id: &str, filter: &str) -> Vec<String> {
    store
        .search_traces(&query(experiment_id, filter, &[], 100))
        .await
        .expect("search")
        .items
        .into_iter()
        .map(|t| t.trace_id)
        .collect()
}

pub(super) async fn spans_and_info_in_either_order(store: &impl TrackingStore) {
    let exp = new_experiment(store, "traces-order").await;
    let (first_spans, first_info) = (trace_id(1), trace_id(2));

    // Spans first: the row holds what spans tell until the info arrives.
    store
        .log_spans(
            &exp,
            vec![
                span(&first_spans, 1, None, 2_000_000_000, "OK"),
                span(&first_spans, 2, Some(1), 2_100_000_000, "OK"),
            ],
        )
        .await
        .unwrap();
    let early = store.get_trace_info(&first_spans).await.unwrap();
    assert_eq!(early.request_time_ms, 2000);
    assert_eq!(early.execution_duration_ms, Some(101));
    assert_eq!(early.state, TraceState::Ok);
    assert_eq!(
        early.tags.get(keys::SPANS_LOCATION).map(String::as_str),
        Some(keys::SPANS_IN_TRACKING_STORE)
    );
    assert!(
        early.tags[keys::ARTIFACT_LOCATION].ends_with(&format!("/traces/{first_spans}/artifacts"))
    );
    let final_info = store
        .start_trace(info(&first_spans, &exp, 1999))
        .await
        .unwrap();
    assert_eq!(final_info.request_time_ms, 1999);
    assert_eq!(final_info.execution_duration_ms, Some(5));
    assert_eq!(final_info.tags[keys::TRACE_NAME], "root");
    assert_eq!(
        final_info
            .tags
            .get(keys::SPANS_LOCATION)
            .map(String::as_str),
        Some(keys::SPANS_IN_TRACKING_STORE)
    );
    assert_eq!(final_info.trace_metadata["mlflow.user"], "ana");
    assert_eq!(final_info.trace_metadata[keys::INFO_FINALIZED], "true");

    // Info first: no spansLocation until spans arrive; then the info stays as sent.
    let started = store
        .start_trace(info(&first_info, &exp, 500))
        .await
        .unwrap();
    assert!(!started.tags.contains_key(keys::SPANS_LOCATION));
    assert!(started.tags.contains_key(keys::ARTIFACT_LOCATION));
    store
        .log_spans(
            &exp,
            vec![span(&first_info, 1, None, 9_000_000_000, "ERROR")],
        )
        .await
        .unwrap();
    let after = store.get_trace_info(&first_info).await.unwrap();
    assert_eq!(after.request_time_ms, 500);
    assert_eq!(after.state, TraceState::Ok);
    assert!(after.tags.contains_key(keys::SPANS_LOCATION));

    // StartTraceV3 again (a client retry) is an upsert, not a conflict.
    let again = store
        .start_trace(info(&first_info, &exp, 500))
        .await
        .unwrap();
    assert_eq!(again, store.get_trace_info(&first_info).await.unwrap());

    assert!(matches!(
        store.get_trace_info(&trace_id(99)).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.start_trace(info(&trace_id(98), "424242", 1)).await,
        Err(StoreError::NotFound(_))
    ));
}

pub(super) async fn span_batches_are_atomic_and_paged(store: &impl TrackingStore) {
    let exp = new_experiment(store, "traces-spans").await;
    let big = trace_id(3);
    // 2,500 spans in one batch, plus a re-sent span that must replace, not duplicate.
    let mut spans: Vec<SpanRecord> = (0..2500)
        .map(|n| {
            span(
                &big,
                n + 1,
                (n > 0).then_some(1),
                1_000 + i64::try_from(n % 700).unwrap(),
                "OK",
            )
        })
        .collect();
    let mut resent = spans[10].clone();
    resent.content = "{\"name\":\"replaced\"}".into();
    store.log_spans(&exp, spans.clone()).await.unwrap();
    store.log_spans(&exp, vec![resent]).await.unwrap();

    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.get_spans(&big, cursor, 1000).await.unwrap();
        assert!(page.spans.len() <= 1000);
        seen.extend(page.spans);
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 2500, "every span exactly once across pages");
    assert_eq!(seen.iter().filter(|s| s.contains("replaced")).count(), 1);
    spans.sort_by_key(|s| (s.start_time_ns, s.span_id.clone()));
    let expected: Vec<String> = spans
        .iter()
        .map(|s| {
            if s.span_id == format!("{:016x}", 11) {
                "{\"name\":\"replaced\"}".to_owned()
            } else {
                s.content.clone()
            }
        })
        .collect();
    assert_eq!(seen, expected, "pages follow (start time, span id)");

    // A batch naming an unknown experiment stores nothing, not even its known traces' spans.
    let fresh = trace_id(4);
    let result = store
        .log_spans("424242", vec![span(&fresh, 1, None, 1, "OK")])
        .await;
    assert!(matches!(result, Err(StoreError::NotFound(_))));
    assert!(matches!(
        store.get_trace_info(&fresh).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.get_spans(&fresh, None, 10).await,
        Err(StoreError::NotFound(_))
    ));
}

pub(super) async fn trace_search(store: &impl TrackingStore) {
    let exp = new_experiment(store, "traces-search").await;
    let other = new_experiment(store, "traces-search-other").await;
    let run = new_run(store, &exp, "eval", 1).await;
    let (a, b, c, elsewhere) = (trace_id(10), trace_id(11), trace_id(12), trace_id(13));
    for (n, id) in [(1, &a), (2, &b), (3, &c)] {
        let mut trace = info(id, &exp, n * 1000);
        trace
            .tags
            .insert("team".into(), if n == 2 { "blue" } else { "red" }.into());
        if n == 1 {
            trace.state = TraceState::Error;
            trace
                .trace_metadata
                .insert(keys::SOURCE_RUN.into(), run.clone());
        }
        store.start_trace(trace).await.unwrap();
        store
            .log_spans(
                &exp,
                vec![span(
                    id,
                    u64::try_from(n).unwrap(),
                    None,
                    n * 1_000_000_000,
                    "OK",
                )],
            )
            .await
            .unwrap();
    }
    store
        .start_trace(info(&elsewhere, &other, 5000))
        .await
        .unwrap();
    store
        .create_assessment(feedback(&a, "a-1", "rating", json!(5)))
        .await
        .unwrap();
    store
        .create_assessment(feedback(&b, "a-2", "rating", json!(2)))
        .await
        .unwrap();
    store
        .create_assessment(feedback(&c, "a-3", "verdict", json!("yes")))
        .await
        .unwrap();

    assert_eq!(
        ids(store, &exp, "").await,
        [c.as_str(), b.as_str(), a.as_str()]
    );
    assert_eq!(
        ids(store, &exp, "tags.team = 'red'").await,
        [c.as_str(), a.as_str()]
    );
    assert_eq!(
        ids(store, &exp, "trace.status = 'ERROR'").await,
        [a.as_str()]
    );
    assert_eq!(
        ids(store, &exp, "attributes.status IN ('OK')").await,
        [c.as_str(), b.as_str()]
    );
    assert_eq!(
        ids(store, &exp, "trace.timestamp_ms > 1500").await,
        [c.as_str(), b.as_str()]
    );
    assert_eq!(
        ids(store, &exp, "metadata.`mlflow.user` = 'ana'").await,
        [c.as_str(), b.as_str(), a.as_str()]
    );
    assert_eq!(
        ids(store, &exp, "tags.missing IS NULL").await,
        [c.as_str(), b.as_str(), a.as_str()]
    );
    assert_eq!(
        ids(store, &exp, "trace.name = 'root' AND tags.team != 'red'").await,
        [b.as_str()]
    );
    assert_eq!(ids(store, &exp, "feedback.rating >= 3").await, [a.as_str()]);
    assert_eq!(
        ids(store, &exp, "feedback.rating = '2'").await,
        [b.as_str()]
    );
    assert_eq!(
        ids(store, &exp, "feedback.verdict = 'yes'").await,
        [c.as_str()]
    );
    assert_eq!(
        ids(store, &exp, "feedback.verdict IS NULL").await,
        [b.as_str(), a.as_str()]
    );
    assert_eq!(ids(store, &exp, "span.name = 'span-2'").await, [b.as_str()]);
    assert_eq!(
        ids(store, &exp, "span.type = 'CHAIN'").await,
        [c.as_str(), b.as_str(), a.as_str()]
    );
    assert_eq!(
        ids(store, &exp, "span.content LIKE '%span-3%'").await,
        [c.as_str()]
    );
    assert_eq!(
        ids(store, &exp, "trace.text ILIKE '%SPAN-1%'").await,
        [a.as_str()]
    );
    assert_eq!(
        ids(store, &exp, "tags.team RLIKE '^bl'").await,
        [b.as_str()]
    );
    assert_eq!(
        ids(store, &exp, &format!("attribute.run_id = '{run}'")).await,
        [a.as_str()]
    );
    store
        .link_traces_to_run(vec![c.clone()], &run)
        .await
        .unwrap();
    assert_eq!(
        ids(store, &exp, &format!("trace.run_id = '{run}'")).await,
        [c.as_str(), a.as_str()]
    );
    assert!(matches!(
        store.link_traces_to_run(vec![trace_id(77)], &run).await,
        Err(StoreError::NotFound(_))
    ));

    let ascending = store
        .search_traces(&query(&exp, "", &["timestamp_ms ASC"], 2))
        .await
        .unwrap();
    let page_ids: Vec<_> = ascending.items.iter().map(|t| t.trace_id.clone()).collect();
    assert_eq!(page_ids, [a.as_str(), b.as_str()]);
    assert_eq!(
        ascending.items[0].assessments.len(),
        1,
        "infos carry assessments"
    );
    let mut next = query(&exp, "", &["timestamp_ms ASC"], 2);
    next.page_token = PageToken::decode(ascending.next_page_token.as_deref()).unwrap();
    let rest = store.search_traces(&next).await.unwrap();
    assert_eq!(rest.items.len(), 1);
    assert_eq!(rest.items[0].trace_id, c);
    assert!(rest.next_page_token.is_none());

    let both = TraceQuery {
        experiment_ids: vec![exp.clone(), other.clone()],
        ..query(&exp, "", &[], 100)
    };
    assert_eq!(store.search_traces(&both).await.unwrap().items.len(), 4);
}

pub(super) async fn assessments_override_update_delete(store: &impl TrackingStore) {
    let exp = new_experiment(store, "traces-assessments").await;
    let trace = trace_id(20);
    store.start_trace(info(&trace, &exp, 1)).await.unwrap();
    store
        .create_assessment(feedback(&trace, "a-old", "correct", json!(false)))
        .await
        .unwrap();
    let mut newer = feedback(&trace, "a-new", "correct", json!(true));
    newer.overrides = Some("a-old".into());
    newer.create_time_ms = 20;
    store.create_assessment(newer).await.unwrap();
    let valid = |info: &TraceInfo| -> Vec<(String, bool)> {
        info.assessments
            .iter()
            .map(|a| (a.assessment_id.clone(), a.valid))
            .collect()
    };
    let now = store.get_trace_info(&trace).await.unwrap();
    assert_eq!(
        valid(&now),
        [("a-old".into(), false), ("a-new".into(), true)]
    );
    let search_hits = ids(store, &exp, "feedback.correct = 'true'").await;
    assert_eq!(
        search_hits,
        [trace.as_str()],
        "only valid assessments are searched"
    );
    assert!(
        ids(store, &exp, "feedback.correct = 'false'")
            .await
            .is_empty()
    );

    let updated = store
        .update_assessment(
            &trace,
            "a-new",
            AssessmentUpdate {
                rationale: Some(Some("checked".into())),
                ..AssessmentUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.rationale.as_deref(), Some("checked"));
    assert_eq!(updated.kind, feedback(&trace, "x", "x", json!(true)).kind);
    assert!(updated.last_update_time_ms >= 10);
    let wrong_kind = store
        .update_assessment(
            &trace,
            "a-new",
            AssessmentUpdate {
                kind: Some(AssessmentKind::Expectation(ExpectationValue::Value(json!(
                    1
                )))),
                ..AssessmentUpdate::default()
            },
        )
        .await;
    assert!(matches!(wrong_kind, Err(StoreError::InvalidParameter(_))));

    store.delete_assessment(&trace, "a-new").await.unwrap();
    let now = store.get_trace_info(&trace).await.unwrap();
    assert_eq!(
        valid(&now),
        [("a-old".into(), true)],
        "the overridden one counts again"
    );
    assert!(matches!(
        store.get_assessment(&trace, "a-new").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store
            .create_assessment(feedback(&trace_id(21), "a-x", "q", json!(1)))
            .await,
        Err(StoreError::NotFound(_))
    ));
    // An override of an assessment that does not exist stores nothing.
    let mut dangling = feedback(&trace, "a-dangling", "correct", json!(true));
    dangling.overrides = Some("a-missing".into());
    assert!(store.create_assessment(dangling).await.is_err());
    assert!(store.get_assessment(&trace, "a-dangling").await.is_err());
}

pub(super) async fn trace_tags_and_deletes(store: &impl TrackingStore) {
    let exp = new_experiment(store, "traces-delete").await;
    for n in 0..5 {
        store
            .start_trace(info(&trace_id(30 + n), &exp, i64::from(n) * 100))
            .await
            .unwrap();
    }
    store
        .set_trace_tag(&trace_id(30), "reviewed", "yes")
        .await
        .unwrap();
    assert_eq!(
        store.get_trace_info(&trace_id(30)).await.unwrap().tags["reviewed"],
        "yes"
    );
    store
        .delete_trace_tag(&trace_id(30), "reviewed")
        .await
        .unwrap();
    assert!(matches!(
        store.delete_trace_tag(&trace_id(30), "reviewed").await,
        Err(StoreError::NotFound(_))
    ));
    store
        .link_prompts_to_trace(&trace_id(31), vec![("greeting".into(), "2".into())])
        .await
        .unwrap();
    store
        .link_prompts_to_trace(&trace_id(31), vec![("greeting".into(), "2".into())])
        .await
        .unwrap();
    let linked = &store.get_trace_info(&trace_id(31)).await.unwrap().tags[keys::LINKED_PROMPTS];
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(linked).unwrap(),
        json!([{"name": "greeting", "version": "2"}])
    );
    assert_eq!(
        ids(store, &exp, "trace.prompt = 'greeting/2'").await,
        [trace_id(31)]
    );

    let deleted = store
        .delete_traces(&exp, TraceDeletion::Ids(vec![trace_id(34), trace_id(99)]))
        .await
        .unwrap();
    assert_eq!(deleted, 1);
    let deleted = store
        .delete_traces(
            &exp,
            TraceDeletion::OlderThan {
                max_timestamp_ms: 250,
                max_traces: Some(2),
            },
        )
        .await
        .unwrap();
    assert_eq!(deleted, 2, "the two oldest of the three old enough");
    assert_eq!(ids(store, &exp, "").await, [trace_id(33), trace_id(32)]);
    // Another experiment's traces are out of reach.
    assert_eq!(
        store
            .delete_traces("0", TraceDeletion::Ids(vec![trace_id(33)]))
            .await
            .unwrap(),
        0
    );
}

pub(super) async fn complete_traces_land_whole_or_not_at_all(store: &impl TrackingStore) {
    let exp = new_experiment(store, "traces-complete").await;
    let run = new_run(store, &exp, "eval", 1).await;
    let whole = trace_id(200);
    let complete = |trace: &str, run_id: &str| crate::CompleteTrace {
        experiment_id: exp.clone(),
        spans: vec![
            span(trace, 1, None, 3_000_000_000, "OK"),
            span(trace, 2, Some(1), 3_000_500_000, "OK"),
        ],
        info: info(trace, &exp, 3000),
        run_id: Some(run_id.to_owned()),
        assessments: vec![
            feedback(trace, &format!("{trace}-1"), "correct", json!(true)),
            feedback(trace, &format!("{trace}-2"), "score", json!(4)),
        ],
    };
    store
        .log_complete_trace(complete(&whole, &run))
        .await
        .unwrap();
    let stored = store.get_trace_info(&whole).await.unwrap();
    assert_eq!(stored.request_time_ms, 3000);
    assert_eq!(stored.tags[keys::TRACE_NAME], "root");
    assert_eq!(
        stored.tags.get(keys::SPANS_LOCATION).map(String::as_str),
        Some(keys::SPANS_IN_TRACKING_STORE)
    );
    let mut names: Vec<_> = stored.assessments.iter().map(|a| a.name.clone()).collect();
    names.sort();
    assert_eq!(names, ["correct", "score"]);
    assert_eq!(
        store.get_spans(&whole, None, 10).await.unwrap().spans.len(),
        2
    );
    assert_eq!(
        ids(store, &exp, &format!("attribute.run_id = '{run}'")).await,
        [whole.as_str()]
    );
    assert_eq!(
        ids(store, &exp, "feedback.score = '4'").await,
        [whole.as_str()]
    );

    // A link to a missing run fails the whole write: no trace, no spans, no assessments.
    let broken = trace_id(201);
    assert!(matches!(
        store
            .log_complete_trace(complete(&broken, "no-such-run"))
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.get_trace_info(&broken).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(
        store
            .get_spans(&broken, None, 10)
            .await
            .map_or(true, |page| page.spans.is_empty())
    );
    // So does an assessment that names another trace.
    let mut stray = complete(&trace_id(202), &run);
    stray.assessments[1].trace_id.clone_from(&whole);
    let stray = store.log_complete_trace(stray).await;
    assert!(
        matches!(stray, Err(StoreError::InvalidParameter(_))),
        "{stray:?}"
    );
    assert!(matches!(
        store.get_trace_info(&trace_id(202)).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        ids(store, &exp, "").await,
        [whole.as_str()],
        "only the whole trace is stored"
    );
}
