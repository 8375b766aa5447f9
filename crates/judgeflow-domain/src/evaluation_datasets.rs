//! Evaluation datasets (`mlflow.genai.datasets`): named, versionless collections of records
//! (inputs, expectations, outputs, tags, source) that `mlflow.genai.evaluate` reads as data.
//!
//! Everything the client can observe is derived here the way MLflow's SQL store derives it,
//! so the store crates only persist:
//! - a record is identified within its dataset by [`input_hash`]: SHA-256 of the inputs as
//!   Python's `json.dumps(inputs, sort_keys=True)` writes them. Upserting the same inputs again
//!   merges into the stored record ([`DatasetRecord::merge`]) instead of adding one;
//! - the `schema` grows with the field types seen in upserted records ([`updated_schema`]);
//! - the `profile` is `{"num_records": N}` ([`profile_json`]);
//! - the `digest` is a hash of the name and the last update time ([`dataset_digest`]), so
//!   every upsert yields a new digest (evaluate logs it as the run input's digest).
//!
//! Several of these travel as JSON *text* (`tags`, `schema`, `profile`, `records`); the text
//! is written by [`python_json`] in the shape Python's `json.dumps` gives it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::search::{
    self, CompareOp, Comparison, EntityType, Literal, OrderBy, parse_filter, parse_order_by,
};
use crate::{DomainError, Tag, USER_TAG};

/// Dataset ids are `d-` and 32 hex digits.
pub const DATASET_ID_PREFIX: &str = "d-";
/// Record ids are `dr-` and 32 hex digits.
pub const RECORD_ID_PREFIX: &str = "dr-";
/// The longest dataset name (MLflow's column width).
pub const MAX_EVALUATION_DATASET_NAME_LENGTH: usize = 255;
/// The longest dataset tag key and value (MLflow's column widths).
pub const MAX_EVALUATION_DATASET_TAG_KEY_LENGTH: usize = 255;
pub const MAX_EVALUATION_DATASET_TAG_VALUE_LENGTH: usize = 5000;
/// Records per page when the client does not say (MLflow's default, and what the client asks
/// for when it reads a whole dataset).
pub const DEFAULT_RECORDS_PER_PAGE: i64 = 1000;
/// Datasets per search page when the request does not say: the proto default MLflow's server
/// applies. (The Python client always sends its own default of 50.)
pub const DEFAULT_DATASETS_PER_PAGE: i64 = 1000;
/// The version written into every schema.
pub const SCHEMA_VERSION: &str = "1.0";

#[must_use]
pub fn new_dataset_id() -> String {
    format!("{DATASET_ID_PREFIX}{}", uuid::Uuid::new_v4().simple())
}

#[must_use]
pub fn new_record_id() -> String {
    format!("{RECORD_ID_PREFIX}{}", uuid::Uuid::new_v4().simple())
}

/// A dataset's metadata; records are read separately, a page at a time.
#[derive(Debug, Clone, PartialEq)]
pub struct EvaluationDataset {
    pub dataset_id: String,
    pub name: String,
    /// Ordered by key.
    pub tags: Vec<Tag>,
    /// JSON text, absent until records are first upserted.
    pub schema: Option<String>,
    /// JSON text, absent until records are first upserted.
    pub profile: Option<String>,
    pub digest: String,
    pub created_time: i64,
    pub last_update_time: i64,
    /// The `mlflow.user` tag at creation.
    pub created_by: Option<String>,
    /// The `mlflow.user` tag of the last upsert's records.
    pub last_updated_by: Option<String>,
    /// The experiments the dataset is linked to, ascending.
    pub experiment_ids: Vec<String>,
}

/// Where a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordSourceType {
    Unspecified,
    Trace,
    Human,
    Document,
    Code,
}

