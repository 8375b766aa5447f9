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
use rusqlite::{Connection, Row, params};

use crate::db::{RowExt, Sql, db_err, execute, query_opt, query_rows};
use crate::rows::json_ids;
use crate::search::push_compare;

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

fn decode_model(row: &Row<'_>) -> StoreResult<RegisteredModel> {
    Ok(RegisteredModel {
        name: row.col(0)?,
        creation_timestamp: row.col(1)?,
        last_updated_timestamp: row.col(2)?,
        description: row.col(3)?,
        tags: Vec::new(),
        aliases: Vec::new(),
        latest_versions: Vec::new(),
    })
}

fn decode_version(row: &Row<'_>) -> StoreResult<ModelVersion> {
    let stage: String = row.col(6)?;
    let status: String = row.col(10)?;
    Ok(ModelVersion {
        name: row.col(0)?,
        version: row.col(1)?,
        creation_timestamp: row.col(2)?,
        last_updated_timestamp: row.col(3)?,
        description: row.col(4)?,
        user_id: row.col(5)?,
        current_stage: ModelStage::parse(&stage)
            .ok_or_else(|| StoreError::internal(format!("bad model stage '{stage}'")))?,
        source: row.col(7)?,
        run_id: row.col(8)?,
        run_link: row.col(9)?,
        status: ModelVersionStatus::parse(&status)
            .ok_or_else(|| StoreError::internal(format!("bad version status '{status}'")))?,
        status_message: row.col(11)?,
        tags: Vec::new(),
        aliases: Vec::new(),
        model_id: row.col(12)?,
    })
}

/// Fills the tags and aliases of a page of versions, one query per child table.
fn with_version_children(
    conn: &Connection,
    mut versions: Vec<ModelVersion>,
) -> StoreResult<Vec<ModelVersion>> {
    if versions.is_empty() {
        return Ok(versions);
    }
    let names = json_ids(versions.iter().map(|v| v.name.as_str()))?;
    let position: HashMap<(String, i64), usize> = versions
        .iter()
        .enumerate()
        .map(|(i, v)| ((v.name.clone(), v.version), i))
        .collect();
    let tags = query_rows(
        conn,
        "SELECT name, version, key, value FROM model_version_tags \
         WHERE name IN (SELECT value FROM json_each(?)) ORDER BY key",
        [&names],
        |row| {
            Ok((
                (row.col::<String>(0)?, row.col::<i64>(1)?),
                Tag::new(row.col::<String>(2)?, row.col::<String>(3)?),
            ))
        },
    )?;
    for (key, tag) in tags {
        if let Some(&i) = position.get(&key) {
            versions[i].tags.push(tag);
        }
    }
    let aliases = query_rows(
        conn,
        "SELECT name, version, alias FROM registered_model_aliases \
         WHERE name IN (SELECT value FROM json_each(?)) ORDER BY alias",
        [&names],
        |row| {
            Ok((
                (row.col::<String>(0)?, row.col::<i64>(1)?),
                row.col::<String>(2)?,
            ))
        },
    )?;
    for (key, alias) in aliases {
        if let Some(&i) = position.get(&key) {
            versions[i].aliases.push(alias);
        }
    }
    Ok(versions)
}

/// The highest version per stage of each named model, in stage order.
fn latest_versions(
    conn: &Connection,
    names: &str,
) -> StoreResult<HashMap<String, Vec<ModelVersion>>> {
    let mut versions = query_rows(
        conn,
        &format!(
            "SELECT {VERSION_COLUMNS} FROM model_versions v \
             WHERE v.name IN (SELECT value FROM json_each(?)) AND v.version = \
             (SELECT MAX(w.version) FROM model_versions w WHERE w.name = v.name AND w.current_stage = v.current_stage)"
        ),
        [names],
        decode_version,
    )?;
    versions.sort_by_key(|v| {
        ModelStage::ALL
            .iter()
            .position(|s| *s == v.current_stage)
            .unwrap_or(usize::MAX)
    });
    let mut by_name: HashMap<String, Vec<ModelVersion>> = HashMap::new();
    for version in with_version_children(conn, versions)? {
        by_name
            .entry(version.name.clone())
            .or_default()
            .push(version);
    }
    Ok(by_name)
}

