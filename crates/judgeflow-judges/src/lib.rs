//! LLM judges: a model grades one evaluation row and says why.
//!
//! A [`Judge`] pairs a [`JudgeKind`] (which question it asks: correctness, groundedness, a
//! custom template…) with an [`judgeflow_llm::LlmClient`] for the judge model. [`Judge::judge`]:
//! 1. renders the kind's prompt from [`prompts`] with the row's [`JudgeInput`], fencing the
//!    candidate answer in `<output>…</output>` and the reference in `<expected>…</expected>`, so
//!    text inside them is data, not instructions;
//! 2. asks for structured output (`{"rationale": string, "result": …}`, a JSON schema whose
//!    `result` is a yes/no enum, an integer range or a category enum);
//! 3. parses the answer strictly about `result` and leniently about anything else; a malformed
//!    answer is asked again once, bypassing the call cache, with a short correction;
//! 4. returns a [`Verdict`] (value, rationale, model, usage, attempts, cached, latency) or a typed
//!    [`JudgeError`]. Nothing here returns NaN or panics on a model's answer.
//!
//! A [`Jury`] runs several judges at once and combines their verdicts ([`Aggregate`]);
//! [`Pairwise`] compares two outputs, asking in both orders to expose position bias.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use judgeflow_judges::{Judge, JudgeInput, JudgeKind};
//! use judgeflow_llm::{EndpointConfig, LlmClient};
//! use serde_json::json;
//!
//! let client = LlmClient::new(EndpointConfig::new("http://localhost:11434/v1", "qwen3:8b"))?;
//! let judge = Judge::new(JudgeKind::Correctness, client);
//! let (inputs, outputs) = (json!({"question": "Capital of France?"}), json!("Paris."));
//! let expectations = json!({"expected_response": "Paris"});
//! let verdict = judge
//!     .judge(&JudgeInput {
//!         inputs: &inputs,
//!         outputs: &outputs,
//!         expectations: &expectations,
//!         retrieved_context: None,
//!         row_guidelines: None,
//!     })
//!     .await?;
//! assert!(verdict.value.is_boolean());
//! # Ok(())
//! # }
//! ```
//!
//! This crate reads no environment variables: models and keys arrive in the client.

mod call;
mod error;
mod judge;
mod jury;
mod kind;
mod pairwise;
mod parse;
pub mod prompts;

pub use error::JudgeError;
pub use judge::{Judge, JudgeInput, Verdict};
pub use jury::{Aggregate, Jury, JuryVerdict, MemberVerdict};
pub use kind::{JudgeKind, OutputKind};
pub use pairwise::{Pairwise, PairwiseVerdict, Winner};
