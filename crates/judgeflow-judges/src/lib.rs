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
