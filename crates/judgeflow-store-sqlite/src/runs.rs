//! Runs and everything logged to them.

use std::collections::HashMap;

use judgeflow_domain::{
    DatasetInput, LifecycleStage, Metric, ModelInput, ModelOutput, Param, RUN_NAME_TAG, Run,
    RunInfo, Tag, ids, now_ms, validation,
};
use judgeflow_store::{
    MetricIntervalQuery, NewRun, Page, PageToken, RunUpdate, StoreError, StoreResult,
};
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection, SqlitePool};

use crate::rows::{
    active_run_info, decode_value, encode_value, experiment_key, fetch_run_info, load_runs,
};
use crate::{SqliteStore, db_err};

/// Rows per multi-row INSERT: 9 columns × 500 stays far below SQLite's bind limit.
const INSERT_CHUNK: usize = 500;

pub(crate) async fn create(store: &SqliteStore, new: NewRun) -> StoreResult<Run> {
    for tag in &new.tags {
        validation::validate_run_tag(tag)?;
    }
    let experiment_id = experiment_key(&new.experiment_id).ok_or_else(|| {
        StoreError::NotFound(format!(
            "No Experiment with id={} exists",
            new.experiment_id
        ))
    })?;
    let mut tx = store.writer.begin().await.map_err(db_err)?;
    let experiment = sqlx::query(
        "SELECT artifact_location, lifecycle_stage FROM experiments WHERE experiment_id = ?",
    )
    .bind(experiment_id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_err)?
    .ok_or_else(|| {
        StoreError::NotFound(format!(
            "No Experiment with id={} exists",
            new.experiment_id
        ))
    })?;
    let location: String = experiment.get(0);
    let stage: String = experiment.get(1);
    if stage != LifecycleStage::Active.as_str() {
        return Err(StoreError::InvalidParameter(format!(
            "The experiment {} must be in the 'active' state. Current state is {stage}.",
            new.experiment_id
        )));
    }
    let tag_name = new
        .tags
        .iter()
        .find(|t| t.key == RUN_NAME_TAG)
        .map(|t| t.value.clone());
    if let (Some(name), Some(tag)) = (&new.run_name, &tag_name)
        && !name.is_empty()
        && name != tag
    {
        return Err(StoreError::InvalidParameter(format!(
            "Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different \
             values (run_name='{name}', mlflow.runName='{tag}')."
        )));
    }
    let run_name = new
        .run_name
        .filter(|n| !n.is_empty())
        .or(tag_name)
        .unwrap_or_else(ids::random_run_name);
    let run_id = ids::new_run_id();
    let artifact_uri = format!("{}/{run_id}/artifacts", location.trim_end_matches('/'));
    sqlx::query(
        "INSERT INTO runs (run_uuid, experiment_id, name, user_id, status, start_time, end_time, artifact_uri, lifecycle_stage) \
         VALUES (?, ?, ?, ?, 'RUNNING', ?, NULL, ?, 'active')",
    )
    .bind(&run_id)
    .bind(experiment_id)
    .bind(&run_name)
    .bind(&new.user_id)
    .bind(new.start_time)
    .bind(&artifact_uri)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    let mut tags: Vec<Tag> = new
        .tags
        .into_iter()
        .filter(|t| t.key != RUN_NAME_TAG)
        .collect();
    tags.push(Tag::new(RUN_NAME_TAG, run_name.clone()));
    upsert_tags(&mut tx, &run_id, &tags).await?;
    tx.commit().await.map_err(db_err)?;
    get(&store.writer, &run_id).await
}

pub(crate) async fn get(pool: &SqlitePool, run_id: &str) -> StoreResult<Run> {
    let info = fetch_run_info(pool, run_id).await?;
    Ok(load_runs(pool, vec![info]).await?.remove(0))
}

