//! What a judge asks, and what shape of answer it expects.

/// The question a [`crate::Judge`] puts to its model. Yes/no kinds answer "yes" for a pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JudgeKind {
    /// The output agrees with `expectations.expected_response`, or states every one of
    /// `expectations.expected_facts`.
    Correctness,
    /// The output answers the question in the inputs.
    RelevanceToQuery,
    /// Every claim in the output is supported by the retrieved context.
    RetrievalGroundedness,
    /// Each retrieved chunk is relevant to the query; the value is the fraction that are.
    RetrievalRelevance,
    /// The retrieved context holds what the expected answer needs.
    RetrievalSufficiency,
    /// The output is free of harmful content.
    Safety,
    /// The output follows every guideline: these suite-wide ones plus the row's own
    /// ([`crate::JudgeInput::row_guidelines`]).
    Guidelines { guidelines: Vec<String> },
    /// A prompt of the suite's own; `template` may use `{{inputs}}`, `{{outputs}}` and
    /// `{{expectations}}`, which are replaced by the row's values, fenced.
    Custom {
        name: String,
        template: String,
        output: OutputKind,
    },
}

/// The type of a judge's `result`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputKind {
    /// `"yes"` or `"no"`; the verdict's value is a bool.
    YesNo,
    /// An integer in `min..=max`; the verdict's value is that number.
    Score { min: i64, max: i64 },
    /// One of these labels; the verdict's value is that string.
    Category(Vec<String>),
}

impl JudgeKind {
    /// The judge's default name: the assessment name the engine records.
    #[must_use]
    pub fn default_name(&self) -> &str {
        match self {
            Self::Correctness => "correctness",
            Self::RelevanceToQuery => "relevance_to_query",
            Self::RetrievalGroundedness => "retrieval_groundedness",
            Self::RetrievalRelevance => "retrieval_relevance",
            Self::RetrievalSufficiency => "retrieval_sufficiency",
            Self::Safety => "safety",
            Self::Guidelines { .. } => "guidelines",
            Self::Custom { name, .. } => name,
        }
    }

    /// The shape of one model answer for this kind. [`JudgeKind::RetrievalRelevance`] asks yes/no
    /// per chunk, though its verdict is the fraction of yeses.
    #[must_use]
    pub fn output(&self) -> OutputKind {
        match self {
            Self::Custom { output, .. } => output.clone(),
            _ => OutputKind::YesNo,
        }
    }
}
