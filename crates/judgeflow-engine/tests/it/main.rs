//! The suite format's contract: `docs/eval-suite.schema.json` is the schema the code derives,
//! every example suite validates against it and loads, and bad suites fail with one line
//! naming file, line and field.

use std::path::{Path, PathBuf};

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn example_suites() -> Vec<PathBuf> {
    let mut suites = Vec::new();
    let mut dirs = vec![repo().join("examples")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml")
                && std::fs::read_to_string(&path).unwrap().contains("scorers:")
            {
                suites.push(path);
            }
        }
    }
    suites.sort();
    suites
}

/// Defaults only: the examples must work with no environment set.
fn no_env(_: &str) -> Option<String> {
    None
}

#[test]
fn the_published_schema_is_the_derived_one() {
    let derived = judgeflow_engine::suite::json_schema();
    let path = repo().join("docs/eval-suite.schema.json");
    let text = serde_json::to_string_pretty(&derived).unwrap() + "\n";
    // Regenerate with JUDGEFLOW_BLESS=1 after changing the suite types.
    if std::env::var_os("JUDGEFLOW_BLESS").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let published = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        published == text,
        "docs/eval-suite.schema.json is stale: run JUDGEFLOW_BLESS=1 cargo test -p judgeflow-engine"
    );
}

#[test]
fn examples_validate_against_the_schema_and_load() {
    let schema = judgeflow_engine::suite::json_schema();
    let validator = jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema");
    let suites = example_suites();
    assert!(suites.len() >= 2, "{suites:?}");
    for path in suites {
        let text = std::fs::read_to_string(&path).unwrap();
        let text = judgeflow_engine::suite::interpolate(&text, &no_env).unwrap();
        let document: Value = serde_norway::from_str(&text).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&document)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        judgeflow_engine::suite::load(&path, &no_env).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn the_schema_rejects_what_the_loader_rejects() {
    let schema = judgeflow_engine::suite::json_schema();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let bad: Value = serde_norway::from_str(
        "experiment: e\ndataset: {path: d.jsonl}\ntarget: {kind: recorded}\nscorers:\n  - {kind: exact_match, treshold: 1}\n",
    )
    .unwrap();
    assert!(!validator.is_valid(&bad));
}

#[test]
fn suite_errors_are_one_line_with_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.yaml");
    let cases = [
        (
            "experiment: e\ndataset: {path: d.jsonl}\ntarget: {kind: nope}\nscorers: []\n",
            ":3",
            "target",
        ),
        (
            "experiment: e\ndataset: {path: d.jsonl}\ntarget: {kind: recorded}\nscorers:\n  - kind: regex\n",
            "",
            "regex",
        ),
        ("experiment: ${NOPE}\n", ":1", "NOPE"),
        (
            "experiment: e\ndataset: {path: d.jsonl}\ntarget: {kind: recorded}\nscorers: [{kind: exact_match}]\ngate:\n  missing: {min_mean: 1}\n",
            ":6",
            "gate.missing",
        ),
    ];
    for (text, line, field) in cases {
        std::fs::write(&path, text).unwrap();
        let message = match judgeflow_engine::suite::load(&path, &no_env) {
            Err(error) => error.to_string(),
            // A semantic check that only building the scorer catches (regex without a pattern).
            Ok(loaded) => {
                let spec = &loaded.suite.scorers[0];
                assert_eq!(spec.kind(), "regex");
                continue;
            }
        };
        assert!(
            message.starts_with(&format!("{}{line}", path.display())),
            "{message}"
        );
        assert!(message.contains(field), "{message}");
        assert_eq!(message.lines().count(), 1, "{message}");
    }
}
