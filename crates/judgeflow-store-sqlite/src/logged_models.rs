//! Logged models (MLflow 3): created before their artifacts are uploaded, finalized after.

use std::collections::HashMap;

use judgeflow_domain::search::{CompareOp, EntityType, Literal};
use judgeflow_domain::{
    LoggedModel, LoggedModelStatus, Metric, Param, Tag, ids, now_ms, validation,
};
use judgeflow_store::{LoggedModelQuery, NewLoggedModel, Page, StoreError, StoreResult};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteExecutor, SqlitePool};

use crate::rows::{decode_value, experiment_key};
use crate::search::{Values, push_child_clause, push_compare};
use crate::{SqliteStore, db_err};

const COLUMNS: &str = "m.model_id, m.experiment_id, m.name, m.artifact_location, m.creation_timestamp_ms, \
    m.last_updated_timestamp_ms, m.status, m.status_message, m.model_type, m.source_run_id";

fn not_found(model_id: &str) -> StoreError {
    StoreError::NotFound(format!("Logged model with ID '{model_id}' not found"))
}

fn decode(row: &SqliteRow) -> StoreResult<LoggedModel> {
    let experiment_id: i64 = row.try_get("experiment_id").map_err(db_err)?;
    let status: String = row.try_get("status").map_err(db_err)?;
    Ok(LoggedModel {
        model_id: row.try_get("model_id").map_err(db_err)?,
        experiment_id: experiment_id.to_string(),
        name: row.try_get("name").map_err(db_err)?,
        artifact_uri: row.try_get("artifact_location").map_err(db_err)?,
        creation_timestamp_ms: row.try_get("creation_timestamp_ms").map_err(db_err)?,
        last_updated_timestamp_ms: row.try_get("last_updated_timestamp_ms").map_err(db_err)?,
        status: LoggedModelStatus::parse(&status).unwrap_or(LoggedModelStatus::Unspecified),
        status_message: row.try_get("status_message").map_err(db_err)?,
        model_type: row.try_get("model_type").map_err(db_err)?,
        source_run_id: row.try_get("source_run_id").map_err(db_err)?,
        tags: Vec::new(),
        params: Vec::new(),
        metrics: Vec::new(),
    })
}

async fn with_children(
    pool: &SqlitePool,
    mut models: Vec<LoggedModel>,
) -> StoreResult<Vec<LoggedModel>> {
    if models.is_empty() {
        return Ok(models);
    }
    let ids = serde_json::to_string(
        &models
            .iter()
            .map(|m| m.model_id.as_str())
            .collect::<Vec<_>>(),
    )
    .map_err(StoreError::internal)?;
    let position: HashMap<String, usize> = models
        .iter()
        .enumerate()
        .map(|(i, m)| (m.model_id.clone(), i))
        .collect();
    for (table, is_tag) in [("logged_model_tags", true), ("logged_model_params", false)] {
        let rows = sqlx::query(&format!(
            "SELECT model_id, key, value FROM {table} WHERE model_id IN (SELECT value FROM json_each(?)) ORDER BY key"
        ))
        .bind(&ids)
        .fetch_all(pool)
        .await
        .map_err(db_err)?;
        for row in rows {
            let model: String = row.get(0);
            let entry = Tag::new(row.get::<String, _>(1), row.get::<String, _>(2));
            if let Some(&i) = position.get(&model) {
                if is_tag {
                    models[i].tags.push(entry);
                } else {
                    models[i].params.push(entry);
                }
            }
        }
    }
    let rows = sqlx::query(
        "SELECT model_id, key, timestamp, step, value, is_nan, run_uuid, dataset_name, dataset_digest \
         FROM logged_model_metrics WHERE model_id IN (SELECT value FROM json_each(?)) ORDER BY key, step, timestamp",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    for row in rows {
        let model: String = row.get(0);
        let mut metric = Metric::new(
            row.get::<String, _>(1),
            decode_value(row.get(4), row.get(5)),
            row.get(2),
            row.get(3),
        );
        metric.model_id = Some(model.clone());
        metric.run_id = row.get(6);
        metric.dataset_name = row.get(7);
        metric.dataset_digest = row.get(8);
        if let Some(&i) = position.get(&model) {
            models[i].metrics.push(metric);
        }
    }
    Ok(models)
}

pub(crate) async fn create(store: &SqliteStore, new: NewLoggedModel) -> StoreResult<LoggedModel> {
    for tag in &new.tags {
        validation::validate_run_tag(tag)?;
    }
    for param in &new.params {
        validation::validate_param(param)?;
    }
    let experiment_id = experiment_key(&new.experiment_id).ok_or_else(|| {
        StoreError::NotFound(format!(
            "No Experiment with id={} exists",
            new.experiment_id
        ))
    })?;
    let mut tx = store.writer.begin().await.map_err(db_err)?;
    let location: String =
        sqlx::query_scalar("SELECT artifact_location FROM experiments WHERE experiment_id = ?")
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
    sqlx::query(
        "INSERT INTO logged_models (model_id, experiment_id, name, artifact_location, creation_timestamp_ms, \
         last_updated_timestamp_ms, status, model_type, source_run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&model_id)
    .bind(experiment_id)
    .bind(&name)
    .bind(&artifact_location)
    .bind(now)
    .bind(now)
    .bind(LoggedModelStatus::Pending.as_str())
    .bind(&new.model_type)
    .bind(&new.source_run_id)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    upsert_entries(&mut *tx, "logged_model_tags", &model_id, &new.tags).await?;
    upsert_entries(&mut *tx, "logged_model_params", &model_id, &new.params).await?;
    tx.commit().await.map_err(db_err)?;
    get(&store.writer, &model_id).await
}

async fn upsert_entries<'e>(
    executor: impl SqliteExecutor<'e>,
    table: &str,
    model_id: &str,
    entries: &[Tag],
) -> StoreResult<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut builder =
        QueryBuilder::<Sqlite>::new(format!("INSERT INTO {table} (model_id, key, value) "));
    builder.push_values(entries, |mut row, entry| {
        row.push_bind(model_id)
            .push_bind(&entry.key)
            .push_bind(&entry.value);
    });
    builder.push(" ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value");
    builder.build().execute(executor).await.map_err(db_err)?;
    Ok(())
}

