//! Traces, spans and assessments.
//!
//! A trace row is created by whichever arrives first, its spans (OTLP) or its final info
//! (StartTraceV3). Until the info arrives the row holds what spans tell: the first start, the
//! last end, the root span's status. The info then overwrites those and merges metadata and
//! tags. Span contents are stored as the OTLP JSON every read returns, so a read copies text
//! and never re-encodes a span.

use std::collections::{BTreeMap, HashMap};

use judgeflow_domain::search::{CompareOp, Comparison, EntityType, Literal, OrderBy};
use judgeflow_domain::traces::{MAX_TRACE_IDS_PER_CALL, keys};
use judgeflow_domain::{
    Assessment, AssessmentError, AssessmentKind, AssessmentSource, AssessmentUpdate,
    ExpectationValue, SpanRecord, TraceInfo, TraceState, now_ms,
};
use judgeflow_store::{
    CompleteTrace, Page, SpanCursor, SpanPage, StoreError, StoreResult, TraceDeletion, TraceQuery,
};
use rusqlite::{Connection, Row, params};
use serde_json::{Value, json};

use crate::db::{RowExt, Sql, db_err, execute, query_opt, query_rows};
use crate::rows::{experiment_key, json_ids};
use crate::search::push_compare;

fn not_found(trace_id: &str) -> StoreError {
    StoreError::NotFound(format!("Trace with ID '{trace_id}' not found."))
}

fn internal(error: impl std::fmt::Display) -> StoreError {
    StoreError::internal(error)
}

/// The experiment's artifact location, for the `mlflow.artifactLocation` tag. A missing
/// experiment is `NotFound`, a deleted one `InvalidState`.
fn experiment_location(conn: &Connection, experiment_id: &str) -> StoreResult<(i64, String)> {
    let missing = || StoreError::NotFound(format!("No Experiment with id={experiment_id} exists"));
    let key = experiment_key(experiment_id).ok_or_else(missing)?;
    let (location, stage) = query_opt(
        conn,
        "SELECT artifact_location, lifecycle_stage FROM experiments WHERE experiment_id = ?",
        [key],
        |row| Ok((row.col::<String>(0)?, row.col::<String>(1)?)),
    )?
    .ok_or_else(missing)?;
    if stage != "active" {
        return Err(StoreError::InvalidState(format!(
            "The experiment {experiment_id} must be in the 'active' state. Current state is {stage}."
        )));
    }
    Ok((key, location))
}

fn artifact_location(experiment_location: &str, trace_id: &str) -> String {
    format!(
        "{}/traces/{trace_id}/artifacts",
        experiment_location.trim_end_matches('/')
    )
}

/// Sets `key` to `value` in a key/value child table of the trace (`trace_tags`,
/// `trace_metadata`).
fn upsert_entry(
    conn: &Connection,
    table: &str,
    trace_id: &str,
    key: &str,
    value: &str,
) -> StoreResult<()> {
    execute(
        conn,
        &format!(
            "INSERT INTO {table} (trace_id, key, value) VALUES (?, ?, ?) \
             ON CONFLICT (trace_id, key) DO UPDATE SET value = excluded.value"
        ),
        params![trace_id, key, value],
    )?;
    Ok(())
}

fn upsert_tag(conn: &Connection, trace_id: &str, key: &str, value: &str) -> StoreResult<()> {
    upsert_entry(conn, "trace_tags", trace_id, key, value)
}

fn upsert_metadata(conn: &Connection, trace_id: &str, key: &str, value: &str) -> StoreResult<()> {
    upsert_entry(conn, "trace_metadata", trace_id, key, value)
}

fn link_run(conn: &Connection, trace_id: &str, run_id: &str) -> StoreResult<()> {
    execute(
        conn,
        "INSERT OR IGNORE INTO trace_runs (trace_id, run_id) VALUES (?, ?)",
        params![trace_id, run_id],
    )?;
    Ok(())
}

fn trace_exists(conn: &Connection, trace_id: &str) -> StoreResult<bool> {
    Ok(query_opt(
        conn,
        "SELECT 1 FROM traces WHERE trace_id = ?",
        [trace_id],
        |_| Ok(()),
    )?
    .is_some())
}

fn require_trace(conn: &Connection, trace_id: &str) -> StoreResult<()> {
    if trace_exists(conn, trace_id)? {
        Ok(())
    } else {
        Err(not_found(trace_id))
    }
}

