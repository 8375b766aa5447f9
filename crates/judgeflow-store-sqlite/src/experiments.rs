//! Experiments: create, read, search, rename, soft delete and tags.

use judgeflow_domain::search::{EntityType, OrderBy};
use judgeflow_domain::{Experiment, Tag, now_ms, validation};
use judgeflow_store::{ExperimentQuery, NewExperiment, Page, StoreError, StoreResult};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteExecutor, SqlitePool};

use crate::rows::{experiment_key, stage};
use crate::search::{Values, push_child_clause, push_compare, push_stages};
use crate::{SqliteStore, db_err};

const COLUMNS: &str = "e.experiment_id, e.name, e.artifact_location, e.lifecycle_stage, e.creation_time, e.last_update_time";

fn not_found(experiment_id: &str) -> StoreError {
    StoreError::NotFound(format!("No Experiment with id={experiment_id} exists"))
}

fn decode(row: &SqliteRow) -> StoreResult<Experiment> {
    let id: i64 = row.try_get("experiment_id").map_err(db_err)?;
    Ok(Experiment {
        experiment_id: id.to_string(),
        name: row.try_get("name").map_err(db_err)?,
        artifact_location: row.try_get("artifact_location").map_err(db_err)?,
        lifecycle_stage: stage(row, "lifecycle_stage")?,
        creation_time: row.try_get("creation_time").map_err(db_err)?,
        last_update_time: row.try_get("last_update_time").map_err(db_err)?,
        tags: Vec::new(),
    })
}

async fn with_tags(
    pool: &SqlitePool,
    mut experiments: Vec<Experiment>,
) -> StoreResult<Vec<Experiment>> {
    if experiments.is_empty() {
        return Ok(experiments);
    }
    let ids: Vec<i64> = experiments
        .iter()
        .filter_map(|e| experiment_key(&e.experiment_id))
        .collect();
    let ids = serde_json::to_string(&ids).map_err(StoreError::internal)?;
    let rows = sqlx::query(
        "SELECT experiment_id, key, value FROM experiment_tags \
         WHERE experiment_id IN (SELECT value FROM json_each(?)) ORDER BY key",
    )
    .bind(ids)
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    for row in rows {
        let id: i64 = row.get(0);
        let id = id.to_string();
        if let Some(experiment) = experiments.iter_mut().find(|e| e.experiment_id == id) {
            experiment
                .tags
                .push(Tag::new(row.get::<String, _>(1), row.get::<String, _>(2)));
        }
    }
    Ok(experiments)
}

pub(crate) async fn create(store: &SqliteStore, new: NewExperiment) -> StoreResult<String> {
    validation::validate_experiment_name(&new.name)?;
    for tag in &new.tags {
        validation::validate_experiment_tag(tag)?;
    }
    let mut tx = store.writer.begin().await.map_err(db_err)?;
    let taken: Option<i64> =
        sqlx::query_scalar("SELECT experiment_id FROM experiments WHERE name = ?")
            .bind(&new.name)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
    if taken.is_some() {
        return Err(StoreError::AlreadyExists(format!(
            "Experiment(name={}) already exists.",
            new.name
        )));
    }
    let now = now_ms();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO experiments (name, artifact_location, lifecycle_stage, creation_time, last_update_time) \
         VALUES (?, '', 'active', ?, ?) RETURNING experiment_id",
    )
    .bind(&new.name)
    .bind(now)
    .bind(now)
    .fetch_one(&mut *tx)
    .await
    .map_err(db_err)?;
    let location = new
        .artifact_location
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| store.join_root(&id.to_string()));
    sqlx::query("UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?")
        .bind(location)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    for tag in new.tags {
        upsert_tag(&mut *tx, id, &tag).await?;
    }
    tx.commit().await.map_err(db_err)?;
    Ok(id.to_string())
}

async fn upsert_tag<'e>(executor: impl SqliteExecutor<'e>, id: i64, tag: &Tag) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?) \
         ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value",
    )
    .bind(id)
    .bind(&tag.key)
    .bind(&tag.value)
    .execute(executor)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub(crate) async fn get(pool: &SqlitePool, experiment_id: &str) -> StoreResult<Experiment> {
    let id = experiment_key(experiment_id).ok_or_else(|| not_found(experiment_id))?;
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM experiments e WHERE e.experiment_id = ?"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
    .map_err(db_err)?
    .ok_or_else(|| not_found(experiment_id))?;
    Ok(with_tags(pool, vec![decode(&row)?]).await?.remove(0))
}

pub(crate) async fn get_by_name(pool: &SqlitePool, name: &str) -> StoreResult<Experiment> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM experiments e WHERE e.name = ?"
    ))
    .bind(name)
    .fetch_optional(pool)
    .await
    .map_err(db_err)?
    .ok_or_else(|| StoreError::NotFound(format!("Could not find experiment with name '{name}'")))?;
    Ok(with_tags(pool, vec![decode(&row)?]).await?.remove(0))
}

fn attribute_column(key: &str) -> &'static str {
    match key {
        "name" => "e.name",
        "experiment_id" => "CAST(e.experiment_id AS TEXT)",
        "creation_time" => "e.creation_time",
        _ => "e.last_update_time",
    }
}