/// Fills tags, aliases and latest versions of a page of registered models.
fn with_model_children(
    conn: &Connection,
    mut models: Vec<RegisteredModel>,
) -> StoreResult<Vec<RegisteredModel>> {
    if models.is_empty() {
        return Ok(models);
    }
    let names = json_ids(models.iter().map(|m| m.name.as_str()))?;
    let position: HashMap<String, usize> = models
        .iter()
        .enumerate()
        .map(|(i, m)| (m.name.clone(), i))
        .collect();
    let tags = query_rows(
        conn,
        "SELECT name, key, value FROM registered_model_tags \
         WHERE name IN (SELECT value FROM json_each(?)) ORDER BY key",
        [&names],
        |row| {
            Ok((
                row.col::<String>(0)?,
                Tag::new(row.col::<String>(1)?, row.col::<String>(2)?),
            ))
        },
    )?;
    for (name, tag) in tags {
        if let Some(&i) = position.get(&name) {
            models[i].tags.push(tag);
        }
    }
    let aliases = query_rows(
        conn,
        "SELECT name, alias, version FROM registered_model_aliases \
         WHERE name IN (SELECT value FROM json_each(?)) ORDER BY alias",
        [&names],
        |row| {
            Ok((
                row.col::<String>(0)?,
                RegisteredModelAlias {
                    alias: row.col(1)?,
                    version: row.col(2)?,
                },
            ))
        },
    )?;
    for (name, alias) in aliases {
        if let Some(&i) = position.get(&name) {
            models[i].aliases.push(alias);
        }
    }
    let mut latest = latest_versions(conn, &names)?;
    for model in &mut models {
        model.latest_versions = latest.remove(&model.name).unwrap_or_default();
    }
    Ok(models)
}

fn model_exists(conn: &Connection, name: &str) -> StoreResult<()> {
    query_opt(
        conn,
        "SELECT 1 FROM registered_models WHERE name = ?",
        [name],
        |row| row.col::<i64>(0),
    )?
    .map(|_| ())
    .ok_or_else(|| model_not_found(name))
}

fn version_exists(conn: &Connection, name: &str, version: i64) -> StoreResult<()> {
    query_opt(
        conn,
        "SELECT 1 FROM model_versions WHERE name = ? AND version = ?",
        params![name, version],
        |row| row.col::<i64>(0),
    )?
    .map(|_| ())
    .ok_or_else(|| version_not_found(name, version))
}

// ---- registered models ----