pub(crate) fn start_trace(conn: &mut Connection, info: &TraceInfo) -> StoreResult<TraceInfo> {
    let tx = conn.savepoint().map_err(db_err)?;
    let trace_id = info.trace_id.clone();
    let existing: Option<i64> = query_opt(
        &tx,
        "SELECT experiment_id FROM traces WHERE trace_id = ?",
        [&trace_id],
        |row| row.col(0),
    )?;
    if existing.is_some() {
        {
            // Spans created the row; the final info now says what the trace is.
            execute(
                &tx,
                "UPDATE traces SET client_request_id = COALESCE(?, client_request_id), \
                 request_time = ?, execution_duration = ?, state = ?, request_preview = ?, \
                 response_preview = ?, info_finalized = 1 WHERE trace_id = ?",
                params![
                    info.client_request_id,
                    info.request_time_ms,
                    info.execution_duration_ms,
                    info.state.as_str(),
                    info.request_preview,
                    info.response_preview,
                    trace_id
                ],
            )?;
        }
    } else {
        {
            let (key, location) = experiment_location(&tx, &info.experiment_id)?;
            execute(
                &tx,
                "INSERT INTO traces (trace_id, experiment_id, client_request_id, request_time, \
                 execution_duration, state, request_preview, response_preview, info_finalized) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)",
                params![
                    trace_id,
                    key,
                    info.client_request_id,
                    info.request_time_ms,
                    info.execution_duration_ms,
                    info.state.as_str(),
                    info.request_preview,
                    info.response_preview
                ],
            )?;
            upsert_tag(
                &tx,
                &trace_id,
                keys::ARTIFACT_LOCATION,
                &artifact_location(&location, &trace_id),
            )?;
        }
    }
    for (key, value) in &info.tags {
        // The server owns where spans live: a client claiming TRACKING_STORE for spans it
        // never sent would make the trace unreadable.
        if key != keys::SPANS_LOCATION && key != keys::ARTIFACT_LOCATION {
            upsert_tag(&tx, &trace_id, key, value)?;
        }
    }
    for (key, value) in &info.trace_metadata {
        upsert_metadata(&tx, &trace_id, key, value)?;
        if key == keys::SOURCE_RUN && !value.is_empty() {
            link_run(&tx, &trace_id, value)?;
        }
    }
    upsert_metadata(&tx, &trace_id, keys::INFO_FINALIZED, "true")?;
    for assessment in &info.assessments {
        let mut assessment = assessment.clone();
        assessment.trace_id.clone_from(&trace_id);
        // A retried StartTraceV3 carries the same assessments: replace, don't duplicate.
        execute(
            &tx,
            "DELETE FROM assessments WHERE assessment_id = ? AND trace_id = ?",
            params![assessment.assessment_id, trace_id],
        )?;
        insert_assessment(&tx, &assessment)?;
    }
    let stored = get(&tx, &trace_id)?;
    tx.commit().map_err(db_err)?;
    Ok(stored)
}

/// What a batch of spans tells about one trace.
struct SpanSummary {
    first_start_ns: i64,
    last_end_ns: Option<i64>,
    root_status: Option<String>,
}

fn summarize(spans: &[&SpanRecord]) -> SpanSummary {
    let first_start_ns = spans.iter().map(|s| s.start_time_ns).min().unwrap_or(0);
    let last_end_ns = spans.iter().filter_map(|s| s.end_time_ns).max();
    let root_status = spans.iter().find(|s| s.is_root()).map(|s| s.status.clone());
    SpanSummary {
        first_start_ns,
        last_end_ns,
        root_status,
    }
}

fn state_from_root(status: Option<&str>) -> TraceState {
    match status {
        Some("OK") => TraceState::Ok,
        Some("ERROR") => TraceState::Error,
        _ => TraceState::InProgress,
    }
}

pub(crate) fn log_spans(
    conn: &mut Connection,
    experiment_id: &str,
    spans: &[SpanRecord],
) -> StoreResult<()> {
    let tx = conn.savepoint().map_err(db_err)?;
    let mut by_trace: BTreeMap<&str, Vec<&SpanRecord>> = BTreeMap::new();
    for span in spans {
        by_trace.entry(&span.trace_id).or_default().push(span);
    }
    let mut location: Option<(i64, String)> = None;
    for (trace_id, trace_spans) in &by_trace {
        let summary = summarize(trace_spans);
        let start_ms = summary.first_start_ns.div_euclid(1_000_000);
        let end_ms = summary.last_end_ns.map(|ns| ns.div_euclid(1_000_000));
        let existing: Option<(i64, i64, Option<i64>)> = query_opt(
            &tx,
            "SELECT info_finalized, request_time, execution_duration FROM traces WHERE trace_id = ?",
            [trace_id],
            |row| Ok((row.col(0)?, row.col(1)?, row.col(2)?)),
        )?;
        match existing {
            None => {
                if location.is_none() {
                    location = Some(experiment_location(&tx, experiment_id)?);
                }
                let (key, experiment_location) = location.as_ref().expect("set above");
                execute(
                    &tx,
                    "INSERT INTO traces (trace_id, experiment_id, request_time, execution_duration, \
                     state, has_spans) VALUES (?, ?, ?, ?, ?, 1)",
                    params![
                        trace_id,
                        key,
                        start_ms,
                        end_ms.map(|end| end - start_ms),
                        state_from_root(summary.root_status.as_deref()).as_str()
                    ],
                )?;
                upsert_tag(
                    &tx,
                    trace_id,
                    keys::ARTIFACT_LOCATION,
                    &artifact_location(experiment_location, trace_id),
                )?;
                upsert_tag(
                    &tx,
                    trace_id,
                    keys::SPANS_LOCATION,
                    keys::SPANS_IN_TRACKING_STORE,
                )?;
            }
            Some((finalized, request_time, duration)) => {
                if finalized == 0 {
                    // Widen the time range by what this batch adds.
                    let old_end = duration.map(|d| request_time + d);
                    let start = request_time.min(start_ms);
                    let end = match (old_end, end_ms) {
                        (Some(a), Some(b)) => Some(a.max(b)),
                        (a, b) => a.or(b),
                    };
                    execute(
                        &tx,
                        "UPDATE traces SET request_time = ?, execution_duration = ?, \
                         state = COALESCE(?, state), has_spans = 1 WHERE trace_id = ?",
                        params![
                            start,
                            end.map(|end| end - start),
                            summary
                                .root_status
                                .as_deref()
                                .map(|s| state_from_root(Some(s)).as_str()),
                            trace_id
                        ],
                    )?;
                } else {
                    execute(
                        &tx,
                        "UPDATE traces SET has_spans = 1 WHERE trace_id = ? AND has_spans = 0",
                        [trace_id],
                    )?;
                }
                upsert_tag(
                    &tx,
                    trace_id,
                    keys::SPANS_LOCATION,
                    keys::SPANS_IN_TRACKING_STORE,
                )?;
            }
        }
        let mut insert = tx
            .prepare_cached(
                "INSERT INTO spans (trace_id, span_id, parent_span_id, name, span_type, status, \
                 start_time_ns, end_time_ns, content) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (trace_id, span_id) DO UPDATE SET parent_span_id = excluded.parent_span_id, \
                 name = excluded.name, span_type = excluded.span_type, status = excluded.status, \
                 start_time_ns = excluded.start_time_ns, end_time_ns = excluded.end_time_ns, \
                 content = excluded.content",
            )
            .map_err(db_err)?;
        for span in trace_spans {
            insert
                .execute(params![
                    span.trace_id,
                    span.span_id,
                    span.parent_span_id,
                    span.name,
                    span.span_type,
                    span.status,
                    span.start_time_ns,
                    span.end_time_ns,
                    span.content
                ])
                .map_err(db_err)?;
            for (key, value) in &span.trace_tags {
                upsert_tag(&tx, trace_id, key, value)?;
            }
        }
    }
    tx.commit().map_err(db_err)?;
    Ok(())
}

