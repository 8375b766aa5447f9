//! Logged models (MLflow 3): created before their artifacts are uploaded, finalized after.

use std::collections::HashMap;

use judgeflow_domain::search::{CompareOp, EntityType, Literal};
use judgeflow_domain::{
    LoggedModel, LoggedModelStatus, Metric, Param, Tag, ids, now_ms, validation,
};
use judgeflow_store::{LoggedModelQuery, NewLoggedModel, Page, StoreError, StoreResult};
use rusqlite::{Connection, Row, params};

use crate::db::{RowExt, Sql, db_err, execute, query_opt, query_rows};
use crate::rows::{decode_value, experiment_key, json_ids};
use crate::search::{Probe, Values, push_child_clause, push_compare};

const COLUMNS: &str = "m.model_id, m.experiment_id, m.name, m.artifact_location, m.creation_timestamp_ms, \
    m.last_updated_timestamp_ms, m.status, m.status_message, m.model_type, m.source_run_id";

fn not_found(model_id: &str) -> StoreError {
    StoreError::NotFound(format!("Logged model with ID '{model_id}' not found"))
}

fn decode(row: &Row<'_>) -> StoreResult<LoggedModel> {
    let experiment_id: i64 = row.col(1)?;
    let status: String = row.col(6)?;
    Ok(LoggedModel {
        model_id: row.col(0)?,
        experiment_id: experiment_id.to_string(),
        name: row.col(2)?,
        artifact_uri: row.col(3)?,
        creation_timestamp_ms: row.col(4)?,
        last_updated_timestamp_ms: row.col(5)?,
        status: LoggedModelStatus::parse(&status).unwrap_or(LoggedModelStatus::Unspecified),
        status_message: row.col(7)?,
        model_type: row.col(8)?,
        source_run_id: row.col(9)?,
        tags: Vec::new(),
        params: Vec::new(),
        metrics: Vec::new(),
    })
}

fn with_children(conn: &Connection, mut models: Vec<LoggedModel>) -> StoreResult<Vec<LoggedModel>> {
    if models.is_empty() {
        return Ok(models);
    }
    let ids = json_ids(models.iter().map(|m| m.model_id.as_str()))?;
    let position: HashMap<String, usize> = models
        .iter()
        .enumerate()
        .map(|(i, m)| (m.model_id.clone(), i))
        .collect();
    for (table, is_tag) in [("logged_model_tags", true), ("logged_model_params", false)] {
        let rows = query_rows(
            conn,
            &format!(
                "SELECT model_id, key, value FROM {table} WHERE model_id IN (SELECT value FROM json_each(?)) ORDER BY key"
            ),
            [&ids],
            |row| {
                Ok((
                    row.col::<String>(0)?,
                    Tag::new(row.col::<String>(1)?, row.col::<String>(2)?),
                ))
            },
        )?;
        for (model, entry) in rows {
            if let Some(&i) = position.get(&model) {
                if is_tag {
                    models[i].tags.push(entry);
                } else {
                    models[i].params.push(entry);
                }
            }
        }
    }
    let rows = query_rows(
        conn,
        "SELECT model_id, key, timestamp, step, value, is_nan, run_uuid, dataset_name, dataset_digest \
         FROM logged_model_metrics WHERE model_id IN (SELECT value FROM json_each(?)) ORDER BY key, step, timestamp",
        [&ids],
        |row| {
            let model: String = row.col(0)?;
            let mut metric = Metric::new(
                row.col::<String>(1)?,
                decode_value(row.col(4)?, row.col(5)?),
                row.col(2)?,
                row.col(3)?,
            );
            metric.model_id = Some(model.clone());
            metric.run_id = row.col(6)?;
            metric.dataset_name = row.col(7)?;
            metric.dataset_digest = row.col(8)?;
            Ok((model, metric))
        },
    )?;
    for (model, metric) in rows {
        if let Some(&i) = position.get(&model) {
            models[i].metrics.push(metric);
        }
    }
    Ok(models)
}

