//! Experiments: create, read, search, rename, soft delete and tags.

use judgeflow_domain::search::{EntityType, OrderBy};
use judgeflow_domain::{Experiment, Tag, now_ms, validation};
use judgeflow_store::{ExperimentQuery, NewExperiment, Page, StoreError, StoreResult};
use rusqlite::{Connection, Row, params};

use crate::db::{RowExt, Sql, db_err, execute, is_unique_violation, query_opt, query_rows};
use crate::rows::{experiment_key, stage};
use crate::search::{Probe, Values, push_child_clause, push_compare, push_stages};

const COLUMNS: &str = "e.experiment_id, e.name, e.artifact_location, e.lifecycle_stage, e.creation_time, e.last_update_time";

fn not_found(experiment_id: &str) -> StoreError {
    StoreError::NotFound(format!("No Experiment with id={experiment_id} exists"))
}

fn decode(row: &Row<'_>) -> StoreResult<Experiment> {
    let id: i64 = row.col(0)?;
    Ok(Experiment {
        experiment_id: id.to_string(),
        name: row.col(1)?,
        artifact_location: row.col(2)?,
        lifecycle_stage: stage(row, 3)?,
        creation_time: row.col(4)?,
        last_update_time: row.col(5)?,
        tags: Vec::new(),
    })
}

fn with_tags(conn: &Connection, mut experiments: Vec<Experiment>) -> StoreResult<Vec<Experiment>> {
    if experiments.is_empty() {
        return Ok(experiments);
    }
    let ids: Vec<i64> = experiments
        .iter()
        .filter_map(|e| experiment_key(&e.experiment_id))
        .collect();
    let ids = serde_json::to_string(&ids).map_err(StoreError::internal)?;
    let rows = query_rows(
        conn,
        "SELECT experiment_id, key, value FROM experiment_tags \
         WHERE experiment_id IN (SELECT value FROM json_each(?)) ORDER BY key",
        [ids],
        |row| {
            Ok((
                row.col::<i64>(0)?.to_string(),
                Tag::new(row.col::<String>(1)?, row.col::<String>(2)?),
            ))
        },
    )?;
    for (id, tag) in rows {
        if let Some(experiment) = experiments.iter_mut().find(|e| e.experiment_id == id) {
            experiment.tags.push(tag);
        }
    }
    Ok(experiments)
}

/// Creates an experiment; `root` is the default artifact root its location derives from.
pub(crate) fn create(conn: &mut Connection, root: &str, new: NewExperiment) -> StoreResult<String> {
    validation::validate_experiment_name(&new.name)?;
    for tag in &new.tags {
        validation::validate_experiment_tag(tag)?;
    }
    let tx = conn.savepoint().map_err(db_err)?;
    let taken = query_opt(
        &tx,
        "SELECT experiment_id FROM experiments WHERE name = ?",
        [&new.name],
        |row| row.col::<i64>(0),
    )?;
    if taken.is_some() {
        return Err(StoreError::AlreadyExists(format!(
            "Experiment(name={}) already exists.",
            new.name
        )));
    }
    let now = now_ms();
    let id: i64 = query_opt(
        &tx,
        "INSERT INTO experiments (name, artifact_location, lifecycle_stage, creation_time, last_update_time) \
         VALUES (?, '', 'active', ?, ?) RETURNING experiment_id",
        params![new.name, now, now],
        |row| row.col(0),
    )?
    .ok_or_else(|| StoreError::internal("INSERT returned no id"))?;
    let location = new
        .artifact_location
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| format!("{}/{id}", root.trim_end_matches('/')));
    execute(
        &tx,
        "UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?",
        params![location, id],
    )?;
    for tag in new.tags {
        upsert_tag(&tx, id, &tag)?;
    }
    tx.commit().map_err(db_err)?;
    Ok(id.to_string())
}

fn upsert_tag(conn: &Connection, id: i64, tag: &Tag) -> StoreResult<()> {
    execute(
        conn,
        "INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?) \
         ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value",
        params![id, tag.key, tag.value],
    )?;
    Ok(())
}

pub(crate) fn get(conn: &Connection, experiment_id: &str) -> StoreResult<Experiment> {
    let id = experiment_key(experiment_id).ok_or_else(|| not_found(experiment_id))?;
    let experiment = query_opt(
        conn,
        &format!("SELECT {COLUMNS} FROM experiments e WHERE e.experiment_id = ?"),
        [id],
        decode,
    )?
    .ok_or_else(|| not_found(experiment_id))?;
    Ok(with_tags(conn, vec![experiment])?.remove(0))
}

