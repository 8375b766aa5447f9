//! The storage contract of Judgeflow's tracking server.
//!
//! [`TrackingStore`] (with its [`RegistryStore`], [`TraceStore`], [`DatasetStore`] and
//! [`CallCacheStore`] parts) is what handlers and the CLI call; each backend (SQLite now, PostgreSQL
//! next) implements it in its own crate, with its own migrations. Inputs arrive validated and
//! parsed (filters are [`judgeflow_domain::search::Comparison`]s), so a backend only decides
//! how to store and query. The `conformance` feature exposes a test suite generic over the
//! trait that every backend must pass.

mod call_cache;
mod datasets;
mod error;
mod page;
mod query;
mod registry;
mod traces;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use call_cache::*;
pub use datasets::*;
pub use error::{StoreError, StoreResult};
pub use page::{Page, PageToken};
pub use query::*;
pub use registry::*;
pub use traces::*;

use async_trait::async_trait;
use judgeflow_domain::{
    DatasetInput, Experiment, LoggedModel, LoggedModelStatus, Metric, ModelInput, ModelOutput,
    Param, Run, RunInfo, RunStatus, Tag,
};

/// Everything the tracking server persists, model registry included. Every method is atomic:
/// a failed call changes nothing.
#[async_trait]
pub trait TrackingStore: RegistryStore + TraceStore + DatasetStore + CallCacheStore {
    // ---- experiments ----
    /// Creates an experiment and returns its id. A taken name (even by a deleted experiment) is
    /// `AlreadyExists`.
    async fn create_experiment(&self, new: NewExperiment) -> StoreResult<String>;
    async fn get_experiment(&self, experiment_id: &str) -> StoreResult<Experiment>;
    async fn get_experiment_by_name(&self, name: &str) -> StoreResult<Experiment>;
    async fn search_experiments(&self, query: &ExperimentQuery) -> StoreResult<Page<Experiment>>;
    async fn rename_experiment(&self, experiment_id: &str, new_name: &str) -> StoreResult<()>;
    /// Soft delete: the experiment and its runs become `deleted`; the name stays reserved.
    async fn delete_experiment(&self, experiment_id: &str) -> StoreResult<()>;
    async fn restore_experiment(&self, experiment_id: &str) -> StoreResult<()>;
    async fn set_experiment_tag(&self, experiment_id: &str, tag: Tag) -> StoreResult<()>;
    async fn delete_experiment_tag(&self, experiment_id: &str, key: &str) -> StoreResult<()>;

    // ---- runs ----
    async fn create_run(&self, new: NewRun) -> StoreResult<Run>;
    async fn get_run(&self, run_id: &str) -> StoreResult<Run>;
    async fn update_run(&self, run_id: &str, update: RunUpdate) -> StoreResult<RunInfo>;
    async fn delete_run(&self, run_id: &str) -> StoreResult<()>;
    async fn restore_run(&self, run_id: &str) -> StoreResult<()>;
    /// Appends metrics, adds params (immutable) and upserts tags in one transaction.
    async fn log_batch(
        &self,
        run_id: &str,
        metrics: Vec<Metric>,
        params: Vec<Param>,
        tags: Vec<Tag>,
    ) -> StoreResult<()>;
    async fn delete_run_tag(&self, run_id: &str, key: &str) -> StoreResult<()>;
    async fn log_inputs(
        &self,
        run_id: &str,
        datasets: Vec<DatasetInput>,
        models: Vec<ModelInput>,
    ) -> StoreResult<()>;
    async fn log_outputs(&self, run_id: &str, models: Vec<ModelOutput>) -> StoreResult<()>;
    async fn search_runs(&self, query: &RunQuery) -> StoreResult<Page<Run>>;
    /// The full history of one metric, ordered by timestamp, step, value.
    async fn get_metric_history(
        &self,
        run_id: &str,
        key: &str,
        max_results: usize,
        page_token: Option<&PageToken>,
    ) -> StoreResult<Page<Metric>>;
    /// Up to `max_results` points per run, sampled evenly across steps (for charts).
    async fn get_metric_history_bulk_interval(
        &self,
        query: &MetricIntervalQuery,
    ) -> StoreResult<Vec<Metric>>;

    // ---- logged models ----
    async fn create_logged_model(&self, new: NewLoggedModel) -> StoreResult<LoggedModel>;
    async fn get_logged_model(&self, model_id: &str) -> StoreResult<LoggedModel>;
    async fn set_logged_model_status(
        &self,
        model_id: &str,
        status: LoggedModelStatus,
        status_message: Option<String>,
    ) -> StoreResult<LoggedModel>;
    async fn set_logged_model_tags(&self, model_id: &str, tags: Vec<Tag>) -> StoreResult<()>;
    async fn delete_logged_model_tag(&self, model_id: &str, key: &str) -> StoreResult<()>;
    async fn log_logged_model_params(&self, model_id: &str, params: Vec<Param>) -> StoreResult<()>;
    async fn search_logged_models(
        &self,
        query: &LoggedModelQuery,
    ) -> StoreResult<Page<LoggedModel>>;
    async fn delete_logged_model(&self, model_id: &str) -> StoreResult<()>;
}

/// Run statuses accepted by `update_run`, re-exported for convenience.
pub type Status = RunStatus;
