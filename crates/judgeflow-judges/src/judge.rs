//! One judge: render the prompt, call the model, parse the verdict.

use std::time::Duration;

use judgeflow_llm::{ChatParams, LlmClient, Usage};
use serde::Serialize;
use serde_json::Value;

use crate::{JudgeError, JudgeKind, OutputKind};

/// What a judge sees of one row. `inputs`, `outputs` and `expectations` are the row's JSON
/// values as the dataset and target produced them.
#[derive(Debug, Clone, Copy)]
pub struct JudgeInput<'a> {
    pub inputs: &'a Value,
    pub outputs: &'a Value,
    pub expectations: &'a Value,
    pub retrieved_context: Option<&'a [String]>,
    pub row_guidelines: Option<&'a [String]>,
}

/// A judge's answer for one row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// A bool for yes/no, a number for scores and fractions, a string for categories.
    pub value: Value,
    pub rationale: String,
    /// The model that answered, as the endpoint reported it.
    pub model: String,
    /// Tokens of every call behind this verdict, a malformed first answer included.
    pub usage: Option<Usage>,
    /// HTTP attempts over all calls (client retries of 429/5xx included); 0 when all were cached.
    pub attempts: u32,
    /// Chat calls made: 1, or 2 when the first answer was malformed and asked again.
    pub calls: u32,
    /// Every call was answered from the cache: no tokens were spent.
    pub cached: bool,
    /// The models' answer time, summed over sequential calls.
    pub latency: Duration,
}

/// A [`JudgeKind`] bound to a judge model.
#[derive(Clone)]
pub struct Judge {
    kind: JudgeKind,
    name: String,
    client: LlmClient,
    params: ChatParams,
}

impl Judge {
    #[must_use]
    pub fn new(kind: JudgeKind, client: LlmClient) -> Self {
        let name = kind.default_name().to_owned();
        Self {
            kind,
            name,
            client,
            params: ChatParams::default(),
        }
    }

    /// The same judge recorded under another name (two guideline judges in one suite, say).
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Sampling parameters for this judge's calls, over the endpoint's defaults.
    #[must_use]
    pub fn with_params(mut self, params: ChatParams) -> Self {
        self.params = params;
        self
    }

    /// "correctness", "guidelines", a custom judge's name…
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    #[must_use]
    pub fn kind(&self) -> &JudgeKind {
        &self.kind
    }

    /// The shape of this judge's verdict values.
    #[must_use]
    pub fn output(&self) -> OutputKind {
        self.kind.output()
    }

    /// The judge model's configured name.
    #[must_use]
    pub fn model(&self) -> &str {
        &self.client.config().model
    }

    pub async fn judge(&self, input: &JudgeInput<'_>) -> Result<Verdict, JudgeError> {
        let _ = input;
        todo!()
    }
}
