//! The native evaluation engine behind `judgeflow eval run suite.yaml`.
//!
//! 1. [`suite::load`] reads a suite file (YAML, `${ENV}` interpolation, strict fields, errors
//!    naming file, line and field).
//! 2. [`run_suite`] builds one shared client per endpoint (target and judge models, with the
//!    call cache attached), the target and the scorers, then streams the rows of the suite's
//!    [`source`] (a data file, a stored evaluation dataset, or traces by filter) through
//!    a bounded pipeline: per row the target call, then every scorer at once, then the row
//!    written whole to the [`ResultSink`] before it is counted: [`StoreSink`] writes a local
//!    store directly, [`RestSink`] a tracking server through its MLflow REST API.
//! 3. The run ends with metrics (`<scorer>/mean`, pass rates, latency percentiles, errors,
//!    cache hits, tokens and cost) and the results table as artifacts; the returned
//!    [`RunReport`] renders as a table, JSON, `JUnit` or Markdown ([`report`]) and holds the
//!    gate's verdict ([`RunReport::exit_code`]).
//!
//! The engine reads no environment variables and installs no signal handler: secrets arrive
//! through a lookup in [`RunOptions`], a stop request through a watch channel.

mod cache;
mod error;
mod gate;
mod judge;
mod ledger;
mod outcome;
pub mod report;
mod rest_client;
mod rest_sink;
mod results;
pub mod rows;
mod run;
mod scorer;
mod sink;
pub mod source;
pub mod suite;
mod summary;
mod target;
pub mod template;

pub use cache::StoreCallCache;
pub use error::EngineError;
pub use gate::GateCheck;
pub use ledger::{Ledger, Spend};
pub use rest_client::{RestAuth, RestError, RestOptions};
pub use rest_sink::RestSink;
pub use run::{NoProgress, Progress, ProgressStats, RunOptions, run_suite};
pub use sink::{
    DatasetRef, PriorRow, ROW_INDEX_TAG, ResultSink, RunFinish, RunPlan, RunRef, StoreSink,
};
pub use source::{RestData, StoreData, StoredData};
pub use suite::{LoadedSuite, Suite, SuiteError};
pub use summary::{RunReport, ScorerStats, Summary};
