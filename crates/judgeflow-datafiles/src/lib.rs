//! Evaluation rows from data files, and the results table back out to files.
//!
//! The evaluation engine reads its dataset through [`open`], which returns a [`RowReader`]: an
//! iterator of [`EvalRow`]s pulled one at a time from CSV, JSONL or Parquet, so memory stays flat
//! in the size of the dataset. A [`ColumnMapping`] says which columns become the row's inputs,
//! expectations, recorded outputs, tags, id and retrieved context. A bad row is an `Err` item,
//! not the end of the iteration: the engine decides whether one bad row stops a run.
//!
//! After scoring, [`ResultsWriter`] writes the per-row table as `eval_results.parquet` and
//! [`ResultsJsonWriter`] the same records as `eval_results.json`, both streamed.

mod error;
mod mapping;
mod reader;
mod results;

pub use error::{DataError, DataErrorKind, Location};
pub use mapping::ColumnMapping;
pub use reader::{EvalRow, Format, RowReader, open};
pub use results::{JsonLayout, ResultRecord, ResultsJsonWriter, ResultsWriter, ScoreCell};
