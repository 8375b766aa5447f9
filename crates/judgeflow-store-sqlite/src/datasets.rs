//! Evaluation datasets: the dataset row with its tags and experiment links, and its records,
//! one row per record (see `0005_evaluation_datasets.sql`).
//!
//! Records are JSON text columns, keyed within their dataset by `input_hash` (a UNIQUE index),
//! so an upsert looks each record up by index and never reads the dataset whole. Record pages
//! walk the `(dataset_id, created_time, dataset_record_id)` index from a cursor. The dataset
//! row carries `num_records`, kept in step by upserts and deletes, from which the profile is
//! written. What the client sees (digest, schema, profile, merges) is computed by
//! `judgeflow_domain::evaluation_datasets`; this module only stores it.

use std::collections::HashMap;

use async_trait::async_trait;
use judgeflow_domain::evaluation_datasets::{
    DatasetRecord, EvaluationDataset, RecordSource, RecordSourceType, RecordUpsert, dataset_digest,
    new_dataset_id, profile_after_delete, profile_json, updated_schema, validate_dataset_name,
    validate_tag,
};
use judgeflow_domain::search::{EntityType, OrderBy};
use judgeflow_domain::{Tag, USER_TAG, now_ms};
use judgeflow_store::{
    DatasetQuery, DatasetStore, NewEvaluationDataset, Page, RecordCursor, StoreError, StoreResult,
    UpsertCounts,
};
use rusqlite::{Connection, Row, params};
use serde_json::{Map, Value};

use crate::SqliteStore;
use crate::db::{RowExt, Sql, db_err, execute, query_opt, query_rows};
use crate::rows::{experiment_key, json_ids};
use crate::search::push_compare;

const DATASET_COLUMNS: &str = "d.dataset_id, d.name, d.schema, d.profile, d.digest, \
    d.created_time, d.last_update_time, d.created_by, d.last_updated_by";
const RECORD_COLUMNS: &str = "dataset_record_id, dataset_id, inputs, outputs, expectations, \
    tags, source, source_id, source_type, created_time, last_update_time, created_by, \
    last_updated_by";

fn not_found(dataset_id: &str) -> StoreError {
    StoreError::NotFound(format!(
        "Evaluation dataset with id '{dataset_id}' not found"
    ))
}

fn decode_dataset(row: &Row<'_>) -> StoreResult<EvaluationDataset> {
    Ok(EvaluationDataset {
        dataset_id: row.col(0)?,
        name: row.col(1)?,
        tags: Vec::new(),
        schema: row.col(2)?,
        profile: row.col(3)?,
        digest: row.col(4)?,
        created_time: row.col(5)?,
        last_update_time: row.col(6)?,
        created_by: row.col(7)?,
        last_updated_by: row.col(8)?,
        experiment_ids: Vec::new(),
    })
}

/// Fills the tags and experiment ids of a page of datasets, one query per child table.
fn with_children(
    conn: &Connection,
    mut datasets: Vec<EvaluationDataset>,
) -> StoreResult<Vec<EvaluationDataset>> {
    if datasets.is_empty() {
        return Ok(datasets);
    }
    let ids = json_ids(datasets.iter().map(|d| d.dataset_id.as_str()))?;
    let position: HashMap<String, usize> = datasets
        .iter()
        .enumerate()
        .map(|(i, d)| (d.dataset_id.clone(), i))
        .collect();
    let tags = query_rows(
        conn,
        "SELECT dataset_id, key, value FROM evaluation_dataset_tags \
         WHERE dataset_id IN (SELECT value FROM json_each(?)) ORDER BY key",
        [&ids],
        |row| {
            Ok((
                row.col::<String>(0)?,
                Tag::new(row.col::<String>(1)?, row.col::<String>(2)?),
            ))
        },
    )?;
    for (id, tag) in tags {
        if let Some(&i) = position.get(&id) {
            datasets[i].tags.push(tag);
        }
    }
    let links = query_rows(
        conn,
        "SELECT dataset_id, experiment_id FROM evaluation_dataset_experiments \
         WHERE dataset_id IN (SELECT value FROM json_each(?)) ORDER BY experiment_id",
        [&ids],
        |row| Ok((row.col::<String>(0)?, row.col::<i64>(1)?)),
    )?;
    for (id, experiment_id) in links {
        if let Some(&i) = position.get(&id) {
            datasets[i].experiment_ids.push(experiment_id.to_string());
        }
    }
    Ok(datasets)
}