impl RecordSourceType {
    pub const ALL: [Self; 5] = [
        Self::Unspecified,
        Self::Trace,
        Self::Human,
        Self::Document,
        Self::Code,
    ];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unspecified => "UNSPECIFIED",
            Self::Trace => "TRACE",
            Self::Human => "HUMAN",
            Self::Document => "DOCUMENT",
            Self::Code => "CODE",
        }
    }

    /// Case-insensitive, as the client standardizes `"trace"` to `TRACE`.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                let valid: Vec<_> = Self::ALL
                    .iter()
                    .map(|t| format!("'{}'", t.as_str()))
                    .collect();
                DomainError::invalid(format!(
                    "Invalid dataset record source type: {}. Valid source types: [{}]",
                    s.to_uppercase(),
                    valid.join(", ")
                ))
            })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RecordSource {
    pub source_type: RecordSourceType,
    pub source_data: Map<String, Value>,
}

impl RecordSource {
    /// `{"source_type": "TRACE", "source_data": {…}}`, as records carry it.
    #[must_use]
    pub fn to_json(&self) -> Value {
        let mut object = Map::new();
        object.insert("source_type".into(), self.source_type.as_str().into());
        object.insert(
            "source_data".into(),
            Value::Object(self.source_data.clone()),
        );
        Value::Object(object)
    }

    /// The id records are looked up by: the trace id for traces, `source_id` otherwise.
    #[must_use]
    pub fn source_id(&self) -> Option<String> {
        let key = if self.source_type == RecordSourceType::Trace {
            "trace_id"
        } else {
            "source_id"
        };
        self.source_data
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    fn from_json(index: usize, value: Value) -> Result<Self, DomainError> {
        let Value::Object(mut object) = value else {
            return Err(record_error(index, "'source' must be a JSON object"));
        };
        let source_type = match object.remove("source_type") {
            Some(Value::String(s)) => RecordSourceType::parse(&s)?,
            _ => {
                return Err(record_error(
                    index,
                    "'source' must have a string 'source_type'",
                ));
            }
        };
        let source_data = match object.remove("source_data") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(data)) => data,
            Some(_) => {
                return Err(record_error(
                    index,
                    "'source.source_data' must be a JSON object",
                ));
            }
        };
        Ok(Self {
            source_type,
            source_data,
        })
    }
}

/// One stored record.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetRecord {
    pub dataset_record_id: String,
    pub dataset_id: String,
    pub inputs: Map<String, Value>,
    /// Any JSON value; `None` when the record was upserted with `"outputs": null`.
    pub outputs: Option<Value>,
    pub expectations: Option<Map<String, Value>>,
    pub tags: Map<String, Value>,
    pub source: Option<RecordSource>,
    pub source_id: Option<String>,
    pub source_type: Option<RecordSourceType>,
    pub created_time: i64,
    pub last_update_time: i64,
    pub created_by: Option<String>,
    pub last_updated_by: Option<String>,
}

impl DatasetRecord {
    /// Merges a re-upsert of the same inputs, as MLflow does: present `outputs` replace the
    /// old ones, non-empty `expectations` and `tags` are dict-merged (new keys win), the source
    /// and creation fields stay. `last_updated_by` follows a `mlflow.user` tag when one comes.
    pub fn merge(&mut self, upsert: RecordUpsert, now: i64) {
        if let Some(outputs) = upsert.outputs {
            self.outputs = (!outputs.is_null()).then_some(outputs);
        }
        if let Some(expectations) = upsert.expectations.filter(|e| !e.is_empty()) {
            self.expectations
                .get_or_insert_with(Map::new)
                .extend(expectations);
        }
        if let Some(tags) = upsert.tags.filter(|t| !t.is_empty()) {
            if let Some(user) = user_of(&tags) {
                self.last_updated_by = Some(user);
            }
            self.tags.extend(tags);
        }
        self.last_update_time = now;
    }
}

/// One record of an upsert, as the client sends it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordUpsert {
    pub inputs: Map<String, Value>,
    /// `None` when the field was absent, `Some(Value::Null)` when it was `null`: a new record
    /// gets `{}` for an absent one, and a merge only replaces present ones.
    pub outputs: Option<Value>,
    pub expectations: Option<Map<String, Value>>,
    pub tags: Option<Map<String, Value>>,
    pub source: Option<RecordSource>,
}

fn record_error(index: usize, message: &str) -> DomainError {
    DomainError::invalid(format!("Invalid record at index {index}: {message}"))
}

