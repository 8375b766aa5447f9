//! Why a judge gave no verdict: the model kept answering in a shape we cannot read, the call
//! itself failed, or the row lacks what the judge needs. The engine records each as an error
//! assessment with this text, never as a silent missing value.

use judgeflow_llm::LlmError;

#[derive(Debug, thiserror::Error)]
pub enum JudgeError {
    /// The answer was not the requested JSON, also after the one corrective retry. `raw` is the
    /// last answer as received, `reason` what was wrong with it.
    #[error("malformed judge answer ({reason}): {raw:?}")]
    Malformed { raw: String, reason: String },
    /// The chat call failed (after the client's own retries).
    #[error(transparent)]
    Llm(#[from] LlmError),
    /// The row lacks a field this judge needs, e.g. no `expected_response` for correctness.
    #[error("missing input: {0}")]
    MissingInput(String),
    /// The judge or jury cannot work as configured: a custom judge without placeholders or
    /// labels, a score range that is empty, the mean of categories. Known before any call, so
    /// the engine can reject a suite at load time with [`crate::Judge::validate`].
    #[error("invalid judge configuration: {0}")]
    Config(String),
}
