//! The results table: Parquet read back with the parquet crate's own reader, and the JSON
//! layouts parsed back into records.

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, UInt64Type};
use arrow_array::{Array, RecordBatch};
use judgeflow_datafiles::{
    DataErrorKind, JsonLayout, RESULTS_ROW_GROUP_ROWS, ResultRecord, ResultsJsonWriter,
    ResultsWriter, ScoreCell,
};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::json;

use crate::support::{Dir, strings};

fn record(i: u64) -> ResultRecord {
    ResultRecord {
        row_index: i,
        row_id: (i % 2 == 0).then(|| format!("r{i}")),
        trace_id: Some(format!("tr-{i}")),
        inputs: json!({"question": format!("q{i}")}),
        outputs: if i == 3 {
            json!(null)
        } else {
            json!(format!("a{i}"))
        },
        expectations: json!({"expected_response": format!("a{i}")}),
        latency_ms: (i != 3).then_some(i as f64 * 1.5),
        error: (i == 3).then(|| "target timed out".to_owned()),
        scores: if i == 3 {
            vec![ScoreCell {
                scorer: "correctness".into(),
                error: Some("no output".into()),
                ..ScoreCell::default()
            }]
        } else {
            vec![
                ScoreCell {
                    scorer: "exact_match".into(),
                    value: Some(json!(i % 3 == 0)),
                    ..ScoreCell::default()
                },
                ScoreCell {
                    scorer: "correctness".into(),
                    value: Some(json!("yes")),
                    rationale: Some(format!("matches a{i}")),
                    error: None,
                },
            ]
        },
    }
}

fn text(batch: &RecordBatch, column: &str, row: usize) -> Option<String> {
    let array = batch
        .column_by_name(column)
        .unwrap_or_else(|| panic!("no column {column}"));
    let array = array.as_string::<i32>();
    (!array.is_null(row)).then(|| array.value(row).to_owned())
}

#[test]
fn parquet_round_trip_in_row_groups() {
    let dir = Dir::new();
    let path = dir.path("eval_results.parquet");
    let scorers = strings(&["exact_match", "correctness"]);
    let total = RESULTS_ROW_GROUP_ROWS as u64 * 2 + 452;
    let mut writer = ResultsWriter::create(&path, &scorers).unwrap();
    for i in 0..total {
        writer.write(&record(i)).unwrap();
    }
    writer.finish().unwrap();

    let builder =
        ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path).unwrap()).unwrap();
    let names: Vec<&str> = builder
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    assert_eq!(
        names,
        [
            "row_index",
            "row_id",
            "trace_id",
            "inputs",
            "outputs",
            "expectations",
            "latency_ms",
            "error",
            "exact_match/value",
            "exact_match/rationale",
            "exact_match/error",
            "correctness/value",
            "correctness/rationale",
            "correctness/error",
        ]
    );
    // Row groups were flushed as they filled, not all at the end.
    let groups: Vec<i64> = builder
        .metadata()
        .row_groups()
        .iter()
        .map(parquet::file::metadata::RowGroupMetaData::num_rows)
        .collect();
    assert_eq!(groups, [1024, 1024, 452]);

    let mut seen = 0u64;
    for batch in builder.with_batch_size(1000).build().unwrap() {
        let batch = batch.unwrap();
        let index = batch
            .column_by_name("row_index")
            .unwrap()
            .as_primitive::<UInt64Type>();
        let latency = batch
            .column_by_name("latency_ms")
            .unwrap()
            .as_primitive::<Float64Type>();
        for row in 0..batch.num_rows() {
            let i = seen;
            let expected = record(i);
            assert_eq!(index.value(row), i);
            assert_eq!(text(&batch, "row_id", row), expected.row_id);
            assert_eq!(text(&batch, "trace_id", row), expected.trace_id);
            let inputs: serde_json::Value =
                serde_json::from_str(&text(&batch, "inputs", row).unwrap()).unwrap();
            assert_eq!(inputs, expected.inputs);
            assert_eq!(text(&batch, "error", row), expected.error);
            if i == 3 {
                assert_eq!(
                    text(&batch, "outputs", row),
                    None,
                    "JSON null is a null cell"
                );
                assert!(latency.is_null(row));
                assert_eq!(text(&batch, "exact_match/value", row), None);
                assert_eq!(text(&batch, "correctness/value", row), None);
                assert_eq!(
                    text(&batch, "correctness/error", row).as_deref(),
                    Some("no output")
                );
            } else {
                assert_eq!(text(&batch, "outputs", row), Some(format!("\"a{i}\"")));
                assert!((latency.value(row) - i as f64 * 1.5).abs() < f64::EPSILON);
                let exact = if i % 3 == 0 { "true" } else { "false" };
                assert_eq!(
                    text(&batch, "exact_match/value", row).as_deref(),
                    Some(exact)
                );
                assert_eq!(text(&batch, "exact_match/rationale", row), None);
                assert_eq!(
                    text(&batch, "correctness/value", row).as_deref(),
                    Some("\"yes\"")
                );
                assert_eq!(
                    text(&batch, "correctness/rationale", row),
                    Some(format!("matches a{i}"))
                );
            }
            seen += 1;
        }
    }
    assert_eq!(seen, total);
}