fn fetch(conn: &Connection, dataset_id: &str) -> StoreResult<EvaluationDataset> {
    let sql = format!("SELECT {DATASET_COLUMNS} FROM evaluation_datasets d WHERE d.dataset_id = ?");
    let dataset = query_opt(conn, &sql, [dataset_id], decode_dataset)?
        .ok_or_else(|| not_found(dataset_id))?;
    Ok(with_children(conn, vec![dataset])?.remove(0))
}

fn exists(conn: &Connection, dataset_id: &str) -> StoreResult<bool> {
    Ok(query_opt(
        conn,
        "SELECT 1 FROM evaluation_datasets WHERE dataset_id = ?",
        [dataset_id],
        |_| Ok(()),
    )?
    .is_some())
}

fn require(conn: &Connection, dataset_id: &str) -> StoreResult<()> {
    if exists(conn, dataset_id)? {
        Ok(())
    } else {
        Err(not_found(dataset_id))
    }
}

/// The numeric keys of experiments that must all exist.
fn existing_experiments(conn: &Connection, experiment_ids: &[String]) -> StoreResult<Vec<i64>> {
    let mut keys = Vec::with_capacity(experiment_ids.len());
    for id in experiment_ids {
        let found = match experiment_key(id) {
            Some(key) => query_opt(
                conn,
                "SELECT 1 FROM experiments WHERE experiment_id = ?",
                [key],
                |_| Ok(()),
            )?
            .map(|()| key),
            None => None,
        };
        keys.push(
            found.ok_or_else(|| StoreError::NotFound(format!("No Experiment with id={id}")))?,
        );
    }
    Ok(keys)
}

fn link(conn: &Connection, dataset_id: &str, experiments: &[i64], now: i64) -> StoreResult<usize> {
    let mut added = 0;
    for experiment_id in experiments {
        added += execute(
            conn,
            "INSERT OR IGNORE INTO evaluation_dataset_experiments \
             (dataset_id, experiment_id, created_time) VALUES (?, ?, ?)",
            params![dataset_id, experiment_id, now],
        )?;
    }
    Ok(added)
}

fn upsert_tag(conn: &Connection, dataset_id: &str, tag: &Tag) -> StoreResult<()> {
    execute(
        conn,
        "INSERT INTO evaluation_dataset_tags (dataset_id, key, value) VALUES (?, ?, ?) \
         ON CONFLICT (dataset_id, key) DO UPDATE SET value = excluded.value",
        params![dataset_id, tag.key, tag.value],
    )?;
    Ok(())
}

pub(crate) fn create(
    conn: &mut Connection,
    new: &NewEvaluationDataset,
) -> StoreResult<EvaluationDataset> {
    validate_dataset_name(&new.name)?;
    for tag in &new.tags {
        validate_tag(tag)?;
    }
    let tx = conn.savepoint().map_err(db_err)?;
    let experiments = existing_experiments(&tx, &new.experiment_ids)?;
    let dataset_id = new_dataset_id();
    let now = now_ms();
    let user = new
        .tags
        .iter()
        .rev()
        .find(|t| t.key == USER_TAG)
        .map(|t| t.value.clone());
    execute(
        &tx,
        "INSERT INTO evaluation_datasets (dataset_id, name, digest, created_time, \
         last_update_time, created_by, last_updated_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
        params![
            dataset_id,
            new.name,
            dataset_digest(&new.name, now),
            now,
            now,
            user,
            user
        ],
    )?;
    for tag in &new.tags {
        upsert_tag(&tx, &dataset_id, tag)?;
    }
    link(&tx, &dataset_id, &experiments, now)?;
    let dataset = fetch(&tx, &dataset_id)?;
    tx.commit().map_err(db_err)?;
    Ok(dataset)
}

pub(crate) fn delete(conn: &Connection, dataset_id: &str) -> StoreResult<()> {
    // Tags, links and records go with it (ON DELETE CASCADE).
    execute(
        conn,
        "DELETE FROM evaluation_datasets WHERE dataset_id = ?",
        [dataset_id],
    )?;
    Ok(())
}

pub(crate) fn set_tags(conn: &mut Connection, dataset_id: &str, tags: &[Tag]) -> StoreResult<()> {
    for tag in tags {
        validate_tag(tag)?;
    }
    let tx = conn.savepoint().map_err(db_err)?;
    require(&tx, dataset_id)?;
    for tag in tags {
        upsert_tag(&tx, dataset_id, tag)?;
    }
    tx.commit().map_err(db_err)
}

