//! CSV with the default mapping (JSON objects in cells) and with an explicit mapping.

use judgeflow_datafiles::{ColumnMapping, EvalRow};
use serde_json::json;

use crate::support::{Dir, empty, object, read_ok, strings};

#[test]
fn default_mapping_parses_json_cells() {
    let dir = Dir::new();
    let path = dir.write(
        "qa.csv",
        concat!(
            "id,inputs,expectations,outputs,tags,expected_facts,retrieved_context\n",
            r#"q1,"{""question"": ""What is 2+2?""}","{""expected_response"": ""4""}",4,"{""topic"": ""math""}","[""four"", ""even""]","[""2+2=4""]""#,
            "\n",
            r#"q2,"{""question"": ""Capital of France?"", ""lang"": ""en""}",,"{""answer"": ""Paris""}",,,"#,
            "\n",
        ),
    );
    let rows = read_ok(&path, &ColumnMapping::default());
    assert_eq!(
        rows,
        vec![
            EvalRow {
                index: 0,
                id: Some("q1".into()),
                inputs: object(json!({"question": "What is 2+2?"})),
                expectations: object(
                    json!({"expected_response": "4", "expected_facts": ["four", "even"]})
                ),
                // A plain text cell stays text, even when it reads as a number.
                outputs: Some(json!("4")),
                tags: object(json!({"topic": "math"})),
                retrieved_context: Some(strings(&["2+2=4"])),
            },
            EvalRow {
                index: 1,
                id: Some("q2".into()),
                inputs: object(json!({"question": "Capital of France?", "lang": "en"})),
                // Empty cells are missing values: no key, no empty string.
                expectations: empty(),
                outputs: Some(json!({"answer": "Paris"})),
                tags: empty(),
                retrieved_context: None,
            },
        ]
    );
}

#[test]
fn explicit_mapping_names_columns() {
    let dir = Dir::new();
    let path = dir.write(
        "qa.csv",
        concat!(
            "key,question,context,answer,response,category,unused\n",
            r#"a-1,[draft] Why is the sky blue?,"[""Rayleigh scattering""]",Rayleigh scattering,It scatters,physics,x"#,
            "\n",
            r#"a-2,"{""nested"": true}",single passage,,,,"#,
            "\n",
        ),
    );
    let mapping = ColumnMapping {
        inputs: strings(&["question"]),
        expectations: strings(&["answer"]),
        outputs: Some("response".into()),
        tags: strings(&["category"]),
        id: Some("key".into()),
        context: Some("context".into()),
    };
    let rows = read_ok(&path, &mapping);
    assert_eq!(rows.len(), 2);
    // Text that looks like JSON but is not stays a string.
    assert_eq!(
        rows[0].inputs,
        object(json!({"question": "[draft] Why is the sky blue?"}))
    );
    assert_eq!(
        rows[0].expectations,
        object(json!({"answer": "Rayleigh scattering"}))
    );
    assert_eq!(rows[0].outputs, Some(json!("It scatters")));
    assert_eq!(rows[0].tags, object(json!({"category": "physics"})));
    assert_eq!(rows[0].id.as_deref(), Some("a-1"));
    assert_eq!(
        rows[0].retrieved_context,
        Some(strings(&["Rayleigh scattering"]))
    );
    // JSON text in a named column is parsed; a plain context string is a list of one.
    assert_eq!(
        rows[1].inputs,
        object(json!({"question": {"nested": true}}))
    );
    assert_eq!(
        rows[1].retrieved_context,
        Some(strings(&["single passage"]))
    );
    assert_eq!(rows[1].outputs, None);
    assert_eq!(rows[1].expectations, empty());
}

#[test]
fn inputs_object_merges_with_named_input_columns() {
    let dir = Dir::new();
    let path = dir.write(
        "merge.csv",
        "inputs,user\n\"{\"\"question\"\": \"\"hi\"\", \"\"user\"\": \"\"old\"\"}\",new\n",
    );
    let mapping = ColumnMapping {
        inputs: strings(&["inputs", "user"]),
        ..ColumnMapping::default()
    };
    let rows = read_ok(&path, &mapping);
    // The named column wins over the same key inside the object.
    assert_eq!(
        rows[0].inputs,
        object(json!({"question": "hi", "user": "new"}))
    );
}

#[test]
fn quoted_newlines_keep_line_numbers_right() {
    let dir = Dir::new();
    let path = dir.write(
        "multi.csv",
        "inputs\n\"{\"\"q\"\":\n\"\"two lines\"\"}\"\n\n",
    );
    let rows = read_ok(&path, &ColumnMapping::default());
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].inputs, object(json!({"q": "two lines"})));
}

#[test]
fn byte_order_mark_is_not_part_of_the_first_column() {
    // Excel writes "CSV UTF-8" with a BOM before the header.
    let dir = Dir::new();
    let path = dir.write(
        "excel.csv",
        "\u{feff}inputs,expected_response\n\"{\"\"q\"\": 1}\",yes\n",
    );
    let rows = read_ok(&path, &ColumnMapping::default());
    assert_eq!(rows[0].inputs, object(json!({"q": 1})));
    assert_eq!(
        rows[0].expectations,
        object(json!({"expected_response": "yes"}))
    );
}

#[test]
fn header_only_file_has_no_rows() {
    let dir = Dir::new();
    let path = dir.write("empty.csv", "inputs,expectations\n");
    assert!(read_ok(&path, &ColumnMapping::default()).is_empty());
}
