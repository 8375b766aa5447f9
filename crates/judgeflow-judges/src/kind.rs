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

impl JudgeKind {
    /// Checks what can be checked without a row: a custom judge's name, template and result
    /// type. The reason names the offending field.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            Self::Custom {
                name,
                template,
                output,
            } => {
                if name.trim().is_empty() {
                    return Err("custom judge: `name` is empty".to_owned());
                }
                // A template without placeholders would grade the same text for every row.
                if !["inputs", "outputs", "expectations"]
                    .iter()
                    .any(|p| template.contains(&format!("{{{{{p}}}}}")))
                {
                    return Err(format!(
                        "custom judge {name:?}: `template` uses none of {{{{inputs}}}}, \
                         {{{{outputs}}}}, {{{{expectations}}}}"
                    ));
                }
                output
                    .validate()
                    .map_err(|e| format!("custom judge {name:?}: {e}"))
            }
            _ => Ok(()),
        }
    }
}

impl OutputKind {
    /// A score range must hold two values at least and labels must be distinct and non-empty,
    /// or no answer could be both valid and informative.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            Self::Score { min, max } if min >= max => Err(format!(
                "`output` score range {min}..={max} is empty or a single value"
            )),
            Self::YesNo | Self::Score { .. } => Ok(()),
            Self::Category(labels) => {
                if labels.len() < 2 {
                    return Err("`output` needs two categories at least".to_owned());
                }
                if labels.iter().any(|l| l.trim().is_empty()) {
                    return Err("`output` has an empty category".to_owned());
                }
                for (i, label) in labels.iter().enumerate() {
                    if labels[..i].iter().any(|l| l.eq_ignore_ascii_case(label)) {
                        return Err(format!("`output` lists category {label:?} twice"));
                    }
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn custom(template: &str, output: OutputKind) -> JudgeKind {
        JudgeKind::Custom {
            name: "c".into(),
            template: template.into(),
            output,
        }
    }

    #[test]
    fn custom_judges_are_validated() {
        assert!(custom("{{outputs}}", OutputKind::YesNo).validate().is_ok());
        assert!(
            custom("Rate it", OutputKind::YesNo)
                .validate()
                .unwrap_err()
                .contains("template")
        );
        let empty = OutputKind::Score { min: 3, max: 3 };
        assert!(
            custom("{{inputs}}", empty)
                .validate()
                .unwrap_err()
                .contains("score range")
        );
        let twice = OutputKind::Category(vec!["a".into(), "A".into()]);
        assert!(
            custom("{{inputs}}", twice)
                .validate()
                .unwrap_err()
                .contains("twice")
        );
        let one = OutputKind::Category(vec!["a".into()]);
        assert!(custom("{{inputs}}", one).validate().is_err());
        assert!(JudgeKind::Safety.validate().is_ok());
    }
}
