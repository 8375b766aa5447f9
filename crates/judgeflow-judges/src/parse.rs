//! The structured-output contract of a judge call: the JSON schema we request and the strict
//! reading of the answer.
//!
//! Strict where it matters and lenient where providers differ: `result` must have exactly the
//! requested type and one of the allowed values, while extra fields, a missing or non-string
//! rationale and a Markdown code fence (` ```json `) around the object are accepted (models behind
//! `json_object`-only endpoints add them). Everything else is a reason to ask again.

use serde_json::{Map, Value, json};

use crate::OutputKind;

/// A judge answer that passed the contract.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Parsed {
    /// A bool, an integer or one of the category labels, per the [`OutputKind`].
    pub value: Value,
    pub rationale: String,
}

/// The `response_format` schema for answers of this kind. Rationale comes first in the
/// properties so models that emit fields in schema order reason before they decide.
pub(crate) fn schema(output: &OutputKind) -> Value {
    let result = match output {
        OutputKind::YesNo => json!({"type": "string", "enum": ["yes", "no"]}),
        OutputKind::Score { min, max } => {
            json!({"type": "integer", "minimum": min, "maximum": max})
        }
        OutputKind::Category(labels) => json!({"type": "string", "enum": labels}),
    };
    json!({
        "type": "object",
        "properties": {"rationale": {"type": "string"}, "result": result},
        "required": ["rationale", "result"],
        "additionalProperties": false,
    })
}

/// Reads one answer, or says in a few words what is wrong with it.
pub(crate) fn parse(raw: &str, output: &OutputKind) -> Result<Parsed, String> {
    let text = unfence(raw.trim());
    if text.is_empty() {
        return Err("the answer is empty".to_owned());
    }
    let object: Map<String, Value> = match serde_json::from_str(text) {
        Ok(Value::Object(object)) => object,
        Ok(_) => return Err("the answer is JSON but not an object".to_owned()),
        Err(error) => return Err(format!("the answer is not JSON ({error})")),
    };
    let result = object
        .get("result")
        .ok_or_else(|| "the object has no \"result\" field".to_owned())?;
    let value = match output {
        OutputKind::YesNo => match result.as_str().map(|s| s.trim().to_ascii_lowercase()) {
            Some(s) if s == "yes" => Value::Bool(true),
            Some(s) if s == "no" => Value::Bool(false),
            _ => {
                return Err(format!(
                    "\"result\" must be \"yes\" or \"no\", not {result}"
                ));
            }
        },
        OutputKind::Score { min, max } => match result.as_i64() {
            // Integers only: a 3.5 or "4" means the model did not follow the schema, and
            // rounding it would invent a verdict.
            Some(score) if (*min..=*max).contains(&score) => Value::from(score),
            _ => {
                return Err(format!(
                    "\"result\" must be an integer from {min} to {max}, not {result}"
                ));
            }
        },
        OutputKind::Category(labels) => {
            let label = result.as_str().map(str::trim).and_then(|s| {
                // The exact label, else a case-insensitive match mapped to its spelling.
                labels
                    .iter()
                    .find(|l| l.as_str() == s)
                    .or_else(|| labels.iter().find(|l| l.eq_ignore_ascii_case(s)))
            });
            let Some(label) = label else {
                let quoted: Vec<String> = labels.iter().map(|l| format!("{l:?}")).collect();
                return Err(format!(
                    "\"result\" must be one of {}, not {result}",
                    quoted.join(", ")
                ));
            };
            Value::String(label.clone())
        }
    };
    let rationale = match object.get("rationale") {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    Ok(Parsed { value, rationale })
}

/// The inside of a Markdown code fence (```json … ``` or ``` … ```), else the text itself.
fn unfence(text: &str) -> &str {
    let Some(start) = text.find("```") else {
        return text;
    };
    let after = &text[start + 3..];
    // Skip the info string (`json`) up to the end of the fence line.
    let body = after.find('\n').map_or(after, |nl| &after[nl + 1..]);
    body.find("```").map_or(body, |end| &body[..end]).trim()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const YES_NO: OutputKind = OutputKind::YesNo;

    #[rstest]
    #[case(r#"{"rationale": "ok", "result": "yes"}"#, true)]
    #[case(r#"{"result": "No", "rationale": "bad", "confidence": 0.9}"#, false)]
    #[case("```json\n{\"rationale\": \"ok\", \"result\": \"yes\"}\n```", true)]
    #[case("Here it is:\n```\n{\"result\": \" no \"}\n```\nThanks", false)]
    fn accepts_yes_no(#[case] raw: &str, #[case] expected: bool) {
        assert_eq!(parse(raw, &YES_NO).unwrap().value, Value::Bool(expected));
    }

    #[rstest]
    #[case("Verdict: yes", "not JSON")]
    #[case("", "empty")]
    #[case("[\"yes\"]", "not an object")]
    #[case(r#"{"rationale": "r"}"#, "no \"result\"")]
    #[case(r#"{"result": true}"#, "must be \"yes\" or \"no\"")]
    #[case(r#"{"result": "maybe"}"#, "must be \"yes\" or \"no\"")]
    fn rejects_yes_no(#[case] raw: &str, #[case] reason: &str) {
        let error = parse(raw, &YES_NO).unwrap_err();
        assert!(error.contains(reason), "{error}");
    }

    #[rstest]
    #[case(r#"{"result": 4}"#, Ok(4))]
    #[case(r#"{"result": 1}"#, Ok(1))]
    #[case(r#"{"result": 6}"#, Err(()))]
    #[case(r#"{"result": 3.5}"#, Err(()))]
    #[case(r#"{"result": "4"}"#, Err(()))]
    fn scores_are_integers_in_range(#[case] raw: &str, #[case] expected: Result<i64, ()>) {
        let score = OutputKind::Score { min: 1, max: 5 };
        let parsed = parse(raw, &score).map(|p| p.value.as_i64().unwrap());
        assert_eq!(parsed.map_err(|_| ()), expected);
    }

    #[test]
    fn categories_match_exactly_or_by_case() {
        let kind = OutputKind::Category(vec!["Positive".into(), "negative".into()]);
        let value = |raw: &str| parse(raw, &kind).map(|p| p.value);
        assert_eq!(value(r#"{"result": "Positive"}"#), Ok(json!("Positive")));
        assert_eq!(value(r#"{"result": "NEGATIVE"}"#), Ok(json!("negative")));
        assert!(value(r#"{"result": "neutral"}"#).is_err());
    }

    #[test]
    fn the_schema_names_the_result_type() {
        let score = schema(&OutputKind::Score { min: 1, max: 5 });
        assert_eq!(score["properties"]["result"]["maximum"], 5);
        assert_eq!(
            schema(&YES_NO)["properties"]["result"]["enum"],
            json!(["yes", "no"])
        );
        assert_eq!(score["required"], json!(["rationale", "result"]));
    }
}