const INFO_COLUMNS: &str = "t.trace_id, t.experiment_id, t.client_request_id, t.request_time, \
    t.execution_duration, t.state, t.request_preview, t.response_preview";

fn decode_info(row: &Row<'_>) -> StoreResult<TraceInfo> {
    let experiment_id: i64 = row.col(1)?;
    let state: String = row.col(5)?;
    Ok(TraceInfo {
        trace_id: row.col(0)?,
        client_request_id: row.col(2)?,
        experiment_id: experiment_id.to_string(),
        request_time_ms: row.col(3)?,
        execution_duration_ms: row.col(4)?,
        state: TraceState::parse(&state).unwrap_or(TraceState::Unspecified),
        request_preview: row.col(6)?,
        response_preview: row.col(7)?,
        trace_metadata: BTreeMap::new(),
        tags: BTreeMap::new(),
        assessments: Vec::new(),
    })
}

/// Fills in tags, metadata and assessments of `infos`, three queries for the whole page.
fn with_children(conn: &Connection, mut infos: Vec<TraceInfo>) -> StoreResult<Vec<TraceInfo>> {
    if infos.is_empty() {
        return Ok(infos);
    }
    let ids = json_ids(infos.iter().map(|t| t.trace_id.as_str()))?;
    let position: HashMap<String, usize> = infos
        .iter()
        .enumerate()
        .map(|(i, t)| (t.trace_id.clone(), i))
        .collect();
    for (table, is_tag) in [("trace_tags", true), ("trace_metadata", false)] {
        let rows = query_rows(
            conn,
            &format!(
                "SELECT trace_id, key, value FROM {table} WHERE trace_id IN (SELECT value FROM json_each(?))"
            ),
            [&ids],
            |row| {
                Ok((
                    row.col::<String>(0)?,
                    row.col::<String>(1)?,
                    row.col::<String>(2)?,
                ))
            },
        )?;
        for (trace_id, key, value) in rows {
            if let Some(&i) = position.get(&trace_id) {
                if is_tag {
                    infos[i].tags.insert(key, value);
                } else {
                    infos[i].trace_metadata.insert(key, value);
                }
            }
        }
    }
    let assessments = query_rows(
        conn,
        &format!(
            "SELECT {ASSESSMENT_COLUMNS} FROM assessments a \
             WHERE a.trace_id IN (SELECT value FROM json_each(?)) \
             ORDER BY a.trace_id, a.create_time, a.assessment_id"
        ),
        [&ids],
        decode_assessment,
    )?;
    for assessment in assessments {
        if let Some(&i) = position.get(&assessment.trace_id) {
            infos[i].assessments.push(assessment);
        }
    }
    Ok(infos)
}

pub(crate) fn get(conn: &Connection, trace_id: &str) -> StoreResult<TraceInfo> {
    let info = query_opt(
        conn,
        &format!("SELECT {INFO_COLUMNS} FROM traces t WHERE t.trace_id = ?"),
        [trace_id],
        decode_info,
    )?
    .ok_or_else(|| not_found(trace_id))?;
    Ok(with_children(conn, vec![info])?.remove(0))
}

