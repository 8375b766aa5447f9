//! The storage contract of evaluation datasets (`mlflow.genai.datasets`).
//!
//! A separate trait, like [`crate::RegistryStore`], but every [`crate::TrackingStore`] is
//! also a [`DatasetStore`]: datasets link to experiments in the same database. Records are
//! upserted by their inputs' hash ([`judgeflow_domain::evaluation_datasets::input_hash`]) and
//! read a page at a time, so no call ever holds a whole dataset.

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use judgeflow_domain::Tag;
use judgeflow_domain::evaluation_datasets::{DatasetRecord, EvaluationDataset, RecordUpsert};
use judgeflow_domain::search::{Comparison, OrderBy};

use crate::{Page, PageToken, StoreError, StoreResult};

#[derive(Debug, Clone, Default)]
pub struct NewEvaluationDataset {
    pub name: String,
    /// A `mlflow.user` tag names the creator.
    pub tags: Vec<Tag>,
    pub experiment_ids: Vec<String>,
}

/// A dataset search. An empty `order_by` means `created_time DESC`; ties always break on the
/// dataset id, descending.
#[derive(Debug, Clone)]
pub struct DatasetQuery {
    /// Datasets linked to any of these experiments; all datasets when empty.
    pub experiment_ids: Vec<String>,
    pub filter: Vec<Comparison>,
    pub order_by: Vec<OrderBy>,
    pub max_results: usize,
    pub page_token: PageToken,
}

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UpsertCounts {
    pub inserted: usize,
    pub updated: usize,
}

/// Where a page of records resumes: after this (created time, record id), the order records
/// are read in. Encoded as MLflow encodes it (base64 of `"<created_time>:<record id>"`), so a
/// token stays valid however many records are added or deleted meanwhile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordCursor {
    pub created_time: i64,
    pub dataset_record_id: String,
}

impl RecordCursor {
    #[must_use]
    pub fn encode(&self) -> String {
        STANDARD.encode(format!("{}:{}", self.created_time, self.dataset_record_id))
    }

    /// Decodes a client-supplied token; an empty one means the first page.
    pub fn decode(token: Option<&str>) -> StoreResult<Option<Self>> {
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        let invalid = || StoreError::InvalidParameter(format!("Invalid page token '{token}'"));
        let bytes = STANDARD.decode(token).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let (time, id) = text.split_once(':').ok_or_else(invalid)?;
        Ok(Some(Self {
            created_time: time.parse().map_err(|_| invalid())?,
            dataset_record_id: id.to_owned(),
        }))
    }
}

/// Evaluation datasets and their records. Every method is atomic.
///
/// Unknown datasets are `NotFound`, except for the deletes (dataset, tag, records), which are
/// idempotent as in MLflow. A dataset's `digest` changes with each upsert, its `profile`
/// counts its records, and its `schema` collects the field types upserts have brought.
#[async_trait]
pub trait DatasetStore: Send + Sync + 'static {
    /// Every experiment must exist (`NotFound` otherwise).
    async fn create_dataset(&self, new: NewEvaluationDataset) -> StoreResult<EvaluationDataset>;
    async fn get_dataset(&self, dataset_id: &str) -> StoreResult<EvaluationDataset>;
    async fn search_datasets(&self, query: &DatasetQuery) -> StoreResult<Page<EvaluationDataset>>;
    /// Removes the dataset with its records, tags and experiment links.
    async fn delete_dataset(&self, dataset_id: &str) -> StoreResult<()>;
    /// Upserts tags; the dataset's update time does not move (as in MLflow).
    async fn set_dataset_tags(&self, dataset_id: &str, tags: Vec<Tag>) -> StoreResult<()>;
    async fn delete_dataset_tag(&self, dataset_id: &str, key: &str) -> StoreResult<()>;
    /// Inserts records with new inputs and merges the others, in one transaction. The dataset
    /// gets a new update time and digest, `last_updated_by` from the batch's last `mlflow.user`
    /// record tag (none if no record carries one, as MLflow does), the grown schema and the
    /// new record count. A batch that leaves the dataset empty keeps the old profile.
    async fn upsert_dataset_records(
        &self,
        dataset_id: &str,
        records: Vec<RecordUpsert>,
    ) -> StoreResult<UpsertCounts>;
    /// Up to `max_results` records in (created time, id) order, after `cursor`.
    async fn get_dataset_records(
        &self,
        dataset_id: &str,
        max_results: usize,
        cursor: Option<RecordCursor>,
    ) -> StoreResult<Page<DatasetRecord>>;
    /// Deletes the listed records of the dataset and returns how many there were. The profile
    /// follows (the JSON text `null` once empty, as MLflow writes it); the schema, digest and
    /// update time stay.
    async fn delete_dataset_records(
        &self,
        dataset_id: &str,
        dataset_record_ids: &[String],
    ) -> StoreResult<usize>;
    async fn get_dataset_experiment_ids(&self, dataset_id: &str) -> StoreResult<Vec<String>>;
    /// Links the dataset to more experiments (each must exist); bumps the update time.
    async fn add_dataset_to_experiments(
        &self,
        dataset_id: &str,
        experiment_ids: &[String],
    ) -> StoreResult<EvaluationDataset>;
    /// Unlinks; ids that were not linked are ignored. Bumps the update time if any was.
    async fn remove_dataset_from_experiments(
        &self,
        dataset_id: &str,
        experiment_ids: &[String],
    ) -> StoreResult<EvaluationDataset>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_cursors_round_trip_and_reject_garbage() {
        let cursor = RecordCursor {
            created_time: 17,
            dataset_record_id: "dr-1".into(),
        };
        assert_eq!(cursor.encode(), STANDARD.encode("17:dr-1"));
        assert_eq!(
            RecordCursor::decode(Some(&cursor.encode())).unwrap(),
            Some(cursor)
        );
        assert_eq!(RecordCursor::decode(Some("")).unwrap(), None);
        assert!(RecordCursor::decode(Some("%%%")).is_err());
        assert!(RecordCursor::decode(Some(&STANDARD.encode("x:dr-1"))).is_err());
    }
}