pub(crate) async fn update(
    pool: &SqlitePool,
    run_id: &str,
    update: RunUpdate,
) -> StoreResult<RunInfo> {
    let mut tx = pool.begin().await.map_err(db_err)?;
    let mut info = active_run_info(&mut *tx, run_id).await?;
    if let Some(status) = update.status {
        info.status = status;
    }
    if let Some(end_time) = update.end_time {
        info.end_time = Some(end_time);
    }
    if let Some(name) = update.run_name.filter(|n| !n.is_empty()) {
        upsert_tags(&mut tx, run_id, &[Tag::new(RUN_NAME_TAG, name.clone())]).await?;
        info.run_name = name;
    }
    sqlx::query("UPDATE runs SET status = ?, end_time = ?, name = ? WHERE run_uuid = ?")
        .bind(info.status.as_str())
        .bind(info.end_time)
        .bind(&info.run_name)
        .bind(run_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    Ok(info)
}

pub(crate) async fn set_stage(pool: &SqlitePool, run_id: &str, active: bool) -> StoreResult<()> {
    fetch_run_info(pool, run_id).await?;
    let (stage, deleted_time) = if active {
        ("active", None)
    } else {
        ("deleted", Some(now_ms()))
    };
    sqlx::query("UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE run_uuid = ?")
        .bind(stage)
        .bind(deleted_time)
        .bind(run_id)
        .execute(pool)
        .await
        .map_err(db_err)?;
    Ok(())
}

async fn upsert_tags(tx: &mut SqliteConnection, run_id: &str, tags: &[Tag]) -> StoreResult<()> {
    // Later duplicates win, as they would if sent one by one.
    let mut latest: Vec<&Tag> = Vec::with_capacity(tags.len());
    for tag in tags {
        if let Some(slot) = latest.iter_mut().find(|t| t.key == tag.key) {
            *slot = tag;
        } else {
            latest.push(tag);
        }
    }
    for chunk in latest.chunks(INSERT_CHUNK) {
        let mut builder = QueryBuilder::<Sqlite>::new("INSERT INTO tags (run_uuid, key, value) ");
        builder.push_values(chunk, |mut row, tag| {
            row.push_bind(run_id)
                .push_bind(&tag.key)
                .push_bind(&tag.value);
        });
        builder.push(" ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value");
        builder.build().execute(&mut *tx).await.map_err(db_err)?;
    }
    if let Some(name) = latest.iter().rev().find(|t| t.key == RUN_NAME_TAG) {
        sqlx::query("UPDATE runs SET name = ? WHERE run_uuid = ?")
            .bind(&name.value)
            .bind(run_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

async fn insert_params(
    tx: &mut SqliteConnection,
    run_id: &str,
    params: &[Param],
) -> StoreResult<()> {
    if params.is_empty() {
        return Ok(());
    }
    let keys = serde_json::to_string(&params.iter().map(|p| p.key.as_str()).collect::<Vec<_>>())
        .map_err(StoreError::internal)?;
    let existing: HashMap<String, String> = sqlx::query_as(
        "SELECT key, value FROM params WHERE run_uuid = ? AND key IN (SELECT value FROM json_each(?))",
    )
    .bind(run_id)
    .bind(keys)
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?
    .into_iter()
    .collect();
    for param in params {
        if let Some(old) = existing.get(&param.key)
            && old != &param.value
        {
            return Err(StoreError::InvalidParameter(format!(
                "Changing param values is not allowed. Param with key='{}' was already logged with \
                 value='{old}' for run ID='{run_id}'. Attempted logging new value '{}'.",
                param.key, param.value
            )));
        }
    }
    for chunk in params.chunks(INSERT_CHUNK) {
        let mut builder =
            QueryBuilder::<Sqlite>::new("INSERT OR IGNORE INTO params (run_uuid, key, value) ");
        builder.push_values(chunk, |mut row, param| {
            row.push_bind(run_id)
                .push_bind(&param.key)
                .push_bind(&param.value);
        });
        builder.build().execute(&mut *tx).await.map_err(db_err)?;
    }
    Ok(())
}

async fn insert_metrics(
    tx: &mut SqliteConnection,
    info: &RunInfo,
    metrics: &[Metric],
) -> StoreResult<()> {
    if metrics.is_empty() {
        return Ok(());
    }
    let run_id = info.run_id.as_str();
    for chunk in metrics.chunks(INSERT_CHUNK) {
        let mut builder = QueryBuilder::<Sqlite>::new(
            "INSERT OR IGNORE INTO metrics (run_uuid, key, timestamp, step, value, is_nan, model_id, dataset_name, dataset_digest) ",
        );
        builder.push_values(chunk, |mut row, metric| {
            let (value, is_nan) = encode_value(metric.value);
            row.push_bind(run_id)
                .push_bind(&metric.key)
                .push_bind(metric.timestamp)
                .push_bind(metric.step)
                .push_bind(value)
                .push_bind(is_nan)
                .push_bind(&metric.model_id)
                .push_bind(&metric.dataset_name)
                .push_bind(&metric.dataset_digest);
        });
        builder.build().execute(&mut *tx).await.map_err(db_err)?;
    }
    // Reduce the batch to its newest point per key before touching latest_metrics.
    let mut newest: Vec<&Metric> = Vec::new();
    for metric in metrics {
        match newest.iter_mut().find(|m| m.key == metric.key) {
            Some(slot) if metric.is_newer_than(slot) => *slot = metric,
            Some(_) => {}
            None => newest.push(metric),
        }
    }
    for chunk in newest.chunks(INSERT_CHUNK) {
        let mut builder = QueryBuilder::<Sqlite>::new(
            "INSERT INTO latest_metrics (run_uuid, key, value, timestamp, step, is_nan) ",
        );
        builder.push_values(chunk, |mut row, metric| {
            let (value, is_nan) = encode_value(metric.value);
            row.push_bind(run_id)
                .push_bind(&metric.key)
                .push_bind(value)
                .push_bind(metric.timestamp)
                .push_bind(metric.step)
                .push_bind(is_nan);
        });
        // A stored point is replaced only by a newer one: greater step, then timestamp, then
        // value, with NaN below every number.
        builder.push(
            " ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value, timestamp = excluded.timestamp, \
             step = excluded.step, is_nan = excluded.is_nan \
             WHERE (excluded.step, excluded.timestamp, excluded.is_nan = 0, excluded.value) > \
                   (latest_metrics.step, latest_metrics.timestamp, latest_metrics.is_nan = 0, latest_metrics.value)",
        );
        builder.build().execute(&mut *tx).await.map_err(db_err)?;
    }
    let model_metrics: Vec<&Metric> = metrics
        .iter()
        .filter(|m| m.model_id.as_deref().is_some_and(|id| !id.is_empty()))
        .collect();
    for chunk in model_metrics.chunks(INSERT_CHUNK) {
        let mut builder = QueryBuilder::<Sqlite>::new(
            "INSERT OR IGNORE INTO logged_model_metrics (model_id, key, timestamp, step, value, is_nan, run_uuid, dataset_name, dataset_digest) \
             SELECT column1, column2, column3, column4, column5, column6, column7, column8, column9 FROM (",
        );
        builder.push_values(chunk, |mut row, metric| {
            let (value, is_nan) = encode_value(metric.value);
            row.push_bind(&metric.model_id)
                .push_bind(&metric.key)
                .push_bind(metric.timestamp)
                .push_bind(metric.step)
                .push_bind(value)
                .push_bind(is_nan)
                .push_bind(run_id)
                .push_bind(&metric.dataset_name)
                .push_bind(&metric.dataset_digest);
        });
        // Metrics naming a model we do not know are kept on the run only.
        builder.push(") WHERE column1 IN (SELECT model_id FROM logged_models)");
        builder.build().execute(&mut *tx).await.map_err(db_err)?;
    }
    Ok(())
}

pub(crate) async fn log_batch(
    pool: &SqlitePool,
    run_id: &str,
    metrics: Vec<Metric>,
    params: Vec<Param>,
    tags: Vec<Tag>,
) -> StoreResult<()> {
    validation::validate_batch(&metrics, &params, &tags)?;
    let mut tx = pool.begin().await.map_err(db_err)?;
    let info = active_run_info(&mut *tx, run_id).await?;
    insert_params(&mut tx, run_id, &params).await?;
    insert_metrics(&mut tx, &info, &metrics).await?;
    if !tags.is_empty() {
        upsert_tags(&mut tx, run_id, &tags).await?;
    }
    tx.commit().await.map_err(db_err)
}

pub(crate) async fn delete_tag(pool: &SqlitePool, run_id: &str, key: &str) -> StoreResult<()> {
    let mut tx = pool.begin().await.map_err(db_err)?;
    active_run_info(&mut *tx, run_id).await?;
    let deleted = sqlx::query("DELETE FROM tags WHERE run_uuid = ? AND key = ?")
        .bind(run_id)
        .bind(key)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    if deleted.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!(
            "No tag with name: {key} in run with id {run_id}"
        )));
    }
    tx.commit().await.map_err(db_err)
}

pub(crate) async fn log_inputs(
    pool: &SqlitePool,
    run_id: &str,
    datasets: Vec<DatasetInput>,
    models: Vec<ModelInput>,
) -> StoreResult<()> {
    for input in &datasets {
        validation::require(&input.dataset.name, "dataset.name")?;
        validation::require(&input.dataset.digest, "dataset.digest")?;
        if input.dataset.name.chars().count() > validation::MAX_DATASET_NAME_LENGTH {
            return Err(StoreError::InvalidParameter(
                "Dataset name exceeds the maximum length of 500".into(),
            ));
        }
        for tag in &input.tags {
            if tag.key.chars().count() > validation::MAX_DATASET_TAG_KEY_LENGTH
                || tag.value.chars().count() > validation::MAX_DATASET_TAG_VALUE_LENGTH
            {
                return Err(StoreError::InvalidParameter(format!(
                    "Dataset input tag '{}' is too long",
                    tag.key
                )));
            }
        }
    }
    let mut tx = pool.begin().await.map_err(db_err)?;
    let info = active_run_info(&mut *tx, run_id).await?;
    let experiment_id: i64 = info.experiment_id.parse().map_err(StoreError::internal)?;
    for input in datasets {
        let dataset = &input.dataset;
        let dataset_id: i64 = sqlx::query_scalar(
            "INSERT INTO datasets (experiment_id, name, digest, source_type, source, schema, profile) \
             VALUES (?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (experiment_id, name, digest) DO UPDATE SET source_type = source_type \
             RETURNING dataset_id",
        )
        .bind(experiment_id)
        .bind(&dataset.name)
        .bind(&dataset.digest)
        .bind(&dataset.source_type)
        .bind(&dataset.source)
        .bind(&dataset.schema)
        .bind(&dataset.profile)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        let context = input
            .tags
            .iter()
            .find(|t| t.key == "mlflow.data.context")
            .map(|t| t.value.clone());
        let tags = serde_json::to_string(&input.tags).map_err(StoreError::internal)?;
        sqlx::query("INSERT OR IGNORE INTO run_dataset_inputs (run_uuid, dataset_id, tags, context) VALUES (?, ?, ?, ?)")
            .bind(run_id)
            .bind(dataset_id)
            .bind(tags)
            .bind(context)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    }
    for model in models {
        validation::require(&model.model_id, "model_id")?;
        sqlx::query("INSERT OR IGNORE INTO run_model_inputs (run_uuid, model_id) VALUES (?, ?)")
            .bind(run_id)
            .bind(&model.model_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    }
    tx.commit().await.map_err(db_err)
}

pub(crate) async fn log_outputs(
    pool: &SqlitePool,
    run_id: &str,
    models: Vec<ModelOutput>,
) -> StoreResult<()> {
    let mut tx = pool.begin().await.map_err(db_err)?;
    active_run_info(&mut *tx, run_id).await?;
    for model in models {
        validation::require(&model.model_id, "model_id")?;
        sqlx::query(
            "INSERT OR IGNORE INTO run_model_outputs (run_uuid, model_id, step) VALUES (?, ?, ?)",
        )
        .bind(run_id)
        .bind(&model.model_id)
        .bind(model.step)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    }
    tx.commit().await.map_err(db_err)
}

fn history_point(row: &sqlx::sqlite::SqliteRow, key: &str) -> Metric {
    let mut metric = Metric::new(
        key,
        decode_value(row.get("value"), row.get("is_nan")),
        row.get("timestamp"),
        row.get("step"),
    );
    metric.run_id = Some(row.get("run_uuid"));
    metric
}

pub(crate) async fn metric_history(
    pool: &SqlitePool,
    run_id: &str,
    key: &str,
    max_results: usize,
    token: PageToken,
) -> StoreResult<Page<Metric>> {
    fetch_run_info(pool, run_id).await?;
    let rows = sqlx::query(
        "SELECT run_uuid, timestamp, step, value, is_nan FROM metrics WHERE run_uuid = ? AND key = ? \
         ORDER BY timestamp, step, value LIMIT ? OFFSET ?",
    )
    .bind(run_id)
    .bind(key)
    .bind((max_results + 1) as i64)
    .bind(token.offset as i64)
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    let points = rows.iter().map(|row| history_point(row, key)).collect();
    Ok(Page::from_overfetch(points, token.offset, max_results))
}

/// MLflow's bulk-interval sampling: per run, up to `max_results` steps spread evenly over the
/// steps in range (always keeping the first and last), and every point at those steps.
pub(crate) async fn metric_history_interval(
    pool: &SqlitePool,
    query: &MetricIntervalQuery,
) -> StoreResult<Vec<Metric>> {
    let mut points = Vec::new();
    for run_id in &query.run_ids {
        fetch_run_info(pool, run_id).await?;
        let steps: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT step FROM metrics WHERE run_uuid = ? AND key = ? AND step >= ? AND step <= ? ORDER BY step",
        )
        .bind(run_id)
        .bind(&query.metric_key)
        .bind(query.start_step.unwrap_or(i64::MIN))
        .bind(query.end_step.unwrap_or(i64::MAX))
        .fetch_all(pool)
        .await
        .map_err(db_err)?;
        let sampled = sample_steps(&steps, query.max_results);
        let sampled = serde_json::to_string(&sampled).map_err(StoreError::internal)?;
        let rows = sqlx::query(
            "SELECT run_uuid, timestamp, step, value, is_nan FROM metrics WHERE run_uuid = ? AND key = ? \
             AND step IN (SELECT value FROM json_each(?)) ORDER BY step, timestamp, value",
        )
        .bind(run_id)
        .bind(&query.metric_key)
        .bind(sampled)
        .fetch_all(pool)
        .await
        .map_err(db_err)?;
        points.extend(rows.iter().map(|row| history_point(row, &query.metric_key)));
    }
    Ok(points)
}

fn sample_steps(steps: &[i64], max_results: usize) -> Vec<i64> {
    match (steps.len(), max_results) {
        (len, max) if len <= max => return steps.to_vec(),
        (_, 0) => return Vec::new(),
        (len, 1) => return vec![steps[len - 1]],
        _ => {}
    }
    let last = steps.len() - 1;
    let mut picked: Vec<i64> = (0..max_results)
        .map(|i| steps[i * last / (max_results - 1)])
        .collect();
    picked.dedup();
    picked
}

#[cfg(test)]
mod tests {
    use super::sample_steps;

    #[test]
    fn sampling_keeps_ends_and_spreads_evenly() {
        let steps: Vec<i64> = (0..100).collect();
        let picked = sample_steps(&steps, 5);
        assert_eq!(picked.first(), Some(&0));
        assert_eq!(picked.last(), Some(&99));
        assert_eq!(picked.len(), 5);
        assert_eq!(sample_steps(&[1, 2, 3], 10), vec![1, 2, 3]);
    }
}
