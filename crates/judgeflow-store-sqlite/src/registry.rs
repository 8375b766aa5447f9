//! The model registry: registered models, versions, tags, aliases, stages.
//!
//! Children reference models by name with `ON UPDATE CASCADE` (see `0002_registry.sql`), so a
//! rename is one statement and a delete cascades. Version numbers come from the model's
//! `last_version` counter, which only grows, so a deleted version's number is never reused.

use std::collections::HashMap;

use judgeflow_domain::search::{CompareOp, Comparison, EntityType, Literal, OrderBy};
use judgeflow_domain::{
    ModelStage, ModelVersion, ModelVersionStatus, PROMPT_TAG, RegisteredModel,
    RegisteredModelAlias, Tag, now_ms, validation,
};
use judgeflow_store::{
    NewModelVersion, NewRegisteredModel, Page, RegistryQuery, StoreError, StoreResult,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection, SqlitePool};

use crate::search::push_compare;
use crate::{SqliteStore, db_err};

const MODEL_COLUMNS: &str = "m.name, m.creation_timestamp, m.last_updated_timestamp, m.description";
const VERSION_COLUMNS: &str = "v.name, v.version, v.creation_timestamp, v.last_updated_timestamp, \
    v.description, v.user_id, v.current_stage, v.source, v.run_id, v.run_link, v.status, \
    v.status_message, v.model_id";

fn model_not_found(name: &str) -> StoreError {
    StoreError::NotFound(format!("Registered Model with name={name} not found"))
}

fn version_not_found(name: &str, version: i64) -> StoreError {
    StoreError::NotFound(format!(
        "Model Version (name={name}, version={version}) not found"
    ))
}

fn is_prompt(tags: &[Tag]) -> bool {
    tags.iter()
        .any(|t| t.key == PROMPT_TAG && t.value.eq_ignore_ascii_case("true"))
}

fn decode_model(row: &SqliteRow) -> StoreResult<RegisteredModel> {
    Ok(RegisteredModel {
        name: row.try_get("name").map_err(db_err)?,
        creation_timestamp: row.try_get("creation_timestamp").map_err(db_err)?,
        last_updated_timestamp: row.try_get("last_updated_timestamp").map_err(db_err)?,
        description: row.try_get("description").map_err(db_err)?,
        tags: Vec::new(),
        aliases: Vec::new(),
        latest_versions: Vec::new(),
    })
}

fn decode_version(row: &SqliteRow) -> StoreResult<ModelVersion> {
    let stage: String = row.try_get("current_stage").map_err(db_err)?;
    let status: String = row.try_get("status").map_err(db_err)?;
    Ok(ModelVersion {
        name: row.try_get("name").map_err(db_err)?,
        version: row.try_get("version").map_err(db_err)?,
        creation_timestamp: row.try_get("creation_timestamp").map_err(db_err)?,
        last_updated_timestamp: row.try_get("last_updated_timestamp").map_err(db_err)?,
        description: row.try_get("description").map_err(db_err)?,
        user_id: row.try_get("user_id").map_err(db_err)?,
        current_stage: ModelStage::parse(&stage)
            .ok_or_else(|| StoreError::internal(format!("bad model stage '{stage}'")))?,
        source: row.try_get("source").map_err(db_err)?,
        run_id: row.try_get("run_id").map_err(db_err)?,
        run_link: row.try_get("run_link").map_err(db_err)?,
        status: ModelVersionStatus::parse(&status)
            .ok_or_else(|| StoreError::internal(format!("bad version status '{status}'")))?,
        status_message: row.try_get("status_message").map_err(db_err)?,
        tags: Vec::new(),
        aliases: Vec::new(),
        model_id: row.try_get("model_id").map_err(db_err)?,
    })
}

fn json_names<'a>(names: impl Iterator<Item = &'a str>) -> StoreResult<String> {
    serde_json::to_string(&names.collect::<Vec<_>>()).map_err(StoreError::internal)
}

/// Fills the tags and aliases of a page of versions, one query per child table.
async fn with_version_children(
    pool: &SqlitePool,
    mut versions: Vec<ModelVersion>,
) -> StoreResult<Vec<ModelVersion>> {
    if versions.is_empty() {
        return Ok(versions);
    }
    let names = json_names(versions.iter().map(|v| v.name.as_str()))?;
    let position: HashMap<(String, i64), usize> = versions
        .iter()
        .enumerate()
        .map(|(i, v)| ((v.name.clone(), v.version), i))
        .collect();
    let rows = sqlx::query(
        "SELECT name, version, key, value FROM model_version_tags \
         WHERE name IN (SELECT value FROM json_each(?)) ORDER BY key",
    )
    .bind(&names)
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    for row in rows {
        let key = (row.get::<String, _>(0), row.get::<i64, _>(1));
        if let Some(&i) = position.get(&key) {
            versions[i]
                .tags
                .push(Tag::new(row.get::<String, _>(2), row.get::<String, _>(3)));
        }
    }
    let rows = sqlx::query(
        "SELECT name, version, alias FROM registered_model_aliases \
         WHERE name IN (SELECT value FROM json_each(?)) ORDER BY alias",
    )
    .bind(&names)
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    for row in rows {
        let key = (row.get::<String, _>(0), row.get::<i64, _>(1));
        if let Some(&i) = position.get(&key) {
            versions[i].aliases.push(row.get(2));
        }
    }
    Ok(versions)
}

