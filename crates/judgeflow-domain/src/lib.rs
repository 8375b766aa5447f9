//! Judgeflow's domain: the entities the tracking server stores (experiments, runs with their
//! params, tags and metric history, dataset inputs, model outputs, logged models), the
//! model registry (registered models, versions, aliases, stages), MLflow 3 traces with their
//! spans and assessments, evaluation datasets and their records, the validation rules MLflow
//! clients rely on, and one parser for MLflow's filter and order-by grammar.
//!
//! Nothing here does I/O: the store crates turn a parsed [`search::Filter`] into SQL, the API
//! crate turns entities into MLflow's JSON.

pub mod entities;
pub mod error;
pub mod evaluation_datasets;
pub mod ids;
pub mod registry;
pub mod search;
pub mod traces;
pub mod validation;

pub use entities::*;
pub use error::DomainError;
pub use registry::*;
pub use traces::{
    Assessment, AssessmentError, AssessmentKind, AssessmentSource, AssessmentUpdate,
    ExpectationValue, SpanRecord, TraceInfo, TraceState,
};
