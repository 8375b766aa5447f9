//! Integration tests of judgeflow-datafiles: one module per area. Every file is written by the
//! test itself, in a temporary directory.

mod csv_files;
mod errors;
mod jsonl_files;
mod parquet_files;
mod results;
mod streaming;
mod support;