/// The highest version per stage of each named model, in stage order.
async fn latest_versions(
    pool: &SqlitePool,
    names: &str,
) -> StoreResult<HashMap<String, Vec<ModelVersion>>> {
    let rows = sqlx::query(&format!(
        "SELECT {VERSION_COLUMNS} FROM model_versions v \
         WHERE v.name IN (SELECT value FROM json_each(?)) AND v.version = \
         (SELECT MAX(w.version) FROM model_versions w WHERE w.name = v.name AND w.current_stage = v.current_stage)"
    ))
    .bind(names)
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    let mut versions = rows
        .iter()
        .map(decode_version)
        .collect::<StoreResult<Vec<_>>>()?;
    versions.sort_by_key(|v| {
        ModelStage::ALL
            .iter()
            .position(|s| *s == v.current_stage)
            .unwrap_or(usize::MAX)
    });
    let mut by_name: HashMap<String, Vec<ModelVersion>> = HashMap::new();
    for version in with_version_children(pool, versions).await? {
        by_name
            .entry(version.name.clone())
            .or_default()
            .push(version);
    }
    Ok(by_name)
}

/// Fills tags, aliases and latest versions of a page of registered models.
async fn with_model_children(
    pool: &SqlitePool,
    mut models: Vec<RegisteredModel>,
) -> StoreResult<Vec<RegisteredModel>> {
    if models.is_empty() {
        return Ok(models);
    }
    let names = json_names(models.iter().map(|m| m.name.as_str()))?;
    let position: HashMap<String, usize> = models
        .iter()
        .enumerate()
        .map(|(i, m)| (m.name.clone(), i))
        .collect();
    let rows = sqlx::query(
        "SELECT name, key, value FROM registered_model_tags \
         WHERE name IN (SELECT value FROM json_each(?)) ORDER BY key",
    )
    .bind(&names)
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    for row in rows {
        if let Some(&i) = position.get(&row.get::<String, _>(0)) {
            models[i]
                .tags
                .push(Tag::new(row.get::<String, _>(1), row.get::<String, _>(2)));
        }
    }
    let rows = sqlx::query(
        "SELECT name, alias, version FROM registered_model_aliases \
         WHERE name IN (SELECT value FROM json_each(?)) ORDER BY alias",
    )
    .bind(&names)
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    for row in rows {
        if let Some(&i) = position.get(&row.get::<String, _>(0)) {
            models[i].aliases.push(RegisteredModelAlias {
                alias: row.get(1),
                version: row.get(2),
            });
        }
    }
    let mut latest = latest_versions(pool, &names).await?;
    for model in &mut models {
        model.latest_versions = latest.remove(&model.name).unwrap_or_default();
    }
    Ok(models)
}

async fn model_exists(conn: &mut SqliteConnection, name: &str) -> StoreResult<()> {
    sqlx::query_scalar::<_, i64>("SELECT 1 FROM registered_models WHERE name = ?")
        .bind(name)
        .fetch_optional(conn)
        .await
        .map_err(db_err)?
        .map(|_| ())
        .ok_or_else(|| model_not_found(name))
}

async fn version_exists(conn: &mut SqliteConnection, name: &str, version: i64) -> StoreResult<()> {
    sqlx::query_scalar::<_, i64>("SELECT 1 FROM model_versions WHERE name = ? AND version = ?")
        .bind(name)
        .bind(version)
        .fetch_optional(conn)
        .await
        .map_err(db_err)?
        .map(|_| ())
        .ok_or_else(|| version_not_found(name, version))
}

/// One connection for a check-then-act pair. On the writer pool (a single connection) this
/// also serialises the pair against other writes, so no transaction is needed for it.
async fn acquire(pool: &SqlitePool) -> StoreResult<sqlx::pool::PoolConnection<Sqlite>> {
    pool.acquire().await.map_err(db_err)
}

// ---- registered models ----