pub(crate) fn get_many(conn: &Connection, trace_ids: &[String]) -> StoreResult<Vec<TraceInfo>> {
    let ids = json_ids(trace_ids.iter().map(String::as_str))?;
    let infos = query_rows(
        conn,
        &format!(
            "SELECT {INFO_COLUMNS} FROM traces t WHERE t.trace_id IN (SELECT value FROM json_each(?))"
        ),
        [&ids],
        decode_info,
    )?;
    let mut infos = with_children(conn, infos)?;
    let order: HashMap<&str, usize> = trace_ids
        .iter()
        .enumerate()
        .rev()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    infos.sort_by_key(|info| order.get(info.trace_id.as_str()).copied());
    Ok(infos)
}

pub(crate) fn spans(
    conn: &Connection,
    trace_id: &str,
    after: Option<&SpanCursor>,
    limit: usize,
) -> StoreResult<SpanPage> {
    require_trace(conn, trace_id)?;
    let limit = limit.max(1);
    let fetch = i64::try_from(limit + 1).unwrap_or(i64::MAX);
    let rows = match after {
        None => query_rows(
            conn,
            "SELECT start_time_ns, span_id, content FROM spans WHERE trace_id = ? \
             ORDER BY start_time_ns, span_id LIMIT ?",
            params![trace_id, fetch],
            |row| {
                Ok((
                    row.col::<i64>(0)?,
                    row.col::<String>(1)?,
                    row.col::<String>(2)?,
                ))
            },
        )?,
        Some(cursor) => query_rows(
            conn,
            "SELECT start_time_ns, span_id, content FROM spans WHERE trace_id = ? \
             AND (start_time_ns, span_id) > (?, ?) ORDER BY start_time_ns, span_id LIMIT ?",
            params![trace_id, cursor.start_time_ns, cursor.span_id, fetch],
            |row| {
                Ok((
                    row.col::<i64>(0)?,
                    row.col::<String>(1)?,
                    row.col::<String>(2)?,
                ))
            },
        )?,
    };
    let more = rows.len() > limit;
    let mut spans = Vec::with_capacity(limit.min(rows.len()));
    let mut next = None;
    for (i, (start, span_id, content)) in rows.into_iter().enumerate() {
        if i == limit {
            break;
        }
        if more && i + 1 == limit {
            next = Some(SpanCursor {
                start_time_ns: start,
                span_id,
            });
        }
        spans.push(content);
    }
    Ok(SpanPage { spans, next })
}

pub(crate) fn set_tag(
    conn: &mut Connection,
    trace_id: &str,
    key: &str,
    value: &str,
) -> StoreResult<()> {
    let tx = conn.savepoint().map_err(db_err)?;
    require_trace(&tx, trace_id)?;
    upsert_tag(&tx, trace_id, key, value)?;
    tx.commit().map_err(db_err)
}

pub(crate) fn delete_tag(conn: &mut Connection, trace_id: &str, key: &str) -> StoreResult<()> {
    let tx = conn.savepoint().map_err(db_err)?;
    require_trace(&tx, trace_id)?;
    let deleted = execute(
        &tx,
        "DELETE FROM trace_tags WHERE trace_id = ? AND key = ?",
        params![trace_id, key],
    )?;
    if deleted == 0 {
        return Err(StoreError::NotFound(format!(
            "No trace tag with key '{key}' for trace with ID '{trace_id}'"
        )));
    }
    tx.commit().map_err(db_err)
}

pub(crate) fn link_to_run(
    conn: &mut Connection,
    trace_ids: &[String],
    run_id: &str,
) -> StoreResult<()> {
    if trace_ids.len() > MAX_TRACE_IDS_PER_CALL {
        return Err(StoreError::InvalidParameter(format!(
            "Cannot link more than {MAX_TRACE_IDS_PER_CALL} traces to a run in a single request. \
             Provided {} traces.",
            trace_ids.len()
        )));
    }
    let tx = conn.savepoint().map_err(db_err)?;
    if query_opt(
        &tx,
        "SELECT 1 FROM runs WHERE run_uuid = ?",
        [run_id],
        |_| Ok(()),
    )?
    .is_none()
    {
        return Err(StoreError::NotFound(format!(
            "Run with id={run_id} not found"
        )));
    }
    for trace_id in trace_ids {
        require_trace(&tx, trace_id)?;
        link_run(&tx, trace_id, run_id)?;
    }
    tx.commit().map_err(db_err)
}

pub(crate) fn link_prompts(
    conn: &mut Connection,
    trace_id: &str,
    prompts: &[(String, String)],
) -> StoreResult<()> {
    let tx = conn.savepoint().map_err(db_err)?;
    require_trace(&tx, trace_id)?;
    let current: Option<String> = query_opt(
        &tx,
        "SELECT value FROM trace_tags WHERE trace_id = ? AND key = ?",
        params![trace_id, keys::LINKED_PROMPTS],
        |row| row.col(0),
    )?;
    let mut linked: Vec<Value> = current
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default();
    for (name, version) in prompts {
        let entry = json!({"name": name, "version": version});
        if !linked.contains(&entry) {
            linked.push(entry);
        }
    }
    let text = serde_json::to_string(&linked).map_err(internal)?;
    upsert_tag(&tx, trace_id, keys::LINKED_PROMPTS, &text)?;
    tx.commit().map_err(db_err)
}

