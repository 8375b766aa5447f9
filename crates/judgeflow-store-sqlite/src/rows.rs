//! Row decoding shared by the query modules, and batch loading of a page of runs' children
//! (params, tags, latest metrics, inputs, outputs) with one query per child table.

use std::collections::HashMap;

use judgeflow_domain::{
    Dataset, DatasetInput, LifecycleStage, Metric, ModelInput, ModelOutput, Run, RunData, RunInfo,
    RunInputs, RunOutputs, RunStatus, Tag,
};
use judgeflow_store::{StoreError, StoreResult};
use rusqlite::{Connection, Row, RowIndex};

use crate::db::{RowExt, query_opt, query_rows};

/// SQLite has no NaN (binding one stores NULL): it is stored as 0 with a flag.
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

pub(crate) fn stage(row: &Row<'_>, column: impl RowIndex) -> StoreResult<LifecycleStage> {
    let text: String = row.col(column)?;
    LifecycleStage::parse(&text)
        .ok_or_else(|| StoreError::internal(format!("bad lifecycle stage '{text}'")))
}

pub(crate) const RUN_COLUMNS: &str = "r.run_uuid, r.experiment_id, r.name, r.user_id, r.status, r.start_time, r.end_time, r.artifact_uri, r.lifecycle_stage";

/// Decodes the [`RUN_COLUMNS`] of a row.
pub(crate) fn run_info(row: &Row<'_>) -> StoreResult<RunInfo> {
    let status: String = row.col(4)?;
    let experiment_id: i64 = row.col(1)?;
    Ok(RunInfo {
        run_id: row.col(0)?,
        experiment_id: experiment_id.to_string(),
        run_name: row.col(2)?,
        user_id: row.col(3)?,
        status: RunStatus::parse(&status)
            .ok_or_else(|| StoreError::internal(format!("bad run status '{status}'")))?,
        start_time: row.col(5)?,
        end_time: row.col(6)?,
        artifact_uri: row.col(7)?,
        lifecycle_stage: stage(row, 8)?,
    })
}

/// Parses a client-supplied numeric id; anything else cannot exist.
pub(crate) fn experiment_key(experiment_id: &str) -> Option<i64> {
    experiment_id.parse::<i64>().ok()
}

pub(crate) fn fetch_run_info(conn: &Connection, run_id: &str) -> StoreResult<RunInfo> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM runs r WHERE r.run_uuid = ?");
    query_opt(conn, &sql, [run_id], run_info)?
        .ok_or_else(|| StoreError::NotFound(format!("Run with id={run_id} not found")))
}

/// Fails unless the run exists and is active (MLflow refuses writes to deleted runs).
pub(crate) fn active_run_info(conn: &Connection, run_id: &str) -> StoreResult<RunInfo> {
    let info = fetch_run_info(conn, run_id)?;
    require_active(run_id, info.lifecycle_stage)?;
    Ok(info)
}

fn require_active(run_id: &str, stage: LifecycleStage) -> StoreResult<()> {
    if stage == LifecycleStage::Active {
        Ok(())
    } else {
        Err(StoreError::InvalidParameter(format!(
            "The run {run_id} must be in the 'active' state. Current state is deleted."
        )))
    }
}

/// The run's integer key, which the metric history is keyed by, and its lifecycle stage.
fn run_key_and_stage(conn: &Connection, run_id: &str) -> StoreResult<(i64, LifecycleStage)> {
    query_opt(
        conn,
        "SELECT run_key, lifecycle_stage FROM runs WHERE run_uuid = ?",
        [run_id],
        |row| Ok((row.col(0)?, stage(row, 1)?)),
    )?
    .ok_or_else(|| StoreError::NotFound(format!("Run with id={run_id} not found")))
}

/// The run's integer key; fails as [`fetch_run_info`] does when the run does not exist.
pub(crate) fn run_key(conn: &Connection, run_id: &str) -> StoreResult<i64> {
    run_key_and_stage(conn, run_id).map(|(key, _)| key)
}

/// The run's integer key; fails as [`active_run_info`] does unless the run exists and is
/// active. The check every metric write makes, without decoding the whole run.
pub(crate) fn active_run_key(conn: &Connection, run_id: &str) -> StoreResult<i64> {
    let (key, stage) = run_key_and_stage(conn, run_id)?;
    require_active(run_id, stage)?;
    Ok(key)
}

