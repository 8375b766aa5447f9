//! The model registry: registered models, their numbered versions, tags, aliases and stages.
//! Prompts are registered models too, marked by the [`PROMPT_TAG`] tag.

use serde::{Deserialize, Serialize};

use crate::Tag;

/// The tag that marks a registered model (and its versions) as a prompt. Searches leave
/// prompts out unless they ask for them with this tag.
pub const PROMPT_TAG: &str = "mlflow.prompt.is_prompt";
/// The alias that always means "the highest version"; it cannot be set.
pub const LATEST_ALIAS: &str = "latest";

/// The deployment stage of a model version (MLflow's legacy workflow, still used by clients).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ModelStage {
    None,
    Staging,
    Production,
    Archived,
}

impl ModelStage {
    /// Every stage, in the order MLflow lists them.
    pub const ALL: [Self; 4] = [Self::None, Self::Staging, Self::Production, Self::Archived];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "None",
            Self::Staging => "Staging",
            Self::Production => "Production",
            Self::Archived => "Archived",
        }
    }

    /// Stage names are case-insensitive (`production` is `Production`).
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|stage| stage.as_str().eq_ignore_ascii_case(s))
    }

    /// Whether `archive_existing_versions` may be used when moving into this stage.
    #[must_use]
    pub fn is_active(self) -> bool {
        matches!(self, Self::Staging | Self::Production)
    }
}

/// Registration status. A version is READY as soon as it is created: the registry does not
/// copy artifacts, it points at them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ModelVersionStatus {
    PendingRegistration,
    FailedRegistration,
    Ready,
}

impl ModelVersionStatus {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingRegistration => "PENDING_REGISTRATION",
            Self::FailedRegistration => "FAILED_REGISTRATION",
            Self::Ready => "READY",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "PENDING_REGISTRATION" => Some(Self::PendingRegistration),
            "FAILED_REGISTRATION" => Some(Self::FailedRegistration),
            "READY" => Some(Self::Ready),
            _ => None,
        }
    }
}

/// A named pointer from a registered model to one of its versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredModelAlias {
    pub alias: String,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredModel {
    pub name: String,
    pub creation_timestamp: i64,
    pub last_updated_timestamp: i64,
    pub description: Option<String>,
    pub tags: Vec<Tag>,
    pub aliases: Vec<RegisteredModelAlias>,
    /// The highest version in each stage that has one, in [`ModelStage::ALL`] order.
    pub latest_versions: Vec<ModelVersion>,
}

impl RegisteredModel {
    #[must_use]
    pub fn is_prompt(&self) -> bool {
        self.tags
            .iter()
            .any(|t| t.key == PROMPT_TAG && t.value.eq_ignore_ascii_case("true"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelVersion {
    pub name: String,
    /// 1, 2, 3…: allocated per registered model and never reused, even after a delete.
    pub version: i64,
    pub creation_timestamp: i64,
    pub last_updated_timestamp: i64,
    pub description: Option<String>,
    pub user_id: Option<String>,
    pub current_stage: ModelStage,
    /// Where the client said the model is (`models:/m-…`, `runs:/…/model`, a URI).
    pub source: String,
    pub run_id: Option<String>,
    pub run_link: Option<String>,
    pub status: ModelVersionStatus,
    pub status_message: Option<String>,
    pub tags: Vec<Tag>,
    /// The aliases that point at this version.
    pub aliases: Vec<String>,
    /// The logged model this version registers, if any (MLflow 3).
    pub model_id: Option<String>,
}
