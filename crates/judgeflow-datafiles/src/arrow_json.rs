//! Arrow values to `serde_json`, one cell at a time.
//!
//! Top-level string columns come back as [`ArrowCell::Text`] so they follow the text rules of
//! [`crate::cell`] (pandas writes dict columns as JSON strings); everything nested is converted
//! structurally: lists to arrays, structs and maps to objects, nulls to `null`.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Decimal128Type, Decimal256Type, Float16Type, Float32Type, Float64Type,
    Int8Type, Int16Type, Int32Type, Int64Type, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef};
use arrow_schema::{DataType, TimeUnit};
use serde_json::{Map, Number, Value};

/// One top-level cell.
pub(crate) enum ArrowCell<'a> {
    Null,
    Text(&'a str),
    Value(Value),
}

/// The cell at `row` of a top-level column.
pub(crate) fn cell(array: &dyn Array, row: usize) -> Result<ArrowCell<'_>, String> {
    if array.is_null(row) {
        return Ok(ArrowCell::Null);
    }
    Ok(match array.data_type() {
        DataType::Utf8 => ArrowCell::Text(array.as_string::<i32>().value(row)),
        DataType::LargeUtf8 => ArrowCell::Text(array.as_string::<i64>().value(row)),
        DataType::Utf8View => ArrowCell::Text(array.as_string_view().value(row)),
        _ => ArrowCell::Value(value(array, row)?),
    })
}

fn float(v: f64) -> Value {
    // JSON has no NaN or infinity; a missing number is the honest reading.
    Number::from_f64(v).map_or(Value::Null, Value::Number)
}

fn utf8(bytes: &[u8]) -> Result<Value, String> {
    std::str::from_utf8(bytes)
        .map(|s| Value::String(s.to_owned()))
        .map_err(|_| "binary value is not valid UTF-8".to_owned())
}