pub(crate) fn create_model(
    conn: &mut Connection,
    new: &NewRegisteredModel,
) -> StoreResult<RegisteredModel> {
    validation::validate_model_name(&new.name)?;
    for tag in &new.tags {
        validation::validate_registry_tag(tag)?;
    }
    let tx = conn.savepoint().map_err(db_err)?;
    let now = now_ms();
    let inserted = execute(
        &tx,
        "INSERT INTO registered_models (name, creation_timestamp, last_updated_timestamp, description) \
         VALUES (?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
        params![new.name, now, now, new.description],
    )?;
    if inserted == 0 {
        let existing = get_model(&tx, &new.name)?;
        return Err(already_exists(
            &new.name,
            existing.is_prompt(),
            is_prompt(&new.tags),
        ));
    }
    for tag in &new.tags {
        upsert_model_tag(&tx, &new.name, tag)?;
    }
    let model = get_model(&tx, &new.name)?;
    tx.commit().map_err(db_err)?;
    Ok(model)
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

fn upsert_model_tag(conn: &Connection, name: &str, tag: &Tag) -> StoreResult<()> {
    execute(
        conn,
        "INSERT INTO registered_model_tags (name, key, value) VALUES (?, ?, ?) \
         ON CONFLICT (name, key) DO UPDATE SET value = excluded.value",
        params![name, tag.key, tag.value],
    )?;
    Ok(())
}

pub(crate) fn get_model(conn: &Connection, name: &str) -> StoreResult<RegisteredModel> {
    validation::validate_model_name(name)?;
    let model = query_opt(
        conn,
        &format!("SELECT {MODEL_COLUMNS} FROM registered_models m WHERE m.name = ?"),
        [name],
        decode_model,
    )?
    .ok_or_else(|| model_not_found(name))?;
    Ok(with_model_children(conn, vec![model])?.remove(0))
}

pub(crate) fn update_model(
    conn: &Connection,
    name: &str,
    description: Option<&str>,
) -> StoreResult<RegisteredModel> {
    validation::validate_model_name(name)?;
    let updated = execute(
        conn,
        "UPDATE registered_models SET description = ?, last_updated_timestamp = ? WHERE name = ?",
        params![description, now_ms(), name],
    )?;
    if updated == 0 {
        return Err(model_not_found(name));
    }
    get_model(conn, name)
}

pub(crate) fn rename_model(
    conn: &mut Connection,
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
    let tx = conn.savepoint().map_err(db_err)?;
    model_exists(&tx, name)?;
    if name != new_name && model_exists(&tx, new_name).is_ok() {
        return Err(StoreError::AlreadyExists(format!(
            "Registered Model (name={new_name}) already exists."
        )));
    }
    let now = now_ms();
    // The foreign keys cascade the new name into versions, tags and aliases.
    execute(
        &tx,
        "UPDATE registered_models SET name = ?, last_updated_timestamp = ? WHERE name = ?",
        params![new_name, now, name],
    )?;
    execute(
        &tx,
        "UPDATE model_versions SET last_updated_timestamp = ? WHERE name = ?",
        params![now, new_name],
    )?;
    let model = get_model(&tx, new_name)?;
    tx.commit().map_err(db_err)?;
    Ok(model)
}

pub(crate) fn delete_model(conn: &Connection, name: &str) -> StoreResult<()> {
    validation::validate_model_name(name)?;
    if execute(conn, "DELETE FROM registered_models WHERE name = ?", [name])? == 0 {
        return Err(model_not_found(name));
    }
    Ok(())
}

pub(crate) fn set_model_tag(conn: &Connection, name: &str, tag: &Tag) -> StoreResult<()> {
    validation::validate_model_name(name)?;
    validation::validate_registry_tag(tag)?;
    model_exists(conn, name)?;
    upsert_model_tag(conn, name, tag)
}

pub(crate) fn delete_model_tag(conn: &Connection, name: &str, key: &str) -> StoreResult<()> {
    validation::validate_model_name(name)?;
    model_exists(conn, name)?;
    execute(
        conn,
        "DELETE FROM registered_model_tags WHERE name = ? AND key = ?",
        params![name, key],
    )?;
    Ok(())
}

pub(crate) fn set_alias(
    conn: &Connection,
    name: &str,
    alias: &str,
    version: i64,
) -> StoreResult<()> {
    validation::validate_model_name(name)?;
    validation::validate_alias_settable(alias)?;
    version_exists(conn, name, version)?;
    execute(
        conn,
        "INSERT INTO registered_model_aliases (name, alias, version) VALUES (?, ?, ?) \
         ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version",
        params![name, alias, version],
    )?;
    Ok(())
}

pub(crate) fn delete_alias(conn: &Connection, name: &str, alias: &str) -> StoreResult<()> {
    validation::validate_model_name(name)?;
    validation::validate_alias(alias)?;
    model_exists(conn, name)?;
    execute(
        conn,
        "DELETE FROM registered_model_aliases WHERE name = ? AND alias = ?",
        params![name, alias],
    )?;
    Ok(())
}

pub(crate) fn get_version_by_alias(
    conn: &Connection,
    name: &str,
    alias: &str,
) -> StoreResult<ModelVersion> {
    validation::validate_model_name(name)?;
    validation::validate_alias(alias)?;
    model_exists(conn, name)?;
    let latest = alias.eq_ignore_ascii_case(judgeflow_domain::LATEST_ALIAS);
    let version: Option<i64> = if latest {
        query_opt(
            conn,
            "SELECT MAX(version) FROM model_versions WHERE name = ?",
            [name],
            |row| row.col::<Option<i64>>(0),
        )?
        .flatten()
    } else {
        query_opt(
            conn,
            "SELECT version FROM registered_model_aliases WHERE name = ? AND alias = ?",
            params![name, alias],
            |row| row.col(0),
        )?
    };
    match version {
        Some(version) => get_version(conn, name, version),
        None if latest => Err(StoreError::NotFound(format!(
            "Latest version not found for model {name}."
        ))),
        // MLflow answers 400 here, not 404; clients rely on the code.
        None => Err(StoreError::InvalidParameter(format!(
            "Registered model alias {alias} not found."
        ))),
    }
}

pub(crate) fn get_latest_versions(
    conn: &Connection,
    name: &str,
    stages: &[ModelStage],
) -> StoreResult<Vec<ModelVersion>> {
    validation::validate_model_name(name)?;
    model_exists(conn, name)?;
    let mut latest = latest_versions(conn, &json_ids(std::iter::once(name))?)?;
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

fn logged_model_location(
    conn: &Connection,
    model_id: &str,
) -> StoreResult<Option<(String, Option<String>)>> {
    query_opt(
        conn,
        "SELECT artifact_location, source_run_id FROM logged_models WHERE model_id = ? AND lifecycle_stage = 'active'",
        [model_id],
        |row| Ok((row.col(0)?, row.col(1)?)),
    )
}

fn resolve_source(conn: &Connection, new: &NewModelVersion) -> StoreResult<ResolvedSource> {
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
            let (location, source_run_id) =
                logged_model_location(conn, rest)?.ok_or_else(unresolvable)?;
            resolved.storage_location = location;
            resolved.run_id = resolved.run_id.or(source_run_id);
            resolved.model_id = resolved.model_id.or_else(|| Some(rest.to_owned()));
        } else if let Some((name, version)) = rest.rsplit_once('/') {
            // `models:/<name>/<version>`: register the same artifacts again.
            let version = validation::parse_version(version).map_err(|_| unresolvable())?;
            resolved.storage_location = query_opt(
                conn,
                "SELECT storage_location FROM model_versions WHERE name = ? AND version = ?",
                params![name, version],
                |row| row.col(0),
            )?
            .ok_or_else(unresolvable)?;
        }
    }
    if resolved.run_id.is_none()
        && let Some(model_id) = &resolved.model_id
        && let Some((_, source_run_id)) = logged_model_location(conn, model_id)?
    {
        resolved.run_id = source_run_id;
    }
    Ok(resolved)
}

