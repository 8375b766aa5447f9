//! JSONL with the default mapping and with an explicit mapping.

use judgeflow_datafiles::{ColumnMapping, EvalRow, Format, open};
use serde_json::json;

use crate::support::{Dir, empty, object, read_ok, strings};

#[test]
fn default_mapping_takes_objects_and_json_text() {
    let dir = Dir::new();
    let path = dir.write(
        "qa.jsonl",
        concat!(
            r#"{"inputs": {"question": "2+2?"}, "expectations": {"expected_response": "4"}, "outputs": {"text": "4"}, "tags": {"k": "v"}, "id": 7}"#,
            "\n\n",
            // `inputs` as JSON text inside a string, as `df.to_json` leaves a pre-serialised column.
            r#"{"inputs": "{\"question\": \"3+3?\"}", "expected_response": "6", "guidelines": ["be brief"], "retrieved_context": ["3+3=6", "six"], "outputs": null}"#,
            "\r\n",
        ),
    );
    let rows = read_ok(&path, &ColumnMapping::default());
    assert_eq!(
        rows,
        vec![
            EvalRow {
                index: 0,
                id: Some("7".into()),
                inputs: object(json!({"question": "2+2?"})),
                expectations: object(json!({"expected_response": "4"})),
                outputs: Some(json!({"text": "4"})),
                tags: object(json!({"k": "v"})),
                retrieved_context: None,
            },
            // Keys absent from the first record are still found in later ones.
            EvalRow {
                index: 1,
                id: None,
                inputs: object(json!({"question": "3+3?"})),
                expectations: object(json!({"expected_response": "6", "guidelines": ["be brief"]})),
                outputs: None,
                tags: empty(),
                retrieved_context: Some(strings(&["3+3=6", "six"])),
            },
        ]
    );
}

#[test]
fn explicit_mapping_keeps_values_typed() {
    let dir = Dir::new();
    // `.ndjson` is JSONL too; strings that look like JSON stay strings in a typed format.
    let path = dir.write(
        "qa.ndjson",
        concat!(
            r#"{"q": "[1,2]", "n": 3, "want": {"a": 1}, "got": [1, 2], "docs": [{"content": "d1"}], "who": "u1"}"#,
            "\n",
        ),
    );
    let mapping = ColumnMapping {
        inputs: strings(&["q", "n"]),
        expectations: strings(&["want"]),
        outputs: Some("got".into()),
        tags: strings(&["who"]),
        id: Some("who".into()),
        context: Some("docs".into()),
    };
    let rows = read_ok(&path, &mapping);
    assert_eq!(rows[0].inputs, object(json!({"q": "[1,2]", "n": 3})));
    assert_eq!(rows[0].expectations, object(json!({"want": {"a": 1}})));
    assert_eq!(rows[0].outputs, Some(json!([1, 2])));
    // One column may feed two targets.
    assert_eq!(rows[0].tags, object(json!({"who": "u1"})));
    assert_eq!(rows[0].id.as_deref(), Some("u1"));
    // Non-string documents are kept whole as JSON text.
    assert_eq!(
        rows[0].retrieved_context,
        Some(strings(&[r#"{"content":"d1"}"#]))
    );
}

#[test]
fn format_can_be_given_for_any_extension() {
    let dir = Dir::new();
    let path = dir.write("rows.txt", "{\"inputs\": {\"q\": 1}}\n");
    let rows: Vec<_> = open(&path, Some(Format::Jsonl), &ColumnMapping::default())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len(), 1);
}

#[test]
fn empty_file_has_no_rows() {
    let dir = Dir::new();
    let path = dir.write("empty.jsonl", "\n\n");
    assert!(read_ok(&path, &ColumnMapping::default()).is_empty());
}
