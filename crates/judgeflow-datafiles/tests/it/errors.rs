//! Every error is one line naming the file, the row and the column; a bad row is an `Err`
//! item and the rows after it still come.

use std::sync::Arc;

use arrow_array::{ArrayRef, StringArray};
use judgeflow_datafiles::{ColumnMapping, DataErrorKind, Location, open};
use rstest::rstest;

use crate::parquet_files::write_parquet;
use crate::support::{Dir, read_all, strings};

/// The messages of the bad rows, with the temporary directory replaced by `DIR`, and the
/// number of good rows.
fn outcome(
    dir: &Dir,
    rows: Vec<Result<judgeflow_datafiles::EvalRow, judgeflow_datafiles::DataError>>,
) -> (Vec<String>, usize) {
    let root = dir.path("").display().to_string();
    let mut errors = Vec::new();
    let mut good = 0;
    for row in rows {
        match row {
            Ok(_) => good += 1,
            Err(e) => errors.push(e.to_string().replace(&root, "DIR/")),
        }
    }
    (errors, good)
}

#[test]
fn unreadable_file() {
    let dir = Dir::new();
    let error =
        open(&dir.path("absent.csv"), None, &ColumnMapping::default()).expect_err("no such file");
    assert_eq!(
        error
            .to_string()
            .replace(&dir.path("").display().to_string(), "DIR/"),
        "DIR/absent.csv: cannot read file: No such file or directory (os error 2)"
    );
    assert_eq!(error.location(), Location::File);
    assert!(!error.is_user_error());
}

#[test]
fn unknown_extension() {
    let dir = Dir::new();
    let path = dir.write("data.txt", "inputs\n");
    let error = open(&path, None, &ColumnMapping::default()).unwrap_err();
    assert!(matches!(error.kind(), DataErrorKind::UnknownFormat));
    assert!(error.to_string().ends_with(
        "data.txt: unknown data file format (expected .csv, .jsonl, .ndjson or .parquet)"
    ));
}

#[rstest]
#[case::csv_default(
    "qa.csv",
    "question,answer\nq,a\n",
    ColumnMapping::default(),
    "DIR/qa.csv: column 'inputs' not found (columns: question, answer)"
)]
#[case::csv_explicit("qa.csv", "prompt,answer\nq,a\n",
    ColumnMapping { inputs: strings(&["prompt"]), expectations: strings(&["expected"]), ..ColumnMapping::default() },
    "DIR/qa.csv: column 'expected' not found (columns: prompt, answer)")]
#[case::csv_empty(
    "qa.csv",
    "",
    ColumnMapping::default(),
    "DIR/qa.csv: column 'inputs' not found (columns: none)"
)]
#[case::jsonl_first_record("qa.jsonl", "{\"question\": \"q\", \"answer\": \"a\"}\n",
    ColumnMapping { inputs: strings(&["question"]), outputs: Some("response".into()), ..ColumnMapping::default() },
    "DIR/qa.jsonl: column 'response' not found (columns: answer, question)")]
fn missing_mapped_column(
    #[case] name: &str,
    #[case] contents: &str,
    #[case] mapping: ColumnMapping,
    #[case] expected: &str,
) {
    let dir = Dir::new();
    let path = dir.write(name, contents);
    let error = open(&path, None, &mapping).expect_err("missing column");
    assert_eq!(
        error
            .to_string()
            .replace(&dir.path("").display().to_string(), "DIR/"),
        expected
    );
    assert!(error.is_user_error());
    assert!(!error.is_row_error());
}

#[test]
fn missing_parquet_column() {
    let dir = Dir::new();
    let path = dir.path("qa.parquet");
    write_parquet(
        &path,
        vec![("prompt", Arc::new(StringArray::from(vec!["q"])) as ArrayRef)],
    );
    let error = open(&path, None, &ColumnMapping::default()).unwrap_err();
    assert_eq!(
        error
            .to_string()
            .replace(&dir.path("").display().to_string(), "DIR/"),
        "DIR/qa.parquet: column 'inputs' not found (columns: prompt)"
    );
}

