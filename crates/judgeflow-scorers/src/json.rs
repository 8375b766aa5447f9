//! JSON checks: is the output JSON at all, and does it satisfy a JSON Schema.
//!
//! Schemas are validated with the `jsonschema` crate built without its HTTP and file
//! resolvers, so a `$ref` can only point inside the schema: scoring never does I/O.

use serde::de::IgnoredAny;
use serde_json::Value;

use crate::error::ScorerError;

/// Whether `output` is one JSON value (surrounding whitespace allowed, trailing text not).
#[must_use]
pub fn json_valid(output: &str) -> bool {
    // Parsing into `IgnoredAny` checks the syntax without building a tree.
    serde_json::from_str::<IgnoredAny>(output).is_ok()
}

/// A compiled JSON Schema (the draft is taken from `$schema`, 2020-12 when absent).
/// Compile once per scorer and reuse it for every row.
pub struct JsonSchema {
    validator: jsonschema::Validator,
}

impl std::fmt::Debug for JsonSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonSchema").finish_non_exhaustive()
    }
}

/// The outcome of checking one output against a schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaCheck {
    Valid,
    /// The output does not parse as JSON; `message` is the parser's, with line and column.
    NotJson {
        message: String,
    },
    /// The output is JSON but breaks the schema.
    Invalid(SchemaViolation),
}

impl SchemaCheck {
    #[must_use]
    pub fn is_valid(&self) -> bool {
        matches!(self, Self::Valid)
    }
}

/// The first violation the validator found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaViolation {
    /// JSON Pointer to the offending part of the output (`""` for the whole document,
    /// `"/items/0/name"` inside it).
    pub instance_path: String,
    pub message: String,
}

impl JsonSchema {
    pub fn new(schema: &Value) -> Result<Self, ScorerError> {
        jsonschema::validator_for(schema)
            .map(|validator| Self { validator })
            .map_err(|error| ScorerError::InvalidJsonSchema {
                message: error.to_string(),
            })
    }

    /// Parses `output` and validates it.
    #[must_use]
    pub fn check(&self, output: &str) -> SchemaCheck {
        match serde_json::from_str::<Value>(output) {
            Ok(value) => self.check_value(&value),
            Err(error) => SchemaCheck::NotJson {
                message: error.to_string(),
            },
        }
    }

    /// Validates an already parsed value.
    #[must_use]
    pub fn check_value(&self, value: &Value) -> SchemaCheck {
        match self.validator.validate(value) {
            Ok(()) => SchemaCheck::Valid,
            Err(error) => SchemaCheck::Invalid(SchemaViolation {
                instance_path: error.instance_path().to_string(),
                message: error.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn validity() {
        assert!(json_valid(r#"{"a": [1, 2.5, null, "é"]}"#));
        assert!(json_valid(" 42 \n"));
        assert!(json_valid("\"just a string\""));
        assert!(!json_valid(""));
        assert!(!json_valid("{\"a\": 1,}"));
        assert!(!json_valid("{} {}"));
        assert!(!json_valid("NaN"));
    }

    #[test]
    fn schema_reports_first_violation_with_its_path() {
        let schema = JsonSchema::new(&json!({
            "type": "object",
            "required": ["name", "tags"],
            "properties": {
                "name": {"type": "string"},
                "tags": {"type": "array", "items": {"type": "string"}}
            }
        }))
        .unwrap();
        assert_eq!(
            schema.check(r#"{"name": "x", "tags": ["a"]}"#),
            SchemaCheck::Valid
        );
        let SchemaCheck::Invalid(violation) = schema.check(r#"{"name": "x", "tags": ["a", 3]}"#)
        else {
            panic!("expected a violation");
        };
        assert_eq!(violation.instance_path, "/tags/1");
        assert!(
            violation.message.contains("string"),
            "{}",
            violation.message
        );

        let SchemaCheck::Invalid(violation) = schema.check(r#"{"name": "x"}"#) else {
            panic!("expected a violation");
        };
        assert_eq!(violation.instance_path, "");
        assert!(violation.message.contains("tags"), "{}", violation.message);

        assert!(matches!(schema.check("{oops"), SchemaCheck::NotJson { .. }));
        assert!(!schema.check("[]").is_valid());
    }

    #[test]
    fn invalid_schema_is_a_typed_error() {
        let err = JsonSchema::new(&json!({"type": "no-such-type"})).unwrap_err();
        assert!(
            matches!(err, ScorerError::InvalidJsonSchema { .. }),
            "{err}"
        );
    }

    #[test]
    fn remote_refs_are_not_fetched() {
        // Without the resolvers the crate cannot reach the network; an external $ref is an
        // error at compile time rather than a request.
        let result = JsonSchema::new(&json!({"$ref": "https://example.com/schema.json"}));
        assert!(result.is_err());
    }
}