pub(crate) async fn create_model(
    pool: &SqlitePool,
    new: NewRegisteredModel,
) -> StoreResult<RegisteredModel> {
    validation::validate_model_name(&new.name)?;
    for tag in &new.tags {
        validation::validate_registry_tag(tag)?;
    }
    let mut tx = pool.begin().await.map_err(db_err)?;
    let now = now_ms();
    let inserted = sqlx::query(
        "INSERT INTO registered_models (name, creation_timestamp, last_updated_timestamp, description) \
         VALUES (?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
    )
    .bind(&new.name)
    .bind(now)
    .bind(now)
    .bind(&new.description)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    if inserted.rows_affected() == 0 {
        drop(tx);
        let existing = get_model(pool, &new.name).await?;
        return Err(already_exists(
            &new.name,
            existing.is_prompt(),
            is_prompt(&new.tags),
        ));
    }
    for tag in &new.tags {
        upsert_model_tag(&mut tx, &new.name, tag).await?;
    }
    tx.commit().await.map_err(db_err)?;
    get_model(pool, &new.name).await
}

/// MLflow's wording: a prompt and a model may not share a name, and the message says which.
fn already_exists(name: &str, existing_is_prompt: bool, new_is_prompt: bool) -> StoreError {
    let noun = |prompt: bool| if prompt { "Prompt" } else { "Registered Model" };
    if existing_is_prompt == new_is_prompt {
        StoreError::AlreadyExists(format!(
            "{} (name={name}) already exists.",
            noun(new_is_prompt)
        ))
    } else {
        StoreError::AlreadyExists(format!(
            "Tried to create a {} with name '{name}', but the name is already taken by a {}. \
             MLflow does not allow creating a model and a prompt with the same name.",
            noun(new_is_prompt).to_lowercase(),
            noun(existing_is_prompt).to_lowercase()
        ))
    }
}