pub(crate) fn delete(
    conn: &mut Connection,
    experiment_id: &str,
    which: &TraceDeletion,
) -> StoreResult<usize> {
    let Some(key) = experiment_key(experiment_id) else {
        return Ok(0);
    };
    let tx = conn.savepoint().map_err(db_err)?;
    let deleted = match which {
        TraceDeletion::Ids(ids) => {
            if ids.len() > MAX_TRACE_IDS_PER_CALL {
                return Err(StoreError::InvalidParameter(format!(
                    "Cannot delete more than {MAX_TRACE_IDS_PER_CALL} traces in a single request"
                )));
            }
            execute(
                &tx,
                "DELETE FROM traces WHERE experiment_id = ? AND trace_id IN (SELECT value FROM json_each(?))",
                params![key, json_ids(ids.iter().map(String::as_str))?],
            )?
        }
        TraceDeletion::OlderThan {
            max_timestamp_ms,
            max_traces,
        } => {
            let limit = max_traces.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
            execute(
                &tx,
                "DELETE FROM traces WHERE trace_id IN (SELECT trace_id FROM traces \
                 WHERE experiment_id = ? AND request_time <= ? ORDER BY request_time, trace_id LIMIT ?)",
                params![key, max_timestamp_ms, limit],
            )?
        }
    };
    tx.commit().map_err(db_err)?;
    Ok(deleted)
}

// ---- search ----------------------------------------------------------------------------

fn attribute_expr(key: &str) -> StoreResult<&'static str> {
    Ok(match key {
        "request_id" => "t.trace_id",
        "client_request_id" => "t.client_request_id",
        "status" => "t.state",
        "experiment_id" => "t.experiment_id",
        "timestamp_ms" => "t.request_time",
        "execution_time_ms" => "t.execution_duration",
        "end_time_ms" => "(t.request_time + t.execution_duration)",
        "name" => {
            "(SELECT value FROM trace_tags g WHERE g.trace_id = t.trace_id AND g.key = 'mlflow.traceName')"
        }
        other => {
            return Err(StoreError::InvalidParameter(format!(
                "Invalid attribute key '{other}' for traces"
            )));
        }
    })
}

/// Matching child rows up to which a comparison is answered from the child table's index
/// (`trace_id IN (SELECT …)`) rather than probed per trace (`EXISTS`), as for run search: a
/// rare tag or span name is found at once, a common one stops as soon as the page is full.
const SELECTIVE_ROWS: i64 = 2000;

/// Counts, capped at [`SELECTIVE_ROWS`] + 1, the rows of `table` matching `condition`.
fn is_selective(conn: &Connection, table: &str, condition: &Sql) -> StoreResult<bool> {
    let mut count = Sql::new(format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM {table} c WHERE "
    ));
    count.append(condition);
    count.push(" LIMIT ");
    count.push_bind(SELECTIVE_ROWS + 1);
    count.push(")");
    let matched: i64 = count
        .rows(conn, |row| row.col(0))?
        .into_iter()
        .next()
        .unwrap_or(0);
    Ok(matched <= SELECTIVE_ROWS)
}

/// `AND [NOT] EXISTS (…)` or `AND t.trace_id IN (…)` for rows of a child table matching
/// `condition` (written against the alias `c`).
fn push_child(
    conn: &Connection,
    builder: &mut Sql,
    table: &str,
    condition: &Sql,
    negate: bool,
) -> StoreResult<()> {
    if !negate && is_selective(conn, table, condition)? {
        builder.push(format!(
            " AND t.trace_id IN (SELECT c.trace_id FROM {table} c WHERE "
        ));
    } else {
        let not = if negate { "NOT " } else { "" };
        builder.push(format!(
            " AND {not}EXISTS (SELECT 1 FROM {table} c WHERE c.trace_id = t.trace_id AND "
        ));
    }
    builder.append(condition);
    builder.push(")");
    Ok(())
}

/// A comparison on a key/value child table of the trace (tags, metadata).
fn push_key_value(
    conn: &Connection,
    builder: &mut Sql,
    table: &str,
    comparison: &Comparison,
) -> StoreResult<()> {
    let mut condition = Sql::new("c.key = ");
    condition.push_bind(comparison.key.clone());
    if !matches!(comparison.op, CompareOp::IsNull | CompareOp::IsNotNull) {
        condition.push(" AND ");
        push_compare(&mut condition, "c.value", comparison.op, &comparison.value);
    }
    push_child(
        conn,
        builder,
        table,
        &condition,
        comparison.op == CompareOp::IsNull,
    )
}

