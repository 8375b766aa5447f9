//! Row decoding shared by the query modules, and batch loading of a page of runs' children
//! (params, tags, latest metrics, inputs, outputs) with one query per child table.

use std::collections::HashMap;

use judgeflow_domain::{
    Dataset, DatasetInput, LifecycleStage, Metric, ModelInput, ModelOutput, Run, RunData, RunInfo,
    RunInputs, RunOutputs, RunStatus, Tag,
};
use judgeflow_store::{StoreError, StoreResult};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteExecutor, SqlitePool};

use crate::db_err;

/// SQLite has no NaN: it is stored as 0 with a flag.
pub(crate) fn encode_value(value: f64) -> (f64, bool) {
    if value.is_nan() {
        (0.0, true)
    } else {
        (value, false)
    }
}

pub(crate) fn decode_value(value: f64, is_nan: bool) -> f64 {
    if is_nan { f64::NAN } else { value }
}

pub(crate) fn stage(row: &SqliteRow, column: &str) -> StoreResult<LifecycleStage> {
    let text: String = row.try_get(column).map_err(db_err)?;
    LifecycleStage::parse(&text)
        .ok_or_else(|| StoreError::internal(format!("bad lifecycle stage '{text}'")))
}

pub(crate) const RUN_COLUMNS: &str = "r.run_uuid, r.experiment_id, r.name, r.user_id, r.status, r.start_time, r.end_time, r.artifact_uri, r.lifecycle_stage";

pub(crate) fn run_info(row: &SqliteRow) -> StoreResult<RunInfo> {
    let status: String = row.try_get("status").map_err(db_err)?;
    let experiment_id: i64 = row.try_get("experiment_id").map_err(db_err)?;
    Ok(RunInfo {
        run_id: row.try_get("run_uuid").map_err(db_err)?,
        experiment_id: experiment_id.to_string(),
        run_name: row.try_get("name").map_err(db_err)?,
        user_id: row.try_get("user_id").map_err(db_err)?,
        status: RunStatus::parse(&status)
            .ok_or_else(|| StoreError::internal(format!("bad run status '{status}'")))?,
        start_time: row.try_get("start_time").map_err(db_err)?,
        end_time: row.try_get("end_time").map_err(db_err)?,
        artifact_uri: row.try_get("artifact_uri").map_err(db_err)?,
        lifecycle_stage: stage(row, "lifecycle_stage")?,
    })
}

/// Parses a client-supplied numeric id; anything else cannot exist.
pub(crate) fn experiment_key(experiment_id: &str) -> Option<i64> {
    experiment_id.parse::<i64>().ok()
}

pub(crate) async fn fetch_run_info<'e>(
    executor: impl SqliteExecutor<'e>,
    run_id: &str,
) -> StoreResult<RunInfo> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM runs r WHERE r.run_uuid = ?");
    let row = sqlx::query(&sql)
        .bind(run_id)
        .fetch_optional(executor)
        .await
        .map_err(db_err)?;
    match row {
        Some(row) => run_info(&row),
        None => Err(StoreError::NotFound(format!(
            "Run with id={run_id} not found"
        ))),
    }
}

/// Fails unless the run exists and is active (MLflow refuses writes to deleted runs).
pub(crate) async fn active_run_info<'e>(
    executor: impl SqliteExecutor<'e>,
    run_id: &str,
) -> StoreResult<RunInfo> {
    let info = fetch_run_info(executor, run_id).await?;
    if info.lifecycle_stage != LifecycleStage::Active {
        return Err(StoreError::InvalidParameter(format!(
            "The run {run_id} must be in the 'active' state. Current state is deleted."
        )));
    }
    Ok(info)
}