pub(crate) fn delete_tag(conn: &Connection, dataset_id: &str, key: &str) -> StoreResult<()> {
    execute(
        conn,
        "DELETE FROM evaluation_dataset_tags WHERE dataset_id = ? AND key = ?",
        [dataset_id, key],
    )?;
    Ok(())
}

fn to_json_text(value: &Value) -> StoreResult<String> {
    serde_json::to_string(value).map_err(db_err)
}

fn object_text(map: &Map<String, Value>) -> StoreResult<String> {
    serde_json::to_string(map).map_err(db_err)
}

fn parse_object(text: &str) -> StoreResult<Map<String, Value>> {
    serde_json::from_str(text).map_err(db_err)
}

fn decode_record(row: &Row<'_>) -> StoreResult<DatasetRecord> {
    let outputs: Option<String> = row.col(3)?;
    let expectations: Option<String> = row.col(4)?;
    let tags: String = row.col(5)?;
    let source: Option<String> = row.col(6)?;
    let source_type: Option<String> = row.col(8)?;
    let source = source
        .map(|text| {
            let mut object = parse_object(&text)?;
            let kind = object
                .get("source_type")
                .and_then(Value::as_str)
                .unwrap_or("UNSPECIFIED");
            Ok::<_, StoreError>(RecordSource {
                source_type: RecordSourceType::parse(kind).map_err(db_err)?,
                source_data: match object.remove("source_data") {
                    Some(Value::Object(data)) => data,
                    _ => Map::new(),
                },
            })
        })
        .transpose()?;
    Ok(DatasetRecord {
        dataset_record_id: row.col(0)?,
        dataset_id: row.col(1)?,
        inputs: parse_object(&row.col::<String>(2)?)?,
        outputs: outputs
            .map(|text| serde_json::from_str(&text).map_err(db_err))
            .transpose()?,
        expectations: expectations.map(|text| parse_object(&text)).transpose()?,
        tags: parse_object(&tags)?,
        source,
        source_id: row.col(7)?,
        source_type: source_type
            .map(|kind| RecordSourceType::parse(&kind).map_err(db_err))
            .transpose()?,
        created_time: row.col(9)?,
        last_update_time: row.col(10)?,
        created_by: row.col(11)?,
        last_updated_by: row.col(12)?,
    })
}

fn insert_record(conn: &Connection, record: &DatasetRecord, input_hash: &str) -> StoreResult<()> {
    execute(
        conn,
        "INSERT INTO evaluation_dataset_records (dataset_record_id, dataset_id, input_hash, \
         inputs, outputs, expectations, tags, source, source_id, source_type, created_time, \
         last_update_time, created_by, last_updated_by) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            record.dataset_record_id,
            record.dataset_id,
            input_hash,
            object_text(&record.inputs)?,
            record.outputs.as_ref().map(to_json_text).transpose()?,
            record.expectations.as_ref().map(object_text).transpose()?,
            object_text(&record.tags)?,
            record
                .source
                .as_ref()
                .map(|s| to_json_text(&s.to_json()))
                .transpose()?,
            record.source_id,
            record.source_type.map(RecordSourceType::as_str),
            record.created_time,
            record.last_update_time,
            record.created_by,
            record.last_updated_by,
        ],
    )?;
    Ok(())
}

/// Writes back what a merge may change.
fn update_record(conn: &Connection, record: &DatasetRecord) -> StoreResult<()> {
    execute(
        conn,
        "UPDATE evaluation_dataset_records SET outputs = ?, expectations = ?, tags = ?, \
         last_update_time = ?, last_updated_by = ? WHERE dataset_record_id = ?",
        params![
            record.outputs.as_ref().map(to_json_text).transpose()?,
            record.expectations.as_ref().map(object_text).transpose()?,
            object_text(&record.tags)?,
            record.last_update_time,
            record.last_updated_by,
            record.dataset_record_id,
        ],
    )?;
    Ok(())
}

