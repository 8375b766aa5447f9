//! 200,000 rows streamed: the reader's own buffers stay bounded and nothing is collected.

use std::io::{BufWriter, Write};
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use judgeflow_datafiles::{ColumnMapping, PARQUET_BATCH_ROWS, open};
use parquet::arrow::ArrowWriter;

use crate::support::Dir;

const ROWS: u64 = 200_000;

/// Iterates `path` without collecting; returns (rows, largest `buffered_bytes` seen).
fn stream(path: &std::path::Path) -> (u64, usize) {
    let mut reader = open(path, None, &ColumnMapping::default()).expect("open");
    let (mut count, mut peak) = (0, 0);
    while let Some(row) = reader.next() {
        let row = row.expect("good row");
        assert_eq!(row.index, count);
        count += 1;
        peak = peak.max(reader.buffered_bytes());
    }
    (count, peak)
}

#[test]
fn csv_200k_rows() {
    let dir = Dir::new();
    let path = dir.path("big.csv");
    let mut out = BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(out, "id,inputs,expected_response").unwrap();
    for i in 0..ROWS {
        writeln!(
            out,
            "r{i},\"{{\"\"question\"\": \"\"What is {i} + 1?\"\"}}\",{}",
            i + 1
        )
        .unwrap();
    }
    out.into_inner().unwrap().sync_all().unwrap();
    let (count, peak) = stream(&path);
    assert_eq!(count, ROWS);
    // The file is several MiB; the reader holds its 8 KiB buffer and one record.
    assert!(peak < 16 * 1024, "CSV reader buffered {peak} bytes");
}

#[test]
fn jsonl_200k_rows() {
    let dir = Dir::new();
    let path = dir.path("big.jsonl");
    let mut out = BufWriter::new(std::fs::File::create(&path).unwrap());
    for i in 0..ROWS {
        writeln!(
            out,
            r#"{{"id": "r{i}", "inputs": {{"question": "What is {i} + 1?"}}, "expected_response": "{}"}}"#,
            i + 1
        )
        .unwrap();
    }
    out.into_inner().unwrap().sync_all().unwrap();
    let (count, peak) = stream(&path);
    assert_eq!(count, ROWS);
    assert!(peak < 16 * 1024, "JSONL reader buffered {peak} bytes");
}

#[test]
fn parquet_200k_rows_one_batch_at_a_time() {
    let dir = Dir::new();
    let path = dir.path("big.parquet");
    let file = std::fs::File::create(&path).unwrap();
    let schema = Arc::new(arrow_schema::Schema::new(vec![arrow_schema::Field::new(
        "inputs",
        arrow_schema::DataType::Utf8,
        false,
    )]));
    let mut writer = ArrowWriter::try_new(file, schema.clone(), None).unwrap();
    // Written in chunks so the test itself stays flat too.
    for chunk in 0..(ROWS / 10_000) {
        let values: Vec<String> = (0..10_000)
            .map(|i| format!(r#"{{"question": "q{}"}}"#, chunk * 10_000 + i))
            .collect();
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(StringArray::from(values)) as ArrayRef],
        )
        .unwrap();
        writer.write(&batch).unwrap();
    }
    writer.close().unwrap();
    let (count, peak) = stream(&path);
    assert_eq!(count, ROWS);
    // One batch of ~1024 short strings, never the file's 200,000.
    let bound = PARQUET_BATCH_ROWS * 64;
    assert!(
        peak < bound,
        "Parquet reader held {peak} bytes (bound {bound})"
    );
}