/// Loads the children of `infos` and assembles full runs, preserving order.
pub(crate) async fn load_runs(pool: &SqlitePool, infos: Vec<RunInfo>) -> StoreResult<Vec<Run>> {
    if infos.is_empty() {
        return Ok(Vec::new());
    }
    // One JSON array bound once: `IN (SELECT value FROM json_each(?))` avoids building a bind
    // list per page size.
    let ids = serde_json::to_string(&infos.iter().map(|i| i.run_id.as_str()).collect::<Vec<_>>())
        .map_err(StoreError::internal)?;
    let mut data: HashMap<String, (RunData, RunInputs, RunOutputs)> = HashMap::new();

    let params = sqlx::query("SELECT run_uuid, key, value FROM params WHERE run_uuid IN (SELECT value FROM json_each(?)) ORDER BY key")
        .bind(&ids)
        .fetch_all(pool)
        .await
        .map_err(db_err)?;
    for row in params {
        let run: String = row.get(0);
        data.entry(run)
            .or_default()
            .0
            .params
            .push(Tag::new(row.get::<String, _>(1), row.get::<String, _>(2)));
    }
    let tags = sqlx::query("SELECT run_uuid, key, value FROM tags WHERE run_uuid IN (SELECT value FROM json_each(?)) ORDER BY key")
        .bind(&ids)
        .fetch_all(pool)
        .await
        .map_err(db_err)?;
    for row in tags {
        let run: String = row.get(0);
        data.entry(run)
            .or_default()
            .0
            .tags
            .push(Tag::new(row.get::<String, _>(1), row.get::<String, _>(2)));
    }
    let metrics = sqlx::query(
        "SELECT run_uuid, key, value, timestamp, step, is_nan FROM latest_metrics \
         WHERE run_uuid IN (SELECT value FROM json_each(?)) ORDER BY key",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    for row in metrics {
        let run: String = row.get(0);
        let value = decode_value(row.get(2), row.get(5));
        data.entry(run).or_default().0.metrics.push(Metric::new(
            row.get::<String, _>(1),
            value,
            row.get(3),
            row.get(4),
        ));
    }
    let inputs = sqlx::query(
        "SELECT i.run_uuid, i.tags, d.name, d.digest, d.source_type, d.source, d.schema, d.profile \
         FROM run_dataset_inputs i JOIN datasets d ON d.dataset_id = i.dataset_id \
         WHERE i.run_uuid IN (SELECT value FROM json_each(?)) ORDER BY i.dataset_id",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    for row in inputs {
        let run: String = row.get(0);
        let tags_json: String = row.get(1);
        let tags: Vec<Tag> = serde_json::from_str(&tags_json).map_err(StoreError::internal)?;
        data.entry(run)
            .or_default()
            .1
            .dataset_inputs
            .push(DatasetInput {
                tags,
                dataset: Dataset {
                    name: row.get(2),
                    digest: row.get(3),
                    source_type: row.get(4),
                    source: row.get(5),
                    schema: row.get(6),
                    profile: row.get(7),
                },
            });
    }
    let model_inputs = sqlx::query("SELECT run_uuid, model_id FROM run_model_inputs WHERE run_uuid IN (SELECT value FROM json_each(?))")
        .bind(&ids)
        .fetch_all(pool)
        .await
        .map_err(db_err)?;
    for row in model_inputs {
        let run: String = row.get(0);
        data.entry(run)
            .or_default()
            .1
            .model_inputs
            .push(ModelInput {
                model_id: row.get(1),
            });
    }
    let outputs = sqlx::query(
        "SELECT run_uuid, model_id, step FROM run_model_outputs WHERE run_uuid IN (SELECT value FROM json_each(?)) ORDER BY step, model_id",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    for row in outputs {
        let run: String = row.get(0);
        data.entry(run)
            .or_default()
            .2
            .model_outputs
            .push(ModelOutput {
                model_id: row.get(1),
                step: row.get(2),
            });
    }

    Ok(infos
        .into_iter()
        .map(|info| {
            let (data, inputs, outputs) = data.remove(&info.run_id).unwrap_or_default();
            Run {
                info,
                data,
                inputs,
                outputs,
            }
        })
        .collect())
}