pub(crate) fn create(conn: &mut Connection, new: NewLoggedModel) -> StoreResult<LoggedModel> {
    for tag in &new.tags {
        validation::validate_run_tag(tag)?;
    }
    for param in &new.params {
        validation::validate_param(param)?;
    }
    let missing = || {
        StoreError::NotFound(format!(
            "No Experiment with id={} exists",
            new.experiment_id
        ))
    };
    let experiment_id = experiment_key(&new.experiment_id).ok_or_else(missing)?;
    let tx = conn.savepoint().map_err(db_err)?;
    let location = query_opt(
        &tx,
        "SELECT artifact_location FROM experiments WHERE experiment_id = ?",
        [experiment_id],
        |row| row.col::<String>(0),
    )?
    .ok_or_else(missing)?;
    let model_id = ids::new_logged_model_id();
    let name = new
        .name
        .filter(|n| !n.is_empty())
        .unwrap_or_else(ids::random_run_name);
    let artifact_location = format!(
        "{}/models/{model_id}/artifacts",
        location.trim_end_matches('/')
    );
    let now = now_ms();
    execute(
        &tx,
        "INSERT INTO logged_models (model_id, experiment_id, name, artifact_location, creation_timestamp_ms, \
         last_updated_timestamp_ms, status, model_type, source_run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            model_id,
            experiment_id,
            name,
            artifact_location,
            now,
            now,
            LoggedModelStatus::Pending.as_str(),
            new.model_type,
            new.source_run_id
        ],
    )?;
    upsert_entries(&tx, "logged_model_tags", &model_id, &new.tags)?;
    upsert_entries(&tx, "logged_model_params", &model_id, &new.params)?;
    let model = get(&tx, &model_id)?;
    tx.commit().map_err(db_err)?;
    Ok(model)
}

fn upsert_entries(
    conn: &Connection,
    table: &str,
    model_id: &str,
    entries: &[Tag],
) -> StoreResult<()> {
    let mut statement = conn
        .prepare_cached(&format!(
            "INSERT INTO {table} (model_id, key, value) VALUES (?, ?, ?) \
             ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value"
        ))
        .map_err(db_err)?;
    for entry in entries {
        statement
            .execute(params![model_id, entry.key, entry.value])
            .map_err(db_err)?;
    }
    Ok(())
}

pub(crate) fn get(conn: &Connection, model_id: &str) -> StoreResult<LoggedModel> {
    let model = query_opt(
        conn,
        &format!("SELECT {COLUMNS} FROM logged_models m WHERE m.model_id = ? AND m.lifecycle_stage = 'active'"),
        [model_id],
        decode,
    )?
    .ok_or_else(|| not_found(model_id))?;
    Ok(with_children(conn, vec![model])?.remove(0))
}

fn touch(conn: &Connection, model_id: &str) -> StoreResult<()> {
    let updated = execute(
        conn,
        "UPDATE logged_models SET last_updated_timestamp_ms = ? WHERE model_id = ? AND lifecycle_stage = 'active'",
        params![now_ms(), model_id],
    )?;
    if updated == 0 {
        return Err(not_found(model_id));
    }
    Ok(())
}

pub(crate) fn set_status(
    conn: &mut Connection,
    model_id: &str,
    status: LoggedModelStatus,
    status_message: Option<&str>,
) -> StoreResult<LoggedModel> {
    let tx = conn.savepoint().map_err(db_err)?;
    touch(&tx, model_id)?;
    execute(
        &tx,
        "UPDATE logged_models SET status = ?, status_message = ? WHERE model_id = ?",
        params![status.as_str(), status_message, model_id],
    )?;
    let model = get(&tx, model_id)?;
    tx.commit().map_err(db_err)?;
    Ok(model)
}

pub(crate) fn set_tags(conn: &mut Connection, model_id: &str, tags: &[Tag]) -> StoreResult<()> {
    for tag in tags {
        validation::validate_run_tag(tag)?;
    }
    let tx = conn.savepoint().map_err(db_err)?;
    touch(&tx, model_id)?;
    upsert_entries(&tx, "logged_model_tags", model_id, tags)?;
    tx.commit().map_err(db_err)
}

pub(crate) fn delete_tag(conn: &mut Connection, model_id: &str, key: &str) -> StoreResult<()> {
    let tx = conn.savepoint().map_err(db_err)?;
    touch(&tx, model_id)?;
    if execute(
        &tx,
        "DELETE FROM logged_model_tags WHERE model_id = ? AND key = ?",
        params![model_id, key],
    )? == 0
    {
        return Err(StoreError::NotFound(format!(
            "No tag with key '{key}' found for logged model '{model_id}'"
        )));
    }
    tx.commit().map_err(db_err)
}