#[test]
fn bad_csv_rows_are_reported_and_skipped() {
    let dir = Dir::new();
    let path = dir.write(
        "qa.csv",
        concat!(
            "inputs,expectations\n",                                   // line 1
            "\"{\"\"q\"\": 1}\",\"{\"\"expected_response\"\": 1}\"\n", // line 2: good
            "\"{\"\"q\"\": 2}\",\"{ \"\"a\"\": }\"\n",                 // line 3: bad JSON
            ",\"{}\"\n",                                               // line 4: no inputs
            "hello,\n",                                                // line 5: inputs not JSON
            "\"[1, 2]\",\n",               // line 6: inputs not an object
            "\"{\"\"q\"\":\n3}\",\n",      // lines 7-8: good, two lines
            "\"{\"\"q\"\": 4}\"\n",        // line 9: one field of two
            "\"{\"\"q\"\": 5}\",\"[]\"\n", // line 10: expectations an array
            "\"{\"\"q\"\": 6}\",\n",       // line 11: good
        ),
    );
    let (errors, good) = outcome(&dir, read_all(&path, &ColumnMapping::default()));
    assert_eq!(
        errors,
        [
            "DIR/qa.csv: row 3, column 'expectations': not valid JSON (expected value at line 1 column 8)",
            "DIR/qa.csv: row 4, column 'inputs': row has no inputs",
            "DIR/qa.csv: row 5, column 'inputs': not valid JSON (expected value at line 1 column 1)",
            "DIR/qa.csv: row 6, column 'inputs': expected a JSON object, found an array",
            "DIR/qa.csv: row 9: malformed CSV: expected 2 fields, found 1",
            "DIR/qa.csv: row 10, column 'expectations': expected a JSON object, found an array",
        ]
    );
    assert_eq!(good, 3);
}

#[test]
fn bad_csv_row_keeps_its_index() {
    let dir = Dir::new();
    let path = dir.write("qa.csv", "inputs\n,\n\"{\"\"q\"\": 1}\"\n");
    let rows = read_all(&path, &ColumnMapping::default());
    let error = rows[0].as_ref().unwrap_err();
    assert_eq!(error.location(), Location::Line(2));
    assert_eq!(rows[1].as_ref().unwrap().index, 1);
}

#[test]
fn bad_jsonl_rows_are_reported_and_skipped() {
    let dir = Dir::new();
    let path = dir.write(
        "qa.jsonl",
        concat!(
            "{\"inputs\": {\"q\": 1}}\n",                           // line 1: good
            "\n",                                                   // line 2: blank, skipped
            "{\"inputs\": {\"q\": 2}\n",                            // line 3: truncated
            "[1, 2]\n",                                             // line 4: not an object
            "{\"inputs\": {}}\n",                                   // line 5: no inputs
            "{\"inputs\": \"not json\"}\n",                         // line 6: inputs text not JSON
            "{\"inputs\": {\"q\": 3}, \"retrieved_context\": 5}\n", // line 7: bad context
            "{\"inputs\": {\"q\": 4}, \"id\": [1]}\n",              // line 8: bad id
            "{\"inputs\": {\"q\": 5}}\n",                           // line 9: good
        ),
    );
    let (errors, good) = outcome(&dir, read_all(&path, &ColumnMapping::default()));
    assert_eq!(
        errors,
        [
            "DIR/qa.jsonl: row 3: not valid JSON (EOF while parsing an object at line 2 column 0)",
            "DIR/qa.jsonl: row 4: expected a JSON object, found an array",
            "DIR/qa.jsonl: row 5, column 'inputs': row has no inputs",
            "DIR/qa.jsonl: row 6, column 'inputs': not valid JSON (expected ident at line 1 column 2)",
            "DIR/qa.jsonl: row 7, column 'retrieved_context': expected a list of strings as retrieved context, found a number",
            "DIR/qa.jsonl: row 8, column 'id': expected a string or number as the row id, found an array",
        ]
    );
    assert_eq!(good, 2);
}

#[test]
fn row_without_any_mapped_input_names_all_input_columns() {
    let dir = Dir::new();
    let path = dir.write("qa.csv", "question,context\n,\n");
    let mapping = ColumnMapping {
        inputs: strings(&["question", "context"]),
        ..ColumnMapping::default()
    };
    let (errors, _) = outcome(&dir, read_all(&path, &mapping));
    assert_eq!(
        errors,
        ["DIR/qa.csv: row 2, column 'question, context': row has no inputs"]
    );
}

#[test]
fn bad_parquet_cell_names_row_and_column() {
    let dir = Dir::new();
    let path = dir.path("qa.parquet");
    write_parquet(
        &path,
        vec![(
            "inputs",
            Arc::new(StringArray::from(vec![
                r#"{"q": 1}"#,
                "{oops",
                r#"{"q": 3}"#,
            ])) as ArrayRef,
        )],
    );
    let (errors, good) = outcome(&dir, read_all(&path, &ColumnMapping::default()));
    assert_eq!(
        errors,
        [
            "DIR/qa.parquet: row 2, column 'inputs': not valid JSON (key must be a string at line 1 column 2)"
        ]
    );
    assert_eq!(good, 2);
}

#[test]
fn corrupt_parquet_file() {
    let dir = Dir::new();
    let path = dir.write("qa.parquet", "this is not parquet");
    let error = open(&path, None, &ColumnMapping::default()).unwrap_err();
    let text = error.to_string();
    assert!(text.contains("qa.parquet: malformed Parquet: "), "{text}");
}
