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
//!
//! ```no_run
//! use std::path::Path;
//!
//! use judgeflow_datafiles::{ColumnMapping, JsonLayout, ResultRecord, ResultsJsonWriter, ResultsWriter, open};
//!
//! # fn main() -> Result<(), judgeflow_datafiles::DataError> {
//! let mapping = ColumnMapping { inputs: vec!["question".into()], ..ColumnMapping::default() };
//! let scorers = vec!["exact_match".to_owned()];
//! let mut table = ResultsWriter::create(Path::new("eval_results.parquet"), &scorers)?;
//! let mut json = ResultsJsonWriter::create(Path::new("eval_results.json"), JsonLayout::Array)?;
//! for row in open(Path::new("data/qa.csv"), None, &mapping)? {
//!     let row = match row {
//!         Ok(row) => row,
//!         // One line: "data/qa.csv: row 17, column 'question': ..."; the next row still comes.
//!         Err(bad_row) => { eprintln!("{bad_row}"); continue; }
//!     };
//!     let record = ResultRecord {
//!         row_index: row.index,
//!         row_id: row.id,
//!         inputs: row.inputs.into(),
//!         expectations: row.expectations.into(),
//!         outputs: row.outputs.unwrap_or_default(),
//!         ..ResultRecord::default()
//!     };
//!     table.write(&record)?;
//!     json.write(&record)?;
//! }
//! table.finish()?;
//! json.finish()
//! # }
//! ```

mod arrow_json;
mod cell;
mod error;
mod mapping;
mod reader;
mod results;

pub use error::{DataError, DataErrorKind, Location};
pub use mapping::ColumnMapping;
pub use reader::{EvalRow, Format, PARQUET_BATCH_ROWS, RowReader, open};
pub use results::{
    JsonLayout, RESULTS_ROW_GROUP_ROWS, ResultRecord, ResultsJsonWriter, ResultsWriter, ScoreCell,
};