pub(crate) fn upsert_records(
    conn: &mut Connection,
    dataset_id: &str,
    records: Vec<RecordUpsert>,
) -> StoreResult<UpsertCounts> {
    let tx = conn.savepoint().map_err(db_err)?;
    let (name, schema, num_records) = query_opt(
        &tx,
        "SELECT name, schema, num_records FROM evaluation_datasets WHERE dataset_id = ?",
        [dataset_id],
        |row| {
            Ok((
                row.col::<String>(0)?,
                row.col::<Option<String>>(1)?,
                row.col::<i64>(2)?,
            ))
        },
    )?
    .ok_or_else(|| not_found(dataset_id))?;
    let now = now_ms();
    let schema = updated_schema(schema.as_deref(), &records);
    let lookup = format!(
        "SELECT {RECORD_COLUMNS} FROM evaluation_dataset_records \
         WHERE dataset_id = ? AND input_hash = ?"
    );
    let mut counts = UpsertCounts::default();
    let mut updated_by = None;
    for upsert in records {
        if let Some(user) = upsert.user() {
            updated_by = Some(user);
        }
        let input_hash = upsert.input_hash();
        // A later record of the same batch with the same inputs merges into the earlier one,
        // as MLflow's session (which flushes before each lookup) does.
        let existing = query_opt(
            &tx,
            &lookup,
            [dataset_id, input_hash.as_str()],
            decode_record,
        )?;
        if let Some(mut existing) = existing {
            existing.merge(upsert, now);
            update_record(&tx, &existing)?;
            counts.updated += 1;
        } else {
            insert_record(&tx, &upsert.into_record(dataset_id, now), &input_hash)?;
            counts.inserted += 1;
        }
    }
    let num_records = num_records + counts.inserted as i64;
    execute(
        &tx,
        "UPDATE evaluation_datasets SET last_update_time = ?, last_updated_by = ?, digest = ?, \
         schema = COALESCE(?, schema), profile = COALESCE(?, profile), num_records = ? \
         WHERE dataset_id = ?",
        params![
            now,
            updated_by,
            dataset_digest(&name, now),
            schema,
            profile_json(num_records),
            num_records,
            dataset_id
        ],
    )?;
    tx.commit().map_err(db_err)?;
    Ok(counts)
}

pub(crate) fn records(
    conn: &Connection,
    dataset_id: &str,
    max_results: usize,
    cursor: Option<&RecordCursor>,
) -> StoreResult<Page<DatasetRecord>> {
    require(conn, dataset_id)?;
    let mut builder = Sql::new(format!(
        "SELECT {RECORD_COLUMNS} FROM evaluation_dataset_records WHERE dataset_id = "
    ));
    builder.push_bind(dataset_id.to_owned());
    if let Some(cursor) = cursor {
        builder
            .push(" AND (created_time > ")
            .push_bind(cursor.created_time)
            .push(" OR (created_time = ")
            .push_bind(cursor.created_time)
            .push(" AND dataset_record_id > ")
            .push_bind(cursor.dataset_record_id.clone())
            .push("))");
    }
    builder
        .push(" ORDER BY created_time, dataset_record_id LIMIT ")
        .push_bind((max_results + 1) as i64);
    let mut rows = builder.rows(conn, decode_record)?;
    let more = rows.len() > max_results;
    rows.truncate(max_results);
    let next_page_token = more.then(|| rows.last()).flatten().map(|last| {
        RecordCursor {
            created_time: last.created_time,
            dataset_record_id: last.dataset_record_id.clone(),
        }
        .encode()
    });
    Ok(Page {
        items: rows,
        next_page_token,
    })
}

pub(crate) fn delete_records(
    conn: &mut Connection,
    dataset_id: &str,
    record_ids: &[String],
) -> StoreResult<usize> {
    let tx = conn.savepoint().map_err(db_err)?;
    let Some(num_records) = query_opt(
        &tx,
        "SELECT num_records FROM evaluation_datasets WHERE dataset_id = ?",
        [dataset_id],
        |row| row.col::<i64>(0),
    )?
    else {
        // Deleting from a dataset that is gone deletes nothing, as in MLflow.
        return Ok(0);
    };
    let deleted = execute(
        &tx,
        "DELETE FROM evaluation_dataset_records WHERE dataset_id = ? \
         AND dataset_record_id IN (SELECT value FROM json_each(?))",
        [
            dataset_id,
            &json_ids(record_ids.iter().map(String::as_str))?,
        ],
    )?;
    if deleted > 0 {
        let remaining = (num_records - deleted as i64).max(0);
        execute(
            &tx,
            "UPDATE evaluation_datasets SET profile = ?, num_records = ? WHERE dataset_id = ?",
            params![profile_after_delete(remaining), remaining, dataset_id],
        )?;
    }
    tx.commit().map_err(db_err)?;
    Ok(deleted)
}