/// The ids as one JSON array, bound once: `IN (SELECT value FROM json_each(?))` keeps one
/// prepared statement for every page size.
pub(crate) fn json_ids<'a>(ids: impl IntoIterator<Item = &'a str>) -> StoreResult<String> {
    serde_json::to_string(&ids.into_iter().collect::<Vec<_>>()).map_err(StoreError::internal)
}

/// Loads the children of `infos` and assembles full runs, preserving order.
pub(crate) fn load_runs(conn: &Connection, infos: Vec<RunInfo>) -> StoreResult<Vec<Run>> {
    if infos.is_empty() {
        return Ok(Vec::new());
    }
    let ids = json_ids(infos.iter().map(|i| i.run_id.as_str()))?;
    let mut data: HashMap<String, (RunData, RunInputs, RunOutputs)> =
        HashMap::with_capacity(infos.len());

    query_rows(
        conn,
        "SELECT run_uuid, key, value FROM params WHERE run_uuid IN (SELECT value FROM json_each(?)) ORDER BY key",
        [&ids],
        |row| {
            data.entry(row.col(0)?)
                .or_default()
                .0
                .params
                .push(Tag::new(row.col::<String>(1)?, row.col::<String>(2)?));
            Ok(())
        },
    )?;
    query_rows(
        conn,
        "SELECT run_uuid, key, value FROM tags WHERE run_uuid IN (SELECT value FROM json_each(?)) ORDER BY key",
        [&ids],
        |row| {
            data.entry(row.col(0)?)
                .or_default()
                .0
                .tags
                .push(Tag::new(row.col::<String>(1)?, row.col::<String>(2)?));
            Ok(())
        },
    )?;
    query_rows(
        conn,
        "SELECT run_uuid, key, value, timestamp, step, is_nan FROM latest_metrics \
         WHERE run_uuid IN (SELECT value FROM json_each(?)) ORDER BY key",
        [&ids],
        |row| {
            let value = decode_value(row.col(2)?, row.col(5)?);
            let metric = Metric::new(row.col::<String>(1)?, value, row.col(3)?, row.col(4)?);
            data.entry(row.col(0)?).or_default().0.metrics.push(metric);
            Ok(())
        },
    )?;
    query_rows(
        conn,
        "SELECT i.run_uuid, i.tags, d.name, d.digest, d.source_type, d.source, d.schema, d.profile \
         FROM run_dataset_inputs i JOIN datasets d ON d.dataset_id = i.dataset_id \
         WHERE i.run_uuid IN (SELECT value FROM json_each(?)) ORDER BY i.dataset_id",
        [&ids],
        |row| {
            let tags_json: String = row.col(1)?;
            let tags: Vec<Tag> = serde_json::from_str(&tags_json).map_err(StoreError::internal)?;
            let input = DatasetInput {
                tags,
                dataset: Dataset {
                    name: row.col(2)?,
                    digest: row.col(3)?,
                    source_type: row.col(4)?,
                    source: row.col(5)?,
                    schema: row.col(6)?,
                    profile: row.col(7)?,
                },
            };
            data.entry(row.col(0)?)
                .or_default()
                .1
                .dataset_inputs
                .push(input);
            Ok(())
        },
    )?;
    query_rows(
        conn,
        "SELECT run_uuid, model_id FROM run_model_inputs WHERE run_uuid IN (SELECT value FROM json_each(?))",
        [&ids],
        |row| {
            data.entry(row.col(0)?)
                .or_default()
                .1
                .model_inputs
                .push(ModelInput {
                    model_id: row.col(1)?,
                });
            Ok(())
        },
    )?;
    query_rows(
        conn,
        "SELECT run_uuid, model_id, step FROM run_model_outputs \
         WHERE run_uuid IN (SELECT value FROM json_each(?)) ORDER BY step, model_id",
        [&ids],
        |row| {
            let output = ModelOutput {
                model_id: row.col(1)?,
                step: row.col(2)?,
            };
            data.entry(row.col(0)?)
                .or_default()
                .2
                .model_outputs
                .push(output);
            Ok(())
        },
    )?;

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