#[test]
fn unknown_scorer_is_rejected_and_nothing_written() {
    let dir = Dir::new();
    let path = dir.path("eval_results.parquet");
    let mut writer = ResultsWriter::create(&path, &strings(&["exact_match"])).unwrap();
    let mut bad = record(4);
    bad.scores.truncate(1);
    bad.scores[0].scorer = "bleu".into();
    let error = writer.write(&bad).unwrap_err();
    assert!(matches!(error.kind(), DataErrorKind::InvalidRecord(_)));
    assert!(
        error.to_string().ends_with(
            "eval_results.parquet: row 5, column 'bleu/value': unknown scorer 'bleu' (scorers: exact_match)"
        ),
        "{error}"
    );
    let mut good = record(0);
    good.scores.truncate(1);
    writer.write(&good).unwrap();
    writer.finish().unwrap();
    let reader =
        ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path).unwrap()).unwrap();
    assert_eq!(reader.metadata().file_metadata().num_rows(), 1);
}

#[test]
fn duplicate_scorers_are_rejected() {
    let dir = Dir::new();
    let path = dir.path("eval_results.parquet");
    let error = ResultsWriter::create(&path, &strings(&["a", "a"]))
        .err()
        .unwrap();
    assert!(
        error.to_string().ends_with("scorer 'a' is listed twice"),
        "{error}"
    );
}

#[test]
fn json_array_round_trip() {
    let dir = Dir::new();
    let path = dir.path("eval_results.json");
    let mut writer = ResultsJsonWriter::create(&path, JsonLayout::Array).unwrap();
    let records: Vec<ResultRecord> = (0..5).map(record).collect();
    for r in &records {
        writer.write(r).unwrap();
    }
    writer.finish().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        text.lines().count(),
        7,
        "one record per line between the brackets"
    );
    let back: Vec<ResultRecord> = serde_json::from_str(&text).unwrap();
    assert_eq!(back, records);
}

#[test]
fn json_empty_array_and_lines() {
    let dir = Dir::new();
    let empty = dir.path("empty.json");
    ResultsJsonWriter::create(&empty, JsonLayout::Array)
        .unwrap()
        .finish()
        .unwrap();
    assert_eq!(std::fs::read_to_string(&empty).unwrap(), "[]\n");

    let lines = dir.path("eval_results.jsonl");
    let mut writer = ResultsJsonWriter::create(&lines, JsonLayout::Lines).unwrap();
    for i in 0..3 {
        writer.write(&record(i)).unwrap();
    }
    writer.finish().unwrap();
    let back: Vec<ResultRecord> = std::fs::read_to_string(&lines)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(back, (0..3).map(record).collect::<Vec<_>>());
}