pub(crate) fn experiment_ids(conn: &Connection, dataset_id: &str) -> StoreResult<Vec<String>> {
    Ok(fetch(conn, dataset_id)?.experiment_ids)
}

pub(crate) fn add_experiments(
    conn: &mut Connection,
    dataset_id: &str,
    experiment_ids: &[String],
) -> StoreResult<EvaluationDataset> {
    let tx = conn.savepoint().map_err(db_err)?;
    require(&tx, dataset_id)?;
    let experiments = existing_experiments(&tx, experiment_ids)?;
    let now = now_ms();
    link(&tx, dataset_id, &experiments, now)?;
    execute(
        &tx,
        "UPDATE evaluation_datasets SET last_update_time = ? WHERE dataset_id = ?",
        params![now, dataset_id],
    )?;
    let dataset = fetch(&tx, dataset_id)?;
    tx.commit().map_err(db_err)?;
    Ok(dataset)
}

pub(crate) fn remove_experiments(
    conn: &mut Connection,
    dataset_id: &str,
    experiment_ids: &[String],
) -> StoreResult<EvaluationDataset> {
    let tx = conn.savepoint().map_err(db_err)?;
    require(&tx, dataset_id)?;
    let mut removed = 0;
    // An id that was never linked (or is no experiment id at all) is ignored, as in MLflow.
    for key in experiment_ids.iter().filter_map(|id| experiment_key(id)) {
        removed += execute(
            &tx,
            "DELETE FROM evaluation_dataset_experiments WHERE dataset_id = ? AND experiment_id = ?",
            params![dataset_id, key],
        )?;
    }
    if removed > 0 {
        execute(
            &tx,
            "UPDATE evaluation_datasets SET last_update_time = ? WHERE dataset_id = ?",
            params![now_ms(), dataset_id],
        )?;
    }
    let dataset = fetch(&tx, dataset_id)?;
    tx.commit().map_err(db_err)?;
    Ok(dataset)
}

fn order_column(order: &OrderBy) -> StoreResult<&'static str> {
    match (order.entity, order.key.as_str()) {
        (EntityType::Attribute, "name") => Ok("d.name"),
        (EntityType::Attribute, "created_time") => Ok("d.created_time"),
        (EntityType::Attribute, "last_update_time") => Ok("d.last_update_time"),
        _ => Err(StoreError::InvalidParameter(format!(
            "Invalid order_by key '{}' for evaluation datasets",
            order.key
        ))),
    }
}

pub(crate) fn search(
    conn: &Connection,
    query: &DatasetQuery,
) -> StoreResult<Page<EvaluationDataset>> {
    let mut builder = Sql::new(format!(
        "SELECT {DATASET_COLUMNS} FROM evaluation_datasets d WHERE 1 = 1"
    ));
    if !query.experiment_ids.is_empty() {
        // Ids that are not numbers name no experiment, so they match nothing.
        let keys: Vec<i64> = query
            .experiment_ids
            .iter()
            .filter_map(|id| experiment_key(id))
            .collect();
        builder.push(
            " AND d.dataset_id IN (SELECT dataset_id FROM evaluation_dataset_experiments \
             WHERE experiment_id IN (SELECT value FROM json_each(",
        );
        builder.push_bind(serde_json::to_string(&keys).map_err(db_err)?);
        builder.push(")))");
    }
    for comparison in &query.filter {
        match comparison.entity {
            EntityType::Tag => {
                // Only datasets that have the tag can match, `!=` included (as in MLflow).
                builder.push(
                    " AND d.dataset_id IN (SELECT dataset_id FROM evaluation_dataset_tags \
                     WHERE key = ",
                );
                builder.push_bind(comparison.key.clone());
                builder.push(" AND ");
                push_compare(&mut builder, "value", comparison.op, &comparison.value);
                builder.push(")");
            }
            EntityType::Attribute => {
                let column = match comparison.key.as_str() {
                    "name" => "d.name",
                    "created_time" => "d.created_time",
                    "last_update_time" => "d.last_update_time",
                    "created_by" => "d.created_by",
                    "last_updated_by" => "d.last_updated_by",
                    other => {
                        return Err(StoreError::InvalidParameter(format!(
                            "Invalid attribute key '{other}' for evaluation datasets"
                        )));
                    }
                };
                builder.push(" AND ");
                push_compare(&mut builder, column, comparison.op, &comparison.value);
            }
            other => {
                return Err(StoreError::InvalidParameter(format!(
                    "Invalid entity type '{other:?}' for evaluation datasets"
                )));
            }
        }
    }
    let mut terms = Vec::new();
    for order in &query.order_by {
        let direction = if order.ascending { "ASC" } else { "DESC" };
        terms.push(format!("{} {direction}", order_column(order)?));
    }
    if terms.is_empty() {
        terms.push("d.created_time DESC".to_owned());
    }
    terms.push("d.dataset_id DESC".to_owned());
    builder.push(format!(" ORDER BY {}", terms.join(", ")));
    builder
        .push(" LIMIT ")
        .push_bind((query.max_results + 1) as i64)
        .push(" OFFSET ")
        .push_bind(query.page_token.offset as i64);
    let datasets = builder.rows(conn, decode_dataset)?;
    let page = Page::from_overfetch(datasets, query.page_token.offset, query.max_results);
    Ok(Page {
        items: with_children(conn, page.items)?,
        next_page_token: page.next_page_token,
    })
}

