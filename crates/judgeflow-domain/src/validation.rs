//! MLflow's validation rules and limits, enforced before anything is written. Clients depend on
//! these exact limits (the Python client chunks batches to fit them), so they are constants here
//! rather than configuration.

use crate::{DomainError, Metric, Param, Tag};

pub const MAX_METRICS_PER_BATCH: usize = 1000;
pub const MAX_PARAMS_PER_BATCH: usize = 100;
pub const MAX_TAGS_PER_BATCH: usize = 100;
pub const MAX_ENTITIES_PER_BATCH: usize = 1000;
pub const MAX_KEY_LENGTH: usize = 250;
pub const MAX_PARAM_VALUE_LENGTH: usize = 6000;
pub const MAX_RUN_TAG_VALUE_LENGTH: usize = 8000;
pub const MAX_EXPERIMENT_TAG_VALUE_LENGTH: usize = 20000;
pub const MAX_EXPERIMENT_NAME_LENGTH: usize = 500;
pub const MAX_RESULTS_LIMIT: i64 = 50_000;
pub const MAX_DATASET_NAME_LENGTH: usize = 500;
pub const MAX_DATASET_DIGEST_LENGTH: usize = 36;
pub const MAX_DATASET_TAG_KEY_LENGTH: usize = 255;
pub const MAX_DATASET_TAG_VALUE_LENGTH: usize = 500;
pub const MAX_REGISTRY_TAG_VALUE_LENGTH: usize = 100_000;
pub const MAX_ALIAS_LENGTH: usize = 255;
/// `max_results` bounds of the registry searches (MLflow's handler limits).
pub const MAX_REGISTERED_MODELS_PER_PAGE: i64 = 1000;
pub const MAX_MODEL_VERSIONS_PER_PAGE: i64 = 200_000;

/// Which kind of entity a key belongs to; only used to word the error like MLflow does.
#[derive(Debug, Clone, Copy)]
pub enum KeyKind {
    Metric,
    Param,
    Tag,
}

impl KeyKind {
    fn noun(self) -> &'static str {
        match self {
            Self::Metric => "metric",
            Self::Param => "param",
            Self::Tag => "tag",
        }
    }
}

/// `Missing value for required parameter 'name'` when a required string is empty.
pub fn require(value: &str, parameter: &str) -> Result<(), DomainError> {
    if value.is_empty() {
        return Err(DomainError::invalid(format!(
            "Missing value for required parameter '{parameter}'. See the API docs for more \
             information about request parameters."
        )));
    }
    Ok(())
}

/// Keys accept alphanumerics and `_ - . space / :`, are at most 250 characters, and must not
/// change when treated as a file path (no `..`, no leading or doubled `/`): artifact stores and
/// the UI treat them as paths.
pub fn validate_key(kind: KeyKind, key: &str) -> Result<(), DomainError> {
    let noun = kind.noun();
    if key.is_empty() {
        return Err(DomainError::invalid(format!(
            "Missing value for required parameter 'key'. Invalid {noun} name: ''."
        )));
    }
    let allowed = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ' ' | '/' | ':');
    if !key.chars().all(allowed) {
        return Err(DomainError::invalid(format!(
            "Invalid {noun} name: '{key}'. Names may only contain alphanumerics, underscores (_), \
             dashes (-), periods (.), spaces ( ), colon(:) and slashes (/)."
        )));
    }
    if !is_normalized_path(key) {
        return Err(DomainError::invalid(format!(
            "Invalid {noun} name: '{key}'. Names may be treated as files in certain cases, and \
             must not resolve to other names when treated as such. This name would resolve to \
             '{}'",
            normalize_path(key)
        )));
    }
    if key.chars().count() > MAX_KEY_LENGTH {
        return Err(DomainError::invalid(format!(
            "'key' exceeds the maximum length of {MAX_KEY_LENGTH} characters"
        )));
    }
    Ok(())
}

