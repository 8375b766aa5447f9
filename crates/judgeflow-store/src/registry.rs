//! The model registry's storage contract.
//!
//! A separate trait so that the registry reads as its own surface, but every
//! [`crate::TrackingStore`] is also a [`RegistryStore`]: versions point at runs and logged
//! models in the same database, and handlers keep one `Arc<dyn TrackingStore>`.

use async_trait::async_trait;
use judgeflow_domain::search::{Comparison, OrderBy};
use judgeflow_domain::{ModelStage, ModelVersion, RegisteredModel, Tag};

use crate::{Page, PageToken, StoreResult};

#[derive(Debug, Clone, Default)]
pub struct NewRegisteredModel {
    pub name: String,
    pub description: Option<String>,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Default)]
pub struct NewModelVersion {
    pub name: String,
    pub source: String,
    pub run_id: Option<String>,
    pub run_link: Option<String>,
    pub description: Option<String>,
    pub model_id: Option<String>,
    pub tags: Vec<Tag>,
}

/// A search over registered models or model versions. An empty `order_by` means the
/// entity's default order.
#[derive(Debug, Clone)]
pub struct RegistryQuery {
    pub filter: Vec<Comparison>,
    pub order_by: Vec<OrderBy>,
    pub max_results: usize,
    pub page_token: PageToken,
}

/// Registered models and their versions. Every method is atomic. Names are validated here
/// (not only by handlers) so every caller gets MLflow's rules.
#[async_trait]
pub trait RegistryStore: Send + Sync + 'static {
    // ---- registered models ----
    /// A taken name is `AlreadyExists`.
    async fn create_registered_model(
        &self,
        new: NewRegisteredModel,
    ) -> StoreResult<RegisteredModel>;
    async fn get_registered_model(&self, name: &str) -> StoreResult<RegisteredModel>;
    /// Prompts are left out unless the filter asks for them by their tag.
    async fn search_registered_models(
        &self,
        query: &RegistryQuery,
    ) -> StoreResult<Page<RegisteredModel>>;
    async fn update_registered_model(
        &self,
        name: &str,
        description: Option<String>,
    ) -> StoreResult<RegisteredModel>;
    /// The versions, tags and aliases move with the model.
    async fn rename_registered_model(
        &self,
        name: &str,
        new_name: &str,
    ) -> StoreResult<RegisteredModel>;
    /// A hard delete of the model and everything under it; the name becomes free.
    async fn delete_registered_model(&self, name: &str) -> StoreResult<()>;
    async fn set_registered_model_tag(&self, name: &str, tag: Tag) -> StoreResult<()>;
    /// Deleting a tag that is not there is not an error (as in MLflow).
    async fn delete_registered_model_tag(&self, name: &str, key: &str) -> StoreResult<()>;
    async fn set_registered_model_alias(
        &self,
        name: &str,
        alias: &str,
        version: i64,
    ) -> StoreResult<()>;
    async fn delete_registered_model_alias(&self, name: &str, alias: &str) -> StoreResult<()>;
    /// `latest` (any case) resolves to the highest version.
    async fn get_model_version_by_alias(
        &self,
        name: &str,
        alias: &str,
    ) -> StoreResult<ModelVersion>;
    /// The highest version in each of `stages` (all stages when empty).
    async fn get_latest_versions(
        &self,
        name: &str,
        stages: &[ModelStage],
    ) -> StoreResult<Vec<ModelVersion>>;

    // ---- model versions ----
    /// Allocates the next version number. A `models:/m-…` source (or a `model_id`) fills a
    /// missing `run_id` from the logged model. Bumps the model's `last_updated_timestamp`.
    async fn create_model_version(&self, new: NewModelVersion) -> StoreResult<ModelVersion>;
    async fn get_model_version(&self, name: &str, version: i64) -> StoreResult<ModelVersion>;
    /// Changes the description only; the registered model's timestamp stays.
    async fn update_model_version(
        &self,
        name: &str,
        version: i64,
        description: Option<String>,
    ) -> StoreResult<ModelVersion>;
    /// Removes the version and the aliases pointing at it; its number is not reused.
    async fn delete_model_version(&self, name: &str, version: i64) -> StoreResult<()>;
    async fn set_model_version_tag(&self, name: &str, version: i64, tag: Tag) -> StoreResult<()>;
    async fn delete_model_version_tag(
        &self,
        name: &str,
        version: i64,
        key: &str,
    ) -> StoreResult<()>;
    /// With `archive_existing`, the other versions in the target stage become `Archived`.
    async fn transition_model_version_stage(
        &self,
        name: &str,
        version: i64,
        stage: ModelStage,
        archive_existing: bool,
    ) -> StoreResult<ModelVersion>;
    /// Where the version's artifacts can be read: the logged model's artifact location for
    /// `models:/m-…` sources, the source itself otherwise.
    async fn get_model_version_download_uri(&self, name: &str, version: i64)
    -> StoreResult<String>;
    /// Prompt versions are left out unless the filter asks for them by their tag.
    async fn search_model_versions(&self, query: &RegistryQuery)
    -> StoreResult<Page<ModelVersion>>;
}
