//! The one error type of the crate. Every variant is the caller's mistake (a bad pattern, a
//! bad schema, a call without references): scoring itself never fails.

use thiserror::Error;

/// A scorer could not be built or called with the given configuration.
#[derive(Debug, Error)]
pub enum ScorerError {
    /// The pattern of a regex scorer does not compile.
    #[error("invalid regular expression {pattern:?}: {source}")]
    InvalidRegex {
        pattern: String,
        #[source]
        source: Box<regex::Error>,
    },
    /// The schema of a JSON Schema scorer is not a valid schema.
    #[error("invalid JSON Schema: {message}")]
    InvalidJsonSchema { message: String },
    /// BLEU and chrF need at least one reference (`sacrebleu` raises here too).
    #[error("{metric} needs at least one reference")]
    NoReferences { metric: &'static str },
    /// An option is outside the range the metric is defined for.
    #[error("invalid {metric} option: {message}")]
    InvalidOption {
        metric: &'static str,
        message: String,
    },
}