/// Python's `posixpath.normpath`, which MLflow uses to detect keys that alias other keys.
fn normalize_path(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let leading = if path.starts_with("//") && !path.starts_with("///") {
        2
    } else {
        usize::from(path.starts_with('/'))
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if leading == 0 && parts.last().is_none_or(|p| *p == "..") => parts.push(".."),
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    let normalized = format!("{}{joined}", "/".repeat(leading));
    if normalized.is_empty() {
        ".".into()
    } else {
        normalized
    }
}

fn is_normalized_path(path: &str) -> bool {
    // Without a slash, `normpath` returns a non-empty path unchanged: no allocation for the
    // common key (this runs for every metric of a batch).
    if !path.contains('/') {
        return !path.is_empty() && path != "." && !path.starts_with("..");
    }
    let normalized = normalize_path(path);
    normalized == path
        && normalized != "."
        && !normalized.starts_with("..")
        && !normalized.starts_with('/')
}

fn check_length(what: &str, value: &str, limit: usize) -> Result<(), DomainError> {
    let length = value.chars().count();
    if length > limit {
        return Err(DomainError::invalid(format!(
            "{what} had length {length}, which exceeded length limit of {limit}"
        )));
    }
    Ok(())
}

pub fn validate_param(param: &Param) -> Result<(), DomainError> {
    validate_key(KeyKind::Param, &param.key)?;
    check_length(
        &format!("Param value '{}'", preview(&param.value)),
        &param.value,
        MAX_PARAM_VALUE_LENGTH,
    )
}

pub fn validate_run_tag(tag: &Tag) -> Result<(), DomainError> {
    validate_key(KeyKind::Tag, &tag.key)?;
    check_length(
        &format!("Tag value '{}'", preview(&tag.value)),
        &tag.value,
        MAX_RUN_TAG_VALUE_LENGTH,
    )
}

pub fn validate_experiment_tag(tag: &Tag) -> Result<(), DomainError> {
    validate_key(KeyKind::Tag, &tag.key)?;
    check_length(
        &format!("Tag value '{}'", preview(&tag.value)),
        &tag.value,
        MAX_EXPERIMENT_TAG_VALUE_LENGTH,
    )
}

pub fn validate_metric(metric: &Metric) -> Result<(), DomainError> {
    validate_key(KeyKind::Metric, &metric.key)
}

pub fn validate_experiment_name(name: &str) -> Result<(), DomainError> {
    require(name, "name")?;
    check_length("Experiment name", name, MAX_EXPERIMENT_NAME_LENGTH)
}

/// Registered model names: non-blank, and no `/` or `:` (they would break `models:/` URIs).
pub fn validate_model_name(name: &str) -> Result<(), DomainError> {
    if name.trim().is_empty() {
        return Err(DomainError::invalid(
            "Missing value for required parameter 'name'.",
        ));
    }
    if name.contains(['/', ':']) {
        return Err(DomainError::invalid(format!(
            "Invalid model name '{name}'. Names cannot contain '/' or ':'."
        )));
    }
    Ok(())
}

/// Tags of registered models and model versions: run-tag key rules, values up to 100,000
/// characters (prompt templates live in version tags).
pub fn validate_registry_tag(tag: &Tag) -> Result<(), DomainError> {
    validate_key(KeyKind::Tag, &tag.key)?;
    if tag.value.chars().count() > MAX_REGISTRY_TAG_VALUE_LENGTH {
        return Err(DomainError::invalid(format!(
            "'value' exceeds the maximum length of {MAX_REGISTRY_TAG_VALUE_LENGTH} characters"
        )));
    }
    Ok(())
}

/// Alias names: word characters and dashes, at most 255 characters.
pub fn validate_alias(alias: &str) -> Result<(), DomainError> {
    if alias.is_empty() {
        return Err(DomainError::invalid(
            "Registered model alias name cannot be empty.",
        ));
    }
    if !alias
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
    {
        return Err(DomainError::invalid(format!(
            "Invalid alias name: '{alias}'. Names may only contain alphanumerics, underscores \
             (_), and dashes (-)."
        )));
    }
    if alias.chars().count() > MAX_ALIAS_LENGTH {
        return Err(DomainError::invalid(format!(
            "'Registered model alias name' exceeds the maximum length of {MAX_ALIAS_LENGTH} \
             characters"
        )));
    }
    Ok(())
}

/// Aliases that may be read but not set: `latest` (any case) and version-like `v1`, `V2`.
pub fn validate_alias_settable(alias: &str) -> Result<(), DomainError> {
    validate_alias(alias)?;
    if alias.eq_ignore_ascii_case(crate::LATEST_ALIAS) {
        return Err(DomainError::invalid(
            "'latest' alias name (case insensitive) is reserved.",
        ));
    }
    let mut chars = alias.chars();
    if matches!(chars.next(), Some('v' | 'V'))
        && alias.len() > 1
        && chars.all(|c| c.is_ascii_digit())
    {
        return Err(DomainError::invalid(format!(
            "Version alias name '{alias}' is reserved."
        )));
    }
    Ok(())
}

/// A `runs:/<run_id>/<path>` version source must name the run given as `run_id`: the
/// registry records lineage, and a mismatch would point it at the wrong run.
pub fn validate_version_source(source: &str, run_id: Option<&str>) -> Result<(), DomainError> {
    if let Some(rest) = source.strip_prefix("runs:/") {
        let source_run = rest.trim_start_matches('/').split('/').next().unwrap_or("");
        if rest.starts_with('/') || run_id != Some(source_run) {
            return Err(DomainError::invalid(format!(
                "Invalid model version source: '{source}'. The run_id request parameter must \
                 identify the resource that contains the source."
            )));
        }
    }
    Ok(())
}

/// A model version number as the wire carries it (a string).
pub fn parse_version(version: &str) -> Result<i64, DomainError> {
    version.trim().parse::<i64>().map_err(|_| {
        DomainError::invalid(format!(
            "Parameter 'version' must be an integer, got '{version}'."
        ))
    })
}

/// `max_results` must be positive and at most `limit`.
pub fn validate_max_results(max_results: i64, limit: i64) -> Result<(), DomainError> {
    if max_results <= 0 || max_results > limit {
        return Err(DomainError::invalid(format!(
            "Invalid value {max_results} for parameter 'max_results' supplied. It must be at \
             most {limit}, and greater than 0."
        )));
    }
    Ok(())
}

/// Batch limits: 1000 metrics, 100 params, 100 tags, 1000 entities; no duplicate param keys
/// with different values.
pub fn validate_batch(
    metrics: &[Metric],
    params: &[Param],
    tags: &[Tag],
) -> Result<(), DomainError> {
    let over = |what: &str, got: usize, limit: usize| {
        DomainError::invalid(format!(
            "A batch logging request can contain at most {limit} {what}. Got {got} {what}. \
             Please split up {what} across multiple requests and try again."
        ))
    };
    if metrics.len() > MAX_METRICS_PER_BATCH {
        return Err(over("metrics", metrics.len(), MAX_METRICS_PER_BATCH));
    }
    if params.len() > MAX_PARAMS_PER_BATCH {
        return Err(over("params", params.len(), MAX_PARAMS_PER_BATCH));
    }
    if tags.len() > MAX_TAGS_PER_BATCH {
        return Err(over("tags", tags.len(), MAX_TAGS_PER_BATCH));
    }
    let total = metrics.len() + params.len() + tags.len();
    if total > MAX_ENTITIES_PER_BATCH {
        return Err(over("entities", total, MAX_ENTITIES_PER_BATCH));
    }
    let mut seen = std::collections::HashMap::new();
    for param in params {
        if let Some(previous) = seen.insert(param.key.as_str(), param.value.as_str())
            && previous != param.value
        {
            return Err(DomainError::invalid(format!(
                "Duplicate parameter keys have been submitted: ['{}']. Please ensure the request \
                 contains only one param value per param key.",
                param.key
            )));
        }
    }
    metrics.iter().try_for_each(validate_metric)?;
    params.iter().try_for_each(validate_param)?;
    tags.iter().try_for_each(validate_run_tag)
}

fn preview(value: &str) -> String {
    if value.chars().count() > 16 {
        format!("{}...", value.chars().take(16).collect::<String>())
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_mlflow_rules() {
        assert!(validate_key(KeyKind::Metric, "loss/train:epoch 1").is_ok());
        assert!(validate_key(KeyKind::Metric, "").is_err());
        assert!(validate_key(KeyKind::Metric, "a..b").is_ok());
        assert!(validate_key(KeyKind::Metric, "../a").is_err());
        assert!(validate_key(KeyKind::Metric, "a/../b").is_err());
        assert!(validate_key(KeyKind::Metric, "/a").is_err());
        assert!(validate_key(KeyKind::Metric, "a//b").is_err());
        assert!(validate_key(KeyKind::Metric, "a/").is_err());
        assert!(validate_key(KeyKind::Metric, "a;drop").is_err());
        assert!(validate_key(KeyKind::Metric, &"k".repeat(251)).is_err());
    }

    #[test]
    fn the_slash_free_shortcut_agrees_with_normpath() {
        let full = |path: &str| {
            let normalized = normalize_path(path);
            normalized == path
                && normalized != "."
                && !normalized.starts_with("..")
                && !normalized.starts_with('/')
        };
        for key in [
            "", ".", "..", "...", "..a", "a..", "a.b", ".a", "loss", " ", ":x",
        ] {
            assert_eq!(is_normalized_path(key), full(key), "{key:?}");
        }
    }

    #[test]
    fn batch_limits() {
        let metric = Metric::new("m", 1.0, 0, 0);
        assert!(validate_batch(&vec![metric.clone(); 1000], &[], &[]).is_ok());
        let err = validate_batch(&vec![metric; 1001], &[], &[]).unwrap_err();
        assert!(err.to_string().contains("at most 1000 metrics"));
        let params = [Tag::new("a", "1"), Tag::new("a", "2")];
        assert!(validate_batch(&[], &params, &[]).is_err());
        let same = [Tag::new("a", "1"), Tag::new("a", "1")];
        assert!(validate_batch(&[], &same, &[]).is_ok());
    }

    #[test]
    fn registry_rules() {
        assert!(validate_model_name("model a").is_ok());
        assert!(validate_model_name("  ").is_err());
        assert!(validate_model_name("a/b").is_err());
        assert!(validate_model_name("a:b").is_err());
        assert!(validate_alias_settable("champion-2").is_ok());
        assert!(validate_alias_settable("Latest").is_err());
        assert!(validate_alias_settable("v3").is_err());
        assert!(validate_alias_settable("v").is_ok());
        assert!(validate_alias("a b").is_err());
        assert!(validate_alias(&"a".repeat(256)).is_err());
        assert!(validate_version_source("runs:/abc/model", Some("abc")).is_ok());
        assert!(validate_version_source("runs:/abc/model", None).is_err());
        assert!(validate_version_source("runs:/abc/model", Some("abd")).is_err());
        assert!(validate_version_source("runs://host/abc/model", Some("abc")).is_err());
        assert!(validate_version_source("s3://b/m", None).is_ok());
        assert_eq!(parse_version(" 7").unwrap(), 7);
        assert_eq!(
            parse_version("x").unwrap_err().to_string(),
            "Parameter 'version' must be an integer, got 'x'."
        );
        let big = Tag::new("k", "x".repeat(MAX_REGISTRY_TAG_VALUE_LENGTH));
        assert!(validate_registry_tag(&big).is_ok());
        let too_big = Tag::new("k", "x".repeat(MAX_REGISTRY_TAG_VALUE_LENGTH + 1));
        assert!(validate_registry_tag(&too_big).is_err());
    }

    #[test]
    fn value_lengths() {
        assert!(validate_param(&Tag::new("p", "x".repeat(6000))).is_ok());
        assert!(validate_param(&Tag::new("p", "x".repeat(6001))).is_err());
        assert!(validate_run_tag(&Tag::new("t", "x".repeat(8001))).is_err());
        assert!(validate_param(&Tag::new("p", "")).is_ok());
    }
}