fn push_order(builder: &mut QueryBuilder<'_, Sqlite>, order: &OrderBy) {
    let direction = if order.ascending { "ASC" } else { "DESC" };
    if order.entity == EntityType::Tag {
        builder.push("(SELECT value FROM experiment_tags t WHERE t.experiment_id = e.experiment_id AND t.key = ");
        builder.push_bind(order.key.clone());
        builder.push(format!(") {direction}, "));
    } else {
        let column = if order.key == "experiment_id" {
            "e.experiment_id"
        } else {
            attribute_column(&order.key)
        };
        builder.push(format!("{column} {direction}, "));
    }
}

pub(crate) async fn search(
    pool: &SqlitePool,
    query: &ExperimentQuery,
) -> StoreResult<Page<Experiment>> {
    let mut builder =
        QueryBuilder::<Sqlite>::new(format!("SELECT {COLUMNS} FROM experiments e WHERE 1 = 1"));
    push_stages(&mut builder, "e.lifecycle_stage", query.view);
    for comparison in &query.filter {
        if comparison.entity == EntityType::Tag {
            push_child_clause(
                &mut builder,
                "e.experiment_id",
                "experiment_tags",
                "experiment_id",
                comparison,
                Values::Plain,
            );
        } else {
            builder.push(" AND ");
            push_compare(
                &mut builder,
                attribute_column(&comparison.key),
                comparison.op,
                &comparison.value,
            );
        }
    }
    builder.push(" ORDER BY ");
    for order in &query.order_by {
        push_order(&mut builder, order);
    }
    builder.push("e.creation_time DESC, e.experiment_id ASC LIMIT ");
    builder.push_bind((query.max_results + 1) as i64);
    builder.push(" OFFSET ");
    builder.push_bind(query.page_token.offset as i64);
    let rows = builder.build().fetch_all(pool).await.map_err(db_err)?;
    let experiments = rows.iter().map(decode).collect::<StoreResult<Vec<_>>>()?;
    let page = Page::from_overfetch(experiments, query.page_token.offset, query.max_results);
    Ok(Page {
        items: with_tags(pool, page.items).await?,
        next_page_token: page.next_page_token,
    })
}

async fn existing_id(pool: &SqlitePool, experiment_id: &str) -> StoreResult<(i64, String)> {
    let id = experiment_key(experiment_id).ok_or_else(|| not_found(experiment_id))?;
    let stage: String =
        sqlx::query_scalar("SELECT lifecycle_stage FROM experiments WHERE experiment_id = ?")
            .bind(id)
            .fetch_optional(pool)
            .await
            .map_err(db_err)?
            .ok_or_else(|| not_found(experiment_id))?;
    Ok((id, stage))
}

pub(crate) async fn rename(
    pool: &SqlitePool,
    experiment_id: &str,
    new_name: &str,
) -> StoreResult<()> {
    validation::validate_experiment_name(new_name)?;
    let (id, stage) = existing_id(pool, experiment_id).await?;
    if stage != "active" {
        return Err(StoreError::InvalidParameter(format!(
            "Cannot rename a non-active experiment {experiment_id}. Current state is {stage}."
        )));
    }
    let result = sqlx::query(
        "UPDATE experiments SET name = ?, last_update_time = ? WHERE experiment_id = ?",
    )
    .bind(new_name)
    .bind(now_ms())
    .bind(id)
    .execute(pool)
    .await;
    match result {
        Ok(_) => Ok(()),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(StoreError::AlreadyExists(
            format!("Experiment(name={new_name}) already exists."),
        )),
        Err(e) => Err(db_err(e)),
    }
}

/// Soft delete or restore. Runs follow their experiment, as in MLflow.
pub(crate) async fn set_stage(
    pool: &SqlitePool,
    experiment_id: &str,
    active: bool,
) -> StoreResult<()> {
    let (id, _) = existing_id(pool, experiment_id).await?;
    if id == 0 && !active {
        return Err(StoreError::InvalidParameter(
            "Cannot delete the default experiment '0'. This is an internally reserved experiment."
                .into(),
        ));
    }
    let (stage, deleted_time) = if active {
        ("active", None)
    } else {
        ("deleted", Some(now_ms()))
    };
    let mut tx = pool.begin().await.map_err(db_err)?;
    sqlx::query(
        "UPDATE experiments SET lifecycle_stage = ?, last_update_time = ? WHERE experiment_id = ?",
    )
    .bind(stage)
    .bind(now_ms())
    .bind(id)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    sqlx::query("UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE experiment_id = ?")
        .bind(stage)
        .bind(deleted_time)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    tx.commit().await.map_err(db_err)
}

pub(crate) async fn set_tag(pool: &SqlitePool, experiment_id: &str, tag: Tag) -> StoreResult<()> {
    validation::validate_experiment_tag(&tag)?;
    let (id, stage) = existing_id(pool, experiment_id).await?;
    if stage != "active" {
        return Err(StoreError::InvalidParameter(format!(
            "The experiment {experiment_id} must be in the 'active' state. Current state is {stage}."
        )));
    }
    upsert_tag(pool, id, &tag).await
}

pub(crate) async fn delete_tag(
    pool: &SqlitePool,
    experiment_id: &str,
    key: &str,
) -> StoreResult<()> {
    let (id, _) = existing_id(pool, experiment_id).await?;
    let deleted = sqlx::query("DELETE FROM experiment_tags WHERE experiment_id = ? AND key = ?")
        .bind(id)
        .bind(key)
        .execute(pool)
        .await
        .map_err(db_err)?;
    if deleted.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!(
            "No tag with name: {key} in experiment with id {experiment_id}"
        )));
    }
    Ok(())
}
