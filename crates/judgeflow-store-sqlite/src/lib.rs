//! SQLite backend of [`judgeflow_store::TrackingStore`] and its model registry half
//! ([`judgeflow_store::RegistryStore`]): the embedded default.
//!
//! One file in WAL mode. Writes go through a single-connection pool, so SQLite never has two
//! writers racing for the lock (which would surface as `SQLITE_BUSY` instead of waiting), and
//! readers use their own pool and never block on writers. Migrations run on open. SQL is built
//! with `sqlx::QueryBuilder` and bound parameters only.

mod experiments;
mod logged_models;
mod registry;
mod rows;
mod runs;
mod search;

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use judgeflow_domain::{
    DEFAULT_EXPERIMENT_ID, DEFAULT_EXPERIMENT_NAME, DatasetInput, Experiment, LoggedModel,
    LoggedModelStatus, Metric, ModelInput, ModelOutput, ModelStage, ModelVersion, Param,
    RegisteredModel, Run, RunInfo, Tag, now_ms,
};
use judgeflow_store::{
    ExperimentQuery, LoggedModelQuery, MetricIntervalQuery, NewExperiment, NewLoggedModel,
    NewModelVersion, NewRegisteredModel, NewRun, Page, PageToken, RegistryQuery, RegistryStore,
    RunQuery, RunUpdate, StoreError, StoreResult, TrackingStore,
};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

/// How to open a SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// The database file. Created if missing.
    pub path: PathBuf,
    /// The root artifact URI experiments default to (`mlflow-artifacts:` when proxying).
    pub default_artifact_root: String,
    /// Connections in the read pool.
    pub read_connections: u32,
}

impl SqliteOptions {
    /// Parses a tracking URI: `sqlite:///relative.db`, `sqlite:////absolute.db`, or a bare path.
    pub fn from_uri(uri: &str, default_artifact_root: impl Into<String>) -> StoreResult<Self> {
        let path = if let Some(rest) = uri.strip_prefix("sqlite:///") {
            rest.to_owned()
        } else if let Some(rest) = uri.strip_prefix("sqlite://") {
            rest.to_owned()
        } else if uri.contains("://") {
            return Err(StoreError::InvalidParameter(format!(
                "Unsupported backend store URI '{uri}': expected sqlite:///<path> or a file path"
            )));
        } else {
            uri.to_owned()
        };
        if path.is_empty() {
            return Err(StoreError::InvalidParameter(format!(
                "No database path in '{uri}'"
            )));
        }
        Ok(Self {
            path: PathBuf::from(path),
            default_artifact_root: default_artifact_root.into(),
            read_connections: 4,
        })
    }
}

/// The SQLite store. Cheap to clone (pools are shared).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    reader: SqlitePool,
    writer: SqlitePool,
    default_artifact_root: String,
}

pub(crate) fn db_err(error: sqlx::Error) -> StoreError {
    StoreError::internal(error)
}