fn list(values: &ArrayRef) -> Result<Value, String> {
    (0..values.len())
        .map(|i| value(values.as_ref(), i))
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

/// The value at `row` of any supported array, nested values included.
pub(crate) fn value(array: &dyn Array, row: usize) -> Result<Value, String> {
    if array.is_null(row) {
        return Ok(Value::Null);
    }
    Ok(match array.data_type() {
        DataType::Null => Value::Null,
        DataType::Boolean => Value::Bool(array.as_boolean().value(row)),
        DataType::Int8 => array.as_primitive::<Int8Type>().value(row).into(),
        DataType::Int16 => array.as_primitive::<Int16Type>().value(row).into(),
        DataType::Int32 => array.as_primitive::<Int32Type>().value(row).into(),
        DataType::Int64 => array.as_primitive::<Int64Type>().value(row).into(),
        DataType::UInt8 => array.as_primitive::<UInt8Type>().value(row).into(),
        DataType::UInt16 => array.as_primitive::<UInt16Type>().value(row).into(),
        DataType::UInt32 => array.as_primitive::<UInt32Type>().value(row).into(),
        DataType::UInt64 => array.as_primitive::<UInt64Type>().value(row).into(),
        DataType::Float16 => float(array.as_primitive::<Float16Type>().value(row).to_f64()),
        DataType::Float32 => float(f64::from(array.as_primitive::<Float32Type>().value(row))),
        DataType::Float64 => float(array.as_primitive::<Float64Type>().value(row)),
        DataType::Decimal128(..) => {
            decimal(&array.as_primitive::<Decimal128Type>().value_as_string(row))
        }
        DataType::Decimal256(..) => {
            decimal(&array.as_primitive::<Decimal256Type>().value_as_string(row))
        }
        DataType::Utf8 => Value::String(array.as_string::<i32>().value(row).to_owned()),
        DataType::LargeUtf8 => Value::String(array.as_string::<i64>().value(row).to_owned()),
        DataType::Utf8View => Value::String(array.as_string_view().value(row).to_owned()),
        DataType::Binary => utf8(array.as_binary::<i32>().value(row))?,
        DataType::LargeBinary => utf8(array.as_binary::<i64>().value(row))?,
        DataType::BinaryView => utf8(array.as_binary_view().value(row))?,
        DataType::FixedSizeBinary(_) => utf8(array.as_fixed_size_binary().value(row))?,
        DataType::Date32 => date(array.as_primitive::<Date32Type>().value_as_date(row)),
        DataType::Date64 => date(array.as_primitive::<Date64Type>().value_as_date(row)),
        DataType::Timestamp(unit, _) => {
            let datetime = match unit {
                TimeUnit::Second => array
                    .as_primitive::<TimestampSecondType>()
                    .value_as_datetime(row),
                TimeUnit::Millisecond => array
                    .as_primitive::<TimestampMillisecondType>()
                    .value_as_datetime(row),
                TimeUnit::Microsecond => array
                    .as_primitive::<TimestampMicrosecondType>()
                    .value_as_datetime(row),
                TimeUnit::Nanosecond => array
                    .as_primitive::<TimestampNanosecondType>()
                    .value_as_datetime(row),
            };
            // ISO 8601; a time zone in the schema is not applied (the instant is UTC).
            datetime.map_or(Value::Null, |t| {
                Value::String(t.format("%Y-%m-%dT%H:%M:%S%.f").to_string())
            })
        }
        DataType::List(_) => list(&array.as_list::<i32>().value(row))?,
        DataType::LargeList(_) => list(&array.as_list::<i64>().value(row))?,
        DataType::FixedSizeList(..) => list(&array.as_fixed_size_list().value(row))?,
        DataType::Struct(fields) => {
            let array = array.as_struct();
            let mut object = Map::new();
            for (field, column) in fields.iter().zip(array.columns()) {
                object.insert(field.name().clone(), value(column.as_ref(), row)?);
            }
            Value::Object(object)
        }
        DataType::Map(..) => {
            let entries = array.as_map().value(row);
            let (keys, values) = (entries.column(0), entries.column(1));
            let mut object = Map::new();
            for i in 0..entries.len() {
                let key = match value(keys.as_ref(), i)? {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                object.insert(key, value(values.as_ref(), i)?);
            }
            Value::Object(object)
        }
        DataType::Dictionary(..) => {
            let dictionary = array.as_any_dictionary();
            let key = value(dictionary.keys(), row)?
                .as_u64()
                .ok_or_else(|| "negative dictionary key".to_owned())?;
            value(dictionary.values().as_ref(), key as usize)?
        }
        other => return Err(format!("unsupported Parquet column type {other}")),
    })
}

fn decimal(text: &str) -> Value {
    text.parse::<f64>()
        .map_or_else(|_| Value::String(text.to_owned()), float)
}

fn date(date: Option<impl std::fmt::Display>) -> Value {
    date.map_or(Value::Null, |d| Value::String(d.to_string()))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::builder::{MapBuilder, StringBuilder};
    use arrow_array::types::Int32Type;
    use arrow_array::{DictionaryArray, Int64Array, TimestampMillisecondArray};
    use serde_json::json;

    use super::*;

    #[test]
    fn dictionary_strings() {
        let array: DictionaryArray<Int32Type> = vec!["a", "b", "a"].into_iter().collect();
        assert_eq!(value(&array, 2).unwrap(), json!("a"));
    }

    #[test]
    fn maps_become_objects() {
        let mut builder = MapBuilder::new(None, StringBuilder::new(), StringBuilder::new());
        builder.keys().append_value("k");
        builder.values().append_value("v");
        builder.append(true).unwrap();
        let array = builder.finish();
        assert_eq!(value(&array, 0).unwrap(), json!({"k": "v"}));
    }

    #[test]
    fn timestamps_are_iso_text() {
        let array = TimestampMillisecondArray::from(vec![1_700_000_000_123]);
        assert_eq!(value(&array, 0).unwrap(), json!("2023-11-14T22:13:20.123"));
    }

    #[test]
    fn top_level_strings_are_text_and_others_values() {
        let text = arrow_array::StringArray::from(vec!["{}"]);
        assert!(matches!(cell(&text, 0).unwrap(), ArrowCell::Text("{}")));
        let numbers: Arc<dyn Array> = Arc::new(Int64Array::from(vec![None, Some(3)]));
        assert!(matches!(
            cell(numbers.as_ref(), 0).unwrap(),
            ArrowCell::Null
        ));
        assert!(matches!(cell(numbers.as_ref(), 1).unwrap(), ArrowCell::Value(v) if v == json!(3)));
    }
}