fn push_trace_clause(
    conn: &Connection,
    builder: &mut Sql,
    comparison: &Comparison,
) -> StoreResult<()> {
    match comparison.entity {
        EntityType::Tag => push_key_value(conn, builder, "trace_tags", comparison)?,
        EntityType::Metadata => push_key_value(conn, builder, "trace_metadata", comparison)?,
        EntityType::Attribute => match comparison.key.as_str() {
            "run_id" => {
                let negate = matches!(comparison.op, CompareOp::Ne | CompareOp::NotIn);
                let op = match comparison.op {
                    CompareOp::Ne => CompareOp::Eq,
                    CompareOp::NotIn => CompareOp::In,
                    op => op,
                };
                builder.push(if negate {
                    " AND NOT EXISTS ("
                } else {
                    " AND EXISTS ("
                });
                builder.push("SELECT 1 FROM trace_runs l WHERE l.trace_id = t.trace_id AND ");
                push_compare(builder, "l.run_id", op, &comparison.value);
                builder.push(")");
            }
            "prompt" => {
                builder.push(
                    " AND EXISTS (SELECT 1 FROM trace_tags g, json_each(g.value) p \
                     WHERE g.trace_id = t.trace_id AND g.key = 'mlflow.linkedPrompts' \
                     AND json_valid(g.value) AND ",
                );
                push_compare(
                    builder,
                    "(json_extract(p.value, '$.name') || '/' || json_extract(p.value, '$.version'))",
                    comparison.op,
                    &comparison.value,
                );
                builder.push(")");
            }
            "text" => {
                builder
                    .push(" AND EXISTS (SELECT 1 FROM spans s WHERE s.trace_id = t.trace_id AND ");
                push_compare(builder, "s.content", comparison.op, &comparison.value);
                builder.push(")");
            }
            key => {
                builder.push(" AND ");
                push_compare(
                    builder,
                    attribute_expr(key)?,
                    comparison.op,
                    &comparison.value,
                );
            }
        },
        EntityType::Span => {
            let column = match comparison.key.as_str() {
                "name" => "c.name",
                "type" => "c.span_type",
                "status" => "c.status",
                _ => "c.content",
            };
            // Span status is stored as OK/ERROR/UNSET; accept the OTel names too.
            let value = match (&comparison.key[..], &comparison.value) {
                ("status", Literal::String(s)) => {
                    Literal::String(s.strip_prefix("STATUS_CODE_").unwrap_or(s).to_owned())
                }
                (_, value) => value.clone(),
            };
            let mut condition = Sql::default();
            push_compare(&mut condition, column, comparison.op, &value);
            if column == "c.content" {
                // No index can answer a substring match: probe per trace.
                builder
                    .push(" AND EXISTS (SELECT 1 FROM spans c WHERE c.trace_id = t.trace_id AND ");
                builder.append(&condition);
                builder.push(")");
            } else {
                push_child(conn, builder, "spans", &condition, false)?;
            }
        }
        EntityType::Feedback | EntityType::Expectation => {
            let kind = if comparison.entity == EntityType::Feedback {
                "feedback"
            } else {
                "expectation"
            };
            let exists = if comparison.op == CompareOp::IsNull {
                " AND NOT EXISTS"
            } else {
                " AND EXISTS"
            };
            builder.push(format!(
                "{exists} (SELECT 1 FROM assessments a WHERE a.trace_id = t.trace_id AND a.valid = 1 \
                 AND a.kind = '{kind}' AND a.name = "
            ));
            builder.push_bind(comparison.key.clone());
            match (&comparison.op, &comparison.value) {
                (CompareOp::IsNull | CompareOp::IsNotNull, _) => {}
                (op, Literal::Number(_)) => {
                    builder.push(" AND ");
                    push_compare(builder, "a.value_number", *op, &comparison.value);
                }
                (op, _) => {
                    builder.push(" AND ");
                    push_compare(builder, "a.value_text", *op, &comparison.value);
                }
            }
            builder.push(")");
        }
        other => {
            return Err(StoreError::InvalidParameter(format!(
                "Invalid search expression type '{}' for traces",
                match other {
                    EntityType::Metric => "metric",
                    EntityType::Param => "param",
                    _ => "dataset",
                }
            )));
        }
    }
    Ok(())
}

fn order_expr(order: &OrderBy) -> StoreResult<&'static str> {
    if order.entity != EntityType::Attribute {
        return Err(StoreError::InvalidParameter(format!(
            "Invalid order_by entity for traces: only attributes can be ordered by, got '{}'",
            order.key
        )));
    }
    match order.key.as_str() {
        "run_id" => Ok("(SELECT MIN(run_id) FROM trace_runs l WHERE l.trace_id = t.trace_id)"),
        "prompt" | "text" | "client_request_id" => Err(StoreError::InvalidParameter(format!(
            "Invalid order_by key '{}' for traces",
            order.key
        ))),
        key => attribute_expr(key),
    }
}

