//! MLflow's REST wire format: request and response bodies with MLflow's field names and its
//! protobuf-JSON quirks (int64 as number or string, metric values as `"NaN"`, Python-style
//! booleans in query strings), converted to and from Judgeflow's domain types.
//!
//! Requests declare every field optional: required-ness is checked by the server so that a
//! missing field yields MLflow's "Missing value for required parameter" message rather than a
//! serde error.

pub mod de;
mod evaluation_datasets;
mod logged_models;
mod otlp;
mod registry;
mod traces;
mod tracking;

pub use evaluation_datasets::*;
pub use logged_models::*;
pub use otlp::*;
pub use registry::*;
pub use traces::*;
pub use tracking::*;

use serde::{Deserialize, Serialize};

/// A `{key, value}` pair: tags and params alike.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValue {
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default, deserialize_with = "de::lenient_opt_string")]
    pub value: Option<String>,
}

impl KeyValue {
    /// The domain pair; a missing value is the empty string (as protobuf defaults it).
    #[must_use]
    pub fn into_tag(self) -> judgeflow_domain::Tag {
        judgeflow_domain::Tag::new(self.key.unwrap_or_default(), self.value.unwrap_or_default())
    }
}

impl From<judgeflow_domain::Tag> for KeyValue {
    fn from(tag: judgeflow_domain::Tag) -> Self {
        Self {
            key: Some(tag.key),
            value: Some(tag.value),
        }
    }
}

/// A page of results: MLflow omits the token when there is no next page.
#[derive(Debug, Serialize)]
pub struct NextPage {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}
