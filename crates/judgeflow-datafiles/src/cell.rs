//! One cell's value, before and after it is placed into an [`EvalRow`].
//!
//! Text formats (CSV, and Parquet string columns, which pandas fills with `json.dumps` output)
//! carry nested values as JSON text; JSONL and typed Parquet columns carry them as values. The
//! two meet here, in [`place`], so every format follows one set of rules:
//!
//! - an empty text cell and a null are missing: the key is left out, as pandas' NaN would be;
//!   so is a null member of an object column;
//! - a column that is a whole object (`inputs`, `expectations`, `tags`) must hold a JSON object,
//!   given as a value or as JSON text;
//! - any other text that looks like a JSON object or array is parsed when it parses, and stays
//!   a string when it does not (a question may well start with `[`);
//! - retrieved context is a list of strings; a single string is a list of one.

use serde_json::{Map, Value};

use crate::error::DataErrorKind;
use crate::mapping::Target;
use crate::reader::EvalRow;

/// A cell as read from the file.
pub(crate) enum Cell<'a> {
    Missing,
    /// Text that may carry JSON (CSV fields, Parquet strings).
    Text(&'a str),
    /// A typed value (JSONL, typed Parquet columns).
    Value(Value),
}

/// Places `cell` into `row` as `target` says.
pub(crate) fn place(
    row: &mut EvalRow,
    target: &Target,
    cell: Cell<'_>,
) -> Result<(), DataErrorKind> {
    let cell = match cell {
        Cell::Missing | Cell::Value(Value::Null) | Cell::Text("") => return Ok(()),
        other => other,
    };
    match target {
        Target::InputsObject => merge_object(&mut row.inputs, cell),
        Target::ExpectationsObject => merge_object(&mut row.expectations, cell),
        Target::TagsObject => merge_object(&mut row.tags, cell),
        Target::Input(key) => {
            row.inputs.insert(key.clone(), field_value(cell));
            Ok(())
        }
        Target::Expectation(key) => {
            row.expectations.insert(key.clone(), field_value(cell));
            Ok(())
        }
        Target::Tag(key) => {
            row.tags.insert(key.clone(), field_value(cell));
            Ok(())
        }
        Target::Outputs => {
            row.outputs = Some(field_value(cell));
            Ok(())
        }
        Target::Id => {
            row.id = Some(match cell {
                Cell::Text(text) => text.to_owned(),
                Cell::Value(Value::String(s)) => s,
                Cell::Value(Value::Number(n)) => n.to_string(),
                Cell::Value(other) => {
                    return Err(DataErrorKind::InvalidValue(format!(
                        "expected a string or number as the row id, found {}",
                        type_name(&other)
                    )));
                }
                Cell::Missing => unreachable!("handled above"),
            });
            Ok(())
        }
        Target::Context => {
            row.retrieved_context = Some(context_list(cell)?);
            Ok(())
        }
    }
}

fn merge_object(into: &mut Map<String, Value>, cell: Cell<'_>) -> Result<(), DataErrorKind> {
    let value = match cell {
        Cell::Text(text) => parse_json(text)?,
        // JSON text inside a JSON string: what `df.to_json` does with a column of dicts
        // serialised beforehand.
        Cell::Value(Value::String(text)) => parse_json(&text)?,
        Cell::Value(value) => value,
        Cell::Missing => return Ok(()),
    };
    match value {
        Value::Object(object) => {
            // The object comes first (see `ResolvedMapping`), so named columns win on a clash.
            // A null member is a missing value, as a null cell is: Parquet structs fill keys
            // that the source dicts never had with nulls.
            for (key, value) in object {
                if !value.is_null() {
                    into.entry(key).or_insert(value);
                }
            }
            Ok(())
        }
        Value::Null => Ok(()),
        other => Err(DataErrorKind::InvalidValue(format!(
            "expected a JSON object, found {}",
            type_name(&other)
        ))),
    }
}

fn field_value(cell: Cell<'_>) -> Value {
    match cell {
        Cell::Text(text) => {
            if looks_like_json(text) {
                if let Ok(value) = serde_json::from_str(text) {
                    return value;
                }
            }
            Value::String(text.to_owned())
        }
        Cell::Value(value) => value,
        Cell::Missing => Value::Null,
    }
}

fn context_list(cell: Cell<'_>) -> Result<Vec<String>, DataErrorKind> {
    let value = match cell {
        Cell::Text(text) if looks_like_json(text) => parse_json(text)?,
        Cell::Text(text) => return Ok(vec![text.to_owned()]),
        Cell::Value(value) => value,
        Cell::Missing => return Ok(Vec::new()),
    };
    match value {
        Value::String(text) => Ok(vec![text]),
        Value::Array(items) => Ok(items
            .into_iter()
            .filter(|item| !item.is_null())
            .map(|item| match item {
                Value::String(text) => text,
                // A document as an object ({"content": ..., "source": ...}) is kept whole as
                // JSON text: judges read it fine, and nothing is silently dropped.
                other => other.to_string(),
            })
            .collect()),
        other => Err(DataErrorKind::InvalidValue(format!(
            "expected a list of strings as retrieved context, found {}",
            type_name(&other)
        ))),
    }
}

fn parse_json(text: &str) -> Result<Value, DataErrorKind> {
    serde_json::from_str(text).map_err(|e| DataErrorKind::InvalidJson(e.to_string()))
}

fn looks_like_json(text: &str) -> bool {
    let trimmed = text.trim_start();
    trimmed.starts_with('{') || trimmed.starts_with('[')
}

pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
