//! Parquet written here with arrow: nested struct and list columns, typed scalars, several
//! record batches.

use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::{
    ArrayRef, BooleanArray, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
    StructArray,
};
use arrow_schema::{DataType, Field};
use judgeflow_datafiles::{ColumnMapping, EvalRow, PARQUET_BATCH_ROWS};
use parquet::arrow::ArrowWriter;
use serde_json::json;

use crate::support::{Dir, empty, object, read_all, read_ok, strings};

/// Writes one batch of `columns` to `path`.
pub fn write_parquet(path: &Path, columns: Vec<(&str, ArrayRef)>) {
    let batch = RecordBatch::try_from_iter(columns).expect("batch");
    let file = std::fs::File::create(path).expect("create parquet");
    let mut writer = ArrowWriter::try_new(file, batch.schema(), None).expect("writer");
    writer.write(&batch).expect("write batch");
    writer.close().expect("close");
}

fn string_list(rows: &[Option<&[&str]>]) -> ArrayRef {
    let mut builder = ListBuilder::new(StringBuilder::new());
    for row in rows {
        match row {
            Some(items) => {
                for item in *items {
                    builder.values().append_value(item);
                }
                builder.append(true);
            }
            None => builder.append(false),
        }
    }
    Arc::new(builder.finish())
}

#[test]
fn nested_struct_and_list_columns_with_default_mapping() {
    let dir = Dir::new();
    let path = dir.path("nested.parquet");
    let question: ArrayRef = Arc::new(StringArray::from(vec!["2+2?", "Capital?"]));
    let turns: ArrayRef = Arc::new(Int32Array::from(vec![Some(1), None]));
    let inputs: ArrayRef = Arc::new(StructArray::from(vec![
        (
            Arc::new(Field::new("question", DataType::Utf8, false)),
            question,
        ),
        (Arc::new(Field::new("turns", DataType::Int32, true)), turns),
    ]));
    let expected: ArrayRef = Arc::new(StringArray::from(vec![Some("4"), None]));
    let expectations: ArrayRef = Arc::new(StructArray::from(vec![(
        Arc::new(Field::new("expected_response", DataType::Utf8, true)),
        expected,
    )]));
    write_parquet(
        &path,
        vec![
            ("id", Arc::new(Int64Array::from(vec![10, 11])) as ArrayRef),
            ("inputs", inputs),
            ("expectations", expectations),
            ("expected_facts", string_list(&[Some(&["four"]), None])),
            (
                "retrieved_context",
                string_list(&[Some(&["2+2=4", "math"]), Some(&[])]),
            ),
            (
                "outputs",
                Arc::new(StringArray::from(vec![Some("4"), None])) as ArrayRef,
            ),
        ],
    );
    let rows = read_ok(&path, &ColumnMapping::default());
    assert_eq!(
        rows,
        vec![
            EvalRow {
                index: 0,
                id: Some("10".into()),
                inputs: object(json!({"question": "2+2?", "turns": 1})),
                expectations: object(json!({"expected_response": "4", "expected_facts": ["four"]})),
                outputs: Some(json!("4")),
                tags: empty(),
                retrieved_context: Some(strings(&["2+2=4", "math"])),
            },
            EvalRow {
                index: 1,
                id: Some("11".into()),
                // Null struct fields are missing values, like null cells.
                inputs: object(json!({"question": "Capital?"})),
                expectations: empty(),
                outputs: None,
                tags: empty(),
                retrieved_context: Some(Vec::new()),
            },
        ]
    );
}

#[test]
fn explicit_mapping_with_typed_scalars_and_json_text() {
    let dir = Dir::new();
    let path = dir.path("flat.parquet");
    write_parquet(
        &path,
        vec![
            (
                "prompt",
                Arc::new(StringArray::from(vec![r#"{"role": "user"}"#, "plain"])) as ArrayRef,
            ),
            (
                "temperature",
                Arc::new(Float64Array::from(vec![0.5, f64::NAN])),
            ),
            (
                "strict",
                Arc::new(BooleanArray::from(vec![Some(true), None])),
            ),
            ("label", Arc::new(StringArray::from(vec!["yes", "no"]))),
            ("ignored", Arc::new(Int32Array::from(vec![1, 2]))),
        ],
    );
    let mapping = ColumnMapping {
        inputs: strings(&["prompt", "temperature", "strict"]),
        expectations: strings(&["label"]),
        ..ColumnMapping::default()
    };
    let rows = read_ok(&path, &mapping);
    assert_eq!(
        rows[0].inputs,
        object(json!({"prompt": {"role": "user"}, "temperature": 0.5, "strict": true}))
    );
    // NaN has no JSON form and reads as missing, like pandas' NaN; so does a null cell.
    assert_eq!(rows[1].inputs, object(json!({"prompt": "plain"})));
    assert_eq!(rows[1].expectations, object(json!({"label": "no"})));
}

#[test]
fn rows_span_record_batches_in_order() {
    let dir = Dir::new();
    let path = dir.path("many.parquet");
    let n = PARQUET_BATCH_ROWS * 2 + 100;
    let questions: Vec<Option<String>> = (0..n)
        // Row number 2000 (index 1999) has no inputs.
        .map(|i| (i != 1999).then(|| format!("q{i}")))
        .collect();
    write_parquet(
        &path,
        vec![(
            "question",
            Arc::new(StringArray::from(questions)) as ArrayRef,
        )],
    );
    let mapping = ColumnMapping {
        inputs: strings(&["question"]),
        ..ColumnMapping::default()
    };
    let rows = read_all(&path, &mapping);
    assert_eq!(rows.len(), n);
    for (i, row) in rows.iter().enumerate() {
        match row {
            Ok(row) => {
                assert_eq!(row.index, i as u64);
                assert_eq!(row.inputs["question"], json!(format!("q{i}")));
            }
            Err(e) => {
                assert_eq!(i, 1999);
                assert_eq!(
                    e.to_string(),
                    format!(
                        "{}: row 2000, column 'question': row has no inputs",
                        path.display()
                    )
                );
            }
        }
    }
}