fn optional_object(
    index: usize,
    object: &mut Map<String, Value>,
    field: &str,
) -> Result<Option<Map<String, Value>>, DomainError> {
    match object.remove(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(_) => Err(record_error(
            index,
            &format!("'{field}' must be a JSON object"),
        )),
    }
}

fn user_of(tags: &Map<String, Value>) -> Option<String> {
    tags.get(USER_TAG)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

impl RecordUpsert {
    /// Reads one element of the `records` array. A missing `inputs` is `{}`, as in MLflow's
    /// store; fields of the wrong JSON type are client errors (MLflow fails on them with 500s).
    pub fn from_json(index: usize, value: Value) -> Result<Self, DomainError> {
        let Value::Object(mut object) = value else {
            return Err(record_error(index, "each record must be a JSON object"));
        };
        let inputs = optional_object(index, &mut object, "inputs")?.unwrap_or_default();
        let outputs = object.remove("outputs");
        let expectations = optional_object(index, &mut object, "expectations")?;
        let tags = optional_object(index, &mut object, "tags")?;
        let source = match object.remove("source") {
            None | Some(Value::Null) => None,
            Some(source) => Some(RecordSource::from_json(index, source)?),
        };
        Ok(Self {
            inputs,
            outputs,
            expectations,
            tags,
            source,
        })
    }

    /// The upsert key within a dataset.
    #[must_use]
    pub fn input_hash(&self) -> String {
        input_hash(&self.inputs)
    }

    /// The `mlflow.user` tag, which names who created or updated the record.
    #[must_use]
    pub fn user(&self) -> Option<String> {
        self.tags.as_ref().and_then(user_of)
    }

    /// The record this upsert creates when its inputs are new to the dataset.
    #[must_use]
    pub fn into_record(self, dataset_id: &str, now: i64) -> DatasetRecord {
        let created_by = self.user();
        let source_id = self.source.as_ref().and_then(RecordSource::source_id);
        let source_type = self.source.as_ref().map(|s| s.source_type);
        DatasetRecord {
            dataset_record_id: new_record_id(),
            dataset_id: dataset_id.to_owned(),
            inputs: self.inputs,
            outputs: match self.outputs {
                None => Some(Value::Object(Map::new())),
                Some(Value::Null) => None,
                Some(outputs) => Some(outputs),
            },
            expectations: self.expectations,
            tags: self.tags.unwrap_or_default(),
            source: self.source,
            source_id,
            source_type,
            created_time: now,
            last_update_time: now,
            last_updated_by: created_by.clone(),
            created_by,
        }
    }
}

/// Parses the value of `records`: a JSON array of record objects.
pub fn parse_records(value: Value) -> Result<Vec<RecordUpsert>, DomainError> {
    let Value::Array(items) = value else {
        return Err(DomainError::invalid(
            "Invalid value for parameter 'records': expected a JSON array of records",
        ));
    };
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| RecordUpsert::from_json(index, item))
        .collect()
}

/// Dataset tags from the JSON object the wire carries. Values become strings as MLflow's
/// `str(value)` makes them (`true` is `"True"`); `null` values are skipped, as MLflow's
/// `set_dataset_tags` skips them.
pub fn parse_tags(value: Value) -> Result<Vec<Tag>, DomainError> {
    let Value::Object(object) = value else {
        return Err(DomainError::invalid(
            "Invalid value for parameter 'tags': expected a JSON object of tag values",
        ));
    };
    let mut tags = Vec::with_capacity(object.len());
    for (key, value) in object {
        let value = match value {
            Value::Null => continue,
            Value::String(s) => s,
            Value::Bool(true) => "True".to_owned(),
            Value::Bool(false) => "False".to_owned(),
            other => python_json(&other),
        };
        let tag = Tag::new(key, value);
        validate_tag(&tag)?;
        tags.push(tag);
    }
    Ok(tags)
}

pub fn validate_tag(tag: &Tag) -> Result<(), DomainError> {
    if tag.key.is_empty() {
        return Err(DomainError::invalid("A dataset tag key must not be empty"));
    }
    if tag.key.chars().count() > MAX_EVALUATION_DATASET_TAG_KEY_LENGTH {
        return Err(DomainError::invalid(format!(
            "Dataset tag key '{}' is longer than {MAX_EVALUATION_DATASET_TAG_KEY_LENGTH} characters",
            tag.key
        )));
    }
    if tag.value.chars().count() > MAX_EVALUATION_DATASET_TAG_VALUE_LENGTH {
        return Err(DomainError::invalid(format!(
            "The value of dataset tag '{}' is longer than {MAX_EVALUATION_DATASET_TAG_VALUE_LENGTH} characters",
            tag.key
        )));
    }
    Ok(())
}

