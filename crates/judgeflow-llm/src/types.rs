//! Chat-completion request and response types: the subset of the OpenAI wire format the engine
//! needs, plus what the client measured about the call.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    Developer,
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    pub fn system(content: impl Into<String>) -> Self {
        Self {
            role: Role::System,
            content: content.into(),
        }
    }

    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: content.into(),
        }
    }

    pub fn assistant(content: impl Into<String>) -> Self {
        Self {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// `response_format`: ask for any JSON object, or for JSON matching a schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ResponseFormat {
    Text,
    JsonObject,
    JsonSchema { json_schema: JsonSchemaFormat },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonSchemaFormat {
    pub name: String,
    pub schema: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

impl ResponseFormat {
    /// A strict `json_schema` format (the model must follow the schema exactly).
    pub fn json_schema(name: impl Into<String>, schema: Value) -> Self {
        Self::JsonSchema {
            json_schema: JsonSchemaFormat {
                name: name.into(),
                schema,
                strict: Some(true),
            },
        }
    }
}

/// Sampling parameters. Unset fields are left out of the request so the server's own defaults
/// apply; `extra` carries anything else the endpoint understands (`logprobs`, `reasoning_effort`…).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ChatParams {
    /// These parameters with any unset field taken from `defaults`; `extra` keys of `self` win.
    #[must_use]
    pub fn over(&self, defaults: &ChatParams) -> ChatParams {
        let mut extra = defaults.extra.clone();
        extra.extend(self.extra.clone());
        ChatParams {
            temperature: self.temperature.or(defaults.temperature),
            max_tokens: self.max_tokens.or(defaults.max_tokens),
            seed: self.seed.or(defaults.seed),
            top_p: self.top_p.or(defaults.top_p),
            stop: self.stop.clone().or_else(|| defaults.stop.clone()),
            presence_penalty: self.presence_penalty.or(defaults.presence_penalty),
            frequency_penalty: self.frequency_penalty.or(defaults.frequency_penalty),
            extra,
        }
    }
}

/// Whether a call may be answered from, and is written to, the client's [`crate::CallCache`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CacheMode {
    /// Answer from the cache when the key is there; store a fresh answer.
    #[default]
    Use,
    /// Always call the endpoint, then store the answer: for a retry after a bad (e.g. malformed
    /// judge) answer, which would otherwise come straight back from the cache.
    Refresh,
    /// Neither read nor write.
    Bypass,
}

/// One chat call. The model and default parameters come from the endpoint.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatRequest {
    pub messages: Vec<Message>,
    /// Overrides of the endpoint's default parameters for this call.
    pub params: ChatParams,
    pub response_format: Option<ResponseFormat>,
    /// Not part of the cache key: it says how to use the cache, not what to ask.
    pub cache: CacheMode,
}

impl ChatRequest {
    #[must_use]
    pub fn new(messages: Vec<Message>) -> Self {
        Self {
            messages,
            ..Self::default()
        }
    }

    /// A request of one user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self::new(vec![Message::user(content)])
    }

    #[must_use]
    pub fn with_params(mut self, params: ChatParams) -> Self {
        self.params = params;
        self
    }

    #[must_use]
    pub fn with_response_format(mut self, format: ResponseFormat) -> Self {
        self.response_format = Some(format);
        self
    }

    #[must_use]
    pub fn with_cache_mode(mut self, mode: CacheMode) -> Self {
        self.cache = mode;
        self
    }
}

/// Token counts as the endpoint reported them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
}

/// A parsed chat completion and what the client saw while getting it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    /// The first choice's message text (empty when the server sent `null`, e.g. a refusal).
    pub content: String,
    pub finish_reason: Option<String>,
    /// `None` when the server reported no usage (some self-hosted servers).
    pub usage: Option<Usage>,
    /// The model the server says answered, else the requested one.
    pub model: String,
    /// Time of the successful HTTP attempt alone: the model's answer time.
    pub latency: Duration,
    /// Wall time of the whole call: queueing behind limits, failed attempts and backoff included.
    /// On a cache hit, the lookup time.
    pub elapsed: Duration,
    /// HTTP attempts made; 0 on a cache hit.
    pub attempts: u32,
    /// Answered from the cache: no tokens were spent on this call.
    pub cached: bool,
    /// The response body as received.
    pub raw: Value,
}
