//! Inputs of store operations that carry more than an id.

use judgeflow_domain::search::{Comparison, OrderBy};
use judgeflow_domain::{Param, RunStatus, Tag, ViewType};

use crate::PageToken;

#[derive(Debug, Clone, Default)]
pub struct NewExperiment {
    pub name: String,
    /// Where artifacts go; `None` means `<default root>/<experiment id>`.
    pub artifact_location: Option<String>,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone)]
pub struct ExperimentQuery {
    pub filter: Vec<Comparison>,
    pub order_by: Vec<OrderBy>,
    pub view: ViewType,
    pub max_results: usize,
    pub page_token: PageToken,
}

#[derive(Debug, Clone, Default)]
pub struct NewRun {
    pub experiment_id: String,
    pub user_id: String,
    pub run_name: Option<String>,
    pub start_time: i64,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Default)]
pub struct RunUpdate {
    pub status: Option<RunStatus>,
    pub end_time: Option<i64>,
    pub run_name: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RunQuery {
    pub experiment_ids: Vec<String>,
    pub filter: Vec<Comparison>,
    pub order_by: Vec<OrderBy>,
    pub view: ViewType,
    pub max_results: usize,
    pub page_token: PageToken,
}

#[derive(Debug, Clone)]
pub struct MetricIntervalQuery {
    pub run_ids: Vec<String>,
    pub metric_key: String,
    pub max_results: usize,
    pub start_step: Option<i64>,
    pub end_step: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct NewLoggedModel {
    pub experiment_id: String,
    pub name: Option<String>,
    pub model_type: Option<String>,
    pub source_run_id: Option<String>,
    pub params: Vec<Param>,
    pub tags: Vec<Tag>,
}

/// Order-by for logged models arrives structured, not as text.
#[derive(Debug, Clone)]
pub struct LoggedModelOrder {
    pub field_name: String,
    pub ascending: bool,
}

#[derive(Debug, Clone)]
pub struct LoggedModelQuery {
    pub experiment_ids: Vec<String>,
    pub filter: Vec<Comparison>,
    pub order_by: Vec<LoggedModelOrder>,
    pub max_results: usize,
    pub page_token: PageToken,
}