pub fn validate_dataset_name(name: &str) -> Result<(), DomainError> {
    if name.trim().is_empty() {
        return Err(DomainError::invalid(
            "Missing value for required parameter 'name'. See the API docs for more information \
             about request parameters.",
        ));
    }
    if name.chars().count() > MAX_EVALUATION_DATASET_NAME_LENGTH {
        return Err(DomainError::invalid(format!(
            "Dataset name '{name}' is longer than {MAX_EVALUATION_DATASET_NAME_LENGTH} characters"
        )));
    }
    Ok(())
}

/// SHA-256 (hex) of `json.dumps(inputs, sort_keys=True)`.
#[must_use]
pub fn input_hash(inputs: &Map<String, Value>) -> String {
    let text = python_json(&Value::Object(inputs.clone()));
    hex(&Sha256::digest(text.as_bytes()))
}

/// The first 8 hex digits of SHA-256 of `"<name>:<last_update_time>"`: any upsert changes it.
#[must_use]
pub fn dataset_digest(name: &str, last_update_time: i64) -> String {
    let digest = Sha256::digest(format!("{name}:{last_update_time}").as_bytes());
    hex(&digest[..4])
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// `{"num_records": N}` for a non-empty dataset. MLflow writes the JSON text `null` when
/// deleting records empties a dataset, and keeps the old profile when an upsert leaves it
/// empty; the store follows both (see the `DatasetStore` docs).
#[must_use]
pub fn profile_json(num_records: i64) -> Option<String> {
    (num_records > 0).then(|| format!("{{\"num_records\": {num_records}}}"))
}

/// The profile text after a delete left `num_records`.
#[must_use]
pub fn profile_after_delete(num_records: i64) -> String {
    profile_json(num_records).unwrap_or_else(|| "null".to_owned())
}

/// The type names MLflow's schema uses for JSON values.
fn field_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The schema after an upsert of `records`: field types already known stay, new fields are
/// added with the type of their first value. `None` when there is neither a schema nor a
/// record (MLflow leaves the schema unset then).
#[must_use]
pub fn updated_schema(existing: Option<&str>, records: &[RecordUpsert]) -> Option<String> {
    if existing.is_none() && records.is_empty() {
        return None;
    }
    let parsed = existing.and_then(|text| serde_json::from_str::<Value>(text).ok());
    let section = |name: &str| -> Value {
        parsed
            .as_ref()
            .and_then(|schema| schema.get(name))
            .cloned()
            .unwrap_or_else(|| Value::Object(Map::new()))
    };
    let (mut inputs, mut outputs, mut expectations) = (
        section("inputs"),
        section("outputs"),
        section("expectations"),
    );
    let version = parsed
        .as_ref()
        .and_then(|schema| schema.get("version"))
        .cloned()
        .unwrap_or_else(|| SCHEMA_VERSION.into());
    let add_fields = |section: &mut Value, fields: &Map<String, Value>| {
        // A section that is not an object (a scalar `outputs` type) takes no fields: MLflow
        // fails on that mix with a 500; here the first shape seen wins.
        if let Value::Object(known) = section {
            for (key, value) in fields {
                known
                    .entry(key.clone())
                    .or_insert_with(|| field_type(value).into());
            }
        }
    };
    for record in records {
        add_fields(&mut inputs, &record.inputs);
        match &record.outputs {
            None | Some(Value::Null) => {}
            Some(Value::Object(fields)) => add_fields(&mut outputs, fields),
            Some(scalar) => {
                if outputs.as_object().is_some_and(Map::is_empty) {
                    outputs = field_type(scalar).into();
                }
            }
        }
        if let Some(fields) = &record.expectations {
            add_fields(&mut expectations, fields);
        }
    }
    // The key order of MLflow's schema text, which `python_json` (sorted keys) would change.
    Some(format!(
        "{{\"inputs\": {}, \"outputs\": {}, \"expectations\": {}, \"version\": {}}}",
        python_json(&inputs),
        python_json(&outputs),
        python_json(&expectations),
        python_json(&version)
    ))
}

/// JSON text as Python's `json.dumps(value, sort_keys=True)` writes it: `", "` and `": "`
/// separators, non-ASCII escaped as `\uXXXX`, floats in Python's `repr` (`1e+16`, `1.0`).
/// Object keys come out sorted (`serde_json::Map` is ordered by key).
#[must_use]
pub fn python_json(value: &Value) -> String {
    let mut out = String::new();
    write_python_json(&mut out, value);
    out
}

pub fn write_python_json(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                let _ = write!(out, "{i}");
            } else if let Some(u) = n.as_u64() {
                let _ = write!(out, "{u}");
            } else {
                out.push_str(&python_float(n.as_f64().unwrap_or(f64::NAN)));
            }
        }
        Value::String(s) => write_python_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_python_json(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_python_string(out, key);
                out.push_str(": ");
                write_python_json(out, item);
            }
            out.push('}');
        }
    }
}