pub(crate) fn get_by_name(conn: &Connection, name: &str) -> StoreResult<Experiment> {
    let experiment = query_opt(
        conn,
        &format!("SELECT {COLUMNS} FROM experiments e WHERE e.name = ?"),
        [name],
        decode,
    )?
    .ok_or_else(|| StoreError::NotFound(format!("Could not find experiment with name '{name}'")))?;
    Ok(with_tags(conn, vec![experiment])?.remove(0))
}

fn attribute_column(key: &str) -> &'static str {
    match key {
        "name" => "e.name",
        "experiment_id" => "CAST(e.experiment_id AS TEXT)",
        "creation_time" => "e.creation_time",
        _ => "e.last_update_time",
    }
}

fn push_order(builder: &mut Sql, order: &OrderBy) {
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

pub(crate) fn search(conn: &Connection, query: &ExperimentQuery) -> StoreResult<Page<Experiment>> {
    let mut builder = Sql::new(format!("SELECT {COLUMNS} FROM experiments e WHERE 1 = 1"));
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
                Probe::List,
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
    let experiments = builder.rows(conn, decode)?;
    let page = Page::from_overfetch(experiments, query.page_token.offset, query.max_results);
    Ok(Page {
        items: with_tags(conn, page.items)?,
        next_page_token: page.next_page_token,
    })
}

fn existing_id(conn: &Connection, experiment_id: &str) -> StoreResult<(i64, String)> {
    let id = experiment_key(experiment_id).ok_or_else(|| not_found(experiment_id))?;
    let stage = query_opt(
        conn,
        "SELECT lifecycle_stage FROM experiments WHERE experiment_id = ?",
        [id],
        |row| row.col::<String>(0),
    )?
    .ok_or_else(|| not_found(experiment_id))?;
    Ok((id, stage))
}

pub(crate) fn rename(conn: &Connection, experiment_id: &str, new_name: &str) -> StoreResult<()> {
    validation::validate_experiment_name(new_name)?;
    let (id, stage) = existing_id(conn, experiment_id)?;
    if stage != "active" {
        return Err(StoreError::InvalidParameter(format!(
            "Cannot rename a non-active experiment {experiment_id}. Current state is {stage}."
        )));
    }
    let result = conn
        .prepare_cached(
            "UPDATE experiments SET name = ?, last_update_time = ? WHERE experiment_id = ?",
        )
        .and_then(|mut statement| statement.execute(params![new_name, now_ms(), id]));
    match result {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => Err(StoreError::AlreadyExists(format!(
            "Experiment(name={new_name}) already exists."
        ))),
        Err(e) => Err(db_err(e)),
    }
}

/// Soft delete or restore. Runs follow their experiment, as in MLflow.
pub(crate) fn set_stage(
    conn: &mut Connection,
    experiment_id: &str,
    active: bool,
) -> StoreResult<()> {
    let tx = conn.savepoint().map_err(db_err)?;
    let (id, _) = existing_id(&tx, experiment_id)?;
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
    execute(
        &tx,
        "UPDATE experiments SET lifecycle_stage = ?, last_update_time = ? WHERE experiment_id = ?",
        params![stage, now_ms(), id],
    )?;
    execute(
        &tx,
        "UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE experiment_id = ?",
        params![stage, deleted_time, id],
    )?;
    tx.commit().map_err(db_err)
}

pub(crate) fn set_tag(conn: &Connection, experiment_id: &str, tag: &Tag) -> StoreResult<()> {
    validation::validate_experiment_tag(tag)?;
    let (id, stage) = existing_id(conn, experiment_id)?;
    if stage != "active" {
        return Err(StoreError::InvalidParameter(format!(
            "The experiment {experiment_id} must be in the 'active' state. Current state is {stage}."
        )));
    }
    upsert_tag(conn, id, tag)
}

pub(crate) fn delete_tag(conn: &Connection, experiment_id: &str, key: &str) -> StoreResult<()> {
    let (id, _) = existing_id(conn, experiment_id)?;
    let deleted = execute(
        conn,
        "DELETE FROM experiment_tags WHERE experiment_id = ? AND key = ?",
        params![id, key],
    )?;
    if deleted == 0 {
        return Err(StoreError::NotFound(format!(
            "No tag with name: {key} in experiment with id {experiment_id}"
        )));
    }
    Ok(())
}