pub(crate) fn create_version(
    conn: &mut Connection,
    new: &NewModelVersion,
) -> StoreResult<ModelVersion> {
    validation::validate_model_name(&new.name)?;
    validation::require(&new.source, "source")?;
    for tag in &new.tags {
        validation::validate_registry_tag(tag)?;
    }
    let tx = conn.savepoint().map_err(db_err)?;
    let last_version: i64 = query_opt(
        &tx,
        "SELECT last_version FROM registered_models WHERE name = ?",
        [&new.name],
        |row| row.col(0),
    )?
    .ok_or_else(|| model_not_found(&new.name))?;
    let resolved = resolve_source(&tx, new)?;
    validation::validate_version_source(&new.source, resolved.run_id.as_deref())?;
    let version = last_version + 1;
    let now = now_ms();
    execute(
        &tx,
        "UPDATE registered_models SET last_version = ?, last_updated_timestamp = ? WHERE name = ?",
        params![version, now, new.name],
    )?;
    execute(
        &tx,
        "INSERT INTO model_versions (name, version, creation_timestamp, last_updated_timestamp, \
         description, current_stage, source, storage_location, run_id, run_link, status, model_id) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            new.name,
            version,
            now,
            now,
            new.description,
            ModelStage::None.as_str(),
            new.source,
            resolved.storage_location,
            resolved.run_id,
            new.run_link.as_deref().filter(|l| !l.is_empty()),
            ModelVersionStatus::Ready.as_str(),
            resolved.model_id
        ],
    )?;
    for tag in &new.tags {
        upsert_version_tag(&tx, &new.name, version, tag)?;
    }
    if let Some(model_id) = &resolved.model_id {
        record_registration(&tx, model_id, &new.name, version)?;
    }
    let created = get_version(&tx, &new.name, version)?;
    tx.commit().map_err(db_err)?;
    Ok(created)
}