/// A JSON string with `ensure_ascii`: everything outside printable ASCII is `\uXXXX`
/// (astral characters as surrogate pairs).
pub fn write_python_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

/// Python's `repr(float)`: the shortest round-trip digits, positional for decimal exponents
/// in [-4, 16), scientific (`1e+16`, `1.5e-05`) outside.
fn python_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    // Rust's `{:e}` also prints the shortest digits that round-trip: `-1.2345e-7`.
    let scientific = format!("{f:e}");
    let (mantissa, exponent) = scientific
        .split_once('e')
        .expect("LowerExp always writes an exponent");
    let exponent: i32 = exponent
        .parse()
        .expect("LowerExp writes an integer exponent");
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let mut out = sign.to_owned();
    if (-4..16).contains(&exponent) {
        if exponent >= 0 {
            let whole = exponent as usize + 1;
            if digits.len() <= whole {
                out.push_str(&digits);
                out.push_str(&"0".repeat(whole - digits.len()));
                out.push_str(".0");
            } else {
                out.push_str(&digits[..whole]);
                out.push('.');
                out.push_str(&digits[whole..]);
            }
        } else {
            out.push_str("0.");
            out.push_str(&"0".repeat((-exponent - 1) as usize));
            out.push_str(&digits);
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(
            out,
            "e{}{:02}",
            if exponent < 0 { '-' } else { '+' },
            exponent.abs()
        );
    }
    out
}

/// The dataset tags as the JSON object text the wire carries.
#[must_use]
pub fn tags_json(tags: &[Tag]) -> String {
    let object: BTreeMap<&str, &str> = tags
        .iter()
        .map(|t| (t.key.as_str(), t.value.as_str()))
        .collect();
    let mut out = String::from("{");
    for (i, (key, value)) in object.into_iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_python_string(&mut out, key);
        out.push_str(": ");
        write_python_string(&mut out, value);
    }
    out.push('}');
    out
}

/// Parses a dataset search filter. Beyond the grammar: only `name` takes `IN` (MLflow's rule)
/// and the timestamps compare with integers.
pub fn parse_search_filter(filter: &str) -> Result<Vec<Comparison>, DomainError> {
    let comparisons = parse_filter(filter, &search::EVALUATION_DATASETS)?;
    for comparison in &comparisons {
        if comparison.entity != EntityType::Attribute {
            continue;
        }
        if matches!(comparison.op, CompareOp::In | CompareOp::NotIn)
            && !(comparison.key == "name" && comparison.op == CompareOp::In)
        {
            return Err(DomainError::invalid(format!(
                "Invalid comparator '{}' for attribute '{}': only 'name' supports IN with a list \
                 of quoted strings",
                comparison.op.as_str(),
                comparison.key
            )));
        }
        if let Literal::Number(n) = comparison.value
            && n.fract() != 0.0
        {
            return Err(DomainError::invalid(format!(
                "Invalid value for numeric attribute '{}': '{n}'",
                comparison.key
            )));
        }
    }
    Ok(comparisons)
}

