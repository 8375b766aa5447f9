//! Which of two outputs is better, asked in both orders.

use std::time::Duration;

use judgeflow_llm::{ChatParams, LlmClient, Usage};
use serde::Serialize;
use serde_json::Value;

use crate::call::{self, CallStats};
use crate::prompts::{self, render};
use crate::{JudgeError, OutputKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Winner {
    A,
    B,
    Tie,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairwiseVerdict {
    /// The agreed winner, or [`Winner::Tie`] when the two orders disagree.
    pub winner: Winner,
    /// The answer with `output_a` shown first.
    pub first_order: Winner,
    /// The answer with `output_b` shown first, mapped back to the caller's A and B.
    pub swapped_order: Winner,
    /// The orders gave different winners: the judge followed position, not content.
    pub disagreement: bool,
    pub rationale: String,
    pub model: String,
    pub usage: Option<Usage>,
    pub attempts: u32,
    pub cached: bool,
    pub latency: Duration,
}

/// A judge of which of two outputs (two targets, two prompt versions) is better.
#[derive(Clone)]
pub struct Pairwise {
    client: LlmClient,
    criteria: Option<String>,
    params: ChatParams,
}

impl std::fmt::Debug for Pairwise {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pairwise")
            .field("model", &self.client.config().model)
            .field("criteria", &self.criteria)
            .finish_non_exhaustive()
    }
}

impl Pairwise {
    #[must_use]
    pub fn new(judge_client: LlmClient, criteria: Option<String>) -> Self {
        Self {
            client: judge_client,
            criteria,
            params: ChatParams::default(),
        }
    }

    /// Sampling parameters for the comparison calls, over the endpoint's defaults.
    #[must_use]
    pub fn with_params(mut self, params: ChatParams) -> Self {
        self.params = params;
        self
    }

    /// Compares `output_a` and `output_b` for `inputs`, asking with A first and with B first
    /// (concurrently). Agreeing answers give the winner; differing ones are a disagreement and
    /// a tie, since the judge then picked by position rather than content.
    pub async fn compare(
        &self,
        inputs: &Value,
        output_a: &Value,
        output_b: &Value,
    ) -> Result<PairwiseVerdict, JudgeError> {
        let inputs = render(inputs);
        let (a, b) = (render(output_a), render(output_b));
        let criteria = self.criteria.as_deref();
        let labels = OutputKind::Category(vec!["A".into(), "B".into(), "tie".into()]);
        let first = prompts::pairwise(criteria, &inputs, &a, &b);
        let swapped = prompts::pairwise(criteria, &inputs, &b, &a);
        let (first, swapped) = futures::join!(
            call::ask(&self.client, &self.params, first, &labels),
            call::ask(&self.client, &self.params, swapped, &labels),
        );
        let ((first, first_stats), (swapped, swapped_stats)) = (first?, swapped?);
        let first_order = winner(&first.value, false);
        let swapped_order = winner(&swapped.value, true);
        let disagreement = first_order != swapped_order;
        let stats = CallStats::concurrent(&[first_stats, swapped_stats]);
        Ok(PairwiseVerdict {
            winner: if disagreement {
                Winner::Tie
            } else {
                first_order
            },
            first_order,
            swapped_order,
            disagreement,
            rationale: format!(
                "A shown first: {}\nB shown first: {}",
                first.rationale, swapped.rationale
            ),
            model: stats.model,
            usage: stats.usage,
            attempts: stats.attempts,
            cached: stats.cached,
            latency: stats.latency,
        })
    }
}

/// The winner a label names; in the swapped order the label "A" meant the caller's B.
fn winner(label: &Value, swapped: bool) -> Winner {
    match (label.as_str(), swapped) {
        (Some("A"), false) | (Some("B"), true) => Winner::A,
        (Some("B"), false) | (Some("A"), true) => Winner::B,
        _ => Winner::Tie,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn swapped_labels_map_back() {
        assert_eq!(winner(&json!("A"), false), Winner::A);
        assert_eq!(winner(&json!("A"), true), Winner::B);
        assert_eq!(winner(&json!("B"), true), Winner::A);
        assert_eq!(winner(&json!("tie"), true), Winner::Tie);
    }
}