/// The logged-model tag listing the versions that register it (a JSON list of
/// `{"name", "version"}`), which MLflow's server keeps so the UI can link both ways.
const MODEL_VERSIONS_TAG: &str = "mlflow.modelVersions";

fn record_registration(
    conn: &Connection,
    model_id: &str,
    name: &str,
    version: i64,
) -> StoreResult<()> {
    if logged_model_location(conn, model_id)?.is_none() {
        return Ok(());
    }
    let existing: Option<String> = query_opt(
        conn,
        "SELECT value FROM logged_model_tags WHERE model_id = ? AND key = ?",
        params![model_id, MODEL_VERSIONS_TAG],
        |row| row.col(0),
    )?;
    // A hand-edited tag that is not a JSON list is replaced rather than failing registration.
    let mut entries: Vec<serde_json::Value> = existing
        .and_then(|v| serde_json::from_str(&v).ok())
        .unwrap_or_default();
    let entry = serde_json::json!({"name": name, "version": version.to_string()});
    if !entries.contains(&entry) {
        entries.push(entry);
    }
    execute(
        conn,
        "INSERT INTO logged_model_tags (model_id, key, value) VALUES (?, ?, ?) \
         ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value",
        params![
            model_id,
            MODEL_VERSIONS_TAG,
            serde_json::Value::Array(entries).to_string()
        ],
    )?;
    Ok(())
}

fn upsert_version_tag(conn: &Connection, name: &str, version: i64, tag: &Tag) -> StoreResult<()> {
    execute(
        conn,
        "INSERT INTO model_version_tags (name, version, key, value) VALUES (?, ?, ?, ?) \
         ON CONFLICT (name, version, key) DO UPDATE SET value = excluded.value",
        params![name, version, tag.key, tag.value],
    )?;
    Ok(())
}

pub(crate) fn get_version(
    conn: &Connection,
    name: &str,
    version: i64,
) -> StoreResult<ModelVersion> {
    validation::validate_model_name(name)?;
    let found = query_opt(
        conn,
        &format!(
            "SELECT {VERSION_COLUMNS} FROM model_versions v WHERE v.name = ? AND v.version = ?"
        ),
        params![name, version],
        decode_version,
    )?
    .ok_or_else(|| version_not_found(name, version))?;
    Ok(with_version_children(conn, vec![found])?.remove(0))
}

pub(crate) fn update_version(
    conn: &Connection,
    name: &str,
    version: i64,
    description: Option<&str>,
) -> StoreResult<ModelVersion> {
    validation::validate_model_name(name)?;
    // Only the version's own timestamp moves; MLflow leaves the registered model's alone.
    let updated = execute(
        conn,
        "UPDATE model_versions SET description = ?, last_updated_timestamp = ? WHERE name = ? AND version = ?",
        params![description, now_ms(), name, version],
    )?;
    if updated == 0 {
        return Err(version_not_found(name, version));
    }
    get_version(conn, name, version)
}

pub(crate) fn delete_version(conn: &mut Connection, name: &str, version: i64) -> StoreResult<()> {
    validation::validate_model_name(name)?;
    let tx = conn.savepoint().map_err(db_err)?;
    // Tags and the aliases pointing here cascade.
    if execute(
        &tx,
        "DELETE FROM model_versions WHERE name = ? AND version = ?",
        params![name, version],
    )? == 0
    {
        return Err(version_not_found(name, version));
    }
    execute(
        &tx,
        "UPDATE registered_models SET last_updated_timestamp = ? WHERE name = ?",
        params![now_ms(), name],
    )?;
    tx.commit().map_err(db_err)
}