pub(crate) async fn get(pool: &SqlitePool, model_id: &str) -> StoreResult<LoggedModel> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM logged_models m WHERE m.model_id = ? AND m.lifecycle_stage = 'active'"))
        .bind(model_id)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?
        .ok_or_else(|| not_found(model_id))?;
    Ok(with_children(pool, vec![decode(&row)?]).await?.remove(0))
}

async fn touch(pool: &SqlitePool, model_id: &str) -> StoreResult<()> {
    let updated = sqlx::query("UPDATE logged_models SET last_updated_timestamp_ms = ? WHERE model_id = ? AND lifecycle_stage = 'active'")
        .bind(now_ms())
        .bind(model_id)
        .execute(pool)
        .await
        .map_err(db_err)?;
    if updated.rows_affected() == 0 {
        return Err(not_found(model_id));
    }
    Ok(())
}

pub(crate) async fn set_status(
    pool: &SqlitePool,
    model_id: &str,
    status: LoggedModelStatus,
    status_message: Option<String>,
) -> StoreResult<()> {
    touch(pool, model_id).await?;
    sqlx::query("UPDATE logged_models SET status = ?, status_message = ? WHERE model_id = ?")
        .bind(status.as_str())
        .bind(status_message)
        .bind(model_id)
        .execute(pool)
        .await
        .map_err(db_err)?;
    Ok(())
}

pub(crate) async fn set_tags(pool: &SqlitePool, model_id: &str, tags: Vec<Tag>) -> StoreResult<()> {
    for tag in &tags {
        validation::validate_run_tag(tag)?;
    }
    touch(pool, model_id).await?;
    upsert_entries(pool, "logged_model_tags", model_id, &tags).await
}

pub(crate) async fn delete_tag(pool: &SqlitePool, model_id: &str, key: &str) -> StoreResult<()> {
    touch(pool, model_id).await?;
    let deleted = sqlx::query("DELETE FROM logged_model_tags WHERE model_id = ? AND key = ?")
        .bind(model_id)
        .bind(key)
        .execute(pool)
        .await
        .map_err(db_err)?;
    if deleted.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!(
            "No tag with key '{key}' found for logged model '{model_id}'"
        )));
    }
    Ok(())
}

pub(crate) async fn log_params(
    pool: &SqlitePool,
    model_id: &str,
    params: Vec<Param>,
) -> StoreResult<()> {
    for param in &params {
        validation::validate_param(param)?;
    }
    touch(pool, model_id).await?;
    upsert_entries(pool, "logged_model_params", model_id, &params).await
}

pub(crate) async fn delete(pool: &SqlitePool, model_id: &str) -> StoreResult<()> {
    touch(pool, model_id).await?;
    sqlx::query("UPDATE logged_models SET lifecycle_stage = 'deleted' WHERE model_id = ?")
        .bind(model_id)
        .execute(pool)
        .await
        .map_err(db_err)?;
    Ok(())
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

pub(crate) async fn search(
    pool: &SqlitePool,
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
    let mut builder = QueryBuilder::<Sqlite>::new(format!(
        "SELECT {COLUMNS} FROM logged_models m WHERE m.lifecycle_stage = 'active' AND m.experiment_id IN ("
    ));
    {
        let mut separated = builder.separated(", ");
        for id in &experiment_ids {
            separated.push_bind(*id);
        }
    }
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
            ),
            EntityType::Param => push_child_clause(
                &mut builder,
                "m.model_id",
                "logged_model_params",
                "model_id",
                comparison,
                Values::Plain,
            ),
            EntityType::Metric => push_child_clause(
                &mut builder,
                "m.model_id",
                "logged_model_metrics",
                "model_id",
                comparison,
                Values::Metrics,
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
    let rows = builder.build().fetch_all(pool).await.map_err(db_err)?;
    let models = rows.iter().map(decode).collect::<StoreResult<Vec<_>>>()?;
    let page = Page::from_overfetch(models, query.page_token.offset, query.max_results);
    Ok(Page {
        items: with_children(pool, page.items).await?,
        next_page_token: page.next_page_token,
    })
}