pub(crate) fn log_params(
    conn: &mut Connection,
    model_id: &str,
    params: &[Param],
) -> StoreResult<()> {
    for param in params {
        validation::validate_param(param)?;
    }
    let tx = conn.savepoint().map_err(db_err)?;
    touch(&tx, model_id)?;
    upsert_entries(&tx, "logged_model_params", model_id, params)?;
    tx.commit().map_err(db_err)
}

pub(crate) fn delete(conn: &mut Connection, model_id: &str) -> StoreResult<()> {
    let tx = conn.savepoint().map_err(db_err)?;
    touch(&tx, model_id)?;
    execute(
        &tx,
        "UPDATE logged_models SET lifecycle_stage = 'deleted' WHERE model_id = ?",
        [model_id],
    )?;
    tx.commit().map_err(db_err)
}

fn attribute_column(key: &str) -> StoreResult<&'static str> {
    Ok(match key {
        "name" => "m.name",
        "model_id" => "m.model_id",
        "model_type" => "m.model_type",
        "status" => "m.status",
        "source_run_id" => "m.source_run_id",
        "creation_timestamp" | "creation_time" => "m.creation_timestamp_ms",
        "last_updated_timestamp" | "last_updated_time" => "m.last_updated_timestamp_ms",
        other => {
            return Err(StoreError::InvalidParameter(format!(
                "Invalid order_by field '{other}' for logged models"
            )));
        }
    })
}

pub(crate) fn search(
    conn: &Connection,
    query: &LoggedModelQuery,
) -> StoreResult<Page<LoggedModel>> {
    let experiment_ids: Vec<i64> = query
        .experiment_ids
        .iter()
        .filter_map(|id| experiment_key(id))
        .collect();
    if experiment_ids.is_empty() {
        return Ok(Page {
            items: Vec::new(),
            next_page_token: None,
        });
    }
    let mut builder = Sql::new(format!(
        "SELECT {COLUMNS} FROM logged_models m WHERE m.lifecycle_stage = 'active' AND m.experiment_id IN ("
    ));
    builder.push_bind_list(experiment_ids);
    builder.push(")");
    for comparison in &query.filter {
        match comparison.entity {
            EntityType::Tag => push_child_clause(
                &mut builder,
                "m.model_id",
                "logged_model_tags",
                "model_id",
                comparison,
                Values::Plain,
                Probe::List,
            ),
            EntityType::Param => push_child_clause(
                &mut builder,
                "m.model_id",
                "logged_model_params",
                "model_id",
                comparison,
                Values::Plain,
                Probe::List,
            ),
            EntityType::Metric => push_child_clause(
                &mut builder,
                "m.model_id",
                "logged_model_metrics",
                "model_id",
                comparison,
                Values::Metrics,
                Probe::List,
            ),
            _ => {
                builder.push(" AND ");
                let value = match (&comparison.key[..], &comparison.value) {
                    // Status is stored by enum name; accept the short names users type too.
                    ("status", Literal::String(s))
                        if comparison.op == CompareOp::Eq || comparison.op == CompareOp::Ne =>
                    {
                        Literal::String(
                            LoggedModelStatus::parse(s)
                                .map_or_else(|| s.clone(), |st| st.as_str().to_owned()),
                        )
                    }
                    (_, value) => value.clone(),
                };
                push_compare(
                    &mut builder,
                    attribute_column(&comparison.key)?,
                    comparison.op,
                    &value,
                );
            }
        }
    }
    builder.push(" ORDER BY ");
    for order in &query.order_by {
        let direction = if order.ascending { "ASC" } else { "DESC" };
        if let Some(metric) = order.field_name.strip_prefix("metrics.") {
            builder.push("(SELECT MAX(value) FROM logged_model_metrics c WHERE c.model_id = m.model_id AND c.key = ");
            builder.push_bind(metric.to_owned());
            builder.push(format!(") {direction}, "));
        } else {
            builder.push(format!(
                "{} {direction}, ",
                attribute_column(&order.field_name)?
            ));
        }
    }
    builder.push("m.creation_timestamp_ms DESC, m.model_id ASC LIMIT ");
    builder.push_bind((query.max_results + 1) as i64);
    builder.push(" OFFSET ");
    builder.push_bind(query.page_token.offset as i64);
    let models = builder.rows(conn, decode)?;
    let page = Page::from_overfetch(models, query.page_token.offset, query.max_results);
    Ok(Page {
        items: with_children(conn, page.items)?,
        next_page_token: page.next_page_token,
    })
}