pub(crate) fn search(conn: &Connection, query: &TraceQuery) -> StoreResult<Page<TraceInfo>> {
    let experiments: Vec<i64> = query
        .experiment_ids
        .iter()
        .filter_map(|id| experiment_key(id))
        .collect();
    if experiments.is_empty() {
        return Ok(Page {
            items: Vec::new(),
            next_page_token: None,
        });
    }
    let mut builder = Sql::new(format!(
        "SELECT {INFO_COLUMNS} FROM traces t WHERE t.experiment_id IN ("
    ));
    builder.push_bind_list(experiments);
    builder.push(")");
    for comparison in &query.filter {
        push_trace_clause(conn, &mut builder, comparison)?;
    }
    builder.push(" ORDER BY ");
    let mut has_id = false;
    for order in &query.order_by {
        let expr = order_expr(order)?;
        has_id |= expr == "t.trace_id";
        builder.push(format!(
            "{expr} {}, ",
            if order.ascending { "ASC" } else { "DESC" }
        ));
    }
    if query.order_by.is_empty() {
        builder.push("t.request_time DESC, ");
    }
    builder.push(if has_id { "1" } else { "t.trace_id ASC" });
    let offset = query.page_token.offset;
    builder.push(" LIMIT ");
    builder.push_bind(i64::try_from(query.max_results + 1).unwrap_or(i64::MAX));
    builder.push(" OFFSET ");
    builder.push_bind(i64::try_from(offset).unwrap_or(i64::MAX));
    let rows = builder.rows(conn, decode_info)?;
    let page = Page::from_overfetch(rows, offset, query.max_results);
    Ok(Page {
        items: with_children(conn, page.items)?,
        next_page_token: page.next_page_token,
    })
}

// ---- assessments ---------------------------------------------------------------------

const ASSESSMENT_COLUMNS: &str = "a.assessment_id, a.trace_id, a.name, a.kind, a.payload, \
    a.source_type, a.source_id, a.span_id, a.rationale, a.metadata, a.overrides, a.valid, \
    a.create_time, a.last_update_time";

fn payload(kind: &AssessmentKind) -> Value {
    match kind {
        AssessmentKind::Feedback { value, error } => {
            let mut object = serde_json::Map::new();
            if let Some(value) = value {
                object.insert("value".into(), value.clone());
            }
            if let Some(error) = error {
                object.insert(
                    "error".into(),
                    json!({
                        "error_code": error.error_code,
                        "error_message": error.error_message,
                        "stack_trace": error.stack_trace,
                    }),
                );
            }
            Value::Object(object)
        }
        AssessmentKind::Expectation(ExpectationValue::Value(value)) => json!({"value": value}),
        AssessmentKind::Expectation(ExpectationValue::Serialized { format, value }) => {
            json!({"serialized_value": {"serialization_format": format, "value": value}})
        }
    }
}

fn kind_from_payload(kind: &str, payload: &Value) -> AssessmentKind {
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    if kind == "feedback" {
        AssessmentKind::Feedback {
            value: payload.get("value").cloned(),
            error: payload.get("error").map(|e| AssessmentError {
                error_code: text(e, "error_code"),
                error_message: text(e, "error_message"),
                stack_trace: text(e, "stack_trace"),
            }),
        }
    } else if let Some(serialized) = payload.get("serialized_value") {
        AssessmentKind::Expectation(ExpectationValue::Serialized {
            format: text(serialized, "serialization_format").unwrap_or_default(),
            value: text(serialized, "value").unwrap_or_default(),
        })
    } else {
        AssessmentKind::Expectation(ExpectationValue::Value(
            payload.get("value").cloned().unwrap_or(Value::Null),
        ))
    }
}

fn decode_assessment(row: &Row<'_>) -> StoreResult<Assessment> {
    let kind: String = row.col(3)?;
    let payload: String = row.col(4)?;
    let payload: Value = serde_json::from_str(&payload).map_err(internal)?;
    let metadata: String = row.col(9)?;
    let valid: i64 = row.col(11)?;
    Ok(Assessment {
        assessment_id: row.col(0)?,
        trace_id: row.col(1)?,
        name: row.col(2)?,
        kind: kind_from_payload(&kind, &payload),
        source: AssessmentSource {
            source_type: row.col(5)?,
            source_id: row.col(6)?,
        },
        span_id: row.col(7)?,
        rationale: row.col(8)?,
        metadata: serde_json::from_str(&metadata).map_err(internal)?,
        overrides: row.col(10)?,
        valid: valid != 0,
        create_time_ms: row.col(12)?,
        last_update_time_ms: row.col(13)?,
    })
}

fn insert_assessment(conn: &Connection, assessment: &Assessment) -> StoreResult<()> {
    let (value_text, value_number) = assessment.kind.search_value();
    execute(
        conn,
        "INSERT INTO assessments (assessment_id, trace_id, name, kind, payload, value_text, \
         value_number, source_type, source_id, span_id, rationale, metadata, overrides, valid, \
         create_time, last_update_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            assessment.assessment_id,
            assessment.trace_id,
            assessment.name,
            assessment.kind.type_name(),
            payload(&assessment.kind).to_string(),
            value_text,
            value_number,
            assessment.source.source_type,
            assessment.source.source_id,
            assessment.span_id,
            assessment.rationale,
            serde_json::to_string(&assessment.metadata).map_err(internal)?,
            assessment.overrides,
            i64::from(assessment.valid),
            assessment.create_time_ms,
            assessment.last_update_time_ms
        ],
    )
    .map_err(|error| match error {
        StoreError::Internal(text) if text.contains("UNIQUE") => StoreError::AlreadyExists(
            format!("Assessment '{}' already exists", assessment.assessment_id),
        ),
        other => other,
    })?;
    if let Some(overridden) = &assessment.overrides {
        let changed = execute(
            conn,
            "UPDATE assessments SET valid = 0 WHERE assessment_id = ? AND trace_id = ?",
            params![overridden, assessment.trace_id],
        )?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!(
                "Assessment with ID '{overridden}' to override not found for trace '{}'",
                assessment.trace_id
            )));
        }
    }
    Ok(())
}

