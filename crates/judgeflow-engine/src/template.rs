//! `{{inputs.x}}` placeholders and the small JSON path the HTTP target reads answers with.

use serde_json::{Map, Value};

/// What placeholders can name: `inputs`, `outputs`, `expectations` and their fields.
pub struct Scope<'a> {
    pub inputs: &'a Map<String, Value>,
    pub outputs: Option<&'a Value>,
    pub expectations: &'a Map<String, Value>,
}

/// A value as prompt text: strings as themselves, anything else as JSON. A one-field object
/// (`{"question": "…"}`) renders as its field, which is what a bare `{{inputs}}` means.
#[must_use]
pub fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Object(map) if map.len() == 1 => {
            text_of(map.values().next().unwrap_or(&Value::Null))
        }
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn lookup(scope: &Scope<'_>, path: &str) -> Option<Value> {
    let mut parts = path.split('.');
    let root = match parts.next()? {
        "inputs" => Value::Object(scope.inputs.clone()),
        "outputs" => scope.outputs.cloned().unwrap_or(Value::Null),
        "expectations" => Value::Object(scope.expectations.clone()),
        _ => return None,
    };
    let mut current = root;
    for part in parts {
        current = current.get(part)?.clone();
    }
    Some(current)
}

/// Replaces every `{{path}}` in `template`; an unknown path is an error naming it.
pub fn render(template: &str, scope: &Scope<'_>) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(len) = rest[start + 2..].find("}}") else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let path = rest[start + 2..start + 2 + len].trim();
        let value = lookup(scope, path).ok_or_else(|| format!("no value for {{{{{path}}}}}"))?;
        out.push_str(&text_of(&value));
        rest = &rest[start + 2 + len + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Renders every string inside a JSON template. A string that is exactly one placeholder
/// takes the value itself (a number stays a number, an object an object).
pub fn render_json(template: &Value, scope: &Scope<'_>) -> Result<Value, String> {
    Ok(match template {
        Value::String(s) => {
            let trimmed = s.trim();
            if let Some(path) = trimmed
                .strip_prefix("{{")
                .and_then(|t| t.strip_suffix("}}"))
                .filter(|p| !p.contains("{{"))
            {
                lookup(scope, path.trim())
                    .ok_or_else(|| format!("no value for {{{{{}}}}}", path.trim()))?
            } else {
                Value::String(render(s, scope)?)
            }
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| render_json(item, scope))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), render_json(v, scope)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

#[must_use]
/// Reads `$.a.b[0].c` (the leading `$` optional) out of a JSON value.
pub fn json_path<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    let path = path.trim();
    let path = path.strip_prefix('$').unwrap_or(path);
    let mut current = value;
    for segment in path.split('.').filter(|s| !s.is_empty()) {
        let (key, mut indexes) = match segment.find('[') {
            Some(at) => (&segment[..at], &segment[at..]),
            None => (segment, ""),
        };
        if !key.is_empty() {
            current = current.get(key)?;
        }
        while let Some(rest) = indexes.strip_prefix('[') {
            let end = rest.find(']')?;
            let index: usize = rest[..end].trim().parse().ok()?;
            current = current.get(index)?;
            indexes = &rest[end + 1..];
        }
    }
    Some(current)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn placeholders_render_text_and_json() {
        let inputs = json!({"question": "Why?", "n": 3});
        let inputs = inputs.as_object().unwrap();
        let expectations = Map::new();
        let scope = Scope {
            inputs,
            outputs: None,
            expectations: &expectations,
        };
        assert_eq!(
            render("Q: {{ inputs.question }}!", &scope).unwrap(),
            "Q: Why?!"
        );
        assert!(render("{{inputs.missing}}", &scope).is_err());
        assert_eq!(
            render_json(
                &json!({"q": "{{inputs.question}}", "n": "{{inputs.n}}"}),
                &scope
            )
            .unwrap(),
            json!({"q": "Why?", "n": 3})
        );
    }

    #[test]
    fn json_paths() {
        let body = json!({"choices": [{"message": {"content": "hi"}}], "ctx": ["a"]});
        assert_eq!(
            json_path(&body, "$.choices[0].message.content"),
            Some(&json!("hi"))
        );
        assert_eq!(json_path(&body, "ctx"), Some(&json!(["a"])));
        assert_eq!(json_path(&body, "$.nope"), None);
        assert_eq!(json_path(&body, "$"), Some(&body));
    }
}