#[async_trait]
impl DatasetStore for SqliteStore {
    async fn create_dataset(&self, new: NewEvaluationDataset) -> StoreResult<EvaluationDataset> {
        self.write(move |c| create(c, &new)).await
    }
    async fn get_dataset(&self, dataset_id: &str) -> StoreResult<EvaluationDataset> {
        let id = dataset_id.to_owned();
        self.read(move |c| fetch(c, &id)).await
    }
    async fn search_datasets(&self, query: &DatasetQuery) -> StoreResult<Page<EvaluationDataset>> {
        let query = query.clone();
        self.read(move |c| search(c, &query)).await
    }
    async fn delete_dataset(&self, dataset_id: &str) -> StoreResult<()> {
        let id = dataset_id.to_owned();
        self.write(move |c| delete(c, &id)).await
    }
    async fn set_dataset_tags(&self, dataset_id: &str, tags: Vec<Tag>) -> StoreResult<()> {
        let id = dataset_id.to_owned();
        self.write(move |c| set_tags(c, &id, &tags)).await
    }
    async fn delete_dataset_tag(&self, dataset_id: &str, key: &str) -> StoreResult<()> {
        let (id, key) = (dataset_id.to_owned(), key.to_owned());
        self.write(move |c| delete_tag(c, &id, &key)).await
    }
    async fn upsert_dataset_records(
        &self,
        dataset_id: &str,
        records: Vec<RecordUpsert>,
    ) -> StoreResult<UpsertCounts> {
        let id = dataset_id.to_owned();
        self.write(move |c| upsert_records(c, &id, records)).await
    }
    async fn get_dataset_records(
        &self,
        dataset_id: &str,
        max_results: usize,
        cursor: Option<RecordCursor>,
    ) -> StoreResult<Page<DatasetRecord>> {
        let id = dataset_id.to_owned();
        self.read(move |c| records(c, &id, max_results, cursor.as_ref()))
            .await
    }
    async fn delete_dataset_records(
        &self,
        dataset_id: &str,
        dataset_record_ids: &[String],
    ) -> StoreResult<usize> {
        let (id, record_ids) = (dataset_id.to_owned(), dataset_record_ids.to_vec());
        self.write(move |c| delete_records(c, &id, &record_ids))
            .await
    }
    async fn get_dataset_experiment_ids(&self, dataset_id: &str) -> StoreResult<Vec<String>> {
        let id = dataset_id.to_owned();
        self.read(move |c| experiment_ids(c, &id)).await
    }
    async fn add_dataset_to_experiments(
        &self,
        dataset_id: &str,
        experiment_ids: &[String],
    ) -> StoreResult<EvaluationDataset> {
        let (id, experiments) = (dataset_id.to_owned(), experiment_ids.to_vec());
        self.write(move |c| add_experiments(c, &id, &experiments))
            .await
    }
    async fn remove_dataset_from_experiments(
        &self,
        dataset_id: &str,
        experiment_ids: &[String],
    ) -> StoreResult<EvaluationDataset> {
        let (id, experiments) = (dataset_id.to_owned(), experiment_ids.to_vec());
        self.write(move |c| remove_experiments(c, &id, &experiments))
            .await
    }
}