pub(crate) fn set_version_tag(
    conn: &Connection,
    name: &str,
    version: i64,
    tag: &Tag,
) -> StoreResult<()> {
    validation::validate_model_name(name)?;
    validation::validate_registry_tag(tag)?;
    version_exists(conn, name, version)?;
    upsert_version_tag(conn, name, version, tag)
}

pub(crate) fn delete_version_tag(
    conn: &Connection,
    name: &str,
    version: i64,
    key: &str,
) -> StoreResult<()> {
    validation::validate_model_name(name)?;
    version_exists(conn, name, version)?;
    execute(
        conn,
        "DELETE FROM model_version_tags WHERE name = ? AND version = ? AND key = ?",
        params![name, version, key],
    )?;
    Ok(())
}

pub(crate) fn transition_stage(
    conn: &mut Connection,
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
    let tx = conn.savepoint().map_err(db_err)?;
    version_exists(&tx, name, version)?;
    let now = now_ms();
    if archive_existing {
        execute(
            &tx,
            "UPDATE model_versions SET current_stage = ?, last_updated_timestamp = ? \
             WHERE name = ? AND version != ? AND current_stage = ?",
            params![
                ModelStage::Archived.as_str(),
                now,
                name,
                version,
                stage.as_str()
            ],
        )?;
    }
    execute(
        &tx,
        "UPDATE model_versions SET current_stage = ?, last_updated_timestamp = ? WHERE name = ? AND version = ?",
        params![stage.as_str(), now, name, version],
    )?;
    execute(
        &tx,
        "UPDATE registered_models SET last_updated_timestamp = ? WHERE name = ?",
        params![now, name],
    )?;
    let moved = get_version(&tx, name, version)?;
    tx.commit().map_err(db_err)?;
    Ok(moved)
}

pub(crate) fn download_uri(conn: &Connection, name: &str, version: i64) -> StoreResult<String> {
    validation::validate_model_name(name)?;
    query_opt(
        conn,
        "SELECT storage_location FROM model_versions WHERE name = ? AND version = ?",
        params![name, version],
        |row| row.col(0),
    )?
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

/// ` AND <owner> IN (SELECT <columns> FROM <table> WHERE key = ? AND value <op> ?)`.
fn push_tag_clause(
    builder: &mut Sql,
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

fn push_prompt_exclusion(builder: &mut Sql, owner: &str, columns: &str, table: &str) {
    builder.push(format!(
        " AND {owner} NOT IN (SELECT {columns} FROM {table} WHERE key = "
    ));
    builder.push_bind(PROMPT_TAG.to_owned());
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

pub(crate) fn search_models(
    conn: &Connection,
    query: &RegistryQuery,
) -> StoreResult<Page<RegisteredModel>> {
    let mut builder = Sql::new(format!(
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
    let models = builder.rows(conn, decode_model)?;
    let page = Page::from_overfetch(models, query.page_token.offset, query.max_results);
    Ok(Page {
        items: with_model_children(conn, page.items)?,
        next_page_token: page.next_page_token,
    })
}

fn push_page(builder: &mut Sql, query: &RegistryQuery) {
    builder.push(" LIMIT ");
    builder.push_bind((query.max_results + 1) as i64);
    builder.push(" OFFSET ");
    builder.push_bind(query.page_token.offset as i64);
}

pub(crate) fn search_versions(
    conn: &Connection,
    query: &RegistryQuery,
) -> StoreResult<Page<ModelVersion>> {
    let mut builder = Sql::new(format!(
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
    let versions = builder.rows(conn, decode_version)?;
    let page = Page::from_overfetch(versions, query.page_token.offset, query.max_results);
    Ok(Page {
        items: with_version_children(conn, page.items)?,
        next_page_token: page.next_page_token,
    })
}
