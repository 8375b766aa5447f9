//! Which of two outputs is better, asked in both orders.

use std::time::Duration;

use judgeflow_llm::{LlmClient, Usage};
use serde::Serialize;
use serde_json::Value;

use crate::JudgeError;

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

pub struct Pairwise {
    client: LlmClient,
    criteria: Option<String>,
}

impl Pairwise {
    #[must_use]
    pub fn new(judge_client: LlmClient, criteria: Option<String>) -> Self {
        Self {
            client: judge_client,
            criteria,
        }
    }

    pub async fn compare(
        &self,
        inputs: &Value,
        output_a: &Value,
        output_b: &Value,
    ) -> Result<PairwiseVerdict, JudgeError> {
        let _ = (inputs, output_a, output_b, &self.client, &self.criteria);
        todo!()
    }
}
