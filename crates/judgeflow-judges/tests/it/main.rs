//! The judges against the stand-in server (`judgeflow-test`) over real HTTP on 127.0.0.1.
//! Clients retry with `RetryPolicy::without_delays`, so nothing here sleeps. Verdicts come from
//! the stand-in's default rule (yes when the `<output>` section contains the `<expected>` one)
//! or from needles set with `set_verdict` that occur only in one test's data.

mod builtin;
mod custom;
mod jury;
mod pairwise;
mod retry;

/// The engine spawns judge calls on a multi-threaded runtime, so their futures must be `Send`.
#[test]
fn judge_futures_are_send() {
    fn send<T: Send>(_: &T) {}
    let judge = judgeflow_judges::Judge::new(
        judgeflow_judges::JudgeKind::Safety,
        LlmClient::new(EndpointConfig::new("http://127.0.0.1:9", "m")).unwrap(),
    );
    let row = Row::default();
    let input = row.input();
    send(&judge.judge(&input));
    let jury =
        judgeflow_judges::Jury::new("j", vec![judge.clone()], judgeflow_judges::Aggregate::Vote);
    send(&jury.judge(&input));
    let pairwise = judgeflow_judges::Pairwise::new(
        LlmClient::new(EndpointConfig::new("http://127.0.0.1:9", "m")).unwrap(),
        None,
    );
    send(&pairwise.compare(&row.inputs, &row.outputs, &row.outputs));
}

use std::time::Duration;

use judgeflow_judges::JudgeInput;
use judgeflow_llm::{EndpointConfig, LlmClient, RetryPolicy};
use judgeflow_test::MockLlm;
use serde_json::{Value, json};

/// A judge client for `model` on `mock` that retries instantly, three attempts in all.
fn client(mock: &MockLlm, model: &str) -> LlmClient {
    let mut config = EndpointConfig::new(mock.base_url(), model);
    config.retry = RetryPolicy::without_delays(3);
    config.timeout = Duration::from_secs(5);
    LlmClient::new(config).expect("a valid endpoint")
}

/// One evaluation row, owned, so tests can lend it out as a [`JudgeInput`].
#[derive(Default)]
struct Row {
    inputs: Value,
    outputs: Value,
    expectations: Value,
    context: Option<Vec<String>>,
    guidelines: Option<Vec<String>>,
}

impl Row {
    fn new(question: &str, output: &str) -> Self {
        Self {
            inputs: json!({"question": question}),
            outputs: json!(output),
            ..Self::default()
        }
    }

    fn expecting(mut self, expectations: Value) -> Self {
        self.expectations = expectations;
        self
    }

    fn with_context(mut self, chunks: &[&str]) -> Self {
        self.context = Some(chunks.iter().map(|&c| c.to_owned()).collect());
        self
    }

    fn with_guidelines(mut self, guidelines: &[&str]) -> Self {
        self.guidelines = Some(guidelines.iter().map(|&g| g.to_owned()).collect());
        self
    }

    fn input(&self) -> JudgeInput<'_> {
        JudgeInput {
            inputs: &self.inputs,
            outputs: &self.outputs,
            expectations: &self.expectations,
            retrieved_context: self.context.as_deref(),
            row_guidelines: self.guidelines.as_deref(),
        }
    }
}