fn fetch_assessment(
    conn: &Connection,
    trace_id: &str,
    assessment_id: &str,
) -> StoreResult<Assessment> {
    query_opt(
        conn,
        &format!(
            "SELECT {ASSESSMENT_COLUMNS} FROM assessments a WHERE a.assessment_id = ? AND a.trace_id = ?"
        ),
        params![assessment_id, trace_id],
        decode_assessment,
    )?
    .ok_or_else(|| {
        StoreError::NotFound(format!(
            "Assessment with ID '{assessment_id}' not found for trace '{trace_id}'"
        ))
    })
}

/// A whole trace in one savepoint (see [`CompleteTrace`]).
pub(crate) fn log_complete(conn: &mut Connection, trace: &CompleteTrace) -> StoreResult<()> {
    crate::db::atomically(conn, |conn| {
        if !trace.spans.is_empty() {
            log_spans(conn, &trace.experiment_id, &trace.spans)?;
        }
        start_trace(conn, &trace.info)?;
        if let Some(run_id) = &trace.run_id {
            link_to_run(conn, std::slice::from_ref(&trace.info.trace_id), run_id)?;
        }
        for assessment in &trace.assessments {
            if assessment.trace_id != trace.info.trace_id {
                return Err(StoreError::InvalidParameter(format!(
                    "assessment {} belongs to trace {}, not {}",
                    assessment.assessment_id, assessment.trace_id, trace.info.trace_id
                )));
            }
            insert_assessment(conn, assessment)?;
        }
        Ok(())
    })
}

pub(crate) fn create_assessment(
    conn: &mut Connection,
    assessment: &Assessment,
) -> StoreResult<Assessment> {
    let tx = conn.savepoint().map_err(db_err)?;
    require_trace(&tx, &assessment.trace_id)?;
    insert_assessment(&tx, assessment)?;
    let stored = fetch_assessment(&tx, &assessment.trace_id, &assessment.assessment_id)?;
    tx.commit().map_err(db_err)?;
    Ok(stored)
}

pub(crate) fn get_assessment(
    conn: &Connection,
    trace_id: &str,
    assessment_id: &str,
) -> StoreResult<Assessment> {
    require_trace(conn, trace_id)?;
    fetch_assessment(conn, trace_id, assessment_id)
}

pub(crate) fn update_assessment(
    conn: &mut Connection,
    trace_id: &str,
    assessment_id: &str,
    update: AssessmentUpdate,
) -> StoreResult<Assessment> {
    let tx = conn.savepoint().map_err(db_err)?;
    require_trace(&tx, trace_id)?;
    let mut assessment = fetch_assessment(&tx, trace_id, assessment_id)?;
    if let Some(name) = update.name {
        assessment.name = name;
    }
    if let Some(kind) = update.kind {
        if kind.type_name() != assessment.kind.type_name() {
            return Err(StoreError::InvalidParameter(format!(
                "Cannot change the type of assessment '{assessment_id}' from {} to {}",
                assessment.kind.type_name(),
                kind.type_name()
            )));
        }
        assessment.kind = kind;
    }
    if let Some(rationale) = update.rationale {
        assessment.rationale = rationale;
    }
    if let Some(metadata) = update.metadata {
        assessment.metadata.extend(metadata);
    }
    assessment.last_update_time_ms = now_ms().max(assessment.last_update_time_ms);
    let (value_text, value_number) = assessment.kind.search_value();
    execute(
        &tx,
        "UPDATE assessments SET name = ?, payload = ?, value_text = ?, value_number = ?, \
         rationale = ?, metadata = ?, last_update_time = ? WHERE assessment_id = ? AND trace_id = ?",
        params![
            assessment.name,
            payload(&assessment.kind).to_string(),
            value_text,
            value_number,
            assessment.rationale,
            serde_json::to_string(&assessment.metadata).map_err(internal)?,
            assessment.last_update_time_ms,
            assessment_id,
            trace_id
        ],
    )?;
    tx.commit().map_err(db_err)?;
    Ok(assessment)
}

pub(crate) fn delete_assessment(
    conn: &mut Connection,
    trace_id: &str,
    assessment_id: &str,
) -> StoreResult<()> {
    let tx = conn.savepoint().map_err(db_err)?;
    require_trace(&tx, trace_id)?;
    let assessment = fetch_assessment(&tx, trace_id, assessment_id)?;
    execute(
        &tx,
        "DELETE FROM assessments WHERE assessment_id = ? AND trace_id = ?",
        params![assessment_id, trace_id],
    )?;
    if let Some(overridden) = &assessment.overrides {
        // The override is gone: what it replaced counts again.
        execute(
            &tx,
            "UPDATE assessments SET valid = 1 WHERE assessment_id = ? AND trace_id = ?",
            params![overridden, trace_id],
        )?;
    }
    tx.commit().map_err(db_err)
}
