//! The model registry (and prompts, which ride on it) on the wire. Version numbers travel as
//! strings (`"1"`), timestamps as epoch-millisecond numbers.

use judgeflow_domain as domain;
use serde::{Deserialize, Serialize};

use crate::KeyValue;
use crate::de::{lenient_opt_bool, lenient_opt_i64, lenient_opt_string, one_or_many};

#[derive(Debug, Default, Deserialize)]
pub struct CreateRegisteredModelRequest {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub tags: Vec<KeyValue>,
    #[serde(default)]
    pub description: Option<String>,
}

/// `get`, `delete` and `get-latest-versions` (with `stages`).
#[derive(Debug, Default, Deserialize)]
pub struct RegisteredModelRequest {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub new_name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub stages: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct SearchRegistryRequest {
    #[serde(default)]
    pub filter: Option<String>,
    #[serde(default, deserialize_with = "lenient_opt_i64")]
    pub max_results: Option<i64>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub order_by: Vec<String>,
    #[serde(default)]
    pub page_token: Option<String>,
}

/// Tags and aliases of registered models and versions: `version` only for versions and
/// aliases, `alias` only for aliases.
#[derive(Debug, Default, Deserialize)]
pub struct RegistryTagRequest {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient_opt_string")]
    pub version: Option<String>,
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default, deserialize_with = "lenient_opt_string")]
    pub value: Option<String>,
    #[serde(default)]
    pub alias: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct CreateModelVersionRequest {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub run_id: Option<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub tags: Vec<KeyValue>,
    #[serde(default)]
    pub run_link: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub model_id: Option<String>,
}

/// `get`, `update`, `delete`, `get-download-uri` and `transition-stage` of one version.
#[derive(Debug, Default, Deserialize)]
pub struct ModelVersionRequest {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient_opt_string")]
    pub version: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub stage: Option<String>,
    #[serde(default, deserialize_with = "lenient_opt_bool")]
    pub archive_existing_versions: Option<bool>,
}

#[derive(Debug, Serialize)]
pub struct RegisteredModelAlias {
    pub alias: String,
    pub version: String,
}

#[derive(Debug, Serialize)]
pub struct ModelVersion {
    pub name: String,
    pub version: String,
    pub creation_timestamp: i64,
    pub last_updated_timestamp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    pub current_stage: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    pub tags: Vec<KeyValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_link: Option<String>,
    pub aliases: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
}

impl From<domain::ModelVersion> for ModelVersion {
    fn from(v: domain::ModelVersion) -> Self {
        Self {
            name: v.name,
            version: v.version.to_string(),
            creation_timestamp: v.creation_timestamp,
            last_updated_timestamp: v.last_updated_timestamp,
            user_id: v.user_id,
            current_stage: v.current_stage.as_str(),
            description: v.description,
            source: v.source,
            run_id: v.run_id,
            status: v.status.as_str(),
            status_message: v.status_message,
            tags: v.tags.into_iter().map(KeyValue::from).collect(),
            run_link: v.run_link,
            aliases: v.aliases,
            model_id: v.model_id,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct RegisteredModel {
    pub name: String,
    pub creation_timestamp: i64,
    pub last_updated_timestamp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub latest_versions: Vec<ModelVersion>,
    pub tags: Vec<KeyValue>,
    pub aliases: Vec<RegisteredModelAlias>,
}

impl From<domain::RegisteredModel> for RegisteredModel {
    fn from(m: domain::RegisteredModel) -> Self {
        Self {
            name: m.name,
            creation_timestamp: m.creation_timestamp,
            last_updated_timestamp: m.last_updated_timestamp,
            description: m.description,
            latest_versions: m
                .latest_versions
                .into_iter()
                .map(ModelVersion::from)
                .collect(),
            tags: m.tags.into_iter().map(KeyValue::from).collect(),
            aliases: m
                .aliases
                .into_iter()
                .map(|a| RegisteredModelAlias {
                    alias: a.alias,
                    version: a.version.to_string(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_strings_and_query_strings_parse() {
        let request: ModelVersionRequest = serde_json::from_str(
            r#"{"name": "m", "version": 3, "archive_existing_versions": "True"}"#,
        )
        .unwrap();
        assert_eq!(request.version.as_deref(), Some("3"));
        assert_eq!(request.archive_existing_versions, Some(true));
        let version = ModelVersion::from(domain::ModelVersion {
            name: "m".into(),
            version: 2,
            creation_timestamp: 1,
            last_updated_timestamp: 2,
            description: None,
            user_id: None,
            current_stage: domain::ModelStage::Staging,
            source: "s".into(),
            run_id: None,
            run_link: None,
            status: domain::ModelVersionStatus::Ready,
            status_message: None,
            tags: vec![],
            aliases: vec!["a".into()],
            model_id: None,
        });
        let json = serde_json::to_value(version).unwrap();
        assert_eq!(json["version"], "2");
        assert_eq!(json["current_stage"], "Staging");
        assert_eq!(json["status"], "READY");
        assert!(json.get("run_id").is_none());
    }
}