async fn upsert_model_tag(conn: &mut SqliteConnection, name: &str, tag: &Tag) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO registered_model_tags (name, key, value) VALUES (?, ?, ?) \
         ON CONFLICT (name, key) DO UPDATE SET value = excluded.value",
    )
    .bind(name)
    .bind(&tag.key)
    .bind(&tag.value)
    .execute(conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub(crate) async fn get_model(pool: &SqlitePool, name: &str) -> StoreResult<RegisteredModel> {
    validation::validate_model_name(name)?;
    let row = sqlx::query(&format!(
        "SELECT {MODEL_COLUMNS} FROM registered_models m WHERE m.name = ?"
    ))
    .bind(name)
    .fetch_optional(pool)
    .await
    .map_err(db_err)?
    .ok_or_else(|| model_not_found(name))?;
    Ok(with_model_children(pool, vec![decode_model(&row)?])
        .await?
        .remove(0))
}

pub(crate) async fn update_model(
    pool: &SqlitePool,
    name: &str,
    description: Option<String>,
) -> StoreResult<RegisteredModel> {
    validation::validate_model_name(name)?;
    let updated = sqlx::query(
        "UPDATE registered_models SET description = ?, last_updated_timestamp = ? WHERE name = ?",
    )
    .bind(description)
    .bind(now_ms())
    .bind(name)
    .execute(pool)
    .await
    .map_err(db_err)?;
    if updated.rows_affected() == 0 {
        return Err(model_not_found(name));
    }
    get_model(pool, name).await
}

pub(crate) async fn rename_model(
    pool: &SqlitePool,
    name: &str,
    new_name: &str,
) -> StoreResult<RegisteredModel> {
    if new_name.trim().is_empty() {
        return Err(StoreError::InvalidParameter(
            "Missing value for required parameter 'new_name'.".into(),
        ));
    }
    validation::validate_model_name(new_name)?;
    validation::validate_model_name(name)?;
    let mut tx = pool.begin().await.map_err(db_err)?;
    model_exists(&mut tx, name).await?;
    if name != new_name && model_exists(&mut tx, new_name).await.is_ok() {
        return Err(StoreError::AlreadyExists(format!(
            "Registered Model (name={new_name}) already exists."
        )));
    }
    let now = now_ms();
    // The foreign keys cascade the new name into versions, tags and aliases.
    sqlx::query("UPDATE registered_models SET name = ?, last_updated_timestamp = ? WHERE name = ?")
        .bind(new_name)
        .bind(now)
        .bind(name)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    sqlx::query("UPDATE model_versions SET last_updated_timestamp = ? WHERE name = ?")
        .bind(now)
        .bind(new_name)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    get_model(pool, new_name).await
}

pub(crate) async fn delete_model(pool: &SqlitePool, name: &str) -> StoreResult<()> {
    validation::validate_model_name(name)?;
    let deleted = sqlx::query("DELETE FROM registered_models WHERE name = ?")
        .bind(name)
        .execute(pool)
        .await
        .map_err(db_err)?;
    if deleted.rows_affected() == 0 {
        return Err(model_not_found(name));
    }
    Ok(())
}

pub(crate) async fn set_model_tag(pool: &SqlitePool, name: &str, tag: Tag) -> StoreResult<()> {
    validation::validate_model_name(name)?;
    validation::validate_registry_tag(&tag)?;
    let mut tx = pool.begin().await.map_err(db_err)?;
    model_exists(&mut tx, name).await?;
    upsert_model_tag(&mut tx, name, &tag).await?;
    tx.commit().await.map_err(db_err)
}

pub(crate) async fn delete_model_tag(pool: &SqlitePool, name: &str, key: &str) -> StoreResult<()> {
    validation::validate_model_name(name)?;
    let mut conn = acquire(pool).await?;
    model_exists(&mut conn, name).await?;
    sqlx::query("DELETE FROM registered_model_tags WHERE name = ? AND key = ?")
        .bind(name)
        .bind(key)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

pub(crate) async fn set_alias(
    pool: &SqlitePool,
    name: &str,
    alias: &str,
    version: i64,
) -> StoreResult<()> {
    validation::validate_model_name(name)?;
    validation::validate_alias_settable(alias)?;
    let mut conn = acquire(pool).await?;
    version_exists(&mut conn, name, version).await?;
    sqlx::query(
        "INSERT INTO registered_model_aliases (name, alias, version) VALUES (?, ?, ?) \
         ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version",
    )
    .bind(name)
    .bind(alias)
    .bind(version)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub(crate) async fn delete_alias(pool: &SqlitePool, name: &str, alias: &str) -> StoreResult<()> {
    validation::validate_model_name(name)?;
    validation::validate_alias(alias)?;
    let mut conn = acquire(pool).await?;
    model_exists(&mut conn, name).await?;
    sqlx::query("DELETE FROM registered_model_aliases WHERE name = ? AND alias = ?")
        .bind(name)
        .bind(alias)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

pub(crate) async fn get_version_by_alias(
    pool: &SqlitePool,
    name: &str,
    alias: &str,
) -> StoreResult<ModelVersion> {
    validation::validate_model_name(name)?;
    validation::validate_alias(alias)?;
    let mut conn = acquire(pool).await?;
    model_exists(&mut conn, name).await?;
    let version: Option<i64> = if alias.eq_ignore_ascii_case(judgeflow_domain::LATEST_ALIAS) {
        sqlx::query_scalar("SELECT MAX(version) FROM model_versions WHERE name = ?")
            .bind(name)
            .fetch_one(&mut *conn)
            .await
            .map_err(db_err)?
    } else {
        sqlx::query_scalar(
            "SELECT version FROM registered_model_aliases WHERE name = ? AND alias = ?",
        )
        .bind(name)
        .bind(alias)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?
    };
    drop(conn);
    match version {
        Some(version) => get_version(pool, name, version).await,
        None if alias.eq_ignore_ascii_case(judgeflow_domain::LATEST_ALIAS) => Err(
            StoreError::NotFound(format!("Latest version not found for model {name}.")),
        ),
        // MLflow answers 400 here, not 404; clients rely on the code.
        None => Err(StoreError::InvalidParameter(format!(
            "Registered model alias {alias} not found."
        ))),
    }
}

pub(crate) async fn get_latest_versions(
    pool: &SqlitePool,
    name: &str,
    stages: &[ModelStage],
) -> StoreResult<Vec<ModelVersion>> {
    validation::validate_model_name(name)?;
    let mut conn = acquire(pool).await?;
    model_exists(&mut conn, name).await?;
    drop(conn);
    let mut latest = latest_versions(pool, &json_names(std::iter::once(name))?).await?;
    let versions = latest.remove(name).unwrap_or_default();
    Ok(versions
        .into_iter()
        .filter(|v| stages.is_empty() || stages.contains(&v.current_stage))
        .collect())
}

// ---- model versions ----

/// Where a source's artifacts are, and the run and logged model behind it.
struct ResolvedSource {
    storage_location: String,
    run_id: Option<String>,
    model_id: Option<String>,
}

async fn logged_model_location(
    conn: &mut SqliteConnection,
    model_id: &str,
) -> StoreResult<Option<(String, Option<String>)>> {
    let row = sqlx::query(
        "SELECT artifact_location, source_run_id FROM logged_models \
         WHERE model_id = ? AND lifecycle_stage = 'active'",
    )
    .bind(model_id)
    .fetch_optional(conn)
    .await
    .map_err(db_err)?;
    Ok(row.map(|r| (r.get(0), r.get(1))))
}

async fn resolve_source(
    conn: &mut SqliteConnection,
    new: &NewModelVersion,
) -> StoreResult<ResolvedSource> {
    let mut resolved = ResolvedSource {
        storage_location: new.source.clone(),
        run_id: new.run_id.clone().filter(|r| !r.is_empty()),
        model_id: new.model_id.clone().filter(|m| !m.is_empty()),
    };
    let unresolvable = || {
        StoreError::InvalidParameter(format!(
            "Unable to fetch model from model URI source artifact location '{}'.",
            new.source
        ))
    };
    if let Some(rest) = new.source.strip_prefix("models:/") {
        let rest = rest.trim_end_matches('/');
        if rest.starts_with("m-") && !rest.contains('/') {
            let (location, source_run_id) = logged_model_location(conn, rest)
                .await?
                .ok_or_else(unresolvable)?;
            resolved.storage_location = location;
            resolved.run_id = resolved.run_id.or(source_run_id);
            resolved.model_id = resolved.model_id.or_else(|| Some(rest.to_owned()));
        } else if let Some((name, version)) = rest.rsplit_once('/') {
            // `models:/<name>/<version>`: register the same artifacts again.
            let version = validation::parse_version(version).map_err(|_| unresolvable())?;
            resolved.storage_location = sqlx::query_scalar(
                "SELECT storage_location FROM model_versions WHERE name = ? AND version = ?",
            )
            .bind(name)
            .bind(version)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_err)?
            .ok_or_else(unresolvable)?;
        }
    }
    if resolved.run_id.is_none()
        && let Some(model_id) = &resolved.model_id
        && let Some((_, source_run_id)) = logged_model_location(conn, model_id).await?
    {
        resolved.run_id = source_run_id;
    }
    Ok(resolved)
}

pub(crate) async fn create_version(
    store: &SqliteStore,
    new: NewModelVersion,
) -> StoreResult<ModelVersion> {
    validation::validate_model_name(&new.name)?;
    validation::require(&new.source, "source")?;
    for tag in &new.tags {
        validation::validate_registry_tag(tag)?;
    }
    let mut tx = store.writer.begin().await.map_err(db_err)?;
    let last_version: i64 =
        sqlx::query_scalar("SELECT last_version FROM registered_models WHERE name = ?")
            .bind(&new.name)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?
            .ok_or_else(|| model_not_found(&new.name))?;
    let resolved = resolve_source(&mut tx, &new).await?;
    validation::validate_version_source(&new.source, resolved.run_id.as_deref())?;
    let version = last_version + 1;
    let now = now_ms();
    sqlx::query(
        "UPDATE registered_models SET last_version = ?, last_updated_timestamp = ? WHERE name = ?",
    )
    .bind(version)
    .bind(now)
    .bind(&new.name)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    sqlx::query(
        "INSERT INTO model_versions (name, version, creation_timestamp, last_updated_timestamp, \
         description, current_stage, source, storage_location, run_id, run_link, status, model_id) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&new.name)
    .bind(version)
    .bind(now)
    .bind(now)
    .bind(&new.description)
    .bind(ModelStage::None.as_str())
    .bind(&new.source)
    .bind(&resolved.storage_location)
    .bind(&resolved.run_id)
    .bind(new.run_link.as_deref().filter(|l| !l.is_empty()))
    .bind(ModelVersionStatus::Ready.as_str())
    .bind(&resolved.model_id)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    for tag in &new.tags {
        upsert_version_tag(&mut tx, &new.name, version, tag).await?;
    }
    if let Some(model_id) = &resolved.model_id {
        record_registration(&mut tx, model_id, &new.name, version).await?;
    }
    tx.commit().await.map_err(db_err)?;
    get_version(&store.writer, &new.name, version).await
}

/// The logged-model tag listing the versions that register it (a JSON list of
/// `{"name", "version"}`), which MLflow's server keeps so the UI can link both ways.
const MODEL_VERSIONS_TAG: &str = "mlflow.modelVersions";

async fn record_registration(
    conn: &mut SqliteConnection,
    model_id: &str,
    name: &str,
    version: i64,
) -> StoreResult<()> {
    if logged_model_location(conn, model_id).await?.is_none() {
        return Ok(());
    }
    let existing: Option<String> =
        sqlx::query_scalar("SELECT value FROM logged_model_tags WHERE model_id = ? AND key = ?")
            .bind(model_id)
            .bind(MODEL_VERSIONS_TAG)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_err)?;
    // A hand-edited tag that is not a JSON list is replaced rather than failing registration.
    let mut entries: Vec<serde_json::Value> = existing
        .and_then(|v| serde_json::from_str(&v).ok())
        .unwrap_or_default();
    let entry = serde_json::json!({"name": name, "version": version.to_string()});
    if !entries.contains(&entry) {
        entries.push(entry);
    }
    sqlx::query(
        "INSERT INTO logged_model_tags (model_id, key, value) VALUES (?, ?, ?) \
         ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value",
    )
    .bind(model_id)
    .bind(MODEL_VERSIONS_TAG)
    .bind(serde_json::Value::Array(entries).to_string())
    .execute(conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

async fn upsert_version_tag(
    conn: &mut SqliteConnection,
    name: &str,
    version: i64,
    tag: &Tag,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO model_version_tags (name, version, key, value) VALUES (?, ?, ?, ?) \
         ON CONFLICT (name, version, key) DO UPDATE SET value = excluded.value",
    )
    .bind(name)
    .bind(version)
    .bind(&tag.key)
    .bind(&tag.value)
    .execute(conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub(crate) async fn get_version(
    pool: &SqlitePool,
    name: &str,
    version: i64,
) -> StoreResult<ModelVersion> {
    validation::validate_model_name(name)?;
    let row = sqlx::query(&format!(
        "SELECT {VERSION_COLUMNS} FROM model_versions v WHERE v.name = ? AND v.version = ?"
    ))
    .bind(name)
    .bind(version)
    .fetch_optional(pool)
    .await
    .map_err(db_err)?
    .ok_or_else(|| version_not_found(name, version))?;
    Ok(with_version_children(pool, vec![decode_version(&row)?])
        .await?
        .remove(0))
}

pub(crate) async fn update_version(
    pool: &SqlitePool,
    name: &str,
    version: i64,
    description: Option<String>,
) -> StoreResult<ModelVersion> {
    validation::validate_model_name(name)?;
    // Only the version's own timestamp moves; MLflow leaves the registered model's alone.
    let updated = sqlx::query(
        "UPDATE model_versions SET description = ?, last_updated_timestamp = ? \
         WHERE name = ? AND version = ?",
    )
    .bind(description)
    .bind(now_ms())
    .bind(name)
    .bind(version)
    .execute(pool)
    .await
    .map_err(db_err)?;
    if updated.rows_affected() == 0 {
        return Err(version_not_found(name, version));
    }
    get_version(pool, name, version).await
}

pub(crate) async fn delete_version(pool: &SqlitePool, name: &str, version: i64) -> StoreResult<()> {
    validation::validate_model_name(name)?;
    let mut tx = pool.begin().await.map_err(db_err)?;
    // Tags and the aliases pointing here cascade.
    let deleted = sqlx::query("DELETE FROM model_versions WHERE name = ? AND version = ?")
        .bind(name)
        .bind(version)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    if deleted.rows_affected() == 0 {
        return Err(version_not_found(name, version));
    }
    sqlx::query("UPDATE registered_models SET last_updated_timestamp = ? WHERE name = ?")
        .bind(now_ms())
        .bind(name)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    tx.commit().await.map_err(db_err)
}

pub(crate) async fn set_version_tag(
    pool: &SqlitePool,
    name: &str,
    version: i64,
    tag: Tag,
) -> StoreResult<()> {
    validation::validate_model_name(name)?;
    validation::validate_registry_tag(&tag)?;
    let mut tx = pool.begin().await.map_err(db_err)?;
    version_exists(&mut tx, name, version).await?;
    upsert_version_tag(&mut tx, name, version, &tag).await?;
    tx.commit().await.map_err(db_err)
}

pub(crate) async fn delete_version_tag(
    pool: &SqlitePool,
    name: &str,
    version: i64,
    key: &str,
) -> StoreResult<()> {
    validation::validate_model_name(name)?;
    let mut conn = acquire(pool).await?;
    version_exists(&mut conn, name, version).await?;
    sqlx::query("DELETE FROM model_version_tags WHERE name = ? AND version = ? AND key = ?")
        .bind(name)
        .bind(version)
        .bind(key)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

pub(crate) async fn transition_stage(
    pool: &SqlitePool,
    name: &str,
    version: i64,
    stage: ModelStage,
    archive_existing: bool,
) -> StoreResult<ModelVersion> {
    validation::validate_model_name(name)?;
    if archive_existing && !stage.is_active() {
        return Err(StoreError::InvalidParameter(format!(
            "Model version transition cannot archive existing model versions because '{}' is \
             not an Active stage. Valid stages are ['Staging', 'Production']",
            stage.as_str()
        )));
    }
    let mut tx = pool.begin().await.map_err(db_err)?;
    version_exists(&mut tx, name, version).await?;
    let now = now_ms();
    if archive_existing {
        sqlx::query(
            "UPDATE model_versions SET current_stage = ?, last_updated_timestamp = ? \
             WHERE name = ? AND version != ? AND current_stage = ?",
        )
        .bind(ModelStage::Archived.as_str())
        .bind(now)
        .bind(name)
        .bind(version)
        .bind(stage.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    }
    sqlx::query(
        "UPDATE model_versions SET current_stage = ?, last_updated_timestamp = ? \
         WHERE name = ? AND version = ?",
    )
    .bind(stage.as_str())
    .bind(now)
    .bind(name)
    .bind(version)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    sqlx::query("UPDATE registered_models SET last_updated_timestamp = ? WHERE name = ?")
        .bind(now)
        .bind(name)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    get_version(pool, name, version).await
}

pub(crate) async fn download_uri(
    pool: &SqlitePool,
    name: &str,
    version: i64,
) -> StoreResult<String> {
    validation::validate_model_name(name)?;
    sqlx::query_scalar("SELECT storage_location FROM model_versions WHERE name = ? AND version = ?")
        .bind(name)
        .bind(version)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?
        .ok_or_else(|| version_not_found(name, version))
}

// ---- search ----

/// Whether a filter asks for prompts (`tag.mlflow.prompt.is_prompt = 'true'` or
/// `!= 'false'`). Otherwise prompts are excluded, and comparisons on the prompt tag only serve
/// that exclusion: models simply lack the tag, so `!= 'true'` must match them (MLflow does the
/// same with an anti-join).
fn asks_for_prompts(filter: &[Comparison]) -> bool {
    filter
        .iter()
        .find(|c| c.entity == EntityType::Tag && c.key == PROMPT_TAG)
        .is_some_and(|c| {
            let value = c.value.as_str().unwrap_or("").to_ascii_lowercase();
            (c.op == CompareOp::Eq && value == "true")
                || (c.op == CompareOp::Ne && value == "false")
        })
}

/// ` AND <owner> [NOT] IN (SELECT <columns> FROM <table> WHERE key = ? AND value <op> ?)`.
fn push_tag_clause(
    builder: &mut QueryBuilder<'_, Sqlite>,
    owner: &str,
    columns: &str,
    table: &str,
    comparison: &Comparison,
) {
    builder.push(format!(
        " AND {owner} IN (SELECT {columns} FROM {table} WHERE key = "
    ));
    builder.push_bind(comparison.key.clone());
    builder.push(" AND ");
    push_compare(builder, "value", comparison.op, &comparison.value);
    builder.push(")");
}

fn push_prompt_exclusion(
    builder: &mut QueryBuilder<'_, Sqlite>,
    owner: &str,
    columns: &str,
    table: &str,
) {
    builder.push(format!(
        " AND {owner} NOT IN (SELECT {columns} FROM {table} WHERE key = "
    ));
    builder.push_bind(PROMPT_TAG);
    builder.push(" AND value = 'true')");
}

fn direction(order: &OrderBy) -> &'static str {
    if order.ascending { "ASC" } else { "DESC" }
}

fn invalid_order(order: &OrderBy, valid: &str) -> StoreError {
    StoreError::InvalidParameter(format!(
        "Invalid order by key '{}' specified. Valid keys are {valid}",
        order.key
    ))
}

pub(crate) async fn search_models(
    pool: &SqlitePool,
    query: &RegistryQuery,
) -> StoreResult<Page<RegisteredModel>> {
    let mut builder = QueryBuilder::<Sqlite>::new(format!(
        "SELECT {MODEL_COLUMNS} FROM registered_models m WHERE 1 = 1"
    ));
    let prompts = asks_for_prompts(&query.filter);
    for comparison in &query.filter {
        match comparison.entity {
            EntityType::Tag if comparison.key == PROMPT_TAG && !prompts => {}
            EntityType::Tag => push_tag_clause(
                &mut builder,
                "m.name",
                "name",
                "registered_model_tags",
                comparison,
            ),
            _ => {
                let column = match comparison.key.as_str() {
                    "name" => "m.name",
                    "creation_timestamp" => "m.creation_timestamp",
                    "last_updated_timestamp" => "m.last_updated_timestamp",
                    other => {
                        return Err(StoreError::InvalidParameter(format!(
                            "Invalid attribute name: {other}"
                        )));
                    }
                };
                builder.push(" AND ");
                push_compare(&mut builder, column, comparison.op, &comparison.value);
            }
        }
    }
    if !prompts {
        push_prompt_exclusion(&mut builder, "m.name", "name", "registered_model_tags");
    }
    let mut terms = Vec::new();
    for order in &query.order_by {
        let column = match (order.entity, order.key.as_str()) {
            (EntityType::Attribute, "name") => "m.name",
            (EntityType::Attribute, "creation_timestamp") => "m.creation_timestamp",
            (EntityType::Attribute, "last_updated_timestamp") => "m.last_updated_timestamp",
            _ => {
                return Err(invalid_order(
                    order,
                    "'name', 'timestamp', 'creation_timestamp', 'last_updated_timestamp'",
                ));
            }
        };
        terms.push(format!("{column} {}", direction(order)));
    }
    // Name is the tie-breaker unless it was ordered on already.
    if !query.order_by.iter().any(|o| o.key == "name") {
        terms.push("m.name ASC".into());
    }
    builder.push(format!(" ORDER BY {}", terms.join(", ")));
    push_page(&mut builder, query);
    let rows = builder.build().fetch_all(pool).await.map_err(db_err)?;
    let models = rows
        .iter()
        .map(decode_model)
        .collect::<StoreResult<Vec<_>>>()?;
    let page = Page::from_overfetch(models, query.page_token.offset, query.max_results);
    Ok(Page {
        items: with_model_children(pool, page.items).await?,
        next_page_token: page.next_page_token,
    })
}

fn push_page(builder: &mut QueryBuilder<'_, Sqlite>, query: &RegistryQuery) {
    builder.push(" LIMIT ");
    builder.push_bind((query.max_results + 1) as i64);
    builder.push(" OFFSET ");
    builder.push_bind(query.page_token.offset as i64);
}

pub(crate) async fn search_versions(
    pool: &SqlitePool,
    query: &RegistryQuery,
) -> StoreResult<Page<ModelVersion>> {
    let mut builder = QueryBuilder::<Sqlite>::new(format!(
        "SELECT {VERSION_COLUMNS} FROM model_versions v WHERE 1 = 1"
    ));
    let prompts = asks_for_prompts(&query.filter);
    for comparison in &query.filter {
        match comparison.entity {
            EntityType::Tag if comparison.key == PROMPT_TAG && !prompts => {}
            EntityType::Tag => push_tag_clause(
                &mut builder,
                "(v.name, v.version)",
                "name, version",
                "model_version_tags",
                comparison,
            ),
            _ => {
                let column = match comparison.key.as_str() {
                    "name" => "v.name",
                    "version_number" => "v.version",
                    "run_id" => "v.run_id",
                    "source_path" => "v.source",
                    "creation_timestamp" => "v.creation_timestamp",
                    "last_updated_timestamp" => "v.last_updated_timestamp",
                    other => {
                        return Err(StoreError::InvalidParameter(format!(
                            "Invalid attribute name: {other}"
                        )));
                    }
                };
                if matches!(comparison.op, CompareOp::In | CompareOp::NotIn)
                    && !matches!(comparison.key.as_str(), "name" | "run_id")
                {
                    return Err(StoreError::InvalidParameter(format!(
                        "Invalid comparator for attribute: {}",
                        comparison.op.as_str()
                    )));
                }
                if let Literal::Number(n) = comparison.value
                    && n.fract() != 0.0
                {
                    return Err(StoreError::InvalidParameter(format!(
                        "Invalid value for numeric attribute '{}': {n}",
                        comparison.key
                    )));
                }
                builder.push(" AND ");
                push_compare(&mut builder, column, comparison.op, &comparison.value);
            }
        }
    }
    if !prompts {
        push_prompt_exclusion(
            &mut builder,
            "(v.name, v.version)",
            "name, version",
            "model_version_tags",
        );
    }
    let mut terms = Vec::new();
    if query.order_by.is_empty() {
        terms.push("v.last_updated_timestamp DESC".to_owned());
    }
    for order in &query.order_by {
        let column = match (order.entity, order.key.as_str()) {
            (EntityType::Attribute, "name") => "v.name",
            (EntityType::Attribute, "version_number") => "v.version",
            (EntityType::Attribute, "creation_timestamp") => "v.creation_timestamp",
            (EntityType::Attribute, "last_updated_timestamp") => "v.last_updated_timestamp",
            _ => {
                return Err(invalid_order(
                    order,
                    "'name', 'version_number', 'creation_timestamp', 'last_updated_timestamp'",
                ));
            }
        };
        terms.push(format!("{column} {}", direction(order)));
    }
    // MLflow's tie-breakers: name ascending, then the newest version first.
    if !query.order_by.iter().any(|o| o.key == "name") {
        terms.push("v.name ASC".into());
    }
    if !query.order_by.iter().any(|o| o.key == "version_number") {
        terms.push("v.version DESC".into());
    }
    builder.push(format!(" ORDER BY {}", terms.join(", ")));
    push_page(&mut builder, query);
    let rows = builder.build().fetch_all(pool).await.map_err(db_err)?;
    let versions = rows
        .iter()
        .map(decode_version)
        .collect::<StoreResult<Vec<_>>>()?;
    let page = Page::from_overfetch(versions, query.page_token.offset, query.max_results);
    Ok(Page {
        items: with_version_children(pool, page.items).await?,
        next_page_token: page.next_page_token,
    })
}