impl SqliteStore {
    /// Opens (creating if needed) the database, runs migrations and ensures the Default
    /// experiment exists.
    pub async fn open(options: SqliteOptions) -> StoreResult<Self> {
        if let Some(parent) = options.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(StoreError::internal)?;
        }
        let connect = SqliteConnectOptions::from_str("sqlite:")
            .map_err(db_err)?
            .filename(&options.path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL in WAL mode is crash-safe (a kill never corrupts or half-applies a
            // transaction); only an OS crash may lose the last commits.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .pragma("cache_size", "-32000")
            .pragma("temp_store", "memory");
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .connect_with(connect.clone())
            .await
            .map_err(db_err)?;
        sqlx::migrate!("./migrations")
            .run(&writer)
            .await
            .map_err(StoreError::internal)?;
        let reader = SqlitePoolOptions::new()
            .max_connections(options.read_connections.max(1))
            .connect_with(connect.read_only(true))
            .await
            .map_err(db_err)?;
        let store = Self {
            reader,
            writer,
            default_artifact_root: options.default_artifact_root,
        };
        store.ensure_default_experiment().await?;
        Ok(store)
    }

    async fn ensure_default_experiment(&self) -> StoreResult<()> {
        let now = now_ms();
        sqlx::query(
            "INSERT OR IGNORE INTO experiments \
             (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time) \
             VALUES (?, ?, ?, 'active', ?, ?)",
        )
        .bind(0_i64)
        .bind(DEFAULT_EXPERIMENT_NAME)
        .bind(self.join_root(DEFAULT_EXPERIMENT_ID))
        .bind(now)
        .bind(now)
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    fn join_root(&self, tail: &str) -> String {
        format!(
            "{}/{tail}",
            self.default_artifact_root.trim_end_matches('/')
        )
    }

    /// Closes both pools, checkpointing the WAL.
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

#[async_trait]
impl TrackingStore for SqliteStore {
    async fn create_experiment(&self, new: NewExperiment) -> StoreResult<String> {
        experiments::create(self, new).await
    }
    async fn get_experiment(&self, experiment_id: &str) -> StoreResult<Experiment> {
        experiments::get(&self.reader, experiment_id).await
    }
    async fn get_experiment_by_name(&self, name: &str) -> StoreResult<Experiment> {
        experiments::get_by_name(&self.reader, name).await
    }
    async fn search_experiments(&self, query: &ExperimentQuery) -> StoreResult<Page<Experiment>> {
        experiments::search(&self.reader, query).await
    }
    async fn rename_experiment(&self, experiment_id: &str, new_name: &str) -> StoreResult<()> {
        experiments::rename(&self.writer, experiment_id, new_name).await
    }
    async fn delete_experiment(&self, experiment_id: &str) -> StoreResult<()> {
        experiments::set_stage(&self.writer, experiment_id, false).await
    }
    async fn restore_experiment(&self, experiment_id: &str) -> StoreResult<()> {
        experiments::set_stage(&self.writer, experiment_id, true).await
    }
    async fn set_experiment_tag(&self, experiment_id: &str, tag: Tag) -> StoreResult<()> {
        experiments::set_tag(&self.writer, experiment_id, tag).await
    }
    async fn delete_experiment_tag(&self, experiment_id: &str, key: &str) -> StoreResult<()> {
        experiments::delete_tag(&self.writer, experiment_id, key).await
    }

    async fn create_run(&self, new: NewRun) -> StoreResult<Run> {
        runs::create(self, new).await
    }
    async fn get_run(&self, run_id: &str) -> StoreResult<Run> {
        runs::get(&self.reader, run_id).await
    }
    async fn update_run(&self, run_id: &str, update: RunUpdate) -> StoreResult<RunInfo> {
        runs::update(&self.writer, run_id, update).await
    }
    async fn delete_run(&self, run_id: &str) -> StoreResult<()> {
        runs::set_stage(&self.writer, run_id, false).await
    }
    async fn restore_run(&self, run_id: &str) -> StoreResult<()> {
        runs::set_stage(&self.writer, run_id, true).await
    }
    async fn log_batch(
        &self,
        run_id: &str,
        metrics: Vec<Metric>,
        params: Vec<Param>,
        tags: Vec<Tag>,
    ) -> StoreResult<()> {
        runs::log_batch(&self.writer, run_id, metrics, params, tags).await
    }
    async fn delete_run_tag(&self, run_id: &str, key: &str) -> StoreResult<()> {
        runs::delete_tag(&self.writer, run_id, key).await
    }
    async fn log_inputs(
        &self,
        run_id: &str,
        datasets: Vec<DatasetInput>,
        models: Vec<ModelInput>,
    ) -> StoreResult<()> {
        runs::log_inputs(&self.writer, run_id, datasets, models).await
    }
    async fn log_outputs(&self, run_id: &str, models: Vec<ModelOutput>) -> StoreResult<()> {
        runs::log_outputs(&self.writer, run_id, models).await
    }
    async fn search_runs(&self, query: &RunQuery) -> StoreResult<Page<Run>> {
        search::search_runs(&self.reader, query).await
    }
    async fn get_metric_history(
        &self,
        run_id: &str,
        key: &str,
        max_results: usize,
        page_token: Option<&PageToken>,
    ) -> StoreResult<Page<Metric>> {
        runs::metric_history(
            &self.reader,
            run_id,
            key,
            max_results,
            page_token.copied().unwrap_or_default(),
        )
        .await
    }
    async fn get_metric_history_bulk_interval(
        &self,
        query: &MetricIntervalQuery,
    ) -> StoreResult<Vec<Metric>> {
        runs::metric_history_interval(&self.reader, query).await
    }

    async fn create_logged_model(&self, new: NewLoggedModel) -> StoreResult<LoggedModel> {
        logged_models::create(self, new).await
    }
    async fn get_logged_model(&self, model_id: &str) -> StoreResult<LoggedModel> {
        logged_models::get(&self.reader, model_id).await
    }
    async fn set_logged_model_status(
        &self,
        model_id: &str,
        status: LoggedModelStatus,
        status_message: Option<String>,
    ) -> StoreResult<LoggedModel> {
        logged_models::set_status(&self.writer, model_id, status, status_message).await?;
        logged_models::get(&self.writer, model_id).await
    }
    async fn set_logged_model_tags(&self, model_id: &str, tags: Vec<Tag>) -> StoreResult<()> {
        logged_models::set_tags(&self.writer, model_id, tags).await
    }
    async fn delete_logged_model_tag(&self, model_id: &str, key: &str) -> StoreResult<()> {
        logged_models::delete_tag(&self.writer, model_id, key).await
    }
    async fn log_logged_model_params(&self, model_id: &str, params: Vec<Param>) -> StoreResult<()> {
        logged_models::log_params(&self.writer, model_id, params).await
    }
    async fn search_logged_models(
        &self,
        query: &LoggedModelQuery,
    ) -> StoreResult<Page<LoggedModel>> {
        logged_models::search(&self.reader, query).await
    }
    async fn delete_logged_model(&self, model_id: &str) -> StoreResult<()> {
        logged_models::delete(&self.writer, model_id).await
    }
}

#[async_trait]
impl RegistryStore for SqliteStore {
    async fn create_registered_model(
        &self,
        new: NewRegisteredModel,
    ) -> StoreResult<RegisteredModel> {
        registry::create_model(&self.writer, new).await
    }
    async fn get_registered_model(&self, name: &str) -> StoreResult<RegisteredModel> {
        registry::get_model(&self.reader, name).await
    }
    async fn search_registered_models(
        &self,
        query: &RegistryQuery,
    ) -> StoreResult<Page<RegisteredModel>> {
        registry::search_models(&self.reader, query).await
    }
    async fn update_registered_model(
        &self,
        name: &str,
        description: Option<String>,
    ) -> StoreResult<RegisteredModel> {
        registry::update_model(&self.writer, name, description).await
    }
    async fn rename_registered_model(
        &self,
        name: &str,
        new_name: &str,
    ) -> StoreResult<RegisteredModel> {
        registry::rename_model(&self.writer, name, new_name).await
    }
    async fn delete_registered_model(&self, name: &str) -> StoreResult<()> {
        registry::delete_model(&self.writer, name).await
    }
    async fn set_registered_model_tag(&self, name: &str, tag: Tag) -> StoreResult<()> {
        registry::set_model_tag(&self.writer, name, tag).await
    }
    async fn delete_registered_model_tag(&self, name: &str, key: &str) -> StoreResult<()> {
        registry::delete_model_tag(&self.writer, name, key).await
    }
    async fn set_registered_model_alias(
        &self,
        name: &str,
        alias: &str,
        version: i64,
    ) -> StoreResult<()> {
        registry::set_alias(&self.writer, name, alias, version).await
    }
    async fn delete_registered_model_alias(&self, name: &str, alias: &str) -> StoreResult<()> {
        registry::delete_alias(&self.writer, name, alias).await
    }
    async fn get_model_version_by_alias(
        &self,
        name: &str,
        alias: &str,
    ) -> StoreResult<ModelVersion> {
        registry::get_version_by_alias(&self.reader, name, alias).await
    }
    async fn get_latest_versions(
        &self,
        name: &str,
        stages: &[ModelStage],
    ) -> StoreResult<Vec<ModelVersion>> {
        registry::get_latest_versions(&self.reader, name, stages).await
    }
    async fn create_model_version(&self, new: NewModelVersion) -> StoreResult<ModelVersion> {
        registry::create_version(self, new).await
    }
    async fn get_model_version(&self, name: &str, version: i64) -> StoreResult<ModelVersion> {
        registry::get_version(&self.reader, name, version).await
    }
    async fn update_model_version(
        &self,
        name: &str,
        version: i64,
        description: Option<String>,
    ) -> StoreResult<ModelVersion> {
        registry::update_version(&self.writer, name, version, description).await
    }
    async fn delete_model_version(&self, name: &str, version: i64) -> StoreResult<()> {
        registry::delete_version(&self.writer, name, version).await
    }
    async fn set_model_version_tag(&self, name: &str, version: i64, tag: Tag) -> StoreResult<()> {
        registry::set_version_tag(&self.writer, name, version, tag).await
    }
    async fn delete_model_version_tag(
        &self,
        name: &str,
        version: i64,
        key: &str,
    ) -> StoreResult<()> {
        registry::delete_version_tag(&self.writer, name, version, key).await
    }
    async fn transition_model_version_stage(
        &self,
        name: &str,
        version: i64,
        stage: ModelStage,
        archive_existing: bool,
    ) -> StoreResult<ModelVersion> {
        registry::transition_stage(&self.writer, name, version, stage, archive_existing).await
    }
    async fn get_model_version_download_uri(
        &self,
        name: &str,
        version: i64,
    ) -> StoreResult<String> {
        registry::download_uri(&self.reader, name, version).await
    }
    async fn search_model_versions(
        &self,
        query: &RegistryQuery,
    ) -> StoreResult<Page<ModelVersion>> {
        registry::search_versions(&self.reader, query).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tracking_uris() {
        let relative =
            SqliteOptions::from_uri("sqlite:///judgeflow.db", "mlflow-artifacts:").unwrap();
        assert_eq!(relative.path, PathBuf::from("judgeflow.db"));
        let absolute = SqliteOptions::from_uri("sqlite:////tmp/x.db", "mlflow-artifacts:").unwrap();
        assert_eq!(absolute.path, PathBuf::from("/tmp/x.db"));
        let bare = SqliteOptions::from_uri("./data/x.db", "mlflow-artifacts:").unwrap();
        assert_eq!(bare.path, PathBuf::from("./data/x.db"));
        assert!(SqliteOptions::from_uri("postgresql://x", "r").is_err());
    }
}
