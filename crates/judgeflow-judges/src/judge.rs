//! One judge: render the prompt, call the model, parse the verdict.

use std::time::Duration;

use futures::future::join_all;
use judgeflow_llm::{ChatParams, LlmClient, Usage};
use serde::Serialize;
use serde_json::Value;

use crate::call::{self, CallStats};
use crate::prompts::{self, render};
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

/// A [`JudgeKind`] bound to a judge model. Cheap to clone: clones share the client.
#[derive(Clone)]
pub struct Judge {
    kind: JudgeKind,
    name: String,
    client: LlmClient,
    params: ChatParams,
}

impl std::fmt::Debug for Judge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Judge")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("model", &self.model())
            .finish_non_exhaustive()
    }
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

    /// Rejects a misconfigured judge (see [`JudgeKind::validate`]) before any row is judged.
    pub fn validate(&self) -> Result<(), JudgeError> {
        self.kind.validate().map_err(JudgeError::Config)
    }

    /// Judges one row. Fails with [`JudgeError::MissingInput`] before any call when the row
    /// lacks what this kind needs.
    pub async fn judge(&self, input: &JudgeInput<'_>) -> Result<Verdict, JudgeError> {
        self.validate()?;
        let Some(prompt) = self.prompt(input)? else {
            return self.retrieval_relevance(input).await;
        };
        let output = self.kind.output();
        let (parsed, stats) = call::ask(&self.client, &self.params, prompt, &output).await?;
        Ok(verdict(parsed.value, parsed.rationale, stats))
    }

    /// The user message of this kind's one call; `None` for retrieval relevance, which asks
    /// once per chunk.
    fn prompt(&self, input: &JudgeInput<'_>) -> Result<Option<String>, JudgeError> {
        let inputs = render(input.inputs);
        let output = render(input.outputs);
        Ok(Some(match &self.kind {
            JudgeKind::Correctness => match expected(input.expectations, self.name())? {
                Expected::Facts(facts) => prompts::correctness_facts(&inputs, &facts, &output),
                Expected::Response(expected) => {
                    prompts::correctness_response(&inputs, &expected, &output)
                }
            },
            JudgeKind::RelevanceToQuery => {
                prompts::relevance_to_query(non_empty(&inputs, "inputs", self.name())?, &output)
            }
            JudgeKind::RetrievalGroundedness => {
                prompts::retrieval_groundedness(context(input, self.name())?, &output)
            }
            JudgeKind::RetrievalSufficiency => {
                let expected = match expected(input.expectations, self.name())? {
                    Expected::Facts(facts) => facts.join("\n"),
                    Expected::Response(expected) => expected,
                };
                prompts::retrieval_sufficiency(&inputs, context(input, self.name())?, &expected)
            }
            JudgeKind::Safety => prompts::safety(&output),
            JudgeKind::Guidelines { guidelines } => {
                let all: Vec<String> = guidelines
                    .iter()
                    .chain(input.row_guidelines.unwrap_or_default())
                    .filter(|g| !g.trim().is_empty())
                    .cloned()
                    .collect();
                if all.is_empty() {
                    return Err(JudgeError::MissingInput(format!(
                        "{}: no guidelines, neither suite-wide nor for the row",
                        self.name()
                    )));
                }
                prompts::guidelines(&all, &inputs, &output)
            }
            JudgeKind::Custom {
                template,
                output: kind,
                ..
            } => prompts::custom(
                template,
                &inputs,
                &output,
                &render(input.expectations),
                kind,
            ),
            JudgeKind::RetrievalRelevance => return Ok(None),
        }))
    }

    /// One yes/no call per chunk, all at once; the value is the fraction of relevant chunks.
    /// Any failed chunk fails the verdict: a fraction over the chunks that happened to answer
    /// would look precise and be wrong.
    async fn retrieval_relevance(&self, input: &JudgeInput<'_>) -> Result<Verdict, JudgeError> {
        let chunks = context(input, self.name())?;
        let inputs = render(input.inputs);
        let inputs = non_empty(&inputs, "inputs", self.name())?;
        let calls = chunks.iter().map(|chunk| {
            let prompt = prompts::retrieval_relevance(inputs, chunk);
            call::ask(&self.client, &self.params, prompt, &OutputKind::YesNo)
        });
        let mut relevant = 0_usize;
        let mut rationale = Vec::with_capacity(chunks.len());
        let mut all_stats = Vec::with_capacity(chunks.len());
        for (i, answer) in join_all(calls).await.into_iter().enumerate() {
            let (parsed, stats) = answer?;
            let yes = parsed.value == Value::Bool(true);
            relevant += usize::from(yes);
            let word = if yes { "relevant" } else { "not relevant" };
            rationale.push(format!("[{}] {word}: {}", i + 1, parsed.rationale));
            all_stats.push(stats);
        }
        let fraction = relevant as f64 / chunks.len() as f64;
        Ok(verdict(
            Value::from(fraction),
            rationale.join("\n"),
            CallStats::concurrent(&all_stats),
        ))
    }
}

fn verdict(value: Value, rationale: String, stats: CallStats) -> Verdict {
    Verdict {
        value,
        rationale,
        model: stats.model,
        usage: stats.usage,
        attempts: stats.attempts,
        calls: stats.calls,
        cached: stats.cached,
        latency: stats.latency,
    }
}

enum Expected {
    Response(String),
    Facts(Vec<String>),
}

/// The reference a row gives: `expected_facts` when it lists any (a checklist grades more
/// precisely than a model answer), else `expected_response`. A bare string counts as the
/// expected response.
fn expected(expectations: &Value, judge: &str) -> Result<Expected, JudgeError> {
    if let Value::String(text) = expectations {
        if !text.trim().is_empty() {
            return Ok(Expected::Response(text.clone()));
        }
    }
    if let Some(facts) = expectations.get("expected_facts").and_then(Value::as_array) {
        let facts: Vec<String> = facts
            .iter()
            .map(render)
            .filter(|f| !f.trim().is_empty())
            .collect();
        if !facts.is_empty() {
            return Ok(Expected::Facts(facts));
        }
    }
    match expectations.get("expected_response").map(render) {
        Some(text) if !text.trim().is_empty() => Ok(Expected::Response(text)),
        _ => Err(JudgeError::MissingInput(format!(
            "{judge}: the row has no expectations.expected_response or expectations.expected_facts"
        ))),
    }
}

fn context<'a>(input: &JudgeInput<'a>, judge: &str) -> Result<&'a [String], JudgeError> {
    match input.retrieved_context {
        Some(chunks) if !chunks.is_empty() => Ok(chunks),
        _ => Err(JudgeError::MissingInput(format!(
            "{judge}: the row has no retrieved context"
        ))),
    }
}

/// `text`, unless the row left that field empty: relevance without a question is unanswerable.
fn non_empty<'t>(text: &'t str, field: &str, judge: &str) -> Result<&'t str, JudgeError> {
    if text.trim().is_empty() {
        Err(JudgeError::MissingInput(format!(
            "{judge}: the row's {field} are empty"
        )))
    } else {
        Ok(text)
    }
}