/// The attributes a dataset search may order by.
pub const DATASET_ORDER_KEYS: &[&str] = &["name", "created_time", "last_update_time"];

/// Parses dataset search order-by clauses; empty ones are skipped.
pub fn parse_search_order_by(clauses: &[String]) -> Result<Vec<OrderBy>, DomainError> {
    let mut orders = Vec::new();
    for clause in clauses.iter().filter(|c| !c.trim().is_empty()) {
        let order = parse_order_by(clause, &search::EVALUATION_DATASETS)?;
        if order.entity != EntityType::Attribute
            || !DATASET_ORDER_KEYS.contains(&order.key.as_str())
        {
            return Err(DomainError::invalid(format!(
                "Invalid order_by clause '{clause}'. Datasets can be ordered by {}",
                DATASET_ORDER_KEYS.join(", ")
            )));
        }
        orders.push(order);
    }
    Ok(orders)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn upsert(value: Value) -> RecordUpsert {
        RecordUpsert::from_json(0, value).unwrap()
    }

    #[test]
    fn json_text_matches_python_json_dumps() {
        // Each expected string is what `json.dumps(value, sort_keys=True)` prints.
        let cases = [
            (
                json!({"b": 1, "a": [true, null]}),
                r#"{"a": [true, null], "b": 1}"#,
            ),
            (
                json!({"q": "caf\u{e9} \u{1f600}\n\"x\""}),
                r#"{"q": "caf\u00e9 \ud83d\ude00\n\"x\""}"#,
            ),
            (
                json!([1.0, 0.1, 1e16, 1.5e-5, 123_456.789, -0.0, 1e-4, 2.5e15]),
                "[1.0, 0.1, 1e+16, 1.5e-05, 123456.789, -0.0, 0.0001, 2500000000000000.0]",
            ),
            (
                json!({"nested": {"z": 1, "y": {"b": 2, "a": 1}}}),
                r#"{"nested": {"y": {"a": 1, "b": 2}, "z": 1}}"#,
            ),
        ];
        for (value, expected) in cases {
            assert_eq!(python_json(&value), expected);
        }
    }

    #[test]
    fn hashes_and_digests_match_mlflow() {
        // hashlib.sha256(json.dumps({"q": "a", "n": 1}, sort_keys=True).encode()).hexdigest()
        let inputs = json!({"q": "a", "n": 1});
        assert_eq!(
            input_hash(inputs.as_object().unwrap()),
            "0ec0629e470471df5b925063287e0e9ed2c9f19496c9ebee2d4eb716fe0a6055"
        );
        // hashlib.sha256(b"ds1:1796191942947").hexdigest()[:8], seen from MLflow 3.17.2.
        assert_eq!(dataset_digest("ds1", 1_796_191_942_947), "ea7b6e19");
    }

    #[test]
    fn records_parse_and_reject_wrong_shapes() {
        let record = upsert(json!({
            "inputs": {"q": "a"},
            "source": {"source_type": "trace", "source_data": {"trace_id": "tr-1"}},
        }));
        let source = record.source.clone().unwrap();
        assert_eq!(source.source_type, RecordSourceType::Trace);
        assert_eq!(source.source_id().as_deref(), Some("tr-1"));
        assert_eq!(record.outputs, None);
        assert!(RecordUpsert::from_json(0, json!([])).is_err());
        assert!(RecordUpsert::from_json(0, json!({"inputs": "q"})).is_err());
        assert!(RecordUpsert::from_json(0, json!({"source": {"source_type": "ROBOT"}})).is_err());
        assert!(parse_records(json!({})).is_err());
        assert_eq!(upsert(json!({})).inputs, Map::new());
    }

    #[test]
    fn new_records_default_outputs_and_take_the_user() {
        let record = upsert(json!({"inputs": {"q": "a"}, "tags": {"mlflow.user": "ana"}}))
            .into_record("d-1", 5);
        assert_eq!(record.outputs, Some(json!({})));
        assert_eq!(record.created_by.as_deref(), Some("ana"));
        assert_eq!(record.last_updated_by.as_deref(), Some("ana"));
        assert!(record.expectations.is_none());
        let record = upsert(json!({"inputs": {}, "outputs": null})).into_record("d-1", 5);
        assert_eq!(record.outputs, None);
        assert!(record.tags.is_empty());
    }

    #[test]
    fn merge_dict_merges_expectations_and_tags() {
        let mut record = upsert(json!({
            "inputs": {"q": "a"}, "expectations": {"x": 1, "y": 2}, "tags": {"t": "1"}, "outputs": "old",
        }))
        .into_record("d-1", 1);
        record.merge(
            upsert(json!({"inputs": {"q": "a"}, "expectations": {"y": 3, "z": 4}, "tags": {"mlflow.user": "bo"}})),
            9,
        );
        assert_eq!(
            record.expectations,
            json!({"x": 1, "y": 3, "z": 4}).as_object().cloned()
        );
        assert_eq!(
            Value::Object(record.tags.clone()),
            json!({"t": "1", "mlflow.user": "bo"})
        );
        assert_eq!(record.outputs, Some(json!("old")), "absent outputs stay");
        assert_eq!((record.created_time, record.last_update_time), (1, 9));
        assert_eq!(record.last_updated_by.as_deref(), Some("bo"));
        record.merge(
            upsert(json!({"inputs": {"q": "a"}, "outputs": null, "expectations": {}})),
            10,
        );
        assert_eq!(record.outputs, None);
        assert_eq!(record.expectations.as_ref().map(Map::len), Some(3));
    }

    #[test]
    fn schema_grows_with_new_fields_in_mlflow_order() {
        let first = [
            upsert(
                json!({"inputs": {"q": "a", "n": 1}, "expectations": {"ok": true}, "outputs": {"score": 0.5}}),
            ),
            upsert(json!({"inputs": {"q": "b", "extra": [1]}})),
        ];
        let schema = updated_schema(None, &first).unwrap();
        assert_eq!(
            schema,
            r#"{"inputs": {"extra": "array", "n": "integer", "q": "string"}, "outputs": {"score": "float"}, "expectations": {"ok": "boolean"}, "version": "1.0"}"#
        );
        let second = [upsert(json!({"inputs": {"q": 3, "new": null}}))];
        let schema = updated_schema(Some(&schema), &second).unwrap();
        assert!(schema.contains(r#""new": "null""#) && schema.contains(r#""q": "string""#));
        assert_eq!(updated_schema(None, &[]), None);
        let scalar = updated_schema(None, &[upsert(json!({"inputs": {}, "outputs": "text"}))]);
        assert!(scalar.unwrap().contains(r#""outputs": "string""#));
    }

    #[test]
    fn tags_become_strings_and_profiles_follow_mlflow() {
        let tags = parse_tags(json!({"a": "x", "b": 5, "c": true, "d": null})).unwrap();
        assert_eq!(
            tags,
            vec![
                Tag::new("a", "x"),
                Tag::new("b", "5"),
                Tag::new("c", "True")
            ]
        );
        assert!(parse_tags(json!([1])).is_err());
        assert_eq!(tags_json(&tags), r#"{"a": "x", "b": "5", "c": "True"}"#);
        assert_eq!(profile_json(2).as_deref(), Some(r#"{"num_records": 2}"#));
        assert_eq!(profile_json(0), None);
        assert_eq!(profile_after_delete(0), "null");
    }

    #[test]
    fn search_filters_follow_mlflow_dataset_rules() {
        assert_eq!(
            parse_search_filter("name IN ('a', 'b') AND tags.team = 'x' AND created_time > 5")
                .unwrap()
                .len(),
            3
        );
        for bad in [
            "created_by IN ('a')",
            "name NOT IN ('a')",
            "created_time > 1.5",
            "created_time > '5'",
            "tags.team IS NULL",
            "digest = 'x'",
            "metrics.x > 1",
            "name = 'a' OR name = 'b'",
        ] {
            assert!(parse_search_filter(bad).is_err(), "{bad}");
        }
        let orders = parse_search_order_by(&["name ASC".into(), String::new()]).unwrap();
        assert_eq!(orders.len(), 1);
        for bad in ["tags.team", "created_by", "name sideways"] {
            assert!(parse_search_order_by(&[bad.into()]).is_err(), "{bad}");
        }
    }
}
